"""The only readers and writers of problem and plan files (JSON and CSV).

Reading is two steps: :mod:`dispatch.schema` checks the structure of each item, then this module
checks meaning (times, ids, service and skill codes, cross-field rules) and builds the frozen
domain objects. Every issue in the input is collected and raised at once as one
:class:`~dispatch.errors.InputError` whose entries name the item and field, e.g.
``visits[3] (id 'V17').windows[0].end``. Writing always goes through
:func:`atomic_write_text`, so an output file is either complete or untouched.

The formats are documented in ``docs/format.md``; JSON Schemas generated from the models live
in ``docs/schema/``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import difflib
import enum
import io
import json
import math
import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, PydanticUserError, TypeAdapter, ValidationError

from dispatch import schema, timefmt
from dispatch.catalog import CODE_RE, known_skills, load_catalog
from dispatch.errors import InputError, InputIssue
from dispatch.geo.congestion import PUNJAB_CONGESTION
from dispatch.geo.matrix import CongestionProfile
from dispatch.geo.provider import TravelSpec
from dispatch.model import (
    DAY_S,
    DEFAULT_TIMEZONE,
    Agent,
    Break,
    Location,
    Office,
    Priority,
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

FORMAT_VERSION = schema.FORMAT_VERSION

# Payload limits: far above a district's day (a few thousand visits), low enough that a
# mistaken or hostile upload is refused before it costs minutes of validation.
MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_VISITS = 50_000
MAX_AGENTS = 5_000
# Beyond this many issues the rest are summarised in one line: nobody reads 50,000 of them.
MAX_ISSUES = 500

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
AGENT_CSV_REQUIRED: tuple[str, ...] = (
    "id",
    "start_lat",
    "start_lon",
    "shift_start",
    "shift_end",
)
AGENT_CSV_OPTIONAL: tuple[str, ...] = (
    "end_lat",
    "end_lon",
    "skills",
    "max_visits",
    "speed_factor",
    "capacities",
)
VISIT_CSV_REQUIRED: tuple[str, ...] = ("id", "lat", "lon", "service", "windows")
VISIT_CSV_OPTIONAL: tuple[str, ...] = (
    "priority",
    "extra_skills",
    "duration_min",
    "duration_s",
    "required",
    "demand",
    "max_late_min",
    "late_cost_per_min",
    "preferred_agent",
    "required_agent",
)


@dataclass(frozen=True)
class ProblemInput:
    """What a problem file holds: the problem and how its travel times are to be obtained."""

    problem: Problem
    travel: TravelSpec


# --------------------------------------------------------------------------------------------
# Issue collection and readable paths


FieldIssue = tuple[str, str]  # (field path inside an item, message)


def _join(where: str, path: str) -> str:
    if not path:
        return where
    if not where:
        return path.lstrip(".")
    return where + (path if path.startswith("[") else "." + path.lstrip("."))


def _loc_path(loc: Sequence[int | str]) -> str:
    """('windows', 0, 'end') -> 'windows[0].end'; union-branch tags are dropped."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            text += f".{part}" if text else part
        elif "[" in part or "'" in part:  # a union member's tag, e.g. "literal['default']"
            continue
        else:  # a free-form mapping key
            text += f"[{part!r}]"
    return text


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37] + "...")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


_UNION_MESSAGES = {
    "congestion": "must be 'default' or a list of 24 hourly multipliers, each a number >= 1",
}


