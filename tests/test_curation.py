"""Maintainers' curation and chats' subscriptions (storage.curation), on both backends, with the real pipeline
making the doubtful matches that maintainers settle."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlmodel import select

import bot.pipeline as pipeline_module
from bot.pipeline import Pipeline, queue_deliveries
from matchers.engine import Match
from matchers.stages import Stage
from sources.base import Document
from storage import curation
from storage.catalog_repo import runtime_catalog, stages_reached, sync_catalog
from storage.curation import CurationError
from storage.db import make_engine, migrate, session_scope
from storage.models import (
    AuditRow,
    ChatRow,
    CommitmentRow,
    DeliveryRow,
    EndpointRow,
    EventRow,
    EvidenceRow,
    LinkRow,
    SubscriptionRow,
    TermRow,
)
from tests.test_pipeline import T0, ScriptedSource, _catalog, kst

MAINTAINER = 42


@pytest.fixture
def setup(db_url: str) -> Any:
    engine = make_engine(db_url)
    migrate(engine)
    catalog = _catalog()
    with session_scope(engine) as session:
        sync_catalog(session, catalog, T0)
        session.add(ChatRow(chat_id=1001, created_at=T0))
        session.add(SubscriptionRow(chat_id=1001, target="slug:lobbyregister", created_at=T0))
        session.add(EndpointRow(id="ep_ngo", url="https://ngo.example/hook", secret="whsec_x", created_at=T0))
    pipe = Pipeline(engine, catalog, start="now", clock=lambda: T0, maintainers=[MAINTAINER])
    yield engine, pipe, catalog
    engine.dispose()


async def _doubtful_event(engine: Any, pipe: Pipeline, monkeypatch: pytest.MonkeyPatch) -> tuple[str, ScriptedSource]:
    def doubtful(doc: Document, catalog: Any, links: Any, zaken: Any, rejected: Any, *_twins: Any) -> list[Match]:
        if ("lobbyregister", doc.key) in rejected:
            return []
        return [Match(slug="lobbyregister", stage=Stage.INGEDIEND, via="title", confident=False, score=84.0,
                      reason="title resembles alias 'Wet lobbyregister' (score 84)", learn_dossier=None)]

    src = ScriptedSource()
    await pipe.poll([src])
    monkeypatch.setattr(pipeline_module, "match_document", doubtful)
    src.publish(kst("37200", "3", "Memorie van toelichting", "Regels over lobbyen bij decentrale overheden"))
    await pipe.poll([src])
    with session_scope(engine) as session:
        [event] = session.exec(select(EventRow)).all()
    assert event.status == "pending"
    return event.id, src


def _rows(engine: Any) -> set[tuple[str, str, str]]:
    with session_scope(engine) as session:
        return {(d.channel, d.recipient, d.status) for d in session.exec(select(DeliveryRow))}


async def test_confirm_publishes_to_followers_and_links_the_dossier(setup: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, pipe, _ = setup
    event_id, _src = await _doubtful_event(engine, pipe, monkeypatch)
    assert _rows(engine) == {("review", "42", "pending")}
    with session_scope(engine) as session:
        curation.confirm(session, MAINTAINER, T0, event_id, queue_deliveries)
    assert _rows(engine) == {("review", "42", "skipped"), ("telegram", "1001", "pending"),
                             ("webhook", "ep_ngo", "pending")}
    with session_scope(engine) as session:
        assert session.get(EventRow, event_id).status == "published"  # type: ignore[union-attr]
        [evidence] = session.exec(select(EvidenceRow)).all()
        assert evidence.status == "confirmed" and evidence.decided_by == MAINTAINER
        assert stages_reached(session)["lobbyregister"] is Stage.INGEDIEND
        link = session.exec(select(LinkRow).where(LinkRow.value == "37200")).one()
        assert link.slug == "lobbyregister" and link.active
        assert [a.action for a in session.exec(select(AuditRow))] == ["confirm"]
    with session_scope(engine) as session, pytest.raises(CurationError, match="al bevestigd"):
        curation.confirm(session, MAINTAINER, T0, event_id, queue_deliveries)


async def test_rejected_match_never_comes_back(setup: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, pipe, _ = setup
    event_id, src = await _doubtful_event(engine, pipe, monkeypatch)
    with session_scope(engine) as session:
        curation.reject(session, MAINTAINER, T0, event_id)
    assert _rows(engine) == {("review", "42", "skipped")}
    # The same document again, corrected upstream: still no event, nobody told.
    src.publish(kst("37200", "3", "Memorie van toelichting", "Regels over lobbyen bij decentrale overheden (herdruk)"))
    await pipe.poll([src])
    with session_scope(engine) as session:
        events = session.exec(select(EventRow)).all()
        assert [(e.id, e.status) for e in events] == [(event_id, "rejected")]
        assert "lobbyregister" not in stages_reached(session)
    assert _rows(engine) == {("review", "42", "skipped")}
    with session_scope(engine) as session, pytest.raises(CurationError, match="al afgewezen"):
        curation.reject(session, MAINTAINER, T0, event_id)


def test_unknown_event_id_is_refused(setup: Any) -> None:
    engine, _pipe, _ = setup
    with session_scope(engine) as session, pytest.raises(CurationError, match="Geen melding"):
        curation.reject(session, MAINTAINER, T0, "evt_<script>")


def test_add_commitment_makes_a_slug_a_promise_and_feeds_the_matcher(setup: Any) -> None:
    engine, _pipe, catalog = setup
    with session_scope(engine) as session:
        added = curation.add_commitment(session, MAINTAINER, T0, title="Wetsvoorstel open overheid",
                                        aliases=["Wet open overheid", " Woo-wijziging "], timing="Q2 2027")
    assert added.slug == "open-overheid" and added.kind.value == "wetsvoorstel" and added.ministry == "BZK"
    assert added.due == dt.date(2027, 6, 30) and added.aliases == ("Wet open overheid", "Woo-wijziging")
    with session_scope(engine) as session:
        again = curation.add_commitment(session, MAINTAINER, T0, title="Wetsvoorstel open overheid",
                                        aliases=["Wet open overheid"], kind="kamerbrief", ministry="jenv")
        assert again.slug == "open-overheid-2" and again.kind.value == "kamerbrief" and again.ministry == "JenV"
        merged = runtime_catalog(session, catalog)
    assert merged.commitments["open-overheid"].aliases == ("Wet open overheid", "Woo-wijziging")
    assert merged.commitments["open-overheid"].due == dt.date(2027, 6, 30)
    assert merged.commitments["open-overheid"].promises[0].stage is Stage.INGEDIEND


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"title": "Wet x", "aliases": ["Wet x bis"], "timing": "ooit misschien"}, "termijn begrijp ik niet"),
        ({"title": "Wet x", "aliases": ["ab"]}, "te kort"),
        ({"title": "Wet x", "aliases": []}, "minstens één alias"),
        ({"title": "   ", "aliases": ["Wet iets"]}, "titel ontbreekt"),
        ({"title": "x" * 300, "aliases": ["Wet iets"]}, "te lang"),
        ({"title": "Wet x", "aliases": ["Wet iets"], "kind": "roman"}, "Onbekende soort"),
        ({"title": "Wet x", "aliases": ["Wet iets"], "ministry": "Hogwarts"}, "Onbekend ministerie"),
        ({"title": "Wet\u202ex", "aliases": ["Wet iets"]}, "besturingstekens"),
    ],
)
def test_bad_additions_are_refused_and_change_nothing(setup: Any, kwargs: dict[str, Any], message: str) -> None:
    engine, _pipe, _ = setup
    with pytest.raises(CurationError, match=message), session_scope(engine) as session:
        curation.add_commitment(session, MAINTAINER, T0, **kwargs)
    with session_scope(engine) as session:
        assert session.exec(select(CommitmentRow).where(CommitmentRow.origin == "maintainer")).all() == []
        assert session.exec(select(TermRow)).all() == []
        assert session.exec(select(AuditRow)).all() == []


def test_terms_deadlines_and_unknown_slugs(setup: Any) -> None:
    engine, _pipe, catalog = setup
    with session_scope(engine) as session:
        assert curation.add_term(session, MAINTAINER, T0, "lobbyregister", "alias", "Wet transparantie lobby")
        assert not curation.add_term(session, MAINTAINER, T0, "lobbyregister", "alias", "Wet transparantie lobby")
        assert curation.add_term(session, MAINTAINER, T0, "lobbyregister", "exclude", "lobbyverbod Brussel")
        promise = curation.add_deadline(session, MAINTAINER, T0, "lobbyregister", "voor het zomerreces")
        assert promise.due is not None and promise.due.year == 2027 and promise.stage == "ingediend"
        merged = runtime_catalog(session, catalog)
    assert "Wet transparantie lobby" in merged.commitments["lobbyregister"].aliases
    assert "lobbyverbod Brussel" in merged.commitments["lobbyregister"].exclude
    with session_scope(engine) as session, pytest.raises(CurationError) as err:
        curation.add_term(session, MAINTAINER, T0, "lobbyregistr", "alias", "Wet iets anders")
    assert "lobbyregister" in str(err.value)  # the nearest slug is suggested


def test_link_and_unlink_a_dossier(setup: Any) -> None:
    engine, _pipe, catalog = setup
    with session_scope(engine) as session:
        value, others = curation.link(session, MAINTAINER, T0, "lobbyregister", " 36600 vii ")
        assert (value, others) == ("36600-VII", [])
    with session_scope(engine) as session, pytest.raises(CurationError, match="geen Kamerstukdossiernummer"):
        curation.link(session, MAINTAINER, T0, "lobbyregister", "DROP TABLE")
    with session_scope(engine) as session:
        value, others = curation.link(session, MAINTAINER, T0, "lobbyregister", "36742")
        assert value == "36742" and others == ["wet-politieke-partijen"]
        curation.unlink(session, MAINTAINER, T0, "wet-politieke-partijen", "36742")
        merged = runtime_catalog(session, catalog)
    assert "36742" not in merged.commitments["wet-politieke-partijen"].dossiers
    assert "36742" in merged.commitments["lobbyregister"].dossiers
    with session_scope(engine) as session, pytest.raises(CurationError, match="niet gekoppeld"):
        curation.unlink(session, MAINTAINER, T0, "wet-politieke-partijen", "36742")


def test_subscriptions_targets_and_digest(setup: Any) -> None:
    engine, _pipe, _ = setup
    with session_scope(engine) as session:
        curation.ensure_chat(session, 2002, "private", T0)
        assert curation.resolve_target(session, "ALLES") == ("all", "alle toezeggingen")
        assert curation.resolve_target(session, "bzk")[0] == "ministry:BZK"
        assert curation.resolve_target(session, "Lobbyregister")[0] == "slug:lobbyregister"
        with pytest.raises(CurationError, match="Bedoelt u: lobbyregister"):
            curation.resolve_target(session, "lobby-register")
        assert curation.subscribe(session, 2002, "slug:lobbyregister", T0)
        assert not curation.subscribe(session, 2002, "slug:lobbyregister", T0)
        assert curation.subscribe(session, 2002, "ministry:BZK", T0)
        assert curation.subscriptions(session, 2002) == ["slug:lobbyregister", "ministry:BZK"]
        assert curation.unsubscribe(session, 2002, None) == 2
        curation.set_digest(session, 2002, "weekly", T0)
        with pytest.raises(CurationError):
            curation.set_digest(session, 2002, "hourly", T0)


def test_switching_to_immediate_releases_waiting_digest_alerts(setup: Any) -> None:
    engine, _pipe, _ = setup
    with session_scope(engine) as session:
        session.add(ChatRow(chat_id=3003, created_at=T0, digest="daily", paused=True))
        session.add(EventRow(id="evt_1", type="commitment.stage", slug="lobbyregister", stage="ingediend",
                             detected_at=T0, payload={}))
        session.flush()
        session.add(DeliveryRow(event_id="evt_1", channel="telegram", recipient="3003", status="digest",
                                next_attempt_at=T0, created_at=T0))
    with session_scope(engine) as session:
        chat = curation.ensure_chat(session, 3003, "private", T0)  # it wrote again: reachable again
        assert not chat.paused
        curation.set_digest(session, 3003, "immediate", T0 + dt.timedelta(hours=1))
    assert _rows(engine) == {("telegram", "3003", "pending")}


@pytest.mark.parametrize(
    ("title", "slug"),
    [("Wetsvoorstel lobbyregister", "lobbyregister"), ("Financiële-verhoudingswet", "financiele-verhoudingswet"),
     ("Kamerbrief over de Grondwet!", "kamerbrief-over-de-grondwet"), ("   ", "toezegging"),
     ("een " * 40, "een-" * 14 + "een")],
)
def test_make_slug(title: str, slug: str) -> None:
    assert curation.make_slug(title) == slug
