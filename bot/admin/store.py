"""The admin settings store: validated documents in the database, a short in-process cache,
and a per-tenant version counter so every instance sees a change within the cache interval.

Reading: :meth:`AdminStore.config` returns the tenant's :class:`TenantConfig`. Within ``ttl``
seconds of the last check it answers from memory; after that it reads the version row (one
primary-key lookup) and reloads everything only when the version moved.

Writing: every change runs in one transaction that first bumps the version row (which also
serialises concurrent admins on the same tenant: the row lock on PostgreSQL, the write lock on
SQLite), then reads, validates and writes the document, and appends an audit row. The audit
table is append-only: this class has no way to change or delete a row, and the migration adds a
trigger that refuses UPDATE and DELETE.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel, ValidationError
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.admin.config import DOCUMENTS, TenantConfig, TermEntry
from bot.admin.terms import TermSealer, redact
from bot.masking import Action, MaskingPolicy
from bot.storage import Database
from bot.storage.admin_tables import (
    AdminAuditRow,
    AdminSettingRow,
    AdminVersionRow,
    CustomTermRow,
)

log = structlog.get_logger("madoguchi.admin.store")

Doc = TypeVar("Doc", bound=BaseModel)

MAX_TERMS = 20_000
MAX_TERM_CHARS = 200


class AdminError(Exception):
    """A change was refused (invalid value, unknown model…); ``key`` names the message."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class Actor:
    """Who asks for a change: the admin's Slack id (attributed) and their pseudonym."""

    tenant: str
    user: str
    pseudonym: str


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log, as shown to admins."""

    id: int
    at: datetime
    actor: str | None
    actor_pseudonym: str
    action: str
    target: str | None
    before: Any
    after: Any
    outcome: str


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


def upsert(db: Database) -> Any:
    """The dialect's ``insert`` that supports ``on_conflict_do_update``."""
    if db.is_sqlite:
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    return insert


# Read every few seconds by every instance (built once: see bot/storage/store.py).
_VERSION = select(AdminVersionRow.version).where(AdminVersionRow.tenant == bindparam("tenant"))


@dataclass
class _Cached:
    config: TenantConfig
    checked: float


