"""The catalog in the database: the files' commitments synced in at start, the maintainers' additions kept
beside them, and the read model the CLI and the bot show (stage reached, due date, overdue).

Repository functions take the session first and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from matchers.catalog_files import fingerprint
from matchers.deadlines import Deadline
from matchers.stages import Stage, furthest, keeps
from storage.models import (
    CommitmentRow,
    DocumentRow,
    EventRow,
    EvidenceRow,
    HistoryTaskRow,
    LinkRow,
    MetaRow,
    PromiseRow,
    TermRow,
)

if TYPE_CHECKING:  # the catalog's parser (YAML, the seeds) is loaded only by what needs it: commands that only
    # read the database start without it
    from matchers.catalog import Catalog, Commitment, Promise

COUNTING_EVIDENCE = ("auto", "confirmed")
# The kinds of history task (`bot.history`): a linked dossier's record, the search for bills without one.
DOSSIER_TASK = "dossier"
SEARCH_TASK = "search"
# Evidence from the record before the installation (or before a dossier was linked): it counts for the stage,
# with no event.
HISTORY_EVIDENCE = "history"


def sync_catalog(session: Session, catalog: Catalog, now: dt.datetime) -> None:
    """Make the database hold the catalog files' commitments, promises and dossier links.

    Idempotent. A promise keeps its `overdue_notified` flag across syncs (matched on letter, line and quote)
    so an overdue alert is never repeated because a file was edited. Maintainers' additions are untouched."""
    rows = {r.slug: r for r in session.exec(select(CommitmentRow)).all()}
    existing_promises: dict[tuple[str, str, int | None, str], PromiseRow] = {
        (p.slug, p.letter, p.line, p.quote): p
        for p in session.exec(select(PromiseRow).where(col(PromiseRow.origin) != "maintainer")).all()
    }
    keep: set[int] = set()
    for c in catalog:
        row = rows.get(c.slug)
        if row is None:
            row = CommitmentRow(slug=c.slug, title=c.title, kind=c.kind.value, ministry=c.ministry,
                                origin=c.origin, notes=c.notes, created_at=now)
        else:
            row.title, row.kind, row.ministry = c.title, c.kind.value, c.ministry
            row.origin, row.notes = c.origin, c.notes
        session.add(row)
    session.flush()
    for c in catalog:
        for p in c.promises:
            prow = existing_promises.get((c.slug, p.letter, p.line, p.quote))
            if prow is None:
                prow = PromiseRow(slug=c.slug, letter=p.letter, letter_date=p.letter_date, line=p.line,
                                  quote=p.quote, stage=p.stage.value, origin=c.origin or p.letter)
            prow.letter_date = p.letter_date
            prow.as_written = p.as_written
            prow.due = p.due
            prow.open_ended = bool(p.deadline and p.deadline.open_ended)
            prow.stage = p.stage.value
            session.add(prow)
            session.flush()
            assert prow.id is not None
            keep.add(prow.id)
        for dossier in c.dossiers:
            link = session.exec(
                select(LinkRow).where(LinkRow.slug == c.slug, LinkRow.kind == "dossier", LinkRow.value == dossier)
            ).first()
            if link is None:
                session.add(LinkRow(slug=c.slug, kind="dossier", value=dossier, origin="catalog",
                                    reason="known identifier in the catalog", changed_at=now))
    for key, prow in existing_promises.items():
        if prow.id not in keep and key[0] in catalog:
            session.delete(prow)
    session.flush()


def catalog_fingerprint() -> str:
    """The fingerprint of the catalog files (`matchers.catalog.fingerprint`) and of the code that syncs them."""
    digest = hashlib.sha256(fingerprint().encode("ascii"))
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def sync_if_changed(session: Session, load: Callable[[], Catalog], now: dt.datetime) -> Catalog | None:
    """Sync the catalog files into the database when they changed since the last sync (their fingerprint is
    kept in the `meta` table). Returns the catalog when it was loaded, None when nothing had changed: a command
    that only reads the database then never parses the files."""
    current = catalog_fingerprint()
    stored = session.get(MetaRow, "catalog")
    if stored is not None and stored.value == current:
        return None
    catalog = load()
    sync_catalog(session, catalog, now)
    session.add(MetaRow(key="catalog", value=current) if stored is None else stored)
    if stored is not None:
        stored.value = current
    session.flush()
    return catalog


