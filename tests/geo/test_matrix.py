"""The travel matrix's own checks."""

from __future__ import annotations

from tests.factories import matrix


def test_same_rides_needs_equal_rows_and_columns() -> None:
    """0 and 1 ride alike to and from everywhere; 2 and 3 do not ride like 0."""
    m = matrix([[0, 0, 5, 7], [0, 0, 5, 7], [0, 0, 0, 7], [7, 7, 9, 0]])
    assert m.same_rides(0, 1)
    assert not m.same_rides(0, 2)
    assert not m.same_rides(0, 3)
