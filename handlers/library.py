"""Slack side of the prompt library and the weekly digest: thin translators into bot/prompts and
bot/digest.

* ``/madoguchi prompts [検索語]`` — the library (most used first) or a search, as an ephemeral
  message; each template has a 「使う」 button that opens its modal.
* The template modal — its fields; submitting fills the template and starts a new DM thread
  whose first turn is the filled prompt, answered through the normal gateway (access, masking,
  allowed models, usage record with the template id).
* ``/madoguchi prompts 投稿`` / ``/madoguchi tip`` — submission modals; admins get the
  submission in a DM with 承認/却下 buttons, and ``/madoguchi-admin prompts`` lists what waits.
* ``/madoguchi-admin digest channel #ch | schedule "mon 09:00" | off | on | pick ID | preview``.
* The digest's buttons (try the tip, open the featured template, list the library); each click
  is recorded pseudonymously for the digest's self-measurement.
* :class:`SlackDigestPoster` posts a digest with the bot token.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.digest import DigestService, PostError, Schedule, Week
from bot.digest.content import ACTION_OPEN_LIBRARY, ACTION_OPEN_TEMPLATE, ACTION_TRY_TIP
from bot.library_data import Template
from bot.messages import message
from bot.prompts import (
    LibraryItem,
    LibraryTemplate,
    PromptLibrary,
    SubmissionError,
    category_label,
    category_options,
)
from bot.runtime import Runtime
from bot.schedule import DigestScheduler
from bot.turn import Turn
from handlers.commands import (
    CommandContext,
    Reply,
    channel_id,
    register_admin_subcommand,
    register_staff_subcommand,
)
from handlers.format import escape
from handlers.pacing import UpdatePacer
from handlers.sink import reply_sink

log = structlog.get_logger("madoguchi.slack.library")

ACTION_PROMPT_OPEN = "prompt_open"
ACTION_SUBMIT_TEMPLATE = "prompt_submit_open"
ACTION_APPROVE = "library_approve"
ACTION_REJECT = "library_reject"
VIEW_RUN = "prompt_run"
VIEW_SUBMIT_TEMPLATE = "prompt_submit"
VIEW_SUBMIT_TIP = "tip_submit"

LIST_LIMIT = 15  # templates per list message (3 blocks each stays far below Slack's 50)
_SUBMIT_WORDS = {"投稿", "submit", "new", "追加", "登録"}


# --------------------------------------------------------------------------- posting digests


TokenLookup = Callable[[str], Awaitable[str | None]]


class SlackDigestPoster:
    """Posts digests (``chat.postMessage``) with the bot token, or in OAuth mode with each
    workspace's own token (``tokens``: tenant → bot token)."""

    def __init__(self, client: AsyncWebClient, tokens: TokenLookup | None = None) -> None:
        self.client = client
        self.tokens = tokens
        self._team: str | None = None

    async def post(self, tenant: str, channel: str, text: str, blocks: list[dict[str, Any]]) -> str:
        """Post the digest; Slack's refusals are definite, timeouts are not."""
        extra: dict[str, Any] = {}
        if self.tokens is not None:
            token = await self.tokens(tenant)
            if not token:
                raise PostError("not_installed", definite=True)
            extra["token"] = token
        try:
            response = await self.client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, **extra
            )
        except SlackApiError as exc:
            raise PostError(str(exc.response.get("error")), definite=True) from None
        except TimeoutError:
            raise PostError("timeout", definite=False) from None
        except OSError as exc:  # the connection failed before anything was sent
            raise PostError(type(exc).__name__, definite=True) from None
        return str(response["ts"])

    async def home_tenant(self) -> str | None:
        """The bot token's workspace (``auth.test``), asked once; None in OAuth mode, where
        every workspace configures its digest with ``/madoguchi-admin digest``."""
        if self.tokens is not None:
            return None
        if self._team is None:
            response = await self.client.auth_test()
            self._team = str(response.get("team_id") or "") or None
        return self._team


# --------------------------------------------------------------------------- listeners


