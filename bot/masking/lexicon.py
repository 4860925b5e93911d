"""Context words and closed word lists the detectors use.

Kept as code rather than YAML: the filter must work (fail closed, not open) even when a data
file is missing or malformed, and these lists change with the law, not with a deployment.
All words are in NORMALISED form (NFKC: ASCII digits and colons, half-width parentheses).
"""
from __future__ import annotations

import re


def alternation(words: list[str] | tuple[str, ...] | set[str]) -> str:
    """A regex matching any of ``words``, the longest where several fit (電話番号 over 電話).

    Built as a trie (common prefixes factored out): Python's re tries every branch of a flat
    alternation at every position, which made the label scan ten times slower.
    """
    trie: dict[str, dict] = {}
    for word in set(words):
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie) or "(?!)"


# Labels that say what the number after them is. The nearest label before a number wins.
LABELS: dict[str, list[str]] = {
    "MY_NUMBER": ["個人番号", "マイナンバー", "マイナンバーカード", "個人番号カード", "my number",
                  "My Number", "MY NUMBER", "mynumber", "individual number", "Individual Number"],
    "CARD": ["カード番号", "クレジットカード", "クレジット", "カード", "クレカ", "card", "Card", "CARD",
             "VISA", "Visa", "MasterCard", "Mastercard", "AMEX", "Amex", "JCB", "Diners"],
    "PHONE": ["電話番号", "電話", "TEL", "Tel", "tel", "携帯", "ケータイ", "連絡先", "FAX", "Fax",
              "fax", "ファックス", "ファクス", "℡", "☎", "phone", "Phone", "PHONE", "mobile",
              "Mobile", "携帯番号", "緊急連絡先"],
    "EXTENSION": ["内線", "ext.", "Ext.", "ext", "Ext", "extension"],
    "POSTAL": ["〒", "郵便番号", "郵便", "zip", "ZIP", "Zip", "postal code", "Postal Code"],
    "ADDRESS": ["住所", "所在地", "現住所", "居所", "住居", "送付先", "送り先", "宛先", "本籍",
                "address", "Address", "転居先", "転出先", "転入先", "旧住所", "新住所", "連絡先住所"],
    "BANK": ["口座番号", "口座", "普通", "当座", "貯蓄", "総合口座", "預金", "銀行", "信用金庫",
             "信金", "信用組合", "労働金庫", "農協", "ゆうちょ", "支店", "店番", "振込先", "振込",
             "account", "Account"],
    "ID": [
        "基礎年金番号", "年金番号", "年金手帳", "被保険者番号", "被保険者証番号", "被保険者証",
        "保険者番号", "保険証番号", "保険証", "記号番号", "記号・番号", "運転免許証番号", "運転免許証",
        "運転免許", "免許証番号", "免許証", "免許番号", "旅券番号", "旅券", "パスポート番号",
        "パスポート", "住民票コード", "在留カード番号", "在留カード", "特別永住者証明書",
        "受給者番号", "受給者証番号", "受給者証", "手帳番号", "障害者手帳", "療育手帳", "宛名番号",
        "世帯番号", "個人コード", "納税者番号", "納税義務者番号", "学籍番号", "社員番号", "職員番号",
        "顧客番号", "会員番号", "患者番号", "診察券番号", "カルテ番号", "利用者番号", "証券番号",
        "介護保険番号", "雇用保険被保険者番号", "お客様番号", "お客さま番号", "passport", "Passport", "PASSPORT",
        "license no", "License No", "licence no", "Licence No", "driver's license",
        "Driver's License", "ID番号", "ID", "ID:",
    ],
    # Any other 「…番号」/ID label: a long number after it is someone's identifier.
    "NUMBER": ["番号", "ナンバー", "コード", "No.", "NO.", "number", "Number"],
    # Numbers that are public by definition.
    "PUBLIC": ["法人番号", "議案番号", "文書番号", "告示番号", "登録番号", "事業者番号", "内線番号",
               "郵便振替", "会社法人等番号", "インボイス", "適格請求書"],
    "BIRTH": ["生年月日", "誕生日", "生年", "出生日", "出生", "生まれ", "DOB", "D.O.B.",
              "date of birth", "Date of Birth", "Date of birth", "birthday", "Birthday", "born"],
}

