"""District benchmark: the engine and VROOM on the same generated days, every plan checked.

For each size (default 100, 300 and 1000 visits, with 8, 20 and 60 agents) this generates a
Lahore-like day with :func:`dispatch.synth.generate` with every field reality on (breaks,
deliveries collected at offices, preferred and required agents, soft windows; ``--plain`` for
none), builds the haversine travel matrix, and for each time limit solves it with the engine
and, with ``--peers vroom``, with VROOM on the same matrix and limit (see
``benchmarks/vroom_district.py`` for the mapping). Every plan is judged by
:func:`dispatch.check.check_plan`; every figure is recomputed from the plan, never taken from a
solver. One table row per run, a comparison line per size and limit, JSON with everything
(default ``benchmarks/results/districts.json``, git-ignored).

``--seed 0,1,2,3`` runs several days of each size (one per seed, each solved with its seed):
single time-limited runs differ by several visits and hours, so a finding should hold over a
few seeds. After the comparison lines a summary per size and limit counts the seeds where the
target was met and gives each solver's mean served and travel.

``--all-day`` opens every visit for the whole booking day (one window from the first slot's
start to the last one's end, :func:`open_all_day`), as when citizens accept any time: the
same visits, agents and offices, with the time of each visit left to the solvers.

``--same-work`` also solves, with the engine, the day cut down to exactly the visits the peer
served (same agents, offices, limit and seed; row ``engine=vroom``). The full-day comparison
mixes two things, how much is served and how well it is routed; on the peer's own work only
the routing is compared: can the engine serve all of it, and with less travel?

``--solution-limit N`` gives the engine's proposal and ruin and recreate a fixed number of
iterations instead of shares of the clock (OR-Tools' polish then stops after N solutions or at
the limit, whichever comes first), and ``--ruin-iterations M`` with it sets ruin and recreate's
iterations on each repaired proposal (100 otherwise). Single time-limited runs spread over
hours of travel, more than most changes to the search move them; at fixed work a change is
judged by what it saves and how fast. Each engine row is followed by ruin and recreate's
iterations, seconds and saving (ride, a preferred agent lost priced as repair prices it,
lateness at its price), also in the JSON's ``solver_facts`` (``ruin_iterations``, ``ruin_s``,
``ruin_saved_s``): these come before OR-Tools' polish and do not depend on the clock.

Usage::

    python benchmarks/districts.py [--sizes 100,300,1000] [--time-limit 30,60] [--seed 0[,1...]]
                                   [--peers vroom] [--same-work] [--plain] [--all-day]
                                   [--solution-limit N [--ruin-iterations M]] [--out PATH]

Wall times depend on the machine and on what else runs on it; compare runs made side by side.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Collection
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: find the adapter

import vroom_district

from dispatch.check import check_plan
from dispatch.geo.matrix import TravelMatrix
from dispatch.geo.provider import TravelSpec, make_provider
from dispatch.io import atomic_write_text
from dispatch.kpis import compute_kpis
from dispatch.model import Priority, Problem, TimeWindow
from dispatch.plan import Plan, StopKind
from dispatch.solver import search
from dispatch.synth import SLOTS, generate

AGENTS_FOR_SIZE: dict[int, int] = {100: 8, 300: 20, 1000: 60}
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "districts.json"
PEERS = ("vroom",)


def agents_for(n_visits: int) -> int:
    """The agent count used for a size: the table above, else about 16 visits per agent."""
    return AGENTS_FOR_SIZE.get(n_visits, max(1, round(n_visits / 16)))


def open_all_day(problem: Problem) -> Problem:
    """``problem`` with every visit open for the whole booking day: one window from the first
    slot's start to the last slot's end (:data:`dispatch.synth.SLOTS`), all else as it was."""
    day = TimeWindow(SLOTS[0].start_s, SLOTS[-1].end_s)
    visits = tuple(dataclasses.replace(v, windows=(day,)) for v in problem.visits)
    return dataclasses.replace(problem, visits=visits)


def _count(mapping: Any, priority: Priority) -> int:
    for key, value in dict(mapping).items():
        if str(key) == priority.value or getattr(key, "value", None) == priority.value:
            return int(value)
    return 0


def describe_problem(problem: Problem) -> dict[str, Any]:
    """What the day asks for: sizes and how many visits carry each field reality."""
    visits = problem.visits
    return {
        "name": problem.name,
        "date": problem.date.isoformat(),
        "visits": len(visits),
        "agents": len(problem.agents),
        "offices": [o.id for o in problem.offices],
        "deliveries": sum(v.pickup_office is not None for v in visits),
        "agents_with_breaks": sum(bool(a.breaks) for a in problem.agents),
        "preferred_agent": sum(v.preferred_agent is not None for v in visits),
        "required_agent": sum(v.required_agent is not None for v in visits),
        "soft_windows": sum(v.max_late_s > 0 for v in visits),
        "female_requests": sum("female" in v.extra_skills for v in visits),
        "urgent": sum(v.priority == Priority.URGENT for v in visits),
    }


def plan_row(
    solver: str, problem: Problem, plan: Plan, matrix: TravelMatrix, solve_s: float
) -> dict[str, Any]:
    """The table and JSON figures of one plan, recomputed from the plan and the checker."""
    report = check_plan(problem, plan, matrix)
    kpis = compute_kpis(problem, plan)
    n_visits = len(problem.visits)
    late_s = sum(
        stop.late_s for r in plan.routes for stop in r.stops if stop.kind == StopKind.VISIT
    )
    preferred = {v.id: v.preferred_agent for v in problem.visits if v.preferred_agent}
    deliveries = {v.id for v in problem.visits if v.pickup_office is not None}
    served_ids = set(plan.served_ids())
    honoured = sum(
        1
        for r in plan.routes
        for stop in r.stops
        if stop.kind == StopKind.VISIT and preferred.get(stop.visit_id) == r.agent_id
    )
    return {
        "solver": solver,
        "visits": n_visits,
        "agents": len(problem.agents),
        "served": kpis.visits_served,
        "served_pct": round(100.0 * kpis.visits_served / n_visits, 2) if n_visits else 100.0,
        "urgent_served": _count(kpis.served_by_priority, Priority.URGENT),
        "urgent_total": _count(kpis.total_by_priority, Priority.URGENT),
        "travel_h": round(kpis.travel_s / 3600, 2),
        "travel_s": kpis.travel_s,
        "distance_km": round(kpis.distance_m / 1000, 1),
        "late_min": round(late_s / 60, 1),
        "work_h_min": round(kpis.working_s_min / 3600, 2),
        "work_h_max": round(kpis.working_s_max / 3600, 2),
        "work_h_std": round(kpis.working_s_std / 3600, 2),
        "agents_used": kpis.agents_used,
        "preferred_honoured": honoured,
        "preferred_total": len(preferred),
        # Deliveries cost an office call first: the served mix explains much of the travel.
        "deliveries_served": len(deliveries & served_ids),
        "served_ids": sorted(served_ids),
        "deliveries_total": len(deliveries),
        "office_calls": sum(stop.kind == StopKind.PICKUP for r in plan.routes for stop in r.stops),
        "solve_s": round(solve_s, 2),
        "checker_ok": report.ok,
        "violations": len(report.violations),
        "violation_kinds": sorted(report.kinds()),
        "first_violations": [str(v) for v in report.violations[:5]],
        "kpis": kpis.to_dict(),
        "solver_facts": _jsonable(dict(plan.solver)),
    }


def format_ruin(facts: dict[str, Any]) -> str:
    """One line on ruin and recreate's work in an engine run."""
    return (
        f"  ruin and recreate: {facts['ruin_iterations']} iterations in {facts['ruin_s']:.1f} s, "
        f"{facts['ruin_saved_s'] / 3600:.2f} h saved"
    )


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def error_row(solver: str, problem: Problem, exc: BaseException, solve_s: float) -> dict[str, Any]:
    """A run that raised: recorded with its error instead of figures."""
    return {
        "solver": solver,
        "visits": len(problem.visits),
        "agents": len(problem.agents),
        "solve_s": round(solve_s, 2),
        "checker_ok": False,
        "error": f"{type(exc).__name__}: {exc}",
        "traceback": traceback.format_exc(limit=5),
    }


