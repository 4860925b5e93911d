"""A user's department (部署) for usage records, from Slack user groups or a profile field.

Configured by ``MADOGUCHI_DEPARTMENT_USERGROUPS`` (``S0123=総務課,S0456=市民課``: the first group in
that order that lists the user wins; needs ``usergroups:read``) and/or
``MADOGUCHI_DEPARTMENT_PROFILE_FIELD`` (a key of the user's profile such as ``title``; needs
``users:read``), tried in that order. Answers are cached in memory for an hour, so a busy
workspace costs one ``usergroups.users.list`` per group and one ``users.info`` per person an
hour. The lookup runs in the usage stage, after the answer is shown; it never delays or fails a
turn (see :class:`bot.usage.Departments`). Only the department label leaves this module.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime

CACHE_SECONDS = 3600.0
MAX_CACHED_USERS = 50_000

TokenLookup = Callable[[str], Awaitable[str | None]]


class SlackDepartments:
    """Resolves (workspace, Slack user id) → department label."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        usergroups: dict[str, str] | None = None,
        profile_field: str | None = None,
        token_for: TokenLookup | None = None,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.usergroups = dict(usergroups or {})
        self.profile_field = profile_field
        self.token_for = token_for
        self.ttl = ttl
        self.clock = clock
        self._members: dict[str, tuple[float, dict[str, frozenset[str]]]] = {}
        self._profiles: dict[tuple[str, str], tuple[float, str | None]] = {}
        self._lock = asyncio.Lock()

    async def __call__(self, tenant: str, user: str) -> str | None:
        """The department of ``user`` in ``tenant``, or None."""
        if self.usergroups:
            members = await self._group_members(tenant)
            for group, department in self.usergroups.items():
                if user in members.get(group, frozenset()):
                    return department
        if self.profile_field:
            return await self._profile_value(tenant, user)
        return None

    async def _kwargs(self, tenant: str) -> dict[str, Any]:
        if self.token_for is None:
            return {}
        token = await self.token_for(tenant)
        return {"token": token} if token else {}

    async def _group_members(self, tenant: str) -> dict[str, frozenset[str]]:
        cached = self._members.get(tenant)
        if cached and self.clock() - cached[0] < self.ttl:
            return cached[1]
        async with self._lock:  # one refresh at a time, not one per waiting turn
            cached = self._members.get(tenant)
            if cached and self.clock() - cached[0] < self.ttl:
                return cached[1]
            extra = await self._kwargs(tenant)
            members: dict[str, frozenset[str]] = {}
            for group in self.usergroups:
                response = await self.client.usergroups_users_list(usergroup=group, **extra)
                members[group] = frozenset(response.get("users") or [])
            self._members[tenant] = (self.clock(), members)
            return members

    async def _profile_value(self, tenant: str, user: str) -> str | None:
        key = (tenant, user)
        cached = self._profiles.get(key)
        if cached and self.clock() - cached[0] < self.ttl:
            return cached[1]
        response = await self.client.users_info(user=user, **await self._kwargs(tenant))
        profile = (response.get("user") or {}).get("profile") or {}
        value = profile.get(self.profile_field or "")
        department = value.strip() if isinstance(value, str) and value.strip() else None
        if len(self._profiles) >= MAX_CACHED_USERS:
            self._profiles.clear()
        self._profiles[key] = (self.clock(), department)
        return department


def install(app: AsyncApp, runtime: Runtime, client: AsyncWebClient) -> None:
    """Give the usage stage a department resolver when a mapping is configured."""
    settings = runtime.settings
    if not (settings.department_usergroups or settings.department_profile_field):
        return
    token_for: TokenLookup | None = None
    store = getattr(app, "installation_store", None)
    if store is not None:
        # Several workspaces (OAuth): each lookup uses that workspace's bot token.
        async def token_for(tenant: str) -> str | None:
            bot = await store.async_find_bot(enterprise_id=None, team_id=tenant)
            return bot.bot_token if bot else None

    runtime.departments.resolver = SlackDepartments(
        client,
        usergroups=settings.department_usergroups,
        profile_field=settings.department_profile_field,
        token_for=token_for,
    )
