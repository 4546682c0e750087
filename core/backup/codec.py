"""Column values to JSON and back, and the pydantic model that checks one table's rows.

The rules are the format's (docs/backup.md): datetimes as ISO 8601 (with offset, in UTC, for columns with a
time zone; without one for the few naive columns), dates as ISO dates, bytes as base64, JSON columns as they
are (object keys sorted, so two exports of the same data are byte-identical). Decoding is strict: a number
where a date belongs is an error, not a Unix timestamp, because a wrong value restored is worse than none.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, PlainValidator, StrictBool, StrictInt, StrictStr
from pydantic import create_model as _create_model
from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Integer, LargeBinary, String, Table


class UnsupportedColumn(TypeError):
    """A column type the format has no rule for: add one here before exporting that table."""


def _sorted_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _sorted_json(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_json(v) for v in value]
    return value


def encode(column: Column[Any], value: Any) -> Any:
    """One stored value as its JSON form."""
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, DateTime):
        if kind.timezone:
            aware = value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite drops the offset
            return aware.astimezone(UTC).isoformat()
        return value.replace(tzinfo=None).isoformat()
    if isinstance(kind, Date):
        return value.isoformat()
    if isinstance(kind, LargeBinary):
        return base64.b64encode(value).decode("ascii")
    if isinstance(kind, JSON):
        return _sorted_json(value)
    return value


def _iso_instant(aware: bool) -> PlainValidator:
    def parse(value: Any) -> datetime:
        if not isinstance(value, str):
            raise ValueError("expected an ISO 8601 date-time string")
        parsed = datetime.fromisoformat(value)
        if aware and parsed.tzinfo is None:
            raise ValueError("expected a date-time with a UTC offset")
        if not aware and parsed.tzinfo is not None:
            raise ValueError("expected a date-time without an offset")
        return parsed

    return PlainValidator(parse)


def _iso_date(value: Any) -> date:
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 date string")
    return date.fromisoformat(value)


def _base64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("expected base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError("expected base64 text") from exc


def _field_type(column: Column[Any]) -> Any:
    kind = column.type
    python: Any
    if isinstance(kind, Boolean):
        python = StrictBool
    elif isinstance(kind, Integer):
        python = StrictInt
    elif isinstance(kind, String):  # Text is a String without a length
        python = Annotated[StrictStr, Field(max_length=kind.length)] if kind.length else StrictStr
    elif isinstance(kind, DateTime):
        python = Annotated[datetime, _iso_instant(bool(kind.timezone))]
    elif isinstance(kind, Date):
        python = Annotated[date, PlainValidator(_iso_date)]
    elif isinstance(kind, LargeBinary):
        python = Annotated[bytes, PlainValidator(_base64)]
    elif isinstance(kind, JSON):
        python = JsonValue
    else:
        raise UnsupportedColumn(f"{column.table.name}.{column.name}: no backup rule for {kind!r}")
    return python | None if column.nullable else python


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@cache
def row_model(table: Table) -> type[BaseModel]:
    """A model accepting exactly this table's columns, each present (null only where the column allows)."""
    fields: dict[str, Any] = {column.name: (_field_type(column), ...) for column in table.columns}
    model: type[BaseModel] = _create_model(f"{table.name}_row", __base__=_Row, **fields)
    return model
