"""internetconsultatie.nl: the list of open consultations and a consultation page parsed from the reconstructed
fixtures, the slug diff and its cursor, and the faults (503, changed markup, truncated bodies)."""

from __future__ import annotations

import datetime as dt
import json
import random

import httpx
import pytest
import respx

from sources.base import FetchError, Page, ParseError, SourceError
from sources.consultatie import ConsultatieSource, parse_consultation_page, parse_open_list, slug_of
from tests.sources.helpers import Sleeps, data

BASE = "https://www.internetconsultatie.nl"
LIST_URL = f"{BASE}/rest/openconsultaties/"
NOW = dt.datetime(2026, 8, 10, 8, 0, tzinfo=dt.UTC)
LIST = data("ic_openconsultaties.xml")
PAGE = data("ic_consultatie_wetlobbyregister_b1.html")
SLUGS = ("isde", "wetlobbyregister", "tweedewetintegriteitdecentraalbestuur")


def page_for(slug: str, title: str, kind: str = "Wet") -> bytes:
    """The fixture page, as another consultation of type `kind`."""
    return (PAGE.replace(b"Wet lobbyregister", title.encode()).replace(b"<td>Wet</td>", f"<td>{kind}</td>".encode())
            .replace(b"/wetlobbyregister/", f"/{slug}/".encode()))


PAGES = {
    "isde": page_for("isde", "Wijzigingsregeling ISDE 2027", "Ministeriële regeling"),
    "wetlobbyregister": PAGE,
    "tweedewetintegriteitdecentraalbestuur": page_for("tweedewetintegriteitdecentraalbestuur",
                                                      "Tweede wet integriteit decentraal bestuur"),
}


async def collect(source: ConsultatieSource, cursor: str | None) -> list[Page]:
    return [page async for page in source.pages(cursor)]


def source(client: httpx.AsyncClient, sleeps: Sleeps, **kw: object) -> ConsultatieSource:
    return ConsultatieSource(client, BASE, sleep=sleeps, clock=lambda: NOW, rng=random.Random(2), **kw)  # type: ignore[arg-type]


def route_site(listing: bytes = LIST, pages: dict[str, bytes] | None = None) -> dict[str, respx.Route]:
    served = PAGES if pages is None else pages
    routes = {"list": respx.get(LIST_URL).mock(return_value=httpx.Response(200, content=listing))}
    for slug, body in served.items():
        routes[slug] = respx.get(f"{BASE}/{slug}/b1").mock(return_value=httpx.Response(200, content=body))
    return routes


# ------------------------------------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("https://www.internetconsultatie.nl/isde", "isde"),
        ("https://www.internetconsultatie.nl/isde/b1", "isde"),
        ("https://internetconsultatie.nl/tweedewetintegriteitdecentraalbestuur/b1",
         "tweedewetintegriteitdecentraalbestuur"),
        ("https://www.internetconsultatie.nl/nationale_circulaire_plastic_norm/b1#sectie-consultatiegegevens",
         "nationale_circulaire_plastic_norm"),
        ("https://www.internetconsultatie.nl/", None),
        ("https://www.internetconsultatie.nl/zoeken/resultaat/full", None),
    ],
    ids=["bare", "b1", "no-www", "fragment", "root", "search"],
)
def test_slug_of(url: str, slug: str | None) -> None:
    assert slug_of(url) == slug


