"""The independent plan checker: a hand-timed plan passes, and each kind of damage is named."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dispatch import check
from dispatch.check import CheckReport, Violation, check_plan
from dispatch.errors import InputError
from dispatch.geo.matrix import CongestionProfile, TravelMatrix
from dispatch.model import Break, Office, Problem, TimeWindow
from dispatch.plan import BreakTaken, Plan, Reason, Route, Stop, StopKind, Unassigned
from tests.factories import ORIGIN, agent, hm, line_matrix, problem, visit

# Locations on a line, in seconds from the office (distance = 10 m per second):
# V1 600, V2 1200, V3 300, V4 900; both agents start and end at the office (0).
POSITIONS_S = [600, 1200, 300, 900, 0, 0, 0, 0]
DELIVERY_S = 5 * 60  # document_delivery
CNIC_S = 20 * 60  # cnic_renewal
BIRTH_S = 10 * 60  # birth_certificate


def tiny_problem(**agent_changes: object) -> Problem:
    """Two agents, four visits; V4 asks for a woman agent and nobody has that skill."""
    return problem(
        [agent("A1", **agent_changes), agent("A2")],
        [
            visit("V1", windows=[("09:00", "10:00")]),
            visit("V2", service="cnic_renewal"),
            visit("V3", service="birth_certificate"),
            visit("V4", extra_skills=frozenset({"female"})),
        ],
    )


def valid_plan() -> Plan:
    """A1: office -> V1 (waits for 09:00) -> V2 -> office; A2: office -> V3 -> office."""
    a1_v1_arrival = hm("08:00") + 600
    a1_v1_departure = hm("09:00") + DELIVERY_S
    a1_v2_arrival = a1_v1_departure + 600  # V1 -> V2 is 1200 - 600
    a1_v2_departure = a1_v2_arrival + CNIC_S
    a1 = Route(
        "A1",
        start_s=hm("08:00"),
        stops=(
            Stop("V1", a1_v1_arrival, hm("09:00"), a1_v1_departure, 600, 6000),
            Stop("V2", a1_v2_arrival, a1_v2_arrival, a1_v2_departure, 600, 6000),
        ),
        end_s=a1_v2_departure + 1200,
        end_travel_s=1200,
        end_distance_m=12000,
    )
    a2_v3_arrival = hm("08:00") + 300
    a2 = Route(
        "A2",
        start_s=hm("08:00"),
        stops=(Stop("V3", a2_v3_arrival, a2_v3_arrival, a2_v3_arrival + BIRTH_S, 300, 3000),),
        end_s=a2_v3_arrival + BIRTH_S + 300,
        end_travel_s=300,
        end_distance_m=3000,
    )
    return Plan(
        (a1, a2),
        (Unassigned("V4", Reason.NO_SKILLED_AGENT, "nobody has skill female"),),
    )


MATRIX = line_matrix(POSITIONS_S)


def with_route(plan: Plan, route_i: int, **changes: object) -> Plan:
    routes = list(plan.routes)
    routes[route_i] = dataclasses.replace(routes[route_i], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(plan, routes=tuple(routes))


def with_stop(plan: Plan, route_i: int, stop_i: int, **changes: object) -> Plan:
    stops = list(plan.routes[route_i].stops)
    stops[stop_i] = dataclasses.replace(stops[stop_i], **changes)  # type: ignore[arg-type]
    return with_route(plan, route_i, stops=tuple(stops))


def only(report: CheckReport, kind: str) -> list[Violation]:
    """Assert the report holds violations of exactly ``kind`` and return them."""
    assert {v.kind for v in report.violations} == {kind}, report.summary()
    assert not report.ok
    return list(report.violations)


def test_valid_hand_timed_plan_passes() -> None:
    """A plan whose every time was worked out by hand has no violations."""
    report = check_plan(tiny_problem(), valid_plan(), MATRIX)
    assert report.ok, report.summary()
    assert report.violations == ()
    assert report.summary() == "plan OK"


def test_kinds_are_documented_constants() -> None:
    """Every kind the brief names exists as a module constant listed in KINDS."""
    names = [
        "unknown_agent",
        "duplicate_route",
        "unknown_visit",
        "duplicate_visit",
        "missing_visit",
        "skill",
        "window",
        "shift_start",
        "shift_end",
        "max_visits",
        "capacity",
        "travel_time",
        "distance",
        "arrival",
        "early_start",
        "service_time",
        "route_end",
        "empty_route",
        "wrong_reason",
        "required_agent",
        "lateness",
        "unknown_office",
        "office_hours",
        "pickup",
        "break",
    ]
    for name in names:
        assert getattr(check, name.upper()) == name
        assert name in check.KINDS


def test_summary_has_one_line_per_violation() -> None:
    """The summary lists each violation on its own line with kind and place."""
    plan = with_route(valid_plan(), 1, end_s=hm("08:00"), end_travel_s=7)
    report = check_plan(tiny_problem(), plan, MATRIX)
    lines = report.summary().splitlines()
    assert len(lines) == len(report.violations) >= 2
    assert all(line.startswith("route_end: route A2: ") for line in lines)


def test_unknown_agent() -> None:
    """A route for an agent the problem does not have is reported by agent id."""
    plan = with_route(valid_plan(), 1, agent_id="A9")
    (v,) = only(check_plan(tiny_problem(), plan, MATRIX), check.UNKNOWN_AGENT)
    assert v.where == "route A9"


def test_duplicate_route() -> None:
    """Splitting A1's day into two valid routes is flagged as two routes for one agent."""
    v1_departure = hm("09:00") + DELIVERY_S
    first = Route(
        "A1",
        hm("08:00"),
        (Stop("V1", hm("08:00") + 600, hm("09:00"), v1_departure, 600, 6000),),
        v1_departure + 600,
        600,
        6000,
    )
    second_start = v1_departure + 600
    v2_arrival = second_start + 1200
    second = Route(
        "A1",
        second_start,
        (Stop("V2", v2_arrival, v2_arrival, v2_arrival + CNIC_S, 1200, 12000),),
        v2_arrival + CNIC_S + 1200,
        1200,
        12000,
    )
    plan = dataclasses.replace(valid_plan(), routes=(first, valid_plan().routes[1], second))
    (v,) = only(check_plan(tiny_problem(), plan, MATRIX), check.DUPLICATE_ROUTE)
    assert v.where == "route A1"
    assert "routes[0]" in v.message and "routes[2]" in v.message


