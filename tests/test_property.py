"""Property: on any small random problem the solver's plan passes the independent checker."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.check import check_plan
from dispatch.errors import InputError
from dispatch.geo.matrix import TravelMatrix
from dispatch.model import Agent, Break, Office, Priority, Problem, TimeWindow, Visit
from dispatch.plan import Reason
from dispatch.solver import solve
from tests.factories import DATE, ORIGIN, SERVICES

SKILLS = ("nadra_biometric", "licensing", "civil_registration", "female")
HOUR_S = 3600


@st.composite
def windows(draw: st.DrawFn) -> tuple[TimeWindow, ...]:
    """One or two disjoint windows between 06:00 and 20:00."""
    starts = sorted(draw(st.lists(st.integers(6 * 4, 19 * 4), min_size=1, max_size=2, unique=True)))
    result: list[TimeWindow] = []
    for i, start_q in enumerate(starts):
        limit_q = starts[i + 1] - 1 if i + 1 < len(starts) else 20 * 4
        end_q = draw(st.integers(start_q, max(start_q, limit_q)))
        result.append(TimeWindow(start_q * 900, end_q * 900))
    return tuple(result)


@st.composite
def problems(draw: st.DrawFn) -> tuple[Problem, TravelMatrix]:
    """1-3 agents, 0-8 visits, random skills, windows, priorities, durations and travel."""
    n_agents = draw(st.integers(1, 3))
    n_visits = draw(st.integers(0, 8))
    agents = []
    for a in range(n_agents):
        start_q = draw(st.integers(6 * 4, 12 * 4))
        length_q = draw(st.integers(2 * 4, 10 * 4))
        agents.append(
            Agent(
                id=f"A{a}",
                start=ORIGIN,
                shift=TimeWindow(start_q * 900, (start_q + length_q) * 900),
                skills=frozenset(s for s in SKILLS if draw(st.sampled_from((True, True, False)))),
                max_visits=draw(st.none() | st.integers(0, 6)),
                speed_factor=draw(st.sampled_from((1.0, 1.0, 0.8, 1.25))),
            )
        )
    visits = []
    for v in range(n_visits):
        visits.append(
            Visit(
                id=f"V{v}",
                location=ORIGIN,
                service=draw(st.sampled_from([s.code for s in SERVICES])),
                windows=draw(windows()),
                priority=draw(st.sampled_from(list(Priority))),
                extra_skills=frozenset({"female"} if draw(st.integers(0, 3)) == 0 else ()),
                duration_s=draw(st.none() | st.integers(60, 90 * 60)),
                required=draw(st.booleans()),
            )
        )
    size = n_visits + 2 * n_agents
    flat = draw(st.lists(st.integers(0, HOUR_S), min_size=size * size, max_size=size * size))
    duration = np.array(flat, dtype=np.int64).reshape(size, size)
    np.fill_diagonal(duration, 0)
    problem = Problem(DATE, tuple(agents), tuple(visits), SERVICES, name="random")
    return problem, TravelMatrix(duration, duration * 8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.integers(0, 3))
def test_plan_is_valid_and_accounts_for_every_visit(
    case: tuple[Problem, TravelMatrix], seed: int
) -> None:
    """The plan passes check_plan; each visit is routed once or unassigned with a reason."""
    problem, matrix = case
    plan = solve(problem, matrix, time_limit_s=10.0, seed=seed, solution_limit=30)
    report = check_plan(problem, plan, matrix)
    assert report.ok, report.summary()
    served = Counter(plan.served_ids())
    unassigned = Counter(u.visit_id for u in plan.unassigned)
    for visit in problem.visits:
        assert served[visit.id] + unassigned[visit.id] == 1, visit.id
    assert set(served) | set(unassigned) == {v.id for v in problem.visits}
    for u in plan.unassigned:
        assert isinstance(u.reason, Reason) and u.message
    agent_ids = {a.id for a in problem.agents}
    assert all(route.agent_id in agent_ids for route in plan.routes)


@st.composite
def field_problems(draw: st.DrawFn) -> tuple[Problem, TravelMatrix]:
    """Small problems with every rule of a field day: breaks, offices and deliveries, soft
    windows, preferred and pinned agents, workload balance."""
    problem, _ = draw(problems())
    agents = []
    for a in problem.agents:
        breaks = []
        for k in range(draw(st.integers(0, 2))):
            start_q = draw(st.integers(8 * 4, 16 * 4))
            breaks.append(
                Break(
                    f"b{k}",
                    draw(st.sampled_from((300, 900, 1800, 3600))),
                    TimeWindow(start_q * 900, (start_q + draw(st.integers(0, 8))) * 900),
                )
            )
        agents.append(dataclasses.replace(a, breaks=tuple(breaks)))
    offices = tuple(
        Office(
            f"O{k}",
            f"office {k}",
            ORIGIN,
            TimeWindow(draw(st.integers(7, 11)) * HOUR_S, draw(st.integers(12, 20)) * HOUR_S),
            draw(st.sampled_from((0, 300, 600))),
        )
        for k in range(draw(st.integers(0, 2)))
    )
    ids = [a.id for a in agents]
    visits = []
    for visit in problem.visits:
        pin = draw(st.none() | st.sampled_from(ids)) if draw(st.integers(0, 4)) == 0 else None
        visits.append(
            dataclasses.replace(
                visit,
                max_late_s=draw(st.sampled_from((0, 0, 600, 3600))),
                late_cost_per_min=draw(st.integers(0, 30)),
                pickup_office=draw(st.none() | st.sampled_from([o.id for o in offices]))
                if offices
                else None,
                preferred_agent=draw(st.none() | st.sampled_from(ids)),
                required_agent=pin,
            )
        )
    size = len(visits) + 2 * len(agents) + len(offices)
    flat = draw(st.lists(st.integers(0, HOUR_S), min_size=size * size, max_size=size * size))
    duration = np.array(flat, dtype=np.int64).reshape(size, size)
    np.fill_diagonal(duration, 0)
    field = dataclasses.replace(
        problem,
        agents=tuple(agents),
        visits=tuple(visits),
        offices=offices,
        balance_weight=draw(st.sampled_from((0.0, 0.5, 2.0))),
    )
    return field, TravelMatrix(duration, duration * 8)


def _breaks_fit(breaks: tuple[Break, ...]) -> bool:
    """Some order of the breaks lets each start in its window once the one before has ended."""
    for order in itertools.permutations(breaks):
        free_s = 0
        for rest in order:
            free_s = max(free_s, rest.window.start_s)
            if free_s > rest.window.end_s:
                break
            free_s += rest.duration_s
        else:
            return True
    return False


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field_problems(), st.integers(0, 3))
def test_plan_with_every_field_rule_is_valid(case: tuple[Problem, TravelMatrix], seed: int) -> None:
    """With breaks, office calls, soft windows, pins, preferences and balance, the plan still
    passes check_plan and accounts for every visit exactly once."""
    problem, matrix = case
    try:
        plan = solve(problem, matrix, time_limit_s=10.0, seed=seed, solution_limit=30)
    except InputError as refused:
        # Only an agent whose breaks can never all be taken whole is refused.
        assert [issue.where for issue in refused.issues] == [
            f"agents[{k}] (id {a.id!r}).breaks"
            for k, a in enumerate(problem.agents)
            if not _breaks_fit(a.breaks)
        ]
        return
    report = check_plan(problem, plan, matrix)
    assert report.ok, report.summary()
    served = Counter(plan.served_ids())
    unassigned = Counter(u.visit_id for u in plan.unassigned)
    for visit in problem.visits:
        assert served[visit.id] + unassigned[visit.id] == 1, visit.id
