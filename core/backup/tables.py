"""What a backup holds: every table that cannot be re-derived, each with the reason it is kept.

The list is explicit on purpose: a new table is not backed up until someone decides here whether it can be
rebuilt (Jira issues by a sync, vectors by `agentpm reindex`) or must be carried over. Table objects come
from the model metadata, never from a file, so an import can only ever write to these tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Table
from sqlalchemy.schema import sort_tables

from core.db import models
from core.db.answer_tables import Answer, AnswerFeedback
from core.db.base import Base
from core.db.knowledge_tables import IndexedChannel, Meeting, MeetingActionItem
from core.db.schedule_tables import Delivery, DigestSubscription, PersonalDigest, Todo
from core.db.slack_tables import slack_bots, slack_installations

FORMAT = "agentpm-export"
VERSION = 1

# Documents that came from Slack (channel messages, meeting notes) are not in Jira; Jira's are re-synced.
KEPT_DOCUMENT_SOURCES = ("slack", "meeting")


@dataclass(frozen=True)
class TableSpec:
    """One exported table: the table, why it is kept, and which of its rows (None: all)."""

    table: Table
    reason: str
    rows: ColumnElement[bool] | None = None

    @property
    def name(self) -> str:
        return self.table.name


def _t(model: type[Base]) -> Table:
    table = model.__table__
    if not isinstance(table, Table):  # declarative models always map a Table; this keeps mypy honest
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


_documents = _t(models.Document)

_SPECS = (
    TableSpec(_t(models.User), "people, their Slack identities and roles: granted by admins, not derivable"),
    TableSpec(_t(models.AuditEvent), "the audit trail: history cannot be recreated"),
    TableSpec(
        _t(models.Credential), "personal Jira credentials as Fernet tokens (the same keys decrypt them)"
    ),
    TableSpec(slack_installations, "OAuth installs: tokens as sealed by the installation store"),
    TableSpec(slack_bots, "OAuth bot tokens per workspace, still encrypted"),
    TableSpec(_t(models.Project), "projects with their `restricted` flag (set by admins)"),
    TableSpec(_t(models.ProjectMember), "who may see a restricted project"),
    TableSpec(_t(models.SyncState), "Jira sync cursors and outcomes"),
    TableSpec(_t(IndexedChannel), "channels opted into indexing, by whom, and their backfill checkpoints"),
    TableSpec(
        _documents,
        "channel messages and meeting notes: they came from Slack, not from Jira",
        _documents.c.source.in_(KEPT_DOCUMENT_SOURCES),
    ),
    TableSpec(_t(Meeting), "meetings shared with the bot"),
    TableSpec(_t(MeetingActionItem), "action items and what people decided about them"),
    TableSpec(_t(Todo), "TODOs (people type their ids)"),
    TableSpec(_t(DigestSubscription), "channel digest schedules"),
    TableSpec(_t(PersonalDigest), "personal digest and reminder settings"),
    TableSpec(_t(Delivery), "delivery records: what was already sent, so nothing is sent twice"),
    TableSpec(_t(Answer), "answers the bot gave (kept to improve answers)"),
    TableSpec(_t(AnswerFeedback), "votes on answers"),
)

# Not exported, and why (documented in docs/backup.md); with TABLES, every table of the schema is decided.
NOT_EXPORTED = {
    "jira_issues": "re-synced from Jira (`agentpm sync jira --full`), with their documents",
    "jira_issue_types": "Jira metadata, re-read by every sync",
    "jira_priorities": "Jira metadata, re-read by every sync",
    "chunks": "passages and vectors, rebuilt by `agentpm reindex`",
    "vector_deletions": "an outbox for the external vector index; `agentpm reindex` prunes stale vectors",
    "slack_oauth_states": "OAuth states live ten minutes",
}

# References without a foreign key that a merge must renumber with their target: (table, column) → table.
LOGICAL_REFERENCES = {("action_items", "todo_id"): "todos"}

# A channel digest's delivery names its subscription by id, as text (``deliveries.target``, kind "channel").
DELIVERY_KIND_CHANNEL = "channel"


def _foreign_key_order() -> tuple[TableSpec, ...]:
    """The specs with parents before children (logical references count too), so one pass of inserts
    satisfies every foreign key and a merge has renumbered a row before the rows naming it arrive."""
    by_name = {spec.name: spec for spec in _SPECS}
    logical = [
        (by_name[target].table, by_name[name].table) for (name, _), target in LOGICAL_REFERENCES.items()
    ]
    logical.append((by_name["digest_subscriptions"].table, by_name["deliveries"].table))
    return tuple(by_name[t.name] for t in sort_tables([s.table for s in _SPECS], extra_dependencies=logical))


TABLES: tuple[TableSpec, ...] = _foreign_key_order()
TABLES_BY_NAME: dict[str, TableSpec] = {spec.name: spec for spec in TABLES}