def run_engine(
    problem: Problem,
    matrix: TravelMatrix,
    time_limit_s: float,
    seed: int,
    solution_limit: int | None,
) -> dict[str, Any]:
    started = time.monotonic()
    try:
        from dispatch.solver import solve

        plan = solve(
            problem, matrix, time_limit_s=time_limit_s, seed=seed, solution_limit=solution_limit
        )
    except Exception as exc:  # a benchmark records a failing run and goes on
        return error_row("engine", problem, exc, time.monotonic() - started)
    return plan_row("engine", problem, plan, matrix, time.monotonic() - started)


def peer_work(
    problem: Problem, matrix: TravelMatrix, served_ids: Collection[str]
) -> tuple[Problem, TravelMatrix]:
    """The day with only the visits in ``served_ids`` (in problem order), and its matrix."""
    keep = [k for k, v in enumerate(problem.visits) if v.id in served_ids]
    rows = np.array(keep + list(range(len(problem.visits), matrix.size)), dtype=np.intp)
    cut = TravelMatrix(
        matrix.duration_s[np.ix_(rows, rows)].copy(),
        matrix.distance_m[np.ix_(rows, rows)].copy(),
        matrix.congestion,
    )
    return dataclasses.replace(problem, visits=tuple(problem.visits[k] for k in keep)), cut


