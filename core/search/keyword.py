"""Keyword ranking in the database: PostgreSQL full-text search (GIN) or SQLite FTS5 (BM25).

Queries are built from sanitised terms (``[a-z0-9]`` only) and passed as bound parameters; no user text is
ever part of the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, column, func, literal_column, select, table, text
from sqlalchemy.orm import Session

from core.db.models import Document
from core.search.text import query_terms

# BM25 column weights (title, text) for FTS5; PostgreSQL weighs the title with setweight 'A' instead.
SQLITE_RANK = "bm25(documents_fts, 4.0, 1.0)"


@dataclass(frozen=True)
class KeywordHit:
    document_id: int
    score: float


def keyword_search(
    session: Session, query: str, *, limit: int = 50, where: ColumnElement[bool] | None = None
) -> list[KeywordHit]:
    """Best documents for ``query`` among those ``where`` admits, best first (higher ``score`` is better)."""
    terms = query_terms(query)
    if not terms:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return _postgres(session, terms, limit, where)
    return _sqlite(session, terms, limit, where)


def _postgres(
    session: Session, terms: list[str], limit: int, where: ColumnElement[bool] | None
) -> list[KeywordHit]:
    # OR of the terms: long questions and whole issue texts still match documents sharing some words.
    tsquery = func.to_tsquery("english", bindparam("q", " | ".join(terms)))
    vector: ColumnElement[Any] = literal_column("documents.search_vector")
    rank = func.ts_rank_cd(vector, tsquery, 32).label("score")
    query = select(Document.id, rank).where(vector.op("@@")(tsquery))
    if where is not None:
        query = query.where(where)
    rows = session.execute(query.order_by(rank.desc(), Document.id).limit(limit)).all()
    return [KeywordHit(int(row[0]), float(row[1])) for row in rows]


def _sqlite(
    session: Session, terms: list[str], limit: int, where: ColumnElement[bool] | None
) -> list[KeywordHit]:
    fts = table("documents_fts", column("rowid"))
    match = " OR ".join(f'"{term}"' for term in terms)  # terms are [a-z0-9]+: quoting is all they need
    score: ColumnElement[Any] = literal_column(SQLITE_RANK)
    query = (
        select(fts.c.rowid, score)
        .join(Document, Document.id == fts.c.rowid)
        .where(text("documents_fts MATCH :q").bindparams(q=match))
    )
    if where is not None:
        query = query.where(where)
    rows = session.execute(query.order_by(score).limit(limit)).all()
    return [KeywordHit(int(row[0]), -float(row[1])) for row in rows]  # bm25(): lower is better
