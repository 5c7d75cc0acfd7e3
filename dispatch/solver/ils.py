"""Route search with PyVRP's iterated local search, as a warm start for the full model.

PyVRP finds far better VRPTW routes in a few seconds than OR-Tools' guided local search, but it
does not know every rule of a Dastak day. So it only proposes routes: the OR-Tools model
(:mod:`dispatch.solver.search`) reads them as its first solution, enforces every constraint and
keeps improving. What PyVRP is told here is a faithful subset of the problem:

- each agent (or group of identical agents) is a vehicle type with its own start and end depot,
  shift window, capacities and a routing *profile*; a profile holds the agent's travel times
  (speed factor and worst-case congestion applied) with every visit the agent lacks the skills for
  made unreachable, which is how skills are expressed;
- a visit with several booked slots becomes one client per slot in a mutually exclusive group,
  while such extra clients are few; past that, a visit gets only its least full slot, and a
  window longer than a slot may be cut to its least full slice (:mod:`dispatch.solver.slots`);
- ``max_visits`` is one more load dimension in which every visit weighs one;
- droppable visits carry a prize by priority tier (:func:`ils_prizes`), so PyVRP serves before
  it saves travel and keeps urgent visits over normal ones; the full model then applies the
  exact, strictly tiered penalties;
- an agent who may serve a visit few others may (:func:`scarce_candidates`) pays
  :data:`SCARCE_RESERVE_S` more in the objective for each other visit it takes, so its day
  keeps room for those visits; where the proposal is the whole problem and the search has
  time enough (:func:`polishes`), it goes on for its last part from its best on the travel
  alone, keeping every visit it serves;
- breaks are not placed: each agent's route may only last its shift minus its breaks (a
  break that must start before the shift delays the start instead). With a :class:`LunchFold`
  the break most agents owe is cut out of the clock instead: every time after its window opens
  moves earlier by its length, as if it were taken at the first free moment after that, so
  the proposal no longer packs visits into the time the break will take.

A ride into a delivery passes by its office (:func:`_via_offices`), so routes group
deliveries behind one call. On days up to 600 visits, where PyVRP's copy of its matrices is
cheap, the proposal gives each route that delivers the office it delivers most for, half way
through: the route then calls there once and delivers anywhere after
(:mod:`dispatch.solver.calls`). PyVRP knows no other office calls as stops, no lateness (soft
windows are hard here), no office hours, no balance and no preferences;
:mod:`dispatch.solver.repair` completes the routes (inserting office calls, placing breaks)
and drops what no longer fits before the full model reads them.

When a profile per skill set would take too much memory, profiles go by speed alone: every
agent may take every visit in the proposal, and repair gives a visit proposed to an agent who
may not serve it to one who may. Only when even those would not fit does the adapter decline,
and the caller searches without a warm start.
"""

from __future__ import annotations

import math
import time
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pyvrp
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.search import NeighbourhoodParams, PerturbationParams
from pyvrp.stop import MaxIterations, MultipleCriteria, StoppingCriterion

from dispatch.geo.matrix import TravelMatrix, agent_travel_matrix_s
from dispatch.model import DAY_S, PRIORITY_ORDER, Break, Problem, can_serve
from dispatch.solver import granular
from dispatch.solver.build import COST_SCALE, worst_case_travel_s
from dispatch.solver.calls import (
    DESIGNATE_AFTER_SHARE,
    CallLayout,
    designate,
    designates,
)
from dispatch.solver.penalties import drop_penalties
from dispatch.solver.schedule import breaks_in_play
from dispatch.solver.slots import proposal_slots

