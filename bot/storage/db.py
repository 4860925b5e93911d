"""Engine, sessions and schema upgrades for SQLite and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Table, event, insert, literal, select, text, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# pg_advisory_xact_lock key serialising schema migrations between instances ("madoguchi").
_MIGRATION_LOCK = 0x6D61646F
# A pooled PostgreSQL connection idle this long is pinged before use (see _ping_when_idle).
PING_AFTER_IDLE_SECONDS = 5.0


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration pointing at the shipped migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Database:
    """An async engine plus a session factory; one per process."""

    def __init__(
        self, url: str, *, pool_size: int = 5, max_overflow: int = 5, **engine_options: Any
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            # One writer at a time: SQLite serialises writes anyway, and a pool avoids
            # "database is locked" under concurrent turns.
            engine_options.setdefault("connect_args", {"timeout": 30})
        else:
            # The serving runtime passes MADOGUCHI_DB_POOL_SIZE / _MAX_OVERFLOW; commands that
            # run once (reports, migrations) need few. SQLite has one writer and no pool to size.
            engine_options.setdefault("pool_size", pool_size)
            engine_options.setdefault("max_overflow", max_overflow)
            engine_options.setdefault("pool_recycle", 1800)
        self.engine: AsyncEngine = create_async_engine(url, **engine_options)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        elif not engine_options.get("pool_pre_ping"):
            _ping_when_idle(self.engine, PING_AFTER_IDLE_SECONDS)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        #: For reads and single-statement writes that need no transaction of their own. On
        #: PostgreSQL every pooled connection otherwise wraps its first statement in BEGIN and
        #: ends with ROLLBACK (two round trips more); each statement already sees its own
        #: committed snapshot (READ COMMITTED), so autocommit changes nothing they see.
        #: SQLite keeps its engine (the level would be switched on a thread hop each time).
        self.autocommit: AsyncEngine = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    def session(self) -> AsyncSession:
        """A new session; use as ``async with db.session() as s``."""
        return self.sessions()

    async def write_together(self, *writes: Any) -> None:
        """Run ``writes`` (INSERT/UPDATE statements) all or none, in order.

        SQLite: one transaction. PostgreSQL: one statement, the writes as its data-modifying
        CTEs (atomic by itself; foreign keys are checked at its end): one round trip instead of
        BEGIN, each write and COMMIT. A single write is sent as it is.
        """
        if len(writes) == 1 or self.is_sqlite:
            async with self.autocommit.begin() as conn:
                for write in writes:
                    await conn.execute(write)
            return
        ctes = [write.cte(f"w{i}") for i, write in enumerate(writes)]
        async with self.autocommit.connect() as conn:
            await conn.execute(select(literal(1)).add_cte(*ctes))

    async def ping(self) -> bool:
        """True when the database answers."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def current_revision(self) -> str | None:
        """The schema revision the database is at (None for an empty database)."""
        async with self.engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )

    @staticmethod
    def head_revision() -> str | None:
        """The newest revision the shipped migrations know."""
        return ScriptDirectory.from_config(alembic_config()).get_current_head()

    async def upgrade(self, revision: str = "head") -> None:
        """Run the migrations up to ``revision`` on this database."""
        async with self.engine.begin() as conn:
            if not self.is_sqlite:
                # Several instances may start at once against an old schema: one migrates, the
                # others wait here (the lock ends with this transaction) and then find nothing
                # left to do. (SQLite serves one machine: run `madoguchi db upgrade` first.)
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            await conn.run_sync(_upgrade, revision)

    async def ensure_schema(self) -> bool:
        """Upgrade when the schema is behind the code; return True when it ran migrations."""
        if await self.current_revision() == self.head_revision():
            return False
        await self.upgrade()
        return True

    async def dispose(self) -> None:
        """Close the pool."""
        await self.engine.dispose()


def insert_rows(table: Table, rows: list[dict[str, Any]]) -> Any:
    """``INSERT INTO table … SELECT row UNION ALL SELECT row …``: several rows in one statement,
    inserted in order, that SQLAlchemy can cache.

    ``insert(table).values([row, row])`` renders the same SQL shape but has no cache key, so it is
    compiled anew on every call (with a CTE around it, the costliest statement of a turn). Here
    each value is a bound parameter and the statement is cached per table, columns and row count.
    """
    if len(rows) == 1:
        return insert(table).values(rows[0])
    names = list(rows[0])
    columns = [table.c[name] for name in names]
    selects = [
        select(*[literal(row[name], column.type) for name, column in zip(names, columns, strict=True)])
        for row in rows
    ]
    return insert(table).from_select(names, union_all(*selects))


def _upgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    # env.py uses this connection instead of opening its own (the async cookbook pattern).
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Ping a pooled connection at checkout only when it sat idle longer than ``idle_seconds``.

    ``pool_pre_ping`` pings at every checkout, which on asyncpg is ``BEGIN; ; ROLLBACK`` (three
    round trips): under load that was half of all PostgreSQL transactions (BENCHMARKS.md). A
    connection that was in use a moment ago is alive; one that sat through a quiet spell (when a
    restart or fail-over goes unnoticed) is checked. A dead one is replaced before use: the pool
    retries a checkout that raises ``DisconnectionError`` (SQLAlchemy's "pessimistic" disconnect
    handling with a checkout event).
    """
    pool = engine.sync_engine.pool

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError("idle connection is gone") from exc

    event.listen(pool, "checkin", checkin)
    event.listen(pool, "checkout", checkout)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