def test_open_list() -> None:
    listed = parse_open_list(LIST, url=LIST_URL)
    assert tuple(c.slug for c in listed) == SLUGS
    isde, lobby, _ = listed
    assert (isde.title, isde.start, isde.end, isde.departementen) == (
        "Wijzigingsregeling ISDE 2027", dt.date(2026, 7, 17), dt.date(2026, 8, 21), ("EZK",))
    assert lobby.title == "Wet lobbyregister"  # the trailing space of <titel> is gone


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<openConsultaties><consultatie/></openConsultaties>", "expected the list of open consultations"),
        (b"<consultaties></consultaties>", "holds no <consultatie>"),
        (b"<consultaties><consultatie><titel>x</titel></consultatie></consultaties>", "has no <url>"),
        (b"<consultaties><consultatie><url>https://www.internetconsultatie.nl/</url></consultatie></consultaties>",
         "names no consultation"),
        (LIST[: len(LIST) // 2], "malformed XML"),
        (b"<!DOCTYPE html><html><body>Onderhoud</body></html>", "got <html>"),
    ],
    ids=["root", "empty", "no-url", "no-slug", "truncated", "html"],
)
def test_a_changed_or_broken_list_is_a_parse_error(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message) as info:
        parse_open_list(body, url=LIST_URL)
    assert info.value.url == LIST_URL


def test_consultation_page() -> None:
    url = f"{BASE}/wetlobbyregister/b1"
    doc = parse_consultation_page(PAGE, url=url, slug="wetlobbyregister", today=NOW.date())
    assert (doc.source, doc.id, doc.kind, doc.entity, doc.title, doc.url) == (
        "ic", "wetlobbyregister", "Internetconsultatie", "Internetconsultatie", "Wet lobbyregister", url)
    assert doc.date == dt.date(2026, 8, 3)
    assert doc.extra["type"] == "Wet"
    assert doc.extra["organisatie"] == "Ministerie van Binnenlandse Zaken en Koninkrijksrelaties"
    assert (doc.extra["startdatum"], doc.extra["einddatum"]) == ("2026-08-03", "2026-09-14")
    assert doc.extra["status"] == "Actief" and doc.extra["keten_id"] == "29999"
    assert doc.extra["onderwerpen"] == "Bestuur, Integriteit"
    assert doc.extra["intro"].startswith("Met dit wetsvoorstel wordt een verplicht lobbyregister ingesteld")
    assert doc.extra["opgehaald"] == "2026-08-10" and "internetconsultatie.nl" in doc.extra["bron"]


