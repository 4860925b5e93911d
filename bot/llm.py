"""Model clients: the OpenAI SDK (OpenAI, Azure OpenAI, any OpenAI-compatible server), streaming.

Only the gateway's call stage uses this module; nothing else in the code base talks to a model.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import openai
import orjson
from openai import AsyncAzureOpenAI, AsyncOpenAI, AsyncStream, DefaultAioHttpClient

from bot.catalog import ModelSpec
from bot.settings import Settings

try:  # the transport library of the installed SDK (openai 3.x: httpx2; before: httpx)
    import httpx2 as _httpx
except ImportError:  # pragma: no cover - older SDKs
    import httpx as _httpx  # type: ignore[no-redef]


class ModelErrorKind(StrEnum):
    """Why a model call failed, in words the user message and the usage record share."""

    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    CONTEXT_TOO_LONG = "context_too_long"
    UNKNOWN_MODEL = "unknown_model"
    AUTH = "auth"
    CONNECTION = "connection"
    CONTENT_FILTER = "content_filter"
    STREAM_CUT = "stream_cut"
    BAD_REQUEST = "bad_request"


class ModelError(Exception):
    """A model call failed after the SDK's retries."""

    def __init__(self, kind: ModelErrorKind, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else str(kind))
        self.kind = kind


@dataclass
class Usage:
    """Token usage as the server reported it (None when it did not)."""

    input_tokens: int
    output_tokens: int


@dataclass
class StreamEvent:
    """One piece of a streamed answer: a text delta, the usage, or the finish reason."""

    delta: str = ""
    usage: Usage | None = None
    finish_reason: str | None = None


