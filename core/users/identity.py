"""Deciding whether a Slack user may use the bot at all, from their Slack profile; pure functions."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

from core.config import Role

ROLE_RANK = {Role.NO_ACCESS: 0, Role.USER: 1, Role.ADMIN: 2}


class Profile(BaseModel):
    """What Slack's ``users.info`` says about a user; the email is the only thing trusted for identity."""

    slack_user_id: str
    team_id: str | None = None
    email: str | None = None
    name: str = ""
    tz: str | None = None
    is_bot: bool = False
    deleted: bool = False
    is_restricted: bool = False
    is_ultra_restricted: bool = False


class Refusal(StrEnum):
    OUTSIDE_DOMAIN = "outside_domain"
    NO_EMAIL = "no_email"
    GUEST = "guest"
    DEACTIVATED = "deactivated"
    BOT = "bot"
    OTHER_WORKSPACE = "other_workspace"
    NO_ACCESS = "no_access"
    ROLE_TOO_LOW = "role_too_low"
    UNVERIFIED = "unverified"
    IDENTITY_CONFLICT = "identity_conflict"


REFUSAL_MESSAGES = {
    Refusal.OUTSIDE_DOMAIN: "Agent PM is only for members of your organisation's Google Workspace.",
    Refusal.NO_EMAIL: "Agent PM found no email address on your Slack profile, so it cannot let you in.",
    Refusal.GUEST: "Agent PM is not available to guest accounts.",
    Refusal.DEACTIVATED: "This Slack account is deactivated.",
    Refusal.BOT: "Agent PM does not take commands from bots.",
    Refusal.OTHER_WORKSPACE: "Agent PM is only available to members of this workspace.",
    Refusal.NO_ACCESS: "You do not have access to Agent PM; an admin can grant it with `/pm admin role`.",
    Refusal.ROLE_TOO_LOW: "Only Agent PM admins can do that.",
    Refusal.UNVERIFIED: "Agent PM could not check who you are right now; please try again in a minute.",
    Refusal.IDENTITY_CONFLICT: "Your email is already linked to a Slack account in another workspace; "
    "ask an Agent PM admin to sort it out.",
}


def email_domain(email: str) -> str | None:
    """The domain of a plain ``local@domain`` address, lower-cased; None for anything else."""
    email = email.strip()
    if email.count("@") != 1 or any(ch.isspace() or ch in "\"'<>()[],;:\\" for ch in email):
        return None
    local, domain = email.split("@")
    if not local or not domain or domain.startswith(".") or domain.endswith(".") or ".." in domain:
        return None
    return domain.lower()


def domain_allowed(email: str | None, allowed: list[str]) -> bool:
    """Exact, case-insensitive match of the email's domain against the allowed domains (no subdomains)."""
    if not email:
        return False
    domain = email_domain(email)
    return domain is not None and domain in {d.lower().strip() for d in allowed}


def check_profile(
    profile: Profile, request_team_id: str | None, allowed_domains: list[str]
) -> Refusal | None:
    """Why this Slack user may not use the bot, or None when the profile passes."""
    if profile.is_bot:
        return Refusal.BOT
    if profile.deleted:
        return Refusal.DEACTIVATED
    if profile.is_restricted or profile.is_ultra_restricted:
        return Refusal.GUEST
    if request_team_id and profile.team_id != request_team_id:  # includes a profile without a team
        return Refusal.OTHER_WORKSPACE
    if not profile.email:
        return Refusal.NO_EMAIL
    if not domain_allowed(profile.email, allowed_domains):
        return Refusal.OUTSIDE_DOMAIN
    return None


def check_role(role: Role, needed: Role) -> Refusal | None:
    if role is Role.NO_ACCESS:
        return Refusal.NO_ACCESS
    if ROLE_RANK[role] < ROLE_RANK[needed]:
        return Refusal.ROLE_TOO_LOW
    return None
