"""PyVRP's search, with its granular neighbourhood computed over one matrix.

``pyvrp.solve`` computes each client's nearest neighbours over every profile's matrices (the
least distance and the least duration over the profiles vehicles use). With a
matrix per skill set that is the proposal's first cost after building: 1.45 s on a 1000-visit
field day with 42 profiles. The same least matrices, taken with numpy and given to PyVRP as a
problem of one profile, give the identical neighbourhood in 0.35 s (seeds 0 and 1 of that day;
``tests/solver/test_granular.py`` checks the identity). :func:`solve` is ``pyvrp.solve`` with
that neighbourhood, so the same input and seed give the same search, sooner.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyvrp
from pyvrp import IteratedLocalSearch, PenaltyManager, ProblemData, RandomNumberGenerator
from pyvrp.search import LocalSearch, NeighbourhoodParams, PerturbationManager, compute_neighbours
from pyvrp.stop import StoppingCriterion


def neighbours(
    data: ProblemData, params: NeighbourhoodParams
) -> dict[pyvrp.Activity, list[pyvrp.Activity]]:
    """``pyvrp.search.compute_neighbours(data, params)``, from one profile of the least rides.

    PyVRP ranks neighbours by the least edge cost over the vehicle types' profiles plus terms
    of the least duration over them. Where every vehicle type pays distance alone, at one rate,
    that edge cost is the rate times the least distance, so one profile holding the least
    distance and duration ranks alike. Otherwise PyVRP computes it."""
    types = [data.vehicle_type(t) for t in range(data.num_vehicle_types)]
    rates = {(vt.unit_distance_cost, vt.unit_duration_cost) for vt in types}
    if data.num_profiles == 1 or len(rates) != 1 or next(iter(rates))[1] != 0:
        return compute_neighbours(data, params)
    used = sorted({vt.profile for vt in types})
    distance = np.array(data.distance_matrix(used[0]), dtype=np.int64)
    duration = np.array(data.duration_matrix(used[0]), dtype=np.int64)
    for profile in used[1:]:
        np.minimum(distance, data.distance_matrix(profile), out=distance)
        np.minimum(duration, data.duration_matrix(profile), out=duration)
    distances: list[Any] = [distance]  # PyVRP's stubs type matrices loosely
    durations: list[Any] = [duration]
    least = data.replace(
        vehicle_types=[vt.replace(profile=0) for vt in types],
        distance_matrices=distances,
        duration_matrices=durations,
    )
    return compute_neighbours(least, params)


def solve(
    data: ProblemData,
    stop: StoppingCriterion,
    *,
    seed: int,
    params: pyvrp.SolveParams,
    initial_solution: pyvrp.Solution | None = None,
) -> pyvrp.Result:
    """``pyvrp.solve`` (PyVRP 0.14) with the neighbourhood of :func:`neighbours`, no statistics
    and no display."""
    rng = RandomNumberGenerator(seed=seed)
    perturbation = PerturbationManager(params.perturbation)
    search = LocalSearch(data, rng, neighbours(data, params.neighbourhood), perturbation)
    for operator in params.operators:
        if operator.supports(data):
            search.add_operator(operator(data))
    penalties = params.penalty.midpoint_penalties(data)
    manager = PenaltyManager(penalties, params.penalty)
    start = initial_solution
    if start is None:
        random = pyvrp.Solution.make_random(data, rng)
        start = search(random, manager.max_cost_evaluator(), exhaustive=True)
    algorithm = IteratedLocalSearch(data, manager, search, start, params.ils)
    return algorithm.run(stop, collect_stats=False, display=False)
