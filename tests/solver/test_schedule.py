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
    Step,
    _fits_breaks_after,
    _fits_step_by_step,
    actual_travel,
    timer_fits,
)
from dispatch.solver.validate import validate_inputs
from tests.factories import agent, line_matrix, problem, visit, window
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


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field_problems(), st.data())
def test_timing_directly_agrees_with_the_timer(
    drawn: tuple[Problem, TravelMatrix], data: st.DataObject
) -> None:
    p, m = drawn
    try:
        validate_inputs(p, m, time_limit_s=1.0, solution_limit=None)
    except InputError:
        return
    if not p.agents or not p.visits:
        return
    a = data.draw(st.integers(0, len(p.agents) - 1))
    order = data.draw(st.lists(st.integers(0, len(p.visits) - 1), unique=True, max_size=4))
    steps = [Step(StopKind.VISIT, v) for v in order]
    if p.offices and data.draw(st.booleans()):
        steps.insert(0, Step(StopKind.PICKUP, 0, tuple(order)))
    for ignore_breaks in (False, True):
        travel = actual_travel(m, p.agents[a].speed_factor)
        timer = RouteTimer(p, a, travel, ignore_breaks=ignore_breaks)
        assert timer_fits(timer, steps) == _fits_step_by_step(timer, steps)
