"""One poll: read each source forward from its cursor, store what it read, match, make events and queue
their deliveries. Each page — its entities or documents, the evidence and events they make, the outbox rows
of those events, and the source's new cursor — is one transaction: a crash loses nothing and repeats at most
the page it was in, which changes nothing the second time (upserts by id and content hash, stable event ids).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import novelty
from bot.locks import advisory_lock
from matchers.catalog import Catalog
from matchers.engine import Match, match_document
from matchers.events import (
    DOCUMENT_EVENT,
    STAGE_EVENT,
    document_json,
    effective_stage,
    event_json,
    event_key,
    is_opening_document,
)
from matchers.stages import DUTCH, RANK, Stage
from sources.base import Document, Entity, Page, Source, SourceError
from sources.tk_resolve import resolve, version_pending
from storage.catalog_repo import COUNTING_EVIDENCE, HISTORY_EVIDENCE, runtime_catalog, stages_reached
from storage.db import session_scope
from storage.models import (
    AuditRow,
    ChatRow,
    CommitmentRow,
    DeliveryRow,
    DocumentRow,
    EndpointRow,
    EventRow,
    EvidenceRow,
    LinkRow,
    NoticeRow,
    SourceStateRow,
    SubscriptionRow,
    TkEntityRow,
    TkPendingRow,
    TkWaitingRow,
)

log = logging.getLogger(__name__)
# How long a new Tweede Kamer Document waits for its DocumentVersie before it is matched without it. The two
# normally come in the same poll; an hour covers a feed that lags between categories.
PENDING_GRACE = dt.timedelta(hours=1)
# How many polls a missing Tweede Kamer entity is asked for before what waits for it is matched without it.
MAX_FETCH_ATTEMPTS = 24
# At most this many missing entities are fetched in one poll (each is one paced request); the rest wait.
FETCH_BUDGET = 200
# Which relations of a waiting entity must be stored before it can be resolved into its document.
NEEDS: dict[str, tuple[str, ...]] = {
    "Besluit": ("zaak",),
    "Document": ("kamerstukdossier", "zaak"),
    "DocumentVersie": ("document",),
    "Zaak": ("kamerstukdossier",),
}
DOCUMENT_MAKERS = frozenset({"Besluit", "Document", "DocumentVersie"})
Clock = Callable[[], dt.datetime]


@dataclass
class PollResult:
    """What one source's poll did, for the log line and `wetwacht poll`'s exit code."""

    source: str
    ok: bool = True
    pages: int = 0
    requests: int = 0
    items: int = 0
    documents: int = 0
    events: int = 0
    error: str | None = None
    duration_ms: int = 0
    skipped: bool = False
    history: int = 0  # documents stored as history (the past shown again), without events
    fetched: int = 0  # missing entities fetched from the entity endpoint


@dataclass
class _PageContext:
    session: Session
    catalog: Catalog
    reached: dict[str, Stage]
    links: dict[str, frozenset[str]]
    zaken: dict[str, frozenset[str]]
    rejected: frozenset[tuple[str, str]]
    make_events: bool  # False at a source's very first poll under WETWACHT_START=now: everything is backlog
    now: dt.datetime
    events: int = 0
    horizon: dt.datetime | None = None  # from when on the record is news (bot.novelty)
    fetched: bool = False  # the entities being stored were fetched because something refers to them
    can_fetch: bool = False  # the source can fetch a missing entity (so what refers to one waits for it)
    entity_cache: dict[str, Entity | None] = field(default_factory=dict)
    history: int = 0
    shown_again: int = 0
    doubtful: list[tuple[Document, Match]] = field(default_factory=list)  # doubtful matches read as history


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _document_hash(doc: Document) -> str:
    # What matters for alerts. `modified` is left out on purpose: a data correction re-emits old entities
    # with a new timestamp and nothing else changed, and that must not alert again.
    return _hash([doc.kind, doc.title, doc.entity, doc.kst, doc.dossier, doc.ondernummer, doc.zaak, doc.chamber,
                  doc.date, doc.url, doc.deleted, dict(doc.extra)])


def _entity_hash(entity: Entity) -> str:
    return _hash([entity.category, entity.deleted, dict(entity.fields), {k: list(v) for k, v in entity.refs.items()}])


def _entity_from_row(row: TkEntityRow) -> Entity:
    return Entity(category=row.category, guid=row.guid, updated=row.updated, deleted=row.deleted,
                  fields=dict(row.fields), refs={k: tuple(v) for k, v in row.refs.items()})


def document_from_row(row: DocumentRow) -> Document:
    """The stored document as the matcher sees it."""
    return Document(source=row.source, id=row.upstream_id, kind=row.kind, title=row.title,  # type: ignore[arg-type]
                    entity=row.entity, guid=row.guid, kst=row.kst, dossier=row.dossier, ondernummer=row.ondernummer,
                    zaak=row.zaak, chamber=row.chamber, date=row.date,  # type: ignore[arg-type]
                    modified=row.modified, url=row.url, deleted=row.deleted, extra=dict(row.extra))


class Pipeline:
    """Polls sources into the database. `maintainers` receive doubtful matches for review."""

    def __init__(self, engine: Engine, base_catalog: Catalog, *, start: str | dt.date = "now",
                 clock: Clock | None = None, maintainers: Iterable[int] = (), alert_after: int = 3) -> None:
        self.engine = engine
        self.alert_after = alert_after
        self.base_catalog = base_catalog
        self.start = start
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.maintainers = tuple(sorted(maintainers))

    # ----------------------------------------------------------------------------------------- polling

    async def poll(self, sources: Iterable[Source]) -> list[PollResult]:
        """Poll every source once; a failing source does not stop the others."""
        return [await self.poll_source(source) for source in sources]

    async def poll_source(self, source: Source) -> PollResult:
        """Poll one source, unless another replica is polling it right now (then `skipped`)."""
        with advisory_lock(self.engine, f"source:{source.name}") as mine:
            if not mine:
                log.info("poll %s skipped: another replica is polling it", source.name)
                return PollResult(source=source.name, skipped=True)
            return await self._poll_source(source)

    def horizon(self, installed_at: dt.datetime | None) -> dt.datetime | None:
        """From when on a source's record is news: its installation under WETWACHT_START=now (None before
        the first poll is over), or the start date of a backfill (bot.novelty)."""
        if self.start == "now":
            return installed_at
        start = self.start if isinstance(self.start, dt.date) else dt.date.fromisoformat(str(self.start))
        return dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)

    async def _poll_source(self, source: Source) -> PollResult:
        result = PollResult(source=source.name)
        started = time.monotonic()
        with session_scope(self.engine) as session:
            state = session.get(SourceStateRow, source.name) or SourceStateRow(name=source.name)
            cursor = state.cursor
            first_poll = not state.first_poll_done
            installed_at = state.installed_at
            poll_started = self.clock()
            state.last_attempt_at = poll_started
            session.add(state)
        # Under WETWACHT_START=now whatever a source holds at its very first poll is backlog: no events.
        make_events = not (first_poll and self.start == "now")
        if first_poll:
            log.info("installing source %s: %s", source.name,
                     "what it holds now is backlog (no events); what it publishes from now on is news"
                     if self.start == "now" else f"reading everything since {self.start} as news (a backfill)")
        horizon = self.horizon(installed_at or (poll_started if make_events else None))
        try:
            can_fetch = getattr(source, "entity", None) is not None
            async for page in source.pages(cursor):
                self._ingest(source.name, page, make_events, horizon, result, can_fetch=can_fetch)
        except SourceError as exc:
            result.ok = False
            result.error = f"{type(exc).__name__}: {exc}"
            log.warning("poll %s failed after %d pages: %s", source.name, result.pages, result.error)
        if result.ok and make_events and source.name == "tk":  # under the tk lock: one replica at a time
            await self._fetch_missing(source, horizon, result)
            self._release_pending(result)
        result.duration_ms = int((time.monotonic() - started) * 1000)
        with session_scope(self.engine) as session:
            state = session.get(SourceStateRow, source.name) or SourceStateRow(name=source.name)
            if result.ok:
                state.last_success_at = self.clock()
                state.consecutive_failures = 0
                state.last_error = None
                state.first_poll_done = True
                if state.installed_at is None:
                    state.installed_at = poll_started
            else:
                state.consecutive_failures += 1
                state.last_error = result.error
            state.last_requests = result.requests
            state.last_items = result.items
            state.last_duration_ms = result.duration_ms
            self._health_notice(session, state)
            session.add(state)
        log.info("poll %s ok=%s pages=%d requests=%d items=%d documents=%d events=%d history=%d fetched=%d ms=%d",
                 source.name, result.ok, result.pages, result.requests, result.items, result.documents,
                 result.events, result.history, result.fetched, result.duration_ms)
        return result

    def _health_notice(self, session: Session, state: SourceStateRow) -> None:
        """Tell the maintainers once when a source has failed `alert_after` times in a row (silence must not
        pass for "nothing happened"), and once more when it recovers."""
        now = self.clock()
        if state.consecutive_failures >= self.alert_after and not state.down_notified:
            since = state.last_success_at.isoformat(timespec="minutes") if state.last_success_at else "never"
            text = (f"Bron {state.name} faalt: {state.consecutive_failures} pogingen op rij mislukt; laatste "
                    f"succes: {since}. Laatste fout: {state.last_error}. Zolang dit duurt komen er geen "
                    "meldingen uit deze bron; er gaat niets verloren, de volgende geslaagde poll haalt alles in.")
            kind = "source.failing"
            state.down_notified = True
        elif state.consecutive_failures == 0 and state.down_notified:
            text = f"Bron {state.name} werkt weer; de achterstand is ingehaald."
            kind = "source.recovered"
            state.down_notified = False
        else:
            return
        log.warning("notice %s: %s", kind, text)
        for user_id in self.maintainers:
            session.add(NoticeRow(kind=kind, subject=state.name, text=text, recipient=str(user_id), created_at=now))

    def _ingest(self, name: str, page: Page, make_events: bool, horizon: dt.datetime | None,
                result: PollResult, *, can_fetch: bool = False) -> None:
        with session_scope(self.engine) as session:
            ctx = self._context(session, make_events)
            ctx.horizon = horizon
            ctx.can_fetch = can_fetch and make_events
            documents: list[tuple[Document, str | None]] = [(doc, None) for doc in page.documents]
            if page.entities:
                documents.extend(self._store_entities(ctx, page.entities))
            for doc, origin in documents:
                if origin is None:
                    origin = self._document_origin(ctx, doc)
                stored = self._store_document(ctx, doc, origin)
                if stored is not None:
                    result.documents += 1
                    self._match(ctx, doc, news=stored == novelty.NEWS and ctx.make_events)
            state = session.get(SourceStateRow, name) or SourceStateRow(name=name)
            state.cursor = page.cursor
            session.add(state)
        if ctx.shown_again:
            log.info("%d entities never seen before but old by their own dates (a re-emission of old data): "
                     "stored as history, without events", ctx.shown_again)
        result.pages += 1
        result.requests += page.requests
        result.items += len(page.entities) + len(page.documents)
        result.events += ctx.events
        result.history += ctx.history

    def _document_origin(self, ctx: _PageContext, doc: Document) -> str:
        """News or history for a document a source yields itself (KOOP, the Eerste Kamer, internetconsultatie)."""
        if not ctx.make_events:
            return novelty.first_poll().origin
        row = ctx.session.get(DocumentRow, doc.key)
        if row is not None:
            return novelty.stored(row.origin).origin
        return novelty.record(doc, horizon=ctx.horizon).origin

    def ingest_history(self, session: Session, documents: Iterable[Document], *,
                       search: bool = False) -> tuple[int, list[tuple[Document, Match]]]:
        """Documents read as history (the installation history of `bot.history`): stored (one already stored
        keeps its origin) and matched again whether or not they changed, since the dossier may have become
        linked to another commitment since. Confident matches are history evidence (the stage, silently).
        Returns how many documents were kept and the doubtful matches. With `search`, nothing is learned or
        recorded: every match is returned, for the search to decide which dossiers it may learn."""
        ctx = self._context(session, make_events=False)
        kept = 0
        found: list[tuple[Document, Match]] = []
        for doc in documents:
            self._store_document(ctx, doc, novelty.read_as_history().origin)
            if doc.deleted:
                continue
            kept += 1
            self._match(ctx, doc, news=False, collect=found if search else None)
        return kept, found if search else ctx.doubtful

    def learn(self, session: Session, doc: Document, m: Match, why: str) -> None:
        """Link `m.learn_dossier` to `m.slug` (as a confident live match would), saying why."""
        ctx = self._context(session, make_events=False)
        self._learn(ctx, doc, dataclasses.replace(m, reason=f"{why}: {m.reason}"))

    def _context(self, session: Session, make_events: bool) -> _PageContext:
        catalog = runtime_catalog(session, self.base_catalog)
        links: dict[str, set[str]] = {}
        zaken: dict[str, set[str]] = {}
        for link in session.exec(select(LinkRow).where(col(LinkRow.active))).all():
            (links if link.kind == "dossier" else zaken).setdefault(link.value, set()).add(link.slug)
        rejected = frozenset(
            (e.slug, e.document_key) for e in session.exec(select(EvidenceRow).where(EvidenceRow.status == "rejected"))
        )
        return _PageContext(
            session=session, catalog=catalog, reached=stages_reached(session),
            links={k: frozenset(v) for k, v in links.items()}, zaken={k: frozenset(v) for k, v in zaken.items()},
            rejected=rejected, make_events=make_events, now=self.clock(),
        )

    # ------------------------------------------------------------------------------------ entities (TK)

    def _entity_origin(self, ctx: _PageContext, entity: Entity) -> str:
        if ctx.fetched:
            return novelty.read_as_history().origin
        if not ctx.make_events:
            return novelty.first_poll().origin
        verdict = novelty.tk_entity(entity, horizon=ctx.horizon)
        if not verdict.news and not entity.deleted:
            ctx.shown_again += 1
        return verdict.origin

    def _store_entities(self, ctx: _PageContext, entities: Iterable[Entity]) -> list[tuple[Document, str | None]]:
        """Upsert SyncFeed entities; return the documents whose entity changed in a way that matters, with
        their origin (news or history). A re-emitted entity with the same content (a bulk data correction)
        changes nothing. An entity that refers to one never stored (a vote on a zaak from before the
        installation) waits for it: `_fetch_missing` fetches it in the same poll, or it arrives later."""
        changed: list[Entity] = []
        new: set[str] = set()
        for entity in entities:
            row = ctx.session.get(TkEntityRow, entity.guid)
            digest = _entity_hash(entity)
            if row is not None and row.content_hash == digest:
                continue
            if row is None:
                new.add(entity.guid)
                row = TkEntityRow(guid=entity.guid, category=entity.category, updated=entity.updated,
                                  content_hash=digest, origin=self._entity_origin(ctx, entity))
            if entity.deleted:
                # A delete marker carries no body: keep the last known fields so the document can still be
                # identified (and its event marked retracted).
                row.deleted = True
            else:
                row.deleted = False
                row.fields = dict(entity.fields)
                row.refs = {k: list(v) for k, v in entity.refs.items()}
            row.category = entity.category
            row.updated = entity.updated
            row.content_hash = digest
            ctx.session.add(row)
            ctx.entity_cache[entity.guid] = _entity_from_row(row)
            changed.append(ctx.entity_cache[entity.guid])  # type: ignore[arg-type]
        ctx.session.flush()
        ready = self._arrived(ctx, [e.guid for e in changed])
        for entity in changed:
            if entity.category in DOCUMENT_MAKERS and not entity.deleted and ctx.can_fetch and \
                    self._wait_for_missing(ctx, entity):
                ready.pop(entity.guid, None)
                continue
            if entity.category in DOCUMENT_MAKERS:
                ready.setdefault(entity.guid, entity)
        documents: list[tuple[Document, str | None]] = []
        for entity in ready.values():
            if entity.category == "Document" and entity.guid in new and version_pending(entity, self._lookup_in(ctx)):
                # A new Document's version (which carries its kst id) comes in the next category of the
                # same poll, and resolves it then. Resolved now, it would lack its Kamerstuk identity and its
                # KOOP twin could not join its event: one real-world event would become two. If the version
                # never comes, `_release_pending` matches the document as it is after PENDING_GRACE.
                if ctx.make_events and ctx.session.get(TkPendingRow, entity.guid) is None and \
                        self._origin_of(ctx, entity.guid) == novelty.NEWS:
                    ctx.session.add(TkPendingRow(guid=entity.guid, since=ctx.now))
                continue
            if self._waiting(ctx, self._subject(ctx, entity)):
                continue  # its document waits for something else it refers to
            doc = resolve(entity, self._lookup_in(ctx))
            if doc is None:
                continue
            documents.append((doc, self._origin_of(ctx, doc.guid or entity.guid)))
            if doc.guid and (pending := ctx.session.get(TkPendingRow, doc.guid)) is not None:
                ctx.session.delete(pending)  # its version came (or the document changed): resolved now
        return documents

    def _lookup_in(self, ctx: _PageContext) -> Callable[[str], Entity | None]:
        return lambda guid: self._lookup(ctx, guid)

    def _origin_of(self, ctx: _PageContext, guid: str) -> str:
        """The origin of a document made from entity `guid`: the document's when it is stored (it keeps what
        it was when first seen), else its entity's."""
        row = ctx.session.get(TkEntityRow, guid)
        return row.origin if row is not None else novelty.NEWS

    def _subject(self, ctx: _PageContext, entity: Entity) -> str:
        """The entity whose document `entity` makes: a DocumentVersie makes its Document's."""
        if entity.category == "DocumentVersie":
            parents = entity.refs.get("document", ())
            return parents[0] if parents else entity.guid
        return entity.guid

    @staticmethod
    def _waiting(ctx: _PageContext, guid: str) -> bool:
        return ctx.session.exec(select(TkWaitingRow).where(TkWaitingRow.waiter == guid)).first() is not None

    def _missing_refs(self, ctx: _PageContext, entity: Entity) -> list[str]:
        missing = []
        for relation in NEEDS.get(entity.category, ()):
            for guid in entity.refs.get(relation, ()):
                if self._lookup(ctx, guid) is None:
                    missing.append(guid)
        return missing

    def _wait_for_missing(self, ctx: _PageContext, entity: Entity) -> bool:
        """Record what `entity` refers to and wetwacht has never stored; True when it must wait."""
        missing = self._missing_refs(ctx, entity)
        for guid in missing:
            if ctx.session.get(TkWaitingRow, (guid, entity.guid)) is None:
                ctx.session.add(TkWaitingRow(missing=guid, waiter=entity.guid, since=ctx.now))
        if missing:
            ctx.session.flush()
        return bool(missing)

    def _arrived(self, ctx: _PageContext, guids: Iterable[str]) -> dict[str, Entity]:
        """Entities that were waited for are stored now: what waited for them waits for what *they* refer to
        (a zaak's dossier), or is ready. Returns the ready waiters."""
        ready: dict[str, Entity] = {}
        for guid in guids:
            rows = list(ctx.session.exec(select(TkWaitingRow).where(TkWaitingRow.missing == guid)))
            if not rows:
                continue
            arrived = self._lookup(ctx, guid)
            further = self._missing_refs(ctx, arrived) if arrived is not None and not arrived.deleted else []
            for row in rows:
                ctx.session.delete(row)
                for other in further:
                    if ctx.session.get(TkWaitingRow, (other, row.waiter)) is None:
                        ctx.session.add(TkWaitingRow(missing=other, waiter=row.waiter, since=row.since))
            ctx.session.flush()
            for row in rows:
                if not self._waiting(ctx, row.waiter) and (waiter := self._lookup(ctx, row.waiter)) is not None:
                    ready[waiter.guid] = waiter
        return ready

    async def _fetch_missing(self, source: Source, horizon: dt.datetime | None, result: PollResult) -> None:
        """Fetch, from the SyncFeed entity endpoint, the entities that stored ones refer to and wetwacht has
        never seen (a zaak from before the installation, its dossier), store them as history and resolve what
        waited for them, in the same poll. A failed fetch (an error, or an entity the endpoint does not know
        yet) stays pending for the next poll, and an entity that arrives in the feed meanwhile resolves what
        waited for it; after `MAX_FETCH_ATTEMPTS` polls the waiters are matched as they are."""
        fetch_entity = getattr(source, "entity", None)
        if fetch_entity is None:
            return
        budget = FETCH_BUDGET
        failed: set[str] = set()
        while budget > 0:
            with session_scope(self.engine) as session:
                wanted = [guid for guid in session.exec(
                    select(TkWaitingRow.missing).distinct().order_by(col(TkWaitingRow.missing)))
                    if guid not in failed][:budget]
            if not wanted:
                return
            for guid in wanted:
                budget -= 1
                entity: Entity | None = None
                error: str | None = None
                try:
                    entity = await fetch_entity(guid)
                    if entity is None:  # not (yet) published there: it may still arrive in the feed
                        error = f"the entity endpoint does not know {guid} (404)"
                except SourceError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                result.requests += 1
                with session_scope(self.engine) as session:
                    ctx = self._context(session, make_events=True)
                    ctx.horizon = horizon
                    ctx.can_fetch = True
                    if error is not None:
                        failed.add(guid)
                        if self._fetch_failed(ctx, guid, error):
                            continue
                        entity = None  # asked too often: release its waiters as they are
                    if entity is None:
                        documents = self._release_waiters(ctx, guid)
                    else:
                        result.fetched += 1
                        ctx.fetched = True
                        documents = self._store_entities(ctx, [entity])
                        ctx.fetched = False
                    for doc, origin in documents:
                        stored = self._store_document(ctx, doc, origin or novelty.NEWS)
                        if stored is not None:
                            result.documents += 1
                            self._match(ctx, doc, news=stored == novelty.NEWS)
                    result.events += ctx.events
                    result.history += ctx.history

    def _fetch_failed(self, ctx: _PageContext, guid: str, error: str) -> bool:
        """Count a failed fetch; True while it will be tried again at the next poll."""
        rows = list(ctx.session.exec(select(TkWaitingRow).where(TkWaitingRow.missing == guid)))
        attempts = max((r.attempts for r in rows), default=0) + 1
        for row in rows:
            row.attempts, row.last_error = attempts, error
            ctx.session.add(row)
        if attempts < MAX_FETCH_ATTEMPTS:
            log.warning("Tweede Kamer entity %s could not be fetched (attempt %d of %d, again at the next poll): "
                        "%s", guid, attempts, MAX_FETCH_ATTEMPTS, error)
            return True
        log.warning("Tweede Kamer entity %s could not be fetched %d times: what waits for it is matched without "
                    "it. Last error: %s", guid, attempts, error)
        return False

    def _release_waiters(self, ctx: _PageContext, guid: str) -> list[tuple[Document, str | None]]:
        """The entity endpoint does not know `guid` (or gave up on it): its waiters resolve as they are."""
        rows = list(ctx.session.exec(select(TkWaitingRow).where(TkWaitingRow.missing == guid)))
        for row in rows:
            ctx.session.delete(row)
        ctx.session.flush()
        log.info("Tweede Kamer entity %s is not available; %d entities that refer to it are matched without it",
                 guid, len(rows))
        documents: list[tuple[Document, str | None]] = []
        for row in rows:
            waiter = self._lookup(ctx, row.waiter)
            if waiter is None or self._waiting(ctx, row.waiter) or self._waiting(ctx, self._subject(ctx, waiter)):
                continue
            doc = resolve(waiter, self._lookup_in(ctx))
            if doc is not None:
                documents.append((doc, self._origin_of(ctx, doc.guid or waiter.guid)))
        return documents

    def _release_pending(self, result: PollResult) -> None:
        """After a poll that read every category to its head: the new Documents that have waited PENDING_GRACE
        for their DocumentVersie are matched as they are (without the kst id), rather than never."""
        cutoff = self.clock() - PENDING_GRACE
        with session_scope(self.engine) as session:
            due = list(session.exec(select(TkPendingRow).where(col(TkPendingRow.since) <= cutoff)))
            if not due:
                return
            ctx = self._context(session, make_events=True)
            released = 0
            for pending in due:
                session.delete(pending)
                entity = self._lookup(ctx, pending.guid)
                if entity is None:
                    continue
                doc = resolve(entity, lambda guid: self._lookup(ctx, guid))
                if doc is None:
                    continue
                stored = self._store_document(ctx, doc, self._origin_of(ctx, entity.guid))
                if stored is not None:
                    released += 1
                    result.documents += 1
                    self._match(ctx, doc, news=stored == novelty.NEWS)
            result.events += ctx.events
        log.warning("%d of %d waiting Tweede Kamer document(s) matched without their DocumentVersie, which "
                    "did not come within %s", released, len(due), PENDING_GRACE)

    def _lookup(self, ctx: _PageContext, guid: str) -> Entity | None:
        if guid not in ctx.entity_cache:
            row = ctx.session.get(TkEntityRow, guid)
            ctx.entity_cache[guid] = _entity_from_row(row) if row is not None else None
        return ctx.entity_cache[guid]

    # ------------------------------------------------------------------------------------- documents

    def _store_document(self, ctx: _PageContext, doc: Document, origin: str) -> str | None:
        """Upsert a document. Returns its origin (news or history: what it was when first seen, `origin`
        for a new one) when it is new or changed in a way that matters, else None."""
        digest = _document_hash(doc)
        row = ctx.session.get(DocumentRow, doc.key)
        if row is not None and row.content_hash == digest:
            row.last_seen = ctx.now
            ctx.session.add(row)
            return None
        was_deleted = row.deleted if row is not None else False
        if row is None:
            row = DocumentRow(key=doc.key, source=doc.source, upstream_id=doc.id, entity=doc.entity,
                              kind=doc.kind, title=doc.title, content_hash=digest, first_seen=ctx.now,
                              last_seen=ctx.now, origin=origin)
        row.guid, row.entity, row.kind, row.title = doc.guid, doc.entity, doc.kind, doc.title
        row.kst, row.dossier, row.ondernummer, row.zaak = doc.kst, doc.dossier, doc.ondernummer, doc.zaak
        row.chamber, row.date, row.modified, row.url = doc.chamber, doc.date, doc.modified, doc.url
        row.deleted, row.extra, row.content_hash, row.last_seen = doc.deleted, dict(doc.extra), digest, ctx.now
        ctx.session.add(row)
        ctx.session.flush()
        if doc.deleted and not was_deleted:
            self._retract(ctx, doc)
            return None
        if doc.deleted:
            return None
        if row.origin == novelty.HISTORY:
            ctx.history += 1
        return row.origin

    def _retract(self, ctx: _PageContext, doc: Document) -> None:
        """A document was withdrawn upstream. An event all of whose documents are withdrawn is retracted: it
        no longer counts for the stage, and deliveries not yet sent are cancelled. Sent alerts stay sent."""
        event_ids = {e.event_id for e in ctx.session.exec(
            select(EvidenceRow).where(EvidenceRow.document_key == doc.key)) if e.event_id}
        for eid in event_ids:
            keys = [e.document_key for e in ctx.session.exec(select(EvidenceRow).where(EvidenceRow.event_id == eid))]
            rows = [ctx.session.get(DocumentRow, k) for k in keys]
            if all(r is None or r.deleted for r in rows):
                event = ctx.session.get(EventRow, eid)
                if event is not None and event.status in ("published", "pending"):
                    event.status = "retracted"
                    ctx.session.add(event)
                    for d in ctx.session.exec(select(DeliveryRow).where(
                            DeliveryRow.event_id == eid, DeliveryRow.status == "pending")):
                        d.status = "skipped"
                        d.last_error = "event retracted: its documents were withdrawn upstream"
                        ctx.session.add(d)
                    log.info("event %s retracted: document %s withdrawn upstream", eid, doc.key)
        ctx.reached = stages_reached(ctx.session)

    # -------------------------------------------------------------------------------------- matching

    def _twins(self, ctx: _PageContext, doc: Document) -> dict[str, dict[str, Stage | None]]:
        """What the other record of the same Kamerstuk (same kst id) was matched to, with the stage it showed:
        the TK document and its KOOP record are one thing, whichever words each carries."""
        if not doc.kst:
            return {}
        rows = ctx.session.exec(
            select(EvidenceRow).join(DocumentRow, col(DocumentRow.key) == col(EvidenceRow.document_key))
            .where(DocumentRow.kst == doc.kst, DocumentRow.key != doc.key,
                   col(EvidenceRow.status).in_((*COUNTING_EVIDENCE, HISTORY_EVIDENCE)))
        ).all()
        found: dict[str, Stage | None] = {}
        for ev in rows:
            found.setdefault(ev.slug, Stage(ev.stage) if ev.stage else None)
        return {doc.kst: found} if found else {}

    def _match(self, ctx: _PageContext, doc: Document, *, news: bool,
               collect: list[tuple[Document, Match]] | None = None) -> None:
        """Match a stored document. News makes evidence and events; history (backlog, the past shown again,
        the installation history) makes evidence that sets the stage silently, confident matches only. With
        `collect`, the matches are only collected."""
        matches = match_document(doc, ctx.catalog, ctx.links, ctx.zaken, ctx.rejected, self._twins(ctx, doc))
        for m in matches:
            if (m.slug, doc.key) in ctx.rejected:
                continue
            if collect is not None:
                collect.append((doc, m))
                continue
            self._learn(ctx, doc, m)
            if news:
                self._evidence_and_event(ctx, doc, m)
            else:
                self._history_evidence(ctx, doc, m)

    def _history_evidence(self, ctx: _PageContext, doc: Document, m: Match) -> None:
        """Evidence from the past: it counts for the stage (forward only: the furthest stage wins) and shows
        in `wetwacht show`, with no event and no delivery. A doubtful match is kept for the maintainers."""
        if not m.confident:
            ctx.doubtful.append((doc, m))
            return
        session = ctx.session
        exists = session.exec(select(EvidenceRow).where(
            EvidenceRow.slug == m.slug, EvidenceRow.document_key == doc.key)).first()
        if exists is not None or session.get(CommitmentRow, m.slug) is None:
            return
        stage = effective_stage(doc, m.stage)
        session.add(EvidenceRow(slug=m.slug, document_key=doc.key, stage=stage.value if stage else None,
                                via=m.via, score=m.score, reason=m.reason, status=HISTORY_EVIDENCE, event_id=None,
                                created_at=ctx.now))
        session.flush()
        current = ctx.reached.get(m.slug)
        if stage is not None and (current is None or RANK[stage] > RANK[current]):
            ctx.reached[m.slug] = stage

    def _learn(self, ctx: _PageContext, doc: Document, m: Match) -> None:
        if not m.learn_dossier or not m.confident:
            return
        exists = ctx.session.exec(select(LinkRow).where(
            LinkRow.slug == m.slug, LinkRow.kind == "dossier", LinkRow.value == m.learn_dossier)).first()
        if exists is not None:
            return
        reason = f"learned from {doc.key} ({doc.kind}): {m.reason}"
        ctx.session.add(LinkRow(slug=m.slug, kind="dossier", value=m.learn_dossier, origin="learned",
                                reason=reason, changed_at=ctx.now))
        ctx.session.add(AuditRow(at=ctx.now, actor="matcher", action="link", slug=m.slug,
                                 detail=f"dossier {m.learn_dossier}: {reason}"))
        ctx.links = {**ctx.links, m.learn_dossier: ctx.links.get(m.learn_dossier, frozenset()) | {m.slug}}

    def _evidence_and_event(self, ctx: _PageContext, doc: Document, m: Match) -> None:
        session = ctx.session
        evidence = session.exec(select(EvidenceRow).where(
            EvidenceRow.slug == m.slug, EvidenceRow.document_key == doc.key)).first()
        if evidence is not None:
            # Already evidence (a correction, a re-emission, a version adding its kst id): no second event,
            # but the event shows the document as it is now.
            if evidence.event_id:
                known = session.get(EventRow, evidence.event_id)
                if known is not None:
                    self._add_document(known, doc)
                    session.add(known)
            return
        stage = effective_stage(doc, m.stage)
        commitment = session.get(CommitmentRow, m.slug)
        if commitment is None:
            return
        # The TK document and the KOOP record of one Kamerstuk are one thing: join the existing event.
        event: EventRow | None = None
        if doc.kst:
            twin = session.exec(
                select(EvidenceRow).join(DocumentRow, col(DocumentRow.key) == col(EvidenceRow.document_key))
                .where(EvidenceRow.slug == m.slug, DocumentRow.kst == doc.kst, col(EvidenceRow.event_id).is_not(None))
            ).first()
            if twin is not None and twin.event_id:
                event = session.get(EventRow, twin.event_id)
        status = "auto" if m.confident else "pending"
        if event is None and stage is Stage.INGEDIEND and is_opening_document(doc):
            # The documents that open a bill (boodschap, voorstel, memorie, advies with nader rapport) are one
            # submission: a later one of them joins the `ingediend` event of its dossier.
            submission = session.get(EventRow, event_key(m.slug, doc, stage, None).id)
            if submission is not None and submission.status != "retracted":
                event = submission
        if event is None:
            key = event_key(m.slug, doc, stage, ctx.reached.get(m.slug))
            event = session.get(EventRow, key.id)
            if event is None:
                event = self._new_event(ctx, commitment, key.id, key.type, key.stage, doc, m, status)
        if event.status == "pending" and m.confident:
            event.status = "published"  # a confident document confirms a doubtful event
            self._queue(ctx, event, commitment)
        self._add_document(event, doc)
        session.add(event)
        session.add(EvidenceRow(slug=m.slug, document_key=doc.key, stage=stage.value if stage else None,
                                via=m.via, score=m.score, reason=m.reason, status=status, event_id=event.id,
                                created_at=ctx.now))
        session.flush()
        if event.status == "published" and event.stage and event.type == STAGE_EVENT:
            current = ctx.reached.get(m.slug)
            new = Stage(event.stage)
            if current is None or RANK[new] >= RANK[current]:
                ctx.reached[m.slug] = new

    def _new_event(self, ctx: _PageContext, commitment: CommitmentRow, eid: str, etype: str, stage: Stage | None,
                   doc: Document, m: Match, status: str) -> EventRow:
        shown_stage = stage if etype == STAGE_EVENT else ctx.reached.get(commitment.slug)
        reason = m.reason
        if etype == DOCUMENT_EVENT and m.stage is not None:
            reason = f"{reason}; the commitment had already reached '{DUTCH[ctx.reached[commitment.slug]]}'" \
                if commitment.slug in ctx.reached else reason
        payload = event_json(id=eid, type=etype, slug=commitment.slug, title=commitment.title, stage=shown_stage,
                             documents=[], reason=reason, detected_at=ctx.now)
        event = EventRow(id=eid, type=etype, slug=commitment.slug, stage=shown_stage.value if shown_stage else None,
                         detected_at=ctx.now, status="published" if status == "auto" else "pending", payload=payload)
        ctx.session.add(event)
        ctx.session.flush()
        ctx.events += 1
        if event.status == "published":
            self._queue(ctx, event, commitment)
        else:
            self._queue_review(ctx, event)
        return event

    @staticmethod
    def _add_document(event: EventRow, doc: Document) -> None:
        documents = list(event.payload.get("documents", []))
        entry = document_json(doc)
        same = [i for i, d in enumerate(documents) if d.get("source") == doc.source and d.get("id") == doc.id]
        if same:
            documents[same[0]] = entry
        else:
            documents.append(entry)
        event.payload = {**event.payload, "documents": documents}

    # ---------------------------------------------------------------------------------------- outbox

    def _queue(self, ctx: _PageContext, event: EventRow, commitment: CommitmentRow) -> None:
        queue_deliveries(ctx.session, event, commitment, ctx.now)

    def _queue_review(self, ctx: _PageContext, event: EventRow) -> None:
        """A doubtful match goes to the maintainers first, with confirm and reject buttons."""
        for user_id in self.maintainers:
            self._delivery(ctx.session, event.id, "review", str(user_id), "pending", ctx.now)

    @staticmethod
    def _delivery(session: Session, event_id: str, channel: str, recipient: str, status: str,
                  now: dt.datetime) -> None:
        add_delivery(session, event_id, channel, recipient, status, now)


