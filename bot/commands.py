"""Parsing the text of `/pm …` into a validated model; the first word is the sub-command."""

from __future__ import annotations

import shlex

from pydantic import BaseModel, Field

from core.errors import InvalidInput

MAX_COMMAND_TEXT = 4000  # Slack caps slash-command text near this; anything longer is not from Slack


class PmCommand(BaseModel):
    """``/pm <sub> <args…>``: ``sub`` lower-cased, ``args`` split like a shell (quotes group words)."""

    sub: str = Field(default="", max_length=64)
    args: list[str] = Field(default_factory=list)
    rest: str = ""


def parse_pm(text: str | None) -> PmCommand:
    """Split the command text; raises ``InvalidInput`` for text Slack would never send."""
    text = (text or "").strip()
    if len(text) > MAX_COMMAND_TEXT:
        raise InvalidInput(
            f"That command is too long ({len(text)} characters; the limit is {MAX_COMMAND_TEXT})."
        )
    if "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text):
        raise InvalidInput("That command contains a character Slack does not send.")
    if not text:
        return PmCommand()
    parts = text.split(maxsplit=1)
    head, rest = parts[0], parts[1] if len(parts) > 1 else ""
    try:
        args = shlex.split(rest)
    except ValueError:  # an unbalanced quote: fall back to plain words rather than refusing
        args = rest.split()
    return PmCommand(sub=head.lower()[:64], args=args, rest=rest.strip())


def first_word(text: str | None) -> str:
    """The sub-command alone, cheaply, for listener matchers."""
    parts = (text or "").split(maxsplit=1)
    return parts[0].lower() if parts else ""
