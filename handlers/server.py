"""``madoguchi serve``: Socket Mode or HTTP (aiohttp), plus /healthz and /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable

import aiohttp
import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.heap import settle_after_startup
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings, SettingsError
from handlers.app import build_app
from handlers.library import start_digest_scheduler
from handlers.oauth import add_oauth_routes

log = structlog.get_logger("madoguchi.server")


def web_app(app: AsyncApp, runtime: Runtime, *, slack_events: bool = True) -> web.Application:
    """The aiohttp application: ``POST /slack/events`` (HTTP mode), ``/healthz``, ``/metrics``."""
    web_application = web.Application()

    async def events(request: web.Request) -> web.Response:
        if runtime.in_flight.draining:
            # Shutting down: refuse before the event id is claimed, so Slack's retry (or the
            # load balancer's next instance) gets it and nothing is lost.
            return web.json_response(
                {"error": "shutting down"}, status=503, headers={"Retry-After": "5"}
            )
        try:
            bolt_request = await to_bolt_request(request)
        except ValueError:
            # A body Slack would never send (bolt parses before it verifies the signature).
            log.warning("slack.malformed_request")
            return web.json_response({"error": "malformed request"}, status=400)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    async def healthz(_request: web.Request) -> web.Response:
        ok = await runtime.db.ping()
        return web.json_response(
            {"status": "ok" if ok else "database unreachable"}, status=200 if ok else 503
        )

    async def readyz(_request: web.Request) -> web.Response:
        # Ready = may be sent new work: not shutting down and the database answers.
        # (Redis is not required: without it the database decides, see bot.coordination.)
        if not runtime.in_flight.ready or runtime.in_flight.draining:
            return web.json_response(
                {"status": "shutting down", "in_flight": len(runtime.in_flight)}, status=503
            )
        ok = await runtime.db.ping()
        return web.json_response(
            {"status": "ok" if ok else "database unreachable", "in_flight": len(runtime.in_flight)},
            status=200 if ok else 503,
        )

    async def livez(_request: web.Request) -> web.Response:
        # Alive = the event loop answers; a database outage must not get instances restarted.
        return web.json_response({"status": "ok"})

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    if slack_events:
        web_application.router.add_post("/slack/events", events)
    if app.oauth_flow is not None:
        add_oauth_routes(web_application, app)
    web_application.router.add_get("/readyz", readyz)
    web_application.router.add_get("/livez", livez)
    web_application.router.add_get("/healthz", healthz)
    web_application.router.add_get("/metrics", metrics)
    return web_application


#: Connections to the chat API at once, per instance.
SLACK_CONNECTIONS = 1_000
#: Connections waiting to be accepted (see ``_serve``).
LISTEN_BACKLOG = 4_096


def serve(settings: Settings, *, http: bool, host: str | None, port: int | None) -> int:
    """Run until SIGINT/SIGTERM."""
    if not http and settings.missing("slack_app_token"):
        raise SettingsError(
            "設定エラー / missing setting: SLACK_APP_TOKEN (Socket Mode; or use --http)"
        )
    with asyncio.Runner(loop_factory=_loop_factory(settings.event_loop)) as runner:
        return runner.run(
            _serve(
                settings,
                http=http,
                host=host or settings.http_host,
                port=port or settings.http_port,
            )
        )


def _loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (``auto``): streaming hundreds of answers at once is mostly
    socket reads and writes, which it does for a fraction of the standard loop's CPU."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise SettingsError("MADOGUCHI_EVENT_LOOP=uvloop, but uvloop is not installed") from None
        return None
    return uvloop.new_event_loop


async def _serve(settings: Settings, *, http: bool, host: str, port: int) -> int:
    runtime = await build_runtime(settings)
    settle_after_startup()
    # aiohttp's default of 100 connections would queue the chat calls of an instance streaming
    # hundreds of answers (each has a placeholder, updates and a final message in flight); the
    # model client allows 1,000 (the openai SDK's default), so does this one.
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=SLACK_CONNECTIONS))
    app = build_app(runtime, require_signing_secret=http, session=session)
    runner = web.AppRunner(web_app(app, runtime, slack_events=http), access_log=None)
    await runner.setup()
    # A burst of new connections (a load balancer after a restart, hundreds of events at once)
    # while the loop is busy overflows aiohttp's default backlog of 128; every connection the
    # kernel drops then costs its sender a 1 s (then 3 s) SYN retransmit, and Slack wants its
    # acknowledgement within 3 s. The kernel caps this at net.core.somaxconn.
    await web.TCPSite(runner, host, port, backlog=LISTEN_BACKLOG).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    socket_handler = None
    if not http:
        from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

        socket_handler = AsyncSocketModeHandler(app, settings.secret("slack_app_token"))
        await socket_handler.connect_async()
    # The weekly digest's clock (bot/schedule.py); the database decides what is posted.
    digest_scheduler = await start_digest_scheduler(runtime, app.client)
    log.info("serve.started", mode="http" if http else "socket", host=host, port=port)
    await stop.wait()
    log.info("serve.stopping")
    await digest_scheduler.shutdown()
    # Graceful shutdown: not ready first (load balancers stop sending), stop taking events,
    # finish the answers in flight (or close them with a final message), then exit.
    # A second signal cuts the wait short.
    hurry = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, hurry.set)
    runtime.in_flight.ready = False
    if socket_handler is not None:
        await socket_handler.close_async()
    if settings.shutdown_delay_seconds > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(hurry.wait(), settings.shutdown_delay_seconds)
    await runtime.in_flight.drain(settings.shutdown_grace_seconds, hurry=hurry)
    await runner.cleanup()
    await session.close()
    await runtime.aclose()
    return 0
