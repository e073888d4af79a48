"""A database as the site meets it: the real catalog, synced, with events, evidence, documents and history as
the pipeline stores them, a maintainer's commitment with a hostile title, source health and a webhook secret.
Used by the site's tests and by `bench/bench_web.py` (`populate` makes the benchmark's 250 commitments and
10,000 events).

The rows are written as the pipeline writes them (storage/models.py), not made by running it: the site reads
what is stored, and these tests are about the site.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from matchers.catalog import Catalog, load_catalog
from matchers.events import event_id, event_json
from matchers.stages import Stage
from storage.catalog_repo import sync_catalog
from storage.db import make_engine, migrate, session_scope
from storage.models import (
    CommitmentRow,
    DocumentRow,
    EndpointRow,
    EventRow,
    EvidenceRow,
    PromiseRow,
    SourceStateRow,
    TermRow,
)

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 12, 4)
HOSTILE_SLUG = "vijandige-titel"
HOSTILE_TITLE = '<script>alert("xss")</script><img src=x onerror=alert(1)> Wet & "co" \'t'
HOSTILE_ALIAS = "<iframe src=//evil.example></iframe>alias"
WEBHOOK_SECRET = "whsec_c2VjcmV0LW5ldmVyLW9uLXRoZS1zaXRl"
DB_PASSWORD_IN_ERROR = "hunter2secret"
TK_DOC = "https://www.tweedekamer.nl/kamerstukken/detail?did=2025D21083&id=2025Z09154"
OB_DOC = "https://zoek.officielebekendmakingen.nl/kst-36742-3.html"


def doc(source: str, ident: str, kind: str, title: str, day: dt.date | None, *, kst: str | None = None,
        dossier: str | None = None, url: str | None = None) -> dict[str, Any]:
    """A document entry of the event JSON (matchers.events.document_json)."""
    return {"source": source, "id": ident, "kst": kst, "title": title, "type": kind, "dossier": dossier, "url": url,
            "date": day.isoformat() if day else None}


@dataclass
class Writer:
    """Writes events with their documents and evidence, the way the pipeline stores them."""

    session: Any

    def document(self, d: dict[str, Any], *, origin: str = "news", deleted: bool = False) -> str:
        key = f"{d['source']}:{d['id']}"
        if self.session.get(DocumentRow, key) is None:
            self.session.add(DocumentRow(
                key=key, source=d["source"], upstream_id=d["id"], entity="Document", kind=d["type"], title=d["title"],
                kst=d["kst"], dossier=d["dossier"], date=dt.date.fromisoformat(d["date"]) if d["date"] else None,
                url=d["url"], deleted=deleted, content_hash="0" * 64, first_seen=NOW, last_seen=NOW, origin=origin))
            self.session.flush()
        return key

    def event(self, slug: str, title: str, etype: str, stage: Stage | None, documents: list[dict[str, Any]],
              reason: str, at: dt.datetime, *, evidence_stage: Stage | None = None, status: str = "published",
              extra: dict[str, Any] | None = None, anchor: str = "") -> str:
        eid = event_id(slug, etype, stage.value if stage else "", anchor or (documents[0]["id"] if documents else ""))
        payload = event_json(id=eid, type=etype, slug=slug, title=title, stage=stage, documents=documents,
                             reason=reason, detected_at=at, extra=extra)
        self.session.add(EventRow(id=eid, type=etype, slug=slug, stage=stage.value if stage else None, detected_at=at,
                                  status=status, payload=payload))
        self.session.flush()
        for d in documents:
            key = self.document(d)
            self.session.add(EvidenceRow(slug=slug, document_key=key, stage=evidence_stage.value if evidence_stage
                                         else None, via="dossier", reason=reason, status="auto", event_id=eid,
                                         created_at=at))
        self.session.flush()
        return eid

    def history(self, slug: str, d: dict[str, Any], stage: Stage, *, deleted: bool = False) -> None:
        key = self.document(d, origin="history", deleted=deleted)
        self.session.add(EvidenceRow(slug=slug, document_key=key, stage=stage.value, via="dossier",
                                     reason="read as history", status="history", created_at=NOW))
        self.session.flush()


@dataclass(frozen=True)
class World:
    url: str
    catalog: Catalog
    ingediend: str  # event ids
    verslag: str
    kept_late: str
    kept_early: str
    hostile_document: str
    hostile_overdue: str
    retracted: str


def build(url: str, catalog: Catalog | None = None, *, hostile: bool = True) -> World:
    """A fresh database at `url` with the world of the site's tests (`hostile=False`: without the hostile
    maintainer's commitment, for the README's screenshots)."""
    catalog = catalog or load_catalog()
    engine = make_engine(url)
    try:
        migrate(engine)
        with session_scope(engine) as session:
            sync_catalog(session, catalog, NOW - dt.timedelta(days=30))
            ids = _fill(Writer(session), hostile=hostile)
        return World(url=url, catalog=catalog, **ids)
    finally:
        engine.dispose()


def _fill(w: Writer, *, hostile: bool) -> dict[str, str]:
    wpp = "Wet op de politieke partijen"
    # History: the Raad van State advice, in the record before wetwacht followed the dossier.
    w.history("wet-politieke-partijen", doc("ob", "stcrt-2025-4321", "Advies Raad van State",
                                            "Advies Afdeling advisering Raad van State inzake de Wet op de politieke "
                                            "partijen", dt.date(2025, 3, 1),
                                            url="https://zoek.officielebekendmakingen.nl/stcrt-2025-4321.html"),
              Stage.ADVIES_RVS)
    submission = [
        doc("tk", "2025D21083", "Memorie van toelichting", "Regels betreffende de financiering van politieke "
            "partijen (Wet op de politieke partijen); Memorie van toelichting", dt.date(2025, 5, 12), kst="kst-36742-3",
            dossier="36742", url=TK_DOC),
        doc("ob", "kst-36742-3", "Memorie van toelichting", "Wet op de politieke partijen; Memorie van toelichting",
            dt.date(2025, 5, 12), kst="kst-36742-3", dossier="36742", url=OB_DOC),
        doc("tk", "2025D21080", "Voorstel van wet", "Voorstel van wet", dt.date(2025, 5, 12), kst="kst-36742-2",
            dossier="36742", url="https://www.tweedekamer.nl/kamerstukken/detail?did=2025D21080"),
    ]
    ingediend = w.event("wet-politieke-partijen", wpp, "commitment.stage", Stage.INGEDIEND, submission,
                        "dossier 36742 is linked to wet-politieke-partijen; Memorie van toelichting means the bill "
                        "was sent to the Kamer", dt.datetime(2025, 5, 13, 8, 0, tzinfo=dt.UTC),
                        evidence_stage=Stage.INGEDIEND, anchor="36742")
    verslag = w.event("wet-politieke-partijen", wpp, "commitment.document", Stage.INGEDIEND,
                      [doc("ob", "kst-36742-5", "Verslag", "Wet op de politieke partijen; Verslag",
                           dt.date(2025, 6, 20), kst="kst-36742-5", dossier="36742",
                           url="https://zoek.officielebekendmakingen.nl/kst-36742-5.html")],
                      "dossier 36742 is linked", dt.datetime(2025, 6, 21, 9, 30, tzinfo=dt.UTC))
    kept_late = w.event("vereenvoudigingswet", "Vereenvoudigingswet", "commitment.stage", Stage.INGEDIEND,
                        [doc("tk", "2026D50001", "Memorie van toelichting", "Vereenvoudigingswet 2027; Memorie van "
                             "toelichting", dt.date(2026, 11, 10), kst="kst-37001-3", dossier="37001",
                             url="https://www.tweedekamer.nl/kamerstukken/detail?did=2026D50001")],
                        "the title names Vereenvoudigingswet", dt.datetime(2026, 11, 10, 15, 0, tzinfo=dt.UTC),
                        evidence_stage=Stage.INGEDIEND, anchor="37001")
    kept_early = w.event("evaluatie-verkiezingen-2025-2026", "Evaluatie Tweede Kamerverkiezing 2025",
                         "commitment.stage", Stage.BRIEF,
                         [doc("tk", "2026D30001", "Brief regering", "Evaluatie van de Tweede Kamerverkiezing 2025",
                              dt.date(2026, 6, 15), kst="kst-35165-99", dossier="35165",
                              url="https://www.tweedekamer.nl/kamerstukken/detail?did=2026D30001")],
                         "the title names the evaluation", dt.datetime(2026, 6, 15, 16, 0, tzinfo=dt.UTC),
                         evidence_stage=Stage.BRIEF)
    retracted = w.event("lobbyregister", "Wetsvoorstel lobbyregister", "commitment.document", None,
                        [doc("ob", "kst-36999-1", "Brief", "Lobbyregister; Brief", dt.date(2026, 10, 1),
                             kst="kst-36999-1", dossier="36999", url="https://zoek.officielebekendmakingen.nl/kst-36999-1.html")],
                        "the title names the lobbyregister", dt.datetime(2026, 10, 2, 7, 0, tzinfo=dt.UTC),
                        status="retracted")

    hostile_document = hostile_overdue = ""
    if hostile:
        hostile_document, hostile_overdue = _hostile(w)
    _health(w)
    return {"ingediend": ingediend, "verslag": verslag, "kept_late": kept_late, "kept_early": kept_early,
            "hostile_document": hostile_document, "hostile_overdue": hostile_overdue, "retracted": retracted}


def _hostile(w: Writer) -> tuple[str, str]:
    """A maintainer's commitment whose title, alias, document and reason are hostile; its deadline is long past."""
    s = w.session
    s.add(CommitmentRow(slug=HOSTILE_SLUG, title=HOSTILE_TITLE, kind="wetsvoorstel", ministry="BZK",
                        origin="maintainer", created_at=NOW - dt.timedelta(days=400), created_by=42))
    s.flush()
    s.add(PromiseRow(slug=HOSTILE_SLUG, letter="telegram", letter_date=dt.date(2020, 1, 10), line=None,
                     quote='<b onmouseover="alert(1)">Q1 2020</b> beloofd', as_written="Q1 2020",
                     due=dt.date(2020, 3, 31), stage="ingediend", origin="maintainer", overdue_notified=True))
    s.add(TermRow(slug=HOSTILE_SLUG, role="alias", text=HOSTILE_ALIAS, added_by=42, added_at=NOW))
    hostile_document = w.event(HOSTILE_SLUG, HOSTILE_TITLE, "commitment.document", None,
                               [doc("tk", "2026D99999", "<i>Brief</i>", "</title><script>alert(2)</script>",
                                    dt.date(2026, 11, 1), url="javascript:alert(3)")],
                               '<script>alert("reason")</script>', dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC))
    hostile_overdue = w.event(HOSTILE_SLUG, HOSTILE_TITLE, "commitment.overdue", Stage.INGEDIEND, [],
                              "beloofd in telegram: Q1 2020, 0 dag(en) te laat", dt.datetime(2026, 11, 3, 10, 0,
                                                                                            tzinfo=dt.UTC),
                              extra={"promise": {"letter": "telegram", "line": None, "quote": "<b>Q1 2020</b>",
                                                 "as_written": "Q1 2020", "due": "2020-03-31",
                                                 "stage": "ingediend"}}, anchor="overdue")
    return hostile_document, hostile_overdue


