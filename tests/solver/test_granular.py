"""PyVRP's search with its neighbourhood from one matrix of the least rides."""

from __future__ import annotations

import numpy as np
import pyvrp
from pyvrp.search import NeighbourhoodParams, compute_neighbours
from pyvrp.stop import MaxIterations

from dispatch.geo.matrix import HaversineProvider
from dispatch.solver import granular, ils
from dispatch.solver.calls import designate
from dispatch.solver.ils import ils_prizes
from dispatch.solver.presolve import presolve
from dispatch.synth import generate


def proposal_data(n: int, agents: int, seed: int, *, plain: bool = False) -> ils._Adapter:
    p = generate(n, agents, seed=seed, features=not plain)
    m = HaversineProvider().matrix(p.locations())
    pre = presolve(p, m)
    prizes = ils_prizes(p, pre.candidates)
    adapter = ils._build(p, m, pre.candidates, pre.allowed, prizes, None, time_limit_s=30.0)
    assert adapter is not None
    return adapter


def test_the_neighbourhood_is_pyvrps_on_days_with_a_profile_per_skill_set() -> None:
    params = NeighbourhoodParams(num_neighbours=20)
    for n, agents, seed, plain in [(60, 6, 1, False), (80, 8, 2, True)]:
        data = proposal_data(n, agents, seed, plain=plain).data
        assert data.num_profiles > 2  # the reduction has something to reduce
        assert granular.neighbours(data, params) == compute_neighbours(data, params)


def test_profiles_no_vehicle_uses_count_only_for_the_duration() -> None:
    """Once routes are given their office, a profile may be left to no vehicle type: PyVRP then
    leaves its matrices out."""
    adapter = proposal_data(60, 6, 1)
    assert adapter.calls is not None
    best = pyvrp.solve(adapter.data, MaxIterations(300), seed=0, display=False).best
    routes = [(r.vehicle_type(), ils._clients_of(r)) for r in best.routes()]
    data = designate(adapter.data, adapter.type_agents, adapter.calls, routes).data
    used = {data.vehicle_type(t).profile for t in range(data.num_vehicle_types)}
    assert len(used) < data.num_profiles
    params = NeighbourhoodParams(num_neighbours=20)
    assert granular.neighbours(data, params) == compute_neighbours(data, params)
    # A profile left to no vehicle and shorter than the one they use.
    crossed = crossed_profiles((1, 1), 0)
    unused = crossed.replace(
        vehicle_types=[crossed.vehicle_type(t).replace(profile=0) for t in (0, 1)]
    )
    params = NeighbourhoodParams(num_neighbours=4)
    assert granular.neighbours(unused, params) == compute_neighbours(unused, params)


def crossed_profiles(distance_rates: tuple[int, int], duration_rate: int) -> pyvrp.ProblemData:
    """Two profiles, one short in distance where the other is short in time, used by vehicles
    paying ``distance_rates`` (one for each profile's vehicles) and ``duration_rate``; narrow
    windows, so that durations count in the ranking too."""
    rng = np.random.default_rng(3)
    n = 12
    distance_a = rng.integers(10, 1000, (n + 1, n + 1))
    duration_a = 1000 - distance_a
    distance_b, duration_b = duration_a, distance_a
    for matrix in (distance_a, duration_a, distance_b, duration_b):
        np.fill_diagonal(matrix, 0)
    vehicles = [
        pyvrp.VehicleType(
            num_available=2,
            profile=p,
            unit_distance_cost=distance_rates[p],
            unit_duration_cost=duration_rate,
        )
        for p in (0, 1)
    ]
    return pyvrp.ProblemData(
        [pyvrp.Location(x=i, y=0) for i in range(n + 1)],
        [
            pyvrp.Client(location=i, tw_early=300 * i, tw_late=300 * i + 100)
            for i in range(1, n + 1)
        ],
        [pyvrp.Depot(location=0)],
        vehicles,
        distance_matrices=[distance_a, distance_b],
        duration_matrices=[duration_a, duration_b],
    )


def test_vehicles_that_pay_otherwise_get_pyvrps_own_computation() -> None:
    """Vehicles that pay for time, or for distance at different rates, rank neighbours by
    costs no single matrix holds (the least matrices would rank these days otherwise)."""
    params = NeighbourhoodParams(num_neighbours=4)
    for rates, duration_rate in [((1, 1), 1), ((1, 7), 0)]:
        data = crossed_profiles(rates, duration_rate)
        assert granular.neighbours(data, params) == compute_neighbours(data, params)


def test_the_search_is_pyvrps_solve() -> None:
    """The same data, seed and iterations give the same best as ``pyvrp.solve``, from
    PyVRP's own first solution and from a given one."""
    data = proposal_data(60, 6, 1).data
    params = pyvrp.SolveParams(neighbourhood=NeighbourhoodParams(num_neighbours=20))
    # More visits than fit, so that the first solution depends on the penalties it is made at.
    tight = proposal_data(80, 3, 2, plain=True).data
    first = granular.solve(tight, MaxIterations(0), seed=4, params=params).best
    assert first == pyvrp.solve(tight, MaxIterations(0), seed=4, display=False, params=params).best
    theirs = pyvrp.solve(data, MaxIterations(200), seed=4, display=False, params=params)
    ours = granular.solve(data, MaxIterations(200), seed=4, params=params)
    assert ours.num_iterations == theirs.num_iterations == 200
    assert ours.best == theirs.best
    start = theirs.best
    theirs = pyvrp.solve(
        data, MaxIterations(100), seed=5, display=False, params=params, initial_solution=start
    )
    ours = granular.solve(data, MaxIterations(100), seed=5, params=params, initial_solution=start)
    assert ours.best == theirs.best
