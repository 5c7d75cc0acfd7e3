"""Drop penalties order the tiers strictly and stay inside int64."""

from __future__ import annotations

from dispatch.model import Priority
from dispatch.solver.penalties import OBJECTIVE_LIMIT, drop_penalties
from tests.factories import agent, problem, visit


def test_each_tier_outweighs_everything_below_it() -> None:
    """One visit of a tier costs more than all lower-tier visits plus any travel."""
    visits = (
        [visit(f"N{k}") for k in range(5)]
        + [visit(f"H{k}", priority=Priority.HIGH) for k in range(3)]
        + [visit(f"U{k}", priority=Priority.URGENT) for k in range(2)]
        + [visit("R0", required=True)]
    )
    p = problem([agent("A", shift=("08:00", "09:00")), agent("B")], visits)
    pen = drop_penalties(p, range(len(visits)))
    max_travel_s = 3600 + 10 * 3600
    normal, high, urgent, required = pen.per_tier
    assert pen.lexicographic
    assert normal > max_travel_s
    assert high > 5 * normal + max_travel_s
    assert urgent > 3 * high + 5 * normal + max_travel_s
    assert required > 2 * urgent + 3 * high + 5 * normal + max_travel_s


def test_huge_problems_fall_back_to_capped_ratios() -> None:
    """With tens of thousands of visits per tier the penalties are capped below the limit."""
    n = 40_000
    visits = [
        visit(f"V{k}", priority=(Priority.NORMAL, Priority.HIGH, Priority.URGENT)[k % 3])
        for k in range(n)
    ]
    p = problem([agent(f"A{k}") for k in range(200)], visits)
    pen = drop_penalties(p, range(n))
    assert not pen.lexicographic
    assert (n + 1) * max(pen.per_tier) <= OBJECTIVE_LIMIT
    normal, high, urgent, required = pen.per_tier
    assert normal < high < urgent < required
