"""The legacy part of the evaluation set (`tests/data/eval/legacy/`): the 246 documents the first matcher was
written against, kept as they were so that "the old set must not get worse" stays measurable.

Its files predate `bench/evalset.py`: Tweede Kamer SyncFeed pages, Besluit records in the OData shape and an SRU
response, with a `labels.yaml` listing every document occurrence in load order (TK documents, TK Besluiten, KOOP
records). It is read by this small parser of its own, independent of `sources/`, exactly as it was measured, and
scored with the semantics it was labelled for: the stage a document shows (`effective_stage`), without forward
only (see `bench.evaluate`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from matchers.stages import Stage, parse_stage
from sources.base import Chamber, Document, parse_kst

LEGACY_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "eval" / "legacy"

ATOM = "http://www.w3.org/2005/Atom"
TK = "http://www.tweedekamer.nl/xsd/tkData/v1-0"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
SRU = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
GZD = "http://standaarden.overheid.nl/sru"
DCTERMS = "http://purl.org/dc/terms/"
OWG = "http://standaarden.overheid.nl/wetgeving/"
_RIJKSWET = re.compile(r"^\(?(R\d{3,5})\)?$")

Pair = tuple[str, Stage | None]


# --------------------------------------------------------------------------------------------- loading


def _parse(path: Path) -> ET.Element:
    # Our own data files in the repository, not network input.
    return ET.parse(path).getroot()  # noqa: S314


def _tk_fields(payload: ET.Element) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Scalars by element name and relations by element name, namespace-aware (never by prefix)."""
    fields: dict[str, str] = {}
    refs: dict[str, list[str]] = {}
    for child in payload:
        name = child.tag.rpartition("}")[2]
        ref = child.get("ref")
        if ref is not None:
            refs.setdefault(name, []).append(ref)
        elif child.get(XSI_NIL) != "true":
            fields[name] = (child.text or "").strip()
    return fields, refs


def _feed_payloads(path: Path) -> Iterator[tuple[str, dt.datetime, ET.Element]]:
    """(GUID, entry updated, entity payload) of every entry of a SyncFeed page, in order."""
    for entry in _parse(path).iter(f"{{{ATOM}}}entry"):
        guid = (entry.findtext(f"{{{ATOM}}}title") or "").strip()
        updated = _datetime(entry.findtext(f"{{{ATOM}}}updated") or "")
        content = entry.find(f"{{{ATOM}}}content")
        payload = next(iter(content), None) if content is not None else None
        if payload is not None:
            yield guid, updated, payload


def _datetime(value: str) -> dt.datetime:
    value = value.strip()
    m = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?$", value)
    if m is None:
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    base = dt.datetime.fromisoformat(m.group(1))
    zone = m.group(2)
    if not zone or zone == "Z":
        return base.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(m.group(1) + zone).astimezone(dt.UTC)


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _dossier_number(nummer: str, toevoeging: str | None) -> tuple[str, str | None]:
    """The dossier as Document.dossier writes it (``36600-VII``) and a Rijkswet number found in the toevoeging
    (``(R2187)`` -> ``R2187``, which is not part of the dossier number)."""
    if toevoeging:
        m = _RIJKSWET.match(toevoeging.strip())
        if m:
            return nummer, m.group(1)
        return f"{nummer}-{toevoeging.strip()}", None
    return nummer, None


