"""The bot's messages, in Dutch, as Telegram HTML. Pure functions: facts in, message texts out.

Every outside text (titles, quotes, reasons, URLs — anything from the record, the catalog or a person) goes
through `esc`. A message is built from blocks, each a piece of well-formed HTML; `pack` puts blocks into
messages of at most `LIMIT` characters, so a long timeline is split between blocks, never inside a tag. Fields
that can be long are cut on their raw text before escaping, so a single block always fits.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.dutch import date_nl, span_nl
from matchers.stages import DUTCH, Stage, furthest, keeps
from storage.catalog_repo import CommitmentView, PromiseView

LIMIT = 4096  # Telegram's limit on a message's text, counted in UTF-16 code units after entity parsing
MAX_DOCUMENTS = 12
DOCUMENTS_PER_BLOCK = 4
TIMELINE_PER_BLOCK = 5
KIND_DUTCH = {
    "wetsvoorstel": "wetsvoorstel", "grondwetsvoorstel": "grondwetsvoorstel", "rijkswet": "rijkswetsvoorstel",
    "amvb": "AMvB", "kamerbrief": "Kamerbrief", "visie": "visie", "evaluatie": "evaluatie", "monitor": "monitor",
    "other": "overig",
}


def esc(text: object) -> str:
    """Escape outside text for Telegram HTML (`<`, `>`, `&` and quotes)."""
    return html.escape(str(text), quote=True)


def cut(text: str, limit: int) -> str:
    """`text` collapsed to one line and cut to `limit` characters at a word boundary, with an ellipsis."""
    value = " ".join(str(text).split())
    if len(value) <= limit:
        return value
    head = value[: limit - 1]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip(" ,;:") + "…"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def pack(blocks: Iterable[str], limit: int = LIMIT, separator: str = "\n\n") -> list[str]:
    """Blocks joined into as few messages as fit in `limit` each. The HTML source is measured, which is
    never shorter than the parsed text Telegram counts, so a packed message is never too long."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        if utf16_len(block) > limit:  # cannot happen for blocks built here; cut as plain text to stay valid
            block = esc(cut(html.unescape(_strip_tags(block)), limit // 2))
        candidate = f"{current}{separator}{block}" if current else block
        if utf16_len(candidate) <= limit:
            current = candidate
        else:
            messages.append(current)
            current = block
    if current:
        messages.append(current)
    return messages


def _strip_tags(text: str) -> str:
    out, depth = [], 0
    for ch in text:
        if ch == "<":
            depth += 1
        elif ch == ">" and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return "".join(out)


# ------------------------------------------------------------------------------------------ dates


def promise_vs_reality(promise: PromiseView | None, reached: Stage | None, on: dt.date,
                       kept_on: dt.date | None = None) -> str | None:
    """"beloofd: Q2 2026 (uiterlijk 30 juni 2026) — 4 maanden te laat" for the promise that counts."""
    if promise is None:
        return None
    written = promise.as_written or "zonder termijn"
    head = f"beloofd: {written}"
    if promise.due is not None and promise.as_written and not promise.as_written.strip()[:1].isdigit():
        head += f" (uiterlijk {date_nl(promise.due)})" if not promise.open_ended else " (zonder einddatum)"
    if promise.due is None or promise.open_ended:
        state = "gehaald" if keeps(reached, promise.stage) else f"nog niet {DUTCH[promise.stage]}"
        return f"{head} — {state}"
    if keeps(reached, promise.stage):
        when = kept_on or on
        late = (when - promise.due).days
        if late > 0:
            return f"{head} — {span_nl(late)} te laat gehaald"
        return f"{head} — op tijd" + (f", {span_nl(-late)} voor de termijn" if late < 0 else "")
    overdue = (on - promise.due).days
    if overdue > 0:
        return f"{head} — {span_nl(overdue)} te laat"
    if overdue == 0:
        return f"{head} — de termijn verloopt vandaag"
    return f"{head} — nog {span_nl(-overdue)}"


def latest_promise(view: CommitmentView | None) -> PromiseView | None:
    """The promise whose deadline counts: the latest one (the read model keeps letter order)."""
    if view is None or not view.promises:
        return None
    dated = [p for p in view.promises]
    return dated[-1] if view.due is None else next((p for p in reversed(dated) if p.due == view.due), dated[-1])


# ------------------------------------------------------------------------------------------ alerts


def _document_line(doc: Mapping[str, Any]) -> str:
    kind = cut(str(doc.get("type") or "document"), 80)
    title = cut(str(doc.get("title") or ""), 220)
    ident = doc.get("kst") or doc.get("id") or ""
    url = doc.get("url")
    label = f"<a href=\"{esc(url)}\">{esc(kind)}</a>" if isinstance(url, str) and url.startswith("http") else \
        f"<b>{esc(kind)}</b>"
    bits = [b for b in (esc(cut(str(ident), 60)) if ident else "", date_nl(doc.get("date")) if doc.get("date")
                        else "") if b]
    line = f"• {label}"
    if title and title.casefold() != kind.casefold():
        line += f" — {esc(title)}"
    if bits:
        line += f" <i>({', '.join(bits)})</i>"
    return line


def _documents_blocks(documents: Sequence[Mapping[str, Any]]) -> list[str]:
    """The documents, a few per block (a block must fit one message even with the longest fields)."""
    if not documents:
        return []
    lines = [_document_line(d) for d in documents[:MAX_DOCUMENTS]]
    if len(documents) > MAX_DOCUMENTS:
        lines.append(f"• … en nog {len(documents) - MAX_DOCUMENTS} stukken")
    chunks = [lines[i:i + DOCUMENTS_PER_BLOCK] for i in range(0, len(lines), DOCUMENTS_PER_BLOCK)]
    return ["<b>Stukken</b>\n" + "\n".join(chunks[0]), *("\n".join(c) for c in chunks[1:])]


def alert_blocks(event: Mapping[str, Any], view: CommitmentView | None, today: dt.date) -> list[str]:
    """The blocks of one alert: what moved, the documents, why it matched, the promise against reality."""
    commitment = event.get("commitment") or {}
    slug = str(commitment.get("slug", ""))
    title = cut(str(commitment.get("title", slug)), 250)
    etype = event.get("type")
    stage = _stage(event.get("stage"))
    detected = _day(event.get("detected_at")) or today
    if etype == "commitment.overdue":
        head = f"⏰ <b>Termijn verstreken</b>: {esc(title)}"
        promised = DUTCH[stage] if stage else "de beloofde stap"
        line = f"Beloofd was: <b>{esc(promised)}</b>. Dat is niet gezien."
    elif etype == "commitment.stage":
        head = f"🔔 <b>{esc(title)}</b>"
        line = f"Nieuwe fase: <b>{esc(DUTCH[stage]) if stage else 'onbekend'}</b>"
    else:
        head = f"📄 <b>{esc(title)}</b>"
        line = "Nieuw stuk" + (f" (fase: {esc(DUTCH[stage])})" if stage else "")
    blocks = [f"{head}\n{line}"]
    blocks.extend(_documents_blocks(list(event.get("documents") or [])))
    promise = event.get("promise")
    if etype == "commitment.overdue" and isinstance(promise, Mapping):
        quote = cut(str(promise.get("quote", "")), 400)
        blocks.append(f"<b>De belofte</b>\n<i>“{esc(quote)}”</i>\n{esc(_letter_ref(promise))}")
    reason = cut(str(event.get("reason") or ""), 700)
    if reason and etype != "commitment.overdue":
        blocks.append(f"<b>Waarom</b>: {esc(reason)}")
    # The event itself is evidence of its stage, even before the read model shows it.
    reached = furthest([s for s in (view.stage if view else None, stage if etype == "commitment.stage" else None)
                        if s is not None])
    reality = promise_vs_reality(latest_promise(view), reached, today,
                                 kept_on=detected if etype == "commitment.stage" else None)
    footer = []
    if reality:
        footer.append(esc(reality[:1].upper() + reality[1:]))
    footer.append(f"Toezegging: <code>{esc(slug)}</code> · /status {esc(slug)}")
    blocks.append("\n".join(footer))
    return blocks


def _letter_ref(promise: Mapping[str, Any]) -> str:
    letter, line = promise.get("letter"), promise.get("line")
    written = promise.get("as_written")
    ref = f"{letter}, regel {line}" if line else str(letter)
    return f"{ref} — termijn: {written}" if written else ref


def _stage(value: Any) -> Stage | None:
    try:
        return Stage(value) if value else None
    except ValueError:
        return None


def _day(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def alert(event: Mapping[str, Any], view: CommitmentView | None, today: dt.date) -> list[str]:
    """One alert as the messages to send (one, unless an event lists very many documents)."""
    return pack(alert_blocks(event, view, today))


def review(event: Mapping[str, Any], view: CommitmentView | None, today: dt.date) -> list[str]:
    """A doubtful match as the maintainers see it before anyone else does."""
    eid = esc(event.get("id", ""))
    head = ("🟡 <b>Twijfelachtige koppeling</b> — nog niet verstuurd.\n"
            f"Klopt dit? Kies hieronder, of stuur /confirm {eid} of /reject {eid}.")
    return pack([head, *alert_blocks(event, view, today)])


def digest(events: Sequence[Mapping[str, Any]], period: str, views: Mapping[str, CommitmentView],
           today: dt.date) -> list[str]:
    """A daily or weekly overview: one short block per event."""
    label = "Dagoverzicht" if period == "daily" else "Weekoverzicht"
    blocks = [f"📬 <b>{label} wetwacht</b> — {len(events)} melding{'en' if len(events) != 1 else ''}"]
    for event in events:
        commitment = event.get("commitment") or {}
        slug = str(commitment.get("slug", ""))
        stage = _stage(event.get("stage"))
        what = {"commitment.stage": f"nieuwe fase: {DUTCH[stage]}" if stage else "nieuwe fase",
                "commitment.overdue": "termijn verstreken",
                }.get(str(event.get("type")), "nieuw stuk")
        lines = [f"• <b>{esc(cut(str(commitment.get('title', slug)), 200))}</b> — {esc(what)}"]
        documents = list(event.get("documents") or [])
        if documents:
            lines.append("  " + _document_line(documents[0]).removeprefix("• ")
                         + (f" <i>(+{len(documents) - 1})</i>" if len(documents) > 1 else ""))
        reality = promise_vs_reality(latest_promise(views.get(slug)), views[slug].stage if slug in views else None,
                                     today)
        if reality:
            lines.append(f"  {esc(reality)}")
        lines.append(f"  /status {esc(slug)}")
        blocks.append("\n".join(lines))
    return pack(blocks)


# -------------------------------------------------------------------------------------- catalog views

PAGE_SIZE = 8


def list_page(views: Sequence[CommitmentView], page: int, label: str | None) -> tuple[str, int, int]:
    """One page of the catalog list: (text, page shown, number of pages)."""
    pages = max(1, math.ceil(len(views) / PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = views[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    head = f"📋 <b>Toezeggingen</b>{f' — {esc(label)}' if label else ''} ({len(views)}, pagina {page + 1}/{pages})"
    lines = [head]
    if not views:
        lines.append("Geen toezeggingen gevonden. Filter op een ministerie (BZK, JenV, …), een brief (000 … 004) "
                     "of <code>te-laat</code>.")
    for v in shown:
        stage = DUTCH[v.stage] if v.stage else "nog niets gezien"
        due = latest_promise(v)
        when = f"termijn {due.as_written}" if due and due.as_written else "geen termijn"
        flag = " ⚠️ <b>te laat</b>" if v.overdue else ""
        lines.append(f"\n• <b>{esc(cut(v.title, 120))}</b>\n  <code>{esc(v.slug)}</code> · {esc(v.ministry)} · "
                     f"{esc(stage)} · {esc(cut(when, 60))}{flag}")
    return "\n".join(lines), page, pages


def status_blocks(view: CommitmentView, events: Sequence[Mapping[str, Any]], letters: Mapping[str, str],
                  today: dt.date) -> list[str]:
    """`/status SLUG`: what was promised where, what the record shows, and the timeline."""
    stage = DUTCH[view.stage] if view.stage else "nog niets gezien in het officiële record"
    head = [f"📌 <b>{esc(cut(view.title, 250))}</b>",
            f"<code>{esc(view.slug)}</code> · {esc(KIND_DUTCH.get(view.kind, view.kind))} · {esc(view.ministry)}",
            f"Fase: <b>{esc(stage)}</b>" + (" · ⚠️ <b>te laat</b>" if view.overdue else "")]
    if view.dossiers:
        head.append("Dossier: " + ", ".join(
            f"<a href=\"https://www.tweedekamer.nl/kamerstukken/dossiers?dossier={esc(d)}\">{esc(d)}</a>"
            for d in view.dossiers))
    reality = promise_vs_reality(latest_promise(view), view.stage, today)
    if reality:
        head.append(esc(reality[:1].upper() + reality[1:]))
    blocks = ["\n".join(head)]
    for p in view.promises:
        source = letters.get(p.letter, "beheerder" if p.letter == "telegram" else p.letter)
        where = f"{source}, regel {p.line}" if p.line else source
        timing = p.as_written or "geen termijn genoemd"
        state = "✅ gehaald" if p.kept else ("⚠️ te laat" if p.overdue else "⏳ open")
        blocks.append(f"<b>Belofte</b> ({esc(cut(where, 150))})\n<i>“{esc(cut(p.quote, 350))}”</i>\n"
                      f"Termijn: {esc(cut(timing, 80))}"
                      + (f" (uiterlijk {date_nl(p.due)})" if p.due and not p.open_ended else "")
                      + f" · beloofd: {esc(DUTCH[p.stage])} · {state}")
    if events:
        lines = [timeline_line(e) for e in events]
        chunks = [lines[i:i + TIMELINE_PER_BLOCK] for i in range(0, len(lines), TIMELINE_PER_BLOCK)]
        blocks.append("<b>Tijdlijn</b>\n" + "\n".join(chunks[0]))
        blocks.extend("\n".join(c) for c in chunks[1:])
    else:
        blocks.append("<b>Tijdlijn</b>\nNog geen meldingen.")
    return blocks


def timeline_line(event: Mapping[str, Any]) -> str:
    stage = _stage(event.get("stage"))
    what = {"commitment.stage": DUTCH[stage] if stage else "nieuwe fase",
            "commitment.overdue": "termijn verstreken"}.get(str(event.get("type")), "nieuw stuk")
    docs = list(event.get("documents") or [])
    first = docs[0] if docs else None
    line = f"• {date_nl(_day(event.get('detected_at')))}: {esc(what)}"
    if first:
        line += " — " + _document_line(first).removeprefix("• ")
    return line
