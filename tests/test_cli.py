"""The ``dispatch`` command: generate, solve, check, demo and schema through ``main(argv)``."""

from __future__ import annotations

import io as stdio
import json
from pathlib import Path

import pytest

from dispatch import cli, io
from dispatch.synth import generate

SOLVE_FAST = ["--solution-limit", "15", "--time-limit", "20", "--quiet"]


def run(argv: list[str]) -> tuple[int, str, str]:
    """Run the command; return exit code, stdout and stderr."""
    out, err = stdio.StringIO(), stdio.StringIO()
    code = cli.main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def small_problem(tmp_path: Path) -> Path:
    """A generated 20-visit, 3-agent day written as JSON."""
    path = tmp_path / "problem.json"
    io.write_problem(generate(20, 3, seed=4), path)
    return path


def test_generate_writes_a_readable_problem(tmp_path: Path) -> None:
    """generate writes JSON that reads back as the generator's problem."""
    path = tmp_path / "p.json"
    code, out, _ = run(
        [
            *("generate", "--visits", "12", "--agents", "2", "--seed", "5"),
            *("--date", "2027-02-01", "--name", "east", "-o", str(path)),
        ]
    )
    assert code == 0 and str(path) in out
    problem = io.read_problem(path).problem
    assert problem == generate(12, 2, seed=5, date=problem.date, name="east")
    assert problem.date.isoformat() == "2027-02-01"


def test_solve_writes_plans_and_checks_them(small_problem: Path, tmp_path: Path) -> None:
    """solve writes JSON and CSV plans, prints the summary, and says the checker passed."""
    plan_json, plan_csv = tmp_path / "plan.json", tmp_path / "plan.csv"
    code, out, err = run(
        ["solve", str(small_problem), "-o", str(plan_json), "--csv", str(plan_csv), *SOLVE_FAST]
    )
    assert code == 0, err
    for label in ("visits served", "urgent", "unassigned", "travel time", "distance"):
        assert label in out
    for label in ("on-time rate", "agents used", "working time", "solve time", "checker"):
        assert label in out
    assert "checker" in out and "OK" in out.split("checker", 1)[1]
    assert err == ""  # --quiet
    problem = io.read_problem(small_problem).problem
    plan = io.read_plan(plan_json, problem)
    accounted = set(plan.served_ids()) | {u.visit_id for u in plan.unassigned}
    assert accounted == {v.id for v in problem.visits}
    assert plan_csv.read_text(encoding="utf-8").startswith("agent_id,")


def test_solve_shows_progress_on_stderr(small_problem: Path) -> None:
    """Without --quiet, progress lines about solutions and served visits go to stderr."""
    code, out, err = run(["solve", str(small_problem), "--solution-limit", "5"])
    assert code == 0
    assert "solutions" in err and "served" in err
    assert "solutions" not in out


def test_same_seed_same_plan(small_problem: Path, tmp_path: Path) -> None:
    """Two solves with the same seed and solution limit write the same routes."""
    routes = []
    for name in ("a.json", "b.json"):
        path = tmp_path / name
        assert run(["solve", str(small_problem), "-o", str(path), *SOLVE_FAST])[0] == 0
        routes.append(json.loads(path.read_text(encoding="utf-8"))["routes"])
    assert routes[0] == routes[1]


def test_check_clean_then_tampered(small_problem: Path, tmp_path: Path) -> None:
    """check passes the solver's plan (exit 0) and catches a stop swapped to another visit (1)."""
    plan_path = tmp_path / "plan.json"
    assert run(["solve", str(small_problem), "-o", str(plan_path), *SOLVE_FAST])[0] == 0
    code, out, _ = run(["check", str(small_problem), str(plan_path)])
    assert code == 0 and "OK" in out

    data = json.loads(plan_path.read_text(encoding="utf-8"))
    stops = [stop for route in data["routes"] for stop in route["stops"]]
    assert len(stops) >= 2
    stops[0]["visit_id"] = stops[-1]["visit_id"]  # one visit twice, another never
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data), encoding="utf-8")
    code, out, _ = run(["check", str(small_problem), str(tampered)])
    assert code == 1
    assert "violation" in out and stops[0]["visit_id"] in out


def test_bad_problem_exits_2_without_output(tmp_path: Path, small_problem: Path) -> None:
    """A problem naming an unknown service gives exit 2, an error naming it, and no plan file."""
    data = json.loads(small_problem.read_text(encoding="utf-8"))
    data["visits"][3]["service"] = "passport_renewal"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    plan_path = tmp_path / "plan.json"
    code, out, err = run(["solve", str(bad), "-o", str(plan_path), *SOLVE_FAST])
    assert code == 2
    assert err.startswith("error: ") and "passport_renewal" in err
    assert data["visits"][3]["id"] in err
    assert "Traceback" not in err and out == ""
    assert not plan_path.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["solve", "missing.json"],
        ["solve"],
        [
            "solve",
            "p.json",
            "--agents-csv",
            "a.csv",
            "--visits-csv",
            "v.csv",
            "--date",
            "2026-11-30",
        ],
        ["generate", "--visits", "ten", "--agents", "2", "-o", "x.json"],
        ["solve", "p.json", "--time-limit", "0"],
        ["nonsense"],
    ],
)
def test_usage_and_missing_files_exit_2(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Missing files, contradictory or malformed options all exit 2 and write nothing."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.json").write_text("{}", encoding="utf-8")
    code, _, err = run(argv)
    assert code == 2
    assert "error" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]


