"""The progress display: one redrawn line on a TTY, throttled plain lines otherwise."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

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


@pytest.mark.parametrize("phase", ["proposal", "repair"])
def test_format_of_a_phase_before_the_model(phase: str) -> None:
    """A proposal or repair report names its phase where a model report counts solutions, and
    keeps the served count in the same column."""
    before = format_progress(Report(2.0, 3, None, 190, 200, phase))
    model = format_progress(Report(9.0, 3, 5000, 190, 200))
    assert phase in before and "solutions" not in before and "objective -" in before
    assert "solutions     3" in model
    assert before.index("served") == model.index("served")


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
