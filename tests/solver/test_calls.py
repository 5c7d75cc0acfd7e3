"""One call per office on a route in the proposal, once routes are given their office."""

from __future__ import annotations

import numpy as np
import pytest
import pyvrp
from pyvrp.stop import MaxIterations

from dispatch.check import check_plan
from dispatch.geo.matrix import HaversineProvider, TravelMatrix
from dispatch.model import Problem
from dispatch.solver import calls, ils
from dispatch.solver.calls import designate, designates, route_office
from dispatch.solver.ils import ils_prizes, ils_routes
from dispatch.solver.presolve import presolve
from dispatch.solver.search import solve
from dispatch.synth import generate
from tests.solver.helpers import solve_calls


def delivering_day() -> tuple[Problem, TravelMatrix]:
    """A field day with deliveries from three offices (8, 4 and 1)."""
    p = generate(60, 6, seed=1)
    return p, HaversineProvider().matrix(p.locations())


def proposal(p: Problem, m: TravelMatrix) -> tuple[ils._Adapter, pyvrp.Solution]:
    """The proposal's problem for ``p`` and its best after 300 iterations."""
    pre = presolve(p, m)
    prizes = ils_prizes(p, pre.candidates)
    adapter = ils._build(p, m, pre.candidates, pre.allowed, prizes, None, time_limit_s=30.0)
    assert adapter is not None
    result = pyvrp.solve(adapter.data, MaxIterations(300), seed=0, display=False)
    assert result.best.is_feasible()
    return adapter, result.best


def routes_of(best: pyvrp.Solution) -> list[tuple[int, list[int]]]:
    return [(r.vehicle_type(), ils._clients_of(r)) for r in best.routes()]


def test_routes_get_their_office_only_where_pyvrps_copy_is_small() -> None:
    """PyVRP copies every matrix when its problem changes (about 4 ns a byte)."""
    assert designates(300, 27, 352, 30.0)  # a 300-visit field day: 54 MB
    assert not designates(1000, 69, 1120, 60.0)  # a 1000-visit one: 1.4 GB, about 6 s
    at_budget = calls.REBUILD_BYTES_PER_PROPOSAL_S * 2.0
    side = int((at_budget / 16) ** 0.5)
    assert designates(100, 1, side, 2.0)
    assert not designates(100, 1, side + 1, 2.0)


def test_large_days_never_give_routes_their_office() -> None:
    most = calls.MAX_DESIGNATED_VISITS
    assert designates(most, 1, most + 10, 600.0)
    assert not designates(most + 1, 1, most + 10, 600.0)


def test_a_route_is_given_the_office_it_delivers_most_for() -> None:
    p, m = delivering_day()
    adapter, _ = proposal(p, m)
    layout = adapter.calls
    assert layout is not None and len(layout.deliveries) == 3
    data = adapter.data
    client_at = {data.client(c).location: c for c in range(data.num_clients)}
    of = {o: [client_at[loc] for loc in locs] for o, locs in layout.deliveries.items()}
    assert route_office(data, [of[2][0], of[1][0], of[0][0]], layout) == 0  # a tie: the first
    assert route_office(data, [of[0][0], of[1][0], of[1][1]], layout) == 1
    delivering = {c for cs in of.values() for c in cs}
    homes = [c for c in range(data.num_clients) if c not in delivering]
    assert route_office(data, homes[:5], layout) is None