def test_consultation_page_with_td_labels_and_no_classes() -> None:
    # The form one third-party capture has (markdown-converter): <h1>, a plain table of td/td, "In het kort".
    page = b"""<html><body><div id="content" class="container">
<h1>Wet gegevensvergaring openbare orde</h1><p>Consultatie gesloten</p>
<h2>In het kort</h2><p>Het wetsvoorstel regelt twee bevoegdheden.</p>
<h3>Consultatiegegevens</h3>
<table><tr><td>Startdatum consultatie</td><td>04-07-2025</td></tr><tr><td>Einddatum consultatie</td><td>12-09-2025</td></tr>
<tr><td>Status</td><td>Gesloten</td></tr><tr><td>Type consultatie</td><td>Wet</td></tr>
<tr><td>Organisatie</td><td>Ministerie van Justitie en Veiligheid</td></tr><tr><td>Keten-ID</td><td>27200</td></tr></table>
</div></body></html>"""
    doc = parse_consultation_page(page, url="u", slug="gegevensvergaringopenbareorde")
    assert doc.title == "Wet gegevensvergaring openbare orde" and doc.date == dt.date(2025, 7, 4)
    assert (doc.extra["type"], doc.extra["status"], doc.extra["keten_id"]) == ("Wet", "Gesloten", "27200")
    assert doc.extra["intro"] == "Het wetsvoorstel regelt twee bevoegdheden."


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        (lambda p: p.replace(b"<h1>", b"<h2>").replace(b"</h1>", b"</h2>"), "div.row--contentheading h1"),
        (lambda p: p.replace(b"Type consultatie", b"Soort"), "row 'Type consultatie'"),
        (lambda p: p.replace(b"<table", b"<dl").replace(b"</table>", b"</dl>"), "table.table__data-overview"),
        (lambda p: p[: len(p) // 2], "truncated"),
    ],
    ids=["title", "type-row", "table", "truncated"],
)
def test_a_changed_consultation_page_is_a_parse_error(change: object, missing: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_consultation_page(change(PAGE), url="https://x/wetlobbyregister/b1", slug="wetlobbyregister")  # type: ignore[operator]
    assert missing in str(info.value) and info.value.url == "https://x/wetlobbyregister/b1"


# ------------------------------------------------------------------------------------------------ source


@respx.mock
async def test_first_run_reads_every_open_consultation_as_backlog_one_page_each() -> None:
    routes = route_site()
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        pages = await collect(source(client, sleeps), None)
    assert [[d.id for d in p.documents] for p in pages] == [[s] for s in SLUGS]
    assert [p.caught_up for p in pages] == [False, False, True]
    assert sum(p.requests for p in pages) == 4 == sum(r.call_count for r in routes.values())
    assert json.loads(pages[0].cursor) == {"seen": ["isde"]}
    assert json.loads(pages[-1].cursor) == {"seen": sorted(SLUGS)}
    assert len(sleeps.calls) == 3 and all(1.0 <= s <= 2.0 for s in sleeps.calls)
    assert pages[0].documents[0].extra["type"] == "Ministeriële regeling"


@respx.mock
async def test_next_run_reads_only_new_slugs_and_forgets_closed_ones() -> None:
    cursor = json.dumps({"seen": ["isde", "wetlobbyregister", "closed-long-ago"]})
    routes = route_site()
    async with httpx.AsyncClient() as client:
        [page] = await collect(source(client, Sleeps()), cursor)
    [doc] = page.documents
    assert doc.id == "tweedewetintegriteitdecentraalbestuur" and doc.extra["departementen"] == "BZK"
    assert routes["isde"].call_count == 0 and routes["wetlobbyregister"].call_count == 0
    assert json.loads(page.cursor) == {"seen": sorted(SLUGS)}
    respx.reset()
    route_site()
    async with httpx.AsyncClient() as client:
        [quiet] = await collect(source(client, Sleeps()), page.cursor)
    assert quiet.documents == () and quiet.requests == 1 and quiet.caught_up


@respx.mock
async def test_a_start_date_skips_what_opened_before_it() -> None:
    routes = route_site()
    async with httpx.AsyncClient() as client:
        pages = await collect(source(client, Sleeps(), start=dt.date(2026, 8, 1)), None)
    assert [d.id for p in pages for d in p.documents] == ["wetlobbyregister", "tweedewetintegriteitdecentraalbestuur"]
    assert routes["isde"].call_count == 0
    assert json.loads(pages[-1].cursor) == {"seen": sorted(SLUGS)}


@respx.mock
async def test_a_failure_midway_keeps_what_was_read() -> None:
    respx.get(LIST_URL).mock(return_value=httpx.Response(200, content=LIST))
    respx.get(f"{BASE}/isde/b1").mock(return_value=httpx.Response(200, content=PAGES["isde"]))
    respx.get(f"{BASE}/wetlobbyregister/b1").mock(return_value=httpx.Response(503, text="<html>busy</html>"))
    sleeps = Sleeps()
    pages: list[Page] = []
    async with httpx.AsyncClient() as client:
        with pytest.raises(FetchError) as info:
            async for page in source(client, sleeps).pages(json.dumps({"seen": ["old"]})):
                pages.append(page)
    assert info.value.status == 503
    assert [[d.id for d in p.documents] for p in pages] == [["isde"]]
    assert json.loads(pages[0].cursor) == {"seen": ["isde", "old"]}  # nothing unread is marked seen
    assert len([s for s in sleeps.calls if s > 2.0]) >= 1  # the 503 was retried with a backoff


@respx.mock
async def test_a_changed_page_fails_the_run() -> None:
    route_site(pages={**PAGES, "wetlobbyregister": PAGE.replace(b"Type consultatie", b"Soort")})
    async with httpx.AsyncClient() as client:
        with pytest.raises(ParseError, match="Type consultatie"):
            await collect(source(client, Sleeps()), json.dumps({"seen": ["isde"]}))


async def test_a_corrupt_cursor_fails_instead_of_starting_over() -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(SourceError, match="cursor is unreadable"):
            await collect(source(client, Sleeps()), '{"slugs": []}')
