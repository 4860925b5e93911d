"""Build the prompt library and the digest service from settings (called by build_runtime)."""

from __future__ import annotations

from datetime import datetime

from bot.digest.config import DigestConfigStore
from bot.digest.content import Figures
from bot.digest.service import DigestService
from bot.digest.weeks import zone
from bot.prompts.library import PromptLibrary, feedback_ratings
from bot.settings import Settings
from bot.storage.db import Database


def build_library_and_digest(
    settings: Settings, db: Database, pseudonym_key: bytes
) -> tuple[PromptLibrary, DigestService]:
    """The prompt library and the digest service of one process."""
    library = PromptLibrary(
        db, pseudonym_key=pseudonym_key, lang=settings.language, ratings=feedback_ratings(db)
    )
    configs = DigestConfigStore(
        db,
        # With OAuth (many workspaces) channel ids differ per workspace: each workspace's
        # admins set theirs with /madoguchi-admin digest channel.
        default_channels=() if settings.oauth_enabled else settings.digest_channels,
        default_schedule=settings.digest_schedule,
        default_enabled=settings.digest_enabled,
    )
    headcount = getattr(settings, "staff_headcount", None)
    k = int(getattr(settings, "k_anonymity", 5))

    async def figures(tenant: str, start: datetime, end: datetime) -> Figures:
        # The oversight reports' figures (issue 4): the same numbers, the same k-anonymity.
        from bot.reports.figures import period_figures

        return await period_figures(db, tenant, start, end, headcount=headcount, k=k)

    digest = DigestService(
        db,
        library,
        configs,
        tz=zone(settings.digest_timezone),
        lang=settings.language,
        figures=figures,
        k=k,
    )
    return library, digest
