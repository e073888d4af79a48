"""A fake Tweede Kamer SyncFeed and KOOP SRU endpoint, served for real on 127.0.0.1, for end-to-end tests and
the benchmarks. Both speak the formats of `../shared/reference/sources/` (tk_syncfeed.md, ob_sru.md and their
fixtures): Atom pages with embedded tkData entities, gzd records in an SRU 2.0 searchRetrieveResponse.

Start and stop
--------------
    with FakeUpstream(page_size=250) as up:          # a stdlib ThreadingHTTPServer on a free port, in a thread
        up.feed_url  # http://127.0.0.1:PORT/SyncFeed/2.0/Feed   -> WETWACHT_TK_FEED_URL
        up.sru_url   # http://127.0.0.1:PORT/sru                  -> WETWACHT_SRU_URL
        up.ek_url, up.consultatie_url     # fake eerstekamer.nl and internetconsultatie.nl (up.ek, up.ic:
                                          # tests.fakes.sites) -> WETWACHT_EK_URL, WETWACHT_CONSULTATIE_URL
(or `up.start()` / `up.stop()`). Everything below may be called from the test thread while the server runs.

The SyncFeed (`GET /SyncFeed/2.0/Feed?category=C[&skiptoken=N]`)
-----------------------------------------------------------------
An append-only log. Every add, update, delete or re-emission appends one entry at a new position of ONE
sequence shared by all categories (it starts near `first_token` = 24,600,000 and grows by 1 to 12 a step,
seeded), so positions within a category are sparse, as upstream. An entry's `<link rel="next">` carries its
own position as skiptoken; `skiptoken=N` returns the category's entries after position N, `page_size` at a
time; the feed-level `rel="next"` is present when more entries follow the page; a page with no entries has a
feed-level `rel="resume"`. Entries have `<updated>` (UTC, 7 decimals) from the fake's clock `now`, which
advances by `tick` (1 s) per entry; set `up.now = ...` to jump.

    g = up.add_dossier("36742", "Regels ... (Wet op de politieke partijen)", toevoeging=None)
    z = up.add_zaak("2025Z09154", dossier=g, titel="...", soort="Wetgeving", onderwerp=None, volgnummer=0)
    d = up.add_document("2025D21083", soort="Memorie van toelichting", titel="...", onderwerp="...",
                        datum=date(2025, 5, 12), volgnummer=3, dossier=g, zaak=z,
                        externe_identifier="kst-36742-3")   # also appends its DocumentVersie
    b = up.add_besluit(z, besluit_soort="Stemmen - aangenomen", besluit_tekst="Aangenomen.",
                       stemmings_soort="Met handopsteken")
    up.add_entity("Toezegging", {"tekst": "...", "status": "Open"}, ns1=True)   # any category; ns1: prefix
    up.update(d, onderwerp="...")      # a new version of the entity (new entry)
    up.delete(d)                       # a delete marker: tk:verwijderd="true", no body
    up.reemit_all()                    # every live entity again, same content (a bulk data correction)
    up.head("Document")                # the skiptoken of the category's last entry ("" when empty)
    up.version_of[d]                   # the GUID of a document's DocumentVersie
All add_* return the entity GUID (invented GUIDs start with 0000, like the reference fixtures). Timestamp
styles of `tk:bijgewerkt`: ``stamp="Z"`` (default), ``"offset"`` (+01:00; the default for ns1 entities) or
``"naive"`` (no offset, 7 decimals). `tk:bijgewerkt` is 4 s before the entry's `<updated>` unless
``bijgewerkt=`` says when the source system changed it (a late publication: yesterday; data from 2025).

The entity endpoint (`GET /SyncFeed/2.0/Entiteiten/<guid>`) answers the current version of one entity as its
tkData element (the payload the feed embeds; `tk:bijgewerkt` stands for its time), 404 for an unknown GUID.

The SRU endpoint (`GET /sru?operation=searchRetrieve&query=...&startRecord=..&maximumRecords=..`)
----------------------------------------------------------------------------------------------------
Records are gzd records in the namespaces of ob_sru_response.xml. The query is understood as far as wetwacht
writes it: it must start with ``c.product-area==officielepublicaties`` (else an HTTP 200 diagnostic, as KOOP
does); clauses of `w.publicatienaam`, `w.dossiernummer`, `w.behandeldDossier`, `w.subrubriek` (``==``) and of
`dt.modified`, `dt.available` (``>=``, ``<=``) combine with AND, OR and parentheses; ``sortBy
dt.modified/sort.ascending`` or ``sortBy dt.available/sort.ascending`` sorts by that date, then insertion;
`startRecord` is 1-based, `maximumRecords` is capped at `sru_max_records`; `numberOfRecords` is the number of
matches. A clause the fake does not know is a diagnostic, as an unknown index is upstream.

    up.add_kamerstuk("36742", "4", dossiertitel="...", soort="Advies Raad van State",
                     documenttitel="Advies ...", chamber="TK", modified=date(2026, 5, 4))  # kst-36742-4
    up.add_staatsblad(2026, 123, title="Wet van ...", behandeld=("36742",), modified=...)
    up.add_staatscourant(2026, 6890, title="Advies Afdeling advisering Raad van State ...", modified=...)
    up.add_sru_record("gmb-2026-1", publicatienaam="Gemeenteblad", title="...", modified=...)  # anything
Adding a record with an identifier that exists replaces it (a new version: pass `version=` or it is derived
from a counter). `up.sru_queries` lists the CQL queries received.

Faults and counters
-------------------
    up.fail_next(2, "503")                     # the next 2 requests: 503 with an HTML body
    up.fail_next(1, "429", retry_after="7")    # 429 with Retry-After (seconds or an HTTP-date)
    up.fail_next(1, "hang")                    # hold the answer for `hang_seconds` (or until stop())
    up.fail_next(1, "truncate")                # a 200 whose XML body is cut in half (valid HTTP)
    up.fail_next(1, "diagnostic", on="sru")    # an SRU HTTP-200 diagnostic
`on="feed"` or `on="sru"` limits a fault to one endpoint (default: any request). `up.request_count` (all),
`up.count("feed")`, `up.count("sru")`, `up.requests` (each a `Seen(path, params, status, fault)`) and
`up.reset_counts()`.

`feed_page_xml(category, skiptoken)` and `sru_response_xml(query, start, maximum)` render a response body
without HTTP (the benchmarks parse them).
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

from tests.fakes import Served
from tests.fakes.sites import FakeEersteKamer, FakeInternetconsultatie

ATOM_NS = "http://www.w3.org/2005/Atom"
TK_NS = "http://www.tweedekamer.nl/xsd/tkData/v1-0"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

FaultMode = Literal["503", "429", "hang", "truncate", "diagnostic"]
Stamp = Literal["Z", "offset", "naive"]
Endpoint = Literal["feed", "sru", "entity"]

FEED_PATH = "/SyncFeed/2.0/Feed"
ENTITY_PATH = "/SyncFeed/2.0/Entiteiten/"
SRU_PATH = "/sru"

_GUID_TAGS = {"Kamerstukdossier": "2b22", "Zaak": "1a11", "Document": "6f66", "DocumentVersie": "7a77",
              "Besluit": "9b99", "Activiteit": "8b88", "Toezegging": "5c55"}
_HTML_503 = (b"<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>"
             b"<body><h1>Service Unavailable</h1><p>The server is temporarily unable to service your request "
             b"due to maintenance downtime or capacity problems. Please try again later.</p></body></html>\n")


@dataclass(frozen=True)
class Seen:
    """One request as the fake saw it; `status` 0 means it hung."""

    path: str
    params: dict[str, str]
    status: int
    fault: str | None = None


@dataclass
class _Entity:
    category: str
    guid: str
    refs: list[tuple[str, str]]
    fields: list[tuple[str, str | None]]
    ns1: bool = False
    stamp: Stamp = "Z"
    deleted: bool = False
    bijgewerkt: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


@dataclass
class _Entry:
    position: int
    category: str
    guid: str
    updated: dt.datetime
    payload: str


@dataclass
class _Record:
    identifier: str
    publicatienaam: str
    title: str
    modified: dt.date
    version: str
    seq: int
    rtype: str | None = None
    creator: str | None = None
    creator_scheme: str | None = None
    dossier: str | None = None
    ondernummer: str | None = None
    subrubriek: str | None = None
    dossiertitel: str | None = None
    documenttitel: str | None = None
    behandeld: tuple[str, ...] = ()
    date: dt.date | None = None
    content_area: str = ""
    available: dt.date | None = None  # dcterms:available, the publication day (a re-index keeps the old one)
    indiener: tuple[str, ...] = ()


@dataclass
class _Fault:
    mode: FaultMode
    retry_after: str
    on: Endpoint | None


def _element_name(category: str) -> str:
    return category[:1].lower() + category[1:]


def _stamp(moment: dt.datetime, style: Stamp) -> str:
    if style == "naive":
        local = moment.astimezone(dt.timezone(dt.timedelta(hours=1)))
        return local.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"
    if style == "offset":
        return moment.astimezone(dt.timezone(dt.timedelta(hours=1))).strftime("%Y-%m-%dT%H:%M:%S+01:00")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _updated(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"  # 7 decimals, as upstream


def _cql_unquote(term: str) -> str:
    if len(term) >= 2 and term[0] == term[-1] == '"':
        return re.sub(r"\\(.)", r"\1", term[1:-1])
    return term


_TOKEN = re.compile(r'\s*(\(|\)|"(?:[^"\\]|\\.)*"|==|>=|<=|=|[^\s()=<>"]+)')
_SORT = re.compile(r"\s+sortBy\s+(dt\.modified|dt\.available)/sort\.ascending\s*$", re.IGNORECASE)
_PRODUCT_AREA = re.compile(r'^\(?\s*c\.product-area\s*==\s*"?officielepublicaties"?')
_DATE_INDEXES = frozenset({"dt.modified", "dt.available"})
_TEXT_INDEXES = frozenset({"c.product-area", "w.publicatienaam", "w.dossiernummer", "w.behandeldDossier",
                           "w.subrubriek"})


class _CqlError(ValueError):
    def __init__(self, uri: str, message: str) -> None:
        super().__init__(message)
        self.uri = uri


class _Clause:
    """One `index relation term` of a CQL query."""

    def __init__(self, index: str, relation: str, term: str) -> None:
        if index not in _DATE_INDEXES | _TEXT_INDEXES:
            raise _CqlError("info:srw/diagnostic/1/16", f"Unsupported index: {index}")
        self.index, self.relation, self.term = index, relation, _cql_unquote(term)
        if index in _DATE_INDEXES:
            if relation not in (">=", "<="):
                raise _CqlError("info:srw/diagnostic/1/19", f"Unsupported relation {relation} for {index}")
            try:
                self.day = dt.date.fromisoformat(self.term)
            except ValueError:
                raise _CqlError("info:srw/diagnostic/1/10", f"invalid date in {index}") from None
        elif relation not in ("==", "="):
            raise _CqlError("info:srw/diagnostic/1/19", f"Unsupported relation {relation} for {index}")

    def __call__(self, r: _Record) -> bool:
        if self.index in _DATE_INDEXES:
            day = r.modified if self.index == "dt.modified" else (r.available or r.modified)
            return day >= self.day if self.relation == ">=" else day <= self.day
        values: tuple[str | None, ...] = {
            "c.product-area": ("officielepublicaties",), "w.publicatienaam": (r.publicatienaam,),
            "w.dossiernummer": (r.dossier,), "w.behandeldDossier": r.behandeld, "w.subrubriek": (r.subrubriek,),
        }[self.index]
        return any(v is not None and v.casefold() == self.term.casefold() for v in values)


class _Cql:
    """A CQL query as far as wetwacht writes it: clauses, AND, OR (equal precedence, left to right, as CQL)
    and parentheses, then an optional sortBy."""

    def __init__(self, query: str) -> None:
        sort = _SORT.search(query)
        self.sort = sort.group(1).lower() if sort else None
        text = query[: sort.start()] if sort else query
        self.tokens = [m.group(1) for m in _TOKEN.finditer(text)]
        if "".join(self.tokens).replace(" ", "") != re.sub(r"\s+", "", text):
            raise _CqlError("info:srw/diagnostic/1/10", "Query syntax error")
        self.at = 0
        self.match = self._expression()
        if self.at != len(self.tokens):
            raise _CqlError("info:srw/diagnostic/1/10", f"Query syntax error at {self.tokens[self.at]!r}")

    def _next(self) -> str:
        if self.at >= len(self.tokens):
            raise _CqlError("info:srw/diagnostic/1/10", "Query syntax error: unexpected end")
        token = self.tokens[self.at]
        self.at += 1
        return token

    def _expression(self) -> Callable[[_Record], bool]:
        left = self._term()
        while self.at < len(self.tokens) and self.tokens[self.at].lower() in ("and", "or"):
            op = self._next().lower()
            right = self._term()
            left = (lambda a, b: lambda r: a(r) and b(r))(left, right) if op == "and" else \
                (lambda a, b: lambda r: a(r) or b(r))(left, right)
        return left

    def _term(self) -> Callable[[_Record], bool]:
        token = self._next()
        if token == "(":
            inner = self._expression()
            if self._next() != ")":
                raise _CqlError("info:srw/diagnostic/1/10", "Query syntax error: ) expected")
            return inner
        relation = self._next()
        if relation not in ("==", "=", ">=", "<="):
            raise _CqlError("info:srw/diagnostic/1/10", f"Query syntax error at {relation!r}")
        return _Clause(token, relation, self._next())


_RESPONSE = """<?xml version="1.0" encoding="UTF-8"?>
<sru:searchRetrieveResponse xmlns:sru="http://docs.oasis-open.org/ns/search-ws/sruResponse"
                            xmlns:gzd="http://standaarden.overheid.nl/sru"
                            xmlns:dcterms="http://purl.org/dc/terms/"
                            xmlns:overheidwetgeving="http://standaarden.overheid.nl/wetgeving/"
                            xmlns:c="http://standaarden.overheid.nl/collectie/"
                            xmlns:overheid="http://standaarden.overheid.nl/owms/terms/">
  <sru:version>2.0</sru:version>
  <sru:numberOfRecords>{total}</sru:numberOfRecords>
  <sru:records>{body}
  </sru:records>
  <sru:resultCountPrecision>info:srw/vocabulary/resultCountPrecision/1/exact</sru:resultCountPrecision>
