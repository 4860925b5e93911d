"""Search over the prompt library: forgiving Japanese matching, no index needed for ~100 items.

A query is split on spaces (ASCII or full-width); every term must occur in a template's title,
category, description, body or id. Matching folds width (NFKC), case and katakana → hiragana, and
knows a few spellings staff use interchangeably (挨拶/あいさつ, エクセル/Excel …).
"""

from __future__ import annotations

import re
import unicodedata

# Spellings that mean the same thing in a search box; each maps to the spelling the shipped
# templates use, after normalisation.
_ALIASES: dict[str, str] = {
    "挨拶": "あいさつ",
    "えくせる": "excel",
    "まくろ": "vba",
    "翻訳": "訳",
    "英訳": "英",
    "答弁": "議会",
    "議事録": "議事",
    "ぷれすりりーす": "記者発表",
    "報道発表": "記者発表",
    "問合せ": "問い合わせ",
    "問合わせ": "問い合わせ",
    "めーる": "メール",
}

_SPLIT = re.compile(r"[\s\u3000、,]+")


def fold(text: str) -> str:
    """Normalise for matching: NFKC, lower case, katakana folded to hiragana."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def terms(query: str) -> list[str]:
    """The folded search terms of ``query`` (aliases applied), without blanks."""
    out: list[str] = []
    for raw in _SPLIT.split(query.strip()):
        if not raw:
            continue
        term = fold(raw)
        out.append(fold(_ALIASES.get(term, _ALIASES.get(raw, term))))
    return out


# Where a term is found decides how well a template matches: the title counts most.
WEIGHTS = {"title": 4, "category": 3, "description": 2, "id": 2, "body": 1}


def score(query_terms: list[str], fields: dict[str, str]) -> int:
    """How well the folded ``fields`` match all ``query_terms`` (0: some term is missing)."""
    total = 0
    folded = {name: fold(value) for name, value in fields.items()}
    for term in query_terms:
        best = max((WEIGHTS.get(name, 1) for name, v in folded.items() if term in v), default=0)
        if best == 0:
            return 0
        total += best
    return total
