"""Peer solvers for the VRPTW benchmark: PyVRP, VROOM (pyvroom) and plain OR-Tools.

Every peer sees the same data as the engine: the DIMACS integer matrix of
:func:`dispatch.solomon.dimacs_distances` (travel time = distance), windows, service times
and the fleet scaled by 10, one thread, the same wall-time limit. Each runner returns its
routes as customer numbers; the benchmark turns them into engine plans and checks them with
:func:`dispatch.check.check_plan`, so no peer's own cost or feasibility claim is trusted.

Peers are optional: :func:`missing_reason` says why one cannot run (package not installed).
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from dispatch.solomon import SCALE, SolomonInstance, dimacs_distances


@dataclass(frozen=True, slots=True)
class ScaledInstance:
    """An instance in DIMACS integers, node 0 = depot, ready for any solver."""

    name: str
    vehicles: int
    capacity: int
    distance: npt.NDArray[np.int64]
    demand: list[int]
    ready: list[int]
    due: list[int]
    service: list[int]

    @property
    def n_customers(self) -> int:
        return len(self.demand) - 1


def scaled(instance: SolomonInstance) -> ScaledInstance:
    """Scale times by 10 and build the truncated distance matrix (DIMACS convention)."""
    return ScaledInstance(
        name=instance.name,
        vehicles=instance.vehicles,
        capacity=instance.capacity,
        distance=dimacs_distances(instance.x, instance.y),
        demand=[int(d) for d in instance.demand],
        ready=[round(SCALE * float(v)) for v in instance.ready],
        due=[round(SCALE * float(v)) for v in instance.due],
        service=[round(SCALE * float(v)) for v in instance.service],
    )


@dataclass(frozen=True, slots=True)
class PeerResult:
    """A peer's answer: routes of customer numbers, wall seconds and what it said about it."""

    routes: list[list[int]]
    wall_s: float
    info: dict[str, Any] = field(default_factory=dict)


Runner = Callable[[ScaledInstance, float, int], PeerResult]


# ----------------------------------------------------------------------------- PyVRP


def solve_pyvrp(data: ScaledInstance, time_limit_s: float, seed: int) -> PeerResult:
    """PyVRP's iterated local search (single-threaded by design), stopped by ``MaxRuntime``.

    The model is built straight from the matrix, as ``pyvrp.read(..., round_func="dimacs")``
    would, so both solvers see identical integers even for generated instances.
    """
    import pyvrp
    from pyvrp.stop import MaxRuntime

    n = data.n_customers
    locations = [pyvrp.Location(0, 0) for _ in range(n + 1)]  # coordinates unused: matrix given
    depot = pyvrp.Depot(0, tw_early=data.ready[0], tw_late=data.due[0])
    clients = [
        pyvrp.Client(
            c,
            delivery=[data.demand[c]],
            service_duration=data.service[c],
            tw_early=data.ready[c],
            tw_late=data.due[c],
            required=True,
        )
        for c in range(1, n + 1)
    ]
    vehicle_type = pyvrp.VehicleType(
        num_available=data.vehicles,
        capacity=[data.capacity],
        tw_early=data.ready[0],
        tw_late=data.due[0],
    )
    matrix: Any = np.ascontiguousarray(data.distance, dtype=np.int64)
    problem = pyvrp.ProblemData(locations, clients, [depot], [vehicle_type], [matrix], [matrix])
    started = time.perf_counter()
    result = pyvrp.solve(problem, MaxRuntime(time_limit_s), seed=seed, display=False)
    wall_s = time.perf_counter() - started
    best = result.best
    # A route iterates over scheduled activities; a client's ``idx`` indexes ``clients``,
    # whose location is the customer number.
    routes = [
        [int(clients[act.idx].location) for act in route if act.is_client()]
        for route in best.routes()
    ]
    info = {
        "feasible": bool(best.is_feasible()),
        "own_cost": int(best.distance()) / SCALE,
        "iterations": int(result.num_iterations),
    }
    return PeerResult(routes, wall_s, info)


# ----------------------------------------------------------------------------- VROOM


