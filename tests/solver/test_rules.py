"""The rules of a field day on tiny problems with known answers: breaks, office calls,
soft windows, workload balance, continuity and sharper reasons."""

from __future__ import annotations

import dataclasses

from dispatch.check import WRONG_REASON, check_plan
from dispatch.model import Break, Location, Office, Problem
from dispatch.plan import Plan, Reason, StopKind, Unassigned
from dispatch.solver.build import build_model
from dispatch.solver.presolve import presolve
from dispatch.solver.repair import fitting_steps
from dispatch.solver.schedule import Step, model_travel, route_fits
from tests.factories import agent, hm, line_matrix, problem, visit, window
from tests.solver.helpers import order_of, reasons, solved


def lunch(start: str, end: str, minutes: int = 60) -> Break:
    return Break("lunch", minutes * 60, window(start, end))


def office(opening: tuple[str, str] = ("08:00", "17:00"), pickup_min: int = 10) -> Office:
    return Office("O", "NADRA centre", Location(31.6, 74.3), window(*opening), pickup_min * 60)


def with_offices(p: Problem, *offices: Office) -> Problem:
    return dataclasses.replace(p, offices=offices)


def stop_of(plan: Plan, visit_id: str) -> tuple[int, int]:
    """(start_s, late_s) of the stop serving ``visit_id``."""
    for route in plan.routes:
        for stop in route.stops:
            if stop.kind == StopKind.VISIT and stop.visit_id == visit_id:
                return stop.start_s, stop.late_s
    raise AssertionError(f"{visit_id} is not served")


# --- breaks ----------------------------------------------------------------------------------


def test_break_window_forces_the_visit_after_the_break() -> None:
    """A 20-minute visit from 11:50 would overlap a lunch that must start at 12:00: it waits."""
    p = problem(
        [agent("A", breaks=(lunch("12:00", "12:00"),))],
        [visit("V1", windows=[("11:50", "14:00")], service="cnic_renewal")],
    )
    plan = solved(p, line_matrix([600, 0, 0]))
    route = plan.routes[0]
    assert stop_of(plan, "V1")[0] == hm("13:00")
    assert [(b.name, b.start_s, b.end_s) for b in route.breaks] == [
        ("lunch", hm("12:00"), hm("13:00"))
    ]


def test_break_later_in_the_day_leaves_the_visit_early() -> None:
    """With lunch due at 15:00 the same visit starts when its slot opens, at 11:50."""
    p = problem(
        [agent("A", breaks=(lunch("15:00", "15:00"),))],
        [visit("V1", windows=[("11:50", "14:00")], service="cnic_renewal")],
    )
    plan = solved(p, line_matrix([600, 0, 0]))
    assert stop_of(plan, "V1")[0] == hm("11:50")
    assert [b.start_s for b in plan.routes[0].breaks] == [hm("15:00")]


def test_breaks_left_for_the_end_of_the_route_follow_one_another() -> None:
    """Two quarter-hour breaks due 08:30-10:30 and a 10:00 visit that ends at 10:20: if one is
    taken on arriving back, the other must wait until it is over, not start with it."""
    rests = tuple(Break(name, 900, window("08:30", "10:30")) for name in ("b0", "b1"))
    p = problem(
        [agent("A", shift=("06:00", "10:30"), breaks=rests)],
        [
            visit("V0", windows=[("06:00", "06:00")], service="cnic_renewal"),
            visit("V2", windows=[("10:00", "10:00")], service="cnic_renewal"),
        ],
    )
    plan = solved(p, line_matrix([0, 0, 0, 0]))
    assert len(plan.routes[0].stops) == 2
    taken = sorted((b.start_s, b.end_s) for b in plan.routes[0].breaks)
    assert len(taken) == 2 and taken[0][1] <= taken[1][0]


