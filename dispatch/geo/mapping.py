"""Maps of plans: GeoJSON for GIS tools, a PNG for reports, a self-contained HTML page.

Routes are drawn as straight segments between stops, or along the fastest road path when a
prepared road network is given (between intersections the path is drawn straight, since the
network keeps node positions only). Anything drawn from OpenStreetMap data (district
boundaries, roads) carries the attribution line "© OpenStreetMap contributors".

The HTML page is one file with an inline SVG: it needs no network, no CDN and no script.
"""

from __future__ import annotations

import html
import io as _bytes_io
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import shapely

from dispatch import timefmt
from dispatch.geo.districts import District, all_districts, districts_of, find_district
from dispatch.geo.service_area import ISLAMABAD, islamabad_outline
from dispatch.io import atomic_write_text
from dispatch.model import Location, Problem, Visit
from dispatch.plan import Plan, Route

ATTRIBUTION = "© OpenStreetMap contributors"
# Twenty colours that stay apart on white (Tableau 20, reordered so neighbours differ most).
PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#7f7f7f",
    "#aec7e8",
    "#ff9896",
    "#98df8a",
    "#ffbb78",
    "#c5b0d5",
    "#9edae5",
    "#c49c94",
    "#f7b6d2",
    "#dbdb8d",
    "#393b79",
)
UNASSIGNED_COLOUR = "#000000"
MAP_SUFFIXES = (".png", ".html", ".svg", ".geojson")
_COORD_DECIMALS = 6


class _Snapped(Protocol):
    @property
    def node(self) -> npt.NDArray[np.int64]: ...


class RoadGeometry(Protocol):
    """What drawing along roads needs of a network (``dispatch.geo.roads.RoadNetwork``)."""

    @property
    def node_lat(self) -> npt.NDArray[np.float64]: ...

    @property
    def node_lon(self) -> npt.NDArray[np.float64]: ...

    @property
    def indptr(self) -> npt.NDArray[np.int64]: ...

    @property
    def indices(self) -> npt.NDArray[np.int64]: ...

    @property
    def edge_time_ms(self) -> npt.NDArray[np.int64]: ...

    def snap(self, locations: Sequence[Location]) -> _Snapped: ...


def agent_colour(position: int) -> str:
    """The colour of the agent at ``position`` in the problem (cycles after 20)."""
    return PALETTE[position % len(PALETTE)]


def _route_locations(problem: Problem, route: Route) -> list[Location]:
    """Start, every stop's visit, end: the points a route passes in order."""
    agent = next(a for a in problem.agents if a.id == route.agent_id)
    visits = {v.id: v for v in problem.visits}
    stops = [visits[s.visit_id].location for s in route.stops if s.visit_id in visits]
    return [agent.start, *stops, agent.end_location]


