"""The usage stage: one anonymized event per turn, built from an allow-list of fields.

Nothing but the fields of :class:`UsageEvent` can reach a record: there is no free-form "extra",
so message text, names or Slack ids cannot slip in. The user is a keyed pseudonym (HMAC-SHA256).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Protocol

import structlog

log = structlog.get_logger("madoguchi.usage")


def pseudonym(user_id: str, key: bytes) -> str:
    """A stable keyed pseudonym for a user id: HMAC-SHA256, hex, truncated to 32 characters."""
    return hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


@dataclass
class UsageEvent:
    """One turn, anonymized. Every field here is allowed; nothing else is recorded."""

    time: datetime
    tenant: str
    user_pseudonym: str
    channel_type: str
    model: str | None
    outcome: str  # ok | refused | error
    error_kind: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    tokens_estimated: bool = False
    cost: float = 0.0
    latency_ms: int = 0
    first_token_ms: int | None = None
    masked_counts: dict[str, int] = field(default_factory=dict)
    blocked: bool = False
    blocked_types: list[str] = field(default_factory=list)
    category: str | None = None
    template_id: str | None = None
    new_conversation: bool = False

    def log_fields(self) -> dict[str, object]:
        """The event as log fields, with OpenTelemetry GenAI attribute names where they exist."""
        data = asdict(self)
        data["time"] = self.time.isoformat()
        data["gen_ai.request.model"] = data.pop("model")
        data["gen_ai.usage.input_tokens"] = data.pop("input_tokens")
        data["gen_ai.usage.output_tokens"] = data.pop("output_tokens")
        return data


class UsageRecorder(Protocol):
    """Receives one event per turn."""

    async def record(self, event: UsageEvent) -> None:
        """Store or forward ``event``."""


class LogUsageRecorder:
    """Writes each event as one JSON log line."""

    async def record(self, event: UsageEvent) -> None:
        """Log ``event`` (allow-listed fields only)."""
        log.info("usage", **event.log_fields())
