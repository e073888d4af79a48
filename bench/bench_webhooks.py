"""Webhook fan-out: one event to 200 endpoints on local receivers, through the outbox worker and the webhook
channel (real HTTP on 127.0.0.1, every request verified with the `standardwebhooks` package by the receiver).

The receivers run in a child process by default, so their request parsing and signature checks do not share
the worker's interpreter (and GIL); `in_process=True` keeps them in this process (slower: both sides compete).

`python -m bench.bench_webhooks` prints the figures as JSON; `run()` returns them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import multiprocessing
import tempfile
import time
from contextlib import ExitStack
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bot.channels.webhook import WebhookChannel, new_secret, webhook_client
from bot.delivery import Outbox
from storage.db import make_engine, migrate, session_scope
from storage.models import CommitmentRow, DeliveryRow, EndpointRow, EventRow
from tests.fakes.receiver import Receiver

EVENT_ID = "evt_bench00000000000000001"


def _payload(now: dt.datetime) -> dict[str, Any]:
    return {
        "id": EVENT_ID, "type": "commitment.stage",
        "commitment": {"slug": "lobbyregister", "title": "Wetsvoorstel lobbyregister"},
        "stage": "ingediend",
        "documents": [{"source": "tk", "id": "2027D01234", "kst": "kst-37100-3", "title": "Memorie van toelichting",
                       "type": "Memorie van toelichting", "dossier": "37100",
                       "url": "https://zoek.officielebekendmakingen.nl/kst-37100-3.html", "date": "2027-03-02"}],
        "reason": "dossier 37100 is linked to lobbyregister; Memorie van toelichting means the bill was sent",
        "detected_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _serve(conn: Connection, receivers: int) -> None:
    """Child process: start the receivers, register the paths the parent sends, report what arrived."""
    with ExitStack() as stack:
        servers = [stack.enter_context(Receiver().running()) for _ in range(receivers)]
        conn.send([server.port for server in servers])
        for index, path, secret in conn.recv():
            servers[index].add(path, secret)
        conn.send("ready")
        conn.recv()  # "stop"
        records = [r for server in servers for r in server.records]
        conn.send([(r.webhook_id, r.verified) for r in records])


class _Receivers:
    """`receivers` local receivers, in this process or in a child process."""

    def __init__(self, stack: ExitStack, receivers: int, in_process: bool) -> None:
        self.in_process = in_process
        self.servers: list[Receiver] = []
        self.secrets: list[tuple[int, str, str]] = []
        if in_process:
            self.servers = [stack.enter_context(Receiver().running()) for _ in range(receivers)]
            self.ports = [server.port for server in self.servers]
            return
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, receivers), daemon=True)
        self.process.start()
        stack.callback(self._stop)
        self.ports = self.conn.recv()

    def add(self, index: int, path: str, secret: str) -> str:
        if self.in_process:
            return self.servers[index].add(path, secret)
        self.secrets.append((index, path, secret))
        return f"http://127.0.0.1:{self.ports[index]}{path}"

    def ready(self) -> None:
        if not self.in_process:
            self.conn.send(self.secrets)
            assert self.conn.recv() == "ready"

    def records(self) -> list[tuple[str | None, bool]]:
        if self.in_process:
            return [(r.webhook_id, r.verified) for server in self.servers for r in server.records]
        self.conn.send("stop")
        records: list[tuple[str | None, bool]] = self.conn.recv()
        return records

    def _stop(self) -> None:
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()


def run(endpoints: int = 200, receivers: int = 4, concurrency: int = 20, in_process: bool = False) -> dict[str, Any]:
    """Fan one event out to `endpoints` endpoints spread over `receivers` local servers."""
    with tempfile.TemporaryDirectory(prefix="wetwacht-bench-") as tmp, ExitStack() as stack:
        servers = _Receivers(stack, receivers, in_process)
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate(engine)
        now = dt.datetime.now(dt.UTC)
        with session_scope(engine) as s:
            s.add(CommitmentRow(slug="lobbyregister", title="Wetsvoorstel lobbyregister", kind="wetsvoorstel",
                                ministry="BZK", origin="bench", created_at=now))
            s.flush()
            s.add(EventRow(id=EVENT_ID, type="commitment.stage", slug="lobbyregister", stage="ingediend",
                           detected_at=now, status="published", payload=_payload(now)))
            s.flush()
            for i in range(endpoints):
                secret = new_secret()
                ep_id = f"ep_{i:016x}"
                s.add(EndpointRow(id=ep_id, url=servers.add(i % receivers, f"/ngo/{i}", secret), secret=secret,
                                  commitments=[], created_at=now))
                s.add(DeliveryRow(event_id=EVENT_ID, channel="webhook", recipient=ep_id, status="pending",
                                  next_attempt_at=now, created_at=now))
        servers.ready()

        async def deliver() -> tuple[float, int, int, int]:
            async with webhook_client() as client:
                channel = WebhookChannel(client, engine, allow_private=True)  # loopback receivers
                outbox = Outbox(engine, {"webhook": channel}, concurrency=concurrency)
                started = time.perf_counter()
                stats = await outbox.deliver_due()
                return time.perf_counter() - started, stats.sent, stats.failed, stats.dead

        wall, sent, failed, dead = asyncio.run(deliver())
        records = servers.records()
        engine.dispose()
    return {
        "endpoints": endpoints,
        "receivers": receivers,
        "receivers_in_process": in_process,
        "concurrency": concurrency,
        "sent": sent,
        "failed": failed,
        "dead": dead,
        "received": len(records),
        "verified": sum(verified for _id, verified in records),
        "same_webhook_id": all(webhook_id == EVENT_ID for webhook_id, _v in records),
        "wall_s": round(wall, 3),
        "deliveries_per_s": round(sent / wall, 1) if wall else None,
    }


def main() -> None:
    print(json.dumps(run(), indent=2))


if __name__ == "__main__":
    main()
