"""The independent plan checker: recompute every time from the matrix and list every violation.

The solver and the checker are written apart and share only the domain model, the plan types and
the travel matrix, so a bug in one is unlikely to be repeated in the other. The checker never
raises on a malformed plan (unknown ids, negative or missing times): everything wrong comes back
as a :class:`Violation` so that a report shows all problems at once.

Each check compares a reported value with what the problem and matrix imply, using the plan's
*own* neighbouring values as inputs (the previous stop's reported departure, the stop's reported
start). One wrong number is therefore reported once, under one kind, instead of cascading down
the route.

The timeline rules, from :mod:`dispatch.plan`:

- a leg's travel time is ``matrix.travel_s(prev, here, prev_departure_s, speed_factor)``, where
  the previous location of the first stop is the agent's start and its "departure" the route's
  ``start_s``; the last leg runs to the agent's end location;
- ``arrival_s`` = previous departure + travel + the breaks taken on the way (breaks lying inside
  ``[previous departure, arrival]``); ``end_s`` likewise for the last leg;
- a break may also be taken while waiting (inside ``[arrival_s, start_s]``), or before the
  route leaves or after it ends, but never during service or riding;
- a home visit starts inside one of its windows, or at most ``max_late_s`` after a window
  closes, with ``late_s`` saying how late; a call at an office (``StopKind.PICKUP``) starts and
  finishes within opening hours and takes ``pickup_s``; a delivery visit is preceded on its
  route by a call at its office whose ``collects`` lists it.

Stops are numbered from 1 in ``where`` strings (``route A3 stop 4 (visit V17)`` is A3's fourth
stop); list positions (``unassigned[2]``, ``breaks[0]``) count from 0, as in Python.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from numbers import Integral
from typing import TypeVar

from dispatch.errors import InputError, InputIssue
from dispatch.geo.matrix import TravelMatrix
from dispatch.model import Agent, Break, Office, Problem, Visit, can_serve
from dispatch.plan import BreakTaken, Plan, Reason, Route, Stop, StopKind

# --- violation kinds -------------------------------------------------------------------------
UNKNOWN_AGENT = "unknown_agent"
"""A route names an agent that is not in the problem."""
DUPLICATE_ROUTE = "duplicate_route"
"""Two routes for one agent."""
UNKNOWN_VISIT = "unknown_visit"
"""A visit stop or an unassigned entry names a visit that is not in the problem."""
DUPLICATE_VISIT = "duplicate_visit"
"""A visit is routed twice, routed and unassigned, or unassigned twice."""
MISSING_VISIT = "missing_visit"
"""A visit of the problem is neither routed nor unassigned."""
SKILL = "skill"
"""The agent lacks a skill the visit requires."""
REQUIRED_AGENT = "required_agent"
"""A visit pinned to one agent (``Visit.required_agent``) is served by another."""
WINDOW = "window"
"""Service starts outside every window of the visit (beyond ``max_late_s`` for soft windows)."""
LATENESS = "lateness"
"""A stop's ``late_s`` is not how far its start lies after the visit's window (0 when inside)."""
SHIFT_START = "shift_start"
"""The route leaves its start before the agent's shift starts."""
SHIFT_END = "shift_end"
"""The route reaches its end location after the agent's shift ends."""
MAX_VISITS = "max_visits"
"""The route has more home visits than the agent's ``max_visits`` (office calls not counted)."""
CAPACITY = "capacity"
"""The route's total demand of a named quantity exceeds the agent's capacity for it."""
TRAVEL_TIME = "travel_time"
"""A stop's ``travel_s`` differs from the matrix (departure time and speed factor applied)."""
DISTANCE = "distance"
"""A stop's ``distance_m`` differs from the matrix."""
ARRIVAL = "arrival"
"""``arrival_s`` is not the previous departure (or the route's start) plus travel and breaks."""
EARLY_START = "early_start"
"""Service starts before the agent arrives."""
SERVICE_TIME = "service_time"
"""``departure_s`` is not the start plus the time on site (the visit's, or the office's
``pickup_s``)."""
ROUTE_END = "route_end"
"""``end_s``, ``end_travel_s`` or ``end_distance_m`` disagree with the last stop and the matrix."""
EMPTY_ROUTE = "empty_route"
"""A route without stops (idle agents should have no route at all)."""
WRONG_REASON = "wrong_reason"
"""An unassigned visit's reason is provably false."""
UNKNOWN_OFFICE = "unknown_office"
"""A pickup stop, or a visit's ``pickup_office``, names an office not in the problem."""
OFFICE_HOURS = "office_hours"
"""A call at an office starts before it opens or finishes after it closes."""
PICKUP = "pickup"
"""A delivery without an earlier call at its office on the same route listing it in
``collects``, or a ``collects`` entry that is not a later delivery from that office."""
BREAK = "break"
"""A break that is unknown, taken twice, of the wrong length, started outside its window,
overlapping service, riding or another break, or missing while it could only fall in the route."""
UNKNOWN_SERVICE = "unknown_service"
"""A visit names a service missing from the problem's catalog, so its skills and time on site
are unknown (a problem defect the checker reports instead of raising)."""
MALFORMED = "malformed"
"""A time field that is not an integer (that route's times are then not checked), an unknown
stop kind, or an unassigned entry whose reason is not a :class:`dispatch.plan.Reason`."""

