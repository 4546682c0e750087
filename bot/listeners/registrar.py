"""Registering a listener means declaring who may use it: every helper here takes an ``Access``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncApp
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from bot import ids
from bot.guard import Access, Guard
from bot.listeners.matchers import subcommand
from bot.surface import Surface
from bot.wiring import Services

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Registrar:
    app: AsyncApp
    services: Services
    surface: Surface
    guard: Guard
    installations: AsyncInstallationStore | None = None  # set in multi-workspace (OAuth) mode

    def subcommand(
        self, name: str, *, usage: str, description: str, access: Access, aliases: tuple[str, ...] = ()
    ) -> Callable[[F], F]:
        """`/pm <name> …`, listed in help."""
        self.surface.add_subcommand(name, usage, description)
        self.surface.access[f"command:{name}"] = access

        def register(fn: F) -> F:
            self.app.command(
                ids.COMMAND, matchers=[subcommand(name, *aliases)], middleware=self.guard(access)
            )(fn)
            return fn

        return register

    def fallback(self, access: Access) -> Callable[[F], F]:
        """Any `/pm` sub-command nobody claimed; register it last."""
        self.surface.commands.add(ids.COMMAND)
        self.surface.access["command:*"] = access

        def register(fn: F) -> F:
            self.app.command(ids.COMMAND, middleware=self.guard(access))(fn)
            return fn

        return register

    def view(self, callback_id: str, access: Access) -> Callable[[F], F]:
        self.surface.views.add(callback_id)
        self.surface.access[f"view:{callback_id}"] = access

        def register(fn: F) -> F:
            self.app.view(callback_id, middleware=self.guard(access))(fn)
            return fn

        return register

    def action(self, action_id: str, access: Access) -> Callable[[F], F]:
        self.surface.actions.add(action_id)
        self.surface.access[f"action:{action_id}"] = access

        def register(fn: F) -> F:
            self.app.action(action_id, middleware=self.guard(access))(fn)
            return fn

        return register

    def options(self, action_id: str, access: Access) -> Callable[[F], F]:
        """Typeahead for an external select (Slack's ``block_suggestion``)."""
        self.surface.options.add(action_id)
        self.surface.access[f"options:{action_id}"] = access

        def register(fn: F) -> F:
            self.app.options(action_id, middleware=self.guard(access))(fn)
            return fn

        return register

    def shortcut(self, callback_id: str, access: Access) -> Callable[[F], F]:
        self.surface.shortcuts.add(callback_id)
        self.surface.access[f"shortcut:{callback_id}"] = access

        def register(fn: F) -> F:
            self.app.shortcut(callback_id, middleware=self.guard(access))(fn)
            return fn

        return register

    def event(
        self,
        event_type: str,
        access: Access | None,
        manifest_name: str | None = None,
        matchers: list[Callable[..., Any]] | None = None,
    ) -> Callable[[F], F]:
        """``access=None`` only for events no person sends (install lifecycle). Matchers run before the
        guard, so a bot's own messages are skipped rather than refused."""
        name = manifest_name or event_type
        self.surface.events.add(name)
        self.surface.access[f"event:{name}"] = access

        def register(fn: F) -> F:
            middleware = self.guard(access) if access is not None else []
            self.app.event(event_type, matchers=matchers, middleware=middleware)(fn)
            return fn

        return register
