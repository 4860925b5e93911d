"""Many workspaces: Slack OAuth installation, with the installation store on our own database.

OAuth mode is on when ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` are set; otherwise the bot
runs with the one ``SLACK_BOT_TOKEN`` exactly as before. In OAuth mode:

* ``GET /slack/install`` issues a state value (stored in the database, so the redirect may reach
  any instance) and redirects to Slack's consent page (``MADOGUCHI_SLACK_AUTHORIZE_URL``);
* ``GET /slack/oauth_redirect`` checks and consumes the state, exchanges the code with
  ``oauth.v2.access`` and stores the installation: one row per workspace, the bot token sealed
  with Fernet (a key derived from ``MADOGUCHI_VAULT_KEY``), the installer as a keyed pseudonym;
* every incoming request is authorized with that workspace's token (bolt's
  ``AsyncInstallationStoreAuthorize``, bot tokens only, ``auth.test`` cached per token, the
  installation cached for :attr:`SealedInstallationStore.CACHE_SECONDS`), so listeners get a
  client for the right workspace and the tenant key of every table is the workspace's team id;
* ``app_uninstalled``/``tokens_revoked`` delete the workspace's installation.
"""

from __future__ import annotations

import html
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
import yaml
from cryptography.fernet import Fernet, InvalidToken
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from sqlalchemy import delete, select

from bot.config_files import config_path
from bot.masking.vault import fernet_for
from bot.messages import message
from bot.secrets import resolve_key
from bot.storage.scale_tables import InstallationRow, OAuthStateRow
from bot.usage import pseudonym

if TYPE_CHECKING:
    from aiohttp import web
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.runtime import Runtime
    from bot.storage import Database

log = structlog.get_logger("madoguchi.slack.oauth")
# slack_bolt/slack_sdk log through the standard library; our log filter keeps their warnings.
_std_logger = logging.getLogger("madoguchi.slack.oauth.bolt")

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_SECONDS = 600


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


def token_cipher(vault_key: bytes) -> Fernet:
    """The Fernet that seals workspace tokens: derived from the vault key, never equal to it."""
    return fernet_for(b"madoguchi/slack-installation-token/v1:" + vault_key)


def manifest_scopes() -> list[str]:
    """The bot scopes of ``config/slack-manifest.yaml`` (the default of ``SLACK_SCOPES``)."""
    manifest = yaml.safe_load(config_path("slack-manifest.yaml").read_text(encoding="utf-8"))
    return list(manifest["oauth_config"]["scopes"]["bot"])


@dataclass(frozen=True)
class Workspace:
    """An installed workspace, as background jobs (digest, reports) need it."""

    tenant: str
    team_name: str | None
    bot_token: str


def _key(value: str | None) -> str:
    return value or ""


