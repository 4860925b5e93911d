"""The masking filter (窓口のマスキング): every model call passes through it.

Detects personal and confidential data in Japanese and English text, replaces each value by a
placeholder (<人名1>, <電話番号1>, …) before anything is sent, and restores the real values in
the answer. Policy per entity type (mask / block / allow, per model), admin custom terms, and
an encrypted per-thread placeholder vault. Fails closed: any internal error is a MaskingError.

    >>> vault = PlaceholderVault()
    >>> result = mask("山田太郎さんの電話は090-1234-5678です", vault, MaskingPolicy())
    >>> result.masked
    '<人名1>さんの電話は<電話番号1>です'
    >>> unmask("<人名1>さんに連絡します", vault)
    '山田太郎さんに連絡します'
"""
from bot.masking.masker import Masker, default_masker, mask, unmask
from bot.masking.ner import GinzaBackend, NerBackend
from bot.masking.policy import MaskingPolicy
from bot.masking.terms import CustomTermMatcher, TermMatch
from bot.masking.types import (
    JA_NAMES,
    PLACEHOLDER_LABELS,
    Action,
    EntityType,
    MaskingError,
    MaskResult,
    Span,
    refusal_text,
)
from bot.masking.vault import PlaceholderVault

__all__ = [
    "JA_NAMES",
    "PLACEHOLDER_LABELS",
    "Action",
    "CustomTermMatcher",
    "EntityType",
    "GinzaBackend",
    "MaskResult",
    "Masker",
    "MaskingError",
    "MaskingPolicy",
    "NerBackend",
    "PlaceholderVault",
    "Span",
    "TermMatch",
    "default_masker",
    "mask",
    "refusal_text",
    "unmask",
]
