"""Search behaviour: determinism, seeds, progress, edge cases, congestion and bad input."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from dispatch.check import check_plan
from dispatch.errors import InputError
from dispatch.geo.matrix import CongestionProfile, HaversineProvider, TravelMatrix
from dispatch.model import Break, Problem, TimeWindow
from dispatch.plan import Plan, Reason
from dispatch.solver import SearchProgress, repair, search, solve
from dispatch.solver.build import build_model
from dispatch.solver.presolve import presolve
from dispatch.solver.search import (
    BOOL_FALSE,
    ILS_ITERATIONS_WHEN_LIMITED,
    ILS_SHARE,
    ILS_SHARE_EXACT,
    MODEL_BUILD_S_PER_EXTRA_SPEED_ELEMENT,
    PATH_LNS_MAX_VISIT_NODES,
    POLISH_MAX_SHARE,
    POLISH_MIN_SHARE,
    POLISH_S,
    REPAIR_S_PER_VISIT,
    RUIN_ITERATIONS_WHEN_LIMITED,
    RUIN_OPEN_SHARE,
    _ils_share,
    _Monitor,
    _read_best,
    polish_s,
    search_parameters,
)
from dispatch.synth import generate
from tests.factories import agent, hm, line_matrix, problem, visit
from tests.solver.helpers import over_booked, solved


@pytest.fixture(scope="module")
def district() -> tuple[Problem, TravelMatrix]:
    """A small synthetic district day: 40 visits, 4 agents."""
    p = generate(40, 4, seed=3)
    return p, HaversineProvider().matrix(p.locations())


def _without_time(plan: Plan) -> tuple[object, ...]:
    facts = {k: v for k, v in plan.solver.items() if k not in ("solve_time_s", "ruin_s")}
    return plan.routes, plan.unassigned, facts


def test_same_problem_and_seed_give_the_same_plan(district: tuple[Problem, TravelMatrix]) -> None:
    """With a solution limit, two solves of one problem and seed agree in every detail."""
    p, m = district
    first = solve(p, m, seed=5, solution_limit=25)
    second = solve(p, m, seed=5, solution_limit=25)
    assert _without_time(first) == _without_time(second)
    assert check_plan(p, first, m).ok


def test_every_seed_gives_a_valid_plan(district: tuple[Problem, TravelMatrix]) -> None:
    """Seeds only reorder the search: each plan is valid and records its seed."""
    p, m = district
    for seed in (0, 1, 2):
        plan = solve(p, m, seed=seed, solution_limit=25)
        assert check_plan(p, plan, m).ok
        assert plan.solver["seed"] == seed
        assert len(plan.served_ids()) > 0


def test_solver_facts_are_reported(district: tuple[Problem, TravelMatrix]) -> None:
    """The plan carries status, objective, limits, solution count and strategies."""
    p, m = district
    plan = solve(p, m, time_limit_s=20.0, solution_limit=30)
    facts = plan.solver
    assert set(facts) == {
        "status",
        "objective",
        "solve_time_s",
        "seed",
        "time_limit_s",
        "solutions",
        "first_solution",
        "metaheuristic",
        "warm_start",
        "ils_iterations",
        "ruin_iterations",
        "ruin_s",
        "ruin_saved_s",
        "warm_start_dropped",
        "warm_start_folded",
        "warm_start_feasible",
        "routes_cut_to_fit",
    }
    assert facts["routes_cut_to_fit"] == 0
    assert facts["warm_start"] == "pyvrp-ils"
    assert facts["warm_start_feasible"] is True
    # With a solution limit, one proposal on each clock (this day has lunch breaks).
    assert facts["ils_iterations"] == 2 * ILS_ITERATIONS_WHEN_LIMITED
    # Each proposal's repaired routes then get ruin and recreate (the day has office calls).
    assert facts["ruin_iterations"] == 2 * RUIN_ITERATIONS_WHEN_LIMITED
    # ... and what they saved of the ride, and how long they took.
    assert facts["ruin_saved_s"] > 0
    assert 0 < facts["ruin_s"] < facts["solve_time_s"]
    assert isinstance(facts["warm_start_folded"], bool)
    assert facts["time_limit_s"] == 20.0
    assert facts["metaheuristic"] == "GUIDED_LOCAL_SEARCH"
    assert 1 <= facts["solutions"] <= 30 + 1  # the warm start is read in as one more
    assert facts["objective"] >= sum(r.travel_s for r in plan.routes) > 0


def test_progress_reports_improving_solutions(district: tuple[Problem, TravelMatrix]) -> None:
    """The proposal phase reports first, serving more each time, without an objective where
    it does not know every rule; repair then reports each of its stages; the model's reports
    then improve strictly and the last one matches the returned plan."""
    p, m = district
    seen: list[SearchProgress] = []
    plan = solve(p, m, solution_limit=25, progress=seen.append)
    phases = [r.phase for r in seen]
    assert "proposal" in phases and "repair" in phases and phases[-1] == "model"
    assert phases == sorted(phases, key=["proposal", "repair", "model"].index)
    proposals = [r for r in seen if r.phase == "proposal"]
    assert all(r.objective is None for r in proposals)  # offices and breaks: not the model's
    stages = [r for r in seen if r.phase != "model"]
    assert all(r.solutions == 0 for r in stages)  # not the model's solutions
    served = [r.served for r in proposals]
    assert served == sorted(served) and len(set(served)) == len(served)
    # Every stage of repair is shown, ruin and recreate among them, one proposal on each
    # clock (see the facts test above).
    repairs = [r for r in seen if r.phase == "repair"]
    assert len(repairs) == 2 * (5 if repair.FINAL_TURN else 4)
    assert all(r.objective is None and 0 < r.served <= len(p.visits) for r in repairs)
    objectives = [r.objective for r in seen if r.phase == "model"]
    assert objectives == sorted(objectives, reverse=True)
    assert len(set(objectives)) == len(objectives)
    elapsed = [r.elapsed_s for r in seen]
    assert elapsed == sorted(elapsed)
    assert [r.solutions for r in seen] == sorted(r.solutions for r in seen)
    last = seen[-1]
    assert last.objective == plan.solver["objective"]
    assert last.served == len(plan.served_ids())
    assert all(r.total == len(p.visits) for r in seen)


def test_progress_of_an_exact_proposal_has_the_model_objective() -> None:
    """Where the proposal knows every rule, its reports carry the objective, and every report,
    proposal or model, improves on the one before."""
    p = generate(40, 4, seed=3, features=False)
    m = HaversineProvider().matrix(p.locations())
    seen: list[SearchProgress] = []
    solve(p, m, solution_limit=25, progress=seen.append)
    assert any(r.phase == "proposal" for r in seen)
    # Repair's stages have no objective of their own; every other report has the model's.
    assert any(r.phase == "repair" for r in seen)
    objectives = [r.objective for r in seen if r.phase != "repair"]
    assert None not in objectives
    assert objectives == sorted(objectives, reverse=True)
    assert len(set(objectives)) == len(objectives)


def test_progress_of_an_exact_proposal_that_leaves_visits_out_ends_at_the_plan() -> None:
    """Where visits are left out, the proposal reports the model's objective too (its
    penalties, not its prizes), so the model's better solutions are shown and the last report
    is the plan's objective."""
    p = generate(40, 2, seed=3, features=False)  # two agents: some visits stay out
    m = HaversineProvider().matrix(p.locations())
    seen: list[SearchProgress] = []
    plan = solve(p, m, time_limit_s=10.0, solution_limit=25, progress=seen.append)
    assert plan.unassigned
    scored = [r for r in seen if r.phase != "repair"]
    assert scored[0].phase == "proposal"
    assert scored[-1].objective == plan.solver["objective"]
    assert scored[-1].served == len(plan.served_ids())


