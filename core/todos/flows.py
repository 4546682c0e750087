"""What `/pm todo`, the "Add as TODO" shortcut, the TODO buttons and the App Home ask of the TODO service,
one call each: parse in the person's time zone, act with their rights, and hand back plain data to show.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import BaseModel
from sqlalchemy import select

from core.config import Role
from core.db.base import utcnow
from core.db.models import User
from core.db.schedule_tables import Todo
from core.db.session import Database
from core.errors import InvalidInput
from core.todos import service
from core.todos.dates import local_today, parse_due
from core.todos.parse import parse_snooze, parse_todo_add, parse_todo_id
from core.users.service import Identity

LIST_LIMIT = 30
SCOPES = ("mine", "all")


class TodoItem(BaseModel):
    """A TODO as people see it."""

    id: int
    text: str
    owner: str
    creator: str
    due: date | None = None
    overdue: bool = False
    done: bool = False
    snoozed_until: datetime | None = None
    permalink: str | None = None


def item(todo: Todo, at: datetime | None = None) -> TodoItem:
    now = at or utcnow()
    snoozed = todo.snoozed_until if todo.snoozed_until and _aware(todo.snoozed_until) > now else None
    return TodoItem(
        id=todo.id, text=todo.text, owner=todo.owner_slack_id, creator=todo.creator_slack_id, due=todo.due,
        overdue=service.is_overdue(todo, now), done=todo.status == "done", snoozed_until=snoozed,
        permalink=todo.permalink,
    )  # fmt: skip


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _tz_of(db: Database, slack_user_id: str, fallback: str | None) -> str | None:
    with db.session() as session:
        tz = session.scalar(select(User.tz).where(User.slack_user_id == slack_user_id))
    return tz or fallback


def due_from(text: str | None, identity: Identity) -> date | None:
    """A due date typed by ``identity``: `today`, `fri`… are read in their own time zone."""
    if not text:
        return None
    return parse_due(text, local_today(identity.tz, utcnow()))


def add(
    db: Database, identity: Identity, text: str, *, channel_id: str | None, permalink: str | None = None,
    owner: str | None = None, due: date | None = None, from_form: bool = False,
) -> TodoItem:  # fmt: skip
    """`/pm todo add <text> [due:…] [@owner]` (the text is parsed), or a form's fields (``from_form``)."""
    if not from_form:
        draft = parse_todo_add(text)
        text, owner, due = draft.text, draft.owner_slack_id, due_from(draft.due_text, identity)
    creator = identity.slack_user_id or identity.email
    owner = owner or creator
    tz = _tz_of(db, owner, identity.tz)
    with db.session() as session:
        todo = service.add_todo(
            session, team_id=identity.team_id, creator=creator, owner=owner, text=text, due=due, tz=tz,
            channel_id=channel_id, permalink=permalink,
        )  # fmt: skip
        return item(todo)


def listing(db: Database, identity: Identity, scope: str) -> tuple[str, list[TodoItem]]:
    """(what was listed, the TODOs): `mine` (default), `all`, or `<@U…>`'s."""
    me = identity.slack_user_id or identity.email
    scope = scope.strip() or "mine"
    if scope.lower() in SCOPES:
        owner = me if scope.lower() == "mine" else None
        label = "Your TODOs" if owner else "Everyone's TODOs"
    elif scope.startswith("<@") and scope.endswith(">"):
        owner = scope[2:-1].split("|", 1)[0]
        label = f"<@{owner}>'s TODOs"
    else:
        raise InvalidInput("List `mine`, `all` or someone's: `/pm todo list @maya`.")
    with db.session() as session:
        todos = service.list_todos(session, owner=owner, team_id=identity.team_id, limit=LIST_LIMIT)
        return label, [item(t) for t in todos]


def _admin(identity: Identity) -> bool:
    return identity.role is Role.ADMIN


def complete(db: Database, identity: Identity, todo_id: int | str) -> TodoItem:
    number = todo_id if isinstance(todo_id, int) else parse_todo_id(todo_id)
    with db.session() as session:
        todo = service.complete(session, _actor(identity), number, _admin(identity), team_id=identity.team_id)
        return item(todo)


def snooze(db: Database, identity: Identity, todo_id: int | str, duration: str | None) -> TodoItem:
    number = todo_id if isinstance(todo_id, int) else parse_todo_id(todo_id)
    length = parse_snooze(duration)
    with db.session() as session:
        todo = service.snooze_for(
            session, _actor(identity), number, length, _admin(identity), team_id=identity.team_id
        )
        return item(todo)


def edit(
    db: Database, identity: Identity, todo_id: int, *, text: str, owner: str | None, due: date | None
) -> TodoItem:
    tz = _tz_of(db, owner, None) if owner else None
    with db.session() as session:
        todo = service.edit(
            session, _actor(identity), todo_id, text=text, due=due, clear_due=due is None, owner=owner, tz=tz,
            is_admin=_admin(identity), team_id=identity.team_id,
        )  # fmt: skip
        return item(todo)


def get(db: Database, identity: Identity, todo_id: int) -> TodoItem:
    with db.session() as session:
        return item(service.get_todo(session, todo_id, team_id=identity.team_id))


def _actor(identity: Identity) -> str:
    return identity.slack_user_id or identity.email
