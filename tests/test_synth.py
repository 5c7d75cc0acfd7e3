"""The synthetic district generator: seeded, well-formed, and shaped like a Dastak day."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pytest

from dispatch.catalog import known_skills, load_catalog
from dispatch.model import Location, Priority, can_serve
from dispatch.synth import LAHORE_LIKE, SLOTS, BoxArea, generate, sample_homes


def test_same_seed_same_problem() -> None:
    """Two calls with the same seed build identical problems."""
    assert generate(60, 5, seed=7) == generate(60, 5, seed=7)


def test_different_seed_different_problem() -> None:
    """A different seed moves visits and changes bookings."""
    a, b = generate(60, 5, seed=7), generate(60, 5, seed=8)
    assert [v.location for v in a.visits] != [v.location for v in b.visits]


def test_counts_ids_and_date() -> None:
    """The problem has the asked numbers of visits and agents, unique ids, the given date."""
    date = dt.date(2027, 1, 4)
    problem = generate(45, 6, seed=1, date=date, name="north")
    assert len(problem.visits) == 45
    assert len(problem.agents) == 6
    assert len({v.id for v in problem.visits}) == 45
    assert len({a.id for a in problem.agents}) == 6
    assert problem.date == date
    assert problem.name == "north"


def test_windows_are_booking_slots_within_the_day() -> None:
    """Every window is one of the 2-hour slots between 09:00 and 17:00; some visits have two."""
    problem = generate(400, 20, seed=3)
    for v in problem.visits:
        assert 1 <= len(v.windows) <= 2
        for w in v.windows:
            assert w in SLOTS
            assert 9 * 3600 <= w.start_s < w.end_s <= 17 * 3600
        assert list(v.windows) == sorted(v.windows, key=lambda w: w.start_s)
    assert any(len(v.windows) == 2 for v in problem.visits)


def test_skills_are_known_and_agents_hold_two_to_four() -> None:
    """Agents hold 2-4 service skills (plus maybe 'female'); visits name only catalog skills."""
    problem = generate(300, 20, seed=5)
    skills = known_skills(problem.services)
    for a in problem.agents:
        assert a.skills <= skills
        assert 2 <= len(a.skills - {"female"}) <= 4
    for v in problem.visits:
        assert problem.required_skills(v) <= skills
    nadra = sum("nadra_biometric" in a.skills for a in problem.agents)
    assert nadra == 10
    female = sum("female" in a.skills for a in problem.agents)
    assert 1 <= female < len(problem.agents) // 2


def test_every_visit_has_some_capable_agent() -> None:
    """The generator books only services (and female requests) that some agent can serve."""
    for seed in range(5):
        problem = generate(200, 12, seed=seed)
        for v in problem.visits:
            need = problem.required_skills(v)
            assert any(can_serve(a, need) for a in problem.agents), v.id


def test_mix_is_roughly_realistic() -> None:
    """Over many visits: ~15% deliveries, CNIC renewal most common, priorities ~85/12/3."""
    problem = generate(3000, 40, seed=11)
    n = len(problem.visits)
    services = Counter(v.service for v in problem.visits)
    assert 0.10 < services["document_delivery"] / n < 0.20
    assert services.most_common(1)[0][0] == "cnic_renewal"
    assert services["property_registration"] < services["birth_certificate"]
    priorities = Counter(v.priority for v in problem.visits)
    assert 0.80 < priorities[Priority.NORMAL] / n < 0.90
    assert 0.08 < priorities[Priority.HIGH] / n < 0.16
    assert 0.01 < priorities[Priority.URGENT] / n < 0.06
    female = sum("female" in v.extra_skills for v in problem.visits)
    assert 0.02 < female / n < 0.08


def test_visits_cluster_inside_the_district() -> None:
    """Homes stay inside the district box, and most lie within a few km of a town centre."""
    problem = generate(500, 10, seed=2)
    area = LAHORE_LIKE
    centres = np.array([(c.lat, c.lon) for c, _, _ in area.town_centres()])
    near = 0
    for v in problem.visits:
        assert area.south <= v.location.lat <= area.north
        assert area.west <= v.location.lon <= area.east
        deg = np.abs(centres - (v.location.lat, v.location.lon)).max(axis=1).min()
        near += deg < 0.06  # about 6 km
    assert near / len(problem.visits) > 0.7


def test_shifts_are_eight_hours_mostly_nine_to_five() -> None:
    """Shifts last 8 hours and start at 08:00, 09:00 or 10:00, mostly 09:00."""
    problem = generate(10, 60, seed=4)
    starts = Counter(a.shift.start_s // 3600 for a in problem.agents)
    assert set(starts) <= {8, 9, 10}
    assert starts[9] > len(problem.agents) / 2
    assert all(a.shift.end_s - a.shift.start_s == 8 * 3600 for a in problem.agents)


def test_max_visits_and_empty_sizes() -> None:
    """max_visits reaches every agent; zero visits or agents still give a valid problem."""
    assert all(a.max_visits == 12 for a in generate(5, 3, seed=0, max_visits=12).agents)
    assert generate(0, 3, seed=0).visits == ()
    empty = generate(5, 0, seed=0)
    assert empty.agents == () and len(empty.visits) == 5


def test_pluggable_area() -> None:
    """A custom area places every home inside its own box."""
    area = BoxArea(((Location(30.0, 71.5), 1.0, 1.0),), 29.9, 71.4, 30.1, 71.6)
    problem = generate(50, 4, seed=9, area=area)
    for loc in [v.location for v in problem.visits] + [a.start for a in problem.agents]:
        assert 29.9 <= loc.lat <= 30.1 and 71.4 <= loc.lon <= 71.6


def test_rural_only_area_without_towns() -> None:
    """An area with no towns spreads everyone over its rural sampler."""
    area = BoxArea((), 30.0, 70.0, 30.5, 70.5)
    homes = sample_homes(area, np.random.default_rng(0), 20)
    assert len(homes) == 20 and all(30.0 <= h.lat <= 30.5 for h in homes)


def test_custom_catalog_and_bad_sizes() -> None:
    """A reduced catalog limits the services booked; negative sizes are refused."""
    catalog = tuple(s for s in load_catalog() if s.code in {"cnic_renewal", "document_delivery"})
    problem = generate(40, 3, seed=0, catalog=catalog)
    assert {v.service for v in problem.visits} <= {"cnic_renewal", "document_delivery"}
    with pytest.raises(ValueError, match="n_visits"):
        generate(-1, 3, seed=0)
