"""Storage on SQLite and PostgreSQL: migrations, conversations, event de-duplication, purge."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import inspect

from bot.storage import Database, Store
from bot.storage.schema import metadata
from bot.storage.store import utcnow


async def test_migrations_create_exactly_the_declared_tables(db: Database) -> None:
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert tables - {"alembic_version"} == set(metadata.tables)
    assert await db.current_revision() == Database.head_revision()


async def test_migrations_match_the_table_definitions_exactly(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    async with db.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), metadata)
        )
    assert diff == [], "a table change needs a migration in bot/migrations/versions"


async def test_ensure_schema_is_idempotent(database_url: str) -> None:
    database = Database(database_url)
    try:
        assert await database.ensure_schema() is True
        assert await database.ensure_schema() is False
    finally:
        await database.dispose()


async def test_event_ids_are_claimed_once_even_concurrently(db: Database) -> None:
    store = Store(db)
    results = await asyncio.gather(*(store.claim_event("Ev1", "T1") for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]
    assert await store.claim_event("Ev2", "T1") is True


async def test_two_instances_share_event_claims(database_url: str) -> None:
    first, second = Database(database_url), Database(database_url)
    await first.upgrade()
    try:
        assert await Store(first).claim_event("Ev9", "T1") is True
        assert await Store(second).claim_event("Ev9", "T1") is False
    finally:
        await first.dispose()
        await second.dispose()


async def test_conversation_history_and_vault(db: Database) -> None:
    store = Store(db)
    conv = await store.open_conversation("T1", "C1", "1700000000.000100", "gpt-4o-mini")
    again = await asyncio.gather(
        *(store.open_conversation("T1", "C1", "1700000000.000100") for _ in range(5))
    )
    assert {c.id for c in again} == {conv.id}
    await store.append_exchange(
        conv.id, "<人名1>さんへの返信", "承知しました", "gpt-4o", b"sealed-1"
    )
    await store.append_exchange(conv.id, "次の質問", "次の答え", "gpt-4o", b"sealed-2")
    assert await store.history(conv.id) == [
        {"role": "user", "content": "<人名1>さんへの返信"},
        {"role": "assistant", "content": "承知しました"},
        {"role": "user", "content": "次の質問"},
        {"role": "assistant", "content": "次の答え"},
    ]
    assert await store.load_vault(conv.id) == b"sealed-2"
    found = await store.find_conversation("T1", "C1", "1700000000.000100")
    assert found is not None and found.model_id == "gpt-4o"
    # Another workspace with the same channel and thread ids never sees this conversation.
    assert await store.find_conversation("T2", "C1", "1700000000.000100") is None


async def test_a_thread_loads_with_its_history_and_vault_in_one_round_trip(db: Database) -> None:
    """The state a turn needs (conversation, history in order, sealed vault) in one statement
    on PostgreSQL, where every statement is a wait for the server; text survives exactly."""
    from sqlalchemy import event

    store = Store(db)
    assert (await store.load_thread("T1", "C1", "nothing-here")).conversation is None
    conv = await store.open_conversation("T1", "C1", "1700000000.000300", "m")
    fresh = await store.load_thread("T1", "C1", "1700000000.000300")
    assert fresh.conversation == conv and fresh.history == [] and fresh.sealed_vault is None
    tricky = 'JSON の "引用符" と \\ と\n改行、<人名1> と 🎌'
    await store.append_exchange(conv.id, tricky, "答え1", "m", b"vault-1")
    await store.append_exchange(conv.id, "質問2", "答え2", "m", b"\x00vault-2")
    statements: list[str] = []

    def count(*_args: object) -> None:
        statements.append("x")

    event.listen(db.engine.sync_engine, "after_cursor_execute", count)
    try:
        state = await store.load_thread("T1", "C1", "1700000000.000300")
    finally:
        event.remove(db.engine.sync_engine, "after_cursor_execute", count)
    assert state.conversation == conv
    assert state.history == [
        {"role": "user", "content": tricky},
        {"role": "assistant", "content": "答え1"},
        {"role": "user", "content": "質問2"},
        {"role": "assistant", "content": "答え2"},
    ]
    assert state.sealed_vault == b"\x00vault-2"
    assert len(statements) == (2 if db.is_sqlite else 1)


async def test_the_writes_of_every_turn_are_compiled_once(db: Database) -> None:
    """The exchange and a usage row with entity counts are several rows and (on PostgreSQL) one
    statement of CTEs; SQLAlchemy must find them in its compiled cache after the first turn, or
    every turn pays for compiling them again."""
    from sqlalchemy import event

    from bot.usage import DatabaseUsageRecorder, UsageEvent

    seen: list[tuple[str, object]] = []

    def record(_conn: object, _cursor: object, statement: str, *args: object) -> None:
        seen.append((statement.split()[0], getattr(args[-2], "cache_hit", None)))

    store, usage = Store(db), DatabaseUsageRecorder(db, log_lines=False)
    conv = await store.open_conversation("T1", "C1", "1700000000.000200", "m")

    async def turn(n: int) -> None:
        await store.append_exchange(conv.id, f"u{n}", f"a{n}", "m", b"sealed")
        await usage.record(
            UsageEvent(
                time=utcnow(), tenant="T1", user_pseudonym="p", channel_type="im", model="m",
                outcome="ok",
                masked_counts={"PERSON": n + 1, "PHONE": 1},
            )
        )

    await turn(0)
    event.listen(db.engine.sync_engine, "after_cursor_execute", record)
    try:
        await turn(1)
    finally:
        event.remove(db.engine.sync_engine, "after_cursor_execute", record)
    writes = [hit for verb, hit in seen if verb in ("INSERT", "UPDATE", "WITH")]
    assert writes and all(hit == db.engine.dialect.CACHE_HIT for hit in writes), seen


async def test_a_checkout_returns_its_connection_without_a_task_and_commits_only_on_success(
    db: Database,
) -> None:
    """``Database.connect`` gives the connection back inside the block's exit (SQLAlchemy's own
    context closes it in a task of its own: two more turns of a busy loop per statement); a
    write block commits when it ends cleanly and leaves nothing when it raises."""
    from sqlalchemy import select

    from bot.storage.store import conversations

    loop = asyncio.get_running_loop()
    created: list[object] = []
    default_factory = loop.get_task_factory()

    def counting_factory(loop_: asyncio.AbstractEventLoop, coro: object, **kw: object) -> object:
        created.append(coro)
        if default_factory is not None:
            return default_factory(loop_, coro, **kw)  # type: ignore[arg-type]
        return asyncio.Task(coro, loop=loop_, **kw)  # type: ignore[arg-type]

    store = Store(db)
    await store.find_conversation("T1", "C1", "warm")  # the pool has opened a connection
    loop.set_task_factory(counting_factory)  # type: ignore[arg-type]
    try:
        async with db.connect() as conn:
            await conn.execute(select(1))
    finally:
        loop.set_task_factory(default_factory)
    assert created == []
    assert db.engine.pool.checkedout() == 0

    row = {
        "tenant": "T1", "channel": "C1", "model_id": None, "created_at": utcnow(),
        "updated_at": utcnow(), "expires_at": utcnow(),
    }
    async with db.connect(write=True) as conn:
        await conn.execute(conversations.insert().values(thread_ts="kept", **row))
    with pytest.raises(RuntimeError):
        async with db.connect(write=True) as conn:
            await conn.execute(conversations.insert().values(thread_ts="undone", **row))
            raise RuntimeError("the block failed")
    assert await store.find_conversation("T1", "C1", "kept") is not None
    # SQLite rolls the block back; on PostgreSQL each statement committed by itself (autocommit).
    undone = await store.find_conversation("T1", "C1", "undone")
    assert (undone is None) == db.is_sqlite
    assert db.engine.pool.checkedout() == 0


async def test_purge_removes_expired_threads_with_their_vaults(db: Database) -> None:
    store = Store(db, retention=timedelta(days=30))
    old = await store.open_conversation("T1", "C1", "1.0")
    await store.append_exchange(old.id, "u", "a", "m", b"vault")
    fresh = await store.open_conversation("T1", "C1", "2.0")
    await store.append_exchange(fresh.id, "u", "a", "m", b"vault")
    counts = await store.purge(utcnow() + timedelta(days=29))
    assert counts["conversations"] == 0
    counts = await store.purge(utcnow() + timedelta(days=31))
    assert counts == {"conversations": 2, "turns": 4, "vaults": 2, "events": 0}
    assert await store.load_vault(old.id) is None
    assert await store.history(fresh.id) == []


async def test_a_connection_dropped_while_idle_is_replaced_before_use(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database restart or fail-over in a quiet spell costs no answer: the pooled connections
    it killed are pinged (they sat idle) and replaced at checkout."""
    if database_url.startswith("sqlite"):
        return  # SQLite has no server to lose
    import asyncpg
    from sqlalchemy import text

    from bot.storage import db as db_module

    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.05)
    database = Database(database_url)
    try:
        async with database.engine.connect() as conn:
            first_pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        admin = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first_pid)
        finally:
            await admin.close()
        await asyncio.sleep(0.1)
        async with database.engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert pid != first_pid
    finally:
        await database.dispose()


async def test_a_turn_waits_for_a_busy_pool_as_long_as_the_setting_says(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MADOGUCHI_DB_POOL_TIMEOUT reaches the pool (SQLAlchemy's own default, 30 s, made turns of
    an overloaded instance fail and lose their history); a short one fails a checkout that
    finds every connection busy, after that long."""
    import time

    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from bot.settings import Settings

    monkeypatch.setenv("MADOGUCHI_DB_POOL_TIMEOUT", "0.3")
    settings = Settings()
    assert settings.db_pool_timeout == 0.3 and Settings.model_fields["db_pool_timeout"].default == 120
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer and no pool to size")
    db = Database(database_url, pool_size=1, max_overflow=0, pool_timeout=settings.db_pool_timeout)
    try:
        async with db.connect():
            began = time.monotonic()
            with pytest.raises(PoolTimeout):
                async with db.connect():
                    pass
            assert 0.25 < time.monotonic() - began < 5
    finally:
        await db.dispose()
