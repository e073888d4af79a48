"""The stage a document shows, from the kinds both sources write, and which documents are noise."""

from __future__ import annotations

from typing import Any

import pytest

from matchers.classify import classify, is_noise, specific_text
from matchers.stages import Stage
from sources.base import Document

RVS = "Advies Afdeling advisering Raad van State en Nader rapport"
TITLE = "Regels over de registratie van lobbyactiviteiten (Wet lobbyregister)"


def tk(kind: str, onderwerp: str | None = None, **kw: Any) -> Document:
    extra = {"onderwerp": onderwerp or kind, **kw.pop("extra", {})}
    return Document(source="tk", id="2027D00001", kind=kind, title=kw.pop("title", TITLE), entity="Document",
                    dossier="37100", ondernummer="3", chamber="TK", extra=extra, **kw)


def vote(soort: str, *, zaak_soort: str | None = "Wetgeving", chamber: str = "TK", onderwerp: str = TITLE) -> Document:
    extra = {"besluitSoort": soort, "besluitTekst": soort.split(" - ")[-1].capitalize() + ".", "onderwerp": onderwerp}
    if zaak_soort:
        extra["zaakSoort"] = zaak_soort
    return Document(source="tk", id="0000c0c0-0000-0000-0000-000000000001", kind=soort, title=TITLE, entity="Besluit",
                    zaak="2027Z00001", dossier="37100", chamber=chamber, extra=extra)  # type: ignore[arg-type]


def kst(subrubriek: str, documenttitel: str | None = None, *, ek: bool = False, nr: str = "3") -> Document:
    extra = {"publicatienaam": "Kamerstuk", "dossiertitel": TITLE, "documenttitel": documenttitel or subrubriek}
    return Document(source="ob", id=f"kst-37100-{nr}", kind=subrubriek, entity="Kamerstuk", kst=f"kst-37100-{nr}",
                    title=f"{TITLE}; {subrubriek}; {documenttitel or subrubriek}", dossier="37100", ondernummer=nr,
                    chamber="EK" if ek else "TK", extra=extra)


def gazette(publication: str, kind: str, title: str, ident: str = "stb-2027-1", **extra: str) -> Document:
    return Document(source="ob", id=ident, kind=kind, title=title, entity=publication,
                    extra={"publicatienaam": publication, **extra})


