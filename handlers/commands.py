"""Slash commands: ``/madoguchi-admin …`` for admins and ``/madoguchi …`` for staff.

Commands come only from slash commands and button presses (signed by Slack); the text of a
message to the bot is never parsed for commands, so a prompt can never change a setting.

Dispatch table — adding a subcommand from another module
--------------------------------------------------------
Each subcommand is one async function in a table (name → function), so a feature adds its own
without editing this file::

    from handlers.commands import CommandContext, Reply, register_admin_subcommand

    async def digest(ctx: CommandContext) -> Reply | str | None:
        if ctx.args[:1] == ["off"]:
            ...  # change your setting, then audit it:
            await ctx.audit("digest.off", target=None, before=old, after=new)
            return "週刊ダイジェストを停止しました。"
        return Reply("…", blocks=[...])

    register_admin_subcommand(
        "digest", digest, help_ja="`digest channel #ch` … 週刊ダイジェスト", help_en="…"
    )

Call the ``register_*`` functions when your module is imported (or from your own
``register(app, runtime)``) before the app serves requests. The function receives a
:class:`CommandContext`: ``args`` are the words after the subcommand (quotes 「…」 and "…" keep
spaces; Slack's ``<#C…|name>`` / ``<!subteam^S…|@name>`` stay as typed — use
:func:`channel_id` / :func:`usergroup` to read them); ``text`` is the same as one string.
Return a ``str`` (mrkdwn, shown only to the caller), a :class:`Reply` with blocks, or None when
the function answered by itself (``ctx.respond``). Raising :class:`bot.admin.AdminError` shows
its message. Admin subcommands run only for admins — everyone else gets
「この操作は管理者のみ実行できます」 and an audit row, before your function is called. Staff
subcommands (``register_staff_subcommand``) run for everyone.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.admin import CONSENT_ACTION, TIERS, AdminError, AdminService, CachedDirectory
from bot.admin.models import is_enabled
from bot.admin.quota import amount, describe
from bot.admin.store import Actor
from bot.catalog import ModelSpec
from bot.masking import JA_NAMES, Action, EntityType
from bot.messages import message
from bot.runtime import Runtime

log = structlog.get_logger("madoguchi.slack.commands")

ADMIN_COMMAND = "/madoguchi-admin"
STAFF_COMMAND = "/madoguchi"
PICK_MODEL_ACTION = "madoguchi_pick_model"
PICK_TIER_ACTION = "madoguchi_pick_tier"

# A long list (10,000 custom terms) is cut to this many lines in one reply.
MAX_LIST_LINES = 100


@dataclass
class Reply:
    """What a subcommand shows the caller (ephemeral): mrkdwn text and optional blocks."""

    text: str
    blocks: list[dict[str, Any]] | None = None


@dataclass
class CommandContext:
    """One invocation of a subcommand."""

    runtime: Runtime
    admin: AdminService
    client: AsyncWebClient
    respond: Callable[..., Awaitable[Any]]
    tenant: str
    user: str
    channel: str
    command: str
    name: str
    args: list[str]
    text: str
    lang: str
    trigger_id: str | None = None
    is_admin: bool = False
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> Actor:
        """The caller as an audit actor."""
        return self.admin.actor(self.tenant, self.user)

    @property
    def is_dm(self) -> bool:
        """The command was typed in a direct message with the bot."""
        return self.channel.startswith("D")

    async def audit(
        self,
        action: str,
        *,
        target: str | None = None,
        before: Any = None,
        after: Any = None,
    ) -> None:
        """Append an audit row for a change this subcommand made (attributed to the admin)."""
        await self.admin.store.record(self.actor, action, target=target, before=before, after=after)


Handler = Callable[[CommandContext], Awaitable["Reply | str | None"]]


@dataclass(frozen=True)
class Subcommand:
    """A registered subcommand: its function and one line of help per language."""

    name: str
    handler: Handler
    help_ja: str
    help_en: str | None = None

    def help(self, lang: str) -> str:
        """The help line in ``lang``."""
        return self.help_en if lang == "en" and self.help_en else self.help_ja


ADMIN_SUBCOMMANDS: dict[str, Subcommand] = {}
STAFF_SUBCOMMANDS: dict[str, Subcommand] = {}


def register_admin_subcommand(
    name: str, fn: Handler, help_ja: str, help_en: str | None = None
) -> None:
    """Add (or replace) ``/madoguchi-admin NAME …``; runs only for admins."""
    ADMIN_SUBCOMMANDS[name.lower()] = Subcommand(name.lower(), fn, help_ja, help_en)


def register_staff_subcommand(
    name: str, fn: Handler, help_ja: str, help_en: str | None = None
) -> None:
    """Add (or replace) ``/madoguchi NAME …``; runs for everyone."""
    STAFF_SUBCOMMANDS[name.lower()] = Subcommand(name.lower(), fn, help_ja, help_en)


# --------------------------------------------------------------------------- parsing

_QUOTES = {'"': '"', "「": "」", "“": "”", "『": "』"}


def split_args(text: str) -> list[str]:
    """Words of a command line; 「…」, "…", “…” and 『…』 keep spaces; Slack's <…> stay whole."""
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in _QUOTES:
            close = text.find(_QUOTES[ch], i + 1)
            if close < 0:
                words.append(text[i + 1 :].strip())
                break
            words.append(text[i + 1 : close])
            i = close + 1
            continue
        if ch == "<":
            close = text.find(">", i)
            if close > 0:
                words.append(text[i : close + 1])
                i = close + 1
                continue
        j = i
        while j < n and not text[j].isspace():
            j += 1
        words.append(text[i:j])
        i = j
    return words


