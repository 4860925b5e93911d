"""Builders for what Slack sends *to* the bot: signed Events API / interactivity requests.

Payload shapes follow Slack's Events API as delivered over HTTP (``event_callback``
envelope with ``authorizations``, ``event_id``, ``event_time``), interactivity
(``payload=<json>`` form field) and slash commands (plain form fields). The ts values
come from one process-wide monotonic clock shared with ``FakeSlackAPI``, so a user's
message always sorts before the bot's reply to it, as on real Slack.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp.test_utils import TestClient
from slack_sdk.signature import SignatureVerifier

DEFAULT_TEAM_ID = "T0001"
DEFAULT_APP_ID = "A0001"
DEFAULT_BOT_USER_ID = "UBOT"
DEFAULT_BOT_ID = "BBOT"
DEFAULT_USER_ID = "U0001"
DEFAULT_CHANNEL_ID = "C0001"
DEFAULT_DM_CHANNEL_ID = "D0001"
DEFAULT_EVENTS_PATH = "/slack/events"


# ---------------------------------------------------------------------------------------
# ts clock
# ---------------------------------------------------------------------------------------
class SlackClock:
    """Monotonic, unique Slack ``ts`` strings (``"1700000000.000100"``, then +100 µs).

    Deterministic on purpose: tests can assert exact ts values and ordering without
    depending on wall time. Thread-safe so a peer in another thread can share it.
    """

    def __init__(self, start_us: int = 1_700_000_000_000_100, step_us: int = 100) -> None:
        self._counter = itertools.count(start_us, step_us)
        self._lock = threading.Lock()

    def next_ts(self) -> str:
        """Return the next ts string."""
        with self._lock:
            us = next(self._counter)
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"


CLOCK = SlackClock()


def next_ts() -> str:
    """Next ts from the process-wide clock shared with ``FakeSlackAPI``."""
    return CLOCK.next_ts()


# ---------------------------------------------------------------------------------------
# signing
# ---------------------------------------------------------------------------------------
def sign_request(body: bytes | str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack adds to every request it sends: timestamp + ``v0=`` HMAC-SHA256.

    Uses ``slack_sdk.signature.SignatureVerifier`` so the algorithm is exactly the one
    bolt verifies against. Pass an old ``timestamp`` to test replay rejection (> 5 min).
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    raw = body.encode("utf-8") if isinstance(body, str) else body
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=raw)
    assert signature is not None  # only None when timestamp is None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


# ---------------------------------------------------------------------------------------
# Events API payloads
# ---------------------------------------------------------------------------------------
def _rich_text(text: str) -> list[dict[str, Any]]:
    # Slack clients attach a rich_text block mirroring the typed text; handlers that read
    # blocks instead of text should see the same content.
    return [
        {
            "type": "rich_text",
            "block_id": uuid.uuid4().hex[:5],
            "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
            ],
        }
    ]


def event_callback(
    event: dict[str, Any],
    team_id: str = DEFAULT_TEAM_ID,
    event_id: str | None = None,
    api_app_id: str = DEFAULT_APP_ID,
    *,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
    event_time: int | None = None,
) -> dict[str, Any]:
    """Wrap an inner event in the ``event_callback`` envelope Slack POSTs to the app."""
    return {
        "token": "verification-token-unused",
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }


def _user_message(
    *,
    text: str,
    user: str,
    channel: str,
    channel_type: str,
    ts: str | None,
    thread_ts: str | None,
    team: str,
) -> dict[str, Any]:
    ts = ts or next_ts()
    ev: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel": channel,
        "channel_type": channel_type,
        "client_msg_id": str(uuid.uuid4()),
        "team": team,
        "blocks": _rich_text(text),
    }
    if thread_ts:
        ev["thread_ts"] = thread_ts
    return ev


def app_mention(
    text: str = "こんにちは",
    *,
    user: str = DEFAULT_USER_ID,
    channel: str = DEFAULT_CHANNEL_ID,
    ts: str | None = None,
    thread_ts: str | None = None,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
    team: str = DEFAULT_TEAM_ID,
    mention_prefix: bool = True,
) -> dict[str, Any]:
    """An ``app_mention`` inner event; ``text`` gets ``<@UBOT> `` prepended by default."""
    full = f"<@{bot_user_id}> {text}" if mention_prefix else text
    ev = _user_message(
        text=full,
        user=user,
        channel=channel,
        channel_type="channel",
        ts=ts,
        thread_ts=thread_ts,
        team=team,
    )
    ev["type"] = "app_mention"
    # app_mention events carry no channel_type (only message.* events do).
    ev.pop("channel_type")
    return ev


def dm_message(
    text: str = "こんにちは",
    *,
    user: str = DEFAULT_USER_ID,
    channel: str = DEFAULT_DM_CHANNEL_ID,
    ts: str | None = None,
    thread_ts: str | None = None,
    team: str = DEFAULT_TEAM_ID,
) -> dict[str, Any]:
    """A ``message.im`` event: a user's direct message to the bot."""
    return _user_message(
        text=text,
        user=user,
        channel=channel,
        channel_type="im",
        ts=ts,
        thread_ts=thread_ts,
        team=team,
    )


