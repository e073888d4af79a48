"""The outbox worker's scheduling: a slow recipient holds one slot, not the deliveries queued behind it."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from sqlmodel import select

from bot.channels.base import Attempt
from bot.delivery import Outbox
from storage.db import session_scope
from storage.models import DeliveryRow
from tests.channels import FakeClock, add_delivery, add_event, database, delivery

SLOW = "ep_slow"


class GatedChannel:
    """A webhook channel whose sends to SLOW wait until the test opens the gate (a receiver that hangs)."""

    name = "webhook"

    def __init__(self, expected_fast: int) -> None:
        self.gate = asyncio.Event()
        self.fast_done = asyncio.Event()
        self.expected_fast = expected_fast
        self.sent: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def send(self, attempt: Attempt) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if attempt.recipient.startswith(SLOW):
                await self.gate.wait()
            else:
                await asyncio.sleep(0)  # yield, as a network send does
            self.sent.append(attempt.recipient)
            if sum(1 for r in self.sent if not r.startswith(SLOW)) == self.expected_fast:
                self.fast_done.set()
        finally:
            self.in_flight -= 1

    def retry_delay(self, attempt: int) -> float:
        return 5.0

    def gives_up(self, attempt: int, first_tried_at: dt.datetime, now: dt.datetime) -> bool:
        return False


async def test_a_hanging_recipient_does_not_hold_back_the_others(tmp_path: Path) -> None:
    clock = FakeClock()
    engine = database(tmp_path, clock())
    add_event(engine, "evt_slow000000000000000001", clock())
    slow_id = add_delivery(engine, "evt_slow000000000000000001", SLOW, clock())  # first in line
    fast = [add_delivery(engine, "evt_slow000000000000000001", f"ep_fast{i:03d}", clock()) for i in range(80)]
    channel = GatedChannel(expected_fast=len(fast))
    outbox = Outbox(engine, {"webhook": channel}, clock=clock, batch=25, concurrency=10)

    worker = asyncio.create_task(outbox.deliver_due())
    # Every other delivery goes out while the first one still hangs (with whole batches, the 24 claimed
    # beside it would be the last to go until it timed out).
    await asyncio.wait_for(channel.fast_done.wait(), timeout=10)
    assert not worker.done() and delivery(engine, slow_id).status == "pending"
    assert all(delivery(engine, i).status == "sent" for i in fast)
    assert channel.most_in_flight <= 10

    channel.gate.set()
    stats = await asyncio.wait_for(worker, timeout=10)
    assert stats.sent == 81 and delivery(engine, slow_id).status == "sent"


async def test_rows_are_claimed_only_when_a_slot_is_free(tmp_path: Path) -> None:
    """No row sits claimed while it waits for a slot: the lease runs only while the row is being sent."""
    clock = FakeClock()
    engine = database(tmp_path, clock())
    add_event(engine, "evt_slow000000000000000002", clock())
    ids = [add_delivery(engine, "evt_slow000000000000000002", f"{SLOW}{i}", clock()) for i in range(4)]
    add_delivery(engine, "evt_slow000000000000000002", "ep_late", clock())
    channel = GatedChannel(expected_fast=1)
    outbox = Outbox(engine, {"webhook": channel}, clock=clock, batch=25, concurrency=4)
    worker = asyncio.create_task(outbox.deliver_due())
    for _ in range(1000):  # let the worker run until the four hanging sends fill every slot
        if channel.in_flight == 4:
            break
        await asyncio.sleep(0)
    assert channel.in_flight == 4
    claimed = [delivery(engine, i).claimed_until for i in ids]
    assert all(c is not None for c in claimed)
    with session_scope(engine) as session:
        late = session.exec(select(DeliveryRow).where(DeliveryRow.recipient == "ep_late")).one()
    assert late.claimed_until is None and late.status == "pending"  # not claimed while no slot is free
    channel.gate.set()
    stats = await asyncio.wait_for(worker, timeout=10)
    assert stats.sent == 5
