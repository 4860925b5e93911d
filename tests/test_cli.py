"""The ``madoguchi`` command: settings errors, terminal chat (real pipeline, local model server),
dry run, database commands."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.terminal import run_chat
from tests.harness import MemoryRecorder
from tests.peers import FakeOpenAI, Reply


def test_invalid_setting_stops_with_one_line_naming_it(monkeypatch, capsys) -> None:
    monkeypatch.setenv("MADOGUCHI_STREAM_UPDATE_INTERVAL", "soon")
    assert main(["db", "current"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "MADOGUCHI_STREAM_UPDATE_INTERVAL" in err


def test_serve_without_tokens_names_the_missing_setting(capsys) -> None:
    assert main(["serve"]) == 2
    assert "SLACK_APP_TOKEN" in capsys.readouterr().err


def test_unknown_default_model_names_the_setting(monkeypatch, capsys) -> None:
    monkeypatch.setenv("MADOGUCHI_DEFAULT_MODEL", "no-such-model")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(Exception, match="MADOGUCHI_DEFAULT_MODEL"):
        main(["chat"])


def test_db_upgrade_and_purge(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MADOGUCHI_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    assert main(["db", "upgrade"]) == 0
    assert "schema at" in capsys.readouterr().out
    assert main(["db", "purge", "--all"]) == 0
    assert "conversations=0" in capsys.readouterr().out


async def _chat(
    tmp_path: Path, lines: str, *, dry_run: bool = False, script=()
) -> tuple[str, FakeOpenAI, MemoryRecorder]:
    async with FakeOpenAI() as model:
        model.script(*script)
        settings = Settings(
            openai_base_url=model.base_url,
            openai_api_key="k",
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}",
        )
        recorder = MemoryRecorder()
        runtime = await build_runtime(settings, recorder=recorder)
        out = io.StringIO()
        try:
            await run_chat(runtime, dry_run=dry_run, stdin=io.StringIO(lines), out=out)
        finally:
            await runtime.aclose()
        return out.getvalue(), model, recorder


async def test_terminal_chat_streams_and_keeps_history(tmp_path: Path) -> None:
    out, model, recorder = await _chat(
        tmp_path,
        "一つ目\n二つ目\n/new\n三つ目\n",
        script=[Reply(text="回答A"), Reply(text="回答B"), Reply(text="回答C")],
    )
    assert "回答A" in out and "回答B" in out and "回答C" in out
    assert "回答モデル: GPT-4o mini" in out
    assert [len(r.messages) for r in model.requests] == [2, 4, 2]  # /new started over
    assert [e.outcome for e in recorder.events] == ["ok", "ok", "ok"]
    # Generated keys live beside the database, readable only by the owner.
    key = tmp_path / ".madoguchi-vault-key"
    assert key.exists() and oct(key.stat().st_mode & 0o777) == "0o600"


async def test_a_multi_line_message_is_one_turn(tmp_path: Path) -> None:
    pasted = '"""\n議事録\n出席者: 山田太郎課長\n議題: 予算\n"""\n'
    out, model, recorder = await _chat(tmp_path, pasted, script=[Reply(text="要約です")])
    [request] = model.requests
    sent = request.messages[-1]["content"]
    assert sent.startswith("議事録\n出席者: ") and sent.endswith("\n議題: 予算")
    assert "山田太郎" not in sent
    assert len(recorder.events) == 1 and "要約です" in out


async def test_dry_run_shows_the_masked_request_and_sends_nothing(tmp_path: Path) -> None:
    out, model, recorder = await _chat(
        tmp_path, "山田太郎さんの電話番号は090-1234-5678です\n", dry_run=True
    )
    assert model.requests == []
    assert "送信はしていません" in out
    assert "090-1234-5678" not in out and "山田太郎" not in out
    assert "<電話番号1>" in out
    assert recorder.events == []


def test_python_dash_m_bot_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 0 and "serve" in result.stdout and "mask" in result.stdout


def test_event_loop_is_not_left_running() -> None:
    # run_chat is driven by asyncio.run in the CLI; make sure nothing leaked a running loop.
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()
