"""What people change through the bot: the maintainers' curation of the catalog (new commitments, aliases,
excluded words, deadlines, dossier links, settling doubtful matches) and every chat's subscriptions.

Functions take the session first and never commit: the caller owns the transaction. Every maintainer action
leaves an `AuditRow` (who, what, when). Refusals raise `CurationError` with a message in Dutch that can be
shown to the person as it is; nothing is changed then.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlmodel import Session, col, select

from matchers.catalog import DOSSIER_RE, MINISTRIES, SLUG_RE, Kind
from matchers.deadlines import DeadlineError, dutch_date, parse_deadline
from matchers.engine import canonical_dossier
from matchers.stages import Stage
from matchers.text import normalize
from storage.models import (
    AuditRow,
    ChatRow,
    CommitmentRow,
    DeliveryRow,
    DocumentRow,
    EventRow,
    EvidenceRow,
    LinkRow,
    PromiseRow,
    SubscriptionRow,
    TermRow,
)

QueueFn = Callable[[Session, EventRow, CommitmentRow, dt.datetime], None]

MAX_TITLE = 200
MAX_TERM = 120
MIN_TERM = 4  # shorter aliases match half the record ("wet", "AOW")
DIGESTS = ("immediate", "daily", "weekly")


class CurationError(ValueError):
    """A request that cannot be done; the message (Dutch) says why and is safe to show."""


def _actor(user_id: int) -> str:
    return f"telegram:{user_id}"


def _audit(session: Session, now: dt.datetime, user_id: int, action: str, slug: str | None, detail: str) -> None:
    session.add(AuditRow(at=now, actor=_actor(user_id), action=action, slug=slug, detail=detail))


def _clean(text: str, limit: int, what: str) -> str:
    value = " ".join(text.split())
    if not value:
        raise CurationError(f"{what} ontbreekt.")
    if len(value) > limit:
        raise CurationError(f"{what} is te lang ({len(value)} tekens; hoogstens {limit}).")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        raise CurationError(f"{what} bevat onzichtbare of besturingstekens.")
    return value


# --------------------------------------------------------------------------------------------- lookup


def commitment(session: Session, slug: str) -> CommitmentRow:
    """The commitment `slug`, or a `CurationError` that suggests the nearest slugs."""
    row = session.get(CommitmentRow, slug.strip().lower()) if slug.strip() else None
    if row is None:
        raise CurationError(unknown_slug_message(session, slug))
    return row


def suggestions(session: Session, text: str, limit: int = 3) -> list[str]:
    """The slugs nearest to `text`: by slug spelling and by title words."""
    query = text.strip().lower()
    if not query:
        return []
    rows = session.exec(select(CommitmentRow.slug, CommitmentRow.title)).all()
    choices = {slug: f"{slug} {normalize(title)}" for slug, title in rows}
    found = process.extract(query, choices, scorer=fuzz.WRatio, limit=limit, score_cutoff=60)
    return [slug for _choice, _score, slug in found]


def unknown_slug_message(session: Session, text: str) -> str:
    shown = text.strip()[:60] or "(leeg)"
    near = suggestions(session, text)
    if near:
        return f"Onbekende toezegging “{shown}”. Bedoelt u: {', '.join(near)}?"
    return f"Onbekende toezegging “{shown}”. /lijst toont alle toezeggingen."


def ministry_name(text: str) -> str | None:
    """The ministry abbreviation `text` names (case-insensitive), if it is one."""
    wanted = text.strip().casefold()
    return next((m for m in sorted(MINISTRIES) if m.casefold() == wanted), None)


# ----------------------------------------------------------------------------------------- maintainers


def make_slug(title: str) -> str:
    """A slug from a title: ASCII, lowercase, hyphens, at most 60 characters cut at a word boundary."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    words = re.findall(r"[a-z0-9]+", ascii_title)
    if words and words[0] in ("wetsvoorstel", "voorstel") and len(words) > 1:
        words = words[1:]
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > 60:
            break
        slug = candidate
    return slug or "toezegging"


def _kind_from_title(title: str) -> Kind:
    t = title.casefold()
    table = (
        ("grondwetsvoorstel", Kind.GRONDWETSVOORSTEL), ("rijkswet", Kind.RIJKSWET),
        ("wetsvoorstel", Kind.WETSVOORSTEL), ("wet ", Kind.WETSVOORSTEL), ("wijziging van de", Kind.WETSVOORSTEL),
        ("amvb", Kind.AMVB), ("besluit", Kind.AMVB), ("kamerbrief", Kind.KAMERBRIEF), ("brief", Kind.KAMERBRIEF),
        ("visie", Kind.VISIE), ("evaluatie", Kind.EVALUATIE), ("monitor", Kind.MONITOR),
    )
    return next((kind for prefix, kind in table if t.startswith(prefix)), Kind.OTHER)


