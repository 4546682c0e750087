"""Keyword ranking on both dialects: term choice for long queries, the permission filter, hydration."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.config import Role, load_settings
from core.db.models import Document, JiraIssue, Project
from core.db.schema import upgrade
from core.db.session import Database, make_engine
from core.errors import Retryable
from core.search import keyword, service
from core.search.embed import Vectors
from core.search.keyword import KeywordHit, choose_terms, frequencies, keyword_rankings, keyword_search
from core.search.service import Viewer, search, visible_to
from core.search.text import searchable_text

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'keyword.db'}"
        upgrade(url)
    else:
        url = request.getfixturevalue("migrated_pg")
    database = Database(make_engine(load_settings(database_url=url)))
    yield database
    database.dispose()


def keys(session: Session, hits: list[KeywordHit]) -> list[str]:
    names: dict[int, str] = dict(session.execute(select(Document.id, Document.external_id)).all())
    return [names[h.document_id] for h in hits]


def add(
    session: Session, key: str, title: str, body: str, project: str = "OPEN", source: str = "jira"
) -> None:
    document = Document(
        source=source, external_id=key, title=f"{key}: {title}", body=body, project_key=project,
        search_text=searchable_text(f"{key}: {title}", body), url=f"https://jira.example/browse/{key}",
    )  # fmt: skip
    session.add(document)


def seed(db: Database) -> None:
    with db.session() as session:
        session.add_all(
            [Project(key="OPEN", name="Open"), Project(key="SECRET", name="Secret", restricted=True)]
        )
        for i in range(12):
            add(session, f"OPEN-{i}", f"balancer report {i}", "the balancer moved blocks between datanodes")
        add(session, "OPEN-50", "zookeeper fencing", "fencing failed during failover with zookeeper quorum")
        for i in range(12):  # the best matches for "quorum journal", all hidden from non-members
            add(
                session,
                f"SECRET-{i}",
                "quorum journal quorum",
                "quorum journal edits quorum",
                project="SECRET",
            )
        add(session, "OPEN-60", "journal node", "the journal node lost quorum once")
        session.flush()
        session.add(
            JiraIssue(
                key="OPEN-50", jira_id="50", project_key="OPEN", summary="zookeeper fencing", status="Open",
                assignee_name="Ada", created=NOW, updated=NOW,
            )
        )  # fmt: skip


def analyze(db: Database) -> None:
    """Planner statistics, as autovacuum keeps them (PostgreSQL estimates how common a term is from them)."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            connection.execute(text("ANALYZE documents"))
            connection.commit()
    frequencies.clear()


def test_long_queries_keep_their_rarest_terms(db: Database) -> None:
    seed(db)
    analyze(db)
    terms = ["balancer", "datanodes", "zookeeper", "fencing", "nowhere", "moved"]
    with db.session() as session:
        assert choose_terms(session, terms, limit=10) == terms  # short queries as they are
        counts = frequencies.get(session, terms)
        assert counts["balancer"] > counts["zookeeper"] == counts["fencing"] > 0
        if db.engine.dialect.name == "sqlite":  # counted
            assert (counts["balancer"], counts["zookeeper"], counts["nowhere"]) == (12, 1, 0)
            # the rarest first, ties in the query's order; a term no document has is no use
            assert choose_terms(session, terms, limit=3) == ["zookeeper", "fencing", "balancer"]
        else:  # estimated: a term the statistics do not list is rare; a stop word is no lexeme at all
            assert counts["nowhere"] == 1
            assert frequencies.get(session, ["the"]) == {"the": 0}
            assert choose_terms(session, terms, limit=3) == ["nowhere", "zookeeper", "fencing"]


def test_a_long_query_is_searched_with_its_rarest_terms(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db)
    frequencies.clear()
    monkeypatch.setattr(keyword, "MAX_TERMS", 2)
    query = "balancer datanodes moved blocks zookeeper fencing"
    if db.engine.dialect.name == "postgresql":  # no statistics yet: the first terms
        with db.session() as session:
            hits = keyword_search(session, query, limit=3)
            assert len(hits) == 3
            assert "OPEN-50" not in keys(session, hits)  # searched for "balancer datanodes"
        analyze(db)
    with db.session() as session:
        hits = keyword_search(session, query, limit=3)
        assert keys(session, hits) == ["OPEN-50"]  # searched for "zookeeper fencing" alone


def test_hidden_documents_never_rank_even_when_they_match_best(db: Database) -> None:
    seed(db)
    user = Viewer(user_id=None, role=Role.USER)
    with db.session() as session:
        everything = keyword_search(session, "quorum journal", limit=5)
        assert len(everything) == 5
        for limit in (1, 3, 20):  # more hidden matches than are fetched before falling back to the join
            hits = keyword_search(session, "quorum journal", limit=limit, where=visible_to(user))
            assert keys(session, hits) == (["OPEN-60", "OPEN-50"] if limit > 1 else ["OPEN-60"])
        assert all(k.startswith("SECRET-") for k in keys(session, everything))
        both = keyword_rankings(session, ["quorum journal", "balancer"], 4, visible_to(user))
        assert both == [
            keyword_search(session, "quorum journal", limit=4, where=visible_to(user)),
            keyword_search(session, "balancer", limit=4, where=visible_to(user)),
        ]


def test_results_carry_their_issue_fields(db: Database) -> None:
    seed(db)
    with db.session() as session:
        add(session, "C0123-1", "a zookeeper thread", "talk about zookeeper", project="", source="slack")
        document = session.scalar(select(Document).where(Document.external_id == "C0123-1"))
        assert document is not None
        document.project_key = None
    with db.session() as session:
        results = search(session, "zookeeper", Viewer(), limit=5)
    by_key = {r.key or r.title: r for r in results}
    assert by_key["OPEN-50"].status == "Open"
    assert by_key["OPEN-50"].assignee == "Ada"
    assert by_key["OPEN-50"].snippet.startswith("fencing failed")
    slack = by_key["C0123-1: a zookeeper thread"]
    assert slack.source == "slack"
    assert slack.status is None
    assert slack.key is None


class StuckEmbedder:
    name = "stuck"
    dimension = 4

    def __init__(self) -> None:
        self.release = threading.Event()

    def embed(self, texts: list[str]) -> Vectors:
        self.release.wait(10)
        raise RuntimeError("the model went away")


@dataclass
class FakeEngine:
    embedder: StuckEmbedder
    index: object = None


def test_a_stuck_dense_half_fails_the_search_as_transient(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db)
    monkeypatch.setattr(service, "DENSE_TIMEOUT_SECONDS", 0.2)
    engine = FakeEngine(StuckEmbedder())
    with db.session() as session, pytest.raises(Retryable, match="vector search took over"):
        search(session, "zookeeper fencing", Viewer(), engine=engine)  # type: ignore[arg-type]
    engine.embedder.release.set()  # an embedder that fails instead: its own error reaches the caller
    monkeypatch.setattr(service, "DENSE_TIMEOUT_SECONDS", 10.0)
    with db.session() as session, pytest.raises(RuntimeError, match="went away"):
        search(session, "zookeeper fencing again", Viewer(), engine=engine)  # type: ignore[arg-type]
