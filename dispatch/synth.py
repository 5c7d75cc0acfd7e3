"""Seeded synthetic districts: a realistic Dastak day of bookings and agents.

Tests, the demo and the benchmarks need many problems that look like real days without
shipping citizens' data. :func:`generate` builds one from a seed: visits cluster around towns
of different sizes with a thin rural spread, booked into the 2-hour slots the Dastak app
offers, with a service mix where CNIC and certificates dominate. Agents carry 2-4 skills each
so that skill matching matters. Where homes are placed is pluggable through :class:`Area`, so a
real district polygon can replace the default Lahore-like box.

By default a day also carries the field realities the engine must honour (each can be switched
off, or all at once with ``features=False``):

- every agent takes a 30-minute lunch/prayer break starting 13:00-14:00 (on a Friday a
  60-minute Friday-prayer break starting 12:45-13:30); the shift is eight working hours plus
  the break (09:00-17:30), and the break is fitted inside it;
- about a fifth of the visits are document deliveries, each collected first at one of two or
  three issuing offices near town centres (NADRA centre, DLIMS licensing office, excise office);
- about 5% of visits name a preferred agent (the one who took the application, one of the
  nearest who can serve it) and about 1% a required agent;
- about 10% of visits accept being up to 30 minutes late, at a cost.

Each reality draws from its own random stream, so switching one off leaves the rest of the day
as it was; with every reality off the day is exactly the plain generator's.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import numpy.typing as npt

from dispatch.catalog import load_catalog
from dispatch.model import (
    Agent,
    Break,
    Location,
    Office,
    Priority,
    Problem,
    Service,
    TimeWindow,
    Visit,
    can_serve,
)

HOUR_S = 3600
DEFAULT_DATE = dt.date(2026, 11, 30)  # a Monday; fixed so that a seed alone fixes the problem

# The booking slots of a Dastak day: service must start inside the booked slot.
SLOTS: tuple[TimeWindow, ...] = tuple(
    TimeWindow(h * HOUR_S, (h + 2) * HOUR_S) for h in (9, 11, 13, 15)
)
SLOT_WEIGHTS: tuple[float, ...] = (0.26, 0.26, 0.25, 0.23)  # mornings book a little more
TWO_SLOT_SHARE = 0.12  # visits that accept either of two slots

PRIORITY_WEIGHTS: dict[Priority, float] = {
    Priority.NORMAL: 0.85,
    Priority.HIGH: 0.12,
    Priority.URGENT: 0.03,
}
FEMALE_SKILL = "female"
FEMALE_VISIT_SHARE = 0.05
FEMALE_AGENT_SHARE = 0.15
NADRA_SKILL = "nadra_biometric"
NADRA_AGENT_SHARE = 0.5
RURAL_VISIT_SHARE = 0.1
CENTRE_START_SHARE = 0.3  # agents who start the day at a facilitation centre

# Relative booking frequency per service code (about 100 in all; deliveries about 15%).
# Biometric (NADRA) services are about a quarter of bookings but a third of the time on site,
# and only half the agents carry a kit: more would make the kit holders the bottleneck.
# Services missing here (a catalog edited by operations) get DEFAULT_SERVICE_WEIGHT.
SERVICE_WEIGHTS: dict[str, float] = {
    "cnic_renewal": 17.0,
    "cnic_new": 3.0,
    "cnic_address_change": 3.0,
    "child_registration": 4.0,
    "driving_licence_renewal": 9.0,
    "driving_licence_issuance": 3.0,
    "international_driving_permit": 1.0,
    "domicile_certificate": 7.0,
    "property_registration": 0.7,
    "property_mutation": 1.3,
    "fard_issuance": 3.0,
    "vehicle_registration": 2.0,
    "vehicle_transfer": 2.0,
    "token_tax": 3.0,
    "birth_certificate": 9.0,
    "death_certificate": 2.0,
    "marriage_certificate": 3.0,
    "character_certificate": 6.0,
    "tenant_registration": 4.0,
    "document_delivery": 15.0,
}
DEFAULT_SERVICE_WEIGHT = 1.0

# Shift start hours (8-hour shifts) and how often each occurs.
SHIFT_STARTS_H: tuple[int, ...] = (9, 8, 10)
SHIFT_WEIGHTS: tuple[float, ...] = (0.8, 0.1, 0.1)
SHIFT_LENGTH_S = 8 * HOUR_S

# --- field realities -------------------------------------------------------------------------
FRIDAY = 4  # dt.date.weekday()
# Zuhr prayer and lunch: half an hour starting 13:00-14:00.
LUNCH_BREAK = Break("lunch", 30 * 60, TimeWindow(13 * HOUR_S, 14 * HOUR_S))
# Jumu'ah on a Friday: a full hour starting 12:45-13:30 (sermon, prayer, the ride to a mosque).
FRIDAY_BREAK = Break(
    "friday_prayer", 60 * 60, TimeWindow(12 * HOUR_S + 45 * 60, 13 * HOUR_S + 1800)
)

DELIVERY_SERVICE = "document_delivery"
# With issuing offices, deliveries are about a fifth of all bookings (the other weights sum to
# about 83): documents applied for at the doorstep come back to the doorstep.
DELIVERY_WEIGHT_WITH_OFFICES = 21.0


@dataclass(frozen=True, slots=True)
class OfficeKind:
    """A kind of issuing office and the documents it issues.

    A delivery's document comes from the office whose ``skill`` its original application
    needed (a CNIC from NADRA, a licence from DLIMS, a registration book from Excise), so
    deliveries are split between offices in proportion to those services' bookings.
    """

    prefix: str
    name: str
    skill: str
    opening: TimeWindow
    pickup_s: int = 10 * 60


# In order of presence: every district has the first two, larger ones the third.
OFFICE_KINDS: tuple[OfficeKind, ...] = (
    OfficeKind(
        "NRC", "NADRA registration centre", "nadra_biometric", TimeWindow(9 * HOUR_S, 16 * HOUR_S)
    ),
    OfficeKind(
        "DLIMS", "DLIMS driving licence office", "licensing", TimeWindow(9 * HOUR_S, 16 * HOUR_S)
    ),
    OfficeKind("ETO", "Excise and taxation office", "excise", TimeWindow(9 * HOUR_S, 16 * HOUR_S)),
)
THIRD_OFFICE_MIN_TOWNS = 3  # an area with fewer towns has no excise office of its own
OFFICE_OFFSET_KM = 0.4  # offices sit near, not on, a town centre

PREFERRED_AGENT_SHARE = 0.05
REQUIRED_AGENT_SHARE = 0.01
NEAREST_AGENTS = 3  # the applicant's agent is one of the nearest few who can serve the visit

SOFT_WINDOW_SHARE = 0.10
MAX_LATE_S = 30 * 60
LATE_COST_PER_MIN = 120  # a minute late costs as much as two minutes of riding

# Independent random streams, one per reality: switching one off leaves the others unchanged.
_STREAM_OFFICES, _STREAM_AGENTS, _STREAM_SOFT = 1, 2, 3


class Area(Protocol):
    """Where a district's people live: weighted town centres plus a rural spread.

    ``town_centres`` gives ``(centre, weight, radius_km)``: a town receives visits in
    proportion to ``weight``, spread around its centre with a Gaussian of ``radius_km``.
    """

    def town_centres(self) -> list[tuple[Location, float, float]]: ...

    def sample_rural(self, rng: np.random.Generator, n: int) -> list[Location]: ...


@dataclass(frozen=True, slots=True)
class BoxArea:
    """Towns inside a lat/lon box; rural homes uniform over the box."""

    towns: tuple[tuple[Location, float, float], ...]
    south: float
    west: float
    north: float
    east: float

    def town_centres(self) -> list[tuple[Location, float, float]]:
        return list(self.towns)

    def sample_rural(self, rng: np.random.Generator, n: int) -> list[Location]:
        lat = rng.uniform(self.south, self.north, n)
        lon = rng.uniform(self.west, self.east, n)
        return [Location(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]


# A Lahore-like district: a dense old city, large planned suburbs, smaller outlying towns.
# Spreads of 1-1.5 km keep a 300-visit, 20-agent day comfortably feasible: with 20-30 min on
# site, 15 visits leave an agent about 10 minutes of riding per leg.
LAHORE_LIKE = BoxArea(
    towns=(
        (Location(31.5820, 74.3160), 3.0, 1.0),  # walled city
        (Location(31.5150, 74.3450), 2.5, 1.5),  # Gulberg
        (Location(31.4700, 74.2750), 2.0, 1.5),  # Johar Town
        (Location(31.4850, 74.3300), 1.5, 1.2),  # Model Town
        (Location(31.5900, 74.3900), 1.2, 1.2),  # Shalimar
        (Location(31.6200, 74.2850), 0.8, 1.0),  # Shahdara
        (Location(31.5250, 74.4300), 0.6, 0.8),  # outlying eastern town
    ),
    south=31.45,
    west=74.20,
    north=31.65,
    east=74.50,
)


def _clip_to_box(area: Area, loc: Location) -> Location:
    """Keep Gaussian samples inside the area: a box clamps them; an area with a
    ``keep_inside(location)`` method (a district polygon, a road network) places them itself;
    other areas are trusted as they are."""
    if isinstance(area, BoxArea):
        return Location(
            min(max(loc.lat, area.south), area.north), min(max(loc.lon, area.west), area.east)
        )
    keep_inside = getattr(area, "keep_inside", None)
    if callable(keep_inside):
        placed: Location = keep_inside(loc)
        return placed
    return loc


def sample_homes(
    area: Area, rng: np.random.Generator, n: int, rural_share: float = RURAL_VISIT_SHARE
) -> list[Location]:
    """``n`` home locations: most around town centres, ``rural_share`` spread over the area."""
    towns = area.town_centres()
    if not towns:
        return _rounded(area.sample_rural(rng, n))
    is_rural = rng.random(n) < rural_share
    n_rural = int(is_rural.sum())
    rural = iter(area.sample_rural(rng, n_rural))
    weights = np.array([w for _, w, _ in towns], dtype=np.float64)
    town_of = rng.choice(len(towns), size=n, p=weights / weights.sum())
    offsets_km = rng.normal(0.0, 1.0, size=(n, 2))
    homes: list[Location] = []
    for i in range(n):
        if is_rural[i]:
            homes.append(next(rural))
            continue
        centre, _, radius_km = towns[int(town_of[i])]
        dlat = offsets_km[i, 0] * radius_km / 111.0
        dlon = offsets_km[i, 1] * radius_km / (111.0 * math.cos(math.radians(centre.lat)))
        homes.append(_clip_to_box(area, Location(centre.lat + dlat, centre.lon + dlon)))
    return _rounded(homes)


def _rounded(locations: Sequence[Location]) -> list[Location]:
    """Six decimals (about 0.1 m) keep files short and round-trips exact."""
    return [Location(round(float(p.lat), 6), round(float(p.lon), 6)) for p in locations]


def _skill_demand(services: Sequence[Service]) -> dict[str, float]:
    """Booking weight per skill: how much of the day each skill is needed for."""
    demand: dict[str, float] = {}
    for s in services:
        if s.skill is not None:
            weight = SERVICE_WEIGHTS.get(s.code, DEFAULT_SERVICE_WEIGHT)
            demand[s.skill] = demand.get(s.skill, 0.0) + weight
    return demand


def _agent_skills(
    rng: np.random.Generator, n_agents: int, services: Sequence[Service], female: set[int]
) -> list[set[str]]:
    """2-4 skills per agent; biometric kits on about half; every skill held by someone.

    The few female agents are the only ones who can take visits asking for a woman, so they
    carry four skills, biometric kit included, or those visits would go unserved.
    """
    demand = _skill_demand(services)
    skills = sorted(demand)
    others = [s for s in skills if s != NADRA_SKILL]
    other_w = np.array([demand[s] for s in others], dtype=np.float64)
    n_nadra = round(n_agents * NADRA_AGENT_SHARE) if NADRA_SKILL in demand else 0
    shuffled = [int(i) for i in rng.permutation(n_agents)]
    order = sorted(shuffled, key=lambda i: i not in female)  # women first, else shuffled
    has_nadra = np.zeros(n_agents, dtype=bool)
    has_nadra[order[:n_nadra]] = True
    result: list[set[str]] = []
    for i in range(n_agents):
        count = 4 if i in female else int(rng.integers(2, 5))
        held = {NADRA_SKILL} if has_nadra[i] else set()
        k = min(count - len(held), len(others))
        if k > 0:
            picks = rng.choice(len(others), size=k, replace=False, p=other_w / other_w.sum())
            held.update(others[int(j)] for j in picks)
        result.append(held)
    # Give every skill to someone: the least-skilled agent takes each missing one.
    for skill in skills:
        if n_agents and not any(skill in held for held in result):
            light = min(range(n_agents), key=lambda i: (len(result[i]), i))
            if len(result[light]) >= 4:
                dropped = sorted(result[light] - {NADRA_SKILL})[-1]
                result[light].discard(dropped)
            result[light].add(skill)
    return result


def _agents(
    rng: np.random.Generator,
    n_agents: int,
    area: Area,
    services: Sequence[Service],
    max_visits: int | None,
) -> list[Agent]:
    n_female = round(n_agents * FEMALE_AGENT_SHARE)
    if n_agents >= 4:
        n_female = max(n_female, 1)
    female = set(int(i) for i in rng.permutation(n_agents)[:n_female])
    skill_sets = _agent_skills(rng, n_agents, services, female)
    homes = sample_homes(area, rng, n_agents)
    centres = [c for c, _, _ in area.town_centres()]
    width = max(2, len(str(n_agents)))
    agents: list[Agent] = []
    for i in range(n_agents):
        start = homes[i]
        if centres and rng.random() < CENTRE_START_SHARE:
            start = _rounded([centres[int(rng.integers(len(centres)))]])[0]
        start_h = SHIFT_STARTS_H[int(rng.choice(len(SHIFT_STARTS_H), p=SHIFT_WEIGHTS))]
        held = skill_sets[i] | ({FEMALE_SKILL} if i in female else set())
        agents.append(
            Agent(
                id=f"A{i + 1:0{width}d}",
                start=start,
                shift=TimeWindow(start_h * HOUR_S, start_h * HOUR_S + SHIFT_LENGTH_S),
                skills=frozenset(held),
                max_visits=max_visits,
            )
        )
    return agents


def _servable(services: Sequence[Service], agents: Sequence[Agent]) -> list[Service]:
    """Services some agent can do: a district only offers bookings it can staff."""
    return [s for s in services if s.skill is None or any(s.skill in a.skills for a in agents)]


def _service_probabilities(
    services: Sequence[Service], weights: Mapping[str, float]
) -> npt.NDArray[np.float64]:
    values = np.array(
        [weights.get(s.code, DEFAULT_SERVICE_WEIGHT) for s in services], dtype=np.float64
    )
    return np.asarray(values / values.sum(), dtype=np.float64)


def _windows(rng: np.random.Generator) -> tuple[TimeWindow, ...]:
    first = int(rng.choice(len(SLOTS), p=SLOT_WEIGHTS))
    if rng.random() >= TWO_SLOT_SHARE:
        return (SLOTS[first],)
    second = int(rng.choice([i for i in range(len(SLOTS)) if i != first]))
    return tuple(SLOTS[i] for i in sorted((first, second)))


def _visits(
    rng: np.random.Generator,
    n_visits: int,
    area: Area,
    services: Sequence[Service],
    agents: Sequence[Agent],
    weights: Mapping[str, float],
) -> list[Visit]:
    offered = _servable(services, agents) if agents else list(services)
    p_all = _service_probabilities(offered, weights)
    female_agents = [a for a in agents if FEMALE_SKILL in a.skills]
    for_women = _servable(offered, female_agents)
    p_women = _service_probabilities(for_women, weights) if for_women else p_all
    homes = sample_homes(area, rng, n_visits)
    priorities = list(PRIORITY_WEIGHTS)
    p_priority = np.array([PRIORITY_WEIGHTS[p] for p in priorities], dtype=np.float64)
    width = max(3, len(str(n_visits)))
    visits: list[Visit] = []
    for i in range(n_visits):
        wants_female = bool(for_women) and rng.random() < FEMALE_VISIT_SHARE
        pool, p = (for_women, p_women) if wants_female else (offered, p_all)
        service = pool[int(rng.choice(len(pool), p=p))]
        visits.append(
            Visit(
                id=f"V{i + 1:0{width}d}",
                location=homes[i],
                service=service.code,
                windows=_windows(rng),
                priority=priorities[int(rng.choice(len(priorities), p=p_priority))],
                extra_skills=frozenset({FEMALE_SKILL}) if wants_female else frozenset(),
            )
        )
    return visits


# --- field realities -------------------------------------------------------------------------


def agent_breaks(shift: TimeWindow, date: dt.date) -> tuple[Break, ...]:
    """The break an agent owes on ``date``, its window narrowed to fit inside ``shift``.

    The break may start no earlier than the shift and must end by the shift's end, so a shift
    ending at 14:00 starts its half-hour lunch by 13:30. A shift that cannot hold the break at
    all (a morning half-day) owes none.
    """
    spec = FRIDAY_BREAK if date.weekday() == FRIDAY else LUNCH_BREAK
    start_s = max(spec.window.start_s, shift.start_s)
    end_s = min(spec.window.end_s, shift.end_s - spec.duration_s)
    if end_s < start_s:
        return ()
    return (replace(spec, window=TimeWindow(start_s, end_s)),)


def _with_breaks(agents: Sequence[Agent], date: dt.date) -> list[Agent]:
    """Each agent's break, the shift lengthened by it: eight working hours plus the break."""
    spec = FRIDAY_BREAK if date.weekday() == FRIDAY else LUNCH_BREAK
    out = []
    for a in agents:
        shift = TimeWindow(a.shift.start_s, a.shift.end_s + spec.duration_s)
        out.append(replace(a, shift=shift, breaks=agent_breaks(shift, date)))
    return out


