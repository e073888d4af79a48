"""SyncFeedSource with respx: cursors per category, caught-up, pacing, head and start-date probing, faults."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
import respx

from sources.base import FetchError, Page, ParseError, SourceError
from sources.syncfeed import DEFAULT_CATEGORIES, SyncFeedSource
from tests.fakes.upstream import FakeUpstream
from tests.sources.helpers import FEED_URL, Responder, Sleeps, data, feed_from, split_feeds


async def collect(source: SyncFeedSource, cursor: str | None) -> list[Page]:
    return [page async for page in source.pages(cursor)]


def static_feed(pages: dict[tuple[str, str | None], bytes]) -> Responder:
    """A respx side effect serving fixed bodies by (category, skiptoken); anything else is caught up."""
    caught_up = data("tk_syncfeed_caughtup.xml")

    def answer(request: httpx.Request) -> httpx.Response:
        key = (request.url.params["category"], request.url.params.get("skiptoken"))
        return httpx.Response(200, content=pages.get(key, caught_up))

    return answer


def test_default_categories_read_parents_first() -> None:
    assert DEFAULT_CATEGORIES == ("Kamerstukdossier", "Zaak", "Document", "DocumentVersie", "Besluit")


@respx.mock
async def test_reads_forward_from_the_cursor_until_resume() -> None:
    route = respx.get(FEED_URL).mock(side_effect=static_feed({("Document", "24817299"): data("tk_syncfeed.xml")}))
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        source = SyncFeedSource(client, FEED_URL, sleep=sleeps, categories=["Document"], page_pause=0.5)
        pages = await collect(source, json.dumps({"Document": "24817299"}))
    assert len(pages) == 2
    assert [e.guid[-4:] for e in pages[0].entities] == ["1083", "2877", "dead"]
    assert json.loads(pages[0].cursor) == {"Document": "24817302"}
    assert pages[0].caught_up is False
    assert pages[1].entities == ()
    assert pages[1].caught_up is True
    assert json.loads(pages[1].cursor) == {"Document": "24817302"}
    assert sum(p.requests for p in pages) == route.call_count == 2
    requested = [dict(c.request.url.params) for c in route.calls]
    assert requested == [{"skiptoken": "24817299", "category": "Document"},
                         {"skiptoken": "24817302", "category": "Document"}]
    assert sleeps.calls == [0.5]  # pacing between pages, none before the first


@respx.mock
async def test_every_page_carries_the_whole_cursor_and_other_categories_keep_theirs() -> None:
    dossiers, zaken = split_feeds("tk_syncfeed_zaak_dossier.xml")
    respx.get(FEED_URL).mock(side_effect=static_feed({
        ("Kamerstukdossier", "24600000"): dossiers, ("Zaak", "24700000"): zaken,
    }))
    cursor = {"Kamerstukdossier": "24600000", "Zaak": "24700000", "Document": "24817302"}
    async with httpx.AsyncClient() as client:
        source = SyncFeedSource(client, FEED_URL, sleep=Sleeps(), categories=["Kamerstukdossier", "Zaak", "Document"])
        pages = await collect(source, json.dumps(cursor))
    assert [len(p.entities) for p in pages] == [2, 1, 0]
    assert json.loads(pages[0].cursor) == {**cursor, "Kamerstukdossier": "24600107"}
    assert json.loads(pages[1].cursor) == {**cursor, "Kamerstukdossier": "24600107", "Zaak": "24700012"}
    assert pages[2].caught_up is True
    # Requests are counted on the next page yielded: the Kamerstukdossier "resume" answer with the Zaak page,
    # the Zaak and Document ones on the last page.
    assert [p.requests for p in pages] == [1, 2, 2]
    assert [e.category for p in pages for e in p.entities] == ["Kamerstukdossier", "Kamerstukdossier", "Zaak"]


@respx.mock
async def test_ns1_category_is_read_like_any_other() -> None:
    respx.get(FEED_URL).mock(side_effect=static_feed({
        ("Toezegging", "24900000"): data("tk_syncfeed_ns1_toezegging.xml")}))
    async with httpx.AsyncClient() as client:
        source = SyncFeedSource(client, FEED_URL, sleep=Sleeps(), categories=["Toezegging"])
        pages = await collect(source, json.dumps({"Toezegging": "24900000"}))
    entities = pages[0].entities
    assert [(e.fields.get("nummer"), e.deleted) for e in entities] == [("TZ202603-130", False), (None, True)]
    assert json.loads(pages[-1].cursor) == {"Toezegging": "24900031"}


@respx.mock
async def test_re_emitted_old_entities_arrive_with_the_same_content() -> None:
    up = FakeUpstream(page_size=50)
    dossier = up.add_dossier("36742", "Wet op de politieke partijen")
    up.add_document("2025D21083", soort="Memorie van toelichting", titel="Wet op de politieke partijen",
                    volgnummer=3, dossier=dossier)
    respx.get(FEED_URL).mock(side_effect=feed_from(up))
    async with httpx.AsyncClient() as client:
        source = SyncFeedSource(client, FEED_URL, sleep=Sleeps(), categories=["Kamerstukdossier", "Document"])
        first = await collect(source, json.dumps({"Kamerstukdossier": "", "Document": ""}))
        up.now += dt.timedelta(days=200)
        assert up.reemit_all() == 2
        again = await collect(source, first[-1].cursor)
    before = [e for p in first for e in p.entities]
    after = [e for p in again for e in p.entities]
    assert len(after) == 2
    assert [(e.guid, e.fields, e.refs, e.deleted) for e in after] == [
        (e.guid, e.fields, e.refs, e.deleted) for e in before]
    assert all(a.updated > b.updated for a, b in zip(after, before, strict=True))


@respx.mock
async def test_empty_page_without_resume_is_a_parse_error() -> None:
    empty = b'<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>'
    respx.get(FEED_URL).mock(return_value=httpx.Response(200, content=empty))
    async with httpx.AsyncClient() as client:
        source = SyncFeedSource(client, FEED_URL, sleep=Sleeps(), categories=["Document"])
        with pytest.raises(ParseError, match="resume"):
            await collect(source, json.dumps({"Document": "1"}))


@respx.mock
async def test_entries_without_any_next_link_are_a_parse_error_not_a_loop() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>g</title>
      <updated>2026-01-01T00:00:00Z</updated><content type="application/xml">
      <document xmlns="http://www.tweedekamer.nl/xsd/tkData/v1-0" id="g"/></content></entry></feed>"""
    respx.get(FEED_URL).mock(return_value=httpx.Response(200, content=body))
    async with httpx.AsyncClient() as client:
        source = SyncFeedSource(client, FEED_URL, sleep=Sleeps(), categories=["Document"])
        with pytest.raises(ParseError, match="no next skiptoken"):
            await collect(source, json.dumps({"Document": "1"}))


