"""One call per office on a route in the proposal, once it knows which routes deliver.

The proposal's travel makes the ride into a delivery pass by its office unless it comes from
another delivery of that office (``ils._via_offices``), so it charges a call for every run of
deliveries. The full model calls once and then delivers anywhere later on the route, and plans
like that are out of the proposal's reach: they cost it a call per run. Which office a route
calls at is only known once the proposal has routes, so after part of its time each route
that delivers is given the office it delivers most for, as a PyVRP reload depot: that office's
documents are a load the agent starts the day full of, which only the call empties, and its
deliveries ride direct. The search goes on from its best with the call placed before the
route's first delivery of that office, where the old travel already paid for it.

The matrices PyVRP copies when its problem changes cost time (about 4 ns a byte: 5.7 s on a
1000-visit field day with 69 skill sets), so routes are only given their office where that
copy is small against the proposal, and on days of at most :data:`MAX_DESIGNATED_VISITS`
(:func:`designates`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyvrp

from dispatch.geo.matrix import agent_travel_matrix_s

# The proposal's matrices PyVRP may copy per second of the proposal for routes to get their
# office: at about 4 ns a byte, this keeps the copy near 5% of the proposal's time.
REBUILD_BYTES_PER_PROPOSAL_S = 12_000_000
# The share of the proposal's time and iterations before routes get their office. At 300
# visits and 30 s (seeds 0-3) a switch at 30% served and rode within the spread of runs at
# half; a second round at three quarters lost 5 visits over 100-visit days at 5 s.
DESIGNATE_AFTER_SHARE = 0.5
# 1000-visit field days did not gain (benchmarks/README.md, "One office call per route"): at
# 30 s, with the copy taking 5.7-7.1 s, better by the objective on 2 seeds of 4; at 120 s on
# neither of 2 (998/92.4 against 999/93.4, 998/97.1 against 998/93.3). 500-visit days at 30 s
# did: 1935 served against 1927 over seeds 0-3.
MAX_DESIGNATED_VISITS = 600


@dataclass(frozen=True, slots=True)
class CallLayout:
    """Where the proposal's problem keeps what routes need to call at an office.

    ``direct`` holds the rides between the proposal's locations without the office detour,
    ``deliveries`` the location of each office's deliveries (by office position), ``depots``
    the PyVRP depot at each office and ``dimensions`` the load dimension of its documents;
    ``speeds`` is each profile's speed factor, ``unreachable_s`` the ride that forbids an arc.
    """

    direct: npt.NDArray[np.int64]
    deliveries: Mapping[int, Sequence[int]]
    depots: Mapping[int, int]
    dimensions: Mapping[int, int]
    speeds: Sequence[float]
    unreachable_s: int


def designates(visits: int, profiles: int, locations: int, time_limit_s: float) -> bool:
    """Whether a proposal of ``visits`` in ``time_limit_s``, over ``profiles`` matrices of
    ``locations``, may give routes their office (see :data:`REBUILD_BYTES_PER_PROPOSAL_S` and
    :data:`MAX_DESIGNATED_VISITS`). The limit given, not the time left, decides, so that the
    same input plans the same way."""
    matrix_bytes = profiles * locations * locations * 16  # distances and durations
    fits = matrix_bytes <= REBUILD_BYTES_PER_PROPOSAL_S * time_limit_s
    return fits and visits <= MAX_DESIGNATED_VISITS


def route_office(data: pyvrp.ProblemData, clients: Sequence[int], layout: CallLayout) -> int | None:
    """The office a route of ``clients`` delivers most for (the first by position on a tie),
    or ``None`` for a route without deliveries."""
    office_at = {loc: o for o, locs in layout.deliveries.items() for loc in locs}
    count = Counter(
        office_at[data.client(c).location] for c in clients if data.client(c).location in office_at
    )
    if not count:
        return None
    return min(count, key=lambda o: (-count[o], o))


@dataclass(frozen=True, slots=True)
class Designated:
    """The proposal's problem with routes calling at their office, and ``best`` read into it."""

    data: pyvrp.ProblemData
    start: pyvrp.Solution
    type_agents: list[list[int]]  # PyVRP vehicle type -> agent positions