def _office_kind_weights(
    kinds: Sequence[OfficeKind], services: Sequence[Service]
) -> npt.NDArray[np.float64]:
    """Share of deliveries per office: bookings of the services each office issues for."""
    weights = np.array(
        [
            sum(
                SERVICE_WEIGHTS.get(s.code, DEFAULT_SERVICE_WEIGHT)
                for s in services
                if s.skill == kind.skill
            )
            for kind in kinds
        ],
        dtype=np.float64,
    )
    if weights.sum() <= 0:
        weights = np.ones(len(kinds), dtype=np.float64)
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def make_offices(area: Area, rng: np.random.Generator) -> list[Office]:
    """Two or three issuing offices near the largest town centres, one of each kind.

    The NADRA centre sits in the largest town, the licensing office in the next and the excise
    office (only where the area has :data:`THIRD_OFFICE_MIN_TOWNS` towns or more) in the third;
    an area without towns gets them at rural spots.
    """
    towns = sorted(area.town_centres(), key=lambda t: -t[1])
    n_offices = len(OFFICE_KINDS) if len(towns) >= THIRD_OFFICE_MIN_TOWNS else 2
    offices: list[Office] = []
    for k, kind in enumerate(OFFICE_KINDS[:n_offices]):
        if towns:
            centre = towns[k % len(towns)][0]
            dlat, dlon = rng.normal(0.0, OFFICE_OFFSET_KM, size=2)
            place = Location(
                centre.lat + dlat / 111.0,
                centre.lon + dlon / (111.0 * math.cos(math.radians(centre.lat))),
            )
            location = _rounded([_clip_to_box(area, place)])[0]
        else:
            location = _rounded(area.sample_rural(rng, 1))[0]
        offices.append(
            Office(
                id=f"{kind.prefix}-1",
                name=kind.name,
                location=location,
                opening=kind.opening,
                pickup_s=kind.pickup_s,
            )
        )
    return offices


