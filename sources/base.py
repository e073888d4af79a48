"""What every source shares: the normalized `Document`, a page of a source's output with its cursor, the
`Source` protocol and the typed errors of one source run.

A source knows HTTP and XML and nothing about commitments. It reads forward from a cursor and yields pages;
the pipeline stores each page's documents together with the page's cursor in one transaction, so a crash
between pages loses nothing and re-reads at most one page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

# tk: the Tweede Kamer SyncFeed; ob: officielebekendmakingen (KOOP SRU); ek: the Eerste Kamer's votes
# (eerstekamer.nl); ic: internetconsultatie.nl.
SourceName = Literal["tk", "ob", "ek", "ic"]
Chamber = Literal["TK", "EK"]

_KST_RE = re.compile(r"^kst-(?P<dossier>\d+(?:-[A-Z0-9]+)*?)-(?P<ondernummer>[0-9]+|[A-Z]{1,3})$")


def start_day(start: object) -> Literal["now"] | dt.date:
    """A source's first-run `start` (WETWACHT_START) as a day: "now", or a date (a datetime counts as its day).
    Anything else is a ValueError."""
    if isinstance(start, dt.datetime):
        return start.date()
    if isinstance(start, dt.date) or start == "now":
        return start
    raise ValueError(f"start must be 'now' or a date, not {start!r}")


def kst_id(dossier: str | None, ondernummer: str | None) -> str | None:
    """The officielebekendmakingen identifier of a Kamerstuk: ``kst-36742-4``, ``kst-33328-AI``,
    ``kst-36600-VII-129``. None when either part is missing."""
    if not dossier or not ondernummer:
        return None
    return f"kst-{dossier.strip().replace(' ', '-')}-{ondernummer.strip()}"


def parse_kst(identifier: str) -> tuple[str, str] | None:
    """Split ``kst-36742-4`` into ``("36742", "4")`` and ``kst-36600-VII-129`` into ``("36600-VII", "129")``."""
    m = _KST_RE.match(identifier.strip())
    if m is None:
        return None
    return m.group("dossier"), m.group("ondernummer")


@dataclass(frozen=True, slots=True)
class Document:
    """One published item of the official record, normalized from either source.

    `id` is the identifier a person can look up: the TK DocumentNummer (``2025D21083``) for a TK document,
    the GUID for other TK entities (a Besluit), the KOOP identifier (``kst-36742-4``, ``stb-2026-123``,
    ``stcrt-2026-6890``) for officielebekendmakingen. The TK document and the KOOP record of one Kamerstuk
    share `kst`, which is how the matcher knows they are one thing.
    """

    source: SourceName
    id: str
    kind: str  # upstream kind as written: TK Soort ("Memorie van toelichting"), KOOP subrubriek or type
    title: str
    entity: str = "Document"  # TK entity (Document, Besluit, Zaak) or KOOP publicatienaam (Kamerstuk, Staatsblad…)
    guid: str | None = None  # TK entity GUID
    kst: str | None = None  # kst-36742-4
    dossier: str | None = None  # 36742, 36600-VII
    ondernummer: str | None = None  # 4, A, AA
    zaak: str | None = None  # TK zaak nummer, 2025Z09154
    chamber: Chamber | None = None
    date: dt.date | None = None  # the document's own date
    modified: dt.datetime | None = None  # when upstream last changed it (UTC)
    url: str | None = None
    deleted: bool = False  # retracted upstream (tk:verwijderd="true")
    # Further upstream facts the matcher may need, by name: "besluitSoort", "besluitTekst",
    # "behandeldDossier" (comma separated), "publicatienaam", "dossiertitel", "rijkswetnummer", "version".
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Unique key of this document across sources: ``tk:2025D21083``, ``ob:kst-36742-4``."""
        return f"{self.source}:{self.id}"


@dataclass(frozen=True, slots=True)
class Entity:
    """One raw Tweede Kamer entity as the SyncFeed carries it: scalar fields by element name and relations
    by element name to the GUIDs they reference. Documents are resolved from entities and their relations
    (a Document points to its Kamerstukdossier and Zaak by GUID), so the pipeline keeps every entity."""

    category: str  # Kamerstukdossier, Zaak, Document, DocumentVersie, Besluit, ...
    guid: str
    updated: dt.datetime  # entry <updated> (UTC)
    deleted: bool = False
    fields: Mapping[str, str] = field(default_factory=dict)
    refs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The entity's own `tk:bijgewerkt`: when its content last changed. A bulk data correction re-emits old
    # entities with a new entry <updated> but their old bijgewerkt, which is how they are told from new ones.
    changed: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """One page read by a source: its documents (KOOP) or raw entities (SyncFeed), and the cursor to resume
    after it. `caught_up` is true on the last page of a run."""

    cursor: str
    documents: tuple[Document, ...] = ()
    entities: tuple[Entity, ...] = ()
    requests: int = 1
    caught_up: bool = False


class Source(Protocol):
    """A source reads forward from a cursor. `None` means the very first run (see `WETWACHT_START`)."""

    name: str

    def pages(self, cursor: str | None) -> AsyncIterator[Page]: ...


class SourceError(Exception):
    """A source run failed; the cursor stays where it was."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class FetchError(SourceError):
    """The upstream could not be reached or answered with an error status after the retries."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        super().__init__(message, url=url)
        self.status = status


class ParseError(SourceError):
    """The upstream answered but the body is not what the format promises (truncated XML, an SRU
    diagnostic, a missing required element)."""

    def __init__(self, message: str, *, url: str | None = None, position: str | None = None) -> None:
        super().__init__(message, url=url)
        self.position = position
