"""Graceful shutdown: /readyz turns 503 first, new events are refused before they are claimed,
answers in flight finish — or, when they take longer than the grace period, end with a final
message (what was shown so far plus a notice) — and never stay a frozen 「考え中…」.

The SIGTERM tests run the real ``madoguchi serve --http`` in a child process against the local
Slack-compatible and OpenAI-compatible peers of this process.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.harness import SIGNING_SECRET, BotHarness
from tests.peers import (
    FakeOpenAI,
    FakeSlackAPI,
    Hang,
    Reply,
    app_mention,
    event_callback,
    post_event,
    thread_reply,
)
from tests.serve_process import serve_env, wait_ready

CHANNEL = "C0001"
THINKING = "考え中…"
INTERRUPTED = "サーバーの再起動・停止のため"
REPO = Path(__file__).resolve().parents[1]


def shown(message: Any) -> str:
    return message.blocks[0]["text"]["text"] if message.blocks else message.text


# --------------------------------------------------------------------------- in process


async def test_drain_waits_for_an_answer_that_finishes_in_time(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as bot:
        bot.openai.script(Reply(text="最後まで届く回答です。", chunk_size=2, token_interval=0.05))
        event = app_mention("質問です")
        await bot.send(event)
        await bot.openai.wait_for(1, timeout=10)
        result = await bot.runtime.in_flight.drain(grace=10)
        assert (result.finished, result.interrupted) == (1, 0)
        [answer] = bot.thread(CHANNEL, event["ts"])
        assert shown(answer) == "最後まで届く回答です。"
        [usage] = bot.usage.events
        assert usage.outcome == "ok"


async def test_an_answer_longer_than_the_grace_period_ends_with_a_notice(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as bot:
        bot.openai.script(Hang(30, after_chunks=4))
        event = app_mention("長い回答になる質問")
        await bot.send(event)
        await bot.slack.wait_for("chat.update", timeout=10)  # part of the answer is visible
        result = await bot.runtime.in_flight.drain(grace=0.2)
        assert (result.finished, result.interrupted) == (0, 1)
        [answer] = bot.thread(CHANNEL, event["ts"])
        text = shown(answer)
        assert INTERRUPTED in text and THINKING not in text
        assert text.index(INTERRUPTED) > 0  # the partial answer stays above the notice
        [usage] = bot.usage.events
        assert (usage.outcome, usage.error_kind) == ("error", "interrupted")


async def test_a_turn_waiting_for_its_thread_is_closed_too(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as bot:
        bot.openai.script(Hang(30))
        first = app_mention("一つ目")
        await bot.send(first)
        await bot.openai.wait_for(1, timeout=10)
        second = thread_reply("二つ目", thread_ts=first["ts"])
        await bot.send(second)
        # The second turn is registered but waits for the thread (no Slack call to wait for).
        while len(bot.runtime.in_flight) < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        result = await bot.runtime.in_flight.drain(grace=0.1)
        assert result.interrupted == 2
        messages = bot.thread(CHANNEL, first["ts"])
        assert len(messages) == 2
        assert all(INTERRUPTED in shown(m) and THINKING not in shown(m) for m in messages)


async def test_readyz_turns_503_and_new_events_are_refused_unclaimed(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as bot, aiohttp.ClientSession() as http:
        async with http.get(bot.url + "/readyz") as response:
            assert response.status == 200
        async with http.get(bot.url + "/livez") as response:
            assert response.status == 200
        await bot.runtime.in_flight.drain(grace=1)
        async with http.get(bot.url + "/readyz") as response:
            assert response.status == 503
        async with http.get(bot.url + "/livez") as response:
            assert response.status == 200  # alive: no restart while draining
        payload = event_callback(app_mention("停止中に届いた質問"))
        response = await bot.send(payload)
        assert response.status == 503
        await asyncio.sleep(0.2)
        assert not bot.openai.requests and not bot.slack.calls_to("chat.postMessage")
        # Not claimed: Slack's retry may still be answered by another instance.
        assert await bot.runtime.store.claim_event(payload["event_id"], "T0001") is True


# --------------------------------------------------------------------------- SIGTERM


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """``python -m bot serve --http`` as a child process wired to this test's peers."""

    def __init__(self, proc: asyncio.subprocess.Process, url: str) -> None:
        self.proc = proc
        self.url = url

    async def send(self, payload: dict[str, Any]) -> int:
        response = await post_event(self.url + "/slack/events", payload, SIGNING_SECRET)
        return response.status


