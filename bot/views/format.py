"""Small text helpers shared by the views."""

from __future__ import annotations

from datetime import UTC, datetime

SECTION_TEXT_LIMIT = 3000


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """``3 min ago``-style freshness; ``never`` for no time."""
    if when is None:
        return "never"
    now = now or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int = SECTION_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str, block_id: str | None = None) -> dict[str, object]:
    block: dict[str, object] = {"type": "section", "text": {"type": "mrkdwn", "text": clip(text)}}
    if block_id:
        block["block_id"] = block_id
    return block


def context(text: str) -> dict[str, object]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text)}]}


def split_text(text: str, limit: int = SECTION_TEXT_LIMIT) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at paragraph, line, sentence or word boundaries."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"))
        if cut < limit // 2:
            cut = max(window.rfind(". ") + 1, window.rfind(" "))
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces
