"""The PyVRP proposal phase: its settings, the clock it plans on and its search history."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest
import pyvrp
from pyvrp.search import NeighbourhoodParams, PerturbationParams

from dispatch.geo.matrix import HaversineProvider
from dispatch.model import Break, Location, Priority, Problem, can_serve
from dispatch.solomon import read_solomon, to_problem
from dispatch.solver import granular, ils
from dispatch.solver.ils import (
    MAX_PERTURBATIONS_INEXACT,
    MIN_HISTORY,
    NUM_NEIGHBOURS_INEXACT,
    PENALTY_UPDATE_ITERATIONS,
    PYVRP_HISTORY,
    SCARCE_RESERVE_S,
    LunchFold,
    history_length,
    ils_is_exact,
    ils_prizes,
    ils_routes,
    keeps_pyvrp_settings,
    lunch_fold,
    neighbourhood_params,
    penalty_params,
    perturbation_params,
    scarce_candidates,
)
from dispatch.solver.presolve import presolve
from dispatch.solver.search import solve
from dispatch.solver.slots import proposal_slots
from dispatch.synth import generate
from tests.factories import ORIGIN, agent, hm, problem, visit, window
from tests.solver.helpers import SolveCall, over_booked, solve_calls
from tests.test_solomon import DATA as SOLOMON


def three_days() -> tuple[Problem, Problem, Problem]:
    """A field day, the same day without field rules, and that one with every visit required
    (plain VRPTW, as a Solomon instance)."""
    field_day = generate(40, 4, seed=3)
    plain_day = generate(40, 4, seed=3, features=False)
    required = tuple(dataclasses.replace(v, required=True) for v in plain_day.visits)
    return field_day, plain_day, dataclasses.replace(plain_day, visits=required)


def params_given(
    monkeypatch: pytest.MonkeyPatch, days: tuple[Problem, ...]
) -> list[pyvrp.SolveParams]:
    """The settings PyVRP is first given when the proposal runs on each of ``days`` (5
    iterations)."""
    calls = solve_calls(monkeypatch)
    firsts = []
    for p in days:
        m = HaversineProvider().matrix(p.locations())
        pre = presolve(p, m)
        prizes = ils_prizes(p, pre.candidates)
        firsts.append(len(calls))
        ils_routes(p, m, pre.candidates, pre.allowed, prizes, time_limit_s=5.0, max_iterations=5)
    return [calls[k].params for k in firsts]


def test_only_plain_vrptw_keeps_pyvrps_perturbation_steps() -> None:
    field_day, plain_day, vrptw = three_days()
    assert not ils_is_exact(field_day)
    assert ils_is_exact(plain_day) and ils_is_exact(vrptw)
    assert [keeps_pyvrp_settings(p) for p in (field_day, plain_day, vrptw)] == [False, False, True]
    default_max = PerturbationParams().max_perturbations
    assert default_max > MAX_PERTURBATIONS_INEXACT
    assert perturbation_params(field_day).max_perturbations == MAX_PERTURBATIONS_INEXACT
    assert perturbation_params(plain_day).max_perturbations == MAX_PERTURBATIONS_INEXACT
    assert perturbation_params(vrptw).max_perturbations == default_max


def test_penalties_update_faster_where_a_known_day_may_leave_visits_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    days = three_days()
    default = pyvrp.PenaltyParams().solutions_between_updates
    assert default > PENALTY_UPDATE_ITERATIONS
    seen = [params.penalty.solutions_between_updates for params in params_given(monkeypatch, days)]
    assert seen == [default, PENALTY_UPDATE_ITERATIONS, default]
    assert [penalty_params(p).solutions_between_updates for p in days] == seen


def test_only_plain_vrptw_keeps_pyvrps_neighbourhood(monkeypatch: pytest.MonkeyPatch) -> None:
    days = three_days()
    default = NeighbourhoodParams().num_neighbours
    assert default < NUM_NEIGHBOURS_INEXACT
    seen = [params.neighbourhood.num_neighbours for params in params_given(monkeypatch, days)]
    assert seen == [NUM_NEIGHBOURS_INEXACT, NUM_NEIGHBOURS_INEXACT, default]
    assert [neighbourhood_params(p).num_neighbours for p in days] == seen
    # Only the number of neighbours changes.
    field = neighbourhood_params(days[0])
    assert field.weight_wait_time == NeighbourhoodParams().weight_wait_time
    assert field.symmetric_proximity == NeighbourhoodParams().symmetric_proximity


def test_visits_at_one_address_widen_the_neighbourhood(monkeypatch: pytest.MonkeyPatch) -> None:
    """Visits at one address are each other's nearest: the neighbourhood grows by the most
    visits at one address, less one, so that each still has as many others within reach."""
    days = three_days()
    home = days[0].visits[0].location

    def twelve_at_one_address(p: Problem) -> Problem:
        moved = [dataclasses.replace(v, location=home) for v in p.visits[:12]]
        return dataclasses.replace(p, visits=(*moved, *p.visits[12:]))

    crowded = tuple(twelve_at_one_address(p) for p in days)
    before = [neighbourhood_params(p).num_neighbours for p in days]
    assert [neighbourhood_params(p).num_neighbours for p in crowded] == [n + 11 for n in before]
    seen = [params.neighbourhood.num_neighbours for params in params_given(monkeypatch, crowded)]
    assert seen == [n + 11 for n in before]


def test_lunch_fold_cuts_the_break_most_agents_owe_out_of_the_clock() -> None:
    lunch = Break("lunch", 1800, window("13:00", "14:00"))
    tea = Break("tea", 900, window("10:00", "10:30"))
    late = Break("evening", 600, window("19:00", "19:30"))  # after the shift: never in play
    p = problem(
        [
            agent("A", breaks=(lunch, tea)),
            agent("B", breaks=(lunch,)),
            agent("C", breaks=(lunch, late)),
            agent("D", breaks=(tea,)),
        ],
        [visit("V1")],
    )
    fold = lunch_fold(p)
    assert fold == LunchFold(hm("13:00"), 1800, hm("14:00"))
    assert fold.time_s(hm("12:00")) == hm("12:00")
    assert fold.time_s(hm("13:00")) == hm("13:00")
    assert fold.time_s(hm("13:20")) == hm("13:00")  # inside the break: collapsed onto its start
    assert fold.time_s(hm("15:00")) == hm("14:30")
    assert lunch_fold(problem([agent("A", breaks=(late,)), agent("B")], [visit("V1")])) is None


def test_history_is_shorter_where_each_visit_gets_fewer_iterations() -> None:
    assert pyvrp.IteratedLocalSearchParams().history_length == PYVRP_HISTORY
    small_day = history_length(100, 22.5)
    district_day = history_length(300, 22.5)
    large_day = history_length(1000, 45.0)
    assert small_day == PYVRP_HISTORY
    assert MIN_HISTORY <= large_day < district_day <= PYVRP_HISTORY
    assert history_length(1000, 22.5) <= large_day
    assert history_length(5000, 0.5) == MIN_HISTORY
    assert history_length(1000, 45.0, plain=True) == PYVRP_HISTORY


def test_history_of_an_iteration_capped_search_does_not_depend_on_its_time() -> None:
    assert history_length(100, 10.0, 500) == history_length(100, 1000.0, 500)
    assert history_length(100, 10.0, 500) < history_length(100, 10.0)


def test_the_proposal_searches_with_that_history(monkeypatch: pytest.MonkeyPatch) -> None:
    p = generate(30, 3, seed=1, offices=False)  # one search each (see dispatch.solver.calls)
    m = HaversineProvider().matrix(p.locations())
    pre = presolve(p, m)
    prizes = ils_prizes(p, pre.candidates)
    calls = solve_calls(monkeypatch)
    ils_routes(p, m, pre.candidates, pre.allowed, prizes, time_limit_s=5.0, max_iterations=50)
    ils_routes(p, m, pre.candidates, pre.allowed, prizes, time_limit_s=1.0)
    n = len(pre.candidates)
    seen = [call.params.ils.history_length for call in calls]
    assert seen == [history_length(n, 5.0, 50), PYVRP_HISTORY]
    assert seen[0] < seen[1]


def test_the_proposals_time_counts_pyvrps_set_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """PyVRP builds its neighbourhoods and a first solution before its first iteration (1.4 s
    on a 1000-visit day); the proposal's limit counts that time too, so a set-up that outlasts
    the limit leaves no iteration, and the time after the proposal stays repair's."""
    p = generate(30, 3, seed=1, offices=False)
    m = HaversineProvider().matrix(p.locations())
    pre = presolve(p, m)
    prizes = ils_prizes(p, pre.candidates)
    first_checks: list[bool] = []
    real_solve = granular.solve

    def slow_set_up(data: pyvrp.ProblemData, stop: Any, **kwargs: Any) -> pyvrp.Result:
        time.sleep(0.3)
        first_checks.append(stop(0.0))
        return real_solve(data, stop, **kwargs)

    monkeypatch.setattr(granular, "solve", slow_set_up)
    routes = ils_routes(p, m, pre.candidates, pre.allowed, prizes, time_limit_s=0.2)
    assert first_checks == [True]
    assert routes is not None and routes.iterations == 0


