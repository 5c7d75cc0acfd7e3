"""Where demand comes from: real district polygons and the Islamabad road network as areas
for the synthetic generator (:class:`dispatch.synth.Area`), and daily volumes by population.

Both areas keep every point they hand out inside their region, and both offer
``keep_inside(location)`` so that the generator's Gaussian spread around a town can be pulled
back in: a district reflects an escaped point through its town centre (or walks it back towards
the centre), Islamabad snaps every point to the nearest motorable road node.
"""

from __future__ import annotations

import bz2
import math
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree

import numpy as np
import numpy.typing as npt
import shapely
from scipy.spatial import cKDTree

from dispatch.catalog import data_dir
from dispatch.errors import InputError
from dispatch.geo.districts import (
    KM_PER_DEGREE_LAT,
    distance_to_boundary_km,
    find_district,
    name_key,
)
from dispatch.geo.service_area import ISLAMABAD_KEYS, islamabad_outline
from dispatch.model import Location

# Demand volume. Assumption, not a measurement: 20 home visits per 100,000 residents per day
# puts Lahore (13.0 M, census 2023) at about 2,600 visits a day and all Punjab at about 25,500.
DEFAULT_VISITS_PER_100K_PER_DAY = 20.0
# An agent rides 8 hours; 12 visits of 10-25 minutes plus the rides between them fill a shift
# with room to spare (the synthetic generator is sized for about 15 per agent at most).
DEFAULT_VISITS_PER_AGENT = 12

# Town sizing: people per km² in a Punjab city's built-up area (Lahore's is about 10-15k).
URBAN_DENSITY_PER_SQKM = 10_000.0
SECONDARY_TOWNS = 4
SECONDARY_TOWN_RADIUS_KM = 1.5
MIN_TOWN_RADIUS_KM = 0.5
# The generator spreads homes with a Gaussian of ``radius_km``: keep 2 radii inside the district
# so that few points need pulling back.
RADIUS_PER_BOUNDARY_KM = 0.5
_BISECTION_STEPS = 30
# Islamabad Capital Territory, Pakistan Bureau of Statistics, Census 2023 (not in the Punjab
# tables under data/geo/).
ISLAMABAD_POPULATION_2023 = 2_363_863


def is_islamabad(name: str) -> bool:
    """Whether a place name means the Islamabad Capital Territory (``Islamabad``, ``ICT``)."""
    return name_key(name) in ISLAMABAD_KEYS


def daily_visits(name: str, visits_per_100k: float = DEFAULT_VISITS_PER_100K_PER_DAY) -> int:
    """Visits booked on a typical day in a district (or Islamabad), in proportion to its 2023
    population."""
    if not (visits_per_100k >= 0 and math.isfinite(visits_per_100k)):
        raise ValueError(f"visits_per_100k must be a non-negative number, got {visits_per_100k}")
    people = (
        ISLAMABAD_POPULATION_2023 if is_islamabad(name) else find_district(name).population_2023
    )
    return round(people / 100_000 * visits_per_100k)


def agents_for_visits(n_visits: int, visits_per_agent: int = DEFAULT_VISITS_PER_AGENT) -> int:
    """Agents to put on shift for ``n_visits``: one per ``visits_per_agent``, rounded up."""
    if n_visits < 0:
        raise ValueError(f"n_visits must be >= 0, got {n_visits}")
    if visits_per_agent <= 0:
        raise ValueError(f"visits_per_agent must be positive, got {visits_per_agent}")
    return math.ceil(n_visits / visits_per_agent)


