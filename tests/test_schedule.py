"""The digest's schedule: APScheduler fires at the configured Tokyo time (time travel, no
sleeping), exactly one digest per channel per week with several instances on one database,
the catch-up after downtime, retries after a refused post and none after an unknown one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from bot.digest import Week
from bot.schedule import DigestScheduler
from bot.storage.library_tables import DigestPostRow
from tests.peers import FakeSlackAPI
from tests.test_digest_env import TOKYO, digest_env, digest_posts, tokyo


@pytest.fixture
async def slack():
    async with FakeSlackAPI() as fake:
        yield fake


async def _rows(env) -> list[DigestPostRow]:
    async with env.db.session() as session:
        return list(await session.scalars(select(DigestPostRow).order_by(DigestPostRow.id)))


async def test_weekly_job_fires_at_the_configured_tokyo_time(
    tmp_path: Path, slack: FakeSlackAPI
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    # Monday 00:30 in Tokyo (still Sunday in UTC): the new week has begun in Tokyo, and its
    # digest is not due before 09:00 Tokyo time.
    with time_machine.travel(tokyo(2025, 11, 24, 0, 30), tick=False) as clock:
        async with digest_env(url, slack) as env:
            scheduler = DigestScheduler(env.service, env.poster, tz=TOKYO, check_minutes=10)
            await scheduler.start()
            await scheduler.idle()
            assert scheduler.next_run() == tokyo(2025, 11, 24, 9, 0)
            assert digest_posts(slack) == []

            clock.move_to(tokyo(2025, 11, 24, 8, 59))
            scheduler.wakeup()
            await scheduler.idle()
            assert digest_posts(slack) == []

            clock.move_to(tokyo(2025, 11, 24, 9, 0))
            scheduler.wakeup()
            await scheduler.idle()
            [post] = digest_posts(slack)
            assert "週刊ダイジェスト 2025年11月24日号" in post.args["text"]
            [row] = await _rows(env)
            assert (row.iso_year, row.iso_week, row.status) == (2025, 48, "posted")
            assert row.claimed_at.replace(tzinfo=UTC) == datetime(2025, 11, 24, 0, 0, tzinfo=UTC)
            # The next run is a week later; a check later the same week posts nothing more.
            assert scheduler.next_run() == tokyo(2025, 12, 1, 9, 0)
            clock.move_to(tokyo(2025, 11, 27, 12, 0))
            scheduler.wakeup()
            await scheduler.idle()
            assert len(digest_posts(slack)) == 1
            await scheduler.shutdown()


async def test_schedule_from_settings_and_admin_change(tmp_path: Path, slack: FakeSlackAPI) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    with time_machine.travel(tokyo(2025, 11, 24, 10, 0), tick=False) as clock:
        async with digest_env(url, slack, schedule="fri 17:30") as env:
            scheduler = DigestScheduler(env.service, env.poster, tz=TOKYO)
            await scheduler.start()
            await scheduler.idle()
            assert scheduler.next_run() == tokyo(2025, 11, 28, 17, 30)
            assert digest_posts(slack) == []
            # An admin (through any instance) moves it to Wednesday 8:15; the next check
            # picks the change up from the database.
            from bot.digest import Schedule

            await env.service.configs.update("T0001", schedule=Schedule.parse("水曜 8:15"))
            await scheduler.check()
            assert scheduler.next_run() == tokyo(2025, 11, 26, 8, 15)
            clock.move_to(tokyo(2025, 11, 26, 8, 15))
            scheduler.wakeup()
            await scheduler.idle()
            assert len(digest_posts(slack)) == 1
            await scheduler.shutdown()


async def test_one_digest_per_channel_per_week_with_two_instances(
    database_url: str, slack: FakeSlackAPI
) -> None:
    channels = ("C0DIGEST", "C0OTHER")
    now = tokyo(2025, 11, 24, 9, 0)
    async with (
        digest_env(database_url, slack, channels=channels) as one,
        digest_env(database_url, slack, channels=channels) as two,
    ):
        # Both instances' schedulers fire at the same minute, twice (a retry, a restart).
        rounds = [
            one.service.run_due(now, one.poster),
            two.service.run_due(now, two.poster),
            one.service.run_due(now + timedelta(seconds=1), one.poster),
            two.service.run_due(now + timedelta(minutes=10), two.poster),
        ]
        results = [r for batch in await asyncio.gather(*rounds) for r in batch]
        assert sorted(r.status for r in results if r.status == "posted") == ["posted"] * 2
        assert len(digest_posts(slack, "C0DIGEST")) == 1
        assert len(digest_posts(slack, "C0OTHER")) == 1
        # Both channels carry the same digest (the week's content is fixed once).
        texts = {
            c.args["text"] for c in digest_posts(slack, "C0DIGEST") + digest_posts(slack, "C0OTHER")
        }
        assert len(texts) == 1
        rows = await _rows(one)
        assert {(r.channel, r.status) for r in rows} == {(c, "posted") for c in channels}
        # Next week is a new record.
        await two.service.run_due(now + timedelta(days=7), two.poster)
        assert len(digest_posts(slack, "C0DIGEST")) == 2


async def test_missed_run_is_posted_when_the_bot_returns_the_same_week(
    tmp_path: Path, slack: FakeSlackAPI
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    # The bot was down on Monday; it starts again on Wednesday morning.
    with time_machine.travel(tokyo(2025, 11, 26, 10, 0), tick=False) as clock:
        async with digest_env(url, slack) as env:
            scheduler = DigestScheduler(env.service, env.poster, tz=TOKYO)
            await scheduler.start()
            await scheduler.idle()
            assert len(digest_posts(slack)) == 1
            await scheduler.shutdown()
        # Restarted again the same week (another deploy): not twice.
        clock.move_to(tokyo(2025, 11, 27, 9, 0))
        async with digest_env(url, slack) as env:
            scheduler = DigestScheduler(env.service, env.poster, tz=TOKYO)
            await scheduler.start()
            await scheduler.idle()
            assert len(digest_posts(slack)) == 1
            # Down over the next Monday until Tuesday: that week's digest follows on return.
            await scheduler.shutdown()
        clock.move_to(tokyo(2025, 12, 2, 7, 30))
        async with digest_env(url, slack) as env:
            scheduler = DigestScheduler(env.service, env.poster, tz=TOKYO)
            await scheduler.start()
            await scheduler.idle()
            assert len(digest_posts(slack)) == 2
            [_, row] = await _rows(env)
            assert Week(row.iso_year, row.iso_week) == Week(2025, 49)
            await scheduler.shutdown()


async def test_a_refused_post_is_retried_an_unknown_one_is_not(
    tmp_path: Path, slack: FakeSlackAPI
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    now = tokyo(2025, 11, 24, 9, 0)
    async with digest_env(url, slack) as env:
        slack.fail_next("chat.postMessage", error="not_in_channel")
        [first] = await env.service.run_due(now, env.poster)
        assert (first.status, first.reason) == ("failed", "not_in_channel")
        [second] = await env.service.run_due(now + timedelta(minutes=10), env.poster)
        assert second.status == "posted"
        assert len(digest_posts(slack)) == 1
    # A post that times out may have arrived: it is not repeated.
    async with digest_env(url, slack, channels=("C0SLOW",), http_timeout=1) as env:
        slack.set_latency("chat.postMessage", 3)
        [slow] = await env.service.run_due(now, env.poster)
        assert slow.status == "unknown"
        slack.set_latency("chat.postMessage", 0)
        [again] = await env.service.run_due(now + timedelta(minutes=10), env.poster)
        assert again.status == "skipped"
        attempts = [
            c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == "C0SLOW"
        ]
        assert len(attempts) == 1  # sent once, never repeated


async def test_a_claim_left_by_a_crashed_instance_is_taken_over(
    tmp_path: Path, slack: FakeSlackAPI
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    now = tokyo(2025, 11, 24, 9, 0)
    async with digest_env(url, slack) as env:
        async with env.db.session() as session:
            session.add(
                DigestPostRow(
                    tenant="T0001",
                    channel="C0DIGEST",
                    iso_year=2025,
                    iso_week=48,
                    status="claimed",
                    attempts=1,
                    claimed_at=now.astimezone(UTC),
                )
            )
            await session.commit()
        # Five minutes later the claimer might still be posting: leave it.
        [wait] = await env.service.run_due(now + timedelta(minutes=5), env.poster)
        assert wait.status == "skipped"
        # Twenty minutes later it is gone: take over.
        [taken] = await env.service.run_due(now + timedelta(minutes=20), env.poster)
        assert taken.status == "posted"
        assert len(digest_posts(slack)) == 1


async def test_post_now_respects_the_weekly_record_unless_forced(
    tmp_path: Path, slack: FakeSlackAPI
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    # Before Monday 09:00 the schedule is not due, but --post posts anyway …
    now = tokyo(2025, 11, 24, 8, 0)
    async with digest_env(url, slack) as env:
        [early] = await env.service.post_now("T0001", env.poster, now=now)
        assert early.status == "posted"
        # … and the scheduled run at 09:00 does not post again.
        assert [
            r.status for r in await env.service.run_due(now + timedelta(hours=1), env.poster)
        ] == ["skipped"]
        [forced] = await env.service.post_now("T0001", env.poster, now=now, force=True)
        assert forced.status == "posted"
        assert len(digest_posts(slack)) == 2


async def test_digest_off_or_without_channels_posts_nothing(
    tmp_path: Path, slack: FakeSlackAPI
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    now = tokyo(2025, 11, 24, 9, 0)
    async with digest_env(url, slack, channels=()) as env:
        assert await env.service.run_due(now, env.poster) == []
    async with digest_env(url, slack) as env:
        await env.service.configs.update("T0001", enabled=False)
        assert await env.service.run_due(now, env.poster) == []
        await env.service.configs.update("T0001", enabled=True)
        assert [r.status for r in await env.service.run_due(now, env.poster)] == ["posted"]


async def test_oauth_mode_posts_with_each_workspaces_token(
    tmp_path: Path, slack: FakeSlackAPI
) -> None:
    from handlers.library import SlackDigestPoster

    tokens = {"T0AAA": "xoxb-aaa"}

    async def lookup(tenant: str) -> str | None:
        return tokens.get(tenant)

    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    now = tokyo(2025, 11, 24, 9, 0)
    async with digest_env(url, slack, channels=()) as env:
        poster = SlackDigestPoster(env.client, lookup)
        assert await poster.home_tenant() is None  # no default workspace with OAuth
        await env.service.configs.update("T0AAA", home=False, channels=("C0AAA",))
        await env.service.configs.update("T0BBB", home=False, channels=("C0BBB",))
        results = {r.tenant: r.status for r in await env.service.run_due(now, poster)}
        assert results == {"T0AAA": "posted", "T0BBB": "failed"}  # B is not installed
        [post] = digest_posts(slack, "C0AAA")
        assert post.token == "xoxb-aaa"


async def test_two_schedulers_on_one_database_post_once(
    database_url: str, slack: FakeSlackAPI
) -> None:
    with time_machine.travel(tokyo(2025, 11, 24, 8, 0), tick=False) as clock:
        async with (
            digest_env(database_url, slack) as one,
            digest_env(database_url, slack) as two,
        ):
            schedulers = [DigestScheduler(env.service, env.poster, tz=TOKYO) for env in (one, two)]
            for scheduler in schedulers:
                await scheduler.start()
            clock.move_to(tokyo(2025, 11, 24, 9, 0))
            for scheduler in schedulers:
                scheduler.wakeup()
            for scheduler in schedulers:
                await scheduler.idle()
            assert len(digest_posts(slack)) == 1
            # Each instance ran at 09:00 (its cron job, and its periodic check that was due too):
            # one run posted, every other run found the week's record and skipped.
            statuses = [r.status for s in schedulers for r in s.results]
            assert statuses.count("posted") == 1
            assert set(statuses) == {"posted", "skipped"}
            assert all(s.results for s in schedulers)
            for scheduler in schedulers:
                await scheduler.shutdown()
