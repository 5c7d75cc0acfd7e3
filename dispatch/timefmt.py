"""Clock times at the file edge: text <-> seconds since local midnight of the plan's date.

Inside the engine a time is an ``int`` of seconds since local midnight (see
:mod:`dispatch.model`); files carry text. Accepted forms:

* ``"HH:MM"`` or ``"HH:MM:SS"``: a clock time on the plan's date (``"24:00"`` is the midnight
  that ends it);
* an ISO 8601 datetime, either local (``"2026-11-30T09:15"``) or with an offset
  (``"2026-11-30T04:15:00Z"``, ``"...+05:00"``), converted to the plan's time zone. It may fall
  on the next day, giving seconds of ``86400`` or more, up to :data:`MAX_TIME_S`.

Written times are ISO 8601 local datetimes with their offset, e.g.
``"2026-11-30T09:15:00+05:00"``, so a reader needs no time-zone database to interpret them.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dispatch.model import DAY_S

# A plan may run past midnight (late shifts, next-morning windows) but never beyond two days.
MAX_TIME_S = 2 * DAY_S

_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


@lru_cache(maxsize=32)
def zone(key: str) -> ZoneInfo:
    """The IANA time zone ``key``; raises ``ValueError`` with a plain message if unknown."""
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown time zone {key!r}") from exc


def is_clock(text: str) -> bool:
    """Whether ``text`` is a bare time of day (needs no date to interpret)."""
    stripped = text.strip()
    return "T" not in stripped and " " not in stripped


def parse_clock_s(text: str) -> int:
    """``"09:30"`` / ``"09:30:15"`` -> seconds since midnight (``"24:00"`` allowed)."""
    match = _CLOCK_RE.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a time of day like '09:30' or an ISO 8601 datetime")
    hours, minutes = int(match.group(1)), int(match.group(2))
    seconds = int(match.group(3) or 0)
    if minutes > 59 or seconds > 59 or hours > 24 or (hours == 24 and (minutes or seconds)):
        raise ValueError(f"{text!r} is not a valid time of day")
    return hours * 3600 + minutes * 60 + seconds


def seconds_of(text: str, date: dt.date, timezone: str) -> int:
    """Any accepted time text -> seconds since local midnight of ``date``, without bounds.

    Plans use this so that even a nonsensical time (before the plan date) reads back as
    written and the checker, not the reader, reports it.
    """
    stripped = text.strip()
    if is_clock(stripped):
        return parse_clock_s(stripped)
    try:
        moment = dt.datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid ISO 8601 datetime") from None
    if moment.microsecond:
        raise ValueError(f"{text!r} has fractions of a second; give whole seconds")
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone(timezone))
    days = (moment.date() - date).days
    return days * DAY_S + moment.hour * 3600 + moment.minute * 60 + moment.second


def parse_time_s(text: str, date: dt.date, timezone: str) -> int:
    """A time as written in a problem file -> seconds since local midnight of ``date``.

    Raises ``ValueError`` with a plain message when the text is not a time, or the time falls
    before ``date`` or more than :data:`MAX_TIME_S` after its midnight.
    """
    seconds = seconds_of(text, date, timezone)
    if seconds < 0:
        raise ValueError(f"{text!r} is before the plan date {date.isoformat()}")
    if seconds > MAX_TIME_S:
        raise ValueError(f"{text!r} is more than 48 hours after the start of {date.isoformat()}")
    return seconds


def format_clock(seconds: int) -> str:
    """Seconds since midnight -> ``"HH:MM"`` (or ``"HH:MM:SS"``) for ``0 <= seconds <= 86400``."""
    if not 0 <= seconds <= DAY_S:
        raise ValueError(f"{seconds} s is not a time of day")
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def format_datetime(seconds: int, date: dt.date, timezone: str) -> str:
    """Seconds since local midnight of ``date`` -> ISO 8601 local datetime with offset."""
    midnight = dt.datetime.combine(date, dt.time(0), tzinfo=zone(timezone))
    moment = midnight + dt.timedelta(seconds=seconds)  # wall-clock arithmetic, as in parsing
    return moment.isoformat(timespec="seconds")


def format_time(seconds: int, date: dt.date, timezone: str) -> str:
    """The shortest faithful text: a clock time within the day, a datetime beyond it."""
    if 0 <= seconds <= DAY_S:
        return format_clock(seconds)
    return format_datetime(seconds, date, timezone)
