"""Synthetic district benchmark: generate, solve and check days of growing size.

For each size (default 100, 300 and 1000 visits, with 8, 20 and 60 agents) this generates a
Lahore-like day with :func:`dispatch.synth.generate`, solves it with the haversine travel
matrix under a time limit, runs the independent checker, prints one table row, and writes
every row as JSON (default ``benchmarks/results/districts.json``, git-ignored).

Usage::

    python benchmarks/districts.py [--sizes 100,300,1000] [--seed 0] [--time-limit 30]
                                   [--solution-limit N] [--out PATH]

Wall times depend on the machine and on what else runs on it; compare runs made side by side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from dispatch.check import check_plan
from dispatch.geo.provider import TravelSpec, make_provider
from dispatch.io import atomic_write_text
from dispatch.kpis import compute_kpis
from dispatch.model import Priority
from dispatch.solver import solve
from dispatch.synth import generate

AGENTS_FOR_SIZE: dict[int, int] = {100: 8, 300: 20, 1000: 60}
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "districts.json"


def agents_for(n_visits: int) -> int:
    """The agent count used for a size: the table above, else about 16 visits per agent."""
    return AGENTS_FOR_SIZE.get(n_visits, max(1, round(n_visits / 16)))


def _count(mapping: Any, priority: Priority) -> int:
    for key, value in dict(mapping).items():
        if str(key) == priority.value or getattr(key, "value", None) == priority.value:
            return int(value)
    return 0


def run_size(
    n_visits: int, seed: int, time_limit_s: float, solution_limit: int | None
) -> dict[str, Any]:
    """Generate, solve and check one district; returns the row for the table and JSON."""
    n_agents = agents_for(n_visits)
    problem = generate(n_visits, n_agents, seed)
    matrix = make_provider(TravelSpec()).matrix(problem.locations())
    started = time.monotonic()
    plan = solve(
        problem, matrix, time_limit_s=time_limit_s, seed=seed, solution_limit=solution_limit
    )
    solve_s = time.monotonic() - started
    report = check_plan(problem, plan, matrix)
    kpis = compute_kpis(problem, plan)
    urgent_total = _count(kpis.total_by_priority, Priority.URGENT)
    urgent_served = _count(kpis.served_by_priority, Priority.URGENT)
    return {
        "visits": n_visits,
        "agents": n_agents,
        "seed": seed,
        "time_limit_s": time_limit_s,
        "solution_limit": solution_limit,
        "served": kpis.visits_served,
        "served_pct": round(100.0 * kpis.visits_served / n_visits, 2) if n_visits else 100.0,
        "urgent_served": urgent_served,
        "urgent_total": urgent_total,
        "travel_h": round(kpis.travel_s / 3600, 2),
        "distance_km": round(kpis.distance_m / 1000, 1),
        "agents_used": kpis.agents_used,
        "solve_s": round(solve_s, 2),
        "checker_ok": report.ok,
        "violations": len(report.violations),
        "kpis": kpis.to_dict(),
    }


HEADER = (
    f"{'visits':>6} {'agents':>6} {'served%':>8} {'urgent':>8} {'travel h':>9} "
    f"{'dist km':>8} {'solve s':>8}  checker"
)


def format_row(row: dict[str, Any]) -> str:
    verdict = "ok" if row["checker_ok"] else f"{row['violations']} violations"
    urgent = f"{row['urgent_served']}/{row['urgent_total']}"
    return (
        f"{row['visits']:>6} {row['agents']:>6} {row['served_pct']:>8.1f} {urgent:>8} "
        f"{row['travel_h']:>9.1f} {row['distance_km']:>8.1f} {row['solve_s']:>8.1f}  {verdict}"
    )


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be whole numbers: {text!r}") from None
    if not sizes or any(n <= 0 for n in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be positive: {text!r}")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=_sizes, default=[100, 300, 1000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=30.0, metavar="S")
    parser.add_argument("--solution-limit", type=int, default=None, metavar="N")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    print(HEADER, flush=True)
    rows = []
    for n_visits in args.sizes:
        row = run_size(n_visits, args.seed, args.time_limit, args.solution_limit)
        rows.append(row)
        print(format_row(row), flush=True)
    result = {
        "benchmark": "districts",
        "run_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0 if all(row["checker_ok"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