def test_too_many_skill_sets_still_get_a_proposal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where a matrix per skill set would not fit in memory, the proposal runs with one per
    speed instead of declining, each skill a load an agent without it has no room for: the
    visits it proposes go to skilled agents. Repair gives a pinned visit proposed to another
    agent to its own."""
    p = generate(60, 6, seed=1, offices=False)
    m = HaversineProvider().matrix(p.locations())
    pre = presolve(p, m)
    prizes = ils_prizes(p, pre.candidates)
    calls = solve_calls(monkeypatch)

    def propose() -> ils.IlsRoutes | None:
        return ils_routes(
            p, m, pre.candidates, pre.allowed, prizes, time_limit_s=5.0, max_iterations=20
        )

    exact = propose()
    locations = len(pre.candidates) + 2 * len(p.agents)
    monkeypatch.setattr(ils, "MAX_PROFILE_BYTES", locations * locations * 16)
    coarse = propose()
    assert exact is not None and coarse is not None
    profiles = [call.data.num_profiles for call in calls]
    assert profiles[0] > 1
    assert profiles[1] == len({a.speed_factor for a in p.agents})
    proposed = [(a, v) for a, route in coarse.routes.items() for v in route]
    assert len(proposed) > len(p.visits) // 2
    unskilled = [
        (a, v) for a, v in proposed if not can_serve(p.agents[a], p.required_skills(p.visits[v]))
    ]
    assert unskilled == []
    # the day is one where skills matter: most agents lack a skill some visit needs
    needs = [p.required_skills(p.visits[v]) for v in pre.candidates]
    assert sum(any(not can_serve(a, n) for n in needs) for a in p.agents) > len(p.agents) // 2


def test_a_proposal_too_short_for_a_matrix_per_skill_set_takes_skills_as_loads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The matrices per skill set cost set-up time before the first iteration: within the
    bytes a second of the proposal pays for (PROFILE_BYTES_PER_PROPOSAL_S) a solve keeps them,
    past it skills are loads. The choice rests on the limit, not the clock."""
    p = generate(60, 6, seed=1, offices=False)  # no office documents among the loads
    m = HaversineProvider().matrix(p.locations())
    calls = solve_calls(monkeypatch)

    def profiles_used(time_limit_s: float) -> set[tuple[int, int]]:
        first = len(calls)
        solve(p, m, time_limit_s=time_limit_s, solution_limit=5)
        return {(c.data.num_profiles, c.data.num_load_dimensions) for c in calls[first:]}

    ((sets, dims),) = profiles_used(20.0)
    assert sets > 1 and dims == 0
    set_bytes = sets * calls[0].data.num_locations ** 2 * 16
    monkeypatch.setattr(ils, "PROFILE_BYTES_PER_PROPOSAL_S", set_bytes // 5)
    # a 1-s field day proposes for 0.75 s, which pays for 15% of those bytes; 20 s for 300%
    ((speeds, skill_dims),) = profiles_used(1.0)
    assert speeds == len({a.speed_factor for a in p.agents})
    assert skill_dims == len({s for v in p.visits for s in p.required_skills(v)})
    assert profiles_used(20.0) == {(sets, 0)}


def test_budget_for_a_matrix_per_skill_set_grows_with_the_proposal_up_to_memory() -> None:
    field_day, plain_day, _ = three_days()
    assert ils.profile_budget_bytes(field_day, 2.0) == 2 * ils.PROFILE_BYTES_PER_PROPOSAL_S
    assert ils.profile_budget_bytes(plain_day, 2.0) == 2 * ils.PROFILE_BYTES_PER_PROPOSAL_S_EXACT
    assert ils.profile_budget_bytes(field_day, 1e6) == ils.MAX_PROFILE_BYTES


def test_skills_as_loads_outweigh_every_prize() -> None:
    """At PyVRP's highest penalty a visit on an agent without its skill costs more than the
    largest prize the proposal pays, so no prize buys it."""
    visits = [visit("r", priority=Priority.URGENT, required=True), visit("n")]
    prizes = ils_prizes(problem([agent("a")], visits), [0, 1])
    assert prizes == [ils.TOP_PRIZE_S, ils.PRIZE_BASE_S]
    assert ils.SKILL_LOAD * pyvrp.PenaltyParams().max_penalty > ils.TOP_PRIZE_S


def pinned_day() -> ils._Adapter:
    """Six agents at one depot; one visit pinned to agent a0 (the only one who may serve it,
    a sixth of the agents), three any agent may take: the proposal's adapter for that day."""
    agents = [agent(f"a{i}") for i in range(6)]
    visits = [visit("pinned", required_agent="a0")] + [visit(f"v{i}") for i in range(3)]
    p = problem(agents, visits)
    m = HaversineProvider().matrix(p.locations())
    pre = presolve(p, m)
    adapter = ils._build(
        p, m, pre.candidates, pre.allowed, ils_prizes(p, pre.candidates), fold=None
    )
    assert adapter is not None
    return adapter


def test_a_visit_a_sixth_of_the_agents_may_serve_is_scarce() -> None:
    allowed = [[0], [0, 1], list(range(6)), list(range(12))]
    assert scarce_candidates(allowed, [0, 1, 2, 3], agents=6) == {0}
    assert scarce_candidates(allowed, [0, 1, 2, 3], agents=12) == {0, 1}
    assert scarce_candidates(allowed, [1, 3], agents=12) == {0}  # indices into candidates


def test_the_agent_who_may_serve_a_scarce_visit_pays_a_reserve_for_the_others() -> None:
    """a0's cost matrix charges SCARCE_RESERVE_S on the ride into every other visit but not
    into the pinned one; its clock, and every other agent's costs, are plain travel."""
    adapter = pinned_day()
    data = adapter.data
    depots = data.num_depots
    pinned = depots + adapter.client_visit.index(0)
    others = [depots + c for c, v in enumerate(adapter.client_visit) if v != 0]
    a0_profile = data.vehicle_type(
        next(t for t, ags in enumerate(adapter.type_agents) if 0 in ags)
    ).profile
    assert data.num_profiles == 2
    for profile in range(data.num_profiles):
        cost = data.distance_matrix(profile)
        clock = data.duration_matrix(profile)
        extra = cost - clock
        if profile == a0_profile:
            assert (extra[:, others] == SCARCE_RESERVE_S).sum() == len(others) * (
                data.num_locations - 1
            )
            assert (extra[:, pinned] == 0).all()
            assert (extra[:, :depots] == 0).all()
        else:
            assert (extra == 0).all()
        assert (cost.diagonal() == 0).all()


def test_without_a_matrix_per_skill_set_there_is_no_reserve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where every agent may take every visit in the proposal (too many skill sets to hold a
    matrix each), a reserve would charge every agent alike: the costs are the travel."""
    locations = 4 + 1  # the four visits and the one depot all six agents share
    monkeypatch.setattr(ils, "MAX_PROFILE_BYTES", locations * locations * 16)
    data = pinned_day().data
    assert data.num_profiles == 1
    assert (data.distance_matrix(0) == data.duration_matrix(0)).all()


def test_the_proposals_reported_objective_leaves_the_reserve_out() -> None:
    """The objective passed on from a new best is travel plus what the full model charges for
    each visit left out, not the proposal's cost with the reserve or its prizes."""
    adapter = pinned_day()
    data = adapter.data
    a0_type = next(t for t, ags in enumerate(adapter.type_agents) if 0 in ags)
    common = [c for c, v in enumerate(adapter.client_visit) if v != 0]
    best = pyvrp.Solution(data, [pyvrp.Route(data, common, a0_type)])
    reported: list[tuple[int, int]] = []
    drop_costs_s = {0: 1000, 1: 7, 2: 7, 3: 7}  # only the pinned visit (position 0) is out
    ils._BestWatcher(
        lambda objective, served: reported.append((objective, served)),
        adapter.client_visit,
        drop_costs_s,
    ).on_best(best)
    travel_s = best.routes()[0].travel_duration()
    assert best.distance() == travel_s + SCARCE_RESERVE_S * len(common)
    assert reported == [(travel_s + 1000, len(common))]


def test_the_reserve_is_dropped_only_where_each_visit_gets_enough_iterations() -> None:
    enough = ils.POLISH_MIN_ITERATIONS_PER_CLIENT
    assert ils.polishes(300, 28.5, None)  # a 300-visit day at 30 s
    assert not ils.polishes(1000, 28.5, None)  # a 1000-visit day at 30 s
    assert ils.polishes(12, 1000.0, enough * 12)
    assert not ils.polishes(12, 1000.0, enough * 12 - 1)
    assert not ils.polishes(12, 0.01, enough * 12)


def spread_pinned_day(slots: int = 1, breaks: tuple[Break, ...] = ()) -> Problem:
    """Six agents at one depot, owing ``breaks``; two visits pinned to a0 (a sixth of the
    agents), ten any agent may take, the first of them with one booked slot or two; all a few
    kilometres apart."""
    agents = [agent(f"a{i}", breaks=breaks) for i in range(6)]

    def at(i: int) -> Location:
        return Location(ORIGIN.lat + 0.01 * (i % 4), ORIGIN.lon + 0.01 * (i // 4))

    booked = [("08:00", "18:00")] if slots == 1 else [("08:00", "12:00"), ("13:00", "18:00")]
    visits = [visit(f"p{i}", required_agent="a0", location=at(i)) for i in range(2)]
    visits += [visit("v0", windows=booked, location=at(2))]
    visits += [visit(f"v{i}", location=at(i + 2)) for i in range(1, 10)]
    return problem(agents, visits)


def polish_calls(
    monkeypatch: pytest.MonkeyPatch, p: Problem, max_iterations: int, late_s: float = 0.0
) -> tuple[list[SolveCall], ils.IlsRoutes]:
    """The proposal on ``p`` with ``max_iterations``: each PyVRP solve (see
    :func:`solve_calls`) and the routes proposed."""
    calls = solve_calls(monkeypatch, late_s)
    m = HaversineProvider().matrix(p.locations())
    pre = presolve(p, m)
    prizes = ils_prizes(p, pre.candidates)
    routes = ils_routes(
        p, m, pre.candidates, pre.allowed, prizes, time_limit_s=60.0, max_iterations=max_iterations
    )
    assert routes is not None
    return calls, routes


def test_the_proposal_goes_on_without_the_reserve_keeping_what_it_serves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once the reserve has had its share, the search goes on from its best on the travel
    alone, every visit served so far required, and its iterations still add up to the cap."""
    p = spread_pinned_day()
    calls, routes = polish_calls(monkeypatch, p, max_iterations=1000)
    assert len(calls) == 2
    (first, _, none, _), (data, _, start, _) = calls
    assert none is None and start is not None
    assert any((first.distance_matrix(q) != first.duration_matrix(q)).any() for q in range(2))
    served = {c for r in start.routes() for c in ils._clients_of(r)}
    assert len(served) == len(p.visits)  # every visit fits, so no reserve is left
    for q in range(data.num_profiles):
        assert (data.distance_matrix(q) == data.duration_matrix(q)).all()
    assert {c for c in range(data.num_clients) if data.client(c).required} == served
    assert sum(len(r) for r in routes.routes.values()) == len(p.visits)
    assert routes.iterations == 1000
    # The same input and seed, capped by iterations, plan the same way, however long the
    # first part took against the second.
    again = polish_calls(monkeypatch, p, max_iterations=1000, late_s=1.0)[1]
    assert again.routes == routes.routes and again.iterations == 1000


def test_without_enough_iterations_the_reserve_stays_to_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls, routes = polish_calls(monkeypatch, spread_pinned_day(), max_iterations=100)
    assert len(calls) == 1
    assert routes.iterations <= 100


def test_where_repair_must_fit_breaks_the_reserve_stays_to_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lunch = Break("lunch", 1800, window("13:00", "14:00"))
    p = spread_pinned_day(breaks=(lunch,))
    assert not ils_is_exact(p)
    calls, routes = polish_calls(monkeypatch, p, max_iterations=1000)
    assert len(calls) == 1
    assert routes.iterations == 1000


def test_going_on_keeps_the_reserve_while_a_scarce_visit_is_left_out() -> None:
    """Only a profile that may serve a scarce visit the best leaves out keeps its reserve; a
    visit of several slots is kept through its group."""
    p = spread_pinned_day(slots=2)
    m = HaversineProvider().matrix(p.locations())
    pre = presolve(p, m)
    adapter = ils._build(
        p, m, pre.candidates, pre.allowed, ils_prizes(p, pre.candidates), fold=None
    )
    assert adapter is not None
    data = adapter.data
    visit_of = [p.visits[v].id for v in adapter.client_visit]
    slots = [c for c, v in enumerate(visit_of) if v == "v0"]
    commons = [c for c, v in enumerate(visit_of) if v.startswith("v") and v != "v0"]
    pinned = [c for c, v in enumerate(visit_of) if v.startswith("p")]
    a0_type = next(t for t, ags in enumerate(adapter.type_agents) if 0 in ags)
    a0_profile = data.vehicle_type(a0_type).profile
    other_type = next(t for t, ags in enumerate(adapter.type_agents) if 0 not in ags)

    def going_on(a0_clients: list[int]) -> pyvrp.ProblemData:
        best = pyvrp.Solution(
            data,
            [
                pyvrp.Route(data, a0_clients, a0_type),
                pyvrp.Route(data, [slots[0], *commons], other_type),
            ],
        )
        return ils._polish_data(adapter, best)

    left_out = going_on(pinned[:1])
    reserved = [
        q
        for q in range(left_out.num_profiles)
        if (left_out.distance_matrix(q) != left_out.duration_matrix(q)).any()
    ]
    assert reserved == [a0_profile]
    required = {c for c in range(left_out.num_clients) if left_out.client(c).required}
    assert required == {pinned[0], *commons}
    g = left_out.client(slots[0]).group
    assert g is not None and data.client(slots[0]).group == g
    assert left_out.group(g).required and sorted(left_out.group(g).clients) == slots
    assert not data.group(g).required

    all_in = going_on(pinned)
    for q in range(all_in.num_profiles):
        assert (all_in.distance_matrix(q) == all_in.duration_matrix(q)).all()


def test_solomon_days_have_no_scarce_visit() -> None:
    """Every vehicle of a Solomon file may serve every customer, so the reserve never applies
    and the proposal's costs there are the DIMACS distances."""
    p, m = to_problem(read_solomon(SOLOMON / "C101.txt"))
    pre = presolve(p, m)
    assert len(pre.candidates) == 100
    assert not scarce_candidates(pre.allowed, pre.candidates, len(p.agents))


def test_required_visits_are_hard_in_the_proposal_only_on_plain_vrptw() -> None:
    """Where some visits may be left out, a required one gets the top prize instead, so
    that required visits that cannot all be served do not make the whole proposal
    infeasible."""
    for every in (False, True):
        p = over_booked(every)
        m = HaversineProvider().matrix(p.locations())
        pre = presolve(p, m)
        prizes = ils_prizes(p, pre.candidates)
        required = [prizes[k] for k, v in enumerate(pre.candidates) if p.visits[v].required]
        optional = [prizes[k] for k, v in enumerate(pre.candidates) if not p.visits[v].required]
        assert ils_is_exact(p) and keeps_pyvrp_settings(p) == every
        if every:
            assert required and all(prize is None for prize in required)
        else:
            top = [prize for prize in required if prize is not None]
            assert required and len(top) == len(required)
            assert all(prize is not None and prize < min(top) for prize in optional)
        routes = ils_routes(
            p, m, pre.candidates, pre.allowed, prizes, time_limit_s=10.0, max_iterations=200
        )
        assert routes is not None
        # Hard required visits that cannot all be served leave no feasible proposal; with
        # prizes the two agents serve what they can.
        assert routes.feasible == (not every)
        if not every:
            served = {v for r in routes.routes.values() for v in r}
            assert len(served) < len(pre.candidates)
            assert any(p.visits[v].required for v in served)


def test_past_the_group_budget_the_proposal_offers_one_slot_per_visit() -> None:
    """Where most visits have several slots, only the budget's visits stay groups; the
    others are one client in the slot ``slots.proposal_slots`` chose."""
    p = generate(60, 4, 0, features=False)
    slots = (window("09:00", "11:00"), window("13:00", "15:00"), window("15:00", "17:00"))
    p = dataclasses.replace(
        p, visits=tuple(dataclasses.replace(v, windows=slots) for v in p.visits)
    )
    m = HaversineProvider().matrix(p.locations())
    pre = presolve(p, m)
    chosen = proposal_slots(p, pre.candidates)
    assert 0 < len(chosen) < len(pre.candidates)
    adapter = ils._build(
        p, m, pre.candidates, pre.allowed, ils_prizes(p, pre.candidates), fold=None
    )
    assert adapter is not None
    data = adapter.data
    assert data.num_groups == len(pre.candidates) - len(chosen)
    for c, v in enumerate(adapter.client_visit):
        client = data.client(c)
        if v in chosen:
            assert client.group is None
            assert (client.tw_early, client.tw_late) == (chosen[v].start_s, chosen[v].end_s)
        else:
            assert client.group is not None


def test_where_every_visit_is_hard_the_proposal_keeps_whole_windows() -> None:
    """C102's wide windows would be cut to slices elsewhere; all its visits are required and
    hard, so the proposal offers each its whole window."""
    p, m = to_problem(read_solomon(SOLOMON / "C102.txt"))
    candidates = list(range(len(p.visits)))
    assert keeps_pyvrp_settings(p) and proposal_slots(p, candidates)
    allowed = [list(range(len(p.agents)))] * len(p.visits)
    adapter = ils._build(p, m, candidates, allowed, ils_prizes(p, candidates), fold=None)
    assert adapter is not None
    for c, v in enumerate(adapter.client_visit):
        booked = p.visits[v].windows[0]
        client = adapter.data.client(c)
        assert (client.tw_early, client.tw_late) == (booked.start_s, booked.end_s)
