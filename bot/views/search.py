"""`/pm search` results: title and link, status, assignee, freshness, a snippet; More and Share buttons."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.views.format import ago, clip, context, escape, section
from core.notices import SearchHit, SearchPage

BUTTON_VALUE_LIMIT = 2000


def _hit(number: int, hit: SearchHit) -> dict[str, Any]:
    title = escape(hit.title)
    link = f"<{hit.url}|{title}>" if hit.url else title
    facts = [f for f in (hit.status, hit.assignee or ("unassigned" if hit.source == "jira" else None)) if f]
    if hit.updated:
        facts.append(f"updated {ago(hit.updated)}")
    line = f"*{number}. {link}*"
    if facts:
        line += "\n" + escape(" · ".join(facts))
    if hit.snippet:
        line += "\n> " + escape(clip(hit.snippet, 400))
    return section(line)


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": text}}
    button.update(action_id=action_id, value=value)
    if style:
        button["style"] = style
    return button


def search_message(page: SearchPage) -> dict[str, Any]:
    state = page.state
    query = escape(clip(state.q, 80 if state.similar else 200))
    if not page.hits:
        if state.similar:
            text = "No similar issues found." if state.offset == 0 else "No more similar issues."
        else:
            text = f"No results for “{query}”." if state.offset == 0 else f"No more results for “{query}”."
        return {"text": text, "blocks": [section(text)]}
    first = state.offset + 1
    what = "Issues similar to the message" if state.similar else "Results"
    header = f"{what} {first}–{state.offset + len(page.hits)} for “{query}”"
    if state.similar:
        header = f"{what} “{query}” ({first}–{state.offset + len(page.hits)})"
    if page.shared_by:
        header = f"<@{page.shared_by}> shared search results for “{query}”"
    blocks: list[dict[str, Any]] = [section(f"*{header}*")]
    blocks += [_hit(first + i, hit) for i, hit in enumerate(page.hits)]
    blocks.append(context(f"Jira synced {ago(page.synced_at)}"))
    if not page.shared_by:
        buttons = []
        if page.has_more:
            more = state.model_copy(update={"offset": state.offset + len(page.hits)}).model_dump_json()
            if len(more) <= BUTTON_VALUE_LIMIT:
                buttons.append(_button("More results", ids.ACTION_SEARCH_MORE, more))
        shared = state.model_dump_json()
        if len(shared) <= BUTTON_VALUE_LIMIT:
            buttons.append(_button("Share in channel", ids.ACTION_SEARCH_SHARE, shared, "primary"))
        if buttons:
            blocks.append({"type": "actions", "block_id": ids.BLOCK_SEARCH_ACTIONS, "elements": buttons})
    return {"text": header, "blocks": blocks}