def promised_stage(kind: Kind) -> Stage:
    """The stage that keeps a promise of this kind when the maintainer does not name one."""
    if kind in (Kind.WETSVOORSTEL, Kind.GRONDWETSVOORSTEL, Kind.RIJKSWET):
        return Stage.INGEDIEND
    if kind is Kind.AMVB:
        return Stage.GEPUBLICEERD
    return Stage.BRIEF


@dataclass(frozen=True)
class Added:
    slug: str
    kind: Kind
    ministry: str
    aliases: tuple[str, ...]
    due: dt.date | None
    as_written: str | None


def add_commitment(session: Session, user_id: int, now: dt.datetime, *, title: str, aliases: Sequence[str],
                   timing: str | None = None, kind: str | None = None, ministry: str | None = None) -> Added:
    """A new commitment made by a maintainer. The kind follows from the title unless given; the ministry is
    BZK unless given (every seed letter is a BZK letter)."""
    title = _clean(title, MAX_TITLE, "De titel")
    try:
        the_kind = Kind(kind.strip().lower()) if kind else _kind_from_title(title)
    except ValueError:
        raise CurationError(f"Onbekende soort “{kind}”; kies uit: {', '.join(k.value for k in Kind)}.") from None
    the_ministry = "BZK"
    if ministry:
        found = ministry_name(ministry)
        if found is None:
            raise CurationError(f"Onbekend ministerie “{ministry[:30]}”; kies uit: {', '.join(sorted(MINISTRIES))}.")
        the_ministry = found
    cleaned = tuple(dict.fromkeys(_term(a) for a in aliases if a.strip()))
    if not cleaned:
        raise CurationError("Geef minstens één alias: de naam waaronder de stukken zullen verschijnen.")
    base = make_slug(title)
    slug, n = base, 2
    while session.get(CommitmentRow, slug) is not None:
        slug, n = f"{base}-{n}", n + 1
    assert SLUG_RE.match(slug)
    session.add(CommitmentRow(slug=slug, title=title, kind=the_kind.value, ministry=the_ministry,
                              origin="maintainer", created_at=now, created_by=user_id))
    session.flush()
    for alias in cleaned:
        session.add(TermRow(slug=slug, role="alias", text=alias, added_by=user_id, added_at=now))
    due: dt.date | None = None
    as_written: str | None = None
    if timing and timing.strip():
        promise = add_deadline(session, user_id, now, slug, timing, audit=False)
        due, as_written = promise.due, promise.as_written
    _audit(session, now, user_id, "add", slug,
           f"title={title!r} kind={the_kind.value} ministry={the_ministry} aliases={list(cleaned)} timing={timing!r}")
    return Added(slug, the_kind, the_ministry, cleaned, due, as_written)


def _term(text: str) -> str:
    value = _clean(text, MAX_TERM, "De term")
    if len(normalize(value).replace(" ", "")) < MIN_TERM:
        raise CurationError(f"“{value}” is te kort om betrouwbaar op te zoeken (minstens {MIN_TERM} letters).")
    return value


def add_term(session: Session, user_id: int, now: dt.datetime, slug: str, role: str, text: str) -> bool:
    """Add an alias or an excluded word; False when the commitment already had it."""
    if role not in ("alias", "exclude", "require"):
        raise ValueError(role)
    row = commitment(session, slug)
    value = _term(text)
    exists = session.exec(select(TermRow).where(TermRow.slug == row.slug, TermRow.role == role,
                                                TermRow.text == value)).first()
    if exists is not None:
        return False
    session.add(TermRow(slug=row.slug, role=role, text=value, added_by=user_id, added_at=now))
    _audit(session, now, user_id, role, row.slug, value)
    return True


