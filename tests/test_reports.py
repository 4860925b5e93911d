"""Reports: figures equal hand-computed values on a fixture, k-anonymity merging, periods, CSV
for Excel (UTF-8 with BOM), JSON, a valid PNG chart, the CLI; SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import struct
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.reports import JST, build_report, period_bounds, period_figures
from bot.reports.chart import HEIGHT_PX, WIDTH_PX, japanese_font, render_png
from bot.reports.kanon import Group, protect
from bot.storage import Database
from bot.usage import DatabaseUsageRecorder, UsageEvent, record_feedback

TENANT = "T1"
# Thursday 2026-11-26 in Japan: "last week" is Monday 11-16 to Sunday 11-22.
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=JST)
DEPARTMENT = {"a": "市民課", "b": "市民課", "c": "市民課", "d": "総務課", "e": "総務課", "f": None}


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A moment in November 2026, Japan time."""
    return datetime(2026, 11, day, hour, minute, tzinfo=JST)


def event(
    when: datetime,
    user: str,
    thread: str,
    category: str | None,
    *,
    outcome: str = "ok",
    tenant: str = TENANT,
    key: str = "k1",
    **fields: object,
) -> UsageEvent:
    ok = outcome == "ok"
    values: dict = {
        "model": "gpt-4o-mini",
        "channel_type": "dm",
        "input_tokens": 100 if ok else 0,
        "output_tokens": 50 if ok else 0,
        "cost": 1.0 if ok else 0.0,
        "latency_ms": 2000,
        "first_token_ms": 500 if ok else None,
    }
    values.update(fields)
    return UsageEvent(
        time=when,
        tenant=tenant,
        user_pseudonym=f"pseudo-{user}",
        key_id=key,
        thread_key=f"thread-{thread}",
        department=DEPARTMENT.get(user),
        outcome=outcome,
        category=category,
        **values,
    )


async def load_fixture(db: Database) -> dict[str, str]:
    """The fixture the expected numbers below were computed from by hand (k = 3)."""
    recorder = DatabaseUsageRecorder(db, log_lines=False)
    events = {
        # ---- last week (Mon 16 – Sun 22)
        "t1a": event(
            at(16),
            "a",
            "t1",
            "minutes",
            new_conversation=True,
            masked_counts={"PERSON": 2, "PHONE": 1},
        ),
        "t1b": event(at(16, 10, 5), "a", "t1", "minutes"),
        "t2": event(
            at(17), "b", "t2", "minutes", new_conversation=True, masked_counts={"PERSON": 1}
        ),
        "t3": event(at(18), "c", "t3", "minutes", new_conversation=True),
        "t4": event(at(18, 15), "a", "t4", "greeting", new_conversation=True),
        "t5": event(at(19), "d", "t5", "greeting", new_conversation=True, template_id="aisatsu"),
        "t6": event(at(20), "e", "t6", "code", new_conversation=True),
        "t7": event(
            at(20, 16),
            "f",
            "t7",
            "translation",
            new_conversation=True,
            model="gpt-4o",
            channel_type="channel",
        ),
        "t8": event(at(21), "b", "t8", "minutes"),  # thread started the week before
        "t10": event(at(21, 11), "e", "t10", "greeting", new_conversation=True),
        "refused": event(
            at(22),
            "a",
            "t9",
            "other",
            outcome="refused",
            error_kind="blocked",
            blocked=True,
            blocked_types=["MY_NUMBER"],
            masked_counts={"PERSON": 1},
            new_conversation=True,  # started, never answered: not a new thread in reports
        ),
        "error": event(
            at(22, 12),
            "c",
            "t3",
            "minutes",
            outcome="error",
            error_kind="timeout",
            input_tokens=100,
            cost=0.5,
        ),
        # ---- outside the week or the workspace: never counted
        "next_week": event(at(23, 0, 0), "a", "t1", "minutes"),
        "other_tenant": event(at(18), "z", "tz", "minutes", tenant="T2"),
        # ---- the week before (Mon 9 – Sun 15)
        "p8": event(at(14), "b", "t8", "minutes", new_conversation=True),
        "p11": event(at(15, 9), "a", "t11", "greeting", new_conversation=True),
    }
    for item in events.values():
        await recorder.record(item)

    async def feedback(name: str, user: str, **kw: int) -> None:
        await record_feedback(
            db, tenant=TENANT, event_id=events[name].id, user_pseudonym=f"pseudo-{user}", **kw
        )

    await feedback("t1a", "a", rating=1)
    await feedback("t1a", "a", minutes_saved=15)
    await feedback("t2", "b", rating=1, minutes_saved=30)
    await feedback("t3", "c", rating=-1, minutes_saved=0)
    await feedback("t5", "d", rating=1)
    await feedback("t6", "e", minutes_saved=60)
    await feedback("t4", "f", rating=1)  # not the asker: not stored
    await feedback("p8", "b", rating=1)
    return {name: e.id for name, e in events.items()}


