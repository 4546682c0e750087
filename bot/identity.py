"""Who is asking: Slack user → users.info → email in an allowed domain → user row and role, cached briefly."""

from __future__ import annotations

import asyncio
import json

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core.cache import MemoryCache
from core.config import Settings
from core.db.session import Database
from core.errors import AgentPMError
from core.logging import get_logger
from core.ports import Cache
from core.users.identity import REFUSAL_MESSAGES, Profile, Refusal, check_profile
from core.users.service import Identity, IdentityConflict, resolve

log = get_logger(__name__)

# A deactivation or a guest conversion takes effect within this many seconds.
IDENTITY_TTL_SECONDS = 120
# In front of the shared cache, each process remembers answers this long (saves a Redis round trip on
# the ack path); a role change made in another process reaches this one within this delay.
LOCAL_TTL_SECONDS = 10.0
LOOKUP_TIMEOUT_SECONDS = 2  # slack_sdk takes whole seconds


class Refused(AgentPMError):
    """This user may not do this; ``refusal`` says why (the message is the refusal's)."""

    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal


def profile_from_slack(user: dict[str, object]) -> Profile:
    profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
    assert isinstance(profile, dict)  # noqa: S101  (narrowing for the type checker)
    return Profile(
        slack_user_id=str(user.get("id", "")),
        team_id=str(user["team_id"]) if user.get("team_id") else None,
        email=str(profile["email"]) if profile.get("email") else None,
        name=str(profile.get("display_name") or profile.get("real_name") or user.get("name") or ""),
        tz=str(user["tz"]) if user.get("tz") else None,
        is_bot=bool(user.get("is_bot")) or user.get("id") == "USLACKBOT",
        deleted=bool(user.get("deleted")),
        is_restricted=bool(user.get("is_restricted")),
        is_ultra_restricted=bool(user.get("is_ultra_restricted")),
    )


class IdentityService:
    def __init__(self, settings: Settings, db: Database, cache: Cache) -> None:
        self.settings = settings
        self.db = db
        self.cache = cache
        self._local = MemoryCache(max_keys=10_000)

    @staticmethod
    def _key(team_id: str | None, user_id: str) -> str:
        return f"identity:{team_id or '-'}:{user_id}"

    async def profile(self, user_id: str, client: AsyncWebClient) -> Profile:
        """``users.info`` with the request's token (the installation's in multi-workspace mode).

        This runs before the ack on a cache miss, so it gets a short timeout and no retries: a slow or
        rate-limited Slack means a clear "try again" rather than a missed 3-second deadline.
        """
        quick = AsyncWebClient(
            token=client.token,
            base_url=client.base_url,
            timeout=LOOKUP_TIMEOUT_SECONDS,
            session=client.session,
            retry_handlers=[],
        )
        try:
            response = await quick.users_info(user=user_id)
        except SlackApiError as exc:
            if exc.response.get("error") == "user_not_found":
                raise Refused(
                    Refusal.OTHER_WORKSPACE, "I can't find that Slack user in this workspace."
                ) from exc
            raise
        user = response.get("user")
        return profile_from_slack(user if isinstance(user, dict) else {})

    async def identify(self, team_id: str | None, user_id: str, client: AsyncWebClient) -> Identity:
        """The caller's identity, or ``Refused``; cached (refusals too) for ``IDENTITY_TTL_SECONDS``."""
        key = self._key(team_id, user_id)
        cached = await self._local.get(key)
        if cached is None:
            cached = await self.cache.get(key)
            if cached is not None:
                await self._local.set(key, cached, LOCAL_TTL_SECONDS)
        if cached is not None:
            data = json.loads(cached)
            if "refusal" in data:
                raise Refused(Refusal(data["refusal"]), data["message"])
            return Identity.model_validate(data)
        try:
            profile = await self.profile(user_id, client)
        except Refused:
            raise
        except Exception as exc:  # Slack unreachable: fail closed, say so, do not cache
            log.warning("identity.lookup_failed", error=type(exc).__name__)
            raise Refused(Refusal.UNVERIFIED, REFUSAL_MESSAGES[Refusal.UNVERIFIED]) from exc
        refusal = check_profile(profile, team_id, self.settings.agentpm_allowed_domains)
        if refusal is not None:
            message = REFUSAL_MESSAGES[refusal]
            await self.cache.set(
                key, json.dumps({"refusal": refusal.value, "message": message}), IDENTITY_TTL_SECONDS
            )
            raise Refused(refusal, message)
        try:
            identity = await asyncio.to_thread(self._resolve, profile)
        except IdentityConflict as exc:
            raise Refused(Refusal.IDENTITY_CONFLICT, REFUSAL_MESSAGES[Refusal.IDENTITY_CONFLICT]) from exc
        await self.cache.set(key, identity.model_dump_json(), IDENTITY_TTL_SECONDS)
        return identity

    def _resolve(self, profile: Profile) -> Identity:
        with self.db.session() as session:
            return resolve(session, profile, self.settings)

    async def forget(self, team_id: str | None, user_id: str) -> None:
        """After a role change: the next request reads the new role."""
        await self._local.delete(self._key(team_id, user_id))
        await self.cache.delete(self._key(team_id, user_id))
