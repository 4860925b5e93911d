"""Quotas: per-user daily and per-department monthly token or cost budgets.

:class:`QuotaCheck` is a gateway stage right after model selection: over a budget, the turn is
refused politely with the reset time, or — where admins named an economy model and the model
policy lets this thread use it — continues on the economy model with a notice. It sits before
masking (not just before the call) because the masking policy is looked up for the model the
turn goes to: switching models after masking could send text masked for a more trusted model.
From 80 % of a budget the reply carries a note with what is left.

:class:`QuotaUsageRecorder` wraps the usage recorder and adds each turn's tokens and cost to the
user's counter for the local day. A department's use is the sum over its members' counters, so
nothing about departments is stored per turn.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

import structlog

from bot.admin.config import QuotaSettings
from bot.admin.models import model_options
from bot.admin.records import Records, local_day
from bot.gateway import Stop, TurnContext
from bot.messages import message
from bot.usage import UsageEvent, UsageRecorder

if TYPE_CHECKING:
    from bot.admin.service import AdminService

log = structlog.get_logger("madoguchi.admin.quota")

WARN_SHARE = 0.8


@dataclass(frozen=True)
class Budget:
    """One budget as it stands for one user now."""

    scope: Literal["user", "department"]
    unit: Literal["tokens", "cost"]
    used: float
    limit: float
    resets_at: datetime  # local time
    label: str = ""  # the department's name

    @property
    def over(self) -> bool:
        """The budget is used up."""
        return self.used >= self.limit

    @property
    def share(self) -> float:
        """The used share, 0–1 (and above)."""
        return self.used / self.limit if self.limit else 0.0

    @property
    def left(self) -> float:
        """What is left (never negative)."""
        return max(0.0, self.limit - self.used)


def start_of_day(moment: datetime) -> datetime:
    """Local midnight of ``moment``'s day."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def next_month(moment: datetime) -> datetime:
    """Local midnight of the first day of the month after ``moment``."""
    first = start_of_day(moment).replace(day=1)
    return (first + timedelta(days=32)).replace(day=1)