def runtime_catalog(session: Session, base: Catalog) -> Catalog:
    """The catalog the matcher uses: the files' commitments plus what maintainers added (commitments,
    aliases, required and excluded words) and every active dossier link."""
    from matchers.catalog import Catalog, Commitment, Kind

    terms: dict[str, dict[str, list[str]]] = {}
    for t in session.exec(select(TermRow)).all():
        terms.setdefault(t.slug, {}).setdefault(t.role, []).append(t.text)
    links: dict[str, list[str]] = {}
    for link in session.exec(select(LinkRow).where(LinkRow.kind == "dossier", col(LinkRow.active))).all():
        links.setdefault(link.slug, []).append(link.value)
    unlinked = {
        (link.slug, link.value)
        for link in session.exec(select(LinkRow).where(LinkRow.kind == "dossier", col(LinkRow.active).is_(False)))
    }
    out: dict[str, Commitment] = {}
    for c in base:
        out[c.slug] = c
    for row in session.exec(select(CommitmentRow).where(CommitmentRow.origin == "maintainer")).all():
        if row.slug in out:
            continue
        promises = tuple(_promise_from_row(p) for p in session.exec(
            select(PromiseRow).where(PromiseRow.slug == row.slug).order_by(col(PromiseRow.id))))
        out[row.slug] = Commitment(slug=row.slug, title=row.title, kind=Kind(row.kind), ministry=row.ministry,
                                   promises=promises, notes=row.notes, origin="maintainer")
    merged: dict[str, Commitment] = {}
    for slug, c in out.items():
        extra = terms.get(slug, {})
        dossiers = [d for d in (*c.dossiers, *links.get(slug, [])) if (slug, d) not in unlinked]
        # Everything else the files say (the record's wording, Rijkswet numbers, an initiative bill) carries over.
        merged[slug] = dataclasses.replace(
            c,
            aliases=_unique((*c.aliases, *extra.get("alias", []))),
            require=_unique((*c.require, *extra.get("require", []))),
            exclude=_unique((*c.exclude, *extra.get("exclude", []))),
            dossiers=_unique(dossiers),
        )
    return Catalog(commitments=merged, files=base.files, letters=base.letters)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _promise_from_row(p: PromiseRow) -> Promise:
    from matchers.catalog import Promise

    deadline = None
    if p.as_written is not None:
        deadline = Deadline(p.as_written, p.due, open_ended=p.open_ended)
    return Promise(letter=p.letter, letter_date=p.letter_date, line=p.line or 0, quote=p.quote,
                   stage=Stage(p.stage), deadline=deadline)


# ------------------------------------------------------------------------------------------ read model


@dataclass(frozen=True, slots=True)
class PromiseView:
    letter: str
    line: int | None
    quote: str
    as_written: str | None
    due: dt.date | None
    open_ended: bool
    stage: Stage
    kept: bool
    overdue: bool


@dataclass(frozen=True, slots=True)
class CommitmentView:
    slug: str
    title: str
    kind: str
    ministry: str
    stage: Stage | None
    due: dt.date | None
    overdue: bool
    dossiers: tuple[str, ...]
    promises: tuple[PromiseView, ...]
    letters: tuple[str, ...]

    def summary(self) -> dict[str, object]:
        """The `commitments --json` item of CONTRACT.md."""
        return {
            "slug": self.slug, "title": self.title, "kind": self.kind, "ministry": self.ministry,
            "stage": self.stage.value if self.stage else None,
            "due": self.due.isoformat() if self.due else None, "overdue": self.overdue,
            "dossiers": list(self.dossiers),
        }


def stages_reached(session: Session) -> dict[str, Stage]:
    """Each commitment's furthest stage with evidence that counts: confident or confirmed with a published
    event, or history (the record before the installation) whose document was not withdrawn."""
    reached: dict[str, list[Stage]] = {}
    live = (
        select(EvidenceRow.slug, EvidenceRow.stage)
        .join(EventRow, col(EventRow.id) == col(EvidenceRow.event_id))
        .where(col(EvidenceRow.status).in_(COUNTING_EVIDENCE), col(EvidenceRow.stage).is_not(None),
               EventRow.status == "published")
    )
    past = (
        select(EvidenceRow.slug, EvidenceRow.stage)
        .join(DocumentRow, col(DocumentRow.key) == col(EvidenceRow.document_key))
        .where(EvidenceRow.status == HISTORY_EVIDENCE, col(EvidenceRow.stage).is_not(None),
               col(DocumentRow.deleted).is_(False))
    )
    for query in (live, past):
        for slug, stage in session.exec(query).all():
            if stage is not None:
                reached.setdefault(slug, []).append(Stage(stage))
    return {slug: s for slug, stages in reached.items() if (s := furthest(stages)) is not None}


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One document of a commitment's history: what the record held before wetwacht followed it."""

    date: dt.date | None
    stage: Stage | None
    source: str
    id: str
    kind: str
    title: str
    url: str | None
    dossier: str | None

    def as_json(self) -> dict[str, object]:
        return {"date": self.date.isoformat() if self.date else None, "stage": self.stage.value if self.stage else None,
                "source": self.source, "id": self.id, "type": self.kind, "title": self.title, "url": self.url,
                "dossier": self.dossier}


