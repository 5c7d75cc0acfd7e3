"""Shared helpers for solver tests: solve deterministically and check every plan."""

from __future__ import annotations

import dataclasses
import time
from typing import Any, NamedTuple

import pytest
import pyvrp

from dispatch.check import check_plan
from dispatch.geo.matrix import TravelMatrix
from dispatch.model import Problem
from dispatch.plan import Plan, Reason
from dispatch.solver import granular, solve
from dispatch.synth import generate

# Enough for the tiny problems here to reach their optimum; keeps every test deterministic.
SOLUTION_LIMIT = 200


def solved(problem: Problem, matrix: TravelMatrix, seed: int = 0) -> Plan:
    """Solve with a solution limit and assert the independent checker accepts the plan."""
    plan = solve(problem, matrix, time_limit_s=10.0, seed=seed, solution_limit=SOLUTION_LIMIT)
    report = check_plan(problem, plan, matrix)
    assert report.ok, report.summary()
    routed = plan.served_ids()
    dropped = [u.visit_id for u in plan.unassigned]
    assert sorted(routed + dropped) == sorted(v.id for v in problem.visits)
    return plan


def order_of(plan: Plan, agent_id: str) -> list[str]:
    """Visit ids of an agent's route, in order (empty if the agent is idle)."""
    route = plan.route_of(agent_id)
    return [] if route is None else [s.visit_id for s in route.stops]


def reasons(plan: Plan) -> dict[str, Reason]:
    """Unassigned visit id -> reason."""
    return {u.visit_id: u.reason for u in plan.unassigned}


def over_booked(every_visit_required: bool) -> Problem:
    """A plain 40-visit day for two agents, who cannot serve all of it, with its first 30
    visits required (or every one of them)."""
    day = generate(40, 2, seed=3, features=False)
    visits = tuple(
        dataclasses.replace(v, required=every_visit_required or i < 30)
        for i, v in enumerate(day.visits)
    )
    return dataclasses.replace(day, visits=visits)


class SolveCall(NamedTuple):
    data: pyvrp.ProblemData
    params: pyvrp.SolveParams
    initial: pyvrp.Solution | None
    stop: Any


def solve_calls(monkeypatch: pytest.MonkeyPatch, late_s: float = 0.0) -> list[SolveCall]:
    """Each call of PyVRP's search (``granular.solve``) from now on: its problem data,
    parameters, first solution given and stopping criterion. Every call after the first starts
    ``late_s`` late."""
    calls: list[SolveCall] = []
    real_solve = granular.solve

    def spy(data: pyvrp.ProblemData, stop: Any, **kwargs: Any) -> pyvrp.Result:
        if calls:
            time.sleep(late_s)
        calls.append(SolveCall(data, kwargs["params"], kwargs.get("initial_solution"), stop))
        return real_solve(data, stop, **kwargs)

    monkeypatch.setattr(granular, "solve", spy)
    return calls
