"""`/pm todo …` arguments: the text of a new TODO with its trailing ``due:…`` and ``@owner``, and snoozes.

Options are read only at the end of the text, so a mention inside a sentence ("ask @maya about the API")
stays part of the text; "review the PR @maya due:fri" makes Maya the owner.
"""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import BaseModel

from core.errors import InvalidInput
from core.parsing import parse_duration

__all__ = ["TodoDraft", "parse_duration", "parse_snooze", "parse_todo_add", "parse_todo_id"]

MAX_TEXT = 2000
DEFAULT_SNOOZE = "1d"
_TOKEN = re.compile(r"<[^<>]*>|\S+")  # a Slack mention <@U1|some name> is one token, spaces and all
_MENTION = re.compile(r"^<@([UW][A-Z0-9]{1,20})(?:\|[^<>]{0,80})?>$")


class TodoDraft(BaseModel):
    text: str
    due_text: str | None = None  # still to be read with parse_due in the person's time zone
    owner_slack_id: str | None = None  # None: the person adding it


def parse_todo_add(text: str) -> TodoDraft:
    """``<text> [due:…] [@owner]`` (the two options in either order); ``InvalidInput`` when unusable."""
    tokens = [(m.group(0), m.start()) for m in _TOKEN.finditer(text)]
    due: str | None = None
    owner: str | None = None
    end = len(text)
    while tokens:
        token, start = tokens[-1]
        if token.lower().startswith("due:"):
            if due is not None:
                raise InvalidInput("Give a TODO one `due:` date.")
            due = token[4:]
            if not due:
                raise InvalidInput("`due:` needs a date, e.g. `due:fri` or `due:2026-10-30`.")
        elif mention := _MENTION.match(token):
            if owner is not None:
                raise InvalidInput("A TODO has one owner; mention one person at the end.")
            owner = mention.group(1)
        else:
            break
        tokens.pop()
        end = start
    body = text[:end].strip()
    if not body:
        raise InvalidInput("What is the TODO? Try `/pm todo add Send the release notes due:fri @maya`.")
    if len(body) > MAX_TEXT:
        raise InvalidInput(f"A TODO is at most {MAX_TEXT} characters.")
    return TodoDraft(text=body, due_text=due, owner_slack_id=owner)


def parse_snooze(text: str | None) -> timedelta:
    """How long ``/pm todo snooze <id> [1d|1w|3h]`` puts a TODO away (a day when not said)."""
    return parse_duration(text.strip() if text and text.strip() else DEFAULT_SNOOZE)


def parse_todo_id(text: str) -> int:
    """The number people see (``12`` or ``#12``)."""
    value = text.strip().removeprefix("#")
    if not value.isascii() or not value.isdigit() or len(value) > 12 or int(value) < 1:
        raise InvalidInput(f"`{text.strip()[:20]}` is not a TODO number; `/pm todo list` shows them.")
    return int(value)
