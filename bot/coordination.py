"""Agreement between instances, and the turns in flight in this one.

Several stateless instances behind a load balancer must agree on a few things: who answers a
Slack event (every instance may receive it, Slack may retry it), that the turns of one thread
are answered one after another even when they land on different instances, and how many turns
one person may have running at once. A :class:`Coordinator` offers the three primitives these
need, with the same meaning on every backend:

* ``acquire``/``renew``/``release`` — a *lease*: one of ``limit`` slots of a key, held by a
  holder until released or until its time-to-live runs out (a crashed instance frees its
  slots by itself). A lock is a lease with one slot.
* ``claim`` — the first caller wins a key for ``ttl`` seconds (de-duplication).
* ``incr`` — a shared counter that restarts from zero when it expires.

Backends, chosen by :func:`build_coordinator`:

==============  ========================================================================
``redis``       ``MADOGUCHI_REDIS_URL`` is set: Redis (redis-py asyncio, Lua scripts), the
                cheapest way for many instances; the database stays the fallback for events.
``database``    PostgreSQL without Redis: the ``coordination_*`` tables, one autocommit
                statement per operation.
``local``       SQLite: one machine, one process; in-process state, nothing shared.
==============  ========================================================================

:class:`InFlightTurns` tracks the turns this process is answering so that a graceful shutdown
can wait for them, and interrupt (cleanly, with a final message) those that take too long.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from sqlalchemy import case, delete, or_, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot import metrics
from bot.storage.scale_tables import CounterRow, LeaseRow, OAuthStateRow
from bot.storage.tables import ProcessedEventRow

if TYPE_CHECKING:
    from bot.gateway import TurnContext
    from bot.settings import Settings
    from bot.storage import Database, Store

log = structlog.get_logger("madoguchi.coordination")

# Slack retries an event for about an hour; keep claimed event ids well beyond that.
EVENT_TTL = 2 * 24 * 3600.0


class Coordinator(Protocol):
    """Leases, claims and counters that every instance sees alike (see the module docstring)."""

    #: ``local``, ``database`` or ``redis``.
    kind: str
    #: True when other instances see the same state (everything but ``local``).
    shared: bool

    async def acquire(self, key: str, holder: str, *, limit: int = 1, ttl: float) -> bool:
        """Take one of ``limit`` slots of ``key`` for ``holder`` for ``ttl`` seconds."""

    async def renew(self, key: str, holder: str, *, ttl: float) -> bool:
        """Extend ``holder``'s slot of ``key``; False when it had already expired."""

    async def release(self, key: str, holder: str) -> None:
        """Give ``holder``'s slot of ``key`` back."""

    async def claim(self, key: str, *, ttl: float) -> bool:
        """True for the first caller of ``key`` within ``ttl`` seconds, False for the others."""

    async def incr(self, key: str, amount: int = 1, *, ttl: float) -> int:
        """Add ``amount`` to the counter ``key`` (created with a ``ttl``) and return its value."""

    async def claim_event(self, event_id: str, tenant: str) -> bool:
        """Take a Slack event id; False when a retry or another instance took it first."""

    async def aclose(self) -> None:
        """Release connections."""


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


# --------------------------------------------------------------------------- local


