"""``/madoguchi-admin`` through the real bolt app: signed slash commands, ephemeral answers on the
local Slack-compatible server, settings in the database and an audit row for every change."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.storage.admin_tables import AdminAuditRow, AdminSettingRow
from handlers.commands import channel_id, split_args, usergroup
from tests.harness import BotHarness
from tests.peers import dm_message
from tests.test_admin_support import ADMIN, STAFF, admin_bot, command


@pytest.fixture
async def bot(tmp_path: Path):
    async with admin_bot(tmp_path) as harness:
        yield harness


async def audit_rows(bot: BotHarness) -> list[AdminAuditRow]:
    async with bot.runtime.db.session() as session:
        return list(await session.scalars(select(AdminAuditRow).order_by(AdminAuditRow.id)))


async def test_non_admins_are_refused_and_the_attempt_is_audited(bot: BotHarness) -> None:
    reply = await command(bot, "models disable gpt-4o", user=STAFF)
    assert reply["text"] == "この操作は管理者のみ実行できます。"
    assert reply["response_type"] == "ephemeral"
    config = await bot.runtime.admin.store.config("T0001")
    assert "gpt-4o" not in config.models.enabled  # nothing changed
    [row] = await audit_rows(bot)
    assert (row.action, row.outcome, row.tenant) == ("command.models", "denied", "T0001")
    # Staff stay pseudonymous, even when refused.
    assert row.actor is None and row.actor_pseudonym and STAFF not in row.actor_pseudonym


async def test_members_of_the_admin_user_group_are_admins(tmp_path: Path) -> None:
    async with admin_bot(tmp_path, admin_usergroup="SADMINS1") as bot:
        bot.slack.add_usergroup("SADMINS1", ["U0777"])
        reply = await command(bot, "models enable gpt-4.1", user="U0777")
        assert "有効にしました" in reply["text"]
        [row] = await audit_rows(bot)
        assert (row.actor, row.action, row.outcome) == ("U0777", "models.enable", "ok")
        refused = await command(bot, "models", user=STAFF)
        assert refused["text"] == "この操作は管理者のみ実行できます。"


async def test_models_list_enable_disable_default_and_channel(bot: BotHarness) -> None:
    listing = (await command(bot, "models"))["text"]
    assert "✅ `gpt-4o-mini` GPT-4o mini — 機密性区分1まで・既定" in listing
    assert "⛔ `gpt-4.1` GPT-4.1 — 機密性区分1まで・無効" in listing

    assert "有効にしました" in (await command(bot, "models enable gpt-4.1"))["text"]
    assert "無効にしました" in (await command(bot, "models disable gpt-4o"))["text"]
    assert "`gpt-4.1` に" in (await command(bot, "models default gpt-4.1"))["text"]
    reply = await command(bot, "models channel <#C0002|zeimu> gpt-4o-mini gpt-4.1-mini")
    assert "<#C0002>" in reply["text"] and "gpt-4o-mini, gpt-4.1-mini" in reply["text"]

    config = await bot.runtime.admin.store.config("T0001")
    assert config.models.enabled == {"gpt-4.1": True, "gpt-4o": False}
    assert config.models.default == "gpt-4.1"
    assert config.models.channels == {"C0002": ["gpt-4o-mini", "gpt-4.1-mini"]}
    listing = (await command(bot, "models"))["text"]
    assert "既定: `gpt-4.1`" in listing and "<#C0002> → gpt-4o-mini, gpt-4.1-mini" in listing

    cleared = await command(bot, "models channel <#C0002|zeimu> clear")
    assert "解除しました" in cleared["text"]
    actions = [r.action for r in await audit_rows(bot)]
    assert actions == [
        "models.enable",
        "models.disable",
        "models.default",
        "models.channel",
        "models.channel",
    ]


async def test_invalid_model_changes_are_refused_without_a_change(bot: BotHarness) -> None:
    unknown = await command(bot, "models enable gpt-9")
    assert "`gpt-9` というモデルはカタログにありません" in unknown["text"]
    default = await command(bot, "models disable gpt-4o-mini")
    assert "既定のモデルなので無効にできません" in default["text"]
    disabled = await command(bot, "models default gpt-4.1")
    assert "無効になっています" in disabled["text"]
    no_channel = await command(bot, "models channel zeimu gpt-4o")
    assert "#チャンネル名" in no_channel["text"]
    assert await audit_rows(bot) == []
    async with bot.runtime.db.session() as session:
        assert list(await session.scalars(select(AdminSettingRow))) == []


async def test_policy_show_set_per_model_and_reset(bot: BotHarness) -> None:
    shown = (await command(bot, "policy"))["text"]
    assert "⛔ `MY_NUMBER`" in shown and "🔒 `PERSON`" in shown
    reply = await command(bot, "policy PERSON allow model gpt-4o")
    assert "`PERSON` を *allow* にしました（gpt-4o）" in reply["text"]
    reply = await command(bot, "policy phone block")
    assert "`PHONE` を *block* にしました（全モデル共通）" in reply["text"]

    admin = bot.runtime.admin
    assert str((await admin.policy_for("T0001", "gpt-4o")).action("PERSON")) == "allow"
    assert str((await admin.policy_for("T0001", "gpt-4o-mini")).action("PERSON")) == "mask"
    assert str((await admin.policy_for("T0001", "gpt-4o-mini")).action("PHONE")) == "block"
    model_view = (await command(bot, "policy model gpt-4o"))["text"]
    assert "✅ `PERSON`" in model_view

    rows = await audit_rows(bot)
    assert [(r.action, r.target, r.before, r.after) for r in rows] == [
        ("policy.set", "PERSON@gpt-4o", '"mask"', '"allow"'),
        ("policy.set", "PHONE", '"mask"', '"block"'),
    ]
    assert "種別はありません" in (await command(bot, "policy NAME allow"))["text"]
    assert "指定できません" in (await command(bot, "policy PERSON ignore"))["text"]

    await command(bot, "policy reset")
    assert str((await admin.policy_for("T0001", "gpt-4o-mini")).action("PHONE")) == "mask"
    await command(bot, "policy reset model gpt-4o")
    assert str((await admin.policy_for("T0001", "gpt-4o")).action("PERSON")) == "mask"


async def test_terms_add_list_remove(bot: BotHarness) -> None:
    reply = await command(bot, "terms add 「プロジェクト 青空」 block")
    assert "「プロジェクト 青空」を登録しました（block）" in reply["text"]
    await command(bot, "terms add コードネーム桜")
    again = await command(bot, "terms add ｺｰﾄﾞﾈｰﾑ桜 block")  # the same term, half-width
    assert "扱いを block に変えました" in again["text"]
    listing = (await command(bot, "terms list"))["text"]
    assert "2件" in listing
    assert "• コードネーム桜 — *block*" in listing and "• プロジェクト 青空 — *block*" in listing
    assert "削除しました" in (await command(bot, "terms remove コードネーム桜"))["text"]
    assert "登録されていません" in (await command(bot, "terms remove コードネーム桜"))["text"]
    rows = await audit_rows(bot)
    # The audit log never shows a term in clear (it may be a resident's name).
    assert [(r.action, r.target) for r in rows] == [
        ("terms.add", "プ" + "＊" * 8),
        ("terms.add", "コ" + "＊" * 6),
        ("terms.add", "ｺ" + "＊" * 7),
        ("terms.remove", "コ" + "＊" * 6),
    ]


async def test_access_everyone_or_only_groups_and_channels(bot: BotHarness) -> None:
    shown = (await command(bot, "access"))["text"]
    assert "ワークスペースの全員" in shown
    reply = await command(bot, "access only <!subteam^S0DX|@dx-team> <#C0AI|ai-trial>")
    assert "限定しました" in reply["text"] and "@dx-team" in reply["text"]
    config = await bot.runtime.admin.store.config("T0001")
    assert config.access.mode == "restricted"
    assert config.access.usergroups == ["S0DX"] and config.access.channels == ["C0AI"]
    bad = await command(bot, "access only somebody")
    assert "ユーザーグループでもチャンネルでもありません" in bad["text"]
    await command(bot, "access everyone")
    assert (await bot.runtime.admin.store.config("T0001")).access.mode == "everyone"


async def test_consent_on_text_and_renew_bump_the_version(bot: BotHarness) -> None:
    shown = (await command(bot, "consent"))["text"]
    assert "なし（ガイドライン 第1版）" in shown and "個人情報" in shown
    await command(bot, "consent on")
    reply = await command(bot, "consent text 「個人情報を入力しない」\\n「回答は必ず確認する」")
    assert "オン（ガイドライン 第2版）" in reply["text"]
    config = await bot.runtime.admin.store.config("T0001")
    assert config.consent.text == "「個人情報を入力しない」\n「回答は必ず確認する」"
    renewed = await command(bot, "consent renew")
    assert "第3版" in renewed["text"]
    rows = await audit_rows(bot)
    assert [r.action for r in rows] == ["consent.set", "consent.text", "consent.renew"]


async def test_quota_user_department_and_economy(bot: BotHarness) -> None:
    reply = await command(bot, "quota user tokens 50,000")
    assert "1人1日: 50,000トークン / なし" in reply["text"]
    reply = await command(bot, "quota dept <!subteam^S0SHIMIN|@shimin> cost 20000")
    assert "@shimin（1か月）: なし / 20,000円" in reply["text"]
    reply = await command(bot, "quota economy gpt-4.1-mini")
    assert "エコノミーモデル: gpt-4.1-mini" in reply["text"]
    config = await bot.runtime.admin.store.config("T0001")
    assert config.quota.user_daily_tokens == 50_000
    assert config.quota.departments["S0SHIMIN"].monthly_cost == 20_000
    assert "正の数" in (await command(bot, "quota user cost -5"))["text"]
    await command(bot, "quota user tokens off")
    assert (await bot.runtime.admin.store.config("T0001")).quota.user_daily_tokens is None
    rows = await audit_rows(bot)
    assert [(r.action, r.before, r.after) for r in rows] == [
        ("quota.user.tokens", None, "50000"),
        ("quota.department.cost", None, "20000.0"),
        ("quota.economy", None, '"gpt-4.1-mini"'),
        ("quota.user.tokens", "50000", None),
    ]


async def test_audit_shows_who_changed_what_before_and_after(bot: BotHarness) -> None:
    await command(bot, "models disable gpt-4o")
    await command(bot, "models disable gpt-4o", user=STAFF)
    reply = await command(bot, "audit 5")
    lines = reply["text"].splitlines()
    assert "2件" in lines[0]
    assert (
        "管理者以外（仮名" in lines[1] and "*command.models*" in lines[1] and "(拒否)" in lines[1]
    )
    assert f"<@{ADMIN}> *models.disable* gpt-4o" in lines[2]
    assert '`{"enabled": true}` → `{"enabled": false}`' in lines[2]
    assert "使い方" in (await command(bot, "audit many"))["text"]


async def test_the_audit_log_is_append_only_in_the_database(bot: BotHarness) -> None:
    from sqlalchemy import text

    await command(bot, "models disable gpt-4o")
    for statement in ("UPDATE admin_audit SET actor = 'someone'", "DELETE FROM admin_audit"):
        with pytest.raises(Exception, match="append-only"):
            async with bot.runtime.db.engine.begin() as conn:
                await conn.execute(text(statement))
    [row] = await audit_rows(bot)
    assert row.actor == ADMIN


async def test_report_goes_to_the_admins_dm_or_says_it_is_not_available(bot: BotHarness) -> None:
    try:
        from bot.reports.report import build_report  # noqa: F401

        available = True
    except ImportError:
        available = False
    if not available:
        reply = await command(bot, "report week")
        assert "まだ利用できません" in reply["text"]
        return
    await bot.send(dm_message("レポート用の利用"))
    await bot.usage.wait(1)
    reply = await command(bot, "report month", replies=2)
    assert reply["text"] == "レポートを DM に送りました。"
    [upload] = [f for f in bot.slack.files.values() if f.get("completed")]
    assert upload["name"].endswith(".png") and upload["content"][:8] == b"\x89PNG\r\n\x1a\n"
    dm = upload["channel"]
    assert dm.startswith("D") and bot.slack.messages(dm)  # the text went to the same DM
    assert [r.action for r in await audit_rows(bot)] == ["report.sent"]


async def test_help_lists_every_subcommand_and_unknown_ones_get_help(bot: BotHarness) -> None:
    text = (await command(bot, ""))["text"]
    for name in ("models", "policy", "terms", "access", "consent", "quota", "audit", "report"):
        assert f"`{name}" in text
    unknown = (await command(bot, "frobnicate"))["text"]
    assert unknown.startswith("「frobnicate」というコマンドはありません")


async def test_prompt_text_never_changes_a_setting(bot: BotHarness) -> None:
    event = dm_message("/madoguchi-admin models disable gpt-4o-mini", user=ADMIN)
    await bot.send(event)
    [usage] = await bot.usage.wait(1)
    assert usage.outcome == "ok" and usage.model == "gpt-4o-mini"  # an ordinary question
    assert bot.openai.requests[0].messages[-1]["content"].startswith("/madoguchi-admin")
    config = await bot.runtime.admin.store.config("T0001")
    assert config.version == 0 and config.models.enabled == {}
    assert await audit_rows(bot) == []


def test_command_words_keep_quotes_and_slack_references() -> None:
    assert split_args("terms add 「青空 計画」 block") == ["terms", "add", "青空 計画", "block"]
    assert split_args('add "a b"  c') == ["add", "a b", "c"]
    assert split_args("only <!subteam^S1|@dx team> <#C1|x>") == [
        "only",
        "<!subteam^S1|@dx team>",
        "<#C1|x>",
    ]
    assert channel_id("<#C0123ABC|general>") == "C0123ABC"
    assert channel_id("C0123ABC") == "C0123ABC" and channel_id("#general") is None
    assert usergroup("<!subteam^S0123ABC|@shimin>") == ("S0123ABC", "@shimin")
    assert usergroup("S0123ABC") == ("S0123ABC", "S0123ABC") and usergroup("@shimin") is None
