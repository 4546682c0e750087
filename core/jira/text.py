"""Jira issue descriptions as clean text for search and display.

Jira Cloud (REST v3) sends descriptions as Atlassian Document Format, Data Center (REST v2) as wiki markup.
Search and chat both want plain text without markup noise, yet stack traces and code must survive verbatim
because they are what people search for. Every function here is pure and total: malformed input gives
text (possibly empty), never an exception, and every pattern is linear so a 100 KB description stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

__all__ = ["adf_to_text", "description_text", "wiki_to_text"]

_MAX_DEPTH = 100  # ADF nesting beyond this is hostile or broken; stop before Python's recursion limit
_MANY_NEWLINES = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t\f\v]+$", re.MULTILINE)


def _tidy(text: str) -> str:
    """One normal form for both formats: no trailing spaces, at most one blank line, no outer blank lines."""
    text = _TRAILING_SPACE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _MANY_NEWLINES.sub("\n\n", text).strip("\n")


def description_text(value: Any) -> str:
    """Whichever format the Jira API version sent: ADF (a dict), wiki markup (a str), or nothing."""
    if isinstance(value, dict):
        return adf_to_text(value)
    if isinstance(value, str):
        return wiki_to_text(value)
    return ""


# --- Atlassian Document Format -----------------------------------------------------------------------------

_INLINE = frozenset(
    {
        "text",
        "hardBreak",
        "mention",
        "emoji",
        "inlineCard",
        "date",
        "status",
        "placeholder",
        "inlineExtension",
    }
)
_SKIPPED = frozenset({"media", "mediaSingle", "mediaGroup", "mediaInline", "rule", "extension"})


def adf_to_text(doc: Any) -> str:
    """ADF to text; a str is taken as already rendered, anything not a node as empty."""
    if isinstance(doc, str):
        return doc
    if isinstance(doc, dict):
        return _tidy(_adf_block(doc, 0))
    if isinstance(doc, list):
        return _tidy(_adf_children(doc, 0))
    return ""


def _attrs(node: dict[str, Any]) -> dict[str, Any]:
    attrs = node.get("attrs")
    return attrs if isinstance(attrs, dict) else {}


def _content(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The child nodes that are nodes at all: hand-built or damaged documents hold nulls and strings here."""
    content = node.get("content")
    if not isinstance(content, list):
        return []
    return [child for child in content if isinstance(child, dict)]


def _kind(node: dict[str, Any]) -> str:
    return _str(node.get("type"))


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _adf_children(nodes: Iterable[Any], depth: int, sep: str = "\n\n") -> str:
    """Runs of inline nodes become one line of text; block nodes stand apart, separated by ``sep``."""
    blocks: list[str] = []
    run: list[dict[str, Any]] = []
    for node in nodes:
        if not isinstance(node, dict):
            continue
        if _kind(node) in _INLINE:
            run.append(node)
            continue
        if run:
            blocks.append(_adf_inline(run))
            run = []
        blocks.append(_adf_block(node, depth + 1))
    if run:
        blocks.append(_adf_inline(run))
    return sep.join(block for block in blocks if block.strip())


def _adf_inline(nodes: list[dict[str, Any]]) -> str:
    """Inline nodes, each link's URL once after its text: one link often spans several marked text nodes."""
    out: list[str] = []
    link_text: list[str] = []
    href = ""

    def close_link() -> None:
        text = "".join(link_text)
        out.append(href if not text.strip() else text if text.strip() == href else f"{text} ({href})")
        link_text.clear()

    for node in nodes:
        node_href = _link_href(node) if _kind(node) == "text" else ""
        if node_href != href:
            if href:
                close_link()
            href = node_href
        piece = _adf_inline_node(node)
        (link_text if href else out).append(piece)
    if href:
        close_link()
    return "".join(out)


def _link_href(node: dict[str, Any]) -> str:
    marks = node.get("marks")
    if not isinstance(marks, list):
        return ""
    for mark in marks:
        if isinstance(mark, dict) and _kind(mark) == "link":
            return _str(_attrs(mark).get("href"))
    return ""


def _adf_inline_node(node: dict[str, Any]) -> str:
    kind = _kind(node)
    attrs = _attrs(node)
    if kind == "text":
        return _str(node.get("text"))
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        text = _str(attrs.get("text"))
        return text or (f"@{attrs['id']}" if isinstance(attrs.get("id"), str) and attrs["id"] else "")
    if kind == "emoji":
        return _str(attrs.get("shortName")) or _str(attrs.get("text"))
    if kind == "inlineCard":
        return _str(attrs.get("url"))
    if kind == "date":
        return _iso_date(attrs.get("timestamp"))
    if kind in ("status", "placeholder"):
        return _str(attrs.get("text"))
    return ""


