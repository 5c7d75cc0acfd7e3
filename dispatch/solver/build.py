"""Problem + travel matrix -> OR-Tools routing model.

Nodes are the visits worth routing (see :mod:`dispatch.solver.presolve`), then one start node
and one end node per agent. Every per-arc number is handed to OR-Tools as a matrix or vector
(``RegisterTransitMatrix`` / ``RegisterUnaryTransitVector``), never as a Python callback, so
the search runs in C++ only. Agents are grouped by speed factor, one set of matrices per group.

- Arc cost: free-flow travel seconds of the agent (the objective's "least travel").
- Time dimension: transit(i, j) = travel(i, j) + time on site at i; slack is waiting. A
  visit's cumul is its service start, restricted to the union of its windows. With a
  congestion profile the dimension uses travel at the profile's worst hour, so any route the
  model accepts stays feasible at the real, time-dependent speeds (the reported times are
  recomputed by :mod:`dispatch.solver.schedule`).
- Skills, capacity and reach: a visit may only go to the agents presolve found able to serve
  it alone (``VehicleVar(i).SetValues``; ``SetAllowedVehiclesForIndex`` is broken in 9.15).
- ``max_visits``: a count dimension; each named capacity: one dimension, capacity 0 for agents
  without it.
- Every visit is optional with a drop penalty by tier (:mod:`dispatch.solver.penalties`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.constraint_solver import pywrapcp

from dispatch.geo.matrix import TravelMatrix
from dispatch.model import Problem
from dispatch.solver.penalties import Penalties, drop_penalties
from dispatch.solver.presolve import Presolve, sorted_windows

TIME_DIMENSION = "time"
VISITS_DIMENSION = "visits"
CAPACITY_PREFIX = "capacity:"


@dataclass(frozen=True, slots=True)
class RoutingBuild:
    """A routing model and how its nodes map back to the problem.

    ``node_visits[n]`` is the visit position of node ``n`` for ``n < len(node_visits)``; nodes
    after those are agent starts, then agent ends.
    """

    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    node_visits: tuple[int, ...]
    penalties: Penalties


def agent_travel_matrix_s(
    base_s: npt.NDArray[np.int64], speed_factor: float
) -> npt.NDArray[np.int64]:
    """Vectorised :func:`dispatch.model.agent_travel_s` (same rounding, same results)."""
    if speed_factor == 1.0:
        return base_s
    return np.ceil(base_s / speed_factor - 1e-9).astype(np.int64)


def worst_case_travel_s(matrix: TravelMatrix, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.int64]:
    """Free-flow travel among ``rows``, scaled by the congestion profile's worst hour if any.

    Same rounding as :meth:`TravelMatrix.travel_s`, so it bounds the travel of any hour.
    """
    base: npt.NDArray[np.int64] = matrix.duration_s[np.ix_(rows, rows)]
    if matrix.congestion is None:
        return base
    worst = max(matrix.congestion.multipliers)
    scaled: npt.NDArray[np.int64] = np.ceil(base * worst - 1e-9).astype(np.int64)
    return scaled


def node_order(candidates: list[int], seed: int) -> list[int]:
    """The order visits become nodes: problem order for seed 0, else a seeded shuffle.

    OR-Tools' routing search has no random seed of its own; node order decides its
    tie-breaking, so shuffling it is how a seed leads the search down another path.
    """
    if seed == 0 or len(candidates) < 2:
        return list(candidates)
    rng = np.random.default_rng(seed)
    return [candidates[i] for i in rng.permutation(len(candidates))]


def build_model(problem: Problem, matrix: TravelMatrix, pre: Presolve, seed: int) -> RoutingBuild:
    """The routing model of ``problem`` for the visits presolve kept (see module docstring)."""
    agents = problem.agents
    n_agents = len(agents)
    node_visits = node_order(pre.candidates, seed)
    n_visit_nodes = len(node_visits)
    rows = np.array(
        [problem.visit_index(v) for v in node_visits]
        + [problem.start_index(a) for a in range(n_agents)]
        + [problem.end_index(a) for a in range(n_agents)],
        dtype=np.intp,
    )
    starts = [n_visit_nodes + a for a in range(n_agents)]
    ends = [n_visit_nodes + n_agents + a for a in range(n_agents)]
    manager = pywrapcp.RoutingIndexManager(len(rows), n_agents, starts, ends)
    routing = pywrapcp.RoutingModel(manager)

    on_site_s = np.zeros(len(rows), dtype=np.int64)
    for n, v in enumerate(node_visits):
        on_site_s[n] = problem.visit_duration_s(problem.visits[v])
    free_s = matrix.duration_s[np.ix_(rows, rows)]
    worst_s = worst_case_travel_s(matrix, rows)

    time_callbacks: list[int] = [0] * n_agents
    longest_transit_s = 0
    for speed_factor in sorted({a.speed_factor for a in agents}):
        group = [k for k, a in enumerate(agents) if a.speed_factor == speed_factor]
        cost_cb = routing.RegisterTransitMatrix(
            agent_travel_matrix_s(free_s, speed_factor).tolist()
        )
        transit_s = agent_travel_matrix_s(worst_s, speed_factor) + on_site_s[:, None]
        longest_transit_s = max(longest_transit_s, int(transit_s.max(initial=0)))
        time_cb = routing.RegisterTransitMatrix(transit_s.tolist())
        for k in group:
            routing.SetArcCostEvaluatorOfVehicle(cost_cb, k)
            time_callbacks[k] = time_cb

    latest_s = max(
        [a.shift.end_s for a in agents]
        + [
            w.end_s + int(on_site_s[n])
            for n, v in enumerate(node_visits)
            for w in problem.visits[v].windows
        ]
    )
    horizon_s = latest_s + longest_transit_s + 1
    routing.AddDimensionWithVehicleTransits(
        time_callbacks, horizon_s, horizon_s, False, TIME_DIMENSION
    )
    time = routing.GetDimensionOrDie(TIME_DIMENSION)
    for n, v in enumerate(node_visits):
        windows = sorted_windows(problem.visits[v].windows)
        cumul = time.CumulVar(manager.NodeToIndex(n))
        cumul.SetRange(windows[0].start_s, windows[-1].end_s)
        for before, after in itertools.pairwise(windows):
            cumul.RemoveInterval(before.end_s + 1, after.start_s - 1)
    for k, agent in enumerate(agents):
        if not pre.usable[k]:
            continue  # never gets a visit; its empty route must stay feasible
        time.CumulVar(routing.Start(k)).SetRange(agent.shift.start_s, agent.shift.end_s)
        time.CumulVar(routing.End(k)).SetRange(agent.shift.start_s, agent.shift.end_s)

    if any(a.max_visits is not None for a in agents):
        ones = [1] * n_visit_nodes + [0] * (2 * n_agents)
        count_cb = routing.RegisterUnaryTransitVector(ones)
        limits = [n_visit_nodes if a.max_visits is None else a.max_visits for a in agents]
        routing.AddDimensionWithVehicleCapacity(count_cb, 0, limits, True, VISITS_DIMENSION)

    names = sorted(
        {name for a in agents for name in a.capacities}
        | {name for v in node_visits for name in problem.visits[v].demand}
    )
    for name in names:
        demand = [problem.visits[v].demand.get(name, 0) for v in node_visits]
        if not any(demand):
            continue
        demand_cb = routing.RegisterUnaryTransitVector(demand + [0] * (2 * n_agents))
        capacity = [a.capacities.get(name, 0) for a in agents]
        routing.AddDimensionWithVehicleCapacity(
            demand_cb, 0, capacity, True, CAPACITY_PREFIX + name
        )

    penalties = drop_penalties(problem, node_visits)
    for n, v in enumerate(node_visits):
        index = manager.NodeToIndex(n)
        allowed = pre.allowed[v]
        if len(allowed) < n_agents:
            routing.VehicleVar(index).SetValues([-1, *allowed])
        routing.AddDisjunction([index], penalties.of(problem.visits[v]))
    return RoutingBuild(manager, routing, tuple(node_visits), penalties)
