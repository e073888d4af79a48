"""`wetwacht run` as real processes: clean shutdown on SIGTERM, crash safety under SIGKILL in the middle of a
poll and of a delivery, and two replicas sharing one PostgreSQL database — against a local upstream (SyncFeed
and SRU) and a local webhook receiver that verifies every signature with the `standardwebhooks` package.

The tests wait for conditions in the database or at the receivers with a deadline; they never wait a fixed time.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.cli import main
from storage.db import make_engine, session_scope
from storage.models import DeliveryRow, EventRow, SourceStateRow
from tests.fakes.botapi import FakeBotApi
from tests.fakes.receiver import Receiver
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.e2e

WPP = ("Regels betreffende de financiering van politieke partijen en transparantieregels met betrekking tot hun "
       "interne organisatie en financiën, evenals regels met betrekking tot het toezicht en het verbieden van "
       "politieke partijen (Wet op de politieke partijen)")
BILLS = [  # dossiers the catalog links from the start (real_dossiers.md)
    ("36742", WPP),
    ("36892", "Wijziging van de Gemeentewet en enige andere wetten ter bevordering van de integriteit en het "
              "functioneren van het decentraal bestuur (Wet bevorderen integriteit en functioneren decentraal "
              "bestuur tweede tranche)"),
    ("36468", "Verklaring dat er grond bestaat een voorstel in overweging te nemen tot verandering in de Grondwet, "
              "strekkende tot invoering van een correctief bindend referendum"),
]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Check `condition` until it holds; fail naming `what` after `timeout` seconds."""
    pause = threading.Event()
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=timeout)
    while not condition():
        if dt.datetime.now(dt.UTC) > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        pause.wait(0.1)


@dataclass
class Stack:
    """The local world: upstream, receiver, database, environment, and the `wetwacht run` processes."""

    tmp: Path
    up: FakeUpstream
    receiver: Receiver
    db_url: str
    env: dict[str, str] = field(default_factory=dict)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    endpoint: str = ""

    def cli(self, *argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        old = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            code = main(list(argv), out=out, err=err)
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return code, out.getvalue(), err.getvalue()

    def start(self, name: str) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"{name}.log").open("ab")
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=self.tmp, env=self.env,
                                stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def events(self) -> list[EventRow]:
        engine = make_engine(self.db_url)
        try:
            with session_scope(engine) as session:
                return list(session.exec(select(EventRow).order_by(col(EventRow.detected_at))))
        finally:
            engine.dispose()

    def deliveries(self) -> list[DeliveryRow]:
        engine = make_engine(self.db_url)
        try:
            with session_scope(engine) as session:
                return list(session.exec(select(DeliveryRow)))
        finally:
            engine.dispose()

    def installed(self) -> bool:
        engine = make_engine(self.db_url)
        try:
            with session_scope(engine) as session:
                states = list(session.exec(select(SourceStateRow)))
            return len(states) == 4 and all(s.first_poll_done for s in states)
        except Exception:  # the first process is still creating the schema
            return False
        finally:
            engine.dispose()

    def received(self) -> dict[str, int]:
        """Verified, successfully answered webhook receipts per webhook-id."""
        counts: dict[str, int] = {}
        for r in list(self.receiver.records):
            if r.verified and r.answered == 200 and r.webhook_id:
                counts[r.webhook_id] = counts.get(r.webhook_id, 0) + 1
        return counts

    def publish_bill(self, dossier: str, title: str, nr: str, soort: str) -> None:
        """A Kamerstuk in both sources, as the Tweede Kamer and KOOP publish it."""
        guid = self.up.add_dossier(dossier, title)
        self.up.add_document(f"2026D{dossier}{nr}", soort=soort, titel=title, volgnummer=int(nr), dossier=guid,
                             externe_identifier=f"kst-{dossier}-{nr}")
        self.up.add_kamerstuk(dossier, nr, dossiertitel=title, soort=soort, modified=dt.date.today())


