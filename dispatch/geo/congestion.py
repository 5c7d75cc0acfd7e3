"""Congestion profiles: how much longer a free-flow ride takes at each hour of the day.

:class:`dispatch.geo.matrix.CongestionProfile` holds 24 hourly multipliers;
:meth:`dispatch.geo.matrix.TravelMatrix.travel_s` applies the one for the hour of departure, so
the solver and the checker agree. The values and their reasoning are in ``docs/travel.md``.
"""

from __future__ import annotations

from collections.abc import Mapping

from dispatch.geo.matrix import CongestionProfile

# (first hour, hour after the last) -> multiplier; hours not listed ride at free flow (1.0).
PUNJAB_PERIODS: Mapping[tuple[int, int], float] = {
    (7, 8): 1.15,  # shops opening, first school runs
    (8, 10): 1.35,  # morning peak: offices and schools
    (10, 13): 1.15,  # midday
    (13, 15): 1.25,  # school closing time
    (15, 17): 1.15,  # afternoon
    (17, 19): 1.45,  # evening peak: offices close, markets fill
    (19, 21): 1.25,  # evening markets
    (21, 22): 1.1,
}


def profile_from_periods(
    periods: Mapping[tuple[int, int], float], default: float = 1.0
) -> CongestionProfile:
    """A profile from ``{(start_hour, end_hour): multiplier}``; other hours get ``default``.

    Periods are half-open (``(8, 10)`` covers 08:00–09:59) and must not overlap.
    """
    hours = [default] * 24
    seen: set[int] = set()
    for (start, end), multiplier in periods.items():
        if not (0 <= start < end <= 24):
            raise ValueError(f"period ({start}, {end}) must satisfy 0 <= start < end <= 24")
        overlap = seen.intersection(range(start, end))
        if overlap:
            raise ValueError(f"period ({start}, {end}) overlaps another at hour {min(overlap)}")
        seen.update(range(start, end))
        for hour in range(start, end):
            hours[hour] = multiplier
    return CongestionProfile(tuple(hours))


PUNJAB_CONGESTION: CongestionProfile = profile_from_periods(PUNJAB_PERIODS)

FREE_FLOW: CongestionProfile = CongestionProfile((1.0,) * 24)


def congestion_profile(name: str) -> CongestionProfile | None:
    """A named profile: ``"punjab"`` or ``"default"`` (the Punjab town profile), ``"none"``."""
    if name in ("punjab", "default"):
        return PUNJAB_CONGESTION
    if name == "none":
        return None
    raise ValueError(f"unknown congestion profile {name!r} (known: 'punjab', 'default', 'none')")