class ModelClients:
    """One SDK client per endpoint, created on first use and reused (connection pooling)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._clients: dict[tuple[str, str | None, str | None], AsyncOpenAI] = {}

    def for_model(self, model: ModelSpec) -> AsyncOpenAI:
        """Return the SDK client that reaches ``model``."""
        key = (model.provider, model.base_url, model.api_key_env)
        client = self._clients.get(key)
        if client is None:
            client = self._build(model)
            self._clients[key] = client
        return client

    def _build(self, model: ModelSpec) -> AsyncOpenAI:
        s = self._settings
        timeout = openai.Timeout(s.model_timeout, connect=s.model_connect_timeout)
        # aiohttp as the SDK's transport (its ``aiohttp`` extra): its C HTTP parser reads a
        # streamed answer's many small SSE writes for about half the CPU of the default
        # httpx transport, which dominates a busy instance (bench/bench_load.py).
        http_client = DefaultAioHttpClient(timeout=timeout)
        if model.provider == "azure":
            key = os.environ.get(model.api_key_env) if model.api_key_env else None
            return AsyncAzureOpenAI(
                api_key=key or s.secret("azure_openai_api_key") or "unset",
                azure_endpoint=model.base_url or s.azure_openai_endpoint or "http://127.0.0.1:1",
                api_version=s.openai_api_version,
                timeout=timeout,
                max_retries=s.model_max_retries,
                http_client=http_client,
            )
        key = os.environ.get(model.api_key_env) if model.api_key_env else None
        return AsyncOpenAI(
            # Local OpenAI-compatible servers often need no key; the SDK insists on one.
            api_key=key or s.secret("openai_api_key") or "unset",
            base_url=model.base_url or s.openai_base_url,
            timeout=timeout,
            max_retries=s.model_max_retries,
            http_client=http_client,
        )

    async def aclose(self) -> None:
        """Close every pooled connection."""
        for client in self._clients.values():
            await client.close()
        self._clients.clear()


class ChatChunks(AsyncStream[object]):
    """The SDK's stream of chat completion chunks, read with less work per event.

    The SDK's own reader splits lines character by character and builds an event object per
    line; an answer streams hundreds of events, so on a busy instance that reader showed up in
    every profile (BENCHMARKS.md, "Load"). This one cuts the body at blank lines, parses each
    event's ``data`` once and yields the chunks of one socket read together as a list (a model
    writes several tokens at a time; everything after this reader then runs once per read, not
    once per token). The SDK still does everything before the body (request, retries, timeouts,
    HTTP errors), and closes the response.
    """

    async def __stream__(self) -> AsyncIterator[object]:  # the SDK's hook for the iteration
        response = self.response
        try:
            pending = b""
            body = _raw_body(response)
            async for piece in body:
                pending += piece
                if b"\r" in pending:
                    if pending.endswith(b"\r"):
                        continue  # maybe the first half of a CRLF
                    pending = pending.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
                if b"\n\n" not in pending:
                    continue
                *events, pending = pending.split(b"\n\n")
                chunks = []
                for event in events:
                    # Nearly every event is one ``data: {…}`` line.
                    single = event.startswith(b"data: ") and b"\n" not in event
                    data = event[6:] if single else _sse_data(event)
                    if data is None:
                        continue  # a comment or keep-alive
                    if data.startswith(b"[DONE]"):
                        if chunks:
                            yield chunks
                        # Read the rest so the connection can be reused (HTTP/1.1).
                        async for _ in body:
                            pass
                        return
                    chunk = orjson.loads(data)
                    if isinstance(chunk, dict) and chunk.get("error"):
                        # The server failed after the answer began.
                        raise ModelError(ModelErrorKind.SERVER_ERROR, "in-stream")
                    chunks.append(chunk)
                if chunks:
                    yield chunks
        except (_httpx.TimeoutException, TimeoutError) as exc:
            raise ModelError(ModelErrorKind.TIMEOUT) from exc
        finally:
            await response.aclose()


def _raw_body(response: _httpx.Response) -> AsyncIterator[bytes]:
    """The response body as it arrives from the socket.

    With the SDK's aiohttp transport that is aiohttp's own reader: the httpx layers over it (a
    bound stream, a byte stream, the decoders) cost more per read than the read itself. A body
    the server compressed, or another transport, goes through httpx, which decodes it.
    """
    stream = getattr(getattr(response, "stream", None), "_stream", None)
    raw = getattr(stream, "_aiohttp_response", None)
    if raw is None or response.headers.get("content-encoding", "identity") != "identity":
        return response.aiter_bytes()
    return _read_any(raw.content)


async def _read_any(content: Any) -> AsyncIterator[bytes]:
    while piece := await content.readany():
        yield piece


def _sse_data(event: bytes) -> bytes | None:
    """The ``data`` of one server-sent event (its ``data:`` lines joined), or None."""
    lines = [line[5:] for line in event.split(b"\n") if line.startswith(b"data:")]
    if not lines:
        return None
    return b"\n".join(line[1:] if line.startswith(b" ") else line for line in lines)


async def stream_chat(
    client: AsyncOpenAI, model: ModelSpec, messages: list[dict[str, str]]
) -> AsyncIterator[StreamEvent]:
    """Stream a chat completion, yielding text deltas, then the usage (when reported).

    SDK errors are turned into :class:`ModelError` with a kind; the SDK's own bounded retries with
    backoff (``max_retries``) have already run when one reaches us.
    """
    finished = False
    began = False
    body = {
        "model": model.request_model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": model.max_output_tokens,
    }
    try:
        # The SDK's low-level ``post`` keeps its retries, timeouts and error types but yields
        # plain dicts: building a typed model per streamed chunk costs about 60 µs, and a turn
        # streams hundreds of chunks (measured in bench/bench_chat.py).
        stream = await client.post(
            "/chat/completions",
            body=body,
            cast_to=object,
            stream=True,
            stream_cls=ChatChunks,
        )
        # Closed however the loop ends (a refusal mid-stream too), so the connection is freed.
        async with stream:
            async for chunks in stream:
                # The text of one read as one delta; the finish reason and usage after it.
                delta: list[str] = []
                after: list[StreamEvent] = []
                for chunk in chunks:
                    if not isinstance(chunk, dict):
                        continue
                    usage = chunk.get("usage")
                    if usage:
                        after.append(
                            StreamEvent(
                                usage=Usage(
                                    int(usage.get("prompt_tokens") or 0),
                                    int(usage.get("completion_tokens") or 0),
                                )
                            )
                        )
                    # Azure sends a first chunk with no choices (prompt filter results only).
                    for choice in chunk.get("choices") or ():
                        reason = choice.get("finish_reason")
                        if reason == "content_filter":
                            if delta:
                                yield StreamEvent(delta="".join(delta))
                            raise ModelError(ModelErrorKind.CONTENT_FILTER)
                        content = (choice.get("delta") or {}).get("content")
                        if content:
                            began = True
                            delta.append(content)
                        if reason:
                            finished = True
                            after.append(StreamEvent(finish_reason=reason))
                if delta:
                    yield StreamEvent(delta="".join(delta))
                for event in after:
                    yield event
    except ModelError:
        raise
    except openai.APITimeoutError as exc:
        raise ModelError(ModelErrorKind.TIMEOUT) from exc
    except openai.RateLimitError as exc:
        raise ModelError(ModelErrorKind.RATE_LIMITED) from exc
    except openai.AuthenticationError as exc:
        raise ModelError(ModelErrorKind.AUTH) from exc
    except openai.PermissionDeniedError as exc:
        raise ModelError(ModelErrorKind.AUTH) from exc
    except openai.NotFoundError as exc:
        raise ModelError(ModelErrorKind.UNKNOWN_MODEL, model.request_model) from exc
    except openai.BadRequestError as exc:
        code = getattr(exc, "code", None) or ""
        text = str(exc)
        if (
            code == "context_length_exceeded"
            or "context_length" in text
            or "maximum context" in text
        ):
            raise ModelError(ModelErrorKind.CONTEXT_TOO_LONG) from exc
        if code == "content_filter":
            raise ModelError(ModelErrorKind.CONTENT_FILTER) from exc
        if code == "model_not_found":
            raise ModelError(ModelErrorKind.UNKNOWN_MODEL, model.request_model) from exc
        raise ModelError(ModelErrorKind.BAD_REQUEST, code) from exc
    except openai.APIStatusError as exc:
        raise ModelError(ModelErrorKind.SERVER_ERROR, str(exc.status_code)) from exc
    except openai.APIConnectionError as exc:
        # A connection dropped after the answer began is a cut stream, not an unreachable host.
        kind = ModelErrorKind.STREAM_CUT if began else ModelErrorKind.CONNECTION
        raise ModelError(kind) from exc
    except openai.APIError as exc:
        # An error event inside a stream that had already begun (the server failed mid-answer).
        raise ModelError(ModelErrorKind.SERVER_ERROR, "in-stream") from exc
    except Exception as exc:
        # The SDK lets transport errors raised mid-stream (peer closed, bad chunk) through
        # unwrapped, and their classes differ between SDK versions: all of them are a cut stream.
        raise ModelError(ModelErrorKind.STREAM_CUT, type(exc).__name__) from exc
    if not finished:
        raise ModelError(ModelErrorKind.STREAM_CUT)
