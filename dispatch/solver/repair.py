"""Turning proposed visit orders into routes the routing model accepts as a first solution.

The ILS phase (:mod:`dispatch.solver.ils`) knows no breaks, no office calls and no lateness.
Before OR-Tools reads its routes they are completed and repaired here, stop by stop:

- a delivery gets a call at its office in the earlier gap where the detour is least and the
  route still fits, unless the route already calls there earlier (then that call collects it
  too, at no extra time);
- each stop is timed as the model times it (worst-hour travel, breaks placed by
  :class:`dispatch.solver.schedule.RouteTimer`); a visit that would break a rule (a window,
  office hours, a break, the shift end, ``max_visits`` or a capacity) is left out, and the
  route goes on without it;
- the visits left out (and those the proposal did not serve) are then offered, most important
  first, to the gaps of any allowed agent's route where they add the least ride, a few gaps
  each (:data:`MAX_INSERT_TRIES`), and kept where they fit;
- a visit that fits nowhere may take the place of a neighbouring visit of any tier that moves
  to another gap where it fits (:data:`MAX_ROOM_TRIES`), so both are served;
- a high-priority or urgent visit that still fits nowhere takes the place of a neighbouring
  visit of a lower tier (:data:`MAX_EJECT_TRIES`), or of both neighbours where one is not
  enough room, and they then get their own turn: the full model would make that trade, but on
  large days it has little time left to find it;
- each route then moves runs of up to :data:`MAX_SEGMENT_STEPS` stops to where they save ride
  (the calls and re-inserted visits were placed one by one), single visits move to other
  routes where both routes then ride less (:data:`MAX_RELOCATE_TRIES`), and the visits still
  out get one more turn in the time saved, exchanges included: a stop that moved may now be
  the neighbour that can give way; in this turn and the last, a visit may also take a gap
  once a visit further on moves to another route, directly or by making room there
  (:data:`MAX_FURTHER_ROOM_TRIES`), and in the last turn a visit of a higher tier may take
  the place of a run of visits of lower tiers (:data:`MAX_RUN_TRIES`), first where the
  times of the stops around it may hold its window;
- last, the same moves run again with more gaps each (:data:`FINAL_RELOCATE_TRIES`), and
  visits of two routes swap places (:data:`SWAP_TRIES`), for the ride alone; given the time
  (:class:`Improve`), ruin and recreate (:mod:`dispatch.solver.ruin`) searches the routes
  further; what is still out then gets a last turn in the ride they saved (:data:`FINAL_TURN`).

On very large days these moves can outlast the solve's time limit; past the deadline the
caller gives, repair stops them and only offers what is still out to the gaps as they stand.

``ReadAssignmentFromRoutes`` then accepts the routes and the search goes on from there. A visit
with one node per slot takes the node of the slot its service falls in.
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from dispatch.geo.matrix import TravelMatrix
from dispatch.model import Problem
from dispatch.plan import StopKind
from dispatch.solver.build import RoutingBuild
from dispatch.solver.penalties import PREFERENCE_WEIGHT_S, tier
from dispatch.solver.ruin import RuinResult, ruin_and_recreate
from dispatch.solver.schedule import (
    RouteTimer,
    State,
    Step,
    VisitTimes,
    late_s,
    legs_of,
    model_travel,
)
from dispatch.solver.windows import sorted_windows

# Gaps tried for a new office call, least detour first.
MAX_CALL_TRIES = 4
# Gaps tried for a visit left out, least detour first, over all allowed agents' routes.
# Measured on synth.generate days with every field rule (seed 0, shared 2-core machine):
# 8 tries served 283/300 at 30 s and 937/1000 at 60 s; 60 tries 288/300 and 959/1000. On the
# 1000-visit day OR-Tools finds only a few solutions in the time it has, so these insertions
# are nearly all the plan gets.
MAX_INSERT_TRIES = 60
# Places tried for a visit of a higher tier that fits nowhere, least detour first: next to
# each such place, a visit of a lower tier gives way, and failing that both neighbours of one
# of those places. Both neighbours: on synth.generate days with every field rule (1000 visits /
# 60 agents, seeds 0-3 at 30 s and 60 s, side by side), the high visit the proposal had left
# out was kept in 3 of the 4 runs that lost it (a female agent's slot after lunch, 20-43 min
# away from each of the four who may serve it); better by the objective in 4 runs of 8, the
# same plan in 4. At 300 visits and 30 s better on 2 seeds, worse on 2 (one served 285
# against 290; runs there vary by as much).
MAX_EJECT_TRIES = 60
# Failing those, one visit of a lower tier between a gap and the first stop that no longer fits once
# the visit is served there (see _exchange_later), at most MAX_LATER_TRIES gaps and exchanges a
# visit; then pairs of visits of lower tiers near the cheapest gaps, apart from each other (see
# _exchange_apart): from APART_STEPS_BEFORE stops before a gap to APART_STEPS_AFTER after it, at
# most MAX_APART_TRIES pairs a visit. Both together try at most FAR_TRIES_PER_VISIT per visit of the
# day over the whole repair. Repairing the fixed proposals of seeds 0-7 (synth.generate days with
# every field rule), the 1000-visit days of seeds 1 and 4 kept a high visit more with the pairs (989
# and 986 served against 988 and 985, 0.6 and 1.5 h more ride) and the 14 other days came out the
# same; the single visits later changed one plan (seed 4, 1000 visits) but not what it serves or its
# ride. On proposals of whole solves that had lost one, the pairs kept an urgent visit pinned to one
# agent (field day of seed 0, 60 s) and a female request with excise only two agents may take (plain
# day of seed 3, 30 s); a single visit later kept a high delivery after its office call (field day
# of seed 1, 60 s: 994 served against 993; it took 50 to 100 tries). An over-subscribed day (1000
# visits, 15 agents, proposal of a 20-s solve): 268 served with 13 high visits out, against 271 with
# 17 without either, and repair took 6.9 s against 6.6 s (8.4 s with the pairs alone and no bound on
# the day).
MAX_LATER_TRIES = 200
MAX_APART_TRIES = 200
# In the last turn only, failing those, a run of up to MAX_RUN_STEPS visits of lower tiers
# right after or before one of a visit's cheapest gaps, taken out one by one until it fits (see
# _exchange_run), at most MAX_RUN_TRIES runs a visit, from the same budget per day. On a plain
# 1000-visit day (seed 2, proposal of a 30-s solve) a high visit 37 to 55 minutes' ride from
# every stop its four allowed agents make in its 09:00-11:00 window was lost to every other
# exchange; now four normal visits give way to it (997 served against 996). Repairing the
# fixed proposals of the 24 days above, three high visits more are kept (the 300-visit field day
# of seed 0, two on the 1000-visit day of seed 4), 1 more served in all, 4.3 h more ride over
# the 24 days, under 0.1 s more repair a day. In every turn instead of the last, the
# over-subscribed day lost a high visit more (14 against 13): one far visit took the room of two
# nearer ones. The runs try first the gaps whose neighbours' times may hold the visit
# (_Draft.may_hold): on the plain 1000-visit day of seed 3 (proposal of a 30-s solve) a high
# 15:00-17:00 request only four agents may take was lost because its 40 runs all went to the
# morning gaps near it; now a normal visit gives way to it (998 served against 996). On
# five other proposals (plain and field, 300 and 1000 visits) the plans are the same or one
# visit better.
MAX_RUN_TRIES = 40
MAX_RUN_STEPS = 6
APART_STEPS_BEFORE = 2
APART_STEPS_AFTER = 8
FAR_TRIES_PER_VISIT = 4
# Gaps tried for a visit that fits nowhere as things stand, least detour first: next to each,
# a visit steps aside to another gap and the one left out takes its place. Repairing fixed
# proposals (PyVRP with an iteration limit, synth.generate days with every field rule, seeds
# 0-3), visits served over the four days with 0, 4, 16 and 60 tries: 3880, 3899, 3922 and
# 3934 at 1000 visits / 60 agents (seed 2: 956 against 976), 1150, 1157, 1162 and 1162 at 300
# visits / 20 agents. The visits served ride too: 95.5, 97.2, 98.5 and 99.4 h a day at 1000
# visits with 60 tries against 93.6, 96.1, 95.0 and 97.3 h. Repair took about 1 s more.
MAX_ROOM_TRIES = 60
# In the turns after the first moves between routes, a visit that still fits nowhere may take
# one of its FURTHER_ROOM_GAPS cheapest gaps once a visit between that gap and the first stop
# that no longer fits moves to another route, directly or by making room there (see
# _make_room_further): at most MAX_FURTHER_ROOM_TRIES gaps and moves a visit, and
# FURTHER_TRIES_PER_VISIT per visit of the day over the whole repair. Repairing fixed
# proposals (synth.generate days, seeds 0-3 without field rules, seeds 0-7 with every field
# rule, 300 and 1000 visits), 35 more served over the 24 days (0 to 6 a day; 0 to 2 on the
# days without field rules), with 0.27 h more ride and 0.1 s more repair a day on average; an
# over-subscribed day (1000 visits, 15 agents) served the same 268 in 7.3 s against 7.0 s.
# In the first turn too it served 48 more, but took the room the moves between routes would
# have freed for a high visit (lost on one day), and repair took 0.8 s more a day. Without
# the chain (the visit in the way only offered to other gaps) it served none more: on a
# plain 1000-visit day the visit left out fit in 80 tries, but the one that made way for it
# fit nowhere else.
FURTHER_ROOM_GAPS = 20
MAX_FURTHER_ROOM_TRIES = 50
FURTHER_TRIES_PER_VISIT = 2
# Tries at making room (a neighbour taken out, the visit put in, the neighbour offered
# elsewhere) per visit of the day, over the whole repair. The fixed proposals above used 4 to
# 11 a visit and repair the same with this bound. Unbounded, a 1000-visit day with 15 agents
# (over 700 visits out, nearly every try failing) spent about 40 s making room and its 30-s
# solve took 70 s; with the bound, 2.5 s and 30.1 s.
ROOM_ATTEMPTS_PER_VISIT = 12
# Longest run of stops moved at once when shortening a route, and the most moves per route.
# On synth.generate days with every field rule (1000 visits, 60 agents, 60 s, seeds 0-3,
# shared 2-core machine) shortening took 1.3 to 4.6 h off the final plans' travel (92.4,
# 99.9, 96.0 and 96.9 h against 95.5, 101.5, 97.3 and 101.4) and served 0 to 3 more visits.
MAX_SEGMENT_STEPS = 3
MAX_MOVES_PER_ROUTE = 200
# Then single visits move between routes where both ride less, a few gaps each, for a few
# passes (each followed by shortening). Same days and seeds: 4 to 7 more visits served and
# 2.9 to 3.4 h less travel (972, 972, 957 and 959 served with 89.4, 97.0, 92.5 and 95.0 h,
# against 968, 965, 953 and 952 with 92.4, 99.9, 95.5 and 98.4 h).
MAX_RELOCATE_TRIES = 8
RELOCATE_PASSES = 2
# Once the visits still out have had their last turn, the same moves run again with more
# gaps each, for the ride alone: what is served is settled by then. A visit leaving its
# preferred agent counts PREFERENCE_WEIGHT_S of ride there, as in the model (without it, one
# whole run traded preferred agents for ride and ended with a worse objective). Repairing
# fixed proposals (PyVRP with an iteration limit, synth.generate days with every field rule,
# seeds 0-3):
# at 1000 visits / 60 agents 94.0, 96.8, 97.6 and 99.2 h against 95.4, 99.4, 99.2 and 100.7 h,
# the same visits served, repair 2.1-2.2 s against 0.9 s; at 300 visits / 20 agents 35.5, 45.5,
# 43.0 and 42.8 h against 35.7, 46.4, 43.1 and 44.5 h. Run before that last turn instead (6
# passes of 24 gaps), the moved visits took gaps the last turn would have used: 8 and 6 fewer
# served on two of the 1000-visit days, 3 more on one.
FINAL_RELOCATE_TRIES = 24
FINAL_RELOCATE_PASSES = 4
# In that last round, visits of two routes also swap places, each visit trying first the
# partners whose exchange saves the most bare ride. Repairing the same fixed proposals, the
# same visits served with 93.6, 96.1, 95.0 and 97.3 h at 1000 visits against 94.0, 96.8, 97.6
# and 99.2 h (repair 3.2-3.6 s against 2.1-2.2 s), and 35.3, 45.0, 42.8 and 42.1 h at 300
# against 35.5, 45.5, 43.0 and 42.8 h. Eight partners instead of four changed one plan (seed 3,
# 1000 visits: 97.34 h); swapping in the earlier rounds too served fewer (976, 974 and 954
# against 981, 979 and 956 at 1000 visits).
SWAP_TRIES = 4
# After that round the visits still out get one last turn in the ride it saved. On the fixed
# proposals of seeds 0-7, 9 more served over the eight 1000-visit days (0 to 2 a day) and 7
# more over the 300-visit days (0 to 1 a day), 0 to 1 h more ride a day, and 0.3-0.5 s more
# repair at 1000 visits; shortening the routes once more after it took off under 0.1 h.
FINAL_TURN = True
# Under a deadline, the moves for ride before the last turn stop early enough to leave it this
# many times what the turn before it took. Repairing a captured plain 1000-visit proposal
# (seed 0) took 2.1-2.3 s in all, 1.2-1.4 s of it in those moves and 0.08 s in the last turn;
# given 1.0 or 1.5 s, the moves ran to the deadline and the last turn never came: 997 served
# and a high visit out, against 999 with every high visit kept when they stop early. (With
# two other solves on the same two cores the moves before them outlast 1.5 s, so the search
# leaves repair time by the size of the day too: search.REPAIR_S_PER_VISIT.)
FINAL_TURN_RESERVE = 2.0
# Out of time, an urgent or required visit still takes the place of a lower-tier visit beside
# one of its cheapest gaps (the neighbour exchanges of _exchange: at most MAX_EJECT_TRIES and
# the pairs, none of the further ones, which wait for time). On a 1-s solve of the 1000-visit
# field day of seed 0 repair starts at the limit's end: 34 of 37 urgent visits were served,
# now all 37 (936 served either way, one high visit fewer), the solve ending at 1.28 s against
# 1.31 s; seeds 1-3 had every urgent visit in and plan as before. (penalties.tier: 2 is urgent,
# 3 required.)
URGENT_TIER = 2


@dataclass(slots=True)
class Improve:
    """How long ruin and recreate searches the repaired routes: until the
    ``time.perf_counter()`` reading ``until_s`` or for ``iterations``, whichever ends first;
    repair records what it did in ``result``."""

    seed: int
    until_s: float | None = None
    iterations: int | None = None
    result: RuinResult | None = None


def warm_routes(
    problem: Problem,
    matrix: TravelMatrix,
    build: RoutingBuild,
    proposed: Mapping[int, Sequence[int]],
    allowed: Sequence[Sequence[int]],
    deadline_s: float | None = None,
    on_served: Callable[[int], None] | None = None,
    improve: Improve | None = None,
) -> tuple[dict[int, list[int]], int]:
    """Model nodes per agent for the proposed visit orders (``allowed[v]``: the agents who may
    serve visit position ``v``), and how many proposed visits were finally left out.

    Every visit out gets one turn at least, a plain insertion where it fits. Beyond that, repair
    stops making room and moving visits for ride once the time left before ``deadline_s`` (a
    ``time.perf_counter()`` reading) would not do for the plain insertions of the visits still
    waiting, and its later turns end at the deadline: the solve's time limit holds on days too
    large for every move to run. Before, the later turns ran on past the deadline: over-booked days
    (synth.generate, 1000 visits, 30 agents, 30 s; seeds 0 and 1 with every field rule, seed 0
    plain) ended at 31.4-34.7 s. In one batch they now end at 29.9-30.1 s serving 579, 560 and 645
    visits, against 580, 565 and 650 that the time past the limit bought. Normal 1000-visit field
    days at 10 s (seeds 0-2) end by 10.08 s against up to 10.7 s, serving 955-980 visits against
    949-965 in the same batch. ``on_served`` gets the number of visits the routes serve after each
    of repair's stages, so that a display stays alive through repair (seconds on a large day).
    With ``improve`` the repaired routes are searched further by ruin and recreate
    (:mod:`dispatch.solver.ruin`) before the visits still out get their last turn.
    """
    times = VisitTimes(problem)
    drafts = {k: _Draft(problem, matrix, build, k, times) for k in range(len(problem.agents))}

    def report() -> None:
        if on_served is not None:
            on_served(len(_served(drafts)))

    left_out: list[int] = []
    for k in sorted(proposed):
        for v in proposed[k]:
            # A proposal that gives a visit to an agent not allowed it (skills, pins, reach)
            # would make the model refuse every route: that visit starts over instead.
            if v not in build.visit_nodes or k not in allowed[v] or not drafts[k].append(v):
                left_out.append(v)
    routed = {v for k in proposed for v in proposed[k]}
    left_out += [v for v in build.visit_order if v not in routed]
    report()
    # Making room costs many trial insertions on a day that is over-subscribed: one budget
    # for the whole repair keeps that bounded by the size of the day.
    budget = _Budget(
        ROOM_ATTEMPTS_PER_VISIT * len(build.visit_order),
        FAR_TRIES_PER_VISIT * len(build.visit_order),
        FURTHER_TRIES_PER_VISIT * len(build.visit_order),
        deadline_s,
    )
    _serve_in_turn(problem, matrix, build, drafts, allowed, left_out, budget)
    report()
    _shorten_all(drafts, budget)
    _relocate_and_shorten(
        problem, matrix, drafts, allowed, budget, RELOCATE_PASSES, MAX_RELOCATE_TRIES
    )
    # The time the moves saved may now hold what is still out.
    turn_started_s = time.perf_counter()
    _serve_rest(problem, matrix, build, drafts, allowed, budget)
    turn_s = time.perf_counter() - turn_started_s
    report()
    # The moves for ride alone stop early enough to leave the last turn its time (they spend
    # no tries, only time, so a copy with an earlier deadline serves them).
    ride_budget = budget
    if FINAL_TURN and deadline_s is not None:
        ride_budget = replace(budget, deadline_s=deadline_s - FINAL_TURN_RESERVE * turn_s)
    _relocate_and_shorten(
        problem,
        matrix,
        drafts,
        allowed,
        ride_budget,
        FINAL_RELOCATE_PASSES,
        FINAL_RELOCATE_TRIES,
        PREFERENCE_WEIGHT_S,
        swaps=True,
    )
    if improve is not None:
        # Before the last turn, so that what is still out may take the ride it saves.
        improve.result = ruin_and_recreate(
            problem,
            matrix.duration_s,
            drafts,
            allowed,
            build.visit_order,
            improve.seed,
            until_s=improve.until_s,
            iterations=improve.iterations,
            preference_s=PREFERENCE_WEIGHT_S,
        )
        report()
    if FINAL_TURN:
        # Only now may a run of visits give way: earlier, one visit far out would take the
        # room the moves between routes might have freed for two nearer ones.
        budget.runs = True
        _serve_rest(problem, matrix, build, drafts, allowed, budget)
        report()
    still_out = len(routed - _served(drafts))
    routes = {k: nodes for k, d in drafts.items() if (nodes := d.nodes())}
    return routes, still_out


def _served(drafts: Mapping[int, _Draft]) -> set[int]:
    """The visits the routes serve."""
    return {step.pos for d in drafts.values() for step in d.steps if step.kind == StopKind.VISIT}


def _serve_rest(
    problem: Problem,
    matrix: TravelMatrix,
    build: RoutingBuild,
    drafts: Mapping[int, _Draft],
    allowed: Sequence[Sequence[int]],
    room: _Budget,
) -> None:
    """Offer every visit still out to the routes once more (see :func:`_serve_in_turn`),
    making room further on too (:func:`_make_room_further`), up to the deadline: each of them
    has had a turn already."""
    served = _served(drafts)
    out = [v for v in build.visit_order if v not in served]
    _serve_in_turn(
        problem, matrix, build, drafts, allowed, out, room, further=True, to_deadline=True
    )


def _serve_in_turn(
    problem: Problem,
    matrix: TravelMatrix,
    build: RoutingBuild,
    drafts: Mapping[int, _Draft],
    allowed: Sequence[Sequence[int]],
    out: Sequence[int],
    room: _Budget,
    *,
    further: bool = False,
    to_deadline: bool = False,
) -> None:
    """Offer the visits ``out`` to the routes, most important first: each goes where it adds
    the least ride and fits, or in the place of a neighbour that moves to another gap (with
    ``further``, or of a visit further on, see :func:`_make_room_further`), or else a visit of
    a lower tier gives way to it and joins the queue at its own rank. Each exchange serves a
    higher tier in place of a lower one, so the exchanges end. Once the time left would only
    do for plain insertions of the visits still queued (at the rate measured so far), that is
    all they get; with ``to_deadline`` the turn ends at the deadline."""

    def order(v: int) -> tuple[int, int]:
        return (-tier(problem.visits[v]), v)

    queue = sorted(dict.fromkeys(out), key=order)
    insert_s, inserts = 0.0, 0
    while queue and not (to_deadline and room.late()):
        v = queue.pop(0)
        if v not in build.visit_nodes:
            continue
        started_s = time.perf_counter()
        fitted = _reinsert(problem, matrix, drafts, allowed[v], v)
        insert_s += time.perf_counter() - started_s
        inserts += 1
        if fitted:
            continue
        # Short of time, the visits still queued keep it for their own plain insertion, but an
        # urgent or required visit still takes a lower-tier neighbour's place (see URGENT_TIER).
        short = room.short_of(insert_s / inserts * len(queue))
        if short and tier(problem.visits[v]) < URGENT_TIER:
            continue
        # Each move below leaves the routes as they were when it fails, so the gaps hold.
        gaps = _cheapest_gaps(problem, matrix, drafts, allowed[v], v)
        if not short:
            if _make_room(problem, matrix, drafts, allowed, v, gaps, room):
                continue
            if further and _make_room_further(problem, matrix, drafts, allowed, v, gaps, room):
                continue
        for displaced in _exchange(problem, drafts, v, gaps, room):
            bisect.insort(queue, displaced, key=order)


@dataclass(slots=True)
class _Budget:
    """What repair may still spend: tries at making room (see
    :data:`ROOM_ATTEMPTS_PER_VISIT`), tries at exchanges beyond a gap's neighbours (see
    :data:`FAR_TRIES_PER_VISIT`), tries at making room further on (see
    :data:`FURTHER_TRIES_PER_VISIT`) and, when ``deadline_s`` is given, time for the moves."""

    left: int
    far_left: int = 0
    further_left: int = 0
    deadline_s: float | None = None
    runs: bool = False  # whether runs of visits may give way (:func:`_exchange_run`)

    def late(self) -> bool:
        """Whether the deadline has passed: from then on nothing more is tried."""
        return self.deadline_s is not None and time.perf_counter() >= self.deadline_s

    def short_of(self, need_s: float) -> bool:
        """Whether less than ``need_s`` is left before the deadline."""
        return self.deadline_s is not None and time.perf_counter() + need_s >= self.deadline_s

    def spend_far(self, tried: int, most: int) -> bool:
        """Spend one try of an exchange beyond a gap's neighbours, if the visit's ``tried``
        are still below ``most``, the day's are not spent and it is not late."""
        if tried >= most or self.far_left <= 0 or self.late():
            return False
        self.far_left -= 1
        return True

    def spend_further(self, tried: int, most: int) -> bool:
        """Spend one try at making room further on, as :meth:`spend_far` for exchanges."""
        if tried >= most or self.further_left <= 0 or self.late():
            return False
        self.further_left -= 1
        return True


