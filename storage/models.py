"""All SQLModel tables. Schema changes go through Alembic migrations in `storage/migrations/`.

Times are aware UTC datetimes (SQLModel's UTCDateTime refuses naive ones); `storage.db.utcnow()` makes them.
JSON columns hold upstream facts whose shape belongs to the source (entity fields, document extras).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class CommitmentRow(SQLModel, table=True):
    """A commitment: from the catalog files (origin = the file) or added by a maintainer."""

    __tablename__ = "commitment"

    slug: str = Field(primary_key=True, max_length=120)
    title: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(max_length=40)
    ministry: str = Field(max_length=20)
    origin: str = Field(max_length=120)  # catalog file name, or "maintainer"
    notes: str | None = Field(default=None, sa_column=Column(Text))
    created_at: dt.datetime
    created_by: int | None = Field(default=None, sa_column=Column(BigInteger))  # Telegram user id


class PromiseRow(SQLModel, table=True):
    """One promise of a commitment: which letter, which quote, which deadline, which stage."""

    __tablename__ = "promise"
    __table_args__ = (Index("ix_promise_slug", "slug"),)

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(foreign_key="commitment.slug", max_length=120)
    letter: str = Field(max_length=120)  # seed file name, or "telegram" for a maintainer's promise
    letter_date: dt.date
    line: int | None = None
    quote: str = Field(sa_column=Column(Text, nullable=False))
    as_written: str | None = Field(default=None, max_length=200)
    due: dt.date | None = None
    open_ended: bool = False
    stage: str = Field(max_length=40)
    overdue_notified: bool = False  # the one commitment.overdue event for this promise was made
    origin: str = Field(max_length=120)


class TermRow(SQLModel, table=True):
    """An alias, required word or excluded word of a commitment added by a maintainer (the catalog files'
    own terms live in the files; these are added on top and survive catalog reloads)."""

    __tablename__ = "term"
    __table_args__ = (UniqueConstraint("slug", "role", "text"),)

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(foreign_key="commitment.slug", max_length=120)
    role: str = Field(max_length=10)  # alias | require | exclude
    text: str = Field(max_length=300)
    added_by: int | None = Field(default=None, sa_column=Column(BigInteger))
    added_at: dt.datetime


class LinkRow(SQLModel, table=True):
    """A dossier (or zaak) number tied to a commitment: from the catalog, learned from a confident match on
    an opening document of a bill, or set by a maintainer. Unlinking keeps the row, inactive."""

    __tablename__ = "link"
    __table_args__ = (UniqueConstraint("slug", "kind", "value"), Index("ix_link_value", "kind", "value"))

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(foreign_key="commitment.slug", max_length=120)
    kind: str = Field(max_length=10)  # dossier | zaak
    value: str = Field(max_length=40)
    origin: str = Field(max_length=20)  # catalog | learned | maintainer
    active: bool = True
    reason: str | None = Field(default=None, sa_column=Column(Text))
    changed_by: int | None = Field(default=None, sa_column=Column(BigInteger))
    changed_at: dt.datetime


class AuditRow(SQLModel, table=True):
    """Who changed what, when and why: every maintainer action and every learned link."""

    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime
    actor: str = Field(max_length=60)  # "telegram:<user id>", "cli", "matcher"
    action: str = Field(max_length=40)
    slug: str | None = Field(default=None, max_length=120)
    detail: str = Field(sa_column=Column(Text, nullable=False))


class TkEntityRow(SQLModel, table=True):
    """The latest version of every SyncFeed entity seen, so relations (document → dossier) resolve and
    re-emissions of unchanged entities are recognised by their content hash."""

    __tablename__ = "tk_entity"
    __table_args__ = (Index("ix_tk_entity_category", "category"),)

    guid: str = Field(primary_key=True, max_length=64)
    category: str = Field(max_length=40)
    updated: dt.datetime
    deleted: bool = False
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    refs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    content_hash: str = Field(max_length=64)
    origin: str = Field(default="news", max_length=10)  # news | history, decided when first seen (bot.novelty)


class TkPendingRow(SQLModel, table=True):
    """A new Tweede Kamer Document held back until its DocumentVersie (which carries the kst id) arrives, so
    that its KOOP twin joins the same event. One whose version has not come after a grace period is matched as
    it is: waiting for ever would lose it."""

    __tablename__ = "tk_pending"

    guid: str = Field(primary_key=True, max_length=64)
    since: dt.datetime


class TkWaitingRow(SQLModel, table=True):
    """A Tweede Kamer entity (`waiter`: a Besluit, a Document, a DocumentVersie) held back until an entity it
    refers to (`missing`: its Zaak, its Kamerstukdossier, its Document) is stored: fetched from the SyncFeed
    entity endpoint in the same poll, or arriving in the feed later. A failed fetch is tried again at the next
    poll; one the endpoint does not know releases the waiter as it is."""

    __tablename__ = "tk_waiting"
    __table_args__ = (Index("ix_tk_waiting_waiter", "waiter"),)

    missing: str = Field(primary_key=True, max_length=64)
    waiter: str = Field(primary_key=True, max_length=64)
    since: dt.datetime
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class HistoryTaskRow(SQLModel, table=True):
    """One piece of the history read at installation and whenever a dossier becomes linked (CONTRACT.md
    "History at installation"): a dossier's record (`kind` dossier, `value` its number), or the search for the
    opening documents of bills whose dossier is not known (`kind` search). `next_record` is where it resumes
    after a crash (the SRU startRecord of its next page)."""

    __tablename__ = "history_task"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)  # dossier | search
    value: str = Field(max_length=40)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=10)  # pending | done | failed
    next_record: int = 1
    records: int = 0  # records read
    documents: int = 0  # documents kept as history
    requests: int = 0
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: dt.datetime
    finished_at: dt.datetime | None = None


class DocumentRow(SQLModel, table=True):
    """A normalized document of either source (see `sources.base.Document`). `origin`: `news` (it may make
    events) or `history` (the past: it only sets stages and evidence silently), decided when first seen."""

    __tablename__ = "document"
    __table_args__ = (Index("ix_document_kst", "kst"), Index("ix_document_dossier", "dossier"))

    key: str = Field(primary_key=True, max_length=200)  # "tk:2025D21083", "ob:kst-36742-4"
    source: str = Field(max_length=10)
    upstream_id: str = Field(max_length=160)
    guid: str | None = Field(default=None, max_length=64)
    entity: str = Field(max_length=40)
    kind: str = Field(sa_column=Column(Text, nullable=False))
    title: str = Field(sa_column=Column(Text, nullable=False))
    kst: str | None = Field(default=None, max_length=80)
    dossier: str | None = Field(default=None, max_length=40)
    ondernummer: str | None = Field(default=None, max_length=20)
    zaak: str | None = Field(default=None, max_length=40)
    chamber: str | None = Field(default=None, max_length=4)
    date: dt.date | None = None
    modified: dt.datetime | None = None
    url: str | None = Field(default=None, sa_column=Column(Text))
    deleted: bool = False
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    content_hash: str = Field(max_length=64)
    first_seen: dt.datetime
    last_seen: dt.datetime
    origin: str = Field(default="news", max_length=10)


class EvidenceRow(SQLModel, table=True):
    """A document matched to a commitment, with the stage it shows and the reason. `status`: `auto`
    (confident), `pending` (doubtful, waiting for a maintainer), `confirmed`, `rejected` (never comes back),
    `history` (confident, from the record before the installation: it counts for the stage, with no event)."""

    __tablename__ = "evidence"
    # ix_evidence_counting covers what the stage reached is read from (stages_reached, the site's stage dates),
    # so those reads never touch the table's rows.
    __table_args__ = (UniqueConstraint("slug", "document_key"), Index("ix_evidence_event", "event_id"),
                      Index("ix_evidence_counting", "status", "slug", "stage", "event_id", "document_key"))

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(foreign_key="commitment.slug", max_length=120)
    document_key: str = Field(foreign_key="document.key", max_length=200)
    stage: str | None = Field(default=None, max_length=40)
    via: str = Field(max_length=20)
    score: float = 100.0
    reason: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="auto", max_length=12)
    event_id: str | None = Field(default=None, max_length=40)
    created_at: dt.datetime
    decided_by: int | None = Field(default=None, sa_column=Column(BigInteger))
    decided_at: dt.datetime | None = None


class EventRow(SQLModel, table=True):
    """A detected event (CONTRACT.md "Events"); `payload` is the event JSON as published."""

    __tablename__ = "event"
    # ix_event_status lets the stage reached join events by id and status without reading their large payloads.
    __table_args__ = (Index("ix_event_detected", "detected_at"), Index("ix_event_slug", "slug"),
                      Index("ix_event_status", "id", "status"))

    id: str = Field(primary_key=True, max_length=40)  # evt_…
    type: str = Field(max_length=40)
    slug: str = Field(foreign_key="commitment.slug", max_length=120)
    stage: str | None = Field(default=None, max_length=40)
    detected_at: dt.datetime
    status: str = Field(default="published", max_length=12)  # published | pending | rejected | retracted
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ChatRow(SQLModel, table=True):
    """A Telegram chat that talks to the bot: its digest choice and whether delivery is paused."""

    __tablename__ = "chat"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    kind: str = Field(default="private", max_length=20)  # private | group | supergroup | channel
    digest: str = Field(default="immediate", max_length=10)  # immediate | daily | weekly
    paused: bool = False  # the chat blocked the bot or was deleted
    paused_reason: str | None = Field(default=None, sa_column=Column(Text))
    created_at: dt.datetime
    last_digest_at: dt.datetime | None = None


class SubscriptionRow(SQLModel, table=True):
    """A chat follows a commitment (`slug:<slug>`), a ministry (`ministry:<name>`) or everything (`all`)."""

    __tablename__ = "subscription"
    __table_args__ = (UniqueConstraint("chat_id", "target"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    target: str = Field(max_length=140)
    created_at: dt.datetime


class EndpointRow(SQLModel, table=True):
    """A webhook endpoint of an NGO. `secret` is the `whsec_…` signing secret; it is never logged."""

    __tablename__ = "endpoint"

    id: str = Field(primary_key=True, max_length=40)  # ep_…
    url: str = Field(sa_column=Column(Text, nullable=False))
    secret: str = Field(max_length=120)
    commitments: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # [] = all
    created_at: dt.datetime
    active: bool = True
    last_success_at: dt.datetime | None = None
    last_failure_at: dt.datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))

    def __repr__(self) -> str:  # the secret stays out of every repr
        return f"EndpointRow(id={self.id!r}, url={self.url!r}, active={self.active!r})"


class DeliveryRow(SQLModel, table=True):
    """The outbox: one row per event × recipient. Written in the transaction that made the event, claimed by
    a worker (`claimed_until`), sent, retried with backoff (`next_attempt_at`) or marked dead."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "channel", "recipient"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(foreign_key="event.id", max_length=40)
    channel: str = Field(max_length=12)  # telegram | webhook | review (maintainer review of a doubtful match)
    recipient: str = Field(max_length=60)  # chat id or endpoint id
    status: str = Field(default="pending", max_length=12)  # pending | sent | dead | digest | skipped
    attempts: int = 0
    next_attempt_at: dt.datetime
    claimed_until: dt.datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=80)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: dt.datetime
    sent_at: dt.datetime | None = None


