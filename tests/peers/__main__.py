"""Run a peer standalone: ``python -m tests.peers {openai,slack} [options] --port 0``.

Prints ``READY <base_url>`` on stdout once listening and serves until SIGTERM/SIGINT.
Used by ``tests.peers.process.spawn_peer`` to keep the peer's CPU out of the process
being benchmarked; handy by hand too (point a dev bot at it).
"""

from __future__ import annotations

import argparse
import asyncio

from .openai_api import FakeOpenAI
from .process import serve_until_signal
from .slack_api import FakeSlackAPI


async def _run(ns: argparse.Namespace) -> None:
    if ns.peer == "slack":
        slack = FakeSlackAPI(latency=ns.latency)
        await slack.start(ns.host, ns.port)
        await serve_until_signal(slack, slack.base_url)
        return
    llm = FakeOpenAI(
        mode=ns.mode,
        first_token_latency=ns.first_token_latency,
        tokens_per_second=ns.tokens_per_second,
        reply_chars=ns.reply_chars,
        write_interval=ns.write_interval,
    )
    await llm.start(ns.host, ns.port)
    await serve_until_signal(llm, llm.base_url)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve one peer until signalled."""
    p = argparse.ArgumentParser(prog="python -m tests.peers", description=__doc__)
    p.add_argument("peer", choices=["openai", "slack"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--latency", type=float, default=0.0, help="slack: seconds per answer")
    p.add_argument("--mode", choices=["instant", "realistic"], default="instant")
    p.add_argument("--first-token-latency", type=float, default=0.5)
    p.add_argument("--tokens-per-second", type=float, default=30.0)
    p.add_argument("--reply-chars", type=int, default=None)
    p.add_argument("--write-interval", type=float, default=0.0)
    asyncio.run(_run(p.parse_args(argv)))


if __name__ == "__main__":
    main()
