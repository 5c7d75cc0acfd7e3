"""Visits nobody can serve even alone are found before the search, with the right reason."""

from __future__ import annotations

import dataclasses

from dispatch.geo.matrix import CongestionProfile, HaversineProvider, TravelMatrix
from dispatch.model import Break, Location, Problem, TimeWindow
from dispatch.plan import Reason, StopKind
from dispatch.solver.presolve import (
    _Trips,
    _twins,
    office_position,
    presolve,
    presolve_unassigned,
)
from dispatch.solver.schedule import Step, timer_fits
from dispatch.synth import generate
from tests.factories import agent, hm, line_matrix, problem, visit, window
from tests.solver.helpers import reasons, solved


def test_no_skilled_agent_names_the_missing_skills() -> None:
    """A CNIC visit asking for a woman agent, with only a male NADRA agent on shift."""
    p = problem(
        [agent("A", skills=["nadra_biometric"])],
        [visit("V12", service="cnic_renewal", extra_skills=frozenset({"female"}))],
    )
    found = presolve_unassigned(p, line_matrix([100, 0, 0]))
    assert list(found) == [0]
    assert found[0].reason is Reason.NO_SKILLED_AGENT
    assert found[0].message == (
        "Visit V12 needs skills {female, nadra_biometric}; no agent has all of them."
    )


def test_window_outside_the_shifts_of_skilled_agents() -> None:
    """An evening slot misses the skilled agent's shift; an unskilled evening agent is no help."""
    p = problem(
        [
            agent("day", skills=["nadra_biometric"], shift=("08:00", "12:00")),
            agent("evening", skills=["licensing"], shift=("18:00", "22:00")),
        ],
        [visit("V1", service="cnic_renewal", windows=[("19:00", "20:00")])],
    )
    found = presolve_unassigned(p, line_matrix([0, 0, 0, 0, 0]))
    assert found[0].reason is Reason.WINDOW_OUTSIDE_SHIFTS
    assert "19:00-20:00" in found[0].message


def test_window_that_leaves_no_time_to_finish_is_outside_the_shift() -> None:
    """A 20-minute service booked from 11:50 cannot finish in a shift that ends at 12:00."""
    p = problem(
        [agent("A", shift=("08:00", "12:00"))],
        [visit("V1", service="cnic_renewal", windows=[("11:50", "12:30")])],
    )
    assert presolve_unassigned(p, line_matrix([0, 0, 0]))[0].reason is (
        Reason.WINDOW_OUTSIDE_SHIFTS
    )


def test_unreachable_before_the_window_closes() -> None:
    """An hour's ride away, a slot closing ten minutes into the shift cannot be met."""
    p = problem([agent("A")], [visit("V1", windows=[("08:00", "08:10")])])
    found = presolve_unassigned(p, line_matrix([3600, 0, 0]))
    assert found[0].reason is Reason.UNREACHABLE_IN_WINDOW
    assert found[0].message.startswith("Visit V1 must start within 08:00-08:10")


def test_unreachable_when_there_is_no_time_to_get_back() -> None:
    """Reaching the visit is fine, but the ride home overruns the one-hour shift."""
    p = problem([agent("A", shift=("08:00", "09:00"))], [visit("V1")])
    found = presolve_unassigned(p, line_matrix([1700, 0, 0]))
    assert found[0].reason is Reason.UNREACHABLE_IN_WINDOW


def test_exactly_reachable_visit_is_kept() -> None:
    """Out, five minutes on site and back in exactly one hour is feasible, so nothing is found."""
    p = problem([agent("A", shift=("08:00", "09:00"))], [visit("V1")])
    assert presolve_unassigned(p, line_matrix([1650, 0, 0])) == {}


def test_no_agents() -> None:
    """With nobody on shift every visit is unassigned for that reason."""
    p = problem([], [visit("V1"), visit("V2")])
    found = presolve_unassigned(p, line_matrix([0, 0]))
    assert {k: u.reason for k, u in found.items()} == {0: Reason.NO_AGENTS, 1: Reason.NO_AGENTS}


def test_capacity_too_small_for_the_visit_alone() -> None:
    """A visit demanding more than any skilled agent carries cannot be served alone."""
    p = problem([agent("A", capacities={"cash": 10})], [visit("V1", demand={"cash": 11})])
    found = presolve_unassigned(p, line_matrix([0, 0, 0]))
    assert found[0].reason is Reason.CAPACITY
    assert "cash: 11" in found[0].message
    assert found[0].message.endswith("Agents considered: A.")


