"""From stored SyncFeed entities to normalized `Document`s (source ``tk``).

The SyncFeed carries entities one at a time and relations only as GUIDs: a Document points to its
Kamerstukdossier and Zaak(en) and to its current DocumentVersie (whose `externeidentifier` is the KOOP id,
``kst-36742-4``), a Besluit points to its Zaak, a Zaak to its Kamerstukdossier. `resolve` turns one entity
into the Document a person would look up, following those relations through `lookup` (the pipeline's store of
the latest version of every entity). It is pure: no I/O, and the same entities always give the same Document.

Which entities make documents:
- Document: itself (id = DocumentNummer, ``2025D21083``).
- DocumentVersie: its parent Document, so an ExterneIdentifier that arrives with a version re-resolves the
  parent with it.
- Besluit: itself (id = its GUID), titled after its zaak; proposals (Status "Voorstel", "Concept voorstel")
  are not decisions and make none.
- Kamerstukdossier, Zaak and every other category: None (they are context, not news).

A delete marker (`tk:verwijderd="true"`) has no body: it resolves with the last known fields (from `lookup`)
and `deleted=True`, so the pipeline can retract what was said about it. Unknown fields resolve to None.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Callable, Iterable

from sources.base import Document, Entity, kst_id, parse_kst
from sources.syncfeed import AMSTERDAM, parse_tk_date

Lookup = Callable[[str], Entity | None]

TK_DOCUMENT_URL = "https://www.tweedekamer.nl/kamerstukken/detail"
TK_BILL_URL = "https://www.tweedekamer.nl/kamerstukken/wetsvoorstellen/detail"

_RIJKSWET = re.compile(r"^\(?\s*(R\d{3,5})\s*\)?$")
_PROPOSAL_STATUSES = frozenset({"voorstel", "concept voorstel"})
_BILL_ZAAK_KINDS = frozenset({"wetgeving", "initiatiefwetgeving"})


def _with_last_known(entity: Entity, lookup: Lookup) -> Entity:
    """A delete marker carries no body: complete it with the last known fields and relations."""
    if entity.deleted and not entity.fields and not entity.refs:
        last = lookup(entity.guid)
        if last is not None and (last.fields or last.refs):
            return Entity(category=entity.category, guid=entity.guid, updated=entity.updated, deleted=True,
                          fields=last.fields, refs=last.refs)
    return entity


def _refs(entity: Entity, name: str) -> tuple[str, ...]:
    return entity.refs.get(name, ())


def _first(entity: Entity, name: str, lookup: Lookup) -> Entity | None:
    for guid in _refs(entity, name):
        found = lookup(guid)
        if found is not None:
            return found
    return None


def _field(entity: Entity | None, *names: str) -> str | None:
    if entity is None:
        return None
    for name in names:
        value = entity.fields.get(name)
        if value:
            return value
    return None


def combined_title(titel: str | None, onderwerp: str | None) -> str | None:
    """How a TK document reads: the dossier title (Titel), then what this document is (Onderwerp), joined
    with "; " as officielebekendmakingen joins them; one of them when the other adds nothing."""
    if titel and onderwerp:
        if onderwerp == titel:
            return titel
        if onderwerp.startswith(titel):
            return onderwerp
        return f"{titel}; {onderwerp}"
    return titel or onderwerp


class _Dossier:
    """A Kamerstukdossier as documents cite it: ``36742``, ``36600-VII``, ``36374-(R2187)``; the part that goes
    into a kst id (a Rijkswet number is not part of it: ``kst-36374-4``), its Rijkswet number and title."""

    __slots__ = ("kst_part", "number", "rijkswet", "title")

    def __init__(self, entity: Entity | None) -> None:
        self.number: str | None = None
        self.kst_part: str | None = None
        self.rijkswet: str | None = None
        self.title: str | None = None
        nummer = _field(entity, "nummer")
        if not nummer:
            return
        toevoeging = (_field(entity, "toevoeging") or "").strip()
        rijkswet = _RIJKSWET.match(toevoeging) if toevoeging else None
        self.number = f"{nummer}-{toevoeging}" if toevoeging else nummer
        self.kst_part = nummer if (rijkswet or not toevoeging) else f"{nummer}-{toevoeging}"
        self.rijkswet = rijkswet.group(1) if rijkswet else None
        self.title = _field(entity, "titel", "citeertitel")


def _ondernummer(volgnummer: str | None) -> str | None:
    # Volgnummer is the kamerstuk's number in its dossier; -1 (or 0) when the document is not a numbered
    # kamerstuk.
    if volgnummer is None:
        return None
    value = volgnummer.strip()
    return value if value.isdigit() and int(value) > 0 else None


def _extra(pairs: Iterable[tuple[str, str | None]]) -> dict[str, str]:
    return {k: v for k, v in pairs if v}


def _version(document: Entity, hint: Entity | None, lookup: Lookup) -> Entity | None:
    """The DocumentVersie whose ExterneIdentifier counts: the document's current version, else the version
    being resolved (it may be stored before the document points to it)."""
    candidates = [lookup(g) for g in _refs(document, "huidigeDocumentVersie")]
    if hint is not None:
        candidates.append(hint)
    for version in candidates:
        if version is None or version.deleted:
            continue
        if _field(version, "externeidentifier", "externeIdentifier"):
            return version
    return None


def _document(entity: Entity, lookup: Lookup, hint: Entity | None = None) -> Document | None:
    entity = _with_last_known(entity, lookup)
    fields = entity.fields
    if not fields:
        return None  # a delete marker of something never seen: nothing to retract
    nummer = fields.get("documentNummer")
    dossier = _Dossier(_first(entity, "kamerstukdossier", lookup))
    zaken = [z for z in (lookup(g) for g in _refs(entity, "zaak")) if z is not None]
    zaak = _field(zaken[0], "nummer") if zaken else None
    ondernummer = _ondernummer(fields.get("volgnummer"))
    external = _field(_version(entity, hint, lookup), "externeidentifier", "externeIdentifier")
    dossier_number = dossier.number
    kst: str | None = None
    if external and external.startswith("kst-"):
        kst = external
        parsed = parse_kst(external)
        if parsed is not None and dossier_number is None:
            # The dossier entity was never seen (it predates a start "now"): the KOOP id still names it.
            dossier_number = parsed[0]
            ondernummer = ondernummer or parsed[1]
    elif dossier.kst_part and ondernummer:
        kst = kst_id(dossier.kst_part, ondernummer)
    url = None
    if nummer:
        query = {"did": nummer, "id": zaak} if zaak else {"did": nummer}
        url = f"{TK_DOCUMENT_URL}?{urllib.parse.urlencode(query)}"
    titel, onderwerp, soort = fields.get("titel"), fields.get("onderwerp"), fields.get("soort") or ""
    extra = _extra([
        ("titel", titel), ("onderwerp", onderwerp), ("citeertitel", fields.get("citeertitel")),
        ("dossiertitel", dossier.title), ("vergaderjaar", fields.get("vergaderjaar")),
        ("externeIdentifier", external), ("rijkswetnummer", dossier.rijkswet),
        ("zaken", ",".join(n for n in (_field(z, "nummer") for z in zaken) if n) if len(zaken) > 1 else None),
    ])
    return Document(
        source="tk", id=nummer or entity.guid, kind=soort,
        title=combined_title(titel, onderwerp) or soort or nummer or entity.guid,
        entity="Document", guid=entity.guid, kst=kst, dossier=dossier_number, ondernummer=ondernummer,
        zaak=zaak, chamber="TK", date=parse_tk_date(fields.get("datum")), modified=entity.updated, url=url,
        deleted=entity.deleted, extra=extra,
    )


def _local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(AMSTERDAM).date()


def _besluit(entity: Entity, lookup: Lookup) -> Document | None:
    entity = _with_last_known(entity, lookup)
    fields = entity.fields
    if not fields:
        return None
    status = fields.get("status")
    if status and status.strip().lower() in _PROPOSAL_STATUSES:
        return None  # a proposed decision on the agenda, not a decision taken
    zaak = _first(entity, "zaak", lookup)
    dossier = _Dossier(_first(zaak, "kamerstukdossier", lookup) if zaak is not None else None)
    zaak_titel, zaak_onderwerp = _field(zaak, "titel"), _field(zaak, "onderwerp")
    zaak_soort = _field(zaak, "soort")
    soort = fields.get("besluitSoort") or ""
    url = None
    if dossier.number and zaak_soort and zaak_soort.strip().lower() in _BILL_ZAAK_KINDS:
        query = {"cfg": "wetsvoorsteldetails", "qry": f"wetsvoorstel:{dossier.number}"}
        url = f"{TK_BILL_URL}?{urllib.parse.urlencode(query)}"
    extra = _extra([
        ("besluitSoort", soort), ("besluitTekst", fields.get("besluitTekst")),
        ("stemmingsSoort", fields.get("stemmingsSoort")), ("besluitStatus", status),
        ("zaakSoort", zaak_soort), ("zaakVolgnummer", _field(zaak, "volgnummer")),
        ("titel", zaak_titel), ("onderwerp", zaak_onderwerp), ("dossiertitel", dossier.title),
        ("rijkswetnummer", dossier.rijkswet),
    ])
    return Document(
        source="tk", id=entity.guid, kind=soort,
        title=combined_title(zaak_titel, zaak_onderwerp) or fields.get("besluitTekst") or soort or "Besluit",
        entity="Besluit", guid=entity.guid, dossier=dossier.number, zaak=_field(zaak, "nummer"), chamber="TK",
        # A Besluit has no date of its own; the day it entered the record is the day of the decision
        # (it does not change on a bulk re-emission: identical entities are never resolved again).
        date=_local_date(entity.updated), modified=entity.updated, url=url, deleted=entity.deleted, extra=extra,
    )


def version_pending(document: Entity, lookup: Lookup) -> bool:
    """Whether a Document points to a current version that has not been seen yet (its ExterneIdentifier, the
    kst id, is on the version)."""
    refs = _refs(document, "huidigeDocumentVersie")
    return bool(refs) and all(lookup(g) is None for g in refs)


def resolve(entity: Entity, lookup: Lookup) -> Document | None:
    """The Document `entity` stands for, or None (context entities, proposals, unknown deletions)."""
    if entity.category == "Document":
        return _document(entity, lookup)
    if entity.category == "DocumentVersie":
        version = _with_last_known(entity, lookup)
        parent = _first(version, "document", lookup)
        if parent is None:
            return None
        return _document(parent, lookup, hint=None if version.deleted else version)
    if entity.category == "Besluit":
        return _besluit(entity, lookup)
    return None