def _pydantic_message(error: Mapping[str, Any]) -> str:
    """A plain sentence for one pydantic error (types in JSON terms, limits as numbers)."""
    kind = error["type"]
    got = _describe(error.get("input"))
    ctx = error.get("ctx") or {}
    simple = {
        "missing": "missing required field",
        "extra_forbidden": f"unknown field (not part of format version {FORMAT_VERSION})",
        "string_type": f"must be a string, got {got}",
        "float_type": f"must be a number, got {got}",
        "int_type": f"must be a whole number, got {got}",
        "bool_type": f"must be true or false, got {got}",
        "list_type": f"must be a list, got {got}",
        "dict_type": f"must be an object, got {got}",
        "model_type": f"must be an object, got {got}",
        "model_attributes_type": f"must be an object, got {got}",
        "finite_number": f"must be a finite number, got {got}",
        "none_required": f"must be null, got {got}",
    }
    if kind in simple:
        return simple[kind]
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, got {got}"
    bounds = {
        "greater_than": "greater than",
        "greater_than_equal": "at least",
        "less_than": "less than",
        "less_than_equal": "at most",
    }
    if kind in bounds:
        limit = next(iter(ctx.values()), "?")
        return f"must be {bounds[kind]} {limit}, got {got}"
    if kind == "too_short" and error["loc"][-1:] == ("windows",):
        return "a visit needs at least one time window"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s), got {ctx.get('actual_length')}"
    if kind == "too_long":
        return f"allows at most {ctx.get('max_length')} item(s), got {ctx.get('actual_length')}"
    return str(error.get("msg", kind))


def _validation_issues(exc: ValidationError) -> list[FieldIssue]:
    """Pydantic errors as (path, message); a failed union gives one issue, not one per branch."""
    issues: list[FieldIssue] = []
    seen_unions: set[str] = set()
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        path = _loc_path(loc)
        is_union = any(isinstance(p, str) and ("[" in p or "'" in p) for p in loc)
        if is_union:
            if path in seen_unions:
                continue
            seen_unions.add(path)
            field = path.rsplit(".", 1)[-1]
            message = _UNION_MESSAGES.get(field, "has none of the allowed forms")
            issues.append((path, f"{message}, got {_describe(error.get('input'))}"))
        else:
            issues.append((path, _pydantic_message(error)))
    return issues


_M = TypeVar("_M", bound=BaseModel)
_STRICT = ConfigDict(strict=True)


@cache
def _field_adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    info = model.model_fields[name]
    annotated = Annotated[info.annotation, info]  # type: ignore[name-defined]
    try:
        return TypeAdapter(annotated, config=_STRICT)
    except PydanticUserError:  # models carry their own (strict) config
        return TypeAdapter(annotated)


def _validate(model: type[_M], raw: object) -> tuple[_M | None, frozenset[str], list[FieldIssue]]:
    """Validate one item; on failure, still return its valid fields.

    Returns the document (built from the fields that passed when others failed), the names of
    the top-level fields that failed, and the issues. Semantic checks then run on every field
    that passed, so one wrong type does not hide a wrong time elsewhere in the same item.
    """
    try:
        return model.model_validate(raw), frozenset(), []
    except ValidationError as exc:
        issues = _validation_issues(exc)
        errors = exc.errors(include_url=False)
    if not isinstance(raw, Mapping) or any(not e["loc"] for e in errors):
        return None, frozenset(), issues
    bad = {str(e["loc"][0]) for e in errors}
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in bad:
            continue
        if name in raw:
            try:
                values[name] = _field_adapter(model, name).validate_python(raw[name])
            except ValidationError:  # pragma: no cover - the whole-model pass reported it
                bad.add(name)
        elif not info.is_required():
            values[name] = info.get_default(call_default_factory=True)
    return model.model_construct(**values), frozenset(bad), issues


def _with_id(where: str, raw: object) -> str:
    """Append `` (id 'V17')`` when the item has a usable id (or service code)."""
    if isinstance(raw, Mapping):
        ident = raw.get("id", raw.get("code"))
        if isinstance(ident, str) and ident.strip():
            return f"{where} (id {ident!r})"
    return where


def _item_where(collection: str, index: int, raw: object) -> str:
    """``visits[3] (id 'V17')``: position always, id when the item has a usable one."""
    return _with_id(f"{collection}[{index}]", raw)


