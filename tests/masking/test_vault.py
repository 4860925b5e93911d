"""Placeholder vault: consistency across turns, robust unmasking, sealing at rest."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from bot.masking import EntityType, Masker, MaskingError, MaskingPolicy, PlaceholderVault, unmask


def test_same_value_same_placeholder_across_turns(masker: Masker, vault: PlaceholderVault) -> None:
    policy = MaskingPolicy()
    first = masker.mask("山田太郎さんの電話は090-1234-5678です", vault, policy)
    second = masker.mask("山田太郎さんに０９０－１２３４－５６７８へ折り返すよう伝えて", vault, policy)
    assert first.masked == "<人名1>さんの電話は<電話番号1>です"
    assert second.masked == "<人名1>さんに<電話番号1>へ折り返すよう伝えて"


def test_different_values_never_share_a_placeholder(masker: Masker, vault: PlaceholderVault) -> None:
    result = masker.mask("山田太郎さんと鈴木花子さんと佐藤次郎さん", vault, MaskingPolicy())
    assert result.masked == "<人名1>さんと<人名2>さんと<人名3>さん"
    assert len(vault) == 3


def test_a_known_value_is_masked_in_later_turns_even_without_context(
    masker: Masker, vault: PlaceholderVault
) -> None:
    masker.mask("相談者は山田太郎さん", vault, MaskingPolicy())
    assert masker.mask("山田太郎の件で", vault, MaskingPolicy()).masked == "<人名1>の件で"


def test_placeholder_10_is_not_confused_with_1(vault: PlaceholderVault) -> None:
    for i in range(10):
        vault.placeholder_for(f"名前{i}", EntityType.PERSON)
    assert unmask("<人名1>と<人名10>", vault) == "名前0と名前9"


@pytest.mark.parametrize(
    "answer",
    [
        "<人名1>さん",
        "＜人名1＞さん",
        "〈人名1〉さん",
        "《人名1》さん",
        "< 人名 1 >さん",
        "＜人名１＞さん",
        "【人名1】さん",
        "[人名1]さん",
    ],
)
def test_unmask_survives_what_models_do(answer: str, vault: PlaceholderVault) -> None:
    vault.placeholder_for("山田太郎", EntityType.PERSON)
    assert unmask(answer, vault) == "山田太郎さん"


def test_unmask_repeated_and_reordered(vault: PlaceholderVault) -> None:
    vault.placeholder_for("山田", EntityType.PERSON)
    vault.placeholder_for("鈴木", EntityType.PERSON)
    assert unmask("<人名2>、<人名1>、<人名2>様", vault) == "鈴木、山田、鈴木様"


def test_invented_placeholder_is_left_as_is(vault: PlaceholderVault) -> None:
    vault.placeholder_for("山田", EntityType.PERSON)
    assert unmask("<人名9>さんと<電話番号1>", vault) == "<人名9>さんと<電話番号1>"


def test_values_with_regex_specials_are_inserted_verbatim(vault: PlaceholderVault) -> None:
    vault.placeholder_for(r"a\1b\g<0>$&", EntityType.CUSTOM_TERM)
    assert unmask("x<機密語1>y", vault) == r"xa\1b\g<0>$&y"


def test_placeholder_typed_by_the_user_round_trips(
    masker: Masker, vault: PlaceholderVault, mask_all: MaskingPolicy
) -> None:
    masker.mask("鈴木花子さん", vault, mask_all)  # <人名1> is now 鈴木花子
    text = "前回の回答に<人名1>と書いてあった。山田太郎さんです。"
    result = masker.mask(text, vault, mask_all)
    assert "<人名1>" not in result.masked
    assert unmask(result.masked, vault) == text


def test_to_bytes_round_trip(vault: PlaceholderVault) -> None:
    vault.placeholder_for("山田", EntityType.PERSON)
    vault.placeholder_for("03-1234-5678", EntityType.PHONE)
    again = PlaceholderVault.from_bytes(vault.to_bytes())
    assert again.items() == vault.items()
    assert again.placeholder_for("山田", EntityType.PERSON) == "<人名1>"
    assert again.placeholder_for("鈴木", EntityType.PERSON) == "<人名2>"


@pytest.mark.parametrize("key", [Fernet.generate_key(), Fernet.generate_key().decode(), "正門の合言葉"])
def test_seal_unseal(vault: PlaceholderVault, key: bytes | str) -> None:
    vault.placeholder_for("山田太郎", EntityType.PERSON)
    vault.placeholder_for("taro@example.jp", EntityType.EMAIL)
    blob = vault.seal(key)
    assert "山田太郎".encode() not in blob
    assert b"taro@example.jp" not in blob
    assert b"taro" not in blob
    assert PlaceholderVault.unseal(key, blob).items() == vault.items()


def test_unseal_with_wrong_key_fails(vault: PlaceholderVault) -> None:
    vault.placeholder_for("山田太郎", EntityType.PERSON)
    blob = vault.seal("right key")
    with pytest.raises(MaskingError):
        PlaceholderVault.unseal("wrong key", blob)
    with pytest.raises(MaskingError):
        PlaceholderVault.unseal("right key", blob[:-3] + b"AAA")


def test_malformed_vault_is_an_error() -> None:
    with pytest.raises(MaskingError):
        PlaceholderVault.from_bytes(b'{"version": 1, "entries": [{"placeholder": "<x>"}]}')
    with pytest.raises(MaskingError):
        PlaceholderVault.from_bytes(b"not json")
