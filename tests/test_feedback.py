"""Feedback buttons under answers, clicked through the real bolt block_actions flow against the
local Slack-compatible server; the clicks land in the database and in the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.reports import build_report
from bot.storage.usage_tables import UsageFeedbackRow
from handlers.feedback import ACTION_BAD, ACTION_GOOD, ACTION_MINUTES, BLOCK_PREFIX
from handlers.sink import _blocks
from tests.harness import SIGNING_SECRET, BotHarness
from tests.peers import Message, Reply, Status, block_actions, dm_message, post_interaction

DM = "D0001"


@pytest.fixture
async def bot(tmp_path: Path, database_url: str):
    async with BotHarness(tmp_path, database_url=database_url) as harness:
        yield harness


async def answered(
    bot: BotHarness, text: str = "議事録を要約して", **kw: Any
) -> tuple[Message, str]:
    """Ask in a DM; return the final answer message and its turn id."""
    event = dm_message(text, **kw)
    await bot.send(event)
    [usage] = (await bot.usage.wait(len(bot.usage.events) + 1))[-1:]
    [answer] = bot.thread(event["channel"], event["ts"])
    return answer, usage.id


def feedback_block(message: Message) -> dict[str, Any] | None:
    return next(
        (b for b in message.blocks or [] if b.get("block_id", "").startswith(BLOCK_PREFIX + ":")),
        None,
    )


async def click(
    bot: BotHarness,
    message: Message,
    action_id: str,
    value: str,
    *,
    user: str = "U0001",
    selected: str | None = None,
) -> None:
    payload = block_actions(
        action_id,
        value=value,
        block_id=f"{BLOCK_PREFIX}:{value[:32]}",
        user=user,
        channel=message.channel,
        message_ts=message.ts,
        message=message.to_api(),
        action_type="static_select" if selected else "button",
    )
    if selected:
        # What Slack sends for a static_select: the chosen option, no value.
        action = payload["actions"][0]
        action.pop("value")
        action["selected_option"] = {"text": {"type": "plain_text", "text": "x"}, "value": selected}

    def is_update(call: Any) -> bool:
        return call.method == "chat.update" and call.args.get("ts") == message.ts

    before = len([c for c in bot.slack.calls if is_update(c)])
    response = await post_interaction(bot.url + "/slack/events", payload, SIGNING_SECRET)
    assert response.status == 200
    if user == "U0001":  # the asker's click updates the message (bolt acks first)
        await bot.slack.wait_for(is_update, count=before + 1)
    else:
        await bot.slack.wait_for("chat.postEphemeral")


async def feedback_rows(bot: BotHarness) -> list[tuple[str, int | None, int | None]]:
    async with bot.runtime.db.session() as session:
        rows = await session.execute(
            select(
                UsageFeedbackRow.event_id, UsageFeedbackRow.rating, UsageFeedbackRow.minutes_saved
            )
        )
        return [tuple(r) for r in rows]


async def test_answer_carries_feedback_controls_with_its_turn_id(bot: BotHarness) -> None:
    answer, turn_id = await answered(bot)
    block = feedback_block(answer)
    assert block is not None and block["type"] == "actions"
    good, bad, minutes = block["elements"]
    assert (good["action_id"], good["value"]) == (ACTION_GOOD, turn_id)
    assert good["text"]["text"] == "👍 役に立った" and bad["action_id"] == ACTION_BAD
    assert minutes["type"] == "static_select"
    assert minutes["placeholder"]["text"] == "この回答で節約できた時間"
    assert [o["text"]["text"] for o in minutes["options"]] == [
        "なし",
        "〜5分",
        "〜15分",
        "〜30分",
        "1時間以上",
    ]
    assert minutes["options"][2]["value"] == f"{turn_id}:15"
    # The answer itself is untouched: section first, notes, then the controls.
    assert answer.blocks[0]["type"] == "section" and answer.blocks[1]["type"] == "context"


async def test_clicks_are_recorded_and_the_message_thanks_the_user(bot: BotHarness) -> None:
    answer, turn_id = await answered(bot)
    section = answer.blocks[0]
    await click(bot, answer, ACTION_GOOD, turn_id)
    assert await feedback_rows(bot) == [(turn_id, 1, None)]
    updated = bot.slack.message(DM, answer.ts)
    assert updated.blocks[0] == section  # the answer is kept as it was
    thanks = next(b for b in updated.blocks if b.get("block_id", "").startswith(BLOCK_PREFIX + "_"))
    assert thanks["elements"][0]["text"] == "ありがとうございます（👍）。"
    # Only the time control is left.
    [remaining] = feedback_block(updated)["elements"]
    assert remaining["action_id"] == ACTION_MINUTES

    await click(bot, updated, ACTION_MINUTES, turn_id, selected=f"{turn_id}:15")
    assert await feedback_rows(bot) == [(turn_id, 1, 15)]
    final = bot.slack.message(DM, answer.ts)
    assert feedback_block(final) is None  # both controls used: no buttons left
    text = json.dumps(final.blocks, ensure_ascii=False)
    assert "フィードバックありがとうございます（👍・節約時間: 〜15分）" in text
    assert final.blocks[0] == section

    report = await build_report(bot.runtime.db, "T0001", "week", current=True, k=1)
    assert report.current.satisfaction == 1.0
    assert report.current.minutes_saved_self == 15 and report.current.feedback_count == 1


async def test_thumbs_down_then_changing_the_rating(bot: BotHarness) -> None:
    answer, turn_id = await answered(bot)
    await click(bot, answer, ACTION_BAD, turn_id)
    assert await feedback_rows(bot) == [(turn_id, -1, None)]
    thanks = json.dumps(bot.slack.message(DM, answer.ts).blocks, ensure_ascii=False)
    assert "ありがとうございます（👎）。" in thanks
    # A rating clicked on an older copy of the message changes it (the latest click wins).
    await click(bot, answer, ACTION_GOOD, turn_id)
    assert await feedback_rows(bot) == [(turn_id, 1, None)]


async def test_only_the_asker_can_give_feedback(bot: BotHarness) -> None:
    answer, turn_id = await answered(bot)
    await click(bot, answer, ACTION_GOOD, turn_id, user="U0002")
    [note] = [e for e in bot.slack.ephemerals if e["user"] == "U0002"]
    assert "質問した方だけ" in note["text"]
    assert await feedback_rows(bot) == []
    assert bot.slack.message(DM, answer.ts).edits == answer.edits  # unchanged


async def test_tampered_values_are_ignored(bot: BotHarness) -> None:
    answer, turn_id = await answered(bot)
    for action_id, value, selected in (
        (ACTION_GOOD, "not-a-turn-id", None),
        (ACTION_MINUTES, turn_id, f"{turn_id}:7"),
        (ACTION_MINUTES, turn_id, "x:15"),
    ):
        payload = block_actions(
            action_id,
            value=value,
            user="U0001",
            channel=DM,
            message_ts=answer.ts,
            message=answer.to_api(),
        )
        if selected:
            payload["actions"][0]["selected_option"] = {"value": selected}
        response = await post_interaction(bot.url + "/slack/events", payload, SIGNING_SECRET)
        assert response.status == 200
    assert await feedback_rows(bot) == []
    assert bot.slack.message(DM, answer.ts).edits == answer.edits


async def test_errors_and_refusals_carry_no_feedback_controls(bot: BotHarness) -> None:
    bot.openai.script(Status(400, code="content_filter"))
    event = dm_message("こんにちは")
    await bot.send(event)
    await bot.usage.wait(1)
    [failed] = bot.thread(DM, event["ts"])
    assert feedback_block(failed) is None
    refused = dm_message("個人番号は123456789018です")
    await bot.send(refused)
    await bot.usage.wait(2)
    [message] = bot.thread(DM, refused["ts"])
    assert feedback_block(message) is None


async def test_long_answers_get_the_controls_on_the_last_part_only(bot: BotHarness) -> None:
    bot.openai.script(Reply(text="長い回答です。" * 600))  # about 4,200 characters
    event = dm_message("長い文書を書いて")
    await bot.send(event)
    [usage] = await bot.usage.wait(1)
    parts = bot.thread(DM, event["ts"])
    assert len(parts) >= 2
    assert [feedback_block(p) is not None for p in parts] == [False] * (len(parts) - 1) + [True]
    assert feedback_block(parts[-1])["elements"][0]["value"] == usage.id


def test_final_blocks_stay_within_slack_limits() -> None:
    from tests.peers.slack_api import validate_blocks

    blocks = _blocks("あ" * 2900, [f"注記{i}" for i in range(12)], "a" * 32)
    validate_blocks(blocks)  # raises on > 50 blocks, section > 3,000 chars, context > 10 …
    assert len(blocks) == 3 and len(blocks[1]["elements"]) == 10
    assert len(_blocks("x", [], None)) == 1
