"""Search over everything the bot knows, filtered by what the asking user may see.

Keyword rankings (core/search/keyword.py) fused with dense rankings (the vector index) by reciprocal rank.
Only documents the asking user may see are ranked: the keyword query filters by permission itself, and dense
candidates are checked against the same condition before they are fused.
"""

from __future__ import annotations

import contextvars
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import Session

from core.config import Role
from core.db.models import Document, JiraIssue, Project, ProjectMember
from core.errors import Retryable
from core.search.embed import query_vectors
from core.search.engine import SearchEngine
from core.search.keyword import keyword_rankings
from core.search.text import query_terms

Source = Literal["jira", "slack", "meeting"]
SNIPPET_CHARS = 240


class Viewer(BaseModel):
    """Who is searching: ADMINs see everything; others not restricted projects they are not members of."""

    user_id: int | None = None
    role: Role = Role.ADMIN
    channels: frozenset[str] | None = None  # channels whose documents they may see; None: all (shell/admin)


class SearchFilters(BaseModel):
    project: str | None = None
    source: Source | None = None
    since: datetime | None = None


class SearchResult(BaseModel):
    document_id: int
    source: str
    key: str | None
    title: str
    url: str | None
    score: float
    snippet: str
    project: str | None = None
    status: str | None = None
    assignee: str | None = None
    updated: datetime | None = None


def _visibility(viewer: Viewer) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if viewer.role is not Role.ADMIN:
        member_of = select(ProjectMember.project_key).where(ProjectMember.user_id == (viewer.user_id or -1))
        hidden = select(Project.key).where(Project.restricted.is_(True), Project.key.not_in(member_of))
        conditions.append(or_(Document.project_key.is_(None), Document.project_key.not_in(hidden)))
    if viewer.channels is not None:
        conditions.append(
            or_(Document.channel_id.is_(None), Document.channel_id.in_(sorted(viewer.channels)))
        )
    return conditions


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """The documents ``viewer`` may see, as a SQL condition."""
    return and_(true(), *_visibility(viewer))


