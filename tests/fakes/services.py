"""Minimal HTTP fakes of Jira, OpenAI and Pinecone: just what the readiness checks call, over real HTTP."""

from __future__ import annotations

from typing import Any

from aiohttp import web


class FakeServices:
    """One aiohttp server for Jira `/serverInfo`, OpenAI `/v1/models` and Pinecone `/describe_index_stats`."""

    def __init__(self) -> None:
        self.down: set[str] = set()
        # Jira accounts by the Authorization header value they answer to.
        self.jira_accounts: dict[str, dict[str, str]] = {}
        self.seen_auth: dict[str, str] = {}
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/rest/api/2/serverInfo", self._jira)
        app.router.add_get("/rest/api/2/myself", self._myself)
        app.router.add_get("/v1/models", self._openai)
        app.router.add_post("/describe_index_stats", self._pinecone)
        app.router.add_get("/describe_index_stats", self._pinecone)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def _answer(self, name: str, request: web.Request, body: dict[str, Any]) -> web.Response:
        self.seen_auth[name] = request.headers.get("Authorization") or request.headers.get("Api-Key", "")
        if name in self.down:
            return web.json_response({"error": "unavailable"}, status=503)
        return web.json_response(body)

    async def _jira(self, request: web.Request) -> web.Response:
        return self._answer("jira", request, {"deploymentType": "Cloud", "version": "1001.0.0"})

    async def _myself(self, request: web.Request) -> web.Response:
        if "jira" in self.down:
            return web.json_response({"error": "unavailable"}, status=503)
        account = self.jira_accounts.get(request.headers.get("Authorization", ""))
        if account is None:
            return web.json_response({"errorMessages": ["Unauthorized"]}, status=401)
        return web.json_response(account)

    def add_jira_account(self, authorization: str, display_name: str, account_id: str = "acc-1") -> None:
        self.jira_accounts[authorization] = {"accountId": account_id, "displayName": display_name}

    async def _openai(self, request: web.Request) -> web.Response:
        models = [{"id": "text-embedding-3-small", "object": "model", "created": 0, "owned_by": "system"}]
        return self._answer("openai", request, {"object": "list", "data": models})

    async def _pinecone(self, request: web.Request) -> web.Response:
        stats = {"namespaces": {}, "dimension": 1536, "indexFullness": 0.0, "totalVectorCount": 0}
        return self._answer("pinecone", request, stats)
