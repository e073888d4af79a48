"""The stages the new sources show: the Eerste Kamer's vote (`aangenomen_ek`/`verworpen_ek`, tied by dossier), an
internetconsultatie of a bill (`consultatie`, through the same text evidence as every document), and the
Eerste Kamer's receipt of a bill, stuk A, as the sign the Tweede Kamer adopted it; then forward only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from matchers.catalog import load_catalog
from matchers.classify import classify, is_ek_arrival, view
from matchers.engine import CONFIDENT, DOUBTFUL, match_document
from matchers.events import DOCUMENT_EVENT, STAGE_EVENT, event_key
from matchers.stages import Stage
from sources.base import Document

CATALOG = load_catalog()
WPP = "Regels betreffende de financiering van politieke partijen (Wet op de politieke partijen)"


def ek(title: str, dossier: str, outcome: str | None = "aangenomen", **extra: str) -> Document:
    fields = {"methode": "Stemming bij zitten en opstaan, aangenomen", **extra}
    if outcome:
        fields["uitslag"] = outcome
    return Document(source="ek", id=f"2026-10-13/{dossier}", kind="Stemming Eerste Kamer", title=title,
                    entity="Stemming Eerste Kamer", dossier=dossier, chamber="EK", date=dt.date(2026, 10, 13),
                    url="https://www.eerstekamer.nl/verslagdeel/20261013/x", extra=fields)


def ic(title: str, kind: str = "Wet", intro: str = "", slug: str = "consultatie") -> Document:
    return Document(source="ic", id=slug, kind="Internetconsultatie", title=title, entity="Internetconsultatie",
                    date=dt.date(2026, 10, 1), url=f"https://www.internetconsultatie.nl/{slug}/b1",
                    extra={"type": kind, "intro": intro, "startdatum": "2026-10-01"})


def arrival(**kw: Any) -> Document:
    extra = {"publicatienaam": "Kamerstuk", "dossiertitel": WPP, "documenttitel": "Gewijzigd voorstel van wet",
             "creator": "Eerste Kamer der Staten-Generaal", **kw.pop("extra", {})}
    fields: dict[str, Any] = {"kind": "Voorstel van wet", "chamber": "EK", "ondernummer": "A", **kw}
    return Document(source="ob", id=f"kst-36742-{fields['ondernummer']}", title=f"{WPP}; Voorstel van wet; "
                    "Gewijzigd voorstel van wet", entity="Kamerstuk", kst=f"kst-36742-{fields['ondernummer']}",
                    dossier="36742", date=dt.date(2026, 10, 2), extra=extra, **fields)


@pytest.mark.parametrize(
    ("doc", "stage"),
    [
        (ek("Wet op de politieke partijen", "36742"), Stage.AANGENOMEN_EK),
        (ek("Wet op de politieke partijen", "36742", "verworpen"), Stage.VERWORPEN_EK),
        (ek("Wet op de politieke partijen", "36742", None), None),
        (ic("Wet lobbyregister"), Stage.CONSULTATIE),
        (ic("Wet lobbyregister", "Rijkswet"), Stage.CONSULTATIE),
        (ic("Besluit lobbyregister", "AMvB"), None),
        (ic("Wijzigingsregeling ISDE 2027", "Ministeriële regeling"), None),
        (arrival(), Stage.AANGENOMEN_TK),
        (arrival(kind="Voorstel van rijkswet", extra={"documenttitel": "Gewijzigd voorstel van rijkswet"}),
         Stage.AANGENOMEN_TK),
        (arrival(chamber="TK", ondernummer="2", extra={"documenttitel": "Voorstel van wet"}), Stage.INGEDIEND),
        (arrival(ondernummer="B", extra={"documenttitel": "Gewijzigd voorstel van wet"}), None),
        (arrival(extra={"documenttitel": "Voorstel van wet"}), None),
        (arrival(kind="Gewijzigd voorstel van wet"), None),
    ],
    ids=["ek-adopted", "ek-rejected", "ek-unknown", "ic-wet", "ic-rijkswet", "ic-amvb", "ic-regeling",
         "ek-stuk-a", "ek-stuk-a-rijkswet", "tk-voorstel", "ek-stuk-b", "ek-a-not-gewijzigd",
         "subrubriek-gewijzigd"],
)
def test_classify(doc: Document, stage: Stage | None) -> None:
    assert classify(doc) is stage


def test_the_arrival_is_the_documented_form_only() -> None:
    assert is_ek_arrival(arrival())
    assert not is_ek_arrival(arrival(deleted=True))
    assert not is_ek_arrival(arrival(chamber="TK"))


def test_an_ek_vote_on_a_linked_dossier_is_the_senate_stage() -> None:
    [m] = match_document(ek("Wet op de politieke partijen", "36742"), CATALOG, {}, {}, frozenset())
    assert (m.slug, m.stage, m.via, m.confident) == ("wet-politieke-partijen", Stage.AANGENOMEN_EK, "dossier", True)
    assert m.reason == ("dossier 36742 is linked to wet-politieke-partijen; the Eerste Kamer adopted the bill on "
                        "2026-10-13 (Stemming bij zitten en opstaan, aangenomen)")
    [r] = match_document(ek("Correctief referendum", "36468", "verworpen", methode="Hoofdelijke stemming, verworpen"),
                         CATALOG, {}, {}, frozenset())
    assert (r.slug, r.stage) == ("correctief-referendum", Stage.VERWORPEN_EK)
    assert "rejected the bill" in r.reason


def test_an_ek_vote_by_a_learned_link_and_a_rijkswet_number() -> None:
    [m] = match_document(ek("Wet X", "37555", bevestigd="wetsvoorstelpagina"), CATALOG,
                         {"37555": frozenset({"lobbyregister"})}, {}, frozenset())
    assert (m.slug, m.stage) == ("lobbyregister", Stage.AANGENOMEN_EK)
    assert m.reason.endswith("confirmed on its bill page")
    [t] = match_document(ek("Verklaring terugzendrecht", "36374", rijkswetnummer="R2187"), CATALOG, {}, {},
                         frozenset())
    assert (t.slug, t.stage) == ("terugzendrecht-eerste-kamer", Stage.AANGENOMEN_EK)


def test_an_ek_vote_is_tied_by_its_dossier_only() -> None:
    # The list's short title names a bill that has been in the Kamer for months: its words are no evidence.
    assert view(ek("Wet lobbyregister", "37999")) is None
    assert match_document(ek("Wet lobbyregister", "37999"), CATALOG, {}, {}, frozenset()) == []
    assert match_document(ek("Wet vereenvoudiging partnerbegrip toeslagen", "36932"), CATALOG, {}, {},
                          frozenset()) == []


def test_an_ek_vote_is_no_stage_for_a_promised_letter_or_an_amvb() -> None:
    for m in match_document(ek("Visie op de rol van regio's", "37556"), CATALOG, {"37556": frozenset({"visie-regio"})},
                            {}, frozenset()):
        assert m.stage is None


def test_a_consultation_goes_through_the_text_evidence() -> None:
    [m] = match_document(ic("Wet lobbyregister", intro="Een verplicht lobbyregister voor wie lobbyt bij het Rijk."),
                         CATALOG, {}, {}, frozenset())
    assert (m.slug, m.stage, m.via, m.confident) == ("lobbyregister", Stage.CONSULTATIE, "title", True)
    assert m.score >= CONFIDENT and m.learn_dossier is None
    assert m.reason.endswith("the internetconsultatie of the draft bill (type Wet) opened on 2026-10-01")
    assert match_document(ic("Besluit lobbyregister", "AMvB"), CATALOG, {}, {}, frozenset()) == []


def test_the_intro_supports_the_title_but_is_not_the_subject() -> None:
    v = view(ic("Wet lobbyregister", intro="Regels over de registratie van lobbyactiviteiten"))
    assert v is not None and v.bill and v.subject == "wet lobbyregister"
    assert v.context.startswith("regels over de registratie")
    # A consultation whose title says little and whose intro names the commitment is at most doubtful.
    vague = ic("Wijziging van enkele wetten", intro="Met dit voorstel komt er een lobbyregister.")
    for m in match_document(vague, CATALOG, {}, {}, frozenset()):
        assert m.slug != "lobbyregister" or m.score < CONFIDENT


def test_a_doubtful_consultation_goes_to_a_maintainer() -> None:
    hits = {m.slug: m for m in match_document(ic("Verzamelwet Kieswet"), CATALOG, {}, {}, frozenset())}
    doubtful = hits["verzamelwet-justitie-bes"]
    assert DOUBTFUL <= doubtful.score < CONFIDENT and not doubtful.confident
    assert doubtful.stage is Stage.CONSULTATIE and doubtful.reason.endswith("a maintainer should confirm")


def test_the_arrival_reason_and_forward_only() -> None:
    doc = arrival()
    [m] = match_document(doc, CATALOG, {}, {}, frozenset())
    assert (m.slug, m.stage) == ("wet-politieke-partijen", Stage.AANGENOMEN_TK)
    assert "the Tweede Kamer adopted the bill" in m.reason and "Gewijzigd voorstel van wet" in m.reason
    missed = event_key(m.slug, doc, m.stage, Stage.INGEDIEND)
    assert (missed.type, missed.stage) == (STAGE_EVENT, Stage.AANGENOMEN_TK)
    seen = event_key(m.slug, doc, m.stage, Stage.AANGENOMEN_TK)
    assert (seen.type, seen.stage) == (DOCUMENT_EVENT, None)


def test_a_consultation_for_a_commitment_past_that_stage_is_a_document_event() -> None:
    doc = ic("Wet lobbyregister")
    [m] = match_document(doc, CATALOG, {}, {}, frozenset())
    assert event_key(m.slug, doc, m.stage, Stage.INGEDIEND).type == DOCUMENT_EVENT
    assert event_key(m.slug, doc, m.stage, None).stage is Stage.CONSULTATIE
