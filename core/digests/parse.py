"""`/pm digest subscribe [HH:MM] [project:KEY …] [weekdays]`: when and about what a channel's digest is.

The time is read in the subscriber's time zone (stored with the subscription). Days: ``mon,wed,fri``,
``mon-fri`` (ranges may wrap: ``fri-mon``), ``weekdays``, ``weekends``, ``daily``; the default is Monday to
Friday. Projects: ``project:KEY`` (repeatable, or ``project:A,B``); none means every open project.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from core.errors import InvalidInput
from core.jira.jql import valid_project_key

DEFAULT_TIME = "09:00"
WEEKDAYS_MON_FRI = [0, 1, 2, 3, 4]
MAX_PROJECTS = 20
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_INDEX = {d: i for i, d in enumerate(_DAYS)} | {d: i for i, d in enumerate(_FULL_DAYS)}
_NAMED = {
    "daily": list(range(7)), "everyday": list(range(7)), "every-day": list(range(7)),
    "weekdays": WEEKDAYS_MON_FRI, "workdays": WEEKDAYS_MON_FRI, "weekends": [5, 6], "weekend": [5, 6],
}  # fmt: skip
_TIME = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class SubscribeRequest(BaseModel):
    time: str = Field(default=DEFAULT_TIME, pattern=_TIME_PATTERN)  # HH:MM, local to the subscriber
    projects: list[str] = Field(default_factory=list)
    weekdays: list[int] = Field(default_factory=lambda: list(WEEKDAYS_MON_FRI))  # 0 = Monday


def parse_time(text: str) -> str:
    """``9:00`` or ``09:00`` → ``09:00``; ``InvalidInput`` for anything else."""
    match = _TIME.match(text.strip())
    if not match:
        raise InvalidInput(f"`{text.strip()[:20]}` is not a time; use 24-hour HH:MM, e.g. 09:30.")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _day(name: str) -> int:
    index = _DAY_INDEX.get(name)
    if index is None:
        raise InvalidInput(f"`{name[:20]}` is not a day; use mon, tue, … sun, mon-fri, weekdays or daily.")
    return index


def parse_weekdays(text: str) -> list[int]:
    """``mon,wed,fri``, ``mon-fri``, ``fri-mon``, ``weekdays``, ``daily`` … as sorted day numbers."""
    days: set[int] = set()
    for part in text.strip().lower().split(","):
        piece = part.strip()
        if not piece:
            continue
        if piece in _NAMED:
            days.update(_NAMED[piece])
        elif "-" in piece:
            first, _, last = piece.partition("-")
            start, end = _day(first.strip()), _day(last.strip())
            days.update((start + i) % 7 for i in range((end - start) % 7 + 1))
        else:
            days.add(_day(piece))
    if not days:
        raise InvalidInput("Name at least one day, e.g. mon-fri.")
    return sorted(days)


def _is_days(token: str) -> bool:
    head = re.split(r"[,-]", token.lower(), maxsplit=1)[0]
    return head in _DAY_INDEX or head in _NAMED


def parse_subscribe(args: list[str]) -> SubscribeRequest:
    """The words after ``/pm digest subscribe``; each kind of option at most once (projects repeat)."""
    time: str | None = None
    weekdays: list[int] | None = None
    projects: list[str] = []
    for raw in args:
        token = raw.strip()
        if not token:
            continue
        lowered = token.lower()
        if lowered.startswith(("project:", "projects:")):
            keys = [k for k in token.split(":", 1)[1].split(",") if k.strip()]
            if not keys:
                raise InvalidInput("`project:` needs a key, e.g. `project:PAY`.")
            projects += [valid_project_key(k) for k in keys]
        elif ":" in token:
            if time is not None:
                raise InvalidInput("Give one time, e.g. `09:30`.")
            time = parse_time(token)
        elif _is_days(token):
            if weekdays is not None:
                raise InvalidInput("Give the days once, e.g. `mon,wed,fri` or `mon-fri`.")
            weekdays = parse_weekdays(token)
        else:
            raise InvalidInput(
                f"`{token[:30]}` is not a time, `project:KEY` or days. "
                "Try `/pm digest subscribe 09:00 project:PAY mon-fri`."
            )
    unique = list(dict.fromkeys(projects))
    if len(unique) > MAX_PROJECTS:
        raise InvalidInput(f"A digest covers at most {MAX_PROJECTS} projects.")
    return SubscribeRequest(
        time=time or DEFAULT_TIME,
        projects=unique,
        weekdays=weekdays if weekdays is not None else list(WEEKDAYS_MON_FRI),
    )
