"""How often a streaming answer may be edited in Slack, given how many stream at once.

Slack limits ``chat.update`` (and ``chat.appendStream``) per method, app and workspace (Tier 3:
"50+ per minute", bursts tolerated). One edit per second per answer is fine for a handful of
answers; for hundreds at once it means hundreds of calls a second, which Slack answers with 429s
and which cost the instance most of its CPU. The pacer spreads an update budget over the answers
that are streaming in a workspace: each one is edited every ``max(interval, streaming / rate)``
seconds. Final messages are never paced (see handlers/sink.py).
"""

from __future__ import annotations

from collections import Counter

from bot import metrics


class UpdatePacer:
    """Shares ``rate`` intermediate updates per second among one workspace's streaming answers.

    ``interval`` is the shortest time between two updates of one answer; ``rate`` 0 means no
    budget (every answer is updated every ``interval`` seconds). The budget is per instance: N
    instances behind a load balancer send up to N × ``rate``.
    """

    def __init__(self, interval: float, rate: float) -> None:
        self.min_interval = interval
        self.rate = rate
        self._streaming: Counter[str | None] = Counter()

    def interval(self, team: str | None) -> float:
        """Seconds to wait between two updates of one answer in ``team`` right now."""
        if self.rate <= 0:
            return self.min_interval
        return max(self.min_interval, self._streaming[team] / self.rate)

    def begin(self, team: str | None) -> None:
        """An answer in ``team`` started streaming."""
        self._streaming[team] += 1
        metrics.STREAMING_ANSWERS.inc()

    def end(self, team: str | None) -> None:
        """An answer in ``team`` stopped streaming (finished, failed or cancelled)."""
        self._streaming[team] -= 1
        if self._streaming[team] <= 0:
            del self._streaming[team]
        metrics.STREAMING_ANSWERS.dec()

    def streaming(self, team: str | None) -> int:
        """How many answers are streaming in ``team``."""
        return self._streaming[team]
