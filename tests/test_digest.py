"""What the digest says: tips rotate without repeats, the featured template, figures from
fixture usage data with k-anonymity and the change from the week before, valid Block Kit, and
the digest's own reach shown in the next one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.digest import Schedule, Week, check_blocks
from bot.digest.content import (
    ACTION_OPEN_LIBRARY,
    ACTION_OPEN_TEMPLATE,
    ACTION_TRY_TIP,
    MAX_SECTION_TEXT,
)
from bot.library_data import load_tips
from bot.reports.figures import period_figures
from bot.usage import DatabaseUsageRecorder, UsageEvent
from handlers.library import SlackDigestPoster
from tests.harness import SIGNING_SECRET, BotHarness
from tests.peers import FakeSlackAPI, Reply, block_actions, post_interaction, view_submission
from tests.test_digest_env import TOKYO, digest_env, digest_posts, tokyo

TENANT = "T0001"


@pytest.fixture
async def slack():
    async with FakeSlackAPI() as fake:
        yield fake


def sqlite(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


# --------------------------------------------------------------------------- weeks and schedules


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon 09:00", "mon 09:00"),
        ('"fri 17:30"', "fri 17:30"),
        ("「月曜 9:00」", "mon 09:00"),
        ("水曜日 8時15分", "wed 08:15"),
        ("ｔｕｅ　１０：００", "tue 10:00"),
        ("Sunday 7", "sun 07:00"),
    ],
)
def test_schedules_parse(text: str, expected: str) -> None:
    assert str(Schedule.parse(text)) == expected


@pytest.mark.parametrize("text", ["", "someday 9:00", "mon 25:00", "mon 9:75", "毎日"])
def test_bad_schedules_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match=r"mon 09:00|時刻"):
        Schedule.parse(text)


def test_iso_weeks_in_tokyo() -> None:
    # Monday 00:30 in Tokyo is still Sunday in UTC, but already the new week here.
    assert Week.of(tokyo(2025, 11, 24, 0, 30), TOKYO) == Week(2025, 48)
    assert Week.of(tokyo(2025, 11, 23, 23, 59), TOKYO) == Week(2025, 47)
    # Around the new year the ISO year differs from the calendar year.
    assert Week.of(tokyo(2024, 12, 30, 9), TOKYO) == Week(2025, 1)
    assert Week(2025, 1).previous() == Week(2024, 52)
    assert Week(2020, 53).next() == Week(2021, 1)
    start, end = Week(2025, 48).utc_range(TOKYO)
    assert start == datetime(2025, 11, 23, 15, 0, tzinfo=UTC)
    assert end - start == timedelta(days=7)
    assert Schedule.parse("mon 09:00").in_week(Week(2025, 48), TOKYO) == tokyo(2025, 11, 24, 9)
    assert Week.parse(str(Week(2025, 8))) == Week(2025, 8)


# --------------------------------------------------------------------------- tips


async def test_tips_rotate_without_repeats_until_all_were_used(
    tmp_path: Path, slack: FakeSlackAPI
) -> None:
    tips = load_tips("ja")
    async with digest_env(sqlite(tmp_path), slack) as env:
        week = Week(2025, 48)
        seen = []
        for _ in range(len(tips)):
            digest = await env.service.compose(TENANT, week, persist=True)
            assert digest.tip is not None
            seen.append(digest.tip.id)
            assert check_blocks(digest.blocks(), digest.fallback()) == []
            week = week.next()
        assert sorted(seen) == sorted(t.id for t in tips)  # every tip once, none twice
        # The next cycle starts again, and never with the tip the last digest carried.
        first_of_next = await env.service.compose(TENANT, week, persist=True)
        assert first_of_next.tip is not None and first_of_next.tip.id != seen[-1]
        second = await env.service.compose(TENANT, week.next(), persist=True)
        assert second.tip is not None and second.tip.id not in {first_of_next.tip.id}
        # Composing a week again gives the same digest (all channels, restarts).
        again = await env.service.compose(TENANT, week, persist=True)
        assert again.tip == first_of_next.tip


async def test_an_approved_staff_tip_joins_the_rotation_and_a_dry_run_writes_nothing(
    tmp_path: Path, slack: FakeSlackAPI
) -> None:
    async with digest_env(sqlite(tmp_path), slack) as env:
        submitted = await env.library.submit_tip(
            TENANT,
            title="会議の前に論点を出してもらう",
            body="会議資料を貼り付けて、想定される論点を挙げてもらいます。準備の抜けが減ります。",
            example="次の資料について、会議で出そうな質問と論点を5つ挙げてください。",
            author="pseudonym",
        )
        assert [t.id for t in await env.library.tips(TENANT)].count(submitted.slug) == 0
        await env.library.decide(TENANT, submitted.id, approve=True)
        tips = await env.library.tips(TENANT)
        assert tips[-1].id == submitted.slug
        week = Week(2025, 1)
        preview = await env.service.compose(TENANT, week, persist=False)
        real = await env.service.compose(TENANT, week, persist=True)
        assert preview.tip == real.tip  # the preview shows what will be posted …
        nxt = await env.service.compose(TENANT, week.next(), persist=False)
        assert nxt.tip != real.tip  # … and only the persisted week counts as used
        ids = []
        for _ in range(len(tips)):
            digest = await env.service.compose(TENANT, week, persist=True)
            ids.append(digest.tip.id if digest.tip else None)
            week = week.next()
        assert submitted.slug in ids and len(set(ids)) == len(tips)


# --------------------------------------------------------------------------- featured template


async def test_featured_template_most_used_new_or_admin_pick(
    tmp_path: Path, slack: FakeSlackAPI
) -> None:
    async with digest_env(sqlite(tmp_path), slack) as env:
        for _ in range(3):
            await env.library.record_use(TENANT, "vba-macro", "p1")
        await env.library.record_use(TENANT, "sns-post", "p2")
        week = Week(2025, 48)
        first = await env.service.compose(TENANT, week, persist=True)
        second = await env.service.compose(TENANT, week.next(), persist=True)
        assert first.featured is not None and first.featured.id == "vba-macro"
        assert second.featured is not None and second.featured.id == "sns-post"
        # A newly approved staff template comes first, before older never-featured ones.
        staff = await env.library.submit_template(
            TENANT,
            title="窓口混雑のお知らせ文",
            category="pr",
            description="窓口の混雑予想を住民に伝えるお知らせを作ります。",
            body="{{期間}}の窓口混雑について、{{対象}}向けのお知らせ文を作成してください。",
            author="p3",
        )
        await env.library.decide(TENANT, staff.id, approve=True)
        third = await env.service.compose(TENANT, week.next().next(), persist=True)
        assert third.featured is not None and third.featured.id == staff.slug
        assert third.featured.source == "staff"
        # An admin's pick wins once, then the rule applies again.
        await env.service.configs.update(TENANT, featured_pick="council-qa-draft")
        picked = await env.service.compose(TENANT, Week(2025, 51), persist=True)
        assert picked.featured is not None and picked.featured.id == "council-qa-draft"
        assert (await env.service.configs.get(TENANT)).featured_pick is None
        after = await env.service.compose(TENANT, Week(2025, 52), persist=True)
        assert after.featured is not None
        assert after.featured.id not in {"vba-macro", "sns-post", staff.slug, "council-qa-draft"}


# --------------------------------------------------------------------------- figures


async def _usage(db, when: datetime, user: str, category: str, *, outcome: str = "ok", n: int = 1):
    recorder = DatabaseUsageRecorder(db, log_lines=False)
    for i in range(n):
        await recorder.record(
            UsageEvent(
                time=when + timedelta(minutes=i),
                tenant=TENANT,
                user_pseudonym=f"pseudo-{user}",
                key_id="k1",
                thread_key=f"thread-{user}-{category}",
                channel_type="dm",
                model="gpt-4o-mini",
                outcome=outcome,
                category=category,
                new_conversation=i == 0,
            )
        )


def _figures_section(blocks: list[dict]) -> str:
    return next(
        b["text"]["text"] for b in blocks if "先週の活用状況" in b.get("text", {}).get("text", "")
    )


async def test_digest_figures_from_fixture_usage_data(tmp_path: Path, slack: FakeSlackAPI) -> None:
    async def figures(tenant: str, start: datetime, end: datetime):
        return await period_figures(env.db, tenant, start, end, headcount=50, k=3)

    async with digest_env(sqlite(tmp_path), slack, figures=figures, k=3) as env:
        last_week = tokyo(2025, 11, 18, 10)  # week 47, the week before the digest of week 48
        for user in "abcd":
            await _usage(env.db, last_week, user, "minutes", n=2)
        await _usage(env.db, last_week, "e", "greeting")  # one person: below k, merged
        await _usage(env.db, last_week, "f", "minutes", outcome="refused")  # not an active user
        await _usage(env.db, tokyo(2025, 11, 24, 9, 30), "g", "minutes")  # this week: not counted
        week_before = tokyo(2025, 11, 12, 15)
        for user in "xyz":
            await _usage(env.db, week_before, user, "document")
        digest = await env.service.compose(TENANT, Week(2025, 48), persist=False)
        section = _figures_section(digest.blocks())
        assert "（11月17日〜11月23日）" in section
        assert "利用した職員: *5人*（職員の10.0%）　前週比 +2人" in section
        assert "利用回数: *9回*（スレッド 5件）　前週比 +200%" in section
        assert "議事録・要約 8回" in section
        assert "あいさつ文" not in section  # one person's category is not shown by name
        assert "節約できた時間: 推計 *約2.3時間*" in section
        assert "評価はまだありません" in section
        assert "利用した職員: 5人" in digest.text()


async def test_small_weeks_are_not_shown(tmp_path: Path, slack: FakeSlackAPI) -> None:
    async def figures(tenant: str, start: datetime, end: datetime):
        return await period_figures(env.db, tenant, start, end, k=5)

    async with digest_env(sqlite(tmp_path), slack, figures=figures, k=5) as env:
        for user in "ab":
            await _usage(env.db, tokyo(2025, 11, 18, 10), user, "minutes", n=3)
        digest = await env.service.compose(TENANT, Week(2025, 48), persist=False)
        section = _figures_section(digest.blocks())
        assert "5人未満" in section and "回" not in section.split("\n", 1)[1]
        # With enough people last week but a small week before, the change is left out (it
        # would reveal the small week's numbers).
        for user in "cdefg":
            await _usage(env.db, tokyo(2025, 11, 25, 10), user, "minutes")
        nxt = _figures_section(
            (await env.service.compose(TENANT, Week(2025, 49), persist=False)).blocks()
        )
        assert "利用した職員: *5人*" in nxt and "前週比" not in nxt
        empty = await env.service.compose(TENANT, Week(2025, 40), persist=False)
        assert "利用はありませんでした" in _figures_section(empty.blocks())


# --------------------------------------------------------------------------- Block Kit


async def test_block_kit_stays_within_slack_limits(tmp_path: Path, slack: FakeSlackAPI) -> None:
    async with digest_env(sqlite(tmp_path), slack) as env:
        long_tip = await env.library.submit_tip(
            TENANT,
            title="長" * 60,
            body="<b>&" + "説明" * 498,
            example="```" + "例" * 997,
            author=None,
        )
        await env.library.decide(TENANT, long_tip.id, approve=True)
        staff = await env.library.submit_template(
            TENANT,
            title="題" * 24,
            category="other",
            description="説" * 200,
            body="{{内容}}" + "本" * 2900,
            author=None,
        )
        await env.library.decide(TENANT, staff.id, approve=True)
        await env.service.configs.update(TENANT, featured_pick=staff.slug)
        # Make the long tip this week's: all shipped tips were used in this cycle.
        for i, tip in enumerate(load_tips("ja")):
            async with env.db.session() as session:
                from bot.storage.library_tables import DigestWeekRow

                session.add(
                    DigestWeekRow(
                        tenant=TENANT,
                        iso_year=2020,
                        iso_week=i + 1,
                        tip_id=tip.id,
                        tip_cycle=0,
                        template_id=None,
                        created_at=datetime.now(UTC),
                    )
                )
                await session.commit()
        digest = await env.service.compose(TENANT, Week(2025, 48), persist=True)
        assert digest.tip is not None and digest.tip.id == long_tip.slug
        blocks = digest.blocks()
        assert check_blocks(blocks, digest.fallback()) == []
        assert all(len(b.get("text", {}).get("text", "")) <= MAX_SECTION_TEXT for b in blocks)
        tip_text = blocks[1]["text"]["text"]
        assert tip_text.count("```") % 2 == 0  # the example's code block is closed
        assert "<b>" not in json.dumps(blocks, ensure_ascii=False)  # escaped for mrkdwn
        # The local Slack server enforces the same limits and accepts it.
        [result] = await env.service.run_due(tokyo(2025, 11, 24, 9), env.poster)
        assert result.status == "posted"
        [post] = digest_posts(slack)
        assert post.args["blocks"][0]["type"] == "header"
        assert {
            e["action_id"]
            for b in post.args["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
        } == {
            ACTION_TRY_TIP,
            ACTION_OPEN_TEMPLATE,
            ACTION_OPEN_LIBRARY,
        }


def test_the_digest_carries_the_guideline_and_the_newcomers_message() -> None:
    from bot.digest.content import Digest

    digest = Digest(
        tenant=TENANT,
        week=Week(2025, 48),
        issued=tokyo(2025, 11, 24).date(),
        tip=None,
        featured=None,
        last_week=None,
        week_before=None,
        k=5,
    )
    text = digest.text()
    assert "回答は必ず確認しましょう" in text
    assert "まずは対話を始めてみる" in text and "1回で100点を狙わない" in text
    assert "週刊ダイジェスト 2025年11月24日号" in text
    assert check_blocks(digest.blocks(), digest.fallback()) == []
    english = Digest(**{**digest.__dict__, "lang": "en"})
    assert "Always check the answer" in english.text()


# --------------------------------------------------------------------------- self-measurement


async def test_the_digest_measures_itself_through_its_buttons(tmp_path: Path) -> None:
    async with BotHarness(tmp_path, digest_channels="C0DIGEST") as bot:
        digest = bot.runtime.digest
        assert digest is not None
        [result] = await digest.post_now(TENANT, SlackDigestPoster(bot.app.client))
        assert result.status == "posted"
        [post] = digest_posts(bot.slack)
        buttons = {
            e["action_id"]: e["value"]
            for b in post.args["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
        }
        url = bot.url + "/slack/events"
        bot.slack.add_user("U0002", real_name="佐藤 次郎")
        # Someone opens the featured template from the digest and runs it.
        await post_interaction(
            url,
            block_actions(ACTION_OPEN_TEMPLATE, value=buttons[ACTION_OPEN_TEMPLATE]),
            SIGNING_SECRET,
        )
        [open_call] = await bot.slack.wait_for("views.open")
        modal = open_call.args["view"]
        values = {
            b["block_id"]: {"value": {"type": "plain_text_input", "value": "テスト入力"}}
            for b in modal["blocks"]
            if b["type"] == "input"
        }
        bot.openai.script(Reply(text="案を作成しました。"))
        response = await post_interaction(
            url,
            view_submission("prompt_run", values, private_metadata=modal["private_metadata"]),
            SIGNING_SECRET,
        )
        assert response.status == 200
        [usage] = await bot.usage.wait(1)
        featured_id = buttons[ACTION_OPEN_TEMPLATE].split("|")[1]
        assert usage.template_id == featured_id
        # Two more clicks by another person: the library list and the tip.
        await post_interaction(
            url,
            block_actions(
                ACTION_OPEN_LIBRARY,
                value=buttons[ACTION_OPEN_LIBRARY],
                user="U0002",
                response_url=bot.slack.new_response_url(),
            ),
            SIGNING_SECRET,
        )
        [listing] = await bot.slack.wait_for("response_url")
        assert "プロンプト集" in listing.args["text"]
        bot.openai.script(Reply(text="例への回答です。"))
        await post_interaction(
            url,
            block_actions(
                ACTION_TRY_TIP,
                value=buttons[ACTION_TRY_TIP],
                user="U0002",
                response_url=bot.slack.new_response_url(),
            ),
            SIGNING_SECRET,
        )
        await bot.usage.wait(2)
        # The next week's digest reports the reach of this one.
        week = Week.of(datetime.now(UTC), TOKYO)
        effect = await digest.effect(TENANT, week)
        assert effect is not None
        assert (effect.clicks, effect.clickers, effect.featured_uses) == (3, 2, 1)
        nxt = await digest.compose(TENANT, week.next(), persist=False)
        assert "ボタンのクリック 3回（2人）" in nxt.text()
        assert "の利用 1回" in nxt.text()
        # … and the oversight reports can list it.
        [listed] = await digest.effects(
            TENANT, datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1)
        )
        assert listed.clicks == 3
        # The clicks are stored under pseudonyms only.
        from bot.storage.library_tables import DigestClickRow

        async with bot.runtime.db.session() as session:
            from sqlalchemy import select

            rows = list(await session.scalars(select(DigestClickRow)))
        assert {r.user_pseudonym for r in rows}.isdisjoint({"U0001", "U0002"})
