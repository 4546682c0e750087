"""The one shape of error message a user sees: short, with an error ID, never a trace."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.views.format import SECTION_TEXT_LIMIT, clip, escape, section


def error_message(message: str, error_id: str | None = None) -> dict[str, Any]:
    suffix = f" (error ID `{error_id}`)" if error_id else ""
    text = ":warning: " + clip(escape(message), SECTION_TEXT_LIMIT - len(suffix) - 12) + suffix
    return {"text": text, "blocks": [section(text, block_id=ids.BLOCK_ERROR)]}
