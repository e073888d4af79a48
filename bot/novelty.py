"""Novelty: whether something a source shows is news (it may make events) or the past shown again (it is
stored as history: it can set a commitment's stage and evidence silently, and never makes an event).

Every source shows old things as if they were new: the Tweede Kamer SyncFeed re-emits old entities in bulk
after a data correction, KOOP re-indexes old publications with today's `dt.modified`. And every source shows
new things that look old: a Tweede Kamer document registered yesterday and published into the feed today
carries yesterday's `tk:bijgewerkt`. One timestamp cannot tell them apart; the entity's own content can.

The *horizon* is the moment from which on the record is news: the installation (the start of a source's very
first poll) under ``WETWACHT_START=now``, or the start date of a backfill. Thresholds: `STALE_CHANGE` (how far a
`tk:bijgewerkt` must lie before the entry's `<updated>` for the entity to be an old one shown again; a late
publication lags a day or a few) and `OLD_OWN_DATE` (how far before the horizon an entity's own date must lie).

    source  what was shown                                                     verdict  rule
    ------  -----------------------------------------------------------------  -------  --------------
    both    anything at a source's very first poll under WETWACHT_START=now     history  FIRST_POLL
    both    anything read *because* it is the past: the installation history,  history  READ_AS_HISTORY
            an entity fetched because something refers to it
    both    a change to something already stored                               as first STORED
                                                                               seen
    tk      never seen; its tk:bijgewerkt lies STALE_CHANGE or more before     history  TK_SHOWN_AGAIN
            its Atom <updated> and before the horizon, and its own date
            (Document and DocumentVersie `datum`, Zaak `gestartOp`) lies
            OLD_OWN_DATE or more before the horizon, or its category has no
            own date (Besluit, Kamerstukdossier)
    tk      never seen, otherwise: a late publication (changed a day or days   news     TK_NEW
            before it reached the feed), a recent own date, no tk:bijgewerkt
    ob      never seen; dt.available (its publication day) before the          history  KOOP_REINDEXED
            horizon's day
    ob      never seen; dt.available on or after the horizon's day, whatever   news     KOOP_NEW
            date it carries
    ob      never seen, no dt.available; its own date OLD_OWN_DATE or more     history  KOOP_REINDEXED
            before the horizon (else news, KOOP_NEW)
    ek, ic  never seen: an Eerste Kamer vote, an internetconsultatie (their    news     SITE_NEW
            cursors yield only items they had not shown before, whatever
            their dates: a consultation may reach the list weeks after it
            opened)

Either way a document shown again never moves a stage backwards and never repeats one: stages are forward
only (`matchers.events.event_key`), and what history sets counts as reached.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sources.base import Document, Entity
from sources.syncfeed import parse_tk_date

STALE_CHANGE = dt.timedelta(days=14)
OLD_OWN_DATE = dt.timedelta(days=30)

NEWS = "news"
HISTORY = "history"

# The field that carries a Tweede Kamer entity's own date, by category. Categories without one (Besluit,
# Kamerstukdossier) are judged on their change time alone.
_OWN_DATE = {"Document": "datum", "DocumentVersie": "datum", "Zaak": "gestartOp", "Activiteit": "datum"}


class Rule(StrEnum):
    FIRST_POLL = "first poll under WETWACHT_START=now: what the source already holds is backlog"
    READ_AS_HISTORY = "read as history (installation history, or an entity fetched because something refers to it)"
    STORED = "already stored: keeps what it was when first seen"
    TK_SHOWN_AGAIN = "an old Tweede Kamer entity shown again (its change and its own date lie long before)"
    TK_NEW = "a new Tweede Kamer entity (recent change or recent own date)"
    KOOP_REINDEXED = "a KOOP re-index of a publication from before the horizon"
    KOOP_NEW = "a KOOP publication from the horizon's day on"
    SITE_NEW = "an item of the Eerste Kamer's or internetconsultatie's pages their cursor had not shown"


@dataclass(frozen=True, slots=True)
class Verdict:
    """News or history, and the rule that decided it (for the log and the tests)."""

    origin: str  # NEWS | HISTORY
    rule: Rule

    @property
    def news(self) -> bool:
        return self.origin == NEWS


def _news(rule: Rule) -> Verdict:
    return Verdict(NEWS, rule)


def _history(rule: Rule) -> Verdict:
    return Verdict(HISTORY, rule)


def own_date(entity: Entity) -> dt.date | None:
    """The date a Tweede Kamer entity carries about itself (a document's date, a zaak's start), if any."""
    name = _OWN_DATE.get(entity.category)
    return parse_tk_date(entity.fields.get(name)) if name else None


def tk_entity(entity: Entity, *, horizon: dt.datetime | None) -> Verdict:
    """A Tweede Kamer entity never stored before, read from the feed after the first poll."""
    if horizon is None or entity.changed is None:
        return _news(Rule.TK_NEW)
    if entity.updated - entity.changed < STALE_CHANGE or entity.changed >= horizon:
        return _news(Rule.TK_NEW)
    if entity.category in _OWN_DATE:
        day = own_date(entity)
        if day is None or day > (horizon - OLD_OWN_DATE).date():
            return _news(Rule.TK_NEW)
    return _history(Rule.TK_SHOWN_AGAIN)


def koop_record(doc: Document, *, horizon: dt.datetime | None) -> Verdict:
    """A KOOP record never stored before, read after the first poll."""
    if horizon is None:
        return _news(Rule.KOOP_NEW)
    available = _date(doc.extra.get("available"))
    if available is not None:
        return _history(Rule.KOOP_REINDEXED) if available < horizon.date() else _news(Rule.KOOP_NEW)
    if doc.date is not None and doc.date <= (horizon - OLD_OWN_DATE).date():
        return _history(Rule.KOOP_REINDEXED)
    return _news(Rule.KOOP_NEW)


def record(doc: Document, *, horizon: dt.datetime | None) -> Verdict:
    """A document never stored before, from a source that yields documents (not entities)."""
    if doc.source == "ob":
        return koop_record(doc, horizon=horizon)
    return _news(Rule.SITE_NEW)


def first_poll() -> Verdict:
    return _history(Rule.FIRST_POLL)


def read_as_history() -> Verdict:
    return _history(Rule.READ_AS_HISTORY)


def stored(origin: str) -> Verdict:
    return Verdict(origin if origin in (NEWS, HISTORY) else NEWS, Rule.STORED)


def published_before(doc: Document, horizon: dt.datetime) -> bool:
    """Whether a KOOP record was published before the horizon's day (what the history reader may read: a
    record published from that day on is the polls' to report)."""
    day = _date(doc.extra.get("available")) or doc.date
    return day is not None and day < horizon.date()


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None
