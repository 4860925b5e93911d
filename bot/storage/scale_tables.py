"""Tables for running at scale: Slack installations (one row per workspace, tokens encrypted),
OAuth state values, and the database fallback of :mod:`bot.coordination` (leases and counters).

No table here holds a Slack user id: the installer is kept as a keyed pseudonym.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.tables import Base


class InstallationRow(Base):
    """One workspace (or Enterprise Grid organisation) that installed the app via OAuth.

    ``enterprise_id``/``team_id`` are ``""`` rather than NULL so the unique key works on every
    database; ``tenant`` is the key the other tables use for the workspace.
    """

    __tablename__ = "slack_installations"
    __table_args__ = (
        UniqueConstraint("client_id", "enterprise_id", "team_id", name="uq_slack_installation"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(64))
    app_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    enterprise_id: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[str] = mapped_column(String(32))
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    enterprise_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    team_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    is_enterprise_install: Mapped[bool] = mapped_column(Boolean)
    bot_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    bot_user_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    bot_scopes: Mapped[str] = mapped_column(String(1000))
    # Fernet tokens (see handlers/oauth.py); never the plain token.
    bot_token_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    bot_refresh_token_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    bot_token_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    installer_pseudonym: Mapped[str | None] = mapped_column(String(64), nullable=True)
    installed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OAuthStateRow(Base):
    """A state value issued at /slack/install, consumed once at the redirect (any instance)."""

    __tablename__ = "slack_oauth_states"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class LeaseRow(Base):
    """A held slot of a shared lock or concurrency limit (``limit`` slots per key)."""

    __tablename__ = "coordination_leases"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class CounterRow(Base):
    """A shared counter that starts again from zero once it expires."""

    __tablename__ = "coordination_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
