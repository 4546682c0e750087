"""Unit-tier fixtures: an environment free of the operator's variables and a throwaway SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import core.db.models  # noqa: F401  (registers the tables on Base.metadata)
from core.config import SECRET_FIELDS, Settings
from core.db.base import Base
from core.db.session import Database, make_engine


def contract_variables() -> list[str]:
    """Every environment variable Settings reads, and the ``NAME_FILE`` variant of every secret."""
    names = [name.upper() for name in Settings.model_fields if name != "generated"]
    return names + [f"{name.upper()}_FILE" for name in SECRET_FIELDS]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No contract variable set and no ``.env`` in the working directory."""
    for var in contract_variables():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def db(clean_env: Path) -> Iterator[Database]:
    """A real SQLite database with every table created."""
    engine = make_engine(Settings(database_url=f"sqlite:///{clean_env}/t.db"))
    Base.metadata.create_all(engine)
    database = Database(engine)
    yield database
    database.dispose()
