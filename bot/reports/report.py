"""The usage report of one period, with the previous period for trends, in four formats.

Example (what ``/madoguchi-admin report week`` does)::

    report = await build_report(runtime.db, tenant, "week", headcount=settings.staff_headcount,
                                k=settings.k_anonymity, currency=runtime.catalog.currency)
    text = report.text()                              # Slack mrkdwn, Japanese
    png = await asyncio.to_thread(report.png)         # matplotlib is CPU work: off the loop
    await client.files_upload_v2(channel=dm, content=png, filename=report.filename("png"),
                                 title=report.title(), initial_comment=text)
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from bot.categories import CategoryClassifier
from bot.messages import message
from bot.reports.figures import PeriodFigures
from bot.reports.kanon import Row
from bot.reports.labels import (
    CHANNEL_LABELS,
    ENTITY_LABELS,
    KIND_LABELS,
    PERIOD_KINDS,
    PREVIOUS_PERIOD,
    label,
)
from bot.reports.periods import Period, PeriodKind, period_bounds
from bot.reports.stats import PeriodStats, collect
from bot.storage.db import Database


@dataclass(frozen=True)
class Report:
    """The figures of a period and of the one before it; render with text/csv/json/png."""

    tenant: str
    current: PeriodStats
    previous: PeriodStats
    currency: str = "JPY"
    lang: str = "ja"
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    # -- summaries -----------------------------------------------------------------------------

    @property
    def period(self) -> Period:
        """The reported period."""
        return self.current.period

    @property
    def figures(self) -> PeriodFigures:
        """The headline figures of the reported period."""
        return PeriodFigures.from_stats(self.current)

    def title(self) -> str:
        """A one-line title without markup."""
        return self._title().replace("*", "")

    def filename(self, extension: str) -> str:
        """``madoguchi-report-2026-11-16_2026-11-22.png`` and the like."""
        return f"madoguchi-report-{self.period.slug()}.{extension}"

    def _title(self) -> str:
        kind = label(PERIOD_KINDS, self.period.kind, self.lang)
        return message("report_title", self.lang, kind=kind, period=self.period.label(self.lang))

    # -- text ----------------------------------------------------------------------------------

    def text(self) -> str:
        """The report as Slack mrkdwn text (plain enough for a terminal)."""
        m = self._m
        cur, prev = self.current, self.previous
        lines = [self._title(), m("report_compare", period=prev.period.label(self.lang))]
        if cur.turns == 0 and cur.refused == 0 and cur.errors == 0:
            lines.append(m("report_no_data"))
        if cur.key_ids > 1:
            lines.append(m("report_key_rotated"))
        lines += ["", m("report_section_use")]
        share = ""
        if cur.headcount:
            share = m("report_share", headcount=_n(cur.headcount), share=_pct(cur.staff_share))
        lines.append(
            m(
                "report_active_users",
                users=_n(cur.active_users),
                share=share,
                trend=self._trend(cur.active_users, prev.active_users),
            )
        )
        lines.append(
            m(
                "report_turns",
                turns=_n(cur.turns),
                trend=self._trend(cur.turns, prev.turns),
                threads=_n(cur.threads),
                new=_n(cur.new_threads),
            )
        )
        if cur.channel_types:
            items = self._items(cur.channel_types, CHANNEL_LABELS, sort=False)
            lines.append(m("report_channels", items=items))
        if cur.template_turns:
            lines.append(m("report_templates", n=_n(cur.template_turns)))
        if cur.avg_latency_ms is not None:
            lines.append(
                m(
                    "report_speed",
                    first=_seconds(cur.avg_first_token_ms),
                    total=_seconds(cur.avg_latency_ms),
                )
            )
        lines += ["", m("report_section_effect")]
        lines.append(
            m(
                "report_saved_self",
                hours=_hours(cur.hours_saved_self),
                n=_n(cur.minutes_reports),
                trend=self._trend(cur.hours_saved_self, prev.hours_saved_self, _hours),
            )
        )
        lines.append(
            m(
                "report_saved_estimated",
                hours=_hours(cur.hours_saved_estimated),
                n=_n(cur.new_threads),
                trend=self._trend(cur.hours_saved_estimated, prev.hours_saved_estimated, _hours),
            )
        )
        if cur.satisfaction is None:
            lines.append(m("report_satisfaction_none"))
        else:
            lines.append(
                m(
                    "report_satisfaction",
                    share=_pct(cur.satisfaction),
                    up=_n(cur.thumbs_up),
                    down=_n(cur.thumbs_down),
                    trend=self._trend_pct(cur.satisfaction, prev.satisfaction),
                )
            )
        if cur.categories:
            lines += ["", m("report_section_categories", k=cur.k)]
            lines += [self._group_line(row) for row in cur.categories]
        if cur.departments_recorded and cur.departments:
            lines += ["", m("report_section_departments", k=cur.k)]
            lines += [self._group_line(row) for row in cur.departments]
        lines += ["", m("report_section_tokens")]
        lines.append(
            m(
                "report_tokens",
                input=_n(cur.input_tokens),
                output=_n(cur.output_tokens),
                cost=self._money(cur.cost),
                trend=self._trend(cur.cost, prev.cost, self._money),
            )
        )
        if cur.estimated_token_turns:
            lines.append(m("report_tokens_estimated", n=_n(cur.estimated_token_turns)))
        if cur.models:
            lines += ["", m("report_section_models", k=cur.k)]
            for row in cur.models:
                lines.append(
                    m(
                        "report_model_row",
                        label=row.label,
                        turns=_n(row.turns),
                        users=_n(row.users),
                        input=_n(int(row.sums.get("input_tokens", 0))),
                        output=_n(int(row.sums.get("output_tokens", 0))),
                        cost=self._money(row.sums.get("cost", 0.0)),
                    )
                )
        lines += ["", m("report_section_masking")]
        lines.append(m("report_masked", items=self._items(cur.masked, ENTITY_LABELS)))
        lines.append(
            m(
                "report_blocked",
                n=_n(cur.blocked_messages),
                items=self._paren(self._items(cur.blocked_by_type, ENTITY_LABELS)),
            )
        )
        lines += ["", m("report_section_problems")]
        lines.append(
            m(
                "report_refused",
                n=_n(cur.refused),
                items=self._paren(self._items(cur.refused_kinds, KIND_LABELS)),
            )
        )
        lines.append(
            m(
                "report_errors",
                n=_n(cur.errors),
                items=self._paren(self._items(cur.error_kinds, KIND_LABELS)),
            )
        )
        return "\n".join(lines)

    def _m(self, key: str, **values: object) -> str:
        return message(key, self.lang, **values)

    def _group_line(self, row: Row) -> str:
        return self._m(
            "report_group_row", label=row.label, turns=_n(row.turns), users=_n(row.users)
        )

    def _trend(self, current: float, previous: float, fmt: Any = None) -> str:
        fmt = fmt or _n
        delta = current - previous
        sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
        return self._m(
            "report_trend",
            before=self._before(),
            previous=fmt(previous),
            delta=sign + fmt(abs(delta)),
        )

    def _before(self) -> str:
        return label(PREVIOUS_PERIOD, self.period.kind, self.lang)

    def _trend_pct(self, current: float, previous: float | None) -> str:
        if previous is None:
            return self._m("report_trend", before=self._before(), previous="—", delta="—")
        points = round((current - previous) * 100)
        sign = "+" if points > 0 else ("−" if points < 0 else "±")
        unit = "ポイント" if self.lang == "ja" else " pt"
        return self._m(
            "report_trend",
            before=self._before(),
            previous=_pct(previous),
            delta=f"{sign}{abs(points)}{unit}",
        )

    def _items(
        self, counts: Mapping[str, int], table: dict[str, tuple[str, str]], *, sort: bool = True
    ) -> str:
        if not counts:
            return self._m("report_none")
        pairs = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if sort else counts.items()
        unit = "件" if self.lang == "ja" else ""
        sep = "、" if self.lang == "ja" else ", "
        return sep.join(f"{label(table, key, self.lang)} {_n(n)}{unit}" for key, n in pairs)

    def _paren(self, items: str) -> str:
        if items == self._m("report_none"):
            return ""
        return f"（{items}）" if self.lang == "ja" else f" ({items})"

    def _money(self, amount: float) -> str:
        if self.currency == "JPY":
            # Small amounts keep their sen: a pilot's week may cost less than one yen.
            value = f"{amount:,.2f}" if abs(amount) < 10 else f"{amount:,.0f}"
            return f"{value}円" if self.lang == "ja" else f"¥{value}"
        return f"{amount:,.2f} {self.currency}"

    # -- CSV -----------------------------------------------------------------------------------

    def csv(self) -> bytes:
        """One tidy table (section, item id, item, measure, this period, previous period) as
        UTF-8 with a byte-order mark and CRLF line ends, so Excel opens it as Japanese."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        ja = self.lang == "ja"
        writer.writerow(
            ["区分", "項目ID", "項目", "指標", "今期", "前期"]
            if ja
            else ["section", "item_id", "item", "measure", "current", "previous"]
        )
        for row in self.rows():
            writer.writerow(row)
        return out.getvalue().encode("utf-8-sig")

    def rows(self) -> list[list[Any]]:
        """The rows of :meth:`csv` (without the header)."""
        ja = self.lang == "ja"
        cur, prev = self.current, self.previous
        rows: list[list[Any]] = []

        def section(name_ja: str, name_en: str) -> str:
            return name_ja if ja else name_en

        period = section("期間", "period")
        rows.append(
            [
                period,
                "first_day",
                section("初日", "first day"),
                section("日付", "date"),
                cur.period.first_day.isoformat(),
                prev.period.first_day.isoformat(),
            ]
        )
        rows.append(
            [
                period,
                "last_day",
                section("最終日", "last day"),
                section("日付", "date"),
                cur.period.last_day.isoformat(),
                prev.period.last_day.isoformat(),
            ]
        )
        summary = section("概要", "summary")
        for key, name_ja, name_en, value, before in _summary(cur, prev):
            rows.append([summary, key, section(name_ja, name_en), "", value, before])
        breakdowns = (
            (section("カテゴリ", "category"), cur.categories, prev.categories),
            (
                section("部署", "department"),
                cur.departments if cur.departments_recorded else [],
                prev.departments,
            ),
            (section("モデル", "model"), cur.models, prev.models),
        )
        for name, now_rows, before_rows in breakdowns:
            earlier = {r.key: r for r in before_rows}
            for row in now_rows:
                old = earlier.get(row.key)
                rows.append(
                    [
                        name,
                        row.key,
                        row.label,
                        section("回答数", "answers"),
                        row.turns,
                        old.turns if old else "",
                    ]
                )
                rows.append(
                    [
                        name,
                        row.key,
                        row.label,
                        section("利用者数", "users"),
                        row.users,
                        old.users if old else "",
                    ]
                )
                for measure, (m_ja, m_en) in (
                    ("input_tokens", ("入力トークン", "input tokens")),
                    ("output_tokens", ("出力トークン", "output tokens")),
                    ("cost", ("推計費用", "estimated cost")),
                ):
                    if measure in row.sums:
                        before = old.sums.get(measure, "") if old else ""
                        rows.append(
                            [
                                name,
                                row.key,
                                row.label,
                                section(m_ja, m_en),
                                _num(row.sums[measure]),
                                _num(before),
                            ]
                        )
        for name, now_counts, before_counts, table in (
            (section("伏せ字", "masked"), cur.masked, prev.masked, ENTITY_LABELS),
            (
                section("送信停止", "blocked"),
                cur.blocked_by_type,
                prev.blocked_by_type,
                ENTITY_LABELS,
            ),
            (section("お断り", "refused"), cur.refused_kinds, prev.refused_kinds, KIND_LABELS),
            (section("エラー", "error"), cur.error_kinds, prev.error_kinds, KIND_LABELS),
            (section("利用場所", "where"), cur.channel_types, prev.channel_types, CHANNEL_LABELS),
        ):
            for key in sorted(set(now_counts) | set(before_counts)):
                rows.append(
                    [
                        name,
                        key,
                        label(table, key, self.lang),
                        section("件数", "count"),
                        now_counts.get(key, 0),
                        before_counts.get(key, 0),
                    ]
                )
        unit = section("日別", "daily") if cur.bucket_days == 1 else section("週別", "weekly")
        for index, (day, count) in enumerate(cur.buckets):
            before = prev.buckets[index][1] if index < len(prev.buckets) else ""
            rows.append(
                [
                    unit,
                    day.isoformat(),
                    _day_label(day, self.lang),
                    section("回答数", "answers"),
                    count,
                    before,
                ]
            )
        return rows

    # -- JSON ----------------------------------------------------------------------------------

    def json(self) -> str:
        """The report as a JSON document (UTF-8 text, Japanese labels as they are)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data."""
        return {
            "tenant": self.tenant,
            "generated_at": self.generated_at.isoformat(),
            "currency": self.currency,
            "k_anonymity": self.current.k,
            "period": _period_dict(self.current.period),
            "previous_period": _period_dict(self.previous.period),
            "current": _stats_dict(self.current),
            "previous": _stats_dict(self.previous),
        }

    # -- PNG -----------------------------------------------------------------------------------

    def png(self) -> bytes:
        """A chart of the period (matplotlib, Agg) as PNG bytes. Japanese labels when a
        Japanese font is installed, ASCII labels otherwise. CPU work: call it off the loop."""
        from bot.reports.chart import render_png

        return render_png(self)