@respx.mock
async def test_truncated_page_fails_the_run_and_the_yielded_cursor_stands() -> None:
    body = data("tk_syncfeed.xml")
    respx.get(FEED_URL).mock(side_effect=static_feed({
        ("Document", "24817299"): body, ("Document", "24817302"): body[:3000]}))
    pages: list[Page] = []
    async with httpx.AsyncClient() as client:
        source = SyncFeedSource(client, FEED_URL, sleep=Sleeps(), categories=["Document"])
        with pytest.raises(ParseError) as caught:
            async for page in source.pages(json.dumps({"Document": "24817299"})):
                pages.append(page)
    assert json.loads(pages[-1].cursor) == {"Document": "24817302"}  # what the pipeline stored
    assert caught.value.url is not None and "skiptoken=24817302" in caught.value.url
    assert caught.value.position is not None and caught.value.position.startswith("line ")


@respx.mock
async def test_fetch_failure_after_retries_propagates_with_the_cursor_unchanged() -> None:
    respx.get(FEED_URL).mock(return_value=httpx.Response(503, text="<html>busy</html>"))
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        source = SyncFeedSource(client, FEED_URL, sleep=sleeps, categories=["Document"])
        with pytest.raises(FetchError) as caught:
            await collect(source, json.dumps({"Document": "24817299"}))
    assert caught.value.status == 503
    assert len(sleeps.calls) == 4  # the four backoffs of fetch's retries