def test_allowed_agents_are_those_able_alone() -> None:
    """Each visit is offered only to agents with the skills and the reach."""
    p = problem(
        [
            agent("lic", skills=["licensing"]),
            agent("nadra", skills=["nadra_biometric"], shift=("08:00", "09:00")),
            agent("both", skills=["licensing", "nadra_biometric"]),
        ],
        [visit("V1", service="cnic_renewal"), visit("V2", service="driving_licence_renewal")],
    )
    pre = presolve(p, line_matrix([2000, 10, 0, 0, 0, 0, 0, 0]))
    assert pre.allowed == ((2,), (0, 2))
    assert pre.candidates == [0, 1]


def test_solve_reports_presolve_reasons() -> None:
    """The plan lists presolved visits with their reasons and routes the rest."""
    p = problem(
        [agent("A", skills=["licensing"])],
        [
            visit("V1", service="cnic_renewal"),
            visit("V2", windows=[("20:00", "21:00")]),
            visit("V3", location=Location(31.6, 74.4)),
        ],
    )
    plan = solved(p, line_matrix([0, 0, 0, 0, 0]))
    assert reasons(plan) == {
        "V1": Reason.NO_SKILLED_AGENT,
        "V2": Reason.WINDOW_OUTSIDE_SHIFTS,
    }
    assert plan.served_ids() == ["V3"]


def test_pinned_agent_without_the_skill() -> None:
    """Pinned to an agent who lacks the skill, a visit is unservable though others have it."""
    p = problem(
        [agent("A", skills=["licensing"]), agent("B", skills=["nadra_biometric"])],
        [visit("V1", service="cnic_renewal", required_agent="A")],
    )
    found = presolve_unassigned(p, line_matrix([0, 0, 0, 0, 0]))
    assert found[0].reason is Reason.NO_SKILLED_AGENT
    assert "pinned to agent A" in found[0].message


def test_pinned_agent_cannot_reach_in_time() -> None:
    """Only the pinned agent's reach counts: it is far away, so the visit is unreachable."""
    p = problem(
        [agent("near"), agent("far")],
        [visit("V1", windows=[("08:00", "08:10")], required_agent="far")],
    )
    found = presolve_unassigned(p, line_matrix([0, 0, 3600, 0, 3600]))
    assert found[0].reason is Reason.UNREACHABLE_IN_WINDOW


def test_agents_share_trips_only_when_they_time_them_alike() -> None:
    """A and B leave one depot on one shift: B's trips are A's. C has another shift, and D
    starts elsewhere on the line, so each times its own; the visits allowed stay the same."""
    p = problem(
        [
            agent("A"),
            agent("B"),
            agent("C", shift=("10:00", "18:00")),
            agent("D"),
        ],
        [visit("V1"), visit("V2", windows=[("08:00", "09:00")])],
    )
    # Matrix order: V1, V2, starts A-D, ends A-D; D starts 600 s further out.
    m = line_matrix([300, 900, 0, 0, 0, 600, 0, 0, 0, 0])
    assert _twins(p, m) == [0, 0, 2, 3]
    pre = presolve(p, m)
    assert pre.allowed == ((0, 1, 2, 3), (0, 1, 3))


def test_a_trip_is_timed_once_where_the_breaks_change_nothing() -> None:
    """Presolve asks whether a trip fits without breaks, then with them; where the agent's
    breaks fall outside its shift the answer is the same, so the trip is timed once."""
    lunch = Break("lunch", 1800, window("13:00", "14:00"))
    p = problem(
        [agent("A", breaks=(lunch,)), agent("B", shift=("08:00", "12:00"), breaks=(lunch,))],
        [visit("V", windows=[("12:30", "13:30")])],
    )
    m = line_matrix([3000, 0, 0, 0, 0])
    trips = _Trips(p, m)
    trips.at_once = None  # every trip timed step by step
    for a in (0, 1):
        trips.able([a], 0, office=None, breaks=False)
        trips.able([a], 0, office=None, breaks=True)
    # A's lunch falls in its shift: its trip is timed both ways. B's does not.
    assert sorted((a, breaks) for a, _, _, breaks in trips.known) == [
        (0, False),
        (0, True),
        (1, False),
    ]