def designate(
    data: pyvrp.ProblemData,
    type_agents: Sequence[Sequence[int]],
    layout: CallLayout,
    routes: Sequence[tuple[int, list[int]]],
) -> Designated:
    """Give each of ``routes`` (vehicle type, clients in order) that delivers its office.

    Each vehicle type splits by the office its routes get, agents of the type taken in order;
    its unused agents and routes without deliveries keep the type as it was. A type with an
    office may reload there once, starts full of that office's documents, and rides direct
    into those deliveries (a profile per profile and office)."""
    by_type: dict[int, Counter[int]] = {}
    offices = []
    for vehicle_type, clients in routes:
        office = route_office(data, clients, layout)
        offices.append(office)
        if office is not None:
            by_type.setdefault(vehicle_type, Counter())[office] += 1
    # PyVRP's stubs type matrices loosely
    durations: list[Any] = [data.duration_matrix(p) for p in range(data.num_profiles)]
    distances: list[Any] = [data.distance_matrix(p) for p in range(data.num_profiles)]
    office_profile: dict[tuple[int, int], int] = {}
    types: list[pyvrp.VehicleType] = []
    new_type_agents: list[list[int]] = []
    new_type: dict[tuple[int, int | None], int] = {}
    for t in range(data.num_vehicle_types):
        vehicle = data.vehicle_type(t)
        agents = list(type_agents[t])
        counts = by_type.get(t, Counter())
        split: list[tuple[int | None, int]] = [(o, counts[o]) for o in sorted(counts)]
        if len(agents) > sum(counts.values()):
            split.append((None, len(agents) - sum(counts.values())))
        taken = 0
        for office, n in split:
            if office is None:
                types.append(vehicle.replace(num_available=n))
            else:
                key = (vehicle.profile, office)
                if key not in office_profile:
                    office_profile[key] = len(durations)
                    duration, distance = _direct_into(
                        layout,
                        office,
                        layout.speeds[vehicle.profile],
                        durations[vehicle.profile],
                        distances[vehicle.profile],
                    )
                    durations.append(duration)
                    distances.append(distance)
                dim = layout.dimensions[office]
                initial = [0] * len(vehicle.capacity)
                initial[dim] = vehicle.capacity[dim]
                types.append(
                    vehicle.replace(
                        num_available=n,
                        profile=office_profile[key],
                        initial_load=initial,
                        reload_depots=[layout.depots[office]],
                        max_reloads=1,
                    )
                )
            new_type[(t, office)] = len(types) - 1
            new_type_agents.append(agents[taken : taken + n])
            taken += n
    new = data.replace(
        vehicle_types=types, distance_matrices=distances, duration_matrices=durations
    )
    start = []
    for (vehicle_type, clients), office in zip(routes, offices, strict=True):
        steps = [pyvrp.Activity(pyvrp.ActivityType.CLIENT, c) for c in clients]
        if office is not None:
            delivers = set(layout.deliveries[office])
            first = next(i for i, c in enumerate(clients) if data.client(c).location in delivers)
            steps.insert(first, pyvrp.Activity(pyvrp.ActivityType.DEPOT, layout.depots[office]))
        start.append(pyvrp.Route(new, steps, new_type[(vehicle_type, office)]))
    return Designated(new, pyvrp.Solution(new, start), new_type_agents)


def _direct_into(
    layout: CallLayout,
    office: int,
    speed_factor: float,
    durations: npt.ArrayLike,
    distances: npt.ArrayLike,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """A profile's matrices (at ``speed_factor``) with the rides into ``office``'s deliveries
    direct (arcs the profile forbids stay forbidden); the cost keeps what it adds to the
    travel."""
    duration = np.array(durations, dtype=np.int64)
    extra = np.asarray(distances, dtype=np.int64) - duration
    cols = list(layout.deliveries[office])
    rides = agent_travel_matrix_s(layout.direct[:, cols], speed_factor)
    open_arcs = duration[:, cols] < layout.unreachable_s
    duration[:, cols] = np.where(open_arcs, rides, duration[:, cols])
    return duration, duration + extra