</sru:searchRetrieveResponse>
"""


class FakeUpstream:
    """See the module docstring for the API."""

    def __init__(self, *, page_size: int = 250, now: dt.datetime | None = None, first_token: int = 24_600_000,
                 hang_seconds: float = 30.0, seed: int = 7, sru_max_records: int = 1000) -> None:
        self.page_size = page_size
        self.now = now or dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)
        self.tick = dt.timedelta(seconds=1)
        self.hang_seconds = hang_seconds
        self.sru_max_records = sru_max_records
        self.version_of: dict[str, str] = {}
        self.sru_queries: list[str] = []
        self.offline_base = "http://127.0.0.1:0"
        self._rng = random.Random(seed)
        self._position = first_token
        self._counter = 0
        self._entities: dict[str, _Entity] = {}
        self._entries: dict[str, list[_Entry]] = {}
        self._positions: dict[str, list[int]] = {}
        self._records: dict[str, _Record] = {}
        self._seq = 0
        self._faults: list[_Fault] = []
        self._seen: list[Seen] = []
        self._lock = threading.RLock()
        self._release = threading.Event()
        self._served: Served | None = None
        # eerstekamer.nl and internetconsultatie.nl, each on a port of its own (`tests.fakes.sites`).
        self.ek = FakeEersteKamer()
        self.ic = FakeInternetconsultatie()

    # ------------------------------------------------------------------------------------------ lifecycle

    def start(self) -> FakeUpstream:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def do_GET(self) -> None:
                upstream._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._release.clear()
        self._served = Served(Handler, "fake-upstream")
        self.ek.start()
        self.ic.start()
        return self

    def stop(self) -> None:
        self._release.set()  # hanging answers return now
        self.ek.stop()
        self.ic.stop()
        if self._served is not None:
            self._served.stop()
            self._served = None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._served is None:
            return self.offline_base  # rendered without a server (the evaluation set's files)
        return self._served.base_url

    @property
    def feed_url(self) -> str:
        return self.base_url + FEED_PATH

    @property
    def sru_url(self) -> str:
        return self.base_url + SRU_PATH

    @property
    def ek_url(self) -> str:
        return self.ek.base_url

    @property
    def consultatie_url(self) -> str:
        return self.ic.base_url

    # ---------------------------------------------------------------------------------------- counters

    def fail_next(self, n: int, mode: FaultMode = "503", *, retry_after: str = "7",
                  on: Endpoint | None = None) -> None:
        """Answer the next `n` requests (of endpoint `on`, or any) with a fault."""
        with self._lock:
            self._faults.extend(_Fault(mode, retry_after, on) for _ in range(n))

    @property
    def requests(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._seen)

    def count(self, endpoint: Endpoint) -> int:
        with self._lock:
            if endpoint == "entity":
                return sum(1 for s in self._seen if s.path.startswith(ENTITY_PATH))
            path = FEED_PATH if endpoint == "feed" else SRU_PATH
            return sum(1 for s in self._seen if s.path == path)

    def reset_counts(self) -> None:
        with self._lock:
            self._seen.clear()
            self.sru_queries.clear()

    # -------------------------------------------------------------------------------------- SyncFeed

    def _guid(self, category: str) -> str:
        self._counter += 1
        return f"0000{_GUID_TAGS.get(category, '0e0e')}-36a7-4e42-9c15-{self._counter:012d}"

    def _payload(self, entity: _Entity) -> str:
        name = _element_name(entity.category)
        stamp = _stamp(entity.bijgewerkt, entity.stamp)
        if entity.ns1:
            p, decl = "ns1:", f'xmlns:ns1="{TK_NS}" xmlns:xsi="{XSI_NS}"'
            attrs = f'id="{entity.guid}" ns1:bijgewerkt="{stamp}" ns1:verwijderd="{str(entity.deleted).lower()}"'
        else:
            p, decl = "", f'xmlns:tk="{TK_NS}" xmlns="{TK_NS}" xmlns:xsi="{XSI_NS}"'
            attrs = f'id="{entity.guid}" tk:bijgewerkt="{stamp}" tk:verwijderd="{str(entity.deleted).lower()}"'
        if entity.deleted:
            return f"<{p}{name} {decl} {attrs} />"
        parts = [f"<{p}{name} {decl} {attrs}>"]
        parts += [f'<{p}{ref} ref="{guid}" />' for ref, guid in entity.refs]
        for key, value in entity.fields:
            if value is None:
                parts.append(f'<{p}{key} xsi:nil="true" />')
            else:
                parts.append(f"<{p}{key}>{escape(value)}</{p}{key}>")
        parts.append(f"</{p}{name}>")
        return "\n        ".join(parts)

    def _append(self, entity: _Entity) -> None:
        with self._lock:
            self._position += self._rng.randint(1, 12)
            entry = _Entry(self._position, entity.category, entity.guid, self.now, self._payload(entity))
            self._entries.setdefault(entity.category, []).append(entry)
            self._positions.setdefault(entity.category, []).append(entry.position)
            self.now += self.tick

    def add_entity(self, category: str, fields: Mapping[str, str | None] | Sequence[tuple[str, str | None]],
                   refs: Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]] = (), *,
                   guid: str | None = None, ns1: bool = False, stamp: Stamp | None = None,
                   bijgewerkt: dt.datetime | None = None) -> str:
        """Append an entity of any category: scalar `fields` (None = xsi:nil) and `refs` (relation element
        -> GUID or GUIDs), in the given order (relations first, as in the XSD)."""
        with self._lock:
            guid = guid or self._guid(category)
            ref_pairs: list[tuple[str, str]] = []
            items = refs.items() if isinstance(refs, Mapping) else refs
            for name, value in items:
                ref_pairs.extend((name, v) for v in ([value] if isinstance(value, str) else value))
            field_pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
            entity = _Entity(category, guid, ref_pairs, field_pairs, ns1=ns1,
                             stamp=stamp or ("offset" if ns1 else "Z"),
                             bijgewerkt=bijgewerkt or self.now - dt.timedelta(seconds=4))
            self._entities[guid] = entity
            self._append(entity)
            return guid

    def add_dossier(self, nummer: str, titel: str, *, toevoeging: str | None = None, hoogste_volgnummer: int = 1,
                    guid: str | None = None, bijgewerkt: dt.datetime | None = None) -> str:
        return self.add_entity("Kamerstukdossier", [
            ("titel", titel), ("citeertitel", None), ("alias", None), ("nummer", nummer),
            ("toevoeging", toevoeging), ("hoogsteVolgnummer", str(hoogste_volgnummer)), ("afgesloten", "false"),
            ("kamer", "Tweede Kamer"),
        ], guid=guid, bijgewerkt=bijgewerkt)

    def add_zaak(self, nummer: str, *, dossier: str | None, titel: str, soort: str = "Wetgeving",
                 onderwerp: str | None = None, volgnummer: int = 0, gestart: dt.date | None = None,
                 guid: str | None = None, citeertitel: str | None = None, vergaderjaar: str = "2025-2026",
                 bijgewerkt: dt.datetime | None = None) -> str:
        started = gestart or self.now.date()
        return self.add_entity("Zaak", [
            ("nummer", nummer), ("soort", soort), ("onderwerp", onderwerp or titel),
            ("gestartOp", f"{started.isoformat()}T00:00:00+02:00"), ("organisatie", "Tweede Kamer"),
            ("titel", titel), ("citeertitel", citeertitel), ("alias", None), ("vergaderjaar", vergaderjaar),
            ("volgnummer", str(volgnummer)), ("status", "Vrijgegeven"), ("afgedaan", "false"),
            ("grootProject", "false"),
        ], [("kamerstukdossier", dossier)] if dossier else [], guid=guid, bijgewerkt=bijgewerkt)

    def add_document(self, nummer: str, *, soort: str, titel: str, onderwerp: str | None = None,
                     datum: dt.date | None = None, volgnummer: int = -1, dossier: str | None = None,
                     zaak: str | Sequence[str] | None = None, externe_identifier: str | None = None,
                     guid: str | None = None, vergaderjaar: str = "2025-2026", kamer: str = "2",
                     citeertitel: str | None = None, bijgewerkt: dt.datetime | None = None) -> str:
        """A Document; with `externe_identifier` also its DocumentVersie (appended after it)."""
        with self._lock:
            guid = guid or self._guid("Document")
            version = self._guid("DocumentVersie") if externe_identifier else None
            refs: list[tuple[str, str]] = [("huidigeDocumentVersie", version)] if version else []
            zaken = [zaak] if isinstance(zaak, str) else list(zaak or [])
            refs += [("zaak", z) for z in zaken]
            if dossier:
                refs.append(("kamerstukdossier", dossier))
            day = (datum or self.now.date()).isoformat()
            self.add_entity("Document", [
                ("soort", soort), ("documentNummer", nummer), ("titel", titel), ("onderwerp", onderwerp or soort),
                ("datum", f"{day}T00:00:00+02:00"), ("volgnummer", str(volgnummer)), ("vergaderjaar", vergaderjaar),
                ("kamer", kamer), ("citeertitel", citeertitel), ("alias", None),
                ("datumRegistratie", f"{day}T00:00:00+02:00"),
                ("datumOntvangst", None), ("aanhangselnummer", None), ("kenmerkAfzender", None),
                ("organisatie", "Tweede Kamer"),
            ], refs, guid=guid, bijgewerkt=bijgewerkt)
            if version and externe_identifier:
                self.version_of[guid] = version
                self.add_document_versie(guid, externe_identifier=externe_identifier, guid=version, datum=datum,
                                         bijgewerkt=bijgewerkt)
            return guid

    def add_document_versie(self, document: str, *, externe_identifier: str | None, versienummer: int = 1,
                            datum: dt.date | None = None, guid: str | None = None,
                            bijgewerkt: dt.datetime | None = None) -> str:
        day = (datum or self.now.date()).isoformat()
        return self.add_entity("DocumentVersie", [
            ("status", "Vrijgegeven"), ("versienummer", str(versienummer)), ("bestandsgrootte", "118784"),
            ("extensie", ".docx"), ("datum", f"{day}T19:07:00+02:00"), ("externeidentifier", externe_identifier),
        ], [("document", document)], guid=guid, bijgewerkt=bijgewerkt)

    def add_besluit(self, zaak: str, *, besluit_soort: str, besluit_tekst: str, stemmings_soort: str | None = None,
                    status: str = "Besluit", guid: str | None = None, bijgewerkt: dt.datetime | None = None) -> str:
        return self.add_entity("Besluit", [
            ("stemmingsSoort", stemmings_soort), ("besluitSoort", besluit_soort), ("besluitTekst", besluit_tekst),
            ("opmerking", None), ("status", status), ("agendapuntZaakBesluitVolgorde", "4"),
        ], [("agendapunt", "0000ab12-36a7-4e42-9c15-000000000001"), ("zaak", zaak)], guid=guid,
            bijgewerkt=bijgewerkt)

    def update(self, guid: str, **fields: str | None) -> None:
        """A new version of an entity with some fields changed (appended as a new entry)."""
        with self._lock:
            entity = self._entities[guid]
            known = dict(entity.fields)
            known.update(fields)
            entity.fields = list(known.items())
            entity.bijgewerkt = self.now - dt.timedelta(seconds=4)
            self._append(entity)

    def delete(self, guid: str) -> None:
        """A delete marker: the entity with tk:verwijderd="true" and no body."""
        with self._lock:
            entity = self._entities[guid]
            entity.deleted = True
            entity.bijgewerkt = self.now - dt.timedelta(seconds=4)
            self._append(entity)

    def reemit_all(self) -> int:
        """Every live entity once more, unchanged (a bulk data correction); returns how many."""
        with self._lock:
            live = [e for e in self._entities.values() if not e.deleted]
            for entity in live:
                self._append(entity)
            return len(live)

    def entity_xml(self, guid: str) -> bytes | None:
        """The body of `Entiteiten/<guid>`: the entity's current payload, None when it is unknown."""
        with self._lock:
            entity = self._entities.get(guid)
            if entity is None:
                return None
            return ('<?xml version="1.0" encoding="utf-8"?>\n' + self._payload(entity) + "\n").encode("utf-8")

    def head(self, category: str) -> str:
        """The skiptoken after the category's last entry, "" when it has none."""
        with self._lock:
            positions = self._positions.get(category)
            return str(positions[-1]) if positions else ""

    def entries(self, category: str) -> int:
        with self._lock:
            return len(self._entries.get(category, []))

    def feed_page_xml(self, category: str, skiptoken: str | None) -> bytes:
        """The body of `Feed?category=..&skiptoken=..` (raises ValueError for a non-numeric skiptoken)."""
        after = int(skiptoken) if skiptoken else -1
        with self._lock:
            positions = self._positions.get(category, [])
            entries = self._entries.get(category, [])
            start = bisect.bisect_right(positions, after)
            page = entries[start:start + self.page_size]
            more = start + self.page_size < len(entries)
            updated = _updated(self.now)
        feed = f"{self.base_url}{FEED_PATH}"
        query = f"skiptoken={after}&amp;category={category}" if skiptoken else f"category={category}"
        out = [
            '<?xml version="1.0" encoding="utf-8"?>',
            f'<feed xmlns="{ATOM_NS}">',
            f"  <title>Gegevensmagazijn SyncFeed (category: {escape(category)})</title>",
            f"  <id>{feed}?{query}</id>",
            f"  <updated>{updated}</updated>",
            f'  <link rel="self" href="{feed}?{query}" />',
        ]
        if page and more:
            out.append(f'  <link rel="next" href="{feed}?skiptoken={page[-1].position}&amp;category={category}" />')
        if not page:
            out.append(f'  <link rel="resume" href="{feed}?{query}" />')
        for entry in page:
            out += [
                "  <entry>",
                f"    <title>{entry.guid}</title>",
                f"    <id>{self.base_url}/SyncFeed/2.0/Entiteiten/{entry.guid}</id>",
                f"    <updated>{_updated(entry.updated)}</updated>",
                f'    <category term="{category.lower()}" />',
                f'    <link rel="next" href="{feed}?skiptoken={entry.position}&amp;category={category}" />',
                '    <content type="application/xml">',
                f"      {entry.payload}",
                "    </content>",
                "  </entry>",
            ]
        out.append("</feed>\n")
        return "\n".join(out).encode("utf-8")

    # ------------------------------------------------------------------------------------------- SRU

    def add_sru_record(self, identifier: str, *, publicatienaam: str, title: str, modified: dt.date | None = None,
                       rtype: str | None = None, creator: str | None = None, creator_scheme: str | None = None,
                       dossier: str | None = None, ondernummer: str | None = None, subrubriek: str | None = None,
                       dossiertitel: str | None = None, documenttitel: str | None = None,
                       behandeld: Iterable[str] = (), date: dt.date | None = None, version: str | None = None,
                       content_area: str | None = None, available: dt.date | None = None,
                       indiener: Iterable[str] = ()) -> str:
        """Add (or replace: a new version of) a record; returns its identifier."""
        with self._lock:
            self._seq += 1
            day = modified or self.now.date()
            stamp = version or f"{day.isoformat()}T09:{self._seq // 60 % 60:02d}:{self._seq % 60:02d}.118903+02:00"
            self._records[identifier] = _Record(
                identifier=identifier, publicatienaam=publicatienaam, title=title, modified=day, version=stamp,
                seq=self._seq, rtype=rtype, creator=creator, creator_scheme=creator_scheme, dossier=dossier,
                ondernummer=ondernummer, subrubriek=subrubriek, dossiertitel=dossiertitel,
                documenttitel=documenttitel, behandeld=tuple(behandeld), date=date or day,
                content_area=content_area or f"officielepublicaties/{identifier.split('-')[0]}",
                available=available, indiener=tuple(indiener),
            )
            return identifier

    def add_kamerstuk(self, dossier: str, ondernummer: str, *, dossiertitel: str, soort: str,
                      documenttitel: str | None = None, chamber: Literal["TK", "EK"] = "TK",
                      modified: dt.date | None = None, date: dt.date | None = None, version: str | None = None,
                      available: dt.date | None = None) -> str:
        """A Kamerstuk; `available` (its publication day) defaults to `modified` (a re-index keeps the old
        one and moves `modified`)."""
        creator = "Tweede Kamer der Staten-Generaal" if chamber == "TK" else "Eerste Kamer der Staten-Generaal"
        title = f"{dossiertitel}; {soort}; {documenttitel or soort}"
        return self.add_sru_record(
            f"kst-{dossier}-{ondernummer}", publicatienaam="Kamerstuk", title=title, modified=modified,
            rtype="Kamerstuk", creator=creator, dossier=dossier, ondernummer=ondernummer, subrubriek=soort,
            dossiertitel=dossiertitel, documenttitel=documenttitel or soort, date=date, version=version,
            content_area=f"officielepublicaties/kst/{dossier}", available=available)

    def add_staatsblad(self, year: int, number: int, *, title: str, behandeld: Iterable[str] = (),
                       soort: str = "Wet", modified: dt.date | None = None, version: str | None = None,
                       available: dt.date | None = None, date: dt.date | None = None) -> str:
        return self.add_sru_record(
            f"stb-{year}-{number}", publicatienaam="Staatsblad", title=title, modified=modified, rtype=soort,
            creator="Ministerie van Binnenlandse Zaken en Koninkrijksrelaties", creator_scheme="OVERHEID.Ministerie",
            behandeld=behandeld, version=version, content_area=f"officielepublicaties/stb/{year}",
            available=available, date=date)

    def add_staatscourant(self, year: int, number: int, *, title: str, soort: str = "advies Raad van State",
                          modified: dt.date | None = None, version: str | None = None,
                          available: dt.date | None = None, behandeld: Iterable[str] = (),
                          date: dt.date | None = None) -> str:
        return self.add_sru_record(
            f"stcrt-{year}-{number}", publicatienaam="Staatscourant", title=title, modified=modified, rtype=soort,
            creator="Ministerie van Binnenlandse Zaken en Koninkrijksrelaties", creator_scheme="OVERHEID.Ministerie",
            version=version, content_area=f"officielepublicaties/stcrt/{year}", available=available,
            behandeld=behandeld, date=date)

    def _record_xml(self, r: _Record, position: int) -> str:
        ident = escape(r.identifier)
        if r.identifier.startswith("kst-"):
            repo = f"https://repository.overheid.nl/frbr/officielepublicaties/kst/{escape(r.dossier or '')}/{ident}/1"
        else:
            repo = f"https://repository.overheid.nl/frbr/{escape(r.content_area)}/{ident}/1"
        rtype = ""
        if r.rtype:
            scheme = "" if r.rtype == "Kamerstuk" else ' scheme="OVERHEIDop.Rubriek"'
            rtype = f"<dcterms:type{scheme}>{escape(r.rtype)}</dcterms:type>"
        creator = ""
        if r.creator:
            scheme = f" scheme={quoteattr(r.creator_scheme)}" if r.creator_scheme else ""
            creator = f"<dcterms:creator{scheme}>{escape(r.creator)}</dcterms:creator>"
        tp: list[str] = [
            "<c:product-area>officielepublicaties</c:product-area>",
            f"<c:content-area>{escape(r.content_area)}</c:content-area>",
        ]

        def ow(name: str, value: str | None, attrs: str = "") -> None:
            if value:
                tp.append(f"<overheidwetgeving:{name}{attrs}>{escape(value)}</overheidwetgeving:{name}>")

        ow("documenttitel", r.documenttitel)
        ow("dossiertitel", r.dossiertitel)
        for name in r.indiener:
            ow("indiener", name)
        ow("ondernummer", r.ondernummer)
        ow("publicatienaam", r.publicatienaam)
        ow("dossiernummer", r.dossier)
        for treated in r.behandeld:
            ow("behandeldDossier", treated)
        ow("subrubriek", r.subrubriek, ' scheme="OVERHEIDop.KamerstukTypen"')
        ow("datumTijdstipWijzigingWork", r.version)
        ow("datumTijdstipWijzigingExpression", r.version)
        return f"""
    <sru:record>
      <sru:recordSchema>http://standaarden.overheid.nl/sru/</sru:recordSchema>
      <sru:recordPacking>xml</sru:recordPacking>
      <sru:recordData>
        <gzd:gzd>
          <gzd:originalData>
            <overheidwetgeving:meta>
              <overheidwetgeving:owmskern>
                <dcterms:identifier>{ident}</dcterms:identifier>
                <dcterms:title>{escape(r.title)}</dcterms:title>
                <dcterms:language>nl</dcterms:language>
                {rtype}
                {creator}
                <dcterms:modified>{r.modified.isoformat()}</dcterms:modified>
              </overheidwetgeving:owmskern>
              <overheidwetgeving:owmsmantel>
                <dcterms:available>{(r.available or r.modified).isoformat()}</dcterms:available>
                <dcterms:date>{(r.date or r.modified).isoformat()}</dcterms:date>
                <dcterms:hasVersion resourceIdentifier="https://zoek.officielebekendmakingen.nl/{ident}.html">1</dcterms:hasVersion>
              </overheidwetgeving:owmsmantel>
              <overheidwetgeving:tpmeta>
                {chr(10).join(tp)}
              </overheidwetgeving:tpmeta>
            </overheidwetgeving:meta>
          </gzd:originalData>
          <gzd:enrichedData>
            <gzd:url>{repo}/pdf/{ident}.pdf</gzd:url>
            <gzd:preferredUrl>https://zoek.officielebekendmakingen.nl/{ident}.html</gzd:preferredUrl>
            <gzd:itemUrl manifestation="html">{repo}/html/{ident}.html</gzd:itemUrl>
            <gzd:itemUrl manifestation="metadata">{repo}/metadata/metadata.xml</gzd:itemUrl>
            <gzd:itemUrl manifestation="pdf">{repo}/pdf/{ident}.pdf</gzd:itemUrl>
            <gzd:itemUrl manifestation="xml">{repo}/xml/{ident}.xml</gzd:itemUrl>
            <gzd:timestamp>{r.version}</gzd:timestamp>
          </gzd:enrichedData>
        </gzd:gzd>
      </sru:recordData>
      <sru:recordPosition>{position}</sru:recordPosition>
    </sru:record>"""

    @staticmethod
    def diagnostic_xml(uri: str, message: str) -> bytes:
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><searchRetrieveResponse '
            'xmlns="http://docs.oasis-open.org/ns/search-ws/sruResponse" '
            'xmlns:ns3="http://docs.oasis-open.org/ns/search-ws/diagnostic"><version>2.0</version><diagnostics>'
            f"<ns3:diagnostic><ns3:uri>{escape(uri)}</ns3:uri><ns3:message>{escape(message)}</ns3:message>"
            "</ns3:diagnostic></diagnostics></searchRetrieveResponse>"
        ).encode()

    def record_xml(self, identifier: str, position: int) -> str:
        """The current version of one record as an `sru:record` element (for files that list several
        versions of one record, as a re-index does)."""
        with self._lock:
            return self._record_xml(self._records[identifier], position)

    @staticmethod
    def response_xml(records: Sequence[str], total: int | None = None) -> bytes:
        """A searchRetrieveResponse around already rendered `sru:record` elements."""
        return _RESPONSE.format(total=len(records) if total is None else total, body="".join(records)).encode()

    def sru_response_xml(self, query: str, start: int = 1, maximum: int = 10) -> bytes:
        """The body of a searchRetrieve for `query` (a diagnostic when the query is not understood)."""
        if not _PRODUCT_AREA.match(query) or query.count('"') % 2 or query.count("(") != query.count(")"):
            return self.diagnostic_xml("info:srw/diagnostic/1/10",
                                       f"line 1:0 mismatched input '{query[:20]}' expecting {{<EOF>, AND, OR}}")
        try:
            cql = _Cql(query)
        except _CqlError as exc:
            return self.diagnostic_xml(exc.uri, str(exc))
        with self._lock:
            found = [r for r in self._records.values() if cql.match(r)]
        if cql.sort == "dt.available":
            found.sort(key=lambda r: (r.available or r.modified, r.seq))
        elif cql.sort == "dt.modified":
            found.sort(key=lambda r: (r.modified, r.seq))
        else:
            found.sort(key=lambda r: r.seq)
        page = found[start - 1:start - 1 + min(maximum, self.sru_max_records)]
        return self.response_xml([self._record_xml(r, start + i) for i, r in enumerate(page)], total=len(found))

    # ------------------------------------------------------------------------------------------- HTTP

    def _take_fault(self, endpoint: Endpoint | None) -> _Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.on is None or fault.on == endpoint:
                    return self._faults.pop(i)
            return None

    def _answer(self, path: str, params: dict[str, str]) -> tuple[int, str, bytes, dict[str, str]]:
        if path.startswith(ENTITY_PATH):
            body = self.entity_xml(urllib.parse.unquote(path[len(ENTITY_PATH):]))
            if body is None:
                return 404, "text/plain", b"not found\n", {}
            return 200, "application/xml; charset=utf-8", body, {}
        if path == FEED_PATH:
            category = params.get("category")
            if not category:
                return 400, "text/plain", b"category is required\n", {}
            try:
                body = self.feed_page_xml(category, params.get("skiptoken"))
            except ValueError:
                return 400, "text/plain", b"skiptoken must be a number\n", {}
            return 200, "application/atom+xml; charset=utf-8", body, {}
        if path == SRU_PATH:
            query = params.get("query")
            if not query:
                body = self.diagnostic_xml("info:srw/diagnostic/1/7", "Mandatory parameter not supplied: query")
                return 200, "application/xml", body, {}
            with self._lock:
                self.sru_queries.append(query)
            try:
                start = int(params.get("startRecord", "1"))
                maximum = int(params.get("maximumRecords", "10"))
                if start < 1 or maximum < 0:
                    raise ValueError
            except ValueError:
                body = self.diagnostic_xml("info:srw/diagnostic/1/6", "Unsupported parameter value: startRecord")
                return 200, "application/xml", body, {}
            return 200, "application/xml", self.sru_response_xml(query, start, maximum), {}
        return 404, "text/plain", b"not found\n", {}

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        split = urllib.parse.urlsplit(handler.path)
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(split.query, keep_blank_values=True).items()}
        endpoint: Endpoint | None = (
            "feed" if split.path == FEED_PATH else "sru" if split.path == SRU_PATH
            else "entity" if split.path.startswith(ENTITY_PATH) else None)
        fault = self._take_fault(endpoint)
        headers: dict[str, str] = {}
        if fault is None or fault.mode in ("truncate", "hang"):
            status, ctype, body, headers = self._answer(split.path, params)
            if fault is not None and fault.mode == "truncate":
                body = body[: max(1, len(body) // 2)]
        elif fault.mode == "503":
            status, ctype, body = 503, "text/html; charset=utf-8", _HTML_503
        elif fault.mode == "429":
            status, ctype, body = 429, "text/plain", b"Too Many Requests\n"
            headers = {"Retry-After": fault.retry_after}
        else:  # diagnostic
            status, ctype = 200, "application/xml"
            body = self.diagnostic_xml("info:srw/diagnostic/1/10",
                                       "line 1:13 mismatched input 'c.product-area' expecting {<EOF>, AND, OR}")
        with self._lock:
            self._seen.append(Seen(split.path, params, 0 if fault and fault.mode == "hang" else status,
                                   fault.mode if fault else None))
        if fault is not None and fault.mode == "hang":
            self._release.wait(self.hang_seconds)
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", ctype)
            handler.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a hang it timed out on)
            handler.close_connection = True

