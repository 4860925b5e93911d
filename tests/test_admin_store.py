"""The admin settings store on SQLite and PostgreSQL: cache and version counter across instances,
serialised concurrent changes, encrypted terms, tenant isolation."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from bot.admin import AdminService
from bot.catalog import ModelCatalog
from bot.masking import MaskingPolicy
from bot.settings import Settings
from bot.storage import Database
from bot.storage.admin_tables import AdminAuditRow, CustomTermRow
from tests.harness import BotHarness
from tests.peers import dm_message
from tests.test_admin_support import ADMIN, command


class Clock:
    """A hand-driven monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def service(db: Database, **settings: object) -> AdminService:
    options: dict[str, object] = {"database_url": db.url, "admin_users": [ADMIN]}
    options.update(settings)
    return AdminService(
        Settings(**options),
        db,
        ModelCatalog.load("gpt-4o-mini"),
        MaskingPolicy.load(),
        pseudonym_key=b"test-pseudonym-key",
        term_key=b"test-vault-key",
    )


async def test_another_instance_sees_a_change_after_the_cache_interval(db: Database) -> None:
    clock = Clock()
    first, second = service(db), service(db)
    second.store.clock = clock
    second.store.ttl = 3.0
    assert (await second.store.config("T1")).version == 0  # cached now
    await first.set_model_enabled(first.actor("T1", ADMIN), "gpt-4o", False)
    # The writer sees its change at once; the other instance within its cache interval.
    assert (await first.store.config("T1")).models.enabled == {"gpt-4o": False}
    assert (await second.store.config("T1")).models.enabled == {}
    clock.now += 3.0
    config = await second.store.config("T1")
    assert config.version == 1 and config.models.enabled == {"gpt-4o": False}


async def test_turns_arriving_during_a_reload_go_on_with_the_settings_they_have(
    db: Database,
) -> None:
    clock = Clock()
    first, second = service(db), service(db)
    second.store.clock, second.store.ttl = clock, 3.0
    assert (await second.store.config("T1")).version == 0
    await first.set_model_enabled(first.actor("T1", ADMIN), "gpt-4o", False)
    clock.now += 3.0
    # One turn is reloading (it holds the tenant's lock); the others do not queue behind it.
    lock = second.store._locks["T1"]
    await lock.acquire()
    try:
        stale = await asyncio.wait_for(second.store.config("T1"), 1.0)
        assert stale.version == 0
    finally:
        lock.release()
    # The reload that follows sees the change; a tenant seen for the first time always waits.
    assert (await second.store.config("T1")).version == 1
    assert (await second.store.config("T2")).version == 0


async def test_concurrent_changes_from_two_instances_are_all_kept(db: Database) -> None:
    first, second = service(db), service(db)
    models = ["gpt-4o", "gpt-4.1", "gpt-4.1-mini", "azure-gpt-4o", "local-llm"]
    await asyncio.gather(
        *(
            (first if i % 2 else second).set_model_enabled(
                first.actor("T1", ADMIN), model, i % 2 == 0
            )
            for i, model in enumerate(models)
        )
    )
    config = await service(db).store.config("T1")
    assert config.models.enabled == {m: i % 2 == 0 for i, m in enumerate(models)}
    assert config.version == len(models)
    async with db.session() as session:
        rows = list(await session.scalars(select(AdminAuditRow)))
    assert sorted(r.target for r in rows) == sorted(models)


async def test_terms_are_encrypted_at_rest_and_kept_per_tenant(db: Database) -> None:
    admin = service(db)
    await admin.add_term(admin.actor("T1", ADMIN), "山田要注意", "block")
    async with db.session() as session:
        [row] = list(await session.scalars(select(CustomTermRow)))
    assert "山田要注意".encode() not in row.sealed and row.action == "block"
    assert "山田" not in row.term_hash
    matcher = await admin.terms_for("T1")
    assert matcher is not None and [m.term for m in matcher.find("山田要注意の件")] == [
        "山田要注意"
    ]
    assert await admin.terms_for("T2") is None
    # Another instance with the same key reads it back.
    other = service(db)
    assert [t.term for t in await other.terms("T1")] == ["山田要注意"]