class Quotas:
    """Works out a user's budgets from the admins' settings and the usage counters."""

    def __init__(
        self,
        records: Records,
        members: Callable[[str, str], Awaitable[frozenset[str]]],
        pseudonym: Callable[[str], str],
        tz: ZoneInfo,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.records = records
        self.members = members
        self.pseudonym = pseudonym
        self.tz = tz
        self.clock = clock or (lambda: datetime.now(self.tz))

    def now(self) -> datetime:
        """The current local time."""
        return self.clock().astimezone(self.tz)

    async def budgets(self, tenant: str, user: str, settings: QuotaSettings) -> list[Budget]:
        """Every budget that applies to ``user``, with what they (or their department) used."""
        if not settings.any:
            return []
        now = self.now()
        today = local_day(now, self.tz)
        out: list[Budget] = []
        if settings.user_daily_tokens or settings.user_daily_cost:
            tokens, cost = await self.records.use(tenant, [self.pseudonym(user)], today, today)
            reset = start_of_day(now) + timedelta(days=1)
            if settings.user_daily_tokens:
                out.append(Budget("user", "tokens", tokens, settings.user_daily_tokens, reset))
            if settings.user_daily_cost:
                out.append(Budget("user", "cost", cost, settings.user_daily_cost, reset))
        first_day = start_of_day(now).replace(day=1).strftime("%Y-%m-%d")
        for group, dept in settings.departments.items():
            if not (dept.monthly_tokens or dept.monthly_cost):
                continue
            members = await self.members(tenant, group)
            if user not in members:
                continue
            tokens, cost = await self.records.use(
                tenant, sorted(self.pseudonym(m) for m in members), first_day, today
            )
            reset = next_month(now)
            label = dept.label or group
            if dept.monthly_tokens:
                out.append(
                    Budget("department", "tokens", tokens, dept.monthly_tokens, reset, label)
                )
            if dept.monthly_cost:
                out.append(Budget("department", "cost", cost, dept.monthly_cost, reset, label))
        return out


def describe(budget: Budget, lang: str, currency: str) -> dict[str, str]:
    """The words a quota message needs about ``budget``: whose, how much, when it resets."""
    if budget.scope == "user":
        whose = message("quota_whose_user", lang)
    else:
        whose = message("quota_whose_department", lang, department=budget.label)
    return {
        "whose": whose,
        "limit": amount(budget.limit, budget.unit, lang, currency),
        "left": amount(budget.left, budget.unit, lang, currency),
        "used": amount(budget.used, budget.unit, lang, currency),
        "percent": str(min(999, int(budget.share * 100))),
        "reset": reset_text(budget.resets_at, lang),
    }


def amount(value: float, unit: str, lang: str, currency: str) -> str:
    """``value`` with its unit: 12,000トークン, 1,500円, 12.50 USD."""
    if unit == "tokens":
        return message("quota_tokens", lang, n=f"{int(value):,}")
    if currency == "JPY":
        return message("quota_yen", lang, n=f"{value:,.0f}")
    return f"{value:,.2f} {currency}"


def reset_text(moment: datetime, lang: str) -> str:
    """When a budget resets, as staff read it (11月27日 0:00)."""
    return message(
        "quota_reset_at", lang, month=moment.month, day=moment.day, date=moment.strftime("%b %d")
    )


class QuotaCheck:
    """Refuse, fall back to the economy model, or warn, according to the user's budgets."""

    name = "quota"

    def __init__(self, admin: AdminService) -> None:
        self.admin = admin

    async def run(self, ctx: TurnContext) -> None:
        assert ctx.model is not None
        turn = ctx.turn
        admin = self.admin
        config = await admin.store.config(turn.tenant)
        if not config.quota.any:
            return
        budgets = await admin.quotas.budgets(turn.tenant, turn.user, config.quota)
        currency = admin.catalog.currency
        over = [b for b in budgets if b.over]
        if over:
            # The budget that stays exhausted longest is the one to name.
            binding = max(over, key=lambda b: b.resets_at)
            words = describe(binding, ctx.lang, currency)
            options = model_options(admin.catalog, config, channel=turn.channel, tier=ctx.tier)
            economy = options.get(config.quota.economy_model)
            if economy is None:
                raise Stop(
                    "refused", "quota_exceeded", message("quota_exceeded", ctx.lang, **words)
                )
            ctx.model = economy
            ctx.notes.append(
                message("quota_economy", ctx.lang, model=economy.display_name, **words)
            )
            return
        near = [b for b in budgets if b.share >= WARN_SHARE]
        if near:
            worst = max(near, key=lambda b: b.share)
            ctx.notes.append(
                message("quota_warning", ctx.lang, **describe(worst, ctx.lang, currency))
            )


class QuotaUsageRecorder:
    """Adds each turn's tokens and cost to the quota counters, then passes the event on."""

    def __init__(
        self,
        inner: UsageRecorder,
        records: Records,
        tz: ZoneInfo,
        counting: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self.inner = inner
        self.records = records
        self.tz = tz
        self.counting = counting

    async def record(self, event: UsageEvent) -> None:
        """Count ``event`` against the user's budget, then hand it to the wrapped recorder.

        Use is counted only while the workspace has a budget set (a write per turn saved for
        everyone else): a budget counts use from the moment an admin sets it.
        """
        tokens = event.input_tokens + event.output_tokens
        counting = self.counting is None or await self.counting(event.tenant)
        if counting and (tokens or event.cost):
            try:
                await self.records.add_use(
                    event.tenant,
                    event.user_pseudonym,
                    local_day(event.time, self.tz),
                    tokens,
                    event.cost,
                )
            except Exception as exc:
                # Losing one count must not lose the usage record itself.
                log.error("quota.count_failed", error_type=type(exc).__name__)
        await self.inner.record(event)
