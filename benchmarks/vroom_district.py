"""VROOM on an engine problem: the district benchmark's peer, checked like the engine.

:func:`solve_vroom` hands a :class:`dispatch.model.Problem` and its travel matrix to VROOM
(pyvroom) and turns VROOM's routes back into an engine :class:`dispatch.plan.Plan`, timed by
:func:`time_steps` on the same matrix, so :func:`dispatch.check.check_plan` judges it exactly as
it judges the engine's plans. Nothing VROOM reports about times or cost is trusted.

The mapping (VROOM cannot say everything the engine can; where it is weaker it is made
*stricter*, never looser, so that its plans stay valid):

- agent -> vehicle: start and end at the agent's matrix locations, time window = shift,
  skills as integer ids, breaks as VROOM breaks (time window of the start, service = length),
  ``max_tasks`` = ``max_visits`` (VROOM counts an office call as a task too: stricter),
  capacities as an amount vector over the named quantities; an agent's ``speed_factor`` as a
  VROOM profile of its own whose times are the engine's (``agent_travel_matrix_s``): VROOM's
  own ``speed_factor`` rounds each ride its own way, and its plans then ran up to a few
  seconds past a window by the engine's clock;
- visit -> job: skills (a ``required_agent`` pin becomes a skill only that agent holds),
  service = time on site, every booked window (VROOM accepts several), priority;
- delivery -> shipment: the pickup at the office with ``setup`` = the call's length and
  service 0 (VROOM applies setup only on arriving from elsewhere, so consecutive pickups at
  one office cost one call, as in the engine), its window the opening hours less the call; the
  delivery at the home as a job above;
- priority: urgent 100, high 1, normal 0 (and a ``required`` visit 100). VROOM first maximises
  the sum of priorities served, then the number of tasks, then minimises cost: with normal at 0
  and high at 1, one high visit outweighs any number of normal ones and one urgent visit 100
  high ones, close to the engine's strict tiers (which VROOM's 0-100 scale cannot express);
- demand: a home visit's amount is a VROOM delivery (held from the route's start, so the
  route's total stays within capacity, as in the engine); a shipment frees its amount once
  delivered, which is looser than the engine where deliveries carry demand: the checker then
  rejects the plan (synthetic days have no demand);
- soft windows are hard (VROOM has none); ``preferred_agent`` and ``balance_weight`` are
  ignored; VROOM sees free-flow times (a congestion profile applies only when re-timing);
- cost = travel seconds (VROOM's default: duration), as in the engine.

One thread, exploration level 5, ``timeout`` = the time limit (a cap: VROOM stops when its
search finishes, usually well before).
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np

from dispatch.geo.matrix import TravelMatrix, agent_travel_matrix_s
from dispatch.model import Break, Priority, Problem, Visit, can_serve
from dispatch.plan import BreakTaken, Plan, Reason, Route, Stop, StopKind, Unassigned

VROOM_PRIORITY: dict[Priority, int] = {Priority.URGENT: 100, Priority.HIGH: 1, Priority.NORMAL: 0}
REQUIRED_PRIORITY = 100
EXPLORATION_LEVEL = 5
_BREAK_ID_STRIDE = 1000  # VROOM break id = agent position * stride + break position


def missing_reason() -> str | None:
    """Why VROOM cannot run here, or None when it can."""
    if importlib.util.find_spec("vroom") is None:
        return "package 'pyvroom' is not installed (pip install -e '.[bench]')"
    import vroom  # type: ignore[import-untyped, unused-ignore]

    if not hasattr(vroom, "Input"):  # an unrelated PyPI package is also called "vroom"
        return "the installed 'vroom' module is not pyvroom (pip install pyvroom)"
    return None


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a route in order: a home visit, a call at an office, or a break.

    ``index`` is the visit's position, the office's position or the break's position in the
    agent's ``breaks``; a call lists the visit ids whose documents it collects.
    """

    kind: str  # "visit" | "pickup" | "break"
    index: int
    collects: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VroomRun:
    """VROOM's answer as an engine plan, the wall seconds of its solve and what it said."""

    plan: Plan
    wall_s: float
    info: dict[str, Any] = field(default_factory=dict)


def merged_windows(visit: Visit) -> list[tuple[int, int]]:
    """The visit's windows sorted, touching or overlapping ones joined (VROOM refuses those;
    a start inside the union is a start inside one of them)."""
    merged: list[tuple[int, int]] = []
    for w in sorted(visit.windows, key=lambda w: (w.start_s, w.end_s)):
        if merged and w.start_s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], w.end_s))
        else:
            merged.append((w.start_s, w.end_s))
    return merged