def test_unknown_visit_unassigned() -> None:
    """An unassigned entry for a visit the problem does not have is reported."""
    plan = valid_plan()
    extra = Unassigned("V99", Reason.CAPACITY_OR_TIME, "")
    plan = dataclasses.replace(plan, unassigned=(*plan.unassigned, extra))
    (v,) = only(check_plan(tiny_problem(), plan, MATRIX), check.UNKNOWN_VISIT)
    assert v.where == "unassigned[1] (visit V99)"


def test_unknown_visit_routed() -> None:
    """A stop for an unknown visit is reported; the plan's own arithmetic around it still holds."""
    plan = valid_plan()
    v3 = plan.routes[1].stops[0]
    ghost = Stop("V99", v3.departure_s + 100, v3.departure_s + 100, v3.departure_s + 200, 100, 1)
    plan = with_route(
        plan,
        1,
        stops=(v3, ghost),
        end_s=ghost.departure_s + 50,
        end_travel_s=50,
        end_distance_m=1,
    )
    (v,) = only(check_plan(tiny_problem(), plan, MATRIX), check.UNKNOWN_VISIT)
    assert v.where == "route A2 stop 2 (visit V99)"


def test_duplicate_visit_routed_and_unassigned() -> None:
    """A visit both routed and listed as unassigned is reported once, naming both places."""
    plan = valid_plan()
    extra = Unassigned("V3", Reason.CAPACITY_OR_TIME, "")
    plan = dataclasses.replace(plan, unassigned=(*plan.unassigned, extra))
    (v,) = only(check_plan(tiny_problem(), plan, MATRIX), check.DUPLICATE_VISIT)
    assert v.where == "visit V3"
    assert "route A2 stop 1" in v.message and "unassigned[1]" in v.message


def test_duplicate_visit_unassigned_twice() -> None:
    """A visit unassigned twice is a duplicate."""
    plan = valid_plan()
    plan = dataclasses.replace(plan, unassigned=plan.unassigned * 2)
    (v,) = only(check_plan(tiny_problem(), plan, MATRIX), check.DUPLICATE_VISIT)
    assert v.where == "visit V4"


def test_duplicate_visit_routed_twice() -> None:
    """A visit served on two routes is a duplicate."""
    plan = valid_plan()
    v3_arrival = hm("08:00") + 300
    again = Route(
        "A1",
        hm("08:00"),
        (Stop("V3", v3_arrival, v3_arrival, v3_arrival + BIRTH_S, 300, 3000),),
        v3_arrival + BIRTH_S + 300,
        300,
        3000,
    )
    plan = dataclasses.replace(plan, routes=(plan.routes[1], again))
    report = check_plan(tiny_problem(), plan, MATRIX)
    duplicates = [v for v in report.violations if v.kind == check.DUPLICATE_VISIT]
    assert [v.where for v in duplicates] == ["visit V3"]
    # V1 and V2 lost their route, so they are missing too: nothing else is wrong.
    assert {v.kind for v in report.violations} == {check.DUPLICATE_VISIT, check.MISSING_VISIT}


def test_missing_visit() -> None:
    """A visit neither routed nor unassigned is reported by id."""
    plan = dataclasses.replace(valid_plan(), unassigned=())
    (v,) = only(check_plan(tiny_problem(), plan, MATRIX), check.MISSING_VISIT)
    assert v.where == "visit V4"


def test_skill() -> None:
    """An agent without the NADRA biometric skill may not do a CNIC renewal."""
    prob = tiny_problem(skills=("licensing", "civil_registration"))
    (v,) = only(check_plan(prob, valid_plan(), MATRIX), check.SKILL)
    assert v.where == "route A1 stop 2 (visit V2)"
    assert "nadra_biometric" in v.message


