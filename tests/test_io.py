"""Problem and plan files: round trips, CSV, validation messages and atomic writes."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch import io, timefmt
from dispatch.catalog import load_catalog
from dispatch.errors import InputError
from dispatch.geo.congestion import PUNJAB_CONGESTION
from dispatch.geo.matrix import CongestionProfile
from dispatch.geo.provider import TravelSpec
from dispatch.model import DAY_S, Priority
from dispatch.plan import BreakTaken, Plan, Reason, Route, Stop, StopKind, Unassigned
from tests import factories

DATA = Path(__file__).parent / "data"
DOCS = Path(__file__).parent.parent / "docs"
DATE = dt.date(2026, 11, 30)


def hm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def valid_doc() -> dict[str, Any]:
    """A small problem document in canonical form, using most optional fields."""
    return {
        "format_version": 1,
        "name": "Lahore Cantt, Monday",
        "date": "2026-11-30",
        "timezone": "Asia/Karachi",
        "travel": {
            "provider": "haversine",
            "speed_kph": 24.0,
            "detour_factor": 1.4,
            "congestion": "default",
        },
        "balance_weight": 0.5,
        "agents": [
            {
                "id": "A1",
                "start": {"lat": 31.5204, "lon": 74.3587},
                "shift": {"start": "09:00", "end": "17:00"},
                "skills": ["female", "nadra_biometric"],
                "max_visits": 12,
                "capacities": {"documents": 30},
                "breaks": [
                    {
                        "name": "lunch",
                        "duration_min": 30,
                        "window": {"start": "13:00", "end": "14:00"},
                    }
                ],
            },
            {
                "id": "A2",
                "start": {"lat": 31.45, "lon": 74.27},
                "end": {"lat": 31.47, "lon": 74.3},
                "shift": {"start": "14:00", "end": "2026-12-01T01:30:00+05:00"},
                "skills": ["licensing"],
                "speed_factor": 1.25,
            },
        ],
        "visits": [
            {
                "id": "V1",
                "location": {"lat": 31.53, "lon": 74.34},
                "service": "cnic_renewal",
                "windows": [{"start": "09:00", "end": "11:00"}, {"start": "14:00", "end": "16:00"}],
                "priority": "high",
                "extra_skills": ["female"],
                "duration_min": 20,
                "required": True,
                "demand": {"documents": 1},
                "preferred_agent": "A1",
            },
            {
                "id": "V2",
                "location": {"lat": 31.46, "lon": 74.28},
                "service": "driving_licence_renewal",
                "windows": [{"start": "10:00", "end": "12:00:30"}],
                "priority": "normal",
                "duration_s": 1250,
                "max_late_min": 15,
                "late_cost_per_min": 60,
                "required_agent": "A2",
            },
            {
                "id": "V3",
                "location": {"lat": 31.5, "lon": 74.31},
                "service": "home_passport_photo",
                "windows": [{"start": "22:00", "end": "2026-12-01T00:30:00+05:00"}],
                "priority": "urgent",
                "pickup_office": "NADRA-GB",
            },
        ],
        "offices": [
            {
                "id": "NADRA-GB",
                "name": "NADRA Gulberg",
                "location": {"lat": 31.51, "lon": 74.35},
                "opening": {"start": "09:00", "end": "17:00"},
                "pickup_min": 10,
            }
        ],
        "services": [
            {
                "code": "cnic_renewal",
                "name": "CNIC renewal (with biometrics)",
                "skill": "nadra_biometric",
                "duration_min": 30,
            },
            {
                "code": "home_passport_photo",
                "name": "Passport photo at home",
                "skill": None,
                "duration_min": 12.5,
            },
        ],
    }


def issues_of(exc: pytest.ExceptionInfo[InputError]) -> dict[str, str]:
    return {issue.where: issue.message for issue in exc.value.issues}


# -- problem JSON ----------------------------------------------------------------------------


def test_problem_dict_round_trip_is_exact() -> None:
    """A canonical document survives document -> Problem -> document unchanged."""
    doc = valid_doc()
    loaded = io.parse_problem(copy.deepcopy(doc))
    assert io.problem_to_dict(loaded.problem, loaded.travel) == doc


def test_problem_fields_are_read_into_the_model() -> None:
    """Times, overrides, references and the travel section reach the domain objects."""
    loaded = io.parse_problem(valid_doc())
    problem = loaded.problem
    a1, a2 = problem.agents
    v1, v2, v3 = problem.visits
    assert a1.shift.start_s == hm("09:00") and a1.shift.end_s == hm("17:00")
    assert a1.breaks[0].duration_s == 30 * 60 and a1.breaks[0].window.start_s == hm("13:00")
    assert a2.shift.end_s == DAY_S + hm("01:30")  # next day, past midnight
    assert a2.end is not None and a2.end.lat == 31.47
    assert v1.windows[1].start_s == hm("14:00") and v1.priority is Priority.HIGH
    assert v1.duration_s == 20 * 60 and v1.required and dict(v1.demand) == {"documents": 1}
    assert v2.windows[0].end_s == hm("12:00") + 30 and v2.duration_s == 1250
    assert v2.max_late_s == 15 * 60 and v2.required_agent == "A2"
    assert v3.windows[0].end_s == DAY_S + hm("00:30") and v3.pickup_office == "NADRA-GB"
    assert problem.service("cnic_renewal").duration_s == 30 * 60  # overridden
    assert problem.service("home_passport_photo").duration_s == 750  # added
    assert problem.service("token_tax") in load_catalog()  # the rest of the bundled catalog
    assert problem.offices[0].pickup_s == 600 and problem.balance_weight == 0.5
    assert loaded.travel == TravelSpec("haversine", 24.0, 1.4, None, PUNJAB_CONGESTION)


def test_problem_round_trip_through_a_file(tmp_path: Path) -> None:
    """write_problem then read_problem gives back the same problem and travel."""
    loaded = io.parse_problem(valid_doc())
    path = tmp_path / "day.json"
    io.write_problem(loaded.problem, path, loaded.travel)
    assert io.read_problem(path) == loaded


def test_factories_problem_round_trips_its_agents_visits_and_services(tmp_path: Path) -> None:
    """A problem with its own catalog comes back with those services (and the bundled rest)."""
    problem = factories.problem(
        [factories.agent("A1", max_visits=3)],
        [factories.visit("V1", service="cnic_renewal"), factories.visit("V2")],
    )
    path = tmp_path / "p.json"
    io.write_problem(problem, path)
    back = io.read_problem(path).problem
    assert back.agents == problem.agents and back.visits == problem.visits
    assert set(problem.services) <= set(back.services)
    assert io.read_problem(path).travel == TravelSpec()


def test_custom_congestion_profile_round_trips() -> None:
    """A list of 24 multipliers is kept as a list, the bundled profile as 'default'."""
    doc = valid_doc()
    doc["travel"]["congestion"] = [1.0] * 8 + [1.5] * 16
    loaded = io.parse_problem(doc)
    assert loaded.travel.congestion == CongestionProfile(tuple(doc["travel"]["congestion"]))
    assert io.problem_to_dict(loaded.problem, loaded.travel)["travel"] == doc["travel"]


def test_minimal_document_takes_defaults() -> None:
    """Only the required fields: the default travel spec and the bundled catalog apply."""
    doc = {
        "format_version": 1,
        "date": "2026-11-30",
        "agents": [
            {"id": "A", "start": {"lat": 31, "lon": 74}, "shift": {"start": "8:00", "end": "16:00"}}
        ],
        "visits": [
            {
                "id": "V",
                "location": {"lat": 31.1, "lon": 74.1},
                "service": "token_tax",
                "windows": [{"start": "09:00", "end": "10:00"}],
            }
        ],
    }
    loaded = io.parse_problem(doc)
    assert loaded.travel == TravelSpec()
    assert loaded.problem.services == load_catalog()
    assert loaded.problem.timezone == "Asia/Karachi" and loaded.problem.name == ""
    assert loaded.problem.agents[0].shift.start_s == hm("08:00")


@pytest.mark.parametrize(
    ("text", "expected_s"),
    [
        ("09:15", hm("09:15")),
        ("09:15:30", hm("09:15") + 30),
        ("24:00", DAY_S),
        ("2026-11-30T09:15", hm("09:15")),
        ("2026-11-30T04:15:00Z", hm("09:15")),  # UTC -> +05:00
        ("2026-11-30T09:15:00+05:00", hm("09:15")),
        ("2026-11-30T06:15:00+02:00", hm("09:15")),
        ("2026-12-01T02:00:00+05:00", DAY_S + hm("02:00")),
        ("2026-11-30T19:30:00-00:00", DAY_S + hm("00:30")),
    ],
)
def test_time_forms(text: str, expected_s: int) -> None:
    """Clock times and ISO datetimes (local or offset) become seconds since local midnight."""
    doc = valid_doc()
    doc["visits"][0]["windows"] = [{"start": text, "end": "2026-12-01T23:00"}]
    visit = io.parse_problem(doc).problem.visits[0]
    assert visit.windows[0].start_s == expected_s


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("9h15", "not a time of day"),
        ("25:00", "not a valid time"),
        ("09:60", "not a valid time"),
        ("2026-11-29T23:00", "before the plan date"),
        ("2026-12-02T00:00:01", "more than 48 hours"),
        ("2026-11-30T09:15:00.5", "fractions of a second"),
        ("2026-11-31T09:00", "not a valid ISO 8601"),
    ],
)
def test_bad_times_are_reported(text: str, fragment: str) -> None:
    """Unreadable or out-of-range times name the field and say what is wrong."""
    doc = valid_doc()
    doc["visits"][1]["windows"][0]["start"] = text
    with pytest.raises(InputError) as exc:
        io.parse_problem(doc)
    assert fragment in issues_of(exc)["visits[1] (id 'V2').windows[0].start"]


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set ``a.b[0].c`` in a nested document; the value ``...`` deletes the key."""
    parts = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]
    target: Any = doc
    for part in parts[:-1]:
        target = target[part]
    if value is ...:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value