def _priority(visit: Visit) -> int:
    return REQUIRED_PRIORITY if visit.required else VROOM_PRIORITY[visit.priority]


def _pin_skill(agent_id: str) -> str:
    return f"\x00pin:{agent_id}"  # cannot clash with a catalog skill code


def _skill_ids(problem: Problem) -> dict[str, int]:
    names: set[str] = set()
    for agent in problem.agents:
        names |= agent.skills
    for visit in problem.visits:
        names |= problem.required_skills(visit)
        if visit.required_agent is not None:
            names.add(_pin_skill(visit.required_agent))
    names |= {_pin_skill(a.id) for a in problem.agents}
    return {name: k for k, name in enumerate(sorted(names), start=1)}


def _quantities(problem: Problem) -> list[str]:
    names: set[str] = set()
    for agent in problem.agents:
        names |= set(agent.capacities)
    for visit in problem.visits:
        names |= set(visit.demand)
    return sorted(names)


def build_input(problem: Problem, matrix: TravelMatrix) -> Any:
    """A pyvroom ``Input`` for the problem on the matrix's free-flow travel seconds."""
    import vroom  # type: ignore[import-untyped, unused-ignore]

    skill_id = _skill_ids(problem)
    quantities = _quantities(problem)
    office_pos = {o.id: k for k, o in enumerate(problem.offices)}
    data = vroom.Input()
    profiles: dict[float, str] = {}
    for agent in problem.agents:
        if agent.speed_factor not in profiles:
            name = "car" if agent.speed_factor == 1.0 else f"speed-{len(profiles)}"
            profiles[agent.speed_factor] = name
            travel = agent_travel_matrix_s(matrix.duration_s.astype(np.int64), agent.speed_factor)
            durations = np.clip(travel, 0, np.iinfo(np.uint32).max).astype(np.uint32)
            data.set_durations_matrix(name, durations)
    vehicles = []
    for k, agent in enumerate(problem.agents):
        skills = {skill_id[s] for s in agent.skills} | {skill_id[_pin_skill(agent.id)]}
        breaks = [
            vroom.Break(
                k * _BREAK_ID_STRIDE + b,
                time_windows=[vroom.TimeWindow(br.window.start_s, br.window.end_s)],
                service=br.duration_s,
                description=br.name,
            )
            for b, br in enumerate(agent.breaks)
        ]
        extra: dict[str, Any] = {}
        if quantities:
            extra["capacity"] = [agent.capacities.get(q, 0) for q in quantities]
        if agent.max_visits is not None:
            extra["max_tasks"] = agent.max_visits
        vehicles.append(
            vroom.Vehicle(
                k,
                start=problem.start_index(k),
                end=problem.end_index(k),
                time_window=vroom.TimeWindow(agent.shift.start_s, agent.shift.end_s),
                skills=skills,
                breaks=breaks,
                profile=profiles[agent.speed_factor],
                **extra,
            )
        )
    data.add_vehicle(vehicles)
    jobs, shipments = [], []
    for v, visit in enumerate(problem.visits):
        skills = {skill_id[s] for s in problem.required_skills(visit)}
        if visit.required_agent is not None:
            skills.add(skill_id[_pin_skill(visit.required_agent)])
        windows = [vroom.TimeWindow(a, b) for a, b in merged_windows(visit)]
        amount = [visit.demand.get(q, 0) for q in quantities] if quantities else []
        duration_s = problem.visit_duration_s(visit)
        office = None if visit.pickup_office is None else office_pos.get(visit.pickup_office)
        if office is None:
            jobs.append(
                vroom.Job(
                    v,
                    location=problem.visit_index(v),
                    default_service=duration_s,
                    delivery=vroom.Amount(amount),
                    skills=skills,
                    priority=_priority(visit),
                    time_windows=windows,
                )
            )
            continue
        o = problem.offices[office]
        last_call_s = max(o.opening.start_s, o.opening.end_s - o.pickup_s)
        shipments.append(
            vroom.Shipment(
                pickup=vroom.ShipmentStep(
                    v,
                    location=problem.office_index(office),
                    default_setup=o.pickup_s,
                    default_service=0,
                    time_windows=[vroom.TimeWindow(o.opening.start_s, last_call_s)],
                ),
                delivery=vroom.ShipmentStep(
                    v,
                    location=problem.visit_index(v),
                    default_service=duration_s,
                    time_windows=windows,
                ),
                amount=vroom.Amount(amount),
                skills=skills,
                priority=_priority(visit),
            )
        )
    if jobs or shipments:
        data.add_job([*jobs, *shipments])
    return data