def _raise_if(issues: list[InputIssue], source: str) -> None:
    if not issues:
        return
    if len(issues) > MAX_ISSUES:
        rest = len(issues) - MAX_ISSUES
        issues = [*issues[:MAX_ISSUES], InputIssue("", f"... and {rest} more issues")]
    raise InputError(issues, source)


# --------------------------------------------------------------------------------------------
# Semantic checks shared by JSON and CSV input


@dataclass(frozen=True)
class _Context:
    """What item checks need.

    ``date`` is None when the document's date is unusable (only clock times are then read);
    ``agent_ids`` / ``office_ids`` are None when references cannot be checked (a visits CSV
    read on its own).
    """

    date: dt.date | None
    timezone: str
    services: Mapping[str, Service]
    skills: frozenset[str]
    agent_ids: frozenset[str] | None = None
    office_ids: frozenset[str] | None = None


class _Checks:
    """Issues of one item, as (field path, message), and whether any field was bad."""

    def __init__(self, bad: frozenset[str], issues: list[FieldIssue]) -> None:
        self.bad = bad
        self.issues = issues

    def ok(self, name: str) -> bool:
        """Whether field ``name`` passed the structural check (so its meaning can be checked)."""
        return name not in self.bad

    def add(self, path: str, message: str) -> None:
        self.issues.append((path, message))

    @property
    def clean(self) -> bool:
        return not self.bad and not self.issues


def _time(text: str, path: str, ctx: _Context, checks: _Checks) -> int | None:
    if ctx.date is None and not timefmt.is_clock(text):
        checks.add(path, "a datetime needs a valid plan date to be read")
        return None
    try:
        if ctx.date is None:
            return timefmt.parse_clock_s(text)
        return timefmt.parse_time_s(text, ctx.date, ctx.timezone)
    except ValueError as exc:
        checks.add(path, str(exc))
        return None


def _interval(
    doc: schema.WindowDoc, path: str, what: str, ctx: _Context, checks: _Checks
) -> TimeWindow | None:
    start_s = _time(doc.start, f"{path}.start", ctx, checks)
    end_s = _time(doc.end, f"{path}.end", ctx, checks)
    if start_s is None or end_s is None:
        return None
    if end_s < start_s:
        checks.add(f"{path}.end", f"{what} ends ({doc.end}) before it starts ({doc.start})")
        return None
    return TimeWindow(start_s, end_s)


def _check_id(ident: str, checks: _Checks) -> None:
    if not ident.strip():
        checks.add("id", "must not be empty")
    elif ident != ident.strip():
        checks.add("id", f"has leading or trailing spaces: {ident!r}")


def _check_skills(skills: Sequence[str], path: str, ctx: _Context, checks: _Checks) -> None:
    for i, skill in enumerate(skills):
        if skill not in ctx.skills:
            hint = _suggest(skill, ctx.skills)
            checks.add(f"{path}[{i}]", f"unknown skill code {skill!r}{hint}")


def _check_quantities(values: Mapping[str, int], path: str, checks: _Checks) -> None:
    if any(not key.strip() for key in values):
        checks.add(path, "quantity names must not be empty")


def _check_ref(
    value: str | None, path: str, known: frozenset[str] | None, what: str, checks: _Checks
) -> None:
    if value is not None and known is not None and value not in known:
        checks.add(path, f"unknown {what} id {value!r}{_suggest(value, known)}")


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _minutes_s(minutes: float) -> int:
    return round(minutes * 60)