def _make_room(
    problem: Problem,
    matrix: TravelMatrix,
    drafts: Mapping[int, _Draft],
    allowed: Sequence[Sequence[int]],
    v: int,
    gaps: Sequence[tuple[int, int]],
    room: _Budget,
) -> bool:
    """Serve ``v`` in the place of a neighbouring visit that fits in another gap: next to each
    of the first :data:`MAX_ROOM_TRIES` of ``gaps`` ((agent, gap) pairs of ``v``'s allowed
    routes, least ride added by ``v`` first, :func:`_cheapest_gaps`), a visit of any tier
    steps aside to wherever it adds the least ride and fits (:func:`_reinsert`), each try
    spending one of ``room``; whether ``v`` is now served (the routes are unchanged
    otherwise)."""
    for k, at in gaps[:MAX_ROOM_TRIES]:
        draft = drafts[k]
        for j in (at - 1, at):
            if not (0 <= j < len(draft.steps)) or draft.steps[j].kind != StopKind.VISIT:
                continue
            if room.left <= 0 or room.late():
                return False
            room.left -= 1
            u = draft.steps[j].pos
            kept = draft.snapshot()
            taken = draft.take_out(j, at)
            if taken is None:
                continue
            if draft.insert(v, taken[1]) and _reinsert(problem, matrix, drafts, allowed[u], u):
                return True
            draft.restore(kept)
    return False


