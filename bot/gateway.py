"""The one gateway every model call passes: a turn goes through the stages listed in
:meth:`Gateway.stages`, top to bottom, and the answer goes to a reply sink.

    input → access → model selection → quota → masking → token budget → call → unmask → usage record

Model selection (and the quota check, which may switch to an economy model) comes before masking
because the masking policy is looked up for the model the turn goes to (a closed-network model
may be allowed more). A stage ends a turn early by raising
:class:`Stop`; the usage stage runs for every turn, answered or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypeVar

import structlog

from bot import metrics
from bot.catalog import ModelCatalog, ModelSpec
from bot.llm import ModelClients, ModelError, StreamEvent, Usage, stream_chat
from bot.masking import MaskingPolicy, MaskResult, PlaceholderVault
from bot.messages import message
from bot.storage import Conversation, Store
from bot.tokens import count_message_tokens, count_tokens, fit_history
from bot.turn import Button, ReplySink, Turn
from bot.usage import (
    Departments,
    UsageEvent,
    UsageRecorder,
    key_id,
    pseudonym,
    thread_pseudonym,
)

log = structlog.get_logger("madoguchi.gateway")

T = TypeVar("T")

# CPU work below this many characters runs on the event loop: for a short text the hop to a
# worker thread and back (two turns of a busy loop, tens of milliseconds under load) costs far
# more than the work (masking a question: 0.2 ms). Longer texts go to a thread, so one pasted
# document does not stall every other answer that is streaming.
INLINE_CHARS = 1_000


async def _off_loop_if_long(chars: int, work: Callable[..., T], *args: object, **kw: object) -> T:
    """``work(*args, **kw)`` on the loop when the text is short, else in a worker thread."""
    if chars < INLINE_CHARS:
        return work(*args, **kw)
    return await asyncio.to_thread(work, *args, **kw)


# A placeholder like <人名12> may arrive split over several deltas; an opening bracket this
# close to the end with no closing one after it is held back until it completes.
_OPENERS = "<＜〈《"
_CLOSERS = ">＞〉》"
_HOLD_BACK = 16


class Stop(Exception):
    """End the turn now with a message to the user.

    ``outcome`` is ``refused`` (the bot chose not to send) or ``error`` (something failed).
    """

    def __init__(
        self, outcome: str, kind: str, text: str, *, buttons: Sequence[Button] = ()
    ) -> None:
        super().__init__(kind)
        self.outcome = outcome
        self.kind = kind
        self.text = text
        #: Choices offered with the message (e.g. the consent button); see ReplySink.fail.
        self.buttons = tuple(buttons)


@dataclass
class TurnContext:
    """Everything the stages know about one turn; stages read and fill it in order."""

    turn: Turn
    sink: ReplySink
    lang: str = "ja"
    dry_run: bool = False
    started: float = field(default_factory=time.monotonic)
    #: Identifies the turn's usage event; the answer's feedback buttons carry it.
    turn_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    conversation: Conversation | None = None
    new_conversation: bool = False
    history: list[dict[str, str]] = field(default_factory=list)
    sealed_vault: bytes | None = None
    model: ModelSpec | None = None
    vault: PlaceholderVault | None = None
    mask_result: MaskResult | None = None
    messages: list[dict[str, str]] = field(default_factory=list)
    answer_masked: str = ""
    answer: str = ""
    usage: Usage | None = None
    first_token_at: float | None = None
    notes: list[str] = field(default_factory=list)
    outcome: str = "ok"
    error_kind: str | None = None
    category: str | None = None
    #: The thread's confidentiality tier (機密性区分, 1–3) as model selection decided it.
    tier: int = 1
    #: The answer as the user sees it right now (an interrupted turn keeps it visible).
    shown: str = ""
    #: True once the thread shows the turn's final message (answer, refusal or error).
    replied: bool = False
    #: Run when the turn ends, however it ends (e.g. give a concurrency slot back).
    cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    #: Milliseconds each stage took (the turn.done log line and a histogram show them).
    stage_ms: dict[str, int] = field(default_factory=dict)
    #: Writes that must land before the model is called (see ModelChoice.recording).
    before_model: list[asyncio.Future[None]] = field(default_factory=list)

    @property
    def masked_text(self) -> str:
        """The user's text as it may leave the building."""
        assert self.mask_result is not None
        return self.mask_result.masked


