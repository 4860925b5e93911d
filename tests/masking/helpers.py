"""Assertion helpers for the masking tests."""
from __future__ import annotations

from bot.masking import Masker


def found(masker: Masker, text: str) -> list[tuple[str, str]]:
    """(value, TYPE) pairs detected in ``text``."""
    return [(text[s.start : s.end], str(s.type)) for s in masker.detect(text)]


def hidden(masker: Masker, text: str, value: str) -> bool:
    """True when every letter and digit of ``value`` (first occurrence) is inside a finding."""
    start = text.index(value)
    covered = set()
    for s in masker.detect(text):
        covered.update(range(s.start, s.end))
    return all(k in covered for k in range(start, start + len(value)) if text[k].isalnum())


def untouched(masker: Masker, text: str, value: str) -> bool:
    """True when no character of ``value`` (first occurrence) is inside a finding."""
    start = text.index(value)
    end = start + len(value)
    return not any(s.start < end and start < s.end for s in masker.detect(text))