def test_no_agents_returns_every_visit_unassigned() -> None:
    """Without agents the plan is empty and every visit says why."""
    p = problem([], [visit("V1"), visit("V2")])
    plan = solved(p, line_matrix([0, 0]))
    assert plan.routes == ()
    assert {u.reason for u in plan.unassigned} == {Reason.NO_AGENTS}


def test_no_visits_returns_an_empty_plan() -> None:
    """Agents with nothing booked get no routes."""
    p = problem([agent("A"), agent("B")], [])
    plan = solved(p, line_matrix([0, 0, 0, 0]))
    assert plan.routes == () and plan.unassigned == ()
    assert plan.solver["status"] == "nothing_to_route"


def test_congestion_slows_the_rush_hour_ride() -> None:
    """Leaving at 08:00 under a doubling 08-09 profile, the 600 s ride takes 1200 s."""
    multipliers = [1.0] * 24
    multipliers[8] = 2.0
    base = line_matrix([600, 0, 0])
    congested = TravelMatrix(
        base.duration_s, base.distance_m, CongestionProfile(tuple(multipliers))
    )
    p = problem([agent("A")], [visit("V1")])
    plan = solved(p, congested)
    stop = plan.routes[0].stops[0]
    assert (stop.travel_s, stop.start_s) == (1200, hm("08:20"))


