"""The use-category classifier: realistic first messages, rules, tie-breaks and the YAML schema."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.categories import Category, CategoryClassifier, normalize


@pytest.fixture(scope="module")
def classifier() -> CategoryClassifier:
    return CategoryClassifier.load()


# Realistic first messages, as staff write them: three or more per category.
CASES: list[tuple[str, str]] = [
    # あいさつ文
    (
        "greeting",
        "来月の敬老会で市長が述べる祝辞を作ってください。時間は3分程度、参加者は80歳以上の方が中心です。",
    ),
    (
        "greeting",
        "4月1日の新規採用職員辞令交付式で、副市長が話す訓示の原稿をお願いします。堅すぎない感じで。",
    ),
    (
        "greeting",
        "地区の夏祭りの開会で自治会長さんの後に町長が一言話すので、短めのスピーチを考えてほしい",
    ),
    # 議事録・要約
    (
        "minutes",
        "以下は昨日の庁内DX推進会議の文字起こしです。決定事項と今後の課題を分けて議事録の形に整理してください。",
    ),
    ("minutes", "長い会議のメモを貼るので、要点を5行程度にまとめてもらえますか"),
    (
        "minutes",
        "国の審議会の報告書（約40ページ）の内容を、課長向けにA4一枚で要約したいです。まずは章ごとに送ります。",
    ),
    (
        "minutes",
        "地域公共交通協議会の議事録です。委員の発言を要約して、論点ごとに整理してください。",
    ),
    # 企画・アイデア
    (
        "planning",
        "図書館の利用者を増やすためのイベント企画を10個ほど出してください。ターゲットは子育て世代です。",
    ),
    (
        "planning",
        "空き家対策の新しい施策について壁打ちしたいです。まず課題を整理するところから付き合ってもらえますか",
    ),
    ("planning", "ふるさと納税の返礼品のアイデアを、地元の農産物を活かす方向でいくつか提案して"),
    # メール・文書
    (
        "document",
        "各課の庶務担当あてに、来年度予算要求資料の提出を依頼するメールを書いてください。締切は11月15日です。",
    ),
    ("document", "講師をお願いした大学の先生に、研修の御礼状を送りたいので文面を考えてください"),
    (
        "document",
        "県の担当課から届いた照会への回答文書を作りたい。当市は該当なしという内容で、丁寧な公文書の形式にしてください。",
    ),
    (
        "document",
        "教育委員会から各小中学校の校長あてに出す通知文の案を作ってください。内容は夏季休業中のプール開放の中止です。",
    ),
    # 住民回答
    (
        "resident",
        "市民の方から「ごみ収集車の音がうるさい」という苦情メールが届きました。お詫びと今後の対応を伝える返信文を作ってください。",
    ),
    (
        "resident",
        "転入手続きに必要なものを、日本語に不慣れな外国人住民向けにやさしい日本語で説明する文を作って",
    ),
    (
        "resident",
        "保育園の入所選考で不承諾になった保護者から理由を教えてほしいと電話がありました。納得いただけるよう回答のポイントを整理したい",
    ),
    # 議会答弁
    (
        "council",
        "12月定例会の一般質問で「中心市街地の空き店舗対策」について質問通告がありました。市長答弁の案を作成してください。",
    ),
    (
        "council",
        "議員から再質問が来そうな点を想定して、想定問答を5問ほど作ってほしい。テーマは学校給食費の無償化です。",
    ),
    (
        "council",
        "委員会で地域公共交通の見直しについて聞かれた場合に、課長が答える内容をまとめておきたいです",
    ),
    # 翻訳
    ("translation", "この避難所開設のお知らせを英語とベトナム語に訳してください。"),
    (
        "translation",
        "Please translate the following notice about the bulky waste collection schedule into Japanese.",
    ),
    (
        "translation",
        "観光パンフレットの紹介文を中国語（簡体字）にしたい。地名の読みはそのまま残して。",
    ),
    # 校正
    ("proofreading", "起案文書の誤字脱字や公用文として不適切な表現がないかチェックしてください。"),
    (
        "proofreading",
        "次の文章、回りくどいので、意味を変えずにもっと簡潔な言い方に直してもらえますか",
    ),
    (
        "proofreading",
        "「〜していただく」「〜させていただく」が多すぎる気がします。文化庁の公用文作成の考え方に沿って手直しを",
    ),
    # Excel・VBA・コード
    ("code", "Excelで、A列の日付から年度（4月始まり）を表示する関数を教えてください"),
    ("code", "毎月の集計表を部署ごとのシートに分けて保存するマクロを作りたいです"),
    ("code", "VLOOKUPで#N/Aが出てしまいます。原因と直し方は？"),
    ("code", "ＶＢＡで、フォルダ内のＣＳＶファイルをすべて読み込んで一つのシートにまとめたい"),
    # SNS・広報
    (
        "pr",
        "今週末の花火大会の交通規制について、市の公式Xに投稿する文章を140字以内で3パターンください",
    ),
    ("pr", "広報誌の来月号で特集する「移住者インタビュー」の記事の見出しとリード文を考えて"),
    ("pr", "新しく始まる子育て支援アプリを紹介する記者発表資料を作成してください"),
    # 調査・検索
    ("research", "他の自治体で生成AIの利用ガイドラインを作っている事例を教えてください"),
    ("research", "地域おこし協力隊の制度について、任期や財政措置の仕組みを簡単に説明してほしい"),
    ("research", "マイナ保険証と従来の健康保険証の違いは何ですか？"),
    ("research", "ふるさと納税の制度で、返礼品の基準について知りたいです"),
    # その他
    ("other", "おはようございます。今日もよろしくお願いします"),
    ("other", "ありがとう、とても助かりました！"),
    ("other", "しりとりしませんか"),
]

EXPECTED_LABELS = {
    "greeting": "あいさつ文",
    "minutes": "議事録・要約",
    "planning": "企画・アイデア",
    "document": "メール・文書",
    "resident": "住民回答",
    "council": "議会答弁",
    "translation": "翻訳",
    "proofreading": "校正",
    "code": "Excel・VBA・コード",
    "pr": "SNS・広報",
    "research": "調査・検索",
    "other": "その他",
}


def test_enough_cases_per_category() -> None:
    assert len(CASES) >= 36
    for category_id in EXPECTED_LABELS:
        assert sum(1 for cid, _ in CASES if cid == category_id) >= 3, category_id


@pytest.mark.parametrize(("expected", "text"), CASES)
def test_classifies_realistic_first_messages(
    classifier: CategoryClassifier, expected: str, text: str
) -> None:
    result = classifier.classify(text)
    assert result.id == expected, classifier.explain(text)[:4]


def test_categories_and_labels(classifier: CategoryClassifier) -> None:
    categories = classifier.categories()
    assert [c.id for c in categories] == list(EXPECTED_LABELS)
    assert {c.id: c.label for c in categories} == EXPECTED_LABELS
    for category in categories:
        assert isinstance(category, Category)
        assert category.label_en
        assert isinstance(category.minutes_saved_estimate, int)
        assert 1 <= category.minutes_saved_estimate <= 120


def test_category_is_frozen(classifier: CategoryClassifier) -> None:
    category = classifier.categories()[0]
    with pytest.raises(AttributeError):
        category.id = "x"  # type: ignore[misc]


def test_get_falls_back_to_other(classifier: CategoryClassifier) -> None:
    assert classifier.get("council").label == "議会答弁"
    assert classifier.get("no-such-category").id == "other"


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "👍", "OK"])
def test_empty_or_trivial_text_is_other(classifier: CategoryClassifier, text: str) -> None:
    assert classifier.classify(text).id == "other"


def test_explain_lists_every_category_best_first(classifier: CategoryClassifier) -> None:
    text = "VLOOKUPで#N/Aが出てしまいます。原因と直し方は？"
    scores = classifier.explain(text)
    assert sorted(cid for cid, _ in scores) == sorted(EXPECTED_LABELS)
    assert scores[0][0] == classifier.classify(text).id == "code"
    assert scores[-1] == ("other", 0.0)
    values = [score for cid, score in scores if cid != "other"]
    assert values == sorted(values, reverse=True)


def test_normalisation_width_and_case() -> None:
    assert normalize("ＶＢＡとｴｸｾﾙ") == "vbaとエクセル"
    assert normalize("ExCeL") == "excel"


def test_short_ascii_words_do_not_match_inside_words(classifier: CategoryClassifier) -> None:
    # 「pr」 in 「prompt」 and 「line」 in 「online」 must not count for SNS・広報.
    scores = dict(classifier.explain("prompt online guideline"))
    assert scores["pr"] == 0.0


def test_committee_names_are_not_council(classifier: CategoryClassifier) -> None:
    scores = dict(classifier.explain("教育委員会と選挙管理委員会と地域協議会と審議会"))
    assert scores["council"] == 0.0
    assert dict(classifier.explain("予算特別委員会での質疑"))["council"] > 0


def _meeting_record() -> str:
    lines = [
        "（以下、会議の記録）",
        "委員A：議会での答弁について、住民からの問い合わせが多いと聞いている。",
        "課長：今後、広報誌やSNSで周知したい。",
    ]
    return "\n".join(lines * 20)


def test_pasted_material_does_not_decide_the_category(classifier: CategoryClassifier) -> None:
    body = _meeting_record()
    head = "次の会議の記録を、決定事項と宿題に分けて要約してください。\n" + body + "\n以上です。"
    tail = "お疲れさまです。\n" + body + "\n上の記録を3行にまとめてもらえますか。"
    translate = "お疲れさまです。\n以下の文章を英語に翻訳してください。\n" + body
    assert classifier.classify(head).id == "minutes"
    assert classifier.classify(tail).id == "minutes"
    assert classifier.classify(translate).id == "translation"


def test_material_still_counts_a_little(classifier: CategoryClassifier) -> None:
    # Without any request sentence, the first and last sentences decide; the rest is damped.
    filler = ("あ" * 50 + "。\n") * 10
    text = "議事録\n" + filler + "文字起こし\n" + filler + "答弁"
    scores = dict(classifier.explain(text))
    assert scores["minutes"] == pytest.approx(3.0 + 0.3 * 3.0)
    assert scores["council"] == 3.0


def test_one_long_sentence_is_judged_at_both_ends(classifier: CategoryClassifier) -> None:
    scores = dict(classifier.explain("議事録" + "あ" * 1000 + "答弁"))
    assert scores["minutes"] == 3.0
    assert scores["council"] == 3.0


def test_only_other_defined() -> None:
    clf = CategoryClassifier.from_dict(
        {
            "categories": [
                {"id": "other", "label": "その他", "label_en": "Other", "minutes_saved_estimate": 0}
            ]
        }
    )
    assert clf.classify("何でも").id == "other"


def test_classifier_keeps_no_text(classifier: CategoryClassifier) -> None:
    canary = "山田太郎さん090-1234-5678の苦情への回答を作って"
    classifier.classify(canary)
    classifier.explain(canary)
    assert "山田" not in repr(vars(classifier))
    assert "090-1234-5678" not in repr(vars(classifier))


# --- rules from a custom file -------------------------------------------------------------------


def _spec(**overrides: object) -> dict:
    spec: dict = {
        "min_score": 2.0,
        "tie_break": ["b", "a"],
        "categories": [
            {
                "id": "a",
                "label": "A",
                "label_en": "A",
                "minutes_saved_estimate": 5,
                "keywords": {"strong": ["共通"], "weak": ["弱い"]},
            },
            {
                "id": "b",
                "label": "B",
                "label_en": "B",
                "minutes_saved_estimate": 7,
                "keywords": ["共通", "共通語"],
                "patterns": ["b\\d+", {"regex": "^zz", "weight": 5}],
            },
            {"id": "other", "label": "その他", "label_en": "Other", "minutes_saved_estimate": 0},
        ],
    }
    spec.update(overrides)
    return spec


def test_tie_break_order_decides_ties() -> None:
    spec = _spec()
    spec["categories"][1]["keywords"] = {"strong": ["共通"]}
    clf = CategoryClassifier.from_dict(spec)
    assert clf.explain("共通")[:2] == [("b", 3.0), ("a", 3.0)]
    assert clf.classify("共通").id == "b"
    clf = CategoryClassifier.from_dict({**spec, "tie_break": ["a", "b"]})
    assert clf.classify("共通").id == "a"


def test_weights_tiers_patterns_and_threshold() -> None:
    clf = CategoryClassifier.from_dict(_spec())
    scores = dict(clf.explain("共通語とb12"))
    assert scores == {"a": 3.0, "b": 1.0 + 1.0 + 2.0, "other": 0.0}
    assert clf.classify("共通語とb12").id == "b"
    assert clf.classify("弱い").id == "other"  # 1.0 < min_score
    assert clf.classify("zz").id == "b"
    # Each keyword counts once, however often it occurs.
    assert dict(clf.explain("弱い弱い弱い"))["a"] == 1.0


def test_category_weight_multiplies() -> None:
    spec = _spec()
    spec["categories"][0]["weight"] = 0.5
    clf = CategoryClassifier.from_dict(spec)
    assert dict(clf.explain("共通"))["a"] == 1.5


def test_load_from_path(tmp_path: Path) -> None:
    path = tmp_path / "categories.yaml"
    path.write_text(yaml.safe_dump(_spec(), allow_unicode=True), encoding="utf-8")
    clf = CategoryClassifier.load(path)
    assert [c.id for c in clf.categories()] == ["a", "b", "other"]
    assert clf.classify("ｚｚ").id == "b"  # full width, normalised


@pytest.mark.parametrize(
    "broken",
    [
        {"categories": [{"id": "a", "label": "A", "label_en": "A", "minutes_saved_estimate": 1}]},
        _spec(tie_break=["nope"]),
        _spec(tie_break=["a", "a"]),
        _spec(categories=_spec()["categories"] + [_spec()["categories"][0]]),
        _spec(
            categories=[
                {**_spec()["categories"][1], "patterns": ["(unclosed"]},
                _spec()["categories"][2],
            ],
            tie_break=[],
        ),
        _spec(
            categories=[
                {**_spec()["categories"][0], "keywords": {"huge": ["x"]}},
                _spec()["categories"][2],
            ],
            tie_break=[],
        ),
        _spec(
            categories=[
                {**_spec()["categories"][0], "minutes_saved_estimate": -1},
                _spec()["categories"][2],
            ],
            tie_break=[],
        ),
        ["not", "a", "mapping"],
    ],
)
def test_invalid_files_are_rejected(broken: object) -> None:
    with pytest.raises(ValueError):
        CategoryClassifier.from_dict(broken)


def test_shipped_file_is_well_formed() -> None:
    from bot.config_files import config_path

    raw = yaml.safe_load(config_path("categories.yaml").read_text(encoding="utf-8"))
    ids = [c["id"] for c in raw["categories"]]
    assert set(raw["tie_break"]) == set(ids) - {"other"}
    for category in raw["categories"]:
        if category["id"] != "other":
            assert category["keywords"], category["id"]
