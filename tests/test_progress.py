"""The progress display: one redrawn line on a TTY, throttled plain lines otherwise."""

from __future__ import annotations

import io
from dataclasses import dataclass

from dispatch.progress import ProgressPrinter, format_progress


@dataclass(frozen=True)
class Report:
    elapsed_s: float
    solutions: int
    objective: int | None
    served: int
    total: int
    phase: str = "model"


def test_format_names_every_field() -> None:
    """The line shows elapsed seconds, solutions, served count with percent, and objective."""
    line = format_progress(Report(3.25, 12, 123456, 45, 50))
    assert "3.2s" in line or "3.3s" in line
    assert "12" in line and "45/50" in line and "90.0%" in line and "123,456" in line


def test_format_without_objective_or_visits() -> None:
    """No objective yet shows a dash; zero visits does not divide by zero."""
    line = format_progress(Report(0.0, 0, None, 0, 0))
    assert "objective -" in line and "0/0" in line


def test_format_of_the_proposal_phase() -> None:
    """A proposal report names its phase where a model report counts solutions, and keeps the
    served count in the same column."""
    proposal = format_progress(Report(2.0, 3, None, 190, 200, "proposal"))
    model = format_progress(Report(9.0, 3, 5000, 190, 200))
    assert "proposal" in proposal and "solutions" not in proposal and "objective -" in proposal
    assert "solutions     3" in model
    assert proposal.index("served") == model.index("served")


def test_format_of_the_repair_phase() -> None:
    """A repair report names its phase, not a solution count, in the same columns."""
    repair = format_progress(Report(21.0, 4, None, 960, 1000, "repair"))
    model = format_progress(Report(24.0, 4, 5000, 960, 1000))
    assert "repair" in repair and "solutions" not in repair and "objective -" in repair
    assert repair.index("served") == model.index("served")


def test_tty_redraws_one_line() -> None:
    """On a TTY each report starts with a carriage return and close ends with one newline."""
    stream = io.StringIO()
    printer = ProgressPrinter(stream, tty=True)
    printer(Report(1.0, 1, 900, 5, 10))
    printer(Report(2.0, 2, 800, 6, 10))
    printer.close()
    text = stream.getvalue()
    assert text.count("\r") == 2
    assert text.count("\n") == 1 and text.endswith("\n")


def test_log_lines_are_throttled_and_last_one_flushed() -> None:
    """Without a TTY, reports closer than the interval are skipped; close writes the last."""
    now = [0.0]
    stream = io.StringIO()
    printer = ProgressPrinter(stream, tty=False, interval_s=5.0, clock=lambda: now[0])
    for t, served in [(0.0, 1), (1.0, 2), (2.0, 3), (6.0, 4), (7.0, 5)]:
        now[0] = t
        printer(Report(t, served, 100 - served, served, 10))
    printer.close()
    lines = stream.getvalue().splitlines()
    assert [line.split("served ")[1].split("/")[0] for line in lines] == ["1", "4", "5"]
    assert "\r" not in stream.getvalue()