async def build_report(
    db: Database,
    tenant: str,
    period: PeriodKind | Period = "week",
    *,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
    current: bool = False,
    headcount: int | None = None,
    k: int = 5,
    classifier: CategoryClassifier | None = None,
    model_labels: Mapping[str, str] | None = None,
    currency: str = "JPY",
    lang: str = "ja",
) -> Report:
    """Build the report of ``period`` for ``tenant``.

    ``period`` is ``"week"`` (the last complete Monday–Sunday week in Japan time), ``"month"``
    (the last complete calendar month), ``"custom"`` (``start`` to ``end``, dates inclusive)
    or a :class:`Period`. ``current=True`` reports the running week or month so far. The
    previous period (for trends) is the one right before.
    """
    if not isinstance(period, Period):
        period = period_bounds(period, now=now, start=start, end=end, current=current)
    classifier = classifier or CategoryClassifier.load()
    options: dict[str, Any] = {
        "k": k,
        "headcount": headcount,
        "classifier": classifier,
        "model_labels": model_labels,
        "lang": lang,
    }
    stats = await collect(db, tenant, period, **options)
    previous = await collect(db, tenant, period.previous(), **options)
    return Report(tenant=tenant, current=stats, previous=previous, currency=currency, lang=lang)


# --------------------------------------------------------------------------- helpers