def _agent(doc: schema.AgentDoc, ctx: _Context, checks: _Checks) -> Agent | None:
    if checks.ok("id"):
        _check_id(doc.id, checks)
    if checks.ok("skills"):
        _check_skills(doc.skills, "skills", ctx, checks)
    shift = None
    if checks.ok("shift"):
        shift = _interval(doc.shift, "shift", "shift", ctx, checks)
        if shift is not None and shift.end_s - shift.start_s > DAY_S:
            hours = (shift.end_s - shift.start_s) / 3600
            checks.add("shift.end", f"shift lasts {hours:g} h, more than 24 h")
    if checks.ok("capacities"):
        _check_quantities(doc.capacities, "capacities", checks)
    breaks: list[Break] = []
    if checks.ok("breaks"):
        for i, item in enumerate(doc.breaks):
            window = _interval(item.window, f"breaks[{i}].window", "break window", ctx, checks)
            if window is not None:
                breaks.append(Break(item.name, _minutes_s(item.duration_min), window))
    if not checks.clean or shift is None:
        return None
    return Agent(
        id=doc.id,
        start=Location(doc.start.lat, doc.start.lon),
        shift=shift,
        skills=frozenset(doc.skills),
        end=None if doc.end is None else Location(doc.end.lat, doc.end.lon),
        max_visits=doc.max_visits,
        speed_factor=doc.speed_factor,
        capacities=MappingProxyType(dict(doc.capacities)),
        breaks=tuple(breaks),
    )


def _visit(doc: schema.VisitDoc, ctx: _Context, checks: _Checks) -> Visit | None:
    if checks.ok("id"):
        _check_id(doc.id, checks)
    if checks.ok("service") and doc.service not in ctx.services:
        hint = _suggest(doc.service, ctx.services)
        checks.add("service", f"unknown service code {doc.service!r}{hint}")
    if checks.ok("extra_skills"):
        _check_skills(doc.extra_skills, "extra_skills", ctx, checks)
    windows: list[TimeWindow | None] = []
    if checks.ok("windows"):
        windows = [
            _interval(w, f"windows[{i}]", "window", ctx, checks) for i, w in enumerate(doc.windows)
        ]
    duration_s = doc.duration_s if checks.ok("duration_s") else None
    if checks.ok("duration_min") and doc.duration_min is not None:
        if doc.duration_s is not None:
            checks.add("duration_s", "give duration_min or duration_s, not both")
        duration_s = _minutes_s(doc.duration_min)
    if checks.ok("demand"):
        _check_quantities(doc.demand, "demand", checks)
    for name in ("preferred_agent", "required_agent"):
        if checks.ok(name):
            _check_ref(getattr(doc, name), name, ctx.agent_ids, "agent", checks)
    if checks.ok("pickup_office"):
        _check_ref(doc.pickup_office, "pickup_office", ctx.office_ids, "office", checks)
    if not checks.clean:
        return None
    return Visit(
        id=doc.id,
        location=Location(doc.location.lat, doc.location.lon),
        service=doc.service,
        windows=tuple(w for w in windows if w is not None),
        priority=Priority(doc.priority),
        extra_skills=frozenset(doc.extra_skills),
        duration_s=duration_s,
        required=doc.required,
        demand=MappingProxyType(dict(doc.demand)),
        max_late_s=_minutes_s(doc.max_late_min),
        late_cost_per_min=doc.late_cost_per_min,
        pickup_office=doc.pickup_office,
        preferred_agent=doc.preferred_agent,
        required_agent=doc.required_agent,
    )


def _office(doc: schema.OfficeDoc, ctx: _Context, checks: _Checks) -> Office | None:
    if checks.ok("id"):
        _check_id(doc.id, checks)
    opening = None
    if checks.ok("opening"):
        opening = _interval(doc.opening, "opening", "opening", ctx, checks)
    if not checks.clean or opening is None:
        return None
    location = Location(doc.location.lat, doc.location.lon)
    return Office(doc.id, doc.name or doc.id, location, opening, _minutes_s(doc.pickup_min))


_Item = TypeVar("_Item", Agent, Visit, Office)