def _make_room_further(
    problem: Problem,
    matrix: TravelMatrix,
    drafts: Mapping[int, _Draft],
    allowed: Sequence[Sequence[int]],
    v: int,
    gaps: Sequence[tuple[int, int]],
    room: _Budget,
) -> bool:
    """Serve ``v`` in one of the first :data:`FURTHER_ROOM_GAPS` of ``gaps`` (as for
    :func:`_make_room`) once a visit of its tier or below, anywhere from that gap to the first
    stop that then no longer fits (:meth:`_Draft.misfit`), moves to another route: where it
    adds the least ride and fits, or in the place of a neighbour there that moves in turn
    (:func:`_make_room`). At most
    :data:`MAX_FURTHER_ROOM_TRIES` gaps and moves, each spending one of ``room``'s; whether
    ``v`` is now served (the routes are unchanged otherwise).

    On a full day the visit in the way is seldom next to the gap, and the route it could move
    to is full too: only a chain of two moves makes the room.
    """
    rank = tier(problem.visits[v])
    tried = 0
    for k, at in gaps[:FURTHER_ROOM_GAPS]:
        if not room.spend_further(tried, MAX_FURTHER_ROOM_TRIES):
            return False
        tried += 1
        draft = drafts[k]
        misfit = draft.misfit(v, at)
        if misfit is None or misfit < at:
            continue  # in time it fits here (the visit count or a load stops it), or never
        for j in range(max(0, at - 1), min(misfit + 1, len(draft.steps))):
            step = draft.steps[j]
            if step.kind != StopKind.VISIT or tier(problem.visits[step.pos]) > rank:
                continue
            if not room.spend_further(tried, MAX_FURTHER_ROOM_TRIES):
                return False
            tried += 1
            u = step.pos
            kept = draft.snapshot()
            taken = draft.take_out(j, at)
            if taken is None:
                continue
            if draft.insert(v, taken[1]) and (
                _reinsert(problem, matrix, drafts, allowed[u], u)
                or _make_room(
                    problem,
                    matrix,
                    drafts,
                    allowed,
                    u,
                    _cheapest_gaps(problem, matrix, drafts, allowed[u], u),
                    room,
                )
            ):
                return True
            draft.restore(kept)
    return False


