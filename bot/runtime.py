"""Assemble the core from settings: database, catalog, model clients, masker, gateway."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from bot import metrics
from bot.admin import AdminService
from bot.catalog import ModelCatalog
from bot.coordination import (
    Coordinator,
    InFlightTurns,
    SharedThreadLock,
    UserConcurrency,
    build_coordinator,
)
from bot.digest import DigestService
from bot.digest.setup import build_library_and_digest
from bot.gateway import (
    AccessCheck,
    AccessPolicy,
    Gateway,
    InputCheck,
    Masking,
    ModelCall,
    ModelSelection,
    RecordUsage,
    TokenBudget,
    Unmask,
)
from bot.llm import ModelClients
from bot.masking import Masker, MaskingPolicy
from bot.prompts import PromptLibrary
from bot.secrets import resolve_key
from bot.settings import Settings
from bot.storage import Database, Store
from bot.usage import DatabaseUsageRecorder, Departments, FanOutRecorder, UsageRecorder


@dataclass
class Runtime:
    """The long-lived objects of one process."""

    settings: Settings
    db: Database
    store: Store
    catalog: ModelCatalog
    clients: ModelClients
    masker: Masker
    policy: MaskingPolicy
    gateway: Gateway
    #: The usage stage asks this for a user's department; the Slack app installs a resolver.
    departments: Departments = field(default_factory=Departments)
    #: Shared locks, counters and event claims (Redis, the database, or in-process).
    coordinator: Coordinator | None = None
    #: The turns being answered, so a graceful shutdown can wait for them.
    in_flight: InFlightTurns = field(default_factory=InFlightTurns)
    #: Admin settings, policies and staff choices (bot/admin); the Slack app sets its directory.
    admin: AdminService | None = None
    #: The prompt library (プロンプト集) and the weekly digest (bot/prompts, bot/digest).
    library: PromptLibrary | None = None
    digest: DigestService | None = None

    async def aclose(self) -> None:
        """Release connections."""
        await self.clients.aclose()
        if self.coordinator is not None:
            await self.coordinator.aclose()
        await self.db.dispose()


async def build_runtime(
    settings: Settings,
    *,
    recorder: UsageRecorder | None = None,
    access: AccessPolicy | None = None,
    upgrade_schema: bool = True,
) -> Runtime:
    """Build the runtime; migrates the database when its schema is behind the code.

    Usage events always go to the database (and the JSON log); a ``recorder`` passed here
    receives every event as well, after the database has it.
    """
    catalog = ModelCatalog.load(settings.default_model, settings.models_file)
    vault_key = resolve_key(settings, "vault_key")
    pseudonym_key = resolve_key(settings, "pseudonym_key")
    db = Database(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
    )
    if upgrade_schema:
        await db.ensure_schema()
    store = Store(db, retention=timedelta(days=settings.retention_days))
    metrics.instrument_database(db.engine)
    coordinator = build_coordinator(settings, db, store)
    in_flight = InFlightTurns()
    clients = ModelClients(settings)
    masker = Masker()
    policy = MaskingPolicy.load()
    # Admins' settings (models, masking overrides, terms, access, consent, quotas) from the DB.
    admin = AdminService(
        settings, db, catalog, policy, pseudonym_key=pseudonym_key, term_key=vault_key
    )

    categorize = None
    try:
        from bot.categories import CategoryClassifier

        classifier = CategoryClassifier.load()

        def categorize(text: str) -> str:
            return classifier.classify(text).id
    except ImportError:  # pragma: no cover - the classifier ships with the package
        pass

    usage_db = DatabaseUsageRecorder(db)
    departments = Departments()
    library, digest = build_library_and_digest(settings, db, pseudonym_key)
    gateway = Gateway(
        stages=[
            InputCheck(settings.max_message_chars),
            AccessCheck(access or admin.access),
            # Only when a per-user limit is set (MADOGUCHI_MAX_CONCURRENT_TURNS_PER_USER).
            *(
                [UserConcurrency(coordinator, settings.max_concurrent_turns_per_user, pseudonym_key)]
                if settings.max_concurrent_turns_per_user
                else []
            ),
            ModelSelection(store, catalog, admin.choose_model),
            admin.quota_stage,
            Masking(masker, vault_key, admin.policy_for, admin.terms_for),
            TokenBudget(settings.system_prompt),
            ModelCall(clients, masker),
            Unmask(masker, store, vault_key),
        ],
        always=[
            RecordUsage(
                admin.recorder(FanOutRecorder(usage_db, recorder) if recorder else usage_db),
                pseudonym_key,
                categorize,
                thread_category=usage_db.thread_category,
                departments=departments,
            )
        ],
        lang=settings.language,
        in_flight=in_flight,
        # One instance needs only the gateway's own lock; several share one per thread.
        thread_lock=SharedThreadLock(coordinator).hold if coordinator.shared else None,
    )
    return Runtime(
        settings,
        db,
        store,
        catalog,
        clients,
        masker,
        policy,
        gateway,
        departments=departments,
        coordinator=coordinator,
        in_flight=in_flight,
        admin=admin,
        library=library,
        digest=digest,
    )
