"""The Eerste Kamer's votes: numbers as the catalog writes dossiers, the vote list and the bill page parsed from
the reconstructed fixtures (several meeting days, hamerstukken, a rejection, motions, a Rijkswet label), the
walk back, the confirmation on the bill page, the cursor, and the faults (503, changed markup, truncated pages)."""

from __future__ import annotations

import datetime as dt
import json
import random

import httpx
import pytest
import respx

from sources.base import FetchError, Page, ParseError, SourceError
from sources.ek import (
    EersteKamerSource,
    dossier_label,
    item_keys,
    method_outcome,
    parse_bill_page,
    parse_vote_list,
)
from sources.scrape import Pacer, on_site
from tests.sources.helpers import Sleeps, data

BASE = "https://www.eerstekamer.nl"
LIST = f"{BASE}/stemmingen_per_vergaderdag"
BILL_36791 = f"{BASE}/wetsvoorstel/36791_wet_toekomstbestendige"
NOW = dt.datetime(2026, 10, 9, 8, 0, tzinfo=dt.UTC)

P1 = data("ek_stemmingen_p1.html")
P2 = data("ek_stemmingen_p2.html")
BILL = data("ek_wetsvoorstel_36791.html")
NEW_DAY = b"""
<div class="hr clear pre-partitel">
<hr /></div>
<div class="partitel grid-x nowr">
	<div class="titel small-order-1">
<h2><a id="p0"></a>13 oktober 2026
</h2>
</div></div>
<ul class="inlopendetekst stemlijst stemlijst_perdag">
<li class="opsomitem met_image image_breed">
	<div class="opsomitem grid-x nowr">
		<div class="opsomteken">
			<img src="/9370210/g/stemmen_voor.png" alt="Aangenomen">
		</div>
		<div class="opsomtekst">
Wet op de politieke partijen  (<a href="/wetsvoorstel/36742_wet_op_de">36.742</a>)<br />
<a href="/verslagdeel/20261013/wet_op_de">Stemming bij zitten en opstaan, aangenomen</a>
	</div>
</div>
</li>
</ul>
"""


def with_new_day(page: bytes) -> bytes:
    """Page 1 as it reads a week later: a new meeting day on top."""
    marker = b'<div class="hr clear pre-partitel">'
    at = page.index(marker)
    return page[:at] + NEW_DAY + page[at:]


async def collect(source: EersteKamerSource, cursor: str | None) -> list[Page]:
    return [page async for page in source.pages(cursor)]


def source(client: httpx.AsyncClient, sleeps: Sleeps, **kw: object) -> EersteKamerSource:
    return EersteKamerSource(client, BASE, sleep=sleeps, clock=lambda: NOW, rng=random.Random(1), **kw)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("36.791", ("36791", None, False)),
        ("36.600 VII", ("36600-VII", None, False)),
        ("36.455 (R2188)", ("36455", "R2188", False)),
        ("36.945 XXII", ("36945-XXII", None, False)),
        ("37.020, M", ("37020", None, True)),
        ("36.744, G", ("36744", None, True)),
        ("36791", ("36791", None, False)),
        (" 36.374  (R2187) ", ("36374", "R2187", False)),
    ],
    ids=["plain", "budget-chapter", "rijkswet", "chapter-xxii", "motion", "motion-in-bill-dossier", "no-dot",
         "spaces"],
)
def test_dossier_label_is_written_as_the_catalog_writes_dossiers(label: str, expected: tuple[str, str | None, bool]) -> None:
    assert dossier_label(label) == expected


@pytest.mark.parametrize("label", ["", "Hamerstuk", "36.79", "CLVI"], ids=["empty", "word", "short", "roman"])
def test_dossier_label_refuses_what_is_no_number(label: str) -> None:
    with pytest.raises(ValueError, match="not an Eerste Kamer number"):
        dossier_label(label)


@pytest.mark.parametrize(
    ("method", "outcome"),
    [
        ("Hamerstuk", "aangenomen"),
        ("Stemming bij zitten en opstaan, aangenomen", "aangenomen"),
        ("Hoofdelijke stemming, verworpen", "verworpen"),
        ("Algemene stemmen, aangenomen", "aangenomen"),
        ("zonder stemming aangenomen", "aangenomen"),
        ("zonder beraadslaging en zonder stemming aanvaard", "aangenomen"),
        ("Algemene stemmen", None),
        ("Zonder stemmen", None),
        (None, None),
    ],
    ids=["hamerstuk", "zitten-en-opstaan", "hoofdelijk-verworpen", "algemene-stemmen-aangenomen",
         "zonder-stemming", "aanvaard", "algemene-stemmen", "zonder-stemmen", "none"],
)
def test_method_outcome(method: str | None, outcome: str | None) -> None:
    assert method_outcome(method) == outcome