@pytest.fixture
async def peers() -> AsyncIterator[tuple[FakeSlackAPI, FakeOpenAI]]:
    async with FakeSlackAPI() as slack, FakeOpenAI() as llm:
        yield slack, llm


async def start_serve(
    tmp_path: Path, slack: FakeSlackAPI, llm: FakeOpenAI, **env: str
) -> ServeProcess:
    port = free_port()
    environment = serve_env(
        slack_url=slack.base_url,
        openai_url=llm.base_url,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        signing_secret=SIGNING_SECRET,
        MADOGUCHI_STREAM_UPDATE_INTERVAL="0.1",
        **env,
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        "--http",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        cwd=str(REPO),
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    await wait_ready(proc, url)
    return ServeProcess(proc, url)


async def wait_not_ready(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        while True:
            async with http.get(url + "/readyz") as response:
                if response.status == 503:
                    return
            await asyncio.sleep(0.02)


async def test_sigterm_lets_the_streaming_answer_finish_then_exits(
    tmp_path: Path, peers: tuple[FakeSlackAPI, FakeOpenAI]
) -> None:
    slack, llm = peers
    text = "はい。" + "防災訓練のご案内です。" * 6
    llm.script(Reply(text=text, chunk_size=4, token_interval=0.1))
    bot = await start_serve(tmp_path, slack, llm, MADOGUCHI_SHUTDOWN_GRACE_SECONDS="30")
    try:
        event = app_mention("防災訓練の案内文を作ってください")
        assert await bot.send(event_callback(event)) == 200
        await slack.wait_for("chat.update", timeout=15)  # streaming has begun
        bot.proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(wait_not_ready(bot.url), 10)
        # Stopped accepting: a new event is refused (Slack retries it elsewhere).
        assert await bot.send(event_callback(app_mention("停止中の質問"))) == 503
        assert await asyncio.wait_for(bot.proc.wait(), 30) == 0
    finally:
        if bot.proc.returncode is None:
            bot.proc.kill()
            await bot.proc.wait()
    [answer] = [m for m in slack.messages(CHANNEL, thread_ts=event["ts"]) if m.bot_id]
    assert shown(answer) == text
    assert len(llm.requests) == 1


async def test_sigterm_closes_an_answer_that_outlasts_the_grace_period(
    tmp_path: Path, peers: tuple[FakeSlackAPI, FakeOpenAI]
) -> None:
    slack, llm = peers
    llm.script(Hang(60, after_chunks=5))
    bot = await start_serve(tmp_path, slack, llm, MADOGUCHI_SHUTDOWN_GRACE_SECONDS="0.5")
    try:
        event = app_mention("時間のかかる質問")
        assert await bot.send(event_callback(event)) == 200
        await slack.wait_for("chat.update", timeout=15)
        bot.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.proc.wait(), 30) == 0
    finally:
        if bot.proc.returncode is None:
            bot.proc.kill()
            await bot.proc.wait()
    [answer] = [m for m in slack.messages(CHANNEL, thread_ts=event["ts"]) if m.bot_id]
    final = shown(answer)
    assert INTERRUPTED in final and THINKING not in final
    assert final.index(INTERRUPTED) > 0  # the part already shown stays


async def test_the_serving_socket_queues_a_burst_of_connections(
    tmp_path: Path, peers: tuple[FakeSlackAPI, FakeOpenAI]
) -> None:
    """The listen backlog is far above aiohttp's 128: a burst of new connections while the loop
    is busy is queued, not dropped (a dropped SYN costs its sender a 1 s retransmit)."""
    import shutil

    from handlers.server import LISTEN_BACKLOG

    if shutil.which("ss") is None:
        pytest.skip("needs ss (iproute2) to read the listening socket's backlog")
    slack, llm = peers
    bot = await start_serve(tmp_path, slack, llm)
    try:
        backlog, somaxconn = await asyncio.to_thread(_listen_backlog, bot.url.rsplit(":", 1)[1])
        assert backlog == min(LISTEN_BACKLOG, somaxconn)
    finally:
        bot.proc.terminate()
        await bot.proc.wait()


def _listen_backlog(port: str) -> tuple[int, int]:
    """The backlog of the socket listening on ``port`` (ss's Send-Q) and the kernel's cap."""
    import subprocess

    listing = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
    return int(listing[2]), somaxconn  # State Recv-Q Send-Q …
