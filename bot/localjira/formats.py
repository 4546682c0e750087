"""LocalJira's response shapes: v3 rich text as ADF, field selection, request parameters."""

from __future__ import annotations

from dataclasses import dataclass

from bot.localjira.common import _ADF_BLOCK_RE, _PARAGRAPH_RE, _RICH_TEXT_FIELDS, JsonDict, _bad_request


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
            if line:
                content.append({"type": "text", "text": line})
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