# A travel time that makes an arc useless (forbidden): longer than any shift.
UNREACHABLE_S = 4 * DAY_S
# Upper bound on the memory the per-profile matrices may take.
MAX_PROFILE_BYTES = 1_500_000_000
MAX_VISITS_DIMENSION = "__visits__"
OFFICE_DIMENSION = "__office__:"  # an office's documents (see dispatch.solver.calls)
# Prize of a normal visit in the ILS phase (seconds of travel) and the ratio between tiers.
PRIZE_BASE_S = 4 * 3600
PRIZE_TIER_RATIO = 20
TOP_PRIZE_S = PRIZE_BASE_S * PRIZE_TIER_RATIO ** len(PRIORITY_ORDER)  # a required visit's
# Where a matrix per skill set would not fit (MAX_PROFILE_BYTES), each skill is a load instead:
# a visit needing it weighs SKILL_LOAD there, and an agent without it has no room. Before,
# every agent could take every visit there and repair moved the rest: on the 2000-visit field
# day of seed 1 (125 agents, 74 skill sets, 40 s) the proposal put 812 of its 2000 visits on
# agents who may not serve them, against 17 (pinned visits) as loads. Whole solves at 60 s,
# seeds 0-3, two at a time, served / travel h:
# - field days: 1990/172.6, 1990/186.5, 1986/173.2, 1986/184.1 against 1960/168.5,
#   1940/170.5, 1919/165.8, 1928/170.9 (every urgent and high visit served in both);
# - plain days: 1998/101.8, 1998/106.0, 1996/100.8, 1996/104.7 against 1978/104.3,
#   1969/114.9, 1904/108.4, 1940/116.2.
# PyVRP charges excess load at most max_penalty a unit, below the prize of a high or urgent
# visit: with a unit weight the proposal of that seed-1 day at 40 s came back infeasible. At the
# weight below, at its highest penalty, no prize pays for a visit on an unskilled agent.
SKILL_LOAD = TOP_PRIZE_S // int(pyvrp.PenaltyParams().max_penalty) + 1
# A matrix per skill set also costs time before the first iteration: on a plain 1000-visit
# day (39 sets, 685 MB) building them took 1.1 s and PyVRP's set-up over every one most of
# the 1.8 s its call took, against 0.05 s and 0.6 s with skills as loads, so 1-s solves of
# that day ended at 2.5-3.0 s. On a short proposal the sets are kept only within this many
# bytes per second of it, by day kind; past that, skills are loads (SKILL_LOAD) as on the
# largest days, and there is no reserve for scarce visits. 1000-visit days, 60 agents, seeds
# 0-3, two at a time, this rule against a matrix per set:
# - field days (742 MB): at 1 and 2 s the solves ended at 1.2-1.3 s and 2.0-2.4 s, against
#   2.8-3.2 s and 3.0-4.2 s; at 5 and 7 s better by the objective on 3 seeds of 4 each (5 s,
#   seed 0: 976 served with 121.9 h against 964 with 136.5 h); with loads at 10 s even (2 of
#   4), at 15 s worse on all 4 (985/97.7 against 994/107.5, seed 0);
# - plain days (685 MB): at 1 and 2 s the solves ended at 1.0 and 2.0 s, against 2.5-3.0 s
#   and 2.3-2.7 s; at 3 s even (2 of 4; 3 of 4 in another run); with loads at 5 s worse on
#   all 4 (988/90.6 against 992/107.1, seed 2).
# So plain days keep the sets on proposals about a third as long as field days need. A likely
# reason: there the proposal is the whole problem, so what the sets and the reserve buy it
# stays in the plan; on field days repair and the model rework the proposal. The proposal takes
# 1.4 s of a 3-s plain day and 2.5 s of a 5-s one (search.ILS_SHARE_EXACT, less repair's
# time), 2.5 s of a 5-s field day and 7.5 s of a 10-s one.
PROFILE_BYTES_PER_PROPOSAL_S = 100_000_000
PROFILE_BYTES_PER_PROPOSAL_S_EXACT = 340_000_000
SKILL_DIMENSION = "__skill__:"
# The most clients one perturbation step may move, except on plain VRPTW (see
# keeps_pyvrp_settings), where PyVRP's default, 25, stays: 10 took the Solomon 56
# at 5 s from a mean gap of 0.27% to 0.78%. On synth.generate days with every field rule
# (seeds 0-3, shared 2-core machine) 10 runs about twice the iterations and the final plans
# served more: 1000 visits / 60 agents at 60 s, 966, 964, 953 and 948 served against 959, 961,
# 950 and 946 (better by priority on three seeds of four; travel 95.5, 100.9, 96.8 and
# 101.4 h against 96.3, 100.4, 100.7 and 97.3); 300 visits / 20 agents at 30 s, more served
# on every seed (286, 292, 297, 290 against 284, 290, 295, 284).
MAX_PERTURBATIONS_INEXACT = 10
# Each client's granular neighbourhood: the nearest clients its moves are tried with. PyVRP's
# default, 50, stays on plain VRPTW (keeps_pyvrp_settings); elsewhere 80, which makes each
# iteration slower (about 9,000 iterations in 28 s instead of 14,500) but finds the last visits
# and shorter routes sooner on days with skills and priorities. The proposal alone, 28 s, two
# runs at a time on a 2-core machine, synth.generate days without field rules, 1000 visits /
# 60 agents, seeds 0-7: 996, 998, 995, 980, 994, 994, 994 and 992 served against 998 (999 in
# a second run), 995, 991, 979, 990, 993, 990 and 990, with less travel on all eight (64.0 h
# against 68.1 h on average over seeds 0-3, 64.7 h against 69.5 h over seeds 4-7; 120 on 0-3:
# 993.0 served and 67.9 h; 30 neighbours: 976.2 served); 300 visits / 20 agents, seeds 0-3,
# 297, 299, 300 and 298 against 298, 294, 300 and 299, with less travel on all four. Whole
# solves of days with every field rule, seeds 0-3: at 1000 visits 988.2 and 991.5 served on
# average at 30 s and 60 s with 96.1 and 94.2 h of travel, against 987.8 and 989.5 with 98.9
# and 97.2 h; at 300 visits the same within a visit and 0.6 h.
NUM_NEIGHBOURS_INEXACT = 80
# PyVRP accepts a candidate worse than the current solution if it beats the one of
# history_length iterations ago (late acceptance). Its default, 300, suits long runs; where
# each visit gets only a few dozen iterations before time runs out, a shorter history serves
# more. Measured on synth.generate days with every field rule, two runs at a time on a 2-core
# machine. The proposal alone, 1000 visits / 60 agents in 45 s (about 27 iterations a
# visit), visits served with history 300, 100, 50 and 20: seed 0 978, 989, 985, 988; seed 1
# 974, 990, 983, 988; seeds 2 and 3, 300 against 100: 969 and 955 against 980 and 981. In
# 22 s (about 12 a visit), 300, 100 and 30: seed 0 970 (an urgent visit left out), 976, 987;
# seed 1 958, 979, 984. 300 visits / 20 agents in 22 s (about 90 a visit): 300 better by the
# objective than 100 and 50 on three seeds of four. The best history was about three times
# the iterations a visit gets, but the whole solve (repair and OR-Tools after the proposal)
# left out an urgent and two high visits on one 1000-visit day at 30 s with 41, so the
# history stops at MIN_HISTORY. With it, 1000-visit days, seeds 0-3, against 300: at 60 s
# 972, 976, 965 and 964 served against 972, 972, 957 and 959 (better by the objective on
# seeds 2 and 3; seed 1 left out two high visits against one); at 30 s 968, 970, 962 and 964
# against 967, 964, 946 and 965 (better on three seeds). Travel: 88.8, 96.4, 95.1 and
# 98.1 h against 90.1, 97.0, 92.5 and 95.0 h at 60 s. Plain VRPTW
# (keeps_pyvrp_settings) keeps 300: the Solomon 56 at 5 s, where the rule gives about 270, had
# a mean gap of 0.40% against 0.25% (one run, seed 0).
PYVRP_HISTORY = pyvrp.IteratedLocalSearchParams().history_length
MIN_HISTORY = 100
HISTORY_PER_ITERATION_PER_CLIENT = 3.0
# PyVRP starts its penalties (time warp, load) halfway up their range (50,000 a unit) and
# lowers them by a tenth every solutions_between_updates iterations (500) while most solutions
# are feasible: on a short search that takes most of the run, and with prizes for visits that
# may be left out the search barely crosses infeasible ground to fit one more in. On plain
# days (no field rules, visits optional: synth.generate(features=False), seeds 0-3, two runs
# at a time on a 2-core machine), with the smaller perturbations and shorter history of field
# days, updating every 50 iterations served 299, 298, 300 and 298 of 300 visits / 20 agents
# at 30 s, against 298, 296, 298 and 297 updating every 500 and 290, 297, 299 and 296 with
# PyVRP's settings; 1000 visits / 60 agents, 998 and 994 at 30 s (seeds 0 and 1) against 995
# and 996, and 995 and 995 at 60 s (seeds 2 and 3) against 991 (a high visit left out) and
# 992. Better by the objective than both in 7 of the 8 runs, and than PyVRP's settings in all
# 8. On field days it made no steady difference (better in 7 of 16 runs, worse in 7: 300 and
# 1000 visits at 30 s and 60 s, seeds 0-3), so there the default stays.
PENALTY_UPDATE_ITERATIONS = 50
# A visit at most this share of the agents may serve (skills, pins, reach) is scarce. An agent
# who may serve one pays SCARCE_RESERVE_S more in the proposal's objective (not its clock) for
# every other visit it takes, so that visits anyone may take go to the others first and its day
# keeps room for the visits only a few can serve. Without it, on plain days of 1000 visits /
# 60 agents most visits left out were female requests only 2 to 9 agents may take, their days
# full of visits anyone could. The proposal and repair alone (28 s, synth.generate(features=
# False), seeds 0-3, two runs at a time on a 2-core machine): 1000, 1000, 999 and 996 served
# with 64.5, 67.9, 74.8 and 79.4 h of travel, against 997, 991, 994 and 986 with 62.8, 69.6,
# 68.5 and 74.7 h. A reserve of 120 s served 1000, 999, 1000 and 992; 900 s served 1000, 1000,
# 1000 and 997 with up to 90.7 h.
SCARCE_AGENT_SHARE = 1 / 6
SCARCE_RESERVE_S = 300
# The reserve costs ride: on plain 300-visit days the proposal with it served more on three
# seeds of four, but with up to 4.3 h more travel than without it. Where the search has time
# to converge (at least POLISH_MIN_ITERATIONS_PER_CLIENT iterations a visit, as
# expected_iterations has it), the reserve runs for POLISH_AFTER_SHARE of the proposal's time
# and iterations; the search then goes on from its best on the travel alone, every visit it
# serves kept (required), the reserve staying only for agents who may serve a scarce visit
# still left out. Only where the proposal is the whole problem (ils_is_exact): on field days,
# where repair must still fit breaks and office calls around the tighter routes, it was no
# better. Whole solves, synth.generate days of 300 visits / 20 agents unless said, two runs at
# a time on a 2-core machine, against the reserve to the end in the same session:
# - plain days at 30 s, seeds 0-7: as many served on all eight (300 on six, 298 and 299),
#   263.2 h of travel in all against 266.9 h, less on seven (34.7, 36.2, 31.1, 33.5, 32.0,
#   31.0, 33.2 and 31.6 h against 35.1, 35.5, 31.4, 35.6, 32.2, 31.3, 33.9 and 32.0 h); a
#   second run of seeds 0-3 gave 34.7, 34.2, 31.1 and 33.1 h;
# - plain days at 60 s, seeds 0-3: 31.8, 33.0, 31.1 and 32.7 h against 32.4, 33.9, 31.1 and
#   32.5 h, all 300 served;
# - days with every field rule at 30 s, seeds 0-3, two runs each: 296, 295, 298 and 293
#   served, then 296, 298, 298 and 296, against 293, 298, 298 and 293, then 292, 298, 298 and
#   295; better by the objective in 5 of the 8 pairs;
# - days with every field rule, 100 visits / 8 agents at 5 s and 10 s, seeds 0-3: 99, 97, 99
#   and 95 served, then 99, 99, 100 and 95, against 99, 100, 99 and 93, then 99, 100, 99 and
#   97; better in 3 of the 8 pairs, worse in 4;
# - plain 1000-visit days at 120 s (about 68 iterations a visit by the model), seeds 0 and 3:
#   1000 and 999 served with 56.3 and 62.2 h against 1000 and 999 with 57.8 and 62.6 h;
# - plain 100-visit days / 8 agents at 5 s, seeds 0-3: 100, 100, 100 and 97 served with 17.9,
#   15.8, 16.6 and 16.7 h against 100, 99, 100 and 96 with 18.1, 15.7, 16.6 and 16.0 h.
# At 1000 visits and 30 s (about 17 iterations a visit by the model, see ITERATION_RATE; fewer
# in fact) the search is far from converged and splitting it cost: field days served 997, 995,
# 988 and 991 against 997, 996, 994 and 993.
POLISH_AFTER_SHARE = 0.7
POLISH_MIN_ITERATIONS_PER_CLIENT = 60
# PyVRP iterations a second times the square root of the clients, on synth.generate days with
# every field rule (2-core machine, two runs at a time), measured with PyVRP's default of 50
# neighbours: about 600 a second at 1000 visits and 1250 at 300. The search now makes fewer
# (NUM_NEIGHBOURS_INEXACT alone cut them to about 60%): the proposal alone for 20 s, two at a
# time, ran 216 a second on the 1000-visit field day of seed 0 and 500 on the 300-visit one
# (235 and 513 on the plain days), so the model counts two to three times the iterations a
# visit gets. The settings that read it (history_length, polishes) were measured as whole runs
# under this model, so it stays their scale; the iterations a visit quoted with them are the
# model's.
ITERATION_RATE = 19_000