def steps_from_vroom(problem: Problem, vroom_steps: Sequence[dict[str, Any]]) -> list[Step]:
    """VROOM's steps of one route as engine steps; consecutive pickups at one office merge."""
    office_pos = {o.id: k for k, o in enumerate(problem.offices)}
    steps: list[Step] = []
    for item in vroom_steps:
        kind = item["type"]
        if kind in ("job", "delivery"):
            steps.append(Step("visit", int(item["id"])))
        elif kind == "pickup":
            visit = problem.visits[int(item["id"])]
            assert visit.pickup_office is not None
            office = office_pos[visit.pickup_office]
            last = steps[-1] if steps else None
            if last is not None and last.kind == "pickup" and last.index == office:
                steps[-1] = Step("pickup", office, (*last.collects, visit.id))
            else:
                steps.append(Step("pickup", office, (visit.id,)))
        elif kind == "break":
            steps.append(Step("break", int(item["id"]) % _BREAK_ID_STRIDE))
    return steps


def time_steps(
    problem: Problem, matrix: TravelMatrix, agent_pos: int, steps: Sequence[Step]
) -> Route:
    """The engine's timeline for a fixed sequence of visits, office calls and breaks.

    As early as possible, leg by leg, with travel read at the actual departure time: a break
    listed before a stop is taken on that leg, at once if its window is open, else where the
    ride reaches the window's opening, else (the ride ends first) while waiting at the stop.
    Service starts at the earliest moment inside a window (late within ``max_late_s`` only if
    no window can be met), a call at the opening. Finally the agent leaves the start as late as
    still lets the first service start on time, if no break falls before that service. Where
    the sequence cannot be timed within its windows the times are kept as they fall, and the
    checker reports the fault.
    """
    agent = problem.agents[agent_pos]
    speed = agent.speed_factor
    prev = problem.start_index(agent_pos)
    clock_s = agent.shift.start_s
    stops: list[Stop] = []
    taken: list[BreakTaken] = []
    pending: list[Break] = []
    first_leg_break = False
    for step in steps:
        if step.kind == "break":
            pending.append(agent.breaks[step.index])
            continue
        node, duration_s, visit = _site(problem, step)
        travel_s = matrix.travel_s(prev, node, clock_s, speed)
        arrival_s, ready_s = _ride(clock_s, travel_s, pending, taken)
        first_leg_break = first_leg_break or (not stops and bool(pending))
        pending = []
        if visit is not None:
            start_s, late_s = _visit_start(visit, ready_s)
        else:
            office = problem.offices[step.index]
            start_s, late_s = max(ready_s, office.opening.start_s), 0
        stops.append(
            Stop(
                problem.visits[step.index].id
                if visit is not None
                else problem.offices[step.index].id,
                arrival_s,
                start_s,
                start_s + duration_s,
                travel_s,
                int(matrix.distance_m[prev, node]),
                kind=StopKind.VISIT if visit is not None else StopKind.PICKUP,
                late_s=late_s,
                collects=step.collects,
            )
        )
        prev, clock_s = node, start_s + duration_s
    end_node = problem.end_index(agent_pos)
    end_travel_s = matrix.travel_s(prev, end_node, clock_s, speed)
    end_s, _ = _ride(clock_s, end_travel_s, pending, taken)
    leave_s = agent.shift.start_s
    if stops and not first_leg_break:
        leave_s, stops[0] = _leave_late(problem, matrix, agent_pos, steps, stops[0])
    return Route(
        agent.id,
        leave_s,
        tuple(stops),
        end_s,
        end_travel_s,
        int(matrix.distance_m[prev, end_node]),
        breaks=tuple(sorted(taken, key=lambda b: b.start_s)),
    )


def _site(problem: Problem, step: Step) -> tuple[int, int, Visit | None]:
    """Matrix index, time on site and (for a home visit) the visit of a step."""
    if step.kind == "visit":
        visit = problem.visits[step.index]
        return problem.visit_index(step.index), problem.visit_duration_s(visit), visit
    office = problem.offices[step.index]
    return problem.office_index(step.index), office.pickup_s, None


def _ride(
    depart_s: int, travel_s: int, pending: Sequence[Break], taken: list[BreakTaken]
) -> tuple[int, int]:
    """Ride one leg taking ``pending`` breaks; returns (arrival, earliest service start)."""
    clock_s, ride_left_s, arrival_s = depart_s, travel_s, None
    for spec in sorted(pending, key=lambda b: b.window.start_s):
        if arrival_s is None and clock_s < spec.window.start_s:
            if clock_s + ride_left_s >= spec.window.start_s:  # reach the opening mid-ride
                ride_left_s -= spec.window.start_s - clock_s
                clock_s = spec.window.start_s
            else:  # arrive first, then take it while waiting
                clock_s += ride_left_s
                ride_left_s, arrival_s = 0, clock_s
        start_s = max(clock_s, spec.window.start_s)
        taken.append(BreakTaken(spec.name, start_s, start_s + spec.duration_s))
        clock_s = start_s + spec.duration_s
    if arrival_s is None:
        arrival_s = clock_s + ride_left_s
        clock_s = arrival_s
    return arrival_s, clock_s


