"""Ruin and recreate on repaired routes: no visit lost, never more ride, every route still
timed within the day's rules, the same routes for the same seed, and visits still out served
where they fit."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Mapping

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.geo.matrix import TravelMatrix
from dispatch.geo.provider import TravelSpec, make_provider
from dispatch.model import Problem
from dispatch.plan import StopKind
from dispatch.solver import repair, ruin
from dispatch.solver.build import RoutingBuild, build_model
from dispatch.solver.penalties import PREFERENCE_WEIGHT_S
from dispatch.solver.presolve import Presolve, presolve
from dispatch.solver.ruin import RuinResult, ruin_and_recreate
from dispatch.solver.schedule import VisitTimes, route_fits, time_route
from dispatch.synth import generate
from tests.factories import agent, line_matrix, matrix, problem, visit
from tests.solver.test_repair import any_proposal
from tests.test_property import field_problems

Drafts = Mapping[int, repair._Draft]


@functools.cache
def small_field_day() -> tuple[Problem, TravelMatrix, Presolve, RoutingBuild]:
    """A small day with every field rule: breaks, office calls, named agents, soft windows."""
    p = generate(40, 6, seed=3)
    m = make_provider(TravelSpec()).matrix(p.locations())
    pre = presolve(p, m)
    return p, m, pre, build_model(p, m, pre, 0)


@pytest.fixture(scope="module")
def field_day() -> tuple[Problem, TravelMatrix, Presolve, RoutingBuild]:
    return small_field_day()


def poor_drafts(
    p: Problem, m: TravelMatrix, pre: Presolve, build: RoutingBuild, leave_out: int = 0
) -> Drafts:
    """Routes that serve the visits by their latest start, each appended to the next allowed
    agent's route where it fits (without the first ``leave_out`` of them): a poor start, far
    from the best."""
    times = VisitTimes(p)
    drafts = {k: repair._Draft(p, m, build, k, times) for k in range(len(p.agents))}
    by_latest = sorted(build.visit_order, key=lambda v: (p.visits[v].latest_start_s(), v))
    for turn, v in enumerate(by_latest):
        agents = list(pre.allowed[v])
        for i in range(len(agents)):
            if drafts[agents[(turn + i) % len(agents)]].append(v):
                break
    if leave_out:
        served = served_by(drafts)
        for v in sorted(served)[:leave_out]:
            draft = drafts[served[v]]
            j = draft.position(v)
            assert j is not None and draft.take_out(j) is not None
    return drafts


def served_by(drafts: Drafts) -> dict[int, int]:
    return {
        step.pos: k for k, d in drafts.items() for step in d.steps if step.kind == StopKind.VISIT
    }


def late_price_s(p: Problem, m: TravelMatrix, drafts: Drafts) -> int:
    """The routes' lateness at its price per minute, as the plan would time them."""
    per_min = {v.id: v.late_cost_per_min for v in p.visits}
    price = 0
    for k, draft in drafts.items():
        if not draft.steps:
            continue
        route = time_route(p, m, k, draft.steps)
        route_price = sum(
            stop.late_s * per_min[stop.visit_id]
            for stop in route.stops
            if stop.kind == StopKind.VISIT
        )
        price += route_price // 60
    return price


def route_gaps(draft: repair._Draft) -> list[tuple[int, int, frozenset[int]]]:
    """Each gap of the route in order: the locations before and after it, and the offices
    the route has called at before it."""
    locs, calls = draft.locations(), set()
    gaps = []
    for gap in range(len(locs) - 1):
        if gap and draft.steps[gap - 1].kind == StopKind.PICKUP:
            calls.add(draft.steps[gap - 1].pos)
        gaps.append((locs[gap], locs[gap + 1], frozenset(calls)))
    return gaps


def cost_s(p: Problem, m: TravelMatrix, drafts: Drafts) -> int:
    """Ride as repair counts it, a preferred agent lost and lateness counting their price."""
    lost = sum(
        p.visits[v].preferred_agent not in (None, p.agents[k].id)
        for v, k in served_by(drafts).items()
    )
    ride_s = sum(d.ride_s() for d in drafts.values())
    return ride_s + PREFERENCE_WEIGHT_S * lost + late_price_s(p, m, drafts)


