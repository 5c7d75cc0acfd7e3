"""The solver on tiny hand-made problems whose right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from dispatch.model import Priority
from dispatch.plan import Reason
from tests.factories import agent, hm, line_matrix, matrix, problem, visit
from tests.solver.helpers import order_of, reasons, solved


def star_matrix(n_visits: int, close_pairs: tuple[tuple[int, int], ...] = ()) -> np.ndarray:
    """Visits 2000 s apart from each other and 1000 s from one agent's start and end.

    Pairs in ``close_pairs`` are only 100 s apart.
    """
    size = n_visits + 2
    duration = np.full((size, size), 2000, dtype=np.int64)
    duration[:n_visits, n_visits:] = 1000
    duration[n_visits:, :n_visits] = 1000
    duration[n_visits:, n_visits:] = 0
    for i, j in close_pairs:
        duration[i, j] = duration[j, i] = 100
    np.fill_diagonal(duration, 0)
    return duration


def test_skill_forces_the_only_skilled_agent() -> None:
    """A CNIC visit goes to the far NADRA agent, not the near licensing one."""
    p = problem(
        [agent("A", skills=["licensing"]), agent("B", skills=["nadra_biometric"])],
        [visit("V1", service="cnic_renewal")],
    )
    plan = solved(p, line_matrix([10, 0, 1000, 0, 1000]))
    assert order_of(plan, "B") == ["V1"]
    assert plan.route_of("A") is None


def test_geometry_alone_gives_the_short_order() -> None:
    """Without windows, an agent ending at the far visit serves the near one first."""
    p = problem([agent("A")], [visit("V1"), visit("V2")])
    plan = solved(p, line_matrix([100, 300, 0, 300]))
    assert order_of(plan, "A") == ["V1", "V2"]


def test_window_forces_the_long_order() -> None:
    """An early slot at the far visit forces it first, though the other order rides less."""
    p = problem(
        [agent("A")],
        [visit("V1", windows=[("10:00", "11:00")]), visit("V2", windows=[("08:00", "08:30")])],
    )
    plan = solved(p, line_matrix([100, 300, 0, 300]))
    assert order_of(plan, "A") == ["V2", "V1"]
    stops = {s.visit_id: s for s in plan.routes[0].stops}
    assert hm("08:00") <= stops["V2"].start_s <= hm("08:30")
    assert stops["V1"].start_s >= hm("10:00")


def test_agent_leaves_late_instead_of_waiting_at_the_door() -> None:
    """The route starts exactly one ride before the slot opens, so the agent never waits."""
    p = problem([agent("A")], [visit("V1", windows=[("10:00", "11:00")])])
    plan = solved(p, line_matrix([600, 0, 0]))
    route = plan.routes[0]
    assert route.start_s == hm("10:00") - 600
    assert route.stops[0].arrival_s == route.stops[0].start_s == hm("10:00")


def test_max_visits_forces_a_drop() -> None:
    """An agent allowed two visits serves two of three, keeping the high-priority one."""
    p = problem(
        [agent("A", max_visits=2)],
        [visit("V1"), visit("V2"), visit("V3", priority=Priority.HIGH)],
    )
    plan = solved(p, line_matrix([100, 200, 300, 0, 0]))
    served = order_of(plan, "A")
    assert len(served) == 2 and "V3" in served
    assert list(reasons(plan).values()) == [Reason.CAPACITY_OR_TIME]


@pytest.mark.parametrize(
    ("priorities", "kept"),
    [
        ((Priority.NORMAL, Priority.HIGH, Priority.URGENT), "V3"),
        ((Priority.URGENT, Priority.NORMAL, Priority.HIGH), "V1"),
        ((Priority.NORMAL, Priority.NORMAL, Priority.HIGH), "V3"),
    ],
)
def test_with_time_for_one_visit_priority_decides(
    priorities: tuple[Priority, Priority, Priority], kept: str
) -> None:
    """With a one-hour shift only one of three far-apart visits fits: the most urgent one."""
    p = problem(
        [agent("A", shift=("08:00", "09:00"))],
        [visit(f"V{k + 1}", priority=pr) for k, pr in enumerate(priorities)],
    )
    plan = solved(p, matrix(star_matrix(3)))
    assert order_of(plan, "A") == [kept]
    assert set(reasons(plan).values()) == {Reason.CAPACITY_OR_TIME}


@pytest.mark.parametrize(
    ("lone", "pair"),
    [(Priority.URGENT, Priority.HIGH), (Priority.HIGH, Priority.NORMAL)],
)
def test_one_higher_priority_visit_outweighs_two_lower(lone: Priority, pair: Priority) -> None:
    """Serving the lone higher-priority visit beats serving two close lower-priority ones."""
    p = problem(
        [agent("A", shift=("08:00", "09:00"))],
        [visit("V1", priority=lone), visit("V2", priority=pair), visit("V3", priority=pair)],
    )
    plan = solved(p, matrix(star_matrix(3, close_pairs=((1, 2),))))
    assert order_of(plan, "A") == ["V1"]


def test_equal_priorities_serve_as_many_as_fit() -> None:
    """Among normal visits, the two that fit together win over the lone one."""
    p = problem([agent("A", shift=("08:00", "09:00"))], [visit("V1"), visit("V2"), visit("V3")])
    plan = solved(p, matrix(star_matrix(3, close_pairs=((1, 2),))))
    assert sorted(order_of(plan, "A")) == ["V2", "V3"]


def test_required_visit_beats_urgent() -> None:
    """A required visit is served even at the cost of an urgent one."""
    p = problem(
        [agent("A", shift=("08:00", "09:00"))],
        [visit("V1", priority=Priority.URGENT), visit("V2", required=True)],
    )
    plan = solved(p, matrix(star_matrix(2)))
    assert order_of(plan, "A") == ["V2"]
    assert reasons(plan) == {"V1": Reason.CAPACITY_OR_TIME}


def test_service_waits_for_the_second_window_across_the_gap() -> None:
    """Arriving after the first slot closed, service starts when the second slot opens."""
    p = problem([agent("A")], [visit("V1", windows=[("08:00", "08:10"), ("12:00", "13:00")])])
    plan = solved(p, line_matrix([1200, 0, 0]))
    stop = plan.routes[0].stops[0]
    assert stop.start_s == hm("12:00")
    assert plan.routes[0].start_s == hm("12:00") - 1200


def test_gap_between_windows_is_never_used() -> None:
    """Two visits in the same place: the second cannot start in the gap between its slots."""
    p = problem(
        [agent("A")],
        [
            visit("V1", windows=[("08:00", "08:00")], service="cnic_renewal"),
            visit("V2", windows=[("08:00", "08:05"), ("09:00", "09:30")]),
        ],
    )
    plan = solved(p, line_matrix([0, 0, 0, 0]))
    stops = {s.visit_id: s for s in plan.routes[0].stops}
    assert order_of(plan, "A") == ["V1", "V2"]
    assert stops["V2"].start_s == hm("09:00")


def test_start_and_end_locations_are_per_agent() -> None:
    """Two agents leave from the same place; the one whose end is near the visit serves it."""
    p = problem([agent("A"), agent("B")], [visit("V1")])
    plan = solved(p, line_matrix([500, 0, 0, 0, 400]))
    assert order_of(plan, "B") == ["V1"]
    route = plan.routes[0]
    assert (route.stops[0].travel_s, route.end_travel_s) == (500, 100)


def test_agent_that_cannot_reach_its_own_end_gets_nothing() -> None:
    """An agent whose end is out of reach within its shift stays idle; the visit goes on."""
    p = problem([agent("A", shift=("08:00", "09:00")), agent("B")], [visit("V1")])
    plan = solved(p, line_matrix([100, 0, 0, 5000, 0]))
    assert order_of(plan, "B") == ["V1"]
    assert plan.route_of("A") is None


def test_faster_agent_makes_a_far_visit_feasible() -> None:
    """Twice the speed halves the ride, so only the fast agent fits the trip in its shift."""
    p = problem(
        [
            agent("slow", shift=("08:00", "09:00")),
            agent("fast", shift=("08:00", "09:00"), speed_factor=2.0),
        ],
        [visit("V1")],
    )
    plan = solved(p, line_matrix([2000, 0, 0, 0, 0]))
    assert order_of(plan, "fast") == ["V1"]
    assert plan.routes[0].stops[0].travel_s == 1000


def test_slow_agent_alone_cannot_reach() -> None:
    """Without the fast agent the same visit is unreachable within the shift."""
    p = problem([agent("slow", shift=("08:00", "09:00"))], [visit("V1")])
    plan = solved(p, line_matrix([2000, 0, 0]))
    assert reasons(plan) == {"V1": Reason.UNREACHABLE_IN_WINDOW}


def test_named_capacity_forces_a_drop() -> None:
    """An agent carrying 3 documents takes one of two 2-document visits; others carry none."""
    p = problem(
        [agent("A", capacities={"documents": 3}), agent("B")],
        [
            visit("V1", demand={"documents": 2}),
            visit("V2", demand={"documents": 2}, priority=Priority.HIGH),
            visit("V3", demand={"documents": 5}),
        ],
    )
    plan = solved(p, line_matrix([100, 100, 100, 0, 0, 0, 0]))
    assert order_of(plan, "A") == ["V2"]
    assert plan.route_of("B") is None
    assert reasons(plan) == {"V1": Reason.CAPACITY_OR_TIME, "V3": Reason.CAPACITY}
    message = next(u.message for u in plan.unassigned if u.visit_id == "V3")
    assert "V3" in message and "documents: 5" in message


def test_work_is_shared_when_one_agent_cannot_do_it_all() -> None:
    """Eight 20-minute visits do not fit one 2-hour shift, so both agents work."""
    p = problem(
        [agent("A", shift=("08:00", "10:00")), agent("B", shift=("08:00", "10:00"))],
        [visit(f"V{k}", service="cnic_renewal") for k in range(8)],
    )
    plan = solved(p, line_matrix([60 * k for k in range(8)] + [0, 0, 0, 0]))
    assert len(plan.served_ids()) == 8
    assert len(order_of(plan, "A")) > 0 and len(order_of(plan, "B")) > 0


def test_pinned_visit_goes_to_its_agent() -> None:
    """A visit pinned to the far agent is served by it, though the near one is free."""
    p = problem([agent("near"), agent("far")], [visit("V1", required_agent="far")])
    plan = solved(p, line_matrix([10, 0, 1000, 0, 1000]))
    assert order_of(plan, "far") == ["V1"]
