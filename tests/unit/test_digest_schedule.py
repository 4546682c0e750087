"""When a schedule is due: local wall-clock time in its zone, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core.digests.schedule import due_date

MON_FRI = [0, 1, 2, 3, 4]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_due_from_its_local_time_on_the_local_date() -> None:
    # 09:00 in Berlin on Wednesday 2026-10-21 (CEST, UTC+2) is 07:00 UTC.
    assert due_date("09:00", "Europe/Berlin", utc(2026, 10, 21, 6, 59)) is None
    assert due_date("09:00", "Europe/Berlin", utc(2026, 10, 21, 7, 0)) == date(2026, 10, 21)
    assert due_date("09:00", "Europe/Berlin", utc(2026, 10, 21, 21, 59)) == date(2026, 10, 21)  # catch-up
    assert (
        due_date("09:00", "Europe/Berlin", utc(2026, 10, 21, 22, 0)) is None
    )  # Thursday 00:00, before 09:00
    # Tokyo is already on Thursday when UTC is on Wednesday afternoon.
    assert due_date("09:00", "Asia/Tokyo", utc(2026, 10, 21, 15, 0)) is None
    assert due_date("09:00", "Asia/Tokyo", utc(2026, 10, 22, 0, 0)) == date(2026, 10, 22)


def test_weekdays_are_local_weekdays() -> None:
    # Friday 23:30 in New York is Saturday 03:30 UTC: still Friday's digest there.
    assert due_date("23:30", "America/New_York", utc(2026, 10, 24, 3, 30), weekdays=MON_FRI) == date(
        2026, 10, 23
    )
    assert (
        due_date("09:00", "America/New_York", utc(2026, 10, 24, 14, 0), weekdays=MON_FRI) is None
    )  # Saturday


def test_berlin_fall_back_neither_skips_nor_doubles() -> None:
    # Sunday 2026-10-25: clocks go from 03:00 CEST back to 02:00 CET at 01:00 UTC.
    day = date(2026, 10, 25)
    assert due_date("09:00", "Europe/Berlin", utc(2026, 10, 25, 7, 0)) is None  # 08:00 CET
    assert due_date("09:00", "Europe/Berlin", utc(2026, 10, 25, 8, 0)) == day  # 09:00 CET
    # 02:30 happens twice; both times are the same local date, so its delivery key makes it once.
    assert due_date("02:30", "Europe/Berlin", utc(2026, 10, 25, 0, 30)) == day  # 02:30 CEST
    assert due_date("02:30", "Europe/Berlin", utc(2026, 10, 25, 1, 30)) == day  # 02:30 CET


def test_new_york_spring_forward_is_due_after_the_jump() -> None:
    # Sunday 2026-03-08: 02:00 EST jumps to 03:00 EDT at 07:00 UTC; 02:30 does not exist that day.
    assert due_date("02:30", "America/New_York", utc(2026, 3, 8, 6, 59)) is None  # 01:59 EST
    assert due_date("02:30", "America/New_York", utc(2026, 3, 8, 7, 0)) == date(2026, 3, 8)  # 03:00 EDT
    assert due_date("09:00", "America/New_York", utc(2026, 3, 8, 13, 0)) == date(2026, 3, 8)  # 09:00 EDT
    assert due_date("09:00", "America/New_York", utc(2026, 3, 7, 13, 0)) is None  # 08:00 EST the day before


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"])
def test_every_local_date_is_due_exactly_once_over_a_year_of_ticks(tz: str) -> None:
    """Every 15 minutes through 2026: each local date becomes due, and only from its local 09:00 on."""
    seen: dict[date, datetime] = {}
    instant = utc(2026, 1, 1)
    while instant < utc(2027, 1, 1):
        day = due_date("09:00", tz, instant)
        if day is not None and day not in seen:
            seen[day] = instant
        instant += timedelta(minutes=15)
    assert len(seen) >= 364
    from zoneinfo import ZoneInfo

    for day, first in seen.items():
        local = first.astimezone(ZoneInfo(tz))
        assert local.date() == day
        assert (local.hour, local.minute) >= (9, 0)
        assert local.hour == 9 or (day == min(seen) and local.hour > 9)


def test_a_schedule_made_after_todays_time_starts_tomorrow() -> None:
    made = utc(2026, 10, 21, 13, 0)  # 15:00 in Berlin
    assert due_date("09:00", "Europe/Berlin", utc(2026, 10, 21, 13, 1), since=made) is None
    assert due_date("16:00", "Europe/Berlin", utc(2026, 10, 21, 14, 0), since=made) == date(2026, 10, 21)
    assert due_date("09:00", "Europe/Berlin", utc(2026, 10, 22, 7, 0), since=made) == date(2026, 10, 22)
