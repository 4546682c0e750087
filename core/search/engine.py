"""The process's search machinery: the embedder and the vector index, loaded on first use (the local model
takes a second and ~100 MB, which a process that never searches should not pay)."""

from __future__ import annotations

import threading

from core.config import Settings
from core.db.session import Database
from core.search.embed import Embedder, LocalEmbedder, OpenAIEmbedder
from core.search.vectors import LocalVectorIndex


class SearchEngine:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._embedder: Embedder | None = None
        self._index: LocalVectorIndex | None = None
        self._lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                if self.settings.openai_api_key:
                    self._embedder = OpenAIEmbedder(
                        self.settings.openai_api_key, self.settings.openai_base_url,
                        self.settings.agentpm_embedding_model,
                    )  # fmt: skip
                else:
                    self._embedder = LocalEmbedder()
            return self._embedder

    @property
    def index(self) -> LocalVectorIndex:
        embedder = self.embedder
        with self._lock:
            if self._index is None:
                self._index = LocalVectorIndex(self.db, embedder.dimension, embedder.name)
            return self._index