def test_window() -> None:
    """Service at 09:00 is outside a 10:00-11:00 booking."""
    prob = tiny_problem()
    v1 = dataclasses.replace(prob.visits[0], windows=(TimeWindow(hm("10:00"), hm("11:00")),))
    prob = dataclasses.replace(prob, visits=(v1, *prob.visits[1:]))
    (v,) = only(check_plan(prob, valid_plan(), MATRIX), check.WINDOW)
    assert v.where == "route A1 stop 1 (visit V1)"


def test_window_second_window_accepted() -> None:
    """Starting inside any one of several windows is fine."""
    prob = tiny_problem()
    windows = (TimeWindow(hm("07:00"), hm("07:30")), TimeWindow(hm("09:00"), hm("09:00")))
    v1 = dataclasses.replace(prob.visits[0], windows=windows)
    prob = dataclasses.replace(prob, visits=(v1, *prob.visits[1:]))
    assert check_plan(prob, valid_plan(), MATRIX).ok


def test_shift_start() -> None:
    """Leaving the office at 07:50 when the shift starts at 08:00 is flagged."""
    plan = with_route(valid_plan(), 0, start_s=hm("07:50"))
    plan = with_stop(plan, 0, 0, arrival_s=hm("07:50") + 600)
    (v,) = only(check_plan(tiny_problem(), plan, MATRIX), check.SHIFT_START)
    assert v.where == "route A1"


def test_shift_end() -> None:
    """Getting back after the shift ends is flagged."""
    prob = tiny_problem(shift=("08:00", "09:30"))
    (v,) = only(check_plan(prob, valid_plan(), MATRIX), check.SHIFT_END)
    assert v.where == "route A1"


def test_max_visits() -> None:
    """Two stops for an agent allowed one is flagged."""
    (v,) = only(check_plan(tiny_problem(max_visits=1), valid_plan(), MATRIX), check.MAX_VISITS)
    assert v.where == "route A1"


def test_capacity() -> None:
    """Three documents on a route whose agent can carry two is flagged, naming the quantity."""
    prob = tiny_problem(capacities={"documents": 2})
    v1 = dataclasses.replace(prob.visits[0], demand={"documents": 2})
    v2 = dataclasses.replace(prob.visits[1], demand={"documents": 1})
    prob = dataclasses.replace(prob, visits=(v1, v2, *prob.visits[2:]))
    (v,) = only(check_plan(prob, valid_plan(), MATRIX), check.CAPACITY)
    assert v.where == "route A1"
    assert "'documents'" in v.message and "3" in v.message


def test_capacity_missing_name_is_zero() -> None:
    """Demand for a quantity the agent has no capacity for at all is flagged."""
    prob = tiny_problem()
    v3 = dataclasses.replace(prob.visits[2], demand={"cash_pkr": 1})
    prob = dataclasses.replace(prob, visits=(*prob.visits[:2], v3, prob.visits[3]))
    (v,) = only(check_plan(prob, valid_plan(), MATRIX), check.CAPACITY)
    assert v.where == "route A2"


def test_travel_time() -> None:
    """A wrong travel_s on a stop whose arrival is right is a travel_time violation only."""
    plan = with_stop(valid_plan(), 0, 1, travel_s=599)
    (v,) = only(check_plan(tiny_problem(), plan, MATRIX), check.TRAVEL_TIME)
    assert v.where == "route A1 stop 2 (visit V2)"


def speedy_a2_problem() -> Problem:
    """The tiny problem with A2 riding 1.5 times as fast."""
    prob = tiny_problem()
    a2 = dataclasses.replace(prob.agents[1], speed_factor=1.5)
    return dataclasses.replace(prob, agents=(prob.agents[0], a2))


def test_travel_time_applies_speed_factor() -> None:
    """A faster agent's plan timed at base speed is flagged on A2's legs and nowhere else."""
    report = check_plan(speedy_a2_problem(), valid_plan(), MATRIX)
    travel = [v for v in report.violations if v.kind == check.TRAVEL_TIME]
    assert [v.where for v in travel] == ["route A2 stop 1 (visit V3)"]
    assert "gives 200" in travel[0].message  # 300 s / 1.5
    assert all(v.where.startswith("route A2") for v in report.violations)
    assert {v.kind for v in report.violations} == {
        check.TRAVEL_TIME,
        check.ARRIVAL,
        check.ROUTE_END,
    }


def test_speed_factor_plan_retimed_passes() -> None:
    """Re-timing A2's route for speed 1.5 by hand (300 s -> 200 s each way) makes it valid."""
    arrival = hm("08:00") + 200
    route = Route(
        "A2",
        hm("08:00"),
        (Stop("V3", arrival, arrival, arrival + BIRTH_S, 200, 3000),),
        arrival + BIRTH_S + 200,
        200,
        3000,
    )
    plan = valid_plan()
    plan = Plan((plan.routes[0], route), plan.unassigned)
    assert check_plan(speedy_a2_problem(), plan, MATRIX).ok


