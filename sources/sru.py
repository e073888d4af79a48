"""officielebekendmakingen.nl through KOOP's SRU 2.0 endpoint (`WETWACHT_SRU_URL`), source ``ob``.

What is read: `c.product-area==officielepublicaties` restricted to Kamerstukken (both chambers), the
Staatsblad (laws, decrees) and the Staatscourant (only its Raad van State advices are kept: the rest of the
Staatscourant is permits and notices that never concern a bill), changed since the cursor (`dt.modified`,
the date a record was last (re)indexed, which catches corrections as well as new publications), sorted with
CQL ``sortBy dt.modified/sort.ascending`` (the sort seen in real clients; the `sortKeys` parameter is not
verified upstream), paged with `startRecord` (1-based) and `maximumRecords`.

Cursor: JSON ``{"modified": "2026-05-01", "seen": ["kst-36742-4@2025-05-13T09:12:44.118903+02:00", ...]}``.
`modified` is the latest `dt.modified` read; the next run asks for everything modified since that date minus
`overlap` (a date has no time: a record indexed later the same day has the same date), and `seen` holds
``identifier@version`` of the records at or after that overlap edge, so the overlap does not yield them
again. The version is the record's `datumTijdstipWijzigingExpression` (else its enrichment timestamp, else
its modification date): a corrected publication is a new version and is read again.

First run: with ``start="now"`` everything older is backlog: the records of the overlap window are read to
fill `seen`, and one page carries them with the cursor (the pipeline stores them as history, without events).
With a date, everything modified since that date is read.

History (`bot.history`): `dossier_query` asks for a dossier's whole record (both chambers' Kamerstukken, and
what the Staatsblad and the Staatscourant say treats it, `w.behandeldDossier`), `opening_query` for the
documents that open bills (Voorstel van wet, Koninklijke boodschap, Memorie van toelichting) published in a
window, both by publication day (`dt.available`, "what was published since X") and before the installation
day: what was published from that day on is the polls' to report. `search` reads one page of either.

KOOP answers an unparsable query with HTTP 200 and a diagnostic instead of records; that is a `ParseError`
with the diagnostic's message, never an empty result.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from lxml import etree

from sources.base import Chamber, Document, Page, ParseError, SourceError, kst_id, parse_kst, start_day
from sources.http import Sleep, fetch
from sources.syncfeed import parse_xml

log = logging.getLogger(__name__)

SRU_NS = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
DIAG_NS = "http://docs.oasis-open.org/ns/search-ws/diagnostic"
GZD_NS = "http://standaarden.overheid.nl/sru"
DCTERMS_NS = "http://purl.org/dc/terms/"
OW_NS = "http://standaarden.overheid.nl/wetgeving/"

PUBLICATIONS: tuple[str, ...] = ("Kamerstuk", "Staatsblad", "Staatscourant")
CHAMBERS: dict[str, Chamber] = {
    "tweede kamer der staten-generaal": "TK",
    "eerste kamer der staten-generaal": "EK",
}

_BARE_TERM = re.compile(r"^[A-Za-z0-9_.:\-]+$")
_CQL_RESERVED = frozenset({"and", "or", "not", "prox", "sortby"})


def cql_quote(value: str) -> str:
    """A CQL search term for `value`, matched literally: bare when it is a plain word or date
    (``officielepublicaties``, ``2026-05-01``), otherwise double-quoted with ``\\``, ``"`` and the masking
    characters ``*``, ``?``, ``^`` escaped. Operators and reserved words (and, or, sortBy) are always quoted,
    so no value can change the structure of a query."""
    if value and _BARE_TERM.match(value) and value.lower() not in _CQL_RESERVED:
        return value
    escaped = re.sub(r'([\\"*?^])', r"\\\1", value)
    return f'"{escaped}"'


def build_query(since: dt.date, publications: Iterable[str] = PUBLICATIONS) -> str:
    """The CQL query of a poll: the publications changed on or after `since`, oldest change first."""
    names = " OR ".join(f"w.publicatienaam=={cql_quote(p)}" for p in publications)
    return (f"c.product-area=={cql_quote('officielepublicaties')} AND ({names}) "
            f"AND dt.modified>={cql_quote(since.isoformat())} sortBy dt.modified/sort.ascending")


# The KamerstukTypen (`w.subrubriek`) of the documents that open a bill in the Kamer (ob_sru.md lists the first
# three); a Rijkswet's proposal is written out as such.
OPENING_KINDS: tuple[str, ...] = ("Voorstel van wet", "Koninklijke boodschap", "Memorie van toelichting",
                                  "Voorstel van rijkswet")


def _before(until: dt.date) -> str:
    return f"dt.available<={cql_quote((until - dt.timedelta(days=1)).isoformat())}"


def dossier_query(dossier: str, until: dt.date) -> str:
    """A dossier's record published before `until`: its Kamerstukken (both chambers keep the number) and the
    publications that treat it (the law in the Staatsblad, an advice in the Staatscourant), oldest first."""
    number = cql_quote(dossier)
    return (f"c.product-area=={cql_quote('officielepublicaties')} AND (w.dossiernummer=={number} OR "
            f"w.behandeldDossier=={number}) AND {_before(until)} sortBy dt.available/sort.ascending")


def opening_query(since: dt.date, until: dt.date, kinds: Iterable[str] = OPENING_KINDS) -> str:
    """The Kamerstukken that open bills, published from `since` up to (not including) `until`."""
    names = " OR ".join(f"w.subrubriek=={cql_quote(k)}" for k in kinds)
    return (f"c.product-area=={cql_quote('officielepublicaties')} AND w.publicatienaam=={cql_quote('Kamerstuk')} "
            f"AND ({names}) AND dt.available>={cql_quote(since.isoformat())} AND {_before(until)} "
            "sortBy dt.available/sort.ascending")


@dataclass(frozen=True, slots=True)
class SruRecord:
    """One gzd record: its Document, its `dt.modified` date and its dedupe key ``identifier@version``."""

    document: Document
    modified: dt.date | None
    key: str


@dataclass(frozen=True, slots=True)
class SruResponse:
    """One searchRetrieve page. `count` is how many records the page held (kept or not), for paging;
    `total` the server's numberOfRecords (an estimate upstream), None when absent."""

    records: tuple[SruRecord, ...]
    count: int
    total: int | None


