"""Masking policy: what happens to each entity type, per model.

Defaults: MY_NUMBER and CREDIT_CARD block, everything else is masked. A model may have its own
overrides (a model on the closed network may be allowed more); model keys are exact ids or
shell-style patterns (``local-*``), exact ids overriding patterns.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from bot.masking.types import Action, EntityType, MaskingError

BUILTIN_DEFAULTS: Mapping[EntityType, Action] = MappingProxyType(
    {t: Action.MASK for t in EntityType}
    | {EntityType.MY_NUMBER: Action.BLOCK, EntityType.CREDIT_CARD: Action.BLOCK}
)


def default_config_file() -> Path:
    """config/masking.yaml as shipped (via bot.config_files, with a source-tree fallback)."""
    try:
        from bot.config_files import config_path

        return config_path("masking.yaml")
    except (ImportError, OSError):
        # importlib.resources raises NotADirectoryError for an editable install's namespace
        # package; the file is then next to the sources.
        return Path(__file__).resolve().parents[2] / "config" / "masking.yaml"


def _parse_actions(data: object, where: str) -> dict[EntityType, Action]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected a mapping of entity type to action")
    out: dict[EntityType, Action] = {}
    for key, value in data.items():
        try:
            etype = EntityType(str(key).upper())
        except ValueError as exc:
            raise ValueError(f"{where}: unknown entity type {key!r}") from exc
        try:
            out[etype] = Action(str(value).lower())
        except ValueError as exc:
            raise ValueError(f"{where}.{key}: unknown action {value!r}") from exc
    return out


@dataclass(frozen=True)
class MaskingPolicy:
    """Actions per entity type, with per-model overrides; immutable (``with_action`` copies)."""

    defaults: Mapping[EntityType, Action] = field(default_factory=lambda: dict(BUILTIN_DEFAULTS))
    models: Mapping[str, Mapping[EntityType, Action]] = field(default_factory=dict)
    model: str | None = None  # the model this policy was resolved for (see for_model)

    def action(self, etype: EntityType) -> Action:
        """What to do with a finding of ``etype`` for this policy's model."""
        etype = EntityType(etype)
        if self.model is not None:
            exact = self.models.get(self.model)
            if exact is not None and etype in exact:
                return exact[etype]
            for pattern, actions in self.models.items():
                if pattern != self.model and etype in actions and fnmatchcase(self.model, pattern):
                    return actions[etype]
        return self.defaults.get(etype, BUILTIN_DEFAULTS[etype])

    def for_model(self, model_id: str | None) -> MaskingPolicy:
        """This policy as it applies to ``model_id`` (None: the defaults)."""
        return MaskingPolicy(self.defaults, self.models, model_id)

    def with_action(
        self, etype: EntityType | str, action: Action | str, model: str | None = None
    ) -> MaskingPolicy:
        """A copy with one action changed: the default, or one model's override."""
        etype, action = EntityType(str(etype).upper()), Action(str(action).lower())
        if model is None:
            return MaskingPolicy({**self.defaults, etype: action}, self.models, self.model)
        models = {k: dict(v) for k, v in self.models.items()}
        models.setdefault(model, {})[etype] = action
        return MaskingPolicy(self.defaults, models, self.model)

    def effective(self) -> dict[EntityType, Action]:
        """Every type's action for this policy's model (for admin screens)."""
        return {t: self.action(t) for t in EntityType}

    # -- (de)serialisation ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON/YAML-ready form: {"defaults": {TYPE: action}, "models": {id: {TYPE: action}}}."""
        return {
            "defaults": {str(t): str(a) for t, a in self.defaults.items()},
            "models": {m: {str(t): str(a) for t, a in acts.items()} for m, acts in self.models.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> MaskingPolicy:
        """Inverse of :meth:`to_dict`; types left out keep their built-in default.

        Raises ValueError on an unknown type or action: a typo in a policy must be seen, not
        silently turn into "mask".
        """
        data = data or {}
        defaults = dict(BUILTIN_DEFAULTS) | _parse_actions(data.get("defaults"), "defaults")
        models_raw = data.get("models") or {}
        if not isinstance(models_raw, Mapping):
            raise ValueError("models: expected a mapping of model id to actions")
        models = {str(m): _parse_actions(a, f"models.{m}") for m, a in models_raw.items()}
        return cls(defaults, models)

    @classmethod
    def load(cls, path: str | Path | None = None) -> MaskingPolicy:
        """Read the policy from YAML (default: the shipped config/masking.yaml).

        When no path is given and the shipped file is missing, the built-in defaults apply
        (they are the safe ones). A given path that cannot be read is an error.
        """
        if path is None:
            path = default_config_file()
            if not path.is_file():
                return cls()
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
            if not isinstance(data, Mapping):
                raise ValueError("the file does not hold a mapping")
            return cls.from_dict(data)
        except (OSError, yaml.YAMLError, ValueError) as exc:
            raise MaskingError(f"cannot load masking policy from {path}: {exc}") from exc
