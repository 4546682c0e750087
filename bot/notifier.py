"""The core ``Notifier`` port for Slack: renders a notice with the views and sends it where it belongs."""

from __future__ import annotations

from bot.sender import SlackSender
from bot.views.notices import render_notice
from core.notices import Notice, ReplyTarget


class SlackNotifier:
    def __init__(self, sender: SlackSender) -> None:
        self.sender = sender

    def send(self, target: ReplyTarget, notice: Notice) -> None:
        message = render_notice(notice)
        if target.response_url:
            self.sender.respond(target.response_url, message, private=target.private)
        elif target.private and target.channel_id and target.user_id:
            self.sender.post_ephemeral(target.channel_id, target.user_id, message, target.thread_ts)
        elif target.channel_id:
            self.sender.post_message(target.channel_id, message, target.thread_ts)
        elif target.user_id:
            self.sender.post_message(target.user_id, message)  # a DM: posting to a user ID opens the IM
        else:
            raise ValueError("reply target names no channel, user or response_url")
