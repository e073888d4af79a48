"""The README's screenshots of the site: `python -m tests.web.screenshots [DIRECTORY]` (default `docs/`).

Serves the test world (tests/web/world.py, without its hostile commitment) with `wetwacht web` on 127.0.0.1 and
has Debian's headless chromium photograph the scoreboard and one commitment page.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from tests.web.procs import Proc, free_port, site_env
from tests.web.test_browser import FLAGS
from tests.web.world import build

SHOTS = (("site-scoreboard.png", "/", "1280,1500"), ("site-toezegging.png", "/toezegging/wet-politieke-partijen",
                                                      "1280,2300"))


def main(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wetwacht-shots-") as tmp:
        env = site_env(Path(tmp))
        build(env["WETWACHT_DATABASE_URL"], hostile=False)
        port = free_port()
        proc = Proc(["web"], env | {"WETWACHT_WEB_PORT": str(port)}, Path(tmp))
        try:
            proc.expect(r"public site on ")
            for name, path, size in SHOTS:
                target = (directory / name).resolve()
                subprocess.run(["chromium", *FLAGS, f"--user-data-dir={tmp}/profile", "--hide-scrollbars",
                                f"--window-size={size}", f"--screenshot={target}", f"http://127.0.0.1:{port}{path}"],
                               check=True, capture_output=True, timeout=120)
                print(target)
        finally:
            proc.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
