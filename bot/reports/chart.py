"""The report chart: one PNG with four panels (answers per day, use by category, hours saved,
masked entities), drawn with matplotlib's Agg canvas (no display, no pyplot global state).

No font is shipped. When a Japanese font is installed (Noto Sans CJK, IPAex/IPA Gothic,
Takao, VL Gothic …; Debian: ``fonts-noto-cjk`` or ``fonts-ipaexfont``) the labels are Japanese;
otherwise the chart falls back to ASCII (English) labels so it never shows empty boxes.
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import TYPE_CHECKING

from bot.reports.labels import ENTITY_LABELS, label

if TYPE_CHECKING:
    from bot.reports.report import Report

#: Families tried in order; the first installed one is used for Japanese labels.
JAPANESE_FONTS = (
    "Noto Sans CJK JP",
    "Noto Sans JP",
    "Noto Sans CJK SC",
    "IPAexGothic",
    "IPAGothic",
    "IPAPGothic",
    "TakaoGothic",
    "TakaoPGothic",
    "VL Gothic",
    "Source Han Sans JP",
    "Hiragino Sans",
    "Yu Gothic",
    "Meiryo",
    "MS Gothic",
)
WIDTH_PX, HEIGHT_PX, DPI = 1200, 800, 100
_BLUE, _GREY, _ORANGE = "#1d4e89", "#a9b4c2", "#e07b39"


@lru_cache(maxsize=1)
def japanese_font() -> str | None:
    """The family name of an installed Japanese font, or None."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    found = _first_installed({entry.name for entry in manager.ttflist})
    if found is None:
        # matplotlib's font cache predates fonts installed later: look at the system's files.
        for path in font_manager.findSystemFonts():
            if any(hint in path.lower() for hint in _FONT_FILE_HINTS):
                try:
                    manager.addfont(path)
                except Exception:  # an unreadable font file is simply not used
                    continue
        found = _first_installed({entry.name for entry in manager.ttflist})
    return found


_FONT_FILE_HINTS = ("ipaex", "ipag", "ipam", "notosanscjk", "notosansjp", "takao", "vl-gothic")


def _first_installed(installed: set[str]) -> str | None:
    return next((family for family in JAPANESE_FONTS if family in installed), None)


def render_png(report: Report, *, font: str | bool | None = True) -> bytes:
    """Draw ``report`` as PNG bytes (WIDTH_PX × HEIGHT_PX).

    ``font``: True picks an installed Japanese font (ASCII labels without one); a family name
    forces that font; False/None forces the ASCII labels.
    """
    from matplotlib import rc_context, rcParams
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    family = japanese_font() if font is True else (font or None)
    ja = family is not None and report.lang == "ja"
    fonts = [family, *rcParams["font.sans-serif"]] if family else list(rcParams["font.sans-serif"])
    with rc_context({"font.family": "sans-serif", "font.sans-serif": fonts}):
        figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
        FigureCanvasAgg(figure)
        grid = figure.subplots(2, 2)
        _daily(grid[0][0], report, ja)
        _categories(grid[0][1], report, ja)
        _hours(grid[1][0], report, ja)
        _entities(grid[1][1], report, ja)
        figure.suptitle(_title(report, ja), fontsize=14)
        figure.text(0.5, 0.925, _headline(report, ja), ha="center", fontsize=10, color="#333333")
        figure.subplots_adjust(
            left=0.07, right=0.97, top=0.85, bottom=0.09, hspace=0.45, wspace=0.4
        )
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": "madoguchi"})
    return buffer.getvalue()


def _title(report: Report, ja: bool) -> str:
    period = report.period
    if ja:
        return f"窓口 利用状況 {period.label('ja')}"
    return f"Madoguchi usage {period.label('en')}"


def _headline(report: Report, ja: bool) -> str:
    cur = report.current
    satisfaction = "—" if cur.satisfaction is None else f"{cur.satisfaction * 100:.0f}%"
    share = "" if cur.staff_share is None else f" ({cur.staff_share * 100:.1f}%)"
    if ja:
        return (
            f"利用者 {cur.active_users:,}人{share} ・ 回答 {cur.turns:,}件 ・ "
            f"スレッド {cur.threads:,}件 ・ 満足度 {satisfaction}"
        )
    return (
        f"Active users {cur.active_users:,}{share} - answers {cur.turns:,} - "
        f"threads {cur.threads:,} - satisfaction {satisfaction}"
    )


