"""`agentpm import`: write a validated export into the database, all of it or nothing.

A plain import is a restore into a fresh database: it refuses one that holds any row of an exported table,
inserts every row with its own primary key, and moves PostgreSQL's sequences past them. A merge is for a
database that already has data (say the bot ran for a day on an empty database after a loss): rows already
there are kept, found by a unique key (a user's email, a channel's ID) or as an identical row; a row whose
surrogate key is taken by a different row is inserted under a new key, and the rows that refer to it (by
foreign key, ``action_items.todo_id``, a channel delivery's ``target``) follow it. So alice's credential can
never end up attached to whoever got alice's old user id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Column, Connection, Engine, Table, and_, func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.expression import bindparam

from core.backup.codec import encode
from core.backup.fileformat import Backup, InvalidBackup
from core.backup.merge_keys import natural_keys, references, surrogate_key
from core.backup.tables import DELIVERY_KIND_CHANNEL, TABLES, TableSpec
from core.db import schema
from core.errors import AgentPMError


class ImportRefused(AgentPMError):
    """The database cannot take this file as asked (not empty, other schema, rows that do not fit)."""

    user_message = "The import was refused; nothing was written."


@dataclass
class TableCounts:
    inserted: int = 0
    skipped: int = 0  # already there (merge)
    renumbered: int = 0  # inserted under a new primary key (merge); also counted in ``inserted``


@dataclass
class ImportReport:
    merged: bool
    tables: dict[str, TableCounts] = field(default_factory=dict)

    @property
    def inserted(self) -> int:
        return sum(c.inserted for c in self.tables.values())

    @property
    def skipped(self) -> int:
        return sum(c.skipped for c in self.tables.values())


Remaps = dict[str, dict[Any, Any]]  # table → old primary key → primary key in this database


def _check_schema(engine: Engine, backup: Backup) -> None:
    current = schema.current_revision(engine)
    head = schema.head_revision(engine.url.render_as_string(hide_password=False))
    if current != head:
        raise ImportRefused(
            f"the database schema is at {current or 'nothing'}, not {head}: "
            "run `agentpm migrate upgrade` first"
        )
    if backup.schema_revision != current:
        raise InvalidBackup(
            f"the file was exported at schema revision {backup.schema_revision}, this database and agentpm "
            f"are at {current}: import it with the agentpm version that wrote it, then upgrade"
        )


def _occupied(connection: Connection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for spec in TABLES:
        number = int(connection.scalar(select(func.count()).select_from(spec.table)) or 0)
        if number:
            counts[spec.name] = number
    return counts


def _reset_sequences(connection: Connection) -> None:
    """Move each serial column's sequence past the largest key, so new rows do not collide with restored ones.

    Table and column names come from the model metadata and travel as bound parameters.
    """
    for spec in TABLES:
        key = surrogate_key(spec.table)
        if key is None:
            continue
        sequence = func.pg_get_serial_sequence(
            bindparam("table_name", spec.table.name), bindparam("column_name", key.name)
        )
        following = select(func.coalesce(func.max(key), 0) + 1).scalar_subquery()
        connection.execute(select(func.setval(sequence, following, literal(False))))


def _follow(spec: TableSpec, row: dict[str, Any], remaps: Remaps) -> dict[str, Any]:
    """The row with its references pointing where the rows they name ended up."""
    moved = dict(row)
    for column_name, target in references(spec.table):
        if moved[column_name] is not None and target in remaps:
            moved[column_name] = remaps[target].get(moved[column_name], moved[column_name])
    if spec.name == "deliveries" and moved["kind"] == DELIVERY_KIND_CHANNEL and moved["target"].isdigit():
        subscriptions = remaps.get("digest_subscriptions", {})
        moved["target"] = str(subscriptions.get(int(moved["target"]), int(moved["target"])))
    return moved


def _encoded(table: Table, values: Any) -> dict[str, Any]:
    return {c.name: encode(c, values[c.name]) for c in table.columns}


def _identical(connection: Connection, table: Table, key: Column[Any], row: dict[str, Any]) -> Any | None:
    """The key of a row equal to ``row`` in every other column (an earlier merge of the same file put it
    there, perhaps under a new key), or None. JSON columns have no equality in PostgreSQL: compared here."""
    plain = [c for c in table.columns if c is not key and not isinstance(c.type, JSON)]
    same = [c.is_(None) if row[c.name] is None else c == row[c.name] for c in plain]
    wanted = {name: value for name, value in _encoded(table, row).items() if name != key.name}
    for candidate in connection.execute(select(table).where(and_(*same))).mappings():
        found = _encoded(table, candidate)
        if found.pop(key.name) is not None and found == wanted:
            return candidate[key.name]
    return None


def _merge_row(
    connection: Connection, spec: TableSpec, row: dict[str, Any], remaps: Remaps, counts: TableCounts
) -> None:
    table = spec.table
    key = surrogate_key(table)
    moved: dict[Any, Any] = remaps.setdefault(spec.name, {}) if key is not None else {}
    for columns in natural_keys(table):
        if any(row[c.name] is None for c in columns):
            continue  # NULLs never collide in a unique constraint
        match = select(*table.primary_key.columns).where(and_(*(c == row[c.name] for c in columns)))
        existing = connection.execute(match).first()
        if existing is not None:
            if key is not None:
                moved[row[key.name]] = existing[0]
            counts.skipped += 1
            return
    if key is not None:
        twin = _identical(connection, table, key, row)
        if twin is not None:
            moved[row[key.name]] = twin
            counts.skipped += 1
            return
        if connection.scalar(select(key).where(key == row[key.name])) is not None:
            new_key = int(connection.scalar(select(func.coalesce(func.max(key), 0) + 1)) or 1)
            moved[row[key.name]] = new_key
            row = {**row, key.name: new_key}
            counts.renumbered += 1
        else:
            moved[row[key.name]] = row[key.name]
    connection.execute(insert(table), [row])
    counts.inserted += 1


def _write(connection: Connection, backup: Backup, merge: bool, report: ImportReport) -> None:
    remaps: Remaps = {}
    for spec in TABLES:  # parents before children
        rows = backup.tables.get(spec.name, [])
        counts = report.tables.setdefault(spec.name, TableCounts())
        if not merge:
            if rows:
                connection.execute(insert(spec.table), rows)
            counts.inserted = len(rows)
            continue
        for row in rows:
            _merge_row(connection, spec, _follow(spec, row, remaps), remaps, counts)


def import_backup(engine: Engine, backup: Backup, *, merge: bool = False) -> ImportReport:
    """Write ``backup`` in one transaction, parents first; on any refusal or error nothing is written."""
    _check_schema(engine, backup)
    report = ImportReport(merged=merge)
    try:
        with engine.begin() as connection:
            if not merge:
                occupied = _occupied(connection)
                if occupied:
                    listed = ", ".join(f"{name} ({count})" for name, count in occupied.items())
                    raise ImportRefused(
                        f"the database is not empty: {listed}; import into a fresh database, or merge "
                        "(--merge) to keep what is there and add the rest"
                    )
            _write(connection, backup, merge, report)
            if connection.dialect.name == "postgresql":
                _reset_sequences(connection)
    except IntegrityError as exc:
        cause = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise ImportRefused(f"a row does not fit the database ({cause}); nothing was written") from exc
    return report