def load_tk_documents(directory: Path = LEGACY_DIR) -> list[Document]:
    """The TK Document entries, resolved against the Kamerstukdossier, Zaak and DocumentVersie pages. A delete
    marker keeps the last known fields of its document (as the pipeline does) with `deleted` set."""
    dossiers: dict[str, dict[str, str]] = {}
    for guid, _, payload in _feed_payloads(directory / "tk_kamerstukdossier.xml"):
        dossiers[guid] = _tk_fields(payload)[0]
    zaken: dict[str, tuple[dict[str, str], dict[str, list[str]]]] = {}
    for guid, _, payload in _feed_payloads(directory / "tk_zaak.xml"):
        zaken[guid] = _tk_fields(payload)
    versions: dict[str, str] = {}
    for guid, _, payload in _feed_payloads(directory / "tk_documentversie.xml"):
        fields, _refs = _tk_fields(payload)
        if fields.get("externeidentifier"):
            versions[guid] = fields["externeidentifier"]

    out: list[Document] = []
    last: dict[str, Document] = {}
    for guid, updated, payload in _feed_payloads(directory / "tk_document.xml"):
        if payload.get(f"{{{TK}}}verwijderd") == "true":
            known = last.get(guid)
            doc = (replace(known, deleted=True, modified=updated) if known is not None else
                   Document(source="tk", id=guid, kind="", title="", guid=guid, modified=updated, deleted=True))
            out.append(doc)
            continue
        fields, refs = _tk_fields(payload)
        dossier = rijkswet = dossier_title = None
        dossier_ref = refs.get("kamerstukdossier", [None])[0]
        if dossier_ref and dossier_ref in dossiers:
            d = dossiers[dossier_ref]
            dossier, rijkswet = _dossier_number(d["nummer"], d.get("toevoeging"))
            dossier_title = d.get("titel")
        zaak = zaak_kind = None
        zaak_ref = refs.get("zaak", [None])[0]
        if zaak_ref and zaak_ref in zaken:
            zaak = zaken[zaak_ref][0].get("nummer")
            zaak_kind = zaken[zaak_ref][0].get("soort")
        volgnummer = fields.get("volgnummer", "-1")
        ondernummer = volgnummer if volgnummer.isdigit() and int(volgnummer) > 0 else None
        version_ref = refs.get("huidigeDocumentVersie", [None])[0]
        kst = versions.get(version_ref or "")
        if kst is None and dossier and ondernummer:
            kst = f"kst-{dossier}-{ondernummer}"
        extra = {k: v for k, v in (("onderwerp", fields.get("onderwerp")), ("dossiertitel", dossier_title),
                                   ("rijkswetnummer", rijkswet), ("zaakSoort", zaak_kind)) if v}
        kamer = fields.get("kamer")
        chamber: Chamber | None = "TK" if kamer == "2" else "EK" if kamer == "1" else None
        doc = Document(
            source="tk", id=fields.get("documentNummer") or guid, kind=fields.get("soort", ""),
            title=fields.get("titel") or fields.get("onderwerp", ""), entity="Document", guid=guid, kst=kst,
            dossier=dossier, ondernummer=ondernummer, zaak=zaak, chamber=chamber, date=_date(fields.get("datum")),
            modified=updated, url=f"https://zoek.officielebekendmakingen.nl/{kst}.html" if kst else None, extra=extra,
        )
        last[guid] = doc
        out.append(doc)
    return out


def load_tk_besluiten(directory: Path = LEGACY_DIR) -> list[Document]:
    """Besluit records (OData v4/2.0 shape, Zaak expanded with its Kamerstukdossier) as documents: the vote's
    subject is its zaak."""
    data = json.loads((directory / "tk_besluit.json").read_text(encoding="utf-8"))
    out: list[Document] = []
    for item in data["value"]:
        zaak: Mapping[str, Any] = (item.get("Zaak") or [{}])[0]
        dossier = rijkswet = None
        for d in zaak.get("Kamerstukdossier") or []:
            dossier, rijkswet = _dossier_number(str(d["Nummer"]), d.get("Toevoeging"))
            break
        extra = {k: str(v) for k, v in (("besluitSoort", item.get("BesluitSoort")),
                                        ("besluitTekst", item.get("BesluitTekst")),
                                        ("zaakSoort", zaak.get("Soort")), ("onderwerp", zaak.get("Onderwerp")),
                                        ("rijkswetnummer", rijkswet)) if v}
        updated = _datetime(item.get("ApiGewijzigdOp") or "")
        out.append(Document(
            source="tk", id=item["Id"], kind=item.get("BesluitSoort") or "", title=zaak.get("Titel") or "",
            entity="Besluit", guid=item["Id"], dossier=dossier, zaak=zaak.get("Nummer"), chamber="TK",
            date=updated.date(), modified=updated, deleted=bool(item.get("Verwijderd")), extra=extra,
        ))
    return out


