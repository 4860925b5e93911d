"""`madoguchi mask`: the masking filter as a filter program.

    madoguchi mask < text.txt            masked text on stdout
    madoguchi mask --explain < text.txt  findings by type, in Japanese
    madoguchi mask --jsonl < in.jsonl    {"id","text"} lines -> {"id","masked","spans","blocked"}

Exit status: 0 done, 1 the filter failed (nothing may be sent), 3 plain mode and the text
would be refused (blocked) under the policy.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.masking.masker import Masker
from bot.masking.policy import MaskingPolicy
from bot.masking.terms import CustomTermMatcher
from bot.masking.types import JA_NAMES, Action, EntityType, MaskingError, MaskResult
from bot.masking.vault import PlaceholderVault

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BLOCKED = 3
_ACTION_JA = {Action.MASK: "マスク", Action.BLOCK: "送信不可", Action.ALLOW: "そのまま送信"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `mask` subcommand's options to ``parser``."""
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--jsonl", action="store_true",
                      help='JSON lines in ({"id","text"}) and out ({"id","masked","spans","blocked"})')
    mode.add_argument("--explain", action="store_true", help="list what was found, by type")
    parser.add_argument("--model", default=None, help="apply this model's policy overrides")
    parser.add_argument("--policy", type=Path, default=None,
                        help="policy YAML (default: the shipped config/masking.yaml)")
    parser.add_argument("--terms", type=Path, default=None,
                        help="custom terms file: one term per line, optionally TAB mask|block|allow")


def main(args: argparse.Namespace) -> int:
    """Run the `mask` subcommand with parsed ``args``; returns the exit status."""
    return run_mask_cli(
        jsonl=args.jsonl,
        explain=args.explain,
        model=args.model,
        policy_path=args.policy,
        terms_path=args.terms,
    )


def load_terms(path: Path) -> CustomTermMatcher:
    """Read a terms file: ``term`` or ``term<TAB>action`` per line; # starts a comment."""
    items: list[tuple[str, Action]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        term, _, action = line.partition("\t")
        items.append((term.strip(), Action(action.strip().lower() or "mask")))
    return CustomTermMatcher(items)


def run_mask_cli(
    *,
    jsonl: bool = False,
    explain: bool = False,
    model: str | None = None,
    policy_path: Path | None = None,
    terms_path: Path | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    masker: Masker | None = None,
) -> int:
    """Mask stdin to stdout in plain, --jsonl or --explain mode; returns the exit status."""
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr
    try:
        policy = MaskingPolicy.load(policy_path).for_model(model)
        terms = load_terms(terms_path) if terms_path is not None else None
        masker = masker if masker is not None else Masker.from_config()
        if jsonl:
            return _run_jsonl(masker, policy, terms, stdin, stdout)
        text = stdin.read()
        result = masker.mask(text, PlaceholderVault(), policy, terms)
        if explain:
            _explain(text, result, policy, stdout)
            return EXIT_OK
        stdout.write(result.masked)
        if result.blocked:
            print(result.block_message, file=stderr)
            return EXIT_BLOCKED
        return EXIT_OK
    except (MaskingError, OSError, ValueError) as exc:
        print(f"マスキングに失敗しました（送信しないでください）: {exc}", file=stderr)
        return EXIT_FAILED


def _run_jsonl(
    masker: Masker,
    policy: MaskingPolicy,
    terms: CustomTermMatcher | None,
    stdin: TextIO,
    stdout: TextIO,
) -> int:
    for lineno, line in enumerate(stdin, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            text = item["text"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"line {lineno}: expected {{\"id\": ..., \"text\": ...}}") from exc
        result = masker.mask(text, PlaceholderVault(), policy, terms)  # a fresh vault per line
        out = {
            "id": item.get("id"),
            "masked": result.masked,
            "spans": [s.to_dict() for s in result.spans],
            "blocked": result.blocked,
        }
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    return EXIT_OK


def _explain(text: str, result: MaskResult, policy: MaskingPolicy, stdout: TextIO) -> None:
    """Findings by type in Japanese, the text as it would be sent, and any refusal."""
    by_type: dict[EntityType, list[str]] = {}
    for span in result.findings:
        by_type.setdefault(span.type, []).append(text[span.start : span.end])
    if not result.findings:
        print("個人情報・機密情報は見つかりませんでした。", file=stdout)
    else:
        print(f"見つかった項目: {len(result.findings)}件", file=stdout)
        for etype in EntityType:
            values = by_type.get(etype)
            if not values:
                continue
            action = _ACTION_JA[policy.action(etype)]
            print(f"- {JA_NAMES[etype]}（{etype}）{len(values)}件 [{action}]", file=stdout)
            for value in values:
                print(f"    {value}", file=stdout)
    if result.blocked:
        print("\n" + result.block_message, file=stdout)
        print("\nマスク後の文（ブロックされたため送信されません）:", file=stdout)
    else:
        print("\nモデルに送信される文:", file=stdout)
    print(result.masked, file=stdout)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="madoguchi mask", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main(_parse(None)))