def _visit_start(visit: Visit, ready_s: int) -> tuple[int, int]:
    """Earliest start in a window from ``ready_s``; else the least lateness allowed; else
    ``ready_s`` itself (outside every window: the checker will say so)."""
    windows = sorted(visit.windows, key=lambda w: w.start_s)
    for w in windows:
        if ready_s <= w.end_s:
            return max(ready_s, w.start_s), 0
    for w in windows:
        if ready_s <= w.end_s + visit.max_late_s:
            return ready_s, ready_s - w.end_s
    return ready_s, 0


def _leave_late(
    problem: Problem, matrix: TravelMatrix, agent_pos: int, steps: Sequence[Step], first: Stop
) -> tuple[int, Stop]:
    """Leave the start as late as still reaches the first stop by its service start."""
    agent = problem.agents[agent_pos]
    origin = problem.start_index(agent_pos)
    node = _site(problem, next(s for s in steps if s.kind != "break"))[0]
    best_s = agent.shift.start_s
    guess_s = first.start_s - first.travel_s
    for _ in range(4):  # a few fixed-point steps: with congestion the ride depends on the hour
        if guess_s <= best_s:
            break
        travel_s = matrix.travel_s(origin, node, guess_s, agent.speed_factor)
        if guess_s + travel_s <= first.start_s:
            best_s = guess_s
            break
        guess_s = first.start_s - travel_s
    travel_s = matrix.travel_s(origin, node, best_s, agent.speed_factor)
    moved = Stop(
        first.visit_id,
        best_s + travel_s,
        first.start_s,
        first.departure_s,
        travel_s,
        first.distance_m,
        kind=first.kind,
        late_s=first.late_s,
        collects=first.collects,
    )
    return best_s, moved


def _unassigned(problem: Problem, v: int) -> Unassigned:
    visit = problem.visits[v]
    need = problem.required_skills(visit)
    able = [
        a for a in problem.agents if can_serve(a, need) and visit.required_agent in (None, a.id)
    ]
    if not problem.agents:
        return Unassigned(visit.id, Reason.NO_AGENTS, "the problem has no agents")
    if not able:
        return Unassigned(visit.id, Reason.NO_SKILLED_AGENT, "no agent may serve it")
    return Unassigned(visit.id, Reason.CAPACITY_OR_TIME, "VROOM left it unassigned")


def plan_from_vroom(problem: Problem, matrix: TravelMatrix, answer: dict[str, Any]) -> Plan:
    """An engine plan from VROOM's solution dict, every route re-timed by :func:`time_steps`."""
    routes = []
    served: set[int] = set()
    for vroom_route in sorted(answer.get("routes", []), key=lambda r: int(r["vehicle"])):
        agent_pos = int(vroom_route["vehicle"])
        steps = steps_from_vroom(problem, vroom_route["steps"])
        if not any(s.kind != "break" for s in steps):
            continue
        served |= {s.index for s in steps if s.kind == "visit"}
        routes.append(time_steps(problem, matrix, agent_pos, steps))
    unassigned = tuple(
        _unassigned(problem, v) for v in range(len(problem.visits)) if v not in served
    )
    return Plan(tuple(routes), unassigned, {"solver": "vroom"})


def solve_vroom(problem: Problem, matrix: TravelMatrix, time_limit_s: float) -> VroomRun:
    """Solve with VROOM (one thread, ``timeout`` = the limit) and return a checked-ready plan."""
    data = build_input(problem, matrix)
    started = time.perf_counter()
    solution = data.solve(
        exploration_level=EXPLORATION_LEVEL,
        nb_threads=1,
        timeout=timedelta(seconds=time_limit_s),
    )
    wall_s = time.perf_counter() - started
    answer = _answer_dict(solution)
    plan = plan_from_vroom(problem, matrix, answer)
    summary = answer.get("summary", {})
    info = {
        "own_cost": summary.get("cost"),
        "own_unassigned": len(answer.get("unassigned", [])),
        "exploration_level": EXPLORATION_LEVEL,
        "threads": 1,
    }
    return VroomRun(plan, wall_s, info)


def _answer_dict(solution: Any) -> dict[str, Any]:
    """pyvroom's solution as VROOM's JSON shape (routes with typed steps, unassigned)."""
    answer: dict[str, Any] = solution.to_dict()
    return answer