def register(app: AsyncApp, runtime: Runtime, pacer: UpdatePacer) -> None:
    """Attach the library's and the digest's action and view listeners to ``app``."""
    library = _library(runtime)
    lang = runtime.settings.language

    @app.action(ACTION_PROMPT_OPEN)
    async def open_template(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await _open_template_modal(runtime, client, body, _action_value(body), "library")

    @app.action(ACTION_SUBMIT_TEMPLATE)
    async def open_submission(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=template_submission_view(lang))

    @app.action(ACTION_OPEN_TEMPLATE)
    async def digest_template(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        week, template_id = await _digest_click(runtime, body, ACTION_OPEN_TEMPLATE)
        await _open_template_modal(runtime, client, body, template_id, "digest", week)

    @app.action(ACTION_OPEN_LIBRARY)
    async def digest_library(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        await _digest_click(runtime, body, ACTION_OPEN_LIBRARY)
        items = await library.templates(_tenant(body))
        await _respond(respond, library_message(items, "", lang), replace_original=False)

    @app.action(ACTION_TRY_TIP)
    async def digest_tip(
        ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        await ack()
        _week, tip_id = await _digest_click(runtime, body, ACTION_TRY_TIP)
        tenant, user = _tenant(body), body["user"]["id"]
        tip = next((t for t in await library.tips(tenant) if t.id == tip_id), None)
        if tip is None:
            await _respond(
                respond, {"text": message("library_not_found", lang)}, replace_original=False
            )
            return
        await _respond(
            respond, {"text": message("digest_tip_started", lang)}, replace_original=False
        )
        header = message("digest_tip_thread", lang, title=tip.title)
        await start_dm_thread(runtime, client, pacer, tenant, user, header, tip.example)

    @app.view(VIEW_RUN)
    async def run_template(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        view = body["view"]
        meta = _metadata(view)
        tenant, user = _tenant(body), body["user"]["id"]
        item = await library.get(tenant, str(meta.get("t", "")))
        if item is None:  # withdrawn while the modal was open
            await ack(
                response_action="update",
                view=_notice_view(message("library_not_found", lang), lang),
            )
            return
        values, errors = _field_values(item.template, view)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        filled = item.template.render(values)
        header = message("library_run_header", lang, title=item.template.title)
        result = await start_dm_thread(
            runtime, client, pacer, tenant, user, header, filled, template_id=item.id
        )
        if result == "ok":
            source = "digest" if meta.get("s") == "digest" else "library"
            await library.record_use(tenant, item.id, library.pseudonym(user), source=source)

    async def submit(
        ack: Any, body: dict[str, Any], client: AsyncWebClient, save: Any, fields: tuple[str, ...]
    ) -> None:
        """Store a staff submission (a template or a tip) and ask the admins to review it."""
        values = _state(body["view"])
        tenant, user = _tenant(body), body["user"]["id"]
        try:
            item = await save(
                tenant,
                **{name: values.get(name, "") for name in fields},
                author=library.pseudonym(user),
            )
        except SubmissionError as exc:
            await ack(response_action="errors", errors=exc.errors)
            return
        await ack(response_action="update", view=_thanks_view(lang))
        await _notify_admins(runtime, client, tenant, item)

    @app.view(VIEW_SUBMIT_TEMPLATE)
    async def submit_template(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        fields = ("title", "category", "description", "body")
        await submit(ack, body, client, library.submit_template, fields)

    @app.view(VIEW_SUBMIT_TIP)
    async def submit_tip(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await submit(ack, body, client, library.submit_tip, ("title", "body", "example"))

    @app.action(ACTION_APPROVE)
    async def approve(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        await _decide(runtime, body, respond, approve=True)

    @app.action(ACTION_REJECT)
    async def reject(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        await _decide(runtime, body, respond, approve=False)

    _register_commands(runtime)


# --------------------------------------------------------------------------- slash subcommands
# Registered into handlers/commands.py's dispatch table (admins are checked there, before the
# admin subcommands run). Each returns what the caller sees (ephemeral) or None.


async def staff_prompts(ctx: CommandContext) -> Reply | str | None:
    """``/madoguchi prompts [検索語]``: list or search; ``prompts 投稿`` opens the submission modal."""
    if ctx.text.strip() in _SUBMIT_WORDS:
        await ctx.client.views_open(
            trigger_id=ctx.trigger_id, view=template_submission_view(ctx.lang)
        )
        return None
    items = await _library(ctx.runtime).search(ctx.tenant, ctx.text)
    listing = library_message(items, ctx.text.strip(), ctx.lang)
    return Reply(listing["text"], blocks=listing["blocks"])


async def staff_tip(ctx: CommandContext) -> Reply | str | None:
    """``/madoguchi tip``: the tip submission modal."""
    await ctx.client.views_open(trigger_id=ctx.trigger_id, view=tip_submission_view(ctx.lang))
    return None


async def admin_prompts(ctx: CommandContext) -> Reply | str | None:
    """``/madoguchi-admin prompts``: the submissions waiting for approval, with buttons."""
    listing = pending_message(await _library(ctx.runtime).pending(ctx.tenant), ctx.lang)
    return Reply(listing["text"], blocks=listing.get("blocks"))


async def admin_digest(ctx: CommandContext) -> Reply | str | None:
    """``/madoguchi-admin digest …``: channel, schedule, off/on, pick, preview, status."""
    lang, tenant = ctx.lang, ctx.tenant
    digest = _digest(ctx.runtime)
    verb = ctx.args[0].lower() if ctx.args else "status"
    rest = ctx.args[1:]
    configs = digest.configs
    before = await configs.get(tenant)
    if verb in ("channel", "channels", "チャンネル"):
        channels = [c for c in (channel_id(word) for word in rest) if c]
        if not channels and not rest and ctx.channel and not ctx.is_dm:
            channels = [ctx.channel]  # `digest channel` typed in the channel itself
        if not channels:
            return message("digest_admin_channel_usage", lang)
        after = await configs.update(tenant, channels=tuple(dict.fromkeys(channels)), enabled=True)
        text = message("digest_admin_channels_set", lang, channels=_mentions(after.channels))
    elif verb in ("schedule", "スケジュール", "日時"):
        try:
            schedule = Schedule.parse(" ".join(rest))
        except ValueError as exc:
            return str(exc)
        after = await configs.update(tenant, schedule=schedule)
        text = message(
            "digest_admin_schedule_set", lang, schedule=schedule.label(lang), tz=str(digest.tz)
        )
    elif verb in ("off", "停止", "オフ"):
        after = await configs.update(tenant, enabled=False)
        text = message("digest_admin_off", lang)
    elif verb in ("on", "再開", "オン"):
        after = await configs.update(tenant, enabled=True)
        text = message("digest_admin_on", lang)
    elif verb in ("pick", "feature", "おすすめ"):
        item = await _library(ctx.runtime).get(tenant, rest[0] if rest else "")
        if item is None:
            return message("library_not_found", lang)
        after = await configs.update(tenant, featured_pick=item.id)
        text = message("digest_admin_pick_set", lang, title=item.template.title)
    elif verb in ("preview", "プレビュー"):
        preview = await digest.compose(tenant, Week.of(_now(), digest.tz), persist=False)
        return Reply(preview.fallback(), blocks=preview.blocks())
    else:
        return message(
            "digest_admin_status",
            lang,
            state=message("digest_state_on" if before.active else "digest_state_off", lang),
            channels=_mentions(before.channels) or message("digest_no_channels", lang),
            schedule=before.schedule.label(lang),
            tz=str(digest.tz),
        )
    await ctx.audit(f"digest.{verb}", before=_plain_value(before), after=_plain_value(after))
    return text


def _register_commands(runtime: Runtime) -> None:
    """Add the subcommands to handlers/commands.py's dispatch table."""
    for name, fn, key in (
        ("prompts", staff_prompts, "command_help_prompts"),
        ("tip", staff_tip, "command_help_tip"),
    ):
        register_staff_subcommand(name, fn, message(key, "ja"), message(key, "en"))
    for name, fn, key in (
        ("prompts", admin_prompts, "command_help_admin_prompts"),
        ("digest", admin_digest, "command_help_admin_digest"),
    ):
        register_admin_subcommand(name, fn, message(key, "ja"), message(key, "en"))


# --------------------------------------------------------------------------- the template run


async def start_dm_thread(
    runtime: Runtime,
    client: AsyncWebClient,
    pacer: UpdatePacer,
    tenant: str,
    user: str,
    header: str,
    prompt: str,
    *,
    template_id: str | None = None,
) -> str:
    """Post ``header`` and the prompt as a new thread in the user's DM and answer the prompt in
    it through the gateway. Returns the turn's outcome (``ok``, ``refused``, ``error``)."""
    lang = runtime.settings.language
    opened = await client.conversations_open(users=user)
    channel = opened["channel"]["id"]
    shown = _quote(prompt)
    posted = await client.chat_postMessage(
        channel=channel,
        text=header,
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{escape(header)}*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": shown}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": message("library_run_note", lang)}],
            },
        ],
    )
    thread = str(posted["ts"])
    turn = Turn(
        tenant=tenant,
        channel=channel,
        thread=thread,
        user=user,
        text=prompt,
        channel_type="dm",
        template_id=template_id,
    )
    sink = reply_sink(
        client,
        channel,
        thread,
        native_streaming=runtime.settings.slack_native_streaming,
        team_id=tenant,
        user_id=user,
        lang=lang,
        pacer=pacer,
    )
    result = await runtime.gateway.handle(turn, sink)
    return result.outcome


async def _open_template_modal(
    runtime: Runtime,
    client: AsyncWebClient,
    body: dict[str, Any],
    template_id: str,
    source: str,
    week: Week | None = None,
) -> None:
    lang = runtime.settings.language
    item = await _library(runtime).get(_tenant(body), template_id)
    if item is None:
        await client.views_open(
            trigger_id=body["trigger_id"],
            view=_notice_view(message("library_not_found", lang), lang),
        )
        return
    await client.views_open(
        trigger_id=body["trigger_id"], view=template_view(item, source, lang, week)
    )


def template_view(
    item: LibraryTemplate, source: str, lang: str, week: Week | None = None
) -> dict[str, Any]:
    """The modal of one template: its description and one input per field."""
    t = item.template
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "block_id": "intro",
            "text": {"type": "mrkdwn", "text": _cut(escape(t.description), 3000)},
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": message("library_modal_note", lang)}],
        },
    ]
    for index, spec in enumerate(t.fields):
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": spec.multiline,
        }
        if spec.placeholder:
            element["placeholder"] = _plain(_cut(spec.placeholder, 150))
        if spec.default:
            element["initial_value"] = spec.default
        blocks.append(
            {
                "type": "input",
                "block_id": f"field_{index}",
                "optional": not spec.required or bool(spec.default),
                "label": _plain(_cut(spec.label, 48)),
                "element": element,
            }
        )
    meta = {"t": t.id, "s": source}
    if week is not None:
        meta["w"] = str(week)
    return {
        "type": "modal",
        "callback_id": VIEW_RUN,
        "private_metadata": json.dumps(meta),
        "title": _plain(_cut(t.title, 24)),
        "submit": _plain(message("library_modal_submit", lang)),
        "close": _plain(message("library_modal_close", lang)),
        "blocks": blocks,
    }


def _field_values(
    template: Template, view: dict[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """The submitted value of each field, and an error per required field left blank."""
    state = view.get("state", {}).get("values", {})
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for index, spec in enumerate(template.fields):
        block = f"field_{index}"
        value = (state.get(block, {}).get("value", {}) or {}).get("value") or ""
        values[spec.name] = value
        if spec.required and not value.strip() and not spec.default:
            errors[block] = "入力してください。"
    return values, errors


# --------------------------------------------------------------------------- messages and views


def library_message(items: list[LibraryTemplate], query: str, lang: str) -> dict[str, Any]:
    """The ephemeral list: a heading, up to ``LIST_LIMIT`` templates with a 「使う」 button each."""
    if query:
        heading = message("library_search_heading", lang, query=escape(query), n=len(items))
    else:
        heading = message("library_heading", lang, n=len(items))
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": heading}}
    ]
    if not items:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": message("library_no_match", lang)},
            }
        )
    for item in items[:LIST_LIMIT]:
        t = item.template
        lines = [
            f"*{escape(t.title)}*（{escape(category_label(t.category, lang))}）",
            escape(t.description),
        ]
        # The id is what `/madoguchi-admin digest pick ID` takes.
        lines.append("・".join(p for p in (_stats(item, lang), f"`{t.id}`") if p))
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _cut("\n".join(lines), 3000)},
                "accessory": {
                    "type": "button",
                    "text": _plain(message("library_use_button", lang)),
                    "action_id": ACTION_PROMPT_OPEN,
                    "value": t.id,
                },
            }
        )
    if len(items) > LIST_LIMIT:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": message("library_more", lang, n=len(items) - LIST_LIMIT),
                    }
                ],
            }
        )
    blocks.append(
        {
            "type": "actions",
            "block_id": "library_actions",
            "elements": [
                {
                    "type": "button",
                    "text": _plain(message("library_submit_button", lang)),
                    "action_id": ACTION_SUBMIT_TEMPLATE,
                    "value": "submit",
                }
            ],
        }
    )
    return {"text": _strip_marks(heading), "blocks": blocks}


