"""Property tests: whatever the text, masking is reversible, hides what it found, and its
spans are sane."""
from __future__ import annotations

import re
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.masking import Masker, MaskingPolicy, PlaceholderVault, Span, unmask
from bot.masking.patterns import PLACEHOLDER_LIKE

SNIPPETS = [
    "山田太郎さん", "鈴木", "様", "090-1234-5678", "０３ー１２３４ー５６７８", "taro@example.jp",
    "個人番号 860913909967", "カード番号4111 1111 1111 1111", "〒159-0830", "兵庫県神戸市中央区加納町7-5-8",
    "生年月日 1946/02/27", "みずほ銀行那覇支店 普通 1234567", "品川 300 あ 12-34", "基礎年金番号 0639-436991",
    "<人名1>", "＜電話番号 2＞", "【機密語1】", "令和5年度予算", "第3回", "、", "。", "\n", " ", "ｶﾞ", "㍻",
    "Mr. John Smith", "Taro YAMADA", "\\1", "$&", "\u200b", "😀",
]
texts = st.lists(st.one_of(st.text(max_size=12), st.sampled_from(SNIPPETS)), max_size=12).map("".join)
TERMS = [("さくら計画", "mask"), ("ABC", "mask")]


@cache
def _masker() -> Masker:
    return Masker()


@cache
def _mask_all() -> MaskingPolicy:
    policy = MaskingPolicy()
    for etype in policy.defaults:
        policy = policy.with_action(etype, "mask")
    return policy


def _as_restored(text: str, spans: list[Span], vault: PlaceholderVault) -> str:
    """``text`` with each masked value in the form its placeholder restores.

    Spellings of one value (090-1234-5678 / ０９０１２３４５６７８, 山田 太郎 / 山田太郎) share a
    placeholder, which restores the spelling seen first; everything else must come back exactly.
    """
    out, pos = [], 0
    for span in spans:
        placeholder = vault.placeholder_for(text[span.start : span.end], span.type)
        out += [text[pos : span.start], vault.value_of(placeholder) or ""]
        pos = span.end
    return "".join(out) + text[pos:]


@settings(max_examples=300, deadline=None)
@given(texts)
def test_mask_then_unmask_is_the_original(text: str) -> None:
    vault = PlaceholderVault()
    result = _masker().mask(text, vault, _mask_all(), TERMS)
    assert not result.blocked
    restored = unmask(result.masked, vault)
    assert restored == _as_restored(text, result.spans, vault)
    if len({text[s.start : s.end] for s in result.spans}) == len(vault):
        assert restored == text  # every value written one way: exactly the original


@settings(max_examples=300, deadline=None)
@given(texts, texts)
def test_round_trip_across_two_turns(first: str, second: str) -> None:
    vault = PlaceholderVault()
    one = _masker().mask(first, vault, _mask_all())
    two = _masker().mask(second, vault, _mask_all())
    assert unmask(one.masked, vault) == _as_restored(first, one.spans, vault)
    assert unmask(two.masked, vault) == _as_restored(second, two.spans, vault)


def test_exact_round_trip_for_a_realistic_text() -> None:
    text = "相談者は伊藤拓也氏（生年月日 1946/02/27）、住所は〒159-0830 兵庫県神戸市中央区加納町7-5-8。"
    vault = PlaceholderVault()
    assert unmask(_masker().mask(text, vault, _mask_all()).masked, vault) == text


@settings(max_examples=300, deadline=None)
@given(texts)
def test_no_detected_value_is_readable_in_the_masked_text(text: str) -> None:
    result = _masker().mask(text, PlaceholderVault(), _mask_all(), TERMS)
    # Placeholders are our own text (<カード番号1> contains カード): look only between them.
    visible = PLACEHOLDER_LIKE.sub("\x00", result.masked)
    for span in result.spans:
        value = text[span.start : span.end]
        alnum = sum(c.isalnum() for c in value)
        if PLACEHOLDER_LIKE.fullmatch(value.strip()) or alnum < 2:
            continue  # a placeholder typed by the user; one-letter values are not searched
        if value.isascii() and alnum < 4:
            # Short Latin values are hidden as whole words only (Li, not the Li of Lisa).
            assert not re.search(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", visible)
        else:
            assert value not in visible


@settings(max_examples=300, deadline=None)
@given(texts)
def test_spans_are_sorted_disjoint_and_index_the_original(text: str) -> None:
    vault = PlaceholderVault()
    result = _masker().mask(text, vault, _mask_all())
    for spans in (result.spans, result.findings, _masker().detect(text)):
        previous_end = 0
        for span in spans:
            assert previous_end <= span.start < span.end <= len(text)
            previous_end = span.end
    # Rebuilding the masked text from the spans gives exactly the masked text.
    rebuilt, pos = [], 0
    for span in result.spans:
        rebuilt.append(text[pos : span.start])
        rebuilt.append(vault.placeholder_for(text[span.start : span.end], span.type))
        pos = span.end
    rebuilt.append(text[pos:])
    assert "".join(rebuilt) == result.masked