def add_deadline(session: Session, user_id: int, now: dt.datetime, slug: str, timing: str,
                 stage: str | None = None, *, audit: bool = True) -> PromiseRow:
    """A promise with its timing in the letters' Dutch, dated today: as the latest promise it sets the
    commitment's deadline."""
    row = commitment(session, slug)
    timing = _clean(timing, 100, "De termijn")
    today = dutch_date(now)
    try:
        deadline = parse_deadline(timing, today)
    except DeadlineError as exc:
        raise CurationError(f"Die termijn begrijp ik niet: {exc}. Voorbeelden: “Q2 2027”, “eind 2026”, "
                            "“voor het zomerreces”.") from None
    try:
        the_stage = Stage(stage) if stage else promised_stage(Kind(row.kind))
    except ValueError:
        raise CurationError(f"Onbekende fase “{stage}”; kies uit: {', '.join(s.value for s in Stage)}.") from None
    promise = PromiseRow(slug=row.slug, letter="telegram", letter_date=today, line=None,
                         quote=f"termijn gezet door beheerder {user_id}: {timing}", as_written=deadline.as_written,
                         due=deadline.due, open_ended=deadline.open_ended, stage=the_stage.value, origin="maintainer")
    session.add(promise)
    session.flush()
    if audit:
        _audit(session, now, user_id, "deadline", row.slug,
               f"{timing!r} -> {deadline.due} ({the_stage.value}){' and later' if deadline.open_ended else ''}")
    return promise


def _dossier(text: str) -> str:
    value = canonical_dossier(text)
    if not DOSSIER_RE.match(value):
        raise CurationError(f"“{text.strip()[:40]}” is geen Kamerstukdossiernummer (zoals 36742 of 36600-VII).")
    return value


def link(session: Session, user_id: int, now: dt.datetime, slug: str, dossier: str) -> tuple[str, list[str]]:
    """Tie a dossier to a commitment; returns the dossier and the other commitments it is tied to."""
    row = commitment(session, slug)
    value = _dossier(dossier)
    existing = session.exec(select(LinkRow).where(LinkRow.slug == row.slug, LinkRow.kind == "dossier",
                                                  LinkRow.value == value)).first()
    if existing is None:
        existing = LinkRow(slug=row.slug, kind="dossier", value=value, origin="maintainer", changed_at=now)
    existing.active, existing.origin, existing.changed_by, existing.changed_at = True, "maintainer", user_id, now
    existing.reason = f"linked by maintainer {user_id}"
    session.add(existing)
    others = [r.slug for r in session.exec(select(LinkRow).where(
        LinkRow.kind == "dossier", LinkRow.value == value, col(LinkRow.active), LinkRow.slug != row.slug))]
    _audit(session, now, user_id, "link", row.slug, f"dossier {value}")
    return value, others


def unlink(session: Session, user_id: int, now: dt.datetime, slug: str, dossier: str) -> str:
    """Undo a dossier link (from the catalog, learned or a maintainer's); the row stays, inactive, so the
    matcher does not learn it again."""
    row = commitment(session, slug)
    value = _dossier(dossier)
    existing = session.exec(select(LinkRow).where(LinkRow.slug == row.slug, LinkRow.kind == "dossier",
                                                  LinkRow.value == value)).first()
    if existing is None or not existing.active:
        raise CurationError(f"Dossier {value} is niet gekoppeld aan {row.slug}.")
    existing.active, existing.changed_by, existing.changed_at = False, user_id, now
    existing.reason = f"unlinked by maintainer {user_id}"
    session.add(existing)
    _audit(session, now, user_id, "unlink", row.slug, f"dossier {value}")
    return value


def _pending_event(session: Session, event_id: str) -> EventRow:
    event = session.get(EventRow, event_id.strip())
    if event is None:
        raise CurationError(f"Geen melding met id “{event_id.strip()[:40]}”.")
    if event.status != "pending":
        said = {"published": "al bevestigd en verstuurd", "rejected": "al afgewezen",
                "retracted": "ingetrokken"}.get(event.status, event.status)
        raise CurationError(f"Melding {event.id} is {said}; er is niets meer te beslissen.")
    return event


def _settle_reviews(session: Session, event_id: str, note: str) -> None:
    for d in session.exec(select(DeliveryRow).where(DeliveryRow.event_id == event_id,
                                                    DeliveryRow.channel == "review",
                                                    DeliveryRow.status == "pending")):
        d.status, d.last_error = "skipped", note
        session.add(d)


def confirm(session: Session, user_id: int, now: dt.datetime, event_id: str, queue: QueueFn) -> EventRow:
    """A maintainer confirms a doubtful match: the event is published to subscribers and webhooks, its
    evidence counts, and the dossier of a confirmed submission is linked so later documents are found by
    number."""
    event = _pending_event(session, event_id)
    row = commitment(session, event.slug)
    event.status = "published"
    session.add(event)
    for ev in session.exec(select(EvidenceRow).where(EvidenceRow.event_id == event.id,
                                                     EvidenceRow.status == "pending")):
        ev.status, ev.decided_by, ev.decided_at = "confirmed", user_id, now
        session.add(ev)
        doc = session.get(DocumentRow, ev.document_key)
        if doc is not None and doc.dossier and ev.stage == Stage.INGEDIEND.value:
            known = session.exec(select(LinkRow).where(LinkRow.slug == row.slug, LinkRow.kind == "dossier",
                                                       LinkRow.value == doc.dossier)).first()
            if known is None:
                session.add(LinkRow(slug=row.slug, kind="dossier", value=doc.dossier, origin="maintainer",
                                    reason=f"confirmed submission {doc.key}", changed_by=user_id, changed_at=now))
    _settle_reviews(session, event.id, f"confirmed by {user_id}")
    session.flush()
    queue(session, event, row, now)
    _audit(session, now, user_id, "confirm", row.slug, event.id)
    return event


