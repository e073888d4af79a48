"""Telegram delivery: alerts to chats, doubtful matches to maintainers, daily and weekly digests.

The bot is python-telegram-bot's `ExtBot` with its `AIORateLimiter` (aiolimiter underneath) configured as a
leaky bucket without bursts: at most 30 messages a second overall and 20 a minute per group. On top of that
this channel spaces messages to one chat at least a second apart. A `RetryAfter` from Telegram is not slept
through in the worker: it becomes a `DeliveryError` with `retry_after`, and the outbox schedules the row for
then. A chat that blocked the bot, or no longer exists, is paused (no more rows are queued for it) until it
writes to the bot again; a group that became a supergroup is moved to its new id and served there.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import col, select
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bot.channels.base import Attempt, DeliveryError
from bot.telegram import render
from matchers.deadlines import dutch_date
from storage.catalog_repo import CommitmentView, commitment_views
from storage.db import session_scope
from storage.models import ChatRow, DeliveryRow, EventRow, SubscriptionRow

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], Awaitable[None]]

MESSAGES_PER_SECOND = 30.0
GROUP_MESSAGES_PER_MINUTE = 20.0
PER_CHAT_INTERVAL = 1.0
CONNECTIONS = 24
SAFETY = 0.98


def rate_limiter(per_second: float = MESSAGES_PER_SECOND,
                 group_per_minute: float = GROUP_MESSAGES_PER_MINUTE) -> AIORateLimiter:
    """Telegram's broadcast limits as leaky buckets of one message (no bursts above the rate), 2% under the
    published rate so that the edges of any one-second window never hold one message too many."""
    return AIORateLimiter(overall_max_rate=1, overall_time_period=1 / (per_second * SAFETY),
                          group_max_rate=1, group_time_period=60 / (group_per_minute * SAFETY), max_retries=0)


def make_bot(token: str, base_url: str, *, per_second: float = MESSAGES_PER_SECOND,
             group_per_minute: float = GROUP_MESSAGES_PER_MINUTE) -> ExtBot[Any]:
    """The process's bot. `base_url` is `WETWACHT_TELEGRAM_API_URL` (the token is appended by the library)."""
    # The library's default is one connection, which serialises a fan-out; the outbox sends 20 at a time.
    request = HTTPXRequest(connection_pool_size=CONNECTIONS, pool_timeout=30.0)
    return ExtBot(token=token, base_url=base_url, request=request, get_updates_request=HTTPXRequest(),
                  rate_limiter=rate_limiter(per_second, group_per_minute))


