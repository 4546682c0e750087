"""The core ``Notifier`` port for Slack: renders a notice with the views and sends it where it belongs."""

from __future__ import annotations

from bot.sender import SlackSender, SlackSendError
from bot.views.notices import render_notice
from core.notices import Notice, ReplyTarget


class SlackNotifier:
    def __init__(self, sender: SlackSender) -> None:
        self.sender = sender

    def send(self, target: ReplyTarget, notice: Notice) -> str | None:
        """A private reply goes to the response_url (or as an ephemeral); a public one is a channel message
        (its ``ts`` returned), falling back to the response_url where the bot may not post."""
        message = render_notice(notice)
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

    def update(self, target: ReplyTarget, ts: str, notice: Notice) -> None:
        channel = target.channel_id or target.user_id
        if channel:
            self.sender.update_message(channel, ts, render_notice(notice))