def test_a_route_given_its_office_calls_there_once_and_rides_less() -> None:
    p, m = delivering_day()
    adapter, best = proposal(p, m)
    layout = adapter.calls
    assert layout is not None
    before = routes_of(best)
    given = designate(adapter.data, adapter.type_agents, layout, before)
    data = given.data
    offices = [route_office(adapter.data, clients, layout) for _, clients in before]
    assert any(o is not None for o in offices)
    for route, office in zip(given.start.routes(), offices, strict=True):
        vehicle = data.vehicle_type(route.vehicle_type())
        if office is None:
            assert vehicle.reload_depots == []
            continue
        assert vehicle.reload_depots == [layout.depots[office]] and vehicle.max_reloads == 1
        dim = layout.dimensions[office]
        assert vehicle.initial_load[dim] == vehicle.capacity[dim] > 0
        depots = [a.idx for a in route.schedule() if a.type == pyvrp.ActivityType.DEPOT]
        assert depots[1:-1] == [layout.depots[office]]  # one call on the way
        # the rides into that office's deliveries are direct
        rides = np.asarray(data.duration_matrix(vehicle.profile))
        cols = list(layout.deliveries[office])
        open_arcs = rides[:, cols] < layout.unreachable_s
        assert (rides[:, cols][open_arcs] == layout.direct[:, cols][open_arcs]).all()
    # Read into the new problem the routes stay feasible and ride less: a call once, where
    # the old travel paid for it, and no detour into later runs of that office's deliveries.
    assert given.start.is_feasible()
    assert given.start.distance() < best.distance()
    assert sorted(ils._clients_of(r) for r in given.start.routes()) == sorted(c for _, c in before)
    # every agent once, in a type with room for it
    agents = [a for group in given.type_agents for a in group]
    assert sorted(agents) == sorted(a for group in adapter.type_agents for a in group)
    for t, group in enumerate(given.type_agents):
        assert data.vehicle_type(t).num_available == len(group)


def test_a_route_given_its_office_cannot_deliver_before_the_call() -> None:
    p, m = delivering_day()
    adapter, best = proposal(p, m)
    layout = adapter.calls
    assert layout is not None
    given = designate(adapter.data, adapter.type_agents, layout, routes_of(best))
    route = next(
        r for r in given.start.routes() if given.data.vehicle_type(r.vehicle_type()).reload_depots
    )
    without_call = pyvrp.Route(given.data, ils._clients_of(route), route.vehicle_type())
    assert max(without_call.excess_load()) > 0


def test_the_proposal_gives_routes_their_office_for_its_second_half(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    p, m = delivering_day()
    pre = presolve(p, m)
    prizes = ils_prizes(p, pre.candidates)
    seen = solve_calls(monkeypatch)

    def propose(time_limit_s: float) -> ils.IlsRoutes:
        routes = ils_routes(
            p,
            m,
            pre.candidates,
            pre.allowed,
            prizes,
            time_limit_s=time_limit_s,
            max_iterations=400,
        )
        assert routes is not None
        return routes

    routes = propose(30.0)
    assert len(seen) == 2
    first, second = seen
    assert first.initial is None and second.initial is not None
    assert second.initial.is_feasible()
    assert any(
        second.data.vehicle_type(t).reload_depots for t in range(second.data.num_vehicle_types)
    )
    assert routes.iterations == 400
    assert propose(30.0).routes == routes.routes  # capped by iterations: the same plan
    # each agent's route holds only visits it may serve
    for a, visits in routes.routes.items():
        assert all(a in pre.allowed[v] for v in visits)
    # a limit too short for PyVRP to copy the matrices: one search, as before
    monkeypatch.setattr(calls, "REBUILD_BYTES_PER_PROPOSAL_S", 1)
    seen.clear()
    propose(30.0)
    assert len(seen) == 1


def test_plans_after_routes_get_their_office_pass_the_checker() -> None:
    p, m = delivering_day()
    plan = solve(p, m, time_limit_s=30.0, seed=0, solution_limit=50)
    report = check_plan(p, plan, m)
    assert report.ok, report.summary()
    delivered = {v.id for v in p.visits if v.pickup_office is not None} & set(plan.served_ids())
    assert delivered


def test_after_routes_get_their_office_a_stalled_search_still_stops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On small days the proposal stops once it stalls past half its time, so that a second
    one may run on the folded clock (``search.FOLD_AFTER_STALL_ITERATIONS``); the search with
    routes given their office keeps that rule."""
    p, m = delivering_day()
    pre = presolve(p, m)
    prizes = ils_prizes(p, pre.candidates)
    calls = solve_calls(monkeypatch)
    ils_routes(p, m, pre.candidates, pre.allowed, prizes, time_limit_s=2.0, stall_iterations=50)
    assert len(calls) == 2
    assert all(any(isinstance(c, ils._Stalled) for c in call.stop.criteria) for call in calls)