def _road_path(network: RoadGeometry, points: Sequence[Location]) -> list[tuple[float, float]]:
    """Lon/lat polyline through ``points`` along fastest road paths (straight where none)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    n = int(network.node_lat.shape[0])
    graph = csr_matrix(
        (network.edge_time_ms.astype(np.float64), network.indices, network.indptr), shape=(n, n)
    )
    nodes = [int(x) for x in network.snap(list(points)).node]
    sources = sorted(set(nodes[:-1]))
    _, predecessors = dijkstra(graph, directed=True, indices=sources, return_predecessors=True)
    row_of = {s: i for i, s in enumerate(sources)}
    line: list[tuple[float, float]] = [(points[0].lon, points[0].lat)]
    for leg, (a, b) in enumerate(itertools.pairwise(nodes)):
        chain = [b]
        pred = predecessors[row_of[a]]
        while chain[-1] != a and pred[chain[-1]] >= 0:
            chain.append(int(pred[chain[-1]]))
        if chain[-1] == a:
            line.extend(
                (float(network.node_lon[x]), float(network.node_lat[x])) for x in chain[::-1]
            )
        nxt = points[leg + 1]
        line.append((nxt.lon, nxt.lat))
    return [p for i, p in enumerate(line) if i == 0 or p != line[i - 1]]


def route_lines(
    problem: Problem, plan: Plan, network: RoadGeometry | None = None
) -> dict[str, list[tuple[float, float]]]:
    """Lon/lat polyline of each route with stops, keyed by agent id."""
    lines: dict[str, list[tuple[float, float]]] = {}
    for route in plan.routes:
        if not route.stops:
            continue
        points = _route_locations(problem, route)
        if network is None:
            lines[route.agent_id] = [(p.lon, p.lat) for p in points]
        else:
            lines[route.agent_id] = _road_path(network, points)
    return lines


def _xy(lon: float, lat: float) -> list[float]:
    return [round(lon, _COORD_DECIMALS), round(lat, _COORD_DECIMALS)]


def _point(location: Location, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": _xy(location.lon, location.lat)},
        "properties": properties,
    }


def _windows_text(problem: Problem, visit: Visit) -> str:
    return ", ".join(
        f"{_clock(problem, w.start_s)}-{_clock(problem, w.end_s)}" for w in visit.windows
    )


def _clock(problem: Problem, seconds: int) -> str:
    return timefmt.format_time(seconds, problem.date, problem.timezone)


def routes_geojson(
    problem: Problem, plan: Plan, network: RoadGeometry | None = None
) -> dict[str, Any]:
    """The plan as a GeoJSON FeatureCollection (RFC 7946, lon/lat).

    One ``LineString`` per route with stops (``kind: "route"``), a ``Point`` per agent start
    (``"agent_start"``), per served stop (``"stop"``) and per unassigned visit
    (``"unassigned"``, with its reason). Times are given both as seconds since midnight
    (``*_s``) and as clock text. With a road network, lines follow roads and the collection
    and each route carry ``"attribution"``.
    """
    positions = {a.id: i for i, a in enumerate(problem.agents)}
    visits = {v.id: v for v in problem.visits}
    lines = route_lines(problem, plan, network)
    routed = {"attribution": ATTRIBUTION} if network is not None else {}
    features: list[dict[str, Any]] = []
    for route in plan.routes:
        if route.agent_id not in lines:
            continue
        colour = agent_colour(positions.get(route.agent_id, 0))
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [_xy(lon, lat) for lon, lat in lines[route.agent_id]],
                },
                "properties": {
                    "kind": "route",
                    "agent_id": route.agent_id,
                    "colour": colour,
                    "stops": len(route.stops),
                    "start_s": route.start_s,
                    "end_s": route.end_s,
                    "start": _clock(problem, route.start_s),
                    "end": _clock(problem, route.end_s),
                    "travel_s": route.travel_s,
                    "distance_m": route.distance_m,
                    "geometry_source": "roads" if network is not None else "straight",
                    **routed,
                },
            }
        )
    for position, agent in enumerate(problem.agents):
        features.append(
            _point(
                agent.start,
                {"kind": "agent_start", "agent_id": agent.id, "colour": agent_colour(position)},
            )
        )
    for route in plan.routes:
        colour = agent_colour(positions.get(route.agent_id, 0))
        for sequence, stop in enumerate(route.stops, start=1):
            visit = visits.get(stop.visit_id)
            if visit is None:
                continue
            features.append(
                _point(
                    visit.location,
                    {
                        "kind": "stop",
                        "visit_id": visit.id,
                        "agent_id": route.agent_id,
                        "colour": colour,
                        "sequence": sequence,
                        "service": visit.service,
                        "priority": str(visit.priority),
                        "windows": _windows_text(problem, visit),
                        "arrival_s": stop.arrival_s,
                        "start_s": stop.start_s,
                        "departure_s": stop.departure_s,
                        "arrival": _clock(problem, stop.arrival_s),
                        "start": _clock(problem, stop.start_s),
                    },
                )
            )
    for item in plan.unassigned:
        visit = visits.get(item.visit_id)
        if visit is None:
            continue
        features.append(
            _point(
                visit.location,
                {
                    "kind": "unassigned",
                    "visit_id": visit.id,
                    "colour": UNASSIGNED_COLOUR,
                    "service": visit.service,
                    "priority": str(visit.priority),
                    "windows": _windows_text(problem, visit),
                    "reason": str(item.reason),
                    "message": item.message,
                },
            )
        )
    collection: dict[str, Any] = {
        "type": "FeatureCollection",
        "name": problem.name,
        "features": features,
    }
    collection.update(routed)
    return collection


# ---- Background: which boundaries to draw ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Frame:
    """The map's extent in lon/lat, with the east-west stretch of a local flat projection."""

    west: float
    south: float
    east: float
    north: float

    @property
    def lon_scale(self) -> float:
        return math.cos(math.radians((self.south + self.north) / 2))


