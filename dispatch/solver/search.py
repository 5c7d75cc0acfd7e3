"""Searching the routing model and turning its answer into a :class:`dispatch.plan.Plan`.

The search runs in two phases. First PyVRP's iterated local search (:mod:`dispatch.solver.ils`)
proposes routes for a share of the time limit (:data:`ILS_SHARE`, or :data:`ILS_SHARE_EXACT`
when it knows every rule of the problem, less repair's time on a large day:
:data:`REPAIR_S_PER_VISIT`); it finds much better routes than OR-Tools alone in the same time.
Then the OR-Tools model, which holds every rule of the day, reads those routes as its first
solution and improves them with guided local search until the time limit (GLS never
stops by itself) or, when given, a solution limit. If the proposal is
missing or does not fit the model, OR-Tools builds its own first solution by cheapest
insertion. With a solution limit the search is deterministic: the ILS phase then stops after
:data:`ILS_ITERATIONS_WHEN_LIMITED` iterations (per clock, see below) and the same problem and
seed give the same plan (unless the time limit strikes first).

The ILS phase does not know every rule (breaks, office calls, lateness, balance, preferences; see
:mod:`dispatch.solver.ils`); its routes are completed and repaired (:mod:`dispatch.solver.repair`)
before OR-Tools reads them, as are the routes of a proposal that could not serve every visit it had
to (``warm_start_feasible`` false): repair leaves out what does not fit. The repaired routes are
then searched further by ruin and recreate with every rule (:mod:`dispatch.solver.ruin`) until
OR-Tools has only a short polish left (:func:`polish_s`; :data:`RUIN_ITERATIONS_WHEN_LIMITED`
iterations with a solution limit), in the time OR-Tools' search had; where many visits are open
longer than two slots the proposal leaves it more (:data:`RUIN_OPEN_SHARE`). The ILS objective then
understates the real one, so progress is only reported from the ILS phase when it knows every rule
of the problem at hand; otherwise the first report comes from OR-Tools. On days with breaks, once
the proposal stops improving, a second one plans on a clock with the lunch cut out
(:data:`FOLD_AFTER_STALL_ITERATIONS`), and OR-Tools starts from the one its objective ranks better.
When too little of the limit is left to read the repaired routes into the model
(:data:`READ_S_PER_BUILD_S`), they stand as the plan unread. A fleet of more than a few speeds
is planned in speed classes (:mod:`dispatch.solver.speeds`) and timed at the agents' own.

``seed``: OR-Tools' routing search has no random seed, so the seed shuffles the order in which
visits become model nodes (see :func:`dispatch.solver.build.node_order`), which changes the
search's tie-breaking. Seed 0 keeps problem order. Different seeds give different, equally
valid plans; running a few and keeping the best is a cheap multi-start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Literal

from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util import optional_boolean_pb2

from dispatch.geo.matrix import TravelMatrix
from dispatch.model import Problem
from dispatch.plan import Plan, Reason, Route, StopKind, Unassigned
from dispatch.solver.build import COST_SCALE, RoutingBuild, build_model
from dispatch.solver.ils import (
    IlsRoutes,
    LunchFold,
    ils_is_exact,
    ils_prizes,
    ils_routes,
    lunch_fold,
    profile_budget_bytes,
)
from dispatch.solver.presolve import Presolve, agents_text, presolve
from dispatch.solver.repair import Improve, fitting_steps, warm_routes
from dispatch.solver.schedule import Step, model_travel, route_fits, time_route
from dispatch.solver.speeds import speed_classes
from dispatch.solver.validate import validate_inputs
from dispatch.solver.windows import open_long

# Measured on synth.generate(300 visits, 20 agents, seeds 1-5), haversine travel, GLS for 10 s
# on a shared 2-core machine: parallel cheapest insertion served 1479 of 1500 visits with 719k s
# of travel, local cheapest insertion 1480 with 726k s; path cheapest arc and savings were less
# steady (seed 1: 292 and 285 served against 298; seed 2: 300 and 294 against 298). Parallel
# insertion's first solution is the best by far (94-98% served within about a second, against
# 89-95%, 49-56% and 66-70%), which matters for short limits and progress, so it is the default.
FIRST_SOLUTION = "PARALLEL_CHEAPEST_INSERTION"
METAHEURISTIC = "GUIDED_LOCAL_SEARCH"
# Least time between two progress reports; the last best solution is always reported.
PROGRESS_INTERVAL_S = 0.25
# GLS never stops by itself, and on a model with no acceptable move (one visit, or visits
# pinned in place by their windows) it spins, failing ~400k moves a second, until the time
# limit, so a solution limit would never be reached. A real search fails a few hundred moves
# a second. Capping failures (work, not time, so results stay deterministic) ends the spin.
STALL_FAILURES_PER_S = 20_000
MIN_STALL_FAILURES = 100_000
# Share of the time limit given to the ILS phase, and its iteration cap in deterministic runs.
# With every field rule (synth.generate days: lunch breaks, office deliveries, soft windows,
# pins, preferences; haversine travel; shared 2-core machine) the warm start still pays:
# 300 visits / 20 agents, 20 s: seed 1 served 279 with 152k s of travel against 271 and 196k s
# cold; seed 2 285 and 156k s against 288 and 180k s. 1000 visits / 60 agents, 60 s: 936
# served (every break taken, every delivery after its call) against none cold, where OR-Tools
# finds no first solution in time. So the warm start stays on.
# Field days under 800 visits used to give the proposal only half the limit, leaving OR-Tools
# more time to re-insert what repair left out. Since repair exchanges, shortens and moves
# visits itself, the same share pays there too: synth.generate(300, 20) days, seeds 0-3,
# shared 2-core machine, 0.75 against 0.5 served 292, 289, 295 and 291 against 291, 287, 296
# and 289 at 30 s, and 296, 294, 299 and 294 against 296, 295, 298 and 293 at 60 s (seed 0
# with 40.7 h of travel against 42.6 h): better by the objective in six runs of eight.
ILS_SHARE = 0.75
# Where the proposal is not the whole problem, its repaired routes are searched further by ruin
# and recreate (dispatch.solver.ruin) in the time OR-Tools' guided local search had; OR-Tools then
# reads the routes and polishes them for POLISH_S, but never more than POLISH_MAX_SHARE nor less
# than POLISH_MIN_SHARE of the limit (polish_s). On booked 1000-visit field days at 30 s, with
# the polish at a tenth, repair's last moves ran past 90% of the limit on six days of eight, so
# ruin and recreate got nothing, and OR-Tools' 3 s improved two plans of four (seeds 0-3), by
# 0.7 h and by a minute. Ending ruin and recreate at 97% of the limit instead of 90%, booked
# field days, seeds 0-7, two runs side by side on a 2-core machine: better by the objective on
# 6 of 8 days at 1000 visits and 30 s (mean travel 101.7 h against 103.2 h, one visit fewer in
# all), 7 of 8 at 1000 and 60 s (98.9 h against 99.7 h, 6 more served), 4 of 8 at 300 and 30 s
# (3 more served) and 6 of 8 at 300 and 60 s; days open all day of 600 visits at 30 s 5 of 8
# (42.1 h against 42.4 h). At 100 visits and 10 s 97% was better on 4 days and worse on 3, one
# of them by a visit OR-Tools had fitted in its second: so the polish keeps a second where the
# limit allows.
POLISH_S = 1.0
POLISH_MIN_SHARE = 0.03
POLISH_MAX_SHARE = 0.1
# With a solution limit (no clock) it runs this many iterations instead, for the same plan.
RUIN_ITERATIONS_WHEN_LIMITED = 100
# The proposal gives up this share of the limit to ruin and recreate, times the share of visits
# open long (windows.open_long: longer than two booked slots in all): on such days the
# proposal's model of office calls misprices routes most (benchmarks/README.md, "Days open all
# day"), and insertions that fit are found most often.
RUIN_OPEN_SHARE = 0.1
# Where the proposal is the whole problem (ils_is_exact: no breaks, office calls, lateness,
# preferences or balance, as in plain VRPTW), OR-Tools' guided local search seldom improves it,
# so the proposal keeps nearly all the limit; OR-Tools still reads, checks and polishes it
# (0.7 s after the proposal on 1000 customers). Side by side, engine only, seed 0, shared
# 2-core machine: Solomon 56 at 5 s, mean gap 0.25% against 0.27% and 36 at the optimum
# against 34; the generated 1000-customer RC1 file at 60 s, 32528.1 against 32596.9.
ILS_SHARE_EXACT = 0.95
ILS_ITERATIONS_WHEN_LIMITED = 500
# The proposal leaves repair this long per visit of the day, where the share alone leaves less
# (it then takes never less than half its share). Repairing a plain 1000-visit proposal takes
# 2.1-2.3 s, but at 30 s ILS_SHARE_EXACT left repair 1.1 s after building the model, too
# little for its last turn, where a high visit far out may take a run of lower ones' place.
# Plain 1000-visit days, 30 s, seeds 0-3, two runs side by side on a 2-core machine: served
# 996, 992, 995 and 987 with every high visit kept, against 993, 991, 993 and 986 and a high
# visit out on seed 0 without the reserve. Solomon (100 customers at 5 s) and the generated
# 1000-customer file at 60 s already leave at least that, so keep their share.
REPAIR_S_PER_VISIT = 0.0025
# Building the model registers two travel matrices per speed, about 0.16 us per element of
# each pair: 0.24 s for a 1000-visit day with one speed and 18.7 s with 60; 1.85 s for a day the
# size of Lahore's (2601 visits, 217 agents) with one speed and 17.5 s with 8 speed classes
# (dispatch.solver.speeds). The proposal leaves the time of the speeds beyond the first, as it
# leaves repair's: with personal speeds that Lahore day (60 s) ended at 63.4 s serving 2568,
# now at 60.05 s serving 2589 (repair had 0.7 s, now 4.6 s). Days of one speed are unchanged.
MODEL_BUILD_S_PER_EXTRA_SPEED_ELEMENT = 1.6e-7
# On days with breaks the proposal runs on the plain clock until, past half its time, it goes
# max(FOLD_AFTER_STALL_ITERATIONS, FOLD_STALL_ITERATIONS_PER_VISIT x visits) iterations with
# nothing better; when that leaves at least FOLD_MIN_SHARE of its time, a second proposal runs
# on a clock with the lunch cut out (ils.LunchFold), and the model keeps whichever repaired
# proposal its objective ranks better. Repair drops fewer visits from the folded one, but
# PyVRP searches it worse on large days, so it only gets time the plain proposal does not need.
# Measured on synth.generate days with every field rule (seeds 0-3, two runs side by side on a
# 2-core machine, against the plain proposal alone): 40 visits / 2 agents at 2 s, better by
# the objective on 2 seeds and equal on 2 (seed 0: 25 served against 23); 100 / 8 at 5 s and
# 10 s, better on 4, equal on 3, worse on 1. A flat 2000 iterations also let 300- and
# 1000-visit days fold, with a half share or less for each clock: at 1000 visits and 60 s,
# 6 to 11 fewer served on three seeds of four; scaled by visits they keep the plain clock.
FOLD_AFTER_STALL_ITERATIONS = 2000
FOLD_STALL_ITERATIONS_PER_VISIT = 20
FOLD_MIN_SHARE = 0.2
# Least time left for the OR-Tools phase, which must at least read and check the warm start.
MIN_POLISH_S = 0.05
# Repair's moves stop this long before the limit. Without a deadline a 2000-visit day with 120
# agents (synth.generate, every field rule, 60-s limit) ended at 64.9 s: repair took about 18 s
# after the proposal's 45 s. Reading such routes into the model takes about as long (18 s when
# given 30 s); given 1.9 s the read failed after 4.5 s, given 0.05 s at once. Where repair runs
# to the limit the model could not read its routes in time anyway, so repair gets the whole
# limit bar this margin and its routes stand as the plan: that day now ends at 60.2 s with 1957
# served, every urgent and high visit among them. A 1000-visit day reads its routes in 0.3 s
# and finishes repair with 9 s to spare.
REPAIR_DEADLINE_MARGIN_S = 0.1
# OR-Tools checks its time limit seldom within its first moves from a plan it has read, and
# those take longer the more visits there are: from the proposal of the plain 2000-visit day of
# seed 3 (125 agents) the first better plan came 4.6 s in, and given 0.33 s or 0.88 s the
# search took 3.1 s, so the solve ended at 62.9 s of 60. A 1500-visit day given 0.13 s took
# 0.38 s, a 1000-visit day given 0.06 s 0.11 s. With less time left than this much a visit
# node (the model's size: one a visit, or one a slot where a visit has several), the plan read
# stands without that search (status warm_start_only), unless a solution limit asks for the
# search whatever the clock.
POLISH_MIN_S_PER_VISIT = 0.001
# Reading repaired routes into the model (closing it, then a first fit) takes a multiple of
# the time building it took, and runs past its own limit when given too little: on a
# 2000-visit field day with 125 agents (60 s) repair ended with 1.4 s left, the read failed
# after 4.0 s (the build had taken 1.1 s) and the solve ended at 62.5 s; on a 1000-visit field
# day (30 s) the read took 0.5 s after a 0.25-s build. With less time left than this multiple
# of the build, repair's routes stand as the plan unread, as when a read fails. The time goes
# into placing breaks: without them the read is quick (0.04 s on a plain 1000-visit day) and
# always runs. A solve with a solution limit always reads, so that its plan does not depend
# on the clock.
READ_S_PER_BUILD_S = 3.0
# With a metaheuristic, OR-Tools re-reads the first solution (warm start or not) in a nested
# search bounded by the LNS time limit, 0.1 s by default, and when that runs out the whole
# search ends with ROUTING_FAIL and no solution. Placing breaks costs a small CP-SAT model per
# route: on a 1000-visit day with 60 agents, all with a lunch break, re-reading took about
# 0.3 s, so OR-Tools stopped at once and the day kept the repaired proposal. The limit now
# grows with the routes that hold breaks, by four times that measured cost per route
# (0.3 s / 60) as a margin for slower machines, never past the search's own time limit.
LNS_TIME_LIMIT_S = 0.1
LNS_TIME_PER_BREAK_ROUTE_S = 0.02
# OR-Tools' path LNS re-inserts a route's visits by cheapest insertion and does not stop at the
# time limit while it runs. On the generated 1000-customer RC1 file (127 vehicles) a 60 s solve
# took 128 s and 143 s, and with the limit at 75 s 152 s; without the two path LNS operators
# it ended at 60.1 s in two runs, both at the best cost seen (32605.3). On a 1000-visit field
# day (30 s, seed 0) it served the same 968 visits without them. On 300-visit days they
# still pay now and then (seed 0 at 30 s: 293 served with them, 287 without; seed 1: 293
# against 295), so they are turned off only above this many visit nodes.
PATH_LNS_MAX_VISIT_NODES = 500

BOOL_FALSE = optional_boolean_pb2.BOOL_FALSE

_STATUS = {
    routing_enums_pb2.RoutingSearchStatus.ROUTING_NOT_SOLVED: "not_solved",
    routing_enums_pb2.RoutingSearchStatus.ROUTING_SUCCESS: "success",
    routing_enums_pb2.RoutingSearchStatus.ROUTING_PARTIAL_SUCCESS_LOCAL_OPTIMUM_NOT_REACHED: (
        "partial_success"
    ),
    routing_enums_pb2.RoutingSearchStatus.ROUTING_FAIL: "fail",
    routing_enums_pb2.RoutingSearchStatus.ROUTING_FAIL_TIMEOUT: "fail_timeout",
    routing_enums_pb2.RoutingSearchStatus.ROUTING_INVALID: "invalid",
    routing_enums_pb2.RoutingSearchStatus.ROUTING_INFEASIBLE: "infeasible",
    routing_enums_pb2.RoutingSearchStatus.ROUTING_OPTIMAL: "optimal",
}


@dataclass(frozen=True, slots=True)
class SearchProgress:
    """A snapshot of a running search, passed to the progress callback.

    ``objective`` is the model's objective (travel seconds plus drop penalties); ``served`` of
    ``total`` visits of the problem (presolved-out visits count in ``total``). ``phase`` is
    ``"proposal"`` while the ILS phase proposes routes, ``"repair"`` while the proposal is fitted
    to every rule (after each of repair's stages, without an objective) and ``"model"`` once the
    full model has a solution. A proposal that does not know every rule (offices, breaks, soft
    windows) has no objective of the model's (``None``), and repair may still drop some of the
    visits it serves.
    """

    elapsed_s: float
    solutions: int
    objective: int | None
    served: int
    total: int
    phase: Literal["proposal", "repair", "model"] = "model"


def search_parameters(
    time_limit_s: float,
    solution_limit: int | None,
    first_solution: str = FIRST_SOLUTION,
    metaheuristic: str = METAHEURISTIC,
    break_routes: int = 0,
    visit_nodes: int = 0,
) -> Any:
    """Routing search parameters: first solution, metaheuristic, limits, no log.

    ``break_routes``: how many agents have breaks to place (see :data:`LNS_TIME_LIMIT_S`);
    ``visit_nodes``: the model's visit nodes (see :data:`PATH_LNS_MAX_VISIT_NODES`).
    """
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, first_solution
    )
    params.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, metaheuristic
    )
    # Breaks make route scheduling a mixed-integer problem, which OR-Tools hands to CP-SAT per
    # route (the default, kept). GLOP's relaxation made GLS faster on a 40-visit day with lunch
    # breaks (60 solutions in 1.9 s against 5.6 s) but reading a 1000-visit, 60-agent warm
    # start took 11.5 s with it against 2.3 s with CP-SAT (4.5 s with scheduling disabled).
    params.time_limit.FromMilliseconds(max(1, round(time_limit_s * 1000)))
    lns_s = min(time_limit_s, LNS_TIME_LIMIT_S + LNS_TIME_PER_BREAK_ROUTE_S * break_routes)
    params.lns_time_limit.FromMilliseconds(round(max(lns_s, LNS_TIME_LIMIT_S) * 1000))
    if solution_limit is not None:
        params.solution_limit = solution_limit
    params.log_search = False
    if visit_nodes > PATH_LNS_MAX_VISIT_NODES:
        operators = params.local_search_operators
        operators.use_global_cheapest_insertion_path_lns = BOOL_FALSE
        operators.use_local_cheapest_insertion_path_lns = BOOL_FALSE
    return params


class _Monitor:
    """Counts solutions and reports improving ones, at most every PROGRESS_INTERVAL_S."""

    def __init__(
        self,
        build: RoutingBuild,
        total: int,
        started_s: float,
        progress: Callable[[SearchProgress], None] | None,
    ) -> None:
        self.build = build
        self.total = total
        self.started_s = started_s
        self.progress = progress
        self.solutions = 0
        self.best: int | None = None
        self.best_served = 0
        self.reported: int | None = None
        self.last_report_s = -PROGRESS_INTERVAL_S

    def __call__(self) -> None:
        self.solutions += 1
        if self.progress is None:
            return
        objective = round(self.build.routing.CostVar().Value() / COST_SCALE)
        if self.best is not None and objective >= self.best:
            return
        self.best = objective
        self.best_served = self._served()
        now_s = time.perf_counter() - self.started_s
        if now_s - self.last_report_s >= PROGRESS_INTERVAL_S:
            self._report(now_s)

    def finish(self) -> None:
        """Report the best solution if throttling held it back."""
        if self.progress is not None and self.best is not None and self.reported != self.best:
            self._report(time.perf_counter() - self.started_s)

    def _served(self) -> int:
        routing, manager = self.build.routing, self.build.manager
        return sum(
            1
            for n in range(len(self.build.node_visits))
            if routing.ActiveVar(manager.NodeToIndex(n)).Value()
        )  # at most one node of a visit is active

    def _report(self, now_s: float) -> None:
        assert self.progress is not None and self.best is not None
        self.last_report_s = now_s
        self.reported = self.best
        self.progress(
            SearchProgress(now_s, self.solutions, self.best, self.best_served, self.total)
        )


def solve(
    problem: Problem,
    matrix: TravelMatrix,
    *,
    time_limit_s: float = 10.0,
    seed: int = 0,
    solution_limit: int | None = None,
    progress: Callable[[SearchProgress], None] | None = None,
    warm_start: bool = True,
) -> Plan:
    """Assign and order the problem's visits to its agents (see the module docstring).

    ``warm_start=False`` skips the ILS phase and gives OR-Tools the whole time limit.

    Raises :class:`dispatch.errors.InputError` for input the model cannot take (wrong matrix
    size, visits without windows, unknown services, ...). Visits that cannot be served come
    back unassigned with a reason.
    """
    validate_inputs(problem, matrix, time_limit_s=time_limit_s, solution_limit=solution_limit)
    started_s = time.perf_counter()
    if progress is not None:
        progress = _Improving(progress, started_s)
    # The search plans the day with speeds in a few classes; the plan is timed with the real ones.
    work = speed_classes(problem)
    pre = presolve(work, matrix)
    unassigned = dict(pre.unassigned)
    facts: dict[str, Any] = {
        "status": "nothing_to_route",
        "objective": 0,
        "solve_time_s": 0.0,
        "seed": seed,
        "time_limit_s": time_limit_s,
        "solutions": 0,
        "first_solution": FIRST_SOLUTION,
        "metaheuristic": METAHEURISTIC,
        "warm_start": "none",
        "ils_iterations": 0,
        "ruin_iterations": 0,
        "ruin_s": 0.0,
        "ruin_saved_s": 0,
        "warm_start_dropped": 0,
        "warm_start_folded": False,
        "warm_start_feasible": None,
        "routes_cut_to_fit": 0,
    }
    routes_by_agent: dict[int, list[Step]] = {}
    if pre.candidates:
        warms: list[tuple[IlsRoutes, LunchFold | None]] = []
        if warm_start:
            # The proposals end at their share of the limit, counted from the start.
            end_s = time_limit_s * _ils_share(work, len(pre.candidates), time_limit_s)
            fold = lunch_fold(work)
            clocks: list[LunchFold | None] = [None]
            facts["warm_start"] = "pyvrp-ils"
            while clocks:
                clock = clocks.pop(0)
                ils_s = end_s - (time.perf_counter() - started_s)
                stall = None
                if clock is None and fold is not None:
                    stall = max(
                        FOLD_AFTER_STALL_ITERATIONS,
                        FOLD_STALL_ITERATIONS_PER_VISIT * len(pre.candidates),
                    )
                warm = _warm_start(
                    work,
                    matrix,
                    pre,
                    ils_s,
                    seed,
                    solution_limit,
                    progress,
                    clock,
                    stall,
                    profile_budget_bytes(work, end_s),
                )
                if warm is None:  # too large to hand over (and so on the other clock)
                    if not warms:
                        facts["warm_start"] = "declined"
                    break
                facts["ils_iterations"] += warm.iterations
                # A proposal that could not serve every required visit still goes to repair,
                # which leaves out what does not fit. Dropped instead, it left OR-Tools to start
                # from nothing in the rest of the limit: a plain 1000-visit day (synth seed 0),
                # every visit required, 45 agents, 30 s served 5 visits that way and 792 this way.
                warms.append((warm, clock))
                left_s = end_s - (time.perf_counter() - started_s)
                # With a solution limit both clocks run, whatever the time, for the same plan.
                if stall is not None and (
                    solution_limit is not None or left_s >= FOLD_MIN_SHARE * end_s
                ):
                    clocks.append(fold)
        build_started_s = time.perf_counter()
        build = build_model(work, matrix, pre, seed)
        build_s = time.perf_counter() - build_started_s
        read_s = READ_S_PER_BUILD_S * build_s if build.break_routes else 0.0
        monitor = _Monitor(build, len(problem.visits), started_s, progress)
        build.routing.AddAtSolutionCallback(monitor)
        # Repair's moves stop at the limit (see REPAIR_DEADLINE_MARGIN_S).
        repair_deadline_s = started_s + time_limit_s - REPAIR_DEADLINE_MARGIN_S
        on_repaired = _repair_reports(progress, len(problem.visits))
        # Ruin and recreate on the repaired routes ends here, before OR-Tools reads them.
        ruin_end_s = started_s + time_limit_s - polish_s(time_limit_s) - read_s
        proposals = []
        for i, (warm, _) in enumerate(warms):
            improve = None
            if not ils_is_exact(work):
                # Each proposal's repair and search end by its share of the time left.
                now_s = time.perf_counter()
                limited = solution_limit is not None
                improve = Improve(
                    seed,
                    None if limited else now_s + (ruin_end_s - now_s) / (len(warms) - i),
                    RUIN_ITERATIONS_WHEN_LIMITED if limited else None,
                )
            proposals.append(
                warm_routes(
                    work,
                    matrix,
                    build,
                    warm.routes,
                    pre.allowed,
                    repair_deadline_s,
                    on_repaired,
                    improve,
                )
            )
            if improve is not None and improve.result is not None:
                facts["ruin_iterations"] += improve.result.iterations
                facts["ruin_s"] = round(facts["ruin_s"] + improve.result.search_s, 3)
                facts["ruin_saved_s"] += improve.result.cost_before_s - improve.result.cost_after_s

        def polish_parameters() -> Any:
            # Repair and reading proposals take their share of the limit too (about a second
            # each on a 1000-visit day).
            remaining_s = max(MIN_POLISH_S, time_limit_s - (time.perf_counter() - started_s))
            return search_parameters(
                remaining_s,
                solution_limit,
                break_routes=build.break_routes,
                visit_nodes=len(build.node_visits),
            )

        params = polish_parameters()
        failures = max(
            MIN_STALL_FAILURES,
            round(STALL_FAILURES_PER_S * params.time_limit.ToMilliseconds() / 1000),
        )
        build.routing.AddSearchMonitor(build.routing.solver().FailuresLimit(failures))
        assignment = None
        unpolished = False  # the proposal read stands without OR-Tools' search
        repaired: dict[int, list[int]] | None = None
        if proposals:
            chosen, initial = 0, None
            limit_left_s = time_limit_s - (time.perf_counter() - started_s)
            if solution_limit is None and limit_left_s < read_s:
                facts["warm_start"] = "unread"
            else:
                chosen, initial = _read_best(
                    build, params, [routes for routes, _ in proposals], monitor
                )
                params = polish_parameters()
                if initial is None:
                    facts["warm_start"] = "rejected"
            repaired, facts["warm_start_dropped"] = proposals[chosen]
            facts["warm_start_folded"] = warms[chosen][1] is not None
            facts["warm_start_feasible"] = warms[chosen][0].feasible
            if initial is not None:
                repaired = None
                left_s = time_limit_s - (time.perf_counter() - started_s)
                if solution_limit is None and left_s < POLISH_MIN_S_PER_VISIT * len(
                    build.node_visits
                ):
                    assignment, unpolished = initial, True
                else:
                    assignment = build.routing.SolveFromAssignmentWithParameters(initial, params)
                if assignment is None:  # out of time before the first move: keep what was read
                    assignment = initial
        if assignment is None and repaired is None:
            assignment = build.routing.SolveWithParameters(params)
        monitor.finish()
        facts["status"] = (
            "warm_start_only"
            if unpolished
            else _STATUS.get(build.routing.status(), str(build.routing.status()))
        )
        facts["solutions"] = monitor.solutions
        if assignment is not None:
            facts["objective"] = round(assignment.ObjectiveValue() / COST_SCALE)
            routes_by_agent = _routes_of(build, assignment)
        elif repaired is not None:
            # The model could not read the repaired warm start in time; it is valid as it
            # stands (repair times it as the model would), so it is the plan.
            facts["status"] = "warm_start_only"
            routes_by_agent = {k: _steps_of(build, nodes) for k, nodes in repaired.items() if nodes}
        for k, steps in list(routes_by_agent.items()):
            if not route_fits(
                problem, k, steps, model_travel(matrix, problem.agents[k].speed_factor)
            ):
                # The model lets a break overlap an office call (the call is part of the ride
                # into its node); such a route cannot be timed. Keep what fits, in order.
                routes_by_agent[k] = fitting_steps(problem, matrix, build, k, steps)
                facts["routes_cut_to_fit"] += 1
        served = {
            step.pos
            for steps in routes_by_agent.values()
            for step in steps
            if step.kind == StopKind.VISIT
        }
        for v in build.visit_order:
            if v not in served:
                unassigned[v] = _dropped(problem, pre, v, assignment is None and repaired is None)
    routes: list[Route] = [
        time_route(problem, matrix, a, routes_by_agent[a])
        for a in range(len(problem.agents))
        if routes_by_agent.get(a)
    ]
    facts["solve_time_s"] = round(time.perf_counter() - started_s, 3)
    plan = Plan(
        tuple(routes),
        tuple(unassigned[v] for v in sorted(unassigned)),
        MappingProxyType(facts),
    )
    _assert_partition(problem, plan)
    return plan


def polish_s(time_limit_s: float) -> float:
    """Seconds of the limit left to OR-Tools' polish after ruin and recreate (see POLISH_S)."""
    return min(POLISH_MAX_SHARE * time_limit_s, max(POLISH_MIN_SHARE * time_limit_s, POLISH_S))


class _Improving:
    """Forwards only strictly improving reports, with one clock and one solution count across
    the ILS and OR-Tools phases. A report without an objective (a proposal that does not know
    every rule) improves by serving more, only until the model reports, and is not counted as
    a solution. Repair's stage reports are always forwarded and never counted."""

    def __init__(self, progress: Callable[[SearchProgress], None], started_s: float) -> None:
        self.progress = progress
        self.started_s = started_s
        self.best: int | None = None
        self.best_served: int | None = None
        self.solutions = 0

    def __call__(self, report: SearchProgress) -> None:
        # Repair's stages are not solutions: each is shown, none becomes the best.
        if report.phase != "repair" and not self._improves(report):
            return
        elapsed_s = time.perf_counter() - self.started_s
        self.progress(replace(report, elapsed_s=elapsed_s, solutions=self.solutions))

    def _improves(self, report: SearchProgress) -> bool:
        if report.objective is None:
            if self.best is not None or (
                self.best_served is not None and report.served <= self.best_served
            ):
                return False
            self.best_served = report.served
            return True
        self.solutions += 1
        if self.best is not None and report.objective >= self.best:
            return False
        self.best = report.objective
        return True


def _repair_reports(
    progress: Callable[[SearchProgress], None] | None, total: int
) -> Callable[[int], None] | None:
    """A callback for repair's stages that reports the visits served as ``"repair"``
    progress, or None without a display."""
    if progress is None:
        return None

    def on_served(served: int) -> None:
        progress(SearchProgress(0.0, 0, None, served, total, "repair"))

    return on_served


def _open_long_share(problem: Problem) -> float:
    """The share of visits open longer than :data:`~dispatch.solver.windows.LONG_OPEN_S`."""
    if not problem.visits:
        return 0.0
    return sum(open_long(v.windows) for v in problem.visits) / len(problem.visits)


def _ils_share(problem: Problem, candidates: int, time_limit_s: float) -> float:
    """The share of the limit the proposals take: :data:`ILS_SHARE_EXACT` or
    :data:`ILS_SHARE`, less what repair needs on a large day (:data:`REPAIR_S_PER_VISIT`) and
    what building the model takes for each speed beyond the first
    (:data:`MODEL_BUILD_S_PER_EXTRA_SPEED_ELEMENT`), but never below half that share."""
    if ils_is_exact(problem):
        share = ILS_SHARE_EXACT
    else:
        share = ILS_SHARE - RUIN_OPEN_SHARE * _open_long_share(problem)
    extra_speeds = max(0, len({a.speed_factor for a in problem.agents}) - 1)
    # about the model's nodes: each visit, each delivery's call, each agent's start and end
    calls = sum(v.pickup_office is not None for v in problem.visits)
    nodes = candidates + calls + 2 * len(problem.agents)
    after_s = (
        REPAIR_S_PER_VISIT * candidates
        + MODEL_BUILD_S_PER_EXTRA_SPEED_ELEMENT * extra_speeds * nodes * nodes
    )
    return max(share / 2, min(share, 1 - after_s / time_limit_s))


def _warm_start(
    problem: Problem,
    matrix: TravelMatrix,
    pre: Presolve,
    time_limit_s: float,
    seed: int,
    solution_limit: int | None,
    progress: Callable[[SearchProgress], None] | None,
    fold: LunchFold | None,
    stall_iterations: int | None,
    max_profile_bytes: int,
) -> IlsRoutes | None:
    """Routes proposed by the ILS phase within ``time_limit_s``, with prizes tiered by
    priority (see ils_prizes), on a clock with ``fold`` cut out, ending early after
    ``stall_iterations`` without a better solution, with a matrix per skill set only within
    ``max_profile_bytes``."""
    prizes = ils_prizes(problem, pre.candidates)
    on_best = None
    if progress is not None:
        # Where the proposal is the whole problem its objective is the model's; elsewhere it
        # is not comparable, but the visits it serves still show that the search is alive.
        exact = ils_is_exact(problem)

        def on_best(objective: int, served: int) -> None:
            shown = objective if exact else None
            progress(SearchProgress(0.0, 0, shown, served, len(problem.visits), "proposal"))

    return ils_routes(
        problem,
        matrix,
        pre.candidates,
        pre.allowed,
        prizes,
        time_limit_s=time_limit_s,
        seed=seed,
        max_iterations=ILS_ITERATIONS_WHEN_LIMITED if solution_limit is not None else None,
        on_best=on_best,
        fold=fold,
        stall_iterations=stall_iterations,
        max_profile_bytes=max_profile_bytes,
    )


def _read_best(
    build: RoutingBuild, params: Any, proposals: list[dict[int, list[int]]], monitor: _Monitor
) -> tuple[int, Any]:
    """The proposal (model nodes per agent) the model's objective ranks first, and its
    assignment, or the first proposal and None if the model reads none of them.

    Proposals read only to be compared do not count as solutions of the search.
    """
    _close_for_reading(build, params)
    counted = monitor.solutions
    objectives: list[int | None] = []
    last = None
    for routes in proposals:
        last = _read_routes(build, routes)
        objectives.append(None if last is None else last.ObjectiveValue())
    read = [i for i, objective in enumerate(objectives) if objective is not None]
    if not read:
        monitor.solutions = counted
        return 0, None
    best = min(read, key=lambda i: (objectives[i], i))
    if best == len(proposals) - 1:
        monitor.solutions = counted + 1
        return best, last
    monitor.solutions = counted
    return best, _read_routes(build, proposals[best])


def _read_routes(build: RoutingBuild, routes: dict[int, list[int]]) -> Any:
    """Warm-start routes (model nodes per agent) as an assignment, or None if refused."""
    indices = [
        [build.manager.NodeToIndex(n) for n in routes.get(k, [])]
        for k in range(build.routing.vehicles())
    ]
    return build.routing.ReadAssignmentFromRoutes(indices, True)


def _close_for_reading(build: RoutingBuild, params: Any) -> None:
    """Close the model so that reading routes stops at the first fit.

    Reading searches for the values the routes leave open (times, break placements) and, left
    alone, goes on looking for better ones until the time limit (with breaks on a 1000-visit
    day that is the whole limit); the first fit is enough here, the search that follows gets
    the caller's limits again.
    """
    first_fit = type(params)()
    first_fit.CopyFrom(params)
    first_fit.solution_limit = 1
    build.routing.CloseModelWithParameters(first_fit)


def _routes_of(build: RoutingBuild, assignment: Any) -> dict[int, list[Step]]:
    """Each agent's stops in the assignment."""
    routing, manager = build.routing, build.manager
    routes: dict[int, list[Step]] = {}
    for k in range(routing.vehicles()):
        nodes: list[int] = []
        index = assignment.Value(routing.NextVar(routing.Start(k)))
        while not routing.IsEnd(index):
            nodes.append(manager.IndexToNode(index))
            index = assignment.Value(routing.NextVar(index))
        if nodes:
            routes[k] = _steps_of(build, nodes)
    return routes


def _steps_of(build: RoutingBuild, nodes: list[int]) -> list[Step]:
    """Model nodes as stops; a run of pickup nodes of one office becomes one call."""
    n_visit_nodes = len(build.node_visits)
    steps: list[Step] = []
    for node in nodes:
        if node < n_visit_nodes:
            steps.append(
                Step(StopKind.VISIT, build.node_visits[node], window=build.node_windows[node])
            )
            continue
        office, delivery = build.pickup_nodes[node - n_visit_nodes]
        last = steps[-1] if steps else None
        if last is not None and last.kind == StopKind.PICKUP and last.pos == office:
            steps[-1] = Step(StopKind.PICKUP, office, (*last.collects, delivery))
        else:
            steps.append(Step(StopKind.PICKUP, office, (delivery,)))
    return steps


def _dropped(problem: Problem, pre: Presolve, v: int, no_solution: bool) -> Unassigned:
    visit = problem.visits[v]
    if no_solution:
        text = f"Visit {visit.id} was not planned: the search found no solution in time."
    else:
        text = (
            f"Visit {visit.id} could be served on its own, but not together with the visits "
            "that matter more or fit better: agents ran out of time, visits or capacity. "
            f"Agents able to serve it alone: {agents_text(problem, pre.allowed[v])}."
        )
    return Unassigned(visit.id, Reason.CAPACITY_OR_TIME, text)


def _assert_partition(problem: Problem, plan: Plan) -> None:
    """Every visit is in exactly one route or in the unassigned list, never both."""
    seen = plan.served_ids() + [u.visit_id for u in plan.unassigned]
    expected = [v.id for v in problem.visits]
    if sorted(seen) != sorted(expected):
        raise AssertionError("plan does not list every visit exactly once")
