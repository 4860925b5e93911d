"""Helpers for the admin tests: signed slash commands and button presses through the real bolt
app, answered via ``response_url`` on the local Slack-compatible server. (No tests here.)"""

from __future__ import annotations

import json
from typing import Any

from tests.harness import SIGNING_SECRET, BotHarness
from tests.peers import block_actions, post_interaction, post_slash_command, slash_command
from tests.peers.slack_api import validate_blocks

ADMIN = "UADMIN01"
STAFF = "U0001"
OTHER = "U0002"


def admin_bot(tmp_path: Any, **settings: Any) -> BotHarness:
    """A bot whose admin is ``ADMIN``; group lookups are never cached (tests change groups)."""
    settings.setdefault("admin_users", [ADMIN])
    settings.setdefault("usergroup_cache_seconds", 0)
    harness = BotHarness(tmp_path, **settings)
    harness.slack.add_user(ADMIN, name="kanri.taro", real_name="管理 太郎", title="DX推進課")
    return harness


async def command(
    bot: BotHarness,
    text: str,
    *,
    user: str = ADMIN,
    channel: str = "C0001",
    name: str = "/madoguchi-admin",
    replies: int = 1,
) -> dict[str, Any]:
    """Run a slash command as Slack would; return the (last) ephemeral reply's JSON body."""
    url = bot.slack.new_response_url()
    fields = slash_command(name, text, user=user, channel=channel, response_url=url)
    response = await post_slash_command(bot.url + "/slack/events", fields, SIGNING_SECRET)
    assert response.status == 200
    calls = await bot.slack.wait_for(
        lambda c: c.method == "response_url" and c.args.get("response_url") == url,
        count=replies,
        timeout=10,
    )
    reply = calls[-1].args
    if reply.get("blocks"):
        validate_blocks(reply["blocks"])  # what Slack would accept
    return reply


async def staff(bot: BotHarness, text: str, **kwargs: Any) -> dict[str, Any]:
    """``/madoguchi TEXT`` as a staff member (default ``STAFF``)."""
    kwargs.setdefault("user", STAFF)
    return await command(bot, text, name="/madoguchi", **kwargs)


async def press(
    bot: BotHarness,
    action_id: str,
    value: str,
    *,
    user: str = STAFF,
    channel: str = "C0001",
    view: dict[str, Any] | None = None,
    wait: bool = True,
) -> dict[str, Any] | None:
    """Press a button; return the ephemeral answer posted to the response_url (if ``wait``)."""
    url = bot.slack.new_response_url()
    payload = block_actions(
        action_id, value=value, user=user, channel=channel, response_url=url, view=view
    )
    response = await post_interaction(bot.url + "/slack/events", payload, SIGNING_SECRET)
    assert response.status == 200
    if not wait:
        return None
    [call] = await bot.slack.wait_for(
        lambda c: c.method == "response_url" and c.args.get("response_url") == url, timeout=10
    )
    return call.args


def buttons(reply: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button in a reply's (or view's) blocks."""
    return [
        element
        for block in reply.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ] + [
        block["accessory"]
        for block in reply.get("blocks") or []
        if block.get("accessory", {}).get("type") == "button"
    ]


def value_of(button: dict[str, Any]) -> dict[str, Any]:
    """A button's JSON value."""
    return json.loads(button["value"])


def models_file(tmp_path: Any) -> Any:
    """A catalog with a closed-network model allowed up to tier 2 and an economy model."""
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n"
        "  - id: closed-llm\n"
        "    display_name: 庁内LLM\n"
        "    context_window: 32000\n"
        "    max_output_tokens: 1024\n"
        "    max_tier: 2\n"
        "    enabled: true\n"
        "  - id: economy\n"
        "    display_name: エコノミー\n"
        "    context_window: 32000\n"
        "    max_output_tokens: 1024\n"
        "    price_input: 1\n"
        "    price_output: 1\n"
        "    max_tier: 1\n"
        "    enabled: true\n",
        encoding="utf-8",
    )
    return path