def _frame(problem: Problem, lines: dict[str, list[tuple[float, float]]]) -> _Frame:
    lon = [p.lon for p in problem.locations()] + [x for ln in lines.values() for x, _ in ln]
    lat = [p.lat for p in problem.locations()] + [y for ln in lines.values() for _, y in ln]
    finite = [(x, y) for x, y in zip(lon, lat, strict=True) if math.isfinite(x + y)]
    if not finite:
        return _Frame(74.25, 31.45, 74.45, 31.6)
    xs, ys = [x for x, _ in finite], [y for _, y in finite]
    pad = max(max(xs) - min(xs), max(ys) - min(ys), 0.01) * 0.06
    return _Frame(min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)


def _main_district(problem: Problem, area: str | None) -> District | None:
    """The district to shade: the named area, else the one most visits (or starts) lie in."""
    if area is not None:
        return None if area.strip().casefold() in ("islamabad", "ict") else find_district(area)
    points = [v.location for v in problem.visits] or [a.start for a in problem.agents]
    names = [n for n in districts_of(points) if n is not None]
    if not names:
        return None
    return find_district(max(sorted(set(names)), key=names.count))


def _rings(geometry: Any, tolerance_deg: float) -> list[npt.NDArray[np.float64]]:
    """Exterior and interior rings of a (Multi)Polygon as (n, 2) lon/lat arrays."""
    simple = shapely.simplify(geometry, tolerance_deg)
    rings: list[npt.NDArray[np.float64]] = []
    for part in shapely.get_parts(simple):
        if part.geom_type != "Polygon":
            continue
        rings.append(np.asarray(part.exterior.coords))
        rings.extend(np.asarray(r.coords) for r in part.interiors)
    return rings


@dataclass(frozen=True, slots=True)
class _Background:
    shaded: list[npt.NDArray[np.float64]]  # rings of the area (the district or ICT)
    outlines: list[npt.NDArray[np.float64]]  # rings of every other region in view
    label: str


def _background(problem: Problem, frame: _Frame, area: str | None) -> _Background:
    view = shapely.box(frame.west, frame.south, frame.east, frame.north)
    tolerance = max(frame.east - frame.west, frame.north - frame.south) / 2000
    main = _main_district(problem, area)
    regions: list[tuple[str, Any]] = [(d.name, d.geometry) for d in all_districts()]
    regions.append((ISLAMABAD, islamabad_outline()))
    in_ict = area is not None and main is None
    if main is None and not in_ict:
        points = [v.location for v in problem.visits] or [a.start for a in problem.agents]
        in_ict = any(shapely.intersects_xy(islamabad_outline(), p.lon, p.lat) for p in points)
    shaded_name = main.name if main is not None else (ISLAMABAD if in_ict else "")
    shaded: list[npt.NDArray[np.float64]] = []
    outlines: list[npt.NDArray[np.float64]] = []
    for name, geometry in regions:
        if not shapely.intersects(geometry, view):
            continue
        rings = _rings(geometry, tolerance)
        (shaded if name == shaded_name else outlines).extend(rings)
    label = f"{shaded_name} district" if main is not None else shaded_name
    return _Background(shaded, outlines, label)