def history(session: Session, slug: str) -> list[HistoryItem]:
    """A commitment's history evidence with the documents' dates, oldest first (undated last)."""
    rows = session.exec(
        select(EvidenceRow, DocumentRow).join(DocumentRow, col(DocumentRow.key) == col(EvidenceRow.document_key))
        .where(EvidenceRow.slug == slug, EvidenceRow.status == HISTORY_EVIDENCE, col(DocumentRow.deleted).is_(False))
    ).all()
    items = [HistoryItem(date=d.date, stage=Stage(e.stage) if e.stage else None, source=d.source,
                         id=d.upstream_id, kind=d.kind, title=d.title, url=d.url, dossier=d.dossier)
             for e, d in rows]
    items.sort(key=lambda i: (i.date is None, i.date or dt.date.min, i.source, i.id))
    return items


def commitment_views(session: Session, today: dt.date, slugs: Sequence[str] | None = None) -> list[CommitmentView]:
    """The catalog as people see it, in catalog order (files first, then maintainers' additions)."""
    query = select(CommitmentRow)
    if slugs is not None:
        query = query.where(col(CommitmentRow.slug).in_(slugs))
    rows = session.exec(query).all()
    promises: dict[str, list[PromiseRow]] = {}
    for p in session.exec(select(PromiseRow).order_by(col(PromiseRow.id))).all():
        promises.setdefault(p.slug, []).append(p)
    links: dict[str, list[str]] = {}
    for link in session.exec(select(LinkRow).where(LinkRow.kind == "dossier", col(LinkRow.active)).order_by(
            col(LinkRow.id))).all():
        links.setdefault(link.slug, []).append(link.value)
    reached = stages_reached(session)
    order = {slug: min(p.id or 0 for p in ps) for slug, ps in promises.items()}
    views = [_view(r, promises.get(r.slug, []), links.get(r.slug, []), reached.get(r.slug), today) for r in rows]
    views.sort(key=lambda v: (v.slug not in order, order.get(v.slug, 0), v.slug))
    return views


def _view(row: CommitmentRow, promises: list[PromiseRow], dossiers: list[str], stage: Stage | None,
          today: dt.date) -> CommitmentView:
    pviews = []
    for p in promises:
        promised = Stage(p.stage)
        kept = keeps(stage, promised)
        overdue = (not kept and p.due is not None and not p.open_ended and today > p.due)
        pviews.append(PromiseView(p.letter, p.line, p.quote, p.as_written, p.due, p.open_ended, promised, kept,
                                  overdue))
    latest = max(enumerate(promises), key=lambda ip: (ip[1].letter_date, ip[0]))[1] if promises else None
    latest_view = pviews[promises.index(latest)] if latest is not None else None
    return CommitmentView(
        slug=row.slug, title=row.title, kind=row.kind, ministry=row.ministry, stage=stage,
        due=latest.due if latest else None, overdue=bool(latest_view and latest_view.overdue),
        dossiers=tuple(dict.fromkeys(dossiers)), promises=tuple(pviews),
        letters=tuple(dict.fromkeys(p.letter for p in promises)),
    )


@dataclass(frozen=True)
class HistoryProgress:
    """The history's state for `wetwacht sources`."""

    dossiers: int
    dossiers_done: int
    search: str | None  # pending | done | failed | None (nothing to search for)
    pending: int
    failed: int
    requests: int
    documents: int
    last_error: str | None

    def as_json(self) -> dict[str, object]:
        return {"dossiers": self.dossiers, "dossiers_done": self.dossiers_done, "search": self.search,
                "pending": self.pending, "failed": self.failed, "requests": self.requests,
                "documents": self.documents, "last_error": self.last_error}

    def line(self) -> str:
        search = {"done": "done", "pending": "pending", "failed": "failed", None: "not needed"}.get(
            self.search, str(self.search))
        failed = f", {self.failed} failed" if self.failed else ""
        error = f", last error: {self.last_error}" if self.last_error else ""
        return (f"history: {self.dossiers_done} of {self.dossiers} linked dossiers read{failed}; search for "
                f"bills without a dossier: {search}; {self.documents} documents from {self.requests} requests"
                f"{error}")


def history_progress(session: Session) -> HistoryProgress | None:
    """The history's progress, or None before it ever started."""
    tasks = list(session.exec(select(HistoryTaskRow)))
    if not tasks:
        return None
    dossiers = [t for t in tasks if t.kind == DOSSIER_TASK]
    search = next((t for t in tasks if t.kind == SEARCH_TASK), None)
    errors = [t for t in tasks if t.last_error]
    return HistoryProgress(
        dossiers=len(dossiers), dossiers_done=sum(1 for t in dossiers if t.status == "done"),
        search=search.status if search else None, pending=sum(1 for t in tasks if t.status == "pending"),
        failed=sum(1 for t in tasks if t.status == "failed"), requests=sum(t.requests for t in tasks),
        documents=sum(t.documents for t in tasks),
        last_error=max(errors, key=lambda t: t.id or 0).last_error if errors else None,
    )
