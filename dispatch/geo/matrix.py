"""Travel-time matrices: the provider interface and the haversine estimate.

A :class:`TravelMatrix` holds integer seconds and metres between the problem's locations in the
order of :meth:`dispatch.model.Problem.locations`. Both the solver and the checker read travel
times only through :meth:`TravelMatrix.travel_s`, so an optional congestion profile applies to
both in the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from dispatch.model import DAY_S, Location, agent_travel_s

EARTH_RADIUS_M = 6_371_008.8

# Calibrated defaults for a motorcycle in Punjab towns: see docs/travel.md.
DEFAULT_SPEED_KPH = 30.0
DEFAULT_DETOUR_FACTOR = 1.5


@dataclass(frozen=True, slots=True)
class CongestionProfile:
    """Multipliers on free-flow travel time by hour of departure (24 values, local time)."""

    multipliers: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.multipliers) != 24:
            raise ValueError("a congestion profile needs 24 hourly multipliers")
        if any(not (m >= 1.0 and math.isfinite(m)) for m in self.multipliers):
            raise ValueError("congestion multipliers must be finite and at least 1.0")

    def factor(self, depart_s: int) -> float:
        return self.multipliers[(depart_s // 3600) % 24]


@dataclass(frozen=True, slots=True)
class TravelMatrix:
    """Free-flow travel seconds and metres between locations, read-only.

    ``duration_s[i, j]`` and ``distance_m[i, j]`` are int64 arrays; the diagonal is zero.
    """

    duration_s: npt.NDArray[np.int64]
    distance_m: npt.NDArray[np.int64]
    congestion: CongestionProfile | None = None

    def __post_init__(self) -> None:
        for name in ("duration_s", "distance_m"):
            array = getattr(self, name)
            if array.ndim != 2 or array.shape[0] != array.shape[1]:
                raise ValueError(f"{name} must be a square matrix, got shape {array.shape}")
            if array.dtype != np.int64:
                raise ValueError(f"{name} must be int64, got {array.dtype}")
            array.setflags(write=False)
        if self.duration_s.shape != self.distance_m.shape:
            raise ValueError("duration_s and distance_m must have the same shape")

    @property
    def size(self) -> int:
        return int(self.duration_s.shape[0])

    def same_rides(self, i: int, j: int) -> bool:
        """Whether locations ``i`` and ``j`` take the same time to and from every location, so
        that anything timed from one holds for the other."""
        d = self.duration_s
        return bool(np.array_equal(d[i], d[j]) and np.array_equal(d[:, i], d[:, j]))

    def travel_s(self, i: int, j: int, depart_s: int = 0, speed_factor: float = 1.0) -> int:
        """Seconds from ``i`` to ``j`` leaving at ``depart_s`` for an agent of ``speed_factor``."""
        base = int(self.duration_s[i, j])
        if self.congestion is not None and base:
            base = math.ceil(base * self.congestion.factor(depart_s % DAY_S) - 1e-9)
        return agent_travel_s(base, speed_factor)


def agent_travel_matrix_s(
    base_s: npt.NDArray[np.int64], speed_factor: float | npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """Vectorised :func:`dispatch.model.agent_travel_s` (same rounding, same results), for one
    speed or one per element."""
    if np.isscalar(speed_factor) and speed_factor == 1.0:
        return base_s
    slow = np.ceil(base_s / speed_factor - 1e-9).astype(np.int64)
    return np.where(np.equal(speed_factor, 1.0), base_s, slow)


class MatrixProvider(Protocol):
    """Anything that turns locations into a travel matrix (haversine, road network, ...)."""

    def matrix(self, locations: Sequence[Location]) -> TravelMatrix: ...


def haversine_m(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Great-circle distance in metres (vectorised, broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


@dataclass(frozen=True, slots=True)
class HaversineProvider:
    """Straight-line distance times a road-detour factor, ridden at a constant speed.

    ``detour_factor`` (road metres per straight-line metre) and ``speed_kph`` (average riding
    speed including junctions) can be fitted on a road network with
    ``dispatch.geo.calibrate``; the defaults suit Punjab towns.
    """

    speed_kph: float = DEFAULT_SPEED_KPH
    detour_factor: float = DEFAULT_DETOUR_FACTOR
    congestion: CongestionProfile | None = None

    def __post_init__(self) -> None:
        if not (self.speed_kph > 0 and math.isfinite(self.speed_kph)):
            raise ValueError(f"speed_kph must be positive, got {self.speed_kph}")
        if not (self.detour_factor >= 1.0 and math.isfinite(self.detour_factor)):
            raise ValueError(f"detour_factor must be at least 1, got {self.detour_factor}")

    def matrix(self, locations: Sequence[Location]) -> TravelMatrix:
        lat = np.array([p.lat for p in locations], dtype=np.float64)
        lon = np.array([p.lon for p in locations], dtype=np.float64)
        straight_m = haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
        road_m = straight_m * self.detour_factor
        distance_m = np.rint(road_m).astype(np.int64)
        duration_s = np.rint(road_m / (self.speed_kph / 3.6)).astype(np.int64)
        np.fill_diagonal(distance_m, 0)
        np.fill_diagonal(duration_s, 0)
        return TravelMatrix(duration_s, distance_m, self.congestion)
