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
    # Oversight (issue 4): feedback on answers and the usage report.
    "feedback_good": {"ja": "👍 役に立った", "en": "👍 Helpful"},
    "feedback_bad": {"ja": "👎 いまひとつ", "en": "👎 Not helpful"},
    "feedback_time_placeholder": {
        "ja": "この回答で節約できた時間",
        "en": "Time this answer saved you",
    },
    "feedback_minutes_0": {"ja": "なし", "en": "None"},
    "feedback_minutes_5": {"ja": "〜5分", "en": "Up to 5 min"},
    "feedback_minutes_15": {"ja": "〜15分", "en": "Up to 15 min"},
    "feedback_minutes_30": {"ja": "〜30分", "en": "Up to 30 min"},
    "feedback_minutes_60": {"ja": "1時間以上", "en": "1 hour or more"},
    "feedback_thanks": {
        "ja": "フィードバックありがとうございます（{given}）。利用状況の改善に役立てます。",
        "en": "Thank you for your feedback ({given}). It helps us improve.",
    },
    "feedback_thanks_partial": {
        "ja": "ありがとうございます（{given}）。",
        "en": "Thank you ({given}).",
    },
    "feedback_saved_time": {"ja": "節約時間: {choice}", "en": "time saved: {choice}"},
    "feedback_not_asker": {
        "ja": "評価は質問した方だけが付けられます。ご自身の質問への回答で評価してください。",
        "en": "Only the person who asked can rate this answer.",
    },
    "feedback_failed": {
        "ja": "評価を記録できませんでした。しばらくしてから、もう一度押してください。",
        "en": "Your feedback could not be saved. Please try again later.",
    },
    "report_title": {
        "ja": "*窓口 利用状況レポート（{kind}）* {period}",
        "en": "*Madoguchi usage report ({kind})* {period}",
    },
    "report_compare": {
        "ja": "（　）内は前の期間（{period}）との比較です。",
        "en": "Figures in parentheses compare with the previous period ({period}).",
    },
    "report_trend": {"ja": "{before} {previous}、{delta}", "en": "{before} {previous}, {delta}"},
    "report_section_use": {"ja": "■ 利用状況", "en": "■ Use"},
    "report_active_users": {
        "ja": "・利用者数: {users}人{share}（{trend}）",
        "en": "• Active users: {users}{share} ({trend})",
    },
    "report_share": {
        "ja": "（職員 {headcount}人の {share}）",
        "en": " ({share} of {headcount} staff)",
    },
    "report_turns": {
        "ja": "・回答数: {turns}件（{trend}）／スレッド数: {threads}件（うち新規 {new}件）",
        "en": "• Answers: {turns} ({trend}); threads: {threads} ({new} new)",
    },
    "report_channels": {"ja": "・利用場所: {items}", "en": "• Where: {items}"},
    "report_templates": {
        "ja": "・テンプレートからの利用: {n}件",
        "en": "• Started from a prompt template: {n}",
    },
    "report_speed": {
        "ja": "・平均応答時間: 表示開始まで {first}秒、回答完了まで {total}秒",
        "en": "• Average response time: {first} s to the first words, {total} s to the end",
    },
    "report_section_effect": {"ja": "■ 効果", "en": "■ Effect"},
    "report_saved_self": {
        "ja": "・節約時間（利用者の申告）: {hours}時間（{n}件の回答で申告、{trend}）",
        "en": "• Time saved (reported by users): {hours} h (on {n} answers; {trend})",
    },
    "report_saved_estimated": {
        "ja": "・節約時間（推計）: {hours}時間（新規スレッド {n}件 × カテゴリ別の目安、{trend}）",
        "en": "• Time saved (estimated): {hours} h ({n} new threads × minutes per category; {trend})",
    },
    "report_satisfaction": {
        "ja": "・満足度: {share}（👍 {up}／👎 {down}、{trend}）",
        "en": "• Satisfaction: {share} (👍 {up} / 👎 {down}; {trend})",
    },
    "report_satisfaction_none": {
        "ja": "・満足度: この期間の評価はありません",
        "en": "• Satisfaction: no ratings in this period",
    },
    "report_section_categories": {
        "ja": "■ カテゴリ別（利用者が{k}人未満の区分は「その他」にまとめています）",
        "en": "■ By category (groups with fewer than {k} users are merged into “Other”)",
    },
    "report_section_departments": {
        "ja": "■ 部署別（利用者が{k}人未満の部署は「その他」にまとめています）",
        "en": "■ By department (groups with fewer than {k} users are merged into “Other”)",
    },
    "report_section_models": {
        "ja": "■ モデル別（利用者が{k}人未満のモデルは「その他」にまとめています）",
        "en": "■ By model (groups with fewer than {k} users are merged into “Other”)",
    },
    "report_group_row": {
        "ja": "・{label}: {turns}件（{users}人）",
        "en": "• {label}: {turns} answers ({users} users)",
    },
    "report_model_row": {
        "ja": "・{label}: {turns}件（{users}人）、入力 {input}／出力 {output} トークン、{cost}",
        "en": "• {label}: {turns} answers ({users} users), {input} in / {output} out tokens, {cost}",
    },
    "report_section_tokens": {"ja": "■ トークンと費用", "en": "■ Tokens and cost"},
    "report_tokens": {
        "ja": "・入力 {input}／出力 {output} トークン、推計費用 {cost}（{trend}）",
        "en": "• {input} input / {output} output tokens, estimated cost {cost} ({trend})",
    },
    "report_tokens_estimated": {
        "ja": "　うち {n}件は接続先が使用量を返さなかったため、手元で数えた推計値です。",
        "en": "  {n} turns were counted locally because the endpoint reported no usage.",
    },
    "report_section_masking": {"ja": "■ 伏せ字と送信停止", "en": "■ Masking and blocking"},
    "report_masked": {"ja": "・伏せ字にした情報: {items}", "en": "• Masked: {items}"},
    "report_blocked": {
        "ja": "・送信を止めたメッセージ: {n}件{items}",
        "en": "• Messages not sent (blocked): {n}{items}",
    },
    "report_section_problems": {"ja": "■ お断り・エラー", "en": "■ Refusals and errors"},
    "report_refused": {"ja": "・お断り: {n}件{items}", "en": "• Refused: {n}{items}"},
    "report_errors": {"ja": "・エラー: {n}件{items}", "en": "• Errors: {n}{items}"},
    "report_none": {"ja": "なし", "en": "none"},
    "report_key_rotated": {
        "ja": (
            "※ この期間に利用記録の仮名の鍵が切り替わったため、同じ人が2人として数えられている"
            "可能性があります。"
        ),
        "en": (
            "Note: the pseudonym key changed during this period, so one person may be counted "
            "twice."
        ),
    },
    "report_no_data": {
        "ja": "この期間の利用記録はありません。",
        "en": "There are no usage records for this period.",
    },
    # Running at scale (issue 7): shutdown, concurrency, OAuth installation pages.
    "interrupted": {
        "ja": (
            "サーバーの再起動・停止のため、この回答は途中で終了しました。"
            "お手数ですが、もう一度送ってください。"
        ),
        "en": "The server restarted, so this answer was stopped. Please send your message again.",
    },
    "too_many_concurrent": {
        "ja": (
            "同時に処理できる質問は1人{limit}件までです。"
            "回答中の質問が終わってから、もう一度送ってください。"
        ),
        "en": (
            "You can have at most {limit} questions in progress at once. "
            "Please send this again when an answer has finished."
        ),
    },
    "oauth_installed": {
        "ja": (
            "窓口 Madoguchi を「{team}」にインストールしました。Slack に戻り、"
            "ボットに DM を送るか、チャンネルで @madoguchi とメンションして使い始めてください。"
        ),
        "en": (
            "Madoguchi is now installed in “{team}”. Go back to Slack and send the bot a direct "
            "message, or mention @madoguchi in a channel."
        ),
    },
    "oauth_failed": {
        "ja": (
            "インストールを完了できませんでした（理由: {reason}）。"
            "もう一度 {install_path} から始めてください。続く場合は管理者に連絡してください。"
        ),
        "en": (
            "The installation could not be completed (reason: {reason}). Please start again "
            "from {install_path}; contact your administrator if it persists."
        ),
    },
    # --- weekly digest (issue 6) -------------------------------------------------------------
    "digest_date": {"ja": "{month}月{day}日", "en": "{month}/{day}"},
    "digest_title": {
        "ja": "📮 窓口 週刊ダイジェスト {year}年{date}号",
        "en": "📮 Madoguchi weekly digest, {date}/{year}",
    },
    "digest_tip_heading": {"ja": "💡 今週のヒント: {title}", "en": "💡 Tip of the week: {title}"},
    "digest_example": {"ja": "例（そのまま試せます）:", "en": "Example (try it as is):"},
    "digest_try_tip": {"ja": "この例を試す", "en": "Try this example"},
    "digest_featured_heading": {
        "ja": "⭐ おすすめプロンプト: {title}",
        "en": "⭐ Featured prompt: {title}",
    },
    "digest_use_template": {"ja": "このプロンプトを使う", "en": "Use this prompt"},
    "digest_open_library": {"ja": "プロンプト集を見る", "en": "Browse the prompt library"},
    "digest_figures_heading": {
        "ja": "📊 先週の活用状況（{start}〜{end}）",
        "en": "📊 Last week ({start}–{end})",
    },
    "digest_figures_missing": {
        "ja": "集計できるデータがまだありません。",
        "en": "No figures yet.",
    },
    "digest_figures_none": {
        "ja": "先週の利用はありませんでした。今週はぜひ試してみてください。",
        "en": "Nobody used the bot last week. Give it a try this week!",
    },
    "digest_figures_hidden": {
        "ja": "先週の利用者が{k}人未満だったため、個人が特定されないよう数値は表示しません。",
        "en": "Fewer than {k} people used the bot last week; figures are withheld so that nobody can be identified.",
    },
    "digest_users": {"ja": "利用した職員: *{n:,}人*", "en": "Staff who used it: *{n:,}*"},
    "digest_share": {"ja": "（職員の{pct}%）", "en": " ({pct}% of staff)"},
    "digest_change": {"ja": "　前週比 {change}", "en": "  (vs. previous week {change})"},
    "unit_people": {"ja": "人", "en": ""},
    "unit_times": {"ja": "回", "en": ""},
    "unit_hours": {"ja": "時間", "en": " h"},
    "unit_points": {"ja": "ポイント", "en": " pts"},
    "digest_turns": {
        "ja": "利用回数: *{n:,}回*（スレッド {threads:,}件）",
        "en": "Answers: *{n:,}* ({threads:,} threads)",
    },
    "digest_top_categories": {"ja": "よく使われた用途: {names}", "en": "Top uses: {names}"},
    "digest_category": {"ja": "{label} {n:,}回", "en": "{label} {n:,}"},
    "digest_hours": {
        "ja": "節約できた時間: 推計 *約{estimated}時間*（うち職員の自己申告 {self_reported}時間）",
        "en": "Time saved: *about {estimated} h* estimated ({self_reported} h reported by staff)",
    },
    "digest_satisfaction": {
        "ja": "満足度: 👍 *{pct}%*（評価 {n:,}件）",
        "en": "Satisfaction: 👍 *{pct}%* ({n:,} ratings)",
    },
    "digest_satisfaction_none": {
        "ja": "満足度: 評価はまだありません（回答の下の 👍/👎 で教えてください）",
        "en": "Satisfaction: no ratings yet (use 👍/👎 under an answer)",
    },
    "digest_effect_clicks": {
        "ja": "📬 前回（{date}号）のダイジェスト: ボタンのクリック {clicks:,}回（{people:,}人）",
        "en": "📬 Last digest ({date}): {clicks:,} button clicks ({people:,} people)",
    },
    "digest_effect_featured": {
        "ja": "、おすすめプロンプト「{title}」の利用 {n:,}回",
        "en": ", featured prompt “{title}” used {n:,} times",
    },
    "digest_guideline": {
        "ja": (
            "✅ *回答は必ず確認しましょう。* AIの回答には誤りが含まれることがあります。"
            "数字・固有名詞・日付は原典で確かめてから使ってください。個人情報は自動で伏せ字に"
            "してから送信しますが、機密情報は入力しないでください。"
        ),
        "en": (
            "✅ *Always check the answer.* AI answers can be wrong: verify numbers, names and "
            "dates against the source. Personal data is masked automatically, but never enter "
            "confidential information."
        ),
    },
    "digest_newcomers": {
        "ja": (
            "*🔰 はじめての方へ*\n「*まずは対話を始めてみる*」「*1回で100点を狙わない*」——"
            "当別町で職員の利用を広げた合言葉です。ボットにDMで話しかけるか、チャンネルで "
            "@madoguchi とメンションして、気軽に試してみてください。"
        ),
        "en": (
            "*🔰 New here?*\n“*Just start a conversation*” and “*don't aim for 100 points in one "
            "go*” — the two phrases that got Tōbetsu's staff using AI. Send the bot a direct "
            "message or mention @madoguchi in a channel."
        ),
    },
    "digest_tip_started": {
        "ja": "この例をボットとのDMで試しています。DMを開いて回答を確認してください。",
        "en": "Trying this example in your direct messages with the bot: open them to see the answer.",
    },
    "digest_tip_thread": {
        "ja": "💡 今週のヒント「{title}」の例を試します",
        "en": "💡 Trying the example of “{title}”",
    },
    "digest_admin_channel_usage": {
        "ja": "投稿先のチャンネルを指定してください（例: `/madoguchi-admin digest channel #お知らせ`）。",
        "en": "Name the channel (e.g. `/madoguchi-admin digest channel #general`).",
    },
    "digest_admin_channels_set": {
        "ja": (
            "週刊ダイジェストの投稿先を {channels} にしました。ボットをそのチャンネルに招待して"
            "おいてください。今週分がまだで予定の日時を過ぎている場合は、まもなく投稿されます。"
        ),
        "en": (
            "The weekly digest now goes to {channels}. Invite the bot to the channel. If this "
            "week's digest is due and not yet posted there, it follows shortly."
        ),
    },
    "digest_admin_schedule_set": {
        "ja": "週刊ダイジェストの投稿日時を「{schedule}」（{tz}）にしました。",
        "en": "The weekly digest is now posted {schedule} ({tz}).",
    },
    "digest_admin_off": {
        "ja": "週刊ダイジェストを停止しました。再開するには `/madoguchi-admin digest on` を実行してください。",
        "en": "The weekly digest is off. Run `/madoguchi-admin digest on` to resume it.",
    },
    "digest_admin_on": {"ja": "週刊ダイジェストを再開しました。", "en": "The weekly digest is on again."},
    "digest_admin_pick_set": {
        "ja": "次回のおすすめプロンプトを「{title}」にしました。",
        "en": "The next digest will feature “{title}”.",
    },
    "digest_admin_status": {
        "ja": (
            "*週刊ダイジェスト: {state}*\n• 投稿先: {channels}\n• 日時: {schedule}（{tz}）\n"
            "設定: `digest channel #ch` / `digest schedule \"mon 09:00\"` / `digest off` / "
            "`digest on` / `digest pick テンプレートID` / `digest preview`"
        ),
        "en": (
            "*Weekly digest: {state}*\n• Channels: {channels}\n• When: {schedule} ({tz})\n"
            "Settings: `digest channel #ch` / `digest schedule \"mon 09:00\"` / `digest off` / "
            "`digest on` / `digest pick TEMPLATE-ID` / `digest preview`"
        ),
    },
    "digest_state_on": {"ja": "配信中", "en": "on"},
    "digest_state_off": {"ja": "停止中", "en": "off"},
    "digest_no_channels": {"ja": "未設定", "en": "not set"},
    # --- prompt library (issue 6) -------------------------------------------------------------
    "command_help_prompts": {
        "ja": "プロンプト集の一覧・検索（例: `prompts 議事録`）。`prompts 投稿` でテンプレートを投稿",
        "en": "List or search the prompt library (e.g. `prompts minutes`); `prompts submit` to add one",
    },
    "command_help_tip": {
        "ja": "活用のヒントを投稿（管理者の承認後、週刊ダイジェストで紹介されます）",
        "en": "Submit a tip (shown in the weekly digest once an admin approves it)",
    },
    "command_help_admin_prompts": {
        "ja": "投稿されたテンプレート・ヒントを承認／却下",
        "en": "Approve or reject submitted templates and tips",
    },
    "command_help_admin_digest": {
        "ja": "週刊ダイジェスト: `channel #ch` / `schedule \"mon 09:00\"` / `off` / `on` / `pick ID` / `preview`",
        "en": "Weekly digest: `channel #ch` / `schedule \"mon 09:00\"` / `off` / `on` / `pick ID` / `preview`",
    },
    "library_title": {"ja": "プロンプト集", "en": "Prompt library"},
    "library_heading": {
        "ja": "*📚 プロンプト集*（全{n}件・よく使われている順）",
        "en": "*📚 Prompt library* ({n} templates, most used first)",
    },
    "library_search_heading": {
        "ja": "*📚 プロンプト集*「{query}」の検索結果: {n}件",
        "en": "*📚 Prompt library*: {n} results for “{query}”",
    },
    "library_no_match": {
        "ja": (
            "一致するテンプレートはありませんでした。別の言葉（例: あいさつ、議事録、Excel）で"
            "探すか、`/madoguchi prompts` で一覧を見てください。"
        ),
        "en": "No template matches. Try other words, or `/madoguchi prompts` for the full list.",
    },
    "library_more": {
        "ja": "ほかに{n}件あります。検索語で絞り込んでください（例: `/madoguchi prompts メール`）。",
        "en": "{n} more; narrow the list with a search word (e.g. `/madoguchi prompts email`).",
    },
    "library_use_button": {"ja": "使う", "en": "Use"},
    "library_uses": {"ja": "利用 {n:,}回", "en": "used {n:,} times"},
    "library_rating": {"ja": "👍 {pct}%", "en": "👍 {pct}%"},
    "library_staff_made": {"ja": "職員の投稿", "en": "by staff"},
    "library_submit_button": {"ja": "テンプレートを投稿", "en": "Submit a template"},
    "library_not_found": {
        "ja": "そのテンプレート（またはヒント）は見つかりませんでした。",
        "en": "That template (or tip) was not found.",
    },
    "library_modal_note": {
        "ja": "入力した内容は、個人情報を自動で伏せ字にしてからAIに送られます。回答はボットとのDMに届きます。",
        "en": "What you enter is sent to the AI with personal data masked. The answer arrives in your DM with the bot.",
    },
    "library_modal_submit": {"ja": "AIに送る", "en": "Send"},
    "library_modal_close": {"ja": "キャンセル", "en": "Cancel"},
    "library_modal_ok": {"ja": "閉じる", "en": "Close"},
    "library_run_header": {
        "ja": "📝 プロンプト集「{title}」で依頼しました",
        "en": "📝 Request from the prompt library: “{title}”",
    },
    "library_run_note": {
        "ja": "このスレッドに返信すると続けてやり取りできます。回答は必ず確認してから使ってください。",
        "en": "Reply in this thread to continue. Always check the answer before using it.",
    },
    "library_submit_title": {"ja": "テンプレートを投稿", "en": "Submit a template"},
    "tip_submit_title": {"ja": "ヒントを投稿", "en": "Submit a tip"},
    "library_submit_submit": {"ja": "投稿する", "en": "Submit"},
    "library_submit_note": {
        "ja": (
            "投稿は管理者が確認してから、プロンプト集・週刊ダイジェストで全職員に公開されます。"
            "個人情報や機密情報は書かないでください。"
        ),
        "en": (
            "An admin reviews each submission before it is shared with all staff in the library "
            "and the weekly digest. Do not include personal or confidential information."
        ),
    },
    "library_field_title": {"ja": "題名", "en": "Title"},
    "library_field_category": {"ja": "用途", "en": "Use"},
    "library_field_description": {"ja": "説明（どんなときに使うか）", "en": "Description (when to use it)"},
    "library_field_body": {
        "ja": "本文（入力してもらう箇所は {{{{宛先}}}} のように書く）",
        "en": "Body (write the parts to fill in as {{{{recipient}}}})",
    },
    "library_field_body_placeholder": {
        "ja": "例: あなたは市役所の職員です。{{{{宛先}}}}に送る、{{{{内容}}}}についての依頼メールを作成してください。",
        "en": "e.g. You are a city official. Write an email to {{{{recipient}}}} asking about {{{{topic}}}}.",
    },
    "tip_field_body": {
        "ja": "説明（どうすると、なぜうまくいくか）",
        "en": "Explanation (what to do and why it works)",
    },
    "tip_field_example": {
        "ja": "プロンプトの例（そのまま試せる文）",
        "en": "Example prompt (ready to try)",
    },
    "library_submitted": {
        "ja": "投稿ありがとうございます。管理者が確認した後に公開されます。",
        "en": "Thank you! Your submission is published once an admin approves it.",
    },
    "library_new_submission": {
        "ja": "📮 新しい投稿が届きました。内容を確認して、承認または却下してください。",
        "en": "📮 A new submission arrived. Please review it and approve or reject it.",
    },
    "library_pending_heading": {
        "ja": "*承認待ちの投稿: {n}件*",
        "en": "*Submissions awaiting review: {n}*",
    },
    "library_pending_none": {"ja": "承認待ちの投稿はありません。", "en": "Nothing awaits review."},
    "library_kind_template": {"ja": "テンプレート", "en": "Template"},
    "library_kind_tip": {"ja": "ヒント", "en": "Tip"},
    "library_approve": {"ja": "承認", "en": "Approve"},
    "library_reject": {"ja": "却下", "en": "Reject"},
    "library_approved": {
        "ja": "「{title}」を承認し、公開しました。",
        "en": "“{title}” is approved and published.",
    },
    "library_rejected": {"ja": "「{title}」を却下しました。", "en": "“{title}” was rejected."},
    "library_already_decided": {
        "ja": "この投稿はすでに承認または却下されています。",
        "en": "This submission has already been decided.",
    },
    "library_admin_only": {
        "ja": "この操作は管理者のみ実行できます。",
        "en": "Only administrators can do this.",
    },
    # --- admin controls, staff commands, consent, tiers, quotas (issue 5) -------------------
    "admin_only": {
        "ja": "この操作は管理者のみ実行できます。",
        "en": "Only administrators can do this.",
    },
    "unknown_subcommand": {
        "ja": "「{name}」というコマンドはありません。使えるコマンドは次のとおりです。",
        "en": "There is no command “{name}”. These are available:",
    },
    "list_more": {"ja": "…ほか{n}件", "en": "…and {n} more"},
    "flag_default": {"ja": "既定", "en": "default"},
    "flag_disabled": {"ja": "無効", "en": "off"},
    "flag_on": {"ja": "オン", "en": "on"},
    "flag_off": {"ja": "なし", "en": "off"},
    "admin_invalid_value": {
        "ja": "設定値が正しくないため変更しませんでした（{detail}）。",
        "en": "The value is invalid, nothing was changed ({detail}).",
    },
    "admin_help_header": {
        "ja": "*窓口 管理者コマンド* `/madoguchi-admin …`（結果はあなたにだけ表示されます）",
        "en": "*Madoguchi admin commands* `/madoguchi-admin …` (only you see the results)",
    },
    "admin_models_header": {
        "ja": "*モデル一覧*（新しいスレッドの既定: `{default}`）",
        "en": "*Models* (default for new threads: `{default}`)",
    },
    "admin_models_line": {
        "ja": "{mark} `{id}` {name} — 機密性区分{tier}まで{flags}",
        "en": "{mark} `{id}` {name} — up to tier {tier}{flags}",
    },
    "admin_models_channel_line": {
        "ja": "チャンネル指定: <#{channel}> → {models}",
        "en": "Channel list: <#{channel}> → {models}",
    },
    "admin_models_usage": {
        "ja": (
            "使い方: `models enable ID` · `models disable ID` · `models default ID` · "
            "`models channel #チャンネル ID…`（`clear` で解除）"
        ),
        "en": (
            "Usage: `models enable ID` · `models disable ID` · `models default ID` · "
            "`models channel #channel ID…` (`clear` to lift)"
        ),
    },
    "admin_model_enabled": {
        "ja": "`{model}` を有効にしました。数秒以内にすべてのサーバで使えるようになります。",
        "en": "`{model}` is on; every instance picks it up within seconds.",
    },
    "admin_model_disabled_done": {
        "ja": (
            "`{model}` を無効にしました。数秒以内にすべてのサーバで呼び出されなくなり、"
            "このモデルを使っていたスレッドは既定のモデルで続きます（1行の注記付き）。"
        ),
        "en": (
            "`{model}` is off: within seconds no instance calls it; its threads continue on the "
            "default model with a one-line notice."
        ),
    },
    "admin_model_default_done": {
        "ja": "新しいスレッドの既定のモデルを `{model}` にしました。",
        "en": "New threads now use `{model}` by default.",
    },
    "admin_model_is_default": {
        "ja": "`{model}` は既定のモデルなので無効にできません。先に `models default 別のID` で既定を変えてください。",
        "en": "`{model}` is the default model; choose another default first (`models default ID`).",
    },
    "admin_model_disabled": {
        "ja": "`{model}` は無効になっています。先に `models enable {model}` で有効にしてください。",
        "en": "`{model}` is off; switch it on first (`models enable {model}`).",
    },
    "admin_unknown_model": {
        "ja": "`{model}` というモデルはカタログにありません。使える ID: {known}",
        "en": "There is no model `{model}` in the catalog. Known ids: {known}",
    },
    "admin_channel_expected": {
        "ja": "チャンネルは `#チャンネル名` の形で（入力候補から選んで）指定してください。",
        "en": "Name the channel as `#channel` (pick it from the suggestions).",
    },
    "admin_group_expected": {
        "ja": "部署はユーザーグループ `@グループ名` の形で（入力候補から選んで）指定してください。",
        "en": "Name the department as a user group `@group` (pick it from the suggestions).",
    },
    "admin_channel_models_done": {
        "ja": "<#{channel}> で使えるモデルを {models} に限定しました（先頭がこのチャンネルの既定）。",
        "en": "<#{channel}> may now use only {models} (the first is its default).",
    },
    "admin_channel_models_cleared": {
        "ja": "<#{channel}> のモデル指定を解除しました。",
        "en": "<#{channel}> no longer has its own model list.",
    },
    "policy_all_models": {"ja": "全モデル共通", "en": "all models"},
    "admin_policy_header": {
        "ja": "*伏せ字ポリシー*（{scope}）🔒 伏せ字 ⛔ 送信しない ✅ そのまま送る",
        "en": "*Masking policy* ({scope}) 🔒 mask ⛔ block ✅ allow",
    },
    "admin_policy_model_line": {
        "ja": "モデル別の設定: `{model}` {actions}",
        "en": "Per model: `{model}` {actions}",
    },
    "admin_policy_usage": {
        "ja": "使い方: `policy 種別 mask|block|allow [model ID]` · `policy reset [model ID]` · `policy model ID`",
        "en": "Usage: `policy TYPE mask|block|allow [model ID]` · `policy reset [model ID]` · `policy model ID`",
    },
    "admin_policy_set_done": {
        "ja": "`{entity}` を *{action}* にしました（{scope}）。数秒以内にすべてのサーバで有効になります。",
        "en": "`{entity}` is now *{action}* ({scope}); every instance applies it within seconds.",
    },
    "admin_policy_reset_done": {
        "ja": "管理者による伏せ字ポリシーの変更を取り消し、既定の設定に戻しました。",
        "en": "The admins' masking overrides were removed; the shipped policy applies.",
    },
    "admin_unknown_entity": {
        "ja": "`{entity}` という種別はありません。使える種別: {known}",
        "en": "There is no type `{entity}`. Known types: {known}",
    },
    "admin_unknown_action": {
        "ja": "`{action}` は指定できません。`mask`（伏せ字）・`block`（送信しない）・`allow`（そのまま送る。登録語には不可）から選んでください。",
        "en": "`{action}` is not an action: use `mask`, `block` or `allow` (not for custom terms).",
    },
    "admin_terms_usage": {
        "ja": "使い方: `terms add 語 [mask|block]` · `terms remove 語` · `terms list`（空白を含む語は「」で囲む）",
        "en": "Usage: `terms add TERM [mask|block]` · `terms remove TERM` · `terms list` (quote terms with spaces)",
    },
    "admin_terms_header": {
        "ja": "*登録語*（{n}件。全角・半角、カタカナ・ひらがなの違いも同じ語として扱います）",
        "en": "*Custom terms* ({n}; width and kana variants match too)",
    },
    "admin_terms_empty": {"ja": "登録語はありません。", "en": "There are no custom terms."},
    "admin_term_added": {
        "ja": "「{term}」を登録しました（{action}）。数秒以内にすべてのサーバで有効になります。",
        "en": "“{term}” was added ({action}); every instance applies it within seconds.",
    },
    "admin_term_updated": {
        "ja": "登録済みの「{term}」の扱いを {action} に変えました。",
        "en": "“{term}” was already listed; it is now {action}.",
    },
    "admin_term_removed": {"ja": "「{term}」を削除しました。", "en": "“{term}” was removed."},
    "admin_term_not_found": {
        "ja": "その語は登録されていません（`terms list` で確認できます）。",
        "en": "That term is not listed (see `terms list`).",
    },
    "admin_term_invalid": {
        "ja": "登録する語は1〜{limit}文字で指定してください。",
        "en": "A term must be 1–{limit} characters.",
    },
    "admin_terms_full": {
        "ja": "登録語が上限（{limit}件）に達しています。不要な語を削除してから登録してください。",
        "en": "The term list is full ({limit}); remove some first.",
    },
    "admin_access_usage": {
        "ja": "使い方: `access everyone`（全員）· `access only @グループ… #チャンネル…`（指定したグループのメンバーと、指定したチャンネルでのみ利用可。管理者は常に利用可）",
        "en": "Usage: `access everyone` · `access only @group… #channel…` (members of those groups, and anyone in those channels; admins always)",
    },
    "admin_access_show_everyone": {
        "ja": "*利用できる人*: ワークスペースの全員",
        "en": "*Who may use it*: everyone in the workspace",
    },
    "admin_access_show_only": {
        "ja": "*利用できる人*: グループ {groups} のメンバー、チャンネル {channels} での利用、管理者",
        "en": "*Who may use it*: members of {groups}, anyone in {channels}, admins",
    },
    "admin_access_everyone_done": {
        "ja": "全員が利用できるようにしました。",
        "en": "Everyone may use the bot now.",
    },
    "admin_access_only_done": {
        "ja": "利用できる人を限定しました。",
        "en": "Access is now restricted.",
    },
    "admin_access_empty": {
        "ja": "限定するときは、ユーザーグループかチャンネルを1つ以上指定してください。",
        "en": "Name at least one user group or channel.",
    },
    "admin_access_bad_word": {
        "ja": "「{word}」はユーザーグループでもチャンネルでもありません。入力候補から選んでください。",
        "en": "“{word}” is neither a user group nor a channel; pick from the suggestions.",
    },
    "admin_consent_show": {
        "ja": "*利用前の同意*: {state}（ガイドライン 第{version}版）",
        "en": "*Consent before use*: {state} (guideline version {version})",
    },
    "admin_consent_usage": {
        "ja": "使い方: `consent on|off` · `consent text 本文`（新しい版になり、全員に再度同意を求めます。改行は \\n）· `consent renew`（本文はそのままで全員に再同意）",
        "en": "Usage: `consent on|off` · `consent text TEXT` (a new version; everyone is asked again; \\n for a line break) · `consent renew`",
    },
    "admin_consent_text_empty": {
        "ja": "ガイドラインの本文を指定してください。",
        "en": "Please give the guideline text.",
    },
    "admin_quota_header": {"ja": "*利用上限*", "en": "*Budgets*"},
    "admin_quota_user_line": {
        "ja": "• 1人1日: {tokens} / {cost}",
        "en": "• Per user per day: {tokens} / {cost}",
    },
    "admin_quota_dept_line": {
        "ja": "• {department}（1か月）: {tokens} / {cost}",
        "en": "• {department} (per month): {tokens} / {cost}",
    },
    "admin_quota_economy_line": {
        "ja": "• 上限を超えたときのエコノミーモデル: {model}",
        "en": "• Economy model over budget: {model}",
    },
    "admin_quota_month_line": {
        "ja": "• 今月の利用（ワークスペース全体）: {tokens} / {cost}",
        "en": "• This month (whole workspace): {tokens} / {cost}",
    },
    "admin_quota_usage": {
        "ja": "使い方: `quota user tokens|cost 数値|off` · `quota dept @グループ tokens|cost 数値|off` · `quota economy ID|off`",
        "en": "Usage: `quota user tokens|cost N|off` · `quota dept @group tokens|cost N|off` · `quota economy ID|off`",
    },
    "admin_quota_done": {
        "ja": "利用上限を変更しました。数秒以内にすべてのサーバで有効になります。",
        "en": "Budgets changed; every instance applies them within seconds.",
    },
    "admin_quota_invalid": {
        "ja": "上限は正の数で指定してください（解除は `off`）。",
        "en": "A budget must be a positive number (`off` to lift it).",
    },
    "admin_audit_usage": {"ja": "使い方: `audit [件数]`", "en": "Usage: `audit [n]`"},
    "admin_audit_empty": {"ja": "記録はまだありません。", "en": "Nothing recorded yet."},
    "admin_audit_header": {
        "ja": "*変更の記録*（新しい順に{n}件。時刻は日本時間）",
        "en": "*Audit log* (newest {n}, Japan time)",
    },
    "audit_non_admin": {"ja": "管理者以外（仮名 {p}）", "en": "non-admin (pseudonym {p})"},
    "audit_denied": {"ja": "拒否", "en": "refused"},
    "admin_report_usage": {"ja": "使い方: `report [week|month]`", "en": "Usage: `report [week|month]`"},
    "admin_report_unavailable": {
        "ja": "利用状況レポートはまだ利用できません（この版には含まれていません）。",
        "en": "The usage report is not available yet in this version.",
    },
    "admin_report_working": {
        "ja": "レポートを作成しています。できあがったら DM に送ります。",
        "en": "Building the report; it will arrive in your DM.",
    },
    "admin_report_sent": {
        "ja": "レポートを DM に送りました。",
        "en": "The report was sent to your DM.",
    },
    "admin_report_failed": {
        "ja": "レポートを作成・送信できませんでした。しばらくしてからもう一度お試しください。",
        "en": "The report could not be built or sent. Please try again later.",
    },
    "consent_default_guideline": {
        "ja": (
            "• 個人情報（氏名・住所・電話番号・マイナンバーなど）を入力しない\n"
            "• 回答は必ず確認する（誤りを含むことがあります）\n"
            "• 著作権に注意する（回答をそのまま公開しない）\n"
            "• 機密性区分2以上の情報は、許可されたモデルでのみ扱う"
        ),
        "en": (
            "• Do not enter personal data (names, addresses, phone numbers, My Number…)\n"
            "• Always check the answers (they can be wrong)\n"
            "• Mind copyright (do not publish answers as they are)\n"
            "• Handle tier 2+ information only with the models allowed for it"
        ),
    },
    "consent_prompt": {
        "ja": (
            "*生成AIの利用ガイドライン（第{version}版）*\n{guideline}\n\n"
            "内容を確認し、「同意して利用する」を押してください。同意するまで、メッセージは"
            "生成AIに送信されません。"
        ),
        "en": (
            "*Guideline for using generative AI (version {version})*\n{guideline}\n\n"
            "Please read it and press “Agree and use”. Nothing is sent to the AI until you do."
        ),
    },
    "consent_button": {"ja": "同意して利用する", "en": "Agree and use"},
    "consent_accepted": {
        "ja": (
            "同意を記録しました。あらためて質問を送ってください"
            "（チャンネルでは @madoguchi へのメンションを付けてください）。"
        ),
        "en": "Thank you, your consent is recorded. Please send your question again.",
    },
    "consent_outdated": {
        "ja": "ガイドラインが更新されています。最新の版を確認して、もう一度同意してください。",
        "en": "The guideline has changed; please read the new version and agree again.",
    },
    "tier_no_model": {
        "ja": (
            "このスレッドは機密性区分{tier}として扱われていますが、区分{tier}の情報を送信してよい"
            "モデルが許可されていないため、送信しませんでした。区分が正しいか確認し、"
            "必要なら管理者に問い合わせてください。"
        ),
        "en": (
            "This thread is treated as confidentiality tier {tier}, and no allowed model may "
            "receive tier {tier} information, so nothing was sent. Check the tier or ask your "
            "administrator."
        ),
    },
    "tier_note": {
        "ja": "機密性区分{tier}のスレッドとして、区分{tier}を扱えるモデルで回答しています。",
        "en": "Handled as a tier {tier} thread, by a model allowed for tier {tier}.",
    },
    "model_pick_unavailable": {
        "ja": "※選んでいた「{old}」はここでは使えないため、「{new}」で回答しています。",
        "en": "Note: your choice “{old}” is not available here; “{new}” answered instead.",
    },
    "quota_whose_user": {"ja": "本日のあなたの利用上限", "en": "your daily budget"},
    "quota_whose_department": {
        "ja": "{department}の今月の利用上限",
        "en": "the monthly budget of {department}",
    },
    "quota_tokens": {"ja": "{n}トークン", "en": "{n} tokens"},
    "quota_yen": {"ja": "{n}円", "en": "¥{n}"},
    "quota_reset_at": {"ja": "{month}月{day}日 0:00", "en": "{date}, 00:00"},
    "quota_exceeded": {
        "ja": (
            "{whose}（{limit}）に達したため、送信しませんでした。{reset}（日本時間）に"
            "リセットされます。急ぎの場合は管理者に相談してください。"
        ),
        "en": (
            "You have reached {whose} ({limit}), so nothing was sent. It resets at {reset} "
            "(Japan time). Ask your administrator if it is urgent."
        ),
    },
    "quota_economy": {
        "ja": "※{whose}（{limit}）に達したため、エコノミーモデル「{model}」で回答しています（{reset}にリセット）。",
        "en": "Note: {whose} ({limit}) is used up; the economy model “{model}” answered (resets at {reset}).",
    },
    "quota_warning": {
        "ja": "※{whose}の{percent}%を使いました（残り約{left}、{reset}にリセット）。",
        "en": "Note: {percent}% of {whose} is used ({left} left, resets at {reset}).",
    },
    "staff_help_header": {
        "ja": (
            "*窓口 Madoguchi の使い方*\n"
            "DM で話しかけるか、チャンネルで @madoguchi とメンションしてください。"
            "1つのスレッドが1つの会話です。個人情報は自動で伏せ字にしてから送信します。"
        ),
        "en": (
            "*How to use Madoguchi*\n"
            "Write to the bot in a DM or mention @madoguchi in a channel. One thread is one "
            "conversation. Personal data is masked before anything is sent."
        ),
    },
    "staff_help_models": {
        "ja": "ここで使えるモデル: {models}（機密性区分{tier}）",
        "en": "Models you can use here: {models} (tier {tier})",
    },
    "staff_budget_line": {
        "ja": "• {whose}: {used} / {limit} 使用（残り {left}、{reset}にリセット）",
        "en": "• {whose}: {used} of {limit} used ({left} left, resets at {reset})",
    },
    "staff_help_admin_hint": {
        "ja": "管理者メニュー: `/madoguchi-admin help`",
        "en": "Admin menu: `/madoguchi-admin help`",
    },
    "staff_model_list": {
        "ja": "ここでの回答モデル: *{current}*（機密性区分{tier}）。使うモデルを選んでください。",
        "en": "Model here: *{current}* (tier {tier}). Pick the model to use:",
    },
    "staff_model_auto": {"ja": "既定に戻す", "en": "Back to default"},
    "staff_model_picked": {
        "ja": "ここでのあなたのメッセージには「{model}」が回答します。",
        "en": "“{model}” will answer your messages here.",
    },
    "staff_model_cleared": {
        "ja": "モデルの選択を解除しました。既定のモデルが回答します。",
        "en": "Your choice was cleared; the default model answers.",
    },
    "staff_model_not_allowed": {
        "ja": "「{model}」はここでは使えません。使えるモデル: {allowed}",
        "en": "“{model}” is not available here. Available: {allowed}",
    },
    "staff_tier_show": {
        "ja": (
            "ここでのあなたのスレッドの機密性区分: *{tier}*\n"
            "1 = 公開できる情報　2 = 庁内限りの情報　3 = 機密情報（扱えるモデルだけが回答します）"
        ),
        "en": (
            "Confidentiality tier of your threads here: *{tier}*\n"
            "1 = publishable, 2 = internal, 3 = restricted (only models allowed for it answer)"
        ),
    },
    "staff_tier_button": {"ja": "区分{tier}", "en": "Tier {tier}"},
    "staff_tier_set": {
        "ja": "ここでのあなたのスレッドを機密性区分{tier}として扱います（一度上げたスレッドの区分は下がりません）。",
        "en": "Your threads here are now tier {tier} (a thread's tier never goes down).",
    },
    "staff_tier_models": {
        "ja": "回答できるモデル: {models}",
        "en": "Models that may answer: {models}",
    },
    "staff_tier_invalid": {
        "ja": "機密性区分は 1・2・3 のいずれかで指定してください。",
        "en": "The tier must be 1, 2 or 3.",
    },
    "staff_forget_done": {
        "ja": "ここでのあなたの会話{n}件の履歴と伏せ字対応表を削除しました。",
        "en": "Deleted the history and placeholder vault of {n} of your conversations here.",
    },
    "staff_forget_none": {
        "ja": "ここに削除できるあなたの会話はありません。",
        "en": "You have no conversations here to delete.",
    },
    "home_title": {"ja": "窓口 Madoguchi", "en": "Madoguchi"},
    "home_how_to": {
        "ja": (
            "*使い方*\n• この画面の「メッセージ」タブ（DM）で話しかけるか、チャンネルで "
            "@madoguchi とメンションします。\n• 1つのスレッドが1つの会話です。新しい話題は新しい"
            "スレッドで。\n• 個人情報は自動で伏せ字（<人名1> など）にしてから送信し、回答では元に"
            "戻して表示します。\n• `/madoguchi model` でモデルを選ぶ · `/madoguchi tier 2` で機密性"
            "区分を宣言 · `/madoguchi forget` で履歴を削除 · `/madoguchi help`"
        ),
        "en": (
            "*How to use*\n• Write in the Messages tab (DM) or mention @madoguchi in a channel.\n"
            "• One thread is one conversation.\n• Personal data is masked (<人名1>…) before "
            "sending and restored in the answer.\n• `/madoguchi model` · `/madoguchi tier 2` · "
            "`/madoguchi forget` · `/madoguchi help`"
        ),
    },
    "home_models": {"ja": "*使えるモデル*", "en": "*Models you can use*"},
    "home_models_tier": {
        "ja": "• 機密性区分{tier}: {models}",
        "en": "• Tier {tier}: {models}",
    },
    "home_guideline": {"ja": "*利用ガイドライン*", "en": "*Guideline*"},
    "home_consented": {
        "ja": "✅ 最新のガイドラインに同意済みです。",
        "en": "✅ You agreed to the current guideline.",
    },
    "home_consent_needed": {
        "ja": "最初の質問のときに、ガイドラインへの同意をお願いします。",
        "en": "You will be asked to agree to the guideline with your first question.",
    },
    "home_budget": {"ja": "*あなたの利用上限*", "en": "*Your budgets*"},
    "home_admin_title": {"ja": "管理者メニュー", "en": "Admin"},
    "home_admin_models": {
        "ja": "*モデル*（ボタンで有効・無効と既定を切り替え。数秒で全サーバに反映）",
        "en": "*Models* (switch them here; every instance follows within seconds)",
    },
    "home_enable": {"ja": "有効にする", "en": "Switch on"},
    "home_disable": {"ja": "無効にする", "en": "Switch off"},
    "home_make_default": {"ja": "既定にする", "en": "Make default"},
    "home_admin_policy": {
        "ja": "*伏せ字ポリシー*: {actions}（ほかは伏せ字）\nモデル別: {overrides}\n登録語: {terms}件",
        "en": "*Masking policy*: {actions} (the rest masked)\nPer model: {overrides}\nCustom terms: {terms}",
    },
    "home_all_masked": {"ja": "すべて伏せ字", "en": "everything masked"},
    "home_admin_audit": {"ja": "*最近の変更*", "en": "*Recent changes*"},
    "home_admin_hint": {
        "ja": "ポリシー・登録語・利用できる人・同意・利用上限・記録は `/madoguchi-admin help` から操作できます。",
        "en": "Policy, terms, access, consent, budgets and the audit log: `/madoguchi-admin help`.",
    },
}


def message(key: str, lang: str = "ja", **values: object) -> str:
    """Return the message ``key`` in ``lang`` (falling back to Japanese), formatted with ``values``."""
    texts = MESSAGES[key]
    return texts.get(lang, texts["ja"]).format(**values)
