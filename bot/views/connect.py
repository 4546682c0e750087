"""Connecting a person's Jira account: the modal and the confirmations. The token is never shown again."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.views.format import escape, section


def connect_jira_modal(site_url: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ids.VIEW_CONNECT_JIRA,
        "title": {"type": "plain_text", "text": "Connect Jira"},
        "submit": {"type": "plain_text", "text": "Connect"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(
                f"Agent PM will act in Jira ({escape(site_url)}) as you. Jira Cloud: your Atlassian email "
                "and an API token. Data Center: leave the email empty and paste a personal access token. "
                "The token is checked with Jira, stored encrypted, and never shown again."
            ),
            {
                "type": "input",
                "block_id": ids.BLOCK_JIRA_EMAIL,
                "optional": True,
                "label": {"type": "plain_text", "text": "Atlassian account email (Cloud)"},
                "element": {"type": "email_text_input", "action_id": ids.ACTION_VALUE},
            },
            {
                "type": "input",
                "block_id": ids.BLOCK_JIRA_TOKEN,
                "label": {"type": "plain_text", "text": "API token or personal access token"},
                "element": {"type": "plain_text_input", "action_id": ids.ACTION_VALUE, "max_length": 1000},
            },
        ],
    }


def connected_message(account: str) -> dict[str, Any]:
    text = f":white_check_mark: Jira connected as *{escape(account)}*. `/pm disconnect jira` removes it."
    return {"text": text, "blocks": [section(text)]}


def disconnected_message(removed: bool) -> dict[str, Any]:
    text = "Jira disconnected; your token is deleted." if removed else "You had no Jira account connected."
    return {"text": text, "blocks": [section(text)]}
