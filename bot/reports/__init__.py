"""Oversight reports: anonymized usage figures per period, small groups merged (k-anonymity),
rendered as text, CSV (Excel), JSON or a PNG chart.

* :func:`build_report` → :class:`Report` (``.text() .csv() .json() .png()``) — the CLI
  ``madoguchi report`` and ``/madoguchi-admin report`` use it.
* :func:`period_figures` → :class:`PeriodFigures` — the weekly digest's headline figures.
"""

from bot.reports.figures import PeriodFigures, period_figures
from bot.reports.periods import JST, Period, period_bounds
from bot.reports.report import Report, build_report

__all__ = [
    "JST",
    "Period",
    "PeriodFigures",
    "Report",
    "build_report",
    "period_bounds",
    "period_figures",
]
