"""The App Home tab: staff see how to use the bot, their models, the guideline and their budget;
admins also see the controls — model switches as buttons, the masking policy, access, consent,
quota status and the latest audit rows.

Buttons here call the same :class:`bot.admin.AdminService` operations as the slash commands, so
they validate, audit and take effect on every instance the same way. A press by someone who is
not an admin is refused and audited like a command.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.admin import AdminError, AdminService, model_options
from bot.admin.models import is_enabled
from bot.admin.quota import amount, describe
from bot.masking import Action, EntityType
from bot.messages import message
from bot.runtime import Runtime
from handlers.commands import model_line, tenant_of

log = structlog.get_logger("madoguchi.slack.home")

MODEL_TOGGLE_ACTION = "madoguchi_admin_model_toggle"
MODEL_DEFAULT_ACTION = "madoguchi_admin_model_default"
MAX_BLOCKS = 100  # Slack's limit for a Home view


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150], "emoji": True}}


def _section(text: str, accessory: dict[str, Any] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:75], "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


async def staff_blocks(admin: AdminService, tenant: str, user: str, lang: str) -> list[dict]:
    """What every staff member sees: usage, models, guideline, their budgets."""
    config = await admin.store.config(tenant)
    blocks: list[dict[str, Any]] = [
        _header(message("home_title", lang)),
        _section(message("home_how_to", lang)),
        {"type": "divider"},
    ]
    lines = []
    for tier in (1, 2, 3):
        options = model_options(admin.catalog, config, channel=None, tier=tier)
        if options.models:
            names = ", ".join(m.display_name for m in options.models)
            lines.append(message("home_models_tier", lang, tier=tier, models=names))
    blocks.append(_section(message("home_models", lang) + "\n" + ("\n".join(lines) or "-")))
    guideline = admin.guideline(config, lang)
    consented = config.consent.enabled and await admin.records.has_consented(
        tenant, admin.pseudonym(user), config.consent.version
    )
    state = (
        message("home_consented", lang)
        if consented
        else message("home_consent_needed", lang)
        if config.consent.enabled
        else ""
    )
    blocks.append(_section(message("home_guideline", lang) + "\n" + guideline))
    if state:
        blocks.append(_context(state))
    budgets = await admin.budgets(tenant, user)
    if budgets:
        currency = admin.catalog.currency
        text = "\n".join(
            message("staff_budget_line", lang, **describe(b, lang, currency)) for b in budgets
        )
        blocks.append(_section(message("home_budget", lang) + "\n" + text))
    return blocks


async def admin_blocks(admin: AdminService, tenant: str, lang: str) -> list[dict]:
    """The admin section: model switches, policy, access, consent, quotas, audit."""
    config = await admin.store.config(tenant)
    default = admin.tenant_default(config)
    blocks: list[dict[str, Any]] = [{"type": "divider"}, _header(message("home_admin_title", lang))]
    blocks.append(_section(message("home_admin_models", lang)))
    for model in admin.catalog.all():
        on = is_enabled(admin.catalog, config, model)
        text = model_line(model, on, default, lang)
        buttons = [
            _button(
                message("home_disable" if on else "home_enable", lang),
                MODEL_TOGGLE_ACTION,
                json.dumps({"m": model.id, "on": not on}),
                None if on else "primary",
            )
        ]
        if on and model.id != default:
            buttons.append(
                _button(message("home_make_default", lang), MODEL_DEFAULT_ACTION, model.id)
            )
        blocks.append(_section(text))
        blocks.append(
            {"type": "actions", "block_id": f"model_{model.id}"[:255], "elements": buttons}
        )
    policy = config.policy
    strict = [
        f"`{t.value}` {policy.action(t).value}"
        for t in EntityType
        if policy.action(t) is not Action.MASK
    ]
    overrides = "; ".join(
        f"{m}: " + ", ".join(f"{t}={a}" for t, a in acts.items())
        for m, acts in policy.models.items()
    )
    blocks.append(
        _section(
            message(
                "home_admin_policy",
                lang,
                actions=", ".join(strict) or message("home_all_masked", lang),
                overrides=overrides or "-",
                terms=len(config.terms),
            )
        )
    )
    access = config.access
    who = (
        message("admin_access_show_everyone", lang)
        if access.mode == "everyone"
        else message(
            "admin_access_show_only",
            lang,
            groups=" ".join(access.labels.get(g, g) for g in access.usergroups) or "-",
            channels=" ".join(f"<#{c}>" for c in access.channels) or "-",
        )
    )
    consent = message(
        "admin_consent_show",
        lang,
        state=message("flag_on" if config.consent.enabled else "flag_off", lang),
        version=config.consent.version,
    )
    blocks.append(_section(who + "\n" + consent))
    quota = config.quota
    currency = admin.catalog.currency
    off = message("flag_off", lang)
    now = admin.quotas.now()
    tokens, cost = await admin.records.use(
        tenant, None, now.replace(day=1).strftime("%Y-%m-%d"), now.strftime("%Y-%m-%d")
    )
    quota_lines = [
        message(
            "admin_quota_user_line",
            lang,
            tokens=amount(quota.user_daily_tokens, "tokens", lang, currency)
            if quota.user_daily_tokens
            else off,
            cost=amount(quota.user_daily_cost, "cost", lang, currency)
            if quota.user_daily_cost
            else off,
        ),
        message("admin_quota_economy_line", lang, model=quota.economy_model or off),
        message(
            "admin_quota_month_line",
            lang,
            tokens=amount(tokens, "tokens", lang, currency),
            cost=amount(cost, "cost", lang, currency),
        ),
    ]
    for group, dept in quota.departments.items():
        quota_lines.insert(
            1,
            message(
                "admin_quota_dept_line",
                lang,
                department=dept.label or group,
                tokens=amount(dept.monthly_tokens, "tokens", lang, currency)
                if dept.monthly_tokens
                else off,
                cost=amount(dept.monthly_cost, "cost", lang, currency)
                if dept.monthly_cost
                else off,
            ),
        )
    blocks.append(_section(message("admin_quota_header", lang) + "\n" + "\n".join(quota_lines)))
    entries = await admin.store.recent(tenant, 5)
    if entries:
        tz = admin.tz
        lines = [
            f"{e.at.astimezone(tz):%m/%d %H:%M} "
            + (
                f"<@{e.actor}>"
                if e.actor
                else message("audit_non_admin", lang, p=e.actor_pseudonym[:8])
            )
            + f" {e.action}"
            + (f" {e.target}" if e.target else "")
            for e in entries
        ]
        blocks.append(_section(message("home_admin_audit", lang) + "\n" + "\n".join(lines)))
    blocks.append(_context(message("home_admin_hint", lang)))
    return blocks


async def publish_home(
    runtime: Runtime, client: AsyncWebClient, tenant: str, user: str, notice: str | None = None
) -> None:
    """Build and publish the Home tab of ``user``."""
    admin = runtime.admin
    assert admin is not None
    lang = runtime.settings.language
    blocks: list[dict[str, Any]] = []
    if notice:
        blocks.append(_section(notice))
    blocks += await staff_blocks(admin, tenant, user, lang)
    if await admin.is_admin(tenant, user):
        blocks += await admin_blocks(admin, tenant, lang)
    await client.views_publish(user_id=user, view={"type": "home", "blocks": blocks[:MAX_BLOCKS]})


def register(app: AsyncApp, runtime: Runtime) -> None:
    """Publish the Home tab when it is opened; handle the admin buttons on it."""
    admin = runtime.admin
    assert admin is not None
    lang = runtime.settings.language

    @app.event("app_home_opened")
    async def on_home_opened(
        event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        await publish_home(runtime, client, tenant_of(body), str(event["user"]))

    async def admin_press(
        body: dict[str, Any], client: AsyncWebClient, action: str, change: Any
    ) -> None:
        tenant = tenant_of(body)
        user = str((body.get("user") or {}).get("id") or "")
        actor = admin.actor(tenant, user)
        notice = None
        if not await admin.is_admin(tenant, user):
            await admin.deny(actor, f"home.{action}")
            notice = ":warning: " + message("admin_only", lang)
        else:
            try:
                notice = await change(actor)
            except AdminError as exc:
                notice = ":warning: " + message(exc.key, lang, **exc.values)
        await publish_home(runtime, client, tenant, user, notice)

    @app.action(MODEL_TOGGLE_ACTION)
    async def on_toggle(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        value = _value(body)
        model_id, enabled = str(value.get("m") or ""), bool(value.get("on"))

        async def change(actor: Any) -> str:
            await admin.set_model_enabled(actor, model_id, enabled)
            key = "admin_model_enabled" if enabled else "admin_model_disabled_done"
            return message(key, lang, model=model_id)

        await admin_press(body, client, "models.toggle", change)

    @app.action(MODEL_DEFAULT_ACTION)
    async def on_default(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        model_id = str((body.get("actions") or [{}])[0].get("value") or "")

        async def change(actor: Any) -> str:
            await admin.set_default_model(actor, model_id)
            return message("admin_model_default_done", lang, model=model_id)

        await admin_press(body, client, "models.default", change)


def _value(body: dict[str, Any]) -> dict[str, Any]:
    raw = str((body.get("actions") or [{}])[0].get("value") or "{}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


__all__ = ["publish_home", "register"]