def run_vroom(problem: Problem, matrix: TravelMatrix, time_limit_s: float) -> dict[str, Any]:
    started = time.monotonic()
    try:
        result = vroom_district.solve_vroom(problem, matrix, time_limit_s)
    except Exception as exc:
        return error_row("vroom", problem, exc, time.monotonic() - started)
    row = plan_row("vroom", problem, result.plan, matrix, result.wall_s)
    row["solver_facts"] = _jsonable(result.info)
    return row


def run_same_work(
    problem: Problem,
    matrix: TravelMatrix,
    peer: dict[str, Any],
    limit_s: float,
    seed: int,
    solution_limit: int | None,
) -> dict[str, Any]:
    """The engine's row on the peer's served visits alone (see the module docstring)."""
    work, work_matrix = peer_work(problem, matrix, peer["served_ids"])
    row = run_engine(work, work_matrix, limit_s, seed, solution_limit)
    row.update(solver=f"engine={peer['solver']}", time_limit_s=limit_s, seed=seed)
    return row


HEADER = (
    f"{'solver':<12} {'visits':>6} {'agents':>6} {'limit s':>7} {'served%':>8} {'urgent':>7} "
    f"{'delivered':>9} {'calls':>5} {'travel h':>8} {'dist km':>8} {'late min':>8} "
    f"{'work h min/max/std':>18} {'solve s':>7}  checker"
)


def format_row(row: dict[str, Any]) -> str:
    head = f"{row['solver']:<12} {row['visits']:>6} {row['agents']:>6} {row['time_limit_s']:>7g} "
    if "error" in row:
        return head + f"error after {row['solve_s']:.1f} s: {row['error']}"
    verdict = "ok" if row["checker_ok"] else f"{row['violations']} violations"
    if not row["checker_ok"]:
        verdict += f" ({', '.join(row['violation_kinds'])})"
    urgent = f"{row['urgent_served']}/{row['urgent_total']}"
    delivered = f"{row['deliveries_served']}/{row['deliveries_total']}"
    work = f"{row['work_h_min']:.1f}/{row['work_h_max']:.1f}/{row['work_h_std']:.2f}"
    return head + (
        f"{row['served_pct']:>8.1f} {urgent:>7} {delivered:>9} {row['office_calls']:>5} "
        f"{row['travel_h']:>8.1f} "
        f"{row['distance_km']:>8.1f} {row['late_min']:>8.0f} {work:>18} "
        f"{row['solve_s']:>7.1f}  {verdict}"
    )


