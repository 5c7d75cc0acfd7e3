"""Booked slots as the solver reads them: merged, ordered, and the earliest start in them."""

from __future__ import annotations

from collections.abc import Iterable

from dispatch.model import TimeWindow

# Open longer than this in all (two booked slots): the proposal's model of office calls
# misprices routes most on days of such visits, and they have the most gaps that fit
# (search.RUIN_OPEN_SHARE, ruin.GAP_TRIES_OPEN_LONG).
LONG_OPEN_S = 4 * 3600


def open_long(windows: Iterable[TimeWindow]) -> bool:
    """Whether a visit with these windows is open longer than :data:`LONG_OPEN_S` in all."""
    return sum(w.end_s - w.start_s for w in sorted_windows(windows)) > LONG_OPEN_S


def sorted_windows(windows: Iterable[TimeWindow]) -> list[TimeWindow]:
    """Windows by start, overlapping or touching ones merged (service may start in any)."""
    merged: list[TimeWindow] = []
    for w in sorted(windows, key=lambda w: (w.start_s, w.end_s)):
        if merged and w.start_s <= merged[-1].end_s + 1:
            last = merged[-1]
            merged[-1] = TimeWindow(last.start_s, max(last.end_s, w.end_s))
        else:
            merged.append(w)
    return merged


def earliest_start_s(windows: Iterable[TimeWindow], arrival_s: int) -> int | None:
    """The earliest service start at or after ``arrival_s`` inside a window, if any."""
    best: int | None = None
    for w in windows:
        if arrival_s <= w.end_s:
            start = max(arrival_s, w.start_s)
            best = start if best is None else min(best, start)
    return best
