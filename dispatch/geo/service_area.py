"""Service-area checks: is every visit and agent where the service runs, and if not, why not.

The default service area is **Punjab plus the Islamabad Capital Territory**. ICT is not part of
Punjab, but it is where the bundled road extract lies and it is one city with Rawalpindi, so
problems there must pass; we accept it through its own OSM polygon (not a bounding box, which
would also accept a slice of Khyber Pakhtunkhwa). A named area narrows the check to one
district, to ``Punjab`` alone, or to ``Islamabad`` alone.

A point outside the area gets one issue that names the item and field and the likely cause:
coordinates that are not degrees, missing coordinates (0, 0), latitude and longitude swapped
(the swapped point is inside), another district, elsewhere in Pakistan, the Arabian Sea, or
outside Pakistan; always with the distance to the area.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from dispatch.catalog import data_dir
from dispatch.errors import InputError, InputIssue
from dispatch.geo.districts import all_districts, districts_of, find_district, name_key
from dispatch.geo.matrix import haversine_m
from dispatch.model import Location, Problem

OUTLINE_FILE = "geo/pakistan_outline.geojson"
DEFAULT_MARGIN_KM = 2.0
ISLAMABAD = "Islamabad"
PUNJAB = "Punjab"
ISLAMABAD_KEYS = frozenset({"islamabad", "ict", "islamabadcapitalterritory"})

# Open water south of the Makran and Sindh coasts, west of the Rann of Kutch and east of Oman:
# a point here that is outside Pakistan is in the Arabian Sea.
_ARABIAN_SEA_LON = (60.5, 68.3)
_ARABIAN_SEA_MAX_LAT = 25.2


@dataclass(frozen=True, slots=True)
class ServiceArea:
    """A named polygon (WGS84 lon/lat) that visits and agents must lie in."""

    name: str
    geometry: Any
    district: str | None = None  # set when the area is a single Punjab district


@cache
def _outline() -> dict[str, Any]:
    path = data_dir() / OUTLINE_FILE
    try:
        collection = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read country outline: {exc}", str(path)) from exc
    shapes = {f["properties"]["name"]: shape(f["geometry"]) for f in collection["features"]}
    for geometry in shapes.values():
        shapely.prepare(geometry)
    return shapes


def pakistan_outline() -> Any:
    """Pakistan's outline, simplified to about 1 km (enough to tell a foreign point)."""
    return _outline()["Pakistan"]


def islamabad_outline() -> Any:
    """The Islamabad Capital Territory polygon."""
    return _outline()["Islamabad Capital Territory"]


@cache
def _punjab() -> Any:
    geometry = shapely.union_all([d.geometry for d in all_districts()])
    shapely.prepare(geometry)
    return geometry


@cache
def service_area(area: str | None = None) -> ServiceArea:
    """The area a name stands for: ``None`` (Punjab + ICT), ``Punjab``, ``Islamabad`` or a
    district name; an unknown name raises :class:`InputError` with suggestions."""
    if area is None:
        geometry = shapely.union_all([_punjab(), islamabad_outline()])
        shapely.prepare(geometry)
        return ServiceArea(f"{PUNJAB} or {ISLAMABAD}", geometry)
    key = name_key(area)
    if key == name_key(PUNJAB):
        return ServiceArea(PUNJAB, _punjab())
    if key in ISLAMABAD_KEYS:
        return ServiceArea(ISLAMABAD, islamabad_outline())
    district = find_district(area)
    return ServiceArea(f"{district.name} district", district.geometry, district.name)


def _valid_degrees(p: Location) -> bool:
    return math.isfinite(p.lat) and math.isfinite(p.lon) and abs(p.lat) <= 90 and abs(p.lon) <= 180


def _distance_km(geometry: Any, p: Location) -> float:
    """Great-circle km from a point to the nearest point of the geometry (found in degrees)."""
    line = shapely.shortest_line(geometry, shapely.Point(p.lon, p.lat))
    (lon0, lat0), _ = shapely.get_coordinates(line)
    return float(haversine_m(lat0, lon0, p.lat, p.lon)) / 1000.0


