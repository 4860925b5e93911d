"""Queries the core needs, written once for SQLite and PostgreSQL.

SQLAlchemy Core statements on pooled connections rather than ORM sessions: a turn touches the
database a handful of times and the ORM's unit of work was the largest CPU cost per turn
(bench/bench_chat.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Text, bindparam, cast, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.db import Database, RowsInsert, Write
from bot.storage.tables import ConversationRow, ProcessedEventRow, TurnRow, VaultRow

conversations = ConversationRow.__table__
turns = TurnRow.__table__
vaults = VaultRow.__table__
processed_events = ProcessedEventRow.__table__


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Conversation:
    """A stored thread."""

    id: int
    tenant: str
    channel: str
    thread_ts: str
    model_id: str | None


@dataclass
class ThreadState:
    """What a turn needs of its thread, read in one go: the conversation (None for a new
    thread), its masked history and its sealed vault."""

    conversation: Conversation | None
    history: list[dict[str, str]] = field(default_factory=list)
    sealed_vault: bytes | None = None


_CONVERSATION_COLUMNS = (
    conversations.c.id,
    conversations.c.tenant,
    conversations.c.channel,
    conversations.c.thread_ts,
    conversations.c.model_id,
)


# The statements of every turn, built once: SQLAlchemy finds a statement in its compiled cache by
# a key it derives from the statement's whole structure, and remembers that key on the statement
# object, so one built per call costs that derivation (about a third of its execution) each time.
_THIS_THREAD = (
    conversations.c.tenant == bindparam("tenant"),
    conversations.c.channel == bindparam("channel"),
    conversations.c.thread_ts == bindparam("thread_ts"),
)
_FIND = select(*_CONVERSATION_COLUMNS).where(*_THIS_THREAD)
_THREAD_WITH_VAULT = (
    select(*_CONVERSATION_COLUMNS, vaults.c.sealed)
    .outerjoin(vaults, vaults.c.conversation_id == conversations.c.id)
    .where(*_THIS_THREAD)
)
_HISTORY = (
    select(turns.c.role, turns.c.content)
    .where(turns.c.conversation_id == bindparam("conversation_id"))
    .order_by(turns.c.id)
)
# PostgreSQL: the history in the same statement, as a JSON array of [role, content] pairs,
# oldest first: one round trip per turn instead of two, each a wait for the database (and,
# on a busy machine, for a CPU to run it on). SQLite runs in process and keeps two.
_HISTORY_JSON = (
    select(
        cast(
            func.json_agg(
                aggregate_order_by(func.json_build_array(turns.c.role, turns.c.content), turns.c.id)
            ),
            Text,
        )
    )
    .where(turns.c.conversation_id == conversations.c.id)
    .scalar_subquery()
)
_THREAD_WITH_HISTORY = (
    select(*_CONVERSATION_COLUMNS, vaults.c.sealed, _HISTORY_JSON)
    .outerjoin(vaults, vaults.c.conversation_id == conversations.c.id)
    .where(*_THIS_THREAD)
)


_CLAIM = RowsInsert(processed_events, ("event_id", "tenant", "received_at"))
_EXCHANGE = RowsInsert(turns, ("conversation_id", "role", "content", "model_id", "created_at"), 2)
_OPEN = RowsInsert(
    conversations,
    ("tenant", "channel", "thread_ts", "model_id", "created_at", "updated_at", "expires_at"),
    returning=conversations.c.id,
)
_TOUCH = (
    update(conversations)
    .where(conversations.c.id == bindparam("touch_id"))
    .values(
        updated_at=bindparam("touch_updated_at", type_=conversations.c.updated_at.type),
        expires_at=bindparam("touch_expires_at", type_=conversations.c.expires_at.type),
        model_id=bindparam("touch_model_id", type_=conversations.c.model_id.type),
    )
)


def _vault_upsert(dialect_insert: Any) -> Any:
    statement = dialect_insert(vaults).values(
        conversation_id=bindparam("vault_id", type_=vaults.c.conversation_id.type),
        sealed=bindparam("vault_sealed", type_=vaults.c.sealed.type),
        updated_at=bindparam("vault_at", type_=vaults.c.updated_at.type),
    )
    return statement.on_conflict_do_update(
        index_elements=[vaults.c.conversation_id],
        set_={"sealed": statement.excluded.sealed, "updated_at": statement.excluded.updated_at},
    )


#: By ``Database.is_sqlite``.
_VAULT_UPSERT = {False: _vault_upsert(postgresql.insert), True: _vault_upsert(sqlite.insert)}


class Store:
    """Conversations, masked turns, sealed vaults and processed events."""

    def __init__(self, db: Database, retention: timedelta = timedelta(days=30)) -> None:
        self.db = db
        self.retention = retention

    async def claim_event(self, event_id: str, tenant: str) -> bool:
        """Record a Slack event id; False when it was already taken (a retry or another instance)."""
        try:
            claim = _CLAIM.write([{"event_id": event_id, "tenant": tenant, "received_at": utcnow()}])
            async with self.db.connect(write=True) as conn:
                await conn.execute(claim.statement, claim.params)
        except IntegrityError:
            return False
        return True

    async def find_conversation(
        self, tenant: str, channel: str, thread_ts: str
    ) -> Conversation | None:
        """The conversation of a thread, if the bot is part of it."""
        async with self.db.connect() as conn:
            return await self._find(conn, tenant, channel, thread_ts)

    @staticmethod
    async def _find(
        conn: AsyncConnection, tenant: str, channel: str, thread_ts: str
    ) -> Conversation | None:
        where = {"tenant": tenant, "channel": channel, "thread_ts": thread_ts}
        row = (await conn.execute(_FIND, where)).first()
        return Conversation(*row) if row else None

    async def load_thread(self, tenant: str, channel: str, thread_ts: str) -> ThreadState:
        """The conversation of a thread with its sealed vault and its history: one statement on
        PostgreSQL; on SQLite the history is a second one, on the same connection."""
        where = {"tenant": tenant, "channel": channel, "thread_ts": thread_ts}
        if not self.db.is_sqlite:
            async with self.db.connect() as conn:
                row = (await conn.execute(_THREAD_WITH_HISTORY, where)).first()
            if row is None:
                return ThreadState(None)
            pairs = orjson.loads(row[-1]) if row[-1] else []
            history = [{"role": role, "content": content} for role, content in pairs]
            return ThreadState(Conversation(*row[:-2]), history, row[-2])
        async with self.db.connect() as conn:
            row = (await conn.execute(_THREAD_WITH_VAULT, where)).first()
            if row is None:
                return ThreadState(None)
            found = Conversation(*row[:-1])
            history = await conn.execute(_HISTORY, {"conversation_id": found.id})
            return ThreadState(found, [{"role": r, "content": c} for r, c in history], row[-1])

    async def open_conversation(
        self, tenant: str, channel: str, thread_ts: str, model_id: str | None = None
    ) -> Conversation:
        """Create the conversation of a thread, or return it if it exists (safe when two
        instances race for the same thread)."""
        now = utcnow()
        try:
            async with self.db.connect(write=True) as conn:
                row = {
                    "tenant": tenant,
                    "channel": channel,
                    "thread_ts": thread_ts,
                    "model_id": model_id,
                    "created_at": now,
                    "updated_at": now,
                    "expires_at": now + self.retention,
                }
                opening = _OPEN.write([row])
                new_id = await conn.scalar(opening.statement, opening.params)
            return Conversation(int(new_id), tenant, channel, thread_ts, model_id)
        except IntegrityError:
            found = await self.find_conversation(tenant, channel, thread_ts)
            assert found is not None  # the other writer's row is committed
            return found

    async def history(self, conversation_id: int) -> list[dict[str, str]]:
        """The masked turns of a conversation, oldest first, as chat messages."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(_HISTORY, {"conversation_id": conversation_id})
            return [{"role": r, "content": c} for r, c in rows]

    async def append_exchange(
        self,
        conversation_id: int,
        user_text: str,
        assistant_text: str,
        model_id: str,
        sealed_vault: bytes | None,
    ) -> None:
        """Store a completed exchange (masked) and the vault, and extend the thread's life."""
        now = utcnow()
        turn = {"conversation_id": conversation_id, "model_id": model_id, "created_at": now}
        writes = [
            # Both turns in one INSERT, the user's first: history is ordered by id.
            _EXCHANGE.write(
                [
                    {**turn, "role": "user", "content": user_text},
                    {**turn, "role": "assistant", "content": assistant_text},
                ]
            ),
            Write(
                _TOUCH,
                {
                    "touch_id": conversation_id,
                    "touch_updated_at": now,
                    "touch_expires_at": now + self.retention,
                    "touch_model_id": model_id,
                },
            ),
        ]
        if sealed_vault is not None:
            upsert = _VAULT_UPSERT[self.db.is_sqlite]
            params = {"vault_id": conversation_id, "vault_sealed": sealed_vault, "vault_at": now}
            writes.append(Write(upsert, params))
        await self.db.write_together(*writes)

    async def load_vault(self, conversation_id: int) -> bytes | None:
        """The sealed vault of a conversation, if any."""
        async with self.db.engine.connect() as conn:
            return await conn.scalar(
                select(vaults.c.sealed).where(vaults.c.conversation_id == conversation_id)
            )

    @staticmethod
    async def delete_conversations(conn: AsyncConnection, ids: list[int]) -> tuple[int, int]:
        """Delete conversations with their turns and vaults on ``conn`` (inside the caller's
        transaction); returns how many turns and vaults went."""
        # Explicit deletes: SQLite only cascades with foreign_keys on, and we never rely on it.
        removed_turns = await conn.execute(delete(turns).where(turns.c.conversation_id.in_(ids)))
        removed_vaults = await conn.execute(
            delete(vaults).where(vaults.c.conversation_id.in_(ids))
        )
        await conn.execute(delete(conversations).where(conversations.c.id.in_(ids)))
        return removed_turns.rowcount or 0, removed_vaults.rowcount or 0

    async def purge(
        self, now: datetime | None = None, *, everything: bool = False
    ) -> dict[str, int]:
        """Delete expired conversations (with their turns and vaults) and old event ids."""
        now = now or utcnow()
        async with self.db.engine.begin() as conn:
            expired = select(conversations.c.id)
            if not everything:
                expired = expired.where(conversations.c.expires_at <= now)
            ids = list(await conn.scalars(expired))
            removed_turns, removed_vaults = await self.delete_conversations(conn, ids)
            events = await conn.execute(
                delete(processed_events).where(
                    processed_events.c.received_at <= now - timedelta(days=2)
                )
            )
        return {
            "conversations": len(ids),
            "turns": removed_turns,
            "vaults": removed_vaults,
            "events": events.rowcount or 0,
        }
