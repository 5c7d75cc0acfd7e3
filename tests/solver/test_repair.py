"""Repairing proposed routes before the routing model reads them: a visit of a higher tier
that fits nowhere takes the place of one of a lower tier."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.errors import InputError
from dispatch.geo.matrix import TravelMatrix
from dispatch.model import Location, Office, Priority, Problem, Visit
from dispatch.solver import repair
from dispatch.solver.build import build_model
from dispatch.solver.penalties import PREFERENCE_WEIGHT_S, tier
from dispatch.solver.presolve import Presolve, presolve
from dispatch.solver.repair import warm_routes
from dispatch.solver.schedule import model_travel
from dispatch.solver.search import search_parameters
from dispatch.solver.validate import validate_inputs
from tests.factories import agent, line_matrix, matrix, problem, visit, window
from tests.test_property import field_problems

# Three 20-minute visits at one address; a 50-minute shift holds two of them.
SHORT_SHIFT = ("08:00", "08:50")


def repaired(
    p: Problem, m: TravelMatrix, proposed: dict[int, list[int]], deadline_s: float | None = None
) -> tuple[dict[int, list[str]], int]:
    """Visit ids (pickup nodes as ``"call"``) per agent after repair, and how many proposed
    visits were left out."""
    pre = presolve(p, m)
    build = build_model(p, m, pre, 0)
    routes, left_out = warm_routes(p, m, build, proposed, pre.allowed, deadline_s)
    n_visit_nodes = len(build.node_visits)
    named = {
        k: [p.visits[build.node_visits[n]].id if n < n_visit_nodes else "call" for n in nodes]
        for k, nodes in routes.items()
    }
    return named, left_out


def three_visits(third: Priority) -> Problem:
    return problem(
        [agent("A", shift=SHORT_SHIFT)],
        [
            visit("N1", service="cnic_renewal"),
            visit("N2", service="cnic_renewal"),
            visit("X", service="cnic_renewal", priority=third),
        ],
    )


def test_urgent_visit_left_out_takes_a_normal_visits_place() -> None:
    p = three_visits(Priority.URGENT)
    routes, left_out = repaired(p, line_matrix([0] * 5), {0: [0, 1]})
    assert "X" in routes[0]
    assert len(routes[0]) == 2
    assert left_out == 1  # one of the proposed normal visits gave way


def test_past_its_deadline_an_urgent_visit_still_takes_a_lower_tier_place() -> None:
    """Out of time, repair makes no room and moves nothing for ride, but an urgent visit
    left out still takes a normal neighbour's place; a high one waits for time."""
    over_s = 0.0  # a perf_counter reading long past
    routes, left_out = repaired(
        three_visits(Priority.URGENT), line_matrix([0] * 5), {0: [0, 1]}, over_s
    )
    assert "X" in routes[0] and len(routes[0]) == 2 and left_out == 1
    routes, left_out = repaired(
        three_visits(Priority.HIGH), line_matrix([0] * 5), {0: [0, 1]}, over_s
    )
    assert routes[0] == ["N1", "N2"] and left_out == 0


def test_normal_visit_left_out_displaces_nobody() -> None:
    p = three_visits(Priority.NORMAL)
    routes, left_out = repaired(p, line_matrix([0] * 5), {0: [0, 1]})
    assert routes[0] == ["N1", "N2"]
    assert left_out == 0


# Matrix order: U, V, starts A and B, ends A and B. A is full and alone may serve V; U, on A's
# route, may also be served from B's base far away.
STEP_ASIDE = line_matrix([100, 200, 0, 5000, 0, 5000])


def step_aside_day() -> Problem:
    return problem(
        [agent("A", max_visits=1), agent("B", skills=("nadra_biometric",))],
        [visit("U", service="cnic_renewal"), visit("V", service="driving_licence_renewal")],
    )


def test_visit_steps_aside_to_another_route_to_make_room() -> None:
    """U steps over to B's route and V takes its place, though U then rides farther."""
    routes, _ = repaired(step_aside_day(), STEP_ASIDE, {0: [0]})
    assert routes == {0: ["V"], 1: ["U"]}