def test_travel_time_uses_departure_hour_congestion() -> None:
    """With 2x congestion from 09:00, the leg leaving V1 at 09:05 takes twice as long."""
    profile = CongestionProfile(tuple(2.0 if 9 <= h < 10 else 1.0 for h in range(24)))
    congested = TravelMatrix(MATRIX.duration_s, MATRIX.distance_m, profile)
    report = check_plan(tiny_problem(), valid_plan(), congested)
    travel = [v for v in report.violations if v.kind == check.TRAVEL_TIME]
    assert [v.where for v in travel] == ["route A1 stop 2 (visit V2)"]
    assert "1200" in travel[0].message
    # The leg leaving V2 at 09:35 doubles too; legs leaving at 08:00 are unaffected.
    assert {(v.kind, v.where) for v in report.violations} == {
        (check.TRAVEL_TIME, "route A1 stop 2 (visit V2)"),
        (check.ARRIVAL, "route A1 stop 2 (visit V2)"),
        (check.ROUTE_END, "route A1"),
    }


def test_distance() -> None:
    """A wrong distance_m is a distance violation only."""
    plan = with_stop(valid_plan(), 1, 0, distance_m=2999)
    (v,) = only(check_plan(tiny_problem(), plan, MATRIX), check.DISTANCE)
    assert v.where == "route A2 stop 1 (visit V3)"


def test_arrival() -> None:
    """An arrival earlier than departure + travel is flagged even when waiting hides it."""
    plan = with_stop(valid_plan(), 0, 0, arrival_s=hm("08:05"))
    (v,) = only(check_plan(tiny_problem(), plan, MATRIX), check.ARRIVAL)
    assert v.where == "route A1 stop 1 (visit V1)"


def test_arrival_when_travel_and_arrival_agree_but_matrix_does_not() -> None:
    """Arrival is measured against the matrix, so a consistent but short leg is caught twice."""
    plan = valid_plan()
    stop = plan.routes[1].stops[0]
    plan = with_stop(
        plan,
        1,
        0,
        travel_s=100,
        arrival_s=hm("08:00") + 100,
        start_s=hm("08:00") + 100,
        departure_s=hm("08:00") + 100 + BIRTH_S,
    )
    plan = with_route(plan, 1, end_s=plan.routes[1].end_s - 200)
    report = check_plan(tiny_problem(), plan, MATRIX)
    assert {v.kind for v in report.violations} == {check.TRAVEL_TIME, check.ARRIVAL}
    assert {v.where for v in report.violations} == {f"route A2 stop 1 (visit {stop.visit_id})"}


def test_early_start() -> None:
    """Starting service before arriving is flagged."""
    plan = valid_plan()
    stop = plan.routes[0].stops[1]
    start_s = stop.arrival_s - 300
    plan = with_stop(plan, 0, 1, start_s=start_s, departure_s=start_s + CNIC_S)
    plan = with_route(plan, 0, end_s=start_s + CNIC_S + 1200)
    (v,) = only(check_plan(tiny_problem(), plan, MATRIX), check.EARLY_START)
    assert v.where == "route A1 stop 2 (visit V2)"


def test_service_time() -> None:
    """Leaving a CNIC renewal after 15 minutes instead of 20 is flagged."""
    plan = valid_plan()
    stop = plan.routes[0].stops[1]
    departure_s = stop.start_s + 15 * 60
    plan = with_stop(plan, 0, 1, departure_s=departure_s)
    plan = with_route(plan, 0, end_s=departure_s + 1200)
    (v,) = only(check_plan(tiny_problem(), plan, MATRIX), check.SERVICE_TIME)
    assert v.where == "route A1 stop 2 (visit V2)"


def test_service_time_uses_visit_override() -> None:
    """A visit's own duration overrides its service's default."""
    prob = tiny_problem()
    v3 = dataclasses.replace(prob.visits[2], duration_s=BIRTH_S + 60)
    prob = dataclasses.replace(prob, visits=(*prob.visits[:2], v3, prob.visits[3]))
    (v,) = only(check_plan(prob, valid_plan(), MATRIX), check.SERVICE_TIME)
    assert v.where == "route A2 stop 1 (visit V3)"


@pytest.mark.parametrize(
    "changes",
    [{"end_s": hm("08:20") + 1}, {"end_travel_s": 301}, {"end_distance_m": 2999}],
)
def test_route_end(changes: dict[str, int]) -> None:
    """A wrong end time, end travel or end distance is a route_end violation."""
    plan = with_route(valid_plan(), 1, **changes)
    violations = only(check_plan(tiny_problem(), plan, MATRIX), check.ROUTE_END)
    assert {v.where for v in violations} == {"route A2"}


def test_empty_route() -> None:
    """A route with no stops is flagged; its visit is unassigned instead."""
    plan = valid_plan()
    idle = Route("A2", hm("08:00"), (), hm("08:00"), 0, 0)
    plan = Plan(
        (plan.routes[0], idle),
        (*plan.unassigned, Unassigned("V3", Reason.CAPACITY_OR_TIME, "")),
    )
    (v,) = only(check_plan(tiny_problem(), plan, MATRIX), check.EMPTY_ROUTE)
    assert v.where == "route A2"


