"""Replies to `/pm digest subscribe|list|unsubscribe|personal`."""

from __future__ import annotations

from typing import Any

from bot.views.format import escape, section
from bot.views.home import _days
from core.home import SubscriptionLine


def _what(line: SubscriptionLine) -> str:
    projects = escape(", ".join(line.projects)) if line.projects else "every project"
    return f"at {line.local_time} ({escape(line.tz)}), {_days(line.weekdays)}, covering {projects}"


def subscribed_message(user_id: str | None, line: SubscriptionLine) -> dict[str, Any]:
    who = f"<@{user_id}>" if user_id else "Someone"
    text = (
        f":newspaper: {who} subscribed this channel to a daily digest {_what(line)}. "
        "It shows only what everyone may see. `/pm digest unsubscribe` stops it."
    )
    return {"text": text, "blocks": [section(text)]}


def unsubscribed_message(user_id: str | None, removed: bool) -> dict[str, Any]:
    who = f"<@{user_id}>" if user_id else "Someone"
    text = f"{who} stopped this channel's digest." if removed else "This channel has no digest to stop."
    return {"text": text, "blocks": [section(text)]}


def subscriptions_message(lines: list[SubscriptionLine]) -> dict[str, Any]:
    if not lines:
        text = "No channel digests yet; `/pm digest subscribe 09:00 project:PAY mon-fri` in a channel."
        return {"text": text, "blocks": [section(text)]}
    body = "\n".join(f"• <#{line.channel_id}> {_what(line)}" for line in lines[:40])
    return {"text": "Channel digests", "blocks": [section("*Channel digests*\n" + body)]}


def personal_message(enabled: bool, time: str, tz: str) -> dict[str, Any]:
    text = (
        f"Your daily DM digest is on at {time} ({escape(tz)}), with a reminder of overdue TODOs."
        if enabled
        else "Your daily DM digest is off."
    )
    return {"text": text, "blocks": [section(text)]}


def digest_requested_message() -> dict[str, Any]:
    text = "Putting this channel's digest together; it will be posted here."
    return {"text": text, "blocks": [section(text)]}