def reject(session: Session, user_id: int, now: dt.datetime, event_id: str) -> EventRow:
    """A maintainer rejects a doubtful match: nobody is told, and the same document never matches this
    commitment again."""
    event = _pending_event(session, event_id)
    event.status = "rejected"
    session.add(event)
    for ev in session.exec(select(EvidenceRow).where(EvidenceRow.event_id == event.id,
                                                     EvidenceRow.status == "pending")):
        ev.status, ev.decided_by, ev.decided_at = "rejected", user_id, now
        session.add(ev)
    _settle_reviews(session, event.id, f"rejected by {user_id}")
    _audit(session, now, user_id, "reject", event.slug, event.id)
    return event


# --------------------------------------------------------------------------------------- subscriptions


def ensure_chat(session: Session, chat_id: int, kind: str, now: dt.datetime) -> ChatRow:
    """The chat's row, made on first contact. A paused chat (it had blocked the bot) that writes again is
    reachable again."""
    chat = session.get(ChatRow, chat_id)
    if chat is None:
        chat = ChatRow(chat_id=chat_id, kind=kind[:20], created_at=now)
    elif chat.paused:
        chat.paused, chat.paused_reason = False, None
    session.add(chat)
    session.flush()
    return chat


def resolve_target(session: Session, text: str) -> tuple[str, str]:
    """The subscription target `text` names: (`all`|`slug:…`|`ministry:…`, a label for people)."""
    value = text.strip()
    if value.casefold() in ("all", "alles"):
        return "all", "alle toezeggingen"
    if session.get(CommitmentRow, value.lower()) is not None:
        return f"slug:{value.lower()}", value.lower()
    ministry = ministry_name(value)
    if ministry is not None:
        return f"ministry:{ministry}", f"alle toezeggingen van {ministry}"
    raise CurationError(unknown_slug_message(session, value))


def subscribe(session: Session, chat_id: int, target: str, now: dt.datetime) -> bool:
    """Follow `target`; False when the chat already did."""
    exists = session.exec(select(SubscriptionRow).where(SubscriptionRow.chat_id == chat_id,
                                                        SubscriptionRow.target == target)).first()
    if exists is not None:
        return False
    session.add(SubscriptionRow(chat_id=chat_id, target=target, created_at=now))
    return True


def unsubscribe(session: Session, chat_id: int, target: str | None) -> int:
    """Stop following `target`, or everything when None; returns how many subscriptions ended."""
    query = select(SubscriptionRow).where(SubscriptionRow.chat_id == chat_id)
    if target is not None:
        query = query.where(SubscriptionRow.target == target)
    rows = session.exec(query).all()
    for row in rows:
        session.delete(row)
    return len(rows)


def subscriptions(session: Session, chat_id: int) -> list[str]:
    return [s.target for s in session.exec(select(SubscriptionRow).where(SubscriptionRow.chat_id == chat_id)
                                           .order_by(col(SubscriptionRow.id)))]


def set_digest(session: Session, chat_id: int, digest: str, now: dt.datetime) -> None:
    """Immediate alerts, or one daily or weekly message. Alerts already waiting for a digest are kept
    and go out with the next digest (or at once, when switching to immediate)."""
    if digest not in DIGESTS:
        raise CurationError(f"Kies uit: {', '.join(DIGESTS)}.")
    chat = session.get(ChatRow, chat_id)
    if chat is None:
        raise CurationError("Deze chat is nog niet bekend; stuur eerst /start.")
    chat.digest = digest
    if digest != "immediate" and chat.last_digest_at is None:
        chat.last_digest_at = now
    session.add(chat)
    if digest == "immediate":
        for d in session.exec(select(DeliveryRow).where(DeliveryRow.channel == "telegram",
                                                        DeliveryRow.recipient == str(chat_id),
                                                        DeliveryRow.status == "digest")):
            d.status, d.next_attempt_at = "pending", now
            session.add(d)