def _stack(tmp_path: Path, db_url: str) -> Iterator[Stack]:
    up = FakeUpstream(page_size=50, hang_seconds=3.0)
    receiver = Receiver(hang_seconds=60.0)
    with up, receiver.running():
        up.now = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
        up.add_dossier("36000", "Oude geschiedenis")  # something to be backlog
        env = {k: v for k, v in os.environ.items() if not k.startswith("WETWACHT_")}
        env.update({
            "WETWACHT_DATABASE_URL": db_url, "WETWACHT_TK_FEED_URL": up.feed_url, "WETWACHT_SRU_URL": up.sru_url,
            "WETWACHT_EK_URL": up.ek_url, "WETWACHT_CONSULTATIE_URL": up.consultatie_url,
            "WETWACHT_POLL_SECONDS": "1", "WETWACHT_START": "now", "WETWACHT_PAGE_PAUSE_SECONDS": "0",
            "WETWACHT_ALLOW_PRIVATE_WEBHOOKS": "true", "WETWACHT_DELIVERY_LEASE_SECONDS": "2",
        })
        stack = Stack(tmp=tmp_path, up=up, receiver=receiver, db_url=db_url, env=env)
        code, out, err = stack.cli("webhook", "add", receiver.url("/ngo"))
        assert code == 0, err
        fields = dict(line.split(": ", 1) for line in out.strip().splitlines())
        receiver.add("/ngo", fields["secret"])
        stack.endpoint = fields["id"]
        try:
            yield stack
        finally:
            for proc in stack.procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    yield from _stack(tmp_path, f"sqlite:///{tmp_path / 'run.db'}")


def _stop(proc: subprocess.Popen[bytes], sig: int) -> int:
    proc.send_signal(sig)
    return proc.wait(timeout=10)


def test_sigterm_stops_within_10_seconds_with_cursors_committed(stack: Stack) -> None:
    proc = stack.start("a")
    wait_until(stack.installed, "the installation poll of both sources")
    assert _stop(proc, signal.SIGTERM) == 0
    log = stack.log("a")
    assert "stopped" in log and "Traceback" not in log
    assert "WETWACHT_TELEGRAM_TOKEN" in log  # no token: said once, and it carried on
    assert log.count("WETWACHT_TELEGRAM_TOKEN") == 1


def test_run_with_a_token_serves_the_bot_and_alerts_followers_once(stack: Stack) -> None:
    """`wetwacht run` with WETWACHT_TELEGRAM_TOKEN: the bot answers commands, a follower gets the alert once (and
    the NGO its webhook), SIGTERM stops it cleanly, and the token appears nowhere in the log."""
    journalist = 4242
    with FakeBotApi().running() as tg:
        stack.env.update({"WETWACHT_TELEGRAM_TOKEN": tg.token, "WETWACHT_TELEGRAM_API_URL": tg.base_url,
                          "WETWACHT_MAINTAINERS": "77"})
        proc = stack.start("a")
        wait_until(stack.installed, "the installation poll")
        assert tg.wait_for(lambda t: t.waiting_polls() > 0 and bool(t.commands), 30), "the bot's long poll"
        tg.user_message(journalist, journalist, "/start")
        tg.user_message(journalist, journalist, "/volg wet-politieke-partijen")
        assert tg.wait_for(lambda t: any("wet-politieke-partijen" in m.plain for m in t.messages(journalist)), 30)

        stack.up.now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
        dossier, title = BILLS[0]
        stack.publish_bill(dossier, title, "3", "Memorie van toelichting")
        assert tg.wait_for(lambda t: any("Nieuwe fase" in m.plain for m in t.messages(journalist)), 30), \
            "the alert in Telegram"
        wait_until(lambda: len(stack.received()) == 1, "the webhook at the receiver")
        wait_until(lambda: all(d.status == "sent" for d in stack.deliveries()), "every delivery marked sent")
        assert _stop(proc, signal.SIGTERM) == 0

        alerts = [m for m in tg.messages(journalist) if "Nieuwe fase" in m.plain]
        assert len(alerts) == 1 and "Wet op de politieke partijen" in alerts[0].plain
        assert {d.channel for d in stack.deliveries()} == {"telegram", "webhook"}
        log = stack.log("a")
        assert "stopped" in log and "Traceback" not in log
        assert "WETWACHT_TELEGRAM_TOKEN is not set" not in log
        assert tg.token not in log and tg.token.split(":", 1)[1] not in log


