"""Admin custom terms: project code names, watch-list names, words that must never leave.

Matching is on a folded form of the text (NFKC, lower case, katakana → hiragana, no spaces or
middle dots) so that ＰＲＯＪ－Ｘ, proj-x, ぷろじぇくと and プロジェクト all meet their term.
An Aho–Corasick automaton finds every term in one pass, whatever the number of terms
(10,000 terms: see bench/RESULTS-masking.md).
"""
from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from bot.masking.normalize import Normalized, normalize
from bot.masking.types import ACTION_STRICTNESS, Action

_KATA_TO_HIRA = {cp: cp - 0x60 for cp in range(0x30A1, 0x30F7)}
_DROPPED = frozenset(" \t\n\r\u3000・･")
_ASCII_ALNUM = re.compile(r"[0-9A-Za-z]")


def fold(text: str) -> tuple[str, list[int]]:
    """Fold already-NFKC text for term matching; returns it with the source index of each char."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few letters (İ) lower to two characters: keep them 1:1
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    folded = lowered.translate(_KATA_TO_HIRA)
    idx = [i for i, c in enumerate(folded) if c not in _DROPPED]
    if len(idx) == len(folded):
        return folded, idx
    return "".join(folded[i] for i in idx), idx


def fold_term(term: str) -> str:
    """The folded form of one term (what the automaton stores)."""
    return fold(normalize(term).text)[0]


@dataclass(frozen=True)
class TermMatch:
    """One custom-term occurrence: offsets into the text searched, the term and its action."""

    start: int
    end: int
    term: str
    action: Action


class CustomTermMatcher:
    """Finds admin terms (exact and normalised) in a text, leftmost-longest, in one pass."""

    def __init__(self, terms: Iterable[str | tuple[str, Action | str]] = ()) -> None:
        """Build the automaton from terms, each a string (masked) or a (term, action) pair."""
        self._goto: list[dict[str, int]] = [{}]
        self._fail: list[int] = [0]
        self._out: list[tuple[int, ...]] = [()]  # indexes into self._terms ending at a state
        self._terms: list[tuple[str, Action, int, bool, bool]] = []  # term, action, len, edges
        by_key: dict[str, int] = {}
        for item in terms:
            term, action = (item, Action.MASK) if isinstance(item, str) else item
            action = Action(action)
            key = fold_term(term)
            if not key:
                continue
            if key in by_key:  # the same term twice: the stricter action wins
                idx = by_key[key]
                old = self._terms[idx]
                if ACTION_STRICTNESS[action] > ACTION_STRICTNESS[old[1]]:
                    self._terms[idx] = (old[0], action, *old[2:])
                continue
            stripped = normalize(term).text.strip()
            # ASCII terms keep word edges: ABC must not match inside ABCD.
            left_edge = bool(stripped) and bool(_ASCII_ALNUM.match(stripped[0]))
            right_edge = bool(stripped) and bool(_ASCII_ALNUM.match(stripped[-1]))
            by_key[key] = len(self._terms)
            self._terms.append((term, action, len(key), left_edge, right_edge))
            self._add(key, by_key[key])
        self._build()

    def __len__(self) -> int:
        """Number of distinct (folded) terms."""
        return len(self._terms)

    def _add(self, key: str, index: int) -> None:
        state = 0
        for ch in key:
            nxt = self._goto[state].get(ch)
            if nxt is None:
                nxt = len(self._goto)
                self._goto[state][ch] = nxt
                self._goto.append({})
                self._fail.append(0)
                self._out.append(())
            state = nxt
        self._out[state] = (*self._out[state], index)

    def _build(self) -> None:
        queue: deque[int] = deque(self._goto[0].values())
        while queue:
            state = queue.popleft()
            for ch, nxt in self._goto[state].items():
                queue.append(nxt)
                f = self._fail[state]
                while f and ch not in self._goto[f]:
                    f = self._fail[f]
                target = self._goto[f].get(ch, 0)
                self._fail[nxt] = target if target != nxt else 0
                if self._out[self._fail[nxt]]:
                    self._out[nxt] = self._out[nxt] + self._out[self._fail[nxt]]

    def find_normalized(self, norm: Normalized) -> list[TermMatch]:
        """Matches in ``norm.text`` (normalised offsets), leftmost-longest, non-overlapping."""
        if not self._terms:
            return []
        text = norm.text
        folded, idx = fold(text)
        goto, fail, out = self._goto, self._fail, self._out
        raw: list[tuple[int, int, int]] = []  # (start, -length, term index) in folded offsets
        state = 0
        for pos, ch in enumerate(folded):
            while state and ch not in goto[state]:
                state = fail[state]
            state = goto[state].get(ch, 0)
            for t in out[state]:
                length = self._terms[t][2]
                raw.append((pos - length + 1, -length, t))
        raw.sort()
        matches: list[TermMatch] = []
        taken_until = -1
        for fstart, neg_len, t in raw:
            fend = fstart - neg_len
            if fstart < taken_until:
                continue
            term, action, _, left_edge, right_edge = self._terms[t]
            start, end = idx[fstart], idx[fend - 1] + 1
            if left_edge and start > 0 and _ASCII_ALNUM.match(text[start - 1]):
                continue
            if right_edge and end < len(text) and _ASCII_ALNUM.match(text[end]):
                continue
            matches.append(TermMatch(start, end, term, action))
            taken_until = fend
        return matches

    def find(self, text: str) -> list[TermMatch]:
        """Matches in ``text`` with offsets into ``text`` itself."""
        norm = normalize(text)
        out = []
        for m in self.find_normalized(norm):
            s, e = norm.to_original(m.start, m.end)
            out.append(TermMatch(s, e, m.term, m.action))
        return out
