"""Parse the hand-annotated example files in tests/masking/data/ into scorer-style records."""
from __future__ import annotations

import re
from pathlib import Path

DATA = Path(__file__).parent / "data"
_MARK = re.compile(r"⟦(?P<type>[A-Z_]+)\|(?P<value>[^⟧]*)⟧|⟪(?P<keep>[^⟫]*)⟫")


def parse_line(line: str) -> dict[str, object]:
    """One annotated line -> {"text", "entities": [...], "keep": [...]} (offsets into text)."""
    line = line.replace("⏎", "\n")
    text: list[str] = []
    entities: list[dict[str, object]] = []
    keep: list[dict[str, object]] = []
    pos = 0
    length = 0
    for m in _MARK.finditer(line):
        chunk = line[pos : m.start()]
        text.append(chunk)
        length += len(chunk)
        value = m.group("value") if m.group("type") else m.group("keep")
        start = length
        text.append(value)
        length += len(value)
        record = {"start": start, "end": length, "value": value}
        if m.group("type"):
            entities.append({**record, "type": m.group("type")})
        else:
            keep.append(record)
        pos = m.end()
    text.append(line[pos:])
    return {"text": "".join(text), "entities": entities, "keep": keep}


def load(name: str) -> list[dict[str, object]]:
    """All examples of one data file, with ids ``name-N``."""
    out = []
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines, 1):
        if line.strip() and not line.startswith("#"):
            out.append({"id": f"{name}-{n}", **parse_line(line)})
    return out


def _significant(ch: str) -> bool:
    import unicodedata

    return unicodedata.category(ch)[0] in "LN"


def score(docs: list[dict], spans_by_id: dict[str, list[tuple[int, int]]]) -> dict[str, object]:
    """The numbers of ../shared/eval/score_pii.py: recall (an entity counts when every letter
    and digit is masked), per-type recall, character precision and keep-span damage."""
    per: dict[str, list[int]] = {}
    keep_total = keep_damaged = masked_chars = masked_true = 0
    misses: list[str] = []
    for d in docs:
        text = d["text"]
        cov = [False] * len(text)
        for s, e in spans_by_id[d["id"]]:
            for k in range(s, e):
                cov[k] = True
        gold = [False] * len(text)
        for ent in d["entities"]:
            row = per.setdefault(ent["type"], [0, 0])
            row[0] += 1
            for k in range(ent["start"], ent["end"]):
                gold[k] = True
            if all(cov[k] for k in range(ent["start"], ent["end"]) if _significant(text[k])):
                row[1] += 1
            else:
                misses.append(f"{d['id']} {ent['type']} {ent['value']}")
        for kp in d.get("keep", []):
            keep_total += 1
            if any(cov[k] and _significant(text[k]) for k in range(kp["start"], kp["end"])):
                keep_damaged += 1
                misses.append(f"{d['id']} KEEP {kp['value']}")
        for k, ch in enumerate(text):
            if cov[k] and _significant(ch):
                masked_chars += 1
                masked_true += gold[k]
    total = sum(n for n, _ in per.values())
    return {
        "recall": sum(c for _, c in per.values()) / total if total else 1.0,
        "per_type": {t: c / n for t, (n, c) in per.items()},
        "precision": masked_true / masked_chars if masked_chars else 1.0,
        "keep_damage": keep_damaged / keep_total if keep_total else 0.0,
        "masked_chars": masked_chars,
        "misses": misses,
    }
