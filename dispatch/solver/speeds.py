"""Agents' speeds in a few classes, so that a fleet of personal speeds plans in time.

Each distinct speed costs the routing model two travel matrices and the proposal at least one
(a profile). A fleet where every agent rides at a speed of their own (a speed factor fitted to
each agent's past rides, say) made a 1000-visit field day with 60 agents end 11 s past a 30-s
limit (building the model took 18.7 s), and a 1224-visit day with 102 agents end at 53 s of
30 with nothing served (the proposal declined, OR-Tools alone found no first solution). With
more than :data:`MAX_SPEED_CLASSES` speeds the search plans with each agent at the slowest
speed of its class: routes that fit at that speed fit at the agent's own, so the plan is timed
and checked with the real speeds afterwards. The price is a little slack: with speeds from 0.8
to 1.2, an agent rides up to 5% faster than planned. Those days now (speeds 0.8 + 0.4 k / n
for agent k of n, 30 s, two at a time, the code before in the same pairs): 995 served with
107.8 h ending at 29.0 s (before: 968 with 113.5 h at 41.3 s), 1220 with 104.3 h at 29.8 s,
and a plain 1000-visit day 999 with 63.1 h at 30.0 s (before: 999 with 72.0 h at 37.9 s).
"""

from __future__ import annotations

import math
from dataclasses import replace

from dispatch.model import Problem

MAX_SPEED_CLASSES = 8


def speed_classes(problem: Problem) -> Problem:
    """``problem`` itself when its agents have at most :data:`MAX_SPEED_CLASSES` speeds, else a
    copy in which each agent rides at the slowest speed of its class: the speeds cut into that
    many classes of equal ratio, from the slowest to the fastest."""
    speeds = sorted({a.speed_factor for a in problem.agents})
    if len(speeds) <= MAX_SPEED_CLASSES:
        return problem
    span = math.log(speeds[-1] / speeds[0])
    slowest: dict[int, float] = {}
    class_of: dict[float, int] = {}
    for speed in speeds:  # ascending, so each class's first speed is its slowest
        c = min(MAX_SPEED_CLASSES - 1, int(MAX_SPEED_CLASSES * math.log(speed / speeds[0]) / span))
        class_of[speed] = c
        slowest.setdefault(c, speed)
    agents = tuple(
        replace(a, speed_factor=slowest[class_of[a.speed_factor]]) for a in problem.agents
    )
    return replace(problem, agents=agents)