def _seconds(value: int | float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


_GONE = ("chat not found", "bot was kicked", "user is deactivated", "bot was blocked", "have no rights to send",
         "not enough rights", "group chat was deactivated", "peer_id_invalid", "chat_write_forbidden")


def delivery_error(exc: TelegramError, token: str = "") -> DeliveryError:
    """What a Telegram error means for the outbox. The message is stored and logged, so the token is cut
    out of it (a network error quotes the request URL, and the token is part of that URL)."""
    text = str(exc).replace(token, "[token]") if token else str(exc)
    low = text.casefold()
    if isinstance(exc, RetryAfter):
        wait = _seconds(exc.retry_after)
        return DeliveryError(f"Telegram asks to wait: {text}", retry_after=wait)
    if isinstance(exc, Forbidden) or (isinstance(exc, BadRequest) and any(g in low for g in _GONE)):
        return DeliveryError(f"chat unreachable: {text}", permanent=True, pause_recipient=True)
    if isinstance(exc, InvalidToken):
        return DeliveryError("Telegram refused the bot token (check WETWACHT_TELEGRAM_TOKEN)")
    if isinstance(exc, BadRequest):  # the message itself is wrong: sending it again cannot help
        return DeliveryError(f"Telegram refused the message: {text}", permanent=True)
    return DeliveryError(f"Telegram unreachable: {type(exc).__name__}: {text}")


class ChatSpacing:
    """At least `interval` seconds between two messages to one chat (Telegram: about one a second)."""

    def __init__(self, interval: float = PER_CHAT_INTERVAL, *, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.interval = interval
        self.monotonic = monotonic
        self.sleep = sleep
        self._next: dict[int, float] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def wait(self, chat_id: int) -> None:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        async with lock:
            now = self.monotonic()
            free = self._next.get(chat_id, now)
            if free > now:
                await self.sleep(free - now)
                now = self.monotonic()
            self._next[chat_id] = max(now, free) + self.interval
        if len(self._next) > 10_000:  # forget chats long past their spacing
            horizon = self.monotonic()
            for key in [k for k, v in self._next.items() if v < horizon]:
                self._next.pop(key, None)
                if key in self._locks and not self._locks[key].locked():
                    self._locks.pop(key, None)


class _Views:
    """Commitment read models for rendering, cached briefly: a fan-out of one event to thousands of chats
    renders against one database read."""

    def __init__(self, engine: Engine, clock: Clock, ttl: float = 5.0) -> None:
        self.engine, self.clock, self.ttl = engine, clock, ttl
        self._cache: dict[str, tuple[float, CommitmentView | None]] = {}

    def get(self, slug: str) -> CommitmentView | None:
        now = time.monotonic()
        hit = self._cache.get(slug)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        with session_scope(self.engine) as session:
            views = commitment_views(session, dutch_date(self.clock()), [slug])
        view = views[0] if views else None
        if len(self._cache) > 1000:
            self._cache.clear()
        self._cache[slug] = (now, view)
        return view


class TelegramSender:
    """Sends HTML texts to chats with spacing, mapping errors, following group migrations."""

    def __init__(self, bot: Bot, engine: Engine, *, spacing: ChatSpacing | None = None) -> None:
        self.bot = bot
        self.engine = engine
        self.spacing = spacing or ChatSpacing()

    async def send(self, chat_id: int, text: str, reply_markup: InlineKeyboardMarkup | None = None) -> int:
        """Send one message; returns the chat id it went to (a migrated group's new id)."""
        await self.spacing.wait(chat_id)
        try:
            await self.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=reply_markup,
                                        disable_web_page_preview=True)
            return chat_id
        except ChatMigrated as exc:
            new_id = exc.new_chat_id
            migrate_chat(self.engine, chat_id, new_id)
            log.info("chat %s became %s; its subscriptions moved", chat_id, new_id)
            await self.spacing.wait(new_id)
            try:
                await self.bot.send_message(new_id, text, parse_mode=ParseMode.HTML, reply_markup=reply_markup,
                                            disable_web_page_preview=True)
            except TelegramError as inner:
                raise delivery_error(inner, self.bot.token) from None
            return new_id
        except TelegramError as exc:
            raise delivery_error(exc, self.bot.token) from None


def migrate_chat(engine: Engine, old: int, new: int) -> None:
    """A group upgraded to a supergroup has a new id: move its settings, subscriptions and queued alerts."""
    with session_scope(engine) as session:
        chat = session.get(ChatRow, old)
        if chat is not None and session.get(ChatRow, new) is None:
            session.add(ChatRow(chat_id=new, kind="supergroup", digest=chat.digest, created_at=chat.created_at,
                                last_digest_at=chat.last_digest_at))
            session.flush()
        for sub in session.exec(select(SubscriptionRow).where(SubscriptionRow.chat_id == old)):
            exists = session.exec(select(SubscriptionRow).where(SubscriptionRow.chat_id == new,
                                                                SubscriptionRow.target == sub.target)).first()
            if exists is None:
                session.add(SubscriptionRow(chat_id=new, target=sub.target, created_at=sub.created_at))
            session.delete(sub)
        if chat is not None:
            chat.paused, chat.paused_reason = True, f"migrated to {new}"
            session.add(chat)


class TelegramChannel:
    """Outbox channel `telegram`: one alert per event per chat."""

    name = "telegram"

    def __init__(self, sender: TelegramSender, engine: Engine, *, clock: Clock | None = None) -> None:
        self.sender = sender
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.views = _Views(engine, self.clock)

    async def send(self, attempt: Attempt) -> None:
        slug = str((attempt.event.get("commitment") or {}).get("slug", ""))
        view = await asyncio.to_thread(self.views.get, slug)
        for text in render.alert(attempt.event, view, dutch_date(self.clock())):
            await self.sender.send(int(attempt.recipient), text)

    def retry_delay(self, attempt: int) -> float:
        return float(min(30 * 2 ** (attempt - 1), 3600))

    def gives_up(self, attempt: int, first_tried_at: dt.datetime, now: dt.datetime) -> bool:
        return now - first_tried_at > dt.timedelta(hours=24)


def review_buttons(event_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("✅ Bevestigen", callback_data=f"rv:c:{event_id}"),
                                  InlineKeyboardButton("❌ Afwijzen", callback_data=f"rv:r:{event_id}")]])


