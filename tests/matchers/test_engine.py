"""Linking documents to commitments: identifiers first, text second, with reasons a person can read."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from matchers.catalog import Catalog, Commitment, Kind, Promise
from matchers.engine import CONFIDENT, DOUBTFUL, Match, _compiled, canonical_dossier, match_document
from matchers.stages import Stage
from sources.base import Document

PROMISE = Promise(letter="000_x.txt", letter_date=dt.date(2026, 4, 1), line=1, quote="q", stage=Stage.INGEDIEND)
WPP = ("Regels betreffende de financiering van politieke partijen en transparantieregels met betrekking tot hun "
       "interne organisatie en financiën (Wet op de politieke partijen)")


def commitment(slug: str, kind: Kind = Kind.WETSVOORSTEL, **kw: Any) -> Commitment:
    return Commitment(slug=slug, title=slug, kind=kind, ministry="BZK", promises=(PROMISE,), **kw)


CATALOG = Catalog(commitments={c.slug: c for c in [
    commitment("wet-politieke-partijen", aliases=("Wet op de politieke partijen", "Wpp"),
               exclude=("Wet financiering politieke partijen", "Wfpp"), dossiers=("36742",)),
    commitment("lobbyregister", aliases=("lobbyregister", "Wet lobbyregister"), exclude=("lobbyverbod",)),
    commitment("vervolgfuncties-bewindspersonen", aliases=("lobbyverbod voor gewezen bewindspersonen",)),
    commitment("lobby-test", kind=Kind.OTHER, aliases=("lobby",)),
    commitment("financiele-verhoudingswet", aliases=(
        "Wijziging van de Financiële-verhoudingswet in verband met de bijzondere fondsuitkering",),
        require=("fondsuitkering",)),
    commitment("verkiezing-eerste-kamer", kind=Kind.GRONDWETSVOORSTEL, dossiers=("35532",), aliases=(
        "verandering in de Grondwet van de bepalingen inzake de verkiezing, de inrichting en samenstelling van de "
        "Eerste Kamer",)),
    commitment("terugzendrecht-eerste-kamer", kind=Kind.GRONDWETSVOORSTEL, aliases=("terugzendrecht",),
               dossiers=("36374",), rijkswet_numbers=("R2187",)),
    commitment("grondwet-ambtsdelicten", kind=Kind.GRONDWETSVOORSTEL,
               aliases=("vervolging van ambtsdelicten van Kamerleden en bewindspersonen",), require=("Grondwet",)),
    commitment("integriteit-decentraal-bestuur", dossiers=("36892",),
               aliases=("Wet bevorderen integriteit en functioneren decentraal bestuur tweede tranche",)),
    commitment("visie-regio", kind=Kind.VISIE, aliases=("visie op de rol van regio's en regionale samenwerking",)),
    commitment("brief-detectie", kind=Kind.KAMERBRIEF, aliases=("detectieorgaan buitenlandse desinformatie",)),
    commitment("detectieorgaan", aliases=("detectieorgaan buitenlandse desinformatie",)),
    commitment("nieuw-stembiljet", aliases=("nieuw stembiljet",), exclude=("experiment",)),
    commitment("regeringscommissaris", kind=Kind.AMVB, aliases=("regeringscommissaris herstel Groningen",)),
]})
NO_LINKS: dict[str, frozenset[str]] = {}


def tk(kind: str, title: str, onderwerp: str | None = None, *, dossier: str | None = None, **kw: Any) -> Document:
    extra = {"onderwerp": onderwerp or kind, **kw.pop("extra", {})}
    return Document(source="tk", id=kw.pop("id", "2027D00001"), kind=kind, title=title, entity="Document",
                    dossier=dossier, chamber="TK", extra=extra, **kw)


def ob(ident: str, publication: str, kind: str, title: str, **extra: str) -> Document:
    return Document(source="ob", id=ident, kind=kind, title=title, entity=publication,
                    extra={"publicatienaam": publication, **extra})


def match(doc: Document, *, links: dict[str, frozenset[str]] | None = None,
          zaken: dict[str, frozenset[str]] | None = None,
          rejected: frozenset[tuple[str, str]] = frozenset()) -> list[Match]:
    return match_document(doc, CATALOG, links or NO_LINKS, zaken or NO_LINKS, rejected)


def slugs(matches: list[Match]) -> set[str]:
    return {m.slug for m in matches}


# ------------------------------------------------------------------------------------------- identifiers


def test_catalog_dossier_is_linked_from_the_start() -> None:
    [m] = match(tk("Memorie van toelichting", WPP, dossier="36742"))
    assert (m.slug, m.via, m.stage, m.confident, m.score) == (
        "wet-politieke-partijen", "dossier", Stage.INGEDIEND, True, 100.0)
    assert m.reason == ("dossier 36742 is linked to wet-politieke-partijen; Memorie van toelichting means the bill "
                        "was sent to the Kamer")
    assert m.learn_dossier is None


def test_identifier_beats_text() -> None:
    # A document in 36742 whose subject names the lobbyregister belongs to the Wpp only.
    doc = tk("Motie", WPP, "Motie van het lid X over het lobbyregister voor partijen", dossier="36742")
    [m] = match(doc)
    assert (m.slug, m.via, m.stage) == ("wet-politieke-partijen", "dossier", None)


def test_identifier_ignores_excluded_words() -> None:
    doc = tk("Verslag", WPP, "Verslag over de verhouding tot de Wet financiering politieke partijen", dossier="36742")
    assert slugs(match(doc)) == {"wet-politieke-partijen"}


@pytest.mark.parametrize("dossier", ["36374", "36374 (R2187)", "36374-(R2187)", " 36374 "])
def test_dossier_numbers_are_canonical(dossier: str) -> None:
    [m] = match(tk("Verslag", "Verklaring ...", dossier=dossier))
    assert m.slug == "terugzendrecht-eerste-kamer" and m.via == "dossier"


def test_canonical_dossier() -> None:
    assert canonical_dossier("36600 VII") == "36600-VII"
    assert canonical_dossier("36374 (R2187)") == "36374"


def test_rijkswet_number_links() -> None:
    doc = tk("Verslag", "Verklaring ...", dossier="99999", extra={"rijkswetnummer": "R2187"})
    assert slugs(match(doc)) == {"terugzendrecht-eerste-kamer"}


def test_learned_and_maintainer_links() -> None:
    doc = tk("Nota van wijziging", "Regels over iets anders", dossier="37100")
    assert match(doc) == []
    [m] = match(doc, links={"37100": frozenset({"lobbyregister"})})
    assert (m.slug, m.via, m.stage) == ("lobbyregister", "dossier", None)


def test_zaak_link() -> None:
    vote = Document(source="tk", id="0000c0c0-1", kind="Stemmen - aangenomen", title="Iets", entity="Besluit",
                    zaak="2027Z00001", extra={"besluitSoort": "Stemmen - aangenomen", "zaakSoort": "Wetgeving"})
    [m] = match(vote, zaken={"2027Z00001": frozenset({"lobbyregister"})})
    assert (m.via, m.stage) == ("zaak", Stage.AANGENOMEN_TK)
    assert m.reason.startswith("zaak 2027Z00001 is linked to lobbyregister; the vote 'Stemmen - aangenomen'")


def test_kst_without_dossier() -> None:
    doc = Document(source="ob", id="kst-36892-3", kind="Memorie van toelichting", title="Wijziging ...",
                   entity="Kamerstuk", kst="kst-36892-3")
    [m] = match(doc)
    assert (m.slug, m.via) == ("integriteit-decentraal-bestuur", "kst")


def test_behandeld_dossier_of_a_staatsblad_law() -> None:
    doc = ob("stb-2027-1", "Staatsblad", "Wet", "Wet van 1 juli 2027, houdende ...", behandeldDossier="37001, 36742")
    [m] = match(doc)
    assert (m.slug, m.via, m.stage) == ("wet-politieke-partijen", "dossier", Stage.GEPUBLICEERD)
    assert "behandeldDossier" in m.reason


# ------------------------------------------------------------------------------------------- text


def test_text_match_reason_names_the_words_and_where_they_come_from() -> None:
    [m] = match(tk("Memorie van toelichting", "Regels over lobbyactiviteiten (Wet lobbyregister)", dossier="37100"))
    assert (m.slug, m.via, m.stage, m.confident) == ("lobbyregister", "title", Stage.INGEDIEND, True)
    assert m.reason.startswith("lobbyregister — from alias 'Wet lobbyregister' (score 100)")
    assert "; Memorie van toelichting means the bill was sent to the Kamer" in m.reason


def test_a_document_about_the_look_alike_stays_out() -> None:
    # "lobbyverbod" is lobbyregister's exclude: a letter about the lobbyverbod alone is not about it.
    matches = match(tk("Brief regering", "Integriteit", "Lobbyverbod voor gewezen bewindspersonen"))
    assert "lobbyregister" not in slugs(matches)
    assert "vervolgfuncties-bewindspersonen" in slugs(matches)


def test_an_exclude_weighs_it_does_not_veto() -> None:
    # A letter whose subject is the commitment and which mentions the look-alike too stays in.
    [m] = [m for m in match(tk("Brief regering", "Integriteit", "Stand van zaken wetsvoorstel lobbyregister en "
                                "het lobbyverbod")) if m.slug == "lobbyregister"]
    assert m.confident and m.stage is None


def test_motions_and_questions_outside_a_bills_dossier_are_no_evidence() -> None:
    assert match(tk("Motie", "Integriteit", "Motie van het lid X over een wettelijk lobbyregister")) == []
    assert match(tk("Antwoord schriftelijke vragen", "Vragen", "Antwoord op vragen over het lobbyregister")) == []
    # In the bill's own dossier a motion belongs to the bill by number.
    [m] = match(tk("Motie", WPP, "Motie over het lobbyregister", dossier="36742"))
    assert (m.slug, m.via) == ("wet-politieke-partijen", "dossier")


@pytest.mark.parametrize("title", [
    "Wijziging van de Financiële-verhoudingswet in verband met de bijzondere fondsuitkering",
    "Wijziging van de Financiële verhoudingswet in verband met de bijzondere fondsuitkering",
    "Wijziging van de Financieleverhoudingswet in verband met de bijzondere fondsuitkering",
    "WIJZIGING VAN DE FINANCIËLE-VERHOUDINGSWET IN VERBAND MET DE BIJZONDERE FONDSUITKERING",
])
def test_a_compound_written_joined_apart_or_hyphenated_is_one_word(title: str) -> None:
    [m] = match(tk("Voorstel van wet", title, dossier="37101"))
    assert (m.slug, m.confident, m.stage) == ("financiele-verhoudingswet", True, Stage.INGEDIEND)


def test_require_is_required() -> None:
    other = "Wijziging van de Financiële-verhoudingswet in verband met de verdeling van het gemeentefonds"
    assert match(tk("Voorstel van wet", other, dossier="37102")) == []


def test_grondwet_formula_variant_matches_confidently() -> None:
    title = ("Advies Afdeling advisering Raad van State inzake het voorstel van wet houdende verklaring dat er grond "
             "bestaat een voorstel in overweging te nemen tot verandering van de Grondwet van de bepalingen inzake de "
             "verkiezing, de inrichting en de samenstelling van de Eerste Kamer, met nader rapport")
    [m] = match(ob("stcrt-2020-1", "Staatscourant", "advies Raad van State", title))
    assert (m.slug, m.via, m.stage, m.confident) == ("verkiezing-eerste-kamer", "title", Stage.ADVIES_RVS, True)
    assert m.score >= CONFIDENT and "verkiezing" in m.reason


def test_grondwet_proposal_on_the_other_chamber_does_not_match() -> None:
    title = ("Verklaring dat er grond bestaat een voorstel in overweging te nemen tot verandering in de Grondwet van "
             "de bepalingen inzake de verkiezing van de leden van de Tweede Kamer")
    assert match(tk("Memorie van toelichting", title, dossier="37153")) == []


def test_kinds_must_agree() -> None:
    # An ordinary bill never matches a Grondwet commitment, a Grondwet change only a Grondwet commitment.
    law = "Wijziging van het Wetboek van Strafvordering inzake de vervolging van ambtsdelicten van Kamerleden"
    assert "grondwet-ambtsdelicten" not in slugs(match(tk("Voorstel van wet", law, dossier="37114")))
    grondwet = ("Verklaring dat er grond bestaat een voorstel in overweging te nemen tot verandering in de Grondwet, "
                "strekkende tot wijziging van de vervolging van ambtsdelicten van Kamerleden en bewindspersonen")
    assert slugs(match(tk("Voorstel van wet", grondwet, dossier="37115"))) == {"grondwet-ambtsdelicten"}


def test_an_initiative_bill_is_not_the_cabinets_bill() -> None:
    title = "Voorstel van wet van het lid Dassen houdende regels over een lobbyregister (Wet lobbyregister)"
    assert match(tk("Voorstel van wet (initiatiefvoorstel)", title, dossier="37116")) == []


def test_the_statutory_term_meets_the_everyday_one() -> None:
    # "leden van de Staten-Generaal, ministers en staatssecretarissen" is "Kamerleden en bewindspersonen"
    grondwet = ("Verklaring dat er grond bestaat een voorstel in overweging te nemen tot verandering in de Grondwet, "
                "strekkende tot wijziging van de vervolging van ambtsdelicten van leden der Staten-Generaal, ministers "
                "en staatssecretarissen")
    [m] = match(tk("Voorstel van wet", grondwet, dossier="37115"))
    assert (m.slug, m.confident) == ("grondwet-ambtsdelicten", True)


def test_short_abbreviation_alone_is_doubtful() -> None:
    [m] = match(tk("Brief regering", "Verkiezingen", "Wetsvoorstel Wpp"))
    assert m.slug == "wet-politieke-partijen" and not m.confident
    assert DOUBTFUL <= m.score < CONFIDENT and "doubtful" in m.reason


def test_another_tranche_is_another_law() -> None:
    doc = tk("Brief regering", "Integriteit",
             "Evaluatie Wet bevorderen integriteit en functioneren decentraal bestuur (eerste tranche)")
    assert all(not m.confident for m in match(doc))


# ------------------------------------------------------------------------------------------- learning


def test_learn_dossier_from_a_confident_opening_document() -> None:
    [m] = match(tk("Memorie van toelichting", "Regels (Wet lobbyregister)", dossier="37100"))
    assert m.learn_dossier == "37100" and "dossier 37100 will be linked" in m.reason


@pytest.mark.parametrize(("kind", "title", "dossier"), [
    ("Verslag", "Regels (Wet lobbyregister)", "37100"),  # not an opening document
    ("Memorie van toelichting", "Regels (Wet lobbyregister)", None),  # no dossier to learn
    ("Gewijzigd voorstel van wet", "Regels (Wet lobbyregister)", "37100"),
    ("Memorie van toelichting", "Regels over de Wpp", "37100"),  # doubtful: an abbreviation alone
])
def test_no_learning(kind: str, title: str, dossier: str | None) -> None:
    assert all(m.learn_dossier is None for m in match(tk(kind, title, dossier=dossier)))


def test_a_letter_commitment_neither_learns_nor_matches_a_bill_document() -> None:
    matches = match(tk("Memorie van toelichting", "Regels over de oprichting van een detectieorgaan buitenlandse "
                       "desinformatie", dossier="37109"))
    assert slugs(matches) == {"detectieorgaan"}
    letter = match(tk("Brief regering", "Desinformatie", "Voortgang detectieorgaan buitenlandse desinformatie"))
    assert {(m.slug, m.stage) for m in letter} == {("brief-detectie", Stage.BRIEF), ("detectieorgaan", None)}


# ------------------------------------------------------------------------------------------- stages per kind


def test_brief_delivers_a_promised_visie() -> None:
    [m] = match(tk("Brief regering", "Decentraal bestuur", "Visie op de rol van regio’s en regionale samenwerking"))
    assert (m.slug, m.stage) == ("visie-regio", Stage.BRIEF)
    assert "delivers the promised visie" in m.reason


def test_a_letter_about_a_delay_delivers_nothing() -> None:
    [m] = match(tk("Brief regering", "Decentraal bestuur",
                   "Uitstel visie op de rol van regio's en regionale samenwerking"))
    assert (m.slug, m.stage) == ("visie-regio", None)


def test_a_letter_about_a_bill_is_a_document() -> None:
    [m] = match(tk("Brief regering", "Integriteit", "Stand van zaken wetsvoorstel lobbyregister"))
    assert (m.slug, m.stage) == ("lobbyregister", None)


def test_an_implementing_amvb_is_not_the_law_published() -> None:
    doc = ob("stb-2027-2", "Staatsblad", "AMvB", "Besluit houdende regels ter uitvoering van de Wet op de politieke "
             "partijen")
    [m] = match(doc)
    assert (m.slug, m.stage) == ("wet-politieke-partijen", None)


def test_kamer_stages_mean_nothing_to_an_amvb() -> None:
    bill = tk("Memorie van toelichting", "Wet over de regeringscommissaris herstel Groningen", dossier="37200")
    assert match(bill) == []  # a bill is not an AMvB: kinds must agree
    decree = ob("stb-2027-4", "Staatsblad", "AMvB", "Besluit houdende instelling van een regeringscommissaris "
                "herstel Groningen")
    assert {(m.slug, m.stage) for m in match(decree)} == {("regeringscommissaris", Stage.GEPUBLICEERD)}


def test_a_link_to_a_slug_the_catalog_does_not_hold_ties_nothing() -> None:
    doc = tk("Verslag", "Regels over iets anders", dossier="37100")
    assert match(doc, links={"37100": frozenset({"removed-commitment"})}) == []


def test_entry_into_force_decree() -> None:
    doc = ob("stb-2027-3", "Staatsblad", "Klein Koninklijk Besluit", "Besluit houdende vaststelling van het tijdstip "
             "van inwerkingtreding van de Wet op de politieke partijen")
    [m] = match(doc)
    assert (m.slug, m.stage, m.via) == ("wet-politieke-partijen", Stage.IN_WERKING, "title")


# ------------------------------------------------------------------------------------------- dropping


def test_rejected_match_never_comes_back() -> None:
    doc = tk("Memorie van toelichting", "Regels (Wet lobbyregister)", dossier="37100")
    assert match(doc, rejected=frozenset({("lobbyregister", doc.key)})) == []
    assert slugs(match(doc, rejected=frozenset({("lobbyregister", "tk:other")}))) == {"lobbyregister"}
    in_dossier = tk("Verslag", WPP, dossier="36742")
    assert match(in_dossier, rejected=frozenset({("wet-politieke-partijen", in_dossier.key)})) == []


@pytest.mark.parametrize("doc", [
    tk("Agenda procedurevergadering", "Agenda", "Wet lobbyregister; Wet op de politieke partijen"),
    tk("Agenda procedurevergadering", WPP, dossier="36742"),
    ob("gmb-2026-1", "Gemeenteblad", "verordening", "Verordening lobbyregister gemeente Amsterdam"),
    ob("prb-2026-1", "Provinciaal blad", "regeling", "Regeling lobbyregister Provinciale Staten"),
    dataclasses.replace(tk("Memorie van toelichting", "Regels (Wet lobbyregister)", dossier="37100"), deleted=True),
    Document(source="tk", id="0000c0c0-2", kind="Voor kennisgeving aannemen", title=WPP, entity="Besluit",
             dossier="36742", extra={"besluitSoort": "Voor kennisgeving aannemen"}),
], ids=["agenda", "agenda in a linked dossier", "gemeenteblad", "provinciaal blad", "deleted", "procedural besluit"])
def test_noise_is_never_matched(doc: Document) -> None:
    assert match(doc) == []


def test_matches_best_first() -> None:
    doc = tk("Brief regering", "Integriteit", "Stand van zaken wetsvoorstellen lobbyregister en detectieorgaan "
             "buitenlandse desinformatie")
    matches = match(doc)
    assert {"lobbyregister", "detectieorgaan"} <= slugs(matches)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


def test_catalog_is_compiled_once_per_catalog() -> None:
    first = _compiled(CATALOG)
    assert _compiled(CATALOG) is first
    equal = Catalog(commitments=dict(CATALOG.commitments))
    assert _compiled(equal) is first  # an equal catalog built anew reuses the compilation
    changed = Catalog(commitments={**CATALOG.commitments,
                                   "extra": commitment("extra", kind=Kind.KAMERBRIEF, aliases=("kwantumveiligheid",))})
    assert _compiled(changed) is not first
    doc = tk("Brief regering", "x", "Kwantumveiligheid")
    assert slugs(match_document(doc, changed, {}, {}, frozenset())) == {"extra"}


def test_match_is_a_frozen_value() -> None:
    [m] = match(tk("Verslag", WPP, dossier="36742"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.slug = "x"  # type: ignore[misc]
