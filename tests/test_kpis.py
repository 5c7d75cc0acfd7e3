"""Plan KPIs on a hand-made plan whose every figure is worked out by hand below."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dispatch.kpis import compute_kpis
from dispatch.model import Office, Priority, Problem, TimeWindow
from dispatch.plan import Plan, Reason, Route, Stop, StopKind, Unassigned
from tests.factories import ORIGIN, agent, hm, problem, visit


def kpi_problem() -> Problem:
    """Three agents (A3 idle), five visits of mixed priority."""
    return problem(
        [
            agent("A1"),  # 08:00-18:00 = 36000 s
            agent("A2", shift=("08:00", "12:00")),  # 14400 s
            agent("A3", shift=("08:00", "16:00")),  # 28800 s, no route
        ],
        [
            visit("V1", windows=[("09:00", "10:00")]),
            visit("V2", priority=Priority.HIGH),
            visit("V3", windows=[("08:00", "08:03")], priority=Priority.URGENT),
            visit("V4"),
            visit("V5", priority=Priority.HIGH),
        ],
    )


def kpi_plan() -> Plan:
    """A1 serves V1 (waiting) and V2; A2 serves V3 two minutes late; V4 and V5 are dropped."""
    a1 = Route(
        "A1",
        start_s=hm("08:00"),
        stops=(
            Stop("V1", hm("08:10"), hm("09:00"), hm("09:05"), 600, 6000),
            Stop("V2", hm("09:15"), hm("09:15"), hm("09:35"), 600, 6000),
        ),
        end_s=hm("09:55"),
        end_travel_s=1200,
        end_distance_m=12000,
    )
    a2 = Route(
        "A2",
        start_s=hm("08:00"),
        stops=(Stop("V3", hm("08:05"), hm("08:05"), hm("08:15"), 300, 3000),),
        end_s=hm("08:20"),
        end_travel_s=300,
        end_distance_m=3000,
    )
    return Plan(
        (a1, a2),
        (
            Unassigned("V4", Reason.CAPACITY_OR_TIME, ""),
            Unassigned("V5", Reason.NO_SKILLED_AGENT, ""),
        ),
    )


def test_totals() -> None:
    """Three of five visits served: 60 %, by priority as booked."""
    kpis = compute_kpis(kpi_problem(), kpi_plan())
    assert kpis.visits_total == 5
    assert kpis.visits_served == 3
    assert kpis.served_pct == pytest.approx(60.0)
    assert kpis.total_by_priority == {"normal": 2, "high": 2, "urgent": 1}
    assert kpis.served_by_priority == {"normal": 1, "high": 1, "urgent": 1}


def test_travel_and_distance_include_the_ride_home() -> None:
    """Travel sums every leg including the end legs: A1 600+600+1200, A2 300+300."""
    kpis = compute_kpis(kpi_problem(), kpi_plan())
    assert kpis.travel_s == 2400 + 600
    assert kpis.distance_m == 24000 + 6000


def test_on_time_rate() -> None:
    """V1 and V2 start inside a window, V3 at 08:05 misses 08:00-08:03: two of three."""
    kpis = compute_kpis(kpi_problem(), kpi_plan())
    assert kpis.on_time_rate == pytest.approx(2 / 3)


def test_per_agent_figures() -> None:
    """Each agent's visits, working time, travel and utilisation; the idle agent is all zeros."""
    kpis = compute_kpis(kpi_problem(), kpi_plan())
    a1_working_s = hm("09:55") - hm("08:00")  # 6900
    a2_working_s = hm("08:20") - hm("08:00")  # 1200
    figures = [(a.agent_id, a.visits, a.working_s, a.travel_s, a.distance_m) for a in kpis.agents]
    assert figures == [
        ("A1", 2, a1_working_s, 2400, 24000),
        ("A2", 1, a2_working_s, 600, 6000),
        ("A3", 0, 0, 0, 0),
    ]
    assert [a.shift_s for a in kpis.agents] == [36000, 14400, 28800]
    assert [a.utilisation for a in kpis.agents] == pytest.approx(
        [a1_working_s / 36000, a2_working_s / 14400, 0.0]
    )
    assert kpis.agents_used == 2


