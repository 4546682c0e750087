"""core.config: the operator contract, its defaults, ``NAME_FILE`` secrets and the production refusals."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from core.config import ConfigError, Env, Role, Settings, load_settings

pytestmark = pytest.mark.usefixtures("clean_env")


def valid_production(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "agentpm_env": "production",
        "slack_signing_secret": secrets.token_hex(16),
        "slack_bot_token": "xoxb-1234567890-0987654321-" + secrets.token_hex(12),
        "agentpm_encryption_keys": [Fernet.generate_key().decode()],
        "agentpm_allowed_domains": ["example.com"],
    }
    values.update(overrides)
    return values


def test_defaults_when_nothing_is_configured() -> None:
    s = Settings()
    assert s.agentpm_env is Env.DEVELOPMENT
    assert not s.production
    assert s.database_url == "sqlite:///./agentpm.db"
    assert s.is_sqlite
    assert s.redis_url is None
    assert s.broker_url is None
    assert s.jira_projects == []
    assert s.jira_sync_interval_minutes == 10
    assert s.agentpm_default_role is Role.USER
    assert s.agentpm_embedding_model == "text-embedding-3-small"
    assert s.log_format == "console"
    assert s.slack_api_url == "https://slack.com/api/"


def test_production_logs_json_unless_told_otherwise() -> None:
    assert Settings(agentpm_env="production").log_format == "json"
    assert Settings(agentpm_env="production", agentpm_log_format="console").log_format == "console"


def test_broker_falls_back_to_redis_url() -> None:
    assert Settings(redis_url="redis://r:6379/0").broker_url == "redis://r:6379/0"
    assert (
        Settings(redis_url="redis://r:6379/0", celery_broker_url="redis://b:6379/1").broker_url
        == "redis://b:6379/1"
    )


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@db/agentpm")
    monkeypatch.setenv("JIRA_SYNC_INTERVAL_MINUTES", "15")
    s = Settings()
    assert s.database_url == "postgresql+psycopg://u@db/agentpm"
    assert not s.is_sqlite
    assert s.jira_sync_interval_minutes == 15


def test_set_but_empty_variable_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_EMAIL", "")
    monkeypatch.setenv("REDIS_URL", "   ")
    monkeypatch.setenv("DATABASE_URL", "")
    s = Settings()
    assert s.jira_email is None
    assert s.redis_url is None
    assert s.database_url == "sqlite:///./agentpm.db"


def test_dotenv_in_working_directory_is_read(clean_env: Path) -> None:
    (clean_env / ".env").write_text("JIRA_EMAIL=bot@example.com\nJIRA_BASE_URL=\n", encoding="utf-8")
    s = Settings()
    assert s.jira_email == "bot@example.com"
    assert s.jira_base_url is None


def test_comma_lists_are_split_and_cased() -> None:
    s = Settings(
        jira_projects=" pay, ops ,,web ",
        agentpm_allowed_domains="Example.COM, Corp.Example.org",
        agentpm_bootstrap_admins="Alice@Example.com",
    )
    assert s.jira_projects == ["PAY", "OPS", "WEB"]
    assert s.agentpm_allowed_domains == ["example.com", "corp.example.org"]
    assert s.agentpm_bootstrap_admins == ["alice@example.com"]


@pytest.mark.parametrize(
    ("var", "value", "field", "expected"),
    [
        ("JIRA_PROJECTS", "pay, ops", "jira_projects", ["PAY", "OPS"]),
        ("JIRA_PROJECTS", "PAY", "jira_projects", ["PAY"]),
        ("JIRA_PROJECTS", "", "jira_projects", []),
        ("AGENTPM_ALLOWED_DOMAINS", "Example.COM,b.org", "agentpm_allowed_domains", ["example.com", "b.org"]),
    ],
)
def test_comma_lists_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, field: str, expected: list[str]
) -> None:
    monkeypatch.setenv(var, value)
    assert getattr(Settings(), field) == expected


def test_out_of_range_interval_is_rejected() -> None:
    with pytest.raises(ValueError, match="jira_sync_interval_minutes"):
        Settings(jira_sync_interval_minutes=0)


def test_secret_from_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    token_file = tmp_path / "bot_token"
    token_file.write_text("xoxb-from-a-file\n", encoding="utf-8")
    db_file = tmp_path / "db_url"
    db_file.write_text("postgresql+psycopg://agentpm:pw@db/agentpm", encoding="utf-8")
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("DATABASE_URL_FILE", str(db_file))
    s = Settings()
    assert s.slack_bot_token == "xoxb-from-a-file"
    assert s.database_url == "postgresql+psycopg://agentpm:pw@db/agentpm"


def test_secret_file_named_in_dotenv(clean_env: Path) -> None:
    secret = clean_env / "signing"
    secret.write_text("s" * 4 + secrets.token_hex(16), encoding="utf-8")
    (clean_env / ".env").write_text(f"SLACK_SIGNING_SECRET_FILE={secret}\n", encoding="utf-8")
    assert Settings().slack_signing_secret == secret.read_text(encoding="utf-8")


def test_unreadable_secret_file_is_a_config_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "token"
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(missing))
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN_FILE") as info:
        Settings()
    assert str(missing) in str(info.value)


def test_valid_production_config_starts() -> None:
    s = load_settings(**valid_production())
    assert s.production
    assert s.generated == []


def test_valid_production_with_oauth_instead_of_bot_token() -> None:
    values = valid_production(slack_bot_token=None, slack_client_id="123.456", slack_client_secret="x" * 32)
    assert load_settings(**values).slack_bot_token is None


def test_production_refuses_with_nothing_configured() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(agentpm_env="production")
    message = str(info.value)
    assert message.startswith("refusing to start in production")
    for item in (
        "SLACK_SIGNING_SECRET is missing",
        "SLACK_BOT_TOKEN",
        "AGENTPM_ENCRYPTION_KEYS is missing",
        "AGENTPM_ALLOWED_DOMAINS is missing",
    ):
        assert item in message


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"slack_signing_secret": None}, "SLACK_SIGNING_SECRET is missing"),
        ({"slack_signing_secret": "changeme"}, "SLACK_SIGNING_SECRET is weak"),
        ({"slack_signing_secret": "a" * 40}, "SLACK_SIGNING_SECRET is weak"),
        ({"slack_bot_token": "xoxp-1234567890-user-token"}, "SLACK_BOT_TOKEN is not a bot token"),
        (
            {"slack_bot_token": None},
            "SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) is missing",
        ),
        ({"agentpm_encryption_keys": []}, "AGENTPM_ENCRYPTION_KEYS is missing"),
        ({"agentpm_encryption_keys": ["not-a-fernet-key"]}, "not a Fernet key"),
        ({"agentpm_encryption_keys": ["A" * 43 + "="]}, "AGENTPM_ENCRYPTION_KEYS holds a weak key"),
        ({"agentpm_allowed_domains": []}, "AGENTPM_ALLOWED_DOMAINS is missing"),
        ({"jira_base_url": "https://x.atlassian.net"}, "JIRA_API_TOKEN is missing"),
        ({"pinecone_api_key": "pcsk_" + "k" * 30}, "PINECONE_INDEX_HOST is missing"),
    ],
)
def test_production_names_each_problem(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(**valid_production(**overrides))
    message = str(info.value)
    assert expected in message
    assert message.count(";") == 0  # exactly one problem, named alone


def test_production_refusal_never_echoes_the_weak_secret() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(**valid_production(slack_signing_secret="password"))
    assert "password" not in str(info.value).replace("SLACK_SIGNING_SECRET", "")


def test_rotated_keys_all_checked() -> None:
    good = Fernet.generate_key().decode()
    with pytest.raises(ConfigError, match="not a Fernet key"):
        load_settings(**valid_production(agentpm_encryption_keys=[good, "short"]))
    assert load_settings(**valid_production(agentpm_encryption_keys=[good, Fernet.generate_key().decode()]))


def test_development_generates_throwaway_secrets() -> None:
    s = load_settings()
    assert sorted(s.generated) == ["AGENTPM_ENCRYPTION_KEYS", "SLACK_SIGNING_SECRET"]
    assert s.slack_signing_secret
    assert len(s.slack_signing_secret) >= 32
    assert len(s.agentpm_encryption_keys) == 1
    Fernet(s.agentpm_encryption_keys[0].encode())  # a usable key
    assert load_settings().slack_signing_secret != s.slack_signing_secret


def test_development_keeps_given_secrets() -> None:
    key = Fernet.generate_key().decode()
    s = load_settings(slack_signing_secret="given-secret-value", agentpm_encryption_keys=[key])
    assert s.generated == []
    assert s.slack_signing_secret == "given-secret-value"
    assert s.agentpm_encryption_keys == [key]


def test_generated_is_not_part_of_the_dump() -> None:
    assert "generated" not in load_settings().model_dump()
