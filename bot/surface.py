"""What the app registered (sub-commands, shortcuts, events, actions, views) and the access each declared.

Help, the manifest test and the role-matrix test all read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.guard import Access
from bot.views.help import SubcommandHelp


@dataclass
class Surface:
    subcommands: dict[str, SubcommandHelp] = field(default_factory=dict)
    shortcuts: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)
    actions: set[str] = field(default_factory=set)
    views: set[str] = field(default_factory=set)
    options: set[str] = field(default_factory=set)
    commands: set[str] = field(default_factory=set)
    access: dict[str, Access | None] = field(default_factory=dict)

    def add_subcommand(self, name: str, usage: str, description: str) -> None:
        if name in self.subcommands:
            raise ValueError(f"sub-command {name!r} registered twice")
        self.subcommands[name] = SubcommandHelp(name=name, usage=usage, description=description)
