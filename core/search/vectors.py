"""The embedded default's vector index: exact cosine search over the chunks, held in memory.

Chunks live in the database (every process sees the same data); each process keeps a matrix of them and
reloads it when the chunk table changes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select

from core.db.models import Chunk
from core.db.session import Database

REFRESH_CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class DenseHit:
    document_id: int
    score: float


class LocalVectorIndex:
    def __init__(self, db: Database, dimension: int, model: str) -> None:
        self.db = db
        self.dimension = dimension
        self.model = model
        self._matrix: npt.NDArray[np.float32] = np.zeros((0, dimension), dtype=np.float32)
        self._documents: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
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
                    select(Chunk.document_id, Chunk.vector)
                    .where(Chunk.model == self.model)
                    .order_by(Chunk.id)
                ).all()
            if rows:
                self._matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(
                    len(rows), self.dimension
                )
                self._documents = np.array([r[0] for r in rows], dtype=np.int64)
            else:
                self._matrix = np.zeros((0, self.dimension), dtype=np.float32)
                self._documents = np.zeros(0, dtype=np.int64)
            self._version = version

    @property
    def size(self) -> int:
        return int(self._matrix.shape[0])

    def search(self, query: npt.NDArray[np.float32], limit: int = 50) -> list[DenseHit]:
        """Best documents by their best chunk's cosine similarity."""
        self.refresh()
        if self.size == 0:
            return []
        scores = self._matrix @ query.astype(np.float32)
        take = min(len(scores), limit * 4)
        top = np.argpartition(-scores, take - 1)[:take]
        top = top[np.argsort(-scores[top])]
        best: dict[int, float] = {}
        for row in top:
            document = int(self._documents[row])
            if document not in best:
                best[document] = float(scores[row])
                if len(best) >= limit:
                    break
        return [DenseHit(d, s) for d, s in best.items()]
