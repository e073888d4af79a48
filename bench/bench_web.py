"""The public site with 250 commitments and 10,000 events (20,000 documents and pieces of evidence) on SQLite
(`tests.web.world.populate`), served by uvicorn in a process of its own, pinned to one core; the clients run on
the other core.

1. Latency, sequential requests on one keep-alive connection: the scoreboard (aim: p95 under 50 ms) and
   commitment pages, one per commitment (aim: p95 under 30 ms). "warm" is the site as served between two
   polls (the database unchanged: the catalog read and the page are reused); "cold" reads and renders every
   request (`SiteConfig(cache_seconds=0)`, what the first request after a poll costs).
2. `/api/events?since=…` requests per second on that one core (aim: 500), 16 keep-alive connections, warm
   and cold; `since` one day back (the last ~30 events), as a client that polls the API asks it.
3. A poll's latency in a process like `wetwacht run`: a local upstream (5 new Kamerstukken in each source
   per poll), the pipeline and the site on one event loop; alone, and while 200 connections request pages
   (scoreboard, commitment pages, feed, overdue list, events) as fast as they are answered, alternated in
   rounds so the machine's other work weighs on both alike. Every poll writes, so after every poll each
   page is rendered again: the worst case. Once as served, once without `LoopShare` for comparison.

`python -m bench.bench_web` prints the figures.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WARMUP = 20
LATENCY_REQUESTS = 250
THROUGHPUT_SECONDS = 5.0
POLLS = 3
ROUNDS = 4
LOAD_CONNECTIONS = 200


def _pin(core: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {core})


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# ------------------------------------------------------------------------------------------ raw HTTP client


class Connection:
    """One keep-alive HTTP/1.1 connection: a request costs the client as little as possible, so the figures
    are the server's."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port, limit=2 ** 24)
        return cls(reader, writer, f"{host}:{port}")

    async def get(self, path: str) -> int:
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        if length:
            await self.reader.readexactly(int(length.group(1)))
        return status

    def close(self) -> None:
        self.writer.close()


async def _latencies(port: int, paths: Sequence[str]) -> list[float]:
    conn = await Connection.open("127.0.0.1", port)
    for path in paths[:WARMUP]:
        await conn.get(path)
    out = []
    for path in paths:
        started = time.perf_counter()
        status = await conn.get(path)
        out.append((time.perf_counter() - started) * 1000)
        assert status == 200, (path, status)
    conn.close()
    return out


async def _hammer(port: int, paths: Sequence[str], connections: int, seconds: float | None,
                  stop: asyncio.Event | None = None) -> dict[str, Any]:
    """`connections` connections requesting `paths` (round robin, each from its own offset) until `seconds`
    have passed or `stop` is set."""
    done = stop or asyncio.Event()
    counts = {"requests": 0, "errors": 0}
    latencies: list[float] = []

    async def one(offset: int) -> None:
        conn = await Connection.open("127.0.0.1", port)
        i = offset
        try:
            while not done.is_set():
                started = time.perf_counter()
                status = await conn.get(paths[i % len(paths)])
                latencies.append((time.perf_counter() - started) * 1000)
                counts["requests"] += 1
                counts["errors"] += status != 200
                if status != 200:
                    counts[f"status_{status}"] = counts.get(f"status_{status}", 0) + 1
                i += 1
        finally:
            conn.close()

    tasks = [asyncio.create_task(one(i * 7)) for i in range(connections)]
    started = time.perf_counter()
    if seconds is not None:
        await asyncio.sleep(seconds)
        done.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    return {**counts, "seconds": elapsed, "rate": counts["requests"] / elapsed,
            "p50_ms": statistics.median(latencies) if latencies else 0.0,
            "p95_ms": _percentile(latencies, 0.95) if latencies else 0.0}


# ------------------------------------------------------------------------------------------ child processes


def _child(*argv: str, core: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "bench.bench_web", *argv, str(core)], cwd=ROOT, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _expect(proc: subprocess.Popen[str], word: str) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(word):
            return line[len(word):].strip()
    raise RuntimeError(f"child ended before saying {word}")


def serve(url: str, port: str, cache: str, core: str) -> None:
    """Child: the site alone on one core (like `wetwacht web`), until SIGTERM."""
    _pin(int(core))
    from bot.web.app import SiteConfig, create_app
    from bot.web.server import WebServer
    from matchers.catalog import load_catalog
    from storage.db import make_engine

    async def go() -> None:
        engine = make_engine(url)
        server = WebServer(create_app(engine, load_catalog(), config=SiteConfig(cache_seconds=float(cache))),
                           "127.0.0.1", int(port))
        await server.start()
        stopping = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
        print(f"READY {server.port}", flush=True)
        await stopping.wait()
        await server.stop()

    asyncio.run(go())