def thread_reply(
    text: str,
    *,
    thread_ts: str,
    user: str = DEFAULT_USER_ID,
    channel: str = DEFAULT_CHANNEL_ID,
    channel_type: str = "channel",
    parent_user_id: str | None = None,
    ts: str | None = None,
    team: str = DEFAULT_TEAM_ID,
) -> dict[str, Any]:
    """A ``message.channels`` (or ``.im`` with ``channel_type="im"``) reply in a thread."""
    ev = _user_message(
        text=text,
        user=user,
        channel=channel,
        channel_type=channel_type,
        ts=ts,
        thread_ts=thread_ts,
        team=team,
    )
    if parent_user_id:
        ev["parent_user_id"] = parent_user_id
    return ev


def bot_message(
    text: str = "bot says hi",
    *,
    bot_id: str = "BOTHER",
    user: str | None = None,
    subtype: str | None = "bot_message",
    channel: str = DEFAULT_CHANNEL_ID,
    channel_type: str = "channel",
    ts: str | None = None,
    thread_ts: str | None = None,
    app_id: str | None = None,
) -> dict[str, Any]:
    """A message from a bot.

    Other integrations arrive with ``subtype="bot_message"`` and no ``user``. Our *own*
    chat.postMessage echoes arrive differently: no subtype, ``user=UBOT`` and
    ``bot_id=BBOT`` — build those with ``bot_message(bot_id="BBOT", user="UBOT",
    subtype=None)`` to test that the bot ignores itself.
    """
    ts = ts or next_ts()
    ev: dict[str, Any] = {
        "type": "message",
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel": channel,
        "channel_type": channel_type,
        "bot_id": bot_id,
        "bot_profile": {
            "id": bot_id,
            "app_id": app_id or DEFAULT_APP_ID,
            "name": "bot",
            "deleted": False,
            "team_id": DEFAULT_TEAM_ID,
        },
    }
    if subtype:
        ev["subtype"] = subtype
        ev["username"] = "bot"
    if user:
        ev["user"] = user
    if app_id:
        ev["app_id"] = app_id
    if thread_ts:
        ev["thread_ts"] = thread_ts
    return ev


def message_changed(
    new_text: str,
    *,
    original_ts: str,
    previous_text: str = "",
    user: str = DEFAULT_USER_ID,
    channel: str = DEFAULT_CHANNEL_ID,
    channel_type: str = "channel",
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """A ``message_changed`` event (a user edited ``original_ts``).

    Note the outer ``ts`` is a *new* ts and the edited message sits under ``message``;
    the outer event has no ``user`` and ``hidden: true``.
    """
    ts = next_ts()
    inner: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": new_text,
        "ts": original_ts,
        "edited": {"user": user, "ts": ts},
        "client_msg_id": str(uuid.uuid4()),
        "team": DEFAULT_TEAM_ID,
        "blocks": _rich_text(new_text),
    }
    prev: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": previous_text,
        "ts": original_ts,
        "team": DEFAULT_TEAM_ID,
    }
    if thread_ts:
        inner["thread_ts"] = thread_ts
        prev["thread_ts"] = thread_ts
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "message": inner,
        "previous_message": prev,
        "channel": channel,
        "channel_type": channel_type,
        "ts": ts,
        "event_ts": ts,
    }


