"""The structure of the problem and plan documents, as pydantic models.

These models check shape and types only (every object forbids unknown fields, and types are
strict: ``"12"`` is not a number and ``true`` is not an integer); meaning (times, ids, skills,
ranges that depend on other fields) is checked in :mod:`dispatch.io`, which turns the
documents into domain objects. The JSON Schemas in ``docs/schema/`` are generated from these
models by :func:`dispatch.io.write_schemas`, so the published schema cannot drift from the code.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dispatch.catalog import MAX_DURATION_MIN

FORMAT_VERSION = 1

PriorityText = Literal["normal", "high", "urgent"]
ReasonText = Literal[
    "no_skilled_agent",
    "window_outside_shifts",
    "unreachable_in_window",
    "capacity_or_time",
    "no_agents",
    "capacity",
    "office_closed_for_pickup",
    "break_conflict",
]

TimeText = Annotated[
    str,
    Field(
        description=(
            "'HH:MM' or 'HH:MM:SS' on the plan's date ('24:00' ends it), or an ISO 8601 "
            "datetime, local or with an offset; may fall on the next day (at most 48 h)."
        ),
        examples=["09:00", "2026-11-30T17:30:00+05:00"],
    ),
]
DateTimeText = Annotated[
    str,
    Field(
        description="ISO 8601 local datetime with its UTC offset.",
        examples=["2026-11-30T09:15:00+05:00"],
    ),
]
Quantities = Annotated[
    dict[str, Annotated[int, Field(ge=0)]],
    Field(description="Named whole quantities, e.g. {'documents': 30}; never negative."),
]
NonNegInt = Annotated[int, Field(ge=0)]
HourlyMultipliers = Annotated[
    list[Annotated[float, Field(ge=1, allow_inf_nan=False)]], Field(min_length=24, max_length=24)
]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class LocationDoc(_Doc):
    """A WGS84 point."""

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False, description="Latitude, degrees.")
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False, description="Longitude, degrees.")


class WindowDoc(_Doc):
    """A closed interval of time; for a visit, service must start inside it."""

    start: TimeText
    end: TimeText


class TravelDoc(_Doc):
    """How travel times are obtained; omitted means haversine with the default speed."""

    provider: Literal["haversine", "road"] = "haversine"
    speed_kph: float | None = Field(
        default=None, gt=0, le=200, allow_inf_nan=False, description="Average riding speed."
    )
    detour_factor: float | None = Field(
        default=None,
        ge=1,
        le=10,
        allow_inf_nan=False,
        description="Road metres per straight-line metre (haversine only).",
    )
    osm_file: str | None = Field(
        default=None,
        description="OSM extract (.osm or .osm.bz2) for provider 'road'; a relative path is "
        "relative to the problem file.",
    )
    congestion: Literal["default"] | HourlyMultipliers | None = Field(
        default=None,
        description="24 hourly multipliers (>= 1) on free-flow time by departure hour, or "
        "'default' for the bundled Punjab profile.",
    )


class ShiftDoc(WindowDoc):
    """When the agent may leave the start and must be back at the end (at most 24 h)."""


class BreakDoc(_Doc):
    """A break the agent must take, starting inside ``window`` (lunch, prayer)."""

    name: str
    duration_min: float = Field(gt=0, le=MAX_DURATION_MIN, allow_inf_nan=False)
    window: WindowDoc


class OfficeDoc(_Doc):
    """An issuing office where finished documents wait for pickup by the delivering agent."""

    id: str
    name: str = ""
    location: LocationDoc
    opening: WindowDoc = Field(description="Opening hours; the call starts and ends inside.")
    pickup_min: float = Field(
        default=10, ge=0, le=MAX_DURATION_MIN, allow_inf_nan=False, description="Time per call."
    )


class AgentDoc(_Doc):
    """A field agent on a motorcycle for one shift."""

    id: str
    start: LocationDoc
    end: LocationDoc | None = Field(
        default=None, description="Where the shift ends; omitted means back at the start."
    )
    shift: ShiftDoc
    skills: list[str] = Field(default_factory=list)
    max_visits: NonNegInt | None = None
    speed_factor: float = Field(
        default=1.0,
        gt=0,
        le=10,
        allow_inf_nan=False,
        description="1.25 rides 25% faster than the travel matrix assumes.",
    )
    capacities: Quantities = Field(default_factory=dict)
    breaks: list[BreakDoc] = Field(default_factory=list)


class VisitDoc(_Doc):
    """A booked home visit."""

    id: str
    location: LocationDoc
    service: str = Field(description="A service code of the catalog.")
    windows: list[WindowDoc] = Field(
        min_length=1, description="Booked slots; service starts inside one of them."
    )
    priority: PriorityText = "normal"
    extra_skills: list[str] = Field(
        default_factory=list, description="Skills needed beyond the service's (e.g. 'female')."
    )
    duration_min: float | None = Field(
        default=None,
        gt=0,
        le=MAX_DURATION_MIN,
        allow_inf_nan=False,
        description="Time on site, overriding the service's; give this or duration_s.",
    )
    duration_s: int | None = Field(
        default=None, gt=0, le=MAX_DURATION_MIN * 60, description="Time on site in seconds."
    )
    required: bool = False
    demand: Quantities = Field(default_factory=dict)
    max_late_min: float = Field(
        default=0,
        ge=0,
        le=MAX_DURATION_MIN,
        allow_inf_nan=False,
        description="Service may start this long after a window closes (0: hard window).",
    )
    late_cost_per_min: NonNegInt = Field(
        default=0, description="Cost per minute late, in seconds of travel."
    )
    pickup_office: str | None = Field(
        default=None, description="Office id: a delivery whose documents are collected there."
    )
    preferred_agent: str | None = Field(
        default=None, description="Agent id honoured when it costs little."
    )
    required_agent: str | None = Field(default=None, description="Agent id: a hard pin.")


class ServiceDoc(_Doc):
    """A catalog entry overriding (same code) or extending the bundled catalog."""

    code: str
    name: str = ""
    skill: str | None = Field(default=None, description="Skill needed; null means anyone.")
    duration_min: float = Field(gt=0, le=MAX_DURATION_MIN, allow_inf_nan=False)


class ProblemDoc(_Doc):
    """One district's day of visits and agents."""

    model_config = ConfigDict(
        title="Dastak dispatch problem", json_schema_extra={"$comment": "see docs/format.md"}
    )

    format_version: Literal[1]
    name: str = ""
    date: str = Field(json_schema_extra={"format": "date"}, examples=["2026-11-30"])
    timezone: str = Field(default="Asia/Karachi", description="IANA time zone of the times.")
    travel: TravelDoc | None = None
    balance_weight: float = Field(
        default=0,
        ge=0,
        allow_inf_nan=False,
        description="Seconds of travel worth one second of working time above the average.",
    )
    agents: list[AgentDoc]
    visits: list[VisitDoc]
    offices: list[OfficeDoc] = Field(default_factory=list)
    services: list[ServiceDoc] = Field(default_factory=list)