def assert_routes_keep_the_rules(p: Problem, drafts: Drafts) -> None:
    """Every route fits its agent's day, and every delivery follows a call that collects it."""
    for k, draft in drafts.items():
        assert route_fits(p, k, draft.steps, draft.travel)
        collected: set[int] = set()
        for step in draft.steps:
            if step.kind == StopKind.PICKUP:
                collected |= set(step.collects)
            elif p.visits[step.pos].pickup_office is not None:
                assert step.pos in collected


def search(
    p: Problem, m: TravelMatrix, pre: Presolve, drafts: Drafts, seed: int, iterations: int
) -> RuinResult:
    return ruin_and_recreate(
        p,
        m.duration_s,
        drafts,
        pre.allowed,
        list(pre.candidates),
        seed,
        iterations=iterations,
        preference_s=PREFERENCE_WEIGHT_S,
    )


def test_a_poor_start_rides_less_and_keeps_every_visit(
    field_day: tuple[Problem, TravelMatrix, Presolve, RoutingBuild],
) -> None:
    p, m, pre, build = field_day
    drafts = poor_drafts(p, m, pre, build)
    before = served_by(drafts)
    before_s = cost_s(p, m, drafts)
    assert any(p.visits[v].pickup_office is not None for v in before)  # calls are in play
    result = search(p, m, pre, drafts, seed=0, iterations=150)
    after = served_by(drafts)
    assert set(before) <= set(after)
    assert all(k in pre.allowed[v] for v, k in after.items())
    assert result.cost_before_s == before_s
    assert result.cost_after_s == cost_s(p, m, drafts) < before_s
    assert result.iterations == 150
    assert_routes_keep_the_rules(p, drafts)


def test_lateness_counts_at_its_price() -> None:
    """Serving a soft-windowed visit late to ride less is kept only where the ride saved
    outweighs the lateness's price: here riding A then B saves 300 s but is 10 min late at B,
    at 2 min of ride a minute (A, B, the start, the end; one agent)."""
    p = problem(
        [agent("X", shift=("08:00", "18:00"))],
        [
            visit("A"),
            visit("B", windows=(("08:00", "08:15"),), max_late_s=1800, late_cost_per_min=120),
        ],
    )
    m = matrix([[0, 600, 600, 900], [900, 0, 900, 1200], [600, 900, 0, 0], [600, 900, 0, 0]])
    pre = presolve(p, m)
    build = build_model(p, m, pre, 0)

    def route(order: list[int]) -> repair._Draft:
        draft = repair._Draft(p, m, build, 0)
        for v in order:
            assert draft.append(v)
        return draft

    late_first, on_time = route([0, 1]), route([1, 0])
    assert late_first.ride_s() == 2400 and on_time.ride_s() == 2700
    assert late_first.late_price_s() == late_price_s(p, m, {0: late_first}) == 600 * 120 // 60
    assert on_time.late_price_s() == 0
    # Late first, the search starts from the price of both; on time, it keeps to that order
    # although serving the visits again puts A first every time (less ride, late at B).
    drafts = {0: route([0, 1])}
    assert search(p, m, pre, drafts, seed=0, iterations=50).cost_before_s == 2400 + 1200
    drafts = {0: route([1, 0])}
    result = search(p, m, pre, drafts, seed=0, iterations=50)
    assert result.cost_before_s == result.cost_after_s == 2700
    assert ruin._visits_of(drafts[0]) == [1, 0]


def test_the_same_seed_gives_the_same_routes(
    field_day: tuple[Problem, TravelMatrix, Presolve, RoutingBuild],
) -> None:
    p, m, pre, build = field_day
    runs = []
    for seed in (5, 5, 6):
        drafts = poor_drafts(p, m, pre, build)
        search(p, m, pre, drafts, seed=seed, iterations=60)
        runs.append({k: list(d.steps) for k, d in drafts.items()})
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_visits_still_out_are_served_where_they_fit(
    field_day: tuple[Problem, TravelMatrix, Presolve, RoutingBuild],
) -> None:
    """Visits taken out of routes they fitted in come back with the visits near a ruin."""
    p, m, pre, build = field_day
    full = served_by(poor_drafts(p, m, pre, build))
    drafts = poor_drafts(p, m, pre, build, leave_out=3)
    assert len(served_by(drafts)) == len(full) - 3
    search(p, m, pre, drafts, seed=0, iterations=150)
    assert set(served_by(drafts)) >= set(full)
    assert_routes_keep_the_rules(p, drafts)


