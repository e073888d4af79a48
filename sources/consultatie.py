"""internetconsultatie.nl (`WETWACHT_CONSULTATIE_URL`), source ``ic``: the draft bills the government puts out for
consultation, the first public stage of a bill (``consultatie`` in CONTRACT.md).

What is read (reference note ek_consultatie.md §3):

- **The open consultations**, ``/rest/openconsultaties/``: XML with root ``<consultaties>`` and one
  ``<consultatie>`` per open consultation (``titel``, ``url``, ``startdatum``/``einddatum`` as ``dd-mm-yyyy``,
  ``departementen/departement``). Its key is the slug of the URL (``…/isde`` is ``isde``); the list is read whole
  every poll and its slugs are compared with those already seen (tkconv's strategy, §3a). The endpoint is
  known from one source only and undocumented: an empty list, or one that is not this XML, is a `ParseError`
  rather than "nothing open" (there are always dozens open).
- **Each new consultation's page**, ``/{slug}/b1``: the title (``div.row--contentheading h1``), the metadata
  table (``table.table__data-overview``, rows of ``th``/``td``, or ``td``/``td`` as one capture writes them):
  ``Type consultatie`` (``Wet``, ``AMvB``, …), ``Organisatie``, ``Startdatum consultatie``,
  ``Einddatum consultatie``, ``Status``, ``Keten-ID`` (the Wetgevingskalender's number); and the intro
  (``p.p-intro``, else the paragraph after "In het kort"). A page without a title or without a row
  ``Type consultatie`` has changed: a `ParseError` naming the element.

Cursor: JSON ``{"seen": ["isde", …]}``, the slugs read. Each consultation read is one `Page` carrying the slugs
read so far (a crash re-reads at most one page); the last page's cursor is the list as it stands, so a
consultation that closed is forgotten.

First run: with ``start="now"`` every open consultation is read and yielded as what the site already holds (the
pipeline keeps it as backlog: no events). With a date, the ones that opened before it are marked seen unread.

Document: ``source`` ``ic``, ``id`` the slug, ``kind`` and ``entity`` ``Internetconsultatie``, ``title``, ``date``
the start of the consultation, ``url`` its page; ``extra``: ``type``, ``organisatie``, ``startdatum``,
``einddatum``, ``status``, ``keten_id``, ``onderwerpen``, ``intro``, ``departementen``, ``bron`` and
``opgehaald`` (the source and the day of retrieval, for the credit).
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
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from bs4 import Tag

from sources.base import Document, Page, ParseError, SourceError, start_day
from sources.http import Sleep
from sources.scrape import Pacer, html, numeric_date, squash
from sources.syncfeed import parse_xml

log = logging.getLogger(__name__)

LIST_PATH = "/rest/openconsultaties/"
KIND = "Internetconsultatie"
ATTRIBUTION = "internetconsultatie.nl (Rijksoverheid)"
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,149}$")
# The labels of the metadata table, as the site writes them, by the key they get in Document.extra.
_FIELDS = {
    "type consultatie": "type", "organisatie": "organisatie", "startdatum consultatie": "startdatum",
    "einddatum consultatie": "einddatum", "status": "status", "keten-id": "keten_id", "onderwerpen": "onderwerpen",
}
_DATES = frozenset({"startdatum", "einddatum"})


def slug_of(url: str) -> str | None:
    """The consultation's key in its URL: ``https://www.internetconsultatie.nl/isde`` and ``…/isde/b1`` are
    ``isde``. None when the URL names no consultation."""
    path = urllib.parse.urlsplit(url.strip()).path
    first = next((p for p in path.split("/") if p), "")
    first = urllib.parse.unquote(first)
    return first if _SLUG.match(first) and first.lower() not in ("zoeken", "rest") else None


@dataclass(frozen=True, slots=True)
class Listed:
    """One entry of the list of open consultations."""

    slug: str
    title: str
    start: dt.date | None
    end: dt.date | None
    departementen: tuple[str, ...]


def _local(tag: Any) -> str:
    return str(tag).rpartition("}")[2] if isinstance(tag, str) else ""


def _child_text(element: Any, name: str) -> str:
    for child in element:
        if _local(child.tag) == name:
            return squash("".join(child.itertext()))
    return ""


def parse_open_list(content: bytes, *, url: str) -> tuple[Listed, ...]:
    """The list of open consultations. Not this XML, or no consultation in it, is a `ParseError`."""
    root = parse_xml(content, url=url)
    if _local(root.tag) != "consultaties":
        raise ParseError(f"expected the list of open consultations <consultaties>, got <{_local(root.tag)}>",
                         url=url, position=f"line {root.sourceline}, column 1")
    entries = [e for e in root if _local(e.tag) == "consultatie"]
    if not entries:
        raise ParseError("the list of open consultations holds no <consultatie>", url=url,
                         position=f"line {root.sourceline}, column 1")
    out: dict[str, Listed] = {}
    for n, entry in enumerate(entries, start=1):
        where = f"line {entry.sourceline}, column 1"
        link = _child_text(entry, "url")
        if not link:
            raise ParseError(f"<consultatie> {n} has no <url>", url=url, position=where)
        slug = slug_of(link)
        if slug is None:
            raise ParseError(f"<consultatie> {n}: {link!r} names no consultation", url=url, position=where)
        departementen: list[str] = []
        for child in entry:
            if _local(child.tag) == "departementen":
                departementen += [squash("".join(d.itertext())) for d in child if _local(d.tag) == "departement"]
        start_text, end_text = _child_text(entry, "startdatum"), _child_text(entry, "einddatum")
        start, end = numeric_date(start_text), numeric_date(end_text)
        if (start_text and start is None) or (end_text and end is None):
            log.warning("internetconsultatie: %s has a date not written dd-mm-yyyy (%r, %r)", slug, start_text,
                        end_text)
        out.setdefault(slug, Listed(slug=slug, title=_child_text(entry, "titel"), start=start, end=end,
                                    departementen=tuple(d for d in departementen if d)))
    return tuple(out.values())


def _rows(table: Tag) -> dict[str, tuple[str, Tag]]:
    rows: dict[str, tuple[str, Tag]] = {}
    for tr in table.find_all("tr"):
        if not isinstance(tr, Tag):
            continue
        cells = [c for c in tr.find_all(["th", "td"], recursive=False) if isinstance(c, Tag)]
        if len(cells) >= 2:
            rows.setdefault(squash(cells[0].get_text(" ")).lower().rstrip(":"), (squash(cells[1].get_text()),
                                                                                cells[1]))
    return rows


def _metadata_table(soup: Tag) -> Tag | None:
    table = soup.select_one("table.table__data-overview")
    if table is not None:
        return table
    # One capture writes the table without its class; its rows are what identifies it.
    for candidate in soup.find_all("table"):
        if isinstance(candidate, Tag) and "type consultatie" in _rows(candidate):
            return candidate
    return None


def _intro(soup: Tag) -> str:
    intro = soup.select_one("p.p-intro")
    if intro is not None:
        return squash(intro.get_text(" "))
    heading = next((h for h in soup.find_all(["h2", "h3"])
                    if isinstance(h, Tag) and squash(h.get_text()).lower() == "in het kort"), None)
    if isinstance(heading, Tag):
        paragraph = heading.find_next("p")
        if isinstance(paragraph, Tag):
            return squash(paragraph.get_text(" "))
    return ""


def parse_consultation_page(content: bytes, *, url: str, slug: str, listed: Listed | None = None,
                            today: dt.date | None = None) -> Document:
    """A consultation page as a `Document` (see the module docstring)."""
    soup = html(content, url=url)
    heading = soup.select_one("div.row--contentheading h1") or soup.find("h1")
    title = squash(heading.get_text(" ")) if isinstance(heading, Tag) else ""
    if not title:
        raise ParseError("the consultation page has no title: div.row--contentheading h1 is missing", url=url)
    table = _metadata_table(soup)
    if table is None:
        raise ParseError("the consultation page has no metadata table: table.table__data-overview is missing",
                         url=url)
    rows = _rows(table)
    if "type consultatie" not in rows:
        raise ParseError("the metadata table has no row 'Type consultatie' (table.table__data-overview tr th)",
                         url=url)
    extra: dict[str, str] = {}
    for label, key in _FIELDS.items():
        if label not in rows:
            continue
        value, cell = rows[label]
        if key == "keten_id":
            link = cell.find("a")
            value = squash(link.get_text()) if isinstance(link, Tag) and squash(link.get_text()) else value
        elif key in _DATES:
            day = numeric_date(value)
            value = day.isoformat() if day is not None else value
        if value:
            extra[key] = value
    start = numeric_date(rows["startdatum consultatie"][0]) if "startdatum consultatie" in rows else None
    if listed is not None:
        start = start or listed.start
        if listed.end and "einddatum" not in extra:
            extra["einddatum"] = listed.end.isoformat()
        if listed.departementen:
            extra["departementen"] = ", ".join(listed.departementen)
    intro = _intro(soup)
    if intro:
        extra["intro"] = intro
    extra["bron"] = ATTRIBUTION
    if today is not None:
        extra["opgehaald"] = today.isoformat()
    return Document(source="ic", id=slug, kind=KIND, title=title, entity=KIND, date=start, url=url, extra=extra)


# ------------------------------------------------------------------------------------------------ the source


def _decode(cursor: str | None) -> set[str]:
    if cursor is None or not cursor.strip():
        return set()
    try:
        value = json.loads(cursor)
        seen = value["seen"]
        if not isinstance(seen, list) or not all(isinstance(s, str) for s in seen):
            raise TypeError("seen is not a list of strings")
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise SourceError(f"stored internetconsultatie cursor is unreadable: {exc}") from None
    return set(seen)


def _encode(seen: set[str]) -> str:
    return json.dumps({"seen": sorted(seen)}, separators=(",", ":"))


class ConsultatieSource:
    """internetconsultatie.nl's open consultations as a `Source` (see the module docstring)."""

    name = "ic"

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        start: Literal["now"] | dt.date = "now",
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], dt.datetime] | None = None,
        page_pause: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.url = url.rstrip("/")
        self.start: Literal["now"] | dt.date = start_day(start)
        self.sleep = sleep
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.page_pause = page_pause
        self.rng = rng

    def __repr__(self) -> str:
        return f"ConsultatieSource(url={self.url!r})"

    @property
    def list_url(self) -> str:
        return f"{self.url}{LIST_PATH}"

    def page_url(self, slug: str) -> str:
        return f"{self.url}/{urllib.parse.quote(slug)}/b1"

    async def pages(self, cursor: str | None) -> AsyncIterator[Page]:
        """Read the list, then each consultation not seen before; the last page has `caught_up=True`."""
        seen = _decode(cursor)
        pacer = Pacer(self.client, sleep=self.sleep, page_pause=self.page_pause, rng=self.rng)
        response = await pacer.get(self.list_url)
        listed = parse_open_list(response.content, url=str(response.request.url))
        current = {item.slug for item in listed}
        since = self.start if cursor is None and isinstance(self.start, dt.date) else None
        done = set(seen)
        new: list[Listed] = []
        for item in listed:
            if item.slug in seen:
                continue
            if since is not None and item.start is not None and item.start < since:
                done.add(item.slug)  # opened before the backfill's start date: not read
                continue
            new.append(item)
        reported = 0
        today = self.clock().date()
        for i, item in enumerate(new):
            url = self.page_url(item.slug)
            response = await pacer.get(url)
            doc = parse_consultation_page(response.content, url=url, slug=item.slug, listed=item, today=today)
            done.add(item.slug)
            last = i == len(new) - 1
            keep = not (since is not None and doc.date is not None and doc.date < since)
            yield Page(cursor=_encode(current if last else done), documents=(doc,) if keep else (),
                       requests=pacer.made - reported, caught_up=last)
            reported = pacer.made
        if not new:
            yield Page(cursor=_encode(current), requests=pacer.made, caught_up=True)
        log.info("internetconsultatie: %d open, %d new read", len(current), len(new))
