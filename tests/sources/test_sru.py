"""SRU: CQL quoting, gzd record parsing, HTTP-200 diagnostics, paging, the overlap window and its dedupe."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
import respx

from sources.base import Page, ParseError, SourceError
from sources.sru import SruSource, build_query, cql_quote, parse_response, wanted
from tests.fakes.upstream import FakeUpstream
from tests.sources.helpers import SRU_URL, Sleeps, data, sru_from

NOW = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)
TITLE_36742 = "Wet op de politieke partijen"


async def collect(source: SruSource, cursor: str | None) -> list[Page]:
    return [page async for page in source.pages(cursor)]


# ------------------------------------------------------------------------------------------------ CQL


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("officielepublicaties", "officielepublicaties"),
        ("2026-05-01", "2026-05-01"),
        ("Kamerstuk", "Kamerstuk"),
        ("Kamervragen (Aanhangsel)", '"Kamervragen (Aanhangsel)"'),
        ("advies Raad van State", '"advies Raad van State"'),
        ('36742" OR dt.type==x', '"36742\\" OR dt.type==x"'),
        ("a\\b", '"a\\\\b"'),
        ("lobby*", '"lobby\\*"'),
        ("wat?^", '"wat\\?\\^"'),
        ("and", '"and"'),
        ("sortBy", '"sortBy"'),
        ("x==y", '"x==y"'),
        ("", '""'),
    ],
    ids=["word", "date", "name", "parentheses", "spaces", "quote-injection", "backslash", "mask-star",
         "mask-question-caret", "reserved-and", "reserved-sortby", "relation", "empty"],
)
def test_cql_quote(value: str, expected: str) -> None:
    assert cql_quote(value) == expected


def test_build_query_is_the_documented_shape() -> None:
    assert build_query(dt.date(2026, 5, 1)) == (
        "c.product-area==officielepublicaties AND (w.publicatienaam==Kamerstuk OR w.publicatienaam==Staatsblad "
        "OR w.publicatienaam==Staatscourant) AND dt.modified>=2026-05-01 sortBy dt.modified/sort.ascending"
    )


def test_build_query_quotes_every_value() -> None:
    query = build_query(dt.date(2026, 5, 1), ["Kamervragen (Aanhangsel)", 'x") OR (dt.type==y'])
    assert 'w.publicatienaam=="Kamervragen (Aanhangsel)"' in query
    assert 'w.publicatienaam=="x\\") OR (dt.type==y"' in query


# -------------------------------------------------------------------------------------------- parsing


def test_parse_fixture_records() -> None:
    response = parse_response(data("ob_sru_response.xml"), url=SRU_URL)
    assert response.total == 1342
    assert response.count == 4
    kst, stcrt, gmb, ek = (r.document for r in response.records)

    assert kst.source == "ob"
    assert kst.id == "kst-36742-4"
    assert kst.kst == "kst-36742-4"
    assert (kst.dossier, kst.ondernummer, kst.chamber) == ("36742", "4", "TK")
    assert kst.kind == "Advies Raad van State"
    assert kst.entity == "Kamerstuk"
    assert kst.title.endswith("(Wet op de politieke partijen); Advies Afdeling advisering Raad van State en Nader "
                              "rapport; Advies Afdeling advisering Raad van State en Nader rapport")
    assert kst.date == dt.date(2025, 5, 12)
    assert kst.modified == dt.datetime(2025, 5, 13, 7, 12, 44, 118903, tzinfo=dt.UTC)
    assert kst.url == "https://zoek.officielebekendmakingen.nl/kst-36742-4.html"
    assert kst.extra["url_pdf"].endswith("/kst/36742/kst-36742-4/1/pdf/kst-36742-4.pdf")
    assert kst.extra["url_xml"].endswith("/1/xml/kst-36742-4.xml")
    assert kst.extra["version"] == "2025-05-13T09:12:44.118903+02:00"
    assert kst.extra["publicatienaam"] == "Kamerstuk"
    assert kst.extra["documenttitel"] == "Advies Afdeling advisering Raad van State en Nader rapport"
    assert kst.extra["dossiertitel"].endswith("(Wet op de politieke partijen)")
    assert response.records[0].key == "kst-36742-4@2025-05-13T09:12:44.118903+02:00"
    assert response.records[0].modified == dt.date(2025, 5, 13)

    assert stcrt.entity == "Staatscourant"
    assert stcrt.kind == "advies Raad van State"
    assert stcrt.kst is None and stcrt.chamber is None
    assert stcrt.date == dt.date(2026, 2, 3)

    assert gmb.entity == "Gemeenteblad"
    assert (ek.id, ek.dossier, ek.ondernummer, ek.chamber, ek.kind) == ("kst-36468-E", "36468", "E", "EK", "Brief")
    assert ek.kst == "kst-36468-E"

    assert [wanted(d) for d in (kst, stcrt, gmb, ek)] == [True, True, False, True]


def test_staatsblad_record_with_behandeld_dossiers() -> None:
    up = FakeUpstream()
    up.add_staatsblad(2026, 123, title="Wet van 1 april 2026 (Wet op de politieke partijen)",
                      behandeld=("36742", "36742-(R2190)"), modified=dt.date(2026, 4, 20))
    response = parse_response(up.sru_response_xml("c.product-area==officielepublicaties", 1, 10), url=SRU_URL)
    stb = response.records[0].document
    assert (stb.id, stb.entity, stb.kind) == ("stb-2026-123", "Staatsblad", "Wet")
    assert stb.extra["behandeldDossier"] == "36742,36742-(R2190)"
    assert stb.kst is None


def test_eerste_kamer_letters_up_to_double_letters() -> None:
    up = FakeUpstream()
    up.add_kamerstuk("33328", "AI", dossiertitel="Wet x", soort="Verslag", chamber="EK")
    doc = parse_response(up.sru_response_xml("c.product-area==officielepublicaties", 1, 10),
                         url=SRU_URL).records[0].document
    assert (doc.kst, doc.dossier, doc.ondernummer, doc.chamber) == ("kst-33328-AI", "33328", "AI", "EK")


def test_http_200_diagnostic_is_a_parse_error_with_its_message() -> None:
    with pytest.raises(ParseError) as caught:
        parse_response(data("ob_sru_diagnostic.xml"), url=SRU_URL)
    assert "info:srw/diagnostic/1/10" in str(caught.value)
    assert "mismatched input 'c.product-area'" in str(caught.value)
    assert caught.value.url == SRU_URL


def test_truncated_response_is_a_parse_error_with_position() -> None:
    body = data("ob_sru_response.xml")
    with pytest.raises(ParseError) as caught:
        parse_response(body[:9000], url=SRU_URL)
    assert caught.value.position is not None
    assert caught.value.position.startswith("line ")
    assert caught.value.url == SRU_URL


def test_html_instead_of_sru_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="searchRetrieveResponse"):
        parse_response(b"<html><body>Service Unavailable</body></html>", url=SRU_URL)


# ------------------------------------------------------------------------------------------- the source


def feed_records(up: FakeUpstream) -> None:
    """Eight records over three days, and a Gemeenteblad item the query leaves out."""
    for i, day in enumerate([1, 1, 2, 2, 2, 3, 3, 3], start=1):
        up.add_kamerstuk("36742", str(i), dossiertitel=TITLE_36742, soort="Brief", modified=dt.date(2026, 5, day))
    up.add_sru_record("gmb-2026-1", publicatienaam="Gemeenteblad", title="Verordening", modified=dt.date(2026, 5, 2))


@respx.mock
async def test_first_run_now_yields_the_overlap_window_as_backlog_and_remembers_it() -> None:
    up = FakeUpstream()
    feed_records(up)
    route = respx.get(SRU_URL).mock(side_effect=sru_from(up))
    async with httpx.AsyncClient() as client:
        source = SruSource(client, SRU_URL, sleep=Sleeps(), clock=lambda: dt.datetime(2026, 5, 3, 9, tzinfo=dt.UTC),
                           page_size=4)
        pages = await collect(source, None)
    assert len(pages) == 1
    assert [d.id for d in pages[0].documents] == [f"kst-36742-{i}" for i in (3, 4, 5, 6, 7, 8)]
    assert pages[0].caught_up is True
    cursor = json.loads(pages[0].cursor)
    assert cursor["modified"] == "2026-05-03"
    assert sorted(s.split("@")[0] for s in cursor["seen"]) == [f"kst-36742-{i}" for i in (3, 4, 5, 6, 7, 8)]
    assert pages[0].requests == route.call_count == 2
    assert "dt.modified>=2026-05-02" in route.calls[0].request.url.params["query"]


@respx.mock
async def test_start_date_reads_every_page_with_start_record_paging() -> None:
    up = FakeUpstream()
    feed_records(up)
    route = respx.get(SRU_URL).mock(side_effect=sru_from(up))
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        source = SruSource(client, SRU_URL, start=dt.date(2026, 5, 1), sleep=sleeps, clock=lambda: NOW, page_size=3,
                           page_pause=0.25)
        pages = await collect(source, None)
    assert [[d.id for d in p.documents] for p in pages] == [
        ["kst-36742-1", "kst-36742-2", "kst-36742-3"], ["kst-36742-4", "kst-36742-5", "kst-36742-6"],
        ["kst-36742-7", "kst-36742-8"]]
    assert [p.caught_up for p in pages] == [False, False, True]
    params = [c.request.url.params for c in route.calls]
    assert [p["startRecord"] for p in params] == ["1", "4", "7"]
    assert {p["maximumRecords"] for p in params} == {"3"}
    assert {(p["operation"], p["version"], p["recordSchema"]) for p in params} == {("searchRetrieve", "2.0", "gzd")}
    assert params[0]["query"] == build_query(dt.date(2026, 5, 1))
    assert sleeps.calls == [0.25, 0.25]
    assert json.loads(pages[0].cursor)["modified"] == "2026-05-02"
    assert json.loads(pages[-1].cursor)["modified"] == "2026-05-03"


@respx.mock
async def test_overlap_is_deduplicated_and_new_versions_come_through() -> None:
    up = FakeUpstream()
    feed_records(up)
    route = respx.get(SRU_URL).mock(side_effect=sru_from(up))
    async with httpx.AsyncClient() as client:
        source = SruSource(client, SRU_URL, start=dt.date(2026, 5, 1), sleep=Sleeps(), clock=lambda: NOW, page_size=3)
        first = await collect(source, None)
        cursor = first[-1].cursor
        again = await collect(source, cursor)
        assert [d for p in again for d in p.documents] == []  # the overlap (2 and 3 May) is all seen
        assert "dt.modified>=2026-05-02" in route.calls[-1].request.url.params["query"]
        up.add_kamerstuk("36742", "5", dossiertitel=TITLE_36742, soort="Brief", modified=dt.date(2026, 5, 3),
                         version="2026-05-03T16:00:00.000001+02:00")  # a corrected publication
        up.add_kamerstuk("36742", "9", dossiertitel=TITLE_36742, soort="Motie", modified=dt.date(2026, 5, 4))
        third = await collect(source, again[-1].cursor)
    assert [d.id for p in third for d in p.documents] == ["kst-36742-5", "kst-36742-9"]
    final = json.loads(third[-1].cursor)
    assert final["modified"] == "2026-05-04"
    # Only records at or after the new overlap edge (3 May) stay in `seen`.
    assert sorted(s.split("@")[0] for s in final["seen"]) == [
        "kst-36742-5", "kst-36742-6", "kst-36742-7", "kst-36742-8", "kst-36742-9"]


@respx.mock
async def test_staatscourant_keeps_only_raad_van_state_advices() -> None:
    up = FakeUpstream()
    up.add_staatscourant(2026, 6890, title="Advies Afdeling advisering Raad van State inzake ... met nader rapport",
                         modified=dt.date(2026, 5, 4))
    up.add_staatscourant(2026, 7000, title="Omgevingsvergunning Dorpsstraat 1", soort="Vergunningen",
                         modified=dt.date(2026, 5, 4))
    respx.get(SRU_URL).mock(side_effect=sru_from(up))
    async with httpx.AsyncClient() as client:
        source = SruSource(client, SRU_URL, start=dt.date(2026, 5, 1), sleep=Sleeps(), clock=lambda: NOW)
        pages = await collect(source, None)
    assert [d.id for p in pages for d in p.documents] == ["stcrt-2026-6890"]
    assert len(json.loads(pages[-1].cursor)["seen"]) == 2  # both are remembered, one is kept


@respx.mock
async def test_diagnostic_fails_the_run() -> None:
    respx.get(SRU_URL).mock(return_value=httpx.Response(200, content=data("ob_sru_diagnostic.xml")))
    async with httpx.AsyncClient() as client:
        source = SruSource(client, SRU_URL, start=dt.date(2026, 5, 1), sleep=Sleeps(), clock=lambda: NOW)
        with pytest.raises(ParseError, match="mismatched input"):
            await collect(source, None)


@respx.mock
async def test_429_retry_after_reaches_the_injected_sleep() -> None:
    up = FakeUpstream()
    feed_records(up)
    answer = sru_from(up)
    calls = iter([httpx.Response(429, headers={"Retry-After": "11"})])

    def side_effect(request: httpx.Request) -> httpx.Response:
        return next(calls, None) or answer(request)

    respx.get(SRU_URL).mock(side_effect=side_effect)
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        source = SruSource(client, SRU_URL, start=dt.date(2026, 5, 1), sleep=sleeps, clock=lambda: NOW, page_size=10)
        pages = await collect(source, None)
    assert sleeps.calls == [11.0]
    assert len([d for p in pages for d in p.documents]) == 8


@pytest.mark.parametrize("cursor", ["{", '{"seen": []}', '{"modified": "gisteren"}', '{"modified": "2026-05-01", '
                                    '"seen": [1]}'], ids=["json", "no-modified", "bad-date", "bad-seen"])
async def test_corrupt_cursor_fails_the_run(cursor: str) -> None:
    async with httpx.AsyncClient() as client:
        source = SruSource(client, SRU_URL, sleep=Sleeps(), clock=lambda: NOW)
        with pytest.raises(SourceError, match="cursor"):
            await collect(source, cursor)


def test_constructor_checks() -> None:
    client = httpx.AsyncClient()
    with pytest.raises(ValueError, match="start"):
        SruSource(client, SRU_URL, start="gisteren")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="page_size"):
        SruSource(client, SRU_URL, page_size=0)
    assert SruSource(client, SRU_URL, start=dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)).start == dt.date(2026, 5, 1)


@respx.mock
async def test_a_long_backfill_keeps_only_the_overlap_window_in_its_cursor() -> None:
    up = FakeUpstream()
    for i in range(300):
        up.add_kamerstuk("36742", str(i + 1), dossiertitel=TITLE_36742, soort="Brief",
                         modified=dt.date(2026, 1, 1) + dt.timedelta(days=i // 10))
    respx.get(SRU_URL).mock(side_effect=sru_from(up))
    async with httpx.AsyncClient() as client:
        source = SruSource(client, SRU_URL, start=dt.date(2025, 12, 1), sleep=Sleeps(), clock=lambda: NOW,
                           page_size=25)
        pages = await collect(source, None)
    assert len([d for p in pages for d in p.documents]) == 300
    assert max(len(json.loads(p.cursor)["seen"]) for p in pages) <= 25 + 20  # a page plus two days
    final = json.loads(pages[-1].cursor)
    assert final["modified"] == "2026-01-30"
    assert len(final["seen"]) == 20  # 29 and 30 January
