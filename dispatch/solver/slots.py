"""Which slots the proposal offers a visit with several, or with one wide window.

PyVRP takes a visit with several slots as a mutually exclusive group of clients, one per slot,
and searches a day where most visits are such groups far worse: with every home visit also
offered 2 and 4 h later (1000 visits, 60 agents), its proposal served 934 of 1000 in 20 s,
against 984 on the same field day where 12% of visits have a second slot
(benchmarks/README.md, "Visits with several booked slots"). It also searches narrow windows
better than wide ones. So the proposal keeps groups only up to a budget of extra clients, for
the visits whose slots are most alike in how full the day is there, and every other visit
gets its least full slot; a window longer than a slot is cut to its least full slice where
that slice is clearly the emptiest. Repair and the model still see every slot and the whole
window.
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
# A window longer than SLICE_S (the app's slot) is offered as its least full slice of that
# length where that slice is less full than the next by more than WIDE_MARGIN (of the agents'
# time); elsewhere it stays whole, so a day whose wide windows all meet the same room keeps
# them. With every home visit's window 4 h wider (1000 visits, 60 agents, 30 s, seeds 0-3):
# 996, 996, 994 and 989 served against 984, 996, 973 and 951. Cutting every wide window served
# as many there, but with every visit open 09:00-17:00 rode 20% more (benchmarks/README.md).
SLICE_S = 2 * 3600
WIDE_MARGIN = 0.05


def offered_slots(windows: Sequence[TimeWindow]) -> Sequence[TimeWindow]:
    """The slots the proposal may offer for ``windows``: those booked, or a single window
    longer than :data:`SLICE_S` cut into slices of that length."""
    if len(windows) > 1 or windows[0].end_s - windows[0].start_s <= SLICE_S:
        return windows
    window = windows[0]
    return [
        TimeWindow(start_s, min(start_s + SLICE_S, window.end_s))
        for start_s in range(window.start_s, window.end_s, SLICE_S)
    ]


def proposal_slots(problem: Problem, candidates: Sequence[int]) -> dict[int, TimeWindow]:
    """The one slot offered to each candidate (visit position) that does not keep its own.

    A slot's fill is the time on site booked in it over the agents' time on shift there; a
    visit with one slot spreads its time evenly over its slot. Visits with several slots, or
    a window cut into slices (:func:`offered_slots`), take in candidate order their least full
    one and add their time there. Of those with several, the visits whose two least full slots
    are closest keep every slot, while the extra clients they make stay within
    :data:`GROUP_EXTRA_CLIENTS_SHARE` of the candidates or :data:`MIN_GROUP_EXTRA_CLIENTS`; a
    wide window stays whole where its two least full slices differ by at most
    :data:`WIDE_MARGIN`."""
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

    options = {v: offered_slots(visits[v].windows) for v in candidates}
    for v in candidates:
        if len(options[v]) == 1:
            book(visits[v].windows[0], problem.visit_duration_s(visits[v]))
    least: dict[int, TimeWindow] = {}
    margin: dict[int, float] = {}
    for v in candidates:
        visit, slots = visits[v], options[v]
        if len(slots) == 1:
            continue
        duration_s = problem.visit_duration_s(visit)
        fills = sorted((fill(w, duration_s), w.start_s, w.end_s, i) for i, w in enumerate(slots))
        gap = fills[1][0] - fills[0][0]
        if len(visit.windows) == 1 and gap <= WIDE_MARGIN:  # a wide window stays whole
            book(visit.windows[0], duration_s)
            continue
        least[v] = slots[fills[0][3]]
        if len(visit.windows) > 1:
            margin[v] = gap
        book(least[v], duration_s)
    budget = max(MIN_GROUP_EXTRA_CLIENTS, GROUP_EXTRA_CLIENTS_SHARE * len(candidates))
    for v in sorted(margin, key=lambda v: (margin[v], v)):
        extra = len(visits[v].windows) - 1
        if extra > budget:
            break
        budget -= extra
        del least[v]
    return least
