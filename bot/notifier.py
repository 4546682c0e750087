"""The core ``Notifier`` port for Slack: renders a notice with the views and sends it where it belongs."""

from __future__ import annotations

from typing import Any

from bot.sender import SlackSender, SlackSendError
from bot.views.notices import render_parts
from core.notices import Notice, ReplyTarget
from core.ports import ThreadMessage


class SlackNotifier:
    def __init__(self, sender: SlackSender) -> None:
        self.sender = sender

    def send(self, target: ReplyTarget, notice: Notice) -> str | None:
        """A private reply goes to the response_url (or as an ephemeral); a public one is a channel message
        (its ``ts`` returned), falling back to the response_url where the bot may not post. A notice that
        takes several messages (a long answer) continues in the first one's thread."""
        first, *rest = render_parts(notice)
        ts = self._send_one(target, first)
        self._continue(target, ts, rest)
        return ts

    def _send_one(self, target: ReplyTarget, message: dict[str, Any]) -> str | None:
        if target.private:
            if target.response_url:
                self.sender.respond(target.response_url, message, private=True)
            elif target.channel_id and target.user_id:
                self.sender.post_ephemeral(target.channel_id, target.user_id, message, target.thread_ts)
            elif target.user_id:
                self.sender.post_message(target.user_id, message)  # a DM: posting to a user ID opens the IM
            else:
                raise ValueError("reply target names no channel, user or response_url")
            return None
        channel = target.channel_id or target.user_id
        if channel:
            try:
                posted = self.sender.post_message(channel, message, target.thread_ts)
                return str(posted.get("ts")) if posted.get("ts") else None
            except SlackSendError:
                if not target.response_url:
                    raise
        if target.response_url:
            self.sender.respond(target.response_url, message, private=False)
            return None
        raise ValueError("reply target names no channel, user or response_url")

    def _continue(self, target: ReplyTarget, ts: str | None, messages: list[dict[str, Any]]) -> None:
        thread = target.model_copy(update={"thread_ts": target.thread_ts or ts})
        for message in messages:
            self._send_one(thread, message)

    def update(self, target: ReplyTarget, ts: str, notice: Notice) -> None:
        channel = target.channel_id or target.user_id
        if channel:
            first, *rest = render_parts(notice)
            self.sender.update_message(channel, ts, first)
            self._continue(target, ts, rest)


class SlackThreads:
    """The core ``ThreadReader`` port: a thread's messages, through `conversations.replies`."""

    def __init__(self, sender: SlackSender) -> None:
        self.sender = sender

    def replies(self, channel: str, thread_ts: str, limit: int) -> list[ThreadMessage]:
        data = self.sender.replies(channel, thread_ts, limit)
        messages = [
            ThreadMessage(
                user=m.get("user"),
                text=str(m.get("text") or ""),
                ts=str(m.get("ts") or ""),
                from_bot=bool(m.get("bot_id")) or m.get("subtype") == "bot_message",
            )
            for m in data
            if isinstance(m, dict)
        ]
        return messages[-limit:]
