"""Choosing a travel-time source from a problem file's ``travel`` section."""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.geo.matrix import (
    DEFAULT_DETOUR_FACTOR,
    DEFAULT_SPEED_KPH,
    CongestionProfile,
    HaversineProvider,
    MatrixProvider,
)


@dataclass(frozen=True, slots=True)
class TravelSpec:
    """How travel times are obtained for a problem.

    ``provider`` is ``"haversine"`` (straight line x detour at a constant speed) or ``"road"``
    (shortest motorcycle paths on a local OSM extract named by ``osm_file``).
    """

    provider: str = "haversine"
    speed_kph: float = DEFAULT_SPEED_KPH
    detour_factor: float = DEFAULT_DETOUR_FACTOR
    osm_file: str | None = None
    congestion: CongestionProfile | None = None


def make_provider(spec: TravelSpec) -> MatrixProvider:
    """The provider a spec asks for."""
    if spec.provider == "haversine":
        return HaversineProvider(spec.speed_kph, spec.detour_factor, spec.congestion)
    if spec.provider == "road":
        return _road_provider(spec)
    raise ValueError(f"unknown travel provider {spec.provider!r}")


def _road_provider(spec: TravelSpec) -> MatrixProvider:
    """Road provider on ``spec.osm_file``; network and matrices go to the default disk cache."""
    from dispatch.errors import InputError, InputIssue
    from dispatch.geo.cache import DiskCache
    from dispatch.geo.roads import RoadProvider, load_network

    if not spec.osm_file:
        raise InputError([InputIssue("travel.osm_file", "required when travel.provider is 'road'")])
    cache = DiskCache()
    return RoadProvider(load_network(spec.osm_file, cache), spec.congestion, cache=cache)
