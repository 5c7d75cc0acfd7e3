"""The only readers and writers of problem and plan files (JSON and CSV).

Reading is two steps: :mod:`dispatch.schema` checks the structure of each item, then
:mod:`dispatch.iocheck` checks meaning (times, ids, service and skill codes, references) and
builds the frozen domain objects; CSV rows (:mod:`dispatch.iocsv`) take the same path. Every
issue in the input is collected and raised at once as one :class:`~dispatch.errors.InputError`
whose entries name the item and field, e.g. ``visits[3] (id 'V17').windows[0].end``. Writing
always goes through :func:`atomic_write_text`, so an output file is complete or untouched.

The formats are documented in ``docs/format.md``; JSON Schemas generated from the models live
in ``docs/schema/``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import enum
import io
import json
import math
import os
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from dispatch import schema, timefmt
from dispatch.catalog import CODE_RE, known_skills, load_catalog
from dispatch.errors import InputError, InputIssue
from dispatch.geo.congestion import PUNJAB_CONGESTION
from dispatch.geo.matrix import CongestionProfile
from dispatch.geo.provider import TravelSpec
from dispatch.iocheck import (
    FORMAT_VERSION,
    MAX_AGENTS,
    MAX_FILE_BYTES,
    MAX_ISSUES,
    MAX_VISITS,
    Context,
    build_agent,
    build_items,
    build_office,
    build_visit,
    demand_issues,
    describe,
    item_where,
    join_where,
    raise_if,
    raw_ids,
    validate_item,
)
from dispatch.iocsv import agents_from_csv, csv_context, visits_from_csv
from dispatch.model import (
    DEFAULT_TIMEZONE,
    Agent,
    Location,
    Problem,
    Service,
    TimeWindow,
    Visit,
)
from dispatch.plan import BreakTaken, Plan, Reason, Route, Stop, StopKind, Unassigned

__all__ = [
    "FORMAT_VERSION",
    "MAX_AGENTS",
    "MAX_FILE_BYTES",
    "MAX_ISSUES",
    "MAX_VISITS",
    "ProblemInput",
    "atomic_write_text",
    "parse_plan",
    "parse_problem",
    "plan_to_dict",
    "problem_to_dict",
    "read_agents_csv",
    "read_plan",
    "read_problem",
    "read_problem_csv",
    "read_visits_csv",
    "schema_documents",
    "write_plan",
    "write_problem",
    "write_schemas",
]


PLAN_CSV_COLUMNS: tuple[str, ...] = (
    "agent_id",
    "seq",
    "visit_id",
    "service",
    "priority",
    "lat",
    "lon",
    "arrival",
    "start",
    "departure",
    "travel_s",
    "distance_m",
    "wait_s",
    "late_s",
    "kind",
    "reason",
    "message",
)


@dataclass(frozen=True)
class ProblemInput:
    """What a problem file holds: the problem and how its travel times are to be obtained."""

    problem: Problem
    travel: TravelSpec


# --------------------------------------------------------------------------------------------
# Problem JSON


def _travel(doc: schema.TravelDoc | None, issues: list[InputIssue]) -> TravelSpec:
    if doc is None:
        return TravelSpec()
    defaults = TravelSpec()
    if doc.provider == "road" and not doc.osm_file:
        issues.append(InputIssue("travel.osm_file", "provider 'road' needs an osm_file"))
    congestion: CongestionProfile | None = None
    if doc.congestion == "default":
        congestion = PUNJAB_CONGESTION
    elif doc.congestion is not None:
        congestion = CongestionProfile(tuple(doc.congestion))
    return TravelSpec(
        provider=doc.provider,
        speed_kph=defaults.speed_kph if doc.speed_kph is None else doc.speed_kph,
        detour_factor=defaults.detour_factor if doc.detour_factor is None else doc.detour_factor,
        osm_file=doc.osm_file,
        congestion=congestion,
    )


def _services(
    raws: Sequence[object], catalog: tuple[Service, ...], issues: list[InputIssue]
) -> tuple[Service, ...]:
    """The bundled catalog with the document's entries replacing (same code) or appended."""
    merged = {s.code: s for s in catalog}
    seen: dict[str, str] = {}
    for index, raw in enumerate(raws):
        where = item_where("services", index, raw)
        doc, bad, item_issues = validate_item(schema.ServiceDoc, raw)
        if doc is not None and not bad:
            if not CODE_RE.match(doc.code):
                item_issues.append(
                    ("code", f"invalid service code {doc.code!r} (lower case, digits, _)")
                )
            elif doc.code in seen:
                item_issues.append(("code", f"duplicate code (first at {seen[doc.code]})"))
            if doc.skill is not None and not CODE_RE.match(doc.skill):
                item_issues.append(("skill", f"invalid skill code {doc.skill!r}"))
            seen.setdefault(doc.code, f"services[{index}]")
            if not item_issues:
                name = doc.name.strip() or doc.code
                merged[doc.code] = Service(doc.code, name, doc.skill, round(doc.duration_min * 60))
        issues.extend(InputIssue(join_where(where, p), m) for p, m in item_issues)
    return tuple(merged.values())