CASES: list[tuple[str, Document, Stage | None]] = [
    # Tweede Kamer Document.Soort
    ("tk koninklijke boodschap", tk("Koninklijke boodschap"), Stage.INGEDIEND),
    ("tk voorstel van wet", tk("Voorstel van wet"), Stage.INGEDIEND),
    ("tk initiatiefvoorstel", tk("Voorstel van wet (initiatiefvoorstel)"), Stage.INGEDIEND),
    ("tk tweede lezing", tk("Voorstel van wet (tweede lezing)"), Stage.INGEDIEND),
    ("tk memorie van toelichting", tk("Memorie van toelichting"), Stage.INGEDIEND),
    ("tk mvt initiatief", tk("Memorie van toelichting (initiatiefvoorstel)"), Stage.INGEDIEND),
    ("tk advice and nader rapport", tk(RVS), Stage.ADVIES_RVS),
    ("tk advice and reactie", tk("Advies Afdeling advisering Raad van State en Reactie van de initiatiefnemer(s)"),
     Stage.ADVIES_RVS),
    ("tk nader rapport", tk("Nader rapport"), Stage.ADVIES_RVS),
    ("tk voorlichting is no advice", tk("Voorlichting Afdeling advisering Raad van State"), None),
    ("tk gewijzigd voorstel", tk("Gewijzigd voorstel van wet"), None),
    ("tk nota van wijziging", tk("Nota van wijziging"), None),
    ("tk verslag", tk("Verslag (initiatief)wetsvoorstel (nader)"), None),
    ("tk nota nav verslag", tk("Nota n.a.v. het (nader/tweede nader/enz.) verslag"), None),
    ("tk motie", tk("Motie", "Motie van het lid Dassen over het lobbyregister"), None),
    ("tk amendement", tk("Amendement"), None),
    ("tk eindtekst", tk("Eindtekst"), None),
    ("tk brief regering", tk("Brief regering", "Visie op de regio"), Stage.BRIEF),
    ("tk brief commissie", tk("Brief commissie", "Verzoek om een reactie"), None),
    ("tk withdrawal by boodschap",
     tk("Koninklijke boodschap", "Koninklijke boodschap tot intrekking van het voorstel van wet"), Stage.INGETROKKEN),
    ("tk withdrawal by letter", tk("Brief regering", "Intrekking van het wetsvoorstel"), Stage.INGETROKKEN),
    ("tk withdrawal by initiator", tk("Brief lid / fractie", "Het initiatiefwetsvoorstel wordt ingetrokken"),
     Stage.INGETROKKEN),
    ("tk intrekking in the dossier title is no withdrawal",
     tk("Voorstel van wet", "Voorstel van wet",
        title="Intrekking van de Archiefwet 1995 en vervanging door een nieuwe Archiefwet"), Stage.INGEDIEND),
    ("tk intrekking of an amendment", tk("Brief regering", "Reactie op de intrekking van een amendement"),
     Stage.BRIEF),
    # Tweede Kamer Besluit
    ("vote adopted", vote("Stemmen - aangenomen"), Stage.AANGENOMEN_TK),
    ("vote rejected", vote("Stemmen - verworpen"), Stage.VERWORPEN_TK),
    ("initiative bill vote", vote("Stemmen - aangenomen", zaak_soort="Initiatiefwetgeving"), Stage.AANGENOMEN_TK),
    ("eerste kamer adopted", vote("Stemmen - aangenomen", chamber="EK"), Stage.AANGENOMEN_EK),
    ("eerste kamer rejected", vote("Stemmen - verworpen", chamber="EK"), Stage.VERWORPEN_EK),
    ("vote on a motion zaak", vote("Stemmen - aangenomen", zaak_soort="Motie"), None),
    ("vote on an amendment by its subject",
     vote("Stemmen - verworpen", zaak_soort=None, onderwerp="Amendement van het lid X over artikel 3"), None),
    ("procedural besluit", vote("Voor kennisgeving aannemen"), None),
    # officielebekendmakingen Kamerstuk subrubriek
    ("ob voorstel van wet", kst("Voorstel van wet"), Stage.INGEDIEND),
    ("ob koninklijke boodschap", kst("Koninklijke boodschap"), Stage.INGEDIEND),
    ("ob memorie van toelichting", kst("Memorie van toelichting"), Stage.INGEDIEND),
    ("ob advies raad van state", kst("Advies Raad van State", RVS), Stage.ADVIES_RVS),
    ("ob brief of the minister", kst("Brief", "Brief van de minister van Binnenlandse Zaken en Koninkrijksrelaties"),
     Stage.BRIEF),
    ("ob brief of a committee", kst("Brief", "Brief van de vaste commissie voor Binnenlandse Zaken"), None),
    ("ob withdrawal", kst("Brief", "Brief van de minister over de intrekking van het wetsvoorstel"),
     Stage.INGETROKKEN),
    ("ob eerste kamer bill text", kst("Voorstel van wet", ek=True, nr="A"), None),
    ("ob eerste kamer gewijzigd voorstel", kst("Gewijzigd voorstel van wet", ek=True, nr="A"), None),
    ("ob eerste kamer memorie van antwoord", kst("Memorie van antwoord", ek=True, nr="C"), None),
    ("ob motie", kst("Motie", "Motie van het lid X"), None),
    # Staatscourant, Staatsblad
    ("stcrt advice", gazette("Staatscourant", "advies Raad van State",
                             "Advies Afdeling advisering Raad van State inzake het voorstel van wet ..., met nader "
                             "rapport", "stcrt-2026-6890"), Stage.ADVIES_RVS),
    ("stcrt regeling", gazette("Staatscourant", "Regeling", "Regeling van de Minister ...", "stcrt-2027-2"), None),
    ("stb law with behandeldDossier", gazette("Staatsblad", "Wet", "Wet van 1 juli 2027, houdende ...",
                                              behandeldDossier="37100"), Stage.GEPUBLICEERD),
    ("stb rijkswet", gazette("Staatsblad", "Rijkswet", "Rijkswet van 1 juli 2027 ..."), Stage.GEPUBLICEERD),
    ("stb amvb", gazette("Staatsblad", "AMvB", "Besluit van 1 juli 2027, houdende regels ..."), Stage.GEPUBLICEERD),
    ("stb inwerkingtreding kkb", gazette("Staatsblad", "Klein Koninklijk Besluit",
                                         "Besluit van 2 juli 2027, houdende vaststelling van het tijdstip van "
                                         "inwerkingtreding van de Wet lobbyregister"), Stage.IN_WERKING),
    ("stb amvb that sets the date", gazette("Staatsblad", "AMvB", "Besluit van 2 juli 2027, houdende regels en tot "
                                            "vaststelling van het tijdstip van inwerkingtreding van de Wet X"),
     Stage.IN_WERKING),
    ("stb amvb mentioning inwerkingtreding", gazette("Staatsblad", "AMvB", "Besluit van 2 juli 2027 in verband met "
                                                     "de inwerkingtreding van de Wet X"), Stage.GEPUBLICEERD),
    ("stb other kkb", gazette("Staatsblad", "Klein Koninklijk Besluit", "Besluit van 3 juli 2027 houdende benoeming"),
     None),
    ("stb verbeterblad", gazette("Staatsblad", "Verbeterblad", "Verbeterblad bij de Wet van 1 juli 2027"), None),
    ("internetconsultatie", Document(source="ob", id="ic-1", kind="Internetconsultatie", title=TITLE,
                                     entity="Internetconsultatie"), Stage.CONSULTATIE),
    ("gemeenteblad", gazette("Gemeenteblad", "verordening", "Verordening lobbyregister Amsterdam", "gmb-2026-1"),
     None),
    ("deleted", Document(source="tk", id="2027D1", kind="Memorie van toelichting", title=TITLE, deleted=True), None),
]


@pytest.mark.parametrize(("doc", "stage"), [(d, s) for _, d, s in CASES], ids=[c[0] for c in CASES])
def test_classify(doc: Document, stage: Stage | None) -> None:
    assert classify(doc) is stage


NOISE: list[tuple[str, Document, bool]] = [
    ("agenda", tk("Agenda procedurevergadering", "Wet lobbyregister"), True),
    ("besluitenlijst", tk("Besluitenlijst procedurevergadering"), True),
    ("stemmingsuitslagen", tk("Stemmingsuitslagen"), True),
    ("lijst ingekomen stukken", tk("Lijst van ingekomen stukken"), True),
    ("convocatie", tk("Convocatie commissieactiviteit"), True),
    ("lijst met eu-voorstellen", tk("Lijst met EU-voorstellen"), True),
    ("gemeenteblad", gazette("Gemeenteblad", "verordening", "Verordening", "gmb-2026-1"), True),
    ("provinciaal blad", gazette("Provinciaal blad", "regeling", "Regeling", "prb-2026-1"), True),
    ("waterschapsblad", gazette("Waterschapsblad", "regeling", "Regeling", "wsb-2026-1"), True),
    ("blad gemeenschappelijke regeling", gazette("Blad gemeenschappelijke regeling", "visie", "Visie", "bgr-2026-1"),
     True),
    ("gazette known by its id only", Document(source="ob", id="gmb-2026-7", kind="", title="x"), True),
    ("procedural besluit", vote("Controversieel verklaard"), True),
    ("zaak entity", Document(source="tk", id="2027Z1", kind="Wetgeving", title=TITLE, entity="Zaak"), True),
    ("memorie van toelichting", tk("Memorie van toelichting"), False),
    ("motie", tk("Motie"), False),
    ("vote", vote("Stemmen - aangenomen"), False),
    ("staatscourant", gazette("Staatscourant", "advies Raad van State", "Advies", "stcrt-2026-1"), False),
    ("staatsblad", gazette("Staatsblad", "Wet", "Wet van ..."), False),
]


@pytest.mark.parametrize(("doc", "noise"), [(d, n) for _, d, n in NOISE], ids=[c[0] for c in NOISE])
def test_is_noise(doc: Document, noise: bool) -> None:
    assert is_noise(doc) is noise


def test_specific_text_is_the_document_not_its_dossier() -> None:
    assert specific_text(tk("Brief regering", "Uitstel visie")) == "uitstel visie"
    koop = Document(source="ob", id="kst-1", kind="Brief", title=f"{TITLE}; Brief regering; Intrekking wetsvoorstel")
    assert specific_text(koop) == "brief regering intrekking wetsvoorstel"
    plain = Document(source="ob", id="x", kind="Brief", title="Alleen een titel")
    assert specific_text(plain) == "alleen een titel"
