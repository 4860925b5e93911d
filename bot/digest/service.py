"""Composing and posting the weekly digest: exactly once per channel per ISO week.

The once-per-week guarantee lives in the database, not in the scheduler: before posting, an
instance inserts the ``digest_posts`` row for (workspace, channel, ISO week); the unique key lets
exactly one insert succeed, so several instances, restarts and the catch-up after downtime all
post once. A post Slack definitely refused is marked ``failed`` and retried (a few times) at the
next check; a post whose outcome is unknown (a timeout after sending) is not retried, since it
may have arrived. A claim left behind by a crashed instance is taken over after
``STALE_CLAIM`` minutes.

What a week's digest carries (the tip, the featured template) is fixed in ``digest_weeks`` when
it is first composed, so every channel gets the same digest and tips rotate per workspace
without repeats until all were used.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Protocol

import structlog
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.digest.config import DigestConfig, DigestConfigStore
from bot.digest.content import Digest, DigestEffect, Figures
from bot.digest.weeks import Week
from bot.library_data import Tip
from bot.prompts.library import LibraryTemplate, PromptLibrary
from bot.storage.db import Database
from bot.storage.library_tables import DigestClickRow, DigestPostRow, DigestWeekRow, PromptUseRow

log = structlog.get_logger("madoguchi.digest")

STALE_CLAIM = timedelta(minutes=15)
MAX_ATTEMPTS = 3
NEW_TEMPLATE_DAYS = 28

FiguresLookup = Callable[[str, datetime, datetime], Awaitable[Figures]]
"""(tenant, start, end) → the oversight figures of [start, end) (``bot.reports.figures``)."""


class PostError(Exception):
    """Posting failed. ``definite``: the chat platform refused it (safe to retry); otherwise
    the outcome is unknown (it may have been posted)."""

    def __init__(self, reason: str, *, definite: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.definite = definite


class DigestPoster(Protocol):
    """Where digests go (the Slack adapter lives in ``handlers/library.py``)."""

    async def post(self, tenant: str, channel: str, text: str, blocks: list[dict[str, Any]]) -> str:
        """Post the digest; return the message id (Slack ts). Raise :class:`PostError`."""

    async def home_tenant(self) -> str | None:
        """The workspace of the bot token (where the settings' default channels are)."""


@dataclass(frozen=True)
class PostResult:
    """What happened in one channel: ``posted``, ``skipped`` (already done this week),
    ``failed`` (will be retried), ``unknown`` (not retried) or ``not_due``."""

    tenant: str
    channel: str
    week: Week
    status: str
    ts: str | None = None
    reason: str | None = None


class DigestService:
    """Composes digests and posts them once per channel per week."""

    def __init__(
        self,
        db: Database,
        library: PromptLibrary,
        configs: DigestConfigStore,
        *,
        tz: tzinfo,
        lang: str = "ja",
        figures: FiguresLookup | None = None,
        k: int = 5,
    ) -> None:
        self.db = db
        self.library = library
        self.configs = configs
        self.tz = tz
        self.lang = lang
        self.figures = figures
        self.k = k

    # -- composing ----------------------------------------------------------------------------

    async def compose(
        self, tenant: str, week: Week, *, persist: bool, now: datetime | None = None
    ) -> Digest:
        """The digest of ``tenant`` for ``week``. With ``persist`` the week's tip and featured
        template are recorded (first composer wins); without, nothing is written (dry run)."""
        now = _utc(now)
        config = await self.configs.get(tenant)
        tips = await self.library.tips(tenant)
        templates = await self.library.templates(tenant)
        row = await self._week_row(tenant, week)
        if row is None:
            tip, cycle = await self._next_tip(tenant, week, tips)
            featured, picked = await self._next_featured(tenant, week, templates, config, now)
            if persist:
                row = await self._save_week(tenant, week, tip, cycle, featured, now)
                if picked and row.template_id == picked:
                    await self.configs.update(tenant, featured_pick=None)
            else:
                row = _week_row(tenant, week, tip, cycle, featured, now)
        tip = next((t for t in tips if t.id == row.tip_id), None)
        featured = next((t for t in templates if t.id == row.template_id), None)
        last_week, week_before = await self._figures(tenant, week)
        return Digest(
            tenant=tenant,
            week=week,
            issued=config.schedule.in_week(week, self.tz).date(),
            tip=tip,
            featured=featured,
            last_week=last_week,
            week_before=week_before,
            k=self.k,
            effect=await self.effect_before(tenant, week),
            lang=self.lang,
        )

    async def _week_row(self, tenant: str, week: Week) -> DigestWeekRow | None:
        async with self.db.session() as session:
            return await session.scalar(
                select(DigestWeekRow).where(
                    DigestWeekRow.tenant == tenant,
                    DigestWeekRow.iso_year == week.year,
                    DigestWeekRow.iso_week == week.week,
                )
            )

    async def _history(self, tenant: str, before: Week) -> list[DigestWeekRow]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(DigestWeekRow)
                .where(DigestWeekRow.tenant == tenant)
                .order_by(DigestWeekRow.iso_year, DigestWeekRow.iso_week)
            )
            return [r for r in rows if Week(r.iso_year, r.iso_week) < before]

    async def _next_tip(self, tenant: str, week: Week, tips: list[Tip]) -> tuple[Tip | None, int]:
        """The first tip (library order) not yet used in the current rotation cycle."""
        if not tips:
            return None, 0
        history = await self._history(tenant, week)
        cycle = max((r.tip_cycle for r in history), default=0)
        used = {r.tip_id for r in history if r.tip_cycle == cycle}
        remaining = [t for t in tips if t.id not in used]
        if not remaining:
            cycle += 1
            remaining = list(tips)
            last = history[-1].tip_id if history else None
            if len(remaining) > 1 and remaining[0].id == last:
                # A new cycle must not start with the tip the last digest carried.
                remaining.append(remaining.pop(0))
        return remaining[0], cycle

    async def _next_featured(
        self,
        tenant: str,
        week: Week,
        templates: list[LibraryTemplate],
        config: DigestConfig,
        now: datetime,
    ) -> tuple[LibraryTemplate | None, str | None]:
        """The admin's pick, else the most used never-featured template (new ones first), else
        the one featured longest ago. Returns (template, the pick it consumed)."""
        if not templates:
            return None, None
        by_id = {t.id: t for t in templates}
        if config.featured_pick and config.featured_pick in by_id:
            return by_id[config.featured_pick], config.featured_pick
        history = await self._history(tenant, week)
        featured_when = {r.template_id: (r.iso_year, r.iso_week) for r in history if r.template_id}
        recent = await self.library.use_counts(tenant, now - timedelta(days=NEW_TEMPLATE_DAYS))
        fresh = [t for t in templates if t.id not in featured_when]
        if fresh:

            def rank(t: LibraryTemplate) -> tuple[int, int, int]:
                is_new = t.added_at is not None and t.added_at >= now - timedelta(
                    days=NEW_TEMPLATE_DAYS
                )
                return (0 if is_new else 1, -recent.get(t.id, 0), t.order)

            return min(fresh, key=rank), None
        return min(templates, key=lambda t: (featured_when[t.id], t.order)), None

    async def _save_week(
        self,
        tenant: str,
        week: Week,
        tip: Tip | None,
        cycle: int,
        featured: LibraryTemplate | None,
        now: datetime,
    ) -> DigestWeekRow:
        row = _week_row(tenant, week, tip, cycle, featured, now)
        async with self.db.session() as session:
            session.add(row)
            try:
                await session.commit()
                return row
            except IntegrityError:
                await session.rollback()
        existing = await self._week_row(tenant, week)
        assert existing is not None  # another instance composed this week first
        return existing

    async def _figures(self, tenant: str, week: Week) -> tuple[Figures | None, Figures | None]:
        if self.figures is None:
            return None, None
        last = week.previous()
        try:
            now = await self.figures(tenant, *last.utc_range(self.tz))
            before = await self.figures(tenant, *last.previous().utc_range(self.tz))
        except Exception as exc:
            # The digest still goes out with its tip and template; the figures say "no data".
            log.error("digest.figures_failed", error_type=type(exc).__name__)
            return None, None
        return now, before

    # -- self-measurement ----------------------------------------------------------------------

    async def record_click(self, tenant: str, week: Week, action: str, user_pseudonym: str) -> None:
        """Count a click on one of ``week``'s digest buttons (pseudonymous)."""
        async with self.db.session() as session:
            session.add(
                DigestClickRow(
                    tenant=tenant,
                    iso_year=week.year,
                    iso_week=week.week,
                    action=action[:32],
                    user_pseudonym=user_pseudonym,
                    clicked_at=datetime.now(UTC),
                )
            )
            await session.commit()

    async def effect(self, tenant: str, week: Week) -> DigestEffect | None:
        """Clicks on ``week``'s digest and runs of its featured template in the 7 days after it
        was first posted; None when that week's digest was never posted."""
        async with self.db.session() as session:
            first_post = await session.scalar(
                select(func.min(DigestPostRow.posted_at)).where(
                    DigestPostRow.tenant == tenant,
                    DigestPostRow.iso_year == week.year,
                    DigestPostRow.iso_week == week.week,
                    DigestPostRow.status == "posted",
                )
            )
            if first_post is None:
                return None
            if first_post.tzinfo is None:  # SQLite returns naive datetimes for aggregates
                first_post = first_post.replace(tzinfo=UTC)
            week_row = await session.scalar(
                select(DigestWeekRow).where(
                    DigestWeekRow.tenant == tenant,
                    DigestWeekRow.iso_year == week.year,
                    DigestWeekRow.iso_week == week.week,
                )
            )
            clicks, clickers = (
                await session.execute(
                    select(
                        func.count(), func.count(func.distinct(DigestClickRow.user_pseudonym))
                    ).where(
                        DigestClickRow.tenant == tenant,
                        DigestClickRow.iso_year == week.year,
                        DigestClickRow.iso_week == week.week,
                    )
                )
            ).one()
            featured_id = week_row.template_id if week_row else None
            uses = 0
            if featured_id:
                uses = int(
                    await session.scalar(
                        select(func.count()).where(
                            PromptUseRow.tenant == tenant,
                            PromptUseRow.template_id == featured_id,
                            PromptUseRow.used_at >= first_post,
                            PromptUseRow.used_at < first_post + timedelta(days=7),
                        )
                    )
                    or 0
                )
        featured = await self.library.get(tenant, featured_id) if featured_id else None
        return DigestEffect(
            week=week,
            issued=first_post.astimezone(self.tz).date(),
            clicks=int(clicks),
            clickers=int(clickers),
            featured_id=featured_id,
            featured_title=featured.template.title if featured else featured_id,
            featured_uses=uses,
        )

    async def effect_before(self, tenant: str, week: Week) -> DigestEffect | None:
        """The reach of the latest digest posted before ``week`` (shown in ``week``'s digest)."""
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    select(DigestPostRow.iso_year, DigestPostRow.iso_week)
                    .where(DigestPostRow.tenant == tenant, DigestPostRow.status == "posted")
                    .distinct()
                )
            ).all()
        earlier = sorted(Week(y, w) for y, w in rows if Week(y, w) < week)
        return await self.effect(tenant, earlier[-1]) if earlier else None

    async def effects(self, tenant: str, start: datetime, end: datetime) -> list[DigestEffect]:
        """The reach of every digest posted in [start, end) (for the oversight reports)."""
        start, end = _utc(start), _utc(end)
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    select(DigestPostRow.iso_year, DigestPostRow.iso_week)
                    .where(
                        DigestPostRow.tenant == tenant,
                        DigestPostRow.status == "posted",
                        DigestPostRow.posted_at >= start,
                        DigestPostRow.posted_at < end,
                    )
                    .distinct()
                )
            ).all()
        out = []
        for week in sorted(Week(y, w) for y, w in rows):
            effect = await self.effect(tenant, week)
            if effect is not None:
                out.append(effect)
        return out

    # -- posting -------------------------------------------------------------------------------

    async def run_due(self, now: datetime, poster: DigestPoster) -> list[PostResult]:
        """Post every digest that is due this week and not yet posted (the scheduled run and
        the catch-up after downtime are the same call)."""
        try:
            home = await poster.home_tenant()
        except Exception as exc:
            log.warning("digest.home_tenant_failed", error_type=type(exc).__name__)
            home = None
        now = _utc(now)
        results: list[PostResult] = []
        week = Week.of(now, self.tz)
        for config in await self.configs.all(home):
            if not config.active:
                continue
            if now < config.schedule.in_week(week, self.tz):
                continue
            results += await self._post_channels(config.tenant, week, config.channels, poster, now)
        return results

    async def post_now(
        self,
        tenant: str,
        poster: DigestPoster,
        *,
        channels: list[str] | None = None,
        now: datetime | None = None,
        force: bool = False,
    ) -> list[PostResult]:
        """Post this week's digest now (``madoguchi digest --post``). Channels already served
        this week are skipped unless ``force`` (which posts again and records nothing)."""
        now = _utc(now)
        week = Week.of(now, self.tz)
        if channels is None:
            channels = list((await self.configs.get(tenant)).channels)
        if force:
            digest = await self.compose(tenant, week, persist=True, now=now)
            results = []
            for channel in channels:
                try:
                    ts = await poster.post(tenant, channel, digest.fallback(), digest.blocks())
                    results.append(PostResult(tenant, channel, week, "posted", ts))
                except PostError as exc:
                    results.append(PostResult(tenant, channel, week, "failed", reason=exc.reason))
            return results
        return await self._post_channels(tenant, week, channels, poster, now)

    async def _post_channels(
        self,
        tenant: str,
        week: Week,
        channels: tuple[str, ...] | list[str],
        poster: DigestPoster,
        now: datetime,
    ) -> list[PostResult]:
        results = []
        digest: Digest | None = None
        for channel in channels:
            claim = await self._claim(tenant, channel, week, now)
            if claim is None:
                results.append(PostResult(tenant, channel, week, "skipped"))
                continue
            try:
                if digest is None:
                    digest = await self.compose(tenant, week, persist=True, now=now)
                ts = await poster.post(tenant, channel, digest.fallback(), digest.blocks())
            except PostError as exc:
                status = "failed" if exc.definite else "unknown"
                await self._finish(claim, status)
                log.warning("digest.post_failed", week=str(week), status=status, reason=exc.reason)
                results.append(PostResult(tenant, channel, week, status, reason=exc.reason))
                continue
            except Exception as exc:
                # Composing failed (nothing was sent): safe to try again at the next check.
                await self._finish(claim, "failed")
                log.error("digest.compose_failed", error_type=type(exc).__name__)
                results.append(
                    PostResult(tenant, channel, week, "failed", reason=type(exc).__name__)
                )
                continue
            await self._finish(claim, "posted", ts)
            log.info("digest.posted", week=str(week))
            results.append(PostResult(tenant, channel, week, "posted", ts))
        return results

    async def _claim(self, tenant: str, channel: str, week: Week, now: datetime) -> int | None:
        """Take this week's record for ``channel``; None when another run has (or had) it."""
        async with self.db.session() as session:
            row = DigestPostRow(
                tenant=tenant,
                channel=channel,
                iso_year=week.year,
                iso_week=week.week,
                status="claimed",
                attempts=1,
                claimed_at=now,
            )
            session.add(row)
            try:
                await session.commit()
                return row.id
            except IntegrityError:
                await session.rollback()
        # The row exists: take it over only if a definite failure left it retryable, or its
        # claimer vanished. One UPDATE, so two instances cannot both take it over.
        key = and_(
            DigestPostRow.tenant == tenant,
            DigestPostRow.channel == channel,
            DigestPostRow.iso_year == week.year,
            DigestPostRow.iso_week == week.week,
        )
        retry = or_(
            and_(DigestPostRow.status == "failed", DigestPostRow.attempts < MAX_ATTEMPTS),
            and_(DigestPostRow.status == "claimed", DigestPostRow.claimed_at < now - STALE_CLAIM),
        )
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                update(DigestPostRow)
                .where(key, retry)
                .values(status="claimed", claimed_at=now, attempts=DigestPostRow.attempts + 1)
            )
            if result.rowcount != 1:
                return None
            return await session.scalar(select(DigestPostRow.id).where(key))

    async def _finish(self, claim: int, status: str, ts: str | None = None) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(
                update(DigestPostRow)
                .where(DigestPostRow.id == claim)
                .values(
                    status=status,
                    message_ts=ts,
                    posted_at=datetime.now(UTC) if status == "posted" else None,
                )
            )


def _utc(moment: datetime | None) -> datetime:
    """``moment`` (default: now) in UTC: SQLite keeps only the wall time, so every stored
    time must be in the same zone."""
    return (moment or datetime.now(UTC)).astimezone(UTC)


def _week_row(
    tenant: str,
    week: Week,
    tip: Tip | None,
    cycle: int,
    featured: LibraryTemplate | None,
    now: datetime,
) -> DigestWeekRow:
    """The week's choice of tip and featured template, as stored (or previewed)."""
    return DigestWeekRow(
        tenant=tenant,
        iso_year=week.year,
        iso_week=week.week,
        tip_id=tip.id if tip else None,
        tip_cycle=cycle,
        template_id=featured.id if featured else None,
        created_at=now,
    )