def _limits(data: Mapping[str, Any], issues: list[InputIssue]) -> None:
    for key, limit in (("agents", MAX_AGENTS), ("visits", MAX_VISITS)):
        items = data.get(key)
        if isinstance(items, list) and len(items) > limit:
            issues.append(InputIssue(key, f"{len(items)} {key} is more than the limit of {limit}"))


def parse_problem(
    data: object, source: str = "", catalog: tuple[Service, ...] | None = None
) -> ProblemInput:
    """Decoded problem JSON -> a validated :class:`ProblemInput`; raises :class:`InputError`.

    ``catalog`` defaults to the bundled one (:func:`dispatch.catalog.load_catalog`); the
    document's ``services`` override or extend it.
    """
    if not isinstance(data, Mapping):
        raise InputError(f"a problem must be a JSON object, got {describe(data)}", source)
    version = data.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        message = (
            "missing required field"
            if "format_version" not in data
            else f"unsupported format version {describe(version)}; this reader reads "
            f"{FORMAT_VERSION}"
        )
        raise InputError([InputIssue("format_version", message)], source)
    issues: list[InputIssue] = []
    _limits(data, issues)
    raise_if(issues, source)

    # Top level first, with the item lists emptied: items are checked one by one below so
    # that one bad item does not hide the others.
    lists = ("agents", "visits", "offices", "services")
    top_raw = {k: ([] if k in lists and isinstance(v, list) else v) for k, v in data.items()}
    top, bad, top_issues = validate_item(schema.ProblemDoc, top_raw)
    issues.extend(InputIssue(p, m) for p, m in top_issues)

    date = _parse_date(data.get("date"), issues)
    timezone = data.get("timezone", DEFAULT_TIMEZONE)
    if isinstance(timezone, str):
        try:
            timefmt.zone(timezone)
        except ValueError as exc:
            issues.append(InputIssue("timezone", str(exc)))
            date = None  # times cannot be read without a zone
    else:
        timezone, date = DEFAULT_TIMEZONE, None

    base = load_catalog() if catalog is None else catalog
    services = _services(_list(data, "services"), base, issues)
    ctx = Context(
        date,
        timezone,
        {s.code: s for s in services},
        known_skills(services),
        agent_ids=raw_ids(data.get("agents")),
        office_ids=raw_ids(data.get("offices")),
    )
    agents = build_items(_list(data, "agents"), "agents", schema.AgentDoc, build_agent, ctx, issues)
    visits = build_items(_list(data, "visits"), "visits", schema.VisitDoc, build_visit, ctx, issues)
    offices = build_items(
        _list(data, "offices"), "offices", schema.OfficeDoc, build_office, ctx, issues
    )
    travel = _travel(top.travel if top is not None and "travel" not in bad else None, issues)
    if len(agents) == len(_list(data, "agents")) and len(visits) == len(_list(data, "visits")):
        issues.extend(demand_issues(agents, visits))
    raise_if(issues, source)
    assert top is not None and date is not None
    problem = Problem(
        date=date,
        agents=tuple(agents),
        visits=tuple(visits),
        services=services,
        name=top.name,
        timezone=timezone,
        offices=tuple(offices),
        balance_weight=top.balance_weight,
    )
    return ProblemInput(problem, travel)


