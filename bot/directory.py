"""The core ``ChannelDirectory`` port for Slack: channel members, and recent history with message metadata."""

from __future__ import annotations

from typing import Any

from bot.sender import SlackSender
from core.ports import PostedMessage

MEMBERS_PAGE = 1000  # Slack's maximum
MAX_MEMBER_PAGES = 50  # 50,000 members: past that a channel's TODO section is not worth the calls
HISTORY_PAGE = 200


class SlackDirectory:
    def __init__(self, sender: SlackSender) -> None:
        self.sender = sender

    def _read(self, method: str, **params: Any) -> dict[str, Any]:
        # SlackSender maps 429/5xx to Retryable and other refusals to SlackSendError for every method.
        return self.sender._call(method, read=True, **params)

    def members(self, channel_id: str) -> set[str]:
        """Every member of the channel, following ``conversations.members`` cursors."""
        found: set[str] = set()
        cursor: str | None = None
        for _ in range(MAX_MEMBER_PAGES):
            params: dict[str, Any] = {"channel": channel_id, "limit": MEMBERS_PAGE}
            if cursor:
                params["cursor"] = cursor
            data = self._read("conversations.members", **params)
            found.update(str(m) for m in data.get("members") or [] if m)
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return found

    def _dm_channel(self, user_id: str) -> str:
        data = self._read("conversations.open", users=user_id)
        return str((data.get("channel") or {}).get("id") or user_id)

    def history(self, channel: str, oldest: str | None, limit: int) -> list[PostedMessage]:
        """Top-level messages since ``oldest``, newest first, with their metadata (a user ID: the DM)."""
        if channel[:1] in ("U", "W"):
            channel = self._dm_channel(channel)
        found: list[PostedMessage] = []
        cursor: str | None = None
        while len(found) < limit:
            page = min(HISTORY_PAGE, limit - len(found))
            params: dict[str, Any] = {"channel": channel, "limit": page, "include_all_metadata": "true"}
            if oldest:
                params["oldest"] = oldest
            if cursor:
                params["cursor"] = cursor
            data = self._read("conversations.history", **params)
            found += [_posted(m) for m in data.get("messages") or [] if isinstance(m, dict)]
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor or not data.get("has_more"):
                break
        return found[:limit]


def _posted(message: dict[str, Any]) -> PostedMessage:
    raw = message.get("metadata")
    metadata: dict[str, Any] = raw if isinstance(raw, dict) else {}
    payload = metadata.get("event_payload")
    return PostedMessage(
        ts=str(message.get("ts") or ""),
        text=str(message.get("text") or ""),
        event_type=metadata.get("event_type"),
        event_payload=payload if isinstance(payload, dict) else None,
    )
