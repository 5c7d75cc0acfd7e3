"""The independent plan checker: recompute every time from the matrix and list every violation.

The solver and the checker are written apart and share only the domain model, the plan types and
the travel matrix, so a bug in one is unlikely to be repeated in the other. The checker never
raises on a malformed plan (unknown ids, negative or missing times): everything wrong comes back
as a :class:`Violation` so that a report shows all problems at once.

Each check compares a reported value with what the problem and matrix imply, using the plan's
*own* neighbouring values as inputs (the previous stop's reported departure, the stop's reported
start). One wrong number is therefore reported once, under one kind, instead of cascading down
the route.

Stops are numbered from 1 in ``where`` strings (``route A3 stop 4 (visit V17)`` is A3's fourth
stop); list positions (``unassigned[2]``) count from 0, as in Python.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from numbers import Integral
from typing import TypeVar

from dispatch.errors import InputError, InputIssue
from dispatch.geo.matrix import TravelMatrix
from dispatch.model import Agent, Problem, Visit, can_serve
from dispatch.plan import Plan, Reason, Route, Stop

# --- violation kinds -------------------------------------------------------------------------
UNKNOWN_AGENT = "unknown_agent"
"""A route names an agent that is not in the problem."""
DUPLICATE_ROUTE = "duplicate_route"
"""Two routes for one agent."""
UNKNOWN_VISIT = "unknown_visit"
"""A stop or an unassigned entry names a visit that is not in the problem."""
DUPLICATE_VISIT = "duplicate_visit"
"""A visit is routed twice, routed and unassigned, or unassigned twice."""
MISSING_VISIT = "missing_visit"
"""A visit of the problem is neither routed nor unassigned."""
SKILL = "skill"
"""The agent lacks a skill the visit requires."""
WINDOW = "window"
"""Service starts outside every booked window of the visit."""
SHIFT_START = "shift_start"
"""The route leaves its start before the agent's shift starts."""
SHIFT_END = "shift_end"
"""The route reaches its end location after the agent's shift ends."""
MAX_VISITS = "max_visits"
"""The route has more stops than the agent's ``max_visits``."""
CAPACITY = "capacity"
"""The route's total demand of a named quantity exceeds the agent's capacity for it."""
TRAVEL_TIME = "travel_time"
"""A stop's ``travel_s`` differs from the matrix (departure time and speed factor applied)."""
DISTANCE = "distance"
"""A stop's ``distance_m`` differs from the matrix."""
ARRIVAL = "arrival"
"""``arrival_s`` is not the previous departure (or the route's start) plus the travel time."""
EARLY_START = "early_start"
"""Service starts before the agent arrives."""
SERVICE_TIME = "service_time"
"""``departure_s`` is not the service start plus the visit's time on site."""
ROUTE_END = "route_end"
"""``end_s``, ``end_travel_s`` or ``end_distance_m`` disagree with the last stop and the matrix."""
EMPTY_ROUTE = "empty_route"
"""A route without stops (idle agents should have no route at all)."""
WRONG_REASON = "wrong_reason"
"""An unassigned visit's reason is provably false."""
UNKNOWN_SERVICE = "unknown_service"
"""A visit names a service missing from the problem's catalog, so its skills and time on site
are unknown (a problem defect the checker reports instead of raising)."""
MALFORMED = "malformed"
"""A route or stop field that should be an integer is not (that route's times are then not
checked), or an unassigned entry's reason is not a :class:`dispatch.plan.Reason`."""

KINDS: tuple[str, ...] = (
    UNKNOWN_AGENT,
    DUPLICATE_ROUTE,
    UNKNOWN_VISIT,
    DUPLICATE_VISIT,
    MISSING_VISIT,
    SKILL,
    WINDOW,
    SHIFT_START,
    SHIFT_END,
    MAX_VISITS,
    CAPACITY,
    TRAVEL_TIME,
    DISTANCE,
    ARRIVAL,
    EARLY_START,
    SERVICE_TIME,
    ROUTE_END,
    EMPTY_ROUTE,
    WRONG_REASON,
    UNKNOWN_SERVICE,
    MALFORMED,
)

_STOP_INT_FIELDS = ("arrival_s", "start_s", "departure_s", "travel_s", "distance_m")
_ROUTE_INT_FIELDS = ("start_s", "end_s", "end_travel_s", "end_distance_m")

