"""`agentpm export`: read every kept table in one consistent snapshot and render the file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from core.backup.codec import encode
from core.backup.fileformat import render
from core.backup.tables import TABLES, TableSpec
from core.db import schema


@dataclass(frozen=True)
class ExportResult:
    text: str
    schema_revision: str
    counts: dict[str, int]  # table → rows written


def _rows(connection: Connection, spec: TableSpec) -> list[dict[str, Any]]:
    table = spec.table
    query = select(table).order_by(*table.primary_key.columns)
    if spec.rows is not None:
        query = query.where(spec.rows)
    columns = list(table.columns)
    return [
        {column.name: encode(column, row._mapping[column]) for column in columns}
        for row in connection.execute(query)
    ]


def export_database(engine: Engine, *, at: datetime | None = None) -> ExportResult:
    """Every kept row, as the text of an export file; the schema must be at head (raises ``SchemaBehind``).

    PostgreSQL reads all tables in one REPEATABLE READ transaction, so a bot running meanwhile cannot leave a
    credential whose user is missing from the file.
    """
    schema.require_head(engine)
    revision = schema.current_revision(engine) or ""
    options: dict[str, Any] = {}
    if engine.dialect.name == "postgresql":
        options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    with engine.connect().execution_options(**options) as connection, connection.begin():
        tables = {spec.name: _rows(connection, spec) for spec in TABLES}
    exported_at = (at or datetime.now(UTC)).astimezone(UTC)
    return ExportResult(
        text=render(revision, exported_at, tables),
        schema_revision=revision,
        counts={name: len(rows) for name, rows in tables.items()},
    )
