"""The gateway's chain: order, fail-closed masking, access refusal, unmasking while streaming."""

from __future__ import annotations

from pathlib import Path

from bot.gateway import Masking, ModelCall, Stop
from bot.turn import Turn
from tests.harness import BotHarness
from tests.peers import Reply, app_mention


class RecordingSink:
    """A reply sink that keeps what it was asked to show."""

    min_update_interval = 0.0

    def __init__(self) -> None:
        self.updates: list[str] = []
        self.final: str | None = None
        self.notes: list[str] = []
        self.failed: str | None = None
        self.started = False

    async def start(self) -> None:
        self.started = True

    async def update(self, text: str) -> None:
        self.updates.append(text)

    async def finish(self, text: str, notes: list[str]) -> None:
        self.final, self.notes = text, notes

    async def fail(self, message: str, partial: str = "") -> None:
        self.failed = message


def turn(text: str, thread: str = "t1", user: str = "U1") -> Turn:
    return Turn(tenant="T1", channel="C1", thread=thread, user=user, text=text)


async def test_the_chain_runs_in_the_documented_order(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as bot:
        assert bot.runtime.gateway.stages == [
            "input",
            "access",
            "model",
            "quota",
            "masking",
            "budget",
            "call",
            "unmask",
            "usage",
        ]


async def test_masking_failure_fails_closed(tmp_path: Path) -> None:
    class BrokenMasker:
        def mask(self, *args: object, **kwargs: object):
            raise RuntimeError("detector crashed")

        def unmask(self, text: str, vault: object) -> str:
            return text

    async with BotHarness(tmp_path) as bot:
        masking = next(s for s in bot.runtime.gateway._stages if isinstance(s, Masking))
        masking.masker = BrokenMasker()
        sink = RecordingSink()
        result = await bot.runtime.gateway.handle(turn("山田太郎さんの件"), sink)
        assert result.outcome == "error" and result.error_kind == "masking_failed"
        assert sink.failed is not None and "安全のため送信しませんでした" in sink.failed
        assert bot.openai.requests == []
        [usage] = bot.usage.events
        assert usage.error_kind == "masking_failed"


async def test_access_refusal_stops_before_anything_is_sent(tmp_path: Path) -> None:
    class OnlyAdmins:
        async def refusal(self, t: Turn) -> str | None:
            return None if t.user == "UADMIN" else "このボットを利用する権限がありません。"

    async with BotHarness(tmp_path) as bot:
        stage = next(s for s in bot.runtime.gateway._stages if s.name == "access")
        stage.policy = OnlyAdmins()
        sink = RecordingSink()
        result = await bot.runtime.gateway.handle(turn("こんにちは", user="USTAFF"), sink)
        assert (
            result.outcome == "refused" and sink.failed == "このボットを利用する権限がありません。"
        )
        assert bot.openai.requests == []
        ok = await bot.runtime.gateway.handle(
            turn("こんにちは", thread="t2", user="UADMIN"), RecordingSink()
        )
        assert ok.outcome == "ok"


async def test_model_sees_placeholders_and_user_sees_real_values(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as bot:
        # The model answers with the placeholder it was given, split across chunks.
        bot.openai.script(
            lambda req: Reply(
                chunks=["<人", "名1>様、", "お問い合わせ", "ありがとう", "ございます。"]
            )
        )
        sink = RecordingSink()
        result = await bot.runtime.gateway.handle(turn("山田太郎様への返信文を作って"), sink)
        assert result.outcome == "ok"
        sent = bot.openai.requests[0].messages[-1]["content"]
        assert "山田太郎" not in sent and "<人名1>" in sent
        assert sink.final == "山田太郎様、お問い合わせありがとうございます。"
        # No update ever showed half a placeholder.
        assert all("<人" not in u for u in sink.updates)
        stored = await bot.runtime.store.history(
            (await bot.runtime.store.find_conversation("T1", "C1", "t1")).id
        )
        assert "山田太郎" not in str(stored)


async def test_blocked_entity_refuses_with_a_japanese_reason(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as bot:
        sink = RecordingSink()
        # 123456789018 passes the My Number check digit.
        result = await bot.runtime.gateway.handle(turn("個人番号は123456789018です"), sink)
        assert result.outcome == "refused" and result.error_kind == "blocked"
        assert sink.failed is not None and "マイナンバー" in sink.failed
        assert bot.openai.requests == []
        [usage] = bot.usage.events
        assert usage.blocked and "MY_NUMBER" in usage.blocked_types


async def test_same_value_keeps_its_placeholder_across_turns(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as bot:
        await bot.runtime.gateway.handle(turn("佐藤一郎さんに連絡したい"), RecordingSink())
        await bot.runtime.gateway.handle(turn("佐藤一郎さんの件、続きです"), RecordingSink())
        first, second = (r.messages[-1]["content"] for r in bot.openai.requests)
        placeholder = first[: first.index(">") + 1]
        assert placeholder.startswith("<人名") and second.startswith(placeholder)


def test_stop_carries_outcome_and_kind() -> None:
    stop = Stop("refused", "empty", "メッセージが空のようです。")
    assert (stop.outcome, stop.kind, stop.text) == (
        "refused",
        "empty",
        "メッセージが空のようです。",
    )
    assert ModelCall.name == "call"


async def test_mention_flow_uses_the_same_gateway(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as bot:
        await bot.send(app_mention("鈴木花子さんの住所は東京都千代田区丸の内1-1-1です"))
        await bot.usage.wait(1)
        sent = bot.openai.requests[0].messages[-1]["content"]
        assert "鈴木花子" not in sent and "丸の内1-1-1" not in sent


async def test_cpu_work_on_a_short_text_stays_on_the_loop_a_long_one_goes_to_a_thread() -> None:
    import threading

    from bot.gateway import INLINE_CHARS, _off_loop_if_long

    def where() -> int:
        return threading.get_ident()

    loop_thread = threading.get_ident()
    assert await _off_loop_if_long(INLINE_CHARS - 1, where) == loop_thread
    assert await _off_loop_if_long(INLINE_CHARS, where) != loop_thread


async def test_the_stages_before_the_model_run_while_the_placeholder_is_posted(
    tmp_path: Path,
) -> None:
    """The placeholder's chat round trip no longer delays the thread and policy reads; the model
    is called only once the placeholder is shown, and the answer replaces it."""
    import asyncio

    class SlowStartSink(RecordingSink):
        def __init__(self) -> None:
            super().__init__()
            self.release = asyncio.Event()
            self.order: list[str] = []

        async def start(self) -> None:
            await self.release.wait()
            self.order.append("placeholder shown")
            self.started = True

        async def update(self, text: str) -> None:
            self.order.append("update")
            await super().update(text)

    class Watch:
        name = "watch"

        def __init__(self, sink: SlowStartSink) -> None:
            self.sink = sink

        async def run(self, ctx: object) -> None:
            self.sink.order.append("masked, budget fitted")
            self.sink.release.set()  # the placeholder's round trip ends only now

    async with BotHarness(tmp_path) as bot:
        gateway = bot.runtime.gateway
        sink = SlowStartSink()
        call = next(i for i, s in enumerate(gateway._stages) if isinstance(s, ModelCall))
        gateway._stages.insert(call, Watch(sink))
        result = await gateway.handle(turn("議事録の要約のコツは？"), sink)
    assert result.outcome == "ok"
    assert sink.order[:2] == ["masked, budget fitted", "placeholder shown"]
    assert sink.final and len(bot.openai.requests) == 1


async def test_a_placeholder_that_cannot_be_posted_stops_the_turn_before_the_model(
    tmp_path: Path,
) -> None:
    class NoPlaceholderSink(RecordingSink):
        async def start(self) -> None:
            raise ConnectionError("chat API unreachable")

    async with BotHarness(tmp_path) as bot:
        sink = NoPlaceholderSink()
        result = await bot.runtime.gateway.handle(turn("議事録の要約のコツは？"), sink)
        assert result.outcome == "error"
        assert bot.openai.requests == []  # nothing was sent, nothing is paid for
        assert sink.failed is not None  # the error message is still attempted
        [usage] = bot.usage.events
        assert usage.outcome == "error"


async def test_an_answer_whose_history_cannot_be_stored_is_still_shown(tmp_path: Path) -> None:
    """The final message and the history write go out together; a failed write is logged and
    the user keeps the answer (it used to be replaced by an error message)."""
    from structlog.testing import capture_logs

    from bot.gateway import Unmask

    class FailingStore:
        def __init__(self, store: object) -> None:
            self.store = store

        async def append_exchange(self, *args: object) -> None:
            raise ConnectionError("database went away")

    async with BotHarness(tmp_path) as bot:
        unmask = next(s for s in bot.runtime.gateway._stages if isinstance(s, Unmask))
        unmask.store = FailingStore(unmask.store)  # type: ignore[assignment]
        sink = RecordingSink()
        with capture_logs() as logs:
            result = await bot.runtime.gateway.handle(turn("議事録の要約のコツは？"), sink)
    assert result.outcome == "ok"
    assert sink.final and sink.failed is None
    assert {"event": "exchange.store_failed", "error_type": "ConnectionError"}.items() <= next(
        e for e in logs if e["event"] == "exchange.store_failed"
    ).items()