@dataclass(frozen=True, slots=True)
class LunchFold:
    """A break cut out of the proposal's clock: ``duration_s`` long from ``at_s`` on.

    The folded clock reads as if each agent took this break at the first free moment from
    ``at_s``. It is a closer picture than a shift shortened by the break, not an exact one:
    times inside the break collapse onto ``at_s``, a break may end up later than its window
    allows, and agents who owe another break lose this one's time too. Repair times every
    route for real, and the search keeps whichever clock's proposal the model ranks better.
    """

    at_s: int
    duration_s: int
    window_end_s: int

    def folds(self, rest: Break) -> bool:
        """Whether ``rest`` is the break this fold cuts out."""
        return (rest.window.start_s, rest.window.end_s, rest.duration_s) == (
            self.at_s,
            self.window_end_s,
            self.duration_s,
        )

    def time_s(self, t_s: int) -> int:
        """``t_s`` on the folded clock."""
        if t_s <= self.at_s:
            return t_s
        return max(self.at_s, t_s - self.duration_s)


def lunch_fold(problem: Problem) -> LunchFold | None:
    """The fold of the break the most agents owe (first by window and length on a tie), or
    ``None`` when no agent owes a break inside its shift."""
    owed: dict[tuple[int, int, int], int] = {}
    for agent in problem.agents:
        for b in breaks_in_play(agent)[0]:
            key = (b.window.start_s, b.window.end_s, b.duration_s)
            owed[key] = owed.get(key, 0) + 1
    if not owed:
        return None
    start_s, end_s, duration_s = min(owed, key=lambda k: (-owed[k], k))
    return LunchFold(start_s, duration_s, end_s)


@dataclass(frozen=True, slots=True)
class IlsRoutes:
    """Routes proposed by the search: visit positions per agent position, in order."""

    routes: dict[int, list[int]]
    feasible: bool
    iterations: int


