"""``madoguchi chat``: the full pipeline in a terminal, streaming to stdout."""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import TextIO

from bot.runtime import Runtime
from bot.turn import Turn

# A line of three double quotes opens and closes a message of several lines.
MULTILINE = '"""'


class TerminalSink:
    """Prints the answer as it streams (only what is new since the last update)."""

    min_update_interval = 0.0

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.shown = ""

    async def start(self) -> None:
        """Nothing to show before the first words."""

    async def update(self, text: str) -> None:
        """Print the part of ``text`` not printed yet."""
        if text.startswith(self.shown):
            self.out.write(text[len(self.shown) :])
            self.out.flush()
            self.shown = text

    async def finish(self, text: str, notes: list[str]) -> None:
        """Print the rest of the answer and the notes."""
        await self.update(text)
        if not text.startswith(self.shown):  # restoring a value changed earlier text
            self.out.write("\n" + text)
        self.out.write("\n")
        for note in notes:
            self.out.write(f"  [{note}]\n")
        self.out.flush()
        self.shown = ""

    async def fail(self, message: str, partial: str = "") -> None:
        """Print the message after whatever was shown."""
        if self.shown:
            self.out.write("\n")
        self.out.write(f"⚠ {message}\n")
        self.out.flush()
        self.shown = ""


async def run_chat(
    runtime: Runtime,
    *,
    dry_run: bool = False,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
) -> int:
    """Read messages line by line: ``/new`` starts a new conversation, ``/exit`` quits, and a
    line of three double quotes (\"\"\") opens and closes a message of several lines (pasted
    minutes, a draft to proofread)."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    interactive = stdin.isatty()
    thread = uuid.uuid4().hex
    sink = TerminalSink(out)
    if interactive:
        out.write('窓口 Madoguchi — 終了は /exit、新しい会話は /new、複数行は """ で囲む\n')
    loop = asyncio.get_running_loop()
    while True:
        if interactive:
            out.write("> ")
            out.flush()
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            break
        text = line.rstrip("\n")
        if text.strip() == "/exit":
            break
        if text.strip() == "/new":
            thread = uuid.uuid4().hex
            continue
        if text.strip() == MULTILINE:
            lines: list[str] = []
            while (more := await loop.run_in_executor(None, stdin.readline)) and (
                more.strip() != MULTILINE
            ):
                lines.append(more.rstrip("\n"))
            text = "\n".join(lines)
        turn = Turn(
            tenant="local",
            channel="terminal",
            thread=thread,
            user="terminal",
            text=text,
            channel_type="terminal",
        )
        await runtime.gateway.handle(turn, sink, dry_run=dry_run)
    return 0
