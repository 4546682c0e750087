"""The process's search machinery: the embedder and the vector index, loaded on first use (the local model
takes a second and ~100 MB, which a process that never searches should not pay).

The index is Pinecone when PINECONE_API_KEY is set, else the local index over the chunks table; neither
needs the model loaded, so status and start-up checks stay cheap.
"""

from __future__ import annotations

import threading

from core.config import Settings
from core.db.session import Database
from core.search.dimensions import EmbeddingSpec, check_index_dimension, embedding_spec
from core.search.embed import Embedder, LocalEmbedder, OpenAIEmbedder
from core.search.vectors import LocalVectorIndex, VectorIndex


class SearchEngine:
    def __init__(self, settings: Settings, db: Database, *, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.db = db
        self._embedder: Embedder | None = embedder
        self._index: VectorIndex | None = None
        self._lock = threading.Lock()

    @property
    def spec(self) -> EmbeddingSpec:
        """The model's name and size: the embedder's own once it exists, else what the settings say."""
        if self._embedder is not None:
            return EmbeddingSpec(self._embedder.name, self._embedder.dimension)
        return embedding_spec(self.settings)

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                if self.settings.openai_api_key:
                    spec = embedding_spec(self.settings)
                    openai = OpenAIEmbedder(
                        self.settings.openai_api_key, self.settings.openai_base_url,
                        self.settings.agentpm_embedding_model, self.settings.agentpm_embedding_dimensions,
                    )  # fmt: skip
                    if (
                        spec.dimension
                    ):  # OpenAIEmbedder guesses 3072 for any model but -3-small (ada-002: 1536)
                        openai.dimension = spec.dimension
                    self._embedder = openai
                else:
                    self._embedder = LocalEmbedder()
            return self._embedder

    @property
    def index(self) -> VectorIndex:
        if self._index is None:
            built = self._new_index()  # outside the lock: the local index may load the embedder, which locks
            with self._lock:
                if self._index is None:
                    self._index = built
        return self._index

    def _new_index(self) -> VectorIndex:
        if self.settings.pinecone_api_key:
            from core.search.pinecone_index import PineconeVectorIndex

            return PineconeVectorIndex.from_settings(self.settings)
        spec = self.spec
        return LocalVectorIndex(self.db, spec.dimension or self.embedder.dimension, spec.name)

    def check_dimension(self) -> None:
        """Raise ConfigError when the index's vectors and the model's differ in size (start-up)."""
        check_index_dimension(self.spec, self.index)
