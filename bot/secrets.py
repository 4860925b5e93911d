"""Keys for the placeholder vault and the pseudonymiser.

On a single machine with SQLite, a missing key is generated once and kept beside the database
(mode 0600), so the terminal chat works with only a model endpoint configured. With PostgreSQL
(several instances) every instance must share the key, so it has to be set explicitly.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import structlog

from bot.settings import Settings, SettingsError

log = structlog.get_logger("madoguchi.secrets")


def data_dir(settings: Settings) -> Path:
    """The directory of the SQLite database file (the current directory otherwise)."""
    url = settings.database_url
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            return Path(path).expanduser().resolve().parent
    return Path.cwd()


def resolve_key(settings: Settings, field: str) -> bytes:
    """Return the key set in ``field``, or the generated local one (SQLite only)."""
    value = settings.secret(field)
    if value:
        return value.encode("utf-8")
    if not settings.database_url.startswith("sqlite"):
        raise SettingsError(
            f"{settings.env_name(field)}: required with PostgreSQL (instances must share it)"
        )
    path = data_dir(settings) / f".madoguchi-{field.replace('_', '-')}"
    if path.exists():
        return path.read_bytes().strip()
    key = base64.urlsafe_b64encode(os.urandom(32))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    log.warning("key.generated", setting=settings.env_name(field), file=str(path))
    return key
