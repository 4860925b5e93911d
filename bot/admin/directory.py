"""Who belongs to which user group, as the chat platform says (Slack: usergroups.users.list).

The core never imports Slack: the Slack handlers install a :class:`Directory` that asks the Web
API; until then (terminal chat, tests of the core) nobody is in any group. Answers are cached a
short while because access, admin and department-quota checks ask on every turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

import structlog

log = structlog.get_logger("madoguchi.admin.directory")


class Directory(Protocol):
    """Answers which users are in a user group of a tenant."""

    async def members(self, tenant: str, group: str) -> frozenset[str]:
        """The user ids in ``group`` (empty when the group is unknown)."""


class NoDirectory:
    """No platform to ask: every group is empty."""

    async def members(self, tenant: str, group: str) -> frozenset[str]:
        """Always empty."""
        return frozenset()


class CachedDirectory:
    """Caches another directory's answers for ``ttl`` seconds; on failure keeps the last answer."""

    def __init__(
        self, inner: Directory, ttl: float = 120.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.inner = inner
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def members(self, tenant: str, group: str) -> frozenset[str]:
        """The members of ``group``, from the cache while it is fresh."""
        key = (tenant, group)
        cached = self._cache.get(key)
        if cached is not None and self.clock() - cached[0] < self.ttl:
            return cached[1]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._cache.get(key)
            if cached is not None and self.clock() - cached[0] < self.ttl:
                return cached[1]
            try:
                found = await self.inner.members(tenant, group)
            except Exception as exc:
                # A platform hiccup must not lock staff out: keep the last known membership.
                log.warning("directory.lookup_failed", error_type=type(exc).__name__)
                return cached[1] if cached is not None else frozenset()
            self._cache[key] = (self.clock(), found)
            return found

    def forget(self) -> None:
        """Drop every cached answer."""
        self._cache.clear()
