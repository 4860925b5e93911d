"""Local protocol peers for tests and benchmarks: a fake Slack Web API, signed Slack event
builders and a fake OpenAI / Azure OpenAI chat-completions server.

All are aiohttp.web servers on loopback driven by the *real* slack_sdk / openai clients;
see ``tests/test_peers.py`` for worked examples of every feature.
"""

from .openai_api import (
    ChatRequest,
    CutStream,
    FakeOpenAI,
    Hang,
    Reply,
    Status,
    StreamError,
)
from .process import spawn_peer
from .slack_api import Call, FakeSlackAPI, Identity, Message
from .slack_events import (
    EventResponse,
    app_mention,
    block_actions,
    bot_message,
    dm_message,
    event_callback,
    file_share_message,
    message_changed,
    next_ts,
    post_event,
    post_interaction,
    post_slash_command,
    sign_request,
    slash_command,
    thread_reply,
    url_verification,
    view_submission,
)

__all__ = [
    "Call",
    "ChatRequest",
    "CutStream",
    "EventResponse",
    "FakeOpenAI",
    "FakeSlackAPI",
    "Hang",
    "Identity",
    "Message",
    "Reply",
    "Status",
    "StreamError",
    "app_mention",
    "block_actions",
    "bot_message",
    "dm_message",
    "event_callback",
    "file_share_message",
    "message_changed",
    "next_ts",
    "post_event",
    "post_interaction",
    "post_slash_command",
    "sign_request",
    "slash_command",
    "spawn_peer",
    "thread_reply",
    "url_verification",
    "view_submission",
]
