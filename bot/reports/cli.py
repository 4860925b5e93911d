"""``madoguchi report``: the usage report on the command line.

    madoguchi report                                   last week, text, on stdout
    madoguchi report --period month --format csv -o 2026-10.csv
    madoguchi report --period custom --start 2026-04-01 --end 2026-09-30 --format json
    madoguchi report --format png                      writes madoguchi-report-<dates>.png

Exit status: 0 done, 2 bad arguments (e.g. several workspaces and no ``--tenant``).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select

from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.usage_tables import UsageEventRow


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``report`` subcommand's options to ``parser``."""
    parser.add_argument(
        "--period",
        choices=["week", "month", "custom"],
        default="week",
        help="week: 先週（月〜日）, month: 先月, custom: --start〜--end（日本時間）",
    )
    parser.add_argument("--start", type=date.fromisoformat, help="custom の初日 YYYY-MM-DD")
    parser.add_argument("--end", type=date.fromisoformat, help="custom の最終日 YYYY-MM-DD（含む）")
    parser.add_argument(
        "--current", action="store_true", help="今週／今月の途中までを集計（week / month）"
    )
    parser.add_argument(
        "--format", choices=["text", "csv", "json", "png"], default="text", help="出力形式"
    )
    parser.add_argument(
        "--output", "-o", type=Path, default=None, help="出力ファイル（png の既定は自動の名前）"
    )
    parser.add_argument("--tenant", default=None, help="ワークスペース ID（複数あるとき必須）")


async def run(settings: Settings, args: argparse.Namespace, out: BinaryIO | None = None) -> int:
    """Build and write the report; returns the exit status."""
    from bot.catalog import ModelCatalog
    from bot.reports.report import build_report

    if args.period == "custom" and (args.start is None or args.end is None):
        print("madoguchi report: --period custom には --start と --end が必要です", file=sys.stderr)
        return 2
    out = out or sys.stdout.buffer
    db = Database(settings.database_url)
    try:
        await db.ensure_schema()
        tenant = args.tenant or await _only_tenant(db)
        if tenant is None:
            return 2
        catalog = ModelCatalog.load(settings.default_model, settings.models_file)
        try:
            report = await build_report(
                db,
                tenant,
                args.period,
                start=args.start,
                end=args.end,
                current=args.current,
                headcount=settings.staff_headcount,
                k=settings.k_anonymity,
                model_labels={m.id: m.display_name for m in catalog.all()},
                currency=catalog.currency,
                lang=settings.language,
            )
        except ValueError as exc:
            print(f"madoguchi report: {exc}", file=sys.stderr)
            return 2
    finally:
        await db.dispose()
    data = {
        "text": lambda: (report.text() + "\n").encode("utf-8"),
        "csv": report.csv,
        "json": lambda: (report.json() + "\n").encode("utf-8"),
        "png": report.png,
    }[args.format]()
    target = args.output
    if target is None and args.format == "png":
        target = Path(report.filename("png"))
    if target is None:
        out.write(data)
        out.flush()
    else:
        target.write_bytes(data)
        print(f"{target}", file=sys.stderr)
    return 0


async def _only_tenant(db: Database) -> str | None:
    """The one workspace with usage records; prints the choices when there are several."""
    async with db.session() as session:
        tenants = sorted((await session.scalars(select(UsageEventRow.tenant).distinct())).all())
    if len(tenants) > 1:
        print(
            "madoguchi report: 複数のワークスペースがあります。--tenant で指定してください: "
            + ", ".join(tenants),
            file=sys.stderr,
        )
        return None
    return tenants[0] if tenants else "-"
