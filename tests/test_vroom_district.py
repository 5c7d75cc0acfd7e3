"""The district benchmark's VROOM adapter: timing fixed routes, reading VROOM, comparing runs."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks import districts
from benchmarks.vroom_district import (
    Step,
    merged_windows,
    missing_reason,
    solve_vroom,
    steps_from_vroom,
    time_steps,
)
from dispatch.check import check_plan
from dispatch.geo.matrix import HaversineProvider
from dispatch.model import Break, Location, Office, Problem, TimeWindow
from dispatch.plan import Plan, StopKind
from dispatch.solver import search, solve
from dispatch.synth import generate
from tests.factories import agent, hm, line_matrix, problem, visit, window

LUNCH = Break("lunch", 1800, window("13:00", "14:00"))
OFFICE = Office("O1", "NADRA centre", Location(31.52, 74.36), window("09:00", "16:00"), 600)


def _day(v1_window: tuple[str, str], v2_window: tuple[str, str]) -> Problem:
    """One agent with a lunch break, a delivery V1 from office O1, a CNIC visit V2."""
    a = agent("A", shift=("08:00", "18:00"), breaks=(LUNCH,))
    v1 = visit("V1", windows=(v1_window,), pickup_office="O1")
    v2 = visit("V2", windows=(v2_window,), service="cnic_renewal")
    return replace(problem([a], [v1, v2]), offices=(OFFICE,))


# Matrix order: V1, V2, start, end, office; positions on a line in seconds.
LINE = line_matrix([1000, 2000, 0, 0, 500])
ROUTE = [Step("pickup", 0, ("V1",)), Step("visit", 0), Step("break", 0), Step("visit", 1)]


def test_break_before_an_open_window_is_taken_while_waiting() -> None:
    """A break whose window opens after the ride is taken on site, and service waits for it."""
    p = _day(("09:00", "10:00"), ("13:00", "15:00"))
    route = time_steps(p, LINE, 0, ROUTE)
    call, v1, v2 = route.stops
    assert call.kind == StopKind.PICKUP and call.start_s == hm("09:00")
    assert route.start_s == hm("09:00") - 500  # leaves just in time for the office to open
    assert v1.arrival_s == call.departure_s + 500
    (lunch,) = route.breaks
    assert v2.arrival_s == v1.departure_s + 1000 < lunch.start_s == hm("13:00")
    assert v2.start_s == hm("13:30")
    assert check_plan(p, Plan((route,), ()), LINE).ok


def test_break_reached_mid_ride_delays_the_arrival() -> None:
    """A break window opening during the ride is taken then, and the arrival moves by its length."""
    p = _day(("12:40", "12:50"), ("13:00", "15:00"))
    route = time_steps(p, LINE, 0, ROUTE)
    _, v1, v2 = route.stops
    assert v1.start_s == hm("12:40")
    (lunch,) = route.breaks
    assert lunch.start_s == hm("13:00")
    assert v2.arrival_s == v1.departure_s + 1000 + 1800
    assert check_plan(p, Plan((route,), ()), LINE).ok


def test_consecutive_pickups_at_one_office_merge_into_one_call() -> None:
    """VROOM's pickups in a row at one office become one call collecting both documents."""
    a = agent("A", breaks=(LUNCH,))
    visits = [visit(f"V{k}", pickup_office="O1") for k in (1, 2)]
    p = replace(problem([a], visits), offices=(OFFICE,))
    raw = [
        {"type": "start"},
        {"type": "pickup", "id": 0},
        {"type": "pickup", "id": 1},
        {"type": "break", "id": 0},
        {"type": "delivery", "id": 1},
        {"type": "delivery", "id": 0},
        {"type": "end"},
    ]
    assert steps_from_vroom(p, raw) == [
        Step("pickup", 0, ("V1", "V2")),
        Step("break", 0),
        Step("visit", 1),
        Step("visit", 0),
    ]


def test_touching_windows_are_joined_for_vroom() -> None:
    """Back-to-back slots become one window (VROOM refuses touching ones); gaps stay."""
    v = visit("V", windows=(("11:00", "13:00"), ("09:00", "11:00"), ("15:00", "17:00")))
    assert merged_windows(v) == [(hm("09:00"), hm("13:00")), (hm("15:00"), hm("17:00"))]


@pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))
def test_vroom_plan_of_a_generated_day_passes_the_checker() -> None:
    """On a small day with every reality, VROOM's re-timed plan is valid and covers each visit."""
    p = generate(40, 4, seed=3)
    m = HaversineProvider().matrix(p.locations())
    run = solve_vroom(p, m, time_limit_s=10)
    report = check_plan(p, run.plan, m)
    assert report.ok, report.summary()
    ids = run.plan.served_ids() + [u.visit_id for u in run.plan.unassigned]
    assert sorted(ids) == sorted(v.id for v in p.visits)
    assert len(run.plan.served_ids()) > 0
    assert any(s.kind == StopKind.PICKUP for r in run.plan.routes for s in r.stops)


@pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))
@pytest.mark.parametrize("speed_factor", [1.3, 0.7])
def test_vroom_sees_a_slow_or_fast_agent_ride_as_the_engine_times_it(
    speed_factor: float,
) -> None:
    """Ten short rides in a row with windows that close a few seconds after a ride scaled
    without rounding: VROOM's own speed factor rounds each ride its own way and reached
    visits after they closed by the engine's clock; its plan must be valid by that clock."""
    start_s = hm("08:00")
    visits = [
        replace(
            visit(f"V{k}"),
            windows=(
                TimeWindow(start_s, start_s + (k - 1) * 300 + math.ceil(k * 10 / speed_factor)),
            ),
        )
        for k in range(1, 11)
    ]
    p = problem([agent("A", speed_factor=speed_factor)], visits)
    m = line_matrix([10 * k for k in range(1, 11)] + [0, 0])  # visits, then start and end
    run = solve_vroom(p, m, time_limit_s=5)
    report = check_plan(p, run.plan, m)
    assert report.ok, report.summary()
    assert len(run.plan.served_ids()) >= 5


def test_comparison_needs_valid_plans_more_served_and_less_travel() -> None:
    """The target is met only with valid plans, no fewer visits served and less travel."""
    engine = {"solver": "engine", "visits": 10, "time_limit_s": 30.0, "checker_ok": True}
    engine |= {"served": 10, "travel_s": 3600, "travel_h": 1.0}
    peer = dict(engine, solver="vroom", served=9, travel_s=7200, travel_h=2.0)
    assert districts.compare(engine, peer)["met"]
    assert not districts.compare(dict(engine, served=8), peer)["met"]
    assert not districts.compare(dict(engine, travel_s=7200), peer)["met"]
    assert not districts.compare(dict(engine, checker_ok=False), peer)["met"]
    failed = dict(engine, error="RuntimeError: boom")
    assert districts.compare(failed, peer)["served_diff"] is None


def test_summary_counts_the_seeds_that_met_the_target_per_size_and_limit() -> None:
    """Seeds of one size and limit are summed up together; a failed run counts as not met
    and stays out of the means."""
    engine = {"solver": "engine", "visits": 10, "time_limit_s": 30.0, "checker_ok": True}
    engine |= {"served": 10, "travel_s": 3600, "travel_h": 1.0}
    peer = dict(engine, solver="vroom", served=9, travel_s=7200, travel_h=2.0)
    runs = [
        districts.compare(dict(engine, seed=0), dict(peer, seed=0)),
        districts.compare(dict(engine, seed=1, served=8, travel_h=3.0), dict(peer, seed=1)),
        districts.compare(dict(engine, seed=2, error="RuntimeError: boom"), dict(peer, seed=2)),
        districts.compare(dict(engine, seed=0, visits=20), dict(peer, seed=0, visits=20)),
    ]
    ten, twenty = districts.summarise(runs)
    assert (ten["visits"], ten["runs"], ten["met"]) == (10, 3, 1)
    assert ten["served_engine_mean"] == 9.0 and ten["served_peer_mean"] == 9.0
    assert ten["travel_h_engine_mean"] == 2.0 and ten["travel_h_peer_mean"] == 2.0
    assert (twenty["visits"], twenty["runs"], twenty["met"]) == (20, 1, 1)
    assert "target met in 1/3 seeds" in districts.format_summary(ten)
    assert districts.format_comparison(runs[1]).startswith("  seed 1, 10 visits, 30 s:")


