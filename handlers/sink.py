"""The Slack reply sink: a 「考え中…」 placeholder at once, then throttled in-place updates.

Updates are coalesced (at most one ``chat.update`` per pacer interval per message, the latest
text wins; see handlers/pacing.py), a 429 pauses updates for its ``Retry-After``, and an answer
longer than one message grows into follow-up posts in the same thread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.messages import message
from bot.turn import Button
from handlers.feedback import feedback_blocks
from handlers.format import split_message, to_mrkdwn
from handlers.pacing import UpdatePacer

log = structlog.get_logger("madoguchi.slack.sink")

# The final post must arrive: how many 429s (each waited out) it survives.
FINAL_ATTEMPTS = 5
MAX_RETRY_AFTER = 60.0


@dataclass
class _Posted:
    ts: str
    text: str


class SlackReplySink:
    """Writes one answer into a Slack thread."""

    #: A refusal may offer buttons (the consent button; see ReplySink.fail).
    shows_buttons = True

    #: The final answer carries the 👍/👎 and time-saved controls (see handlers/feedback.py).
    shows_feedback = True

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        thread_ts: str,
        *,
        team_id: str | None = None,
        lang: str = "ja",
        pacer: UpdatePacer | None = None,
    ) -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.team_id = team_id
        self.lang = lang
        self.pacer = pacer or UpdatePacer(1.0, 0)
        self._posted: list[_Posted] = []
        self._latest: str | None = None
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._not_before = 0.0
        self._closed = False
        self._in_call = False

    # -- ReplySink ---------------------------------------------------------------------

    @property
    def min_update_interval(self) -> float:
        """Seconds between two updates of this answer now (see handlers/pacing.py)."""
        return self.pacer.interval(self.team_id)

    async def start(self) -> None:
        """Post the placeholder in the thread."""
        ts = await self._post(message("thinking", self.lang), final=True)
        self._posted.append(_Posted(ts, message("thinking", self.lang)))

    async def update(self, text: str) -> None:
        """Remember the newest text; the background flusher shows it when allowed."""
        if self._closed:
            return
        self._latest = text
        if self._flusher is None:
            self.pacer.begin(self.team_id)
            self._flusher = asyncio.create_task(self._flush_loop())
        self._wake.set()

    async def finish(self, text: str, notes: list[str], *, turn_id: str | None = None) -> None:
        """Show the complete answer with its notes; waits out rate limits until it is shown.

        With a ``turn_id`` the last message also gets the feedback controls for that turn.
        """
        await self._stop_flusher()
        await self._render(to_mrkdwn(text), notes, final=True, turn_id=turn_id)

    async def fail(
        self, message_text: str, partial: str = "", *, buttons: Sequence[Button] = ()
    ) -> None:
        """Show an error or refusal, below the partial answer if there is one.

        With ``buttons`` (a refusal that offers a choice, e.g. the consent button) the message
        carries no warning sign and the buttons go under its last part.
        """
        await self._stop_flusher()
        body = to_mrkdwn(partial) + "\n\n" if partial else ""
        if not buttons:
            await self._render(body + f":warning: {message_text}", [], final=True)
            return
        await self._render(body + message_text, [], final=True)
        last = self._posted[-1]
        await self._call(
            "chat_update",
            True,
            channel=self.channel,
            ts=last.ts,
            text=last.text,
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": last.text or " "}},
                {"type": "actions", "elements": [_button(b) for b in buttons[:25]]},
            ],
        )

    # -- internals -----------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        # The first words replace 「考え中…」 at once, unless the update budget is stretched:
        # then the first update waits its turn like the others (short answers under load go
        # straight from the placeholder to the final message).
        pressed = self.pacer.interval(self.team_id) > self.pacer.min_interval
        last = time.monotonic() if pressed else 0.0
        while not self._closed:
            await self._wake.wait()
            self._wake.clear()
            wait = max(last + self.min_update_interval, self._not_before) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            text = self._latest
            if text is None or self._closed:
                continue
            last = time.monotonic()
            metrics.SLACK_UPDATES.inc()
            self._in_call = True
            try:
                await self._render(to_mrkdwn(text), [], final=False)
            except SlackApiError as exc:
                # A lost intermediate update is harmless: the next one carries the newer text.
                log.warning("slack.update_failed", error=exc.response.get("error"))
            finally:
                self._in_call = False

    async def _stop_flusher(self) -> None:
        self._closed = True
        if self._flusher is not None:
            self._wake.set()
            # An update already sent is let finish: cut off mid-call, the chat API may have
            # applied it without the sink knowing (native streaming would append it twice).
            # One waiting for its turn, or for text, is stopped at once.
            if not self._in_call:
                self._flusher.cancel()
            try:
                await self._flusher
            except (asyncio.CancelledError, Exception):
                pass
            self._flusher = None
            self.pacer.end(self.team_id)

    async def _render(
        self, text: str, notes: list[str], *, final: bool, turn_id: str | None = None
    ) -> None:
        parts = split_message(text)
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            blocks = _blocks(part, notes, turn_id, self.lang) if final and last else None
            if i < len(self._posted):
                posted = self._posted[i]
                if posted.text != part or blocks:
                    await self._call(
                        "chat_update",
                        final,
                        channel=self.channel,
                        ts=posted.ts,
                        text=part,
                        blocks=blocks or [],
                    )
                    posted.text = part
            else:
                ts = await self._post(part, final=final, blocks=blocks)
                self._posted.append(_Posted(ts, part))
        if final:
            # The final text needs fewer posts than the streamed one did (restored values
            # are shorter than placeholders, or an error replaced the answer): remove the rest.
            while len(self._posted) > len(parts):
                extra = self._posted.pop()
                await self._call("chat_delete", True, channel=self.channel, ts=extra.ts)

    async def _post(self, text: str, *, final: bool, blocks: list[dict] | None = None) -> str:
        response = await self._call(
            "chat_postMessage",
            final,
            channel=self.channel,
            thread_ts=self.thread_ts,
            text=text,
            blocks=blocks,
        )
        return str(response["ts"])

    async def _call(self, method: str, must_arrive: bool, **kwargs: object) -> dict:
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        attempts = FINAL_ATTEMPTS if must_arrive else 1
        for attempt in range(attempts):
            wait = self._not_before - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                response = await getattr(self.client, method)(**kwargs)
                return response.data  # type: ignore[return-value]
            except SlackApiError as exc:
                if exc.response.status_code != 429:
                    raise
                retry_after = float(exc.response.headers.get("Retry-After", "1") or 1)
                self._not_before = time.monotonic() + min(retry_after, MAX_RETRY_AFTER)
                log.warning("slack.rate_limited", method=method, retry_after=retry_after)
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")


def _blocks(
    text: str, notes: list[str], turn_id: str | None = None, lang: str = "ja"
) -> list[dict]:
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": text or " "}}]
    if notes:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": n} for n in notes[:10]]}
        )
    if turn_id:
        blocks += feedback_blocks(turn_id, lang)
    return blocks


def _button(button: Button) -> dict:
    element: dict = {
        "type": "button",
        "text": {"type": "plain_text", "text": button.label[:75], "emoji": True},
        "action_id": button.action,
        "value": button.value[:2000],
    }
    if button.primary:
        element["style"] = "primary"
    return element


class SlackStreamSink(SlackReplySink):
    """Writes one answer with Slack's native streaming (``chat.startStream`` /
    ``appendStream`` / ``stopStream``), behind ``MADOGUCHI_SLACK_NATIVE_STREAMING``.

    Slack renders the streamed Markdown itself, so only the new part of the answer is sent each
    time (throttled like the chat.update sink, with the same 429 handling); the notes and the
    feedback controls are attached when the stream stops.
    """

    #: Slack's limit for one streamed Markdown chunk.
    MAX_CHUNK = 12_000

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        thread_ts: str,
        *,
        team_id: str | None,
        user_id: str | None,
        lang: str = "ja",
        pacer: UpdatePacer | None = None,
    ) -> None:
        super().__init__(client, channel, thread_ts, team_id=team_id, lang=lang, pacer=pacer)
        self.user_id = user_id
        self._stream_ts: str | None = None
        self._sent = ""

    async def start(self) -> None:
        """Open the stream in the thread (Slack shows it as in progress)."""
        response = await self._call(
            "chat_startStream",
            True,
            channel=self.channel,
            thread_ts=self.thread_ts,
            recipient_team_id=self.team_id,
            recipient_user_id=self.user_id,
        )
        self._stream_ts = str(response["ts"])

    async def finish(self, text: str, notes: list[str], *, turn_id: str | None = None) -> None:
        """Send the rest of the answer and stop the stream with the notes and controls."""
        await self._stop_flusher()
        if not await self._append_to(text, must_arrive=True):
            await self._stop([], text_fallback=text)
            return
        blocks = _blocks("", notes, turn_id, self.lang)[1:]  # everything but the text section
        await self._stop(blocks)

    async def fail(
        self, message_text: str, partial: str = "", *, buttons: Sequence[Button] = ()
    ) -> None:
        """Stop the stream with the message after whatever was streamed."""
        await self._stop_flusher()
        if self._stream_ts is None:
            await super().fail(message_text, partial, buttons=buttons)
            return
        prefix = "\n\n" if self._sent else ""
        note = message_text if buttons else f":warning: {message_text}"
        await self._append(prefix + note, must_arrive=True)
        actions = [{"type": "actions", "elements": [_button(b) for b in buttons[:25]]}]
        await self._stop(actions if buttons else [])

    async def _render(
        self, text: str, notes: list[str], *, final: bool, turn_id: str | None = None
    ) -> None:
        # Called by the flusher with mrkdwn; the stream takes the Markdown as the model wrote it.
        if self._latest is not None:
            await self._append_to(self._latest, must_arrive=False)

    async def _append_to(self, text: str, *, must_arrive: bool) -> bool:
        """Append what ``text`` adds to what was sent; False when it does not extend it."""
        if not text.startswith(self._sent):
            return False
        await self._append(text[len(self._sent) :], must_arrive=must_arrive)
        return True

    async def _append(self, delta: str, *, must_arrive: bool) -> None:
        for start in range(0, len(delta), self.MAX_CHUNK):
            piece = delta[start : start + self.MAX_CHUNK]
            await self._call(
                "chat_appendStream",
                must_arrive,
                channel=self.channel,
                ts=self._stream_ts,
                markdown_text=piece,
            )
            self._sent += piece

    async def _stop(self, blocks: list[dict], text_fallback: str | None = None) -> None:
        await self._call(
            "chat_stopStream", True, channel=self.channel, ts=self._stream_ts, blocks=blocks or None
        )
        if text_fallback is not None:
            # Restoring a value changed text already streamed: show the whole answer instead.
            self._posted = [_Posted(str(self._stream_ts), self._sent)]
            await SlackReplySink._render(self, to_mrkdwn(text_fallback), [], final=True)


def reply_sink(
    client: AsyncWebClient,
    channel: str,
    thread_ts: str,
    *,
    native_streaming: bool,
    team_id: str | None,
    user_id: str | None,
    lang: str,
    pacer: UpdatePacer,
) -> SlackReplySink:
    """The sink for one answer: Slack's native streaming where enabled, chat.update otherwise."""
    if native_streaming:
        return SlackStreamSink(
            client, channel, thread_ts, team_id=team_id, user_id=user_id, lang=lang, pacer=pacer
        )
    return SlackReplySink(client, channel, thread_ts, team_id=team_id, lang=lang, pacer=pacer)
