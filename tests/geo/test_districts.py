"""Punjab districts: lookup, populations, service-area checks and demand areas."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import shapely

from dispatch.errors import InputError
from dispatch.geo.areas import (
    DistrictArea,
    IslamabadArea,
    agents_for_visits,
    daily_visits,
)
from dispatch.geo.districts import (
    HEADQUARTERS,
    all_districts,
    district_names,
    district_of,
    districts_of,
    districts_of_lonlat,
    find_district,
    population,
)
from dispatch.geo.service_area import check_locations, check_service_area, islamabad_outline
from dispatch.model import Location
from tests.factories import agent, problem, visit

LAHORE_CENTRE = Location(31.5204, 74.3587)
MULTAN_CENTRE = Location(30.1575, 71.5249)
AMRITSAR = Location(31.6340, 74.8723)  # India, 25 km past the border
ARABIAN_SEA = Location(24.0, 65.0)
ISLAMABAD_F7 = Location(33.7205, 73.0560)


def test_there_are_36_districts_with_unique_names() -> None:
    """The 2023-census set has 36 Punjab districts, each named once."""
    names = district_names()
    assert len(names) == 36
    assert len(set(names)) == 36
    assert names == sorted(names)


def test_populations_add_up_to_punjab_total() -> None:
    """District populations sum to the PBS Punjab totals for 2023 and 2017."""
    assert sum(population(n) for n in district_names()) == 127_688_922
    assert sum(population(n, 2017) for n in district_names()) == 109_989_655


def test_population_of_lahore_by_year() -> None:
    """Lahore grew between censuses and is the largest district."""
    assert population("Lahore", 2017) < population("Lahore", 2023)
    assert max(district_names(), key=population) == "Lahore"


def test_population_rejects_a_year_without_census() -> None:
    """Asking for a year with no census names the year."""
    with pytest.raises(InputError, match="2020"):
        population("Lahore", 2020)


def test_find_district_ignores_case_and_spacing() -> None:
    """Names match whatever the case, spaces or hyphens."""
    assert find_district("  dera ghazi-KHAN ").name == "Dera Ghazi Khan"
    assert find_district("tobateksingh").name == "Toba Tek Singh"


def test_unknown_district_suggests_close_names() -> None:
    """A misspelt name raises an InputError naming the closest districts."""
    with pytest.raises(InputError) as caught:
        find_district("Lahor")
    assert "Lahore" in str(caught.value)
    assert caught.value.issues[0].where == "district"


def test_unknown_district_with_no_close_match_lists_all() -> None:
    """A name like nothing known lists every district."""
    with pytest.raises(InputError, match="Vehari"):
        find_district("Xyz")


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        (LAHORE_CENTRE, "Lahore"),
        (MULTAN_CENTRE, "Multan"),
        (Location(31.4180, 73.0790), "Faisalabad"),
        (AMRITSAR, None),
        (ARABIAN_SEA, None),
        (ISLAMABAD_F7, None),
        (Location(math.nan, 74.0), None),
    ],
)
def test_district_of_known_points(point: Location, expected: str | None) -> None:
    """City centres land in their district; India, the sea and Islamabad are not Punjab."""
    assert district_of(point) == expected


def test_every_headquarters_lies_in_its_district() -> None:
    """The hand-entered headquarters table agrees with the polygons."""
    assert set(HEADQUARTERS) == set(district_names())
    for district in all_districts():
        assert district_of(district.headquarters) == district.name


def test_vectorised_lookup_matches_single_lookups() -> None:
    """The batch lookup gives the same answer as one point at a time."""
    rng = np.random.default_rng(7)
    lon = rng.uniform(69.0, 76.0, 300)
    lat = rng.uniform(27.5, 34.5, 300)
    batch = districts_of_lonlat(lon, lat)
    points = [Location(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]
    singles = [district_of(p) for p in points]
    assert list(batch) == singles
    assert districts_of(points) == singles
    assert any(name is None for name in singles)
    assert sum(name is not None for name in singles) > 100


def test_check_service_area_accepts_punjab_and_islamabad() -> None:
    """By default points in Punjab or in the Islamabad Capital Territory pass."""
    p = problem(
        [agent("A1", start=ISLAMABAD_F7)],
        [visit("V1", location=LAHORE_CENTRE), visit("V2", location=MULTAN_CENTRE)],
    )
    assert check_service_area(p) == []


def test_check_service_area_names_each_bad_item_and_cause() -> None:
    """Swapped coordinates, India, the sea and missing coordinates each get their cause."""
    swapped = Location(LAHORE_CENTRE.lon, LAHORE_CENTRE.lat)
    p = problem(
        [agent("A1", start=LAHORE_CENTRE, end=Location(0.0, 0.0))],
        [
            visit("V1", location=LAHORE_CENTRE),
            visit("V2", location=swapped),
            visit("V3", location=AMRITSAR),
            visit("V4", location=ARABIAN_SEA),
        ],
    )
    issues = {i.where: i.message for i in check_service_area(p)}
    assert set(issues) == {
        "visits[1] (id 'V2').location",
        "visits[2] (id 'V3').location",
        "visits[3] (id 'V4').location",
        "agents[0] (id 'A1').end",
    }
    assert "swapped" in issues["visits[1] (id 'V2').location"]
    assert "outside Pakistan" in issues["visits[2] (id 'V3').location"]
    assert "Arabian Sea" in issues["visits[3] (id 'V4').location"]
    assert "missing" in issues["agents[0] (id 'A1').end"]


def test_check_for_one_district_names_the_neighbour() -> None:
    """Limited to Lahore, a point in Sheikhupura is reported as in Sheikhupura."""
    sheikhupura = HEADQUARTERS["Sheikhupura"]
    issues = check_locations(
        [("a", LAHORE_CENTRE), ("b", Location(sheikhupura[1], sheikhupura[2]))], "lahore"
    )
    assert [i.where for i in issues] == ["b"]
    assert "Sheikhupura" in issues[0].message
    assert "km outside Lahore" in issues[0].message


def test_margin_lets_points_just_across_the_edge_pass() -> None:
    """A point a few hundred metres outside a district passes with a 1 km margin only."""
    # Walk west from the centre of Lahore (towards Sheikhupura) to the district edge.
    inside_lon, outside_lon = LAHORE_CENTRE.lon, 74.0
    for _ in range(40):
        mid = (inside_lon + outside_lon) / 2
        if district_of(Location(LAHORE_CENTRE.lat, mid)) == "Lahore":
            inside_lon = mid
        else:
            outside_lon = mid
    just_out = Location(LAHORE_CENTRE.lat, outside_lon - 0.003)  # about 300 m further west
    assert district_of(just_out) == "Sheikhupura"
    assert check_locations([("x", just_out)], "Lahore", margin_km=1.0) == []
    assert len(check_locations([("x", just_out)], "Lahore", margin_km=0.0)) == 1


def test_islamabad_alone_rejects_lahore() -> None:
    """With the area set to Islamabad, a Lahore point is out and said to be in Lahore."""
    issues = check_locations([("x", LAHORE_CENTRE), ("y", ISLAMABAD_F7)], "ICT")
    assert [i.where for i in issues] == ["x"]
    assert "Lahore district" in issues[0].message


def test_unknown_area_name_is_an_input_error() -> None:
    """An unknown service-area name is reported like an unknown district."""
    with pytest.raises(InputError, match="did you mean"):
        check_locations([("x", LAHORE_CENTRE)], "Multaan")


def test_district_area_samples_stay_in_the_district() -> None:
    """Rural samples and town centres of a district all lie inside it."""
    area = DistrictArea("Multan")
    rural = area.sample_rural(np.random.default_rng(3), 500)
    assert len(rural) == 500
    assert set(districts_of(rural)) == {"Multan"}
    towns = area.town_centres()
    assert towns[0][0] == find_district("Multan").headquarters
    assert set(districts_of([c for c, _, _ in towns])) == {"Multan"}
    assert all(w > 0 and r > 0 for _, w, r in towns)


def test_district_area_towns_are_fixed_and_rural_is_seeded() -> None:
    """Towns depend only on the district; rural samples only on the seed."""
    a, b = DistrictArea("Kasur"), DistrictArea("kasur")
    assert a.town_centres() == b.town_centres()
    assert a.sample_rural(np.random.default_rng(1), 20) == b.sample_rural(
        np.random.default_rng(1), 20
    )
    assert a.sample_rural(np.random.default_rng(1), 20) != a.sample_rural(
        np.random.default_rng(2), 20
    )


def test_town_discs_leave_room_to_the_district_edge() -> None:
    """Every town's radius is at most half its distance to the edge (Jhelum sits on a river)."""
    for name in ("Jhelum", "Rawalpindi", "Lahore"):
        area = DistrictArea(name)
        boundary = area.geometry.boundary
        for centre, _, radius_km in area.town_centres():
            edge_deg = shapely.distance(shapely.Point(centre.lon, centre.lat), boundary)
            edge_km_upper = edge_deg * 111.2  # degrees of longitude are shorter: an upper bound
            assert radius_km <= edge_km_upper / 2 + 1e-6


