"""Punjab's 36 districts: polygons, populations, headquarters, and point-in-district lookup.

Boundaries are OpenStreetMap ``admin_level=6`` polygons folded back to the 36 districts of the
2023 census (``data/geo/punjab_districts_2023.geojson``, © OpenStreetMap contributors, ODbL 1.0);
populations are the Pakistan Bureau of Statistics census counts for 1998, 2017 and 2023
(``data/geo/punjab_districts_population_2023_2017.csv``). See ``data/geo/SOURCES.md``.

Everything is read once per process and kept: the polygons take about a tenth of a second to
load and every lookup after that is a spatial-index query.
"""

from __future__ import annotations

import csv
import difflib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import shape

from dispatch.catalog import data_dir
from dispatch.errors import InputError, InputIssue
from dispatch.model import Location

BOUNDARIES_FILE = "geo/punjab_districts_2023.geojson"
POPULATION_FILE = "geo/punjab_districts_population_2023_2017.csv"
CENSUS_YEARS: tuple[int, ...] = (1998, 2017, 2023)
KM_PER_DEGREE_LAT = 111.195

# Centre of each district's headquarters city, WGS84 degrees to about 100 m: approximate
# published city coordinates, hand-entered (see data/geo/SOURCES.md); a test checks that each
# lies inside its own district polygon. Used as the main town of generated demand.
HEADQUARTERS: dict[str, tuple[str, float, float]] = {
    "Attock": ("Attock", 33.7667, 72.3600),
    "Bahawalnagar": ("Bahawalnagar", 29.9986, 73.2536),
    "Bahawalpur": ("Bahawalpur", 29.3956, 71.6836),
    "Bhakkar": ("Bhakkar", 31.6290, 71.0650),
    "Chakwal": ("Chakwal", 32.9328, 72.8630),
    "Chiniot": ("Chiniot", 31.7200, 72.9789),
    "Dera Ghazi Khan": ("Dera Ghazi Khan", 30.0500, 70.6400),
    "Faisalabad": ("Faisalabad", 31.4180, 73.0790),
    "Gujranwala": ("Gujranwala", 32.1877, 74.1945),
    "Gujrat": ("Gujrat", 32.5736, 74.0789),
    "Hafizabad": ("Hafizabad", 32.0709, 73.6880),
    "Jhang": ("Jhang", 31.2700, 72.3200),
    "Jhelum": ("Jhelum", 32.9405, 73.7276),
    "Kasur": ("Kasur", 31.1160, 74.4470),
    "Khanewal": ("Khanewal", 30.3017, 71.9321),
    "Khushab": ("Khushab", 32.2967, 72.3525),
    "Lahore": ("Lahore", 31.5204, 74.3587),
    "Layyah": ("Layyah", 30.9693, 70.9428),
    "Lodhran": ("Lodhran", 29.5380, 71.6330),
    "Mandi Bahauddin": ("Mandi Bahauddin", 32.5861, 73.4917),
    "Mianwali": ("Mianwali", 32.5850, 71.5400),
    "Multan": ("Multan", 30.1575, 71.5249),
    "Muzaffargarh": ("Muzaffargarh", 30.0720, 71.1900),
    "Nankana Sahib": ("Nankana Sahib", 31.4500, 73.7100),
    "Narowal": ("Narowal", 32.1020, 74.8730),
    "Okara": ("Okara", 30.8100, 73.4500),
    "Pakpattan": ("Pakpattan", 30.3420, 73.3865),
    "Rahim Yar Khan": ("Rahim Yar Khan", 28.4202, 70.2952),
    "Rajanpur": ("Rajanpur", 29.1040, 70.3280),
    "Rawalpindi": ("Rawalpindi", 33.5973, 73.0479),
    "Sahiwal": ("Sahiwal", 30.6682, 73.1114),
    "Sargodha": ("Sargodha", 32.0836, 72.6711),
    "Sheikhupura": ("Sheikhupura", 31.7131, 73.9783),
    "Sialkot": ("Sialkot", 32.4945, 74.5229),
    "Toba Tek Singh": ("Toba Tek Singh", 30.9709, 72.4826),
    "Vehari": ("Vehari", 30.0452, 72.3489),
}


@dataclass(frozen=True, slots=True)
class District:
    """One Punjab district with its 2023 census figures and its polygon (WGS84 lon/lat).

    ``urban_share`` is the urban fraction of the 2017 census (the 2023 census tables we carry
    do not split urban and rural); ``geometry`` is a prepared shapely (Multi)Polygon.
    """

    name: str
    division: str
    population_2023: int
    households_2023: int
    area_sqkm: float
    urban_share: float
    headquarters_name: str
    headquarters: Location
    geometry: Any

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(min_lon, min_lat, max_lon, max_lat)`` of the polygon."""
        min_lon, min_lat, max_lon, max_lat = self.geometry.bounds
        return (float(min_lon), float(min_lat), float(max_lon), float(max_lat))

    def contains(self, location: Location) -> bool:
        """Whether the point lies inside the district (boundary included)."""
        return bool(shapely.intersects_xy(self.geometry, location.lon, location.lat))


@dataclass(frozen=True, slots=True)
class _Registry:
    districts: tuple[District, ...]
    by_key: dict[str, District]
    populations: dict[str, dict[int, int]]
    tree: Any  # shapely.STRtree over the district polygons, same order as ``districts``


def name_key(name: str) -> str:
    """Case- and spacing-insensitive key: 'dera  ghazi-khan' -> 'deraghazikhan'."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _read_populations(path: Path) -> tuple[dict[str, dict[int, int]], dict[str, float]]:
    populations: dict[str, dict[int, int]] = {}
    urban_share: dict[str, float] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            name = row["district"].strip()
            populations[name] = {year: int(row[f"pop_{year}"]) for year in CENSUS_YEARS}
            urban_share[name] = round(float(row["urban_pct_2017"]) / 100.0, 4)
    return populations, urban_share


