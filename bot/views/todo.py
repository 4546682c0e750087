"""TODOs in Slack: one TODO with its Done / Snooze / Edit buttons, lists, and the add and edit forms."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from bot import ids
from bot.views.format import clip, context, escape, section
from core.todos.flows import TodoItem

MAX_LISTED = 15  # 3 blocks each: within 50 blocks a message


class TodoRef(BaseModel):
    """What a TODO's buttons and its edit form carry."""

    id: int = Field(ge=1)


class TodoOrigin(BaseModel):
    """Where "Add as TODO" was used: the message it links back to."""

    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)


def _due(item: TodoItem) -> str:
    if item.done:
        return "done"
    parts = []
    if item.due:
        parts.append(("*overdue* since " if item.overdue else "due ") + item.due.strftime("%a %d %b %Y"))
    if item.snoozed_until:
        parts.append("snoozed until " + item.snoozed_until.strftime("%a %d %b %H:%M UTC"))
    return ", ".join(parts) or "no due date"


def todo_line(item: TodoItem) -> str:
    text = escape(clip(item.text, 500))
    if item.permalink:
        text += f" (<{item.permalink}|message>)"
    mark = ":white_check_mark:" if item.done else (":warning:" if item.overdue else ":ballot_box_with_check:")
    return f"{mark} *#{item.id}* {text}\n<@{item.owner}> · {_due(item)}"


def todo_blocks(item: TodoItem) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [section(todo_line(item))]
    if not item.done:
        ref = TodoRef(id=item.id).model_dump_json()
        blocks.append({
            "type": "actions", "block_id": f"todo|{item.id}",
            "elements": [
                _button("Done", ids.ACTION_TODO_DONE, ref, "primary"),
                _button("Snooze 1 day", ids.ACTION_TODO_SNOOZE, ref),
                _button("Edit", ids.ACTION_TODO_EDIT, ref),
            ],
        })  # fmt: skip
    return blocks


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": text}}
    button.update(action_id=action_id, value=value)
    if style:
        button["style"] = style
    return button


def todo_message(item: TodoItem, headline: str) -> dict[str, Any]:
    return {
        "text": f"{headline}: #{item.id} {clip(item.text, 200)}",
        "blocks": [section(headline), *todo_blocks(item)],
    }


def todo_list_message(label: str, items: list[TodoItem]) -> dict[str, Any]:
    if not items:
        text = f"{label}: nothing open. Add one with `/pm todo add &lt;text&gt; [due:fri] [@owner]`."
        return {"text": text, "blocks": [section(text)]}
    blocks: list[dict[str, Any]] = [section(f"*{label}* ({len(items)})")]
    for item in items[:MAX_LISTED]:
        blocks += todo_blocks(item)
    if len(items) > MAX_LISTED:
        blocks.append(context(f"…and {len(items) - MAX_LISTED} more; the App Home lists yours."))
    return {"text": label, "blocks": blocks}


def todo_form(
    callback_id: str, title: str, submit: str, private_metadata: str, *, text: str = "",
    owner: str | None = None, due: date | None = None,
) -> dict[str, Any]:  # fmt: skip
    text_element: dict[str, Any] = {"type": "plain_text_input", "action_id": ids.ACTION_VALUE}
    text_element.update(multiline=True, max_length=2000)
    if text:
        text_element["initial_value"] = clip(text, 2000)
    owner_element: dict[str, Any] = {"type": "users_select", "action_id": ids.ACTION_VALUE}
    if owner:
        owner_element["initial_user"] = owner
    due_element: dict[str, Any] = {"type": "datepicker", "action_id": ids.ACTION_VALUE}
    if due:
        due_element["initial_date"] = due.isoformat()
    return {
        "type": "modal", "callback_id": callback_id, "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": title}, "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _input(ids.BLOCK_TODO_TEXT, "TODO", text_element),
            _input(ids.BLOCK_TODO_OWNER, "Owner", owner_element),
            _input(ids.BLOCK_TODO_DUE, "Due", due_element, optional=True),
        ],
    }  # fmt: skip


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False) -> dict[str, Any]:
    return {
        "type": "input", "block_id": block_id, "optional": optional, "element": element,
        "label": {"type": "plain_text", "text": label},
    }  # fmt: skip


def form_values(view: dict[str, Any]) -> tuple[str, str | None, date | None]:
    """(text, owner, due) of a submitted TODO form."""
    values = view.get("state", {}).get("values", {})

    def field(block: str) -> dict[str, Any]:
        return dict(values.get(block, {}).get(ids.ACTION_VALUE, {}))

    text = str(field(ids.BLOCK_TODO_TEXT).get("value") or "").strip()
    owner = field(ids.BLOCK_TODO_OWNER).get("selected_user")
    raw_due = field(ids.BLOCK_TODO_DUE).get("selected_date")
    return text, str(owner) if owner else None, date.fromisoformat(raw_due) if raw_due else None
