"""The service as a whole, with real `wetwacht run` processes against the local upstream and webhook receivers.

1. Latency: from a Kamerstuk appearing at the local upstream to its signed webhook at the local receiver
   (aim: the poll interval plus under 2 seconds).
2. Memory: the resident set of one process after an hour of simulated polling (720 polls, one every 5 s of
   simulated time, with documents arriving throughout), measured in a child process (aim: under 150 MB).
3. Throughput: one replica against two on one PostgreSQL server, delivering 12 events to 200 webhook
   endpoints (PostgreSQL server binaries needed; said so when absent).

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
from contextlib import ExitStack, contextmanager, redirect_stderr
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
                "WETWACHT_SRU_URL": up.sru_url, "WETWACHT_EK_URL": up.ek_url,
                "WETWACHT_CONSULTATIE_URL": up.consultatie_url,
                "WETWACHT_POLL_SECONDS": str(POLL_SECONDS), "WETWACHT_START": "now",
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
        return len(states) == 4 and all(s.first_poll_done for s in states)
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


LINKED_DOSSIERS = ("36742", "35532", "36374", "35533", "36863", "36468", "36892", "34340", "36510", "36836",
                   "36546", "35968")  # the dossiers the catalog links from the start: one event each


def _delivery_figures(db_url: str) -> dict[str, Any]:
    """What the outbox holds for webhooks: rows, rows sent, who sent them, and when."""
    from sqlmodel import select

    from storage.db import make_engine, session_scope
    from storage.models import DeliveryRow, EventRow

    engine = make_engine(db_url)
    try:
        with session_scope(engine) as session:
            rows = [r for r in session.exec(select(DeliveryRow).where(DeliveryRow.channel == "webhook"))]
            events = len(session.exec(select(EventRow.id)).all())
            by_worker: dict[str, int] = {}
            for r in rows:
                if r.status == "sent" and r.claimed_by:
                    by_worker[r.claimed_by] = by_worker.get(r.claimed_by, 0) + 1
            sent = [r.sent_at for r in rows if r.status == "sent" and r.sent_at is not None]
            return {"events": events, "rows": len(rows), "sent": len(sent),
                    "first_queued": min((r.created_at for r in rows), default=None),
                    "last_sent": max(sent, default=None), "by_worker": by_worker}
    finally:
        engine.dispose()


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def throughput(endpoints: int = 200, receivers: int = 4, time_limit: float = 240.0) -> dict[str, Any]:
    """One replica against two on one PostgreSQL server: one Kamerstuk in each of the 12 dossiers the catalog
    links (12 events) delivered to `endpoints` webhook endpoints on `receivers` local receivers in a child
    process, every delivery verified with standardwebhooks. Timed from the database's own timestamps: from the
    first outbox row written to the last row sent. Each configuration stops after `time_limit` seconds."""
    try:
        from tests.conftest import PostgresServer, _pg_bindir
    except ImportError:
        return {"skipped": "tests.conftest not importable"}
    from bench.bench_webhooks import _Receivers
    from bot.channels.webhook import new_secret
    from storage.db import make_engine, session_scope
    from storage.models import EndpointRow

    bindir = _pg_bindir()
    if bindir is None:
        return {"skipped": "no PostgreSQL server binaries (apt-get install postgresql)"}
    server = PostgresServer(bindir)
    server.start()
    results: dict[str, Any] = {"events_published": len(LINKED_DOSSIERS), "endpoints": endpoints,
                               "poll_seconds": POLL_SECONDS}
    try:
        for replicas in (1, 2):
            db_url = server.create_database()
            with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp, FakeUpstream(page_size=250) as up:
                rx = _Receivers(stack, receivers, in_process=False)
                env = _env(up, db_url)
                _cli(env, "commitments")  # creates the schema and syncs the catalog
                engine = make_engine(db_url)
                with session_scope(engine) as session:
                    for e in range(endpoints):
                        secret = new_secret()
                        url = rx.add(e % receivers, f"/ep{e}", secret)
                        session.add(EndpointRow(id=f"ep_bench{e:04d}", url=url, secret=secret, commitments=[],
                                                created_at=dt.datetime.now(dt.UTC), active=True))
                engine.dispose()
                rx.ready()
                up.now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
                with _processes(env, Path(tmp), replicas):
                    if not _wait(lambda u=db_url: _installed(u), 60):  # type: ignore[misc]
                        raise RuntimeError("no installation poll")
                    up.now = dt.datetime.now(dt.UTC)
                    for dossier in LINKED_DOSSIERS:
                        g = up.add_dossier(dossier, f"Dossier {dossier}")
                        up.add_document(f"2026D6{dossier}", soort="Verslag", titel=f"Dossier {dossier}",
                                        volgnummer=50, dossier=g, externe_identifier=f"kst-{dossier}-50")
                        up.add_kamerstuk(dossier, "50", dossiertitel=f"Dossier {dossier}", soort="Verslag",
                                         modified=dt.date.today())
                    state: dict[str, Any] = {}

                    def done(u: str = db_url, seen: dict[str, Any] = state) -> bool:
                        seen.update(_delivery_figures(u))
                        return bool(seen["events"] >= len(LINKED_DOSSIERS) and seen["rows"]
                                    and seen["sent"] == seen["rows"])

                    complete = _wait(done, time_limit)
                    if complete:  # a late twin would add rows: one more poll of each source, then count again
                        time.sleep(2 * POLL_SECONDS + 1)  # a benchmark, not a test
                        complete = _wait(done, time_limit)
                records = rx.records()
                verified = sum(1 for _, ok in records if ok)
                first, last = state.get("first_queued"), state.get("last_sent")
                seconds = (_aware(last) - _aware(first)).total_seconds() if first and last else None
                results[f"replicas_{replicas}"] = {
                    "complete": complete, "events": state.get("events"), "deliveries": state.get("rows"),
                    "sent": state.get("sent"), "verified_at_receivers": verified,
                    "duplicates": verified - (state.get("sent") or 0),
                    "seconds": round(seconds, 2) if seconds else None,
                    "per_s": round(state["sent"] / seconds, 1) if seconds else None,
                    "sent_per_replica": sorted(state.get("by_worker", {}).values(), reverse=True)}
        one, two = results["replicas_1"]["seconds"], results["replicas_2"]["seconds"]
        results["speedup"] = round(one / two, 2) if one and two else None
    finally:
        server.stop()
    return results


def main() -> None:
    print(json.dumps({"latency": latency(), "memory": memory(), "throughput": throughput()}, indent=2))


if __name__ == "__main__":
    main()
