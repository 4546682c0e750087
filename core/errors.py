"""Domain errors. The bot maps each to what a user sees; anything else is an internal error with an ID."""

from __future__ import annotations

import uuid


def new_error_id() -> str:
    """Short, quotable ID that links the user's message to the log line holding the trace."""
    return "E" + uuid.uuid4().hex[:8].upper()


class AgentPMError(Exception):
    """Base of errors whose message may be shown to the user as is."""

    user_message = "Something went wrong."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.user_message)
        self.user_message = message or self.user_message


class InvalidInput(AgentPMError):
    user_message = "That input is not valid."


class Forbidden(AgentPMError):
    user_message = "You do not have access to that."


class QueueUnavailable(AgentPMError):
    user_message = "Background jobs are unavailable right now; please try again in a minute."


class Retryable(AgentPMError):
    """A transient failure (rate limit, timeout, 5xx); the job runner retries it with backoff."""

    user_message = "A service we depend on is not answering; please try again shortly."

    def __init__(self, detail: str | None = None, retry_after: float | None = None) -> None:
        """``detail`` is for the log; the user sees the generic ``user_message``."""
        Exception.__init__(self, detail or self.user_message)
        self.user_message = type(self).user_message
        self.retry_after = retry_after
