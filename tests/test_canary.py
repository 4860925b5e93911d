"""Canary: a conversation full of planted personal data, from a known Slack user with a name,
an e-mail and a department in the directory. Afterwards no log line, no usage row and no report
(text, CSV, JSON, PNG) contains any of it — only counts, kinds and keyed pseudonyms."""

from __future__ import annotations

import io
import json
from pathlib import Path

from sqlalchemy import select

from bot.logs import configure_logging
from bot.reports import build_report
from bot.storage.usage_tables import UsageEntityRow, UsageEventRow, UsageFeedbackRow
from handlers.feedback import ACTION_GOOD, ACTION_MINUTES
from tests.harness import SIGNING_SECRET, BotHarness
from tests.peers import (
    Reply,
    Status,
    app_mention,
    block_actions,
    post_interaction,
    thread_reply,
)

USER = "U0001"  # 山田 花子 in the fake directory, yamada.hanako@city.example.lg.jp
CHANNEL = "C0001"
PLANTED = (
    "住民の鈴木一郎さん（東京都千代田区丸の内1-1-1、電話090-1234-5678、"
    "メール ichiro.suzuki@example.jp、口座 1234567）から苦情がありました。回答文を作ってください。"
)
CANARIES = [
    # the planted data
    "鈴木",
    "一郎",
    "丸の内",
    "千代田区",
    "090-1234-5678",
    "09012345678",
    "ichiro.suzuki",
    "123456789018",
    "苦情",
    # the asker: Slack id, name, handle, e-mail
    USER,
    "山田",
    "花子",
    "yamada",
    "city.example.lg.jp",
]


async def test_no_personal_data_in_logs_usage_rows_or_reports(
    tmp_path: Path, database_url: str
) -> None:
    logs = io.StringIO()
    configure_logging("DEBUG", stream=logs)
    async with BotHarness(
        tmp_path,
        database_url=database_url,
        department_usergroups="S0001=市民課",
        department_profile_field="title",  # the fallback; U0001's title is 「市民課 主任」
    ) as bot:
        bot.slack.add_usergroup("S0001", [USER])
        bot.openai.script(
            # The model repeats the placeholders; the user sees the real values again.
            lambda req: Reply(
                text=f"{req.last_user_text[:40]}様、お問い合わせありがとうございます。"
            ),
            Reply(text="鈴木一郎様への回答案を短くしました。"),
            Status(500),
            Status(500),
            Status(500),
        )
        first = app_mention(PLANTED, user=USER)
        await bot.send(first)
        await bot.usage.wait(1)
        await bot.send(
            thread_reply(
                "鈴木一郎さんの電話090-1234-5678を含めて短く", thread_ts=first["ts"], user=USER
            )
        )
        await bot.usage.wait(2)
        await bot.send(app_mention("個人番号123456789018の鈴木一郎さんについて", user=USER))
        await bot.usage.wait(3)
        await bot.send(app_mention("山田花子です。鈴木一郎さんの件で", user=USER))
        [*_, failed] = await bot.usage.wait(4, timeout=20)
        assert failed.outcome == "error"

        # The user sees the real values in Slack (that is the point) …
        answer = bot.thread(CHANNEL, first["ts"])[0]
        assert "鈴木一郎" in json.dumps(answer.blocks, ensure_ascii=False)
        # … and clicks the feedback controls.
        turn_id = bot.usage.events[0].id
        for action_id, selected in ((ACTION_GOOD, None), (ACTION_MINUTES, f"{turn_id}:30")):
            payload = block_actions(
                action_id,
                value=turn_id,
                user=USER,
                channel=CHANNEL,
                message_ts=answer.ts,
                message=bot.slack.message(CHANNEL, answer.ts).to_api(),
            )
            if selected:
                payload["actions"][0]["selected_option"] = {"value": selected}
            await post_interaction(bot.url + "/slack/events", payload, SIGNING_SECRET)
            await bot.slack.wait_for(
                lambda c: (
                    c.method == "chat.update"
                    and c.args.get("ts") == answer.ts
                    and "madoguchi_feedback_thanks" in json.dumps(c.args.get("blocks"))
                ),
                count=1 if selected is None else 2,
            )

        db = bot.runtime.db
        stored: list[str] = []
        async with db.session() as session:
            for table in (UsageEventRow, UsageEntityRow, UsageFeedbackRow):
                for row in await session.scalars(select(table)):
                    stored.append(
                        json.dumps(
                            {c.name: str(getattr(row, c.key)) for c in table.__table__.columns},
                            ensure_ascii=False,
                        )
                    )
        report = await build_report(db, "T0001", "week", current=True, k=1)
        outputs = {
            "text": report.text(),
            "csv": report.csv().decode("utf-8-sig"),
            "json": report.json(),
        }
        png = report.png()

    log_text = logs.getvalue()
    # The canary must look at real records, or it proves nothing.
    assert len(stored) >= 4 + 2 and '"event": "usage"' in log_text
    # The department (a group, not a person) is recorded: the user group wins over the profile.
    assert '"department": "市民課"' in "".join(stored)
    assert report.current.turns == 2 and report.current.blocked_messages == 1
    assert report.current.feedback_count == 1
    slack_ids = [first["ts"], answer.ts]  # message timestamps are Slack ids too
    for canary in CANARIES:
        assert canary not in log_text, f"{canary!r} leaked into the logs"
        for row in stored:
            assert canary not in row, f"{canary!r} leaked into a usage row: {row}"
        for name, output in outputs.items():
            assert canary not in output, f"{canary!r} leaked into the {name} report"
        assert canary.encode("utf-8") not in png
    for slack_id in slack_ids:
        assert all(slack_id not in row for row in stored)
        assert all(slack_id not in output for output in outputs.values())
