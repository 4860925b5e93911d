"""Admin tables (issue 5): settings, the version counter, custom terms, consent, per-user and
per-thread choices, quota counters and the audit log.

Every table is keyed by tenant (the Slack workspace), so several workspaces can share one
database. Staff appear only as keyed pseudonyms; the audit log names admins by their Slack id
on purpose (admin actions are attributed, admins are accountable). Custom terms are stored
encrypted (they may be residents' names on a watch list).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.tables import Base


class AdminSettingRow(Base):
    """One admin setting of a tenant: a validated JSON document under a fixed key."""

    __tablename__ = "admin_settings"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AdminVersionRow(Base):
    """A counter bumped with every admin change: instances compare it to refresh their cache."""

    __tablename__ = "admin_versions"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CustomTermRow(Base):
    """A term that must be masked or blocked; the term itself is encrypted."""

    __tablename__ = "custom_terms"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Keyed hash of the folded term: finds duplicates and removals without decrypting.
    term_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    action: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConsentRow(Base):
    """A staff member (pseudonym) accepted a version of the usage guideline."""

    __tablename__ = "consents"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UserPrefRow(Base):
    """A staff member's choices in one channel or DM: picked model, declared tier."""

    __tablename__ = "user_prefs"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    tier: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ThreadStateRow(Base):
    """What a thread has become: the highest tier it was served at, and who started it."""

    __tablename__ = "thread_states"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    thread_ts: Mapped[str] = mapped_column(String(64), primary_key=True)
    tier: Mapped[int] = mapped_column(SmallInteger)
    starter_pseudonym: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class QuotaUsageRow(Base):
    """Tokens and cost one staff member (pseudonym) used on one local day."""

    __tablename__ = "quota_usage"
    __table_args__ = (Index("ix_quota_usage_tenant_day", "tenant", "day"),)

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, local time
    tokens: Mapped[int] = mapped_column(BigInteger)
    cost: Mapped[float] = mapped_column(Float)


class AdminAuditRow(Base):
    """Who changed what, before and after, when. Append-only (a trigger refuses changes)."""

    __tablename__ = "admin_audit"
    __table_args__ = (Index("ix_admin_audit_tenant_id", "tenant", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The admin's Slack user id; NULL for a refused non-admin (staff stay pseudonymous).
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    actor_pseudonym: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(256), nullable=True)
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))  # ok | denied