class _Meta:
    """The elements of one gzd record by (namespace, local name), repeated ones in order. Elements whose
    namespace is not verified upstream (datumTijdstipWijziging*, jaargang) are looked up by local name."""

    __slots__ = ("by_name",)

    def __init__(self, root: Any) -> None:
        self.by_name: dict[str, list[Any]] = {}
        for element in root.iter(etree.Element):
            found = self.by_name.get(element.tag)
            if found is None:
                self.by_name[element.tag] = [element]
            else:
                found.append(element)

    def all(self, ns: str | None, local: str) -> list[str]:
        if ns:
            found = self.by_name.get(f"{{{ns}}}{local}", [])
        else:
            suffix = "}" + local
            found = [e for tag, es in self.by_name.items() if tag == local or tag.endswith(suffix) for e in es]
        return [text for text in (_text(e) for e in found) if text]

    def one(self, ns: str | None, local: str) -> str | None:
        values = self.all(ns, local)
        return values[0] if values else None

    def elements(self, ns: str, local: str) -> list[Any]:
        return self.by_name.get(f"{{{ns}}}{local}", [])


def _text(element: Any) -> str:
    return "".join(element.itertext()).strip() if len(element) else (element.text or "").strip()


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _timestamp(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _record_document(meta: _Meta) -> tuple[Document, dt.date | None, str] | None:
    identifier = meta.one(DCTERMS_NS, "identifier")
    if not identifier:
        return None
    title = meta.one(DCTERMS_NS, "title") or identifier
    rtype = meta.one(DCTERMS_NS, "type")
    creator = meta.one(DCTERMS_NS, "creator")
    publicatienaam = meta.one(OW_NS, "publicatienaam") or rtype or ""
    subrubriek = meta.one(OW_NS, "subrubriek")
    dossier = meta.one(OW_NS, "dossiernummer")
    ondernummer = meta.one(OW_NS, "ondernummer")
    kst: str | None = None
    if identifier.startswith("kst-"):
        parsed = parse_kst(identifier)
        if dossier and ondernummer:
            kst = kst_id(dossier, ondernummer)
        elif parsed is not None:
            kst = identifier
            dossier, ondernummer = dossier or parsed[0], ondernummer or parsed[1]
    modified = _date(meta.one(DCTERMS_NS, "modified"))
    expression = meta.one(None, "datumTijdstipWijzigingExpression")
    enriched = meta.one(GZD_NS, "timestamp")
    version = expression or enriched or (modified.isoformat() if modified else "")
    has_version = meta.elements(DCTERMS_NS, "hasVersion")
    preferred = (meta.one(GZD_NS, "preferredUrl")
                 or (has_version[0].get("resourceIdentifier") if has_version else None)
                 or meta.one(GZD_NS, "url"))
    manifestations = {
        f"url_{e.get('manifestation')}": _text(e) for e in meta.elements(GZD_NS, "itemUrl")
        if e.get("manifestation") and _text(e)
    }
    parts = [p.strip() for p in title.split("; ")]
    dossiertitel = meta.one(OW_NS, "dossiertitel") or (parts[0] if identifier.startswith("kst-") and
                                                      len(parts) > 1 else None)
    pairs: list[tuple[str, str | None]] = [
        ("publicatienaam", publicatienaam or None), ("type", rtype), ("subrubriek", subrubriek),
        ("creator", creator), ("dossiertitel", dossiertitel),
        ("documenttitel", meta.one(OW_NS, "documenttitel")),
        ("behandeldDossier", ",".join(meta.all(OW_NS, "behandeldDossier")) or None),
        ("rijkswetnummer", meta.one(OW_NS, "rijkswetnummer")), ("vergaderjaar", meta.one(OW_NS, "vergaderjaar")),
        ("jaargang", meta.one(None, "jaargang")), ("publicatienummer", meta.one(OW_NS, "publicatienummer")),
        ("available", meta.one(DCTERMS_NS, "available")), ("version", version or None),
        ("url_main", meta.one(GZD_NS, "url")), *manifestations.items(),
    ]
    document = Document(
        source="ob", id=identifier, kind=subrubriek or rtype or publicatienaam, title=title,
        entity=publicatienaam or "Publicatie", kst=kst, dossier=dossier, ondernummer=ondernummer,
        chamber=CHAMBERS.get((creator or "").strip().lower()),
        date=_date(meta.one(DCTERMS_NS, "date")) or _date(meta.one(DCTERMS_NS, "issued"))
        or _date(meta.one(DCTERMS_NS, "available")),
        modified=_timestamp(expression) or _timestamp(enriched)
        or (dt.datetime.combine(modified, dt.time(), tzinfo=dt.UTC) if modified else None),
        url=preferred, extra={k: v for k, v in pairs if v},
    )
    return document, modified, f"{identifier}@{version}"


def _diagnostic(root: Any, *, url: str) -> ParseError | None:
    for element in root.iter(f"{{{DIAG_NS}}}diagnostic", "{*}diagnostic"):
        parts = {c.tag.rpartition("}")[2]: _text(c) for c in element if isinstance(c.tag, str)}
        message = parts.get("message") or "(no message)"
        details = f" ({parts['details']})" if parts.get("details") else ""
        uri = parts.get("uri") or "unknown diagnostic"
        return ParseError(f"SRU diagnostic {uri}: {message}{details}", url=url,
                          position=f"line {element.sourceline}, column 1")
    return None


def parse_response(content: bytes, *, url: str) -> SruResponse:
    """Parse one searchRetrieve response into records. A diagnostic, a truncated body or something that is
    not an SRU response is a `ParseError`."""
    root = parse_xml(content, url=url)
    diagnostic = _diagnostic(root, url=url)
    if diagnostic is not None:
        raise diagnostic
    if root.tag != f"{{{SRU_NS}}}searchRetrieveResponse":
        raise ParseError(f"expected an SRU searchRetrieveResponse, got <{str(root.tag).rpartition('}')[2]}>",
                         url=url, position=f"line {root.sourceline}, column 1")
    total_text = root.findtext(f"{{{SRU_NS}}}numberOfRecords")
    try:
        total = int(total_text) if total_text and total_text.strip() else None
    except ValueError:
        raise ParseError(f"numberOfRecords is not a number: {total_text!r}", url=url) from None
    records: list[SruRecord] = []
    count = 0
    for record in root.iterfind(f"{{{SRU_NS}}}records/{{{SRU_NS}}}record"):
        count += 1
        data = record.find(f"{{{SRU_NS}}}recordData")
        if data is None:
            continue
        payload = next((e for e in data if isinstance(e.tag, str)), None)
        if payload is None and data.text and data.text.strip():
            payload = parse_xml(data.text.strip().encode("utf-8"), url=url)  # recordPacking "string"
        if payload is None:
            continue
        parsed = _record_document(_Meta(payload))
        if parsed is None:
            log.warning("SRU record at line %s without dcterms:identifier skipped (%s)", record.sourceline, url)
            continue
        records.append(SruRecord(document=parsed[0], modified=parsed[1], key=parsed[2]))
    return SruResponse(records=tuple(records), count=count, total=total)


def wanted(document: Document) -> bool:
    """Whether a record is kept: every Kamerstuk and Staatsblad item, and the Staatscourant's Raad van State
    advices (the Staatscourant carries far more than bills)."""
    publication = (document.extra.get("publicatienaam") or document.entity).strip().lower()
    if publication in ("kamerstuk", "staatsblad"):
        return True
    if publication == "staatscourant":
        text = f"{document.kind} {document.extra.get('type', '')} {document.title}".lower()
        return "raad van state" in text
    return False


@dataclass
class _State:
    modified: dt.date
    seen: dict[str, dt.date | None]  # identifier@version -> dt.modified (None: from the stored cursor)

    def encode(self) -> str:
        return json.dumps({"modified": self.modified.isoformat(), "seen": sorted(self.seen)},
                          separators=(",", ":"))

    @classmethod
    def decode(cls, cursor: str) -> _State:
        try:
            value = json.loads(cursor)
            modified = dt.date.fromisoformat(str(value["modified"])[:10])
            seen = value.get("seen", [])
            if not isinstance(seen, list) or not all(isinstance(s, str) for s in seen):
                raise TypeError("seen is not a list of strings")
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SourceError(f"stored SRU cursor is unreadable: {exc}") from None
        return cls(modified=modified, seen=dict.fromkeys(seen))


class SruSource:
    """officielebekendmakingen (Kamerstukken, Staatsblad, Staatscourant RvS advices) as a `Source`."""

    name = "ob"

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        start: Literal["now"] | dt.date = "now",
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], dt.datetime] | None = None,
        page_size: int = 100,
        overlap: dt.timedelta = dt.timedelta(days=1),
        page_pause: float = 1.0,
    ) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, not {page_size}")
        self.client = client
        self.url = url
        self.start: Literal["now"] | dt.date = start_day(start)
        self.sleep = sleep
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.page_size = page_size
        self.overlap = overlap
        self.page_pause = page_pause

    def __repr__(self) -> str:
        return f"SruSource(url={self.url!r}, page_size={self.page_size})"

    async def _search(self, made: int, query: str, start_record: int) -> SruResponse:
        params = {
            "operation": "searchRetrieve", "version": "2.0", "recordSchema": "gzd",
            "query": query, "startRecord": str(start_record), "maximumRecords": str(self.page_size),
        }
        if made:
            await self.sleep(self.page_pause)  # politeness: never two requests back to back
        response = await fetch(self.client, self.url, params=params, sleep=self.sleep)
        return parse_response(response.content, url=str(response.request.url))

    async def search(self, query: str, start_record: int, *, pause: bool = True) -> SruResponse:
        """One page of any query (the history reader's), paced like the polls unless `pause` is false."""
        return await self._search(1 if pause else 0, query, start_record)

    def done(self, response: SruResponse, start_record: int) -> bool:
        """Whether `response`, read at `start_record`, was the last page of its query."""
        return self._done(response, start_record)

    def _done(self, response: SruResponse, start_record: int) -> bool:
        if response.count == 0:
            return True
        if response.total is not None:
            return start_record + response.count > response.total
        return response.count < self.page_size

    async def _read(self, since: dt.date) -> AsyncIterator[tuple[SruResponse, bool]]:
        query = build_query(since)
        start_record = 1
        made = 0
        while True:
            response = await self._search(made, query, start_record)
            made += 1
            done = self._done(response, start_record)
            yield response, done
            if done:
                return
            start_record += response.count

    async def pages(self, cursor: str | None) -> AsyncIterator[Page]:
        """Read forward from `cursor`; the last page has `caught_up=True`."""
        if cursor is None and self.start == "now":
            # Everything indexed before now is backlog: remember the overlap window as seen, yield nothing.
            today = self.clock().date()
            state = _State(modified=today, seen={})
            requests = 0
            backlog: dict[str, Document] = {}
            async for response, _ in self._read(today - self.overlap):
                requests += 1
                for record in response.records:
                    state.seen[record.key] = record.modified
                    if record.modified is not None and record.modified > state.modified:
                        state.modified = record.modified
                    if wanted(record.document):
                        backlog[record.document.id] = record.document  # the latest version of each
            self._prune(state, state.seen, final=True)
            log.info("SRU starts at %s with %d records seen (%d kept as backlog)", state.modified, len(state.seen),
                     len(backlog))
            yield Page(cursor=state.encode(), documents=tuple(backlog.values()), requests=requests, caught_up=True)
            return
        if cursor is None:
            assert isinstance(self.start, dt.date)
            state, since = _State(modified=self.start, seen={}), self.start
        else:
            state = _State.decode(cursor)
            since = state.modified - self.overlap
        earlier = dict(state.seen)  # keys of the stored cursor, whose dates are unknown until read again
        observed: dict[str, dt.date | None] = {}
        async for response, done in self._read(since):
            documents: list[Document] = []
            for record in response.records:
                repeat = record.key in earlier or record.key in observed
                observed[record.key] = record.modified
                if record.modified is not None and record.modified > state.modified:
                    state.modified = record.modified
                if not repeat and wanted(record.document):
                    documents.append(record.document)
            # What lies before the overlap edge is not read again: forgetting it keeps a long backfill's
            # bookkeeping (and its cursor) the size of one overlap window.
            edge = state.modified - self.overlap
            observed = {k: d for k, d in observed.items() if d is None or d >= edge}
            state.seen = dict(earlier) if not done else {}
            state.seen.update(observed)
            self._prune(state, observed, final=done)
            yield Page(cursor=state.encode(), documents=tuple(documents), requests=1, caught_up=done)

    def _prune(self, state: _State, observed: dict[str, dt.date | None], *, final: bool) -> None:
        """Keep in `seen` what the next run's overlap window will return again: records read at or after the
        edge; keys of the stored cursor not read again only until this run completes."""
        edge = state.modified - self.overlap
        state.seen = {k: d for k, d in state.seen.items()
                      if (d is not None and d >= edge) or (d is None and (k in observed or not final))}
