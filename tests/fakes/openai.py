"""A fake OpenAI chat-completions endpoint over HTTP, so the real `openai` client runs in tests."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from bot.localserver import LocalServer


class FakeOpenAI(LocalServer):
    """Answers `POST /v1/chat/completions` with ``reply`` (or fails with ``status``); records the requests."""

    def __init__(self) -> None:
        super().__init__()
        self.reply = "Nothing."
        self.status = 200
        self.requests: list[dict[str, Any]] = []

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1"

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        if self.status != 200:
            error = {"error": {"message": "unavailable", "type": "server_error"}}
            return web.json_response(error, status=self.status)
        message = {"role": "assistant", "content": self.reply}
        message = {"role": "assistant", "content": self.reply}
        return web.json_response(
            {
                "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", "gpt-4o-mini"),
                "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )  # fmt: skip