class LocalCoordinator:
    """One process: leases, claims and counters in memory; event ids still in the database
    (two processes sharing one SQLite file, as the tests do, must not answer twice)."""

    kind = "local"
    shared = False

    def __init__(self, store: Store | None = None) -> None:
        self.store = store
        self._leases: dict[str, dict[str, float]] = {}
        self._claims: dict[str, float] = {}
        self._counters: dict[str, tuple[int, float]] = {}

    def _live(self, key: str) -> dict[str, float]:
        now = time.monotonic()
        holders = self._leases.setdefault(key, {})
        for holder, until in list(holders.items()):
            if until <= now:
                del holders[holder]
        return holders

    async def acquire(self, key: str, holder: str, *, limit: int = 1, ttl: float) -> bool:
        """Take a slot (in memory)."""
        holders = self._live(key)
        if holder in holders or len(holders) < limit:
            holders[holder] = time.monotonic() + ttl
            return True
        return False

    async def renew(self, key: str, holder: str, *, ttl: float) -> bool:
        """Extend a slot (in memory)."""
        holders = self._live(key)
        if holder not in holders:
            return False
        holders[holder] = time.monotonic() + ttl
        return True

    async def release(self, key: str, holder: str) -> None:
        """Free a slot (in memory)."""
        holders = self._leases.get(key)
        if holders is not None:
            holders.pop(holder, None)
            if not holders:
                del self._leases[key]

    async def claim(self, key: str, *, ttl: float) -> bool:
        """First caller wins (in memory)."""
        now = time.monotonic()
        if self._claims.get(key, 0.0) > now:
            return False
        self._claims[key] = now + ttl
        return True

    async def incr(self, key: str, amount: int = 1, *, ttl: float) -> int:
        """Add to a counter (in memory)."""
        now = time.monotonic()
        value, until = self._counters.get(key, (0, 0.0))
        if until <= now:
            value, until = 0, now + ttl
        value += amount
        self._counters[key] = (value, until)
        return value

    async def claim_event(self, event_id: str, tenant: str) -> bool:
        """Event ids go to the database's processed_events table."""
        if self.store is None:
            return await self.claim(f"event:{tenant}:{event_id}", ttl=EVENT_TTL)
        return await self.store.claim_event(event_id, tenant)

    async def aclose(self) -> None:
        """Nothing to close."""


# --------------------------------------------------------------------------- database


