"""Motorcycle travel times on a road network read from a local OpenStreetMap file.

The pipeline (documented with its tables in ``docs/travel.md``):

1. :func:`load_motorable_graph` reads ``.osm`` / ``.osm.bz2`` with ``osmnx.graph_from_xml`` (never
   a download), keeps the ways a motorcycle may ride, gives every edge a motorcycle speed and a
   travel time, simplifies the graph and keeps its largest strongly connected component.
2. :meth:`RoadNetwork.from_graph` turns that graph into plain arrays: node coordinates and a CSR
   adjacency whose weight encodes (milliseconds, decimetres) in one exact float, so a single
   Dijkstra pass gives the fastest time *and* the length of that fastest path.
3. :class:`RoadProvider` snaps locations to their nearest road node, runs many-to-many Dijkstra
   over the distinct snapped nodes (on the graph's 2-core, dead-end trees handled exactly by
   :mod:`dispatch.geo.trees`; on every CPU, in processes: ``csgraph`` holds the GIL) and adds
   the straight-line access leg from each location to its node.

A :class:`RoadNetwork` is plain numpy arrays, so :mod:`dispatch.geo.cache` stores it on disk and a
re-run skips the 20-odd seconds of XML parsing.
"""

from __future__ import annotations

import bz2
import gc
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from dispatch.errors import InputError, InputIssue
from dispatch.geo.cache import DiskCache, file_sha256, make_key, matrix_key
from dispatch.geo.matrix import CongestionProfile, TravelMatrix, haversine_m
from dispatch.geo.trees import PendantTrees, peel
from dispatch.model import Location

# Bump when the preparation below changes, so cached networks built by older code are not reused.
NETWORK_FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class RoadClass:
    """Typical free-flow motorcycle speed on a road class, and the most a tagged limit may give."""

    speed_kph: float
    max_speed_kph: float


# Road classes a motorcycle may use. Anything not listed (motorway, footway, path, cycleway,
# steps, pedestrian, bridleway, corridor, construction, proposed, raceway, rest_area, busway,
# elevator, platform, ...) is dropped.
MOTORCYCLE_ROAD_CLASSES: Mapping[str, RoadClass] = {
    "trunk": RoadClass(50.0, 70.0),
    "trunk_link": RoadClass(40.0, 50.0),
    "primary": RoadClass(45.0, 60.0),
    "primary_link": RoadClass(35.0, 45.0),
    "secondary": RoadClass(40.0, 50.0),
    "secondary_link": RoadClass(30.0, 40.0),
    "tertiary": RoadClass(35.0, 45.0),
    "tertiary_link": RoadClass(30.0, 35.0),
    "unclassified": RoadClass(30.0, 40.0),
    "road": RoadClass(25.0, 35.0),
    "residential": RoadClass(25.0, 30.0),
    "living_street": RoadClass(15.0, 20.0),
    "service": RoadClass(15.0, 20.0),
    "track": RoadClass(15.0, 20.0),
}

# Access values that still let a resident's visitor ride in; any other value (no, permit,
# military, agricultural, free text such as "only for nescom") closes the way.
OPEN_ACCESS_VALUES = frozenset(
    {"yes", "permissive", "designated", "destination", "private", "customers", "delivery"}
)
# From least to most specific: the most specific tag present decides.
ACCESS_TAGS = ("access", "vehicle", "motor_vehicle", "motorcycle")

# Speed for the straight-line leg between a location and its nearest road node (a lane or yard).
ACCESS_SPEED_KPH = 15.0
DEFAULT_MAX_SNAP_M = 500.0

# Weight encoding: w = milliseconds * 2**24 + decimetres, exact in float64 below 2**53.
_LENGTH_SCALE = float(2**24)
_MAX_EXACT = float(2**53)


