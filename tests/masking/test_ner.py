"""The optional NER second opinion: a protocol, gap filling, configuration."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.masking import EntityType, Masker, MaskingError, NerBackend
from bot.masking.ner import GinzaBackend, backend_from_config, ginza_available


class FakeNer:
    """A NerBackend returning fixed findings (offsets into the text given)."""

    name = "fake"

    def __init__(self, found: list[tuple[str, EntityType]]) -> None:
        self.found = found

    def entities(self, text: str) -> list[tuple[int, int, EntityType]]:
        out = []
        for value, etype in self.found:
            start = text.find(value)
            if start >= 0:
                out.append((start, start + len(value), etype))
        return out


def test_fake_backend_satisfies_the_protocol() -> None:
    assert isinstance(FakeNer([]), NerBackend)


def test_ner_adds_what_the_rules_missed() -> None:
    text = "本件はザクロが記録した。"
    assert Masker().detect(text) == []
    masker = Masker(ner=FakeNer([("ザクロ", EntityType.PERSON)]))
    assert [(text[s.start : s.end], s.type) for s in masker.detect(text)] == [
        ("ザクロ", EntityType.PERSON)
    ]


def test_ner_never_overrides_a_validated_finding() -> None:
    # GiNZA tags "〒159-0830 兵庫県…" as one Postal_Address; the postal code stays POSTAL_CODE.
    text = "住所は〒159-0830 兵庫県神戸市中央区加納町7-5-8です"
    ner = FakeNer([("〒159-0830 兵庫県神戸市中央区加納町7-5-8", EntityType.ADDRESS)])
    spans = [(text[s.start : s.end], s.type) for s in Masker(ner=ner).detect(text)]
    assert spans == [
        ("〒159-0830", EntityType.POSTAL_CODE),
        ("兵庫県神戸市中央区加納町7-5-8", EntityType.ADDRESS),
    ]


def test_ner_failure_fails_closed() -> None:
    class Broken(FakeNer):
        def entities(self, text: str) -> list[tuple[int, int, EntityType]]:
            raise RuntimeError("model crashed")

    with pytest.raises(MaskingError):
        Masker(ner=Broken([])).detect("山田さん")


def test_backend_from_config() -> None:
    assert backend_from_config(None) is None
    assert backend_from_config({"backend": "none"}) is None
    with pytest.raises(MaskingError):
        backend_from_config({"backend": "bert"})
    ginza = backend_from_config({"backend": "ginza"})
    assert (ginza is not None) == ginza_available()
    if ginza is not None:
        assert isinstance(ginza, GinzaBackend)


def test_masker_from_config_defaults_to_no_ner(tmp_path: Path) -> None:
    config = tmp_path / "masking.yaml"
    config.write_text("ner:\n  backend: none\n", "utf-8")
    assert Masker.from_config(config)._ner is None
    assert Masker.from_config()._ner is None  # the shipped file


@pytest.mark.skipif(not ginza_available(), reason="ja-ginza not installed (bench extra)")
def test_ginza_backend_finds_a_person() -> None:
    found = GinzaBackend().entities("昨日、伊藤拓也さんが来庁しました。")
    assert any(etype is EntityType.PERSON for _, _, etype in found)
