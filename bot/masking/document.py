"""The text under analysis, shared by all detectors of one `Masker.detect` call."""
from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

from bot.masking.normalize import Normalized, normalize
from bot.masking.types import EntityType


class Token(NamedTuple):
    """One morpheme from SudachiPy, offsets into the NORMALISED text.

    A NamedTuple, not a dataclass: a message has hundreds of tokens and a frozen dataclass
    costs three times as much to build.
    """

    begin: int
    end: int
    surface: str
    pos: tuple[str, ...]
    oov: bool = False

    @property
    def is_person(self) -> bool:
        """Tagged 名詞,固有名詞,人名 (姓, 名 or 一般) by the dictionary."""
        return len(self.pos) > 2 and self.pos[1] == "固有名詞" and self.pos[2] == "人名"

    @property
    def is_surname(self) -> bool:
        """Tagged as a family name (人名,姓)."""
        return self.is_person and self.pos[3] == "姓"

    @property
    def is_given(self) -> bool:
        """Tagged as a given name (人名,名)."""
        return self.is_person and self.pos[3] == "名"

    @property
    def is_place(self) -> bool:
        """Tagged as a place name (固有名詞,地名)."""
        return len(self.pos) > 2 and self.pos[1] == "固有名詞" and self.pos[2] == "地名"

    @property
    def is_proper(self) -> bool:
        """Any proper noun (固有名詞)."""
        return len(self.pos) > 1 and self.pos[1] == "固有名詞"

    @property
    def is_common_noun(self) -> bool:
        """A dictionary common noun (名詞,普通名詞) that is not an unknown word."""
        return not self.oov and len(self.pos) > 1 and self.pos[0] == "名詞" and self.pos[1] == "普通名詞"


# Higher wins when overlapping findings are merged into one span (its type is the winner's).
PRIORITY: dict[EntityType, int] = {
    EntityType.CUSTOM_TERM: 100,
    EntityType.EMAIL: 95,
    EntityType.MY_NUMBER: 92,
    EntityType.CREDIT_CARD: 92,
    EntityType.BANK_ACCOUNT: 88,
    EntityType.ID_NUMBER: 85,
    EntityType.LICENSE_PLATE: 84,
    EntityType.PHONE: 80,
    EntityType.POSTAL_CODE: 78,
    EntityType.BIRTH_DATE: 75,
    EntityType.ADDRESS: 60,
    EntityType.PERSON: 50,
}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A finding before overlap resolution, offsets into the NORMALISED text.

    ``forced`` marks findings that are masked whatever the policy says (placeholder-looking
    text typed by the user, which must never be confused with a real placeholder).
    ``action`` carries a custom term's own action; None means "ask the policy".
    """

    start: int
    end: int
    type: EntityType
    priority: int
    source: str
    forced: bool = False
    action: str | None = None


@dataclass
class Document:
    """Original text, its normalisation and (lazily) its tokens."""

    original: str
    norm: Normalized
    tokenize: Callable[[str], list[Token]] | None = None
    # Whether the dictionary lists a word as a family name (大橋 is also "a big bridge").
    can_be_surname: Callable[[str], bool] | None = None
    _tokens: list[Token] | None = field(default=None, repr=False)
    _token_at_start: dict[int, int] | None = field(default=None, repr=False)
    _token_at_end: dict[int, int] | None = field(default=None, repr=False)
    # Per-text results detectors share (e.g. the context-label index), keyed by detector.
    cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_text(
        cls,
        text: str,
        tokenize: Callable[[str], list[Token]] | None,
        can_be_surname: Callable[[str], bool] | None = None,
    ) -> Document:
        """Normalise ``text`` and wrap it."""
        return cls(text, normalize(text), tokenize, can_be_surname)

    @property
    def text(self) -> str:
        """The normalised text every detector reads."""
        return self.norm.text

    @property
    def tokens(self) -> Sequence[Token]:
        """Tokens of the normalised text (empty when running patterns only)."""
        if self._tokens is None:
            self._tokens = self.tokenize(self.text) if self.tokenize else []
        return self._tokens

    @cached_property
    def _begins(self) -> list[int]:
        return [t.begin for t in self.tokens]

    @cached_property
    def place_tokens(self) -> list[Token]:
        """Tokens tagged as place names (固有名詞,地名), in text order."""
        return [t for t in self.tokens if t.is_place]

    def token_containing(self, pos: int) -> Token | None:
        """The token that covers the character at ``pos``, if any."""
        i = bisect.bisect_right(self._begins, pos) - 1
        if i >= 0 and self.tokens[i].begin <= pos < self.tokens[i].end:
            return self.tokens[i]
        return None

    def token_index_starting_at(self, pos: int) -> int | None:
        """Index of the token that begins exactly at ``pos``, if any."""
        if self._token_at_start is None:
            self._token_at_start = {t.begin: i for i, t in enumerate(self.tokens)}
        return self._token_at_start.get(pos)

    def token_index_ending_at(self, pos: int) -> int | None:
        """Index of the token that ends exactly at ``pos``, if any."""
        if self._token_at_end is None:
            self._token_at_end = {t.end: i for i, t in enumerate(self.tokens)}
        return self._token_at_end.get(pos)

    def clause_before(self, pos: int, window: int) -> tuple[str, int]:
        """Up to ``window`` characters before ``pos`` within the same sentence and line.

        Returns the text and its start offset; context words further back (or before 。 or a
        line break) do not describe the value at ``pos``.
        """
        start = max(0, pos - window)
        chunk = self.text[start:pos]
        cut = max(chunk.rfind("。"), chunk.rfind("\n"))
        if cut >= 0:
            start += cut + 1
            chunk = chunk[cut + 1 :]
        return chunk, start