_CHANNEL = re.compile(r"^<#([CGD][A-Z0-9]+)(?:\|([^>]*))?>$")
_RAW_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{6,}$")
_SUBTEAM = re.compile(r"^<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>$")
_RAW_GROUP = re.compile(r"^S[A-Z0-9]{6,}$")


def channel_id(word: str) -> str | None:
    """The channel id in ``<#C123|name>`` or a bare ``C123…``; None otherwise."""
    found = _CHANNEL.match(word)
    if found:
        return found.group(1)
    return word if _RAW_CHANNEL.match(word) else None


def usergroup(word: str) -> tuple[str, str] | None:
    """(id, label) of ``<!subteam^S123|@name>`` or a bare ``S123…``; None otherwise."""
    found = _SUBTEAM.match(word)
    if found:
        return found.group(1), found.group(2) or found.group(1)
    return (word, word) if _RAW_GROUP.match(word) else None


def _number(word: str) -> float | None:
    try:
        value = float(word.replace(",", "").replace("，", ""))
    except ValueError:
        return None
    return value


def tenant_of(body: dict[str, Any]) -> str:
    """The workspace a request came from (the same key the chat listeners use)."""
    team = body.get("team")
    team_id = team.get("id") if isinstance(team, dict) else None
    user = body.get("user")
    user_team = user.get("team_id") if isinstance(user, dict) else None
    return str(
        body.get("team_id") or team_id or user_team or body.get("enterprise_id") or "unknown"
    )


def _ephemeral(result: Reply | str) -> dict[str, Any]:
    reply = result if isinstance(result, Reply) else Reply(result)
    out: dict[str, Any] = {"text": reply.text, "response_type": "ephemeral"}
    if reply.blocks:
        out["blocks"] = reply.blocks
    return out


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000] or " "}}


def _button(text: str, action_id: str, value: str, *, primary: bool = False) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:75], "emoji": True},
        "action_id": action_id,
        "value": value[:2000],
    }
    if primary:
        button["style"] = "primary"
    return button


def _actions(buttons: list[dict[str, Any]], block_id: str) -> list[dict[str, Any]]:
    # An actions block takes 25 elements; action ids must be unique inside one block.
    blocks = []
    for start in range(0, len(buttons), 25):
        elements = [
            dict(b, action_id=f"{b['action_id']}:{start + i}")
            for i, b in enumerate(buttons[start : start + 25])
        ]
        blocks.append({"type": "actions", "block_id": f"{block_id}_{start}", "elements": elements})
    return blocks


def _clip(lines: list[str], lang: str) -> list[str]:
    if len(lines) <= MAX_LIST_LINES:
        return lines
    rest = len(lines) - MAX_LIST_LINES
    return [*lines[:MAX_LIST_LINES], message("list_more", lang, n=rest)]


# --------------------------------------------------------------------------- admin: models


async def admin_models(ctx: CommandContext) -> Reply | str:
    """``models`` · ``models enable|disable|default ID`` · ``models channel #ch ID…|clear``."""
    admin, lang = ctx.admin, ctx.lang
    verb = ctx.args[0].lower() if ctx.args else ""
    if verb in ("enable", "disable", "on", "off"):
        if len(ctx.args) < 2:
            return message("admin_models_usage", lang)
        enabled = verb in ("enable", "on")
        await admin.set_model_enabled(ctx.actor, ctx.args[1], enabled)
        key = "admin_model_enabled" if enabled else "admin_model_disabled_done"
        return message(key, lang, model=ctx.args[1]) + "\n\n" + await models_text(ctx)
    if verb == "default":
        if len(ctx.args) < 2:
            return message("admin_models_usage", lang)
        await admin.set_default_model(ctx.actor, ctx.args[1])
        return message("admin_model_default_done", lang, model=ctx.args[1])
    if verb == "channel":
        channel = channel_id(ctx.args[1]) if len(ctx.args) > 1 else None
        if channel is None:
            return message("admin_channel_expected", lang)
        ids = ctx.args[2:]
        if not ids:
            return message("admin_models_usage", lang)
        if [w.lower() for w in ids] in (["clear"], ["all"], ["reset"]):
            await admin.set_channel_models(ctx.actor, channel, [])
            return message("admin_channel_models_cleared", lang, channel=channel)
        await admin.set_channel_models(ctx.actor, channel, ids)
        return message("admin_channel_models_done", lang, channel=channel, models=", ".join(ids))
    if verb:
        return message("admin_models_usage", lang)
    return await models_text(ctx)


