"""Checking a person's Jira credentials with `/myself` before they are stored."""

from __future__ import annotations

import base64

import aiohttp
from pydantic import BaseModel

from core.errors import AgentPMError, Retryable

VERIFY_TIMEOUT_SECONDS = 2.5  # inside a modal submission, which Slack gives 3 seconds


class JiraAccount(BaseModel):
    account_id: str
    display_name: str
    email: str | None = None


class JiraAuthError(AgentPMError):
    user_message = "Jira did not accept those credentials."


class JiraCredentialRejected(JiraAuthError):
    """A person's stored credential that Jira no longer accepts (revoked token, password change): only they
    can fix it, so the message says how."""

    user_message = (
        "Jira no longer accepts your connected account (the token may have been revoked or expired). "
        "Connect it again with `/pm connect jira`."
    )


class JiraUnavailable(Retryable):
    user_message = "Jira is not answering right now; please try again in a minute."


def auth_header(email: str | None, token: str) -> dict[str, str]:
    """Cloud: email + API token as Basic auth; Data Center: a personal access token as Bearer."""
    if email:
        return {"Authorization": "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()}
    return {"Authorization": f"Bearer {token}"}


async def verify(base_url: str, email: str | None, token: str) -> JiraAccount:
    url = base_url.rstrip("/") + "/rest/api/2/myself"
    timeout = aiohttp.ClientTimeout(total=VERIFY_TIMEOUT_SECONDS)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(url, headers={"Accept": "application/json", **auth_header(email, token)}) as response,
        ):
            if response.status in (401, 403):
                raise JiraAuthError()
            if response.status == 404:
                raise JiraAuthError("That Jira site has no such account endpoint; check JIRA_BASE_URL.")
            if response.status >= 400:
                raise JiraUnavailable(f"Jira /myself answered HTTP {response.status}")
            data = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise JiraUnavailable(f"Jira /myself: {type(exc).__name__}") from exc
    return JiraAccount(
        account_id=str(data.get("accountId") or data.get("key") or data.get("name") or ""),
        display_name=str(data.get("displayName") or data.get("name") or ""),
        email=data.get("emailAddress"),
    )
