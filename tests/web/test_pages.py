"""The pages, in-process on both backends: what each shows, in Dutch and semantic HTML; the scoreboard's
counts, statuses, filters and search; one commitment's promises, path, timeline and history; the overdue and
deadline lists; the sources' health; errors; and that the site reads only."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup, Tag
from sqlalchemy import func
from sqlmodel import Session, select

from storage.db import make_engine
from storage.models import ALL_TABLES, CommitmentRow
from tests.web.world import HOSTILE_ALIAS, HOSTILE_SLUG, HOSTILE_TITLE, OB_DOC, TK_DOC, TODAY, World

HTML_PAGES = ["/", "/?status=te-laat", "/toezegging/wet-politieke-partijen", f"/toezegging/{HOSTILE_SLUG}",
              "/te-laat", "/termijnen", "/status", "/brief/000", "/api"]


def soup(response: httpx.Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def text(node: Tag | None) -> str:
    assert node is not None
    return " ".join(node.get_text().split())


def row(page: BeautifulSoup, slug: str) -> Tag:
    found = page.find(attrs={"data-slug": slug})
    assert isinstance(found, Tag), f"no row for {slug}"
    return found


async def api_commitments(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/api/commitments")
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()
    return items


@pytest.mark.parametrize("path", HTML_PAGES)
async def test_every_page_is_dutch_semantic_html_without_scripts(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = soup(response)
    html = page.find("html")
    assert isinstance(html, Tag) and html.get("lang") == "nl"
    assert page.find("meta", attrs={"name": "viewport"}) is not None  # usable on a phone
    assert page.find("main") is not None and page.find("nav") is not None and page.find("h1") is not None
    assert page.find("script") is None and "style=" not in response.text  # nothing the CSP would have to allow
    feeds = page.find_all("link", attrs={"rel": "alternate", "type": "application/atom+xml"})
    assert feeds and all(isinstance(f, Tag) and str(f.get("href", "")).endswith(".atom") for f in feeds)
    csp = response.headers["content-security-policy"]
    assert "script-src" not in csp and "'unsafe-inline'" not in csp and "default-src 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "server" not in response.headers


async def test_scoreboard_counts_every_commitment_by_status(client: httpx.AsyncClient) -> None:
    items = await api_commitments(client)
    kept = {"vereenvoudigingswet", "evaluatie-verkiezingen-2025-2026"}  # the world's two kept promises
    overdue = [i for i in items if i["overdue"]]
    underway = [i for i in items if not i["overdue"] and i["slug"] not in kept and i["stage"] is not None]
    nothing = len(items) - len(kept) - len(overdue) - len(underway)
    assert len(items) >= 217 and len(overdue) >= 10 and nothing > 150
    page = soup(await client.get("/"))
    assert text(page.find(id="tellingen")) == (f"{len(items)} toezeggingen: {len(kept)} gehaald, {len(overdue)} te "
                                               f"laat, {len(underway)} onderweg, {nothing} nog niets")
    rows = page.select("table.board tbody tr")
    assert [r["data-slug"] for r in rows] == [i["slug"] for i in items]  # every commitment, in catalog order


@pytest.mark.parametrize(("slug", "status", "words"), [
    ("vereenvoudigingswet", "laat-gehaald", ["te laat gehaald", "41 dagen te laat gehaald", "ingediend bij de "
                                             "Tweede Kamer", "10 november 2026", "Q3 2026", "30 september 2026"]),
    ("evaluatie-verkiezingen-2025-2026", "gehaald", ["op tijd gehaald, 17 dagen voor de termijn", "15 juni 2026"]),
    ("financiele-verhoudingswet", "te-laat", ["te laat", "5 maanden over de termijn", "nog niets gezien"]),
    (HOSTILE_SLUG, "te-laat", ["te laat", "6 jaar en 8 maanden over de termijn", "door een beheerder toegevoegd"]),
    ("wet-politieke-partijen", "open", ["open", "in werking getreden", "per 1 januari 2028",
                                        "ingediend bij de Tweede Kamer", "12 mei 2025", "nog 1 jaar"]),
    ("lobbyregister", "open", ["Q2 2027 en later", "niet vóór 30 juni 2027"]),
], ids=["kept-late", "kept-early", "overdue", "overdue-maintainer", "underway", "open-ended"])
async def test_scoreboard_rows_show_promise_reality_and_status(client: httpx.AsyncClient, slug: str, status: str,
                                                               words: list[str]) -> None:
    r = row(soup(await client.get("/")), slug)
    assert r["data-status"] == status
    shown = text(r)
    for word in words:
        assert word in shown, (word, shown)
    link = r.find("a")
    assert isinstance(link, Tag) and link["href"] == f"/toezegging/{slug}"


@pytest.mark.parametrize(("query", "check"), [
    ("brief=000", lambda i, s: "000_415c6a15cb3a979c.txt" in s["letters"]),
    ("ministerie=JenV", lambda i, s: i["ministry"] == "JenV"),
    ("soort=grondwetsvoorstel", lambda i, s: i["kind"] == "grondwetsvoorstel"),
    ("status=te-laat", lambda i, s: i["overdue"]),
    ("status=open&ministerie=BZK", lambda i, s: not i["overdue"] and i["ministry"] == "BZK"),
], ids=["letter", "ministry", "kind", "status", "combined"])
async def test_filters_are_in_the_query_string(client: httpx.AsyncClient, query: str, check: Any) -> None:
    items = {i["slug"]: i for i in await api_commitments(client)}
    page = soup(await client.get(f"/?{query}"))
    slugs = [str(r["data-slug"]) for r in page.select("table.board tbody tr")]
    assert slugs
    for slug in slugs:
        shown = (await client.get(f"/api/commitments/{slug}")).json()
        shown["letters"] = {p["letter"] for p in shown["promises"]}
        assert check(items[slug], shown), slug
    # The form shows the filters it was given, so the address is the state: shareable and bookmarkable.
    for pair in query.split("&"):
        name, value = pair.split("=")
        field = page.find(attrs={"name": {"brief": "brief", "ministerie": "ministerie", "soort": "soort",
                                          "status": "status"}[name]})
        assert isinstance(field, Tag)
        selected = field.find("option", selected=True)
        assert isinstance(selected, Tag) and selected["value"] == value
    assert text(page.find(id="tellingen")).startswith(f"{len(slugs)} toezegging")


@pytest.mark.parametrize(("q", "expected"), [
    ("lobbyregister", "lobbyregister"),
    ("Financiele verhoudingswet", "financiele-verhoudingswet"),  # accents folded
    ("36742", "wet-politieke-partijen"),  # a dossier number
    ("iframe", HOSTILE_SLUG),  # a maintainer's alias
], ids=["word", "accents", "dossier", "alias"])
async def test_search_box_finds_titles_aliases_and_dossiers(client: httpx.AsyncClient, q: str, expected: str) -> None:
    response = await client.get("/", params={"q": q})
    page = soup(response)
    assert expected in [r["data-slug"] for r in page.select("table.board tbody tr")]
    box = page.find("input", attrs={"name": "q"})
    assert isinstance(box, Tag) and box["value"] == q
    assert page.find("form", attrs={"method": "get", "action": "/"}) is not None  # works without JavaScript


async def test_search_without_hits_says_so(client: httpx.AsyncClient) -> None:
    page = soup(await client.get("/", params={"q": "zzzqqq"}))
    assert page.select("table.board") == [] and "Geen toezeggingen" in text(page.find("main"))


async def test_commitment_page_shows_promises_path_timeline_and_history(client: httpx.AsyncClient) -> None:
    response = await client.get("/toezegging/wet-politieke-partijen")
    assert response.status_code == 200
    page = soup(response)
    assert text(page.find("h1")) == "Wet op de politieke partijen"
    # Each promise with its quote, its letter, and a link to the line in the seed letter.
    promises = page.select("ol.promises > li")
    assert len(promises) == 2
    first = promises[0]
    assert "Zo streven wij naar behandeling en inwerkingtreding van de Wet op de politieke partijen" in text(first)
    letter_link = first.select_one("p.source a")
    assert letter_link is not None and letter_link["href"] == "/brief/000#r33"
    assert "regel 33" in text(letter_link) and "per 1 januari 2028" in text(first)
    # The legislative path, with the dates each step was seen (the advice from the history).
    steps = {str(li.select_one(".label").get_text()): li for li in page.select("ol.path > li")}  # type: ignore[union-attr]
    assert list(steps) == ["Internetconsultatie", "Advies Raad van State", "Ingediend bij de Tweede Kamer",
                           "Tweede Kamer", "Eerste Kamer", "Staatsblad", "In werking"]
    assert "1 maart 2025" in text(steps["Advies Raad van State"])
    assert "12 mei 2025" in text(steps["Ingediend bij de Tweede Kamer"])
    assert steps["Ingediend bij de Tweede Kamer"].get("aria-current") == "step"
    assert "geen stuk gezien" in text(steps["Internetconsultatie"])
    assert "nog niet" in text(steps["Tweede Kamer"]) and "beloofd" in text(steps["In werking"])
    # The evidence timeline: each event with its documents, linked in both sources, and why it matched.
    events = page.select("ol.timeline > li")
    assert len(events) == 2 and "Nieuwe fase: ingediend bij de Tweede Kamer" in text(events[0])
    mvt = next(li for li in events[0].select("ul.documents li") if "kst-36742-3" in text(li))
    assert [a["href"] for a in mvt.select("a")] == [TK_DOC, OB_DOC]
    voorstel = next(li for li in events[0].select("ul.documents li") if "kst-36742-2" in text(li))
    assert "https://zoek.officielebekendmakingen.nl/kst-36742-2.html" in [a["href"] for a in voorstel.select("a")]
    assert "Waarom gekoppeld: dossier 36742 is linked" in text(events[0])
    past = page.select("ul.history li")
    assert len(past) == 1 and "1 maart 2025" in text(past[0]) and "stcrt-2025-4321" in text(past[0])
    # Feed and calendar links, advertised and shown.
    alternate = {str(link["href"]) for link in page.find_all("link", attrs={"rel": "alternate"})}  # type: ignore[index]
    assert {"/toezegging/wet-politieke-partijen.atom", "/ministerie/BZK.atom", "/feed.atom",
            "/toezegging/wet-politieke-partijen.ics"} <= alternate
    hrefs = {a["href"] for a in page.select("a")}
    assert {"/toezegging/wet-politieke-partijen.atom", "/toezegging/wet-politieke-partijen.ics"} <= hrefs


@pytest.mark.parametrize(("slug", "sentence"), [
    ("vereenvoudigingswet", "41 dagen te laat gehaald, bereikt op 10 november 2026"),
    ("evaluatie-verkiezingen-2025-2026", "op tijd gehaald, 17 dagen voor de termijn, bereikt op 15 juni 2026"),
    ("kaderwet-rijksinspecties", "8 maanden over de termijn"),
], ids=["late", "early", "overdue"])
async def test_commitment_page_says_how_late_or_early(client: httpx.AsyncClient, slug: str, sentence: str) -> None:
    page = soup(await client.get(f"/toezegging/{slug}"))
    assert sentence in text(page.select_one("p.verdict"))


async def test_a_promised_letter_is_one_step(client: httpx.AsyncClient) -> None:
    page = soup(await client.get("/toezegging/evaluatie-verkiezingen-2025-2026"))
    [step] = page.select("ol.path > li")
    assert "Brief naar de Kamer" in text(step) and "15 juni 2026" in text(step)


async def test_hostile_maintainer_text_is_shown_as_text(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/toezegging/{HOSTILE_SLUG}")
    assert response.status_code == 200
    page = soup(response)
    assert text(page.find("h1")) == " ".join(HOSTILE_TITLE.split())
    assert page.find("script") is None and page.find("img") is None and page.find("iframe") is None
    assert page.find("b") is None and page.find("i") is None
    assert HOSTILE_ALIAS in text(page.select_one("ul.aliases"))
    assert "javascript:" not in response.text  # an outside URL that is not http(s) is never a link
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in response.text
    board = await client.get("/")
    assert "<script" not in board.text and "&lt;script&gt;" in board.text


async def test_overdue_page_lists_longest_overdue_first(client: httpx.AsyncClient) -> None:
    items = {i["slug"]: i for i in await api_commitments(client)}
    page = soup(await client.get("/te-laat"))
    slugs = [str(li["data-slug"]) for li in page.select("ol.cards > li")]
    assert set(slugs) == {s for s, i in items.items() if i["overdue"]}
    dues = [dt.date.fromisoformat(items[s]["due"]) for s in slugs]
    assert dues == sorted(dues) and slugs[0] == HOSTILE_SLUG
    assert all(li["data-status"] == "te-laat" for li in page.select("ol.cards > li"))


async def test_deadlines_page_lists_the_coming_three_months(client: httpx.AsyncClient) -> None:
    items = await api_commitments(client)
    until = dt.date(2027, 3, 4)
    expected = sorted((dt.date.fromisoformat(i["due"]), i["slug"]) for i in items
                       if i["due"] and TODAY <= dt.date.fromisoformat(i["due"]) <= until)
    page = soup(await client.get("/termijnen"))
    shown = [str(li["data-slug"]) for li in page.select("ol.cards > li")]
    assert shown and sorted(shown) == sorted(s for _d, s in expected)
    assert [d for d, _s in expected] == sorted(d for d, _s in expected)
    assert {a["href"] for a in page.select("a")} >= {"/termijnen.ics"}


async def test_status_page_shows_each_sources_health_without_its_error_text(client: httpx.AsyncClient) -> None:
    response = await client.get("/status")
    page = soup(response)
    tk = page.find(attrs={"data-source": "tk"})
    ob = page.find(attrs={"data-source": "ob"})
    assert isinstance(tk, Tag) and isinstance(ob, Tag)
    assert tk["data-state"] == "ok" and "in orde" in text(tk) and "4 december 2026, 12:56" in text(tk)
    assert "stilte betekent dat er niets nieuws is" in text(tk)
    assert ob["data-state"] == "failing" and "de laatste 2 pogingen mislukten" in text(ob)
    assert "niet bereikbaar" in text(ob) and "11:00" in text(ob)
    assert "hunter2secret" not in response.text and "sru.example" not in response.text


async def test_letter_page_numbers_its_lines(client: httpx.AsyncClient) -> None:
    page = soup(await client.get("/brief/000"))
    line = page.find(id="r33")
    assert isinstance(line, Tag) and "Wet op de politieke partijen" in text(line)
    assert "Prioriteitenbrief BZK" in text(page.find("h1"))
    assert (await client.get("/brief/999")).status_code == 404
    assert (await client.get("/brief/..%2F..%2Fetc%2Fpasswd")).status_code == 404


async def test_unknown_commitment_is_a_dutch_404_with_suggestions(client: httpx.AsyncClient) -> None:
    response = await client.get("/toezegging/lobbyregistr")
    assert response.status_code == 404 and "text/html" in response.headers["content-type"]
    page = soup(response)
    assert "Niet gevonden" in text(page.find("h1"))
    assert "/toezegging/lobbyregister" in {a["href"] for a in page.select("a")}
    assert (await client.get("/bestaat-niet")).status_code == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_the_site_is_read_only(client: httpx.AsyncClient, method: str) -> None:
    for path in ("/", "/toezegging/lobbyregister", "/api/commitments", "/api/events"):
        response = await client.request(method, path)
        assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"
        assert "x-content-type-options" in response.headers


async def test_head_answers_without_a_body(client: httpx.AsyncClient) -> None:
    response = await client.head("/")
    assert response.status_code == 200 and response.headers["etag"]


async def test_pages_never_write(world: World, client: httpx.AsyncClient) -> None:
    engine = make_engine(world.url)

    def counts() -> dict[str, int]:
        with Session(engine) as session:
            return {t.__tablename__: session.exec(select(func.count()).select_from(t)).one()  # type: ignore[arg-type]
                    for t in ALL_TABLES}

    before = counts()
    for path in [*HTML_PAGES, "/feed.atom", "/termijnen.ics", "/api/commitments", "/api/events",
                 f"/toezegging/{HOSTILE_SLUG}.atom", "/ministerie/BZK.atom", "/toezegging/lobbyregister.ics"]:
        assert (await client.get(path)).status_code == 200, path
    assert counts() == before
    engine.dispose()


def test_the_sites_engine_cannot_write(world: World) -> None:
    from bot.web.app import readonly_engine

    engine = make_engine(world.url)
    ro = readonly_engine(engine)
    assert ro is not engine
    with Session(ro) as session, pytest.raises(Exception, match=re.compile("read.?only", re.I)):
        session.add(CommitmentRow(slug="nieuw", title="x", kind="wetsvoorstel", ministry="BZK", origin="maintainer",
                                  created_at=dt.datetime.now(dt.UTC)))
        session.commit()
    ro.dispose()
    engine.dispose()


def test_a_document_read_from_a_sites_pages_credits_its_source_and_the_day_it_was_read() -> None:
    """The Eerste Kamer's terms ask for the source and the day of retrieval; wetwacht read it the day it made the
    event. A Tweede Kamer or KOOP document needs no such line."""
    from bot.web.pages import group_documents

    vote = {"source": "ek", "id": "ek-2026-11-24-36742", "kst": None, "title": "Wet op de politieke partijen",
            "type": "Stemming Eerste Kamer", "dossier": "36742", "date": "2026-11-24",
            "url": "https://www.eerstekamer.nl/wetsvoorstel/36742_wet_op_de_politieke"}
    memorie = {"source": "ob", "id": "kst-36742-3", "kst": "kst-36742-3", "title": "Memorie van toelichting",
               "type": "Memorie van toelichting", "dossier": "36742", "date": "2025-05-12",
               "url": "https://zoek.officielebekendmakingen.nl/kst-36742-3.html"}
    [credited, plain] = group_documents([vote, memorie], dt.date(2026, 11, 24))
    assert credited.credit == "bron: Eerste Kamer der Staten-Generaal, www.eerstekamer.nl, opgehaald 24 november 2026"
    assert [link.title for link in credited.links] == ["Eerste Kamer", "Tweede Kamer (dossier 36742)"]
    assert plain.credit is None