def model_line(model: ModelSpec, on: bool, default: str, lang: str) -> str:
    """One catalog line for admins: state, id, name, tier, default/disabled flags."""
    flags = []
    if model.id == default:
        flags.append(message("flag_default", lang))
    if not on:
        flags.append(message("flag_disabled", lang))
    return message(
        "admin_models_line",
        lang,
        mark="✅" if on else "⛔",
        id=model.id,
        name=model.display_name,
        tier=model.max_tier,
        flags=("・" + "・".join(flags)) if flags else "",
    )


async def models_text(ctx: CommandContext) -> str:
    """The catalog with each model's state, the default and the channel lists."""
    admin, lang = ctx.admin, ctx.lang
    config = await admin.store.config(ctx.tenant)
    default = admin.tenant_default(config)
    lines = [message("admin_models_header", lang, default=default)]
    for model in admin.catalog.all():
        lines.append(model_line(model, is_enabled(admin.catalog, config, model), default, lang))
    for channel, ids in config.models.channels.items():
        lines.append(
            message("admin_models_channel_line", lang, channel=channel, models=", ".join(ids))
        )
    lines.append(message("admin_models_usage", lang))
    return "\n".join(lines)


# --------------------------------------------------------------------------- admin: policy


async def admin_policy(ctx: CommandContext) -> str:
    """``policy`` · ``policy TYPE mask|block|allow [model ID]`` · ``policy reset [model ID]``."""
    admin, lang, args = ctx.admin, ctx.lang, ctx.args
    model_id = None
    if len(args) >= 2 and args[-2].lower() == "model":
        model_id, args = args[-1], args[:-2]
    if args and args[0].lower() == "reset":
        await admin.reset_masking(ctx.actor, model_id)
        return message("admin_policy_reset_done", lang) + "\n\n" + await policy_text(ctx, model_id)
    if len(args) == 2:
        await admin.set_masking(ctx.actor, args[0], args[1], model_id)
        return (
            message(
                "admin_policy_set_done",
                lang,
                entity=args[0].upper(),
                action=args[1].lower(),
                scope=model_id or message("policy_all_models", lang),
            )
            + "\n\n"
            + await policy_text(ctx, model_id)
        )
    if args:
        return message("admin_policy_usage", lang)
    return await policy_text(ctx, model_id)


_ACTION_MARK = {Action.MASK: "🔒", Action.BLOCK: "⛔", Action.ALLOW: "✅"}


async def policy_text(ctx: CommandContext, model_id: str | None = None) -> str:
    """The effective masking actions (defaults, or for one model) and the models' overrides."""
    lang = ctx.lang
    config = await ctx.admin.store.config(ctx.tenant)
    policy = config.policy.for_model(model_id)
    scope = model_id or message("policy_all_models", lang)
    lines = [message("admin_policy_header", lang, scope=scope)]
    for etype in EntityType:
        action = policy.action(etype)
        name = JA_NAMES[etype] if lang == "ja" else etype.value
        lines.append(f"{_ACTION_MARK[action]} `{etype.value}` {name}: *{action.value}*")
    overrides = config.policy.models
    if model_id is None and overrides:
        for model, actions in overrides.items():
            shown = ", ".join(f"{t}={a}" for t, a in actions.items())
            lines.append(message("admin_policy_model_line", lang, model=model, actions=shown))
    lines.append(message("admin_policy_usage", lang))
    return "\n".join(lines)


# --------------------------------------------------------------------------- admin: terms


async def admin_terms(ctx: CommandContext) -> str:
    """``terms list`` · ``terms add 語 [mask|block]`` · ``terms remove 語``."""
    admin, lang, args = ctx.admin, ctx.lang, ctx.args
    verb = args[0].lower() if args else "list"
    if verb == "add" and len(args) >= 2:
        action = args[2].lower() if len(args) >= 3 else "mask"
        new = await admin.add_term(ctx.actor, args[1], action)
        key = "admin_term_added" if new else "admin_term_updated"
        return message(key, lang, term=args[1], action=action)
    if verb in ("remove", "delete", "rm") and len(args) >= 2:
        await admin.remove_term(ctx.actor, args[1])
        return message("admin_term_removed", lang, term=args[1])
    if verb == "list":
        terms = await admin.terms(ctx.tenant)
        if not terms:
            return message("admin_terms_empty", lang) + "\n" + message("admin_terms_usage", lang)
        lines = [f"• {t.term} — *{t.action.value}*" for t in sorted(terms, key=lambda t: t.term)]
        return "\n".join([message("admin_terms_header", lang, n=len(terms)), *_clip(lines, lang)])
    return message("admin_terms_usage", lang)