def test_seed_lists_parse_and_refuse_what_is_not_a_seed() -> None:
    """``--seed 0,1,2,3`` runs four days; a repeated seed runs once."""
    assert districts._seeds("0,1,2,3") == [0, 1, 2, 3]
    assert districts._seeds("2,2,0") == [2, 0]
    for bad in ("", "x", "-1", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            districts._seeds(bad)


def test_row_counts_deliveries_served_and_office_calls() -> None:
    """V1 (a delivery) is served after one call; a second delivery outside the shift is not."""
    p = _day(("09:00", "12:00"), ("09:00", "17:00"))
    late = visit("V3", windows=(("19:00", "20:00"),), pickup_office="O1")
    p = replace(p, visits=(*p.visits, late))
    m = line_matrix([1000, 2000, 1500, 0, 0, 500])
    plan = solve(p, m, time_limit_s=5.0, solution_limit=50)
    row = districts.plan_row("engine", p, plan, m, 0.0)
    assert row["checker_ok"]
    assert (row["deliveries_served"], row["deliveries_total"]) == (1, 2)
    assert row["office_calls"] == 1
    assert "1/2" in districts.format_row(dict(row, time_limit_s=5.0))


def test_peer_work_keeps_only_the_peer_s_visits_with_their_travel() -> None:
    """Cut to V2 alone, the day keeps its agent and office and the matrix its rides: V2 to the
    office is the same 1500 s as before, and the plan on the cut day passes the checker."""
    p = _day(("09:00", "12:00"), ("09:00", "17:00"))
    work, m = districts.peer_work(p, LINE, {"V2"})
    assert [v.id for v in work.visits] == ["V2"]
    assert work.agents == p.agents and work.offices == p.offices
    assert m.size == len(work.locations())
    assert m.duration_s[work.visit_index(0), work.office_index(0)] == 1500
    assert m.duration_s[work.start_index(0), work.visit_index(0)] == 2000
    plan = solve(work, m, time_limit_s=5.0, solution_limit=20)
    assert check_plan(work, plan, m).ok and plan.served_ids() == ["V2"]


def test_a_day_open_all_day_keeps_its_visits_but_their_windows() -> None:
    """Every visit of a field day gets the one window 09:00-17:00 (from the first slot's start
    to the last one's end); nothing else of the day changes."""
    p = generate(30, 3, seed=1)
    assert any(v.windows != (window("09:00", "17:00"),) for v in p.visits)
    opened = districts.open_all_day(p)
    assert [v.windows for v in opened.visits] == [(window("09:00", "17:00"),)] * len(p.visits)
    assert [replace(v, windows=()) for v in opened.visits] == [
        replace(v, windows=()) for v in p.visits
    ]
    assert replace(opened, visits=()) == replace(p, visits=())


def test_same_work_needs_every_peer_visit_served_with_less_travel() -> None:
    """On the peer's own visits the engine must serve all of them, with less travel."""
    peer = {"solver": "vroom", "visits": 10, "time_limit_s": 30.0, "checker_ok": True}
    peer |= {"served": 9, "travel_s": 7200, "travel_h": 2.0}
    engine = dict(peer, solver="engine=vroom", visits=9, travel_s=3600, travel_h=1.0)
    assert districts.compare_same_work(engine, peer)["met"]
    assert not districts.compare_same_work(dict(engine, served=8), peer)["met"]
    assert not districts.compare_same_work(dict(engine, travel_s=7200), peer)["met"]
    assert not districts.compare_same_work(dict(engine, checker_ok=False), peer)["met"]
    line = districts.format_same_work(districts.compare_same_work(engine, peer))
    assert "vroom's 9 visits: engine served 9 with 1.0 h" in line


def test_same_work_line_counts_all_served_less_travel_and_both_apart() -> None:
    """Over the runs on the peer's own work: one serves all with less travel, two leave a
    visit out with less travel, one serves all with more, one fails; each count is its own."""
    peer = {"solver": "vroom", "visits": 10, "time_limit_s": 30.0, "checker_ok": True}
    peer |= {"served": 9, "travel_s": 7200, "travel_h": 2.0}
    engine = dict(peer, solver="engine=vroom", visits=9, travel_s=3600, travel_h=1.0)
    runs = [
        districts.compare_same_work(engine, peer),
        districts.compare_same_work(dict(engine, served=8), peer),
        districts.compare_same_work(dict(engine, served=7, travel_s=3000), peer),
        districts.compare_same_work(dict(engine, travel_s=9000, travel_h=2.5), peer),
        districts.compare_same_work({"error": "failed"}, peer),
    ]
    assert districts.same_work_line(runs) == (
        "engine on vroom's own work: all served in 2/5 runs, less travel in 3/5, "
        "both (valid plans) in 1/5"
    )


def test_ruin_iterations_fix_the_search_s_work_and_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a solution limit, ``--ruin-iterations`` sets ruin and recreate's iterations for
    each repaired proposal; its work is printed and kept in the JSON. Without a solution limit
    the flag is refused (a clock would cut the iterations short)."""
    monkeypatch.setattr(search, "RUIN_ITERATIONS_WHEN_LIMITED", search.RUIN_ITERATIONS_WHEN_LIMITED)
    out = tmp_path / "districts.json"
    argv = ["--sizes", "40", "--time-limit", "20", "--solution-limit", "20", "--out", str(out)]
    assert districts.main([*argv, "--ruin-iterations", "7"]) == 0
    result = json.loads(out.read_text())
    facts = result["rows"][0]["solver_facts"]
    assert result["protocol"]["ruin_iterations"] == 7
    assert facts["ruin_iterations"] in (7, 14)  # one or two proposals (two clocks)
    assert facts["ruin_s"] > 0
    assert f"ruin and recreate: {facts['ruin_iterations']} iterations" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        districts.main(["--sizes", "40", "--ruin-iterations", "7", "--out", str(out)])
