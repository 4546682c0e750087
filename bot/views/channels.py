"""Replies to `/pm index channel on|off`."""

from __future__ import annotations

from typing import Any

from bot.views.format import section


def indexing_on_message(user_id: str | None, is_private: bool) -> dict[str, Any]:
    who = f"<@{user_id}>" if user_id else "Someone"
    kind = "private channel" if is_private else "channel"
    text = (
        f":books: {who} turned on indexing for this {kind}: I am reading its history now, and new messages, "
        "edits and deletions follow. Its messages show in search and answers only for its members. "
        "`/pm index channel off` stops it and forgets them."
    )
    return {"text": text, "blocks": [section(text)]}


def indexing_off_message(user_id: str | None, removed: int) -> dict[str, Any]:
    who = f"<@{user_id}>" if user_id else "Someone"
    text = f"{who} turned off indexing for this channel; {removed:,} stored messages were forgotten."
    return {"text": text, "blocks": [section(text)]}
