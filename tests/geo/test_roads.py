"""Road network: motorcycle filtering, speeds, exact CSR times, snapping and the road provider."""

from __future__ import annotations

import bz2
import itertools
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from dispatch.errors import InputError
from dispatch.geo import roads
from dispatch.geo.matrix import haversine_m
from dispatch.geo.provider import TravelSpec, make_provider
from dispatch.geo.roads import (
    MOTORCYCLE_ROAD_CLASSES,
    RoadNetwork,
    RoadProvider,
    load_motorable_graph,
    load_network,
    motorcycle_allowed,
    motorcycle_speed_kph,
    parse_maxspeed_kph,
)
from dispatch.model import Location

OSM_DIR = Path(__file__).resolve().parents[2] / "data" / "osm"
SECTOR = OSM_DIR / "i8.osm"  # has footways, tracks and a cycleway to filter out


@pytest.fixture(scope="module")
def graph() -> nx.MultiDiGraph:
    return load_motorable_graph(SECTOR)


@pytest.fixture(scope="module")
def network(graph: nx.MultiDiGraph) -> RoadNetwork:
    return RoadNetwork.from_graph(graph)


def _highways(graph: nx.MultiDiGraph) -> set[str]:
    found: set[str] = set()
    for _, _, value in graph.edges(data="highway"):
        found.update(value if isinstance(value, list) else [value])
    return found


def _node(lat: float, lon: float, osmid: int) -> str:
    return f'<node id="{osmid}" lat="{lat}" lon="{lon}"/>'


def _way(osmid: int, nodes: list[int], tags: dict[str, str]) -> str:
    refs = "".join(f'<nd ref="{n}"/>' for n in nodes)
    tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
    return f'<way id="{osmid}">{refs}{tag_xml}</way>'


def _write_osm(path: Path, nodes: list[str], ways: list[str]) -> Path:
    body = "\n".join(nodes + ways)
    path.write_text(f'<?xml version="1.0"?>\n<osm version="0.6">\n{body}\n</osm>\n')
    return path


@pytest.fixture
def toy_osm(tmp_path: Path) -> Path:
    """A residential square 1-2-3-4, with a motorway, footway and closed road hanging off it."""
    nodes = [
        _node(33.700, 73.000, 1),
        _node(33.700, 73.005, 2),
        _node(33.705, 73.005, 3),
        _node(33.705, 73.000, 4),
        _node(33.710, 73.000, 5),  # only by motorway from 4
        _node(33.710, 73.005, 6),  # only by footway from 3
        _node(33.695, 73.000, 7),  # only by an access=no road from 1
        _node(33.695, 73.005, 8),  # by access=no but motorcycle=yes from 2
    ]
    ways = [
        _way(100, [1, 2, 3, 4, 1], {"highway": "residential"}),
        _way(101, [4, 5], {"highway": "motorway"}),
        _way(102, [3, 6], {"highway": "footway"}),
        _way(103, [1, 7], {"highway": "residential", "access": "no"}),
        _way(104, [2, 8], {"highway": "residential", "access": "no", "motorcycle": "yes"}),
    ]
    return _write_osm(tmp_path / "toy.osm", nodes, ways)


def test_motorways_footways_and_closed_roads_are_dropped(toy_osm: Path) -> None:
    """Only the residential square and the motorcycle=yes spur survive the filter."""
    graph = load_motorable_graph(toy_osm)
    assert _highways(graph) == {"residential"}
    assert {5, 6, 7}.isdisjoint(graph.nodes)
    assert 8 in graph.nodes


def test_sector_keeps_only_motorcycle_road_classes(graph: nx.MultiDiGraph) -> None:
    """The I-8 extract's footways, cycleways and pedestrian ways are gone, roads remain."""
    highways = _highways(graph)
    assert highways <= set(MOTORCYCLE_ROAD_CLASSES)
    assert {"residential", "tertiary"} <= highways
    assert nx.is_strongly_connected(graph)


def test_speed_table_and_maxspeed_cap() -> None:
    """Class speed when untagged; a tagged limit counts but never above the class cap."""
    assert motorcycle_speed_kph("residential") == MOTORCYCLE_ROAD_CLASSES["residential"].speed_kph
    assert motorcycle_speed_kph("residential", "20") == 20.0
    assert (
        motorcycle_speed_kph("tertiary", "60") == MOTORCYCLE_ROAD_CLASSES["tertiary"].max_speed_kph
    )
    assert motorcycle_speed_kph("motorway", "120") is None
    assert motorcycle_speed_kph("footway") is None


