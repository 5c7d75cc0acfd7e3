"""Solomon instances: reading, the DIMACS matrix, known optima through the checker, generation."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from dispatch.check import check_plan
from dispatch.errors import InputError
from dispatch.geo.matrix import TravelMatrix
from dispatch.model import Problem
from dispatch.plan import Plan
from dispatch.solomon import (
    LAYOUTS,
    SERVICE_CODE,
    dimacs_distances,
    format_solomon,
    generate_instance,
    parse_solomon,
    plan_cost,
    plan_from_routes,
    plan_routes,
    read_routes,
    read_solomon,
    to_problem,
    write_solomon,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "solomon"


def bks_dimacs() -> dict[str, float]:
    with (DATA / "bks.csv").open(encoding="utf-8") as handle:
        return {row["instance"]: float(row["distance_dimacs"]) for row in csv.DictReader(handle)}


def bks_plan(name: str) -> tuple[Problem, TravelMatrix, Plan]:
    problem, matrix = to_problem(read_solomon(DATA / f"{name}.txt"))
    routes = read_routes(DATA / "bks_solutions" / "dimacs" / f"{name}.sol")
    plan = plan_from_routes(problem, matrix, [[str(c) for c in r] for r in routes])
    return problem, matrix, plan


def test_reader_parses_c101() -> None:
    """C101 has 100 customers, 25 vehicles of capacity 200, customer 1 at (45, 68)."""
    inst = read_solomon(DATA / "C101.txt")
    assert inst.name == "C101"
    assert inst.n_customers == 100
    assert (inst.vehicles, inst.capacity) == (25, 200)
    assert (inst.x[0], inst.y[0], inst.due[0]) == (40, 50, 1236)
    assert (inst.x[1], inst.y[1]) == (45, 68)
    assert (inst.demand[1], inst.ready[1], inst.due[1], inst.service[1]) == (10, 912, 967, 90)


def test_problem_mapping_scales_times_and_keeps_customer_ids() -> None:
    """Agents per vehicle at the depot, visits per customer with scaled windows and demand."""
    problem, matrix = to_problem(read_solomon(DATA / "C101.txt"))
    assert len(problem.agents) == 25 and len(problem.visits) == 100
    assert matrix.size == 100 + 2 * 25
    agent = problem.agents[0]
    assert (agent.shift.start_s, agent.shift.end_s) == (0, 12360)
    assert agent.capacities["load"] == 200
    first = problem.visits[0]
    assert first.id == "1" and first.required and first.service == SERVICE_CODE
    assert (first.windows[0].start_s, first.windows[0].end_s) == (9120, 9670)
    assert problem.visit_duration_s(first) == 900
    assert first.demand["load"] == 10
    assert problem.required_skills(first) == frozenset()
    # depot (40, 50) to customer 1 (45, 68): floor(10 * sqrt(25 + 324)) = floor(186.8...) = 186
    assert matrix.travel_s(problem.start_index(0), 0) == 186
    assert int(matrix.distance_m[0, problem.end_index(3)]) == 186


def test_dimacs_rounding_on_a_3_4_5_triangle() -> None:
    """Integer distances 3, 4, 5 become exactly 30, 40, 50 (no float truncation to 49)."""
    d = dimacs_distances([0, 3, 0], [0, 0, 4])
    assert d.dtype == np.int64
    assert d.tolist() == [[0, 30, 40], [30, 0, 50], [40, 50, 0]]


def test_dimacs_rounding_truncates_non_integer_distances() -> None:
    """sqrt(2) -> 14, sqrt(5) -> 22 and a non-integer coordinate case truncate, never round up."""
    d = dimacs_distances([0, 1, 1], [0, 1, 2])
    assert d[0, 1] == 14  # 14.142...
    assert d[0, 2] == 22  # 22.360...
    assert d[1, 2] == 10
    half = dimacs_distances([0.0, 0.5], [0.0, 0.5])
    assert half[0, 1] == math.floor(10 * math.hypot(0.5, 0.5)) == 7


def test_c101_optimum_checks_at_827_3() -> None:
    """The proven optimal C101 route set, timed forward, passes the checker at cost 827.3."""
    problem, matrix, plan = bks_plan("C101")
    report = check_plan(problem, plan, matrix)
    assert report.ok, report.summary()
    assert not plan.unassigned
    assert plan_cost(plan) == pytest.approx(827.3, abs=1e-9)
    assert plan_cost(plan) == pytest.approx(bks_dimacs()["C101"], abs=1e-9)
    assert len(plan.routes) == 10


@pytest.mark.parametrize("name", sorted(bks_dimacs()))
def test_every_optimum_checks_at_its_best_known_cost(name: str) -> None:
    """All 56 optimal route sets pass the checker at the bks.csv DIMACS value."""
    problem, matrix, plan = bks_plan(name)
    report = check_plan(problem, plan, matrix)
    assert report.ok, report.summary()
    assert plan_cost(plan) == pytest.approx(bks_dimacs()[name], abs=1e-9)


def test_plan_from_routes_leaves_unrouted_visits_unassigned() -> None:
    """Customers in no route come back unassigned; routes map back to customer numbers."""
    problem, matrix = to_problem(read_solomon(DATA / "C101.txt"))
    plan = plan_from_routes(problem, matrix, [["5", "3", "7"]])
    assert plan_routes(plan) == [[5, 3, 7]]
    assert len(plan.unassigned) == 97
    assert check_plan(problem, plan, matrix).ok


def test_plan_from_routes_rejects_unknown_visits() -> None:
    """A route naming a customer the instance lacks is an input error naming the route."""
    problem, matrix = to_problem(read_solomon(DATA / "C101.txt"))
    with pytest.raises(InputError, match=r"routes\[1\].*'101'"):
        plan_from_routes(problem, matrix, [["1"], ["101"]])


def test_reader_reports_bad_rows_by_line_and_field() -> None:
    """Bad numbers, short rows and excessive demand are all reported with line and column."""
    text = format_solomon(generate_instance(3, "R", 1, seed=0))
    lines = text.splitlines()
    assert lines[9].split()[0] == "0"  # the depot row; customers 1..3 follow
    lines[10] = "    1     10     10    999      0    100     10"  # demand above capacity
    lines[11] = "    2     10     10"  # short row
    lines[12] = "    3     ab     10     10      0    100     10"  # not a number
    with pytest.raises(InputError) as info:
        parse_solomon("\n".join(lines), "bad.txt")
    message = str(info.value)
    assert "bad.txt" in message
    assert "line 11 (customer 1).DEMAND" in message
    assert "line 12" in message and "7 numbers" in message
    assert "line 13" in message and "expected numbers" in message


def test_reader_reports_missing_vehicle_section() -> None:
    """A file without the VEHICLE line is an input error, not a traceback."""
    with pytest.raises(InputError, match="VEHICLE"):
        parse_solomon("X\nCUSTOMER\n0 0 0 0 0 100 0\n1 1 1 1 0 100 1\n")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("horizon_type", [1, 2])
def test_generated_instances_reread_and_are_reachable(layout: str, horizon_type: int) -> None:
    """Written instances parse back identically, and every window is reachable and returnable."""
    inst = generate_instance(150, layout, horizon_type, seed=7)
    again = parse_solomon(format_solomon(inst))
    for name in ("x", "y", "demand", "ready", "due", "service"):
        assert np.array_equal(getattr(again, name), getattr(inst, name)), name
    assert (again.vehicles, again.capacity, again.name) == (inst.vehicles, inst.capacity, inst.name)
    problem, matrix = to_problem(again)
    depot_out, depot_back = problem.start_index(0), problem.end_index(0)
    close_s = problem.agents[0].shift.end_s
    for pos, visit in enumerate(problem.visits):
        window = visit.windows[0]
        begin_s = max(matrix.travel_s(depot_out, pos), window.start_s)
        assert begin_s <= window.end_s, visit.id
        back_s = begin_s + problem.visit_duration_s(visit) + matrix.travel_s(pos, depot_back)
        assert back_s <= close_s, visit.id
        assert 0 < visit.demand["load"] <= again.capacity


def test_generator_handles_homberger_sizes() -> None:
    """A 1000-customer instance comes with a fleet and horizon that fit one engine day."""
    inst = generate_instance(1000, "RC", 1, seed=3)
    assert inst.n_customers == 1000
    assert inst.vehicles >= 250
    problem, matrix = to_problem(inst)
    assert matrix.size == 1000 + 2 * inst.vehicles
    assert problem.agents[0].shift.end_s <= 24 * 3600


def test_same_seed_gives_the_same_file(tmp_path: Path) -> None:
    """Generation is deterministic per seed and differs across seeds."""
    paths = [tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"]
    write_solomon(generate_instance(60, "C", 2, seed=11), paths[0])
    write_solomon(generate_instance(60, "C", 2, seed=11), paths[1])
    write_solomon(generate_instance(60, "C", 2, seed=12), paths[2])
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()
    assert read_solomon(paths[0]).n_customers == 60


def test_generator_rejects_bad_arguments() -> None:
    """Unknown layouts and horizon types are refused with a message naming the argument."""
    with pytest.raises(ValueError, match="layout"):
        generate_instance(10, "X")
    with pytest.raises(ValueError, match="horizon_type"):
        generate_instance(10, "R", 3)


def test_matrix_matches_pyvrp_dimacs_rounding() -> None:
    """Our integer matrix equals vrplib's Solomon parse under PyVRP's own dimacs rounding."""
    vrplib = pytest.importorskip("vrplib")
    pyvrp_read = pytest.importorskip("pyvrp.read")
    for name in ("C101", "R208", "RC105"):
        parsed = vrplib.read_instance(str(DATA / f"{name}.txt"), instance_format="solomon")
        theirs = pyvrp_read.ROUND_FUNCS["dimacs"](parsed["edge_weight"])
        inst = read_solomon(DATA / f"{name}.txt")
        assert np.array_equal(dimacs_distances(inst.x, inst.y), theirs), name


def test_engine_serves_a_generated_instance_deterministically() -> None:
    """The engine serves all customers of a small generated instance; same seed, same plan."""
    from dispatch.solver import solve

    problem, matrix = to_problem(generate_instance(25, "RC", 1, seed=5))
    plans = [solve(problem, matrix, time_limit_s=30.0, seed=0, solution_limit=50) for _ in range(2)]
    report = check_plan(problem, plans[0], matrix)
    assert report.ok, report.summary()
    assert not plans[0].unassigned
    assert sorted(int(v) for v in plans[0].served_ids()) == list(range(1, 26))
    assert plan_routes(plans[0]) == plan_routes(plans[1])