def _stats(item: LibraryTemplate, lang: str) -> str:
    parts = []
    if item.uses:
        parts.append(message("library_uses", lang, n=item.uses))
    if item.rating is not None:
        parts.append(message("library_rating", lang, pct=round(item.rating * 100)))
    if item.source == "staff":
        parts.append(message("library_staff_made", lang))
    return "・".join(parts)


def pending_message(items: list[LibraryItem], lang: str) -> dict[str, Any]:
    """Submissions waiting for an admin, each with 承認/却下 buttons."""
    if not items:
        return {"text": message("library_pending_none", lang)}
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": message("library_pending_heading", lang, n=len(items)),
            },
        }
    ]
    for item in items[:15]:
        blocks += _review_blocks(item, lang)
    return {"text": message("library_pending_heading", lang, n=len(items)), "blocks": blocks}


def _review_blocks(item: LibraryItem, lang: str) -> list[dict[str, Any]]:
    kind = message("library_kind_template" if item.kind == "template" else "library_kind_tip", lang)
    if isinstance(item.item, Template):
        detail = f"{escape(item.item.description)}\n```{escape(item.item.body)[:2000]}```"
    else:
        detail = f"{escape(item.item.body)}\n```{escape(item.item.example)[:1500]}```"
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": _cut(f"*{kind}: {escape(item.title)}*\n{detail}", 3000),
            },
        },
        {
            "type": "actions",
            "block_id": f"review_{item.id}",
            "elements": [
                {
                    "type": "button",
                    "text": _plain(message("library_approve", lang)),
                    "action_id": ACTION_APPROVE,
                    "value": str(item.id),
                    "style": "primary",
                },
                {
                    "type": "button",
                    "text": _plain(message("library_reject", lang)),
                    "action_id": ACTION_REJECT,
                    "value": str(item.id),
                    "style": "danger",
                },
            ],
        },
    ]


