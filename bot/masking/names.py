"""PERSON detection: SudachiPy name tags combined with honorific, title and label rules.

The dictionary knows most Japanese family and given names (名詞,固有名詞,人名,姓/名) and many
foreign ones (人名,一般). Rules add what it cannot know: an unknown word before さん/様/氏 is a
name, a word after 氏名：/申請者 is a name, romaji names in English.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from bot.masking.document import PRIORITY, Candidate, Document, Token
from bot.masking.lexicon import (
    ERAS,
    HONORIFICS,
    NOT_PERSON_AFTER,
    ORG_SUFFIXES,
    PERSON_LABELS,
    STRONG_HONORIFICS,
    TITLES,
    alternation,
)
from bot.masking.types import EntityType

_P = PRIORITY[EntityType.PERSON]
_KANJI = re.compile(r"[一-龥々〆ヶ]+")
_KATAKANA = re.compile(r"[ァ-ヴー]+")
_KANA_OR_KANJI = re.compile(r"[一-龥々〆ヶァ-ヴーぁ-ゖ]+")
_CAPITALISED = re.compile(r"[A-Z][a-z]+(?:['\-][A-Za-z]+)?")
_ERAS = frozenset(ERAS)

_HONORIFIC_AFTER = re.compile(rf"[ \t]?(?:{alternation(HONORIFICS + TITLES)})")
_STRONG_AFTER = re.compile(rf"[ \t]?(?:{alternation(STRONG_HONORIFICS)})")
# Titles that also follow place names (横浜市長, 神奈川県知事): a place before them stays a place.
_PLACE_TITLES = ("市長", "町長", "村長", "区長", "知事", "副知事", "副市長", "副町長", "副村長",
                 "代表", "教育長")
_HONORIFIC_AT = re.compile(alternation(STRONG_HONORIFICS + TITLES))
_NOT_PERSON_AFTER = re.compile(rf"(?:{alternation(NOT_PERSON_AFTER)})")
_ORG_SUFFIX = tuple(ORG_SUFFIXES)
_PERSON_LABEL = re.compile(
    rf"(?:{alternation(PERSON_LABELS)})(?:[ \t]*[:：=][ \t]*|[ \t]*は[ \t]*|[ \t]+|(?=[一-龥ァ-ヴA-Z]))"
)
_SEPARATORS = {" ", "\t", "・", "=", "＝", "\u3000"}


def _is_katakana_word(tok: Token) -> bool:
    return bool(_KATAKANA.fullmatch(tok.surface))


def _nameish(tok: Token) -> bool:
    """Could this token be (part of) a name the dictionary does not know?"""
    if tok.surface in _ERAS or not tok.surface or tok.surface.isdigit():
        return False
    if tok.surface.isascii():
        # Latin letters: Tanaka, or TANAKA when it reads as romaji; not LGWAN, not GPT.
        return bool(_CAPITALISED.fullmatch(tok.surface)) or (
            tok.surface.isupper() and _is_romaji(tok.surface)
        )
    if tok.is_person or tok.oov or (tok.pos[0] == "名詞" and tok.is_proper):
        return bool(_KANA_OR_KANJI.fullmatch(tok.surface))
    # A word the dictionary lists as a common noun (ヘルパー, 皆) is not a name.
    return False


def _followed_by(doc: Document, pos: int, pattern: re.Pattern[str]) -> str | None:
    m = pattern.match(doc.text, pos)
    return m.group().strip() if m else None


def _joins(left: Token, sep: Token, right: Token) -> bool:
    """Do two name tokens around a separator make one name?"""
    if not right.is_person:
        return False
    foreign = (_is_katakana_word(left) or left.surface.isascii()) and (
        _is_katakana_word(right) or right.surface.isascii()
    )
    if foreign:
        return True
    return sep.surface != "・" and left.is_surname and right.is_given


def _given_name_completion(toks: Sequence[Token], k: int, doc: Document, start: int) -> int:
    """After a lone surname, absorb a given name the dictionary does not know as one.

    Rare given names come out as single kanji or as ordinary words (佐藤|煌|翔|さん,
    坂本 ゆかり): up to three short kanji or kana nouns, ending before an honorific, a title,
    or (after a 氏名-style label) the end of the value.
    """
    best = -1
    chars = 0
    labelled = _label_before(doc, start)
    first = k + 1 if k < len(toks) and toks[k].surface in _SEPARATORS else k
    for m in range(first, min(first + 3, len(toks))):
        t = toks[m]
        kana = _KANA_OR_KANJI.fullmatch(t.surface) is not None
        if not (kana or t.is_given) or t.pos[0] not in ("名詞", "接頭辞"):
            break
        if _HONORIFIC_AT.match(t.surface) or _NOT_PERSON_AFTER.match(t.surface):
            break
        chars += len(t.surface)
        if chars > 4:
            break
        nxt = doc.text[t.end : t.end + 1]
        # A job title after an ordinary word is a department's: 中川|財政|課長 is 中川, head
        # of the finance division. Only さん/様/氏 (or a given-name tag) vouch for the word.
        if (
            _followed_by(doc, t.end, _STRONG_AFTER) is not None
            or (t.is_given and _followed_by(doc, t.end, _HONORIFIC_AFTER) is not None)
            or (labelled and (not nxt or nxt in "、。,.()（）\n\t 　"))
        ):
            best = m
    return best


def _dictionary_names(doc: Document) -> Iterator[Candidate]:
    """Runs of 人名 tokens (姓+名, 名, foreign 人名), checked against what follows them."""
    toks = doc.tokens
    n = len(toks)
    i = 0
    text = doc.text
    while i < n:
        t = toks[i]
        if not t.is_person or t.surface in _ERAS:
            i += 1
            continue
        kinds = {t.pos[3]}
        j = i
        k = i + 1
        while k < n:
            nt = toks[k]
            if nt.is_person:
                kinds.add(nt.pos[3])
                j, k = k, k + 1
                continue
            # 山田 太郎, マイケル・ジョンソン: one space or middle dot between two name parts
            # (but 佐藤・高橋 are two people).
            if nt.surface in _SEPARATORS and k + 1 < n and _joins(toks[j], nt, toks[k + 1]):
                kinds.add(toks[k + 1].pos[3])
                j, k = k + 1, k + 2
                continue
            break
        if kinds == {"姓"}:
            done = _given_name_completion(toks, j + 1, doc, toks[i].begin)
            if done >= 0:
                j = done
                kinds.add("名")
        elif "姓" not in kinds and "名" in kinds:
            before = _surname_before(doc, i)
            if before is not None:
                i = before
                kinds.add("姓")
        seed = text[toks[i].begin : toks[j].end]
        if seed.isascii() and (
            seed.lower() in _LATIN_NOT_NAMES or not seed[0].isupper() or len(seed) < 2
        ):
            i = j + 1
            continue  # English words tagged as names (last, may, april); A in 「Aさん」 (a pseudonym)
        first, j = _latin_neighbours(toks, i, j)
        start, end = toks[first].begin, toks[j].end
        i = j + 1
        after = _followed_by(doc, end, _HONORIFIC_AFTER)
        if after is None and _NOT_PERSON_AFTER.match(text, end):
            continue  # 山田小学校, 鈴木自動車
        surface = text[start:end]
        if after is None and not _accept_bare(kinds, surface, doc, start):
            continue
        yield Candidate(start, end, EntityType.PERSON, _P, "sudachi")


def _surname_before(doc: Document, i: int) -> int | None:
    """Index of a surname the dictionary mis-tagged right before the given name at ``i``.

    「世帯主 大橋 誠」: 大橋 comes out as a common noun (a big bridge), but it is a listed family
    name and a given name follows it.
    """
    toks = doc.tokens
    k = i - 1
    if k >= 0 and toks[k].surface in (" ", "\u3000"):
        k -= 1
    if k < 0 or doc.can_be_surname is None:
        return None
    tok = toks[k]
    if tok.pos[0] != "名詞" or not _KANJI.fullmatch(tok.surface) or not 1 <= len(tok.surface) <= 3:
        return None
    return k if doc.can_be_surname(tok.surface) else None


def _latin_neighbours(toks: Sequence[Token], i: int, j: int) -> tuple[int, int]:
    """Widen a Latin name over capitalised words next to it: Sato + Hiroshi, Emma + Watson."""
    if not toks[i].surface.isascii():
        return i, j

    def latin(k: int) -> bool:
        w = toks[k].surface
        shaped = _CAPITALISED.fullmatch(w) or (w.isalpha() and w.isupper() and len(w) >= 2)
        return (
            bool(shaped)
            and w.isascii()
            and not (toks[k].is_place and toks[k].pos[3] == "国")
            and w.lower() not in _LATIN_NOT_NAMES
            and w.lower() not in _ROMAJI_STOP
        )

    while i >= 2 and toks[i - 1].surface == " " and latin(i - 2):
        i -= 2
    while j + 2 < len(toks) and toks[j + 1].surface == " " and latin(j + 2):
        j += 2
    return i, j


def _accept_bare(kinds: set[str], surface: str, doc: Document, start: int) -> bool:
    """A name with no honorific or title after it."""
    if "姓" in kinds and "名" in kinds:
        return True
    if "一般" in kinds:
        return len(surface) >= 2
    if surface.isascii():
        return len(surface) >= 3  # Hiroshi, Yuki: a Latin given name is not an ordinary word
    if _label_before(doc, start):
        return True
    if kinds == {"姓"}:
        # One-kanji surnames (林, 森, 東) are too often ordinary words, except alone on their
        # own line (a signature).
        line_start = doc.text.rfind("\n", 0, start) + 1
        line_end = doc.text.find("\n", start)
        line = doc.text[line_start : line_end if line_end >= 0 else len(doc.text)]
        return len(surface.replace(" ", "")) >= 2 or line.strip(" \t　") == surface
    return False  # a given name alone (誠, 光) is too often an ordinary word


_LABEL_TAIL = re.compile(
    rf"(?:{alternation(PERSON_LABELS)})(?:[ \t]*[:：=][ \t]*|[ \t]*は[ \t]*|[ \t]+)?$"
)


def _label_before(doc: Document, start: int) -> bool:
    return _LABEL_TAIL.search(doc.text, max(0, start - 12), start) is not None


def _honorific_names(doc: Document) -> Iterator[Candidate]:
    """Unknown words right before さん/様/氏 or a job title: ンゴジ・オコンジョさん, 井口部長."""
    toks = doc.tokens
    text = doc.text
    for idx, t in enumerate(toks):
        m = _HONORIFIC_AT.match(text, t.begin)
        if m is None or idx == 0:
            continue
        if m.end() != t.end and doc.token_index_starting_at(m.end()) is None:
            continue  # 君津市, さんま: the word only starts like an honorific
        word = m.group()
        strong = word in STRONG_HONORIFICS
        k = idx - 1
        if toks[k].surface in (" ", "\t"):
            k -= 1
        end_tok = k
        while k >= 0:
            tk = toks[k]
            if _nameish(tk) or _is_katakana_word(tk):
                k -= 1
                continue
            if tk.surface in _SEPARATORS and k - 1 >= 0 and k < end_tok and (
                _nameish(toks[k - 1]) or _is_katakana_word(toks[k - 1])
            ):
                k -= 1
                continue
            break
        first = k + 1
        if first > end_tok:
            continue
        run = toks[first : end_tok + 1]
        if not any(x.surface == "・" for x in run):
            # ガーデン山田太郎さん: an ordinary katakana word glued before a name is not part of it.
            while len(run) > 1 and run[0].is_common_noun:
                run = run[1:]
        if all(x.is_person for x in run) or sum(len(x.surface) for x in run) > 20:
            continue  # already a dictionary name, or too long to be one
        named = [x for x in run if _nameish(x)]
        foreign = sum(_is_katakana_word(x) for x in run) >= 2 and any(x.surface == "・" for x in run)
        if not named and not foreign:
            continue  # ヘルパーさん, 皆様: an ordinary word before the honorific
        if not strong and word in _PLACE_TITLES and all(x.is_place for x in named):
            continue  # 横浜市長, 神奈川県知事
        if not strong and not any(x.is_person or x.oov or x.is_place for x in named) and not foreign:
            continue  # a title after some other proper noun
        yield Candidate(run[0].begin, run[-1].end, EntityType.PERSON, _P, "honorific")


def _labelled_names(doc: Document) -> Iterator[Candidate]:
    """The value after 氏名：, 申請者, 相談者は … when it looks like a name."""
    for m in _PERSON_LABEL.finditer(doc.text):
        pos = m.end()
        found = _labelled_run(doc, pos)
        if found is None and _FORM_SEPARATOR.search(m.group()):
            found = _form_value(doc, pos)
        if found is not None:
            yield Candidate(found[0], found[1], EntityType.PERSON, _P, "label")


def _labelled_run(doc: Document, pos: int) -> tuple[int, int] | None:
    """Name-like tokens right after a label, if the dictionary gives evidence of a name."""
    text = doc.text
    toks = doc.tokens
    k = doc.token_index_starting_at(pos)
    if k is None:
        return None
    run: list[Token] = []
    while k < len(toks) and sum(x.surface not in _SEPARATORS for x in run) < 4:
        tk = toks[k]
        if _nameish(tk) or _is_katakana_word(tk) or (run and tk.is_given) or (
            run and run[0].is_surname and _KANJI.fullmatch(tk.surface) and len(tk.surface) <= 2
            and not _HONORIFIC_AFTER.match(tk.surface)
        ):
            run.append(tk)
            k += 1
            continue
        if tk.surface in _SEPARATORS and run and k + 1 < len(toks) and (
            _nameish(toks[k + 1]) or _is_katakana_word(toks[k + 1])
        ):
            run.append(tk)
            k += 1
            continue
        break
    while run and run[-1].surface in _SEPARATORS:
        run.pop()
    if not run:
        return None
    surface = text[run[0].begin : run[-1].end]
    if surface.endswith(_ORG_SUFFIX) or any(x.is_place for x in run):
        return None
    if text[run[-1].end : run[-1].end + 1].isdigit():
        return None
    if any(x.is_person or x.oov for x in run) or (
        all(_is_katakana_word(x) or x.surface in _SEPARATORS for x in run)
        and not (len(run) == 1 and run[0].is_common_noun)
    ):
        return run[0].begin, run[-1].end
    return None


# In a form (氏名：…, 申請者 …) the whole short value is the name, whatever the dictionary
# makes of it (平野|学, 東結|衣): two to four kanji, optionally a given name after a space.
_FORM_SEPARATOR = re.compile(r"[:：=]|[ \t]$")
_FORM_VALUE = re.compile(
    r"[一-龥々〆ヶ]{1,4}(?:[ \t\u3000]?[一-龥々〆ヶ]{1,3}|[ \t\u3000]?[ぁ-ゖァ-ヴー]{2,5})?"
    r"(?=[ \t\u3000]*(?:[、。,.()（）\n]|$|様|さん|氏|殿|君|ちゃん|[(（]))"
)
_FORM_NOT_NAMES = ("未定", "不明", "同上", "本人", "なし", "無し", "下記", "別紙", "省略", "匿名", "空欄",
                   "記入", "未記入", "同じ", "全員", "各位", "代理人", "家族")


def _form_value(doc: Document, pos: int) -> tuple[int, int] | None:
    m = _FORM_VALUE.match(doc.text, pos)
    if m is None:
        return None
    value = m.group()
    compact = value.replace(" ", "").replace("\t", "").replace("\u3000", "")
    if len(compact) < 2 or value.endswith(_ORG_SUFFIX) or compact in _FORM_NOT_NAMES:
        return None
    if compact in _ERAS or _NOT_PERSON_AFTER.search(compact[-2:]):
        return None
    inside = [t for t in doc.tokens if pos <= t.begin and t.end <= m.end()]
    # One dictionary word that is a common noun (高齢者, 市民) is not a name.
    if len(inside) == 1 and inside[0].is_common_noun and not inside[0].is_person:
        return None
    if any(t.is_place and t.surface == compact for t in inside):
        return None  # 住所：横浜 would be a place
    return m.start(), m.end()


# Romaji and English names ------------------------------------------------------------------

_ROMAJI_SYLLABLES = re.compile(
    r"(?:(?:kk|ss|tt|pp|cch|tch|sh|ch|ts|[kgsztdnhbpmyrwfjv])?y?[aiueo]h?|n|m(?=[bp]))+",
    re.IGNORECASE,
)
# Latin words the dictionary tags as names but that are months, days or product names here.
_LATIN_NOT_NAMES = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday",
    "saturday", "sunday", "claude", "gemini", "copilot", "siri", "alexa", "cortana", "watson",
    "bard", "llama", "grok", "mistral", "perplexity", "chatgpt", "openai", "anthropic", "google",
    "microsoft", "amazon", "apple", "all", "team", "sir", "madam", "customer", "customers",
    "colleagues", "members", "everyone", "staff", "friends", "partners", "valued", "hello",
    "thanks", "regards", "best", "kind", "dear",
}
_ROMAJI_STOP = {
    "tokyo", "osaka", "kyoto", "nagoya", "yokohama", "sapporo", "fukuoka", "kobe", "sendai",
    "hiroshima", "nara", "okinawa", "hokkaido", "chiba", "saitama", "kanagawa", "japan", "nihon",
    "nippon", "api", "data", "gemini", "ok", "no", "yes", "go", "one", "zoom", "teams", "note",
    "wiki", "kintone", "office", "meta", "sora", "canva", "line", "excel", "mac", "demo",
}
_EN_TITLE = re.compile(
    r"(?<![A-Za-z])(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam)\.?|Dear)[ \t]+"
    r"(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?[ \t]+)?"
    r"(?P<name>[A-Z][a-zA-Z'\-]+(?:[ \t]+[A-Z][a-zA-Z'\-]+){0,2})"
)
_EN_HONORIFIC = re.compile(
    r"(?<![A-Za-z])(?P<name>[A-Z][a-zA-Z'\-]+(?:[ \t]+[A-Z][a-zA-Z'\-]+){0,2})"
    r"(?:[ \t]?-?(?:san|sama|sensei|kun|chan|dono)(?![A-Za-z])|[ \t]?(?=様|さん|氏|殿|君|くん|ちゃん|先生))"
)
_ROMAJI_PAIR = re.compile(
    r"(?<![A-Za-z])(?P<a>[A-Z][a-z]{1,14}|[A-Z]{2,15})[ \t]+(?P<b>[A-Z][a-z]{1,14}|[A-Z]{2,15})"
    r"(?![A-Za-z])"
)
_EN_NAME_LABEL = re.compile(
    r"(?<![A-Za-z])(?:Name|NAME|name|From|Attn|Contact|Applicant|Signed)[ \t]*:[ \t]*"
    r"(?P<name>[A-Z][a-zA-Z'\-]+(?:[ \t]+[A-Z][a-zA-Z'\-]+){0,2})"
)


def _is_romaji(word: str) -> bool:
    return len(word) >= 2 and word.lower() not in _ROMAJI_STOP and bool(
        _ROMAJI_SYLLABLES.fullmatch(word)
    )


def _romaji_names(doc: Document) -> Iterator[Candidate]:
    """Names written in Latin letters: Mr. Smith, Yamada-san, Taro YAMADA, Name: Jane Doe."""
    text = doc.text
    for pattern in (_EN_TITLE, _EN_HONORIFIC, _EN_NAME_LABEL):
        for m in pattern.finditer(text):
            name = m.group("name")
            if name.lower() in _ROMAJI_STOP or name.split()[0].lower() in _LATIN_NOT_NAMES:
                continue
            yield Candidate(m.start("name"), m.end("name"), EntityType.PERSON, _P, "latin")
    for m in _ROMAJI_PAIR.finditer(text):
        a, b = m.group("a"), m.group("b")
        # Exactly one of the two in capitals (Taro YAMADA / YAMADA Taro), both romaji.
        if (a.isupper() == b.isupper()) or min(len(a), len(b)) < 2:
            continue
        if _is_romaji(a) and _is_romaji(b) and max(len(a), len(b)) >= 3:
            yield Candidate(m.start(), m.end(), EntityType.PERSON, _P, "romaji")


def detect_persons(doc: Document) -> list[Candidate]:
    """All PERSON findings in ``doc``; needs tokens for all but the romaji rules."""
    out: list[Candidate] = []
    if doc.tokens:
        out.extend(_dictionary_names(doc))
        out.extend(_honorific_names(doc))
        out.extend(_labelled_names(doc))
    out.extend(_romaji_names(doc))
    return out
