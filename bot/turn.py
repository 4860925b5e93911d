"""What the core receives (a turn) and what it writes to (a reply sink). No chat platform here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

ChannelType = Literal["dm", "channel", "private", "terminal"]


@dataclass(frozen=True)
class Turn:
    """One user message addressed to the bot.

    ``user`` is the platform's user id: the access stage and the pseudonymiser read it; it is
    never stored or logged as is.
    """

    tenant: str
    channel: str
    thread: str
    user: str
    text: str
    channel_type: ChannelType = "channel"
    has_files: bool = False


class ReplySink(Protocol):
    """Where the answer to a turn goes, in four calls: start → update* → finish | fail."""

    #: Seconds between two updates the sink wants at most (Slack: about 1; a terminal: 0).
    min_update_interval: float

    async def start(self) -> None:
        """Show at once that the bot is working (e.g. a 「考え中…」 placeholder)."""

    async def update(self, text: str) -> None:
        """Replace the visible answer with ``text`` (the whole answer so far, real values restored)."""

    async def finish(self, text: str, notes: list[str]) -> None:
        """Show the final answer with short notes (model used, notices)."""

    async def fail(self, message: str, partial: str = "") -> None:
        """Show a refusal or an error message in place of (or below the partial) answer."""