def _assign_offices(
    visits: Sequence[Visit],
    offices: Sequence[Office],
    services: Sequence[Service],
    rng: np.random.Generator,
) -> list[Visit]:
    """Every delivery names the office that issues its document."""
    kinds = OFFICE_KINDS[: len(offices)]  # make_offices keeps the order of OFFICE_KINDS
    p_kind = _office_kind_weights(kinds, services)
    out: list[Visit] = []
    for visit in visits:
        k = int(rng.choice(len(kinds), p=p_kind))  # drawn for every visit: stable streams
        if visit.service == DELIVERY_SERVICE:
            visit = replace(visit, pickup_office=offices[k].id)
        out.append(visit)
    return out


def _km(a: Location, b: Location) -> float:
    dy = a.lat - b.lat
    dx = (a.lon - b.lon) * math.cos(math.radians((a.lat + b.lat) / 2))
    return math.hypot(dx, dy) * 111.0


def _could_serve(problem: Problem, agent: Agent, visit: Visit) -> bool:
    """Skills match and some window opens early enough in the shift to finish the visit."""
    if not can_serve(agent, problem.required_skills(visit)):
        return False
    duration_s = problem.visit_duration_s(visit)
    for w in visit.windows:
        earliest_s = max(w.start_s, agent.shift.start_s)
        if earliest_s <= w.end_s and earliest_s + duration_s <= agent.shift.end_s:
            return True
    return False