async def test_report_figures_equal_hand_computed_values(db: Database) -> None:
    await load_fixture(db)
    report = await build_report(db, TENANT, "week", now=NOW, k=3, headcount=60)
    cur, prev = report.current, report.previous
    assert cur.period.first_day == date(2026, 11, 16) and cur.period.last_day == date(2026, 11, 22)
    assert (cur.active_users, cur.turns, cur.threads, cur.new_threads) == (6, 10, 9, 8)
    assert cur.staff_share == pytest.approx(0.1)
    assert (cur.refused, cur.errors, cur.refused_kinds, cur.error_kinds) == (
        1,
        1,
        {"blocked": 1},
        {"timeout": 1},
    )
    assert (cur.input_tokens, cur.output_tokens, cur.cost) == (1100, 500, pytest.approx(10.5))
    # 3 minutes threads × 30 + 3 greeting × 20 + 1 code × 40 + 1 translation × 20 = 210 min
    assert cur.minutes_saved_estimated == 210 and cur.hours_saved_estimated == 3.5
    # the askers' own choices: 15 + 30 + 0 + 60
    assert cur.minutes_saved_self == 105 and cur.minutes_reports == 4
    assert (cur.thumbs_up, cur.thumbs_down, cur.satisfaction) == (3, 1, 0.75)
    assert cur.feedback_count == 5
    assert cur.masked == {"PERSON": 4, "PHONE": 1}
    assert cur.blocked_by_type == {"MY_NUMBER": 1} and cur.blocked_messages == 1
    assert cur.channel_types == {"dm": 9, "channel": 1} and cur.template_turns == 1
    assert (cur.avg_latency_ms, cur.avg_first_token_ms) == (2000, 500)
    assert [n for _d, n in cur.buckets] == [2, 1, 2, 1, 2, 2, 0]
    # k = 3: code (e) and translation (f) have one user each → 「その他」 with 2 users
    assert [(r.key, r.label, r.turns, r.users) for r in cur.categories] == [
        ("minutes", "議事録・要約", 5, 3),
        ("greeting", "あいさつ文", 3, 3),
        ("other", "その他", 2, 2),
    ]
    assert [(r.label, r.turns, r.users) for r in cur.departments] == [
        ("市民課", 6, 3),
        ("その他", 4, 3),  # 総務課 (2 users) and 未設定 (1) merged
    ]
    [mini, other_model] = cur.models
    assert (mini.key, mini.turns, mini.users) == ("gpt-4o-mini", 9, 5)
    assert mini.sums == {"input_tokens": 1000, "output_tokens": 450, "cost": pytest.approx(9.5)}
    assert (other_model.label, other_model.turns, other_model.users) == ("その他", 1, 1)
    # the week before
    assert (prev.active_users, prev.turns, prev.threads, prev.new_threads) == (2, 2, 2, 2)
    assert prev.minutes_saved_estimated == 50 and prev.satisfaction == 1.0


