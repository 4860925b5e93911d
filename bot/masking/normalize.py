"""NFKC-aware normalisation that remembers where every character came from.

Detectors run on the normalised text (ASCII digits, ASCII punctuation, hyphens between digits)
while spans are reported in the original text, so each normalised character keeps the range of
original characters it was made from.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

# Dash-like characters that people (and IMEs) put between digits: 090ー1234ー5678, 7－5－8.
DASHES = "‐‑‒–—―−ー─━ｰ﹣"
_DASH_BETWEEN_DIGITS = re.compile(f"(?<=[0-9])[{DASHES}](?=[0-9])")
# Combining voiced marks that follow half-width katakana: ｶﾞ is two characters, ガ is one.
_COMBINING_RUN = re.compile("[\u0300-\u036f\u3099\u309a\uff9e\uff9f]")


@cache
def _one_to_one_table() -> dict[int, str]:
    """Map every BMP character whose NFKC form is a single different character.

    Built once (about 30 ms): with it most texts are normalised by str.translate at C speed
    and offsets stay identical; only the rare expansions (㍻ → 平成) need the slow path.
    """
    table: dict[int, str] = {}
    for cp in range(0x80, 0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        norm = unicodedata.normalize("NFKC", ch)
        if norm != ch and len(norm) == 1:
            table[cp] = norm
    # Ideographic and other unusual spaces become a plain space (NFKC already does most).
    for cp in (0x3000, 0x00A0, 0x2002, 0x2003, 0x2009, 0x200A, 0x202F, 0x205F):
        table[cp] = " "
    return table


# Zero-width characters are dropped (by the slow path): 090\u200b1234 is still one number.
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


@dataclass(frozen=True)
class Normalized:
    """Normalised text plus, per normalised character, the original range it came from."""

    original: str
    text: str
    # None means the identity map (the common case): offsets are the same in both texts.
    src_start: tuple[int, ...] | None = None
    src_end: tuple[int, ...] | None = None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised span [start, end) to the smallest original span covering it."""
        if self.src_start is None or self.src_end is None:
            return start, end
        if end <= start:
            pos = self.src_start[start] if start < len(self.src_start) else len(self.original)
            return pos, pos
        return self.src_start[start], self.src_end[end - 1]


def normalize(text: str) -> Normalized:
    """Normalise ``text`` for detection (NFKC, hyphens between digits) keeping an offset map."""
    fast = text.translate(_one_to_one_table())
    if not _ZERO_WIDTH.search(fast) and unicodedata.is_normalized("NFKC", fast):
        return Normalized(text, _DASH_BETWEEN_DIGITS.sub("-", fast))
    return _slow_normalize(text)


def _slow_normalize(text: str) -> Normalized:
    """Character-group normalisation for texts with expansions or combining marks."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        # Keep a base character together with the combining marks that follow it.
        while j < n and _COMBINING_RUN.match(text, j):
            j += 1
        chunk = text[i:j]
        if _ZERO_WIDTH.fullmatch(chunk):
            i = j
            continue
        norm = unicodedata.normalize("NFKC", chunk.translate(_one_to_one_table()))
        norm = unicodedata.normalize("NFKC", norm)
        if not norm:  # a lone combining mark that vanished: keep the original character
            norm = chunk
        for ch in norm:
            out.append(ch)
            starts.append(i)
            ends.append(j)
        i = j
    norm_text = _DASH_BETWEEN_DIGITS.sub("-", "".join(out))
    return Normalized(text, norm_text, tuple(starts), tuple(ends))


def warm_up() -> None:
    """Build the translation table now (at Masker creation) rather than on the first message."""
    _one_to_one_table()
