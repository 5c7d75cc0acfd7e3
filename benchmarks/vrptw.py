"""VRPTW benchmark: the engine and its peers on Solomon-format instances, checked and compared.

    python benchmarks/vrptw.py data/solomon --time-limit 5 --bks data/solomon/bks.csv \\
        --out results.json [--seed 0] [--peers pyvrp,vroom,ortools-plain] [--limit N]

Every solver gets the same DIMACS integer matrix, the same wall-time limit and one thread.
Every answer, the engine's and each peer's, becomes an engine :class:`~dispatch.plan.Plan`
checked by :func:`dispatch.check.check_plan`; its cost is recomputed from the routes and the
matrix, never taken from the solver. A plan that fails the checker or leaves a customer
unserved gets no gap and is counted as a failure. See ``benchmarks/README.md`` for the protocol.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: find peers.py

import peers

from dispatch.check import check_plan
from dispatch.errors import InputError
from dispatch.geo.matrix import TravelMatrix
from dispatch.model import Problem
from dispatch.plan import Plan
from dispatch.solomon import (
    SCALE,
    SolomonInstance,
    dimacs_distances,
    plan_from_routes,
    plan_routes,
    read_solomon,
    to_problem,
)

ENGINE = "engine"
DEFAULT_PEERS = "pyvrp,vroom,ortools-plain"
OPTIMUM_TOLERANCE = 1e-6


@dataclass
class RunResult:
    """One solver on one instance, as written to the JSON file."""

    instance: str
    customers: int
    solver: str
    cost: float | None
    vehicles: int
    bks: float | None
    gap_pct: float | None
    wall_s: float
    verdict: str  # "ok", "infeasible: ...", "unserved: k", "error: ..."
    violations: list[str] = field(default_factory=list)
    unserved: int = 0
    routes: list[list[int]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.verdict == "ok"


# ----------------------------------------------------------------------------- inputs


def instance_paths(items: Sequence[str]) -> list[Path]:
    """Files as given; folders expand to their ``*.txt`` files (any case), sorted by name."""
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            paths.extend(
                sorted(
                    (p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".txt"),
                    key=lambda p: p.name,
                )
            )
        elif path.is_file():
            paths.append(path)
        else:
            raise InputError(f"no such file or folder: {item}")
    return paths


def read_bks(path: Path | None) -> dict[str, float]:
    """Best-known DIMACS distances by instance name (column ``distance_dimacs`` or ``bks``)."""
    if path is None:
        return {}
    with path.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        column = next((c for c in ("distance_dimacs", "bks") if c in columns), None)
        if "instance" not in columns or column is None:
            raise InputError("needs columns 'instance' and 'distance_dimacs' (or 'bks')", str(path))
        return {
            row["instance"].strip(): float(row[column])
            for row in reader
            if (row.get(column) or "").strip()
        }


# ----------------------------------------------------------------------------- evaluation


def routes_cost(node_distance: npt.NDArray[np.int64], routes: Sequence[Sequence[int]]) -> float:
    """Depot -> customers -> depot distance of every route, in the file's units (/10)."""
    total = 0
    for route in routes:
        if route:
            nodes = [0, *route, 0]
            total += int(node_distance[nodes[:-1], nodes[1:]].sum())
    return total / SCALE


def evaluate(
    instance: SolomonInstance,
    problem: Problem,
    matrix: TravelMatrix,
    node_distance: npt.NDArray[np.int64],
    solver: str,
    plan: Plan,
    wall_s: float,
    bks: float | None,
    info: dict[str, Any],
) -> RunResult:
    """Check a plan and turn it into a result row (gap only for valid plans)."""
    routes = plan_routes(plan)
    report = check_plan(problem, plan, matrix)
    cost = routes_cost(node_distance, routes)
    unserved = len(plan.unassigned)
    if not report.ok:
        verdict = f"infeasible: {len(report.violations)} violations"
    elif unserved:
        verdict = f"unserved: {unserved}"
    else:
        verdict = "ok"
    gap = None
    if verdict == "ok" and bks:
        gap = 100.0 * (cost - bks) / bks
    return RunResult(
        instance=instance.name,
        customers=instance.n_customers,
        solver=solver,
        cost=cost,
        vehicles=len(routes),
        bks=bks,
        gap_pct=gap,
        wall_s=round(wall_s, 3),
        verdict=verdict,
        violations=[str(v) for v in report.violations[:10]],
        unserved=unserved,
        routes=routes,
        info=info,
    )


def failed(instance: SolomonInstance, solver: str, bks: float | None, error: str) -> RunResult:
    return RunResult(instance.name, instance.n_customers, solver, None, 0, bks, None, 0.0, error)


