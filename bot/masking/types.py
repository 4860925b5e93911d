"""Value types shared by every part of the masking filter."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class MaskingError(Exception):
    """Any internal failure of the filter. The caller must fail closed: nothing is sent."""


class EntityType(StrEnum):
    """Kinds of personal or confidential data the filter knows. Values equal the names."""

    PERSON = "PERSON"
    ADDRESS = "ADDRESS"
    PHONE = "PHONE"
    EMAIL = "EMAIL"
    POSTAL_CODE = "POSTAL_CODE"
    MY_NUMBER = "MY_NUMBER"
    BANK_ACCOUNT = "BANK_ACCOUNT"
    CREDIT_CARD = "CREDIT_CARD"
    BIRTH_DATE = "BIRTH_DATE"
    ID_NUMBER = "ID_NUMBER"
    LICENSE_PLATE = "LICENSE_PLATE"
    CUSTOM_TERM = "CUSTOM_TERM"


class Action(StrEnum):
    """What the policy does with a finding of one type."""

    MASK = "mask"
    BLOCK = "block"
    ALLOW = "allow"


# Strictest wins when two rules meet (a term's own action and the policy's CUSTOM_TERM row).
ACTION_STRICTNESS: dict[Action, int] = {Action.ALLOW: 0, Action.MASK: 1, Action.BLOCK: 2}

# The word used inside placeholders, e.g. <人名1>. Short, so models copy them faithfully.
PLACEHOLDER_LABELS: dict[EntityType, str] = {
    EntityType.PERSON: "人名",
    EntityType.ADDRESS: "住所",
    EntityType.PHONE: "電話番号",
    EntityType.EMAIL: "メール",
    EntityType.POSTAL_CODE: "郵便番号",
    EntityType.MY_NUMBER: "マイナンバー",
    EntityType.BANK_ACCOUNT: "口座番号",
    EntityType.CREDIT_CARD: "カード番号",
    EntityType.BIRTH_DATE: "生年月日",
    EntityType.ID_NUMBER: "番号",
    EntityType.LICENSE_PLATE: "車両番号",
    EntityType.CUSTOM_TERM: "機密語",
}

# Human-readable Japanese names (for --explain and admin screens).
JA_NAMES: dict[EntityType, str] = {
    EntityType.PERSON: "人名",
    EntityType.ADDRESS: "住所",
    EntityType.PHONE: "電話番号",
    EntityType.EMAIL: "メールアドレス",
    EntityType.POSTAL_CODE: "郵便番号",
    EntityType.MY_NUMBER: "マイナンバー（個人番号）",
    EntityType.BANK_ACCOUNT: "口座番号",
    EntityType.CREDIT_CARD: "クレジットカード番号",
    EntityType.BIRTH_DATE: "生年月日",
    EntityType.ID_NUMBER: "個人を識別する番号（年金・保険・免許証など）",
    EntityType.LICENSE_PLATE: "自動車のナンバー",
    EntityType.CUSTOM_TERM: "管理者が登録した機密語",
}

# How a refusal names what was found: 「…と思われる番号」 admits the filter may be wrong.
_JA_FOUND: dict[EntityType, str] = {
    EntityType.PERSON: "個人名と思われる語",
    EntityType.ADDRESS: "住所と思われる記載",
    EntityType.PHONE: "電話番号と思われる番号",
    EntityType.EMAIL: "メールアドレス",
    EntityType.POSTAL_CODE: "郵便番号と思われる番号",
    EntityType.MY_NUMBER: "マイナンバーと思われる番号",
    EntityType.BANK_ACCOUNT: "口座番号と思われる番号",
    EntityType.CREDIT_CARD: "クレジットカード番号と思われる番号",
    EntityType.BIRTH_DATE: "生年月日と思われる日付",
    EntityType.ID_NUMBER: "年金・保険・免許証などの番号と思われる番号",
    EntityType.LICENSE_PLATE: "自動車のナンバーと思われる記載",
    EntityType.CUSTOM_TERM: "送信が禁止された語（管理者が登録）",
}

_EN_FOUND: dict[EntityType, str] = {
    EntityType.PERSON: "what looks like a person's name",
    EntityType.ADDRESS: "what looks like an address",
    EntityType.PHONE: "what looks like a phone number",
    EntityType.EMAIL: "an e-mail address",
    EntityType.POSTAL_CODE: "what looks like a postal code",
    EntityType.MY_NUMBER: "what looks like a My Number (individual number)",
    EntityType.BANK_ACCOUNT: "what looks like a bank account number",
    EntityType.CREDIT_CARD: "what looks like a credit card number",
    EntityType.BIRTH_DATE: "what looks like a date of birth",
    EntityType.ID_NUMBER: "what looks like a pension, insurance or licence number",
    EntityType.LICENSE_PLATE: "what looks like a vehicle registration number",
    EntityType.CUSTOM_TERM: "a term your administrator does not allow to be sent",
}


@dataclass(frozen=True, order=True)
class Span:
    """One finding: offsets into the ORIGINAL text, end exclusive."""

    start: int
    end: int
    type: EntityType

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of the `mask --jsonl` contract."""
        return {"start": self.start, "end": self.end, "type": str(self.type)}


def refusal_text(blocked_types: list[EntityType], lang: str = "ja") -> str:
    """The message shown to a user whose text was refused, naming every blocked type."""
    if not blocked_types:
        return ""
    if lang == "en":
        found = ", ".join(_EN_FOUND[t] for t in blocked_types)
        return (
            f"Your message was not sent because it contains {found}. "
            "Remove the value or replace it with a dummy (for example 'XXXX') and send it again."
        )
    found = "、".join(_JA_FOUND[t] for t in blocked_types)
    return (
        f"{found}が含まれているため送信しませんでした。"
        "該当する部分を削除するか、「○○」などの仮の値に置き換えてから、もう一度送信してください。"
    )


@dataclass
class MaskResult:
    """The outcome of masking one text.

    ``spans`` are the spans hidden in ``masked`` (masked and blocked ones), offsets into the
    original text; ``findings`` are all detections before policy (allowed ones included).
    ``counts`` counts masked entities per type. When ``blocked`` is true the text must not be
    sent; ``masked`` still hides every finding and the vault was left unchanged.
    """

    masked: str
    spans: list[Span]
    blocked: bool
    blocked_types: list[EntityType]
    counts: dict[EntityType, int]
    findings: list[Span] = field(default_factory=list)

    @property
    def block_message(self) -> str:
        """Japanese refusal text naming every blocked type; empty when not blocked."""
        return refusal_text(self.blocked_types, "ja") if self.blocked else ""

    def refusal(self, lang: str = "ja") -> str:
        """Refusal text in ``lang`` ("ja" or "en"); empty when not blocked."""
        return refusal_text(self.blocked_types, lang) if self.blocked else ""
