"""Restricted projects: who besides ADMINs may see a project's issues (search, answers, digests, unfurls)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.db.models import Project, ProjectMember
from core.errors import InvalidInput
from core.users import audit
from core.users.service import Identity


def set_project_access(
    session: Session, actor: Identity, project_key: str, *, restricted: bool, members: list[Identity]
) -> list[str]:
    """Open or restrict a project; a restriction names its members (replacing earlier ones)."""
    project = session.get(Project, project_key)
    if project is None:
        raise InvalidInput(f"No synced Jira project `{project_key}`.")
    project.restricted = restricted
    if restricted:
        session.execute(delete(ProjectMember).where(ProjectMember.project_key == project_key))
        for member in members:
            session.add(ProjectMember(project_key=project_key, user_id=member.user_id))
    audit.record(
        session, action="project.restrict" if restricted else "project.open", outcome="ok",
        actor_slack_id=actor.slack_user_id, actor_email=actor.email, target=project_key,
        detail={"members": [m.email for m in members]} if restricted else {},
    )  # fmt: skip
    session.flush()
    return [m.email for m in members]


def project_members(session: Session, project_key: str) -> list[int]:
    return list(
        session.scalars(select(ProjectMember.user_id).where(ProjectMember.project_key == project_key))
    )


def hidden_projects(session: Session, user_id: int | None, is_admin: bool) -> set[str]:
    """Restricted projects this person may not see (none for ADMINs)."""
    if is_admin:
        return set()
    member_of = select(ProjectMember.project_key).where(ProjectMember.user_id == (user_id or -1))
    return set(
        session.scalars(
            select(Project.key).where(Project.restricted.is_(True), Project.key.not_in(member_of))
        )
    )
