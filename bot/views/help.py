"""`/pm help`: every sub-command with a one-line description."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot import ids
from bot.views.format import context, escape, section


@dataclass(frozen=True)
class SubcommandHelp:
    name: str
    usage: str
    description: str


def help_message(subcommands: Sequence[SubcommandHelp], hint: str | None = None) -> dict[str, Any]:
    lines = [
        f"`{ids.COMMAND} {escape(c.usage)}`: {escape(c.description)}"
        for c in sorted(subcommands, key=lambda c: c.name)
    ]
    blocks: list[dict[str, Any]] = []
    if hint:
        blocks.append(section(hint))
    blocks.append(section("*Agent PM commands*\n" + "\n".join(lines), block_id=ids.BLOCK_HELP))
    blocks.append(context("Mention me in a channel to ask a question; I answer in the thread."))
    fallback = (
        (escape(hint) + "\n" if hint else "")
        + "Agent PM commands: "
        + ", ".join(sorted(c.name for c in subcommands))
    )
    return {"text": fallback, "blocks": blocks}
