"""``madoguchi digest``: print this week's digest (``--dry-run``) or post it now (``--post``)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from bot.settings import Settings, SettingsError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``madoguchi digest``."""
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--dry-run",
        action="store_true",
        help="今週のダイジェストを表示するだけで投稿しない（既定）",
    )
    mode.add_argument(
        "--post",
        action="store_true",
        help="今すぐ投稿する（今週分を投稿済みのチャンネルには投稿しない）",
    )
    parser.add_argument(
        "--force", action="store_true", help="--post と併用: 今週分が投稿済みでも、もう一度投稿する"
    )
    parser.add_argument(
        "--channel",
        action="append",
        metavar="ID",
        help="投稿先のチャンネル ID（複数可。既定は設定・管理者コマンドで決めた投稿先）",
    )
    parser.add_argument(
        "--tenant",
        metavar="TEAM_ID",
        help="ワークスペース ID（既定: ボットトークンのワークスペース）",
    )
    parser.add_argument("--week", metavar="YYYY-Www", help="--dry-run で表示する週（例 2025-W48）")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run ``madoguchi digest``; 0 when every channel got (or already had) this week's digest."""
    from bot.digest.weeks import Week
    from bot.runtime import build_runtime

    if args.force and not args.post:
        raise SettingsError("--force は --post と一緒に指定してください / --force needs --post")
    runtime = await build_runtime(settings)
    digest = runtime.digest
    assert digest is not None
    poster = None
    try:
        if settings.slack_bot_token is not None:
            from slack_sdk.web.async_client import AsyncWebClient

            from handlers.library import SlackDigestPoster

            poster = SlackDigestPoster(
                AsyncWebClient(
                    token=settings.secret("slack_bot_token"), base_url=settings.slack_api_url
                )
            )
        tenant = args.tenant or await _tenant(digest, poster, required=args.post)
        if not args.post:
            week = Week.parse(args.week) if args.week else Week.of(datetime.now(UTC), digest.tz)
            composed = await digest.compose(tenant, week, persist=False)
            sys.stdout.write(composed.text())
            return 0
        if poster is None:
            raise SettingsError("設定エラー / missing setting: SLACK_BOT_TOKEN (--post)")
        results = await digest.post_now(tenant, poster, channels=args.channel, force=args.force)
        if not results:
            print("投稿先のチャンネルがありません / no digest channel configured", file=sys.stderr)
            return 1
        for result in results:
            detail = result.ts or result.reason or ""
            print(f"{result.channel}\t{result.status}\t{detail}".rstrip())
        return 0 if all(r.status in ("posted", "skipped") for r in results) else 1
    finally:
        await runtime.aclose()


async def _tenant(digest: object, poster: object, *, required: bool) -> str:
    """The bot token's workspace, else the only workspace with digest settings; a preview
    without either shows the digest without figures."""
    if poster is not None:
        try:
            home = await poster.home_tenant()  # type: ignore[attr-defined]
        except Exception:
            home = None
        if home:
            return home
    configs = await digest.configs.all(None)  # type: ignore[attr-defined]
    if len(configs) == 1:
        return configs[0].tenant
    if not configs and not required:
        print(
            "（ワークスペース未指定のため、集計なしで表示します / no workspace: no figures）",
            file=sys.stderr,
        )
        return "-"
    raise SettingsError(
        "ワークスペースを --tenant で指定してください / pass --tenant "
        f"(known: {', '.join(c.tenant for c in configs) or 'none'})"
    )
