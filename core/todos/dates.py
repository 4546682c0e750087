"""Due dates as people type them, read in their own Slack time zone.

``today``, ``tomorrow``, a weekday (``friday`` or ``fri``), a number of days or weeks (``3d``, ``2w``) or an
ISO date (``2026-10-30``). A weekday means the next day with that name, **today included**: ``due:fri``
typed on a Friday is due that evening, not a week later (who means next week types the date or ``1w``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import InvalidInput

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_INDEX = {name: i for i, name in enumerate(WEEKDAYS)} | {n[:3]: i for i, n in enumerate(WEEKDAYS)}
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_RELATIVE = re.compile(r"^\+?(\d{1,3})([dw])$")
MAX_AHEAD = timedelta(days=3660)
HINT = "use today, tomorrow, a weekday (fri), 3d, 2w or a date like 2026-10-30"


def zone(tz: str | None) -> ZoneInfo:
    """The IANA zone ``tz``; UTC when it is missing or unknown (a user without a Slack time zone)."""
    if tz:
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def aware(value: datetime) -> datetime:
    """``value`` in UTC; a naive one (SQLite hands those back) is taken as UTC already."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def local_today(tz: str | None, now: datetime) -> date:
    """The calendar date in ``tz`` at the instant ``now`` (a naive ``now`` is taken as UTC)."""
    return aware(now).astimezone(zone(tz)).date()


def parse_due(text: str, today: date) -> date:
    """The date ``text`` names, seen from ``today`` (the person's local date); ``InvalidInput`` otherwise."""
    value = text.strip().lower()
    shown = text.strip()[:40]
    if value == "today":
        return today
    if value in ("tomorrow", "tmrw"):
        return today + timedelta(days=1)
    if value in _WEEKDAY_INDEX:
        return today + timedelta(days=(_WEEKDAY_INDEX[value] - today.weekday()) % 7)
    relative = _RELATIVE.match(value)
    if relative:
        amount = int(relative.group(1)) * (7 if relative.group(2) == "w" else 1)
        return _bounded(today + timedelta(days=amount), today, shown)
    iso = _ISO.match(value)
    if iso:
        try:
            day = date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        except ValueError as exc:
            raise InvalidInput(f"`{shown}` is not a calendar date.") from exc
        if day < today:
            raise InvalidInput(f"`{shown}` is in the past; {HINT}.")
        return _bounded(day, today, shown)
    raise InvalidInput(f"`{shown}` is not a due date; {HINT}.")


def _bounded(day: date, today: date, shown: str) -> date:
    if day - today > MAX_AHEAD:
        raise InvalidInput(f"`{shown}` is more than ten years away.")
    return day