def test_making_room_stops_once_its_tries_are_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    """On an over-subscribed day nearly every try fails: the tries are bounded by the day's
    size, and with none left V stays out."""
    monkeypatch.setattr(repair, "ROOM_ATTEMPTS_PER_VISIT", 0)
    routes, _ = repaired(step_aside_day(), STEP_ASIDE, {0: [0]})
    assert routes == {0: ["U"]}


def test_high_visit_never_displaces_an_urgent_one() -> None:
    p = problem(
        [agent("A", shift=SHORT_SHIFT)],
        [
            visit("U1", service="cnic_renewal", priority=Priority.URGENT),
            visit("U2", service="cnic_renewal", priority=Priority.URGENT),
            visit("H", service="cnic_renewal", priority=Priority.HIGH),
        ],
    )
    routes, _ = repaired(p, line_matrix([0] * 5), {0: [0, 1]})
    assert routes[0] == ["U1", "U2"]


def test_urgent_visit_takes_the_place_of_both_neighbours_when_one_is_not_enough() -> None:
    """A 40-minute urgent visit fits the 50-minute shift only once both 20-minute normal
    visits are out."""
    p = problem(
        [agent("A", shift=SHORT_SHIFT)],
        [
            visit("N1", service="cnic_renewal"),
            visit("N2", service="cnic_renewal"),
            visit("X", service="cnic_renewal", priority=Priority.URGENT, duration_s=2400),
        ],
    )
    routes, left_out = repaired(p, line_matrix([0] * 5), {0: [0, 1]})
    assert routes[0] == ["X"]
    assert left_out == 2


def apart_day() -> Problem:
    """N1, U and N2 fill A's shift from 08:00 to 09:15; U is urgent and must start by 08:40.
    The 40-minute high visit H fits only as H then U, with both normal visits out."""
    return problem(
        [agent("A", shift=("08:00", "09:15"))],
        [
            visit("N1", service="cnic_renewal"),
            visit(
                "U",
                windows=(("08:30", "08:40"),),
                service="cnic_renewal",
                priority=Priority.URGENT,
            ),
            visit("N2", service="cnic_renewal"),
            visit("H", service="cnic_renewal", priority=Priority.HIGH, duration_s=2400),
        ],
    )


def test_high_visit_takes_the_place_of_two_visits_apart() -> None:
    routes, left_out = repaired(apart_day(), line_matrix([0] * 6), {0: [0, 1, 2]})
    assert routes[0] == ["H", "U"]
    assert left_out == 2


def test_without_tries_apart_the_high_visit_stays_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """No single visit, and no two next to each other, can give way to H."""
    monkeypatch.setattr(repair, "MAX_APART_TRIES", 0)
    routes, left_out = repaired(apart_day(), line_matrix([0] * 6), {0: [0, 1, 2]})
    assert routes[0] == ["N1", "U", "N2"]
    assert left_out == 0


def later_day() -> Problem:
    """U (urgent), N2, N3 and N4 fill A's shift from 08:00 to 09:30 (20 minutes each, one
    address). The high visit H must start by 08:10, so it can only go first, next to U,
    which cannot give way; U and all after it then start 20 minutes later, and N4 would end
    after the shift."""
    return problem(
        [agent("A", shift=("08:00", "09:30"))],
        [
            visit("U", service="cnic_renewal", priority=Priority.URGENT),
            visit("N2", service="cnic_renewal"),
            visit("N3", service="cnic_renewal"),
            visit("N4", service="cnic_renewal"),
            visit(
                "H", windows=(("08:00", "08:10"),), service="cnic_renewal", priority=Priority.HIGH
            ),
        ],
    )


