"""Dutch normalization and phrase matching on word boundaries."""

from __future__ import annotations

import pytest

from matchers.text import Haystack, Phrase, contains_phrase, normalize, tokens


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Financiële-verhoudingswet", "financiele verhoudingswet"),
        ("financiële verhoudingswet", "financiele verhoudingswet"),
        ("FINANCIËLE VERHOUDINGSWET", "financiele verhoudingswet"),
        ("Coördinator naïef café", "coordinator naief cafe"),
        ("regio’s en regio's", "regios en regios"),
        ("«hetero- of homoseksuele gerichtheid»", "hetero of homoseksuele gerichtheid"),
        ("Verordening (EU) 2024/900", "verordening eu 2024 900"),
        ("artikel 3.3 Woo", "artikel 3 3 woo"),
        ("kandidaat-bestuurders; Brief regering", "kandidaat bestuurders brief regering"),
        ("  Wet   op de\tpolitieke\npartijen  ", "wet op de politieke partijen"),
        ("Wet – lobbyregister — 2027", "wet lobbyregister 2027"),
        ("Straße", "strasse"),
        ("Ĳmuiden", "ijmuiden"),
        ("Ørsted", "orsted"),
        ("'s-Gravenhage", "s gravenhage"),
        ("e\u0301e\u0301n", "een"),
        ("", ""),
        ("—", ""),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_tokens_are_the_normalized_words() -> None:
    assert tokens("Wet versterking waarborgfunctie Awb") == ("wet", "versterking", "waarborgfunctie", "awb")
    assert tokens("") == ()


@pytest.mark.parametrize(
    ("haystack", "phrase", "found"),
    [
        ("Wijziging van de Financiële-verhoudingswet", "financiële verhoudingswet", True),
        ("Wijziging van de Financiële verhoudingswet", "Financiële-verhoudingswet", True),
        ("Wijziging van de Financieleverhoudingswet", "Financiële-verhoudingswet", True),
        ("Wijziging van de Financiële-verhoudingswet", "financieleverhoudingswet", True),
        ("Motie over een lobbyverbod", "lobby", False),
        ("Motie over een lobbyverbod", "lobbyregister", False),
        ("Wet lobby register", "lobbyregister", True),
        ("Instelling van een lobbyregister", "lobbyregister", True),
        ("lobbyregister", "lobbyregister", True),
        ("lobbyverbod en daarna lobby register", "lobbyregister", True),
        ("Wet lobbyregisters", "lobbyregister", False),
        ("de wet op de politieke partijen", "Wet op de politieke partijen", True),
        ("wet op de politieke partijen", "op de politieke partijen wet", False),
        ("artikel 120 van de Gemeentewet", "artikel 120 van de Grondwet", False),
        ("kort", "een veel langere zin", False),
        ("iets", "", False),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_contains_phrase_on_word_boundaries(haystack: str, phrase: str, found: bool) -> None:
    assert contains_phrase(normalize(haystack), normalize(phrase)) is found


def test_a_phrase_never_runs_across_the_field_separator() -> None:
    # The engine joins a document's fields with " | " after normalizing them.
    hay = Haystack("evaluatie | woo")
    assert not hay.contains(Phrase.of("evaluatie woo"))
    assert not hay.contains(Phrase.of("evaluatiewoo"))
    assert hay.contains(Phrase.of("woo"))


def test_haystack_word_prefix_is_a_compound_head() -> None:
    hay = Haystack.of("Tijdelijke experimentenwet nieuw stembiljet")
    assert hay.has_word_prefix("experiment")
    assert not hay.has_word_prefix("stembiljetten")


def test_phrase_is_compiled_once() -> None:
    assert Phrase.of("Wet lobbyregister") is Phrase.of("Wet lobbyregister")
    assert Phrase.of("Financiële-verhoudingswet").squashed == "financieleverhoudingswet"
