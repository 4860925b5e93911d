"""Settings: environment variables (prefix ``MADOGUCHI_`` plus the ecosystem's own names) and an
optional YAML file (``MADOGUCHI_CONFIG_FILE``). Environment variables win over the file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

DEFAULT_SYSTEM_PROMPT = (
    "あなたは日本の地方自治体の職員を支援するアシスタントです。"
    "特に指定がない限り、丁寧で簡潔な日本語で答えてください。"
    "確かでないことは推測で断定せず、確認が必要な点を明示してください。"
    "文中の <人名1> のような山括弧の記号は個人情報を伏せた置き換えです。"
    "記号はそのままの形で使い、中身を推測したり書き換えたりしないでください。"
)


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Every setting Madoguchi reads. README.md lists them in a table; keep the two in sync."""

    model_config = SettingsConfigDict(
        env_prefix="MADOGUCHI_",
        extra="ignore",
        populate_by_name=True,
    )

    # Slack
    slack_bot_token: SecretStr | None = Field(
        None, validation_alias=_env("SLACK_BOT_TOKEN", "MADOGUCHI_SLACK_BOT_TOKEN")
    )
    slack_app_token: SecretStr | None = Field(
        None, validation_alias=_env("SLACK_APP_TOKEN", "MADOGUCHI_SLACK_APP_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=_env("SLACK_SIGNING_SECRET", "MADOGUCHI_SLACK_SIGNING_SECRET")
    )
    slack_api_url: str = "https://slack.com/api/"
    slack_native_streaming: bool = False

    # Model endpoint (OpenAI, Azure OpenAI or any OpenAI-compatible server)
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=_env("OPENAI_API_KEY", "MADOGUCHI_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        None, validation_alias=_env("OPENAI_BASE_URL", "MADOGUCHI_OPENAI_BASE_URL")
    )
    azure_openai_api_key: SecretStr | None = Field(
        None, validation_alias=_env("AZURE_OPENAI_API_KEY")
    )
    azure_openai_endpoint: str | None = Field(None, validation_alias=_env("AZURE_OPENAI_ENDPOINT"))
    openai_api_version: str = Field(
        "2024-10-21", validation_alias=_env("OPENAI_API_VERSION", "MADOGUCHI_OPENAI_API_VERSION")
    )
    default_model: str = "gpt-4o-mini"
    models_file: Path | None = None
    model_timeout: float = Field(60.0, gt=0)
    model_connect_timeout: float = Field(10.0, gt=0)
    model_max_retries: int = Field(2, ge=0, le=10)

    # Conversation
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    language: Literal["ja", "en"] = "ja"
    stream_update_interval: float = Field(1.0, ge=0)
    # Intermediate updates per second one instance sends to one workspace, shared by all the
    # answers streaming there at once (handlers/pacing.py); 0 = no budget.
    slack_update_rate: float = Field(50.0, ge=0)
    max_message_chars: int = Field(30000, gt=0)
    retention_days: int = Field(30, gt=0)

    # Storage and secrets
    database_url: str = "sqlite+aiosqlite:///madoguchi.db"
    # PostgreSQL connections per instance: a fixed pool plus a few extra for bursts. Every
    # instance's pool_size + max_overflow (and its coordinator's 8) must fit PostgreSQL's
    # max_connections (default 100) together.
    db_pool_size: int = Field(20, ge=1)
    db_max_overflow: int = Field(5, ge=0)
    # Seconds a turn waits for a pooled connection before it fails. All connections busy means
    # an overloaded instance (the database itself being down fails at once): the turn waits,
    # with its placeholder showing, as long as it would wait for the model, instead of ending
    # in 「内部エラー」 or losing its history after SQLAlchemy's default of 30 s.
    db_pool_timeout: float = Field(120.0, gt=0)
    vault_key: SecretStr | None = None
    pseudonym_key: SecretStr | None = None

    # Oversight: usage records, reports, departments (issue 4)
    staff_headcount: int | None = Field(None, gt=0)
    k_anonymity: int = Field(5, ge=1)
    usage_retention_days: int = Field(730, gt=0)
    department_usergroups: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    department_profile_field: str | None = None

    # People and operations
    admin_users: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Admin controls (issue 5)
    admin_usergroup: str | None = None  # Slack user group id (S…) whose members are admins
    admin_cache_seconds: float = Field(3.0, ge=0, le=60)  # how stale admin settings may be
    usergroup_cache_seconds: float = Field(120.0, ge=0)  # user group membership cache
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # serve's event loop: uvloop where installed ("auto"), or the standard library's.
    event_loop: Literal["auto", "uvloop", "asyncio"] = "auto"
    http_host: str = "0.0.0.0"
    http_port: int = Field(3000, gt=0, lt=65536)

    # Running at scale: several instances, many workspaces, graceful shutdown (issue 7)
    redis_url: SecretStr | None = None
    slack_client_id: str | None = Field(
        None, validation_alias=_env("SLACK_CLIENT_ID", "MADOGUCHI_SLACK_CLIENT_ID")
    )
    slack_client_secret: SecretStr | None = Field(
        None, validation_alias=_env("SLACK_CLIENT_SECRET", "MADOGUCHI_SLACK_CLIENT_SECRET")
    )
    # Empty: the bot scopes of config/slack-manifest.yaml (so the two cannot drift apart).
    slack_scopes: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_env("SLACK_SCOPES", "MADOGUCHI_SLACK_SCOPES")
    )
    slack_redirect_uri: str | None = Field(
        None, validation_alias=_env("SLACK_REDIRECT_URI", "MADOGUCHI_SLACK_REDIRECT_URI")
    )
    slack_authorize_url: str = "https://slack.com/oauth/v2/authorize"
    max_concurrent_turns_per_user: int = Field(0, ge=0)
    shutdown_grace_seconds: float = Field(25.0, ge=0)
    shutdown_delay_seconds: float = Field(0.0, ge=0)

    # Weekly digest and prompt library (issue 6)
    digest_channels: Annotated[list[str], NoDecode] = Field(default_factory=list)
    digest_schedule: str = "mon 09:00"
    digest_timezone: str = "Asia/Tokyo"
    digest_enabled: bool = True
    digest_check_minutes: float = Field(10.0, gt=0, le=1440)

    @field_validator("digest_channels", mode="before")
    @classmethod
    def _split_channels(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip().lstrip("#") for part in value.split(",") if part.strip()]
        return value

    @field_validator("digest_schedule")
    @classmethod
    def _weekly(cls, value: str) -> str:
        from bot.digest.weeks import Schedule

        return str(Schedule.parse(value))  # "mon 09:00"; ValueError names the expected form

    @field_validator("digest_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Tokyo)") from None
        return value

    @field_validator("admin_users", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("department_usergroups", mode="before")
    @classmethod
    def _group_map(cls, value: Any) -> Any:
        # "S0123=総務課,S0456=市民課" (environment) or a mapping (YAML file).
        if isinstance(value, str):
            pairs = [part.split("=", 1) for part in value.split(",") if part.strip()]
            if any(len(pair) != 2 or not pair[0].strip() or not pair[1].strip() for pair in pairs):
                raise ValueError("use GROUPID=部署名,GROUPID=部署名")
            return {k.strip(): v.strip() for k, v in pairs}
        return value

    @field_validator("slack_scopes", mode="before")
    @classmethod
    def _split_scopes(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        # Accept the plain URLs operators copy from their database docs.
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value.removeprefix(prefix)
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///FILE or postgresql+asyncpg://…")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        yaml_file = os.environ.get("MADOGUCHI_CONFIG_FILE")
        if yaml_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file))
        return tuple(sources)

    def env_name(self, field: str) -> str:
        """The environment variable an operator sets for ``field`` (for error messages)."""
        info = type(self).model_fields[field]
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            return str(alias.choices[0])
        return "MADOGUCHI_" + field.upper()

    def missing(self, *fields: str) -> list[str]:
        """Return the environment names of those ``fields`` that are not set."""
        return [self.env_name(f) for f in fields if not getattr(self, f)]

    def secret(self, field: str) -> str | None:
        """Return a secret setting's plain value (or None)."""
        value = getattr(self, field)
        return value.get_secret_value() if value is not None else None

    @property
    def oauth_enabled(self) -> bool:
        """True when Slack OAuth (many workspaces) is configured: client id and secret are set."""
        return bool(self.slack_client_id and self.slack_client_secret)


class SettingsError(Exception):
    """A missing or invalid setting; ``str()`` is one line naming it."""


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning validation errors into one clear line per setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            info = Settings.model_fields.get(field)
            name = "MADOGUCHI_" + field.upper()
            if info is not None and isinstance(info.validation_alias, AliasChoices):
                name = str(info.validation_alias.choices[0])
            lines.append(f"{name}: {error['msg']}")
        raise SettingsError("設定エラー / invalid setting: " + "; ".join(lines)) from None
