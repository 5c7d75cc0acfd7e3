"""Timing a route: the times a plan reports, recomputed from the matrix for a fixed order.

The search only decides who visits whom in which order. The times come from here: ride as
early as possible (each service starts at the earliest moment inside one of its windows),
then leave the start as late as possible without delaying the first service, so an agent
does not wait on a doorstep for a slot to open. Travel is read through
:meth:`TravelMatrix.travel_s` at the actual departure time, so a congestion profile applies
exactly as the checker applies it.
"""

from __future__ import annotations

from collections.abc import Sequence

from dispatch.geo.matrix import TravelMatrix
from dispatch.model import Problem
from dispatch.plan import Route, Stop
from dispatch.solver.presolve import earliest_start_s


class ScheduleError(RuntimeError):
    """A route cannot be timed within its windows: a bug, since the model allowed it."""


def time_route(
    problem: Problem, matrix: TravelMatrix, agent_pos: int, visit_positions: Sequence[int]
) -> Route:
    """The timed route of agent ``agent_pos`` serving ``visit_positions`` in that order."""
    agent = problem.agents[agent_pos]
    speed = agent.speed_factor
    start_node = problem.start_index(agent_pos)
    stops: list[Stop] = []
    prev = start_node
    clock_s = agent.shift.start_s
    for v in visit_positions:
        visit = problem.visits[v]
        node = problem.visit_index(v)
        travel_s = matrix.travel_s(prev, node, clock_s, speed)
        arrival_s = clock_s + travel_s
        start_s = earliest_start_s(visit.windows, arrival_s)
        if start_s is None:
            raise ScheduleError(
                f"agent {agent.id} reaches visit {visit.id} at {arrival_s}, after its windows"
            )
        departure_s = start_s + problem.visit_duration_s(visit)
        distance_m = int(matrix.distance_m[prev, node])
        stops.append(Stop(visit.id, arrival_s, start_s, departure_s, travel_s, distance_m))
        prev, clock_s = node, departure_s
    end_node = problem.end_index(agent_pos)
    end_travel_s = matrix.travel_s(prev, end_node, clock_s, speed)
    end_s = clock_s + end_travel_s
    leave_s = agent.shift.start_s
    if stops:
        first = stops[0]
        leave_s = _latest_departure_s(
            matrix, start_node, problem.visit_index(visit_positions[0]), speed, leave_s, first
        )
        travel_s = matrix.travel_s(
            start_node, problem.visit_index(visit_positions[0]), leave_s, speed
        )
        stops[0] = Stop(
            first.visit_id,
            leave_s + travel_s,
            first.start_s,
            first.departure_s,
            travel_s,
            first.distance_m,
        )
    if end_s > agent.shift.end_s:
        raise ScheduleError(f"agent {agent.id} is back at {end_s}, after its shift end")
    return Route(
        agent.id, leave_s, tuple(stops), end_s, end_travel_s, int(matrix.distance_m[prev, end_node])
    )


def _latest_departure_s(
    matrix: TravelMatrix, origin: int, node: int, speed: float, earliest_s: int, first: Stop
) -> int:
    """The latest departure that still arrives by the first service start.

    Without congestion that is the start minus the ride. With congestion the ride depends on
    the departure, so a few fixed-point steps are tried and the latest one that arrives in time
    wins; the earliest departure is the safe fallback.
    """
    best_s = earliest_s
    guess_s = first.start_s - first.travel_s
    for _ in range(4):
        if guess_s <= best_s:
            break
        if guess_s + matrix.travel_s(origin, node, guess_s, speed) <= first.start_s:
            best_s = guess_s
            break
        guess_s = first.start_s - matrix.travel_s(origin, node, guess_s, speed)
    return best_s
