"""Pinecone as the vector index: the real `pinecone` client against the fake, on SQLite and PostgreSQL.

A hashing embedder stands in for the model (shared words make close vectors), so these tests exercise the
index, the indexer and the search around them, not the model.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from pinecone import Pinecone
from sqlalchemy import delete, func, select, update

from bot.cli import main
from core.config import Role, Settings, load_settings
from core.db.models import Chunk, Document, JiraIssue, Project, VectorDeletion
from core.db.schema import upgrade
from core.db.session import Database, make_engine
from core.demo import load_demo
from core.errors import Retryable
from core.search.embed import Vectors
from core.search.engine import SearchEngine
from core.search.indexer import index_pending, pending_count, reindex
from core.search.pinecone_index import PineconeVectorIndex, vector_id
from core.search.service import Viewer, search
from core.search.vectors import ChunkMeta, ChunkVector
from tests.fakes.pinecone import FakePinecone, serving

pytestmark = pytest.mark.integration

DIMENSION = 64


class HashEmbedder:
    """Words hashed into buckets: deterministic, instant, and texts sharing words land close together."""

    def __init__(self, dimension: int = DIMENSION) -> None:
        self.dimension = dimension
        self.name = f"test-hash-{dimension}"

    def embed(self, texts: list[str]) -> Vectors:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "big") % self.dimension] += 1.0
        out[:, 0] += 1e-3  # Pinecone refuses all-zero vectors
        normalized: Vectors = out / np.linalg.norm(out, axis=1, keepdims=True)
        return normalized


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = (
        f"sqlite:///{tmp_path / 'vectors.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    upgrade(url)
    database = Database(make_engine(load_settings(database_url=url)))
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def fake() -> Iterator[FakePinecone]:
    with serving(FakePinecone(dimension=DIMENSION)) as running:
        yield running


def pinecone_settings(db: Database, fake: FakePinecone, namespace: str = "default") -> Settings:
    return load_settings(
        database_url=db.engine.url.render_as_string(hide_password=False),
        openai_api_key=None,
        pinecone_api_key=fake.api_key,
        pinecone_index_host=fake.base_url,
        pinecone_namespace=namespace,
    )


def engine_for(db: Database, fake: FakePinecone, namespace: str = "default") -> SearchEngine:
    return SearchEngine(pinecone_settings(db, fake, namespace), db, embedder=HashEmbedder())


def index_all(engine: SearchEngine) -> int:
    return index_pending(engine.db, engine.embedder, index=engine.index).documents


def document_id(db: Database, key: str) -> int:
    with db.session() as session:
        found = session.scalar(select(Document.id).where(Document.external_id == key))
    assert found is not None
    return found


def stored_keys(db: Database) -> set[str]:
    with db.session() as session:
        return {vector_id(d, o) for d, o in session.execute(select(Chunk.document_id, Chunk.ordinal))}


def add_meeting(db: Database, words: int) -> int:
    body = " ".join(f"word{i % 97}" for i in range(words))
    with db.session() as session:
        document = Document(source="meeting", external_id="retro-1", title="Sprint retro", body=body)
        session.add(document)
        session.flush()
        return document.id


def test_indexed_chunks_are_queried_with_their_metadata(db: Database, fake: FakePinecone) -> None:
    with db.session() as session:
        load_demo(session)
    engine = engine_for(db, fake)
    assert index_all(engine) == 40
    assert set(fake.vectors("default")) == stored_keys(db)
    assert engine.index.count() == len(stored_keys(db))
    assert index_all(engine) == 0  # nothing pending: nothing sent again
    with db.session() as session:
        issue = session.scalar(select(JiraIssue).where(JiraIssue.key == "PAY-17"))
        assert issue is not None
        text, status, url = f"{issue.summary}\n{issue.description}", issue.status, issue.url

    vector = engine.embedder.embed([text])[0]
    client = Pinecone(api_key=fake.api_key).Index(host=fake.base_url)
    response = client.query(vector=vector.tolist(), top_k=3, namespace="default", include_metadata=True)
    best = response.matches[0]
    assert best.id == vector_id(document_id(db, "PAY-17"), 0)
    metadata = best.metadata or {}
    assert metadata["source"] == "jira"
    assert metadata["project"] == "PAY"
    assert metadata["key"] == "PAY-17"
    assert metadata["status"] == status
    assert metadata["url"] == url
    assert metadata["access"] == "public"
    assert int(metadata["document_id"]) == document_id(db, "PAY-17")
    assert int(metadata["updated"]) > 1_500_000_000
    assert all(m.metadata and None not in m.metadata.values() for m in response.matches)
    hits = engine.index.search(vector, limit=5)
    assert hits[0].document_id == document_id(db, "PAY-17")
    assert len({h.document_id for h in hits}) == len(hits) == 5  # one hit per document


def test_reembedding_with_fewer_chunks_removes_the_stale_vectors(db: Database, fake: FakePinecone) -> None:
    engine = engine_for(db, fake)
    document = add_meeting(db, 400)
    index_all(engine)
    assert sorted(fake.vectors("default")) == [vector_id(document, o) for o in range(4)]
    with db.session() as session:
        session.execute(
            update(Document).where(Document.id == document).values(body="short notes now", indexed_at=None)
        )
    index_all(engine)
    assert sorted(fake.vectors("default")) == [vector_id(document, 0)]
    assert fake.vectors("default")[vector_id(document, 0)].metadata["access"] == "public"


def test_a_deleted_issue_loses_its_vectors(db: Database, fake: FakePinecone) -> None:
    with db.session() as session:
        load_demo(session)
    engine = engine_for(db, fake)
    index_all(engine)
    gone = document_id(db, "PAY-3")
    with db.session() as session:  # what Jira reconciliation does for an issue deleted in Jira
        session.execute(update(JiraIssue).where(JiraIssue.key.in_(["PAY-3"])).values(deleted=True))
        session.execute(
            delete(Document).where(Document.source == "jira", Document.external_id.in_(["PAY-3"]))
        )
    with db.session() as session:
        assert session.scalars(select(VectorDeletion.document_id)).all() == [gone]
    assert any(i.startswith(f"doc{gone}#") for i in fake.vectors("default"))
    index_all(engine)
    assert not any(i.startswith(f"doc{gone}#") for i in fake.vectors("default"))
    assert set(fake.vectors("default")) == stored_keys(db)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(VectorDeletion)) == 0


def test_namespaces_keep_deployments_apart(db: Database, fake: FakePinecone) -> None:
    with db.session() as session:
        load_demo(session)
    first, second = engine_for(db, fake, "team-a"), engine_for(db, fake, "team-b")
    index_all(first)
    assert first.index.count() == len(stored_keys(db))
    assert second.index.count() == 0
    assert second.index.search(first.embedder.embed(["refund"])[0], limit=5) == []
    reindex(db, second.embedder, index=second.index)
    assert set(fake.vectors("team-b")) == set(fake.vectors("team-a"))
    web3 = document_id(db, "WEB-3")
    first.index.delete(documents=[web3])
    assert not any(i.startswith(f"doc{web3}#") for i in fake.vectors("team-a"))
    assert any(i.startswith(f"doc{web3}#") for i in fake.vectors("team-b"))


def chunks(count: int, dimension: int) -> list[ChunkVector]:
    rng = np.random.default_rng(7)
    meta = ChunkMeta("meeting", None, None, None, 1_700_000_000, None, "public")
    vectors = rng.normal(size=(count, dimension)).astype(np.float32)
    return [ChunkVector(1 + i // 4, i % 4, vectors[i], meta) for i in range(count)]


def test_upserts_go_in_batches_of_at_most_100_vectors_and_well_under_2_mb(fake: FakePinecone) -> None:
    index = PineconeVectorIndex(fake.api_key, fake.base_url, "default")
    index.upsert(chunks(250, DIMENSION))
    assert [c.vectors for c in fake.calls_to("/vectors/upsert")] == [100, 100, 50]
    assert index.count() == 250
    with serving(FakePinecone(dimension=1536)) as wide:
        PineconeVectorIndex(wide.api_key, wide.base_url, "default").upsert(chunks(100, 1536))
        calls = wide.calls_to("/vectors/upsert")
        assert len(calls) >= 3
        assert sum(c.vectors for c in calls) == 100
        assert all(c.status == 200 and c.body_bytes < 1_600_000 for c in calls)
        assert len(wide.vectors("default")) == 100


def test_a_rate_limit_is_retried_by_the_client(db: Database, fake: FakePinecone) -> None:
    engine = engine_for(db, fake)
    add_meeting(db, 50)
    fake.fail_next(429, path="/vectors/upsert")
    assert index_all(engine) == 1
    assert [c.status for c in fake.calls_to("/vectors/upsert")] == [429, 200]
    assert set(fake.vectors("default")) == stored_keys(db)


def test_an_outage_is_retryable_and_the_batch_stays_pending(db: Database, fake: FakePinecone) -> None:
    engine = engine_for(db, fake)
    add_meeting(db, 50)
    fake.down = True
    with pytest.raises(Retryable, match="Pinecone upsert: HTTP 503"):
        index_all(engine)
    assert pending_count(db) == 1
    assert stored_keys(db) == set()  # the chunks were rolled back with the batch
    fake.down = False
    assert index_all(engine) == 1
    assert set(fake.vectors("default")) == stored_keys(db) != set()


def test_reindex_is_idempotent_and_removes_what_the_database_lacks(db: Database, fake: FakePinecone) -> None:
    with db.session() as session:
        load_demo(session)
    engine = engine_for(db, fake)
    index_all(engine)
    expected = set(fake.vectors("default"))
    first = reindex(db, engine.embedder, index=engine.index)
    assert (first.documents, first.embedded, first.removed) == (40, 0, 0)
    assert set(fake.vectors("default")) == expected
    orphan = ChunkVector(999_999, 0, engine.embedder.embed(["orphan"])[0], chunks(1, DIMENSION)[0].meta)
    engine.index.upsert([orphan])  # a vector no stored chunk is behind (say, after restoring a backup)
    second = reindex(db, engine.embedder, index=engine.index)
    assert second.removed == 1
    assert set(fake.vectors("default")) == expected
    again = reindex(db, engine.embedder, index=engine.index, re_embed=True)
    assert (again.documents, again.embedded, again.removed) == (40, 40, 0)
    assert set(fake.vectors("default")) == expected == stored_keys(db)


def test_search_through_the_service_uses_pinecone_and_respects_restricted_projects(
    db: Database, fake: FakePinecone
) -> None:
    with db.session() as session:
        load_demo(session)
    engine = engine_for(db, fake)
    index_all(engine)
    query = "customer was billed two times for one purchase"
    with db.session() as session:
        results = search(session, query, Viewer(), limit=10, engine=engine)
    assert fake.calls_to("/query")
    assert any(r.key and r.key.startswith("PAY-") for r in results)

    with db.session() as session:
        project = session.get(Project, "PAY")
        assert project is not None
        project.restricted = True
    with db.session() as session:
        keys = [r.key for r in search(session, query, Viewer(user_id=12345, role=Role.USER), engine=engine)]
    assert keys
    assert not any(k and k.startswith("PAY-") for k in keys)
    vector = engine.embedder.embed([query])[0]
    pay = {document_id(db, f"PAY-{n}") for n in (3, 17)}
    assert pay & {h.document_id for h in engine.index.search(vector, limit=40)}
    assert not pay & {h.document_id for h in engine.index.search(vector, limit=40, exclude_projects={"PAY"})}

    with db.session() as session:  # a re-embedded document carries the restriction in its metadata
        session.execute(update(Document).where(Document.external_id == "PAY-3").values(indexed_at=None))
    index_all(engine)
    assert fake.vectors("default")[vector_id(document_id(db, "PAY-3"), 0)].metadata["access"] == "project:PAY"


def test_start_up_goes_on_when_pinecone_is_unreachable(db: Database, fake: FakePinecone) -> None:
    fake.down = True  # readiness reports it; only a known mismatch stops a process
    engine_for(db, fake).check_dimension()
    statuses = [c.status for c in fake.calls_to("/describe_index_stats")]
    assert statuses  # asked (and retried by the client), then let go
    assert set(statuses) == {503}


def test_the_fake_filters_like_pinecone(fake: FakePinecone) -> None:
    client = Pinecone(api_key=fake.api_key).Index(host=fake.base_url)
    rows = [("a", "PAY", "Open", 1), ("b", "WEB", "Done", 2), ("c", "", "Open", 3)]
    client.upsert(
        vectors=[
            {
                "id": i,
                "values": [1.0] + [0.1 * n] * (DIMENSION - 1),
                "metadata": {"project": p, "status": s, "n": n},
            }
            for i, p, s, n in rows
        ],
        namespace="f",
    )

    def ids(where: dict[str, object]) -> set[str]:
        found = client.query(vector=[1.0] * DIMENSION, top_k=10, namespace="f", filter=where)
        return {m.id for m in found.matches}

    assert ids({"project": {"$eq": "PAY"}}) == ids({"project": "PAY"}) == {"a"}
    assert ids({"project": {"$ne": "PAY"}}) == {"b", "c"}
    assert ids({"project": {"$in": ["PAY", "WEB"]}}) == {"a", "b"}
    assert ids({"project": {"$nin": ["PAY", "WEB"]}}) == {"c"}
    assert ids({"$and": [{"status": "Open"}, {"n": {"$gte": 2}}]}) == {"c"}
    assert ids({"$or": [{"project": "WEB"}, {"n": {"$lt": 2}}]}) == {"a", "b"}
    assert ids({"missing": {"$ne": "x"}}) == set()
    client.delete(filter={"status": {"$eq": "Open"}}, namespace="f")
    assert set(fake.vectors("f")) == {"b"}
    assert [v.id for page in client.list(namespace="f", limit=1) for v in page.vectors] == ["b"]
    client.delete(delete_all=True, namespace="f")
    assert client.describe_index_stats().namespaces == {}


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated SQLite database and no operator variables but the database's."""
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(f"{name.upper()}_FILE", raising=False)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@pytest.mark.parametrize("command", ["serve", "socket", "worker"])
def test_a_dimension_mismatch_stops_start_up_with_one_line(
    command: str, cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serving(FakePinecone(dimension=1536)) as wide:
        monkeypatch.setenv("PINECONE_API_KEY", wide.api_key)
        monkeypatch.setenv("PINECONE_INDEX_HOST", wide.base_url)
        monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/13")
        monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-test")
        monkeypatch.setenv("SLACK_SIGNING_SECRET", "f" * 8 + "0123456789abcdef0123")
        monkeypatch.setenv("AGENTPM_ENCRYPTION_KEYS", Fernet.generate_key().decode())
        result = CliRunner().invoke(main, [command])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("agentpm: the pinecone vector index has 1536 dimensions")
    assert "all-MiniLM-L6-v2 makes 384" in lines[0]
    assert wide.api_key not in result.output


def test_a_refused_pinecone_key_stops_start_up_with_one_line(
    cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serving(FakePinecone(dimension=384)) as fake:
        fake.fail_next(401, times=10)
        monkeypatch.setenv("PINECONE_API_KEY", fake.api_key)
        monkeypatch.setenv("PINECONE_INDEX_HOST", fake.base_url)
        monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/13")
        monkeypatch.setenv("SLACK_SIGNING_SECRET", "f" * 8 + "0123456789abcdef0123")
        monkeypatch.setenv("AGENTPM_ENCRYPTION_KEYS", Fernet.generate_key().decode())
        result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("agentpm: the vector index cannot be used")
    assert "Traceback" not in result.output
    assert fake.api_key not in result.output


def test_agentpm_reindex_and_status_with_pinecone(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database(make_engine(load_settings(database_url=cli_env)))
    with db.session() as session:
        load_demo(session)
    with serving(FakePinecone(dimension=384)) as local_size:
        monkeypatch.setenv("PINECONE_API_KEY", local_size.api_key)
        monkeypatch.setenv("PINECONE_INDEX_HOST", local_size.base_url)
        runner = CliRunner()
        first = runner.invoke(main, ["reindex"])
        assert first.exit_code == 0, first.output
        assert "indexed 40 documents as" in first.stdout
        assert "(40 embedded, pinecone index)" in first.stdout
        count = len(local_size.vectors("default"))
        assert count == len(stored_keys(db)) >= 40
        second = runner.invoke(main, ["reindex"])
        assert second.exit_code == 0, second.output
        assert "(0 embedded, pinecone index)" in second.stdout
        assert len(local_size.vectors("default")) == count

        space = local_size.namespaces["default"]
        space["doc999999#0"] = next(iter(space.values()))  # the count is Pinecone's, not the chunks'
        status = runner.invoke(main, ["status", "--json"])
        assert status.exit_code == 0, status.output
        assert f'"index": {{"backend": "pinecone", "vectors": {count + 1}}}' in status.stdout
    db.dispose()