async def test_one_tenants_settings_never_reach_another(db: Database) -> None:
    admin = service(db)
    await admin.set_model_enabled(admin.actor("T1", ADMIN), "gpt-4o", False)
    await admin.set_consent(admin.actor("T1", ADMIN), enabled=True)
    t2 = await admin.store.config("T2")
    assert t2.models.enabled == {} and not t2.consent.enabled and t2.version == 0
    assert [e.action for e in await admin.store.recent("T2")] == []
    assert [e.action for e in await admin.store.recent("T1")] == ["consent.set", "models.disable"]


async def test_two_app_instances_on_one_database_see_a_toggle_within_the_interval(
    database_url: str, tmp_path: Path
) -> None:
    interval = 0.5
    async with (
        BotHarness(
            tmp_path / "a",
            database_url=database_url,
            admin_users=[ADMIN],
            admin_cache_seconds=interval,
        ) as one,
        BotHarness(
            tmp_path / "b",
            database_url=database_url,
            admin_users=[ADMIN],
            admin_cache_seconds=interval,
        ) as two,
    ):
        await two.send(dm_message("切り替え前"))
        await two.usage.wait(1)
        assert two.openai.requests[-1].model == "gpt-4o-mini"
        await command(one, "models default gpt-4o")
        await command(one, "models disable gpt-4o-mini")
        await asyncio.sleep(interval)  # the promised bound, not a measurement
        await two.send(dm_message("切り替え後"))
        await two.usage.wait(2)
        assert [r.model for r in two.openai.requests] == ["gpt-4o-mini", "gpt-4o"]
        assert one.openai.requests == []


async def test_consent_and_declared_tier_survive_a_usage_pseudonym_key_rotation(
    db: Database,
) -> None:
    before = service(db)
    await before.records.consent("T1", before.pseudonym("U1"), 1)
    await before.declare_tier("T1", "D1", "U1", 2)
    after = AdminService(
        Settings(database_url=db.url),
        db,
        ModelCatalog.load("gpt-4o-mini"),
        MaskingPolicy.load(),
        pseudonym_key=b"a-rotated-usage-key",
        term_key=b"test-vault-key",
    )
    assert after.usage_pseudonym("U1") != before.usage_pseudonym("U1")
    assert await after.records.has_consented("T1", after.pseudonym("U1"), 1)
    assert (await after.staff_view("T1", "D1", "U1")).tier == 2


async def test_thread_tiers_only_rise_and_quota_counters_add_up(db: Database) -> None:
    from bot.admin.records import Records

    records = Records(db)
    await records.raise_thread_tier("T1", "C1", "1.0", 2, "starter")
    await records.raise_thread_tier("T1", "C1", "1.0", 1, None)
    state = await records.thread_state("T1", "C1", "1.0")
    assert state is not None and (state.tier, state.starter) == (2, "starter")
    await records.raise_thread_tier("T1", "C1", "1.0", 3, None)
    assert (await records.thread_state("T1", "C1", "1.0")).tier == 3  # type: ignore[union-attr]

    await asyncio.gather(*(records.add_use("T1", "p1", "2026-11-02", 10, 0.5) for _ in range(5)))
    await records.add_use("T1", "p2", "2026-11-03", 7, 1.0)
    await records.add_use("T2", "p1", "2026-11-02", 1000, 9.0)
    assert await records.use("T1", ["p1"], "2026-11-02", "2026-11-02") == (50, 2.5)
    assert await records.use("T1", None, "2026-11-01", "2026-11-30") == (57, 3.5)
    assert await records.use("T1", [], "2026-11-01", "2026-11-30") == (0, 0.0)
    await records.consent("T1", "p1", 1)
    await records.consent("T1", "p1", 1)  # pressing twice is fine
    assert await Records(db).has_consented("T1", "p1", 1)
    assert not await Records(db).has_consented("T1", "p1", 2)