@dataclass(frozen=True, slots=True)
class _Adapter:
    data: pyvrp.ProblemData
    client_visit: list[int]  # PyVRP client index -> visit position
    type_agents: list[list[int]]  # PyVRP vehicle type -> agent positions
    # profile -> the clients of scarce visits it may serve, for profiles charged a reserve
    reserve_clients: dict[int, frozenset[int]]
    # where routes may be given their office part way (see dispatch.solver.calls)
    calls: CallLayout | None


def _via_offices(
    problem: Problem,
    full: npt.NDArray[np.int64],
    ids: npt.NDArray[np.int64],
    n_depots: int,
    candidates: Sequence[int],
    base: npt.NDArray[np.int64],
) -> None:
    """Make the ride into a delivery pass by its office (and the call's time), in place.

    From another delivery of the same office the ride stays direct: the route is taken to have
    called there already. So a run of deliveries from one office pays one call, as in the full
    model; a route that returns to an office it called at before pays again here, an
    overestimate the repair step does not repeat.
    """
    office_of = {o.id: pos for pos, o in enumerate(problem.offices)}
    call_office = np.full(len(ids), -1, dtype=np.int64)
    for k, v in enumerate(candidates):
        office_id = problem.visits[v].pickup_office
        if office_id is not None and office_id in office_of:
            call_office[n_depots + k] = office_of[office_id]
    for col in np.flatnonzero(call_office >= 0):
        o = int(call_office[col])
        office = problem.offices[o]
        at = problem.office_index(o)
        via = full[ids, at] + office.pickup_s + full[at, ids[col]]
        rows = call_office != o
        base[rows, col] = via[rows]


def scarce_candidates(
    allowed_agents: Sequence[Sequence[int]], candidates: Sequence[int], agents: int
) -> frozenset[int]:
    """The candidates (by their index in ``candidates``) that at most
    :data:`SCARCE_AGENT_SHARE` of the ``agents`` may serve."""
    most = SCARCE_AGENT_SHARE * agents
    return frozenset(k for k, v in enumerate(candidates) if len(allowed_agents[v]) <= most)


def _with_reserve(
    travel: npt.NDArray[np.int64], servable: frozenset[int], scarce: frozenset[int], n_depots: int
) -> npt.NDArray[np.int64]:
    """The proposal's cost matrix for a profile: its travel, plus :data:`SCARCE_RESERVE_S` on
    the ride into each visit that is not scarce when the profile may serve a scarce one."""
    if servable.isdisjoint(scarce):
        return travel
    common = [n_depots + k for k in sorted(servable - scarce)]
    cost = travel.copy()
    cost[:, common] += SCARCE_RESERVE_S
    cost[common, common] = 0  # the diagonal
    return cost


def profile_budget_bytes(problem: Problem, proposal_s: float) -> int:
    """The most bytes a matrix per skill set may take on a proposal of ``proposal_s``
    (see :data:`PROFILE_BYTES_PER_PROPOSAL_S`), never more than :data:`MAX_PROFILE_BYTES`."""
    per_s = (
        PROFILE_BYTES_PER_PROPOSAL_S_EXACT
        if ils_is_exact(problem)
        else PROFILE_BYTES_PER_PROPOSAL_S
    )
    return min(MAX_PROFILE_BYTES, round(per_s * proposal_s))


