"""Keyword ranking in the database: PostgreSQL full-text search (GIN) or SQLite FTS5 (BM25).

Queries are built from sanitised terms (``[a-z0-9]`` only) and passed as bound parameters; no user text is
ever part of the SQL.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
    text,
    true,
)
from sqlalchemy.orm import Session

from core.db.models import Document
from core.search.text import query_terms

# BM25 column weights (title, text) for FTS5; PostgreSQL weighs the title with setweight 'A' instead.
SQLITE_RANK = "bm25(documents_fts, 4.0, 1.0)"
# SQLite ranks in the full-text index alone, then checks the best candidates against the permission and
# filter condition: joining every match to its (wide) document row costs more than ranking does. This many
# times the wanted number are checked before falling back to the join, which is exact whatever the share of
# hidden documents.
SQLITE_OVERFETCH = 3


# A long query (a whole issue) is searched with its MAX_TERMS rarest terms: they say what it is about, and
# every term in an OR query costs time (see DocumentFrequencies for how rare is known). Candidates are its
# first distinct terms.
MAX_TERMS = 48
CANDIDATE_TERMS = 400
COMMON_DF = 5000  # SQLite: counting stops here, any term in this many documents is common
DF_CACHE_TERMS = 50_000
DF_CACHE_SECONDS = 600.0


@dataclass(frozen=True)
class KeywordHit:
    document_id: int
    score: float


def keyword_search(
    session: Session, query: str, *, limit: int = 50, where: ColumnElement[bool] | None = None
) -> list[KeywordHit]:
    """Best documents for ``query`` among those ``where`` admits, best first (higher ``score`` is better)."""
    return keyword_rankings(session, [query], limit, where)[0]


def keyword_rankings(
    session: Session, queries: list[str], limit: int, where: ColumnElement[bool] | None = None
) -> list[list[KeywordHit]]:
    """``keyword_search`` for each of ``queries``."""
    postgres = session.get_bind().dialect.name == "postgresql"
    rankings: list[list[KeywordHit]] = []
    for query in queries:
        terms = choose_terms(session, query_terms(query, limit=CANDIDATE_TERMS))
        if not terms:
            rankings.append([])
        elif postgres:
            rankings.append(_postgres(session, terms, limit, where))
        else:
            rankings.append(_sqlite(session, terms, limit, where))
    return rankings


def choose_terms(session: Session, terms: list[str], limit: int | None = None) -> list[str]:
    """``terms`` if there are at most ``limit`` (``MAX_TERMS``); else the ``limit`` rarest that occur at all
    (ties: the first)."""
    limit = MAX_TERMS if limit is None else limit
    if len(terms) <= limit:
        return terms
    counts = frequencies.get(session, terms)
    order = {term: i for i, term in enumerate(terms)}
    return sorted((t for t in terms if counts[t] > 0), key=lambda t: (counts[t], order[t]))[:limit]


_SQLITE_DF = text(
    "SELECT count(*) FROM (SELECT rowid FROM documents_fts WHERE documents_fts MATCH :q LIMIT :cap)"
)
_POSTGRES_LEXEMES = text(
    "SELECT t, CAST(to_tsquery('english', t) AS text) FROM unnest(CAST(:terms AS text[])) AS t"
)
_POSTGRES_COMMON = text(
    "SELECT CAST(CAST(most_common_elems AS text) AS text[]), most_common_elem_freqs FROM pg_stats "
    "WHERE schemaname = current_schema() AND tablename = 'documents' AND attname = 'search_vector'"
)
_ESTIMATE_SCALE = 1_000_000  # PostgreSQL: a lexeme's share of documents, as an integer to order by


@dataclass
class _Cache:
    terms: dict[str, tuple[int, float]] = field(default_factory=dict)  # term -> (frequency, when looked up)
    common: dict[str, float] = field(default_factory=dict)  # PostgreSQL: lexeme -> share of documents
    common_at: float = -1e18


class DocumentFrequencies:
    """How common each term is, per database, cached for a while (``DF_CACHE_SECONDS``).

    SQLite: the number of documents holding it (counting stops at ``COMMON_DF``), from the FTS5 index, about
    0.1 ms a term. PostgreSQL would visit the heap to count (1-10 ms a term, and an issue has hundreds), so
    there it is an estimate from the planner's statistics (``pg_stats``, as of the last ANALYZE): the share of
    documents for the ~1,000 most common lexemes, and 1 for any other term; 0 for a term that is no lexeme
    (a stop word). Without statistics every term counts 1, so the query's first terms are kept.
    """

    def __init__(self, size: int = DF_CACHE_TERMS, seconds: float = DF_CACHE_SECONDS) -> None:
        self.size, self.seconds = size, seconds
        self._caches: weakref.WeakKeyDictionary[Engine, _Cache] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, session: Session, terms: list[str]) -> dict[str, int]:
        bind = session.get_bind()
        engine = bind if isinstance(bind, Engine) else bind.engine
        now = time.monotonic()
        with self._lock:
            cache = self._caches.setdefault(engine, _Cache())
            found = {t: hit[0] for t in terms if (hit := cache.terms.get(t)) and now - hit[1] < self.seconds}
        missing = [t for t in terms if t not in found]
        if missing and engine.dialect.name == "postgresql":
            found.update(self._estimated(session, cache, missing, now))
        else:
            for term in missing:  # [a-z0-9]+: quoting makes it an FTS5 phrase and nothing else
                count = session.execute(_SQLITE_DF, {"q": f'"{term}"', "cap": COMMON_DF}).scalar_one()
                found[term] = int(count)
        if missing:
            with self._lock:
                if len(cache.terms) + len(missing) > self.size:
                    cache.terms.clear()
                cache.terms.update((t, (found[t], now)) for t in missing)
        return found

    def _estimated(self, session: Session, cache: _Cache, terms: list[str], now: float) -> dict[str, int]:
        if now - cache.common_at >= self.seconds:
            row = session.execute(_POSTGRES_COMMON).first()
            common = dict(zip(row[0], row[1], strict=False)) if row and row[0] and row[1] else {}
            with self._lock:
                cache.common, cache.common_at = common, now
        rows = session.execute(_POSTGRES_LEXEMES, {"terms": terms}).all()
        lexemes: dict[str, str] = {str(term): str(lexeme or "") for term, lexeme in rows}
        estimates: dict[str, int] = {}
        for term in terms:
            lexeme = lexemes.get(term, "").strip("'")
            share = cache.common.get(lexeme, 0.0)
            estimates[term] = 1 + int(share * _ESTIMATE_SCALE) if lexeme else 0
        return estimates

    def clear(self) -> None:
        with self._lock:
            self._caches.clear()


frequencies = DocumentFrequencies()


def _postgres(
    session: Session, terms: list[str], limit: int, where: ColumnElement[bool] | None
) -> list[KeywordHit]:
    # OR of the terms: long questions and whole issue texts still match documents sharing some words. Ranked
    # by term frequency (the title weighed above the text) over 1 + log(length). Not ts_rank_cd: cover
    # density all but ignores documents that do not hold the query's terms close together, which an OR query
    # of a whole issue never finds (dev duplicate labels, summary line: Hits@10 0.03 against 0.44 with
    # ts_rank). Normalising by length matters for long queries (0.51 against 0.41, 120 whole issues).
    # The tsquery is parsed once, in its own FROM item: inline, to_tsquery (stable, not immutable) would be
    # parsed again for every row ranked.
    parsed = select(func.to_tsquery("english", bindparam("q", " | ".join(terms))).label("query")).subquery(
        "tsq"
    )
    vector: ColumnElement[Any] = literal_column("documents.search_vector")
    rank = func.ts_rank(vector, parsed.c.query, 1).label("score")
    query = (
        select(Document.id, rank)
        .select_from(Document)
        .join(parsed, true())
        .where(vector.op("@@")(parsed.c.query))
    )
    if where is not None:
        query = query.where(where)
    rows = session.execute(query.order_by(rank.desc(), Document.id).limit(limit)).all()
    return [KeywordHit(int(row[0]), float(row[1])) for row in rows]


_FTS = table("documents_fts", column("rowid"))
_SCORE: ColumnElement[Any] = literal_column(SQLITE_RANK)


def _sqlite(
    session: Session, terms: list[str], limit: int, where: ColumnElement[bool] | None
) -> list[KeywordHit]:
    match = text("documents_fts MATCH :q").bindparams(
        q=" OR ".join(f'"{term}"' for term in terms)  # terms are [a-z0-9]+: quoting is all they need
    )
    fetch = limit if where is None else limit * SQLITE_OVERFETCH
    ranked = session.execute(
        select(_FTS.c.rowid, _SCORE).where(match).order_by(_SCORE, _FTS.c.rowid).limit(fetch)
    ).all()
    hits = [KeywordHit(int(row[0]), -float(row[1])) for row in ranked]  # bm25(): lower is better
    if where is None:
        return hits
    ids = [h.document_id for h in hits]
    allowed = set(session.scalars(select(Document.id).where(Document.id.in_(ids), where))) if ids else set()
    kept = [h for h in hits if h.document_id in allowed]
    if len(kept) >= limit or len(hits) < fetch:  # enough, or every match was checked
        return kept[:limit]
    rows = session.execute(
        select(_FTS.c.rowid, _SCORE)
        .join(Document, Document.id == _FTS.c.rowid)
        .where(match, where)
        .order_by(_SCORE, _FTS.c.rowid)
        .limit(limit)
    ).all()
    return [KeywordHit(int(row[0]), -float(row[1])) for row in rows]
