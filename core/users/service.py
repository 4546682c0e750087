"""Users in the database: created on first sight, linked by email, roles changed with an audit trail."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Role, Settings
from core.db.models import User
from core.errors import AgentPMError, InvalidInput
from core.users import audit
from core.users.identity import Profile, domain_allowed, email_domain


class Identity(BaseModel):
    """Who is asking, as the bot knows them; small enough to cache."""

    user_id: int
    slack_user_id: str | None
    team_id: str | None
    email: str
    name: str
    role: Role
    tz: str | None = None


class LastAdmin(AgentPMError):
    user_message = "That would leave Agent PM without an admin; make someone else ADMIN first."


class IdentityConflict(AgentPMError):
    user_message = "That email is already linked to a Slack account in another workspace."


class UnknownUser(AgentPMError):
    user_message = "I don't know that user."


def _identity(user: User) -> Identity:
    return Identity(
        user_id=user.id,
        slack_user_id=user.slack_user_id,
        team_id=user.team_id,
        email=user.email,
        name=user.display_name,
        role=Role(user.role),
        tz=user.tz,
    )


def first_role(email: str, settings: Settings) -> Role:
    if email.lower() in settings.agentpm_bootstrap_admins:
        return Role.ADMIN
    return settings.agentpm_default_role


def resolve(session: Session, profile: Profile, settings: Settings) -> Identity:
    """The user row for a checked profile: found by Slack ID, else linked by email, else created."""
    email = (profile.email or "").lower()
    user = session.scalar(
        select(User).where(User.team_id == profile.team_id, User.slack_user_id == profile.slack_user_id)
    )
    if user is None:
        user = session.scalar(select(User).where(User.email == email))
        if user is not None and user.slack_user_id and user.team_id and user.team_id != profile.team_id:
            # Another workspace presenting the same email must not inherit this person's role.
            audit.record(
                session,
                action="user.link",
                outcome="refused:other_workspace",
                actor_slack_id=profile.slack_user_id,
                actor_email=email,
                target=email,
                detail={"linked_team": user.team_id, "team": profile.team_id},
            )
            session.commit()
            raise IdentityConflict()
        if user is None or user.slack_user_id is None:
            if user is None:
                user = User(email=email, role=first_role(email, settings).value)
                session.add(user)
            audit.record(
                session,
                action="user.first_seen",
                outcome="ok",
                actor_slack_id=profile.slack_user_id,
                actor_email=email,
                target=email,
                detail={"role": user.role},
            )
        user.team_id, user.slack_user_id = profile.team_id, profile.slack_user_id
    elif user.email != email:
        _take_over_email(session, user, email)
    user.email = email
    user.display_name = profile.name or user.display_name
    user.tz = profile.tz or user.tz
    user.last_seen_at = datetime.now(UTC)
    session.flush()
    return _identity(user)


def _take_over_email(session: Session, user: User, email: str) -> None:
    """Slack now gives ``user`` an email another row holds: a grant made ahead of time is merged in
    (its role wins); a row of another Slack account keeps its history under a placeholder address."""
    other = session.scalar(select(User).where(User.email == email, User.id != user.id))
    if other is None:
        return
    if other.slack_user_id is None:
        user.role = other.role
        session.delete(other)
        outcome = "merged_grant"
    else:
        other.email = f"replaced-{other.id}@invalid"
        outcome = "reassigned"
    session.flush()
    audit.record(
        session,
        action="user.email_changed",
        outcome=outcome,
        actor_slack_id=user.slack_user_id,
        actor_email=email,
        target=email,
        detail={"from": user.email},
    )


def admin_count(session: Session) -> int:
    """Admins, with their rows locked (PostgreSQL) so two concurrent demotions cannot both pass the check."""
    return len(session.scalars(select(User.id).where(User.role == Role.ADMIN.value).with_for_update()).all())


def set_role(session: Session, actor: Identity, target: Identity, role: Role) -> Role:
    """Change ``target``'s role; the last admin cannot be demoted. Returns the previous role."""
    user = session.get(User, target.user_id)
    if user is None:
        raise UnknownUser()
    previous = Role(user.role)
    if previous is Role.ADMIN and role is not Role.ADMIN and admin_count(session) <= 1:
        raise LastAdmin()  # the caller records the refusal (this transaction is rolled back)
    user.role = role.value
    audit.record(
        session,
        action="role.change",
        outcome="ok",
        actor_slack_id=actor.slack_user_id,
        actor_email=actor.email,
        target=user.email,
        detail={"from": previous.value, "to": role.value},
    )
    return previous


def grant(session: Session, email: str, role: Role, allowed_domains: list[str]) -> tuple[Role | None, Role]:
    """`agentpm admin grant`: set a role by email, creating the user ahead of first sight if needed."""
    email = email.strip().lower()
    if email_domain(email) is None:
        raise InvalidInput(f"{email!r} is not an email address")
    if allowed_domains and not domain_allowed(email, allowed_domains):
        raise InvalidInput(f"{email} is outside AGENTPM_ALLOWED_DOMAINS ({', '.join(allowed_domains)})")
    user = session.scalar(select(User).where(User.email == email))
    previous = Role(user.role) if user else None
    if user is None:
        user = User(email=email, role=role.value)
        session.add(user)
    elif previous is Role.ADMIN and role is not Role.ADMIN and admin_count(session) <= 1:
        raise LastAdmin()
    user.role = role.value
    audit.record(
        session,
        action="role.grant",
        outcome="ok",
        actor_email="(shell)",
        target=email,
        detail={"from": previous.value if previous else None, "to": role.value},
    )
    return previous, role


def list_users(session: Session, limit: int = 200) -> list[Identity]:
    users = session.scalars(select(User).order_by(User.role, User.email).limit(limit))
    return [_identity(u) for u in users]


def identity_by_slack_id(session: Session, slack_user_id: str) -> Identity | None:
    """The person the bot already knows by this Slack ID (None if never seen)."""
    user = session.scalar(select(User).where(User.slack_user_id == slack_user_id).limit(1))
    return _identity(user) if user else None