def _first(value: Any) -> Any:
    """osmnx keeps a list where merged ways disagree; use the first value."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def parse_maxspeed_kph(value: Any) -> float | None:
    """A tagged ``maxspeed`` in km/h (``"60"``, ``"30 mph"``, ``"50;60"``), or None if unusable."""
    value = _first(value)
    if value is None:
        return None
    text = str(value).strip().lower()
    mph = text.endswith("mph")
    if mph:
        text = text[:-3].strip()
    text = text.replace("km/h", "").replace("kph", "").split(";")[0].strip()
    try:
        speed = float(text)
    except ValueError:
        return None
    if not (speed > 0 and math.isfinite(speed)):
        return None
    return speed * 1.609344 if mph else speed


def motorcycle_speed_kph(highway: str, maxspeed: Any = None) -> float | None:
    """Riding speed on an edge, or None if motorcycles may not use this road class.

    A tagged limit replaces the class speed but is capped at the class maximum: a residential
    street signed 60 is still not ridden at 60.
    """
    road = MOTORCYCLE_ROAD_CLASSES.get(highway)
    if road is None:
        return None
    tagged = parse_maxspeed_kph(maxspeed)
    if tagged is None:
        return road.speed_kph
    return min(tagged, road.max_speed_kph)


def motorcycle_allowed(tags: Mapping[str, Any]) -> bool:
    """Whether the access tags of a way let a motorcycle in (the most specific tag decides)."""
    decision = True
    for key in ACCESS_TAGS:
        value = _first(tags.get(key))
        if value is not None:
            decision = str(value).strip().lower() in OPEN_ACCESS_VALUES
    return decision


def _check_osm_file(path: Path) -> None:
    if not path.is_file():
        raise InputError([InputIssue(str(path), "OSM file not found")])
    opener: Any = bz2.open if path.suffix == ".bz2" else open
    try:
        with opener(path, "rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise InputError([InputIssue(str(path), f"cannot read OSM file: {exc}")]) from exc
    if b"<osm" not in head:
        raise InputError([InputIssue(str(path), "not an OSM XML file (no <osm> element)")])


def load_motorable_graph(path: str | Path) -> nx.MultiDiGraph:
    """The motorcycle road graph of an OSM XML file (``.osm`` or ``.osm.bz2``).

    Edges carry ``speed_kph``, ``length`` (metres) and ``travel_time_s`` (rounded to whole
    milliseconds, so a networkx reference and the CSR agree exactly). Only the largest strongly
    connected component is kept: every kept node can reach every other.
    Raises :class:`InputError` naming the file if it is missing, corrupt or has no usable road.
    """
    import osmnx as ox

    path = Path(path)
    _check_osm_file(path)
    extra_tags = [tag for tag in ACCESS_TAGS if tag not in ox.settings.useful_tags_way]
    saved_tags = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = saved_tags + extra_tags
    try:
        graph = ox.graph_from_xml(path, simplify=False, retain_all=True)
    except Exception as exc:  # osmnx raises bare XML / KeyError / ValueError on bad files
        raise InputError([InputIssue(str(path), f"cannot parse OSM file: {exc}")]) from exc
    finally:
        ox.settings.useful_tags_way = saved_tags

    drop = []
    for u, v, key, data in graph.edges(keys=True, data=True):
        speed = motorcycle_speed_kph(str(_first(data.get("highway"))), data.get("maxspeed"))
        if speed is None or not motorcycle_allowed(data):
            drop.append((u, v, key))
            continue
        data["speed_kph"] = speed
        data["travel_time_s"] = float(data["length"]) / (speed / 3.6)
    graph.remove_edges_from(drop)
    graph.remove_nodes_from([n for n, degree in graph.degree() if degree == 0])
    if graph.number_of_edges() == 0:
        raise InputError([InputIssue(str(path), "no road a motorcycle may use")])

    graph = ox.simplify_graph(graph, edge_attr_aggs={"length": sum, "travel_time_s": sum})
    graph = ox.truncate.largest_component(graph, strongly=True)
    for _, _, data in graph.edges(data=True):
        data["travel_time_s"] = max(round(float(data["travel_time_s"]), 3), 0.001)
    graph.graph["source"] = str(path)
    return graph


def _ecef_unit(lat: npt.ArrayLike, lon: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Points on the unit sphere: chord length orders points exactly as great-circle distance."""
    phi, lmb = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(phi) * np.cos(lmb), np.cos(phi) * np.sin(lmb), np.sin(phi)))


@dataclass(frozen=True, slots=True)
class Snap:
    """Where each location joins the network: node index and straight-line distance in metres."""

    node: npt.NDArray[np.int64]
    distance_m: npt.NDArray[np.float64]

    def far(self, max_snap_m: float) -> list[int]:
        """Positions of locations farther than ``max_snap_m`` from every road node."""
        return [int(i) for i in np.flatnonzero(self.distance_m > max_snap_m)]