def _items(
    raws: Sequence[object],
    collection: str,
    model: type[_M],
    build: Callable[[_M, _Context, _Checks], _Item | None],
    ctx: _Context,
    issues: list[InputIssue],
    where_of: Callable[[int, object], str] | None = None,
    rename: Callable[[str], str] = lambda path: path,
) -> list[_Item]:
    """Validate and build every item, reporting each issue under the item's name."""
    built: list[_Item] = []
    first_seen: dict[str, str] = {}
    for index, raw in enumerate(raws):
        where = where_of(index, raw) if where_of else _item_where(collection, index, raw)
        doc, bad, item_issues = _validate(model, raw)
        checks = _Checks(bad, item_issues)
        item = None if doc is None else build(doc, ctx, checks)
        ident = raw.get("id") if isinstance(raw, Mapping) else None
        if isinstance(ident, str) and ident.strip():
            if ident in first_seen:
                checks.add("id", f"duplicate id {ident!r} (first at {first_seen[ident]})")
                item = None
            else:
                first_seen[ident] = where.split(" (id")[0]
        issues.extend(InputIssue(_join(where, rename(p)), m) for p, m in item_issues)
        if item is not None:
            built.append(item)
    return built


def _raw_ids(raws: object) -> frozenset[str]:
    """The string ids of a raw item list, valid items or not (for reference checks)."""
    if not isinstance(raws, list):
        return frozenset()
    return frozenset(
        r["id"] for r in raws if isinstance(r, Mapping) and isinstance(r.get("id"), str)
    )


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
        where = _item_where("services", index, raw)
        doc, bad, item_issues = _validate(schema.ServiceDoc, raw)
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
        issues.extend(InputIssue(_join(where, p), m) for p, m in item_issues)
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
        raise InputError(f"a problem must be a JSON object, got {_describe(data)}", source)
    version = data.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        message = (
            "missing required field"
            if "format_version" not in data
            else f"unsupported format version {_describe(version)}; this reader reads "
            f"{FORMAT_VERSION}"
        )
        raise InputError([InputIssue("format_version", message)], source)
    issues: list[InputIssue] = []
    _limits(data, issues)
    _raise_if(issues, source)

    # Top level first, with the item lists emptied: items are checked one by one below so
    # that one bad item does not hide the others.
    lists = ("agents", "visits", "offices", "services")
    top_raw = {k: ([] if k in lists and isinstance(v, list) else v) for k, v in data.items()}
    top, bad, top_issues = _validate(schema.ProblemDoc, top_raw)
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
    ctx = _Context(
        date,
        timezone,
        {s.code: s for s in services},
        known_skills(services),
        agent_ids=_raw_ids(data.get("agents")),
        office_ids=_raw_ids(data.get("offices")),
    )
    agents = _items(_list(data, "agents"), "agents", schema.AgentDoc, _agent, ctx, issues)
    visits = _items(_list(data, "visits"), "visits", schema.VisitDoc, _visit, ctx, issues)
    offices = _items(_list(data, "offices"), "offices", schema.OfficeDoc, _office, ctx, issues)
    travel = _travel(top.travel if top is not None and "travel" not in bad else None, issues)
    _raise_if(issues, source)
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
    """Seconds as minutes for a file: a whole number when exact (``_minutes_s`` inverts it)."""
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


def _split_list(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _number(cell: str, kind: type[int] | type[float]) -> object:
    """The cell as a number when it is one; else the text, which validation then reports."""
    try:
        return kind(cell)
    except ValueError:
        return cell


def _quantities(cell: str) -> object:
    """``documents=30;cash=5000`` -> a dict; malformed parts are left for validation."""
    out: dict[str, object] = {}
    for part in _split_list(cell):
        key, sep, value = part.partition("=")
        out[key.strip()] = _number(value.strip(), int) if sep else value
    return out


_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False, "": False}


def _windows(cell: str) -> object:
    """``09:00-11:00;14:00-16:00``; datetimes use ``/`` between start and end."""
    windows: list[object] = []
    for part in _split_list(cell):
        start, sep, end = part.partition("/") if "/" in part else part.partition("-")
        if not sep or not start.strip() or not end.strip():
            return cell  # reported as the wrong type by validation
        windows.append({"start": start.strip(), "end": end.strip()})
    return windows


