"""Parsers of user input shared by the commands: durations, `since:` filters, Slack mentions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from core.errors import InvalidInput

_DURATION = re.compile(r"^(\d{1,4})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_DURATION = timedelta(days=3660)
_MENTION = re.compile(r"^<@([UW][A-Z0-9]{1,20})(?:\|[^>]{0,80})?>$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{1,20}$")


def parse_duration(text: str) -> timedelta:
    """``30m``, ``12h``, ``7d``, ``2w``; anything else is ``InvalidInput``."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise InvalidInput(f"`{text[:40]}` is not a duration; use forms like 30m, 12h, 7d or 2w.")
    value = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if value > MAX_DURATION or value <= timedelta(0):
        raise InvalidInput(f"`{text[:40]}` is out of range.")
    return value


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``since:7d`` (the prefix optional) as the instant that long ago."""
    value = text.strip()
    if value.lower().startswith("since:"):
        value = value[6:]
    return (now or datetime.now(UTC)) - parse_duration(value)


def parse_user_mention(text: str) -> str:
    """A Slack user from ``<@U123>``, ``<@U123|name>`` or a bare ``U123``; returns the ID."""
    value = text.strip()
    match = _MENTION.match(value)
    if match:
        return match.group(1)
    if _USER_ID.match(value):
        return value
    raise InvalidInput(f"`{value[:40]}` is not a Slack user; mention them like @name.")