# --------------------------------------------------------------------------- admin: access


async def admin_access(ctx: CommandContext) -> str:
    """``access`` · ``access everyone`` · ``access only @group… #channel…``."""
    admin, lang, args = ctx.admin, ctx.lang, ctx.args
    verb = args[0].lower() if args else ""
    if verb == "everyone":
        await admin.set_access(ctx.actor, everyone=True)
        return message("admin_access_everyone_done", lang)
    if verb == "only":
        groups, channels, labels = [], [], {}
        for word in args[1:]:
            group = usergroup(word)
            channel = channel_id(word)
            if group is not None:
                groups.append(group[0])
                labels[group[0]] = group[1]
            elif channel is not None:
                channels.append(channel)
            else:
                return message("admin_access_bad_word", lang, word=word)
        after = await admin.set_access(
            ctx.actor, everyone=False, usergroups=groups, channels=channels, labels=labels
        )
        return message("admin_access_only_done", lang) + "\n" + _access_line(after, lang)
    if verb:
        return message("admin_access_usage", lang)
    config = await admin.store.config(ctx.tenant)
    return _access_line(config.access, lang) + "\n" + message("admin_access_usage", lang)


def _access_line(access: Any, lang: str) -> str:
    if access.mode == "everyone":
        return message("admin_access_show_everyone", lang)
    groups = " ".join(access.labels.get(g, g) for g in access.usergroups) or "-"
    channels = " ".join(f"<#{c}>" for c in access.channels) or "-"
    return message("admin_access_show_only", lang, groups=groups, channels=channels)


# --------------------------------------------------------------------------- admin: consent


async def admin_consent(ctx: CommandContext) -> str:
    """``consent`` · ``consent on|off`` · ``consent text 本文`` · ``consent renew``."""
    admin, lang, args = ctx.admin, ctx.lang, ctx.args
    verb = args[0].lower() if args else ""
    if verb in ("on", "off"):
        after = await admin.set_consent(ctx.actor, enabled=verb == "on")
    elif verb == "text":
        body = ctx.text.split(None, 1)[1] if len(ctx.text.split(None, 1)) > 1 else ""
        after = await admin.set_consent(ctx.actor, text=body.replace("\\n", "\n"))
    elif verb == "renew":
        after = await admin.set_consent(ctx.actor, renew=True)
    elif verb:
        return message("admin_consent_usage", lang)
    else:
        after = (await admin.store.config(ctx.tenant)).consent
    config = await admin.store.config(ctx.tenant)
    state = message("flag_on" if after.enabled else "flag_off", lang)
    return "\n".join(
        [
            message("admin_consent_show", lang, state=state, version=after.version),
            "> " + admin.guideline(config, lang).replace("\n", "\n> "),
            message("admin_consent_usage", lang),
        ]
    )


# --------------------------------------------------------------------------- admin: quota


async def admin_quota(ctx: CommandContext) -> str:
    """``quota`` · ``quota user tokens|cost N|off`` · ``quota dept @group tokens|cost N|off`` ·
    ``quota economy ID|off``."""
    admin, lang, args = ctx.admin, ctx.lang, ctx.args
    verb = args[0].lower() if args else ""
    if verb == "user" and len(args) == 3 and args[1].lower() in ("tokens", "cost"):
        value = None if args[2].lower() in ("off", "none", "0") else _number(args[2])
        if value is None and args[2].lower() not in ("off", "none", "0"):
            return message("admin_quota_usage", lang)
        await admin.set_user_quota(ctx.actor, args[1].lower(), value)
        return message("admin_quota_done", lang) + "\n\n" + await quota_text(ctx)
    if verb in ("dept", "department") and len(args) == 4 and args[2].lower() in ("tokens", "cost"):
        group = usergroup(args[1])
        if group is None:
            return message("admin_group_expected", lang)
        value = None if args[3].lower() in ("off", "none", "0") else _number(args[3])
        if value is None and args[3].lower() not in ("off", "none", "0"):
            return message("admin_quota_usage", lang)
        await admin.set_department_quota(ctx.actor, group[0], group[1], args[2].lower(), value)
        return message("admin_quota_done", lang) + "\n\n" + await quota_text(ctx)
    if verb == "economy" and len(args) == 2:
        model = None if args[1].lower() in ("off", "none") else args[1]
        await admin.set_economy_model(ctx.actor, model)
        return message("admin_quota_done", lang) + "\n\n" + await quota_text(ctx)
    if verb:
        return message("admin_quota_usage", lang)
    return await quota_text(ctx)


