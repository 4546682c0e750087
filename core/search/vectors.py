"""The vector index port, and the embedded default behind it: exact cosine search over the chunks in memory.

Chunks live in the database (the source of truth; every process sees the same data). The local index keeps
a matrix of them per process and reloads it when the chunk table changes, so writing to it is writing chunks;
an external index (Pinecone, core/search/pinecone_index.py) is given the same chunks by the indexer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select

from core.db.models import Chunk, Document
from core.db.session import Database

REFRESH_CHECK_SECONDS = 5.0

Vector = npt.NDArray[np.float32]
ChunkKey = tuple[int, int]
"""(document ID, ordinal): one chunk, whatever index holds it."""


@dataclass(frozen=True)
class DenseHit:
    document_id: int
    score: float


@dataclass(frozen=True)
class ChunkMeta:
    """What an external index stores beside a chunk's vector, to filter on and to show without the database.

    ``access`` is the permission scope at indexing time: ``public``, ``project:KEY`` (a restricted project)
    or ``channel:C…``. Search results are still filtered by the database (core/search/service.py), which is
    what decides; the tag is refreshed whenever the document is re-embedded or `agentpm reindex` runs.
    """

    source: str
    project: str | None
    key: str | None
    status: str | None
    updated: int  # epoch seconds
    url: str | None
    access: str


@dataclass(frozen=True)
class ChunkVector:
    document_id: int
    ordinal: int
    vector: Vector
    meta: ChunkMeta

    @property
    def key(self) -> ChunkKey:
        return (self.document_id, self.ordinal)


class VectorIndex(Protocol):
    """Where dense retrieval looks: best documents by their best chunk; the database stays the truth."""

    backend: Literal["local", "pinecone"]

    @property
    def dimension(self) -> int | None:
        """The index's vector size (None when the index cannot tell yet)."""
        ...

    def search(
        self, query: Vector, limit: int = 50, *, exclude_projects: Collection[str] = ()
    ) -> list[DenseHit]:
        """Up to ``limit`` documents, best first, none from ``exclude_projects``."""
        ...

    def upsert(self, chunks: Sequence[ChunkVector]) -> None:
        """Store (or overwrite) these chunks' vectors."""
        ...

    def delete(self, *, documents: Collection[int] = (), chunks: Collection[ChunkKey] = ()) -> None:
        """Remove every vector of ``documents``, and the single ``chunks`` named."""
        ...

    def prune(self, keep: Collection[ChunkKey]) -> int:
        """Remove every vector not in ``keep`` (the database's chunks); returns how many went."""
        ...

    def count(self) -> int:
        """How many vectors the index holds."""
        ...


class LocalVectorIndex:
    """The chunks table as an index: the indexer's chunk rows are its writes, so upsert and delete refresh."""

    backend: Literal["local", "pinecone"] = "local"

    def __init__(self, db: Database, dimension: int, model: str) -> None:
        self.db = db
        self.dimension = dimension
        self.model = model
        self._matrix: npt.NDArray[np.float32] = np.zeros((0, dimension), dtype=np.float32)
        self._documents: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._projects: npt.NDArray[np.str_] = np.zeros(0, dtype=np.str_)
        self._version: tuple[int, int] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def _current_version(self) -> tuple[int, int]:
        with self.db.session() as session:
            count, newest = session.execute(
                select(func.count(Chunk.id), func.coalesce(func.max(Chunk.id), 0)).where(
                    Chunk.model == self.model
                )
            ).one()
        return int(count), int(newest)

    def refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < REFRESH_CHECK_SECONDS and self._version is not None:
            return
        with self._lock:
            self._checked = now
            version = self._current_version()
            if version == self._version and not force:
                return
            with self.db.session() as session:
                rows = session.execute(
                    select(Chunk.document_id, Chunk.vector, Document.project_key)
                    .join(Document, Document.id == Chunk.document_id)
                    .where(Chunk.model == self.model)
                    .order_by(Chunk.id)
                ).all()
            if rows:
                self._matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(
                    len(rows), self.dimension
                )
                self._documents = np.array([r[0] for r in rows], dtype=np.int64)
                self._projects = np.array([r[2] or "" for r in rows], dtype=np.str_)
            else:
                self._matrix = np.zeros((0, self.dimension), dtype=np.float32)
                self._documents = np.zeros(0, dtype=np.int64)
                self._projects = np.zeros(0, dtype=np.str_)
            self._version = version

    def _stale(self) -> None:
        """The next search re-reads the chunk table's version instead of waiting for the check interval."""
        self._checked = 0.0

    @property
    def size(self) -> int:
        return int(self._matrix.shape[0])

    def search(
        self, query: Vector, limit: int = 50, *, exclude_projects: Collection[str] = ()
    ) -> list[DenseHit]:
        """Best documents by their best chunk's cosine similarity."""
        self.refresh()
        if self.size == 0:
            return []
        scores = self._matrix @ query.astype(np.float32)
        if exclude_projects:
            scores = np.where(np.isin(self._projects, sorted(exclude_projects)), -np.inf, scores)
        take = min(len(scores), limit * 4)
        top = np.argpartition(-scores, take - 1)[:take]
        top = top[np.argsort(-scores[top])]
        best: dict[int, float] = {}
        for row in top:
            if not np.isfinite(scores[row]):
                break
            document = int(self._documents[row])
            if document not in best:
                best[document] = float(scores[row])
                if len(best) >= limit:
                    break
        return [DenseHit(d, s) for d, s in best.items()]

    def upsert(self, chunks: Sequence[ChunkVector]) -> None:
        self._stale()

    def delete(self, *, documents: Collection[int] = (), chunks: Collection[ChunkKey] = ()) -> None:
        self._stale()

    def prune(self, keep: Collection[ChunkKey]) -> int:
        self._stale()
        return 0

    def count(self) -> int:
        return self._current_version()[0]
