"""Splitting documents into passages for embedding: windows of words with overlap, the title on each."""

from __future__ import annotations

WINDOW_WORDS = 150  # about 200 tokens: under the model's 256-token limit with the title
OVERLAP_WORDS = 30
MAX_CHUNKS = 4  # the head of a long issue says what it is about; the rest costs embedding time


def chunk_document(title: str, body: str) -> list[str]:
    words = body.split()
    if not words:
        return [title.strip() or "(untitled)"]
    chunks: list[str] = []
    step = WINDOW_WORDS - OVERLAP_WORDS
    for start in range(0, len(words), step):
        chunks.append(f"{title}\n{' '.join(words[start : start + WINDOW_WORDS])}")
        if start + WINDOW_WORDS >= len(words) or len(chunks) >= MAX_CHUNKS:
            break
    return chunks
