"""Both sources over real HTTP against `tests.fakes.upstream` on 127.0.0.1: first runs, incremental polls,
faults (503 with HTML, 429 with Retry-After, a hanging answer, a truncated body) and catch-up afterwards."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import cast

import httpx
import pytest

from sources.base import Document, Entity, FetchError, Page, ParseError, SourceError
from sources.http import USER_AGENT
from sources.sru import SruSource
from sources.syncfeed import SyncFeedSource
from sources.tk_resolve import resolve
from tests.fakes.upstream import FakeUpstream
from tests.sources.helpers import Sleeps

WPP = "Regels betreffende de financiering van politieke partijen (Wet op de politieke partijen)"
NOW = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(page_size=50, hang_seconds=10.0) as up:
        yield up


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(headers={"User-Agent": USER_AGENT}, timeout=httpx.Timeout(2.0)) as c:
        yield c


class Store:
    """The pipeline's part in these tests: keep the latest entity per GUID, resolve what changed."""

    def __init__(self) -> None:
        self.entities: dict[str, Entity] = {}
        self.cursor: str | None = None

    def ingest(self, page: Page) -> list[Document]:
        for entity in page.entities:
            known = self.entities.get(entity.guid)
            self.entities[entity.guid] = entity if not (entity.deleted and known) else Entity(
                entity.category, entity.guid, entity.updated, True, known.fields, known.refs)
        self.cursor = page.cursor
        docs = [resolve(e, self.entities.get) for e in page.entities]
        return [d for d in docs if d is not None]

    async def poll(self, source: SyncFeedSource) -> tuple[list[Page], list[Document]]:
        pages: list[Page] = []
        docs: list[Document] = []
        async for page in source.pages(self.cursor):
            pages.append(page)
            docs.extend(self.ingest(page))
        return pages, docs


def seed_bill(up: FakeUpstream, documents: int = 120) -> tuple[str, str]:
    dossier = up.add_dossier("36742", WPP)
    zaak = up.add_zaak("2025Z09154", dossier=dossier, titel=WPP)
    for i in range(documents):
        up.add_document(f"2025D{20000 + i}", soort="Brief regering", titel=WPP, onderwerp=f"Brief {i}",
                        volgnummer=i + 1, dossier=dossier, zaak=zaak, externe_identifier=f"kst-36742-{i + 1}")
    return dossier, zaak


# ------------------------------------------------------------------------------------------- SyncFeed


async def test_syncfeed_first_run_incremental_polls_and_an_idle_poll(upstream: FakeUpstream,
                                                                    client: httpx.AsyncClient) -> None:
    dossier, zaak = seed_bill(upstream)
    store = Store()
    source = SyncFeedSource(client, upstream.feed_url, sleep=Sleeps())

    pages, docs = await store.poll(source)  # start "now": heads only
    assert docs == []
    assert json.loads(pages[-1].cursor) == {c: upstream.head(c) for c in source.categories}
    assert sum(p.requests for p in pages) == upstream.count("feed")
    assert {s.params["category"] for s in upstream.requests} == set(source.categories)

    upstream.reset_counts()
    new = upstream.add_document("2026D11111", soort="Memorie van toelichting", titel=WPP,
                                onderwerp="Memorie van toelichting", volgnummer=121, dossier=dossier, zaak=zaak,
                                externe_identifier="kst-36742-121", datum=dt.date(2026, 5, 4))
    vote = upstream.add_besluit(zaak, besluit_soort="Stemmen - aangenomen", besluit_tekst="Aangenomen.",
                                stemmings_soort="Met handopsteken")
    pages, docs = await store.poll(source)
    # The Document and its DocumentVersie resolve to the same Document; the Besluit to a vote.
    assert [(d.id, d.kst) for d in docs] == [("2026D11111", None), ("2026D11111", "kst-36742-121"),
                                             (vote, None)]
    # The Kamerstukdossier entity predates the start (never read): the Document alone has no dossier, the
    # ExterneIdentifier of its version names it.
    assert docs[0].dossier is None
    assert docs[1].dossier == "36742"
    assert docs[1].guid == new
    assert docs[2].entity == "Besluit" and docs[2].zaak is None  # nor is its zaak known
    assert sum(p.requests for p in pages) == upstream.count("feed") == 8
    # Never from the start again, except the category that was empty at the first run (its cursor is "").
    assert {s.params["category"] for s in upstream.requests if not s.params.get("skiptoken")} == {"Besluit"}

    upstream.reset_counts()
    pages, docs = await store.poll(source)  # nothing changed
    assert docs == []
    assert len(pages) == 1 and pages[0].caught_up
    assert pages[0].requests == upstream.count("feed") == 5


