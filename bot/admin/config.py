"""The admin settings of one tenant, as validated documents, and the snapshot the bot reads.

Each document lives in ``admin_settings`` under its key (``models``, ``access``, ``consent``,
``quota``, ``masking``) as JSON; a document that fails validation on load is ignored in favour
of its defaults (and logged), so a bad row can never switch a safety setting off silently into
something looser than the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.masking import Action, CustomTermMatcher, MaskingPolicy


class _Doc(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ModelSettings(_Doc):
    """Which catalog models are switched on, the tenant's default, per-channel lists."""

    enabled: dict[str, bool] = Field(default_factory=dict)  # overrides the catalog's flag
    default: str | None = None
    channels: dict[str, list[str]] = Field(default_factory=dict)  # channel → allowed ids


class AccessSettings(_Doc):
    """Who may use the bot: everyone, or members of listed user groups / listed channels."""

    mode: Literal["everyone", "restricted"] = "everyone"
    usergroups: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)  # id → name as the admin typed it


class ConsentSettings(_Doc):
    """The usage guideline staff must accept before their first model call."""

    enabled: bool = False
    version: int = Field(1, ge=1)
    text: str | None = None  # None: the default guideline in bot/messages.py


class DepartmentQuota(_Doc):
    """A monthly budget shared by the members of one user group (a department)."""

    label: str = ""
    monthly_tokens: int | None = Field(None, gt=0)
    monthly_cost: float | None = Field(None, gt=0)


class QuotaSettings(_Doc):
    """Per-user daily and per-department monthly budgets, and the economy model."""

    user_daily_tokens: int | None = Field(None, gt=0)
    user_daily_cost: float | None = Field(None, gt=0)
    departments: dict[str, DepartmentQuota] = Field(default_factory=dict)
    economy_model: str | None = None

    @property
    def any(self) -> bool:
        """True when at least one budget is set."""
        return bool(
            self.user_daily_tokens
            or self.user_daily_cost
            or any(d.monthly_tokens or d.monthly_cost for d in self.departments.values())
        )


class MaskingOverrides(_Doc):
    """Masking actions set by admins, on top of config/masking.yaml (same shape as to_dict)."""

    defaults: dict[str, str] = Field(default_factory=dict)
    models: dict[str, dict[str, str]] = Field(default_factory=dict)


DOCUMENTS: dict[str, type[_Doc]] = {
    "models": ModelSettings,
    "access": AccessSettings,
    "consent": ConsentSettings,
    "quota": QuotaSettings,
    "masking": MaskingOverrides,
}


@dataclass(frozen=True)
class TermEntry:
    """One custom term, decrypted, with its action."""

    term: str
    action: Action


@dataclass(frozen=True)
class TenantConfig:
    """Everything admins decided for one tenant, at one version. Immutable; cached per version."""

    tenant: str
    version: int
    models: ModelSettings = field(default_factory=ModelSettings)
    access: AccessSettings = field(default_factory=AccessSettings)
    consent: ConsentSettings = field(default_factory=ConsentSettings)
    quota: QuotaSettings = field(default_factory=QuotaSettings)
    masking: MaskingOverrides = field(default_factory=MaskingOverrides)
    terms: tuple[TermEntry, ...] = ()
    base_policy: MaskingPolicy = field(default_factory=MaskingPolicy, compare=False)

    @cached_property
    def policy(self) -> MaskingPolicy:
        """The shipped masking policy with the admins' overrides applied."""
        return merge_policy(self.base_policy, self.masking)

    @cached_property
    def matcher(self) -> CustomTermMatcher | None:
        """The custom-term matcher, built once per version (10,000 terms stay fast)."""
        if not self.terms:
            return None
        return CustomTermMatcher([(t.term, t.action) for t in self.terms])


def merge_policy(base: MaskingPolicy, overrides: MaskingOverrides) -> MaskingPolicy:
    """``base`` with every override applied (an override replaces the same type's action)."""
    data: dict[str, Any] = base.to_dict()
    data["defaults"] = {**data["defaults"], **overrides.defaults}
    models = {m: dict(a) for m, a in data["models"].items()}
    for model, actions in overrides.models.items():
        models[model] = {**models.get(model, {}), **actions}
    data["models"] = models
    return MaskingPolicy.from_dict(data)
