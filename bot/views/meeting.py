"""Meeting notes in Slack: the `/pm meeting` modal, the message the action items are threaded under, and the
action items themselves, each with Add TODO / Create Jira issue / Dismiss until someone decides it.

Action items are split into messages of at most ``ITEMS_PER_MESSAGE`` items, by position, so the message an
item is in never changes when the items are redrawn after a decision (``action_items_part``). Each message
stays under 50 blocks and each section under 3,000 characters.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from bot import ids
from bot.views.format import clip, context, escape, section
from core.notices import ActionItemLine, ActionItemRef, ActionItemsNotice

ITEMS_PER_MESSAGE = 20  # 2 blocks each (text, buttons) + 3 on top: 43 blocks, under Slack's 50
NOTES_LIMIT = 3000  # Slack's cap for a plain-text input
TITLE_LIMIT = 150
ITEM_CHARS = 1000
HINT_CHARS = 120
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")


class MeetingOrigin(BaseModel):
    """Where `/pm meeting` was typed: the notes' message and their action items go there."""

    channel_id: str | None = Field(default=None, max_length=32)


# -- the modal ---------------------------------------------------------------------------------------


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False,
           hint: str | None = None) -> dict[str, Any]:  # fmt: skip
    block: dict[str, Any] = {
        "type": "input", "block_id": block_id, "optional": optional, "element": element,
        "label": {"type": "plain_text", "text": label},
    }  # fmt: skip
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def meeting_modal(origin: MeetingOrigin) -> dict[str, Any]:
    private = not origin.channel_id or origin.channel_id.startswith("D")
    where = (
        "Only you will find these notes in search; the action items come to you in a direct message."
        if private
        else f"Members of <#{origin.channel_id}> will find these notes in search; the action items are "
        "posted in a thread there."
    )
    title = {
        "type": "plain_text_input", "action_id": ids.ACTION_VALUE, "max_length": TITLE_LIMIT,
        "placeholder": {"type": "plain_text", "text": "Weekly planning, 3 March"},
    }  # fmt: skip
    notes = {
        "type": "plain_text_input", "action_id": ids.ACTION_VALUE, "multiline": True,
        "max_length": NOTES_LIMIT,
        "placeholder": {"type": "plain_text", "text": "Paste the notes or the transcript"},
    }  # fmt: skip
    hint = (
        "Up to 3,000 characters (Slack's limit for a form field). For longer notes or a transcript, send "
        "me the file (.txt, .md, .vtt or .srt) in a direct message."
    )
    return {
        "type": "modal",
        "callback_id": ids.VIEW_MEETING_NOTES,
        "title": {"type": "plain_text", "text": "Meeting notes"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": origin.model_dump_json(exclude_none=True),
        "blocks": [
            _input(ids.BLOCK_MEETING_TITLE, "Title", title, optional=True),
            _input(ids.BLOCK_MEETING_NOTES, "Notes", notes, hint=hint),
            context(where + " Action items are found in them for you to turn into TODOs or Jira issues."),
        ],
    }


def modal_values(view: dict[str, Any]) -> tuple[str, str]:
    """(title, notes) of a submitted `/pm meeting` modal."""
    values = view.get("state", {}).get("values", {})

    def text(block: str) -> str:
        return str(values.get(block, {}).get(ids.ACTION_VALUE, {}).get("value") or "")

    return " ".join(text(ids.BLOCK_MEETING_TITLE).split()), text(ids.BLOCK_MEETING_NOTES).strip()


# -- the messages ------------------------------------------------------------------------------------


def notes_message(title: str, user_id: str | None, note: str | None = None) -> dict[str, Any]:
    """The message the notes' action items are threaded under."""
    who = f" shared by <@{user_id}>" if user_id else ""
    text = f":memo: *Meeting notes: {escape(clip(title, 200))}*{who}"
    after = "Finding the action items; they will appear in this thread."
    return {
        "text": f"Meeting notes: {clip(title, 200)}",
        "blocks": [section(text), context(escape(note) + " " + after if note else after)],
    }


def file_received_message(title: str) -> dict[str, Any]:
    """The reply to a notes file shared in a DM."""
    text = (
        f":memo: Saved *{escape(clip(title, 200))}*. Only you will find it in search. "
        "Finding the action items; they will appear in this thread."
    )
    return {"text": f"Saved {clip(title, 200)}", "blocks": [section(text)]}


def _person(hint: str) -> str:
    return f"<@{hint}>" if _SLACK_USER.match(hint) else escape(clip(hint, HINT_CHARS))


def _state(item: ActionItemLine) -> str:
    by = f" by <@{item.decided_by}>" if item.decided_by and _SLACK_USER.match(item.decided_by) else ""
    if item.status == "todo":
        number = f" #{item.todo_id}" if item.todo_id else ""
        return f":white_check_mark: added as TODO{number}{by}"
    if item.status == "jira":
        return f":ticket: {escape(item.jira_key or 'Jira issue')} created{by}"
    if item.status == "dismissed":
        return f":heavy_multiplication_x: dismissed{by}"
    return ""


def item_text(number: int, item: ActionItemLine) -> str:
    """An item's line: its number and text (struck through once dismissed), who, when, what became of it."""
    task = escape(clip(" ".join(item.text.split()), ITEM_CHARS))
    line = f"*{number}.* " + (f"~{task}~" if item.status == "dismissed" else task)
    facts = []
    if item.owner_hint:
        facts.append("owner " + _person(item.owner_hint))
    if item.due_hint:
        facts.append("due " + escape(clip(item.due_hint, HINT_CHARS)))
    state = _state(item)
    if state:
        facts.append(state)
    return line + ("\n" + " · ".join(facts) if facts else "")


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": text}}
    button.update(action_id=action_id, value=value)
    if style:
        button["style"] = style
    return button


def item_blocks(number: int, item: ActionItemLine) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [section(item_text(number, item))]
    if item.status == "open":
        ref = ActionItemRef(item_id=item.id).model_dump_json()
        blocks.append({
            "type": "actions", "block_id": f"{ids.BLOCK_ACTION_ITEMS}|{item.id}",
            "elements": [
                _button("Add TODO", ids.ACTION_ITEM_TODO, ref, "primary"),
                _button("Create Jira issue", ids.ACTION_ITEM_JIRA, ref),
                _button("Dismiss", ids.ACTION_ITEM_DISMISS, ref),
            ],
        })  # fmt: skip
    return blocks


def _how(notice: ActionItemsNotice) -> str:
    how = (
        "Found by the language model; check them before acting."
        if notice.method == "llm"
        else "Found by simple rules (commitments like “I'll…”, “Bob to…”, “Action item:”); some may be "
        "missed."
    )
    return how + (" " + notice.note if notice.note and notice.note not in how else "")


def _heading(notice: ActionItemsNotice, part: int, parts: int) -> str:
    title = escape(clip(" ".join(notice.title.split()), 200))
    named = f"<{notice.url}|{title}>" if notice.url else f"*{title}*"
    count = len(notice.items)
    if part:
        return f"*Action items from {named}* (continued, {part + 1} of {parts})"
    noun = "action item" if count == 1 else "action items"
    return f":clipboard: *{count} {noun} from {named}*" if count else f":clipboard: {named}"


def action_items_messages(notice: ActionItemsNotice) -> list[dict[str, Any]]:
    """The notice as messages of at most ``ITEMS_PER_MESSAGE`` items each (the rest go in the thread)."""
    chunks = [
        notice.items[start : start + ITEMS_PER_MESSAGE]
        for start in range(0, len(notice.items), ITEMS_PER_MESSAGE)
    ] or [[]]
    messages = []
    for part, chunk in enumerate(chunks):
        blocks: list[dict[str, Any]] = [section(_heading(notice, part, len(chunks)))]
        if not notice.items:
            blocks.append(section("No action items found in these notes."))
        for offset, item in enumerate(chunk):
            blocks += item_blocks(part * ITEMS_PER_MESSAGE + offset + 1, item)
        if part == 0:
            blocks.append(context(_how(notice)))
        open_items = sum(1 for i in chunk if i.status == "open")
        fallback = f"Action items from {clip(notice.title, 200)}: {len(chunk)} ({open_items} open)"
        messages.append({"text": fallback, "blocks": blocks, "unfurl_links": False})
    return messages


def action_items_part(notice: ActionItemsNotice, item_id: int) -> dict[str, Any]:
    """The message holding item ``item_id``, to redraw it in place after a decision."""
    position = next((i for i, item in enumerate(notice.items) if item.id == item_id), 0)
    return action_items_messages(notice)[position // ITEMS_PER_MESSAGE]