def run_engine(
    instance: SolomonInstance,
    problem: Problem,
    matrix: TravelMatrix,
    node_distance: npt.NDArray[np.int64],
    bks: float | None,
    time_limit_s: float,
    seed: int,
) -> RunResult:
    """The engine's own solve (``dispatch.solver.solve``), one thread, same limit as peers."""
    from dispatch.solver import solve

    started = time.perf_counter()
    try:
        plan = solve(problem, matrix, time_limit_s=time_limit_s, seed=seed)
    except Exception as exc:  # a crash is a result of the benchmark, not its end
        return failed(instance, ENGINE, bks, f"error: {type(exc).__name__}: {exc}")
    wall_s = time.perf_counter() - started
    info = {k: v for k, v in plan.solver.items() if isinstance(v, str | int | float | bool)}
    return evaluate(instance, problem, matrix, node_distance, ENGINE, plan, wall_s, bks, info)


def run_peer(
    name: str,
    instance: SolomonInstance,
    problem: Problem,
    matrix: TravelMatrix,
    node_distance: npt.NDArray[np.int64],
    bks: float | None,
    time_limit_s: float,
    seed: int,
) -> RunResult:
    """A peer's routes, timed forward into an engine plan and checked like the engine's."""
    runner = peers.PEERS[name][1]
    try:
        answer = runner(peers.scaled(instance), time_limit_s, seed)
        plan = plan_from_routes(
            problem, matrix, [[str(c) for c in route] for route in answer.routes]
        )
    except Exception as exc:
        return failed(instance, name, bks, f"error: {type(exc).__name__}: {exc}")
    return evaluate(
        instance, problem, matrix, node_distance, name, plan, answer.wall_s, bks, answer.info
    )


# ----------------------------------------------------------------------------- reporting


def summarise(results: list[RunResult], solvers: list[str]) -> dict[str, dict[str, Any]]:
    """Per solver: valid runs, mean/worst gap, # at optimum, mean cost and ratios to the engine.

    Ratios (engine / peer) use only instances where both plans are valid, so a failure on
    either side does not distort them.
    """
    by_key = {(r.instance, r.solver): r for r in results}
    instances = sorted({r.instance for r in results})
    summary: dict[str, dict[str, Any]] = {}
    for solver in solvers:
        rows = [by_key[(i, solver)] for i in instances if (i, solver) in by_key]
        valid = [r for r in rows if r.valid]
        gaps = [r.gap_pct for r in valid if r.gap_pct is not None]
        entry: dict[str, Any] = {
            "runs": len(rows),
            "valid": len(valid),
            "mean_gap_pct": statistics.fmean(gaps) if gaps else None,
            "worst_gap_pct": max(gaps) if gaps else None,
            "at_optimum": sum(
                1
                for r in valid
                if r.bks is not None and r.cost is not None and r.cost <= r.bks + OPTIMUM_TOLERANCE
            ),
            "mean_cost": statistics.fmean(r.cost for r in valid if r.cost is not None)
            if valid
            else None,
            "mean_wall_s": statistics.fmean(r.wall_s for r in valid) if valid else None,
        }
        if solver != ENGINE:
            both = [
                (by_key[(i, ENGINE)], by_key[(i, solver)])
                for i in instances
                if (i, ENGINE) in by_key
                and (i, solver) in by_key
                and by_key[(i, ENGINE)].valid
                and by_key[(i, solver)].valid
            ]
            entry["common_instances"] = len(both)
            entry["engine_over_peer_cost"] = _ratio(
                [e.cost for e, _ in both], [p.cost for _, p in both]
            )
            with_bks = [(e, p) for e, p in both if e.gap_pct is not None and p.gap_pct is not None]
            entry["engine_over_peer_gap"] = _ratio(
                [e.gap_pct for e, _ in with_bks], [p.gap_pct for _, p in with_bks]
            )
        summary[solver] = entry
    return summary


def _ratio(ours: Sequence[float | None], theirs: Sequence[float | None]) -> float | None:
    a = [x for x in ours if x is not None]
    b = [x for x in theirs if x is not None]
    if not a or not b:
        return None
    mean_b = statistics.fmean(b)
    return None if mean_b == 0 else statistics.fmean(a) / mean_b


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def result_table(results: list[RunResult]) -> str:
    head = f"{'instance':<14}{'solver':<15}{'cost':>10}{'veh':>5}{'bks':>10}{'gap%':>8}"
    head += f"{'wall s':>8}  check"
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r.instance:<14}{r.solver:<15}{_fmt(r.cost, '.1f'):>10}{r.vehicles:>5}"
            f"{_fmt(r.bks, '.1f'):>10}{_fmt(r.gap_pct, '.2f'):>8}{r.wall_s:>8.2f}  {r.verdict}"
        )
    return "\n".join(lines)


