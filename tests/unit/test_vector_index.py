"""The vector index's own parts: request batching, metadata, vector IDs, model sizes, the local index."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.config import ConfigError, Settings
from core.db.models import Chunk, Document
from core.db.session import Database
from core.search.dimensions import check_index_dimension, embedding_spec
from core.search.engine import SearchEngine
from core.search.pinecone_index import (
    MAX_UPSERT_BYTES,
    chunk_metadata,
    parse_vector_id,
    upsert_batches,
    vector_id,
)
from core.search.vectors import ChunkMeta, ChunkVector, LocalVectorIndex

META = ChunkMeta(
    "jira", "PAY", "PAY-1", "In Progress", 1_700_000_000, "https://x.example/browse/PAY-1", "public"
)


def chunk(document: int, ordinal: int, dimension: int, seed: int = 0) -> ChunkVector:
    vector = np.random.default_rng(seed + document * 10 + ordinal).normal(size=dimension).astype(np.float32)
    return ChunkVector(document, ordinal, vector, META)


@pytest.mark.parametrize(("dimension", "count"), [(384, 250), (1536, 120), (3072, 30)])
def test_upsert_batches_stay_under_100_vectors_and_the_byte_budget(dimension: int, count: int) -> None:
    chunks = [chunk(i // 4, i % 4, dimension) for i in range(count)]
    batches = list(upsert_batches(chunks))
    assert [r["id"] for b in batches for r in b] == [vector_id(c.document_id, c.ordinal) for c in chunks]
    for batch in batches:
        assert len(batch) <= 100
        encoded = len(json.dumps({"vectors": batch, "namespace": "default"}))
        assert encoded < MAX_UPSERT_BYTES < 2 * 1024 * 1024
    if dimension == 384:
        assert [len(b) for b in batches] == [100, 100, 50]


def test_metadata_holds_no_nulls_and_always_a_project() -> None:
    bare = ChunkVector(
        7, 0, np.ones(4, dtype=np.float32), ChunkMeta("meeting", None, None, "", 5, None, "public")
    )
    assert chunk_metadata(bare) == {
        "document_id": 7,
        "source": "meeting",
        "updated": 5,
        "access": "public",
        "project": "",
    }
    full = chunk_metadata(chunk(3, 1, 4))
    assert full["key"] == "PAY-1"
    assert full["status"] == "In Progress"
    assert full["project"] == "PAY"
    assert None not in full.values()


def test_vector_ids_round_trip_and_foreign_ids_are_ignored() -> None:
    assert vector_id(12, 3) == "doc12#3"
    assert parse_vector_id("doc12#3") == (12, 3)
    for foreign in ("doc12#", "doc#1", "doc1x#2", "other", "doc1#2#3"):
        assert parse_vector_id(foreign) is None


def test_model_sizes_are_known_without_loading_a_model(clean_env: object) -> None:
    assert embedding_spec(Settings()).dimension == 384
    assert embedding_spec(Settings(openai_api_key="k")).dimension == 1536
    assert (
        embedding_spec(
            Settings(openai_api_key="k", agentpm_embedding_model="text-embedding-3-large")
        ).dimension
        == 3072
    )
    assert (
        embedding_spec(
            Settings(openai_api_key="k", agentpm_embedding_model="text-embedding-ada-002")
        ).dimension
        == 1536
    )
    asked = Settings(
        openai_api_key="k", agentpm_embedding_model="text-embedding-3-large", agentpm_embedding_dimensions=256
    )
    assert embedding_spec(asked).dimension == 256
    assert (
        embedding_spec(Settings(openai_api_key="k", agentpm_embedding_model="nomic-embed-text")).dimension
        is None
    )


def test_a_size_mismatch_is_one_line_of_configuration_error(db: Database) -> None:
    spec = embedding_spec(Settings())
    check_index_dimension(spec, LocalVectorIndex(db, 384, spec.name))
    with pytest.raises(ConfigError) as raised:
        check_index_dimension(spec, LocalVectorIndex(db, 1536, spec.name))
    assert "\n" not in str(raised.value)
    assert "1536 dimensions" in str(raised.value)
    assert "makes 384" in str(raised.value)


def test_pinecone_without_a_host_is_a_configuration_error(db: Database) -> None:
    engine = SearchEngine(Settings(pinecone_api_key="pcsk_test_key_0123456789"), db)
    with pytest.raises(ConfigError, match="PINECONE_INDEX_HOST is missing"):
        engine.check_dimension()


def test_the_local_index_leaves_out_excluded_projects_and_counts_its_model(db: Database) -> None:
    with db.session() as session:
        for number, project in enumerate(["PAY", "WEB", None], 1):
            document = Document(
                source="jira" if project else "meeting", external_id=f"d{number}", project_key=project
            )
            session.add(document)
            session.flush()
            vector = np.zeros(4, dtype=np.float32)
            vector[0], vector[number] = 1.0, 0.1 * number
            vector /= np.linalg.norm(vector)
            session.add(
                Chunk(document_id=document.id, ordinal=0, text="t", vector=vector.tobytes(), model="m")
            )
        session.add(Chunk(document_id=document.id, ordinal=1, text="t", vector=vector.tobytes(), model="old"))
    index = LocalVectorIndex(db, 4, "m")
    query = np.array([1, 0, 0, 0], dtype=np.float32)
    assert [h.document_id for h in index.search(query, limit=5)] == [1, 2, 3]
    assert [h.document_id for h in index.search(query, limit=5, exclude_projects={"PAY", "WEB"})] == [3]
    assert index.count() == 3
    index.upsert([chunk(1, 0, 4)])
    index.delete(documents=[1])
    assert index.prune(set()) == 0
    assert index.count() == 3  # the chunks table is the local index: only the indexer's rows change it