def call_during_break_day() -> Problem:
    """An hour's break fixed at 10:45, an office open 11:00-12:00 and a visit V7 due by 11:45:
    the call, V7 and then the delivery D cannot all follow V1 (the call can only start at
    11:45, after the break), though the routing model lets the break fall during the call."""
    office = Office("O", "NADRA centre", Location(31.6, 74.3), window("11:00", "12:00"), 300)
    p = problem(
        [
            agent(
                "A",
                shift=("06:00", "12:30"),
                breaks=(Break("b0", 3600, window("10:45", "10:45")),),
            )
        ],
        [
            visit("D", windows=[("06:00", "12:15")], service="cnic_renewal", pickup_office="O"),
            visit("V1", windows=[("06:00", "06:00")], service="cnic_renewal"),
            visit("V7", windows=[("10:30", "11:45"), ("12:15", "12:15")], service="cnic_renewal"),
        ],
    )
    return dataclasses.replace(p, offices=(office,))


def test_route_that_cannot_be_timed_keeps_what_fits_in_order() -> None:
    """V1, the call, V7, D: after V1 and V7 the delivery no longer fits, so the route keeps
    V1 and V7 and the plan is valid."""
    p = call_during_break_day()
    m = line_matrix([0] * 6)
    pre = presolve(p, m)
    build = build_model(p, m, pre, 0)
    steps = [
        Step(StopKind.VISIT, 1),
        Step(StopKind.PICKUP, 0, (0,)),
        Step(StopKind.VISIT, 2),
        Step(StopKind.VISIT, 0),
    ]
    assert not route_fits(p, 0, steps, model_travel(m, 1.0))
    kept = fitting_steps(p, m, build, 0, steps)
    assert [(s.kind, s.pos) for s in kept] == [(StopKind.VISIT, 1), (StopKind.VISIT, 2)]
    assert route_fits(p, 0, kept, model_travel(m, 1.0))


def test_plan_stays_valid_when_the_model_lets_a_break_fall_during_a_call() -> None:
    """The model's route (V1, call, V7, D) cannot be timed; the plan keeps what fits instead
    of failing, and passes the checker."""
    plan = solved(call_during_break_day(), line_matrix([0] * 6))
    assert plan.solver["routes_cut_to_fit"] <= 1


def test_break_taken_on_the_way_delays_the_arrival() -> None:
    """Two long visits an hour's ride apart, lunch due between them: the arrival is later by
    the whole break."""
    p = problem(
        [agent("A", breaks=(lunch("09:00", "09:30", minutes=30),))],
        [
            visit("V1", windows=[("08:00", "08:00")], service="cnic_renewal"),
            visit("V2", windows=[("08:00", "18:00")], duration_s=3600),
        ],
    )
    plan = solved(p, line_matrix([0, 3600, 0, 0]))
    assert order_of(plan, "A") == ["V1", "V2"]
    second = plan.routes[0].stops[1]
    assert second.arrival_s == hm("08:20") + 3600 + 1800


def test_break_conflict_is_the_reason() -> None:
    """A two-hour break covering the whole slot leaves the visit unassigned for that reason."""
    p = problem(
        [agent("A", breaks=(Break("training", 2 * 3600, window("12:00", "12:00")),))],
        [visit("V1", windows=[("12:30", "13:30")])],
    )
    plan = solved(p, line_matrix([300, 0, 0]))
    assert reasons(plan) == {"V1": Reason.BREAK_CONFLICT}
    assert "Agents considered: A." in plan.unassigned[0].message


# --- office calls ----------------------------------------------------------------------------


def test_delivery_detours_to_its_office_first() -> None:
    """The document is collected at the office, 500 s the other way, before the delivery."""
    p = with_offices(
        problem([agent("A")], [visit("V1", pickup_office="O")]),
        office(),
    )
    plan = solved(p, line_matrix([100, 0, 0, -500]))
    stops = plan.routes[0].stops
    assert [(s.kind, s.visit_id) for s in stops] == [(StopKind.PICKUP, "O"), (StopKind.VISIT, "V1")]
    assert stops[0].collects == ("V1",)
    assert stops[0].departure_s - stops[0].start_s == 600
    assert plan.routes[0].travel_s == 500 + 600 + 100


