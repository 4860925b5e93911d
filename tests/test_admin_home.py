"""The App Home tab through the real bolt app: staff see models, guideline and budget; admins get
model switches as buttons that act like the slash commands (validated, audited, refused for
everyone else)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handlers.home import MODEL_DEFAULT_ACTION, MODEL_TOGGLE_ACTION
from tests.harness import BotHarness
from tests.peers import next_ts
from tests.test_admin_support import ADMIN, STAFF, admin_bot, buttons, command, press


@pytest.fixture
async def bot(tmp_path: Path):
    async with admin_bot(tmp_path) as harness:
        yield harness


async def open_home(bot: BotHarness, user: str) -> dict:
    before = len(bot.slack.calls_to("views.publish"))
    await bot.send(
        {
            "type": "app_home_opened",
            "user": user,
            "channel": "D0001",
            "tab": "home",
            "event_ts": next_ts(),
        }
    )
    await bot.slack.wait_for("views.publish", count=before + 1)
    return bot.slack.home_views[user]


def text_of(view: dict) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


async def test_staff_home_shows_use_models_guideline_and_budget(bot: BotHarness) -> None:
    await command(bot, "quota user tokens 10000")
    await command(bot, "consent on")
    view = await open_home(bot, STAFF)
    text = text_of(view)
    assert "使い方" in text and "/madoguchi model" in text
    assert "機密性区分1: GPT-4o mini, GPT-4o, GPT-4.1 mini" in text
    assert "個人情報" in text and "最初の質問のときに、ガイドラインへの同意" in text
    assert "本日のあなたの利用上限: 0トークン / 10,000トークン 使用" in text
    assert "管理者メニュー" not in text and buttons(view) == []


async def test_admin_home_toggles_models_with_buttons(bot: BotHarness) -> None:
    view = await open_home(bot, ADMIN)
    text = text_of(view)
    assert "管理者メニュー" in text and "伏せ字ポリシー" in text and "利用上限" in text
    [off] = [
        b
        for b in buttons(view)
        if b["action_id"] == MODEL_TOGGLE_ACTION and json.loads(b["value"])["m"] == "gpt-4o"
    ]
    assert off["text"]["text"] == "無効にする"
    await press(bot, MODEL_TOGGLE_ACTION, off["value"], user=ADMIN, view=view, wait=False)
    await bot.slack.wait_for("views.publish", count=2)
    config = await bot.runtime.admin.store.config("T0001")
    assert config.models.enabled == {"gpt-4o": False}
    republished = bot.slack.home_views[ADMIN]
    assert "`gpt-4o` を無効にしました" in text_of(republished)
    assert "models.disable" in text_of(republished)  # the recent-changes list

    [default] = [
        b
        for b in buttons(republished)
        if b["action_id"] == MODEL_DEFAULT_ACTION and b["value"] == "gpt-4.1-mini"
    ]
    await press(bot, MODEL_DEFAULT_ACTION, default["value"], user=ADMIN, view=view, wait=False)
    await bot.slack.wait_for("views.publish", count=3)
    assert (await bot.runtime.admin.store.config("T0001")).models.default == "gpt-4.1-mini"
    # The default cannot be switched off from the Home either.
    await press(
        bot,
        MODEL_TOGGLE_ACTION,
        json.dumps({"m": "gpt-4.1-mini", "on": False}),
        user=ADMIN,
        view=view,
        wait=False,
    )
    await bot.slack.wait_for("views.publish", count=4)
    assert "既定のモデルなので無効にできません" in text_of(bot.slack.home_views[ADMIN])


async def test_a_non_admin_press_is_refused_and_audited(bot: BotHarness) -> None:
    view = await open_home(bot, ADMIN)
    [button] = [b for b in buttons(view) if b["action_id"] == MODEL_TOGGLE_ACTION][:1]
    await press(bot, MODEL_TOGGLE_ACTION, button["value"], user=STAFF, view=view, wait=False)
    await bot.slack.wait_for(lambda c: c.method == "views.publish" and c.args["user_id"] == STAFF)
    assert "この操作は管理者のみ実行できます" in text_of(bot.slack.home_views[STAFF])
    config = await bot.runtime.admin.store.config("T0001")
    assert config.models.enabled == {}
    [entry] = await bot.runtime.admin.store.recent("T0001")
    assert (entry.action, entry.outcome, entry.actor) == ("home.models.toggle", "denied", None)