def _list(data: Mapping[str, Any], key: str) -> list[object]:
    """The item list under ``key``, or none when absent or not a list (reported elsewhere)."""
    value = data.get(key)
    return value if isinstance(value, list) else []


def _parse_date(value: object, issues: list[InputIssue]) -> dt.date | None:
    if not isinstance(value, str):
        return None  # reported by the structural check
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        issues.append(InputIssue("date", f"must be a date like '2026-11-30', got {value!r}"))
        return None


def _read_json(path: Path) -> object:
    """Decode a JSON file, refusing huge files; errors name the line and column."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(
                f"file is {size / 1e6:.0f} MB, more than the limit of "
                f"{MAX_FILE_BYTES / 1e6:.0f} MB",
                source,
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", source) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", source) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        issue = InputIssue(f"line {exc.lineno} column {exc.colno}", f"malformed JSON: {exc.msg}")
        raise InputError([issue], source) from exc
    except (ValueError, RecursionError) as exc:
        raise InputError(f"malformed JSON: {exc}", source) from exc


def _require_suffix(path: Path, suffixes: tuple[str, ...], what: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        allowed = " or ".join(suffixes)
        raise InputError(f"unsupported {what} file type {suffix or '(none)'!r}; use {allowed}")
    return suffix


def read_problem(path: Path, catalog: tuple[Service, ...] | None = None) -> ProblemInput:
    """Read a problem JSON file (``.json``).

    A relative ``travel.osm_file`` is taken relative to the problem file's folder, so a
    problem and its road extract can travel together.
    """
    path = Path(path)
    _require_suffix(path, (".json",), "problem")
    result = parse_problem(_read_json(path), str(path), catalog)
    osm_file = result.travel.osm_file
    if osm_file and not Path(osm_file).is_absolute():
        travel = dataclasses.replace(result.travel, osm_file=str(path.parent / osm_file))
        result = ProblemInput(result.problem, travel)
    return result


def _minutes(seconds: int) -> int | float:
    """Seconds as minutes for a file: a whole number when exact (``minutes_to_s`` inverts it)."""
    return seconds // 60 if seconds % 60 == 0 else seconds / 60


def _location_dict(location: Location) -> dict[str, float]:
    return {"lat": location.lat, "lon": location.lon}


def _window_dict(window: TimeWindow, problem: Problem) -> dict[str, str]:
    return {
        "start": timefmt.format_time(window.start_s, problem.date, problem.timezone),
        "end": timefmt.format_time(window.end_s, problem.date, problem.timezone),
    }


def _travel_dict(travel: TravelSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "provider": travel.provider,
        "speed_kph": travel.speed_kph,
        "detour_factor": travel.detour_factor,
    }
    if travel.osm_file is not None:
        out["osm_file"] = travel.osm_file
    if travel.congestion is not None:
        is_default = travel.congestion == PUNJAB_CONGESTION
        out["congestion"] = "default" if is_default else list(travel.congestion.multipliers)
    return out


def _services_to_write(problem: Problem) -> list[dict[str, Any]]:
    """The problem's services that the bundled catalog lacks or defines differently."""
    try:
        bundled = {s.code: s for s in load_catalog()}
    except InputError:
        bundled = {}
    out = []
    for service in problem.services:
        if bundled.get(service.code) == service:
            continue
        entry: dict[str, Any] = {"code": service.code, "name": service.name}
        entry["skill"] = service.skill
        entry["duration_min"] = _minutes(service.duration_s)
        out.append(entry)
    return out