def test_two_deliveries_from_one_office_share_one_call() -> None:
    """One call collects both documents: one pickup stop, one pickup time."""
    p = with_offices(
        problem([agent("A")], [visit("V1", pickup_office="O"), visit("V2", pickup_office="O")]),
        office(),
    )
    plan = solved(p, line_matrix([100, 200, 0, 0, -500]))
    stops = plan.routes[0].stops
    calls = [s for s in stops if s.kind == StopKind.PICKUP]
    assert len(calls) == 1 and sorted(calls[0].collects) == ["V1", "V2"]
    assert stops[0].kind == StopKind.PICKUP
    assert plan.routes[0].travel_s == 500 + 700 + 200


def test_office_closed_before_the_slot_leaves_the_delivery_unassigned() -> None:
    """The office opens only after the delivery slot has closed."""
    p = with_offices(
        problem([agent("A")], [visit("V1", windows=[("09:00", "10:00")], pickup_office="O")]),
        office(opening=("16:00", "17:00")),
    )
    plan = solved(p, line_matrix([100, 0, 0, 50]))
    assert reasons(plan) == {"V1": Reason.OFFICE_CLOSED_FOR_PICKUP}
    assert "office O" in plan.unassigned[0].message


def test_office_call_waits_for_opening_hours() -> None:
    """The call starts when the office opens, and the delivery follows it."""
    p = with_offices(
        problem([agent("A")], [visit("V1", windows=[("08:00", "18:00")], pickup_office="O")]),
        office(opening=("10:00", "12:00")),
    )
    plan = solved(p, line_matrix([100, 0, 0, 50]))
    call, delivery = plan.routes[0].stops
    assert call.start_s == hm("10:00")
    assert delivery.start_s == hm("10:10") + 50


# --- soft windows ----------------------------------------------------------------------------


def _busy_morning(**soft: int) -> Problem:
    """V1 fills 09:00-10:00; V2, at the same door, is booked 09:30-09:40."""
    return problem(
        [agent("A")],
        [
            visit("V1", windows=[("09:00", "09:00")], duration_s=3600, required=True),
            visit("V2", windows=[("09:30", "09:40")], **soft),
        ],
    )


def test_hard_window_drops_the_visit_that_cannot_be_on_time() -> None:
    """By default windows are hard: V2 cannot start by 09:40 and is dropped."""
    plan = solved(_busy_morning(), line_matrix([0, 0, 0, 0]))
    assert reasons(plan) == {"V2": Reason.CAPACITY_OR_TIME}


def test_lateness_is_accepted_and_reported() -> None:
    """With 30 minutes' allowance V2 starts at 10:00, 20 minutes late, rather than be dropped."""
    plan = solved(_busy_morning(max_late_s=1800, late_cost_per_min=5), line_matrix([0, 0, 0, 0]))
    assert stop_of(plan, "V2") == (hm("10:00"), 1200)
    assert plan.solver["objective"] == 20 * 5


def test_waiting_for_the_next_slot_beats_being_late() -> None:
    """With a second slot in the afternoon, V2 waits for it instead of starting late."""
    p = problem(
        [agent("A")],
        [
            visit("V1", windows=[("09:00", "09:00")], duration_s=3600, required=True),
            visit(
                "V2",
                windows=[("09:30", "09:40"), ("14:00", "15:00")],
                max_late_s=3600,
                late_cost_per_min=5,
            ),
        ],
    )
    plan = solved(p, line_matrix([0, 0, 0, 0]))
    assert stop_of(plan, "V2") == (hm("14:00"), 0)


