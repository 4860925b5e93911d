"""Where and when each workspace's digest goes.

The defaults come from settings (``MADOGUCHI_DIGEST_CHANNELS``, ``MADOGUCHI_DIGEST_SCHEDULE``)
and apply to the bot token's own workspace; an admin's ``/madoguchi-admin digest …`` writes a
row in ``digest_settings`` that overrides them for that workspace. Every instance reads the
table, so a change made through one instance reaches the others at their next check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy import select

from bot.digest.weeks import Schedule
from bot.storage.db import Database
from bot.storage.library_tables import DigestSettingsRow


@dataclass(frozen=True)
class DigestConfig:
    """One workspace's digest settings."""

    tenant: str
    channels: tuple[str, ...] = ()
    schedule: Schedule = field(default_factory=lambda: Schedule(0, 9, 0))
    enabled: bool = True
    featured_pick: str | None = None
    stored: bool = False  # True when an admin has set it (a row exists)

    @property
    def active(self) -> bool:
        """True when a digest should go out: enabled and at least one channel."""
        return self.enabled and bool(self.channels)


class DigestConfigStore:
    """Reads and writes ``digest_settings``; falls back to the deployment's defaults."""

    def __init__(
        self,
        db: Database,
        *,
        default_channels: list[str] | tuple[str, ...] = (),
        default_schedule: str = "mon 09:00",
        default_enabled: bool = True,
    ) -> None:
        self.db = db
        self.default_channels = tuple(default_channels)
        self.default_schedule = Schedule.parse(default_schedule)
        self.default_enabled = default_enabled

    def default(self, tenant: str, *, home: bool) -> DigestConfig:
        """The settings' defaults for ``tenant`` (channels only for the token's workspace)."""
        return DigestConfig(
            tenant,
            self.default_channels if home else (),
            self.default_schedule,
            self.default_enabled,
        )

    async def get(self, tenant: str, *, home: bool = True) -> DigestConfig:
        """The effective settings of ``tenant``."""
        async with self.db.session() as session:
            row = await session.get(DigestSettingsRow, tenant)
        return _config(row) if row else self.default(tenant, home=home)

    async def all(self, home_tenant: str | None) -> list[DigestConfig]:
        """Every workspace with digest settings: stored rows, plus the defaults for the token's
        workspace when it has no row."""
        async with self.db.session() as session:
            rows = list(await session.scalars(select(DigestSettingsRow)))
        configs = [_config(row) for row in rows]
        if home_tenant and all(c.tenant != home_tenant for c in configs):
            configs.append(self.default(home_tenant, home=True))
        return configs

    async def update(self, tenant: str, *, home: bool = True, **changes: object) -> DigestConfig:
        """Change some settings of ``tenant`` (``channels``, ``schedule``, ``enabled``,
        ``featured_pick``); the first change copies the defaults into a row."""
        async with self.db.session() as session, session.begin():
            row = await session.get(DigestSettingsRow, tenant, with_for_update=True)
            current = _config(row) if row else self.default(tenant, home=home)
            new = replace(current, **changes, stored=True)  # type: ignore[arg-type]
            values = {
                "channels": json.dumps(list(new.channels)),
                "schedule": str(new.schedule),
                "enabled": new.enabled,
                "featured_pick": new.featured_pick,
                "updated_at": datetime.now(UTC),
            }
            if row is None:
                session.add(DigestSettingsRow(tenant=tenant, **values))
            else:
                for key, value in values.items():
                    setattr(row, key, value)
        return new


def _config(row: DigestSettingsRow) -> DigestConfig:
    try:
        channels = tuple(str(c) for c in json.loads(row.channels))
    except ValueError:
        channels = ()
    return DigestConfig(
        row.tenant,
        channels,
        Schedule.parse(row.schedule),
        bool(row.enabled),
        row.featured_pick,
        stored=True,
    )