def load(port: str, paths_file: str, connections: str, core: str) -> None:
    """Child: `connections` connections requesting the paths while switched on ("on"/"off" on stdin, "quit"
    ends it and prints its figures for the time it was on)."""
    _pin(int(core))
    paths = json.loads(Path(paths_file).read_text())

    async def go() -> None:
        loop = asyncio.get_running_loop()
        on = asyncio.Event()
        done = asyncio.Event()
        counts = {"requests": 0, "errors": 0}
        latencies: list[float] = []
        busy = [0.0]

        async def one(offset: int) -> None:
            conn = await Connection.open("127.0.0.1", int(port))
            i = offset
            while not done.is_set():
                if not on.is_set():
                    await asyncio.wait({asyncio.ensure_future(on.wait()), asyncio.ensure_future(done.wait())},
                                       return_when=asyncio.FIRST_COMPLETED)
                    continue
                started = time.perf_counter()
                status = await conn.get(paths[i % len(paths)])
                latencies.append((time.perf_counter() - started) * 1000)
                counts["requests"] += 1
                counts["errors"] += status != 200
                i += 1
            conn.close()

        tasks = [asyncio.create_task(one(i * 7)) for i in range(int(connections))]
        print("READY", flush=True)
        switched = 0.0
        while True:
            command = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if command == "on":
                switched = time.perf_counter()
                on.set()
            elif command == "off":
                on.clear()
                busy[0] += time.perf_counter() - switched
            else:
                break
            print("OK", flush=True)
        done.set()
        on.set()
        await asyncio.gather(*tasks)
        figures = {**counts, "seconds": busy[0], "rate": counts["requests"] / busy[0] if busy[0] else 0.0,
                   "p50_ms": statistics.median(latencies), "p95_ms": _percentile(latencies, 0.95)}
        print(f"RESULT {json.dumps(figures)}", flush=True)

    asyncio.run(go())


def service(url: str, port: str, per_turn: str, core: str) -> None:
    """Child: the pipeline polling a local upstream and the site, on one event loop as in `wetwacht run`.
    Polls alone, says LOAD, waits for a line on stdin, polls again, prints the timings."""
    _pin(int(core))
    import httpx

    from bot.pipeline import Pipeline
    from bot.web.app import SiteConfig, create_app
    from bot.web.server import WebServer
    from matchers.catalog import load_catalog
    from sources.sru import SruSource
    from sources.syncfeed import SyncFeedSource
    from storage.db import make_engine
    from tests.fakes.upstream import FakeUpstream

    async def no_pause(_seconds: float) -> None:
        return None

    async def go() -> None:
        catalog = load_catalog()
        engine = make_engine(url)
        with FakeUpstream(page_size=250) as up:
            dossier = up.add_dossier("36742", "Wet op de politieke partijen")
            zaak = up.add_zaak("2025Z09154", dossier=dossier, titel="Wet op de politieke partijen")
            counter = [0]

            def publish() -> None:
                for _ in range(5):
                    counter[0] += 1
                    n = counter[0]
                    up.add_document(f"2026D{60000 + n}", soort="Brief regering", titel="Wet op de politieke partijen",
                                    onderwerp=f"Voortgang {n}", datum=dt.date(2026, 12, 1), volgnummer=100 + n,
                                    dossier=dossier, zaak=zaak, externe_identifier=f"kst-36742-{100 + n}")
                    up.add_kamerstuk("36742", str(100 + n), dossiertitel="Wet op de politieke partijen", soort="Brief",
                                     modified=dt.date(2026, 12, 1))

            server = WebServer(create_app(engine, catalog, config=SiteConfig(per_turn=int(per_turn))), "127.0.0.1",
                               int(port))
            await server.start()
            async with httpx.AsyncClient(timeout=30) as client:
                sources = [SyncFeedSource(client, up.feed_url, sleep=no_pause, page_pause=0.0),
                           SruSource(client, up.sru_url, sleep=no_pause, page_pause=0.0)]
                pipeline = Pipeline(engine, catalog, start="now")
                await pipeline.poll(sources)  # the installation poll

                async def timed(polls: int) -> list[float]:
                    out = []
                    for _ in range(polls):
                        publish()
                        started = time.perf_counter()
                        results = await pipeline.poll(sources)
                        out.append((time.perf_counter() - started) * 1000)
                        assert all(r.ok for r in results), results
                    return out

                print(f"READY {server.port}", flush=True)
                while True:
                    command = (await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)).split()
                    if not command or command[0] != "poll":
                        break
                    print(f"TIMES {json.dumps(await timed(int(command[1])))}", flush=True)
            await server.stop()

    asyncio.run(go())


# ------------------------------------------------------------------------------------------ the benchmark


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _page_paths(slugs: Sequence[str]) -> list[str]:
    rng = random.Random(7)
    paths = []
    for i in range(600):
        pick = i % 6
        paths.append("/" if pick == 0 else "/te-laat" if pick == 1 else "/feed.atom" if pick == 2 else
                     "/api/events?since=2026-12-03" if pick == 3 else f"/toezegging/{rng.choice(slugs)}")
    return paths


