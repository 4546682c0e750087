"""Embedding what changed, and keeping the vector index in step with the database.

Documents without ``indexed_at`` are chunked, embedded and stored as chunks. Given an index, their vectors are
pushed to it, and the ones a shorter text no longer has dropped, before the batch commits: a batch that does
not reach the index stays pending and is redone whole, so indexing is idempotent and resumable. Deleted
documents reach the index through the ``vector_deletions`` outbox (filled by a trigger), drained first.

The database is the source of truth: `reindex` rebuilds the index from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import delete, distinct, func, select, update
from sqlalchemy.orm import Session

from core.db.models import Chunk, Document, JiraIssue, Project, VectorDeletion
from core.db.session import Database
from core.logging import get_logger
from core.search.chunks import chunk_document
from core.search.embed import Embedder
from core.search.vectors import ChunkKey, ChunkMeta, ChunkVector, VectorIndex

log = get_logger(__name__)

BATCH_DOCUMENTS = 64
PUSH_DOCUMENTS = 250  # stored vectors re-pushed per database read
DRAIN_ROWS = 500


@dataclass
class IndexProgress:
    documents: int = 0  # embedded, or (by a rebuild) pushed from stored vectors
    chunks: int = 0
    pending: int = 0
    seconds: float = 0.0
    embedded: int = 0
    removed: int = 0  # vectors a rebuild found in the index without a chunk behind them


Progress = Callable[[IndexProgress], None]


def pending_count(db: Database) -> int:
    with db.session() as session:
        return int(
            session.scalar(select(func.count()).select_from(Document).where(Document.indexed_at.is_(None)))
            or 0
        )


def document_meta(session: Session, documents: Sequence[Document]) -> dict[int, ChunkMeta]:
    """What the index stores beside each document's vectors (issue status, permission scope)."""
    keys = [d.external_id for d in documents if d.source == "jira"]
    statuses: dict[str, str] = {}
    if keys:
        statuses = dict(
            session.execute(select(JiraIssue.key, JiraIssue.status).where(JiraIssue.key.in_(keys))).all()
        )
    restricted = set(session.scalars(select(Project.key).where(Project.restricted.is_(True))))
    meta: dict[int, ChunkMeta] = {}
    for d in documents:
        updated = d.updated_at if d.updated_at.tzinfo else d.updated_at.replace(tzinfo=UTC)
        if d.channel_id:
            access = f"channel:{d.channel_id}"
        elif d.project_key and d.project_key in restricted:
            access = f"project:{d.project_key}"
        else:
            access = "public"
        jira = d.source == "jira"
        meta[d.id] = ChunkMeta(
            source=d.source, project=d.project_key, key=d.external_id if jira else None,
            status=statuses.get(d.external_id) or None if jira else None, updated=int(updated.timestamp()),
            url=d.url, access=access,
        )  # fmt: skip
    return meta


def drain_deletions(db: Database, index: VectorIndex) -> int:
    """Drop deleted documents' vectors, then their outbox rows (a crash in between only repeats a delete)."""
    drained = 0
    while True:
        with db.session() as session:
            rows = session.execute(
                select(VectorDeletion.id, VectorDeletion.document_id)
                .order_by(VectorDeletion.id)
                .limit(DRAIN_ROWS)
            ).all()
            if not rows:
                break
            index.delete(documents={document for _, document in rows})
            session.execute(
                delete(VectorDeletion).where(VectorDeletion.id.in_([row_id for row_id, _ in rows]))
            )
        drained += len(rows)
    if drained:
        log.info("search.vectors_deleted", documents=drained, backend=index.backend)
    return drained


def index_pending(
    db: Database, embedder: Embedder, *, index: VectorIndex | None = None, progress: Progress | None = None
) -> IndexProgress:
    """Embed every document that changed since it was last embedded, pushing to ``index``; idempotent."""
    state = IndexProgress(pending=pending_count(db))
    if index is not None:
        drain_deletions(db, index)
    _embed_pending(db, embedder, index, state, progress, time.perf_counter())
    if state.documents:
        log.info(
            "search.indexed", documents=state.documents, chunks=state.chunks, seconds=round(state.seconds, 1)
        )
    return state


