"""Settings: every variable of CONTRACTS.md, read once from the environment and `.env`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["DEFAULT_CONTENT_DIR", "Settings", "SettingsError", "load_settings"]

DEFAULT_CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"
IdSet = Annotated[frozenset[int], NoDecode]
# What Telegram accepts as a webhook's secret_token.
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Variables whose value must never be echoed back, even when it is wrong.
_SECRETS = frozenset({"TELEGRAM_BOT_TOKEN", "WEBHOOK_SECRET"})


class SettingsError(Exception):
    """A variable has a bad value; the message names it."""


class Settings(BaseSettings):
    """The bot's configuration."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_path: Path = Path("data/outreach.sqlite3")
    content_dir: Path = DEFAULT_CONTENT_DIR
    admin_ids: IdSet = frozenset()
    organizer_ids: IdSet = frozenset()
    broadcast_rate: float = Field(default=25.0, gt=0, le=1000)
    broadcast_paid: bool = False
    send_rate: float = Field(default=30.0, gt=0, le=1000)
    default_language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    store_names: bool = False
    log_level: str = "INFO"
    log_private_data: bool = False
    question_retention_days: int = Field(default=90, ge=1, le=3650)
    inactive_user_days: int = Field(default=90, ge=1, le=3650)
    webhook_url: str | None = None
    webhook_listen: str = Field(default="127.0.0.1", min_length=1)
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None

    @field_validator("telegram_bot_token", "webhook_url", "webhook_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an https:// (or http://) address with a host name")
        return value.strip()

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip() and not _SECRET_TOKEN.fullmatch(value):
            raise ValueError("must be 1-256 characters, each a letter, digit, '_' or '-'")
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("admin_ids", "organizer_ids", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            for part in parts:
                if not (part.isascii() and part.isdigit()):
                    raise ValueError(f"{part!r} is not a Telegram user id (digits 0-9 only)")
            return frozenset(int(part) for part in parts)
        return value

    @field_validator("content_dir")
    @classmethod
    def _content_exists(cls, value: Path) -> Path:
        if not value.is_dir():
            raise ValueError(f"folder {str(value)!r} does not exist")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @property
    def token(self) -> str | None:
        """Return the bot token in clear, for the Telegram client only."""
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None

    @property
    def webhook_secret_token(self) -> str | None:
        """Return the webhook's secret token in clear, for setWebhook and the server only."""
        return self.webhook_secret.get_secret_value() if self.webhook_secret else None

    def is_admin(self, user_id: int) -> bool:
        """Tell whether `user_id` has admin rights."""
        return user_id in self.admin_ids

    def is_organizer(self, user_id: int) -> bool:
        """Tell whether `user_id` may broadcast (admins may too)."""
        return user_id in self.organizer_ids or user_id in self.admin_ids


def load_settings(**overrides: Any) -> Settings:
    """Read the settings once; raise SettingsError naming the first bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        message = error["msg"].removeprefix("Value error, ")
        if name in _SECRETS:
            raise SettingsError(f"{name}: {message}") from None
        raise SettingsError(f"{name}: {message} (got {error.get('input')!r})") from None
