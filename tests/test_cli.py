"""The command line as CONTRACT.md defines it: JSON shapes, exit codes, messages — on the real catalog."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from matchers.events import event_json
from matchers.stages import Stage
from storage.db import make_engine, migrate, session_scope
from storage.models import EventRow, SourceStateRow

TODAY = dt.date(2026, 11, 23)


def run(*argv: str, today: dt.date = TODAY) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), today=lambda: today, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("WETWACHT_DATABASE_URL", url)
    return url


def test_commitments_json_has_the_contract_fields(db: str) -> None:
    code, out, _err = run("commitments", "--json")
    assert code == 0
    items = json.loads(out)
    assert len(items) >= 200
    for item in items:
        assert set(item) >= {"slug", "title", "kind", "ministry", "stage", "due", "overdue", "dossiers"}
        assert isinstance(item["overdue"], bool) and isinstance(item["dossiers"], list)
    by_slug = {i["slug"]: i for i in items}
    assert by_slug["wet-politieke-partijen"]["dossiers"] == ["36742"]
    assert by_slug["lobbyregister"]["due"] == "2027-06-30"
    assert by_slug["lobbyregister"]["overdue"] is False


def test_overdue_flag_follows_the_injected_date(db: str) -> None:
    _c, out, _e = run("commitments", "--json", today=dt.date(2028, 1, 2))
    late = {i["slug"] for i in json.loads(out) if i["overdue"]}
    assert "financiele-verhoudingswet" in late
    assert "lobbyregister" not in late  # "Q2 2027 en later": an earliest date, never overdue by itself


def test_show_json_lists_promises_and_timeline(db: str) -> None:
    engine = make_engine(db)
    run("commitments")  # creates and syncs the database
    now = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
    payload = event_json(id="evt_x", type="commitment.stage", slug="wet-politieke-partijen",
                         title="Wet op de politieke partijen", stage=Stage.INGEDIEND,
                         documents=[{"source": "tk", "id": "2026D00001", "kst": "kst-36742-3",
                                     "title": "Memorie van toelichting", "type": "Memorie van toelichting",
                                     "dossier": "36742", "url": None, "date": "2026-11-19"}],
                         reason="dossier 36742 is linked", detected_at=now)
    with session_scope(engine) as session:
        session.add(EventRow(id="evt_x", type="commitment.stage", slug="wet-politieke-partijen", stage="ingediend",
                             detected_at=now, payload=payload))
    engine.dispose()
    code, out, _err = run("show", "wet-politieke-partijen", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["slug"] == "wet-politieke-partijen" and shown["dossiers"] == ["36742"]
    assert shown["promises"] and set(shown["promises"][0]) >= {"letter", "line", "quote", "as_written", "due", "stage"}
    assert all(p["letter"].endswith(".txt") for p in shown["promises"])
    assert [e["id"] for e in shown["timeline"]] == ["evt_x"]
    code, out, _err = run("events", "--json", "--since", "2026-11-20")
    assert code == 0 and [e["id"] for e in json.loads(out)] == ["evt_x"]
    code, out, _err = run("events", "--json", "--since", "2026-11-21")
    assert json.loads(out) == []
    code, text, _err = run("show", "wet-politieke-partijen")
    assert code == 0 and "Memorie van toelichting" in text and "Beloften" in text


def test_show_unknown_slug_exits_1_and_suggests(db: str) -> None:
    code, out, err = run("show", "lobbyregistr")
    assert code == 1 and out == ""
    assert "lobbyregistr" in err and "lobbyregister" in err


@pytest.mark.parametrize("argv", [("show",), ("events", "--since", "gisteren"), ("frobnicate",)])
def test_usage_errors_exit_2(db: str, argv: tuple[str, ...]) -> None:
    code, out, err = run(*argv)
    assert code == 2 and out == "" and err.strip()


def test_bad_setting_exits_2_naming_the_variable(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WETWACHT_POLL_SECONDS", "vijf")
    code, _out, err = run("commitments")
    assert code == 2 and "WETWACHT_POLL_SECONDS" in err and len(err.strip().splitlines()) == 1


def test_sources_json_shows_health(db: str) -> None:
    engine = make_engine(db)
    migrate(engine)
    with session_scope(engine) as session:
        session.add(SourceStateRow(name="tk", cursor='{"Document": "123"}', consecutive_failures=2,
                                   last_error="FetchError: 503"))
    engine.dispose()
    code, out, _err = run("sources", "--json")
    [item] = json.loads(out)
    assert code == 0 and item["name"] == "tk" and item["consecutive_failures"] == 2
    assert item["last_error"] == "FetchError: 503" and item["last_success"] is None


def test_catalog_check_counts_every_letter() -> None:
    code, out, _err = run("catalog", "check", "--json")
    assert code == 0
    counts: dict[str, Any] = json.loads(out)
    assert set(counts["per_letter"]) == {
        "000_415c6a15cb3a979c.txt", "001_1f6ca667978ca3db.txt", "002_4ecc82ebad1aebf7.txt",
        "003_1166f54ba1c9bc08.txt", "004_1bb4d63a0373bec4.txt"}
    assert counts["per_letter"]["003_1166f54ba1c9bc08.txt"]["commitments"] >= 150


def test_read_only_commands_read_the_catalog_files_only_when_they_changed(
        db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files' fingerprint is kept in the database: an unchanged catalog is not parsed again (that is most
    of a command's start-up), a changed one is synced at once."""
    import matchers.catalog
    import storage.catalog_repo

    loads: list[int] = []
    real = matchers.catalog.load_catalog

    def counting(*args: Any, **kwargs: Any) -> Any:
        loads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(matchers.catalog, "load_catalog", counting)
    assert run("commitments", "--json")[0] == 0 and len(loads) == 1  # a new database: synced
    assert run("commitments", "--json")[0] == 0 and run("events", "--json")[0] == 0
    assert len(loads) == 1
    monkeypatch.setattr(storage.catalog_repo, "catalog_fingerprint", lambda: "a catalog file was edited")
    code, out, _err = run("show", "wet-politieke-partijen", "--json")
    assert code == 0 and json.loads(out)["slug"] == "wet-politieke-partijen" and len(loads) == 2
    assert run("sources", "--json")[0] == 0 and len(loads) == 2


def test_the_read_only_commands_import_neither_the_matcher_nor_telegram(db: str) -> None:
    """What keeps them fast (python -m bench cli): the matcher, the sources, Telegram and the web server are
    imported by the commands that use them, not by every command."""
    import subprocess
    import sys

    probe = ("import sys, io; from bot.cli import main; main(sys.argv[1:], out=io.StringIO(), err=io.StringIO()); "
             "heavy = [m for m in ('matchers.engine', 'wordfreq', 'telegram', 'bot.app', 'sources.sru', 'starlette') "
             "if m in sys.modules]; print(','.join(heavy))")
    for argv in (["commitments", "--json"], ["events", "--json"], ["sources", "--json"],
                 ["show", "wet-politieke-partijen", "--json"]):
        done = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True)
        assert done.stdout.strip() == "", (argv, done.stdout, done.stderr[-500:])
