"""The model policy: ONE function, :func:`model_options`, decides which models a turn may use.

The staff command that lists models to pick from, the App Home, the gateway's model selection
and the economy fallback all call it, so what staff are offered and what a request may use can
never disagree. A model is usable when it is

1. in the catalog and switched on (the admins' setting, else the catalog's ``enabled``),
2. in the channel's list, when admins gave the channel one (a subset: a switched-off model is
   never called, whatever a channel list says), and
3. allowed for the thread's confidentiality tier (``max_tier`` ≥ tier).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.admin.config import TenantConfig
from bot.catalog import ModelCatalog, ModelSpec

TIERS = (1, 2, 3)


@dataclass(frozen=True)
class ModelOptions:
    """What a turn may use: the usable models (default first) and why the list may be empty."""

    models: tuple[ModelSpec, ...]
    default: ModelSpec | None
    tier: int
    #: Switched-on models exist for the channel, but none may receive this tier.
    blocked_by_tier: bool

    def get(self, model_id: str | None) -> ModelSpec | None:
        """The usable model ``model_id``, or None when it is not usable here."""
        return next((m for m in self.models if m.id == model_id), None) if model_id else None

    @property
    def ids(self) -> list[str]:
        """The usable model ids, default first."""
        return [m.id for m in self.models]


def is_enabled(catalog: ModelCatalog, config: TenantConfig, model: ModelSpec) -> bool:
    """Whether admins (or, without their word, the catalog) switched ``model`` on."""
    return config.models.enabled.get(model.id, model.enabled)


def tenant_default(catalog: ModelCatalog, config: TenantConfig) -> str:
    """The id of the tenant's default model (admins' choice, else the settings' default)."""
    chosen = config.models.default
    return chosen if chosen and catalog.get(chosen) is not None else catalog.default_id


def model_options(
    catalog: ModelCatalog, config: TenantConfig, *, channel: str | None, tier: int = 1
) -> ModelOptions:
    """THE decision of which models may serve a turn in ``channel`` at ``tier``."""
    enabled = [m for m in catalog.all() if is_enabled(catalog, config, m)]
    listed = config.models.channels.get(channel or "") or []
    if listed:
        order = {model_id: i for i, model_id in enumerate(listed)}
        enabled = sorted((m for m in enabled if m.id in order), key=lambda m: order[m.id])
    usable = [m for m in enabled if m.max_tier >= tier]
    preferred = [listed[0]] if listed else []
    preferred.append(tenant_default(catalog, config))
    default = next((m for wanted in preferred for m in usable if m.id == wanted), None)
    if default is None and usable:
        default = usable[0]
    if default is not None:
        usable = [default, *(m for m in usable if m is not default)]
    return ModelOptions(tuple(usable), default, tier, blocked_by_tier=bool(enabled) and not usable)
