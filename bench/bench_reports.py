"""Report benchmark: how long the monthly report takes on a large municipality's usage records.

Fills a fresh database with synthetic usage events (default 150,000 over two months, the
reported month and the one before: about 3,500 turns a working day from 1,500 staff in 30
departments, with feedback on one answer in ten and masked entities on one in three), then times ``build_report(..., "month")`` (both
periods: two full aggregations), ``period_figures`` for one week, and the PNG rendering.

    .venv/bin/python -m bench.bench_reports --events 150000
    .venv/bin/python -m bench.bench_reports --database-url postgresql+asyncpg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from bot.reports import build_report, period_bounds, period_figures
from bot.storage import Database
from bot.storage.usage_tables import UsageEntityRow, UsageEventRow, UsageFeedbackRow

CATEGORIES = [
    "greeting", "minutes", "planning", "document", "resident", "council",
    "translation", "proofreading", "code", "pr", "research", "other",
]  # fmt: skip


async def fill(db: Database, events: int, now: datetime, seed: int = 7) -> None:
    """Insert ``events`` events spread over the month before ``now`` (plus the one before)."""
    rng = random.Random(seed)
    period = period_bounds("month", now=now)
    start = period.previous().start
    span = (period.end - start).total_seconds()
    users = [uuid.uuid4().hex for _ in range(1500)]
    departments = {u: f"部署{rng.randrange(30):02d}" for u in users}
    batch: list[dict] = []
    entities: list[dict] = []
    feedback: list[dict] = []

    async def flush() -> None:
        async with db.engine.begin() as conn:
            if batch:
                await conn.execute(insert(UsageEventRow), batch)
            if entities:
                await conn.execute(insert(UsageEntityRow), entities)
            if feedback:
                await conn.execute(insert(UsageFeedbackRow), feedback)
        batch.clear()
        entities.clear()
        feedback.clear()

    for _ in range(events):
        user = rng.choice(users)
        event_id = uuid.uuid4().hex
        when = start + timedelta(seconds=rng.random() * span)
        ok = rng.random() < 0.95
        batch.append(
            {
                "id": event_id,
                "tenant": "T1",
                "time": when,
                "user_pseudonym": user,
                "key_id": "k1",
                "thread_key": f"{user[:8]}-{rng.randrange(40)}",
                "department": departments[user],
                "channel_type": rng.choice(["dm", "dm", "channel", "private"]),
                "model": rng.choice(["gpt-4o-mini", "gpt-4o-mini", "gpt-4o"]),
                "outcome": "ok" if ok else rng.choice(["refused", "error"]),
                "error_kind": None if ok else "timeout",
                "input_tokens": rng.randrange(100, 3000),
                "output_tokens": rng.randrange(50, 800),
                "tokens_estimated": False,
                "cost": rng.random(),
                "latency_ms": rng.randrange(800, 9000),
                "first_token_ms": rng.randrange(200, 1500),
                "blocked": False,
                "category": rng.choice(CATEGORIES),
                "template_id": None,
                "new_conversation": rng.random() < 0.4,
            }
        )
        if rng.random() < 0.33:
            entities.append(
                {"event_id": event_id, "entity_type": "PERSON", "masked": 1, "blocked": False}
            )
        if ok and rng.random() < 0.1:
            feedback.append(
                {
                    "event_id": event_id,
                    "user_pseudonym": user,
                    "tenant": "T1",
                    "rating": rng.choice([1, 1, 1, -1]),
                    "minutes_saved": rng.choice([0, 5, 15, 30, 60]),
                    "created_at": when,
                    "updated_at": when,
                }
            )
        if len(batch) >= 5000:
            await flush()
    await flush()


async def run(url: str, events: int) -> None:
    db = Database(url)
    await db.upgrade()
    now = datetime(2026, 12, 3, tzinfo=UTC)
    began = time.perf_counter()
    await fill(db, events, now)
    print(f"filled {events:,} events (two months) in {time.perf_counter() - began:.1f} s")
    timings: dict[str, float] = {}
    for _ in range(3):
        began = time.perf_counter()
        report = await build_report(db, "T1", "month", now=now, headcount=3000)
        timings["month report (2 periods)"] = min(
            timings.get("month report (2 periods)", 1e9), time.perf_counter() - began
        )
        week = period_bounds("week", now=now)
        began = time.perf_counter()
        await period_figures(db, "T1", week.start, week.end, headcount=3000)
        timings["week figures"] = min(timings.get("week figures", 1e9), time.perf_counter() - began)
        began = time.perf_counter()
        report.png()
        timings["png"] = min(timings.get("png", 1e9), time.perf_counter() - began)
    print(f"month: {report.current.turns:,} answered turns, {report.current.active_users:,} users")
    for name, seconds in timings.items():
        print(f"{name:28s} {seconds * 1000:8.0f} ms (best of 3)")
    await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        asyncio.run(run(url, args.events))


if __name__ == "__main__":
    main()
