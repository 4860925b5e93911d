"""Build the slack-bolt AsyncApp for a runtime."""

from __future__ import annotations

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.settings import SettingsError
from handlers import events


def build_app(
    runtime: Runtime,
    *,
    require_signing_secret: bool = True,
    session: aiohttp.ClientSession | None = None,
) -> AsyncApp:
    """An AsyncApp whose Web API calls go to ``MADOGUCHI_SLACK_API_URL``.

    Pass a shared ``session`` (created inside the running loop) so every Web API call reuses
    pooled connections instead of opening a session per call.
    """
    settings = runtime.settings
    missing = settings.missing("slack_bot_token")
    if require_signing_secret:
        missing += settings.missing("slack_signing_secret")
    if missing:
        raise SettingsError(f"設定エラー / missing setting: {', '.join(missing)}")
    token = settings.secret("slack_bot_token")
    client = AsyncWebClient(token=token, base_url=settings.slack_api_url, session=session)
    app = AsyncApp(
        client=client,
        signing_secret=settings.secret("slack_signing_secret") or "",
        # Ack first, answer in the background: Slack wants a response within 3 seconds.
        process_before_response=False,
        request_verification_enabled=require_signing_secret,
    )
    events.register(app, runtime)
    return app
