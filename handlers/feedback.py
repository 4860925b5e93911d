"""Feedback on answers: 👍/👎 and 「この回答で節約できた時間」 under every final answer.

The sink (handlers/sink.py) appends :func:`feedback_blocks` to the last message of an answer;
each control carries the turn id, which is the id of the turn's usage event. A click is
acknowledged at once, stored against that event under the clicker's keyed pseudonym
(:func:`bot.usage.record_feedback`; only the asker's feedback is counted), and the message is
updated in place to thank the user and show what was recorded. Nothing of the message is logged.
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.messages import message
from bot.runtime import Runtime
from bot.secrets import resolve_key
from bot.usage import MINUTES_CHOICES, FeedbackState, pseudonym, record_feedback

log = structlog.get_logger("madoguchi.slack.feedback")

ACTION_GOOD = "madoguchi_feedback_good"
ACTION_BAD = "madoguchi_feedback_bad"
ACTION_MINUTES = "madoguchi_feedback_minutes"
#: Every feedback block's block_id starts with this, so an update can replace them.
BLOCK_PREFIX = "madoguchi_feedback"


def feedback_blocks(
    turn_id: str, lang: str = "ja", *, rating: int | None = None, minutes: int | None = None
) -> list[dict[str, Any]]:
    """The feedback blocks of an answer: the controls not used yet, and thanks for those used."""
    given: list[str] = []
    if rating is not None:
        given.append("👍" if rating > 0 else "👎")
    if minutes is not None:
        choice = message(f"feedback_minutes_{minutes}", lang)
        given.append(message("feedback_saved_time", lang, choice=choice))
    blocks: list[dict[str, Any]] = []
    if given:
        done = rating is not None and minutes is not None
        key = "feedback_thanks" if done else "feedback_thanks_partial"
        separator = "・" if lang == "ja" else ", "
        blocks.append(
            {
                "type": "context",
                "block_id": f"{BLOCK_PREFIX}_thanks:{turn_id}",
                "elements": [
                    {"type": "mrkdwn", "text": message(key, lang, given=separator.join(given))}
                ],
            }
        )
    elements: list[dict[str, Any]] = []
    if rating is None:
        elements += [
            _button(ACTION_GOOD, message("feedback_good", lang), turn_id),
            _button(ACTION_BAD, message("feedback_bad", lang), turn_id),
        ]
    if minutes is None:
        elements.append(
            {
                "type": "static_select",
                "action_id": ACTION_MINUTES,
                "placeholder": _plain(message("feedback_time_placeholder", lang)),
                "options": [
                    {
                        "text": _plain(message(f"feedback_minutes_{m}", lang)),
                        "value": f"{turn_id}:{m}",
                    }
                    for m in MINUTES_CHOICES
                ],
            }
        )
    if elements:
        blocks.append(
            {"type": "actions", "block_id": f"{BLOCK_PREFIX}:{turn_id}", "elements": elements}
        )
    return blocks


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _button(action_id: str, text: str, turn_id: str) -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": _plain(text), "value": turn_id}


def parse_action(action: dict[str, Any]) -> tuple[str, int | None, int | None] | None:
    """(turn id, rating, minutes) from a clicked control, or None when it is not ours/valid."""
    action_id = action.get("action_id")
    if action_id in (ACTION_GOOD, ACTION_BAD):
        turn_id = str(action.get("value") or "")
        rating = 1 if action_id == ACTION_GOOD else -1
        return (turn_id, rating, None) if _valid_id(turn_id) else None
    if action_id == ACTION_MINUTES:
        value = str((action.get("selected_option") or {}).get("value") or "")
        turn_id, _, minutes = value.rpartition(":")
        if _valid_id(turn_id) and minutes.isdigit() and int(minutes) in MINUTES_CHOICES:
            return turn_id, None, int(minutes)
    return None


def _valid_id(turn_id: str) -> bool:
    return len(turn_id) == 32 and all(c in "0123456789abcdef" for c in turn_id)


def register(app: AsyncApp, runtime: Runtime) -> None:
    """Attach the feedback action listeners to ``app``."""
    settings = runtime.settings
    lang = settings.language
    key = resolve_key(settings, "pseudonym_key")

    async def on_feedback(
        ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        parsed = parse_action(action)
        if parsed is None:
            log.warning("feedback.invalid_action")
            return
        turn_id, rating, minutes = parsed
        user = str((body.get("user") or {}).get("id") or "")
        tenant = _tenant(body)
        try:
            state = await record_feedback(
                runtime.db,
                tenant=tenant,
                event_id=turn_id,
                user_pseudonym=pseudonym(user, key),
                rating=rating,
                minutes_saved=minutes,
            )
        except Exception as exc:
            log.error("feedback.store_failed", error_type=type(exc).__name__)
            await _ephemeral(client, body, user, message("feedback_failed", lang))
            return
        if state.asker is False:
            await _ephemeral(client, body, user, message("feedback_not_asker", lang))
            return
        kind = "minutes" if minutes is not None else ("good" if rating == 1 else "bad")
        metrics.FEEDBACK.labels(kind).inc()
        log.info("feedback.recorded", event_id=turn_id, kind=kind)
        await _show(client, body, user, turn_id, state, lang)

    for action_id in (ACTION_GOOD, ACTION_BAD, ACTION_MINUTES):
        app.action(action_id)(on_feedback)


def _tenant(body: dict[str, Any]) -> str:
    # The same workspace id the event listeners use for the turn's tenant.
    team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
    return str(team or (body.get("enterprise") or {}).get("id") or "unknown")


async def _show(
    client: AsyncWebClient,
    body: dict[str, Any],
    user: str,
    turn_id: str,
    state: FeedbackState,
    lang: str,
) -> None:
    """Replace the message's feedback blocks with the new state (thanks + remaining control)."""
    container = body.get("container") or {}
    original = body.get("message") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or original.get("ts")
    blocks = original.get("blocks")
    new = feedback_blocks(turn_id, lang, rating=state.rating, minutes=state.minutes_saved)
    if not channel or not ts or not isinstance(blocks, list):
        # No message to edit (should not happen for a message button): thank privately.
        thanks = new[0]["elements"][0]["text"] if new and new[0]["type"] == "context" else ""
        if thanks:
            await _ephemeral(client, body, user, thanks)
        return
    kept = [b for b in blocks if not str(b.get("block_id", "")).startswith(BLOCK_PREFIX)]
    try:
        await client.chat_update(
            channel=channel, ts=ts, text=original.get("text") or " ", blocks=[*kept, *new]
        )
    except Exception as exc:
        # The click is stored; only the thank-you did not show.
        log.warning("feedback.update_failed", error_type=type(exc).__name__)


async def _ephemeral(client: AsyncWebClient, body: dict[str, Any], user: str, text: str) -> None:
    channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get(
        "id"
    )
    if not channel or not user:
        return
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=text)
    except Exception as exc:
        log.warning("feedback.ephemeral_failed", error_type=type(exc).__name__)
