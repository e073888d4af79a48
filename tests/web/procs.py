"""Real `wetwacht` processes for the site's end-to-end tests: a free port, an isolated environment, and a
process whose stderr lines are read as they come (tests wait for a line with a deadline, never a fixed time)."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    """A `python -m bot …` process whose stderr lines are read as they come."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", *argv], cwd=cwd, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def expect(self, pattern: str, timeout: float = 60.0) -> str:
        """The next stderr line matching `pattern`; fails after `timeout` seconds or when the process ends."""
        wanted = re.compile(pattern)
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                try:
                    line = self._queue.get(timeout=0.5)
                except queue.Empty:
                    continue
                if line is None:
                    raise AssertionError(f"process ended before {pattern!r}:\n" + "\n".join(self.lines))
                self.lines.append(line)
                if wanted.search(line):
                    return line
            raise AssertionError(f"no line matching {pattern!r} in {timeout:.0f}s:\n" + "\n".join(self.lines))
        finally:
            timer.cancel()

    def finish(self, timeout: float = 30.0) -> int:
        code = self.proc.wait(timeout=timeout)
        while True:
            try:
                line = self._queue.get(timeout=5)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
        return code

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.finish()


def site_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a `wetwacht` process: none of the developer's WETWACHT_* settings, a database in
    `tmp_path`, no Telegram."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("WETWACHT_") or k == "WETWACHT_TEST_PG_BINDIR"}
    base.update({"WETWACHT_DATABASE_URL": f"sqlite:///{tmp_path / 'site.db'}", "WETWACHT_TELEGRAM_TOKEN": "",
                 "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    return base