class DatabaseCoordinator:
    """Several instances on one PostgreSQL database and no Redis: the ``coordination_*`` tables.

    Every operation is one statement, sent on a connection of the coordinator's own small pool:
    autocommit (no BEGIN/COMMIT) and without a pre-ping (the core's pool pings every checkout,
    three round trips on PostgreSQL), so one operation is one round trip; a connection the
    server dropped is retried once on a fresh one. A lease slot is taken with ``INSERT … ON
    CONFLICT DO UPDATE … WHERE expired``, which the primary key makes atomic.
    """

    kind = "database"
    shared = True
    #: How often expired rows are swept away (they are harmless, only clutter).
    SWEEP_INTERVAL = 600.0

    def __init__(self, db: Database) -> None:
        self.db = db
        self._own_engine: AsyncEngine | None = None
        if db.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert

            # One machine: share the core's engine (SQLite has no round trips to save).
            self._engine = db.engine.execution_options(isolation_level="AUTOCOMMIT")
        else:
            from sqlalchemy.dialects.postgresql import insert

            # A fixed pool: operations take well under a millisecond, so a short queue costs
            # less than opening overflow connections and closing them again (a new PostgreSQL
            # connection costs milliseconds of CPU on both sides).
            #
            # synchronous_commit=off: a lease, a claim or a counter does not wait for the WAL to
            # reach the disk. They are worth keeping only seconds to days, and after a database
            # crash losing the last few milliseconds of them costs at most one duplicate answer
            # to a Slack retry, while waiting for the flush three times a turn slowed every
            # other query on a busy server (BENCHMARKS.md, "Load").
            self._own_engine = create_async_engine(
                db.url,
                isolation_level="AUTOCOMMIT",
                pool_size=8,
                max_overflow=0,
                pool_recycle=1800,
                connect_args={
                    "server_settings": {
                        "synchronous_commit": "off",
                        "application_name": "madoguchi-coordination",
                    }
                },
            )
            metrics.instrument_database(self._own_engine)
            self._engine = self._own_engine
        self._insert = insert
        self._next_sweep = time.monotonic() + self.SWEEP_INTERVAL
        self._sweeper: asyncio.Task[None] | None = None

    async def _first(self, stmt: Any) -> Any:
        """Run ``stmt`` and return its first row (None without one)."""
        return await self._run(stmt, lambda result: result.first())

    async def _count(self, stmt: Any) -> int:
        """Run ``stmt`` and return how many rows it changed."""
        return await self._run(stmt, lambda result: result.rowcount or 0)

    async def _run(self, stmt: Any, read: Any) -> Any:
        for attempt in (1, 2):
            try:
                async with self._engine.connect() as conn:
                    return read(await conn.execute(stmt))
            except DBAPIError as exc:
                # No pre-ping: a connection the server dropped (restart, fail-over) fails
                # once, and is replaced for the retry.
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    async def acquire(self, key: str, holder: str, *, limit: int = 1, ttl: float) -> bool:
        """Take the first free (or expired) slot of ``key``."""
        self._maybe_sweep()
        now = utcnow()
        until = now + timedelta(seconds=ttl)
        for slot in range(limit):
            stmt = (
                self._insert(LeaseRow)
                .values(key=key, slot=slot, holder=holder, expires_at=until)
                .on_conflict_do_update(
                    index_elements=[LeaseRow.key, LeaseRow.slot],
                    set_={"holder": holder, "expires_at": until},
                    where=or_(LeaseRow.expires_at <= now, LeaseRow.holder == holder),
                )
                .returning(LeaseRow.slot)
            )
            if await self._first(stmt) is not None:
                return True
        return False

    async def renew(self, key: str, holder: str, *, ttl: float) -> bool:
        """Extend ``holder``'s unexpired slot."""
        now = utcnow()
        changed = await self._count(
            update(LeaseRow)
            .where(LeaseRow.key == key, LeaseRow.holder == holder, LeaseRow.expires_at > now)
            .values(expires_at=now + timedelta(seconds=ttl))
        )
        return changed > 0

    async def release(self, key: str, holder: str) -> None:
        """Delete ``holder``'s slot."""
        await self._count(delete(LeaseRow).where(LeaseRow.key == key, LeaseRow.holder == holder))

    async def claim(self, key: str, *, ttl: float) -> bool:
        """A one-slot lease that nobody releases."""
        return await self.acquire(key, uuid.uuid4().hex, limit=1, ttl=ttl)

    async def incr(self, key: str, amount: int = 1, *, ttl: float) -> int:
        """One upsert: add, or restart from ``amount`` when the counter has expired."""
        self._maybe_sweep()
        now = utcnow()
        until = now + timedelta(seconds=ttl)
        stmt = self._insert(CounterRow).values(key=key, value=amount, expires_at=until)
        expired = CounterRow.expires_at <= now
        stmt = stmt.on_conflict_do_update(
            index_elements=[CounterRow.key],
            set_={
                "value": case((expired, stmt.excluded.value), else_=CounterRow.value + amount),
                "expires_at": case(
                    (expired, stmt.excluded.expires_at), else_=CounterRow.expires_at
                ),
            },
        ).returning(CounterRow.value)
        row = await self._first(stmt)
        return int(row[0])

    async def claim_event(self, event_id: str, tenant: str) -> bool:
        """Into the core's processed_events table (purged by ``madoguchi db purge``), as one
        ``INSERT … ON CONFLICT DO NOTHING`` instead of a session with its own transaction."""
        stmt = (
            self._insert(ProcessedEventRow)
            .values(event_id=event_id, tenant=tenant, received_at=utcnow())
            .on_conflict_do_nothing(index_elements=[ProcessedEventRow.event_id])
            .returning(ProcessedEventRow.event_id)
        )
        return await self._first(stmt) is not None

    async def purge_expired(self, now: datetime | None = None) -> int:
        """Delete leases, counters and OAuth states that expired; return how many rows went."""
        now = now or utcnow()
        removed = 0
        for table in (LeaseRow, CounterRow, OAuthStateRow):
            removed += await self._count(delete(table).where(table.expires_at <= now))
        return removed

    def _maybe_sweep(self) -> None:
        if time.monotonic() < self._next_sweep or self._sweeper is not None:
            return
        self._next_sweep = time.monotonic() + self.SWEEP_INTERVAL

        async def sweep() -> None:
            try:
                await self.purge_expired()
            except Exception as exc:  # clutter only; try again next interval
                log.warning("coordination.sweep_failed", error_type=type(exc).__name__)
            finally:
                self._sweeper = None

        self._sweeper = asyncio.create_task(sweep())

    async def aclose(self) -> None:
        """Wait for a running sweep and close the coordinator's own pool."""
        if self._sweeper is not None:
            with contextlib.suppress(Exception):
                await self._sweeper
        if self._own_engine is not None:
            await self._own_engine.dispose()