# ---- PNG -------------------------------------------------------------------------------------


def _title(problem: Problem, plan: Plan) -> str:
    served = len(plan.served_ids())
    active = sum(1 for r in plan.routes if r.stops)
    name = problem.name or "plan"
    return (
        f"{name} · {problem.date.isoformat()} · {served}/{len(problem.visits)} visits served "
        f"by {active} agents · {len(plan.unassigned)} unassigned"
    )


def _render_png(
    problem: Problem,
    plan: Plan,
    lines: dict[str, list[tuple[float, float]]],
    background: _Background,
    frame: _Frame,
    attribution: str,
) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    width = frame.east - frame.west
    height = frame.north - frame.south
    aspect = height / max(width * frame.lon_scale, 1e-9)
    fig = Figure(figsize=(10, min(max(10 * aspect, 5), 14)), dpi=110)
    ax = fig.add_subplot()
    for ring in background.shaded:
        ax.fill(ring[:, 0], ring[:, 1], facecolor="#f3efe4", edgecolor="#8a8070", lw=1.2, zorder=0)
    for ring in background.outlines:
        ax.plot(ring[:, 0], ring[:, 1], color="#c8c8c8", lw=0.8, zorder=1)

    positions = {a.id: i for i, a in enumerate(problem.agents)}
    visits = {v.id: v for v in problem.visits}
    handles: list[Any] = []
    for route in plan.routes:
        if route.agent_id not in lines:
            continue
        colour = agent_colour(positions.get(route.agent_id, 0))
        xy = np.asarray(lines[route.agent_id])
        ax.plot(xy[:, 0], xy[:, 1], color=colour, lw=1.6, alpha=0.85, zorder=3)
        stops = [visits[s.visit_id].location for s in route.stops if s.visit_id in visits]
        ax.scatter(
            [p.lon for p in stops],
            [p.lat for p in stops],
            s=18,
            color=colour,
            edgecolors="white",
            linewidths=0.5,
            zorder=4,
        )
        handles.append(
            Line2D(
                [], [], color=colour, marker="o", lw=1.6, label=f"{route.agent_id} ({len(stops)})"
            )
        )
    starts = [(a.start, agent_colour(i)) for i, a in enumerate(problem.agents)]
    ax.scatter(
        [p.lon for p, _ in starts],
        [p.lat for p, _ in starts],
        s=40,
        marker="s",
        c=[c for _, c in starts],
        edgecolors="black",
        linewidths=0.8,
        zorder=5,
    )
    missing = [visits[u.visit_id].location for u in plan.unassigned if u.visit_id in visits]
    if missing:
        ax.scatter(
            [p.lon for p in missing],
            [p.lat for p in missing],
            s=36,
            marker="x",
            color=UNASSIGNED_COLOUR,
            linewidths=1.4,
            zorder=6,
        )
        handles.append(
            Line2D(
                [],
                [],
                color=UNASSIGNED_COLOUR,
                marker="x",
                lw=0,
                label=f"unassigned ({len(missing)})",
            )
        )
    handles.append(Line2D([], [], color="grey", marker="s", mec="black", lw=0, label="agent start"))
    if len(handles) > 22:
        handles = [
            *handles[:20],
            Line2D([], [], lw=0, label=f"… {len(handles) - 21} more"),
            handles[-1],
        ]
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False
    )

    ax.set_xlim(frame.west, frame.east)
    ax.set_ylim(frame.south, frame.north)
    ax.set_aspect(1 / frame.lon_scale)
    ax.tick_params(labelsize=7)
    ax.set_xlabel("longitude (°E)", fontsize=8)
    ax.set_ylabel("latitude (°N)", fontsize=8)
    ax.set_title(_title(problem, plan), fontsize=10)
    if background.label:
        ax.text(0.01, 0.01, background.label, transform=ax.transAxes, fontsize=8, color="#6b6355")
    if attribution:
        ax.text(
            0.99,
            0.01,
            attribution,
            transform=ax.transAxes,
            fontsize=7,
            ha="right",
            va="bottom",
            color="#444444",
            bbox={"facecolor": "white", "alpha": 0.7, "lw": 0, "pad": 1.5},
        )
    fig.tight_layout()
    buffer = _bytes_io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", pad_inches=0.15)
    return buffer.getvalue()