def _build(
    problem: Problem,
    matrix: TravelMatrix,
    candidates: Sequence[int],
    allowed_agents: Sequence[Sequence[int]],
    prizes: Sequence[int | None],
    fold: LunchFold | None,
    max_profile_bytes: int | None = None,
    time_limit_s: float | None = None,
) -> _Adapter | None:
    agents = problem.agents

    def clock(t_s: int) -> int:
        return t_s if fold is None else fold.time_s(t_s)

    visits = problem.visits
    # Locations: every agent depot (deduplicated), then one location per candidate visit so a
    # profile can forbid one visit without forbidding a neighbour at the same address.
    # Agents whose depots sit at the same point (same travel rows and columns) share a depot,
    # so identical agents become one vehicle type and the search does not tell them apart.
    all_points = problem.locations()
    depot_index: dict[int, int] = {}  # matrix index -> PyVRP depot
    depot_ids: list[int] = []
    by_point: dict[tuple[float, float], list[int]] = {}
    for a in range(len(agents)):
        for idx in (problem.start_index(a), problem.end_index(a)):
            if idx in depot_index:
                continue
            point = (all_points[idx].lat, all_points[idx].lon)
            twin = next(
                (d for d in by_point.get(point, []) if matrix.same_rides(idx, depot_ids[d])),
                None,
            )
            if twin is None:
                twin = len(depot_ids)
                depot_ids.append(idx)
                by_point.setdefault(point, []).append(twin)
            depot_index[idx] = twin
    matrix_ids = depot_ids + [problem.visit_index(v) for v in candidates]
    n_depots = len(depot_ids)
    n_loc = len(matrix_ids)

    # Which candidates each agent may serve: presolve's single-visit test (skills, capacity,
    # pins, reach), the same restriction the OR-Tools model applies.
    per_agent: list[set[int]] = [set() for _ in agents]
    for k, v in enumerate(candidates):
        for a in allowed_agents[v]:
            per_agent[a].add(k)
    allowed = [frozenset(ks) for ks in per_agent]

    def profiles(servable: Sequence[frozenset[int]]) -> dict[tuple[float, frozenset[int]], int]:
        keys: dict[tuple[float, frozenset[int]], int] = {}
        for a, agent in enumerate(agents):
            keys.setdefault((agent.speed_factor, servable[a]), len(keys))
        return keys

    profile_key = profiles(allowed)
    scarce = scarce_candidates(allowed_agents, candidates, len(agents))
    skills: list[str] = []
    set_budget = MAX_PROFILE_BYTES
    if max_profile_bytes is not None:
        set_budget = min(set_budget, max_profile_bytes)
    if len(profile_key) * n_loc * n_loc * 16 > set_budget:
        # Too many skill sets for a matrix each, in memory or in the proposal's time (see
        # PROFILE_BYTES_PER_PROPOSAL_S): one matrix per speed, skills as loads
        # (SKILL_LOAD), and repair gives a visit proposed to an agent who may not serve it
        # (a pinned visit, one out of an agent's reach) to one who may. A reserve would then
        # charge every agent alike, so there is none.
        allowed = [frozenset(range(len(candidates)))] * len(agents)
        profile_key = profiles(allowed)
        scarce = frozenset()
        skills = sorted({s for v in candidates for s in problem.required_skills(visits[v])})
        if len(profile_key) * n_loc * n_loc * 16 > MAX_PROFILE_BYTES:
            return None
    # Offices whose deliveries are candidates, as depots routes may be given part way.
    office_of = {o.id: pos for pos, o in enumerate(problem.offices)}
    delivery_office = {
        k: office_of[office_id]
        for k, v in enumerate(candidates)
        if (office_id := visits[v].pickup_office) is not None and office_id in office_of
    }
    call_offices: list[int] = []
    if time_limit_s is not None and designates(
        len(candidates), len(profile_key), n_loc, time_limit_s
    ):
        call_offices = sorted(set(delivery_office.values()))
    matrix_ids += [problem.office_index(o) for o in call_offices]
    ids = np.asarray(matrix_ids, dtype=np.int64)
    full = worst_case_travel_s(matrix, np.arange(matrix.size))
    base = full[np.ix_(ids, ids)]
    direct = base.copy() if call_offices else base
    _via_offices(problem, full, ids, n_depots, candidates, base)
    durations: list[Any] = []  # PyVRP's stubs type matrices loosely
    distances: list[Any] = []
    reserve_candidates: dict[int, frozenset[int]] = {}
    speeds: list[float] = []
    for profile, (speed_factor, servable) in enumerate(profile_key):
        speeds.append(speed_factor)
        travel = agent_travel_matrix_s(base, speed_factor).copy()
        blocked = [n_depots + k for k in range(len(candidates)) if k not in servable]
        if blocked:
            travel[:, blocked] = UNREACHABLE_S
            travel[blocked, :] = UNREACHABLE_S
            travel[blocked, blocked] = 0
        durations.append(travel)
        distances.append(_with_reserve(travel, servable, scarce, n_depots))
        if not servable.isdisjoint(scarce):
            reserve_candidates[profile] = servable & scarce

    dims = sorted(
        {q for agent in agents for q in agent.capacities}
        | {q for v in candidates for q in visits[v].demand}
    )
    if any(agent.max_visits is not None for agent in agents):
        dims.append(MAX_VISITS_DIMENSION)
    dims += [SKILL_DIMENSION + skill for skill in skills]
    office_dim = {o: len(dims) + i for i, o in enumerate(call_offices)}
    dims += [OFFICE_DIMENSION + str(o) for o in call_offices]

    def amounts(k: int, v: int) -> list[int]:
        demand = visits[v].demand
        needs = problem.required_skills(visits[v])
        out = []
        for q in dims:
            if q == MAX_VISITS_DIMENSION:
                out.append(1)
            elif q.startswith(SKILL_DIMENSION):
                out.append(SKILL_LOAD if q.removeprefix(SKILL_DIMENSION) in needs else 0)
            elif q.startswith(OFFICE_DIMENSION):
                office = int(q.removeprefix(OFFICE_DIMENSION))
                out.append(1 if delivery_office.get(k) == office else 0)
            else:
                out.append(demand.get(q, 0))
        return out

    def capacity(a: int) -> list[int]:
        agent = agents[a]
        out = []
        for q in dims:
            if q == MAX_VISITS_DIMENSION:
                out.append(len(candidates) if agent.max_visits is None else agent.max_visits)
            elif q.startswith(SKILL_DIMENSION):
                skill = frozenset({q.removeprefix(SKILL_DIMENSION)})
                out.append(SKILL_LOAD * len(candidates) if can_serve(agent, skill) else 0)
            elif q.startswith(OFFICE_DIMENSION):
                out.append(len(candidates))  # no limit until the route is given its office
            else:
                out.append(agent.capacities.get(q, 0))
        return out

    locations = [pyvrp.Location(x=all_points[i].lon, y=all_points[i].lat) for i in matrix_ids]

    # Where every visit is required and hard (plain VRPTW such as Solomon's), the proposal
    # keeps every slot and whole windows: one slot would only make a visit harder to serve.
    slot_of = {} if keeps_pyvrp_settings(problem) else proposal_slots(problem, candidates)
    clients: list[pyvrp.Client] = []
    client_visit: list[int] = []
    candidate_clients: list[list[int]] = []
    groups: list[pyvrp.ClientGroup] = []
    for k, v in enumerate(candidates):
        visit = visits[v]
        prize = prizes[k]
        required = prize is None
        service_s = problem.visit_duration_s(visit)
        # One client per booked slot the proposal offers (see dispatch.solver.slots);
        # several form a mutually exclusive group.
        offered = (slot_of[v],) if v in slot_of else visit.windows
        group = None if len(offered) == 1 else len(groups)
        members = []
        for tw in offered:
            members.append(len(clients))
            clients.append(
                pyvrp.Client(
                    location=n_depots + k,
                    delivery=amounts(k, v),
                    service_duration=service_s,
                    tw_early=clock(tw.start_s),
                    tw_late=clock(tw.end_s),
                    prize=0 if prize is None else prize,
                    required=required and group is None,
                    group=group,
                )
            )
            client_visit.append(v)
        candidate_clients.append(members)
        if group is None:
            continue
        groups.append(pyvrp.ClientGroup(members, required=required))

    depots = [pyvrp.Depot(location=i) for i in range(n_depots)]
    office_depot: dict[int, int] = {}
    for i, o in enumerate(call_offices):
        # The call takes its time here as on the ride through the office before; like that
        # ride, it keeps no opening hours (repair places the call within them).
        office_depot[o] = len(depots)
        depots.append(
            pyvrp.Depot(
                location=n_depots + len(candidates) + i,
                service_duration=problem.offices[o].pickup_s,
            )
        )
    type_key: dict[tuple[int, int, int, int, int, tuple[int, ...], int], int] = {}
    type_agents: list[list[int]] = []
    for a, agent in enumerate(agents):
        rests, depart_s = breaks_in_play(agent)
        early_s = clock(min(depart_s, agent.shift.end_s))
        late_s = clock(agent.shift.end_s)
        # On the folded clock the folded break has no length of its own.
        others_s = sum(b.duration_s for b in rests if fold is None or not fold.folds(b))
        working_s = max(0, late_s - early_s - others_s)
        key = (
            depot_index[problem.start_index(a)],
            depot_index[problem.end_index(a)],
            early_s,
            late_s,
            profile_key[(agent.speed_factor, allowed[a])],
            tuple(capacity(a)),
            working_s,
        )
        if key not in type_key:
            type_key[key] = len(type_agents)
            type_agents.append([])
        type_agents[type_key[key]].append(a)
    vehicle_types = []
    for key, t in type_key.items():
        start, end, early, late, profile, cap, working_s = key
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=len(type_agents[t]),
                capacity=list(cap),
                start_depot=start,
                end_depot=end,
                tw_early=early,
                tw_late=late,
                shift_duration=working_s,
                profile=profile,
            )
        )
    data = pyvrp.ProblemData(
        locations,
        clients,
        depots,
        vehicle_types,
        distance_matrices=distances,
        duration_matrices=durations,
        groups=groups,
    )
    reserve_clients = {
        profile: frozenset(c for k in ks for c in candidate_clients[k])
        for profile, ks in reserve_candidates.items()
    }
    calls = None
    if call_offices:
        deliveries: dict[int, list[int]] = {}
        for k, o in delivery_office.items():
            deliveries.setdefault(o, []).append(n_depots + k)
        calls = CallLayout(direct, deliveries, office_depot, office_dim, speeds, UNREACHABLE_S)
    return _Adapter(data, client_visit, type_agents, reserve_clients, calls)