def _filters(filters: SearchFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.project:
        conditions.append(Document.project_key == filters.project.upper())
    if filters.source:
        conditions.append(Document.source == filters.source)
    if filters.since:
        conditions.append(Document.updated_at >= filters.since)
    return conditions


def snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """A window of ``text`` around the first query term it contains (the start when none does), whitespace
    collapsed; "…" marks text cut off on either side."""
    return _snippet(text, _term_pattern(query_terms(query)), width)


def _term_pattern(terms: list[str]) -> re.Pattern[str] | None:
    """Any of ``terms`` at the start of a word, in any case: one scan finds the first of them."""
    return re.compile(r"\b(?:" + "|".join(map(re.escape, terms)) + ")", re.IGNORECASE) if terms else None


def _snippet(text: str, pattern: re.Pattern[str] | None, width: int = SNIPPET_CHARS) -> str:
    match = pattern.search(text) if pattern else None
    at = 0  # where the match starts once whitespace is collapsed
    if match:
        before = " ".join(text[: match.start()].split())
        at = len(before) + (1 if before and text[match.start() - 1].isspace() else 0)
    start = max(0, at - width // 3)
    # Flatten only as much as the window needs (issues can be long): the result is a prefix of the whole
    # text flattened, longer than the window's end unless it is all of it.
    cut = (match.start() if match else 0) + 2 * width
    flat = " ".join(text[:cut].split())
    while len(flat) <= start + width and cut < len(text):
        cut *= 2
        flat = " ".join(text[:cut].split())
    if len(flat) <= width and cut >= len(text):
        return flat
    end = min(len(flat), start + width)
    return ("…" if start else "") + flat[start:end].strip() + ("…" if end < len(flat) else "")


CANDIDATES = 100
# Reciprocal rank fusion of up to four rankings: keyword and vectors, each for the whole query and (for a
# multi-line query such as an issue) its first line. Tuned on the dev labels: k between 5 and 20 all score
# within 0.01 Hits@10 of each other (0.713-0.725; keyword alone 0.593, vectors alone 0.610); 10 is the middle.
RRF_K = 10
QUERY_CHARS = 4000  # embedded of a query (the model reads its first 256 tokens anyway)


@dataclass(frozen=True)
class Ranked:
    document_id: int
    score: float


def _first_line(query: str) -> str | None:
    """The summary line of a multi-line query (an issue, a message with details), or None."""
    head = query.strip().split("\n", 1)[0].strip()
    return head if head and head != query.strip() else None


def _fuse(rankings: list[list[int]]) -> dict[int, float]:
    fused: dict[int, float] = {}
    for ranking in rankings:
        for position, document in enumerate(ranking):
            fused[document] = fused.get(document, 0.0) + 1.0 / (RRF_K + position + 1)
    return fused


def _allowed(session: Session, candidates: set[int], where: ColumnElement[bool] | None) -> set[int]:
    """The candidates ``where`` admits (all of them when there is no condition)."""
    if where is None or not candidates:
        return candidates
    return set(session.scalars(select(Document.id).where(Document.id.in_(sorted(candidates)), where)))


def _dense_hits(engine: SearchEngine, texts: list[str], depth: int) -> list[list[int]]:
    """Each text's nearest documents, best first (no permission check: that needs the session)."""
    vectors = query_vectors.embed(engine.embedder, [text[:QUERY_CHARS] for text in texts])
    return [[h.document_id for h in engine.index.search(vector, limit=depth)] for vector in vectors]


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
DENSE_WORKERS = 4
# Past the embedder's and the index's own timeouts and retries (OpenAI: 30 s, 4 retries): a stuck dense half
# fails the search as a transient error instead of holding the job forever.
DENSE_TIMEOUT_SECONDS = 180.0


def _dense_pool() -> ThreadPoolExecutor:
    """Threads for the dense half of a search (created on first use, so never before a worker forks)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=DENSE_WORKERS, thread_name_prefix="search-dense")
        return _pool


def rank(
    session: Session,
    query: str,
    where: ColumnElement[bool] | None,
    limit: int,
    engine: SearchEngine | None,
) -> list[Ranked]:
    """Keyword rankings, fused with vector rankings when an engine is given; ``where`` None: no condition.

    The query is embedded and the vector index searched on another thread while the database ranks by
    keywords (onnxruntime, numpy and SQLite all run without the GIL), so a search takes about as long as the
    slower of the two, not their sum. The session stays on the calling thread.
    """
    head = _first_line(query)
    texts = [query] + ([head] if head else [])
    depth = max(limit, CANDIDATES)
    dense: Future[list[list[int]]] | None = None
    if engine is not None:
        context = contextvars.copy_context()  # the request's log context goes along
        dense = _dense_pool().submit(context.run, _dense_hits, engine, texts, depth)
    rankings = [[h.document_id for h in hits] for hits in keyword_rankings(session, texts, depth, where)]
    if dense is not None:
        try:
            nearest = dense.result(timeout=DENSE_TIMEOUT_SECONDS)
        except FutureTimeout as exc:
            raise Retryable(f"vector search took over {DENSE_TIMEOUT_SECONDS:.0f} s") from exc
        allowed = _allowed(session, {d for ranking in nearest for d in ranking}, where)
        rankings += [[d for d in ranking if d in allowed] for ranking in nearest]
    if len(rankings) == 1:  # one keyword ranking: keep its order and scores' order
        return [Ranked(d, 1.0 / (RRF_K + i + 1)) for i, d in enumerate(rankings[0][:limit])]
    ordered = sorted(_fuse(rankings).items(), key=lambda kv: (-kv[1], kv[0]))
    return [Ranked(d, s) for d, s in ordered[:limit]]


def search(
    session: Session,
    query: str,
    viewer: Viewer,
    filters: SearchFilters | None = None,
    *,
    limit: int = 10,
    offset: int = 0,
    engine: SearchEngine | None = None,
) -> list[SearchResult]:
    """One result per document, best first; keyword only without an engine, fused with vectors with one."""
    conditions = _visibility(viewer) + _filters(filters or SearchFilters())
    where = and_(*conditions) if conditions else None
    hits = rank(session, query, where, offset + limit, engine)[offset:]
    return _hydrate(session, hits, query) if hits else []


def _hydrate(session: Session, hits: list[Ranked], query: str) -> list[SearchResult]:
    """The results for ``hits``, in their order: one query for the documents and their Jira issues."""
    rows = session.execute(
        select(
            Document.id, Document.source, Document.external_id, Document.title, Document.body, Document.url,
            Document.project_key, Document.updated_at, JiraIssue.status, JiraIssue.assignee_name,
        )
        .outerjoin(JiraIssue, and_(Document.source == "jira", JiraIssue.key == Document.external_id))
        .where(Document.id.in_([h.document_id for h in hits]))
    ).all()  # fmt: skip
    found = {row.id: row for row in rows}
    pattern = _term_pattern(query_terms(query))
    results: list[SearchResult] = []
    for hit in hits:
        row = found.get(hit.document_id)
        if row is None:
            continue
        jira = row.source == "jira"
        updated = row.updated_at
        results.append(
            SearchResult(
                document_id=row.id,
                source=row.source,
                key=row.external_id if jira else None,
                title=row.title,
                url=row.url,
                score=round(hit.score, 6),
                snippet=_snippet(row.body or row.title, pattern),
                project=row.project_key,
                status=row.status if jira else None,
                assignee=row.assignee_name if jira else None,
                updated=updated.replace(tzinfo=UTC) if updated and updated.tzinfo is None else updated,
            )
        )
    return results