class AdminStore:
    """Admin settings, custom terms and the audit log of every tenant."""

    def __init__(
        self,
        db: Database,
        *,
        base_policy: MaskingPolicy,
        term_key: bytes,
        ttl: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.base_policy = base_policy
        self.sealer = TermSealer(term_key)
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, _Cached] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # ------------------------------------------------------------------ reading

    async def config(self, tenant: str) -> TenantConfig:
        """The tenant's settings; at most ``ttl`` seconds (plus one reload) behind another
        instance's change."""
        cached = self._cache.get(tenant)
        if cached is not None and self.clock() - cached.checked < self.ttl:
            return cached.config
        # One reload per tenant at a time, however many turns arrive together. While it runs,
        # the others go on with the settings they have (a busy instance answers hundreds of
        # turns a second, and they all queued behind that one check: seconds at N = 1,000 in
        # bench/bench_load.py); only a tenant seen for the first time waits.
        lock = self._locks.setdefault(tenant, asyncio.Lock())
        if cached is not None and lock.locked():
            return cached.config
        async with lock:
            cached = self._cache.get(tenant)
            if cached is not None and self.clock() - cached.checked < self.ttl:
                return cached.config
            checked = self.clock()
            async with self.db.connect() as conn:
                version = int(await conn.scalar(_VERSION, {"tenant": tenant}) or 0)
            if cached is not None and cached.config.version == version:
                cached.checked = checked
                return cached.config
            async with self.db.session() as session:
                config = await self._load(session, tenant, version)
            self._cache[tenant] = _Cached(config, checked)
            return config

    def invalidate(self, tenant: str | None = None) -> None:
        """Forget the cached settings of ``tenant`` (or of every tenant)."""
        if tenant is None:
            self._cache.clear()
        else:
            self._cache.pop(tenant, None)


    async def _load(self, session: AsyncSession, tenant: str, version: int) -> TenantConfig:
        docs: dict[str, Any] = {}
        rows = await session.scalars(
            select(AdminSettingRow).where(AdminSettingRow.tenant == tenant)
        )
        for row in rows:
            cls = DOCUMENTS.get(row.key)
            if cls is None:
                continue
            try:
                docs[row.key] = cls.model_validate_json(row.value)
            except ValidationError:
                # Only this code writes these rows (validated); keep the defaults and say so.
                log.error("admin.setting_invalid", key=row.key)
        terms = []
        for row in await session.scalars(
            select(CustomTermRow).where(CustomTermRow.tenant == tenant)
        ):
            try:
                terms.append(TermEntry(self.sealer.unseal(row.sealed), Action(row.action)))
            except Exception as exc:
                log.error("admin.term_unreadable", error_type=type(exc).__name__)
        return TenantConfig(
            tenant=tenant,
            version=version,
            terms=tuple(terms),
            base_policy=self.base_policy,
            **docs,
        )

    # ------------------------------------------------------------------ writing

    async def change(
        self,
        actor: Actor,
        key: str,
        action: str,
        mutate: Callable[[Doc], Doc],
        *,
        target: str | None = None,
        view: Callable[[Doc], Any] | None = None,
    ) -> tuple[Doc, Doc]:
        """Apply ``mutate`` to the document ``key`` and audit it; returns (before, after).

        ``mutate`` gets the current document and returns the new one, or raises
        :class:`AdminError` (nothing is written then). ``view`` picks what the audit row shows
        of the document (default: all of it).
        """
        cls = DOCUMENTS[key]
        shown = view or (lambda doc: doc.model_dump(mode="json"))
        async with self.db.session() as session, session.begin():
            now = await self._bump(session, actor.tenant)
            row = await session.get(AdminSettingRow, (actor.tenant, key))
            before: Any = cls.model_validate_json(row.value) if row else cls()
            after = mutate(before)
            try:
                after = cls.model_validate(after.model_dump())
            except ValidationError as exc:
                raise AdminError("admin_invalid_value", detail=_first_error(exc)) from None
            value = after.model_dump_json()
            if row is None:
                session.add(
                    AdminSettingRow(tenant=actor.tenant, key=key, value=value, updated_at=now)
                )
            else:
                row.value, row.updated_at = value, now
            session.add(
                self._audit_row(actor, action, target, shown(before), shown(after), "ok", now)
            )
        self.invalidate(actor.tenant)
        return before, after

    async def add_term(self, actor: Actor, term: str, action: Action) -> bool:
        """Store (or re-action) a custom term; True when it is new."""
        term = term.strip()
        if not term or len(term) > MAX_TERM_CHARS:
            raise AdminError("admin_term_invalid", limit=MAX_TERM_CHARS)
        identity = self.sealer.identity(term)
        async with self.db.session() as session, session.begin():
            now = await self._bump(session, actor.tenant)
            row = await session.get(CustomTermRow, (actor.tenant, identity))
            before = None if row is None else row.action
            if row is None:
                count = await session.scalar(
                    select(func.count())
                    .select_from(CustomTermRow)
                    .where(CustomTermRow.tenant == actor.tenant)
                )
                if (count or 0) >= MAX_TERMS:
                    raise AdminError("admin_terms_full", limit=MAX_TERMS)
                session.add(
                    CustomTermRow(
                        tenant=actor.tenant,
                        term_hash=identity,
                        sealed=self.sealer.seal(term),
                        action=str(action),
                        created_at=now,
                    )
                )
            else:
                row.action = str(action)
            session.add(
                self._audit_row(actor, "terms.add", redact(term), before, str(action), "ok", now)
            )
        self.invalidate(actor.tenant)
        return before is None

    async def remove_term(self, actor: Actor, term: str) -> None:
        """Delete a custom term (matched in its folded form)."""
        identity = self.sealer.identity(term.strip())
        async with self.db.session() as session, session.begin():
            now = await self._bump(session, actor.tenant)
            row = await session.get(CustomTermRow, (actor.tenant, identity))
            if row is None:
                raise AdminError("admin_term_not_found")
            before = row.action
            await session.execute(
                delete(CustomTermRow).where(
                    CustomTermRow.tenant == actor.tenant, CustomTermRow.term_hash == identity
                )
            )
            session.add(
                self._audit_row(actor, "terms.remove", redact(term), before, None, "ok", now)
            )
        self.invalidate(actor.tenant)

    async def record(
        self,
        actor: Actor,
        action: str,
        *,
        target: str | None = None,
        before: Any = None,
        after: Any = None,
        outcome: str = "ok",
        attributed: bool = True,
    ) -> None:
        """Append an audit row for something that is not a settings document (a report sent,
        a refused attempt…). ``attributed=False`` keeps the actor pseudonymous (non-admins)."""
        async with self.db.session() as session, session.begin():
            session.add(
                self._audit_row(
                    actor, action, target, before, after, outcome, utcnow(), attributed=attributed
                )
            )

    async def recent(self, tenant: str, limit: int = 10) -> list[AuditEntry]:
        """The newest ``limit`` audit rows of ``tenant``, newest first."""
        async with self.db.session() as session:
            rows = await session.scalars(
                select(AdminAuditRow)
                .where(AdminAuditRow.tenant == tenant)
                .order_by(AdminAuditRow.id.desc())
                .limit(limit)
            )
            return [
                AuditEntry(
                    r.id,
                    r.at,
                    r.actor,
                    r.actor_pseudonym,
                    r.action,
                    r.target,
                    _loads(r.before),
                    _loads(r.after),
                    r.outcome,
                )
                for r in rows
            ]

    async def _bump(self, session: AsyncSession, tenant: str) -> datetime:
        now = utcnow()
        insert = upsert(self.db)
        statement = insert(AdminVersionRow).values(tenant=tenant, version=1, updated_at=now)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[AdminVersionRow.tenant],
                set_={"version": AdminVersionRow.version + 1, "updated_at": now},
            )
        )
        return now

    @staticmethod
    def _audit_row(
        actor: Actor,
        action: str,
        target: str | None,
        before: Any,
        after: Any,
        outcome: str,
        now: datetime,
        *,
        attributed: bool = True,
    ) -> AdminAuditRow:
        return AdminAuditRow(
            tenant=actor.tenant,
            at=now,
            actor=actor.user if attributed else None,
            actor_pseudonym=actor.pseudonym,
            action=action,
            target=target[:256] if target else None,
            before=None if before is None else json.dumps(before, ensure_ascii=False),
            after=None if after is None else json.dumps(after, ensure_ascii=False),
            outcome=outcome,
        )


def _loads(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error.get("loc", ()))
    return f"{where}: {error.get('msg', '')}" if where else str(error.get("msg", ""))