class Stage(Protocol):
    """One step of the gateway."""

    name: str

    async def run(self, ctx: TurnContext) -> None:
        """Do this stage's job on ``ctx``; raise :class:`Stop` to end the turn."""


class AccessPolicy(Protocol):
    """Decides whether a user may use the bot at all (bot/admin fills this in)."""

    async def refusal(self, turn: Turn) -> str | None:
        """None when ``turn.user`` may proceed, otherwise the message to show.

        A refusal that needs more than a sentence (the consent guideline with its button)
        raises :class:`Stop` itself.
        """


class AllowEveryone:
    """The default access policy: everyone in the workspace may use the bot."""

    async def refusal(self, turn: Turn) -> str | None:
        """Never refuse."""
        return None


class Masker(Protocol):
    """What the gateway needs of the masking filter."""

    def mask(
        self, text: str, vault: PlaceholderVault, policy: MaskingPolicy, terms: object = None
    ) -> MaskResult: ...

    def unmask(self, text: str, vault: PlaceholderVault) -> str: ...


PolicyLookup = Callable[[str, str], Awaitable[MaskingPolicy]]
TermsLookup = Callable[[str], Awaitable[object]]
CategoryLookup = Callable[[str], str]
#: (tenant, thread key) → the category recorded for the thread earlier, if any.
ThreadCategoryLookup = Callable[[str, str], Awaitable[str | None]]


# --------------------------------------------------------------------------- stages


