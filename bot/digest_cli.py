"""`agentpm digest run-due [--at ISO]`: the beat's tick from the shell, for a replay or a cron job.

It runs exactly the code of the tick (``core.digests.delivery.run_due``), so any number of these and the
beat may run at once and each due digest still goes out once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click


def _instant(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 instant, e.g. 2026-10-25T08:00:00Z") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@click.group()
def digest() -> None:
    """Scheduled digests and reminders."""


@digest.command(name="run-due")
@click.option("--at", "at_text", default=None, help="The instant to deliver for (ISO-8601; default now).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def run_due_command(at_text: str | None, as_json: bool) -> None:
    """Deliver every digest and reminder due at that instant, exactly once however often it runs."""
    import asyncio

    from bot.cli import require_schema, settings_or_exit
    from bot.wiring import build_services
    from core.digests.delivery import run_due

    at = _instant(at_text)
    settings = settings_or_exit()
    require_schema(settings)
    services = build_services(settings)
    try:
        report = run_due(services.jobs, at)
    finally:
        asyncio.run(services.aclose())
    if as_json:
        fields = ("due", "sent", "recovered", "skipped", "empty", "retrying", "failed", "deferred")
        click.echo(json.dumps({"at": report.at.isoformat(), **{f: getattr(report, f) for f in fields}}))
    else:
        click.echo(report.line())
    if report.failed:
        raise SystemExit(1)
