"""The outbox worker: claims due delivery rows, hands each to its channel, records the outcome.

Delivery is at-least-once: a row is claimed with a lease (`claimed_until`) before it is sent and marked sent
after; a worker that dies mid-send leaves the lease to run out and the row is tried again (with the same event
id, which webhooks carry as `webhook-id`). On PostgreSQL several replicas claim rows with `FOR UPDATE SKIP
LOCKED`, so each row goes to one worker at a time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.channels.base import Attempt, Channel, DeliveryError
from storage.db import session_scope
from storage.models import ChatRow, DeliveryRow, EndpointRow, EventRow

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]


@dataclass
class DeliverStats:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0


class Outbox:
    """Sends due deliveries through `channels` (by channel name). Rows of channels not given stay queued."""

    def __init__(self, engine: Engine, channels: Mapping[str, Channel], *, clock: Clock | None = None,
                 worker_id: str | None = None, batch: int = 25, lease: dt.timedelta = dt.timedelta(minutes=2),
                 concurrency: int = 20) -> None:
        self.engine = engine
        self.channels = dict(channels)
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:8]}"
        self.batch = batch
        self.lease = lease
        self.concurrency = concurrency

    def claim(self, limit: int | None = None) -> list[Attempt]:
        """Claim up to `limit` due rows for this worker."""
        if not self.channels:
            return []
        now = self.clock()
        with session_scope(self.engine) as session:
            query = (
                select(DeliveryRow)
                .where(DeliveryRow.status == "pending", col(DeliveryRow.next_attempt_at) <= now,
                       col(DeliveryRow.channel).in_(list(self.channels)),
                       or_(col(DeliveryRow.claimed_until).is_(None), col(DeliveryRow.claimed_until) < now))
                .order_by(col(DeliveryRow.next_attempt_at), col(DeliveryRow.id))
                .limit(limit or self.batch)
            )
            if self.engine.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = session.exec(query).all()
            attempts: list[Attempt] = []
            for row in rows:
                event = session.get(EventRow, row.event_id)
                if event is None or event.status in ("retracted", "rejected") or (
                        event.status == "pending" and row.channel != "review"):
                    row.status = "skipped"
                    row.last_error = f"event is {event.status if event else 'missing'}"
                    session.add(row)
                    continue
                row.claimed_until = now + self.lease
                row.claimed_by = self.worker_id
                session.add(row)
                assert row.id is not None
                attempts.append(Attempt(delivery_id=row.id, event_id=row.event_id, event=dict(event.payload),
                                        channel=row.channel, recipient=row.recipient, attempt=row.attempts + 1,
                                        first_tried_at=row.created_at))
        return attempts

    async def deliver_due(self) -> DeliverStats:
        """Send everything that is due now; returns the counts.

        Up to `concurrency` sends are in flight at once, and a freed slot is refilled without waiting for the
        others: one endpoint that hangs until its timeout holds one slot, not the alerts behind it. Rows are
        claimed only when there is room to send them at once, so a lease never runs while a row waits here."""
        stats = DeliverStats()
        in_flight: set[asyncio.Task[None]] = set()
        refill = max(1, self.concurrency // 4)  # claim in handfuls, not one query per finished send
        drained = False
        try:
            while True:
                free = self.concurrency - len(in_flight)
                if not drained and (free >= refill or not in_flight):
                    attempts = self.claim(min(free, self.batch))
                    drained = not attempts
                    for attempt in attempts:
                        in_flight.add(asyncio.create_task(self._send(attempt, stats)))
                if not in_flight:
                    return stats
                done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # _send records every outcome itself; anything else is a bug to surface
                drained = False  # a finished send leaves room, and rows may have come due meanwhile: look again
        finally:
            for task in in_flight:  # cancelled (shutdown): the unfinished rows keep their lease, or are released
                task.cancel()

    async def _send(self, attempt: Attempt, stats: DeliverStats) -> None:
        channel = self.channels[attempt.channel]
        error: DeliveryError | None = None
        try:
            await channel.send(attempt)
        except DeliveryError as exc:
            error = exc
        except Exception as exc:  # a bug in a channel must not stop the others: count it and retry later
            log.exception("channel %s crashed on delivery %d", attempt.channel, attempt.delivery_id)
            error = DeliveryError(f"{type(exc).__name__}: {exc}")
        self._record(attempt, channel, error, stats)

    def _record(self, attempt: Attempt, channel: Channel, error: DeliveryError | None, stats: DeliverStats) -> None:
        now = self.clock()
        with session_scope(self.engine) as session:
            row = session.get(DeliveryRow, attempt.delivery_id)
            if row is None:
                return
            row.attempts = attempt.attempt
            row.claimed_until = None
            if error is None:  # claimed_by stays on a sent row: which worker sent it
                row.status = "sent"
                row.sent_at = now
                row.last_error = None
                stats.sent += 1
                if row.channel == "webhook":
                    self._endpoint_health(session, row.recipient, now, None)
                session.add(row)
                return
            row.claimed_by = None
            row.last_error = str(error)
            first = attempt.first_tried_at or now
            if error.permanent or channel.gives_up(attempt.attempt, first, now):
                row.status = "dead"
                stats.dead += 1
                log.warning("delivery %d (%s to %s, event %s) is dead after %d attempts: %s", row.id, row.channel,
                            row.recipient, row.event_id, row.attempts, error)
            else:
                delay = channel.retry_delay(attempt.attempt)
                if error.retry_after is not None:
                    delay = max(delay, error.retry_after)
                row.next_attempt_at = now + dt.timedelta(seconds=delay)
                stats.failed += 1
                log.info("delivery %d (%s to %s) failed, attempt %d, next in %.0fs: %s", row.id, row.channel,
                         row.recipient, row.attempts, delay, error)
            if error.pause_recipient and row.channel == "telegram":
                chat = session.get(ChatRow, int(row.recipient))
                if chat is not None and not chat.paused:
                    chat.paused = True
                    chat.paused_reason = str(error)
                    session.add(chat)
                    log.warning("chat %s paused: %s", row.recipient, error)
            if row.channel == "webhook":
                self._endpoint_health(session, row.recipient, now, str(error))
            session.add(row)

    @staticmethod
    def _endpoint_health(session: Session, endpoint_id: str, now: dt.datetime, error: str | None) -> None:
        ep = session.get(EndpointRow, endpoint_id)
        if ep is None:
            return
        if error is None:
            ep.last_success_at = now
            ep.consecutive_failures = 0
        else:
            ep.last_failure_at = now
            ep.consecutive_failures += 1
            ep.last_error = error
        session.add(ep)


    def release(self) -> int:
        """Give back the rows this worker claimed and has not finished (at shutdown): another worker, or
        this one after a restart, takes them at once instead of waiting for the lease to run out."""
        with session_scope(self.engine) as session:
            rows = session.exec(select(DeliveryRow).where(
                DeliveryRow.claimed_by == self.worker_id, DeliveryRow.status == "pending")).all()
            for row in rows:
                row.claimed_until = None
                row.claimed_by = None
                session.add(row)
            return len(rows)


def pending_count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return len(session.exec(select(DeliveryRow.id).where(DeliveryRow.status == "pending")).all())