def test_workload_spread_over_agents_used() -> None:
    """Spread is over A1 (6900 s) and A2 (1200 s) only; the idle A3 does not count."""
    kpis = compute_kpis(kpi_problem(), kpi_plan())
    assert kpis.working_s_min == 1200
    assert kpis.working_s_max == 6900
    # Population std of two values is half their difference.
    assert kpis.working_s_std == pytest.approx((6900 - 1200) / 2)


def test_unassigned_by_reason_lists_every_reason() -> None:
    """Every reason code is a key; the two dropped visits are counted under theirs."""
    kpis = compute_kpis(kpi_problem(), kpi_plan())
    assert set(kpis.unassigned_by_reason) == {r.value for r in Reason}
    assert kpis.unassigned_by_reason["capacity_or_time"] == 1
    assert kpis.unassigned_by_reason["no_skilled_agent"] == 1
    assert sum(kpis.unassigned_by_reason.values()) == 2


def test_empty_plan() -> None:
    """Nothing served: 0 %, on-time rate 1.0, no agent used, no spread."""
    kpis = compute_kpis(kpi_problem(), Plan((), ()))
    assert kpis.visits_served == 0
    assert kpis.served_pct == 0.0
    assert kpis.on_time_rate == 1.0
    assert kpis.agents_used == 0
    assert (kpis.working_s_min, kpis.working_s_max, kpis.working_s_std) == (0, 0, 0.0)
    assert [a.utilisation for a in kpis.agents] == [0.0, 0.0, 0.0]


def test_problem_without_visits_is_fully_served() -> None:
    """With nothing booked, everything booked was served."""
    kpis = compute_kpis(problem([agent("A1")], []), Plan((), ()))
    assert kpis.visits_total == 0
    assert kpis.served_pct == 100.0


def test_unknown_route_and_stop_are_ignored() -> None:
    """Routes of unknown agents and stops of unknown visits do not inflate the figures."""
    plan = kpi_plan()
    stray = Route("A9", hm("08:00"), (Stop("V4", 0, 0, 0, 1, 1),), hm("09:00"), 1, 1)
    ghost = Route("A3", hm("08:00"), (Stop("V99", 0, 0, 0, 5, 5),), hm("08:30"), 5, 5)
    kpis = compute_kpis(kpi_problem(), Plan((*plan.routes, stray, ghost), plan.unassigned))
    assert kpis.visits_served == 3
    assert kpis.agents_used == 2
    assert kpis.agents[2].visits == 0


def test_visit_served_twice_counts_once() -> None:
    """A visit on two routes is one served visit, though both stops count for their agents."""
    plan = kpi_plan()
    a3 = Route("A3", hm("08:00"), (Stop("V2", 0, hm("09:00"), 0, 0, 0),), hm("08:30"), 0, 0)
    kpis = compute_kpis(kpi_problem(), Plan((*plan.routes, a3), plan.unassigned))
    assert kpis.visits_served == 3
    assert kpis.served_by_priority["high"] == 1
    assert kpis.agents[2].visits == 1
    assert kpis.agents_used == 3


def test_to_dict_is_json_ready() -> None:
    """to_dict survives a JSON round trip unchanged and lists agents in problem order."""
    data = compute_kpis(kpi_problem(), kpi_plan()).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert [a["agent_id"] for a in data["agents"]] == ["A1", "A2", "A3"]
    assert data["agents"][0]["working_s"] == 6900
    assert data["unassigned_by_reason"]["no_skilled_agent"] == 1


def test_office_calls_are_not_visits() -> None:
    """A call at an office adds riding and working time but no visit; its agent is used."""
    office = Office("NADRA1", "NADRA centre", ORIGIN, TimeWindow(hm("09:00"), hm("17:00")))
    prob = dataclasses.replace(kpi_problem(), offices=(office,))
    plan = kpi_plan()
    call = Stop("NADRA1", 0, 0, 600, 100, 1000, kind=StopKind.PICKUP, collects=("V2",))
    a3 = Route("A3", hm("08:00"), (call,), hm("08:30"), 100, 1000)
    kpis = compute_kpis(prob, Plan((*plan.routes, a3), plan.unassigned))
    assert kpis.visits_served == 3
    assert kpis.agents[2].visits == 0
    assert kpis.agents[2].travel_s == 200
    assert kpis.agents[2].working_s == 1800
    assert kpis.on_time_rate == pytest.approx(2 / 3)
    assert kpis.agents_used == 3
    assert (kpis.working_s_min, kpis.working_s_max) == (1200, 6900)
