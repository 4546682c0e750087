"""Meeting views: action items with their buttons and decisions, split between messages within Slack's limits;
the `/pm meeting` modal and its values; the demo transcript's action items."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import ids
from bot.views.format import SECTION_TEXT_LIMIT
from bot.views.meeting import (
    ITEMS_PER_MESSAGE,
    MeetingOrigin,
    action_items_messages,
    action_items_part,
    meeting_modal,
    modal_values,
    notes_message,
)
from bot.views.notices import render_notice, render_parts
from core.demo.meeting import demo_transcript
from core.meetings.actions import extract_action_items
from core.meetings.formats import read_notes
from core.notices import ActionItemLine, ActionItemRef, ActionItemsNotice

URL = "https://northwind.slack.com/archives/C0PAY/p1767000000000100"


def notice(lines: list[ActionItemLine], **kwargs: Any) -> ActionItemsNotice:
    values: dict[str, Any] = {"meeting_id": 1, "title": "Payments sync", "url": URL, "items": lines}
    values.update(kwargs)
    return ActionItemsNotice(**values)


def line(item_id: int, **kwargs: Any) -> ActionItemLine:
    return ActionItemLine(id=item_id, text=kwargs.pop("text", f"Task number {item_id}"), **kwargs)


def texts(message: dict[str, Any]) -> list[str]:
    found = []
    for block in message["blocks"]:
        if isinstance(block.get("text"), dict):
            found.append(block["text"]["text"])
        found += [e["text"] for e in block.get("elements", []) if e.get("type") in ("mrkdwn", "plain_text")]
    return found


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def assert_within_limits(message: dict[str, Any]) -> None:
    assert message["text"]
    assert 0 < len(message["blocks"]) <= 50
    assert all(len(text) <= SECTION_TEXT_LIMIT for text in texts(message))
    assert all(len(b["value"]) <= 2000 for b in buttons(message))
    block_ids = [b["block_id"] for b in message["blocks"] if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))


def test_open_items_have_three_buttons_carrying_the_item() -> None:
    (message,) = render_parts(
        notice([line(7, owner_hint="U0BOB", due_hint="Friday"), line(8, owner_hint="Priya")])
    )
    assert render_notice(notice([line(7)]))["blocks"] == action_items_messages(notice([line(7)]))[0]["blocks"]
    shown = "\n".join(texts(message))
    assert f"<{URL}|Payments sync>" in shown
    assert "2 action items" in shown
    assert "owner <@U0BOB> · due Friday" in shown
    assert "owner Priya" in shown
    assert "Found by simple rules" in shown
    assert [(b["text"]["text"], b["action_id"]) for b in buttons(message)[:3]] == [
        ("Add TODO", ids.ACTION_ITEM_TODO),
        ("Create Jira issue", ids.ACTION_ITEM_JIRA),
        ("Dismiss", ids.ACTION_ITEM_DISMISS),
    ]
    assert {ActionItemRef.model_validate_json(b["value"]).item_id for b in buttons(message)} == {7, 8}
    assert_within_limits(message)


def test_decided_items_say_what_happened_and_lose_their_buttons() -> None:
    decided = [
        line(1, status="todo", todo_id=12, decided_by="U0ALICE"),
        line(2, status="jira", jira_key="PAY-31", decided_by="U0BOB"),
        line(3, status="dismissed", decided_by="U0ALICE"),
        line(4),
    ]
    (message,) = action_items_messages(notice(decided, method="llm"))
    shown = "\n".join(texts(message))
    assert "added as TODO #12 by <@U0ALICE>" in shown
    assert "PAY-31 created by <@U0BOB>" in shown
    assert "~Task number 3~" in shown
    assert "dismissed by <@U0ALICE>" in shown
    assert "Found by the language model" in shown
    assert {ActionItemRef.model_validate_json(b["value"]).item_id for b in buttons(message)} == {4}
    assert "(1 open)" in message["text"]


def test_no_items_and_the_rules_note() -> None:
    note = "The language model's answer was not usable, so these were found by simple rules."
    (message,) = action_items_messages(notice([], url=None, note=note))
    shown = "\n".join(texts(message))
    assert "No action items found" in shown
    assert note in shown
    assert buttons(message) == []


def test_a_long_list_splits_between_items_and_an_item_redraws_its_own_message() -> None:
    lines = [line(100 + i, text="word " * 250, owner_hint="x" * 255, due_hint="y" * 64) for i in range(45)]
    messages = action_items_messages(notice(lines, title="<Retro> & " + "t" * 300))
    assert len(messages) == 3
    for message in messages:
        assert_within_limits(message)
    per_message = [len(buttons(m)) // 3 for m in messages]
    assert per_message == [ITEMS_PER_MESSAGE, ITEMS_PER_MESSAGE, 5]
    assert "continued, 2 of 3" in texts(messages[1])[0]
    assert "&lt;Retro&gt; &amp;" in texts(messages[0])[0]
    # The 30th item is in the second message, before and after decisions elsewhere.
    second = action_items_part(notice(lines), 129)
    assert "*30.*" in "\n".join(texts(second))
    lines[0] = lines[0].model_copy(update={"status": "dismissed"})
    assert action_items_part(notice(lines), 129)["blocks"] == second["blocks"]


@settings(max_examples=100, deadline=None)
@given(
    title=st.text(min_size=1, max_size=300),
    texts_=st.lists(st.text(min_size=1, max_size=1000), min_size=0, max_size=30),
    owner=st.none() | st.text(max_size=255),
    status=st.sampled_from(["open", "todo", "jira", "dismissed"]),
)
def test_any_items_stay_within_slack_limits(
    title: str, texts_: list[str], owner: str | None, status: str
) -> None:
    lines = [
        ActionItemLine(id=i + 1, text=t, owner_hint=owner, status=status, todo_id=3, jira_key="PAY-1")  # type: ignore[arg-type]
        for i, t in enumerate(texts_)
    ]
    for message in action_items_messages(notice(lines, title=title)):
        assert_within_limits(message)


def test_meeting_modal_and_its_values() -> None:
    modal = meeting_modal(MeetingOrigin(channel_id="C0PAY"))
    assert modal["callback_id"] == ids.VIEW_MEETING_NOTES
    assert json.loads(modal["private_metadata"]) == {"channel_id": "C0PAY"}
    notes = next(b for b in modal["blocks"] if b.get("block_id") == ids.BLOCK_MEETING_NOTES)
    assert notes["element"]["multiline"] is True
    assert notes["element"]["max_length"] == 3000
    assert "3,000 characters" in notes["hint"]["text"]
    assert "<#C0PAY>" in json.dumps(modal)
    assert len(modal["title"]["text"]) <= 24
    assert "Only you" in json.dumps(meeting_modal(MeetingOrigin(channel_id="D0ALICE")))
    values = {
        ids.BLOCK_MEETING_TITLE: {ids.ACTION_VALUE: {"value": "  Weekly   sync "}},
        ids.BLOCK_MEETING_NOTES: {ids.ACTION_VALUE: {"value": "\n I'll fix it \n"}},
    }
    assert modal_values({"state": {"values": values}}) == ("Weekly sync", "I'll fix it")
    assert modal_values({}) == ("", "")
    assert_within_limits(notes_message("Weekly sync", "U0ALICE", note="I can't post in that channel."))


FIELD = st.dictionaries(st.just(ids.ACTION_VALUE), st.dictionaries(st.just("value"), st.none() | st.text()))


@given(st.dictionaries(st.sampled_from([ids.BLOCK_MEETING_TITLE, ids.BLOCK_MEETING_NOTES, "x"]), FIELD))
def test_modal_values_take_any_state(values: dict[str, Any]) -> None:
    title, notes = modal_values({"state": {"values": values}})
    assert title == " ".join(title.split())
    assert notes == notes.strip()


def test_the_demo_transcript_has_clear_action_items() -> None:
    name, text = demo_transcript()
    assert name.endswith(".vtt")
    assert text.startswith("WEBVTT")
    found = extract_action_items(read_notes(name, text.encode()), None)
    assert 4 <= len(found) <= 6
    owners = {item.owner_hint for item in found}
    assert {"Tomás Ribeiro", "Priya", "Liam O'Connell", "Jonas"} <= owners
    assert any(item.due_hint == "Friday" for item in found)