# --------------------------------------------------------------------------- redis

# Lease slots are the members of a sorted set scored by their expiry (Redis server time, ms),
# so instances with skewed clocks still agree and expired slots cost nothing to find.
_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
_KEEP_KEY_ALIVE = """
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end
"""
_ACQUIRE = (
    _NOW_MS
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
"""
    + _KEEP_KEY_ALIVE
    + """
  return 1
end
return 0
"""
)
_RENEW = (
    _NOW_MS
    + """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) <= now then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
"""
    + _KEEP_KEY_ALIVE
    + """
return 1
"""
)
_INCR = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
"""


class RedisCoordinator:
    """Several instances sharing a Redis server (``MADOGUCHI_REDIS_URL``)."""

    kind = "redis"
    shared = True

    def __init__(
        self,
        url: str,
        store: Store | None = None,
        *,
        prefix: str = "madoguchi:",
        max_connections: int = 64,
        pool_timeout: float = 5.0,
    ) -> None:
        from redis.asyncio import BlockingConnectionPool, Redis

        # A blocking pool: with hundreds of answers in flight, a command waits a moment for a
        # free connection. redis-py's default pool raises MaxConnectionsError beyond 100
        # instead, which showed up under load as lost thread locks (bench/bench_load.py).
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=pool_timeout,
            socket_connect_timeout=5,
            socket_timeout=5,
        )
        self.redis = Redis.from_pool(pool)
        # That pool is not first come, first served: a task that gives a connection back and
        # asks again at once gets it ahead of those waiting, who can starve past the pool's
        # timeout ("No connection available": a thread lock then goes on without its lease).
        # asyncio's semaphore queues in order, so commands take turns here and the pool itself
        # never has anyone waiting.
        self._turns = asyncio.Semaphore(max_connections)
        self.store = store
        self.prefix = prefix
        self._acquire = self.redis.register_script(_ACQUIRE)
        self._renew = self.redis.register_script(_RENEW)
        self._incr = self.redis.register_script(_INCR)

    def _key(self, key: str) -> str:
        return self.prefix + key

    async def acquire(self, key: str, holder: str, *, limit: int = 1, ttl: float) -> bool:
        """Take a slot: one Lua script, one round trip."""
        ms = max(1, int(ttl * 1000))
        async with self._turns:
            return bool(await self._acquire(keys=[self._key(key)], args=[holder, ms, limit]))

    async def renew(self, key: str, holder: str, *, ttl: float) -> bool:
        """Extend an unexpired slot."""
        ms = max(1, int(ttl * 1000))
        async with self._turns:
            return bool(await self._renew(keys=[self._key(key)], args=[holder, ms]))

    async def release(self, key: str, holder: str) -> None:
        """Remove the slot."""
        async with self._turns:
            await self.redis.zrem(self._key(key), holder)

    async def claim(self, key: str, *, ttl: float) -> bool:
        """``SET NX PX``."""
        ms = max(1, int(ttl * 1000))
        async with self._turns:
            return bool(await self.redis.set(self._key(key), b"1", nx=True, px=ms))

    async def incr(self, key: str, amount: int = 1, *, ttl: float) -> int:
        """``INCRBY`` plus an expiry set by the first increment."""
        ms = max(1, int(ttl * 1000))
        async with self._turns:
            return int(await self._incr(keys=[self._key(key)], args=[amount, ms]))

    async def claim_event(self, event_id: str, tenant: str) -> bool:
        """Claim in Redis; while Redis is unreachable, the database decides instead."""
        from redis.exceptions import RedisError

        try:
            return await self.claim(f"event:{tenant}:{event_id}", ttl=EVENT_TTL)
        except RedisError as exc:
            if self.store is None:
                raise
            log.warning("coordination.redis_unavailable", error_type=type(exc).__name__)
            return await self.store.claim_event(event_id, tenant)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.redis.aclose()


