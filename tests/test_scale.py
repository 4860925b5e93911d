"""Several instances: the coordination primitives on every backend, and two real app instances
(bolt over HTTP, local Slack and OpenAI peers) sharing one PostgreSQL database, with and without
Redis: one answer per event, turns of a thread in order across instances, per-user concurrency.

PostgreSQL tests need MADOGUCHI_TEST_POSTGRES_URL; Redis tests need MADOGUCHI_TEST_REDIS_URL
(e.g. ``redis://127.0.0.1:6379/0``). Both skip with the reason when unset.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.coordination import (
    Coordinator,
    DatabaseCoordinator,
    LocalCoordinator,
    RedisCoordinator,
    build_coordinator,
)
from bot.settings import Settings
from bot.storage import Database, Store
from tests.conftest import POSTGRES_URL, _drop_postgres_database, _postgres_database
from tests.harness import BotHarness
from tests.peers import Reply, app_mention, event_callback, thread_reply

# Read at import: the autouse fixture clears MADOGUCHI_* variables before each test.
REDIS_URL = os.environ.get("MADOGUCHI_TEST_REDIS_URL")
NO_REDIS = "Redis not configured: set MADOGUCHI_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)"
CHANNEL = "C0001"


def final_text(message: Any) -> str:
    return message.blocks[0]["text"]["text"] if message.blocks else message.text


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database (skipped without MADOGUCHI_TEST_POSTGRES_URL)."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured: set MADOGUCHI_TEST_POSTGRES_URL (.ci/run does)")
    url, name = await _postgres_database()
    try:
        yield url
    finally:
        await _drop_postgres_database(name)


@pytest.fixture(params=["local", "database", "redis"])
async def coordinator(request: pytest.FixtureRequest, db: Database) -> AsyncIterator[Coordinator]:
    """Each backend (the database one on SQLite and PostgreSQL, via the ``db`` fixture)."""
    if request.param == "local":
        if not db.is_sqlite:
            pytest.skip("the in-process backend does not depend on the database")
        yield LocalCoordinator(Store(db))
        return
    if request.param == "redis":
        if not REDIS_URL:
            pytest.skip(NO_REDIS)
        if not db.is_sqlite:
            pytest.skip("the Redis backend does not depend on the database")
        coord = RedisCoordinator(REDIS_URL, Store(db), prefix=f"test-{uuid.uuid4().hex[:8]}:")
        try:
            yield coord
        finally:
            await coord.aclose()
        return
    coord = DatabaseCoordinator(db)
    yield coord
    await coord.aclose()


def key() -> str:
    return f"k-{uuid.uuid4().hex[:12]}"


# --------------------------------------------------------------------------- primitives


async def test_a_lease_has_at_most_limit_holders_and_frees_on_release(
    coordinator: Coordinator,
) -> None:
    k = key()
    results = await asyncio.gather(
        *(coordinator.acquire(k, f"h{i}", limit=3, ttl=30) for i in range(10))
    )
    assert sum(results) == 3
    winners = [f"h{i}" for i, ok in enumerate(results) if ok]
    assert not await coordinator.acquire(k, "late", limit=3, ttl=30)
    # Asking again as a holder keeps the slot (no second slot, no refusal).
    assert await coordinator.acquire(k, winners[0], limit=3, ttl=30)
    await coordinator.release(k, winners[0])
    assert await coordinator.acquire(k, "late", limit=3, ttl=30)
    assert not await coordinator.acquire(k, "later", limit=3, ttl=30)


async def test_an_expired_lease_is_free_and_cannot_be_renewed(coordinator: Coordinator) -> None:
    k = key()
    assert await coordinator.acquire(k, "crashed", limit=1, ttl=0.2)
    assert not await coordinator.acquire(k, "next", limit=1, ttl=30)
    await asyncio.sleep(0.4)
    assert not await coordinator.renew(k, "crashed", ttl=30)
    assert await coordinator.acquire(k, "next", limit=1, ttl=30)
    assert await coordinator.renew(k, "next", ttl=30)
    assert not await coordinator.acquire(k, "crashed", limit=1, ttl=30)


async def test_claims_and_counters(coordinator: Coordinator) -> None:
    k = key()
    claims = await asyncio.gather(*(coordinator.claim(k, ttl=30) for _ in range(6)))
    assert sorted(claims) == [False] * 5 + [True]
    short = key()
    assert await coordinator.claim(short, ttl=0.2)
    await asyncio.sleep(0.4)
    assert await coordinator.claim(short, ttl=30)

    c = key()
    values = await asyncio.gather(*(coordinator.incr(c, 2, ttl=30) for _ in range(5)))
    assert sorted(values) == [2, 4, 6, 8, 10]
    expiring = key()
    assert await coordinator.incr(expiring, 5, ttl=0.2) == 5
    await asyncio.sleep(0.4)
    assert await coordinator.incr(expiring, 1, ttl=30) == 1


async def test_event_claims_are_shared_between_two_database_coordinators(
    database_url: str,
) -> None:
    first, second = Database(database_url), Database(database_url)
    await first.upgrade()
    try:
        a, b = DatabaseCoordinator(first), DatabaseCoordinator(second)
        results = await asyncio.gather(*(c.claim_event("Ev42", "T1") for c in (a, b, a, b)))
        assert sorted(results) == [False, False, False, True]
        # Leases too: one holder per key across the two.
        assert await a.acquire("thread:T1:C1:1.0", "x", ttl=30)
        assert not await b.acquire("thread:T1:C1:1.0", "y", ttl=30)
    finally:
        await first.dispose()
        await second.dispose()


async def test_expired_rows_are_swept(db: Database) -> None:
    coord = DatabaseCoordinator(db)
    await coord.acquire("gone", "h", ttl=0.1)
    await coord.incr("gone", ttl=0.1)
    await coord.acquire("kept", "h", ttl=60)
    await asyncio.sleep(0.3)
    assert await coord.purge_expired() == 2
    assert not await coord.acquire("kept", "other", ttl=60)


async def test_the_backend_follows_the_settings(tmp_path: Path) -> None:
    sqlite = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        assert build_coordinator(Settings(), sqlite).kind == "local"
        with_redis = build_coordinator(Settings(redis_url="redis://127.0.0.1:1/0"), sqlite)
        assert with_redis.kind == "redis"
        await with_redis.aclose()
    finally:
        await sqlite.dispose()
    postgres = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        assert build_coordinator(Settings(), postgres).kind == "database"
    finally:
        await postgres.dispose()


async def test_redis_outage_falls_back_to_the_database_for_events(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    await db.upgrade()
    coord = RedisCoordinator("redis://127.0.0.1:1/0", Store(db))  # nothing listens there
    try:
        assert await coord.claim_event("EvR", "T1") is True
        assert await coord.claim_event("EvR", "T1") is False
    finally:
        await coord.aclose()
        await db.dispose()


# --------------------------------------------------------------------------- two instances


@contextlib.asynccontextmanager
async def two_instances(
    tmp_path: Path, url: str, backend: str, **settings: Any
) -> AsyncIterator[tuple[BotHarness, BotHarness]]:
    if backend == "redis":
        if not REDIS_URL:
            pytest.skip(NO_REDIS)
        settings["redis_url"] = REDIS_URL
    async with (
        BotHarness(tmp_path / "a", database_url=url, **settings) as one,
        BotHarness(tmp_path / "b", database_url=url, **settings) as two,
    ):
        assert one.runtime.coordinator is not None
        assert one.runtime.coordinator.kind == backend
        yield one, two


@pytest.mark.parametrize("backend", ["database", "redis"])
async def test_the_same_event_delivered_to_both_instances_is_answered_once(
    tmp_path: Path, postgres_url: str, backend: str
) -> None:
    async with two_instances(tmp_path, postgres_url, backend) as (one, two):
        payloads = [event_callback(app_mention(f"二重配信テスト{i}")) for i in range(5)]
        # Each event reaches both instances at once, and a Slack retry reaches one again.
        await asyncio.gather(
            *(bot.send(p) for p in payloads for bot in (one, two)),
            *(one.send(p, retry_num=1) for p in payloads),
        )
        await asyncio.sleep(0.3)
        done = len(one.usage.events) + len(two.usage.events)
        while done < 5:
            await asyncio.sleep(0.05)
            done = len(one.usage.events) + len(two.usage.events)
        await asyncio.sleep(0.3)
        assert len(one.usage.events) + len(two.usage.events) == 5
        assert len(one.openai.requests) + len(two.openai.requests) == 5
        for p in payloads:
            ts = p["event"]["ts"]
            answers = one.thread(CHANNEL, ts) + two.thread(CHANNEL, ts)
            assert len(answers) == 1


@pytest.mark.parametrize("backend", ["database", "redis"])
async def test_turns_of_one_thread_on_two_instances_are_answered_in_order(
    tmp_path: Path, postgres_url: str, backend: str
) -> None:
    async with two_instances(tmp_path, postgres_url, backend) as (one, two):
        one.openai.script(
            Reply(
                text="一つ目の回答です。", first_token_delay=0.6, chunk_size=3, token_interval=0.05
            )
        )
        two.openai.script(Reply(text="二つ目の回答です。"))
        first = app_mention("一つ目の質問")
        await one.send(first)
        await one.openai.wait_for(1, timeout=10)
        # The follow-up lands on the other instance while the first answer is still streaming.
        await two.send(thread_reply("二つ目の質問", thread_ts=first["ts"]))
        await one.usage.wait(1)
        await two.usage.wait(1)
        [request] = two.openai.requests
        # The second instance waited for the first answer: it sent it as history.
        assert [m["role"] for m in request.messages] == ["system", "user", "assistant", "user"]
        assert request.messages[2]["content"] == "一つ目の回答です。"
        assert request.messages[3]["content"] == "二つ目の質問"
        assert [final_text(m) for m in two.thread(CHANNEL, first["ts"])] == ["二つ目の回答です。"]


@pytest.mark.parametrize("backend", ["database", "redis"])
async def test_per_user_concurrency_holds_across_instances(
    tmp_path: Path, postgres_url: str, backend: str
) -> None:
    user = f"U{uuid.uuid4().hex[:8].upper()}"
    async with two_instances(tmp_path, postgres_url, backend, max_concurrent_turns_per_user=1) as (
        one,
        two,
    ):
        assert "concurrency" in one.runtime.gateway.stages
        one.openai.script(Reply(text="長めの回答です。", first_token_delay=0.8))
        busy = app_mention("一件目", user=user)
        await one.send(busy)
        await one.openai.wait_for(1, timeout=10)
        second = app_mention("二件目", user=user)
        await two.send(second)
        [refused] = await two.usage.wait(1)
        assert refused.outcome == "refused" and refused.error_kind == "too_many_concurrent"
        assert not two.openai.requests
        [shown] = two.thread(CHANNEL, second["ts"])
        assert "同時に処理できる質問は1人1件まで" in final_text(shown)
        # Someone else is not affected, and the slot comes back when the first answer ends.
        other = app_mention("別の職員の質問", user="U0OTHER1")
        await two.send(other)
        await two.usage.wait(2)
        await one.usage.wait(1)
        third = app_mention("三件目", user=user)
        await two.send(third)
        events = await two.usage.wait(3)
        assert [e.outcome for e in events] == ["refused", "ok", "ok"]


async def test_a_single_instance_on_sqlite_shares_nothing(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as bot:
        assert bot.runtime.coordinator is not None
        assert bot.runtime.coordinator.kind == "local"
        assert bot.runtime.gateway._thread_lock is None
        assert "concurrency" not in bot.runtime.gateway.stages


async def test_instances_starting_at_once_migrate_the_schema_once(postgres_url: str) -> None:
    databases = [Database(postgres_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(d.ensure_schema() for d in databases))
        assert all(isinstance(r, bool) for r in results)
        assert await databases[0].current_revision() == Database.head_revision()
        assert await databases[0].ensure_schema() is False
    finally:
        for d in databases:
            await d.dispose()


async def test_a_lease_waits_its_turn_while_other_commands_keep_the_connections_busy(
    db: Database,
) -> None:
    """redis-py's blocking pool hands a freed connection to whoever asks first: tasks that send
    command after command kept it from a waiting lease request past the pool's timeout ("No
    connection available"), and the thread lock went on without its lease."""
    if not REDIS_URL:
        pytest.skip(NO_REDIS)
    if not db.is_sqlite:
        pytest.skip("the Redis backend does not depend on the database")
    coord = RedisCoordinator(
        REDIS_URL,
        Store(db),
        prefix=f"test-{uuid.uuid4().hex[:8]}:",
        max_connections=4,
        pool_timeout=0.5,
    )
    busy = True

    async def one_command_after_another() -> None:
        while busy:
            await coord.claim(key(), ttl=5)

    noise = [asyncio.create_task(one_command_after_another()) for _ in range(12)]
    try:
        await asyncio.sleep(0.1)
        results = await asyncio.wait_for(
            asyncio.gather(*(coord.acquire(key(), "holder", ttl=30) for _ in range(100))), 30
        )
    finally:
        busy = False
        await asyncio.gather(*noise, return_exceptions=True)
        await coord.aclose()
    assert all(results)


async def test_more_redis_commands_at_once_than_connections_all_succeed(db: Database) -> None:
    """Hundreds of answers in flight send more commands at once than the pool has connections:
    they wait their turn instead of failing (redis-py's default pool raised
    MaxConnectionsError, which lost thread locks under load)."""
    if not REDIS_URL:
        pytest.skip(NO_REDIS)
    if not db.is_sqlite:
        pytest.skip("the Redis backend does not depend on the database")
    coord = RedisCoordinator(
        REDIS_URL, Store(db), prefix=f"test-{uuid.uuid4().hex[:8]}:", max_connections=4
    )
    try:
        results = await asyncio.gather(
            *(coord.acquire(key(), "holder", ttl=30) for _ in range(200))
        )
    finally:
        await coord.aclose()
    assert all(results)