def _none(value: str) -> str | None:
    return value or None


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone=True columns; everything we store is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class SealedInstallationStore(AsyncInstallationStore):
    """slack_sdk's ``AsyncInstallationStore`` (bot installations) on our SQLAlchemy database.

    One row per workspace or organisation; saving again (a re-install, a token rotation)
    updates it. Tokens are sealed; the installer's Slack id is kept only as a pseudonym.
    """

    #: How long an instance trusts a workspace's installation it has read (uninstalls reach
    #: other instances within this time; their calls fail with ``token_revoked`` meanwhile).
    CACHE_SECONDS = 60.0

    def __init__(
        self, db: Database, client_id: str, vault_key: bytes, pseudonym_key: bytes
    ) -> None:
        self.db = db
        self.client_id = client_id
        self._cipher = token_cipher(vault_key)
        self._pseudonym_key = pseudonym_key
        self._cache: dict[tuple[str, str], tuple[float, Bot]] = {}

    @property
    def logger(self) -> logging.Logger:
        """The standard-library logger slack_sdk expects (tokens are never logged)."""
        return _std_logger

    # -- saving ----------------------------------------------------------------------------

    async def async_save(self, installation: Installation) -> None:
        """Store (or replace) the workspace's bot installation."""
        installer = (
            pseudonym(installation.user_id, self._pseudonym_key) if installation.user_id else None
        )
        await self._save(installation.to_bot(), installer)

    async def async_save_bot(self, bot: Bot) -> None:
        """Store a bot installation (also called after a token rotation)."""
        await self._save(bot, None)

    async def _save(self, bot: Bot, installer: str | None) -> None:
        if not bot.bot_token:
            raise ValueError("a bot installation without a bot token")
        now = utcnow()
        enterprise, team = _key(bot.enterprise_id), _key(bot.team_id)
        if bot.is_enterprise_install:
            team = ""
        expires = (
            datetime.fromtimestamp(bot.bot_token_expires_at, tz=UTC)
            if bot.bot_token_expires_at is not None
            else None
        )
        values: dict[str, Any] = {
            "app_id": bot.app_id,
            "tenant": team or enterprise,
            "enterprise_name": bot.enterprise_name,
            "team_name": bot.team_name,
            "is_enterprise_install": bool(bot.is_enterprise_install),
            "bot_id": bot.bot_id,
            "bot_user_id": bot.bot_user_id,
            "bot_scopes": ",".join(bot.bot_scopes or []),
            "bot_token_sealed": self._cipher.encrypt(bot.bot_token.encode()),
            "bot_refresh_token_sealed": (
                self._cipher.encrypt(bot.bot_refresh_token.encode())
                if bot.bot_refresh_token
                else None
            ),
            "bot_token_expires_at": expires,
            "updated_at": now,
        }
        async with self.db.session() as session, session.begin():
            row = await session.scalar(
                select(InstallationRow).where(
                    InstallationRow.client_id == self.client_id,
                    InstallationRow.enterprise_id == enterprise,
                    InstallationRow.team_id == team,
                )
            )
            if row is None:
                session.add(
                    InstallationRow(
                        client_id=self.client_id,
                        enterprise_id=enterprise,
                        team_id=team,
                        installer_pseudonym=installer,
                        installed_at=now,
                        **values,
                    )
                )
            else:
                for name, value in values.items():
                    setattr(row, name, value)
                if installer:
                    row.installer_pseudonym = installer
        self._cache.pop((enterprise, team), None)
        log.info("oauth.installation_saved", tenant=team or enterprise)

    # -- finding ---------------------------------------------------------------------------

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        """The workspace's bot installation (cached briefly; None when not installed)."""
        if is_enterprise_install:
            team_id = None
        key = (_key(enterprise_id), _key(team_id))
        cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        async with self.db.session() as session:
            row = await session.scalar(
                select(InstallationRow).where(
                    InstallationRow.client_id == self.client_id,
                    InstallationRow.enterprise_id == key[0],
                    InstallationRow.team_id == key[1],
                )
            )
        bot = self._bot(row) if row is not None else None
        if bot is not None:
            self._cache[key] = (time.monotonic() + self.CACHE_SECONDS, bot)
        return bot

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The workspace's installation (bot part only: the app asks for no user scopes)."""
        bot = await self.async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        if bot is None:
            return None
        return Installation(
            app_id=bot.app_id,
            enterprise_id=bot.enterprise_id,
            enterprise_name=bot.enterprise_name,
            team_id=bot.team_id,
            team_name=bot.team_name,
            bot_token=bot.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=bot.bot_scopes,
            bot_refresh_token=bot.bot_refresh_token,
            bot_token_expires_at=bot.bot_token_expires_at,
            # Installation insists on a user id; ours are never stored, so none is returned.
            user_id=user_id or "",
            is_enterprise_install=bot.is_enterprise_install,
            installed_at=bot.installed_at,
        )

    def _bot(self, row: InstallationRow) -> Bot | None:
        try:
            token = self._cipher.decrypt(row.bot_token_sealed).decode()
            refresh = (
                self._cipher.decrypt(row.bot_refresh_token_sealed).decode()
                if row.bot_refresh_token_sealed
                else None
            )
        except InvalidToken:
            # Sealed with another vault key (see deploy/OPERATIONS.md, key rotation).
            log.error("oauth.token_unreadable", tenant=row.tenant)
            return None
        expires = _aware(row.bot_token_expires_at)
        return Bot(
            app_id=row.app_id,
            enterprise_id=_none(row.enterprise_id),
            enterprise_name=row.enterprise_name,
            team_id=_none(row.team_id),
            team_name=row.team_name,
            bot_token=token,
            bot_id=row.bot_id or "",
            bot_user_id=row.bot_user_id or "",
            bot_scopes=row.bot_scopes,
            bot_refresh_token=refresh,
            bot_token_expires_at=int(expires.timestamp()) if expires else None,
            is_enterprise_install=row.is_enterprise_install,
            installed_at=_aware(row.installed_at) or utcnow(),
        )

    async def workspaces(self) -> list[Workspace]:
        """Every installed workspace with its bot token (for jobs that post per workspace)."""
        async with self.db.session() as session:
            rows = list(
                await session.scalars(
                    select(InstallationRow)
                    .where(InstallationRow.client_id == self.client_id)
                    .order_by(InstallationRow.id)
                )
            )
        found = []
        for row in rows:
            bot = self._bot(row)
            if bot is not None:
                found.append(Workspace(row.tenant, row.team_name, bot.bot_token))
        return found

    # -- deleting --------------------------------------------------------------------------

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Forget the workspace's installation (app uninstalled or tokens revoked)."""
        enterprise, team = _key(enterprise_id), _key(team_id)
        async with self.db.session() as session, session.begin():
            await session.execute(
                delete(InstallationRow).where(
                    InstallationRow.client_id == self.client_id,
                    InstallationRow.enterprise_id == enterprise,
                    InstallationRow.team_id == team,
                )
            )
        self._cache.pop((enterprise, team), None)
        log.info("oauth.installation_deleted", tenant=team or enterprise)

    async def async_delete_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
    ) -> None:
        """User installations are never stored; the bot row goes with ``async_delete_bot``."""
        if user_id is None:
            await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)