# Said right after a date: 1980年5月1日生まれ, 昭和55年生.
BIRTH_AFTER = ["生まれ", "生", "誕生", "出生", "うまれ"]

# A number followed by one of these is a quantity, not an identifier (予算21億円, 条例第12号).
UNIT_AFTER = re.compile(
    r"[ \t]?(?:円|万|億|兆|千|百|件(?!名)|人|名(?![義前称簿字])|回|号(?!室)|条|項|款|年|月|日|時|分|秒|%|％|"
    r"歳|才|台|個|枚|冊|本|階|番地|丁目|倍|割|点|位|ページ|頁|km|kg|cm|mm|m2|㎡|GB|MB|TB|ms|px|世帯|"
    r"校|園|課|係)"
)
# A number right after one of these is an ordinal or a public reference (第3回, No.5).
ORDINAL_BEFORE = re.compile(r"(?:第|#|議案|令和|平成|昭和|R|H)[ \t]?$")

PREFECTURES = [
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県",
    "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県",
    "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府",
    "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県",
    "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県",
    "鹿児島県", "沖縄県",
]

PREFECTURES_LATIN = [
    "Hokkaido", "Aomori", "Iwate", "Miyagi", "Akita", "Yamagata", "Fukushima", "Ibaraki",
    "Tochigi", "Gunma", "Saitama", "Chiba", "Tokyo", "Kanagawa", "Niigata", "Toyama", "Ishikawa",
    "Fukui", "Yamanashi", "Nagano", "Gifu", "Shizuoka", "Aichi", "Mie", "Shiga", "Kyoto", "Osaka",
    "Hyogo", "Nara", "Wakayama", "Tottori", "Shimane", "Okayama", "Hiroshima", "Yamaguchi",
    "Tokushima", "Kagawa", "Ehime", "Kochi", "Fukuoka", "Saga", "Nagasaki", "Kumamoto", "Oita",
    "Miyazaki", "Kagoshima", "Okinawa",
]

# Vehicle registration offices (自動車登録番号標の地名), incl. the ご当地 plates.
PLATE_REGIONS = [
    "札幌", "函館", "旭川", "室蘭", "苫小牧", "釧路", "知床", "帯広", "北見", "青森", "八戸", "弘前",
    "岩手", "盛岡", "平泉", "宮城", "仙台", "秋田", "山形", "庄内", "福島", "会津", "郡山", "白河",
    "いわき", "水戸", "土浦", "つくば", "宇都宮", "那須", "とちぎ", "群馬", "前橋", "高崎", "大宮",
    "川口", "所沢", "川越", "熊谷", "春日部", "越谷", "千葉", "成田", "習志野", "市川", "船橋",
    "袖ケ浦", "市原", "野田", "柏", "松戸", "品川", "世田谷", "練馬", "杉並", "板橋", "足立", "江東",
    "葛飾", "江戸川", "八王子", "多摩", "府中", "横浜", "川崎", "湘南", "相模", "山梨", "富士山",
    "新潟", "長岡", "上越", "富山", "石川", "金沢", "福井", "長野", "松本", "諏訪", "飛騨", "岐阜",
    "静岡", "浜松", "沼津", "伊豆", "名古屋", "豊橋", "三河", "岡崎", "豊田", "尾張小牧", "一宮",
    "春日井", "三重", "鈴鹿", "四日市", "伊勢志摩", "滋賀", "京都", "大阪", "なにわ", "和泉", "堺",
    "奈良", "飛鳥", "和歌山", "神戸", "姫路", "鳥取", "島根", "出雲", "岡山", "倉敷", "広島", "福山",
    "山口", "下関", "徳島", "香川", "高松", "愛媛", "高知", "福岡", "北九州", "久留米", "筑豊", "佐賀",
    "長崎", "佐世保", "熊本", "大分", "宮崎", "鹿児島", "奄美", "沖縄", "日光", "上野", "足立",
]

# Words after a name that make it a person: honorifics and job titles.
HONORIFICS = ["様", "さま", "サマ", "さん", "サン", "氏", "殿", "どの", "君", "くん", "クン", "ちゃん",
              "チャン", "先生", "夫人", "女史", "御中"]
