"""Listener matchers shared by the feature modules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.commands import first_word


def subcommand(*names: str) -> Callable[[dict[str, Any]], Awaitable[bool]]:
    """Match `/pm <name> …` for any of ``names``."""
    wanted = frozenset(names)

    async def matches(body: dict[str, Any]) -> bool:
        return first_word(body.get("text")) in wanted

    return matches