def test_solve_from_csv_exports(tmp_path: Path) -> None:
    """solve accepts --agents-csv/--visits-csv/--date and serves a trivially feasible day."""
    agents = tmp_path / "agents.csv"
    agents.write_text(
        "id,start_lat,start_lon,shift_start,shift_end,skills\n"
        "A1,31.5204,74.3587,09:00,17:00,nadra_biometric;licensing\n",
        encoding="utf-8",
    )
    visits = tmp_path / "visits.csv"
    visits.write_text(
        "id,lat,lon,service,windows,priority\n"
        "V1,31.5301,74.3400,cnic_renewal,09:00-11:00,high\n"
        "V2,31.5250,74.3500,document_delivery,11:00-13:00;15:00-17:00,\n",
        encoding="utf-8",
    )
    plan_path = tmp_path / "plan.json"
    code, out, err = run(
        [
            *("solve", "--agents-csv", str(agents), "--visits-csv", str(visits)),
            *("--date", "2026-11-30", "--name", "csv-day", "-o", str(plan_path), *SOLVE_FAST),
        ]
    )
    assert code == 0, err
    assert "csv-day" in out and "2 / 2" in out
    assert json.loads(plan_path.read_text(encoding="utf-8"))["unassigned"] == []


def test_demo_solves_the_bundled_problem(tmp_path: Path) -> None:
    """demo solves data/demo/problem.json, writes both plan files and exits 0 on a clean check."""
    code, out, err = run(
        ["demo", "--out-dir", str(tmp_path / "out"), "--solution-limit", "5", "--quiet"]
    )
    assert code == 0, err
    assert "lahore-demo" in out and "checker" in out
    assert (tmp_path / "out" / "demo-plan.json").is_file()
    assert (tmp_path / "out" / "demo-plan.csv").is_file()


def test_schema_writes_json_schemas(tmp_path: Path) -> None:
    """schema writes parseable JSON schema files into the given directory."""
    code, out, _ = run(["schema", "-o", str(tmp_path / "schemas")])
    assert code == 0
    written = sorted((tmp_path / "schemas").glob("*.json"))
    assert len(written) >= 2
    for path in written:
        assert str(path) in out
        assert isinstance(json.loads(path.read_text(encoding="utf-8")), dict)


def test_interrupt_exits_cleanly(
    small_problem: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during the search exits 130 with a short note and no plan file."""

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "solve", interrupted)
    plan_path = tmp_path / "plan.json"
    code, _, err = run(["solve", str(small_problem), "-o", str(plan_path), "--quiet"])
    assert code == 130 and "interrupted" in err and "Traceback" not in err
    assert not plan_path.exists()


def test_generate_in_a_named_district(tmp_path: Path) -> None:
    """--district places homes in that district; an unknown name exits 2 with a suggestion."""
    from dispatch.geo.areas import DistrictArea

    path = tmp_path / "multan.json"
    code, _, err = run(
        ["generate", "--visits", "15", "--agents", "2", "--district", "Multan", "-o", str(path)]
    )
    assert code == 0, err
    problem = io.read_problem(path).problem
    multan = DistrictArea("Multan")
    assert sum(multan.contains(v.location) for v in problem.visits) >= 14

    bad = tmp_path / "bad.json"
    code, _, err = run(
        ["generate", "--visits", "5", "--agents", "1", "--district", "Lahor", "-o", str(bad)]
    )
    assert code == 2 and "Lahore" in err and not bad.exists()


def test_generate_on_roads_then_solve_with_road_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """generate --road puts homes on the extract's roads; solve then plans on road times."""
    monkeypatch.setenv("DISPATCH_CACHE_DIR", str(tmp_path / "cache"))
    sector = Path(__file__).resolve().parent.parent / "data" / "osm" / "g10.osm"
    problem_path, plan_path = tmp_path / "isb.json", tmp_path / "plan.json"
    code, _, err = run(
        [
            *("generate", "--district", "Islamabad", "--road", str(sector)),
            *("--visits", "12", "--agents", "2", "--seed", "2", "-o", str(problem_path)),
        ]
    )
    assert code == 0, err
    loaded = io.read_problem(problem_path)
    assert loaded.travel.provider == "road"
    assert loaded.travel.osm_file == str(sector)
    code, out, err = run(["solve", str(problem_path), "-o", str(plan_path), *SOLVE_FAST])
    assert code == 0, err
    assert "OK" in out.split("checker", 1)[1]
    code, out, _ = run(["check", str(problem_path), str(plan_path)])
    assert code == 0 and "plan OK" in out