def file_share_message(
    text: str = "",
    *,
    files: list[dict[str, Any]] | None = None,
    user: str = DEFAULT_USER_ID,
    channel: str = DEFAULT_DM_CHANNEL_ID,
    channel_type: str = "im",
    ts: str | None = None,
    thread_ts: str | None = None,
    file_name: str = "申請書.pdf",
    mimetype: str = "application/pdf",
    size: int = 12_345,
    url_private: str | None = None,
) -> dict[str, Any]:
    """A ``message`` with ``subtype="file_share"`` carrying one file (or ``files``).

    Point ``url_private`` at a local peer to test downloading the file.
    """
    ts = ts or next_ts()
    file_id = f"F{uuid.uuid4().hex[:9].upper()}"
    url = (
        url_private or f"https://files.slack.com/files-pri/{DEFAULT_TEAM_ID}-{file_id}/{file_name}"
    )
    the_files = files or [
        {
            "id": file_id,
            "created": int(float(ts)),
            "timestamp": int(float(ts)),
            "name": file_name,
            "title": file_name,
            "mimetype": mimetype,
            "filetype": file_name.rsplit(".", 1)[-1] if "." in file_name else "binary",
            "user": user,
            "size": size,
            "mode": "hosted",
            "is_external": False,
            "url_private": url,
            "url_private_download": url + "?download=1",
        }
    ]
    ev = _user_message(
        text=text,
        user=user,
        channel=channel,
        channel_type=channel_type,
        ts=ts,
        thread_ts=thread_ts,
        team=DEFAULT_TEAM_ID,
    )
    ev.update(
        {"subtype": "file_share", "files": the_files, "upload": False, "display_as_bot": False}
    )
    return ev


def url_verification(challenge: str = "challenge-token") -> dict[str, Any]:
    """The one-off handshake Slack sends when the Request URL is configured."""
    return {
        "token": "verification-token-unused",
        "challenge": challenge,
        "type": "url_verification",
    }