class StopDoc(_Doc):
    """One stop on a route; ``service``, ``priority`` and ``location`` are for readers."""

    kind: Literal["visit", "pickup"] = "visit"
    visit_id: str = Field(description="The visit, or for a pickup the office.")
    arrival: DateTimeText
    start: DateTimeText
    departure: DateTimeText
    travel_s: int
    distance_m: int
    wait_s: int
    late_s: int = 0
    collects: list[str] = Field(
        default_factory=list, description="Pickup only: visits whose documents it collects."
    )
    service: str | None = None
    priority: PriorityText | None = None
    location: LocationDoc | None = None


class BreakTakenDoc(_Doc):
    """A break in the agent's timeline, ``[start, end)``."""

    name: str
    start: DateTimeText
    end: DateTimeText


class RouteDoc(_Doc):
    """One agent's day; totals are derived from the stops and must agree with them."""

    agent_id: str
    start: DateTimeText
    end: DateTimeText
    travel_s: int
    distance_m: int
    working_s: int
    stops: list[StopDoc]
    end_travel_s: int
    end_distance_m: int
    breaks: list[BreakTakenDoc] = Field(default_factory=list)


class UnassignedDoc(_Doc):
    """A visit the plan does not serve."""

    visit_id: str
    reason: ReasonText
    message: str


class PlanDoc(_Doc):
    """The routes for a problem, unassigned visits with reasons, and optional KPIs."""

    model_config = ConfigDict(
        title="Dastak dispatch plan", json_schema_extra={"$comment": "see docs/format.md"}
    )

    format_version: Literal[1]
    problem_name: str = ""
    date: str = Field(json_schema_extra={"format": "date"}, examples=["2026-11-30"])
    timezone: str = "Asia/Karachi"
    routes: list[RouteDoc]
    unassigned: list[UnassignedDoc]
    kpis: dict[str, Any] | None = None
    solver: dict[str, Any] = Field(default_factory=dict)