def test_sigkill_mid_poll_and_mid_delivery_loses_nothing_and_sends_nothing_twice(stack: Stack) -> None:
    up, receiver = stack.up, stack.receiver
    a = stack.start("a")
    wait_until(stack.installed, "the installation poll")
    up.now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)

    # 1. Killed in the middle of a poll: the feed holds its answer while the process waits for it.
    up.fail_next(1, "hang", on="feed")
    dossier, title = BILLS[0]
    stack.publish_bill(dossier, title, "3", "Memorie van toelichting")
    wait_until(lambda: any(s.fault == "hang" for s in up.requests), "a poll hanging on the feed")
    a.kill()
    a.wait(timeout=10)

    b = stack.start("b")
    wait_until(lambda: len(stack.received()) == 1, "the memorie's event at the receiver")
    wait_until(lambda: {d["source"] for e in stack.events() for d in e.payload["documents"]} == {"tk", "ob"},
               "the Tweede Kamer's copy of the memorie after the restart")
    [first] = stack.events()
    assert first.stage == "ingediend"

    # 2. Killed in the middle of a delivery: the receiver holds the answer to the next webhook.
    receiver.fail_next(1, "hang")
    stack.publish_bill(dossier, title, "7", "Verslag")
    wait_until(lambda: any(r.answered == 0 for r in receiver.records), "a webhook in flight")
    b.kill()
    b.wait(timeout=10)
    receiver.release()

    c = stack.start("c")
    wait_until(lambda: len(stack.received()) == 2, "the verslag's event after the restart")
    events = stack.events()
    assert [e.type for e in events] == ["commitment.stage", "commitment.document"]
    received = stack.received()
    assert set(received) == {e.id for e in events}
    # Only the webhook that was in flight at the kill may come twice, with the same webhook-id.
    in_flight = next(r.webhook_id for r in receiver.records if r.answered == 0)
    assert all(n == 1 for wid, n in received.items() if wid != in_flight)
    # The receiver answering is not the sender recording it: on a busy machine the commit of "sent" comes a
    # moment after the 200. Wait for the outbox's own record rather than assume it is there.
    wait_until(lambda: [d.status for d in stack.deliveries() if d.channel == "webhook"] == ["sent", "sent"],
               "both webhook deliveries recorded as sent")
    assert _stop(c, signal.SIGTERM) == 0


@pytest.mark.postgres
def test_two_replicas_on_postgresql_share_the_work_and_deliver_once(tmp_path: Path, postgres_url: str) -> None:
    gen = _stack(tmp_path, postgres_url)
    stack = next(gen)
    try:
        # a second endpoint, so that each event has several recipients
        code, out, err = stack.cli("webhook", "add", stack.receiver.url("/watchdog"))
        assert code == 0, err
        stack.receiver.add("/watchdog", dict(line.split(": ", 1) for line in out.strip().splitlines())["secret"])
        a = stack.start("a")
        wait_until(stack.installed, "the installation poll")
        b = stack.start("b")
        wait_until(lambda: "poll tk ok=True" in stack.log("b"), "the second replica's first poll")
        stack.up.now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
        for dossier, title in BILLS:
            stack.publish_bill(dossier, title, "3", "Memorie van toelichting")
            stack.publish_bill(dossier, title, "4", "Advies Afdeling advisering Raad van State en Nader rapport")
        wait_until(lambda: len(stack.received()) == len(BILLS), "the submissions at the receiver")
        for dossier, title in BILLS:
            stack.publish_bill(dossier, title, "6", "Verslag")
        expected = 2 * len(BILLS)  # one submission event and one document event per bill
        wait_until(lambda: len(stack.received()) == expected
                   and sum(stack.received().values()) == 2 * expected, "every event at both endpoints")
        events = stack.events()
        assert len(events) == expected
        per_path: dict[tuple[str, str], int] = {}
        for r in stack.receiver.records:
            if r.verified and r.webhook_id:
                per_path[(r.path, r.webhook_id)] = per_path.get((r.path, r.webhook_id), 0) + 1
        assert sorted(per_path.values()) == [1] * (2 * expected)  # exactly once per endpoint and event
        assert _stop(a, signal.SIGTERM) == 0 and _stop(b, signal.SIGTERM) == 0
        polled = [name for name in ("a", "b") if "poll tk ok=True" in stack.log(name)]
        assert polled == ["a", "b"]  # both replicas polled (one at a time: the advisory lock)
        senders = {d.claimed_by for d in stack.deliveries() if d.status == "sent"}
        assert len(senders) >= 1 and None not in senders
    finally:
        gen.close()
