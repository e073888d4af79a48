"""End to end: the outbox worker and the webhook channel against a real HTTP receiver on 127.0.0.1, which
verifies every request with the `standardwebhooks` package. SQLite in tmp_path; the clock is injected."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from bot.channels.webhook import WebhookChannel, new_secret, webhook_client
from bot.delivery import Outbox
from bot.webhooks_cli import webhook_list
from storage.db import session_scope
from storage.models import EndpointRow
from tests.channels import FakeClock, MaxRng, add_delivery, add_endpoint, add_event, database, delivery, endpoint
from tests.fakes.receiver import Receiver

pytestmark = pytest.mark.e2e

EP = "ep_00000000000000e2"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as r:
        yield r


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with webhook_client() as c:
        yield c


class World:
    def __init__(self, tmp_path: Path, receiver: Receiver, client: httpx.AsyncClient, *,
                 total_timeout: float = 15.0) -> None:
        self.clock = FakeClock()
        self.engine: Engine = database(tmp_path, self.clock())
        self.secret = new_secret()
        self.receiver = receiver
        add_endpoint(self.engine, EP, receiver.add("/ngo", self.secret), self.secret,
                     self.clock() - dt.timedelta(days=1))
        self.payload = add_event(self.engine, "evt_e2e000000000000000001", self.clock())
        self.delivery_id = add_delivery(self.engine, "evt_e2e000000000000000001", EP, self.clock())
        # Loopback is private: allow_private as WETWACHT_ALLOW_PRIVATE_WEBHOOKS=true would.
        self.channel = WebhookChannel(client, self.engine, allow_private=True, rng=MaxRng(), clock=self.clock,
                                      total_timeout=total_timeout)
        self.outbox = Outbox(self.engine, {"webhook": self.channel}, clock=self.clock)


async def test_fails_first_then_delivers_the_same_webhook_id(tmp_path: Path, receiver: Receiver,
                                                              client: httpx.AsyncClient,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    w = World(tmp_path, receiver, client)
    receiver.fail_next(1, "500")
    start = w.clock()

    stats = await w.outbox.deliver_due()
    assert (stats.sent, stats.failed, stats.dead) == (0, 1, 0)
    row = delivery(w.engine, w.delivery_id)
    assert row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at == start + dt.timedelta(seconds=5)  # the slowest first retry: within 30 s
    assert row.last_error is not None and "HTTP 500" in row.last_error
    ep = endpoint(w.engine, EP)
    assert ep.consecutive_failures == 1 and ep.last_success_at is None and "HTTP 500" in (ep.last_error or "")

    stats = await w.outbox.deliver_due()  # not due yet: nothing happens
    assert (stats.sent, stats.failed) == (0, 0) and len(receiver.records) == 1

    w.clock.advance(31)
    stats = await w.outbox.deliver_due()
    assert (stats.sent, stats.failed, stats.dead) == (1, 0, 0)

    first, second = receiver.records
    assert first.answered == 500 and second.answered == 200
    assert first.webhook_id == second.webhook_id == "evt_e2e000000000000000001"
    assert first.verified and second.verified, (first.error, second.error)
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 31
    body = json.loads(second.body)
    assert body == {"type": "commitment.stage", "timestamp": w.clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "data": w.payload}
    assert "wetwacht" in second.headers["user-agent"]

    row = delivery(w.engine, w.delivery_id)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == ("sent", 2, w.clock(), None)
    ep = endpoint(w.engine, EP)
    assert ep.last_success_at == w.clock() and ep.consecutive_failures == 0

    # The secret never shows: not in any log line, not in the row's repr, not in `webhook list`.
    assert w.secret not in caplog.text and "whsec_" not in caplog.text
    assert w.secret not in repr(ep) and "whsec_" not in repr(ep)
    assert "whsec_" not in repr(w.channel)
    out = io.StringIO()
    webhook_list(w.engine, False, out, io.StringIO(), w.clock())
    assert w.secret not in out.getvalue()


async def test_429_retry_after_is_honoured(tmp_path: Path, receiver: Receiver, client: httpx.AsyncClient) -> None:
    w = World(tmp_path, receiver, client)
    receiver.fail_next(1, "429", retry_after="120")
    stats = await w.outbox.deliver_due()
    assert stats.failed == 1
    row = delivery(w.engine, w.delivery_id)
    assert row.next_attempt_at == w.clock() + dt.timedelta(seconds=120)
    w.clock.advance(60)
    assert (await w.outbox.deliver_due()).sent == 0  # still asked to wait
    w.clock.advance(61)
    assert (await w.outbox.deliver_due()).sent == 1
    assert [r.answered for r in receiver.records] == [429, 200]


async def test_redirect_is_not_followed(tmp_path: Path, receiver: Receiver, client: httpx.AsyncClient) -> None:
    w = World(tmp_path, receiver, client)
    receiver.fail_next(1, "302", location=receiver.url("/elsewhere"))
    stats = await w.outbox.deliver_due()
    assert stats.failed == 1
    assert [r.path for r in receiver.records] == ["/ngo"]  # the Location was never requested
    row = delivery(w.engine, w.delivery_id)
    assert row.last_error is not None and "redirect" in row.last_error and "not followed" in row.last_error


async def test_a_hanging_receiver_times_out_and_is_retried(tmp_path: Path, receiver: Receiver,
                                                           client: httpx.AsyncClient) -> None:
    # The one real wait in this suite: the channel's total timeout (0.2 s here, 15 s in production).
    w = World(tmp_path, receiver, client, total_timeout=0.2)
    receiver.fail_next(1, "hang")
    stats = await w.outbox.deliver_due()
    assert stats.failed == 1
    row = delivery(w.engine, w.delivery_id)
    assert row.last_error is not None and "no answer from 127.0.0.1 within 0.2 s" in row.last_error
    receiver.release()
    w.clock.advance(10)
    assert (await w.outbox.deliver_due()).sent == 1
    assert receiver.records[-1].verified and receiver.records[-1].webhook_id == "evt_e2e000000000000000001"


async def test_dead_after_24_hours_and_visible_in_list(tmp_path: Path, receiver: Receiver,
                                                       client: httpx.AsyncClient) -> None:
    w = World(tmp_path, receiver, client)
    receiver.fail_next(100, "500")
    assert (await w.outbox.deliver_due()).failed == 1
    # 23 h 59 min after the first try it is still retried ...
    w.clock.advance(23 * 3600 + 59 * 60)
    assert (await w.outbox.deliver_due()).failed == 1
    assert delivery(w.engine, w.delivery_id).status == "pending"
    # ... and the first failure after 24 h makes it dead.
    w.clock.advance(2 * 3600)
    assert (await w.outbox.deliver_due()).dead == 1
    assert delivery(w.engine, w.delivery_id).status == "dead"
    out = io.StringIO()
    webhook_list(w.engine, False, out, io.StringIO(), w.clock())
    assert "0 pending, 1 dead" in out.getvalue() and "3 consecutive failures" in out.getvalue()


async def test_410_gone_is_dead_at_once(tmp_path: Path, receiver: Receiver, client: httpx.AsyncClient) -> None:
    w = World(tmp_path, receiver, client)
    receiver.fail_next(1, "410")
    assert (await w.outbox.deliver_due()).dead == 1
    row = delivery(w.engine, w.delivery_id)
    assert row.status == "dead" and row.last_error is not None and "410 Gone" in row.last_error
    assert endpoint(w.engine, EP).active  # the endpoint stays; its owner or the operator removes it


async def test_removed_endpoint_is_dead_without_a_request(tmp_path: Path, receiver: Receiver,
                                                          client: httpx.AsyncClient) -> None:
    w = World(tmp_path, receiver, client)
    with session_scope(w.engine) as s:
        ep = s.get(EndpointRow, EP)
        assert ep is not None
        ep.active = False
        s.add(ep)
    assert (await w.outbox.deliver_due()).dead == 1
    assert receiver.records == []