def _agent_row(row: Mapping[str, str]) -> dict[str, object]:
    raw: dict[str, object] = {
        "id": row["id"],
        "start": {"lat": _number(row["start_lat"], float), "lon": _number(row["start_lon"], float)},
        "shift": {"start": row["shift_start"], "end": row["shift_end"]},
        "skills": _split_list(row.get("skills", "")),
    }
    if row.get("end_lat") or row.get("end_lon"):
        raw["end"] = {
            "lat": _number(row.get("end_lat", ""), float),
            "lon": _number(row.get("end_lon", ""), float),
        }
    if row.get("max_visits"):
        raw["max_visits"] = _number(row["max_visits"], int)
    if row.get("speed_factor"):
        raw["speed_factor"] = _number(row["speed_factor"], float)
    if row.get("capacities"):
        raw["capacities"] = _quantities(row["capacities"])
    return raw


def _visit_row(row: Mapping[str, str]) -> dict[str, object]:
    raw: dict[str, object] = {
        "id": row["id"],
        "location": {"lat": _number(row["lat"], float), "lon": _number(row["lon"], float)},
        "service": row["service"],
        "windows": _windows(row["windows"]),
        "extra_skills": _split_list(row.get("extra_skills", "")),
    }
    if row.get("priority"):
        raw["priority"] = row["priority"].lower()
    numbers: tuple[tuple[str, type[int] | type[float]], ...] = (
        ("duration_min", float),
        ("duration_s", int),
        ("max_late_min", float),
        ("late_cost_per_min", int),
    )
    for key, kind in numbers:
        if row.get(key):
            raw[key] = _number(row[key], kind)
    for key in ("preferred_agent", "required_agent"):
        if row.get(key):
            raw[key] = row[key]
    required = row.get("required", "").lower()
    raw["required"] = _BOOLS.get(required, row.get("required"))
    if row.get("demand"):
        raw["demand"] = _quantities(row["demand"])
    return raw


_CSV_RENAMES: tuple[tuple[str, str], ...] = (
    (r"^start\.(lat|lon)$", r"start_\1"),
    (r"^end\.(lat|lon)$", r"end_\1"),
    (r"^end$", "end_lat"),
    (r"^shift\.(start|end)$", r"shift_\1"),
    (r"^location\.(lat|lon)$", r"\1"),
    (r"^(skills|extra_skills)\[\d+\]$", r"\1"),
    (r"^(capacities|demand)\b.*$", r"\1"),
    (r"^windows\[(\d+)\]\.(start|end)$", r"windows (slot \1 \2)"),
    (r"^windows\[(\d+)\]$", r"windows (slot \1)"),
)


def _csv_column(path: str) -> str:
    """An item field path as the CSV column that holds it (slots counted from 1)."""
    for pattern, repl in _CSV_RENAMES:
        if re.match(pattern, path):
            renamed = re.sub(pattern, repl, path)
            return re.sub(r"slot (\d+)", lambda m: f"slot {int(m[1]) + 1}", renamed)
    return path