def fitting_steps(
    problem: Problem, matrix: TravelMatrix, build: RoutingBuild, k: int, steps: Sequence[Step]
) -> list[Step]:
    """Agent ``k``'s visits of ``steps`` in order, each kept if it still fits after those kept
    before it (with the office calls it needs): what a route the model accepted but that
    cannot be timed keeps."""
    draft = _Draft(problem, matrix, build, k)
    for step in steps:
        if step.kind == StopKind.VISIT:
            draft.append(step.pos)
    return list(draft.steps)


def _detours_s(
    duration: npt.NDArray[np.int64], locs: Sequence[int], x: int
) -> npt.NDArray[np.int64]:
    """The ride location ``x`` adds in each gap of a route through ``locs``."""
    stops = np.asarray(locs, dtype=np.intp)
    prev, succ = stops[:-1], stops[1:]
    extra: npt.NDArray[np.int64] = duration[prev, x] + duration[x, succ] - duration[prev, succ]
    return extra


def _cheapest_gaps(
    problem: Problem,
    matrix: TravelMatrix,
    drafts: Mapping[int, _Draft],
    agents: Sequence[int],
    v: int,
    *,
    with_room: bool = False,
) -> list[tuple[int, int]]:
    """(agent, gap) pairs of ``agents``' routes, least ride added by visit ``v`` first (only
    routes with room for one more visit when ``with_room``)."""
    target = problem.visit_index(v)
    options: list[tuple[int, int, int]] = []
    for k in agents:
        draft = drafts[k]
        if with_room and not draft.has_room(v):
            continue
        extra = _detours_s(matrix.duration_s, draft.locations(), target)
        options += [(int(extra[at]), k, at) for at in range(len(extra))]
    options.sort()
    return [(k, at) for _, k, at in options]


def _reinsert(
    problem: Problem,
    matrix: TravelMatrix,
    drafts: Mapping[int, _Draft],
    agents: Sequence[int],
    v: int,
) -> bool:
    """Insert visit ``v`` where it adds the least ride and fits, trying a few gaps."""
    options = _cheapest_gaps(problem, matrix, drafts, agents, v, with_room=True)
    return any(drafts[k].insert(v, at) for k, at in options[:MAX_INSERT_TRIES])