class ReviewChannel(TelegramChannel):
    """Outbox channel `review`: a doubtful match to each maintainer, with confirm and reject buttons."""

    name = "review"

    def __init__(self, sender: TelegramSender, engine: Engine, *, clock: Clock | None = None) -> None:
        super().__init__(sender, engine, clock=clock)
        self.engine = engine

    async def send(self, attempt: Attempt) -> None:
        with session_scope(self.engine) as session:
            event = session.get(EventRow, attempt.event_id)
            if event is None or event.status != "pending":
                return  # another maintainer settled it meanwhile: nothing to ask
        slug = str((attempt.event.get("commitment") or {}).get("slug", ""))
        view = await asyncio.to_thread(self.views.get, slug)
        messages = render.review(attempt.event, view, dutch_date(self.clock()))
        for i, text in enumerate(messages):
            last = i == len(messages) - 1
            await self.sender.send(int(attempt.recipient), text, review_buttons(attempt.event_id) if last else None)


# ---------------------------------------------------------------------------------------------- digests

DIGEST_PERIOD = {"daily": dt.timedelta(days=1), "weekly": dt.timedelta(days=7)}
DIGEST_HOUR = 7  # digests go out at 07:00 Amsterdam time, the weekly one on Monday: before the morning meeting
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def digest_slot(period: str, now: dt.datetime) -> dt.datetime:
    """The latest digest moment at or before `now`: today's (or yesterday's) 07:00, or Monday's."""
    local = now.astimezone(AMSTERDAM)
    slot = local.replace(hour=DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if slot > local:
        slot -= dt.timedelta(days=1)
    if period == "weekly":
        slot -= dt.timedelta(days=slot.weekday())
    return slot.astimezone(dt.UTC)


async def send_digests(engine: Engine, sender: TelegramSender, now: dt.datetime) -> int:
    """Send each digest chat whose digest moment has come one message (or a few) with the alerts collected for
    it, oldest first; returns the number of chats served. Rows are marked sent after their chat's message
    went out: a crash in between sends that digest again, never loses it."""
    due: list[tuple[int, str, list[int], list[Mapping[str, Any]]]] = []
    with session_scope(engine) as session:
        chats = session.exec(select(ChatRow).where(col(ChatRow.digest).in_(list(DIGEST_PERIOD)),
                                                   col(ChatRow.paused).is_(False))).all()
        for chat in chats:
            last = chat.last_digest_at
            if last is not None and last >= digest_slot(chat.digest, now):
                continue
            rows = session.exec(select(DeliveryRow).where(
                DeliveryRow.channel == "telegram", DeliveryRow.recipient == str(chat.chat_id),
                DeliveryRow.status == "digest").order_by(col(DeliveryRow.id))).all()
            events: list[Mapping[str, Any]] = []
            ids: list[int] = []
            for row in rows:
                event = session.get(EventRow, row.event_id)
                assert row.id is not None
                ids.append(row.id)
                if event is not None and event.status == "published":
                    events.append(dict(event.payload))
            if not ids:
                chat.last_digest_at = now
                session.add(chat)
                continue
            due.append((chat.chat_id, chat.digest, ids, events))
    served = 0
    for chat_id, period, ids, events in due:
        error: DeliveryError | None = None
        if events:
            with session_scope(engine) as session:
                slugs = sorted({str((e.get("commitment") or {}).get("slug", "")) for e in events})
                views = {v.slug: v for v in commitment_views(session, dutch_date(now), slugs)}
            try:
                for text in render.digest(events, period, views, dutch_date(now)):
                    await sender.send(chat_id, text)
            except DeliveryError as exc:
                error = exc
        with session_scope(engine) as session:
            target = session.get(ChatRow, chat_id)
            if error is not None:
                log.warning("digest to chat %s not sent: %s", chat_id, error)
                if error.pause_recipient and target is not None:
                    target.paused, target.paused_reason = True, str(error)
                    session.add(target)
                continue
            for row_id in ids:
                done = session.get(DeliveryRow, row_id)
                if done is not None and done.status == "digest":
                    done.status, done.sent_at, done.attempts = "sent", now, done.attempts + 1
                    session.add(done)
            if target is not None:
                target.last_digest_at = now
                session.add(target)
        served += 1
    return served
