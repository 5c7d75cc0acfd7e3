"""Solomon VRPTW instances: read them into the engine's model, and generate new ones.

The benchmark convention is DIMACS 2021 (also CVRPLIB's and PyVRP's ``round_func="dimacs"``):
``d_ij = floor(10 * euclid_ij)`` as an integer, travel time equals distance, ready/due/service
times are scaled by 10 as well, and the objective is total distance only. Every published
optimum for the 56 Solomon instances is in this convention, so a gap to best known is only
meaningful when the engine sees exactly these integers.

The engine's :class:`~dispatch.model.Location` is latitude/longitude; here the travel matrix is
built directly from the planar coordinates, and ``Location(lat=y, lon=x)`` is a placeholder.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from dispatch.errors import InputError, InputIssue
from dispatch.geo.matrix import TravelMatrix
from dispatch.model import DAY_S, Agent, Location, Problem, Service, TimeWindow, Visit
from dispatch.plan import Plan, Reason, Route, Stop, Unassigned

SCALE = 10  # DIMACS: distances and times are multiplied by 10 and truncated
SERVICE_CODE = "solomon"
SOLOMON_SERVICE = Service(SERVICE_CODE, "Solomon customer", None, 0)
LOAD = "load"
PLAN_DATE = dt.date(2000, 1, 1)  # Solomon times have no calendar; any fixed date will do

_NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass(frozen=True, slots=True)
class SolomonInstance:
    """One instance as in the file: node 0 is the depot, nodes ``1..n`` the customers.

    Arrays are indexed by node number and hold the file's unscaled values.
    """

    name: str
    vehicles: int
    capacity: int
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    demand: npt.NDArray[np.int64]
    ready: npt.NDArray[np.float64]
    due: npt.NDArray[np.float64]
    service: npt.NDArray[np.float64]

    @property
    def n_customers(self) -> int:
        return int(self.x.shape[0]) - 1


# ----------------------------------------------------------------------------- reading


def parse_solomon(text: str, source: str = "") -> SolomonInstance:
    """Parse the classic Solomon text format (also used by Homberger-Gehring).

    Layout: a name line, a ``VEHICLE`` section whose data line is ``NUMBER CAPACITY``, and a
    ``CUSTOMER`` section of rows ``CUST NO. XCOORD. YCOORD. DEMAND READY DUE SERVICE``
    numbered ``0..n`` in order (0 is the depot). Every bad line is reported at once.
    """
    lines = [(no, line.strip()) for no, line in enumerate(text.splitlines(), start=1)]
    content = [(no, line) for no, line in lines if line]
    if not content:
        raise InputError("empty file: no instance name", source)
    name = content[0][1]
    issues: list[InputIssue] = []
    vehicles = capacity = -1
    rows: list[tuple[int, list[float]]] = []
    section = ""
    for no, line in content[1:]:
        upper = line.upper()
        if upper.startswith("VEHICLE"):
            section = "vehicle"
            continue
        if upper.startswith("CUSTOMER"):
            section = "customer"
            continue
        if upper.startswith(("NUMBER", "CUST")):  # column headers
            continue
        fields = line.split()
        if not all(_NUMBER_RE.match(f) for f in fields):
            issues.append(InputIssue(f"line {no}", f"expected numbers, got {line!r}"))
            continue
        if section == "vehicle":
            if len(fields) != 2 or vehicles >= 0:
                issues.append(
                    InputIssue(f"line {no}", "VEHICLE section needs one line: NUMBER CAPACITY")
                )
                continue
            number, size = _as_int(fields[0]), _as_int(fields[1])
            if number is None or number < 1:
                issues.append(
                    InputIssue(f"line {no}.NUMBER", f"must be a positive integer, got {fields[0]}")
                )
            if size is None or size < 1:
                issues.append(
                    InputIssue(
                        f"line {no}.CAPACITY", f"must be a positive integer, got {fields[1]}"
                    )
                )
            vehicles, capacity = number or 0, size or 0
        elif section == "customer":
            if len(fields) != 7:
                issues.append(
                    InputIssue(f"line {no}", f"a customer row has 7 numbers, got {len(fields)}")
                )
                continue
            rows.append((no, [float(f) for f in fields]))
        else:
            issues.append(InputIssue(f"line {no}", "data before a VEHICLE or CUSTOMER section"))
    if vehicles < 0:
        issues.append(InputIssue("VEHICLE", "missing the NUMBER CAPACITY line"))
    if len(rows) < 2:
        issues.append(InputIssue("CUSTOMER", "needs the depot (node 0) and at least one customer"))
    for expected, (no, values) in enumerate(rows):
        where = f"line {no} (customer {values[0]:g})"
        if values[0] != expected:
            issues.append(
                InputIssue(
                    f"{where}.CUST NO.",
                    f"customers must be numbered 0, 1, ...; expected {expected}",
                )
            )
        demand, ready, due, service = values[3], values[4], values[5], values[6]
        if demand < 0 or demand != int(demand):
            issues.append(
                InputIssue(f"{where}.DEMAND", f"must be a non-negative integer, got {demand:g}")
            )
        elif capacity > 0 and demand > capacity:
            issues.append(
                InputIssue(f"{where}.DEMAND", f"{demand:g} exceeds the vehicle capacity {capacity}")
            )
        if ready < 0 or due < ready:
            issues.append(
                InputIssue(f"{where}.DUE DATE", f"window [{ready:g}, {due:g}] is empty or negative")
            )
        if service < 0:
            issues.append(
                InputIssue(f"{where}.SERVICE TIME", f"must be non-negative, got {service:g}")
            )
    if issues:
        raise InputError(issues, source)
    table = np.array([values for _, values in rows], dtype=np.float64)
    return SolomonInstance(
        name=name,
        vehicles=vehicles,
        capacity=capacity,
        x=table[:, 1].copy(),
        y=table[:, 2].copy(),
        demand=table[:, 3].astype(np.int64),
        ready=table[:, 4].copy(),
        due=table[:, 5].copy(),
        service=table[:, 6].copy(),
    )


def _as_int(text: str) -> int | None:
    value = float(text)
    return int(value) if value == int(value) else None


def read_solomon(path: str | Path) -> SolomonInstance:
    """Read a Solomon-format file (see :func:`parse_solomon`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read instance: {exc.strerror}", str(path)) from exc
    return parse_solomon(text, str(path))


def read_routes(path: str | Path) -> list[list[int]]:
    """Read a CVRPLIB solution file: ``Route #k: c1 c2 ...`` lines of customer numbers."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read solution: {exc.strerror}", str(path)) from exc
    routes: list[list[int]] = []
    for no, line in enumerate(text.splitlines(), start=1):
        if line.strip().lower().startswith("route"):
            _, _, body = line.partition(":")
            try:
                routes.append([int(c) for c in body.split()])
            except ValueError as exc:
                raise InputError(
                    [InputIssue(f"line {no}", f"bad customer number: {exc}")], str(path)
                ) from exc
    return routes


# ----------------------------------------------------------------------------- DIMACS matrix


def dimacs_distances(x: npt.ArrayLike, y: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """``floor(10 * euclid)`` between every pair of points, exactly.

    With integer coordinates this is ``isqrt(100 * (dx² + dy²))``, computed in integers so
    that a distance like 5.0 never becomes 49 through floating-point error.
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    dx = xs[:, None] - xs[None, :]
    dy = ys[:, None] - ys[None, :]
    if np.all(xs == np.round(xs)) and np.all(ys == np.round(ys)):
        squared = (100 * (dx * dx + dy * dy)).astype(np.int64)
        root = np.floor(np.sqrt(squared.astype(np.float64))).astype(np.int64)
        root -= (root * root > squared).astype(np.int64)  # correct the float estimate by one
        root += ((root + 1) * (root + 1) <= squared).astype(np.int64)
        return root
    return np.floor(SCALE * np.hypot(dx, dy) + 1e-9).astype(np.int64)


def _scaled(value: float) -> int:
    return round(SCALE * value)


def to_problem(instance: SolomonInstance) -> tuple[Problem, TravelMatrix]:
    """The engine's problem and travel matrix for an instance, DIMACS convention.

    One agent per vehicle of the fleet (ids ``v1..vK``) at the depot, shift = depot window;
    one required visit per customer (id = customer number) whose window is the service-start
    window. Travel seconds = distance "metres" = ``floor(10 * euclid)``.
    """
    n = instance.n_customers
    depot = Location(lat=float(instance.y[0]), lon=float(instance.x[0]))
    shift = TimeWindow(_scaled(instance.ready[0]), _scaled(instance.due[0]))
    agents = tuple(
        Agent(
            id=f"v{k + 1}",
            start=depot,
            shift=shift,
            capacities=MappingProxyType({LOAD: instance.capacity}),
        )
        for k in range(instance.vehicles)
    )
    visits = tuple(
        Visit(
            id=str(c),
            location=Location(lat=float(instance.y[c]), lon=float(instance.x[c])),
            service=SERVICE_CODE,
            windows=(TimeWindow(_scaled(instance.ready[c]), _scaled(instance.due[c])),),
            duration_s=_scaled(instance.service[c]),
            required=True,
            demand=MappingProxyType({LOAD: int(instance.demand[c])}),
        )
        for c in range(1, n + 1)
    )
    problem = Problem(
        date=PLAN_DATE,
        agents=agents,
        visits=visits,
        services=(SOLOMON_SERVICE,),
        name=instance.name,
    )
    nodes = np.array(list(range(1, n + 1)) + [0] * (2 * instance.vehicles), dtype=np.int64)
    node_matrix = dimacs_distances(instance.x, instance.y)
    engine = np.ascontiguousarray(node_matrix[np.ix_(nodes, nodes)])
    return problem, TravelMatrix(engine, engine.copy())


def plan_from_routes(
    problem: Problem,
    matrix: TravelMatrix,
    routes: Sequence[Sequence[str]],
    solver: Mapping[str, object] | None = None,
) -> Plan:
    """A timed plan for given visit sequences, agent ``k`` driving ``routes[k]``.

    Times follow the earliest forward schedule: leave at the shift start, wait when early.
    That schedule is feasible whenever any schedule of the sequence is, so a peer's routes are
    judged fairly by the checker. Visits in no route come back unassigned.
    """
    if len(routes) > len(problem.agents):
        raise InputError(
            [InputIssue("routes", f"{len(routes)} routes but only {len(problem.agents)} agents")]
        )
    position = {visit.id: i for i, visit in enumerate(problem.visits)}
    issues = [
        InputIssue(f"routes[{k}]", f"unknown visit id {vid!r}")
        for k, route in enumerate(routes)
        for vid in route
        if vid not in position
    ]
    if issues:
        raise InputError(issues)
    built: list[Route] = []
    for k, sequence in enumerate(routes):
        if not sequence:
            continue
        agent = problem.agents[k]
        here = problem.start_index(k)
        clock_s = start_s = agent.shift.start_s
        stops: list[Stop] = []
        for vid in sequence:
            pos = position[vid]
            visit = problem.visits[pos]
            travel_s = matrix.travel_s(here, pos, clock_s, agent.speed_factor)
            arrival_s = clock_s + travel_s
            open_s = next((w.start_s for w in visit.windows if arrival_s <= w.end_s), arrival_s)
            begin_s = max(arrival_s, open_s)
            clock_s = begin_s + problem.visit_duration_s(visit)
            stops.append(
                Stop(vid, arrival_s, begin_s, clock_s, travel_s, int(matrix.distance_m[here, pos]))
            )
            here = pos
        end = problem.end_index(k)
        end_travel_s = matrix.travel_s(here, end, clock_s, agent.speed_factor)
        built.append(
            Route(
                agent.id,
                start_s,
                tuple(stops),
                clock_s + end_travel_s,
                end_travel_s,
                int(matrix.distance_m[here, end]),
            )
        )
    served = {vid for route in routes for vid in route}
    unassigned = tuple(
        Unassigned(v.id, Reason.CAPACITY_OR_TIME, "not in any route of the solution")
        for v in problem.visits
        if v.id not in served
    )
    return Plan(tuple(built), unassigned, dict(solver or {}))


def plan_cost(plan: Plan) -> float:
    """Total distance in the file's units (DIMACS: integer sum / 10), as in ``bks.csv``."""
    return sum(route.distance_m for route in plan.routes) / SCALE


def plan_routes(plan: Plan) -> list[list[int]]:
    """The plan's routes as lists of customer numbers (for reports and solution files)."""
    return [[int(stop.visit_id) for stop in route.stops] for route in plan.routes if route.stops]


# ----------------------------------------------------------------------------- generating

LAYOUTS = ("R", "C", "RC")

# Per (layout, type): depot due date, capacity and service time of Solomon's 100-customer sets,
# for a 100 x 100 grid. Larger instances scale the grid and the horizon together (see below).
_CLASSIC: dict[tuple[str, int], tuple[int, int, int]] = {
    ("R", 1): (230, 200, 10),
    ("C", 1): (1236, 200, 90),
    ("RC", 1): (240, 200, 10),
    ("R", 2): (1000, 1000, 10),
    ("C", 2): (3390, 700, 90),
    ("RC", 2): (960, 1000, 10),
}


def generate_instance(
    n_customers: int,
    layout: str = "R",
    horizon_type: int = 1,
    seed: int = 0,
    *,
    window_density: float = 0.75,
    vehicles: int | None = None,
    name: str | None = None,
) -> SolomonInstance:
    """A seeded Solomon-style instance, feasible by construction.

    ``layout`` R = uniform random customers, C = clustered, RC = half of each; type 1 has a
    short horizon, small capacity and tight windows, type 2 a long horizon and wide windows.
    A share ``window_density`` of customers get a window, the rest may be served any time.
    The grid side grows with ``sqrt(n / 100)`` (as Homberger-Gehring's larger sets do) and
    the horizon with it, so density and route lengths stay comparable.

    Every window is reachable: leaving the depot at time 0 one can start service within the
    window and be back before the depot closes (checked with real Euclidean distances, so it
    also holds under DIMACS truncation). The fleet defaults to ``n / 4`` (Solomon's 25 per
    100) and is raised if a greedy time-oriented nearest-neighbour construction needs more,
    so the whole instance, not just each customer, can be served.
    """
    if n_customers < 1:
        raise ValueError(f"n_customers must be positive, got {n_customers}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if horizon_type not in (1, 2):
        raise ValueError(f"horizon_type must be 1 or 2, got {horizon_type}")
    if not 0.0 <= window_density <= 1.0:
        raise ValueError(f"window_density must be in [0, 1], got {window_density}")
    rng = np.random.default_rng(seed)
    scale = max(1.0, math.sqrt(n_customers / 100))
    side = round(100 * scale)
    due0, capacity, service_time = _CLASSIC[(layout, horizon_type)]
    # Scaled by 10 the horizon must still fit in one engine day (C2 at 1000 customers).
    horizon = min(round(due0 * scale), DAY_S // SCALE)
    depot = np.array([side // 2, side // 2], dtype=np.float64)

    xy = _customer_points(rng, n_customers, layout, side)
    dist = np.hypot(xy[:, 0] - depot[0], xy[:, 1] - depot[1])
    # Pull any customer too far for the horizon towards the depot (never needed with the
    # classic horizons, kept so unusual sizes remain feasible).
    limit = (horizon - service_time) / 2 - 1
    far = dist > limit
    if np.any(far):
        factor = np.where(far, limit / np.maximum(dist, 1e-9), 1.0)
        xy = np.floor(depot + (xy - depot) * factor[:, None])
        dist = np.hypot(xy[:, 0] - depot[0], xy[:, 1] - depot[1])

    if layout == "C":
        demand = rng.integers(1, 6, n_customers) * 10
    else:
        demand = rng.integers(1, 51, n_customers)
    earliest = np.ceil(dist)
    latest = np.floor(horizon - service_time - dist)
    half_width = (
        rng.uniform(5, 30, n_customers) * scale
        if horizon_type == 1
        else rng.uniform(60, 240, n_customers) * scale
    )
    if layout == "C":
        half_width *= 2  # Solomon's C windows are wider relative to the 90-unit service time
    centre = rng.uniform(earliest, latest)
    has_window = rng.random(n_customers) < window_density
    ready = np.where(has_window, np.maximum(0.0, np.floor(centre - half_width)), 0.0)
    due = np.where(has_window, np.minimum(latest, np.ceil(centre + half_width)), latest)

    fleet = vehicles if vehicles is not None else max(1, math.ceil(n_customers / 4))
    fleet = max(fleet, _greedy_route_count(xy, depot, demand, ready, due, service_time, capacity))
    zero = np.zeros(1)
    return SolomonInstance(
        name=name or f"{layout}{horizon_type}_{n_customers}_s{seed}",
        vehicles=fleet,
        capacity=capacity,
        x=np.concatenate([depot[:1], xy[:, 0]]),
        y=np.concatenate([depot[1:], xy[:, 1]]),
        demand=np.concatenate([zero, demand]).astype(np.int64),
        ready=np.concatenate([zero, ready]),
        due=np.concatenate([np.array([float(horizon)]), due]),
        service=np.concatenate([zero, np.full(n_customers, float(service_time))]),
    )


def _customer_points(
    rng: np.random.Generator, n: int, layout: str, side: int
) -> npt.NDArray[np.float64]:
    """Integer points on ``[0, side]²``: uniform, clustered, or half and half."""
    n_clustered = {"R": 0, "C": n, "RC": n // 2}[layout]
    uniform = rng.integers(0, side + 1, size=(n - n_clustered, 2)).astype(np.float64)
    if n_clustered == 0:
        return uniform
    n_clusters = max(1, round(n_clustered / 10))
    centres = rng.uniform(0.1 * side, 0.9 * side, size=(n_clusters, 2))
    which = rng.integers(0, n_clusters, n_clustered)
    spread = 0.03 * side
    points = np.clip(np.rint(centres[which] + rng.normal(0, spread, (n_clustered, 2))), 0, side)
    return np.concatenate([points, uniform]) if len(uniform) else points


def _greedy_route_count(
    xy: npt.NDArray[np.float64],
    depot: npt.NDArray[np.float64],
    demand: npt.NDArray[np.int64],
    ready: npt.NDArray[np.float64],
    due: npt.NDArray[np.float64],
    service_time: float,
    capacity: int,
) -> int:
    """Routes used by a time-oriented nearest-neighbour construction (an upper bound).

    Real Euclidean distances; every customer is feasible alone, so each route serves at
    least one customer and the loop ends.
    """
    n = len(xy)
    left = np.ones(n, dtype=bool)
    routes = 0
    while left.any():
        routes += 1
        here, clock, load = depot, 0.0, 0
        while True:
            travel = np.hypot(xy[:, 0] - here[0], xy[:, 1] - here[1])
            begin = np.maximum(clock + travel, ready)
            # every due date leaves time to return to the depot, so starting by it suffices
            ok = left & (begin <= due) & (load + demand <= capacity)
            if not ok.any():
                break
            score = np.where(ok, begin - clock + 0.5 * (due - begin), np.inf)
            nxt = int(np.argmin(score))
            left[nxt] = False
            clock = float(begin[nxt]) + service_time
            load += int(demand[nxt])
            here = xy[nxt]
    return routes


def format_solomon(instance: SolomonInstance) -> str:
    """The instance in Solomon's text layout (integers printed without decimals)."""

    def num(value: float) -> str:
        return str(int(value)) if float(value) == int(value) else f"{value:.2f}"

    lines = [
        instance.name,
        "",
        "VEHICLE",
        "NUMBER     CAPACITY",
        f"{instance.vehicles:>5}{instance.capacity:>12}",
        "",
        "CUSTOMER",
        "CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME",
        "",
    ]
    for c in range(instance.n_customers + 1):
        lines.append(
            f"{c:>5}{num(instance.x[c]):>11}{num(instance.y[c]):>11}"
            f"{int(instance.demand[c]):>11}{num(instance.ready[c]):>11}"
            f"{num(instance.due[c]):>11}{num(instance.service[c]):>11}"
        )
    return "\n".join(lines) + "\n"


def write_solomon(instance: SolomonInstance, path: str | Path) -> None:
    """Write :func:`format_solomon` output to ``path``."""
    Path(path).write_text(format_solomon(instance), encoding="utf-8")