# ----------------------------------------------------------------------------------------------- the list


def test_vote_list_page_1_items() -> None:
    page = parse_vote_list(P1, url=LIST, base=BASE)
    assert [i.day for i in page.items][:1] == [dt.date(2026, 10, 6)]
    assert sorted({i.day for i in page.items}) == [dt.date(2026, 9, 22), dt.date(2026, 9, 29), dt.date(2026, 10, 6)]
    assert len(page.items) == 13
    by_number = {i.number: i for i in page.items}
    motion = by_number["37.020, M"]
    assert motion.motion and motion.bill_url is None and motion.dossier == "37020"
    assert by_number["36.744, G"].motion
    rijkswet = by_number["36.455 (R2188)"]
    assert (rijkswet.dossier, rijkswet.rijkswet, rijkswet.outcome) == ("36455", "R2188", "aangenomen")
    assert rijkswet.title.startswith("Goedkeuring Verdrag tot bescherming personen")
    budget = by_number["36.600 VII"]
    assert budget.dossier == "36600-VII" and budget.method == "Hamerstuk" and budget.outcome == "aangenomen"
    hamer = by_number["36.920"]  # the plain hamerstuk link
    assert hamer.method == "Hamerstuk" and hamer.vote_url == f"{BASE}/id/vn1jzm8uwbxg/verslagdeel/stemming_hamerstuk"
    nested = by_number["36.745"]  # the hamerstuk inside the expandable block, with "aantekening gevraagd"
    assert nested.method == "Hamerstuk" and nested.outcome == "aangenomen"
    occar = by_number["36.952"]  # <abbr> inside the title
    assert occar.title == "Goedkeuring OCCAR- en OCCAR-Beveiligingsverdrag"
    adopted = by_number["36.547"]
    assert adopted.method == "Stemming bij zitten en opstaan, aangenomen"
    assert adopted.vote_url == f"{BASE}/verslagdeel/20260929/wet_modernisering_en_uitbreiding"
    assert adopted.bill_url == f"{BASE}/wetsvoorstel/36547_wet_modernisering_en"
    unclear = by_number["36.791"]  # its image says Verworpen, its method aangenomen
    assert unclear.alt == "verworpen" and unclear.outcome is None
    # The report link of a late sitting is dated the next day; the meeting day is the heading's.
    assert motion.day == dt.date(2026, 10, 6) and "20261007" in (motion.vote_url or "")
    assert page.next_url == f"{LIST}?filter=wetsvoorstellen&start_006=25&dlastinprev=2026-09-22"


def test_vote_list_page_2_has_the_rejection_and_is_the_last() -> None:
    page = parse_vote_list(P2, url=LIST, base=BASE)
    rejected = page.items[0]
    assert (rejected.number, rejected.outcome, rejected.method) == ("36.855", "verworpen",
                                                                    "Hoofdelijke stemming, verworpen")
    assert rejected.title == "Novelle aanpassing strafbaarstelling illegaal verblijf"
    assert page.items[1].dossier == "36945-XXII"
    assert page.next_url is None


def test_links_are_re_rooted_on_the_configured_site_and_never_to_search() -> None:
    local = "http://127.0.0.1:8123"
    page = parse_vote_list(P1, url=local, base=local)
    assert all((i.vote_url or local).startswith(local) for i in page.items)
    assert page.next_url is not None and page.next_url.startswith(local + "/stemmingen_per_vergaderdag?")
    assert on_site(BASE, "https://elsewhere.example/wetsvoorstel/1") == f"{BASE}/wetsvoorstel/1"
    assert on_site(BASE, "/zoeken?q=36791&type=wetsvoorstel") is None
    assert on_site(BASE, "mailto:griffie@eerstekamer.nl") is None


def test_item_keys_count_repeats_of_one_number_on_one_day() -> None:
    page = parse_vote_list(P1, url=LIST, base=BASE)
    items = [page.items[1], page.items[1], page.items[2]]
    assert item_keys(items) == ["2026-10-06|36.920|1", "2026-10-06|36.920|2", "2026-10-06|36.932|1"]


