"""`/pm help` (and a bare `/pm`) and the fallback for unknown sub-commands, answered in the ack itself."""

from __future__ import annotations

import difflib

from slack_bolt.async_app import AsyncAck

from bot import ids
from bot.commands import parse_pm
from bot.guard import Access
from bot.listeners.registrar import Registrar
from bot.views.format import escape
from bot.views.help import help_message


def register(reg: Registrar) -> None:
    surface = reg.surface

    @reg.subcommand(
        "help",
        usage="help",
        description="List the commands and what they do.",
        access=Access(),
        aliases=("",),
    )
    async def show_help(ack: AsyncAck, command: dict[str, str]) -> None:
        parse_pm(command.get("text"))
        await ack(response_type="ephemeral", **help_message(list(surface.subcommands.values())))


def register_fallback(reg: Registrar) -> None:
    """Registered last: any `/pm` sub-command no feature claimed."""
    surface = reg.surface

    @reg.fallback(Access())
    async def unknown(ack: AsyncAck, command: dict[str, str]) -> None:
        sub = parse_pm(command.get("text")).sub
        close = difflib.get_close_matches(sub, list(surface.subcommands), n=1)
        hint = f"I don't know `{escape(sub)}`."
        if close:
            hint += f" Did you mean `{ids.COMMAND} {close[0]}`?"
        await ack(response_type="ephemeral", **help_message(list(surface.subcommands.values()), hint=hint))
