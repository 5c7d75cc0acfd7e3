"""Which booked slots the proposal offers a visit with several.

PyVRP takes a visit with several slots as a mutually exclusive group of clients, one per slot,
and searches a day where most visits are such groups far worse: with every home visit also
offered 2 and 4 h later (1000 visits, 60 agents), its proposal served 934 of 1000 in 20 s,
against 984 on the same field day where 12% of visits have a second slot
(benchmarks/README.md, "Visits with several booked slots"). One wide window instead was no
better. The proposal therefore keeps groups only up to a budget of extra clients, for the
visits whose slots are most alike in how full the day is there; every other visit gets its
least full slot. Repair and the model still see every slot.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dispatch.model import Problem, TimeWindow

# How full the day is, counted by quarter hour.
BUCKET_S = 900
# The synthetic field days have 12% extra clients and keep every group: one slot for each of
# those visits served 2 to 6 fewer in whole 30-s solves of seeds 0-3. Past the budget, on
# the day above, the solves served 988 to 998 against 950 to 988 (benchmarks/README.md).
GROUP_EXTRA_CLIENTS_SHARE = 0.15
# On small days the groups cost little and a slot chosen by fill alone may be the wrong one:
# 40 visits for 2 agents, each home visit with its 2- and 4-h later slots (46 to 56 extra
# clients), 2 s and 5 s, seeds 0-3: one visit fewer in 6 of 8 runs than with every group.
MIN_GROUP_EXTRA_CLIENTS = 60


def proposal_slots(problem: Problem, candidates: Sequence[int]) -> dict[int, TimeWindow]:
    """The one slot offered to each candidate (visit position) with several that does not
    keep them all.

    A slot's fill is the time on site booked in it over the agents' time on shift there; a
    visit with one slot spreads its time evenly over its slot. Visits with several take, in
    candidate order, their least full slot and add their time there. Those whose two least
    full slots are closest keep every slot, while the extra clients they make stay within
    :data:`GROUP_EXTRA_CLIENTS_SHARE` of the candidates or :data:`MIN_GROUP_EXTRA_CLIENTS`."""
    visits = problem.visits
    # Quarter hours from the first shift or slot on (a night shift may run past midnight).
    spans = [a.shift for a in problem.agents] + [w for v in candidates for w in visits[v].windows]
    if not spans:
        return {}
    origin_s = min(w.start_s for w in spans)
    size = (max(w.end_s for w in spans) - origin_s) // BUCKET_S + 1

    def buckets(window: TimeWindow) -> slice:
        first = (window.start_s - origin_s) // BUCKET_S
        return slice(first, max(first + 1, -(-(window.end_s - origin_s) // BUCKET_S)))

    agent_s = np.zeros(size)
    for agent in problem.agents:
        agent_s[buckets(agent.shift)] += BUCKET_S
    booked_s = np.zeros(size)

    def book(window: TimeWindow, duration_s: int) -> None:
        span = buckets(window)
        booked_s[span] += duration_s / (span.stop - span.start)

    def fill(window: TimeWindow, duration_s: int) -> float:
        span = buckets(window)
        return float((booked_s[span].sum() + duration_s) / max(1.0, agent_s[span].sum()))

    for v in candidates:
        if len(visits[v].windows) == 1:
            book(visits[v].windows[0], problem.visit_duration_s(visits[v]))
    least: dict[int, TimeWindow] = {}
    margin: dict[int, float] = {}
    for v in candidates:
        visit = visits[v]
        if len(visit.windows) == 1:
            continue
        duration_s = problem.visit_duration_s(visit)
        fills = sorted(
            (fill(w, duration_s), w.start_s, w.end_s, i) for i, w in enumerate(visit.windows)
        )
        least[v] = visit.windows[fills[0][3]]
        margin[v] = fills[1][0] - fills[0][0]
        book(least[v], duration_s)
    budget = max(MIN_GROUP_EXTRA_CLIENTS, GROUP_EXTRA_CLIENTS_SHARE * len(candidates))
    for v in sorted(margin, key=lambda v: (margin[v], v)):
        extra = len(visits[v].windows) - 1
        if extra > budget:
            break
        budget -= extra
        del least[v]
    return least
