"""tk_resolve: SyncFeed entities (parsed from payloads in the real format) to normalized Documents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pytest

from sources.base import Entity
from sources.syncfeed import parse_feed
from sources.tk_resolve import combined_title, resolve
from tests.sources.helpers import data, split_feeds

T = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)
WPP = ("Regels betreffende de financiering van politieke partijen en transparantieregels met betrekking tot hun "
       "interne organisatie en financiën, evenals regels met betrekking tot het toezicht en het verbieden van "
       "politieke partijen (Wet op de politieke partijen)")
DOC_GUID = "00006f66-36a7-4e42-9c15-2025d0021083"


class Store:
    """What the pipeline keeps: the latest entity per GUID."""

    def __init__(self, entities: Iterable[Entity] = ()) -> None:
        self.entities: dict[str, Entity] = {}
        self.add(*entities)

    def add(self, *entities: Entity) -> None:
        for entity in entities:
            self.entities[entity.guid] = entity

    def __call__(self, guid: str) -> Entity | None:
        return self.entities.get(guid)


def feed_entities(body: bytes, category: str) -> list[Entity]:
    return [e.entity for e in parse_feed(body, url="test", category=category).entries]


@pytest.fixture
def store() -> Store:
    dossiers, zaken = split_feeds("tk_syncfeed_zaak_dossier.xml")
    return Store([
        *feed_entities(dossiers, "Kamerstukdossier"),
        *feed_entities(zaken, "Zaak"),
        *feed_entities(data("tk_syncfeed.xml"), "Document"),
    ])


def entity(category: str, guid: str, fields: dict[str, str], refs: dict[str, tuple[str, ...]] | None = None,
           *, deleted: bool = False) -> Entity:
    return Entity(category=category, guid=guid, updated=T, deleted=deleted, fields=fields, refs=refs or {})


def test_document_resolves_with_dossier_zaak_and_computed_kst(store: Store) -> None:
    doc = resolve(store(DOC_GUID), store)  # type: ignore[arg-type]
    assert doc is not None
    assert doc.source == "tk"
    assert doc.id == "2025D21083"
    assert doc.guid == DOC_GUID
    assert doc.entity == "Document"
    assert doc.kind == "Advies Afdeling advisering Raad van State en Nader rapport"
    assert doc.title == f"{WPP}; Advies Afdeling advisering Raad van State en Nader rapport"
    assert doc.extra["titel"] == WPP
    assert doc.extra["onderwerp"] == "Advies Afdeling advisering Raad van State en Nader rapport"
    assert doc.extra["dossiertitel"] == WPP
    assert doc.dossier == "36742"
    assert doc.ondernummer == "4"
    assert doc.kst == "kst-36742-4"
    assert doc.zaak == "2025Z09154"
    assert doc.chamber == "TK"
    assert doc.date == dt.date(2025, 5, 12)
    assert doc.modified == dt.datetime(2025, 5, 13, 17, 7, 9, 556677, tzinfo=dt.UTC)
    assert doc.url == "https://www.tweedekamer.nl/kamerstukken/detail?did=2025D21083&id=2025Z09154"
    assert doc.deleted is False
    assert doc.key == "tk:2025D21083"


def test_document_version_re_resolves_its_parent_with_the_externe_identifier(store: Store) -> None:
    version = feed_entities(data("tk_syncfeed_documentversie.xml"), "DocumentVersie")[0]
    store.add(version)
    doc = resolve(version, store)
    assert doc is not None
    assert doc.id == "2025D21083"
    assert doc.kst == "kst-36742-4"
    assert doc.extra["externeIdentifier"] == "kst-36742-4"
    assert doc == resolve(store(DOC_GUID), store)  # type: ignore[arg-type]  # the same Document either way


def test_externe_identifier_names_the_dossier_when_the_dossier_entity_was_never_seen() -> None:
    # Under WETWACHT_START=now the Kamerstukdossier of an old dossier may never have been read.
    doc_entity = entity("Document", "d1", {"documentNummer": "2026D00001", "soort": "Nota van wijziging",
                                           "volgnummer": "12"},
                        {"huidigeDocumentVersie": ("v1",), "kamerstukdossier": ("unknown",)})
    version = entity("DocumentVersie", "v1", {"externeidentifier": "kst-36600-VII-12"}, {"document": ("d1",)})
    doc = resolve(version, Store([doc_entity, version]))
    assert doc is not None
    assert (doc.dossier, doc.ondernummer, doc.kst) == ("36600-VII", "12", "kst-36600-VII-12")


@pytest.mark.parametrize(
    ("nummer", "toevoeging", "volgnummer", "dossier", "kst", "rijkswet"),
    [
        ("36742", None, "4", "36742", "kst-36742-4", None),
        ("36600", "VII", "129", "36600-VII", "kst-36600-VII-129", None),
        ("36374", "(R2187)", "4", "36374-(R2187)", "kst-36374-4", "R2187"),
        ("36742", None, "-1", "36742", None, None),
        ("36742", None, "0", "36742", None, None),
    ],
    ids=["plain", "toevoeging", "rijkswet", "not-a-kamerstuk", "volgnummer-0"],
)
def test_dossier_numbers_and_kst_ids(nummer: str, toevoeging: str | None, volgnummer: str, dossier: str,
                                     kst: str | None, rijkswet: str | None) -> None:
    fields = {"nummer": nummer, "titel": "Een dossier"}
    if toevoeging:
        fields["toevoeging"] = toevoeging
    store = Store([
        entity("Kamerstukdossier", "k", fields),
        entity("Document", "d", {"documentNummer": "2026D00002", "soort": "Brief regering", "volgnummer": volgnummer,
                                 "titel": "Een dossier", "onderwerp": "Voortgangsbrief"}, {"kamerstukdossier": ("k",)}),
    ])
    doc = resolve(store("d"), store)  # type: ignore[arg-type]
    assert doc is not None
    assert doc.dossier == dossier
    assert doc.kst == kst
    assert doc.ondernummer == (volgnummer if kst else None)
    assert doc.extra.get("rijkswetnummer") == rijkswet
    assert doc.url == "https://www.tweedekamer.nl/kamerstukken/detail?did=2026D00002"  # no zaak known
    assert doc.title == "Een dossier; Voortgangsbrief"


def test_non_kamerstuk_external_identifier_does_not_become_a_kst() -> None:
    store = Store([
        entity("Document", "d", {"documentNummer": "2026D00003", "soort": "Bijlage", "volgnummer": "-1"},
               {"huidigeDocumentVersie": ("v",)}),
        entity("DocumentVersie", "v", {"externeidentifier": "blg-1093410"}, {"document": ("d",)}),
    ])
    doc = resolve(store("d"), store)  # type: ignore[arg-type]
    assert doc is not None
    assert doc.kst is None
    assert doc.extra["externeIdentifier"] == "blg-1093410"


def test_deleted_document_resolves_with_its_last_known_fields(store: Store) -> None:
    marker = entity("Document", DOC_GUID, {}, deleted=True)
    doc = resolve(marker, store)  # the store still holds the last known version
    assert doc is not None
    assert doc.deleted is True
    assert doc.id == "2025D21083"
    assert doc.kst == "kst-36742-4"


def test_delete_marker_of_an_unknown_entity_resolves_to_nothing() -> None:
    markers = feed_entities(data("tk_syncfeed.xml"), "Document")
    assert markers[2].deleted
    assert resolve(markers[2], Store()) is None


def test_besluit_on_a_motion_resolves_with_its_zaak() -> None:
    zaken, besluiten = split_feeds("tk_syncfeed_besluit_zaak.xml")
    dossier = entity("Kamerstukdossier", "00002b22-36a7-4e42-9c15-000021501020",
                     {"nummer": "21501", "toevoeging": "20", "titel": "Europese Raad"})
    store = Store([dossier, *feed_entities(zaken, "Zaak"), *feed_entities(besluiten, "Besluit")])
    besluit = store("59b3219e-d798-4b15-a7b9-0066221f82db")
    assert besluit is not None
    doc = resolve(besluit, store)
    assert doc is not None
    assert doc.entity == "Besluit"
    assert doc.id == doc.guid == "59b3219e-d798-4b15-a7b9-0066221f82db"
    assert doc.kind == "Stemmen - aangenomen"
    assert doc.zaak == "2025Z22235"
    assert doc.dossier == "21501-20"
    assert doc.chamber == "TK"
    assert doc.title.startswith("Europese Raad; Motie van de leden Bikker en Erkens")
    assert doc.extra["besluitSoort"] == "Stemmen - aangenomen"
    assert doc.extra["besluitTekst"] == "Aangenomen."
    assert doc.extra["stemmingsSoort"] == "Met handopsteken"
    assert doc.extra["zaakSoort"] == "Motie"
    assert doc.extra["onderwerp"].startswith("Motie van de leden")
    assert doc.date == dt.date(2025, 12, 17)
    assert doc.url is None  # no page for a motion's decision in the reference material


def test_besluit_on_a_bill_links_the_bill_page(store: Store) -> None:
    besluit = entity("Besluit", "b1", {"besluitSoort": "Stemmen - aangenomen", "besluitTekst": "Aangenomen.",
                                      "status": "Besluit"}, {"zaak": ("00001a11-36a7-4e42-9c15-2025a0009154",)})
    doc = resolve(besluit, store)
    assert doc is not None
    assert doc.dossier == "36742"
    assert doc.title == WPP  # the bill's zaak: titel and onderwerp are the same long title
    assert doc.extra["zaakSoort"] == "Wetgeving"
    assert doc.extra["zaakVolgnummer"] == "0"
    assert "stemmingsSoort" not in doc.extra
    assert doc.url == ("https://www.tweedekamer.nl/kamerstukken/wetsvoorstellen/detail"
                       "?cfg=wetsvoorsteldetails&qry=wetsvoorstel%3A36742")


@pytest.mark.parametrize("status", ["Voorstel", "Concept voorstel"])
def test_a_proposed_decision_is_not_a_document(store: Store, status: str) -> None:
    besluit = entity("Besluit", "b2", {"besluitSoort": "Stemmen - aangenomen", "status": status},
                     {"zaak": ("00001a11-36a7-4e42-9c15-2025a0009154",)})
    assert resolve(besluit, store) is None


def test_deleted_besluit_is_retracted_with_its_last_known_fields(store: Store) -> None:
    known = entity("Besluit", "b3", {"besluitSoort": "Stemmen - verworpen", "besluitTekst": "Verworpen."},
                   {"zaak": ("00001a11-36a7-4e42-9c15-2025a0009154",)})
    store.add(known)
    doc = resolve(entity("Besluit", "b3", {}, deleted=True), store)
    assert doc is not None
    assert doc.deleted is True
    assert doc.kind == "Stemmen - verworpen"
    assert doc.zaak == "2025Z09154"


@pytest.mark.parametrize("category", ["Kamerstukdossier", "Zaak", "Toezegging", "Activiteit"])
def test_context_entities_make_no_document(store: Store, category: str) -> None:
    assert resolve(entity(category, "x", {"nummer": "1"}), store) is None


def test_version_of_an_unknown_document_makes_nothing() -> None:
    version = entity("DocumentVersie", "v", {"externeidentifier": "kst-1-1"}, {"document": ("missing",)})
    assert resolve(version, Store([version])) is None


@pytest.mark.parametrize(
    ("titel", "onderwerp", "expected"),
    [
        ("Europese Raad", "Verslag van de Europese Raad", "Europese Raad; Verslag van de Europese Raad"),
        ("Lange titel (Wet x)", "Lange titel (Wet x)", "Lange titel (Wet x)"),
        ("Wet x", None, "Wet x"),
        (None, "Brief", "Brief"),
        (None, None, None),
    ],
    ids=["both", "same", "titel-only", "onderwerp-only", "neither"],
)
def test_combined_title(titel: str | None, onderwerp: str | None, expected: str | None) -> None:
    assert combined_title(titel, onderwerp) == expected