def template_submission_view(lang: str) -> dict[str, Any]:
    """The modal in which staff submit a template (fields come from the body's {{…}})."""
    options = [
        {
            "text": _plain(_cut(label if lang == "ja" else category_label(cid, "en"), 75)),
            "value": cid,
        }
        for cid, label in category_options()
    ]
    return {
        "type": "modal",
        "callback_id": VIEW_SUBMIT_TEMPLATE,
        "title": _plain(message("library_submit_title", lang)),
        "submit": _plain(message("library_submit_submit", lang)),
        "close": _plain(message("library_modal_close", lang)),
        "blocks": [
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": message("library_submit_note", lang)}],
            },
            _input("title", message("library_field_title", lang), max_length=24),
            {
                "type": "input",
                "block_id": "category",
                "label": _plain(message("library_field_category", lang)),
                "element": {"type": "static_select", "action_id": "value", "options": options},
            },
            _input("description", message("library_field_description", lang), max_length=200),
            _input(
                "body",
                message("library_field_body", lang),
                multiline=True,
                max_length=3000,
                placeholder=message("library_field_body_placeholder", lang),
            ),
        ],
    }


def tip_submission_view(lang: str) -> dict[str, Any]:
    """The modal in which staff submit a tip."""
    return {
        "type": "modal",
        "callback_id": VIEW_SUBMIT_TIP,
        "title": _plain(message("tip_submit_title", lang)),
        "submit": _plain(message("library_submit_submit", lang)),
        "close": _plain(message("library_modal_close", lang)),
        "blocks": [
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": message("library_submit_note", lang)}],
            },
            _input("title", message("library_field_title", lang), max_length=60),
            _input("body", message("tip_field_body", lang), multiline=True, max_length=1000),
            _input("example", message("tip_field_example", lang), multiline=True, max_length=1000),
        ],
    }


