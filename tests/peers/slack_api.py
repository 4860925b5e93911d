"""A local, Slack-compatible Web API server for tests and benchmarks.

Point the real ``slack_sdk`` client at it::

    async with FakeSlackAPI() as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.base_url)
        await client.chat_postMessage(channel="C0001", text="hi")
        assert fake.messages("C0001")[0].text == "hi"

What it is faithful to (because our code's correctness depends on it):

* transport: slack_sdk sends some methods as JSON, some as form bodies and many (chat.delete,
  users.info, reactions.add, files.completeUploadExternal, …) as *query parameters on a
  POST*; all three are merged here. A JSON body must carry its token in the header.
* auth: ``Authorization: Bearer xoxb-…``/``xoxp-…`` or a ``token`` form field, else
  ``not_authed``/``invalid_auth`` (HTTP 200, ``ok: false``, as Slack does).
* limits: ``msg_too_long`` above 40,000 characters of ``text``; ``invalid_blocks`` for >50
  blocks, section text >3,000, section field >2,000 / >10 fields, header >150, markdown
  block >12,000, context >10 elements; ``msg_too_long`` for a streaming chunk >12,000.
* rate limits: HTTP 429 + ``Retry-After`` (integer seconds) + ``{"ok":false,"error":
  "ratelimited"}``, scripted (``fail_next``) or by a sliding window (``rate_limit``).
* streaming (chat.startStream/appendStream/stopStream): the message accumulates markdown;
  appending after stop, or after the stream's lifetime (``stream_ttl``, 300 s by default)
  answers ``message_not_in_streaming_state``.

Everything is recorded in ``fake.calls`` and the resulting state is queryable
(``messages()``, ``home_views``, ``files``, ``reactions``).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ._server import PeerServer, new_app
from .slack_events import (
    CLOCK,
    DEFAULT_APP_ID,
    DEFAULT_BOT_ID,
    DEFAULT_BOT_USER_ID,
    DEFAULT_TEAM_ID,
    DEFAULT_USER_ID,
    SlackClock,
)

# Documented Slack limits (docs.slack.dev: chat.postMessage "truncating", block kit reference).
MAX_TEXT_CHARS = 40_000
MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_VIEW = 100
MAX_SECTION_TEXT = 3_000
MAX_SECTION_FIELD = 2_000
MAX_SECTION_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_MARKDOWN_BLOCK = 12_000
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_STREAM_MARKDOWN = 12_000

# Fields slack_sdk JSON-encodes into a string when it sends a form/query request.
_JSON_FIELDS = ("blocks", "attachments", "metadata", "chunks", "files", "view", "unfurls")

Handler = Callable[["Call"], "dict[str, Any] | Awaitable[dict[str, Any]]"]


@dataclass
class Call:
    """One request the fake received. ``args`` merges query, form and JSON fields, with
    the JSON-in-a-string fields (``blocks``, ``view``, …) decoded."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    time: float
    http_method: str = "POST"
    content_type: str = ""
    token: str | None = None
    status: int | None = None  # set once answered
    response: dict[str, Any] | None = None  # set once answered

    @property
    def ok(self) -> bool:
        """True when the fake answered HTTP 200 with ``ok: true``."""
        return self.status == 200 and bool(self.response and self.response.get("ok"))

    @property
    def done(self) -> bool:
        """True once the fake has answered this call."""
        return self.status is not None


@dataclass
class Message:
    """Current state of a message in the fake workspace."""

    channel: str
    ts: str
    text: str = ""
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    user: str | None = None
    bot_id: str | None = None
    metadata: dict[str, Any] | None = None
    files: list[dict[str, Any]] | None = None
    deleted: bool = False
    # Earlier versions, oldest first: {"text", "blocks"} before each chat.update.
    history: list[dict[str, Any]] = field(default_factory=list)
    # Native streaming: None (not a stream), "in_progress", "completed", "stopped_by_user".
    stream_state: str | None = None
    stream_started: float | None = None
    chunks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def edits(self) -> int:
        """How many times the message was changed after being posted."""
        return len(self.history)

    def to_api(self, team_id: str = DEFAULT_TEAM_ID) -> dict[str, Any]:
        """The message as Slack's API returns it (chat.postMessage ``message``, history)."""
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text}
        if self.user:
            out["user"] = self.user
        if self.bot_id:
            out["bot_id"] = self.bot_id
            out["app_id"] = DEFAULT_APP_ID
        out["team"] = team_id
        if self.blocks is not None:
            out["blocks"] = self.blocks
        if self.attachments:
            out["attachments"] = self.attachments
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.metadata:
            out["metadata"] = self.metadata
        if self.files:
            out["files"] = self.files
        if self.history:
            out["edited"] = {"user": self.user, "ts": self.ts}
        return out


@dataclass
class _Fault:
    remaining: int
    status: int
    error: str
    retry_after: int | None


@dataclass
class _Window:
    limit: int
    per: float
    key: str | None
    hits: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))


@dataclass
class Identity:
    """Who a token belongs to (what auth.test answers)."""

    team_id: str = DEFAULT_TEAM_ID
    team: str = "窓口テスト"
    user_id: str = DEFAULT_BOT_USER_ID
    user: str = "madoguchi"
    bot_id: str | None = DEFAULT_BOT_ID
    scopes: str = (
        "app_mentions:read,channels:history,chat:write,files:write,im:history,im:write,"
        "reactions:write,users:read,usergroups:read"
    )


