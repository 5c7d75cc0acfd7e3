"""Which agent could serve which visit on its own, and which visits nobody can serve.

A visit that no agent can serve even as the only stop of its day is settled before the model
is built: it never enters the search (so it cannot slow it down) and it comes back unassigned
with the most specific reason, checked in this order:

1. ``no_agents``: nobody is on shift;
2. ``no_skilled_agent``: no agent has every skill the visit needs;
3. ``capacity``: every skilled agent's capacity (``max_visits`` or a named capacity) is too
   small for this visit alone;
4. ``window_outside_shifts``: no window (lateness allowance included) leaves room to serve the
   visit inside a capable agent's shift, travel aside;
5. ``unreachable_in_window``: no capable agent can leave its start at or after its shift start,
   reach the visit, start inside a window, finish and get back to its end by its shift end;
6. ``office_closed_for_pickup``: for a delivery, no agent who can reach the visit can also call
   at its office first, within the office's opening hours, and still be in time;
7. ``break_conflict``: the trip fits, but not around the breaks of any agent who could make it.

A visit pinned to an agent (``required_agent``) is judged against that agent only. Messages
name the agents considered at the step that failed.

The same single-visit test restricts which agents the model may give a visit to, which prunes
the search. It is exact when travel obeys the triangle inequality (haversine and shortest-path
matrices do); on a matrix where a detour through other visits is faster, a visit is only offered
to agents who could also serve it alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dispatch.geo.matrix import TravelMatrix, agent_travel_matrix_s
from dispatch.model import Agent, Problem, Visit, can_serve
from dispatch.plan import Reason, StopKind, Unassigned
from dispatch.solver.schedule import (
    RouteTimer,
    Step,
    VisitTimes,
    actual_travel,
    breaks_in_play,
    timer_fits,
)
from dispatch.solver.windows import earliest_start_s, sorted_windows

__all__ = [
    "Presolve",
    "agents_text",
    "earliest_start_s",
    "eligible_agents",
    "presolve",
    "presolve_unassigned",
    "sorted_windows",
]

# At most this many agent ids are listed in a message.
MAX_LISTED_AGENTS = 12


@dataclass(frozen=True, slots=True)
class Presolve:
    """The single-visit analysis of a problem.

    ``allowed[v]`` lists (ascending) the agent positions that could serve visit position ``v``
    alone; it is empty exactly for the visits in ``unassigned``. ``usable[a]`` says whether
    agent ``a`` can at least ride from its start to its end within its shift.
    """

    allowed: tuple[tuple[int, ...], ...]
    unassigned: dict[int, Unassigned]
    usable: tuple[bool, ...]

    @property
    def candidates(self) -> list[int]:
        """Visit positions worth routing, in problem order."""
        return [v for v, agents in enumerate(self.allowed) if agents]


def presolve_unassigned(problem: Problem, matrix: TravelMatrix) -> dict[int, Unassigned]:
    """Visits (by position) that no agent can serve even alone, with the reason why."""
    return presolve(problem, matrix).unassigned


def presolve(problem: Problem, matrix: TravelMatrix) -> Presolve:
    """Analyse every visit against every agent (see the module docstring for the rules)."""
    usable = tuple(_agent_usable(problem, matrix, a) for a in range(len(problem.agents)))
    trips = _Trips(problem, matrix)
    rules = _Rules(problem)
    allowed: list[tuple[int, ...]] = []
    unassigned: dict[int, Unassigned] = {}
    for v, visit in enumerate(problem.visits):
        agents, reason, considered = _visit_agents(problem, trips, rules, usable, v)
        allowed.append(agents)
        if reason is not None:
            text = _message(problem, visit, reason)
            if considered:
                text += f" Agents considered: {agents_text(problem, considered)}."
            unassigned[v] = Unassigned(visit.id, reason, text)
    return Presolve(tuple(allowed), unassigned, usable)


def agents_text(problem: Problem, agents: Sequence[int]) -> str:
    """Agent ids for a message, the first :data:`MAX_LISTED_AGENTS` of them."""
    ids = [problem.agents[a].id for a in agents[:MAX_LISTED_AGENTS]]
    more = len(agents) - len(ids)
    return ", ".join(ids) + (f" and {more} more" if more > 0 else "")


def eligible_agents(problem: Problem, visit: Visit) -> list[int]:
    """Agent positions a visit may go to at all: its pinned agent, or everyone."""
    if visit.required_agent is None:
        return list(range(len(problem.agents)))
    return [a for a, agent in enumerate(problem.agents) if agent.id == visit.required_agent]


def office_position(problem: Problem, visit: Visit) -> int | None:
    """Position of the office a delivery collects from (None for other visits or unknown)."""
    if visit.pickup_office is None:
        return None
    for pos, office in enumerate(problem.offices):
        if office.id == visit.pickup_office:
            return pos
    return None


def _agent_usable(problem: Problem, matrix: TravelMatrix, a: int) -> bool:
    agent = problem.agents[a]
    depart_s = agent.shift.start_s
    ride_s = matrix.travel_s(
        problem.start_index(a), problem.end_index(a), depart_s, agent.speed_factor
    )
    return depart_s + ride_s <= agent.shift.end_s


def _has_room(agent: Agent, visit: Visit) -> bool:
    if agent.max_visits is not None and agent.max_visits < 1:
        return False
    return all(amount <= agent.capacities.get(name, 0) for name, amount in visit.demand.items())


def _window_meets_shift(agent: Agent, visit: Visit, duration_s: int) -> bool:
    """Some service start lies in a window (or its lateness allowance) and lets the service
    end by the shift end."""
    latest_start_s = agent.shift.end_s - duration_s
    allowance_s = max(0, visit.max_late_s)
    return any(
        max(w.start_s, agent.shift.start_s) <= min(w.end_s + allowance_s, latest_start_s)
        for w in visit.windows
    )


def _breaks_matter(agent: Agent) -> bool:
    """Whether the agent's breaks change its trips at all: some fall in its shift, or one that
    must end after the shift starts delays the departure."""
    kept, depart_s = breaks_in_play(agent)
    return bool(kept) or depart_s != agent.shift.start_s


class _Trips:
    """Single-visit trips, timed once for each group of agents whose trips time alike.

    Agents with the same shift, speed factor and breaks, whose start and end have the same
    rows and columns in the travel matrix, time every trip alike (a fleet leaving one depot
    is one group: 127 vehicles of a 1000-customer Solomon file took 5.5 s to presolve one by
    one).
    """

    def __init__(self, problem: Problem, matrix: TravelMatrix) -> None:
        self.problem = problem
        self.matrix = matrix
        self.twin = _twins(problem, matrix)
        self.rests = np.array([_breaks_matter(agent) for agent in problem.agents], dtype=np.bool_)
        self.known: dict[tuple[int, int, int | None, bool], bool] = {}
        # One timer per agent and break rule: setting one up costs as much as a short trip.
        self.timers: dict[tuple[int, bool], RouteTimer] = {}
        self.times = VisitTimes(problem)
        self.at_once = _AllAgents.of(problem, matrix, self.rests)
        self.fit_at_once: dict[tuple[int, int | None, bool], npt.NDArray[np.bool_]] = {}

    def able(self, agents: Sequence[int], v: int, *, office: int | None, breaks: bool) -> list[int]:
        """Those of ``agents`` (in their order) who serve visit ``v`` alone: leave their start,
        serve it (calling at ``office`` first, if given) and are back by their shift end,
        taking their breaks or, with ``breaks`` false, none. The trips timed at once first,
        then one by one those that timing did not accept."""
        at = np.asarray(agents, dtype=np.intp)
        rest = self.rests[at] & breaks  # an agent whose breaks do not matter: the same trip
        sure = np.zeros(len(at), dtype=np.bool_)
        if self.at_once is not None:
            if rest.any():
                sure |= rest & self._fits_at_once(v, office, True)[at]
            if not rest.all():
                sure |= ~rest & self._fits_at_once(v, office, False)[at]
        return [
            a
            for a, r, ok in zip(agents, rest.tolist(), sure.tolist(), strict=True)
            if ok or self._times(a, v, office, r)
        ]

    def _fits_at_once(self, v: int, office: int | None, breaks: bool) -> npt.NDArray[np.bool_]:
        assert self.at_once is not None
        fits = self.fit_at_once.get((v, office, breaks))
        if fits is None:
            fits = self.at_once.fits(v, office, breaks)
            self.fit_at_once[(v, office, breaks)] = fits
        return fits

    def _times(self, a: int, v: int, office: int | None, breaks: bool) -> bool:
        """The exact timing of agent ``a``'s trip (shared by agents whose trips time alike)."""
        key = (self.twin[a], v, office, breaks)
        known = self.known.get(key)
        if known is None:
            steps = [Step(StopKind.VISIT, v)]
            if office is not None:
                steps.insert(0, Step(StopKind.PICKUP, office, (v,)))
            known = timer_fits(self._timer(self.twin[a], breaks), steps)
            self.known[key] = known
        return known

    def _timer(self, a: int, breaks: bool) -> RouteTimer:
        timer = self.timers.get((a, breaks))
        if timer is None:
            travel = actual_travel(self.matrix, self.problem.agents[a].speed_factor)
            timer = RouteTimer(self.problem, a, travel, ignore_breaks=not breaks, times=self.times)
            self.timers[(a, breaks)] = timer
        return timer