def test_high_visit_takes_the_place_of_one_visit_later_in_the_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without pairs apart (which would take two out and bring one back), one visit after
    U gives way."""
    monkeypatch.setattr(repair, "MAX_APART_TRIES", 0)
    routes, left_out = repaired(later_day(), line_matrix([0] * 7), {0: [0, 1, 2, 3]})
    assert routes[0] == ["H", "U", "N3", "N4"]
    assert left_out == 1


def test_without_tries_later_or_apart_the_high_visit_stays_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(repair, "MAX_APART_TRIES", 0)
    monkeypatch.setattr(repair, "MAX_LATER_TRIES", 0)
    routes, left_out = repaired(later_day(), line_matrix([0] * 7), {0: [0, 1, 2, 3]})
    assert routes[0] == ["U", "N2", "N3", "N4"]
    assert left_out == 0


# Matrix order: L1, L2, L3, U, V, starts A and B, ends A and B. Every visit is at A's base;
# B's base is far away.
FURTHER = line_matrix([0, 0, 0, 0, 0, 0, 5000, 0, 5000])


def licences_and_u() -> list[Visit]:
    """L1, L2, L3, U and V (see :func:`further_day`), 20 minutes each."""
    minutes_20 = {"duration_s": 1200}
    return [
        *(visit(f"L{i}", service="driving_licence_renewal", **minutes_20) for i in (1, 2, 3)),
        visit("U", service="cnic_renewal", **minutes_20),
        visit("V", windows=(("08:00", "08:10"),), service="driving_licence_renewal", **minutes_20),
    ]


def further_day() -> Problem:
    """L1, L2, L3 (licences, only A may serve them) and U fill A's shift from 08:00 to 09:30
    (20 minutes each). V, a licence too, must start by 08:10, so it can only go first, and
    then U would end after the shift. U may also be served from B's base, far away."""
    return problem(
        [agent("A", shift=("08:00", "09:30")), agent("B", skills=("nadra_biometric",))],
        licences_and_u(),
    )


def test_visit_further_on_moves_to_another_route_to_make_room() -> None:
    """No neighbour of V's only gap can move (only A may serve them), but U, three stops on,
    can: it goes to B's route, and all five visits are served."""
    routes, left_out = repaired(further_day(), FURTHER, {0: [0, 1, 2, 3]})
    assert routes[0][0] == "V"
    assert sorted(routes[0]) == ["L1", "L2", "L3", "V"]
    assert routes[1] == ["U"]
    assert left_out == 0


def test_without_tries_further_on_the_visit_stays_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repair, "MAX_FURTHER_ROOM_TRIES", 0)
    routes, left_out = repaired(further_day(), FURTHER, {0: [0, 1, 2, 3]})
    assert routes == {0: ["L1", "L2", "L3", "U"]}
    assert left_out == 0


# Matrix order: L1, L2, L3, U, V, W, starts A, B and C, ends A, B and C.
CHAIN = line_matrix([0, 0, 0, 0, 0, 5000, 0, 5000, 9000, 0, 5000, 9000])


def chain_day() -> Problem:
    """As :func:`further_day`, but B's route holds one visit, a birth certificate W at B's
    base, and C, farther still, serves birth certificates alone: U fits on B's route only in
    W's place, and W then goes to C."""
    return problem(
        [
            agent("A", shift=("08:00", "09:30")),
            agent("B", skills=("nadra_biometric", "civil_registration"), max_visits=1),
            agent("C", skills=("civil_registration",)),
        ],
        [*licences_and_u(), visit("W", service="birth_certificate", duration_s=1200)],
    )


def test_visit_that_makes_room_further_on_makes_room_in_turn() -> None:
    routes, left_out = repaired(chain_day(), CHAIN, {0: [0, 1, 2, 3], 1: [5]})
    assert routes[0][0] == "V"
    assert sorted(routes[0]) == ["L1", "L2", "L3", "V"]
    assert routes[1] == ["U"]
    assert routes[2] == ["W"]
    assert left_out == 0


def test_without_room_made_on_the_second_route_the_visit_stays_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(repair, "MAX_ROOM_TRIES", 0)
    routes, left_out = repaired(chain_day(), CHAIN, {0: [0, 1, 2, 3], 1: [5]})
    assert routes == {0: ["L1", "L2", "L3", "U"], 1: ["W"]}
    assert left_out == 0


def far_high_day() -> Problem:
    """N1-N4 fill A's shift from 08:00 to 09:40 at A's base (20 minutes each). The high
    visit H is 30 minutes' ride away: with the ride there and back it takes 80 minutes, so
    three of the normal visits must give way, more than any pair exchange removes."""
    return problem(
        [agent("A", shift=("08:00", "09:40"))],
        [
            *(visit(f"N{i}", service="cnic_renewal") for i in range(1, 5)),
            visit("H", service="cnic_renewal", priority=Priority.HIGH),
        ],
    )


