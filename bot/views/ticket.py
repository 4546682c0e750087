"""The "Create Jira issue" modal: project, type and priority from the synced Jira metadata (typeahead),
assignee, summary and description prefilled from the message, and possible duplicates found by search.

What the modal must remember (where the message was) travels in ``private_metadata`` as a small model.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bot import ids
from bot.views.format import clip, context, escape, section
from core.notices import SearchHit

SUMMARY_LIMIT = 255
DESCRIPTION_LIMIT = 3000  # Slack's cap for a plain-text input's initial value


class TicketOrigin(BaseModel):
    """Where the issue comes from and where the confirmation goes."""

    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)  # the message the issue is made from
    thread_ts: str | None = Field(default=None, max_length=32)  # its thread (the confirmation goes there)
    action_item_id: int | None = Field(default=None, ge=1)  # a meeting's action item, marked once created


class Option(BaseModel):
    value: str
    label: str


def option(value: str, label: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": clip(label, 75)}, "value": value[:150]}


def first_line_summary(text: str) -> str:
    """The summary a message suggests: its first non-empty line, without Slack markup noise, clipped."""
    for line in text.splitlines():
        line = line.strip().strip("*_~`>•-").strip()
        if line:
            return clip(" ".join(line.split()), SUMMARY_LIMIT)
    return ""


def _select(block_id: str, action_id: str, label: str, placeholder: str, *, initial: Option | None = None,
            optional: bool = False, dispatch: bool = False) -> dict[str, Any]:  # fmt: skip
    element: dict[str, Any] = {
        "type": "external_select", "action_id": action_id, "min_query_length": 0,
        "placeholder": {"type": "plain_text", "text": placeholder},
    }  # fmt: skip
    if initial is not None:
        element["initial_option"] = option(initial.value, initial.label)
    block: dict[str, Any] = {
        "type": "input", "block_id": block_id, "optional": optional, "element": element,
        "label": {"type": "plain_text", "text": label},
    }  # fmt: skip
    if dispatch:
        block["dispatch_action"] = True
    return block


def _text(block_id: str, label: str, initial: str, *, multiline: bool = False, optional: bool = False,
          max_length: int | None = None) -> dict[str, Any]:  # fmt: skip
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ids.ACTION_VALUE,
        "multiline": multiline,
    }
    if initial:
        element["initial_value"] = initial
    if max_length:
        element["max_length"] = max_length
    return {
        "type": "input", "block_id": block_id, "optional": optional, "element": element,
        "label": {"type": "plain_text", "text": label},
    }  # fmt: skip


def duplicates_block(hits: list[SearchHit] | None) -> list[dict[str, Any]]:
    if hits is None:
        return [{"type": "context", "block_id": ids.BLOCK_ISSUE_DUPLICATES,
                 "elements": [{"type": "mrkdwn", "text": "Looking for possible duplicates…"}]}]  # fmt: skip
    if not hits:
        return [{"type": "context", "block_id": ids.BLOCK_ISSUE_DUPLICATES,
                 "elements": [{"type": "mrkdwn", "text": "No similar issues found."}]}]  # fmt: skip
    lines = ["*Possible duplicates* (check before you create another):"]
    for hit in hits[:3]:
        name = escape(hit.title)
        label = f"<{hit.url}|{name}>" if hit.url else name
        lines.append(f"• {label}" + (f" · {escape(hit.status)}" if hit.status else ""))
    return [section("\n".join(lines), block_id=ids.BLOCK_ISSUE_DUPLICATES)]


def ticket_modal(
    origin: TicketOrigin,
    *,
    summary: str = "",
    description: str = "",
    project: Option | None = None,
    duplicates: list[SearchHit] | None = None,
    from_message: bool = False,
) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        _select(ids.BLOCK_ISSUE_PROJECT, ids.ACTION_PICK_PROJECT, "Project", "Type to find a project",
                initial=project),
        _select(ids.BLOCK_ISSUE_TYPE, ids.ACTION_PICK_ISSUE_TYPE, "Issue type", "Bug, Task, Story…"),
        _text(ids.BLOCK_ISSUE_SUMMARY, "Summary", clip(summary, SUMMARY_LIMIT), max_length=SUMMARY_LIMIT),
        _text(ids.BLOCK_ISSUE_DESCRIPTION, "Description", clip(description, DESCRIPTION_LIMIT),
              multiline=True, optional=True),
        _select(ids.BLOCK_ISSUE_PRIORITY, ids.ACTION_PICK_PRIORITY, "Priority", "Jira's default",
                optional=True),
        _select(ids.BLOCK_ISSUE_ASSIGNEE, ids.ACTION_PICK_ASSIGNEE, "Assignee", "Type a name", optional=True),
    ]  # fmt: skip
    if from_message:
        blocks.append(context("A link to the message will be added to the description."))
    blocks += duplicates_block(duplicates)
    return {
        "type": "modal",
        "callback_id": ids.VIEW_CREATE_ISSUE,
        "title": {"type": "plain_text", "text": "Create Jira issue"},
        "submit": {"type": "plain_text", "text": "Create"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": origin.model_dump_json(exclude_none=True),
        "blocks": blocks,
    }


def creating_modal(key_hint: str) -> dict[str, Any]:
    """Shown when Jira takes longer than Slack waits: the result comes as a message."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Create Jira issue"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [section(f"Jira is taking a moment; I will post the link to the new issue {key_hint}.")],
    }


def created_message(user_id: str | None, key: str, url: str, summary: str, as_user: bool) -> dict[str, Any]:
    who = f"<@{user_id}>" if user_id else "Someone"
    how = "" if as_user else " (by Agent PM on their behalf)"
    text = f":ticket: {who} created <{url}|{escape(key)}: {escape(clip(summary, 200))}>{how}"
    return {
        "text": f"{who} created {key}: {clip(summary, 200)}",
        "blocks": [section(text)],
        "unfurl_links": False,
    }


def submitted_values(view: dict[str, Any]) -> dict[str, str | None]:
    """The modal's values by block: text inputs' text and selects' chosen option values."""
    values = view.get("state", {}).get("values", {})
    out: dict[str, str | None] = {}
    for block_id, actions in values.items():
        for state in actions.values():
            chosen = state.get("selected_option")
            out[block_id] = chosen.get("value") if chosen else state.get("value")
    return out


def options_payload(choices: list[Option]) -> dict[str, Any]:
    return {"options": [option(c.value, c.label) for c in choices[:100]]}
