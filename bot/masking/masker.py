"""The masking filter: detect, apply the policy, replace by placeholders; and restore.

Every model call passes through `Masker.mask`. Anything that goes wrong inside detection is
raised as MaskingError so the gateway fails closed (nothing is sent).
"""
from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.masking.address import detect_addresses
from bot.masking.document import PRIORITY, Candidate, Document, Token
from bot.masking.names import detect_persons
from bot.masking.ner import NerBackend, backend_from_config
from bot.masking.normalize import warm_up
from bot.masking.patterns import PLACEHOLDER_LIKE, detect_patterns
from bot.masking.policy import MaskingPolicy, default_config_file
from bot.masking.terms import CustomTermMatcher
from bot.masking.types import (
    ACTION_STRICTNESS,
    Action,
    EntityType,
    MaskingError,
    MaskResult,
    Span,
)
from bot.masking.vault import PlaceholderVault

Detector = Callable[[Document], Iterable[Candidate]]
TermsArg = CustomTermMatcher | Iterable[tuple[str, Action | str] | str] | None

DEFAULT_DETECTORS: tuple[Detector, ...] = (detect_patterns, detect_addresses, detect_persons)
PATTERN_DETECTORS: tuple[Detector, ...] = (detect_patterns, detect_addresses)

# SudachiPy refuses inputs over 49,149 bytes; cut long texts at line or sentence ends.
_SUDACHI_CHUNK = 4000
_TYPE_ORDER = {t: i for i, t in enumerate(EntityType)}
_ASCII_ALNUM = re.compile(r"[0-9A-Za-z]")


@dataclass(frozen=True, slots=True)
class _Found:
    """A candidate in ORIGINAL offsets, with the action the policy gives it."""

    start: int
    end: int
    type: EntityType
    priority: int
    forced: bool
    action: Action


def _resolve(found: Sequence[_Found]) -> list[tuple[int, int, EntityType, list[_Found]]]:
    """Merge overlapping findings into non-overlapping spans.

    Overlaps are merged into their union rather than cut: cutting would leave part of a value
    readable (a custom term inside a name must not unmask the rest of the name). The merged
    span takes the type of its strongest member (priority, then length).
    """
    out: list[tuple[int, int, EntityType, list[_Found]]] = []
    group: list[_Found] = []
    end = -1
    for f in sorted(found, key=lambda f: (f.start, -f.end)):
        if group and f.start < end:
            group.append(f)
            end = max(end, f.end)
            continue
        if group:
            out.append(_close(group, end))
        group, end = [f], f.end
    if group:
        out.append(_close(group, end))
    return out


def _close(group: list[_Found], end: int) -> tuple[int, int, EntityType, list[_Found]]:
    best = max(group, key=lambda f: (f.priority, f.end - f.start))
    return group[0].start, end, best.type, group


