"""Aggregation of usage events into the figures of one period (SQL on SQLite and PostgreSQL).

Every number is an aggregate computed in the database; no query returns a pseudonym, a thread
key or any single event. Definitions (the README's report section repeats them):

* **turns**: answered turns (outcome ``ok``); refused and failed turns are counted apart.
* **active users**: distinct user pseudonyms with at least one answered turn.
* **threads**: distinct threads with at least one answered turn in the period; a **new**
  thread is one whose first turn (``new_conversation``) falls in the period and that has an
  answered turn in it.
* **hours saved (estimated)**: for each new thread, its category's ``minutes_saved_estimate``
  (``config/categories.yaml``); **self-reported**: the minutes chosen on the answers' 「この回答で
  節約できた時間」 control, only the asker's own, 「1時間以上」 counted as 60.
* **satisfaction**: 👍 / (👍 + 👎) over the askers' ratings of answers given in the period.
* **tokens and cost**: every turn that reached a model, answered or not (a failed stream costs).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.categories import OTHER_ID, CategoryClassifier
from bot.reports.kanon import Group, Row, protect, with_other_users
from bot.reports.periods import Period, as_utc, jst_midnight
from bot.storage.db import Database
from bot.storage.usage_tables import UsageEntityRow, UsageEventRow, UsageFeedbackRow

E = UsageEventRow
OK = "ok"
DEPARTMENT_OTHER = "__other__"
#: Periods longer than this many days are charted per week instead of per day.
MAX_DAILY_BUCKETS = 62


@dataclass(frozen=True)
class PeriodStats:
    """Everything a report shows about one period of one workspace."""

    period: Period
    k: int
    headcount: int | None
    active_users: int
    turns: int
    threads: int
    new_threads: int
    refused: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost: float
    estimated_token_turns: int
    avg_latency_ms: int | None
    avg_first_token_ms: int | None
    channel_types: dict[str, int]
    template_turns: int
    categories: list[Row]
    departments: list[Row]
    models: list[Row]
    minutes_saved_self: int
    minutes_saved_estimated: int
    thumbs_up: int
    thumbs_down: int
    feedback_count: int
    minutes_reports: int
    masked: dict[str, int]
    blocked_by_type: dict[str, int]
    blocked_messages: int
    refused_kinds: dict[str, int]
    error_kinds: dict[str, int]
    buckets: list[tuple[date, int]]
    bucket_days: int
    key_ids: int
    departments_recorded: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def staff_share(self) -> float | None:
        """Active users as a share of the staff headcount (None without a headcount)."""
        return self.active_users / self.headcount if self.headcount else None

    @property
    def hours_saved_self(self) -> float:
        """Self-reported hours saved."""
        return self.minutes_saved_self / 60

    @property
    def hours_saved_estimated(self) -> float:
        """Estimated hours saved (minutes per new thread by category)."""
        return self.minutes_saved_estimated / 60

    @property
    def satisfaction(self) -> float | None:
        """👍 / (👍 + 👎), None without ratings."""
        rated = self.thumbs_up + self.thumbs_down
        return self.thumbs_up / rated if rated else None


def _window(tenant: str, period: Period) -> ColumnElement[bool]:
    return and_(E.tenant == tenant, E.time >= period.start, E.time < period.end)


async def collect(
    db: Database,
    tenant: str,
    period: Period,
    *,
    k: int = 5,
    headcount: int | None = None,
    classifier: CategoryClassifier | None = None,
    model_labels: Mapping[str, str] | None = None,
    lang: str = "ja",
) -> PeriodStats:
    """Compute the figures of ``period`` for ``tenant``."""
    classifier = classifier or CategoryClassifier.load()
    model_labels = model_labels or {}
    # SQLite keeps no offset: every bound must be UTC, like the stored times.
    period = Period(period.kind, as_utc(period.start), as_utc(period.end))
    window = _window(tenant, period)
    ok = and_(window, E.outcome == OK)
    async with db.session() as session:
        totals = (
            await session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(E.input_tokens), 0),
                    func.coalesce(func.sum(E.output_tokens), 0),
                    func.coalesce(func.sum(E.cost), 0.0),
                    func.coalesce(func.sum(case((E.tokens_estimated, 1), else_=0)), 0),
                    func.coalesce(func.sum(case((E.blocked, 1), else_=0)), 0),
                    func.count(distinct(E.key_id)),
                    func.count(E.department),
                ).where(window)
            )
        ).one()
        answered = (
            await session.execute(
                select(
                    func.count(),
                    func.count(distinct(E.user_pseudonym)),
                    func.count(distinct(E.thread_key)),
                    func.avg(E.latency_ms),
                    func.avg(E.first_token_ms),
                    func.count(E.template_id),
                ).where(ok)
            )
        ).one()
        outcomes = (
            await session.execute(
                select(E.outcome, E.error_kind, func.count())
                .where(window, E.outcome != OK)
                .group_by(E.outcome, E.error_kind)
            )
        ).all()
        channel_types = dict(
            (
                await session.execute(
                    select(E.channel_type, func.count()).where(ok).group_by(E.channel_type)
                )
            ).all()
        )
        categories = await _categories(session, tenant, period, k, classifier, lang)
        departments = await _departments(session, tenant, period, k, lang)
        models = await _models(session, tenant, period, k, model_labels, lang)
        new_threads, minutes_estimated = await _new_threads(session, tenant, period, classifier)
        feedback = await _feedback(session, window)
        masked, blocked_by_type = await _entities(session, window)
        buckets, bucket_days = await _buckets(session, ok, period)
    refused_kinds: dict[str, int] = {}
    error_kinds: dict[str, int] = {}
    for outcome, kind, count in outcomes:
        target = refused_kinds if outcome == "refused" else error_kinds
        target[kind or "unknown"] = target.get(kind or "unknown", 0) + count
    return PeriodStats(
        period=period,
        k=k,
        headcount=headcount,
        active_users=answered[1],
        turns=answered[0],
        threads=answered[2],
        new_threads=new_threads,
        refused=sum(refused_kinds.values()),
        errors=sum(error_kinds.values()),
        input_tokens=int(totals[1]),
        output_tokens=int(totals[2]),
        cost=float(totals[3]),
        estimated_token_turns=int(totals[4]),
        avg_latency_ms=round(answered[3]) if answered[3] is not None else None,
        avg_first_token_ms=round(answered[4]) if answered[4] is not None else None,
        channel_types=channel_types,
        template_turns=answered[5],
        categories=categories,
        departments=departments,
        models=models,
        minutes_saved_self=feedback["minutes"],
        minutes_saved_estimated=minutes_estimated,
        thumbs_up=feedback["up"],
        thumbs_down=feedback["down"],
        feedback_count=feedback["count"],
        minutes_reports=feedback["minutes_reports"],
        masked=masked,
        blocked_by_type=blocked_by_type,
        blocked_messages=int(totals[5]),
        refused_kinds=refused_kinds,
        error_kinds=error_kinds,
        buckets=buckets,
        bucket_days=bucket_days,
        key_ids=int(totals[6]),
        departments_recorded=bool(totals[7]),
    )


# --------------------------------------------------------------------------- breakdowns


async def _grouped(
    session: AsyncSession, where: ColumnElement[bool], key: ColumnElement[Any]
) -> dict[str, Group]:
    """Turns and distinct users per key id for each value of ``key``."""
    rows = await session.execute(
        select(key, E.key_id, func.count(), func.count(distinct(E.user_pseudonym)))
        .where(where)
        .group_by(key, E.key_id)
    )
    groups: dict[str, Group] = {}
    for value, kid, turns, users in rows:
        group = groups.setdefault(str(value), Group(str(value), str(value)))
        group.turns += turns
        group.users_by_key[kid or ""] = group.users_by_key.get(kid or "", 0) + users
    return groups


async def _recount(
    session: AsyncSession, where: ColumnElement[bool], key: ColumnElement[Any], keys: list[str]
) -> int:
    """Distinct users over several groups together (their users may overlap)."""
    if not keys:
        return 0
    rows = await session.execute(
        select(E.key_id, func.count(distinct(E.user_pseudonym)))
        .where(where, key.in_(keys))
        .group_by(E.key_id)
    )
    return sum(users for _kid, users in rows)


async def _categories(
    session: AsyncSession,
    tenant: str,
    period: Period,
    k: int,
    classifier: CategoryClassifier,
    lang: str,
) -> list[Row]:
    where = and_(_window(tenant, period), E.outcome == OK)
    # A literal, not a bound parameter: PostgreSQL must see the same expression in GROUP BY.
    key = func.coalesce(E.category, literal_column(f"'{OTHER_ID}'"))
    groups = await _grouped(session, where, key)
    for group in groups.values():
        category = classifier.get(group.key)
        # An id no longer in the config file (renamed or removed) counts as その他.
        if category.id != group.key:
            group.key = OTHER_ID
        group.label = category.label if lang == "ja" else category.label_en
    groups = _merge_same_keys(list(groups.values()))
    other = classifier.get(OTHER_ID)
    rows, merged = protect(
        groups, k, other_key=OTHER_ID, other_label=other.label if lang == "ja" else other.label_en
    )
    raw_keys = [g for g in merged if g != OTHER_ID]
    known = {c.id for c in classifier.categories()}
    if OTHER_ID in merged:
        # 「その他」 also holds unknown ids and events without a category.
        all_keys = (await session.execute(select(key).where(where).distinct())).scalars().all()
        raw_keys += [OTHER_ID, *[str(v) for v in all_keys if str(v) not in known]]
    return with_other_users(rows, await _recount(session, where, key, raw_keys))


def _merge_same_keys(groups: list[Group]) -> list[Group]:
    merged: dict[str, Group] = {}
    for group in groups:
        target = merged.get(group.key)
        if target is None:
            merged[group.key] = group
            continue
        target.turns += group.turns
        for kid, users in group.users_by_key.items():
            # Overlap unknown: the larger count stays a lower bound of the people involved.
            target.users_by_key[kid] = max(target.users_by_key.get(kid, 0), users)
    return list(merged.values())


async def _departments(
    session: AsyncSession, tenant: str, period: Period, k: int, lang: str
) -> list[Row]:
    where = and_(_window(tenant, period), E.outcome == OK)
    key = func.coalesce(E.department, literal_column("''"))
    groups = await _grouped(session, where, key)
    unset = "未設定" if lang == "ja" else "(not set)"
    for group in groups.values():
        group.label = group.key or unset
    rows, merged = protect(
        list(groups.values()),
        k,
        other_key=DEPARTMENT_OTHER,
        other_label="その他" if lang == "ja" else "Other",
    )
    return with_other_users(rows, await _recount(session, where, key, merged))


async def _models(
    session: AsyncSession,
    tenant: str,
    period: Period,
    k: int,
    labels: Mapping[str, str],
    lang: str,
) -> list[Row]:
    where = and_(_window(tenant, period), E.model.is_not(None))
    rows = await session.execute(
        select(
            E.model,
            E.key_id,
            func.coalesce(func.sum(case((E.outcome == OK, 1), else_=0)), 0),
            func.count(distinct(E.user_pseudonym)),
            func.coalesce(func.sum(E.input_tokens), 0),
            func.coalesce(func.sum(E.output_tokens), 0),
            func.coalesce(func.sum(E.cost), 0.0),
        )
        .where(where)
        .group_by(E.model, E.key_id)
    )
    groups: dict[str, Group] = {}
    for model, kid, turns, users, tokens_in, tokens_out, cost in rows:
        group = groups.setdefault(model, Group(model, labels.get(model, model)))
        group.turns += int(turns)
        group.users_by_key[kid or ""] = group.users_by_key.get(kid or "", 0) + users
        for name, value in (("input_tokens", tokens_in), ("output_tokens", tokens_out)):
            group.sums[name] = group.sums.get(name, 0) + int(value)
        group.sums["cost"] = group.sums.get("cost", 0.0) + float(cost)
    protected, merged = protect(
        list(groups.values()),
        k,
        other_key="__other__",
        other_label="その他" if lang == "ja" else "Other",
    )
    return with_other_users(protected, await _recount(session, where, E.model, merged))


# --------------------------------------------------------------------------- effects


async def _new_threads(
    session: AsyncSession, tenant: str, period: Period, classifier: CategoryClassifier
) -> tuple[int, int]:
    """(new threads, estimated minutes saved): threads started in the period (their first
    turn, ``new_conversation``) with an answered turn in it, each worth its category's
    minutes_saved_estimate. Both sides stay inside the period, so the cost does not grow with
    the years of history kept."""
    # One scan and one grouping, no join: the plan does not hinge on table statistics.
    per_thread = (
        select(E.thread_key, func.max(E.category).label("category"))
        .where(_window(tenant, period), E.thread_key.is_not(None))
        .group_by(E.thread_key)
        .having(
            and_(
                func.max(case((E.new_conversation, 1), else_=0)) == 1,
                func.max(case((E.outcome == OK, 1), else_=0)) == 1,
            )
        )
        .subquery()
    )
    rows = await session.execute(
        select(per_thread.c.category, func.count()).group_by(per_thread.c.category)
    )
    threads = minutes = 0
    for category, count in rows:
        threads += count
        minutes += classifier.get(category or OTHER_ID).minutes_saved_estimate * count
    return threads, minutes


async def _feedback(session: AsyncSession, window: ColumnElement[bool]) -> dict[str, int]:
    f = UsageFeedbackRow
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((f.rating == 1, 1), else_=0)), 0),
                func.coalesce(func.sum(case((f.rating == -1, 1), else_=0)), 0),
                func.coalesce(func.sum(f.minutes_saved), 0),
                func.count(f.minutes_saved),
            )
            .select_from(f)
            # Only the asker's own feedback counts.
            .join(E, and_(E.id == f.event_id, E.user_pseudonym == f.user_pseudonym))
            .where(window)
        )
    ).one()
    return {
        "count": int(row[0]),
        "up": int(row[1]),
        "down": int(row[2]),
        "minutes": int(row[3]),
        "minutes_reports": int(row[4]),
    }


async def _entities(
    session: AsyncSession, window: ColumnElement[bool]
) -> tuple[dict[str, int], dict[str, int]]:
    n = UsageEntityRow
    rows = await session.execute(
        select(
            n.entity_type,
            func.coalesce(func.sum(n.masked), 0),
            func.coalesce(func.sum(case((n.blocked, 1), else_=0)), 0),
        )
        .select_from(n)
        .join(E, E.id == n.event_id)
        .where(window)
        .group_by(n.entity_type)
        .order_by(n.entity_type)
    )
    masked: dict[str, int] = {}
    blocked: dict[str, int] = {}
    for entity, count, blocks in rows:
        if count:
            masked[entity] = int(count)
        if blocks:
            blocked[entity] = int(blocks)
    return masked, blocked


async def _buckets(
    session: AsyncSession, ok: ColumnElement[bool], period: Period
) -> tuple[list[tuple[date, int]], int]:
    """Answered turns per day (per week for long periods), Japan time, in one query."""
    days = period.days()
    step = 1 if len(days) <= MAX_DAILY_BUCKETS else 7
    starts = days[::step]
    edges = [jst_midnight(d) for d in starts] + [period.end]
    columns = [
        func.coalesce(
            func.sum(case((and_(E.time >= max(lo, period.start), E.time < hi), 1), else_=0)), 0
        )
        for lo, hi in itertools.pairwise(edges)
    ]
    if not columns:
        return [], step
    row = (await session.execute(select(*columns).where(ok))).one()
    return [(d, int(v)) for d, v in zip(starts, row, strict=True)], step
