"""Wiring: the database, the one HTTP client of the process, the sources, the pipeline, the outbox and its
channels. `bot` is the composition root: the only package that imports all the others."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

import httpx
from sqlalchemy.engine import Engine
from telegram.error import InvalidToken, TelegramError

from bot.channels.base import Channel
from bot.channels.telegram import ReviewChannel, TelegramChannel, TelegramSender, make_bot
from bot.channels.webhook import WebhookChannel, webhook_client
from bot.config import Settings
from bot.delivery import DeliverStats, Outbox
from bot.history import HistoryReader
from bot.overdue import check_overdue
from bot.pipeline import Pipeline, PollResult, queue_deliveries
from matchers.catalog import Catalog
from sources.base import Source
from sources.consultatie import ConsultatieSource
from sources.ek import EersteKamerSource
from sources.http import USER_AGENT
from sources.sru import SruSource
from sources.syncfeed import SyncFeedSource
from storage.db import make_engine, migrate

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], dt.datetime]


def open_database(settings: Settings) -> Engine:
    """The engine, with the schema migrated to head."""
    engine = make_engine(settings.database_url)
    migrate(engine)
    return engine


def http_client() -> httpx.AsyncClient:
    """The process's one HTTP client for the sources (webhooks have their own: no redirects, small limits)."""
    return httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(60.0, connect=10.0),
        follow_redirects=True,
        limits=httpx.Limits(max_connections=10, max_keepalive_connections=5),
    )


def build_sources(settings: Settings, client: httpx.AsyncClient, *, sleep: Sleep = asyncio.sleep,
                  clock: Clock | None = None) -> list[Source]:
    """The sources, in the order a poll reads them."""
    start_tk: Literal["now"] | dt.datetime = (
        "now" if settings.start == "now" else dt.datetime.combine(settings.start, dt.time(), tzinfo=dt.UTC)
    )
    start_sru: Literal["now"] | dt.date = settings.start
    return [
        SyncFeedSource(client, settings.tk_feed_url, start=start_tk, sleep=sleep,
                       page_pause=settings.page_pause_seconds),
        SruSource(client, settings.sru_url, start=start_sru, sleep=sleep, clock=clock,
                  page_pause=settings.page_pause_seconds),
        EersteKamerSource(client, settings.ek_url, start=start_sru, sleep=sleep, clock=clock,
                          page_pause=settings.page_pause_seconds),
        ConsultatieSource(client, settings.consultatie_url, start=start_sru, sleep=sleep, clock=clock,
                          page_pause=settings.page_pause_seconds),
    ]


@dataclass
class Context:
    """Everything a poll or a delivery round needs."""

    settings: Settings
    engine: Engine
    catalog: Catalog
    clock: Clock = field(default=lambda: dt.datetime.now(dt.UTC))
    channels: dict[str, Channel] = field(default_factory=dict)

    def pipeline(self) -> Pipeline:
        return Pipeline(self.engine, self.catalog, start=self.settings.start, clock=self.clock,
                        maintainers=self.settings.maintainers, alert_after=self.settings.source_alert_after)

    def history(self, sources: list[Source]) -> HistoryReader | None:
        """The installation history reader, on the KOOP source of `sources` (None without one)."""
        sru = next((s for s in sources if isinstance(s, SruSource)), None)
        if sru is None:
            return None
        return HistoryReader(self.engine, self.pipeline(), sru, clock=self.clock,
                             maintainers=self.settings.maintainers)

    _outbox: Outbox | None = field(default=None, init=False, repr=False)

    def outbox(self) -> Outbox:
        """This process's outbox worker (one worker id per process, so shutdown can release its claims)."""
        if self._outbox is None or self._outbox.channels != self.channels:
            self._outbox = Outbox(self.engine, self.channels, clock=self.clock,
                                  lease=dt.timedelta(seconds=self.settings.delivery_lease_seconds))
        return self._outbox


@contextlib.asynccontextmanager
async def open_channels(settings: Settings, engine: Engine) -> AsyncIterator[dict[str, Channel]]:
    """The delivery channels this configuration has, with their HTTP clients, closed on exit. Rows of a
    channel that is not here stay queued (Telegram rows wait for a token, they are not dropped)."""
    async with contextlib.AsyncExitStack() as stack:
        channels: dict[str, Channel] = {}
        hooks = await stack.enter_async_context(webhook_client())
        channels["webhook"] = WebhookChannel(hooks, engine, allow_private=settings.allow_private_webhooks)
        if settings.telegram_token is not None:
            sender = await _telegram_sender(settings, engine, stack)
            if sender is not None:
                channels["telegram"] = TelegramChannel(sender, engine)
                channels["review"] = ReviewChannel(sender, engine)
        yield channels


async def _telegram_sender(settings: Settings, engine: Engine,
                           stack: contextlib.AsyncExitStack) -> TelegramSender | None:
    """The bot that sends alerts. A refused token means no Telegram channels (rows stay queued and the log
    says why, without the token); an unreachable Bot API does not: sending fails and is retried."""
    assert settings.telegram_token is not None
    bot = make_bot(settings.telegram_token.get_secret_value(), settings.telegram_api_url)
    try:
        await bot.initialize()
    except InvalidToken:  # the library's message for this one names the token: say it ourselves
        log.error("Telegram refused WETWACHT_TELEGRAM_TOKEN: no Telegram alerts; they stay queued")
        await bot.shutdown()
        return None
    except (TelegramError, OSError) as exc:
        log.warning("Telegram Bot API not reachable at start (%s); sending will be retried", type(exc).__name__)
    stack.push_async_callback(bot.shutdown)
    return TelegramSender(bot, engine)


async def poll_once(ctx: Context, sources: list[Source]) -> list[PollResult]:
    """One poll of every source, the history of what became linked (all of it at installation), then the
    overdue check, then delivery of what is due."""
    results = await ctx.pipeline().poll(sources)
    reader = ctx.history(sources)
    if reader is not None:
        await reader.run()
    check_overdue(ctx.engine, ctx.clock(), queue=queue_deliveries)
    await deliver_once(ctx)
    return results


async def deliver_once(ctx: Context) -> DeliverStats:
    stats = await ctx.outbox().deliver_due()
    if stats.sent or stats.failed or stats.dead:
        log.info("delivered sent=%d failed=%d dead=%d", stats.sent, stats.failed, stats.dead)
    return stats