def solve_vroom(data: ScaledInstance, time_limit_s: float, seed: int) -> PeerResult:
    """VROOM through pyvroom: exploration level 5, one thread, ``timeout`` = the limit.

    VROOM has no seed (it is deterministic) and its ``timeout`` is a cap, not a budget: it
    stops when its heuristics and local search finish, usually well before the limit.
    Cost = travel duration, which equals distance here.
    """
    import vroom  # type: ignore[import-untyped, unused-ignore]

    del seed  # VROOM is deterministic and takes no seed
    problem = vroom.Input()
    problem.set_durations_matrix("car", data.distance.astype(np.uint32))
    window = vroom.TimeWindow(data.ready[0], data.due[0])
    problem.add_vehicle(
        [
            vroom.Vehicle(k, start=0, end=0, capacity=[data.capacity], time_window=window)
            for k in range(data.vehicles)
        ]
    )
    problem.add_job(
        [
            vroom.Job(
                c,
                location=c,
                default_service=data.service[c],
                delivery=[data.demand[c]],
                time_windows=[vroom.TimeWindow(data.ready[c], data.due[c])],
            )
            for c in range(1, data.n_customers + 1)
        ]
    )
    started = time.perf_counter()
    solution = problem.solve(
        exploration_level=5, nb_threads=1, timeout=timedelta(seconds=time_limit_s)
    )
    wall_s = time.perf_counter() - started
    answer = solution.to_dict()
    routes = [
        [int(step["id"]) for step in route["steps"] if step["type"] == "job"]
        for route in answer["routes"]
    ]
    info = {
        "own_cost": int(answer["summary"]["cost"]) / SCALE,
        "unassigned": len(answer.get("unassigned", [])),
    }
    return PeerResult(routes, wall_s, info)


# ----------------------------------------------------------------------------- plain OR-Tools


def solve_ortools_plain(data: ScaledInstance, time_limit_s: float, seed: int) -> PeerResult:
    """What a competent OR-Tools user writes: the textbook VRPTW model, nothing tuned.

    Arc cost = distance; a time dimension whose transit is service at the origin plus travel;
    a capacity dimension; PARALLEL_CHEAPEST_INSERTION then GUIDED_LOCAL_SEARCH for the time
    limit. Routing search is single-threaded; it has no seed (deterministic given the limit).
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    del seed
    n_nodes = data.n_customers + 1
    manager = pywrapcp.RoutingIndexManager(n_nodes, data.vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    distance = data.distance.tolist()
    service = np.asarray(data.service, dtype=np.int64)
    time_rows = (data.distance + service[:, None]).tolist()
    distance_cb = routing.RegisterTransitMatrix(distance)
    time_cb = routing.RegisterTransitMatrix(time_rows)
    demand_cb = routing.RegisterUnaryTransitVector(data.demand)
    routing.SetArcCostEvaluatorOfAllVehicles(distance_cb)
    routing.AddDimensionWithVehicleCapacity(
        demand_cb, 0, [data.capacity] * data.vehicles, True, "Capacity"
    )
    horizon = data.due[0]
    routing.AddDimension(time_cb, horizon, horizon, False, "Time")
    time_dim = routing.GetDimensionOrDie("Time")
    for c in range(1, n_nodes):
        time_dim.CumulVar(manager.NodeToIndex(c)).SetRange(data.ready[c], data.due[c])
    for k in range(data.vehicles):
        time_dim.CumulVar(routing.Start(k)).SetRange(data.ready[0], data.due[0])
        time_dim.CumulVar(routing.End(k)).SetRange(data.ready[0], data.due[0])
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(max(1, round(time_limit_s * 1000)))
    started = time.perf_counter()
    assignment = routing.SolveWithParameters(params)
    wall_s = time.perf_counter() - started
    routes: list[list[int]] = []
    if assignment is not None:
        for k in range(data.vehicles):
            index = assignment.Value(routing.NextVar(routing.Start(k)))
            route: list[int] = []
            while not routing.IsEnd(index):
                route.append(manager.IndexToNode(index))
                index = assignment.Value(routing.NextVar(index))
            if route:
                routes.append(route)
    info = {
        "status": int(routing.status()),
        "own_cost": (assignment.ObjectiveValue() / SCALE) if assignment is not None else None,
    }
    return PeerResult(routes, wall_s, info)


PEERS: dict[str, tuple[str, Runner]] = {
    "pyvrp": ("pyvrp", solve_pyvrp),
    "vroom": ("vroom", solve_vroom),
    "ortools-plain": ("ortools", solve_ortools_plain),
}


def missing_reason(name: str) -> str | None:
    """Why peer ``name`` cannot run here, or None when it can."""
    if name not in PEERS:
        return f"unknown peer {name!r} (known: {', '.join(PEERS)})"
    module = PEERS[name][0]
    if importlib.util.find_spec(module) is None:
        hint = "pyvroom" if name == "vroom" else module
        return f"package {hint!r} is not installed (pip install -e '.[bench]')"
    if name == "vroom":
        import vroom  # type: ignore[import-untyped, unused-ignore]

        if not hasattr(vroom, "Input"):  # an unrelated PyPI package is also called "vroom"
            return "the installed 'vroom' module is not pyvroom (pip install pyvroom)"
    return None
