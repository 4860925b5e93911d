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
    max_message_chars: int = Field(30000, gt=0)
    retention_days: int = Field(30, gt=0)

    # Storage and secrets
    database_url: str = "sqlite+aiosqlite:///madoguchi.db"
    vault_key: SecretStr | None = None
    pseudonym_key: SecretStr | None = None

    # People and operations
    admin_users: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    http_host: str = "0.0.0.0"
    http_port: int = Field(3000, gt=0, lt=65536)

    @field_validator("admin_users", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
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
