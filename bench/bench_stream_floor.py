"""The floor under bench_load: what streaming the answers alone costs, with no bot around it.

N readers in one process (on uvloop, like a bot instance) ask the realistic model peer of
bench_load (first token after 0.5 s, then 30 tokens/s) for an answer, read it to the end and ask
again at once, for ``--seconds``: N answers streaming at all times, as bench_load's
conversations without a think time. Two readers:

* ``raw``: aiohttp reading the body and nothing else, the least any client can do;
* ``bot``: ``bot.llm.stream_chat``, the bot's own reader (the openai SDK's request, SSE parsing).

Reported per N and reader: answers per second; the CPU of the reader process and of the model
peer, in cores (of this machine's 2); the time from request to the first text and to the end of
the answer, p50 / p99 (the peer's own schedule is 0.5 s and about 9.1 s: compare with a low N).
No Slack, no database, no masking: if a level does not fit the machine here, the bot cannot fit
it either.

    .venv/bin/python -m bench.bench_stream_floor --n 250 500 1000 --reader raw bot
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.bench_load import _cpu_seconds, _pct, _spawn

REPO = Path(__file__).resolve().parents[1]
MESSAGES = [{"role": "user", "content": "住民説明会のあいさつ文を300字程度でお願いします。"}]


async def _read_raw(session: Any, url: str) -> float:
    """One answer through plain aiohttp; returns when its first byte arrived."""
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True}
    first = 0.0
    headers = {"Authorization": "Bearer test-key"}
    async with session.post(url + "/chat/completions", json=body, headers=headers) as response:
        response.raise_for_status()
        async for _data in response.content.iter_any():
            if not first:
                first = time.monotonic()
    return first


async def _read_bot(client: Any, model: Any) -> float:
    """One answer through the bot's reader; returns when its first text arrived."""
    from bot.llm import stream_chat

    first = 0.0
    async for event in stream_chat(client, model, MESSAGES):
        if event.delta and not first:
            first = time.monotonic()
    return first


async def _readers(reader: str, url: str, n: int, seconds: float) -> dict[str, Any]:
    import aiohttp

    from bot.catalog import ModelCatalog
    from bot.llm import ModelClients
    from bot.settings import Settings

    firsts: list[float] = []
    ends: list[float] = []
    answers = 0
    stop_at = time.monotonic() + seconds
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    clients = ModelClients(Settings(openai_base_url=url, openai_api_key="test-key"))
    model = ModelCatalog.load("gpt-4o-mini").default
    client = clients.for_model(model)

    async def loop_one(i: int) -> None:
        nonlocal answers
        # Started over N/100 s, as bench_load's conversations are: no burst of N at once.
        await asyncio.sleep(i / 100)
        while time.monotonic() < stop_at:
            sent = time.monotonic()
            if reader == "raw":
                first = await _read_raw(session, url)
            else:
                first = await _read_bot(client, model)
            firsts.append(first - sent)
            ends.append(time.monotonic() - sent)
            answers += 1

    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.gather(*(loop_one(i) for i in range(n)))
    wall = time.monotonic() - wall0
    cpu = time.process_time() - cpu0
    await session.close()
    await clients.aclose()
    firsts_ms = [d * 1000 for d in firsts]
    ends_ms = [d * 1000 for d in ends]
    return {
        "answers": answers,
        "wall": wall,
        "cpu": cpu,
        "first_ms_p50_p99": [round(_pct(firsts_ms, 50)), round(_pct(firsts_ms, 99))],
        "answer_ms_p50_p99": [round(_pct(ends_ms, 50)), round(_pct(ends_ms, 99))],
    }


async def run_level(n: int, reader: str, seconds: float) -> dict[str, Any]:
    """One level: a fresh peer, one reader process with ``n`` readers."""
    peer, url = await _spawn("--serve-openai", "--reply-chars", "240", "--write-interval", "0.1")
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.bench_stream_floor",
            "--child",
            reader,
            url,
            str(n),
            str(seconds),
            cwd=str(REPO),
            stdout=asyncio.subprocess.PIPE,
        )
        peer_cpu0 = _cpu_seconds(peer.pid)
        out, _ = await proc.communicate()
        peer_cpu = _cpu_seconds(peer.pid) - peer_cpu0
    finally:
        peer.terminate()
        await peer.wait()
    child = json.loads(out.decode().strip().rsplit("\n", 1)[-1])
    return {
        "n": n,
        "reader": reader,
        "answers_per_s": round(child["answers"] / child["wall"], 1),
        "reader_cores": round(child["cpu"] / child["wall"], 2),
        "peer_cores": round(peer_cpu / child["wall"], 2),
        "reader_cpu_ms_per_answer": round(1000 * child["cpu"] / max(1, child["answers"]), 2),
        "first_ms_p50_p99": child["first_ms_p50_p99"],
        "answer_ms_p50_p99": child["answer_ms_p50_p99"],
    }


def main() -> None:
    """Run the levels (or, with ``--child``, be the reader process of one)."""
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        import uvloop

        reader, url, n, seconds = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
        result = uvloop.run(_readers(reader, url, n, seconds))
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, nargs="+", default=[250, 500, 1000])
    parser.add_argument("--reader", nargs="+", choices=["raw", "bot"], default=["raw", "bot"])
    parser.add_argument("--seconds", type=float, default=40.0)
    args = parser.parse_args()
    rows = []
    for n in args.n:
        for reader in args.reader:
            row = asyncio.run(run_level(n, reader, args.seconds))
            print(json.dumps(row), flush=True)
            rows.append(row)
    print(
        "\n| N | reader | answers/s | reader cores | peer cores | reader CPU/answer (ms) |"
        " first text p50 / p99 (ms) | whole answer p50 / p99 (ms) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['n']} | {r['reader']} | {r['answers_per_s']} | {r['reader_cores']} |"
            f" {r['peer_cores']} | {r['reader_cpu_ms_per_answer']} |"
            f" {r['first_ms_p50_p99'][0]} / {r['first_ms_p50_p99'][1]} |"
            f" {r['answer_ms_p50_p99'][0]} / {r['answer_ms_p50_p99'][1]} |"
        )


if __name__ == "__main__":
    main()