class SlackApiError(Exception):
    """Raised inside handlers to answer ``{"ok": false, "error": code}``."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


def _bad(code: str, **extra: Any) -> SlackApiError:
    return SlackApiError(code, **extra)


class FakeSlackAPI(PeerServer):
    """Slack Web API look-alike. See the module docstring for what is modelled."""

    def __init__(
        self,
        *,
        bot: Identity | None = None,
        accept_any_token: bool = True,
        default_users: bool = True,
        latency: float | dict[str, float] = 0.0,
        stream_ttl: float = 300.0,
        clock: SlackClock | None = None,
        client_id: str = "1111.2222",
        client_secret: str = "client-secret",
    ) -> None:
        """Configure the fake workspace.

        ``accept_any_token``: any ``xoxb-``/``xoxp-`` token is valid (maps to ``bot``);
        set False and use ``add_token`` for multi-workspace tests. ``latency``: seconds
        before every answer, or ``{"chat.update": 0.2, "*": 0.01}``.
        """
        super().__init__()
        self.bot = bot or Identity()
        self.accept_any_token = accept_any_token
        self.stream_ttl = stream_ttl
        self.clock = clock or CLOCK
        self.client_id = client_id
        self.client_secret = client_secret
        self.calls: list[Call] = []
        self.tokens: dict[str, Identity] = {}
        self.revoked: set[str] = set()
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self.modals: list[dict[str, Any]] = []
        self.ephemerals: list[dict[str, Any]] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.reactions: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.oauth_codes: set[str] | None = None  # None: any code except "invalid" works
        self._messages: dict[str, dict[str, Message]] = defaultdict(dict)
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._windows: dict[str, _Window] = {}
        self._overrides: dict[str, Handler] = {}
        self._latency: dict[str, float] = (
            dict(latency) if isinstance(latency, dict) else {"*": float(latency)}
        )
        self._reply_latency: dict[str, float] = {}
        self._ids = 0
        self._response_urls = 0
        if default_users:
            self.add_user(
                DEFAULT_USER_ID,
                name="yamada.hanako",
                real_name="山田 花子",
                display_name="山田",
                email="yamada.hanako@city.example.lg.jp",
                title="市民課 主任",
            )
        self.add_user(self.bot.user_id, name=self.bot.user, real_name="窓口", is_bot=True)

    # ------------------------------------------------------------------ URLs
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/api/`` — pass as ``AsyncWebClient(base_url=...)``.

        slack_sdk builds URLs with ``urljoin(base_url, method)``, so the trailing slash
        is load-bearing: without it ``/api`` would be replaced, not extended.
        """
        return f"{self.root_url}/api/"

    def new_response_url(self) -> str:
        """A ``response_url`` served by this fake; POSTs to it are recorded as calls
        with method ``"response_url"`` (what bolt's ``respond()`` sends)."""
        self._response_urls += 1
        return f"{self.root_url}/actions/{self._response_urls}"

    # ------------------------------------------------------------------ configuration
    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        display_name: str = "",
        email: str | None = None,
        title: str = "",
        is_bot: bool = False,
        deleted: bool = False,
        is_restricted: bool = False,
        tz: str = "Asia/Tokyo",
        team_id: str | None = None,
        **profile: Any,
    ) -> dict[str, Any]:
        """Register a user for users.info; extra kwargs land in ``profile``."""
        real = real_name or name or user_id
        user = {
            "id": user_id,
            "team_id": team_id or self.bot.team_id,
            "name": name or user_id.lower(),
            "deleted": deleted,
            "real_name": real,
            "tz": tz,
            "tz_label": "Japan Standard Time" if tz == "Asia/Tokyo" else tz,
            "tz_offset": 32400 if tz == "Asia/Tokyo" else 0,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": is_restricted,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
            "profile": {
                "real_name": real,
                "real_name_normalized": real,
                "display_name": display_name,
                "display_name_normalized": display_name,
                "title": title,
                "team": team_id or self.bot.team_id,
                **({"email": email} if email else {}),
                **profile,
            },
        }
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        is_private: bool = False,
        is_member: bool = True,
        is_archived: bool = False,
        user: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Register a conversation for conversations.info (unregistered ids are synthesised
        from their prefix: C public, G private, D DM)."""
        is_im = channel_id.startswith("D")
        info = {
            "id": channel_id,
            "name": name or (None if is_im else channel_id.lower()),
            "is_channel": not is_im and not is_private,
            "is_group": is_private,
            "is_im": is_im,
            "is_mpim": False,
            "is_private": is_private or is_im,
            "is_archived": is_archived,
            "is_general": False,
            "is_member": is_member,
            "is_ext_shared": False,
            "is_shared": False,
            "is_org_shared": False,
            "created": 1_700_000_000,
            "creator": DEFAULT_USER_ID,
            "context_team_id": self.bot.team_id,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            **({"user": user} if user else {}),
            **extra,
        }
        if is_im:
            for k in ("name", "topic", "purpose", "is_channel", "is_group", "is_general"):
                info.pop(k, None)
        self.channels[channel_id] = info
        return info

    def add_usergroup(self, usergroup_id: str, users: list[str]) -> None:
        """Register a user group for usergroups.users.list."""
        self.usergroups[usergroup_id] = list(users)

    def add_token(self, token: str, identity: Identity | None = None) -> None:
        """Make ``token`` valid (needed when ``accept_any_token=False``)."""
        self.tokens[token] = identity or self.bot

    def revoke(self, token: str) -> None:
        """Further calls with ``token`` answer ``token_revoked``."""
        self.revoked.add(token)

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str = DEFAULT_USER_ID,
        thread_ts: str | None = None,
        ts: str | None = None,
        **extra: Any,
    ) -> Message:
        """Seed a (user) message, e.g. a thread the bot will read with conversations.replies.

        Pass the ts of an event you built with ``slack_events`` to keep both in sync.
        """
        msg = Message(
            channel=channel,
            ts=ts or self.clock.next_ts(),
            text=text,
            user=user,
            thread_ts=thread_ts,
            **extra,
        )
        self._messages[channel][msg.ts] = msg
        return msg

    def set_latency(self, method: str, seconds: float) -> None:
        """Delay every answer to ``method`` (``"*"`` for all methods)."""
        self._latency[method] = seconds

    def set_reply_latency(self, method: str, seconds: float) -> None:
        """Carry out calls to ``method`` at once but answer them ``seconds`` later: the call
        has taken effect even when the client gives up waiting (as on the real API)."""
        self._reply_latency[method] = seconds

    def fail_next(
        self,
        method: str,
        *,
        times: int = 1,
        status: int | None = None,
        retry_after: int = 1,
        error: str | None = None,
    ) -> None:
        """Make the next ``times`` calls to ``method`` (``"*"``: any) fail.

        * default / ``status=429``: HTTP 429, ``Retry-After: retry_after``,
          ``{"ok": false, "error": "ratelimited"}`` — what Slack sends when rate limited.
        * ``error="msg_too_long"`` (no status): HTTP 200 ``{"ok": false, "error": ...}``.
        * ``status=500``/``503``: that status with ``ok: false`` (``error`` or "internal_error").

        ``retry_after`` must be an integer: slack_sdk's handler parses it with ``int()``.
        Faults queue: two ``fail_next`` calls fail the next two calls in order.
        """
        if status is None:
            status = 200 if error else 429
        if error is None:
            error = "ratelimited" if status == 429 else "internal_error"
        self._faults[method].append(
            _Fault(times, status, error, retry_after if status == 429 else None)
        )

    def rate_limit(
        self, method: str, limit: int, per: float = 60.0, *, key: str | None = "channel"
    ) -> None:
        """Sliding-window rate limit: at most ``limit`` calls per ``per`` seconds, counted per
        value of arg ``key`` (e.g. per channel) or globally with ``key=None``. Excess calls
        get HTTP 429 with ``Retry-After`` = whole seconds until a slot frees up."""
        self._windows[method] = _Window(limit, per, key)

    def slack_like_rate_limits(self) -> None:
        """Approximate Slack's published limits: chat.postMessage ~1/s per channel (burst of
        a few allowed), chat.update Tier 3 (~50/min per workspace)."""
        self.rate_limit("chat.postMessage", 5, 5.0, key="channel")
        self.rate_limit("chat.update", 50, 60.0, key=None)

    def on(self, method: str, handler: Handler) -> None:
        """Answer ``method`` with ``handler(call) -> dict`` (sync or async) instead of the
        built-in behaviour; the dict is the JSON body (HTTP 200)."""
        self._overrides[method] = handler

    def reset(self) -> None:
        """Forget calls, faults and limits (state such as messages is kept)."""
        self.calls.clear()
        self._faults.clear()
        self._windows.clear()

    # ------------------------------------------------------------------ inspection
    def calls_to(self, method: str) -> list[Call]:
        """All calls to ``method`` in arrival order."""
        return [c for c in self.calls if c.method == method]

    def messages(
        self, channel: str, *, thread_ts: str | None = None, include_deleted: bool = False
    ) -> list[Message]:
        """Current messages in ``channel`` (oldest first), after updates/deletes/streams.

        ``thread_ts`` limits to that thread (parent included).
        """
        out = [
            m
            for m in self._messages.get(channel, {}).values()
            if (include_deleted or not m.deleted)
            and (thread_ts is None or m.ts == thread_ts or m.thread_ts == thread_ts)
        ]
        return sorted(out, key=lambda m: _ts_key(m.ts))

    def message(self, channel: str, ts: str) -> Message | None:
        """The message at ``(channel, ts)``, deleted or not."""
        return self._messages.get(channel, {}).get(ts)

    def bot_messages(self, channel: str, **kwargs: Any) -> list[Message]:
        """``messages()`` filtered to those the bot posted."""
        return [m for m in self.messages(channel, **kwargs) if m.bot_id]

    async def wait_for(
        self,
        what: str | Callable[[Call], bool],
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - deadline for a condition, documented API
        *,
        answered: bool = True,
    ) -> list[Call]:
        """Wait until ``count`` calls match (a method name or a predicate) and return them.

        With ``answered=True`` (default) a call counts once the fake has answered it, so
        ``messages()`` already reflects it.
        """
        pred = (lambda c: c.method == what) if isinstance(what, str) else what

        def check() -> list[Call] | None:
            hits = [c for c in self.calls if pred(c) and (c.done or not answered)]
            return hits if len(hits) >= count else None

        return await self._wait_until(check, timeout, f"{count} call(s) matching {what!r}")

    def stop_stream_by_user(self, channel: str, ts: str) -> None:
        """Simulate the user pressing Stop on a streaming message: later appends/stops
        answer ``stopped_by_user``."""
        msg = self.message(channel, ts)
        if msg is None:
            raise KeyError((channel, ts))
        msg.stream_state = "stopped_by_user"

    def stats(self) -> dict[str, Any]:
        """Counts per method and concurrency high-water mark (also at ``GET /_peer/stats``)."""
        per: dict[str, int] = defaultdict(int)
        for c in self.calls:
            per[c.method] += 1
        return {
            "calls": dict(per),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
        }

    # ------------------------------------------------------------------ HTTP plumbing
    def _build_app(self) -> web.Application:
        app = new_app()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        app.router.add_post("/actions/{n}", self._handle_response_url)
        app.router.add_get("/_peer/stats", self._handle_stats)
        return app

    async def _handle_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _parse(self, request: web.Request) -> tuple[dict[str, Any], bool]:
        args: dict[str, Any] = dict(request.query)
        is_json = request.content_type == "application/json"
        if request.can_read_body:
            if is_json:
                body = await request.json()
                if isinstance(body, dict):
                    args.update(body)
            elif request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                form = await request.post()
                for k, v in form.items():
                    args[k] = v.file.read() if isinstance(v, web.FileField) else v
        for k in _JSON_FIELDS:
            v = args.get(k)
            if isinstance(v, str) and v[:1] in ("[", "{"):
                try:
                    args[k] = json.loads(v)
                except json.JSONDecodeError:
                    pass  # left as a string; validation answers invalid_*_format
        return args, is_json

    async def _handle_api(self, request: web.Request) -> web.Response:
        self._enter()
        try:
            return await self._handle_api_inner(request)
        finally:
            self._leave()

    async def _handle_api_inner(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args, is_json = await self._parse(request)
        auth = request.headers.get("Authorization", "")
        token: str | None = auth[7:] if auth.startswith("Bearer ") else None
        if token is None and not is_json and isinstance(args.get("token"), str):
            # Slack ignores a token inside a JSON body; only form/query may carry one.
            token = args["token"]
        call = Call(
            method=method,
            args=args,
            headers=dict(request.headers),
            time=time.monotonic(),
            http_method=request.method,
            content_type=request.content_type,
            token=token,
        )
        self.calls.append(call)
        self._notify()

        delay = self._latency.get(method, self._latency.get("*", 0.0))
        if delay:
            await asyncio.sleep(delay)

        status, body, headers = await self._answer(call, request)
        call.status, call.response = status, body
        self._notify()
        if self._reply_latency.get(method):
            await asyncio.sleep(self._reply_latency[method])
        headers.setdefault("x-oauth-scopes", self.bot.scopes)
        return web.json_response(body, status=status, headers=headers)

    async def _answer(
        self, call: Call, request: web.Request
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        fault = self._take_fault(call.method)
        if fault is not None:
            headers = (
                {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            )
            return fault.status, {"ok": False, "error": fault.error}, headers
        wait = self._window_check(call)
        if wait is not None:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)}
        try:
            identity = self._authenticate(call, request)
            override = self._overrides.get(call.method)
            if override is not None:
                result = override(call)
                if asyncio.iscoroutine(result):
                    result = await result
                return 200, dict(result), {}  # type: ignore[arg-type]
            handler = _HANDLERS.get(call.method)
            if handler is None:
                raise _bad("unknown_method")
            body = handler(self, call, identity)
            return 200, {"ok": True, **body}, {}
        except SlackApiError as err:
            return 200, {"ok": False, "error": err.code, **err.extra}, {}

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                return fault
        return None

    def _window_check(self, call: Call) -> int | None:
        win = self._windows.get(call.method)
        if win is None:
            return None
        bucket = str(call.args.get(win.key, "")) if win.key else "*"
        hits = win.hits[bucket]
        now = time.monotonic()
        while hits and now - hits[0] >= win.per:
            hits.popleft()
        if len(hits) >= win.limit:
            return max(1, math.ceil(hits[0] + win.per - now))
        hits.append(now)
        return None

    def _authenticate(self, call: Call, request: web.Request) -> Identity | None:
        if call.method == "oauth.v2.access":
            return None  # client credentials, checked by the handler
        token = call.token
        if not token:
            raise _bad("not_authed")
        if token in self.revoked:
            raise _bad("token_revoked")
        if token in self.tokens:
            return self.tokens[token]
        if self.accept_any_token and token.startswith("xoxb-"):
            return self.bot
        if self.accept_any_token and token.startswith("xoxp-"):
            return Identity(
                user_id=DEFAULT_USER_ID,
                user="yamada.hanako",
                bot_id=None,
                team_id=self.bot.team_id,
                team=self.bot.team,
            )
        raise _bad("invalid_auth")

    async def _handle_upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if request.content_type == "multipart/form-data":
            form = await request.post()
            field_ = form.get("file") or next(iter(form.values()), b"")
            data = (
                field_.file.read()
                if isinstance(field_, web.FileField)
                else bytes(str(field_), "utf-8")
            )
        else:
            data = await request.read()
        call = Call(
            "files.upload_url",
            {"file_id": file_id, "bytes": len(data)},
            dict(request.headers),
            time.monotonic(),
            content_type=request.content_type,
        )
        self.calls.append(call)
        entry = self.files.get(file_id)
        if entry is None:
            call.status, call.response = 404, {"ok": False, "error": "file_not_found"}
            self._notify()
            return web.Response(status=404, text="file not found", content_type="text/plain")
        entry["content"] = data
        entry["uploaded"] = True
        call.status, call.response = 200, {"ok": True}
        self._notify()
        # files.slack.com answers text/plain "OK - <bytes>"; slack_sdk reads it as text.
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            body = {"raw": await request.text()}
        call = Call(
            "response_url",
            body,
            dict(request.headers),
            time.monotonic(),
            content_type=request.content_type,
        )
        call.args["response_url"] = str(request.url)
        call.status, call.response = 200, {"ok": True}
        self.calls.append(call)
        self._notify()
        return web.json_response({"ok": True})

    # ------------------------------------------------------------------ helpers
    def _new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids:08d}"

    def _resolve_channel(self, channel: Any) -> str:
        if not channel or not isinstance(channel, str):
            raise _bad("channel_not_found")
        if channel[0] in "UW":  # posting to a user id posts into the DM with them
            return self._dm_for(channel)
        info = self.channels.get(channel)
        if info is not None and info.get("is_archived"):
            raise _bad("is_archived")
        return channel

    def _dm_for(self, user: str) -> str:
        dm = "D" + user[1:]
        if dm not in self.channels:
            self.add_channel(dm, user=user)
        return dm

    def _find(self, channel: str, ts: Any) -> Message:
        msg = self._messages.get(channel, {}).get(str(ts)) if ts else None
        if msg is None or msg.deleted:
            raise _bad("message_not_found")
        return msg


def _ts_key(ts: str) -> tuple[int, int]:
    sec, _, frac = ts.partition(".")
    return int(sec), int(frac or 0)


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text", ""))
    return ""


def validate_blocks(blocks: Any, *, max_blocks: int = MAX_BLOCKS_MESSAGE) -> None:
    """Raise ``invalid_blocks`` (with Slack-style ``errors`` pointers) if Slack would."""
    if blocks is None:
        return
    if isinstance(blocks, str):
        raise _bad("invalid_blocks_format")
    if not isinstance(blocks, list):
        raise _bad("invalid_blocks_format")
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(f"no more than {max_blocks} items allowed [json-pointer:/blocks]")
    seen_ids: set[str] = set()
    for i, b in enumerate(blocks):
        ptr = f"/blocks/{i}"
        if not isinstance(b, dict) or "type" not in b:
            errors.append(f"missing required field: type [json-pointer:{ptr}]")
            continue
        bid = b.get("block_id")
        if bid is not None:
            if bid in seen_ids:
                errors.append(f"duplicate block_id [json-pointer:{ptr}/block_id]")
            seen_ids.add(bid)
        t = b["type"]
        if t == "section":
            text, fields = b.get("text"), b.get("fields")
            if text is None and not fields:
                errors.append(f"must provide either text or fields [json-pointer:{ptr}]")
            if len(_text_of(text)) > MAX_SECTION_TEXT:
                errors.append(
                    f"must be less than {MAX_SECTION_TEXT + 1} characters "
                    f"[json-pointer:{ptr}/text/text]"
                )
            if fields:
                if len(fields) > MAX_SECTION_FIELDS:
                    errors.append(
                        f"no more than {MAX_SECTION_FIELDS} items allowed "
                        f"[json-pointer:{ptr}/fields]"
                    )
                for j, f in enumerate(fields):
                    if len(_text_of(f)) > MAX_SECTION_FIELD:
                        errors.append(
                            f"must be less than {MAX_SECTION_FIELD + 1} characters "
                            f"[json-pointer:{ptr}/fields/{j}/text]"
                        )
        elif t == "header":
            if len(_text_of(b.get("text"))) > MAX_HEADER_TEXT:
                errors.append(
                    f"must be less than {MAX_HEADER_TEXT + 1} characters "
                    f"[json-pointer:{ptr}/text/text]"
                )
        elif t == "markdown":
            if len(str(b.get("text", ""))) > MAX_MARKDOWN_BLOCK:
                errors.append(
                    f"must be less than {MAX_MARKDOWN_BLOCK + 1} characters "
                    f"[json-pointer:{ptr}/text]"
                )
        elif t == "context":
            if len(b.get("elements") or []) > MAX_CONTEXT_ELEMENTS:
                errors.append(
                    f"no more than {MAX_CONTEXT_ELEMENTS} items allowed "
                    f"[json-pointer:{ptr}/elements]"
                )
        elif t == "actions":
            if len(b.get("elements") or []) > MAX_ACTIONS_ELEMENTS:
                errors.append(
                    f"no more than {MAX_ACTIONS_ELEMENTS} items allowed "
                    f"[json-pointer:{ptr}/elements]"
                )
    if errors:
        raise _bad(
            "invalid_blocks",
            errors=errors,
            response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
        )


def _check_message_content(args: dict[str, Any], *, require: bool = True) -> None:
    text = args.get("text")
    if text is not None and len(str(text)) > MAX_TEXT_CHARS:
        raise _bad("msg_too_long")
    validate_blocks(args.get("blocks"))
    if require and not text and not args.get("blocks") and not args.get("attachments"):
        raise _bad("no_text")


# ---------------------------------------------------------------------- method handlers
# Each takes (fake, call, identity) and returns the body fields besides "ok": True.


def _auth_test(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    assert who is not None
    out: dict[str, Any] = {
        "url": "https://madoguchi-test.slack.com/",
        "team": who.team,
        "user": who.user,
        "team_id": who.team_id,
        "user_id": who.user_id,
        "is_enterprise_install": False,
    }
    if who.bot_id:
        out["bot_id"] = who.bot_id
    return out


def _chat_post_message(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    assert who is not None
    a = call.args
    channel = fake._resolve_channel(a.get("channel"))
    _check_message_content(a)
    msg = Message(
        channel=channel,
        ts=fake.clock.next_ts(),
        text=str(a.get("text") or ""),
        blocks=a.get("blocks"),
        attachments=a.get("attachments"),
        thread_ts=a.get("thread_ts") or None,
        user=who.user_id,
        bot_id=who.bot_id,
        metadata=a.get("metadata") if isinstance(a.get("metadata"), dict) else None,
    )
    fake._messages[channel][msg.ts] = msg
    return {"channel": channel, "ts": msg.ts, "message": msg.to_api(who.team_id)}


def _chat_update(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    assert who is not None
    a = call.args
    channel = fake._resolve_channel(a.get("channel"))
    msg = fake._find(channel, a.get("ts"))
    if msg.user != who.user_id:
        raise _bad("cant_update_message")
    _check_message_content(a, require=False)
    if a.get("text") is None and a.get("blocks") is None and a.get("attachments") is None:
        raise _bad("no_text")
    msg.history.append({"text": msg.text, "blocks": msg.blocks})
    if a.get("text") is not None:
        msg.text = str(a["text"])
    if a.get("blocks") is not None:
        # Slack: an empty list removes the blocks.
        msg.blocks = a["blocks"] or None
    if a.get("attachments") is not None:
        msg.attachments = a["attachments"]
    return {"channel": channel, "ts": msg.ts, "text": msg.text, "message": msg.to_api(who.team_id)}


def _chat_delete(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    assert who is not None
    channel = fake._resolve_channel(call.args.get("channel"))
    msg = fake._find(channel, call.args.get("ts"))
    if msg.user != who.user_id:
        raise _bad("cant_delete_message")
    msg.deleted = True
    return {"channel": channel, "ts": msg.ts}


def _chat_post_ephemeral(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    a = call.args
    channel = fake._resolve_channel(a.get("channel"))
    if not a.get("user"):
        raise _bad("user_not_in_channel")
    _check_message_content(a)
    ts = fake.clock.next_ts()
    fake.ephemerals.append(
        {
            "channel": channel,
            "user": a["user"],
            "ts": ts,
            "text": a.get("text"),
            "blocks": a.get("blocks"),
            "thread_ts": a.get("thread_ts"),
        }
    )
    return {"message_ts": ts}


def _apply_stream_chunks(msg: Message, a: dict[str, Any]) -> None:
    md = a.get("markdown_text")
    chunks = a.get("chunks")
    if isinstance(chunks, str):
        raise _bad("invalid_chunks")
    if md is not None and len(str(md)) > MAX_STREAM_MARKDOWN:
        raise _bad("msg_too_long")
    for ch in chunks or []:
        if not isinstance(ch, dict) or "type" not in ch:
            raise _bad("invalid_chunks")
        if ch["type"] == "markdown_text" and len(str(ch.get("text", ""))) > MAX_STREAM_MARKDOWN:
            raise _bad("msg_too_long")
    if md:
        msg.text += str(md)
    for ch in chunks or []:
        msg.chunks.append(ch)
        if ch["type"] == "markdown_text":
            msg.text += str(ch.get("text", ""))


def _live_stream(fake: FakeSlackAPI, channel: str, ts: Any, who: Identity) -> Message:
    msg = fake._find(channel, ts)
    if msg.user != who.user_id:
        raise _bad("cant_update_message")
    if msg.stream_state is None:
        raise _bad("message_not_in_streaming_state")
    if msg.stream_state == "stopped_by_user":
        raise _bad("stopped_by_user")
    if msg.stream_state == "in_progress" and msg.stream_started is not None:
        if time.monotonic() - msg.stream_started > fake.stream_ttl:
            msg.stream_state = "completed"  # Slack finalises an abandoned stream
    if msg.stream_state != "in_progress":
        raise _bad("message_not_in_streaming_state")
    return msg


def _chat_start_stream(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    assert who is not None
    a = call.args
    channel = fake._resolve_channel(a.get("channel"))
    msg = Message(
        channel=channel,
        ts=fake.clock.next_ts(),
        thread_ts=a.get("thread_ts") or None,
        user=who.user_id,
        bot_id=who.bot_id,
        stream_state="in_progress",
        stream_started=time.monotonic(),
    )
    _apply_stream_chunks(msg, a)  # validates before the message becomes visible
    fake._messages[channel][msg.ts] = msg
    return {"channel": channel, "ts": msg.ts}


def _chat_append_stream(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    assert who is not None
    a = call.args
    channel = fake._resolve_channel(a.get("channel"))
    msg = _live_stream(fake, channel, a.get("ts"), who)
    if a.get("markdown_text") is None and not a.get("chunks"):
        raise _bad("invalid_arguments")
    _apply_stream_chunks(msg, a)
    return {"channel": channel, "ts": msg.ts}


def _chat_stop_stream(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    assert who is not None
    a = call.args
    channel = fake._resolve_channel(a.get("channel"))
    msg = _live_stream(fake, channel, a.get("ts"), who)
    validate_blocks(a.get("blocks"))
    _apply_stream_chunks(msg, a)
    if a.get("blocks"):
        msg.blocks = list(msg.blocks or []) + list(a["blocks"])
    if isinstance(a.get("metadata"), dict):
        msg.metadata = a["metadata"]
    msg.stream_state = "completed"
    return {"channel": channel, "ts": msg.ts, "message": msg.to_api(who.team_id)}


def _chat_get_permalink(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    channel = fake._resolve_channel(call.args.get("channel"))
    ts = str(call.args.get("message_ts") or "")
    if not ts:
        raise _bad("message_not_found")
    return {
        "channel": channel,
        "permalink": f"https://madoguchi-test.slack.com/archives/{channel}/p{ts.replace('.', '')}",
    }


def _users_info(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    user = fake.users.get(str(call.args.get("user", "")))
    if user is None:
        raise _bad("user_not_found")
    return {"user": user}


def _conversations_info(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    channel = str(call.args.get("channel") or "")
    info = fake.channels.get(channel)
    if info is None:
        if not channel or channel[0] not in "CGD":
            raise _bad("channel_not_found")
        info = fake.add_channel(channel, is_private=channel.startswith("G"))
    return {"channel": info}


def _conversations_open(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    users = [u for u in str(call.args.get("users") or "").split(",") if u]
    if call.args.get("channel"):
        return {"channel": {"id": call.args["channel"]}, "already_open": True}
    if not users:
        raise _bad("users_list_not_supplied")
    for u in users:
        if u not in fake.users:
            raise _bad("user_not_found")
    if len(users) > 1:
        cid = "G" + "".join(u[1:] for u in sorted(users))[:10]
        info = fake.channels.get(cid) or fake.add_channel(cid, is_private=True, is_mpim=True)
    else:
        already = ("D" + users[0][1:]) in fake.channels
        cid = fake._dm_for(users[0])
        info = fake.channels[cid]
        if str(call.args.get("return_im", "")).lower() not in ("true", "1"):
            return {"channel": {"id": cid}, "already_open": already, "no_op": already}
    return {"channel": info}


def _conversations_replies(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    channel = str(call.args.get("channel") or "")
    ts = str(call.args.get("ts") or "")
    if fake.message(channel, ts) is None:
        raise _bad("thread_not_found")
    msgs = fake.messages(channel, thread_ts=ts)
    limit = int(call.args.get("limit") or 1000)
    return {"messages": [m.to_api() for m in msgs[:limit]], "has_more": len(msgs) > limit}


def _conversations_history(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    channel = str(call.args.get("channel") or "")
    msgs = [m for m in fake.messages(channel) if not m.thread_ts or m.thread_ts == m.ts]
    limit = int(call.args.get("limit") or 100)
    newest_first = list(reversed(msgs))
    return {"messages": [m.to_api() for m in newest_first[:limit]], "has_more": len(msgs) > limit}


def _view_body(fake: FakeSlackAPI, view: Any, kind: str, who: Identity) -> dict[str, Any]:
    if not isinstance(view, dict):
        raise _bad("invalid_arguments")
    if view.get("type") not in (kind,):
        raise _bad("invalid_arguments", errors=[f"view.type must be {kind}"])
    validate_blocks(view.get("blocks"), max_blocks=MAX_BLOCKS_VIEW)
    return {
        "id": fake._new_id("V"),
        "team_id": who.team_id,
        "app_id": DEFAULT_APP_ID,
        "bot_id": who.bot_id,
        "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        "state": {"values": {}},
        "private_metadata": "",
        "callback_id": "",
        **view,
    }


def _views_publish(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    assert who is not None
    user = str(call.args.get("user_id") or "")
    if not user:
        raise _bad("invalid_arguments")
    view = _view_body(fake, call.args.get("view"), "home", who)
    fake.home_views[user] = view
    return {"view": view}


def _views_open(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    assert who is not None
    if not call.args.get("trigger_id") and not call.args.get("interactivity_pointer"):
        raise _bad("invalid_arguments")
    if call.args.get("trigger_id") == "expired":
        raise _bad("expired_trigger_id")
    view = _view_body(fake, call.args.get("view"), "modal", who)
    fake.modals.append(view)
    return {"view": view}


def _reactions_add(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    a = call.args
    name, channel, ts = a.get("name"), a.get("channel"), a.get("timestamp")
    if not name or not channel or not ts:
        raise _bad("no_item_specified")
    names = fake.reactions[(str(channel), str(ts))]
    if name in names:
        raise _bad("already_reacted")
    names.append(str(name))
    return {}


def _reactions_remove(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    a = call.args
    names = fake.reactions[(str(a.get("channel")), str(a.get("timestamp")))]
    if a.get("name") not in names:
        raise _bad("no_reaction")
    names.remove(str(a["name"]))
    return {}


def _files_get_upload_url(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    a = call.args
    if not a.get("filename") or a.get("length") in (None, ""):
        raise _bad("invalid_arguments")
    file_id = fake._new_id("F")
    fake.files[file_id] = {
        "id": file_id,
        "name": a["filename"],
        "length": int(a["length"]),
        "alt_txt": a.get("alt_txt"),
        "snippet_type": a.get("snippet_type"),
        "uploaded": False,
        "completed": False,
    }
    return {"upload_url": f"{fake.root_url}/upload/v1/{file_id}", "file_id": file_id}


def _files_complete_upload(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    assert who is not None
    a = call.args
    specs = a.get("files")
    if not isinstance(specs, list) or not specs:
        raise _bad("invalid_arguments")
    out = []
    for spec in specs:
        entry = fake.files.get(str(spec.get("id")))
        if entry is None or not entry["uploaded"]:
            raise _bad("file_not_found")
        entry.update(
            completed=True,
            title=spec.get("title") or entry["name"],
            channel=a.get("channel_id"),
            thread_ts=a.get("thread_ts"),
            initial_comment=a.get("initial_comment"),
            size=len(entry["content"]),
        )
        out.append(
            {
                "id": entry["id"],
                "name": entry["name"],
                "title": entry["title"],
                "size": entry["size"],
                "user": who.user_id,
                "url_private": f"{fake.root_url}/files/{entry['id']}",
            }
        )
    channels = [a["channel_id"]] if a.get("channel_id") else []
    if isinstance(a.get("channels"), str):
        channels += [c for c in a["channels"].split(",") if c]
    for ch in channels:
        # Slack shares the files as a message from the uploader (asynchronously; we do it
        # synchronously so tests need not poll).
        msg = Message(
            channel=ch,
            ts=fake.clock.next_ts(),
            text=str(a.get("initial_comment") or ""),
            thread_ts=a.get("thread_ts") or None,
            user=who.user_id,
            bot_id=who.bot_id,
            files=out,
        )
        fake._messages[ch][msg.ts] = msg
    return {"files": out}


def _usergroups_users_list(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    group = str(call.args.get("usergroup") or "")
    if group not in fake.usergroups:
        raise _bad("no_such_subteam")
    return {"users": fake.usergroups[group]}


def _oauth_v2_access(fake: FakeSlackAPI, call: Call, who: Identity | None) -> dict[str, Any]:
    import base64  # local: only this handler needs it

    a = call.args
    client_id, client_secret = a.get("client_id"), a.get("client_secret")
    auth = call.headers.get("Authorization", "")
    if auth.startswith("Basic "):
        # slack_sdk sends the client credentials as HTTP Basic auth.
        client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
    if client_id != fake.client_id:
        raise _bad("invalid_client_id")
    if client_secret != fake.client_secret:
        raise _bad("bad_client_secret")
    if a.get("grant_type") == "refresh_token":
        if not a.get("refresh_token"):
            raise _bad("invalid_refresh_token")
    else:
        code = a.get("code")
        if (
            not code
            or code == "invalid"
            or (fake.oauth_codes is not None and code not in fake.oauth_codes)
        ):
            raise _bad("invalid_code")
        if fake.oauth_codes is not None:
            fake.oauth_codes.discard(code)  # codes are single-use
    team_id = fake.bot.team_id
    token = f"xoxb-{team_id}-{uuid.uuid4().hex[:12]}"
    fake.add_token(token, fake.bot)
    return {
        "access_token": token,
        "token_type": "bot",
        "scope": fake.bot.scopes,
        "bot_user_id": fake.bot.user_id,
        "app_id": DEFAULT_APP_ID,
        "team": {"name": fake.bot.team, "id": team_id},
        "enterprise": None,
        "is_enterprise_install": False,
        "authed_user": {"id": DEFAULT_USER_ID},
    }


_HANDLERS: dict[str, Callable[[FakeSlackAPI, Call, Identity | None], dict[str, Any]]] = {
    "auth.test": _auth_test,
    "chat.postMessage": _chat_post_message,
    "chat.update": _chat_update,
    "chat.delete": _chat_delete,
    "chat.postEphemeral": _chat_post_ephemeral,
    "chat.startStream": _chat_start_stream,
    "chat.appendStream": _chat_append_stream,
    "chat.stopStream": _chat_stop_stream,
    "chat.getPermalink": _chat_get_permalink,
    "users.info": _users_info,
    "conversations.info": _conversations_info,
    "conversations.open": _conversations_open,
    "conversations.replies": _conversations_replies,
    "conversations.history": _conversations_history,
    "views.publish": _views_publish,
    "views.open": _views_open,
    "reactions.add": _reactions_add,
    "reactions.remove": _reactions_remove,
    "files.getUploadURLExternal": _files_get_upload_url,
    "files.completeUploadExternal": _files_complete_upload,
    "usergroups.users.list": _usergroups_users_list,
    "oauth.v2.access": _oauth_v2_access,
}