@cache
def _registry() -> _Registry:
    root = data_dir()
    try:
        collection = json.loads((root / BOUNDARIES_FILE).read_text(encoding="utf-8"))
        populations, urban_share = _read_populations(root / POPULATION_FILE)
    except OSError as exc:
        raise InputError(f"cannot read district data: {exc}", str(root / "geo")) from exc
    districts: list[District] = []
    for feature in collection["features"]:
        props = feature["properties"]
        name = str(props["district"])
        geometry = shapely.make_valid(shape(feature["geometry"]))
        shapely.prepare(geometry)
        hq_name, hq_lat, hq_lon = HEADQUARTERS[name]
        districts.append(
            District(
                name=name,
                division=str(props["division"]),
                population_2023=int(props["pop_2023"]),
                households_2023=int(props["households_2023"]),
                area_sqkm=float(props["area_sqkm_2023"]),
                urban_share=urban_share[name],
                headquarters_name=hq_name,
                headquarters=Location(hq_lat, hq_lon),
                geometry=geometry,
            )
        )
    districts.sort(key=lambda d: d.name)
    tree = shapely.STRtree([d.geometry for d in districts])
    return _Registry(tuple(districts), {name_key(d.name): d for d in districts}, populations, tree)


def all_districts() -> tuple[District, ...]:
    """The 36 districts, sorted by name."""
    return _registry().districts


def district_names() -> list[str]:
    """The 36 district names as the census spells them, sorted."""
    return [d.name for d in _registry().districts]


def find_district(name: str) -> District:
    """The district called ``name`` (case, spaces and hyphens ignored).

    An unknown name raises :class:`InputError` that suggests the closest known names.
    """
    registry = _registry()
    found = registry.by_key.get(name_key(name))
    if found is not None:
        return found
    by_key = {name_key(d.name): d.name for d in registry.districts}
    close = difflib.get_close_matches(name_key(name), list(by_key), n=3, cutoff=0.5)
    hint = (
        f"did you mean {', '.join(repr(by_key[k]) for k in close)}?"
        if close
        else f"known districts: {', '.join(district_names())}"
    )
    raise InputError([InputIssue("district", f"unknown Punjab district {name!r}; {hint}")])


def population(name: str, year: int = 2023) -> int:
    """Census population of a district in ``year`` (1998, 2017 or 2023)."""
    district = find_district(name)
    if year not in CENSUS_YEARS:
        years = ", ".join(str(y) for y in CENSUS_YEARS)
        raise InputError([InputIssue("year", f"no census for {year}; known years: {years}")])
    return _registry().populations[district.name][year]


def districts_of_lonlat(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """District name (or ``None`` outside Punjab) for each point of two coordinate arrays.

    One spatial-index query for all points; a point on a shared boundary goes to the district
    that comes first by name, so the answer is deterministic.
    """
    registry = _registry()
    lon_a = np.asarray(lon, dtype=np.float64).ravel()
    lat_a = np.asarray(lat, dtype=np.float64).ravel()
    if lon_a.shape != lat_a.shape:
        raise ValueError("lon and lat must have the same length")
    result = np.full(lon_a.shape, None, dtype=object)
    finite = np.isfinite(lon_a) & np.isfinite(lat_a)
    if not finite.any():
        return result
    positions = np.flatnonzero(finite)
    points = shapely.points(lon_a[positions], lat_a[positions])
    point_idx, district_idx = registry.tree.query(points, predicate="intersects")
    # Reverse order so that, on shared boundaries, the lowest district index is written last.
    order = np.lexsort((-district_idx, point_idx))
    for p, d in zip(point_idx[order], district_idx[order], strict=True):
        result[positions[p]] = registry.districts[d].name
    return result


def districts_of(locations: Sequence[Location]) -> list[str | None]:
    """District name (or ``None`` outside Punjab) for each location, in one query."""
    if not locations:
        return []
    names = districts_of_lonlat([p.lon for p in locations], [p.lat for p in locations])
    return [None if n is None else str(n) for n in names]


def district_of(location: Location) -> str | None:
    """The district a point lies in, or ``None`` outside Punjab (or not a finite point)."""
    return districts_of([location])[0]


def distance_to_boundary_km(geometry: Any, location: Location) -> float:
    """Approximate distance in km from a point to the edge of a (Multi)Polygon.

    Measured in an equirectangular frame centred on the point: over a district's extent the
    error is a fraction of a percent, which is all that sizing a town radius needs.
    """
    scale_lon = math.cos(math.radians(location.lat))
    origin = np.array([location.lon, location.lat])
    scale = np.array([scale_lon, 1.0])
    local = shapely.transform(shapely.boundary(geometry), lambda xy: (xy - origin) * scale)
    return float(shapely.distance(local, shapely.Point(0.0, 0.0))) * KM_PER_DEGREE_LAT