@dataclass(frozen=True, slots=True)
class _AllAgents:
    """Every agent's trip to one visit timed at once, in a few of the ways the exact timing
    (:func:`dispatch.solver.schedule.timer_fits`) tries: leave at the earliest departure,
    call at the office first if given, start at the earliest time a window allows (the
    lateness allowance aside) and be back by the shift end; then take the breaks in the order
    given, or, for an agent with one break, take it on the ride home or, without a call, on the
    ride out. Each is a timing the exact test accepts, so a yes is final; a no goes to the
    exact test, which also tries lateness, other orders and places of the breaks.

    Timing the trips one by one took 10-12 s of a 60-s limit on a field day the size of
    Lahore's (2601 visits, 217 agents, about 785,000 trips); with this first, 3.8 s, and 1.8 s
    against 3.5 s at 2000 visits, 0.5 s against 1.0 s at 1000 (synth.generate days), with the
    same allowed agents and reasons on eight days, field, plain and on Islamabad's roads. Only
    for travel without congestion, where a ride does not depend on the hour.
    """

    starts: npt.NDArray[np.intp]
    ends: npt.NDArray[np.intp]
    speed: npt.NDArray[np.float64]
    shift_end_s: npt.NDArray[np.int64]
    depart_s: npt.NDArray[np.int64]  # without breaks
    rest_depart_s: npt.NDArray[np.int64]  # with breaks: after one that straddles the start
    # Breaks in play (agents x most breaks), padded with breaks that are always open.
    break_start_s: npt.NDArray[np.int64]
    break_end_s: npt.NDArray[np.int64]
    break_s: npt.NDArray[np.int64]
    breaks_in_play: npt.NDArray[np.int64]  # each agent's real breaks, padding aside
    problem: Problem
    duration_s: npt.NDArray[np.int64]

    @classmethod
    def of(
        cls, problem: Problem, matrix: TravelMatrix, rests: npt.NDArray[np.bool_]
    ) -> _AllAgents | None:
        if matrix.congestion is not None or not problem.agents:
            return None
        agents = problem.agents
        played = [
            breaks_in_play(agent) if rest else ([], agent.shift.start_s)
            for agent, rest in zip(agents, rests, strict=True)
        ]
        most = max((len(kept) for kept, _ in played), default=0)
        never = (-(10**12), 10**12, 0)  # start, end, length of a padding break
        table = [
            [(b.window.start_s, b.window.end_s, b.duration_s) for b in kept]
            + [never] * (most - len(kept))
            for kept, _ in played
        ]
        cells = np.array(table, dtype=np.int64).reshape(len(agents), most, 3)
        return cls(
            starts=np.array([problem.start_index(a) for a in range(len(agents))], dtype=np.intp),
            ends=np.array([problem.end_index(a) for a in range(len(agents))], dtype=np.intp),
            speed=np.array([agent.speed_factor for agent in agents], dtype=np.float64),
            shift_end_s=np.array([agent.shift.end_s for agent in agents], dtype=np.int64),
            depart_s=np.array([agent.shift.start_s for agent in agents], dtype=np.int64),
            rest_depart_s=np.array([depart for _, depart in played], dtype=np.int64),
            break_start_s=cells[:, :, 0],
            break_end_s=cells[:, :, 1],
            break_s=cells[:, :, 2],
            breaks_in_play=np.array([len(kept) for kept, _ in played], dtype=np.int64),
            problem=problem,
            duration_s=matrix.duration_s,
        )

    def _ride_s(self, base_s: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Each agent's ride at its speed."""
        return agent_travel_matrix_s(base_s, self.speed)

    def _leave_s(
        self, visit: Visit, ready_s: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
        """Whether a window takes each agent ready at ``ready_s``, and when it leaves."""
        never = np.iinfo(np.int64).max
        start_s = np.full(ready_s.shape, never, dtype=np.int64)
        for w in sorted_windows(visit.windows):
            open_s = np.where(ready_s <= w.end_s, np.maximum(ready_s, w.start_s), start_s)
            start_s = np.minimum(start_s, open_s)
        served = start_s != never
        return served, np.where(served, start_s, 0) + self.problem.visit_duration_s(visit)

    def fits(self, v: int, office: int | None, breaks: bool) -> npt.NDArray[np.bool_]:
        """Which agents surely serve visit ``v`` alone, calling at ``office`` first if given
        (with their breaks if ``breaks``)."""
        problem = self.problem
        visit = problem.visits[v]
        home_s = self._ride_s(self.duration_s[v, self.ends])
        depart_s = self.rest_depart_s if breaks else self.depart_s
        if office is None:
            out_s = self._ride_s(self.duration_s[self.starts, v])
            called = np.ones(out_s.shape, dtype=np.bool_)
            ready_s = depart_s + out_s
        else:
            at = problem.office_index(office)
            opening, pickup_s = problem.offices[office].opening, problem.offices[office].pickup_s
            call_s = np.maximum(
                depart_s + self._ride_s(self.duration_s[self.starts, at]), opening.start_s
            )
            called = call_s + pickup_s <= opening.end_s
            ready_s = call_s + pickup_s + self._ride_s(np.full_like(home_s, self.duration_s[at, v]))
        served, leave_s = self._leave_s(visit, ready_s)
        served &= called
        cursor_s = leave_s + home_s
        ok = served & (cursor_s <= self.shift_end_s)
        if not breaks:
            return np.asarray(ok, dtype=np.bool_)
        # Every break after the return, in the order given.
        for k in range(self.break_s.shape[1]):
            start_s = np.maximum(cursor_s, self.break_start_s[:, k])
            ok &= start_s <= self.break_end_s[:, k]
            cursor_s = start_s + self.break_s[:, k]
        if self.break_s.shape[1] == 0:
            return np.asarray(ok, dtype=np.bool_)
        # One break, as schedule._ride takes it: at the earliest its window allows, on the way
        # (arriving later by its length) or while waiting on arrival; on the ride home, or on
        # the ride out where there is no call to make first.
        lone = self.breaks_in_play <= 1
        b_start, b_end, b_s = self.break_start_s[:, 0], self.break_end_s[:, 0], self.break_s[:, 0]
        if office is None:
            rest_s = np.maximum(depart_s, b_start)
            ready_s = np.maximum(ready_s, rest_s) + b_s
            served_out, leave_out_s = self._leave_s(visit, ready_s)
            back_s = leave_out_s + home_s
            ok |= lone & (rest_s <= b_end) & served_out & (back_s <= self.shift_end_s)
        rest_s = np.maximum(leave_s, b_start)
        back_s = np.maximum(leave_s + home_s, rest_s) + b_s
        ok |= lone & served & (rest_s <= b_end) & (back_s <= self.shift_end_s)
        return np.asarray(ok, dtype=np.bool_)


def _twins(problem: Problem, matrix: TravelMatrix) -> list[int]:
    """For each agent, the first agent whose trips time alike (see :class:`_Trips`)."""
    leaders: dict[tuple[object, ...], list[int]] = {}
    twin: list[int] = []
    for a, agent in enumerate(problem.agents):
        key = (agent.shift, agent.speed_factor, agent.breaks)
        ends = (problem.start_index(a), problem.end_index(a))
        for b in leaders.get(key, []):
            if all(
                matrix.same_rides(i, j)
                for i, j in zip(ends, (problem.start_index(b), problem.end_index(b)), strict=True)
            ):
                twin.append(b)
                break
        else:
            leaders.setdefault(key, []).append(a)
            twin.append(a)
    return twin


class _Rules:
    """The single-visit rules that need no timing (skills and pins, capacity, windows against
    shifts), judged once for every agent per kind of visit: bookings share a few skill sets,
    demands and slots. Judged agent by agent for each visit, with each trip's timed verdict
    asked for agent by agent too, presolve took 1.9-2.4 s on a field day the size of Lahore's
    (2601 visits, 217 agents); with these and :meth:`_Trips.able`, 1.2 s, with the same allowed
    agents, reasons and messages on nine synth.generate days (field, plain, Friday, congested,
    agents at three speeds, tight shifts, no room for any visit)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self._skilled: dict[tuple[frozenset[str], str | None], list[int]] = {}
        self._room: dict[tuple[tuple[str, int], ...], list[bool]] = {}
        self._timely: dict[tuple[tuple[tuple[int, int], ...], int, int], list[bool]] = {}

    def skilled(self, visit: Visit) -> list[int]:
        """The agents the visit may go to (its pinned one, or all) who have its skills."""
        needs = self.problem.required_skills(visit)
        key = (needs, visit.required_agent)
        agents = self._skilled.get(key)
        if agents is None:
            agents = [
                a
                for a in eligible_agents(self.problem, visit)
                if can_serve(self.problem.agents[a], needs)
            ]
            self._skilled[key] = agents
        return list(agents)

    def roomy(self, agents: Sequence[int], visit: Visit) -> list[int]:
        """Those of ``agents`` with room for the visit alone."""
        key = tuple(sorted(visit.demand.items()))
        room = self._room.get(key)
        if room is None:
            room = [_has_room(agent, visit) for agent in self.problem.agents]
            self._room[key] = room
        return [a for a in agents if room[a]]

    def timely(self, agents: Sequence[int], visit: Visit, duration_s: int) -> list[int]:
        """Those of ``agents`` whose shift leaves room to serve the visit in a window."""
        windows = tuple((w.start_s, w.end_s) for w in visit.windows)
        key = (windows, max(0, visit.max_late_s), duration_s)
        meets = self._timely.get(key)
        if meets is None:
            meets = [_window_meets_shift(agent, visit, duration_s) for agent in self.problem.agents]
            self._timely[key] = meets
        return [a for a in agents if meets[a]]


def _visit_agents(
    problem: Problem, trips: _Trips, rules: _Rules, usable: tuple[bool, ...], v: int
) -> tuple[tuple[int, ...], Reason | None, list[int]]:
    """Allowed agents, or the reason there are none and the agents considered last."""
    if not problem.agents:
        return (), Reason.NO_AGENTS, []
    visit = problem.visits[v]
    skilled = rules.skilled(visit)
    if not skilled:
        return (), Reason.NO_SKILLED_AGENT, []
    roomy = rules.roomy(skilled, visit)
    if not roomy:
        return (), Reason.CAPACITY, skilled
    timely = rules.timely(roomy, visit, problem.visit_duration_s(visit))
    if not timely:
        return (), Reason.WINDOW_OUTSIDE_SHIFTS, roomy
    able = trips.able(timely, v, office=None, breaks=False)
    if not able:
        return (), Reason.UNREACHABLE_IN_WINDOW, timely
    office = office_position(problem, visit)
    if visit.pickup_office is not None:
        if office is None:
            return (), Reason.OFFICE_CLOSED_FOR_PICKUP, able
        calling = trips.able(able, v, office=office, breaks=False)
        if not calling:
            return (), Reason.OFFICE_CLOSED_FOR_PICKUP, able
        able = calling
    resting = trips.able(able, v, office=office, breaks=True)
    if not resting:
        return (), Reason.BREAK_CONFLICT, able
    allowed = tuple(a for a in resting if usable[a])
    if not allowed:
        # Only on a matrix without the triangle inequality: the visit is on a shortcut.
        return (), Reason.CAPACITY_OR_TIME, resting
    return allowed, None, []


def _clock(t_s: int) -> str:
    day, rest = divmod(t_s, 24 * 3600)
    text = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}"
    return text if day == 0 else f"{text} (+{day}d)"


def _windows_text(visit: Visit) -> str:
    return ", ".join(
        f"{_clock(w.start_s)}-{_clock(w.end_s)}" for w in sorted_windows(visit.windows)
    )


def _who(visit: Visit) -> str:
    if visit.required_agent is not None:
        return f"not even its pinned agent {visit.required_agent}"
    return "no agent with the skills for it"


def _whose(visit: Visit) -> str:
    if visit.required_agent is not None:
        return f"its pinned agent {visit.required_agent}"
    return "any agent with the skills for it"


def _office_text(problem: Problem, visit: Visit) -> str:
    for office in problem.offices:
        if office.id == visit.pickup_office:
            hours = f"{_clock(office.opening.start_s)}-{_clock(office.opening.end_s)}"
            return f"office {office.id} (open {hours}, a {office.pickup_s // 60}-minute call)"
    return f"office {visit.pickup_office!r}, which is not in the problem"


def _message(problem: Problem, visit: Visit, reason: Reason) -> str:
    name = f"Visit {visit.id}"
    if reason is Reason.NO_AGENTS:
        return f"{name} cannot be planned: no agent is on shift."
    if reason is Reason.NO_SKILLED_AGENT:
        skills = ", ".join(sorted(problem.required_skills(visit)))
        if visit.required_agent is not None:
            return (
                f"{name} needs skills {{{skills}}}; it is pinned to agent "
                f"{visit.required_agent}, who does not have all of them."
            )
        return f"{name} needs skills {{{skills}}}; no agent has all of them."
    if reason in (Reason.CAPACITY, Reason.CAPACITY_OR_TIME):
        demand = ", ".join(f"{k}: {n}" for k, n in sorted(visit.demand.items()))
        needs = f" needs {{{demand}}};" if demand else ""
        return f"{name}{needs} {_who(visit)} has the capacity or visit allowance to take it."
    windows = _windows_text(visit)
    late = f" (or up to {visit.max_late_s // 60} min late)" if visit.max_late_s > 0 else ""
    if reason is Reason.WINDOW_OUTSIDE_SHIFTS:
        return (
            f"{name} must start within {windows}{late}, which leaves no time to serve it "
            f"inside the shift of {_whose(visit)}."
        )
    if reason is Reason.OFFICE_CLOSED_FOR_PICKUP:
        return (
            f"{name} delivers documents from {_office_text(problem, visit)}; {_who(visit)} "
            f"can call there within its opening hours and still start within {windows}{late}."
        )
    if reason is Reason.BREAK_CONFLICT:
        return (
            f"{name} must start within {windows}{late}; the agents who could get there in time "
            "cannot fit it around their breaks."
        )
    return (
        f"{name} must start within {windows}{late}; {_who(visit)} can get there in time, serve "
        "it and be back by the end of the shift."
    )
