"""The model stream reader against a server that writes server-sent events the way real servers
differ: CRLF line ends, comments and keep-alives, an event cut across socket writes, an error
event after the answer began. Through the real ``openai`` client and its aiohttp transport."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.catalog import ModelSpec
from bot.llm import ModelClients, ModelError, ModelErrorKind, StreamEvent, stream_chat
from bot.settings import Settings


def chunk(content: str | None = None, finish: str | None = None) -> dict:
    delta = {"content": content} if content is not None else {}
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def event(data: dict | str, newline: bytes = b"\n") -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return b"data: " + text.encode() + newline + newline


async def serve(
    pieces: list[bytes], headers: dict[str, str] | None = None, stall: float = 0.0
) -> tuple[web.AppRunner, str]:
    async def completions(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", **(headers or {})}
        )
        await response.prepare(request)
        for piece in pieces:
            await response.write(piece)
            await asyncio.sleep(0.01)  # separate socket writes: separate reads in the client
            await asyncio.sleep(stall)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/v1"


async def read(
    pieces: list[bytes], headers: dict[str, str] | None = None, stall: float = 0.0, **settings: object
) -> list[StreamEvent]:
    runner, url = await serve(pieces, headers, stall)
    clients = ModelClients(Settings(openai_api_key="k", model_max_retries=0, **settings))
    try:
        model = ModelSpec(id="m", base_url=url)
        return [e async for e in _events(clients, model)]
    finally:
        await clients.aclose()
        await runner.cleanup()


async def _events(clients: ModelClients, model: ModelSpec) -> AsyncIterator[StreamEvent]:
    async for e in stream_chat(clients.for_model(model), model, [{"role": "user", "content": "q"}]):
        yield e


def text_of(events: list[StreamEvent]) -> str:
    return "".join(e.delta for e in events)


async def test_crlf_comments_and_events_cut_across_writes() -> None:
    whole = event(chunk("こんにちは"), b"\r\n") + event(chunk("、世界"), b"\r\n")
    cut = len(event(chunk("こんにちは"), b"\r\n")) + 7
    pieces = [
        b": keep-alive comment\n\n",
        whole[:5],  # inside "data:"
        whole[5:cut],
        whole[cut:-1],  # the last CRLF split between two reads
        whole[-1:],
        event(chunk(finish="stop")),
        b'data: {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}}\n\n',
        event("[DONE]"),
    ]
    events = await read(pieces)
    assert text_of(events) == "こんにちは、世界"
    assert [e.finish_reason for e in events if e.finish_reason] == ["stop"]
    usage = [e.usage for e in events if e.usage]
    assert usage and (usage[0].input_tokens, usage[0].output_tokens) == (3, 4)


async def test_multi_line_data_is_joined_as_the_spec_says() -> None:
    body = json.dumps(chunk("一行目"), ensure_ascii=False)
    cut = body.index("[")  # where JSON allows the newline the join puts in
    head, tail = body[:cut], body[cut:]
    pieces = [
        f"data: {head}\ndata:{tail}\n\n".encode(),  # one event's JSON over two data lines
        event(chunk(finish="stop")),
        event("[DONE]"),
    ]
    assert text_of(await read(pieces)) == "一行目"


async def test_an_error_event_after_the_answer_began_is_a_server_error() -> None:
    pieces = [event(chunk("途中まで")), event({"error": {"message": "overloaded"}})]
    with pytest.raises(ModelError) as caught:
        await read(pieces)
    assert caught.value.kind == ModelErrorKind.SERVER_ERROR


async def test_a_body_that_ends_without_finishing_is_a_cut_stream() -> None:
    with pytest.raises(ModelError) as caught:
        await read([event(chunk("途中まで"))])
    assert caught.value.kind == ModelErrorKind.STREAM_CUT


async def test_events_of_one_read_arrive_as_one_delta_then_finish_and_usage() -> None:
    # A model writes several tokens at once; the reader hands them on together.
    burst = b"".join(event(chunk(c)) for c in ["窓", "口", "で", "す"])
    tail = event(chunk(finish="length")) + (
        b'data: {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 4}}\n\n'
    )
    events = await read([burst + tail + event("[DONE]")])
    assert [e.delta for e in events if e.delta] == ["窓口です"]
    kinds = ["delta" if e.delta else "finish" if e.finish_reason else "usage" for e in events]
    assert kinds == ["delta", "finish", "usage"]
    assert events[1].finish_reason == "length" and events[2].usage is not None


async def test_a_compressed_body_is_decoded() -> None:
    body = event(chunk("圧縮された")) + event(chunk("答え", "stop")) + event("[DONE]")
    packed = gzip.compress(body)
    half = len(packed) // 2
    events = await read([packed[:half], packed[half:]], {"Content-Encoding": "gzip"})
    assert text_of(events) == "圧縮された答え"
    assert [e.finish_reason for e in events if e.finish_reason] == ["stop"]


async def test_a_stream_that_stalls_after_it_began_times_out() -> None:
    pieces = [event(chunk("途中で")), event(chunk("止まる", "stop")), event("[DONE]")]
    with pytest.raises(ModelError) as caught:
        await read(pieces, stall=2.0, model_timeout=0.3)
    assert caught.value.kind == ModelErrorKind.TIMEOUT
