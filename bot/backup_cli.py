"""`agentpm export FILE` / `agentpm import FILE [--merge]`: backup and restore of what cannot be re-derived.

The work is ``core.backup``'s; this module reads and writes the file and turns every refusal into one line
and exit code 1. The format and the restore runbook are in docs/backup.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

NEXT_STEPS = (
    "next: `agentpm sync jira --full` re-reads the Jira issues, then `agentpm reindex` rebuilds the vector "
    "index"
)


def _database() -> Any:
    from bot.cli import settings_or_exit
    from core.db.session import Database, make_engine

    return Database(make_engine(settings_or_exit()))


def _write_private(path: Path, text: str) -> None:
    """Write next to ``path`` and rename: a half-written backup never carries the final name. The file holds
    encrypted credentials and people's emails, so only its owner may read it."""
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    partial.replace(path)


@click.command(name="export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
def export_command(file: str) -> None:
    """Write users, roles, credentials (still encrypted), settings and TODOs to FILE (`-`: stdout)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.cli import fail
    from core.backup import export_database
    from core.db.schema import SchemaBehind

    db = _database()
    try:
        result = export_database(db.engine)
    except SchemaBehind as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail(f"database error: {type(getattr(exc, 'orig', None) or exc).__name__}")
    finally:
        db.dispose()
    to_stdout = file == "-"
    if to_stdout:
        click.echo(result.text, nl=False)
    else:
        try:
            _write_private(Path(file), result.text)
        except OSError as exc:
            fail(f"cannot write {file}: {exc.strerror or exc}")
    for name, count in result.counts.items():
        click.echo(f"{name:<22} {count:>8,}", err=to_stdout)
    total = sum(result.counts.values())
    where = "stdout" if to_stdout else file
    click.echo(f"exported {total:,} rows at schema {result.schema_revision} to {where}", err=to_stdout)


@click.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--merge", is_flag=True, help="Keep what the database has and add the rest (default: refuse).")
def import_command(file: str, merge: bool) -> None:
    """Restore an export into this database: all of it or, on any problem, nothing."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.cli import fail
    from core.backup import ImportRefused, InvalidBackup, import_backup, parse

    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}")
    try:
        backup = parse(text)
    except InvalidBackup as exc:
        fail(f"{file} was not imported: {exc}")
    db = _database()
    try:
        report = import_backup(db.engine, backup, merge=merge)
    except (InvalidBackup, ImportRefused) as exc:
        fail(f"{file} was not imported: {exc}")
    except SQLAlchemyError as exc:
        fail(f"database error: {type(getattr(exc, 'orig', None) or exc).__name__}; nothing was written")
    finally:
        db.dispose()
    for name, counts in report.tables.items():
        line = f"{name:<22} {counts.inserted:>8,} inserted"
        if merge:
            line += f", {counts.skipped:,} already there"
            if counts.renumbered:
                line += f" ({counts.renumbered:,} inserted under a new id)"
        click.echo(line)
    verb = "merged" if merge else "imported"
    click.echo(f"{verb}: {report.inserted:,} inserted, {report.skipped:,} already there")
    click.echo(NEXT_STEPS)
