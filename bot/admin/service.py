"""The admin service: one object the runtime wires into the gateway and the handlers call.

It knows no chat platform. The gateway gets its hooks (access policy, model chooser, quota
stage, masking policy and custom terms per tenant, the quota-counting recorder); the Slack
handlers get the operations behind the slash commands and App Home buttons. Every operation
that changes a setting validates it and writes an audit row in the same transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot.admin.access import AdminAccess
from bot.admin.config import (
    AccessSettings,
    ConsentSettings,
    DepartmentQuota,
    MaskingOverrides,
    ModelSettings,
    QuotaSettings,
    TenantConfig,
    TermEntry,
    merge_policy,
)
from bot.admin.directory import Directory, NoDirectory
from bot.admin.models import TIERS, ModelOptions, model_options, tenant_default
from bot.admin.quota import Budget, QuotaCheck, Quotas, QuotaUsageRecorder
from bot.admin.records import Records
from bot.admin.store import Actor, AdminError, AdminStore
from bot.admin.terms import derive_key
from bot.catalog import ModelCatalog, ModelSpec
from bot.gateway import ModelChoice, Stop
from bot.masking import Action, CustomTermMatcher, EntityType, MaskingPolicy
from bot.messages import message
from bot.settings import Settings
from bot.storage import Conversation, Database
from bot.turn import Turn
from bot.usage import UsageRecorder, pseudonym


@dataclass(frozen=True)
class StaffView:
    """What one staff member may do in one channel: their tier, pick and usable models."""

    tier: int
    picked: str | None
    options: ModelOptions


class AdminService:
    """Admin settings, policies and staff choices for every tenant."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        catalog: ModelCatalog,
        base_policy: MaskingPolicy,
        *,
        pseudonym_key: bytes,
        term_key: bytes,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.lang = settings.language
        self.tz = ZoneInfo(str(getattr(settings, "timezone", None) or "Asia/Tokyo"))
        self.store = AdminStore(
            db, base_policy=base_policy, term_key=term_key, ttl=settings.admin_cache_seconds
        )
        self.records = Records(db)
        #: Replaced by the chat adapter (Slack: usergroups.users.list) when it starts.
        self.directory: Directory = NoDirectory()
        self._usage_key = pseudonym_key
        # Consent, choices and thread starters use their own key: rotating the usage
        # pseudonym key (bot.usage) must not reset consents or declared tiers.
        self._admin_key = derive_key(term_key, b"admin-pseudonym")
        # Budgets count usage events, so they use the usage events' pseudonyms.
        self.quotas = Quotas(self.records, self._members, self.usage_pseudonym, self.tz)
        self.access = AdminAccess(self)
        self.quota_stage = QuotaCheck(self)

    # ------------------------------------------------------------------ people

    def pseudonym(self, user: str) -> str:
        """The keyed pseudonym of a user in the admin tables (consent, choices, audit)."""
        return pseudonym(user, self._admin_key)

    def usage_pseudonym(self, user: str) -> str:
        """The user's pseudonym in usage events (what the quota counters are keyed by)."""
        return pseudonym(user, self._usage_key)

    def actor(self, tenant: str, user: str) -> Actor:
        """The actor record for ``user`` of ``tenant``."""
        return Actor(tenant, user, self.pseudonym(user))

    async def _members(self, tenant: str, group: str) -> frozenset[str]:
        return await self.directory.members(tenant, group)

    async def is_admin(self, tenant: str, user: str) -> bool:
        """Admins: ``MADOGUCHI_ADMIN_USERS`` and members of ``MADOGUCHI_ADMIN_USERGROUP``."""
        if not user:
            return False
        if user in self.settings.admin_users:
            return True
        group = self.settings.admin_usergroup
        return bool(group) and user in await self._members(tenant, group)

    async def may_use(self, tenant: str, user: str, channel: str, config: TenantConfig) -> bool:
        """Whether ``user`` may use the bot in ``channel`` under the access setting."""
        access = config.access
        if access.mode == "everyone" or channel in access.channels:
            return True
        for group in access.usergroups:
            if user in await self._members(tenant, group):
                return True
        return await self.is_admin(tenant, user)

    def guideline_prompt(self, config: TenantConfig, lang: str) -> str:
        """The consent message: the guideline and what to do."""
        return message(
            "consent_prompt",
            lang,
            guideline=self.guideline(config, lang),
            version=config.consent.version,
        )

    @staticmethod
    def guideline(config: TenantConfig, lang: str) -> str:
        """The admins' guideline text, or the default one."""
        return config.consent.text or message("consent_default_guideline", lang)

    # ------------------------------------------------------------------ gateway hooks

    def recorder(self, inner: UsageRecorder) -> QuotaUsageRecorder:
        """``inner`` wrapped so that every turn also counts against the user's budgets."""
        return QuotaUsageRecorder(inner, self.records, self.tz, self._counts_quota)

    async def _counts_quota(self, tenant: str) -> bool:
        return (await self.store.config(tenant)).quota.any

    async def policy_for(self, tenant: str, model_id: str) -> MaskingPolicy:
        """The masking policy for a turn of ``tenant`` going to ``model_id``."""
        return (await self.store.config(tenant)).policy.for_model(model_id)

    async def terms_for(self, tenant: str) -> CustomTermMatcher | None:
        """The tenant's custom-term matcher (None without terms)."""
        return (await self.store.config(tenant)).matcher

    async def choose_model(
        self, turn: Turn, thread: Awaitable[tuple[Conversation, bool]], lang: str
    ) -> ModelChoice:
        """The gateway's model chooser: the model policy applied to one turn.

        The thread's tier is the higher of what the user declared in this channel and what
        the thread was served at before (a thread never drops to a lower tier). The model is
        the user's pick, else the one the thread used, else the default — the first of these
        that the policy allows.
        """
        who = self.pseudonym(turn.user)
        # The policy, the user's pick and the thread's tier are read while the thread loads.
        (conversation, new), config, (pref, state) = await asyncio.gather(
            thread,
            self.store.config(turn.tenant),
            self.records.choice_inputs(turn.tenant, turn.channel, turn.thread, who),
        )
        if new:
            state = None  # a state left from a forgotten conversation starts over
        tier = max(pref.tier or 1, state.tier if state else 1)
        options = model_options(self.catalog, config, channel=turn.channel, tier=tier)
        if options.default is None:
            if options.blocked_by_tier:
                raise Stop("refused", "tier_no_model", message("tier_no_model", lang, tier=tier))
            raise Stop("refused", "no_model", message("no_model", lang))
        previous = None if new else conversation.model_id
        model = options.get(pref.model_id) or options.get(previous) or options.default
        notes: list[str] = []
        if pref.model_id and model.id != pref.model_id:
            picked = self.catalog.get(pref.model_id)
            if picked is None or not config.models.enabled.get(picked.id, picked.enabled):
                # Switched off for good: forget the pick, so the notice shows once.
                await self.records.set_user_pref(turn.tenant, turn.channel, who, model_id=None)
            notes.append(
                message(
                    "model_pick_unavailable",
                    lang,
                    old=self._display(pref.model_id),
                    new=model.display_name,
                )
            )
        elif previous and model.id != previous and not pref.model_id:
            notes.append(
                message("model_switched", lang, old=self._display(previous), new=model.display_name)
            )
        if tier > 1:
            notes.append(message("tier_note", lang, tier=tier))
        recording = None
        if new or state is None or tier > state.tier:
            # Masking goes on meanwhile; the gateway waits for it before calling the model.
            recording = asyncio.ensure_future(
                self.records.raise_thread_tier(
                    turn.tenant, turn.channel, turn.thread, tier, who if new else None
                )
            )
        return ModelChoice(model, tier, tuple(notes), recording)

    def _display(self, model_id: str) -> str:
        spec = self.catalog.get(model_id)
        return spec.display_name if spec else model_id

    # ------------------------------------------------------------------ staff

    async def staff_view(self, tenant: str, channel: str, user: str) -> StaffView:
        """The user's tier and pick in ``channel`` and the models they may pick from there."""
        config = await self.store.config(tenant)
        pref = await self.records.user_pref(tenant, channel, self.pseudonym(user))
        tier = pref.tier or 1
        return StaffView(
            tier, pref.model_id, model_options(self.catalog, config, channel=channel, tier=tier)
        )

    async def pick_model(
        self, tenant: str, channel: str, user: str, model_id: str | None
    ) -> ModelSpec | None:
        """Use ``model_id`` for the user's turns in ``channel`` (None: back to the default).

        Only a model the policy lets this user use here can be picked.
        """
        who = self.pseudonym(user)
        if model_id is None:
            await self.records.set_user_pref(tenant, channel, who, model_id=None)
            return None
        view = await self.staff_view(tenant, channel, user)
        model = view.options.get(model_id)
        if model is None:
            raise AdminError(
                "staff_model_not_allowed",
                model=model_id,
                allowed=", ".join(view.options.ids) or "-",
            )
        await self.records.set_user_pref(tenant, channel, who, model_id=model.id)
        return model

    async def declare_tier(self, tenant: str, channel: str, user: str, tier: int) -> StaffView:
        """Declare the confidentiality tier of the user's threads in ``channel``."""
        if tier not in TIERS:
            raise AdminError("staff_tier_invalid")
        await self.records.set_user_pref(tenant, channel, self.pseudonym(user), tier=tier)
        return await self.staff_view(tenant, channel, user)

    async def accept_consent(self, tenant: str, user: str, version: int) -> bool:
        """Record consent to ``version``; False when that is no longer the current version."""
        config = await self.store.config(tenant)
        if version != config.consent.version:
            return False
        await self.records.consent(tenant, self.pseudonym(user), version)
        return True

    async def forget(self, tenant: str, channel: str, user: str, *, is_dm: bool) -> int:
        """Delete the user's threads (history and vault) in ``channel`` now."""
        return await self.records.forget(tenant, channel, self.pseudonym(user), whole_channel=is_dm)

    async def budgets(self, tenant: str, user: str) -> list[Budget]:
        """The user's budgets and what is used of them."""
        config = await self.store.config(tenant)
        return await self.quotas.budgets(tenant, user, config.quota)

    # ------------------------------------------------------------------ admin: models

    def _model(self, model_id: str) -> ModelSpec:
        model = self.catalog.get(model_id)
        if model is None:
            raise AdminError(
                "admin_unknown_model",
                model=model_id,
                known=", ".join(m.id for m in self.catalog.all()),
            )
        return model

    def _default_of(self, doc: ModelSettings) -> str:
        chosen = doc.default
        return (
            chosen if chosen and self.catalog.get(chosen) is not None else self.catalog.default_id
        )

    async def set_model_enabled(self, actor: Actor, model_id: str, enabled: bool) -> bool:
        """Switch a model on or off; returns the previous state."""
        model = self._model(model_id)

        def mutate(doc: ModelSettings) -> ModelSettings:
            if not enabled and self._default_of(doc) == model.id:
                raise AdminError("admin_model_is_default", model=model.id)
            return doc.model_copy(update={"enabled": {**doc.enabled, model.id: enabled}})

        before, _ = await self.store.change(
            actor,
            "models",
            "models.enable" if enabled else "models.disable",
            mutate,
            target=model.id,
            view=lambda doc: {"enabled": doc.enabled.get(model.id, model.enabled)},
        )
        return bool(before.enabled.get(model.id, model.enabled))

    async def set_default_model(self, actor: Actor, model_id: str) -> None:
        """Make an enabled model the tenant's default for new threads."""
        model = self._model(model_id)

        def mutate(doc: ModelSettings) -> ModelSettings:
            if not doc.enabled.get(model.id, model.enabled):
                raise AdminError("admin_model_disabled", model=model.id)
            return doc.model_copy(update={"default": model.id})

        await self.store.change(
            actor,
            "models",
            "models.default",
            mutate,
            target=model.id,
            view=lambda doc: {"default": self._default_of(doc)},
        )

    async def set_channel_models(self, actor: Actor, channel: str, model_ids: list[str]) -> None:
        """Limit ``channel`` to ``model_ids`` (first = the channel's default); [] lifts it."""
        ids = [self._model(m).id for m in dict.fromkeys(model_ids)]

        def mutate(doc: ModelSettings) -> ModelSettings:
            channels = dict(doc.channels)
            if ids:
                channels[channel] = ids
            else:
                channels.pop(channel, None)
            return doc.model_copy(update={"channels": channels})

        await self.store.change(
            actor,
            "models",
            "models.channel",
            mutate,
            target=channel,
            view=lambda doc: {"models": doc.channels.get(channel)},
        )

    # ------------------------------------------------------------------ admin: masking policy

    async def set_masking(
        self, actor: Actor, entity: str, action: str, model_id: str | None = None
    ) -> None:
        """Set the masking action of an entity type, by default or for one model."""
        try:
            etype = EntityType(entity.upper())
        except ValueError:
            raise AdminError(
                "admin_unknown_entity", entity=entity, known=", ".join(t.value for t in EntityType)
            ) from None
        try:
            act = Action(action.lower())
        except ValueError:
            raise AdminError("admin_unknown_action", action=action) from None
        if model_id is not None and "*" not in model_id:
            model_id = self._model(model_id).id

        def mutate(doc: MaskingOverrides) -> MaskingOverrides:
            if model_id is None:
                return doc.model_copy(update={"defaults": {**doc.defaults, etype.value: act.value}})
            models = {m: dict(a) for m, a in doc.models.items()}
            models.setdefault(model_id, {})[etype.value] = act.value
            return doc.model_copy(update={"models": models})

        base = self.store.base_policy
        await self.store.change(
            actor,
            "masking",
            "policy.set",
            mutate,
            target=f"{etype.value}@{model_id}" if model_id else etype.value,
            # The audit row shows the effective action before and after, not the documents.
            view=lambda doc: merge_policy(base, doc).for_model(model_id).action(etype).value,
        )

    async def reset_masking(self, actor: Actor, model_id: str | None = None) -> None:
        """Drop the admins' masking overrides (all defaults, or one model's)."""

        def mutate(doc: MaskingOverrides) -> MaskingOverrides:
            if model_id is None:
                return doc.model_copy(update={"defaults": {}})
            models = {m: a for m, a in doc.models.items() if m != model_id}
            return doc.model_copy(update={"models": models})

        await self.store.change(
            actor,
            "masking",
            "policy.reset",
            mutate,
            target=model_id,
            view=lambda doc: doc.models.get(model_id) if model_id else doc.defaults,
        )

    # ------------------------------------------------------------------ admin: terms

    async def add_term(self, actor: Actor, term: str, action: str = "mask") -> bool:
        """Add a custom term (``mask`` or ``block``); True when it is new."""
        try:
            act = Action(action.lower())
        except ValueError:
            raise AdminError("admin_unknown_action", action=action) from None
        if act is Action.ALLOW:
            raise AdminError("admin_unknown_action", action=action)
        return await self.store.add_term(actor, term, act)

    async def remove_term(self, actor: Actor, term: str) -> None:
        """Remove a custom term."""
        await self.store.remove_term(actor, term)

    async def terms(self, tenant: str) -> tuple[TermEntry, ...]:
        """The tenant's custom terms (admins only: they are confidential)."""
        return (await self.store.config(tenant)).terms

    # ------------------------------------------------------------------ admin: access, consent

    async def set_access(
        self,
        actor: Actor,
        *,
        everyone: bool,
        usergroups: Sequence[str] = (),
        channels: Sequence[str] = (),
        labels: dict[str, str] | None = None,
    ) -> AccessSettings:
        """Open the bot to everyone, or only to the listed user groups and channels."""
        if not everyone and not usergroups and not channels:
            raise AdminError("admin_access_empty")
        new = AccessSettings(
            mode="everyone" if everyone else "restricted",
            usergroups=list(dict.fromkeys(usergroups)),
            channels=list(dict.fromkeys(channels)),
            labels=dict(labels or {}),
        )
        _, after = await self.store.change(actor, "access", "access.set", lambda _doc: new)
        return after

    async def set_consent(
        self,
        actor: Actor,
        *,
        enabled: bool | None = None,
        text: str | None = None,
        renew: bool = False,
    ) -> ConsentSettings:
        """Switch the consent gate, replace the guideline text (a new version), or ask
        everyone again (``renew``: a new version with the same text)."""
        if text is not None and not text.strip():
            raise AdminError("admin_consent_text_empty")

        def mutate(doc: ConsentSettings) -> ConsentSettings:
            update: dict[str, Any] = {}
            if enabled is not None:
                update["enabled"] = enabled
            if text is not None:
                update["text"] = text.strip()
            if text is not None or renew:
                update["version"] = doc.version + 1
            return doc.model_copy(update=update)

        action = "consent.text" if text is not None else "consent.renew" if renew else "consent.set"
        _, after = await self.store.change(
            actor,
            "consent",
            action,
            mutate,
            view=lambda doc: {"enabled": doc.enabled, "version": doc.version, "text": doc.text},
        )
        return after

    # ------------------------------------------------------------------ admin: quotas

    async def set_user_quota(self, actor: Actor, unit: str, value: float | None) -> None:
        """Set (or with None, lift) the per-user daily budget in ``tokens`` or ``cost``."""
        field = {"tokens": "user_daily_tokens", "cost": "user_daily_cost"}[unit]
        await self.store.change(
            actor,
            "quota",
            f"quota.user.{unit}",
            lambda doc: doc.model_copy(update={field: _quota_value(unit, value)}),
            view=lambda doc: getattr(doc, field),
        )

    async def set_department_quota(
        self, actor: Actor, group: str, label: str, unit: str, value: float | None
    ) -> None:
        """Set (or lift) the monthly budget of a department (a user group)."""
        field = {"tokens": "monthly_tokens", "cost": "monthly_cost"}[unit]

        def mutate(doc: QuotaSettings) -> QuotaSettings:
            departments = dict(doc.departments)
            dept = departments.get(group, DepartmentQuota())
            dept = dept.model_copy(
                update={field: _quota_value(unit, value), "label": label or dept.label}
            )
            if dept.monthly_tokens or dept.monthly_cost:
                departments[group] = dept
            else:
                departments.pop(group, None)
            return doc.model_copy(update={"departments": departments})

        await self.store.change(
            actor,
            "quota",
            f"quota.department.{unit}",
            mutate,
            target=label or group,
            view=lambda doc: getattr(doc.departments.get(group), field, None),
        )

    async def set_economy_model(self, actor: Actor, model_id: str | None) -> None:
        """Name the model over-budget turns continue on (None: refuse them instead)."""
        chosen = self._model(model_id).id if model_id else None
        await self.store.change(
            actor,
            "quota",
            "quota.economy",
            lambda doc: doc.model_copy(update={"economy_model": chosen}),
            view=lambda doc: doc.economy_model,
        )

    # ------------------------------------------------------------------ admin: audit

    async def deny(self, actor: Actor, action: str) -> None:
        """Audit a refused admin attempt by a non-admin (kept pseudonymous)."""
        await self.store.record(actor, action, outcome="denied", attributed=False)

    def tenant_default(self, config: TenantConfig) -> str:
        """The id of the tenant's default model."""
        return tenant_default(self.catalog, config)


def _quota_value(unit: str, value: float | None) -> float | int | None:
    if value is None:
        return None
    if value <= 0:
        raise AdminError("admin_quota_invalid")
    return int(value) if unit == "tokens" else float(value)
