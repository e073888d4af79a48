"""Event identity: one real-world event is one event, forward only, stable ids."""

from __future__ import annotations

import datetime as dt

import pytest

from matchers.events import (
    DOCUMENT_EVENT,
    STAGE_EVENT,
    advances,
    effective_stage,
    event_id,
    event_json,
    event_key,
    is_opening_document,
)
from matchers.stages import Stage
from sources.base import Document


def doc(kind: str, *, source: str = "ob", entity: str = "Kamerstuk", dossier: str = "37100", nr: str = "3",
        zaak: str | None = None) -> Document:
    ident = f"kst-{dossier}-{nr}" if entity in ("Kamerstuk", "Document") else f"stcrt-2027-{nr}"
    return Document(source=source, id=ident if source == "ob" else f"2027D0{nr}", kind=kind, title="t",
                    entity=entity, kst=ident if entity in ("Kamerstuk", "Document") else None, dossier=dossier,
                    ondernummer=nr, zaak=zaak)


def test_submission_documents_share_one_event() -> None:
    keys = {
        event_key("lobbyregister", doc("Koninklijke boodschap", nr="1"), Stage.INGEDIEND, None),
        event_key("lobbyregister", doc("Voorstel van wet", nr="2"), Stage.INGEDIEND, None),
        event_key("lobbyregister", doc("Memorie van toelichting", nr="3"), Stage.INGEDIEND, None),
        event_key("lobbyregister", doc("Advies Afdeling advisering Raad van State en Nader rapport", nr="4"),
                  effective_stage(doc("Advies…", nr="4"), Stage.ADVIES_RVS), None),
    }
    assert len(keys) == 1
    (key,) = keys
    assert key.type == STAGE_EVENT and key.stage is Stage.INGEDIEND


def test_tk_and_koop_copies_of_one_kamerstuk_have_one_identity() -> None:
    tk = doc("Memorie van toelichting", source="tk", entity="Document")
    ob = doc("Memorie van toelichting")
    assert event_key("x", tk, Stage.INGEDIEND, None) == event_key("x", ob, Stage.INGEDIEND, None)


def test_staatscourant_advice_before_the_bill_is_its_own_stage() -> None:
    advice = doc("Advies Raad van State", entity="Staatscourant", nr="777")
    assert effective_stage(advice, Stage.ADVIES_RVS) is Stage.ADVIES_RVS
    assert event_key("x", advice, Stage.ADVIES_RVS, None).stage is Stage.ADVIES_RVS


@pytest.mark.parametrize(
    ("stage", "reached", "news"),
    [
        (Stage.INGEDIEND, None, True),
        (Stage.ADVIES_RVS, Stage.INGEDIEND, False),  # a later Staatscourant copy of the advice
        (Stage.AANGENOMEN_TK, Stage.AANGENOMEN_TK, False),  # a second reading of the same vote
        (Stage.AANGENOMEN_TK, Stage.INGEDIEND, True),
        (Stage.VERWORPEN_EK, Stage.AANGENOMEN_TK, True),
        (Stage.INGETROKKEN, Stage.INGEDIEND, True),
        (Stage.GEPUBLICEERD, Stage.IN_WERKING, False),
        (Stage.BRIEF, None, True),
        (Stage.BRIEF, Stage.BRIEF, False),
    ],
    ids=lambda v: str(v),
)
def test_forward_only(stage: Stage, reached: Stage | None, news: bool) -> None:
    assert advances(stage, reached) is news
    key = event_key("x", doc("k"), stage, reached)
    assert (key.type == STAGE_EVENT) is news
    if not news:
        assert key.type == DOCUMENT_EVENT and key.stage is None


def test_votes_are_one_event_per_zaak_and_outcome() -> None:
    a = doc("Stemmen - aangenomen", source="tk", entity="Besluit", zaak="2027Z01234")
    b = doc("Stemmen - aangenomen", source="tk", entity="Besluit", zaak="2027Z01234", nr="9")
    assert event_key("x", a, Stage.AANGENOMEN_TK, Stage.INGEDIEND) == event_key("x", b, Stage.AANGENOMEN_TK,
                                                                                 Stage.INGEDIEND)


def test_ids_are_stable_and_distinct() -> None:
    assert event_id("a", "b") == event_id("a", "b")
    assert event_id("a", "b") != event_id("a", "c")
    assert event_id("ab", "c") != event_id("a", "bc")
    assert event_id("a").startswith("evt_")


@pytest.mark.parametrize(
    ("kind", "entity", "opening"),
    [
        ("Koninklijke boodschap", "Kamerstuk", True),
        ("Voorstel van wet", "Document", True),
        ("Memorie van toelichting", "Kamerstuk", True),
        ("Advies Afdeling advisering Raad van State en Nader rapport", "Kamerstuk", True),
        ("Gewijzigd voorstel van wet", "Kamerstuk", False),
        ("Verslag", "Kamerstuk", False),
        ("Stemmen - aangenomen", "Besluit", False),
    ],
    ids=lambda v: str(v),
)
def test_opening_documents(kind: str, entity: str, opening: bool) -> None:
    assert is_opening_document(doc(kind, entity=entity)) is opening


def test_event_json_shape() -> None:
    payload = event_json(id="evt_1", type=STAGE_EVENT, slug="lobbyregister", title="Wetsvoorstel lobbyregister",
                         stage=Stage.INGEDIEND, documents=[], reason="r",
                         detected_at=dt.datetime(2027, 3, 2, 10, 15, tzinfo=dt.UTC))
    assert payload == {"id": "evt_1", "type": "commitment.stage",
                       "commitment": {"slug": "lobbyregister", "title": "Wetsvoorstel lobbyregister"},
                       "stage": "ingediend", "documents": [], "reason": "r", "detected_at": "2027-03-02T10:15:00Z"}