async def test_period_figures_contract_for_the_digest(db: Database) -> None:
    await load_fixture(db)
    period = period_bounds("week", now=NOW)
    figures = await period_figures(db, TENANT, period.start, period.end, headcount=60, k=3)
    assert figures.start == datetime(2026, 11, 15, 15, tzinfo=UTC)
    assert figures.end == datetime(2026, 11, 22, 15, tzinfo=UTC)
    assert (figures.active_users, figures.turns, figures.threads) == (6, 10, 9)
    assert figures.staff_share == pytest.approx(0.1)
    assert figures.top_categories == [
        ("minutes", "議事録・要約", 5),
        ("greeting", "あいさつ文", 3),
        ("other", "その他", 2),
    ]
    assert (figures.hours_saved_self, figures.hours_saved_estimated) == (1.75, 3.5)
    assert (figures.satisfaction, figures.feedback_count) == (0.75, 5)
    # Without a headcount there is no share; with the default k = 5 nothing is shown alone.
    default = await period_figures(db, TENANT, period.start, period.end)
    assert default.staff_share is None
    assert default.top_categories == [("other", "その他", 10)]
    empty = await period_figures(db, "T-none", period.start, period.end)
    assert (empty.active_users, empty.turns, empty.satisfaction, empty.top_categories) == (
        0,
        0,
        None,
        [],
    )


async def test_text_report_in_japanese_with_trends(db: Database) -> None:
    await load_fixture(db)
    report = await build_report(db, TENANT, "week", now=NOW, k=3, headcount=60)
    text = report.text()
    assert text.startswith("*窓口 利用状況レポート（週次）* 2026/11/16（月） 〜 2026/11/22（日）")
    assert "・利用者数: 6人（職員 60人の 10.0%）（前週 2、+4）" in text
    assert "・回答数: 10件（前週 2、+8）／スレッド数: 9件（うち新規 8件）" in text
    assert "・節約時間（利用者の申告）: 1.8時間（4件の回答で申告" in text
    assert "・節約時間（推計）: 3.5時間（新規スレッド 8件" in text
    assert "・満足度: 75.0%（👍 3／👎 1、前週 100.0%、−25ポイント）" in text
    assert "・議事録・要約: 5件（3人）" in text and "・その他: 2件（2人）" in text
    assert "利用者が3人未満の区分は「その他」" in text
    assert "・市民課: 6件（3人）" in text and "総務課" not in text
    assert "・伏せ字にした情報: 人名 4件、電話番号 1件" in text
    assert "・送信を止めたメッセージ: 1件（マイナンバー 1件）" in text
    assert "・エラー: 1件（タイムアウト 1件）" in text
    assert "仮名の鍵" not in text  # one key in the period
    english = await build_report(db, TENANT, "week", now=NOW, k=3, lang="en")
    assert "• Active users: 6 (prev. week 2, +4)" in english.text()


async def test_csv_opens_in_excel(db: Database) -> None:
    await load_fixture(db)
    report = await build_report(db, TENANT, "week", now=NOW, k=3)
    data = report.csv()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark: Excel reads Japanese
    text = data.decode("utf-8-sig")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["区分", "項目ID", "項目", "指標", "今期", "前期"]
    by_key = {(r[0], r[1], r[3]): r for r in rows[1:]}
    assert by_key[("概要", "active_users", "")][4:] == ["6", "2"]
    assert by_key[("概要", "hours_saved_estimated", "")][4:] == ["3.5", "0.8333"]
    # The week before, 議事録・要約 had one user (< k): it was only part of 「その他」 then.
    assert by_key[("カテゴリ", "minutes", "回答数")][2:] == ["議事録・要約", "回答数", "5", ""]
    assert by_key[("カテゴリ", "other", "回答数")][4:] == ["2", "2"]
    assert by_key[("伏せ字", "PERSON", "件数")][4:] == ["4", "0"]
    assert by_key[("日別", "2026-11-16", "回答数")][4] == "2"
    assert all(len(r) == 6 for r in rows)


