"""The synthetic district generator: seeded, well-formed, and shaped like a Dastak day."""

from __future__ import annotations

import datetime as dt
import io as io_text
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dispatch import cli
from dispatch.catalog import known_skills, load_catalog
from dispatch.geo.matrix import HaversineProvider, haversine_m
from dispatch.io import parse_problem, problem_to_dict, read_problem
from dispatch.model import Location, Priority, Problem, TimeWindow, can_serve
from dispatch.synth import LAHORE_LIKE, SLOTS, BoxArea, agent_breaks, generate, sample_homes
from tests.factories import hm


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
    """Over many plain visits: ~15% deliveries, CNIC renewal most common, priorities ~85/12/3."""
    problem = generate(3000, 40, seed=11, features=False)
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
    """Plain shifts last 8 hours and start at 08:00, 09:00 or 10:00, mostly 09:00."""
    problem = generate(10, 60, seed=4, features=False)
    starts = Counter(a.shift.start_s // 3600 for a in problem.agents)
    assert set(starts) <= {8, 9, 10}
    assert starts[9] > len(problem.agents) / 2
    assert all(a.shift.end_s - a.shift.start_s == 8 * 3600 for a in problem.agents)


@pytest.mark.parametrize("date", [dt.date(2026, 11, 30), dt.date(2026, 12, 4)])
def test_shifts_with_breaks_add_the_break_to_eight_working_hours(date: dt.date) -> None:
    """With breaks a shift starts as the plain one and lasts 8 hours plus its break."""
    plain = generate(10, 30, seed=4, date=date, features=False)
    full = generate(10, 30, seed=4, date=date)
    for a, b in zip(plain.agents, full.agents, strict=True):
        (owed,) = b.breaks
        assert b.shift == TimeWindow(a.shift.start_s, a.shift.end_s + owed.duration_s)


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


# --- field realities -------------------------------------------------------------------------

FRIDAY = dt.date(2026, 12, 4)


@pytest.fixture(scope="module")
def big_day() -> Problem:
    """A large default day (every reality on) for share and reference checks."""
    return generate(3000, 40, seed=11)


def test_plain_day_has_no_realities() -> None:
    """features=False leaves out breaks, offices, named agents and soft windows."""
    problem = generate(300, 20, seed=1, features=False)
    assert problem.offices == ()
    assert all(a.breaks == () for a in problem.agents)
    for v in problem.visits:
        assert v.pickup_office is None and v.preferred_agent is None
        assert v.required_agent is None and v.max_late_s == 0 and v.late_cost_per_min == 0


def test_each_reality_switches_off_alone() -> None:
    """Turning one reality off removes it and leaves the others as they were."""
    full = generate(200, 12, seed=2)
    no_breaks = generate(200, 12, seed=2, breaks=False)
    assert all(a.breaks == () for a in no_breaks.agents)
    assert no_breaks.visits == full.visits and no_breaks.offices == full.offices
    no_soft = generate(200, 12, seed=2, soft_windows=False)
    assert all(v.max_late_s == 0 for v in no_soft.visits)
    assert [replace(v, max_late_s=0, late_cost_per_min=0) for v in full.visits] == list(
        no_soft.visits
    )
    no_named = generate(200, 12, seed=2, named_agents=False)
    assert all(v.preferred_agent is None and v.required_agent is None for v in no_named.visits)
    assert no_named.agents == full.agents
    no_offices = generate(200, 12, seed=2, offices=False)
    assert no_offices.offices == () and no_offices.agents == full.agents
    assert all(v.pickup_office is None for v in no_offices.visits)


def test_every_agent_takes_a_lunch_break_inside_the_shift() -> None:
    """On a weekday each agent owes one 30-minute break starting 13:00-14:00, within the shift."""
    problem = generate(50, 30, seed=3)
    assert problem.date.weekday() != 4
    for a in problem.agents:
        (b,) = a.breaks
        assert b.name == "lunch" and b.duration_s == 30 * 60
        assert 13 * 3600 <= b.window.start_s <= b.window.end_s <= 14 * 3600
        assert a.shift.start_s <= b.window.start_s
        assert b.window.end_s + b.duration_s <= a.shift.end_s


def test_friday_brings_a_longer_prayer_break() -> None:
    """On a Friday the break is an hour of Friday prayer starting 12:45-13:30."""
    problem = generate(50, 10, seed=3, date=FRIDAY)
    assert FRIDAY.weekday() == 4
    for a in problem.agents:
        (b,) = a.breaks
        assert b.name == "friday_prayer" and b.duration_s == 3600
        assert b.window == TimeWindow(hm("12:45"), hm("13:30"))


@pytest.mark.parametrize(
    ("shift", "window"),
    [
        (("08:00", "16:00"), ("13:00", "14:00")),  # the whole window fits
        (("08:00", "13:40"), ("13:00", "13:10")),  # ends early: must start by 13:10
        (("13:30", "18:00"), ("13:30", "14:00")),  # starts late: not before the shift
        (("08:00", "13:29"), None),  # a morning half-day cannot hold it
    ],
)
def test_breaks_are_fitted_to_short_shifts(
    shift: tuple[str, str], window: tuple[str, str] | None
) -> None:
    """A shift that ends early or starts late narrows the window; one too short owes none."""
    breaks = agent_breaks(TimeWindow(hm(shift[0]), hm(shift[1])), dt.date(2026, 11, 30))
    if window is None:
        assert breaks == ()
    else:
        (b,) = breaks
        assert b.window == TimeWindow(hm(window[0]), hm(window[1]))
        assert b.window.end_s + b.duration_s <= hm(shift[1])


def test_deliveries_come_from_offices_of_their_kind(big_day: Problem) -> None:
    """About a fifth of visits are deliveries, each from an existing office; NADRA issues most."""
    offices = {o.id: o for o in big_day.offices}
    assert len(offices) == 3
    deliveries = [v for v in big_day.visits if v.service == "document_delivery"]
    assert 0.17 < len(deliveries) / len(big_day.visits) < 0.23
    for v in big_day.visits:
        assert (v.pickup_office is not None) == (v.service == "document_delivery")
        assert v.pickup_office is None or v.pickup_office in offices
    per_office = Counter(v.pickup_office for v in deliveries)
    assert per_office.most_common(1)[0][0] == "NRC-1"
    assert set(per_office) == set(offices)


def test_offices_sit_near_towns_with_opening_hours() -> None:
    """Offices open 09:00-16:00, take 10 minutes a call and lie within 2 km of a town centre."""
    problem = generate(100, 8, seed=4)
    centres = [c for c, _, _ in LAHORE_LIKE.town_centres()]
    for o in problem.offices:
        assert o.opening == TimeWindow(hm("09:00"), hm("16:00"))
        assert o.pickup_s == 600
        assert (
            min(haversine_m(o.location.lat, o.location.lon, c.lat, c.lon) for c in centres) < 2000
        )


def test_small_area_has_two_offices() -> None:
    """An area with fewer than three towns has a NADRA and a licensing office only."""
    area = BoxArea(((Location(30.0, 71.5), 1.0, 1.0),), 29.9, 71.4, 30.1, 71.6)
    problem = generate(80, 5, seed=9, area=area)
    assert [o.id for o in problem.offices] == ["NRC-1", "DLIMS-1"]
    for o in problem.offices:
        assert 29.9 <= o.location.lat <= 30.1 and 71.4 <= o.location.lon <= 71.6


def test_named_agents_exist_and_can_serve(big_day: Problem) -> None:
    """~5% of visits prefer and ~1% require an agent, who holds the skills and whose shift fits."""
    agents = {a.id: a for a in big_day.agents}
    n = len(big_day.visits)
    preferred = [v for v in big_day.visits if v.preferred_agent is not None]
    required = [v for v in big_day.visits if v.required_agent is not None]
    assert 0.03 < len(preferred) / n < 0.07
    assert 0.003 < len(required) / n < 0.02
    for v in preferred + required:
        assert v.preferred_agent is None or v.required_agent is None
        named = agents[v.preferred_agent or v.required_agent or ""]
        assert can_serve(named, big_day.required_skills(v))
        assert any(
            named.shift.start_s <= w.end_s and w.start_s < named.shift.end_s for w in v.windows
        )


def test_some_windows_are_soft(big_day: Problem) -> None:
    """About 10% of visits may start up to 30 minutes late, at a cost; the rest are hard."""
    soft = [v for v in big_day.visits if v.max_late_s]
    assert 0.07 < len(soft) / len(big_day.visits) < 0.13
    assert all(v.max_late_s == 1800 and v.late_cost_per_min > 0 for v in soft)
    assert all(v.late_cost_per_min == 0 for v in big_day.visits if not v.max_late_s)


def test_default_day_reads_back_from_json() -> None:
    """Written as JSON and read back, a day with every reality is the same problem."""
    problem = generate(150, 10, seed=6, date=FRIDAY)
    assert problem.offices and any(v.preferred_agent for v in problem.visits)
    data = json.loads(json.dumps(problem_to_dict(problem)))
    assert parse_problem(data).problem == problem


def test_every_delivery_can_be_made_alone() -> None:
    """Some agent could ride start -> office -> home -> end in time for every delivery."""
    problem = generate(300, 20, seed=0)
    m = HaversineProvider().matrix(problem.locations())
    office_pos = {o.id: k for k, o in enumerate(problem.offices)}
    for v_pos, v in enumerate(problem.visits):
        if v.pickup_office is None:
            continue
        k = office_pos[v.pickup_office]
        office = problem.offices[k]
        ok = False
        for a_pos, a in enumerate(problem.agents):
            if not can_serve(a, problem.required_skills(v)) or v.required_agent not in (None, a.id):
                continue
            at_office_s = a.shift.start_s + m.travel_s(
                problem.start_index(a_pos), problem.office_index(k)
            )
            call_s = max(at_office_s, office.opening.start_s)
            if call_s + office.pickup_s > office.opening.end_s:
                continue
            home_s = call_s + office.pickup_s + m.travel_s(problem.office_index(k), v_pos)
            for w in v.windows:
                start_s = max(home_s, w.start_s)
                back_s = (
                    start_s
                    + problem.visit_duration_s(v)
                    + m.travel_s(v_pos, problem.end_index(a_pos))
                )
                ok = ok or (start_s <= w.end_s and back_s <= a.shift.end_s)
        assert ok, v.id


def test_cli_plain_flag_writes_a_plain_day(tmp_path: Path) -> None:
    """dispatch generate --plain writes the day without breaks, offices or named agents."""
    path = tmp_path / "plain.json"
    args = [
        "generate",
        "--visits",
        "40",
        "--agents",
        "4",
        "--seed",
        "2",
        "--plain",
        "-o",
        str(path),
    ]
    assert cli.main(args, stdout=io_text.StringIO(), stderr=io_text.StringIO()) == 0
    problem = read_problem(path).problem
    assert problem == generate(40, 4, seed=2, features=False, name=problem.name)
    assert problem.offices == () and all(a.breaks == () for a in problem.agents)