def test_congestion_keeps_a_tight_plan_feasible() -> None:
    """Slots planned on worst-hour travel stay feasible when recomputed hour by hour."""
    multipliers = tuple(1.0 + 0.5 * (h in (8, 9, 17)) for h in range(24))
    p = generate(25, 3, seed=11)
    m = HaversineProvider(congestion=CongestionProfile(multipliers)).matrix(p.locations())
    plan = solve(p, m, solution_limit=20)
    assert check_plan(p, plan, m).ok
    assert len(plan.served_ids()) > 0


def test_wrong_matrix_size_is_an_input_error() -> None:
    """A matrix for another problem is refused with an issue naming the matrix."""
    p = problem([agent("A")], [visit("V1")])
    with pytest.raises(InputError) as caught:
        solve(p, line_matrix([0, 0]), solution_limit=1)
    assert [issue.where for issue in caught.value.issues] == ["matrix"]


def test_bad_visits_are_all_reported_by_name() -> None:
    """A visit without windows and one with an unknown service are both named."""
    p = problem(
        [agent("A")],
        [visit("V1", windows=[]), visit("V2", service="teleportation")],
    )
    with pytest.raises(InputError) as caught:
        solve(p, line_matrix(np.zeros(4, dtype=np.int64).tolist()), solution_limit=1)
    where = [issue.where for issue in caught.value.issues]
    assert where == ["visits[0] (id 'V1').windows", "visits[1] (id 'V2').service"]


def test_pin_to_an_unknown_agent_is_an_input_error() -> None:
    """A visit pinned to nobody in the problem is refused, naming the field."""
    p = problem([agent("A")], [visit("V1", required_agent="Z")])
    with pytest.raises(InputError) as caught:
        solve(p, line_matrix([0, 0, 0]), solution_limit=1)
    assert [issue.where for issue in caught.value.issues] == ["visits[0] (id 'V1').required_agent"]


def test_bad_field_day_rules_are_all_reported_by_name() -> None:
    """An unknown office, an unknown preferred agent, negative lateness and a doubled break
    name are each refused, naming the item and field."""
    rest = Break("lunch", 1800, TimeWindow(hm("12:00"), hm("13:00")))
    p = problem(
        [agent("A", breaks=(rest, rest))],
        [visit("V1", pickup_office="NOWHERE", preferred_agent="Z", max_late_s=-60)],
    )
    with pytest.raises(InputError) as caught:
        solve(p, line_matrix([0, 0, 0]), solution_limit=1)
    assert [issue.where for issue in caught.value.issues] == [
        "agents[0] (id 'A').breaks[1] ('lunch').name",
        "visits[0] (id 'V1').preferred_agent",
        "visits[0] (id 'V1').pickup_office",
        "visits[0] (id 'V1').max_late_s",
    ]


