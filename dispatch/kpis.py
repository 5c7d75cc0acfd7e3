"""Key figures of a plan: how much was served, how long agents rode and worked, how evenly.

KPIs read only the plan and the problem (never the matrix): they summarise what the plan says,
so run :func:`dispatch.check.check_plan` first if the plan's times are in doubt. Routes of agents
the problem does not know and stops for unknown visits are ignored here (the checker reports them).
"""

from __future__ import annotations

import statistics
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from dispatch.model import PRIORITY_ORDER, Problem, Visit
from dispatch.plan import Plan, Reason, Route, StopKind


@dataclass(frozen=True)
class AgentKpis:
    """One agent's day. Agents without a route have zeros and utilisation 0; ``visits`` counts
    home visits, not calls at offices."""

    agent_id: str
    visits: int
    working_s: int
    travel_s: int
    distance_m: int
    shift_s: int
    utilisation: float  # working_s / shift_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "visits": self.visits,
            "working_s": self.working_s,
            "travel_s": self.travel_s,
            "distance_m": self.distance_m,
            "shift_s": self.shift_s,
            "utilisation": self.utilisation,
        }


@dataclass(frozen=True)
class Kpis:
    """Plan-wide figures.

    ``served_pct`` is a percentage (0-100; 100 when the problem has no visits). Priority and
    reason tables list every priority / reason, zeros included, so reports have stable columns.
    ``working_s_min/max/std`` describe the workload spread over agents *used*, i.e. with at
    least one stop (population standard deviation; zeros when no agent is used).
    """

    visits_total: int
    visits_served: int
    served_pct: float
    served_by_priority: dict[str, int]
    total_by_priority: dict[str, int]
    travel_s: int
    distance_m: int
    on_time_rate: float
    agents_used: int
    agents: tuple[AgentKpis, ...]
    working_s_min: int
    working_s_max: int
    working_s_std: float
    unassigned_by_reason: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts, lists, ints, floats and strings, ready for ``json.dumps``."""
        return {
            "visits_total": self.visits_total,
            "visits_served": self.visits_served,
            "served_pct": self.served_pct,
            "served_by_priority": dict(self.served_by_priority),
            "total_by_priority": dict(self.total_by_priority),
            "travel_s": self.travel_s,
            "distance_m": self.distance_m,
            "on_time_rate": self.on_time_rate,
            "agents_used": self.agents_used,
            "agents": [a.to_dict() for a in self.agents],
            "working_s_min": self.working_s_min,
            "working_s_max": self.working_s_max,
            "working_s_std": self.working_s_std,
            "unassigned_by_reason": dict(self.unassigned_by_reason),
        }


def compute_kpis(problem: Problem, plan: Plan) -> Kpis:
    """Summarise ``plan`` for ``problem``.

    A visit counts as served once however many stops name it; calls at offices are not visits
    (their riding still counts in travel and working time). ``on_time_rate`` is the share of
    served stops whose service starts inside one of the visit's windows, so a late start
    allowed by a soft window is not on time (1.0 when nothing is served).
    """
    visits_by_id: dict[Hashable, Visit] = {}
    for visit in problem.visits:
        visits_by_id.setdefault(visit.id, visit)
    routes_by_agent: dict[str, list[Route]] = {a.id: [] for a in problem.agents}
    for route in plan.routes:
        if route.agent_id in routes_by_agent:
            routes_by_agent[route.agent_id].append(route)

    agents: list[AgentKpis] = []
    served: dict[str, Visit] = {}
    stops_served = 0
    stops_on_time = 0
    seen_agents: set[str] = set()
    used_ids: set[str] = set()  # agents with at least one known stop, office calls included
    office_ids = {o.id for o in problem.offices}
    for agent in problem.agents:
        if agent.id in seen_agents:
            continue  # a repeated agent id: its routes were counted with the first
        seen_agents.add(agent.id)
        visits = working_s = travel_s = distance_m = 0
        for route in routes_by_agent[agent.id]:
            known_stops = [
                s for s in route.stops if s.kind == StopKind.VISIT and s.visit_id in visits_by_id
            ]
            office_calls = [
                s for s in route.stops if s.kind == StopKind.PICKUP and s.visit_id in office_ids
            ]
            if known_stops or office_calls:
                used_ids.add(agent.id)
            visits += len(known_stops)
            working_s += route.working_s
            travel_s += route.travel_s
            distance_m += route.distance_m
            for stop in known_stops:
                visit = visits_by_id[stop.visit_id]
                served[visit.id] = visit
                stops_served += 1
                if any(w.contains(stop.start_s) for w in visit.windows):
                    stops_on_time += 1
        shift_s = agent.shift.end_s - agent.shift.start_s
        utilisation = working_s / shift_s if shift_s > 0 else 0.0
        agents.append(
            AgentKpis(agent.id, visits, working_s, travel_s, distance_m, shift_s, utilisation)
        )

    used = [a.working_s for a in agents if a.agent_id in used_ids]
    total_by_priority = {p.value: 0 for p in PRIORITY_ORDER}
    for visit in visits_by_id.values():
        total_by_priority[visit.priority.value] = total_by_priority.get(visit.priority.value, 0) + 1
    served_by_priority = {p.value: 0 for p in PRIORITY_ORDER}
    for visit in served.values():
        served_by_priority[visit.priority.value] += 1
    unassigned_by_reason = {r.value: 0 for r in Reason}
    for entry in plan.unassigned:
        key = str(entry.reason)
        unassigned_by_reason[key] = unassigned_by_reason.get(key, 0) + 1

    visits_total = len(visits_by_id)
    return Kpis(
        visits_total=visits_total,
        visits_served=len(served),
        served_pct=100.0 * len(served) / visits_total if visits_total else 100.0,
        served_by_priority=served_by_priority,
        total_by_priority=total_by_priority,
        travel_s=sum(a.travel_s for a in agents),
        distance_m=sum(a.distance_m for a in agents),
        on_time_rate=stops_on_time / stops_served if stops_served else 1.0,
        agents_used=len(used),
        agents=tuple(agents),
        working_s_min=min(used, default=0),
        working_s_max=max(used, default=0),
        working_s_std=statistics.pstdev(used) if used else 0.0,
        unassigned_by_reason=unassigned_by_reason,
    )