def _read_csv_items(
    path: Path,
    required: tuple[str, ...],
    optional: tuple[str, ...],
    to_raw: Callable[[Mapping[str, str]], dict[str, object]],
    model: type[_M],
    build: Callable[[_M, _Context, _Checks], _Item | None],
    ctx: _Context,
    issues: list[InputIssue],
) -> list[_Item]:
    source = path.name
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            issues.append(InputIssue(source, f"file is larger than {MAX_FILE_BYTES // 10**6} MB"))
            return []
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        issues.append(InputIssue(source, f"cannot read file: {exc.strerror or exc}"))
        return []
    except UnicodeDecodeError as exc:
        issues.append(InputIssue(source, f"not UTF-8 text (byte {exc.start})"))
        return []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in required if c not in columns]
    unknown = [c for c in columns if c not in required and c not in optional]
    if missing:
        issues.append(InputIssue(source, f"missing column(s): {', '.join(missing)}"))
    if unknown:
        allowed = ", ".join((*required, *optional))
        issues.append(InputIssue(source, f"unknown column(s): {', '.join(unknown)} ({allowed})"))
    if missing or unknown:
        return []
    raws: list[dict[str, object]] = []
    lines: list[int] = []
    for row in reader:
        if None in row:
            issues.append(InputIssue(f"{source} line {reader.line_num}", "too many cells"))
            continue
        cells = {k.strip(): (v or "").strip() for k, v in row.items()}
        if not any(cells.values()):
            continue  # blank line
        raws.append(to_raw(cells))
        lines.append(reader.line_num)
    limit = MAX_AGENTS if model is schema.AgentDoc else MAX_VISITS
    if len(raws) > limit:
        issues.append(InputIssue(source, f"{len(raws)} rows is more than the limit of {limit}"))
        return []

    def where_of(index: int, raw: object) -> str:
        return _with_id(f"{source} line {lines[index]}", raw)

    return _items(raws, source, model, build, ctx, issues, where_of, _csv_column)


def _csv_context(
    date: dt.date | None, timezone: str, catalog: tuple[Service, ...] | None
) -> _Context:
    """Context for CSV rows; CSV problems have no offices, so visits cannot name one."""
    services = load_catalog() if catalog is None else catalog
    try:
        timefmt.zone(timezone)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    return _Context(
        date,
        timezone,
        {s.code: s for s in services},
        known_skills(services),
        office_ids=frozenset(),
    )


def _agents_csv(path: Path, ctx: _Context, issues: list[InputIssue]) -> list[Agent]:
    return _read_csv_items(
        Path(path),
        AGENT_CSV_REQUIRED,
        AGENT_CSV_OPTIONAL,
        _agent_row,
        schema.AgentDoc,
        _agent,
        ctx,
        issues,
    )


def _visits_csv(path: Path, ctx: _Context, issues: list[InputIssue]) -> list[Visit]:
    return _read_csv_items(
        Path(path),
        VISIT_CSV_REQUIRED,
        VISIT_CSV_OPTIONAL,
        _visit_row,
        schema.VisitDoc,
        _visit,
        ctx,
        issues,
    )


def read_agents_csv(
    path: Path,
    *,
    date: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    catalog: tuple[Service, ...] | None = None,
) -> tuple[Agent, ...]:
    """Agents from CSV (columns in ``docs/format.md``); datetimes in cells need ``date``."""
    issues: list[InputIssue] = []
    agents = _agents_csv(path, _csv_context(date, timezone, catalog), issues)
    _raise_if(issues, str(path))
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
    visits = _visits_csv(path, _csv_context(date, timezone, catalog), issues)
    _raise_if(issues, str(path))
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
    ctx = _csv_context(date, DEFAULT_TIMEZONE, services)
    issues: list[InputIssue] = []
    agents = _agents_csv(agents_csv, ctx, issues)
    # Agent references are checked only against a clean agents file: a visit naming an agent
    # whose row is broken should not get a second, misleading issue.
    agent_ids = None if issues else frozenset(a.id for a in agents)
    visits = _visits_csv(visits_csv, dataclasses.replace(ctx, agent_ids=agent_ids), issues)
    _raise_if(issues, f"{agents_csv}, {visits_csv}")
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
        raise InputError(f"a plan must be a JSON object, got {_describe(data)}", source)
    version = data.get("format_version")
    if "format_version" in data and (version != FORMAT_VERSION or isinstance(version, bool)):
        message = f"unsupported format version {_describe(version)}; this reader reads 1"
        raise InputError([InputIssue("format_version", message)], source)
    doc, _, field_issues = _validate(schema.PlanDoc, data)
    issues = [InputIssue(_plan_where(data, p), m) for p, m in field_issues]
    _raise_if(issues, source)  # nothing is built from a structurally broken plan
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
    _raise_if(issues, source)
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