def test_a_deadline_already_past_changes_nothing(
    field_day: tuple[Problem, TravelMatrix, Presolve, RoutingBuild],
) -> None:
    p, m, pre, build = field_day
    drafts = poor_drafts(p, m, pre, build)
    steps = {k: list(d.steps) for k, d in drafts.items()}
    result = ruin_and_recreate(
        p, m.duration_s, drafts, pre.allowed, list(pre.candidates), 0, until_s=time.perf_counter()
    )
    assert result.iterations == 0
    assert result.cost_after_s == result.cost_before_s
    assert {k: list(d.steps) for k, d in drafts.items()} == steps


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field_problems(), st.data())
def test_any_repaired_proposal_keeps_its_visits_and_rides_no_more(
    case: tuple[Problem, TravelMatrix], data: st.DataObject
) -> None:
    """Whatever the proposal, ruin and recreate on its repaired routes serves every visit it
    served, by agents allowed to, within every rule, for no more ride."""
    p, m = case
    drawn = any_proposal(p, m, data)
    if drawn is None:
        return
    pre, proposed = drawn
    build = build_model(p, m, pre, 0)
    times = VisitTimes(p)
    drafts = {k: repair._Draft(p, m, build, k, times) for k in range(len(p.agents))}
    for k in sorted(proposed):
        for v in proposed[k]:
            if v in build.visit_nodes and k in pre.allowed[v]:
                drafts[k].append(v)
    before = served_by(drafts)
    before_s = cost_s(p, m, drafts)
    search(p, m, pre, drafts, seed=data.draw(st.integers(0, 3)), iterations=20)
    after = served_by(drafts)
    assert set(before) <= set(after)
    assert all(k in pre.allowed[v] for v, k in after.items())
    if set(after) == set(before):
        assert cost_s(p, m, drafts) <= before_s
    assert_routes_keep_the_rules(p, drafts)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_taking_out_a_string_at_once_leaves_what_one_by_one_does(data: st.DataObject) -> None:
    """A string of visits taken out in one go leaves the same stops (calls that collect
    nothing more gone too) as taking them out one by one."""
    p, m, pre, build = small_field_day()
    drafts = poor_drafts(p, m, pre, build)
    k = data.draw(st.sampled_from([k for k, d in drafts.items() if d.steps]))
    route = [s.pos for s in drafts[k].steps if s.kind == StopKind.VISIT]
    first = data.draw(st.integers(0, len(route) - 1))
    string = route[first : first + data.draw(st.integers(1, len(route) - first))]
    at_once, one_by_one = drafts[k], poor_drafts(p, m, pre, build)[k]
    assert at_once.take_out_all(set(string))
    for v in string:
        j = one_by_one.position(v)
        assert j is not None and one_by_one.take_out(j) is not None
    assert at_once.steps == one_by_one.steps
    assert at_once.served == one_by_one.served == len(route) - len(string)
    assert [s.depart_s for s in at_once.prefix[-1]] == [s.depart_s for s in one_by_one.prefix[-1]]


def test_a_visit_is_offered_every_gap_it_may_take_by_the_ride_it_adds_there(
    field_day: tuple[Problem, TravelMatrix, Presolve, RoutingBuild],
) -> None:
    """Every gap of each allowed agent's route, least added ride first (ties in route order):
    the ride into the visit and on, less the ride it replaces; for a delivery, the detour by
    its office where the route has not called there before the gap; and the preference's
    weight where the agent is not the one the visit prefers."""
    p, m, pre, build = field_day
    drafts = poor_drafts(p, m, pre, build)
    table = ruin._GapTable(p, m.duration_s, drafts)
    d = m.duration_s
    offices = {o.id: i for i, o in enumerate(p.offices)}
    agents = {a.id: k for k, a in enumerate(p.agents)}
    seen = {"call paid": 0, "call made": 0, "preference": 0}
    for v in pre.candidates:
        x, visit = p.visit_index(v), p.visits[v]
        office = offices.get(visit.pickup_office or "")
        o = None if office is None else p.office_index(office)
        preferred = agents.get(visit.preferred_agent or "")
        expected = []
        for k in sorted(set(pre.allowed[v])):
            for gap, (a, b, calls) in enumerate(route_gaps(drafts[k])):
                added_s = d[a, x] + d[x, b] - d[a, b]
                if o is not None:
                    seen["call made" if office in calls else "call paid"] += 1
                    if office not in calls:
                        added_s += d[a, o] + d[o, x] - d[a, x]
                if preferred is not None and k != preferred:
                    seen["preference"] += 1
                    added_s += PREFERENCE_WEIGHT_S
                expected.append((int(added_s), k, gap))
        expected.sort(key=lambda row: row[0])
        may_serve = np.isin(np.arange(len(p.agents)), list(pre.allowed[v]))
        options, added = ruin._gaps_by_cost(
            table,
            x,
            None if office is None or o is None else (office, o),
            preferred,
            PREFERENCE_WEIGHT_S,
            may_serve,
        )
        got = [
            (int(s), int(table.agent[i]), int(table.at[i]))
            for i, s in zip(options, added, strict=True)
        ]
        assert got == expected
    assert min(seen.values()) > 0