def test_breaks_that_must_overlap_are_an_input_error() -> None:
    """Two half-hour breaks that must both start between 08:00 and 08:15 can never both be
    taken whole: the agent is refused, naming its breaks, instead of getting a plan whose
    breaks overlap. Breaks that fit one after the other are accepted."""
    tight = (
        Break("b0", 1800, TimeWindow(hm("08:00"), hm("08:00"))),
        Break("b1", 1800, TimeWindow(hm("08:00"), hm("08:15"))),
    )
    p = problem([agent("A"), agent("B", breaks=tight)], [visit("V1")])
    with pytest.raises(InputError) as caught:
        solve(p, line_matrix([0, 0, 0, 0, 0]), solution_limit=1)
    [issue] = caught.value.issues
    assert issue.where == "agents[1] (id 'B').breaks"
    assert "'b0', 'b1'" in issue.message
    roomy = (tight[0], Break("b1", 1800, TimeWindow(hm("08:00"), hm("08:30"))))
    p = problem([agent("A"), agent("B", breaks=roomy)], [visit("V1")])
    plan = solve(p, line_matrix([0, 0, 0, 0, 0]), solution_limit=1)
    assert check_plan(p, plan, line_matrix([0, 0, 0, 0, 0])).ok


def test_break_of_no_length_is_an_input_error() -> None:
    """A break of 0 s is a slip, refused as the file format refuses it."""
    rest = Break("prayer", 0, TimeWindow(hm("13:00"), hm("13:30")))
    p = problem([agent("A", breaks=(rest,))], [visit("V1")])
    with pytest.raises(InputError) as caught:
        solve(p, line_matrix([0, 0, 0]), solution_limit=1)
    [issue] = caught.value.issues
    assert issue.where == "agents[0] (id 'A').breaks[0] ('prayer').duration_s"
    assert "must be positive" in issue.message


def test_search_restarts_from_a_first_solution_with_many_breaks() -> None:
    """OR-Tools re-reads the first solution within its LNS time limit; with a break to place on
    each of 60 routes that took longer than the 0.1 s default and the search ended at once with
    no solution. The limit now grows with the routes that hold breaks."""
    problem = generate(1000, 60, 0)
    matrix = HaversineProvider().matrix(problem.locations())
    pre = presolve(problem, matrix)
    build = build_model(problem, matrix, pre, 0)
    assert build.break_routes == 60
    params = search_parameters(30.0, 1, break_routes=build.break_routes)
    build.routing.CloseModelWithParameters(params)  # reading alone would close it on defaults
    first = build.routing.ReadAssignmentFromRoutes([[] for _ in problem.agents], True)
    assert first is not None
    assert build.routing.SolveFromAssignmentWithParameters(first, params) is not None


def test_the_proposal_leaves_repair_time_that_grows_with_the_day() -> None:
    field_day = generate(40, 4, seed=3)
    plain_day = generate(40, 4, seed=3, features=False)
    # Where the share already leaves enough (Solomon at 5 s, field days), it stands.
    assert _ils_share(plain_day, 100, 5.0) == ILS_SHARE_EXACT
    assert _ils_share(field_day, 1000, 30.0) == ILS_SHARE
    # A large plain day leaves repair its time per visit...
    share = _ils_share(plain_day, 1000, 30.0)
    assert share < ILS_SHARE_EXACT
    assert 30.0 * (1 - share) == pytest.approx(1000 * REPAIR_S_PER_VISIT)
    # ... but the proposal keeps half its share on a limit too short for both.
    assert _ils_share(plain_day, 1000, 1.0) == ILS_SHARE_EXACT / 2


def test_the_proposal_leaves_ruin_and_recreate_more_where_visits_are_open_long() -> None:
    """Each visit open longer than two booked slots in all moves RUIN_OPEN_SHARE / visits of
    the limit from the proposal to ruin and recreate; two slots alone move nothing."""
    field_day = generate(40, 4, seed=3)
    all_day = (TimeWindow(hm("09:00"), hm("17:00")),)
    two_slots = (TimeWindow(hm("09:00"), hm("11:00")), TimeWindow(hm("11:00"), hm("13:00")))

    def opened(windows: tuple[TimeWindow, ...], share: float) -> Problem:
        n = round(share * len(field_day.visits))
        visits = tuple(
            dataclasses.replace(v, windows=windows) if i < n else v
            for i, v in enumerate(field_day.visits)
        )
        return dataclasses.replace(field_day, visits=visits)

    assert _ils_share(opened(all_day, 1.0), 40, 30.0) == pytest.approx(ILS_SHARE - RUIN_OPEN_SHARE)
    assert _ils_share(opened(all_day, 0.5), 40, 30.0) == pytest.approx(
        ILS_SHARE - RUIN_OPEN_SHARE / 2
    )
    assert _ils_share(opened(two_slots, 1.0), 40, 30.0) == ILS_SHARE


