"""The model catalog: which models exist, how to reach them, what they cost.

Models are data (``config/models.yaml`` plus ``MADOGUCHI_MODELS_FILE``), never code: a model the
catalog does not know is a configuration entry away, not a code change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from bot.config_files import config_path
from bot.tokens import ENCODINGS


class ModelSpec(BaseModel):
    """One model as staff and the gateway see it."""

    id: str = Field(min_length=1)
    display_name: str = ""
    provider: Literal["openai", "azure"] = "openai"
    api_model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    context_window: int = Field(8192, gt=0)
    max_output_tokens: int = Field(1024, gt=0)
    tokenizer: str = "o200k_base"
    price_input: float = Field(0.0, ge=0)
    price_output: float = Field(0.0, ge=0)
    max_tier: int = Field(1, ge=1, le=3)
    enabled: bool = True

    def model_post_init(self, __context: object) -> None:
        if not self.display_name:
            self.display_name = self.id
        if self.tokenizer not in ENCODINGS:
            raise ValueError(f"tokenizer must be one of {sorted(ENCODINGS)}")

    @property
    def request_model(self) -> str:
        """The model name sent to the API (Azure: the deployment)."""
        return self.api_model or self.id

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """Estimated cost of one call in the catalog currency."""
        return (input_tokens * self.price_input + output_tokens * self.price_output) / 1_000_000


class CatalogError(ValueError):
    """The catalog files are malformed or the default model is unusable."""


class ModelCatalog:
    """An ordered set of models with a default."""

    def __init__(self, models: list[ModelSpec], default_id: str, currency: str = "JPY") -> None:
        self._models = {m.id: m for m in models}
        self.currency = currency
        if default_id not in self._models:
            raise CatalogError(
                f"MADOGUCHI_DEFAULT_MODEL: '{default_id}' is not in the model catalog "
                f"(known: {', '.join(self._models)}); add it to MADOGUCHI_MODELS_FILE"
            )
        # The default is always usable: naming it in settings is the operator's choice.
        self._models[default_id] = self._models[default_id].model_copy(update={"enabled": True})
        self.default_id = default_id

    @classmethod
    def load(cls, default_id: str, extra_file: Path | None = None) -> ModelCatalog:
        """Read the shipped catalog and, if given, an operator's file that adds or replaces models."""
        currency, models = _read(config_path("models.yaml"))
        if extra_file is not None:
            extra_currency, extra = _read(extra_file)
            currency = extra_currency or currency
            merged = {m.id: m for m in models}
            merged.update({m.id: m for m in extra})
            models = list(merged.values())
        return cls(models, default_id, currency or "JPY")

    def get(self, model_id: str) -> ModelSpec | None:
        """Return a model by id, or None when the catalog has no such model."""
        return self._models.get(model_id)

    @property
    def default(self) -> ModelSpec:
        """The model a new conversation uses."""
        return self._models[self.default_id]

    def all(self) -> list[ModelSpec]:
        """Every model, enabled or not, in catalog order."""
        return list(self._models.values())

    def enabled(self) -> list[ModelSpec]:
        """The models staff may use."""
        return [m for m in self._models.values() if m.enabled]


def _read(path: Path) -> tuple[str | None, list[ModelSpec]]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return data.get("currency"), [ModelSpec(**entry) for entry in data.get("models", [])]
    except (OSError, yaml.YAMLError, ValidationError, TypeError, ValueError) as exc:
        raise CatalogError(f"MADOGUCHI_MODELS_FILE: cannot read {path}: {exc}") from exc
