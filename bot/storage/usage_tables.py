"""Usage records and feedback (issue 4). No column holds text, a name or a Slack id.

* ``usage_events``: one row per turn, the allow-listed fields of :class:`bot.usage.UsageEvent`.
  ``user_pseudonym`` and ``thread_key`` are keyed HMACs; ``key_id`` names the key that made
  them (a fingerprint, not the key), so periods before and after a key rotation stay countable.
* ``usage_entities``: masked and blocked entity counts per type of one event (a child table, so
  reports add them up in SQL on both SQLite and PostgreSQL).
* ``usage_feedback``: the 👍/👎 and 「この回答で節約できた時間」 clicks on an answer. Keyed by event and
  clicker pseudonym; reports count only the asker's own feedback. No foreign key to the event:
  a click may arrive a moment before the event row is written.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.tables import Base


class UsageEventRow(Base):
    """One turn, anonymized."""

    __tablename__ = "usage_events"
    __table_args__ = (
        Index("ix_usage_events_tenant_time", "tenant", "time"),
        Index("ix_usage_events_thread_key", "thread_key"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    user_pseudonym: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    thread_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    department: Mapped[str | None] = mapped_column(String(128), nullable=True)
    channel_type: Mapped[str] = mapped_column(String(16))
    model: Mapped[str | None] = mapped_column(String(128), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    error_kind: Mapped[str | None] = mapped_column(String(64), nullable=True)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    tokens_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    first_token_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)
    template_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    new_conversation: Mapped[bool] = mapped_column(Boolean, default=False)


class UsageEntityRow(Base):
    """How many entities of one type an event masked, and whether that type blocked it."""

    __tablename__ = "usage_entities"

    event_id: Mapped[str] = mapped_column(
        ForeignKey("usage_events.id", ondelete="CASCADE"), primary_key=True
    )
    entity_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    masked: Mapped[int] = mapped_column(Integer, default=0)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)


class UsageFeedbackRow(Base):
    """One person's feedback on one answer (the latest click wins)."""

    __tablename__ = "usage_feedback"
    __table_args__ = (Index("ix_usage_feedback_tenant_updated", "tenant", "updated_at"),)

    event_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    rating: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)  # +1 / -1
    minutes_saved: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
