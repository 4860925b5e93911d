"""The bot under test: the real runtime and slack-bolt app, served over HTTP, wired to the local
Slack-compatible and OpenAI-compatible peers. Used by the integration tests and the benchmarks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.usage import UsageEvent
from handlers.app import build_app
from handlers.server import web_app
from tests.peers import EventResponse, FakeOpenAI, FakeSlackAPI, post_event

SIGNING_SECRET = "test-signing-secret"


class MemoryRecorder:
    """A usage recorder that keeps events in memory; one event per finished turn."""

    def __init__(self) -> None:
        self.events: list[UsageEvent] = []
        self._changed = asyncio.Condition()

    async def record(self, event: UsageEvent) -> None:
        """Keep ``event`` and wake waiters."""
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    async def wait(self, count: int, timeout: float = 10.0) -> list[UsageEvent]:  # noqa: ASYNC109
        """Wait until ``count`` turns have finished."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.events) >= count), timeout
            )
        return self.events


class BotHarness:
    """Start with ``async with BotHarness(tmp_path) as bot:``; send events with ``bot.send``."""

    def __init__(self, tmp_path: Path, *, database_url: str | None = None, **settings: Any) -> None:
        self.tmp_path = tmp_path
        self.database_url = database_url or f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        self.settings_overrides = settings
        self.slack = FakeSlackAPI()
        self.openai = FakeOpenAI()
        self.usage = MemoryRecorder()
        self.runtime: Runtime
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    async def __aenter__(self) -> BotHarness:
        await self.slack.start()
        await self.openai.start()
        options: dict[str, Any] = {
            "slack_bot_token": "xoxb-test-token",
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": self.slack.base_url,
            "openai_api_key": "test-key",
            "openai_base_url": self.openai.base_url,
            "database_url": self.database_url,
            "vault_key": "test-vault-key",
            "pseudonym_key": "test-pseudonym-key",
            "stream_update_interval": 0.05,
            "model_timeout": 5.0,
            "model_max_retries": 2,
        }
        options.update(self.settings_overrides)
        self.settings = Settings(**options)
        self.runtime = await build_runtime(self.settings, recorder=self.usage)
        self._session = aiohttp.ClientSession()
        self.app = build_app(self.runtime, session=self._session)
        self._runner = web.AppRunner(web_app(self.app, self.runtime), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Let background answers finish before the servers go away.
        await asyncio.sleep(0)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()
        await self.runtime.aclose()
        await self.openai.stop()
        await self.slack.stop()

    async def send(
        self, event: dict[str, Any], *, retry_num: int | None = None, **envelope: Any
    ) -> EventResponse:
        """POST a signed Events API request carrying ``event`` (or a whole payload)."""
        from tests.peers import event_callback

        payload = (
            event if event.get("type") == "event_callback" else event_callback(event, **envelope)
        )
        return await post_event(
            self.url + "/slack/events", payload, SIGNING_SECRET, retry_num=retry_num
        )

    def thread(self, channel: str, thread_ts: str) -> list[Any]:
        """The bot's current messages in a thread (oldest first)."""
        return [m for m in self.slack.messages(channel, thread_ts=thread_ts) if m.bot_id]
