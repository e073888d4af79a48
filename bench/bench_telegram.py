"""Fan-out of one event to 10,000 Telegram subscribers through the outbox, against the local Bot API server
enforcing Telegram's broadcast limit (30 messages a second; the floor for 10,000 is 333 s).

To keep the run short, time is scaled: the fake enforces `30 × scale` (90) messages a second and wetwacht's rate
limiter is set to the same, so the simulated duration is the measured one times `scale`. The ratio to the
floor says how much of Telegram's allowance wetwacht leaves unused; 429 answers say whether it ever went
over. A second figure, without any limit, is how fast wetwacht itself can push messages (its own ceiling).

`python -m bench.bench_telegram` prints the figures as JSON; `run()` returns them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import multiprocessing
import resource
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bot.channels.telegram import ChatSpacing, TelegramChannel, TelegramSender, make_bot
from bot.delivery import Outbox
from bot.pipeline import queue_deliveries
from matchers.catalog import load_catalog
from storage.catalog_repo import sync_catalog
from storage.db import make_engine, migrate, session_scope
from storage.models import ChatRow, CommitmentRow, EventRow, SubscriptionRow
from tests.fakes.botapi import FakeBotApi

FLOOR_RATE = 30.0


def _prepare(url: str, subscribers: int, now: dt.datetime) -> Any:
    engine = make_engine(url)
    migrate(engine)
    with session_scope(engine) as session:
        sync_catalog(session, load_catalog(), now)
        for chat_id in range(1, subscribers + 1):
            session.add(ChatRow(chat_id=10_000_000 + chat_id, created_at=now))
        session.flush()
        for chat_id in range(1, subscribers + 1):
            session.add(SubscriptionRow(chat_id=10_000_000 + chat_id, target="slug:lobbyregister", created_at=now))
        payload = {"id": "evt_bench", "type": "commitment.stage",
                   "commitment": {"slug": "lobbyregister", "title": "Wetsvoorstel lobbyregister"},
                   "stage": "ingediend", "reason": "dossier 37100 is linked to lobbyregister",
                   "documents": [{"source": "ob", "id": "kst-37100-3", "kst": "kst-37100-3",
                                  "title": "Regels over de registratie van lobbyisten (Wet lobbyregister)",
                                  "type": "Memorie van toelichting", "dossier": "37100", "date": "2027-03-02",
                                  "url": "https://zoek.officielebekendmakingen.nl/kst-37100-3.html"}],
                   "detected_at": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
        event = EventRow(id="evt_bench", type="commitment.stage", slug="lobbyregister", stage="ingediend",
                         detected_at=now, payload=payload)
        session.add(event)
        session.flush()
        commitment = session.get(CommitmentRow, "lobbyregister")
        assert commitment is not None
        queue_deliveries(session, event, commitment, now)
    return engine


async def _fan_out(engine: Any, api: FakeBotApi | _Remote, per_second: float | None,
                   now: dt.datetime) -> tuple[float, int]:
    bot = make_bot(api.token, api.base_url, per_second=per_second or 1e6, group_per_minute=1e6)
    async with bot:
        sender = TelegramSender(bot, engine, spacing=ChatSpacing())
        outbox = Outbox(engine, {"telegram": TelegramChannel(sender, engine, clock=lambda: now)},
                        clock=lambda: now, batch=200, concurrency=20)
        started = time.perf_counter()
        sent = 0
        while True:
            stats = await outbox.deliver_due()
            sent += stats.sent
            if not stats.sent and not stats.failed:
                break
        return time.perf_counter() - started, sent


def _serve(conn: Connection, per_second: float | None) -> None:
    """The Bot API server in its own process, so its threads do not share a GIL with wetwacht's loop."""
    with FakeBotApi(global_per_second=per_second).running() as api:
        conn.send((api.token, api.base_url))
        conn.recv()  # until the fan-out is over
        conn.send({"received": len(api.messages()), "rate_limited_429": api.rate_limited})


class _Remote:
    def __init__(self, per_second: float | None) -> None:
        self.conn, child = multiprocessing.Pipe()
        self.proc = multiprocessing.get_context("spawn").Process(target=_serve, args=(child, per_second),
                                                                  daemon=True)
        self.proc.start()
        self.token, self.base_url = self.conn.recv()

    def finish(self) -> dict[str, Any]:
        self.conn.send("stop")
        stats: dict[str, Any] = self.conn.recv()
        self.proc.join(timeout=10)
        return stats


def run(subscribers: int = 10_000, scale: float = 3.0, ceiling_subscribers: int = 3_000) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    results: dict[str, Any] = {"subscribers": subscribers, "scale": scale}
    with tempfile.TemporaryDirectory() as tmp:
        limited = FLOOR_RATE * scale
        engine = _prepare(f"sqlite:///{Path(tmp) / 'limited.db'}", subscribers, now)
        api = _Remote(limited)
        seconds, sent = asyncio.run(_fan_out(engine, api, limited, now))
        server = api.finish()
        floor = subscribers / FLOOR_RATE
        results["limited"] = {
            "sent": sent, **server, "measured_s": round(seconds, 1), "simulated_s": round(seconds * scale, 1),
            "floor_s": round(floor, 1), "ratio_to_floor": round(seconds * scale / floor, 3),
        }
        engine.dispose()
        engine = _prepare(f"sqlite:///{Path(tmp) / 'free.db'}", ceiling_subscribers, now)
        api = _Remote(None)
        seconds, sent = asyncio.run(_fan_out(engine, api, None, now))
        api.finish()
        results["unlimited"] = {"sent": sent, "measured_s": round(seconds, 1),
                                "messages_per_s": round(sent / seconds, 1)}
        engine.dispose()
    results["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return results


def main() -> None:
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    print(json.dumps(run(), indent=2))


if __name__ == "__main__":
    main()
