"""Short labels of report rows and chart axes (Japanese, English). Sentences live in
bot/messages.py; these are the names of things: entity types, outcome kinds, places."""

from __future__ import annotations

ENTITY_LABELS: dict[str, tuple[str, str]] = {
    "PERSON": ("人名", "Person"),
    "ADDRESS": ("住所", "Address"),
    "PHONE": ("電話番号", "Phone"),
    "EMAIL": ("メール", "E-mail"),
    "POSTAL_CODE": ("郵便番号", "Postal code"),
    "MY_NUMBER": ("マイナンバー", "My Number"),
    "BANK_ACCOUNT": ("口座番号", "Bank account"),
    "CREDIT_CARD": ("カード番号", "Card number"),
    "BIRTH_DATE": ("生年月日", "Birth date"),
    "ID_NUMBER": ("各種番号", "ID number"),
    "LICENSE_PLATE": ("車両番号", "Licence plate"),
    "CUSTOM_TERM": ("機密語", "Custom term"),
}

KIND_LABELS: dict[str, tuple[str, str]] = {
    "empty": ("空のメッセージ", "empty message"),
    "files_only": ("ファイルのみ", "files only"),
    "too_long": ("長すぎる", "too long"),
    "access_denied": ("利用権限なし", "no access"),
    "consent_required": ("同意前", "consent required"),
    "no_model": ("利用できるモデルなし", "no model"),
    "tier_no_model": ("区分に合うモデルなし", "no model for tier"),
    "quota": ("利用上限", "quota"),
    "quota_exceeded": ("利用上限", "quota"),
    "blocked": ("送信停止", "blocked"),
    "masking_failed": ("伏せ字処理の失敗", "masking failed"),
    "timeout": ("タイムアウト", "timeout"),
    "rate_limited": ("混雑", "rate limited"),
    "server_error": ("モデル側エラー", "server error"),
    "context_too_long": ("文脈が長すぎる", "context too long"),
    "unknown_model": ("モデル未検出", "unknown model"),
    "auth": ("認証エラー", "auth"),
    "connection": ("接続エラー", "connection"),
    "content_filter": ("安全フィルター", "content filter"),
    "stream_cut": ("途中切断", "stream cut"),
    "bad_request": ("不正な依頼", "bad request"),
    "internal": ("内部エラー", "internal"),
    "interrupted": ("停止による中断", "interrupted"),
}

CHANNEL_LABELS: dict[str, tuple[str, str]] = {
    "dm": ("DM", "DM"),
    "channel": ("チャンネル", "channel"),
    "private": ("非公開チャンネル", "private channel"),
    "terminal": ("ターミナル", "terminal"),
}

PREVIOUS_PERIOD: dict[str, tuple[str, str]] = {
    "week": ("前週", "prev. week"),
    "month": ("前月", "prev. month"),
    "custom": ("前期間", "prev. period"),
}

PERIOD_KINDS: dict[str, tuple[str, str]] = {
    "week": ("週次", "weekly"),
    "month": ("月次", "monthly"),
    "custom": ("期間指定", "custom period"),
}


def label(table: dict[str, tuple[str, str]], key: str, lang: str = "ja") -> str:
    """The label of ``key`` in ``lang``; unknown keys are shown as they are."""
    pair = table.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]