@pytest.mark.parametrize("cursor", ["not json", "[1, 2]", '{"Document": 5}'], ids=["text", "list", "number"])
async def test_corrupt_cursor_fails_the_run(cursor: str) -> None:
    async with httpx.AsyncClient() as client:
        source = SyncFeedSource(client, FEED_URL, sleep=Sleeps(), categories=["Document"])
        with pytest.raises(SourceError):
            await collect(source, cursor)


# ------------------------------------------------------------------------------------------ first run


def fill(up: FakeUpstream, n: int, *, start: dt.datetime | None = None, step: dt.timedelta | None = None) -> None:
    if start is not None:
        up.now = start
    if step is not None:
        up.tick = step
    for i in range(n):
        up.add_entity("Document", [("documentNummer", f"2026D{i:05d}"), ("soort", "Brief regering")])


@pytest.mark.parametrize("n", [0, 1, 250, 251, 2000, 20000], ids=lambda n: f"{n}-entries")
@respx.mock
async def test_head_probe_finds_the_head_without_reading_history(n: int) -> None:
    up = FakeUpstream(page_size=250)
    fill(up, n)
    route = respx.get(FEED_URL).mock(side_effect=feed_from(up))
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        source = SyncFeedSource(client, FEED_URL, sleep=sleeps, categories=["Document"], page_pause=1.0)
        pages = await collect(source, None)
    assert all(p.entities == () for p in pages)
    assert json.loads(pages[0].cursor) == {"Document": up.head("Document")}
    assert pages[-1].caught_up is True
    assert sum(p.requests for p in pages) == route.call_count
    # Pages actually read in full would be n / 250; probing stays logarithmic.
    assert route.call_count <= {0: 1, 1: 2, 250: 2, 251: 3}.get(n, 16)
    assert sleeps.calls == [1.0] * (route.call_count - 1)


@respx.mock
async def test_head_probe_request_count() -> None:
    """The figures quoted in the module docstring of sources.syncfeed."""
    counts = []
    for n, seed in ((2000, 1), (2000, 2), (5000, 1), (20000, 1), (20000, 7)):
        up = FakeUpstream(page_size=250, seed=seed)
        fill(up, n)
        route = respx.get(FEED_URL).mock(side_effect=feed_from(up))
        before = route.call_count  # the same route object accumulates across iterations
        async with httpx.AsyncClient() as client:
            source = SyncFeedSource(client, FEED_URL, sleep=Sleeps(), categories=["Document"])
            await collect(source, None)
        counts.append(route.call_count - before)
    assert counts == [13, 7, 9, 9, 9]


@respx.mock
async def test_after_the_head_probe_only_new_entities_are_read() -> None:
    up = FakeUpstream(page_size=100)
    fill(up, 1500)
    respx.get(FEED_URL).mock(side_effect=feed_from(up))
    async with httpx.AsyncClient() as client:
        source = SyncFeedSource(client, FEED_URL, sleep=Sleeps(), categories=["Document"])
        first = await collect(source, None)
        new = up.add_entity("Document", [("documentNummer", "2026D99999"), ("soort", "Motie")])
        second = await collect(source, first[-1].cursor)
    entities = [e for p in second for e in p.entities]
    assert [e.guid for e in entities] == [new]
    assert sum(p.requests for p in second) == 2  # the page with it, then the resume page