# ---- SVG / HTML ------------------------------------------------------------------------------

_SVG_WIDTH = 1000.0


def _svg(
    problem: Problem,
    plan: Plan,
    lines: dict[str, list[tuple[float, float]]],
    background: _Background,
    frame: _Frame,
    attribution: str,
) -> str:
    scale = _SVG_WIDTH / max((frame.east - frame.west) * frame.lon_scale, 1e-9)
    height = (frame.north - frame.south) * scale

    def at(lon: float, lat: float) -> tuple[float, float]:
        return ((lon - frame.west) * frame.lon_scale * scale, (frame.north - lat) * scale)

    def xy(lon: float, lat: float) -> str:
        x, y = at(lon, lat)
        return f"{x:.1f},{y:.1f}"

    def ring_path(ring: npt.NDArray[np.float64]) -> str:
        return "M" + " L".join(xy(float(x), float(y)) for x, y in ring) + " Z"

    esc = html.escape
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_SVG_WIDTH:.0f} {height:.0f}" '
        f'width="{_SVG_WIDTH:.0f}" height="{height:.0f}" font-family="sans-serif">',
        f"<title>{esc(_title(problem, plan))}</title>",
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ]
    if background.shaded:
        d = " ".join(ring_path(r) for r in background.shaded)
        parts.append(
            f'<path d="{d}" fill="#f3efe4" fill-rule="evenodd" stroke="#8a8070" '
            f'stroke-width="1.5"><title>{esc(background.label)}</title></path>'
        )
    if background.outlines:
        d = " ".join(ring_path(r) for r in background.outlines)
        parts.append(f'<path d="{d}" fill="none" stroke="#c8c8c8" stroke-width="1"/>')

    positions = {a.id: i for i, a in enumerate(problem.agents)}
    visits = {v.id: v for v in problem.visits}
    for route in plan.routes:
        if route.agent_id not in lines:
            continue
        colour = agent_colour(positions.get(route.agent_id, 0))
        points = " ".join(xy(x, y) for x, y in lines[route.agent_id])
        km = route.distance_m / 1000
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2" '
            f'stroke-opacity="0.85"><title>{esc(route.agent_id)}: {len(route.stops)} stops, '
            f"{km:.1f} km, {_clock(problem, route.start_s)}-{_clock(problem, route.end_s)}"
            "</title></polyline>"
        )
        for sequence, stop in enumerate(route.stops, start=1):
            visit = visits.get(stop.visit_id)
            if visit is None:
                continue
            cx, cy = at(visit.location.lon, visit.location.lat)
            tip = (
                f"{visit.id} · {route.agent_id} #{sequence} · {visit.service} · "
                f"arrive {_clock(problem, stop.arrival_s)}, start {_clock(problem, stop.start_s)}"
                f" (slot {_windows_text(problem, visit)})"
            )
            parts.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{colour}" stroke="#fff" '
                f'stroke-width="1"><title>{esc(tip)}</title></circle>'
            )
    for position, agent in enumerate(problem.agents):
        cx, cy = at(agent.start.lon, agent.start.lat)
        parts.append(
            f'<rect x="{cx - 5:.1f}" y="{cy - 5:.1f}" width="10" height="10" '
            f'fill="{agent_colour(position)}" stroke="#000" stroke-width="1">'
            f"<title>{esc(agent.id)} starts here</title></rect>"
        )
    for item in plan.unassigned:
        visit = visits.get(item.visit_id)
        if visit is None:
            continue
        cx, cy = at(visit.location.lon, visit.location.lat)
        parts.append(
            f'<g stroke="{UNASSIGNED_COLOUR}" stroke-width="2"><title>{esc(visit.id)} unassigned: '
            f"{esc(str(item.reason))}: {esc(item.message)}</title>"
            f'<line x1="{cx - 5:.1f}" y1="{cy - 5:.1f}" x2="{cx + 5:.1f}" y2="{cy + 5:.1f}"/>'
            f'<line x1="{cx - 5:.1f}" y1="{cy + 5:.1f}" x2="{cx + 5:.1f}" y2="{cy - 5:.1f}"/></g>'
        )
    if attribution:
        parts.append(
            f'<text x="{_SVG_WIDTH - 6:.0f}" y="{height - 6:.0f}" text-anchor="end" '
            f'font-size="11" fill="#444">{esc(attribution)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _html(problem: Problem, plan: Plan, svg: str, attribution: str) -> str:
    esc = html.escape
    positions = {a.id: i for i, a in enumerate(problem.agents)}
    rows = "".join(
        f'<li><span style="color:{agent_colour(positions.get(r.agent_id, 0))}">■</span> '
        f"{esc(r.agent_id)}: {len(r.stops)} stops, {r.distance_m / 1000:.1f} km</li>"
        for r in plan.routes
        if r.stops
    )
    missing = "".join(f"<li>✕ {esc(u.visit_id)}: {esc(u.message)}</li>" for u in plan.unassigned)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(_title(problem, plan))}</title>"
        "<style>body{font-family:sans-serif;margin:1em;display:flex;gap:1.5em}"
        "ul{list-style:none;padding:0;font-size:13px}svg{border:1px solid #ddd;max-width:100%;"
        "height:auto}</style></head><body>"
        f"<div>{svg}</div><div><h3>{esc(_title(problem, plan))}</h3>"
        f"<h4>Routes</h4><ul>{rows}</ul>"
        + (f"<h4>Unassigned</h4><ul>{missing}</ul>" if missing else "")
        + (f"<p><small>{esc(attribution)}</small></p>" if attribution else "")
        + "</div></body></html>\n"
    )


