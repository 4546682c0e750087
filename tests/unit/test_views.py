"""bot.views: pure Block Kit builders that stay within Slack's limits whatever the data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot import ids
from bot.views.errors import error_message
from bot.views.format import SECTION_TEXT_LIMIT, ago, clip, escape
from bot.views.help import SubcommandHelp, help_message
from bot.views.notices import render_notice
from bot.views.status import status_message
from core.notices import ErrorNotice, ProjectStatus, StatusReport

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
MAX_BLOCKS = 50
MAX_BUTTON_VALUE = 2000
MAX_HEADER_TEXT = 150


def text_objects(blocks: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Every (block type, text object) of the message."""
    found: list[tuple[str, dict[str, Any]]] = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            found.append((block["type"], block["text"]))
        for element in block.get("elements", []):
            if element.get("type") in ("mrkdwn", "plain_text"):
                found.append((block["type"], element))
    return found


def assert_within_slack_limits(message: dict[str, Any]) -> None:
    blocks = message["blocks"]
    assert isinstance(message["text"], str)
    assert message["text"]
    assert 0 < len(blocks) <= MAX_BLOCKS
    for block_type, text in text_objects(blocks):
        assert text["type"] in ("mrkdwn", "plain_text")
        assert len(text["text"]) <= SECTION_TEXT_LIMIT
        if block_type == "header":
            assert text["type"] == "plain_text"
            assert len(text["text"]) <= MAX_HEADER_TEXT
    for block in blocks:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("type") == "button":
                assert len(element.get("value", "")) <= MAX_BUTTON_VALUE
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))


def report(projects: list[ProjectStatus], **kwargs: Any) -> StatusReport:
    values: dict[str, Any] = {
        "projects": projects,
        "documents": {"jira": 40, "slack": 0, "meeting": 0},
        "generated_at": NOW,
    }
    values.update(kwargs)
    return StatusReport(**values)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(seconds=0), "just now"),
        (timedelta(seconds=59), "just now"),
        (timedelta(seconds=60), "1 min ago"),
        (timedelta(minutes=59, seconds=59), "59 min ago"),
        (timedelta(hours=1), "1 h ago"),
        (timedelta(hours=23, minutes=59), "23 h ago"),
        (timedelta(days=1), "1 d ago"),
        (timedelta(days=400), "400 d ago"),
        (timedelta(seconds=-30), "just now"),  # a clock slightly ahead is not "in the future"
    ],
)
def test_ago(delta: timedelta, expected: str) -> None:
    assert ago(NOW - delta, now=NOW) == expected


def test_ago_never_and_naive_times() -> None:
    assert ago(None) == "never"
    assert ago((NOW - timedelta(minutes=3)).replace(tzinfo=None), now=NOW) == "3 min ago"


