"""Which stage of CONTRACT.md a document shows, from the document kinds of both sources, and which documents
are noise that never belongs to a commitment.

The Tweede Kamer writes the kind in Document.Soort ("Memorie van toelichting", "Advies Afdeling advisering Raad
van State en Nader rapport", "Brief regering"), a vote in Besluit.BesluitSoort ("Stemmen - aangenomen");
officielebekendmakingen writes it in `subrubriek` for Kamerstukken ("Voorstel van wet", "Advies Raad van State",
"Brief"), in `dcterms:type` for the Staatsblad ("Wet", "AMvB", "Klein Koninklijk Besluit") and the Staatscourant
("advies Raad van State"), and names the gazette in `publicatienaam`. `Document.kind` carries whichever of these
the source had, `Document.entity` the TK entity or the KOOP publicatienaam.

`classify` says what the document *is*; whether that is news for a commitment (forward only, one submission one
event) is `matchers.events`' business, and whether a letter delivers a promised letter is the engine's.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from functools import lru_cache

from matchers.stages import Stage
from matchers.text import normalize
from sources.base import Document

# Gazettes of other governments: never about a cabinet commitment, however many words they share with one
# (the Amsterdam "Verordening lobbyregister" is a Gemeenteblad item).
_OTHER_GAZETTES = frozenset({"gemeenteblad", "provinciaal blad", "waterschapsblad", "blad gemeenschappelijke regeling"})
_OTHER_GAZETTE_IDS = ("gmb-", "prb-", "wsb-", "bgr-")

# TK document kinds that list many subjects at once (agendas, decision lists, vote lists): they share words
# with everything and are never evidence.
_NOISE_KIND_PREFIXES = (
    "agenda", "besluitenlijst", "convocatie", "lijst van ingekomen stukken", "sprekerslijst", "stemmingslijst",
    "stemmingsuitslagen", "overzicht verzoeken", "lijst met eu voorstellen",
)
# Planning entities, and the containers whose publications are the evidence (a Zaak, a Kamerstukdossier, a
# DocumentVersie): matching them too would repeat every event of their documents.
_NOISE_ENTITIES = frozenset({"activiteit", "agendapunt", "vergadering", "stemming", "reservering", "zaak",
                             "kamerstukdossier", "documentversie"})

_INTRODUCING = ("koninklijke boodschap", "voorstel van wet", "voorstel van rijkswet", "memorie van toelichting")
_ADVICE = ("advies afdeling advisering raad van state", "advies raad van state", "nader rapport")
_NOT_A_STAGE = ("gewijzigd voorstel van wet", "nota van wijziging", "voorlichting afdeling advisering",
                "adviesaanvraag afdeling advisering", "brief afdeling advisering")
_LETTER_KINDS = ("brief regering", "brief")
# Letters whose sender is the government (KOOP "documenttitel" of a Brief); a letter of a committee, the
# chair or the griffier is not the cabinet delivering anything.
_GOVERNMENT_SENDERS = ("brief van de minister", "brief van de ministers", "brief van de staatssecretaris",
                       "brief van de minister president", "brief van de regering")
_OTHER_SENDERS = ("brief van de vaste commissie", "brief van de commissie", "brief van de voorzitter",
                  "brief van het lid", "brief van de leden", "brief van de griffier", "brief van het presidium",
                  "brief van de algemene commissie", "brief van de tijdelijke commissie", "brief van de fractie")
_WITHDRAWAL_CARRIERS = ("koninklijke boodschap", "brief regering", "brief", "brief lid fractie")
_VOTE_ZAAK_KINDS = frozenset({"wetgeving", "initiatiefwetgeving", "begroting"})

# "intrekking van het wetsvoorstel", "tot intrekking van het voorstel van wet", "het wetsvoorstel in te
# trekken", "het initiatiefwetsvoorstel wordt ingetrokken": the document-specific words of a withdrawal. A
# dossier title such as "Intrekking van de Archiefwet 1995" does not qualify.
_WITHDRAWAL = re.compile(
    r"\b(?:intrekking|intrekken) (?:van )?(?:het |dit |ons )?(?:initiatief)?(?:wets)?voorstel"
    r"|\b(?:initiatief)?(?:wets)?voorstel(?: van (?:rijks)?wet)? (?:wordt |is )?(?:ingetrokken|in te trekken)"
)
_ENTRY_INTO_FORCE = re.compile(r"\btijdstip van (?:de )?inwerkingtreding\b")


@lru_cache(maxsize=4096)
def _label(value: str) -> str:
    # Kinds, entities and gazette names come from small vocabularies: normalize each once.
    return normalize(value)


def _kind(doc: Document) -> str:
    return _label(doc.kind)


def _publication(doc: Document) -> str:
    return _label(doc.extra.get("publicatienaam") or doc.entity)


def specific_text(doc: Document) -> str:
    """The normalized words that are about this document rather than its dossier: the TK `onderwerp`, the KOOP
    `documenttitel`, or the parts after the dossier title in a KOOP title ("<dossiertitel>; <soort>;
    <documenttitel>"). Falls back to the title."""
    for key in ("onderwerp", "documenttitel"):
        value = doc.extra.get(key)
        if value:
            return normalize(value)
    title = doc.title
    dossier_title = doc.extra.get("dossiertitel")
    if dossier_title and title.startswith(dossier_title):
        return normalize(title[len(dossier_title):])
    if "; " in title:
        return normalize(title.split("; ", 1)[1])
    return normalize(title)


def is_noise(doc: Document) -> bool:
    """Whether `doc` can never be evidence: other governments' gazettes, agendas and lists of the Kamer,
    procedural decisions and votes on anything but a bill, and planning entities."""
    publication = _publication(doc)
    if publication in _OTHER_GAZETTES or doc.id.startswith(_OTHER_GAZETTE_IDS):
        return True
    if _label(doc.entity) in _NOISE_ENTITIES:
        return True
    kind = _kind(doc)
    if kind.startswith(_NOISE_KIND_PREFIXES):
        return True
    # A Besluit is news only as a vote on a bill: procedural decisions and votes on motions and amendments
    # (their own zaak) are not (the amendment itself, a Kamerstuk, already was).
    return _is_besluit(doc) and (_vote_outcome(doc) is None or not is_bill_vote(doc))


def _is_besluit(doc: Document) -> bool:
    return doc.entity == "Besluit" or "besluitSoort" in doc.extra


def _vote_outcome(doc: Document) -> bool | None:
    """True for an adopting vote, False for a rejecting one, None for anything else (a procedural decision:
    "Voor kennisgeving aannemen", "Controversieel verklaard", "Stemmen - aangehouden")."""
    soort = _label(doc.extra.get("besluitSoort") or doc.kind)
    if not soort.startswith("stemmen"):
        return None
    if "aangenomen" in soort:
        return True
    if "verworpen" in soort:
        return False
    return None


def is_bill_vote(doc: Document) -> bool:
    """Whether a vote Besluit is about a bill itself rather than a motion or an amendment in its dossier:
    the zaak's kind when the source gave it (`zaakSoort`), else the subject's opening words."""
    zaak_kind = doc.extra.get("zaakSoort")
    if zaak_kind:
        return _label(zaak_kind) in _VOTE_ZAAK_KINDS
    subject = normalize(doc.extra.get("onderwerp") or doc.title)
    return not subject.startswith(("motie", "amendement", "gewijzigd amendement", "nader gewijzigd amendement"))


def is_withdrawal(doc: Document) -> bool:
    """Whether the document announces that a bill is withdrawn (its own words, not its dossier title)."""
    if not _kind(doc).startswith(_WITHDRAWAL_CARRIERS):
        return False
    return _WITHDRAWAL.search(specific_text(doc)) is not None


def _title_segments(doc: Document) -> list[str]:
    """A KOOP Kamerstuk title is "<dossiertitel>; <soort>; <documenttitel>"."""
    return [p.strip() for p in doc.title.split("; ")] if doc.source == "ob" else []


def from_government(doc: Document) -> bool:
    """Whether a letter is the government's: TK soort "Brief regering"; in KOOP a "Brief" whose title says
    "Brief regering" or whose documenttitel names a minister as sender, or whose documenttitel is the letter's
    subject (KOOP gives either form) and nothing names another sender (a committee, the chair, a member)."""
    kind = _kind(doc)
    if kind == "brief regering":
        return True
    if kind != "brief":
        return False
    segments = [normalize(p) for p in _title_segments(doc)]
    if len(segments) >= 3:
        if segments[1] == "brief regering":
            return True
        if segments[1].startswith(("brief commissie", "brief lid", "brief van lid", "brief voorzitter",
                                   "brief presidium", "brief kamer")):
            return False
    sender = normalize(doc.extra.get("documenttitel") or "")
    if not sender:
        return True
    if sender.startswith(_GOVERNMENT_SENDERS):
        return True
    return not sender.startswith(_OTHER_SENDERS)


def classify(doc: Document) -> Stage | None:
    """The stage `doc` shows by its kind, or None when it shows none (verslag, nota, motie, amendement,
    nota van wijziging, gewijzigd voorstel van wet, ...)."""
    if doc.deleted or is_noise(doc):
        return None
    if doc.source in _SCRAPED_SOURCES:
        return scraped_stage(doc)
    kind = _kind(doc)
    publication = _publication(doc)
    entity = _label(doc.entity)

    if "internetconsultatie" in kind or "internetconsultatie" in entity or kind == "consultatie":
        return Stage.CONSULTATIE

    if _is_besluit(doc):
        outcome = _vote_outcome(doc)
        if outcome is None or not is_bill_vote(doc):
            return None
        if doc.chamber == "EK":
            return Stage.AANGENOMEN_EK if outcome else Stage.VERWORPEN_EK
        return Stage.AANGENOMEN_TK if outcome else Stage.VERWORPEN_TK

    if publication == "staatsblad":
        return _staatsblad_stage(doc, kind)

    if publication == "staatscourant":
        title = normalize(doc.title)
        if kind.startswith(_ADVICE) or title.startswith(_ADVICE):
            return Stage.ADVIES_RVS
        return None

    if is_withdrawal(doc):
        return Stage.INGETROKKEN
    if kind.startswith(_NOT_A_STAGE):
        return None
    if kind.startswith(_ADVICE):
        return Stage.ADVIES_RVS
    if is_ek_arrival(doc):
        return Stage.AANGENOMEN_TK
    if kind.startswith(_INTRODUCING):
        # The Eerste Kamer receives the bill as the Tweede Kamer adopted it: not a submission.
        return None if doc.chamber == "EK" else Stage.INGEDIEND
    if kind in _LETTER_KINDS and from_government(doc):
        return Stage.BRIEF
    return None


def _staatsblad_stage(doc: Document, kind: str) -> Stage | None:
    """A law (`Wet`, `Rijkswet`, or anything with `behandeldDossier`) is published; a decree fixing the
    moment of entry into force is `in_werking`; an AMvB is published (the stage an AMvB commitment promises)."""
    title = normalize(doc.title)
    if "inwerkingtreding" in title and (
        _ENTRY_INTO_FORCE.search(title) is not None or kind.startswith(("klein koninklijk besluit", "kkb"))
    ):
        return Stage.IN_WERKING
    if kind in ("verbeterblad", "beschikking"):
        return None
    if doc.extra.get("behandeldDossier") or kind in ("wet", "rijkswet", "amvb", "rijksamvb"):
        return Stage.GEPUBLICEERD
    return None


# --------------------------------------------------------------------------------------------- what it is about

_BILL_TITLE_STARTS = (
    "wijziging van", "wijziging in", "regels", "nieuwe regels", "tijdelijke regels", "voorstel van wet",
    "voorstel van rijkswet", "verklaring dat er grond bestaat", "goedkeuring", "intrekking van", "invoering van",
    "aanpassing van", "uitvoering van", "implementatie van", "herziening van", "vaststelling van",
    "instelling van", "bepalingen", "wet ", "rijkswet ", "tijdelijke wet", "samenvoeging van", "verlenging van",
    "vernieuwing van", "opheffing van", "aanvulling van", "verandering in de grondwet", "verandering van de grondwet",
)
_GRONDWET = ("verandering in de grondwet", "verandering van de grondwet", "herziening van de grondwet",
             "wijziging van de grondwet", "grondwetsvoorstel", "grondwetswijziging", "grondwetsherziening")
_INITIATIVE_STARTS = ("voorstel van wet van het lid", "voorstel van wet van de leden",
                      "voorstel van rijkswet van het lid", "voorstel van rijkswet van de leden", "initiatiefvoorstel",
                      "initiatiefwetsvoorstel")
_BILL_DOCUMENT_KINDS = ("koninklijke boodschap", "voorstel van wet", "voorstel van rijkswet",
                        "memorie van toelichting", "advies afdeling advisering raad van state",
                        "advies raad van state", "nader rapport",
                        "verslag (initiatief)wetsvoorstel", "verslag initiatief wetsvoorstel",
                        "nota n a v", "nota naar aanleiding van", "nota van wijziging", "nota van verbetering",
                        "amendement", "gewijzigd voorstel van wet", "memorie van antwoord", "voorlopig verslag",
                        "eindverslag", "nadere memorie van antwoord", "eindtekst", "wijzigingen voorgesteld door")
_DECREE_TITLE = ("besluit van", "koninklijk besluit")
_DATE = re.compile(r"\b\d{1,2} (?:januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|"
                   r"december)(?: \d{4})?\b")
# A letter that names a bill, a law or legislation: "wetsvoorstel", "Kieswet", "wetgeving", "wijziging",
# "grondwetsherziening", "wettelijke verankering", "uitvoeringswet".
_BILL_CUE = re.compile(r"(?:wet\b|wets|wetgeving|wettelijk|wijziging|herziening|grondwet|voorstel|implementatie)")
# "Advies Afdeling advisering Raad van State inzake het voorstel van wet houdende ...": the formula of every
# published advice, and the "met nader rapport" after it, say nothing about which bill.
_ADVICE_FORMULA = re.compile(
    r"^(?:advies|voorlichting) (?:van )?(?:de )?(?:afdeling advisering (?:van )?(?:de )?)?raad van state"
    r"(?: (?:inzake|over|betreffende|bij|met betrekking tot))?(?: het| de)?"
    r"(?: (?:voorstel van (?:rijks)?wet|ontwerpbesluit|ontwerp besluit|wetsvoorstel|voorstel))?"
    r"(?: (?:houdende|tot|inzake|betreffende))?\s*")
_NADER_RAPPORT = re.compile(r"\s(?:met|en) (?:het )?nader rapport\s*$")


@dataclass(frozen=True, slots=True)
class View:
    """What a document is about, for text matching: its `subject` (normalized), a `context` that supports it
    (a letter's carrier dossier), and what kind of thing the subject names.

    - `bill`: the subject is a bill's title (its dossier, its vote, its Staatsblad law, its RvS advice);
      `grondwet`, `rijkswet`, `initiative` and `budget` say which kind of bill.
    - `letter`: a government letter: its own subject says what it is about.
    - `decree`: a royal decree or AMvB in the Staatsblad.
    """

    subject: str
    context: str = ""
    bill: bool = False
    grondwet: bool = False
    rijkswet: bool = False
    initiative: bool = False
    budget: bool = False
    letter: bool = False
    decree: bool = False
    in_force: bool = False  # a decree fixing when a law (or part of one) enters into force
    implements: bool = False  # a decree "ter uitvoering van" a law: about that law, not its publication
    citeertitel: str = ""  # the bill's own name, from its title's closing parentheses ("(Wet lobbyregister)")
    bill_cue: bool = False  # a letter whose subject names a bill, a law or legislation


def is_bill_title(text: str) -> bool:
    """Whether a normalized title reads as the title of a bill: "wijziging van ...", "regels over ...",
    "verklaring dat er grond bestaat ..."."""
    return text.startswith(_BILL_TITLE_STARTS)


def _own_subject(doc: Document) -> str:
    """The normalized words about this document itself (a letter's subject), not its dossier nor its kind."""
    kind = _kind(doc)
    candidates: list[str] = []
    onderwerp = doc.extra.get("onderwerp")
    if onderwerp:
        candidates.append(onderwerp)
    documenttitel = doc.extra.get("documenttitel")
    if documenttitel:
        candidates.append(documenttitel)
    segments = _title_segments(doc)
    if len(segments) >= 3:
        candidates.append("; ".join(segments[2:]))
    for raw in candidates:
        text = normalize(raw)
        if text.startswith(_GOVERNMENT_SENDERS + _OTHER_SENDERS):
            continue  # "Brief van de minister van ...": who sent it, not what it is about
        # "Brief regering; Voortgang ..." -> "voortgang ..."
        for prefix in (kind, "brief regering", "brief"):
            if prefix and text.startswith(prefix + " "):
                text = text[len(prefix) + 1:]
        if not text or text == kind:
            continue
        return text
    return ""


_CITEERTITEL = re.compile(r"\(([^()]*(?:\b[Ww]et\b|wet|[Ww]etboek|Grondwet)[^()]*)\)\s*$")


def _citeertitel(doc: Document) -> str:
    """The name a bill gives itself at the end of its title: "Regels ... (Wet op de politieke partijen)"."""
    if doc.extra.get("citeertitel"):
        return normalize(doc.extra["citeertitel"])
    for raw in (doc.extra.get("dossiertitel"), doc.extra.get("titel"), doc.title.split("; ")[0] if doc.title else ""):
        if raw:
            m = _CITEERTITEL.search(raw.strip())
            if m:
                return normalize(m.group(1))
    return ""


def _dossier_title(doc: Document) -> str:
    for key in ("dossiertitel", "titel"):
        value = doc.extra.get(key)
        if value:
            return normalize(value)
    segments = _title_segments(doc)
    if len(segments) >= 2:
        return normalize(segments[0])
    if (doc.dossier or doc.kind) and doc.title:
        return normalize(doc.title.split("; ")[0])  # a Kamerstuk is titled "<dossier title>; <subject>"
    return ""


def _bill_view(subject: str, doc: Document, *, context: str = "") -> View:
    kind = _kind(doc)
    zaak_kind = _label(doc.extra.get("zaakSoort") or "")
    grondwet = any(g in subject for g in _GRONDWET) or kind.startswith("voorstel van wet (tweede lezing)")
    rijkswet = not grondwet and (" rijkswet " in f" {subject} " or bool(doc.extra.get("rijkswetnummer")))
    initiative = (subject.startswith(_INITIATIVE_STARTS) or "initiatiefvoorstel" in kind
                  or "initiatiefnemer" in kind or zaak_kind == "initiatiefwetgeving")
    budget = subject.startswith(("vaststelling van de begrotingsstaten", "vaststelling van de begroting",
                                 "wijziging van de begrotingsstaten")) or zaak_kind == "begroting"
    return View(subject=subject, context=context, bill=True, grondwet=grondwet, rijkswet=rijkswet,
                initiative=initiative, budget=budget)


def _undated(text: str) -> str:
    """A normalized text without its dates ("wet van 12 maart 2027", "brief van 3 juni"): they say when, not what."""
    return " ".join(_DATE.sub(" ", text).split())


def view(doc: Document) -> View | None:
    """What `doc` is about (see `_view`), without the dates in its words."""
    v = _view(doc)
    if v is None:
        return None
    return dataclasses.replace(v, subject=_undated(v.subject), context=_undated(v.context))


def _view(doc: Document) -> View | None:
    """What `doc` is about, or None when its words are no evidence of any commitment: written questions,
    motions and other documents outside a bill's dossier, committee letters, agendas. Only the bill a document
    belongs to (its dossier's title), a government letter's own subject, and the titles of the Staatsblad and
    the Staatscourant's RvS advices say what a publication is about."""
    if doc.deleted or is_noise(doc):
        return None
    if doc.source in _SCRAPED_SOURCES:
        return _scraped_view(doc)
    publication = _publication(doc)
    if _is_besluit(doc):
        if not is_bill_vote(doc) or _vote_outcome(doc) is None:
            return None
        title = normalize(doc.extra.get("titel") or doc.title)
        return dataclasses.replace(_bill_view(title, doc), citeertitel=_citeertitel(doc)) if title else None
    if publication == "staatsblad":
        title = normalize(doc.title)
        if title.startswith(_DECREE_TITLE) or _kind(doc).startswith(("amvb", "rijksamvb", "klein koninklijk", "kkb")):
            return View(subject=title, decree=True, in_force=_staatsblad_stage(doc, _kind(doc)) is Stage.IN_WERKING,
                        implements=" ter uitvoering van " in f" {title} ")
        return dataclasses.replace(_bill_view(title, doc), citeertitel=_citeertitel(doc))
    if publication == "staatscourant":
        title = _ADVICE_FORMULA.sub("", normalize(doc.title))
        title = _NADER_RAPPORT.sub("", title).strip()
        if not title:
            return None
        raw = re.sub(r",?\s*met nader rapport\s*$", "", doc.title.strip(), flags=re.IGNORECASE)
        m = _CITEERTITEL.search(raw)
        return dataclasses.replace(_bill_view(title, doc), citeertitel=normalize(m.group(1)) if m else "")
    kind = _kind(doc)
    dossier_title = _dossier_title(doc)
    in_dossier = bool(doc.dossier or doc.kst or doc.extra.get("dossiertitel"))
    if kind in _LETTER_KINDS and from_government(doc):
        own = _own_subject(doc)
        if own:
            return View(subject=own, context=dossier_title, letter=True, bill_cue=_BILL_CUE.search(own) is not None)
        # A letter that gives no subject of its own (KOOP's "Brief van de minister van ..."): what it is about is
        # its dossier, if that is a bill; a carrier dossier's title ("Verkiezingen") says nothing about it.
        if not (in_dossier and dossier_title and is_bill_title(dossier_title)):
            return None
    opening = kind.startswith(_INTRODUCING) and "gewijzigd" not in kind  # its title is the bill's, dossier or not
    if dossier_title and (opening or (in_dossier and (is_bill_title(dossier_title)
                                                      or kind.startswith(_BILL_DOCUMENT_KINDS)))):
        citeer = _citeertitel(doc)
        subject = f"{dossier_title} {citeer}".strip() if citeer and citeer not in dossier_title else dossier_title
        return dataclasses.replace(_bill_view(subject, doc), citeertitel=citeer)
    return None


# ------------------------------------------------------- the Eerste Kamer's votes, internetconsultaties, arrival

# Sources whose documents say what they are in their own fields (`sources.ek`, `sources.consultatie`), not in a
# TK soort or a KOOP subrubriek: classified and viewed here, before any rule for the other two sources.
_SCRAPED_SOURCES = frozenset({"ek", "ic"})
# The consultation types that are a bill (internetconsultatie.nl "Type consultatie"); an AMvB or a ministeriële
# regeling in consultation is no stage of a bill.
_LAW_CONSULTATIONS = frozenset({"wet", "rijkswet"})


def is_ek_arrival(doc: Document) -> bool:
    """Whether `doc` is the Eerste Kamer's receipt of a bill the Tweede Kamer adopted: its Kamerstuk with letter
    ondernummer A, "Gewijzigd voorstel van wet" (KOOP subrubriek "Voorstel van wet", documenttitel "Gewijzigd
    voorstel van wet", creator Eerste Kamer; reference ek_consultatie.md §1b and §5.4). It is dated the day of the
    Tweede Kamer's vote or just after, so it says that vote happened."""
    if doc.chamber != "EK" or (doc.ondernummer or "").strip().upper() != "A" or doc.deleted:
        return False
    if not _kind(doc).startswith(("voorstel van wet", "voorstel van rijkswet")):
        return False
    return normalize(doc.extra.get("documenttitel") or "").startswith(("gewijzigd voorstel van wet",
                                                                      "gewijzigd voorstel van rijkswet"))


def is_law_consultation(doc: Document) -> bool:
    """Whether an internetconsultatie is of a bill (type ``Wet``), the only kind that is a bill's stage."""
    return doc.source == "ic" and normalize(doc.extra.get("type") or "") in _LAW_CONSULTATIONS


def scraped_stage(doc: Document) -> Stage | None:
    """The stage an Eerste Kamer vote (``uitslag`` aangenomen / verworpen) or an internetconsultatie of a bill
    shows; None for anything else of those sources."""
    if doc.source == "ek":
        outcome = normalize(doc.extra.get("uitslag") or "")
        if outcome == "aangenomen":
            return Stage.AANGENOMEN_EK
        if outcome == "verworpen":
            return Stage.VERWORPEN_EK
        return None
    if doc.source == "ic":
        return Stage.CONSULTATIE if is_law_consultation(doc) else None
    return None


def _scraped_view(doc: Document) -> View | None:
    """A consultation of a bill is about the draft bill its title names, its intro supporting (as a letter's
    carrier dossier does: it is not what the title says). An Eerste Kamer vote has no view: it is tied by its
    dossier number alone. Its title is the list's short name of a bill that has been in the Kamer for months
    ("Wet vereenvoudiging partnerbegrip toeslagen"): too few words to tell look-alikes apart, and the bill's own
    documents have linked its dossier long before, or a maintainer links it."""
    if doc.source != "ic" or scraped_stage(doc) is None:
        return None
    title = normalize(doc.title)
    if not title:
        return None
    context = normalize(doc.extra.get("intro") or "")
    return dataclasses.replace(_bill_view(title, doc, context=context), citeertitel=_citeertitel(doc))
