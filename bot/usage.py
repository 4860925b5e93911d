"""The usage stage: one anonymized event per turn, built from an allow-list of fields.

Nothing but the fields of :class:`UsageEvent` can reach a record: there is no free-form "extra",
so message text, names or Slack ids cannot slip in. The user is a keyed pseudonym (HMAC-SHA256),
the thread a keyed pseudonym too, and ``key_id`` names the key (a fingerprint of it) so that a
rotated key leaves every period countable: within one key a person is one pseudonym; across a
rotation the same person is two, which reports say when a period spans one.

Events go to the database (:class:`DatabaseUsageRecorder`, which also writes the JSON log line)
and are purged after ``MADOGUCHI_USAGE_RETENTION_DAYS`` by ``madoguchi db purge``. Feedback on an
answer (👍/👎, minutes saved) is stored against the event by :func:`record_feedback`.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

import structlog
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError

from bot.storage.db import Database, RowsInsert
from bot.storage.usage_tables import UsageEntityRow, UsageEventRow, UsageFeedbackRow

if TYPE_CHECKING:
    from bot.settings import Settings

log = structlog.get_logger("madoguchi.usage")

#: Minutes a 「この回答で節約できた時間」 choice stands for (「1時間以上」 counts as 60).
MINUTES_CHOICES: tuple[int, ...] = (0, 5, 15, 30, 60)


def pseudonym(user_id: str, key: bytes) -> str:
    """A stable keyed pseudonym for a user id: HMAC-SHA256, hex, truncated to 32 characters."""
    return hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def thread_pseudonym(tenant: str, channel: str, thread: str, key: bytes) -> str:
    """A keyed pseudonym for a thread, so reports can count threads without Slack ids.

    Domain-separated from :func:`pseudonym` so a thread key never equals a user pseudonym.
    """
    data = f"thread\x00{tenant}\x00{channel}\x00{thread}".encode()
    return hmac.new(key, data, hashlib.sha256).hexdigest()[:32]


def key_id(key: bytes) -> str:
    """A short public fingerprint of a pseudonym key (it reveals nothing about the key)."""
    return hmac.new(key, b"madoguchi-pseudonym-key-id", hashlib.sha256).hexdigest()[:8]


def new_key() -> str:
    """A fresh random key for ``MADOGUCHI_PSEUDONYM_KEY`` (32 bytes, URL-safe base64)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass
class UsageEvent:
    """One turn, anonymized. Every field here is allowed; nothing else is recorded."""

    time: datetime
    tenant: str
    user_pseudonym: str
    channel_type: str
    model: str | None
    outcome: str  # ok | refused | error
    error_kind: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    tokens_estimated: bool = False
    cost: float = 0.0
    latency_ms: int = 0
    first_token_ms: int | None = None
    masked_counts: dict[str, int] = field(default_factory=dict)
    blocked: bool = False
    blocked_types: list[str] = field(default_factory=list)
    category: str | None = None
    template_id: str | None = None
    new_conversation: bool = False
    #: The turn id (uuid4 hex); the feedback buttons on the answer carry it.
    id: str = field(default_factory=_new_id)
    #: Fingerprint of the pseudonym key (see :func:`key_id`).
    key_id: str | None = None
    #: Keyed pseudonym of the thread (see :func:`thread_pseudonym`).
    thread_key: str | None = None
    #: Department label from the configured mapping (None when not configured or unknown).
    department: str | None = None

    def log_fields(self) -> dict[str, object]:
        """The event as log fields, with OpenTelemetry GenAI attribute names where they exist."""
        data = asdict(self)
        data["time"] = self.time.isoformat()
        data["gen_ai.request.model"] = data.pop("model")
        data["gen_ai.usage.input_tokens"] = data.pop("input_tokens")
        data["gen_ai.usage.output_tokens"] = data.pop("output_tokens")
        return data


class UsageRecorder(Protocol):
    """Receives one event per turn."""

    async def record(self, event: UsageEvent) -> None:
        """Store or forward ``event``."""


class LogUsageRecorder:
    """Writes each event as one JSON log line."""

    async def record(self, event: UsageEvent) -> None:
        """Log ``event`` (allow-listed fields only)."""
        log.info("usage", **event.log_fields())


class DatabaseUsageRecorder:
    """Stores each event in ``usage_events`` (entity counts in ``usage_entities``) and, unless
    ``log_lines`` is off, also writes it as one JSON log line first, so a database outage never
    loses the log record."""

    def __init__(self, db: Database, *, log_lines: bool = True) -> None:
        self.db = db
        self.log_lines = log_lines

    async def record(self, event: UsageEvent) -> None:
        """Log and store ``event``."""
        if self.log_lines:
            log.info("usage", **event.log_fields())
        # Core inserts built once: the ORM unit of work cost more CPU than the write. The parent
        # row goes first (the entity rows reference it); both land together or not at all.
        writes = [_EVENT_INSERT.write([_row(event)])]
        entities = _entity_rows(event)
        if entities:
            writes.append(_entity_insert(len(entities)).write(entities))
        await self.db.write_together(*writes)

    async def thread_category(self, tenant: str, thread_key: str) -> str | None:
        """The use category recorded for a thread (from its first classified turn), if any."""
        async with self.db.connect() as conn:
            return await conn.scalar(_THREAD_CATEGORY, {"thread_key": thread_key, "tenant": tenant})


