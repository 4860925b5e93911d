"""Admin custom terms: normalised matching, actions, and a 10,000-term automaton."""
from __future__ import annotations

import random

import pytest

from bot.masking import (
    Action,
    CustomTermMatcher,
    EntityType,
    Masker,
    MaskingPolicy,
    PlaceholderVault,
)


@pytest.mark.parametrize(
    "text",
    [
        "プロジェクトX2の件",
        "ﾌﾟﾛｼﾞｪｸﾄＸ２の件",  # half-width katakana, full-width letters
        "ぷろじぇくとx2の件",  # hiragana, lower case
        "プロジェクト Ｘ２の件",  # a space inside
    ],
)
def test_normalised_matching(text: str) -> None:
    matcher = CustomTermMatcher(["プロジェクトX2"])
    matches = matcher.find(text)
    assert len(matches) == 1
    assert text[matches[0].start : matches[0].end].endswith(("2", "２"))
    assert matches[0].start == 0


def test_ascii_terms_respect_word_edges() -> None:
    matcher = CustomTermMatcher(["ABC"])
    assert matcher.find("ABCD and XABC") == []
    assert [m.start for m in matcher.find("the ABC project, abc.")] == [4, 17]


def test_leftmost_longest_and_stricter_duplicate() -> None:
    matcher = CustomTermMatcher([("東京", Action.MASK), ("東京タワー", Action.MASK),
                                 ("タワー", Action.BLOCK), ("とうきょう", Action.BLOCK)])
    assert len(matcher) == 4
    found = [(m.term, m.action) for m in matcher.find("東京タワーと東京")]
    assert found == [("東京タワー", Action.MASK), ("東京", Action.MASK)]
    dup = CustomTermMatcher([("秘密", "mask"), ("ひみつ", "mask"), ("秘密", "block")])
    assert [m.action for m in dup.find("秘密")] == [Action.BLOCK]


def test_terms_are_masked_or_block(masker: Masker) -> None:
    terms = CustomTermMatcher([("さくら計画", "mask"), ("黒田一郎", "block")])
    vault = PlaceholderVault()
    ok = masker.mask("サクラ計画の進捗", vault, MaskingPolicy(), terms)
    assert ok.masked == "<機密語1>の進捗" and ok.counts == {EntityType.CUSTOM_TERM: 1}
    blocked = masker.mask("黒田一郎さんの件", vault, MaskingPolicy(), terms)
    assert blocked.blocked and blocked.blocked_types == [EntityType.CUSTOM_TERM]
    assert "管理者が登録" in blocked.block_message


def test_policy_can_make_all_terms_block_but_not_let_block_terms_through(masker: Masker) -> None:
    terms = [("さくら計画", Action.MASK), ("黒田", Action.BLOCK)]
    strict = MaskingPolicy().with_action("CUSTOM_TERM", "block")
    assert masker.mask("さくら計画", PlaceholderVault(), strict, terms).blocked
    lax = MaskingPolicy().with_action("CUSTOM_TERM", "allow")
    assert masker.mask("黒田の件", PlaceholderVault(), lax, terms).blocked


def test_allow_terms_suppress_false_positives(masker: Masker) -> None:
    text = "担当：鈴木の件"
    assert masker.detect(text)  # 鈴木 alone is taken for a name
    assert masker.detect(text, terms=[("鈴木", "allow")]) == []


def test_a_term_inside_a_name_masks_the_whole_name(masker: Masker) -> None:
    result = masker.mask("山田太郎さん", PlaceholderVault(), MaskingPolicy(), [("山田", "mask")])
    assert result.masked == "<機密語1>さん"  # merged: no part of the name stays readable


def test_ten_thousand_terms() -> None:
    rng = random.Random(3)
    alphabet = "あいうえおかきくけこさしすせそアイウエオ山川田中村ABCXYZ0123456789"
    terms = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(3, 10)))
                    for _ in range(10_000)})
    matcher = CustomTermMatcher(terms)
    assert len(matcher) > 9_000  # folding merges a few (ア = あ)
    picked = rng.sample(terms, 20)
    filler = "本日の会議では、今後の方針について議論した。"
    text = filler.join(picked)
    matches = matcher.find(text)
    found_texts = {text[m.start : m.end] for m in matches}
    for term in picked:
        assert term in found_texts or any(term in f for f in found_texts)
    for m in matches:  # every match is a real occurrence of its term (after folding)
        from bot.masking.terms import fold_term

        assert fold_term(text[m.start : m.end]) == fold_term(m.term)
