"""Tiny hand-made problems for tests: build agents, visits and matrices in one line each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from dispatch.geo.matrix import TravelMatrix
from dispatch.model import Agent, Location, Priority, Problem, Service, TimeWindow, Visit

DATE = dt.date(2026, 11, 30)
ORIGIN = Location(31.5204, 74.3587)  # Lahore

SERVICES: tuple[Service, ...] = (
    Service("cnic_renewal", "CNIC renewal", "nadra_biometric", 20 * 60),
    Service("driving_licence_renewal", "Driving licence renewal", "licensing", 15 * 60),
    Service("birth_certificate", "Birth certificate", "civil_registration", 10 * 60),
    Service("document_delivery", "Delivery", None, 5 * 60),
)


def hm(text: str) -> int:
    """'09:30' -> seconds since midnight."""
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def window(start: str, end: str) -> TimeWindow:
    return TimeWindow(hm(start), hm(end))


def agent(
    agent_id: str,
    skills: Sequence[str] = ("nadra_biometric", "licensing", "civil_registration"),
    shift: tuple[str, str] = ("08:00", "18:00"),
    **kwargs: object,
) -> Agent:
    return Agent(
        id=agent_id,
        start=kwargs.pop("start", ORIGIN),  # type: ignore[arg-type]
        shift=window(*shift),
        skills=frozenset(skills),
        **kwargs,  # type: ignore[arg-type]
    )


def visit(
    visit_id: str,
    windows: Sequence[tuple[str, str]] = (("08:00", "18:00"),),
    service: str = "document_delivery",
    priority: Priority = Priority.NORMAL,
    **kwargs: object,
) -> Visit:
    return Visit(
        id=visit_id,
        location=kwargs.pop("location", ORIGIN),  # type: ignore[arg-type]
        service=service,
        windows=tuple(window(*w) for w in windows),
        priority=priority,
        **kwargs,  # type: ignore[arg-type]
    )


def problem(agents: Sequence[Agent], visits: Sequence[Visit], name: str = "tiny") -> Problem:
    return Problem(DATE, tuple(agents), tuple(visits), SERVICES, name=name)


def matrix(durations_s: Sequence[Sequence[int]], metres_per_s: int = 10) -> TravelMatrix:
    """A matrix from explicit seconds; distances are seconds x ``metres_per_s``."""
    duration = np.array(durations_s, dtype=np.int64)
    return TravelMatrix(duration, duration * metres_per_s)


def line_matrix(positions_s: Sequence[int]) -> TravelMatrix:
    """Locations on a line: travel time is the difference of their positions (seconds)."""
    pos = np.array(positions_s, dtype=np.int64)
    duration = np.abs(pos[:, None] - pos[None, :])
    return TravelMatrix(duration, duration * 10)
