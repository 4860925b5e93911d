"""Splitting answers into Slack messages and converting Markdown to mrkdwn."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.format import split_message, to_mrkdwn, unescape


def test_short_text_is_one_part() -> None:
    assert split_message("こんにちは") == ["こんにちは"]


def test_japanese_is_split_within_char_and_byte_limits() -> None:
    text = "市民の皆さまへのお知らせです。" * 1000
    parts = split_message(text, max_chars=1000, max_bytes=2000)
    assert "".join(parts) == text
    for part in parts:
        assert len(part) <= 1000 and len(part.encode("utf-8")) <= 2000
        assert part.endswith("。") or part is parts[-1]  # cut at sentence ends


def test_code_blocks_are_closed_and_reopened() -> None:
    code = "\n".join(f'Range("A{i}").Value = {i}' for i in range(400))
    text = f"VBAの例です。\n```vba\n{code}\n```\n以上です。"
    parts = split_message(text, max_chars=1500)
    assert len(parts) > 2
    for part in parts:
        assert part.count("```") % 2 == 0, part[:40]
    for part in parts[1:-1]:
        assert part.startswith("```vba\n")


def test_combining_marks_and_emoji_are_not_cut() -> None:
    text = ("か\u3099" * 50) + ("👩\u200d💻" * 50)
    for limit in range(20, 60):
        parts = split_message(text, max_chars=limit)
        for part in parts:
            assert not part.startswith(("\u3099", "\u200d"))
            assert not part.endswith("\u200d")


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=3000))
def test_splitting_loses_nothing_outside_code(text: str) -> None:
    text = text.replace("`", "")
    parts = split_message(text, max_chars=300, max_bytes=600)
    assert "".join(parts) == text
    assert all(len(p) <= 300 and len(p.encode()) <= 600 for p in parts)


def test_prefix_stable_while_streaming() -> None:
    text = "第一段落です。" * 300
    first = split_message(text, max_chars=500)
    grown = split_message(text + "続きの文章です。" * 200, max_chars=500)
    assert grown[: len(first) - 1] == first[:-1]


def test_markdown_to_mrkdwn() -> None:
    md = "## 手順\n**重要** な点は [こちら](https://example.jp/a) です & <注意>\n```\n**そのまま**\n```"
    out = to_mrkdwn(md)
    assert out.splitlines()[0] == "*手順*"
    assert "*重要*" in out and "<https://example.jp/a|こちら>" in out
    assert "&amp;" in out and "&lt;注意&gt;" in out
    assert "**そのまま**" in out


def test_unescape_slack_text() -> None:
    assert unescape("a &lt;b&gt; &amp; c") == "a <b> & c"
