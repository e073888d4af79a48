"""Atom feeds read by feedparser as a feed reader would, and ICS calendars read by icalendar as an agenda
would, on both backends."""

from __future__ import annotations

import datetime as dt

import feedparser
import httpx
import pytest
from bs4 import BeautifulSoup, Tag
from icalendar import Calendar

from tests.web.conftest import BASE
from tests.web.world import HOSTILE_SLUG, HOSTILE_TITLE, OB_DOC, TK_DOC, World


async def feed(client: httpx.AsyncClient, path: str) -> feedparser.FeedParserDict:
    response = await client.get(path)
    assert response.status_code == 200, path
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


async def test_the_feed_of_all_events_lists_published_events_newest_first(client: httpx.AsyncClient,
                                                                         world: World) -> None:
    parsed = await feed(client, "/feed.atom")
    assert parsed.feed.title == "wetwacht: alle gebeurtenissen" and parsed.feed.language == "nl"
    assert parsed.feed.id == f"{BASE}/feed.atom"
    assert {"rel": "self", "href": f"{BASE}/feed.atom", "type": "application/atom+xml"} in parsed.feed.links
    ids = [e.id for e in parsed.entries]
    assert ids == [world.kept_late, world.hostile_overdue, world.hostile_document, world.kept_early, world.verslag,
                   world.ingediend]  # the retracted event is not news
    times = [dt.datetime(*e.updated_parsed[:6]) for e in parsed.entries]
    assert times == sorted(times, reverse=True)


async def test_an_entry_tells_the_event_in_dutch_with_its_document_links(client: httpx.AsyncClient,
                                                                         world: World) -> None:
    parsed = await feed(client, "/toezegging/wet-politieke-partijen.atom")
    assert [e.id for e in parsed.entries] == [world.verslag, world.ingediend]
    entry = parsed.entries[1]
    assert entry.title == "Wet op de politieke partijen: Nieuwe fase: ingediend bij de Tweede Kamer"
    assert entry.link == f"{BASE}/toezegging/wet-politieke-partijen#{world.ingediend}"
    html = entry.content[0].value
    page = BeautifulSoup(html, "html.parser")
    links = [a["href"] for a in page.find_all("a")]  # type: ignore[index]
    assert TK_DOC in links and OB_DOC in links and "https://zoek.officielebekendmakingen.nl/kst-36742-2.html" in links
    assert "Memorie van toelichting" in page.get_text() and "Waarom gekoppeld" in page.get_text()
    assert entry.tags[0].term == "commitment.stage"


async def test_a_hostile_title_stays_text_in_the_feed(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(f"/toezegging/{HOSTILE_SLUG}.atom")
    assert b"<script" not in response.content and b"javascript:" not in response.content
    parsed = feedparser.parse(response.content)
    assert parsed.feed.title == f"wetwacht: {HOSTILE_TITLE}"
    overdue = next(e for e in parsed.entries if e.id == world.hostile_overdue)
    assert overdue.title.startswith(HOSTILE_TITLE + ": Termijn verstreken (Q1 2020)")
    content = BeautifulSoup(overdue.content[0].value, "html.parser")
    assert content.find("script") is None and content.find("b") is None
    assert "<b>Q1 2020</b>" in content.get_text()


async def test_a_ministry_feed_has_only_its_commitments(client: httpx.AsyncClient, world: World) -> None:
    bzk = await feed(client, "/ministerie/BZK.atom")
    assert world.kept_late in {e.id for e in bzk.entries} and bzk.feed.title == "wetwacht: BZK"
    jenv = await feed(client, "/ministerie/JenV.atom")
    assert jenv.entries == []
    assert (await client.get("/ministerie/XYZ.atom")).status_code == 404
    assert (await client.get("/toezegging/bestaat-niet.atom")).status_code == 404


@pytest.mark.parametrize("path", ["/", "/toezegging/wet-politieke-partijen", "/te-laat", "/termijnen", "/status",
                                  "/?ministerie=BZK"])
async def test_every_page_advertises_feeds_that_feed_readers_can_read(client: httpx.AsyncClient, path: str) -> None:
    page = BeautifulSoup((await client.get(path)).text, "html.parser")
    links = page.find_all("link", attrs={"rel": "alternate", "type": "application/atom+xml"})
    assert links
    for link in links:
        assert isinstance(link, Tag) and link.get("title")
        await feed(client, str(link["href"]))


# ------------------------------------------------------------------------------------------ calendars


async def calendar(client: httpx.AsyncClient, path: str) -> Calendar:
    response = await client.get(path)
    assert response.status_code == 200, path
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


async def test_the_calendar_has_each_commitments_deadline(client: httpx.AsyncClient) -> None:
    items = (await client.get("/api/commitments")).json()
    cal = await calendar(client, "/termijnen.ics")
    events = {str(e["summary"]): e for e in cal.walk("VEVENT")}
    assert len(events) == sum(1 for i in items if i["due"])
    lobby = events["Wetsvoorstel lobbyregister: Q2 2027 en later"]
    assert lobby.decoded("dtstart") == dt.date(2027, 6, 30)
    assert lobby.decoded("dtend") == dt.date(2027, 7, 1)
    assert str(lobby["url"]) == f"{BASE}/toezegging/lobbyregister"
    assert "Wetsvoorstel lobbyregister" in str(lobby["description"]) and "Status: open" in str(lobby["description"])
    hostile = next(e for s, e in events.items() if s.startswith(HOSTILE_TITLE))
    assert hostile.decoded("dtstart") == dt.date(2020, 3, 31) and "te laat" in str(hostile["description"])
    again = await calendar(client, "/termijnen.ics")
    assert [str(e["uid"]) for e in again.walk("VEVENT")] == [str(e["uid"]) for e in cal.walk("VEVENT")]


async def test_a_commitments_calendar_has_every_dated_promise(client: httpx.AsyncClient) -> None:
    cal = await calendar(client, "/toezegging/wet-politieke-partijen.ics")
    [event] = cal.walk("VEVENT")  # its second promise names no date
    assert str(event["summary"]) == "Wet op de politieke partijen: per 1 januari 2028"
    assert event.decoded("dtstart") == dt.date(2028, 1, 1)
    assert (await client.get("/toezegging/bestaat-niet.ics")).status_code == 404


async def test_pages_link_their_calendars(client: httpx.AsyncClient) -> None:
    board = BeautifulSoup((await client.get("/")).text, "html.parser")
    assert "/termijnen.ics" in {a["href"] for a in board.find_all("a")}  # type: ignore[index]
    page = BeautifulSoup((await client.get("/toezegging/lobbyregister")).text, "html.parser")
    hrefs = {str(a["href"]) for a in page.find_all("a")}  # type: ignore[index]
    assert "/toezegging/lobbyregister.ics" in hrefs
    assert all(h.endswith(".ics") for h in hrefs if "agenda" in h or h.endswith(".ics"))
