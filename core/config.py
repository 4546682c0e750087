"""One settings class for every variable in the operator contract.

Secrets may be given directly or as ``NAME_FILE=/path`` (Docker/Kubernetes secrets). Production refuses to
start on missing or weak secrets; development generates throwaway ones and says so.
"""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from cryptography.fernet import Fernet
from dotenv import dotenv_values
from pydantic import Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

SECRET_FIELDS = (
    "slack_bot_token",
    "slack_signing_secret",
    "slack_app_token",
    "slack_client_secret",
    "jira_api_token",
    "openai_api_key",
    "pinecone_api_key",
    "agentpm_encryption_keys",
    "database_url",
    "redis_url",
    "celery_broker_url",
    "agentpm_ops_token",
)

# Values seen in examples and tutorials; a deployment using one of them is not secret at all.
_PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "test", "example", "xxx", "todo", "dummy"}


class Env(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Role(StrEnum):
    ADMIN = "ADMIN"
    USER = "USER"
    NO_ACCESS = "NO_ACCESS"


class ConfigError(Exception):
    """Settings that must stop start-up; the message is one line for the operator."""


class FileSecretsSource(PydanticBaseSettingsSource):
    """Reads ``NAME_FILE=/path`` for every secret, from the environment or the ``.env`` file."""

    def __init__(self, settings_cls: type[BaseSettings], env_file: str | None) -> None:
        super().__init__(settings_cls)
        self._dotenv: dict[str, str | None] = {}
        if env_file and Path(env_file).is_file():
            self._dotenv = dict(dotenv_values(env_file))

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in SECRET_FIELDS:
            var = f"{name.upper()}_FILE"
            path = os.environ.get(var) or self._dotenv.get(var)
            if not path:
                continue
            try:
                values[name] = Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{var} points to {path!r}, which cannot be read ({exc.strerror})") from exc
        return values


class Settings(BaseSettings):
    """Every environment variable of the contract, typed, with the contract's defaults."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    agentpm_env: Env = Env.DEVELOPMENT
    database_url: str = "sqlite:///./agentpm.db"
    redis_url: str | None = None
    celery_broker_url: str | None = None

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_api_url: str = "https://slack.com/api/"

    jira_base_url: str | None = None
    jira_email: str | None = None
    jira_api_token: str | None = None
    jira_projects: Annotated[list[str], NoDecode] = Field(default_factory=list)
    jira_sync_interval_minutes: int = Field(default=10, ge=1, le=1440)
    jira_deployment: str | None = None  # cloud | datacenter; unset: asked from /serverInfo

    openai_api_key: str | None = None
    openai_base_url: str | None = None
    agentpm_embedding_model: str = "text-embedding-3-small"
    # Shorter vectors from text-embedding-3 models (e.g. to match an existing index); unset: the model's own.
    agentpm_embedding_dimensions: int | None = Field(default=None, ge=1, le=20000)
    agentpm_chat_model: str = "gpt-4o-mini"

    pinecone_api_key: str | None = None
    pinecone_index_host: str | None = None
    # One namespace per deployment: documents are not per Slack workspace (see core/search/pinecone_index.py).
    pinecone_namespace: str = Field(default="default", pattern=r"^[A-Za-z0-9_.-]{1,64}$")

    agentpm_allowed_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)
    agentpm_bootstrap_admins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    agentpm_default_role: Role = Role.USER
    agentpm_encryption_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    agentpm_log_format: str | None = None
    # Per command class, per user[:per workspace], e.g. "search=10/minute:100/minute;llm=5/minute".
    agentpm_rate_limits: str | None = None

    # Engine pool: sized for one web process or one worker; the sum over processes must fit max_connections.
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=5, ge=0)
    db_pool_timeout: float = Field(default=10.0, gt=0)
    db_pool_recycle: int = Field(default=1800, ge=-1)
    agentpm_worker_metrics_port: int | None = None
    agentpm_job_soft_time_limit: int = Field(default=300, ge=1)
    # Indexed channel messages older than this many days are purged (a channel's own setting wins).
    agentpm_channel_retention_days: int | None = Field(default=None, ge=1, le=36500)
    # Bearer token for GET /metrics and /api/v1/ready; unset: open (keep them on a private network then).
    agentpm_ops_token: str | None = None

    generated: list[str] = Field(default_factory=list, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        env_file = settings_cls.model_config.get("env_file")
        files = FileSecretsSource(settings_cls, env_file if isinstance(env_file, str) else None)
        return (init_settings, env_settings, files, dotenv_settings)

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any, info: Any) -> Any:
        """``JIRA_EMAIL=`` (set but empty) means unset, for every variable."""
        if isinstance(value, str) and value.strip() == "":
            field = cls.model_fields[info.field_name]
            return field.get_default(call_default_factory=True)
        return value

    @field_validator(
        "jira_projects",
        "agentpm_allowed_domains",
        "agentpm_bootstrap_admins",
        "agentpm_encryption_keys",
        mode="before",
    )
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("agentpm_allowed_domains", "agentpm_bootstrap_admins", mode="after")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.lower() for v in value]

    @field_validator("jira_projects", mode="after")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return [v.upper() for v in value]

    @property
    def production(self) -> bool:
        return self.agentpm_env is Env.PRODUCTION

    @property
    def broker_url(self) -> str | None:
        return self.celery_broker_url or self.redis_url

    @property
    def log_format(self) -> str:
        return self.agentpm_log_format or ("json" if self.production else "console")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _weak(value: str, min_length: int) -> bool:
    lowered = value.lower()
    return len(value) < min_length or lowered in _PLACEHOLDERS or len(set(value)) < 6


def _valid_fernet(key: str) -> bool:
    try:
        Fernet(key.encode())
    except (ValueError, TypeError):
        return False
    return True


def production_problems(settings: Settings) -> list[str]:
    """What keeps these settings from running in production (empty when they may)."""
    problems: list[str] = []
    secret = settings.slack_signing_secret
    if not secret:
        problems.append("SLACK_SIGNING_SECRET is missing")
    elif _weak(secret, 24):
        problems.append("SLACK_SIGNING_SECRET is weak (use the app's signing secret)")
    if not settings.slack_bot_token and not (settings.slack_client_id and settings.slack_client_secret):
        problems.append("SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) is missing")
    elif settings.slack_bot_token and not settings.slack_bot_token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN is not a bot token (xoxb-…)")
    keys = settings.agentpm_encryption_keys
    if not keys:
        problems.append("AGENTPM_ENCRYPTION_KEYS is missing")
    elif not all(_valid_fernet(k) for k in keys):
        problems.append("AGENTPM_ENCRYPTION_KEYS holds a value that is not a Fernet key")
    elif any(_weak(k, 44) or len(set(k)) < 16 for k in keys):
        problems.append("AGENTPM_ENCRYPTION_KEYS holds a weak key (generate one with Fernet.generate_key())")
    if not settings.agentpm_allowed_domains:
        problems.append("AGENTPM_ALLOWED_DOMAINS is missing")
    if settings.jira_base_url and not settings.jira_api_token:
        problems.append("JIRA_API_TOKEN is missing while JIRA_BASE_URL is set")
    if settings.agentpm_ops_token and _weak(settings.agentpm_ops_token, 24):
        problems.append("AGENTPM_OPS_TOKEN is weak (use 24 or more random characters)")
    if settings.pinecone_api_key and not settings.pinecone_index_host:
        problems.append("PINECONE_INDEX_HOST is missing while PINECONE_API_KEY is set")
    return problems


def load_settings(**overrides: Any) -> Settings:
    """Build the settings; in production fail on weak secrets, in development fill in throwaway ones."""
    settings = Settings(**overrides)
    if settings.production:
        problems = production_problems(settings)
        if problems:
            raise ConfigError("refusing to start in production: " + "; ".join(problems))
        return settings
    if not settings.slack_signing_secret:
        settings.slack_signing_secret = secrets.token_hex(16)
        settings.generated.append("SLACK_SIGNING_SECRET")
    if not settings.agentpm_encryption_keys:
        settings.agentpm_encryption_keys = [Fernet.generate_key().decode()]
        settings.generated.append("AGENTPM_ENCRYPTION_KEYS")
    return settings
