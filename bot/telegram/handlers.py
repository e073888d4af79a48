"""The Telegram bot's commands (CONTRACT.md "Telegram commands"), in Dutch, for everyone and for maintainers.

Handlers are thin: parse the message, call `storage.curation` in one transaction, answer with a text from
`bot.telegram.render`. Whatever a person types is treated as data: length-capped, never interpreted as HTML
(every echo is escaped), never allowed to change anything unless the sender is a maintainer. A refused or
malformed request gets an answer that says what to do instead, and nothing changes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    ExtBot,
    MessageHandler,
    filters,
)

from bot.dutch import date_nl
from bot.telegram import render
from bot.telegram.render import esc
from matchers.deadlines import dutch_date
from storage import curation
from storage.catalog_repo import CommitmentView, commitment_views
from storage.curation import CurationError, QueueFn
from storage.db import session_scope
from storage.models import ChatRow, EventRow

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]
Context = CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], dict[Any, Any]]
Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]

MAX_ARGUMENT = 600  # characters of a command's arguments we look at; more is refused
TIMELINE = 15

PUBLIC_COMMANDS = [
    ("start", "Wat wetwacht doet en hoe u begint"),
    ("help", "Alle commando's met een voorbeeld"),
    ("lijst", "De toezeggingen, per ministerie of brief"),
    ("status", "Tijdlijn van één toezegging: /status lobbyregister"),
    ("volg", "Volg een toezegging, een ministerie of alles"),
    ("ontvolg", "Stop met volgen"),
    ("mijn", "Wat u volgt en hoe vaak u meldingen krijgt"),
    ("digest", "Meldingen direct, dagelijks of wekelijks"),
]
MAINTAINER_COMMANDS = [
    ("add", "Nieuwe toezegging: /add TITEL | ALIAS, ALIAS"),
    ("alias", "Alias toevoegen: /alias SLUG ALIAS"),
    ("exclude", "Uitsluitwoord: /exclude SLUG WOORD"),
    ("deadline", "Termijn: /deadline SLUG Q2 2027"),
    ("link", "Dossier koppelen: /link SLUG 36742"),
    ("unlink", "Koppeling opheffen: /unlink SLUG 36742"),
    ("confirm", "Twijfelgeval bevestigen: /confirm EVENT_ID"),
    ("reject", "Twijfelgeval afwijzen: /reject EVENT_ID"),
]

DIGEST_WORDS = {"direct": "immediate", "immediate": "immediate", "meteen": "immediate", "dagelijks": "daily",
                "daily": "daily", "dag": "daily", "wekelijks": "weekly", "weekly": "weekly", "week": "weekly"}
DIGEST_DUTCH = {"immediate": "direct", "daily": "dagelijks", "weekly": "wekelijks"}


@dataclass
class BotDeps:
    """What the handlers need; kept in `application.bot_data["deps"]`."""

    engine: Engine
    maintainers: frozenset[int]
    queue: QueueFn
    letters: Mapping[str, str] = field(default_factory=dict)
    clock: Clock = field(default=lambda: dt.datetime.now(dt.UTC))


def _deps(context: Context) -> BotDeps:
    deps = context.application.bot_data["deps"]
    assert isinstance(deps, BotDeps)
    return deps


def _arguments(message: Message) -> str:
    """Everything after the command word (and its @botname)."""
    text = message.text or ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def _reply(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    for i, part in enumerate(render.pack([text])):
        await message.reply_text(part, parse_mode=ParseMode.HTML, disable_web_page_preview=True,
                                 reply_markup=markup if i == 0 else None)


def _user_id(update: Update) -> int | None:
    return update.effective_user.id if update.effective_user else None


def _chat(update: Update, deps: BotDeps) -> int | None:
    chat = update.effective_chat
    if chat is None:
        return None
    with session_scope(deps.engine) as session:
        curation.ensure_chat(session, chat.id, chat.type, deps.clock())
    return chat.id


# ------------------------------------------------------------------------------------------ everyone

WELCOME = (
    "👋 <b>wetwacht</b> houdt het kabinet aan zijn eigen beloften.\n\n"
    "In zijn brieven belooft het kabinet wetsvoorstellen en Kamerbrieven met een termijn "
    "(“Wetsvoorstel lobbyregister: Q2 2027”). wetwacht kent die beloften en leest het officiële record mee: de "
    "open data van de Tweede Kamer en officielebekendmakingen.nl. Zodra een belofte beweegt — advies van de Raad "
    "van State, ingediend bij de Kamer, stemming, Staatsblad — of de termijn verstrijkt zonder resultaat, krijgt u "
    "bericht, met de stukken en de belofte ernaast.\n\n"
    "<b>Zo begint u</b>\n"
    "1. /lijst — bekijk de toezeggingen (filter: <code>/lijst BZK</code>, <code>/lijst te-laat</code>)\n"
    "2. /volg <code>lobbyregister</code> — volg er één (of <code>/volg BZK</code>, <code>/volg alles</code>)\n"
    "3. /digest — kies direct, dagelijks of wekelijks\n\n"
    "Alle commando's: /help"
)


async def cmd_start(update: Update, context: Context) -> None:
    deps = _deps(context)
    if update.effective_message is None or _chat(update, deps) is None:
        return
    await _reply(update.effective_message, WELCOME)


async def cmd_help(update: Update, context: Context) -> None:
    deps = _deps(context)
    message = update.effective_message
    if message is None:
        return
    lines = [
        "<b>Commando's</b>",
        "/lijst of /list — alle toezeggingen, met knoppen om te bladeren. Filter: <code>/lijst JenV</code>, "
        "<code>/lijst 003</code> (een brief), <code>/lijst te-laat</code>, <code>/lijst referendum</code>",
        "/status <code>SLUG</code> — beloften, stukken en fase: <code>/status lobbyregister</code>",
        "/volg <code>SLUG</code> (of /subscribe) — <code>/volg lobbyregister</code>, <code>/volg BZK</code>, "
        "<code>/volg alles</code>",
        "/ontvolg <code>SLUG</code> (of /unsubscribe) — <code>/ontvolg lobbyregister</code>, "
        "<code>/ontvolg alles</code> stopt alles",
        "/mijn of /mine — wat u volgt",
        "/digest — <code>/digest dagelijks</code>, <code>/digest wekelijks</code> of <code>/digest direct</code>",
    ]
    if _user_id(update) in deps.maintainers:
        lines += [
            "",
            "<b>Voor beheerders</b>",
            "/add <code>TITEL | ALIAS, ALIAS</code> — <code>/add Wetsvoorstel open overheid | Wet open overheid, "
            "Woo-wijziging</code> (optioneel daarna <code>| TERMIJN | SOORT | MINISTERIE</code>)",
            "/alias <code>SLUG ALIAS</code> — <code>/alias lobbyregister Wet transparantie lobby</code>",
            "/exclude <code>SLUG WOORD</code> — <code>/exclude lobbyregister lobbyverbod</code>",
            "/deadline <code>SLUG TERMIJN</code> — <code>/deadline lobbyregister Q2 2027</code>",
            "/link <code>SLUG DOSSIER</code> — <code>/link wet-politieke-partijen 36742</code>",
            "/unlink <code>SLUG DOSSIER</code> — <code>/unlink wet-politieke-partijen 36742</code>",
            "/confirm <code>EVENT_ID</code> · /reject <code>EVENT_ID</code> — een twijfelgeval beslissen",
        ]
    await _reply(message, "\n".join(lines))


def _filter(views: list[CommitmentView], text: str) -> tuple[list[CommitmentView], str | None]:
    value = text.strip()
    if not value:
        return views, None
    low = value.casefold()
    ministry = curation.ministry_name(value)
    if ministry is not None:
        return [v for v in views if v.ministry == ministry], ministry
    if low in ("te-laat", "telaat", "te laat", "overdue", "laat"):
        return [v for v in views if v.overdue], "te laat"
    if low.isdigit() and len(low) <= 3:
        prefix = low.zfill(3)
        return [v for v in views if any(letter.startswith(prefix) for letter in v.letters)], f"brief {prefix}"
    if low in ("regeerprogramma", "bijlage2", "bijlage 2"):
        return [v for v in views if any(letter.startswith("003") for letter in v.letters)], "Regeerprogramma"
    words = low.split()
    found = [v for v in views if all(w in f"{v.slug} {v.title}".casefold() for w in words)]
    return found, f"“{render.cut(value, 30)}”"


def _list_markup(page: int, pages: int, flt: str) -> InlineKeyboardMarkup | None:
    if pages <= 1:
        return None
    key = flt.encode("utf-8")[:40].decode("utf-8", "ignore")
    buttons = []
    if page > 0:
        buttons.append(InlineKeyboardButton("◀ Vorige", callback_data=f"ls:{page - 1}:{key}"))
    if page < pages - 1:
        buttons.append(InlineKeyboardButton("Volgende ▶", callback_data=f"ls:{page + 1}:{key}"))
    return InlineKeyboardMarkup([buttons])


def _list(deps: BotDeps, flt: str, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    with session_scope(deps.engine) as session:
        views = commitment_views(session, dutch_date(deps.clock()))
    chosen, label = _filter(views, flt)
    text, shown, pages = render.list_page(chosen, page, label)
    return text, _list_markup(shown, pages, flt)


async def cmd_list(update: Update, context: Context) -> None:
    deps = _deps(context)
    message = update.effective_message
    if message is None or _chat(update, deps) is None:
        return
    flt = _arguments(message)[:60]
    text, markup = _list(deps, flt, 0)
    await _reply(message, text, markup)


async def on_list_page(update: Update, context: Context) -> None:
    deps = _deps(context)
    query = update.callback_query
    if query is None or query.data is None:
        return
    _, page_s, flt = ([*query.data.split(":", 2), "", ""])[:3]
    page = int(page_s) if page_s.isdigit() else 0
    text, markup = _list(deps, flt, page)
    await query.answer()
    if isinstance(query.message, Message):
        try:
            await query.message.edit_text(render.pack([text])[0], parse_mode=ParseMode.HTML,
                                          reply_markup=markup, disable_web_page_preview=True)
        except TelegramError as exc:  # "message is not modified" after a double tap: nothing to do
            log.info("list page not edited: %s", exc)


async def cmd_status(update: Update, context: Context) -> None:
    deps = _deps(context)
    message = update.effective_message
    if message is None:
        return
    arg = _arguments(message)
    if not arg:
        await _reply(message, "Welke toezegging? Bijvoorbeeld: <code>/status lobbyregister</code>. /lijst toont ze.")
        return
    slug = arg.split()[0][:120].lower()
    with session_scope(deps.engine) as session:
        views = commitment_views(session, dutch_date(deps.clock()), [slug])
        if not views:
            await _reply(message, esc(curation.unknown_slug_message(session, slug)))
            return
        events = [dict(e.payload) for e in session.exec(
            select(EventRow).where(EventRow.slug == slug, EventRow.status == "published")
            .order_by(col(EventRow.detected_at).desc()).limit(TIMELINE))]
    events.reverse()
    blocks = render.status_blocks(views[0], events, deps.letters, dutch_date(deps.clock()))
    for text in render.pack(blocks):
        await message.reply_text(text, parse_mode=ParseMode.HTML, disable_web_page_preview=True)


async def cmd_subscribe(update: Update, context: Context) -> None:
    deps = _deps(context)
    message = update.effective_message
    chat_id = _chat(update, deps)
    if message is None or chat_id is None:
        return
    arg = _arguments(message)
    if not arg:
        await _reply(message, "Wat wilt u volgen? <code>/volg lobbyregister</code>, een ministerie "
                              "(<code>/volg BZK</code>) of <code>/volg alles</code>.")
        return
    if len(arg) > 120:
        await _reply(message, "Dat is geen toezegging: een slug is kort, zoals <code>lobbyregister</code>.")
        return
    with session_scope(deps.engine) as session:
        try:
            target, label = curation.resolve_target(session, arg.split()[0])
        except CurationError as exc:
            await _reply(message, esc(exc))
            return
        new = curation.subscribe(session, chat_id, target, deps.clock())
        chat = session.get(ChatRow, chat_id)
        digest = DIGEST_DUTCH.get(chat.digest if chat else "immediate", "direct")
    if new:
        await _reply(message, f"✅ U volgt nu <b>{esc(label)}</b>. Meldingen: {digest} (wijzig met /digest).")
    else:
        await _reply(message, f"U volgde <b>{esc(label)}</b> al.")


async def cmd_unsubscribe(update: Update, context: Context) -> None:
    deps = _deps(context)
    message = update.effective_message
    chat_id = _chat(update, deps)
    if message is None or chat_id is None:
        return
    arg = _arguments(message)[:120]
    if not arg:
        await _reply(message, "Wat wilt u niet meer volgen? <code>/ontvolg lobbyregister</code>, of "
                              "<code>/ontvolg alles</code> om met alles te stoppen.")
        return
    word = arg.split()[0]
    with session_scope(deps.engine) as session:
        if word.casefold() in ("all", "alles"):
            ended = curation.unsubscribe(session, chat_id, None)
            text = f"U volgt niets meer ({ended} gestopt)." if ended else "U volgde niets."
        else:
            try:
                target, label = curation.resolve_target(session, word)
            except CurationError as exc:
                await _reply(message, esc(exc))
                return
            ended = curation.unsubscribe(session, chat_id, target)
            text = f"U volgt <b>{esc(label)}</b> niet meer." if ended else f"U volgde <b>{esc(label)}</b> niet."
    await _reply(message, text)


def _digest_markup() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Direct", callback_data="dg:immediate"),
                                  InlineKeyboardButton("Dagelijks", callback_data="dg:daily"),
                                  InlineKeyboardButton("Wekelijks", callback_data="dg:weekly")]])


async def cmd_mine(update: Update, context: Context) -> None:
    deps = _deps(context)
    message = update.effective_message
    chat_id = _chat(update, deps)
    if message is None or chat_id is None:
        return
    with session_scope(deps.engine) as session:
        targets = curation.subscriptions(session, chat_id)
        chat = session.get(ChatRow, chat_id)
        digest = DIGEST_DUTCH.get(chat.digest if chat else "immediate", "direct")
    if not targets:
        await _reply(message, "U volgt nog niets. Begin met /lijst en <code>/volg SLUG</code>.")
        return
    lines = [f"<b>U volgt</b> (meldingen: {digest})"]
    for t in targets:
        kind, _, value = t.partition(":")
        lines.append("• alle toezeggingen" if t == "all" else
                     f"• ministerie {esc(value)}" if kind == "ministry" else f"• <code>{esc(value)}</code>")
    await _reply(message, "\n".join(lines), _digest_markup())


async def cmd_digest(update: Update, context: Context) -> None:
    deps = _deps(context)
    message = update.effective_message
    chat_id = _chat(update, deps)
    if message is None or chat_id is None:
        return
    arg = _arguments(message).casefold()[:30]
    if not arg:
        await _reply(message, "Hoe vaak wilt u meldingen krijgen?", _digest_markup())
        return
    choice = DIGEST_WORDS.get(arg.split()[0])
    if choice is None:
        await _reply(message, "Kies <code>direct</code>, <code>dagelijks</code> of <code>wekelijks</code>.",
                     _digest_markup())
        return
    await _reply(message, _set_digest(deps, chat_id, choice))


def _set_digest(deps: BotDeps, chat_id: int, choice: str) -> str:
    with session_scope(deps.engine) as session:
        curation.set_digest(session, chat_id, choice, deps.clock())
    return {"immediate": "U krijgt elke melding direct.",
            "daily": "U krijgt één overzicht per dag.",
            "weekly": "U krijgt één overzicht per week."}[choice]


async def on_digest_button(update: Update, context: Context) -> None:
    deps = _deps(context)
    query = update.callback_query
    chat_id = _chat(update, deps)
    if query is None or query.data is None or chat_id is None:
        return
    choice = query.data.removeprefix("dg:")
    if choice not in DIGEST_DUTCH:
        await query.answer("Onbekende keuze.")
        return
    await query.answer(_set_digest(deps, chat_id, choice))


# ---------------------------------------------------------------------------------------- maintainers

REFUSAL = "⛔ Dit commando is alleen voor beheerders van wetwacht. Er is niets veranderd."


def maintainer_only(fn: Handler) -> Handler:
    """Refuse, politely and without any change, anyone who is not in WETWACHT_MAINTAINERS."""

    async def guarded(update: Update, context: Context) -> None:
        deps = _deps(context)
        message = update.effective_message
        user = _user_id(update)
        if message is None:
            return
        if user is None or user not in deps.maintainers:
            log.info("refused maintainer command from user %s", user)
            await _reply(message, REFUSAL)
            return
        if len(_arguments(message)) > MAX_ARGUMENT:
            await _reply(message, f"Te lang: hoogstens {MAX_ARGUMENT} tekens na het commando. Er is niets veranderd.")
            return
        try:
            await fn(update, context)
        except CurationError as exc:
            await _reply(message, f"{esc(exc)}\nEr is niets veranderd.")

    guarded.__name__ = fn.__name__
    return guarded


def _two(message: Message, usage: str) -> tuple[str, str]:
    parts = _arguments(message).split(maxsplit=1)
    if len(parts) < 2:
        raise CurationError(f"Gebruik: {usage}")
    return parts[0].lower(), parts[1]


@maintainer_only
async def cmd_add(update: Update, context: Context) -> None:
    deps = _deps(context)
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    parts = [p.strip() for p in _arguments(message).split("|")]
    if len(parts) < 2 or not parts[0]:
        raise CurationError("Gebruik: /add TITEL | ALIAS, ALIAS (optioneel: | TERMIJN | SOORT | MINISTERIE)")
    title, aliases = parts[0], [a for a in parts[1].split(",") if a.strip()]
    timing = parts[2] if len(parts) > 2 and parts[2] else None
    kind = parts[3] if len(parts) > 3 and parts[3] else None
    ministry = parts[4] if len(parts) > 4 and parts[4] else None
    with session_scope(deps.engine) as session:
        added = curation.add_commitment(session, update.effective_user.id, deps.clock(), title=title,
                                        aliases=aliases, timing=timing, kind=kind, ministry=ministry)
    due = f"\nTermijn: {esc(added.as_written)} (uiterlijk {date_nl(added.due)})" if added.as_written else \
        "\nNog geen termijn: zet er een met <code>/deadline " + esc(added.slug) + " Q2 2027</code>."
    await _reply(message, f"✅ Toegevoegd: <code>{esc(added.slug)}</code> — {esc(render.cut(title, 200))}\n"
                          f"Soort: {esc(added.kind.value)} · ministerie: {esc(added.ministry)}\n"
                          f"Aliassen: {esc(', '.join(added.aliases))}{due}\n"
                          "De volgende poll zoekt er al naar.")


@maintainer_only
async def cmd_alias(update: Update, context: Context) -> None:
    await _term(update, context, "alias", "/alias SLUG ALIAS")


@maintainer_only
async def cmd_exclude(update: Update, context: Context) -> None:
    await _term(update, context, "exclude", "/exclude SLUG WOORD")


async def _term(update: Update, context: Context, role: str, usage: str) -> None:
    deps = _deps(context)
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    slug, text = _two(message, usage)
    with session_scope(deps.engine) as session:
        added = curation.add_term(session, update.effective_user.id, deps.clock(), slug, role, text)
    what = "alias" if role == "alias" else "uitsluitwoord"
    if added:
        await _reply(message, f"✅ {what.capitalize()} “{esc(text.strip())}” toegevoegd aan <code>{esc(slug)}</code>.")
    else:
        await _reply(message, f"<code>{esc(slug)}</code> had dat {what} al.")


@maintainer_only
async def cmd_deadline(update: Update, context: Context) -> None:
    deps = _deps(context)
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    slug, timing = _two(message, "/deadline SLUG TERMIJN (bijvoorbeeld: Q2 2027, eind 2026, voor het zomerreces)")
    with session_scope(deps.engine) as session:
        promise = curation.add_deadline(session, update.effective_user.id, deps.clock(), slug, timing)
    with session_scope(deps.engine) as session:
        views = commitment_views(session, dutch_date(deps.clock()), [promise.slug])
    due = date_nl(promise.due) if promise.due else "zonder datum"
    late = "\nDie datum is al voorbij: de toezegging staat nu als te laat." if views and views[0].overdue else ""
    await _reply(message, f"✅ Termijn voor <code>{esc(slug)}</code>: {esc(promise.as_written or '')} → "
                          f"{'niet vóór ' if promise.open_ended else 'uiterlijk '}{due} "
                          f"(beloofd: {esc(promise.stage)}).{late}")


@maintainer_only
async def cmd_link(update: Update, context: Context) -> None:
    deps = _deps(context)
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    slug, dossier = _two(message, "/link SLUG DOSSIER (bijvoorbeeld: /link wet-politieke-partijen 36742)")
    with session_scope(deps.engine) as session:
        value, others = curation.link(session, update.effective_user.id, deps.clock(), slug, dossier)
    extra = f"\nLet op: dit dossier hoort ook bij {esc(', '.join(others))}." if others else ""
    await _reply(message, f"✅ Dossier {esc(value)} gekoppeld aan <code>{esc(slug)}</code>: elk nieuw stuk "
                          f"erin wordt gemeld.{extra}")


@maintainer_only
async def cmd_unlink(update: Update, context: Context) -> None:
    deps = _deps(context)
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    slug, dossier = _two(message, "/unlink SLUG DOSSIER")
    with session_scope(deps.engine) as session:
        value = curation.unlink(session, update.effective_user.id, deps.clock(), slug, dossier)
    await _reply(message, f"✅ Dossier {esc(value)} losgekoppeld van <code>{esc(slug)}</code>.")


def _decide(deps: BotDeps, user_id: int, event_id: str, confirm: bool) -> str:
    with session_scope(deps.engine) as session:
        if confirm:
            event = curation.confirm(session, user_id, deps.clock(), event_id, deps.queue)
            return (f"✅ Bevestigd: {esc(event.id)} ({esc(event.slug)}). De melding gaat naar de volgers en "
                    "webhooks.")
        event = curation.reject(session, user_id, deps.clock(), event_id)
        return f"❌ Afgewezen: {esc(event.id)} ({esc(event.slug)}). Dit stuk komt voor deze toezegging niet terug."


@maintainer_only
async def cmd_confirm(update: Update, context: Context) -> None:
    await _decide_command(update, context, True)


@maintainer_only
async def cmd_reject(update: Update, context: Context) -> None:
    await _decide_command(update, context, False)


async def _decide_command(update: Update, context: Context, confirm: bool) -> None:
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    arg = _arguments(message).split()
    if not arg:
        raise CurationError(f"Gebruik: /{'confirm' if confirm else 'reject'} EVENT_ID (uit de melding)")
    await _reply(message, _decide(_deps(context), update.effective_user.id, arg[0], confirm))


async def on_review_button(update: Update, context: Context) -> None:
    deps = _deps(context)
    query = update.callback_query
    user = _user_id(update)
    if query is None or query.data is None:
        return
    if user is None or user not in deps.maintainers:
        await query.answer("Alleen beheerders kunnen dit beslissen.", show_alert=True)
        return
    _, action, event_id = ([*query.data.split(":", 2), "", ""])[:3]
    try:
        text = _decide(deps, user, event_id, action == "c")
    except CurationError as exc:
        await query.answer(render.cut(str(exc), 190), show_alert=True)
        return
    await query.answer("Verwerkt.")
    if isinstance(query.message, Message):
        try:
            await query.message.edit_reply_markup(reply_markup=None)
        except TelegramError as exc:
            log.info("review buttons not removed: %s", exc)
        await query.message.reply_text(text, parse_mode=ParseMode.HTML)


# ------------------------------------------------------------------------------------------- the rest


async def on_unknown_command(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None:
        return
    word = (message.text or "").split(maxsplit=1)[0][:40] if message.text else ""
    await _reply(message, f"Onbekend commando {esc(word)}. /help toont wat kan.")


async def on_text(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None or update.effective_chat is None or update.effective_chat.type != "private":
        return
    await _reply(message, "Ik reageer op commando's. Begin met /lijst of /help.")


async def on_error(update: object, context: Context) -> None:
    error = context.error
    log.error("bot handler failed: %s: %s", type(error).__name__, error)
    if isinstance(update, Update) and update.effective_message is not None:
        with contextlib.suppress(TelegramError):
            await update.effective_message.reply_text("Er ging iets mis aan onze kant; probeer het later opnieuw.")


def register(application: Application[Any, Any, Any, Any, Any, Any], deps: BotDeps) -> None:
    """Put the handlers and `deps` on `application`."""
    application.bot_data["deps"] = deps
    table: list[tuple[tuple[str, ...], Handler]] = [
        (("start",), cmd_start), (("help", "hulp"), cmd_help), (("lijst", "list"), cmd_list),
        (("status",), cmd_status), (("volg", "subscribe"), cmd_subscribe),
        (("ontvolg", "unsubscribe"), cmd_unsubscribe), (("mijn", "mine"), cmd_mine), (("digest",), cmd_digest),
        (("add",), cmd_add), (("alias",), cmd_alias), (("exclude",), cmd_exclude), (("deadline",), cmd_deadline),
        (("link",), cmd_link), (("unlink",), cmd_unlink), (("confirm",), cmd_confirm), (("reject",), cmd_reject),
    ]
    for names, handler in table:
        application.add_handler(CommandHandler(list(names), handler))
    application.add_handler(CallbackQueryHandler(on_list_page, pattern=r"^ls:"))
    application.add_handler(CallbackQueryHandler(on_digest_button, pattern=r"^dg:"))
    application.add_handler(CallbackQueryHandler(on_review_button, pattern=r"^rv:[cr]:"))
    application.add_handler(MessageHandler(filters.COMMAND, on_unknown_command))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    application.add_error_handler(on_error)


async def set_commands(bot: ExtBot[Any], maintainers: frozenset[int]) -> None:
    """Register the command menus: the public one for everybody, the longer one in each maintainer's chat."""
    public = [BotCommand(name, text) for name, text in PUBLIC_COMMANDS]
    await bot.set_my_commands(public, scope=BotCommandScopeDefault())
    for user_id in sorted(maintainers):
        try:
            await bot.set_my_commands(public + [BotCommand(n, t) for n, t in MAINTAINER_COMMANDS],
                                      scope=BotCommandScopeChat(user_id))
        except TelegramError as exc:  # a maintainer who never wrote to the bot has no chat yet
            log.info("maintainer menu for %s not set: %s", user_id, exc)