@dataclass(frozen=True)
class RoadNetwork:
    """A prepared, read-only motorcycle road network: node coordinates plus a CSR adjacency.

    ``edge_time_ms`` and ``edge_length_dm`` are aligned with ``indices`` (CSR order); parallel
    edges are already reduced to the fastest one. Build with :meth:`from_graph` or
    :func:`dispatch.geo.cache.load_network`.
    """

    node_osmid: npt.NDArray[np.int64]
    node_lat: npt.NDArray[np.float64]
    node_lon: npt.NDArray[np.float64]
    indptr: npt.NDArray[np.int64]
    indices: npt.NDArray[np.int64]
    edge_time_ms: npt.NDArray[np.int64]
    edge_length_dm: npt.NDArray[np.int64]
    source: str = ""
    _tree: cKDTree = field(init=False, repr=False, compare=False)
    _csr: sp.csr_matrix = field(init=False, repr=False, compare=False)
    _key: str = field(init=False, repr=False, compare=False)
    _trees: PendantTrees = field(init=False, repr=False, compare=False)
    _core_csr: sp.csr_matrix = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = self.node_osmid.shape[0]
        if (
            self.node_lat.shape != (n,)
            or self.node_lon.shape != (n,)
            or self.indptr.shape != (n + 1,)
            or self.indices.shape != self.edge_time_ms.shape
            or self.indices.shape != self.edge_length_dm.shape
            or (self.indices.size and (self.indices.min() < 0 or self.indices.max() >= n))
            or np.any(self.edge_time_ms <= 0)
        ):
            raise ValueError("inconsistent road network arrays")
        digest: list[str | bytes] = []
        for name, array in self.arrays().items():
            array.setflags(write=False)
            digest.append(name)
            digest.append(np.ascontiguousarray(array).tobytes())
        object.__setattr__(self, "_key", make_key(str(NETWORK_FORMAT_VERSION), *digest))
        weight = self.edge_time_ms.astype(np.float64) * _LENGTH_SCALE + self.edge_length_dm
        csr = sp.csr_matrix((weight, self.indices, self.indptr), shape=(n, n))
        trees = peel(csr)
        core = trees.core_nodes
        object.__setattr__(self, "_csr", csr)
        object.__setattr__(self, "_trees", trees)
        object.__setattr__(self, "_core_csr", csr[core][:, core].tocsr())
        object.__setattr__(self, "_tree", cKDTree(_ecef_unit(self.node_lat, self.node_lon)))

    @property
    def key(self) -> str:
        """SHA-256 of the network's arrays: equal networks share cached matrices."""
        return self._key

    @property
    def node_count(self) -> int:
        return int(self.node_osmid.shape[0])

    @property
    def edge_count(self) -> int:
        return int(self.indices.shape[0])

    @property
    def max_speed_dm_per_ms(self) -> float:
        """Fastest edge speed, which bounds the length of any path of a given time."""
        return float(np.max(self.edge_length_dm / self.edge_time_ms))

    @classmethod
    def from_graph(cls, graph: nx.MultiDiGraph, source: str = "") -> RoadNetwork:
        """Arrays from a graph made by :func:`load_motorable_graph` (fastest parallel edge kept)."""
        osmids = np.array(sorted(graph.nodes), dtype=np.int64)
        position = {int(osmid): i for i, osmid in enumerate(osmids)}
        lat = np.array([graph.nodes[int(n)]["y"] for n in osmids], dtype=np.float64)
        lon = np.array([graph.nodes[int(n)]["x"] for n in osmids], dtype=np.float64)
        rows, cols, time_ms, length_dm = [], [], [], []
        for u, v, data in graph.edges(data=True):
            if u == v:
                continue
            rows.append(position[int(u)])
            cols.append(position[int(v)])
            time_ms.append(round(float(data["travel_time_s"]) * 1000))
            length_dm.append(round(float(data["length"]) * 10))
        row = np.array(rows, dtype=np.int64)
        col = np.array(cols, dtype=np.int64)
        t_ms = np.maximum(np.array(time_ms, dtype=np.int64), 1)
        l_dm = np.array(length_dm, dtype=np.int64)
        # Sort by (row, col, time, length) and keep the first of each (row, col): the fastest.
        order = np.lexsort((l_dm, t_ms, col, row))
        row, col, t_ms, l_dm = row[order], col[order], t_ms[order], l_dm[order]
        first = np.ones(row.shape[0], dtype=bool)
        first[1:] = (row[1:] != row[:-1]) | (col[1:] != col[:-1])
        row, col, t_ms, l_dm = row[first], col[first], t_ms[first], l_dm[first]
        indptr = np.zeros(osmids.shape[0] + 1, dtype=np.int64)
        np.add.at(indptr, row + 1, 1)
        np.cumsum(indptr, out=indptr)
        return cls(
            osmids, lat, lon, indptr, col, t_ms, l_dm, source or graph.graph.get("source", "")
        )

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The arrays that define the network (what the disk cache stores)."""
        return {
            "node_osmid": self.node_osmid,
            "node_lat": self.node_lat,
            "node_lon": self.node_lon,
            "indptr": self.indptr,
            "indices": self.indices,
            "edge_time_ms": self.edge_time_ms,
            "edge_length_dm": self.edge_length_dm,
        }

    def snap(self, locations: Sequence[Location]) -> Snap:
        """Nearest road node of each location (exact great-circle nearest, via a 3-D KD-tree)."""
        if not locations:
            return Snap(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))
        lat = np.array([p.lat for p in locations], dtype=np.float64)
        lon = np.array([p.lon for p in locations], dtype=np.float64)
        _, node = self._tree.query(_ecef_unit(lat, lon))
        node = np.asarray(node, dtype=np.int64)
        distance_m = haversine_m(lat, lon, self.node_lat[node], self.node_lon[node])
        return Snap(node, distance_m)

    @property
    def trees(self) -> PendantTrees:
        """The dead-end trees peeled off before Dijkstra (see :mod:`dispatch.geo.trees`)."""
        return self._trees

    @property
    def core_node_count(self) -> int:
        """Nodes left after peeling dead-end trees: the graph Dijkstra actually searches."""
        return int(self._trees.core_nodes.shape[0])

    def node_matrix(
        self, nodes: npt.NDArray[np.int64], workers: int | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Fastest times (ms) and the lengths (dm) of those paths between the given nodes.

        Dijkstra runs on the 2-core from each distinct root (see :mod:`dispatch.geo.trees`);
        tree nodes add their exact weight to or from their root, and pairs in one tree take the
        tree path. Rows run in chunks so memory stays at ``chunk x core nodes`` floats; with
        more than a few hundred sources the chunks go to ``workers`` processes (default: all
        cores).
        """
        nodes = np.asarray(nodes, dtype=np.int64)
        if nodes.size == 0:
            return np.zeros((0, 0), dtype=np.int64), np.zeros((0, 0), dtype=np.int64)
        trees = self._trees
        roots, inverse = np.unique(trees.root[nodes], return_inverse=True)
        core_weight = self._core_weights(trees.core_index[roots], workers)
        weight = core_weight[np.ix_(inverse, inverse)]
        del core_weight
        weight += trees.up[nodes][:, None]
        weight += trees.down[nodes][None, :]
        # Pairs hanging from the same root (including a node and itself) take the tree path
        # through their lowest common ancestor, not the detour out to the root and back.
        order = np.argsort(inverse, kind="stable")
        starts = np.flatnonzero(np.diff(inverse[order], prepend=-1))
        groups = [g for g in np.split(order, starts[1:]) if g.size > 1 or trees.depth[nodes[g[0]]]]
        if groups:
            rows = np.concatenate([np.repeat(g, g.size) for g in groups])
            cols = np.concatenate([np.tile(g, g.size) for g in groups])
            weight[rows, cols] = trees.tree_weights(nodes[rows], nodes[cols])
        return self._decode(weight)

    def _core_weights(
        self, sources: npt.NDArray[np.int64], workers: int | None
    ) -> npt.NDArray[np.float64]:
        """Encoded fastest weights between core nodes (square, same order both ways)."""
        count = int(sources.shape[0])
        weight = np.zeros((count, count), dtype=np.float64)
        if count == 0:
            return weight
        workers = workers or os.cpu_count() or 1
        chunks = list(_chunks(count, workers))
        if workers == 1 or count < _PARALLEL_MIN_SOURCES:
            for a, b in chunks:
                weight[a:b] = _dijkstra_rows(self._core_csr, sources[a:b], sources)
        else:
            with ProcessPoolExecutor(
                max_workers=workers,
                initializer=_init_worker,
                initargs=(self._core_csr,),
            ) as pool:
                futures = [pool.submit(_worker_rows, sources[a:b], sources) for a, b in chunks]
                for (a, b), future in zip(chunks, futures, strict=True):
                    weight[a:b] = future.result()
        return weight

    def _decode(
        self, weight: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Split encoded weights into milliseconds and decimetres, proving the code was exact."""
        if not np.all(np.isfinite(weight)):
            raise RuntimeError(f"{self.source}: unreachable node pair in a strong component")
        limit_ms = _LENGTH_SCALE / self.max_speed_dm_per_ms
        t = np.floor(weight / _LENGTH_SCALE)
        if np.any(weight >= _MAX_EXACT) or np.any(t >= limit_ms):
            raise RuntimeError(f"{self.source}: network too large for the exact weight code")
        weight -= t * _LENGTH_SCALE
        return t.astype(np.int64), weight.astype(np.int64)


_PARALLEL_MIN_SOURCES = 400
_CHUNK_ROWS = 256
_WORKER_CSR: sp.csr_matrix | None = None


def _chunks(count: int, workers: int) -> Iterator[tuple[int, int]]:
    """Row ranges small enough to bound memory, at least two per worker to balance load."""
    size = max(1, min(_CHUNK_ROWS, math.ceil(count / (2 * workers))))
    for start in range(0, count, size):
        yield start, min(start + size, count)


def _dijkstra_rows(
    csr: sp.csr_matrix, sources: npt.NDArray[np.int64], targets: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    full = dijkstra(csr, directed=True, indices=sources)
    return np.asarray(full[:, targets])


def _init_worker(csr: sp.csr_matrix) -> None:
    # A forked worker that never collects never touches (and so never copies) the pages of a
    # caller's big object heap, e.g. a loaded networkx graph; it only allocates numpy arrays.
    gc.disable()
    global _WORKER_CSR
    _WORKER_CSR = csr


def _worker_rows(
    sources: npt.NDArray[np.int64], targets: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    assert _WORKER_CSR is not None
    return _dijkstra_rows(_WORKER_CSR, sources, targets)


@dataclass(frozen=True)
class RoadProvider:
    """Travel matrices from shortest motorcycle paths on a :class:`RoadNetwork`.

    Each location joins the network at its nearest node; the straight-line access leg is ridden
    at ``access_speed_kph`` at both ends (two locations on the same node ride straight to each
    other instead). A location farther than ``max_snap_m`` from every node is an input error,
    never silently snapped. ``cache`` (a :class:`dispatch.geo.cache.DiskCache`) reuses matrices
    computed before for the same network, settings and locations.
    """

    network: RoadNetwork
    congestion: CongestionProfile | None = None
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    access_speed_kph: float = ACCESS_SPEED_KPH
    workers: int | None = None
    cache: DiskCache | None = None

    def __post_init__(self) -> None:
        if not (self.max_snap_m >= 0 and math.isfinite(self.max_snap_m)):
            raise ValueError(f"max_snap_m must be a non-negative number, got {self.max_snap_m}")
        if not (self.access_speed_kph > 0 and math.isfinite(self.access_speed_kph)):
            raise ValueError(f"access_speed_kph must be positive, got {self.access_speed_kph}")

    def far_locations(
        self, locations: Sequence[Location], snap: Snap | None = None
    ) -> list[InputIssue]:
        """One issue per location too far from the road network (empty if all are near)."""
        snap = self.network.snap(locations) if snap is None else snap
        return [
            InputIssue(
                f"locations[{i}] ({locations[i].lat:.6f}, {locations[i].lon:.6f})",
                f"{snap.distance_m[i]:.0f} m from the nearest road of {self.network.source} "
                f"(limit {self.max_snap_m:.0f} m)",
            )
            for i in snap.far(self.max_snap_m)
        ]

    def matrix(self, locations: Sequence[Location]) -> TravelMatrix:
        """Seconds and metres between ``locations`` (fastest path; metres along that path)."""
        if self.cache is None:
            return TravelMatrix(*self._compute(locations), self.congestion)
        key = matrix_key(self.network.key, self._settings(), locations)
        cached = self.cache.load_arrays("matrix", key)
        if cached is not None and _matrix_shape_ok(cached, len(locations)):
            return TravelMatrix(cached["duration_s"], cached["distance_m"], self.congestion)
        duration_s, distance_m = self._compute(locations)
        self.cache.save_arrays("matrix", key, {"duration_s": duration_s, "distance_m": distance_m})
        return TravelMatrix(duration_s, distance_m, self.congestion)

    def _settings(self) -> str:
        return f"snap={self.max_snap_m!r};access={self.access_speed_kph!r}"

    def _compute(
        self, locations: Sequence[Location]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        snap = self.network.snap(locations)
        issues = self.far_locations(locations, snap)
        if issues:
            raise InputError(issues, source="road matrix")
        nodes, inverse = np.unique(snap.node, return_inverse=True)
        node_ms, node_dm = self.network.node_matrix(nodes, self.workers)
        access_mps = self.access_speed_kph / 3.6
        access_s = snap.distance_m / access_mps
        duration_s = _expand(node_ms, inverse, 1e-3, access_s)
        del node_ms
        distance_m = _expand(node_dm, inverse, 0.1, snap.distance_m)
        del node_dm
        # Locations sharing a node ride straight to each other, not out to the node and back.
        order = np.argsort(inverse, kind="stable")
        starts = np.flatnonzero(np.diff(inverse[order], prepend=-1))
        for group in np.split(order, starts[1:]):
            if group.size < 2:
                continue
            lat = np.array([locations[i].lat for i in group], dtype=np.float64)
            lon = np.array([locations[i].lon for i in group], dtype=np.float64)
            direct_m = haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
            block = np.ix_(group, group)
            distance_m[block] = np.rint(direct_m)
            duration_s[block] = np.rint(direct_m / access_mps)
        np.fill_diagonal(duration_s, 0)
        np.fill_diagonal(distance_m, 0)
        return duration_s, distance_m


def _expand(
    node_values: npt.NDArray[np.int64],
    inverse: npt.NDArray[np.int64],
    scale: float,
    access: npt.NDArray[np.float64],
) -> npt.NDArray[np.int64]:
    """Per-location matrix ``rint(access_i + scale * node_values[n_i, n_j] + access_j)``.

    Works in place on one float array so a 5,000-location matrix needs ~2 arrays, not ~8.
    """
    values = node_values[np.ix_(inverse, inverse)].astype(np.float64)
    values *= scale
    values += access[:, None]
    values += access[None, :]
    np.rint(values, out=values)
    return values.astype(np.int64)


def _matrix_shape_ok(arrays: Mapping[str, npt.NDArray[Any]], size: int) -> bool:
    return all(
        name in arrays and arrays[name].shape == (size, size) and arrays[name].dtype == np.int64
        for name in ("duration_s", "distance_m")
    )


def _settings_fingerprint() -> str:
    classes = sorted(
        (name, rc.speed_kph, rc.max_speed_kph) for name, rc in MOTORCYCLE_ROAD_CLASSES.items()
    )
    return repr((NETWORK_FORMAT_VERSION, classes, sorted(OPEN_ACCESS_VALUES), ACCESS_TAGS))


def network_cache_key(path: str | Path) -> str:
    """Cache key of the network prepared from ``path``: file bytes plus preparation tables."""
    return make_key("network", _settings_fingerprint(), file_sha256(path))


def load_network(path: str | Path, cache: DiskCache | None = None) -> RoadNetwork:
    """The prepared network of an OSM file, from ``cache`` when this file was prepared before.

    The cache key is the file's SHA-256 plus the road-class and access tables, so editing the
    file or a table rebuilds. A missing or corrupt file raises :class:`InputError`.
    """
    path = Path(path)
    _check_osm_file(path)
    if cache is None:
        return RoadNetwork.from_graph(load_motorable_graph(path), str(path))
    key = network_cache_key(path)
    arrays = cache.load_arrays("network", key)
    if arrays is not None:
        try:
            return RoadNetwork(**arrays, source=str(path))
        except (TypeError, ValueError):
            cache.corrupt += 1
    network = RoadNetwork.from_graph(load_motorable_graph(path), str(path))
    cache.save_arrays("network", key, network.arrays())
    return network