def test_the_polish_keeps_a_second_within_a_share_of_the_limit() -> None:
    assert polish_s(10.0) == pytest.approx(POLISH_S)
    assert polish_s(2.0) == pytest.approx(POLISH_MAX_SHARE * 2.0)
    assert polish_s(60.0) == pytest.approx(POLISH_MIN_SHARE * 60.0)
    assert POLISH_MIN_SHARE * 60.0 > POLISH_S > POLISH_MAX_SHARE * 2.0


def test_ruin_and_recreate_leaves_the_polish_its_time(
    monkeypatch: pytest.MonkeyPatch, district: tuple[Problem, TravelMatrix]
) -> None:
    """Ruin and recreate ends before the polish's share of the limit, counted from the start."""
    p, m = district
    started: list[float] = []
    deadlines: list[float | None] = []
    real_presolve, real_improve = search.presolve, search.Improve

    def timed_presolve(*args: object) -> object:
        started.append(time.perf_counter())  # just after the solve's own start
        return real_presolve(*args)  # type: ignore[arg-type]

    def recorded_improve(seed: int, until_s: float | None, iterations: int | None) -> object:
        deadlines.append(until_s)
        return real_improve(seed, until_s, iterations)

    monkeypatch.setattr(search, "presolve", timed_presolve)
    monkeypatch.setattr(search, "Improve", recorded_improve)
    limit_s = 3.0
    plan = solve(p, m, time_limit_s=limit_s)
    assert check_plan(p, plan, m).ok
    assert deadlines and all(d is not None for d in deadlines)
    assert max(d for d in deadlines if d is not None) <= started[0] + limit_s - polish_s(limit_s)


def test_the_proposal_leaves_the_model_time_for_each_speed_beyond_the_first() -> None:
    """Each speed beyond the first costs building the model two more matrices."""
    plain_day = generate(40, 4, seed=3, features=False)
    assert len({a.speed_factor for a in plain_day.agents}) == 1
    three = tuple(
        dataclasses.replace(a, speed_factor=(0.9, 1.0, 1.1)[k % 3])
        for k, a in enumerate(plain_day.agents)
    )
    three_speeds = dataclasses.replace(plain_day, agents=three)
    nodes = 1000 + 2 * len(three)  # the plain day has no deliveries
    left_s = 30.0 * (_ils_share(plain_day, 1000, 30.0) - _ils_share(three_speeds, 1000, 30.0))
    assert left_s == pytest.approx(2 * MODEL_BUILD_S_PER_EXTRA_SPEED_ELEMENT * nodes**2)


def test_path_lns_is_off_only_on_large_models() -> None:
    """The path LNS operators, which can run far past the time limit on 1000 visits, are
    turned off above PATH_LNS_MAX_VISIT_NODES visit nodes and left as OR-Tools has them below."""
    small = search_parameters(5.0, None, visit_nodes=PATH_LNS_MAX_VISIT_NODES)
    large = search_parameters(5.0, None, visit_nodes=PATH_LNS_MAX_VISIT_NODES + 1)
    default = search_parameters(5.0, None).local_search_operators
    for name in ("use_global_cheapest_insertion_path_lns", "use_local_cheapest_insertion_path_lns"):
        assert getattr(small.local_search_operators, name) == getattr(default, name) != BOOL_FALSE
        assert getattr(large.local_search_operators, name) == BOOL_FALSE


@pytest.mark.parametrize("served_first", [True, False])
def test_the_proposal_the_model_ranks_better_is_kept(served_first: bool) -> None:
    """Of two proposals the one with the lower objective is read, whichever comes first, and
    only that read counts as a solution."""
    p = problem([agent("A")], [visit("V1"), visit("V2")])
    m = line_matrix([0, 60, 120, 0])
    pre = presolve(p, m)
    build = build_model(p, m, pre, 0)
    monitor = _Monitor(build, len(p.visits), 0.0, None)
    build.routing.AddAtSolutionCallback(monitor)
    serve_both = {0: [build.node_visits.index(0), build.node_visits.index(1)]}
    serve_none: dict[int, list[int]] = {}
    proposals = [serve_both, serve_none] if served_first else [serve_none, serve_both]
    params = search_parameters(5.0, None)
    chosen, assignment = _read_best(build, params, proposals, monitor)
    assert proposals[chosen] is serve_both
    assert assignment is not None
    routing, manager = build.routing, build.manager
    assert all(assignment.Value(routing.ActiveVar(manager.NodeToIndex(n))) for n in (0, 1))
    assert monitor.solutions == 1