def drop_v3(reason: Reason) -> Plan:
    """The valid plan without A2's route, V3 unassigned for ``reason``."""
    plan = valid_plan()
    return Plan((plan.routes[0],), (*plan.unassigned, Unassigned("V3", reason, "")))


def test_wrong_reason_no_skilled_agent() -> None:
    """Claiming nobody can do a birth certificate is false: both agents can."""
    report = check_plan(tiny_problem(), drop_v3(Reason.NO_SKILLED_AGENT), MATRIX)
    (v,) = only(report, check.WRONG_REASON)
    assert v.where == "unassigned[1] (visit V3)"


def test_wrong_reason_window_outside_shifts() -> None:
    """Claiming the window misses every shift is false when a shift covers it."""
    report = check_plan(tiny_problem(), drop_v3(Reason.WINDOW_OUTSIDE_SHIFTS), MATRIX)
    (v,) = only(report, check.WRONG_REASON)
    assert v.where == "unassigned[1] (visit V3)"


def test_true_window_outside_shifts_is_accepted() -> None:
    """An evening booking that ends before the service could fit in any shift is not flagged."""
    prob = tiny_problem()
    v3 = dataclasses.replace(prob.visits[2], windows=(TimeWindow(hm("17:55"), hm("19:00")),))
    prob = dataclasses.replace(prob, visits=(*prob.visits[:2], v3, prob.visits[3]))
    # 17:55 + 10 minutes ends after 18:00, so no shift leaves room for it.
    assert check_plan(prob, drop_v3(Reason.WINDOW_OUTSIDE_SHIFTS), MATRIX).ok


def test_wrong_reason_unreachable_in_window() -> None:
    """Claiming V3 is unreachable is false: A2 can ride straight there and back in time."""
    report = check_plan(tiny_problem(), drop_v3(Reason.UNREACHABLE_IN_WINDOW), MATRIX)
    (v,) = only(report, check.WRONG_REASON)
    assert "A1" in v.message or "A2" in v.message


def test_true_unreachable_is_accepted() -> None:
    """A window that closes 1 s before anyone can arrive makes 'unreachable' a true claim."""
    prob = tiny_problem()
    window = TimeWindow(hm("07:00"), hm("08:00") + 299)  # V3 is 300 s from the office
    v3 = dataclasses.replace(prob.visits[2], windows=(window,))
    prob = dataclasses.replace(prob, visits=(*prob.visits[:2], v3, prob.visits[3]))
    assert check_plan(prob, drop_v3(Reason.UNREACHABLE_IN_WINDOW), MATRIX).ok


def test_wrong_reason_no_agents() -> None:
    """Claiming there are no agents is false when the problem has two."""
    (v,) = only(check_plan(tiny_problem(), drop_v3(Reason.NO_AGENTS), MATRIX), check.WRONG_REASON)
    assert v.where == "unassigned[1] (visit V3)"


def test_capacity_or_time_is_not_second_guessed() -> None:
    """A skilled visit dropped for capacity or time is never flagged: that is the solver's call."""
    assert check_plan(tiny_problem(), drop_v3(Reason.CAPACITY_OR_TIME), MATRIX).ok


def test_unknown_service_reported_not_raised() -> None:
    """A visit naming a service outside the catalog is reported, not a KeyError."""
    prob = tiny_problem()
    v4 = dataclasses.replace(prob.visits[3], service="teleportation")
    prob = dataclasses.replace(prob, visits=(*prob.visits[:3], v4))
    (v,) = only(check_plan(prob, valid_plan(), MATRIX), check.UNKNOWN_SERVICE)
    assert v.where == "visit V4"


def test_garbage_plan_does_not_raise() -> None:
    """Unknown ids, negative and missing times, unhashable ids: all reported, nothing raised."""
    garbage = Plan(
        (
            Route("nobody", -500, (Stop("ghost", -1, -2, -3, -4, -5),), -9, -1, -1),
            Route("A1", -100, (Stop("V1", -50, -60, -70, -80, -90),), -10, 0, 0),
            Route("A2", None, (Stop(["V3"], None, "x", 1.5, 0, 0),), 0, 0, 0),  # type: ignore[arg-type]
            Route("A2", 0, (), 0, 0, 0),
        ),
        (
            Unassigned("V1", "made-up", ""),  # type: ignore[arg-type]
            Unassigned(None, Reason.NO_AGENTS, ""),  # type: ignore[arg-type]
        ),
    )
    report = check_plan(tiny_problem(), garbage, MATRIX)
    kinds = report.kinds()
    expected = {
        check.UNKNOWN_AGENT,
        check.UNKNOWN_VISIT,
        check.MALFORMED,
        check.DUPLICATE_ROUTE,
        check.DUPLICATE_VISIT,
        check.MISSING_VISIT,
        check.SHIFT_START,
        check.WINDOW,
        check.EARLY_START,
        check.SERVICE_TIME,
        check.TRAVEL_TIME,
        check.ARRIVAL,
        check.ROUTE_END,
        check.EMPTY_ROUTE,
    }
    assert expected <= kinds, report.summary()
    assert any(
        v.where == "unassigned[0] (visit V1)" and "made-up" in v.message for v in report.violations
    )
    assert len(report.summary().splitlines()) == len(report.violations)


