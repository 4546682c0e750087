"""Migrations on PostgreSQL: up, down, up again; models and migrations agree; processes refuse old schemas."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from bot.cli import main
from core.db import (
    models,  # noqa: F401  (registers the tables)
    schema,
)
from core.db.base import Base

pytestmark = pytest.mark.integration


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(pg_url: str) -> None:
    schema.upgrade(pg_url)
    assert tables(pg_url) >= {"projects", "jira_issues", "sync_states", "documents"}
    schema.downgrade(pg_url, "base")
    assert tables(pg_url) == set()
    schema.upgrade(pg_url)
    assert tables(pg_url) >= {"projects", "jira_issues", "sync_states", "documents"}


def test_models_and_migrations_agree(migrated_pg: str) -> None:
    engine = create_engine(migrated_pg)
    try:
        with engine.connect() as connection:
            from migrations.env_filters import include_object

            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": include_object}
            )
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_migrate_check_and_current_from_the_shell(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    runner = CliRunner()
    behind = runner.invoke(main, ["migrate", "check"])
    assert behind.exit_code == 1
    assert "not at head" in behind.output
    assert runner.invoke(main, ["migrate", "upgrade"]).exit_code == 0
    ok = runner.invoke(main, ["migrate", "check"])
    assert ok.exit_code == 0, ok.output
    assert f"head: {schema.head_revision(pg_url)}" in ok.output
    down = runner.invoke(main, ["migrate", "downgrade", "base"])
    assert down.exit_code == 0
    assert "current: none" in runner.invoke(main, ["migrate", "current"]).output


@pytest.mark.parametrize("command", ["serve", "worker", "beat"])
def test_processes_refuse_to_start_on_an_old_schema(
    command: str, pg_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    result = CliRunner().invoke(main, [command])
    assert result.exit_code == 1
    assert "run `agentpm migrate upgrade`" in result.output
    assert tables(pg_url) == set()  # and it did not migrate by itself
