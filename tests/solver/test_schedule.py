"""Timing a route: the direct timing of a route with every break after it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.errors import InputError
from dispatch.geo.matrix import TravelMatrix
from dispatch.model import Break, Problem
from dispatch.plan import StopKind
from dispatch.solver.schedule import (
    RouteTimer,
    State,
    Step,
    _fits_breaks_after,
    _fits_step_by_step,
    actual_travel,
    model_travel,
    timer_fits,
)
from dispatch.solver.validate import validate_inputs
from tests.factories import agent, hm, line_matrix, problem, visit, window
from tests.test_property import field_problems

LUNCH = Break("lunch", 1800, window("13:00", "14:00"))


@pytest.mark.parametrize(
    ("slot", "lunch_after"), [(("09:00", "10:00"), True), (("13:00", "13:30"), False)]
)
def test_a_visit_fits_with_lunch_after_the_route_or_while_waiting(
    slot: tuple[str, str], lunch_after: bool
) -> None:
    """An hour out, a morning visit leaves lunch for after the route: timed directly. One at
    13:00 brings the agent back after lunch must start, so the timer takes lunch while the
    agent waits for the slot: the full timing still finds that."""
    p = problem([agent("A", breaks=(LUNCH,))], [visit("V", windows=[slot])])
    timer = RouteTimer(p, 0, actual_travel(line_matrix([3600, 0, 0]), 1.0))
    steps = [Step(StopKind.VISIT, 0)]
    assert _fits_breaks_after(timer, steps) == lunch_after
    assert timer_fits(timer, steps)
    assert _fits_step_by_step(timer, steps)


def any_route(
    p: Problem, m: TravelMatrix, data: st.DataObject, most: int
) -> tuple[int, list[Step]] | None:
    """An agent and up to ``most`` visits in any order, sometimes after a call that collects
    them all; None for a problem refused before any search or with nothing to route."""
    try:
        validate_inputs(p, m, time_limit_s=1.0, solution_limit=None)
    except InputError:
        return None
    if not p.agents or not p.visits:
        return None
    a = data.draw(st.integers(0, len(p.agents) - 1))
    order = data.draw(st.lists(st.integers(0, len(p.visits) - 1), unique=True, max_size=most))
    steps = [Step(StopKind.VISIT, v) for v in order]
    if p.offices and data.draw(st.booleans()):
        steps.insert(0, Step(StopKind.PICKUP, 0, tuple(order)))
    return a, steps


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field_problems(), st.data())
def test_timing_directly_agrees_with_the_timer(
    drawn: tuple[Problem, TravelMatrix], data: st.DataObject
) -> None:
    p, m = drawn
    route = any_route(p, m, data, 4)
    if route is None:
        return
    a, steps = route
    for ignore_breaks in (False, True):
        travel = actual_travel(m, p.agents[a].speed_factor)
        timer = RouteTimer(p, a, travel, ignore_breaks=ignore_breaks)
        assert timer_fits(timer, steps) == _fits_step_by_step(timer, steps)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field_problems(), st.data())
def test_a_timer_that_drops_dominated_states_finds_the_same_timing(
    drawn: tuple[Problem, TravelMatrix], data: st.DataObject
) -> None:
    """Where travel does not depend on the hour (the model's), dropping the states another
    does at least as well as loses no route that fits and no earlier return."""
    p, m = drawn
    route = any_route(p, m, data, 6)
    if route is None:
        return
    a, steps = route
    travel = model_travel(m, p.agents[a].speed_factor)
    full, pruned = RouteTimer(p, a, travel), RouteTimer(p, a, travel, prune=True)
    states, kept = full.initial(), pruned.initial()
    for number, step in enumerate(steps):
        states = full.advance(states, step, number)
        kept = pruned.advance(kept, step, number)
        assert bool(states) == bool(kept)
        assert len(kept) <= len(states)
        if not states:
            return
    ends = [f.end_s if f else None for f in (full.finish(states), pruned.finish(kept))]
    assert ends[0] == ends[1]


def test_a_state_that_waited_for_lunch_gives_way_to_one_that_may_still_take_it() -> None:
    """Lunch (13:00-14:00, 30 min) taken on the way to a 13:30 departure is no better than
    leaving at 12:00 with lunch still to take; leaving at 13:50 with it still to take is
    worse than having taken it by 14:00, and no state gives way to one that left later."""
    p = problem([agent("A", breaks=(LUNCH,))], [visit("V")])
    timer = RouteTimer(p, 0, model_travel(line_matrix([0, 0, 0]), 1.0), prune=True)
    early = State(0, 12 * 3600, 1, None, None)
    lunched = State(1, 13 * 3600 + 1800, 1, None, None)
    late = State(0, 13 * 3600 + 3000, 1, None, None)
    after = State(1, 14 * 3600, 1, None, None)
    assert timer._undominated([early, lunched]) == [early]
    assert timer._undominated([late, after]) == [late, after]
    # Past 14:00 lunch can no longer start: leaving at 14:10 without it is no match for
    # having had it, however late.
    gone = State(0, 14 * 3600 + 600, 1, None, None)
    rested = State(1, 14 * 3600 + 2700, 1, None, None)
    assert timer._undominated([gone, rested]) == [gone, rested]
    assert timer._undominated([late, State(1, 13 * 3600 + 2000, 1, None, None)]) == [
        State(1, 13 * 3600 + 2000, 1, None, None)
    ]


@pytest.mark.parametrize(
    ("leave", "opens", "taken"), [("11:00", "09:00", 0), ("12:50", "13:40", 1)]
)
def test_one_state_owing_lunch_is_timed_as_the_search_of_every_break_times_it(
    leave: str, opens: str, taken: int
) -> None:
    """Leaving at 11:00 and served by 11:30, lunch (13:00-14:00) cannot start before the agent
    leaves again: the state goes on owing it. Reaching at 13:00 a slot that opens at 13:40,
    lunch fits in the wait, and the state that took it is the one kept. Either way a pruned
    timer keeps what its search of every break keeps (reached here with the state twice)."""
    p = problem([agent("A", breaks=(LUNCH,))], [visit("V", windows=[(opens, "17:00")])])
    timer = RouteTimer(p, 0, model_travel(line_matrix([600, 0, 0]), 1.0), prune=True)
    state = State(0, hm(leave), 1, None, None)
    step = Step(StopKind.VISIT, 0)
    (after,) = timer.advance([state], step, 0)
    assert after == timer.advance([state, state], step, 0)[0]
    start_s = max(hm(leave) + 600, hm(opens))
    assert (after.taken, after.depart_s) == (taken, start_s + p.visit_duration_s(p.visits[0]))


def test_a_state_past_the_end_of_a_break_it_still_owes_is_dropped() -> None:
    """Leaving at 14:10 without lunch (13:00-14:00) leads nowhere: lunch can no longer start,
    so no state goes on from there; leaving at 13:50 it may still be taken on the way."""
    p = problem([agent("A", breaks=(LUNCH,))], [visit("V", windows=[("09:00", "17:00")])])
    visit_step = Step(StopKind.VISIT, 0)
    for prune in (False, True):
        timer = RouteTimer(p, 0, model_travel(line_matrix([600, 0, 0]), 1.0), prune=prune)
        assert timer.advance([State(0, 14 * 3600 + 600, 1, None, None)], visit_step, 1) == []
        on_time = timer.advance([State(0, 13 * 3600 + 3000, 1, None, None)], visit_step, 1)
        assert [s.taken for s in on_time] == [1]