def test_parse_maxspeed() -> None:
    """Numbers, mph, lists and junk are read as km/h or None."""
    assert parse_maxspeed_kph("60") == 60.0
    assert parse_maxspeed_kph("30 mph") == pytest.approx(48.28, abs=0.01)
    assert parse_maxspeed_kph(["40", "60"]) == 40.0
    assert parse_maxspeed_kph("50;70") == 50.0
    assert parse_maxspeed_kph("signals") is None
    assert parse_maxspeed_kph("0") is None
    assert parse_maxspeed_kph(None) is None


def test_access_most_specific_tag_decides() -> None:
    """motorcycle= overrides motor_vehicle= which overrides access=."""
    assert motorcycle_allowed({})
    assert motorcycle_allowed({"access": "private"})
    assert not motorcycle_allowed({"access": "no"})
    assert motorcycle_allowed({"access": "no", "motorcycle": "yes"})
    assert not motorcycle_allowed({"access": "yes", "motor_vehicle": "no"})
    assert not motorcycle_allowed({"access": "only for nescom"})


def test_csr_times_equal_networkx_reference(graph: nx.MultiDiGraph, network: RoadNetwork) -> None:
    """Every sampled pair's CSR time equals networkx Dijkstra on the osmnx graph."""
    rng = np.random.default_rng(7)
    nodes = np.sort(rng.choice(network.node_count, size=12, replace=False)).astype(np.int64)
    time_ms, _ = network.node_matrix(nodes, workers=1)
    for row, source in enumerate(nodes):
        reference = nx.single_source_dijkstra_path_length(
            graph, int(network.node_osmid[source]), weight="travel_time_s"
        )
        for col, target in enumerate(nodes):
            expected_s = reference[int(network.node_osmid[target])]
            assert time_ms[row, col] / 1000 == pytest.approx(expected_s, abs=1e-6)


def test_metres_follow_the_fastest_path(graph: nx.MultiDiGraph, network: RoadNetwork) -> None:
    """Metres equal the length of networkx's fastest path, not the shortest one."""
    rng = np.random.default_rng(3)
    nodes = np.sort(rng.choice(network.node_count, size=6, replace=False)).astype(np.int64)
    _, length_dm = network.node_matrix(nodes, workers=1)
    for row, source in enumerate(nodes):
        for col, target in enumerate(nodes):
            u, v = int(network.node_osmid[source]), int(network.node_osmid[target])
            path = nx.dijkstra_path(graph, u, v, weight="travel_time_s")
            metres = 0.0
            for a, b in itertools.pairwise(path):
                fastest = min(graph[a][b].values(), key=lambda d: d["travel_time_s"])
                metres += fastest["length"]
            assert length_dm[row, col] / 10 == pytest.approx(metres, abs=0.05 * len(path) + 0.1)


