"""LocalJira's response shapes: v3 rich text as ADF (and ADF written to v3 as wiki markup), field
selection, request parameters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.localjira.common import _ADF_BLOCK_RE, _PARAGRAPH_RE, _RICH_TEXT_FIELDS, JsonDict, _bad_request
from core.jira.markup import wiki_escape

# Inline wiki that has an ADF form: an escaped character, a link with a label, a bare link in brackets.
_URL = r"(?:(?:https?|ftp)://|mailto:)[^\[\]|\s]+"
_INLINE_RE = re.compile(rf"\\([!-/:-@\[-`{{-~])|\[([^\[\]|\n]*)\|({_URL})\]|\[({_URL})\]")
_UNESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")


def _adf_inline(line: str) -> list[JsonDict]:
    """A line's text nodes: escapes undone, ``[label|url]`` and ``[url]`` as link marks."""
    nodes: list[JsonDict] = []
    text = ""
    pos = 0
    for match in _INLINE_RE.finditer(line):
        text += line[pos : match.start()]
        pos = match.end()
        if match.group(1) is not None:
            text += match.group(1)
            continue
        if text:
            nodes.append({"type": "text", "text": text})
            text = ""
        href = match.group(3) or match.group(4)
        label = _UNESCAPE_RE.sub(r"\1", match.group(2) or "").strip() or href
        nodes.append({"type": "text", "text": label, "marks": [{"type": "link", "attrs": {"href": href}}]})
    text += line[pos:]
    if text:
        nodes.append({"type": "text", "text": text})
    return nodes


def _adf_paragraphs(text: str) -> list[JsonDict]:
    nodes = []
    for paragraph in _PARAGRAPH_RE.split(text):
        lines = paragraph.strip().split("\n")
        if not any(line.strip() for line in lines):
            continue
        content: list[JsonDict] = []
        for i, line in enumerate(lines):
            if i:
                content.append({"type": "hardBreak"})
            content.extend(_adf_inline(line))
        nodes.append({"type": "paragraph", "content": content})
    return nodes


def wiki_to_adf(text: str | None) -> JsonDict | None:
    """A simple ADF document for wiki markup: paragraphs on blank lines, {code}/{noformat} as codeBlocks.

    Other markup stays literal text: enough for consumers that must turn ADF back into plain text.
    """
    if text is None or not text.strip():
        return None
    text = text.replace("\r\n", "\n")
    content: list[JsonDict] = []
    pos = 0
    for match in _ADF_BLOCK_RE.finditer(text):
        content.extend(_adf_paragraphs(text[pos : match.start()]))
        code = match.group(3).strip("\n")
        block: JsonDict = {"type": "codeBlock", "content": [{"type": "text", "text": code}] if code else []}
        language = (match.group(2) or "").split("|")[0]
        if match.group(1) == "code" and language and "=" not in language:
            block["attrs"] = {"language": language}
        content.append(block)
        pos = match.end()
    content.extend(_adf_paragraphs(text[pos:]))
    return {"type": "doc", "version": 1, "content": content}


def adf_problem(doc: Any) -> str | None:
    """Why ``doc`` is not an ADF document Jira Cloud would store (None: it is one)."""
    if not isinstance(doc, dict) or doc.get("type") != "doc" or doc.get("version") != 1:
        return "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
    stack: list[Any] = list(doc.get("content") or [])
    if not isinstance(doc.get("content", []), list):
        return "INVALID_INPUT: doc content must be an array"
    while stack:
        node = stack.pop()
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            return "INVALID_INPUT: every node needs a type"
        if node["type"] == "text" and not (isinstance(node.get("text"), str) and node["text"]):
            return "INVALID_INPUT: text nodes must have non-empty text"
        marks = node.get("marks", [])
        if not isinstance(marks, list) or not all(isinstance(m, dict) and "type" in m for m in marks):
            return "INVALID_INPUT: marks must be a list of marks"
        children = node.get("content", [])
        if not isinstance(children, list):
            return "INVALID_INPUT: content must be an array"
        stack.extend(children)
    return None