class DatabaseOAuthStateStore(AsyncOAuthStateStore):
    """OAuth ``state`` values in the database: issued by one instance, consumed by any, once."""

    def __init__(self, db: Database, expiration_seconds: int = STATE_SECONDS) -> None:
        self.db = db
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        """The standard-library logger slack_sdk expects."""
        return _std_logger

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        """A new random state value, valid for ``expiration_seconds``."""
        state = secrets.token_urlsafe(32)
        async with self.db.session() as session, session.begin():
            session.add(
                OAuthStateRow(
                    state=state,
                    expires_at=utcnow() + timedelta(seconds=self.expiration_seconds),
                )
            )
        return state

    async def async_consume(self, state: str) -> bool:
        """True once for a state issued here and not yet expired; it is deleted either way."""
        async with self.db.session() as session, session.begin():
            row = await session.get(OAuthStateRow, state)
            if row is None:
                return False
            expires = _aware(row.expires_at)
            await session.delete(row)
        return expires is not None and expires > utcnow()


# --------------------------------------------------------------------------- the bolt app


def _page(title: str, body: str, status: int) -> BoltResponse:
    text = (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>"
        f'<body style="font-family: sans-serif; margin: 3em;"><h1>{html.escape(title)}</h1>'
        f"<p>{html.escape(body)}</p></body></html>"
    )
    return BoltResponse(
        status=status, body=text, headers={"Content-Type": "text/html; charset=utf-8"}
    )


def callback_options(lang: str) -> AsyncCallbackOptions:
    """Japanese (or English) pages after the installation succeeded or failed."""

    async def success(args: AsyncSuccessArgs) -> BoltResponse:
        team = args.installation.team_name or args.installation.enterprise_name or ""
        return _page("窓口 Madoguchi", message("oauth_installed", lang, team=team), 200)

    async def failure(args: AsyncFailureArgs) -> BoltResponse:
        log.warning("oauth.install_failed", reason=args.reason)
        text = message("oauth_failed", lang, reason=args.reason, install_path=INSTALL_PATH)
        return _page("窓口 Madoguchi", text, args.suggested_status_code)

    return AsyncCallbackOptions(success=success, failure=failure)


def installation_store(runtime: Runtime) -> SealedInstallationStore:
    """The installation store of ``runtime``'s database (OAuth settings must be set)."""
    settings = runtime.settings
    assert settings.slack_client_id is not None
    return SealedInstallationStore(
        runtime.db,
        settings.slack_client_id,
        resolve_key(settings, "vault_key"),
        resolve_key(settings, "pseudonym_key"),
    )


def oauth_app_options(runtime: Runtime, client: AsyncWebClient) -> dict[str, Any]:
    """The ``AsyncApp`` keyword arguments for OAuth mode (many workspaces)."""
    settings = runtime.settings
    client_id = settings.slack_client_id
    client_secret = settings.secret("slack_client_secret")
    assert client_id and client_secret
    store = installation_store(runtime)
    oauth_settings = AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=settings.slack_scopes or manifest_scopes(),
        user_scopes=[],
        redirect_uri=settings.slack_redirect_uri,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        # Straight to Slack's consent page: bolt's own install page is English only.
        install_page_rendering_enabled=False,
        authorization_url=settings.slack_authorize_url,
        callback_options=callback_options(settings.language),
        installation_store=store,
        installation_store_bot_only=True,
        state_store=DatabaseOAuthStateStore(runtime.db),
        state_expiration_seconds=STATE_SECONDS,
        logger=_std_logger,
    )
    # bolt's default authorize calls auth.test for every request; with many workspaces and
    # several instances that is one Slack API call per event. Cache it per token instead.
    authorize = AsyncInstallationStoreAuthorize(
        logger=_std_logger,
        client_id=client_id,
        client_secret=client_secret,
        installation_store=store,
        bot_only=True,
        cache_enabled=True,
        client=client,
    )
    return {
        "oauth_settings": oauth_settings,
        "installation_store": store,
        "installation_store_bot_only": True,
        "authorize": authorize,
    }


def add_oauth_routes(web_application: web.Application, app: AsyncApp) -> None:
    """``GET /slack/install`` and ``GET /slack/oauth_redirect`` when ``app`` runs OAuth."""
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

    flow = app.oauth_flow
    if flow is None:
        return

    async def install(request: web.Request) -> web.Response:
        return await to_aiohttp_response(
            await flow.handle_installation(await to_bolt_request(request))
        )

    async def redirect(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

    web_application.router.add_get(flow.install_path, install)
    web_application.router.add_get(flow.redirect_uri_path, redirect)