def _daily(ax, report: Report, ja: bool) -> None:  # type: ignore[no-untyped-def]
    cur, prev = report.current, report.previous
    xs = list(range(len(cur.buckets)))
    ax.bar(xs, [n for _d, n in cur.buckets], color=_BLUE, label="今期" if ja else "this period")
    if prev.buckets:
        n = min(len(prev.buckets), len(xs))
        ax.plot(
            xs[:n],
            [c for _d, c in prev.buckets[:n]],
            color=_ORANGE,
            marker="o",
            linewidth=1.5,
            label="前期" if ja else "previous",
        )
    ticks = [f"{d.month}/{d.day}" for d, _n in cur.buckets]
    step = max(1, len(ticks) // 10)
    ax.set_xticks(xs[::step], ticks[::step], rotation=0, fontsize=8)
    per_week = cur.bucket_days > 1
    if ja:
        ax.set_title("週ごとの回答数" if per_week else "日ごとの回答数")
    else:
        ax.set_title("Answers per week" if per_week else "Answers per day")
    ax.legend(fontsize=8, loc="upper left")
    highest = max([n for _d, n in cur.buckets] + [n for _d, n in prev.buckets] + [1])
    ax.set_ylim(0, highest * 1.35)  # headroom: the legend never hides a bar
    _integers(ax.yaxis)


def _categories(ax, report: Report, ja: bool) -> None:  # type: ignore[no-untyped-def]
    rows = report.current.categories
    if not ja:
        from bot.categories import CategoryClassifier

        classifier = CategoryClassifier.load()
        names = [
            classifier.get(r.key).label_en if r.key == classifier.get(r.key).id else r.key
            for r in rows
        ]
    else:
        names = [r.label for r in rows]
    ys = list(range(len(rows)))
    ax.barh(ys, [r.turns for r in rows], color=_BLUE)
    ax.set_yticks(ys, names, fontsize=8)
    ax.invert_yaxis()
    _integers(ax.xaxis)
    k = report.current.k
    ax.set_title(
        f"カテゴリ別の回答数（{k}人未満はその他）"
        if ja
        else f"Answers by category (<{k} users: Other)"
    )
    _empty(ax, not rows, ja)


def _hours(ax, report: Report, ja: bool) -> None:  # type: ignore[no-untyped-def]
    cur, prev = report.current, report.previous
    groups = ["利用者の申告", "推計"] if ja else ["reported", "estimated"]
    xs = [0.0, 1.0]
    width = 0.38
    ax.bar(
        [x - width / 2 for x in xs],
        [prev.hours_saved_self, prev.hours_saved_estimated],
        width,
        color=_GREY,
        label="前期" if ja else "previous",
    )
    bars = ax.bar(
        [x + width / 2 for x in xs],
        [cur.hours_saved_self, cur.hours_saved_estimated],
        width,
        color=_BLUE,
        label="今期" if ja else "this period",
    )
    ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_xticks(xs, groups)
    ax.set_title("節約できた時間（時間）" if ja else "Hours saved")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_ylim(bottom=0)


def _entities(ax, report: Report, ja: bool) -> None:  # type: ignore[no-untyped-def]
    cur = report.current
    keys = sorted(
        set(cur.masked) | set(cur.blocked_by_type),
        key=lambda key: (-(cur.masked.get(key, 0) + cur.blocked_by_type.get(key, 0)), key),
    )
    items = [(key, cur.masked.get(key, 0)) for key in keys]
    lang = "ja" if ja else "en"
    names = [label(ENTITY_LABELS, key, lang) for key, _n in items]
    ys = list(range(len(items)))
    blocked = [cur.blocked_by_type.get(key, 0) for key, _n in items]
    # Side by side when something was blocked, so neither bar hides the other.
    shift, height = (0.2, 0.4) if any(blocked) else (0.0, 0.8)
    masked = [n for _k, n in items]
    ax.barh(
        [y - shift for y in ys], masked, height, color=_BLUE, label="伏せ字" if ja else "masked"
    )
    if any(blocked):
        ax.barh(
            [y + shift for y in ys],
            blocked,
            height,
            color=_ORANGE,
            label="送信停止" if ja else "blocked",
        )
        ax.legend(fontsize=8, loc="lower right")
    ax.set_yticks(ys, names, fontsize=8)
    ax.invert_yaxis()
    _integers(ax.xaxis)
    ax.set_title("伏せ字にした情報（件）" if ja else "Masked entities")
    _empty(ax, not items, ja)


def _integers(axis) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _empty(ax, empty: bool, ja: bool) -> None:  # type: ignore[no-untyped-def]
    if empty:
        ax.text(
            0.5,
            0.5,
            "データなし" if ja else "no data",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color="#777777",
        )
        ax.set_xticks([])
        ax.set_yticks([])