def problem_to_dict(problem: Problem, travel: TravelSpec | None = None) -> dict[str, Any]:
    """A problem as a JSON-ready dict in the canonical form that :func:`parse_problem` reads.

    Optional fields at their defaults are left out; services are written only where they
    differ from the bundled catalog.
    """
    agents = []
    for agent in problem.agents:
        entry: dict[str, Any] = {"id": agent.id, "start": _location_dict(agent.start)}
        if agent.end is not None:
            entry["end"] = _location_dict(agent.end)
        entry["shift"] = _window_dict(agent.shift, problem)
        entry["skills"] = sorted(agent.skills)
        if agent.max_visits is not None:
            entry["max_visits"] = agent.max_visits
        if agent.speed_factor != 1.0:
            entry["speed_factor"] = agent.speed_factor
        if agent.capacities:
            entry["capacities"] = dict(agent.capacities)
        if agent.breaks:
            entry["breaks"] = [
                {
                    "name": b.name,
                    "duration_min": _minutes(b.duration_s),
                    "window": _window_dict(b.window, problem),
                }
                for b in agent.breaks
            ]
        agents.append(entry)
    visits = []
    for visit in problem.visits:
        item: dict[str, Any] = {
            "id": visit.id,
            "location": _location_dict(visit.location),
            "service": visit.service,
            "windows": [_window_dict(w, problem) for w in visit.windows],
            "priority": str(visit.priority),
        }
        if visit.extra_skills:
            item["extra_skills"] = sorted(visit.extra_skills)
        if visit.duration_s is not None:
            if visit.duration_s % 60 == 0:
                item["duration_min"] = visit.duration_s // 60
            else:
                item["duration_s"] = visit.duration_s
        if visit.required:
            item["required"] = True
        if visit.demand:
            item["demand"] = dict(visit.demand)
        if visit.max_late_s:
            item["max_late_min"] = _minutes(visit.max_late_s)
        if visit.late_cost_per_min:
            item["late_cost_per_min"] = visit.late_cost_per_min
        for name in ("pickup_office", "preferred_agent", "required_agent"):
            if getattr(visit, name) is not None:
                item[name] = getattr(visit, name)
        visits.append(item)
    out: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "name": problem.name,
        "date": problem.date.isoformat(),
        "timezone": problem.timezone,
    }
    if travel is not None:
        out["travel"] = _travel_dict(travel)
    if problem.balance_weight:
        out["balance_weight"] = problem.balance_weight
    out["agents"] = agents
    out["visits"] = visits
    if problem.offices:
        out["offices"] = [
            {
                "id": o.id,
                "name": o.name,
                "location": _location_dict(o.location),
                "opening": _window_dict(o.opening, problem),
                "pickup_min": _minutes(o.pickup_s),
            }
            for o in problem.offices
        ]
    services = _services_to_write(problem)
    if services:
        out["services"] = services
    return out


def _dumps(document: Any) -> str:
    return json.dumps(_jsonable(document, "document"), indent=2, ensure_ascii=False) + "\n"


def write_problem(problem: Problem, path: Path, travel: TravelSpec | None = None) -> None:
    """Write a problem as JSON, atomically."""
    atomic_write_text(Path(path), _dumps(problem_to_dict(problem, travel)))


# --------------------------------------------------------------------------------------------
# CSV input (what a booking system exports)


def read_agents_csv(
    path: Path,
    *,
    date: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    catalog: tuple[Service, ...] | None = None,
) -> tuple[Agent, ...]:
    """Agents from CSV (columns in ``docs/format.md``); datetimes in cells need ``date``."""
    issues: list[InputIssue] = []
    agents = agents_from_csv(path, csv_context(date, timezone, catalog), issues)
    raise_if(issues, str(path))
    return tuple(agents)


def read_visits_csv(
    path: Path,
    *,
    date: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    catalog: tuple[Service, ...] | None = None,
) -> tuple[Visit, ...]:
    """Visits from CSV (columns in ``docs/format.md``); datetimes in cells need ``date``.

    Agent ids in ``preferred_agent`` / ``required_agent`` are not checked here (no agents).
    """
    issues: list[InputIssue] = []
    visits = visits_from_csv(path, csv_context(date, timezone, catalog), issues)
    raise_if(issues, str(path))
    return tuple(visits)


