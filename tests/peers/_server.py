"""Shared lifecycle for the local protocol peers (aiohttp.web servers on loopback).

Both fakes run inside the caller's event loop (cheap, inspectable from the test) or, for
benchmarks, in a child process (see ``tests.peers.process``). Nothing here spawns threads:
every request is a coroutine, so a peer can hold thousands of open streams.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from aiohttp import web

# Large enough for files_upload_v2 tests with multi-MB bodies; aiohttp's default is 1 MiB.
_CLIENT_MAX_SIZE = 64 * 1024 * 1024


class PeerServer:
    """Base class: owns the aiohttp runner, the bound address and a change notifier."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.host: str = "127.0.0.1"
        self.port: int = 0
        self.in_flight: int = 0
        self.max_in_flight: int = 0
        # Replaced (after being set) on every recorded change, so waiters can block on it
        # without polling. Created lazily: the peer may be constructed outside a loop.
        self._changed: asyncio.Event | None = None

    # -- subclass hooks ---------------------------------------------------------------
    def _build_app(self) -> web.Application:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        """Bind and start serving; ``port=0`` picks a free port (read it from ``.port``)."""
        if self._runner is not None:
            raise RuntimeError("peer already started")
        app = self._build_app()
        # handler_cancellation: when a client gives up (timeout, cancelled stream) the
        # handler task is cancelled too, so a Hang() or a long stream does not linger.
        # shutdown_timeout: stop() must not wait 60 s for hung handlers.
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None
        )
        await runner.setup()
        # backlog: 1,000 clients connecting at once overflow the default of 128 and the
        # kernel then drops SYNs, which shows up as 1 s connect stalls in benchmarks.
        site = web.TCPSite(runner, host, port, backlog=4096)
        await site.start()
        self._runner = runner
        sockname = runner.addresses[0]
        self.host, self.port = sockname[0], int(sockname[1])
        return self

    async def stop(self) -> None:
        """Stop serving and cancel handlers still running. Idempotent."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def root_url(self) -> str:
        """``http://host:port`` with no trailing slash."""
        if self._runner is None:
            raise RuntimeError("peer not started")
        return f"http://{self.host}:{self.port}"

    # -- change notification --------------------------------------------------------------
    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def _wait_until(
        self,
        check: Callable[[], Any],
        timeout: float,  # noqa: ASYNC109 - a deadline for a condition, not a cancel scope
        what: str,
    ) -> Any:
        """Return ``check()`` once truthy; raise ``TimeoutError`` naming ``what``."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            if self._changed is None:
                self._changed = asyncio.Event()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    def _enter(self) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        self.in_flight -= 1


def new_app() -> web.Application:
    """An aiohttp Application with the peers' common settings."""
    return web.Application(client_max_size=_CLIENT_MAX_SIZE)
