"""What keyword search sees: the document's words plus code-aware pieces of identifiers.

`DFSClient`, `org.apache.hadoop.hdfs.DFSOutputStream` or `dfs.namenode.handler.count` are single tokens to a
plain tokenizer; people type "dfs client" or "namenode handler count". Splitting camel case and dotted names
adds those words next to the originals, so both ways of writing match.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_.$:/]*[A-Za-z0-9_]")
_PIECES = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_SEPARATORS = frozenset(".$:/")
_WORD = re.compile(r"[a-z0-9]+")
MAX_QUERY_TERMS = 48

_STOPWORDS = """a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has have
having he her here hers him his how i if in into is it its itself just me more most my no nor not now of off
on once only or other our out over own same she should so some such than that the their them then there these
they this those through to too under until up very was we were what when where which while who whom why will
with would you your"""
STOPWORDS = frozenset(_STOPWORDS.split())


def _is_identifier(token: str) -> bool:
    """Dotted or slashed names, and words with a capital after the first letter (DFSClient, getBlock)."""
    if not _SEPARATORS.isdisjoint(token):
        return True
    rest = token[1:]
    return not rest.islower() and not rest.isupper() and any(c.isupper() for c in rest)


def identifier_parts(text: str) -> list[str]:
    """Lower-case pieces of camel-case and dotted identifiers found in ``text``."""
    parts: list[str] = []
    for token in _TOKEN.findall(text):
        if _is_identifier(token):
            parts.extend(p.lower() for p in _PIECES.findall(token) if len(p) > 1)
    return parts


def searchable_text(title: str, body: str) -> str:
    """The body plus the identifier pieces of title and body (the title is indexed separately)."""
    pieces = identifier_parts(title + "\n" + body)
    return body + ("\n" + " ".join(pieces) if pieces else "")


def query_terms(text: str, limit: int = MAX_QUERY_TERMS) -> list[str]:
    """Distinct lower-case words (and identifier pieces) of a query, no stopwords, in order of appearance.

    Only ``[a-z0-9]`` survives, so nothing a user types can act as query syntax.
    """
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()) + identifier_parts(text):
        if len(word) > 1 and word not in STOPWORDS and word not in seen:
            seen[word] = None
            if len(seen) >= limit:
                break
    return list(seen)
