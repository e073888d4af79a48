"""Storage on both backends: migrations, catalog sync, the read model with stage and overdue flag."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import sqlalchemy as sa
from sqlmodel import select

from matchers.catalog import Catalog, Commitment, Kind, Promise
from matchers.deadlines import parse_deadline
from matchers.stages import Stage
from storage.catalog_repo import commitment_views, runtime_catalog, sync_catalog
from storage.db import make_engine, migrate, session_scope, utcnow
from storage.models import ALL_TABLES, DocumentRow, EventRow, EvidenceRow, LinkRow, PromiseRow, TermRow

LETTER = dt.date(2026, 4, 14)


def _catalog(timing: str = "Q2 2026", dossiers: tuple[str, ...] = ()) -> Catalog:
    promise = Promise(letter="000_x.txt", letter_date=LETTER, line=10, quote="Financiële verhoudingswet",
                      stage=Stage.INGEDIEND, deadline=parse_deadline(timing, LETTER))
    old = Promise(letter="003_x.txt", letter_date=dt.date(2024, 9, 13), line=99,
                  quote="Wetsvoorstel wijziging Financiële-verhoudingswet", stage=Stage.INGEDIEND)
    c = Commitment(slug="financiele-verhoudingswet", title="Wijziging Financiële-verhoudingswet",
                   kind=Kind.WETSVOORSTEL, ministry="BZK", aliases=("Financiële-verhoudingswet",),
                   dossiers=dossiers, promises=(old, promise), origin="000_x.yaml")
    return Catalog(commitments={c.slug: c})


def test_migrations_create_every_table_and_are_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    migrate(engine)
    names = set(sa.inspect(engine).get_table_names())
    assert {t.__tablename__ for t in ALL_TABLES} <= names  # type: ignore[attr-defined]
    assert "alembic_version" in names


def test_migrations_match_the_models(db_url: str) -> None:
    """A change to storage/models.py without its migration would break the next deployment: the schema the
    migrations build must be the schema the models describe."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    engine = make_engine(db_url)
    migrate(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_sync_is_idempotent_and_keeps_overdue_flags(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with session_scope(engine) as s:
        sync_catalog(s, _catalog(dossiers=("37001",)), utcnow())
    with session_scope(engine) as s:
        p = s.exec(select(PromiseRow).where(PromiseRow.letter == "000_x.txt")).one()
        p.overdue_notified = True
        s.add(p)
    with session_scope(engine) as s:
        sync_catalog(s, _catalog(dossiers=("37001",)), utcnow())
        promises = s.exec(select(PromiseRow)).all()
        assert len(promises) == 2
        assert [p.overdue_notified for p in promises if p.letter == "000_x.txt"] == [True]
        assert len(s.exec(select(LinkRow)).all()) == 1


def test_overdue_flag_against_injected_today(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with session_scope(engine) as s:
        sync_catalog(s, _catalog("Q2 2026"), utcnow())
        before = commitment_views(s, dt.date(2026, 6, 30))[0]
        after = commitment_views(s, dt.date(2026, 7, 1))[0]
    assert before.due == dt.date(2026, 6, 30) and not before.overdue
    assert after.overdue and after.stage is None
    assert after.summary() == {
        "slug": "financiele-verhoudingswet", "title": "Wijziging Financiële-verhoudingswet", "kind": "wetsvoorstel",
        "ministry": "BZK", "stage": None, "due": "2026-06-30", "overdue": True, "dossiers": [],
    }


def test_evidence_sets_stage_and_keeps_the_promise(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    now = utcnow()
    with session_scope(engine) as s:
        sync_catalog(s, _catalog("Q2 2026"), now)
        s.add(DocumentRow(key="ob:kst-37001-3", source="ob", upstream_id="kst-37001-3", entity="Kamerstuk",
                          kind="Memorie van toelichting", title="Wijziging van de Financiële-verhoudingswet",
                          content_hash="x", first_seen=now, last_seen=now))
        s.add(EventRow(id="evt_1", type="commitment.stage", slug="financiele-verhoudingswet", stage="ingediend",
                       detected_at=now, payload={"id": "evt_1"}))
        s.flush()
        s.add(EvidenceRow(slug="financiele-verhoudingswet", document_key="ob:kst-37001-3", stage="ingediend",
                          via="text", reason="alias", event_id="evt_1", created_at=now))
    with session_scope(engine) as s:
        view = commitment_views(s, dt.date(2026, 9, 1))[0]
    assert view.stage is Stage.INGEDIEND
    assert not view.overdue
    assert all(p.kept for p in view.promises)


def test_runtime_catalog_adds_maintainer_terms_and_links(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    now = utcnow()
    base = _catalog(dossiers=("37001",))
    with session_scope(engine) as s:
        sync_catalog(s, base, now)
        s.add(TermRow(slug="financiele-verhoudingswet", role="exclude", text="provinciefonds", added_at=now))
        s.add(LinkRow(slug="financiele-verhoudingswet", kind="dossier", value="37002", origin="maintainer",
                      changed_at=now))
        link = s.exec(select(LinkRow).where(LinkRow.value == "37001")).one()
        link.active = False
        s.add(link)
    with session_scope(engine) as s:
        c = runtime_catalog(s, base).get("financiele-verhoudingswet")
    assert c is not None
    assert c.exclude == ("provinciefonds",)
    assert c.dossiers == ("37002",)


def test_head_is_the_newest_migration_and_an_upgrade_says_so_in_one_line(
        db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    from alembic.script import ScriptDirectory

    from storage.db import HEAD, alembic_config, schema_version

    assert ScriptDirectory.from_config(alembic_config(db_url)).get_current_head() == HEAD
    engine = make_engine(db_url)
    with caplog.at_level(logging.INFO):
        migrate(engine)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"database schema created: at {HEAD}"]
    caplog.clear()
    with caplog.at_level(logging.INFO):
        migrate(engine)  # at head: one query, no Alembic, nothing said
    assert caplog.records == []
    with engine.connect() as connection:
        assert schema_version(connection) == HEAD
