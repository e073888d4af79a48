"""Configuration: every variable of CONTRACT.md, read once from the environment (and a `.env` file in the
working directory) into a frozen settings object. A bad value stops the program at start with one line naming
the variable and what is wrong (exit code 2, see `bot.cli`)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PREFIX = "WETWACHT_"
# A host to bind to: a host name, an IPv4 address, or an IPv6 address (no brackets, no port).
_HOST_RE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$")


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable."""


def _http_url(value: str, name: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


class Settings(BaseSettings):
    """The service's settings. Secrets are `SecretStr`: they never show in `repr` or logs."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True,
        case_sensitive=False,
    )

    database_url: str = "sqlite:///wetwacht.db"
    tk_feed_url: str = "https://gegevensmagazijn.tweedekamer.nl/SyncFeed/2.0/Feed"
    sru_url: str = "https://repository.overheid.nl/sru"
    ek_url: str = "https://www.eerstekamer.nl"  # WETWACHT_EK_URL: the Eerste Kamer's site (source ek)
    consultatie_url: str = "https://www.internetconsultatie.nl"  # WETWACHT_CONSULTATIE_URL (source ic)
    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    maintainers: Annotated[frozenset[int], NoDecode] = Field(default_factory=frozenset)
    poll_seconds: int = 300
    start: Literal["now"] | dt.date = "now"
    allow_private_webhooks: bool = False
    web_host: str = "127.0.0.1"  # WETWACHT_WEB_HOST: the address the public site binds to
    web_port: int = 8080  # WETWACHT_WEB_PORT: the public site's port; 0 turns it off
    # Beyond CONTRACT.md: after this many consecutive failures of one source the maintainers are told.
    source_alert_after: int = 3
    # Beyond CONTRACT.md: how long a claimed delivery is reserved for the worker that claimed it. A worker that
    # dies mid-send leaves its rows to be retried by anyone after this many seconds.
    delivery_lease_seconds: int = 120
    # Beyond CONTRACT.md: seconds between two requests to one upstream (politeness; 0 only against a local fake).
    page_pause_seconds: float = 1.0

    def __repr_args__(self) -> Any:
        # A PostgreSQL URL can carry a password: show it masked, like the token.
        for name, value in super().__repr_args__():
            if name == "database_url" and isinstance(value, str):
                value = make_url(value).render_as_string(hide_password=True)
            yield name, value

    @property
    def database_url_safe(self) -> str:
        """The database URL with its password masked, for logs and messages."""
        return make_url(self.database_url).render_as_string(hide_password=True)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"{value!r} is not an SQLAlchemy database URL") from None
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError(f"backend {url.get_backend_name()!r} is not supported; use sqlite or postgresql")
        return value

    @field_validator("tk_feed_url", "sru_url", "ek_url", "consultatie_url", "telegram_api_url")
    @classmethod
    def _urls(cls, value: str) -> str:
        return _http_url(value, "")

    @field_validator("telegram_token", mode="before")
    @classmethod
    def _token(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("maintainers", mode="before")
    @classmethod
    def _maintainers(cls, value: Any) -> Any:
        if isinstance(value, str):
            items = [v.strip() for v in value.split(",") if v.strip()]
            bad = [v for v in items if not v.lstrip("-").isdigit()]
            if bad:
                raise ValueError(f"{', '.join(bad)} is not a numeric Telegram user id")
            return frozenset(int(v) for v in items)
        return value

    @field_validator("poll_seconds", "source_alert_after", "delivery_lease_seconds")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be a positive number")
        return value

    @field_validator("page_pause_seconds")
    @classmethod
    def _not_negative(cls, value: float) -> float:
        if value < 0 or value > 60:
            raise ValueError("must be between 0 and 60 seconds")
        return value

    @field_validator("web_host")
    @classmethod
    def _web_host(cls, value: str) -> str:
        if not _HOST_RE.match(value):
            raise ValueError(f"{value!r} is not an IP address or host name to bind to")
        return value

    @field_validator("web_port")
    @classmethod
    def _web_port(cls, value: int) -> int:
        if not 0 <= value <= 65535:
            raise ValueError(f"{value} is not a port (0 to 65535; 0 turns the site off)")
        return value

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if value.lower() == "now":
                return "now"
            try:
                return dt.date.fromisoformat(value[:10]) if len(value) >= 10 else dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value!r} is neither 'now' nor an ISO date like 2026-01-01") from None
        return value


def load_settings(**overrides: Any) -> Settings:
    """Read the settings once; raise `ConfigError` naming the first bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "int_parsing":
            message = f"{err.get('input')!r} is not a whole number"
        elif err["type"] == "bool_parsing":
            message = f"{err.get('input')!r} is not true or false"
        raise ConfigError(f"{PREFIX}{field.upper()}: {message}") from None
