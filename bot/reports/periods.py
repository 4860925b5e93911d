"""Report periods: weeks (Monday–Sunday) and calendar months in Japan time, as UTC bounds.

A period is ``[start, end)``; both bounds are timezone-aware UTC datetimes, the form the usage
tables are queried in. Japan has no daylight saving time, so a fixed +09:00 offset is exact and
needs no tz database (closed networks may lack one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Literal

JST = timezone(timedelta(hours=9), "JST")
PeriodKind = Literal["week", "month", "custom"]
_WEEKDAYS_JA = "月火水木金土日"


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC, with the kind it was built as (for titles and trends)."""

    kind: PeriodKind
    start: datetime
    end: datetime

    @property
    def first_day(self) -> date:
        """The first day of the period in Japan time."""
        return self.start.astimezone(JST).date()

    @property
    def last_day(self) -> date:
        """The last day of the period in Japan time (inclusive)."""
        return (self.end.astimezone(JST) - timedelta(microseconds=1)).date()

    def days(self) -> list[date]:
        """Every day of the period in Japan time."""
        first, last = self.first_day, self.last_day
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def previous(self) -> Period:
        """The period before this one: the week before, the month before, or an equally long
        stretch right before a custom period."""
        if self.kind == "month":
            first = self.first_day
            prev_last = first - timedelta(days=1)
            return Period("month", jst_midnight(prev_last.replace(day=1)), self.start)
        return Period(self.kind, self.start - (self.end - self.start), self.start)

    def label(self, lang: str = "ja") -> str:
        """``2026/11/16（月）〜 2026/11/22（日）`` (``2026-11-16 – 2026-11-22`` in English)."""
        first, last = self.first_day, self.last_day
        if lang == "en":
            return f"{first.isoformat()} – {last.isoformat()}"
        return f"{_ja_day(first)} 〜 {_ja_day(last)}"

    def slug(self) -> str:
        """``2026-11-16_2026-11-22``, for file names."""
        return f"{self.first_day.isoformat()}_{self.last_day.isoformat()}"


def _ja_day(day: date) -> str:
    return f"{day.year}/{day.month:02d}/{day.day:02d}（{_WEEKDAYS_JA[day.weekday()]}）"


def jst_midnight(day: date) -> datetime:
    """Midnight at the start of ``day`` in Japan, as UTC."""
    return datetime.combine(day, time(0), JST).astimezone(UTC)


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (a naive one is taken to be UTC already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def period_bounds(
    kind: PeriodKind,
    *,
    now: datetime | None = None,
    start: date | None = None,
    end: date | None = None,
    current: bool = False,
) -> Period:
    """The period to report on.

    ``week``: the last complete Monday–Sunday week in Japan time (``current=True``: this week
    so far, up to ``now``); ``month``: the last complete calendar month (or this month so far);
    ``custom``: ``start`` to ``end``, both dates inclusive, in Japan time.
    """
    now = as_utc(now or datetime.now(UTC))
    today = now.astimezone(JST).date()
    if kind == "custom":
        if start is None or end is None:
            raise ValueError("a custom period needs a start and an end date")
        if end < start:
            raise ValueError("the end date is before the start date")
        return Period("custom", jst_midnight(start), jst_midnight(end + timedelta(days=1)))
    if kind == "week":
        monday = today - timedelta(days=today.weekday())
        if current:
            return Period("week", jst_midnight(monday), now)
        return Period("week", jst_midnight(monday - timedelta(days=7)), jst_midnight(monday))
    if kind == "month":
        first = today.replace(day=1)
        if current:
            return Period("month", jst_midnight(first), now)
        previous_first = (first - timedelta(days=1)).replace(day=1)
        return Period("month", jst_midnight(previous_first), jst_midnight(first))
    raise ValueError(f"unknown period {kind!r}: use week, month or custom")
