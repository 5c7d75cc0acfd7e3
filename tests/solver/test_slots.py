"""The slots the proposal offers a visit with several, or with one wide window."""

from __future__ import annotations

import pytest

from dispatch.model import Problem
from dispatch.solver import slots
from dispatch.solver.slots import offered_slots, proposal_slots
from tests.factories import agent, problem, visit, window

MORNING = ("09:00", "11:00")
AFTERNOON = ("13:00", "15:00")


def day(mornings: int, either: int) -> Problem:
    """``mornings`` visits booked 09:00-11:00, then ``either`` that may take that slot or
    13:00-15:00."""
    visits = [visit(f"m{i}", windows=(MORNING,)) for i in range(mornings)]
    visits += [visit(f"e{i}", windows=(MORNING, AFTERNOON)) for i in range(either)]
    return problem([agent("a0"), agent("a1")], visits)


@pytest.fixture
def no_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slots, "MIN_GROUP_EXTRA_CLIENTS", 0)


def test_while_few_visits_have_several_slots_they_keep_them_all(no_floor: None) -> None:
    p = day(20, 3)  # 3 extra clients, within 15% of 23
    assert slots.GROUP_EXTRA_CLIENTS_SHARE * 23 >= 3
    assert proposal_slots(p, range(len(p.visits))) == {}


def test_a_small_day_keeps_every_slot() -> None:
    p = day(10, slots.MIN_GROUP_EXTRA_CLIENTS)
    assert proposal_slots(p, range(len(p.visits))) == {}
    p = day(10, slots.MIN_GROUP_EXTRA_CLIENTS + 1)
    assert len(proposal_slots(p, range(len(p.visits)))) == 1


def test_past_the_budget_a_visit_takes_its_least_full_slot_and_the_closest_keep_both(
    no_floor: None,
) -> None:
    p = day(10, 10)  # the afternoon fills up visit by visit, never past the morning
    chosen = proposal_slots(p, range(len(p.visits)))
    kept = int(slots.GROUP_EXTRA_CLIENTS_SHARE * 20)
    assert kept == 3
    # The first seven take the empty afternoon; the last three, whose two slots are by then
    # nearly as full, keep both.
    assert chosen == {10 + i: window(*AFTERNOON) for i in range(10 - kept)}


def test_only_candidates_fill_the_day(no_floor: None) -> None:
    """Without the morning's visits (not candidates) the two slots fill in turn."""
    p = day(10, 10)
    chosen = proposal_slots(p, range(10, 20))
    assert len(chosen) == 10 - int(slots.GROUP_EXTRA_CLIENTS_SHARE * 10)
    assert set(chosen.values()) == {window(*MORNING), window(*AFTERNOON)}


def test_slots_alike_in_fill_and_start_are_told_apart(no_floor: None) -> None:
    """Two overlapping slots that start together and span the same quarter hours are as
    full as each other; the shorter one is offered."""
    p = problem(
        [agent("a0")],
        [visit(f"e{i}", windows=(("09:00", "11:00"), ("09:00", "10:50"))) for i in range(10)],
    )
    chosen = proposal_slots(p, range(10))
    assert set(chosen.values()) == {window("09:00", "10:50")}


def test_a_night_shift_past_midnight_counts_its_own_hours(no_floor: None) -> None:
    """Slots after midnight of the plan's date fill like any others."""
    late = (("24:15", "24:45"), ("25:00", "26:00"))
    p = problem(
        [agent("a0", shift=("20:00", "26:00"))],
        [visit(f"n{i}", windows=late) for i in range(10)],
    )
    chosen = proposal_slots(p, range(10))
    assert len(chosen) == 10 - int(slots.GROUP_EXTRA_CLIENTS_SHARE * 10)
    assert set(chosen.values()) == {window(*late[0]), window(*late[1])}


def test_a_window_longer_than_a_slot_is_offered_as_slices() -> None:
    assert offered_slots([window("09:00", "14:00")]) == [
        window("09:00", "11:00"),
        window("11:00", "13:00"),
        window("13:00", "14:00"),
    ]
    assert offered_slots([window("09:00", "11:00")]) == [window("09:00", "11:00")]
    booked = [window("09:00", "11:00"), window("13:00", "17:00")]
    assert offered_slots(booked) == booked


def test_a_wide_window_is_cut_to_its_slice_only_while_that_is_clearly_the_emptiest(
    no_floor: None,
) -> None:
    """With the morning full, visits open 09:00-15:00 take 13:00-15:00 until it is about as
    full as 11:00-13:00; the rest keep the whole window, and none counts against the budget
    for groups."""
    visits = [visit(f"m{i}", windows=(("09:00", "11:00"),)) for i in range(10)]
    visits += [visit(f"n{i}", windows=(("11:00", "13:00"),)) for i in range(10)]
    visits += [visit(f"w{i}", windows=(("09:00", "15:00"),)) for i in range(10)]
    p = problem([agent("a0"), agent("a1")], visits)
    chosen = proposal_slots(p, range(len(visits)))
    assert 0 < len(chosen) < 10
    assert set(chosen) == set(range(20, 20 + len(chosen)))
    assert set(chosen.values()) == {window("13:00", "15:00")}


def test_wide_windows_that_meet_the_same_room_everywhere_stay_whole(no_floor: None) -> None:
    visits = [visit(f"w{i}", windows=(("09:00", "17:00"),)) for i in range(40)]
    p = problem([agent("a0", shift=("09:00", "17:00"))], visits)
    assert proposal_slots(p, range(len(visits))) == {}
