"""Prometheus metrics (served on ``GET /metrics``). Labels carry kinds and model ids, never users."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

TURNS = Counter("madoguchi_turns_total", "Turns handled", ["outcome", "kind"])
TURN_SECONDS = Histogram(
    "madoguchi_turn_seconds", "Whole turn duration", buckets=(0.1, 0.5, 1, 2, 5, 10, 20, 40, 80)
)
FIRST_TOKEN_SECONDS = Histogram(
    "madoguchi_first_token_seconds",
    "Time to the first answer token",
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 16),
)
TOKENS = Counter("madoguchi_tokens_total", "Model tokens", ["model", "direction"])
MASKED = Counter("madoguchi_masked_entities_total", "Masked entities", ["type"])
FEEDBACK = Counter(
    "madoguchi_feedback_total", "Feedback clicks on answers (good, bad, minutes)", ["kind"]
)

# Running at scale (issue 7): database round trips and turns in flight, per instance.
DB_STATEMENTS = Counter(
    "madoguchi_db_statements_total", "SQL statements sent to the database", ["kind"]
)
DB_COMMITS = Counter("madoguchi_db_commits_total", "Explicit transactions committed")
IN_FLIGHT = Gauge("madoguchi_turns_in_flight", "Turns being answered by this instance")
DRAINING = Gauge("madoguchi_draining", "1 while the instance shuts down gracefully")
STREAMING_ANSWERS = Gauge(
    "madoguchi_streaming_answers", "Answers this instance is streaming into the chat right now"
)
SLACK_UPDATES = Counter(
    "madoguchi_slack_updates_total", "Intermediate updates of streaming answers sent to Slack"
)
STAGE_SECONDS = Histogram(
    "madoguchi_stage_seconds",
    "Time a turn spent in each gateway stage (the call stage includes the model)",
    ["stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def instrument_database(engine: AsyncEngine) -> None:
    """Count the statements (and commits) ``engine`` sends: the benchmark reports them per turn.

    Only the statement's first keyword is looked at, never its parameters.
    """

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        head = statement.lstrip()[:8].split(None, 1)
        DB_STATEMENTS.labels(head[0].upper() if head else "?").inc()

    def on_commit(_conn: Any) -> None:
        DB_COMMITS.inc()

    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    event.listen(engine.sync_engine, "commit", on_commit)
