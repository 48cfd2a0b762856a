"""Settings from environment variables (and an optional `.env` file).

Every setting has a default that works offline: SQLite in the working directory, the shipped
feed list, no token. `load_settings()` turns a bad value into one line that names the
variable and what it expects, so start-up never ends in a traceback.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

__all__ = [
    "DEFAULT_FEEDS_PATH",
    "DEFAULT_THEMES_PATH",
    "Settings",
    "SettingsError",
    "async_database_url",
    "load_settings",
]

DEFAULT_FEEDS_PATH = Path(str(files("config") / "feeds.yaml"))
DEFAULT_THEMES_PATH = Path(str(files("config") / "themes.yaml"))
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# What each variable expects, said in the one-line start-up error.
_EXPECTS = {
    "TELEGRAM_BOT_TOKEN": "a bot token from @BotFather, like 123456:ABC-DEF",
    "TELEGRAM_API_BASE_URL": "an http(s) URL of a Bot API server",
    "DATABASE_URL": "a SQLAlchemy async URL, e.g. sqlite+aiosqlite:///trendbot.db",
    "TRENDBOT_FEEDS": "the path of a feeds file that exists",
    "TRENDBOT_THEMES": "the path of a themes file that exists",
    "TRENDBOT_ADMINS": "Telegram user ids separated by commas, e.g. 12345,67890",
    "TRENDBOT_SEND_RATE": "messages per second, a number from 1 to 1000",
    "TRENDBOT_TIMEZONE": "an IANA time zone such as UTC or Asia/Shanghai",
    "TRENDBOT_DIGEST_DAY": "a weekday: mon, tue, wed, thu, fri, sat or sun",
    "TRENDBOT_DIGEST_HOUR": "an hour of the day from 0 to 23",
    "TRENDBOT_ALLOW_PRIVATE_FEEDS": "true or false",
    "TRENDBOT_PAID_BROADCAST": "true or false",
    "TRENDBOT_LLM_URL": "the http(s) base URL of an OpenAI-compatible API, e.g. https://api.openai.com/v1",
    "TRENDBOT_LLM_MODEL": "a model name, needed when TRENDBOT_LLM_URL is set",
    "TRENDBOT_LLM_API_KEY": "the API key of the LLM endpoint",
    "TRENDBOT_LLM_DAILY_TOKENS": "tokens per day the LLM may use, a whole number from 0 up",
    "TRENDBOT_WEBHOOK_URL": "the public https URL Telegram should POST updates to",
    "TRENDBOT_WEBHOOK_SECRET": "1 to 256 characters of A-Z, a-z, 0-9, _ and -",
    "PORT": "a TCP port number from 1 to 65535",
    "TRENDBOT_HTTP_PORT": "a TCP port number from 1 to 65535",
    "TRENDBOT_HTTP_HOST": "an address to listen on, e.g. 127.0.0.1 or 0.0.0.0",
    "TRENDBOT_POLL_IN_BOT": "true or false",
    "TRENDBOT_LEASE_SECONDS": "seconds a lease lasts unrenewed, a number from 1 to 3600",
}

# Never echoed back in an error: the message ends up in logs.
_SECRETS = frozenset({"TRENDBOT_WEBHOOK_SECRET"})


_SECRETS = frozenset({"TELEGRAM_BOT_TOKEN", "TRENDBOT_LLM_API_KEY"})
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")  # the password in scheme://user:password@host


class SettingsError(Exception):
    """A setting has a value trendbot cannot use; the message is meant for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    telegram_bot_token: str | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org", alias="TELEGRAM_API_BASE_URL"
    )
    database_url: str = Field(default="sqlite+aiosqlite:///trendbot.db", alias="DATABASE_URL")
    feeds_path: Path = Field(default=DEFAULT_FEEDS_PATH, alias="TRENDBOT_FEEDS")
    themes_path: Path = Field(default=DEFAULT_THEMES_PATH, alias="TRENDBOT_THEMES")
    admins: Annotated[frozenset[int], NoDecode] = Field(
        default=frozenset(), alias="TRENDBOT_ADMINS"
    )
    send_rate: float = Field(default=30.0, ge=1, le=1000, alias="TRENDBOT_SEND_RATE")
    timezone: str = Field(default="UTC", alias="TRENDBOT_TIMEZONE")
    digest_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        default="mon", alias="TRENDBOT_DIGEST_DAY"
    )
    digest_hour: int = Field(default=9, ge=0, le=23, alias="TRENDBOT_DIGEST_HOUR")
    allow_private_feeds: bool = Field(default=False, alias="TRENDBOT_ALLOW_PRIVATE_FEEDS")
    paid_broadcast: bool = Field(default=False, alias="TRENDBOT_PAID_BROADCAST")
    # Optional LLM tagging and summaries; off unless TRENDBOT_LLM_URL is set.
    llm_url: str | None = Field(default=None, alias="TRENDBOT_LLM_URL")
    llm_model: str | None = Field(default=None, alias="TRENDBOT_LLM_MODEL", validate_default=True)
    llm_api_key: str | None = Field(default=None, alias="TRENDBOT_LLM_API_KEY")
    llm_daily_tokens: int = Field(default=200_000, ge=0, alias="TRENDBOT_LLM_DAILY_TOKENS")
    # Webhook mode (instead of getUpdates) when the URL is set; see bot/web.py.
    webhook_url: str | None = Field(default=None, alias="TRENDBOT_WEBHOOK_URL")
    # Checked on every webhook request; derived from the token when unset (bot.web).
    webhook_secret: str | None = Field(default=None, alias="TRENDBOT_WEBHOOK_SECRET", repr=False)
    # $PORT, as platforms with a Procfile set it: where the webhook (and /healthz) listen.
    port: int | None = Field(default=None, ge=1, le=65535, alias="PORT")
    # /healthz and /metrics in polling mode; off unless set.
    http_port: int | None = Field(default=None, ge=1, le=65535, alias="TRENDBOT_HTTP_PORT")
    # None: 127.0.0.1 in polling mode, every interface in webhook mode (Telegram must reach it).
    http_host: str | None = Field(default=None, alias="TRENDBOT_HTTP_HOST")
    # False when `trendbot worker` processes poll the feeds: the bot then only answers and
    # sends. Both polling at once is safe too (feeds are claimed with leases).
    poll_in_bot: bool = Field(default=True, alias="TRENDBOT_POLL_IN_BOT")
    # How long a feed's or the sender's lease lasts when its holder stops renewing it (it
    # died): the wait before another process takes over. Renewed every third of it.
    lease_seconds: float = Field(default=60.0, ge=1, le=3600, alias="TRENDBOT_LEASE_SECONDS")

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        if ":" not in value:
            raise ValueError("missing ':'")
        return value.strip()

    @field_validator("telegram_api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("not an http(s) URL")
        # python-telegram-bot's own base_url form ends in /bot (the token follows); the bot
        # adds /bot itself, so either form names the same server.
        return value.rstrip("/").removesuffix("/bot")

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return async_database_url(value)

    @field_validator("llm_url")
    @classmethod
    def _llm_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        if not value.strip().startswith(("http://", "https://")):
            raise ValueError("not an http(s) URL")
        return value.strip().rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        if not value.strip().startswith(("http://", "https://")):
            raise ValueError("not an http(s) URL")
        return value.strip()

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        # What Telegram accepts as setWebhook's secret_token.
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value):
            raise ValueError("not a valid secret token")
        return value

    @field_validator("http_host")
    @classmethod
    def _http_host(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("llm_model")
    @classmethod
    def _llm_model(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = value.strip() if value else None
        if value is None and info.data.get("llm_url"):
            raise ValueError("TRENDBOT_LLM_URL is set but no model is named")
        return value

    @field_validator("feeds_path", "themes_path")
    @classmethod
    def _file_exists(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError("no such file")
        return value

    @field_validator("admins", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> frozenset[int]:
        if isinstance(value, str):
            parts = [part.strip() for part in value.replace(";", ",").split(",")]
            return frozenset(int(part) for part in parts if part)
        return frozenset(value)  # type: ignore[call-overload]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return value

    @field_validator("digest_day", mode="before")
    @classmethod
    def _weekday(cls, value: object) -> object:
        """ "Monday", "mon", "MON" are Monday; anything else is reported as it was given."""
        if isinstance(value, str):
            day = value.strip().lower()
            for short, full in zip(WEEKDAYS, _WEEKDAY_NAMES, strict=True):
                if day in (short, full):
                    return short
        return value

    @property
    def digest_weekday(self) -> int:
        """The weekly digest's day, 0 = Monday (Python's convention)."""
        return WEEKDAYS.index(self.digest_day)


_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def async_database_url(value: str) -> str:
    """`value` with an async driver; ValueError for a database trendbot can't use."""
    # Operators often paste a plain postgres:// URL from their host; give it an async driver.
    for plain in ("postgres://", "postgresql://"):
        if value.startswith(plain):
            return "postgresql+asyncpg://" + value[len(plain) :]
    if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ValueError("unsupported driver")
    try:
        make_url(value).port  # noqa: B018 - a port that is not a number fails here
    except (ArgumentError, ValueError) as exc:
        raise ValueError("not a URL SQLAlchemy can read") from exc
    return value


def load_settings(**overrides: object) -> Settings:
    """Read the settings; raise `SettingsError` with one readable line on a bad value."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except UnicodeDecodeError:
        raise SettingsError(
            "the .env file is not UTF-8 text: save it as UTF-8 (or delete it)"
        ) from None
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        variable = _variable_for(field)
        given = error.get("input")
        expected = _EXPECTS.get(variable, error["msg"])
        if given is None:  # a required setting left out, not one given the value "None"
            raise SettingsError(f"{variable} is not set: expected {expected}") from None
        if variable in _SECRETS:  # the line ends up in logs: never echo a token or key
            raise SettingsError(f"{variable} is not valid: expected {expected}") from None
        shown = _PASSWORD.sub(r"\1***@", str(given))
        raise SettingsError(f"{variable}={shown} is not valid: expected {expected}") from None


def _variable_for(field: str) -> str:
    info = Settings.model_fields.get(field)
    return (info.alias if info and info.alias else field).upper()
