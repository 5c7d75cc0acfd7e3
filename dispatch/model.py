"""Domain objects of a dispatch day: agents, visits, services and the problem that binds them.

Everything here is frozen. Times are whole seconds since local midnight of the plan's date
(``*_s``), so the solver and the checker work in integers and never touch time zones; the
``io`` layer converts to and from ISO 8601 at the edge. Locations are WGS84 degrees.

Location indices (shared by every travel matrix): visits ``0 .. V-1`` in problem order, then
agent starts ``V .. V+A-1``, then agent ends ``V+A .. V+2A-1``, then offices
``V+2A .. V+2A+O-1``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

DAY_S = 24 * 3600
DEFAULT_TIMEZONE = "Asia/Karachi"


class Priority(StrEnum):
    """How much a visit matters when not every visit can be served."""

    NORMAL = "normal"
    HIGH = "high"  # senior citizens, people with disabilities
    URGENT = "urgent"


PRIORITY_ORDER: tuple[Priority, ...] = (Priority.NORMAL, Priority.HIGH, Priority.URGENT)


@dataclass(frozen=True, slots=True)
class Location:
    """A point in WGS84 degrees."""

    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A closed interval ``[start_s, end_s]`` in seconds since local midnight."""

    start_s: int
    end_s: int

    def contains(self, t_s: int) -> bool:
        return self.start_s <= t_s <= self.end_s


def _frozen_map(values: Mapping[str, int] | None) -> Mapping[str, int]:
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True, slots=True)
class Service:
    """One service of the catalog: the skill it needs and its default time on site."""

    code: str
    name: str
    skill: str | None
    duration_s: int


@dataclass(frozen=True, slots=True)
class Break:
    """A break an agent must take: ``duration_s`` long, starting inside ``window``.

    The agent takes it wherever it is between two stops (lunch, prayer; a longer Friday
    prayer); it is never split and never interrupts service.
    """

    name: str
    duration_s: int
    window: TimeWindow


# Breaks up to which :func:`clashing_breaks` checks that they can all be taken (2^n subsets);
# a real shift has two or three.
MAX_BREAKS_CHECKED = 12


def clashing_breaks(breaks: Sequence[Break]) -> tuple[Break, ...]:
    """The breaks, if no order lets each start in its window after the one before ends.

    Breaks never overlap (each is whole and the agent takes one at a time), so a set whose
    windows force an overlap has no valid plan at all. Earliest finish over every subset
    decides it exactly: a subset that can end sooner leaves at least as much room for the rest.
    Only well-formed breaks count (malformed ones are reported on their own), and more than
    :data:`MAX_BREAKS_CHECKED` breaks are not judged.
    """
    formed = [b for b in breaks if b.duration_s > 0 and b.window.start_s <= b.window.end_s]
    if len(formed) < 2 or len(formed) > MAX_BREAKS_CHECKED:
        return ()
    finish: dict[int, int] = {0: -(2**62)}
    for mask in range(1 << len(formed)):
        done_s = finish.get(mask)
        if done_s is None:
            continue
        for k, rest in enumerate(formed):
            if mask & (1 << k):
                continue
            start_s = max(done_s, rest.window.start_s)
            if start_s > rest.window.end_s:
                continue
            bigger = mask | (1 << k)
            end_s = start_s + rest.duration_s
            if end_s < finish.get(bigger, 2**62):
                finish[bigger] = end_s
    return () if (1 << len(formed)) - 1 in finish else tuple(formed)


def clash_message(clash: Sequence[Break]) -> str:
    """The input issue for breaks :func:`clashing_breaks` found, naming each."""
    listed = ", ".join(repr(b.name) for b in clash)
    return (
        f"breaks {listed} cannot all be taken: whatever the order, one would have to start "
        "after its window closes or overlap another"
    )


@dataclass(frozen=True, slots=True)
class Office:
    """An issuing office (NADRA centre, licensing office, ...) where finished documents wait.

    A delivery visit names its office; the agent who delivers must call there earlier on the
    same route, starting and finishing the call within ``opening`` hours. One call of
    ``pickup_s`` collects every document the route delivers from that office.
    """

    id: str
    name: str
    location: Location
    opening: TimeWindow
    pickup_s: int = 600