def _text(parent: ET.Element | None, ns: str, name: str) -> str | None:
    if parent is None:
        return None
    node = parent.find(f"{{{ns}}}{name}")
    if node is None or node.text is None:
        return None
    return node.text.strip() or None


def load_ob_records(directory: Path = LEGACY_DIR) -> list[Document]:
    """The gzd records of the SRU response, in order."""
    out: list[Document] = []
    for record in _parse(directory / "ob_sru.xml").iter(f"{{{SRU}}}record"):
        meta = record.find(f".//{{{GZD}}}originalData/{{{OWG}}}meta")
        kern = meta.find(f"{{{OWG}}}owmskern") if meta is not None else None
        mantel = meta.find(f"{{{OWG}}}owmsmantel") if meta is not None else None
        tp = meta.find(f"{{{OWG}}}tpmeta") if meta is not None else None
        identifier = _text(kern, DCTERMS, "identifier") or ""
        publication = _text(tp, OWG, "publicatienaam") or _text(kern, DCTERMS, "type") or ""
        kind = _text(tp, OWG, "subrubriek") or _text(kern, DCTERMS, "type") or ""
        creator = _text(kern, DCTERMS, "creator") or ""
        chamber: Chamber | None = ("EK" if creator.startswith("Eerste Kamer") else
                                   "TK" if creator.startswith("Tweede Kamer") else None)
        treated = [n.text.strip() for n in tp.iter(f"{{{OWG}}}behandeldDossier") if n.text] if tp is not None else []
        extra = {k: v for k, v in (("publicatienaam", publication),
                                   ("dossiertitel", _text(tp, OWG, "dossiertitel")),
                                   ("documenttitel", _text(tp, OWG, "documenttitel")),
                                   ("behandeldDossier", ",".join(treated)),
                                   ("type", _text(kern, DCTERMS, "type"))) if v}
        kst = identifier if identifier.startswith("kst-") else None
        dossier = _text(tp, OWG, "dossiernummer")
        if dossier is None and kst and (parsed := parse_kst(kst)) is not None:
            dossier = parsed[0]
        modified = _text(tp, OWG, "datumTijdstipWijzigingExpression")
        out.append(Document(
            source="ob", id=identifier, kind=kind, title=_text(kern, DCTERMS, "title") or "", entity=publication,
            kst=kst, dossier=dossier, ondernummer=_text(tp, OWG, "ondernummer"), chamber=chamber,
            date=_date(_text(mantel, DCTERMS, "date")), modified=_datetime(modified) if modified else None,
            url=record.findtext(f".//{{{GZD}}}preferredUrl"), extra=extra,
        ))
    return out


def load_documents(directory: Path = LEGACY_DIR) -> list[tuple[str, Document]]:
    """Every document occurrence with its label key (the document key, then #2, #3 for repeats)."""
    seen: Counter[str] = Counter()
    out: list[tuple[str, Document]] = []
    for doc in [*load_tk_documents(directory), *load_tk_besluiten(directory), *load_ob_records(directory)]:
        seen[doc.key] += 1
        n = seen[doc.key]
        out.append((doc.key if n == 1 else f"{doc.key}#{n}", doc))
    return out


@dataclass(frozen=True)
class Label:
    expect: frozenset[Pair]
    reason: str


def load_labels(directory: Path = LEGACY_DIR) -> dict[str, Label]:
    raw = yaml.safe_load((directory / "labels.yaml").read_text(encoding="utf-8"))
    labels: dict[str, Label] = {}
    for item in raw:
        pairs = frozenset(
            (str(e["slug"]), parse_stage(str(e["stage"])) if e.get("stage") else None) for e in item["expect"] or []
        )
        if item["doc"] in labels:
            raise ValueError(f"labels.yaml: {item['doc']} is labelled twice")
        labels[str(item["doc"])] = Label(pairs, str(item["reason"]))
    return labels