# Built once: SQLAlchemy remembers a statement's cache key on the object (see bot/storage/store.py).
_THREAD_CATEGORY = (
    select(UsageEventRow.category)
    .where(
        UsageEventRow.thread_key == bindparam("thread_key"),
        UsageEventRow.tenant == bindparam("tenant"),
        UsageEventRow.category.is_not(None),
    )
    .order_by(UsageEventRow.time)
    .limit(1)
)


class FanOutRecorder:
    """Hands each event to several recorders in order; one failing does not stop the others."""

    def __init__(self, *recorders: UsageRecorder) -> None:
        self.recorders = recorders

    async def record(self, event: UsageEvent) -> None:
        """Record ``event`` everywhere; re-raise the first failure after trying all."""
        first: BaseException | None = None
        for recorder in self.recorders:
            try:
                await recorder.record(event)
            except Exception as exc:
                first = first or exc
        if first is not None:
            raise first


def _row(event: UsageEvent) -> dict[str, object]:
    """The ``usage_events`` row of ``event`` (every column; None for NULL)."""
    return dict(
        id=event.id,
        tenant=event.tenant,
        # UTC always: SQLite keeps no offset, so a local time would be read back as UTC.
        time=_utc(event.time),
        user_pseudonym=event.user_pseudonym,
        key_id=event.key_id,
        thread_key=event.thread_key,
        department=(event.department or None) and event.department[:128],
        channel_type=event.channel_type,
        model=event.model,
        outcome=event.outcome,
        error_kind=event.error_kind,
        input_tokens=event.input_tokens,
        output_tokens=event.output_tokens,
        tokens_estimated=event.tokens_estimated,
        cost=event.cost,
        latency_ms=event.latency_ms,
        first_token_ms=event.first_token_ms,
        blocked=event.blocked,
        category=event.category,
        template_id=event.template_id,
        new_conversation=event.new_conversation,
    )


_EVENT_INSERT = RowsInsert(UsageEventRow.__table__, [c.key for c in UsageEventRow.__table__.columns])


@functools.cache
def _entity_insert(rows: int) -> RowsInsert:
    """The insert of ``rows`` entity counts (a turn has a handful of entity types at most)."""
    table = UsageEntityRow.__table__
    return RowsInsert(table, [c.key for c in table.columns], rows)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _entity_rows(event: UsageEvent) -> list[dict[str, object]]:
    types = {t for t, n in event.masked_counts.items() if n} | set(event.blocked_types)
    return [
        {
            "event_id": event.id,
            "entity_type": str(t)[:32],
            "masked": int(event.masked_counts.get(t, 0)),
            "blocked": t in event.blocked_types,
        }
        for t in sorted(types)
    ]


# --------------------------------------------------------------------------- departments

DepartmentResolver = Callable[[str, str], Awaitable[str | None]]


class Departments:
    """Where the usage stage finds a user's department (部署).

    The chat adapter installs a ``resolver`` (tenant, platform user id → department label),
    e.g. from Slack user groups or a profile field; without one every department is None. A
    failing or slow lookup never fails the usage record: it gives None.
    """

    def __init__(self, resolver: DepartmentResolver | None = None, timeout: float = 5.0) -> None:
        self.resolver = resolver
        self.timeout = timeout

    async def of(self, tenant: str, user: str) -> str | None:
        """The department of ``user`` or None."""
        if self.resolver is None or not user:
            return None
        try:
            department = await asyncio.wait_for(self.resolver(tenant, user), self.timeout)
        except Exception as exc:
            log.warning("department.lookup_failed", error_type=type(exc).__name__)
            return None
        department = (department or "").strip()
        return department[:128] or None


# --------------------------------------------------------------------------- feedback


@dataclass(frozen=True)
class FeedbackState:
    """What one person has said about one answer so far."""

    rating: int | None
    minutes_saved: int | None
    asker: bool | None  # False: not the person who asked (not counted); None: not known yet


async def event_owner(db: Database, event_id: str) -> tuple[str, str] | None:
    """(tenant, user pseudonym) of a usage event, or None when it is not (yet) stored."""
    async with db.session() as session:
        row = (
            await session.execute(
                select(UsageEventRow.tenant, UsageEventRow.user_pseudonym).where(
                    UsageEventRow.id == event_id
                )
            )
        ).first()
        return (row[0], row[1]) if row else None


