"""ISO weeks and weekly schedules in the office's time zone (Asia/Tokyo by default).

A digest belongs to the ISO week (Monday–Sunday, local time) in which it is due; "last week" in
its figures is the ISO week before that, from Monday 00:00 to Monday 00:00 local time.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {
    **{d: i for i, d in enumerate(DAYS)},
    **{name: i for i, name in enumerate(("月", "火", "水", "木", "金", "土", "日"))},
    **{
        name: i
        for i, name in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
}
_SCHEDULE = re.compile(
    r"^\s*(?P<day>[a-z]+|[月火水木金土日])(?:曜日|曜)?\s*"
    r"(?P<hour>\d{1,2})(?:[:時]\s*(?P<minute>\d{1,2})?分?)?\s*$"
)
_QUOTES = "\"'「」『』“”‘’"


def zone(name: str) -> tzinfo:
    """The time zone ``name`` (IANA, e.g. ``Asia/Tokyo``)."""
    return ZoneInfo(name)


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week: (year, week number)."""

    year: int
    week: int

    @classmethod
    def of(cls, moment: datetime, tz: tzinfo) -> Week:
        """The ISO week ``moment`` falls in, in time zone ``tz``."""
        year, week, _ = moment.astimezone(tz).isocalendar()
        return cls(year, week)

    def start(self, tz: tzinfo) -> datetime:
        """Monday 00:00 of this week in ``tz`` (timezone-aware)."""
        return datetime.combine(date.fromisocalendar(self.year, self.week, 1), time(), tz)

    def end(self, tz: tzinfo) -> datetime:
        """Monday 00:00 of the next week in ``tz``."""
        return self.next().start(tz)

    def previous(self) -> Week:
        """The week before."""
        monday = date.fromisocalendar(self.year, self.week, 1) - timedelta(days=7)
        year, week, _ = monday.isocalendar()
        return Week(year, week)

    def next(self) -> Week:
        """The week after."""
        monday = date.fromisocalendar(self.year, self.week, 1) + timedelta(days=7)
        year, week, _ = monday.isocalendar()
        return Week(year, week)

    def utc_range(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """[start, end) of the week in ``tz``, as UTC datetimes (what reports take)."""
        return self.start(tz).astimezone(UTC), self.end(tz).astimezone(UTC)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @classmethod
    def parse(cls, text: str) -> Week:
        """Parse ``2025-W48``."""
        match = re.fullmatch(r"(\d{4})-W(\d{1,2})", text.strip())
        if not match:
            raise ValueError(f"not an ISO week: {text!r}")
        year, week = int(match.group(1)), int(match.group(2))
        date.fromisocalendar(year, week, 1)  # validates the week number
        return cls(year, week)


@dataclass(frozen=True)
class Schedule:
    """A weekly time: day of week (0 = Monday) and local hour and minute."""

    weekday: int
    hour: int
    minute: int

    @classmethod
    def parse(cls, text: str) -> Schedule:
        """Parse ``mon 09:00``, ``月曜 9:00``, ``金 17時30分`` … (quotes around it are ignored).

        Raises ``ValueError`` with a Japanese message on anything else.
        """
        cleaned = unicodedata.normalize("NFKC", text).strip().strip(_QUOTES).strip().lower()
        match = _SCHEDULE.match(cleaned)
        day = match and _DAY_NAMES.get(match.group("day"))
        if match is None or day is None:
            raise ValueError(
                f"曜日と時刻を「mon 09:00」や「月曜 9:00」の形で指定してください（入力: {text.strip()}）。"
            )
        hour, minute = int(match.group("hour")), int(match.group("minute") or 0)
        if not (0 <= hour <= 23 and 0 <= minute <= 59):
            raise ValueError(f"時刻が正しくありません（入力: {text.strip()}）。")
        return cls(day, hour, minute)

    def in_week(self, week: Week, tz: tzinfo) -> datetime:
        """When this schedule falls in ``week``, in ``tz``."""
        day = date.fromisocalendar(week.year, week.week, self.weekday + 1)
        return datetime.combine(day, time(self.hour, self.minute), tz)

    def next_after(self, moment: datetime, tz: tzinfo) -> datetime:
        """The first time on this schedule strictly after ``moment``."""
        week = Week.of(moment, tz)
        candidate = self.in_week(week, tz)
        if candidate <= moment:
            candidate = self.in_week(week.next(), tz)
        return candidate

    def cron(self) -> dict[str, str | int]:
        """Keyword arguments for APScheduler's ``CronTrigger``."""
        return {"day_of_week": DAYS[self.weekday], "hour": self.hour, "minute": self.minute}

    def label(self, lang: str = "ja") -> str:
        """``毎週月曜 09:00`` / ``Mondays 09:00``."""
        if lang == "en":
            names = (
                "Mondays",
                "Tuesdays",
                "Wednesdays",
                "Thursdays",
                "Fridays",
                "Saturdays",
                "Sundays",
            )
            return f"{names[self.weekday]} {self.hour:02d}:{self.minute:02d}"
        return f"毎週{'月火水木金土日'[self.weekday]}曜 {self.hour:02d}:{self.minute:02d}"

    def __str__(self) -> str:
        return f"{DAYS[self.weekday]} {self.hour:02d}:{self.minute:02d}"
