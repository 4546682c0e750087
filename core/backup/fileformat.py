"""The export file: one JSON document, versioned, checked in full before anything is written.

Layout (version 1)::

    {"format": "agentpm-export", "version": 1, "schema": "<alembic revision>",
     "exported_at": "<ISO 8601 with offset>",
     "tables": {"<table>": [{"<column>": value, ...}, ...], ...}}

It is written one row per line, tables in foreign-key order and rows by primary key, so a file diffs well and
two exports of the same data are byte-identical (apart from ``exported_at``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, ValidationError

from core.backup.codec import row_model
from core.backup.tables import FORMAT, TABLES, TABLES_BY_NAME, VERSION
from core.errors import AgentPMError


class InvalidBackup(AgentPMError):
    """The file is not a backup this version can restore; the message says what is wrong and where."""

    user_message = "The file is not a valid Agent PM export."


class _Header(BaseModel):
    """What is checked before the rows: a wrong format or version is named before any row error."""

    model_config = ConfigDict(populate_by_name=True)

    format: Literal["agentpm-export"]
    version: StrictInt
    schema_revision: str = Field(alias="schema", min_length=1)
    exported_at: AwareDatetime
    tables: dict[str, list[Any]]


class Backup(BaseModel):
    """A validated export: rows are plain column → Python value dicts, ready to insert."""

    model_config = ConfigDict(frozen=True)

    schema_revision: str
    exported_at: datetime
    tables: dict[str, list[dict[str, Any]]]


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "document"
    return f"{where}: {first['msg']}"


def parse(text: str | bytes) -> Backup:
    """Check the whole file (header, table names, every row's columns and types) and return it decoded."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InvalidBackup(f"not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidBackup(f'not an Agent PM export (expected "format": "{FORMAT}")')
    try:
        header = _Header.model_validate(document)
    except ValidationError as exc:
        raise InvalidBackup(_first_error(exc)) from exc
    if header.version != VERSION:
        raise InvalidBackup(
            f"format version {header.version} is not supported (this agentpm reads version {VERSION})"
        )
    unknown = sorted(set(header.tables) - set(TABLES_BY_NAME))
    if unknown:
        raise InvalidBackup(f"unknown table(s): {', '.join(unknown)}")
    tables: dict[str, list[dict[str, Any]]] = {}
    for spec in TABLES:
        model = row_model(spec.table)
        rows: list[dict[str, Any]] = []
        for number, row in enumerate(header.tables.get(spec.name, []), 1):
            try:
                rows.append(model.model_validate(row).model_dump())
            except ValidationError as exc:
                raise InvalidBackup(f"table {spec.name}, row {number}: {_first_error(exc)}") from exc
        tables[spec.name] = rows
    return Backup(schema_revision=header.schema_revision, exported_at=header.exported_at, tables=tables)


def render(schema_revision: str, exported_at: datetime, tables: dict[str, list[dict[str, Any]]]) -> str:
    """The file's text from already encoded rows (JSON values), one row per line."""

    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))

    lines = [
        "{",
        f'  "format": {dumps(FORMAT)},',
        f'  "version": {VERSION},',
        f'  "schema": {dumps(schema_revision)},',
        f'  "exported_at": {dumps(exported_at.isoformat())},',
        '  "tables": {',
    ]
    names = list(tables)
    for t, name in enumerate(names):
        rows = tables[name]
        closing = "]" + ("," if t < len(names) - 1 else "")
        if not rows:
            lines.append(f"    {dumps(name)}: []" + closing[1:])
            continue
        lines.append(f"    {dumps(name)}: [")
        lines.extend(f"      {dumps(row)}" + ("," if r < len(rows) - 1 else "") for r, row in enumerate(rows))
        lines.append("    " + closing)
    lines += ["  }", "}", ""]
    return "\n".join(lines)