def bench_latency_and_throughput(db: str, slugs: list[str]) -> None:
    since = "/api/events?since=" + (dt.date(2026, 12, 3)).isoformat()
    for label, cache in (("warm", "300"), ("cold", "0")):
        port = _free_port()
        proc = _child("serve", db, str(port), cache, core=0)
        try:
            _expect(proc, "READY")
            _pin(1)
            board = asyncio.run(_latencies(port, ["/"] * LATENCY_REQUESTS))
            pages = asyncio.run(_latencies(port, [f"/toezegging/{s}" for s in slugs]))
            rate = asyncio.run(_hammer(port, [since], 16, THROUGHPUT_SECONDS))
            print(f"   {label}: scoreboard p50 {statistics.median(board):.1f} ms, p95 {_percentile(board, .95):.1f} ms"
                  f" ({len(board)} requests); commitment page p50 {statistics.median(pages):.1f} ms, p95 "
                  f"{_percentile(pages, .95):.1f} ms ({len(pages)} pages)")
            print(f"   {label}: /api/events?since=(a day back) {rate['rate']:,.0f} requests/s on one core "
                  f"({rate['requests']} in {rate['seconds']:.1f} s, 16 connections, p95 {rate['p95_ms']:.1f} ms, "
                  f"{rate['errors']} errors)")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def _say(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def bench_poll_under_load(db: str, slugs: list[str], tmp: Path, per_turn: int, label: str) -> None:
    paths = _page_paths(slugs)
    paths_file = tmp / "paths.json"
    paths_file.write_text(json.dumps(paths))
    port = _free_port()
    svc = _child("service", db, str(port), str(per_turn), core=0)
    alone: list[float] = []
    loaded: list[float] = []
    try:
        _expect(svc, "READY")
        _pin(1)
        asyncio.run(_latencies(port, sorted(set(paths))))  # every page rendered once: the site as it runs
        loader = _child("load", str(port), str(paths_file), str(LOAD_CONNECTIONS), core=1)
        _expect(loader, "READY")
        for _ in range(ROUNDS):  # alternated, so that the machine's other work weighs on both alike
            _say(svc, f"poll {POLLS}")
            alone += json.loads(_expect(svc, "TIMES"))
            _say(loader, "on")
            _expect(loader, "OK")
            _say(svc, f"poll {POLLS}")
            loaded += json.loads(_expect(svc, "TIMES"))
            _say(loader, "off")
            _expect(loader, "OK")
        _say(loader, "quit")
        pages = json.loads(_expect(loader, "RESULT"))
        loader.wait(timeout=30)
    finally:
        _say(svc, "quit")
        svc.wait(timeout=60)
    print(f"   {label}: poll (5 new documents in each of 2 sources, {len(alone)} polls each): alone median "
          f"{statistics.median(alone):.0f} ms, p95 {_percentile(alone, .95):.0f} ms; during {LOAD_CONNECTIONS} "
          f"concurrent page requests median {statistics.median(loaded):.0f} ms, p95 {_percentile(loaded, .95):.0f} "
          f"ms (ratio of medians {statistics.median(loaded) / statistics.median(alone):.2f})")
    print(f"   meanwhile the site answered {pages['requests']:,} page requests ({pages['rate']:,.0f}/s, p50 "
          f"{pages['p50_ms']:.0f} ms, p95 {pages['p95_ms']:.0f} ms, {pages['errors']} errors) on the same core")


def _copy(source: Path, target: Path) -> None:
    """A fresh copy of an SQLite database (the backup API: a file copy would pair it with a stale WAL)."""
    import sqlite3

    for leftover in (target, target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        leftover.unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.web.world import populate

    tmp = Path(tempfile.mkdtemp(prefix="wetwacht-bench-web-"))
    try:
        started = time.perf_counter()
        engine = populate(f"sqlite:///{tmp / 'site.db'}")
        engine.dispose()
        from sqlmodel import Session, select

        from storage.models import CommitmentRow

        engine = __import__("storage.db", fromlist=["make_engine"]).make_engine(f"sqlite:///{tmp / 'site.db'}")
        with Session(engine) as session:
            slugs = list(session.exec(select(CommitmentRow.slug)).all())
        engine.dispose()
        print(f"   database: {len(slugs)} commitments, 10,000 events ({time.perf_counter() - started:.0f} s to make)")
        bench_latency_and_throughput(f"sqlite:///{tmp / 'site.db'}", slugs)
        for per_turn, label in ((2, "as served (2 requests per loop turn)"), (100_000, "without the loop share")):
            _copy(tmp / "site.db", tmp / "service.db")
            bench_poll_under_load(f"sqlite:///{tmp / 'service.db'}", slugs, tmp, per_turn, label)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("serve", "load", "service"):
        {"serve": serve, "load": load, "service": service}[sys.argv[1]](*sys.argv[2:])
    else:
        main()