class _BestWatcher(pyvrp.IteratedLocalSearchCallbacks):
    """Passes each new best feasible solution's objective as the OR-Tools model counts it
    (travel plus the model's penalty for each visit left out, ``drop_costs_s`` by visit
    position) and the number of visits served to ``on_best``.

    The proposal's own prizes are far smaller than the model's penalties (4 h a normal visit,
    against all the agents' shifts added up on a plain day), so its objective reported as
    travel plus prizes sat below the model's whenever a visit was out, and the display then
    held back every solution of the model as no better: a plain 1000-visit day (synth seed 3,
    30 s) showed its last objective at 989 served, and the plan came back serving 997."""

    def __init__(
        self,
        on_best: Callable[[int, int], None],
        client_visit: Sequence[int],
        drop_costs_s: Mapping[int, int],
    ) -> None:
        super().__init__()
        self.on_best_cb = on_best
        self.client_visit = client_visit
        self.drop_costs_s = drop_costs_s

    def on_best(self, best: pyvrp.Solution) -> None:
        if best.is_feasible():
            served = {self.client_visit[c] for route in best.routes() for c in _clients_of(route)}
            dropped_s = sum(cost for v, cost in self.drop_costs_s.items() if v not in served)
            # Travel from the duration matrices: the cost matrices hold the reserve for
            # scarce visits (SCARCE_RESERVE_S), which the full model does not charge.
            travel_s = sum(route.travel_duration() for route in best.routes())
            self.on_best_cb(int(travel_s) + dropped_s, len(served))


class _Deadline:
    """A stopping criterion: a ``time.perf_counter()`` reading. PyVRP's own ``MaxRuntime``
    starts its clock at the first iteration, after the neighbourhoods and a first solution are
    built, and on a 1000-visit day that took 1.4-1.5 s: the proposal ended that late, past its
    share of the limit, and repair then ran out of time (plain days: it started 0.2-0.7 s after
    the limit itself)."""

    def __init__(self, deadline_s: float) -> None:
        self.deadline_s = deadline_s

    def __call__(self, best_cost: float) -> bool:
        return time.perf_counter() >= self.deadline_s


class _Stalled:
    """A stopping criterion: ``iterations`` in a row without a better best solution, counted
    only once ``after_s`` have passed. Early on the best can stand still for thousands of
    iterations while the search is still reaching feasibility on a large day."""

    def __init__(self, iterations: int, after_s: float) -> None:
        self.iterations = iterations
        self.until_s = time.perf_counter() + after_s
        self.best = float("inf")
        self.since = 0

    def __call__(self, best_cost: float) -> bool:
        if best_cost < self.best:
            self.best = best_cost
            self.since = 0
        else:
            self.since += 1
        return self.since >= self.iterations and time.perf_counter() >= self.until_s


def ils_is_exact(problem: Problem) -> bool:
    """Whether the ILS phase knows every rule and cost of ``problem`` (see the module docstring),
    so that its objective is the full model's."""
    if problem.balance_weight > 0 or problem.offices:
        return False
    if any(breaks_in_play(a)[0] for a in problem.agents):
        return False
    return not any(
        v.pickup_office is not None or v.preferred_agent is not None or v.max_late_s > 0
        for v in problem.visits
    )


def keeps_pyvrp_settings(problem: Problem) -> bool:
    """Whether PyVRP's own search settings suit ``problem``: plain VRPTW, where the proposal is
    the whole problem (:func:`ils_is_exact`) and every visit must be served, as on the Solomon
    instances they were tuned on. Elsewhere the search takes smaller perturbation steps, a
    shorter history and a wider neighbourhood (:data:`MAX_PERTURBATIONS_INEXACT`,
    :func:`history_length`, :data:`NUM_NEIGHBOURS_INEXACT`)."""
    return ils_is_exact(problem) and all(v.required for v in problem.visits)


def penalty_params(problem: Problem) -> pyvrp.PenaltyParams:
    """PyVRP's penalty settings for ``problem``: its defaults, but updated every
    :data:`PENALTY_UPDATE_ITERATIONS` on days the proposal knows whole where visits may be left
    out."""
    defaults = pyvrp.PenaltyParams()
    if keeps_pyvrp_settings(problem) or not ils_is_exact(problem):
        return defaults
    return replace(defaults, solutions_between_updates=PENALTY_UPDATE_ITERATIONS)


def ils_prizes(problem: Problem, candidates: Sequence[int]) -> list[int | None]:
    """What serving each candidate is worth to the ILS phase (``None``: must be served).

    The full model's strictly tiered penalties grow as the product of the tier sizes; PyVRP
    adapts its penalty for late arrival from the scale of the travel times and takes long to
    reach feasibility against prizes that large. So the proposal uses prizes worth
    :data:`PRIZE_BASE_S` of travel per normal visit, ``PRIZE_TIER_RATIO`` times more per tier
    up: it still serves before it saves travel and keeps urgent visits over normal ones, and
    OR-Tools applies the exact order afterwards. Required visits stay hard only on plain VRPTW,
    where every visit is required (:func:`keeps_pyvrp_settings`); elsewhere they get the top
    prize, so that required visits that cannot all be served, or a rule PyVRP does not know,
    cannot make the whole proposal infeasible. On a plain 1000-visit day (synth seed 3, 60
    agents, 30 s) with its 48 visits at most 10 agents may serve marked required, hard ones
    left no feasible proposal and the plan served 5 visits; with the top prize it served 997,
    all 48 among them.
    """
    hard = keeps_pyvrp_settings(problem)
    prizes: list[int | None] = []
    for v in candidates:
        visit = problem.visits[v]
        if visit.required and hard:
            prizes.append(None)
            continue
        level = len(PRIORITY_ORDER) if visit.required else PRIORITY_ORDER.index(visit.priority)
        prizes.append(PRIZE_BASE_S * PRIZE_TIER_RATIO**level)
    return prizes