def _thanks_view(lang: str) -> dict[str, Any]:
    return _notice_view(message("library_submitted", lang), lang)


def _notice_view(text: str, lang: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": _plain(message("library_title", lang)),
        "close": _plain(message("library_modal_ok", lang)),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


def _input(
    block_id: str,
    label: str,
    *,
    multiline: bool = False,
    max_length: int | None = None,
    placeholder: str | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": multiline,
    }
    if max_length:
        element["max_length"] = max_length
    if placeholder:
        element["placeholder"] = _plain(_cut(placeholder, 150))
    return {"type": "input", "block_id": block_id, "label": _plain(label), "element": element}


# --------------------------------------------------------------------------- approvals


async def _notify_admins(
    runtime: Runtime, client: AsyncWebClient, tenant: str, item: LibraryItem
) -> None:
    """Send a new submission to each admin's DM with the review buttons."""
    lang = runtime.settings.language
    blocks = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": message("library_new_submission", lang)},
        },
        *_review_blocks(item, lang),
    ]
    for admin in runtime.settings.admin_users:
        try:
            await client.chat_postMessage(
                channel=admin, text=message("library_new_submission", lang), blocks=blocks
            )
        except SlackApiError as exc:
            log.warning("library.notify_failed", error=exc.response.get("error"))


