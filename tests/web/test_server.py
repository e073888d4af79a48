"""`wetwacht web` and `wetwacht run` as real processes: the site on WETWACHT_WEB_HOST:WETWACHT_WEB_PORT, bad
values refused with exit 2 naming the variable, a taken port (`web` exits 1; `run` says so in one line and
carries on polling), and the site served by `run` in the same process as the poller, against a local upstream.

Processes are followed through their log lines (read as they come, with a deadline); nothing waits a fixed
time.
"""

from __future__ import annotations

import io
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.cli import main
from tests.fakes.upstream import FakeUpstream
from tests.web.procs import Proc, free_port
from tests.web.world import build

pytestmark = pytest.mark.e2e
TOKEN = "123456:telegram-token-never-on-the-site"


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(page_size=50) as up:
        yield up


def run_env(env: dict[str, str], up: FakeUpstream, port: int) -> dict[str, str]:
    return env | {
        "WETWACHT_TK_FEED_URL": up.feed_url, "WETWACHT_SRU_URL": up.sru_url,
        "WETWACHT_EK_URL": getattr(up, "ek_url", up.base_url),
        "WETWACHT_CONSULTATIE_URL": getattr(up, "consultatie_url", up.base_url),
        "WETWACHT_POLL_SECONDS": "1", "WETWACHT_START": "now", "WETWACHT_PAGE_PAUSE_SECONDS": "0",
        "WETWACHT_WEB_PORT": str(port),
    }


@pytest.mark.parametrize(("name", "value"), [("WETWACHT_WEB_PORT", "achtduizend"), ("WETWACHT_WEB_PORT", "70000"),
                                             ("WETWACHT_WEB_PORT", "-1"), ("WETWACHT_WEB_HOST", "local host"),
                                             ("WETWACHT_WEB_HOST", "")])
@pytest.mark.parametrize("command", ["web", "run"])
def test_a_bad_web_setting_exits_2_naming_it(monkeypatch: pytest.MonkeyPatch, command: str, name: str,
                                             value: str) -> None:
    monkeypatch.setenv(name, value)
    out, err = io.StringIO(), io.StringIO()
    assert main([command], out=out, err=err) == 2
    assert out.getvalue() == "" and len(err.getvalue().strip().splitlines()) == 1 and name in err.getvalue()


def test_web_with_port_0_says_the_site_is_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WETWACHT_DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("WETWACHT_WEB_PORT", "0")
    err = io.StringIO()
    assert main(["web"], out=io.StringIO(), err=err) == 2 and "WETWACHT_WEB_PORT is 0" in err.getvalue()


def test_web_serves_the_site_until_sigterm(env: dict[str, str], tmp_path: Path) -> None:
    build(env["WETWACHT_DATABASE_URL"])
    port = free_port()
    proc = Proc(["web"], env | {"WETWACHT_WEB_PORT": str(port), "WETWACHT_TELEGRAM_TOKEN": TOKEN}, tmp_path)
    try:
        proc.expect(rf"public site on http://127\.0\.0\.1:{port}$")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            board = client.get("/")
            assert board.status_code == 200 and "217 toezeggingen:" in board.text
            for path in ("/toezegging/lobbyregister", "/api/commitments", "/feed.atom", "/termijnen.ics", "/status"):
                response = client.get(path)
                assert response.status_code == 200, path
                assert TOKEN not in response.text and "123456" not in str(response.headers)
            assert client.post("/api/commitments").status_code == 405
    finally:
        assert proc.stop() == 0
    assert not any(TOKEN in line for line in proc.lines)


def test_web_exits_1_when_the_port_is_taken(env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = Proc(["web"], env | {"WETWACHT_WEB_PORT": str(port)}, tmp_path)
        assert proc.finish(timeout=60) == 1
    said = [line for line in proc.lines if str(port) in line]
    assert len(said) == 1 and said[0].startswith(f"cannot serve the public site on http://127.0.0.1:{port}")


def test_run_serves_the_site_beside_the_poller(env: dict[str, str], upstream: FakeUpstream, tmp_path: Path) -> None:
    port = free_port()
    proc = Proc(["run"], run_env(env, upstream, port), tmp_path)
    try:
        proc.expect(rf"public site on http://127\.0\.0\.1:{port}$")
        proc.expect(r"poll tk ok=True")
        proc.expect(r"poll ob ok=True")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            board = client.get("/")
            assert board.status_code == 200
            assert re.search(r"216 toezeggingen: \d+ gehaald, \d+ te laat, \d+ onderweg, \d+ nog niets", board.text)
            assert "Wetsvoorstel lobbyregister" in board.text
            status = client.get("/status")
            assert 'data-source="tk" data-state="ok"' in status.text
        proc.expect(r"poll tk ok=True")  # and it keeps polling
    finally:
        assert proc.stop() == 0


def test_run_carries_on_without_the_site_when_the_port_is_taken(env: dict[str, str], upstream: FakeUpstream,
                                                                 tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = Proc(["run"], run_env(env, upstream, port), tmp_path)
        try:
            line = proc.expect(r"public site off")
            assert f"cannot listen on 127.0.0.1:{port}" in line and "polling and delivery carry on" in line
            proc.expect(r"poll tk ok=True")
            proc.expect(r"poll tk ok=True")  # a second round: it carries on
        finally:
            assert proc.stop() == 0
    assert sum("public site off" in line for line in proc.lines) == 1  # one line ...
    assert not any("public site on" in line for line in proc.lines)  # ... and no site
