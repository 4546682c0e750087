"""The export format without a database: every table decided, values encoded and checked strictly."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from core.backup import NOT_EXPORTED, TABLES, InvalidBackup, parse
from core.backup.codec import encode, row_model
from core.backup.fileformat import render
from core.backup.merge_keys import natural_keys, references, surrogate_key
from core.backup.tables import LOGICAL_REFERENCES, TABLES_BY_NAME
from core.db.base import Base
from core.db.models import User

AT = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


def test_every_table_is_either_exported_or_said_not_to_be() -> None:
    exported = {spec.name for spec in TABLES}
    assert exported.isdisjoint(NOT_EXPORTED)
    assert set(Base.metadata.tables) == exported | set(NOT_EXPORTED)
    assert all(spec.reason for spec in TABLES)


def test_tables_come_parents_first() -> None:
    position = {spec.name: n for n, spec in enumerate(TABLES)}
    for spec in TABLES:
        for _, parent in references(spec.table):
            assert position[parent] < position[spec.name], (parent, spec.name)
    for (child, _), parent in LOGICAL_REFERENCES.items():
        assert position[parent] < position[child]
    assert position["digest_subscriptions"] < position["deliveries"]


def test_merge_keys() -> None:
    users = TABLES_BY_NAME["users"].table
    assert surrogate_key(users) is users.c.id
    assert {tuple(c.name for c in key) for key in natural_keys(users)} == {
        ("email",),
        ("team_id", "slack_user_id"),
    }
    members = TABLES_BY_NAME["project_members"].table
    assert surrogate_key(members) is None
    assert [c.name for c in natural_keys(members)[0]] == ["project_key", "user_id"]


def test_values_are_encoded_in_one_form() -> None:
    table = TABLES_BY_NAME["todos"].table
    berlin = timezone(timedelta(hours=1))
    assert (
        encode(table.c.created_at, datetime(2026, 12, 1, 9, 30, tzinfo=berlin)) == "2026-12-01T08:30:00+00:00"
    )
    assert encode(table.c.created_at, datetime(2026, 12, 1, 8, 30)) == "2026-12-01T08:30:00+00:00"  # SQLite
    assert encode(table.c.due, date(2026, 12, 4)) == "2026-12-04"
    answers = TABLES_BY_NAME["answers"].table
    assert json.dumps(encode(answers.c.sources, [{"b": 1, "a": {"d": 2, "c": 3}}])) == (
        '[{"a": {"c": 3, "d": 2}, "b": 1}]'
    )


def _user_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": 1, "email": "a@x.example", "team_id": None, "slack_user_id": None, "display_name": "",
        "role": "ADMIN", "tz": None, "created_at": AT.isoformat(), "last_seen_at": None,
    }  # fmt: skip
    row.update(changes)
    return row


def _file(**tables: list[dict[str, object]]) -> str:
    return render("0011", AT, dict(tables))


def test_a_valid_file_parses_and_decodes() -> None:
    backup = parse(_file(users=[_user_row()], todos=[]))
    assert backup.schema_revision == "0011"
    assert backup.tables["users"][0]["created_at"] == AT
    assert backup.tables["credentials"] == []  # missing tables read as empty
    assert set(row_model(User.__table__).model_fields) == {c.name for c in User.__table__.columns}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "not an Agent PM export"),
        ("{", "not JSON"),
        (_file().replace('"version": 1', '"version": "1"'), "version"),
        (
            _file().replace('"exported_at": "2026-12-01T08:30:00+00:00"', '"exported_at": "2026-12-01"'),
            "exported_at",
        ),
        (_file(users=[_user_row(id="1")]), "table users, row 1: id"),
        (_file(users=[_user_row(id=True)]), "table users, row 1: id"),
        (_file(users=[_user_row(email=None)]), "table users, row 1: email"),
        (_file(users=[_user_row(role="A" * 17)]), "table users, row 1: role"),
        (_file(users=[_user_row(created_at=1764577800)]), "table users, row 1: created_at"),
        (_file(users=[_user_row(), {k: v for k, v in _user_row(id=2).items() if k != "tz"}]), "row 2: tz"),
    ],
)
def test_a_bad_file_is_refused_with_where(text: str, message: str) -> None:
    with pytest.raises(InvalidBackup) as refused:
        parse(text)
    assert message in str(refused.value)