@respx.mock
async def test_new_category_in_the_list_is_probed_while_the_others_read_on() -> None:
    up = FakeUpstream(page_size=100)
    up.add_dossier("36742", "Wet op de politieke partijen")
    fill(up, 300)
    respx.get(FEED_URL).mock(side_effect=feed_from(up))
    async with httpx.AsyncClient() as client:
        source = SyncFeedSource(client, FEED_URL, sleep=Sleeps(), categories=["Kamerstukdossier", "Document"])
        pages = await collect(source, json.dumps({"Kamerstukdossier": ""}))
    assert [e.fields["nummer"] for p in pages for e in p.entities] == ["36742"]
    assert json.loads(pages[-1].cursor) == {"Kamerstukdossier": up.head("Kamerstukdossier"),
                                            "Document": up.head("Document")}


@pytest.mark.parametrize("first_new", [0, 1, 99, 100, 101, 1234, 2999], ids=lambda i: f"from-{i}")
@respx.mock
async def test_start_date_probe_reads_from_the_first_entry_on_or_after_it(first_new: int) -> None:
    up = FakeUpstream(page_size=100)
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    fill(up, 3000, start=t0, step=dt.timedelta(minutes=1))
    start = t0 + dt.timedelta(minutes=first_new) - dt.timedelta(seconds=30)
    route = respx.get(FEED_URL).mock(side_effect=feed_from(up))
    async with httpx.AsyncClient() as client:
        source = SyncFeedSource(client, FEED_URL, start=start, sleep=Sleeps(), categories=["Document"])
        pages = await collect(source, None)
    numbers = [e.fields["documentNummer"] for p in pages for e in p.entities]
    assert numbers == [f"2026D{i:05d}" for i in range(first_new, 3000)]
    assert json.loads(pages[-1].cursor) == {"Document": up.head("Document")}
    reading = -(-(3000 - first_new) // 100) + 1  # the pages read forward, and the resume page
    assert route.call_count - reading <= 16  # what finding the start cost


@respx.mock
async def test_start_date_after_everything_reads_nothing() -> None:
    up = FakeUpstream(page_size=100)
    fill(up, 500, start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    respx.get(FEED_URL).mock(side_effect=feed_from(up))
    async with httpx.AsyncClient() as client:
        source = SyncFeedSource(client, FEED_URL, start=dt.datetime(2027, 1, 1, tzinfo=dt.UTC), sleep=Sleeps(),
                                categories=["Document"])
        pages = await collect(source, None)
    assert [e for p in pages for e in p.entities] == []
    assert json.loads(pages[-1].cursor) == {"Document": up.head("Document")}


@respx.mock
async def test_probing_never_puts_a_computed_skiptoken_in_the_cursor() -> None:
    up = FakeUpstream(page_size=250)
    fill(up, 5000)
    real = {str(p) for p in up._positions["Document"]}
    respx.get(FEED_URL).mock(side_effect=feed_from(up))
    async with httpx.AsyncClient() as client:
        source = SyncFeedSource(client, FEED_URL, sleep=Sleeps(), categories=["Document"])
        pages = await collect(source, None)
    assert {json.loads(p.cursor)["Document"] for p in pages} <= real


def test_start_must_be_now_or_a_datetime() -> None:
    with pytest.raises(ValueError, match="start"):
        SyncFeedSource(httpx.AsyncClient(), FEED_URL, start="yesterday")  # type: ignore[arg-type]


@respx.mock
async def test_a_feed_that_ignores_skiptokens_stops_the_probe_with_an_error() -> None:
    route = respx.get(FEED_URL).mock(return_value=httpx.Response(200, content=data("tk_syncfeed.xml")))
    async with httpx.AsyncClient() as client:
        source = SyncFeedSource(client, FEED_URL, sleep=Sleeps(), categories=["Document"])
        with pytest.raises(ParseError, match="does not honour skiptokens"):
            await collect(source, None)
    assert route.call_count == 2