BAD_INPUTS = [
    # (path to change, new value, where the issue is reported, words in the message)
    ("agents.0.id", "", "agents[0].id", "empty"),
    ("agents.1.id", "A1", "agents[1] (id 'A1').id", "duplicate"),
    ("visits.2.id", "V1", "visits[2] (id 'V1').id", "duplicate"),
    ("visits.0.service", ..., "visits[0] (id 'V1').service", "missing"),
    ("agents.0.shift", ..., "agents[0] (id 'A1').shift", "missing"),
    ("agents.0.max_visits", "12", "agents[0] (id 'A1').max_visits", "whole number"),
    ("agents.0.skills", "female", "agents[0] (id 'A1').skills", "must be a list"),
    ("visits.0.required", "yes", "visits[0] (id 'V1').required", "true or false"),
    ("visits.0.colour", "red", "visits[0] (id 'V1').colour", "unknown field"),
    ("visits.0.service", "cnic_renewel", "visits[0] (id 'V1').service", "did you mean"),
    ("agents.0.skills.1", "nadra", "agents[0] (id 'A1').skills[1]", "unknown skill"),
    ("visits.0.extra_skills.0", "woman", "visits[0] (id 'V1').extra_skills[0]", "unknown skill"),
    ("visits.0.location.lat", math.nan, "visits[0] (id 'V1').location.lat", "finite"),
    ("visits.0.location.lon", math.inf, "visits[0] (id 'V1').location.lon", "finite"),
    ("agents.0.start.lat", 91.0, "agents[0] (id 'A1').start.lat", "at most 90"),
    ("agents.1.end.lon", -180.5, "agents[1] (id 'A2').end.lon", "at least -180"),
    ("visits.0.windows", [], "visits[0] (id 'V1').windows", "at least one time window"),
    ("visits.0.windows.1.end", "13:00", "visits[0] (id 'V1').windows[1].end", "before it starts"),
    ("agents.0.shift.end", "08:00", "agents[0] (id 'A1').shift.end", "before it starts"),
    ("agents.1.shift.start", "01:00", "agents[1] (id 'A2').shift.end", "more than 24 h"),
    ("agents.0.breaks.0.window.end", "12:00", "agents[0] (id 'A1').breaks[0].window.end", "before"),
    ("visits.0.demand", {"cash": 2}, "visits[0] (id 'V1').demand.cash", "no agent carries"),
    ("visits.0.duration_min", -5, "visits[0] (id 'V1').duration_min", "greater than 0"),
    ("visits.0.duration_min", 600, "visits[0] (id 'V1').duration_min", "at most 480"),
    ("visits.1.duration_s", 0, "visits[1] (id 'V2').duration_s", "greater than 0"),
    ("visits.0.duration_s", 1200, "visits[0] (id 'V1').duration_s", "not both"),
    ("agents.0.max_visits", -1, "agents[0] (id 'A1').max_visits", "at least 0"),
    ("agents.1.speed_factor", 0, "agents[1] (id 'A2').speed_factor", "greater than 0"),
    ("agents.1.speed_factor", math.nan, "agents[1] (id 'A2').speed_factor", "finite"),
    ("agents.0.capacities.documents", -3, "agents[0] (id 'A1').capacities.documents", "at least"),
    ("visits.0.demand.documents", -1, "visits[0] (id 'V1').demand.documents", "at least 0"),
    ("visits.0.priority", "asap", "visits[0] (id 'V1').priority", "'normal', 'high' or 'urgent'"),
    ("visits.0.preferred_agent", "A9", "visits[0] (id 'V1').preferred_agent", "unknown agent"),
    ("visits.2.pickup_office", "NADRA-X", "visits[2] (id 'V3').pickup_office", "unknown office"),
    ("offices.0.opening.end", "08:00", "offices[0] (id 'NADRA-GB').opening.end", "before"),
    ("services.1.code", "Photo", "services[1] (id 'Photo').code", "invalid service code"),
    ("services.1.duration_min", 0, "services[1] (id 'home_passport_photo').duration_min", "than 0"),
    ("travel.provider", "road", "travel.osm_file", "needs an osm_file"),
    ("travel.provider", "crow", "travel.provider", "'haversine' or 'road'"),
    ("travel.congestion", [1.2] * 23, "travel.congestion", "24 hourly multipliers"),
    ("travel.speed_kph", -1, "travel.speed_kph", "greater than 0"),
    ("date", "30/11/2026", "date", "like '2026-11-30'"),
    ("timezone", "Asia/Lahore", "timezone", "unknown time zone"),
    ("balance_weight", -1, "balance_weight", "at least 0"),
    ("agents", {"A1": {}}, "agents", "must be a list"),
    ("format_version", 2, "format_version", "unsupported format version 2"),
    ("format_version", ..., "format_version", "missing"),
]