def tight_day() -> tuple[Problem, TravelMatrix]:
    """A field day whose agents have short shifts, mixed speeds, a lunch break and for some an
    hour's meeting as well, and whose offices open for half an hour: trips that fit and trips
    that do not."""
    day = generate(80, 8, seed=2)
    tea = Break("meeting", 3600, TimeWindow(hm("10:00"), hm("10:05")))
    agents = tuple(
        dataclasses.replace(
            a,
            shift=TimeWindow(a.shift.start_s, a.shift.start_s + (5 + k % 3) * 3600),
            speed_factor=(1.0, 0.7, 1.3)[k % 3],
            breaks=a.breaks + ((tea,) if k % 2 else ()),
        )
        for k, a in enumerate(day.agents)
    )
    offices = tuple(
        dataclasses.replace(o, opening=TimeWindow(o.opening.start_s, o.opening.start_s + 1800))
        for o in day.offices
    )
    tight = dataclasses.replace(day, agents=agents, offices=offices)
    return tight, HaversineProvider().matrix(tight.locations())


def test_trips_timed_at_once_are_ones_the_exact_timing_accepts() -> None:
    """Every trip the at-once timing passes, the step-by-step timing passes too; it passes most
    of those that fit, and the day has trips that do not."""
    p, m = tight_day()
    trips = _Trips(p, m)
    at_once = trips.at_once
    assert at_once is not None
    passed = fitting = failing = 0
    for v, booked in enumerate(p.visits):
        offices = [None] if booked.pickup_office is None else [None, office_position(p, booked)]
        for office in offices:
            for breaks in (False, True):
                fast = at_once.fits(v, office, breaks)
                for a in range(len(p.agents)):
                    rests = breaks and trips.rests[a]
                    exact = timer_fits(trips._timer(a, rests), trip_steps(v, office))
                    assert exact or not fast[a], (p.agents[a].id, booked.id, office, breaks)
                    passed += bool(fast[a])
                    fitting += exact
                    failing += not exact
    assert passed > fitting // 2
    assert failing > 0.1 * (fitting + failing)


def trip_steps(v: int, office: int | None) -> list[Step]:
    steps = [Step(StopKind.VISIT, v)]
    if office is not None:
        steps.insert(0, Step(StopKind.PICKUP, office, (v,)))
    return steps


def test_presolve_with_congestion_times_every_trip_step_by_step() -> None:
    """A ride that depends on the hour is not timed at once."""
    p, m = tight_day()
    rush = TravelMatrix(m.duration_s, m.distance_m, CongestionProfile(tuple([1.5] * 24)))
    assert _Trips(p, rush).at_once is None
    assert _Trips(p, m).at_once is not None


def test_visits_alike_but_for_one_rule_are_judged_apart() -> None:
    """The rules without timing are judged once per kind of visit; a visit that differs from
    an earlier one only in its pin, demand, lateness allowance or length gets its own verdict."""
    early_slot = [("07:00", "07:50")]  # before the shifts open, but for 30 min of lateness
    p = problem(
        [
            agent("A", shift=("08:00", "12:00"), capacities={"cash": 10}),
            agent("B", shift=("08:00", "12:00"), capacities={"cash": 30}),
        ],
        [
            visit("free", service="cnic_renewal"),
            visit("pinned", service="cnic_renewal", required_agent="B"),
            visit("small", demand={"cash": 5}),
            visit("large", demand={"cash": 20}),
            visit("on time", service="cnic_renewal", windows=early_slot),
            visit("may be late", service="cnic_renewal", windows=early_slot, max_late_s=1800),
            visit("brief", service="birth_certificate", windows=[("11:45", "11:48")]),  # 10 min
            visit("longer", service="cnic_renewal", windows=[("11:45", "11:48")]),  # 20 min
        ],
    )
    pre = presolve(p, line_matrix([0] * 12))
    assert pre.allowed == ((0, 1), (1,), (0, 1), (1,), (), (0, 1), (0, 1), ())
    assert pre.unassigned[4].reason is Reason.WINDOW_OUTSIDE_SHIFTS
    assert pre.unassigned[7].reason is Reason.WINDOW_OUTSIDE_SHIFTS
