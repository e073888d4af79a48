"""The Eerste Kamer's votes on bills, from eerstekamer.nl (`WETWACHT_EK_URL`), source ``ek``.

The Tweede Kamer open data hold no Eerste Kamer data and officielebekendmakingen carries the Senate's Handelingen
about four weeks after the vote (reference note ek_consultatie.md §1a); the Senate's own site lists a vote the
same day or the next. What is read, and how (markup per §2b/§2c, as three independent parsers read it):

- **The vote list per meeting day**, ``/stemmingen_per_vergaderdag?filter=wetsvoorstellen``, newest first, 25
  items a page. Each meeting day is an ``<h2>`` ("29 september 2026", a continued day "… (vervolg)") inside a
  ``div.partitel``, followed by a ``ul.stemlijst`` of ``li.opsomitem``. An item holds the outcome as the alt of
  its image (``div.opsomteken img``: ``Aangenomen`` / ``Verworpen``), the bill's short title and its number as a
  link to the bill page (``<a href="/wetsvoorstel/36791_…">36.791</a>``), and the method as a link
  ("Stemming bij zitten en opstaan, aangenomen", "Hoofdelijke stemming, verworpen", "Hamerstuk") to the report
  of the vote (``/verslagdeel/…``, ``/id/…/verslagdeel/stemming_hamerstuk``). "Hamerstuk" and "zonder stemming
  aangenomen" both mean adopted. The meeting day is the heading's, not the report link's: a late sitting runs
  past midnight (``/verslagdeel/20261007/…`` under "6 oktober 2026").
- **Motions** (``/motiedossier/…``, numbers like ``37.020, M``) are not votes on a bill: they are read (a page of
  motions is not an empty page) and left out.
- **Numbers** are written as the catalog writes dossiers: ``36.791`` is ``36791``, ``36.600 VII`` is
  ``36600-VII``; a Rijkswet's ``36.455 (R2188)`` is dossier ``36455`` with ``R2188`` kept apart in
  ``Document.extra["rijkswetnummer"]``.
- **Where an item is unclear** (no outcome image, or an image and a method that disagree) the bill page decides:
  its progress module (``div#voortgangModule``) has four blocks whose first div is ``vol`` (done), ``geblokt``
  (current) or ``leeg``. Block 3 ``vol`` and block 4 ``geblokt``/``vol`` is adopted (awaiting or in the
  Staatsblad); a ``span.fase`` reading "Verworpen" is rejected (seen only in a third party's comment); the vote
  date is block 3's ``data-bs-title="stemming - 29 september 2026"`` and must be the meeting day (or the next:
  past midnight). An item the bill page cannot confirm yet is tried again at the next poll, for
  `confirm_days` days, and then given up with a warning.

Walking back: the first page, then its "eerdere stemmingen" link, until a page holds an item already seen, or
only days before the newest one already seen, or there is no earlier page (at most `max_pages`).

Cursor: JSON ``{"latest": "2026-09-29", "seen": ["2026-09-29|36.791|1", …]}``: the newest meeting day read
and the keys (meeting day, number as written, n-th such item that day) of the items read, kept for
`retention_days` before `latest`. One run yields one `Page`, its documents oldest first, with the new cursor:
the walk back must finish before any of it is stored, or a crash between pages would skip the older ones.

First run: with ``start="now"`` the first page is read and its items are yielded as what the site already holds
(the pipeline keeps them as backlog: no events). With a date, the walk goes back to that date.

Document: ``source`` ``ek``, ``id`` ``2026-09-29/36791`` (``…/2`` for a second vote on the same bill that
day), ``kind`` ``Stemming Eerste Kamer``, ``title`` the bill's short title, ``dossier``, ``date`` the meeting
day, ``url`` the report of the vote (else the bill page); ``extra``: ``uitslag`` (aangenomen / verworpen),
``methode``, ``nummer`` (as written), ``rijkswetnummer``, ``wetsvoorstel`` (the bill page), ``bevestigd``
(when the bill page confirmed it), and the credit the site's terms ask for: ``bron`` and ``opgehaald`` (the day
of retrieval).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
import re
import urllib.parse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Literal

import httpx
from bs4 import Tag

from sources.base import Document, Page, ParseError, SourceError, start_day
from sources.http import Sleep
from sources.scrape import Pacer, dutch_date, html, on_site, squash

log = logging.getLogger(__name__)

LIST_PATH = "/stemmingen_per_vergaderdag"
LIST_QUERY = "filter=wetsvoorstellen"
KIND = "Stemming Eerste Kamer"
ENTITY = "Stemming Eerste Kamer"
ATTRIBUTION = "Eerste Kamer der Staten-Generaal, www.eerstekamer.nl"
Outcome = Literal["aangenomen", "verworpen"]
ADOPTED: Outcome = "aangenomen"
REJECTED: Outcome = "verworpen"

_ALT: dict[str, Outcome] = {"aangenomen": ADOPTED, "verworpen": REJECTED}
# "36.791", "36.600 VII", "36.455 (R2188)", "36.945 XXII"; a motion adds ", M".
_NUMBER = re.compile(
    r"^(?P<number>\d{1,3}(?:\.\d{3})+|\d{4,6})"
    r"(?:[\s-]+(?P<chapter>[A-Z][A-Z0-9]{0,5}))?"
    r"(?:\s*\(\s*(?P<rijkswet>R\d{3,5})\s*\))?"
    r"(?:\s*,\s*(?P<motion>[A-Z]{1,3}))?$"
)
_STATES = ("vol", "geblokt", "leeg")


def dossier_label(label: str) -> tuple[str, str | None, bool]:
    """(dossier as the catalog writes it, rijkswet number, whether it is a motion's number) for a number as the
    vote list writes it: ``36.600 VII`` -> ``("36600-VII", None, False)``, ``36.455 (R2188)`` ->
    ``("36455", "R2188", False)``, ``37.020, M`` -> ``("37020", None, True)``. ValueError when it is none."""
    m = _NUMBER.match(squash(label))
    if m is None:
        raise ValueError(f"not an Eerste Kamer number: {label!r}")
    dossier = m.group("number").replace(".", "")
    if m.group("chapter"):
        dossier = f"{dossier}-{m.group('chapter')}"
    return dossier, m.group("rijkswet"), m.group("motion") is not None


def method_outcome(method: str | None) -> Outcome | None:
    """What a method says of the outcome: "Hamerstuk" and "zonder stemming aangenomen/aanvaard" are adopted,
    "…, aangenomen" adopted, "…, verworpen" rejected; "Algemene stemmen" alone says nothing."""
    text = squash(method).lower()
    if not text:
        return None
    if "verworpen" in text:
        return REJECTED
    if "hamerstuk" in text or "aangenomen" in text or "aanvaard" in text:
        return ADOPTED
    return None


@dataclass(frozen=True, slots=True)
class VoteItem:
    """One item of the vote list as written."""

    day: dt.date
    title: str
    number: str  # as written: "36.455 (R2188)"
    dossier: str  # as the catalog writes it: "36455", "36600-VII"
    rijkswet: str | None
    motion: bool
    bill_url: str | None
    alt: Outcome | None  # from the image
    method: str | None
    vote_url: str | None
    where: str  # for messages: "item 3 under '29 september 2026'"

    @property
    def outcome(self) -> Outcome | None:
        """The outcome when the image and the method agree (or only one of them speaks); else None."""
        said = {o for o in (self.alt, method_outcome(self.method)) if o is not None}
        return said.pop() if len(said) == 1 else None


@dataclass(frozen=True, slots=True)
class VotePage:
    url: str
    items: tuple[VoteItem, ...]
    next_url: str | None

    @property
    def oldest(self) -> dt.date:
        return min(i.day for i in self.items)


@dataclass(frozen=True, slots=True)
class BillProgress:
    """The progress module of a bill page: the state of blocks 1-4, the vote dates of block 3, and whether a
    phase label reads "Verworpen"."""

    states: tuple[str, str, str, str]
    vote_dates: tuple[dt.date, ...]
    rejected: bool

    def outcome(self, day: dt.date) -> Outcome | None:
        """The outcome of a vote on `day` as this page shows it, or None when the page does not (yet) show
        it: no vote date on that day (or the next, past midnight), or the plenary block not done."""
        if not any(day <= d <= day + dt.timedelta(days=1) for d in self.vote_dates):
            return None
        if self.rejected:
            return REJECTED
        if self.states[2] == "vol" and self.states[3] in ("geblokt", "vol"):
            return ADOPTED
        return None


def _classes(tag: Tag) -> list[str]:
    value = tag.get("class")
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _href(tag: Tag) -> str:
    value = tag.get("href")
    return value if isinstance(value, str) else ""


def _path(href: str) -> str:
    return urllib.parse.urlsplit(href.strip()).path


def _title_before(link: Tag) -> str:
    # The short title is the text before the number's link: "Wet toekomstbestendige huurcommissie  (<a>36.791</a>)".
    parts: list[str] = []
    for sibling in link.previous_siblings:
        parts.append(sibling.get_text() if isinstance(sibling, Tag) else str(sibling))
    return squash("".join(reversed(parts))).rstrip("( ").strip()


def _item(li: Tag, day: dt.date, where: str, *, url: str, base: str) -> VoteItem:
    text = li.find("div", class_="opsomtekst")
    if not isinstance(text, Tag):
        raise ParseError(f"{where} has no div.opsomtekst", url=url, position=where)
    links = [a for a in text.find_all("a", href=True) if isinstance(a, Tag)]
    number_link = next((a for a in links if _path(_href(a)).startswith(("/wetsvoorstel/", "/motiedossier/"))), None)
    if number_link is None:
        raise ParseError(f"{where} names no bill: a[href^='/wetsvoorstel/'] is missing", url=url, position=where)
    number = squash(number_link.get_text())
    try:
        dossier, rijkswet, motion = dossier_label(number)
    except ValueError:
        raise ParseError(f"{where}: {number!r} is not an Eerste Kamer number", url=url, position=where) from None
    title = _title_before(number_link) or number
    motion = motion or _path(_href(number_link)).startswith("/motiedossier/") or title.lower().startswith("motie")
    method_link = next((a for a in links if a is not number_link
                        and not _path(_href(a)).startswith(("/wetsvoorstel/", "/motiedossier/"))), None)
    method = squash(method_link.get_text()) if method_link is not None else None
    image = li.select_one("div.opsomteken img")
    alt = _ALT.get(squash(str(image.get("alt") or "")).lower()) if image is not None else None
    bill_url = on_site(base, _href(number_link)) if not motion else None
    vote_url = on_site(base, _href(method_link)) if method_link is not None else None
    return VoteItem(day=day, title=title, number=number, dossier=dossier, rijkswet=rijkswet, motion=motion,
                    bill_url=bill_url, alt=alt, method=method or None, vote_url=vote_url, where=where)


def parse_vote_list(content: bytes, *, url: str, base: str) -> VotePage:
    """One page of the vote list. A page without a vote list, a list without items, a heading that is no date
    or an item that names no bill is a `ParseError` naming the element: the page has changed."""
    soup = html(content, url=url)
    found = soup.find(id="main_content_wrapper")
    root: Tag = found if isinstance(found, Tag) else soup
    lists = [ul for ul in root.find_all("ul") if isinstance(ul, Tag) and "stemlijst" in _classes(ul)]
    if not lists:
        raise ParseError("no vote list on the page: ul.stemlijst is missing", url=url)
    items: list[VoteItem] = []
    for n, ul in enumerate(lists, start=1):
        heading = ul.find_previous(lambda t: t.name == "h2" and t.find_parent(class_="partitel") is not None)
        if not isinstance(heading, Tag):
            raise ParseError(f"vote list {n} has no meeting day: div.partitel h2 is missing", url=url)
        label = squash(heading.get_text())
        day = dutch_date(label)
        if day is None:
            raise ParseError(f"the heading {label!r} above vote list {n} is not a date", url=url)
        entries = [li for li in ul.find_all("li", recursive=False) if isinstance(li, Tag)]
        if not entries:
            raise ParseError(f"the vote list of {label!r} holds no items: li.opsomitem is missing", url=url)
        for i, li in enumerate(entries, start=1):
            items.append(_item(li, day, f"item {i} under {label!r}", url=url, base=base))
    if not any(i.alt for i in items):
        # One unclear item is confirmed on its bill page; a page where no item has its image has changed.
        raise ParseError("no item shows its outcome: div.opsomteken img[alt=Aangenomen|Verworpen] is missing",
                         url=url)
    earlier = next((a for a in root.find_all("a", href=True)
                    if isinstance(a, Tag) and "eerdere stemmingen" in squash(a.get_text()).lower()), None)
    next_url = on_site(base, _href(earlier)) if isinstance(earlier, Tag) else None
    return VotePage(url=url, items=tuple(items), next_url=next_url)


def parse_bill_page(content: bytes, *, url: str) -> BillProgress:
    """The progress module of a bill page (`BillProgress`). Without the module or one of its four blocks, or a
    block without its state, the page has changed: a `ParseError` naming the element."""
    soup = html(content, url=url)
    module = soup.find(id="voortgangModule")
    if not isinstance(module, Tag):
        raise ParseError("the bill page has no progress module: div#voortgangModule is missing", url=url)
    states: list[str] = []
    vote_dates: list[dt.date] = []
    for n in range(1, 5):
        block = module.find("div", class_=f"voortgangBlok{n}")
        if not isinstance(block, Tag):
            raise ParseError(f"div.voortgangBlok{n} is missing from div#voortgangModule", url=url)
        state = next((c for child in block.find_all("div", recursive=False) if isinstance(child, Tag)
                      for c in _classes(child) if c in _STATES), None)
        if state is None:
            raise ParseError(f"div.voortgangBlok{n} has no state (div.vol, div.geblokt or div.leeg)", url=url)
        states.append(state)
        if n == 3:
            for a in block.select("div.doc a[data-bs-title]"):
                title = squash(str(a.get("data-bs-title") or ""))
                kind, _, when = title.partition(" - ")
                if kind.lower().startswith(("stemming", "hamerstuk")):
                    day = dutch_date(when)
                    if day is not None:
                        vote_dates.append(day)
    rejected = any("verworpen" in squash(s.get_text()).lower() for s in module.select("span.fase"))
    return BillProgress(states=(states[0], states[1], states[2], states[3]), vote_dates=tuple(vote_dates),
                        rejected=rejected)


# ------------------------------------------------------------------------------------------------ the source


@dataclass
class _State:
    latest: dt.date | None = None
    seen: set[str] = field(default_factory=set)

    def encode(self) -> str:
        return json.dumps({"latest": self.latest.isoformat() if self.latest else None, "seen": sorted(self.seen)},
                          separators=(",", ":"))

    @classmethod
    def decode(cls, cursor: str | None) -> _State:
        if cursor is None or not cursor.strip():
            return cls()
        try:
            value = json.loads(cursor)
            latest = dt.date.fromisoformat(value["latest"]) if value.get("latest") else None
            seen = value.get("seen", [])
            if not isinstance(seen, list) or not all(isinstance(s, str) for s in seen):
                raise TypeError("seen is not a list of strings")
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SourceError(f"stored Eerste Kamer cursor is unreadable: {exc}") from None
        return cls(latest=latest, seen=set(seen))


def _day_of(key: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(key.split("|", 1)[0])
    except ValueError:
        return None


def item_keys(items: list[VoteItem]) -> list[str]:
    """The key of each item: meeting day, number as written, and the n-th such item that day (two votes on one
    bill in one sitting stay two)."""
    count: dict[tuple[dt.date, str], int] = {}
    keys: list[str] = []
    for item in items:
        n = count[(item.day, item.number)] = count.get((item.day, item.number), 0) + 1
        keys.append(f"{item.day.isoformat()}|{item.number}|{n}")
    return keys


class EersteKamerSource:
    """The Eerste Kamer's votes on bills as a `Source` (see the module docstring)."""

    name = "ek"

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        start: Literal["now"] | dt.date = "now",
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], dt.datetime] | None = None,
        page_pause: float = 1.0,
        max_pages: int = 40,
        confirm_days: int = 3,
        retention_days: int = 45,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.url = url.rstrip("/")
        self.start: Literal["now"] | dt.date = start_day(start)
        self.sleep = sleep
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.page_pause = page_pause
        self.max_pages = max_pages
        self.confirm_days = confirm_days
        self.retention = dt.timedelta(days=retention_days)
        self.rng = rng

    def __repr__(self) -> str:
        return f"EersteKamerSource(url={self.url!r})"

    @property
    def list_url(self) -> str:
        return f"{self.url}{LIST_PATH}?{LIST_QUERY}"

    async def _page(self, pacer: Pacer, url: str) -> VotePage:
        response = await pacer.get(url)
        return parse_vote_list(response.content, url=str(response.request.url), base=self.url)

    async def _walk(self, pacer: Pacer, state: _State, *, until: dt.date | None, first_only: bool) -> list[VoteItem]:
        """The items of the pages read back from the newest, in list order (newest first)."""
        items: list[VoteItem] = []
        url: str | None = self.list_url
        pages = 0
        while url is not None:
            page = await self._page(pacer, url)
            pages += 1
            items.extend(page.items)
            keys = set(item_keys(items))
            if first_only:
                break
            if state.seen & keys or (state.latest is not None and page.oldest < state.latest):
                break  # a page already seen: everything before it was read by an earlier run
            if until is not None and page.oldest < until:
                break
            if pages >= self.max_pages:
                log.warning("Eerste Kamer: stopped walking back after %d pages at %s without reaching a page already "
                            "seen; older votes, if any, are not read", pages, page.oldest)
                break
            url = page.next_url
        return items

    async def _confirm(self, pacer: Pacer, item: VoteItem) -> Outcome | None:
        if item.bill_url is None:
            return None
        response = await pacer.get(item.bill_url)
        progress = parse_bill_page(response.content, url=str(response.request.url))
        return progress.outcome(item.day)

    def _document(self, item: VoteItem, outcome: Outcome, *, confirmed: bool, today: dt.date, n: int) -> Document:
        extra = {
            "uitslag": outcome, "methode": item.method, "nummer": item.number, "rijkswetnummer": item.rijkswet,
            "wetsvoorstel": item.bill_url, "bevestigd": "wetsvoorstelpagina" if confirmed else None,
            "vergaderdag": item.day.isoformat(), "bron": ATTRIBUTION, "opgehaald": today.isoformat(),
        }
        ident = f"{item.day.isoformat()}/{item.dossier}" + (f"/{n}" if n > 1 else "")
        return Document(source="ek", id=ident, kind=KIND, title=item.title, entity=ENTITY, dossier=item.dossier,
                        chamber="EK", date=item.day, url=item.vote_url or item.bill_url,
                        extra={k: v for k, v in extra.items() if v})

    async def pages(self, cursor: str | None) -> AsyncIterator[Page]:
        """One run: walk back to what was seen, confirm what is unclear, yield the new votes oldest first."""
        state = _State.decode(cursor)
        pacer = Pacer(self.client, sleep=self.sleep, page_pause=self.page_pause, rng=self.rng)
        first = cursor is None
        until = self.start if first and isinstance(self.start, dt.date) else None
        items = await self._walk(pacer, state, until=until, first_only=first and self.start == "now")
        today = self.clock().date()
        keys = item_keys(items)
        documents: list[Document] = []
        skipped = 0
        # Oldest meeting day first; within a day, in the list's order.
        for item, key in sorted(zip(items, keys, strict=True), key=lambda pair: pair[0].day):
            if key in state.seen:
                continue
            if until is not None and item.day < until:
                state.seen.add(key)
                continue
            if item.motion:
                state.seen.add(key)  # a motion is not a vote on a bill
                skipped += 1
                continue
            outcome, confirmed = item.outcome, False
            if outcome is None:
                outcome, confirmed = await self._confirm(pacer, item), True
            if outcome is None:
                if (today - item.day).days > self.confirm_days:
                    log.warning("Eerste Kamer: %s (%s, %s) could not be confirmed on its bill page within %d days; "
                                "given up", item.where, item.number, item.title, self.confirm_days)
                    state.seen.add(key)
                else:
                    log.info("Eerste Kamer: %s (%s) is unclear and its bill page does not confirm it yet; tried "
                             "again at the next poll", item.where, item.number)
                continue
            state.seen.add(key)
            documents.append(self._document(item, outcome, confirmed=confirmed, today=today,
                                            n=int(key.rsplit("|", 1)[1])))
        if items:
            newest = max(i.day for i in items)
            state.latest = newest if state.latest is None or newest > state.latest else state.latest
        if state.latest is not None:
            edge = state.latest - self.retention
            state.seen = {k for k in state.seen if (d := _day_of(k)) is None or d >= edge}
        log.info("Eerste Kamer: %d items read, %d new votes on bills, %d motions left out", len(items),
                 len(documents), skipped)
        yield Page(cursor=state.encode(), documents=tuple(documents), requests=pacer.made, caught_up=True)
