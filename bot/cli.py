"""The ``madoguchi`` command: a thin layer over the library."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bot.logs import configure_logging
from bot.settings import Settings, SettingsError, load_settings


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="madoguchi", description="窓口 Madoguchi — 自治体職員のための生成AIチャットボット"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="Slack ボットを起動（既定: Socket Mode）")
    serve.add_argument(
        "--http", action="store_true", help="HTTP モード（/slack/events）で待ち受ける"
    )
    serve.add_argument("--host", default=None, help="HTTP モードの待受アドレス")
    serve.add_argument("--port", type=int, default=None, help="HTTP モードのポート")

    chat = sub.add_parser("chat", help="ターミナルで対話（Slack と同じ処理系）")
    chat.add_argument(
        "--dry-run", action="store_true", help="モデルに送る内容を表示するだけで送信しない"
    )

    mask = sub.add_parser("mask", help="伏せ字フィルタ（標準入力→標準出力）")
    from bot.masking.cli import add_arguments as add_mask_arguments

    add_mask_arguments(mask)

    report = sub.add_parser("report", help="利用状況レポート（匿名化した集計: text/csv/json/png）")
    from bot.reports.cli import add_arguments as add_report_arguments

    add_report_arguments(report)
    digest = sub.add_parser("digest", help="週刊ダイジェスト（--dry-run で表示、--post で今すぐ投稿）")
    from bot.digest.cli import add_arguments as add_digest_arguments

    add_digest_arguments(digest)

    db = sub.add_parser("db", help="データベース管理")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="スキーマを最新にする（Alembic）")
    db_sub.add_parser("current", help="現在のスキーマのリビジョンを表示")
    purge = db_sub.add_parser("purge", help="保存期間を過ぎた会話・伏せ字対応表・利用記録を削除")
    purge.add_argument("--all", action="store_true", help="期間に関係なくすべての会話を削除")
    db_sub.add_parser(
        "rotate-pseudonym-key", help="利用記録の仮名の鍵を新しくする（過去の集計はそのまま）"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    if args.command == "mask":
        from bot.masking.cli import main as mask_main

        return mask_main(args)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    # The terminal chat prints the answer on stdout; its logs go to stderr so they don't mix.
    configure_logging(settings.log_level, stream=sys.stderr if args.command == "chat" else None)
    try:
        if args.command == "chat":
            return asyncio.run(_chat(settings, args.dry_run))
        if args.command == "serve":
            from handlers.server import serve

            return serve(settings, http=args.http, host=args.host, port=args.port)
        if args.command == "db":
            return asyncio.run(_db(settings, args))
        if args.command == "report":
            from bot.reports.cli import run as run_report

            return asyncio.run(run_report(settings, args))
        # argparse admits no other command: the last one is digest.
        from bot.digest.cli import run as run_digest

        return asyncio.run(run_digest(settings, args))
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2


async def _chat(settings: Settings, dry_run: bool) -> int:
    from bot.runtime import build_runtime
    from bot.terminal import run_chat

    runtime = await build_runtime(settings)
    try:
        return await run_chat(runtime, dry_run=dry_run)
    finally:
        await runtime.aclose()


async def _db(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from bot.storage import Database, Store

    db = Database(settings.database_url)
    try:
        if args.db_command == "upgrade":
            await db.upgrade()
            print(f"schema at {await db.current_revision()}")
        elif args.db_command == "current":
            print(f"current {await db.current_revision()} / head {db.head_revision()}")
        elif args.db_command == "purge":
            await db.ensure_schema()
            store = Store(db, retention=timedelta(days=settings.retention_days))
            counts = await store.purge(everything=args.all)
            # Usage records follow their own, longer retention (never --all).
            from bot.usage import purge_usage

            counts.update(await purge_usage(db, timedelta(days=settings.usage_retention_days)))
            # Quota counters only serve this month's budgets (bot/admin).
            from bot.admin.records import purge_quota_counters

            counts["quota_days"] = await purge_quota_counters(db)
            print(" ".join(f"{k}={v}" for k, v in counts.items()))
        elif args.db_command == "rotate-pseudonym-key":
            from bot.usage import rotate_pseudonym_key

            print(rotate_pseudonym_key(settings))
        return 0
    finally:
        await db.dispose()


if __name__ == "__main__":
    sys.exit(main())
