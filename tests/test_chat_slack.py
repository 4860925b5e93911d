"""The chat slice end to end: signed Slack events into the real slack-bolt AsyncApp over HTTP,
answers streamed into a local Slack-compatible Web API from a local OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from pathlib import Path

import pytest

from tests.harness import BotHarness
from tests.peers import (
    CutStream,
    Hang,
    Reply,
    Status,
    app_mention,
    bot_message,
    dm_message,
    event_callback,
    file_share_message,
    message_changed,
    thread_reply,
)

CHANNEL = "C0001"


@pytest.fixture
async def bot(tmp_path: Path):
    async with BotHarness(tmp_path) as harness:
        yield harness


def final_text(messages) -> str:
    return "".join(m.blocks[0]["text"]["text"] if m.blocks else m.text for m in messages)


async def test_mention_gets_placeholder_then_streamed_answer_in_thread(bot: BotHarness) -> None:
    bot.openai.script(
        Reply(
            text="はい、あいさつ文の案です。\n本日はお集まりいただき…",
            chunk_size=3,
            token_interval=0.02,
        )
    )
    event = app_mention("敬老会のあいさつ文を作ってください")
    response = await bot.send(event)
    assert response.status == 200
    await bot.usage.wait(1)

    posts = bot.slack.calls_to("chat.postMessage")
    assert posts[0].args["text"] == "考え中…"
    assert posts[0].args["thread_ts"] == event["ts"]
    [answer] = bot.thread(CHANNEL, event["ts"])
    assert answer.blocks[0]["text"]["text"] == "はい、あいさつ文の案です。\n本日はお集まりいただき…"
    assert "回答モデル: GPT-4o mini" in json.dumps(answer.blocks, ensure_ascii=False)
    assert answer.edits >= 2  # the placeholder was updated in place while streaming
    [request] = bot.openai.requests
    assert request.stream and request.include_usage
    assert request.messages[-1] == {"role": "user", "content": "敬老会のあいさつ文を作ってください"}
    [usage] = bot.usage.events
    assert (
        usage.outcome == "ok" and usage.model == "gpt-4o-mini" and usage.channel_type == "channel"
    )
    assert usage.output_tokens > 0 and usage.first_token_ms is not None
    assert usage.user_pseudonym != event["user"] and len(usage.user_pseudonym) == 32


async def test_dm_is_answered_in_its_thread(bot: BotHarness) -> None:
    event = dm_message("議事録の要約のコツを教えて")
    await bot.send(event)
    [usage] = await bot.usage.wait(1)
    [answer] = bot.thread(event["channel"], event["ts"])
    assert answer.thread_ts == event["ts"]
    assert usage.channel_type == "dm" and usage.outcome == "ok"


async def test_thread_follow_up_sends_stored_history(bot: BotHarness) -> None:
    bot.openai.script(Reply(text="一つ目の回答です。"), Reply(text="二つ目の回答です。"))
    first = app_mention("一つ目の質問")
    await bot.send(first)
    await bot.usage.wait(1)
    await bot.send(thread_reply("二つ目の質問", thread_ts=first["ts"]))
    await bot.usage.wait(2)
    second_request = bot.openai.requests[1]
    assert [m["role"] for m in second_request.messages] == ["system", "user", "assistant", "user"]
    assert second_request.messages[1]["content"] == "一つ目の質問"
    assert second_request.messages[2]["content"] == "一つ目の回答です。"
    assert second_request.messages[3]["content"] == "二つ目の質問"
    answers = bot.thread(CHANNEL, first["ts"])
    assert [final_text([m]) for m in answers] == ["一つ目の回答です。", "二つ目の回答です。"]


async def test_slack_retry_of_the_same_event_is_answered_once(bot: BotHarness) -> None:
    payload = event_callback(app_mention("再送テスト"))
    first = await bot.send(payload)
    retry = await bot.send(payload, retry_num=1)
    assert first.status == retry.status == 200
    await bot.usage.wait(1)
    await asyncio.sleep(0.3)
    assert len(bot.openai.requests) == 1
    assert len(bot.thread(CHANNEL, payload["event"]["ts"])) == 1


async def test_two_instances_sharing_a_database_answer_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    async with (
        BotHarness(tmp_path / "a", database_url=url) as one,
        BotHarness(tmp_path / "b", database_url=url) as two,
    ):
        payload = event_callback(app_mention("二重配信テスト"))
        await asyncio.gather(one.send(payload), two.send(payload))
        await asyncio.sleep(0.5)
        answered = len(one.usage.events) + len(two.usage.events)
        assert answered == 1
        assert len(one.openai.requests) + len(two.openai.requests) == 1


@pytest.mark.parametrize(
    "event",
    [
        bot_message("別のボットの投稿", channel="D0001", channel_type="im"),
        message_changed(
            "編集後の本文", original_ts="1700000000.000001", channel="D0001", channel_type="im"
        ),
        thread_reply("ボットのいないスレッドへの返信", thread_ts="1600000000.000001"),
        {
            "type": "message",
            "channel": CHANNEL,
            "channel_type": "channel",
            "user": "U0USER1",
            "text": "スレッド外の雑談",
            "ts": "1700000001.000001",
        },
    ],
    ids=["bot_message", "message_changed", "foreign_thread", "top_level_chatter"],
)
async def test_ignored_messages(bot: BotHarness, event: dict) -> None:
    response = await bot.send(event)
    assert response.status == 200
    await asyncio.sleep(0.3)
    assert bot.openai.requests == []
    assert bot.slack.calls_to("chat.postMessage") == []


async def test_own_messages_are_ignored(bot: BotHarness) -> None:
    own = dm_message("ボット自身の投稿", user=bot.slack.bot.user_id)
    await bot.send(own)
    await asyncio.sleep(0.3)
    assert bot.openai.requests == []


async def test_rate_limited_update_is_retried_after_retry_after(bot: BotHarness) -> None:
    bot.openai.script(Reply(text="あ" * 200, chunk_size=5, token_interval=0.01))
    bot.slack.fail_next("chat.update", times=1, status=429, retry_after=1)
    event = app_mention("429 のテスト")
    await bot.send(event)
    await bot.usage.wait(1)
    updates = bot.slack.calls_to("chat.update")
    limited = [c for c in updates if not c.ok]
    assert len(limited) == 1
    later = [c for c in updates if c.time > limited[0].time]
    assert later and later[0].time - limited[0].time >= 0.95
    [answer] = bot.thread(CHANNEL, event["ts"])
    assert answer.blocks[0]["text"]["text"] == "あ" * 200


async def test_long_answer_is_split_into_follow_up_posts(tmp_path: Path) -> None:
    paragraphs = [
        f"第{i}項。" + "市民サービスの向上に向けた取組を説明します。" * 12 for i in range(25)
    ]
    text = "\n\n".join(paragraphs)
    # gpt-4.1-mini's catalog entry allows 8,192 output tokens: the whole answer fits.
    async with BotHarness(tmp_path, default_model="gpt-4.1-mini") as bot:
        bot.openai.script(Reply(text=text, chunk_size=400))
        event = app_mention("長い回答のテスト")
        await bot.send(event)
        await bot.usage.wait(1)
        answers = bot.thread(CHANNEL, event["ts"])
        assert len(answers) >= 3
        assert all(len(m.text) <= 3000 for m in answers)
        assert final_text(answers).replace("\n", "") == text.replace("\n", "")
        assert bot.slack.calls_to("chat.postMessage")[0].args["text"] == "考え中…"


async def test_answer_cut_at_the_output_limit_says_so(bot: BotHarness) -> None:
    bot.openai.script(Reply(text="途中までの回答", finish_reason="length"))
    event = app_mention("とても長い文書を書いて")
    await bot.send(event)
    await bot.usage.wait(1)
    [answer] = bot.thread(CHANNEL, event["ts"])
    assert "上限に達した" in json.dumps(answer.blocks, ensure_ascii=False)


@pytest.mark.parametrize(
    ("actions", "expected", "kind"),
    [
        ([Status(500)] * 3, "モデル側でエラーが起きた", "server_error"),
        ([Status(429, retry_after=0.01)] * 3, "混み合っている", "rate_limited"),
        ([Status(400, code="context_length_exceeded")], "上限を超えた", "context_too_long"),
        ([Hang(3.0)] * 3, "時間内に返ってきませんでした", "timeout"),
    ],
    ids=["5xx", "429", "context", "timeout"],
)
async def test_model_errors_are_explained_in_the_thread(
    tmp_path: Path, actions, expected, kind
) -> None:
    async with BotHarness(tmp_path, model_timeout=0.5, model_max_retries=2) as bot:
        bot.openai.script(*actions)
        event = app_mention("エラーのテスト")
        await bot.send(event)
        [usage] = await bot.usage.wait(1, timeout=20)
        [message] = bot.thread(CHANNEL, event["ts"])
        assert expected in message.text and ":warning:" in message.text
        assert usage.outcome == "error" and usage.error_kind == kind


async def test_model_429_then_success_is_answered_once(bot: BotHarness) -> None:
    bot.openai.script(Status(429, retry_after=0.01), Reply(text="混雑が解消しました。"))
    event = app_mention("リトライのテスト")
    await bot.send(event)
    [usage] = await bot.usage.wait(1)
    assert usage.outcome == "ok"
    assert len(bot.openai.requests) == 2
    assert final_text(bot.thread(CHANNEL, event["ts"])) == "混雑が解消しました。"


async def test_cut_stream_keeps_the_partial_answer_and_says_so(bot: BotHarness) -> None:
    bot.openai.script(
        CutStream(after_chunks=3, reply=Reply(text="途中まで届いた回答です。続きは", chunk_size=4))
    )
    event = app_mention("切断のテスト")
    await bot.send(event)
    [usage] = await bot.usage.wait(1)
    [message] = bot.thread(CHANNEL, event["ts"])
    assert message.text.startswith("途中まで")
    assert "途中で接続が切れました" in message.text
    assert usage.outcome == "error"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (app_mention(""), "メッセージが空のようです"),
        (file_share_message("", channel_type="im"), "ファイルの内容はまだ読み取れません"),
    ],
    ids=["empty", "file_only"],
)
async def test_bad_input_gets_a_japanese_message(
    bot: BotHarness, event: dict, expected: str
) -> None:
    await bot.send(event)
    [usage] = await bot.usage.wait(1)
    [message] = bot.thread(event["channel"], event.get("thread_ts") or event["ts"])
    assert expected in message.text
    assert usage.outcome == "refused"
    assert bot.openai.requests == []


async def test_message_too_long_for_the_model_is_explained(tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(
        "models:\n  - id: small\n    display_name: 小さなモデル\n    context_window: 2000\n"
        "    max_output_tokens: 500\n",
        encoding="utf-8",
    )
    async with BotHarness(tmp_path, models_file=models, default_model="small") as bot:
        event = app_mention("長い資料です。" * 600)
        await bot.send(event)
        [usage] = await bot.usage.wait(1)
        [message] = bot.thread(CHANNEL, event["ts"])
        assert "長すぎる" in message.text and "小さなモデル" in message.text
        assert "4,200文字" in message.text or "約4,2" in message.text
        assert "回程度に分けて" in message.text
        assert usage.outcome == "refused" and usage.error_kind == "too_long"
        assert bot.openai.requests == []


async def test_malformed_and_unsigned_requests_are_rejected_without_crashing(
    bot: BotHarness,
) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.post(
            bot.url + "/slack/events", data=b"{not json", headers={"Content-Type": "application/json"}
        ) as response:
            assert response.status == 400
        unsigned = json.dumps(event_callback(app_mention("署名なし"))).encode()
        async with session.post(
            bot.url + "/slack/events", data=unsigned, headers={"Content-Type": "application/json"}
        ) as response:
            assert response.status == 401  # refused by the signature check
    from tests.peers import post_event

    bad = await post_event(bot.url + "/slack/events", "not-a-form=&&", "test-signing-secret")
    assert bad.status in (200, 400, 404)
    ok = await bot.send(app_mention("その後も動く"))
    assert ok.status == 200
    await bot.usage.wait(1)
    assert len(bot.openai.requests) == 1  # only the signed request reached the model


async def test_logs_never_contain_the_message_or_the_answer(tmp_path: Path) -> None:
    from bot.logs import configure_logging

    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    try:
        async with BotHarness(tmp_path) as bot:
            bot.openai.script(Reply(text="秘密の回答ぶんしょうXYZ"))
            await bot.send(app_mention("秘密の相談ないようABC"))
            await bot.usage.wait(1)
    finally:
        logging.getLogger().handlers.clear()
    logs = stream.getvalue()
    assert "turn.done" in logs
    assert "秘密の相談ないようABC" not in logs and "秘密の回答ぶんしょうXYZ" not in logs


async def test_healthz_and_metrics(bot: BotHarness) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.get(bot.url + "/healthz") as response:
            assert response.status == 200 and (await response.json())["status"] == "ok"
        async with session.get(bot.url + "/metrics") as response:
            assert response.status == 200
            assert "madoguchi_turns_total" in await response.text()


async def test_ack_is_immediate_while_the_answer_streams(bot: BotHarness) -> None:
    bot.openai.script(Reply(text="ゆっくり答えます。", first_token_delay=1.5))
    started = time.monotonic()
    response = await bot.send(app_mention("遅いモデル"))
    assert response.status == 200
    assert time.monotonic() - started < 1.0  # acked long before the model answered
    await bot.usage.wait(1)


async def test_native_streaming_streams_markdown_and_stops_with_controls(tmp_path: Path) -> None:
    async with BotHarness(tmp_path, slack_native_streaming=True) as bot:
        bot.openai.script(
            Reply(text="**手順**は次のとおりです。\n1. 申請書を受け付ける", chunk_size=4, token_interval=0.02)
        )
        event = app_mention("手続きの流れを教えて")
        await bot.send(event)
        [usage] = await bot.usage.wait(1)
        [start] = bot.slack.calls_to("chat.startStream")
        assert start.args["thread_ts"] == event["ts"]
        assert start.args["recipient_user_id"] == event["user"]
        appends = bot.slack.calls_to("chat.appendStream")
        assert len(appends) >= 2  # streamed in pieces, not in one go
        [stop] = bot.slack.calls_to("chat.stopStream")
        [message] = bot.thread(CHANNEL, event["ts"])
        assert message.stream_state == "completed"
        assert message.text == "**手順**は次のとおりです。\n1. 申請書を受け付ける"
        assert "回答モデル" in json.dumps(stop.args["blocks"], ensure_ascii=False)
        assert usage.outcome == "ok"
        assert bot.slack.calls_to("chat.postMessage") == []


async def test_native_streaming_appends_nothing_twice_when_the_answer_ends_mid_append(
    tmp_path: Path,
) -> None:
    """The model finishes while an append is on its way to Slack: the final append must not
    send that piece again (a cancelled call may already have been applied by Slack)."""
    async with BotHarness(tmp_path, slack_native_streaming=True) as bot:
        bot.slack.set_reply_latency("chat.appendStream", 0.3)
        text = "**手順**は次のとおりです。\n1. 申請書を受け付ける\n2. 内容を確認する"
        bot.openai.script(Reply(text=text, chunk_size=4, token_interval=0.02))
        event = app_mention("手続きの流れを教えて")
        await bot.send(event)
        [usage] = await bot.usage.wait(1)
        [message] = bot.thread(CHANNEL, event["ts"])
        assert message.stream_state == "completed"
        assert message.text == text
        assert usage.outcome == "ok"


async def test_native_streaming_shows_errors_in_the_stream(tmp_path: Path) -> None:
    async with BotHarness(tmp_path, slack_native_streaming=True, model_max_retries=0) as bot:
        bot.openai.script(Status(500))
        event = dm_message("エラーになる質問")
        await bot.send(event)
        await bot.usage.wait(1)
        [message] = bot.thread(event["channel"], event["ts"])
        assert message.stream_state == "completed"
        assert "モデル側でエラーが起きた" in message.text


async def test_a_reply_after_a_refusal_in_the_thread_is_answered(bot: BotHarness) -> None:
    empty = app_mention("")
    await bot.send(empty)
    await bot.usage.wait(1)
    await bot.send(thread_reply("改めて質問します。会議の案内文を作って", thread_ts=empty["ts"]))
    events = await bot.usage.wait(2)
    assert [e.outcome for e in events] == ["refused", "ok"]
    assert len(bot.openai.requests) == 1


async def test_answers_streaming_at_once_share_the_update_budget(tmp_path: Path) -> None:
    """Slack limits chat.update per workspace: with a budget of 4 updates/s, five answers
    streaming together are edited about every 1.25 s each instead of every 0.05 s, and every
    answer still ends complete."""
    text = "はい、" + "ご案内します。" * 6  # 45 characters, 0.05 s apart: about 2.2 s
    async with BotHarness(tmp_path, stream_update_interval=0.05, slack_update_rate=4) as bot:
        bot.openai.script(*[Reply(text=text, chunk_size=1, token_interval=0.05)] * 5)
        started = time.monotonic()
        events = [app_mention(f"質問{i}", user=f"U{i:04d}") for i in range(5)]
        await asyncio.gather(*(bot.send(e) for e in events))
        await bot.usage.wait(5)
        elapsed = time.monotonic() - started
        intermediate = [c for c in bot.slack.calls_to("chat.update") if not c.args.get("blocks")]
        for event in events:
            assert final_text(bot.thread(CHANNEL, event["ts"])) == text
    # The budget holds (with one update per answer of slack for the moment it was shared).
    assert len(intermediate) <= 5 + 4 * elapsed


async def test_a_lone_answer_streams_at_the_shortest_interval(tmp_path: Path) -> None:
    text = "はい、" + "ご案内します。" * 6
    async with BotHarness(tmp_path, stream_update_interval=0.05, slack_update_rate=0) as bot:
        bot.openai.script(Reply(text=text, chunk_size=1, token_interval=0.05))
        event = app_mention("質問")
        await bot.send(event)
        await bot.usage.wait(1)
        intermediate = [c for c in bot.slack.calls_to("chat.update") if not c.args.get("blocks")]
    assert len(intermediate) >= 15  # ~2.2 s of streaming at one update per 0.05 s or so


async def test_the_turn_log_line_says_where_the_time_went_by_stage(tmp_path: Path) -> None:
    """Operators see each stage's milliseconds in turn.done (numbers only, never text) and in
    the madoguchi_stage_seconds histogram."""
    import aiohttp

    from bot.logs import configure_logging

    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        async with BotHarness(tmp_path) as bot:
            await bot.send(app_mention("議事録の要約のコツを教えて"))
            await bot.usage.wait(1)
            async with aiohttp.ClientSession() as http, http.get(bot.url + "/metrics") as response:
                metrics_text = await response.text()
    finally:
        logging.getLogger().handlers.clear()
    done = next(
        json.loads(line) for line in stream.getvalue().splitlines() if '"turn.done"' in line
    )
    stages = done["stage_ms"]
    assert {"lock", "start", "access", "model", "masking", "budget", "call", "unmask"} <= set(stages)
    assert all(isinstance(ms, int) and ms >= 0 for ms in stages.values())
    assert 'madoguchi_stage_seconds_count{stage="call"}' in metrics_text