async def test_syncfeed_backfill_from_a_date_resolves_relations(upstream: FakeUpstream,
                                                                client: httpx.AsyncClient) -> None:
    upstream.now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    upstream.add_dossier("30218", "Oud dossier")
    upstream.now = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    seed_bill(upstream, documents=3)
    store = Store()
    source = SyncFeedSource(client, upstream.feed_url, sleep=Sleeps(),
                            start=dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    pages, docs = await store.poll(source)
    assert {e.fields.get("nummer") for e in store.entities.values() if e.category == "Kamerstukdossier"} == {"36742"}
    kst = list({d.id: d for d in docs if d.kst}.values())  # a Document, then again with its version
    assert [d.kst for d in kst] == ["kst-36742-1", "kst-36742-2", "kst-36742-3"]
    assert {(d.dossier, d.zaak) for d in kst} == {("36742", "2025Z09154")}
    assert kst[0].url == "https://www.tweedekamer.nl/kamerstukken/detail?did=2025D20000&id=2025Z09154"
    assert pages[-1].caught_up


async def test_syncfeed_deletion_and_bulk_re_emission(upstream: FakeUpstream, client: httpx.AsyncClient) -> None:
    seed_bill(upstream, documents=2)
    store = Store()
    source = SyncFeedSource(client, upstream.feed_url, sleep=Sleeps(), start=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    _, first = await store.poll(source)
    known = {d.id: d for d in first}
    victim = next(g for g, e in store.entities.items() if e.fields.get("documentNummer") == "2025D20001")
    upstream.delete(victim)
    _, docs = await store.poll(source)
    assert [(d.id, d.deleted, d.kst) for d in docs] == [("2025D20001", True, "kst-36742-2")]

    before = {g: (e.fields, e.refs) for g, e in store.entities.items() if not e.deleted}
    assert upstream.reemit_all() == len(before)
    pages, docs = await store.poll(source)
    after = {e.guid: (e.fields, e.refs) for p in pages for e in p.entities}
    assert after == before  # same content: the pipeline's content hash makes this a no-op
    # Resolved again they are the same Documents; only `modified` (left out of the pipeline's hash) moved.
    again = {d.id: dataclasses.replace(d, modified=None) for d in docs}
    assert again.pop("2025D20001").deleted  # its version was re-emitted; the document stays retracted
    assert again == {k: dataclasses.replace(v, modified=None) for k, v in known.items() if k != "2025D20001"}


async def test_syncfeed_rides_out_503_429_and_a_hang(upstream: FakeUpstream) -> None:
    seed_bill(upstream, documents=60)
    sleeps = Sleeps()
    upstream.fail_next(2, "503")
    upstream.fail_next(1, "429", retry_after="3")
    upstream.fail_next(1, "hang")
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.3)) as quick:
        source = SyncFeedSource(quick, upstream.feed_url, sleep=sleeps, categories=["Document"], page_pause=0.5,
                                start=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        pages = [p async for p in source.pages(None)]
    assert sum(len(p.entities) for p in pages) == 60
    faults = [s.fault for s in upstream.requests if s.fault]
    assert faults == ["503", "503", "429", "hang"]
    assert 3.0 in sleeps.calls  # the Retry-After, exactly
    assert sleeps.calls.count(0.5) == upstream.count("feed") - 4 - 1  # pacing between logical requests


async def test_syncfeed_truncated_body_then_catch_up_loses_nothing(upstream: FakeUpstream,
                                                                  client: httpx.AsyncClient) -> None:
    seed_bill(upstream, documents=150)
    store = Store()
    source = SyncFeedSource(client, upstream.feed_url, sleep=Sleeps(), categories=["Document"],
                            start=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    seen: list[str] = []

    async def run(*, pages: int | None = None) -> None:
        stream = cast(AsyncGenerator[Page, None], source.pages(store.cursor))  # an async generator
        try:
            async for page in stream:
                store.ingest(page)  # the pipeline commits each page with its cursor
                seen.extend(e.guid for e in page.entities)
                if pages is not None and len(seen) >= pages * 50:
                    break  # the process stops here
        finally:
            await stream.aclose()

    upstream.fail_next(1, "truncate")
    with pytest.raises(ParseError) as caught:
        await run()
    assert caught.value.position is not None and caught.value.url is not None
    assert (seen, store.cursor) == ([], None)  # nothing stored, nothing skipped

    await run(pages=1)
    kept = store.cursor
    assert len(seen) == 50 and kept is not None

    upstream.fail_next(5, "503")  # more than fetch's retries: the run fails, the cursor stays
    with pytest.raises(FetchError):
        await run()
    assert store.cursor == kept

    await run()  # healthy again: catch up
    assert len(seen) == len(set(seen)) == 150
    assert json.loads(store.cursor or "{}") == {"Document": upstream.head("Document")}


# ------------------------------------------------------------------------------------------------ SRU


def seed_records(up: FakeUpstream) -> None:
    for i in range(1, 8):
        up.add_kamerstuk("36742", str(i), dossiertitel=WPP, soort="Brief", modified=dt.date(2026, 5, 1 + i % 3))
    up.add_kamerstuk("36468", "E", dossiertitel="Correctief referendum", soort="Brief", chamber="EK",
                     modified=dt.date(2026, 5, 3))
    up.add_staatsblad(2026, 123, title="Wet van 28 april 2026 (Wet op de politieke partijen)", behandeld=["36742"],
                      modified=dt.date(2026, 5, 3))
    up.add_staatscourant(2026, 6890, title="Advies Afdeling advisering Raad van State met nader rapport",
                         modified=dt.date(2026, 5, 2))
    up.add_sru_record("gmb-2026-9", publicatienaam="Gemeenteblad", title="Verordening", modified=dt.date(2026, 5, 3))


async def test_sru_paging_idle_poll_and_new_records(upstream: FakeUpstream, client: httpx.AsyncClient) -> None:
    seed_records(upstream)
    source = SruSource(client, upstream.sru_url, start=dt.date(2026, 5, 1), sleep=Sleeps(), clock=lambda: NOW,
                       page_size=4)
    pages = [p async for p in source.pages(None)]
    ids = [d.id for p in pages for d in p.documents]
    assert sorted(ids) == sorted([f"kst-36742-{i}" for i in range(1, 8)] + ["kst-36468-E", "stb-2026-123",
                                                                            "stcrt-2026-6890"])
    assert len(pages) == 3 and pages[-1].caught_up
    assert upstream.count("sru") == 3
    assert [s.params["startRecord"] for s in upstream.requests] == ["1", "5", "9"]

    upstream.reset_counts()
    idle = [p async for p in source.pages(pages[-1].cursor)]
    assert [d for p in idle for d in p.documents] == []
    assert upstream.count("sru") == 2  # the overlap window (2 and 3 May: 8 records) is re-read, nothing yielded

    upstream.add_kamerstuk("36742", "8", dossiertitel=WPP, soort="Memorie van toelichting",
                           modified=dt.date(2026, 5, 4))
    fresh = [p async for p in source.pages(idle[-1].cursor)]
    assert [d.id for p in fresh for d in p.documents] == ["kst-36742-8"]
    assert json.loads(fresh[-1].cursor)["modified"] == "2026-05-04"


async def test_sru_first_run_now_then_only_what_is_new(upstream: FakeUpstream, client: httpx.AsyncClient) -> None:
    seed_records(upstream)
    source = SruSource(client, upstream.sru_url, sleep=Sleeps(), clock=lambda: dt.datetime(2026, 5, 3, 12,
                                                                                           tzinfo=dt.UTC))
    first = [p async for p in source.pages(None)]
    # One page: the records of the overlap window are the backlog (the pipeline stores them as history).
    assert len(first) == 1 and first[0].caught_up
    assert all(d.modified is not None and d.modified.date() >= dt.date(2026, 5, 2) for d in first[0].documents)
    assert "kst-36742-8" not in {d.id for d in first[0].documents}
    upstream.add_kamerstuk("36742", "8", dossiertitel=WPP, soort="Motie", modified=dt.date(2026, 5, 3))
    second = [p async for p in source.pages(first[0].cursor)]
    assert [d.id for p in second for d in p.documents] == ["kst-36742-8"]


async def test_sru_faults_and_recovery(upstream: FakeUpstream, client: httpx.AsyncClient) -> None:
    seed_records(upstream)
    sleeps = Sleeps()
    source = SruSource(client, upstream.sru_url, start=dt.date(2026, 5, 1), sleep=sleeps, clock=lambda: NOW,
                       page_size=5)
    upstream.fail_next(1, "diagnostic", on="sru")
    with pytest.raises(ParseError, match="diagnostic"):
        [p async for p in source.pages(None)]

    upstream.fail_next(1, "503", on="sru")
    upstream.fail_next(1, "429", retry_after="9", on="sru")
    upstream.fail_next(1, "truncate", on="sru")
    with pytest.raises(ParseError) as caught:
        [p async for p in source.pages(None)]
    assert caught.value.position is not None
    assert 9.0 in sleeps.calls

    pages = [p async for p in source.pages(None)]
    assert len([d for p in pages for d in p.documents]) == 10


async def test_sru_corrupt_cursor_is_an_error_not_a_reset(upstream: FakeUpstream, client: httpx.AsyncClient) -> None:
    source = SruSource(client, upstream.sru_url, sleep=Sleeps(), clock=lambda: NOW)
    with pytest.raises(SourceError):
        [p async for p in source.pages("nonsense")]
    assert upstream.request_count == 0


async def test_requests_identify_wetwacht(upstream: FakeUpstream, client: httpx.AsyncClient) -> None:
    # The fake records no headers; the client the app builds sends USER_AGENT with every request.
    response = await client.get(upstream.feed_url, params={"category": "Zaak"})
    assert response.request.headers["User-Agent"] == USER_AGENT
    assert b'rel="resume"' in response.content
