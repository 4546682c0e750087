"""Text people typed in Slack as a Jira description or comment: ADF for Cloud, wiki markup for Data Center.

Slack's own syntax is understood (``<url|label>``, ``<url>``, ``<@U123>``, ``<#C123|name>``, ``<!here>`` and
the ``&lt; &gt; &amp;`` escapes of message text), bare URLs become links, blank lines start paragraphs and
single newlines are line breaks. Everything else is text: for wiki markup, the characters Jira would read as
markup are escaped, so ``*not bold*``, ``{code}`` or ``[~name]`` arrive as typed. The functions are pure and
total: any input gives a document, never an exception. ``core.jira.text`` turns both formats back into text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["slack_to_text", "text_to_adf", "text_to_wiki", "wiki_escape"]


@dataclass(frozen=True)
class _Link:
    url: str
    label: str


_Piece = str | _Link
_Line = list[_Piece]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # not text; Jira's XML storage refuses some
_BLANK_LINES = re.compile(r"\n(?:[ \t\f\v]*\n)+")
_SLACK_TOKEN = re.compile(r"<([^<>\n]{1,2000})>")
_ENTITY = re.compile(r"&(lt|gt|amp);")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&"}
_URL_START = re.compile(r"(?:https?|ftp)://|mailto:", re.IGNORECASE)
_BARE_URL = re.compile(r"(?:https?|ftp)://[^\s<>\[\]|\"{}\\^`]+", re.IGNORECASE)
_URL_TAIL = ".,;:!?'*_~"
_LINKABLE = ("http://", "https://", "ftp://", "mailto:")
_URL_ESCAPES = {"[": "%5B", "]": "%5D", "|": "%7C", " ": "%20", "\t": "%09"}


def _unescape(text: str) -> str:
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)


def _normalize(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _slack_token(inner: str) -> _Piece | None:
    """One ``<…>`` of Slack's message syntax, or None when it is literal text (a modal's ``<tag>``)."""
    target, _, label = inner.partition("|")
    label = _unescape(label)
    if target[:1] == "@" and len(target) > 1:
        return "@" + (label.lstrip("@") or target[1:])
    if target[:1] == "#" and len(target) > 1:
        return "#" + (label.lstrip("#") or target[1:])
    if target[:1] == "!" and len(target) > 1:
        if label:
            return label  # <!subteam^S1|@team>, <!date^…|fallback>
        return "@" + target[1:].split("^", 1)[0]
    if _URL_START.match(target) and not any(c.isspace() for c in target):
        url = _unescape(target)
        return _Link(url, label or url)
    return None


def _bare_urls(text: str) -> list[_Piece]:
    """Text with its bare URLs as links; trailing punctuation and an unbalanced ``)`` stay outside."""
    pieces: list[_Piece] = []
    pos = 0
    for match in _BARE_URL.finditer(text):
        url = match.group()
        while url and (url[-1] in _URL_TAIL or (url[-1] == ")" and url.count("(") < url.count(")"))):
            url = url[:-1]
        if "://" not in url or url.endswith("://"):
            continue
        pieces.append(text[pos : match.start()])
        pieces.append(_Link(url, url))
        pos = match.start() + len(url)
    pieces.append(text[pos:])
    return [p for p in pieces if p != ""]


def _line(text: str) -> _Line:
    pieces: _Line = []
    pos = 0
    for match in _SLACK_TOKEN.finditer(text):
        token = _slack_token(match.group(1))
        if token is None:
            continue
        pieces.extend(_bare_urls(_unescape(text[pos : match.start()])))
        pieces.append(token)
        pos = match.end()
    pieces.extend(_bare_urls(_unescape(text[pos:])))
    merged: _Line = []
    for piece in pieces:  # adjacent text pieces as one, so escaping sees real neighbours
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        elif piece != "":
            merged.append(piece)
    return merged


def _paragraphs(text: str) -> list[list[_Line]]:
    """Paragraphs (split on blank lines) of lines of pieces; paragraphs with nothing visible are dropped."""
    paragraphs = []
    for block in _BLANK_LINES.split(_normalize(text)):
        lines = [_line(line) for line in block.split("\n")]
        if any(_visible(line) for line in lines):
            while lines and not _visible(lines[0]):
                lines.pop(0)
            while lines and not _visible(lines[-1]):
                lines.pop()
            paragraphs.append(lines)
    return paragraphs


def _visible(line: _Line) -> bool:
    return any(isinstance(piece, _Link) or piece.strip() for piece in line)


def slack_to_text(text: str) -> str:
    """Slack message text as plain text: links as ``label (url)``, mentions as ``@name``, entities undone."""
    lines = []
    for line in _line_pieces(_normalize(text)):
        parts = []
        for piece in line:
            if isinstance(piece, _Link):
                parts.append(piece.url if piece.label == piece.url else f"{piece.label} ({piece.url})")
            else:
                parts.append(piece)
        lines.append("".join(parts))
    return "\n".join(lines)


def _line_pieces(text: str) -> list[_Line]:
    return [_line(line) for line in text.split("\n")]


# --- ADF (Jira Cloud, REST v3) ------------------------------------------------------------------------------


def text_to_adf(text: str) -> dict[str, Any]:
    """An ADF document: a paragraph per blank-line-separated block, hardBreaks between its lines, links."""
    content = []
    for lines in _paragraphs(text):
        nodes: list[dict[str, Any]] = []
        for index, line in enumerate(lines):
            if index:
                nodes.append({"type": "hardBreak"})
            nodes.extend(_adf_piece(piece) for piece in line)
        content.append({"type": "paragraph", "content": nodes})
    return {"type": "doc", "version": 1, "content": content}


def _adf_piece(piece: _Piece) -> dict[str, Any]:
    if isinstance(piece, str):
        return {"type": "text", "text": piece}
    if piece.url.lower().startswith(_LINKABLE):
        mark = {"type": "link", "attrs": {"href": piece.url}}
        return {"type": "text", "text": piece.label or piece.url, "marks": [mark]}
    return {"type": "text", "text": _plain_link(piece)}  # a scheme Jira would refuse as a link


def _plain_link(link: _Link) -> str:
    return link.url if link.label in ("", link.url) else f"{link.label} ({link.url})"


# --- wiki markup (Jira Data Center, REST v2) ----------------------------------------------------------------

_ALWAYS = frozenset("{}[]|")
_EFFECTS = frozenset("*_-+^~")
_HEADING = re.compile(r"(h[1-6]|bq)\.", re.IGNORECASE)
_BLOCK_MACRO = re.compile(r"\{(?:code|noformat)(?=:)", re.IGNORECASE)
# Jira draws these as icons: (x) (/) (!) (?) (i) (y) (n) (on) (off) (*) (+) (-) and coloured stars (*r)…
_EMOTICON = re.compile(r"\((?:[x/!?iyn*+-]|on|off|\*[rgby])\)", re.IGNORECASE)


def wiki_escape(text: str, *, line_start: bool = True) -> str:
    """One line of text (or, with ``line_start=False``, the rest of one) as wiki markup Jira shows as is.

    Escaped: braces, brackets and pipes always (macros, links, mentions, tables); ``*_-+^~`` unless they sit
    inside a word (``snake_case``, ``PAY-12``) or alone between spaces (`` - ``), where Jira reads no markup;
    a leading ``#`` or heading (``h1.``); doubled ``??`` and ``!`` (citations, images); icon codes like
    ``(x)``. Backslashes are left alone: Jira's ``\\\\`` is a line break, so no escaping of them is faithful.
    """
    out: list[str] = []
    colon_after_macro = {m.end() for m in _BLOCK_MACRO.finditer(text)}
    emoticons = {m.start() for m in _EMOTICON.finditer(text)}
    lead = len(text) - len(text.lstrip(" \t")) if line_start else -1
    heading = _HEADING.match(text, lead) if line_start else None
    images = text.count("!") > 1
    for index, char in enumerate(text):
        before = text[index - 1] if index else ""
        after = text[index + 1] if index + 1 < len(text) else ""
        escape = (
            char in _ALWAYS
            or (char in _EFFECTS and _effect_may_apply(before, after, index <= lead))
            or (char == "#" and index == lead)
            or (char == "." and heading is not None and index == heading.end() - 1)
            or (char == "?" and "?" in (before, after))
            or (char == "!" and images)
            or (char == ":" and index in colon_after_macro)
            or (char == "(" and index in emoticons)
        )
        out.append("\\" + char if escape else char)
    return "".join(out)


def _effect_may_apply(before: str, after: str, line_start: bool) -> bool:
    if line_start:
        return True  # "- item", "* item", "----"
    if before.isalnum() and after.isalnum():
        return False
    return not (before.isspace() and after.isspace())


def text_to_wiki(text: str) -> str:
    """Wiki markup: paragraphs split by blank lines, one line per line, links as ``[label|url]``."""
    paragraphs = []
    for lines in _paragraphs(text):
        paragraphs.append("\n".join(_wiki_line(line) for line in lines))
    return "\n\n".join(paragraphs)


def _wiki_line(line: _Line) -> str:
    parts = []
    for index, piece in enumerate(line):
        if isinstance(piece, str):
            parts.append(wiki_escape(piece, line_start=index == 0))
            continue
        url = _wiki_url(piece.url)
        if piece.label == piece.url:
            parts.append(f"[{url}]")
        else:
            parts.append(f"[{wiki_escape(piece.label, line_start=False)}|{url}]")
    return "".join(parts)


def _wiki_url(url: str) -> str:
    """Characters that end a wiki link, percent-encoded (a URL means the same with them encoded)."""
    return "".join(_URL_ESCAPES.get(char, char) for char in url)
