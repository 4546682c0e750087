"""Embedding what changed: documents without ``indexed_at`` are chunked, embedded and stored as chunks.

The database is the source of truth: chunks are derived, so `reindex` may drop and rebuild them at any time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update

from core.db.models import Chunk, Document
from core.db.session import Database
from core.logging import get_logger
from core.search.chunks import chunk_document
from core.search.embed import Embedder

log = get_logger(__name__)

BATCH_DOCUMENTS = 64


@dataclass
class IndexProgress:
    documents: int = 0
    chunks: int = 0
    pending: int = 0
    seconds: float = 0.0


def pending_count(db: Database) -> int:
    with db.session() as session:
        return int(
            session.scalar(select(func.count()).select_from(Document).where(Document.indexed_at.is_(None)))
            or 0
        )


def index_pending(
    db: Database, embedder: Embedder, *, progress: Callable[[IndexProgress], None] | None = None
) -> IndexProgress:
    """Embed every document that changed since it was last embedded; idempotent and resumable."""
    state = IndexProgress(pending=pending_count(db))
    started = time.perf_counter()
    while True:
        with db.session() as session:
            documents = list(
                session.scalars(
                    select(Document)
                    .where(Document.indexed_at.is_(None))
                    .order_by(Document.id)
                    .limit(BATCH_DOCUMENTS)
                )
            )
            if not documents:
                break
            passages = [
                (d.id, i, text) for d in documents for i, text in enumerate(chunk_document(d.title, d.body))
            ]
            vectors = embedder.embed([text for _, _, text in passages])
            ids = [d.id for d in documents]
            session.execute(delete(Chunk).where(Chunk.document_id.in_(ids)))
            session.add_all(
                Chunk(
                    document_id=doc_id,
                    ordinal=ordinal,
                    text=text,
                    vector=vector.tobytes(),
                    model=embedder.name,
                )
                for (doc_id, ordinal, text), vector in zip(passages, vectors, strict=True)
            )
            session.execute(update(Document).where(Document.id.in_(ids)).values(indexed_at=datetime.now(UTC)))
        state.documents += len(documents)
        state.chunks += len(passages)
        state.seconds = time.perf_counter() - started
        if progress:
            progress(state)
    if state.documents:
        log.info(
            "search.indexed", documents=state.documents, chunks=state.chunks, seconds=round(state.seconds, 1)
        )
    return state


def reindex(
    db: Database, embedder: Embedder, *, progress: Callable[[IndexProgress], None] | None = None
) -> IndexProgress:
    """Rebuild every embedding from the documents (after a model change, or a lost index)."""
    with db.session() as session:
        session.execute(delete(Chunk))
        session.execute(update(Document).values(indexed_at=None))
    return index_pending(db, embedder, progress=progress)
