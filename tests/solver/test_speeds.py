"""Speed classes: a fleet of personal speeds planned with a few, timed with the real ones."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from dispatch.check import check_plan
from dispatch.geo.matrix import HaversineProvider
from dispatch.model import Problem
from dispatch.solver import search
from dispatch.solver.speeds import MAX_SPEED_CLASSES, speed_classes
from dispatch.synth import generate


def personal_speeds(p: Problem, speeds: list[float]) -> Problem:
    agents = tuple(
        dataclasses.replace(a, speed_factor=s) for a, s in zip(p.agents, speeds, strict=True)
    )
    return dataclasses.replace(p, agents=agents)


def test_a_few_speeds_plan_as_they_are() -> None:
    p = generate(10, MAX_SPEED_CLASSES, seed=0)
    p = personal_speeds(p, [0.8 + 0.05 * k for k in range(MAX_SPEED_CLASSES)])
    assert speed_classes(p) is p


def test_many_speeds_fall_to_the_slowest_of_a_few_classes() -> None:
    speeds = [0.7 + 0.6 * k / 29 for k in range(30)]
    p = personal_speeds(generate(10, 30, seed=0), speeds)
    coarse = speed_classes(p)
    classes = sorted({a.speed_factor for a in coarse.agents})
    assert 1 < len(classes) <= MAX_SPEED_CLASSES
    assert set(classes) <= set(speeds)  # each class rides at a real agent's speed
    step = (max(speeds) / min(speeds)) ** (1 / MAX_SPEED_CLASSES)
    for agent, own in zip(coarse.agents, p.agents, strict=True):
        assert agent.speed_factor <= own.speed_factor < agent.speed_factor * step
        assert dataclasses.replace(agent, speed_factor=own.speed_factor) == own


def test_a_fleet_of_personal_speeds_is_planned_in_classes_and_timed_at_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The model sees at most MAX_SPEED_CLASSES speeds; the plan passes the checker, which
    times every leg at the agent's own speed."""
    p = generate(60, 12, seed=1)
    p = personal_speeds(p, [0.8 + 0.04 * k for k in range(12)])
    m = HaversineProvider().matrix(p.locations())
    seen: list[Problem] = []
    real_build = search.build_model

    def spy(work: Problem, *args: Any) -> Any:
        seen.append(work)
        return real_build(work, *args)

    monkeypatch.setattr(search, "build_model", spy)
    plan = search.solve(p, m, time_limit_s=10.0, solution_limit=20)
    ((work,),) = [seen]
    assert len({a.speed_factor for a in work.agents}) <= MAX_SPEED_CLASSES
    report = check_plan(p, plan, m)
    assert report.ok, report.summary()
    assert len(plan.served_ids()) > len(p.visits) // 2
    assert {r.agent_id for r in plan.routes} & {
        a.id for a, w in zip(p.agents, work.agents, strict=True) if a.speed_factor != w.speed_factor
    }
