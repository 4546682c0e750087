"""Filling in a modal from the terminal (`:submit field=value …` in `agentpm try`).

A field keeps what the modal prefilled unless named; a select's value is what its typeahead offers first for
the text given (so `type=bug` picks "Bug"), exactly as a person typing into it would see.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Awaitable, Callable
from typing import Any

from core.errors import InvalidInput

Suggest = Callable[[str, str, dict[str, Any]], Awaitable[list[dict[str, Any]]]]
_LABEL_WORD = re.compile(r"[^a-z0-9]+")


def parse_assignments(text: str) -> dict[str, str]:
    """`project=PAY summary="Card declined"` → {"project": "PAY", "summary": "Card declined"}."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise InvalidInput(f"Could not read that: {exc}.") from exc
    found: dict[str, str] = {}
    for word in words:
        name, sep, value = word.partition("=")
        if not sep or not name:
            raise InvalidInput(f"`{word}` is not field=value.")
        found[name.strip().lower()] = value
    return found


def field_name(block: dict[str, Any]) -> str:
    """How a field is named on the command line: its label's first word (``Issue type`` → ``type``)."""
    label = str((block.get("label") or {}).get("text") or block.get("block_id") or "")
    words = [w for w in _LABEL_WORD.split(label.lower()) if w]
    return words[-1] if words else ""


async def fill(view: dict[str, Any], given: dict[str, str], suggest: Suggest) -> dict[str, Any]:
    """The ``state.values`` a submission of ``view`` carries."""
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        element = block.get("element") or {}
        block_id, action_id = str(block.get("block_id")), str(element.get("action_id"))
        names[field_name(block)] = block_id
        kind = element.get("type")
        text = given.get(field_name(block))
        if kind in ("plain_text_input", "email_text_input"):
            value = text if text is not None else element.get("initial_value")
            values[block_id] = {action_id: {"type": kind, "value": value}}
        elif kind in ("external_select", "static_select"):
            chosen = element.get("initial_option")
            if text is not None:
                options = (
                    await suggest(action_id, text, values)
                    if kind == "external_select"
                    else (element.get("options") or [])
                )
                matches = [o for o in options if text.lower() in str(o["text"]["text"]).lower()] or options
                if not matches:
                    raise InvalidInput(f"Nothing matches {field_name(block)}={text!r}.")
                chosen = matches[0]
            values[block_id] = {action_id: {"type": kind, "selected_option": chosen}}
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise InvalidInput(f"This form has no {', '.join(unknown)}; its fields: {', '.join(sorted(names))}.")
    return values