_REASONS: frozenset[str] = frozenset(r.value for r in Reason)

_V = TypeVar("_V")


@dataclass(frozen=True)
class Violation:
    """One thing wrong with a plan: its kind, the item it concerns and a sentence for people."""

    kind: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.where}: {self.message}"


@dataclass(frozen=True)
class CheckReport:
    """Every violation found in a plan: routes in order, then unassigned entries, then visits."""

    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        """One line per violation, or ``plan OK``."""
        if not self.violations:
            return "plan OK"
        return "\n".join(str(v) for v in self.violations)

    def kinds(self) -> set[str]:
        """The distinct kinds reported (handy in tests and logs)."""
        return {v.kind for v in self.violations}


def check_plan(problem: Problem, plan: Plan, matrix: TravelMatrix) -> CheckReport:
    """Recompute the plan's times from ``matrix`` and list every violation.

    Raises :class:`dispatch.errors.InputError` only when ``matrix`` does not match the problem's
    locations, since then no travel time can be checked; a malformed plan never raises.
    """
    n_locations = 2 * len(problem.agents) + len(problem.visits)
    if matrix.size != n_locations:
        raise InputError(
            [
                InputIssue(
                    "matrix",
                    f"has {matrix.size} locations but the problem has {n_locations} "
                    f"({len(problem.visits)} visits + 2 x {len(problem.agents)} agents)",
                )
            ]
        )
    return _Checker(problem, plan, matrix).run()


def _lookup(mapping: Mapping[Hashable, _V], key: object) -> _V | None:
    """``mapping.get(key)`` that treats an unhashable key as unknown instead of raising."""
    try:
        return mapping.get(key)
    except TypeError:
        return None


