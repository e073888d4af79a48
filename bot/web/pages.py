"""The HTML pages, rendered with Jinja2 from a snapshot and the events of a commitment. Every outside text
(titles, aliases, quotes, document titles, reasons, URLs) reaches the page through Jinja's autoescaping; a
link to an outside document is made only of an http(s) URL.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.dutch import date_nl, span_nl
from bot.web.model import (
    KIND_LABEL,
    STATUS_LABEL,
    Filters,
    Status,
    Step,
    judge,
    matches,
    path,
    restates,
    stage_label,
)
from bot.web.snapshot import Item, Letter, Snapshot, letter_id
from matchers.deadlines import AMSTERDAM, dutch_date
from matchers.stages import DUTCH, Stage
from storage.catalog_repo import HistoryItem
from storage.models import EventRow, SourceStateRow

OB_URL = "https://zoek.officielebekendmakingen.nl/{kst}.html"
TK_DOSSIER_URL = "https://www.tweedekamer.nl/kamerstukken/wetsvoorstellen/detail?cfg=wetsvoorsteldetails&qry=wetsvoorstel:{dossier}"
KST_RE = re.compile(r"^kst-[0-9A-Z]+(?:-[0-9A-Z]+)+$")
DOSSIER_RE = re.compile(r"^\d{4,6}(?:-[0-9A-Z]+)?$")
SOURCE_LABEL = {
    "tk": "Tweede Kamer (SyncFeed van de open data)",
    "ob": "officielebekendmakingen.nl (KOOP SRU)",
    "ek": "Eerste Kamer (eerstekamer.nl)",
    "ic": "internetconsultatie.nl",
}
# The sites read as pages ask to be credited, with the day their page was read (issue 13): the credit and the
# label of a link to them.
CREDIT = {
    "ek": ("Eerste Kamer der Staten-Generaal, www.eerstekamer.nl", "Eerste Kamer"),
    "ic": ("internetconsultatie.nl", "internetconsultatie.nl"),
}
ERROR_LABEL = {
    "FetchError": "de bron was niet bereikbaar of antwoordde met een fout",
    "ParseError": "het antwoord van de bron was onleesbaar",
}


def safe_url(value: object) -> str | None:
    """`value` when it is an absolute http(s) URL (a `javascript:` or relative link never becomes a link)."""
    if not isinstance(value, str):
        return None
    parts = urllib.parse.urlsplit(value.strip())
    if parts.scheme in ("http", "https") and parts.netloc:
        return value.strip()
    return None


def moment_nl(moment: dt.datetime | str | None) -> str:
    """"4 december 2026, 20:43" in Amsterdam time."""
    if isinstance(moment, str):
        try:
            moment = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return str(moment)
    if moment is None:
        return "onbekend"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone(AMSTERDAM)
    return f"{date_nl(local.date())}, {local:%H:%M}"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("bot.web", "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(date_nl=date_nl, span_nl=span_nl, stage_label=stage_label, kind_label=_kind_label,
                       restates=restates,
                       moment_nl=moment_nl, status_label=STATUS_LABEL, Status=Status)
    env.filters["iso"] = lambda d: d.isoformat() if d is not None else ""
    env.filters["query"] = lambda pairs: urllib.parse.urlencode(list(pairs))
    return env


def _kind_label(kind: str) -> str:
    return KIND_LABEL.get(kind, kind)


ENV = _environment()


@dataclass(frozen=True, slots=True)
class Link:
    href: str
    title: str


def _render(template: str, **context: Any) -> str:
    return ENV.get_template(template).render(**context)


def _site_feeds(*extra: Link) -> list[Link]:
    return [*extra, Link("/feed.atom", "wetwacht: alle gebeurtenissen")]


# ------------------------------------------------------------------------------------------ scoreboard


def chosen(snapshot: Snapshot, filters: Filters) -> list[Item]:
    return [i for i in snapshot.items
            if matches(filters, letters=i.letter_ids, ministry=i.view.ministry, kind=i.view.kind,
                       status=i.verdict.status, haystack=i.haystack)]


def scoreboard(snapshot: Snapshot, filters: Filters) -> str:
    items = chosen(snapshot, filters)
    feeds = _site_feeds()
    if filters.ministry:
        feeds.insert(0, Link(f"/ministerie/{urllib.parse.quote(filters.ministry)}.atom",
                             f"wetwacht: gebeurtenissen van {filters.ministry}"))
    return _render("scoreboard.html", snapshot=snapshot, filters=filters, items=items,
                   counts=snapshot.counts(items), all_counts=snapshot.counts(), feeds=feeds,
                   calendars=[Link("/termijnen.ics", "wetwacht: alle termijnen")], nav="/",
                   letters=list(snapshot.letters.values()), statuses=list(Status))


def overdue(snapshot: Snapshot) -> str:
    items = sorted((i for i in snapshot.items if i.verdict.status is Status.OVERDUE),
                   key=lambda i: (-(i.verdict.days or 0), i.view.title.casefold()))
    return _render("overdue.html", snapshot=snapshot, items=items, feeds=_site_feeds(),
                   calendars=[Link("/termijnen.ics", "wetwacht: alle termijnen")], nav="/te-laat")


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def deadlines(snapshot: Snapshot) -> str:
    until = _add_months(snapshot.today, 3)
    items = sorted((i for i in snapshot.items if i.latest is not None and i.latest.due is not None
                    and snapshot.today <= i.latest.due <= until),
                   key=lambda i: (i.latest.due if i.latest and i.latest.due else dt.date.max, i.view.title.casefold()))
    return _render("deadlines.html", snapshot=snapshot, items=items, until=until, feeds=_site_feeds(),
                   calendars=[Link("/termijnen.ics", "wetwacht: alle termijnen")], nav="/termijnen")


# ------------------------------------------------------------------------------------------ one commitment


@dataclass(frozen=True, slots=True)
class DocView:
    kind: str
    title: str
    ident: str
    day: str | None
    links: tuple[Link, ...]
    credit: str | None = None  # "bron: …, opgehaald …" for what was read from a site's pages


@dataclass(frozen=True, slots=True)
class EventView:
    id: str
    type: str
    headline: str
    detected: str
    detected_iso: str
    documents: tuple[DocView, ...]
    reason: str
    reason_label: str
    retracted: bool
    quote: str | None


def _str(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def group_documents(documents: Iterable[Mapping[str, Any]], read_on: dt.date | None = None) -> list[DocView]:
    """An event's documents, the Tweede Kamer record and the officielebekendmakingen record of one Kamerstuk
    (the same `kst-…` id) as one entry with a link to each source. A document read from the Eerste Kamer's or
    internetconsultatie's pages credits its source and the day it was read (`read_on`: the day the event was
    made, when wetwacht read it)."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for d in documents:
        if not isinstance(d, Mapping):
            continue
        kst = _str(d.get("kst"))
        key = kst if KST_RE.match(kst) else f"{_str(d.get('source'))}:{_str(d.get('id'))}"
        groups.setdefault(key, []).append(d)
    out: list[DocView] = []
    for key, docs in groups.items():
        tk = next((d for d in docs if d.get("source") == "tk"), None)
        ob = next((d for d in docs if d.get("source") == "ob"), None)
        first = tk or docs[0]
        links: list[Link] = []
        for d in docs:
            url = safe_url(d.get("url"))
            if url and all(link.href != url for link in links):
                source = _str(d.get("source"))
                label = CREDIT[source][1] if source in CREDIT else _str(d.get("source"))
                links.append(Link(url, "Tweede Kamer" if source == "tk" else
                                  "officielebekendmakingen.nl" if source == "ob" else label))
        shared = key if KST_RE.match(key) else None
        if shared and ob is None:
            links.append(Link(OB_URL.format(kst=shared), "officielebekendmakingen.nl"))
        dossier = _str(first.get("dossier"))
        if tk is None and DOSSIER_RE.match(dossier):
            links.append(Link(TK_DOSSIER_URL.format(dossier=dossier), f"Tweede Kamer (dossier {dossier})"))
        day: str | None = _str(first.get("date")) or None
        try:
            day_text = date_nl(dt.date.fromisoformat(day[:10])) if day else None
        except ValueError:
            day_text = day
        credited = [CREDIT[_str(d.get("source"))][0] for d in docs if _str(d.get("source")) in CREDIT]
        credit = None
        if credited:
            credit = "bron: " + "; ".join(dict.fromkeys(credited)) + (
                f", opgehaald {date_nl(read_on)}" if read_on else "")
        out.append(DocView(kind=_str(first.get("type")) or "stuk", title=_str(first.get("title")),
                           ident=shared or _str(first.get("id")), day=day_text, links=tuple(links), credit=credit))
    return out


