"""Every sentence a user sees, in Japanese (default) and English.

Keys are stable; handlers and the core look messages up here so wording is reviewed in one place.
"""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "thinking": {"ja": "考え中…", "en": "Thinking…"},
    "empty": {
        "ja": "メッセージが空のようです。質問や依頼の内容を書いて送ってください。",
        "en": "Your message looks empty. Please write your question or request.",
    },
    "files_only": {
        "ja": (
            "ファイルの内容はまだ読み取れません。必要な部分をメッセージ本文に貼り付けて"
            "送ってください（個人情報は自動で伏せ字にしてから送信します）。"
        ),
        "en": (
            "I can't read attached files yet. Please paste the relevant part into the message "
            "(personal data is masked before sending)."
        ),
    },
    "files_ignored": {
        "ja": "※添付ファイルの内容は読み取っていません。本文だけで回答しています。",
        "en": "Note: attachments were not read; this answer uses the message text only.",
    },
    "too_many_chars": {
        "ja": (
            "メッセージが長すぎるため送信しませんでした（{chars:,}文字。上限は{limit:,}文字です）。"
            "{parts}回程度に分けて送ってください。"
        ),
        "en": (
            "Your message is too long to send ({chars:,} characters; the limit is {limit:,}). "
            "Please split it into about {parts} messages."
        ),
    },
    "too_long_for_model": {
        "ja": (
            "メッセージが長すぎるため、{model}に送信しませんでした。\n"
            "• このメッセージ: 約{chars:,}文字（{tokens:,}トークン）\n"
            "• {model}が一度に受け付けられる量: 約{limit:,}トークン（日本語でおよそ{limit_chars:,}文字）\n"
            "• 分け方: {parts}回程度に分けて送ってください。最初に「これから資料を分割して送ります。"
            "<end> と書くまでは「OK」とだけ返してください」と伝えてから順に貼り付けると、"
            "まとめて扱えます。"
        ),
        "en": (
            "Your message is too long for {model}, so it was not sent.\n"
            "• This message: about {chars:,} characters ({tokens:,} tokens)\n"
            "• {model} accepts about {limit:,} tokens at once\n"
            "• Please split it into about {parts} parts. Start with “I will send a document in "
            "parts; reply only OK until I write <end>”."
        ),
    },
    "history_trimmed": {
        "ja": "※スレッドが長くなったため、古いやり取り{n}件をモデルに送っていません。",
        "en": "Note: the thread is long; the {n} oldest messages were not sent to the model.",
    },
    "blocked": {"ja": "{reason}", "en": "{reason}"},
    "masking_failed": {
        "ja": (
            "個人情報のチェック中にエラーが起きたため、安全のため送信しませんでした。"
            "しばらくしてからもう一度お試しください。続く場合は管理者に連絡してください。"
        ),
        "en": (
            "The personal-data check failed, so nothing was sent (fail-safe). Please try again "
            "later; tell your administrator if it persists."
        ),
    },
    "access_denied": {
        "ja": "このボットを利用する権限がありません。利用を希望する場合は管理者に問い合わせてください。",
        "en": "You are not allowed to use this bot. Please contact your administrator.",
    },
    "no_model": {
        "ja": "利用できるモデルがありません。管理者に問い合わせてください。",
        "en": "No model is available. Please contact your administrator.",
    },
    "model_switched": {
        "ja": "※このスレッドで使っていた「{old}」は利用できなくなったため、「{new}」で回答しています。",
        "en": "Note: “{old}” is no longer available in this thread; “{new}” answered instead.",
    },
    "model_footer": {"ja": "回答モデル: {model}", "en": "Model: {model}"},
    "error_timeout": {
        "ja": "モデルの応答が時間内に返ってきませんでした。少し待ってから、もう一度送ってください。",
        "en": "The model did not answer in time. Please wait a moment and send again.",
    },
    "error_rate_limited": {
        "ja": "モデルが混み合っているため回答できませんでした。1〜2分待ってから、もう一度送ってください。",
        "en": "The model is busy. Please wait a minute or two and send again.",
    },
    "error_server_error": {
        "ja": "モデル側でエラーが起きたため回答できませんでした。しばらくしてから、もう一度送ってください。",
        "en": "The model service had an error. Please try again later.",
    },
    "error_context_too_long": {
        "ja": (
            "スレッドの内容がモデルの上限を超えたため回答できませんでした。"
            "新しいスレッドで、必要な部分だけを送ってください。"
        ),
        "en": "The conversation exceeds the model's limit. Please start a new thread.",
    },
    "error_unknown_model": {
        "ja": "モデル「{model}」が接続先に見つかりません。管理者に設定を確認するよう依頼してください。",
        "en": "Model “{model}” was not found at the endpoint. Please ask your administrator.",
    },
    "error_auth": {
        "ja": "モデルへの接続設定（APIキー）に問題があるため回答できませんでした。管理者に連絡してください。",
        "en": "The model endpoint rejected our credentials. Please contact your administrator.",
    },
    "error_connection": {
        "ja": "モデルに接続できませんでした。しばらくしてから、もう一度送ってください。",
        "en": "Could not reach the model. Please try again later.",
    },
    "error_content_filter": {
        "ja": "モデル側の安全フィルターにより回答が止められました。表現を変えて、もう一度お試しください。",
        "en": "The model's content filter stopped the answer. Please rephrase and try again.",
    },
    "error_stream_cut": {
        "ja": "回答の途中で接続が切れました。上の内容は途中までです。もう一度送ってください。",
        "en": "The connection dropped mid-answer; the text above is incomplete. Please send again.",
    },
    "error_bad_request": {
        "ja": "モデルがこの依頼を受け付けませんでした。内容を変えて、もう一度お試しください。",
        "en": "The model rejected this request. Please rephrase and try again.",
    },
    "error_internal": {
        "ja": "内部エラーのため回答できませんでした。もう一度送ってください。続く場合は管理者に連絡してください。",
        "en": "An internal error occurred. Please send again; contact your administrator if it persists.",
    },
    "truncated": {
        "ja": "※回答が出力の上限に達したため途中で終わっています。「続きを書いて」と送ると続きを出力します。",
        "en": "Note: the answer hit the output limit and stops early. Send “continue” for the rest.",
    },
    "continued": {"ja": "（続き {n}）", "en": "(continued {n})"},
    "dry_run_header": {
        "ja": "--- モデルに送信される内容（送信はしていません）: {model} ---",
        "en": "--- What would be sent to the model (not sent): {model} ---",
    },
}


def message(key: str, lang: str = "ja", **values: object) -> str:
    """Return the message ``key`` in ``lang`` (falling back to Japanese), formatted with ``values``."""
    texts = MESSAGES[key]
    return texts.get(lang, texts["ja"]).format(**values)
