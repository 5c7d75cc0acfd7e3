"""The service catalog: which skill each service needs and how long it takes on site.

Operations staff edit ``data/services.csv`` (columns ``code,name,skill,duration_min,department``;
an empty ``skill`` means any agent may serve it). The solver never reads it: ``io`` loads the
catalog once and embeds it in the :class:`dispatch.model.Problem`.
"""

from __future__ import annotations

import csv
import math
import os
import re
from pathlib import Path

from dispatch.errors import InputError, InputIssue
from dispatch.model import Service

CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_DURATION_MIN = 8 * 60

# Skills that no service needs but a visit may ask for (a household asking for a woman agent).
EXTRA_SKILLS: frozenset[str] = frozenset({"female"})


def data_dir() -> Path:
    """The folder of bundled data; ``DISPATCH_DATA_DIR`` overrides it."""
    override = os.environ.get("DISPATCH_DATA_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "data"


def default_catalog_path() -> Path:
    return data_dir() / "services.csv"


def load_catalog(path: Path | None = None) -> tuple[Service, ...]:
    """Read and validate a catalog CSV; every bad row is reported at once."""
    path = default_catalog_path() if path is None else path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read service catalog: {exc.strerror}", str(path)) from exc
    reader = csv.DictReader(text.splitlines())
    missing = {"code", "name", "skill", "duration_min"} - set(reader.fieldnames or [])
    if missing:
        raise InputError(f"missing columns: {', '.join(sorted(missing))}", str(path))
    services: list[Service] = []
    issues: list[InputIssue] = []
    seen: set[str] = set()
    for line_no, row in enumerate(reader, start=2):
        where = f"line {line_no}"
        code = (row.get("code") or "").strip()
        if not CODE_RE.match(code):
            issues.append(InputIssue(f"{where}.code", f"invalid service code {code!r}"))
            continue
        where = f"line {line_no} ({code})"
        if code in seen:
            issues.append(InputIssue(f"{where}.code", "duplicate service code"))
            continue
        seen.add(code)
        skill = (row.get("skill") or "").strip() or None
        if skill is not None and not CODE_RE.match(skill):
            issues.append(InputIssue(f"{where}.skill", f"invalid skill code {skill!r}"))
        try:
            minutes = float(row.get("duration_min") or "")
        except ValueError:
            minutes = math.nan
        if not (0 < minutes <= MAX_DURATION_MIN):
            issues.append(
                InputIssue(
                    f"{where}.duration_min",
                    f"must be a number of minutes in (0, {MAX_DURATION_MIN}], "
                    f"got {row.get('duration_min')!r}",
                )
            )
            continue
        name = (row.get("name") or "").strip() or code
        services.append(Service(code, name, skill, round(minutes * 60)))
    if issues:
        raise InputError(issues, str(path))
    return tuple(services)


def known_skills(services: tuple[Service, ...]) -> frozenset[str]:
    """Every skill an input may name: those the services need plus :data:`EXTRA_SKILLS`."""
    return frozenset(s.skill for s in services if s.skill is not None) | EXTRA_SKILLS