def _inside_or_near(area: ServiceArea, p: Location, margin_km: float) -> bool:
    if shapely.intersects_xy(area.geometry, p.lon, p.lat):
        return True
    return margin_km > 0 and _distance_km(area.geometry, p) <= margin_km


def _cause(area: ServiceArea, p: Location, district: str | None, margin_km: float) -> str:
    """A sentence on where an outside point is and why it is probably wrong."""
    if not _valid_degrees(p):
        return (
            f"({p.lat}, {p.lon}) is not a point in WGS84 degrees "
            "(lat must be in [-90, 90] and lon in [-180, 180])"
        )
    if p.lat == 0 and p.lon == 0:
        return "is (0, 0): the coordinates are probably missing"
    swapped = Location(p.lon, p.lat)
    if _valid_degrees(swapped) and _inside_or_near(area, swapped, margin_km):
        return (
            f"({p.lat}, {p.lon}) is outside {area.name} but ({swapped.lat}, {swapped.lon}) "
            "is inside: latitude and longitude look swapped"
        )
    away = f"{_distance_km(area.geometry, p):.1f} km outside {area.name}"
    if district is not None:
        return f"({p.lat}, {p.lon}) is in {district} district, {away}"
    if shapely.intersects_xy(islamabad_outline(), p.lon, p.lat):
        return f"({p.lat}, {p.lon}) is in the Islamabad Capital Territory, {away}"
    if shapely.intersects_xy(pakistan_outline(), p.lon, p.lat):
        return f"({p.lat}, {p.lon}) is in Pakistan but outside Punjab, {away}"
    west, east = _ARABIAN_SEA_LON
    if west <= p.lon <= east and p.lat <= _ARABIAN_SEA_MAX_LAT:
        return f"({p.lat}, {p.lon}) is in the Arabian Sea, {away}"
    return f"({p.lat}, {p.lon}) is outside Pakistan, {away}"


def check_locations(
    points: Sequence[tuple[str, Location]],
    area: str | None = None,
    margin_km: float = DEFAULT_MARGIN_KM,
) -> list[InputIssue]:
    """One issue per ``(where, location)`` pair outside the area (more than ``margin_km`` away).

    Inside points cost one prepared point-in-polygon test each; only outside points are
    measured and explained.
    """
    if not (margin_km >= 0 and math.isfinite(margin_km)):
        raise ValueError(f"margin_km must be a non-negative number, got {margin_km}")
    region = service_area(area)
    if not points:
        return []
    lon = np.array([p.lon for _, p in points], dtype=np.float64)
    lat = np.array([p.lat for _, p in points], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        inside = shapely.intersects_xy(region.geometry, lon, lat)
    outside = [
        int(i)
        for i in np.flatnonzero(~np.asarray(inside, dtype=bool))
        if not _near(region, points[int(i)][1], margin_km)
    ]
    if not outside:
        return []
    in_district = districts_of([points[i][1] for i in outside])
    return [
        InputIssue(points[i][0], _cause(region, points[i][1], district, margin_km))
        for i, district in zip(outside, in_district, strict=True)
    ]


def _near(region: ServiceArea, p: Location, margin_km: float) -> bool:
    return _valid_degrees(p) and margin_km > 0 and _distance_km(region.geometry, p) <= margin_km


def problem_points(problem: Problem) -> list[tuple[str, Location]]:
    """Every located item of a problem, named as input errors name them."""
    points: list[tuple[str, Location]] = [
        (f"visits[{i}] (id {v.id!r}).location", v.location) for i, v in enumerate(problem.visits)
    ]
    for i, a in enumerate(problem.agents):
        points.append((f"agents[{i}] (id {a.id!r}).start", a.start))
        if a.end is not None and a.end != a.start:
            points.append((f"agents[{i}] (id {a.id!r}).end", a.end))
    return points


def check_service_area(
    problem: Problem, area: str | None = None, margin_km: float = DEFAULT_MARGIN_KM
) -> list[InputIssue]:
    """Issues for every visit location and agent start/end outside the service area.

    ``area`` is ``None`` for Punjab plus Islamabad, or ``Punjab``, ``Islamabad`` or a district
    name; points within ``margin_km`` of its edge pass (agents cross district lines). An empty
    list means every point is in the area.
    """
    return check_locations(problem_points(problem), area, margin_km)
