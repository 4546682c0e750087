"""The App Home's content for one person: their TODOs, the digests they set up, their connected accounts,
and how fresh the synced data is. One call, plain data; the view decides how it looks."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from core import credentials
from core.db.models import SyncState
from core.db.session import Database
from core.digests import service as digests
from core.todos import service as todos
from core.todos.flows import TodoItem, item
from core.users.service import Identity

HOME_TODOS = 20  # 3 blocks each; the Home tab allows 100 blocks


class SubscriptionLine(BaseModel):
    channel_id: str
    local_time: str
    tz: str
    weekdays: list[int] = Field(default_factory=list)
    projects: list[str] = Field(default_factory=list)


class Freshness(BaseModel):
    project: str
    last_success: datetime | None


class HomeData(BaseModel):
    user_id: str
    todos: list[TodoItem] = Field(default_factory=list)
    more_todos: int = 0
    subscriptions: list[SubscriptionLine] = Field(default_factory=list)
    personal_digest: bool = False
    personal_time: str | None = None
    personal_tz: str | None = None
    jira_account: str | None = None
    jira_configured: bool = False
    freshness: list[Freshness] = Field(default_factory=list)


def home_data(db: Database, identity: Identity, *, jira_configured: bool) -> HomeData:
    me = identity.slack_user_id or identity.email
    with db.session() as session:
        mine = todos.list_todos(session, owner=me, team_id=identity.team_id, limit=HOME_TODOS + 1)
        subs = [s for s in digests.subscriptions(session, identity.team_id) if s.created_by == me]
        personal = digests.personal_settings(session, me)
        connected = credentials.connected(session, identity.user_id)
        synced = session.execute(
            select(SyncState.project_key, func.max(SyncState.last_success_at)).group_by(SyncState.project_key)
        ).all()
        return HomeData(
            user_id=me,
            todos=[item(t) for t in mine[:HOME_TODOS]],
            more_todos=max(0, len(mine) - HOME_TODOS),
            subscriptions=[
                SubscriptionLine(
                    channel_id=s.channel_id,
                    local_time=s.local_time,
                    tz=s.tz,
                    weekdays=list(s.weekdays or []),
                    projects=list(s.projects or []),
                )
                for s in subs
            ],
            personal_digest=bool(personal and personal.enabled),
            personal_time=personal.local_time if personal else None,
            personal_tz=personal.tz if personal else None,
            jira_account=connected.get(credentials.JIRA),
            jira_configured=jira_configured,
            freshness=[Freshness(project=str(p), last_success=_aware(at)) for p, at in sorted(synced)],
        )


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
