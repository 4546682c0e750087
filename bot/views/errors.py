"""The one shape of error message a user sees: short, with an error ID, never a trace."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.views.format import escape, section


def error_message(message: str, error_id: str | None = None) -> dict[str, Any]:
    text = f":warning: {escape(message)}"
    if error_id:
        text += f" (error ID `{error_id}`)"
    return {"text": text, "blocks": [section(text, block_id=ids.BLOCK_ERROR)]}