def read_problem_csv(
    agents_csv: Path,
    visits_csv: Path,
    date: dt.date,
    name: str = "",
    catalog: tuple[Service, ...] | None = None,
) -> ProblemInput:
    """A problem from a booking system's two exports; issues of both files come together.

    Travel is the default haversine estimate.
    """
    services = load_catalog() if catalog is None else catalog
    ctx = csv_context(date, DEFAULT_TIMEZONE, services)
    issues: list[InputIssue] = []
    agents = agents_from_csv(agents_csv, ctx, issues)
    # Agent references are checked only against a clean agents file: a visit naming an agent
    # whose row is broken should not get a second, misleading issue.
    agent_ids = None if issues else frozenset(a.id for a in agents)
    visits = visits_from_csv(visits_csv, dataclasses.replace(ctx, agent_ids=agent_ids), issues)
    if not issues:
        issues.extend(demand_issues(agents, visits))
    raise_if(issues, f"{agents_csv}, {visits_csv}")
    problem = Problem(date, tuple(agents), tuple(visits), services, name=name)
    return ProblemInput(problem, TravelSpec())


# --------------------------------------------------------------------------------------------
# Plans


def _stop_details(
    problem: Problem,
) -> Callable[[Stop], tuple[str | None, str | None, Location | None]]:
    """For each stop: the service, priority and location a reader wants next to it."""
    visits = {v.id: v for v in problem.visits}
    offices = {o.id: o for o in problem.offices}

    def details(stop: Stop) -> tuple[str | None, str | None, Location | None]:
        if stop.kind == StopKind.PICKUP:
            office = offices.get(stop.visit_id)
            return None, None, None if office is None else office.location
        visit = visits.get(stop.visit_id)
        if visit is None:
            return None, None, None
        return visit.service, str(visit.priority), visit.location

    return details