def _exchange(
    problem: Problem,
    drafts: Mapping[int, _Draft],
    v: int,
    gaps: Sequence[tuple[int, int]],
    room: _Budget,
) -> list[int]:
    """Serve ``v`` in place of a visit of a lower tier just before or after one of ``gaps``
    (as for :func:`_make_room`), or else in place of both, or else of one further on or two
    apart, or in the last turn a run (see :func:`_exchange_later`, :func:`_exchange_apart`
    and :func:`_exchange_run`); the visits that gave way (none if no exchange fits)."""
    rank = tier(problem.visits[v])
    if rank == 0:
        return []
    tried = 0
    pairs: list[tuple[int, int]] = []
    # The routes are as they were after each exchange that does not fit, so the gaps hold.
    for k, at in gaps:
        if tried >= MAX_EJECT_TRIES:
            break
        draft = drafts[k]
        ways = [j for j in (at - 1, at) if 0 <= j < len(draft.steps) and draft.gives_way(j, rank)]
        for j in ways:
            tried += 1
            displaced = draft.exchange(j, v, at)
            if displaced is not None:
                return [displaced]
        if len(ways) == 2:
            pairs.append((k, at))
    # A tight route may need both neighbours of the gap to give way.
    for k, at in pairs:
        displaced_pair = drafts[k].exchange_pair(at, v)
        if displaced_pair is not None:
            return displaced_pair
    return (
        _exchange_later(drafts, gaps, v, rank, room)
        or _exchange_apart(drafts, gaps, v, rank, room)
        or (_exchange_run(drafts, gaps, v, rank, room) if room.runs else [])
    )


def _exchange_later(
    drafts: Mapping[int, _Draft],
    gaps: Sequence[tuple[int, int]],
    v: int,
    rank: int,
    room: _Budget,
) -> list[int]:
    """Serve ``v`` in place of one visit of a tier below ``rank`` anywhere from one of the
    ``gaps`` ((agent, gap) pairs, least ride added by ``v`` first) to the first stop that no
    longer fits once ``v`` is served there (:meth:`_Draft.misfit`), up to
    :data:`MAX_LATER_TRIES` gaps and exchanges, each spending one of ``room``'s (none once
    it is late); the visit that gave way (none if none fits).

    Serving a visit delays what follows it, and on a full route the first stop that then
    misses its window, or the end of the shift, may be hours later: any visit in between
    can make the room, not only the gap's neighbours.
    """
    tried = 0
    for k, at in gaps:
        draft = drafts[k]
        if not room.spend_far(tried, MAX_LATER_TRIES):
            return []
        tried += 1
        misfit = draft.misfit(v, at)
        if misfit is None or misfit < at:
            continue  # it fits here, or nothing after the gap is in its way
        for j in range(at, min(misfit + 1, len(draft.steps))):
            if not draft.gives_way(j, rank):
                continue
            if not room.spend_far(tried, MAX_LATER_TRIES):
                return []
            tried += 1
            displaced = draft.exchange(j, v, at)
            if displaced is not None:
                return [displaced]
    return []


def _exchange_apart(
    drafts: Mapping[int, _Draft],
    gaps: Sequence[tuple[int, int]],
    v: int,
    rank: int,
    room: _Budget,
) -> list[int]:
    """Serve ``v`` in place of two visits of tiers below ``rank`` on one route, apart from
    each other: near each of the ``gaps`` (as for :func:`_exchange_later`), any two of the
    visits from :data:`APART_STEPS_BEFORE` stops before it to :data:`APART_STEPS_AFTER`
    after, up to :data:`MAX_APART_TRIES` pairs, each spending one of ``room``'s (none once
    it is late); the two that gave way (none if no pair fits).

    A visit served early in a full route delays all that follows it, and the slack may have
    to come from visits on both sides of one that cannot move, such as an urgent visit.
    """
    tried = 0
    for k, at in gaps:
        draft = drafts[k]
        near = range(max(0, at - APART_STEPS_BEFORE), min(len(draft.steps), at + APART_STEPS_AFTER))
        ways = [draft.steps[j].pos for j in near if draft.gives_way(j, rank)]
        for first, second in itertools.combinations(ways, 2):
            if not room.spend_far(tried, MAX_APART_TRIES):
                return []
            tried += 1
            kept = draft.snapshot()
            taken = draft.take_out(_at(draft, first), at)
            if taken is None:
                continue
            # Taking out the first may take out an office call too: find the second anew.
            taken = draft.take_out(_at(draft, second), taken[1])
            if taken is not None and draft.insert(v, taken[1]):
                return [first, second]
            draft.restore(kept)
    return []


def _exchange_run(
    drafts: Mapping[int, _Draft],
    gaps: Sequence[tuple[int, int]],
    v: int,
    rank: int,
    room: _Budget,
) -> list[int]:
    """Serve ``v`` in place of a run of up to :data:`MAX_RUN_STEPS` visits of tiers below
    ``rank`` right after or right before one of the ``gaps`` (as for
    :func:`_exchange_later`), taken out one by one until ``v`` fits, at most
    :data:`MAX_RUN_TRIES` runs, each spending one of ``room``'s (none once it is late); the
    visits that gave way (none if no run makes room).

    A visit far from every allowed route needs the ride there and back inside its window:
    on a full route that can be the time of four or five visits of a lower tier.
    """
    tried = 0
    # Gaps whose neighbours' times leave v's window within reach first: on a day of two-hour
    # slots the gaps least out of the way for an afternoon visit can be morning ones, where
    # no run of lower tiers makes room for it.
    for k, at in sorted(gaps, key=lambda gap: not drafts[gap[0]].may_hold(v, gap[1])):
        draft = drafts[k]
        for after in (True, False):
            if not room.spend_far(tried, MAX_RUN_TRIES):
                return []
            tried += 1
            kept = draft.snapshot()
            out: list[int] = []
            gap = at
            while len(out) < MAX_RUN_STEPS:
                j = gap if after else gap - 1
                if not (0 <= j < len(draft.steps) and draft.gives_way(j, rank)):
                    break
                out.append(draft.steps[j].pos)
                taken = draft.take_out(j, gap)
                if taken is None:
                    break
                gap = taken[1]
                if draft.insert(v, gap):
                    return out
            draft.restore(kept)
    return []


def _at(draft: _Draft, v: int) -> int:
    """Where visit ``v``, known to be on ``draft``'s route, stands."""
    j = draft.position(v)
    assert j is not None
    return j


# A draft's steps, timer states, loads and visit count, to undo a change.
_Saved = tuple[list[Step], list[list[State]], dict[str, int], int]


def _shorten_all(drafts: Mapping[int, _Draft], budget: _Budget) -> None:
    """Shorten each route (:meth:`_Draft.shorten`) until the deadline."""
    for draft in drafts.values():
        if budget.late():
            return
        draft.shorten()


def _relocate_and_shorten(
    problem: Problem,
    matrix: TravelMatrix,
    drafts: Mapping[int, _Draft],
    allowed: Sequence[Sequence[int]],
    budget: _Budget,
    passes: int,
    tries: int,
    missed_s: int = 0,
    *,
    swaps: bool = False,
) -> None:
    """Up to ``passes`` rounds of :func:`_relocate` (``tries`` gaps a visit, a preferred agent
    lost counting ``missed_s`` of ride), and of :func:`_swap` with ``swaps``, each followed by
    shortening every route, until a round moves nothing or the deadline passes."""
    for _ in range(passes):
        moved = _relocate(problem, matrix, drafts, allowed, budget, tries, missed_s)
        if swaps:
            moved += _swap(problem, matrix, drafts, allowed, budget, missed_s)
        if not moved:
            break
        _shorten_all(drafts, budget)


