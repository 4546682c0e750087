"""Structured logs: JSON in production, console in development, secrets redacted everywhere.

Standard-library loggers (Bolt, slack_sdk, Celery, SQLAlchemy) go through the same processors, so a token in a
third-party message is redacted as well.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[REDACTED]"

_SECRET_PATTERNS = [
    re.compile(r"xox[abposre]-[A-Za-z0-9-]{8,}"),  # Slack bot/user/config tokens
    re.compile(r"xapp-[A-Za-z0-9-]{8,}"),  # Slack app-level token
    re.compile(r"ATATT[A-Za-z0-9_=-]{16,}"),  # Atlassian API token
    re.compile(r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{16,}"),  # OpenAI keys (sk-…, sk-proj-…)
    re.compile(r"pcsk_[A-Za-z0-9_]{16,}"),  # Pinecone keys
    re.compile(
        r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}=(?![A-Za-z0-9_=-])"
    ),  # Fernet keys (urlsafe base64 of 32 B)
    # Authorization header values: a credential has digits or padding, prose after "basic" does not.
    re.compile(r"(?i)\b(?:bearer|basic)\s+(?=[A-Za-z._~+/-]*[0-9=])[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)(password|passwd|secret|token|api_key|apikey)=[^\s&;,]+"),  # query strings, DSNs
    re.compile(r"(?<=://)[^/\s:@]*:[^/\s@]+(?=@)"),  # credentials inside URLs (user may be empty)
]
_SECRET_KEYS = re.compile(r"(?i)(token|secret|password|passwd|api_key|apikey|authorization|encryption_keys)")


def redact_text(text: str) -> str:
    """Replace every secret-looking substring of ``text``."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def _redact_value(key: str, value: Any) -> Any:
    if isinstance(value, str):
        return REDACTED if _SECRET_KEYS.search(key) and value else redact_text(value)
    if isinstance(value, Mapping):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, v) for v in value]
    return value


def redact_processor(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: no token, key or password leaves the process in a log line."""
    out: MutableMapping[str, Any] = {}
    for key, value in event_dict.items():
        out[key] = _redact_value(key, value) if key != "event" else _redact_value("", value)
    if "exception" in out and isinstance(out["exception"], str):
        out["exception"] = redact_text(out["exception"])
    return dict(out)


def _render_exception_then_redact(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    return redact_processor(logger, method, structlog.processors.format_exc_info(logger, method, event_dict))


class DropRequestBodies(logging.Filter):
    """Bolt logs a rejected request's whole body at INFO; a rejected request is logged without it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("slack_bolt") and str(record.msg).startswith("Invalid request signature"):
            record.msg, record.args = "Invalid request signature detected (body not logged)", ()
        return True


def configure_logging(fmt: str = "console", level: int | str = logging.INFO) -> None:
    """Route structlog and the standard library through one redacting pipeline."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _render_exception_then_redact,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(DropRequestBodies())
    for name in ("slack_bolt.AsyncRequestVerification", "slack_bolt.RequestVerification"):
        bolt_logger = logging.getLogger(name)
        if not any(isinstance(f, DropRequestBodies) for f in bolt_logger.filters):
            bolt_logger.addFilter(DropRequestBodies())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for own in ("agentpm", "bot", "core", "tasks"):  # Celery sets a level on the logger named after its app
        logging.getLogger(own).setLevel(logging.NOTSET)
    for noisy in ("slack_bolt", "slack_sdk", "celery", "kombu", "amqp", "sqlalchemy.engine", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING if level == logging.INFO else level)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