def build_coordinator(settings: Settings, db: Database, store: Store | None = None) -> Coordinator:
    """Redis when ``MADOGUCHI_REDIS_URL`` is set, else the database when it is PostgreSQL (several
    instances may share it), else in-process state (SQLite: one machine, one process)."""
    redis_url = settings.secret("redis_url")
    if redis_url:
        return RedisCoordinator(redis_url, store)
    if not db.is_sqlite:
        return DatabaseCoordinator(db)
    return LocalCoordinator(store)


# --------------------------------------------------------------------------- uses


class SharedThreadLock:
    """Turns of one thread are answered in order even when they reach different instances.

    The gateway holds its in-process lock first, then this one; with a ``local`` coordinator it
    is not used at all. The lease is renewed while the turn runs, so a long answer keeps it, and
    a crashed instance's lease runs out after ``ttl`` seconds.
    """

    def __init__(
        self,
        coordinator: Coordinator,
        *,
        ttl: float = 60.0,
        wait: float = 300.0,
        poll: float = 0.005,
    ) -> None:
        self.coordinator = coordinator
        self.ttl = ttl
        self.wait = wait
        self.poll = poll

    @contextlib.asynccontextmanager
    async def hold(self, key: tuple[str, str, str]) -> AsyncIterator[None]:
        """Hold the thread ``(tenant, channel, thread)`` for the duration of the block."""
        name = "thread:" + ":".join(key)
        holder = uuid.uuid4().hex
        acquired = await self._acquire(name, holder)
        renewer = asyncio.create_task(self._renew(name, holder)) if acquired else None
        try:
            yield
        finally:
            if renewer is not None:
                renewer.cancel()
            if acquired:
                try:
                    await self.coordinator.release(name, holder)
                except Exception as exc:  # the lease runs out by itself
                    log.warning("thread_lock.release_failed", error_type=type(exc).__name__)

    async def _acquire(self, name: str, holder: str) -> bool:
        started = time.monotonic()
        deadline = started + self.wait
        delay = self.poll
        while True:
            try:
                if await self.coordinator.acquire(name, holder, limit=1, ttl=self.ttl):
                    waited = time.monotonic() - started
                    if waited > 0.01:
                        log.info("thread_lock.waited", ms=int(waited * 1000))
                    return True
            except Exception as exc:
                # Answering out of order beats not answering: go ahead without the lock.
                log.warning("thread_lock.unavailable", error_type=type(exc).__name__)
                return False
            if time.monotonic() >= deadline:
                log.warning("thread_lock.timeout", waited_s=self.wait)
                return False
            # The usual wait is the previous turn recording its usage after its final message
            # (tens of milliseconds): poll every few milliseconds for a while, then back off
            # (a whole answer can take a minute).
            await asyncio.sleep(delay)
            if time.monotonic() - started > 0.2:
                delay = min(delay * 2, 0.25)

    async def _renew(self, name: str, holder: str) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                if not await self.coordinator.renew(name, holder, ttl=self.ttl):
                    log.warning("thread_lock.lost")
                    return
            except Exception as exc:
                log.warning("thread_lock.renew_failed", error_type=type(exc).__name__)


