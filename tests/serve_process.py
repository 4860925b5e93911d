"""``madoguchi serve --http`` as a child process wired to local peers: the shutdown tests and the
benchmarks run the bot the way an operator does."""

from __future__ import annotations

import asyncio
import os

import aiohttp


def serve_env(
    *, slack_url: str, openai_url: str, database_url: str, signing_secret: str, **extra: str
) -> dict[str, str]:
    """The environment of a bot process talking to the given Slack and model servers."""
    return {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": signing_secret,
        "MADOGUCHI_SLACK_API_URL": slack_url,
        "OPENAI_BASE_URL": openai_url,
        "OPENAI_API_KEY": "test-key",
        "MADOGUCHI_DATABASE_URL": database_url,
        "MADOGUCHI_VAULT_KEY": "test-vault-key",
        "MADOGUCHI_PSEUDONYM_KEY": "test-pseudonym-key",
        "MADOGUCHI_LOG_LEVEL": "WARNING",
        **extra,
    }


async def wait_ready(
    proc: asyncio.subprocess.Process, url: str, path: str = "/readyz", tries: int = 300
) -> None:
    """Poll ``url + path`` until it answers 200; kill the process and raise if it never does."""
    async with aiohttp.ClientSession() as http:
        for _ in range(tries):
            try:
                async with http.get(url + path) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if proc.returncode is not None:
                break
            await asyncio.sleep(0.1)
    if proc.returncode is None:
        proc.kill()
        await proc.wait()
    raise RuntimeError("madoguchi serve did not start")
