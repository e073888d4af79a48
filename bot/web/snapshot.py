"""The site's reads of the database: the catalog as the site shows it (the read model of
`storage.catalog_repo` with, per commitment, the first date each stage was seen and its status), the events of
the timeline, the feeds and the API, and each source's health. Read-only: nothing here adds, changes or
deletes a row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.web.model import Counts, Verdict, count, fold, verdict
from matchers.catalog import Catalog
from matchers.deadlines import dutch_date
from matchers.stages import Stage
from storage.catalog_repo import (
    COUNTING_EVIDENCE,
    HISTORY_EVIDENCE,
    CommitmentView,
    PromiseView,
    commitment_views,
)
from storage.models import CommitmentRow, DocumentRow, EventRow, EvidenceRow, PromiseRow, SourceStateRow, TermRow

MAINTAINER_LETTER = "telegram"  # the letter of a promise a maintainer added from Telegram
TIMELINE_STATUSES = ("published", "retracted")  # what `wetwacht show` and `wetwacht events` list


def letter_id(letter: str) -> str:
    """The short id of a seed letter in URLs and filters: "003" for "003_1166f54ba1c9bc08.txt"."""
    return letter.split("_", 1)[0] if "_" in letter else letter.removesuffix(".txt")


@dataclass(frozen=True, slots=True)
class Letter:
    id: str
    file: str
    name: str
    date: dt.date | None


@dataclass(frozen=True, slots=True)
class Item:
    """One commitment as the site shows it."""

    view: CommitmentView
    latest: PromiseView | None
    letter_dates: tuple[dt.date, ...]  # per promise, in the order of `view.promises`
    verdict: Verdict
    stage_dates: Mapping[Stage, dt.date]
    aliases: tuple[str, ...]
    letter_ids: tuple[str, ...]
    haystack: str
    maintainer: bool

    @property
    def slug(self) -> str:
        return self.view.slug

    @property
    def reached_on(self) -> dt.date | None:
        stage = self.view.stage
        return self.stage_dates.get(stage) if stage is not None else None


@dataclass(frozen=True)
class Snapshot:
    """Everything catalog-wide the pages need, read in one transaction."""

    today: dt.date
    made_at: dt.datetime
    items: tuple[Item, ...]
    letters: Mapping[str, Letter]  # by short id
    ministries: tuple[str, ...]
    kinds: tuple[str, ...]
    by_slug: Mapping[str, Item] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_slug", {i.slug: i for i in self.items})

    def counts(self, items: Sequence[Item] | None = None) -> Counts:
        return count((i.verdict.status, i.view.stage) for i in (self.items if items is None else items))


def stage_dates(session: Session, slugs: Sequence[str] | None = None) -> dict[str, dict[Stage, dt.date]]:
    """Per commitment, the first day each stage was seen: the earliest date of a document that shows it (the
    record's own date), else the Dutch day it was detected. The same evidence as the read model's stage
    reached (`storage.catalog_repo.stages_reached`): confident or confirmed with a published event, or history
    whose document was not withdrawn."""
    live = (
        select(EvidenceRow.slug, EvidenceRow.stage, func.min(DocumentRow.date), func.min(EventRow.detected_at))
        .join(EventRow, col(EventRow.id) == col(EvidenceRow.event_id))
        .join(DocumentRow, col(DocumentRow.key) == col(EvidenceRow.document_key))
        .where(col(EvidenceRow.status).in_(COUNTING_EVIDENCE), col(EvidenceRow.stage).is_not(None),
               EventRow.status == "published")
        .group_by(col(EvidenceRow.slug), col(EvidenceRow.stage))
    )
    past = (
        select(EvidenceRow.slug, EvidenceRow.stage, func.min(DocumentRow.date), func.min(EvidenceRow.created_at))
        .join(DocumentRow, col(DocumentRow.key) == col(EvidenceRow.document_key))
        .where(EvidenceRow.status == HISTORY_EVIDENCE, col(EvidenceRow.stage).is_not(None),
               col(DocumentRow.deleted).is_(False))
        .group_by(col(EvidenceRow.slug), col(EvidenceRow.stage))
    )
    if slugs is not None:
        live = live.where(col(EvidenceRow.slug).in_(slugs))
        past = past.where(col(EvidenceRow.slug).in_(slugs))
    out: dict[str, dict[Stage, dt.date]] = {}
    for query in (live, past):
        for slug, stage, doc_day, seen in session.exec(query).all():
            if stage is None:
                continue
            day = doc_day if isinstance(doc_day, dt.date) else None
            if day is None and isinstance(seen, dt.datetime):
                day = dutch_date(seen if seen.tzinfo else seen.replace(tzinfo=dt.UTC))
            if day is None:
                continue
            known = out.setdefault(slug, {})
            key = Stage(stage)
            if key not in known or day < known[key]:
                known[key] = day
    return out


def _latest(view: CommitmentView, letter_dates: Sequence[dt.date]) -> PromiseView | None:
    # The read model's rule: the most recent letter, then the later promise in it.
    if not view.promises:
        return None
    index = max(range(len(view.promises)), key=lambda i: (letter_dates[i] if i < len(letter_dates) else dt.date.min,
                                                          i))
    return view.promises[index]


def load_snapshot(session: Session, catalog: Catalog, today: dt.date, now: dt.datetime) -> Snapshot:
    """The catalog as the site shows it on `today`."""
    views = commitment_views(session, today)
    dates: dict[str, list[dt.date]] = {}
    letter_day: dict[str, dt.date] = {}
    for slug, letter, day in session.exec(
            select(col(PromiseRow.slug), col(PromiseRow.letter), col(PromiseRow.letter_date))
            .order_by(col(PromiseRow.id))).all():
        dates.setdefault(slug, []).append(day)
        letter_day.setdefault(letter, day)
    extra_aliases: dict[str, list[str]] = {}
    for slug, text in session.exec(select(TermRow.slug, TermRow.text).where(TermRow.role == "alias")
                                   .order_by(col(TermRow.id))).all():
        extra_aliases.setdefault(slug, []).append(text)
    maintainers = set(session.exec(select(CommitmentRow.slug).where(CommitmentRow.origin == "maintainer")).all())
    reached_dates = stage_dates(session)
    items: list[Item] = []
    for v in views:
        base = catalog.get(v.slug)
        aliases = tuple(dict.fromkeys((*(base.aliases if base else ()), *extra_aliases.get(v.slug, ()))))
        ldates = tuple(dates.get(v.slug, ()))
        latest = _latest(v, ldates)
        sdates = reached_dates.get(v.slug, {})
        haystack = fold(" ".join((v.title, v.slug, *aliases, *v.dossiers)))
        items.append(Item(view=v, latest=latest, letter_dates=ldates, verdict=verdict(v, latest, sdates, today),
                          stage_dates=sdates, aliases=aliases, letter_ids=tuple(letter_id(x) for x in v.letters),
                          haystack=haystack, maintainer=v.slug in maintainers))
    letters: dict[str, Letter] = {}
    for file in sorted({*catalog.letters, *letter_day}):
        lid = letter_id(file)
        name = catalog.letters.get(file) or ("door een beheerder toegevoegd" if file == MAINTAINER_LETTER else file)
        letters[lid] = Letter(lid, file, name, letter_day.get(file))
    ministries = tuple(sorted({v.ministry for v in views}, key=str.casefold))
    kinds = tuple(sorted({v.kind for v in views}))
    return Snapshot(today=today, made_at=now, items=tuple(items), letters=letters, ministries=ministries,
                    kinds=kinds)


# ------------------------------------------------------------------------------------------ events


def timeline(session: Session, slug: str) -> list[EventRow]:
    """A commitment's events as `wetwacht show` lists them: published and retracted, oldest first."""
    return list(session.exec(
        select(EventRow).where(EventRow.slug == slug, col(EventRow.status).in_(TIMELINE_STATUSES))
        .order_by(col(EventRow.detected_at), col(EventRow.id))
    ).all())


def events_since(session: Session, since: dt.datetime | None) -> list[dict[str, Any]]:
    """The events as `wetwacht events --json --since` lists them: published and retracted, oldest first."""
    query = select(EventRow.payload).where(col(EventRow.status).in_(TIMELINE_STATUSES))
    if since is not None:
        query = query.where(col(EventRow.detected_at) >= since)
    return [dict(p) for p in session.exec(query.order_by(col(EventRow.detected_at), col(EventRow.id))).all()]


def recent_events(session: Session, *, slug: str | None = None, ministry: str | None = None,
                  limit: int = 50) -> list[EventRow]:
    """The newest published events (for a feed), newest first: all, one commitment's, or one ministry's."""
    query = select(EventRow).where(EventRow.status == "published")
    if slug is not None:
        query = query.where(EventRow.slug == slug)
    if ministry is not None:
        query = query.join(CommitmentRow, col(CommitmentRow.slug) == col(EventRow.slug)).where(
            CommitmentRow.ministry == ministry)
    return list(session.exec(query.order_by(col(EventRow.detected_at).desc(), col(EventRow.id).desc())
                             .limit(limit)).all())


def source_states(session: Session) -> list[SourceStateRow]:
    return list(session.exec(select(SourceStateRow).order_by(col(SourceStateRow.name))).all())
