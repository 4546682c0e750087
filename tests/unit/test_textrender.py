"""Terminal rendering of what the bot posts, used by ``agentpm try``."""

from __future__ import annotations

from typing import Any

import pytest

from bot.textrender import DIVIDER, mrkdwn_to_text, render_message, render_view


def mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("see <https://x.test/a|the doc>", "see the doc (https://x.test/a)"),
        ("see <https://x.test/a>", "see https://x.test/a"),
        ("ping <@U123> in <#C1|general>", "ping @U123 in #general"),
        ("<!here> *bold* &lt;tag&gt; &amp;", "@here *bold* <tag> &"),
        ("<mailto:a@b.test|a@b.test>", "a@b.test (mailto:a@b.test)"),
    ],
)
def test_mrkdwn_links_and_mentions(source: str, expected: str) -> None:
    assert mrkdwn_to_text(source) == expected


def test_text_only_message() -> None:
    assert render_message({"text": "Assigned to <@U1>"}) == "Assigned to @U1"


def test_blocks_take_precedence_over_text() -> None:
    payload = {"text": "fallback", "blocks": [{"type": "section", "text": mrkdwn("*PROJ-1* is done")}]}
    assert render_message(payload) == "*PROJ-1* is done"


def test_header_section_fields_and_accessory() -> None:
    blocks = [
        {"type": "header", "text": plain("Daily digest")},
        {
            "type": "section",
            "text": mrkdwn("<https://jira.test/PROJ-1|PROJ-1> Fix login"),
            "fields": [mrkdwn("*Status:*\nOpen"), mrkdwn("*Owner:*\n<@U7>")],
            "accessory": {"type": "button", "text": plain("Open"), "action_id": "open"},
        },
        {"type": "divider"},
        {"type": "context", "elements": [mrkdwn("Updated 5m ago"), {"type": "image", "alt_text": "jira"}]},
    ]
    assert render_message({"blocks": blocks}).splitlines() == [
        "Daily digest",
        "============",
        "PROJ-1 (https://jira.test/PROJ-1) Fix login",
        "*Status:* Open",
        "*Owner:* @U7",
        "  [ Open ]",
        DIVIDER,
        "Updated 5m ago  [image: jira]",
    ]


def test_actions_with_buttons_select_and_overflow() -> None:
    actions = {
        "type": "actions",
        "elements": [
            {"type": "button", "text": plain("Assign to me"), "action_id": "a"},
            {"type": "static_select", "placeholder": plain("Priority"), "options": []},
            {
                "type": "static_select",
                "initial_option": {"text": plain("High"), "value": "h"},
                "placeholder": plain("Priority"),
            },
            {"type": "overflow", "options": []},
        ],
    }
    assert render_message({"blocks": [actions]}) == "[ Assign to me ] [ Priority v ] [ High v ] [ ... ]"


def test_rich_text_and_image() -> None:
    rich = {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "text", "text": "Hi "},
                    {"type": "user", "user_id": "U1"},
                    {"type": "text", "text": " see "},
                    {"type": "link", "url": "https://x.test", "text": "this"},
                ],
            },
            {
                "type": "rich_text_list",
                "style": "ordered",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": "one"}]},
                    {"type": "rich_text_section", "elements": [{"type": "emoji", "name": "tada"}]},
                ],
            },
        ],
    }
    image = {"type": "image", "image_url": "https://x.test/i.png", "alt_text": "burndown"}
    assert render_message({"blocks": [rich, image]}).splitlines() == [
        "Hi @U1 see this (https://x.test)",
        "1. one",
        "2. :tada:",
        "[image: burndown]",
    ]


@pytest.mark.parametrize(
    "junk",
    [
        [{"type": "video", "title": plain("x")}, {"type": "section", "text": mrkdwn("kept")}],
        [None, 3, "str", {"type": "section", "text": 5}, {"type": "section", "text": mrkdwn("kept")}],
        [
            {"type": "rich_text", "elements": [{"type": "rich_text_list", "indent": "x", "elements": 7}]},
            {"type": "actions", "elements": [{"no": "type"}, None]},
            {"type": "section", "text": mrkdwn("kept")},
        ],
    ],
)
def test_unknown_and_malformed_blocks_are_skipped(junk: list[Any]) -> None:
    assert render_message({"text": "fallback", "blocks": junk}) == "kept"


def test_falls_back_to_text_when_no_block_renders() -> None:
    assert render_message({"text": "fallback", "blocks": [{"type": "file"}]}) == "fallback"
    assert render_message({"blocks": "not json"}) == ""


def test_modal_with_inputs_and_buttons() -> None:
    view = {
        "type": "modal",
        "title": plain("New TODO"),
        "submit": plain("Create"),
        "blocks": [
            {"type": "input", "label": plain("Title"), "element": {"type": "plain_text_input"}},
            {
                "type": "input",
                "label": plain("Due"),
                "optional": True,
                "element": {"type": "datepicker", "initial_date": "2026-01-05"},
                "hint": plain("Local time"),
            },
        ],
    }
    assert render_view(view).splitlines() == [
        "=== New TODO ===",
        "Title: [ ________ ]",
        "Due (optional): [ 2026-01-05 ]",
        "  Local time",
        "[ Cancel ]  [ Create ]",
    ]


def test_app_home_has_no_buttons() -> None:
    view = {"type": "home", "blocks": [{"type": "section", "text": mrkdwn("Your TODOs")}]}
    assert render_view(view) == "=== Home ===\nYour TODOs"
