"""Input checks the solver needs before it builds a model.

The ``io`` layer validates files, but :func:`dispatch.solver.solve` is also called with
problems built in code. Anything the model cannot take is reported here, every issue at once,
each naming the item and field, instead of surfacing as a traceback from OR-Tools.
"""

from __future__ import annotations

import math

from dispatch.errors import InputError, InputIssue
from dispatch.geo.matrix import TravelMatrix
from dispatch.model import Problem, clash_message, clashing_breaks


def validate_inputs(
    problem: Problem,
    matrix: TravelMatrix,
    *,
    time_limit_s: float,
    solution_limit: int | None,
) -> None:
    """Raise :class:`InputError` listing every problem with the solver's inputs."""
    issues: list[InputIssue] = []
    if not (time_limit_s > 0 and math.isfinite(time_limit_s)):
        issues.append(InputIssue("time_limit_s", f"must be a positive number, got {time_limit_s}"))
    if solution_limit is not None and solution_limit < 1:
        issues.append(InputIssue("solution_limit", f"must be at least 1, got {solution_limit}"))
    expected = len(problem.locations())
    if matrix.size != expected:
        issues.append(
            InputIssue(
                "matrix",
                f"has {matrix.size} locations; the problem has {expected} "
                "(visits, then each agent's start, each agent's end, then offices)",
            )
        )
    elif expected and int(matrix.duration_s.min()) < 0:
        issues.append(InputIssue("matrix.duration_s", "travel times must not be negative"))
    if not (problem.balance_weight >= 0 and math.isfinite(problem.balance_weight)):
        issues.append(
            InputIssue(
                "balance_weight", f"must be a non-negative number, got {problem.balance_weight}"
            )
        )
    issues += _agent_issues(problem)
    issues += _office_issues(problem)
    issues += _visit_issues(problem)
    if issues:
        raise InputError(issues)


def _agent_issues(problem: Problem) -> list[InputIssue]:
    issues: list[InputIssue] = []
    seen: set[str] = set()
    for k, agent in enumerate(problem.agents):
        where = f"agents[{k}] (id {agent.id!r})"
        if agent.id in seen:
            issues.append(InputIssue(f"{where}.id", "duplicate agent id"))
        seen.add(agent.id)
        if agent.shift.start_s > agent.shift.end_s:
            issues.append(InputIssue(f"{where}.shift", "shift ends before it starts"))
        if not (agent.speed_factor > 0 and math.isfinite(agent.speed_factor)):
            issues.append(
                InputIssue(f"{where}.speed_factor", f"must be positive, got {agent.speed_factor}")
            )
        if agent.max_visits is not None and agent.max_visits < 0:
            issues.append(
                InputIssue(f"{where}.max_visits", f"must not be negative, got {agent.max_visits}")
            )
        for name, amount in agent.capacities.items():
            if amount < 0:
                issues.append(
                    InputIssue(f"{where}.capacities.{name}", f"must not be negative, got {amount}")
                )
        names: set[str] = set()
        for b, rest in enumerate(agent.breaks):
            b_where = f"{where}.breaks[{b}] ({rest.name!r})"
            if rest.name in names:
                issues.append(InputIssue(f"{b_where}.name", "duplicate break name for this agent"))
            names.add(rest.name)
            if rest.duration_s <= 0:  # as in the file format: a break of no length is a slip
                issues.append(
                    InputIssue(f"{b_where}.duration_s", f"must be positive, got {rest.duration_s}")
                )
            if rest.window.start_s > rest.window.end_s:
                issues.append(InputIssue(f"{b_where}.window", "window ends before it starts"))
        clash = clashing_breaks(agent.breaks)
        if clash:
            issues.append(InputIssue(f"{where}.breaks", clash_message(clash)))
    return issues


def _office_issues(problem: Problem) -> list[InputIssue]:
    issues: list[InputIssue] = []
    seen: set[str] = set()
    for k, office in enumerate(problem.offices):
        where = f"offices[{k}] (id {office.id!r})"
        if office.id in seen:
            issues.append(InputIssue(f"{where}.id", "duplicate office id"))
        seen.add(office.id)
        if office.opening.start_s > office.opening.end_s:
            issues.append(InputIssue(f"{where}.opening", "closes before it opens"))
        if office.pickup_s < 0:
            issues.append(
                InputIssue(f"{where}.pickup_s", f"must not be negative, got {office.pickup_s}")
            )
    return issues


def _visit_issues(problem: Problem) -> list[InputIssue]:
    issues: list[InputIssue] = []
    seen: set[str] = set()
    codes = {s.code for s in problem.services}
    agent_ids = {a.id for a in problem.agents}
    office_ids = {o.id for o in problem.offices}
    for n, visit in enumerate(problem.visits):
        where = f"visits[{n}] (id {visit.id!r})"
        if visit.id in seen:
            issues.append(InputIssue(f"{where}.id", "duplicate visit id"))
        seen.add(visit.id)
        if visit.service not in codes:
            issues.append(InputIssue(f"{where}.service", f"unknown service {visit.service!r}"))
        elif problem.visit_duration_s(visit) < 0:
            issues.append(InputIssue(f"{where}.duration_s", "time on site must not be negative"))
        if not visit.windows:
            issues.append(InputIssue(f"{where}.windows", "needs at least one time window"))
        for w, window in enumerate(visit.windows):
            if window.start_s > window.end_s:
                issues.append(InputIssue(f"{where}.windows[{w}]", "window ends before it starts"))
        if visit.required_agent is not None and visit.required_agent not in agent_ids:
            issues.append(
                InputIssue(
                    f"{where}.required_agent",
                    f"pinned to agent {visit.required_agent!r}, who is not in the problem",
                )
            )
        if visit.preferred_agent is not None and visit.preferred_agent not in agent_ids:
            issues.append(
                InputIssue(
                    f"{where}.preferred_agent",
                    f"prefers agent {visit.preferred_agent!r}, who is not in the problem",
                )
            )
        if visit.pickup_office is not None and visit.pickup_office not in office_ids:
            issues.append(
                InputIssue(
                    f"{where}.pickup_office",
                    f"collects from office {visit.pickup_office!r}, which is not in the problem",
                )
            )
        for name in ("max_late_s", "late_cost_per_min"):
            value = getattr(visit, name)
            if value < 0:
                issues.append(InputIssue(f"{where}.{name}", f"must not be negative, got {value}"))
        for name, amount in visit.demand.items():
            if amount < 0:
                issues.append(
                    InputIssue(f"{where}.demand.{name}", f"must not be negative, got {amount}")
                )
    return issues
