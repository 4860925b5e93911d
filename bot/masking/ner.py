"""Optional neural NER as a second opinion for PERSON and ADDRESS.

The default filter is SudachiPy + rules (well under a millisecond per sentence). GiNZA
(``ja-ginza``, spaCy) finds a few more names but costs 135–235 ms per 270-character message and
its NER training data (GSK2014-A) needs a separate commercial licence, so it is used only when
installed AND enabled (``ner: {backend: ginza}`` in config/masking.yaml or
``Masker(ner=GinzaBackend())``). Its findings are added to the rule findings, never replace them.
"""
from __future__ import annotations

import importlib.util
from typing import Any, Protocol, runtime_checkable

from bot.masking.types import EntityType, MaskingError


@runtime_checkable
class NerBackend(Protocol):
    """A named-entity recogniser: (start, end, type) triples with offsets into ``text``."""

    name: str

    def entities(self, text: str) -> list[tuple[int, int, EntityType]]:
        """Findings in ``text``; only PERSON and ADDRESS are expected."""
        ...


# GiNZA / ENE labels that mean a person or a part of an address.
_GINZA_LABELS: dict[str, EntityType] = {
    "Person": EntityType.PERSON,
    "PERSON": EntityType.PERSON,
    "Province": EntityType.ADDRESS,
    "City": EntityType.ADDRESS,
    "County": EntityType.ADDRESS,
    "GPE_Other": EntityType.ADDRESS,
    "Address_Other": EntityType.ADDRESS,
    "Postal_Address": EntityType.ADDRESS,
}


def ginza_available() -> bool:
    """True when the ja_ginza model package is importable (nothing is downloaded)."""
    return importlib.util.find_spec("ja_ginza") is not None


class GinzaBackend:
    """GiNZA (spaCy ``ja_ginza``) as a NerBackend; the model is loaded on first use."""

    name = "ginza"

    def __init__(self, model: str = "ja_ginza") -> None:
        """Remember which spaCy model to load; loading happens lazily (2–3 s, ~450 MB)."""
        self._model_name = model
        self._nlp: Any = None

    def _load(self) -> Any:
        if self._nlp is None:
            if importlib.util.find_spec(self._model_name) is None:
                raise MaskingError(f"NER backend {self._model_name} is not installed")
            import spacy

            # Only tok2vec and ner are needed; the parser and the bunsetu components would cost
            # time for nothing.
            self._nlp = spacy.load(
                self._model_name,
                exclude=["parser", "morphologizer", "compound_splitter", "bunsetu_recognizer",
                         "attribute_ruler"],
            )
        return self._nlp

    def entities(self, text: str) -> list[tuple[int, int, EntityType]]:
        """PERSON and ADDRESS-like entities found by GiNZA."""
        doc = self._load()(text)
        out = []
        for ent in doc.ents:
            etype = _GINZA_LABELS.get(ent.label_)
            if etype is not None:
                out.append((ent.start_char, ent.end_char, etype))
        return out


def backend_from_config(config: dict[str, Any] | None) -> NerBackend | None:
    """The NER backend named in the ``ner`` section of masking.yaml, if enabled and installed."""
    if not config:
        return None
    backend = str(config.get("backend", "none")).lower()
    if backend in ("", "none", "off", "false"):
        return None
    if backend == "ginza":
        if not ginza_available():
            return None  # optional: the rule-based layer still runs
        return GinzaBackend(str(config.get("model", "ja_ginza")))
    raise MaskingError(f"unknown NER backend {backend!r}")
