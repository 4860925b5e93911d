"""Tables of the prompt library (プロンプト集) and the weekly digest (issue 6).

No table here holds a Slack user id or message text: people appear only as keyed pseudonyms
(``bot.usage.pseudonym``), and the library items are templates and tips written to be shared.
Every table is keyed by tenant (the Slack workspace).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.tables import Base


class LibraryItemRow(Base):
    """A template or tip submitted by staff: pending until an admin approves or rejects it.

    ``payload`` is the item as JSON (the fields of ``bot.library_data.Template`` or ``Tip``).
    """

    __tablename__ = "library_items"
    __table_args__ = (
        UniqueConstraint("tenant", "kind", "slug", name="uq_library_item_slug"),
        Index("ix_library_items_status", "tenant", "kind", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # template | tip
    slug: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # pending | approved | rejected
    author: Mapped[str | None] = mapped_column(String(32), nullable=True)  # pseudonym
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PromptUseRow(Base):
    """One run of a template (the modal was submitted): the use counts and the digest's
    measurement of its featured template come from here."""

    __tablename__ = "prompt_uses"
    __table_args__ = (
        Index("ix_prompt_uses_tenant_time", "tenant", "used_at"),
        Index("ix_prompt_uses_template", "tenant", "template_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[str] = mapped_column(String(64))
    user_pseudonym: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))  # library | digest
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DigestSettingsRow(Base):
    """A workspace's digest settings as admins set them from Slack (overrides the defaults)."""

    __tablename__ = "digest_settings"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    channels: Mapped[str] = mapped_column(Text)  # JSON list of channel ids
    schedule: Mapped[str] = mapped_column(String(32))  # "mon 09:00"
    enabled: Mapped[bool] = mapped_column(Boolean)
    featured_pick: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DigestWeekRow(Base):
    """What a workspace's digest carries in one ISO week (the same in every channel): the tip
    (with its rotation cycle, so no tip repeats before all were used) and the featured template."""

    __tablename__ = "digest_weeks"
    __table_args__ = (UniqueConstraint("tenant", "iso_year", "iso_week", name="uq_digest_week"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    iso_year: Mapped[int] = mapped_column(Integer)
    iso_week: Mapped[int] = mapped_column(Integer)
    tip_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    tip_cycle: Mapped[int] = mapped_column(Integer)
    template_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DigestPostRow(Base):
    """The once-per-channel-per-week record, taken *before* posting: the instance whose insert
    succeeds posts; every other instance (or a restart) sees the row and does not."""

    __tablename__ = "digest_posts"
    __table_args__ = (
        UniqueConstraint("tenant", "channel", "iso_year", "iso_week", name="uq_digest_post"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(64))
    iso_year: Mapped[int] = mapped_column(Integer)
    iso_week: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # claimed | posted | failed | unknown
    attempts: Mapped[int] = mapped_column(Integer)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    message_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)


class DigestClickRow(Base):
    """A click on one of a digest's buttons (pseudonymous), for the digest's self-measurement."""

    __tablename__ = "digest_clicks"
    __table_args__ = (Index("ix_digest_clicks_week", "tenant", "iso_year", "iso_week"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    iso_year: Mapped[int] = mapped_column(Integer)
    iso_week: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    user_pseudonym: Mapped[str] = mapped_column(String(32))
    clicked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
