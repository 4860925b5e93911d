"""Offline token counting with tiktoken and the BPE files shipped in ``bot/data/tiktoken``.

tiktoken normally downloads its BPE files on first use; municipal networks are closed, so the
files ship with the project and are loaded through tiktoken's own loader with their sha256
checked (a corrupted or swapped file refuses to load).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import tiktoken
from tiktoken.load import load_tiktoken_bpe

DATA_DIR = Path(__file__).resolve().parent / "data" / "tiktoken"

_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)


@dataclass(frozen=True)
class EncodingFile:
    """One shipped BPE file and what tiktoken needs besides it."""

    file: str
    sha256: str
    pat_str: str
    special_tokens: dict[str, int]


# The sha256 values are the ones tiktoken itself pins for the official files.
ENCODINGS: dict[str, EncodingFile] = {
    "o200k_base": EncodingFile(
        "o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        _O200K_PAT,
        {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    ),
    "cl100k_base": EncodingFile(
        "cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        _CL100K_PAT,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
}

DEFAULT_ENCODING = "o200k_base"

# Per-message overhead of the chat format (role markers); the figure OpenAI documents for
# its chat models. Counting it keeps the budget on the safe side for other servers too.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3


@functools.cache
def get_encoding(name: str = DEFAULT_ENCODING) -> tiktoken.Encoding:
    """Load a shipped encoding by name; unknown names fall back to ``o200k_base``."""
    spec = ENCODINGS.get(name) or ENCODINGS[DEFAULT_ENCODING]
    # tiktoken checks the hash on this path (it skips the check only when caching is disabled).
    ranks = load_tiktoken_bpe(str(DATA_DIR / spec.file), expected_hash=spec.sha256)
    return tiktoken.Encoding(
        name=name if name in ENCODINGS else DEFAULT_ENCODING,
        pat_str=spec.pat_str,
        mergeable_ranks=ranks,
        special_tokens=spec.special_tokens,
    )


def count_tokens(text: str, encoding: str = DEFAULT_ENCODING) -> int:
    """Count the tokens of ``text``; special-token strings are counted as plain text."""
    return len(get_encoding(encoding).encode(text, disallowed_special=()))


def count_message_tokens(messages: list[dict[str, str]], encoding: str = DEFAULT_ENCODING) -> int:
    """Count the prompt tokens of a chat request the way the model bills them (approximately)."""
    total = TOKENS_PER_REPLY
    for message in messages:
        total += TOKENS_PER_MESSAGE + count_tokens(message["content"], encoding)
    return total


@dataclass(frozen=True)
class Budget:
    """The outcome of fitting a conversation into a model's context window."""

    messages: list[dict[str, str]]
    prompt_tokens: int
    dropped_turns: int
    newest_tokens: int
    limit: int

    @property
    def fits(self) -> bool:
        """True when at least the system prompt and the newest user turn fit."""
        return self.prompt_tokens <= self.limit


def fit_history(
    system_prompt: str,
    history: list[dict[str, str]],
    newest: str,
    *,
    context_window: int,
    reserved_output: int,
    encoding: str = DEFAULT_ENCODING,
) -> Budget:
    """Trim ``history`` oldest-first so the request fits ``context_window - reserved_output``.

    The system prompt and the newest user turn always stay; if they alone do not fit, the
    returned budget has ``fits == False`` and the caller refuses the turn with an explanation.
    Turns are dropped in user/assistant pairs so the model never sees an orphan answer.
    """
    limit = max(0, context_window - reserved_output)
    system = {"role": "system", "content": system_prompt}
    latest = {"role": "user", "content": newest}
    fixed = count_message_tokens([system, latest], encoding)
    newest_tokens = count_tokens(newest, encoding)
    costs = [TOKENS_PER_MESSAGE + count_tokens(m["content"], encoding) for m in history]
    total = fixed + sum(costs)
    start = 0
    while total > limit and start < len(history):
        # Drop a whole exchange: the user turn and the assistant turn that answered it.
        step = 2 if start + 1 < len(history) and history[start]["role"] == "user" else 1
        total -= sum(costs[start : start + step])
        start += step
    kept = history[start:]
    return Budget(
        messages=[system, *kept, latest],
        prompt_tokens=total,
        dropped_turns=start,
        newest_tokens=newest_tokens,
        limit=limit,
    )
