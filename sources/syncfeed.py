"""The Tweede Kamer SyncFeed (`WETWACHT_TK_FEED_URL`): an append-only Atom change log per entity category.

Reading. `Feed?category=C&skiptoken=N` returns the entries of category C after position N, 250 a page. Every
entry carries the entity (Document, Zaak, ...) embedded in `<content>` and an entry-level `<link rel="next">`
whose skiptoken points just after it. The durable cursor of a category is the skiptoken of the last
entry-level `next` link read, stored exactly as given (never computed: positions are sparse and old entries
may be compacted away, so "token - 1" addresses nothing in particular). An empty page with a feed-level
`<link rel="resume">` means the category is caught up.

The cursor of this source is JSON ``{"Kamerstukdossier": "24600107", "Zaak": "...", ...}``: one skiptoken per
category (``""`` = the start of the feed). Every yielded `Page` carries the whole updated cursor, so the
pipeline stores it in the same transaction as the page's entities. Categories are read in the order of
`DEFAULT_CATEGORIES`, parents first, so that a Document's dossier and zaak are usually known when it arrives.

First run (no cursor, or a category missing from it). With ``start="now"`` the head of each category is found
without reading its history, by probing skiptokens: read the first page and the one after it, then gallop
(exponentially growing steps of `probe_step` = 65,536 positions) until a probe is empty, then bisect between
the last non-empty probe and the first empty one. Only while probing is a skiptoken ever computed; the cursor
that comes out is always an entry-level `next` token the server gave (a short page that ends the feed is read
once more from its end to confirm that nothing follows). The cost is about
``3 + log2(head / 65536) + log2(gap / span)`` requests per category, where `gap` is the distance the gallop
overshot and `span` the range of positions one page covers: 7 to 13 against `tests.fakes.upstream` with
2,000 to 20,000 entries (`test_head_probe_request_count`), and 22 to 25 in a simulation of the live feed
(positions from 1,000,000 to a head near 25,000,000, an entry every 5 to 500 positions): 110 to 125 requests
for the five default categories, two minutes at `page_pause` = 1 s, once per installation. With a start
datetime the same search finds the first entry updated at or after it, and the source then reads forward
from there.

Parsing is namespace-aware (lxml): Atom elements by the Atom namespace, the entity by local name, its
`verwijderd`/`bijgewerkt` attributes by the Tweede Kamer namespace. Some categories (Toezegging and others)
write an explicit ``ns1:`` prefix where others use the default namespace; a prefix is never looked at.
Truncated or malformed XML is a `ParseError` with the URL and the line and column.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import urllib.parse
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from lxml import etree

from sources.base import Entity, FetchError, Page, ParseError, SourceError
from sources.http import Sleep, fetch

log = logging.getLogger(__name__)

ATOM_NS = "http://www.w3.org/2005/Atom"
TK_NS = "http://www.tweedekamer.nl/xsd/tkData/v1-0"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

_FEED = f"{{{ATOM_NS}}}feed"
_ENTRY = f"{{{ATOM_NS}}}entry"
_LINK = f"{{{ATOM_NS}}}link"
_TITLE = f"{{{ATOM_NS}}}title"
_UPDATED = f"{{{ATOM_NS}}}updated"
_CONTENT = f"{{{ATOM_NS}}}content"
_NIL = f"{{{XSI_NS}}}nil"
_VERWIJDERD = f"{{{TK_NS}}}verwijderd"
_BIJGEWERKT = f"{{{TK_NS}}}bijgewerkt"

# Parents first: a Document points to its Kamerstukdossier and Zaak, a DocumentVersie to its Document, a
# Besluit to its Zaak. Activiteit and Toezegging parse as well but are not read by default: they would cost a
# request a poll each and nothing downstream uses them yet.
DEFAULT_CATEGORIES: tuple[str, ...] = ("Kamerstukdossier", "Zaak", "Document", "DocumentVersie", "Besluit")

try:
    # `tk:bijgewerkt` without an offset ("2008-08-26T12:13:04.6270000") is the source system's local time.
    AMSTERDAM: dt.tzinfo = ZoneInfo("Europe/Amsterdam")
except ZoneInfoNotFoundError:  # a system without a time zone database: an hour off beats a crash
    AMSTERDAM = dt.UTC

# A parser that never fetches or expands anything an upstream document asks for.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          remove_comments=True)


def parse_tk_timestamp(value: str) -> dt.datetime:
    """A Tweede Kamer timestamp in UTC. Three forms occur upstream: ``2025-05-13T17:07:09.5566778Z`` (Atom
    `updated`, `tk:bijgewerkt`), ``2025-07-08T09:12:00+01:00`` (`ns1:` payloads; also ``+0100``) and
    ``2008-08-26T12:13:04.6270000`` without an offset (local time). Raises ValueError when it is none."""
    text = value.strip().replace(" ", "T", 1)
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=AMSTERDAM)
    return parsed.astimezone(dt.UTC)


def parse_tk_date(value: str | None) -> dt.date | None:
    """The calendar date of a Tweede Kamer timestamp as written (``2025-05-12T00:00:00+02:00`` is 12 May,
    not 11 May in UTC). None when absent or unreadable."""
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.strip().replace(" ", "T", 1)).date()
    except ValueError:
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None


def _position(exc: etree.XMLSyntaxError) -> str:
    line, column = exc.position if exc.position else (exc.lineno or 0, exc.offset or 0)
    return f"line {line}, column {column}"


def parse_xml(content: bytes, *, url: str) -> Any:
    """Parse an upstream XML body; a `ParseError` with the URL and position when it is not well-formed."""
    if not content or content.isspace():
        raise ParseError("empty response body where XML was expected", url=url, position="line 1, column 1")
    try:
        return etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"malformed XML: {exc.msg}", url=url, position=_position(exc)) from None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


_SKIPTOKEN = re.compile(r"[?&]skiptoken=([^&#]*)")


def skiptoken_of(href: str) -> str | None:
    """The `skiptoken` query parameter of a feed link, as written."""
    match = _SKIPTOKEN.search(href)
    return urllib.parse.unquote_plus(match.group(1)) if match else None


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One Atom entry: the entity it carries and the skiptoken just after it (None without a `next` link)."""

    entity: Entity
    token: str | None


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One SyncFeed page. `next_token` is the feed-level `next` (a fallback only), `resume` whether the page
    has a feed-level `resume` link (caught up)."""

    entries: tuple[FeedEntry, ...]
    next_token: str | None
    resume: bool

    @property
    def last_token(self) -> str | None:
        """The durable cursor after this page: the last entry-level `next`, else the feed-level one."""
        for entry in reversed(self.entries):
            if entry.token is not None:
                return entry.token
        return self.next_token


def _attribute(element: Any, qualified: str, local: str) -> str | None:
    value = element.get(qualified)
    if value is not None:
        return str(value)
    # The tk/ns1 attributes are in the Tweede Kamer namespace; should a category ever bind its prefix to
    # another URI, the local name still identifies them (never the prefix).
    for name, attr in element.attrib.items():
        if name.endswith("}" + local):
            return str(attr)
    return None


def _parse_entity(entry: Any, category: str, *, url: str) -> FeedEntry:
    token: str | None = None
    updated_text: str | None = None
    title: str | None = None
    payload: Any = None
    has_content = False
    for child in entry:
        tag = child.tag
        if tag == _LINK:
            if child.get("rel") == "next":
                href = child.get("href")
                token = skiptoken_of(href) if href else None
        elif tag == _UPDATED:
            updated_text = child.text
        elif tag == _TITLE:
            title = child.text
        elif tag == _CONTENT:
            has_content = True
            for element in child:
                if isinstance(element.tag, str):
                    payload = element
                    break
    line = f"line {entry.sourceline}, column 1"
    if not has_content or payload is None:
        raise ParseError(f"{category} entry {title or '?'} has no embedded entity", url=url, position=line)
    guid = payload.get("id") or (title.strip() if title else None)
    if not guid:
        raise ParseError(f"{category} entry without an entity id", url=url, position=line)
    stamp = updated_text or _attribute(payload, _BIJGEWERKT, "bijgewerkt")
    if not stamp:
        raise ParseError(f"{category} entry {guid} has neither <updated> nor bijgewerkt", url=url, position=line)
    try:
        updated = parse_tk_timestamp(stamp)
    except ValueError:
        raise ParseError(f"{category} entry {guid}: unreadable timestamp {stamp!r}", url=url,
                         position=line) from None
    deleted = (_attribute(payload, _VERWIJDERD, "verwijderd") or "").strip().lower() == "true"
    fields: dict[str, str] = {}
    refs: dict[str, list[str]] = {}
    for element in payload.iterchildren(etree.Element):
        name = element.tag.rpartition("}")[2]
        text = element.text
        if text is None or text.isspace():  # a relation (<zaak ref=".."/>), a nil, empty, or nested elements
            ref = element.get("ref")
            if ref is not None:
                refs.setdefault(name, []).append(ref)
                continue
            if element.get(_NIL) == "true":
                continue
            if len(element):
                text = "".join(element.itertext())
        if name not in fields:
            fields[name] = text.strip() if text else ""
    changed: dt.datetime | None = None
    bijgewerkt = _attribute(payload, _BIJGEWERKT, "bijgewerkt")
    if bijgewerkt:
        try:
            changed = parse_tk_timestamp(bijgewerkt)
        except ValueError:
            changed = None  # only a hint (re-emission detection); <updated> is what the feed is read by
    entity = Entity(category=category, guid=guid, updated=updated, deleted=deleted, fields=fields,
                    refs={k: tuple(v) for k, v in refs.items()}, changed=changed)
    return FeedEntry(entity=entity, token=token)


def parse_feed(content: bytes, *, url: str, category: str) -> FeedPage:
    """Parse one SyncFeed page of `category`. Entities are named by `category` as the feed was asked for it."""
    root = parse_xml(content, url=url)
    if root.tag != _FEED:
        raise ParseError(f"expected an Atom feed, got <{_local(str(root.tag))}>", url=url,
                         position=f"line {root.sourceline}, column 1")
    entries: list[FeedEntry] = []
    next_token: str | None = None
    resume = False
    for child in root:
        tag = child.tag
        if tag == _ENTRY:
            entries.append(_parse_entity(child, category, url=url))
        elif tag == _LINK:
            rel = child.get("rel")
            if rel == "next" and child.get("href"):
                next_token = skiptoken_of(child.get("href"))
            elif rel == "resume":
                resume = True
    return FeedPage(entries=tuple(entries), next_token=next_token, resume=resume)


_GUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")


def is_guid(value: str) -> bool:
    """Whether `value` is an entity GUID (what may go into an `Entiteiten/<id>` URL)."""
    return bool(_GUID.match(value))


def _category(element_name: str) -> str:
    # The payload's root element is the lower-camel-case entity name (`zaak`, `kamerstukdossier`,
    # `documentVersie`); the feed's categories are the entity names (`Zaak`, `DocumentVersie`).
    return element_name[:1].upper() + element_name[1:]


def parse_entity_response(content: bytes, *, url: str) -> Entity:
    """The body of `SyncFeed/2.0/Entiteiten/<id>`: one entity as XML. The entity element itself (its
    category is its element name; it has no Atom `<updated>`, so its `tk:bijgewerkt` stands for it), or the
    same wrapped in an Atom entry or a one-entry feed, as the feed carries it."""
    root = parse_xml(content, url=url)
    if root.tag == _FEED:
        entries = root.findall(_ENTRY)
        if len(entries) != 1:
            raise ParseError(f"expected one entity, got a feed of {len(entries)} entries", url=url)
        root = entries[0]
    if root.tag == _ENTRY:
        content_element = root.find(_CONTENT)
        payload = next((e for e in content_element if isinstance(e.tag, str)), None) \
            if content_element is not None else None
        if payload is None:
            raise ParseError("entity entry has no embedded entity", url=url,
                             position=f"line {root.sourceline}, column 1")
        return _parse_entity(root, _category(_local(str(payload.tag))), url=url).entity
    if not str(root.tag).startswith("{" + TK_NS + "}"):
        raise ParseError(f"expected a Tweede Kamer entity, got <{_local(str(root.tag))}>", url=url,
                         position=f"line {root.sourceline}, column 1")
    wrapper = etree.Element(_ENTRY)
    holder = etree.SubElement(wrapper, _CONTENT)
    holder.append(root)
    return _parse_entity(wrapper, _category(_local(str(root.tag))), url=url).entity


def encode_cursor(tokens: dict[str, str]) -> str:
    return json.dumps(tokens, separators=(",", ":"))


def decode_cursor(cursor: str | None) -> dict[str, str]:
    """The stored cursor as {category: skiptoken}. A corrupt cursor fails the run (rather than silently
    starting over and skipping or flooding)."""
    if cursor is None or not cursor.strip():
        return {}
    try:
        value = json.loads(cursor)
    except json.JSONDecodeError as exc:
        raise SourceError(f"stored SyncFeed cursor is not JSON: {exc}") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise SourceError("stored SyncFeed cursor is not an object of category -> skiptoken strings")
    return dict(value)


@dataclass(slots=True)
class _Run:
    """Request counts of one `pages()` run: all of them (the first is not paced), and those not yet
    reported on a yielded page."""

    made: int = 0
    pending: int = 0

    def take(self) -> int:
        n, self.pending = self.pending, 0
        return n


class SyncFeedSource:
    """The Tweede Kamer SyncFeed as a `Source`: pages of raw entities (resolve them with `tk_resolve`)."""

    name = "tk"
    probe_step: ClassVar[int] = 1 << 16  # the first gallop step while probing, in skiptoken positions
    max_probes: ClassVar[int] = 200  # far beyond the ~25 a live category needs: a safety stop, not a budget

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        start: Literal["now"] | dt.datetime = "now",
        sleep: Sleep = asyncio.sleep,
        categories: Sequence[str] = DEFAULT_CATEGORIES,
        page_pause: float = 1.0,
    ) -> None:
        self.client = client
        self.url = url
        if isinstance(start, dt.datetime):
            start = start if start.tzinfo is not None else start.replace(tzinfo=dt.UTC)
        elif isinstance(start, dt.date):  # a date is its midnight, UTC
            start = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
        elif start != "now":
            raise ValueError(f"start must be 'now' or a datetime, not {start!r}")
        self.start: Literal["now"] | dt.datetime = start
        self.sleep = sleep
        self.categories = tuple(categories)
        if not self.categories:
            raise ValueError("categories must name at least one SyncFeed category")
        self.page_pause = page_pause

    def __repr__(self) -> str:
        return f"SyncFeedSource(url={self.url!r}, categories={self.categories!r})"

    async def _page(self, run: _Run, category: str, token: str | None) -> FeedPage:
        params = {"skiptoken": token, "category": category} if token else {"category": category}
        if run.made:
            await self.sleep(self.page_pause)  # politeness: never two requests back to back
        run.made += 1
        run.pending += 1
        response = await fetch(self.client, self.url, params=params, sleep=self.sleep)
        return parse_feed(response.content, url=str(response.request.url), category=category)

    async def pages(self, cursor: str | None) -> AsyncIterator[Page]:
        """Read every category forward from `cursor`; the last page has `caught_up=True`."""
        tokens = decode_cursor(cursor)
        run = _Run()
        for category in self.categories:
            if category not in tokens:
                tokens[category] = await self._locate(run, category)
                if self.start == "now":
                    # The head was just confirmed empty beyond this token: nothing to read yet.
                    log.info("SyncFeed %s starts at its head, skiptoken %s", category, tokens[category] or "-")
                    yield Page(cursor=encode_cursor(tokens), requests=run.take())
                    continue
                log.info("SyncFeed %s reads from skiptoken %s (start %s)", category, tokens[category] or "-",
                         self.start)
            while True:
                page = await self._page(run, category, tokens[category] or None)
                if not page.entries:
                    if not page.resume:
                        # Only an empty page with a resume link means "caught up"; anything else is not the
                        # format, and treating it as caught up could hide an outage.
                        raise ParseError(f"empty {category} page without a rel=\"resume\" link",
                                         url=self._url(category, tokens[category]))
                    break
                new = page.last_token
                if new is None or new == tokens[category]:
                    raise ParseError(f"{category} page has entries but no next skiptoken beyond "
                                     f"{tokens[category] or 'the start'}", url=self._url(category, tokens[category]))
                tokens[category] = new
                yield Page(cursor=encode_cursor(tokens), entities=tuple(e.entity for e in page.entries),
                           requests=run.take())
        yield Page(cursor=encode_cursor(tokens), requests=run.take(), caught_up=True)

    @property
    def entity_base(self) -> str:
        """The entity endpoint beside the feed: ``…/SyncFeed/2.0/Entiteiten``."""
        base = self.url.rstrip("/")
        return (base[: -len("/Feed")] if base.endswith("/Feed") else base.rpartition("/")[0]) + "/Entiteiten"

    async def entity(self, guid: str, *, pause: bool = True) -> Entity | None:
        """One entity from the entity endpoint (`Entiteiten/<guid>`), or None when the endpoint does not
        know it (404 or 410: it will not come). Paced like the feed (`page_pause` before the request unless
        `pause` is false); transient failures are retried by `fetch` and then raise `SourceError`."""
        if not is_guid(guid):
            raise SourceError(f"not an entity id: {guid[:80]!r}")
        if pause:
            await self.sleep(self.page_pause)
        url = f"{self.entity_base}/{guid}"
        try:
            response = await fetch(self.client, url, sleep=self.sleep)
        except FetchError as exc:
            if exc.status in (404, 410):
                return None
            raise
        entity = parse_entity_response(response.content, url=url)
        if entity.guid.lower() != guid.lower():
            raise ParseError(f"asked for entity {guid}, got {entity.guid}", url=url)
        return entity

    def _url(self, category: str, token: str | None) -> str:
        params = {"skiptoken": token, "category": category} if token else {"category": category}
        return str(httpx.URL(self.url, params=params))

    async def _locate(self, run: _Run, category: str) -> str:
        """The skiptoken to read `category` from on its first run: its head (``start="now"``), or the
        position just before the first entry updated at or after the start datetime. ``""`` is the start of
        the feed. See the module docstring for the search and its cost."""
        target = self.start if isinstance(self.start, dt.datetime) else None

        def number(token: str) -> int:
            try:
                return int(token)
            except ValueError:
                raise ParseError(f"{category} skiptoken {token!r} is not a number; cannot probe for the head",
                                 url=self._url(category, token)) from None

        def split(page: FeedPage, probe: str | None) -> str:
            # With a start date, on a page that straddles it: the token just after the last entry before it.
            assert target is not None
            before = [e for e in page.entries if e.entity.updated < target]
            token = before[-1].token if before else None
            if token is None:
                raise ParseError(f"{category} entry without a next link", url=self._url(category, probe))
            return token

        page = await self._page(run, category, None)
        if not page.entries:
            return ""  # an empty category: everything that ever arrives is new
        if target is not None and page.entries[0].entity.updated >= target:
            return ""
        if target is not None and page.entries[-1].entity.updated >= target:
            return split(page, None)
        lo_token = page.last_token
        if lo_token is None:
            raise ParseError(f"{category} page without skiptokens", url=self._url(category, None))
        lo = number(lo_token)
        full = len(page.entries)
        hi: int | None = None
        step = self.probe_step
        forward = True  # the page after the first tells whether the category is longer than one page
        for _ in range(self.max_probes):
            if forward or (hi is not None and hi - lo <= 1):
                probe, reading_on = lo, True
            elif hi is None:
                probe, reading_on = lo + step, False
                step *= 2
            else:
                probe, reading_on = (lo + hi) // 2, False
            page = await self._page(run, category, str(probe) if not reading_on else lo_token)
            entries = page.entries
            if not entries or (target is not None and entries[0].entity.updated >= target):
                # Nothing after `probe` (the head), or everything after it is at/after the start.
                if reading_on:
                    return lo_token
                hi, forward = probe, False
                continue
            if target is not None and entries[-1].entity.updated >= target:
                return split(page, lo_token if reading_on else str(probe))
            last = page.last_token
            if last is None:
                raise ParseError(f"{category} page without skiptokens", url=self._url(category, str(probe)))
            if number(last) <= probe:
                # Entries after `probe` must lie after it; a server that ignores the skiptoken would have us
                # probe forever.
                raise ParseError(f"{category} skiptoken {probe} answered with entries up to {last}: the feed does "
                                 "not honour skiptokens", url=self._url(category, str(probe)))
            lo_token, lo = last, number(last)
            forward = len(entries) < full  # a short page ends the feed: confirm by reading on from its end
            full = max(full, len(entries))
            if hi is not None and lo >= hi:
                hi = None  # the feed grew while we probed: gallop again from here
        raise ParseError(f"{category}: no head found after {self.max_probes} probes", url=self._url(category, None))
