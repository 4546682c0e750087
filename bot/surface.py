"""What the app registered (sub-commands, shortcuts, events, actions), for help and the manifest test."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.views.help import SubcommandHelp


@dataclass
class Surface:
    subcommands: dict[str, SubcommandHelp] = field(default_factory=dict)
    shortcuts: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)
    actions: set[str] = field(default_factory=set)
    commands: set[str] = field(default_factory=set)

    def add_subcommand(self, name: str, usage: str, description: str) -> None:
        if name in self.subcommands:
            raise ValueError(f"sub-command {name!r} registered twice")
        self.subcommands[name] = SubcommandHelp(name=name, usage=usage, description=description)
