"""The prompt library: search, use counts and 👍 rates, staff submissions with admin approval,
and the template modal flow through the real bolt app (open, fill, submit → a new DM thread
answered through the gateway with masking, the template id on the usage event)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.prompts import PromptLibrary, SubmissionError
from bot.storage import Database
from bot.storage.library_tables import LibraryItemRow, PromptUseRow
from bot.usage import DatabaseUsageRecorder, UsageEvent, record_feedback
from tests.harness import SIGNING_SECRET, BotHarness
from tests.peers import (
    Reply,
    block_actions,
    post_interaction,
    post_slash_command,
    slash_command,
    view_submission,
)

TENANT = "T0001"
EMAIL = "taro.yamada@city.example.lg.jp"


@pytest.fixture
async def library(db: Database) -> PromptLibrary:
    from bot.prompts.library import feedback_ratings

    return PromptLibrary(db, pseudonym_key=b"k", ratings=feedback_ratings(db))


# --------------------------------------------------------------------------- the library


async def test_library_lists_shipped_templates_most_used_first(library: PromptLibrary) -> None:
    items = await library.templates(TENANT)
    assert len(items) >= 25
    assert items[0].id == "greeting-event"  # without uses: file order
    for _ in range(2):
        await library.record_use(TENANT, "vba-macro", "p1")
    await library.record_use(TENANT, "sns-post", "p2")
    await library.record_use("T-OTHER", "flyer-copy", "p3")  # another workspace
    items = await library.templates(TENANT)
    assert [i.id for i in items[:2]] == ["vba-macro", "sns-post"]
    assert (items[0].uses, items[1].uses) == (2, 1)
    assert next(i for i in items if i.id == "flyer-copy").uses == 0


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("議事録", "minutes-summary"),
        ("挨拶", "greeting-event"),  # 挨拶 finds あいさつ
        ("エクセル", "excel-formula-help"),  # エクセル finds Excel
        ("ＶＢＡ", "vba-macro"),  # full-width
        ("英訳", "translate-notice-english"),
        ("チラシ", "flyer-copy"),
        ("ペルソナ", "persona-journey"),
        ("仕様書", "specification-draft"),
        ("住民 回答", "resident-inquiry-answer"),  # every word must match
    ],
)
async def test_search_finds_templates(library: PromptLibrary, query: str, expected: str) -> None:
    found = await library.search(TENANT, query)
    assert found and found[0].id == expected, [f.id for f in found[:5]]


async def test_search_without_match_and_empty_query(library: PromptLibrary) -> None:
    assert await library.search(TENANT, "量子コンピュータ 宇宙") == []
    assert len(await library.search(TENANT, "  ")) == len(await library.templates(TENANT))


async def test_thumbs_up_rate_comes_from_the_askers_feedback(
    db: Database, library: PromptLibrary
) -> None:
    recorder = DatabaseUsageRecorder(db, log_lines=False)
    from datetime import UTC, datetime

    ids = []
    for i, template_id in enumerate(["minutes-summary"] * 3 + [None]):
        event = UsageEvent(
            time=datetime.now(UTC),
            tenant=TENANT,
            user_pseudonym=f"asker{i}",
            channel_type="dm",
            model="gpt-4o-mini",
            outcome="ok",
            template_id=template_id,
        )
        await recorder.record(event)
        ids.append(event.id)
    await record_feedback(db, tenant=TENANT, event_id=ids[0], user_pseudonym="asker0", rating=1)
    await record_feedback(db, tenant=TENANT, event_id=ids[1], user_pseudonym="asker1", rating=1)
    await record_feedback(db, tenant=TENANT, event_id=ids[2], user_pseudonym="asker2", rating=-1)
    await record_feedback(db, tenant=TENANT, event_id=ids[3], user_pseudonym="asker3", rating=-1)
    item = await library.get(TENANT, "minutes-summary")
    assert item is not None and (item.up, item.down) == (2, 1)
    assert item.rating == pytest.approx(2 / 3)
    other = await library.get(TENANT, "sns-post")
    assert other is not None and other.rating is None


# --------------------------------------------------------------------------- submissions


async def test_submission_validation_names_the_input(library: PromptLibrary) -> None:
    with pytest.raises(SubmissionError) as info:
        await library.submit_template(
            TENANT, title="", category="nope", description="", body="", author=None
        )
    assert set(info.value.errors) == {"title", "category", "description", "body"}
    with pytest.raises(SubmissionError) as info:
        await library.submit_template(
            TENANT,
            title="長すぎる題名" * 5,
            category="document",
            description="d",
            body="{{a}}",
            author=None,
        )
    assert "24字以内" in info.value.errors["title"]
    with pytest.raises(SubmissionError) as info:
        await library.submit_tip(TENANT, title="t", body="b", example=" ", author=None)
    assert set(info.value.errors) == {"example"}


async def test_submissions_wait_for_approval_and_are_decided_once(
    library: PromptLibrary,
) -> None:
    item = await library.submit_template(
        TENANT,
        title="窓口混雑のお知らせ",
        category="pr",
        description="混雑予想を住民に知らせます。",
        body="{{期間}}の窓口の混雑について、{{対象}}向けのお知らせを書いてください。{{期間}}",
        author="pseudo",
    )
    assert item.status == "pending"
    assert [f.name for f in item.item.fields] == ["期間", "対象"]  # type: ignore[union-attr]
    assert await library.get(TENANT, item.slug) is None  # not public yet
    assert [p.id for p in await library.pending(TENANT)] == [item.id]
    assert await library.pending("T-OTHER") == []
    decided = await library.decide(TENANT, item.id, approve=True)
    assert decided is not None and decided.status == "approved"
    assert await library.decide(TENANT, item.id, approve=False) is None  # already decided
    assert await library.decide("T-OTHER", item.id, approve=True) is None
    found = await library.get(TENANT, item.slug)
    assert found is not None and found.source == "staff"
    assert (await library.search(TENANT, "混雑"))[0].id == item.slug
    rejected = await library.submit_tip(TENANT, title="t", body="b。", example="e", author=None)
    await library.decide(TENANT, rejected.id, approve=False)
    assert rejected.slug not in {t.id for t in await library.tips(TENANT)}


# --------------------------------------------------------------------------- through Slack


@pytest.fixture
async def bot(tmp_path: Path):
    async with BotHarness(tmp_path, admin_users="UADMIN") as harness:
        harness.slack.add_user("UADMIN", real_name="管理 者")
        yield harness


def _buttons(blocks: list[dict]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for block in blocks:
        for element in [block.get("accessory") or {}, *block.get("elements", [])]:
            if element.get("type") == "button":
                out.setdefault(element["action_id"], []).append(element["value"])
    return out


async def test_template_modal_flow_through_the_bolt_app(bot: BotHarness) -> None:
    url = bot.url + "/slack/events"
    # 1. Search the library with the slash command.
    response_url = bot.slack.new_response_url()
    await post_slash_command(
        url,
        slash_command("/madoguchi", "prompts 依頼メール", response_url=response_url),
        SIGNING_SECRET,
    )
    [listing] = await bot.slack.wait_for("response_url")
    assert "依頼メール" in listing.args["text"]
    assert "email-other-department" in _buttons(listing.args["blocks"])["prompt_open"]
    # 2. 「使う」 opens the template's modal with its fields.
    await post_interaction(
        url, block_actions("prompt_open", value="email-other-department"), SIGNING_SECRET
    )
    [opened] = await bot.slack.wait_for("views.open")
    modal = opened.args["view"]
    assert modal["callback_id"] == "prompt_run" and modal["title"]["text"] == "他部署への依頼メール"
    inputs = {b["label"]["text"]: b for b in modal["blocks"] if b["type"] == "input"}
    assert list(inputs) == ["宛先", "用件", "期限", "添付資料", "差出人（課・係名）"]
    assert inputs["添付資料"]["optional"] is True
    assert inputs["添付資料"]["element"]["initial_value"] == "なし"
    # 3. Submitting with a required field left blank shows an error in the modal.
    values = {
        inputs["宛先"]["block_id"]: "各課庶務担当者",
        inputs["用件"]["block_id"]: "来年度の研修希望調査への回答",
        inputs["期限"]["block_id"]: "",
        inputs["添付資料"]["block_id"]: "",
        inputs["差出人（課・係名）"]["block_id"]: f"人事課研修係（{EMAIL}）",
    }

    def state(v: dict[str, str]) -> dict:
        return {k: {"value": {"type": "plain_text_input", "value": x}} for k, x in v.items()}

    meta = modal["private_metadata"]
    refused = await post_interaction(
        url, view_submission("prompt_run", state(values), private_metadata=meta), SIGNING_SECRET
    )
    assert refused.json() == {
        "response_action": "errors",
        "errors": {inputs["期限"]["block_id"]: "入力してください。"},
    }
    assert bot.openai.requests == []
    # 4. Filled in: a new DM thread, the filled prompt masked to the model, the answer restored.
    values[inputs["期限"]["block_id"]] = "11月15日（金）"
    bot.openai.script(
        lambda request: Reply(
            text="問い合わせ先: " + request.last_user_text.rsplit("「", 1)[1].split("」")[0]
        )
    )
    accepted = await post_interaction(
        url, view_submission("prompt_run", state(values), private_metadata=meta), SIGNING_SECRET
    )
    assert accepted.status == 200 and accepted.body == ""
    [usage] = await bot.usage.wait(1)
    assert usage.template_id == "email-other-department" and usage.outcome == "ok"
    assert usage.channel_type == "dm" and usage.new_conversation
    [request] = bot.openai.requests
    sent = request.last_user_text
    assert "各課庶務担当者あてに、来年度の研修希望調査への回答を依頼する庁内メール" in sent
    assert "回答・提出の期限：11月15日（金）" in sent and "添付資料：なし" in sent
    assert EMAIL not in request.all_text  # masked before it left
    assert "{{" not in sent
    dm = bot.slack.calls_to("conversations.open")[0].response["channel"]["id"]
    [header, *_] = [m for m in bot.slack.messages(dm) if m.bot_id and m.thread_ts in (None, m.ts)]
    assert "プロンプト集「他部署への依頼メール」で依頼しました" in header.text
    thread = bot.thread(dm, header.ts)
    final = json.dumps([m.blocks for m in thread], ensure_ascii=False)
    assert EMAIL in final  # the real value is back in the answer the user sees
    # 5. The run is counted (pseudonymously, once the answer is done) and the library shows it.
    for _ in range(100):
        async with bot.runtime.db.session() as session:
            uses = list(await session.scalars(select(PromptUseRow)))
        if uses:
            break
        await asyncio.sleep(0.05)
    [use] = uses
    assert (use.template_id, use.source) == ("email-other-department", "library")
    assert use.user_pseudonym != "U0001"
    assert (await bot.runtime.library.get(TENANT, "email-other-department")).uses == 1
    # 6. A reply in the thread continues the same conversation.
    from tests.peers import dm_message

    bot.openai.script(Reply(text="件名を短くしました。"))
    await bot.send(dm_message("件名をもっと短くして", channel=dm, thread_ts=header.ts))
    await bot.usage.wait(2)
    follow = bot.openai.requests[1]
    assert [m["role"] for m in follow.messages] == ["system", "user", "assistant", "user"]


async def test_staff_submit_and_admin_approves_through_slack(bot: BotHarness) -> None:
    url = bot.url + "/slack/events"
    # The submission modal opens from the list's button …
    await post_interaction(url, block_actions("prompt_submit_open", value="submit"), SIGNING_SECRET)
    [opened] = await bot.slack.wait_for("views.open")
    assert opened.args["view"]["callback_id"] == "prompt_submit"
    values = {
        "title": {"value": {"type": "plain_text_input", "value": "窓口混雑のお知らせ"}},
        "category": {"value": {"type": "static_select", "selected_option": {"value": "pr"}}},
        "description": {"value": {"type": "plain_text_input", "value": "混雑予想を知らせます。"}},
        "body": {
            "value": {
                "type": "plain_text_input",
                "value": "{{期間}}の窓口混雑について、{{対象}}向けのお知らせを書いてください。",
            }
        },
    }
    bad = dict(values, title={"value": {"type": "plain_text_input", "value": ""}})
    refused = await post_interaction(url, view_submission("prompt_submit", bad), SIGNING_SECRET)
    assert refused.json()["response_action"] == "errors"
    assert "title" in refused.json()["errors"]
    done = await post_interaction(url, view_submission("prompt_submit", values), SIGNING_SECRET)
    assert done.json()["response_action"] == "update"
    # … and reaches the admins' DMs with review buttons.
    [notice] = await bot.slack.wait_for(
        lambda c: c.method == "chat.postMessage" and c.args.get("channel") == "UADMIN"
    )
    [item_id] = _buttons(notice.args["blocks"])["library_approve"]
    # A non-admin's click is refused.
    denied_url = bot.slack.new_response_url()
    await post_interaction(
        url,
        block_actions("library_approve", value=item_id, response_url=denied_url),
        SIGNING_SECRET,
    )
    [denied] = await bot.slack.wait_for(
        lambda c: c.method == "response_url" and c.args["response_url"] == denied_url
    )
    assert "管理者のみ" in denied.args["text"]
    # `/madoguchi-admin prompts` lists it for the admin; approving publishes it.
    list_url = bot.slack.new_response_url()
    await post_slash_command(
        url,
        slash_command("/madoguchi-admin", "prompts", user="UADMIN", response_url=list_url),
        SIGNING_SECRET,
    )
    [pending] = await bot.slack.wait_for(
        lambda c: c.method == "response_url" and c.args["response_url"] == list_url
    )
    assert "窓口混雑のお知らせ" in json.dumps(pending.args["blocks"], ensure_ascii=False)
    approve_url = bot.slack.new_response_url()
    await post_interaction(
        url,
        block_actions("library_approve", value=item_id, user="UADMIN", response_url=approve_url),
        SIGNING_SECRET,
    )
    [approved] = await bot.slack.wait_for(
        lambda c: c.method == "response_url" and c.args["response_url"] == approve_url
    )
    assert "承認" in approved.args["text"]
    found = await bot.runtime.library.search(TENANT, "混雑")
    assert found and found[0].template.title == "窓口混雑のお知らせ"
    async with bot.runtime.db.session() as session:
        [row] = list(await session.scalars(select(LibraryItemRow)))
    assert row.status == "approved" and row.author not in (None, "U0001")


async def test_tip_submission_from_the_slash_command(bot: BotHarness) -> None:
    url = bot.url + "/slack/events"
    await post_slash_command(url, slash_command("/madoguchi", "prompts 投稿"), SIGNING_SECRET)
    [submit_modal] = await bot.slack.wait_for("views.open")
    assert submit_modal.args["view"]["callback_id"] == "prompt_submit"
    bot.slack.calls.clear()
    await post_slash_command(url, slash_command("/madoguchi", "tip"), SIGNING_SECRET)
    [opened] = await bot.slack.wait_for("views.open")
    assert opened.args["view"]["callback_id"] == "tip_submit"
    values = {
        "title": {"value": {"type": "plain_text_input", "value": "論点を先に出してもらう"}},
        "body": {
            "value": {"type": "plain_text_input", "value": "資料を貼って論点を挙げてもらいます。"}
        },
        "example": {"value": {"type": "plain_text_input", "value": "次の資料の論点を5つ挙げて。"}},
    }
    await post_interaction(url, view_submission("tip_submit", values), SIGNING_SECRET)
    [item] = await bot.runtime.library.pending(TENANT)
    assert item.kind == "tip" and item.title == "論点を先に出してもらう"


async def test_admin_digest_commands(bot: BotHarness) -> None:
    url = bot.url + "/slack/events"

    async def admin(text: str, user: str = "UADMIN") -> str:
        response_url = bot.slack.new_response_url()
        await post_slash_command(
            url,
            slash_command("/madoguchi-admin", text, user=user, response_url=response_url),
            SIGNING_SECRET,
        )
        [reply] = await bot.slack.wait_for(
            lambda c: c.method == "response_url" and c.args["response_url"] == response_url
        )
        return reply.args["text"]

    assert "<#C0NEWS>" in await admin("digest channel <#C0NEWS|お知らせ>")
    assert "毎週金曜 17:30" in await admin('digest schedule "fri 17:30"')
    assert "月曜 9:00" in await admin("digest schedule someday")  # explains the format
    assert "停止" in await admin("digest off")
    status = await admin("digest")
    assert "停止中" in status and "<#C0NEWS>" in status and "毎週金曜 17:30" in status
    assert "再開" in await admin("digest on")
    assert "議会想定問答" in await admin("digest pick council-qa-draft")
    config = await bot.runtime.digest.configs.get(TENANT)
    assert config.channels == ("C0NEWS",) and config.active
    assert str(config.schedule) == "fri 17:30" and config.featured_pick == "council-qa-draft"
    preview = await admin("digest preview")
    assert "週刊ダイジェスト" in preview
    # Not for staff.
    assert "管理者のみ" in await admin("digest off", user="U0001")
    assert (await bot.runtime.digest.configs.get(TENANT)).enabled