def _n(value: float) -> str:
    return f"{round(value):,}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _hours(value: float) -> str:
    return f"{value:,.1f}"


def _seconds(ms: int | None) -> str:
    return "—" if ms is None else f"{ms / 1000:.1f}"


def _num(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 2)
    return value


def _day_label(day: date, lang: str) -> str:
    if lang == "en":
        return day.strftime("%a %d %b")
    return f"{day.month}/{day.day}（{'月火水木金土日'[day.weekday()]}）"


def _summary(cur: PeriodStats, prev: PeriodStats) -> list[tuple[str, str, str, Any, Any]]:
    def pair(attr: str) -> tuple[Any, Any]:
        a, b = getattr(cur, attr), getattr(prev, attr)
        if isinstance(a, float) or isinstance(b, float):
            return (round(a, 4) if a is not None else "", round(b, 4) if b is not None else "")
        return (a if a is not None else "", b if b is not None else "")

    items = [
        ("active_users", "利用者数", "active users"),
        ("staff_share", "職員に占める割合", "share of staff"),
        ("turns", "回答数", "answers"),
        ("threads", "スレッド数", "threads"),
        ("new_threads", "新規スレッド数", "new threads"),
        ("refused", "お断り", "refused"),
        ("errors", "エラー", "errors"),
        ("blocked_messages", "送信停止", "blocked messages"),
        ("input_tokens", "入力トークン", "input tokens"),
        ("output_tokens", "出力トークン", "output tokens"),
        ("cost", "推計費用", "estimated cost"),
        ("hours_saved_self", "節約時間（申告、時間）", "hours saved (reported)"),
        ("hours_saved_estimated", "節約時間（推計、時間）", "hours saved (estimated)"),
        ("satisfaction", "満足度", "satisfaction"),
        ("thumbs_up", "👍", "thumbs up"),
        ("thumbs_down", "👎", "thumbs down"),
        ("feedback_count", "フィードバック件数", "answers with feedback"),
        ("template_turns", "テンプレート利用", "template uses"),
        ("avg_first_token_ms", "表示開始までの平均（ミリ秒）", "avg. time to first token (ms)"),
        ("avg_latency_ms", "回答完了までの平均（ミリ秒）", "avg. turn time (ms)"),
    ]
    return [(key, ja, en, *pair(key)) for key, ja, en in items]