# Matrix order: N1-N4, H, A's start, A's end.
FAR_HIGH = line_matrix([0, 0, 0, 0, 1800, 0, 0])


def test_high_visit_far_out_takes_the_place_of_a_run_of_visits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a day this small the exchanges further on spend the day's budget for them (four
    tries a visit) in the first turns; without them it is left for the run in the last."""
    monkeypatch.setattr(repair, "MAX_LATER_TRIES", 0)
    monkeypatch.setattr(repair, "MAX_APART_TRIES", 0)
    routes, left_out = repaired(far_high_day(), FAR_HIGH, {0: [0, 1, 2, 3]})
    assert "H" in routes[0]
    assert len(routes[0]) == 2
    assert left_out == 3


def test_without_runs_the_far_high_visit_stays_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """No pair of visits, next to each other or apart, makes room enough."""
    monkeypatch.setattr(repair, "FAR_TRIES_PER_VISIT", 1000)
    monkeypatch.setattr(repair, "MAX_RUN_TRIES", 0)
    routes, left_out = repaired(far_high_day(), FAR_HIGH, {0: [0, 1, 2, 3]})
    assert routes == {0: ["N1", "N2", "N3", "N4"]}
    assert left_out == 0


def late_high_day() -> Problem:
    """A rides an hour out to M1 and M2 (08:00-10:00), back to L1-L4 at its base
    (10:00-12:00), and is home at 12:00 of a shift to 12:30. The high visit H (11:00-12:00)
    sits by M1 and M2, so the gaps around them add the least ride for it; with the ride back,
    it fits only where A stays out there after M2, in place of all four afternoon visits."""
    return problem(
        [agent("A", shift=("08:00", "12:30"))],
        [
            *(visit(f"M{i}", [("08:00", "10:00")], "cnic_renewal") for i in (1, 2)),
            *(visit(f"L{i}", [("10:00", "12:00")], "cnic_renewal") for i in range(1, 5)),
            visit("H", [("11:00", "12:00")], "cnic_renewal", Priority.HIGH),
        ],
    )


# Matrix order: M1, M2, L1-L4, H, A's start, A's end.
LATE_HIGH = line_matrix([3600, 3600, 0, 0, 0, 0, 3600, 0, 0])


def test_a_run_makes_room_where_the_time_fits_before_where_the_ride_is_least() -> None:
    """The gaps before and between M1 and M2 add no ride for H, but H's window opens after
    those visits' windows close: a run from the first of them takes out M1 and M2 as well.
    The first gap whose times may hold H is the one after M2, and from there only the four
    afternoon visits give way."""
    p = late_high_day()
    build = build_model(p, LATE_HIGH, presolve(p, LATE_HIGH), 0)
    draft = repair._Draft(p, LATE_HIGH, build, 0)
    assert all(draft.append(v) for v in range(6))
    drafts = {0: draft}
    gaps = repair._cheapest_gaps(p, LATE_HIGH, drafts, [0], 6)
    assert gaps[0] == (0, 0)  # no ride added before M1
    assert not draft.may_hold(6, 0) and not draft.may_hold(6, 1) and draft.may_hold(6, 2)
    room = repair._Budget(100, 100, 100, runs=True)
    assert repair._exchange_run(drafts, gaps, 6, tier(p.visits[6]), room) == [2, 3, 4, 5]
    assert [p.visits[step.pos].id for step in draft.steps] == ["M1", "M2", "H"]


def test_moves_that_shorten_a_route_make_room_for_an_exchange() -> None:
    """Two visits a day for A, who rides a minute to R1 and nothing anywhere else. R1 and R2
    are required and must start by 07:45; R1 takes 20 minutes, so R2 fits only before it.
    As proposed, R1 then U leave R2 out, and neither neighbour of its one place (before R1)
    may give way to it. Shortening puts U first (no ride); then U is that neighbour."""
    p = problem(
        [agent("A", shift=("07:30", "09:30"), max_visits=2)],
        [
            visit("R1", windows=[("06:00", "07:45")], service="cnic_renewal", required=True),
            visit(
                "U",
                windows=[("06:00", "11:15")],
                service="driving_licence_renewal",
                priority=Priority.URGENT,
            ),
            visit("R2", windows=[("06:00", "07:45")], required=True),
        ],
    )
    durations = [[0] * 5 for _ in range(5)]
    durations[3][0] = 60  # matrix order: R1, U, R2, start, end
    routes, left_out = repaired(p, matrix(durations), {0: [0, 1, 2]})
    assert routes[0] == ["R2", "R1"]
    assert left_out == 1


def delivery_day(shift_end: str) -> Problem:
    """Agent A from 08:00; a delivery D from office O (10-minute call), a 20-minute normal
    visit N1 and a 20-minute urgent visit U. Matrix order: D, N1, U, start, end, office."""
    office = Office("O", "NADRA centre", Location(31.6, 74.3), window("08:00", "17:00"), 600)
    p = problem(
        [agent("A", shift=("08:00", shift_end))],
        [
            visit("D", pickup_office="O"),
            visit("N1", service="cnic_renewal"),
            visit("U", service="cnic_renewal", priority=Priority.URGENT),
        ],
    )
    return dataclasses.replace(p, offices=(office,))


def test_delivery_that_gives_way_takes_its_office_call_along() -> None:
    """Call (10 min) + delivery (5) + N1 (20) fill 35 of 45 minutes; the urgent 20-minute
    visit fits only once the delivery and its call are gone."""
    routes, left_out = repaired(delivery_day("08:45"), line_matrix([0] * 6), {0: [0, 1]})
    assert sorted(routes[0]) == ["N1", "U"]
    assert left_out == 1


def test_last_delivery_gives_way_to_a_visit_after_it() -> None:
    """N1, a call, then delivery D: the urgent visit U is cheapest right after D, at the end
    of the route, and fits only once D and its call are gone. The gap after D is then the
    route's end, one place earlier for each of the two stops left out."""
    line = line_matrix([1000, 0, 2000, 0, 2000, 0])
    routes, left_out = repaired(delivery_day("09:20"), line, {0: [1, 0]})
    assert routes[0] == ["N1", "U"]
    assert left_out == 1


