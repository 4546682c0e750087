"""What the digest tests share: the real Slack side (SlackSender, SlackNotifier, SlackDirectory) against
LocalSlack, a job context on the test's PostgreSQL database, and rows to deliver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.directory import SlackDirectory
from bot.notifier import SlackNotifier
from bot.sender import SlackSender
from core.config import Settings, load_settings
from core.db.models import JiraIssue, Project, User
from core.db.schedule_tables import Delivery, DigestSubscription, Todo
from core.db.session import Database, make_engine
from core.jobs.context import JobContext
from core.jobs.inprocess import InProcessQueue
from tests.fakes.slack import LocalSlack, SlackCall

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def digest_settings(database_url: str, slack_api_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "agentpm_env": "development", "database_url": database_url, "redis_url": None,
        "celery_broker_url": None, "slack_bot_token": "xoxb-test-token", "slack_api_url": slack_api_url,
        "jira_base_url": None, "openai_api_key": None, "pinecone_api_key": None,
    }  # fmt: skip
    values.update(overrides)
    return load_settings(**values)


@contextmanager
def job_context(settings: Settings) -> Iterator[JobContext]:
    """What a worker holds, built the way tasks/runtime.py builds it (no Celery needed)."""
    db = Database(make_engine(settings))
    sender = SlackSender(settings.slack_bot_token, settings.slack_api_url)
    try:
        yield JobContext(
            settings=settings, db=db, notifier=SlackNotifier(sender), queue=InProcessQueue(workers=1),
            directory=SlackDirectory(sender),
        )  # fmt: skip
    finally:
        db.dispose()


def add_subscription(
    db: Database,
    channel: str,
    *,
    time: str = "09:00",
    tz: str = "Europe/Berlin",
    weekdays: list[int] | None = None,
    projects: list[str] | None = None,
    team_id: str = "T0TEST",
) -> int:
    with db.session() as session:
        sub = DigestSubscription(
            team_id=team_id, channel_id=channel, created_by="U0ALICE", local_time=time, tz=tz,
            weekdays=weekdays if weekdays is not None else list(range(7)), projects=projects or [],
            active=True, created_at=LONG_AGO,
        )  # fmt: skip
        session.add(sub)
        session.flush()
        return sub.id


def add_todo(
    db: Database, owner: str, due: date | None, *, text: str = "Send the release notes", tz: str = "UTC"
) -> int:
    with db.session() as session:
        todo = Todo(
            team_id="T0TEST", channel_id="C0TEST", permalink=f"https://localslack.test/archives/C0TEST/p{owner}",
            creator_slack_id="U0ALICE", owner_slack_id=owner, text=text, due=due, tz=tz, status="open",
            created_at=LONG_AGO, updated_at=LONG_AGO,
        )  # fmt: skip
        session.add(todo)
        session.flush()
        return todo.id


def add_project(db: Database, key: str, *, restricted: bool = False) -> None:
    with db.session() as session:
        session.add(Project(key=key, name=f"Project {key}", restricted=restricted))


def add_issue(
    db: Database,
    key: str,
    *,
    updated: datetime,
    created: datetime | None = None,
    status: str = "In Progress",
    category: str = "indeterminate",
    priority: str | None = "Medium",
    summary: str | None = None,
    assignee: tuple[str, str | None] | None = ("Maya Chen", "maya@northwind.example"),
    resolved: datetime | None = None,
) -> None:
    with db.session() as session:
        session.add(
            JiraIssue(
                key=key, jira_id=key, project_key=key.split("-")[0],
                summary=summary or f"{key} checkout times out", status=status, status_category=category,
                priority=priority, created=created or updated - timedelta(days=30), updated=updated,
                resolved=resolved, url=f"https://jira.example/browse/{key}",
                assignee_name=assignee[0] if assignee else None,
                assignee_email=assignee[1] if assignee else None,
            )
        )  # fmt: skip


def add_user(
    db: Database, slack_id: str, email: str, name: str, *, tz: str = "UTC", role: str = "USER"
) -> int:
    with db.session() as session:
        user = User(
            email=email, team_id="T0TEST", slack_user_id=slack_id, display_name=name, role=role, tz=tz
        )
        session.add(user)
        session.flush()
        return user.id


def deliveries(db: Database) -> list[Delivery]:
    with db.session() as session:
        return list(session.query(Delivery).order_by(Delivery.kind, Delivery.target, Delivery.local_date))


def posts(slack: LocalSlack, channel: str | None = None) -> list[SlackCall]:
    """Successful chat.postMessage calls (to ``channel`` when given)."""
    return [
        c for c in slack.calls_to("chat.postMessage")
        if not c.failed and (channel is None or c.args.get("channel") == channel)
    ]  # fmt: skip


def top_level(calls: list[SlackCall]) -> list[SlackCall]:
    return [c for c in calls if not c.args.get("thread_ts")]


def text_of(call: SlackCall) -> str:
    return json.dumps(call.args.get("blocks"), ensure_ascii=False)
