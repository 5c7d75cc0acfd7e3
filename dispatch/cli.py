"""The ``dispatch`` command: generate, solve, check, map, demo and schema.

Progress goes to stderr, results to files and a summary to stdout. Exit codes: 0 ok,
1 the plan has violations, 2 bad input or usage (one ``error: ...`` line per problem, no
traceback, no output file), 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from dispatch import io, synth
from dispatch.catalog import data_dir
from dispatch.check import CheckReport, check_plan
from dispatch.errors import InputError
from dispatch.geo.congestion import congestion_profile
from dispatch.geo.matrix import TravelMatrix
from dispatch.geo.provider import TravelSpec, make_provider
from dispatch.kpis import Kpis, compute_kpis
from dispatch.model import PRIORITY_ORDER, Problem
from dispatch.plan import Plan
from dispatch.progress import ProgressPrinter
from dispatch.solver import solve

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A command line that parses but does not make sense (exit 2)."""


def default_osm_path() -> Path:
    """The bundled road extract (Islamabad, © OpenStreetMap contributors, ODbL)."""
    return data_dir() / "osm" / "islamabad_ict_2020-07-14_highways.osm.bz2"


def demo_problem_path() -> Path:
    """The bundled demo problem (a generated Lahore-like day)."""
    return data_dir() / "demo" / "problem.json"


# --------------------------------------------------------------------------- parsing


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date like 2026-11-30: {text!r}") from None


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be zero or more, got {text}")
    return value


