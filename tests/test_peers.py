"""Tests (and worked examples) for the local protocol peers in ``tests/peers``.

Every test drives a peer with the *real* client — slack_sdk's AsyncWebClient, bolt's
AsyncApp, openai's AsyncOpenAI / AsyncAzureOpenAI — so they also pin down how those SDKs
behave against Slack/OpenAI wire formats (retries, Retry-After, stream parsing).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import aiohttp
import openai
import pytest
from aiohttp.test_utils import TestClient, TestServer
from openai import AsyncAzureOpenAI, AsyncOpenAI
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.peers import (
    ChatRequest,
    CutStream,
    FakeOpenAI,
    FakeSlackAPI,
    Hang,
    Reply,
    Status,
    StreamError,
    app_mention,
    block_actions,
    bot_message,
    dm_message,
    event_callback,
    file_share_message,
    message_changed,
    post_event,
    post_interaction,
    post_slash_command,
    sign_request,
    slash_command,
    spawn_peer,
    thread_reply,
    url_verification,
)
from tests.peers.slack_api import MAX_SECTION_TEXT, MAX_TEXT_CHARS

TOKEN = "xoxb-1-test"
SECRET = "test-signing-secret"
MSGS = [{"role": "user", "content": "住民票の写しを取りたいです"}]


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackAPI]:
    async with FakeSlackAPI() as fake:
        yield fake


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake


def web_client(fake: FakeSlackAPI, **kwargs: object) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=fake.base_url, **kwargs)  # type: ignore[arg-type]


# =========================================================================== Slack API
async def test_post_update_delete_and_message_state(slack: FakeSlackAPI) -> None:
    client = web_client(slack)
    auth = await client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"], auth["user"]) == (
        "UBOT",
        "BBOT",
        "T0001",
        "madoguchi",
    )

    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "考え中…"}}]
    first = await client.chat_postMessage(channel="C0001", text="考え中…", blocks=blocks)
    second = await client.chat_postMessage(channel="C0001", text="2", thread_ts=first["ts"])
    assert first["channel"] == "C0001" and first["message"]["bot_id"] == "BBOT"
    # ts strings are unique and strictly increasing.
    assert float(second["ts"]) > float(first["ts"])
    assert first["ts"].split(".")[1].isdigit() and len(first["ts"].split(".")[1]) == 6

    await client.chat_update(channel="C0001", ts=first["ts"], text="回答です", blocks=[])
    msg = slack.message("C0001", first["ts"])
    assert msg is not None
    assert (msg.text, msg.blocks, msg.edits) == ("回答です", None, 1)
    assert msg.history[0]["text"] == "考え中…"
    assert [m.text for m in slack.messages("C0001", thread_ts=first["ts"])] == ["回答です", "2"]

    await client.chat_delete(channel="C0001", ts=second["ts"])
    assert [m.ts for m in slack.messages("C0001")] == [first["ts"]]
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel="C0001", ts=second["ts"], text="x")
    assert err.value.response["error"] == "message_not_found"

    # Recorded calls: postMessage went as JSON, chat.delete as query params on a POST.
    post = slack.calls_to("chat.postMessage")[0]
    assert post.content_type == "application/json" and post.args["blocks"] == blocks
    delete = slack.calls_to("chat.delete")[0]
    assert delete.http_method == "POST" and delete.args["ts"] == second["ts"]
    assert delete.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_form_encoded_requests_are_decoded(slack: FakeSlackAPI) -> None:
    client = web_client(slack)
    blocks = [{"type": "divider"}]
    # data= sends application/x-www-form-urlencoded with blocks as a JSON string.
    resp = await client.api_call(
        "chat.postMessage", data={"channel": "C0001", "text": "t", "blocks": json.dumps(blocks)}
    )
    assert resp["ok"]
    call = slack.calls_to("chat.postMessage")[0]
    assert call.content_type == "application/x-www-form-urlencoded"
    assert call.args["blocks"] == blocks
    # A token form field authenticates too (no Authorization header).
    anon = AsyncWebClient(base_url=slack.base_url)
    assert (await anon.api_call("auth.test", data={"token": TOKEN}))["ok"]


async def test_auth_failures(slack: FakeSlackAPI) -> None:
    for client, code in [
        (AsyncWebClient(base_url=slack.base_url), "not_authed"),
        (AsyncWebClient(token="nope", base_url=slack.base_url), "invalid_auth"),
    ]:
        with pytest.raises(SlackApiError) as err:
            await client.chat_postMessage(channel="C0001", text="x")
        assert err.value.response["error"] == code
    slack.revoke(TOKEN)
    with pytest.raises(SlackApiError) as err:
        await web_client(slack).auth_test()
    assert err.value.response["error"] == "token_revoked"
    # Unknown methods answer like Slack does.
    with pytest.raises(SlackApiError) as err:
        await AsyncWebClient(token="xoxb-2", base_url=slack.base_url).api_call("no.such")
    assert err.value.response["error"] == "unknown_method"


async def test_429_without_retry_handler_raises(slack: FakeSlackAPI) -> None:
    # AsyncWebClient's default retry handlers only cover connection errors: a 429 surfaces
    # as SlackApiError carrying the status and the Retry-After header.
    slack.fail_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await web_client(slack).chat_postMessage(channel="C0001", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] == "7"


async def test_429_retry_after_is_honoured_by_sdk_handler(slack: FakeSlackAPI) -> None:
    client = web_client(slack, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
    slack.fail_next("chat.update", times=1, status=429, retry_after=1)
    posted = await client.chat_postMessage(channel="C0001", text="a")
    t0 = time.monotonic()
    await client.chat_update(channel="C0001", ts=posted["ts"], text="b")
    elapsed = time.monotonic() - t0
    calls = slack.calls_to("chat.update")
    assert [c.status for c in calls] == [429, 200]
    # The SDK sleeps int(Retry-After) + random() (0..1 s of jitter).
    assert 1.0 <= calls[1].time - calls[0].time <= 2.5 and elapsed >= 1.0
    assert slack.messages("C0001")[0].text == "b"


async def test_scripted_errors_limits_and_latency(slack: FakeSlackAPI) -> None:
    client = web_client(slack)
    slack.fail_next("chat.postMessage", error="msg_too_long")
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0001", text="short")
    assert err.value.response.status_code == 200 and err.value.response["error"] == "msg_too_long"

    # Real limits, exactly at the boundary.
    await client.chat_postMessage(channel="C0001", text="あ" * MAX_TEXT_CHARS)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0001", text="あ" * (MAX_TEXT_CHARS + 1))
    assert err.value.response["error"] == "msg_too_long"

    def section(n: int) -> list[dict[str, object]]:
        return [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * n}}]

    await client.chat_postMessage(channel="C0001", text="t", blocks=section(MAX_SECTION_TEXT))
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0001", text="t", blocks=section(3001))
    assert err.value.response["error"] == "invalid_blocks"
    assert "json-pointer:/blocks/0/text/text" in err.value.response["errors"][0]
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0001", text="t", blocks=[{"type": "divider"}] * 51)
    assert err.value.response["error"] == "invalid_blocks"

    slack.fail_next("*", status=503)
    with pytest.raises(SlackApiError) as err:
        await client.auth_test()
    assert err.value.response.status_code == 503

    slack.set_latency("users.info", 0.2)
    t0 = time.monotonic()
    await client.users_info(user="U0001")
    assert time.monotonic() - t0 >= 0.2


async def test_sliding_window_rate_limit(slack: FakeSlackAPI) -> None:
    client = web_client(slack)
    slack.rate_limit("chat.postMessage", 2, per=30.0, key="channel")
    await client.chat_postMessage(channel="C0001", text="1")
    await client.chat_postMessage(channel="C0001", text="2")
    await client.chat_postMessage(channel="C0002", text="other channel has its own budget")
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0001", text="3")
    assert err.value.response.status_code == 429
    assert 29 <= int(err.value.response.headers["Retry-After"]) <= 30


async def test_native_streaming_methods() -> None:
    async with FakeSlackAPI(stream_ttl=0.3) as slack:
        client = web_client(slack)
        parent = await client.chat_postMessage(channel="C0001", text="質問")
        # slack_sdk's helper: buffers, then chat.startStream / appendStream / stopStream.
        streamer = await client.chat_stream(
            channel="C0001",
            thread_ts=parent["ts"],
            recipient_team_id="T0001",
            recipient_user_id="U0001",
            buffer_size=4,
        )
        for piece in ["転入届は", "14日以内に", "提出してください。"]:
            await streamer.append(markdown_text=piece)
        await streamer.stop(
            blocks=[{"type": "context", "elements": [{"type": "mrkdwn", "text": "AI"}]}]
        )
        assert [c.method for c in slack.calls[-4:]] == [
            "chat.startStream",
            "chat.appendStream",
            "chat.appendStream",
            "chat.stopStream",
        ]
        msg = slack.message("C0001", streamer.ts or "")
        assert msg is not None and msg.thread_ts == parent["ts"]
        assert msg.text == "転入届は14日以内に提出してください。"
        assert msg.stream_state == "completed" and msg.blocks and msg.blocks[0]["type"] == "context"
        with pytest.raises(SlackApiError) as err:
            await client.chat_appendStream(channel="C0001", ts=msg.ts, markdown_text="more")
        assert err.value.response["error"] == "message_not_in_streaming_state"

        # A stream past its lifetime is closed by Slack.
        started = await client.chat_startStream(channel="C0001", thread_ts=parent["ts"])
        await asyncio.sleep(0.35)
        with pytest.raises(SlackApiError) as err:
            await client.chat_appendStream(channel="C0001", ts=started["ts"], markdown_text="x")
        assert err.value.response["error"] == "message_not_in_streaming_state"

        # A chunk above 12,000 characters is refused.
        live = await client.chat_startStream(channel="C0001", thread_ts=parent["ts"])
        with pytest.raises(SlackApiError) as err:
            await client.chat_appendStream(
                channel="C0001", ts=live["ts"], markdown_text="x" * 12_001
            )
        assert err.value.response["error"] == "msg_too_long"
        slack.stop_stream_by_user("C0001", live["ts"])
        with pytest.raises(SlackApiError) as err:
            await client.chat_stopStream(channel="C0001", ts=live["ts"])
        assert err.value.response["error"] == "stopped_by_user"


async def test_files_upload_v2_end_to_end(slack: FakeSlackAPI) -> None:
    client = web_client(slack)
    content = "氏名,住所\n山田,東京都\n".encode()
    result = await client.files_upload_v2(
        channel="C0001",
        content=content,
        filename="export.csv",
        title="エクスポート",
        initial_comment="結果です",
        thread_ts="1700000000.000100",
    )
    file_id = result["file"]["id"]
    assert slack.files[file_id]["content"] == content
    assert slack.files[file_id]["title"] == "エクスポート"
    assert [c.method for c in slack.calls] == [
        "files.getUploadURLExternal",
        "files.upload_url",
        "files.completeUploadExternal",
    ]
    shared = slack.messages("C0001")[-1]
    assert shared.text == "結果です" and shared.files and shared.files[0]["id"] == file_id


# slack_sdk itself triggers aiohttp's BasicAuth deprecation for oauth.v2.access.
@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
async def test_oauth_v2_access_issues_a_working_token() -> None:
    async with FakeSlackAPI(accept_any_token=False) as slack:
        anon = AsyncWebClient(base_url=slack.base_url)
        resp = await anon.oauth_v2_access(
            client_id=slack.client_id, client_secret=slack.client_secret, code="abc"
        )
        assert resp["team"]["id"] == "T0001" and resp["bot_user_id"] == "UBOT"
        assert resp["token_type"] == "bot" and resp["access_token"].startswith("xoxb-")
        # The issued token works; an arbitrary one does not (accept_any_token=False).
        bot = AsyncWebClient(token=resp["access_token"], base_url=slack.base_url)
        assert (await bot.auth_test())["bot_id"] == "BBOT"
        with pytest.raises(SlackApiError):
            await AsyncWebClient(token="xoxb-forged", base_url=slack.base_url).auth_test()
        for kwargs, code in [
            ({"client_secret": "wrong", "code": "abc"}, "bad_client_secret"),
            ({"client_secret": slack.client_secret, "code": "invalid"}, "invalid_code"),
        ]:
            with pytest.raises(SlackApiError) as err:
                await anon.oauth_v2_access(client_id=slack.client_id, **kwargs)  # type: ignore[arg-type]
            assert err.value.response["error"] == code


async def test_directory_views_reactions_and_threads(slack: FakeSlackAPI) -> None:
    client = web_client(slack)
    slack.add_user("U0002", real_name="佐藤 一郎", email="sato@city.example.lg.jp", title="税務課")
    user = (await client.users_info(user="U0002"))["user"]
    assert user["profile"]["email"] == "sato@city.example.lg.jp" and user["tz"] == "Asia/Tokyo"
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user="U9999")
    assert err.value.response["error"] == "user_not_found"

    slack.add_channel("C0042", name="市民課-問い合わせ", is_private=True)
    info = (await client.conversations_info(channel="C0042"))["channel"]
    assert info["name"] == "市民課-問い合わせ" and info["is_private"]
    assert (await client.conversations_info(channel="D0001"))["channel"]["is_im"]
    dm = await client.conversations_open(users="U0002")
    assert dm["channel"]["id"] == "D0002"
    # Posting to a user id lands in the DM with them.
    assert (await client.chat_postMessage(channel="U0002", text="hi"))["channel"] == "D0002"

    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "窓口"}}],
    }
    await client.views_publish(user_id="U0001", view=home)
    assert slack.home_views["U0001"]["blocks"] == home["blocks"]
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "設定"}, "blocks": []}
    assert (await client.views_open(trigger_id="123.456", view=modal))["view"]["type"] == "modal"

    await client.reactions_add(channel="C0001", name="eyes", timestamp="1700000000.000100")
    with pytest.raises(SlackApiError) as err:
        await client.reactions_add(channel="C0001", name="eyes", timestamp="1700000000.000100")
    assert err.value.response["error"] == "already_reacted"
    assert slack.reactions[("C0001", "1700000000.000100")] == ["eyes"]

    slack.add_usergroup("S0001", ["U0001", "U0002"])
    assert (await client.usergroups_users_list(usergroup="S0001"))["users"] == ["U0001", "U0002"]

    # Seed a user thread, reply as the bot, read the thread back.
    parent = slack.add_message("C0001", "質問があります")
    await client.chat_postMessage(channel="C0001", text="どうぞ", thread_ts=parent.ts)
    replies = (await client.conversations_replies(channel="C0001", ts=parent.ts))["messages"]
    assert [m["text"] for m in replies] == ["質問があります", "どうぞ"]
    assert replies[1].get("bot_id") == "BBOT" and "bot_id" not in replies[0]

    await client.chat_postEphemeral(channel="C0001", user="U0001", text="あなただけに")
    assert slack.ephemerals[0]["user"] == "U0001"


async def test_wait_for_and_custom_handlers(slack: FakeSlackAPI) -> None:
    client = web_client(slack)
    slack.on("team.info", lambda call: {"ok": True, "team": {"id": "T0001", "name": "x"}})
    assert (await client.team_info())["team"]["id"] == "T0001"

    async def later() -> None:
        await asyncio.sleep(0.05)
        for i in range(3):
            await client.chat_postMessage(channel="C0009", text=str(i))

    task = asyncio.create_task(later())
    calls = await slack.wait_for("chat.postMessage", count=3, timeout=2)
    assert [c.args["text"] for c in calls] == ["0", "1", "2"]
    await task
    with pytest.raises(TimeoutError):
        await slack.wait_for(lambda c: c.method == "chat.delete", timeout=0.05)


# =========================================================================== events + bolt
def test_sign_request_matches_bolt_verifier() -> None:
    from slack_sdk.signature import SignatureVerifier

    body = json.dumps(event_callback(app_mention("テスト"))).encode()
    headers = sign_request(body, SECRET)
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    stale = sign_request(body, SECRET, timestamp=int(time.time()) - 600)
    assert not SignatureVerifier(SECRET).is_valid_request(body, stale)


def test_event_builders_shapes() -> None:
    mention = app_mention("住民票")
    assert mention["text"] == "<@UBOT> 住民票" and mention["type"] == "app_mention"
    dm = dm_message("こんにちは")
    assert dm["channel_type"] == "im" and dm["channel"].startswith("D")
    reply = thread_reply("続き", thread_ts=mention["ts"])
    assert reply["thread_ts"] == mention["ts"] and float(reply["ts"]) > float(mention["ts"])
    own = bot_message("echo", bot_id="BBOT", user="UBOT", subtype=None)
    assert "subtype" not in own and own["bot_id"] == "BBOT"
    changed = message_changed("新しい", original_ts=dm["ts"], previous_text="古い")
    assert changed["subtype"] == "message_changed" and changed["message"]["ts"] == dm["ts"]
    share = file_share_message("見てください", file_name="a.pdf")
    assert share["subtype"] == "file_share" and share["files"][0]["name"] == "a.pdf"
    envelope = event_callback(mention, event_id="Ev1")
    assert (
        envelope["type"] == "event_callback" and envelope["authorizations"][0]["user_id"] == "UBOT"
    )


async def test_bolt_app_round_trip(slack: FakeSlackAPI) -> None:
    """A real bolt AsyncApp behind aiohttp, fed signed events, talking to the fake API."""
    app = AsyncApp(client=web_client(slack), signing_secret=SECRET)
    seen_retry: list[str | None] = []

    @app.event("app_mention")
    async def on_mention(event: dict, say, request) -> None:  # type: ignore[no-untyped-def]
        # bolt does not interpret X-Slack-Retry-Num itself; listeners read the header.
        seen_retry.append(request.headers.get("x-slack-retry-num", [None])[0])
        await say(text=f"受付: {event['text']}", thread_ts=event["ts"])

    @app.action("approve")
    async def on_approve(ack, respond) -> None:  # type: ignore[no-untyped-def]
        await ack()
        await respond(text="承認しました", replace_original=True)

    @app.command("/madoguchi")
    async def on_command(ack, command) -> None:  # type: ignore[no-untyped-def]
        await ack(text=f"コマンド: {command['text']}")

    async with TestClient(TestServer(app.web_app())) as http:
        # url_verification handshake
        r = await post_event(http, url_verification("abc"), SECRET)
        assert r.status == 200 and r.json()["challenge"] == "abc"
        # bad signature → 401, nothing reaches the API
        r = await post_event(http, event_callback(app_mention("x")), "wrong-secret")
        assert r.status == 401

        mention = app_mention("転出届について")
        r = await post_event(http, event_callback(mention), SECRET)
        assert r.status == 200
        (post,) = await slack.wait_for("chat.postMessage")
        assert post.args["thread_ts"] == mention["ts"]
        assert slack.messages("C0001")[-1].text == "受付: <@UBOT> 転出届について"

        # Redelivery headers reach the listener.
        r = await post_event(http, event_callback(app_mention("再送")), SECRET, retry_num=1)
        assert r.status == 200
        await slack.wait_for("chat.postMessage", count=2)
        assert seen_retry == [None, "1"]

        response_url = slack.new_response_url()
        r = await post_interaction(
            http, block_actions("approve", response_url=response_url), SECRET
        )
        assert r.status == 200
        (resp,) = await slack.wait_for("response_url")
        assert resp.args["text"] == "承認しました" and resp.args["replace_original"] is True

        r = await post_slash_command(http, slash_command("/madoguchi", "help"), SECRET)
        # ack(text=...) alone is answered as a plain-text body.
        assert r.status == 200 and r.body == "コマンド: help"


async def test_post_event_to_url_and_session(slack: FakeSlackAPI) -> None:
    """post_event also accepts a plain URL or a ClientSession with base_url."""
    app = AsyncApp(client=web_client(slack), signing_secret=SECRET)
    runner = aiohttp.web.AppRunner(app.web_app())
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        r = await post_event(f"http://127.0.0.1:{port}/slack/events", url_verification("u"), SECRET)
        assert r.json()["challenge"] == "u"
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as s:
            r = await post_event(s, url_verification("s"), SECRET)
            assert r.json()["challenge"] == "s"
    finally:
        await runner.cleanup()


# =========================================================================== OpenAI
async def test_streaming_with_include_usage(llm: FakeOpenAI) -> None:
    client = AsyncOpenAI(base_url=llm.base_url, api_key="test", max_retries=0)
    llm.script(Reply(chunks=["転入届は", "14日", "以内です。"], usage=(120, 9)))
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=MSGS, stream=True, stream_options={"include_usage": True}
    )
    chunks = [c async for c in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "転入届は14日以内です。"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.total_tokens) == (120, 129)

    # What the model saw is recorded verbatim (e.g. to assert masking happened).
    (req,) = llm.requests
    assert req.body["messages"] == MSGS and req.stream and req.include_usage
    assert req.headers["Authorization"] == "Bearer test"
    assert "住民票" in req.all_text


async def test_default_reply_and_non_streaming(llm: FakeOpenAI) -> None:
    client = AsyncOpenAI(base_url=llm.base_url, api_key="test")
    done = await client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    # Unscripted: deterministic Japanese answer naming the user message length (13).
    assert "13文字" in (done.choices[0].message.content or "")
    assert done.usage is not None and done.usage.completion_tokens > 0
    models = await client.models.list()
    assert "gpt-4o-mini" in [m.id async for m in models]
    # Any key is accepted unless one is configured.
    llm.api_key = "sk-right"
    with pytest.raises(openai.AuthenticationError) as err:
        await client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert err.value.code == "invalid_api_key"


async def test_callable_scripts_responder_and_max_tokens(llm: FakeOpenAI) -> None:
    client = AsyncOpenAI(base_url=llm.base_url, api_key="test", max_retries=0)

    async def echo_async(req: ChatRequest) -> Reply:
        return Reply(text=f"async:{req.last_user_text}")

    llm.script(lambda req: Reply(text=f"echo:{req.model}"), echo_async)
    llm.responder = lambda req: Status(503)
    first = await client.chat.completions.create(model="gpt-4o", messages=MSGS)
    second = await client.chat.completions.create(model="gpt-4o", messages=MSGS)
    assert first.choices[0].message.content == "echo:gpt-4o"
    assert second.choices[0].message.content == f"async:{MSGS[0]['content']}"
    with pytest.raises(openai.InternalServerError):  # queue empty → responder
        await client.chat.completions.create(model="gpt-4o", messages=MSGS)
    llm.responder = None
    capped = await client.chat.completions.create(model="gpt-4o", messages=MSGS, max_tokens=5)
    assert capped.choices[0].finish_reason == "length"
    assert capped.choices[0].message.content == "ご質問あり"  # 5 tokens ≈ 5 characters


async def test_429_then_success_via_sdk_retries(llm: FakeOpenAI) -> None:
    client = AsyncOpenAI(base_url=llm.base_url, api_key="test", max_retries=2)
    llm.script(Status(429, retry_after=0.2), Status(429, retry_after=0.2), Reply(text="OK"))
    t0 = time.monotonic()
    done = await client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert done.choices[0].message.content == "OK"
    # retry-after (seconds, fractions allowed) is honoured exactly; retries are visible.
    assert time.monotonic() - t0 >= 0.4
    assert [r.retry_count for r in llm.requests] == [0, 1, 2]


async def test_500_until_give_up(llm: FakeOpenAI) -> None:
    client = AsyncOpenAI(base_url=llm.base_url, api_key="test", max_retries=2)
    llm.script(*[Status(500, retry_after_ms=10)] * 3)
    with pytest.raises(openai.InternalServerError) as err:
        await client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert err.value.status_code == 500 and len(llm.requests) == 3


async def test_400_is_not_retried(llm: FakeOpenAI) -> None:
    client = AsyncOpenAI(base_url=llm.base_url, api_key="test", max_retries=2)
    llm.script(Status(400, code="context_length_exceeded"))
    with pytest.raises(openai.BadRequestError) as err:
        await client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert err.value.code == "context_length_exceeded" and len(llm.requests) == 1


async def test_context_window_is_enforced() -> None:
    async with FakeOpenAI(context_window=50) as llm:
        client = AsyncOpenAI(base_url=llm.base_url, api_key="test", max_retries=0)
        await client.chat.completions.create(model="m", messages=MSGS)
        with pytest.raises(openai.BadRequestError) as err:
            await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "長" * 100}]
            )
        assert err.value.code == "context_length_exceeded"


async def test_timeouts_and_their_retries(llm: FakeOpenAI) -> None:
    client = AsyncOpenAI(base_url=llm.base_url, api_key="test", max_retries=0, timeout=0.2)
    llm.script(Hang(5))
    t0 = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert time.monotonic() - t0 < 1.0
    # Timeouts count as retryable: max_retries=1 means a second attempt is sent.
    retrying = client.with_options(max_retries=1)
    llm.script(Hang(5), Hang(5))
    with pytest.raises(openai.APITimeoutError):
        await retrying.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert len(llm.requests) == 3
    # A stall *inside* a stream is a read timeout while iterating (never retried).
    llm.script(Hang(5, after_chunks=2))
    stream = await client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
    with pytest.raises(openai.APITimeoutError):
        async for _ in stream:
            pass
    await asyncio.sleep(0.05)
    assert llm.in_flight == 0  # the server-side handler was cancelled with the connection


async def test_cut_stream_and_in_band_error_raise(llm: FakeOpenAI) -> None:
    client = AsyncOpenAI(base_url=llm.base_url, api_key="test", max_retries=0)
    llm.script(CutStream(after_chunks=2))
    stream = await client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        async for c in stream:
            received.append(c.choices[0].delta.content or "")
    assert len(received) == 2  # role chunk + one content chunk arrived before the cut
    llm.script(StreamError(after_chunks=3))
    stream = await client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
    with pytest.raises(openai.APIError, match="server had an error"):
        async for _ in stream:
            pass


async def test_azure_streaming_and_errors(llm: FakeOpenAI) -> None:
    azure = AsyncAzureOpenAI(
        azure_endpoint=llm.root_url, api_version="2024-10-21", api_key="azure-key", max_retries=1
    )
    stream = await azure.chat.completions.create(
        model="gpt4o-prod", messages=MSGS, stream=True, stream_options={"include_usage": True}
    )
    chunks = [c async for c in stream]
    # Azure's first chunk has no choices (prompt filter results only).
    assert chunks[0].choices == [] and chunks[0].model_extra
    assert "prompt_filter_results" in chunks[0].model_extra
    assert chunks[-1].usage is not None
    (req,) = llm.requests
    assert req.deployment == "gpt4o-prod" and req.query["api-version"] == "2024-10-21"
    assert req.headers["api-key"] == "azure-key"

    llm.script(Status(429, retry_after=0.05), Status(400, code="content_filter"))
    with pytest.raises(openai.BadRequestError) as err:
        await azure.chat.completions.create(model="gpt4o-prod", messages=MSGS)
    assert err.value.code == "content_filter"


async def test_realistic_mode_timing() -> None:
    async with FakeOpenAI(mode="realistic", first_token_latency=0.3, tokens_per_second=50) as llm:
        client = AsyncOpenAI(base_url=llm.base_url, api_key="test", max_retries=0)
        t0 = time.monotonic()
        stream = await client.chat.completions.create(model="m", messages=MSGS, stream=True)
        arrivals: list[float] = []
        async for c in stream:
            if c.choices and c.choices[0].delta.content:
                arrivals.append(time.monotonic() - t0)
        assert 0.3 <= arrivals[0] < 0.6
        # 1 char per token at 50 tokens/s.
        rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
        assert 30 <= rate <= 60


async def test_thousand_concurrent_streams() -> None:
    """The peer holds 1,000 simultaneous SSE streams (one coroutine each, no threads)."""
    async with FakeOpenAI(
        mode="realistic",
        first_token_latency=0.3,
        tokens_per_second=50,
        reply_chars=20,
        write_interval=0.05,  # coalesce writes, as a benchmark driving 1,000 streams would
    ) as llm:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:

            async def one() -> bytes:
                async with http.post(
                    f"{llm.base_url}/chat/completions",
                    json={"model": "m", "messages": MSGS, "stream": True},
                    headers={"Authorization": "Bearer t"},
                ) as r:
                    last = b""
                    async for line in r.content:
                        if line.strip():
                            last = line.strip()
                    return last

            t0 = time.monotonic()
            results = await asyncio.gather(*[one() for _ in range(1000)])
            elapsed = time.monotonic() - t0
        assert all(r == b"data: [DONE]" for r in results)
        assert llm.max_in_flight == 1000 and llm.in_flight == 0
        assert elapsed < 10


async def test_spawned_peer_process() -> None:
    async with spawn_peer("openai", "--mode", "instant") as base_url:
        client = AsyncOpenAI(base_url=base_url, api_key="test", max_retries=0)
        done = await client.chat.completions.create(model="m", messages=MSGS)
        assert "13文字" in (done.choices[0].message.content or "")
        async with aiohttp.ClientSession() as http:
            async with http.get(base_url.removesuffix("/v1") + "/_peer/stats") as r:
                assert (await r.json())["requests"] == 1
