"""Digests and reminders in Slack: a header, the optional summary, then one section per kind of item.

Every item links to its issue or TODO. A long digest is split into several messages (the rest go in the
first one's thread) between items, never inside one: each message stays under 50 blocks and each section
text under 3,000 characters. A scheduled delivery's messages carry Slack message metadata naming the
delivery, so a worker that died after posting can be recognised in the channel's history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.views.format import SECTION_TEXT_LIMIT, clip, context, escape, section
from core.notices import DigestItem, DigestNotice, DigestSection

DELIVERY_EVENT = "agentpm_delivery"
MAX_BLOCKS = 45  # under Slack's 50 per message
MESSAGE_CHARS = 12000  # readable, and far under Slack's limits for a message
TITLE_CHARS = 200  # an item's title; the line with its facts stays well under a section's 3,000
HEADER_CHARS = 150  # Slack's limit for a header block's text


def _local(when: datetime, tz: str) -> str:
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return when.astimezone(zone).strftime("%a %d %b %H:%M")


def _link(escaped: str, url: str | None) -> str:
    return f"<{url}|{escaped}>" if url else escaped


def item_line(item: DigestItem) -> str:
    """One bullet: the linked key or TODO number, the title, then the facts that matter."""
    title = escape(clip(" ".join(item.title.split()), TITLE_CHARS))
    if item.todo_id is not None:
        head = f"{_link(f'#{item.todo_id}', item.url)} {title}"
        facts = [f"<@{item.owner}>"] if item.owner else []
        if item.due:
            facts.append(f"due {item.due.isoformat()}")
    else:
        head = f"{_link(escape(item.key), item.url)} {title}" if item.key else _link(title, item.url)
        facts = [escape(f) for f in (item.status, item.priority, item.assignee) if f]
    if item.note:
        facts.append(f"_{escape(item.note)}_")
    return "• " + head + (" · " + " · ".join(facts) if facts else "")


def _section_blocks(part: DigestSection) -> list[dict[str, Any]]:
    """The section's items, packed into section blocks whole; the title repeats on a continued block."""
    blocks: list[dict[str, Any]] = []
    heading = f"*{escape(part.title)}* ({len(part.items) + part.more})"
    lines: list[str] = [heading]
    for line in (item_line(item) for item in part.items):
        if len("\n".join([*lines, line])) > SECTION_TEXT_LIMIT:
            blocks.append(section("\n".join(lines)))
            lines = [f"*{escape(part.title)}* (continued)"]
        lines.append(line)
    blocks.append(section("\n".join(lines)))
    if part.more:
        blocks.append(context(f"…and {part.more} more not listed here."))
    return blocks


def _window(notice: DigestNotice) -> str:
    facts = []
    if notice.since:
        facts.append(f"since {_local(notice.since, notice.tz)}")
    facts.append(f"as of {_local(notice.until, notice.tz)} ({notice.tz})")
    if notice.projects:
        facts.append("projects " + ", ".join(escape(p) for p in notice.projects))
    return " · ".join(facts)


def _closing(notice: DigestNotice) -> str:
    if notice.scope == "channel":
        who = f" · asked for by <@{notice.requested_by}>" if notice.requested_by else ""
        return "Only what everyone here may see is included · `/pm digest unsubscribe` stops it" + who
    if notice.scope == "reminder":
        return "`/pm todo done <id>` or `/pm todo snooze <id> 1d` · one reminder a day at most"
    return "Your daily digest · `/pm todo list mine` for all your TODOs"


def _empty_text(notice: DigestNotice) -> str:
    if notice.scope == "channel":
        return "Nothing new in Jira, nothing blocked or stale, and no overdue TODOs. A quiet day."
    return "Nothing due and nothing assigned to you that is open."


def digest_blocks(notice: DigestNotice) -> list[dict[str, Any]]:
    """Every block of the digest, in order, before it is split into messages."""
    header = {"type": "header", "text": {"type": "plain_text", "text": clip(notice.title, HEADER_CHARS)}}
    blocks: list[dict[str, Any]] = [header, context(_window(notice))]
    if notice.summary:
        blocks.append(section(escape(notice.summary)))
    filled = [s for s in notice.sections if s.items or s.more]
    for part in filled:
        blocks += _section_blocks(part)
    if not filled:
        blocks.append(section(_empty_text(notice)))
    blocks.append(context(_closing(notice)))
    return blocks


def _metadata(notice: DigestNotice, part: int) -> dict[str, Any]:
    payload = {"delivery_id": notice.delivery_id, "part": part}
    return {"event_type": DELIVERY_EVENT, "event_payload": payload}


def digest_messages(notice: DigestNotice) -> list[dict[str, Any]]:
    """One message, or several for a long digest; each within Slack's limits, split between blocks."""
    messages: list[list[dict[str, Any]]] = [[]]
    size = 0
    for block in digest_blocks(notice):
        length = len(str(block))
        if messages[-1] and (len(messages[-1]) >= MAX_BLOCKS or size + length > MESSAGE_CHARS):
            messages.append([])
            size = 0
        messages[-1].append(block)
        size += length
    total = len(messages)
    rendered: list[dict[str, Any]] = []
    for index, blocks in enumerate(messages):
        text = clip(notice.title, 300) if index == 0 else f"{clip(notice.title, 200)} ({index + 1}/{total})"
        message: dict[str, Any] = {"text": text, "blocks": blocks}
        if notice.delivery_id is not None:
            message["metadata"] = _metadata(notice, index)
        rendered.append(message)
    return rendered
