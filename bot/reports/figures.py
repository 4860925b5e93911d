"""The headline figures of one period, for the weekly digest (issue 6) and the reports.

Example::

    figures = await period_figures(db, "T0123", start, end, headcount=1200, k=5)
    figures.active_users, figures.staff_share, figures.top_categories[:3]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.categories import CategoryClassifier
from bot.reports.periods import Period, as_utc
from bot.reports.stats import PeriodStats, collect
from bot.storage.db import Database


@dataclass(frozen=True)
class PeriodFigures:
    """Anonymized figures of ``[start, end)`` for one workspace (definitions: bot/reports/stats)."""

    start: datetime  # [start, end) in UTC, aware
    end: datetime
    active_users: int  # distinct pseudonyms with ≥1 ok turn
    staff_share: float | None  # active_users / MADOGUCHI_STAFF_HEADCOUNT (None if unset)
    turns: int  # answered (ok) turns
    threads: int  # threads with ≥1 answered turn
    # (category id, Japanese label, turns), most used first; categories with fewer than k
    # users are merged into ("other", "その他", n), always last.
    top_categories: list[tuple[str, str, int]]
    hours_saved_self: float  # from the feedback control on answers
    hours_saved_estimated: float  # minutes_saved_estimate per new thread, by category
    satisfaction: float | None  # 👍 / (👍 + 👎), None without ratings
    feedback_count: int  # answers with feedback from their asker

    @classmethod
    def from_stats(cls, stats: PeriodStats) -> PeriodFigures:
        """The headline subset of a report's full figures."""
        return cls(
            start=stats.period.start,
            end=stats.period.end,
            active_users=stats.active_users,
            staff_share=stats.staff_share,
            turns=stats.turns,
            threads=stats.threads,
            top_categories=[(row.key, row.label, row.turns) for row in stats.categories],
            hours_saved_self=stats.hours_saved_self,
            hours_saved_estimated=stats.hours_saved_estimated,
            satisfaction=stats.satisfaction,
            feedback_count=stats.feedback_count,
        )


async def period_figures(
    db: Database,
    tenant: str,
    start: datetime,
    end: datetime,
    *,
    headcount: int | None = None,
    k: int = 5,
    classifier: CategoryClassifier | None = None,
) -> PeriodFigures:
    """The figures of ``[start, end)`` (aware datetimes; naive ones are taken as UTC)."""
    period = Period("custom", as_utc(start), as_utc(end))
    stats = await collect(db, tenant, period, k=k, headcount=headcount, classifier=classifier)
    return PeriodFigures.from_stats(stats)
