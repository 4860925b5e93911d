"""Build the slack-bolt AsyncApp for a runtime."""

from __future__ import annotations

from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.settings import SettingsError
from handlers import commands, departments, events, feedback, home, library
from handlers.pacing import UpdatePacer


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
    # OAuth mode (SLACK_CLIENT_ID + SLACK_CLIENT_SECRET): one token per installed workspace,
    # from the installation store (handlers/oauth.py); otherwise the one SLACK_BOT_TOKEN.
    oauth = settings.oauth_enabled
    missing = [] if oauth else settings.missing("slack_bot_token")
    if require_signing_secret:
        missing += settings.missing("slack_signing_secret")
    if missing:
        raise SettingsError(f"設定エラー / missing setting: {', '.join(missing)}")
    token = None if oauth else settings.secret("slack_bot_token")
    client = AsyncWebClient(token=token, base_url=settings.slack_api_url, session=session)
    oauth_options: dict[str, Any] = {}
    if oauth:
        from handlers.oauth import oauth_app_options

        oauth_options = oauth_app_options(runtime, client)
    app = AsyncApp(
        client=client,
        signing_secret=settings.secret("slack_signing_secret") or "",
        # Ack first, answer in the background: Slack wants a response within 3 seconds.
        process_before_response=False,
        request_verification_enabled=require_signing_secret,
        **oauth_options,
    )
    if oauth:
        app.enable_token_revocation_listeners()
    # One update budget per instance, shared by chat answers and prompt-library runs.
    pacer = UpdatePacer(settings.stream_update_interval, settings.slack_update_rate)
    events.register(app, runtime, pacer)
    # Admin and staff slash commands (their dispatch table) before features that add to it.
    commands.register(app, runtime)
    home.register(app, runtime)
    library.register(app, runtime, pacer)
    feedback.register(app, runtime)
    departments.install(app, runtime, client)
    return app