# --- shortening routes -----------------------------------------------------------------------

# Matrix order: V1, V2, V3, V4, start, end; positions on a line in seconds. The agent starts
# at 0 and ends at 3000, so V1, V3, V2 rides 3000 s and the proposed V1, V2, V3 rides 5000 s.
LINE = line_matrix([1000, 3000, 2000, 3000, 0, 3000])


def zigzag_day(shift_end: str, v3_window: tuple[str, str] = ("08:00", "18:00")) -> Problem:
    return problem(
        [agent("A", shift=("08:00", shift_end))],
        [
            visit("V1"),
            visit("V2"),
            visit("V3", windows=[v3_window]),
            visit("V4", service="cnic_renewal"),
        ],
    )


def test_route_is_shortened_and_the_ride_saved_serves_one_more_visit() -> None:
    """Three 5-minute visits ridden in the proposed order take 98 of 110 minutes, too many
    for V4's 20; in line order they take 65, and V4 fits."""
    routes, left_out = repaired(zigzag_day("09:50"), LINE, {0: [0, 1, 2]})
    assert routes[0][:2] == ["V1", "V3"]
    assert sorted(routes[0]) == ["V1", "V2", "V3", "V4"]
    assert left_out == 0


def test_window_keeps_the_proposed_order() -> None:
    """V3 may not start before 09:25: served before V2 it would leave V2 too late for the shift
    end, so it stays last and V4 stays out."""
    routes, _ = repaired(zigzag_day("09:50", v3_window=("09:25", "18:00")), LINE, {0: [0, 1, 2]})
    assert routes[0] == ["V1", "V2", "V3"]


