"""The weekly digest (週刊ダイジェスト): a tip, a featured template and last week's figures,
posted once per channel per ISO week."""

from bot.digest.config import DigestConfig, DigestConfigStore
from bot.digest.content import DIGEST_ACTIONS, Digest, DigestEffect, check_blocks
from bot.digest.service import DigestPoster, DigestService, PostError, PostResult
from bot.digest.weeks import Schedule, Week, zone

__all__ = [
    "DIGEST_ACTIONS",
    "Digest",
    "DigestConfig",
    "DigestConfigStore",
    "DigestEffect",
    "DigestPoster",
    "DigestService",
    "PostError",
    "PostResult",
    "Schedule",
    "Week",
    "check_blocks",
    "zone",
]