class SourceStateRow(SQLModel, table=True):
    """A source's durable cursor and its health."""

    __tablename__ = "source_state"

    name: str = Field(primary_key=True, max_length=40)
    cursor: str | None = Field(default=None, sa_column=Column(Text))
    last_attempt_at: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    down_notified: bool = False  # the maintainers were told it is failing; tell them once it recovers
    first_poll_done: bool = False  # its very first poll is over: what appears now makes events
    installed_at: dt.datetime | None = None  # when that first poll started: older entities are backlog
    last_requests: int = 0
    last_items: int = 0
    last_duration_ms: int = 0


class NoticeRow(SQLModel, table=True):
    """A message to the maintainers about wetwacht itself (a source failing, then recovering), sent by
    Telegram when there is a bot and always logged. Not an event: subscribers and webhooks never see it."""

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_due", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)  # source.failing | source.recovered
    subject: str = Field(max_length=60)  # the source name
    text: str = Field(sa_column=Column(Text, nullable=False))
    recipient: str = Field(max_length=60)  # maintainer's Telegram user id
    status: str = Field(default="pending", max_length=12)  # pending | sent | dead
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: dt.datetime
    sent_at: dt.datetime | None = None


class MetaRow(SQLModel, table=True):
    """Facts about the installation itself, by key: `catalog` holds the fingerprint of the catalog files last
    synced into the database (a command whose files have not changed need not read them)."""

    __tablename__ = "meta"

    key: str = Field(primary_key=True, max_length=40)
    value: str = Field(sa_column=Column(Text, nullable=False))


ALL_TABLES = [
    CommitmentRow, PromiseRow, TermRow, LinkRow, AuditRow, TkEntityRow, TkPendingRow, TkWaitingRow, DocumentRow,
    EvidenceRow, EventRow, ChatRow, SubscriptionRow, EndpointRow, DeliveryRow, SourceStateRow, NoticeRow,
    HistoryTaskRow, MetaRow,
]