async def quota_text(ctx: CommandContext) -> str:
    """The budgets as set, and this month's use of the whole workspace."""
    admin, lang = ctx.admin, ctx.lang
    config = await admin.store.config(ctx.tenant)
    quota = config.quota
    currency = admin.catalog.currency
    off = message("flag_off", lang)

    def value(v: float | None, unit: str) -> str:
        return amount(v, unit, lang, currency) if v else off

    lines = [
        message("admin_quota_header", lang),
        message(
            "admin_quota_user_line",
            lang,
            tokens=value(quota.user_daily_tokens, "tokens"),
            cost=value(quota.user_daily_cost, "cost"),
        ),
    ]
    for group, dept in quota.departments.items():
        lines.append(
            message(
                "admin_quota_dept_line",
                lang,
                department=dept.label or group,
                tokens=value(dept.monthly_tokens, "tokens"),
                cost=value(dept.monthly_cost, "cost"),
            )
        )
    lines.append(message("admin_quota_economy_line", lang, model=quota.economy_model or off))
    now = admin.quotas.now()
    tokens, cost = await admin.records.use(
        ctx.tenant, None, now.replace(day=1).strftime("%Y-%m-%d"), now.strftime("%Y-%m-%d")
    )
    lines.append(
        message(
            "admin_quota_month_line",
            lang,
            tokens=amount(tokens, "tokens", lang, currency),
            cost=amount(cost, "cost", lang, currency),
        )
    )
    lines.append(message("admin_quota_usage", lang))
    return "\n".join(lines)


# --------------------------------------------------------------------------- admin: audit


async def admin_audit(ctx: CommandContext) -> str:
    """``audit [n]``: the newest n audit rows (default 10, at most 100)."""
    lang = ctx.lang
    n = 10
    if ctx.args:
        number = _number(ctx.args[0])
        if number is None or number < 1:
            return message("admin_audit_usage", lang)
        n = min(100, int(number))
    entries = await ctx.admin.store.recent(ctx.tenant, n)
    if not entries:
        return message("admin_audit_empty", lang)
    tz = ctx.admin.tz
    lines = [message("admin_audit_header", lang, n=len(entries))]
    for e in entries:
        who = (
            f"<@{e.actor}>"
            if e.actor
            else message("audit_non_admin", lang, p=e.actor_pseudonym[:8])
        )
        change = ""
        if e.before is not None or e.after is not None:
            change = f" `{_short(e.before)}` → `{_short(e.after)}`"
        target = f" {e.target}" if e.target else ""
        outcome = "" if e.outcome == "ok" else f" ({message('audit_' + e.outcome, lang)})"
        lines.append(
            f"{e.at.astimezone(tz):%Y-%m-%d %H:%M} {who} *{e.action}*{target}{change}{outcome}"
        )
    return "\n".join(lines)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    text = text.replace("`", "'")
    return text if len(text) <= 120 else text[:117] + "…"


# --------------------------------------------------------------------------- admin: report


async def admin_report(ctx: CommandContext) -> str | None:
    """``report [week|month]``: the usage report, as text and a chart, in the admin's DM."""
    lang = ctx.lang
    period = ctx.args[0].lower() if ctx.args else "week"
    if period not in ("week", "month"):
        return message("admin_report_usage", lang)
    try:
        try:
            from bot.reports import build_report  # type: ignore[attr-defined]
        except ImportError:
            from bot.reports.report import build_report
    except ImportError:
        return message("admin_report_unavailable", lang)
    settings = ctx.runtime.settings
    catalog = ctx.runtime.catalog
    wanted: dict[str, Any] = {
        "headcount": getattr(settings, "staff_headcount", None),
        "k": getattr(settings, "k_anonymity", 5),
        "model_labels": {m.id: m.display_name for m in catalog.all()},
        "currency": catalog.currency,
        "lang": lang,
    }
    accepted = inspect.signature(build_report).parameters
    kwargs = {k: v for k, v in wanted.items() if k in accepted}
    await ctx.respond(**_ephemeral(message("admin_report_working", lang)))
    try:
        report = await build_report(ctx.runtime.db, ctx.tenant, period, **kwargs)
        png = await asyncio.to_thread(report.png)
        opened = await ctx.client.conversations_open(users=ctx.user)
        dm = opened["channel"]["id"]
        await ctx.client.files_upload_v2(
            channel=dm,
            file=png,
            filename=report.filename("png"),
            title=report.title(),
            initial_comment=report.text(),
        )
    except Exception as exc:
        code = exc.response.get("error") if isinstance(exc, SlackApiError) else None
        log.error("report.failed", error_type=type(exc).__name__, slack_error=code)
        return message("admin_report_failed", lang)
    await ctx.audit("report.sent", target=period)
    return message("admin_report_sent", lang)


