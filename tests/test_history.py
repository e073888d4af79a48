"""From the first day: what is new, what is old, and where each commitment already stands (issue 11).

Each test installs wetwacht (`WETWACHT_START=now`) against the fake upstream, which serves both upstream formats
for real on 127.0.0.1, with the real sources, the real catalog of 216 commitments and the real matcher, on both
database backends. The record before the installation is written with the dates it had: a dossier of May 2025,
a Staatsblad of 2026, Tweede Kamer entities last changed in 2025."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from bot.history import HistoryReader
from bot.pipeline import Pipeline, PollResult
from matchers.catalog import Catalog, load_catalog
from sources.base import FetchError
from sources.sru import SruSource
from sources.syncfeed import SyncFeedSource
from storage.catalog_repo import commitment_views, history, stages_reached, sync_catalog
from storage.catalog_repo import history_progress as progress
from storage.curation import link
from storage.db import make_engine, migrate, session_scope
from storage.models import (
    ChatRow,
    DeliveryRow,
    DocumentRow,
    EndpointRow,
    EventRow,
    EvidenceRow,
    HistoryTaskRow,
    LinkRow,
    NoticeRow,
    SubscriptionRow,
    TkEntityRow,
    TkWaitingRow,
)
from tests.fakes.upstream import FakeUpstream

INSTALL = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
WPP = ("Regels betreffende de financiering van politieke partijen en transparantieregels met betrekking tot hun "
       "interne organisatie en financiën, evenals regels met betrekking tot het toezicht en het verbieden van "
       "politieke partijen (Wet op de politieke partijen)")
ARCHIEF = "Intrekking van de Archiefwet 1995 en vervanging door een nieuwe Archiefwet (Archiefwet 20..)"
LOBBY = ("Regels over de registratie van lobbyactiviteiten gericht op de rijksoverheid in een lobbyregister "
         "(Wet lobbyregister)")
MAINTAINER = 42

CATALOG: Catalog = load_catalog()


async def _no_sleep(_seconds: float) -> None:
    return None


@dataclass
class World:
    """One installation: the fake upstream, the database, the sources and the pipeline on a movable clock."""

    up: FakeUpstream
    engine: Any
    pipe: Pipeline
    tk: SyncFeedSource
    ob: SruSource
    reader: HistoryReader
    clock: dict[str, dt.datetime]

    async def poll(self) -> list[PollResult]:
        return await self.pipe.poll([self.tk, self.ob])

    async def install(self) -> None:
        """The first poll of both sources, then the installation history."""
        self.up.now = self.clock["now"] = INSTALL
        results = await self.poll()
        assert all(r.ok for r in results), results
        run = await self.reader.run()
        assert not run.errors, run.errors

    def later(self, **delta: float) -> dt.datetime:
        self.clock["now"] += dt.timedelta(**delta)
        self.up.now = max(self.up.now, self.clock["now"])
        return self.clock["now"]

    def events(self) -> list[EventRow]:
        with session_scope(self.engine) as session:
            return list(session.exec(select(EventRow).order_by(col(EventRow.detected_at), col(EventRow.id))))

    def deliveries(self) -> list[DeliveryRow]:
        with session_scope(self.engine) as session:
            return list(session.exec(select(DeliveryRow)))

    def stage(self, slug: str) -> str | None:
        with session_scope(self.engine) as session:
            stage = stages_reached(session).get(slug)
            return stage.value if stage else None


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    engine = make_engine(db_url)
    migrate(engine)
    with session_scope(engine) as session:
        sync_catalog(session, CATALOG, INSTALL - dt.timedelta(days=1))
        session.add(ChatRow(chat_id=1001, created_at=INSTALL - dt.timedelta(days=1)))
        session.add(SubscriptionRow(chat_id=1001, target="all", created_at=INSTALL - dt.timedelta(days=1)))
        session.add(EndpointRow(id="ep_ngo", url="https://ngo.example/hook", secret="whsec_x",
                                created_at=INSTALL - dt.timedelta(days=1)))
    clock = {"now": INSTALL}
    with FakeUpstream(page_size=50, now=dt.datetime(2025, 5, 12, 8, tzinfo=dt.UTC)) as up:
        async with httpx.AsyncClient() as client:
            tk = SyncFeedSource(client, up.feed_url, sleep=_no_sleep, page_pause=0)
            ob = SruSource(client, up.sru_url, sleep=_no_sleep, clock=lambda: clock["now"], page_pause=0)
            pipe = Pipeline(engine, CATALOG, start="now", clock=lambda: clock["now"], maintainers=[MAINTAINER])
            reader = HistoryReader(engine, pipe, ob, clock=lambda: clock["now"], maintainers=[MAINTAINER])
            yield World(up, engine, pipe, tk, ob, reader, clock)
    engine.dispose()


def _wpp_record_before(up: FakeUpstream) -> tuple[str, str]:
    """The Wet op de politieke partijen as the record held it before the installation: submitted in May 2025
    (both sources), a verslag in July 2025. Returns the GUIDs of its Tweede Kamer dossier and zaak."""
    up.now = dt.datetime(2025, 5, 12, 8, tzinfo=dt.UTC)
    dossier = up.add_dossier("36742", WPP)
    zaak = up.add_zaak("2025Z09154", dossier=dossier, titel=WPP, gestart=dt.date(2025, 5, 12))
    may = dt.date(2025, 5, 13)
    for nr, soort in [("1", "Koninklijke boodschap"), ("2", "Voorstel van wet"), ("3", "Memorie van toelichting"),
                      ("4", "Advies Afdeling advisering Raad van State en Nader rapport")]:
        up.add_document(f"2025D2108{nr}", soort=soort, titel=WPP, datum=dt.date(2025, 5, 12), volgnummer=int(nr),
                        dossier=dossier, zaak=zaak, externe_identifier=f"kst-36742-{nr}")
        up.add_kamerstuk("36742", nr, dossiertitel=WPP, soort=soort, modified=may, date=dt.date(2025, 5, 12))
    up.add_kamerstuk("36742", "5", dossiertitel=WPP, soort="Verslag", modified=dt.date(2025, 7, 3),
                     date=dt.date(2025, 7, 3))
    return dossier, zaak


def _archiefwet_record_before(up: FakeUpstream) -> None:
    """The Archiefwet 20..: submitted in 2021, passed by the Tweede Kamer (the Eerste Kamer's Kamerstuk A)."""
    up.add_kamerstuk("35968", "2", dossiertitel=ARCHIEF, soort="Voorstel van wet", modified=dt.date(2021, 11, 17),
                     date=dt.date(2021, 11, 17))
    up.add_kamerstuk("35968", "A", dossiertitel=ARCHIEF, soort="Voorstel van wet",
                     documenttitel="Gewijzigd voorstel van wet", chamber="EK", modified=dt.date(2025, 4, 16),
                     date=dt.date(2025, 4, 15))


# ------------------------------------------------------------------------------------ installation history


async def test_installation_history_gives_the_stages_of_linked_dossiers_with_no_event_and_no_delivery(
        world: World) -> None:
    _wpp_record_before(world.up)
    _archiefwet_record_before(world.up)
    world.up.add_staatsblad(2026, 150, title="Wet van 20 mei 2026, houdende regels over politieke partijen "
                            "(Wet op de politieke partijen)", behandeld=("36742",), modified=dt.date(2026, 5, 29),
                            available=dt.date(2026, 5, 29))
    # The Groningenwet's promise (in werking, end of 2026) was kept before the installation.
    world.up.add_staatsblad(2026, 301, title="Besluit van 2 oktober 2026 tot vaststelling van het tijdstip van "
                            "inwerkingtreding van de Wijziging van de Groningenwet", behandeld=("36836",),
                            soort="Klein Koninklijk Besluit", modified=dt.date(2026, 10, 5),
                            available=dt.date(2026, 10, 5))
    await world.install()

    assert world.events() == [] and world.deliveries() == []
    assert world.stage("wet-politieke-partijen") == "gepubliceerd"
    assert world.stage("archiefwet") == "aangenomen_tk"
    with session_scope(world.engine) as session:
        past = history(session, "wet-politieke-partijen")
        views = {v.slug: v for v in commitment_views(session, INSTALL.date())}
        tasks = list(session.exec(select(HistoryTaskRow)))
        state = progress(session)
    assert [(h.id, h.date.isoformat() if h.date else None) for h in past][:2] == [
        ("kst-36742-1", "2025-05-12"), ("kst-36742-2", "2025-05-12")]
    assert {h.id for h in past} == {"kst-36742-1", "kst-36742-2", "kst-36742-3", "kst-36742-4", "kst-36742-5",
                                    "stb-2026-150"}
    assert next(h for h in past if h.id == "stb-2026-150").stage is not None
    # The overdue flags follow from the history: on 2 January 2027 the Groningenwet's promise is kept, while a
    # commitment the record holds nothing of is late.
    assert world.stage("wijziging-groningenwet") == "in_werking"
    with session_scope(world.engine) as session:
        later = {v.slug: v for v in commitment_views(session, dt.date(2027, 1, 2))}
    assert later["wijziging-groningenwet"].due == dt.date(2026, 12, 31) and not later["wijziging-groningenwet"].overdue
    assert any(v.overdue for v in later.values())
    assert views["archiefwet"].stage is not None
    # One task per linked dossier of the catalog and one search, all done; progress is known.
    linked = {d for c in CATALOG for d in c.dossiers}
    assert {t.value for t in tasks if t.kind == "dossier"} == linked
    assert all(t.status == "done" for t in tasks)
    assert state is not None and state.dossiers == state.dossiers_done == len(linked) and state.search == "done"


async def test_a_later_document_moves_the_commitment_forward_or_is_a_document_event_never_repeating_a_stage(
        world: World) -> None:
    _wpp_record_before(world.up)
    await world.install()
    assert world.stage("wet-politieke-partijen") == "ingediend"

    # A later Kamerstuk of the dossier: a document event at the stage reached, not a second submission.
    world.later(days=1)
    world.up.add_kamerstuk("36742", "12", dossiertitel=WPP, soort="Nota van wijziging", modified=world.up.now.date())
    # The record shows an opening document again (a re-index of the 2025 memorie): nothing at all.
    world.up.add_kamerstuk("36742", "3", dossiertitel=WPP, soort="Memorie van toelichting",
                           modified=world.up.now.date(), available=dt.date(2025, 5, 13), date=dt.date(2025, 5, 12))
    await world.poll()
    [document] = world.events()
    assert document.type == "commitment.document" and document.stage == "ingediend"
    assert [d["id"] for d in document.payload["documents"]] == ["kst-36742-12"]

    # The law in the Staatsblad: the commitment moves forward, once.
    world.later(days=30)
    world.up.add_staatsblad(2027, 12, title="Wet van 10 januari 2027, houdende regels over politieke partijen "
                            "(Wet op de politieke partijen)", behandeld=("36742",), modified=world.up.now.date())
    await world.poll()
    events = world.events()
    assert [(e.type, e.stage) for e in events] == [("commitment.document", "ingediend"),
                                                   ("commitment.stage", "gepubliceerd")]
    assert world.stage("wet-politieke-partijen") == "gepubliceerd"
    assert {d.channel for d in world.deliveries()} == {"telegram", "webhook"}


async def test_history_of_a_dossier_linked_later_is_read_then_and_only_then(world: World) -> None:
    """`/link` by a maintainer: the dossier's record is read as history at the next run; nothing is alerted."""
    lobby_dossier = "37001"
    for nr, soort in [("2", "Voorstel van wet"), ("3", "Memorie van toelichting")]:
        world.up.add_kamerstuk(lobby_dossier, nr, dossiertitel="Regels over registratie van belangenbehartiging",
                               soort=soort, modified=dt.date(2026, 9, 1), date=dt.date(2026, 9, 1))
    await world.install()
    assert world.stage("lobbyregister") is None  # the title says nothing the matcher can tie to it
    world.later(hours=2)
    with session_scope(world.engine) as session:
        link(session, MAINTAINER, world.clock["now"], "lobbyregister", lobby_dossier)
    world.up.reset_counts()
    run = await world.reader.run()
    assert run.tasks == 1 and run.requests == 1 and world.up.count("sru") == 1
    assert world.stage("lobbyregister") == "ingediend"
    assert world.events() == [] and world.deliveries() == []
    # Nothing more to read: the next run makes no request.
    world.up.reset_counts()
    await world.reader.run()
    assert world.up.request_count == 0


async def test_the_search_learns_the_dossier_of_a_bill_submitted_before_the_installation(world: World) -> None:
    """A bill with no dossier in the catalog, submitted in March 2026: its opening documents tie it to the
    commitment, the dossier is learned, its record becomes history, and its next Kamerstuk is a document event."""
    for nr, soort in [("1", "Koninklijke boodschap"), ("2", "Voorstel van wet"), ("3", "Memorie van toelichting")]:
        world.up.add_kamerstuk("37012", nr, dossiertitel=LOBBY, soort=soort, modified=dt.date(2026, 3, 2),
                               date=dt.date(2026, 3, 2))
    world.up.add_kamerstuk("37012", "5", dossiertitel=LOBBY, soort="Verslag", modified=dt.date(2026, 4, 9))
    await world.install()
    with session_scope(world.engine) as session:
        learned = session.exec(select(LinkRow).where(LinkRow.slug == "lobbyregister")).one()
        past = history(session, "lobbyregister")
    assert learned.value == "37012" and learned.origin == "learned"
    assert {h.id for h in past} == {"kst-37012-1", "kst-37012-2", "kst-37012-3", "kst-37012-5"}
    assert world.stage("lobbyregister") == "ingediend" and world.events() == []

    world.later(days=3)
    world.up.add_kamerstuk("37012", "6", dossiertitel=LOBBY, soort="Nota naar aanleiding van het verslag",
                           modified=world.up.now.date())
    await world.poll()
    [event] = world.events()
    assert (event.type, event.slug, event.stage) == ("commitment.document", "lobbyregister", "ingediend")


async def test_the_search_sends_a_commitment_matched_by_two_dossiers_to_the_maintainers(world: World) -> None:
    for dossier in ("37012", "37013"):
        world.up.add_kamerstuk(dossier, "2", dossiertitel=LOBBY, soort="Voorstel van wet",
                               modified=dt.date(2026, 3, 2))
    await world.install()
    with session_scope(world.engine) as session:
        links = list(session.exec(select(LinkRow).where(LinkRow.slug == "lobbyregister")))
        notices = list(session.exec(select(NoticeRow).where(NoticeRow.kind == "history.doubtful")))
    assert links == [] and world.stage("lobbyregister") is None
    [notice] = notices
    assert notice.recipient == str(MAINTAINER)
    assert "/link lobbyregister 37012" in notice.text and "/link lobbyregister 37013" in notice.text


async def test_history_is_paced_resumable_and_reported(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Upstream fails in the middle of a dossier's history: the run stops there, the task resumes at the page it
    was in, no page is read twice, and every request after the first waits the page pause."""
    _wpp_record_before(world.up)
    for n in range(6, 130):
        world.up.add_kamerstuk("36742", str(n), dossiertitel=WPP, soort="Amendement", modified=dt.date(2025, 9, 1))
    world.up.now = world.clock["now"] = INSTALL
    assert all(r.ok for r in await world.poll())
    world.ob.page_size = 50
    world.ob.page_pause = 0.5
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    monkeypatch.setattr(world.ob, "sleep", sleep)
    real = world.ob.search
    calls = {"n": 0}

    async def flaky(query: str, start: int, *, pause: bool = True) -> Any:
        calls["n"] += "36742" in query
        if "36742" in query and calls["n"] == 2:  # the second page of the dossier's history
            raise FetchError("GET /sru failed after 5 attempts: HTTP 503", url=world.up.sru_url, status=503)
        return await real(query, start, pause=pause)

    monkeypatch.setattr(world.ob, "search", flaky)
    world.up.reset_counts()
    first = await world.reader.run()
    assert first.errors and sleeps == [0.5] * (first.requests - 1)  # every request but the first waits
    with session_scope(world.engine) as session:
        task = session.exec(select(HistoryTaskRow).where(HistoryTaskRow.value == "36742")).one()
        state = progress(session)
    assert (task.status, task.next_record, task.attempts) == ("pending", 51, 1) and "503" in (task.last_error or "")
    assert state is not None and state.pending > 0 and "503" in (state.last_error or "")

    monkeypatch.setattr(world.ob, "search", real)
    world.up.reset_counts()
    sleeps.clear()
    second = await world.reader.run()
    assert not second.errors
    starts = [r.params["startRecord"] for r in world.up.requests if "36742" in r.params.get("query", "")]
    assert starts == ["51", "101"]
    assert sleeps == [0.5] * (second.requests - 1)
    with session_scope(world.engine) as session:
        task = session.exec(select(HistoryTaskRow).where(HistoryTaskRow.value == "36742")).one()
        evidence = list(session.exec(select(EvidenceRow).where(EvidenceRow.slug == "wet-politieke-partijen")))
    assert task.status == "done" and task.records == 129 and task.requests == 3
    assert len(evidence) == len({e.document_key for e in evidence}) == 129
    assert world.events() == []


# ------------------------------------------------------------------------------------ novelty, end to end


async def test_a_late_tweede_kamer_publication_makes_its_event(world: World) -> None:
    """Registered in the source system yesterday, published into the feed after the installation: its
    tk:bijgewerkt lies before the installation, and it is news all the same."""
    dossier, zaak = _wpp_record_before(world.up)
    await world.install()
    world.later(hours=3)
    yesterday = INSTALL - dt.timedelta(hours=20)
    world.up.add_document("2026D49001", soort="Nota van wijziging", titel=WPP, datum=yesterday.date(),
                          volgnummer=14, dossier=dossier, zaak=zaak, externe_identifier="kst-36742-14",
                          bijgewerkt=yesterday)
    results = await world.poll()
    assert all(r.ok for r in results)
    [event] = world.events()
    assert event.type == "commitment.document" and event.slug == "wet-politieke-partijen"
    assert event.payload["documents"][0]["kst"] == "kst-36742-14"
    with session_scope(world.engine) as session:
        row = session.get(DocumentRow, "tk:2026D49001")
    assert row is not None and row.origin == "news"


async def test_a_mass_reemission_of_2025_entities_makes_no_event(world: World) -> None:
    _wpp_record_before(world.up)
    world.up.now = dt.datetime(2025, 10, 1, 8, tzinfo=dt.UTC)
    for n in range(60):
        world.up.add_document(f"2025D4{n:04d}", soort="Brief regering", titel=f"Wet op de politieke partijen: brief {n}",
                              datum=dt.date(2025, 10, 1), volgnummer=-1)
    await world.install()
    world.later(days=2)
    assert world.up.reemit_all() > 60
    results = await world.poll()
    assert all(r.ok for r in results)
    assert world.events() == [] and world.deliveries() == []
    with session_scope(world.engine) as session:
        origins = {r.origin for r in session.exec(select(TkEntityRow))}
        documents = list(session.exec(select(DocumentRow).where(DocumentRow.source == "tk")))
    assert origins == {"history"} and documents and {d.origin for d in documents} == {"history"}
    # What the re-emission showed is history now: a later correction of one of those letters is no news either.
    world.later(hours=1)
    guid = documents[0].guid
    assert guid is not None
    world.up.update(guid, onderwerp="Wet op de politieke partijen: brief (gecorrigeerd)")
    await world.poll()
    assert world.events() == []


async def test_koop_reindexes_of_2025_and_early_2026_records_make_no_event(world: World) -> None:
    await world.install()
    world.later(days=1)
    today = world.up.now.date()
    # Re-indexed today (dt.modified), published long ago (dt.available): one in a linked dossier, one Staatsblad
    # that treats it, one RvS advice in the Staatscourant that names a commitment, one letter.
    world.up.add_kamerstuk("36742", "4", dossiertitel=WPP, soort="Advies Afdeling advisering Raad van State",
                           modified=today, available=dt.date(2025, 5, 13), date=dt.date(2025, 5, 12))
    world.up.add_staatsblad(2026, 40, title="Besluit van 2 februari 2026 tot vaststelling van het tijdstip van "
                            "inwerkingtreding van de Wet op de politieke partijen", behandeld=("36742",),
                            soort="Klein Koninklijk Besluit", modified=today, available=dt.date(2026, 2, 3))
    world.up.add_staatscourant(2025, 31000, title="Advies Afdeling advisering Raad van State inzake het voorstel "
                               "van wet houdende regels over politieke partijen (Wet op de politieke partijen)",
                               modified=today, available=dt.date(2025, 9, 9))
    results = await world.poll()
    assert all(r.ok for r in results)
    assert world.events() == [] and world.deliveries() == []
    with session_scope(world.engine) as session:
        rows = list(session.exec(select(DocumentRow).where(DocumentRow.source == "ob")))
    assert {r.upstream_id for r in rows} >= {"kst-36742-4", "stb-2026-40", "stcrt-2025-31000"}
    assert {r.origin for r in rows if r.upstream_id in ("kst-36742-4", "stb-2026-40", "stcrt-2025-31000")} == {
        "history"}
    # The re-indexed decree is history: it sets the stage silently, and a copy of it later repeats nothing.
    assert world.stage("wet-politieke-partijen") == "in_werking"
    # A record published from the installation day on is news, whatever date it carries.
    world.later(days=1)
    world.up.add_kamerstuk("36742", "15", dossiertitel=WPP, soort="Brief", modified=world.up.now.date(),
                           date=dt.date(2025, 12, 1))
    await world.poll()
    [event] = world.events()
    assert event.type == "commitment.document" and event.payload["documents"][0]["id"] == "kst-36742-15"


async def test_a_vote_on_a_zaak_from_before_the_installation_makes_aangenomen_tk(world: World) -> None:
    """The Besluit refers to a zaak wetwacht never stored (it predates the installation): the zaak and its
    dossier are fetched from the entity endpoint in the same poll, stored as history, and the vote is news."""
    _dossier, zaak = _wpp_record_before(world.up)
    await world.install()
    world.later(days=2)
    world.up.reset_counts()
    besluit = world.up.add_besluit(zaak, besluit_soort="Stemmen - aangenomen",
                                   besluit_tekst="Aangenomen.", stemmings_soort="Met handopsteken")
    results = await world.poll()
    assert all(r.ok for r in results)
    tk = next(r for r in results if r.source == "tk")
    assert tk.fetched == 2 and world.up.count("entity") == 2  # the zaak, then its dossier
    [event] = world.events()
    assert (event.type, event.slug, event.stage) == ("commitment.stage", "wet-politieke-partijen", "aangenomen_tk")
    [entry] = event.payload["documents"]
    assert (entry["source"], entry["id"], entry["dossier"]) == ("tk", besluit, "36742")
    with session_scope(world.engine) as session:
        zaak_row = session.get(TkEntityRow, zaak)
        waiting = list(session.exec(select(TkWaitingRow)))
    assert zaak_row is not None and zaak_row.origin == "history" and waiting == []


async def test_a_failed_fetch_keeps_the_vote_pending_until_the_next_poll(world: World) -> None:
    _dossier, zaak = _wpp_record_before(world.up)
    await world.install()
    world.later(days=2)
    world.up.add_besluit(zaak, besluit_soort="Stemmen - aangenomen", besluit_tekst="Aangenomen.")
    world.up.fail_next(5, "503", on="entity")  # the first try and its four retries
    results = await world.poll()
    assert all(r.ok for r in results)  # the feed was read; the fetch waits
    assert world.events() == []
    with session_scope(world.engine) as session:
        [waiting] = list(session.exec(select(TkWaitingRow)))
    assert waiting.missing == zaak and waiting.attempts == 1 and "503" in (waiting.last_error or "")
    world.later(minutes=5)
    await world.poll()
    [event] = world.events()
    assert event.stage == "aangenomen_tk"


async def test_a_zaak_that_arrives_later_resolves_the_vote_that_waited_for_it(world: World) -> None:
    """The entity endpoint does not know the zaak yet (404): the vote waits; the zaak's arrival in the feed
    resolves it."""
    _wpp_record_before(world.up)
    await world.install()
    world.later(hours=1)
    dossier_guid = next(g for g, e in world.up._entities.items() if e.category == "Kamerstukdossier")
    later_zaak = "00001a11-36a7-4e42-9c15-999999999999"
    world.up.add_besluit(later_zaak, besluit_soort="Stemmen - aangenomen", besluit_tekst="Aangenomen.")
    await world.poll()
    assert world.events() == []
    world.later(minutes=5)
    world.up.add_zaak("2026Z20001", dossier=dossier_guid, titel=WPP, guid=later_zaak)
    await world.poll()
    [event] = world.events()
    assert (event.stage, event.payload["documents"][0]["dossier"]) == ("aangenomen_tk", "36742")

