"""`/pm admin role|users|audit`: roles, the user list and the audit log, for ADMINs only."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import parse_pm
from bot.guard import Access
from bot.listeners.registrar import Registrar
from bot.views.admin import audit_message, role_changed_message, users_message
from core.config import Role
from core.errors import AgentPMError, InvalidInput
from core.jira.jql import valid_project_key
from core.parsing import parse_since, parse_user_mention
from core.ratelimit import Cost
from core.search.access import set_project_access
from core.users import audit
from core.users.identity import REFUSAL_MESSAGES, check_profile
from core.users.service import Identity, list_users, resolve, set_role

USAGE = (
    "admin role @user ADMIN|USER|NO_ACCESS · admin users · admin audit [@user] [since:7d] · "
    "admin project KEY open|restrict [@user …]"
)
ADMIN = Access(Role.ADMIN, Cost.ADMIN)


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().upper())
    except ValueError:
        raise InvalidInput(f"`{text[:20]}` is not a role; use ADMIN, USER or NO_ACCESS.") from None


def parse_audit_args(args: list[str]) -> tuple[str | None, datetime | None]:
    user: str | None = None
    since: datetime | None = None
    for arg in args:
        if arg.lower().startswith("since:"):
            since = parse_since(arg)
        else:
            user = parse_user_mention(arg)
    return user, since


def register(reg: Registrar) -> None:
    services = reg.services
    settings = services.settings

    @reg.subcommand(
        "admin", usage=USAGE, description="Roles, users and the audit log (admins only).", access=ADMIN
    )
    async def admin(
        ack: AsyncAck,
        respond: AsyncRespond,
        command: dict[str, Any],
        context: dict[str, Any],
        client: AsyncWebClient,
    ) -> None:
        actor: Identity = context["identity"]
        args = parse_pm(command.get("text")).args
        action = args[0].lower() if args else ""
        team_id = command.get("team_id")
        if action == "role":
            if len(args) != 3:
                raise InvalidInput("Usage: `/pm admin role @user ADMIN|USER|NO_ACCESS`")
            target_id, role = parse_user_mention(args[1]), parse_role(args[2])
            await ack()
            work = change_role(actor, team_id, target_id, role, respond, client)
            services.after_ack.run(work, respond, "admin.role")
        elif action == "users":
            await ack()
            services.after_ack.run(show_users(actor, respond), respond, "admin.users")
        elif action == "audit":
            user, since = parse_audit_args(args[1:])
            await ack()
            services.after_ack.run(show_audit(actor, user, since, respond), respond, "admin.audit")
        elif action == "project":
            if len(args) < 3 or args[2].lower() not in ("open", "restrict"):
                raise InvalidInput("Usage: `/pm admin project KEY open|restrict [@user …]`")
            key = valid_project_key(args[1])
            restricted = args[2].lower() == "restrict"
            if not restricted and len(args) > 3:
                raise InvalidInput("`open` takes no users: an open project is visible to every user.")
            members = [parse_user_mention(a) for a in args[3:]]
            await ack()
            work = change_project(actor, team_id, key, restricted, members, respond, client)
            services.after_ack.run(work, respond, "admin.project")
        else:
            raise InvalidInput(f"Usage: `/pm {USAGE}`")

    async def change_role(
        actor: Identity,
        team_id: str | None,
        target_id: str,
        role: Role,
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        try:
            profile = await services.identities.profile(target_id, client)
            refusal = check_profile(profile, team_id, settings.agentpm_allowed_domains)
            if refusal is not None:
                raise InvalidInput(f"That person cannot use Agent PM: {REFUSAL_MESSAGES[refusal]}")

            def write() -> Role:
                with services.db.session() as session:
                    target = resolve(session, profile, settings)
                    return set_role(session, actor, target, role)

            previous = await asyncio.to_thread(write)
        except AgentPMError as exc:
            await asyncio.to_thread(record_refusal, actor, target_id, role, exc)
            raise
        await services.identities.forget(team_id, target_id)
        await respond(
            response_type="ephemeral", **role_changed_message(target_id, role.value, previous.value)
        )

    async def change_project(
        actor: Identity,
        team_id: str | None,
        key: str,
        restricted: bool,
        member_ids: list[str],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        profiles = [await services.identities.profile(member, client) for member in member_ids]
        for member, profile in zip(member_ids, profiles, strict=True):
            refusal = check_profile(profile, team_id, settings.agentpm_allowed_domains)
            if refusal is not None:
                raise InvalidInput(f"<@{member}> cannot use Agent PM: {REFUSAL_MESSAGES[refusal]}")

        def write() -> list[str]:
            with services.db.session() as session:
                members = [resolve(session, p, settings) for p in profiles]
                return set_project_access(session, actor, key, restricted=restricted, members=members)

        emails = await asyncio.to_thread(write)
        if restricted:
            who = ", ".join(f"<@{m}>" for m in member_ids) or "nobody else"
            text = f"*{key}* is now restricted: admins and {who} see its issues ({len(emails)} member(s))."
        else:
            text = f"*{key}* is now open: every user sees its issues."
        await respond(response_type="ephemeral", text=text)

    def record_refusal(actor: Identity, target_id: str, role: Role, exc: AgentPMError) -> None:
        with services.db.session() as session:
            audit.record(
                session,
                action="role.change",
                outcome=f"refused:{type(exc).__name__}",
                actor_slack_id=actor.slack_user_id,
                actor_email=actor.email,
                target=target_id,
                detail={"to": role.value, "reason": exc.user_message[:200]},
            )

    async def show_users(actor: Identity, respond: AsyncRespond) -> None:
        def read() -> list[Identity]:
            with services.db.session() as session:
                audit.record(
                    session,
                    action="admin.users",
                    outcome="ok",
                    actor_slack_id=actor.slack_user_id,
                    actor_email=actor.email,
                )
                return list_users(session)

        await respond(response_type="ephemeral", **users_message(await asyncio.to_thread(read)))

    async def show_audit(
        actor: Identity, user: str | None, since: datetime | None, respond: AsyncRespond
    ) -> None:
        def read() -> list[audit.AuditEntry]:
            with services.db.session() as session:
                entries = audit.recent(session, actor_slack_id=user, since=since)
                audit.record(
                    session,
                    action="admin.audit",
                    outcome="ok",
                    actor_slack_id=actor.slack_user_id,
                    actor_email=actor.email,
                    target=user,
                )
                return entries

        await respond(response_type="ephemeral", **audit_message(await asyncio.to_thread(read)))