def test_a_visit_open_long_tries_more_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    """V rides as little before A as after it, but before A it makes A miss its window
    (08:00-08:10): with one gap to try V fits nowhere, with two it follows A. Visits open
    longer than two slots get more tries than those booked into a slot."""
    monkeypatch.setattr(ruin, "SKIP_GAP", 0.0)
    booked = visit("V", windows=(("08:00", "11:00"),))
    open_day = visit("V", windows=(("08:00", "18:00"),))
    for v, tries in ((booked, [1, 1]), (open_day, [1, 2])):
        p = problem(
            [agent("X", shift=("08:00", "12:00"))],
            [visit("A", windows=(("08:00", "08:10"),)), v],
        )
        assert ruin.gap_tries(p)[1] == (
            ruin.GAP_TRIES_OPEN_LONG if v is open_day else ruin.GAP_TRIES
        )
        m = line_matrix([600, 300, 0, 0])
        pre = presolve(p, m)
        drafts = {0: repair._Draft(p, m, build_model(p, m, pre, 0), 0)}
        assert drafts[0].append(0)
        table = ruin._GapTable(p, m.duration_s, drafts)
        may_serve = np.ones((2, 1), dtype=np.bool_)
        gained = ruin._recreate(
            p,
            drafts,
            table,
            [1],
            [],
            may_serve,
            [None, None],
            [None, None],
            0,
            tries,
            random.Random(0),
            {},
        )
        assert (gained is not None) == (tries[1] == 2)
        if gained is not None:
            assert ruin._visits_of(drafts[0]) == [0, 1]


def test_the_gap_table_holds_every_gap_as_the_routes_change(
    field_day: tuple[Problem, TravelMatrix, Presolve, RoutingBuild],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After routes lose their calls and one grows past the room first set aside, the table's
    live gaps are exactly every route's gaps, in order, with their ride and the calls before
    them."""
    p, m, pre, build = field_day
    monkeypatch.setattr(ruin, "ROOM_SPARE_GAPS", 0)  # no spare: the longest route outgrows it

    def expected(drafts: Drafts) -> list[tuple[object, ...]]:
        rows: list[tuple[object, ...]] = []
        for a in sorted(drafts):
            for gap, (after, before, calls) in enumerate(route_gaps(drafts[a])):
                called = [int(c in calls) for c in range(len(p.offices))]
                rows.append((after, before, m.duration_s[after, before], a, gap, called))
        return rows

    def held(table: ruin._GapTable) -> list[tuple[object, ...]]:
        after, before, ride, agent, at, called, live = table.arrays()
        return [
            (after[i], before[i], ride[i], agent[i], at[i], [int(c) for c in called[:, i]])
            for i in np.flatnonzero(live)
        ]

    drafts = poor_drafts(p, m, pre, build)
    # The longest route starts empty, so that its visits served again outgrow the room.
    k = max(drafts, key=lambda k: len(drafts[k].steps))
    route = [s.pos for s in drafts[k].steps if s.kind == StopKind.VISIT]
    assert all(len(d.steps) < len(drafts[k].steps) for a, d in drafts.items() if a != k)
    assert drafts[k].take_out_all(set(route))
    table = ruin._GapTable(p, m.duration_s, drafts)
    assert held(table) == expected(drafts)
    room = table.room
    lost_calls = 0
    for other in sorted(drafts):
        deliveries = {
            s.pos
            for s in drafts[other].steps
            if s.kind == StopKind.VISIT and p.visits[s.pos].pickup_office
        }
        if deliveries:
            steps = len(drafts[other].steps)
            assert drafts[other].take_out_all(deliveries)
            lost_calls += steps - len(drafts[other].steps) - len(deliveries)
            table.touch(other)
    assert lost_calls > 0 and held(table) == expected(drafts)
    for v in route:
        assert drafts[k].append(v)
    table.touch(k)
    assert held(table) == expected(drafts)
    assert table.room > room  # the longest route outgrew its slot
