"""Maps of plans: GeoJSON structure, road-following lines, PNG and self-contained HTML."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import numpy.typing as npt
import pytest

from dispatch.geo.mapping import ATTRIBUTION, agent_colour, render_map, routes_geojson
from dispatch.model import Location, Problem
from dispatch.plan import Plan, Reason, Route, Stop, Unassigned
from tests.factories import agent, problem, visit

LAHORE = Location(31.5204, 74.3587)


def _near(dlat: float, dlon: float) -> Location:
    return Location(LAHORE.lat + dlat, LAHORE.lon + dlon)


def _stop(visit_id: str, at_s: int) -> Stop:
    return Stop(visit_id, at_s, at_s, at_s + 600, 300, 2000)


def _two_routes() -> tuple[Problem, Plan]:
    """Two agents with two stops each, one idle agent and one unassigned visit."""
    p = problem(
        [
            agent("A1", start=_near(0, 0)),
            agent("A2", start=_near(0.02, 0.02), end=_near(0.03, 0.03)),
            agent("A3", start=_near(-0.02, 0)),
        ],
        [
            visit("V1", location=_near(0.01, 0)),
            visit("V2", location=_near(0.01, 0.01)),
            visit("V3", location=_near(0.02, 0.04)),
            visit("V4", location=_near(0.04, 0.04)),
            visit("V5", location=_near(-0.03, 0.05)),
        ],
        name="lahore-test",
    )
    plan = Plan(
        routes=(
            Route("A1", 32_400, (_stop("V1", 33_000), _stop("V2", 34_000)), 35_000, 300, 2000),
            Route("A2", 32_400, (_stop("V3", 33_000), _stop("V4", 34_000)), 35_000, 300, 2000),
        ),
        unassigned=(Unassigned("V5", Reason.NO_SKILLED_AGENT, "no agent has every skill"),),
    )
    return p, plan


class GridNetwork:
    """A 5 x 5 grid of two-way roads spanning the test area (about 4.5 km apart)."""

    def __init__(self) -> None:
        lat, lon = np.meshgrid(
            LAHORE.lat + np.linspace(-0.04, 0.06, 5), LAHORE.lon + np.linspace(-0.01, 0.07, 5)
        )
        self.node_lat: npt.NDArray[np.float64] = lat.ravel()
        self.node_lon: npt.NDArray[np.float64] = lon.ravel()
        edges: dict[int, list[int]] = {i: [] for i in range(25)}
        for r in range(5):
            for c in range(5):
                i = r * 5 + c
                for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                    if 0 <= rr < 5 and 0 <= cc < 5:
                        edges[i].append(rr * 5 + cc)
        self.indptr = np.cumsum([0, *(len(edges[i]) for i in range(25))]).astype(np.int64)
        self.indices = np.array([j for i in range(25) for j in edges[i]], dtype=np.int64)
        self.edge_time_ms = np.full(self.indices.shape, 60_000, dtype=np.int64)

    class _Snap:
        def __init__(self, node: npt.NDArray[np.int64]) -> None:
            self.node = node

    def snap(self, locations: list[Location]) -> GridNetwork._Snap:
        lat = np.array([p.lat for p in locations])[:, None]
        lon = np.array([p.lon for p in locations])[:, None]
        d2 = (lat - self.node_lat[None, :]) ** 2 + (lon - self.node_lon[None, :]) ** 2
        return GridNetwork._Snap(np.argmin(d2, axis=1).astype(np.int64))


def _features(collection: dict[str, object], kind: str) -> list[dict[str, object]]:
    features = collection["features"]
    assert isinstance(features, list)
    return [f for f in features if f["properties"]["kind"] == kind]


def test_geojson_has_one_line_per_route_and_every_point() -> None:
    """A FeatureCollection: one LineString per route, a Point per stop, start and unassigned."""
    p, plan = _two_routes()
    collection = routes_geojson(p, plan)
    assert collection["type"] == "FeatureCollection"
    json.dumps(collection)  # serialisable as it stands
    lines = _features(collection, "route")
    assert [f["properties"]["agent_id"] for f in lines] == ["A1", "A2"]
    for feature in lines:
        assert feature["geometry"]["type"] == "LineString"
    a2 = lines[1]["geometry"]["coordinates"]
    assert a2[0] == pytest.approx([p.agents[1].start.lon, p.agents[1].start.lat])
    assert a2[-1] == pytest.approx([p.agents[1].end_location.lon, p.agents[1].end_location.lat])
    assert len(a2) == 4  # start, two stops, end
    stops = _features(collection, "stop")
    assert sorted(f["properties"]["visit_id"] for f in stops) == ["V1", "V2", "V3", "V4"]
    assert {f["properties"]["arrival"] for f in stops} == {"09:10", "09:26:40"}
    missing = _features(collection, "unassigned")
    assert [f["properties"]["reason"] for f in missing] == ["no_skilled_agent"]
    v5 = p.visits[4].location
    assert missing[0]["geometry"]["coordinates"] == pytest.approx([v5.lon, v5.lat])
    assert len(_features(collection, "agent_start")) == 3
    assert "attribution" not in collection


def test_route_colours_follow_agent_order() -> None:
    """Each route and its stops carry the colour of the agent's position in the problem."""
    p, plan = _two_routes()
    collection = routes_geojson(p, plan)
    colours = {
        f["properties"]["agent_id"]: f["properties"]["colour"]
        for f in _features(collection, "stop")
    }
    assert colours == {"A1": agent_colour(0), "A2": agent_colour(1)}
    assert agent_colour(0) != agent_colour(1)