def _period_dict(period: Period) -> dict[str, Any]:
    return {
        "kind": period.kind,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "first_day": period.first_day.isoformat(),
        "last_day": period.last_day.isoformat(),
    }


def _rows_dicts(rows: list[Row]) -> list[dict[str, Any]]:
    return [
        {"id": r.key, "label": r.label, "turns": r.turns, "users": r.users, **r.sums} for r in rows
    ]


def _stats_dict(stats: PeriodStats) -> dict[str, Any]:
    return {
        "active_users": stats.active_users,
        "staff_headcount": stats.headcount,
        "staff_share": stats.staff_share,
        "turns": stats.turns,
        "threads": stats.threads,
        "new_threads": stats.new_threads,
        "refused": stats.refused,
        "errors": stats.errors,
        "refused_kinds": stats.refused_kinds,
        "error_kinds": stats.error_kinds,
        "gen_ai.usage.input_tokens": stats.input_tokens,
        "gen_ai.usage.output_tokens": stats.output_tokens,
        "cost": round(stats.cost, 4),
        "estimated_token_turns": stats.estimated_token_turns,
        "avg_latency_ms": stats.avg_latency_ms,
        "avg_first_token_ms": stats.avg_first_token_ms,
        "channel_types": stats.channel_types,
        "template_turns": stats.template_turns,
        "hours_saved_self": round(stats.hours_saved_self, 4),
        "hours_saved_estimated": round(stats.hours_saved_estimated, 4),
        "satisfaction": stats.satisfaction,
        "thumbs_up": stats.thumbs_up,
        "thumbs_down": stats.thumbs_down,
        "feedback_count": stats.feedback_count,
        "minutes_reports": stats.minutes_reports,
        "categories": _rows_dicts(stats.categories),
        "departments": _rows_dicts(stats.departments) if stats.departments_recorded else [],
        "models": _rows_dicts(stats.models),
        "masked": stats.masked,
        "blocked_by_type": stats.blocked_by_type,
        "blocked_messages": stats.blocked_messages,
        "buckets": {
            "days_per_bucket": stats.bucket_days,
            "turns": [[day.isoformat(), count] for day, count in stats.buckets],
        },
        "pseudonym_keys_in_period": stats.key_ids,
    }