def _add_search_options(parser: argparse.ArgumentParser, time_limit_s: float) -> None:
    parser.add_argument(
        "--time-limit",
        type=_positive_float,
        default=time_limit_s,
        metavar="S",
        help=f"search time in seconds (default {time_limit_s:g})",
    )
    parser.add_argument("--seed", type=_count, default=0, help="search seed (default 0)")
    parser.add_argument(
        "--solution-limit",
        type=_count,
        default=None,
        metavar="N",
        help="stop after N solutions (deterministic for a given seed)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress display on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dispatch",
        description="Plan doorstep government-service visits for motorcycle agents.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser("generate", help="write a synthetic district day as a problem file")
    gen.add_argument(
        "--visits", type=_count, default=None, metavar="N", help="default: from --district"
    )
    gen.add_argument(
        "--agents", type=_count, default=None, metavar="M", help="default: one per 12 visits"
    )
    gen.add_argument("--seed", type=_count, default=0)
    gen.add_argument("--date", type=_date, default=None, help="plan date YYYY-MM-DD")
    gen.add_argument("--name", default="", help="problem name")
    gen.add_argument(
        "--district",
        default=None,
        metavar="NAME",
        help="place homes in a Punjab district or Islamabad (default: a Lahore-like box)",
    )
    gen.add_argument("--max-visits", type=_count, default=None, metavar="K", help="cap per agent")
    gen.add_argument(
        "--plain",
        action="store_true",
        help="leave out breaks, office pickups, named agents and soft windows",
    )
    gen.add_argument(
        "--road",
        nargs="?",
        const=str(default_osm_path()),
        default=None,
        metavar="OSM_FILE",
        help="plan on road-network travel times from a local OSM extract "
        "(default extract: the bundled Islamabad roads)",
    )
    gen.add_argument(
        "--congestion",
        choices=("none", "default"),
        default="none",
        help="hourly congestion profile on travel times (default: none)",
    )
    gen.add_argument("-o", "--output", type=Path, required=True, metavar="PROBLEM.json")

    sol = sub.add_parser("solve", help="plan a problem and check the plan")
    sol.add_argument("problem", type=Path, nargs="?", metavar="PROBLEM.json")
    sol.add_argument("--agents-csv", type=Path, metavar="AGENTS.csv")
    sol.add_argument("--visits-csv", type=Path, metavar="VISITS.csv")
    sol.add_argument("--date", type=_date, help="plan date for CSV input (YYYY-MM-DD)")
    sol.add_argument("--name", default="", help="problem name for CSV input")
    sol.add_argument("-o", "--output", type=Path, metavar="PLAN.json", help="write the plan")
    sol.add_argument("--csv", type=Path, metavar="PLAN.csv", help="also write the plan as CSV")
    sol.add_argument(
        "--area",
        default=None,
        metavar="NAME",
        help="service area: a district, Punjab or Islamabad (default: Punjab or Islamabad)",
    )
    sol.add_argument(
        "--no-area-check", action="store_true", help="accept points outside the service area"
    )
    _add_search_options(sol, 30.0)

    chk = sub.add_parser("check", help="verify a plan against its problem")
    chk.add_argument("problem", type=Path, metavar="PROBLEM.json")
    chk.add_argument("plan", type=Path, metavar="PLAN.json")

    mp = sub.add_parser("map", help="draw a plan: PNG, self-contained HTML, SVG or GeoJSON")
    mp.add_argument("problem", type=Path, metavar="PROBLEM.json")
    mp.add_argument("plan", type=Path, metavar="PLAN.json")
    mp.add_argument(
        "-o", "--output", type=Path, required=True, metavar="MAP.png|MAP.html|ROUTES.geojson"
    )
    mp.add_argument("--area", default=None, metavar="NAME", help="district to shade")
    mp.add_argument(
        "--straight", action="store_true", help="straight lines even for road-network problems"
    )

    demo = sub.add_parser("demo", help="solve the bundled demo district and check the plan")
    demo.add_argument(
        "--out-dir", type=Path, default=Path("out"), help="where plans go (default out/)"
    )
    _add_search_options(demo, 15.0)

    schema = sub.add_parser("schema", help="write JSON schemas of the file formats")
    schema.add_argument(
        "-o", "--output", type=Path, default=Path("schemas"), metavar="DIR", dest="directory"
    )
    return parser


# --------------------------------------------------------------------------- commands


def _cmd_generate(args: argparse.Namespace, out: TextIO) -> int:
    area: synth.Area | None = None
    visits, agents = args.visits, args.agents
    if args.district is not None:
        from dispatch.geo.areas import (
            IslamabadArea,
            agents_for_visits,
            daily_visits,
            demand_area,
            is_islamabad,
        )
        from dispatch.geo.cache import DiskCache
        from dispatch.geo.roads import load_network

        area = demand_area(args.district)
        if args.road is not None and is_islamabad(args.district):
            # Homes on nodes of the routable network itself, so every one snaps onto it.
            area = IslamabadArea.from_network(load_network(args.road, DiskCache()))
        visits = daily_visits(args.district) if visits is None else visits
        agents = agents_for_visits(visits) if agents is None else agents
    if visits is None or agents is None:
        raise UsageError("give --visits and --agents, or --district to size the day by population")
    problem = synth.generate(
        visits,
        agents,
        args.seed,
        area=area,
        date=args.date,
        name=args.name,
        max_visits=args.max_visits,
        features=not args.plain,
    )
    travel = TravelSpec(
        provider="haversine" if args.road is None else "road",
        osm_file=None if args.road is None else str(Path(args.road).resolve()),
        congestion=None if args.congestion == "none" else congestion_profile(args.congestion),
    )
    io.write_problem(problem, args.output, travel)
    print(
        f"wrote {args.output}: {len(problem.visits)} visits, {len(problem.agents)} agents, "
        f"{problem.date.isoformat()} (seed {args.seed})",
        file=out,
    )
    return EXIT_OK


def _load_for_solve(args: argparse.Namespace) -> io.ProblemInput:
    csv_given = args.agents_csv is not None or args.visits_csv is not None
    if args.problem is not None and csv_given:
        raise UsageError("give either a problem file or --agents-csv/--visits-csv, not both")
    if args.problem is not None:
        return io.read_problem(args.problem)
    if args.agents_csv is None or args.visits_csv is None or args.date is None:
        raise UsageError("give a problem file, or --agents-csv, --visits-csv and --date")
    return io.read_problem_csv(args.agents_csv, args.visits_csv, args.date, args.name)


def _travel_matrix(problem: Problem, travel: TravelSpec) -> TravelMatrix:
    try:
        provider = make_provider(travel)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    return provider.matrix(problem.locations())


def _run_solve(
    problem: Problem,
    travel: TravelSpec,
    args: argparse.Namespace,
    err: TextIO,
) -> tuple[Plan, TravelMatrix, CheckReport, Kpis, float]:
    """Solve with a progress display, then check the plan independently."""
    matrix = _travel_matrix(problem, travel)
    printer = None if args.quiet else ProgressPrinter(err)
    if printer is not None:
        print(
            f"solving {problem.name or 'problem'}: {len(problem.visits)} visits, "
            f"{len(problem.agents)} agents, time limit {args.time_limit:g} s",
            file=err,
        )
    started = time.monotonic()
    try:
        plan = solve(
            problem,
            matrix,
            time_limit_s=args.time_limit,
            seed=args.seed,
            solution_limit=args.solution_limit,
            progress=printer,
        )
    finally:
        if printer is not None:
            printer.close()
    solve_s = time.monotonic() - started
    report = check_plan(problem, plan, matrix)
    kpis = compute_kpis(problem, plan)
    return plan, matrix, report, kpis, solve_s


def _write_outputs(
    problem: Problem, plan: Plan, kpis: Kpis, paths: Sequence[Path | None], out: TextIO
) -> None:
    for path in paths:
        if path is not None:
            io.write_plan(problem, plan, path, kpis.to_dict())
            print(f"wrote {path}", file=out)


def _check_area(problem: Problem, area: str | None, source: str) -> None:
    """Reject points outside the service area before solving (see docs/geography.md)."""
    from dispatch.geo.service_area import check_service_area

    issues = check_service_area(problem, area)
    if issues:
        raise InputError(issues, source)


def _cmd_solve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    loaded = _load_for_solve(args)
    if not args.no_area_check:
        _check_area(loaded.problem, args.area, str(args.problem or args.visits_csv))
    plan, _, report, kpis, solve_s = _run_solve(loaded.problem, loaded.travel, args, err)
    print(format_summary(loaded.problem, plan, kpis, report, solve_s, args.seed), file=out)
    _write_outputs(loaded.problem, plan, kpis, [args.output, args.csv], out)
    return EXIT_OK if report.ok else EXIT_VIOLATIONS


def _cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    loaded = io.read_problem(args.problem)
    plan = io.read_plan(args.plan, loaded.problem)
    matrix = _travel_matrix(loaded.problem, loaded.travel)
    report = check_plan(loaded.problem, plan, matrix)
    if report.ok:
        print(f"{args.plan}: plan OK, no violations", file=out)
        return EXIT_OK
    print(f"{args.plan}: {len(report.violations)} violation(s)", file=out)
    for violation in report.violations:
        print(f"  - {violation}", file=out)
    return EXIT_VIOLATIONS


def _cmd_map(args: argparse.Namespace, out: TextIO) -> int:
    from dispatch.geo.mapping import MAP_SUFFIXES, render_map

    if args.output.suffix.lower() not in MAP_SUFFIXES:
        raise UsageError(f"map output must end in one of {', '.join(MAP_SUFFIXES)}")
    loaded = io.read_problem(args.problem)
    plan = io.read_plan(args.plan, loaded.problem)
    network = None
    if loaded.travel.provider == "road" and loaded.travel.osm_file and not args.straight:
        from dispatch.geo.cache import DiskCache
        from dispatch.geo.roads import load_network

        network = load_network(loaded.travel.osm_file, DiskCache())
    render_map(loaded.problem, plan, args.output, network=network, area=args.area)
    print(f"wrote {args.output}", file=out)
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    loaded = io.read_problem(demo_problem_path())
    plan, _, report, kpis, solve_s = _run_solve(loaded.problem, loaded.travel, args, err)
    print(format_summary(loaded.problem, plan, kpis, report, solve_s, args.seed), file=out)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    paths = [args.out_dir / "demo-plan.json", args.out_dir / "demo-plan.csv"]
    _write_outputs(loaded.problem, plan, kpis, paths, out)
    return EXIT_OK if report.ok else EXIT_VIOLATIONS


def _cmd_schema(args: argparse.Namespace, out: TextIO) -> int:
    for path in io.write_schemas(args.directory):
        print(f"wrote {path}", file=out)
    return EXIT_OK


# --------------------------------------------------------------------------- summary


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def _lookup(mapping: Mapping[Any, int], key: str) -> int:
    """Counts keyed by enum or by its string value read the same."""
    for k, v in mapping.items():
        if str(k) == key or getattr(k, "value", None) == key:
            return int(v)
    return 0


def format_summary(
    problem: Problem,
    plan: Plan,
    kpis: Kpis,
    report: CheckReport,
    solve_s: float,
    seed: int,
) -> str:
    """The table printed after a solve: service, cost, balance, and the checker's verdict."""
    rows: list[tuple[str, str]] = []
    total = kpis.visits_total
    rows.append(
        ("visits served", f"{kpis.visits_served} / {total}  ({_pct(kpis.visits_served, total)})")
    )
    for priority in reversed(PRIORITY_ORDER):
        n_total = _lookup(kpis.total_by_priority, priority.value)
        if n_total:
            n_served = _lookup(kpis.served_by_priority, priority.value)
            rows.append((f"  {priority.value}", f"{n_served} / {n_total}"))
    unassigned = sum(int(v) for v in kpis.unassigned_by_reason.values())
    rows.append(("unassigned", str(unassigned)))
    for reason, count in sorted(kpis.unassigned_by_reason.items(), key=lambda kv: str(kv[0])):
        if count:
            rows.append((f"  {getattr(reason, 'value', reason)}", str(count)))
    rows.append(("travel time", _hours(kpis.travel_s)))
    rows.append(("distance", f"{kpis.distance_m / 1000:.1f} km"))
    rows.append(("on-time rate", _pct(kpis.on_time_rate, 1.0)))
    rows.append(("agents used", f"{kpis.agents_used} / {len(problem.agents)}"))
    rows.append(
        (
            "working time",
            f"min {_hours(kpis.working_s_min)}  max {_hours(kpis.working_s_max)}  "
            f"std {_hours(kpis.working_s_std)}",
        )
    )
    rows.append(("solve time", f"{solve_s:.1f} s  (seed {seed})"))
    verdict = "OK" if report.ok else f"{len(report.violations)} VIOLATION(S)"
    rows.append(("checker", f"{verdict}: plan re-verified independently from the travel matrix"))
    title = problem.name or "problem"
    head = f"Plan for {title} on {problem.date.isoformat()}"
    width = max(len(label) for label, _ in rows) + 2
    lines = [head, "-" * len(head)]
    lines += [f"{label:<{width}}{value}" for label, value in rows]
    if not report.ok:
        lines += [f"  - {violation}" for violation in report.violations]
    return "\n".join(lines)


# --------------------------------------------------------------------------- entry point


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run the ``dispatch`` command; returns the exit code instead of exiting."""
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed help or the usage message
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    try:
        if args.command == "generate":
            return _cmd_generate(args, out)
        if args.command == "solve":
            return _cmd_solve(args, out, err)
        if args.command == "check":
            return _cmd_check(args, out)
        if args.command == "map":
            return _cmd_map(args, out)
        if args.command == "demo":
            return _cmd_demo(args, out, err)
        return _cmd_schema(args, out)
    except InputError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_BAD_INPUT
    except UsageError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_BAD_INPUT
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=err)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
