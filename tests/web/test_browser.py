"""The site in a real browser: Debian's chromium, headless, loads the scoreboard and one commitment page from a
`wetwacht web` that this test started on 127.0.0.1, and the test reads the DOM chromium rendered (`--dump-dom`):
the counts, an overdue commitment marked as such, and a maintainer's hostile title shown as text (no element
made of it). Skips on a developer's machine without chromium; fails in CI (`CI=true`), where `.ci/run` installs
it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup, Tag

from tests.conftest import IN_CI
from tests.web.procs import Proc, free_port
from tests.web.world import HOSTILE_SLUG, HOSTILE_TITLE, build

pytestmark = pytest.mark.e2e
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found is None:
        if IN_CI:
            pytest.fail("chromium is not installed; .ci/run must install it (apt-get install chromium)")
        pytest.skip("chromium is not installed (CI installs it; here the browser test skips)")
    return found


def rendered(browser: str, url: str) -> BeautifulSoup:
    """The DOM chromium built for `url`, from a fresh profile."""
    with tempfile.TemporaryDirectory(prefix="wetwacht-chromium-") as profile:
        result = subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                                capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<html" in result.stdout, result.stderr[-2000:]
    return BeautifulSoup(result.stdout, "html.parser")


def words(node: Tag | None) -> str:
    assert node is not None
    return " ".join(node.get_text().split())


def test_chromium_renders_the_scoreboard_and_a_commitment_page(tmp_path: Path, env: dict[str, str]) -> None:
    browser = chromium()
    build(env["WETWACHT_DATABASE_URL"])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = Proc(["web"], env | {"WETWACHT_WEB_PORT": str(port)}, tmp_path)
    try:
        proc.expect(rf"public site on {base}$")
        items = httpx.get(f"{base}/api/commitments", timeout=10).json()

        board = rendered(browser, f"{base}/")
        kept = {"vereenvoudigingswet", "evaluatie-verkiezingen-2025-2026"}  # the world's kept promises
        overdue = sum(i["overdue"] for i in items)
        underway = sum(1 for i in items if not i["overdue"] and i["slug"] not in kept and i["stage"] is not None)
        nothing = len(items) - len(kept) - overdue - underway
        assert words(board.find(id="tellingen")) == (f"{len(items)} toezeggingen: {len(kept)} gehaald, {overdue} te "
                                                     f"laat, {underway} onderweg, {nothing} nog niets")
        hostile_row = board.find("tr", attrs={"data-slug": HOSTILE_SLUG})
        assert isinstance(hostile_row, Tag) and hostile_row["data-status"] == "te-laat"
        assert "⚠ te laat" in words(hostile_row.find(class_="status"))  # type: ignore[arg-type]
        title_link = hostile_row.find("a")
        assert isinstance(title_link, Tag) and words(title_link) == " ".join(HOSTILE_TITLE.split())
        assert board.find("script") is None and board.find("img") is None and board.find("iframe") is None
        assert len(board.select("table.board tbody tr")) == len(items)

        page = rendered(browser, f"{base}/toezegging/{HOSTILE_SLUG}")
        assert words(page.find("h1")) == " ".join(HOSTILE_TITLE.split())
        article = page.find("article")
        assert isinstance(article, Tag) and article["data-status"] == "te-laat"
        assert "te laat" in words(page.select_one("p.verdict"))
        assert page.find("script") is None and page.find("img") is None and page.find("iframe") is None
        assert page.find("b") is None and not page.select('a[href^="javascript:"]')
        assert page.title is not None and HOSTILE_TITLE in page.title.get_text()
    finally:
        assert proc.stop() == 0