async def record_feedback(
    db: Database,
    *,
    tenant: str,
    event_id: str,
    user_pseudonym: str,
    rating: int | None = None,
    minutes_saved: int | None = None,
    now: datetime | None = None,
) -> FeedbackState:
    """Store a click (``rating`` +1/-1 or ``minutes_saved``); the latest click of each kind wins.

    Feedback from someone other than the asker is not stored (``asker`` False in the result):
    satisfaction and time saved are the asker's to report.
    """
    if rating not in (None, 1, -1):
        raise ValueError("rating must be +1 or -1")
    if minutes_saved is not None and minutes_saved not in MINUTES_CHOICES:
        raise ValueError(f"minutes_saved must be one of {MINUTES_CHOICES}")
    owner = await event_owner(db, event_id)
    if owner is not None and owner != (tenant, user_pseudonym):
        return FeedbackState(None, None, asker=False)
    now = now or datetime.now(UTC)
    changes: dict[str, object] = {"updated_at": now}
    if rating is not None:
        changes["rating"] = rating
    if minutes_saved is not None:
        changes["minutes_saved"] = minutes_saved
    key = (UsageFeedbackRow.event_id == event_id) & (
        UsageFeedbackRow.user_pseudonym == user_pseudonym
    )
    for _ in range(2):  # a concurrent first click may insert between our update and insert
        try:
            async with db.session() as session, session.begin():
                result = await session.execute(
                    update(UsageFeedbackRow).where(key).values(**changes)
                )
                if not result.rowcount:
                    session.add(
                        UsageFeedbackRow(
                            event_id=event_id,
                            user_pseudonym=user_pseudonym,
                            tenant=tenant,
                            rating=rating,
                            minutes_saved=minutes_saved,
                            created_at=now,
                            updated_at=now,
                        )
                    )
        except IntegrityError:
            continue
        break
    async with db.session() as session:
        row = (
            await session.execute(
                select(UsageFeedbackRow.rating, UsageFeedbackRow.minutes_saved).where(key)
            )
        ).one()
    return FeedbackState(row[0], row[1], asker=True if owner else None)


# --------------------------------------------------------------------------- retention


async def purge_usage(
    db: Database, retention: timedelta, now: datetime | None = None
) -> dict[str, int]:
    """Delete usage events (with their entity counts and feedback) older than ``retention``."""
    cutoff = (now or datetime.now(UTC)) - retention
    async with db.session() as session, session.begin():
        old = select(UsageEventRow.id).where(UsageEventRow.time < cutoff)
        # Explicit child deletes: SQLite cascades only with foreign_keys on; never rely on it.
        entities = await session.execute(
            delete(UsageEntityRow).where(UsageEntityRow.event_id.in_(old))
        )
        feedback = await session.execute(
            delete(UsageFeedbackRow).where(
                UsageFeedbackRow.event_id.in_(old) | (UsageFeedbackRow.updated_at < cutoff)
            )
        )
        events = await session.execute(delete(UsageEventRow).where(UsageEventRow.time < cutoff))
    return {
        "usage_events": events.rowcount or 0,
        "usage_entities": entities.rowcount or 0,
        "usage_feedback": feedback.rowcount or 0,
    }


# --------------------------------------------------------------------------- key rotation


def rotate_pseudonym_key(settings: Settings) -> str:
    """Start a new pseudonym key; returns what the operator should know (Japanese + English).

    With the key generated beside a SQLite database, the file is replaced at once (restart the
    bot to use it). With ``MADOGUCHI_PSEUDONYM_KEY`` set, a new key is printed for the operator
    to set on every instance. Either way old events keep their pseudonyms and ``key_id``:
    past periods stay countable, and the old pseudonyms can no longer be linked to new ones.
    """
    from bot.secrets import data_dir

    old = settings.secret("pseudonym_key")
    fresh = new_key()
    if old:
        return (
            f"新しい鍵 / new key: {fresh}\n"
            f"{settings.env_name('pseudonym_key')} をこの値にして、すべてのインスタンスを再起動してください"
            " (set it on every instance and restart). "
            f"key_id {key_id(old.encode())} → {key_id(fresh.encode())}"
        )
    if not settings.database_url.startswith("sqlite"):
        return f"{settings.env_name('pseudonym_key')} が未設定です (not set); new key: {fresh}"
    path = data_dir(settings) / ".madoguchi-pseudonym-key"
    before = key_id(path.read_bytes().strip()) if path.exists() else "-"
    temporary = path.with_name(path.name + ".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(fresh.encode("ascii"))
    os.replace(temporary, path)
    return (
        f"{path} を新しい鍵に置き換えました。ボットを再起動してください"
        f" (replaced; restart the bot). key_id {before} → {key_id(fresh.encode())}"
    )