# --------------------------------------------------------------------------- help


async def admin_help(ctx: CommandContext) -> str:
    """Every admin subcommand, one line each."""
    lines = [message("admin_help_header", ctx.lang)]
    lines += [f"• {sub.help(ctx.lang)}" for sub in ADMIN_SUBCOMMANDS.values()]
    return "\n".join(lines)


async def staff_help(ctx: CommandContext) -> str:
    """How to use the bot, the user's models, tier and budgets, and the staff subcommands."""
    admin, lang = ctx.admin, ctx.lang
    view = await admin.staff_view(ctx.tenant, ctx.channel, ctx.user)
    lines = [message("staff_help_header", lang)]
    lines.append(
        message(
            "staff_help_models",
            lang,
            models=", ".join(m.display_name for m in view.options.models) or "-",
            tier=view.tier,
        )
    )
    for budget in await admin.budgets(ctx.tenant, ctx.user):
        lines.append(
            message("staff_budget_line", lang, **describe(budget, lang, admin.catalog.currency))
        )
    lines += [f"• {sub.help(lang)}" for sub in STAFF_SUBCOMMANDS.values()]
    if ctx.is_admin:
        lines.append(message("staff_help_admin_hint", lang))
    return "\n".join(lines)


# --------------------------------------------------------------------------- staff


async def staff_model(ctx: CommandContext) -> Reply | str:
    """``model``: the allowed models as buttons · ``model ID`` · ``model auto``."""
    admin, lang = ctx.admin, ctx.lang
    if ctx.args:
        wanted = ctx.args[0]
        if wanted.lower() in ("auto", "default", "reset", "既定"):
            await admin.pick_model(ctx.tenant, ctx.channel, ctx.user, None)
            return message("staff_model_cleared", lang)
        model = await admin.pick_model(ctx.tenant, ctx.channel, ctx.user, wanted)
        assert model is not None
        return message("staff_model_picked", lang, model=model.display_name)
    return await model_picker(ctx.admin, ctx.tenant, ctx.channel, ctx.user, lang)


async def model_picker(
    admin: AdminService, tenant: str, channel: str, user: str, lang: str
) -> Reply:
    """The allowed models for ``user`` in ``channel`` as buttons (the policy's list)."""
    view = await admin.staff_view(tenant, channel, user)
    current = view.options.get(view.picked) or view.options.default
    if current is None:
        text = message("tier_no_model", lang, tier=view.tier)
        return Reply(text, [_section(text)])
    text = message(
        "staff_model_list",
        lang,
        current=current.display_name,
        tier=view.tier,
    )
    buttons = [
        _button(
            m.display_name,
            PICK_MODEL_ACTION,
            json.dumps({"c": channel, "m": m.id}),
            primary=m.id == current.id,
        )
        for m in view.options.models
    ]
    buttons.append(
        _button(
            message("staff_model_auto", lang),
            PICK_MODEL_ACTION,
            json.dumps({"c": channel, "m": ""}),
        )
    )
    return Reply(text, [_section(text), *_actions(buttons, "pick_model")])


async def staff_tier(ctx: CommandContext) -> Reply | str:
    """``tier``: the current tier with buttons · ``tier 1|2|3``."""
    admin, lang = ctx.admin, ctx.lang
    if ctx.args:
        number = _number(ctx.args[0])
        if number is None or int(number) not in TIERS:
            return message("staff_tier_invalid", lang)
        view = await admin.declare_tier(ctx.tenant, ctx.channel, ctx.user, int(number))
        return tier_result(view, lang)
    view = await admin.staff_view(ctx.tenant, ctx.channel, ctx.user)
    text = message("staff_tier_show", lang, tier=view.tier)
    buttons = [
        _button(
            message("staff_tier_button", lang, tier=t),
            PICK_TIER_ACTION,
            json.dumps({"c": ctx.channel, "t": t}),
            primary=t == view.tier,
        )
        for t in TIERS
    ]
    return Reply(text, [_section(text), *_actions(buttons, "pick_tier")])


def tier_result(view: Any, lang: str) -> str:
    """What declaring a tier means: which models will answer, or that none may."""
    if not view.options.models:
        return (
            message("staff_tier_set", lang, tier=view.tier)
            + "\n"
            + message("tier_no_model", lang, tier=view.tier)
        )
    return (
        message("staff_tier_set", lang, tier=view.tier)
        + "\n"
        + message(
            "staff_tier_models",
            lang,
            models=", ".join(m.display_name for m in view.options.models),
        )
    )


