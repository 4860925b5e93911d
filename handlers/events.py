"""Slack event listeners: turn a mention, a DM or a thread reply into a turn for the gateway."""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.turn import ChannelType, Turn
from handlers.format import unescape
from handlers.pacing import UpdatePacer
from handlers.sink import reply_sink

log = structlog.get_logger("madoguchi.slack.events")

# Message subtypes that are a person writing to us; everything else (edits, deletions, joins,
# bot messages) is ignored.
# How many answered threads an instance remembers (see ``known_threads``).
KNOWN_THREADS = 10_000

_HUMAN_SUBTYPES = {None, "file_share", "thread_broadcast"}
_CHANNEL_TYPES: dict[str, ChannelType] = {
    "im": "dm",
    "channel": "channel",
    "group": "private",
    "mpim": "private",
}


def register(app: AsyncApp, runtime: Runtime, pacer: UpdatePacer) -> None:
    """Attach the chat listeners and the event de-duplication middleware to ``app``."""
    store = runtime.store
    settings = runtime.settings
    # Threads this instance answered in: a reply there needs no database look-up to know the
    # bot is part of it (another instance's threads are found in the database).
    known_threads: OrderedDict[tuple[str, str, str], None] = OrderedDict()

    def remember(key: tuple[str, str, str]) -> None:
        known_threads[key] = None
        known_threads.move_to_end(key)
        if len(known_threads) > KNOWN_THREADS:
            known_threads.popitem(last=False)

    @app.middleware
    async def deduplicate(body: dict[str, Any], next: Any) -> BoltResponse | None:
        # Slack retries an event it thinks was not acknowledged, and every instance behind a
        # load balancer may receive it: the first to store the event id answers, others ack.
        # The claim goes to Redis when configured (bot.coordination), else to the database.
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        claim = runtime.coordinator.claim_event if runtime.coordinator else store.claim_event
        if event_id and not await claim(event_id, _tenant(body)):
            log.info("event.duplicate", event_id=event_id)
            return BoltResponse(status=200, body="")
        return await next()

    async def answer(turn: Turn, client: AsyncWebClient) -> None:
        sink = reply_sink(
            client,
            turn.channel,
            turn.thread,
            native_streaming=settings.slack_native_streaming,
            team_id=turn.tenant,
            user_id=turn.user,
            lang=settings.language,
            pacer=pacer,
        )
        await runtime.gateway.handle(turn, sink)
        # The bot has replied in this thread (an answer or a refusal): follow-ups are for it.
        remember((turn.tenant, turn.channel, turn.thread))

    @app.event("app_mention")
    async def on_mention(
        event: dict[str, Any],
        body: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        channel = event.get("channel", "")
        if channel.startswith("D") or _from_bot(event, context):
            return  # DMs arrive as message.im too; answer once, there.
        turn = _turn(event, body, context, "private" if channel.startswith("G") else "channel")
        await answer(turn, client)

    @app.event("message")
    async def on_message(
        event: dict[str, Any],
        body: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        if event.get("subtype") not in _HUMAN_SUBTYPES or _from_bot(event, context):
            return
        channel_type = _CHANNEL_TYPES.get(event.get("channel_type", ""), "channel")
        if channel_type != "dm":
            thread_ts = event.get("thread_ts")
            if not thread_ts or _mentions(event, context.bot_user_id):
                return  # top-level chatter, or a mention the app_mention listener answers
            key = (_tenant(body), event["channel"], thread_ts)
            if key not in known_threads:
                if await store.find_conversation(*key) is None:
                    return  # a thread the bot is not part of
                remember(key)
        await answer(_turn(event, body, context, channel_type), client)


def _tenant(body: dict[str, Any]) -> str:
    return str(body.get("team_id") or body.get("enterprise_id") or "unknown")


def _from_bot(event: dict[str, Any], context: AsyncBoltContext) -> bool:
    return bool(event.get("bot_id") or event.get("bot_profile")) or (
        context.bot_user_id is not None and event.get("user") == context.bot_user_id
    )


def _mentions(event: dict[str, Any], bot_user_id: str | None) -> bool:
    return bool(bot_user_id) and f"<@{bot_user_id}>" in event.get("text", "")


def _turn(
    event: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    channel_type: ChannelType,
) -> Turn:
    text = event.get("text") or ""
    if context.bot_user_id:
        text = re.sub(rf"<@{re.escape(context.bot_user_id)}(\|[^>]*)?>", "", text)
    return Turn(
        tenant=_tenant(body),
        channel=event["channel"],
        thread=event.get("thread_ts") or event["ts"],
        user=event.get("user", ""),
        text=unescape(text).strip(),
        channel_type=channel_type,
        has_files=bool(event.get("files")),
    )
