"""Load benchmark: N concurrent streaming conversations on 2 bot instances sharing PostgreSQL.

Simulated staff talk to two real ``madoguchi serve --http`` child processes (one event loop each)
that share one PostgreSQL database (and Redis with ``--redis``). A load balancer is simulated by
the driver: the turns of one conversation alternate between the instances, and ``--dup`` of the
events are delivered to both at once (as Slack retries and a load balancer can). The model is the
local OpenAI-compatible server in its realistic mode (first token after 0.5 s, then 30 tokens/s),
in a child process of its own; the Slack-compatible Web API runs in this driver process.

Measured per N (each conversation sends ``--turns`` messages, each after the previous answer):

* turns/s, and how many answers the model was streaming at once (mean and peak);
  **bot overhead** per turn = (event POST sent → the model request received) + (the
  model's last byte written → the final ``chat.update`` received): everything the bot adds to the
  model's own time, across processes on one monotonic clock (CLOCK_MONOTONIC is system-wide);
* placeholder latency (event → 「考え中…」 received), ``chat.update`` calls per answer and per
  streaming second;
* bot CPU per turn and RSS (peak) per instance, from /proc; the other processes' CPU for context;
* database statements per turn (the bots' ``madoguchi_db_statements_total``) and PostgreSQL
  transactions per turn (``pg_stat_database``: every autocommit statement, pool pre-ping and
  explicit transaction counts once);
* lost answers (a turn without a final answer) and duplicated answers (more than one final
  answer, or more than one model request, for one turn).

    .venv/bin/python -m bench.bench_load --n 100 500 1000 --turns 3
    .venv/bin/python -m bench.bench_load --n 1000 --redis redis://127.0.0.1:6379/0
    .venv/bin/python -m bench.bench_load --n 1000 --think 20 --redis redis://127.0.0.1:6379/0

Without ``--think`` every conversation sends its next message the moment its answer is final (a
stress test: nearly all N answers stream at once); ``--think S`` has staff take S seconds on
average (exponential) to read the answer and write the next message.

The bots log to ``bench/out/bot-{a,b}.log`` (``BENCH_BOT_LOG_LEVEL=INFO`` for every turn); they
take ``MADOGUCHI_*`` settings from this process's environment (e.g. ``MADOGUCHI_DB_POOL_SIZE``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import statistics
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.peers import FakeSlackAPI, app_mention, event_callback, sign_request, thread_reply
from tests.peers.openai_api import ChatRequest, FakeOpenAI
from tests.peers.slack_api import Call
from tests.serve_process import serve_env, wait_ready

SECRET = "bench-secret"
CHANNEL = "C0LOAD"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
MARKER = re.compile(r"\[(c\d+t\d+)\]")
REPO = Path(__file__).resolve().parents[1]

# What staff write (with personal data, so masking and restoring are part of every turn).
QUESTIONS = [
    "来月の防災訓練の案内文を、高齢者にも分かりやすく作ってください。",
    "山田太郎さん（090-1234-5678）からの問い合わせへの返信文を丁寧に作ってください。",
    "議事録の要約のコツを3つ教えてください。",
    "住民説明会のあいさつ文を300字程度でお願いします。",
    "佐藤花子様 宛に、子育て支援制度の案内メールを書いてください。住所は横浜市中区日本大通1です。",
    "ExcelのVBAで、A列の重複を削除するマクロを書いてください。",
]


# --------------------------------------------------------------------------- model peer


class TimedOpenAI(FakeOpenAI):
    """The realistic OpenAI-compatible peer, plus when each request arrived and its stream
    ended, keyed by the conversation marker in the user's message."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timings: dict[str, list[float]] = {}

    def _build_app(self) -> Any:
        app = super()._build_app()
        app.router.add_get("/_bench/timings", self._handle_timings)
        return app

    async def _handle_timings(self, _request: Any) -> Any:
        from aiohttp import web

        return web.json_response(self.timings)

    async def _respond_stream(self, request: Any, req: ChatRequest, action: Any) -> Any:
        match = MARKER.search(req.last_user_text)
        key = match.group(1) if match else f"?{len(self.timings)}"
        self.timings.setdefault(key, []).append(req.time)
        response = await super()._respond_stream(request, req, action)
        self.timings[key].append(time.monotonic())
        return response