def _stage_or_none(value: object) -> Stage | None:
    try:
        return Stage(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def event_view(event: EventRow) -> EventView:
    payload = event.payload if isinstance(event.payload, Mapping) else {}
    stage = _stage_or_none(payload.get("stage") or event.stage)
    promise = payload.get("promise") if isinstance(payload.get("promise"), Mapping) else None
    if event.type == "commitment.stage":
        headline = f"Nieuwe fase: {DUTCH[stage]}" if stage else "Nieuwe fase"
    elif event.type == "commitment.overdue":
        written = _str(promise.get("as_written")) if promise else ""
        headline = "Termijn verstreken" + (f" ({written})" if written else "") + (
            f": beloofd was {DUTCH[stage]}" if stage else "")
    else:
        headline = "Nieuw stuk" + (f" (fase: {DUTCH[stage]})" if stage else "")
    return EventView(
        id=event.id, type=event.type, headline=headline, detected=moment_nl(event.detected_at),
        detected_iso=_iso(event.detected_at),
        documents=tuple(group_documents(payload.get("documents") or [], dutch_date(event.detected_at))),
        reason=_str(payload.get("reason")),
        reason_label="Toelichting" if event.type == "commitment.overdue" else "Waarom gekoppeld",
        retracted=event.status == "retracted", quote=_str(promise.get("quote")) if promise else None,
    )


@dataclass(frozen=True, slots=True)
class PromiseLine:
    letter: Letter | None
    letter_file: str
    letter_date: dt.date | None
    line: int | None
    quote: str
    as_written: str | None
    due: dt.date | None
    open_ended: bool
    stage: Stage
    state: str
    sentence: str
    counts: bool  # the latest promise: its deadline is the commitment's


def promise_lines(item: Item, snapshot: Snapshot) -> list[PromiseLine]:
    lines = []
    for index, p in enumerate(item.view.promises):
        v = judge(p, item.stage_dates, snapshot.today)
        letter = snapshot.letters.get(letter_id(p.letter))
        lines.append(PromiseLine(
            letter=letter, letter_file=p.letter,
            letter_date=item.letter_dates[index] if index < len(item.letter_dates) else None,
            line=p.line, quote=p.quote, as_written=p.as_written, due=p.due, open_ended=p.open_ended,
            stage=p.stage, state=v.label, sentence=v.sentence(snapshot.today), counts=p is item.latest,
        ))
    return lines


@dataclass(frozen=True, slots=True)
class PastView:
    day: str | None
    day_iso: str | None
    stage: str | None
    kind: str
    title: str
    ident: str
    link: Link | None


def past_views(past: Sequence[HistoryItem]) -> list[PastView]:
    out = []
    for h in past:
        url = safe_url(h.url)
        out.append(PastView(day=date_nl(h.date) if h.date else None, day_iso=h.date.isoformat() if h.date else None,
                            stage=DUTCH[h.stage] if h.stage else None, kind=h.kind or "stuk", title=h.title,
                            ident=h.id, link=Link(url, "Tweede Kamer" if h.source == "tk" else
                                                  "officielebekendmakingen.nl" if h.source == "ob" else h.source)
                            if url else None))
    return out


def commitment(snapshot: Snapshot, item: Item, events: Sequence[EventRow], past: Sequence[HistoryItem],
               seed_letters: Iterable[str]) -> str:
    slug_q = urllib.parse.quote(item.slug)
    ministry_q = urllib.parse.quote(item.view.ministry)
    feeds = [Link(f"/toezegging/{slug_q}.atom", f"wetwacht: {item.view.title}"),
             Link(f"/ministerie/{ministry_q}.atom", f"wetwacht: gebeurtenissen van {item.view.ministry}"),
             *_site_feeds()]
    steps: list[Step] = path(item.view.stage, item.stage_dates, item.latest.stage if item.latest else None)
    return _render("commitment.html", snapshot=snapshot, item=item, v=item.view, verdict=item.verdict,
                   promises=promise_lines(item, snapshot), steps=steps,
                   events=[event_view(e) for e in events], past=past_views(past), feeds=feeds,
                   calendars=[Link(f"/toezegging/{slug_q}.ics", f"wetwacht: termijnen van {item.view.title}")],
                   seed_letters=set(seed_letters), slug_q=slug_q, ministry_q=ministry_q,
                   dossier_url=lambda d: TK_DOSSIER_URL.format(dossier=d) if DOSSIER_RE.match(d) else None,
                   nav=None)


# ------------------------------------------------------------------------------------------ other pages


@dataclass(frozen=True, slots=True)
class SourceHealth:
    name: str
    label: str
    state: str  # ok | failing | late | never
    verdict: str
    last_success: str
    last_success_iso: str | None
    ago: str | None
    last_attempt: str
    failures: int
    error: str | None
    requests: int
    items: int
    duration_ms: int


def _ago(moment: dt.datetime, now: dt.datetime) -> str:
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 90:
        return "zojuist"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} minuten geleden"
    if seconds < 36 * 3600:
        hours = round(seconds / 3600)
        return "1 uur geleden" if hours == 1 else f"{hours} uur geleden"
    return f"{span_nl(seconds // 86400)} geleden"


