"""The PyVRP proposal phase: its settings and the clock it plans on."""

from __future__ import annotations

from pyvrp.search import PerturbationParams

from dispatch.model import Break
from dispatch.solver.ils import (
    MAX_PERTURBATIONS_INEXACT,
    LunchFold,
    ils_is_exact,
    lunch_fold,
    perturbation_params,
)
from dispatch.synth import generate
from tests.factories import agent, hm, problem, visit, window


def test_field_days_perturb_in_smaller_steps_than_pure_vrptw() -> None:
    field_day = generate(40, 4, seed=3)
    plain_day = generate(40, 4, seed=3, features=False)
    assert not ils_is_exact(field_day)
    assert ils_is_exact(plain_day)
    default_max = PerturbationParams().max_perturbations
    assert default_max > MAX_PERTURBATIONS_INEXACT
    assert perturbation_params(field_day).max_perturbations == MAX_PERTURBATIONS_INEXACT
    assert perturbation_params(plain_day).max_perturbations == default_max


def test_lunch_fold_cuts_the_break_most_agents_owe_out_of_the_clock() -> None:
    lunch = Break("lunch", 1800, window("13:00", "14:00"))
    tea = Break("tea", 900, window("10:00", "10:30"))
    late = Break("evening", 600, window("19:00", "19:30"))  # after the shift: never in play
    p = problem(
        [
            agent("A", breaks=(lunch, tea)),
            agent("B", breaks=(lunch,)),
            agent("C", breaks=(lunch, late)),
            agent("D", breaks=(tea,)),
        ],
        [visit("V1")],
    )
    fold = lunch_fold(p)
    assert fold == LunchFold(hm("13:00"), 1800, hm("14:00"))
    assert fold.time_s(hm("12:00")) == hm("12:00")
    assert fold.time_s(hm("13:00")) == hm("13:00")
    assert fold.time_s(hm("13:20")) == hm("13:00")  # inside the break: collapsed onto its start
    assert fold.time_s(hm("15:00")) == hm("14:30")
    assert lunch_fold(problem([agent("A", breaks=(late,)), agent("B")], [visit("V1")])) is None