def test_parallel_workers_match_single_process(
    network: RoadNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two worker processes give exactly the single-process matrix."""
    monkeypatch.setattr(roads, "_PARALLEL_MIN_SOURCES", 1)
    nodes = np.arange(0, network.node_count, 9, dtype=np.int64)
    single = network.node_matrix(nodes, workers=1)
    double = network.node_matrix(nodes, workers=2)
    np.testing.assert_array_equal(single[0], double[0])
    np.testing.assert_array_equal(single[1], double[1])


def test_snap_reports_distance_to_nearest_node(network: RoadNetwork) -> None:
    """A node's own coordinate snaps to it at 0 m; an offset point reports its true distance."""
    i = network.node_count // 2
    at_node = Location(float(network.node_lat[i]), float(network.node_lon[i]))
    nearby = Location(at_node.lat + 0.0002, at_node.lon)
    snap = network.snap([at_node, nearby])
    assert snap.node[0] == i
    assert snap.distance_m[0] == pytest.approx(0.0, abs=1e-6)
    j = int(snap.node[1])
    expected = haversine_m(nearby.lat, nearby.lon, network.node_lat[j], network.node_lon[j])
    assert snap.distance_m[1] == pytest.approx(float(expected))
    all_d = haversine_m(nearby.lat, nearby.lon, network.node_lat, network.node_lon)
    assert snap.distance_m[1] == pytest.approx(float(all_d.min()))


def test_far_point_is_reported_not_snapped(network: RoadNetwork) -> None:
    """A location 5 km from every road is an InputError naming its index; near ones are not."""
    near = Location(float(network.node_lat[0]), float(network.node_lon[0]))
    far = Location(near.lat + 0.045, near.lon)
    provider = RoadProvider(network)
    with pytest.raises(InputError) as caught:
        provider.matrix([near, far, near])
    wheres = [issue.where for issue in caught.value.issues]
    assert len(wheres) == 1
    assert wheres[0].startswith("locations[1]")
    assert "limit 500 m" in caught.value.issues[0].message


def test_provider_adds_access_legs_consistently(network: RoadNetwork) -> None:
    """Off-road legs are ridden at the access speed at both ends; the diagonal is zero."""
    a, b = 0, network.node_count - 1
    nodes = np.array([a, b], dtype=np.int64)
    time_ms, length_dm = network.node_matrix(nodes, workers=1)
    node_a = Location(float(network.node_lat[a]), float(network.node_lon[a]))
    node_b = Location(float(network.node_lat[b]), float(network.node_lon[b]))
    offset_a = Location(node_a.lat + 0.0003, node_a.lon)
    provider = RoadProvider(network, access_speed_kph=10.0)
    matrix = provider.matrix([node_a, node_b, offset_a])
    snap = network.snap([offset_a])
    assert int(snap.node[0]) == a  # the offset point still joins the network at node a
    access_s = float(snap.distance_m[0]) / (10.0 / 3.6)
    assert matrix.duration_s[0, 1] == round(time_ms[0, 1] / 1000)
    assert matrix.distance_m[1, 0] == round(length_dm[1, 0] / 10)
    assert matrix.duration_s[2, 1] == round(access_s + time_ms[0, 1] / 1000)
    assert matrix.duration_s[1, 2] == round(time_ms[1, 0] / 1000 + access_s)
    assert matrix.duration_s[0, 2] == round(access_s)  # same node: straight across
    assert matrix.distance_m[2, 0] == round(float(snap.distance_m[0]))
    assert np.all(np.diag(matrix.duration_s) == 0)
    assert matrix.duration_s.dtype == np.int64


def test_road_matrix_is_deterministic(network: RoadNetwork) -> None:
    """The same locations give the same matrix twice."""
    rng = np.random.default_rng(11)
    picks = rng.choice(network.node_count, size=20, replace=False)
    locations = [
        Location(float(network.node_lat[i]) + 1e-4, float(network.node_lon[i])) for i in picks
    ]
    first = RoadProvider(network).matrix(locations)
    second = RoadProvider(network).matrix(locations)
    np.testing.assert_array_equal(first.duration_s, second.duration_s)
    np.testing.assert_array_equal(first.distance_m, second.distance_m)
    assert np.all(first.duration_s[~np.eye(20, dtype=bool)] > 0)


def test_missing_osm_file_is_input_error(tmp_path: Path) -> None:
    """A missing file is an InputError that names it."""
    missing = tmp_path / "nowhere.osm"
    with pytest.raises(InputError, match=r"nowhere\.osm"):
        load_network(missing)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("garbage.osm", b"this is not xml at all"),
        ("truncated.osm", b'<?xml version="1.0"?><osm version="0.6"><node id="1" lat='),
        ("broken.osm.bz2", b"BZh9 not really compressed"),
        ("empty.osm", b'<?xml version="1.0"?><osm version="0.6"></osm>'),
    ],
)
def test_corrupt_osm_file_is_input_error(tmp_path: Path, name: str, content: bytes) -> None:
    """Unparseable, truncated, badly compressed or road-less files are InputErrors naming them."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=name.replace(".", r"\.")):
        load_network(path)


def test_bz2_file_loads_like_plain(tmp_path: Path, network: RoadNetwork) -> None:
    """A bzip2-compressed copy of an extract gives the same network."""
    packed = tmp_path / "i8.osm.bz2"
    packed.write_bytes(bz2.compress(SECTOR.read_bytes()))
    assert load_network(packed).key == network.key


def test_make_provider_road_branch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 'road' spec gives a road provider; without an OSM file it is an InputError."""
    monkeypatch.setenv("DISPATCH_CACHE_DIR", str(tmp_path))
    provider = make_provider(TravelSpec(provider="road", osm_file=str(SECTOR)))
    assert isinstance(provider, RoadProvider)
    assert any(tmp_path.rglob("*.npz"))
    with pytest.raises(InputError, match="osm_file"):
        make_provider(TravelSpec(provider="road"))


