"""Repairing proposed routes before the routing model reads them: a visit of a higher tier
that fits nowhere takes the place of one of a lower tier."""

from __future__ import annotations

import dataclasses

from dispatch.geo.matrix import TravelMatrix
from dispatch.model import Location, Office, Priority, Problem
from dispatch.solver.build import build_model
from dispatch.solver.presolve import presolve
from dispatch.solver.repair import warm_routes
from tests.factories import agent, line_matrix, problem, visit, window

# Three 20-minute visits at one address; a 50-minute shift holds two of them.
SHORT_SHIFT = ("08:00", "08:50")


def repaired(
    p: Problem, m: TravelMatrix, proposed: dict[int, list[int]]
) -> tuple[dict[int, list[str]], int]:
    """Visit ids (pickup nodes as ``"call"``) per agent after repair, and how many proposed
    visits were left out."""
    pre = presolve(p, m)
    build = build_model(p, m, pre, 0)
    routes, left_out = warm_routes(p, m, build, proposed, pre.allowed)
    n_visit_nodes = len(build.node_visits)
    named = {
        k: [p.visits[build.node_visits[n]].id if n < n_visit_nodes else "call" for n in nodes]
        for k, nodes in routes.items()
    }
    return named, left_out


def three_visits(third: Priority) -> Problem:
    return problem(
        [agent("A", shift=SHORT_SHIFT)],
        [
            visit("N1", service="cnic_renewal"),
            visit("N2", service="cnic_renewal"),
            visit("X", service="cnic_renewal", priority=third),
        ],
    )


def test_urgent_visit_left_out_takes_a_normal_visits_place() -> None:
    p = three_visits(Priority.URGENT)
    routes, left_out = repaired(p, line_matrix([0] * 5), {0: [0, 1]})
    assert "X" in routes[0]
    assert len(routes[0]) == 2
    assert left_out == 1  # one of the proposed normal visits gave way


def test_normal_visit_left_out_displaces_nobody() -> None:
    p = three_visits(Priority.NORMAL)
    routes, left_out = repaired(p, line_matrix([0] * 5), {0: [0, 1]})
    assert routes[0] == ["N1", "N2"]
    assert left_out == 0


def test_high_visit_never_displaces_an_urgent_one() -> None:
    p = problem(
        [agent("A", shift=SHORT_SHIFT)],
        [
            visit("U1", service="cnic_renewal", priority=Priority.URGENT),
            visit("U2", service="cnic_renewal", priority=Priority.URGENT),
            visit("H", service="cnic_renewal", priority=Priority.HIGH),
        ],
    )
    routes, _ = repaired(p, line_matrix([0] * 5), {0: [0, 1]})
    assert routes[0] == ["U1", "U2"]


def test_delivery_that_gives_way_takes_its_office_call_along() -> None:
    """Call (10 min) + delivery (5) + N1 (20) fill 35 of 45 minutes; the urgent 20-minute
    visit fits only once the delivery and its call are gone."""
    office = Office("O", "NADRA centre", Location(31.6, 74.3), window("08:00", "17:00"), 600)
    p = problem(
        [agent("A", shift=("08:00", "08:45"))],
        [
            visit("D", pickup_office="O"),
            visit("N1", service="cnic_renewal"),
            visit("U", service="cnic_renewal", priority=Priority.URGENT),
        ],
    )
    p = dataclasses.replace(p, offices=(office,))
    routes, left_out = repaired(p, line_matrix([0] * 6), {0: [0, 1]})
    assert sorted(routes[0]) == ["N1", "U"]
    assert left_out == 1
