"""A local OpenAI-compatible (and Azure OpenAI-compatible) Chat Completions server.

Point the real ``openai`` SDK at it::

    async with FakeOpenAI() as fake:
        client = AsyncOpenAI(base_url=fake.base_url, api_key="test")
        azure = AsyncAzureOpenAI(azure_endpoint=fake.root_url, api_version="2024-10-21",
                                 api_key="test")
        fake.script(Reply(text="回答です", token_interval=0.01), Status(429, retry_after=0.05))

Wire format follows the public API exactly where our code can observe it:

* ``stream: true`` → ``text/event-stream`` of ``data: {chat.completion.chunk}\\n\\n`` events:
  a first chunk with ``delta.role="assistant", content=""``, content deltas, a chunk with
  ``finish_reason`` and an empty delta, then — only with ``stream_options.include_usage`` —
  a chunk with ``choices: []`` and ``usage``, and finally ``data: [DONE]``. With
  include_usage every other chunk carries ``"usage": null``.
* Azure deployments (``/openai/deployments/{name}/chat/completions?api-version=…``) start
  the stream with a ``prompt_filter_results`` chunk whose ``choices`` is *empty* (real
  Azure behaviour that crashes code doing ``chunk.choices[0]``), and auth with ``api-key``.
* errors are ``{"error": {"message", "type", "param", "code"}}`` with the real status and,
  for 429, ``retry-after`` (seconds, float allowed) which the SDK honours.

Behaviour is scripted per request with a FIFO queue of actions (``Reply``, ``Status``,
``Hang``, ``CutStream``, ``StreamError``) or a ``responder`` callable; otherwise a
deterministic default reply is served (Japanese sentence that includes the length of
the last user message). ``mode="realistic"`` adds first-token latency and a token rate for
load tests. One coroutine per request and no threads: 1,000 concurrent streams are fine.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from ._server import PeerServer, new_app

Mode = Literal["instant", "realistic"]


# --------------------------------------------------------------------------- actions
@dataclass
class Reply:
    """Answer normally. ``None`` fields take the peer's mode defaults.

    ``chunks`` gives the exact content deltas (e.g. to split a word across chunks);
    otherwise ``text`` (default: the default responder's text) is cut every
    ``chunk_size`` characters. ``token_interval`` is the gap between content chunks,
    ``first_token_delay`` the wait before the first one. ``usage=(prompt, completion)``
    overrides the token estimate.
    """

    text: str | None = None
    chunks: list[str] | None = None
    chunk_size: int | None = None
    first_token_delay: float | None = None
    token_interval: float | None = None
    usage: tuple[int, int] | None = None
    finish_reason: str = "stop"
    model: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Status:
    """Answer with an HTTP error in OpenAI's error envelope.

    ``Status(429, retry_after=0.05)``; ``Status(500)``;
    ``Status(400, code="context_length_exceeded")``; ``Status(400, code="content_filter")``
    (Azure's prompt filter). ``retry_after`` is seconds (``retry-after`` header),
    ``retry_after_ms`` sets ``retry-after-ms`` (the SDK prefers it).
    """

    status: int
    retry_after: float | None = None
    code: str | None = None
    message: str | None = None
    type: str | None = None
    param: str | None = None
    retry_after_ms: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Hang:
    """Stall for ``seconds``: before sending any header (``after_chunks=None``; a client
    read timeout fires before ``create()`` returns) or mid-stream after ``after_chunks``
    SSE events. If the client is still there afterwards, ``then`` (default reply) finishes.
    """

    seconds: float
    after_chunks: int | None = None
    then: Reply | None = None


@dataclass
class CutStream:
    """Send ``after_chunks`` SSE events, then drop the TCP connection without the final
    chunked-encoding terminator or ``[DONE]`` (a proxy/LB reset). For a non-streaming
    request the connection is dropped before any response."""

    after_chunks: int = 1
    reply: Reply | None = None


@dataclass
class StreamError:
    """Send ``after_chunks`` events, then an in-band ``data: {"error": {...}}`` event and
    end the stream (what OpenAI does when generation fails after the 200 was sent)."""

    after_chunks: int = 1
    message: str = "The server had an error while processing your request. Sorry about that!"
    type: str = "server_error"
    reply: Reply | None = None


Action = Reply | Status | Hang | CutStream | StreamError
Responder = Callable[["ChatRequest"], "Action | Awaitable[Action]"]


# --------------------------------------------------------------------------- records
@dataclass
class ChatRequest:
    """One chat-completions request as received."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    query: dict[str, str]
    time: float
    deployment: str | None = None

    @property
    def azure(self) -> bool:
        """True for the Azure deployment path."""
        return self.deployment is not None

    @property
    def model(self) -> str:
        """``model`` from the body, or the Azure deployment name."""
        return str(self.body.get("model") or self.deployment or "")

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The ``messages`` array as sent."""
        msgs = self.body.get("messages")
        return msgs if isinstance(msgs, list) else []

    @property
    def stream(self) -> bool:
        """Whether SSE streaming was requested."""
        return bool(self.body.get("stream"))

    @property
    def include_usage(self) -> bool:
        """Whether ``stream_options.include_usage`` was requested."""
        opts = self.body.get("stream_options") or {}
        return bool(isinstance(opts, dict) and opts.get("include_usage"))

    @property
    def retry_count(self) -> int:
        """The SDK's ``x-stainless-retry-count`` header (0 on the first attempt)."""
        return int(self.headers.get("x-stainless-retry-count", "0") or 0)

    @property
    def last_user_text(self) -> str:
        """Text of the last ``user`` message (content parts joined)."""
        for m in reversed(self.messages):
            if isinstance(m, dict) and m.get("role") == "user":
                return content_text(m.get("content"))
        return ""

    @property
    def all_text(self) -> str:
        """All message texts joined by newlines — handy for "no secret leaked" asserts."""
        return "\n".join(
            content_text(m.get("content")) for m in self.messages if isinstance(m, dict)
        )


def content_text(content: Any) -> str:
    """Flatten a message ``content`` (string or list of parts) to text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def estimate_tokens(text: str) -> int:
    """Deterministic token estimate: one per 3 UTF-8 bytes (≈1 per Japanese character,
    ≈1 per 3 ASCII characters). Not tiktoken — good enough for usage accounting tests."""
    return max(1, math.ceil(len(text.encode("utf-8")) / 3)) if text else 0


def estimate_prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """Message tokens plus OpenAI's per-message framing overhead (~3 per message + 3)."""
    return sum(estimate_tokens(content_text(m.get("content"))) + 3 for m in messages) + 3


def default_reply_text(req: ChatRequest, reply_chars: int | None = None) -> str:
    """The default responder's answer: deterministic, Japanese, mentions the length of
    the last user message so tests can see which request produced it."""
    n = len(req.last_user_text)
    text = f"ご質問ありがとうございます。窓口AIです。いただいた内容（{n}文字）を確認しました。"
    filler = "詳しくは担当課の窓口までお問い合わせください。"
    if reply_chars is not None:
        while len(text) < reply_chars:
            text += filler
        text = text[:reply_chars]
    return text


_AZURE_FILTER_OK = {
    "hate": {"filtered": False, "severity": "safe"},
    "self_harm": {"filtered": False, "severity": "safe"},
    "sexual": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": False, "severity": "safe"},
}

_ERROR_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", None, "You are not allowed to access this resource."),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model does not exist or you do not have access to it.",
    ),
    408: ("timeout", None, "Request timed out."),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests per min (RPM). Please try again in 1s.",
    ),
    500: (
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}