def add_delivery(session: Session, event_id: str, channel: str, recipient: str, status: str,
                 now: dt.datetime) -> None:
    """One outbox row, once: the (event, channel, recipient) triple is unique."""
    exists = session.exec(select(DeliveryRow).where(
        DeliveryRow.event_id == event_id, DeliveryRow.channel == channel, DeliveryRow.recipient == recipient)).first()
    if exists is None:
        session.add(DeliveryRow(event_id=event_id, channel=channel, recipient=recipient, status=status,
                                next_attempt_at=now, created_at=now))


def queue_deliveries(session: Session, event: EventRow, commitment: CommitmentRow, now: dt.datetime) -> None:
    """One outbox row per recipient of a published event: the chats that follow the commitment, its ministry
    or everything (paused chats skipped; digest chats collected), and the webhook endpoints registered before
    the event that want this commitment."""
    targets = ("all", f"slug:{commitment.slug}", f"ministry:{commitment.ministry}")
    chats = {s.chat_id for s in session.exec(select(SubscriptionRow).where(col(SubscriptionRow.target).in_(targets)))}
    for chat_id in sorted(chats):
        chat = session.get(ChatRow, chat_id)
        if chat is None or chat.paused:
            continue
        status = "pending" if chat.digest == "immediate" else "digest"
        add_delivery(session, event.id, "telegram", str(chat_id), status, now)
    for ep in session.exec(select(EndpointRow).where(col(EndpointRow.active))):
        if ep.created_at > event.detected_at:
            continue
        if ep.commitments and commitment.slug not in ep.commitments:
            continue
        add_delivery(session, event.id, "webhook", ep.id, "pending", now)
