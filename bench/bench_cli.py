"""How long the `wetwacht` command line takes to answer: `--help`, and the read-only commands on a small SQLite
database that is already installed (schema at head, catalog synced, a few events). Each command is started as a
new process, as a user types it, once to warm up and then five times; the figure is the median wall time.

    python -m bench.bench_cli
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--help",),
    ("commitments", "--json"),
    ("events", "--json"),
    ("show", "wet-politieke-partijen", "--json"),
    ("sources", "--json"),
)
RUNS = 5


def _prepare(db: Path) -> dict[str, str]:
    """An installed database: schema at head, catalog synced, two events."""
    # As a user's shell has it: Python keeps the compiled modules (a sandbox's PYTHONDONTWRITEBYTECODE would make
    # every start compile wetwacht's modules again, which no installation does after its first command).
    env = {k: v for k, v in os.environ.items() if not k.startswith("WETWACHT_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["WETWACHT_DATABASE_URL"] = f"sqlite:///{db}"
    subprocess.run([sys.executable, "-m", "bot", "commitments", "--json"], env=env, check=True,
                   capture_output=True)
    from matchers.events import event_json
    from storage.db import make_engine, session_scope
    from storage.models import EventRow

    engine = make_engine(env["WETWACHT_DATABASE_URL"])
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as session:
        for n in range(2):
            eid = f"evt_bench{n}"
            session.add(EventRow(id=eid, type="commitment.document", slug="wet-politieke-partijen", detected_at=now,
                                 payload=event_json(id=eid, type="commitment.document", slug="wet-politieke-partijen",
                                                    title="Wet op de politieke partijen", stage=None, documents=[],
                                                    reason="bench", detected_at=now)))
    engine.dispose()
    return env


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = _prepare(Path(tmp) / "cli.db")
        for argv in COMMANDS:
            times = []
            subprocess.run([sys.executable, "-m", "bot", *argv], env=env, cwd=tmp, capture_output=True)
            for _ in range(RUNS):
                started = time.perf_counter()
                done = subprocess.run([sys.executable, "-m", "bot", *argv], env=env, cwd=tmp, capture_output=True)
                times.append(time.perf_counter() - started)
                if done.returncode != 0:
                    raise SystemExit(f"wetwacht {' '.join(argv)} failed: {done.stderr.decode()[-500:]}")
                if done.stderr.strip() and argv != ("--help",) and "commitments" not in argv:
                    raise SystemExit(f"wetwacht {' '.join(argv)} wrote to stderr: {done.stderr.decode()[-500:]}")
            print(f"   wetwacht {' '.join(argv):<40} median {statistics.median(times):.2f} s "
                  f"(min {min(times):.2f}, max {max(times):.2f})")


if __name__ == "__main__":
    main()