def _embed_pending(
    db: Database,
    embedder: Embedder,
    index: VectorIndex | None,
    state: IndexProgress,
    progress: Progress | None,
    started: float,
) -> None:
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
            before: set[ChunkKey] = {
                (d, o)
                for d, o in session.execute(
                    select(Chunk.document_id, Chunk.ordinal).where(Chunk.document_id.in_(ids))
                )
            }
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
            if index is not None:  # before the commit: what misses the index stays pending
                meta = document_meta(session, documents)
                fresh = [
                    ChunkVector(doc_id, ordinal, vector, meta[doc_id])
                    for (doc_id, ordinal, _), vector in zip(passages, vectors, strict=True)
                ]
                index.upsert(fresh)
                stale = before - {c.key for c in fresh}
                if stale:
                    index.delete(chunks=stale)
        state.documents += len(documents)
        state.embedded += len(documents)
        state.chunks += len(passages)
        state.seconds = time.perf_counter() - started
        if progress:
            progress(state)


def reindex(
    db: Database,
    embedder: Embedder,
    *,
    index: VectorIndex | None = None,
    re_embed: bool = False,
    progress: Progress | None = None,
) -> IndexProgress:
    """Rebuild the vector index from the database; running it twice leaves the same index.

    By default the stored vectors of the current model are pushed again and only documents without any are
    embedded (after a model change, all of them); ``re_embed`` embeds every document anew. Vectors the
    database has no chunk for are then removed from the index.
    """
    started = time.perf_counter()
    external = index if index is not None and index.backend != "local" else None  # local: the chunks table
    if index is not None:
        drain_deletions(db, index)
    with db.session() as session:
        if re_embed:
            session.execute(delete(Chunk))
            session.execute(update(Document).values(indexed_at=None))
        else:
            embedded = select(Chunk.id).where(Chunk.document_id == Document.id, Chunk.model == embedder.name)
            session.execute(update(Document).where(~embedded.exists()).values(indexed_at=None))
        total = int(session.scalar(select(func.count()).select_from(Document)) or 0)
    state = IndexProgress(pending=total)
    if not re_embed:
        _push_stored(db, embedder.name, external, state, progress, started)
    _embed_pending(db, embedder, external, state, progress, started)
    if external is not None:
        with db.session() as session:
            keep: set[ChunkKey] = {
                (d, o)
                for d, o in session.execute(
                    select(Chunk.document_id, Chunk.ordinal).where(Chunk.model == embedder.name)
                )
            }
        state.removed = external.prune(keep)
    state.seconds = time.perf_counter() - started
    log.info(
        "search.reindexed", documents=state.documents, embedded=state.embedded, chunks=state.chunks,
        removed=state.removed, seconds=round(state.seconds, 1),
    )  # fmt: skip
    return state


def _push_stored(
    db: Database,
    model: str,
    index: VectorIndex | None,
    state: IndexProgress,
    progress: Progress | None,
    started: float,
) -> None:
    """Every embedded document's stored vectors, to ``index`` (None: the chunks table is the index; count)."""
    if index is None:
        with db.session() as session:
            embedded_documents, stored_chunks = session.execute(
                select(func.count(distinct(Chunk.document_id)), func.count(Chunk.id))
                .join(Document, Document.id == Chunk.document_id)
                .where(Chunk.model == model, Document.indexed_at.is_not(None))
            ).one()
        state.documents += int(embedded_documents)
        state.chunks += int(stored_chunks)
        if progress:
            progress(state)
        return
    last = 0
    while True:
        with db.session() as session:
            documents = list(
                session.scalars(
                    select(Document)
                    .where(Document.id > last, Document.indexed_at.is_not(None))
                    .order_by(Document.id)
                    .limit(PUSH_DOCUMENTS)
                )
            )
            if not documents:
                break
            last = documents[-1].id
            rows = session.execute(
                select(Chunk.document_id, Chunk.ordinal, Chunk.vector)
                .where(Chunk.document_id.in_([d.id for d in documents]), Chunk.model == model)
                .order_by(Chunk.document_id, Chunk.ordinal)
            ).all()
            meta = document_meta(session, documents)
        index.upsert(
            [ChunkVector(d, o, np.frombuffer(vector, dtype=np.float32), meta[d]) for d, o, vector in rows]
        )
        state.documents += len({d for d, _, _ in rows})
        state.chunks += len(rows)
        state.seconds = time.perf_counter() - started
        if progress:
            progress(state)
