"""Tests of the delivery channels. Shared helpers: a migrated SQLite database with a commitment, events,
endpoints and outbox rows, and a clock the test moves by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from storage.db import make_engine, migrate, session_scope
from storage.models import CommitmentRow, DeliveryRow, EndpointRow, EventRow

SLUGS = ["lobbyregister", "wet-politieke-partijen", "nieuw-kiesstelsel", "wijziging-woo"]


class FakeClock:
    """An injected clock: starts at `start` (default: the real now, so Standard Webhooks' five-minute
    timestamp tolerance holds in the verifier) and moves only when told."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = (start or dt.datetime.now(dt.UTC)).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> dt.datetime:
        self.now += dt.timedelta(seconds=seconds)
        return self.now


class MaxRng:
    """A jitter source that always draws the top of the range (the slowest retry)."""

    def uniform(self, a: float, b: float) -> float:
        return b


def database(tmp_path: Path, now: dt.datetime) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'wetwacht.db'}")
    migrate(engine)
    with session_scope(engine) as s:
        for slug in SLUGS:
            s.add(CommitmentRow(slug=slug, title=f"Wetsvoorstel {slug}", kind="wetsvoorstel", ministry="BZK",
                                origin="test", created_at=now))
    return engine


def event_payload(event_id: str, slug: str = "lobbyregister", detected_at: dt.datetime | None = None,
                  type_: str = "commitment.stage") -> dict[str, Any]:
    when = (detected_at or dt.datetime(2027, 3, 2, 10, 15, tzinfo=dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "id": event_id, "type": type_,
        "commitment": {"slug": slug, "title": f"Wetsvoorstel {slug}"},
        "stage": "ingediend",
        "documents": [{"source": "tk", "id": "2027D01234", "kst": "kst-37100-3", "title": "Memorie van toelichting",
                       "type": "Memorie van toelichting", "dossier": "37100",
                       "url": "https://zoek.officielebekendmakingen.nl/kst-37100-3.html", "date": "2027-03-02"}],
        "reason": "dossier 37100 is linked; Memorie van toelichting means the bill was sent to the Kamer — één",
        "detected_at": when,
    }


def add_event(engine: Engine, event_id: str, detected_at: dt.datetime, slug: str = "lobbyregister",
              status: str = "published") -> dict[str, Any]:
    payload = event_payload(event_id, slug, detected_at)
    with session_scope(engine) as s:
        s.add(EventRow(id=event_id, type=payload["type"], slug=slug, stage="ingediend", detected_at=detected_at,
                       status=status, payload=payload))
    return payload


def add_endpoint(engine: Engine, endpoint_id: str, url: str, secret: str, created_at: dt.datetime,
                 commitments: list[str] | None = None, active: bool = True) -> None:
    with session_scope(engine) as s:
        s.add(EndpointRow(id=endpoint_id, url=url, secret=secret, commitments=commitments or [],
                          created_at=created_at, active=active))


def add_delivery(engine: Engine, event_id: str, endpoint_id: str, created_at: dt.datetime,
                 status: str = "pending", attempts: int = 0) -> int:
    with session_scope(engine) as s:
        row = DeliveryRow(event_id=event_id, channel="webhook", recipient=endpoint_id, status=status,
                          attempts=attempts, next_attempt_at=created_at, created_at=created_at)
        s.add(row)
        s.flush()
        assert row.id is not None
        return row.id


def delivery(engine: Engine, delivery_id: int) -> DeliveryRow:
    with session_scope(engine) as s:
        row = s.get(DeliveryRow, delivery_id)
        assert row is not None
        return row


def endpoint(engine: Engine, endpoint_id: str) -> EndpointRow:
    with session_scope(engine) as s:
        row = s.get(EndpointRow, endpoint_id)
        assert row is not None
        return row
