"""Token counting with the shipped encodings, offline, and history budgeting."""

from __future__ import annotations

import hashlib

import pytest

from bot import tokens
from bot.tokens import ENCODINGS, count_tokens, fit_history, get_encoding


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_shipped_files_match_the_pinned_sha256(name: str) -> None:
    spec = ENCODINGS[name]
    data = (tokens.DATA_DIR / spec.file).read_bytes()
    assert hashlib.sha256(data).hexdigest() == spec.sha256


def test_encodings_load_without_network_and_match_known_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tiktoken.load

    def no_network(*_a: object, **_k: object) -> None:
        raise AssertionError("tried to download")

    monkeypatch.setattr("requests.get", no_network, raising=False)
    get_encoding.cache_clear()
    # Reference ids from OpenAI's tokenizer for "hello world".
    assert get_encoding("o200k_base").encode("hello world") == [24912, 2375]
    assert get_encoding("cl100k_base").encode("hello world") == [15339, 1917]
    assert tiktoken.load is not None


def test_a_tampered_file_is_refused(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "o200k_base.tiktoken"
    bad.write_bytes((tokens.DATA_DIR / "o200k_base.tiktoken").read_bytes()[:-10] + b"AAAA 1\n")
    monkeypatch.setattr(tokens, "DATA_DIR", tmp_path)
    get_encoding.cache_clear()
    try:
        with pytest.raises(ValueError, match="Hash mismatch"):
            get_encoding("o200k_base")
    finally:
        get_encoding.cache_clear()


def test_japanese_counts_are_plausible() -> None:
    text = "本日は市民課の窓口業務についてご説明します。"
    n = count_tokens(text)
    assert 8 <= n <= len(text)  # Japanese: roughly one token per 1–2 characters with o200k
    assert count_tokens(text, "cl100k_base") > n  # the older encoding is less efficient


def _turns(n: int, size: int) -> list[dict[str, str]]:
    out = []
    for i in range(n):
        out.append({"role": "user", "content": f"質問{i} " + "あ" * size})
        out.append({"role": "assistant", "content": f"回答{i} " + "い" * size})
    return out


def test_history_fits_untouched_when_small() -> None:
    history = _turns(3, 10)
    budget = fit_history("system", history, "最新の質問", context_window=8000, reserved_output=1000)
    assert budget.fits and budget.dropped_turns == 0
    assert budget.messages[0]["role"] == "system"
    assert budget.messages[1:-1] == history
    assert budget.messages[-1] == {"role": "user", "content": "最新の質問"}


def test_history_is_trimmed_oldest_first_in_pairs() -> None:
    history = _turns(10, 300)
    budget = fit_history("system", history, "最新の質問", context_window=2500, reserved_output=500)
    assert budget.fits
    assert budget.prompt_tokens <= 2000
    assert budget.dropped_turns % 2 == 0 and budget.dropped_turns > 0
    kept = budget.messages[1:-1]
    assert kept == history[budget.dropped_turns :]
    assert kept[0]["role"] == "user"
    assert budget.messages[0]["content"] == "system"
    assert budget.messages[-1]["content"] == "最新の質問"


def test_newest_turn_too_long_does_not_fit() -> None:
    newest = "長い資料です。" * 2000
    budget = fit_history("system", _turns(2, 10), newest, context_window=4000, reserved_output=1000)
    assert not budget.fits
    assert budget.newest_tokens > 3000
    assert budget.messages[-1]["content"] == newest  # never dropped, the caller refuses instead
