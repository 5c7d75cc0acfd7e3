"""Calibration: the haversine fit recovers known parameters and behaves on a real sector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dispatch.geo.calibrate import calibrate_network, fit_haversine
from dispatch.geo.matrix import HaversineProvider
from dispatch.geo.roads import load_network
from dispatch.model import Location

SECTOR = Path(__file__).resolve().parents[2] / "data" / "osm" / "g10.osm"


def test_fit_recovers_exact_parameters() -> None:
    """Noise-free synthetic pairs give back detour 1.4 and 25 km/h exactly, with R^2 = 1."""
    rng = np.random.default_rng(0)
    straight = rng.uniform(200, 8000, 500)
    road = straight * 1.4
    seconds = road / (25 / 3.6)
    fit = fit_haversine(straight, road, seconds)
    assert fit.n_pairs == 500
    assert fit.detour_factor == pytest.approx(1.4, rel=1e-12)
    assert fit.speed_kph == pytest.approx(25.0, rel=1e-12)
    assert fit.median_detour == pytest.approx(1.4, rel=1e-12)
    assert fit.r2_time == pytest.approx(1.0)
    assert fit.median_abs_error_s == pytest.approx(0.0, abs=1e-9)


def test_fit_recovers_parameters_through_noise() -> None:
    """With 10% multiplicative noise the fit stays within 2% and reports the error it sees."""
    rng = np.random.default_rng(1)
    straight = rng.uniform(300, 10_000, 4000)
    road = straight * 1.3 * rng.normal(1.0, 0.1, straight.size)
    seconds = road / (30 / 3.6) * rng.normal(1.0, 0.1, straight.size)
    fit = fit_haversine(straight, road, seconds)
    assert fit.detour_factor == pytest.approx(1.3, rel=0.02)
    assert fit.speed_kph == pytest.approx(30.0, rel=0.02)
    assert 0.5 < fit.r2_time < 1.0
    assert 0.03 < fit.median_abs_pct_error < 0.15


def test_fit_provider_reproduces_fitted_times() -> None:
    """The provider built from a fit predicts straight_m * detour / speed, as the fit assumed."""
    fit = fit_haversine([1000.0, 2000.0], [1500.0, 3000.0], [180.0, 360.0])
    provider = fit.provider()
    assert isinstance(provider, HaversineProvider)
    a = Location(33.70, 73.00)
    b = Location(33.70, 73.02)
    matrix = provider.matrix([a, b])
    straight = matrix.distance_m[0, 1] / fit.detour_factor
    assert matrix.duration_s[0, 1] == pytest.approx(straight * 0.18, abs=1.0)


def test_fit_rejects_bad_input() -> None:
    """Mismatched or too few pairs raise ValueError."""
    with pytest.raises(ValueError, match="equal length"):
        fit_haversine([1.0, 2.0], [1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least two"):
        fit_haversine([0.0, 5.0], [1.0, 6.0], [1.0, 2.0])


def test_calibrate_sector_network_is_plausible_and_deterministic() -> None:
    """On the G-10 sector the fit has detour >= 1, a town speed, and repeats with the seed."""
    network = load_network(SECTOR)
    fit = calibrate_network(network, n_pairs=400, seed=5)
    again = calibrate_network(network, n_pairs=400, seed=5)
    assert fit == again
    assert 100 <= fit.n_pairs <= 400
    assert fit.detour_factor >= 1.0
    assert fit.median_detour >= 1.0
    assert 10.0 < fit.speed_kph < 60.0