def test_call_stays_before_its_deliveries() -> None:
    """The office sits where V2 is: calling there first and delivering V1 on the way back
    would ride less, but the document must be collected before it is delivered."""
    office = Office("O", "NADRA centre", Location(31.6, 74.3), window("08:00", "17:00"), 600)
    p = problem([agent("A")], [visit("V1", pickup_office="O"), visit("V2")])
    p = dataclasses.replace(p, offices=(office,))
    # positions: V1, V2, start, end, office
    routes, _ = repaired(p, line_matrix([1000, 3000, 0, 0, 3000]), {0: [0, 1]})
    nodes = routes[0]
    assert nodes.index("call") < nodes.index("V1")


# --- moving visits between routes ----------------------------------------------------------

# Matrix order: V1, V2, X, starts A and B, ends A and B; positions on a line in seconds.
# A works around 0, B around 10000; X (at 9000) was proposed on A's route.
TWO_AGENTS = line_matrix([500, 9500, 9000, 0, 10000, 0, 10000])


def two_agent_day(b_skills: tuple[str, ...]) -> Problem:
    return problem(
        [agent("A"), agent("B", skills=b_skills)],
        [visit("V1"), visit("V2"), visit("X", service="cnic_renewal")],
    )


def test_visit_moves_to_the_route_that_passes_by() -> None:
    p = two_agent_day(("nadra_biometric",))
    routes, left_out = repaired(p, TWO_AGENTS, {0: [0, 2], 1: [1]})
    assert routes[0] == ["V1"]
    assert sorted(routes[1]) == ["V2", "X"]
    assert left_out == 0


def test_visit_stays_with_the_only_agent_skilled_for_it() -> None:
    p = two_agent_day(("licensing",))
    routes, _ = repaired(p, TWO_AGENTS, {0: [0, 2], 1: [1]})
    assert routes[0] == ["V1", "X"]


# Matrix order: X, Y, starts A and B, ends A and B. Each agent serves one visit at most, so
# neither visit can move alone; X lies by B's base and Y by A's.
CROSSED = line_matrix([9500, 500, 0, 10000, 0, 10000])


def crossed_day() -> Problem:
    return problem(
        [agent("A", max_visits=1), agent("B", max_visits=1)],
        [visit("X", service="cnic_renewal"), visit("Y", service="cnic_renewal")],
    )


def test_visits_of_two_full_routes_swap_places_to_ride_less() -> None:
    routes, left_out = repaired(crossed_day(), CROSSED, {0: [0], 1: [1]})
    assert routes == {0: ["Y"], 1: ["X"]}
    assert left_out == 0


def test_visit_stays_where_its_preferred_agent_would_ride_more_than_the_preference_is_worth() -> (
    None
):
    """V is a second's ride from A's base (2 s there and back). B, whom V prefers, ends the
    day PREFERENCE_WEIGHT_S + 3 seconds from where B starts, with V on the way; idle, B
    rides nothing. Moving V to B would save A 2 s and the preference, and cost B all of its
    ride: 1 s more than it saves."""
    p = problem(
        [agent("A"), agent("B", end=Location(31.53, 74.36))],
        [visit("V", service="cnic_renewal", preferred_agent="B")],
    )
    # Matrix order: V, the starts of A and B, their ends.
    far_s = PREFERENCE_WEIGHT_S + 3
    routes, _ = repaired(p, line_matrix([1, 0, 0, 0, far_s]), {0: [0]})
    assert routes == {0: ["V"]}


def test_visits_do_not_swap_to_an_agent_not_allowed_them() -> None:
    p = crossed_day()
    y = dataclasses.replace(p.visits[1], service="driving_licence_renewal")
    a = agent("A", skills=("nadra_biometric",), max_visits=1)
    p = dataclasses.replace(p, agents=(a, p.agents[1]), visits=(p.visits[0], y))
    routes, _ = repaired(p, CROSSED, {0: [0], 1: [1]})
    assert routes == {0: ["X"], 1: ["Y"]}


