"""Atom feeds of events (all, one commitment's, one ministry's) with feedgen, and ICS calendars of promised
deadlines (all, one commitment's) with icalendar. An entry's id is the event's id; an entry tells the event in
plain Dutch with its document links. Outside text is escaped by building the entry HTML with markupsafe and
by the libraries' own XML and iCalendar escaping.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import urllib.parse
from collections.abc import Sequence

from feedgen.feed import FeedGenerator
from icalendar import Calendar
from icalendar import Event as VEvent
from markupsafe import Markup, escape

from bot.dutch import date_nl
from bot.web.model import judge, stage_label
from bot.web.pages import event_view
from bot.web.snapshot import Item, Snapshot
from storage.models import EventRow

ATOM = "application/atom+xml; charset=utf-8"
ICS = "text/calendar; charset=utf-8"
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # `updated` of a feed without entries: a fixed moment


def _entry_html(event: EventRow, page: str) -> str:
    view = event_view(event)
    title = str((event.payload.get("commitment") or {}).get("title") or event.slug)
    parts = [Markup("<p><strong>{}</strong>: {}.</p>").format(title, view.headline)]
    if view.quote:
        parts.append(Markup("<blockquote>{}</blockquote>").format(view.quote))
    if view.documents:
        items = []
        for d in view.documents:
            links = Markup(" · ").join(Markup('<a href="{}">{}</a>').format(link.href, link.title)
                                       for link in d.links)
            label = Markup("{}: {}").format(d.kind, d.title) if d.title and d.title != d.kind else escape(d.kind)
            when = f", {d.day}" if d.day else ""
            items.append(Markup("<li>{} ({}{}){}</li>").format(label, d.ident, when,
                                                                Markup(" — ") + links if d.links else ""))
        parts.append(Markup("<p>Stukken:</p><ul>{}</ul>").format(Markup("").join(items)))
    if view.reason:
        parts.append(Markup("<p>{}: {}</p>").format(view.reason_label, view.reason))
    if view.retracted:
        parts.append(Markup("<p>Deze gebeurtenis is teruggetrokken: de stukken zijn bij de bron ingetrokken.</p>"))
    parts.append(Markup('<p><a href="{}">Alles over deze toezegging</a></p>').format(page))
    return str(Markup("").join(parts))


def atom(events: Sequence[EventRow], *, base: str, self_path: str, page_path: str, title: str,
         subtitle: str) -> bytes:
    """An Atom feed of `events` (newest first). `base` is the site's absolute URL without a trailing slash."""
    fg = FeedGenerator()
    fg.id(base + self_path)
    fg.title(title)
    fg.subtitle(subtitle)
    fg.author({"name": "wetwacht"})
    fg.language("nl")
    fg.link(href=base + page_path, rel="alternate", type="text/html")
    fg.link(href=base + self_path, rel="self", type="application/atom+xml")
    fg.updated(max((e.detected_at for e in events), default=EPOCH))
    for event in events:
        page = f"{base}/toezegging/{urllib.parse.quote(event.slug)}#{urllib.parse.quote(event.id)}"
        view = event_view(event)
        ctitle = str((event.payload.get("commitment") or {}).get("title") or event.slug)
        fe = fg.add_entry(order="append")
        fe.id(event.id)
        fe.title(f"{ctitle}: {view.headline}")
        fe.updated(event.detected_at)
        fe.published(event.detected_at)
        fe.link(href=page, rel="alternate", type="text/html")
        fe.category(term=event.type)
        fe.content(_entry_html(event, page), type="html")
    result: bytes = fg.atom_str(pretty=False)
    return result


def _uid(slug: str, letter: str, line: int | None, quote: str) -> str:
    digest = hashlib.sha256("\x1f".join((slug, letter, str(line), quote)).encode("utf-8")).hexdigest()[:20]
    return f"{digest}.{slug}@wetwacht"


def _vevents(item: Item, snapshot: Snapshot, base: str, *, every_promise: bool) -> list[VEvent]:
    out: list[VEvent] = []
    page = f"{base}/toezegging/{urllib.parse.quote(item.slug)}"
    promises = item.view.promises if every_promise else ((item.latest,) if item.latest else ())
    for index, p in enumerate(item.view.promises):
        if p not in promises or p.due is None:
            continue
        v = judge(p, item.stage_dates, snapshot.today)
        if p is item.latest:
            v = item.verdict
        written = p.as_written or date_nl(p.due)
        summary = f"{item.view.title}: {written}"
        if p is not item.latest:
            summary += " (eerdere belofte)"
        letter_day = item.letter_dates[index] if index < len(item.letter_dates) else snapshot.today
        letter = snapshot.letters.get(p.letter.split("_", 1)[0])
        description = "\n".join([
            f"Beloofd: {stage_label(p.stage)}, {written}" + (" (niet vóór deze datum)" if p.open_ended else
                                                              f" (uiterlijk {date_nl(p.due)})"),
            f"“{p.quote}”",
            f"Brief: {letter.name if letter else p.letter}" + (f", regel {p.line}" if p.line else ""),
            f"Status: {v.label} ({v.sentence(snapshot.today)})",
            f"Bereikt: {stage_label(item.view.stage)}",
            page,
        ])
        ev = VEvent()
        ev.add("uid", _uid(item.slug, p.letter, p.line, p.quote))
        ev.add("dtstamp", dt.datetime.combine(letter_day, dt.time(), tzinfo=dt.UTC))
        ev.add("dtstart", p.due)
        ev.add("dtend", p.due + dt.timedelta(days=1))
        ev.add("summary", summary)
        ev.add("description", description)
        ev.add("url", page)
        ev.add("transp", "TRANSPARENT")
        ev.add("categories", [v.label])
        out.append(ev)
    return out


def calendar(items: Sequence[Item], snapshot: Snapshot, *, base: str, name: str, every_promise: bool) -> bytes:
    """An ICS calendar with an all-day event on each promised deadline: the deadline that counts (the latest
    promise's) for each of `items`, or every promise's when `every_promise`."""
    cal = Calendar()
    cal.add("prodid", "-//wetwacht//termijnen//NL")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    for item in items:
        for ev in _vevents(item, snapshot, base, every_promise=every_promise):
            cal.add_component(ev)
    result: bytes = cal.to_ical()
    return result
