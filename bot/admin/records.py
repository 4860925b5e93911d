"""Per-person and per-thread rows: consent, model pick and declared tier, thread tier, quota use.

Staff appear here only as keyed pseudonyms (the same HMAC as usage events). None of these rows
is cached across instances, except accepted consent (it is never withdrawn for a version).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.admin.store import upsert, utcnow
from bot.storage import Database, Store
from bot.storage.admin_tables import ConsentRow, QuotaUsageRow, ThreadStateRow, UserPrefRow
from bot.storage.tables import ConversationRow

#: A value in a where-clause: a plain value, or a parameter bound when the statement runs.
Value = str | ColumnElement[str]

#: Passed for a field of :meth:`Records.set_user_pref` that should stay as it is.
KEEP: Final = object()


@dataclass(frozen=True)
class UserPref:
    """A staff member's choices in one channel or DM."""

    model_id: str | None = None
    tier: int | None = None


@dataclass(frozen=True)
class ThreadState:
    """The highest tier a thread was served at, and its starter's pseudonym."""

    tier: int
    starter: str | None


class Records:
    """Reads and writes the per-person and per-thread admin rows."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._consented: set[tuple[str, str, int]] = set()

    # ------------------------------------------------------------------ consent

    async def has_consented(self, tenant: str, who: str, version: int) -> bool:
        """True when ``who`` accepted guideline ``version``."""
        key = (tenant, who, version)
        if key in self._consented:
            return True
        async with self.db.session() as session:
            row = await session.get(ConsentRow, key)
        if row is not None:
            self._consented.add(key)
        return row is not None

    async def consent(self, tenant: str, who: str, version: int) -> None:
        """Record that ``who`` accepted guideline ``version`` (idempotent)."""
        insert = upsert(self.db)
        async with self.db.session() as session, session.begin():
            await session.execute(
                insert(ConsentRow)
                .values(tenant=tenant, user_pseudonym=who, version=version, accepted_at=utcnow())
                .on_conflict_do_nothing()
            )
        self._consented.add((tenant, who, version))

    # ------------------------------------------------------------------ choices

    async def user_pref(self, tenant: str, channel: str, who: str) -> UserPref:
        """The model pick and declared tier of ``who`` in ``channel``."""
        prefs = UserPrefRow.__table__
        async with self.db.connect() as conn:
            row = (
                await conn.execute(
                    select(prefs.c.model_id, prefs.c.tier).where(*_pref_of(tenant, channel, who))
                )
            ).first()
        return UserPref(row.model_id, row.tier) if row else UserPref()

    async def choice_inputs(
        self, tenant: str, channel: str, thread: str | None, who: str
    ) -> tuple[UserPref, ThreadState | None]:
        """The user's pick and tier, and (for a known ``thread``) the thread's state, in one
        statement: the model chooser needs both on every turn."""
        where = {"tenant": tenant, "channel": channel, "who": who, "thread": thread}
        async with self.db.connect() as conn:
            row = (await conn.execute(_CHOICES[bool(thread)], where)).one()
        pref = UserPref(row[0], row[1])
        # A thread's tier is never NULL: no tier means the thread has no state yet.
        state = ThreadState(row[2], row[3]) if thread and row[2] is not None else None
        return pref, state

    async def set_user_pref(
        self,
        tenant: str,
        channel: str,
        who: str,
        *,
        model_id: str | object | None = KEEP,
        tier: int | object | None = KEEP,
    ) -> UserPref:
        """Change the pick and/or the declared tier (``KEEP`` leaves a field as it is)."""
        async with self.db.session() as session, session.begin():
            row = await session.get(UserPrefRow, (tenant, channel, who))
            if row is None:
                row = UserPrefRow(tenant=tenant, channel=channel, user_pseudonym=who)
                session.add(row)
            if model_id is not KEEP:
                row.model_id = model_id  # type: ignore[assignment]
            if tier is not KEEP:
                row.tier = tier  # type: ignore[assignment]
            row.updated_at = utcnow()
            return UserPref(row.model_id, row.tier)

    async def thread_state(self, tenant: str, channel: str, thread: str) -> ThreadState | None:
        """The recorded state of a thread, if the bot served it."""
        states = ThreadStateRow.__table__
        async with self.db.connect() as conn:
            row = (
                await conn.execute(
                    select(states.c.tier, states.c.starter_pseudonym).where(
                        *_state_of(tenant, channel, thread)
                    )
                )
            ).first()
        return ThreadState(row.tier, row.starter_pseudonym) if row else None

    async def raise_thread_tier(
        self, tenant: str, channel: str, thread: str, tier: int, starter: str | None
    ) -> None:
        """Remember ``tier`` for a thread unless it already has a higher one (tiers never drop:
        what was said at tier 2 stays in the history sent with every later turn)."""
        params = {
            "tenant": tenant,
            "channel": channel,
            "thread": thread,
            "tier": tier,
            "starter": starter,
            "now": utcnow(),
        }
        async with self.db.connect(write=True) as conn:
            await conn.execute(_RAISE_TIER[self.db.is_sqlite], params)

    # ------------------------------------------------------------------ forgetting

    async def forget(self, tenant: str, channel: str, who: str, *, whole_channel: bool) -> int:
        """Delete conversations (masked history and vault) now; returns how many.

        ``whole_channel`` (a DM: every thread in it is the user's): all of the channel's
        conversations; otherwise only the threads ``who`` started.
        """
        async with self.db.session() as session, session.begin():
            query = select(ConversationRow.id, ConversationRow.thread_ts).where(
                ConversationRow.tenant == tenant, ConversationRow.channel == channel
            )
            found = list(await session.execute(query))
            if not whole_channel:
                mine = set(
                    await session.scalars(
                        select(ThreadStateRow.thread_ts).where(
                            ThreadStateRow.tenant == tenant,
                            ThreadStateRow.channel == channel,
                            ThreadStateRow.starter_pseudonym == who,
                        )
                    )
                )
                found = [row for row in found if row.thread_ts in mine]
            ids = [row.id for row in found]
            threads = [row.thread_ts for row in found]
            if ids:
                await Store.delete_conversations(await session.connection(), ids)
                await session.execute(
                    delete(ThreadStateRow).where(
                        ThreadStateRow.tenant == tenant,
                        ThreadStateRow.channel == channel,
                        ThreadStateRow.thread_ts.in_(threads),
                    )
                )
        return len(ids)

    # ------------------------------------------------------------------ quota use

    async def add_use(self, tenant: str, who: str, day: str, tokens: int, cost: float) -> None:
        """Add one turn's tokens and cost to ``who``'s total for ``day`` (YYYY-MM-DD, local)."""
        insert = upsert(self.db)
        statement = insert(QuotaUsageRow).values(
            tenant=tenant, user_pseudonym=who, day=day, tokens=tokens, cost=cost
        )
        async with self.db.engine.begin() as conn:
            await conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[
                        QuotaUsageRow.tenant,
                        QuotaUsageRow.user_pseudonym,
                        QuotaUsageRow.day,
                    ],
                    set_={
                        "tokens": QuotaUsageRow.tokens + statement.excluded.tokens,
                        "cost": QuotaUsageRow.cost + statement.excluded.cost,
                    },
                )
            )

    async def use(
        self, tenant: str, who: list[str] | None, first_day: str, last_day: str
    ) -> tuple[int, float]:
        """Tokens and cost of ``who`` (None: everyone) over the days ``first_day..last_day``."""
        if who is not None and not who:
            return 0, 0.0
        query = select(
            func.coalesce(func.sum(QuotaUsageRow.tokens), 0),
            func.coalesce(func.sum(QuotaUsageRow.cost), 0.0),
        ).where(
            QuotaUsageRow.tenant == tenant,
            QuotaUsageRow.day >= first_day,
            QuotaUsageRow.day <= last_day,
        )
        if who is not None:
            query = query.where(QuotaUsageRow.user_pseudonym.in_(who))
        async with self.db.session() as session:
            tokens, cost = (await session.execute(query)).one()
        return int(tokens), float(cost)

    async def purge_use(self, before_day: str) -> int:
        """Delete quota counters older than ``before_day`` (they only serve current budgets)."""
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                delete(QuotaUsageRow).where(QuotaUsageRow.day < before_day)
            )
        return result.rowcount or 0


def local_day(moment: datetime, tz: object) -> str:
    """``moment`` as a local calendar day, YYYY-MM-DD."""
    return moment.astimezone(tz).strftime("%Y-%m-%d")  # type: ignore[arg-type]


async def purge_quota_counters(db: Database, keep_days: int = 62) -> int:
    """Delete quota counters older than ``keep_days`` (budgets look back a month at most)."""
    cutoff = (datetime.now(UTC) - timedelta(days=keep_days)).strftime("%Y-%m-%d")
    return await Records(db).purge_use(cutoff)


def _choice_statement(with_thread: bool) -> Select[Any]:
    """The user's pick and tier and (``with_thread``) the thread's tier and starter, as one row."""
    prefs = UserPrefRow.__table__
    mine = _pref_of(bindparam("tenant"), bindparam("channel"), bindparam("who"))
    columns = [
        select(prefs.c.model_id).where(*mine).scalar_subquery(),
        select(prefs.c.tier).where(*mine).scalar_subquery(),
    ]
    if with_thread:
        states = ThreadStateRow.__table__
        this = _state_of(bindparam("tenant"), bindparam("channel"), bindparam("thread"))
        columns += [
            select(states.c.tier).where(*this).scalar_subquery(),
            select(states.c.starter_pseudonym).where(*this).scalar_subquery(),
        ]
    return select(*columns)


def _pref_of(tenant: Value, channel: Value, who: Value) -> tuple[ColumnElement[bool], ...]:
    """The row of ``who``'s choices in ``channel``."""
    prefs = UserPrefRow.__table__
    return (prefs.c.tenant == tenant, prefs.c.channel == channel, prefs.c.user_pseudonym == who)


def _state_of(tenant: Value, channel: Value, thread: Value) -> tuple[ColumnElement[bool], ...]:
    """The row of a thread's state."""
    states = ThreadStateRow.__table__
    return (states.c.tenant == tenant, states.c.channel == channel, states.c.thread_ts == thread)


def _raise_tier(dialect_insert: Any, highest: Any) -> Any:
    """Insert a thread's state, or raise its tier (never lower it), in one dialect."""
    states = ThreadStateRow.__table__
    statement = dialect_insert(states).values(
        tenant=bindparam("tenant", type_=states.c.tenant.type),
        channel=bindparam("channel", type_=states.c.channel.type),
        thread_ts=bindparam("thread", type_=states.c.thread_ts.type),
        tier=bindparam("tier", type_=states.c.tier.type),
        starter_pseudonym=bindparam("starter", type_=states.c.starter_pseudonym.type),
        updated_at=bindparam("now", type_=states.c.updated_at.type),
    )
    return statement.on_conflict_do_update(
        index_elements=[states.c.tenant, states.c.channel, states.c.thread_ts],
        set_={
            "tier": highest(states.c.tier, statement.excluded.tier),
            "updated_at": statement.excluded.updated_at,
        },
    )


# Built once (SQLAlchemy remembers a statement's cache key on the object): every turn runs one.
_CHOICES = {False: _choice_statement(False), True: _choice_statement(True)}
#: By ``Database.is_sqlite``.
_RAISE_TIER = {
    False: _raise_tier(postgresql_insert, func.greatest),
    True: _raise_tier(sqlite_insert, func.max),
}