async def _serve_openai(reply_chars: int, write_interval: float) -> None:
    from tests.peers.process import serve_until_signal

    llm = TimedOpenAI(mode="realistic", reply_chars=reply_chars, write_interval=write_interval)
    await llm.start("127.0.0.1", 0)
    await serve_until_signal(llm, llm.base_url)


async def _spawn(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.bench_load",
        *args,
        cwd=str(REPO),
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
    if not line.startswith("READY "):
        raise RuntimeError(f"peer failed: {line!r}")
    return proc, line.split(" ", 1)[1]


# --------------------------------------------------------------------------- Slack peer


class TrackingSlack(FakeSlackAPI):
    """The Slack-compatible fake, resolving a future when a turn's final answer arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[str, asyncio.Future[float]] = {}  # thread → the turn waiting
        self.placeholder_at: dict[str, float] = {}
        self.finals: dict[str, int] = defaultdict(int)  # thread → final answers seen
        self.updates: dict[str, int] = defaultdict(int)  # thread → chat.update calls
        self._ts_thread: dict[str, str] = {}

    async def _answer(self, call: Call, request: Any) -> Any:  # type: ignore[override]
        result = await super()._answer(call, request)
        body = result[1]
        now = time.monotonic()
        if call.method == "chat.postMessage" and body.get("ok"):
            thread = call.args.get("thread_ts", "")
            self._ts_thread[body["ts"]] = thread
            self.placeholder_at.setdefault(thread, call.time)
        thread = call.args.get("thread_ts") or self._ts_thread.get(call.args.get("ts", ""), "")
        if call.method == "chat.update":
            self.updates[thread] += 1
        # The final render carries blocks (answer + notes); intermediate updates do not.
        if call.method in ("chat.update", "chat.postMessage") and call.args.get("blocks"):
            self.finals[thread] += 1
            future = self.waiting.get(thread)
            if future is not None and not future.done():
                future.set_result(now)
        return result


# --------------------------------------------------------------------------- bots


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _busy_cpu_seconds() -> float:
    """CPU seconds all processes of the machine have used (from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def _pg_backend_cpu(admin_url: str, name: str) -> dict[int, float]:
    """CPU seconds of the PostgreSQL backends serving database ``name``, by pid."""
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", name)
    finally:
        await conn.close()
    found = {}
    for row in rows:
        try:
            found[row["pid"]] = _cpu_seconds(row["pid"])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return found


async def _redis_cpu(redis_url: str | None) -> float:
    """CPU seconds the Redis server has used (0 without Redis)."""
    if not redis_url:
        return 0.0
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        info = await client.info("cpu")
    finally:
        await client.aclose()
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def _listen_drops() -> int:
    """Connections the kernel dropped because a listening socket's queue was full (machine-wide,
    since boot; each costs its client a 1 s SYN retransmit)."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            return int(dict(zip(names.split(), values.split(), strict=True))["ListenDrops"])
    return 0


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Bot:
    proc: asyncio.subprocess.Process
    url: str


async def _start_bot(
    port: int,
    slack_url: str,
    openai_url: str,
    db_url: str,
    redis_url: str | None,
    log: Path,
) -> Bot:
    env = serve_env(
        slack_url=slack_url,
        openai_url=openai_url,
        database_url=db_url,
        signing_secret=SECRET,
        MADOGUCHI_LOG_LEVEL=os.environ.get("BENCH_BOT_LOG_LEVEL", "WARNING"),
        MADOGUCHI_MODEL_TIMEOUT="120",
    )
    if redis_url:
        env["MADOGUCHI_REDIS_URL"] = redis_url
    handle = log.open("ab")
    command = ["-m", "bot", "serve", "--http", "--host", "127.0.0.1", "--port", str(port)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *command, cwd=str(REPO), env=env, stdout=handle, stderr=handle
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(proc, url)
    except RuntimeError:
        raise RuntimeError(f"bot on port {port} did not start (see {log})") from None
    return Bot(proc, url)


async def _db_metrics(session: aiohttp.ClientSession, bots: list[Bot]) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for bot in bots:
        async with session.get(bot.url + "/metrics") as response:
            text = await response.text()
        for line in text.splitlines():
            if line.startswith("madoguchi_db_statements_total{"):
                kind = line.split('kind="', 1)[1].split('"', 1)[0]
                totals[kind] += float(line.rsplit(" ", 1)[1])
            elif line.startswith("madoguchi_db_commits_total "):
                totals["commits"] += float(line.rsplit(" ", 1)[1])
    return totals


async def _pg_transactions(admin_url: str, name: str) -> tuple[int, int]:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        # Make the statistics collector publish what it has (PostgreSQL ≥ 15 keeps them in
        # shared memory, older versions lag by up to 500 ms).
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        row = await conn.fetchrow(
            "SELECT xact_commit + xact_rollback AS n, sessions FROM pg_stat_database"
            " WHERE datname = $1",
            name,
        )
        return int(row["n"]), int(row["sessions"])
    finally:
        await conn.close()


# --------------------------------------------------------------------------- the load


@dataclass
class Turn:
    conversation: int
    n: int
    sent: float = 0.0
    placeholder: float | None = None
    final: float | None = None
    duplicated_event: bool = False
    thread: str = ""


@dataclass
class Run:
    turns: list[Turn] = field(default_factory=list)
    #: Deliveries answered with a 5xx and retried (as Slack would).
    retried: int = 0


async def _post(
    session: aiohttp.ClientSession, url: str, payload: dict[str, Any], run: Run
) -> int:
    """Deliver an event the way Slack does: an answer other than 2xx is retried (Slack waits
    about a minute; 1 s here), with the retry headers, up to three times."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    for attempt in range(4):
        headers = {"Content-Type": "application/json", **sign_request(body, SECRET)}
        if attempt:
            headers |= {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_error"}
        async with session.post(url + "/slack/events", data=body, headers=headers) as response:
            await response.read()
            if response.status < 500:
                return response.status
        run.retried += 1
        await asyncio.sleep(1.0)
    return response.status


async def _conversation(
    i: int,
    turns: int,
    bots: list[Bot],
    session: aiohttp.ClientSession,
    slack: TrackingSlack,
    run: Run,
    dup: float,
    rng: random.Random,
    start_at: float,
    think: float = 0.0,
) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    user = f"U{i:07d}"
    root: str | None = None
    for n in range(turns):
        if n and think:
            # Reading the answer and typing the next message: exponential, mean ``think``.
            await asyncio.sleep(rng.expovariate(1.0 / think))
        text = f"[c{i}t{n}] {rng.choice(QUESTIONS)}"
        event = (
            app_mention(text, user=user, channel=CHANNEL)
            if root is None
            else thread_reply(text, thread_ts=root, user=user, channel=CHANNEL)
        )
        thread = root or event["ts"]
        turn = Turn(i, n, thread=thread)
        run.turns.append(turn)
        slack.placeholder_at.pop(thread, None)
        future: asyncio.Future[float] = loop.create_future()
        slack.waiting[thread] = future
        payload = event_callback(event)
        # A load balancer: alternate instances along the conversation; sometimes both get it.
        target = bots[(i + n) % len(bots)]
        turn.sent = time.monotonic()
        if rng.random() < dup:
            turn.duplicated_event = True
            other = bots[(i + n + 1) % len(bots)]
            statuses = await asyncio.gather(
                _post(session, target.url, payload, run), _post(session, other.url, payload, run)
            )
        else:
            statuses = [await _post(session, target.url, payload, run)]
        assert all(s == 200 for s in statuses), statuses
        try:
            turn.final = await asyncio.wait_for(future, 120)
        except TimeoutError:
            return  # a lost answer: counted in the report
        turn.placeholder = slack.placeholder_at.get(thread)
        root = thread


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


async def run_level(
    n_conversations: int,
    turns: int,
    *,
    pg_url: str,
    redis_url: str | None,
    dup: float,
    ramp: float,
    reply_chars: int,
    write_interval: float,
    seed: int,
    log_dir: Path,
    think: float = 0.0,
) -> dict[str, Any]:
    """One load level: fresh database, fresh processes, N conversations."""
    import asyncpg

    admin_url = pg_url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"madoguchi_load_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    base, mark, query = pg_url.partition("?")  # e.g. ?host=/var/run/postgresql (a socket)
    db_url = base.rsplit("/", 1)[0] + "/" + name + mark + query
    if not db_url.startswith("postgresql+asyncpg://"):
        db_url = db_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    rng = random.Random(seed)
    slack = TrackingSlack()
    await slack.start()
    openai_proc, openai_url = await _spawn(
        "--serve-openai", "--reply-chars", str(reply_chars), "--write-interval", str(write_interval)
    )
    bots: list[Bot] = []
    try:
        # The first instance migrates the fresh database; the second finds it current.
        bots.append(
            await _start_bot(
                38481,
                slack.base_url,
                openai_url,
                db_url,
                redis_url,
                log_dir / "bot-a.log",
            )
        )
        bots.append(
            await _start_bot(
                38482,
                slack.base_url,
                openai_url,
                db_url,
                redis_url,
                log_dir / "bot-b.log",
            )
        )
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            warm = Run()
            await asyncio.gather(
                *(
                    _conversation(-1 - k, 1, [bot], session, slack, warm, 0.0, rng, 0.0)
                    for k, bot in enumerate(bots)
                )
            )
            slack.finals.clear()
            slack.updates.clear()
            cpu0 = [_cpu_seconds(b.proc.pid) for b in bots]
            others0 = _cpu_seconds(openai_proc.pid), time.process_time()
            db0 = await _db_metrics(session, bots)
            pg0 = await _pg_transactions(admin_url, name)
            pg_cpu0 = await _pg_backend_cpu(admin_url, name)
            redis_cpu0 = await _redis_cpu(redis_url)
            busy0 = _busy_cpu_seconds()
            drops0 = _listen_drops()
            run = Run()
            wall0 = time.monotonic()
            await asyncio.gather(
                *(
                    _conversation(
                        i,
                        turns,
                        bots,
                        session,
                        slack,
                        run,
                        dup,
                        rng,
                        wall0 + ramp * i / n_conversations,
                        think,
                    )
                    for i in range(n_conversations)
                )
            )
            wall = time.monotonic() - wall0
            await asyncio.sleep(1.0)  # late duplicates would show up now
            cpu = [_cpu_seconds(b.proc.pid) - c for b, c in zip(bots, cpu0, strict=True)]
            openai_cpu = _cpu_seconds(openai_proc.pid) - others0[0]
            driver_cpu = time.process_time() - others0[1]
            rss = [_peak_rss_mb(b.proc.pid) for b in bots]
            busy = _busy_cpu_seconds() - busy0
            drops = _listen_drops() - drops0
            redis_cpu = await _redis_cpu(redis_url) - redis_cpu0
            pg_cpu1 = await _pg_backend_cpu(admin_url, name)
            pg_cpu = sum(v - pg_cpu0.get(pid, 0.0) for pid, v in pg_cpu1.items())
            db1 = await _db_metrics(session, bots)
            pg1 = await _pg_transactions(admin_url, name)
            async with session.get(openai_url.rsplit("/v1", 1)[0] + "/_bench/timings") as response:
                timings: dict[str, list[float]] = await response.json()
    finally:
        for bot in bots:
            bot.proc.terminate()
        for bot in bots:
            await bot.proc.wait()
        openai_proc.terminate()
        await openai_proc.wait()
        await slack.stop()
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    result = _report(
        n_conversations,
        run,
        slack,
        timings,
        wall,
        cpu,
        openai_cpu,
        driver_cpu,
        rss,
        db0,
        db1,
        pg1[0] - pg0[0],
    )
    # New PostgreSQL connections during the run (each one forks a server process).
    result["pg_connections_opened"] = pg1[1] - pg0[1]
    ours = sum(cpu) + openai_cpu + driver_cpu + pg_cpu + redis_cpu
    result["postgres_cpu_share"] = round(pg_cpu / wall, 3)
    result["redis_cpu_share"] = round(redis_cpu / wall, 3)
    result["machine_busy_share"] = round(busy / wall, 2)
    result["listen_drops"] = drops
    # Other work on the machine (other users' jobs) competing for the same 2 cores.
    result["other_load_share"] = round(max(0.0, busy - ours) / wall, 2)
    return result


def _report(
    n: int,
    run: Run,
    slack: TrackingSlack,
    timings: dict[str, list[float]],
    wall: float,
    cpu: list[float],
    openai_cpu: float,
    driver_cpu: float,
    rss: list[float],
    db0: dict[str, float],
    db1: dict[str, float],
    pg_transactions: int,
) -> dict[str, Any]:
    answered = [t for t in run.turns if t.final is not None]
    lost = len(run.turns) - len(answered)
    requests_per_turn = {k: v for k, v in timings.items() if not k.startswith("?")}
    duplicated_model = sum(1 for v in requests_per_turn.values() if len(v) > 2)
    threads: dict[str, int] = defaultdict(int)
    for t in run.turns:
        threads[t.thread] += 1
    duplicated_final = sum(max(0, slack.finals[th] - k) for th, k in threads.items())
    overhead, before, after, placeholder, stream_s = [], [], [], [], []
    before_first, before_follow = [], []
    for t in answered:
        times = timings.get(f"c{t.conversation}t{t.n}")
        if not times or len(times) < 2 or t.final is None:
            continue
        received, done = times[0], times[-1]
        before.append((received - t.sent) * 1000)
        (before_first if t.n == 0 else before_follow).append(before[-1])
        after.append((t.final - done) * 1000)
        overhead.append(before[-1] + after[-1])
        stream_s.append(done - received)
        if t.placeholder is not None:
            placeholder.append((t.placeholder - t.sent) * 1000)
    updates = sum(slack.updates[th] for th in threads)
    streaming_mean, streaming_max = _streaming_at_once(list(requests_per_turn.values()), wall)
    statements = {k: db1.get(k, 0) - db0.get(k, 0) for k in db1}
    per_turn = max(1, len(answered))
    return {
        "conversations": n,
        "turns": len(run.turns),
        "answered": len(answered),
        "lost": lost,
        "duplicated_answers": duplicated_final,
        "duplicated_model_calls": duplicated_model,
        "duplicated_events_sent": sum(1 for t in run.turns if t.duplicated_event),
        "deliveries_retried_after_5xx": run.retried,
        "wall_s": round(wall, 1),
        "turns_per_s": round(len(answered) / wall, 1),
        "overhead_ms_p50": round(statistics.median(overhead), 1) if overhead else None,
        "overhead_ms_p99": round(_pct(overhead, 99), 1),
        "before_model_ms_p50": round(statistics.median(before), 1) if before else None,
        "before_model_ms_p99": round(_pct(before, 99), 1),
        "before_model_new_thread_ms_p50_p99": [
            round(_pct(before_first, 50), 1),
            round(_pct(before_first, 99), 1),
        ],
        "before_model_follow_up_ms_p50_p99": [
            round(_pct(before_follow, 50), 1),
            round(_pct(before_follow, 99), 1),
        ],
        "after_model_ms_p50": round(statistics.median(after), 1) if after else None,
        "after_model_ms_p99": round(_pct(after, 99), 1),
        "placeholder_ms_p50": round(statistics.median(placeholder), 1) if placeholder else None,
        "placeholder_ms_p99": round(_pct(placeholder, 99), 1),
        "model_stream_s_mean": round(statistics.fmean(stream_s), 2) if stream_s else None,
        "answers_streaming_at_once_mean_max": [round(streaming_mean), streaming_max],
        "chat_update_per_answer": round(updates / per_turn, 2),
        "chat_update_per_answer_second": round(updates / max(1e-9, sum(stream_s)), 2),
        "bot_cpu_ms_per_turn": round(sum(cpu) / per_turn * 1000, 2),
        "bot_cpu_share": [round(c / wall, 2) for c in cpu],
        "bot_peak_rss_mb": [round(r) for r in rss],
        "openai_peer_cpu_share": round(openai_cpu / wall, 2),
        "driver_and_slack_cpu_share": round(driver_cpu / wall, 2),
        "db_statements_per_turn": round(
            sum(v for k, v in statements.items() if k != "commits") / per_turn, 2
        ),
        "db_statements_by_kind_per_turn": {
            k: round(v / per_turn, 2) for k, v in sorted(statements.items()) if v
        },
        "pg_transactions_per_turn": round(pg_transactions / per_turn, 2),
    }


def _streaming_at_once(spans: list[list[float]], wall: float) -> tuple[float, int]:
    """How many answers the model was streaming at once: the mean over the run and the peak."""
    changes = sorted(
        [(times[0], 1) for times in spans if len(times) >= 2]
        + [(times[-1], -1) for times in spans if len(times) >= 2]
    )
    now = peak = 0
    area = 0.0
    for k, (at, step) in enumerate(changes):
        now += step
        peak = max(peak, now)
        if k + 1 < len(changes):
            area += now * (changes[k + 1][0] - at)
    return (area / wall if wall else 0.0), peak


def _markdown(results: list[dict[str, Any]]) -> str:
    rows = [
        ("concurrent conversations", "conversations", ""),
        ("turns answered / lost / duplicated", None, ""),
        ("turns per second", "turns_per_s", ""),
        ("answers streaming at once, mean / peak", "answers_streaming_at_once_mean_max", ""),
        ("bot overhead p50 / p99 (ms)", ("overhead_ms_p50", "overhead_ms_p99"), ""),
        ("… before the model p50 / p99 (ms)", ("before_model_ms_p50", "before_model_ms_p99"), ""),
        ("… after the model p50 / p99 (ms)", ("after_model_ms_p50", "after_model_ms_p99"), ""),
        ("placeholder p50 / p99 (ms)", ("placeholder_ms_p50", "placeholder_ms_p99"), ""),
        (
            "chat.update per answer / per streaming second",
            ("chat_update_per_answer", "chat_update_per_answer_second"),
            "",
        ),
        ("bot CPU per turn (ms)", "bot_cpu_ms_per_turn", ""),
        ("bot CPU share per instance", "bot_cpu_share", ""),
        ("bot peak RSS per instance (MB)", "bot_peak_rss_mb", ""),
        ("SQL statements per turn", "db_statements_per_turn", ""),
        ("PostgreSQL transactions per turn", "pg_transactions_per_turn", ""),
        (
            "CPU share: PostgreSQL / whole machine / other jobs",
            ("postgres_cpu_share", "machine_busy_share", "other_load_share"),
            "",
        ),
        ("connections dropped by a full listen queue", "listen_drops", ""),
    ]
    header = "| measure | " + " | ".join(f"N = {r['conversations']:,}" for r in results) + " |"
    lines = [header, "|---|" + "---|" * len(results)]
    for label, key, _ in rows[1:]:
        cells = []
        for r in results:
            if key is None:
                cells.append(f"{r['answered']:,} / {r['lost']} / {r['duplicated_answers']}")
            elif isinstance(key, tuple):
                cells.append(" / ".join(str(r[k]) for k in key))
            else:
                value = r[key]
                cells.append(
                    ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
                )
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Run every level in ``args.n`` and return the figures."""
    log_dir = REPO / "bench" / "out"
    log_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for n in args.n:
        result = await run_level(
            n,
            args.turns,
            pg_url=args.postgres,
            redis_url=args.redis,
            dup=args.dup,
            ramp=args.ramp if args.ramp is not None else n / 100,
            reply_chars=args.reply_chars,
            write_interval=args.write_interval,
            seed=args.seed,
            log_dir=log_dir,
            think=args.think,
        )
        print(json.dumps(result, ensure_ascii=False), flush=True)
        results.append(result)
    return results


def _run(coroutine: Any) -> Any:
    """Run the peers and the driver on uvloop, as the bots are: the peers share the 2 cores with
    the bots, and every cycle they spend is one the bots don't get."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


def main() -> None:
    """Command line: run the levels, print one JSON line each, then a Markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--turns", type=int, default=3, help="messages per conversation")
    parser.add_argument(
        "--postgres", default=os.environ.get("MADOGUCHI_BENCH_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--redis", default=None, help="redis://… to coordinate through Redis")
    parser.add_argument("--dup", type=float, default=0.1, help="share of events sent to both")
    parser.add_argument("--ramp", type=float, default=None, help="seconds to start all (N/100)")
    parser.add_argument("--reply-chars", type=int, default=240)
    parser.add_argument("--write-interval", type=float, default=0.1)
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds staff take between an answer and their next message (0: at once)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--serve-openai", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_openai:
        _run(_serve_openai(args.reply_chars, args.write_interval))
        return
    results = _run(main_async(args))
    print()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} vCPU, Python {platform.python_version()}"
    )
    print(_markdown(results))


if __name__ == "__main__":
    main()