def test_keep_inside_pulls_escaped_points_back() -> None:
    """Points thrown far from a town come back inside the district; inside points stay put."""
    area = DistrictArea("Lahore")
    assert area.keep_inside(LAHORE_CENTRE) == LAHORE_CENTRE
    for far in (AMRITSAR, Location(31.5204, 74.0), Location(30.0, 74.36)):
        assert district_of(area.keep_inside(far)) == "Lahore"


def test_daily_volume_scales_with_population() -> None:
    """Lahore books a few thousand visits a day, in proportion to its population."""
    lahore = daily_visits("Lahore")
    assert 1_000 <= lahore <= 5_000
    assert daily_visits("Lahore", 40.0) == pytest.approx(2 * lahore, abs=1)
    assert daily_visits("Hafizabad") < daily_visits("Multan") < lahore
    assert agents_for_visits(lahore, 12) * 12 >= lahore
    assert agents_for_visits(lahore, 12) * 12 < lahore + 12
    assert agents_for_visits(0) == 0
    assert daily_visits("Lahore") > daily_visits("ICT") > daily_visits("Hafizabad")


def test_islamabad_area_puts_demand_on_road_nodes() -> None:
    """Town centres and rural samples are road nodes of the extract, inside ICT."""
    nodes = [(73.05, 33.71), (73.06, 33.72), (73.03, 33.69), (72.99, 33.67)]
    area = IslamabadArea(nodes=nodes)
    node_set = {(lat, lon) for lon, lat in nodes}
    towns = area.town_centres()
    assert towns and all((c.lat, c.lon) in node_set for c, _, _ in towns)
    rural = area.sample_rural(np.random.default_rng(0), 50)
    assert all((p.lat, p.lon) in node_set for p in rural)
    snapped = area.keep_inside(Location(33.7101, 73.0499))
    assert (snapped.lat, snapped.lon) == (33.71, 73.05)
    assert all(shapely.intersects_xy(islamabad_outline(), lon, lat) for lon, lat in nodes)


