"""Turn model output into Slack messages: Markdown → mrkdwn, escaping, and safe splitting.

Splitting never cuts a character (or a grapheme such as a base letter and its combining mark) and
never leaves a code block open: a fence cut by a split is closed at the end of one part and
reopened, with its language tag, at the start of the next.
"""

from __future__ import annotations

import re
import unicodedata

# Slack shows a section block's text up to 3,000 characters; a message's text is cut at 40,000.
# Parts stay under both, and under a byte budget for chat platforms that count UTF-8 bytes
# (Japanese is 3 bytes a character).
MAX_PART_CHARS = 2900
MAX_PART_BYTES = 12000

_FENCE = re.compile(r"^\s*```(\S*)\s*$")


def escape(text: str) -> str:
    """Escape the three characters Slack reserves for its markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo Slack's escaping of incoming message text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")


def to_mrkdwn(markdown: str) -> str:
    """Convert the common Markdown of model answers to Slack mrkdwn (code blocks untouched)."""
    out: list[str] = []
    in_code = False
    for line in markdown.split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
            out.append(escape(line))
            continue
        if in_code:
            out.append(escape(line))
            continue
        line = escape(line)
        heading = _HEADING.match(line)
        if heading:
            line = f"*{heading.group(2).strip('*')}*"
        else:
            line = _BOLD.sub(r"*\1*", line)
        line = _STRIKE.sub(r"~\1~", line)
        line = _LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", line)
        out.append(line)
    return "\n".join(out)


def _safe_cut(text: str, limit: int) -> int:
    """Largest cut ≤ limit that does not separate a character from marks joined to it."""
    cut = min(limit, len(text))
    while 0 < cut < len(text) and _joins(text[cut - 1], text[cut]):
        cut -= 1
    return cut if cut > 0 else min(limit, len(text))


def _joins(before: str, after: str) -> bool:
    if unicodedata.combining(after) or after in "\u200d\ufe0e\ufe0f" or before == "\u200d":
        return True
    if 0xFE00 <= ord(after) <= 0xFE0F or 0xE0100 <= ord(after) <= 0xE01EF:  # variation selectors
        return True
    return unicodedata.category(after) == "Mn"


def _fits(text: str, max_chars: int, max_bytes: int) -> int:
    """How many leading characters of ``text`` fit both limits."""
    if len(text) <= max_chars and len(text.encode("utf-8")) <= max_bytes:
        return len(text)
    n, size = 0, 0
    for ch in text[:max_chars]:
        size += len(ch.encode("utf-8"))
        if size > max_bytes:
            break
        n += 1
    return n


_BREAKS = ("\n\n", "\n", "。", "．", ". ", "、", " ")


def split_message(
    text: str, max_chars: int = MAX_PART_CHARS, max_bytes: int = MAX_PART_BYTES
) -> list[str]:
    """Split ``text`` into parts that fit one Slack message each, preferring paragraph, line and
    sentence boundaries. The result is prefix-stable: appending text never changes earlier parts
    once they are full, so a streamed answer can grow into follow-up messages."""
    reserve = 8  # room for a closing fence
    parts: list[str] = []
    rest = text
    reopen = ""
    while rest:
        rest = reopen + rest
        room = _fits(rest, max_chars - reserve, max_bytes - reserve)
        if room >= len(rest):
            parts.append(rest)
            break
        cut = _best_break(rest, room)
        part, rest = rest[:cut], rest[cut:]
        fence = _open_fence(part)
        if fence is not None:
            part = part.rstrip("\n") + "\n```"
            reopen = f"```{fence}\n"
            rest = rest.lstrip("\n")
        else:
            reopen = ""
        parts.append(part)
    return parts or [""]


def _best_break(text: str, room: int) -> int:
    window = text[:room]
    for mark in _BREAKS:
        at = window.rfind(mark)
        # Only break at a boundary in the last half; otherwise the parts get needlessly short.
        if at >= room // 2:
            return at + len(mark)
    return _safe_cut(text, room)


def _open_fence(part: str) -> str | None:
    """The language tag of a code block left open at the end of ``part`` (None if closed)."""
    lang: str | None = None
    for line in part.split("\n"):
        match = _FENCE.match(line)
        if match:
            lang = None if lang is not None else match.group(1)
    return lang