async def _decide(runtime: Runtime, body: dict[str, Any], respond: Any, *, approve: bool) -> None:
    lang = runtime.settings.language
    tenant, user = _tenant(body), body["user"]["id"]
    if not await _is_admin(runtime, tenant, user):
        await _deny(runtime, tenant, user, "library.decide")
        await _respond(
            respond, {"text": message("library_admin_only", lang)}, replace_original=False
        )
        return
    try:
        item_id = int(_action_value(body))
    except ValueError:
        return
    item = await _library(runtime).decide(tenant, item_id, approve)
    if item is None:
        text = message("library_already_decided", lang)
    else:
        key = "library_approved" if approve else "library_rejected"
        text = message(key, lang, title=escape(item.title))
        await _audit(
            runtime,
            tenant,
            user,
            "library.approve" if approve else "library.reject",
            None,
            item.slug,
        )
    await _respond(respond, {"text": text}, replace_original=True)


async def _is_admin(runtime: Runtime, tenant: str, user: str) -> bool:
    admin = getattr(runtime, "admin", None)
    if admin is not None:
        return bool(await admin.is_admin(tenant, user))
    return user in runtime.settings.admin_users


async def _deny(runtime: Runtime, tenant: str, user: str, action: str) -> None:
    admin = getattr(runtime, "admin", None)
    if admin is None:
        return
    try:
        await admin.deny(admin.actor(tenant, user), action)
    except Exception as exc:
        log.warning("library.audit_failed", error_type=type(exc).__name__)


async def _audit(
    runtime: Runtime, tenant: str, user: str, action: str, before: Any, after: Any
) -> None:
    """Append the change to the admin audit log (bot/admin), when there is one."""
    admin = getattr(runtime, "admin", None)
    if admin is None:
        return
    try:
        await admin.store.record(
            admin.actor(tenant, user),
            action,
            before=_plain_value(before),
            after=_plain_value(after),
        )
    except Exception as exc:
        log.warning("library.audit_failed", error_type=type(exc).__name__)


