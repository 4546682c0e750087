"""The core ``SlackHistory`` port: a channel's history, its threads and message links, through the Web API.

Permalinks are built from the workspace URL (``auth.test``, asked once) in Slack's own format, so a
backfill of many thousand messages does not cost a ``chat.getPermalink`` call each; without that URL the
call is made. Rate limits surface as ``Retryable`` (bot/sender.py), which the backfill job honours.
"""

from __future__ import annotations

import threading
from typing import Any

from bot.sender import SlackSender

MEMBER_PAGES = 100  # 100,000 members at 1,000 a page


class SlackChannelHistory:
    def __init__(self, sender: SlackSender) -> None:
        self.sender = sender
        self._workspace_url: str | None = None
        self._lock = threading.Lock()

    def history(
        self, channel: str, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        messages, next_cursor = self.sender.page(
            "conversations.history", "messages", cursor, limit, channel=channel
        )
        return [m for m in messages if isinstance(m, dict)], next_cursor

    def replies(
        self, channel: str, thread_ts: str, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        messages, next_cursor = self.sender.page(
            "conversations.replies", "messages", cursor, limit, channel=channel, ts=thread_ts
        )
        return [m for m in messages if isinstance(m, dict)], next_cursor

    def members(self, channel: str) -> set[str]:
        """Every member of the channel (all pages), for ``core.channels.membership.MembershipCache``."""
        members: set[str] = set()
        cursor: str | None = None
        for _ in range(MEMBER_PAGES):
            page, cursor = self.sender.page("conversations.members", "members", cursor, 1000, channel=channel)
            members.update(m for m in page if isinstance(m, str))
            if not cursor:
                break
        return members

    def _workspace(self) -> str | None:
        with self._lock:
            if self._workspace_url is None:
                url = str(self.sender.auth_test().get("url") or "")
                self._workspace_url = url if url.startswith(("https://", "http://")) else ""
            return self._workspace_url or None

    def permalink(self, channel: str, ts: str, thread_ts: str | None = None) -> str:
        """``https://<workspace>.slack.com/archives/<channel>/p<ts without the dot>``, and for a thread reply
        ``?thread_ts=<root>&cid=<channel>`` so the link opens the thread."""
        base = self._workspace()
        if base is None:
            return self.sender.permalink(channel, ts)
        link = base.rstrip("/") + "/archives/" + channel + "/p" + ts.replace(".", "")
        if thread_ts and thread_ts != ts:
            link += "?thread_ts=" + thread_ts + "&cid=" + channel
        return link