def _relocate(
    problem: Problem,
    matrix: TravelMatrix,
    drafts: Mapping[int, _Draft],
    allowed: Sequence[Sequence[int]],
    budget: _Budget,
    tries: int,
    missed_s: int,
) -> int:
    """Move single visits to other allowed agents' routes wherever the two routes then ride
    less and still fit, trying the ``tries`` cheapest gaps first, until the deadline; how many
    visits moved."""
    gaps = _Gaps(drafts, matrix.duration_s, tries, missed_s)
    moves = 0
    for k, source in drafts.items():
        j = 0
        while j < len(source.steps) and not budget.late():
            if source.steps[j].kind == StopKind.VISIT and _move_visit(problem, gaps, allowed, k, j):
                moves += 1  # the next stop is now at j
                gaps.rebuild()
            else:
                j += 1
    return moves


def _swap(
    problem: Problem,
    matrix: TravelMatrix,
    drafts: Mapping[int, _Draft],
    allowed: Sequence[Sequence[int]],
    budget: _Budget,
    missed_s: int,
) -> int:
    """Exchange visits of two routes, each taking the other's place, wherever the two routes
    then ride less and still fit (a preferred agent lost counting ``missed_s`` of ride),
    trying each visit's :data:`SWAP_TRIES` partners that look best on the bare ride, until the
    deadline; how many pairs were exchanged."""
    duration = matrix.duration_s
    stops = _Stops(drafts)
    moves = 0
    # Each exchange keeps every route's number of visits, so stop i stays the same place.
    for i in range(len(stops.agent)):
        if budget.late():
            break
        k, v = int(stops.agent[i]), int(stops.visit[i])
        prev, here, succ = int(stops.prev[i]), int(stops.loc[i]), int(stops.succ[i])
        there = stops.loc
        # The ride each swap saves, office calls aside: v into the partner's place and back.
        change = (
            duration[prev, there]
            + duration[there, succ]
            + duration[stops.prev, here]
            + duration[here, stops.succ]
            - duration[prev, here]
            - duration[here, succ]
            - duration[stops.prev, there]
            - duration[there, stops.succ]
        )
        partners = np.flatnonzero(
            (change < 0) & (stops.agent != k) & np.isin(stops.agent, allowed[v])
        )
        partners = partners[np.argsort(change[partners], kind="stable")]
        tried = 0
        for c in partners:
            t, u = int(stops.agent[c]), int(stops.visit[c])
            if k not in allowed[u]:
                continue
            if _swap_pair(problem, drafts, (k, v), (t, u), missed_s):
                moves += 1
                stops = _Stops(drafts)
                break
            tried += 1
            if tried >= SWAP_TRIES:
                break
    return moves


def _swap_pair(
    problem: Problem,
    drafts: Mapping[int, _Draft],
    first: tuple[int, int],
    second: tuple[int, int],
    missed: int,
) -> bool:
    """Serve each visit of the (agent, visit) pairs ``first`` and ``second`` where the other
    stood, if both routes still fit and then ride less, a preferred agent lost counting
    ``missed`` seconds of ride; the routes are unchanged otherwise."""
    (k, v), (t, u) = first, second
    a, b = drafts[k], drafts[t]

    def missed_s(agent: int, x: int) -> int:
        return _missed_s(problem, agent, x, missed)

    before_s = a.ride_s() + b.ride_s() + missed_s(k, v) + missed_s(t, u)
    ja, jb = a.position(v), b.position(u)
    if ja is None or jb is None:
        return False
    saved_a, saved_b = a.snapshot(), b.snapshot()
    taken_a = a.take_out(ja, ja)
    taken_b = b.take_out(jb, jb) if taken_a is not None else None
    if (
        taken_a is not None
        and taken_b is not None
        and a.insert(u, taken_a[1])
        and b.insert(v, taken_b[1])
        and a.ride_s() + b.ride_s() + missed_s(k, u) + missed_s(t, v) < before_s
    ):
        return True
    a.restore(saved_a)
    b.restore(saved_b)
    return False


def _missed_s(problem: Problem, k: int, v: int, price_s: int) -> int:
    """``price_s`` if agent ``k`` is not the agent visit ``v`` prefers, else 0."""
    preferred = problem.visits[v].preferred_agent
    if preferred is None or problem.agents[k].id == preferred:
        return 0
    return price_s


class _Stops:
    """Every visit stop of every route with its neighbours' locations, as arrays."""

    def __init__(self, drafts: Mapping[int, _Draft]) -> None:
        agent: list[int] = []
        visit: list[int] = []
        loc: list[int] = []
        prev: list[int] = []
        succ: list[int] = []
        for k, draft in drafts.items():
            locs = draft.locations()
            for j, step in enumerate(draft.steps):
                if step.kind != StopKind.VISIT:
                    continue
                agent.append(k)
                visit.append(step.pos)
                prev.append(locs[j])
                loc.append(locs[j + 1])
                succ.append(locs[j + 2])
        self.agent = np.array(agent, dtype=np.intp)
        self.visit = np.array(visit, dtype=np.intp)
        self.loc = np.array(loc, dtype=np.intp)
        self.prev = np.array(prev, dtype=np.intp)
        self.succ = np.array(succ, dtype=np.intp)


class _Gaps:
    """Every gap of every route as arrays, so that a visit's cheapest gaps are found at once."""

    def __init__(
        self,
        drafts: Mapping[int, _Draft],
        duration: npt.NDArray[np.int64],
        tries: int,
        missed_s: int,
    ) -> None:
        self.drafts = drafts
        self.duration = duration
        self.tries = tries
        self.missed_s = missed_s
        self.n_agents = max(drafts, default=-1) + 1
        self.rebuild()

    def rebuild(self) -> None:
        after: list[int] = []
        before: list[int] = []
        agent: list[int] = []
        at: list[int] = []
        for k, draft in self.drafts.items():
            locs = draft.locations()
            after += locs[:-1]
            before += locs[1:]
            agent += [k] * (len(locs) - 1)
            at += range(len(locs) - 1)
        self.after = np.array(after, dtype=np.intp)
        self.before = np.array(before, dtype=np.intp)
        self.agent = np.array(agent, dtype=np.intp)
        self.at = np.array(at, dtype=np.intp)
        self.direct = self.duration[self.after, self.before]

    def cheapest(self, x: int, agents: Sequence[int], below: int) -> list[tuple[int, int]]:
        """(agent, gap) pairs of ``agents``' routes where location ``x`` adds less than
        ``below`` seconds of ride, cheapest first, at most ``tries`` of them."""
        mask = np.zeros(self.n_agents, dtype=bool)
        mask[list(agents)] = True
        extra = self.duration[self.after, x] + self.duration[x, self.before] - self.direct
        fits = np.flatnonzero((extra < below) & mask[self.agent])
        best = fits[np.argsort(extra[fits], kind="stable")][: self.tries]
        return [(int(self.agent[i]), int(self.at[i])) for i in best]


