"""Problem + travel matrix -> OR-Tools routing model.

Nodes are the visits worth routing (see :mod:`dispatch.solver.presolve`), then one pickup node
per delivery (a call at its office), then one start node and one end node per agent. A soft
visit with several slots gets one node per slot, of which at most one is served. Every per-arc
number is handed to OR-Tools as a matrix or vector (``RegisterTransitMatrix`` /
``RegisterUnaryTransitVector``), never as a Python callback, so the search runs in C++ only.
Agents are grouped by speed factor, one set of matrices per group.

Objective, in units of 1/:data:`COST_SCALE` second of travel (so a lateness price per minute
is exact; the plan reports it divided back into seconds):

- arc cost: free-flow travel seconds of the agent (the objective's "least travel");
- lateness: ``late_cost_per_min`` per minute late, charged per second (a soft upper bound on
  the service start at the window's end);
- workload balance: ``balance_weight`` seconds of travel per second an agent's working time
  (its span, waiting and breaks included) exceeds an estimate of the day's average working
  time (:func:`average_work_s`), as a soft upper bound on each agent's span. The average of the
  plan itself is not known before it is made; the estimate is the work on offer (time on site,
  the least ride into each stop, breaks) shared by the agents on shift. The weight is rounded
  to 1/60;
- continuity: :data:`dispatch.solver.penalties.PREFERENCE_WEIGHT_S` seconds of travel when a
  visit with a ``preferred_agent`` is served by someone else (a per-agent unary dimension whose
  span is charged);
- drop penalties by tier (:mod:`dispatch.solver.penalties`), above all of the above.

Rules:

- Time dimension: transit(i, j) = travel(i, j) + time on site at i; slack is waiting and
  breaks. A visit's cumul is its service start, restricted to its windows (stretched by
  ``max_late_s`` for soft ones). With a congestion profile the dimension uses travel at the
  profile's worst hour, so any route the model accepts stays feasible at the real,
  time-dependent speeds (the reported times are recomputed by :mod:`dispatch.solver.schedule`).
- Breaks: one fixed-duration interval per break (``SetBreakIntervalsOfVehicle``) whose start
  lies in the break's window; the time on site of every node is passed as its visit transit, so
  a break never overlaps service.
- Documents: each delivery is paired with its pickup node at the office
  (``AddPickupAndDelivery``: same agent, pickup first). A pickup node's cumul is the end of
  the call, inside opening hours with ``pickup_s`` to spare; arriving from anywhere but
  another pickup node of the same office costs ``pickup_s`` on top of the ride, and between
  pickup nodes of one office the transit and the cost are 0. So a run of pickup nodes of one
  office is one call, which the plan shows as one stop. (Charging the call on leaving instead,
  with the call as the node's time on site, gives transits shorter than the time on site
  between such nodes; OR-Tools' break handling then rejects every solution on large days.)
- Skills, capacity and reach: a visit (and its pickup) may only go to the agents presolve found
  able to serve it alone (``VehicleVar(i).SetValues``; ``SetAllowedVehiclesForIndex`` is broken
  in 9.15); ``required_agent`` pins are part of that.
- ``max_visits``: a count dimension; each named capacity: one dimension, capacity 0 for agents
  without it. Pickup nodes count and weigh nothing.
- Every visit is optional with a drop penalty by tier (:mod:`dispatch.solver.penalties`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
from ortools.constraint_solver import pywrapcp

from dispatch.geo.matrix import TravelMatrix, agent_travel_matrix_s
from dispatch.model import Problem, Visit
from dispatch.solver.penalties import PREFERENCE_WEIGHT_S, Penalties, drop_penalties
from dispatch.solver.presolve import Presolve, office_position
from dispatch.solver.schedule import breaks_in_play
from dispatch.solver.windows import sorted_windows

TIME_DIMENSION = "time"
VISITS_DIMENSION = "visits"
PREFERENCE_DIMENSION = "preference"
CAPACITY_PREFIX = "capacity:"
# Objective units per second of travel: lateness is priced per minute, so 60 keeps it exact.
COST_SCALE = 60


@dataclass(frozen=True, slots=True)
class RoutingBuild:
    """A routing model and how its nodes map back to the problem.

    Nodes ``0 .. len(node_visits)-1`` are visit nodes: ``node_visits[n]`` is the visit position
    and ``node_windows[n]`` the slot index of a per-slot node (None for a whole visit). Then
    come the pickup nodes: ``pickup_nodes[j] = (office position, delivery visit position)`` is
    node ``len(node_visits) + j``. Agent starts and ends follow.
    """

    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    node_visits: tuple[int, ...]
    node_windows: tuple[int | None, ...]
    pickup_nodes: tuple[tuple[int, int], ...]
    visit_nodes: Mapping[int, tuple[int, ...]]
    pickup_node_of: Mapping[int, int]
    penalties: Penalties
    break_routes: int  # agents given break intervals to place (see search.LNS_TIME_LIMIT_S)

    @property
    def visit_order(self) -> list[int]:
        """Visit positions in node order, each once."""
        return list(dict.fromkeys(self.node_visits))


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


def slot_nodes(visit: Visit) -> list[int | None]:
    """The nodes a visit becomes: one whole node, or one per slot for a soft multi-slot visit.

    Lateness is measured from the nearest earlier window end, so a soft visit with several
    slots prices its lateness per slot; one node per slot lets each carry its own soft bound.
    """
    windows = sorted_windows(visit.windows)
    if visit.max_late_s > 0 and len(windows) > 1:
        return list(range(len(windows)))
    return [None]


def average_work_s(
    problem: Problem, matrix: TravelMatrix, pre: Presolve, candidates: Sequence[int]
) -> int:
    """Estimated average working time of the agents on shift (see the module docstring)."""
    agents = [k for k, ok in enumerate(pre.usable) if ok]
    if not agents or not candidates:
        return 0
    rows = np.array(
        [problem.visit_index(v) for v in candidates]
        + [problem.start_index(k) for k in agents]
        + [problem.office_index(o) for o in range(len(problem.offices))],
        dtype=np.intp,
    )
    into = matrix.duration_s[np.ix_(rows, rows[: len(candidates)])].astype(np.float64)
    np.fill_diagonal(into[: len(candidates)], np.inf)
    nearest = np.min(into, axis=0) if len(rows) > 1 else np.zeros(len(candidates))
    nearest = np.where(np.isfinite(nearest), nearest, 0.0)
    on_site = sum(problem.visit_duration_s(problem.visits[v]) for v in candidates)
    rests = sum(b.duration_s for k in agents for b in breaks_in_play(problem.agents[k])[0])
    return round((on_site + float(nearest.sum()) + rests) / len(agents))


def build_model(problem: Problem, matrix: TravelMatrix, pre: Presolve, seed: int) -> RoutingBuild:
    """The routing model of ``problem`` for the visits presolve kept (see module docstring)."""
    agents = problem.agents
    n_agents = len(agents)
    visit_order = node_order(pre.candidates, seed)
    node_visits: list[int] = []
    node_windows: list[int | None] = []
    visit_nodes: dict[int, list[int]] = {}
    for v in visit_order:
        for slot in slot_nodes(problem.visits[v]):
            visit_nodes.setdefault(v, []).append(len(node_visits))
            node_visits.append(v)
            node_windows.append(slot)
    n_visit_nodes = len(node_visits)
    pickup_nodes: list[tuple[int, int]] = []
    pickup_node_of: dict[int, int] = {}
    for v in visit_order:
        office = office_position(problem, problem.visits[v])
        if office is not None:
            pickup_node_of[v] = n_visit_nodes + len(pickup_nodes)
            pickup_nodes.append((office, v))
    n_stop_nodes = n_visit_nodes + len(pickup_nodes)
    rows = np.array(
        [problem.visit_index(v) for v in node_visits]
        + [problem.office_index(o) for o, _ in pickup_nodes]
        + [problem.start_index(a) for a in range(n_agents)]
        + [problem.end_index(a) for a in range(n_agents)],
        dtype=np.intp,
    )
    starts = [n_stop_nodes + a for a in range(n_agents)]
    ends = [n_stop_nodes + n_agents + a for a in range(n_agents)]
    manager = pywrapcp.RoutingIndexManager(len(rows), n_agents, starts, ends)
    routing = pywrapcp.RoutingModel(manager)

    on_site_s = np.zeros(len(rows), dtype=np.int64)
    for n, v in enumerate(node_visits):
        on_site_s[n] = problem.visit_duration_s(problem.visits[v])
    # A call's time is charged on the way in (its node's cumul is when it ends), so every
    # node's time on site stays within its outgoing transits, as the break constraint needs.
    call_s = np.zeros(len(rows), dtype=np.int64)
    office_of_node = np.full(len(rows), -1, dtype=np.int64)
    for j, (o, _) in enumerate(pickup_nodes):
        call_s[n_visit_nodes + j] = problem.offices[o].pickup_s
        office_of_node[n_visit_nodes + j] = o
    # Pickup node -> pickup node of the same office: one call, nothing more to ride or do.
    is_call = office_of_node >= 0
    same_call = (office_of_node[:, None] == office_of_node[None, :]) & is_call[:, None]
    free_s = matrix.duration_s[np.ix_(rows, rows)]
    worst_s = worst_case_travel_s(matrix, rows)

    time_callbacks: list[int] = [0] * n_agents
    longest_transit_s = 0
    for speed_factor in sorted({a.speed_factor for a in agents}):
        group = [k for k, a in enumerate(agents) if a.speed_factor == speed_factor]
        cost = agent_travel_matrix_s(free_s, speed_factor) * COST_SCALE
        cost[same_call] = 0
        cost_cb = routing.RegisterTransitMatrix(cost.tolist())
        transit_s = (
            agent_travel_matrix_s(worst_s, speed_factor) + on_site_s[:, None] + call_s[None, :]
        )
        transit_s[same_call] = 0
        longest_transit_s = max(longest_transit_s, int(transit_s.max(initial=0)))
        time_cb = routing.RegisterTransitMatrix(transit_s.tolist())
        for k in group:
            routing.SetArcCostEvaluatorOfVehicle(cost_cb, k)
            time_callbacks[k] = time_cb

    latest_s = max(
        [a.shift.end_s for a in agents]
        + [
            w.end_s + max(0, problem.visits[v].max_late_s) + int(on_site_s[n])
            for n, v in enumerate(node_visits)
            for w in problem.visits[v].windows
        ]
        + [problem.offices[o].opening.end_s for o, _ in pickup_nodes]
        + [b.window.end_s + b.duration_s for a in agents for b in a.breaks]
    )
    horizon_s = latest_s + longest_transit_s + 1
    routing.AddDimensionWithVehicleTransits(
        time_callbacks, horizon_s, horizon_s, False, TIME_DIMENSION
    )
    time = routing.GetDimensionOrDie(TIME_DIMENSION)
    for n, v in enumerate(node_visits):
        _set_window(time, manager.NodeToIndex(n), problem.visits[v], node_windows[n])
    for j, (o, _) in enumerate(pickup_nodes):
        opening = problem.offices[o].opening
        time.CumulVar(manager.NodeToIndex(n_visit_nodes + j)).SetRange(
            opening.start_s + problem.offices[o].pickup_s, opening.end_s
        )
    for k, agent in enumerate(agents):
        if not pre.usable[k]:
            continue  # never gets a visit; its empty route must stay feasible
        time.CumulVar(routing.Start(k)).SetRange(agent.shift.start_s, agent.shift.end_s)
        time.CumulVar(routing.End(k)).SetRange(agent.shift.start_s, agent.shift.end_s)
    break_routes = _add_breaks(problem, pre, routing, manager, time, on_site_s)

    if problem.balance_weight > 0:
        per_s = max(1, round(problem.balance_weight * COST_SCALE))
        bound_s = average_work_s(problem, matrix, pre, pre.candidates)
        for k in range(n_agents):
            if pre.usable[k]:
                time.SetSoftSpanUpperBoundForVehicle(pywrapcp.BoundCost(bound_s, per_s), k)

    if any(a.max_visits is not None for a in agents):
        ones = [1] * n_visit_nodes + [0] * (len(rows) - n_visit_nodes)
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
        demand_cb = routing.RegisterUnaryTransitVector(demand + [0] * (len(rows) - n_visit_nodes))
        capacity = [a.capacities.get(name, 0) for a in agents]
        routing.AddDimensionWithVehicleCapacity(
            demand_cb, 0, capacity, True, CAPACITY_PREFIX + name
        )

    _add_preferences(problem, routing, node_visits, len(rows))

    penalties = drop_penalties(problem, pre.candidates, scale=COST_SCALE)
    for v in visit_order:
        indices = [manager.NodeToIndex(n) for n in visit_nodes[v]]
        allowed = pre.allowed[v]
        pickup = pickup_node_of.get(v)
        calls = [] if pickup is None else [manager.NodeToIndex(pickup)]
        if len(allowed) < n_agents:
            for index in indices + calls:
                routing.VehicleVar(index).SetValues([-1, *allowed])
        penalty = penalties.of(problem.visits[v]) * COST_SCALE
        delivery = routing.AddDisjunction(indices, penalty, 1)
        if pickup is None:
            continue
        # The call is optional on its own (no penalty); the pairing keeps it with its delivery.
        pickup_index = manager.NodeToIndex(pickup)
        call = routing.AddDisjunction([pickup_index], 0, 1)
        if len(indices) == 1:
            routing.AddPickupAndDelivery(pickup_index, indices[0])
        else:
            routing.AddPickupAndDeliverySets(call, delivery)
    return RoutingBuild(
        manager,
        routing,
        tuple(node_visits),
        tuple(node_windows),
        tuple(pickup_nodes),
        MappingProxyType({v: tuple(ns) for v, ns in visit_nodes.items()}),
        MappingProxyType(pickup_node_of),
        penalties,
        break_routes,
    )


def _set_window(
    time: pywrapcp.RoutingDimension, index: int, visit: Visit, slot: int | None
) -> None:
    """Restrict a visit node's service start to its slot(s), lateness included."""
    windows = sorted_windows(visit.windows)
    allowance_s = max(0, visit.max_late_s)
    cumul = time.CumulVar(index)
    if slot is not None:
        windows = [windows[slot]]
    if allowance_s == 0:
        cumul.SetRange(windows[0].start_s, windows[-1].end_s)
        for before, after in itertools.pairwise(windows):
            cumul.RemoveInterval(before.end_s + 1, after.start_s - 1)
        return
    # A soft visit here has one window (whole visit) or is one slot of several.
    (window,) = windows
    cumul.SetRange(window.start_s, window.end_s + allowance_s)
    if visit.late_cost_per_min > 0:
        # Objective units are 1/COST_SCALE s of travel: a second late costs
        # late_cost_per_min / 60 s of travel, i.e. late_cost_per_min * COST_SCALE / 60 units.
        per_s = visit.late_cost_per_min * COST_SCALE // 60
        time.SetCumulVarSoftUpperBound(index, window.end_s, per_s)


