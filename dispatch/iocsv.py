"""Problem input from CSV: the agents and visits files a booking system exports.

Each row becomes the same item a problem JSON holds and goes through the same checks
(:mod:`dispatch.iocheck`); issues name the file, line, id and CSV column, e.g.
``visits.csv line 4 (id 'V3').windows (slot 2 end)``. The columns are documented in
``docs/format.md``; the public readers are in :mod:`dispatch.io`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from dispatch import schema, timefmt
from dispatch.catalog import known_skills, load_catalog
from dispatch.errors import InputError, InputIssue
from dispatch.iocheck import (
    MAX_AGENTS,
    MAX_FILE_BYTES,
    MAX_VISITS,
    Checks,
    Context,
    DocT,
    ItemT,
    build_agent,
    build_items,
    build_visit,
    with_id,
)
from dispatch.model import Agent, Service, Visit

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
    model: type[DocT],
    build: Callable[[DocT, Context, Checks], ItemT | None],
    ctx: Context,
    issues: list[InputIssue],
) -> list[ItemT]:
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
        return with_id(f"{source} line {lines[index]}", raw)

    return build_items(raws, source, model, build, ctx, issues, where_of, _csv_column)


def csv_context(
    date: dt.date | None, timezone: str, catalog: tuple[Service, ...] | None
) -> Context:
    """Context for CSV rows; CSV problems have no offices, so visits cannot name one."""
    services = load_catalog() if catalog is None else catalog
    try:
        timefmt.zone(timezone)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    return Context(
        date,
        timezone,
        {s.code: s for s in services},
        known_skills(services),
        office_ids=frozenset(),
    )


def agents_from_csv(path: Path, ctx: Context, issues: list[InputIssue]) -> list[Agent]:
    return _read_csv_items(
        Path(path),
        AGENT_CSV_REQUIRED,
        AGENT_CSV_OPTIONAL,
        _agent_row,
        schema.AgentDoc,
        build_agent,
        ctx,
        issues,
    )


def visits_from_csv(path: Path, ctx: Context, issues: list[InputIssue]) -> list[Visit]:
    return _read_csv_items(
        Path(path),
        VISIT_CSV_REQUIRED,
        VISIT_CSV_OPTIONAL,
        _visit_row,
        schema.VisitDoc,
        build_visit,
        ctx,
        issues,
    )
