"""One poll: read each source forward from its cursor, store what it read, match, make events and queue
their deliveries. Each page — its entities or documents, the evidence and events they make, the outbox rows
of those events, and the source's new cursor — is one transaction: a crash loses nothing and repeats at most
the page it was in, which changes nothing the second time (upserts by id and content hash, stable event ids).
"""

from __future__ import annotations

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
from storage.catalog_repo import COUNTING_EVIDENCE, runtime_catalog, stages_reached
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
)

log = logging.getLogger(__name__)
# How long a new Tweede Kamer Document waits for its DocumentVersie before it is matched without it. The two
# normally come in the same poll; an hour covers a feed that lags between categories.
PENDING_GRACE = dt.timedelta(hours=1)
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


@dataclass
class _PageContext:
    session: Session
    catalog: Catalog
    reached: dict[str, Stage]
    links: dict[str, frozenset[str]]
    zaken: dict[str, frozenset[str]]
    rejected: frozenset[tuple[str, str]]
    make_events: bool
    now: dt.datetime
    events: int = 0
    installed_at: dt.datetime | None = None
    entity_cache: dict[str, Entity | None] = field(default_factory=dict)
    backlog: set[str] = field(default_factory=set)  # keys of documents that are old re-emissions: no events


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
        try:
            async for page in source.pages(cursor):
                self._ingest(source.name, page, make_events, installed_at, result)
        except SourceError as exc:
            result.ok = False
            result.error = f"{type(exc).__name__}: {exc}"
            log.warning("poll %s failed after %d pages: %s", source.name, result.pages, result.error)
        if result.ok and make_events and source.name == "tk":  # under the tk lock: one replica at a time
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
        log.info("poll %s ok=%s pages=%d requests=%d items=%d documents=%d events=%d ms=%d", source.name,
                 result.ok, result.pages, result.requests, result.items, result.documents, result.events,
                 result.duration_ms)
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

    def _ingest(self, name: str, page: Page, make_events: bool, installed_at: dt.datetime | None,
                result: PollResult) -> None:
        with session_scope(self.engine) as session:
            ctx = self._context(session, make_events)
            ctx.installed_at = installed_at
            documents = list(page.documents)
            if page.entities:
                documents.extend(self._store_entities(ctx, page.entities))
            for doc in documents:
                if self._store_document(ctx, doc):
                    result.documents += 1
                    self._match(ctx, doc)
            state = session.get(SourceStateRow, name) or SourceStateRow(name=name)
            state.cursor = page.cursor
            session.add(state)
        result.pages += 1
        result.requests += page.requests
        result.items += len(page.entities) + len(page.documents)
        result.events += ctx.events

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

    def _store_entities(self, ctx: _PageContext, entities: Iterable[Entity]) -> list[Document]:
        """Upsert SyncFeed entities; return the documents whose entity changed in a way that matters.
        A re-emitted entity with the same content (a bulk data correction) changes nothing."""
        changed: list[Entity] = []
        old: set[str] = set()
        new: set[str] = set()
        for entity in entities:
            row = ctx.session.get(TkEntityRow, entity.guid)
            digest = _entity_hash(entity)
            if row is not None and row.content_hash == digest:
                continue
            if row is None:
                new.add(entity.guid)
            if row is None and self._reemitted(ctx, entity):
                old.add(entity.guid)
            if row is None:
                row = TkEntityRow(guid=entity.guid, category=entity.category, updated=entity.updated,
                                  content_hash=digest)
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
        documents: list[Document] = []
        lookup: Callable[[str], Entity | None] = lambda guid: self._lookup(ctx, guid)  # noqa: E731
        for entity in changed:
            if entity.category == "Document" and entity.guid in new and version_pending(entity, lookup):
                # A new Document's version (which carries its kst id) comes in the next category of the
                # same poll, and resolves it then. Resolved now, it would lack its Kamerstuk identity and its
                # KOOP twin could not join its event: one real-world event would become two. If the version
                # never comes, `_release_pending` matches the document as it is after PENDING_GRACE.
                if ctx.make_events and entity.guid not in old and ctx.session.get(TkPendingRow, entity.guid) is None:
                    ctx.session.add(TkPendingRow(guid=entity.guid, since=ctx.now))
                continue
            doc = resolve(entity, lookup)
            if doc is not None:
                documents.append(doc)
                if doc.guid and (pending := ctx.session.get(TkPendingRow, doc.guid)) is not None:
                    ctx.session.delete(pending)  # its version came (or the document changed): resolved now
                if entity.guid in old:
                    ctx.backlog.add(doc.key)
        if old:
            log.info("%d entities never seen before but last changed before wetwacht was installed: a bulk "
                     "re-emission of old data, stored without events", len(old))
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
                if doc is not None and self._store_document(ctx, doc):
                    released += 1
                    result.documents += 1
                    self._match(ctx, doc)
            result.events += ctx.events
        log.warning("%d of %d waiting Tweede Kamer document(s) matched without their DocumentVersie, which "
                    "did not come within %s", released, len(due), PENDING_GRACE)

    def _reemitted(self, ctx: _PageContext, entity: Entity) -> bool:
        """An entity we never saw whose own change time lies before the installation: under
        WETWACHT_START=now it is backlog that a data correction re-emitted, not news."""
        return (self.start == "now" and not entity.deleted and ctx.installed_at is not None
                and entity.changed is not None and entity.changed < ctx.installed_at)

    def _lookup(self, ctx: _PageContext, guid: str) -> Entity | None:
        if guid not in ctx.entity_cache:
            row = ctx.session.get(TkEntityRow, guid)
            ctx.entity_cache[guid] = _entity_from_row(row) if row is not None else None
        return ctx.entity_cache[guid]

    # ------------------------------------------------------------------------------------- documents

    def _store_document(self, ctx: _PageContext, doc: Document) -> bool:
        """Upsert a document; True when it is new or changed in a way that matters."""
        digest = _document_hash(doc)
        row = ctx.session.get(DocumentRow, doc.key)
        if row is not None and row.content_hash == digest:
            row.last_seen = ctx.now
            ctx.session.add(row)
            return False
        was_deleted = row.deleted if row is not None else False
        if row is None:
            row = DocumentRow(key=doc.key, source=doc.source, upstream_id=doc.id, entity=doc.entity,
                              kind=doc.kind, title=doc.title, content_hash=digest, first_seen=ctx.now,
                              last_seen=ctx.now)
        row.guid, row.entity, row.kind, row.title = doc.guid, doc.entity, doc.kind, doc.title
        row.kst, row.dossier, row.ondernummer, row.zaak = doc.kst, doc.dossier, doc.ondernummer, doc.zaak
        row.chamber, row.date, row.modified, row.url = doc.chamber, doc.date, doc.modified, doc.url
        row.deleted, row.extra, row.content_hash, row.last_seen = doc.deleted, dict(doc.extra), digest, ctx.now
        ctx.session.add(row)
        ctx.session.flush()
        if doc.deleted and not was_deleted:
            self._retract(ctx, doc)
            return False
        return not doc.deleted

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
                   col(EvidenceRow.status).in_(COUNTING_EVIDENCE))
        ).all()
        found: dict[str, Stage | None] = {}
        for ev in rows:
            found.setdefault(ev.slug, Stage(ev.stage) if ev.stage else None)
        return {doc.kst: found} if found else {}

    def _match(self, ctx: _PageContext, doc: Document) -> None:
        matches = match_document(doc, ctx.catalog, ctx.links, ctx.zaken, ctx.rejected, self._twins(ctx, doc))
        for m in matches:
            if (m.slug, doc.key) in ctx.rejected:
                continue
            self._learn(ctx, doc, m)
            if ctx.make_events and doc.key not in ctx.backlog:
                self._evidence_and_event(ctx, doc, m)

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