KINDS: tuple[str, ...] = (
    UNKNOWN_AGENT,
    DUPLICATE_ROUTE,
    UNKNOWN_VISIT,
    DUPLICATE_VISIT,
    MISSING_VISIT,
    SKILL,
    REQUIRED_AGENT,
    WINDOW,
    LATENESS,
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
    UNKNOWN_OFFICE,
    OFFICE_HOURS,
    PICKUP,
    BREAK,
    UNKNOWN_SERVICE,
    MALFORMED,
)

_STOP_INT_FIELDS = ("arrival_s", "start_s", "departure_s", "travel_s", "distance_m", "late_s")
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
    n_locations = len(problem.locations())
    if matrix.size != n_locations:
        raise InputError(
            [
                InputIssue(
                    "matrix",
                    f"has {matrix.size} locations but the problem has {n_locations} "
                    "(visits, then each agent's start, each agent's end, then offices)",
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


def _first_positions(ids: Sequence[str]) -> dict[Hashable, int]:
    positions: dict[Hashable, int] = {}
    for pos, item_id in enumerate(ids):
        positions.setdefault(item_id, pos)
    return positions


@dataclass(frozen=True)
class _Site:
    """What a stop resolves to: a matrix index, the time on site, and the visit or office."""

    loc: int
    duration_s: int | None
    visit: Visit | None = None
    office: Office | None = None


class _Checker:
    """One pass over a plan; collects violations in a list."""

    def __init__(self, problem: Problem, plan: Plan, matrix: TravelMatrix) -> None:
        self.problem = problem
        self.plan = plan
        self.matrix = matrix
        self.out: list[Violation] = []
        self.agent_pos = _first_positions([a.id for a in problem.agents])
        self.visit_pos = _first_positions([v.id for v in problem.visits])
        self.office_pos = _first_positions([o.id for o in problem.offices])
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
        sites = [self.resolve_stop(where, n, stop) for n, stop in enumerate(stops, start=1)]
        if not stops:
            self.add(EMPTY_ROUTE, where, "route has no stops; an idle agent should have no route")
            return
        well_formed = self.check_fields(where, route, stops)
        agent = None if agent_pos is None else self.problem.agents[agent_pos]
        if agent is not None:
            self.check_agent_limits(where, agent, stops, sites)
        self.check_pickups(where, stops, sites)
        if not well_formed:
            return
        for number, (stop, site) in enumerate(zip(stops, sites, strict=True), start=1):
            if site is not None:
                self.check_service(self.stop_where(where, number, stop), stop, site)
        if agent is not None and agent_pos is not None:
            self.check_timeline(where, agent, agent_pos, route, stops, sites)
            self.check_breaks(where, agent, route, stops)

    def stop_where(self, route_where: str, number: int, stop: Stop) -> str:
        label = "office" if getattr(stop, "kind", StopKind.VISIT) == StopKind.PICKUP else "visit"
        return f"{route_where} stop {number} ({label} {stop.visit_id})"

    def resolve_stop(self, route_where: str, number: int, stop: Stop) -> _Site | None:
        """Find a stop's visit or office, recording where visits appear; report unknown ones."""
        where = self.stop_where(route_where, number, stop)
        kind = getattr(stop, "kind", StopKind.VISIT)
        if kind == StopKind.PICKUP:
            office_pos = _lookup(self.office_pos, stop.visit_id)
            if office_pos is None:
                self.add(UNKNOWN_OFFICE, where, f"office {stop.visit_id!r} is not in the problem")
                return None
            office = self.problem.offices[office_pos]
            return _Site(self.problem.office_index(office_pos), office.pickup_s, office=office)
        if kind != StopKind.VISIT:
            self.add(MALFORMED, where, f"stop kind {kind!r} is neither 'visit' nor 'pickup'")
            return None
        pos = _lookup(self.visit_pos, stop.visit_id)
        if pos is None:
            self.add(UNKNOWN_VISIT, where, f"visit {stop.visit_id!r} is not in the problem")
            return None
        self.places.setdefault(pos, []).append(f"{route_where} stop {number}")
        visit = self.problem.visits[pos]
        return _Site(self.problem.visit_index(pos), self.duration_s[pos], visit=visit)

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
        for k, taken in enumerate(getattr(route, "breaks", ())):
            for name in ("start_s", "end_s"):
                value = getattr(taken, name, None)
                if not _is_int(value):
                    self.add(MALFORMED, f"{where} breaks[{k}]", f"{name} is {value!r}")
                    ok = False
        return ok

    def check_agent_limits(
        self,
        where: str,
        agent: Agent,
        stops: tuple[Stop, ...],
        sites: list[_Site | None],
    ) -> None:
        """Skills, pins, max visits and capacities: what does not depend on times."""
        visits: list[Visit] = []
        for number, (stop, site) in enumerate(zip(stops, sites, strict=True), start=1):
            if site is None or site.visit is None:
                continue
            visit = site.visit
            visits.append(visit)
            required = self.skills[self.visit_pos[visit.id]]
            if required is not None and not can_serve(agent, required):
                missing = ", ".join(sorted(required - agent.skills))
                self.add(
                    SKILL,
                    self.stop_where(where, number, stop),
                    f"agent {agent.id} lacks required skill(s): {missing}",
                )
            if visit.required_agent is not None and visit.required_agent != agent.id:
                self.add(
                    REQUIRED_AGENT,
                    self.stop_where(where, number, stop),
                    f"pinned to agent {visit.required_agent}, served by {agent.id}",
                )
        n_visits = sum(
            1 for stop in stops if getattr(stop, "kind", StopKind.VISIT) == StopKind.VISIT
        )
        if agent.max_visits is not None and n_visits > agent.max_visits:
            self.add(
                MAX_VISITS,
                where,
                f"{n_visits} visits but agent {agent.id} may make at most {agent.max_visits}",
            )
        totals: dict[str, int] = {}
        for visit in visits:
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

    def check_pickups(self, where: str, stops: tuple[Stop, ...], sites: list[_Site | None]) -> None:
        """Each delivery follows a call at its office that collects it; collects name deliveries."""
        collected: set[Hashable] = set()  # visit ids collected by calls so far on this route
        for number, (stop, site) in enumerate(zip(stops, sites, strict=True), start=1):
            if site is None:
                continue
            stop_where = self.stop_where(where, number, stop)
            if site.office is not None:
                later = {
                    s.visit.id
                    for s in sites[number:]
                    if s is not None and s.visit is not None
                    if s.visit.pickup_office == site.office.id
                }
                for visit_id in getattr(stop, "collects", ()):
                    if _lookup(self.visit_pos, visit_id) is None or visit_id not in later:
                        self.add(
                            PICKUP,
                            stop_where,
                            f"collects {visit_id!r}, which is not delivered later on this route "
                            f"from office {site.office.id}",
                        )
                    else:
                        collected.add(visit_id)
                continue
            visit = site.visit
            if visit is None or visit.pickup_office is None:
                continue
            if _lookup(self.office_pos, visit.pickup_office) is None:
                self.add(
                    UNKNOWN_OFFICE,
                    stop_where,
                    f"pickup_office {visit.pickup_office!r} is not in the problem",
                )
            elif visit.id not in collected:
                self.add(
                    PICKUP,
                    stop_where,
                    f"delivery from office {visit.pickup_office} without an earlier call there "
                    "on this route that collects it",
                )

    def check_service(self, where: str, stop: Stop, site: _Site) -> None:
        """Window or opening hours, waiting and time on site of one stop, from its own times."""
        if site.visit is not None:
            self.check_window(where, stop, site.visit)
        elif site.office is not None:
            opening = site.office.opening
            if not (opening.start_s <= stop.start_s and stop.departure_s <= opening.end_s):
                self.add(
                    OFFICE_HOURS,
                    where,
                    f"call {_hms(stop.start_s)}-{_hms(stop.departure_s)} is outside opening "
                    f"hours {_hms(opening.start_s)}-{_hms(opening.end_s)}",
                )
            if stop.late_s != 0:
                self.add(LATENESS, where, f"late_s is {stop.late_s}; an office call is never late")
        if stop.start_s < stop.arrival_s:
            self.add(
                EARLY_START,
                where,
                f"service starts at {_hms(stop.start_s)} before arrival at {_hms(stop.arrival_s)}",
            )
        if site.duration_s is not None and stop.departure_s != stop.start_s + site.duration_s:
            self.add(
                SERVICE_TIME,
                where,
                f"departure {_hms(stop.departure_s)} should be start {_hms(stop.start_s)} "
                f"+ {site.duration_s} s on site = {_hms(stop.start_s + site.duration_s)}",
            )

    def check_window(self, where: str, stop: Stop, visit: Visit) -> None:
        start_s = stop.start_s
        if any(w.contains(start_s) for w in visit.windows):
            late_s: int | None = 0
        else:
            after = [start_s - w.end_s for w in visit.windows if w.end_s < start_s]
            late_s = min(after) if after else None
        if late_s is None or late_s > max(visit.max_late_s, 0):
            windows = ", ".join(f"{_hms(w.start_s)}-{_hms(w.end_s)}" for w in visit.windows)
            allowance = f" (up to {visit.max_late_s} s late allowed)" if visit.max_late_s else ""
            self.add(
                WINDOW,
                where,
                f"service starts at {_hms(start_s)}, outside its window(s) "
                f"{windows or '(none)'}{allowance}",
            )
        elif stop.late_s != late_s:
            self.add(LATENESS, where, f"late_s is {stop.late_s}, service starts {late_s} s late")

    def check_timeline(
        self,
        where: str,
        agent: Agent,
        agent_pos: int,
        route: Route,
        stops: tuple[Stop, ...],
        sites: list[_Site | None],
    ) -> None:
        """Shift bounds and every leg's travel, distance and arrival, recomputed from the matrix."""
        problem, matrix = self.problem, self.matrix
        breaks = [b for b in getattr(route, "breaks", ()) if isinstance(b, BreakTaken)]
        if route.start_s < agent.shift.start_s:
            self.add(
                SHIFT_START,
                where,
                f"leaves at {_hms(route.start_s)}, before the shift starts at "
                f"{_hms(agent.shift.start_s)}",
            )
        prev_loc: int | None = problem.start_index(agent_pos)
        prev_departure_s = route.start_s
        for number, (stop, site) in enumerate(zip(stops, sites, strict=True), start=1):
            stop_where = self.stop_where(where, number, stop)
            loc = None if site is None else site.loc
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
            break_s = _breaks_within(breaks, prev_departure_s, stop.arrival_s)
            expected_s = prev_departure_s + travel_s + break_s
            if stop.arrival_s != expected_s:
                with_breaks = f" + {break_s} s of breaks" if break_s else ""
                self.add(
                    ARRIVAL,
                    stop_where,
                    f"arrival {_hms(stop.arrival_s)} should be departure {_hms(prev_departure_s)} "
                    f"+ {travel_s} s travel{with_breaks} = {_hms(expected_s)}",
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
        break_s = _breaks_within(breaks, prev_departure_s, route.end_s)
        expected_s = prev_departure_s + end_travel_s + break_s
        if route.end_s != expected_s:
            with_breaks = f" + {break_s} s of breaks" if break_s else ""
            self.add(
                ROUTE_END,
                where,
                f"end_s {_hms(route.end_s)} should be last departure {_hms(prev_departure_s)} "
                f"+ {end_travel_s} s travel{with_breaks} = {_hms(expected_s)}",
            )
        if route.end_s > agent.shift.end_s:
            self.add(
                SHIFT_END,
                where,
                f"reaches the end at {_hms(route.end_s)}, after the shift ends at "
                f"{_hms(agent.shift.end_s)}",
            )

    def check_breaks(self, where: str, agent: Agent, route: Route, stops: tuple[Stop, ...]) -> None:
        """Each of the agent's breaks once, whole, in its window and in a gap of the timeline."""
        owed: dict[Hashable, Break] = {}
        for b in agent.breaks:
            owed.setdefault(b.name, b)
        taken_names: set[str] = set()
        taken: list[tuple[int, BreakTaken]] = []
        for k, item in enumerate(getattr(route, "breaks", ())):
            b_where = f"{where} breaks[{k}] ({getattr(item, 'name', None)})"
            if not isinstance(item, BreakTaken):
                self.add(MALFORMED, b_where, f"{item!r} is not a BreakTaken")
                continue
            spec = _lookup(owed, item.name)
            if spec is None:
                self.add(BREAK, b_where, f"agent {agent.id} has no break named {item.name!r}")
                continue
            if item.name in taken_names:
                self.add(BREAK, b_where, f"break {item.name!r} is taken twice")
                continue
            taken_names.add(item.name)
            taken.append((k, item))
            if item.end_s - item.start_s != spec.duration_s:
                self.add(
                    BREAK,
                    b_where,
                    f"lasts {item.end_s - item.start_s} s, should last {spec.duration_s} s",
                )
            if not spec.window.contains(item.start_s):
                self.add(
                    BREAK,
                    b_where,
                    f"starts at {_hms(item.start_s)}, outside its window "
                    f"{_hms(spec.window.start_s)}-{_hms(spec.window.end_s)}",
                )
            if not _in_a_gap(item, route, stops):
                self.add(
                    BREAK,
                    b_where,
                    f"{_hms(item.start_s)}-{_hms(item.end_s)} overlaps service or riding: a break "
                    "must lie between a departure and the next arrival, or while waiting",
                )
        taken.sort(key=lambda kb: (kb[1].start_s, kb[0]))
        for (_, first), (k, second) in pairwise(taken):
            if second.start_s < first.end_s:
                self.add(
                    BREAK,
                    f"{where} breaks[{k}] ({second.name})",
                    f"overlaps break {first.name!r}",
                )
        for name, spec in owed.items():
            if name in taken_names:
                continue
            fits_before = spec.window.start_s + spec.duration_s <= route.start_s
            fits_after = spec.window.end_s >= route.end_s
            if not (fits_before or fits_after):
                self.add(
                    BREAK,
                    f"{where} break {name}",
                    f"not taken, and its window {_hms(spec.window.start_s)}-"
                    f"{_hms(spec.window.end_s)} leaves no room for it outside the route",
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
        eligible = [
            (p, a)
            for p, a in enumerate(self.problem.agents)
            if visit.required_agent is None or a.id == visit.required_agent
        ]
        skilled = [(p, a) for p, a in eligible if can_serve(a, required)]
        claim = self.false_claim(reason, visit, duration_s, skilled)
        if claim:
            self.add(
                WRONG_REASON,
                f"unassigned[{index}] (visit {visit.id})",
                f"reason {reason} is false: {claim}",
            )

    def false_claim(
        self,
        reason: str,
        visit: Visit,
        duration_s: int,
        skilled: list[tuple[int, Agent]],
    ) -> str:
        """Why ``reason`` is provably false for ``visit``, or '' if it may be true.

        Only claims that a simple witness disproves are flagged. The witness for the window,
        reachability and break claims must be an agent who could take the visit at all (skills,
        pin, room in ``max_visits`` and capacities); a delivery's office call is not modelled,
        so reachability and breaks are not judged for deliveries. A capacity claim is false if
        some skilled agent has room for the visit alone; an office claim, for a visit that is
        not a delivery.
        """
        if reason == Reason.NO_AGENTS:
            n_agents = len(self.problem.agents)
            return f"the problem has {n_agents} agent(s)" if n_agents else ""
        if reason == Reason.NO_SKILLED_AGENT:
            return f"agent {skilled[0][1].id} has every required skill" if skilled else ""
        if reason == Reason.CAPACITY_OR_TIME:
            return "" if skilled else "no agent may serve it at all, so it is not feasible alone"
        roomy = [(p, a) for p, a in skilled if _has_room(a, visit)]
        if reason == Reason.CAPACITY:
            return f"agent {roomy[0][1].id} has the room to take it" if roomy else ""
        if reason == Reason.OFFICE_CLOSED_FOR_PICKUP and visit.pickup_office is None:
            return "it is not a delivery, so no office call is needed"
        if reason == Reason.BREAK_CONFLICT and visit.pickup_office is None:
            for agent_pos, agent in roomy:
                if agent.breaks:
                    continue
                start_s = self.direct_trip_start_s(agent_pos, agent, visit, duration_s)
                if start_s is not None:
                    return (
                        f"agent {agent.id}, who has no breaks, going straight there could start "
                        f"service at {_hms(start_s)} and be back within its shift"
                    )
        if reason == Reason.WINDOW_OUTSIDE_SHIFTS:
            for _, agent in roomy:
                for w in visit.windows:
                    earliest = max(w.start_s, agent.shift.start_s)
                    latest = min(w.end_s, agent.shift.end_s - duration_s)
                    if earliest <= latest:
                        return (
                            f"agent {agent.id} could serve it at {_hms(earliest)}, within its "
                            "shift and a window"
                        )
            return ""
        if reason == Reason.UNREACHABLE_IN_WINDOW and visit.pickup_office is None:
            for agent_pos, agent in roomy:
                if agent.breaks:
                    continue  # a break could make the direct trip late: no simple witness
                start_s = self.direct_trip_start_s(agent_pos, agent, visit, duration_s)
                if start_s is not None:
                    return (
                        f"agent {agent.id} going straight there could start service "
                        f"at {_hms(start_s)} and be back within its shift"
                    )
        return ""

    def direct_trip_start_s(
        self, agent_pos: int, agent: Agent, visit: Visit, duration_s: int
    ) -> int | None:
        """Service start of the trip start -> visit -> end leaving at shift start, if feasible.

        Windows are hard here (no lateness), so a visit reachable only late is not a witness.
        """
        problem, matrix = self.problem, self.matrix
        loc = problem.visit_index(self.visit_pos[visit.id])
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


def _has_room(agent: Agent, visit: Visit) -> bool:
    """The agent could carry this visit alone: a visit allowed and its demand within capacity."""
    if agent.max_visits is not None and agent.max_visits < 1:
        return False
    return all(amount <= agent.capacities.get(name, 0) for name, amount in visit.demand.items())


def _breaks_within(breaks: Sequence[BreakTaken], from_s: int, to_s: int) -> int:
    """Total length of the breaks lying wholly inside ``[from_s, to_s]``."""
    return sum(
        b.end_s - b.start_s
        for b in breaks
        if _is_int(b.start_s) and _is_int(b.end_s) and from_s <= b.start_s <= b.end_s <= to_s
    )


def _in_a_gap(item: BreakTaken, route: Route, stops: Sequence[Stop]) -> bool:
    """The break lies before the route, after it, on one leg's way, or in one stop's wait."""
    if item.end_s <= route.start_s or item.start_s >= route.end_s:
        return True
    gaps: list[tuple[int, int]] = []
    previous_s = route.start_s
    for stop in stops:
        gaps.append((previous_s, stop.arrival_s))  # on the way
        gaps.append((stop.arrival_s, stop.start_s))  # waiting on site
        previous_s = stop.departure_s
    gaps.append((previous_s, route.end_s))
    return any(lo <= item.start_s and item.end_s <= hi for lo, hi in gaps)
