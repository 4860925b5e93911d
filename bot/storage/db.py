"""Engine, sessions and schema upgrades for SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Table, bindparam, event, insert, literal, select, text, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
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
        self,
        url: str,
        *,
        pool_size: int = 5,
        max_overflow: int = 5,
        pool_timeout: float = 30.0,
        **engine_options: Any,
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
            engine_options.setdefault("pool_timeout", pool_timeout)
            engine_options.setdefault("pool_recycle", 1800)
        self.engine: AsyncEngine = create_async_engine(url, **engine_options)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        elif not engine_options.get("pool_pre_ping"):
            _ping_when_idle(self.engine, PING_AFTER_IDLE_SECONDS)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._combined: dict[tuple[Any, ...], Any] = {}
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

    def connect(self, *, write: bool = False) -> Checkout:
        """A pooled connection for one block of the hot path: ``async with db.connect() as c``.

        On PostgreSQL it is an autocommit connection (see ``autocommit``); ``write=True``
        commits at the end of the block on SQLite, where it is not. Unlike ``engine.connect()``
        the connection goes back to the pool without a task of its own (see :class:`Checkout`).
        """
        return Checkout(self.autocommit, commit=write and self.is_sqlite)

    async def write_together(self, *writes: Write) -> None:
        """Run ``writes`` (INSERT/UPDATE statements) all or none, in order.

        SQLite: one transaction. PostgreSQL: one statement, the writes as its data-modifying
        CTEs (atomic by itself; foreign keys are checked at its end): one round trip instead of
        BEGIN, each write and COMMIT. A single write is sent as it is.
        """
        if len(writes) == 1 or self.is_sqlite:
            async with self.connect(write=True) as conn:
                for write in writes:
                    await conn.execute(write.statement, write.params)
            return
        params: dict[str, Any] = {}
        for write in writes:
            params.update(write.params)
        async with self.connect() as conn:
            await conn.execute(self._together(tuple(w.statement for w in writes)), params)

    def _together(self, statements: tuple[Any, ...]) -> Any:
        """The writes as the CTEs of one statement, built once per combination."""
        # INSERT/UPDATE statements hash and compare by identity: the key is the statements.
        combined = self._combined.get(statements)
        if combined is None:
            ctes = [statement.cte(f"w{i}") for i, statement in enumerate(statements)]
            combined = self._combined[statements] = select(literal(1)).add_cte(*ctes)
        return combined

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


class Checkout:
    """``async with``: a pooled connection, given back to the pool when the block ends.

    SQLAlchemy's own ``async with engine.connect()`` closes the connection in a task of its own
    (so a cancelled caller cannot abandon the close halfway), which costs two more turns of the
    event loop for every statement a turn runs; on a busy instance each turn took tens of
    milliseconds, all the while holding the connection that others queued for
    (bench/bench_load.py). Closing an autocommit connection does no I/O (there is no
    transaction to end), so there is nothing a cancellation could cut short: it is closed here
    directly. With ``commit`` (SQLite, which is not in autocommit), the block's writes are
    committed when it ends without an error; an error rolls them back.
    """

    __slots__ = ("_commit", "_conn", "_engine")

    def __init__(self, engine: AsyncEngine, *, commit: bool = False) -> None:
        self._engine = engine
        self._commit = commit
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> AsyncConnection:
        self._conn = await self._engine.connect()
        return self._conn

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        conn, self._conn = self._conn, None
        assert conn is not None
        try:
            if self._commit and exc_type is None:
                await conn.commit()
        finally:
            await conn.close()


@dataclass(frozen=True)
class Write:
    """One write of :meth:`Database.write_together`: a statement built once, with every value a
    bound parameter, and the values of this call (parameter names unique among the writes)."""

    statement: Any
    params: dict[str, Any]


class RowsInsert:
    """``INSERT INTO table (columns)`` of a fixed number of rows, built once.

    Every value is a bound parameter, so a call builds no statement: SQLAlchemy derives a cache
    key from a statement's whole structure and keeps it on the object, so one built per call
    (``insert(table).values(...)``) paid for that derivation, and for coercing each value into a
    parameter, every turn (a tenth of a busy instance's CPU in bench/bench_load.py). Several rows
    go as ``INSERT … SELECT … UNION ALL SELECT …``, inserted in order.
    """

    def __init__(
        self, table: Table, columns: Sequence[str], rows: int = 1, *, returning: Any = None
    ) -> None:
        self.columns = tuple(columns)
        self.rows = rows
        self.prefix = f"{table.name}_"

        def value(i: int, name: str) -> Any:
            return bindparam(self._name(i, name), type_=table.c[name].type)

        if rows == 1:
            self.statement: Any = insert(table).values({n: value(0, n) for n in self.columns})
        else:
            selects = [select(*(value(i, n) for n in self.columns)) for i in range(rows)]
            self.statement = insert(table).from_select(self.columns, union_all(*selects))
        if returning is not None:
            self.statement = self.statement.returning(returning)

    def _name(self, row: int, column: str) -> str:
        return f"{self.prefix}{row}_{column}"

    def write(self, rows: Sequence[dict[str, Any]]) -> Write:
        """This statement with ``rows`` (a value for every column; ``None`` for NULL)."""
        if len(rows) != self.rows:
            raise ValueError(f"{len(rows)} rows for an insert of {self.rows}")
        params = {self._name(i, n): row[n] for i, row in enumerate(rows) for n in self.columns}
        return Write(self.statement, params)


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