@pytest.mark.parametrize(("path", "value", "where", "words"), BAD_INPUTS)
def test_bad_input_names_item_and_field(path: str, value: Any, where: str, words: str) -> None:
    """Each kind of bad input is an InputError naming the item (with its id) and field."""
    doc = valid_doc()
    _set(doc, path, value)
    with pytest.raises(InputError) as exc:
        io.parse_problem(doc, source="day.json")
    found = issues_of(exc)
    assert where in found, f"expected an issue at {where}, got {found}"
    assert words.lower() in found[where].lower()
    assert str(exc.value).startswith("day.json: ")


def test_break_longer_than_the_shift_is_reported() -> None:
    """A break that cannot fit in its agent's shift names the break's duration."""
    doc = valid_doc()
    _set(doc, "agents.0.shift", {"start": "09:00", "end": "12:00"})
    _set(doc, "agents.0.breaks.0.duration_min", 240)
    with pytest.raises(InputError) as exc:
        io.parse_problem(doc)
    found = issues_of(exc)
    where = "agents[0] (id 'A1').breaks[0].duration_min"
    assert where in found and "longer than the shift (3 h)" in found[where]


def test_breaks_that_cannot_all_be_taken_are_reported() -> None:
    """Two half-hour breaks that must both start at 13:00 would overlap: the agent's breaks
    are refused together, each named."""
    doc = valid_doc()
    window = {"start": "13:00", "end": "13:00"}
    _set(
        doc,
        "agents.0.breaks",
        [
            {"name": "lunch", "duration_min": 30, "window": window},
            {"name": "prayer", "duration_min": 30, "window": window},
        ],
    )
    with pytest.raises(InputError) as exc:
        io.parse_problem(doc)
    found = issues_of(exc)
    assert list(found) == ["agents[0] (id 'A1').breaks"]
    assert "'lunch', 'prayer' cannot all be taken" in found["agents[0] (id 'A1').breaks"]