def test_past_its_deadline_repair_inserts_but_moves_nothing() -> None:
    """The three moves above (swap, relocation, making room) all wait for time; a visit the
    proposal left out still goes where it fits."""
    over_s = 0.0  # a perf_counter reading long past
    assert repaired(crossed_day(), CROSSED, {0: [0], 1: [1]}, over_s)[0] == {0: ["X"], 1: ["Y"]}
    day = two_agent_day(("nadra_biometric",))
    assert repaired(day, TWO_AGENTS, {0: [0, 2], 1: [1]}, over_s)[0] == {0: ["V1", "X"], 1: ["V2"]}
    assert repaired(step_aside_day(), STEP_ASIDE, {0: [0]}, over_s)[0] == {0: ["U"]}
    routes, _ = repaired(day, TWO_AGENTS, {0: [0], 1: [1]}, over_s)
    assert sorted(routes[0] + routes[1]) == ["V1", "V2", "X"]


def test_the_moves_for_ride_leave_the_last_turn_its_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a deadline the moves for ride before the last turn stop early by twice what the
    turn before them took, while the last turn and the earlier moves keep the whole deadline:
    on a large day those moves could otherwise use it all and the last turn never come."""
    now_s = [100.0]
    monkeypatch.setattr(repair, "time", type("Clock", (), {"perf_counter": lambda: now_s[0]}))
    turns: list[float | None] = []
    moves: list[float | None] = []

    def turn(*args: object) -> None:
        budget = args[-1]
        assert isinstance(budget, repair._Budget)
        turns.append(budget.deadline_s)
        now_s[0] += 1.5  # each turn takes 1.5 s on this clock

    def move(*args: object, **kwargs: object) -> None:
        budget = args[4]
        assert isinstance(budget, repair._Budget)
        moves.append(budget.deadline_s)

    monkeypatch.setattr(repair, "_serve_rest", turn)
    monkeypatch.setattr(repair, "_relocate_and_shorten", move)
    repaired(crossed_day(), CROSSED, {0: [0], 1: [1]}, 110.0)
    assert turns == [110.0, 110.0]
    assert moves == [110.0, 110.0 - repair.FINAL_TURN_RESERVE * 1.5]
    moves.clear()
    repaired(crossed_day(), CROSSED, {0: [0], 1: [1]})
    assert moves == [None, None]


def test_moves_stop_where_the_time_left_is_for_plain_insertions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each visit out is still offered where it fits, but making room is tried only while the
    time left before the deadline covers the plain insertions of the visits still queued, at
    the rate measured so far; a later turn ends at the deadline."""
    day = two_agent_day(("nadra_biometric",))
    now_s = [100.0]
    monkeypatch.setattr(repair, "time", type("Clock", (), {"perf_counter": lambda: now_s[0]}))
    inserted: list[int] = []
    made_room: list[int] = []

    def slow_insert(*args: object) -> bool:
        inserted.append(int(str(args[-1])))
        now_s[0] += 1.0  # each plain insertion takes a second on this clock, and fails
        return False

    def room(*args: object) -> bool:
        made_room.append(int(str(args[4])))
        return False

    monkeypatch.setattr(repair, "_reinsert", slow_insert)
    monkeypatch.setattr(repair, "_make_room", room)
    # Three visits out: after the first insertion (101 s) the other two need 2 s more.
    repaired(day, TWO_AGENTS, {}, 102.5)
    assert inserted == [0, 1, 2]  # one turn each, and none after the deadline
    assert made_room == []
    inserted.clear()
    now_s[0] = 100.0
    repaired(day, TWO_AGENTS, {}, 103.5)
    # The first turn ends at 103 s; the next starts before the deadline and ends at it.
    assert inserted == [0, 1, 2, 0]
    assert made_room == [0, 1, 2]
    inserted.clear()
    made_room.clear()
    repaired(day, TWO_AGENTS, {})  # no deadline: every turn runs
    assert len(inserted) > 3 and len(made_room) > 3


# --- any proposal ----------------------------------------------------------------------------


def any_proposal(
    p: Problem, m: TravelMatrix, data: st.DataObject
) -> tuple[Presolve, dict[int, list[int]]] | None:
    """Presolve and a drawn proposal (any visits, any agents, any order), or None for a problem
    refused before any search."""
    try:
        validate_inputs(p, m, time_limit_s=1.0, solution_limit=None)
    except InputError:
        return None
    pre = presolve(p, m)
    order = data.draw(st.permutations(list(pre.candidates)))
    owner = data.draw(st.lists(st.integers(0, len(p.agents) - 1), min_size=len(order)))
    proposed: dict[int, list[int]] = {}
    for v, k in zip(order, owner, strict=False):
        proposed.setdefault(k, []).append(v)
    return pre, proposed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field_problems(), st.data())