def test_lateness_after_an_earlier_slot_when_the_shift_ends_first() -> None:
    """Ending at 13:00, the agent cannot wait for the afternoon slot: V2 is late after the first."""
    p = problem(
        [agent("A", shift=("08:00", "13:00"))],
        [
            visit("V1", windows=[("09:00", "09:00")], duration_s=3600, required=True),
            visit(
                "V2",
                windows=[("09:30", "09:40"), ("14:00", "15:00")],
                max_late_s=3600,
                late_cost_per_min=5,
            ),
        ],
    )
    plan = solved(p, line_matrix([0, 0, 0, 0]))
    assert stop_of(plan, "V2") == (hm("10:00"), 1200)


# --- balance and continuity ------------------------------------------------------------------


def _line_day(weight: float) -> Problem:
    p = problem([agent("A"), agent("B")], [visit(f"V{k}") for k in range(1, 6)])
    return dataclasses.replace(p, balance_weight=weight)


def test_without_balance_one_agent_rides_the_whole_line() -> None:
    """Weight 0: one agent serving the line out and back rides least."""
    plan = solved(_line_day(0.0), line_matrix([100, 200, 300, 400, 500, 0, 0, 0, 0]))
    assert len(plan.routes) == 1
    assert len(plan.routes[0].stops) == 5


def test_balance_weight_splits_the_line() -> None:
    """Weight 1: a second agent takes part of the line, though it adds travel."""
    plan = solved(_line_day(1.0), line_matrix([100, 200, 300, 400, 500, 0, 0, 0, 0]))
    assert len(plan.routes) == 2
    assert sum(len(r.stops) for r in plan.routes) == 5


def _preference_day(detour_s: int) -> tuple[Problem, list[int]]:
    """Agent 'near' sits at the visit's door; 'known' lives ``detour_s`` away."""
    p = problem([agent("near"), agent("known")], [visit("V1", preferred_agent="known")])
    return p, [0, 0, detour_s, 0, detour_s]


def test_preferred_agent_wins_over_a_small_detour() -> None:
    """Riding 2 x 300 s more is worth keeping the agent the family knows."""
    p, positions = _preference_day(300)
    plan = solved(p, line_matrix(positions))
    assert order_of(plan, "known") == ["V1"]


def test_preferred_agent_loses_to_a_big_detour() -> None:
    """Riding 2 x 1000 s more is not: the near agent serves the visit."""
    p, positions = _preference_day(1000)
    plan = solved(p, line_matrix(positions))
    assert order_of(plan, "near") == ["V1"]


def test_hard_pin_wins_over_a_big_detour() -> None:
    """A required agent serves the visit whatever the ride."""
    p = problem([agent("near"), agent("known")], [visit("V1", required_agent="known")])
    plan = solved(p, line_matrix([0, 0, 5000, 0, 5000]))
    assert order_of(plan, "known") == ["V1"]


def test_reasons_name_the_agents_considered() -> None:
    """An unreachable visit lists the skilled agents that were tried, and only those."""
    p = problem(
        [agent("lic", skills=["licensing"]), agent("n1"), agent("n2")],
        [visit("V1", windows=[("08:00", "08:05")], service="cnic_renewal")],
    )
    plan = solved(p, line_matrix([3600, 0, 0, 0, 0, 0, 0]))
    assert reasons(plan) == {"V1": Reason.UNREACHABLE_IN_WINDOW}
    assert plan.unassigned[0].message.endswith("Agents considered: n1, n2.")


def test_checker_flags_false_new_reasons() -> None:
    """Break, office and capacity claims are refuted by a breakless agent with room and a
    visit that is no delivery; the solver's own reasons pass."""
    p = problem([agent("A")], [visit("V1")])
    m = line_matrix([300, 0, 0])
    for reason in (Reason.BREAK_CONFLICT, Reason.OFFICE_CLOSED_FOR_PICKUP, Reason.CAPACITY):
        plan = Plan((), (Unassigned("V1", reason, ""),))
        report = check_plan(p, plan, m)
        assert report.kinds() == {WRONG_REASON}, (reason, report.summary())