def adf_to_wiki(doc: JsonDict) -> str:
    """An ADF document written to v3, as the wiki markup v2 reads of it show (paragraphs, breaks, links,
    code blocks, lists; other nodes by their text)."""
    return "\n\n".join(block for block in (_wiki_block(n) for n in doc.get("content") or []) if block.strip())


def _wiki_block(node: JsonDict) -> str:
    kind, children = node.get("type"), node.get("content") or []
    if kind in ("paragraph", "heading"):
        return _wiki_inline(children)
    if kind == "codeBlock":
        return "{code}\n" + "".join(str(c.get("text", "")) for c in children) + "\n{code}"
    if kind in ("bulletList", "orderedList"):
        marker = "*" if kind == "bulletList" else "#"
        return "\n".join(
            f"{marker} " + " ".join(_wiki_block(c) for c in item.get("content") or []) for item in children
        )
    return "\n\n".join(_wiki_block(c) for c in children if isinstance(c, dict))


def _wiki_inline(nodes: list[JsonDict]) -> str:
    out = ""
    for node in nodes:
        kind, attrs = node.get("type"), node.get("attrs") or {}
        if kind == "hardBreak":
            out += "\n"
        elif kind == "text":
            href = next(
                (m.get("attrs", {}).get("href") for m in node.get("marks") or [] if m.get("type") == "link"),
                None,
            )
            text = str(node.get("text", ""))
            if href:
                out += f"[{href}]" if text == href else f"[{wiki_escape(text, line_start=False)}|{href}]"
            else:
                out += wiki_escape(text, line_start=out == "" or out.endswith("\n"))
        elif kind == "mention":
            out += f"[~accountid:{attrs.get('id', '')}]"
        else:
            out += str(attrs.get("text") or attrs.get("url") or "")
    return out


def _v3_fields(fields: JsonDict) -> JsonDict:
    converted = dict(fields)
    for name in _RICH_TEXT_FIELDS:
        if isinstance(converted.get(name), str):
            converted[name] = wiki_to_adf(converted[name])
    comment = converted.get("comment")
    if isinstance(comment, dict) and isinstance(comment.get("comments"), list):
        comments = [
            {**c, "body": wiki_to_adf(c["body"])}
            if isinstance(c, dict) and isinstance(c.get("body"), str)
            else c
            for c in comment["comments"]
        ]
        converted["comment"] = {**comment, "comments": comments}
    return converted


# -- request parameters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FieldSelection:
    """Which fields to return; ``include=None`` means all (``*all``, ``*navigable`` or nothing asked)."""

    include: frozenset[str] | None = None
    exclude: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, raw: object) -> _FieldSelection:
        if raw is None:
            return cls()
        if isinstance(raw, str):
            items = raw.split(",")
        elif isinstance(raw, list) and all(isinstance(x, str) for x in raw):
            items = [part for x in raw for part in x.split(",")]
        else:
            raise _bad_request("The 'fields' parameter must be a list of field names.")
        names = [x.strip() for x in items if x.strip()]
        if not names:
            return cls()
        everything = any(n in ("*all", "*navigable") for n in names)
        exclude = frozenset(n[1:] for n in names if n.startswith("-"))
        include = {n for n in names if not n.startswith(("-", "*"))}
        return cls(None if everything else frozenset(include), exclude)

    def apply(self, fields: JsonDict) -> JsonDict:
        if self.include is None:
            if not self.exclude:
                return fields
            return {k: v for k, v in fields.items() if k not in self.exclude}
        return {k: fields[k] for k in self.include if k in fields and k not in self.exclude}


def _int_param(raw: object, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        raise _bad_request(f"The '{name}' parameter must be an integer.")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        try:
            return int(raw)
        except ValueError:
            pass
    raise _bad_request(f"The '{name}' parameter must be an integer.")


def _strict(raw: object) -> bool:
    """DC's ``validateQuery``: strict (default/true) turns missing values into errors, else warnings."""
    if raw is None or raw is True:
        return True
    if raw is False:
        return False
    return str(raw).lower() not in ("false", "warn", "none")