def _move_visit(
    problem: Problem,
    gaps: _Gaps,
    allowed: Sequence[Sequence[int]],
    k: int,
    j: int,
) -> bool:
    """Move the visit at stop ``j`` of agent ``k``'s route to another route, if that pays: the
    two routes ride less, a preferred agent lost counting ``gaps.missed_s`` of ride."""
    drafts, duration = gaps.drafts, gaps.duration
    source = drafts[k]
    v = source.steps[j].pos

    def missed_s(agent: int) -> int:
        return _missed_s(problem, agent, v, gaps.missed_s)

    x = problem.visit_index(v)
    locs = source.locations()
    saved = int(duration[locs[j], x] + duration[x, locs[j + 2]] - duration[locs[j], locs[j + 2]])
    if saved <= 0:
        return False
    options = gaps.cheapest(x, [a for a in allowed[v] if a != k], saved)
    if not options:
        return False
    source_before_s = source.ride_s()
    taken = source.take_out(j)
    if taken is None:
        return False
    source_after_s = source.ride_s()
    for t, at in options:
        target = drafts[t]
        target_before_s = target.ride_s()
        kept = target.snapshot()
        if target.insert(v, at) and (
            source_after_s + target.ride_s() + missed_s(t)
            < source_before_s + target_before_s + missed_s(k)
        ):
            return True
        target.restore(kept)
    source.restore(taken[0])
    return False


