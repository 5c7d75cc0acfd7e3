"""What every solve returns: routes of timed stops, unassigned visits with reasons, KPIs.

Times are seconds since local midnight of the plan's date, as in :mod:`dispatch.model`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Reason(StrEnum):
    """Why a visit was left unassigned (machine-readable)."""

    NO_SKILLED_AGENT = "no_skilled_agent"  # no agent has every required skill
    WINDOW_OUTSIDE_SHIFTS = "window_outside_shifts"  # no skilled agent's shift meets a window
    UNREACHABLE_IN_WINDOW = "unreachable_in_window"  # even going straight there, too late/early
    CAPACITY_OR_TIME = "capacity_or_time"  # feasible alone; the optimiser had to drop it
    NO_AGENTS = "no_agents"  # the problem has no agents at all
    CAPACITY = "capacity"  # too big for every capable agent's capacity or visit allowance
    OFFICE_CLOSED_FOR_PICKUP = "office_closed_for_pickup"  # no call at its office fits in time
    BREAK_CONFLICT = "break_conflict"  # reachable, but not around the capable agents' breaks


class StopKind(StrEnum):
    """What happens at a stop."""

    VISIT = "visit"  # a citizen's home visit; ``visit_id`` names the visit
    PICKUP = "pickup"  # a call at an office; ``visit_id`` names the office


@dataclass(frozen=True, slots=True)
class Stop:
    """One stop on a route: a home visit or a call at an office to collect documents.

    ``arrival_s`` = previous departure + ``travel_s`` + any breaks taken on the way; service
    starts at ``start_s`` (waiting if the agent is early) and the agent leaves at
    ``departure_s`` = start + time on site. ``late_s`` is how far the start lies after the
    visit's window (soft windows only). A pickup lists in ``collects`` the visits whose
    documents it collects.
    """

    visit_id: str
    arrival_s: int
    start_s: int
    departure_s: int
    travel_s: int
    distance_m: int
    kind: StopKind = StopKind.VISIT
    late_s: int = 0
    collects: tuple[str, ...] = ()

    @property
    def wait_s(self) -> int:
        return self.start_s - self.arrival_s


@dataclass(frozen=True, slots=True)
class BreakTaken:
    """A break in an agent's timeline: ``[start_s, end_s)``, between two stops."""

    name: str
    start_s: int
    end_s: int


@dataclass(frozen=True, slots=True)
class Route:
    """One agent's day: leave the start at ``start_s``, serve ``stops``, reach the end at
    ``end_s`` after ``end_travel_s`` / ``end_distance_m`` from the last stop (plus any breaks
    taken on the way), taking ``breaks`` in the gaps between stops."""

    agent_id: str
    start_s: int
    stops: tuple[Stop, ...]
    end_s: int
    end_travel_s: int
    end_distance_m: int
    breaks: tuple[BreakTaken, ...] = ()

    @property
    def travel_s(self) -> int:
        return sum(s.travel_s for s in self.stops) + self.end_travel_s

    @property
    def distance_m(self) -> int:
        return sum(s.distance_m for s in self.stops) + self.end_distance_m

    @property
    def working_s(self) -> int:
        """Time from leaving the start to reaching the end (0 for an idle agent)."""
        return self.end_s - self.start_s if self.stops else 0


@dataclass(frozen=True, slots=True)
class Unassigned:
    """A visit the plan does not serve, with a reason code and a sentence for people."""

    visit_id: str
    reason: Reason
    message: str


@dataclass(frozen=True, slots=True)
class Plan:
    """The answer to a :class:`dispatch.model.Problem`.

    ``routes`` holds one entry per agent that has stops; ``solver`` carries facts about the
    search (status, objective, wall time, seed) for reports, never needed to check the plan.
    """

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    solver: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def route_of(self, agent_id: str) -> Route | None:
        for route in self.routes:
            if route.agent_id == agent_id:
                return route
        return None

    def served_ids(self) -> list[str]:
        """Ids of the visits served, in route order (office calls excluded)."""
        return [
            stop.visit_id
            for route in self.routes
            for stop in route.stops
            if stop.kind == StopKind.VISIT
        ]
