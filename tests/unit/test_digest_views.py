"""Digest views: links on every item, Slack's limits, splitting between items, delivery metadata."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.views.digest import digest_messages, item_line
from bot.views.notices import render_parts
from core.notices import DigestItem, DigestNotice, DigestSection

UNTIL = datetime(2026, 10, 28, 8, 0, tzinfo=UTC)


def issue(n: int, title: str | None = None) -> DigestItem:
    return DigestItem(
        title=title or f"Checkout times out under load, case {n}", key=f"PAY-{n}",
        url=f"https://jira.example/browse/PAY-{n}", status="In Progress", priority="High",
        assignee="Maya Chen",
    )  # fmt: skip


def notice(sections: list[DigestSection], **extra: object) -> DigestNotice:
    return DigestNotice(
        scope="channel", title="Digest · Wednesday 28 October 2026", since=UTC_SINCE, until=UTC_UNTIL,
        tz="Europe/Berlin", projects=["PAY"], sections=sections, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


UTC_UNTIL = UNTIL
UTC_SINCE = UNTIL - timedelta(days=1)


def texts(message: dict[str, object]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def check_limits(messages: list[dict[str, object]]) -> None:
    for message in messages:
        blocks = message["blocks"]
        assert isinstance(blocks, list)
        assert 0 < len(blocks) <= 50
        for block in blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= 150


def test_every_item_links_to_its_issue_or_todo() -> None:
    assert item_line(issue(7)).startswith("• <https://jira.example/browse/PAY-7|PAY-7> Checkout")
    todo = DigestItem(
        title="Send <notes> & slides", url="https://slack.example/p1", todo_id=12, owner="U0MAYA",
        due=date(2026, 10, 26), note="2 days overdue",
    )  # fmt: skip
    line = item_line(todo)
    assert line.startswith("• <https://slack.example/p1|#12> Send &lt;notes&gt; &amp; slides")
    assert "<@U0MAYA>" in line
    assert "due 2026-10-26" in line
    assert "_2 days overdue_" in line


def test_a_short_digest_is_one_message_with_the_window_and_summary() -> None:
    messages = render_parts(
        notice([DigestSection(name="created", title="Created", items=[issue(1)])], summary="PAY moved on.")
    )
    assert len(messages) == 1
    body = texts(messages[0])
    assert "Created* (1)" in body
    assert "PAY moved on." in body
    assert "since Tue 27 Oct 09:00 · as of Wed 28 Oct 09:00 (Europe/Berlin)" in body  # the subscriber's zone
    assert "metadata" not in messages[0]  # not a scheduled delivery


def test_an_empty_digest_says_so() -> None:
    body = texts(digest_messages(notice([DigestSection(name="created", title="Created")]))[0])
    assert "A quiet day" in body


def test_a_long_digest_is_split_between_items_never_inside_one() -> None:
    sections = [
        DigestSection(
            name="created", title="Created", items=[issue(n, "word " * 38 + str(n)) for n in range(400)]
        ),
        DigestSection(name="stale", title="Stale", items=[issue(1000 + n) for n in range(300)], more=12),
    ]
    messages = digest_messages(notice(sections, delivery_id=42))
    assert len(messages) > 1
    check_limits(messages)
    everything = "\n".join(
        block["text"]["text"] for m in messages for block in m["blocks"] if block["type"] == "section"
    )
    lines = [line for line in everything.splitlines() if line.startswith("• ")]
    assert len(lines) == 700  # every item, whole
    assert all(
        re.fullmatch(r"• <https://jira\.example/browse/PAY-\d+\|PAY-\d+> .+ · Maya Chen", ln) for ln in lines
    )
    assert "and 12 more" in json.dumps([m["blocks"] for m in messages])
    for part, message in enumerate(messages):
        assert message["metadata"] == {
            "event_type": "agentpm_delivery",
            "event_payload": {"delivery_id": 42, "part": part},
        }
    assert messages[1]["text"].endswith(f"(2/{len(messages)})")


@settings(max_examples=30, deadline=None)
@given(
    titles=st.lists(st.text(min_size=1, max_size=400), min_size=0, max_size=120),
    summary=st.none() | st.text(max_size=700),
)
def test_any_digest_stays_within_slack_limits(titles: list[str], summary: str | None) -> None:
    items = [issue(i, t) for i, t in enumerate(titles)]
    messages = digest_messages(
        notice([DigestSection(name="created", title="Created", items=items)], summary=summary)
    )
    check_limits(messages)
    count = sum(texts(m).count("• <https://jira.example/browse/PAY-") for m in messages)
    assert count == len(items)
