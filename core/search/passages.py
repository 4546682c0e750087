"""Which passage of a found document speaks to the question, and how relevant it is.

Search ranks documents; an answer needs the passage that matters and a yes/no on relevance, so an answer is
never built from the merely nearest documents. With embeddings, relevance is the best chunk's cosine
similarity to the question; without, the share of the question's words the document contains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import Chunk, Document
from core.search.chunks import chunk_document
from core.search.embed import Embedder
from core.search.text import query_terms

# Measured on the demo issues with MiniLM: off-topic questions ("weather in Lisbon", "company party",
# "kubernetes upgrade plan") reach a best-passage cosine of 0.07-0.31, on-topic ones 0.27-0.60. So a passage
# is relevant when it is clearly close (0.40), or fairly close (0.20) and the document has at least half of
# the question's words ("who owns the load test?" is 0.27 from the load-test issue, sharing "load test").
RELEVANT_COSINE = 0.40
SUPPORTED_COSINE = 0.20
RELEVANT_TERM_SHARE = 0.5
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
QUOTE_CHARS = 300
MIN_SENTENCE_WORDS = 4


@dataclass(frozen=True)
class Passage:
    document_id: int
    text: str
    relevance: float
    relevant: bool


def best_passages(
    session: Session, document_ids: list[int], question: str, embedder: Embedder | None
) -> dict[int, Passage]:
    """The best passage of each document for ``question``, with its relevance."""
    if not document_ids:
        return {}
    found = _by_vectors(session, document_ids, question, embedder) if embedder is not None else {}
    missing = [d for d in document_ids if d not in found]  # not embedded yet (just synced or created)
    if missing:
        found.update(_by_terms(session, missing, question))
    return found


def _by_vectors(
    session: Session, document_ids: list[int], question: str, embedder: Embedder
) -> dict[int, Passage]:
    rows = session.execute(
        select(Chunk.document_id, Chunk.text, Chunk.vector).where(
            Chunk.document_id.in_(document_ids), Chunk.model == embedder.name
        )
    ).all()
    if not rows:
        return {}
    query = embedder.embed([question[:2000]])[0]
    matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1)
    scores = matrix @ query
    shares = _term_shares(session, document_ids, question)
    best: dict[int, Passage] = {}
    for (document_id, text, _), score in zip(rows, scores, strict=True):
        current = best.get(document_id)
        if current is None or score > current.relevance:
            passage = text.split("\n", 1)[1] if "\n" in text else text  # chunks start with the title
            cosine = float(score)
            relevant = cosine >= RELEVANT_COSINE or (
                cosine >= SUPPORTED_COSINE and shares.get(document_id, 0.0) >= RELEVANT_TERM_SHARE
            )
            best[document_id] = Passage(document_id, passage, cosine, relevant)
    return best


def _term_shares(session: Session, document_ids: list[int], question: str) -> dict[int, float]:
    """The share of the question's words each document contains (title and body)."""
    terms = set(query_terms(question))
    if not terms:
        return {}
    rows = session.execute(
        select(Document.id, Document.title, Document.body).where(Document.id.in_(document_ids))
    ).all()
    return {
        int(row[0]): len(terms & set(query_terms(row[1] + "\n" + row[2], limit=100_000))) / len(terms)
        for row in rows
    }


def _by_terms(session: Session, document_ids: list[int], question: str) -> dict[int, Passage]:
    terms = set(query_terms(question))
    shares = _term_shares(session, document_ids, question)
    best: dict[int, Passage] = {}
    for document in session.scalars(select(Document).where(Document.id.in_(document_ids))):
        pieces = chunk_document(document.title, document.body)
        chunks = [c.split("\n", 1)[1] if "\n" in c else c for c in pieces]
        share = shares.get(document.id, 0.0)
        passage = max(chunks, key=lambda c: len(terms & set(query_terms(c, limit=100_000))))
        best[document.id] = Passage(document.id, passage, share, share >= RELEVANT_TERM_SHARE)
    return best


def quote(passage: str, question: str, sentences: int = 2) -> str:
    """The passage's sentences that share most words with the question (in their order), clipped."""
    # Sentences of a few words or more: headings and markup leftovers ("h3.", "----") say nothing.
    parts = [p.strip() for p in _SENTENCE_END.split(passage) if len(p.split()) >= MIN_SENTENCE_WORDS]
    if not parts:
        return _clip(passage.strip())
    terms = set(query_terms(question))
    scored = [(len(terms & set(query_terms(p, limit=1000))), -i, i) for i, p in enumerate(parts)]
    chosen = sorted(i for score, _, i in sorted(scored, reverse=True)[:sentences] if score > 0)
    if not chosen:
        chosen = [0]
    return _clip(" ".join(parts[i] for i in chosen))


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE_CHARS else flat[: QUOTE_CHARS - 1].rstrip() + "…"