def compare(engine: dict[str, Any], peer: dict[str, Any]) -> dict[str, Any]:
    """The acceptance test of one size and limit: serve at least as many, with less travel.

    Only valid plans count: a run that raised or failed the checker never meets it.
    """
    both_valid = engine.get("checker_ok", False) and peer.get("checker_ok", False)
    out: dict[str, Any] = {
        "visits": engine["visits"],
        "time_limit_s": engine["time_limit_s"],
        "seed": engine.get("seed"),
        "peer": peer["solver"],
        "both_valid": both_valid,
    }
    if "error" in engine or "error" in peer:
        out.update(served_diff=None, travel_diff_pct=None, met=False)
        return out
    served_diff = engine["served"] - peer["served"]
    travel_diff_pct = (
        100.0 * (engine["travel_s"] - peer["travel_s"]) / peer["travel_s"]
        if peer["travel_s"]
        else 0.0
    )
    met = both_valid and served_diff >= 0 and engine["travel_s"] < peer["travel_s"]
    out.update(
        travel_min_per_served_engine=_per_served_min(engine),
        travel_min_per_served_peer=_per_served_min(peer),
        served_engine=engine["served"],
        served_peer=peer["served"],
        served_diff=served_diff,
        travel_h_engine=engine["travel_h"],
        travel_h_peer=peer["travel_h"],
        travel_diff_pct=round(travel_diff_pct, 1),
        met=met,
    )
    return out


def compare_same_work(engine: dict[str, Any], peer: dict[str, Any]) -> dict[str, Any]:
    """The engine on exactly the visits the peer served: all of them, with less travel?"""
    out: dict[str, Any] = {
        "visits": peer["visits"],
        "time_limit_s": peer["time_limit_s"],
        "seed": peer.get("seed"),
        "peer": peer["solver"],
        "work": peer.get("served"),
    }
    if "error" in engine or "error" in peer:
        out.update(served_engine=None, met=False)
        return out
    all_served = engine["served"] == peer["served"]
    less_travel = engine["travel_s"] < peer["travel_s"]
    out.update(
        served_engine=engine["served"],
        travel_h_engine=engine["travel_h"],
        travel_h_peer=peer["travel_h"],
        all_served=all_served,
        less_travel=less_travel,
        met=bool(engine["checker_ok"] and peer["checker_ok"] and all_served and less_travel),
    )
    return out


def same_work_line(same_work: list[dict[str, Any]]) -> str:
    """One line over every run on the peer's own work: how often the engine served all of
    it, rode less, and both (where it leaves a visit out, less travel alone says little)."""
    n = len(same_work)
    all_served = sum(bool(c.get("all_served")) for c in same_work)
    less = sum(bool(c.get("less_travel")) for c in same_work)
    met = sum(c["met"] for c in same_work)
    peer = same_work[0]["peer"] if same_work else "peer"
    return (
        f"engine on {peer}'s own work: all served in {all_served}/{n} runs, less travel in "
        f"{less}/{n}, both (valid plans) in {met}/{n}"
    )


def format_same_work(c: dict[str, Any]) -> str:
    where = _where(c)
    if c["served_engine"] is None:
        return f"  {where}: no comparison (a run failed)"
    return (
        f"  {where}, {c['peer']}'s {c['work']} visits: engine served {c['served_engine']} with "
        f"{c['travel_h_engine']:.1f} h, {c['peer']} {c['work']} with {c['travel_h_peer']:.1f} h: "
        f"{'all served, less travel' if c['met'] else 'not met'}"
    )


def _per_served_min(row: dict[str, Any]) -> float | None:
    """Riding minutes per visit served: travel compared fairly when counts differ."""
    return round(row["travel_s"] / 60 / row["served"], 2) if row["served"] else None


def _where(c: dict[str, Any]) -> str:
    seed = "" if c.get("seed") is None else f"seed {c['seed']}, "
    return f"{seed}{c['visits']} visits, {c['time_limit_s']:g} s"


def format_comparison(c: dict[str, Any]) -> str:
    where = _where(c)
    if c["served_diff"] is None:
        return f"  {where}: no comparison (a run failed)"
    validity = "" if c["both_valid"] else " [not both valid]"
    return (
        f"  {where}: served {c['served_engine']} vs {c['peer']} {c['served_peer']} "
        f"({c['served_diff']:+d}), travel {c['travel_h_engine']:.1f} h vs "
        f"{c['travel_h_peer']:.1f} h ({c['travel_diff_pct']:+.1f}%), per visit served "
        f"{c['travel_min_per_served_engine']} vs {c['travel_min_per_served_peer']} min: "
        f"{'target met' if c['met'] else 'target not met'}{validity}"
    )


