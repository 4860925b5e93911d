"""Prometheus metrics (served on ``GET /metrics``). Labels carry kinds and model ids, never users."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
