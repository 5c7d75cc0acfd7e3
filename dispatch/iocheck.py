"""Checking a document's items: readable issue paths, strict structure, then meaning.

:mod:`dispatch.io` (JSON) and :mod:`dispatch.iocsv` (CSV) share these checks so that a fault
reads the same wherever it comes from. Each item is validated on its own against its
:mod:`dispatch.schema` model, then checked for meaning (times, ids, codes, references) and built
into a domain object; every issue names the item and field, e.g.
``visits[3] (id 'V17').windows[0].end``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, PydanticUserError, TypeAdapter, ValidationError

from dispatch import schema, timefmt
from dispatch.errors import InputError, InputIssue
from dispatch.model import (
    DAY_S,
    Agent,
    Break,
    Location,
    Office,
    Priority,
    Service,
    TimeWindow,
    Visit,
    clash_message,
    clashing_breaks,
)

FORMAT_VERSION = schema.FORMAT_VERSION

# Payload limits: far above a district's day (a few thousand visits), low enough that a
# mistaken or hostile upload is refused before it costs minutes of validation.
MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_VISITS = 50_000
MAX_AGENTS = 5_000
# Beyond this many issues the rest are summarised in one line: nobody reads 50,000 of them.
MAX_ISSUES = 500

FieldIssue = tuple[str, str]  # (field path inside an item, message)


# --------------------------------------------------------------------------------------------
# Issue collection and readable paths


def join_where(where: str, path: str) -> str:
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


def describe(value: object) -> str:
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
    got = describe(error.get("input"))
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
            issues.append((path, f"{message}, got {describe(error.get('input'))}"))
        else:
            issues.append((path, _pydantic_message(error)))
    return issues


DocT = TypeVar("DocT", bound=BaseModel)
_STRICT = ConfigDict(strict=True)


@cache
def _field_adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    info = model.model_fields[name]
    annotated = Annotated[info.annotation, info]  # type: ignore[name-defined]
    try:
        return TypeAdapter(annotated, config=_STRICT)
    except PydanticUserError:  # models carry their own (strict) config
        return TypeAdapter(annotated)


def validate_item(
    model: type[DocT], raw: object
) -> tuple[DocT | None, frozenset[str], list[FieldIssue]]:
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


def with_id(where: str, raw: object) -> str:
    """Append `` (id 'V17')`` when the item has a usable id (or service code)."""
    if isinstance(raw, Mapping):
        ident = raw.get("id", raw.get("code"))
        if isinstance(ident, str) and ident.strip():
            return f"{where} (id {ident!r})"
    return where


def item_where(collection: str, index: int, raw: object) -> str:
    """``visits[3] (id 'V17')``: position always, id when the item has a usable one."""
    return with_id(f"{collection}[{index}]", raw)


def raise_if(issues: list[InputIssue], source: str) -> None:
    if not issues:
        return
    if len(issues) > MAX_ISSUES:
        rest = len(issues) - MAX_ISSUES
        issues = [*issues[:MAX_ISSUES], InputIssue("", f"... and {rest} more issues")]
    raise InputError(issues, source)


# --------------------------------------------------------------------------------------------
# Semantic checks shared by JSON and CSV input


@dataclass(frozen=True)
class Context:
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


class Checks:
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


def _time(text: str, path: str, ctx: Context, checks: Checks) -> int | None:
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
    doc: schema.WindowDoc, path: str, what: str, ctx: Context, checks: Checks
) -> TimeWindow | None:
    start_s = _time(doc.start, f"{path}.start", ctx, checks)
    end_s = _time(doc.end, f"{path}.end", ctx, checks)
    if start_s is None or end_s is None:
        return None
    if end_s < start_s:
        checks.add(f"{path}.end", f"{what} ends ({doc.end}) before it starts ({doc.start})")
        return None
    return TimeWindow(start_s, end_s)


def _check_id(ident: str, checks: Checks) -> None:
    if not ident.strip():
        checks.add("id", "must not be empty")
    elif ident != ident.strip():
        checks.add("id", f"has leading or trailing spaces: {ident!r}")


def _check_skills(skills: Sequence[str], path: str, ctx: Context, checks: Checks) -> None:
    for i, skill in enumerate(skills):
        if skill not in ctx.skills:
            hint = _suggest(skill, ctx.skills)
            checks.add(f"{path}[{i}]", f"unknown skill code {skill!r}{hint}")


def _check_quantities(values: Mapping[str, int], path: str, checks: Checks) -> None:
    if any(not key.strip() for key in values):
        checks.add(path, "quantity names must not be empty")


def _check_ref(
    value: str | None, path: str, known: frozenset[str] | None, what: str, checks: Checks
) -> None:
    if value is not None and known is not None and value not in known:
        checks.add(path, f"unknown {what} id {value!r}{_suggest(value, known)}")


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def minutes_to_s(minutes: float) -> int:
    return round(minutes * 60)


def build_agent(doc: schema.AgentDoc, ctx: Context, checks: Checks) -> Agent | None:
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
                breaks.append(Break(item.name, minutes_to_s(item.duration_min), window))
            shift_s = None if shift is None else shift.end_s - shift.start_s
            if shift_s is not None and minutes_to_s(item.duration_min) > shift_s:
                checks.add(
                    f"breaks[{i}].duration_min",
                    f"break of {item.duration_min:g} min is longer than the shift "
                    f"({shift_s / 3600:g} h)",
                )
    clash = clashing_breaks(breaks)
    if clash:
        checks.add("breaks", clash_message(clash))
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


def build_visit(doc: schema.VisitDoc, ctx: Context, checks: Checks) -> Visit | None:
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
        duration_s = minutes_to_s(doc.duration_min)
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
        max_late_s=minutes_to_s(doc.max_late_min),
        late_cost_per_min=doc.late_cost_per_min,
        pickup_office=doc.pickup_office,
        preferred_agent=doc.preferred_agent,
        required_agent=doc.required_agent,
    )


def build_office(doc: schema.OfficeDoc, ctx: Context, checks: Checks) -> Office | None:
    if checks.ok("id"):
        _check_id(doc.id, checks)
    opening = None
    if checks.ok("opening"):
        opening = _interval(doc.opening, "opening", "opening", ctx, checks)
    if not checks.clean or opening is None:
        return None
    location = Location(doc.location.lat, doc.location.lon)
    return Office(doc.id, doc.name or doc.id, location, opening, minutes_to_s(doc.pickup_min))


ItemT = TypeVar("ItemT", Agent, Visit, Office)


def build_items(
    raws: Sequence[object],
    collection: str,
    model: type[DocT],
    build: Callable[[DocT, Context, Checks], ItemT | None],
    ctx: Context,
    issues: list[InputIssue],
    where_of: Callable[[int, object], str] | None = None,
    rename: Callable[[str], str] = lambda path: path,
) -> list[ItemT]:
    """Validate and build every item, reporting each issue under the item's name."""
    built: list[ItemT] = []
    first_seen: dict[str, str] = {}
    for index, raw in enumerate(raws):
        where = where_of(index, raw) if where_of else item_where(collection, index, raw)
        doc, bad, item_issues = validate_item(model, raw)
        checks = Checks(bad, item_issues)
        item = None if doc is None else build(doc, ctx, checks)
        ident = raw.get("id") if isinstance(raw, Mapping) else None
        if isinstance(ident, str) and ident.strip():
            if ident in first_seen:
                checks.add("id", f"duplicate id {ident!r} (first at {first_seen[ident]})")
                item = None
            else:
                first_seen[ident] = where.split(" (id")[0]
        issues.extend(InputIssue(join_where(where, rename(p)), m) for p, m in item_issues)
        if item is not None:
            built.append(item)
    return built


def raw_ids(raws: object) -> frozenset[str]:
    """The string ids of a raw item list, valid items or not (for reference checks)."""
    if not isinstance(raws, list):
        return frozenset()
    return frozenset(
        r["id"] for r in raws if isinstance(r, Mapping) and isinstance(r.get("id"), str)
    )


def demand_issues(agents: Sequence[Agent], visits: Sequence[Visit]) -> list[InputIssue]:
    """A visit's demand on a quantity no agent carries can never be met: name each one.

    ``visits`` must be the whole list in file order, so positions name the right items.
    """
    carried = {name for agent in agents for name in agent.capacities}
    return [
        InputIssue(
            f"visits[{i}] (id {visit.id!r}).demand.{name}",
            f"no agent carries a capacity named {name!r}"
            + (f" (agents carry: {', '.join(sorted(carried))})" if carried else ""),
        )
        for i, visit in enumerate(visits)
        for name, amount in sorted(visit.demand.items())
        if amount > 0 and name not in carried
    ]