def test_every_issue_is_reported_at_once() -> None:
    """Independent faults in different items and in one item all come back together."""
    doc = valid_doc()
    doc["agents"][0]["max_visits"] = "many"  # a type fault ...
    doc["agents"][0]["shift"]["end"] = "08:00"  # ... does not hide a meaning fault
    doc["visits"][1]["service"] = "nope"
    doc["visits"][2]["location"]["lat"] = 100
    with pytest.raises(InputError) as exc:
        io.parse_problem(doc)
    assert set(issues_of(exc)) == {
        "agents[0] (id 'A1').max_visits",
        "agents[0] (id 'A1').shift.end",
        "visits[1] (id 'V2').service",
        "visits[2] (id 'V3').location.lat",
    }


def test_non_object_item_and_document_are_reported() -> None:
    """A list where an object belongs is an issue, never a traceback."""
    doc = valid_doc()
    doc["visits"][1] = ["V2"]
    with pytest.raises(InputError) as exc:
        io.parse_problem(doc)
    assert "must be an object" in issues_of(exc)["visits[1]"]
    with pytest.raises(InputError, match="must be a JSON object"):
        io.parse_problem([doc])


@pytest.mark.parametrize(("key", "limit"), [("visits", io.MAX_VISITS), ("agents", io.MAX_AGENTS)])
def test_huge_payload_is_refused_before_validation(key: str, limit: int) -> None:
    """More items than the limit is one clear issue, whatever the items hold."""
    doc = valid_doc()
    doc[key] = [None] * (limit + 1)
    with pytest.raises(InputError) as exc:
        io.parse_problem(doc)
    assert len(exc.value.issues) == 1 and "limit" in issues_of(exc)[key]