class _Draft:
    """One agent's route under repair: its steps and the timer states after each prefix."""

    def __init__(
        self,
        problem: Problem,
        matrix: TravelMatrix,
        build: RoutingBuild,
        k: int,
        times: VisitTimes | None = None,
    ):
        self.problem = problem
        self.build = build
        self.k = k
        self.agent = problem.agents[k]
        self.travel = model_travel(matrix, self.agent.speed_factor)
        self.timer = RouteTimer(problem, k, self.travel, times=times, prune=True)
        self.steps: list[Step] = []
        self.prefix: list[list[State]] = [self.timer.initial()]
        self.load: dict[str, int] = {}
        self.served = 0

    def locations(self) -> list[int]:
        """Matrix indices: the start, every stop, the end."""
        return (
            [self.problem.start_index(self.k)]
            + [self._location(st) for st in self.steps]
            + [self.problem.end_index(self.k)]
        )

    def _location(self, step: Step) -> int:
        if step.kind == StopKind.PICKUP:
            return self.problem.office_index(step.pos)
        return self.problem.visit_index(step.pos)

    def has_room(self, v: int) -> bool:
        """``max_visits`` and capacities allow one more visit ``v``."""
        if self.agent.max_visits is not None and self.served >= self.agent.max_visits:
            return False
        return all(
            self.load.get(name, 0) + amount <= self.agent.capacities.get(name, 0)
            for name, amount in self.problem.visits[v].demand.items()
            if amount
        )

    def _office(self, v: int) -> int | None:
        pickup = self.build.pickup_node_of.get(v)
        if pickup is None:
            return None
        return self.build.pickup_nodes[pickup - len(self.build.node_visits)][0]

    def _retime(self, at: int, tail: Sequence[Step]) -> list[list[State]] | None:
        """States after each of ``tail`` following ``steps[:at]``, if it all fits."""
        states = self.prefix[at]
        out = []
        for number, step in enumerate(tail, start=at):
            states = self.timer.advance(states, step, number)
            if not states:
                return None
            out.append(states)
        return out if self.timer.finish(states) is not None else None

    def _commit(self, at: int, tail: list[Step], timed: list[list[State]], v: int) -> None:
        self.steps[at:] = tail
        self.prefix[at + 1 :] = timed
        self.served += 1
        for name, amount in self.problem.visits[v].demand.items():
            self.load[name] = self.load.get(name, 0) + amount

    def _call_before(self, office: int, at: int) -> int | None:
        for i in range(at):
            step = self.steps[i]
            if step.kind == StopKind.PICKUP and step.pos == office:
                return i
        return None

    def append(self, v: int) -> bool:
        """Serve ``v`` after the current last stop (calling at its office first if needed)."""
        office = self._office(v)
        if office is None or self._call_before(office, len(self.steps)) is not None:
            return self.insert(v, len(self.steps))
        if not self.has_room(v):
            return False
        call = Step(StopKind.PICKUP, office, (v,))
        here = Step(StopKind.VISIT, v)
        locs = self.locations()[:-1]
        office_loc = self.problem.office_index(office)
        after = [*locs[1:], self.problem.visit_index(v)]
        gaps = sorted(
            (
                self.travel(a, office_loc, 0)
                + self.travel(office_loc, b, 0)
                - self.travel(a, b, 0),
                -at,
            )
            for at, (a, b) in enumerate(zip(locs, after, strict=True))
        )
        for _, minus_at in gaps[:MAX_CALL_TRIES]:
            at = -minus_at
            tail = [call, *self.steps[at:], here]
            timed = self._retime(at, tail)
            if timed is not None:
                self._commit(at, tail, timed, v)
                return True
        return False

    def _tail_with(self, v: int, at: int) -> tuple[list[Step], int | None]:
        """The steps from ``at`` on with ``v`` served before ``steps[at]``, and the earlier
        call at its office that collects it (None: a new call just before it, or none)."""
        here = Step(StopKind.VISIT, v)
        office = self._office(v)
        call_at = None if office is None else self._call_before(office, at)
        if office is not None and call_at is None:
            return [Step(StopKind.PICKUP, office, (v,)), here, *self.steps[at:]], None
        return [here, *self.steps[at:]], call_at

    def misfit(self, v: int, at: int) -> int | None:
        """Where serving ``v`` before ``steps[at]`` first fails, as a position in the route
        as it stands: of the first later stop that no longer fits, ``len(steps)`` if only
        the end of the shift does not, below ``at`` if ``v`` itself (or its call) does not;
        None if it fits in time."""
        tail, _ = self._tail_with(v, at)
        added = len(tail) - (len(self.steps) - at)
        states = self.prefix[at]
        for number, step in enumerate(tail, start=at):
            states = self.timer.advance(states, step, number)
            if not states:
                return number - added
        return None if self.timer.finish(states) is not None else len(self.steps)

    def insert(self, v: int, at: int) -> bool:
        """Serve ``v`` before ``steps[at]``; a delivery uses an earlier call at its office or,
        failing that, calls there just before."""
        if not self.has_room(v):
            return False
        tail, call_at = self._tail_with(v, at)
        timed = self._retime(at, tail)
        if timed is None:
            return False
        self._commit(at, tail, timed, v)
        if call_at is not None:
            call = self.steps[call_at]
            self.steps[call_at] = Step(StopKind.PICKUP, call.pos, (*call.collects, v))
        return True

    def shorten(self) -> None:
        """Move runs of stops to where they save ride while the route still fits, first
        improvement first, at most :data:`MAX_MOVES_PER_ROUTE` moves."""
        for _ in range(MAX_MOVES_PER_ROUTE):
            if not self._move_run():
                return

    def _move_run(self) -> bool:
        """Make the first move of a run of stops that shortens the ride and fits, if any."""
        steps, locs = self.steps, self.locations()

        def ride(i: int, j: int) -> int:
            return self.travel(i, j, 0)

        for length in range(1, MAX_SEGMENT_STEPS + 1):
            for i in range(len(steps) - length + 1):
                first, last = locs[i + 1], locs[i + length]
                before, after = locs[i], locs[i + length + 1]
                saved = ride(before, first) + ride(last, after) - ride(before, after)
                if saved <= 0:
                    continue
                rest = steps[:i] + steps[i + length :]
                rest_locs = locs[: i + 1] + locs[i + length + 1 :]
                for j in range(len(rest) + 1):
                    a, b = rest_locs[j], rest_locs[j + 1]
                    if j == i or ride(a, first) + ride(last, b) - ride(a, b) >= saved:
                        continue
                    moved = [*rest[:j], *steps[i : i + length], *rest[j:]]
                    if not _calls_first(moved):
                        continue
                    same = min(i, j)  # the stops before keep their times
                    timed = self._retime(same, moved[same:])
                    if timed is not None:
                        self.steps, self.prefix = moved, [*self.prefix[: same + 1], *timed]
                        return True
        return False

    def may_hold(self, v: int, at: int) -> bool:
        """Whether visit ``v``'s window may fall between ``steps[at - 1]``, as it starts
        now, and the latest start of ``steps[at]``: a cheap test of time, not of fit."""
        visit = self.problem.visits[v]
        if at > 0:
            before_s = min(s.leg.start_s for s in self.prefix[at] if s.leg)
            if before_s > visit.latest_start_s():
                return False
        opens_s = min(w.start_s for w in visit.windows)
        return at >= len(self.steps) or self._latest_start_s(self.steps[at]) >= opens_s

    def _latest_start_s(self, step: Step) -> int:
        if step.kind == StopKind.PICKUP:
            office = self.problem.offices[step.pos]
            return office.opening.end_s - office.pickup_s
        return self.problem.visits[step.pos].latest_start_s()

    def gives_way(self, j: int, rank: int) -> bool:
        """Whether ``steps[j]`` is a visit of a tier below ``rank``."""
        step = self.steps[j]
        return step.kind == StopKind.VISIT and tier(self.problem.visits[step.pos]) < rank

    def exchange(self, j: int, v: int, at: int) -> int | None:
        """Leave out the visit at ``steps[j]`` (and its office call if that collects nothing
        else) and serve ``v`` before what was ``steps[at]``; the visit left out, or None (the
        route unchanged) if ``v`` does not fit that way."""
        out = self.steps[j].pos
        taken = self.take_out(j, at)
        if taken is None:
            return None
        saved, at = taken
        if self.insert(v, at):
            return out
        self.restore(saved)
        return None

    def exchange_pair(self, at: int, v: int) -> list[int] | None:
        """Leave out the visits at ``steps[at - 1]`` and ``steps[at]`` and serve ``v`` between
        what is left; the two visits left out, or None (the route unchanged)."""
        outs = [self.steps[at - 1].pos, self.steps[at].pos]
        first = self.take_out(at, at)
        if first is None:
            return None
        saved, at = first
        second = self.take_out(at - 1, at)
        if second is not None:
            _, at = second
            if self.insert(v, at):
                return outs
        self.restore(saved)
        return None

    def take_out(self, j: int, at: int = 0) -> tuple[_Saved, int] | None:
        """Leave out the visit at ``steps[j]``, and its office call if that collects nothing
        else; what :meth:`restore` needs to undo it and where ``steps[at]`` now is, or None
        (the route unchanged) if the rest does not fit."""
        return self._leave_out({self.steps[j].pos}, at)

    def take_out_all(self, visits: AbstractSet[int]) -> bool:
        """Leave out every visit of ``visits`` served here, and the office calls that then
        collect nothing, timing the rest once; False (the route unchanged) if it does not fit.
        """
        return self._leave_out(visits, 0) is not None

    def _leave_out(self, visits: AbstractSet[int], at: int) -> tuple[_Saved, int] | None:
        """:meth:`take_out` for every visit of ``visits`` served here at once."""
        kept: list[Step] = []
        first = len(self.steps)  # stops before the first one left out keep their times
        now_at = at
        gone: list[int] = []
        for i, step in enumerate(self.steps):
            if step.kind == StopKind.VISIT:
                if step.pos not in visits:
                    kept.append(step)
                    continue
                gone.append(step.pos)
            else:
                if not visits.isdisjoint(step.collects):
                    collects = tuple(x for x in step.collects if x not in visits)
                    step = Step(StopKind.PICKUP, step.pos, collects)
                if step.collects:
                    kept.append(step)
                    continue
            now_at -= i < at  # against the position before any stop was left out
            first = min(first, i)
        if not gone:
            return self.snapshot(), at
        timed = self._retime(first, kept[first:])
        if timed is None:
            return None
        saved = self.snapshot()
        self.steps, self.prefix = kept, [*self.prefix[: first + 1], *timed]
        self.served -= len(gone)
        for v in gone:
            for name, amount in self.problem.visits[v].demand.items():
                self.load[name] = self.load.get(name, 0) - amount
        return saved, now_at

    def snapshot(self) -> _Saved:
        """What :meth:`restore` needs to undo the changes that follow."""
        return list(self.steps), list(self.prefix), dict(self.load), self.served

    def restore(self, saved: _Saved) -> None:
        self.steps, self.prefix, self.load, self.served = saved

    def position(self, v: int) -> int | None:
        """Where visit ``v`` stands in the route, if it is served here."""
        for j, step in enumerate(self.steps):
            if step.kind == StopKind.VISIT and step.pos == v:
                return j
        return None

    def ride_s(self) -> int:
        """The route's ride as the model counts it: none for an idle agent, who does not
        ride from the start to the end of an empty route."""
        if not self.steps:
            return 0
        return sum(self.travel(a, b, 0) for a, b in itertools.pairwise(self.locations()))

    def _starts_s(self) -> list[int]:
        """When each stop starts, in route order, as timed (none for an idle agent)."""
        if not self.steps:
            return []
        finish = self.timer.finish(self.prefix[-1])
        if finish is None:  # cannot happen: every committed prefix finishes
            return []
        return [leg.start_s for leg in legs_of(finish.state)]

    def late_price_s(self) -> int:
        """Seconds of ride the route's lateness is worth: a soft window's price per minute
        late, charged per second as the model charges it."""
        starts = self._starts_s()
        if not starts:
            return 0
        price = 0
        for step, start_s in zip(self.steps, starts, strict=True):
            if step.kind == StopKind.VISIT:
                visit = self.problem.visits[step.pos]
                if visit.late_cost_per_min > 0:
                    price += late_s(visit.windows, start_s) * visit.late_cost_per_min
        return price // 60

    def nodes(self) -> list[int]:
        """The route as model nodes (empty for an idle agent)."""
        starts = self._starts_s()
        if not starts:
            return []
        nodes: list[int] = []
        for step, start_s in zip(self.steps, starts, strict=True):
            if step.kind == StopKind.PICKUP:
                nodes.extend(self.build.pickup_node_of[v] for v in step.collects)
            else:
                nodes.append(_node_for(self.problem, self.build, step.pos, start_s))
        return nodes


def _calls_first(steps: Sequence[Step]) -> bool:
    """Whether every office call comes before the deliveries it collects."""
    delivered: set[int] = set()
    for step in steps:
        if step.kind == StopKind.VISIT:
            delivered.add(step.pos)
        elif not delivered.isdisjoint(step.collects):
            return False
    return True


def _node_for(problem: Problem, build: RoutingBuild, v: int, start_s: int) -> int:
    """The visit's node whose slot (lateness included) holds the service start."""
    nodes = build.visit_nodes[v]
    if len(nodes) == 1:
        return nodes[0]
    visit = problem.visits[v]
    windows = sorted_windows(visit.windows)
    allowance_s = max(0, visit.max_late_s)
    for n in nodes:
        slot = build.node_windows[n]
        if slot is None:
            return n
        w = windows[slot]
        if w.start_s <= start_s <= w.end_s + allowance_s:
            return n
    return nodes[0]