def test_matrix_of_wrong_size_is_an_input_error() -> None:
    """A matrix that does not match the problem's locations is a clear input error."""
    small = line_matrix(POSITIONS_S[:-1])
    with pytest.raises(InputError, match="matrix"):
        check_plan(tiny_problem(), valid_plan(), small)


def test_matrix_order_is_visits_then_starts_then_ends() -> None:
    """Separate start and end places: the end leg reads the agent's end index."""
    # A1 ends 100 s beyond the office; everything else as before.
    positions = [*POSITIONS_S[:6], -100, 0]
    plan = valid_plan()
    assert check_plan(tiny_problem(), plan, line_matrix(positions)).kinds() == {check.ROUTE_END}
    a1 = plan.routes[0]
    retimed = with_route(
        plan,
        0,
        end_s=a1.end_s + 100,
        end_travel_s=a1.end_travel_s + 100,
        end_distance_m=a1.end_distance_m + 1000,
    )
    assert check_plan(tiny_problem(), retimed, line_matrix(positions)).ok


def test_zero_matrix_accepts_zero_travel() -> None:
    """With every location at one place, a plan with zero travel is valid (no division tricks)."""
    zero = TravelMatrix(np.zeros((8, 8), dtype=np.int64), np.zeros((8, 8), dtype=np.int64))
    stop = Stop("V3", hm("08:00"), hm("08:00"), hm("08:00") + BIRTH_S, 0, 0)
    plan = with_route(
        valid_plan(), 1, stops=(stop,), end_s=stop.departure_s, end_travel_s=0, end_distance_m=0
    )
    report = check_plan(tiny_problem(), plan, zero)
    assert all(v.where.startswith("route A1") for v in report.violations)
    assert report.violations  # A1's route still claims 600 s legs


# --- soft windows, pins and reasons judged among agents with room -----------------------------


