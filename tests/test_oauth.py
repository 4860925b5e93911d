"""Many workspaces: the Slack OAuth install flow against the local Slack-compatible server
(``oauth.v2.access``), the installation store on our database, and tenant isolation — a
workspace never sees another workspace's threads, and answers go out with its own token."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.storage import Database
from bot.storage.scale_tables import InstallationRow
from handlers.oauth import DatabaseOAuthStateStore, SealedInstallationStore, installation_store
from tests.harness import BotHarness
from tests.peers import Identity, app_mention, event_callback, thread_reply

CLIENT_ID = "1111.2222"  # what FakeSlackAPI accepts
CLIENT_SECRET = "client-secret"
AUTHORIZE_URL = "https://slack.example.lg.jp/oauth/v2/authorize"
TEAM_A = Identity()  # T0001, bot user UBOT
TEAM_B = Identity(team_id="T0002", team="第二市役所", user_id="UBOT2", bot_id="BBOT2")
CHANNEL = "C0001"


def oauth_harness(tmp_path: Path, **settings: Any) -> BotHarness:
    return BotHarness(
        tmp_path,
        slack_bot_token=None,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        slack_authorize_url=AUTHORIZE_URL,
        **settings,
    )


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotHarness]:
    async with oauth_harness(tmp_path) as harness:
        # Only tokens issued by oauth.v2.access are valid from now on.
        harness.slack.accept_any_token = False
        yield harness


async def install(
    bot: BotHarness, team: Identity, *, code: str = "code-1"
) -> tuple[int, str, str | None]:
    """Run the browser side of the flow: /slack/install → consent → /slack/oauth_redirect.

    Returns the final status, the page and the token Slack issued (None when it failed).
    """
    bot.slack.bot = team
    before = len(bot.slack.calls_to("oauth.v2.access"))
    async with aiohttp.ClientSession() as http:
        async with http.get(bot.url + "/slack/install", allow_redirects=False) as response:
            assert response.status == 302
            location = response.headers["Location"]
            cookie = response.headers["Set-Cookie"].split(";", 1)[0]
        assert location.startswith(AUTHORIZE_URL + "?")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        assert query["client_id"] == [CLIENT_ID]
        assert "chat:write" in query["scope"][0].split(",")
        # The user approves on Slack, which redirects back with a code and the state.
        url = (
            bot.url
            + "/slack/oauth_redirect?"
            + urllib.parse.urlencode({"code": code, "state": query["state"][0]})
        )
        async with http.get(url, headers={"Cookie": cookie}) as response:
            status, page = response.status, await response.text()
    calls = bot.slack.calls_to("oauth.v2.access")[before:]
    token = calls[0].response.get("access_token") if calls and calls[0].ok else None
    return status, page, token


def answers(bot: BotHarness, ts: str) -> list[Any]:
    return [m for m in bot.slack.messages(CHANNEL, thread_ts=ts) if m.bot_id]


def sent_with(bot: BotHarness, ts: str) -> set[str | None]:
    return {
        c.token
        for c in bot.slack.calls
        if c.method in ("chat.postMessage", "chat.update")
        and (c.args.get("thread_ts") == ts or c.args.get("ts") in {m.ts for m in answers(bot, ts)})
    }


async def test_install_flow_stores_the_workspace_and_its_token_answers(bot: BotHarness) -> None:
    status, page, token = await install(bot, TEAM_A)
    assert status == 200
    assert "インストールしました" in page and "窓口テスト" in page
    assert token is not None
    [call] = bot.slack.calls_to("oauth.v2.access")
    assert call.args["code"] == "code-1"

    # Stored sealed: the plain token is nowhere in the row.
    async with bot.runtime.db.session() as session:
        [row] = list(await session.scalars(select(InstallationRow)))
    assert row.tenant == "T0001" and row.bot_user_id == "UBOT"
    assert token.encode() not in row.bot_token_sealed
    assert row.installer_pseudonym and row.installer_pseudonym != "U0001"

    event = app_mention("転入届の案内文を作ってください")
    await bot.send(event)
    [usage] = await bot.usage.wait(1)
    assert usage.outcome == "ok" and usage.tenant == "T0001"
    assert len(answers(bot, event["ts"])) == 1
    assert sent_with(bot, event["ts"]) == {token}


async def test_a_bad_state_or_code_is_refused_in_japanese(bot: BotHarness) -> None:
    async with aiohttp.ClientSession() as http:
        url = bot.url + "/slack/oauth_redirect?code=code-1&state=forged"
        async with http.get(url, headers={"Cookie": "slack-app-oauth-state=forged"}) as response:
            assert response.status == 401
            assert "インストールを完了できませんでした" in await response.text()
    assert not bot.slack.calls_to("oauth.v2.access")

    status, page, token = await install(bot, TEAM_A, code="invalid")
    assert status != 200 and token is None
    assert "インストールを完了できませんでした" in page
    async with bot.runtime.db.session() as session:
        assert list(await session.scalars(select(InstallationRow))) == []


async def test_events_from_a_workspace_that_did_not_install_are_not_answered(
    bot: BotHarness,
) -> None:
    await install(bot, TEAM_A)
    stranger = app_mention("インストールしていない組織から", team="T0009")
    await bot.send(event_callback(stranger, team_id="T0009"))
    mine = app_mention("インストール済みの組織から")
    await bot.send(mine)
    [usage] = await bot.usage.wait(1)
    assert usage.tenant == "T0001"
    assert answers(bot, stranger["ts"]) == []
    assert len(bot.openai.requests) == 1


async def test_workspaces_never_see_each_others_threads(bot: BotHarness) -> None:
    _, _, token_a = await install(bot, TEAM_A, code="code-a")
    _, _, token_b = await install(bot, TEAM_B, code="code-b")
    assert token_a and token_b and token_a != token_b

    # Workspace A starts a thread.
    first = app_mention("A市の質問です")
    await bot.send(first)
    await bot.usage.wait(1)

    # The same channel and thread ids in workspace B: a reply there is not part of A's thread.
    stray = thread_reply("B市からの返信", thread_ts=first["ts"], team="T0002")
    await bot.send(event_callback(stray, team_id="T0002", bot_user_id="UBOT2"))
    # B's own mention with the very same ids starts B's own conversation, without A's history.
    mine = app_mention("B市の質問です", ts=first["ts"], team="T0002", bot_user_id="UBOT2")
    await bot.send(event_callback(mine, team_id="T0002", bot_user_id="UBOT2"))
    events = await bot.usage.wait(2)
    assert [e.tenant for e in events] == ["T0001", "T0002"]
    assert len(bot.openai.requests) == 2
    b_request = bot.openai.requests[1]
    assert [m["role"] for m in b_request.messages] == ["system", "user"]
    assert "A市" not in b_request.all_text

    # Every Slack call for a workspace used that workspace's own token.
    by_token: dict[str | None, set[str]] = {}
    for call in bot.slack.calls:
        if call.method in ("chat.postMessage", "chat.update"):
            by_token.setdefault(call.token, set()).add(call.args.get("text", ""))
    assert set(by_token) == {token_a, token_b}

    store = installation_store(bot.runtime)
    assert [(w.tenant, w.team_name) for w in await store.workspaces()] == [
        ("T0001", "窓口テスト"),
        ("T0002", "第二市役所"),
    ]


async def test_uninstalling_forgets_the_workspace(bot: BotHarness) -> None:
    await install(bot, TEAM_A, code="code-a")
    await install(bot, TEAM_B, code="code-b")
    store = installation_store(bot.runtime)
    assert len(await store.workspaces()) == 2
    uninstalled = event_callback({"type": "app_uninstalled"}, team_id="T0002", bot_user_id="UBOT2")
    assert (await bot.send(uninstalled)).status == 200
    for _ in range(200):  # bolt handles the event after acknowledging it
        if len(await store.workspaces()) == 1:
            break
        await asyncio.sleep(0.02)
    assert [w.tenant for w in await store.workspaces()] == ["T0001"]
    # Workspace B's events are no longer answered; A's still are.
    gone = app_mention("アンインストール後の質問", team="T0002", bot_user_id="UBOT2")
    await bot.send(event_callback(gone, team_id="T0002", bot_user_id="UBOT2"))
    await bot.send(app_mention("A市の質問"))
    [usage] = await bot.usage.wait(1)
    assert usage.tenant == "T0001" and answers(bot, gone["ts"]) == []


async def test_token_mode_is_unchanged_without_client_credentials(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as plain, aiohttp.ClientSession() as http:
        assert plain.app.oauth_flow is None
        async with http.get(plain.url + "/slack/install", allow_redirects=False) as response:
            assert response.status == 404
        event = app_mention("トークン方式の質問")
        await plain.send(event)
        await plain.usage.wait(1)
        assert {c.token for c in plain.slack.calls_to("chat.postMessage")} == {"xoxb-test-token"}


async def test_state_issued_by_one_instance_is_consumed_once_by_another(
    database_url: str,
) -> None:
    first, second = Database(database_url), Database(database_url)
    await first.upgrade()
    try:
        state = await DatabaseOAuthStateStore(first).async_issue()
        assert await DatabaseOAuthStateStore(second).async_consume(state) is True
        assert await DatabaseOAuthStateStore(first).async_consume(state) is False
        expired = await DatabaseOAuthStateStore(first, expiration_seconds=-1).async_issue()
        assert await DatabaseOAuthStateStore(second).async_consume(expired) is False
    finally:
        await first.dispose()
        await second.dispose()


async def test_the_store_round_trips_and_refuses_another_vault_key(db: Database) -> None:
    from slack_sdk.oauth.installation_store.models.installation import Installation

    store = SealedInstallationStore(db, CLIENT_ID, b"vault-key-1", b"pseudonym-key")
    installation = Installation(
        app_id="A0001",
        team_id="T0001",
        team_name="窓口テスト",
        bot_token="xoxb-secret-1",
        bot_id="BBOT",
        bot_user_id="UBOT",
        bot_scopes="chat:write,app_mentions:read",
        user_id="U0001",
    )
    await store.async_save(installation)
    installation.bot_token = "xoxb-secret-2"  # re-install: the row is replaced, not added
    await store.async_save(installation)
    bot = await store.async_find_bot(enterprise_id=None, team_id="T0001")
    assert bot is not None and bot.bot_token == "xoxb-secret-2"
    assert bot.bot_scopes == ["chat:write", "app_mentions:read"]
    found = await store.async_find_installation(enterprise_id=None, team_id="T0001")
    assert found is not None and found.bot_token == "xoxb-secret-2" and found.user_id == ""
    assert len(await store.workspaces()) == 1

    other_key = SealedInstallationStore(db, CLIENT_ID, b"vault-key-2", b"pseudonym-key")
    assert await other_key.async_find_bot(enterprise_id=None, team_id="T0001") is None

    await store.async_delete_all(enterprise_id=None, team_id="T0001")
    assert await store.async_find_bot(enterprise_id=None, team_id="T0001") is None
