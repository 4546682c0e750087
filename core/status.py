"""What is synced and indexed: the data behind `/pm status` and `agentpm status`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db.models import Chunk, Document, JiraIssue, Project, SyncState
from core.errors import AgentPMError
from core.logging import get_logger
from core.notices import ProjectStatus, StatusReport
from core.search.engine import SearchEngine

log = get_logger(__name__)

SOURCES = ("jira", "slack", "meeting")


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def build_status(
    session: Session,
    *,
    index_backend: Literal["local", "pinecone"] = "local",
    pending_jobs: int | None = None,
    vectors: int | None = None,
) -> StatusReport:
    """``vectors``: the external index's own count; without it, the stored chunks are counted."""
    issue_counts = dict(
        session.execute(
            select(JiraIssue.project_key, func.count())
            .where(JiraIssue.deleted.is_(False))
            .group_by(JiraIssue.project_key)
        ).all()
    )
    states = {s.project_key: s for s in session.scalars(select(SyncState))}
    projects: list[ProjectStatus] = []
    for project in session.scalars(select(Project).order_by(Project.key)):
        state = states.get(project.key)
        outcome = state.status if state and state.status in ("ok", "error", "running") else None
        projects.append(
            ProjectStatus(
                key=project.key,
                name=project.name,
                issues=int(issue_counts.get(project.key, 0)),
                last_sync=_aware(state.finished_at or state.started_at) if state else None,
                last_outcome=cast(Literal["ok", "error", "running"] | None, outcome),
                last_error=state.last_error if state and outcome == "error" else None,
            )
        )
    doc_counts = dict(session.execute(select(Document.source, func.count()).group_by(Document.source)).all())
    if vectors is None:
        vectors = session.scalar(select(func.count()).select_from(Chunk))
    return StatusReport(
        projects=projects,
        documents={source: int(doc_counts.get(source, 0)) for source in SOURCES},
        index_backend=index_backend,
        vectors=int(vectors or 0),
        pending_jobs=pending_jobs,
        generated_at=datetime.now(UTC),
    )


def external_vectors(search: SearchEngine | None) -> int | None:
    """Pinecone's count for this deployment's namespace; None for the local index (or Pinecone down)."""
    if search is None or not search.settings.pinecone_api_key:
        return None
    try:
        return search.index.count()
    except AgentPMError as exc:  # status still shows what is synced; the chunk count stands in
        log.warning("status.vectors_uncounted", error=str(exc))
        return None


def status_json(report: StatusReport) -> dict[str, Any]:
    """The `agentpm status --json` shape of the operator contract."""
    return {
        "jira": {
            "projects": {
                p.key: {
                    "issues": p.issues,
                    "last_sync": p.last_sync.isoformat() if p.last_sync else None,
                    "last_outcome": p.last_outcome,
                }
                for p in report.projects
            }
        },
        "documents": report.documents,
        "index": {"backend": report.index_backend, "vectors": report.vectors},
        "jobs": {"pending": report.pending_jobs},
        "generated_at": report.generated_at.isoformat(),
    }