def _plain_value(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    fields = getattr(value, "__dataclass_fields__", None)
    if fields:
        return {name: str(getattr(value, name)) for name in fields if name != "stored"}
    return str(value)


# --------------------------------------------------------------------------- helpers


async def _digest_click(
    runtime: Runtime, body: dict[str, Any], action: str
) -> tuple[Week | None, str]:
    """Record a click on a digest button; returns (the digest's week, the item id)."""
    week_text, _, item = _action_value(body).partition("|")
    try:
        week: Week | None = Week.parse(week_text)
    except ValueError:
        week = None
    if week is not None:
        library = _library(runtime)
        try:
            await _digest(runtime).record_click(
                _tenant(body), week, action, library.pseudonym(body["user"]["id"])
            )
        except Exception as exc:  # measuring must never stop the button from working
            log.warning("digest.click_not_recorded", error_type=type(exc).__name__)
    return week, item


def _library(runtime: Runtime) -> PromptLibrary:
    library = getattr(runtime, "library", None)
    assert library is not None, "build_runtime sets runtime.library"
    return library


def _digest(runtime: Runtime) -> DigestService:
    digest = getattr(runtime, "digest", None)
    assert digest is not None, "build_runtime sets runtime.digest"
    return digest


def _tenant(body: dict[str, Any]) -> str:
    team = body.get("team")
    team_id = body.get("team_id") or (team.get("id") if isinstance(team, dict) else None)
    if not team_id and isinstance(body.get("user"), dict):
        team_id = body["user"].get("team_id")
    enterprise = body.get("enterprise")
    enterprise_id = body.get("enterprise_id") or (
        enterprise.get("id") if isinstance(enterprise, dict) else None
    )
    return str(team_id or enterprise_id or "unknown")


def _action_value(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    return str(actions[0].get("value") or "")


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _state(view: dict[str, Any]) -> dict[str, str]:
    """block id → the value of its ``value`` element (text or selected option)."""
    out: dict[str, str] = {}
    for block_id, actions in view.get("state", {}).get("values", {}).items():
        element = (actions or {}).get("value") or {}
        if element.get("selected_option"):
            out[block_id] = str(element["selected_option"].get("value", ""))
        else:
            out[block_id] = str(element.get("value") or "")
    return out


def _mentions(channels: tuple[str, ...] | list[str]) -> str:
    return " ".join(f"<#{c}>" for c in channels)


def _quote(text: str) -> str:
    body = _cut(escape(text), 2800)
    return "\n".join("&gt; " + line if line else "&gt;" for line in body.split("\n"))


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _strip_marks(text: str) -> str:
    return text.replace("*", "")


async def _respond(
    respond: Any, payload: dict[str, Any], *, replace_original: bool | None = None
) -> None:
    """Answer through the response URL (ephemeral); a failure is logged, never raised."""
    kwargs: dict[str, Any] = {"response_type": "ephemeral", **payload}
    if replace_original is not None:
        kwargs["replace_original"] = replace_original
    try:
        await respond(**kwargs)
    except Exception as exc:
        log.warning("slack.respond_failed", error_type=type(exc).__name__)


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def start_digest_scheduler(runtime: Runtime, client: AsyncWebClient) -> DigestScheduler:
    """Start the weekly digest's scheduler for ``madoguchi serve`` (stop it with ``shutdown``)."""
    settings = runtime.settings
    tokens: TokenLookup | None = None
    if settings.oauth_enabled:
        from handlers.oauth import installation_store

        store = installation_store(runtime)

        async def tokens(tenant: str) -> str | None:
            bot = await store.async_find_bot(enterprise_id=None, team_id=tenant)
            return bot.bot_token if bot is not None else None

    scheduler = DigestScheduler(
        _digest(runtime),
        SlackDigestPoster(client, tokens),
        tz=_digest(runtime).tz,
        check_minutes=settings.digest_check_minutes,
    )
    await scheduler.start()
    return scheduler
