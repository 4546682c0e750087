"""Possible duplicates of a text about to become a Jira issue: the nearest issues that are also relevant
(the same passage test answers use), so the modal never suggests an unrelated issue just to fill a list."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.notices import SearchHit
from core.search.answers import hit
from core.search.engine import SearchEngine
from core.search.passages import best_passages
from core.search.service import SearchFilters, Viewer, search

CANDIDATES = 8


def possible_duplicates(
    session: Session, text: str, viewer: Viewer, engine: SearchEngine | None, limit: int = 3
) -> list[SearchHit]:
    query = text.strip()[:2000]
    if not query:
        return []
    results = search(session, query, viewer, SearchFilters(source="jira"), limit=CANDIDATES, engine=engine)
    passages = best_passages(
        session, [r.document_id for r in results], query, engine.embedder if engine else None
    )
    relevant = [r for r in results if r.document_id in passages and passages[r.document_id].relevant]
    return [hit(r) for r in relevant[:limit]]