# ---------------------------------------------------------------------------------------
# interactivity and slash commands (form-encoded)
# ---------------------------------------------------------------------------------------
def block_actions(
    action_id: str,
    *,
    value: str = "",
    block_id: str = "b1",
    user: str = DEFAULT_USER_ID,
    channel: str = DEFAULT_CHANNEL_ID,
    message_ts: str | None = None,
    message: dict[str, Any] | None = None,
    response_url: str = "https://hooks.slack.com/actions/T0001/1/x",
    trigger_id: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    api_app_id: str = DEFAULT_APP_ID,
    action_type: str = "button",
    view: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``block_actions`` payload (a button click). POST it with ``post_interaction``.

    Pass ``view`` instead of a message for clicks inside a modal / App Home. Use
    ``FakeSlackAPI.new_response_url()`` as ``response_url`` to capture ``respond()``.
    """
    ts = message_ts or next_ts()
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "user", "name": "user", "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "verification-token-unused",
        "trigger_id": trigger_id or f"{int(time.time())}.{uuid.uuid4().int % 10**12}.x",
        "team": {"id": team_id, "domain": "madoguchi-test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": {}},
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "value": value,
                "type": action_type,
                "action_ts": next_ts(),
            }
        ],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "V0001")}
        payload["view"] = view
    else:
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel, "name": "general"}
        payload["message"] = message or {"type": "message", "ts": ts, "text": "", "user": "UBOT"}
        payload["response_url"] = response_url
    return payload


def view_submission(
    callback_id: str,
    values: dict[str, dict[str, Any]],
    *,
    user: str = DEFAULT_USER_ID,
    view_id: str = "V0001",
    private_metadata: str = "",
    team_id: str = DEFAULT_TEAM_ID,
    api_app_id: str = DEFAULT_APP_ID,
) -> dict[str, Any]:
    """A ``view_submission`` payload; ``values`` is ``state.values`` (block → action → value)."""
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "madoguchi-test"},
        "user": {"id": user, "username": "user", "name": "user", "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "verification-token-unused",
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.x",
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "blocks": [],
            "state": {"values": values},
            "hash": "1.x",
            "app_id": api_app_id,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def slash_command(
    command: str = "/madoguchi",
    text: str = "",
    *,
    user: str = DEFAULT_USER_ID,
    channel: str = DEFAULT_CHANNEL_ID,
    response_url: str = "https://hooks.slack.com/commands/T0001/1/x",
    trigger_id: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    api_app_id: str = DEFAULT_APP_ID,
) -> dict[str, str]:
    """The form fields of a slash command invocation. POST with ``post_slash_command``."""
    return {
        "token": "verification-token-unused",
        "team_id": team_id,
        "team_domain": "madoguchi-test",
        "channel_id": channel,
        "channel_name": "general" if channel.startswith("C") else "directmessage",
        "user_id": user,
        "user_name": "user",
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or f"{int(time.time())}.{uuid.uuid4().int % 10**12}.x",
    }


def interaction_body(payload: dict[str, Any]) -> str:
    """Form-encode an interactivity payload the way Slack does: ``payload=<json>``."""
    return urlencode({"payload": json.dumps(payload, ensure_ascii=False)})


# ---------------------------------------------------------------------------------------
# posting to a bolt endpoint
# ---------------------------------------------------------------------------------------
@dataclass
class EventResponse:
    """What the bolt endpoint answered."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """Parse the body as JSON."""
        return json.loads(self.body)


Target = str | aiohttp.ClientSession | TestClient


async def post_event(
    session_or_url: Target,
    payload: dict[str, Any] | str | bytes,
    secret: str,
    retry_num: int | None = None,
    *,
    retry_reason: str = "http_timeout",
    path: str = DEFAULT_EVENTS_PATH,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,  # noqa: ASYNC109 - an HTTP client timeout, not a cancel scope
) -> EventResponse:
    """POST a signed request to a bolt HTTP endpoint the way Slack does.

    ``session_or_url`` is a full URL (a throwaway session is used), an
    ``aiohttp.ClientSession`` (with ``base_url``; ``path`` is appended) or an
    ``aiohttp.test_utils.TestClient``. A ``dict`` payload is sent as JSON (Events API);
    ``str``/``bytes`` are sent form-encoded (interactivity, slash commands). With
    ``retry_num`` the ``X-Slack-Retry-Num``/``X-Slack-Retry-Reason`` headers Slack adds to
    redeliveries are included.
    """
    if isinstance(payload, dict):
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        content_type = "application/json"
    else:
        body = payload.encode("utf-8") if isinstance(payload, str) else payload
        content_type = "application/x-www-form-urlencoded"
    hdrs = {
        "Content-Type": content_type,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    hdrs.update(sign_request(body, secret, timestamp))
    if retry_num is not None:
        hdrs["X-Slack-Retry-Num"] = str(retry_num)
        hdrs["X-Slack-Retry-Reason"] = retry_reason
    if headers:
        hdrs.update(headers)
    client_timeout = aiohttp.ClientTimeout(total=timeout)

    async def _send(resp_cm: Any) -> EventResponse:
        async with resp_cm as resp:
            return EventResponse(resp.status, await resp.text(), dict(resp.headers))

    if isinstance(session_or_url, str):
        async with aiohttp.ClientSession(timeout=client_timeout) as session:
            return await _send(session.post(session_or_url, data=body, headers=hdrs))
    if isinstance(session_or_url, TestClient):
        return await _send(session_or_url.post(path, data=body, headers=hdrs))
    return await _send(session_or_url.post(path, data=body, headers=hdrs, timeout=client_timeout))


async def post_interaction(
    session_or_url: Target, payload: dict[str, Any], secret: str, **kwargs: Any
) -> EventResponse:
    """POST an interactivity payload (block_actions, view_submission, …) form-encoded."""
    return await post_event(session_or_url, interaction_body(payload), secret, **kwargs)


async def post_slash_command(
    session_or_url: Target, fields: dict[str, str], secret: str, **kwargs: Any
) -> EventResponse:
    """POST slash-command form fields (see ``slash_command``)."""
    return await post_event(session_or_url, urlencode(fields), secret, **kwargs)
