"""The labelled evaluation set: how it is written, rendered into the upstream formats and read back.

A part of the set is a folder under `tests/data/eval/` with one `documents.yaml`: the publications in the order
the record publishes them, each with its label. `python -m bench.evalset render DIR...` renders the folder into
the files the two upstreams serve, exactly as `tests/fakes/upstream.py` serves them (SyncFeed pages per category:
`tk_kamerstukdossier.xml`, `tk_zaak.xml`, `tk_document.xml`, `tk_documentversie.xml`, `tk_besluit.xml`; one SRU
searchRetrieveResponse: `ob_sru.xml`). The evaluation reads those files back through wetwacht's own parsers
(`sources.syncfeed.parse_feed` + `sources.tk_resolve.resolve`, `sources.sru.parse_response` + `sources.sru.wanted`),
so it measures the documents the product itself would see. `python -m bench.evalset check DIR...` validates a
folder (fields, labels, slugs, and that the rendered files are up to date) without running the matcher.

`documents.yaml`::

    x-dossier-37150: &d37150 {nummer: "37150", titel: "..."}   # keys starting with x- only hold YAML anchors
    part: tune                         # tune | heldout | legacy
    commitments: [slug, ...]           # the commitments this folder holds positives for (the split is by commitment)
    items:
      - doc: tk:2026D61001             # the document key: tk:<DocumentNummer>, tk:<Besluit GUID>, ob:<identifier>
        class: bill-title              # see CLASSES
        expect:                        # the (commitment, stage) events the document must make; [] for none
          - {slug: lobbyregister, stage: ingediend}      # stage null: a commitment.document event
        reason: "why, for the person who checks"
        updated: 2026-11-02T09:14:00Z  # when the record published it (TK entry <updated>; KOOP: modified day)
        tk:                            # a Tweede Kamer Document; the names are the SyncFeed element names
          soort: Memorie van toelichting
          titel: "..."
          onderwerp: "..."
          datum: 2026-11-02
          volgnummer: 3                # its number in the dossier; -1 when it is not a Kamerstuk
          kamerstukdossier: {nummer: "37150", toevoeging: null, titel: "..."}
          zaak: {nummer: 2026Z61001, soort: Wetgeving, titel: "...", onderwerp: "..."}
      - doc: tk:0000b35d-0000-4000-8000-000000000001
        besluit: {besluitSoort: "Stemmen - aangenomen", besluitTekst: "Aangenomen.", stemmingsSoort: "Met
                  handopsteken", zaak: {nummer: ..., soort: Wetgeving, titel: ..., kamerstukdossier: {...}}}
      - doc: ob:kst-37150-3
        ob: {publicatienaam: Kamerstuk, title: "...", subrubriek: ..., documenttitel: ..., dossiertitel: ...,
             dossiernummer: "37150", ondernummer: "3", creator: "Tweede Kamer der Staten-Generaal",
             date: 2026-11-02, indiener: [...], behandeldDossier: [...], type: ..., available: ...}

A key listed again is a new version of the same publication (a correction, a re-emission), labelled `key#2`,
`key#3`; `deleted: true` on a TK item is a delete marker.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from matchers.catalog import Catalog, load_catalog
from matchers.stages import Stage, parse_stage
from sources.base import Document, Entity
from sources.sru import parse_response, wanted
from sources.syncfeed import parse_feed
from sources.tk_resolve import resolve, version_pending
from tests.fakes.upstream import FakeUpstream

EVAL_ROOT = Path(__file__).resolve().parent.parent / "tests" / "data" / "eval"
SPEC = "documents.yaml"
PARTS = ("tune", "heldout", "legacy")
CATEGORIES = ("Kamerstukdossier", "Zaak", "Document", "DocumentVersie", "Besluit")
FILES = {c: f"tk_{c.lower()}.xml" for c in CATEGORIES} | {"sru": "ob_sru.xml"}

# What a labelled document is an example of. Positives: the ways the record shows a commitment moving.
POSITIVE_CLASSES = {
    "bill-title": "a cabinet bill's opening documents under its official (statutory) title",
    "grondwet": "a Grondwet proposal: 'Verklaring dat er grond bestaat ... verandering in de Grondwet, strekkende tot'",
    "rijkswet": "a Rijkswet proposal or Rijkswet",
    "letter": "a promised letter, visie, evaluatie or monitor arriving under a subject that paraphrases the promise",
    "rvs-staatscourant": "a Raad van State advice published in the Staatscourant before the bill reaches the Kamer",
    "staatsblad": "a law (or a promised AMvB) in the Staatsblad",
    "inwerkingtreding": "an entry-into-force decree",
    "later-kamerstuk": "a later Kamerstuk in a dossier learned from an earlier document (found by number)",
    "vote": "a Tweede Kamer vote (Besluit) on the bill",
    "names-it": "a document in another dossier whose own subject names the commitment",
    "withdrawal": "a bill withdrawn",
    "other": "any other document that makes an event",
}
NEGATIVE_CLASSES = {
    "neg-other-bill": "another bill sharing words with a commitment",
    "neg-other-grondwet": "another Grondwet proposal",
    "neg-decentraal": "a municipal, provincial or water board publication",
    "neg-kamervragen": "written questions or their answers",
    "neg-agenda": "an agenda, list or procedural document",
    "neg-rvs-other": "a Raad van State advice on another bill",
    "neg-initiative": "a member's initiative bill on a commitment's subject",
    "neg-motion": "a motion or amendment, or a vote on one",
    "neg-budget": "a budget bill, a budget motion or a budget letter",
    "neg-letter": "a letter that shares words but is not about the commitment",
    "neg-other": "any other document that must make no event",
}
CLASSES = POSITIVE_CLASSES | NEGATIVE_CLASSES

_KEY = re.compile(r"^(tk|ob):[A-Za-z0-9._-]+$")
_ITEM_KEYS = {"doc", "class", "expect", "reason", "updated", "tk", "besluit", "ob", "deleted"}
_TK_KEYS = {"soort", "titel", "onderwerp", "datum", "volgnummer", "vergaderjaar", "kamer", "citeertitel",
            "kamerstukdossier", "zaak", "externeidentifier"}
_DOSSIER_KEYS = {"nummer", "toevoeging", "titel"}
_ZAAK_KEYS = {"nummer", "soort", "titel", "onderwerp", "gestartOp", "citeertitel", "volgnummer", "kamerstukdossier",
              "vergaderjaar"}
_BESLUIT_KEYS = {"besluitSoort", "besluitTekst", "stemmingsSoort", "status", "zaak"}
_OB_KEYS = {"publicatienaam", "title", "type", "creator", "subrubriek", "documenttitel", "dossiertitel",
            "dossiernummer", "ondernummer", "behandeldDossier", "date", "modified", "available", "indiener"}
_RIJKSWET = re.compile(r"^\(?\s*R\d{3,5}\s*\)?$")

Pair = tuple[str, Stage | None]


class SpecError(ValueError):
    """A `documents.yaml` is wrong; the message names the folder, the item and the field."""


@dataclass(frozen=True)
class Item:
    """One publication of the set with its label."""

    doc: str  # the document key
    label: str  # the key with #n for a repeat
    cls: str
    expect: frozenset[Pair]
    reason: str
    updated: dt.datetime
    tk: Mapping[str, Any] | None = None
    besluit: Mapping[str, Any] | None = None
    ob: Mapping[str, Any] | None = None
    deleted: bool = False

    @property
    def positive(self) -> bool:
        return bool(self.expect)


@dataclass(frozen=True)
class Part:
    """One folder of the set."""

    path: Path
    part: str
    commitments: tuple[str, ...]
    items: tuple[Item, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.path.name


# --------------------------------------------------------------------------------------------- reading the spec


def _moment(value: Any, where: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time(9, 0))
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise SpecError(f"{where}: 'updated' is not an ISO date-time: {value!r}") from None
    else:
        raise SpecError(f"{where}: 'updated' is missing")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _date(value: Any, where: str, name: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise SpecError(f"{where}: {name!r} is not an ISO date: {value!r}") from None


def _check_keys(value: Any, allowed: set[str], where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise SpecError(f"{where}: must be a mapping")
    unknown = set(value) - allowed
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; "
                        f"allowed: {', '.join(sorted(allowed))}")
    return value


def _expect(raw: Any, where: str, catalog: Catalog | None) -> frozenset[Pair]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list):
        raise SpecError(f"{where}: 'expect' must be a list")
    pairs: set[Pair] = set()
    for e in raw:
        e = _check_keys(e, {"slug", "stage"}, f"{where}: expect")
        slug = str(e.get("slug") or "")
        if catalog is not None and slug not in catalog:
            raise SpecError(f"{where}: expect names {slug!r}, which is not in the catalog")
        try:
            stage = parse_stage(str(e["stage"])) if e.get("stage") else None
        except ValueError as exc:
            raise SpecError(f"{where}: {exc}") from None
        pairs.add((slug, stage))
    return frozenset(pairs)


def load_part(path: Path, catalog: Catalog | None = None) -> Part:
    """Read and validate one folder's `documents.yaml`."""
    spec = path / SPEC
    try:
        raw = yaml.safe_load(spec.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{spec}: {exc}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{spec}: must be a mapping with part, commitments and items")
    # Keys starting with "x-" hold YAML anchors for repeated values (a dossier, a zaak) and are not read.
    raw = _check_keys({k: v for k, v in raw.items() if not str(k).startswith("x-")},
                      {"part", "commitments", "items", "notes"}, str(spec))
    part = raw.get("part")
    if part not in PARTS:
        raise SpecError(f"{spec}: 'part' must be one of {', '.join(PARTS)}, got {part!r}")
    commitments = tuple(str(s) for s in raw.get("commitments") or ())
    if catalog is not None:
        unknown = [s for s in commitments if s not in catalog]
        if unknown:
            raise SpecError(f"{spec}: 'commitments' names slugs the catalog does not have: {unknown}")
    items: list[Item] = []
    seen: Counter[str] = Counter()
    for n, entry in enumerate(raw.get("items") or (), start=1):
        where = f"{spec}: item #{n}"
        entry = _check_keys(entry, _ITEM_KEYS, where)
        key = str(entry.get("doc") or "")
        if not _KEY.match(key):
            raise SpecError(f"{where}: 'doc' must be tk:<DocumentNummer>, tk:<GUID> or ob:<identifier>, got {key!r}")
        where = f"{spec}: item #{n} ({key})"
        cls = entry.get("class")
        if cls not in CLASSES:
            raise SpecError(f"{where}: 'class' must be one of {', '.join(CLASSES)}, got {cls!r}")
        reason = str(entry.get("reason") or "").strip()
        if not reason:
            raise SpecError(f"{where}: 'reason' is missing")
        bodies = [k for k in ("tk", "besluit", "ob") if entry.get(k) is not None]
        if len(bodies) != 1:
            raise SpecError(f"{where}: exactly one of 'tk', 'besluit', 'ob' must be given")
        body = bodies[0]
        if (body == "ob") != key.startswith("ob:"):
            raise SpecError(f"{where}: an ob: key needs an 'ob' body, a tk: key a 'tk' or 'besluit' body")
        tk = besluit = ob = None
        if body == "tk":
            tk = _check_keys(entry["tk"], _TK_KEYS, f"{where}: tk")
            for name in ("soort", "titel"):
                if not tk.get(name):
                    raise SpecError(f"{where}: tk.{name} is missing")
            _check_relations(tk, where)
        elif body == "besluit":
            besluit = _check_keys(entry["besluit"], _BESLUIT_KEYS, f"{where}: besluit")
            if not besluit.get("besluitSoort") or not isinstance(besluit.get("zaak"), dict):
                raise SpecError(f"{where}: besluit needs besluitSoort and zaak")
            _check_relations(besluit, where)
        else:
            ob = _check_keys(entry["ob"], _OB_KEYS, f"{where}: ob")
            for name in ("publicatienaam", "title"):
                if not ob.get(name):
                    raise SpecError(f"{where}: ob.{name} is missing")
            for name in ("date", "modified", "available"):
                _date(ob.get(name), where, name)
        expect = _expect(entry.get("expect"), where, catalog)
        if cls in POSITIVE_CLASSES and not expect:
            raise SpecError(f"{where}: class {cls} is a positive class but 'expect' is empty")
        if cls in NEGATIVE_CLASSES and expect:
            raise SpecError(f"{where}: class {cls} is a negative class but 'expect' is not empty")
        seen[key] += 1
        label = key if seen[key] == 1 else f"{key}#{seen[key]}"
        items.append(Item(doc=key, label=label, cls=str(cls), expect=expect, reason=reason,
                          updated=_moment(entry.get("updated"), where), tk=tk, besluit=besluit, ob=ob,
                          deleted=bool(entry.get("deleted"))))
    return Part(path=path, part=str(part), commitments=commitments, items=tuple(items))


def _check_relations(body: Mapping[str, Any], where: str) -> None:
    dossier = body.get("kamerstukdossier")
    if dossier is not None:
        _check_keys(dossier, _DOSSIER_KEYS, f"{where}: kamerstukdossier")
        if not dossier.get("nummer") or not dossier.get("titel"):
            raise SpecError(f"{where}: kamerstukdossier needs nummer and titel")
    zaak = body.get("zaak")
    if zaak is not None:
        _check_keys(zaak, _ZAAK_KEYS, f"{where}: zaak")
        if not zaak.get("nummer") or not zaak.get("titel"):
            raise SpecError(f"{where}: zaak needs nummer and titel")
        if zaak.get("kamerstukdossier") is not None:
            _check_relations({"kamerstukdossier": zaak["kamerstukdossier"]}, f"{where}: zaak")


def parts(root: Path = EVAL_ROOT, catalog: Catalog | None = None, only: Iterable[str] = PARTS) -> list[Part]:
    """Every folder of the set whose name starts with one of `only` (tune-a, heldout-b, ...), sorted by name."""
    prefixes = tuple(only)
    return [load_part(p, catalog) for p in sorted(root.iterdir())
            if (p / SPEC).is_file() and p.name.startswith(prefixes)]


# --------------------------------------------------------------------------------------------- rendering


class _Renderer:
    def __init__(self) -> None:
        self.up = FakeUpstream(page_size=1_000_000, now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        self.up.tick = dt.timedelta(0)
        self.up.offline_base = "https://gegevensmagazijn.tweedekamer.nl"
        self.dossiers: dict[str, tuple[str, tuple[Any, ...]]] = {}
        self.zaken: dict[str, tuple[str, tuple[Any, ...]]] = {}
        self.documents: dict[str, str] = {}
        self.besluiten: set[str] = set()
        self.records: list[str] = []

    def _at(self, moment: dt.datetime) -> None:
        self.up.now = moment.astimezone(dt.UTC)

    def dossier(self, raw: Mapping[str, Any]) -> str:
        nummer = str(raw["nummer"])
        shape = (str(raw["titel"]), raw.get("toevoeging"))
        known = self.dossiers.get(nummer)
        if known is not None:
            if known[1] != shape:
                self.up.update(known[0], titel=shape[0], toevoeging=shape[1])
                self.dossiers[nummer] = (known[0], shape)
            return known[0]
        guid = self.up.add_dossier(nummer, shape[0], toevoeging=shape[1])
        self.dossiers[nummer] = (guid, shape)
        return guid

    def zaak(self, raw: Mapping[str, Any], dossier: str | None) -> str:
        nummer = str(raw["nummer"])
        gestart = _date(raw.get("gestartOp"), "zaak", "gestartOp")
        shape = (str(raw["titel"]), raw.get("soort") or "Wetgeving", raw.get("onderwerp"), raw.get("citeertitel"),
                 int(raw.get("volgnummer", 0)), dossier, gestart, raw.get("vergaderjaar") or "2026-2027")
        known = self.zaken.get(nummer)
        if known is not None:
            if known[1] != shape:
                self.up.update(known[0], titel=shape[0], soort=shape[1], onderwerp=shape[2] or shape[0],
                               citeertitel=shape[3])
                self.zaken[nummer] = (known[0], shape)
            return known[0]
        guid = self.up.add_zaak(nummer, dossier=dossier, titel=shape[0], soort=shape[1], onderwerp=shape[2],
                                citeertitel=shape[3], volgnummer=shape[4], gestart=gestart, vergaderjaar=shape[7])
        self.zaken[nummer] = (guid, shape)
        return guid

    def relations(self, body: Mapping[str, Any], moment: dt.datetime) -> tuple[str | None, str | None]:
        # The context entities are published just before the document that first needs them.
        self._at(moment - dt.timedelta(minutes=2))
        dossier = self.dossier(body["kamerstukdossier"]) if body.get("kamerstukdossier") else None
        zaak = None
        if body.get("zaak"):
            z = body["zaak"]
            zaak_dossier = self.dossier(z["kamerstukdossier"]) if z.get("kamerstukdossier") else dossier
            zaak = self.zaak(z, zaak_dossier)
        return dossier, zaak

    def tk(self, item: Item) -> None:
        body = item.tk
        assert body is not None
        nummer = item.doc.removeprefix("tk:")
        if item.doc in self.documents:
            guid = self.documents[item.doc]
            self._at(item.updated)
            if item.deleted:
                self.up.delete(guid)
            else:
                self.up.update(guid, soort=body["soort"], titel=body["titel"],
                               onderwerp=body.get("onderwerp") or body["soort"])
            return
        dossier, zaak = self.relations(body, item.updated)
        volgnummer = int(body.get("volgnummer", -1))
        external = body.get("externeidentifier", _default_kst(body, volgnummer))
        datum = _date(body.get("datum"), item.label, "datum") or item.updated.date()
        self._at(item.updated)
        guid = self.up.add_document(
            nummer, soort=str(body["soort"]), titel=str(body["titel"]), onderwerp=body.get("onderwerp"),
            datum=datum, volgnummer=volgnummer, dossier=dossier, zaak=zaak, externe_identifier=external,
            vergaderjaar=str(body.get("vergaderjaar") or _vergaderjaar(datum)), kamer=str(body.get("kamer", 2)),
            citeertitel=body.get("citeertitel"))
        self.documents[item.doc] = guid

    def besluit(self, item: Item) -> None:
        body = item.besluit
        assert body is not None
        guid = item.doc.removeprefix("tk:")
        _dossier, zaak = self.relations(body, item.updated)
        self._at(item.updated)
        if guid in self.besluiten:
            self.up.update(guid, besluitSoort=body["besluitSoort"], besluitTekst=body.get("besluitTekst"))
            return
        assert zaak is not None
        self.up.add_besluit(zaak, besluit_soort=str(body["besluitSoort"]),
                            besluit_tekst=str(body.get("besluitTekst") or ""),
                            stemmings_soort=body.get("stemmingsSoort"), status=str(body.get("status") or "Besluit"),
                            guid=guid)
        self.besluiten.add(guid)

    def ob(self, item: Item) -> None:
        body = item.ob
        assert body is not None
        identifier = item.doc.removeprefix("ob:")
        modified = _date(body.get("modified"), item.label, "modified") or item.updated.date()
        self._at(item.updated)
        stamp = item.updated.astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat(timespec="microseconds")
        behandeld = body.get("behandeldDossier") or ()
        indiener = body.get("indiener") or ()
        self.up.add_sru_record(
            identifier, publicatienaam=str(body["publicatienaam"]), title=str(body["title"]), modified=modified,
            rtype=body.get("type") or _default_type(str(body["publicatienaam"])), creator=body.get("creator"),
            creator_scheme=None if str(body["publicatienaam"]) == "Kamerstuk" else "OVERHEID.Ministerie",
            dossier=_str(body.get("dossiernummer")), ondernummer=_str(body.get("ondernummer")),
            subrubriek=body.get("subrubriek"), dossiertitel=body.get("dossiertitel"),
            documenttitel=body.get("documenttitel"),
            behandeld=[str(b) for b in ([behandeld] if isinstance(behandeld, str | int) else behandeld)],
            date=_date(body.get("date"), item.label, "date"), version=stamp,
            available=_date(body.get("available"), item.label, "available"),
            indiener=[str(i) for i in ([indiener] if isinstance(indiener, str) else indiener)])
        self.records.append(self.up.record_xml(identifier, len(self.records) + 1))

    def files(self) -> dict[str, bytes]:
        out = {FILES[c]: self.up.feed_page_xml(c, None) for c in CATEGORIES}
        out[FILES["sru"]] = FakeUpstream.response_xml(self.records)
        return out


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _default_type(publicatienaam: str) -> str | None:
    return "Kamerstuk" if publicatienaam == "Kamerstuk" else None


def _vergaderjaar(day: dt.date) -> str:
    # The parliamentary year starts on the third Tuesday of September; the first of September is close enough
    # for invented documents.
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


def _default_kst(body: Mapping[str, Any], volgnummer: int) -> str | None:
    """The ExterneIdentifier of a numbered Kamerstuk: ``kst-<dossier>[-<toevoeging>]-<volgnummer>`` (a Rijkswet
    number in the toevoeging is not part of it)."""
    dossier = body.get("kamerstukdossier")
    if not dossier or volgnummer <= 0:
        return None
    toevoeging = (dossier.get("toevoeging") or "").strip()
    nummer = str(dossier["nummer"])
    part = nummer if not toevoeging or _RIJKSWET.match(toevoeging) else f"{nummer}-{toevoeging}"
    return f"kst-{part}-{volgnummer}"


def render(part: Part) -> dict[str, bytes]:
    """The upstream files of one part, by file name."""
    renderer = _Renderer()
    for item in part.items:
        if item.tk is not None:
            renderer.tk(item)
        elif item.besluit is not None:
            renderer.besluit(item)
        else:
            renderer.ob(item)
    return renderer.files()


def write(part: Part) -> list[Path]:
    written = []
    for name, content in render(part).items():
        target = part.path / name
        if not target.exists() or target.read_bytes() != content:
            target.write_bytes(content)
            written.append(target)
    return written


def stale(part: Part) -> list[str]:
    """The rendered files that differ from what `documents.yaml` renders to."""
    out = []
    for name, content in render(part).items():
        target = part.path / name
        if not target.exists() or target.read_bytes() != content:
            out.append(name)
    return out


# --------------------------------------------------------------------------------------------- reading back


def _tk_documents(path: Path) -> list[Document]:
    """The documents the SyncFeed files resolve to, in feed order, as the pipeline resolves them: entities are
    kept by GUID (a delete marker keeps the last known body), a new Document waits for its DocumentVersie."""
    entries: list[tuple[int, Entity]] = []
    for category in CATEGORIES:
        file = path / FILES[category]
        if not file.exists():
            continue
        page = parse_feed(file.read_bytes(), url=str(file), category=category)
        entries.extend((int(e.token or 0), e.entity) for e in page.entries)
    entries.sort(key=lambda pair: pair[0])
    store: dict[str, Entity] = {}
    out: list[Document] = []
    for _, entity in entries:
        if entity.deleted and not entity.fields and entity.guid in store:
            last = store[entity.guid]
            entity = Entity(category=entity.category, guid=entity.guid, updated=entity.updated, deleted=True,
                            fields=last.fields, refs=last.refs, changed=entity.changed)
        store[entity.guid] = entity
        if entity.category not in ("Document", "DocumentVersie", "Besluit"):
            continue
        if entity.category == "Document" and version_pending(entity, store.get):
            continue
        doc = resolve(entity, store.get)
        if doc is not None:
            out.append(doc)
    return out


def _ob_documents(path: Path) -> list[Document]:
    file = path / FILES["sru"]
    if not file.exists():
        return []
    response = parse_response(file.read_bytes(), url=str(file))
    return [r.document for r in response.records if wanted(r.document)]


def documents(part: Part) -> list[tuple[Item, Document | None]]:
    """Each item of the part with the document wetwacht's parsers read from the rendered files (None when the
    source drops it, as the SRU source drops a Gemeenteblad record)."""
    produced: dict[str, list[Document]] = {}
    for doc in [*_tk_documents(part.path), *_ob_documents(part.path)]:
        produced.setdefault(doc.key, []).append(doc)
    taken: Counter[str] = Counter()
    out: list[tuple[Item, Document | None]] = []
    for item in part.items:
        versions = produced.get(item.doc, [])
        index = taken[item.doc]
        taken[item.doc] += 1
        out.append((item, versions[index] if index < len(versions) else None))
    return out


# --------------------------------------------------------------------------------------------- checking


def check(part: Part, catalog: Catalog, held_out: frozenset[str] = frozenset()) -> list[str]:
    """Problems of one part that do not need the matcher: stale files, items the parsers cannot read back,
    commitments of the part without a positive, and a tuning document that makes an event for a held-out
    commitment (`held_out`: the commitments of the heldout parts; nobody tuning may see their documents)."""
    problems = [f"{part.name}: {name} is not up to date (python -m bench.evalset render {part.path})"
                for name in stale(part)]
    if problems:
        return problems
    covered: set[str] = set()
    for item, doc in documents(part):
        if doc is None and not item.cls.startswith("neg-decentraal"):
            problems.append(f"{part.name}: {item.label} is not read back by wetwacht's parsers")
        for slug, _ in item.expect:
            covered.add(slug)
            if part.part != "heldout" and slug in held_out:
                problems.append(f"{part.name}: {item.label} makes an event for {slug}, a held-out commitment: "
                                "a tuning part must not hold its documents (the split is by commitment)")
    problems += [f"{part.name}: commitment {s} has no positive document"
                 for s in sorted(set(part.commitments) - covered)]
    return problems


def held_out_commitments(all_parts: Iterable[Part]) -> frozenset[str]:
    return frozenset(s for p in all_parts if p.part == "heldout" for s in p.commitments)


def summary(all_parts: Iterable[Part]) -> str:
    lines = []
    for p in all_parts:
        classes = Counter(i.cls for i in p.items)
        positives = sum(1 for i in p.items if i.positive)
        lines.append(f"{p.name} ({p.part}): {len(p.items)} items, {positives} positive, "
                     f"{len(p.items) - positives} negative, {len(p.commitments)} commitments")
        lines.append("   " + ", ".join(f"{c} {n}" for c, n in sorted(classes.items())))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) < 1 or argv[0] not in ("render", "check", "summary"):
        print("usage: python -m bench.evalset render|check|summary [DIR ...]", file=sys.stderr)
        return 2
    command, dirs = argv[0], [Path(a) for a in argv[1:]]
    catalog = load_catalog()
    try:
        chosen = [load_part(d, catalog) for d in dirs] if dirs else parts(EVAL_ROOT, catalog)
    except SpecError as exc:
        print(exc, file=sys.stderr)
        return 1
    if command == "render":
        for p in chosen:
            for target in write(p):
                print(f"wrote {target}")
        return 0
    if command == "summary":
        print(summary(chosen))
        return 0
    held = held_out_commitments(parts(EVAL_ROOT, catalog, ("heldout",)))
    problems = [problem for p in chosen for problem in check(p, catalog, held)]
    for problem in problems:
        print(problem)
    print(summary(chosen))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