def _uniform_in(geometry: Any, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
    """``n`` points (lon, lat) uniform in a polygon by rejection sampling in its bounds.

    Uniform in degrees, which over one district differs from uniform in area by well under 1%.
    """
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    box_area = (max_lon - min_lon) * (max_lat - min_lat)
    acceptance = max(geometry.area / box_area, 0.05)
    kept: list[npt.NDArray[np.float64]] = []
    have = 0
    while have < n:
        batch = int((n - have) / acceptance * 1.2) + 16
        lon = rng.uniform(min_lon, max_lon, batch)
        lat = rng.uniform(min_lat, max_lat, batch)
        inside = shapely.contains_xy(geometry, lon, lat)
        points = np.column_stack([lon[inside], lat[inside]])
        kept.append(points)
        have += len(points)
    return np.concatenate(kept)[:n] if kept else np.empty((0, 2))


def _to_locations(lonlat: npt.NDArray[np.float64]) -> list[Location]:
    return [Location(float(lat), float(lon)) for lon, lat in lonlat]


def _km_between(a: Location, b: Location) -> float:
    dy = a.lat - b.lat
    dx = (a.lon - b.lon) * math.cos(math.radians((a.lat + b.lat) / 2))
    return math.hypot(dx, dy) * KM_PER_DEGREE_LAT


@dataclass(frozen=True)
class DistrictArea:
    """A Punjab district as an :class:`dispatch.synth.Area`.

    Towns: the district headquarters city, weighted ``0.5 + 0.5 * urban share`` (2017 census)
    with a radius from its urban population at :data:`URBAN_DENSITY_PER_SQKM`, plus
    :data:`SECONDARY_TOWNS` smaller towns placed inside the polygon by a generator seeded from
    the district's name (so the towns never change). Every radius is at most half the
    distance from its centre to the district edge. Rural homes are uniform in the polygon.
    """

    name: str
    _towns: tuple[tuple[Location, float, float], ...] = field(init=False, repr=False)
    _geometry: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        district = find_district(self.name)
        object.__setattr__(self, "name", district.name)
        object.__setattr__(self, "_geometry", district.geometry)
        object.__setattr__(self, "_towns", _district_towns(district.name))

    @property
    def geometry(self) -> Any:
        """The district polygon (shapely, lon/lat)."""
        return self._geometry

    def town_centres(self) -> list[tuple[Location, float, float]]:
        return list(self._towns)

    def sample_rural(self, rng: np.random.Generator, n: int) -> list[Location]:
        return _to_locations(_uniform_in(self._geometry, rng, n))

    def contains(self, location: Location) -> bool:
        return bool(shapely.contains_xy(self._geometry, location.lon, location.lat))

    def keep_inside(self, location: Location) -> Location:
        """The point itself if inside; else its mirror through the nearest town centre if
        that is inside; else the inside end of a bisection towards that centre."""
        if self.contains(location):
            return location
        centre = min((c for c, _, _ in self._towns), key=lambda c: _km_between(c, location))
        mirror = Location(2 * centre.lat - location.lat, 2 * centre.lon - location.lon)
        if self.contains(mirror):
            return mirror
        inside, outside = centre, location
        for _ in range(_BISECTION_STEPS):
            mid = Location((inside.lat + outside.lat) / 2, (inside.lon + outside.lon) / 2)
            inside, outside = (mid, outside) if self.contains(mid) else (inside, mid)
        return inside


@cache
def _district_towns(name: str) -> tuple[tuple[Location, float, float], ...]:
    district = find_district(name)
    geometry = district.geometry
    hq = district.headquarters
    urban_people = district.population_2023 * district.urban_share
    city_radius_km = math.sqrt(urban_people / (math.pi * URBAN_DENSITY_PER_SQKM)) / 2
    hq_room_km = distance_to_boundary_km(geometry, hq) * RADIUS_PER_BOUNDARY_KM
    hq_radius_km = min(max(city_radius_km, MIN_TOWN_RADIUS_KM), hq_room_km)
    main_weight = 0.5 + 0.5 * district.urban_share
    towns: list[tuple[Location, float, float]] = [(hq, main_weight, round(hq_radius_km, 3))]

    # Secondary towns: candidates uniform in the polygon, taken greedily if they keep a full
    # radius of room to the edge and stay clear of the towns already placed.
    rng = np.random.default_rng(zlib.crc32(name.encode("utf-8")))
    weight = max((1.0 - main_weight) / SECONDARY_TOWNS, 0.05)
    min_gap_km = 3 * SECONDARY_TOWN_RADIUS_KM
    for candidate in _to_locations(_uniform_in(geometry, rng, 400)):
        if len(towns) > SECONDARY_TOWNS:
            break
        room_km = distance_to_boundary_km(geometry, candidate) * RADIUS_PER_BOUNDARY_KM
        if room_km < SECONDARY_TOWN_RADIUS_KM:
            continue
        if any(_km_between(candidate, c) < max(min_gap_km, 3 * r) for c, _, r in towns):
            continue
        rounded = Location(round(candidate.lat, 5), round(candidate.lon, 5))
        towns.append((rounded, round(weight, 4), SECONDARY_TOWN_RADIUS_KM))
    return tuple(towns)


# ---- Islamabad: demand on the road network -------------------------------------------------

ISLAMABAD_OSM_FILE = "osm/islamabad_ict_2020-07-14_highways.osm.bz2"
# Roads a motorcycle agent can reach a house from (no motorways, footways or tracks).
MOTORABLE_HIGHWAYS = frozenset(
    {
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
    }
)
# Commercial centres (markaz) of Islamabad sectors, approximate WGS84 degrees; each is snapped
# to the nearest road node. Weights are rough relative booking volumes.
ISLAMABAD_TOWNS: tuple[tuple[str, float, float, float, float], ...] = (
    ("Blue Area", 33.7100, 73.0580, 1.0, 1.2),
    ("F-7 Markaz", 33.7205, 73.0560, 1.0, 1.0),
    ("F-10 Markaz", 33.6950, 73.0130, 1.0, 1.0),
    ("G-9 Markaz", 33.6880, 73.0330, 1.2, 1.0),
    ("G-11 Markaz", 33.6690, 72.9980, 1.0, 1.0),
    ("I-8 Markaz", 33.6680, 73.0760, 1.0, 1.0),
    ("I-10 Markaz", 33.6470, 73.0390, 1.0, 1.0),
    ("Bhara Kahu", 33.7380, 73.1850, 0.7, 1.5),
    ("Tarlai", 33.6420, 73.1390, 0.6, 1.5),
)


MAX_TOWN_SNAP_KM = 0.5


def _open_osm(path: Path) -> IO[bytes]:
    return bz2.open(path, "rb") if path.suffix == ".bz2" else path.open("rb")


def _iter_motorable_nodes(path: Path) -> Iterator[tuple[float, float]]:
    """(lon, lat) of every node used by a motorable ``highway`` way of an OSM XML file."""
    coords: dict[int, tuple[float, float]] = {}
    used: set[int] = set()
    with _open_osm(path) as handle:
        for _, element in ElementTree.iterparse(handle, events=("end",)):
            if element.tag == "node":
                lat, lon = element.get("lat"), element.get("lon")
                if lat is not None and lon is not None:
                    coords[int(element.get("id", "0"))] = (float(lon), float(lat))
                element.clear()
            elif element.tag == "way":
                refs = [int(nd.get("ref", "0")) for nd in element.iter("nd")]
                tags = {t.get("k"): t.get("v") for t in element.iter("tag")}
                if tags.get("highway") in MOTORABLE_HIGHWAYS:
                    used.update(refs)
                element.clear()
    for node_id in sorted(used):
        if node_id in coords:
            yield coords[node_id]


@cache
def road_nodes(path: Path | None = None) -> npt.NDArray[np.float64]:
    """``(n, 2)`` lon/lat of motorable road nodes of an OSM XML extract inside ICT.

    Defaults to the bundled Islamabad extract (about 1.5 s to read, then cached). Nodes of the
    long ways that run out of ICT are dropped so that demand stays in the territory.
    """
    path = data_dir() / ISLAMABAD_OSM_FILE if path is None else path
    try:
        lonlat = np.array(list(_iter_motorable_nodes(path)), dtype=np.float64).reshape(-1, 2)
    except (OSError, ElementTree.ParseError) as exc:
        raise InputError(f"cannot read OSM nodes: {exc}", str(path)) from exc
    inside = shapely.contains_xy(islamabad_outline(), lonlat[:, 0], lonlat[:, 1])
    lonlat = np.asarray(lonlat[np.asarray(inside, dtype=bool)], dtype=np.float64)
    if len(lonlat) == 0:
        raise InputError("no motorable road node inside Islamabad", str(path))
    lonlat.setflags(write=False)
    return lonlat


class IslamabadArea:
    """The Islamabad Capital Territory as an :class:`dispatch.synth.Area`, on its roads.

    Every point it hands out is a motorable road node of the OSM extract: town centres are
    sector markets snapped to the road, rural homes are road nodes drawn at random, and
    :meth:`keep_inside` snaps a generated home to the nearest node. Pass ``nodes`` (lon/lat
    rows) or ``osm_path`` to use another extract, e.g. a one-sector test file.
    """

    def __init__(
        self,
        osm_path: Path | None = None,
        nodes: Sequence[tuple[float, float]] | npt.NDArray[np.float64] | None = None,
    ) -> None:
        lonlat = road_nodes(osm_path) if nodes is None else np.asarray(nodes, dtype=np.float64)
        if lonlat.ndim != 2 or lonlat.shape[1] != 2 or len(lonlat) == 0:
            raise ValueError("nodes must be a non-empty sequence of (lon, lat) pairs")
        self._lonlat = lonlat
        self._scale = np.array([math.cos(math.radians(float(lonlat[:, 1].mean()))), 1.0])
        self._tree = cKDTree(lonlat * self._scale)
        # Markets the extract covers (a road node within MAX_TOWN_SNAP_KM), snapped to it; a
        # one-sector extract covers none, and then its middle node stands in as the one town.
        towns: list[tuple[Location, float, float]] = []
        for _, lat, lon, weight, radius_km in ISLAMABAD_TOWNS:
            snapped = self.keep_inside(Location(lat, lon))
            near = _km_between(snapped, Location(lat, lon)) <= MAX_TOWN_SNAP_KM
            if near and all(snapped != t for t, _, _ in towns):
                towns.append((snapped, weight, radius_km))
        if not towns:
            middle = lonlat.mean(axis=0)
            towns.append((self.keep_inside(Location(middle[1], middle[0])), 1.0, 0.5))
        self._towns = towns

    @classmethod
    def from_network(cls, network: Any) -> IslamabadArea:
        """Demand on the nodes of a prepared road network (``dispatch.geo.roads.RoadNetwork``)
        that lie inside ICT: every home is then a node the matrix can reach."""
        lonlat = np.column_stack(
            [np.asarray(network.node_lon, np.float64), np.asarray(network.node_lat, np.float64)]
        )
        inside = np.asarray(
            shapely.contains_xy(islamabad_outline(), lonlat[:, 0], lonlat[:, 1]), dtype=bool
        )
        return cls(nodes=lonlat[inside])

    @property
    def nodes(self) -> npt.NDArray[np.float64]:
        """``(n, 2)`` lon/lat of the road nodes demand is placed on."""
        return self._lonlat

    def town_centres(self) -> list[tuple[Location, float, float]]:
        return list(self._towns)

    def sample_rural(self, rng: np.random.Generator, n: int) -> list[Location]:
        picks = rng.integers(0, len(self._lonlat), size=n)
        return _to_locations(self._lonlat[picks])

    def keep_inside(self, location: Location) -> Location:
        """The nearest road node to a point."""
        _, index = self._tree.query(np.array([location.lon, location.lat]) * self._scale)
        lon, lat = self._lonlat[int(index)]
        return Location(float(lat), float(lon))


def demand_area(name: str) -> DistrictArea | IslamabadArea:
    """The generator area for a place name: ``Islamabad``/``ICT`` or a Punjab district."""
    return IslamabadArea() if is_islamabad(name) else DistrictArea(name)