def _is_int(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _hms(t_s: int) -> str:
    """Seconds since midnight as ``HH:MM:SS`` (negative and next-day times stay readable)."""
    sign = "-" if t_s < 0 else ""
    t_s = abs(int(t_s))
    return f"{sign}{t_s // 3600:02d}:{t_s % 3600 // 60:02d}:{t_s % 60:02d}"


class _Checker:
    """One pass over a plan; collects violations in a list."""

    def __init__(self, problem: Problem, plan: Plan, matrix: TravelMatrix) -> None:
        self.problem = problem
        self.plan = plan
        self.matrix = matrix
        self.out: list[Violation] = []
        self.agent_pos: dict[Hashable, int] = {}
        for pos, agent in enumerate(problem.agents):
            self.agent_pos.setdefault(agent.id, pos)
        self.visit_pos: dict[Hashable, int] = {}
        for pos, visit in enumerate(problem.visits):
            self.visit_pos.setdefault(visit.id, pos)
        # Per visit position: required skills and time on site, or None if its service is unknown.
        self.skills: list[frozenset[str] | None] = []
        self.duration_s: list[int | None] = []
        for visit in problem.visits:
            try:
                self.skills.append(problem.required_skills(visit))
            except KeyError:
                self.skills.append(None)
            try:
                self.duration_s.append(problem.visit_duration_s(visit))
            except KeyError:
                self.duration_s.append(None)
        # Where each known visit appears in the plan, for duplicate and missing checks.
        self.places: dict[int, list[str]] = {}

    def add(self, kind: str, where: str, message: str) -> None:
        self.out.append(Violation(kind, where, message))

    def run(self) -> CheckReport:
        seen_agents: dict[Hashable, int] = {}
        for index, route in enumerate(self.plan.routes):
            self.check_route(index, route, seen_agents)
        for index, entry in enumerate(self.plan.unassigned):
            self.check_unassigned(index, entry)
        self.check_visits()
        return CheckReport(tuple(self.out))

    # --- routes ------------------------------------------------------------------------------

    def check_route(self, index: int, route: Route, seen_agents: dict[Hashable, int]) -> None:
        agent_id = route.agent_id
        where = f"route {agent_id}"
        agent_pos = _lookup(self.agent_pos, agent_id)
        if agent_pos is None:
            self.add(
                UNKNOWN_AGENT,
                where,
                f"routes[{index}] names agent {agent_id!r}, not in the problem",
            )
        else:
            first = seen_agents.setdefault(agent_id, index)
            if first != index:
                self.add(
                    DUPLICATE_ROUTE,
                    where,
                    f"routes[{first}] and routes[{index}] are both for agent {agent_id}",
                )
        stops = tuple(route.stops)
        visits: list[Visit | None] = []
        for number, stop in enumerate(stops, start=1):
            visits.append(self.note_stop(where, number, stop))
        if not stops:
            self.add(EMPTY_ROUTE, where, "route has no stops; an idle agent should have no route")
            return
        well_formed = self.check_fields(where, route, stops)
        agent = None if agent_pos is None else self.problem.agents[agent_pos]
        if agent is not None:
            self.check_agent_limits(where, agent, route, stops, visits)
        if not well_formed:
            return
        for number, (stop, visit) in enumerate(zip(stops, visits, strict=True), start=1):
            if visit is not None:
                self.check_service(self.stop_where(where, number, stop), stop, visit)
        if agent is not None and agent_pos is not None:
            self.check_timeline(where, agent, agent_pos, route, stops, visits)

    def stop_where(self, route_where: str, number: int, stop: Stop) -> str:
        return f"{route_where} stop {number} (visit {stop.visit_id})"

    def note_stop(self, route_where: str, number: int, stop: Stop) -> Visit | None:
        """Resolve a stop's visit, recording where it appears; report it if unknown."""
        where = self.stop_where(route_where, number, stop)
        pos = _lookup(self.visit_pos, stop.visit_id)
        if pos is None:
            self.add(UNKNOWN_VISIT, where, f"visit {stop.visit_id!r} is not in the problem")
            return None
        self.places.setdefault(pos, []).append(f"{route_where} stop {number}")
        return self.problem.visits[pos]

    def check_fields(self, where: str, route: Route, stops: tuple[Stop, ...]) -> bool:
        ok = True
        for name in _ROUTE_INT_FIELDS:
            value = getattr(route, name, None)
            if not _is_int(value):
                self.add(MALFORMED, where, f"{name} is {value!r}, not an integer")
                ok = False
        for number, stop in enumerate(stops, start=1):
            for name in _STOP_INT_FIELDS:
                value = getattr(stop, name, None)
                if not _is_int(value):
                    self.add(
                        MALFORMED,
                        self.stop_where(where, number, stop),
                        f"{name} is {value!r}, not an integer",
                    )
                    ok = False
        return ok

    def check_agent_limits(
        self,
        where: str,
        agent: Agent,
        route: Route,
        stops: tuple[Stop, ...],
        visits: list[Visit | None],
    ) -> None:
        """Skills, max visits and capacities: what does not depend on times."""
        for number, (stop, visit) in enumerate(zip(stops, visits, strict=True), start=1):
            if visit is None:
                continue
            required = self.skills[self.visit_pos[visit.id]]
            if required is not None and not can_serve(agent, required):
                missing = ", ".join(sorted(required - agent.skills))
                self.add(
                    SKILL,
                    self.stop_where(where, number, stop),
                    f"agent {agent.id} lacks required skill(s): {missing}",
                )
        if agent.max_visits is not None and len(stops) > agent.max_visits:
            self.add(
                MAX_VISITS,
                where,
                f"{len(stops)} stops but agent {agent.id} may make at most {agent.max_visits}",
            )
        totals: dict[str, int] = {}
        for visit in visits:
            if visit is None:
                continue
            for name, amount in visit.demand.items():
                totals[name] = totals.get(name, 0) + amount
        for name in sorted(totals):
            limit = agent.capacities.get(name, 0)
            if totals[name] > limit:
                self.add(
                    CAPACITY,
                    where,
                    f"total demand of {name!r} is {totals[name]}, capacity is {limit}",
                )

    def check_service(self, where: str, stop: Stop, visit: Visit) -> None:
        """Window, waiting and time on site of one stop, from its own reported times."""
        if not any(w.contains(stop.start_s) for w in visit.windows):
            windows = ", ".join(f"{_hms(w.start_s)}-{_hms(w.end_s)}" for w in visit.windows)
            self.add(
                WINDOW,
                where,
                f"service starts at {_hms(stop.start_s)}, outside its window(s) "
                f"{windows or '(none)'}",
            )
        if stop.start_s < stop.arrival_s:
            self.add(
                EARLY_START,
                where,
                f"service starts at {_hms(stop.start_s)} before arrival at {_hms(stop.arrival_s)}",
            )
        duration_s = self.duration_s[self.visit_pos[visit.id]]
        if duration_s is not None and stop.departure_s != stop.start_s + duration_s:
            self.add(
                SERVICE_TIME,
                where,
                f"departure {_hms(stop.departure_s)} should be start {_hms(stop.start_s)} "
                f"+ {duration_s} s on site = {_hms(stop.start_s + duration_s)}",
            )

    def check_timeline(
        self,
        where: str,
        agent: Agent,
        agent_pos: int,
        route: Route,
        stops: tuple[Stop, ...],
        visits: list[Visit | None],
    ) -> None:
        """Shift bounds and every leg's travel, distance and arrival, recomputed from the matrix."""
        problem, matrix = self.problem, self.matrix
        if route.start_s < agent.shift.start_s:
            self.add(
                SHIFT_START,
                where,
                f"leaves at {_hms(route.start_s)}, before the shift starts at "
                f"{_hms(agent.shift.start_s)}",
            )
        prev_loc: int | None = problem.start_index(agent_pos)
        prev_departure_s = route.start_s
        for number, (stop, visit) in enumerate(zip(stops, visits, strict=True), start=1):
            stop_where = self.stop_where(where, number, stop)
            loc = None if visit is None else self.visit_pos[visit.id]
            travel_s = stop.travel_s
            if prev_loc is not None and loc is not None:
                travel_s = matrix.travel_s(prev_loc, loc, prev_departure_s, agent.speed_factor)
                distance_m = int(matrix.distance_m[prev_loc, loc])
                if stop.travel_s != travel_s:
                    self.add(
                        TRAVEL_TIME,
                        stop_where,
                        f"travel_s is {stop.travel_s}, the matrix gives {travel_s} "
                        f"(leaving at {_hms(prev_departure_s)}, speed factor {agent.speed_factor})",
                    )
                if stop.distance_m != distance_m:
                    self.add(
                        DISTANCE,
                        stop_where,
                        f"distance_m is {stop.distance_m}, the matrix gives {distance_m}",
                    )
            # With an unknown end of the leg only the plan's own arithmetic can be checked.
            if stop.arrival_s != prev_departure_s + travel_s:
                self.add(
                    ARRIVAL,
                    stop_where,
                    f"arrival {_hms(stop.arrival_s)} should be departure {_hms(prev_departure_s)} "
                    f"+ {travel_s} s travel = {_hms(prev_departure_s + travel_s)}",
                )
            prev_loc = loc
            prev_departure_s = stop.departure_s
        end_travel_s = route.end_travel_s
        if prev_loc is not None:
            end_loc = problem.end_index(agent_pos)
            end_travel_s = matrix.travel_s(prev_loc, end_loc, prev_departure_s, agent.speed_factor)
            end_distance_m = int(matrix.distance_m[prev_loc, end_loc])
            if route.end_travel_s != end_travel_s:
                self.add(
                    ROUTE_END,
                    where,
                    f"end_travel_s is {route.end_travel_s}, the matrix gives {end_travel_s}",
                )
            if route.end_distance_m != end_distance_m:
                self.add(
                    ROUTE_END,
                    where,
                    f"end_distance_m is {route.end_distance_m}, the matrix gives {end_distance_m}",
                )
        if route.end_s != prev_departure_s + end_travel_s:
            self.add(
                ROUTE_END,
                where,
                f"end_s {_hms(route.end_s)} should be last departure {_hms(prev_departure_s)} "
                f"+ {end_travel_s} s travel = {_hms(prev_departure_s + end_travel_s)}",
            )
        if route.end_s > agent.shift.end_s:
            self.add(
                SHIFT_END,
                where,
                f"reaches the end at {_hms(route.end_s)}, after the shift ends at "
                f"{_hms(agent.shift.end_s)}",
            )

    # --- visits and unassigned entries -------------------------------------------------------

    def check_visits(self) -> None:
        """Every visit exactly once; every service known to the catalog."""
        for pos, visit in enumerate(self.problem.visits):
            if self.visit_pos[visit.id] != pos:
                continue  # a duplicated id in the problem itself: judged by its first visit
            where = f"visit {visit.id}"
            places = self.places.get(pos, [])
            if not places:
                self.add(MISSING_VISIT, where, "neither routed nor unassigned")
            elif len(places) > 1:
                self.add(
                    DUPLICATE_VISIT,
                    where,
                    f"appears {len(places)} times: {'; '.join(places)}",
                )
            if self.skills[pos] is None or self.duration_s[pos] is None:
                self.add(
                    UNKNOWN_SERVICE,
                    where,
                    f"service {visit.service!r} is not in the problem's catalog",
                )

    def note_unassigned(self, index: int, visit_id: object) -> int | None:
        pos = _lookup(self.visit_pos, visit_id)
        if pos is None:
            self.add(
                UNKNOWN_VISIT,
                f"unassigned[{index}] (visit {visit_id})",
                f"visit {visit_id!r} is not in the problem",
            )
            return None
        self.places.setdefault(pos, []).append(f"unassigned[{index}]")
        return pos

    def check_unassigned(self, index: int, entry: object) -> None:
        visit_id = getattr(entry, "visit_id", None)
        pos = self.note_unassigned(index, visit_id)
        reason = getattr(entry, "reason", None)
        if not (isinstance(reason, str) and reason in _REASONS):
            self.add(
                MALFORMED,
                f"unassigned[{index}] (visit {visit_id})",
                f"reason {reason!r} is not one of {', '.join(sorted(_REASONS))}",
            )
            return
        if pos is None:
            return
        required = self.skills[pos]
        duration_s = self.duration_s[pos]
        if required is None or duration_s is None:
            return
        visit = self.problem.visits[pos]
        skilled = [(p, a) for p, a in enumerate(self.problem.agents) if can_serve(a, required)]
        claim = self.false_claim(reason, visit, duration_s, skilled)
        if claim:
            self.add(
                WRONG_REASON,
                f"unassigned[{index}] (visit {visit.id})",
                f"reason {reason} is false: {claim}",
            )

    def false_claim(
        self,
        reason: object,
        visit: Visit,
        duration_s: int,
        skilled: list[tuple[int, Agent]],
    ) -> str:
        """Why ``reason`` is provably false for ``visit``, or '' if it may be true.

        Only claims that a simple witness disproves are flagged: a skilled agent, a shift that
        leaves room for the whole service inside a window, a direct trip that makes it in time.
        """
        if reason == Reason.NO_AGENTS:
            return (
                f"the problem has {len(self.problem.agents)} agent(s)"
                if self.problem.agents
                else ""
            )
        if reason in (Reason.NO_SKILLED_AGENT, Reason.CAPACITY_OR_TIME):
            if reason == Reason.NO_SKILLED_AGENT and skilled:
                return f"agent {skilled[0][1].id} has every required skill"
            if reason == Reason.CAPACITY_OR_TIME and not skilled:
                return "no agent has every required skill, so it is not feasible alone"
            return ""
        if reason == Reason.WINDOW_OUTSIDE_SHIFTS:
            for _, agent in skilled:
                for w in visit.windows:
                    earliest = max(w.start_s, agent.shift.start_s)
                    latest = min(w.end_s, agent.shift.end_s - duration_s)
                    if earliest <= latest:
                        return (
                            f"skilled agent {agent.id} could serve it at {_hms(earliest)} "
                            f"within its shift and a window"
                        )
            return ""
        if reason == Reason.UNREACHABLE_IN_WINDOW:
            for agent_pos, agent in skilled:
                start_s = self.direct_trip_start_s(agent_pos, agent, visit, duration_s)
                if start_s is not None:
                    return (
                        f"skilled agent {agent.id} going straight there could start service "
                        f"at {_hms(start_s)} and be back within its shift"
                    )
        return ""

    def direct_trip_start_s(
        self, agent_pos: int, agent: Agent, visit: Visit, duration_s: int
    ) -> int | None:
        """Service start of the trip start -> visit -> end leaving at shift start, if feasible."""
        if agent.max_visits is not None and agent.max_visits < 1:
            return None
        if any(amount > agent.capacities.get(name, 0) for name, amount in visit.demand.items()):
            return None
        problem, matrix = self.problem, self.matrix
        loc = self.visit_pos[visit.id]
        depart_s = agent.shift.start_s
        arrival_s = depart_s + matrix.travel_s(
            problem.start_index(agent_pos), loc, depart_s, agent.speed_factor
        )
        for w in sorted(visit.windows, key=lambda w: w.start_s):
            start_s = max(arrival_s, w.start_s)
            if start_s > w.end_s:
                continue
            leave_s = start_s + duration_s
            end_s = leave_s + matrix.travel_s(
                loc, problem.end_index(agent_pos), leave_s, agent.speed_factor
            )
            if end_s <= agent.shift.end_s:
                return start_s
        return None
