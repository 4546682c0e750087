"""HTTP server: Bolt on POST /slack/events, health, readiness and Prometheus metrics, on aiohttp."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from bot.app import BotApp
from bot.app import warm as warm_bot
from core.health import run_checks
from core.logging import get_logger
from core.metrics import ACK_LATENCY, DB_POOL_IN_USE, SLACK_REQUESTS

log = get_logger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # Slack payloads are far smaller; anything bigger is refused before parsing
APP_KEY: web.AppKey[BotApp] = web.AppKey("bot_app", BotApp)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",  # ignored over plain HTTP
}
OPS_PATHS = frozenset({"/metrics", "/api/v1/ready"})  # behind AGENTPM_OPS_TOKEN when it is set


def _harden(response: web.StreamResponse) -> web.StreamResponse:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    for name in [h for h in response.headers if h.lower().startswith("access-control-")]:
        del response.headers[name]  # no browser API: never CORS, whoever set it
    response.headers["Server"] = "agentpm"  # no framework or version banner
    return response


def _plain(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=text, headers=headers)


def _ops_authorized(request: web.Request) -> bool:
    token = request.app[APP_KEY].services.settings.agentpm_ops_token
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every response, errors included, gets the security headers; oversized bodies and unauthorised
    operations requests are refused before any work; an unexpected error is a short 500, its trace logged."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _harden(_plain(413, "request body too large"))
    if request.path in OPS_PATHS and not _ops_authorized(request):
        return _harden(_plain(401, "unauthorized", {"WWW-Authenticate": 'Bearer realm="agentpm"'}))
    try:
        response = await handler(request)
    except web.HTTPRequestEntityTooLarge:  # a chunked body that grew past the limit while being read
        response = _plain(413, "request body too large")
    except web.HTTPException as exc:  # 404, 405 (OPTIONS included: no CORS preflight is answered)
        kept = {k: v for k, v in exc.headers.items() if k.lower() not in ("content-type", "content-length")}
        response = _plain(exc.status, exc.reason.lower(), kept)
    except Exception:
        log.exception("http.unhandled", path=request.path, method=request.method)
        response = _plain(500, "internal error")
    return _harden(response)


async def slack_events(request: web.Request) -> web.Response:
    started = time.perf_counter()
    bot = request.app[APP_KEY]
    bolt_request = await to_bolt_request(request)
    bolt_response = await bot.bolt.async_dispatch(bolt_request)
    kind = str(bolt_request.context.get("agentpm_kind", "other"))
    ACK_LATENCY.labels(kind=kind).observe(time.perf_counter() - started)
    outcome = "duplicate" if bolt_request.context.get("agentpm_duplicate") else str(bolt_response.status)
    if bolt_response.status == 401:  # bad signature or stale timestamp: logged without the body
        log.warning("slack.request_rejected", remote=request.remote, bytes=len(bolt_request.raw_body or ""))
    SLACK_REQUESTS.labels(kind=kind, outcome=outcome).inc()
    response = await to_aiohttp_response(bolt_response)
    if "request_id" in bolt_request.context:
        response.headers["X-Request-ID"] = str(bolt_request.context["request_id"])
    return response


async def health(_request: web.Request) -> web.Response:
    """Liveness: the process answers; no I/O."""
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    """Readiness: every dependency, with latency; 503 when one is down."""
    bot = request.app[APP_KEY]
    report = await asyncio.to_thread(run_checks, bot.services.health_checks())
    return web.json_response(report.model_dump(), status=200 if report.status == "ok" else 503)


async def metrics(request: web.Request) -> web.Response:
    bot = request.app[APP_KEY]
    DB_POOL_IN_USE.set(bot.services.db.pool_status()["in_use"])
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def build_web_app(bot: BotApp) -> web.Application:
    app = web.Application(middlewares=[security_headers], client_max_size=MAX_BODY_BYTES)
    app[APP_KEY] = bot
    app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/api/v1/health", health)
    app.router.add_get("/api/v1/ready", ready)
    app.router.add_get("/metrics", metrics)

    oauth = bot.bolt.oauth_flow
    if oauth is not None:

        async def install(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await oauth.handle_installation(await to_bolt_request(request)))

        async def oauth_redirect(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await oauth.handle_callback(await to_bolt_request(request)))

        app.router.add_get(oauth.install_path, install)
        app.router.add_get(oauth.redirect_uri_path, oauth_redirect)

    async def warm(_app: web.Application) -> None:
        await warm_bot(bot)

    async def close(_app: web.Application) -> None:
        await bot.services.aclose()

    app.on_startup.append(warm)
    app.on_cleanup.append(close)
    return app
