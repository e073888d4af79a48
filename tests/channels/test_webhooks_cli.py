"""`wetwacht webhook add|list|remove|replay`, through the argparse wiring (`register` + `dispatch`)."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
import respx
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from standardwebhooks.webhooks import Webhook

from bot.channels.webhook import UnresolvableHost, WebhookChannel, new_secret
from bot.cliargs import register_webhook as register
from bot.config import Settings
from bot.delivery import Outbox
from bot.webhooks_cli import dispatch, webhook_list
from storage.db import session_scope
from storage.models import DeliveryRow, EndpointRow
from tests.channels import SLUGS, FakeClock, add_delivery, add_endpoint, add_event, database, delivery, endpoint

TABLE = {"hooks.example.org": ["93.184.215.14"], "internal.example.org": ["10.0.0.5"]}


async def resolver(host: str, port: int) -> Sequence[str]:
    if host not in TABLE:
        raise UnresolvableHost(f"host {host!r} does not resolve: [Errno -2] Name or service not known")
    return TABLE[host]


class Run:
    """Parse and run one `webhook …` command line; keeps what it printed."""

    def __init__(self, engine: Engine, now: dt.datetime) -> None:
        self.engine = engine
        self.now = now
        parser = argparse.ArgumentParser(prog="wetwacht")
        register(parser.add_subparsers(dest="command", required=True))
        self.parser = parser

    def __call__(self, *argv: str, allow_private: bool = False) -> tuple[int, str, str]:
        args = self.parser.parse_args(["webhook", *argv])
        out, err = io.StringIO(), io.StringIO()
        settings = Settings(allow_private_webhooks=allow_private)
        code = dispatch(args, self.engine, SLUGS, settings, out, err, self.now, resolver=resolver)
        return code, out.getvalue(), err.getvalue()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def engine(tmp_path: Path, clock: FakeClock) -> Engine:
    return database(tmp_path, clock())


@pytest.fixture
def run(engine: Engine, clock: FakeClock) -> Run:
    return Run(engine, clock())


def endpoints(engine: Engine) -> list[EndpointRow]:
    with session_scope(engine) as s:
        return list(s.exec(select(EndpointRow)).all())


# ------------------------------------------------------------------------------------------- add


def test_add_prints_id_and_secret_and_stores_them(run: Run, engine: Engine, clock: FakeClock,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    code, out, err = run("add", "https://hooks.example.org/wetwacht", "--commitment", "lobbyregister",
                         "--commitment", "wijziging-woo", "--commitment", "lobbyregister")
    assert code == 0
    match = re.fullmatch(r"id: (ep_[0-9a-f]{16})\nsecret: (whsec_[A-Za-z0-9+/=]+)\n", out)
    assert match, out
    [row] = endpoints(engine)
    assert row.id == match[1] and row.secret == match[2]
    assert row.url == "https://hooks.example.org/wetwacht"
    assert row.commitments == ["lobbyregister", "wijziging-woo"]
    assert row.active and row.created_at == clock()
    assert "not shown again" in err and match[2] not in err
    Webhook(row.secret)  # a secret the Standard Webhooks library accepts
    assert row.secret not in caplog.text and "whsec_" not in repr(row)


def test_add_without_commitments_means_all(run: Run, engine: Engine) -> None:
    code, _out, err = run("add", "https://hooks.example.org/all")
    assert code == 0 and "every commitment" in err
    assert endpoints(engine)[0].commitments == []


def test_add_unknown_slug_suggests_the_nearest(run: Run, engine: Engine) -> None:
    code, out, err = run("add", "https://hooks.example.org/x", "--commitment", "lobyregister")
    assert code == 2 and out == ""
    assert "unknown commitment slug 'lobyregister'; did you mean lobbyregister?" in err
    assert endpoints(engine) == []


@pytest.mark.parametrize(("url", "says"), [
    pytest.param("http://internal.example.org/hook", "(resolves to 10.0.0.5): a private address", id="private-name"),
    pytest.param("http://127.0.0.1:9000/hook", "loopback", id="loopback-literal"),
    pytest.param("ftp://hooks.example.org/x", "http:// or https://", id="ftp"),
    pytest.param("https:///nohost", "no host", id="no-host"),
    pytest.param("https://nowhere.example.org/hook", "does not resolve", id="unresolvable"),
])
def test_add_refuses_bad_targets(run: Run, engine: Engine, url: str, says: str) -> None:
    code, out, err = run("add", url)
    assert code == 2 and out == ""
    assert says in err
    assert endpoints(engine) == []


def test_add_private_with_allow_private(run: Run, engine: Engine) -> None:
    code, out, _err = run("add", "http://internal.example.org/hook", allow_private=True)
    assert code == 0 and out.startswith("id: ep_")
    code, _out, err = run("add", "https://nowhere.example.org/hook", allow_private=True)
    assert code == 2 and "does not resolve" in err  # allowing private targets does not allow typos


# ------------------------------------------------------------------------------------------- list


def test_list_shows_health_and_never_the_secret(run: Run, engine: Engine, clock: FakeClock) -> None:
    now = clock()
    secret = new_secret()
    add_endpoint(engine, "ep_aaaaaaaaaaaaaaaa", "https://hooks.example.org/a", secret, now, ["lobbyregister"])
    add_endpoint(engine, "ep_bbbbbbbbbbbbbbbb", "https://hooks.example.org/b", new_secret(), now)
    for i in range(4):
        add_event(engine, f"evt_{i}", now)
    add_delivery(engine, "evt_0", "ep_aaaaaaaaaaaaaaaa", now, status="pending")
    add_delivery(engine, "evt_1", "ep_aaaaaaaaaaaaaaaa", now, status="pending")
    add_delivery(engine, "evt_2", "ep_aaaaaaaaaaaaaaaa", now, status="dead")
    add_delivery(engine, "evt_3", "ep_aaaaaaaaaaaaaaaa", now, status="sent")
    add_delivery(engine, "evt_3", "ep_bbbbbbbbbbbbbbbb", now, status="sent")
    with session_scope(engine) as s:
        ep = s.get(EndpointRow, "ep_aaaaaaaaaaaaaaaa")
        assert ep is not None
        ep.consecutive_failures, ep.last_error, ep.last_failure_at = 3, "HTTP 500 from hooks.example.org", now
        ep.last_success_at = now - dt.timedelta(hours=2)
        s.add(ep)

    code, out, err = run("list")
    assert code == 0
    a, b = out.split("ep_bbbbbbbbbbbbbbbb")
    assert "ep_aaaaaaaaaaaaaaaa  active  https://hooks.example.org/a" in a
    assert "commitments: lobbyregister" in a
    assert "3 consecutive failures" in a and "2 pending, 1 dead" in a
    assert "HTTP 500 from hooks.example.org" in a
    assert "last success never" not in a
    assert "commitments: all" in b and "0 pending, 0 dead" in b and "last success never" in b
    assert "2 endpoints, 2 active, 1 failing" in err
    assert "whsec_" not in out + err

    code, out, _ = run("list", "--json")
    items = json.loads(out)
    assert [i["id"] for i in items] == ["ep_aaaaaaaaaaaaaaaa", "ep_bbbbbbbbbbbbbbbb"]
    assert items[0] | {"created": None, "last_success": None, "last_failure": None} == {
        "id": "ep_aaaaaaaaaaaaaaaa", "url": "https://hooks.example.org/a", "commitments": ["lobbyregister"],
        "active": True, "created": None, "last_success": None, "last_failure": None, "consecutive_failures": 3,
        "last_error": "HTTP 500 from hooks.example.org", "pending": 2, "dead": 1}
    assert "whsec_" not in out and "secret" not in out


def test_list_when_empty(run: Run) -> None:
    code, out, _ = run("list")
    assert code == 0 and "no webhook endpoints" in out


# ------------------------------------------------------------------------------------------- remove


def test_remove_deactivates_and_skips_pending_keeping_history(run: Run, engine: Engine, clock: FakeClock) -> None:
    now = clock()
    add_endpoint(engine, "ep_aaaaaaaaaaaaaaaa", "https://hooks.example.org/a", new_secret(), now)
    for i in range(3):
        add_event(engine, f"evt_{i}", now)
    pending = add_delivery(engine, "evt_0", "ep_aaaaaaaaaaaaaaaa", now, status="pending")
    sent = add_delivery(engine, "evt_1", "ep_aaaaaaaaaaaaaaaa", now, status="sent")
    dead = add_delivery(engine, "evt_2", "ep_aaaaaaaaaaaaaaaa", now, status="dead")

    code, out, _ = run("remove", "ep_aaaaaaaaaaaaaaaa")
    assert code == 0 and "removed ep_aaaaaaaaaaaaaaaa; 1 pending deliveries skipped" in out
    assert endpoint(engine, "ep_aaaaaaaaaaaaaaaa").active is False
    assert [delivery(engine, i).status for i in (pending, sent, dead)] == ["skipped", "sent", "dead"]
    _, out, _ = run("list")
    assert "ep_aaaaaaaaaaaaaaaa  removed" in out
    code, out, _ = run("remove", "ep_aaaaaaaaaaaaaaaa")
    assert code == 0 and "already removed" in out


def test_remove_unknown_id(run: Run, engine: Engine, clock: FakeClock) -> None:
    add_endpoint(engine, "ep_aaaaaaaaaaaaaaaa", "https://hooks.example.org/a", new_secret(), clock())
    code, out, err = run("remove", "ep_aaaaaaaaaaaaaaab")
    assert code == 1 and out == ""
    assert "no webhook endpoint with id 'ep_aaaaaaaaaaaaaaab'; did you mean ep_aaaaaaaaaaaaaaaa?" in err


# ------------------------------------------------------------------------------------------- replay


@respx.mock
async def test_replay_requeues_with_the_same_event_id(engine: Engine, clock: FakeClock) -> None:
    now = clock()
    secret = new_secret()
    registered = now - dt.timedelta(days=2)
    add_endpoint(engine, "ep_aaaaaaaaaaaaaaaa", "https://hooks.example.org/a", secret, registered,
                 ["lobbyregister", "wijziging-woo"])
    day = dt.timedelta(days=1)
    add_event(engine, "evt_old", now - 10 * day)                       # before --since
    add_event(engine, "evt_sent", now - 4 * day)                       # delivered before: sent again
    add_event(engine, "evt_dead", now - 3 * day, slug="wijziging-woo")  # died: sent again
    add_event(engine, "evt_new", now - 5 * day)                        # before registration: never queued
    add_event(engine, "evt_other", now - 3 * day, slug="nieuw-kiesstelsel")  # not in the filter
    add_event(engine, "evt_doubt", now - 3 * day, status="pending")   # not published
    long_ago = now - 4 * day
    sent = add_delivery(engine, "evt_sent", "ep_aaaaaaaaaaaaaaaa", long_ago, status="sent", attempts=1)
    dead = add_delivery(engine, "evt_dead", "ep_aaaaaaaaaaaaaaaa", long_ago, status="dead", attempts=40)

    since = (now - 6 * day).date().isoformat()
    code, out, err = Run(engine, now)("replay", "ep_aaaaaaaaaaaaaaaa", "--since", since)
    assert code == 0, err
    assert "replay: 3 events queued for ep_aaaaaaaaaaaaaaaa (1 new, 2 again)" in out

    with session_scope(engine) as s:
        rows = {r.event_id: r for r in s.exec(select(DeliveryRow).where(DeliveryRow.recipient == "ep_aaaaaaaaaaaaaaaa"))}
    assert set(rows) == {"evt_sent", "evt_dead", "evt_new"}
    for r in rows.values():
        assert (r.status, r.attempts, r.next_attempt_at, r.created_at, r.sent_at) == ("pending", 0, now, now, None)
    assert rows["evt_sent"].id == sent and rows["evt_dead"].id == dead  # the same rows, reset

    route = respx.post("https://hooks.example.org/a").mock(return_value=httpx.Response(200))
    async with httpx.AsyncClient() as client:
        channel = WebhookChannel(client, engine, allow_private=False, resolver=resolver, clock=clock)
        stats = await Outbox(engine, {"webhook": channel}, clock=clock).deliver_due()
    assert stats.sent == 3
    ids = sorted(c.request.headers["webhook-id"] for c in route.calls)
    assert ids == ["evt_dead", "evt_new", "evt_sent"]  # the webhook-id is the event id, as the first time
    for c in route.calls:
        Webhook(secret).verify(c.request.content, dict(c.request.headers))


def test_replay_unknown_or_removed(run: Run, engine: Engine, clock: FakeClock) -> None:
    code, _, err = run("replay", "ep_nope", "--since", "2026-01-01")
    assert code == 1 and "no webhook endpoint with id 'ep_nope'" in err
    add_endpoint(engine, "ep_aaaaaaaaaaaaaaaa", "https://hooks.example.org/a", new_secret(), clock(), active=False)
    code, _, err = run("replay", "ep_aaaaaaaaaaaaaaaa", "--since", "2026-01-01")
    assert code == 1 and "was removed" in err


def test_replay_needs_since(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run("replay", "ep_aaaaaaaaaaaaaaaa")
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        run("replay", "ep_aaaaaaaaaaaaaaaa", "--since", "last tuesday")
    assert "'last tuesday' is not an ISO date" in capsys.readouterr().err


def test_replay_since_date_time_with_zone(run: Run, engine: Engine, clock: FakeClock) -> None:
    now = clock()
    add_endpoint(engine, "ep_aaaaaaaaaaaaaaaa", "https://hooks.example.org/a", new_secret(), now)
    add_event(engine, "evt_a", dt.datetime(2027, 3, 2, 10, 0, tzinfo=dt.UTC))
    add_event(engine, "evt_b", dt.datetime(2027, 3, 2, 12, 0, tzinfo=dt.UTC))
    code, out, _ = run("replay", "ep_aaaaaaaaaaaaaaaa", "--since", "2027-03-02T12:30:00+02:00")
    assert code == 0 and "1 events queued" in out
    with session_scope(engine) as s:
        assert [r.event_id for r in s.exec(select(DeliveryRow).order_by(col(DeliveryRow.id)))] == ["evt_b"]


def test_list_function_directly(engine: Engine, clock: FakeClock) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert webhook_list(engine, False, out, err, clock()) == 0
