"""The comparable terms of a Dutch text: stems, compound parts, the legislative vocabulary, and how specific a
word is; and the evidence a document's terms give for a commitment."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from matchers.catalog import Catalog, Commitment, Kind, Promise, Wording
from matchers.evidence import Subject, compile_profiles, score, text_terms
from matchers.stages import Stage
from matchers.terms import compound_parts, general_specificity, load_vocabulary, stem, vocabulary
from matchers.text import normalize


def terms(text: str) -> frozenset[str]:
    return text_terms(normalize(text)).terms


@pytest.mark.parametrize(("a", "b"), [
    ("toetsen", "toetsing"),
    ("rechter", "rechters"),
    ("evaluatie", "geëvalueerd"),
    ("stembiljet", "stembiljetten"),
    ("partij", "partijen"),
])
def test_inflection_and_derivation_meet(a: str, b: str) -> None:
    assert stem(normalize(a)) == stem(normalize(b))


@pytest.mark.parametrize(("word", "parts"), [
    ("kandidaatstellingsprocedure", {"kandidaat", "stelling", "procedure", "kandidaatstelling"}),
    ("lobbyregister", {"lobby", "register"}),
    ("financieleverhoudingswet", {"financiele", "verhoudingswet"}),
    ("geschilbeslechting", {"geschil", "beslechting"}),
    ("verkiezingsuitslagen", {"verkiezing", "uitslagen"}),
])
def test_compounds_split_into_dutch_words(word: str, parts: set[str]) -> None:
    assert parts <= set(compound_parts(word))


@pytest.mark.parametrize("word", ["intrekking", "regeling", "wet", "toelichting"])
def test_common_words_are_not_split(word: str) -> None:
    assert compound_parts(word) == ()


def test_a_loose_split_keeps_the_linking_letters_with_the_head() -> None:
    assert compound_parts("staatssecretarissen")[:2] in (("staats", "secretarissen"), ("staat", "secretarissen"), ())


@pytest.mark.parametrize(("statutory", "everyday"), [
    ("leden der Staten-Generaal, ministers en staatssecretarissen", "Kamerleden en bewindspersonen"),
    ("de openbare lichamen Bonaire, Sint Eustatius en Saba", "Caribisch Nederland"),
    ("Algemene wet bestuursrecht", "Awb"),
    ("Wet open overheid", "Woo"),
    ("toetsing aan de Grondwet", "constitutionele toetsing"),
])
def test_the_vocabulary_joins_both_sides(statutory: str, everyday: str) -> None:
    concepts = {t for t in terms(statutory) if t.startswith("=")}
    assert concepts and concepts <= terms(everyday)


def test_every_vocabulary_entry_has_a_reason() -> None:
    vocab = vocabulary()
    assert len(vocab.concepts) >= 30
    assert all(c.reason and (len(c.forms) >= 2 or c.name in vocab.senders) for c in vocab.concepts)
    assert "=binnenlandsezakenenkoninkrijksrelaties" in vocab.senders


def test_a_vocabulary_entry_without_reason_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "vocabulary.yaml"
    bad.write_text('- same: ["Kamerleden", "leden der Staten-Generaal"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="has no reason"):
        load_vocabulary(bad)


@pytest.mark.parametrize(("word", "low", "high"), [
    ("wet", 0.0, 0.0),  # every bill has it
    ("wijziging", 0.0, 0.0),
    ("partijen", 0.0, 0.5),  # common Dutch
    ("lobbyregister", 0.99, 1.0),  # rare
    ("fondsuitkering", 0.99, 1.0),
    ("2027", 0.1, 0.2),  # a year inside a name is incidental
])
def test_specificity_follows_dutch_word_frequency(word: str, low: float, high: float) -> None:
    assert low <= general_specificity(word) <= high


def test_the_laws_an_amendment_names_are_marked() -> None:
    units = text_terms(normalize("Wijziging van de Kieswet en de Wet open overheid in verband met het stembiljet")).units
    laws = {u.word for u in units if u.law}
    assert laws == {"kieswet", "wet open overheid"}


# ------------------------------------------------------------------------------------------- evidence

PROMISE = Promise(letter="000_x.txt", letter_date=dt.date(2026, 4, 1), line=70,
                  quote="een wetsvoorstel voor een lobbyregister dat praktisch en werkbaar is", stage=Stage.INGEDIEND)
LOBBY = Commitment(slug="lobbyregister", title="Wetsvoorstel lobbyregister", kind=Kind.WETSVOORSTEL, ministry="BZK",
                   promises=(PROMISE,), record=(Wording(source="000 line 70", title="Regels over de registratie van "
                                                        "lobbyactiviteiten (Wet lobbyregister)"),))
STEMBILJET = Commitment(slug="nieuw-stembiljet", title="Wetsvoorstel nieuw stembiljet", kind=Kind.WETSVOORSTEL,
                        ministry="BZK", promises=(PROMISE,), aliases=("nieuw stembiljet",),
                        record=(Wording(source="000 line 46", title="Wijziging van de Kieswet in verband met een "
                                                                    "nieuw model stembiljet"),))
CATALOG = Catalog(commitments={c.slug: c for c in (LOBBY, STEMBILJET)})


def evidence(text: str, slug: str) -> tuple[float, str]:
    profiles, weights = compile_profiles(CATALOG)
    e = score(Subject.of(text_terms(normalize(text)), text_terms("")), profiles[slug], weights)
    return e.score, e.why()


def test_the_record_wording_carries_a_bill_title() -> None:
    value, why = evidence("Regels omtrent de registratie van lobbyactiviteiten (Wet lobbyregister)", "lobbyregister")
    assert value >= 80
    words, where = why.split(" — ")
    assert set(words.split(", ")) == {"lobbyactiviteiten", "registratie", "lobbyregister"}
    assert where.startswith("from the record's wording 'Regels over de registratie van lobbyactiviteiten")


def test_a_shared_law_name_is_no_evidence() -> None:
    value, _ = evidence("Wijziging van de Kieswet in verband met het verlagen van de kiesgerechtigde leeftijd",
                        "nieuw-stembiljet")
    assert value < 40


def test_a_look_alike_bill_that_says_much_else_scores_low() -> None:
    value, _ = evidence("Regels over een lobbyverbod voor oud-bewindspersonen en de afkoelperiode na het ambt",
                        "lobbyregister")
    assert value < 40
