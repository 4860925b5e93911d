"""Masking policy: defaults, per-model overrides, persistence, refusal messages."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.masking import Action, EntityType, Masker, MaskingError, MaskingPolicy, PlaceholderVault


def test_defaults_block_my_number_and_cards() -> None:
    policy = MaskingPolicy()
    assert policy.action(EntityType.MY_NUMBER) is Action.BLOCK
    assert policy.action(EntityType.CREDIT_CARD) is Action.BLOCK
    others = set(EntityType) - {EntityType.MY_NUMBER, EntityType.CREDIT_CARD}
    assert {policy.action(t) for t in others} == {Action.MASK}


def test_shipped_yaml_matches_the_defaults() -> None:
    assert MaskingPolicy.load().effective() == MaskingPolicy().effective()


def test_per_model_overrides_exact_beats_pattern() -> None:
    policy = (
        MaskingPolicy()
        .with_action("POSTAL_CODE", "allow", model="local-*")
        .with_action(EntityType.POSTAL_CODE, Action.BLOCK, model="local-llm")
    )
    assert policy.for_model("local-other").action(EntityType.POSTAL_CODE) is Action.ALLOW
    assert policy.for_model("local-llm").action(EntityType.POSTAL_CODE) is Action.BLOCK
    assert policy.for_model("gpt-4o").action(EntityType.POSTAL_CODE) is Action.MASK
    assert policy.action(EntityType.POSTAL_CODE) is Action.MASK


def test_with_action_does_not_change_the_original() -> None:
    base = MaskingPolicy()
    changed = base.with_action("PERSON", "block")
    assert base.action(EntityType.PERSON) is Action.MASK
    assert changed.action(EntityType.PERSON) is Action.BLOCK


def test_dict_round_trip() -> None:
    policy = MaskingPolicy().with_action("PHONE", "allow", model="closed-*")
    assert MaskingPolicy.from_dict(policy.to_dict()) == policy


def test_unknown_type_or_action_is_rejected() -> None:
    with pytest.raises(ValueError):
        MaskingPolicy.from_dict({"defaults": {"NAME": "mask"}})
    with pytest.raises(ValueError):
        MaskingPolicy.from_dict({"defaults": {"PERSON": "hide"}})


def test_load_from_file(tmp_path: Path) -> None:
    path = tmp_path / "masking.yaml"
    path.write_text("defaults:\n  PERSON: block\nmodels:\n  m1:\n    PERSON: allow\n", "utf-8")
    policy = MaskingPolicy.load(path)
    assert policy.action(EntityType.PERSON) is Action.BLOCK
    assert policy.for_model("m1").action(EntityType.PERSON) is Action.ALLOW
    assert policy.action(EntityType.MY_NUMBER) is Action.BLOCK  # untouched default


def test_load_broken_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "masking.yaml"
    path.write_text("defaults: [oops", "utf-8")
    with pytest.raises(MaskingError):
        MaskingPolicy.load(path)
    with pytest.raises(MaskingError):
        MaskingPolicy.load(tmp_path / "missing.yaml")


def test_block_message_names_every_blocked_type(masker: Masker) -> None:
    vault = PlaceholderVault()
    text = "個人番号 860913909967、カード番号4111-1111-1111-1111、山田太郎さん"
    result = masker.mask(text, vault, MaskingPolicy())
    assert result.blocked
    assert result.blocked_types == [EntityType.MY_NUMBER, EntityType.CREDIT_CARD]
    message = result.block_message
    assert "マイナンバーと思われる番号" in message
    assert "クレジットカード番号と思われる番号" in message
    assert "送信しませんでした" in message
    assert "削除" in message and "置き換え" in message
    assert "Your message was not sent" in result.refusal("en")
    # Nothing of a blocked text is kept, and nothing of it is readable in the masked text.
    assert len(vault) == 0
    assert "860913909967" not in result.masked and "4111" not in result.masked


def test_allow_keeps_the_value_but_detect_still_reports_it(masker: Masker) -> None:
    policy = MaskingPolicy().with_action("PHONE", "allow")
    text = "電話 03-1234-5678、山田太郎さん"
    result = masker.mask(text, PlaceholderVault(), policy)
    assert "03-1234-5678" in result.masked
    assert [s.type for s in result.spans] == [EntityType.PERSON]
    assert EntityType.PHONE in {s.type for s in result.findings}


def test_not_blocked_message_is_empty(masker: Masker) -> None:
    result = masker.mask("こんにちは", PlaceholderVault(), MaskingPolicy())
    assert not result.blocked and result.block_message == "" and result.counts == {}