def test_issue_list_is_capped() -> None:
    """Thousands of bad items give a readable error: the first issues and a count of the rest."""
    doc = valid_doc()
    doc["visits"] = [{"id": f"V{i}"} for i in range(io.MAX_ISSUES)]  # 3 missing fields each
    with pytest.raises(InputError) as exc:
        io.parse_problem(doc)
    assert len(exc.value.issues) == io.MAX_ISSUES + 1
    assert f"{3 * io.MAX_ISSUES - io.MAX_ISSUES} more" in exc.value.issues[-1].message


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    """A syntax error in the file is reported with its line and column."""
    path = tmp_path / "bad.json"
    path.write_text('{\n  "format_version": 1,\n  "date": "2026-11-30",,\n}\n', encoding="utf-8")
    with pytest.raises(InputError) as exc:
        io.read_problem(path)
    (issue,) = exc.value.issues
    assert issue.where == "line 3 column 24" and "malformed JSON" in issue.message
    assert exc.value.source == str(path)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("missing.json", None, "cannot read"),
        ("latin1.json", b'{"name": "\xe9"}', "not UTF-8"),
        ("problem.yaml", b"format_version: 1", "unsupported problem file type"),
        ("deep.json", b"[" * 100_000 + b"]" * 100_000, "malformed JSON"),
    ],
)
def test_unreadable_files_are_input_errors(
    tmp_path: Path, name: str, content: bytes | None, words: str
) -> None:
    """Missing, mis-encoded, wrongly named or pathological files give an InputError."""
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=words):
        io.read_problem(path)


