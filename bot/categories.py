"""Use-category classifier (利用カテゴリ) for the first user turn of a conversation.

A transparent keyword and rule classifier: the rules live in ``config/categories.yaml`` and the
header of that file documents how a text is scored and how ties are broken. The classifier never
stores, caches or logs the text it is given; it returns only a :class:`Category`.

Example::

    classifier = CategoryClassifier.load()
    classifier.classify("敬老会で市長が述べる祝辞を作って").id  # "greeting"
    classifier.explain("敬老会で市長が述べる祝辞を作って")       # [("greeting", 8.0), ...]
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.config_files import config_path

OTHER_ID = "other"
_DEFAULT_PATTERN_WEIGHT = 2.0


@dataclass(frozen=True)
class Category:
    """A use category as shown in reports: id, Japanese and English labels, minutes saved."""

    id: str
    label: str
    label_en: str
    minutes_saved_estimate: int


def normalize(text: str) -> str:
    """Normalise text for matching: Unicode NFKC, then lower case."""
    return unicodedata.normalize("NFKC", text).lower()


# --- the YAML schema --------------------------------------------------------------------------


class _PatternSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    regex: str
    weight: float = _DEFAULT_PATTERN_WEIGHT

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regex {value!r}: {exc}") from exc
        return value


class _CategorySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    label_en: str = Field(min_length=1)
    weight: float = Field(default=1.0, gt=0)
    minutes_saved_estimate: int = Field(ge=0)
    keywords: dict[str, list[str]] | list[str] = Field(default_factory=list)
    patterns: list[_PatternSpec | str] = Field(default_factory=list)


class _FileSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    min_score: float = Field(default=2.0, ge=0)
    long_text_chars: int = Field(default=400, ge=1)
    focus_sentences: int = Field(default=5, ge=1)
    focus_chars: int = Field(default=200, ge=1)
    body_factor: float = Field(default=0.3, ge=0, le=1)
    request_markers: str = "(ください|お願い|たい|please)"
    keyword_weights: dict[str, float] = Field(
        default_factory=lambda: {"strong": 3.0, "medium": 2.0, "weak": 1.0}
    )
    tie_break: list[str] = Field(default_factory=list)
    categories: list[_CategorySpec]

    @field_validator("request_markers")
    @classmethod
    def _markers_compile(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid request_markers regex: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _consistent(self) -> _FileSpec:
        ids = [c.id for c in self.categories]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate category ids: {duplicates}")
        if OTHER_ID not in ids:
            raise ValueError(f"the category {OTHER_ID!r} must be defined")
        unknown = [i for i in self.tie_break if i not in ids]
        if unknown:
            raise ValueError(f"tie_break names unknown categories: {unknown}")
        if len(set(self.tie_break)) != len(self.tie_break):
            raise ValueError("tie_break lists a category twice")
        for cat in self.categories:
            if isinstance(cat.keywords, dict):
                tiers = [t for t in cat.keywords if t not in self.keyword_weights]
                if tiers:
                    raise ValueError(
                        f"category {cat.id!r} uses undefined keyword tiers {tiers}; "
                        f"defined: {sorted(self.keyword_weights)}"
                    )
        return self


# --- compiled rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    """One keyword or pattern with its weight; ``regex`` is None for plain keywords."""

    source: str
    weight: float
    regex: re.Pattern[str] | None

    def occurs(self, text: str) -> bool:
        if self.regex is None:
            return self.source in text
        return self.regex.search(text) is not None


@dataclass(frozen=True)
class _CompiledCategory:
    category: Category
    weight: float
    rules: tuple[_Rule, ...]


class CategoryClassifier:
    """Scores a text against the keyword/pattern rules of each category and picks the best."""

    def __init__(
        self,
        categories: list[_CompiledCategory],
        *,
        min_score: float,
        long_text_chars: int,
        focus_sentences: int,
        focus_chars: int,
        body_factor: float,
        request_markers: re.Pattern[str],
        tie_break: list[str],
    ) -> None:
        self._compiled = categories
        self._by_id = {c.category.id: c.category for c in categories}
        self._min_score = min_score
        self._long_text_chars = long_text_chars
        self._focus_sentences = focus_sentences
        self._focus_chars = focus_chars
        self._body_factor = body_factor
        self._request_markers = request_markers
        # Categories named in tie_break come first in that order, the rest in file order.
        order = list(tie_break) + [
            c.category.id for c in categories if c.category.id not in tie_break
        ]
        self._priority = {cid: index for index, cid in enumerate(order)}

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | None = None) -> CategoryClassifier:
        """Load the rules from ``path`` (default: the shipped ``categories.yaml``).

        Raises ``ValueError`` when the file does not follow the documented schema.
        """
        path = path or config_path("categories.yaml")
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: Any) -> CategoryClassifier:
        """Build a classifier from already parsed YAML data (the structure of the shipped file)."""
        if not isinstance(raw, dict):
            raise ValueError("categories file must be a mapping with a 'categories' list")
        spec = _FileSpec.model_validate(raw)
        compiled = [_compile_category(cat, spec.keyword_weights) for cat in spec.categories]
        return cls(
            compiled,
            min_score=spec.min_score,
            long_text_chars=spec.long_text_chars,
            focus_sentences=spec.focus_sentences,
            focus_chars=spec.focus_chars,
            body_factor=spec.body_factor,
            request_markers=re.compile(spec.request_markers),
            tie_break=spec.tie_break,
        )

    # -- queries -------------------------------------------------------------------------------

    def categories(self) -> list[Category]:
        """All categories in file order (the order reports should use), ``other`` included."""
        return [c.category for c in self._compiled]

    def get(self, category_id: str) -> Category:
        """The category with this id; unknown ids (e.g. from an older config) give ``other``."""
        return self._by_id.get(category_id, self._by_id[OTHER_ID])

    def classify(self, text: str) -> Category:
        """The use category of ``text``: the best score, ties by tie_break, else ``other``."""
        ranked = self._ranked(text)
        if not ranked or ranked[0][1] < self._min_score or ranked[0][1] <= 0:
            return self._by_id[OTHER_ID]
        return self._by_id[ranked[0][0]]

    def explain(self, text: str) -> list[tuple[str, float]]:
        """Scores of every category for ``text``, best first (ties in tie_break order).

        ``other`` is listed last with score 0.0; it is chosen when the best score is below
        the file's ``min_score``.
        """
        return [*self._ranked(text), (OTHER_ID, 0.0)]

    # -- scoring -------------------------------------------------------------------------------

    def _ranked(self, text: str) -> list[tuple[str, float]]:
        scores = self._scores(text)
        return sorted(scores, key=lambda item: (-item[1], self._priority[item[0]]))

    def _scores(self, text: str) -> list[tuple[str, float]]:
        norm = normalize(text or "")
        focus = self._focus_text(norm)
        results: list[tuple[str, float]] = []
        for compiled in self._compiled:
            if compiled.category.id == OTHER_ID:
                continue
            total = 0.0
            for rule in compiled.rules:
                if rule.occurs(focus):
                    total += rule.weight
                elif focus is not norm and rule.occurs(norm):
                    total += rule.weight * self._body_factor
            results.append((compiled.category.id, round(total * compiled.weight, 3)))
        return results

    def _focus_text(self, norm: str) -> str:
        """The request sentences of a long text (see the YAML header); short texts whole."""
        if len(norm) <= self._long_text_chars:
            return norm
        sentences = [s.strip() for s in _SENTENCE_SPLIT.split(norm)]
        sentences = [s for s in sentences if s]
        if not sentences:
            return norm
        cap = self._focus_chars
        n = self._focus_sentences
        candidates = set(range(min(n, len(sentences)))) | set(
            range(max(0, len(sentences) - n), len(sentences))
        )
        picked = {
            index
            for index in candidates
            if self._request_markers.search(_cut(sentences[index], cap, index, len(sentences)))
        }
        if not picked:
            picked = {0, len(sentences) - 1}
        return "\n".join(_cut(sentences[i], cap, i, len(sentences)) for i in sorted(picked))


_SENTENCE_SPLIT = re.compile(r"[。!?\n]+")


def _cut(sentence: str, cap: int, index: int, count: int) -> str:
    """Cut a sentence to ``cap`` characters: the last one from its end, where a request sits,
    and a text that is one single sentence at both ends."""
    if count == 1:
        return sentence if len(sentence) <= 2 * cap else sentence[:cap] + "\n" + sentence[-cap:]
    return sentence[-cap:] if index == count - 1 else sentence[:cap]


def _compile_category(spec: _CategorySpec, keyword_weights: dict[str, float]) -> _CompiledCategory:
    rules: list[_Rule] = []
    seen: set[str] = set()
    if isinstance(spec.keywords, dict):
        tiers = [(keyword_weights[tier], words) for tier, words in spec.keywords.items()]
    else:
        tiers = [(1.0, spec.keywords)]
    for weight, words in tiers:
        for word in words:
            keyword = normalize(str(word)).strip()
            if not keyword or keyword in seen:
                continue
            seen.add(keyword)
            rules.append(_Rule(keyword, weight, None))
    for pattern in spec.patterns:
        item = _PatternSpec(regex=pattern) if isinstance(pattern, str) else pattern
        rules.append(_Rule(item.regex, item.weight, re.compile(item.regex)))
    category = Category(
        id=spec.id,
        label=spec.label,
        label_en=spec.label_en,
        minutes_saved_estimate=spec.minutes_saved_estimate,
    )
    return _CompiledCategory(category=category, weight=spec.weight, rules=tuple(rules))
