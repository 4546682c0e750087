"""The search job: one page of results for `/pm search`, "More results" and "Share in channel"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import Role
from core.db.models import Chunk, SyncState
from core.jobs.context import JobContext
from core.locks import single_flight
from core.notices import ReplyTarget, SearchHit, SearchPage, SearchState
from core.search.audience import resolve
from core.search.indexer import index_pending
from core.search.service import SearchFilters, Viewer, search

PAGE_SIZE = 5


def filters_of(state: SearchState) -> SearchFilters:
    since = datetime.now(UTC) - timedelta(days=state.since_days) if state.since_days else None
    return SearchFilters(project=state.project, source=state.source, since=since)


def has_vectors(session: Session) -> bool:
    """Whether anything is embedded yet (if not, keyword ranking alone, and no model is loaded)."""
    return session.scalar(select(Chunk.id).limit(1)) is not None


def index_documents(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Embed what changed (after a sync); one indexer at a time."""
    if ctx.search is None:
        return
    with single_flight(ctx.db, "search-index") as held:
        if held:
            index_pending(ctx.db, ctx.search.embedder, index=ctx.search.index)


def search_page(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Search as the requester (or, when shared, as any member of the channel would) and reply."""
    state = SearchState.model_validate(payload["state"])
    target = ReplyTarget.model_validate(payload["target"])
    shared_by = payload.get("shared_by")
    if shared_by:
        # Shared results are read by the whole channel: only what every user (and every member) may see.
        viewer = Viewer(user_id=None, role=Role.USER, channels=frozenset())
    else:
        viewer = Viewer.model_validate(payload["viewer"])
    with ctx.db.session() as session:
        member = None if shared_by else payload.get("member")  # shared: never the sharer's own channels
        viewer = resolve(ctx, session, viewer, member=member, audience=payload.get("audience"))
        engine = ctx.search if ctx.search is not None and has_vectors(session) else None
        results = search(
            session, state.q, viewer, filters_of(state), limit=PAGE_SIZE + 1, offset=state.offset,
            engine=engine,
        )  # fmt: skip
        synced_at = session.scalar(select(func.max(SyncState.last_success_at)))
    hits = [
        SearchHit(
            key=r.key,
            title=r.title,
            url=r.url,
            source=r.source,
            snippet=r.snippet,
            status=r.status,
            assignee=r.assignee,
            updated=r.updated,
        )
        for r in results[:PAGE_SIZE]
    ]
    page = SearchPage(
        state=state, hits=hits, has_more=len(results) > PAGE_SIZE, shared_by=shared_by,
        synced_at=synced_at.replace(tzinfo=UTC) if synced_at and synced_at.tzinfo is None else synced_at,
    )  # fmt: skip
    ctx.notifier.send(target, page)