def history_length(
    clients: int, time_limit_s: float, max_iterations: int | None = None, *, plain: bool = False
) -> int:
    """Length of the late-acceptance history for a search of ``clients`` visits in
    ``time_limit_s`` (and at most ``max_iterations``): :data:`HISTORY_PER_ITERATION_PER_CLIENT`
    times the iterations each visit can expect (:func:`expected_iterations`), between
    :data:`MIN_HISTORY` and PyVRP's default. A short history accepts less that is worse, which
    pays where the search is still far from converging when its time runs out. On plain VRPTW
    (``plain``, see :func:`keeps_pyvrp_settings`) PyVRP's default stays.
    """
    if plain or clients <= 0:
        return PYVRP_HISTORY
    iterations = expected_iterations(clients, time_limit_s, max_iterations)
    wanted = round(HISTORY_PER_ITERATION_PER_CLIENT * iterations / clients)
    return max(MIN_HISTORY, min(PYVRP_HISTORY, wanted))


def expected_iterations(
    clients: int, time_limit_s: float, max_iterations: int | None = None
) -> int:
    """Iterations PyVRP's search is expected to make on ``clients`` visits in
    ``time_limit_s`` (and at most ``max_iterations``), by a rate measured on a 2-core machine
    (:data:`ITERATION_RATE`). A model of the rate, not a measurement, so that a run's settings
    depend only on its input."""
    expected = round(max(0.0, time_limit_s) * ITERATION_RATE / math.sqrt(max(1, clients)))
    return expected if max_iterations is None else min(expected, max_iterations)


def neighbourhood_params(problem: Problem) -> NeighbourhoodParams:
    """PyVRP's granular neighbourhood for ``problem``: its default on plain VRPTW (see
    :func:`keeps_pyvrp_settings`), :data:`NUM_NEIGHBOURS_INEXACT` neighbours elsewhere, and
    in both cases as many more as the most visits booked at one address, less one.

    Visits at one address are each other's nearest neighbours, so they fill a visit's list and
    leave no room for the visits a move might need. With the 300 visits of a plain day (20
    agents) at one address, the proposal alone in 9.5 s served 268 of them with 80 neighbours
    and all 300 with 299. Whole solves, this rule against 80 neighbours: 300 served against 289
    at one address (10 s); at five addresses 299 against 298 (plain) and 298 against 294 (every
    field rule); 60 of a plain 1000-visit day's visits at one address (30 s), 1000 against 999.
    Days where no two visits share an address (the synthetic days, every Solomon file) keep
    the neighbourhood as it was."""
    defaults = NeighbourhoodParams()
    base = defaults.num_neighbours if keeps_pyvrp_settings(problem) else NUM_NEIGHBOURS_INEXACT
    at_one_address = Counter((v.location.lat, v.location.lon) for v in problem.visits)
    extra = max(at_one_address.values(), default=1) - 1
    return NeighbourhoodParams(
        defaults.weight_wait_time, base + extra, defaults.symmetric_proximity
    )


def perturbation_params(problem: Problem) -> PerturbationParams:
    """PyVRP's perturbation settings for ``problem``: its defaults on plain VRPTW (see
    :func:`keeps_pyvrp_settings`), smaller steps elsewhere (:data:`MAX_PERTURBATIONS_INEXACT`)."""
    defaults = PerturbationParams()
    if keeps_pyvrp_settings(problem):
        return defaults
    return PerturbationParams(defaults.min_perturbations, MAX_PERTURBATIONS_INEXACT)


