"""The overdue check: when the latest promise of a commitment passes its deadline unkept, one
`commitment.overdue` event quoting the promise. Never repeated. A deadline that had already passed when
wetwacht was installed (the day its first poll started) is only marked, whenever the check runs: no flood of
alerts after installation. While the installation history is being read (its first day), nothing is decided:
the stage it finds may keep the promise. Days are Dutch calendar days."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from matchers.deadlines import dutch_date
from matchers.events import OVERDUE_EVENT, event_id, event_json
from matchers.stages import DUTCH, Stage, keeps
from storage.catalog_repo import stages_reached
from storage.db import session_scope
from storage.models import CommitmentRow, EventRow, HistoryTaskRow, PromiseRow, SourceStateRow

log = logging.getLogger(__name__)
# How long after the installation the overdue check waits for the installation history (a history that keeps
# failing must not silence overdue alerts for ever).
HISTORY_WAIT = dt.timedelta(days=1)
QueueFn = Callable[[Session, EventRow, CommitmentRow, dt.datetime], None]


def _latest(promises: list[PromiseRow]) -> PromiseRow:
    return max(enumerate(promises), key=lambda ip: (ip[1].letter_date, ip[0]))[1]


def installed_on(session: Session) -> dt.date | None:
    """The Dutch date wetwacht was installed (its first poll started), or None while no source has finished a
    first poll. Installations from before that date was recorded count as installed long ago."""
    done = [s for s in session.exec(select(SourceStateRow)) if s.first_poll_done]
    if not done:
        return None
    known = [s.installed_at for s in done if s.installed_at is not None]
    return dutch_date(min(known)) if known else dt.date.min


def _history_pending(session: Session, now: dt.datetime) -> bool:
    """Whether the installation history is still being read, within its first day."""
    if session.exec(select(HistoryTaskRow.id).where(HistoryTaskRow.status == "pending")).first() is None:
        return False
    started = [s.installed_at for s in session.exec(select(SourceStateRow)) if s.installed_at is not None]
    return bool(started) and now - min(started) < HISTORY_WAIT


def check_overdue(engine: Engine, now: dt.datetime, *, queue: QueueFn | None = None) -> list[str]:
    """Make the overdue events due at `now`; return their ids. Nothing is decided before the installation
    poll is done; deadlines that had passed before the installation day are marked without an event."""
    made: list[str] = []
    today = dutch_date(now)
    with session_scope(engine) as session:
        installed = installed_on(session)
        if installed is None or _history_pending(session, now):
            return made
        reached = stages_reached(session)
        promises: dict[str, list[PromiseRow]] = {}
        for p in session.exec(select(PromiseRow).order_by(col(PromiseRow.id))):
            promises.setdefault(p.slug, []).append(p)
        for slug, plist in promises.items():
            latest = _latest(plist)
            if latest.overdue_notified or latest.due is None or latest.open_ended or today <= latest.due:
                continue
            if keeps(reached.get(slug), Stage(latest.stage)):
                continue
            latest.overdue_notified = True
            session.add(latest)
            if latest.due < installed:  # already past at installation: the flag shows it, no alert
                continue
            commitment = session.get(CommitmentRow, slug)
            if commitment is None:
                continue
            eid = event_id(slug, OVERDUE_EVENT, latest.letter, str(latest.line), latest.quote)
            if session.get(EventRow, eid) is not None:
                continue
            days = (today - latest.due).days
            reason = (f"beloofd in {latest.letter} (regel {latest.line}): “{latest.quote}” — "
                      f"{latest.as_written}, uiterlijk {latest.due.isoformat()}; "
                      f"'{DUTCH[Stage(latest.stage)]}' is niet gezien, {days} dag(en) te laat")
            promise = {"letter": latest.letter, "line": latest.line, "quote": latest.quote,
                       "as_written": latest.as_written, "due": latest.due.isoformat(), "stage": latest.stage}
            payload = event_json(id=eid, type=OVERDUE_EVENT, slug=slug, title=commitment.title,
                                 stage=Stage(latest.stage), documents=[], reason=reason, detected_at=now,
                                 extra={"promise": promise})
            event = EventRow(id=eid, type=OVERDUE_EVENT, slug=slug, stage=latest.stage, detected_at=now,
                             payload=payload)
            session.add(event)
            session.flush()
            if queue is not None:
                queue(session, event, commitment, now)
            made.append(eid)
            log.info("commitment %s overdue since %s: event %s", slug, latest.due, eid)
    return made

