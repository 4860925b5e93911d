"""Usage records: keyed pseudonyms, one database row (and one JSON log line) per turn through the
real Slack flow, category carried through a thread, departments from Slack, retention purge and
key rotation; SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.logs import configure_logging
from bot.storage import Database
from bot.storage.usage_tables import UsageEntityRow, UsageEventRow, UsageFeedbackRow
from bot.usage import (
    DatabaseUsageRecorder,
    Departments,
    FanOutRecorder,
    UsageEvent,
    key_id,
    pseudonym,
    purge_usage,
    record_feedback,
    thread_pseudonym,
)
from tests.harness import BotHarness
from tests.peers import Reply, app_mention, dm_message, thread_reply

CHANNEL = "C0001"


async def rows(db: Database) -> list[UsageEventRow]:
    async with db.session() as session:
        return list(await session.scalars(select(UsageEventRow).order_by(UsageEventRow.time)))


def test_pseudonyms_are_stable_within_a_key_and_differ_across_keys() -> None:
    one, two = b"key-one", b"key-two"
    assert pseudonym("U0001", one) == pseudonym("U0001", one)
    assert pseudonym("U0001", one) != pseudonym("U0001", two)
    assert pseudonym("U0001", one) != pseudonym("U0002", one)
    value = pseudonym("U0001", one)
    assert len(value) == 32 and "U0001" not in value and int(value, 16) >= 0
    # Keyed, not a plain hash: knowing the id alone does not give the pseudonym.
    import hashlib

    assert value != hashlib.sha256(b"U0001").hexdigest()[:32]
    # Thread keys are domain-separated from user pseudonyms.
    assert thread_pseudonym("T1", "C1", "1.2", one) == thread_pseudonym("T1", "C1", "1.2", one)
    assert thread_pseudonym("T1", "C1", "1.2", one) != thread_pseudonym("T2", "C1", "1.2", one)
    assert key_id(one) == key_id(one) != key_id(two) and len(key_id(one)) == 8


def usage_event(when: datetime, **fields: object) -> UsageEvent:
    values: dict = {
        "tenant": "T1",
        "user_pseudonym": "p1",
        "channel_type": "dm",
        "model": "gpt-4o-mini",
        "outcome": "ok",
    }
    values.update(fields)
    return UsageEvent(time=when, **values)


async def test_answered_turns_are_stored_with_category_carried_through_the_thread(
    tmp_path: Path, database_url: str
) -> None:
    async with BotHarness(tmp_path, database_url=database_url) as bot:
        bot.openai.script(Reply(text="案です。", usage=(120, 30)), Reply(text="短くしました。"))
        first = app_mention("敬老会のあいさつ文を作ってください")
        await bot.send(first)
        await bot.usage.wait(1)
        await bot.send(thread_reply("もう少し短くして", thread_ts=first["ts"]))
        await bot.usage.wait(2)
        stored = await rows(bot.runtime.db)
        memory = bot.usage.events
    assert [r.id for r in stored] == [e.id for e in memory]
    one, two = stored
    assert one.category == two.category == "greeting"  # from the first turn only
    assert (one.new_conversation, two.new_conversation) == (True, False)
    assert one.thread_key == two.thread_key and one.user_pseudonym == two.user_pseudonym
    assert one.user_pseudonym == pseudonym("U0001", b"test-pseudonym-key")
    assert one.key_id == key_id(b"test-pseudonym-key")
    assert (one.input_tokens, one.output_tokens, one.tokens_estimated) == (120, 30, False)
    assert one.cost == pytest.approx((120 * 23 + 30 * 90) / 1_000_000)
    assert one.outcome == "ok" and one.channel_type == "channel" and one.model == "gpt-4o-mini"
    assert one.department is None  # no department mapping configured

    # A restarted bot (empty cache) finds the thread's category in the database.
    async with BotHarness(tmp_path / "again", database_url=database_url) as bot:
        await bot.send(thread_reply("ありがとう、もう一案", thread_ts=first["ts"]))
        await bot.usage.wait(1)
        assert bot.usage.events[0].category == "greeting"


async def test_masked_and_blocked_counts_are_stored_per_type(
    tmp_path: Path, database_url: str
) -> None:
    async with BotHarness(tmp_path, database_url=database_url) as bot:
        await bot.send(dm_message("山田太郎さん（090-1234-5678）への返信を書いて"))
        await bot.usage.wait(1)
        await bot.send(dm_message("個人番号は123456789018です"))
        await bot.usage.wait(2)
        async with bot.runtime.db.session() as session:
            entities = (
                await session.execute(
                    select(
                        UsageEntityRow.entity_type, UsageEntityRow.masked, UsageEntityRow.blocked
                    )
                    .join(UsageEventRow, UsageEventRow.id == UsageEntityRow.event_id)
                    .order_by(UsageEventRow.time, UsageEntityRow.entity_type)
                )
            ).all()
        stored = await rows(bot.runtime.db)
    assert entities == [("PERSON", 1, False), ("PHONE", 1, False), ("MY_NUMBER", 1, True)]
    assert [(r.outcome, r.error_kind, r.blocked) for r in stored] == [
        ("ok", None, False),
        ("refused", "blocked", True),
    ]


async def test_each_turn_is_one_json_log_line_with_opentelemetry_names(tmp_path: Path) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    async with BotHarness(tmp_path) as bot:
        bot.openai.script(Reply(text="はい。", usage=(50, 5)))
        await bot.send(dm_message("議事録の要約のコツ"))
        await bot.usage.wait(1)
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    [usage] = [line for line in lines if line.get("event") == "usage"]
    assert usage["gen_ai.request.model"] == "gpt-4o-mini"
    assert usage["gen_ai.usage.input_tokens"] == 50
    assert usage["gen_ai.usage.output_tokens"] == 5
    allowed = set(UsageEvent.__dataclass_fields__) - {"model", "input_tokens", "output_tokens"}
    allowed |= {"gen_ai.request.model", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"}
    allowed |= {"event", "level", "timestamp"}  # added by the log pipeline
    assert set(usage) <= allowed


async def test_department_from_slack_user_groups(tmp_path: Path) -> None:
    async with BotHarness(tmp_path, department_usergroups="S0001=総務課,S0002=市民課") as bot:
        bot.slack.add_user("U0002", real_name="佐藤 次郎")
        bot.slack.add_usergroup("S0001", ["U0009"])
        bot.slack.add_usergroup("S0002", ["U0001", "U0002"])
        await bot.send(dm_message("こんにちは", user="U0001"))
        await bot.usage.wait(1)
        await bot.send(dm_message("こんにちは", user="U0002", channel="D0002"))
        await bot.usage.wait(2)
        await bot.send(dm_message("こんにちは", user="U0003", channel="D0003"))
        await bot.usage.wait(3)
        stored = await rows(bot.runtime.db)
        # Members are fetched once per group and cached, not once per turn.
        assert len(bot.slack.calls_to("usergroups.users.list")) == 2
    assert [r.department for r in stored] == ["市民課", "市民課", None]


async def test_department_from_a_profile_field_and_lookup_failures(tmp_path: Path) -> None:
    async with BotHarness(tmp_path, department_profile_field="title") as bot:
        bot.slack.add_user("U0002", real_name="佐藤 次郎", title="")
        await bot.send(dm_message("こんにちは", user="U0001"))  # title 「市民課 主任」
        await bot.usage.wait(1)
        await bot.send(dm_message("こんにちは", user="U0002", channel="D0002"))
        await bot.usage.wait(2)
        bot.slack.fail_next("users.info", error="ratelimited", status=503)
        await bot.send(dm_message("こんにちは", user="U0404", channel="D0404"))
        await bot.usage.wait(3)
        stored = await rows(bot.runtime.db)
        answers = bot.thread("D0404", bot.slack.calls_to("chat.postMessage")[-1].args["thread_ts"])
    assert [r.department for r in stored] == ["市民課 主任", None, None]
    assert stored[2].outcome == "ok" and answers  # the failed lookup never hurt the turn


async def test_departments_holder_never_raises() -> None:
    async def broken(_tenant: str, _user: str) -> str | None:
        raise RuntimeError("directory down")

    assert await Departments(broken).of("T1", "U1") is None
    assert await Departments().of("T1", "U1") is None

    async def long_name(_tenant: str, _user: str) -> str | None:
        return "  " + "課" * 300 + "  "

    assert await Departments(long_name).of("T1", "U1") == "課" * 128


async def test_fan_out_keeps_recording_when_one_recorder_fails(db: Database) -> None:
    class Broken:
        async def record(self, event: UsageEvent) -> None:
            raise RuntimeError("sink down")

    seen: list[UsageEvent] = []

    class Keep:
        async def record(self, event: UsageEvent) -> None:
            seen.append(event)

    recorder = FanOutRecorder(Broken(), DatabaseUsageRecorder(db, log_lines=False), Keep())
    with pytest.raises(RuntimeError):
        await recorder.record(usage_event(datetime.now(UTC)))
    assert len(seen) == 1 and len(await rows(db)) == 1


async def test_retention_purge_removes_old_events_entities_and_feedback(db: Database) -> None:
    recorder = DatabaseUsageRecorder(db, log_lines=False)
    now = datetime(2026, 11, 26, tzinfo=UTC)
    old = usage_event(now - timedelta(days=800), masked_counts={"PERSON": 2})
    recent = usage_event(now - timedelta(days=10), masked_counts={"PHONE": 1})
    for item in (old, recent):
        await recorder.record(item)
        await record_feedback(
            db, tenant="T1", event_id=item.id, user_pseudonym="p1", rating=1, now=item.time
        )
    counts = await purge_usage(db, timedelta(days=730), now=now)
    assert counts == {"usage_events": 1, "usage_entities": 1, "usage_feedback": 1}
    assert [r.id for r in await rows(db)] == [recent.id]
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(UsageFeedbackRow)) == 1
        assert await session.scalar(select(func.count()).select_from(UsageEntityRow)) == 1


async def test_feedback_is_the_askers_and_the_latest_click_wins(db: Database) -> None:
    recorder = DatabaseUsageRecorder(db, log_lines=False)
    item = usage_event(datetime.now(UTC))
    await recorder.record(item)
    state = await record_feedback(db, tenant="T1", event_id=item.id, user_pseudonym="p1", rating=1)
    assert (state.rating, state.minutes_saved, state.asker) == (1, None, True)
    state = await record_feedback(
        db, tenant="T1", event_id=item.id, user_pseudonym="p1", minutes_saved=30
    )
    assert (state.rating, state.minutes_saved) == (1, 30)
    state = await record_feedback(db, tenant="T1", event_id=item.id, user_pseudonym="p1", rating=-1)
    assert (state.rating, state.minutes_saved) == (-1, 30)
    other = await record_feedback(
        db, tenant="T1", event_id=item.id, user_pseudonym="someone-else", rating=1
    )
    assert other.asker is False
    wrong_workspace = await record_feedback(
        db, tenant="T2", event_id=item.id, user_pseudonym="p1", rating=1
    )
    assert wrong_workspace.asker is False
    # A click that arrives before the event row is written is kept (and checked in reports).
    early = await record_feedback(db, tenant="T1", event_id="f" * 32, user_pseudonym="p1", rating=1)
    assert early.asker is None and early.rating == 1
    with pytest.raises(ValueError):
        await record_feedback(db, tenant="T1", event_id=item.id, user_pseudonym="p1", rating=2)
    with pytest.raises(ValueError):
        await record_feedback(
            db, tenant="T1", event_id=item.id, user_pseudonym="p1", minutes_saved=7
        )
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(UsageFeedbackRow)) == 2


def test_db_purge_command_applies_the_usage_retention(tmp_path: Path, monkeypatch, capsys) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'u.db'}"

    async def seed() -> None:
        database = Database(url)
        await database.upgrade()
        recorder = DatabaseUsageRecorder(database, log_lines=False)
        now = datetime.now(UTC)
        await recorder.record(usage_event(now - timedelta(days=40)))
        await recorder.record(usage_event(now - timedelta(days=5)))
        await database.dispose()

    asyncio.run(seed())
    monkeypatch.setenv("MADOGUCHI_DATABASE_URL", url)
    monkeypatch.setenv("MADOGUCHI_USAGE_RETENTION_DAYS", "30")
    assert main(["db", "purge"]) == 0
    assert "usage_events=1" in capsys.readouterr().out
    assert main(["db", "purge"]) == 0
    assert "usage_events=0" in capsys.readouterr().out


async def test_rotating_the_key_keeps_old_events_and_starts_new_pseudonyms(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'k.db'}"
    # No MADOGUCHI_PSEUDONYM_KEY: the key lives in a file beside the SQLite database.
    async with BotHarness(tmp_path, database_url=url, pseudonym_key=None) as bot:
        await bot.send(dm_message("こんにちは"))
        await bot.usage.wait(1)
    key_file = tmp_path / ".madoguchi-pseudonym-key"
    before = key_file.read_bytes()
    monkeypatch.setenv("MADOGUCHI_DATABASE_URL", url)
    # The command runs its own event loop, as from a shell.
    assert await asyncio.to_thread(main, ["db", "rotate-pseudonym-key"]) == 0
    assert "key_id" in capsys.readouterr().out
    assert key_file.read_bytes() != before and oct(key_file.stat().st_mode & 0o777) == "0o600"
    async with BotHarness(tmp_path, database_url=url, pseudonym_key=None) as bot:
        await bot.send(dm_message("こんにちは"))
        await bot.usage.wait(1)
        stored = await rows(bot.runtime.db)
    assert len(stored) == 2
    assert stored[0].user_pseudonym != stored[1].user_pseudonym
    assert stored[0].key_id == key_id(before.strip()) != stored[1].key_id
    # With the key in the environment the command prints a new key to set everywhere.
    monkeypatch.setenv("MADOGUCHI_PSEUDONYM_KEY", "configured-key")
    assert await asyncio.to_thread(main, ["db", "rotate-pseudonym-key"]) == 0
    assert "MADOGUCHI_PSEUDONYM_KEY" in capsys.readouterr().out