def with_v3(prob: Problem, **changes: object) -> Problem:
    """``prob`` with V3 (served by A2 at 08:05 in the valid plan) changed."""
    v3 = dataclasses.replace(prob.visits[2], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(prob, visits=(*prob.visits[:2], v3, prob.visits[3]))


def test_soft_window_late_start_is_accepted_with_late_s() -> None:
    """Starting 5 minutes after a 08:00 close is fine with 10 minutes allowed and late_s 300."""
    prob = with_v3(tiny_problem(), windows=(TimeWindow(hm("07:00"), hm("08:00")),), max_late_s=600)
    plan = with_stop(valid_plan(), 1, 0, late_s=300)
    assert check_plan(prob, plan, MATRIX).ok


def test_lateness_must_be_reported() -> None:
    """The same late start reported as on time is a lateness violation."""
    prob = with_v3(tiny_problem(), windows=(TimeWindow(hm("07:00"), hm("08:00")),), max_late_s=600)
    (v,) = only(check_plan(prob, valid_plan(), MATRIX), check.LATENESS)
    assert v.where == "route A2 stop 1 (visit V3)"


def test_late_beyond_allowance_is_a_window_violation() -> None:
    """Five minutes late with only 200 s allowed is outside the window."""
    prob = with_v3(tiny_problem(), windows=(TimeWindow(hm("07:00"), hm("08:00")),), max_late_s=200)
    plan = with_stop(valid_plan(), 1, 0, late_s=300)
    (v,) = only(check_plan(prob, plan, MATRIX), check.WINDOW)
    assert v.where == "route A2 stop 1 (visit V3)"


def test_late_s_inside_a_window_is_flagged() -> None:
    """A stop inside its window claiming lateness is a lateness violation."""
    plan = with_stop(valid_plan(), 0, 1, late_s=60)
    (v,) = only(check_plan(tiny_problem(), plan, MATRIX), check.LATENESS)
    assert v.where == "route A1 stop 2 (visit V2)"


def test_required_agent() -> None:
    """A visit pinned to A1 but served by A2 is flagged."""
    prob = with_v3(tiny_problem(), required_agent="A1")
    (v,) = only(check_plan(prob, valid_plan(), MATRIX), check.REQUIRED_AGENT)
    assert v.where == "route A2 stop 1 (visit V3)"


def test_no_skilled_agent_is_true_when_the_pinned_agent_lacks_the_skill() -> None:
    """Only the pinned agent counts: if A2 (pinned) lacks the skill, the claim may be true."""
    prob = tiny_problem()
    a2 = dataclasses.replace(prob.agents[1], skills=frozenset())
    prob = with_v3(dataclasses.replace(prob, agents=(prob.agents[0], a2)), required_agent="A2")
    assert check_plan(prob, drop_v3(Reason.NO_SKILLED_AGENT), MATRIX).ok


def test_window_claim_judged_among_agents_with_room() -> None:
    """With no agent able to carry V3's demand, a window claim is not second-guessed."""
    prob = with_v3(tiny_problem(), demand={"documents": 5})
    assert check_plan(prob, drop_v3(Reason.WINDOW_OUTSIDE_SHIFTS), MATRIX).ok
    assert check_plan(prob, drop_v3(Reason.UNREACHABLE_IN_WINDOW), MATRIX).ok


# --- calls at an office before deliveries -----------------------------------------------------

# D1 (a delivery from office NADRA1) at 900 s; A1 starts and ends at 0; the office at 600 s.
OFFICE_POSITIONS_S = [900, 0, 0, 600]
OFFICE_MATRIX = line_matrix(OFFICE_POSITIONS_S)
PICKUP_S = 600


def office_problem() -> Problem:
    """One agent, one delivery whose documents wait at an office open 09:00-17:00."""
    prob = problem([agent("A1")], [visit("D1", pickup_office="NADRA1")])
    office = Office("NADRA1", "NADRA centre", ORIGIN, TimeWindow(hm("09:00"), hm("17:00")))
    return dataclasses.replace(prob, offices=(office,))


def office_plan() -> Plan:
    """Leave 08:30, reach the office 08:40, call 09:00-09:10, deliver 09:15-09:20, home 09:35."""
    call = Stop(
        "NADRA1",
        hm("08:40"),
        hm("09:00"),
        hm("09:00") + PICKUP_S,
        600,
        6000,
        kind=StopKind.PICKUP,
        collects=("D1",),
    )
    drop = Stop("D1", hm("09:15"), hm("09:15"), hm("09:15") + DELIVERY_S, 300, 3000)
    route = Route("A1", hm("08:30"), (call, drop), hm("09:20") + 900, 900, 9000)
    return Plan((route,), ())


def test_office_call_then_delivery_passes() -> None:
    """A hand-timed call at the office followed by the delivery is valid."""
    report = check_plan(office_problem(), office_plan(), OFFICE_MATRIX)
    assert report.ok, report.summary()


def test_delivery_without_a_call_at_its_office() -> None:
    """Riding straight to the delivery skips the office: a pickup violation at the delivery."""
    drop = Stop("D1", hm("08:15"), hm("08:15"), hm("08:15") + DELIVERY_S, 900, 9000)
    route = Route("A1", hm("08:00"), (drop,), hm("08:20") + 900, 900, 9000)
    (v,) = only(check_plan(office_problem(), Plan((route,), ()), OFFICE_MATRIX), check.PICKUP)
    assert v.where == "route A1 stop 1 (visit D1)"


def test_call_that_does_not_collect_the_delivery() -> None:
    """A call whose collects list misses the delivery does not count for it."""
    plan = with_stop(office_plan(), 0, 0, collects=())
    (v,) = only(check_plan(office_problem(), plan, OFFICE_MATRIX), check.PICKUP)
    assert v.where == "route A1 stop 2 (visit D1)"


def test_collects_entry_that_is_not_a_later_delivery() -> None:
    """Collecting for a visit that is not delivered later from this office is flagged."""
    plan = with_stop(office_plan(), 0, 0, collects=("D1", "V99"))
    (v,) = only(check_plan(office_problem(), plan, OFFICE_MATRIX), check.PICKUP)
    assert v.where == "route A1 stop 1 (office NADRA1)"
    assert "'V99'" in v.message


def test_office_hours() -> None:
    """Calling at 08:40, before the office opens at 09:00, is flagged."""
    call = dataclasses.replace(
        office_plan().routes[0].stops[0], start_s=hm("08:40"), departure_s=hm("08:40") + PICKUP_S
    )
    drop = Stop("D1", hm("08:55"), hm("08:55"), hm("08:55") + DELIVERY_S, 300, 3000)
    route = Route("A1", hm("08:30"), (call, drop), hm("09:00") + 900, 900, 9000)
    (v,) = only(check_plan(office_problem(), Plan((route,), ()), OFFICE_MATRIX), check.OFFICE_HOURS)
    assert v.where == "route A1 stop 1 (office NADRA1)"


def test_office_call_takes_pickup_s() -> None:
    """Leaving the office after 5 minutes instead of pickup_s is a service_time violation."""
    plan = with_stop(office_plan(), 0, 0, departure_s=hm("09:05"))
    plan = with_stop(
        plan, 0, 1, arrival_s=hm("09:10"), start_s=hm("09:10"), departure_s=hm("09:15")
    )
    plan = with_route(plan, 0, end_s=hm("09:30"))
    (v,) = only(check_plan(office_problem(), plan, OFFICE_MATRIX), check.SERVICE_TIME)
    assert v.where == "route A1 stop 1 (office NADRA1)"


def test_unknown_office() -> None:
    """A call at an office the problem lacks is named; the delivery then has no valid call."""
    plan = with_stop(office_plan(), 0, 0, visit_id="LAHORE9")
    report = check_plan(office_problem(), plan, OFFICE_MATRIX)
    assert report.kinds() == {check.UNKNOWN_OFFICE, check.PICKUP}
    assert [v.where for v in report.violations if v.kind == check.UNKNOWN_OFFICE] == [
        "route A1 stop 1 (office LAHORE9)"
    ]


def test_matrix_must_include_offices() -> None:
    """A matrix without the office's row is an input error, not a crash."""
    with pytest.raises(InputError, match="offices"):
        check_plan(office_problem(), office_plan(), line_matrix(OFFICE_POSITIONS_S[:-1]))


# --- breaks -----------------------------------------------------------------------------------

# W1 at 600 s (window 11:00-12:00), W2 at 1200 s (window 12:30-14:00); A1 at 0.
# A1 owes a 30-minute lunch starting between 11:00 and 12:00.
BREAK_MATRIX = line_matrix([600, 1200, 0, 0])
LUNCH = Break("lunch", 30 * 60, TimeWindow(hm("11:00"), hm("12:00")))


def break_problem(lunch: Break = LUNCH) -> Problem:
    return problem(
        [agent("A1", breaks=(lunch,))],
        [visit("W1", windows=[("11:00", "12:00")]), visit("W2", windows=[("12:30", "14:00")])],
    )


def break_plan(lunch: tuple[str, str], w2_arrival: str) -> Plan:
    """Leave 11:00, W1 11:10-11:15, ride 10 min to W2 (arriving at ``w2_arrival``), serve
    12:30-12:35, ride 20 min home: 12:55."""
    w1 = Stop("W1", hm("11:10"), hm("11:10"), hm("11:15"), 600, 6000)
    w2 = Stop("W2", hm(w2_arrival), hm("12:30"), hm("12:35"), 600, 6000)
    taken = (BreakTaken("lunch", hm(lunch[0]), hm(lunch[1])),)
    return Plan((Route("A1", hm("11:00"), (w1, w2), hm("12:55"), 1200, 12000, taken),), ())


def test_break_on_the_way_delays_arrival() -> None:
    """Lunch 11:15-11:45 right after W1: arrival is 11:15 + 30 min + 10 min ride = 11:55."""
    report = check_plan(break_problem(), break_plan(("11:15", "11:45"), "11:55"), BREAK_MATRIX)
    assert report.ok, report.summary()


def test_break_while_waiting() -> None:
    """Arriving at W2 at 11:25 and lunching 11:30-12:00 while waiting for 12:30 is valid."""
    report = check_plan(break_problem(), break_plan(("11:30", "12:00"), "11:25"), BREAK_MATRIX)
    assert report.ok, report.summary()


def test_break_not_counted_in_arrival_overlaps_riding() -> None:
    """Lunch 11:15-11:45 with arrival at 11:25 means lunching while riding: flagged."""
    plan = break_plan(("11:15", "11:45"), "11:25")
    (v,) = only(check_plan(break_problem(), plan, BREAK_MATRIX), check.BREAK)
    assert v.where == "route A1 breaks[0] (lunch)"
    assert "overlaps service or riding" in v.message


def test_break_during_service() -> None:
    """Lunch 11:12-11:42 interrupts W1's service (11:10-11:15): flagged."""
    plan = break_plan(("11:12", "11:42"), "11:25")
    (v,) = only(check_plan(break_problem(), plan, BREAK_MATRIX), check.BREAK)
    assert "overlaps service or riding" in v.message


def test_break_too_short() -> None:
    """A 20-minute lunch when 30 are owed is flagged."""
    plan = break_plan(("11:30", "11:50"), "11:25")
    (v,) = only(check_plan(break_problem(), plan, BREAK_MATRIX), check.BREAK)
    assert "should last 1800 s" in v.message


def test_break_outside_its_window() -> None:
    """Lunch starting 11:30 when it must start by 11:20 is flagged."""
    lunch = dataclasses.replace(LUNCH, window=TimeWindow(hm("11:00"), hm("11:20")))
    plan = break_plan(("11:30", "12:00"), "11:25")
    (v,) = only(check_plan(break_problem(lunch), plan, BREAK_MATRIX), check.BREAK)
    assert "outside its window" in v.message


def test_missing_break_inside_the_route() -> None:
    """Skipping a lunch that could only fall inside the 11:00-12:55 route is flagged."""
    plan = break_plan(("11:30", "12:00"), "11:25")
    plan = with_route(plan, 0, breaks=())
    (v,) = only(check_plan(break_problem(), plan, BREAK_MATRIX), check.BREAK)
    assert v.where == "route A1 break lunch"


def test_missing_break_that_fits_after_the_route_is_accepted() -> None:
    """A lunch whose window lets it start after the route ends need not be listed."""
    lunch = dataclasses.replace(LUNCH, window=TimeWindow(hm("11:00"), hm("13:00")))
    plan = with_route(break_plan(("11:30", "12:00"), "11:25"), 0, breaks=())
    assert check_plan(break_problem(lunch), plan, BREAK_MATRIX).ok


def test_break_taken_twice_and_unknown_break() -> None:
    """A second lunch and a nap the agent does not have are both flagged by position."""
    plan = break_plan(("11:30", "12:00"), "11:25")
    extra = (
        *plan.routes[0].breaks,
        BreakTaken("lunch", hm("13:00"), hm("13:30")),
        BreakTaken("nap", hm("13:30"), hm("13:40")),
    )
    plan = with_route(plan, 0, breaks=extra)
    violations = only(check_plan(break_problem(), plan, BREAK_MATRIX), check.BREAK)
    assert [v.where for v in violations] == [
        "route A1 breaks[1] (lunch)",
        "route A1 breaks[2] (nap)",
    ]
