"""The digest jobs: the beat's every-minute tick and `/pm digest now`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from core.digests.delivery import digest_now, run_due
from core.errors import InvalidInput
from core.jobs.context import JobContext
from core.notices import ReplyTarget

TICK_BUDGET_SECONDS = 40.0  # stop claiming new work before the tick's 50 s soft limit; the next tick goes on


def digest_tick(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Deliver what is due now (``payload["at"]``, an ISO instant, replays a given minute)."""
    at = datetime.now(UTC)
    if payload.get("at"):
        try:
            at = datetime.fromisoformat(str(payload["at"]))
        except ValueError as exc:
            raise InvalidInput(f"`{str(payload['at'])[:40]}` is not an ISO-8601 instant.") from exc
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
    run_due(ctx, at, budget_seconds=TICK_BUDGET_SECONDS)


class DigestNowRequest(BaseModel):
    channel: str = Field(min_length=1, max_length=32)
    requester: str | None = Field(default=None, max_length=32)
    team_id: str | None = Field(default=None, max_length=32)
    tz: str | None = Field(default=None, max_length=64)
    target: ReplyTarget  # where a failure is reported (privately to the requester)


def digest_now_job(ctx: JobContext, payload: dict[str, Any]) -> None:
    """`/pm digest now`: post the channel's digest there at once."""
    request = DigestNowRequest.model_validate(payload)
    digest_now(ctx, request.channel, team_id=request.team_id, requester=request.requester, tz=request.tz)