@dataclass(frozen=True, slots=True)
class Agent:
    """A field agent on a motorcycle for one shift.

    ``speed_factor`` scales speed: 1.25 rides 25% faster, so travel takes ``1/1.25`` as long
    (see :func:`agent_travel_s`). ``capacities`` bound named quantities (documents carried,
    cash held) that visits consume through their ``demand``.
    """

    id: str
    start: Location
    shift: TimeWindow
    skills: frozenset[str] = frozenset()
    end: Location | None = None
    max_visits: int | None = None
    speed_factor: float = 1.0
    capacities: Mapping[str, int] = field(default_factory=lambda: _frozen_map(None))
    breaks: tuple[Break, ...] = ()

    @property
    def end_location(self) -> Location:
        return self.start if self.end is None else self.end


@dataclass(frozen=True, slots=True)
class Visit:
    """A booked home visit.

    ``windows`` are the booked slots: service must *start* inside one of them, or up to
    ``max_late_s`` after a window closes at ``late_cost_per_min`` per minute late (soft window;
    0 keeps it hard). ``required`` visits are never dropped for cost; they are left unassigned
    only when no agent can serve them at all. ``duration_s`` overrides the service's default
    time on site. ``pickup_office`` makes this a delivery whose documents are collected at that
    office first. ``preferred_agent`` is honoured when it costs little (continuity: the agent
    who took the application delivers the document); ``required_agent`` is a hard pin.
    """

    id: str
    location: Location
    service: str
    windows: tuple[TimeWindow, ...]
    priority: Priority = Priority.NORMAL
    extra_skills: frozenset[str] = frozenset()
    duration_s: int | None = None
    required: bool = False
    demand: Mapping[str, int] = field(default_factory=lambda: _frozen_map(None))
    max_late_s: int = 0
    late_cost_per_min: int = 0
    pickup_office: str | None = None
    preferred_agent: str | None = None
    required_agent: str | None = None

    def latest_start_s(self) -> int:
        """Latest acceptable service start, lateness included."""
        return max(w.end_s for w in self.windows) + self.max_late_s


@dataclass(frozen=True, slots=True)
class Problem:
    """One district's day: who is on shift, what is booked, and the catalog they refer to.

    ``balance_weight`` trades travel for fairness: each second by which an agent's working
    time exceeds the day's average costs as much as ``balance_weight`` seconds of travel
    (0, the default, ignores balance).
    """

    date: dt.date
    agents: tuple[Agent, ...]
    visits: tuple[Visit, ...]
    services: tuple[Service, ...]
    name: str = ""
    timezone: str = DEFAULT_TIMEZONE
    offices: tuple[Office, ...] = ()
    balance_weight: float = 0.0

    def service(self, code: str) -> Service:
        for service in self.services:
            if service.code == code:
                return service
        raise KeyError(code)

    def visit_duration_s(self, visit: Visit) -> int:
        """Time on site: the visit's override, else its service's default."""
        if visit.duration_s is not None:
            return visit.duration_s
        return self.service(visit.service).duration_s

    def required_skills(self, visit: Visit) -> frozenset[str]:
        """The service's skill plus the visit's extras (e.g. ``female``)."""
        skill = self.service(visit.service).skill
        base = frozenset() if skill is None else frozenset({skill})
        return base | visit.extra_skills

    def locations(self) -> list[Location]:
        """All locations in matrix order: visits, agent starts, agent ends, offices."""
        return (
            [v.location for v in self.visits]
            + [a.start for a in self.agents]
            + [a.end_location for a in self.agents]
            + [o.location for o in self.offices]
        )

    def visit_index(self, visit_pos: int) -> int:
        return visit_pos

    def start_index(self, agent_pos: int) -> int:
        return len(self.visits) + agent_pos

    def end_index(self, agent_pos: int) -> int:
        return len(self.visits) + len(self.agents) + agent_pos

    def office_index(self, office_pos: int) -> int:
        return len(self.visits) + 2 * len(self.agents) + office_pos


def can_serve(agent: Agent, required_skills: frozenset[str]) -> bool:
    """An agent may serve a visit iff the visit's required skills are a subset of the agent's."""
    return required_skills <= agent.skills


def agent_travel_s(base_travel_s: int, speed_factor: float) -> int:
    """Travel time for an agent whose speed is ``speed_factor`` times the matrix's speed.

    Rounded up so that a plan built on these times is never optimistic.
    """
    if speed_factor == 1.0:
        return base_travel_s
    return math.ceil(base_travel_s / speed_factor - 1e-9)