TITLES = [
    "課長補佐", "課長代理", "課長", "係長", "部長", "局長", "室長", "所長", "次長", "主査", "主任主事",
    "主任", "主事補", "主事", "主幹", "参事", "技師", "技監", "補佐", "副市長", "副町長", "副村長",
    "市長", "町長", "村長", "区長", "知事", "副知事", "議員", "議長", "副議長", "委員長", "委員",
    "教育長", "教授", "准教授", "講師", "医師", "看護師", "保健師", "弁護士", "税理士", "司法書士",
    "行政書士", "社会福祉士", "社長", "副社長", "会長", "理事長", "理事", "専務", "常務", "代表",
    "校長", "教頭", "園長", "教諭", "係員", "相談員", "支援員", "調査員", "監督", "氏名",
    "manager", "Manager",
]
# Honorifics that by themselves turn an unknown word into a name (titles need a dictionary name).
STRONG_HONORIFICS = ["様", "さま", "さん", "氏", "殿", "君", "くん", "ちゃん", "先生", "夫人", "女史"]

# Labels whose value is a person's name: 氏名：山田太郎, 申請者 小林美咲.
PERSON_LABELS = [
    "氏名", "名前", "お名前", "宛名", "相談者", "申請者", "申出人", "申出者", "届出人", "届出者",
    "差出人", "送信者", "担当者", "担当", "受付者", "記入者", "世帯主", "代表者", "請求者", "本人",
    "保護者", "対象者", "利用者", "患者", "依頼者", "連絡者", "報告者", "作成者", "出席者", "欠席者",
    "参加者", "契約者", "名義人", "口座名義", "名義", "受取人", "申告者", "納税者", "児童名",
    "生徒名", "相手方", "通報者", "被相談者", "フリガナ", "ふりがな", "カナ", "Name", "name", "NAME",
    "From", "To", "Attn", "Attention", "署名", "回答者", "質問者", "発言者",
]

# After a surname these words mean a place or an organisation, not a person (山田小学校).
NOT_PERSON_AFTER = [
    "市", "区", "町", "村", "郡", "県", "都", "府", "駅", "線", "川", "山", "橋", "港", "城", "寺",
    "神社", "公園", "小学校", "中学校", "高校", "高等学校", "学校", "大学", "病院", "医院", "クリニック",
    "商店", "商事", "工業", "建設", "産業", "株式会社", "会社", "銀行", "信用金庫", "支店", "地区",
    "団地", "通り", "通", "街道", "ビル", "ホール", "会館", "センター", "温泉", "湖", "池", "島",
    "半島", "湾", "岬", "峠", "谷", "沢", "ダム", "空港", "インター", "IC", "JCT", "店", "屋",
    "賞", "記念", "文庫", "財団", "法人", "工務店", "製作所", "自動車", "電機", "電気", "ホテル",
    "旅館", "市場", "農園", "牧場", "家具", "書店", "薬局", "整骨院", "歯科", "内科", "外科",
    "眼科", "小児科", "事務所", "法律事務所", "税理士事務所", "保育園", "幼稚園", "こども園",
    "地方", "方面", "県立", "市立", "町立", "村立", "区立", "村長", "教", "派", "流", "式", "説",
    "技研", "電器", "製薬", "不動産", "運輸", "物産", "証券", "生命", "保険", "観光", "交通", "電鉄",
    "鉄道", "ホールディングス", "グループ", "組", "工房", "興業", "食品", "酒造", "新聞", "放送",
]

# The last token of a labelled value that makes it an organisation (担当：市民課).
ORG_SUFFIXES = ["課", "係", "部", "局", "室", "所", "庁", "省", "班", "センター", "事務所", "協会",
                "組合", "会社", "法人", "団体", "学校", "病院", "委員会", "議会", "チーム", "グループ",
                "株式会社", "役場", "市役所", "区役所", "町役場", "村役場", "支所", "出張所", "窓口"]

# Era names: never names, however they are tagged (令和 may come out as 固有名詞).
ERAS = ["明治", "大正", "昭和", "平成", "令和"]

# Words that end a building name after the house number (グランドハイツ302号室).
BUILDING_WORDS = [
    "マンション", "ハイツ", "コーポ", "アパート", "レジデンス", "ハイム", "メゾン", "パレス", "ヴィラ",
    "ビラ", "コート", "テラス", "タワー", "ヒルズ", "ガーデン", "プラザ", "ビル", "荘", "寮", "棟",
    "団地", "住宅", "館", "ハウス", "シティ", "グラン", "パーク", "フラット", "カーサ", "ドミール",
]
