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
    #: The prompt-library template this turn was filled from (recorded on the usage event).
    template_id: str | None = None


@dataclass(frozen=True)
class Button:
    """A choice a refusal offers (e.g. 「同意して利用する」); the platform renders it.

    ``action`` is a stable id the platform's action handler listens for; ``value`` travels back
    with the press. Neither may carry the user's text.
    """

    action: str
    label: str
    value: str = ""
    primary: bool = False


class ReplySink(Protocol):
    """Where the answer to a turn goes, in four calls: start → update* → finish | fail."""

    #: Seconds between two updates the sink wants at most (Slack: about 1, longer while many
    #: answers stream at once; a terminal: 0). Read again before every update.
    min_update_interval: float

    async def start(self) -> None:
        """Show at once that the bot is working (e.g. a 「考え中…」 placeholder)."""

    async def update(self, text: str) -> None:
        """Replace the visible answer with ``text`` (the whole answer so far, real values restored)."""

    async def finish(self, text: str, notes: list[str], *, turn_id: str | None = None) -> None:
        """Show the final answer with short notes (model used, notices).

        A sink that sets the class attribute ``shows_feedback = True`` is passed ``turn_id``
        (the id of the turn's usage event) and may attach feedback controls carrying it; the
        gateway calls other sinks as ``finish(text, notes)``.
        """

    async def fail(self, message: str, partial: str = "") -> None:
        """Show a refusal or an error message in place of (or below the partial) answer.

        A sink that sets the class attribute ``shows_buttons = True`` is also passed
        ``buttons=`` (a sequence of :class:`Button`) when the refusal offers a choice; the
        gateway calls other sinks as ``fail(message, partial)``.
        """
