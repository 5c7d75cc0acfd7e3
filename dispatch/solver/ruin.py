"""Ruin and recreate on repaired routes, with every rule of the day.

The proposal (:mod:`dispatch.solver.ils`) searches a model that cannot say that one call at an
office collects documents for deliveries anywhere later on the route; repair
(:mod:`dispatch.solver.repair`) then completes its routes stop by stop. Here the completed
routes are searched further in the terms repair times them in (calls, breaks, windows, shift
ends), as in the string removals of SISR (Christiaens and Vanden Berghe, 2020): each iteration
takes out a few strings of consecutive visits near one visit, from different routes, and
serves them again one by one, each in the feasible gap of an allowed agent's route that adds
the least ride (a delivery pays the call its route still lacks), skipping a gap now and then.
Visits still out near the ruin are then offered their cheapest gaps too. A result that serves
every visit taken out is kept if it serves one more, or else by simulated annealing on the ride
(a preferred agent lost counting as repair counts it, and lateness at its price, as the model
prices soft windows); the best routes seen are returned.
Visits never leave the plan: an iteration that cannot serve one again is undone.

This is where the engine's plans gain most on days whose visits are open long, where the
proposal's model of office calls misprices routes most (benchmarks/README.md, "Ruin and
recreate").
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from dispatch.model import Problem
from dispatch.plan import StopKind
from dispatch.solver.penalties import tier
from dispatch.solver.windows import open_long

if TYPE_CHECKING:
    from dispatch.solver.repair import _Draft, _Saved

# Visits taken out per iteration: between 1 and 2 x this - 1, in strings of at most
# MAX_STRING_VISITS consecutive visits of one route each.
MEAN_REMOVED = 10
MAX_STRING_VISITS = 10
# Gaps a route's slot in the gap table has beyond its longest route's, to grow into.
ROOM_SPARE_GAPS = 8
# The nearest visits whose routes a removal may cut into.
NEIGHBOURS = 60
# Of those, the nearest whose visits still out are offered a gap after each ruin.
NEIGHBOURS_OUT = 10
# A visit of a higher tier outweighs this many of the tier below.
WORTH_PER_TIER = 1_000_000
# Gaps tried for a visit being served again, least added ride first, each skipped with
# probability SKIP_GAP (SISR's blinks).
GAP_TRIES = 12
SKIP_GAP = 0.01
# For a visit open long (windows.open_long) GAP_TRIES_OPEN_LONG: it has many gaps in time, and
# on days where most visits are open long, routes run to the end of the shift, so the cheapest
# gaps often do not fit and a ruin undone for want of one is an iteration lost. On the
# 1000-visit day open 09:00-17:00 of seed 0 (a short proposal, 7 s of ruin and recreate, ruin
# seeds 0-7, two runs side by side) 24 tries ended at a cost 3.4% lower than 12 (better on 6
# of 8), and 4 tries 12% higher (ruin seeds 0-3); at 300 visits 0.7% lower (3 of 4). On
# booked days 24 tries did not pay (1000 visits: 0.6% lower, 2 of 4; 300: 1.6% higher).
# Whole solves at 30 s, days open 09:00-17:00, seeds 0-7, side by side against 12 tries:
# 1000 visits, mean travel 61.8 h against 62.5 h, better by the objective on 7 days of 8;
# 300 visits, 27.2 h against 27.7 h, 7 of 8, as many served; 600 visits, 41.9 h against
# 42.0 h, 4 of 8 (not told apart).
GAP_TRIES_OPEN_LONG = 24
# Simulated annealing: a result is kept when it rides less than T x -ln(U) seconds more, the
# temperature T falling geometrically from START_TEMPERATURE_S to END_TEMPERATURE_S over the
# time (or iterations) given.
START_TEMPERATURE_S = 100.0
END_TEMPERATURE_S = 1.0


@dataclass(frozen=True, slots=True)
class RuinResult:
    """What the search did: iterations, results kept, new bests, the ride before and after
    (seconds, with preferences lost as repair counts them and lateness at its price), and how
    long it searched."""

    iterations: int
    accepted: int
    improved: int
    cost_before_s: int
    cost_after_s: int
    search_s: float = 0.0


_Ints = npt.NDArray[np.intp]
# after, before, ride, agent, at, called, live (see _GapTable.arrays)
_GapArrays = tuple[_Ints, _Ints, npt.NDArray[np.int64], _Ints, _Ints, _Ints, npt.NDArray[np.bool_]]


class _GapTable:
    """Every gap of every route as arrays (like repair's ``_Gaps``): each route has a slot of
    ``room`` gaps, the gaps it has live and the rest dead, so a route that changes rewrites
    its slot alone. Joining every route's gaps anew after each change took a fifth of the
    search on a 1000-visit day."""

    def __init__(
        self, problem: Problem, duration: npt.NDArray[np.int64], drafts: Mapping[int, _Draft]
    ) -> None:
        self.drafts = drafts
        self.duration = duration
        self.n_offices = len(problem.offices)
        self.slot = {k: i for i, k in enumerate(sorted(drafts))}
        self._allocate(max(len(d.steps) for d in drafts.values()) + 1 + ROOM_SPARE_GAPS)

    def _allocate(self, room: int) -> None:
        self.room = room
        size = room * len(self.slot)
        self.after = np.zeros(size, dtype=np.intp)
        self.before = np.zeros(size, dtype=np.intp)
        self.ride = np.zeros(size, dtype=np.int64)  # of the gap itself
        self.agent = np.repeat(np.array(sorted(self.slot), dtype=np.intp), room)
        self.at = np.tile(np.arange(room, dtype=np.intp), len(self.slot))
        # called[o, i]: the route calls at office o before gap i.
        self.called = np.zeros((max(1, self.n_offices), size), dtype=np.intp)
        self.live = np.zeros(size, dtype=np.bool_)
        self.stale = set(self.slot)

    def touch(self, k: int) -> None:
        self.stale.add(k)

    def _write(self, k: int) -> None:
        draft = self.drafts[k]
        locs = np.array(draft.locations(), dtype=np.intp)
        gaps = len(locs) - 1
        first = self.slot[k] * self.room
        self.after[first : first + gaps] = locs[:-1]
        self.before[first : first + gaps] = locs[1:]
        self.ride[first : first + gaps] = self.duration[locs[:-1], locs[1:]]
        self.live[first : first + self.room] = False
        self.live[first : first + gaps] = True
        self.called[:, first : first + self.room] = 0
        for j, step in enumerate(draft.steps):
            if step.kind == StopKind.PICKUP:
                self.called[step.pos, first + j + 1 : first + gaps] = 1

    def arrays(self) -> _GapArrays:
        """(after, before, ride, agent, at, called, live) over the slots of every route, in
        the order of the agents, then of the gaps."""
        if self.stale:
            longest = max(len(self.drafts[k].steps) + 1 for k in self.stale)
            if longest > self.room:
                self._allocate(longest + ROOM_SPARE_GAPS)
            for k in self.stale:
                self._write(k)
            self.stale.clear()
        return self.after, self.before, self.ride, self.agent, self.at, self.called, self.live


def ruin_and_recreate(
    problem: Problem,
    duration: npt.NDArray[np.int64],
    drafts: Mapping[int, _Draft],
    allowed: Sequence[Sequence[int]],
    candidates: Sequence[int],
    seed: int,
    *,
    until_s: float | None = None,
    iterations: int | None = None,
    preference_s: int = 0,
) -> RuinResult:
    """Search ``drafts`` (repair's routes, changed in place to the best found) until the
    ``time.perf_counter()`` reading ``until_s`` or for ``iterations``, whichever comes first;
    with ``iterations`` alone the result depends on ``seed`` only."""
    rng = random.Random(seed)
    started_s = time.perf_counter()
    n_agents = len(problem.agents)
    agent_pos = {a.id: k for k, a in enumerate(problem.agents)}
    office_pos = {o.id: i for i, o in enumerate(problem.offices)}
    preferred = [agent_pos.get(v.preferred_agent or "") for v in problem.visits]
    offices = [office_pos.get(v.pickup_office or "") for v in problem.visits]
    # Lateness at its price, as the model prices soft windows: ruin and recreate has most of
    # OR-Tools' old time (search.polish_s), and on ride alone it served soft windows late to
    # save ride. Booked field days, seeds 0-7, side by side: 300 visits at 60 s, late 126 min in
    # all against 739, mean travel 40.8 h against 41.0 h, better by the objective on 7 days of
    # 8; 1000 visits at 30 s, late 1130 min against 2621, travel 101.4 h against 99.9 h, better
    # on 5 of 8 (a minute late costs two of ride on these days).
    priced_late = any(v.late_cost_per_min > 0 for v in problem.visits)

    def route_cost(k: int) -> int:
        draft = drafts[k]
        lost = sum(
            1
            for step in draft.steps
            if step.kind == StopKind.VISIT and preferred[step.pos] not in (None, k)
        )
        late_price_s = draft.late_price_s() if priced_late else 0
        return draft.ride_s() + preference_s * lost + late_price_s

    # Who serves each visit, kept up to date as results are kept (rebuilding it each iteration
    # took 4% of the search on a 1000-visit day).
    route_visits = {k: _visits_of(d) for k, d in drafts.items()}
    served = {v: k for k, route in route_visits.items() for v in route}
    visits = sorted(set(candidates) | set(served))
    costs = {k: route_cost(k) for k in drafts}
    before_s = current_s = best_s = sum(costs.values())
    done = accepted = improved = current_score = best_score = 0

    def out_of_budget() -> bool:
        if iterations is not None and done >= iterations:
            return True
        return until_s is not None and time.perf_counter() >= until_s

    # Nothing to set up where no time is left (large days, whose repair takes the rest).
    if len(visits) < 2 or (until_s is None and iterations is None) or out_of_budget():
        return RuinResult(0, 0, 0, before_s, before_s)
    locs = np.array([problem.visit_index(v) for v in visits], dtype=np.intp)
    near_rows = np.argsort(duration[np.ix_(locs, locs)], axis=1, kind="stable")[:, :NEIGHBOURS]
    near = {v: [visits[i] for i in near_rows[n]] for n, v in enumerate(visits)}
    may_serve = np.zeros((len(problem.visits), n_agents), dtype=np.bool_)
    for v in visits:
        may_serve[v, list(allowed[v])] = True
    worth = [WORTH_PER_TIER ** tier(visit) for visit in problem.visits]
    tries = gap_tries(problem)
    table = _GapTable(problem, duration, drafts)
    best = {k: d.snapshot() for k, d in drafts.items()}
    while not out_of_budget():
        if iterations is not None:
            progress = done / max(1, iterations)
        else:
            assert until_s is not None
            progress = (time.perf_counter() - started_s) / max(1e-9, until_s - started_s)
        temperature_s = START_TEMPERATURE_S * (END_TEMPERATURE_S / START_TEMPERATURE_S) ** min(
            1.0, progress
        )
        done += 1
        saved: dict[int, _Saved] = {}
        around = near[rng.choice(visits)]
        removed = _ruin(drafts, around, served, rng, saved)
        for k in saved:
            table.touch(k)
        # Visits still out near the ruin get a try too, once those taken out are back.
        out = [v for v in around[:NEIGHBOURS_OUT] if v not in served]
        gained = _recreate(
            problem,
            drafts,
            table,
            removed,
            out,
            may_serve,
            offices,
            preferred,
            preference_s,
            tries,
            rng,
            saved,
        )
        if gained is not None:
            new = {k: route_cost(k) for k in saved}
            delta_s = sum(new.values()) - sum(costs[k] for k in saved)
            score = sum(worth[v] for v in gained)
            if score > 0 or delta_s < -temperature_s * math.log(1.0 - rng.random()):
                accepted += 1
                for k in saved:
                    for v in route_visits[k]:
                        del served[v]
                for k in saved:
                    route_visits[k] = _visits_of(drafts[k])
                    served.update(dict.fromkeys(route_visits[k], k))
                costs.update(new)
                current_s += delta_s
                current_score += score
                if (current_score, -current_s) > (best_score, -best_s):
                    improved += 1
                    best_s, best_score = current_s, current_score
                    best = {k: d.snapshot() for k, d in drafts.items()}
                continue
        for k, state in saved.items():
            drafts[k].restore(state)
            table.touch(k)
    for k, state in best.items():
        drafts[k].restore(state)
    return RuinResult(done, accepted, improved, before_s, best_s, time.perf_counter() - started_s)


def gap_tries(problem: Problem) -> list[int]:
    """By visit, how many of its gaps that may hold it in time are tried before it counts as
    fitting nowhere: :data:`GAP_TRIES_OPEN_LONG` for a visit open long, else
    :data:`GAP_TRIES`."""
    return [GAP_TRIES_OPEN_LONG if open_long(v.windows) else GAP_TRIES for v in problem.visits]


def _visits_of(draft: _Draft) -> list[int]:
    return [step.pos for step in draft.steps if step.kind == StopKind.VISIT]


def _ruin(
    drafts: Mapping[int, _Draft],
    near: Sequence[int],
    served_by: Mapping[int, int],
    rng: random.Random,
    saved: dict[int, _Saved],
) -> list[int]:
    """Take out strings of consecutive visits of different routes, near the first of
    ``near`` onwards, snapshotting each route in ``saved`` first; the visits taken out."""
    wanted = rng.randint(1, 2 * MEAN_REMOVED - 1)
    removed: list[int] = []
    for u in near:
        if len(removed) >= wanted:
            break
        k = served_by.get(u)
        if k is None or k in saved:
            continue
        draft = drafts[k]
        route = _visits_of(draft)
        i = route.index(u)
        length = rng.randint(1, min(MAX_STRING_VISITS, len(route), wanted - len(removed)))
        first = rng.randint(max(0, i - length + 1), min(i, len(route) - length))
        saved[k] = draft.snapshot()
        string = route[first : first + length]
        if draft.take_out_all(set(string)):
            removed += string
            continue
        for v in string:  # one by one, where the rest does not fit without them all
            j = draft.position(v)
            if j is not None and draft.take_out(j) is not None:
                removed.append(v)
    return removed


def _gaps_by_cost(
    table: _GapTable,
    x: int,
    office: tuple[int, int] | None,
    preferred: int | None,
    preference_s: int,
    may_serve: npt.NDArray[np.bool_],
) -> tuple[_Ints, npt.NDArray[np.int64]]:
    """The gaps of agents ``may_serve`` (by agent) allows for a visit at matrix index ``x``,
    as indices into the gap table, by the ride serving it there adds, least first (ties in
    table order), and that ride: a delivery (``office``: the office's position and matrix
    index) also pays the call at its office a route lacks before the gap, and an agent other
    than the ``preferred`` one ``preference_s``.

    Gathered for the open gaps first, so every sum runs over a few hundred of them rather
    than every slot of the table. With that and the direct timing of a step owing a break
    that cannot start yet (:meth:`dispatch.solver.schedule.RouteTimer.advance`), the same
    4000 iterations took 8-11% less time on 1000-visit days open all day and 4-6% less on
    booked ones, for the same routes (seeds 0-1; no difference told at 300 visits)."""
    after, before, ride, agent, _, called, live = table.arrays()
    duration = table.duration
    options = np.flatnonzero(may_serve.take(agent) & live)
    after_x = after.take(options)
    reach_s = duration[:, x].take(after_x)
    extra = reach_s + duration[x].take(before.take(options)) - ride.take(options)
    if office is not None:
        pos, o = office
        call_s = duration[:, o].take(after_x) + (duration[o, x] - reach_s)
        extra += call_s * (1 - called[pos].take(options))
    if preferred is not None:
        extra += preference_s * (agent.take(options) != preferred)
    order = np.argsort(extra, kind="stable")
    return options[order], extra[order]


def _recreate(
    problem: Problem,
    drafts: Mapping[int, _Draft],
    table: _GapTable,
    removed: list[int],
    out: list[int],
    may_serve: npt.NDArray[np.bool_],
    offices: Sequence[int | None],
    preferred: Sequence[int | None],
    preference_s: int,
    tries: Sequence[int],
    rng: random.Random,
    saved: dict[int, _Saved],
) -> list[int] | None:
    """Serve each of ``removed`` again, higher tiers first and otherwise in random order, in
    the cheapest of its gaps that fits (of the first ``tries`` by visit that may hold it in
    time), then each of ``out`` where it fits; the visits of ``out`` served, or None as soon
    as one of ``removed`` fits nowhere."""
    rng.shuffle(removed)
    removed.sort(key=lambda v: -tier(problem.visits[v]))
    out.sort(key=lambda v: -tier(problem.visits[v]))
    gained: list[int] = []
    for n, v in enumerate(removed + out):
        optional = n >= len(removed)
        office = offices[v]
        options, _ = _gaps_by_cost(
            table,
            problem.visit_index(v),
            None if office is None else (office, problem.office_index(office)),
            preferred[v] if preference_s else None,
            preference_s,
            may_serve[v],
        )
        agent, at = table.agent, table.at
        tried = 0
        fitted = False
        for i in options:
            if tried >= tries[v]:
                break
            if rng.random() < SKIP_GAP:
                continue
            k, gap = int(agent[i]), int(at[i])
            draft = drafts[k]
            if not draft.may_hold(v, gap):
                continue
            tried += 1
            if k not in saved:
                saved[k] = draft.snapshot()
            if draft.insert(v, gap):
                table.touch(k)
                fitted = True
                break
        if fitted and optional:
            gained.append(v)
        elif not fitted and not optional:
            return None
    return gained