class UserConcurrency:
    """Gateway stage: at most ``limit`` turns of one person at a time, across instances.

    The person is keyed by the usage pseudonym (never the Slack id). A slot that is never
    released (a crashed instance) runs out after ``ttl`` seconds.
    """

    name = "concurrency"

    def __init__(
        self, coordinator: Coordinator, limit: int, pseudonym_key: bytes, *, ttl: float = 600.0
    ) -> None:
        self.coordinator = coordinator
        self.limit = limit
        self.pseudonym_key = pseudonym_key
        self.ttl = ttl

    async def run(self, ctx: TurnContext) -> None:
        """Take a slot or refuse the turn; the slot is given back when the turn ends."""
        from bot.gateway import Stop
        from bot.messages import message
        from bot.usage import pseudonym

        if self.limit <= 0 or ctx.dry_run:
            return
        key = f"user:{ctx.turn.tenant}:{pseudonym(ctx.turn.user, self.pseudonym_key)}"
        holder = uuid.uuid4().hex
        try:
            acquired = await self.coordinator.acquire(key, holder, limit=self.limit, ttl=self.ttl)
        except Exception as exc:
            # A coordination outage must not stop everyone from working: let the turn through.
            log.warning("concurrency.unavailable", error_type=type(exc).__name__)
            return
        if not acquired:
            raise Stop(
                "refused",
                "too_many_concurrent",
                message("too_many_concurrent", ctx.lang, limit=self.limit),
            )

        async def release() -> None:
            await self.coordinator.release(key, holder)

        ctx.cleanups.append(release)


# --------------------------------------------------------------------------- shutdown


@dataclass(frozen=True)
class DrainResult:
    """How a drain ended: turns that finished in time, and turns that were interrupted."""

    finished: int
    interrupted: int


class InFlightTurns:
    """The turns this process is answering (registered by the gateway), for graceful shutdown."""

    def __init__(self) -> None:
        self._tasks: dict[asyncio.Task[Any], int] = {}
        #: False once shutdown began (``GET /readyz`` answers 503 from then on).
        self.ready = True
        #: True once no new turns are taken (``POST /slack/events`` answers 503).
        self.draining = False
        self._started = 0

    def __len__(self) -> int:
        return len(self._tasks)

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        """Count the current task as answering a turn until the block ends."""
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - the gateway always runs inside a task
            yield
            return
        self._tasks[task] = self._tasks.get(task, 0) + 1
        self._started += 1
        metrics.IN_FLIGHT.inc()
        try:
            yield
        finally:
            metrics.IN_FLIGHT.dec()
            left = self._tasks.get(task, 1) - 1
            if left > 0:
                self._tasks[task] = left
            else:
                self._tasks.pop(task, None)

    async def drain(
        self,
        grace: float,
        *,
        close_timeout: float = 10.0,
        hurry: asyncio.Event | None = None,
    ) -> DrainResult:
        """Stop taking turns, wait up to ``grace`` seconds for the running ones, then cancel the
        rest (the gateway turns a cancellation into a final message) and wait for them to close.
        ``hurry`` being set ends the wait early (a second signal).
        """
        self.ready = False
        self.draining = True
        metrics.DRAINING.set(1)
        running = len(self._tasks)
        started_before = self._started
        deadline = time.monotonic() + grace
        hurried = asyncio.ensure_future(hurry.wait()) if hurry is not None else None
        try:
            while not (hurried is not None and hurried.done()):
                pending: set[asyncio.Future[Any]] = set(self._tasks)
                if not pending:
                    # A turn acknowledged just before draining may still be on its way from
                    # the listener to the gateway: give it a moment to register.
                    await asyncio.sleep(0.05)
                    if not self._tasks:
                        break
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if hurried is not None:
                    pending.add(hurried)
                await asyncio.wait(pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if hurried is not None:
                hurried.cancel()
        stuck = list(self._tasks)
        for task in stuck:
            task.cancel("shutdown")
        if stuck:
            await asyncio.wait(stuck, timeout=close_timeout)
        total = running + self._started - started_before
        result = DrainResult(finished=max(0, total - len(stuck)), interrupted=len(stuck))
        log.info("shutdown.drained", finished=result.finished, interrupted=result.interrupted)
        return result