async def staff_forget(ctx: CommandContext) -> str:
    """``forget``: delete the user's threads here (masked history and vault) now."""
    count = await ctx.admin.forget(ctx.tenant, ctx.channel, ctx.user, is_dm=ctx.is_dm)
    if not count:
        return message("staff_forget_none", ctx.lang)
    return message("staff_forget_done", ctx.lang, n=count)


def _register_builtin() -> None:
    register_admin_subcommand(
        "models",
        admin_models,
        "`models` 一覧 · `models enable|disable ID` · `models default ID` · "
        "`models channel #チャンネル ID…`（`clear` で解除）",
        "`models` list · `models enable|disable ID` · `models default ID` · "
        "`models channel #channel ID…` (`clear` to lift)",
    )
    register_admin_subcommand(
        "policy",
        admin_policy,
        "`policy` 伏せ字ポリシー · `policy 種別 mask|block|allow [model ID]` · `policy reset [model ID]`",
        "`policy` masking policy · `policy TYPE mask|block|allow [model ID]` · `policy reset [model ID]`",
    )
    register_admin_subcommand(
        "terms",
        admin_terms,
        "`terms list` · `terms add 語 [mask|block]` · `terms remove 語`（登録語の伏せ字・送信禁止）",
        "`terms list` · `terms add TERM [mask|block]` · `terms remove TERM` (custom terms)",
    )
    register_admin_subcommand(
        "access",
        admin_access,
        "`access` · `access everyone` · `access only @グループ… #チャンネル…`（利用できる人）",
        "`access` · `access everyone` · `access only @group… #channel…` (who may use the bot)",
    )
    register_admin_subcommand(
        "consent",
        admin_consent,
        "`consent` · `consent on|off` · `consent text 本文`（版を更新）· `consent renew`（全員に再同意）",
        "`consent` · `consent on|off` · `consent text TEXT` (new version) · `consent renew`",
    )
    register_admin_subcommand(
        "quota",
        admin_quota,
        "`quota` · `quota user tokens|cost N|off`（1人1日）· `quota dept @グループ tokens|cost N|off`"
        "（部署1か月）· `quota economy ID|off`（上限超過時のエコノミーモデル）",
        "`quota` · `quota user tokens|cost N|off` (per user per day) · "
        "`quota dept @group tokens|cost N|off` (per month) · `quota economy ID|off`",
    )
    register_admin_subcommand(
        "audit",
        admin_audit,
        "`audit [件数]` 設定変更の記録（誰が・何を・前後・いつ）",
        "`audit [n]` who changed what, before and after, when",
    )
    register_admin_subcommand(
        "report",
        admin_report,
        "`report [week|month]` 利用状況レポート（グラフ付き）を DM で送る",
        "`report [week|month]` usage report with a chart, sent to your DM",
    )
    register_admin_subcommand("help", admin_help, "`help` このヘルプ", "`help` this help")
    register_staff_subcommand(
        "model",
        staff_model,
        "`/madoguchi model` 使えるモデルを選ぶ（`model ID` / `model auto`）",
        "`/madoguchi model` pick a model (`model ID` / `model auto`)",
    )
    register_staff_subcommand(
        "tier",
        staff_tier,
        "`/madoguchi tier 1|2|3` このチャンネル・DM の機密性区分を宣言（1 公開可・2 庁内限り・3 機密）",
        "`/madoguchi tier 1|2|3` declare the confidentiality tier here",
    )
    register_staff_subcommand(
        "forget",
        staff_forget,
        "`/madoguchi forget` ここでの自分の会話履歴と伏せ字対応表をすぐ削除",
        "`/madoguchi forget` delete your conversation history here now",
    )
    register_staff_subcommand("help", staff_help, "`/madoguchi help` 使い方", "`/madoguchi help`")


_register_builtin()


# --------------------------------------------------------------------------- Slack wiring


