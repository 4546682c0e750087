"""A Jira link unfurled: key, summary, status, assignee, priority and last update, with buttons to assign
it to yourself, move it along its workflow, or comment."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.views.format import ago, clip, context, escape, section
from core.notices import IssueCard, IssueRef

TRANSITION_OPTIONS = 100


def issue_card(card: IssueCard) -> dict[str, Any]:
    """The unfurl for one link (the value of ``unfurls[url]`` in chat.unfurl)."""
    title = f"*<{card.url}|{escape(card.key)}: {escape(clip(card.summary, 200))}>*"
    facts = [
        f"*Status:* {escape(card.status or 'unknown')}",
        f"*Assignee:* {escape(card.assignee or 'unassigned')}",
        f"*Priority:* {escape(card.priority or 'none')}",
    ]
    ref = IssueRef(key=card.key, url=card.url).model_dump_json()
    elements: list[dict[str, Any]] = [
        _button("Assign to me", ids.ACTION_ISSUE_ASSIGN_ME, ref),
        _button("Comment", ids.ACTION_ISSUE_COMMENT, ref),
    ]
    if card.transitions:
        elements.insert(1, {
            "type": "static_select", "action_id": ids.ACTION_ISSUE_TRANSITION,
            "placeholder": {"type": "plain_text", "text": "Move to…"},
            "options": [
                {"text": {"type": "plain_text", "text": clip(t.name, 75)}, "value": t.id[:150]}
                for t in card.transitions[:TRANSITION_OPTIONS]
            ],
        })  # fmt: skip
    blocks: list[dict[str, Any]] = [
        section(title + "\n" + " · ".join(facts)),
        context(f"Updated {ago(card.updated)}"),
        # The block ID names the issue: a select's option value holds only the transition.
        {"type": "actions", "block_id": f"{ids.BLOCK_ISSUE_ACTIONS}|{card.key}", "elements": elements},
    ]
    return {"blocks": blocks}


def _button(text: str, action_id: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }


def issue_of_block(block_id: str) -> str | None:
    prefix = ids.BLOCK_ISSUE_ACTIONS + "|"
    return block_id[len(prefix) :] if block_id.startswith(prefix) else None


def comment_modal(ref: IssueRef, origin_json: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ids.VIEW_ISSUE_COMMENT,
        "title": {"type": "plain_text", "text": f"Comment on {ref.key}"[:24]},
        "submit": {"type": "plain_text", "text": "Comment"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": origin_json,
        "blocks": [
            {
                "type": "input", "block_id": ids.BLOCK_COMMENT,
                "label": {"type": "plain_text", "text": "Comment"},
                "element": {"type": "plain_text_input", "action_id": ids.ACTION_VALUE, "multiline": True,
                            "max_length": 3000},
            }
        ],
    }  # fmt: skip


def action_result(user_id: str, text: str) -> dict[str, Any]:
    line = f"<@{user_id}> {text}"
    return {"text": line, "blocks": [section(line)]}