def test_only_days_with_breaks_get_a_proposal_on_the_folded_clock() -> None:
    """Without breaks there is nothing to fold: one proposal, on the plain clock."""
    p = generate(40, 4, seed=3, features=False)
    assert all(not a.breaks for a in p.agents)
    plan = solve(p, HaversineProvider().matrix(p.locations()), solution_limit=5)
    assert plan.solver["ils_iterations"] == ILS_ITERATIONS_WHEN_LIMITED
    assert plan.solver["warm_start_folded"] is False


def test_with_too_little_time_left_to_read_them_the_repaired_routes_are_the_plan(
    monkeypatch: pytest.MonkeyPatch, district: tuple[Problem, TravelMatrix]
) -> None:
    """Where reading the repaired routes (placing their breaks) would outlast the limit, the
    model does not read them and they stand as the plan, checker-clean. Without breaks, or with
    a solution limit, the model always reads."""
    p, m = district
    monkeypatch.setattr(search, "READ_S_PER_BUILD_S", 1e9)
    plain_day = generate(40, 4, seed=3, features=False)
    plain_matrix = HaversineProvider().matrix(plain_day.locations())
    assert solve(plain_day, plain_matrix, time_limit_s=2.0).solver["warm_start"] == "pyvrp-ils"
    plan = solve(p, m, time_limit_s=2.0)
    assert plan.solver["warm_start"] == "unread"
    assert plan.solver["status"] == "warm_start_only"
    assert plan.solver["solutions"] == 0
    assert check_plan(p, plan, m).ok
    assert len(plan.unassigned) < len(p.visits)
    limited = solve(p, m, time_limit_s=2.0, solution_limit=1)
    assert limited.solver["warm_start"] == "pyvrp-ils"
    assert limited.solver["solutions"] >= 1


def test_with_too_little_time_left_for_its_first_moves_the_plan_read_stands(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OR-Tools' first moves from a plan it has read overrun a short limit on large days, so
    with less time left than they take the plan read is the answer; with a solution limit the
    search runs whatever the clock."""
    p = generate(40, 4, seed=3, features=False)
    m = HaversineProvider().matrix(p.locations())
    monkeypatch.setattr(search, "POLISH_MIN_S_PER_VISIT", 1e9)
    plan = solve(p, m, time_limit_s=2.0)
    assert plan.solver["warm_start"] == "pyvrp-ils"
    assert plan.solver["status"] == "warm_start_only"
    assert plan.solver["solutions"] == 1
    assert plan.solver["objective"] > 0
    assert check_plan(p, plan, m).ok
    limited = solve(p, m, time_limit_s=2.0, solution_limit=5)
    assert limited.solver["status"] != "warm_start_only"
    assert limited.solver["solutions"] > 1


def test_a_proposal_short_of_its_required_visits_is_still_repaired() -> None:
    """Where every visit is required but not all can be served, the proposal has no feasible
    plan; repair still takes its routes and leaves out what does not fit, rather than the
    model starting from nothing in what is left of the limit."""
    p = over_booked(every_visit_required=True)
    m = HaversineProvider().matrix(p.locations())
    plan = solved(p, m)
    assert plan.solver["warm_start"] == "pyvrp-ils"
    assert plan.solver["warm_start_feasible"] is False
    assert 0 < len(plan.served_ids()) < len(p.visits)
    assert {u.reason for u in plan.unassigned} <= {Reason.CAPACITY_OR_TIME, Reason.NO_SKILLED_AGENT}
    # Without a proposal at all the fact says so.
    assert solve(p, m, time_limit_s=2.0, warm_start=False).solver["warm_start_feasible"] is None
