"""Searchable text, query terms and chunking: what keyword search and the embedder see."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.search.chunks import MAX_CHUNKS, WINDOW_WORDS, chunk_document
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
