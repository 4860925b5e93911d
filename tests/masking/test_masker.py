"""The Masker as a whole: fail closed, spans, counts, module API and the CLI."""
from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path

import pytest

from bot.masking import (
    EntityType,
    Masker,
    MaskingError,
    MaskingPolicy,
    PlaceholderVault,
    Span,
    mask,
    unmask,
)
from bot.masking.cli import EXIT_BLOCKED, EXIT_FAILED, EXIT_OK, run_mask_cli
from bot.masking.document import Candidate, Document


def _broken_detector(doc: Document) -> Iterable[Candidate]:
    raise RuntimeError("detector bug")


def test_a_detector_that_raises_becomes_masking_error() -> None:
    broken = Masker(use_sudachi=False, detectors=[_broken_detector])
    with pytest.raises(MaskingError):
        broken.mask("山田太郎さん", PlaceholderVault(), MaskingPolicy())
    with pytest.raises(MaskingError):
        broken.detect("山田太郎さん")


def test_not_a_string_is_masking_error(masker: Masker) -> None:
    with pytest.raises(MaskingError):
        masker.mask(b"bytes", PlaceholderVault(), MaskingPolicy())  # type: ignore[arg-type]


def test_spans_index_the_original_text(masker: Masker) -> None:
    text = "㍻元年…ｶﾞｰﾃﾞﾝ山田太郎さん、電話０３ー１２３４ー５６７８"
    spans = masker.detect(text)
    assert [(text[s.start : s.end], s.type) for s in spans] == [
        ("山田太郎", EntityType.PERSON),
        ("０３ー１２３４ー５６７８", EntityType.PHONE),
    ]


def test_counts_and_spans(masker: Masker, vault: PlaceholderVault) -> None:
    result = masker.mask("山田太郎さんと鈴木花子さん、taro@example.jp", vault, MaskingPolicy())
    assert result.counts == {EntityType.PERSON: 2, EntityType.EMAIL: 1}
    assert result.spans == [
        Span(0, 4, EntityType.PERSON),
        Span(7, 11, EntityType.PERSON),
        Span(14, 29, EntityType.EMAIL),
    ]


def test_long_text_is_tokenised_in_chunks(masker: Masker, mask_all: MaskingPolicy) -> None:
    text = ("あいうえお" * 2000 + "。") * 4 + "山田太郎さん"  # > SudachiPy's 49,149-byte limit
    vault = PlaceholderVault()
    result = masker.mask(text, vault, mask_all)
    assert result.masked.endswith("<人名1>さん")
    assert unmask(result.masked, vault) == text


def test_module_level_api() -> None:
    vault = PlaceholderVault()
    result = mask("山田太郎さんの電話は090-1234-5678です", vault, MaskingPolicy())
    assert result.masked == "<人名1>さんの電話は<電話番号1>です"
    assert unmask("<人名1>さんへ<電話番号1>で連絡", vault) == "山田太郎さんへ090-1234-5678で連絡"


def test_patterns_only_masker() -> None:
    plain = Masker(use_sudachi=False)
    assert [s.type for s in plain.detect("電話 03-1234-5678 taro@example.jp")] == [
        EntityType.PHONE,
        EntityType.EMAIL,
    ]


# -- CLI -----------------------------------------------------------------------------------------


def test_cli_jsonl(masker: Masker) -> None:
    lines = [
        {"id": "a", "text": "山田太郎さん（090-1234-5678）"},
        {"id": "b", "text": "個人番号 860913909967"},
        {"id": "c", "text": "こんにちは"},
    ]
    out = io.StringIO()
    code = run_mask_cli(
        jsonl=True,
        stdin=io.StringIO("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n"),
        stdout=out,
        masker=masker,
    )
    assert code == EXIT_OK
    rows = [json.loads(x) for x in out.getvalue().splitlines()]
    assert rows[0] == {
        "id": "a",
        "masked": "<人名1>さん（<電話番号1>）",
        "spans": [{"start": 0, "end": 4, "type": "PERSON"}, {"start": 7, "end": 20, "type": "PHONE"}],
        "blocked": False,
    }
    assert rows[1]["blocked"] is True
    assert rows[1]["spans"] == [{"start": 5, "end": 17, "type": "MY_NUMBER"}]
    assert rows[2]["masked"] == "こんにちは" and rows[2]["spans"] == []


def test_cli_jsonl_allowed_spans_are_not_listed(masker: Masker, tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("defaults:\n  PHONE: allow\n", "utf-8")
    out = io.StringIO()
    run_mask_cli(jsonl=True, policy_path=policy, masker=masker, stdout=out,
                 stdin=io.StringIO('{"id": 1, "text": "電話 03-1234-5678"}\n'))
    assert json.loads(out.getvalue())["spans"] == []


def test_cli_plain_and_blocked(masker: Masker) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run_mask_cli(stdin=io.StringIO("山田太郎さん"), stdout=out, stderr=err,
                        masker=masker) == EXIT_OK
    assert out.getvalue() == "<人名1>さん"
    out, err = io.StringIO(), io.StringIO()
    code = run_mask_cli(stdin=io.StringIO("カード番号4111-1111-1111-1111"), stdout=out,
                        stderr=err, masker=masker)
    assert code == EXIT_BLOCKED
    assert "クレジットカード番号と思われる番号" in err.getvalue()
    assert "4111" not in out.getvalue()


def test_cli_explain(masker: Masker) -> None:
    out = io.StringIO()
    run_mask_cli(explain=True, stdin=io.StringIO("山田太郎さん、個人番号 860913909967"), stdout=out,
                 masker=masker)
    text = out.getvalue()
    assert "人名（PERSON）1件 [マスク]" in text
    assert "マイナンバー（個人番号）（MY_NUMBER）1件 [送信不可]" in text
    assert "送信しませんでした" in text
    assert "ブロックされたため送信されません" in text


def test_cli_failure_is_exit_1(tmp_path: Path) -> None:
    err = io.StringIO()
    code = run_mask_cli(policy_path=tmp_path / "missing.yaml", stdin=io.StringIO("x"),
                        stdout=io.StringIO(), stderr=err, masker=Masker(use_sudachi=False))
    assert code == EXIT_FAILED
    assert "マスキングに失敗しました" in err.getvalue()
