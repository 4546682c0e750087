"""`/pm sync [KEY …|all] [--full]` (ADMIN): sync Jira now, with a progress message and a summary thread."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond

from bot.commands import parse_pm
from bot.guard import Access
from bot.listeners.registrar import Registrar
from bot.views.format import section
from core.config import Role
from core.errors import InvalidInput
from core.jira.jql import valid_project_key
from core.notices import ReplyTarget
from core.ratelimit import Cost

JOB = "agentpm.jira.sync"


def parse_sync_args(args: list[str]) -> tuple[list[str] | None, bool]:
    """Project keys (None: every project) and whether to re-read everything (``--full``)."""
    full = False
    keys: list[str] = []
    every = False
    for arg in args:
        lowered = arg.lower()
        if lowered in ("--full", "full"):
            full = True
        elif lowered == "all":
            every = True
        elif arg.startswith("-"):
            raise InvalidInput(f"Unknown option `{arg[:20]}`; use `--full`.")
        else:
            keys.append(valid_project_key(arg))
    if every and keys:
        raise InvalidInput("Give project keys or `all`, not both.")
    return (sorted(set(keys)) or None), full


def register(reg: Registrar) -> None:
    services = reg.services

    @reg.subcommand(
        "sync",
        usage="sync [KEY|all] [--full]",
        description="Sync Jira now (admins).",
        access=Access(Role.ADMIN, Cost.SYNC),
    )
    async def sync(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        projects, full = parse_sync_args(parse_pm(command.get("text")).args)
        if not services.settings.jira_base_url:
            raise InvalidInput("Jira is not configured (JIRA_BASE_URL is not set).")
        target = ReplyTarget(
            channel_id=command.get("channel_id"), user_id=command.get("user_id"),
            response_url=command.get("response_url"), private=False,
        )  # fmt: skip
        what = ", ".join(projects) if projects else "every project"
        text = f"Syncing {what}{' (full)' if full else ''}; progress follows here."
        await ack(response_type="ephemeral", text=text, blocks=[section(text)])
        services.after_ack.submit(
            JOB, {"projects": projects, "full": full, "target": target.model_dump()}, respond
        )
