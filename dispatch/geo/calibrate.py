"""Fit the haversine estimate (detour factor and riding speed) to a road network.

Districts without a road extract use :class:`dispatch.geo.matrix.HaversineProvider`; this module
measures how well its two parameters stand in for real roads, on a network we do have, so the
defaults are numbers with a source rather than guesses. The fitted model predicts road time as
``straight_m * detour_factor / speed``, exactly as the provider computes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dispatch.geo.matrix import CongestionProfile, HaversineProvider, haversine_m
from dispatch.geo.roads import RoadNetwork


@dataclass(frozen=True, slots=True)
class CalibrationFit:
    """Fitted haversine parameters and how well they predict road times.

    ``detour_factor`` and ``speed_kph`` are least-squares fits through the origin (road metres
    on straight metres, road seconds on straight metres), so long pairs weigh more;
    ``median_detour`` is the median ratio, a robust cross-check. ``r2_time`` is the share of the
    variance of road seconds the model explains; errors are on road seconds.
    """

    n_pairs: int
    detour_factor: float
    speed_kph: float
    median_detour: float
    r2_time: float
    median_abs_error_s: float
    median_abs_pct_error: float

    def provider(self, congestion: CongestionProfile | None = None) -> HaversineProvider:
        """A haversine provider with the fitted parameters (detour at least 1)."""
        return HaversineProvider(self.speed_kph, max(self.detour_factor, 1.0), congestion)


def fit_haversine(
    straight_m: npt.ArrayLike, road_m: npt.ArrayLike, road_s: npt.ArrayLike
) -> CalibrationFit:
    """Fit detour factor and speed to paired straight-line metres, road metres and road seconds."""
    s = np.asarray(straight_m, dtype=np.float64)
    r = np.asarray(road_m, dtype=np.float64)
    t = np.asarray(road_s, dtype=np.float64)
    if not (s.shape == r.shape == t.shape) or s.ndim != 1:
        raise ValueError("straight_m, road_m and road_s must be 1-D arrays of equal length")
    keep = (s > 0) & np.isfinite(s) & np.isfinite(r) & np.isfinite(t)
    s, r, t = s[keep], r[keep], t[keep]
    if s.size < 2:
        raise ValueError("need at least two pairs with a positive straight-line distance")
    ss = float(np.dot(s, s))
    detour = float(np.dot(s, r)) / ss
    s_per_m = float(np.dot(s, t)) / ss  # road seconds per straight-line metre
    predicted = s_per_m * s
    residual = t - predicted
    spread = float(np.sum((t - t.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residual**2)) / spread if spread > 0 else 1.0
    nonzero = t > 0
    pct = np.abs(residual[nonzero]) / t[nonzero] if np.any(nonzero) else np.zeros(1)
    return CalibrationFit(
        n_pairs=int(s.size),
        detour_factor=detour,
        speed_kph=detour / s_per_m * 3.6,
        median_detour=float(np.median(r / s)),
        r2_time=r2,
        median_abs_error_s=float(np.median(np.abs(residual))),
        median_abs_pct_error=float(np.median(pct)),
    )


def calibrate_network(
    network: RoadNetwork,
    n_pairs: int = 2000,
    seed: int = 0,
    min_straight_m: float = 300.0,
    max_straight_m: float | None = 10_000.0,
) -> CalibrationFit:
    """Fit the haversine model on random node pairs of ``network`` (seeded, deterministic).

    Pairs closer than ``min_straight_m`` are left out (their detour ratio is dominated by which
    intersection happens to be nearest); ``max_straight_m`` keeps the sample to the leg lengths
    of a day's route, so cross-city expressway trips do not set the speed of a town ride.
    """
    if n_pairs < 2:
        raise ValueError("n_pairs must be at least 2")
    rng = np.random.default_rng(seed)
    # Sample a node set a little larger than sqrt(n_pairs) and use its off-diagonal pairs.
    side = min(network.node_count, math.ceil(math.sqrt(n_pairs * 2)) + 1)
    nodes = np.sort(rng.choice(network.node_count, size=side, replace=False)).astype(np.int64)
    time_ms, length_dm = network.node_matrix(nodes, workers=1)
    lat, lon = network.node_lat[nodes], network.node_lon[nodes]
    straight = haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    mask = ~np.eye(side, dtype=bool) & (straight >= min_straight_m)
    if max_straight_m is not None:
        mask &= straight <= max_straight_m
    pick = np.flatnonzero(mask.ravel())
    if pick.size > n_pairs:
        pick = np.sort(rng.choice(pick, size=n_pairs, replace=False))
    return fit_haversine(
        straight.ravel()[pick],
        length_dm.ravel()[pick] / 10.0,
        time_ms.ravel()[pick] / 1000.0,
    )