def _name_agents(problem: Problem, rng: np.random.Generator) -> list[Visit]:
    """Some visits name the agent who took the application: preferred, or rarely required.

    The named agent can serve the visit (skills, shift meets a window) and is one of the
    :data:`NEAREST_AGENTS` nearest such agents to the home, as the applicant's own agent works
    the neighbourhood.
    """
    out: list[Visit] = []
    for visit in problem.visits:
        draw, pick = float(rng.random()), float(rng.random())  # both drawn for every visit
        if draw >= PREFERRED_AGENT_SHARE + REQUIRED_AGENT_SHARE:
            out.append(visit)
            continue
        able = [a for a in problem.agents if _could_serve(problem, a, visit)]
        if not able:
            out.append(visit)
            continue
        near = sorted(able, key=lambda a: (_km(a.start, visit.location), a.id))[:NEAREST_AGENTS]
        chosen = near[min(int(pick * len(near)), len(near) - 1)].id
        if draw < REQUIRED_AGENT_SHARE:
            out.append(replace(visit, required_agent=chosen))
        else:
            out.append(replace(visit, preferred_agent=chosen))
    return out


def _soften(visits: Sequence[Visit], rng: np.random.Generator) -> list[Visit]:
    """A few households accept a late arrival, at a cost per minute."""
    flexible = rng.random(len(visits)) < SOFT_WINDOW_SHARE
    return [
        replace(v, max_late_s=MAX_LATE_S, late_cost_per_min=LATE_COST_PER_MIN) if soft else v
        for v, soft in zip(visits, flexible, strict=True)
    ]


