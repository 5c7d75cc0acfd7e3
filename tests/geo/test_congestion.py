"""Congestion: the Punjab profile's documented hours and its effect on matrix travel times."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dispatch.geo.congestion import (
    FREE_FLOW,
    PUNJAB_CONGESTION,
    congestion_profile,
    profile_from_periods,
)
from dispatch.geo.matrix import TravelMatrix


def _hour(h: int, minute: int = 30) -> int:
    return h * 3600 + minute * 60


def test_punjab_profile_matches_documented_peaks() -> None:
    """Morning peak 1.35, midday 1.15, evening peak 1.45, night free flow."""
    profile = PUNJAB_CONGESTION
    assert profile.factor(_hour(8)) == 1.35
    assert profile.factor(_hour(9, 59)) == 1.35
    assert profile.factor(_hour(12)) == 1.15
    assert profile.factor(_hour(17)) == 1.45
    assert profile.factor(_hour(18, 59)) == 1.45
    assert profile.factor(_hour(3)) == 1.0
    assert profile.factor(_hour(23)) == 1.0
    assert max(profile.multipliers) == profile.factor(_hour(17))


def test_profile_changes_matrix_times_by_departure_hour() -> None:
    """TravelMatrix.travel_s scales by the hour of departure and leaves zero legs at zero."""
    duration = np.array([[0, 600], [600, 0]], dtype=np.int64)
    matrix = TravelMatrix(duration, duration * 5, PUNJAB_CONGESTION)
    assert matrix.travel_s(0, 1, depart_s=_hour(2)) == 600
    assert matrix.travel_s(0, 1, depart_s=_hour(8, 15)) == math.ceil(600 * 1.35)
    assert matrix.travel_s(0, 1, depart_s=_hour(17, 45)) == math.ceil(600 * 1.45)
    assert matrix.travel_s(0, 1, depart_s=_hour(17, 45), speed_factor=1.45) == 600
    assert matrix.travel_s(1, 1, depart_s=_hour(17, 45)) == 0
    free = TravelMatrix(duration, duration * 5, FREE_FLOW)
    assert free.travel_s(0, 1, depart_s=_hour(17)) == 600


def test_periods_build_a_profile_and_reject_bad_ranges() -> None:
    """Half-open hour ranges fill the profile; overlaps and out-of-day hours are refused."""
    profile = profile_from_periods({(6, 9): 1.2, (16, 24): 1.3})
    assert profile.multipliers[5] == 1.0
    assert profile.multipliers[6:9] == (1.2, 1.2, 1.2)
    assert profile.multipliers[9] == 1.0
    assert profile.multipliers[23] == 1.3
    with pytest.raises(ValueError, match="overlaps"):
        profile_from_periods({(6, 9): 1.2, (8, 10): 1.3})
    with pytest.raises(ValueError, match="0 <= start"):
        profile_from_periods({(20, 25): 1.2})
    with pytest.raises(ValueError, match=r"at least 1\.0"):
        profile_from_periods({(6, 9): 0.8})


def test_named_profiles() -> None:
    """'punjab' or 'default' is the Punjab profile, 'none' free flow; others are refused."""
    assert congestion_profile("punjab") is PUNJAB_CONGESTION
    assert congestion_profile("default") is PUNJAB_CONGESTION
    assert congestion_profile("none") is None
    with pytest.raises(ValueError, match="unknown congestion profile"):
        congestion_profile("karachi")