class InputCheck:
    """Refuse empty, file-only and oversized messages before anything else happens."""

    name = "input"

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars

    async def run(self, ctx: TurnContext) -> None:
        text = ctx.turn.text.strip()
        if not text:
            kind = "files_only" if ctx.turn.has_files else "empty"
            raise Stop("refused", kind, message(kind, ctx.lang))
        if len(text) > self.max_chars:
            parts = -(-len(text) // self.max_chars)
            raise Stop(
                "refused",
                "too_long",
                message(
                    "too_many_chars", ctx.lang, chars=len(text), limit=self.max_chars, parts=parts
                ),
            )
        if ctx.turn.has_files:
            ctx.notes.append(message("files_ignored", ctx.lang))


class AccessCheck:
    """Ask the access policy whether this user may use the bot."""

    name = "access"

    def __init__(self, policy: AccessPolicy) -> None:
        self.policy = policy

    async def run(self, ctx: TurnContext) -> None:
        refusal = await self.policy.refusal(ctx.turn)
        if refusal:
            raise Stop("refused", "access_denied", refusal)


@dataclass(frozen=True)
class ModelChoice:
    """What a model chooser decided: the model, the thread's tier and notes for the reply.

    ``recording`` is a write the chooser started (the thread's tier) that must land before the
    model is called: the turn goes on with masking meanwhile, and the gateway waits for it
    before the call and, whatever happens, before the thread's next turn may begin.
    """

    model: ModelSpec
    tier: int = 1
    notes: tuple[str, ...] = ()
    recording: asyncio.Future[None] | None = None


#: (turn, the thread, language) → the choice; raises Stop when nothing may serve. The thread
#: (its conversation and whether it is new) comes as an awaitable that is already loading, so the
#: chooser can read what it needs at the same time: one database wait per turn instead of two.
ModelChooser = Callable[[Turn, Awaitable[tuple[Conversation, bool]], str], Awaitable[ModelChoice]]


class ModelSelection:
    """Open the thread's conversation and pick an allowed model for it.

    With a ``chooser`` (bot/admin's model policy: switched-off models, channel lists, the
    thread's pick and confidentiality tier) the chooser decides; without one, the catalog's
    ``enabled`` flags and default do.
    """

    name = "model"

    def __init__(
        self, store: Store, catalog: ModelCatalog, chooser: ModelChooser | None = None
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.chooser = chooser

    async def run(self, ctx: TurnContext) -> None:
        if self.chooser is not None:
            thread = asyncio.ensure_future(self._open(ctx))
            try:
                choice = await self.chooser(ctx.turn, thread, ctx.lang)
            finally:
                # The chooser failed before the thread was loaded: stop loading it.
                if not thread.done():
                    thread.cancel()
                await asyncio.gather(thread, return_exceptions=True)
            await thread  # loaded (the chooser awaited it); its error, if any, is the turn's
            ctx.model, ctx.tier = choice.model, choice.tier
            ctx.notes.extend(choice.notes)
            if choice.recording is not None:
                ctx.before_model.append(choice.recording)
            return
        conversation, _new = await self._open(ctx)
        wanted = self.catalog.get(conversation.model_id or "") if conversation.model_id else None
        if wanted is not None and wanted.enabled:
            ctx.model = wanted
            return
        enabled = self.catalog.enabled()
        if not enabled:
            raise Stop("refused", "no_model", message("no_model", ctx.lang))
        ctx.model = self.catalog.default if self.catalog.default.enabled else enabled[0]
        if conversation.model_id and conversation.model_id != ctx.model.id:
            old = wanted.display_name if wanted else conversation.model_id
            ctx.notes.append(
                message("model_switched", ctx.lang, old=old, new=ctx.model.display_name)
            )

    async def _open(self, ctx: TurnContext) -> tuple[Conversation, bool]:
        """Load the thread (conversation, masked history and sealed vault in one read) into
        ``ctx``, storing the conversation first when the thread is new."""
        turn = ctx.turn
        state = await self.store.load_thread(turn.tenant, turn.channel, turn.thread)
        ctx.new_conversation = state.conversation is None
        ctx.history, ctx.sealed_vault = state.history, state.sealed_vault
        ctx.conversation = state.conversation or await self.store.open_conversation(
            turn.tenant, turn.channel, turn.thread, self.catalog.default_id
        )
        return ctx.conversation, ctx.new_conversation


class Masking:
    """Mask the user's text with the policy for the selected model; fail closed."""

    name = "masking"

    def __init__(
        self,
        masker: Masker,
        vault_key: bytes,
        policy_for: PolicyLookup,
        terms_for: TermsLookup | None = None,
    ) -> None:
        self.masker = masker
        self.vault_key = vault_key
        self.policy_for = policy_for
        self.terms_for = terms_for

    async def run(self, ctx: TurnContext) -> None:
        assert ctx.conversation is not None and ctx.model is not None
        try:
            sealed = ctx.sealed_vault
            ctx.vault = (
                PlaceholderVault.unseal(self.vault_key, sealed) if sealed else PlaceholderVault()
            )
            policy = await self.policy_for(ctx.turn.tenant, ctx.model.id)
            terms = await self.terms_for(ctx.turn.tenant) if self.terms_for else None
            ctx.mask_result = await _off_loop_if_long(
                len(ctx.turn.text), self.masker.mask, ctx.turn.text, ctx.vault, policy, terms
            )
        except Exception as exc:
            # Fail closed: whatever went wrong, nothing is sent.
            log.error("masking.failed", error_type=type(exc).__name__)
            raise Stop("error", "masking_failed", message("masking_failed", ctx.lang)) from None
        if ctx.mask_result.blocked:
            raise Stop("refused", "blocked", ctx.mask_result.refusal(ctx.lang))


class TokenBudget:
    """Fit the masked history into the model's context; refuse a message that cannot fit."""

    name = "budget"

    def __init__(self, system_prompt: str) -> None:
        self.system_prompt = system_prompt

    async def run(self, ctx: TurnContext) -> None:
        assert ctx.conversation is not None and ctx.model is not None
        model = ctx.model
        # Counting tokens costs under a tenth of masking per character (tiktoken's Rust core:
        # 0.2 µs against 3 µs), so ten times the text stays on the loop.
        chars = len(ctx.masked_text) + sum(len(m["content"]) for m in ctx.history)
        budget = await _off_loop_if_long(
            chars // 10,
            fit_history,
            self.system_prompt,
            ctx.history,
            ctx.masked_text,
            context_window=model.context_window,
            reserved_output=model.max_output_tokens,
            encoding=model.tokenizer,
        )
        if not budget.fits:
            room = max(1, budget.limit - count_tokens(self.system_prompt, model.tokenizer) - 16)
            chars = len(ctx.turn.text)
            limit_chars = int(room * chars / max(1, budget.newest_tokens))
            raise Stop(
                "refused",
                "too_long",
                message(
                    "too_long_for_model",
                    ctx.lang,
                    model=model.display_name,
                    chars=chars,
                    tokens=budget.newest_tokens,
                    limit=room,
                    limit_chars=limit_chars,
                    parts=-(-budget.newest_tokens // room),
                ),
            )
        if budget.dropped_turns:
            ctx.notes.append(message("history_trimmed", ctx.lang, n=budget.dropped_turns))
        ctx.messages = budget.messages


class ModelCall:
    """Stream the answer from the model, showing it (real values restored) as it grows."""

    name = "call"

    def __init__(self, clients: ModelClients, masker: Masker) -> None:
        self.clients = clients
        self.masker = masker

    async def run(self, ctx: TurnContext) -> None:
        assert ctx.model is not None and ctx.vault is not None
        if ctx.dry_run:
            header = message("dry_run_header", ctx.lang, model=ctx.model.request_model)
            ctx.answer = header + "\n" + json.dumps(ctx.messages, ensure_ascii=False, indent=2)
            return
        client = self.clients.for_model(ctx.model)
        # No model call for a thread the bot could not even show its placeholder in, nor before
        # the thread's tier is on record (a failed write fails the turn here, closed).
        await _sink_ready(ctx.sink)
        for write in ctx.before_model:
            # Shielded: a turn cancelled here (shutdown) still lets the write land (_landed).
            await asyncio.shield(write)
        last_push = 0.0
        try:
            async for event in stream_chat(client, ctx.model, ctx.messages):
                self._take(ctx, event)
                now = time.monotonic()
                # Restoring real values costs CPU: only as often as the sink shows them.
                if event.delta and now - last_push >= ctx.sink.min_update_interval:
                    last_push = now
                    ctx.shown = self._visible(ctx)
                    await ctx.sink.update(ctx.shown)
        except ModelError as exc:
            partial = self.masker.unmask(ctx.answer_masked, ctx.vault) if ctx.answer_masked else ""
            model_name = ctx.model.request_model
            raise PartialStop(
                "error", exc.kind, message(f"error_{exc.kind}", ctx.lang, model=model_name), partial
            ) from None

    @staticmethod
    def _take(ctx: TurnContext, event: StreamEvent) -> None:
        if event.delta:
            if ctx.first_token_at is None:
                ctx.first_token_at = time.monotonic()
            ctx.answer_masked += event.delta
        if event.usage is not None:
            ctx.usage = event.usage
        if event.finish_reason == "length":
            ctx.notes.append(message("truncated", ctx.lang))

    def _visible(self, ctx: TurnContext) -> str:
        assert ctx.vault is not None
        text = ctx.answer_masked
        tail = text[-_HOLD_BACK:]
        cut = max(tail.rfind(c) for c in _OPENERS)
        if cut >= 0 and not any(c in tail[cut:] for c in _CLOSERS):
            text = text[: len(text) - len(tail) + cut]
        return self.masker.unmask(text, ctx.vault)


class _StartingSink:
    """The turn's sink while its placeholder (「考え中…」) is being posted.

    ``start`` runs in a task of its own from the moment the turn begins, so the stages before
    the model (thread, policy, masking) do not wait for a chat round trip first; whatever shows
    something waits for the placeholder, and the model is called only after it is shown
    (:meth:`ready`). A failed placeholder fails the turn at that point; the error message is
    still attempted (as a new message).
    """

    def __init__(self, sink: ReplySink, stage_ms: dict[str, int]) -> None:
        self._sink = sink
        self._began = time.monotonic()
        self._stage_ms = stage_ms
        self._started = asyncio.ensure_future(sink.start())
        self._started.add_done_callback(self._timed)

    def _timed(self, _task: object) -> None:
        self._stage_ms["start"] = _ms_since(self._began)

    def __getattr__(self, name: str) -> object:
        # min_update_interval, shows_feedback, shows_buttons: the sink's own.
        return getattr(self._sink, name)

    async def ready(self) -> None:
        """Wait until the placeholder is shown; raise what posting it raised."""
        # Shielded: a turn cancelled meanwhile (shutdown) still gets its placeholder replaced.
        await asyncio.shield(self._started)

    async def update(self, text: str) -> None:
        await self.ready()
        await self._sink.update(text)

    async def finish(self, text: str, notes: list[str], **kwargs: object) -> None:
        await self.ready()
        await self._sink.finish(text, notes, **kwargs)  # type: ignore[call-arg]

    async def fail(self, message_text: str, partial: str = "", **kwargs: object) -> None:
        with contextlib.suppress(Exception):
            await self.ready()  # its error is the turn's, reported already
        await self._sink.fail(message_text, partial, **kwargs)  # type: ignore[call-arg]


async def _landed(writes: list[asyncio.Future[None]]) -> None:
    """Wait for ``writes`` to land; a failed one is logged (the turn has already ended with an
    error if it got as far as the model call)."""
    for write in writes:
        try:
            await asyncio.shield(write)
        except asyncio.CancelledError:
            if not write.done():
                raise  # this task was cancelled, not the write
            log.error("turn.write_failed", error_type="CancelledError")
        except Exception as exc:
            log.error("turn.write_failed", error_type=type(exc).__name__, where=_where(exc))


async def _sink_ready(sink: ReplySink) -> None:
    if isinstance(sink, _StartingSink):
        await sink.ready()


class PartialStop(Stop):
    """A stop after part of the answer was shown; the partial answer stays visible."""

    def __init__(self, outcome: str, kind: str, text: str, partial: str) -> None:
        super().__init__(outcome, kind, text)
        self.partial = partial


class Unmask:
    """Restore real values in the final answer, store the exchange (masked) and show it."""

    name = "unmask"

    def __init__(self, masker: Masker, store: Store, vault_key: bytes) -> None:
        self.masker = masker
        self.store = store
        self.vault_key = vault_key

    async def run(self, ctx: TurnContext) -> None:
        assert ctx.model is not None and ctx.vault is not None and ctx.conversation is not None
        if ctx.dry_run:
            await ctx.sink.finish(ctx.answer, ctx.notes)
            return
        ctx.answer = self.masker.unmask(ctx.answer_masked, ctx.vault)
        notes = [*ctx.notes, message("model_footer", ctx.lang, model=ctx.model.display_name)]
        # The final message and the stored history go out together: the user need not wait
        # for the database after the model is done. The thread's lock is held until both are
        # done, so its next turn still finds this exchange in the history.
        stored, shown = await asyncio.gather(
            self.store.append_exchange(
                ctx.conversation.id,
                ctx.masked_text,
                ctx.answer_masked,
                ctx.model.id,
                ctx.vault.seal(self.vault_key),
            ),
            finish_with_feedback(ctx.sink, ctx.answer, notes, ctx.turn_id),
            return_exceptions=True,
        )
        if isinstance(shown, BaseException):
            raise shown
        if isinstance(stored, BaseException):
            # The answer is on screen; only the thread's memory of it is missing (the next
            # turn is sent without it). Failing the turn now would take the answer away.
            log.error("exchange.store_failed", error_type=type(stored).__name__)


async def finish_with_feedback(sink: ReplySink, text: str, notes: list[str], turn_id: str) -> None:
    """Finish the answer; a sink that can show feedback buttons (``shows_feedback``) gets the
    turn id for them. Other sinks (terminal, tests) keep the two-argument ``finish``."""
    if getattr(sink, "shows_feedback", False):
        await sink.finish(text, notes, turn_id=turn_id)
    else:
        await sink.finish(text, notes)


class RecordUsage:
    """Write one anonymized usage event for every turn, answered or not.

    The use category is decided once per thread, from its first user turn (masked text, never
    stored), and carried on every later event of the thread so reports can count turns per
    category. Later turns find it in a small in-process cache or, after a restart or on another
    instance, through ``thread_category`` (the recorder's database).
    """

    name = "usage"
    #: Threads whose category is remembered in process (an LRU; the database has the rest).
    CACHE_SIZE = 10_000

    def __init__(
        self,
        recorder: UsageRecorder,
        pseudonym_key: bytes,
        categorize: CategoryLookup | None = None,
        *,
        thread_category: ThreadCategoryLookup | None = None,
        departments: Departments | None = None,
    ) -> None:
        self.recorder = recorder
        self.pseudonym_key = pseudonym_key
        self.key_id = key_id(pseudonym_key)
        self.categorize = categorize
        self.thread_category = thread_category
        self.departments = departments or Departments()
        self._categories: OrderedDict[str, str] = OrderedDict()

    async def run(self, ctx: TurnContext) -> None:
        if ctx.dry_run:
            return
        model = ctx.model
        input_tokens = output_tokens = 0
        estimated = False
        if ctx.usage is not None:
            input_tokens, output_tokens = ctx.usage.input_tokens, ctx.usage.output_tokens
        elif model is not None and ctx.messages and ctx.outcome != "refused":
            # The server reported no usage (some compatible servers don't): count it ourselves.
            estimated = True
            input_tokens = count_message_tokens(ctx.messages, model.tokenizer)
            output_tokens = count_tokens(ctx.answer_masked, model.tokenizer)
        if model is not None:
            metrics.TOKENS.labels(model.id, "input").inc(input_tokens)
            metrics.TOKENS.labels(model.id, "output").inc(output_tokens)
        result = ctx.mask_result
        turn = ctx.turn
        thread_key = thread_pseudonym(turn.tenant, turn.channel, turn.thread, self.pseudonym_key)
        ctx.category = await self._category(ctx, thread_key)
        department = await self.departments.of(turn.tenant, turn.user)
        now = time.monotonic()
        await self.recorder.record(
            UsageEvent(
                id=ctx.turn_id,
                time=datetime.now(UTC),
                tenant=turn.tenant,
                user_pseudonym=pseudonym(turn.user, self.pseudonym_key),
                key_id=self.key_id,
                thread_key=thread_key,
                department=department,
                channel_type=turn.channel_type,
                model=model.id if model else None,
                outcome=ctx.outcome,
                error_kind=ctx.error_kind,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                tokens_estimated=estimated,
                cost=model.cost(input_tokens, output_tokens) if model else 0.0,
                latency_ms=int((now - ctx.started) * 1000),
                first_token_ms=(
                    int((ctx.first_token_at - ctx.started) * 1000) if ctx.first_token_at else None
                ),
                masked_counts={str(k): v for k, v in (result.counts.items() if result else [])},
                blocked=bool(result and result.blocked),
                blocked_types=[str(t) for t in result.blocked_types] if result else [],
                category=ctx.category,
                template_id=turn.template_id,
                new_conversation=ctx.new_conversation,
            )
        )

    async def _category(self, ctx: TurnContext, thread_key: str) -> str | None:
        category = None if ctx.new_conversation else self._categories.get(thread_key)
        if category is None and not ctx.new_conversation and self.thread_category is not None:
            category = await self.thread_category(ctx.turn.tenant, thread_key)
        if category is None and ctx.mask_result is not None and self.categorize is not None:
            # The first turn of the thread that reached the masking filter: classify its
            # masked text (the classifier returns only an id and keeps nothing).
            category = self.categorize(ctx.mask_result.masked)
        if category is not None:
            self._categories[thread_key] = category
            self._categories.move_to_end(thread_key)
            while len(self._categories) > self.CACHE_SIZE:
                self._categories.popitem(last=False)
        return category


# --------------------------------------------------------------------------- the gateway


@dataclass(frozen=True)
class TurnResult:
    """What happened to a turn (for callers and tests; no text of the user's)."""

    outcome: str
    error_kind: str | None
    model: str | None


class TurnTracker(Protocol):
    """Knows the turns in flight, so a graceful shutdown can wait for them (bot.coordination)."""

    def track(self) -> AbstractContextManager[None]:
        """Count the current task as answering a turn while the block runs."""


#: (tenant, channel, thread) → a lock held across instances (bot.coordination.SharedThreadLock).
ThreadLockFactory = Callable[[tuple[str, str, str]], AbstractAsyncContextManager[None]]


class Gateway:
    """Runs turns through the stages; one instance per process."""

    def __init__(
        self,
        *,
        stages: list[Stage],
        always: list[Stage],
        lang: str = "ja",
        in_flight: TurnTracker | None = None,
        thread_lock: ThreadLockFactory | None = None,
    ) -> None:
        self._stages = stages
        self._always = always
        self.lang = lang
        self._in_flight = in_flight
        self._thread_lock = thread_lock
        self._locks: weakref.WeakValueDictionary[tuple[str, str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    @property
    def stages(self) -> list[str]:
        """The stage names in the order they run."""
        return [s.name for s in (*self._stages, *self._always)]

    async def handle(self, turn: Turn, sink: ReplySink, *, dry_run: bool = False) -> TurnResult:
        """Answer ``turn`` through ``sink``. Never raises: every failure becomes a message.

        A cancelled turn (a shutdown that could not wait any longer) still leaves a final
        message in the thread, then the cancellation goes on.
        """
        key = (turn.tenant, turn.channel, turn.thread)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        ctx = TurnContext(turn=turn, sink=sink, lang=self.lang, dry_run=dry_run)
        shared = self._thread_lock(key) if self._thread_lock is not None else contextlib.nullcontext()
        tracked = self._in_flight.track() if self._in_flight is not None else contextlib.nullcontext()
        with tracked:
            try:
                # Turns of one thread are answered in order (in this process by the lock, across
                # instances by the shared lock); different threads run concurrently.
                async with lock, shared:
                    ctx.stage_ms["lock"] = _ms_since(ctx.started)  # waiting for the thread
                    ctx.started = time.monotonic()
                    try:
                        await self._run(ctx)
                    finally:
                        # A turn stopped before the model (a refusal, an error) still lands its
                        # writes before the thread's next turn may read them.
                        await _landed(ctx.before_model)
                # The thread shows its final message and its history is stored: record the
                # turn outside the thread's locks, so the thread's next message need not wait
                # for the usage write (under load that wait was most of a follow-up's delay).
                await self._record(ctx)
            except asyncio.CancelledError:
                await self._interrupted(ctx)
                raise
            finally:
                for cleanup in reversed(ctx.cleanups):
                    try:
                        await cleanup()
                    except Exception as exc:
                        log.warning("turn.cleanup_failed", error_type=type(exc).__name__)
        return TurnResult(ctx.outcome, ctx.error_kind, ctx.model.id if ctx.model else None)

    async def _interrupted(self, ctx: TurnContext) -> None:
        """The turn's task was cancelled: leave a final message (what was shown so far plus a
        notice, never a frozen placeholder) and record the turn."""
        if ctx.replied:
            return
        ctx.outcome, ctx.error_kind = "error", "interrupted"
        log.warning("turn.interrupted")
        await self._fail(ctx, message("interrupted", ctx.lang), ctx.answer or ctx.shown)
        for stage in self._always:
            try:
                await stage.run(ctx)
            except Exception as exc:
                log.error("stage.failed", stage=stage.name, error_type=type(exc).__name__)
        metrics.TURNS.labels(ctx.outcome, ctx.error_kind).inc()

    async def _run(self, ctx: TurnContext) -> None:
        try:
            # The placeholder is posted while the stages before the model run (see
            # _StartingSink); the model is called once it is shown.
            ctx.sink = _StartingSink(ctx.sink, ctx.stage_ms)
            for stage in self._stages:
                began = time.monotonic()
                try:
                    await stage.run(ctx)
                finally:
                    ctx.stage_ms[stage.name] = _ms_since(began)
                    metrics.STAGE_SECONDS.labels(stage.name).observe(
                        ctx.stage_ms[stage.name] / 1000
                    )
            ctx.replied = True
        except Stop as stop:
            ctx.outcome, ctx.error_kind = stop.outcome, stop.kind
            await self._fail(ctx, stop.text, getattr(stop, "partial", ""), stop.buttons)
        except Exception as exc:
            ctx.outcome, ctx.error_kind = "error", "internal"
            log.error("turn.internal_error", error_type=type(exc).__name__, where=_where(exc))
            await self._fail(ctx, message("error_internal", ctx.lang))

    async def _record(self, ctx: TurnContext) -> None:
        """The stages that run for every turn (usage), then metrics and the log line."""
        for stage in self._always:
            try:
                await stage.run(ctx)
            except Exception as exc:
                log.error(
                    "stage.failed",
                    stage=stage.name,
                    error_type=type(exc).__name__,
                    where=_where(exc),
                )
        elapsed = time.monotonic() - ctx.started
        metrics.TURNS.labels(ctx.outcome, ctx.error_kind or "").inc()
        metrics.TURN_SECONDS.observe(elapsed)
        if ctx.first_token_at is not None:
            metrics.FIRST_TOKEN_SECONDS.observe(ctx.first_token_at - ctx.started)
        if ctx.mask_result is not None:
            for entity, count in ctx.mask_result.counts.items():
                metrics.MASKED.labels(str(entity)).inc(count)
        log.info(
            "turn.done",
            outcome=ctx.outcome,
            error_kind=ctx.error_kind,
            model=ctx.model.id if ctx.model else None,
            ms=int(elapsed * 1000),
            # Where the time went, by stage (the call stage includes the model's own time).
            stage_ms=ctx.stage_ms,
        )

    @staticmethod
    async def _fail(
        ctx: TurnContext, text: str, partial: str = "", buttons: Sequence[Button] = ()
    ) -> None:
        try:
            if buttons and getattr(ctx.sink, "shows_buttons", False):
                await ctx.sink.fail(text, partial, buttons=buttons)  # type: ignore[call-arg]
            else:
                await ctx.sink.fail(text, partial)
            ctx.replied = True
        except Exception as exc:
            log.error("sink.fail_failed", error_type=type(exc).__name__, where=_where(exc))


def _where(exc: BaseException) -> str:
    """file:line of the innermost frame: enough to find a bug, with no values from the message."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "?"
    return f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}"


def _ms_since(began: float) -> int:
    return int((time.monotonic() - began) * 1000)