def test_file_over_the_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file larger than MAX_FILE_BYTES is refused without being parsed."""
    path = tmp_path / "big.json"
    io.write_problem(io.parse_problem(valid_doc()).problem, path)
    monkeypatch.setattr(io, "MAX_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(InputError, match="more than the limit"):
        io.read_problem(path)


def test_relative_osm_file_is_relative_to_the_problem_file(tmp_path: Path) -> None:
    """A problem and its road extract can be moved together."""
    doc = valid_doc()
    doc["travel"] = {"provider": "road", "osm_file": "roads/town.osm"}
    path = tmp_path / "sub" / "day.json"
    path.parent.mkdir()
    path.write_text(json.dumps(doc), encoding="utf-8")
    travel = io.read_problem(path).travel
    assert travel.provider == "road"
    assert travel.osm_file == str(tmp_path / "sub" / "roads" / "town.osm")


def test_docs_example_is_a_valid_problem() -> None:
    """The example in docs/format.md parses, so the documentation cannot go stale."""
    text = (DOCS / "format.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL)
    problems = [json.loads(b) for b in blocks if '"visits"' in b]
    assert problems, "docs/format.md has no problem example"
    for doc in problems:
        loaded = io.parse_problem(doc, "docs/format.md")
        assert loaded.problem.visits and loaded.problem.agents


# -- CSV input -------------------------------------------------------------------------------


def test_read_agents_csv() -> None:
    """Agent rows: optional cells may be empty, skills and capacities are lists in one cell."""
    a1, a2 = io.read_agents_csv(DATA / "agents.csv")
    assert a1.id == "A1" and a1.skills == frozenset({"nadra_biometric", "female"})
    assert a1.shift.start_s == hm("09:00") and a1.shift.end_s == hm("17:00")
    assert a1.max_visits == 12 and dict(a1.capacities) == {"documents": 30} and a1.end is None
    assert a2.end is not None and (a2.end.lat, a2.end.lon) == (31.47, 74.3)
    assert a2.speed_factor == 1.2 and a2.max_visits is None


def test_read_visits_csv() -> None:
    """Visit rows: several windows, defaults for empty cells, datetimes joined by '/'."""
    v1, v2, v3 = io.read_visits_csv(DATA / "visits.csv", date=DATE)
    assert [(w.start_s, w.end_s) for w in v1.windows] == [
        (hm("09:00"), hm("11:00")),
        (hm("14:00"), hm("16:00")),
    ]
    assert v1.priority is Priority.HIGH and v1.required and v1.extra_skills == {"female"}
    assert dict(v1.demand) == {"documents": 1} and v1.preferred_agent == "A1"
    assert v2.priority is Priority.NORMAL and v2.duration_s == 35 * 60 and not v2.required
    assert v3.windows[0].start_s == hm("16:00") and v3.windows[0].end_s == hm("17:30")
    assert v3.priority is Priority.URGENT


def test_read_problem_csv_matches_the_two_readers() -> None:
    """The combined reader builds the same agents and visits with the bundled catalog."""
    loaded = io.read_problem_csv(DATA / "agents.csv", DATA / "visits.csv", DATE, name="csv day")
    assert loaded.problem.agents == io.read_agents_csv(DATA / "agents.csv")
    assert loaded.problem.visits == io.read_visits_csv(DATA / "visits.csv", date=DATE)
    assert loaded.problem.name == "csv day" and loaded.problem.date == DATE
    assert loaded.travel == TravelSpec()


def test_csv_errors_name_file_line_id_and_column(tmp_path: Path) -> None:
    """Bad cells are reported by file, line, id and column, both files at once."""
    agents = tmp_path / "agents.csv"
    agents.write_text(
        "id,start_lat,start_lon,shift_start,shift_end,skills\n"
        "A1,31.5,north,09:00,17:00,licensing\n"
        "A2,31.5,74.3,18:00,09:00,licencing\n",
        encoding="utf-8",
    )
    visits = tmp_path / "visits.csv"
    visits.write_text(
        "id,lat,lon,service,windows,required,duration_min,required_agent\n"
        "V1,31.5,74.3,token_tax,09:00-08:00,maybe,,\n"
        "V2,31.5,74.3,token_tax,09:00-10:00;11:00,,-4,\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as exc:
        io.read_problem_csv(agents, visits, DATE)
    found = issues_of(exc)
    assert set(found) == {
        "agents.csv line 2 (id 'A1').start_lon",
        "agents.csv line 3 (id 'A2').shift_end",
        "agents.csv line 3 (id 'A2').skills",
        "visits.csv line 2 (id 'V1').windows (slot 1 end)",
        "visits.csv line 2 (id 'V1').required",
        "visits.csv line 3 (id 'V2').windows",
        "visits.csv line 3 (id 'V2').duration_min",
    }
    assert "'north'" in found["agents.csv line 2 (id 'A1').start_lon"]
    assert "did you mean 'licensing'" in found["agents.csv line 3 (id 'A2').skills"]


def test_csv_agent_references_are_checked(tmp_path: Path) -> None:
    """A visit pinned to an agent that the agents file lacks is reported."""
    visits = tmp_path / "visits.csv"
    visits.write_text(
        "id,lat,lon,service,windows,required_agent\nV1,31.5,74.3,token_tax,09:00-10:00,A7\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as exc:
        io.read_problem_csv(DATA / "agents.csv", visits, DATE)
    assert "unknown agent id 'A7'" in issues_of(exc)["visits.csv line 2 (id 'V1').required_agent"]


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("id,lat,lon,service", "missing column(s): windows"),
        ("id,lat,lon,service,windows,colour", "unknown column(s): colour"),
    ],
)
def test_csv_columns_are_checked(tmp_path: Path, header: str, words: str) -> None:
    """Missing and unknown columns are named before any row is read."""
    path = tmp_path / "visits.csv"
    path.write_text(header + "\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        io.read_visits_csv(path)
    assert words in issues_of(exc)["visits.csv"]


def test_csv_datetime_without_date_is_an_issue() -> None:
    """Datetimes in CSV cells need the plan date; without it the cell is reported."""
    with pytest.raises(InputError) as exc:
        io.read_visits_csv(DATA / "visits.csv")
    assert "plan date" in issues_of(exc)["visits.csv line 4 (id 'V3').windows (slot 1 start)"]


# -- plans -----------------------------------------------------------------------------------


def sample_problem_and_plan() -> tuple[Any, Plan]:
    problem = io.parse_problem(valid_doc()).problem
    route1 = Route(
        agent_id="A1",
        start_s=hm("09:00"),
        stops=(
            Stop(
                "NADRA-GB",
                hm("09:10"),
                hm("09:10"),
                hm("09:20"),
                600,
                4200,
                StopKind.PICKUP,
                collects=("V3",),
            ),
            Stop("V1", hm("09:31"), hm("09:40"), hm("10:00"), 660, 4500),
            Stop("V3", hm("22:10"), hm("22:10"), hm("22:22") + 30, 300, 2000),
        ),
        end_s=hm("22:40"),
        end_travel_s=570,
        end_distance_m=3900,
        breaks=(BreakTaken("lunch", hm("13:00"), hm("13:30")),),
    )
    route2 = Route(
        agent_id="A2",
        start_s=hm("14:00"),
        stops=(Stop("V2", hm("14:20"), hm("14:20"), hm("14:40") + 50, 1200, 9000, late_s=7200),),
        end_s=DAY_S + hm("00:15"),  # past midnight
        end_travel_s=800,
        end_distance_m=6000,
    )
    plan = Plan(
        routes=(route1, route2),
        unassigned=(Unassigned("V404", Reason.NO_SKILLED_AGENT, "nobody holds skill 'x'"),),
        solver={"status": "feasible", "seed": 0, "objective": 12345},
    )
    return problem, plan


def test_plan_round_trip_through_json_text() -> None:
    """plan -> dict -> JSON text -> dict -> plan gives an equal Plan."""
    problem, plan = sample_problem_and_plan()
    text = json.dumps(io.plan_to_dict(problem, plan, {"served_pct": 75.0}))
    assert io.parse_plan(json.loads(text), problem) == plan


def test_plan_document_fields() -> None:
    """Times carry the +05:00 offset, totals and details are filled in for readers."""
    problem, plan = sample_problem_and_plan()
    doc = io.plan_to_dict(problem, plan, {"served_pct": 75.0})
    route = doc["routes"][0]
    assert route["start"] == "2026-11-30T09:00:00+05:00"
    assert doc["routes"][1]["end"] == "2026-12-01T00:15:00+05:00"
    assert route["travel_s"] == 600 + 660 + 300 + 570
    assert route["working_s"] == hm("22:40") - hm("09:00")
    pickup, v1, _ = route["stops"]
    assert pickup["kind"] == "pickup" and pickup["collects"] == ["V3"]
    assert pickup["location"] == {"lat": 31.51, "lon": 74.35} and pickup["service"] is None
    assert v1["wait_s"] == 9 * 60 and v1["service"] == "cnic_renewal" and v1["priority"] == "high"
    assert route["breaks"] == [
        {"name": "lunch", "start": "2026-11-30T13:00:00+05:00", "end": "2026-11-30T13:30:00+05:00"}
    ]
    assert doc["unassigned"][0]["reason"] == "no_skilled_agent"
    assert doc["kpis"] == {"served_pct": 75.0} and doc["solver"]["seed"] == 0


def test_plan_file_round_trip(tmp_path: Path) -> None:
    """write_plan(.json) then read_plan gives an equal Plan."""
    problem, plan = sample_problem_and_plan()
    path = tmp_path / "plan.json"
    io.write_plan(problem, plan, path, kpis={"n": np.int64(3), "share": np.float64(0.5)})
    assert io.read_plan(path, problem) == plan
    kpis = json.loads(path.read_text(encoding="utf-8"))["kpis"]
    assert kpis == {"n": 3, "share": 0.5}


def test_unknown_visit_ids_are_kept_for_the_checker() -> None:
    """A stop naming a visit the problem lacks is written and read back, with null details."""
    problem, plan = sample_problem_and_plan()
    ghost = Route(
        "A9",
        hm("09:00"),
        (Stop("GHOST", hm("09:05"), hm("09:05"), hm("09:06"), 300, 1),),
        hm("09:10"),
        240,
        1,
    )
    plan = Plan((*plan.routes, ghost), plan.unassigned)
    doc = io.plan_to_dict(problem, plan)
    assert doc["routes"][2]["stops"][0]["service"] is None
    assert io.parse_plan(doc, problem) == plan


def test_plan_csv_rows(tmp_path: Path) -> None:
    """One row per stop (breaks in time order), then one per unassigned visit with its reason."""
    problem, plan = sample_problem_and_plan()
    path = tmp_path / "plan.csv"
    io.write_plan(problem, plan, path)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames is not None
    assert reader.fieldnames[:12] == [
        "agent_id", "seq", "visit_id", "service", "priority", "lat", "lon",
        "arrival", "start", "departure", "travel_s", "distance_m",
    ]  # fmt: skip
    kinds = [(r["agent_id"], r["kind"], r["visit_id"]) for r in rows]
    assert kinds == [
        ("A1", "pickup", "NADRA-GB"),
        ("A1", "visit", "V1"),
        ("A1", "break", "lunch"),
        ("A1", "visit", "V3"),
        ("A2", "visit", "V2"),
        ("", "unassigned", "V404"),
    ]
    v1 = rows[1]
    assert v1["seq"] == "2" and v1["service"] == "cnic_renewal" and v1["priority"] == "high"
    assert (float(v1["lat"]), float(v1["lon"])) == (31.53, 74.34)
    assert v1["start"] == "2026-11-30T09:40:00+05:00" and v1["travel_s"] == "660"
    assert rows[4]["late_s"] == "7200"
    assert (
        rows[5]["reason"] == "no_skilled_agent" and rows[5]["message"] == "nobody holds skill 'x'"
    )


def test_plan_structure_is_strict() -> None:
    """Missing fields, wrong types and unknown reasons are errors naming the route."""
    problem, plan = sample_problem_and_plan()
    doc = io.plan_to_dict(problem, plan)
    del doc["routes"][1]["stops"][0]["arrival"]
    doc["routes"][0]["travel_s"] = "600"
    doc["unassigned"][0]["reason"] = "bad_luck"
    with pytest.raises(InputError) as exc:
        io.parse_plan(doc, problem, "plan.json")
    assert set(issues_of(exc)) == {
        "routes[1] (agent 'A2').stops[0].arrival",
        "routes[0] (agent 'A1').travel_s",
        "unassigned[0].reason",
    }


def test_plan_totals_must_agree_with_stops() -> None:
    """Edited stop times or totals that no longer agree are reported, not silently dropped."""
    problem, plan = sample_problem_and_plan()
    doc = io.plan_to_dict(problem, plan)
    doc["routes"][0]["distance_m"] += 1
    doc["routes"][0]["stops"][1]["arrival"] = "2026-11-30T09:35:00+05:00"
    doc["date"] = "2026-12-01"
    with pytest.raises(InputError) as exc:
        io.parse_plan(doc, problem)
    found = issues_of(exc)
    assert set(found) == {
        "date",
        "routes[0] (agent 'A1').distance_m",
        "routes[0] (agent 'A1').stops[1] (visit 'V1').wait_s",
    }


def test_unsupported_plan_suffix() -> None:
    """Only .json and .csv plans are written."""
    problem, plan = sample_problem_and_plan()
    with pytest.raises(InputError, match=r"unsupported plan file type '\.xlsx'"):
        io.write_plan(problem, plan, Path("plan.xlsx"))


# -- writing ---------------------------------------------------------------------------------


def test_failed_serialisation_leaves_no_file(tmp_path: Path) -> None:
    """A KPI that cannot be written raises and leaves neither the file nor a temp file."""
    problem, plan = sample_problem_and_plan()
    path = tmp_path / "plan.json"
    with pytest.raises(TypeError, match=r"kpis\.bad"):
        io.write_plan(problem, plan, path, kpis={"bad": object()})
    assert list(tmp_path.iterdir()) == []


def test_failed_replace_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the final rename fails, the previous content stays and the temp file is removed."""
    path = tmp_path / "out.txt"
    io.atomic_write_text(path, "old\n")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        io.atomic_write_text(path, "new\n")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_write_creates_folders_and_replaces(tmp_path: Path) -> None:
    """Parents are created; a second write replaces the content whole."""
    path = tmp_path / "a" / "b" / "out.txt"
    io.atomic_write_text(path, "first")
    io.atomic_write_text(path, "second, longer")
    assert path.read_text(encoding="utf-8") == "second, longer"
    assert [p.name for p in path.parent.iterdir()] == ["out.txt"]


