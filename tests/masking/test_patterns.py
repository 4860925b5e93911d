"""Validated pattern detectors: positive and negative cases per type."""
from __future__ import annotations

import pytest

from bot.masking import Masker
from bot.masking.validators import luhn_valid, my_number_valid
from tests.masking.helpers import found, hidden, untouched

# -- check digits ------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["123456789018", "860913909967", "004743957550", "573014847502"])
def test_my_number_check_digit_valid(number: str) -> None:
    assert my_number_valid(number)


@pytest.mark.parametrize("number", ["123456789012", "860913909960", "12345678901", "12345678901a"])
def test_my_number_check_digit_invalid(number: str) -> None:
    assert not my_number_valid(number)


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert luhn_valid("378282246310005")
    assert not luhn_valid("4111111111111112")


# -- MY_NUMBER ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("個人番号 860913909967 を確認済み。", "860913909967"),
        ("マイナンバーは1234 5678 9018です。", "1234 5678 9018"),
        ("マイナンバー：１２３４－５６７８－９０１８", "１２３４－５６７８－９０１８"),
        ("個人番号カード（3732-2473-1230）の提示", "3732-2473-1230"),
    ],
)
def test_my_number_with_context(masker: Masker, text: str, value: str) -> None:
    assert (value, "MY_NUMBER") in found(masker, text)


def test_wrong_check_digit_with_context_is_still_masked_but_not_my_number(masker: Masker) -> None:
    text = "個人番号 1234-5678-9012 を確認"
    assert ("1234-5678-9012", "ID_NUMBER") in found(masker, text)


def test_valid_check_digit_alone_is_not_called_my_number(masker: Masker) -> None:
    # One random 12-digit number in ten passes the check digit: mask, but not as MY_NUMBER.
    types = dict(found(masker, "整理用の 123456789018 を入力"))
    assert types.get("123456789018") == "ID_NUMBER"


def test_twelve_digits_without_context_and_wrong_check_digit_stay(masker: Masker) -> None:
    assert found(masker, "予備の値 123456789012 を使う") == []


# -- CREDIT_CARD -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("カード番号4111-1111-1111-1111です", "4111-1111-1111-1111"),  # no \b problem
        ("クレジット（4111 1111 1111 1111）で払う", "4111 1111 1111 1111"),
        ("AMEX 3782-822463-10005", "3782-822463-10005"),
        ("番号は４１１１１１１１１１１１１１１１", "４１１１１１１１１１１１１１１１"),
        ("card 5500000000000004 expires", "5500000000000004"),
    ],
)
def test_credit_card(masker: Masker, text: str, value: str) -> None:
    assert (value, "CREDIT_CARD") in found(masker, text)


def test_card_number_failing_luhn_is_masked_with_card_label(masker: Masker) -> None:
    assert hidden(masker, "カード番号 4111 1111 1111 1112", "4111 1111 1111 1112")


def test_sixteen_digits_failing_luhn_without_label_are_not_a_card(masker: Masker) -> None:
    assert ("4111111111111112", "CREDIT_CARD") not in found(masker, "値 4111111111111112 を送る")


# -- PHONE -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "03-1234-5678",
        "042-797-1147",
        "0466-22-3344",
        "090-1234-5678",
        "08012345678",
        "070 1234 5678",
        "050-1234-5678",
        "0120-123-456",
        "0800-123-4567",
        "0570-064-000",
        "+81-3-3581-4112",
        "+81 90 1234 5678",
        "(03)3581-4111",
        "０９０－３３２１－８８７６",
        "０３ー５５５５ー１２３４",
    ],
)
def test_phone_formats(masker: Masker, value: str) -> None:
    text = f"連絡は{value}までお願いします"
    assert hidden(masker, text, value), found(masker, text)


def test_two_phone_numbers_separated_by_a_space(masker: Masker) -> None:
    text = "TEL 03-1234-5678 090-8765-4321"
    assert found(masker, text) == [("03-1234-5678", "PHONE"), ("090-8765-4321", "PHONE")]


@pytest.mark.parametrize(
    "text, keep",
    [
        ("市民課（内線4917）まで", "内線4917"),
        ("予算は1234567890円です", "1234567890円"),
        ("会議室264で実施", "会議室264"),
        ("GPT-4oとLGWANの比較", "GPT-4o"),
    ],
)
def test_numbers_that_are_not_phones(masker: Masker, text: str, keep: str) -> None:
    assert untouched(masker, text, keep)


# -- POSTAL_CODE -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("〒159-0830 兵庫県神戸市中央区加納町", "〒159-0830"),
        ("〒１００－８９７７", "〒１００－８９７７"),
        ("郵便番号2310021、横浜市中区", "2310021"),
        ("住所は458-8524 大分県別府市", "458-8524"),
        ("送付先 980-8671 宮城県仙台市", "980-8671"),
    ],
)
def test_postal_code(masker: Masker, text: str, value: str) -> None:
    assert (value, "POSTAL_CODE") in found(masker, text)


def test_postal_shape_without_context_is_kept(masker: Masker) -> None:
    assert found(masker, "資料は123-4567の改訂版") == []