def source_health(rows: Sequence[SourceStateRow], now: dt.datetime, poll_seconds: int) -> list[SourceHealth]:
    out = []
    for r in rows:
        if r.last_attempt_at is None and r.last_success_at is None:
            state, text = "never", "nog nooit gepeild"
        elif r.consecutive_failures > 0:
            n = r.consecutive_failures
            state = "failing"
            text = f"storing: de laatste {n} pogingen mislukten" if n > 1 else "storing: de laatste poging mislukte"
        elif r.last_success_at is not None and (now - r.last_success_at).total_seconds() > 3 * poll_seconds + 60:
            state, text = "late", "achter: al langer dan drie pollrondes geen geslaagde poll"
        else:
            state, text = "ok", "in orde: stilte betekent dat er niets nieuws is"
        kind = (r.last_error or "").split(":", 1)[0].strip()
        error = ERROR_LABEL.get(kind, "onbekende fout") if r.last_error else None
        out.append(SourceHealth(
            name=r.name, label=SOURCE_LABEL.get(r.name, r.name), state=state, verdict=text,
            last_success=moment_nl(r.last_success_at) if r.last_success_at else "nooit",
            last_success_iso=_iso(r.last_success_at) if r.last_success_at else None,
            ago=_ago(r.last_success_at, now) if r.last_success_at else None,
            last_attempt=moment_nl(r.last_attempt_at) if r.last_attempt_at else "nooit",
            failures=r.consecutive_failures, error=error, requests=r.last_requests, items=r.last_items,
            duration_ms=r.last_duration_ms,
        ))
    return out


def status(rows: Sequence[SourceStateRow], now: dt.datetime, poll_seconds: int) -> str:
    return _render("status.html", sources=source_health(rows, now, poll_seconds), now=moment_nl(now),
                   poll_minutes=max(1, round(poll_seconds / 60)), feeds=_site_feeds(), calendars=[],
                   nav="/status")


def letter(info: Letter, text: str) -> str:
    return _render("letter.html", letter=info, lines=text.splitlines(), feeds=_site_feeds(), calendars=[], nav=None)


def api_docs(spec: Mapping[str, Any]) -> str:
    return _render("api.html", spec=spec, feeds=_site_feeds(), calendars=[], nav="/api")


def error(status_code: int, title: str, message: str, suggestions: Sequence[str] = ()) -> str:
    return _render("error.html", status_code=status_code, title=title, message=message,
                   suggestions=list(suggestions), feeds=_site_feeds(), calendars=[], nav=None)