# --------------------------------------------------------------------------------------- markup changes


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        (lambda p: p.replace(b"stemlijst", b"uitslagen"), "ul.stemlijst"),
        (lambda p: p.replace(b'class="partitel', b'class="kop'), "div.partitel h2"),
        (lambda p: p.replace(b"6 oktober 2026", b"zes oktober"), "is not a date"),
        (lambda p: p.replace(b'alt="Aangenomen"', b'alt=""').replace(b'alt="Verworpen"', b'alt=""'),
         "div.opsomteken img"),
        (lambda p: p.replace(b"/wetsvoorstel/36920_", b"/dossier/36920_"), "a[href^='/wetsvoorstel/']"),
        (lambda p: p.replace(b'<div class="opsomtekst">\nWet vereenvoudiging', b'<div class="tekst">\nWet'),
         "div.opsomtekst"),
        (lambda p: p.replace(b">36.932<", b">zesendertig<"), "is not an Eerste Kamer number"),
    ],
    ids=["list-class", "day-heading", "heading-text", "outcome-images", "bill-link", "item-text", "number"],
)
def test_a_changed_vote_list_is_a_parse_error_naming_the_element(change: object, missing: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_vote_list(change(P1), url=LIST, base=BASE)  # type: ignore[operator]
    assert missing in str(info.value)
    assert info.value.url == LIST


def test_a_list_without_items_is_an_error_not_zero_results() -> None:
    start = P1.index(b'<li class="opsomitem met_image image_breed">')
    end = P1.index(b"</ul>", P1.index(b"36952_goedkeuring"))
    with pytest.raises(ParseError, match="holds no items"):
        parse_vote_list(P1[:start] + P1[end:], url=LIST, base=BASE)


@pytest.mark.parametrize("body", [P1[: len(P1) // 2], b"", b"   "], ids=["truncated", "empty", "blank"])
def test_a_truncated_or_empty_page_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_vote_list(body, url=LIST, base=BASE)
    assert info.value.url == LIST


# --------------------------------------------------------------------------------------------- bill page


def test_bill_page_progress_blocks_and_vote_date() -> None:
    progress = parse_bill_page(BILL, url=BILL_36791)
    assert progress.states == ("vol", "vol", "vol", "geblokt")
    assert progress.vote_dates == (dt.date(2026, 9, 29),)
    assert progress.outcome(dt.date(2026, 9, 29)) == "aangenomen"
    assert progress.outcome(dt.date(2026, 9, 28)) == "aangenomen"  # a sitting past midnight
    assert progress.outcome(dt.date(2026, 9, 22)) is None  # not the vote of that day


def test_bill_page_still_in_schriftelijke_voorbereiding_confirms_nothing() -> None:
    waiting = BILL.replace(b'<div class="voortgangBlok3"><div class="vol">', b'<div class="voortgangBlok3"><div class="leeg">')
    waiting = waiting.replace(b'<div class="voortgangBlok4"><div class="geblokt">', b'<div class="voortgangBlok4"><div class="leeg">')
    assert parse_bill_page(waiting, url=BILL_36791).outcome(dt.date(2026, 9, 29)) is None


def test_bill_page_rejected_label() -> None:
    rejected = BILL.replace(b'<span class="fase ellip">Plenair</span>', b'<span class="fase ellip"><strong>Verworpen</strong></span>')
    rejected = rejected.replace(b'<div class="voortgangBlok4"><div class="geblokt">', b'<div class="voortgangBlok4"><div class="leeg">')
    assert parse_bill_page(rejected, url=BILL_36791).outcome(dt.date(2026, 9, 29)) == "verworpen"


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        (lambda p: p.replace(b'id="voortgangModule"', b'id="voortgang"'), "div#voortgangModule"),
        (lambda p: p.replace(b"voortgangBlok3", b"voortgangStap3"), "div.voortgangBlok3"),
        (lambda p: p.replace(b'<div class="voortgangBlok4"><div class="geblokt">', b'<div class="voortgangBlok4"><div class="actief">'),
         "div.voortgangBlok4 has no state"),
        (lambda p: p[: len(p) // 2], "truncated"),
    ],
    ids=["module", "block", "state", "truncated"],
)
def test_a_changed_bill_page_is_a_parse_error(change: object, missing: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_bill_page(change(BILL), url=BILL_36791)  # type: ignore[operator]
    assert missing in str(info.value) and info.value.url == BILL_36791


# ------------------------------------------------------------------------------------------------ source


def route_site(p1: bytes = P1, p2: bytes = P2, bill: bytes = BILL) -> dict[str, respx.Route]:
    return {
        "p1": respx.get(LIST, params={"filter": "wetsvoorstellen"}).mock(
            side_effect=lambda request: httpx.Response(200, content=p1 if "start_006" not in request.url.params else p2)),
        "bill": respx.get(BILL_36791).mock(return_value=httpx.Response(200, content=bill)),
    }


@respx.mock
async def test_first_run_now_reads_the_first_page_as_backlog_and_confirms_the_unclear_item() -> None:
    routes = route_site()
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        pages = await collect(source(client, sleeps), None)
    [page] = pages
    assert page.caught_up and page.requests == 2 == routes["p1"].call_count + routes["bill"].call_count
    docs = {d.dossier: d for d in page.documents}
    assert set(docs) == {"36920", "36932", "36952", "36791", "36547", "36455", "36880", "36745", "36847", "36744",
                         "36600-VII"}  # 13 items less the two motions
    confirmed = docs["36791"]
    assert confirmed.extra["uitslag"] == "aangenomen" and confirmed.extra["bevestigd"] == "wetsvoorstelpagina"
    assert confirmed.url == f"{BASE}/verslagdeel/20260929/wet_toekomstbestendige"
    rw = docs["36455"]
    assert (rw.source, rw.id, rw.chamber, rw.date) == ("ek", "2026-09-29/36455", "EK", dt.date(2026, 9, 29))
    assert rw.extra["rijkswetnummer"] == "R2188" and rw.extra["nummer"] == "36.455 (R2188)"
    assert rw.extra["bron"] == "Eerste Kamer der Staten-Generaal, www.eerstekamer.nl"
    assert rw.extra["opgehaald"] == "2026-10-09"
    assert [d.date for d in page.documents] == sorted(d.date for d in page.documents if d.date)  # oldest first
    cursor = json.loads(page.cursor)
    assert cursor["latest"] == "2026-10-06"
    assert "2026-10-06|37.020, M|1" in cursor["seen"] and "2026-09-29|36.791|1" in cursor["seen"]
    # Politeness: one page every 1-2 s, never two requests back to back.
    assert len(sleeps.calls) == 1 and 1.0 <= sleeps.calls[0] <= 2.0
    assert all(c.request.url.path != "/zoeken" for c in respx.calls)


@respx.mock
async def test_next_run_reads_only_the_new_day_and_stops_at_a_page_already_seen() -> None:
    route_site()
    async with httpx.AsyncClient() as client:
        [first] = await collect(source(client, Sleeps()), None)
    respx.reset()
    routes = route_site(p1=with_new_day(P1))
    async with httpx.AsyncClient() as client:
        [page] = await collect(source(client, Sleeps()), first.cursor)
    [doc] = page.documents
    assert (doc.id, doc.dossier, doc.title, doc.extra["uitslag"]) == ("2026-10-13/36742", "36742",
                                                                       "Wet op de politieke partijen", "aangenomen")
    assert doc.extra["methode"] == "Stemming bij zitten en opstaan, aangenomen" and "bevestigd" not in doc.extra
    assert routes["p1"].call_count == 1 and routes["bill"].call_count == 0
    assert json.loads(page.cursor)["latest"] == "2026-10-13"
    respx.reset()
    route_site(p1=with_new_day(P1))
    async with httpx.AsyncClient() as client:
        [again] = await collect(source(client, Sleeps()), page.cursor)
    assert again.documents == () and again.requests == 1  # the same input twice changes nothing


@respx.mock
async def test_after_an_outage_it_walks_back_until_a_page_already_seen() -> None:
    page2 = parse_vote_list(P2, url=LIST, base=BASE)
    cursor = json.dumps({"latest": "2026-04-21", "seen": item_keys(list(page2.items))})
    routes = route_site()
    async with httpx.AsyncClient() as client:
        [page] = await collect(source(client, Sleeps()), cursor)
    assert routes["p1"].call_count == 2  # page 1, then "eerdere stemmingen": page 2 was seen
    assert {d.date for d in page.documents} == {dt.date(2026, 9, 22), dt.date(2026, 9, 29), dt.date(2026, 10, 6)}


@respx.mock
async def test_a_start_date_walks_back_to_it() -> None:
    routes = route_site()
    async with httpx.AsyncClient() as client:
        [page] = await collect(source(client, Sleeps(), start=dt.date(2026, 4, 15)), None)
    assert routes["p1"].call_count == 2
    dates = [d.date for d in page.documents]
    assert dates[0] == dt.date(2026, 4, 21) and dt.date(2026, 4, 14) not in dates
    rejected = next(d for d in page.documents if d.dossier == "36855")
    assert rejected.extra["uitslag"] == "verworpen" and rejected.extra["methode"] == "Hoofdelijke stemming, verworpen"


@respx.mock
async def test_an_unconfirmed_item_waits_for_the_next_poll_then_is_given_up() -> None:
    waiting = BILL.replace(b'<div class="voortgangBlok4"><div class="geblokt">', b'<div class="voortgangBlok4"><div class="leeg">')
    waiting = waiting.replace(b'<div class="voortgangBlok3"><div class="vol">', b'<div class="voortgangBlok3"><div class="geblokt">')
    routes = route_site(bill=waiting)
    next_day = dt.datetime(2026, 9, 30, 9, 0, tzinfo=dt.UTC)
    async with httpx.AsyncClient() as client:
        soon = EersteKamerSource(client, BASE, sleep=Sleeps(), clock=lambda: next_day)
        [page] = await collect(soon, None)
        assert "36791" not in {d.dossier for d in page.documents}
        assert "2026-09-29|36.791|1" not in json.loads(page.cursor)["seen"]
        [again] = await collect(soon, page.cursor)
        assert again.documents == () and routes["bill"].call_count == 2  # tried again
        later = EersteKamerSource(client, BASE, sleep=Sleeps(), clock=lambda: next_day + dt.timedelta(days=7))
        [late] = await collect(later, again.cursor)
    assert late.documents == () and "2026-09-29|36.791|1" in json.loads(late.cursor)["seen"]


@respx.mock
async def test_503_is_retried_and_a_lasting_one_fails_the_run() -> None:
    respx.get(LIST).mock(side_effect=[httpx.Response(503, text="<html>busy</html>"), httpx.Response(200, content=P1),
                                      *[httpx.Response(503, text="<html>busy</html>")] * 5])
    respx.get(BILL_36791).mock(return_value=httpx.Response(200, content=BILL))
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        [page] = await collect(source(client, sleeps), None)
        assert len(page.documents) == 11 and len(sleeps.calls) == 2  # one backoff, one page pause
        with pytest.raises(FetchError) as info:
            await collect(source(client, Sleeps()), page.cursor)
    assert info.value.status == 503


@respx.mock
async def test_a_changed_page_fails_the_run_and_the_cursor_is_not_advanced() -> None:
    respx.get(LIST).mock(return_value=httpx.Response(200, content=P1.replace(b"stemlijst", b"lijst")))
    async with httpx.AsyncClient() as client:
        pages: list[Page] = []
        with pytest.raises(ParseError, match=r"ul\.stemlijst"):
            async for page in source(client, Sleeps()).pages(None):
                pages.append(page)
    assert pages == []


async def test_a_corrupt_cursor_fails_instead_of_starting_over() -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(SourceError, match="cursor is unreadable"):
            await collect(source(client, Sleeps()), "{not json")


async def test_search_is_never_fetched() -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(SourceError, match="robots\\.txt"):
            await Pacer(client, sleep=Sleeps()).get(f"{BASE}/zoeken?q=36791&type=wetsvoorstel")


@respx.mock
async def test_paging_through_a_long_list_with_a_day_split_over_two_pages() -> None:
    from tests.fakes.sites import FakeEersteKamer

    site = FakeEersteKamer(page_size=3, backlog=False)
    for n in range(5):
        site.add_vote(dt.date(2026, 10, 6), f"Wet nummer {n}", f"36.90{n}", method="Hamerstuk")
    site.add_vote(dt.date(2026, 9, 29), "Wet toekomstbestendige huurcommissie", "36.791")

    def answer(request: httpx.Request) -> httpx.Response:
        status, _ctype, body, _headers = site.answer(request.url.path, dict(request.url.params), changed=False)
        return httpx.Response(status, content=body)

    route = respx.get(url__startswith=BASE).mock(side_effect=answer)
    second = site.list_html(3).decode()
    assert "6 oktober 2026 (vervolg)" in second and "eerdere stemmingen" not in second
    async with httpx.AsyncClient() as client:
        [page] = await collect(source(client, Sleeps(), start=dt.date(2026, 9, 1)), None)
        assert [d.dossier for d in page.documents] == ["36791", "36900", "36901", "36902", "36903", "36904"]
        assert route.call_count == 2
        site.add_vote(dt.date(2026, 10, 13), "Wet op de politieke partijen", "36.742")
        [news] = await collect(source(client, Sleeps()), page.cursor)
    assert [d.dossier for d in news.documents] == ["36742"] and route.call_count == 3