def summary_table(summary: dict[str, dict[str, Any]]) -> str:
    head = (
        f"{'solver':<15}{'valid':>8}{'mean gap%':>11}{'worst gap%':>12}{'at opt':>8}"
        f"{'mean cost':>11}{'mean s':>8}{'ours/peer gap':>15}{'ours/peer cost':>16}"
    )
    lines = [head, "-" * len(head)]
    for solver, s in summary.items():
        lines.append(
            f"{solver:<15}{s['valid']:>4}/{s['runs']:<3}{_fmt(s['mean_gap_pct'], '.2f'):>11}"
            f"{_fmt(s['worst_gap_pct'], '.2f'):>12}{s['at_optimum']:>8}"
            f"{_fmt(s['mean_cost'], '.1f'):>11}{_fmt(s['mean_wall_s'], '.2f'):>8}"
            f"{_fmt(s.get('engine_over_peer_gap'), '.3f'):>15}"
            f"{_fmt(s.get('engine_over_peer_cost'), '.4f'):>16}"
        )
    return "\n".join(lines)


def protocol(
    args: argparse.Namespace, solvers: list[str], skipped: dict[str, str]
) -> dict[str, Any]:
    """What was run where, so a results file explains itself."""
    versions: dict[str, str | None] = {}
    for package in ("dastak-dispatch", "ortools", "pyvrp", "pyvroom", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "convention": "DIMACS: d_ij = floor(10 * euclid), time = distance, times x10, "
        "objective = total distance; cost reported / 10",
        "time_limit_s": args.time_limit,
        "seed": args.seed,
        "threads_per_solver": 1,
        "solvers": solvers,
        "skipped_peers": skipped,
        "bks": str(args.bks) if args.bks else None,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "versions": versions,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


# ----------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Solve Solomon-format VRPTW instances with the engine and its peers; "
        "check every plan, compare costs to best known (DIMACS convention)."
    )
    parser.add_argument("paths", nargs="+", help="instance files or folders of *.txt files")
    parser.add_argument("--time-limit", type=float, default=5.0, help="seconds per solver run")
    parser.add_argument("--bks", type=Path, default=None, help="CSV of best-known distances")
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--peers",
        default=DEFAULT_PEERS,
        help=f"comma-separated peers among {', '.join(peers.PEERS)}, or 'none'",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N instances")
    args = parser.parse_args(argv)
    if not args.time_limit > 0:
        parser.error("--time-limit must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        paths = instance_paths(args.paths)
        bks_table = read_bks(args.bks)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.limit is not None:
        paths = paths[: args.limit]
    if not paths:
        print("error: no instance files found", file=sys.stderr)
        return 2
    wanted = (
        []
        if args.peers.strip() in ("", "none")
        else [p.strip() for p in args.peers.split(",") if p.strip()]
    )
    skipped: dict[str, str] = {}
    active: list[str] = []
    for name in wanted:
        reason = peers.missing_reason(name)
        if reason is None:
            active.append(name)
        else:
            skipped[name] = reason
            print(f"peer {name} skipped: {reason}", file=sys.stderr)
    solvers = [ENGINE, *active]
    results: list[RunResult] = []
    for number, path in enumerate(paths, start=1):
        try:
            instance = read_solomon(path)
        except InputError as exc:
            print(f"[{number}/{len(paths)}] skipped: {exc}", file=sys.stderr)
            continue
        problem, matrix = to_problem(instance)
        node_distance = dimacs_distances(instance.x, instance.y)
        bks = bks_table.get(instance.name) or bks_table.get(path.stem)
        row = [
            run_engine(instance, problem, matrix, node_distance, bks, args.time_limit, args.seed)
        ]
        for name in active:
            row.append(
                run_peer(
                    name, instance, problem, matrix, node_distance, bks, args.time_limit, args.seed
                )
            )
        results.extend(row)
        parts = " | ".join(
            f"{r.solver} {_fmt(r.cost, '.1f')}"
            + ("" if r.gap_pct is None else f" ({r.gap_pct:+.2f}%)")
            + f" {r.verdict} {r.wall_s:.1f}s"
            for r in row
        )
        print(f"[{number}/{len(paths)}] {instance.name}: {parts}", file=sys.stderr, flush=True)
    summary = summarise(results, solvers)
    print(result_table(results))
    print()
    print(summary_table(summary))
    if args.out is not None:
        document = {
            "protocol": protocol(args, solvers, skipped),
            "summary": summary,
            "results": [asdict(r) for r in results],
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(document, indent=1, default=str) + "\n", encoding="utf-8")
        print(f"results written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