def summarise(comparisons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per size and limit, over the seeds: runs, runs meeting the target, and each solver's
    mean served and travel over the runs where both plans exist."""
    groups: dict[tuple[int, float], list[dict[str, Any]]] = {}
    for c in comparisons:
        groups.setdefault((c["visits"], c["time_limit_s"]), []).append(c)
    out = []
    for (visits, limit_s), group in groups.items():
        done = [c for c in group if c["served_diff"] is not None]

        def mean(key: str, runs: list[dict[str, Any]] = done) -> float | None:
            return round(sum(c[key] for c in runs) / len(runs), 2) if runs else None

        out.append(
            {
                "visits": visits,
                "time_limit_s": limit_s,
                "peer": group[0]["peer"],
                "runs": len(group),
                "met": sum(c["met"] for c in group),
                "served_engine_mean": mean("served_engine"),
                "served_peer_mean": mean("served_peer"),
                "travel_h_engine_mean": mean("travel_h_engine"),
                "travel_h_peer_mean": mean("travel_h_peer"),
            }
        )
    return out


def format_summary(s: dict[str, Any]) -> str:
    where = f"{s['visits']} visits, {s['time_limit_s']:g} s"
    if s["served_engine_mean"] is None:
        return f"  {where}: target met in {s['met']}/{s['runs']} (no run to average)"
    return (
        f"  {where}: target met in {s['met']}/{s['runs']} seeds; mean served "
        f"{s['served_engine_mean']:g} vs {s['peer']} {s['served_peer_mean']:g}, mean travel "
        f"{s['travel_h_engine_mean']:.1f} h vs {s['travel_h_peer_mean']:.1f} h"
    )


def final_line(comparisons: list[dict[str, Any]]) -> str:
    """One line over every size and limit: how often the engine served as many, rode less."""
    if not comparisons:
        return "no peer runs to compare"
    n = len(comparisons)
    served = sum(c["served_diff"] is not None and c["served_diff"] >= 0 for c in comparisons)
    less = sum(c["travel_diff_pct"] is not None and c["travel_diff_pct"] < 0 for c in comparisons)
    met = sum(c["met"] for c in comparisons)
    peer = comparisons[0]["peer"]
    return (
        f"engine vs {peer}: served at least as many in {served}/{n} runs, less travel in "
        f"{less}/{n}, both (valid plans) in {met}/{n}"
    )


def _parse_list(
    text: str, cast: Callable[[str], Any], what: str, *, zero: bool = False
) -> list[Any]:
    """Comma-separated numbers, all positive (or 0 too, with ``zero``)."""
    try:
        values = [cast(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be numbers: {text!r}") from None
    if not values or any(v < 0 or (v == 0 and not zero) for v in values):
        bound = "0 or more" if zero else "positive"
        raise argparse.ArgumentTypeError(f"{what} must be {bound}: {text!r}")
    return values


def _seeds(text: str) -> list[int]:
    return list(dict.fromkeys(_parse_list(text, int, "seeds", zero=True)))


def _sizes(text: str) -> list[int]:
    return _parse_list(text, int, "sizes")


def _limits(text: str) -> list[float]:
    return _parse_list(text, float, "time limits")


def _peers(text: str) -> list[str]:
    names = [p.strip() for p in text.split(",") if p.strip()]
    if names == ["none"]:
        return []
    unknown = [p for p in names if p not in PEERS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown peer(s) {unknown}; known: {', '.join(PEERS)}")
    return names


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=_sizes, default=[100, 300, 1000])
    parser.add_argument(
        "--seed", "--seeds", dest="seeds", type=_seeds, default=[0], metavar="S[,S...]"
    )
    parser.add_argument(
        "--time-limit", type=_limits, default=[30.0], metavar="S[,S...]", help="seconds per run"
    )
    parser.add_argument("--solution-limit", type=int, default=None, metavar="N")
    parser.add_argument(
        "--ruin-iterations",
        type=int,
        default=None,
        metavar="M",
        help="with --solution-limit: ruin and recreate iterations per repaired proposal",
    )
    parser.add_argument("--peers", type=_peers, default=[], help="'vroom' or 'none' (default)")
    parser.add_argument(
        "--same-work", action="store_true", help="also solve each peer's served visits alone"
    )
    parser.add_argument("--plain", action="store_true", help="days without the field realities")
    parser.add_argument(
        "--all-day", action="store_true", help="every visit open for the whole booking day"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.ruin_iterations is not None:
        if args.solution_limit is None:
            parser.error("--ruin-iterations needs --solution-limit (a clock would cut it short)")
        if args.ruin_iterations < 0:
            parser.error("--ruin-iterations must be 0 or more")
        # The search reads this where a solution limit replaces the clock.
        search.RUIN_ITERATIONS_WHEN_LIMITED = args.ruin_iterations

    peers = list(args.peers)
    skipped: dict[str, str] = {}
    if "vroom" in peers:
        reason = vroom_district.missing_reason()
        if reason is not None:
            print(f"skipping vroom: {reason}", file=sys.stderr)
            skipped["vroom"] = reason
            peers.remove("vroom")

    print(HEADER, flush=True)
    rows: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    comparisons: list[dict[str, Any]] = []
    same_work: list[dict[str, Any]] = []
    for seed in args.seeds:
        if len(args.seeds) > 1:
            print(f"seed {seed}", flush=True)
        for n_visits in args.sizes:
            problem = generate(n_visits, agents_for(n_visits), seed, features=not args.plain)
            if args.all_day:
                problem = open_all_day(problem)
            problems.append(dict(describe_problem(problem), seed=seed))
            matrix = make_provider(TravelSpec()).matrix(problem.locations())
            for limit_s in args.time_limit:
                engine = run_engine(problem, matrix, limit_s, seed, args.solution_limit)
                engine.update(time_limit_s=limit_s, seed=seed)
                rows.append(engine)
                print(format_row(engine), flush=True)
                if engine.get("solver_facts", {}).get("ruin_iterations"):
                    print(format_ruin(engine["solver_facts"]), flush=True)
                if "vroom" in peers:
                    row = run_vroom(problem, matrix, limit_s)
                    row.update(time_limit_s=limit_s, seed=seed)
                    rows.append(row)
                    print(format_row(row), flush=True)
                    comparisons.append(compare(engine, row))
                    if args.same_work and "error" not in row:
                        same = run_same_work(
                            problem, matrix, row, limit_s, seed, args.solution_limit
                        )
                        rows.append(same)
                        print(format_row(same), flush=True)
                        same_work.append(compare_same_work(same, row))
    summary = summarise(comparisons)
    if comparisons:
        print("comparison (engine first):")
        for c in comparisons:
            print(format_comparison(c))
        if len(args.seeds) > 1:
            print(f"over seeds {', '.join(map(str, args.seeds))}:")
            for s in summary:
                print(format_summary(s))
    if same_work:
        print("on the peer's own work (its served visits only):")
        for c in same_work:
            print(format_same_work(c))
        print(same_work_line(same_work))
    print(final_line(comparisons) if peers else "no peer: pass --peers vroom to compare")
    result = {
        "benchmark": "districts",
        "protocol": {
            "run_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
            "packages": {p: _version(p) for p in ("ortools", "pyvrp", "pyvroom")},
            "sizes": args.sizes,
            "time_limits_s": args.time_limit,
            "seeds": args.seeds,
            "solution_limit": args.solution_limit,
            "ruin_iterations": args.ruin_iterations,
            "features": not args.plain,
            "all_day": args.all_day,
            "travel": "haversine (default TravelSpec)",
            "threads": 1,
            "peers": peers,
            "same_work": args.same_work,
            "skipped_peers": skipped,
            "vroom_priorities": {str(k): v for k, v in vroom_district.VROOM_PRIORITY.items()},
        },
        "problems": problems,
        "rows": rows,
        "comparisons": comparisons,
        "summary": summary,
        "same_work": same_work,
        "same_work_final": same_work_line(same_work) if same_work else None,
        "final": final_line(comparisons) if comparisons else None,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0 if all(row.get("checker_ok", False) for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