def _add_breaks(
    problem: Problem,
    pre: Presolve,
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    time: pywrapcp.RoutingDimension,
    on_site_s: npt.NDArray[np.int64],
) -> int:
    """One fixed-duration interval per break that may fall in the shift; returns how many
    agents got any."""
    visit_transits: list[int] | None = None
    solver = routing.solver()
    with_breaks = 0
    for k, agent in enumerate(problem.agents):
        if not pre.usable[k] or not agent.breaks:
            continue
        kept, depart_s = breaks_in_play(agent)
        if depart_s > agent.shift.start_s:
            time.CumulVar(routing.Start(k)).SetMin(depart_s)
        if not kept:
            continue
        if visit_transits is None:
            visit_transits = [
                int(on_site_s[manager.IndexToNode(i)]) if not routing.IsStart(i) else 0
                for i in range(routing.Size())
            ]
        intervals = [
            solver.FixedDurationIntervalVar(
                b.window.start_s, b.window.end_s, b.duration_s, False, f"{agent.id}/{b.name}"
            )
            for b in kept
        ]
        time.SetBreakIntervalsOfVehicle(intervals, k, visit_transits)
        with_breaks += 1
    return with_breaks


def _add_preferences(
    problem: Problem, routing: pywrapcp.RoutingModel, node_visits: Sequence[int], n_nodes: int
) -> None:
    """Charge PREFERENCE_WEIGHT_S when a visit is served by an agent it does not prefer."""
    preferred = [problem.visits[v].preferred_agent for v in node_visits]
    if not any(p is not None for p in preferred):
        return
    weight = PREFERENCE_WEIGHT_S * COST_SCALE
    pad = [0] * (n_nodes - len(node_visits))
    callbacks: dict[str | None, int] = {}

    def callback(agent_id: str | None) -> int:
        if agent_id not in callbacks:
            charges = [0 if p is None or p == agent_id else weight for p in preferred]
            callbacks[agent_id] = routing.RegisterUnaryTransitVector(charges + pad)
        return callbacks[agent_id]

    wanted = {p for p in preferred if p is not None}
    per_vehicle = [callback(a.id if a.id in wanted else None) for a in problem.agents]
    ceiling = weight * len(node_visits)
    routing.AddDimensionWithVehicleTransits(per_vehicle, 0, ceiling, True, PREFERENCE_DIMENSION)
    routing.GetDimensionOrDie(PREFERENCE_DIMENSION).SetSpanCostCoefficientForAllVehicles(1)