def _iso_date(timestamp: Any) -> str:
    """ADF dates are epoch milliseconds, as a string; the day is all the node ever shows."""
    try:
        millis = int(timestamp)
        return datetime.fromtimestamp(millis / 1000, tz=UTC).date().isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def _adf_block(node: dict[str, Any], depth: int) -> str:
    if depth > _MAX_DEPTH:
        return ""
    kind = _kind(node)
    attrs = _attrs(node)
    if kind in _INLINE:
        return _adf_inline([node])
    if kind in _SKIPPED:
        return ""
    if kind == "codeBlock":
        return "".join(_str(child.get("text")) for child in _content(node))
    if kind in ("bulletList", "orderedList", "taskList", "decisionList"):
        return _adf_list(node, depth)
    if kind == "table":
        return "\n".join(_adf_row(row, depth) for row in _content(node))
    if kind == "tableRow":
        return _adf_row(node, depth)
    if kind == "blockCard" or kind == "embedCard":
        return _str(attrs.get("url"))
    if kind in ("expand", "nestedExpand"):
        title = _str(attrs.get("title")).strip()
        body = _adf_children(_content(node), depth)
        return "\n\n".join(part for part in (title, body) if part)
    return _adf_children(_content(node), depth)


def _adf_list(node: dict[str, Any], depth: int) -> str:
    """One item per line, numbered from the list's own start; nested lists are indented under their item."""
    kind = _kind(node)
    order = _attrs(node).get("order")
    number = order if isinstance(order, int) and not isinstance(order, bool) and order >= 0 else 1
    lines: list[str] = []
    for item in _content(node):
        if kind == "orderedList":
            marker = f"{number}. "
            number += 1
        elif _kind(item) == "taskItem":
            marker = "- [x] " if _attrs(item).get("state") == "DONE" else "- [ ] "
        else:
            marker = "- "
        if _kind(item) in ("listItem", "taskItem", "decisionItem"):
            body = _adf_children(_content(item), depth + 1, "\n")
        else:
            body = _adf_block(item, depth + 1)
        lines.append(_hang(marker, body))
    return "\n".join(lines)


def _hang(marker: str, body: str) -> str:
    """The marker on the first line, later lines indented to line up with the text after it."""
    indent = " " * len(marker)
    first, *rest = body.strip("\n").split("\n")
    return "\n".join([marker + first, *(indent + line if line.strip() else "" for line in rest)])


def _adf_row(row: dict[str, Any], depth: int) -> str:
    cells = [_adf_children(_content(cell), depth + 1, " ") for cell in _content(row)]
    return " | ".join(" ".join(cell.split()) for cell in cells)


# --- Jira wiki markup ---------------------------------------------------------------------------------------

# {code}, {code:java}, {code:title=A.java|borderStyle=solid}, {noformat}; a close tag may carry params too,
# as people often copy the opening tag.
_BLOCK_TAG = re.compile(r"\{(code|noformat)(?::[^{}\n]*+)?\}", re.IGNORECASE)
_PRIVATE = re.compile("[\ue000-\ue07f\ue100\ue101]")  # the placeholders below; meaningless in Jira text
_BREAK = "\ue100"
_CHUNK = "\n\ue101\n"  # between prose chunks; on a line of its own, so no pattern reaches across it
# `\\` is a line break and `\*` a literal star, but `\\` inside a token is an escaped backslash (C:\\tmp).
# Every pattern starts with a literal so that the regex engine can skip ahead to candidates.
_ESCAPE = re.compile(r"\\(?:(?<!\S\\)\\|\\(?!\S)|([!-/:-@\[-`{-~]))")
_UNESCAPE = re.compile("[\ue000-\ue07f]")
_BREAK_SPACED = re.compile("[ \t]*\ue100[ \t]*")
_RULE = re.compile(r"^[ \t]*-{4,}[ \t]*$", re.MULTILINE)
_HEADING = re.compile(r"^[ \t]*(?:h[1-6]|bq)\.[ \t]?", re.MULTILINE | re.IGNORECASE)
_LIST = re.compile(r"^[ \t]*([*#-]++)[ \t]+", re.MULTILINE)
_TABLE_ROW = re.compile(r"^[ \t]*\|[^\n]*+", re.MULTILINE)
_TABLE_CELL = re.compile(r"\|\|?")
_MACRO_TAG = re.compile(r"\{(?:quote|panel|color)(?::[^{}\n]*+)?\}", re.IGNORECASE)
_MONOSPACE = re.compile(r"\{\{((?:[^{}\n]|\{[^{}\n]*+\})++)\}\}")
_MENTION = re.compile(r"\[~(?:accountid:)?([^\[\]\n|]++)\]")
_LINK = re.compile(r"\[([^\[\]\n|]*+)\|([^\[\]\n|]*+)(?:\|[^\[\]\n]*+)?\]")
_BARE_LINK = re.compile(r"\[((?:[a-zA-Z][a-zA-Z0-9+.-]*+://|mailto:|\^)[^\[\]\s|]++)\]")
_IMAGE = re.compile(r"!(?<!\w!)(?=[^!\s|./]*+[./])[^!\s|]++(?:\|[^!\n]*+)?![ \t]*+")
_EFFECTS = "*_-+^~"