def ils_routes(
    problem: Problem,
    matrix: TravelMatrix,
    candidates: Sequence[int],
    allowed_agents: Sequence[Sequence[int]],
    prizes: Sequence[int | None],
    *,
    time_limit_s: float,
    seed: int = 0,
    max_iterations: int | None = None,
    on_best: Callable[[int, int], None] | None = None,
    fold: LunchFold | None = None,
    stall_iterations: int | None = None,
    max_profile_bytes: int | None = None,
) -> IlsRoutes | None:
    """Propose routes for the ``candidates`` (visit positions) with PyVRP.

    ``allowed_agents[v]`` lists the agent positions that may serve visit position ``v``.
    ``prizes[k]`` is what serving ``candidates[k]`` is worth (see :func:`ils_prizes`), or
    ``None`` for a visit that must be served. Stops after ``time_limit_s``, building PyVRP's
    problem and its first solution included (:class:`_Deadline`), and, when given, after
    ``max_iterations`` (deterministic unless the time limit strikes first). ``on_best`` gets
    the objective and the number of visits served of each new best solution. ``fold`` cuts
    that break out of the clock (see :class:`LunchFold`). ``stall_iterations`` also stops the
    search, once half its time is over, after that many iterations without a better solution.
    Where the proposal is the whole problem (:func:`ils_is_exact`), the reserve for scarce
    visits applies and :func:`polishes` says so, it has :data:`POLISH_AFTER_SHARE` of the time
    and iterations; the rest goes on from its best without it (:func:`_polish_data`).
    ``max_profile_bytes`` caps the matrices per skill set below :data:`MAX_PROFILE_BYTES`
    (see :func:`profile_budget_bytes`); past the cap skills are loads. On days with
    deliveries, where :func:`dispatch.solver.calls.designates` allows, routes are given their
    office after :data:`~dispatch.solver.calls.DESIGNATE_AFTER_SHARE` of the time and
    iterations, and the search goes on from its best.
    Returns ``None`` when the problem is too large to hand over.
    """
    if not candidates or not problem.agents:
        return IlsRoutes({}, True, 0)
    started_s = time.perf_counter()
    adapter = _build(
        problem, matrix, candidates, allowed_agents, prizes, fold, max_profile_bytes, time_limit_s
    )
    if adapter is None:
        return None
    built_s = time.perf_counter()
    left_s = time_limit_s - (built_s - started_s)
    polish = (
        ils_is_exact(problem)
        and bool(adapter.reserve_clients)
        and polishes(len(candidates), time_limit_s, max_iterations)
    )
    share = 1.0
    if polish:
        share = POLISH_AFTER_SHARE
    elif adapter.calls is not None:
        share = DESIGNATE_AFTER_SHARE
    criteria: list[StoppingCriterion] = [_Deadline(built_s + share * left_s)]
    if max_iterations is not None:
        criteria.append(MaxIterations(math.ceil(share * max_iterations)))
    stall_from_s = built_s + left_s / 2
    if stall_iterations is not None:
        criteria.append(_Stalled(stall_iterations, left_s / 2))
    stop = MultipleCriteria(criteria)
    defaults = pyvrp.SolveParams()
    callbacks = (
        pyvrp.IteratedLocalSearchCallbacks()
        if on_best is None
        else _BestWatcher(on_best, adapter.client_visit, _drop_costs_s(problem, candidates))
    )
    ils = pyvrp.IteratedLocalSearchParams(
        num_iters_no_improvement=defaults.ils.num_iters_no_improvement,
        history_length=history_length(
            len(candidates), left_s, max_iterations, plain=keeps_pyvrp_settings(problem)
        ),
        exhaustive_on_best=defaults.ils.exhaustive_on_best,
        callbacks=callbacks,
    )
    params = pyvrp.SolveParams(
        ils=ils,
        penalty=penalty_params(problem),
        neighbourhood=neighbourhood_params(problem),
        operators=defaults.operators,
        perturbation=perturbation_params(problem),
    )
    with warnings.catch_warnings():
        # A penalty at its bound only says that more visits are offered than fit, which is
        # what prizes are for: those visits come back unassigned with a reason.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = granular.solve(adapter.data, stop, seed=seed, params=params)
        best = result.best
        iterations = int(result.num_iterations)

        def go_on(data: pyvrp.ProblemData, start: pyvrp.Solution) -> pyvrp.Result:
            criteria: list[StoppingCriterion] = [_Deadline(started_s + time_limit_s)]
            if max_iterations is not None:
                criteria.append(MaxIterations(max(0, max_iterations - iterations)))
            if stall_iterations is not None:
                # Counted afresh, from half the time as before.
                after_s = max(0.0, stall_from_s - time.perf_counter())
                criteria.append(_Stalled(stall_iterations, after_s))
            return granular.solve(
                data, MultipleCriteria(criteria), seed=seed, params=params, initial_solution=start
            )

        if polish and best.is_feasible():
            data = _polish_data(adapter, best)
            polished = go_on(data, _read_into(data, best))
            iterations += int(polished.num_iterations)
            if polished.best.is_feasible():
                best = polished.best
        elif adapter.calls is not None and best.is_feasible():
            routes_so_far = [(r.vehicle_type(), _clients_of(r)) for r in best.routes()]
            given = designate(adapter.data, adapter.type_agents, adapter.calls, routes_so_far)
            second = go_on(given.data, given.start)
            iterations += int(second.num_iterations)
            if second.best.is_feasible():
                best = second.best
                adapter = replace(adapter, data=given.data, type_agents=given.type_agents)
        elif adapter.calls is not None:
            # No feasible routes to give offices to yet: the search goes on as it was.
            second = go_on(adapter.data, best)
            iterations += int(second.num_iterations)
            best = second.best
    routes: dict[int, list[int]] = {}
    next_free = [0] * len(adapter.type_agents)
    for route in best.routes():
        t = route.vehicle_type()
        agent_pos = adapter.type_agents[t][next_free[t]]
        next_free[t] += 1
        routes[agent_pos] = [adapter.client_visit[c] for c in _clients_of(route)]
    return IlsRoutes(routes, bool(best.is_feasible()), iterations)


def _drop_costs_s(problem: Problem, candidates: Sequence[int]) -> dict[int, int]:
    """What the OR-Tools model charges for leaving out each candidate (by visit position)."""
    penalties = drop_penalties(problem, candidates, scale=COST_SCALE)
    return {v: penalties.of(problem.visits[v]) for v in candidates}


def polishes(clients: int, time_limit_s: float, max_iterations: int | None) -> bool:
    """Whether a proposal of ``clients`` visits in ``time_limit_s`` (and at most
    ``max_iterations``) drops the reserve for its last part (see :data:`POLISH_AFTER_SHARE`):
    only where each visit can expect :data:`POLISH_MIN_ITERATIONS_PER_CLIENT` iterations. The
    limit given, not the time left after building, decides, so that the same input plans the
    same way."""
    iterations = expected_iterations(clients, time_limit_s, max_iterations)
    return iterations >= POLISH_MIN_ITERATIONS_PER_CLIENT * max(1, clients)


def _clients_of(route: pyvrp.Route) -> list[int]:
    """The route's clients (PyVRP client indices), in order."""
    return [act.idx for act in route.schedule() if act.type == pyvrp.ActivityType.CLIENT]


def _read_into(data: pyvrp.ProblemData, best: pyvrp.Solution) -> pyvrp.Solution:
    """``best`` as a solution of ``data``, the same problem with other clients' settings."""
    routes = [pyvrp.Route(data, _clients_of(r), r.vehicle_type()) for r in best.routes()]
    return pyvrp.Solution(data, routes)


def _polish_data(adapter: _Adapter, best: pyvrp.Solution) -> pyvrp.ProblemData:
    """The proposal's problem for going on from ``best`` on the true travel: every visit
    ``best`` serves is required (a visit of several slots by its group), and only a profile
    that may serve a scarce visit ``best`` leaves out keeps its reserve."""
    data = adapter.data
    served = {c for route in best.routes() for c in _clients_of(route)}
    served_groups = {data.client(c).group for c in served} - {None}
    clients = []
    waiting = set()
    for c in range(data.num_clients):
        client = data.client(c)
        if c in served and client.group is None:
            client = pyvrp.Client(
                location=client.location,
                delivery=list(client.delivery),
                pickup=list(client.pickup),
                service_duration=client.service_duration,
                tw_early=client.tw_early,
                tw_late=client.tw_late,
                release_time=client.release_time,
                prize=client.prize,
                required=True,
                group=None,
                name=client.name,
            )
        elif c not in served and client.group not in served_groups:
            waiting.add(c)
        clients.append(client)
    groups = [
        pyvrp.ClientGroup(list(group.clients), required=group.required or g in served_groups)
        for g, group in enumerate(data.groups())
    ]
    distances = [
        data.distance_matrix(profile)
        if not adapter.reserve_clients.get(profile, frozenset()).isdisjoint(waiting)
        else data.duration_matrix(profile)
        for profile in range(data.num_profiles)
    ]
    return data.replace(clients=clients, groups=groups, distance_matrices=distances)
