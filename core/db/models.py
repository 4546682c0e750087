"""Tables of the foundation: Jira projects, issues and sync state, and the documents search indexes.

The database is the source of truth; the vector index is derived from ``documents`` and can be rebuilt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, utcnow


class Project(Base):
    __tablename__ = "projects"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    jira_id: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(String(1024))
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)  # only members and ADMINs see it
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProjectMember(Base):
    """Who may see a restricted project (besides ADMINs)."""

    __tablename__ = "project_members"

    project_key: Mapped[str] = mapped_column(ForeignKey("projects.key", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class JiraIssue(Base):
    __tablename__ = "jira_issues"
    __table_args__ = (Index("ix_jira_issues_project_updated", "project_key", "updated"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    jira_id: Mapped[str] = mapped_column(String(64))
    project_key: Mapped[str] = mapped_column(ForeignKey("projects.key", ondelete="CASCADE"))
    summary: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(128), default="")
    status_category: Mapped[str] = mapped_column(String(32), default="")
    issue_type: Mapped[str] = mapped_column(String(128), default="")
    priority: Mapped[str | None] = mapped_column(String(64))
    assignee_name: Mapped[str | None] = mapped_column(String(255))
    assignee_email: Mapped[str | None] = mapped_column(String(320))
    reporter_name: Mapped[str | None] = mapped_column(String(255))
    reporter_email: Mapped[str | None] = mapped_column(String(320))
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    components: Mapped[list[str]] = mapped_column(JSON, default=list)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(String(128))
    resolved: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    url: Mapped[str] = mapped_column(String(1024), default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SyncState(Base):
    """Per-project checkpoint: a killed sync resumes from ``cursor_updated``/``cursor_key``."""

    __tablename__ = "sync_states"

    project_key: Mapped[str] = mapped_column(ForeignKey("projects.key", ondelete="CASCADE"), primary_key=True)
    cursor_updated: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cursor_key: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(16))  # running | ok | error
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    issues_seen: Mapped[int] = mapped_column(Integer, default=0)
    issues_changed: Mapped[int] = mapped_column(Integer, default=0)
    issues_deleted: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    reconciled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Document(Base):
    """One searchable thing (a Jira issue, a channel message, meeting notes), whatever its source."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_documents_source_external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(16), index=True)  # jira | slack | meeting
    external_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")  # body + identifier pieces (core.search.text)
    url: Mapped[str | None] = mapped_column(String(1024))
    project_key: Mapped[str | None] = mapped_column(String(32), index=True)
    channel_id: Mapped[str | None] = mapped_column(String(32), index=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    indexed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Chunk(Base):
    """A passage of a document and its embedding; derived data, rebuilt by `agentpm reindex`."""

    __tablename__ = "chunks"
    __table_args__ = (UniqueConstraint("document_id", "ordinal", name="uq_chunks_document_id_ordinal"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, unit length
    model: Mapped[str] = mapped_column(String(64))


class User(Base):
    """A person known to the bot: Slack identity, Google Workspace email, role.

    Created on first sight (or by ``agentpm admin grant`` before that, with only an email).
    """

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("team_id", "slack_user_id", name="uq_users_team_id_slack_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[str] = mapped_column(String(16), default="USER")
    tz: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEvent(Base):
    """Who did what, when, with what outcome: role changes, admin actions, credentials, refusals."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_slack_id: Mapped[str | None] = mapped_column(String(32), index=True)
    actor_email: Mapped[str | None] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(320))
    outcome: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(32))


class Credential(Base):
    """A user's personal credential for an external system, encrypted with MultiFernet; never shown again."""

    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("user_id", "kind", name="uq_credentials_user_id_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # jira
    secret: Mapped[str] = mapped_column(Text)  # Fernet token of a JSON document
    label: Mapped[str] = mapped_column(String(320), default="")  # e.g. the Jira account's display name
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VectorDeletion(Base):
    """Outbox: a deleted document whose vectors an external index (Pinecone) must drop.

    Written by a trigger on ``documents`` (migration 0008), so every delete, whatever code runs it, is
    recorded in the delete's own transaction; the index job drops the vectors, then the rows.
    """

    __tablename__ = "vector_deletions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(Integer)  # no foreign key: the document is gone
    deleted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# The OAuth install tables are part of the same schema (and of the drift check).
from core.db import answer_tables, jira_meta_tables, knowledge_tables, schedule_tables, slack_tables  # noqa: E402, F401