def _effect(marker: str) -> re.Pattern[str]:
    """A word-bounded ``*bold*``: after a space or bracket, hugging its text, before a space or punctuation.

    Those rules leave ``a_b_c``, ``HDFS-1234``, ``-Xmx1g -Xms1g``, ``x * y`` and ``/a/*/b/*`` alone. The body
    cannot contain the marker, so each attempt ends at the next marker and the scan stays linear.
    """
    m = re.escape(marker)
    others = re.escape(_EFFECTS.replace(marker, ""))
    before = rf"(?<![^\s(\[{{\"'{others}]{m})"
    after = rf"(?=$|[\s.,;:!?)\]}}\"'{others}])"
    return re.compile(rf"{m}{before}(?=[^\s{m}./\\,;:])([^{m}\n]++)(?<=[^\s{m}/\\]){m}{after}")


_EFFECT_PATTERNS = [_effect(marker) for marker in _EFFECTS]


def wiki_to_text(markup: str | None) -> str:
    """Wiki markup to text: markup dropped, ``{code}`` and ``{noformat}`` bodies kept verbatim."""
    if not isinstance(markup, str) or not markup:
        return ""
    text = _PRIVATE.sub("", markup.replace("\r\n", "\n").replace("\r", "\n"))
    chunks = _split_preformatted(text)
    # All prose goes through the patterns in one piece: thousands of tiny chunks would cost a call each.
    prose = iter(_wiki_prose(_CHUNK.join(chunk for verbatim, chunk in chunks if not verbatim)).split(_CHUNK))
    parts = [_strip_outer_newline(chunk) if verbatim else next(prose).strip() for verbatim, chunk in chunks]
    return _tidy("\n\n".join(part for part in parts if part.strip()))


def _split_preformatted(text: str) -> list[tuple[bool, str]]:
    """Prose and preformatted chunks in order; an unclosed block runs to the end, as Jira renders it."""
    parts: list[tuple[bool, str]] = []
    pos = 0
    search_from = 0
    while True:
        tag = _BLOCK_TAG.search(text, search_from)
        if tag is None:
            parts.append((False, text[pos:]))
            return parts
        start, end = tag.span()
        if start > 0 and text[start - 1] == "{" and text[end : end + 1] == "}":
            search_from = start + 1  # {{code}} is monospace text, not a block
            continue
        parts.append((False, text[pos:start]))
        close = _close_tag(text, tag.group(1).lower(), end)
        if close is None:
            parts.append((True, text[end:]))
            return parts
        parts.append((True, text[end : close[0]]))
        pos = search_from = close[1]


def _close_tag(text: str, name: str, start: int) -> tuple[int, int] | None:
    for tag in _BLOCK_TAG.finditer(text, start):
        if tag.group(1).lower() == name:
            return tag.span()
    return None


def _strip_outer_newline(body: str) -> str:
    """The newline right after the opening tag and the blank tail before the close are layout, not content."""
    if body.startswith("\n"):
        body = body[1:]
    return body.rstrip()


def _wiki_prose(text: str) -> str:
    """Line syntax first (a leading ``-`` is a bullet, not a strike), then inline markup, then tables."""
    text = _ESCAPE.sub(_protect, text)
    text = _RULE.sub("", text)
    text = _HEADING.sub("", text)
    text = _LIST.sub(lambda m: "  " * (len(m.group(1)) - 1) + "- ", text)
    text = _MACRO_TAG.sub("", text)
    text = _IMAGE.sub("", text)
    text = _MENTION.sub(r"@\1", text)
    text = _LINK.sub(_link, text)
    text = _BARE_LINK.sub(lambda m: _shield(m.group(1).removeprefix("^")), text)
    text = _MONOSPACE.sub(r"\1", text)
    for _ in range(2):  # a second pass unwraps nested effects such as *_both_*
        for pattern in _EFFECT_PATTERNS:
            text = pattern.sub(r"\1", text)
    text = _TABLE_ROW.sub(_table_row, text)
    text = _BREAK_SPACED.sub("\n", text)
    return _UNESCAPE.sub(lambda m: chr(ord(m.group()) - 0xE000), text)


def _protect(match: re.Match[str]) -> str:
    """Escaped characters hide in the private-use area until every markup pattern has run."""
    char = match.group(1)
    return _BREAK if char is None else chr(0xE000 + ord(char))


def _table_row(match: re.Match[str]) -> str:
    cells = _TABLE_CELL.split(match.group().strip().strip("|"))
    return " | ".join(" ".join(cell.replace(_BREAK, " ").split()) for cell in cells)


def _link(match: re.Match[str]) -> str:
    text, target = match.group(1).strip(), match.group(2).strip()
    if target.startswith("~"):
        target = "@" + target[1:].removeprefix("accountid:")
    elif target.startswith("^"):
        target = target[1:]
    if not text or text == target:
        return _shield(target)
    return f"{text} ({_shield(target)})" if target else text


_URL_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")


def _shield(target: str) -> str:
    """A link target's punctuation hidden like escapes, so ``http://x/-*a*`` keeps its stars and dashes."""
    return _URL_PUNCTUATION.sub(lambda m: chr(0xE000 + ord(m.group())), target)