async def test_json_report(db: Database) -> None:
    await load_fixture(db)
    report = await build_report(db, TENANT, "week", now=NOW, k=3)
    data = json.loads(report.json())
    assert data["period"]["first_day"] == "2026-11-16" and data["k_anonymity"] == 3
    assert data["current"]["active_users"] == 6
    assert data["current"]["gen_ai.usage.input_tokens"] == 1100
    assert data["current"]["categories"][0] == {
        "id": "minutes",
        "label": "議事録・要約",
        "turns": 5,
        "users": 3,
    }
    assert data["previous"]["turns"] == 2


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


async def test_png_chart_is_a_valid_png_of_the_expected_size(db: Database) -> None:
    await load_fixture(db)
    report = await build_report(db, TENANT, "week", now=NOW, k=3)
    ascii_png = render_png(report, font=False)  # what a machine without a Japanese font gets
    assert _png_size(ascii_png) == (WIDTH_PX, HEIGHT_PX)
    assert ascii_png.endswith(b"IEND\xaeB`\x82")
    assert len(ascii_png) > 20_000  # four drawn panels, not a blank canvas
    png = report.png()
    assert _png_size(png) == (WIDTH_PX, HEIGHT_PX)
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    image.verify()


def test_japanese_font_is_used_when_installed() -> None:
    family = japanese_font()
    if family is None:
        pytest.skip("no Japanese font installed (apt: fonts-ipaexfont or fonts-noto-cjk)")
    from matplotlib import font_manager

    assert family in {f.name for f in font_manager.fontManager.ttflist}


async def test_empty_period_renders_everywhere(db: Database) -> None:
    report = await build_report(db, "T-empty", "month", now=NOW)
    assert "この期間の利用記録はありません。" in report.text()
    assert report.period.first_day == date(2026, 10, 1)
    assert report.period.last_day == date(2026, 10, 31)
    assert report.previous.period.first_day == date(2026, 9, 1)
    assert _png_size(render_png(report, font=False)) == (WIDTH_PX, HEIGHT_PX)
    assert json.loads(report.json())["current"]["turns"] == 0
    assert report.csv().startswith(b"\xef\xbb\xbf")


def test_k_anonymity_merges_small_groups_and_never_ranks_people() -> None:
    groups = [
        Group("minutes", "議事録・要約", 40, {"k1": 9}),
        Group("code", "Excel・VBA・コード", 12, {"k1": 4}),
        Group("greeting", "あいさつ文", 30, {"k1": 5}),
        Group("other", "その他", 3, {"k1": 7}),
    ]
    rows, merged = protect(groups, 5)
    assert [(r.key, r.turns) for r in rows] == [("minutes", 40), ("greeting", 30), ("other", 15)]
    assert sorted(merged) == ["code", "other"]
    # Across a key rotation one person has two pseudonyms: the k test uses the larger per-key
    # count (4 here), so 3 + 3 people under two keys are not mistaken for 6.
    rotated = [Group("council", "議会答弁", 8, {"k1": 4, "k2": 3})]
    rows, _merged = protect(rotated, 5)
    assert [r.key for r in rows] == ["other"]
    assert protect([], 5) == ([], [])


async def test_key_rotation_keeps_periods_countable(db: Database) -> None:
    recorder = DatabaseUsageRecorder(db, log_lines=False)
    # Two people before the rotation (key k1), the same two after it (key k2) in the same week.
    for user, key, day in (("a", "k1", 16), ("b", "k1", 16), ("a2", "k2", 19), ("b2", "k2", 19)):
        await recorder.record(event(at(day), user, f"t-{user}", "minutes", key=key))
    report = await build_report(db, TENANT, "week", now=NOW, k=3)
    assert report.current.key_ids == 2 and report.current.active_users == 4
    # k = 3: 4 pseudonyms, but at most 2 under one key → merged, never shown as 4 people.
    assert [r.key for r in report.current.categories] == ["other"]
    assert "仮名の鍵が切り替わった" in report.text()