def render_map(
    problem: Problem,
    plan: Plan,
    path: Path | str,
    network: RoadGeometry | None = None,
    area: str | None = None,
) -> Path:
    """Write a map of the plan; the suffix picks the format.

    ``.png`` (matplotlib), ``.html`` (one file with an inline SVG, legend and unassigned list),
    ``.svg``, or ``.geojson`` (:func:`routes_geojson`). The district that ``area`` names, or
    the one most visits lie in, is shaded under the routes; neighbouring boundaries are drawn
    in grey. Returns the path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MAP_SUFFIXES:
        raise ValueError(
            f"map file must end in one of {', '.join(MAP_SUFFIXES)}, got {path.name!r}"
        )
    if suffix == ".geojson":
        atomic_write_text(
            path, json.dumps(routes_geojson(problem, plan, network), ensure_ascii=False)
        )
        return path
    lines = route_lines(problem, plan, network)
    frame = _frame(problem, lines)
    background = _background(problem, frame, area)
    sources = []
    if background.shaded or background.outlines:
        sources.append("boundaries")
    if network is not None:
        sources.append("roads")
    attribution = f"{' and '.join(sources).capitalize()}: {ATTRIBUTION}" if sources else ""
    if suffix == ".png":
        data = _render_png(problem, plan, lines, background, frame, attribution)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return path
    svg = _svg(problem, plan, lines, background, frame, attribution)
    text = svg + "\n" if suffix == ".svg" else _html(problem, plan, svg, attribution)
    atomic_write_text(path, text)
    return path