_CODE_MESSAGES = {
    "context_length_exceeded": (
        "This model's maximum context length is {limit} tokens. However, your messages "
        "resulted in {used} tokens. Please reduce the length of the messages."
    ),
    "content_filter": (
        "The response was filtered due to the prompt triggering Azure OpenAI's content "
        "management policy. Please modify your prompt and retry."
    ),
}


def _sse(obj: Any) -> bytes:
    # ensure_ascii=False: real responses carry raw UTF-8, so multi-byte characters can be
    # split across TCP reads; the client's decoder must cope.
    return b"data: " + json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


_DONE = b"data: [DONE]\n\n"


class FakeOpenAI(PeerServer):
    """OpenAI / Azure OpenAI chat-completions look-alike. See the module docstring."""

    def __init__(
        self,
        *,
        mode: Mode = "instant",
        first_token_latency: float = 0.5,
        tokens_per_second: float = 30.0,
        chunk_size: int | None = None,
        reply_chars: int | None = None,
        api_key: str | None = None,
        models: tuple[str, ...] = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"),
        context_window: int | None = None,
        write_interval: float = 0.0,
        azure_prompt_filter_chunk: bool = True,
    ) -> None:
        """Configure defaults for unscripted requests.

        ``mode="instant"``: no delays (content in 8-character chunks). ``"realistic"``:
        ``first_token_latency`` seconds to the first token, then ``tokens_per_second``
        (one chunk = one token = ``chunk_size`` characters, default 1; ≈ Japanese).
        ``api_key``: if set, other keys get 401. ``context_window``: if set, prompts whose
        estimated tokens exceed it get 400 ``context_length_exceeded``.
        ``write_interval``: coalesce SSE events due within this many seconds into one
        socket write (events stay separate); raise to ~0.05 when driving 1,000 streams
        from one process.
        """
        super().__init__()
        self.mode: Mode = mode
        self.first_token_latency = first_token_latency
        self.tokens_per_second = tokens_per_second
        self.chunk_size = chunk_size
        self.reply_chars = reply_chars
        self.api_key = api_key
        self.models = models
        self.context_window = context_window
        self.write_interval = write_interval
        self.azure_prompt_filter_chunk = azure_prompt_filter_chunk
        self.requests: list[ChatRequest] = []
        self.responder: Responder | None = None
        self.completed = 0
        self._script: deque[Action | Responder] = deque()
        self._ids = itertools.count(1)

    # ------------------------------------------------------------------ URLs
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1`` for ``AsyncOpenAI(base_url=...)``."""
        return f"{self.root_url}/v1"

    # ------------------------------------------------------------------ scripting
    def script(self, *actions: Action | Responder) -> None:
        """Queue actions; each chat request consumes one (FIFO). A callable is called with
        the ``ChatRequest`` and must return an action (sync or async)."""
        self._script.extend(actions)

    @property
    def pending(self) -> int:
        """Scripted actions not yet consumed."""
        return len(self._script)

    def reset(self) -> None:
        """Forget recorded requests and queued actions."""
        self.requests.clear()
        self._script.clear()
        self.completed = 0

    async def wait_for(
        self,
        count: int = 1,
        predicate: Callable[[ChatRequest], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - deadline for a condition, documented API
    ) -> list[ChatRequest]:
        """Wait until ``count`` requests (matching ``predicate``) arrived; return them."""

        def check() -> list[ChatRequest] | None:
            hits = [r for r in self.requests if predicate is None or predicate(r)]
            return hits if len(hits) >= count else None

        return await self._wait_until(check, timeout, f"{count} chat request(s)")

    def stats(self) -> dict[str, Any]:
        """Counters (also at ``GET /_peer/stats``)."""
        return {
            "requests": len(self.requests),
            "completed": self.completed,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
        }

    # ------------------------------------------------------------------ HTTP
    def _build_app(self) -> web.Application:
        app = new_app()
        app.router.add_post("/v1/chat/completions", self._handle_chat)
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._handle_chat)
        # Azure's newer "v1" surface uses the plain OpenAI paths under /openai/v1.
        app.router.add_post("/openai/v1/chat/completions", self._handle_chat)
        app.router.add_get("/v1/models", self._handle_models)
        app.router.add_get("/openai/models", self._handle_models)
        app.router.add_get("/openai/v1/models", self._handle_models)
        app.router.add_get("/_peer/stats", self._handle_stats)
        return app

    async def _handle_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _handle_models(self, request: web.Request) -> web.Response:
        if not self._authorized(request, azure=request.path.startswith("/openai")):
            return self._error(Status(401))
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "system"}
                    for m in self.models
                ],
            }
        )

    def _authorized(self, request: web.Request, *, azure: bool) -> bool:
        auth = request.headers.get("Authorization", "")
        key = auth[7:] if auth.startswith("Bearer ") else None
        if azure and key is None:
            key = request.headers.get("api-key")
        if not key:
            return False
        return self.api_key is None or key == self.api_key

    def _error(
        self, st: Status, *, azure: bool = False, req: ChatRequest | None = None
    ) -> web.Response:
        etype, ecode, emsg = _ERROR_DEFAULTS.get(st.status, ("server_error", None, "Error."))
        code = st.code if st.code is not None else ecode
        message = st.message
        if message is None and code in _CODE_MESSAGES:
            used = estimate_prompt_tokens(req.messages) if req else 0
            message = _CODE_MESSAGES[code].format(limit=self.context_window or 128_000, used=used)
        if code == "context_length_exceeded":
            etype = "invalid_request_error"
        error: dict[str, Any] = {
            "message": message or emsg,
            "type": st.type or etype,
            "param": st.param
            if st.param is not None
            else ("messages" if code == "context_length_exceeded" else None),
            "code": code,
        }
        if azure and code == "content_filter":
            error["param"] = "prompt"
            error["status"] = 400
            error["innererror"] = {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_result": {
                    **_AZURE_FILTER_OK,
                    "violence": {"filtered": True, "severity": "high"},
                },
            }
        headers = {"x-request-id": f"req_{uuid.uuid4().hex}", **st.headers}
        if st.retry_after is not None:
            ra = st.retry_after
            headers["retry-after"] = str(int(ra)) if float(ra).is_integer() else repr(float(ra))
        if st.retry_after_ms is not None:
            headers["retry-after-ms"] = str(st.retry_after_ms)
        if st.status == 429:
            headers.setdefault("x-ratelimit-limit-requests", "500")
            headers.setdefault("x-ratelimit-remaining-requests", "0")
        return web.json_response({"error": error}, status=st.status, headers=headers)

    async def _handle_chat(self, request: web.Request) -> web.StreamResponse:
        self._enter()
        try:
            return await self._chat(request)
        finally:
            self._leave()

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        deployment = request.match_info.get("deployment")
        azure = request.path.startswith("/openai/")
        if not self._authorized(request, azure=azure):
            return self._error(Status(401), azure=azure)
        if deployment is not None and "api-version" not in request.query:
            return web.json_response(
                {"error": {"code": "404", "message": "Resource not found"}}, status=404
            )
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return self._error(
                Status(400, message="We could not parse the JSON body of your request.")
            )
        if not isinstance(body, dict):
            return self._error(Status(400, message="Invalid body."))
        req = ChatRequest(
            path=request.path_qs,
            body=body,
            headers=dict(request.headers),
            query=dict(request.query),
            time=time.monotonic(),
            deployment=deployment,
        )
        self.requests.append(req)
        self._notify()
        if not req.messages:
            return self._error(
                Status(400, param="messages", message="'messages' is a required property")
            )
        if deployment is None and not body.get("model"):
            return self._error(
                Status(400, param="model", message="you must provide a model parameter")
            )
        if (
            self.context_window is not None
            and estimate_prompt_tokens(req.messages) > self.context_window
        ):
            return self._error(Status(400, code="context_length_exceeded"), req=req)

        action = await self._next_action(req)
        try:
            if isinstance(action, Status):
                return self._error(action, azure=azure, req=req)
            if isinstance(action, Hang) and action.after_chunks is None:
                await asyncio.sleep(action.seconds)
                action = action.then or Reply()
            if not req.stream:
                return await self._respond_whole(request, req, action)
            return await self._respond_stream(request, req, action)
        finally:
            self.completed += 1

    async def _next_action(self, req: ChatRequest) -> Action:
        item: Action | Responder | None = self._script.popleft() if self._script else self.responder
        if item is None:
            return Reply()
        if callable(item) and not isinstance(item, Reply | Status | Hang | CutStream | StreamError):
            result = item(req)
            if asyncio.iscoroutine(result) or isinstance(result, Awaitable):
                result = await result
            return result  # type: ignore[return-value]
        return item  # type: ignore[return-value]

    # ------------------------------------------------------------------ bodies
    def _reply_of(self, action: Action) -> Reply:
        if isinstance(action, Reply):
            return action
        inner = getattr(action, "reply", None) or getattr(action, "then", None)
        return inner or Reply()

    def _plan(self, req: ChatRequest, reply: Reply) -> tuple[list[str], str, int, int, str]:
        """Content pieces, finish_reason, prompt and completion tokens, model."""
        realistic = self.mode == "realistic"
        text = reply.text if reply.text is not None else default_reply_text(req, self.reply_chars)
        if reply.chunks is not None:
            pieces = list(reply.chunks)
            text = "".join(pieces)
        else:
            size = reply.chunk_size or self.chunk_size or (1 if realistic else 8)
            pieces = [text[i : i + size] for i in range(0, len(text), size)]
        finish = reply.finish_reason
        limit = req.body.get("max_completion_tokens") or req.body.get("max_tokens")
        if isinstance(limit, int) and limit > 0 and estimate_tokens(text) > limit:
            # Honour the token cap like the API: truncate and report finish_reason=length.
            # Cut at the longest character prefix within the cap, keeping chunk boundaries.
            n = len(text)
            while n > 0 and estimate_tokens(text[:n]) > limit:
                n -= 1
            kept: list[str] = []
            for p in pieces:
                if n <= 0:
                    break
                kept.append(p[:n])
                n -= len(p)
            pieces, text, finish = kept, "".join(kept), "length"
        if reply.usage is not None:
            prompt, completion = reply.usage
        else:
            prompt, completion = estimate_prompt_tokens(req.messages), estimate_tokens(text)
        model = reply.model or req.model or "gpt-4o-mini"
        return pieces, finish, prompt, completion, model

    @staticmethod
    def _usage(prompt: int, completion: int) -> dict[str, Any]:
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def _new_id(self) -> str:
        return f"chatcmpl-fake{next(self._ids):07d}{uuid.uuid4().hex[:15]}"

    async def _respond_whole(
        self, request: web.Request, req: ChatRequest, action: Action
    ) -> web.StreamResponse:
        if isinstance(action, CutStream):
            _drop_connection(request)
            raise asyncio.CancelledError  # nothing more to send on a dropped connection
        if isinstance(action, StreamError):
            return self._error(Status(500, message=action.message, type=action.type), req=req)
        reply = self._reply_of(action)
        pieces, finish, prompt, completion, model = self._plan(req, reply)
        delay = reply.first_token_delay
        if delay is None:
            delay = self.first_token_latency if self.mode == "realistic" else 0.0
        interval = self._interval(reply)
        total = delay + interval * max(0, len(pieces) - 1)
        if isinstance(action, Hang):
            total += action.seconds
        if total > 0:
            await asyncio.sleep(total)
        choice: dict[str, Any] = {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "".join(pieces),
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": finish,
        }
        body: dict[str, Any] = {
            "id": self._new_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [choice],
            "usage": self._usage(prompt, completion),
            "service_tier": "default",
            "system_fingerprint": "fp_fake0001",
        }
        if req.azure:
            choice["content_filter_results"] = _AZURE_FILTER_OK
            body["prompt_filter_results"] = [
                {"prompt_index": 0, "content_filter_results": _AZURE_FILTER_OK}
            ]
        return web.json_response(
            body, headers={"x-request-id": f"req_{uuid.uuid4().hex}", **reply.headers}
        )

    def _interval(self, reply: Reply) -> float:
        if reply.token_interval is not None:
            return reply.token_interval
        return 1.0 / self.tokens_per_second if self.mode == "realistic" else 0.0

    async def _respond_stream(
        self, request: web.Request, req: ChatRequest, action: Action
    ) -> web.StreamResponse:
        reply = self._reply_of(action)
        pieces, finish, prompt, completion, model = self._plan(req, reply)
        cid, created = self._new_id(), int(time.time())
        usage_field = {"usage": None} if req.include_usage else {}

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            ch: dict[str, Any] = {
                "index": 0,
                "delta": delta,
                "logprobs": None,
                "finish_reason": finish_reason,
            }
            if req.azure:
                ch["content_filter_results"] = {} if finish_reason else _AZURE_FILTER_OK
            return {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "service_tier": "default",
                "system_fingerprint": "fp_fake0001",
                "choices": [ch],
                **usage_field,
            }

        # (due_offset_seconds, payload) for every SSE event, in order.
        delay = reply.first_token_delay
        if delay is None:
            delay = self.first_token_latency if self.mode == "realistic" else 0.0
        interval = self._interval(reply)
        events: list[tuple[float, bytes]] = []
        if req.azure and self.azure_prompt_filter_chunk:
            events.append(
                (
                    0.0,
                    _sse(
                        {
                            "choices": [],
                            "created": 0,
                            "id": "",
                            "model": "",
                            "object": "",
                            "prompt_filter_results": [
                                {"prompt_index": 0, "content_filter_results": _AZURE_FILTER_OK}
                            ],
                        }
                    ),
                )
            )
        # The role chunk arrives together with the first token, as with the real API.
        events.append((delay, _sse(chunk({"role": "assistant", "content": "", "refusal": None}))))
        for i, piece in enumerate(pieces):
            events.append((delay + i * interval, _sse(chunk({"content": piece}))))
        last = delay + max(0, len(pieces) - 1) * interval
        events.append((last, _sse(chunk({}, finish))))
        if req.include_usage:
            events.append(
                (
                    last,
                    _sse(
                        {
                            "id": cid,
                            "object": "chat.completion.chunk",
                            "created": created,
                            "model": model,
                            "service_tier": "default",
                            "system_fingerprint": "fp_fake0001",
                            "choices": [],
                            "usage": self._usage(prompt, completion),
                        }
                    ),
                )
            )
        events.append((last, _DONE))

        stop_at: int | None = None
        if isinstance(action, CutStream | StreamError) or (
            isinstance(action, Hang) and action.after_chunks is not None
        ):
            stop_at = min(action.after_chunks or 0, len(events) - 1)  # type: ignore[union-attr]

        resp = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "x-request-id": f"req_{uuid.uuid4().hex}",
                "openai-processing-ms": str(int(delay * 1000)),
                **reply.headers,
            },
        )
        await resp.prepare(request)
        start = time.monotonic()
        sent = 0
        while sent < len(events):
            limit = len(events) if stop_at is None else stop_at
            if sent >= limit:
                # Fault point reached.
                if isinstance(action, CutStream):
                    _drop_connection(request)
                    raise asyncio.CancelledError  # stop aiohttp writing the chunked terminator
                if isinstance(action, StreamError):
                    await resp.write(
                        _sse(
                            {
                                "error": {
                                    "message": action.message,
                                    "type": action.type,
                                    "param": None,
                                    "code": None,
                                }
                            }
                        )
                    )
                    await resp.write_eof()
                    return resp
                assert isinstance(action, Hang)
                await asyncio.sleep(action.seconds)
                start += action.seconds
                stop_at = None
                continue
            due = start + events[sent][0]
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
                now = time.monotonic()
            # Batch every event already due (or due within write_interval) into one write.
            horizon = now + self.write_interval
            batch: list[bytes] = []
            while sent < limit and start + events[sent][0] <= horizon:
                batch.append(events[sent][1])
                sent += 1
            await resp.write(b"".join(batch))
        await resp.write_eof()
        return resp


def _drop_connection(request: web.Request) -> None:
    """Close the socket after flushing what was written; no chunked terminator follows, so
    an HTTP/1.1 client sees an incomplete body (httpx: RemoteProtocolError)."""
    transport = request.transport
    if transport is not None:
        transport.close()