def test_any_proposal_becomes_routes_the_model_accepts(
    case: tuple[Problem, TravelMatrix], data: st.DataObject
) -> None:
    """Whatever the proposal (any visits, any agents, any order), repair returns routes that
    serve each visit at most once, only by an agent allowed to, and that the OR-Tools model
    reads as a solution."""
    p, m = case
    drawn = any_proposal(p, m, data)
    if drawn is None:
        return  # breaks that can never all be taken: refused before any search
    pre, proposed = drawn
    build = build_model(p, m, pre, 0)
    stages: list[int] = []
    routes, left_out = warm_routes(p, m, build, proposed, pre.allowed, on_served=stages.append)
    served = [
        build.node_visits[n]
        for nodes in routes.values()
        for n in nodes
        if n < len(build.node_visits)
    ]
    assert len(served) == len(set(served))
    # One report per stage, the last one of the routes returned.
    assert len(stages) == (4 if repair.FINAL_TURN else 3) and stages[-1] == len(served)
    assert 0 <= left_out <= sum(len(vs) for vs in proposed.values())
    for k, nodes in routes.items():
        for n in nodes:
            if n < len(build.node_visits):
                assert k in pre.allowed[build.node_visits[n]]
    params = search_parameters(5.0, 1, break_routes=build.break_routes)
    build.routing.CloseModelWithParameters(params)
    indices = [
        [build.manager.NodeToIndex(n) for n in routes.get(k, [])]
        for k in range(build.routing.vehicles())
    ]
    assert build.routing.ReadAssignmentFromRoutes(indices, True) is not None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field_problems(), st.data())
def test_last_moves_keep_what_is_served_and_never_ride_more(
    case: tuple[Problem, TravelMatrix], data: st.DataObject
) -> None:
    """The moves after the visits still out had their turn are for the ride alone: the same
    visits are served, with no more ride (a preferred agent lost counting its price). The
    turn after them serves no worse, counted per tier from the top as the objective counts."""
    p, m = case
    drawn = any_proposal(p, m, data)
    if drawn is None:
        return
    pre, proposed = drawn

    def outcome() -> tuple[list[int], int]:
        build = build_model(p, m, pre, 0)
        routes, _ = warm_routes(p, m, build, proposed, pre.allowed)
        served: list[int] = []
        cost_s = 0
        for k, nodes in routes.items():
            travel = model_travel(m, p.agents[k].speed_factor)
            locations = [p.start_index(k)]
            for n in nodes:
                if n < len(build.node_visits):
                    v = build.node_visits[n]
                    served.append(v)
                    locations.append(p.visit_index(v))
                    preferred = p.visits[v].preferred_agent
                    if preferred is not None and preferred != p.agents[k].id:
                        cost_s += PREFERENCE_WEIGHT_S
                else:
                    locations.append(
                        p.office_index(build.pickup_nodes[n - len(build.node_visits)][0])
                    )
            locations.append(p.end_index(k))
            cost_s += sum(travel(a, b, 0) for a, b in itertools.pairwise(locations))
        return sorted(served), cost_s

    served_at_last, _ = outcome()
    passes = repair.FINAL_RELOCATE_PASSES
    repair.FINAL_TURN = False
    try:
        served, cost_s = outcome()
        repair.FINAL_RELOCATE_PASSES = 0
        served_before, cost_before_s = outcome()
    finally:
        repair.FINAL_RELOCATE_PASSES = passes
        repair.FINAL_TURN = True
    assert served == served_before
    assert cost_s <= cost_before_s

    def by_tier(visits: list[int]) -> list[int]:
        """Visits served per tier, highest tier first: what the objective compares first."""
        levels = [tier(p.visits[v]) for v in visits]
        return [levels.count(level) for level in range(3, -1, -1)]

    assert by_tier(served_at_last) >= by_tier(served)
