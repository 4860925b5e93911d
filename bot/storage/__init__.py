"""Storage: SQLAlchemy 2 async on SQLite (default) or PostgreSQL, schema by Alembic migrations."""

from bot.storage.db import Database
from bot.storage.store import Conversation, Store

__all__ = ["Conversation", "Database", "Store"]
