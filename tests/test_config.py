"""Settings: every CONTRACT.md variable, defaults, and one clear line naming a bad variable (exit code 2)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings


def test_defaults_are_the_contract() -> None:
    s = load_settings()
    assert s.database_url == "sqlite:///wetwacht.db"
    assert s.tk_feed_url == "https://gegevensmagazijn.tweedekamer.nl/SyncFeed/2.0/Feed"
    assert s.sru_url == "https://repository.overheid.nl/sru"
    assert s.ek_url == "https://www.eerstekamer.nl"
    assert s.consultatie_url == "https://www.internetconsultatie.nl"
    assert s.telegram_token is None
    assert s.telegram_api_url == "https://api.telegram.org/bot"
    assert s.maintainers == frozenset()
    assert s.poll_seconds == 300
    assert s.start == "now"
    assert s.allow_private_webhooks is False


def test_values_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WETWACHT_MAINTAINERS", "12345, 678")
    monkeypatch.setenv("WETWACHT_POLL_SECONDS", "60")
    monkeypatch.setenv("WETWACHT_START", "2026-01-01")
    monkeypatch.setenv("WETWACHT_ALLOW_PRIVATE_WEBHOOKS", "true")
    s = load_settings()
    assert s.maintainers == frozenset({12345, 678})
    assert s.poll_seconds == 60
    assert s.start == dt.date(2026, 1, 1)
    assert s.allow_private_webhooks is True


def test_dotenv_file_in_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("WETWACHT_POLL_SECONDS=42\n", encoding="utf-8")
    assert load_settings().poll_seconds == 42


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WETWACHT_POLL_SECONDS", "vijf", "WETWACHT_POLL_SECONDS: 'vijf' is not a whole number"),
        ("WETWACHT_POLL_SECONDS", "0", "WETWACHT_POLL_SECONDS: must be a positive number"),
        ("WETWACHT_START", "gisteren", "WETWACHT_START: 'gisteren' is neither 'now' nor an ISO date"),
        ("WETWACHT_TK_FEED_URL", "not a url", "WETWACHT_TK_FEED_URL: 'not a url' is not an http(s) URL"),
        ("WETWACHT_SRU_URL", "ftp://x/sru", "WETWACHT_SRU_URL: 'ftp://x/sru' is not an http(s) URL"),
        ("WETWACHT_EK_URL", "www.eerstekamer.nl", "WETWACHT_EK_URL: 'www.eerstekamer.nl' is not an http(s) URL"),
        ("WETWACHT_CONSULTATIE_URL", "ftp://internetconsultatie.nl",
         "WETWACHT_CONSULTATIE_URL: 'ftp://internetconsultatie.nl' is not an http(s) URL"),
        ("WETWACHT_TELEGRAM_API_URL", "api.telegram.org", "WETWACHT_TELEGRAM_API_URL"),
        ("WETWACHT_MAINTAINERS", "12,alice", "WETWACHT_MAINTAINERS: alice is not a numeric Telegram user id"),
        ("WETWACHT_DATABASE_URL", "nonsense", "WETWACHT_DATABASE_URL: 'nonsense' is not an SQLAlchemy database URL"),
        ("WETWACHT_DATABASE_URL", "mysql://u@h/db", "WETWACHT_DATABASE_URL: backend 'mysql' is not supported"),
        ("WETWACHT_ALLOW_PRIVATE_WEBHOOKS", "misschien", "WETWACHT_ALLOW_PRIVATE_WEBHOOKS: 'misschien' is not true or false"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_bad_value_stops_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(info.value).startswith(message)
    err = io.StringIO()
    assert main(["commitments"], out=io.StringIO(), err=err) == 2
    lines = [line for line in err.getvalue().splitlines() if line.startswith("WETWACHT_")]
    assert lines and lines[0].startswith(message)


def test_secrets_never_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WETWACHT_TELEGRAM_TOKEN", "123456:AAE-very-secret-token")
    monkeypatch.setenv("WETWACHT_DATABASE_URL", "postgresql+psycopg://wetwacht:hunter2@db.example/wetwacht")
    s = load_settings()
    text = repr(s) + str(s)
    assert "very-secret" not in text and "hunter2" not in text
    assert s.telegram_token is not None and s.telegram_token.get_secret_value() == "123456:AAE-very-secret-token"
    assert "hunter2" not in s.database_url_safe


def test_usage_error_exits_2() -> None:
    err = io.StringIO()
    assert main(["no-such-command"], out=io.StringIO(), err=err) == 2
    assert "invalid choice" in err.getvalue()
