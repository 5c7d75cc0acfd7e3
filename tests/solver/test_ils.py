"""The PyVRP proposal phase's settings."""

from __future__ import annotations

from pyvrp.search import PerturbationParams

from dispatch.solver.ils import MAX_PERTURBATIONS_INEXACT, ils_is_exact, perturbation_params
from dispatch.synth import generate


def test_field_days_perturb_in_smaller_steps_than_pure_vrptw() -> None:
    field_day = generate(40, 4, seed=3)
    plain_day = generate(40, 4, seed=3, features=False)
    assert not ils_is_exact(field_day)
    assert ils_is_exact(plain_day)
    default_max = PerturbationParams().max_perturbations
    assert default_max > MAX_PERTURBATIONS_INEXACT
    assert perturbation_params(field_day).max_perturbations == MAX_PERTURBATIONS_INEXACT
    assert perturbation_params(plain_day).max_perturbations == default_max
