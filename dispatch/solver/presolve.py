"""Which agent could serve which visit on its own, and which visits nobody can serve.

A visit that no agent can serve even as the only stop of its day is settled before the model
is built: it never enters the search (so it cannot slow it down) and it comes back unassigned
with the most specific reason, checked in this order:

1. ``no_agents``: nobody is on shift;
2. ``no_skilled_agent``: no agent has every skill the visit needs;
3. ``capacity_or_time``: every skilled agent's capacity (``max_visits`` or a named capacity) is
   too small for this visit alone;
4. ``window_outside_shifts``: no window leaves room to serve the visit inside a capable agent's
   shift, travel aside;
5. ``unreachable_in_window``: no capable agent can leave its start at or after its shift start,
   reach the visit, start inside a window, finish and get back to its end by its shift end.

A visit pinned to an agent (``required_agent``) is judged against that agent only.

The same single-visit test restricts which agents the model may give a visit to, which prunes
the search. It is exact when travel obeys the triangle inequality (haversine and shortest-path
matrices do); on a matrix where a detour through other visits is faster, a visit is only offered
to agents who could also serve it alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dispatch.geo.matrix import TravelMatrix
from dispatch.model import Agent, Problem, TimeWindow, Visit, can_serve
from dispatch.plan import Reason, Unassigned


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
    allowed: list[tuple[int, ...]] = []
    unassigned: dict[int, Unassigned] = {}
    for v, visit in enumerate(problem.visits):
        agents, reason = _visit_agents(problem, matrix, usable, v)
        allowed.append(agents)
        if reason is not None:
            unassigned[v] = Unassigned(visit.id, reason, _message(problem, visit, reason))
    return Presolve(tuple(allowed), unassigned, usable)


def sorted_windows(windows: Iterable[TimeWindow]) -> list[TimeWindow]:
    """Windows by start, overlapping or touching ones merged (service may start in any)."""
    merged: list[TimeWindow] = []
    for w in sorted(windows, key=lambda w: (w.start_s, w.end_s)):
        if merged and w.start_s <= merged[-1].end_s + 1:
            last = merged[-1]
            merged[-1] = TimeWindow(last.start_s, max(last.end_s, w.end_s))
        else:
            merged.append(w)
    return merged


def earliest_start_s(windows: Iterable[TimeWindow], arrival_s: int) -> int | None:
    """The earliest service start at or after ``arrival_s`` inside a window, if any."""
    best: int | None = None
    for w in windows:
        if arrival_s <= w.end_s:
            start = max(arrival_s, w.start_s)
            best = start if best is None else min(best, start)
    return best


def eligible_agents(problem: Problem, visit: Visit) -> list[int]:
    """Agent positions a visit may go to at all: its pinned agent, or everyone."""
    if visit.required_agent is None:
        return list(range(len(problem.agents)))
    return [a for a, agent in enumerate(problem.agents) if agent.id == visit.required_agent]


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


def _window_meets_shift(agent: Agent, windows: Iterable[TimeWindow], duration_s: int) -> bool:
    """Some service start lies in a window and lets the service end by the shift end."""
    latest_start_s = agent.shift.end_s - duration_s
    return any(max(w.start_s, agent.shift.start_s) <= min(w.end_s, latest_start_s) for w in windows)


def _serves_alone(problem: Problem, matrix: TravelMatrix, a: int, v: int, duration_s: int) -> bool:
    """Agent ``a`` leaves at its shift start, serves visit ``v`` and is back by its shift end."""
    agent = problem.agents[a]
    visit = problem.visits[v]
    node = problem.visit_index(v)
    depart_s = agent.shift.start_s
    arrival_s = depart_s + matrix.travel_s(
        problem.start_index(a), node, depart_s, agent.speed_factor
    )
    # Each window is tried: with congestion a later start may ride home faster.
    for w in visit.windows:
        start_s = max(arrival_s, w.start_s)
        if start_s > w.end_s:
            continue
        leave_s = start_s + duration_s
        ride_s = matrix.travel_s(node, problem.end_index(a), leave_s, agent.speed_factor)
        if leave_s + ride_s <= agent.shift.end_s:
            return True
    return False


def _visit_agents(
    problem: Problem, matrix: TravelMatrix, usable: tuple[bool, ...], v: int
) -> tuple[tuple[int, ...], Reason | None]:
    if not problem.agents:
        return (), Reason.NO_AGENTS
    visit = problem.visits[v]
    needs = problem.required_skills(visit)
    skilled = [a for a in eligible_agents(problem, visit) if can_serve(problem.agents[a], needs)]
    if not skilled:
        return (), Reason.NO_SKILLED_AGENT
    roomy = [a for a in skilled if _has_room(problem.agents[a], visit)]
    if not roomy:
        return (), Reason.CAPACITY_OR_TIME
    duration_s = problem.visit_duration_s(visit)
    timely = [a for a in roomy if _window_meets_shift(problem.agents[a], visit.windows, duration_s)]
    if not timely:
        return (), Reason.WINDOW_OUTSIDE_SHIFTS
    able = [a for a in timely if _serves_alone(problem, matrix, a, v, duration_s)]
    if not able:
        return (), Reason.UNREACHABLE_IN_WINDOW
    allowed = tuple(a for a in able if usable[a])
    if not allowed:
        # Only on a matrix without the triangle inequality: the visit is on a shortcut.
        return (), Reason.CAPACITY_OR_TIME
    return allowed, None


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
    if reason is Reason.CAPACITY_OR_TIME:
        demand = ", ".join(f"{k}: {n}" for k, n in sorted(visit.demand.items()))
        needs = f" needs {{{demand}}};" if demand else ""
        return f"{name}{needs} {_who(visit)} has the capacity or visit allowance to take it."
    windows = _windows_text(visit)
    if reason is Reason.WINDOW_OUTSIDE_SHIFTS:
        return (
            f"{name} must start within {windows}, which leaves no time to serve it inside the "
            f"shift of {_whose(visit)}."
        )
    return (
        f"{name} must start within {windows}; {_who(visit)} can get there in time, serve it "
        "and be back by the end of the shift."
    )