class Masker:
    """Detectors loaded once; masks and unmasks texts.

    One SudachiPy tokenizer per Masker. SudachiPy is not thread-safe, so calls are serialised
    with a lock; for parallel use create one Masker per thread (the module-level ``mask`` does).
    """

    def __init__(
        self,
        *,
        use_sudachi: bool = True,
        ner: NerBackend | None = None,
        detectors: Sequence[Detector] | None = None,
    ) -> None:
        """Load the tokenizer (about 0.2 s). ``use_sudachi=False`` runs patterns only."""
        try:
            warm_up()
            self._tokenizer: Any = None
            self._dictionary: Any = None
            if use_sudachi:
                from sudachipy import Dictionary, SplitMode

                self._dictionary = Dictionary(dict="core")
                # SudachiPy 0.7 names it tokenizer(); 0.6 (pinned by ja-ginza) only has create().
                make = getattr(self._dictionary, "tokenizer", None) or self._dictionary.create
                self._tokenizer = make(SplitMode.C)
        except Exception as exc:  # a missing dictionary must stop the bot, not mask less
            raise MaskingError(f"cannot load the masking tokenizer: {exc}") from exc
        if detectors is None:
            detectors = DEFAULT_DETECTORS if use_sudachi else PATTERN_DETECTORS
        self._detectors = tuple(detectors)
        self._ner = ner
        self._surnames: dict[str, bool] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, path: str | Path | None = None) -> Masker:
        """A Masker configured by the ``ner`` section of masking.yaml (default: none)."""
        if path is None:
            path = default_config_file()
        config: dict[str, Any] = {}
        try:
            if Path(path).is_file():
                config = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise MaskingError(f"cannot read {path}: {exc}") from exc
        return cls(ner=backend_from_config(config.get("ner")))

    # -- detection -----------------------------------------------------------------------------

    def _can_be_surname(self, word: str) -> bool:
        """Does the dictionary have a family-name (人名,姓) entry for ``word``? Cached."""
        cached = self._surnames.get(word)
        if cached is None:
            cached = any(
                m.part_of_speech()[2:4] == ("人名", "姓") for m in self._dictionary.lookup(word)
            )
            if len(self._surnames) < 50_000:
                self._surnames[word] = cached
        return cached

    def _tokenize(self, text: str) -> list[Token]:
        tokens: list[Token] = []
        base = 0
        while base < len(text):
            end = min(len(text), base + _SUDACHI_CHUNK)
            if end < len(text):
                cut = max(text.rfind("\n", base, end), text.rfind("。", base, end))
                if cut > base:
                    end = cut + 1
            chunk = text[base:end]
            for m in self._tokenizer.tokenize(chunk):
                b, e = m.begin(), m.end()
                tokens.append(Token(base + b, base + e, chunk[b:e], m.part_of_speech(), m.is_oov()))
            base = end
        return tokens

    def _find(
        self,
        text: str,
        policy: MaskingPolicy | None,
        terms: TermsArg,
        known: Iterable[tuple[str, EntityType]] = (),
    ) -> list[_Found]:
        """All findings in original offsets; with a policy, each carries its action.

        ``known`` are values already in the thread's vault: they are masked wherever they
        occur again, even where the detectors alone would not see them.
        """
        if not isinstance(text, str):
            raise MaskingError(f"expected text, got {type(text).__name__}")
        try:
            doc = Document.from_text(
                text,
                self._tokenize if self._tokenizer else None,
                self._can_be_surname if self._tokenizer else None,
            )
            cands: list[Candidate] = []
            for detector in self._detectors:
                cands.extend(detector(doc))
            allowed: list[tuple[int, int]] = []
            matcher = _as_matcher(terms)
            if matcher is not None:
                for m in matcher.find_normalized(doc.norm):
                    if m.action is Action.ALLOW:
                        allowed.append(doc.norm.to_original(m.start, m.end))
                        continue
                    cands.append(
                        Candidate(m.start, m.end, EntityType.CUSTOM_TERM,
                                  PRIORITY[EntityType.CUSTOM_TERM], "term", action=m.action)
                    )
            found: list[_Found] = []
            for c in cands:
                start, end = doc.norm.to_original(c.start, c.end)
                if end <= start:
                    continue
                found.append(_Found(start, end, c.type, c.priority, c.forced,
                                    _action_for(c, policy)))
            if self._ner is not None:
                found.extend(_ner_gaps(text, self._ner.entities(text), found, policy))
            found.extend(_repeats(text, found, known, policy))
            if allowed:
                found = [
                    f for f in found
                    if f.forced or not any(a <= f.start and f.end <= b for a, b in allowed)
                ]
            return found
        except MaskingError:
            raise
        except Exception as exc:  # fail closed: any detector error stops the message
            raise MaskingError(f"masking failed ({type(exc).__name__})") from exc

    def detect(self, text: str, terms: TermsArg = None) -> list[Span]:
        """All findings before policy, as non-overlapping spans in original offsets."""
        return [Span(s, e, t) for s, e, t, _ in _resolve(self._find_locked(text, None, terms))]

    def _find_locked(
        self,
        text: str,
        policy: MaskingPolicy | None,
        terms: TermsArg,
        known: Iterable[tuple[str, EntityType]] = (),
    ) -> list[_Found]:
        with self._lock:
            return self._find(text, policy, terms, known)

    # -- masking -------------------------------------------------------------------------------

    def mask(
        self,
        text: str,
        vault: PlaceholderVault,
        policy: MaskingPolicy | None = None,
        terms: TermsArg = None,
    ) -> MaskResult:
        """Mask ``text`` for sending: placeholders from ``vault``, actions from ``policy``.

        A blocked result leaves the vault untouched (the text is not sent, so its values are
        not kept); its ``masked`` text still hides every finding.
        """
        policy = policy if policy is not None else MaskingPolicy()
        known = [(value, etype) for _, etype, value in vault.items()]
        found = self._find_locked(text, policy, terms, known)
        try:
            findings = [Span(s, e, t) for s, e, t, _ in _resolve(found)]
            acting = [f for f in found if f.action is not Action.ALLOW]
            clusters = _resolve(acting)
            blocked = sorted(
                {f.type for f in acting if f.action is Action.BLOCK}, key=_TYPE_ORDER.__getitem__
            )
            work = vault.copy()
            pieces: list[str] = []
            spans: list[Span] = []
            counts: Counter[EntityType] = Counter()
            pos = 0
            for start, end, etype, members in clusters:
                pieces.append(text[pos:start])
                pieces.append(work.placeholder_for(text[start:end], etype))
                spans.append(Span(start, end, etype))
                if not all(m.forced for m in members):
                    counts[etype] += 1
                pos = end
            pieces.append(text[pos:])
            if not blocked:
                vault.merge_from(work)
            return MaskResult(
                masked="".join(pieces),
                spans=spans,
                blocked=bool(blocked),
                blocked_types=blocked,
                counts=dict(counts),
                findings=findings,
            )
        except Exception as exc:
            raise MaskingError(f"masking failed ({type(exc).__name__})") from exc

    def unmask(self, text: str, vault: PlaceholderVault) -> str:
        """Restore the real values in a model's answer (see PlaceholderVault.unmask)."""
        return unmask(text, vault)


