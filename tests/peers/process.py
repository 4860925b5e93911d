"""Run a peer in a child process, for benchmarks.

A peer inside the test's own event loop competes with the bot for the same core; with
1,000 concurrent streams that skews latency numbers. ``spawn_peer`` starts
``python -m tests.peers <peer>`` on an ephemeral port and yields its base URL::

    async with spawn_peer("openai", "--mode", "realistic") as base_url:
        client = AsyncOpenAI(base_url=base_url, api_key="test")

Scripting (``fake.script``) is not available across the process boundary; the child
serves its default responder. ``GET <root>/_peer/stats`` reports counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

_REPO_ROOT = Path(__file__).resolve().parents[2]


async def serve_until_signal(peer: Any, url: str) -> None:
    """Print ``READY <url>`` and serve until SIGTERM/SIGINT, then stop ``peer``."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"READY {url}", flush=True)
    try:
        await stop.wait()
    finally:
        await peer.stop()


@contextlib.asynccontextmanager
async def spawn_peer(peer: str, *args: str, startup_timeout: float = 15.0) -> AsyncIterator[str]:
    """Start ``python -m tests.peers <peer>`` (``"openai"`` or ``"slack"``; ``args`` are its
    CLI options) in a child process; yield the base URL it printed; terminate that process
    on exit."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.peers",
        peer,
        "--port",
        "0",
        *args,
        cwd=str(_REPO_ROOT),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), startup_timeout)
        text = line.decode().strip()
        if not text.startswith("READY "):
            raise RuntimeError(f"peer {peer} failed to start: {text!r}")
        yield text.split(" ", 1)[1]
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()