def test_geojson_follows_roads_and_credits_osm_with_a_network() -> None:
    """With a road network, lines pass through road nodes and carry the OSM attribution."""
    p, plan = _two_routes()
    network = GridNetwork()
    collection = routes_geojson(p, plan, network)
    assert collection["attribution"] == ATTRIBUTION
    line = _features(collection, "route")[0]
    assert line["properties"]["attribution"] == ATTRIBUTION
    coords = [tuple(c) for c in line["geometry"]["coordinates"]]
    nodes = {
        (round(x, 6), round(y, 6)) for x, y in zip(network.node_lon, network.node_lat, strict=True)
    }
    on_road = [c for c in coords if c in nodes]
    assert len(on_road) >= 2
    assert len(coords) > 4  # more than the straight start-stop-stop-end line
    # Consecutive road points are grid neighbours: one step of the grid at most.
    steps = [abs(a[0] - b[0]) + abs(a[1] - b[1]) for a, b in itertools.pairwise(on_road)]
    assert max(steps) <= 0.025 + 1e-9


def test_png_map_is_written(tmp_path: Path) -> None:
    """render_map writes a real PNG of non-trivial size."""
    p, plan = _two_routes()
    path = render_map(p, plan, tmp_path / "maps" / "plan.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000


def test_html_map_is_self_contained(tmp_path: Path) -> None:
    """The HTML map has an inline SVG with a line per route, credits OSM and loads nothing."""
    p, plan = _two_routes()
    text = render_map(p, plan, tmp_path / "plan.html", area="Lahore").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "<script" not in text
    assert "src=" not in text and "href=" not in text
    assert text.count("<polyline") == 2
    assert ATTRIBUTION in text
    assert "Lahore district" in text
    svg = text[text.index("<svg") : text.index("</svg>") + len("</svg>")]
    root = ElementTree.fromstring(svg)
    assert root.tag.endswith("svg")


def test_geojson_by_suffix_matches_routes_geojson(tmp_path: Path) -> None:
    """A .geojson path writes the same collection routes_geojson returns."""
    p, plan = _two_routes()
    path = render_map(p, plan, tmp_path / "routes.geojson")
    assert json.loads(path.read_text(encoding="utf-8")) == routes_geojson(p, plan)


def test_unknown_map_suffix_is_refused(tmp_path: Path) -> None:
    """Asking for a .jpg names the formats that exist."""
    p, plan = _two_routes()
    with pytest.raises(ValueError, match=r"\.png"):
        render_map(p, plan, tmp_path / "plan.jpg")


def test_cli_map_writes_each_format(tmp_path: Path) -> None:
    """dispatch map reads a problem and plan and writes PNG, HTML and GeoJSON by suffix."""
    import io as stdio

    from dispatch import cli, io

    p, plan = _two_routes()
    problem_path, plan_path = tmp_path / "p.json", tmp_path / "plan.json"
    io.write_problem(p, problem_path)
    io.write_plan(p, plan, plan_path)
    for name in ("map.png", "map.html", "routes.geojson"):
        out, err = stdio.StringIO(), stdio.StringIO()
        argv = ["map", str(problem_path), str(plan_path), "-o", str(tmp_path / name)]
        assert cli.main(argv, stdout=out, stderr=err) == 0, err.getvalue()
        assert (tmp_path / name).stat().st_size > 1000
    collection = json.loads((tmp_path / "routes.geojson").read_text(encoding="utf-8"))
    assert len(_features(collection, "route")) == 2
    out, err = stdio.StringIO(), stdio.StringIO()
    argv = ["map", str(problem_path), str(plan_path), "-o", str(tmp_path / "map.jpg")]
    assert cli.main(argv, stdout=out, stderr=err) == 2
    assert ".png" in err.getvalue()
