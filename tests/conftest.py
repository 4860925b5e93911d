"""Shared fixtures: databases (SQLite always, PostgreSQL when MADOGUCHI_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import hypothesis
import pytest
import structlog

from bot.storage import Database

POSTGRES_URL = os.environ.get("MADOGUCHI_TEST_POSTGRES_URL")

# CI runs the property tests with a fixed seed so a submission's result is reproducible;
# locally they explore new examples every run.
hypothesis.settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    hypothesis.settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """A test that configures logging onto a captured stream must not leave it behind."""
    yield
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's real settings or write keys into the checkout."""
    for name in list(os.environ):
        if (
            name.startswith(("MADOGUCHI_", "SLACK_", "OPENAI_", "AZURE_OPENAI_"))
            and name != "MADOGUCHI_TEST_POSTGRES_URL"
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


async def _postgres_database() -> tuple[str, str]:
    """Create a throw-away database on the test server; return (url, name)."""
    import asyncpg

    assert POSTGRES_URL is not None
    name = f"madoguchi_t_{uuid.uuid4().hex[:10]}"
    admin_url = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = POSTGRES_URL.rsplit("/", 1)[0]
    return f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1), name


async def _drop_postgres_database(name: str) -> None:
    import asyncpg

    assert POSTGRES_URL is not None
    conn = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of each kind (PostgreSQL is skipped without its URL)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured: set MADOGUCHI_TEST_POSTGRES_URL (.ci/run does)")
    url, name = await _postgres_database()
    try:
        yield url
    finally:
        await _drop_postgres_database(name)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database of each kind."""
    database = Database(database_url)
    await database.upgrade()
    try:
        yield database
    finally:
        await database.dispose()
