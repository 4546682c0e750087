"""TODOs: add, list, complete, snooze and edit; and the overdue ones the digests and reminders show.

Only the owner, the creator or an ADMIN may change a TODO. "Overdue" is judged in the TODO's own time zone
(the owner's when it was made): due before that zone's today, open, and not snoozed at that instant.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from core.db.base import utcnow
from core.db.schedule_tables import TODO_DONE, TODO_OPEN, Todo
from core.errors import Forbidden, InvalidInput
from core.todos.dates import local_today
from core.todos.parse import MAX_TEXT

MAX_LIST = 200


class TodoNotFound(InvalidInput):
    user_message = "There is no such TODO."


def _clean_text(text: str) -> str:
    value = text.strip()
    if not value:
        raise InvalidInput("A TODO needs some text.")
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"A TODO is at most {MAX_TEXT} characters.")
    return value


def add_todo(
    session: Session,
    *,
    team_id: str | None,
    creator: str,
    owner: str | None,
    text: str,
    due: date | None,
    tz: str | None,
    channel_id: str | None,
    permalink: str | None,
) -> Todo:
    """A new open TODO (``owner`` None: the creator's); flushed, so its ``id`` is set."""
    now = utcnow()
    todo = Todo(
        team_id=team_id, channel_id=channel_id, permalink=permalink, creator_slack_id=creator,
        owner_slack_id=owner or creator, text=_clean_text(text), due=due, tz=tz, status=TODO_OPEN,
        created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(todo)
    session.flush()
    return todo


def list_todos(
    session: Session, *, owner: str | None, team_id: str | None, include_done: bool = False, limit: int = 50
) -> list[Todo]:
    """``owner``'s TODOs (None: everyone's in the team): open ones first, soonest due first, undated last."""
    query = select(Todo)
    if team_id is not None:
        query = query.where(Todo.team_id == team_id)
    if owner is not None:
        query = query.where(Todo.owner_slack_id == owner)
    if not include_done:
        query = query.where(Todo.status == TODO_OPEN)
    query = query.order_by(
        Todo.status.desc(),  # "open" sorts after "done" alphabetically: descending puts open first
        Todo.due.is_(None),
        Todo.due,
        Todo.id,
    ).limit(max(1, min(limit, MAX_LIST)))
    return list(session.scalars(query))


def get_todo(session: Session, todo_id: int, *, team_id: str | None = None) -> Todo:
    """The TODO numbered ``todo_id`` (in ``team_id`` when given); ``TodoNotFound`` otherwise."""
    todo = session.get(Todo, todo_id)
    if todo is None or (team_id is not None and todo.team_id not in (team_id, None)):
        raise TodoNotFound(f"There is no TODO #{todo_id}.")
    return todo


def _changeable(session: Session, actor: str, todo_id: int, is_admin: bool, team_id: str | None) -> Todo:
    todo = get_todo(session, todo_id, team_id=team_id)
    if not is_admin and actor not in (todo.owner_slack_id, todo.creator_slack_id):
        raise Forbidden(f"Only the owner or the creator of TODO #{todo_id} (or an admin) may change it.")
    return todo


def complete(
    session: Session, actor_slack_id: str, todo_id: int, is_admin: bool, *, team_id: str | None = None
) -> Todo:
    """Mark it done (done again is a no-op that keeps the first ``done_at``)."""
    todo = _changeable(session, actor_slack_id, todo_id, is_admin, team_id)
    if todo.status != TODO_DONE:
        todo.status = TODO_DONE
        todo.done_at = todo.updated_at = utcnow()
    return todo


def reopen(session: Session, actor: str, todo_id: int, is_admin: bool, *, team_id: str | None = None) -> Todo:
    """Undo ``complete``."""
    todo = _changeable(session, actor, todo_id, is_admin, team_id)
    todo.status, todo.done_at, todo.updated_at = TODO_OPEN, None, utcnow()
    return todo


def snooze(
    session: Session, actor: str, todo_id: int, until: datetime, is_admin: bool, *, team_id: str | None = None
) -> Todo:
    """Keep it out of digests and reminders until ``until`` (its due date stays what it was)."""
    if until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    todo = _changeable(session, actor, todo_id, is_admin, team_id)
    if todo.status == TODO_DONE:
        raise InvalidInput(f"TODO #{todo_id} is already done.")
    todo.snoozed_until, todo.updated_at = until, utcnow()
    return todo


def snooze_for(
    session: Session,
    actor: str,
    todo_id: int,
    duration: timedelta,
    is_admin: bool,
    *,
    team_id: str | None = None,
) -> Todo:
    """``snooze`` for a duration from now (``/pm todo snooze 12 1w``)."""
    return snooze(session, actor, todo_id, utcnow() + duration, is_admin, team_id=team_id)


def edit(
    session: Session,
    actor: str,
    todo_id: int,
    *,
    text: str | None = None,
    due: date | None = None,
    clear_due: bool = False,
    owner: str | None = None,
    tz: str | None = None,
    is_admin: bool,
    team_id: str | None = None,
) -> Todo:
    """Change what is given (``clear_due`` removes the due date; a new ``owner`` may bring their ``tz``)."""
    todo = _changeable(session, actor, todo_id, is_admin, team_id)
    if text is not None:
        todo.text = _clean_text(text)
    if clear_due:
        todo.due = None
    elif due is not None:
        todo.due = due
    if owner is not None:
        todo.owner_slack_id = owner
    if tz is not None:
        todo.tz = tz
    todo.updated_at = utcnow()
    return todo


def _awake(at: datetime) -> ColumnElement[bool]:
    return or_(Todo.snoozed_until.is_(None), Todo.snoozed_until <= at)


def is_overdue(todo: Todo, at: datetime) -> bool:
    """Due before its time zone's today at ``at``, open, and not snoozed."""
    if todo.status != TODO_OPEN or todo.due is None:
        return False
    snoozed = todo.snoozed_until
    if snoozed is not None and (snoozed if snoozed.tzinfo else snoozed.replace(tzinfo=UTC)) > at:
        return False
    return todo.due < local_today(todo.tz, at)


def overdue(
    session: Session, *, team_id: str | None, at: datetime, owners: Iterable[str] | None = None
) -> list[Todo]:
    """Open, awake TODOs overdue at ``at`` (of ``owners`` when given), oldest due first."""
    # No zone is more than a day ahead of UTC, so "due before UTC's tomorrow" is a superset; each TODO's
    # own zone then decides.
    horizon = at.astimezone(UTC).date() + timedelta(days=1)
    conditions = [Todo.status == TODO_OPEN, Todo.due.is_not(None), Todo.due < horizon, _awake(at)]
    if team_id is not None:
        conditions.append(or_(Todo.team_id == team_id, Todo.team_id.is_(None)))
    if owners is not None:
        wanted = sorted(set(owners))
        if not wanted:
            return []
        conditions.append(Todo.owner_slack_id.in_(wanted))
    query = select(Todo).where(and_(*conditions)).order_by(Todo.due, Todo.id).limit(MAX_LIST * 5)
    return [todo for todo in session.scalars(query) if is_overdue(todo, at)]


def due_by(session: Session, *, owner: str, today: date, at: datetime) -> list[Todo]:
    """``owner``'s open, awake TODOs due on or before ``today`` (their local date): the personal digest's."""
    query = (
        select(Todo)
        .where(
            Todo.owner_slack_id == owner, Todo.status == TODO_OPEN, Todo.due.is_not(None), Todo.due <= today,
            _awake(at),
        )
        .order_by(Todo.due, Todo.id)
        .limit(MAX_LIST)
    )  # fmt: skip
    return list(session.scalars(query))