def _ner_gaps(
    text: str,
    entities: Iterable[tuple[int, int, EntityType]],
    found: Sequence[_Found],
    policy: MaskingPolicy | None,
) -> list[_Found]:
    """NER findings, as a second opinion: only the parts the rules did not already cover.

    A model's span that swallows a rule finding (GiNZA's Postal_Address takes the 〒 code
    with the address) must not turn the validated finding into another type.
    """
    covered = [False] * (len(text) + 1)
    for f in found:
        for k in range(f.start, f.end):
            covered[k] = True
    out: list[_Found] = []
    for start, end, etype in entities:
        etype = EntityType(etype)
        if not 0 <= start < end <= len(text):
            continue
        k = start
        while k < end:
            if covered[k]:
                k += 1
                continue
            j = k
            while j < end and not covered[j]:
                j += 1
            piece = text[k:j]
            if sum(ch.isalnum() for ch in piece) >= 1 and piece.strip():
                s = k + (len(piece) - len(piece.lstrip()))
                e = j - (len(piece) - len(piece.rstrip()))
                out.append(_Found(s, e, etype, PRIORITY[etype] - 5, False,
                                  _action_for_type(etype, policy)))
            k = j
    return out


def _repeats(
    text: str,
    found: Sequence[_Found],
    known: Iterable[tuple[str, EntityType]],
    policy: MaskingPolicy | None,
) -> list[_Found]:
    """Every other occurrence of a value found once (or known from the thread's vault).

    「山田太郎さん…山田太郎の件」: the second 山田太郎 has no honorific but is the same person;
    no value that was masked once may stay readable elsewhere in the text.
    """
    values: dict[str, tuple[EntityType, int]] = {}
    for f in found:
        if not f.forced and f.type is not EntityType.CUSTOM_TERM:
            values.setdefault(text[f.start : f.end], (f.type, f.priority - 1))
    for value, etype in known:
        if etype is not EntityType.CUSTOM_TERM and not PLACEHOLDER_LIKE.fullmatch(value):
            values.setdefault(value, (etype, PRIORITY[etype] - 1))
    out: list[_Found] = []
    for value, (etype, priority) in values.items():
        alnum = len(value) if len(value) > 8 else sum(ch.isalnum() for ch in value)
        if alnum < 2:
            continue  # one kanji (林さん) is too short to mask everywhere
        action = _action_for_type(etype, policy)
        # Short Latin values only as whole words (Li must not eat Lisa); anything longer is
        # masked wherever it occurs, even inside a longer number.
        whole_word = value.isascii() and alnum < 4
        pos = text.find(value)
        while pos >= 0:
            end = pos + len(value)
            if not whole_word or not (
                (pos > 0 and _ASCII_ALNUM.match(text[pos - 1]))
                or (end < len(text) and _ASCII_ALNUM.match(text[end]))
            ):
                out.append(_Found(pos, end, etype, priority, False, action))
            pos = text.find(value, pos + 1)
    return out


def _action_for_type(etype: EntityType, policy: MaskingPolicy | None) -> Action:
    return policy.action(etype) if policy is not None else Action.MASK


def _action_for(c: Candidate, policy: MaskingPolicy | None) -> Action:
    if c.forced:
        return Action.MASK
    act = _action_for_type(c.type, policy)
    if c.type is EntityType.CUSTOM_TERM and c.action is not None:
        # The term's own action and the policy's CUSTOM_TERM row: the stricter one applies,
        # so a per-model policy cannot let a "never send" term through.
        own = Action(c.action)
        return own if ACTION_STRICTNESS[own] >= ACTION_STRICTNESS[act] else act
    return act


def _as_matcher(terms: TermsArg) -> CustomTermMatcher | None:
    if terms is None or isinstance(terms, CustomTermMatcher):
        return terms
    return CustomTermMatcher(terms)


# -- module-level convenience ------------------------------------------------------------------

_local = threading.local()


def default_masker() -> Masker:
    """This thread's Masker (created on first use, configured from masking.yaml)."""
    masker = getattr(_local, "masker", None)
    if masker is None:
        masker = Masker.from_config()
        _local.masker = masker
    return masker


def mask(
    text: str,
    vault: PlaceholderVault,
    policy: MaskingPolicy | None = None,
    terms: TermsArg = None,
) -> MaskResult:
    """Mask ``text`` with this thread's default Masker (see Masker.mask)."""
    return default_masker().mask(text, vault, policy, terms)


def unmask(text: str, vault: PlaceholderVault) -> str:
    """Restore real values in ``text`` (no tokenizer needed); errors become MaskingError."""
    try:
        return vault.unmask(text)
    except Exception as exc:
        raise MaskingError(f"unmasking failed ({type(exc).__name__})") from exc
