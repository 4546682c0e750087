"""Render Slack messages and views as plain terminal text for ``agentpm try``.

Pure functions only. Input comes straight from what the bot sends to Slack, so every lookup is
defensive: malformed or unknown blocks are skipped rather than crashing the terminal session.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

DIVIDER = "-" * 40
_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _seq(value: Any) -> list[Any]:
    if isinstance(value, str):  # form-encoded payloads carry blocks as a JSON string
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return list(value) if isinstance(value, list | tuple) else []


def _link(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith("@"):
        return f"@{label}" if label else target
    if target.startswith("#"):
        return f"#{label}" if label else target
    if target.startswith("!"):
        special = target[1:].split("^", 1)[0]
        return label or (f"@{special}" if special in ("here", "channel", "everyone") else special)
    return f"{label} ({target})" if label and label != target else target


def mrkdwn_to_text(text: str) -> str:
    """Turn Slack link/mention syntax into readable text; emphasis markers are kept as typed."""
    return html.unescape(_LINK.sub(_link, text))


def _text(obj: Any) -> str:
    """A text object (mrkdwn or plain_text) or a bare string."""
    if isinstance(obj, str):
        return mrkdwn_to_text(obj)
    obj = _map(obj)
    text = obj.get("text")
    if not isinstance(text, str):
        return ""
    return mrkdwn_to_text(text) if obj.get("type") == "mrkdwn" else text


def _element(el: Any) -> str:
    """Interactive elements and images as compact inline text."""
    el = _map(el)
    kind = el.get("type")
    if kind == "button":
        return f"[ {_text(el.get('text'))} ]"
    if kind == "overflow":
        return "[ ... ]"
    if kind == "image":
        return f"[image: {el.get('alt_text', '')}]"
    if kind in ("mrkdwn", "plain_text"):
        return _text(el)
    chosen = _text(_map(el.get("initial_option")).get("text")) or _text(el.get("placeholder"))
    for key in ("initial_date", "initial_time", "initial_value", "initial_user", "initial_channel"):
        if isinstance(el.get(key), str):
            chosen = el[key]
    if kind and str(kind).endswith("_select"):
        return f"[ {chosen or 'Select'} v ]"
    if not chosen and str(kind).endswith("_input"):
        chosen = "________"
    return f"[ {chosen} ]" if chosen else f"[ {kind} ]" if kind else ""


def _rich(el: Any) -> str:
    """Inline rich_text elements (text, link, user, channel, emoji, broadcast)."""
    el = _map(el)
    kind = el.get("type")
    if kind == "text":
        return str(el.get("text", ""))
    if kind == "link":
        url, label = str(el.get("url", "")), el.get("text")
        return f"{label} ({url})" if label and label != url else url
    if kind == "user":
        return f"@{el.get('user_id', '')}"
    if kind == "channel":
        return f"#{el.get('channel_id', '')}"
    if kind == "emoji":
        return f":{el.get('name', '')}:"
    if kind == "broadcast":
        return f"@{el.get('range', '')}"
    return ""


def _rich_block(el: Any) -> list[str]:
    el = _map(el)
    kind = el.get("type")
    inline = "".join(_rich(child) for child in _seq(el.get("elements")))
    if kind == "rich_text_section":
        return [inline]
    if kind == "rich_text_preformatted":
        return ["    " + line for line in inline.splitlines()]
    if kind == "rich_text_quote":
        return ["> " + line for line in inline.splitlines()]
    if kind == "rich_text_list":
        indent = "  " * (el["indent"] if isinstance(el.get("indent"), int) else 0)
        ordered = el.get("style") == "ordered"
        items = _seq(el.get("elements"))
        return [
            f"{indent}{f'{n}.' if ordered else '-'} {' '.join(_rich_block(item))}"
            for n, item in enumerate(items, 1)
        ]
    return []


def _section(block: Mapping[str, Any]) -> list[str]:
    lines = [_text(block.get("text"))] if block.get("text") else []
    lines += [" ".join(_text(f).split("\n")) for f in _seq(block.get("fields"))]
    accessory = _element(block.get("accessory")) if block.get("accessory") else ""
    if accessory:
        lines.append(f"  {accessory}")
    return lines


def _input(block: Mapping[str, Any]) -> list[str]:
    label = _text(block.get("label")) + (" (optional)" if block.get("optional") else "")
    lines = [f"{label}: {_element(block.get('element'))}"]
    if block.get("hint"):
        lines.append(f"  {_text(block.get('hint'))}")
    return lines


_BLOCKS: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    "header": lambda b: [(t := _text(b.get("text"))), "=" * len(t)],
    "section": _section,
    "context": lambda b: ["  ".join(filter(None, map(_element, _seq(b.get("elements")))))],
    "divider": lambda b: [DIVIDER],
    "actions": lambda b: [" ".join(filter(None, map(_element, _seq(b.get("elements")))))],
    "rich_text": lambda b: [line for el in _seq(b.get("elements")) for line in _rich_block(el)],
    "image": lambda b: [f"[image: {b.get('alt_text', '')}]"],
    "input": _input,
    "markdown": lambda b: [str(b.get("text", ""))],
}


def render_blocks(blocks: Any) -> str:
    """Render a list of Block Kit blocks, skipping unknown or malformed ones."""
    out: list[str] = []
    for block in map(_map, _seq(blocks)):
        renderer = _BLOCKS.get(str(block.get("type")))
        if renderer is not None:
            out.extend(line for line in renderer(block) if line)
    return "\n".join(out)


def render_message(payload: Mapping[str, Any]) -> str:
    """Blocks win over ``text`` (which is only the notification fallback) when they render anything."""
    parts = [render_blocks(payload.get("blocks")) or mrkdwn_to_text(str(payload.get("text") or ""))]
    for attachment in map(_map, _seq(payload.get("attachments"))):
        fallback = attachment.get("text") or attachment.get("fallback") or ""
        parts.append(render_blocks(attachment.get("blocks")) or mrkdwn_to_text(str(fallback)))
    return "\n".join(p for p in parts if p)


def render_view(view: Mapping[str, Any]) -> str:
    """A modal (title, blocks, close/submit buttons) or an App Home tab."""
    is_home = view.get("type") == "home"
    title = _text(view.get("title")) or ("Home" if is_home else "")
    lines = [f"=== {title} ===" if title else "======"]
    body = render_blocks(view.get("blocks"))
    if body:
        lines.append(body)
    if not is_home:
        buttons = [f"[ {_text(view.get('close')) or 'Cancel'} ]"]
        if view.get("submit"):
            buttons.append(f"[ {_text(view.get('submit'))} ]")
        lines.append("  ".join(buttons))
    return "\n".join(lines)
