"""Chat-slice benchmark: the bot's own overhead per turn and sustained turns per second.

The bot runs as a real ``madoguchi serve --http`` child process (one event loop = one core). This
process drives it with signed Slack events and hosts the Slack-compatible Web API; the
OpenAI-compatible server answers instantly from a third process. Measured:

* placeholder latency: event POST sent → the bot's 「考え中…」 ``chat.postMessage`` received;
* whole-turn latency with an instant model (the bot's overhead: masking, storage, streaming);
* bot CPU seconds per turn (from /proc, so the driver's and peers' CPU is excluded);
* sustained turns/s with N concurrent threads, each sending ``--turns`` messages in sequence.

    .venv/bin/python -m bench.bench_chat --threads 200 --turns 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.peers import (
    FakeSlackAPI,
    app_mention,
    event_callback,
    sign_request,
    spawn_peer,
    thread_reply,
)
from tests.peers.slack_api import Call
from tests.serve_process import serve_env, wait_ready

SECRET = "bench-secret"
CHANNEL = "C0BENCH"


class TrackingSlack(FakeSlackAPI):
    """The fake Slack API, plus a future per thread that resolves when its answer is final."""

    def __init__(self) -> None:
        super().__init__()
        self.placeholder_at: dict[str, float] = {}
        self.final: dict[str, asyncio.Future[float]] = {}
        self._ts_thread: dict[str, str] = {}

    async def _answer(self, call: Call, request: Any) -> Any:  # type: ignore[override]
        result = await super()._answer(call, request)
        body = result[1]
        if call.method == "chat.postMessage" and body.get("ok"):
            thread = call.args.get("thread_ts", "")
            self._ts_thread[body["ts"]] = thread
            self.placeholder_at.setdefault(thread, call.time)
        # The final render carries blocks (answer + notes); intermediate updates do not.
        if call.method in ("chat.update", "chat.postMessage") and call.args.get("blocks"):
            thread = call.args.get("thread_ts") or self._ts_thread.get(call.args.get("ts", ""), "")
            future = self.final.get(thread)
            if future is not None and not future.done():
                future.set_result(time.monotonic())
        return result


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _start_bot(
    slack_url: str, openai_url: str, db_dir: str
) -> tuple[asyncio.subprocess.Process, str]:
    env = serve_env(
        slack_url=slack_url,
        openai_url=openai_url,
        database_url=f"sqlite+aiosqlite:///{db_dir}/bench.db",
        signing_secret=SECRET,
        MADOGUCHI_HTTP_PORT="38471",
    )
    # BENCH_CPROFILE=FILE runs the bot under cProfile (main thread only) and writes FILE at exit.
    cprofile = os.environ.get("BENCH_CPROFILE")
    profile = ["-m", "cProfile", "-o", cprofile] if cprofile else []
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *profile,
        "-m",
        "bot",
        "serve",
        "--http",
        "--host",
        "127.0.0.1",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
    )
    url = "http://127.0.0.1:38471"
    await wait_ready(proc, url, path="/healthz")
    return proc, url


async def _post(session: aiohttp.ClientSession, url: str, payload: dict[str, Any]) -> float:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", **sign_request(body, SECRET)}
    sent = time.monotonic()
    async with session.post(url + "/slack/events", data=body, headers=headers) as response:
        assert response.status == 200, response.status
    return sent


async def run(
    threads: int, turns: int, light_rate: float = 20.0, light_turns: int = 200
) -> dict[str, Any]:
    """Run the benchmark and return its figures."""
    slack = TrackingSlack()
    await slack.start()
    placeholder_ms: list[float] = []
    turn_ms: list[float] = []
    with tempfile.TemporaryDirectory() as db_dir:
        async with spawn_peer("openai", "--mode", "instant") as openai_url:
            proc, url = await _start_bot(slack.base_url, openai_url, db_dir)
            try:
                connector = aiohttp.TCPConnector(limit=0)
                async with aiohttp.ClientSession(connector=connector) as session:
                    # Warm-up: imports, model loads, first connections.
                    await _conversation(session, url, slack, 1, [], [], "warm")
                    profiler = None
                    if os.environ.get("BENCH_PROFILE"):
                        profiler = await asyncio.create_subprocess_exec(
                            "py-spy", "record", "-p", str(proc.pid), "-o", os.environ["BENCH_PROFILE"],
                            "-f", "raw", "--nonblocking",
                            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                        )
                        await asyncio.sleep(1)
                    # Phase 1, latency: new conversations arriving at a steady rate well below
                    # capacity (open loop), as staff messages do.
                    light_placeholder: list[float] = []
                    light_turn: list[float] = []
                    light = []
                    for i in range(light_turns):
                        light.append(asyncio.create_task(_conversation(
                            session, url, slack, 1, light_placeholder, light_turn, f"l{i}"
                        )))
                        await asyncio.sleep(1 / light_rate)
                    await asyncio.gather(*light)
                    # Phase 2, throughput: N threads, each sending its next message as soon as
                    # the previous answer is final (closed loop, saturating the bot).
                    cpu0, wall0 = _cpu_seconds(proc.pid), time.monotonic()
                    await asyncio.gather(
                        *(
                            _conversation(
                                session, url, slack, turns, placeholder_ms, turn_ms, f"t{i}"
                            )
                            for i in range(threads)
                        )
                    )
                    wall = time.monotonic() - wall0
                    cpu = _cpu_seconds(proc.pid) - cpu0
                    rss = _rss_mb(proc.pid)
                    if profiler is not None:
                        profiler.send_signal(2)
                        await profiler.wait()
            finally:
                proc.terminate()
                await proc.wait()
    await slack.stop()
    total = threads * turns
    return {
        "light_rate_per_s": light_rate,
        "light_placeholder_ms_p50": round(statistics.median(light_placeholder), 1),
        "light_placeholder_ms_p99": round(_pct(light_placeholder, 99), 1),
        "light_turn_ms_p50": round(statistics.median(light_turn), 1),
        "light_turn_ms_p99": round(_pct(light_turn, 99), 1),
        "threads": threads,
        "turns": total,
        "wall_s": round(wall, 2),
        "turns_per_s": round(total / wall, 1),
        "bot_cpu_ms_per_turn": round(cpu / total * 1000, 2),
        "turns_per_cpu_s": round(total / cpu, 1),
        "saturated_placeholder_ms_p50": round(statistics.median(placeholder_ms), 1),
        "saturated_placeholder_ms_p99": round(_pct(placeholder_ms, 99), 1),
        "saturated_turn_ms_p50": round(statistics.median(turn_ms), 1),
        "saturated_turn_ms_p99": round(_pct(turn_ms, 99), 1),
        "bot_rss_mb": round(rss, 1),
    }


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


async def _conversation(
    session: aiohttp.ClientSession,
    url: str,
    slack: TrackingSlack,
    turns: int,
    placeholder_ms: list[float],
    turn_ms: list[float],
    tag: str,
) -> None:
    loop = asyncio.get_running_loop()
    root: str | None = None
    for n in range(turns):
        text = f"{tag} の{n + 1}回目の質問です。来月の防災訓練の案内文を、高齢者にも分かりやすく作ってください。"
        event = (
            app_mention(text, channel=CHANNEL)
            if root is None
            else thread_reply(text, thread_ts=root, channel=CHANNEL)
        )
        thread = root or event["ts"]
        slack.placeholder_at.pop(thread, None)
        slack.final[thread] = loop.create_future()
        sent = await _post(session, url, event_callback(event))
        done = await asyncio.wait_for(slack.final[thread], 60)
        placeholder_ms.append((slack.placeholder_at[thread] - sent) * 1000)
        turn_ms.append((done - sent) * 1000)
        root = thread


def main() -> None:
    """Command line: run and print JSON (add --markdown for a BENCHMARKS.md row)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--light-rate", type=float, default=20.0, help="turns/s in the latency phase")
    parser.add_argument("--light-turns", type=int, default=200)
    args = parser.parse_args()
    result = asyncio.run(run(args.threads, args.turns, args.light_rate, args.light_turns))
    result["machine"] = (
        f"{platform.machine()} {os.cpu_count()} vCPU, Python {platform.python_version()}"
    )
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
