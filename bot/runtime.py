"""Assemble the core from settings: database, catalog, model clients, masker, gateway."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.catalog import ModelCatalog
from bot.gateway import (
    AccessCheck,
    AccessPolicy,
    AllowEveryone,
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
from bot.secrets import resolve_key
from bot.settings import Settings
from bot.storage import Database, Store
from bot.usage import LogUsageRecorder, UsageRecorder


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

    async def aclose(self) -> None:
        """Release connections."""
        await self.clients.aclose()
        await self.db.dispose()


async def build_runtime(
    settings: Settings,
    *,
    recorder: UsageRecorder | None = None,
    access: AccessPolicy | None = None,
    upgrade_schema: bool = True,
) -> Runtime:
    """Build the runtime; migrates the database when its schema is behind the code."""
    catalog = ModelCatalog.load(settings.default_model, settings.models_file)
    vault_key = resolve_key(settings, "vault_key")
    pseudonym_key = resolve_key(settings, "pseudonym_key")
    db = Database(settings.database_url)
    if upgrade_schema:
        await db.ensure_schema()
    store = Store(db, retention=timedelta(days=settings.retention_days))
    clients = ModelClients(settings)
    masker = Masker()
    policy = MaskingPolicy.load()

    async def policy_for(_tenant: str, model_id: str) -> MaskingPolicy:
        return policy.for_model(model_id)

    categorize = None
    try:
        from bot.categories import CategoryClassifier

        classifier = CategoryClassifier.load()

        def categorize(text: str) -> str:
            return classifier.classify(text).id
    except ImportError:  # pragma: no cover - the classifier ships with the package
        pass

    gateway = Gateway(
        stages=[
            InputCheck(settings.max_message_chars),
            AccessCheck(access or AllowEveryone()),
            ModelSelection(store, catalog),
            Masking(masker, store, vault_key, policy_for),
            TokenBudget(store, settings.system_prompt),
            ModelCall(clients, masker),
            Unmask(masker, store, vault_key),
        ],
        always=[RecordUsage(recorder or LogUsageRecorder(), pseudonym_key, categorize)],
        lang=settings.language,
    )
    return Runtime(settings, db, store, catalog, clients, masker, policy, gateway)