def test_islamabad_area_from_a_network_keeps_nodes_inside_ict() -> None:
    """Built from network node arrays, only the nodes inside ICT carry demand."""

    class Nodes:
        node_lon = np.array([73.05, 73.06, 74.3587])  # the last is Lahore
        node_lat = np.array([33.71, 33.72, 31.5204])

    area = IslamabadArea.from_network(Nodes())
    assert len(area.nodes) == 2
    assert {district_of(p) for p in area.sample_rural(np.random.default_rng(0), 30)} == {None}


def test_islamabad_area_on_a_small_extract_uses_only_covered_markets() -> None:
    """Markets far from every node of a small extract are dropped, not snapped across town."""
    f7_nodes = [(73.0560, 33.7205), (73.0570, 33.7210), (73.0550, 33.7200)]
    towns = IslamabadArea(nodes=f7_nodes).town_centres()
    assert [(c.lat, c.lon) for c, _, _ in towns] == [(33.7205, 73.0560)]
    far_nodes = [(73.30, 33.60), (73.301, 33.601)]  # no market within reach
    towns = IslamabadArea(nodes=far_nodes).town_centres()
    assert len(towns) == 1
    assert (towns[0][0].lon, towns[0][0].lat) in {(x, y) for x, y in far_nodes}


def test_generated_district_day_lies_inside_the_district() -> None:
    """A generated Lahore day puts every visit and agent start inside Lahore."""
    from dispatch.synth import generate

    p = generate(300, 20, seed=5, area=DistrictArea("Lahore"))
    places = [v.location for v in p.visits] + [a.start for a in p.agents]
    assert set(districts_of(places)) == {"Lahore"}
    assert check_service_area(p, "Lahore", margin_km=0.0) == []


