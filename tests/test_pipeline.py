"""The pipeline on both backends: backlog, one event per real-world event, forward only, re-emissions,
retractions, the outbox, doubtful matches, and source health — with a scripted source so each test says
exactly what upstream published, and the real matcher."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import select

import bot.pipeline as pipeline_module
from bot.pipeline import Pipeline
from matchers.catalog import Catalog, Commitment, Kind, Promise
from matchers.deadlines import parse_deadline
from matchers.engine import Match
from matchers.stages import Stage
from sources.base import Document, Entity, Page, SourceError
from storage.catalog_repo import stages_reached, sync_catalog
from storage.db import make_engine, migrate, session_scope
from storage.models import (
    ChatRow,
    DeliveryRow,
    EndpointRow,
    EventRow,
    EvidenceRow,
    LinkRow,
    NoticeRow,
    SourceStateRow,
    SubscriptionRow,
    TkPendingRow,
)

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
LETTER = dt.date(2026, 4, 1)


def _catalog() -> Catalog:
    wpp = Commitment(
        slug="wet-politieke-partijen", title="Wet op de politieke partijen", kind=Kind.WETSVOORSTEL,
        ministry="BZK", aliases=("Wet op de politieke partijen",), exclude=("Wet financiering politieke partijen",),
        dossiers=("36742",), origin="000_x.yaml",
        promises=(Promise(letter="000_x.txt", letter_date=LETTER, line=12, quote="Wet op de politieke partijen",
                          stage=Stage.AANGENOMEN_EK, deadline=parse_deadline("eind 2026", LETTER)),),
    )
    lobby = Commitment(
        slug="lobbyregister", title="Wetsvoorstel lobbyregister", kind=Kind.WETSVOORSTEL, ministry="BZK",
        aliases=("Wet lobbyregister",), exclude=("lobbyverbod",), origin="000_x.yaml",
        promises=(Promise(letter="000_x.txt", letter_date=LETTER, line=225, quote="Wetsvoorstel lobbyregister",
                          stage=Stage.INGEDIEND, deadline=parse_deadline("Q2 2027 en later", LETTER)),),
    )
    return Catalog(commitments={wpp.slug: wpp, lobby.slug: lobby})


class ScriptedSource:
    """A source whose pages the test writes. The cursor is the number of pages read; `fail_after` makes
    the next run fail after that many pages (the pages before it are kept)."""

    def __init__(self, name: str = "ob") -> None:
        self.name = name
        self.pages_: list[tuple[Document, ...]] = []
        self.fail_after: int | None = None
        self.error = SourceError("503 Service Unavailable after 4 tries", url="https://repository.overheid.nl/sru")

    def publish(self, *docs: Document) -> None:
        self.pages_.append(tuple(docs))

    async def pages(self, cursor: str | None) -> AsyncIterator[Page]:
        start = int(cursor) if cursor else 0
        for n, docs in enumerate(self.pages_[start:], start=start + 1):
            if self.fail_after is not None and n > start + self.fail_after:
                raise self.error
            yield Page(cursor=str(n), documents=docs)
        if self.fail_after is not None:
            raise self.error
        yield Page(cursor=str(len(self.pages_)), caught_up=True, requests=1)


def kst(dossier: str, nr: str, kind: str, title: str, *, source: str = "ob", deleted: bool = False,
        chamber: str = "TK") -> Document:
    ident = f"kst-{dossier}-{nr}"
    if source == "ob":
        return Document(source="ob", id=ident, kind=kind, title=title, entity="Kamerstuk", kst=ident,
                        dossier=dossier, ondernummer=nr, chamber=chamber,  # type: ignore[arg-type]
                        date=dt.date(2026, 11, 20), url=f"https://zoek.officielebekendmakingen.nl/{ident}.html",
                        deleted=deleted)
    return Document(source="tk", id=f"2026D{dossier}{nr}", kind=kind, title=title, entity="Document", kst=ident,
                    dossier=dossier, ondernummer=nr, chamber="TK", date=dt.date(2026, 11, 20), deleted=deleted,
                    url=f"https://www.tweedekamer.nl/kamerstukken/detail?id=2026D{dossier}{nr}")


@pytest.fixture
def setup(db_url: str) -> Any:
    engine = make_engine(db_url)
    migrate(engine)
    catalog = _catalog()
    with session_scope(engine) as session:
        sync_catalog(session, catalog, T0)
        session.add(ChatRow(chat_id=1001, created_at=T0))
        session.add(SubscriptionRow(chat_id=1001, target="slug:wet-politieke-partijen", created_at=T0))
        session.add(ChatRow(chat_id=1002, created_at=T0, digest="daily"))
        session.add(SubscriptionRow(chat_id=1002, target="all", created_at=T0))
        session.add(ChatRow(chat_id=1003, created_at=T0, paused=True))
        session.add(SubscriptionRow(chat_id=1003, target="all", created_at=T0))
        session.add(EndpointRow(id="ep_ngo", url="https://ngo.example/hook", secret="whsec_x", created_at=T0))
    clock = {"now": T0}
    pipe = Pipeline(engine, catalog, start="now", clock=lambda: clock["now"], maintainers=[42], alert_after=2)
    yield engine, pipe, clock
    engine.dispose()


def _events(engine: Any) -> list[EventRow]:
    with session_scope(engine) as session:
        return list(session.exec(select(EventRow).order_by(EventRow.detected_at, EventRow.id)))


async def test_first_poll_under_start_now_is_backlog(setup: Any) -> None:
    engine, pipe, _clock = setup
    src = ScriptedSource()
    src.publish(kst("36742", "3", "Memorie van toelichting", "Regels over politieke partijen (Wet op de politieke partijen); Memorie van toelichting"))
    [result] = await pipe.poll([src])
    assert result.ok and result.documents == 1
    assert _events(engine) == []
    with session_scope(engine) as session:
        state = session.get(SourceStateRow, "ob")
        assert state is not None and state.first_poll_done and state.cursor == "1"


async def test_submission_is_one_event_joining_both_sources(setup: Any) -> None:
    engine, pipe, clock = setup
    src = ScriptedSource()
    await pipe.poll([src])  # installation: nothing yet
    clock["now"] = T0 + dt.timedelta(hours=1)
    title = "Regels over politieke partijen (Wet op de politieke partijen)"
    src.publish(kst("36742", "1", "Koninklijke boodschap", title), kst("36742", "2", "Voorstel van wet", title))
    src.publish(kst("36742", "3", "Memorie van toelichting", title), kst("36742", "3", "Memorie van toelichting",
                                                                          title, source="tk"))
    [result] = await pipe.poll([src])
    assert result.ok
    events = _events(engine)
    assert len(events) == 1, [e.payload for e in events]
    event = events[0]
    assert event.type == "commitment.stage" and event.stage == "ingediend" and event.slug == "wet-politieke-partijen"
    ids = sorted((d["source"], d["id"]) for d in event.payload["documents"])
    assert ids == [("ob", "kst-36742-1"), ("ob", "kst-36742-2"), ("ob", "kst-36742-3"), ("tk", "2026D367423")]
    assert "36742" in event.payload["reason"]
    with session_scope(engine) as session:
        assert stages_reached(session)["wet-politieke-partijen"] is Stage.INGEDIEND
        rows = {(d.channel, d.recipient, d.status) for d in session.exec(select(DeliveryRow))}
    # the follower gets it now, the digest chat collects it, the paused chat gets nothing, the NGO gets it
    assert rows == {("telegram", "1001", "pending"), ("telegram", "1002", "digest"), ("webhook", "ep_ngo", "pending")}


async def test_reemission_and_second_poll_make_nothing_new(setup: Any) -> None:
    engine, pipe, clock = setup
    src = ScriptedSource()
    await pipe.poll([src])
    mvt = kst("36742", "3", "Memorie van toelichting", "Wet op de politieke partijen; Memorie van toelichting")
    src.publish(mvt)
    await pipe.poll([src])
    before = [(e.id, e.payload) for e in _events(engine)]
    clock["now"] += dt.timedelta(hours=2)
    [quiet] = await pipe.poll([src])
    assert quiet.ok and quiet.documents == 0 and quiet.events == 0
    # a bulk correction re-emits the same document with a new modification time: still nothing
    src.publish(dataclasses.replace(mvt, modified=T0 + dt.timedelta(days=3)))
    [again] = await pipe.poll([src])
    assert again.documents == 0 and again.events == 0
    assert [(e.id, e.payload) for e in _events(engine)] == before


async def test_forward_only_later_documents_are_commitment_document(setup: Any) -> None:
    engine, pipe, clock = setup
    src = ScriptedSource()
    await pipe.poll([src])
    src.publish(kst("36742", "3", "Memorie van toelichting", "Wet op de politieke partijen; Memorie van toelichting"))
    await pipe.poll([src])
    clock["now"] += dt.timedelta(days=30)
    src.publish(kst("36742", "7", "Verslag", "Wet op de politieke partijen; Verslag"))
    await pipe.poll([src])
    events = _events(engine)
    assert [e.type for e in events] == ["commitment.stage", "commitment.document"]
    assert events[1].payload["stage"] == "ingediend"  # the commitment's stage at that moment
    with session_scope(engine) as session:
        assert stages_reached(session)["wet-politieke-partijen"] is Stage.INGEDIEND


async def test_deleted_document_retracts_its_event_and_cancels_unsent_alerts(setup: Any) -> None:
    engine, pipe, _clock = setup
    src = ScriptedSource()
    await pipe.poll([src])
    src.publish(kst("36742", "3", "Memorie van toelichting", "Wet op de politieke partijen"))
    await pipe.poll([src])
    with session_scope(engine) as session:  # the webhook was already sent; the Telegram alert was not
        for d in session.exec(select(DeliveryRow).where(DeliveryRow.channel == "webhook")):
            d.status = "sent"
            session.add(d)
    src.publish(kst("36742", "3", "Memorie van toelichting", "Wet op de politieke partijen", deleted=True))
    await pipe.poll([src])
    [event] = _events(engine)
    assert event.status == "retracted"
    with session_scope(engine) as session:
        statuses = {(d.channel, d.status) for d in session.exec(select(DeliveryRow))}
        assert "wet-politieke-partijen" not in stages_reached(session)
    assert ("webhook", "sent") in statuses and ("telegram", "pending") not in statuses
    # the withdrawn document coming back unchanged does not alert again
    src.publish(kst("36742", "3", "Memorie van toelichting", "Wet op de politieke partijen"))
    await pipe.poll([src])
    assert len(_events(engine)) == 1


async def test_text_match_on_an_opening_document_learns_the_dossier(setup: Any) -> None:
    engine, pipe, clock = setup
    src = ScriptedSource()
    await pipe.poll([src])
    src.publish(kst("37100", "2", "Voorstel van wet",
                    "Regels omtrent een openbaar register van lobbyactiviteiten (Wet lobbyregister); Voorstel van wet"))
    await pipe.poll([src])
    clock["now"] += dt.timedelta(days=40)
    src.publish(kst("37100", "5", "Verslag", "Verslag houdende een lijst van vragen en antwoorden"))
    await pipe.poll([src])
    with session_scope(engine) as session:
        link = session.exec(select(LinkRow).where(LinkRow.value == "37100")).one()
        assert link.slug == "lobbyregister" and link.origin == "learned" and "kst-37100-2" in (link.reason or "")
        via = {e.document_key: e.via for e in session.exec(select(EvidenceRow))}
    assert via["ob:kst-37100-5"] == "dossier"  # found by number, its title names nothing
    assert [e.type for e in _events(engine)] == ["commitment.stage", "commitment.document"]


async def test_doubtful_match_goes_to_maintainers_only(setup: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, pipe, _clock = setup

    def doubtful(doc: Document, *_args: Any) -> list[Match]:
        return [Match(slug="lobbyregister", stage=Stage.INGEDIEND, via="title", confident=False, score=78.0,
                      reason="title resembles alias 'Wet lobbyregister' (score 78)", learn_dossier=None)]

    src = ScriptedSource()
    await pipe.poll([src])
    monkeypatch.setattr(pipeline_module, "match_document", doubtful)
    src.publish(kst("37200", "3", "Memorie van toelichting", "Regels over lobbyen bij decentrale overheden"))
    await pipe.poll([src])
    [event] = _events(engine)
    assert event.status == "pending"
    with session_scope(engine) as session:
        rows = {(d.channel, d.recipient) for d in session.exec(select(DeliveryRow))}
        assert "lobbyregister" not in stages_reached(session)
    assert rows == {("review", "42")}


async def test_failing_source_keeps_its_cursor_and_tells_maintainers_once(setup: Any) -> None:
    engine, pipe, clock = setup
    src = ScriptedSource()
    await pipe.poll([src])
    src.publish(kst("36742", "3", "Memorie van toelichting", "Wet op de politieke partijen"))
    src.publish(kst("36742", "4", "Advies Afdeling advisering Raad van State en Nader rapport",
                    "Wet op de politieke partijen"))
    src.fail_after = 1  # the second page fails: the first is kept, the cursor stops after it
    [r1] = await pipe.poll([src])
    assert not r1.ok and r1.pages == 1 and "503" in (r1.error or "")
    src.fail_after = 0
    src.error = SourceError("connection refused", url="https://repository.overheid.nl/sru")
    for _ in range(3):
        clock["now"] += dt.timedelta(minutes=5)
        await pipe.poll([src])
    with session_scope(engine) as session:
        state = session.get(SourceStateRow, "ob")
        assert state is not None and state.cursor == "1" and state.consecutive_failures == 4
        notices = list(session.exec(select(NoticeRow)))
    assert [(n.kind, n.recipient) for n in notices] == [("source.failing", "42")]
    assert "ob" in notices[0].text and "connection refused" in notices[0].text
    src.fail_after = None
    clock["now"] += dt.timedelta(minutes=5)
    [healthy] = await pipe.poll([src])
    assert healthy.ok and healthy.documents == 1  # the missed page is caught up
    with session_scope(engine) as session:
        kinds = [n.kind for n in session.exec(select(NoticeRow).order_by(NoticeRow.id))]
        state = session.get(SourceStateRow, "ob")
        assert state is not None and state.cursor == "2" and state.consecutive_failures == 0
    assert kinds == ["source.failing", "source.recovered"]
    assert len(_events(engine)) == 1  # MvT and advice with it: one submission


class ScriptedFeed:
    """A SyncFeed-like source whose pages of raw entities the test writes."""

    name = "tk"

    def __init__(self) -> None:
        self.pages_: list[tuple[Entity, ...]] = []

    def publish(self, *entities: Entity) -> None:
        self.pages_.append(tuple(entities))

    async def pages(self, cursor: str | None) -> AsyncIterator[Page]:
        start = int(cursor) if cursor else 0
        for n, entities in enumerate(self.pages_[start:], start=start + 1):
            yield Page(cursor=str(n), entities=entities)
        yield Page(cursor=str(len(self.pages_)), caught_up=True, requests=1)


def _entity(category: str, guid: str, fields: dict[str, str], refs: dict[str, tuple[str, ...]]) -> Entity:
    return Entity(category=category, guid=guid, updated=T0, fields=fields, refs=refs, changed=T0)


async def test_new_document_waits_for_its_version_so_its_twin_joins_one_event(setup: Any) -> None:
    """The SyncFeed carries a Document and its DocumentVersie (with the kst id) in different categories, and a
    new dossier's entity may come after the document. Resolved before its version, the Kamerstuk would have
    no identity and its KOOP copy would make a second event for one real-world event."""
    engine, pipe, clock = setup
    feed, koop = ScriptedFeed(), ScriptedSource()
    await pipe.poll([feed, koop])
    clock["now"] = T0 + dt.timedelta(minutes=5)
    title = "Regels over het lobbyregister (Wet lobbyregister)"
    feed.publish(_entity("Document", "doc-1", {"documentNummer": "2026D50001", "soort": "Memorie van toelichting",
                                               "titel": title, "volgnummer": "3"},
                         {"huidigeDocumentVersie": ("ver-1",), "kamerstukdossier": ("dos-new",)}))
    await pipe.poll([feed])
    assert _events(engine) == []  # waiting for its version: no event without the Kamerstuk identity
    koop.publish(kst("37300", "3", "Memorie van toelichting", title))
    feed.publish(_entity("DocumentVersie", "ver-1", {"externeidentifier": "kst-37300-3", "versienummer": "1"},
                         {"document": ("doc-1",)}))
    await pipe.poll([koop, feed])
    [event] = _events(engine)
    assert event.stage == "ingediend"
    assert {(d["source"], d["kst"]) for d in event.payload["documents"]} == {("ob", "kst-37300-3"),
                                                                               ("tk", "kst-37300-3")}
    with session_scope(engine) as session:
        assert list(session.exec(select(TkPendingRow))) == []  # the version came: nothing left waiting


async def test_a_document_whose_version_never_comes_is_matched_after_the_grace(setup: Any) -> None:
    """Waiting for a DocumentVersie that never comes must not lose the document: after PENDING_GRACE it is
    matched as it is, once."""
    engine, pipe, clock = setup
    feed = ScriptedFeed()
    await pipe.poll([feed])
    clock["now"] = T0 + dt.timedelta(minutes=5)
    title = "Regels over het lobbyregister (Wet lobbyregister)"
    feed.publish(_entity("Document", "doc-2", {"documentNummer": "2026D50002", "soort": "Memorie van toelichting",
                                               "titel": title, "volgnummer": "3"},
                         {"huidigeDocumentVersie": ("ver-2",)}))
    await pipe.poll([feed])
    clock["now"] += pipeline_module.PENDING_GRACE - dt.timedelta(seconds=1)
    await pipe.poll([feed])
    assert _events(engine) == []  # still within the grace: its version may yet come
    clock["now"] += dt.timedelta(seconds=1)
    [result] = await pipe.poll([feed])
    assert result.ok and result.events == 1
    [event] = _events(engine)
    assert event.slug == "lobbyregister" and event.stage == "ingediend"
    assert [d["id"] for d in event.payload["documents"]] == ["2026D50002"]
    with session_scope(engine) as session:
        assert list(session.exec(select(TkPendingRow))) == []
    clock["now"] += dt.timedelta(minutes=5)
    await pipe.poll([feed])
    assert len(_events(engine)) == 1  # released once, not at every poll


async def test_backlog_documents_of_the_installation_poll_never_wait(setup: Any) -> None:
    """Under WETWACHT_START=now the installation poll is backlog: a document read then, version or not, is
    not held back to be released (and alerted) an hour later."""
    engine, pipe, clock = setup
    feed = ScriptedFeed()
    feed.publish(_entity("Document", "doc-3", {"documentNummer": "2026D50003", "soort": "Memorie van toelichting",
                                               "titel": "Regels over het lobbyregister (Wet lobbyregister)",
                                               "volgnummer": "3"}, {"huidigeDocumentVersie": ("ver-3",)}))
    await pipe.poll([feed])
    with session_scope(engine) as session:
        assert list(session.exec(select(TkPendingRow))) == []
    clock["now"] = T0 + 2 * pipeline_module.PENDING_GRACE
    await pipe.poll([feed])
    assert _events(engine) == []