class SlackDirectory:
    """User group membership from Slack's ``usergroups.users.list`` (scope usergroups:read)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def members(self, tenant: str, group: str) -> frozenset[str]:
        """The members of ``group``; empty when Slack does not know it."""
        try:
            response = await self.client.usergroups_users_list(usergroup=group)
        except SlackApiError as exc:
            if exc.response.get("error") in ("no_such_subteam", "subteam_not_found"):
                return frozenset()
            raise
        return frozenset(str(u) for u in response.get("users") or [])


def register(app: AsyncApp, runtime: Runtime) -> None:
    """Attach the two slash commands and the staff buttons; give the admin service Slack's
    user groups."""
    admin = runtime.admin
    assert admin is not None, "build_runtime wires the admin service"
    admin.directory = CachedDirectory(
        SlackDirectory(app.client), ttl=runtime.settings.usergroup_cache_seconds
    )
    lang = runtime.settings.language

    async def run(
        table: dict[str, Subcommand],
        body: dict[str, Any],
        respond: Any,
        client: AsyncWebClient,
        *,
        admin_only: bool,
    ) -> None:
        tenant = tenant_of(body)
        user = str(body.get("user_id") or "")
        text = str(body.get("text") or "").strip()
        words = split_args(text)
        name = words[0].lower() if words else "help"
        rest = text.split(None, 1)[1] if len(text.split(None, 1)) > 1 else ""
        is_admin = await admin.is_admin(tenant, user)
        ctx = CommandContext(
            runtime=runtime,
            admin=admin,
            client=client,
            respond=respond,
            tenant=tenant,
            user=user,
            channel=str(body.get("channel_id") or ""),
            command=str(body.get("command") or ""),
            name=name,
            args=words[1:],
            text=rest,
            lang=lang,
            trigger_id=body.get("trigger_id"),
            is_admin=is_admin,
            body=body,
        )
        if admin_only and not is_admin:
            # Only a known subcommand's name is recorded: the rest is whatever was typed.
            known = name if name in table else "unknown"
            await admin.deny(ctx.actor, f"command.{known}")
            log.info("admin.denied", subcommand=known)
            await respond(**_ephemeral(message("admin_only", lang)))
            return
        sub = table.get(name)
        if sub is None:
            sub = table["help"]
            prefix = message("unknown_subcommand", lang, name=name) + "\n"
        else:
            prefix = ""
        try:
            result = await sub.handler(ctx)
        except AdminError as exc:
            result = message(exc.key, lang, **exc.values)
        except Exception as exc:
            log.error("command.failed", subcommand=sub.name, error_type=type(exc).__name__)
            result = message("error_internal", lang)
        if result is None:
            return
        if prefix:
            result = Reply(prefix + (result.text if isinstance(result, Reply) else result))
        await respond(**_ephemeral(result))

    @app.command(ADMIN_COMMAND)
    async def on_admin_command(
        ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient
    ) -> None:
        await ack()
        await run(ADMIN_SUBCOMMANDS, body, respond, client, admin_only=True)

    @app.command(STAFF_COMMAND)
    async def on_staff_command(
        ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient
    ) -> None:
        await ack()
        await run(STAFF_SUBCOMMANDS, body, respond, client, admin_only=False)

    @app.action(CONSENT_ACTION)
    async def on_consent(
        ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient
    ) -> None:
        await ack()
        tenant = tenant_of(body)
        user = str((body.get("user") or {}).get("id") or "")
        value = str((body.get("actions") or [{}])[0].get("value") or "0")
        version = int(value) if value.isdigit() else 0
        if await admin.accept_consent(tenant, user, version):
            text = message("consent_accepted", lang)
        else:
            config = await admin.store.config(tenant)
            text = message("consent_outdated", lang) + "\n\n" + admin.guideline_prompt(config, lang)
        if body.get("response_url"):
            await respond(text=text, response_type="ephemeral", replace_original=False)
        else:
            channel = (body.get("channel") or {}).get("id")
            if channel:
                await client.chat_postEphemeral(channel=channel, user=user, text=text)

    @app.action(re.compile(rf"^{PICK_MODEL_ACTION}(:\d+)?$"))
    async def on_pick_model(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        tenant, user, value = _action_parts(body)
        channel = _action_channel(body, value)
        try:
            model = await admin.pick_model(tenant, channel, user, value.get("m") or None)
            text = (
                message("staff_model_picked", lang, model=model.display_name)
                if model
                else message("staff_model_cleared", lang)
            )
        except AdminError as exc:
            text = message(exc.key, lang, **exc.values)
        await respond(text=text, response_type="ephemeral", replace_original=True)

    @app.action(re.compile(rf"^{PICK_TIER_ACTION}(:\d+)?$"))
    async def on_pick_tier(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        tenant, user, value = _action_parts(body)
        channel = _action_channel(body, value)
        try:
            view = await admin.declare_tier(tenant, channel, user, int(value.get("t") or 0))
            text = tier_result(view, lang)
        except (AdminError, ValueError) as exc:
            text = (
                message(exc.key, lang, **exc.values)
                if isinstance(exc, AdminError)
                else message("staff_tier_invalid", lang)
            )
        await respond(text=text, response_type="ephemeral", replace_original=True)


def _action_parts(body: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    user = str((body.get("user") or {}).get("id") or "")
    raw = str((body.get("actions") or [{}])[0].get("value") or "{}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = {}
    return tenant_of(body), user, value if isinstance(value, dict) else {}


def _action_channel(body: dict[str, Any], value: dict[str, Any]) -> str:
    # The channel Slack reports for the click wins over the one we wrote into the button.
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    return str(channel or value.get("c") or "")
