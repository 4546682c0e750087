"""How a merge recognises a row that is already there, and which columns point at other exported rows."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Column, Integer, Table, UniqueConstraint

from core.backup.tables import LOGICAL_REFERENCES


@cache
def surrogate_key(table: Table) -> Column[Any] | None:
    """The table's generated integer key (``id``), or None when its primary key means something itself."""
    columns = list(table.primary_key.columns)
    if len(columns) != 1:
        return None
    key = columns[0]
    if not isinstance(key.type, Integer) or key.foreign_keys or key.autoincrement is False:
        return None
    return key


@cache
def natural_keys(table: Table) -> tuple[tuple[Column[Any], ...], ...]:
    """Column sets that identify a row whatever its generated key: unique constraints, and a meaningful
    primary key (``projects.key``, ``project_members``' pair)."""
    keys = [
        tuple(constraint.columns)
        for constraint in sorted(table.constraints, key=lambda c: str(c.name))
        if isinstance(constraint, UniqueConstraint)
    ]
    if surrogate_key(table) is None:
        keys.insert(0, tuple(table.primary_key.columns))
    return tuple(keys)


@cache
def references(table: Table) -> tuple[tuple[str, str], ...]:
    """(column, referenced table) for every foreign key and every logical reference of ``table``."""
    found = [(column.name, fk.column.table.name) for column in table.columns for fk in column.foreign_keys]
    found += [(column, target) for (name, column), target in LOGICAL_REFERENCES.items() if name == table.name]
    return tuple(found)
