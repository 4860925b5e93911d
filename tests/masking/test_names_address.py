"""PERSON and ADDRESS: SudachiPy name/place tags plus honorific, title, label and address rules."""
from __future__ import annotations

import pytest

from bot.masking import Masker
from tests.masking.helpers import found, hidden, untouched

# -- PERSON ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, name",
    [
        ("相談者は伊藤拓也氏（生年月日）", "伊藤拓也"),
        ("出席者: 鈴木健太課長、加藤裕子係長", "加藤裕子"),
        ("山田 太郎 様", "山田 太郎"),
        ("佐藤煌翔さんと面談", "佐藤煌翔"),  # a rare given name the dictionary splits
        ("ンゴジ・オコンジョさんが来庁", "ンゴジ・オコンジョ"),  # unknown katakana + honorific
        ("申請者：グエン・ヴァン・ナム（ベトナム国籍）", "グエン・ヴァン・ナム"),
        ("マイケル・ジョンソンさん", "マイケル・ジョンソン"),
        ("出席：井口部長、松田課長", "井口"),  # tagged as a place, but a title follows
        ("石川主任より連絡", "石川"),
        ("相談者：坂本 ゆかり", "坂本 ゆかり"),
        ("口座名義 ヤマモト ハナコ", "ヤマモト ハナコ"),
        ("鈴木より報告があった", "鈴木"),
        ("林さんへ", "林"),
        ("世帯主 大橋 誠（昭和48年生）", "大橋 誠"),  # 大橋 tagged "big bridge", 誠 a given name
        ("氏名：平野 学、住所：横浜市", "平野 学"),  # a form value, whatever the tags say
        ("届出人：安田ひなた", "安田ひなた"),
    ],
)
def test_japanese_names(masker: Masker, text: str, name: str) -> None:
    assert hidden(masker, text, name), found(masker, text)


@pytest.mark.parametrize(
    "text, name",
    [
        ("Please forward this to Ms. Sarah Johnson today.", "Sarah Johnson"),
        ("Dear Mr. Tanaka, thank you.", "Tanaka"),
        ("Yamamoto-san, please check.", "Yamamoto"),
        ("Taro YAMADA will attend.", "Taro YAMADA"),
        ("Sato Hiroshi と打合せ", "Sato Hiroshi"),
        ("John Smith called about the tax form.", "John Smith"),
        ("Kenji Watanabeさんから問い合わせ", "Kenji Watanabe"),
        ("Name: Jane Doe", "Jane Doe"),
    ],
)
def test_latin_names(masker: Masker, text: str, name: str) -> None:
    assert hidden(masker, text, name), found(masker, text)


@pytest.mark.parametrize(
    "text, keep",
    [
        ("市民課の窓口で受け付けます", "市民課"),
        ("総務課長が説明した", "総務課長"),
        ("お客様と担当者様と皆様", "お客様"),
        ("ヘルパーさんが訪問", "ヘルパー"),
        ("横浜市長の年頭あいさつ", "横浜市長"),
        ("GPT-4oとClaudeの比較", "Claude"),
        ("担当はLGWANまで", "LGWAN"),
        ("I moved to Japan last year.", "Japan last"),
        ("令和6年4月1日から施行", "令和6年"),
        ("山田小学校の運動会", "山田小学校"),
        ("Dear all, the meeting is on April 30.", "April"),
        ("「Aさん」「〇〇地区」のように置き換える", "A"),  # already a pseudonym
        ("中川財政課長から説明", "財政課長"),  # 中川 is the person, 財政課 the division
        ("千葉県君津市の新鮮なさんま", "千葉県君津市"),  # 君 and さん only start those words
        ("本田技研工業と鈴木建設さん", "鈴木建設"),
        ("相談者：高齢者", "高齢者"),
        ("氏名：未定", "未定"),
    ],
)
def test_not_names(masker: Masker, text: str, keep: str) -> None:
    assert [t for v, t in found(masker, text) if t == "PERSON" and v in keep] == []
    assert untouched(masker, text, keep), found(masker, text)


def test_two_surnames_joined_by_a_middle_dot_are_two_people(masker: Masker) -> None:
    assert found(masker, "佐藤・高橋の両名") == [("佐藤", "PERSON"), ("高橋", "PERSON")]


def test_a_name_seen_once_is_masked_everywhere_in_the_text(masker: Masker) -> None:
    text = "山田太郎さんから電話。山田太郎の件です。"
    assert [v for v, _ in found(masker, text)] == ["山田太郎", "山田太郎"]


# -- ADDRESS -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, address",
    [
        ("住所は〒159-0830 兵庫県神戸市中央区加納町7-5-8。", "兵庫県神戸市中央区加納町7-5-8"),
        ("大分県別府市上野口町4丁目25番12号", "大分県別府市上野口町4丁目25番12号"),
        ("（横須賀市小川町2-10-8、電話", "横須賀市小川町2-10-8"),
        ("神奈川県横浜市港北区日吉本町一丁目2番3号", "神奈川県横浜市港北区日吉本町一丁目2番3号"),
        ("千葉県船橋市本町二丁目3番10号", "千葉県船橋市本町二丁目3番10号"),
        ("大字小川字上原123番地の4", "大字小川字上原123番地の4"),
        ("東京都千代田区霞が関1-2-1", "東京都千代田区霞が関1-2-1"),
        ("北海道札幌市中央区北3条西6丁目", "北海道札幌市中央区北3条西6丁目"),
        ("大阪市北区梅田1丁目2番3号 梅田ビル5階", "大阪市北区梅田1丁目2番3号 梅田ビル5階"),
        ("東京都立川市泉町4丁目1番8号 グランドハイツ302号室", "東京都立川市泉町4丁目1番8号 グランドハイツ302号室"),
        ("住所　神奈川県川崎市川崎区宮本町１番地", "神奈川県川崎市川崎区宮本町１番地"),
        ("郵便番号2310021、横浜市中区日本大通1、", "横浜市中区日本大通1"),
        ("大阪府堺市北区中百舌鳥町2丁132番地", "大阪府堺市北区中百舌鳥町2丁132番地"),
        ("住所は横須賀市小川町です", "横須賀市小川町"),
        ("港区芝公園4-2-8付近", "港区芝公園4-2-8"),
        ("住所: 1-2-3", "1-2-3"),
        ("send it to 1-2-3 Nishi-Shinjuku, Shinjuku-ku, Tokyo.", "1-2-3 Nishi-Shinjuku, Shinjuku-ku, Tokyo"),
    ],
)
def test_addresses(masker: Masker, text: str, address: str) -> None:
    assert hidden(masker, text, address), found(masker, text)


@pytest.mark.parametrize(
    "text, keep",
    [
        ("神戸市の予算について", "神戸市"),
        ("条例第12号と地方自治法第2条", "条例第12号"),
        ("横浜市条例第12号を改正", "第12号"),
        ("資料3-2を参照", "資料3-2"),
        ("第3回定例会", "第3回定例会"),
        ("事業所の住所は大阪府庁と同じビルです。", "大阪府庁"),
        ("東京都と大阪府の取組事例", "東京都"),
        ("電話042-797-1147", "042-797-1147"),
    ],
)
def test_not_addresses(masker: Masker, text: str, keep: str) -> None:
    assert [t for _, t in found(masker, text) if t == "ADDRESS"] == []