def _line_network(time_ms: int, length_dm: int) -> RoadNetwork:
    """Two nodes joined both ways by one edge of the given time and length."""
    return RoadNetwork(
        node_osmid=np.array([1, 2], dtype=np.int64),
        node_lat=np.array([33.70, 33.71]),
        node_lon=np.array([73.00, 73.00]),
        indptr=np.array([0, 1, 2], dtype=np.int64),
        indices=np.array([1, 0], dtype=np.int64),
        edge_time_ms=np.array([time_ms, time_ms], dtype=np.int64),
        edge_length_dm=np.array([length_dm, length_dm], dtype=np.int64),
    )


def test_shared_node_groups_ride_straight_between_members() -> None:
    """Three homes on one node are straight-line apart; to the other node all go via it."""
    network = _line_network(time_ms=120_000, length_dm=11_120)
    homes = [Location(33.70 + d, 73.0002) for d in (0.0, 0.0003, -0.0002)]
    other = Location(33.71, 73.00)
    provider = RoadProvider(network, access_speed_kph=18.0)
    matrix = provider.matrix([*homes, other])
    snap = network.snap(homes)
    assert set(snap.node.tolist()) == {0}
    for i in range(3):
        for j in range(3):
            if i != j:
                straight = float(
                    haversine_m(homes[i].lat, homes[i].lon, homes[j].lat, homes[j].lon)
                )
                assert matrix.distance_m[i, j] == round(straight)
                assert matrix.duration_s[i, j] == round(straight / 5.0)
        assert matrix.duration_s[i, 3] == round(float(snap.distance_m[i]) / 5.0 + 120.0)
        assert matrix.distance_m[3, i] == round(1112.0 + float(snap.distance_m[i]))


def test_too_large_network_for_weight_code_raises() -> None:
    """A path longer than the exact (time, length) code allows raises instead of lying."""
    network = _line_network(time_ms=2**27, length_dm=2**24 + 5)
    with pytest.raises(RuntimeError, match="too large"):
        network.node_matrix(np.array([0, 1], dtype=np.int64), workers=1)
    beyond_float = _line_network(time_ms=2**31, length_dm=10)
    with pytest.raises(RuntimeError, match="too large"):
        beyond_float.node_matrix(np.array([0, 1], dtype=np.int64), workers=1)


def test_empty_single_and_repeated_locations(network: RoadNetwork) -> None:
    """No locations give an empty matrix; one or repeated identical locations give zeros."""
    provider = RoadProvider(network)
    assert provider.matrix([]).duration_s.shape == (0, 0)
    home = Location(float(network.node_lat[3]) + 1e-4, float(network.node_lon[3]))
    assert provider.matrix([home]).duration_s.tolist() == [[0]]
    repeated = provider.matrix([home, home, home])
    assert not repeated.duration_s.any()
    assert not repeated.distance_m.any()


def test_road_matrix_keeps_the_triangle_inequality(network: RoadNetwork) -> None:
    """No detour through a third location is faster, up to one second of rounding per leg."""
    rng = np.random.default_rng(21)
    picks = rng.choice(network.node_count, size=25, replace=False)
    base = [Location(float(network.node_lat[i]), float(network.node_lon[i])) for i in picks]
    # Add homes sharing a node with others, so the straight-across rule is exercised too.
    homes = base + [Location(p.lat + 1e-4, p.lon - 1e-4) for p in base[:10]]
    assert len(set(network.snap(homes).node.tolist())) < len(homes)
    duration = RoadProvider(network).matrix(homes).duration_s
    via = duration[:, :, None] + duration[None, :, :]  # i -> j -> k, indexed [i, j, k]
    direct = duration[:, None, :]
    assert np.all(direct <= via + 1)
