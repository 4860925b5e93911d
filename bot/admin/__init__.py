"""Admin controls (issue 5): allowed models, masking policy, confidentiality tiers, custom terms,
access and consent, quotas, audit — decided by admins at run time, stored in the database.

:class:`AdminService` is the entry point; ``bot/runtime.py`` wires its hooks into the gateway
and ``handlers/commands.py`` / ``handlers/home.py`` call its operations. The one decision of
which models a turn may use is :func:`bot.admin.models.model_options`.
"""

from bot.admin.access import CONSENT_ACTION, AdminAccess
from bot.admin.config import TenantConfig
from bot.admin.directory import CachedDirectory, Directory, NoDirectory
from bot.admin.models import TIERS, ModelOptions, model_options
from bot.admin.quota import Budget, QuotaCheck
from bot.admin.service import AdminService, StaffView
from bot.admin.store import Actor, AdminError, AdminStore, AuditEntry

__all__ = [
    "CONSENT_ACTION",
    "TIERS",
    "Actor",
    "AdminAccess",
    "AdminError",
    "AdminService",
    "AdminStore",
    "AuditEntry",
    "Budget",
    "CachedDirectory",
    "Directory",
    "ModelOptions",
    "NoDirectory",
    "QuotaCheck",
    "StaffView",
    "TenantConfig",
    "model_options",
]