def test_ago_defaults_to_the_current_time() -> None:
    assert ago(datetime.now(UTC) - timedelta(hours=2)) == "2 h ago"


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a & b", "a &amp; b"),
        ("<@U123> <!channel>", "&lt;@U123&gt; &lt;!channel&gt;"),
        ("&lt;", "&amp;lt;"),
        ("*bold* _it_ `code`", "*bold* _it_ `code`"),
        ("", ""),
    ],
)
def test_escape(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped


def test_clip() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcd", 3) == "ab…"
    assert len(clip("x" * 10_000)) == SECTION_TEXT_LIMIT


def test_status_message_lists_projects_and_counts() -> None:
    message = status_message(
        report(
            [
                ProjectStatus(
                    key="PAY",
                    name="Payments",
                    issues=25,
                    last_sync=NOW - timedelta(minutes=3),
                    last_outcome="ok",
                ),
                ProjectStatus(
                    key="OPS",
                    name="Ops <core>",
                    issues=15,
                    last_sync=NOW - timedelta(hours=2),
                    last_outcome="error",
                    last_error="HTTP 401 from Jira",
                ),
                ProjectStatus(key="NEW"),
            ],
            vectors=12,
            pending_jobs=3,
        ),
        now=NOW,
    )
    assert_within_slack_limits(message)
    assert message["text"] == "Agent PM status: 40 Jira issues in 3 projects"
    (jira,) = [b for b in message["blocks"] if b.get("block_id") == ids.BLOCK_STATUS]
    text = jira["text"]["text"]
    assert "*PAY* Payments: 25 issues, synced 3 min ago (✅ ok)" in text
    assert "*OPS* Ops &lt;core&gt;: 15 issues, synced 2 h ago (⚠️ failed): HTTP 401 from Jira" in text
    assert "*NEW* : 0 issues, synced never (not synced yet)" in text
    everything = str(message["blocks"])
    assert "jira 40, slack 0, meeting 0" in everything
    assert "local, 12 vectors" in everything
    assert "Pending jobs: 3" in everything


def test_status_message_without_projects_or_queue() -> None:
    message = status_message(report([], pending_jobs=None))
    assert_within_slack_limits(message)
    everything = str(message["blocks"])
    assert "No Jira project synced yet." in everything
    assert "Pending jobs: unknown" in everything


def test_status_message_with_500_projects_stays_within_limits() -> None:
    projects = [
        ProjectStatus(
            key=f"P{i}",
            name="A rather long project name " * 3,
            issues=i,
            last_sync=NOW,
            last_outcome="error",
            last_error="x" * 5000,
        )
        for i in range(500)
    ]
    message = status_message(report(projects), now=NOW)
    assert_within_slack_limits(message)
    assert message["text"] == f"Agent PM status: {sum(range(500))} Jira issues in 500 projects"


def test_help_lists_every_subcommand_sorted() -> None:
    subs = [
        SubcommandHelp("status", "status", "What is synced."),
        SubcommandHelp("help", "help", "List the commands."),
    ]
    message = help_message(subs)
    assert_within_slack_limits(message)
    (listing,) = [b for b in message["blocks"] if b.get("block_id") == ids.BLOCK_HELP]
    text = listing["text"]["text"]
    assert text.index("`/pm help`") < text.index("`/pm status`")
    assert message["text"] == "Agent PM commands: help, status"


def test_help_with_a_hint_puts_it_first() -> None:
    message = help_message([SubcommandHelp("help", "help", "List.")], hint="I don't know `stauts`.")
    assert message["blocks"][0]["text"]["text"] == "I don't know `stauts`."
    assert message["text"].startswith("I don't know `stauts`.\n")


def test_help_with_many_long_subcommands_stays_within_limits() -> None:
    subs = [SubcommandHelp(f"cmd{i}", f"cmd{i} <arg>", "d" * 300) for i in range(200)]
    assert_within_slack_limits(help_message(subs, hint="h" * 5000))


def test_error_message_shows_the_error_id() -> None:
    message = error_message("Something went wrong while doing that.", "E1A2B3C4D")
    assert_within_slack_limits(message)
    assert message["blocks"][0]["block_id"] == ids.BLOCK_ERROR
    text = message["blocks"][0]["text"]["text"]
    assert text == ":warning: Something went wrong while doing that. (error ID `E1A2B3C4D`)"
    assert message["text"] == text


def test_error_message_without_id_and_with_markup() -> None:
    message = error_message("You may not see <#C1|secret>.")
    assert message["text"] == ":warning: You may not see &lt;#C1|secret&gt;."
    assert "error ID" not in message["text"]


def test_a_10000_character_error_stays_within_limits() -> None:
    assert_within_slack_limits(error_message("boom " * 2000, "E1A2B3C4D"))


def test_a_long_error_keeps_its_error_id_visible() -> None:
    message = error_message("boom " * 2000, "E1A2B3C4D")
    assert "E1A2B3C4D" in message["blocks"][0]["text"]["text"]


def test_render_notice_maps_each_notice() -> None:
    status = render_notice(report([ProjectStatus(key="PAY", issues=2)]))
    assert status["text"].startswith("Agent PM status:")
    error = render_notice(ErrorNotice(message="Something went wrong while doing that.", error_id="E0000BEEF"))
    assert_within_slack_limits(error)
    assert "E0000BEEF" in error["text"]
    assert "Traceback" not in str(error)


def test_render_notice_refuses_unknown_notices() -> None:
    with pytest.raises(TypeError, match="no view for dict"):
        render_notice({"kind": "error", "message": "x"})  # type: ignore[arg-type]