def test_periods_are_japan_weeks_and_months() -> None:
    # Monday 00:30 in Japan is still Sunday in UTC: the week is Japan's.
    monday = datetime(2026, 11, 23, 0, 30, tzinfo=JST)
    week = period_bounds("week", now=monday)
    assert (week.first_day, week.last_day) == (date(2026, 11, 16), date(2026, 11, 22))
    assert week.start == datetime(2026, 11, 15, 15, tzinfo=UTC)
    assert week.previous().first_day == date(2026, 11, 9)
    running = period_bounds("week", now=monday, current=True)
    assert running.first_day == date(2026, 11, 23) and running.end == monday
    month = period_bounds("month", now=datetime(2026, 3, 10, tzinfo=JST))
    assert (month.first_day, month.last_day) == (date(2026, 2, 1), date(2026, 2, 28))
    assert month.previous().first_day == date(2026, 1, 1)
    custom = period_bounds("custom", start=date(2026, 4, 1), end=date(2027, 3, 31))
    assert len(custom.days()) == 365 and custom.previous().last_day == date(2026, 3, 31)
    with pytest.raises(ValueError):
        period_bounds("custom", start=date(2026, 4, 2), end=date(2026, 4, 1))


async def test_long_custom_period_is_charted_per_week(db: Database) -> None:
    await load_fixture(db)
    report = await build_report(
        db, TENANT, "custom", start=date(2026, 9, 1), end=date(2026, 11, 30), k=3
    )
    assert report.current.bucket_days == 7
    assert sum(n for _d, n in report.current.buckets) == report.current.turns == 13
    assert _png_size(render_png(report, font=False)) == (WIDTH_PX, HEIGHT_PX)


def test_cli_report_formats(tmp_path: Path, monkeypatch, capsysbinary) -> None:
    import asyncio

    url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"

    async def seed() -> None:
        database = Database(url)
        await database.upgrade()
        await load_fixture(database)
        await database.dispose()

    asyncio.run(seed())
    monkeypatch.setenv("MADOGUCHI_DATABASE_URL", url)
    monkeypatch.setenv("MADOGUCHI_K_ANONYMITY", "3")
    # Two workspaces have records: the CLI asks which one.
    assert (
        main(["report", "--period", "custom", "--start", "2026-11-16", "--end", "2026-11-22"]) == 2
    )
    assert b"--tenant" in capsysbinary.readouterr().err
    args = ["report", "--tenant", TENANT, "--period", "custom", "--start", "2026-11-16"]
    assert main([*args, "--end", "2026-11-22"]) == 0
    out = capsysbinary.readouterr().out.decode("utf-8")
    assert "利用者数: 6人" in out
    target = tmp_path / "week.csv"
    assert main([*args, "--end", "2026-11-22", "--format", "csv", "-o", str(target)]) == 0
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")
    chart = tmp_path / "week.png"
    assert main([*args, "--end", "2026-11-22", "--format", "png", "-o", str(chart)]) == 0
    assert _png_size(chart.read_bytes()) == (WIDTH_PX, HEIGHT_PX)
    assert main([*args, "--end", "2026-11-22", "--format", "json"]) == 0
    assert json.loads(capsysbinary.readouterr().out)["current"]["turns"] == 10
    assert main(["report", "--tenant", TENANT, "--period", "custom"]) == 2


async def test_previous_period_of_a_custom_range_has_equal_length(db: Database) -> None:
    report = await build_report(
        db, TENANT, "custom", start=date(2026, 11, 16), end=date(2026, 11, 18)
    )
    assert report.previous.period.first_day == date(2026, 11, 13)
    assert report.previous.period.end - report.previous.period.start == timedelta(days=3)