def _health(w: Writer) -> None:
    s = w.session
    s.add(SourceStateRow(name="tk", cursor='{"Document": "24600000"}', last_attempt_at=NOW - dt.timedelta(minutes=4),
                         last_success_at=NOW - dt.timedelta(minutes=4), first_poll_done=True,
                         installed_at=NOW - dt.timedelta(days=30), last_requests=5, last_items=12,
                         last_duration_ms=830))
    s.add(SourceStateRow(name="ob", cursor="2026-12-01", last_attempt_at=NOW - dt.timedelta(minutes=3),
                         last_success_at=NOW - dt.timedelta(hours=2), consecutive_failures=2,
                         last_error=f"FetchError: HTTP 503 from https://wetwacht:{DB_PASSWORD_IN_ERROR}@sru.example/sru",
                         first_poll_done=True, installed_at=NOW - dt.timedelta(days=30)))
    s.add(EndpointRow(id="ep_ngo", url="https://ngo.example/hook", secret=WEBHOOK_SECRET, created_at=NOW))
    s.flush()


# ------------------------------------------------------------------------------------------ benchmark data


def populate(url: str, *, commitments: int = 250, events: int = 10_000, seed: int = 12) -> Engine:
    """The benchmark's database: the real catalog plus maintainer commitments up to `commitments`, and
    `events` events (a third of them stage events; two documents each, the TK and the KOOP record of one
    Kamerstuk, both as evidence) spread over them."""
    rng = random.Random(seed)
    catalog = load_catalog()
    engine = make_engine(url)
    migrate(engine)
    stages = [Stage.CONSULTATIE, Stage.ADVIES_RVS, Stage.INGEDIEND, Stage.AANGENOMEN_TK, Stage.AANGENOMEN_EK,
              Stage.GEPUBLICEERD]
    with session_scope(engine) as session:
        sync_catalog(session, catalog, NOW - dt.timedelta(days=400))
        slugs = list(catalog.commitments)
        for i in range(max(0, commitments - len(slugs))):
            slug = f"extra-toezegging-{i:03d}"
            session.add(CommitmentRow(slug=slug, title=f"Extra wetsvoorstel nummer {i}", kind="wetsvoorstel",
                                      ministry=rng.choice(["BZK", "JenV", "Fin", "OCW"]), origin="maintainer",
                                      created_at=NOW))
            session.flush()
            session.add(PromiseRow(slug=slug, letter="telegram", letter_date=dt.date(2026, 1, 1), line=None,
                                   quote=f"Extra wetsvoorstel nummer {i}: Q{1 + i % 4} 2027",
                                   as_written=f"Q{1 + i % 4} 2027", due=dt.date(2027, 3 * (1 + i % 4), 28),
                                   stage="ingediend", origin="maintainer"))
            slugs.append(slug)
        session.flush()
        start = NOW - dt.timedelta(days=365)
        for n in range(events):
            slug = rng.choice(slugs)
            at = start + dt.timedelta(minutes=n * 50)
            stage = rng.choice(stages) if n % 3 == 0 else None
            dossier = str(36000 + slugs.index(slug))
            kst = f"kst-{dossier}-{n}"
            kind = "Memorie van toelichting" if stage else "Verslag"
            documents = [
                doc("tk", f"2026D{1000 + n:05d}", kind, f"Regels over onderwerp {n} van dossier {dossier}", at.date(),
                    kst=kst, dossier=dossier, url=f"https://www.tweedekamer.nl/kamerstukken/detail?did=2026D{1000 + n:05d}"),
                doc("ob", kst, kind, f"Onderwerp {n}; dossier {dossier}", at.date(), kst=kst, dossier=dossier,
                    url=f"https://zoek.officielebekendmakingen.nl/{kst}.html"),
            ]
            etype = "commitment.stage" if stage else "commitment.document"
            eid = event_id(slug, etype, stage.value if stage else "", str(n))
            reason = f"dossier {dossier} is linked to {slug}"
            session.add(EventRow(id=eid, type=etype, slug=slug, stage=stage.value if stage else None, detected_at=at,
                                 payload=event_json(id=eid, type=etype, slug=slug, title=slug, stage=stage,
                                                    documents=documents, reason=reason, detected_at=at)))
            for d in documents:
                key = f"{d['source']}:{d['id']}"
                session.add(DocumentRow(key=key, source=d["source"], upstream_id=d["id"], entity="Document",
                                        kind=kind, title=d["title"], kst=kst, dossier=dossier, date=at.date(),
                                        url=d["url"], content_hash="0" * 64, first_seen=at, last_seen=at))
                session.add(EvidenceRow(slug=slug, document_key=key, stage=stage.value if stage else None,
                                        via="dossier", reason=reason, status="auto", event_id=eid, created_at=at))
            if n % 1000 == 999:
                session.flush()
    return engine
