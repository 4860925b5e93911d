"""Admin settings acting on real turns: signed events and commands into the bolt app, answers
from the local OpenAI-compatible server — which model is called (or that none is)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.admin import CONSENT_ACTION
from tests.harness import BotHarness
from tests.peers import Reply, app_mention, dm_message, thread_reply
from tests.test_admin_support import (
    OTHER,
    STAFF,
    admin_bot,
    buttons,
    command,
    models_file,
    press,
    staff,
)

DM = "D0001"


@pytest.fixture
async def bot(tmp_path: Path):
    async with admin_bot(tmp_path) as harness:
        yield harness


def shown(bot: BotHarness, channel: str, ts: str) -> str:
    """Everything the bot shows in a thread (text, blocks, notes) as one string."""
    return json.dumps([[m.text, m.blocks] for m in bot.thread(channel, ts)], ensure_ascii=False)


async def ask(bot: BotHarness, event: dict, turns: int) -> None:
    await bot.send(event)
    await bot.usage.wait(turns)


async def test_a_disabled_model_is_never_called_and_its_thread_goes_on(bot: BotHarness) -> None:
    await command(bot, "models default gpt-4o")
    first = dm_message("一つ目の質問")
    await ask(bot, first, 1)
    assert bot.openai.requests[-1].model == "gpt-4o"

    await command(bot, "models default gpt-4o-mini")
    await command(bot, "models disable gpt-4o")
    await ask(
        bot, thread_reply("続きの質問", thread_ts=first["ts"], channel=DM, channel_type="im"), 2
    )
    await ask(bot, dm_message("新しい質問"), 3)
    assert [r.model for r in bot.openai.requests] == ["gpt-4o", "gpt-4o-mini", "gpt-4o-mini"]
    # The thread that used it continues on the default, with a one-line notice.
    assert "「GPT-4o」は利用できなくなったため、「GPT-4o mini」で回答しています" in shown(
        bot, DM, first["ts"]
    )
    # A staff member cannot pick it any more either: listing and use come from one policy.
    refused = await staff(bot, "model gpt-4o", channel=DM)
    assert "「gpt-4o」はここでは使えません" in refused["text"]
    listing = await staff(bot, "model", channel=DM)
    assert "GPT-4o" not in [b["text"]["text"] for b in buttons(listing)]


async def test_channel_model_list_limits_that_channel_only(bot: BotHarness) -> None:
    await command(bot, "models channel <#C0002|zeimu> gpt-4.1-mini")
    await ask(bot, app_mention("税務課での質問", channel="C0002"), 1)
    await ask(bot, app_mention("ほかのチャンネルでの質問", channel="C0001"), 2)
    assert [r.model for r in bot.openai.requests] == ["gpt-4.1-mini", "gpt-4o-mini"]
    listing = await staff(bot, "model", channel="C0002")
    labels = [b["text"]["text"] for b in buttons(listing)]
    assert labels == ["GPT-4.1 mini", "既定に戻す"]
    refused = await staff(bot, "model gpt-4o", channel="C0002")
    assert "ここでは使えません" in refused["text"] and "gpt-4.1-mini" in refused["text"]


async def test_staff_pick_a_model_with_a_button(bot: BotHarness) -> None:
    listing = await staff(bot, "model", channel=DM)
    [pick] = [b for b in buttons(listing) if b["text"]["text"] == "GPT-4.1 mini"]
    answer = await press(bot, pick["action_id"], pick["value"], channel=DM)
    assert answer is not None and "「GPT-4.1 mini」が回答します" in answer["text"]
    await ask(bot, dm_message("選んだモデルで答えて"), 1)
    assert bot.openai.requests[-1].model == "gpt-4.1-mini"
    assert "既定のモデルが回答します" in (await staff(bot, "model auto", channel=DM))["text"]
    await ask(bot, dm_message("既定に戻った？"), 2)
    assert bot.openai.requests[-1].model == "gpt-4o-mini"
    # A disabled model cannot be picked.
    assert "ここでは使えません" in (await staff(bot, "model gpt-4.1", channel=DM))["text"]


async def test_consent_gate_blocks_the_first_call_until_the_button_is_pressed(
    bot: BotHarness,
) -> None:
    await command(
        bot, "consent text 「個人情報を入力しない」「回答は必ず確認する」「著作権に注意」"
    )
    await command(bot, "consent on")
    first = dm_message("はじめての質問")
    await bot.send(first)
    [refused] = await bot.usage.wait(1)
    assert refused.outcome == "refused" and refused.error_kind == "consent_required"
    assert bot.openai.requests == []
    [prompt] = bot.thread(DM, first["ts"])
    assert "「個人情報を入力しない」" in prompt.text and "第2版" in prompt.text
    [button] = buttons({"blocks": prompt.blocks})
    assert button["action_id"] == CONSENT_ACTION and button["text"]["text"] == "同意して利用する"

    # Someone else's press records their own consent, not the asker's.
    await press(bot, CONSENT_ACTION, button["value"], user=OTHER, channel=DM)
    await ask(bot, dm_message("まだ同意していない"), 2)
    assert bot.openai.requests == []

    answer = await press(bot, CONSENT_ACTION, button["value"], channel=DM)
    assert answer is not None and "同意を記録しました" in answer["text"]
    await ask(bot, dm_message("同意後の質問"), 3)
    assert len(bot.openai.requests) == 1
    assert bot.usage.events[-1].outcome == "ok"

    # A new version of the guideline asks again; a press on the old version does not count.
    await command(bot, "consent renew")
    await ask(bot, dm_message("改訂後の質問"), 4)
    assert bot.usage.events[-1].error_kind == "consent_required"
    stale = await press(bot, CONSENT_ACTION, button["value"], channel=DM)
    assert stale is not None and "更新されています" in stale["text"]
    assert len(bot.openai.requests) == 1


async def test_user_quota_warns_refuses_then_falls_back_to_the_economy_model(
    tmp_path: Path,
) -> None:
    async with admin_bot(tmp_path, models_file=models_file(tmp_path)) as bot:
        bot.openai.script(
            Reply(text="一つ目", usage=(70, 10)),
            Reply(text="二つ目", usage=(70, 10)),
            Reply(text="エコノミーで", usage=(70, 10)),
        )
        await command(bot, "quota user tokens 100")
        first = dm_message("一つ目の質問")
        await ask(bot, first, 1)
        second = dm_message("二つ目の質問")
        await ask(bot, second, 2)
        # Used 80 of 100 before the second turn: the answer says what is left.
        assert "本日のあなたの利用上限の80%を使いました（残り約20トークン" in shown(
            bot, DM, second["ts"]
        )
        third = dm_message("三つ目の質問")
        await ask(bot, third, 3)
        assert len(bot.openai.requests) == 2
        assert bot.usage.events[-1].error_kind == "quota_exceeded"
        tomorrow = datetime.now(ZoneInfo("Asia/Tokyo")) + timedelta(days=1)
        refusal = shown(bot, DM, third["ts"])
        assert "本日のあなたの利用上限（100トークン）に達したため、送信しませんでした" in refusal
        assert f"{tomorrow.month}月{tomorrow.day}日 0:00（日本時間）にリセットされます" in refusal

        await command(bot, "quota economy economy")
        fourth = dm_message("四つ目の質問")
        await ask(bot, fourth, 4)
        assert bot.openai.requests[-1].model == "economy"
        assert "エコノミーモデル「エコノミー」で回答しています" in shown(bot, DM, fourth["ts"])
        # Switched off, the economy model is not used either: the turn is refused.
        await command(bot, "models disable economy")
        await ask(bot, dm_message("五つ目の質問"), 5)
        assert len(bot.openai.requests) == 3
        assert bot.usage.events[-1].error_kind == "quota_exceeded"


async def test_department_budget_counts_every_member(tmp_path: Path) -> None:
    async with admin_bot(tmp_path) as bot:
        bot.slack.add_usergroup("S0SHIMIN", [STAFF, OTHER])
        bot.openai.script(Reply(text="同僚の回答", usage=(100, 20)))
        await command(bot, "quota dept <!subteam^S0SHIMIN|@shimin> tokens 100")
        await ask(bot, dm_message("同僚の質問", user=OTHER, channel="D0002"), 1)
        mine = dm_message("わたしの質問")
        await ask(bot, mine, 2)
        assert len(bot.openai.requests) == 1
        refusal = shown(bot, DM, mine["ts"])
        assert "@shimin の今月の利用上限" not in refusal  # no stray spaces in the label
        assert "@shiminの今月の利用上限（100トークン）に達したため" in refusal
        first_of_next = (
            datetime.now(ZoneInfo("Asia/Tokyo")).replace(day=28) + timedelta(days=4)
        ).replace(day=1)
        assert f"{first_of_next.month}月1日 0:00" in refusal
        # Someone outside the department is not limited by it.
        await ask(bot, dm_message("ほかの部署", user="U0999", channel="D0999"), 3)
        assert len(bot.openai.requests) == 2


async def test_a_tier_2_thread_never_reaches_a_tier_1_model(tmp_path: Path) -> None:
    async with admin_bot(tmp_path, models_file=models_file(tmp_path)) as bot:
        declared = await staff(bot, "tier 2", channel=DM)
        assert "機密性区分2として扱います" in declared["text"] and "庁内LLM" in declared["text"]
        first = dm_message("庁内限りの資料について")
        await ask(bot, first, 1)
        assert bot.openai.requests[-1].model == "closed-llm"
        answer = shown(bot, DM, first["ts"])
        assert "機密性区分2のスレッド" in answer and "回答モデル: 庁内LLM" in answer

        # Declaring tier 1 later does not lower a thread that already holds tier-2 text.
        await staff(bot, "tier 1", channel=DM)
        reply = thread_reply("続き", thread_ts=first["ts"], channel=DM, channel_type="im")
        await ask(bot, reply, 2)
        assert bot.openai.requests[-1].model == "closed-llm"
        await ask(bot, dm_message("区分1の新しい質問"), 3)
        assert bot.openai.requests[-1].model == "gpt-4o-mini"

        # With the only tier-2 model switched off, the bot says so instead of sending.
        await command(bot, "models disable closed-llm")
        last = thread_reply("さらに続き", thread_ts=first["ts"], channel=DM, channel_type="im")
        await ask(bot, last, 4)
        assert [r.model for r in bot.openai.requests] == ["closed-llm", "closed-llm", "gpt-4o-mini"]
        assert bot.usage.events[-1].error_kind == "tier_no_model"
        assert "区分2の情報を送信してよいモデルが許可されていないため" in shown(
            bot, DM, first["ts"]
        )


async def test_tier_buttons_declare_the_tier(tmp_path: Path) -> None:
    async with admin_bot(tmp_path, models_file=models_file(tmp_path)) as bot:
        shown_tiers = await staff(bot, "tier", channel=DM)
        [tier3] = [b for b in buttons(shown_tiers) if b["text"]["text"] == "区分3"]
        answer = await press(bot, tier3["action_id"], tier3["value"], channel=DM)
        assert (
            answer is not None
            and "区分3の情報を送信してよいモデルが許可されていない" in answer["text"]
        )
        await ask(bot, dm_message("区分3の質問"), 1)
        assert bot.openai.requests == []
        assert bot.usage.events[-1].error_kind == "tier_no_model"


async def test_custom_terms_are_masked_or_block_the_message(bot: BotHarness) -> None:
    await command(bot, "terms add アオゾラ計画")
    await command(bot, "terms add 極秘案件 block")
    bot.openai.script(lambda req: Reply(text=req.last_user_text.replace("の進め方", "について")))
    first = dm_message("あおぞら計画の進め方")  # the hiragana spelling of the term
    await ask(bot, first, 1)
    sent = bot.openai.requests[0].messages[-1]["content"]
    assert "あおぞら計画" not in sent and "<機密語1>" in sent
    assert "あおぞら計画について" in shown(bot, DM, first["ts"])  # restored for the user
    blocked = dm_message("ＧＯＫＵＨＩ？ いいえ、極秘案件の件です")
    await ask(bot, blocked, 2)
    assert len(bot.openai.requests) == 1
    assert bot.usage.events[-1].error_kind == "blocked"
    assert "送信が禁止された語" in shown(bot, DM, blocked["ts"])


async def test_masking_policy_per_model_reaches_the_masking_stage(bot: BotHarness) -> None:
    await command(bot, "policy PHONE block")
    await command(bot, "policy PHONE mask model gpt-4.1-mini")
    await ask(bot, dm_message("電話番号は090-1234-5678です"), 1)
    assert bot.openai.requests == [] and bot.usage.events[-1].error_kind == "blocked"
    await staff(bot, "model gpt-4.1-mini", channel=DM)
    await ask(bot, dm_message("電話番号は090-1234-5678です"), 2)
    sent = bot.openai.requests[0].messages[-1]["content"]
    assert "090-1234-5678" not in sent and "<電話番号1>" in sent


async def test_access_only_for_listed_groups_and_channels(bot: BotHarness) -> None:
    await command(bot, "access only <!subteam^S0DX|@dx> <#C0AI|ai-trial>")
    denied = dm_message("使えますか")
    await ask(bot, denied, 1)
    assert bot.usage.events[-1].error_kind == "access_denied"
    assert "利用する権限がありません" in shown(bot, DM, denied["ts"])
    await ask(bot, app_mention("試行チャンネルなら", channel="C0AI", user=OTHER), 2)
    assert len(bot.openai.requests) == 1
    bot.slack.add_usergroup("S0DX", [STAFF])
    await ask(bot, dm_message("グループに入りました"), 3)
    assert len(bot.openai.requests) == 2 and bot.usage.events[-1].outcome == "ok"


async def test_forget_deletes_the_users_threads_and_vaults_now(bot: BotHarness) -> None:
    store = bot.runtime.store
    first, second = dm_message("佐藤一郎さんの件"), dm_message("別の件")
    await ask(bot, first, 1)
    await ask(bot, second, 2)
    mine = app_mention("チャンネルでのわたしの質問")
    theirs = app_mention("同僚の質問", user=OTHER)
    await ask(bot, mine, 3)
    await ask(bot, theirs, 4)
    conv = await store.find_conversation("T0001", DM, first["ts"])
    assert conv is not None and await store.load_vault(conv.id) is not None

    reply = await staff(bot, "forget", channel=DM)
    assert "2件の履歴と伏せ字対応表を削除しました" in reply["text"]
    assert await store.find_conversation("T0001", DM, first["ts"]) is None
    assert await store.load_vault(conv.id) is None
    # In a channel only the threads the user started go.
    reply = await staff(bot, "forget", channel="C0001")
    assert "1件" in reply["text"]
    assert await store.find_conversation("T0001", "C0001", mine["ts"]) is None
    assert await store.find_conversation("T0001", "C0001", theirs["ts"]) is not None
    assert "ありません" in (await staff(bot, "forget", channel="C0001"))["text"]


async def test_staff_help_shows_models_tier_and_budget(bot: BotHarness) -> None:
    await command(bot, "quota user tokens 1000")
    text = (await staff(bot, "help", channel=DM))["text"]
    assert "ここで使えるモデル: GPT-4o mini, GPT-4o, GPT-4.1 mini（機密性区分1）" in text
    assert "本日のあなたの利用上限: 0トークン / 1,000トークン 使用" in text
    assert "`/madoguchi forget`" in text


async def test_a_pick_switched_off_is_noted_once_and_forgotten(bot: BotHarness) -> None:
    await staff(bot, "model gpt-4.1-mini", channel=DM)
    await command(bot, "models disable gpt-4.1-mini")
    first, second = dm_message("一つ目"), dm_message("二つ目")
    await ask(bot, first, 1)
    await ask(bot, second, 2)
    assert [r.model for r in bot.openai.requests] == ["gpt-4o-mini", "gpt-4o-mini"]
    note = "選んでいた「GPT-4.1 mini」はここでは使えないため、「GPT-4o mini」で回答しています"
    assert note in shown(bot, DM, first["ts"])
    assert "選んでいた" not in shown(bot, DM, second["ts"])


async def test_the_threads_tier_is_recorded_while_the_turn_goes_on_and_before_the_model(
    bot: BotHarness,
) -> None:
    """Recording a new thread's tier no longer holds up masking; the model is called only once
    it is on record, and a failed recording fails the turn closed (nothing is sent)."""
    import asyncio

    records = bot.runtime.admin.records
    original = records.raise_thread_tier
    seen: list[str] = []

    async def slow_record(*args: object) -> None:
        seen.append("recording")
        await asyncio.sleep(0.3)
        await original(*args)
        seen.append(f"recorded, {len(bot.openai.requests)} model calls so far")

    records.raise_thread_tier = slow_record  # type: ignore[method-assign]
    from bot.gateway import Masking

    masking = next(s for s in bot.runtime.gateway._stages if isinstance(s, Masking))
    mask = masking.masker.mask

    def watched_mask(*args: object, **kwargs: object) -> object:
        seen.append("masked")
        return mask(*args, **kwargs)  # type: ignore[arg-type]

    masking.masker.mask = watched_mask  # type: ignore[method-assign]
    first = dm_message("議事録の要約のコツは？")
    await ask(bot, first, 1)
    assert seen == ["recording", "masked", "recorded, 0 model calls so far"]
    assert len(bot.openai.requests) == 1
    assert await records.thread_state(bot.usage.events[0].tenant, DM, first["ts"]) is not None

    async def failing_record(*args: object) -> None:
        raise ConnectionError("database went away")

    records.raise_thread_tier = failing_record  # type: ignore[method-assign]
    await ask(bot, dm_message("別の質問"), 2)
    assert len(bot.openai.requests) == 1  # fails closed: not sent without its tier on record
    assert bot.usage.events[-1].outcome == "error"
