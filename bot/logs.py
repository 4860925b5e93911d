"""Structured JSON logs (structlog), one object per line on stdout.

Log calls name events and pass counts, ids of our own and kinds of errors; never a message text,
an answer, a name or a Slack user id. ``drop_text_fields`` enforces that for the keys where text
would most likely slip in.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

# Keys that would carry user text if someone passed it by mistake.
FORBIDDEN_KEYS = frozenset(
    {"text", "message_text", "answer", "prompt", "content", "user", "user_id"}
)


def drop_text_fields(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: remove keys that could carry personal text."""
    for key in FORBIDDEN_KEYS & event.keys():
        event[key] = "[removed]"
    return event


def _only_our_debug(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or record.name.startswith("madoguchi")


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    """Route structlog and the standard library's logging to one JSON line per event."""
    stream = stream or sys.stdout
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        drop_text_fields,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party libraries log request bodies and SQL parameters (message text) at INFO and
    # DEBUG: an allow-list lets only their warnings and errors through, whatever our level.
    handler.addFilter(_only_our_debug)
