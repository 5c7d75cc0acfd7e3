"""Drop penalties that make the search serve visits by priority before it saves travel.

Dropping a visit costs its penalty; the objective is total travel seconds plus the penalties
of dropped visits. The tiers are chosen so that the order of concern is strict
(lexicographic): one dropped visit of a tier costs more than dropping every visit of all lower
tiers *and* every other cost the day can run up: riding for every second of every shift,
every visit as late as allowed, every preference missed and every agent working its whole shift
over the average. With ``n`` visits in a tier and ``P`` its penalty, the next tier's penalty is
``(n + 1) * P``; the lowest tier (normal) gets that ceiling of other costs plus one.

Those numbers grow as the product of the tier sizes. When the largest objective would pass
:data:`OBJECTIVE_LIMIT` (about 2^62, leaving OR-Tools room below int64), each step up is capped
at a fixed ratio instead, shared by the three steps: then a visit of a higher tier still
outweighs up to ``ratio - 1`` visits of the tier below and all travel, but not more.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from dispatch.model import Priority, Problem, Visit

OBJECTIVE_LIMIT = 2**62
# What serving a visit by someone other than its preferred agent costs, in seconds of travel:
# a quarter of an hour's ride is worth keeping the agent who knows the family.
PREFERENCE_WEIGHT_S = 900
# Tier of each kind of visit, lowest concern first.
TIER_NAMES: tuple[str, ...] = ("normal", "high", "urgent", "required")


@dataclass(frozen=True, slots=True)
class Penalties:
    """Penalty per tier (see :data:`TIER_NAMES`) and whether the tiers are strictly ordered."""

    per_tier: tuple[int, int, int, int]
    lexicographic: bool

    def of(self, visit: Visit) -> int:
        return self.per_tier[tier(visit)]


def tier(visit: Visit) -> int:
    """0 normal, 1 high, 2 urgent, 3 required (whatever its priority)."""
    if visit.required:
        return 3
    return {Priority.NORMAL: 0, Priority.HIGH: 1, Priority.URGENT: 2}[visit.priority]


def other_costs_ceiling_s(problem: Problem, candidates: Sequence[int]) -> int:
    """An upper bound on every cost but drops, in seconds of travel (see the module docstring)."""
    shifts_s = sum(max(0, a.shift.end_s - a.shift.start_s) for a in problem.agents)
    late = 0
    preferences = 0
    for v in candidates:
        visit = problem.visits[v]
        late += math.ceil(max(0, visit.max_late_s) * max(0, visit.late_cost_per_min) / 60)
        if visit.preferred_agent is not None:
            preferences += PREFERENCE_WEIGHT_S
    balance = math.ceil(shifts_s * max(0.0, problem.balance_weight))
    return shifts_s + late + preferences + balance


def drop_penalties(problem: Problem, candidates: Sequence[int], *, scale: int = 1) -> Penalties:
    """Penalties for the visits at positions ``candidates`` (the ones the search may drop).

    In seconds of travel; ``scale`` is how many objective units the caller counts per second,
    so that the scaled penalties too stay within :data:`OBJECTIVE_LIMIT`.
    """
    limit = OBJECTIVE_LIMIT // max(1, scale)
    base = other_costs_ceiling_s(problem, candidates) + 1
    counts = [0, 0, 0, 0]
    for v in candidates:
        counts[tier(problem.visits[v])] += 1
    exact = _tiers(base, [n + 1 for n in counts[:3]])
    if (counts[3] + 1) * exact[3] <= limit:
        return Penalties(exact, True)
    # Largest common ratio r with (n_total + 1) * base * r^3 <= limit.
    room = limit // ((sum(counts) + 1) * base)
    ratio = max(2, _icbrt(room))
    capped = _tiers(base, [min(n + 1, ratio) for n in counts[:3]])
    return Penalties(capped, False)


def _tiers(base: int, steps: Sequence[int]) -> tuple[int, int, int, int]:
    p0 = base
    p1 = p0 * steps[0]
    p2 = p1 * steps[1]
    p3 = p2 * steps[2]
    return (p0, p1, p2, p3)


def _icbrt(n: int) -> int:
    """Integer cube root (floor)."""
    r: int = max(0, round(math.cbrt(n)))
    while r**3 > n:
        r -= 1
    while (r + 1) ** 3 <= n:
        r += 1
    return r
