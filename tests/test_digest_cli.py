"""``madoguchi digest --dry-run`` prints the digest; ``--post`` posts it now, once per week."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.peers import FakeSlackAPI
from tests.test_digest_env import digest_posts


async def _madoguchi(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_dry_run_prints_the_digest_and_post_posts_it_once(tmp_path: Path) -> None:
    async with FakeSlackAPI() as slack:
        env = {
            "MADOGUCHI_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "MADOGUCHI_SLACK_API_URL": slack.base_url,
            "MADOGUCHI_DIGEST_CHANNELS": "C0DIGEST",
            "MADOGUCHI_LOG_LEVEL": "WARNING",
        }
        code, out, _ = await _madoguchi("digest", "--dry-run", env=env)
        assert code == 0
        assert "週刊ダイジェスト" in out and "今週のヒント" in out and "回答は必ず確認" in out
        assert digest_posts(slack) == []  # a dry run posts nothing
        code, out, err = await _madoguchi("digest", "--post", env=env)
        assert code == 0, err
        assert out.startswith("C0DIGEST\tposted")
        code, out, _ = await _madoguchi("digest", "--post", env=env)
        assert code == 0 and out.startswith("C0DIGEST\tskipped")  # once per week
        code, out, _ = await _madoguchi(
            "digest", "--post", "--force", "--channel", "C0EXTRA", env=env
        )
        assert code == 0 and out.startswith("C0EXTRA\tposted")
        assert len(digest_posts(slack)) == 1 and len(digest_posts(slack, "C0EXTRA")) == 1
        # The dry run shows the same tip that was posted this week.
        code, out, _ = await _madoguchi("digest", "--dry-run", env=env)
        posted = digest_posts(slack)[0].args["text"]
        tip_title = posted.split("今週のヒント: ")[1].split(" / ")[0]
        assert tip_title in out


async def test_post_without_token_names_the_setting(tmp_path: Path) -> None:
    env = {"MADOGUCHI_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    code, _, err = await _madoguchi("digest", "--post", "--tenant", "T1", env=env)
    assert code == 2 and "SLACK_BOT_TOKEN" in err
    code, out, _ = await _madoguchi("digest", env=env)
    assert code == 0 and "週刊ダイジェスト" in out
