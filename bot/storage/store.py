"""Queries the core needs, written once for SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from bot.storage.db import Database
from bot.storage.tables import ConversationRow, ProcessedEventRow, TurnRow, VaultRow


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


def _conversation(row: ConversationRow) -> Conversation:
    return Conversation(row.id, row.tenant, row.channel, row.thread_ts, row.model_id)


class Store:
    """Conversations, masked turns, sealed vaults and processed events."""

    def __init__(self, db: Database, retention: timedelta = timedelta(days=30)) -> None:
        self.db = db
        self.retention = retention

    async def claim_event(self, event_id: str, tenant: str) -> bool:
        """Record a Slack event id; False when it was already taken (a retry or another instance)."""
        async with self.db.session() as session:
            session.add(ProcessedEventRow(event_id=event_id, tenant=tenant, received_at=utcnow()))
            try:
                await session.commit()
            except IntegrityError:
                return False
        return True

    async def find_conversation(
        self, tenant: str, channel: str, thread_ts: str
    ) -> Conversation | None:
        """The conversation of a thread, if the bot is part of it."""
        async with self.db.session() as session:
            row = await session.scalar(
                select(ConversationRow).where(
                    ConversationRow.tenant == tenant,
                    ConversationRow.channel == channel,
                    ConversationRow.thread_ts == thread_ts,
                )
            )
            return _conversation(row) if row else None

    async def open_conversation(
        self, tenant: str, channel: str, thread_ts: str, model_id: str | None = None
    ) -> Conversation:
        """Find or create the conversation of a thread (safe when two instances race)."""
        found = await self.find_conversation(tenant, channel, thread_ts)
        if found:
            return found
        now = utcnow()
        async with self.db.session() as session:
            row = ConversationRow(
                tenant=tenant,
                channel=channel,
                thread_ts=thread_ts,
                model_id=model_id,
                created_at=now,
                updated_at=now,
                expires_at=now + self.retention,
            )
            session.add(row)
            try:
                await session.commit()
                return _conversation(row)
            except IntegrityError:
                await session.rollback()
        found = await self.find_conversation(tenant, channel, thread_ts)
        assert found is not None  # the other writer's row is committed
        return found

    async def set_model(self, conversation_id: int, model_id: str) -> None:
        """Remember which model answers a conversation."""
        async with self.db.session() as session:
            await session.execute(
                update(ConversationRow)
                .where(ConversationRow.id == conversation_id)
                .values(model_id=model_id)
            )
            await session.commit()

    async def history(self, conversation_id: int) -> list[dict[str, str]]:
        """The masked turns of a conversation, oldest first, as chat messages."""
        async with self.db.session() as session:
            rows = await session.scalars(
                select(TurnRow)
                .where(TurnRow.conversation_id == conversation_id)
                .order_by(TurnRow.id)
            )
            return [{"role": r.role, "content": r.content} for r in rows]

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
        async with self.db.session() as session, session.begin():
            session.add_all(
                [
                    TurnRow(
                        conversation_id=conversation_id,
                        role="user",
                        content=user_text,
                        model_id=model_id,
                        created_at=now,
                    ),
                    TurnRow(
                        conversation_id=conversation_id,
                        role="assistant",
                        content=assistant_text,
                        model_id=model_id,
                        created_at=now,
                    ),
                ]
            )
            await session.execute(
                update(ConversationRow)
                .where(ConversationRow.id == conversation_id)
                .values(updated_at=now, expires_at=now + self.retention, model_id=model_id)
            )
            if sealed_vault is not None:
                await self._put_vault(session, conversation_id, sealed_vault, now)

    async def load_vault(self, conversation_id: int) -> bytes | None:
        """The sealed vault of a conversation, if any."""
        async with self.db.session() as session:
            row = await session.get(VaultRow, conversation_id)
            return row.sealed if row else None

    async def save_vault(self, conversation_id: int, sealed: bytes) -> None:
        """Store the sealed vault of a conversation."""
        async with self.db.session() as session, session.begin():
            await self._put_vault(session, conversation_id, sealed, utcnow())

    @staticmethod
    async def _put_vault(session, conversation_id: int, sealed: bytes, now: datetime) -> None:  # type: ignore[no-untyped-def]
        row = await session.get(VaultRow, conversation_id)
        if row is None:
            session.add(VaultRow(conversation_id=conversation_id, sealed=sealed, updated_at=now))
        else:
            row.sealed = sealed
            row.updated_at = now

    async def purge(
        self, now: datetime | None = None, *, everything: bool = False
    ) -> dict[str, int]:
        """Delete expired conversations (with their turns and vaults) and old event ids."""
        now = now or utcnow()
        async with self.db.session() as session, session.begin():
            expired = select(ConversationRow.id)
            if not everything:
                expired = expired.where(ConversationRow.expires_at <= now)
            ids = list(await session.scalars(expired))
            # Explicit deletes: SQLite only cascades with foreign_keys on, and we never rely on it.
            turns = await session.execute(delete(TurnRow).where(TurnRow.conversation_id.in_(ids)))
            vaults = await session.execute(
                delete(VaultRow).where(VaultRow.conversation_id.in_(ids))
            )
            await session.execute(delete(ConversationRow).where(ConversationRow.id.in_(ids)))
            events = await session.execute(
                delete(ProcessedEventRow).where(
                    ProcessedEventRow.received_at <= now - timedelta(days=2)
                )
            )
        return {
            "conversations": len(ids),
            "turns": turns.rowcount or 0,
            "vaults": vaults.rowcount or 0,
            "events": events.rowcount or 0,
        }
