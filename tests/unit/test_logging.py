"""core.logging: secrets never reach a log line, whoever logs them."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from cryptography.fernet import Fernet

from core.context import request_context
from core.logging import REDACTED, configure_logging, get_logger, redact_processor, redact_text

SLACK_BOT = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_APP = "xapp-1-A0123456789-1234567890123-abcdef0123456789"
ATLASSIAN = "ATATT3xFfGF0aBcDeFgHiJkLmNoPqRsTuVwXyZ_0123456789=ABCDEF12"
OPENAI = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
PINECONE = "pcsk_2abcDEF_0123456789abcdefghijklmnopqrstu"


@pytest.mark.parametrize(
    ("template", "secret"),
    [
        ("posting with {}", SLACK_BOT),
        ("socket mode token {} failed", SLACK_APP),
        ("jira auth bot@example.com:{}", ATLASSIAN),
        ("openai key={}", OPENAI),
        ("openai key {} rejected", OPENAI),
        ("pinecone {} invalid", PINECONE),
        ("fernet key {} loaded", Fernet.generate_key().decode()),
        ("Authorization: Bearer {}", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"),
        ("Authorization: Basic {}", "Ym90QGV4YW1wbGUuY29tOmh1bnRlcjI="),
        ("connect with password={}", "hunter2-is-long"),
        ("GET /cb?code=1&token={}&x=1", "q1w2e3r4t5"),
        ("dsn postgresql://agentpm:{}@db:5432/agentpm", "s3cr3t-pw"),
        ("broker redis://default:{}@redis:6379/0", "r3d1s-pass"),
        ("broker redis://:{}@redis:6379/0", "r3d1s-pass"),
    ],
)
def test_redact_text_removes_secrets(template: str, secret: str) -> None:
    redacted = redact_text(template.format(secret))
    assert secret not in redacted
    assert REDACTED in redacted


@pytest.mark.parametrize(
    "url", ["postgresql://agentpm:pw-123@db:5432/agentpm", "redis://:pw-123@redis:6379/0"]
)
def test_url_credentials_keep_scheme_and_host(url: str) -> None:
    redacted = redact_text(url)
    assert "pw-123" not in redacted
    assert redacted.startswith(url.split("://")[0] + "://[REDACTED]")
    assert redacted.endswith(url.split("@")[1])


@pytest.mark.parametrize(
    "text",
    [
        "HDFS-1234 and PAY-7 are blocked",
        "fixed in 3f2a9c1e0b4d5a6f7e8d9c0b1a2f3e4d5c6b7a8f",
        "request 550e8400-e29b-41d4-a716-446655440000 done",
        "https://northwind.atlassian.net/browse/PAY-12",
        "synced 40 issues in 2 projects (1.2 s)",
        "user U0123ABCD in channel C0123ABCD",
        "",
    ],
)
def test_redact_text_leaves_ordinary_text_alone(text: str) -> None:
    assert redact_text(text) == text


def test_the_word_basic_in_prose_is_not_redacted() -> None:
    text = "Basic authentication is a basic requirement"
    assert redact_text(text) == text


def test_words_ending_in_sk_are_not_redacted() -> None:
    text = "branch feature/risk-assessment-dashboard, task-queue-improvements"
    assert redact_text(text) == text


def test_redact_processor_redacts_secret_keys_and_nested_values() -> None:
    event: dict[str, Any] = {
        "event": f"posting with {SLACK_BOT}",
        "token": "anything-at-all",
        "client_secret": "abc",
        "password": "p",
        "Authorization": "Bearer xyz",
        "headers": {"Authorization": "Basic Zm9vOmJhcg==", "Accept": "application/json"},
        "urls": ["https://ok.example/a", f"https://hooks.example/?token={SLACK_BOT}"],
        "nested": {"deeper": [{"api_key": "k"}, {"note": f"key {OPENAI}"}]},
        "issues": 40,
        "user": "U123",
        "empty_token": "",
    }
    out = redact_processor(None, "info", dict(event))
    assert out["token"] == out["client_secret"] == out["password"] == out["Authorization"] == REDACTED
    assert out["headers"] == {"Authorization": REDACTED, "Accept": "application/json"}
    assert out["urls"][0] == "https://ok.example/a"
    assert SLACK_BOT not in out["urls"][1]
    assert out["nested"]["deeper"][0] == {"api_key": REDACTED}
    assert OPENAI not in out["nested"]["deeper"][1]["note"]
    assert SLACK_BOT not in out["event"]
    assert out["issues"] == 40
    assert out["user"] == "U123"
    assert out["empty_token"] == ""
    assert SLACK_BOT in event["event"]  # the input is not mutated


def test_redact_processor_redacts_every_item_of_a_secret_list() -> None:
    out = redact_processor(None, "info", {"event": "x", "encryption_keys": ["k1", "k2"]})
    assert out["encryption_keys"] == [REDACTED, REDACTED]


@pytest.fixture
def json_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    yield
    configure_logging("console")
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    structlog.contextvars.clear_contextvars()


def json_lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


@pytest.mark.usefixtures("json_logging")
def test_json_logs_are_redacted_and_carry_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json")
    with request_context("req-abc123", user="U1"):
        get_logger("agentpm.test").info("slack.post", token=SLACK_BOT, note=f"used {SLACK_BOT}")
        logging.getLogger("x").warning("token %s refused", SLACK_BOT)
    get_logger("agentpm.test").info("after.request")

    out = capsys.readouterr()
    assert SLACK_BOT not in out.err
    assert out.out == ""
    structured, foreign, after = json_lines(out.err)

    assert structured["event"] == "slack.post"
    assert structured["token"] == REDACTED
    assert structured["note"] == f"used {REDACTED}"
    assert structured["request_id"] == "req-abc123"
    assert structured["user"] == "U1"
    assert structured["level"] == "info"
    assert structured["logger"] == "agentpm.test"
    assert "timestamp" in structured

    assert foreign["event"] == f"token {REDACTED} refused"
    assert foreign["level"] == "warning"
    assert foreign["logger"] == "x"
    assert foreign["request_id"] == "req-abc123"

    assert after["event"] == "after.request"
    assert "request_id" not in after


@pytest.mark.usefixtures("json_logging")
def test_exception_traces_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json")
    try:
        raise RuntimeError(f"slack said no to {SLACK_BOT}")
    except RuntimeError:
        get_logger("agentpm.test").exception("job.crashed", error_id="E1234ABCD")
    err = capsys.readouterr().err
    assert SLACK_BOT not in err
    (line,) = json_lines(err)
    assert line["error_id"] == "E1234ABCD"
    assert "RuntimeError" in str(line["exception"])
    assert REDACTED in str(line["exception"])


@pytest.mark.usefixtures("json_logging")
def test_level_filters_stdlib_and_structlog(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json", level=logging.WARNING)
    get_logger("agentpm.test").info("hidden")
    logging.getLogger("x").info("hidden too")
    get_logger("agentpm.test").warning("shown")
    assert [line["event"] for line in json_lines(capsys.readouterr().err)] == ["shown"]


@pytest.mark.usefixtures("json_logging")
def test_console_format_is_redacted_too(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("console")
    logging.getLogger("slack_sdk.web").warning("retrying with %s", SLACK_BOT)
    err = capsys.readouterr().err
    assert "retrying with [REDACTED]" in err
    assert SLACK_BOT not in err
