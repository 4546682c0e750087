"""The optional two-or-three-sentence summary on top of a channel digest.

The prompt is built by joining strings (issue titles are user text, never a template). Any failure of the
model costs the summary only: the digest goes out without it.
"""

from __future__ import annotations

from core.config import Settings
from core.logging import get_logger
from core.notices import DigestSection
from core.search.answer_jobs import chat_model
from core.search.llm import ChatModel

log = get_logger(__name__)

MAX_LINES = 60
MAX_SUMMARY_CHARS = 600
SYSTEM = (
    "You summarise a software team's daily Jira digest for a Slack channel. Write two or three short, plain "
    "sentences: what moved, what is blocked or at risk, what needs attention. Use only the facts given. "
    "Mention issue keys where useful. No greetings, no lists, no markdown."
)


def _facts(sections: list[DigestSection]) -> str:
    lines: list[str] = []
    for section in sections:
        if not section.items:
            continue
        lines.append(section.title + ":")
        for item in section.items:
            facts = " | ".join(f for f in (item.key, item.title, item.status, item.priority, item.note) if f)
            lines.append("- " + facts)
    return "\n".join(lines[:MAX_LINES])


def summarise(
    settings: Settings, sections: list[DigestSection], model: ChatModel | None = None
) -> str | None:
    """A short summary of ``sections``, or None (no model configured, nothing to say, or the model failed)."""
    facts = _facts(sections)
    model = model or chat_model(settings)
    if model is None or not facts:
        return None
    try:
        text = model.complete(SYSTEM, "Digest items:\n" + facts + "\n\nSummary:")
    except Exception as exc:  # the model is optional here: a timeout or an error drops the summary only
        log.warning("digest.summary_failed", error=type(exc).__name__)
        return None
    text = " ".join(text.split())
    if len(text) > MAX_SUMMARY_CHARS:
        cut = text[:MAX_SUMMARY_CHARS].rfind(". ")
        text = text[: cut + 1] if cut > 0 else text[: MAX_SUMMARY_CHARS - 1] + "…"
    return text or None
