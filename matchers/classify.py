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

import re
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
    procedural decisions (a Besluit that is not a vote), and planning entities."""
    publication = _publication(doc)
    if publication in _OTHER_GAZETTES or doc.id.startswith(_OTHER_GAZETTE_IDS):
        return True
    if _label(doc.entity) in _NOISE_ENTITIES:
        return True
    kind = _kind(doc)
    if kind.startswith(_NOISE_KIND_PREFIXES):
        return True
    return _is_besluit(doc) and _vote_outcome(doc) is None


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


def _from_government(doc: Document) -> bool:
    kind = _kind(doc)
    if kind == "brief regering":
        return True
    if kind != "brief":
        return False
    sender = doc.extra.get("documenttitel")
    if not sender:
        return True
    return normalize(sender).startswith(_GOVERNMENT_SENDERS)


def classify(doc: Document) -> Stage | None:
    """The stage `doc` shows by its kind, or None when it shows none (verslag, nota, motie, amendement,
    nota van wijziging, gewijzigd voorstel van wet, ...)."""
    if doc.deleted or is_noise(doc):
        return None
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
    if kind.startswith(_INTRODUCING):
        # The Eerste Kamer receives the bill as the Tweede Kamer adopted it: not a submission.
        return None if doc.chamber == "EK" else Stage.INGEDIEND
    if kind in _LETTER_KINDS and _from_government(doc):
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
