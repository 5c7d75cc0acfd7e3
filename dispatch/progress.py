"""Showing a running search on a terminal: one updating line, or periodic lines in logs.

A long solve must show that it is alive without flooding a CI log, so the printer redraws a
single line in place on a TTY and otherwise writes a plain line at most every few seconds.
It reads only the fields of the solver's progress report, never the solver itself.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Protocol, TextIO


class ProgressReport(Protocol):
    """What the solver reports while it searches (see ``dispatch.solver.SearchProgress``)."""

    @property
    def elapsed_s(self) -> float: ...

    @property
    def solutions(self) -> int: ...

    @property
    def objective(self) -> float | int | None: ...

    @property
    def served(self) -> int: ...

    @property
    def total(self) -> int: ...

    @property
    def phase(self) -> str: ...


def format_progress(report: ProgressReport) -> str:
    """One line: elapsed time, solutions found (or the proposal or repair phase), visits served
    and objective."""
    objective = "-" if report.objective is None else f"{report.objective:,}"
    pct = 100.0 * report.served / report.total if report.total else 100.0
    # Only the model's phase counts solutions; the phases before it are named instead.
    stage = f"solutions {report.solutions:>5}" if report.phase == "model" else report.phase
    return (
        f"{report.elapsed_s:6.1f}s  {stage:<15}  "
        f"served {report.served}/{report.total} ({pct:.1f}%)  objective {objective}"
    )


class ProgressPrinter:
    """A callback for ``solve(..., progress=...)`` that writes to ``stream`` (stderr).

    On a TTY every report redraws one line; otherwise a line is written at most every
    ``interval_s`` seconds. Call :meth:`close` when the search ends to finish the display.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        interval_s: float = 5.0,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = sys.stderr if stream is None else stream
        self._tty = _isatty(self._stream) if tty is None else tty
        self._interval_s = interval_s
        self._clock = clock
        self._last_print: float | None = None
        self._last_line = ""
        self._width = 0
        self._pending = False

    def __call__(self, report: ProgressReport) -> None:
        line = format_progress(report)
        self._last_line = line
        if self._tty:
            padding = " " * max(0, self._width - len(line))
            self._stream.write("\r" + line + padding)
            self._stream.flush()
            self._width = len(line)
            return
        now = self._clock()
        if self._last_print is None or now - self._last_print >= self._interval_s:
            self._stream.write(line + "\n")
            self._stream.flush()
            self._last_print = now
            self._pending = False
        else:
            self._pending = True

    def close(self) -> None:
        """End the updating line, or write the last report a periodic display skipped."""
        if self._tty and self._width:
            self._stream.write("\n")
        elif self._pending:
            self._stream.write(self._last_line + "\n")
        self._stream.flush()
        self._width = 0
        self._pending = False


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
