"""The service as a whole, with real `wetwacht run` processes against the local upstream and webhook receivers.

1. Latency: from a Kamerstuk appearing at the local upstream to its signed webhook at the local receiver
   (aim: the poll interval plus under 2 seconds).
2. Memory: the resident set of one process after an hour of simulated polling (720 polls, one every 5 s of
   simulated time, with documents arriving throughout), measured in a child process (aim: under 150 MB).
3. Throughput: one replica against two on one PostgreSQL server, delivering the events of 30 bills to
   10 webhook endpoints (PostgreSQL server binaries needed; said so when absent).

`python -m bench.bench_service` prints the figures as JSON.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr
from pathlib import Path
from typing import Any

from tests.fakes.receiver import Receiver
from tests.fakes.upstream import FakeUpstream

POLL_SECONDS = 2


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    pause = threading.Event()
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        pause.wait(0.02)
    return True


def _env(up: FakeUpstream, db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WETWACHT_")}
    env.update({"WETWACHT_DATABASE_URL": db_url, "WETWACHT_TK_FEED_URL": up.feed_url,
                "WETWACHT_SRU_URL": up.sru_url, "WETWACHT_POLL_SECONDS": str(POLL_SECONDS), "WETWACHT_START": "now",
                "WETWACHT_PAGE_PAUSE_SECONDS": "0", "WETWACHT_ALLOW_PRIVATE_WEBHOOKS": "true"})
    return env


def _cli(env: dict[str, str], *argv: str) -> str:
    from bot.cli import main

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    out = io.StringIO()
    try:
        with redirect_stderr(io.StringIO()):
            code = main(list(argv), out=out, err=io.StringIO())
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if code != 0:
        raise RuntimeError(f"wetwacht {' '.join(argv)} exited {code}")
    return out.getvalue()


def _add_endpoint(env: dict[str, str], receiver: Receiver, path: str) -> None:
    out = _cli(env, "webhook", "add", receiver.url(path))
    fields = dict(line.split(": ", 1) for line in out.strip().splitlines())
    receiver.add(path, fields["secret"])


@contextmanager
def _processes(env: dict[str, str], cwd: Path, n: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=cwd, env=env,
                              stdout=subprocess.DEVNULL, stderr=(cwd / f"run{i}.log").open("ab"))
             for i in range(n)]
    try:
        yield procs
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


def _installed(db_url: str) -> bool:
    from sqlmodel import select

    from storage.db import make_engine, session_scope
    from storage.models import SourceStateRow

    engine = make_engine(db_url)
    try:
        with session_scope(engine) as session:
            states = list(session.exec(select(SourceStateRow)))
        return len(states) == 2 and all(s.first_poll_done for s in states)
    except Exception:
        return False
    finally:
        engine.dispose()


def _received(receiver: Receiver) -> int:
    return len({(r.path, r.webhook_id) for r in list(receiver.records) if r.verified and r.answered == 200})


def latency(rounds: int = 5) -> dict[str, Any]:
    """Seconds from publication upstream to the verified webhook, per round."""
    with tempfile.TemporaryDirectory() as tmp, FakeUpstream(page_size=250) as up, Receiver().running() as rx:
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        env = _env(up, db_url)
        _add_endpoint(env, rx, "/ngo")
        up.now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        dossier = up.add_dossier("36742", "Wet op de politieke partijen")
        with _processes(env, Path(tmp), 1):
            if not _wait(lambda: _installed(db_url), 60):
                raise RuntimeError("the service did not finish its installation poll")
            figures = []
            up.now = dt.datetime.now(dt.UTC)
            for n in range(rounds):
                before = _received(rx)
                started = time.monotonic()
                up.add_kamerstuk("36742", str(10 + n), dossiertitel="Wet op de politieke partijen", soort="Verslag",
                                 modified=dt.date.today())
                up.add_document(f"2026D9{n:04d}", soort="Verslag", titel="Wet op de politieke partijen",
                                volgnummer=10 + n, dossier=dossier)
                if not _wait(lambda b=before: _received(rx) > b, 60):  # type: ignore[misc]
                    raise RuntimeError("no alert arrived within 60 s")
                figures.append(time.monotonic() - started)
    return {"poll_seconds": POLL_SECONDS, "rounds": rounds, "latency_s": [round(f, 2) for f in figures],
            "mean_s": round(sum(figures) / len(figures), 2), "max_s": round(max(figures), 2),
            "aim_s": POLL_SECONDS + 2}


def _memory_child(polls: int) -> None:
    """Runs in a child process: `polls` polls of both sources against a local upstream, documents arriving."""
    from bot.app import Context, build_sources, http_client, poll_once
    from bot.config import load_settings
    from matchers.catalog import load_catalog
    from storage.catalog_repo import sync_catalog
    from storage.db import make_engine, migrate, session_scope

    with tempfile.TemporaryDirectory() as tmp, FakeUpstream(page_size=250) as up:
        up.now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        db_url = f"sqlite:///{Path(tmp) / 'mem.db'}"
        os.environ.update(_env(up, db_url))
        settings = load_settings()
        catalog = load_catalog()
        engine = make_engine(db_url)
        migrate(engine)
        with session_scope(engine) as session:
            sync_catalog(session, catalog, dt.datetime.now(dt.UTC))
        simulated = {"now": dt.datetime.now(dt.UTC)}
        ctx = Context(settings=settings, engine=engine, catalog=catalog, clock=lambda: simulated["now"])
        dossier = up.add_dossier("36742", "Wet op de politieke partijen")
        rss_after_first = 0

        async def go() -> None:
            nonlocal rss_after_first
            async with http_client() as client:
                sources = build_sources(settings, client, clock=ctx.clock)
                for i in range(polls):
                    if i % 10 == 5:  # a document every 50 simulated seconds, in both sources
                        up.add_document(f"2026D8{i:04d}", soort="Brief regering", titel=f"Brief {i}",
                                        volgnummer=100 + i, dossier=dossier, externe_identifier=f"kst-36742-{100+i}")
                        up.add_kamerstuk("36742", str(100 + i), dossiertitel="Wet op de politieke partijen",
                                         soort="Brief regering", modified=dt.date.today())
                    await poll_once(ctx, sources)
                    simulated["now"] += dt.timedelta(seconds=5)
                    if i == 0:
                        rss_after_first = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        started = time.monotonic()
        asyncio.run(go())
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"polls": polls, "simulated_hours": round(polls * 5 / 3600, 2),
                          "wall_s": round(time.monotonic() - started, 1),
                          "max_rss_mb_after_first_poll": round(rss_after_first / 1024, 1),
                          "max_rss_mb": round(peak / 1024, 1), "aim_mb": 150}))


def memory(polls: int = 720) -> dict[str, Any]:
    code = f"from bench.bench_service import _memory_child; _memory_child({polls})"
    out = subprocess.run([sys.executable, "-c", code],
                         capture_output=True, text=True, check=True, timeout=1800)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def throughput(bills: int = 30, endpoints: int = 10) -> dict[str, Any]:
    """Time to deliver the events of `bills` bills to `endpoints` endpoints with one and with two replicas."""
    try:
        from tests.conftest import PostgresServer, _pg_bindir
    except ImportError:
        return {"skipped": "tests.conftest not importable"}
    bindir = _pg_bindir()
    if bindir is None:
        return {"skipped": "no PostgreSQL server binaries (apt-get install postgresql)"}
    server = PostgresServer(bindir)
    server.start()
    results: dict[str, Any] = {"bills": bills, "endpoints": endpoints}
    try:
        for replicas in (1, 2):
            db_url = server.create_database()
            with tempfile.TemporaryDirectory() as tmp, FakeUpstream(page_size=250) as up, \
                    Receiver().running() as rx:
                env = _env(up, db_url)
                for e in range(endpoints):
                    _add_endpoint(env, rx, f"/ep{e}")
                up.now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
                with _processes(env, Path(tmp), replicas):
                    if not _wait(lambda u=db_url: _installed(u), 60):  # type: ignore[misc]
                        raise RuntimeError("no installation poll")
                    up.now = dt.datetime.now(dt.UTC)
                    started = time.monotonic()
                    for b in range(bills):
                        nr = str(37000 + b)
                        g = up.add_dossier(nr, f"Wet nummer {b}")
                        # a Voorstel van wet titled with a catalog alias: learned, then one event per bill
                        up.add_document(f"2026D7{b:04d}", soort="Voorstel van wet",
                                        titel="Regels over het lobbyregister (Wet lobbyregister)" if b == 0 else
                                        f"Wijziging van de Gemeentewet in verband met onderwerp {b}",
                                        volgnummer=2, dossier=g, externe_identifier=f"kst-{nr}-2")
                    for dossier in ("36742", "36892", "36468"):
                        for k in range(bills // 3):
                            up.add_kamerstuk(dossier, str(200 + k), dossiertitel="x", soort="Verslag",
                                             modified=dt.date.today())
                    expected = (3 * (bills // 3) + 1) * endpoints
                    ok = _wait(lambda n=expected: _received(rx) >= n, 300)
                    elapsed = time.monotonic() - started
                    results[f"replicas_{replicas}"] = {"deliveries": _received(rx), "expected": expected,
                                                       "complete": ok, "seconds": round(elapsed, 2),
                                                       "per_s": round(_received(rx) / elapsed, 1)}
        one, two = results["replicas_1"]["seconds"], results["replicas_2"]["seconds"]
        results["speedup"] = round(one / two, 2) if two else None
    finally:
        server.stop()
    return results


def main() -> None:
    print(json.dumps({"latency": latency(), "memory": memory(), "throughput": throughput()}, indent=2))


if __name__ == "__main__":
    main()
