"""Which embedding model the settings select and its vector size, known without loading or calling it.

Start-up compares that size with the vector index's (a 384-dimension local model against a 1536-dimension
Pinecone index would otherwise fail on the first upsert, or worse, after a model change, silently).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config import ConfigError, Settings
from core.errors import Retryable
from core.logging import get_logger
from core.search.embed import LOCAL_DIMENSION, LOCAL_MODEL_NAME
from core.search.vectors import VectorIndex

log = get_logger(__name__)

OPENAI_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


@dataclass(frozen=True)
class EmbeddingSpec:
    name: str
    dimension: int | None  # None: a model of an OpenAI-compatible endpoint this table does not know


def embedding_spec(settings: Settings) -> EmbeddingSpec:
    if not settings.openai_api_key:
        return EmbeddingSpec(LOCAL_MODEL_NAME, LOCAL_DIMENSION)
    model = settings.agentpm_embedding_model
    return EmbeddingSpec(model, settings.agentpm_embedding_dimensions or OPENAI_DIMENSIONS.get(model))


def check_index_dimension(spec: EmbeddingSpec, index: VectorIndex) -> None:
    """Raise ConfigError (one line) when the index's vectors and the model's differ in size.

    An index that cannot be reached is not a configuration problem: start-up goes on (readiness reports it).
    """
    try:
        actual = index.dimension
    except Retryable as exc:
        log.warning("search.index_dimension_unchecked", backend=index.backend, error=str(exc))
        return
    if actual is None or spec.dimension is None or actual == spec.dimension:
        return
    raise ConfigError(
        f"the {index.backend} vector index has {actual} dimensions but the embedding model {spec.name} makes "
        f"{spec.dimension}: use an index of {spec.dimension} dimensions (or set AGENTPM_EMBEDDING_MODEL / "
        "AGENTPM_EMBEDDING_DIMENSIONS to match it), then run `agentpm reindex`"
    )