def _stream(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def generate(
    n_visits: int,
    n_agents: int,
    seed: int,
    *,
    area: Area | None = None,
    date: dt.date | None = None,
    catalog: Sequence[Service] | None = None,
    name: str = "",
    max_visits: int | None = None,
    features: bool = True,
    breaks: bool = True,
    offices: bool = True,
    named_agents: bool = True,
    soft_windows: bool = True,
) -> Problem:
    """A synthetic district day with ``n_visits`` bookings and ``n_agents`` agents.

    The same arguments always give the same problem. ``area`` defaults to a Lahore-like
    district, ``catalog`` to ``data/services.csv``, ``date`` to :data:`DEFAULT_DATE`;
    ``max_visits`` caps every agent's visits for the day. Sized so that about 15 visits per
    agent is comfortably feasible.

    The field realities (see the module docstring) are on by default: ``breaks`` (lunch or
    Friday prayer), ``offices`` (deliveries collected at issuing offices, about a fifth of
    visits), ``named_agents`` (preferred and required agents) and ``soft_windows``. Pass any
    of them as False to leave it out, or ``features=False`` for the plain day without any.
    """
    if n_visits < 0:
        raise ValueError(f"n_visits must be >= 0, got {n_visits}")
    if n_agents < 0:
        raise ValueError(f"n_agents must be >= 0, got {n_agents}")
    if max_visits is not None and max_visits < 0:
        raise ValueError(f"max_visits must be >= 0, got {max_visits}")
    services = tuple(load_catalog() if catalog is None else catalog)
    if not services:
        raise ValueError("the service catalog is empty")
    area = LAHORE_LIKE if area is None else area
    date = DEFAULT_DATE if date is None else date
    with_offices = features and offices and any(s.code == DELIVERY_SERVICE for s in services)
    weights = dict(SERVICE_WEIGHTS)
    if with_offices:
        weights[DELIVERY_SERVICE] = DELIVERY_WEIGHT_WITH_OFFICES
    rng = np.random.default_rng(seed)
    agents = _agents(rng, n_agents, area, services, max_visits)
    visits = _visits(rng, n_visits, area, services, agents, weights)
    if features and breaks:
        agents = _with_breaks(agents, date)
    office_list: list[Office] = []
    if with_offices:
        office_rng = _stream(seed, _STREAM_OFFICES)
        office_list = make_offices(area, office_rng)
        visits = _assign_offices(visits, office_list, services, office_rng)
    problem = Problem(
        date=date,
        agents=tuple(agents),
        visits=tuple(visits),
        services=services,
        name=name or f"synthetic-{n_visits}v-{n_agents}a-s{seed}",
        offices=tuple(office_list),
    )
    if features and named_agents:
        named = _name_agents(problem, _stream(seed, _STREAM_AGENTS))
        problem = replace(problem, visits=tuple(named))
    if features and soft_windows:
        softened = _soften(problem.visits, _stream(seed, _STREAM_SOFT))
        problem = replace(problem, visits=tuple(softened))
    return problem
