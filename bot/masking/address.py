"""ADDRESS detection: a house-number block (7-5-8, 4丁目25番12号) anchored to a place name.

A place name alone (神戸市の予算) is public; a place name followed by a block number, a
building and a room, or any place after a 住所 label, is somebody's address.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from bot.masking.document import PRIORITY, Candidate, Document
from bot.masking.lexicon import (
    BUILDING_WORDS,
    LABELS,
    PREFECTURES,
    PREFECTURES_LATIN,
    alternation,
)
from bot.masking.types import EntityType

_P = PRIORITY[EntityType.ADDRESS]
_KNUM = "一二三四五六七八九十〇"
_NUM = rf"(?:[0-9]{{1,5}}|[{_KNUM}]{{1,4}})"
_SEP = r"(?:丁目|丁|番地の|番地|番の|番|号の|号|地割|条[東西南北]?|線|の|-)"
# The block: numbers joined by address separators; at least one separator.
_BLOCK = re.compile(
    rf"(?<![0-9{_KNUM}])"
    rf"{_NUM}[ \t]?{_SEP}(?:[ \t]?{_NUM}[ \t]?(?:{_SEP})?)*"
    r"(?![0-9])"
)
# A lone number after a municipality: 横浜市中区日本大通1、 (the sentence goes on after it).
_SINGLE = re.compile(r"(?<![0-9.,])[0-9]{1,4}(?=[、。,)）」\s]|$)")
_BUILDING = re.compile(
    r"[ \t]?(?:"
    rf"[一-龥々ァ-ヶーA-Za-z0-9・&]{{0,15}}(?:{alternation(BUILDING_WORDS)})[一-龥々ァ-ヶーA-Za-z]{{0,8}}"
    r"(?:[ \t]?[A-Z]?-?[0-9]{1,4}(?:号室|号|階|F)?)?"
    r"|[一-龥々ァ-ヶーA-Za-z0-9・&]{0,15}[ \t]?[0-9]{1,4}(?:号室|階|F)"
    r")(?![0-9])"
)
_PLACE_CHAR = re.compile(r"[一-龥々〆ヶケァ-ヴー]")
_ADMIN_SUFFIX = "都道府県市区町村郡"
_PREF = re.compile(alternation(PREFECTURES))
_ADMIN_RUN = re.compile(r"[一-龥々ヶケァ-ヴー]{1,6}?[市区町村郡]")
_ADDRESS_LABEL = re.compile(
    rf"(?:{alternation(LABELS['ADDRESS'])})(?:[ \t]*[:：=][ \t]*|[ \t]*は[ \t]*|[ \t]+|[ \t]*(?=[一-龥]))$"
)
_STOP_WORDS = ("住所", "所在地", "現住所", "居所", "住居", "送付先", "送り先", "宛先", "本籍", "自宅",
               "実家", "転居先", "転出先", "転入先", "旧住所", "新住所", "連絡先", "勤務先")
_MAX_LEFT = 32
_FACILITIES = ("庁", "庁舎", "役所", "役場", "駅", "ビル", "センター", "館", "病院", "学校", "支所",
               "公園", "空港", "ホール", "本社", "支社", "事務所", "出張所", "港", "城")


def _left_place(doc: Document, block_start: int, strong: bool = False) -> int | None:
    """Start of the place name that ends at ``block_start``, or None when there is none.

    ``strong`` asks for a prefecture or municipality (…市, …区), not just any place name.
    """
    text = doc.text
    pos = block_start
    if pos > 0 and text[pos - 1] in " \t":
        pos -= 1
    i = pos
    limit = max(0, block_start - _MAX_LEFT)
    place_tokens = [t for t in doc.place_tokens if limit < t.end <= pos]
    while i > limit:
        ch = text[i - 1]
        if _PLACE_CHAR.match(ch):
            i -= 1
            continue
        tok = next((t for t in place_tokens if t.begin < i <= t.end), None)
        if tok is not None:  # hiragana inside a dictionary place name: 霞が関, つくば市
            i = tok.begin
            continue
        # 東京都 立川市: one space after an administrative unit.
        if ch in " \t\u3000" and i - 1 > limit and text[i - 2] in _ADMIN_SUFFIX:
            i -= 1
            continue
        break
    if i >= pos:
        return None
    region = text[i:pos]
    # Strip a leading label glued to the place (住所兵庫県…, 自宅横浜市…).
    for word in _STOP_WORDS:
        k = region.rfind(word)
        if k >= 0:
            i += k + len(word)
            region = text[i:pos]
    if not region:
        return None
    anchors: list[int] = []
    m = _PREF.search(region)
    if m:
        anchors.append(i + m.start())
    m = _ADMIN_RUN.search(region)
    if m:
        anchors.append(i + m.start())
    if strong and not anchors:
        return None
    for t in place_tokens:
        if t.begin >= i and t.end <= pos:
            anchors.append(t.begin)
            break
    if region.startswith(("大字", "字")):
        anchors.append(i)
    if not anchors:
        return None
    return min(anchors)


def _labelled(doc: Document, pos: int) -> bool:
    return _ADDRESS_LABEL.search(doc.text, max(0, pos - 10), pos) is not None


def _could_follow_place(doc: Document, start: int) -> bool:
    """Cheap test before the left walk: a place character (or 住所 label) precedes ``start``."""
    text = doc.text
    k = start - 1
    if k >= 0 and text[k] in " \t\u3000":
        k -= 1
    if k < 0:
        return False
    return bool(_PLACE_CHAR.match(text[k])) or _inside_place_token(doc, k) or _labelled(doc, start)


def _blocks(doc: Document) -> Iterator[Candidate]:
    text = doc.text
    for m in _BLOCK.finditer(text):
        value = m.group()
        start, end = m.start(), m.end()
        if not _could_follow_place(doc, start):
            continue
        # Trailing joiners belong to the sentence, not the address (1番地の → 1番地).
        while end > start and text[end - 1] in "の- \t":
            end -= 1
        if value.startswith("0"):
            continue  # phone numbers and zero-padded codes, never a house number
        if start > 0 and text[start - 1] == "第":
            continue  # 条例第12号, 第3号: ordinals, not house numbers
        if not any(c.isdigit() or c in _KNUM for c in text[start:end]):
            continue
        left = _left_place(doc, start)
        if left is None:
            # A bare block only counts right after a 住所 label (住所：3丁目5番, 住所: 1-2-3).
            if not (_labelled(doc, start) and re.search("丁目|番|号|[0-9]-[0-9]", text[start:end])):
                continue
            left = start
        yield Candidate(left, _with_building(text, end), EntityType.ADDRESS, _P, "address")
    for m in _SINGLE.finditer(text):
        start = m.start()
        if start == 0 or text[start - 1] == "第" or not _PLACE_CHAR.match(text[start - 1]):
            continue
        left = _left_place(doc, start, strong=True)
        if left is not None:
            yield Candidate(left, _with_building(text, m.end()), EntityType.ADDRESS, _P, "address")


def _with_building(text: str, end: int) -> int:
    """Extend an address over a building name and room that follow it."""
    b = _BUILDING.match(text, end)
    return b.end() if b is not None and b.end() > b.start() else end


_LABELLED_PLACE = re.compile(
    rf"(?:{alternation(LABELS['ADDRESS'])})(?:[ \t]*[:：=][ \t]*|[ \t]*は[ \t]*|[ \t]+)"
)


def _labelled_places(doc: Document) -> Iterator[Candidate]:
    """住所は横須賀市小川町 — a place without house number, but labelled as an address."""
    text = doc.text
    for m in _LABELLED_PLACE.finditer(text):
        pos = m.end()
        end = pos
        while end < len(text) and (_PLACE_CHAR.match(text[end]) or _inside_place_token(doc, end)):
            end += 1
        if end == pos:
            continue
        region = text[pos:end]
        if region.endswith(_FACILITIES):
            continue  # 住所は大阪府庁と同じビル: a public building, not a home
        if _PREF.match(region) or _ADMIN_RUN.match(region) or any(
            t.is_place and t.begin == pos for t in doc.tokens
        ):
            yield Candidate(pos, end, EntityType.ADDRESS, _P - 5, "address-label")


def _inside_place_token(doc: Document, pos: int) -> bool:
    tok = doc.token_containing(pos)
    return tok is not None and tok.is_place


# Addresses written in Latin letters: 1-2-3 Nishi-Shinjuku, Shinjuku-ku, Tokyo.
_LATIN_WORD = r"[A-Z][A-Za-z]+(?:-[A-Za-z]+)*"
_LATIN_ADDRESS = re.compile(
    r"(?<![0-9A-Za-z-])(?:(?:Room|Apt\.?|Unit)[ \t]?[0-9]{1,4}[A-Z]?,?[ \t]+)?"
    r"[0-9]{1,5}(?:-[0-9]{1,5}){1,3},?[ \t]+"
    rf"{_LATIN_WORD}(?:,?[ \t]+{_LATIN_WORD}){{0,5}}"
)
_LATIN_POSTAL = re.compile(r",?[ \t]+(?:〒[ \t]?)?([0-9]{3}-[0-9]{4})(?![0-9])")
_LATIN_UNIT = re.compile(
    rf"-(?:ku|shi|cho|chou|machi|gun|ken|mura|son)\b|\b(?:{alternation(PREFECTURES_LATIN)})\b",
    re.IGNORECASE,
)


def _latin_addresses(doc: Document) -> Iterator[Candidate]:
    for m in _LATIN_ADDRESS.finditer(doc.text):
        if _LATIN_UNIT.search(m.group()):
            yield Candidate(m.start(), m.end(), EntityType.ADDRESS, _P, "address-latin")
            postal = _LATIN_POSTAL.match(doc.text, m.end())
            if postal is not None:  # Kanagawa 210-0001
                yield Candidate(postal.start(1), postal.end(1), EntityType.POSTAL_CODE,
                                PRIORITY[EntityType.POSTAL_CODE], "address-latin")


def detect_addresses(doc: Document) -> list[Candidate]:
    """All ADDRESS findings in ``doc``."""
    out = list(_blocks(doc))
    out.extend(_labelled_places(doc))
    out.extend(_latin_addresses(doc))
    return out