# -- EMAIL -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("メールはtaro@example.jpです", "taro@example.jp"),  # kana right after: no \b
        ("返信先はm.higa+city@example.jpです。", "m.higa+city@example.jp"),
        ("宛先：soumu@city.example.lg.jp。", "soumu@city.example.lg.jp"),
        ("大文字 ALICE.BROWN@EXAMPLE.COM も", "ALICE.BROWN@EXAMPLE.COM"),
        ("全角ｉｎｆｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ", "ｉｎｆｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ"),
    ],
)
def test_email(masker: Masker, text: str, value: str) -> None:
    assert (value, "EMAIL") in found(masker, text)


def test_not_an_email(masker: Masker) -> None:
    assert found(masker, "@channel 会議は10時@第2会議室") == []


# -- BANK_ACCOUNT ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("口座はみずほ銀行那覇支店 当座 9118625、連絡先", "みずほ銀行那覇支店 当座 9118625"),
        ("三菱UFJ銀行 渋谷支店 普通預金 口座番号1234567", "三菱UFJ銀行 渋谷支店 普通預金 口座番号1234567"),
        ("振込先：北洋銀行 札幌駅前支店（店番123）普通 7654321", "北洋銀行 札幌駅前支店（店番123）普通 7654321"),
        ("ゆうちょ銀行 〇一八店 普通 1234567", "ゆうちょ銀行 〇一八店 普通 1234567"),
        ("多摩信用金庫本店営業部 普通 2880729", "多摩信用金庫本店営業部 普通 2880729"),
        ("みずほ銀行新宿支店の普通口座1234567に振込", "みずほ銀行新宿支店の普通口座1234567"),
        ("振込先：三井住友銀行 新宿支店 普通 1234567 名義 ヤマダタロウ", "三井住友銀行 新宿支店 普通 1234567"),
    ],
)
def test_bank_account(masker: Masker, text: str, value: str) -> None:
    assert hidden(masker, text, value), found(masker, text)
    assert "BANK_ACCOUNT" in dict(found(masker, text)).values()


def test_seven_digits_without_bank_context_are_kept(masker: Masker) -> None:
    assert found(masker, "来場者数は1234567人でした") == []


# -- BIRTH_DATE --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("生年月日 1946/02/27", "1946/02/27"),
        ("生年月日：1988年4月5日", "1988年4月5日"),
        ("生年月日 昭和62年5月13日", "昭和62年5月13日"),
        ("生年月日 昭和五十二年七月八日", "昭和五十二年七月八日"),
        ("平成30年12月1日生まれの子", "平成30年12月1日"),
        ("佐藤陽葵（R3.4.12生）", "R3.4.12"),
        ("S62.5.13生", "S62.5.13"),
        ("生年月日：１９７５年１１月３日", "１９７５年１１月３日"),
        ("誕生日は4月18日です", "4月18日"),
        ("DOB: April 5, 1988", "April 5, 1988"),
        ("中村花子さん（1990年3月3日）の住民票", "1990年3月3日"),
    ],
)
def test_birth_date(masker: Masker, text: str, value: str) -> None:
    assert hidden(masker, text, value), found(masker, text)


@pytest.mark.parametrize(
    "text",
    [
        "令和8年5月20日施行の条例",
        "会議は2024年6月3日に開催",
        "生年月日と住所を確認し、令和6年4月1日から適用する",
    ],
)
def test_public_dates_are_kept(masker: Masker, text: str) -> None:
    assert [t for _, t in found(masker, text) if t == "BIRTH_DATE"] == []


# -- ID_NUMBER ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("基礎年金番号 0639-436991、", "0639-436991"),
        ("被保険者番号 70741374", "70741374"),
        ("住民票コード 64460495660", "64460495660"),
        ("旅券番号 TK0916449 の更新", "TK0916449"),
        ("運転免許証番号 第123456789012号", "123456789012"),
        ("在留カード番号 AB12345678CD", "AB12345678CD"),
        ("お客様番号0012345678の件", "0012345678"),
        ("基礎年金番号１２３４－５６７８９０", "１２３４－５６７８９０"),
        ("障害者手帳番号 第12345号", "12345"),
    ],
)
def test_id_numbers_by_label(masker: Masker, text: str, value: str) -> None:
    assert (value, "ID_NUMBER") in found(masker, text)


def test_a_year_after_an_id_word_is_kept(masker: Masker) -> None:
    assert untouched(masker, "在留カードの有効期間は2030年まで", "2030年")


def test_public_numbers_are_kept(masker: Masker) -> None:
    assert untouched(masker, "法人番号 1234567890123 は公開情報", "1234567890123")
    assert untouched(masker, "条例第12号と地方自治法第2条", "条例第12号")


# -- LICENSE_PLATE -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("車両 品川 300 あ 12-34。", "品川 300 あ 12-34"),
        ("練馬500さ12-34です", "練馬500さ12-34"),
        ("なにわ 330 れ ・・・1", "なにわ 330 れ ・・・1"),
        ("登録番号は品川 330 す 1234となって", "品川 330 す 1234"),
        ("湘南 501 ほ 88-88", "湘南 501 ほ 88-88"),
    ],
)
def test_license_plate(masker: Masker, text: str, value: str) -> None:
    assert (value, "LICENSE_PLATE") in found(masker, text)