def test_generated_islamabad_day_lies_on_road_nodes() -> None:
    """With IslamabadArea every generated home is one of the road nodes (to 6 decimals)."""
    from dispatch.synth import generate

    rng = np.random.default_rng(9)
    nodes = np.column_stack([rng.uniform(73.00, 73.10, 200), rng.uniform(33.66, 33.72, 200)])
    p = generate(80, 5, seed=2, area=IslamabadArea(nodes=nodes))
    node_set = {(round(float(lat), 6), round(float(lon), 6)) for lon, lat in nodes}
    assert {(v.location.lat, v.location.lon) for v in p.visits} <= node_set


def _run_cli(argv: list[str]) -> tuple[int, str, str]:
    """Run the ``dispatch`` command in-process; return exit code, stdout and stderr."""
    import io as stdio

    from dispatch import cli

    out, err = stdio.StringIO(), stdio.StringIO()
    code = cli.main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_generate_sizes_a_district_day_by_population(tmp_path: Path) -> None:
    """generate --district without --visits books the population-scaled volume."""
    from dispatch import io

    path = tmp_path / "hafizabad.json"
    code, _, err = _run_cli(["generate", "--district", "Hafizabad", "-o", str(path)])
    assert code == 0, err
    problem = io.read_problem(path).problem
    assert len(problem.visits) == daily_visits("Hafizabad")
    assert len(problem.agents) == agents_for_visits(daily_visits("Hafizabad"))
    assert set(districts_of([v.location for v in problem.visits])) == {"Hafizabad"}


def test_cli_generate_needs_a_size_or_a_district(tmp_path: Path) -> None:
    """Without --visits/--agents and without --district, generate exits 2 and says why."""
    path = tmp_path / "p.json"
    code, _, err = _run_cli(["generate", "-o", str(path)])
    assert code == 2 and "--district" in err and not path.exists()


def test_cli_solve_rejects_points_outside_the_area(tmp_path: Path) -> None:
    """solve exits 2 naming a swapped visit; --no-area-check lets it through."""
    from dispatch import io

    swapped = Location(LAHORE_CENTRE.lon, LAHORE_CENTRE.lat)
    p = problem(
        [agent("A1", start=LAHORE_CENTRE)],
        [visit("V1", location=LAHORE_CENTRE), visit("V2", location=swapped)],
    )
    path, plan = tmp_path / "p.json", tmp_path / "plan.json"
    io.write_problem(p, path)
    fast = ["--solution-limit", "5", "--quiet"]
    code, _, err = _run_cli(["solve", str(path), "-o", str(plan), *fast])
    assert code == 2
    assert "visits[1] (id 'V2').location" in err and "swapped" in err
    assert not plan.exists()
    code, _, err = _run_cli(["solve", str(path), "-o", str(plan), "--no-area-check", *fast])
    assert code == 0, err
    assert plan.exists()
    code, _, err = _run_cli(["solve", str(path), "--area", "Multan", *fast])
    assert code == 2 and "outside Multan district" in err
