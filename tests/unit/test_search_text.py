"""Searchable text, query terms and chunking: what keyword search and the embedder see."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from core.search.chunks import MAX_CHUNKS, WINDOW_WORDS, chunk_document
from core.search.service import SNIPPET_CHARS, snippet
from core.search.text import identifier_parts, query_terms, searchable_text


def test_identifier_pieces_of_camel_case_and_dotted_names() -> None:
    parts = identifier_parts(
        "NPE in DFSClient.closeFile; see dfs.namenode.handler.count and getBlockLocations"
    )
    assert parts[:4] == ["dfs", "client", "close", "file"]
    assert {"namenode", "handler", "count", "get", "block", "locations"} <= set(parts)
    assert identifier_parts("plain words and HDFS-1234 only") == []


def test_searchable_text_keeps_the_body_and_adds_pieces() -> None:
    text = searchable_text("OutOfMemoryError in NameNode", "heap exhausted")
    assert text.startswith("heap exhausted")
    assert "memory" in text
    assert "name node" in text


def test_query_terms_are_plain_words_without_stopwords() -> None:
    assert query_terms('Why does "NameNode" crash? project = "X" OR 1=1') == [
        "namenode", "crash", "project", "name", "node",
    ]  # fmt: skip


@given(st.text(max_size=2000))
def test_query_terms_never_carry_syntax(text: str) -> None:
    for term in query_terms(text):
        assert term.isalnum()
        assert term == term.lower()


def test_chunks_overlap_carry_the_title_and_are_capped() -> None:
    body = " ".join(f"w{i}" for i in range(1000))
    chunks = chunk_document("PAY-1: Title", body)
    assert len(chunks) == MAX_CHUNKS
    assert all(c.startswith("PAY-1: Title\n") for c in chunks)
    assert len(chunks[0].split()) == WINDOW_WORDS + 2
    assert chunks[1].split()[2] == "w120"  # 30 words of overlap
    assert chunk_document("Only a title", "") == ["Only a title"]
    assert chunk_document("", "") == ["(untitled)"]


def _snippet_reference(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """The snippet as first written: the whole text flattened, one scan per term."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    lowered = flat.lower()
    positions = [m.start() for t in query_terms(query) if (m := re.search(rf"\b{re.escape(t)}", lowered))]
    start = max(0, min(positions) - width // 3) if positions else 0
    end = min(len(flat), start + width)
    return ("…" if start else "") + flat[start:end].strip() + ("…" if end < len(flat) else "")


_SNIPPET_TEXT = st.text(alphabet=st.sampled_from("abcdeNode.:_ \n\t-0123"), max_size=600)


@given(_SNIPPET_TEXT, st.text(alphabet=st.sampled_from("abcdeNode. "), max_size=30), st.integers(8, 80))
def test_snippet_is_the_window_around_the_first_query_word(text: str, query: str, width: int) -> None:
    assert snippet(text, query, width) == _snippet_reference(text, query, width)


def test_snippet_of_a_long_issue() -> None:
    body = "intro " * 300 + "the NameNode\n\n   crashed  " + "tail " * 300
    window = snippet(body, "namenode crash", width=60)
    assert window.startswith("…")
    assert window.endswith("…")
    assert "the NameNode crashed tail" in window
    assert len(window) <= 62
    assert snippet("short  text\n", "nothing") == "short text"
    assert snippet(body, "absent", width=20) == "intro intro intro in…"
