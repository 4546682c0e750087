"""Answers in Slack: the text with linked [n] citations, the sources, freshness, and 👍/👎 buttons.

An answer too long for one message is split at paragraph boundaries into several; the buttons and the
freshness line go on the last one.
"""

from __future__ import annotations

import re
from typing import Any

from bot import ids
from bot.views.format import ago, clip, context, escape, section, split_text
from core.notices import AnswerNotice, AnswerVote, Citation

MAX_BLOCKS = 45  # under Slack's 50 per message, with room for the closing blocks
MESSAGE_CHARS = 11000  # keep each message comfortably readable (and under Slack's 40k text limit)
_CITATION = re.compile(r"\[(\d{1,2})\]")
EXTRACTIVE_LABEL = (
    "Extractive answer: the most relevant passages, quoted as they are (no language model is set up)."
)


def _link_citations(text: str, citations: list[Citation]) -> str:
    urls = {c.number: c.url for c in citations if c.url}

    def link(match: re.Match[str]) -> str:
        url = urls.get(int(match.group(1)))
        return f"<{url}|[{match.group(1)}]>" if url else match.group(0)

    return _CITATION.sub(link, escape(text))


def _source_line(citation: Citation) -> str:
    title = citation.title
    has_key = citation.key and not title.startswith(citation.key)
    name = escape(f"{citation.key} {title}" if has_key else title)
    label = f"<{citation.url}|{name}>" if citation.url else name
    facts = [f for f in (citation.status, citation.assignee) if f]
    if citation.updated:
        facts.append(f"updated {ago(citation.updated)}")
    tail = f" · {escape(' · '.join(facts))}" if facts else ""
    return f"[{citation.number}] {label}{tail}"


def _heading(notice: AnswerNotice) -> list[dict[str, Any]]:
    if not notice.echo_question:
        return []
    who = f"<@{notice.asked_by}> asked" if notice.asked_by else "Question"
    return [section(f"*{who}:* {escape(clip(notice.question, 500))}")]


def _body(notice: AnswerNotice) -> list[dict[str, Any]]:
    if notice.mode == "none":
        found: list[dict[str, Any]] = [section("I found nothing that answers this, so I will not guess.")]
        if notice.nearest:
            lines = ["*Nearest results:*"]
            for hit in notice.nearest:
                name = escape(
                    hit.title if not hit.key or hit.title.startswith(hit.key) else f"{hit.key} {hit.title}"
                )
                label = f"<{hit.url}|{name}>" if hit.url else name
                lines.append(f"• {label}" + (f" · {escape(hit.status)}" if hit.status else ""))
            found.append(section("\n".join(lines)))
        return found
    blocks: list[dict[str, Any]] = []
    if notice.mode == "extractive":
        blocks.append(context(EXTRACTIVE_LABEL))
        for quote in notice.quotes:
            text = _link_citations(f"{quote.text} [{quote.number}]", notice.citations)
            blocks.append(section("> " + text))
    else:
        blocks += [section(piece) for piece in split_text(_link_citations(notice.text, notice.citations))]
    if notice.note:
        blocks.append(context(escape(notice.note)))
    sources = "\n".join(_source_line(c) for c in notice.citations)
    blocks += [section(piece) for piece in split_text("*Sources*\n" + sources)]
    return blocks


def _closing(notice: AnswerNotice) -> list[dict[str, Any]]:
    facts = [f"Jira synced {ago(notice.synced_at)}"]
    if notice.public:
        facts.append("answers here use only what everyone in this conversation may see")
    blocks: list[dict[str, Any]] = [context(" · ".join(facts))]
    if notice.answer_id and notice.mode != "none":
        buttons = []
        for label, action_id, vote in (
            ("👍 Helpful", ids.ACTION_ANSWER_HELPFUL, 1),
            ("👎 Not helpful", ids.ACTION_ANSWER_UNHELPFUL, -1),
        ):
            value = AnswerVote(answer_id=notice.answer_id, vote=vote).model_dump_json()
            button = {"type": "button", "text": {"type": "plain_text", "text": label, "emoji": True}}
            buttons.append(button | {"action_id": action_id, "value": value})
        blocks.append({"type": "actions", "block_id": ids.BLOCK_ANSWER_FEEDBACK, "elements": buttons})
    return blocks


def _fallback(notice: AnswerNotice) -> str:
    if notice.mode == "none":
        return "I found nothing that answers this."
    text = notice.text or "\n".join(q.text for q in notice.quotes)
    return clip(text, 3000)


def answer_messages(notice: AnswerNotice) -> list[dict[str, Any]]:
    """One message, or several when the answer is long; each within Slack's limits."""
    if notice.working:
        text = f"⏳ Looking through what I know to answer: “{escape(clip(notice.question, 300))}”"
        return [{"text": text, "blocks": [*_heading(notice), context(text)]}]
    blocks = _heading(notice) + _body(notice)
    closing = _closing(notice)
    messages: list[list[dict[str, Any]]] = [[]]
    size = 0
    for block in blocks:
        length = len(str(block))
        if messages[-1] and (len(messages[-1]) >= MAX_BLOCKS or size + length > MESSAGE_CHARS):
            messages.append([])
            size = 0
        messages[-1].append(block)
        size += length
    if len(messages[-1]) + len(closing) > 50:
        messages.append([])
    messages[-1] += closing
    text = _fallback(notice)
    return [{"text": text if i == 0 else "(continued)", "blocks": m} for i, m in enumerate(messages)]
