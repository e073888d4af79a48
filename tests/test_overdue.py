"""The overdue check on both backends: one `commitment.overdue` event when a promise's deadline passes unkept
while wetwacht runs, never repeated, nothing for deadlines already past at installation (however late the
check runs after it), nothing for kept or open-ended promises, and Dutch calendar days."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlmodel import select

from bot.overdue import check_overdue
from bot.pipeline import Pipeline, queue_deliveries
from matchers.catalog import Catalog, Commitment, Kind, Promise
from matchers.deadlines import parse_deadline
from matchers.stages import Stage
from storage.catalog_repo import commitment_views, sync_catalog
from storage.db import make_engine, migrate, session_scope
from storage.models import ChatRow, DeliveryRow, EndpointRow, EventRow, PromiseRow, SubscriptionRow
from tests.test_pipeline import ScriptedSource, kst

LETTER = dt.date(2026, 4, 1)
INSTALLED = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def _commitment(slug: str, timing: str, *, dossiers: tuple[str, ...] = ()) -> Commitment:
    title = f"Wet {slug}"
    return Commitment(
        slug=slug, title=title, kind=Kind.WETSVOORSTEL, ministry="BZK", aliases=(title,), dossiers=dossiers,
        origin="000_x.yaml",
        promises=(Promise(letter="000_x.txt", letter_date=LETTER, line=40, quote=f"{title}: {timing}",
                          stage=Stage.INGEDIEND, deadline=parse_deadline(timing, LETTER)),),
    )


def _catalog() -> Catalog:
    items = [
        _commitment("vroeg", "Q2 2026"),  # already past at installation
        _commitment("laat", "Q4 2026"),  # passes while wetwacht runs
        _commitment("open", "Q2 2027 en later"),  # an earliest date: never overdue
        _commitment("gehouden", "Q1 2027", dossiers=("37001",)),  # kept before its deadline
    ]
    return Catalog(commitments={c.slug: c for c in items})


@pytest.fixture
def world(db_url: str) -> Any:
    engine = make_engine(db_url)
    migrate(engine)
    with session_scope(engine) as session:
        sync_catalog(session, _catalog(), INSTALLED)
        session.add(ChatRow(chat_id=2001, created_at=INSTALLED))
        session.add(SubscriptionRow(chat_id=2001, target="all", created_at=INSTALLED))
        session.add(EndpointRow(id="ep_watch", url="https://ngo.example/hook", secret="whsec_x",
                                created_at=INSTALLED))
    clock = {"now": INSTALLED}
    pipe = Pipeline(engine, _catalog(), start="now", clock=lambda: clock["now"])
    yield engine, pipe, clock
    engine.dispose()


def _overdue_events(engine: Any) -> list[EventRow]:
    with session_scope(engine) as session:
        return list(session.exec(select(EventRow).where(EventRow.type == "commitment.overdue")))


def _notified(engine: Any) -> dict[str, bool]:
    with session_scope(engine) as session:
        return {p.slug: p.overdue_notified for p in session.exec(select(PromiseRow))}


async def test_nothing_is_decided_before_the_installation_poll(world: Any) -> None:
    engine, _, _ = world
    assert check_overdue(engine, INSTALLED, queue=queue_deliveries) == []
    assert not any(_notified(engine).values())  # not even marked: the installation day is not known yet


async def test_past_at_installation_is_flagged_without_an_alert_even_a_day_later(world: Any) -> None:
    """The service's check may first run long after the installation poll; a deadline that had passed before
    the installation is still no news then."""
    engine, pipe, clock = world
    await pipe.poll([ScriptedSource()])  # the installation poll
    clock["now"] = INSTALLED + dt.timedelta(days=1)
    assert check_overdue(engine, clock["now"], queue=queue_deliveries) == []
    assert _notified(engine)["vroeg"] is True and _overdue_events(engine) == []
    with session_scope(engine) as session:
        views = {v.slug: v for v in commitment_views(session, clock["now"].date())}
    assert views["vroeg"].overdue and not views["laat"].overdue  # the flag shows it all the same


async def test_a_deadline_passing_while_running_alerts_once(world: Any) -> None:
    engine, pipe, clock = world
    koop = ScriptedSource()
    await pipe.poll([koop])
    clock["now"] = dt.datetime(2026, 12, 20, 10, 0, tzinfo=dt.UTC)
    koop.publish(kst("37001", "3", "Memorie van toelichting", "Wet gehouden"))  # 'gehouden' is kept in time
    await pipe.poll([koop])

    # 31 December 23:30 in Amsterdam is still Q4 2026; 00:30 on 1 January is past it.
    assert check_overdue(engine, dt.datetime(2026, 12, 31, 22, 30, tzinfo=dt.UTC), queue=queue_deliveries) == []
    new_year = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    [eid] = check_overdue(engine, new_year, queue=queue_deliveries)
    [event] = _overdue_events(engine)
    assert event.id == eid and event.slug == "laat" and event.stage == "ingediend"
    payload = event.payload
    assert payload["type"] == "commitment.overdue" and payload["documents"] == []
    assert payload["promise"]["quote"] == "Wet laat: Q4 2026" and payload["promise"]["due"] == "2026-12-31"
    assert "1 dag(en) te laat" in payload["reason"]
    with session_scope(engine) as session:
        queued = {(d.channel, d.recipient) for d in session.exec(select(DeliveryRow).where(
            DeliveryRow.event_id == eid))}
    assert queued == {("telegram", "2001"), ("webhook", "ep_watch")}

    # Never repeated; the kept and the open-ended promise never come, however late it gets.
    assert check_overdue(engine, new_year + dt.timedelta(hours=1), queue=queue_deliveries) == []
    assert check_overdue(engine, dt.datetime(2028, 1, 1, tzinfo=dt.UTC), queue=queue_deliveries) == []
    assert [e.slug for e in _overdue_events(engine)] == ["laat"]
    assert _notified(engine)["open"] is False and _notified(engine)["gehouden"] is False