def test_non_finite_kpis_become_null() -> None:
    """JSON has no NaN: non-finite floats are written as null, never as invalid JSON."""
    problem, plan = sample_problem_and_plan()
    doc = io.plan_to_dict(problem, plan, {"on_time_rate": math.nan, "gap": np.float32("inf")})
    assert doc["kpis"] == {"on_time_rate": None, "gap": None}
    json.dumps(doc, allow_nan=False)


# -- time text -------------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=timefmt.MAX_TIME_S))
def test_written_times_read_back(seconds: int) -> None:
    """Every time the writers produce (clock or datetime) parses back to the same second."""
    for text in (
        timefmt.format_time(seconds, DATE, "Asia/Karachi"),
        timefmt.format_datetime(seconds, DATE, "Asia/Karachi"),
    ):
        assert timefmt.parse_time_s(text, DATE, "Asia/Karachi") == seconds


def test_time_text_forms() -> None:
    """Within the day a clock time is written, beyond it a datetime with the offset."""
    assert timefmt.format_time(hm("09:05") + 7, DATE, "Asia/Karachi") == "09:05:07"
    assert timefmt.format_time(DAY_S, DATE, "Asia/Karachi") == "24:00"
    assert timefmt.format_time(DAY_S + 60, DATE, "Asia/Karachi") == "2026-12-01T00:01:00+05:00"
    assert timefmt.format_datetime(-60, DATE, "Asia/Karachi") == "2026-11-29T23:59:00+05:00"
    assert timefmt.seconds_of("2026-11-29T23:59:00+05:00", DATE, "Asia/Karachi") == -60
    with pytest.raises(ValueError, match="unknown time zone"):
        timefmt.zone("Mars/Olympus")