def plan_to_dict(
    problem: Problem, plan: Plan, kpis: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A plan as a JSON-ready dict; stops also carry the visit's service, priority, location.

    Stops naming a visit the problem lacks are written as they are (with null details), so
    the checker can report them. ``kpis`` and ``plan.solver`` are converted to plain JSON
    (numpy numbers, enums, dataclasses; NaN becomes null).
    """
    details = _stop_details(problem)

    def when(seconds: int) -> str:
        return timefmt.format_datetime(seconds, problem.date, problem.timezone)

    routes = []
    for route in plan.routes:
        stops = []
        for stop in route.stops:
            service, priority, location = details(stop)
            entry: dict[str, Any] = {
                "kind": str(stop.kind),
                "visit_id": stop.visit_id,
                "arrival": when(stop.arrival_s),
                "start": when(stop.start_s),
                "departure": when(stop.departure_s),
                "travel_s": stop.travel_s,
                "distance_m": stop.distance_m,
                "wait_s": stop.wait_s,
                "late_s": stop.late_s,
            }
            if stop.collects:
                entry["collects"] = list(stop.collects)
            entry["service"] = service
            entry["priority"] = priority
            entry["location"] = None if location is None else _location_dict(location)
            stops.append(entry)
        routes.append(
            {
                "agent_id": route.agent_id,
                "start": when(route.start_s),
                "end": when(route.end_s),
                "travel_s": route.travel_s,
                "distance_m": route.distance_m,
                "working_s": route.working_s,
                "stops": stops,
                "end_travel_s": route.end_travel_s,
                "end_distance_m": route.end_distance_m,
                "breaks": [
                    {"name": b.name, "start": when(b.start_s), "end": when(b.end_s)}
                    for b in route.breaks
                ],
            }
        )
    out: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "problem_name": problem.name,
        "date": problem.date.isoformat(),
        "timezone": problem.timezone,
        "routes": routes,
        "unassigned": [
            {"visit_id": u.visit_id, "reason": str(u.reason), "message": u.message}
            for u in plan.unassigned
        ],
    }
    if kpis is not None:
        out["kpis"] = _jsonable(kpis, "kpis")
    out["solver"] = _jsonable(plan.solver, "solver")
    return out


def _plan_csv(problem: Problem, plan: Plan) -> str:
    """One row per stop in route order (breaks as rows of kind ``break``), then unassigned."""
    details = _stop_details(problem)

    def when(seconds: int) -> str:
        return timefmt.format_datetime(seconds, problem.date, problem.timezone)

    def described(stop_id: str, kind: StopKind = StopKind.VISIT) -> dict[str, object]:
        service, priority, location = details(Stop(stop_id, 0, 0, 0, 0, 0, kind=kind))
        row: dict[str, object] = {"visit_id": stop_id, "kind": str(kind)}
        row |= {"service": service or "", "priority": priority or ""}
        if location is not None:
            row |= {"lat": location.lat, "lon": location.lon}
        return row

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, PLAN_CSV_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for route in plan.routes:
        rows: list[tuple[int, dict[str, object]]] = []
        for seq, stop in enumerate(route.stops, start=1):
            row = {"agent_id": route.agent_id, "seq": seq, **described(stop.visit_id, stop.kind)}
            row |= {
                "arrival": when(stop.arrival_s),
                "start": when(stop.start_s),
                "departure": when(stop.departure_s),
                "travel_s": stop.travel_s,
                "distance_m": stop.distance_m,
                "wait_s": stop.wait_s,
                "late_s": stop.late_s,
            }
            rows.append((stop.start_s, row))
        for pause in route.breaks:
            start = when(pause.start_s)
            row = {"agent_id": route.agent_id, "kind": "break", "visit_id": pause.name}
            row |= {"arrival": start, "start": start, "departure": when(pause.end_s)}
            rows.append((pause.start_s, row))
        # A stable sort by start time puts each break between the stops it falls between.
        writer.writerows(row for _, row in sorted(rows, key=lambda pair: pair[0]))
    for item in plan.unassigned:
        row = described(item.visit_id) | {"kind": "unassigned", "reason": str(item.reason)}
        row["message"] = item.message
        writer.writerow(row)
    return buffer.getvalue()


def write_plan(
    problem: Problem, plan: Plan, path: Path, kpis: Mapping[str, Any] | None = None
) -> None:
    """Write a plan atomically: ``.json`` (full plan) or ``.csv`` (one row per stop, then
    one per unassigned visit; ``kpis`` are not part of the CSV)."""
    path = Path(path)
    suffix = _require_suffix(path, (".json", ".csv"), "plan")
    if suffix == ".json":
        text = _dumps(plan_to_dict(problem, plan, kpis))
    else:
        text = _plan_csv(problem, plan)
    atomic_write_text(path, text)


def parse_plan(data: object, problem: Problem, source: str = "") -> Plan:
    """Decoded plan JSON -> :class:`Plan` for ``problem``; raises :class:`InputError`.

    Strict about structure (fields, types, totals agreeing with the stops) and lenient about
    ids: a stop or unassigned entry naming an unknown visit or agent is kept, for the checker.
    Times are read without bounds for the same reason.
    """
    if not isinstance(data, Mapping):
        raise InputError(f"a plan must be a JSON object, got {describe(data)}", source)
    version = data.get("format_version")
    if "format_version" in data and (version != FORMAT_VERSION or isinstance(version, bool)):
        message = f"unsupported format version {describe(version)}; this reader reads 1"
        raise InputError([InputIssue("format_version", message)], source)
    doc, _, field_issues = validate_item(schema.PlanDoc, data)
    issues = [InputIssue(_plan_where(data, p), m) for p, m in field_issues]
    raise_if(issues, source)  # nothing is built from a structurally broken plan
    assert doc is not None
    if doc.date != problem.date.isoformat():
        message = f"plan is for {doc.date} but the problem is for {problem.date}"
        issues.append(InputIssue("date", message))

    def seconds(text: str, where: str) -> int:
        try:
            return timefmt.seconds_of(text, problem.date, problem.timezone)
        except ValueError as exc:
            issues.append(InputIssue(where, str(exc)))
            return 0

    routes = []
    for r, route_doc in enumerate(doc.routes):
        where = f"routes[{r}] (agent {route_doc.agent_id!r})"
        stops = []
        for s, stop_doc in enumerate(route_doc.stops):
            at = f"{where}.stops[{s}] ({stop_doc.kind} {stop_doc.visit_id!r})"
            stop = Stop(
                visit_id=stop_doc.visit_id,
                arrival_s=seconds(stop_doc.arrival, f"{at}.arrival"),
                start_s=seconds(stop_doc.start, f"{at}.start"),
                departure_s=seconds(stop_doc.departure, f"{at}.departure"),
                travel_s=stop_doc.travel_s,
                distance_m=stop_doc.distance_m,
                kind=StopKind(stop_doc.kind),
                late_s=stop_doc.late_s,
                collects=tuple(stop_doc.collects),
            )
            if stop_doc.wait_s != stop.wait_s:
                message = f"is {stop_doc.wait_s} but start - arrival is {stop.wait_s}"
                issues.append(InputIssue(f"{at}.wait_s", message))
            stops.append(stop)
        breaks = tuple(
            BreakTaken(
                b.name,
                seconds(b.start, f"{where}.breaks[{i}].start"),
                seconds(b.end, f"{where}.breaks[{i}].end"),
            )
            for i, b in enumerate(route_doc.breaks)
        )
        route = Route(
            agent_id=route_doc.agent_id,
            start_s=seconds(route_doc.start, f"{where}.start"),
            stops=tuple(stops),
            end_s=seconds(route_doc.end, f"{where}.end"),
            end_travel_s=route_doc.end_travel_s,
            end_distance_m=route_doc.end_distance_m,
            breaks=breaks,
        )
        for name, derived in (
            ("travel_s", route.travel_s),
            ("distance_m", route.distance_m),
            ("working_s", route.working_s),
        ):
            written = getattr(route_doc, name)
            if written != derived:
                message = f"is {written} but the stops and the way back give {derived}"
                issues.append(InputIssue(f"{where}.{name}", message))
        routes.append(route)
    unassigned = tuple(Unassigned(u.visit_id, Reason(u.reason), u.message) for u in doc.unassigned)
    raise_if(issues, source)
    return Plan(tuple(routes), unassigned, MappingProxyType(dict(doc.solver)))


def _plan_where(data: Mapping[str, Any], path: str) -> str:
    """Name the route's agent in a structural issue's path, as for problem items."""
    match = re.match(r"^routes\[(\d+)\]", path)
    routes = data.get("routes")
    if match is None or not isinstance(routes, list):
        return path
    route = routes[int(match[1])]
    agent = route.get("agent_id") if isinstance(route, Mapping) else None
    if not isinstance(agent, str):
        return path
    return f"{match[0]} (agent {agent!r}){path[match.end() :]}"


def read_plan(path: Path, problem: Problem) -> Plan:
    """Read a plan JSON file written by :func:`write_plan`."""
    path = Path(path)
    _require_suffix(path, (".json",), "plan")
    return parse_plan(_read_json(path), problem, str(path))


# --------------------------------------------------------------------------------------------
# Writing


def _jsonable(value: object, where: str) -> Any:
    """Plain JSON values from what callers put in KPIs and solver facts.

    Mappings, sequences, enums, numpy scalars and dataclasses are converted; non-finite
    floats become null (JSON has no NaN). Anything else is a ``TypeError`` naming the field.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return _jsonable(value.value, where)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value), where)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "shape", None) == ():
        return _jsonable(item(), where)
    raise TypeError(f"{where}: cannot write a {type(value).__name__} as JSON")


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one.

    The text goes to a temporary file in the same folder (same file system), is flushed to
    disk, then renamed over ``path``; on any failure the temporary file is removed.
    Missing parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------------------------
# JSON Schemas


def schema_documents() -> dict[str, str]:
    """File name -> text of each published JSON Schema, generated from :mod:`dispatch.schema`."""
    out = {}
    for name, model in (("problem", schema.ProblemDoc), ("plan", schema.PlanDoc)):
        document = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            **model.model_json_schema(),
        }
        out[f"{name}.schema.json"] = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return out


def write_schemas(directory: Path) -> list[Path]:
    """(Re)generate ``problem.schema.json`` and ``plan.schema.json`` in ``directory``."""
    paths = []
    for name, text in schema_documents().items():
        path = Path(directory) / name
        atomic_write_text(path, text)
        paths.append(path)
    return paths
