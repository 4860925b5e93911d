"""The digest's world for tests: a migrated database, the real library and digest service, and
the real Slack poster talking to the local Slack-compatible server. (No tests in this module.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.web.async_client import AsyncWebClient

from bot.digest import DigestConfigStore, DigestService
from bot.digest.service import FiguresLookup
from bot.prompts import PromptLibrary
from bot.storage import Database
from handlers.library import SlackDigestPoster
from tests.peers import FakeSlackAPI

TOKYO = ZoneInfo("Asia/Tokyo")
PSEUDONYM_KEY = b"test-pseudonym-key"


def tokyo(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in Tokyo."""
    return datetime(year, month, day, hour, minute, tzinfo=TOKYO)


@dataclass
class DigestEnv:
    """One bot instance's digest machinery."""

    db: Database
    library: PromptLibrary
    service: DigestService
    poster: SlackDigestPoster
    client: AsyncWebClient


@asynccontextmanager
async def digest_env(
    database_url: str,
    slack: FakeSlackAPI,
    *,
    channels: tuple[str, ...] = ("C0DIGEST",),
    schedule: str = "mon 09:00",
    figures: FiguresLookup | None = None,
    k: int = 5,
    http_timeout: int = 10,
) -> AsyncIterator[DigestEnv]:
    """An instance on ``database_url`` (migrated) posting to ``slack``."""
    db = Database(database_url)
    await db.ensure_schema()
    library = PromptLibrary(db, pseudonym_key=PSEUDONYM_KEY)
    configs = DigestConfigStore(db, default_channels=channels, default_schedule=schedule)
    service = DigestService(db, library, configs, tz=TOKYO, figures=figures, k=k)
    client = AsyncWebClient(token="xoxb-test-token", base_url=slack.base_url, timeout=http_timeout)
    try:
        yield DigestEnv(db, library, service, SlackDigestPoster(client), client)
    finally:
        await db.dispose()


def digest_posts(slack: FakeSlackAPI, channel: str = "C0DIGEST") -> list:
    """The digests the bot posted (answered chat.postMessage calls) to ``channel``."""
    return [
        c for c in slack.calls_to("chat.postMessage") if c.ok and c.args.get("channel") == channel
    ]
