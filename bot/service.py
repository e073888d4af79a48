"""`wetwacht run`: the scheduled service.

APScheduler 3 runs, on the asyncio loop: one poll job per source every `WETWACHT_POLL_SECONDS` (never two runs
of one source at once, missed runs coalesced), the outbox every few seconds, the overdue check once a day, and
the Telegram bot when a token is set. SIGTERM or SIGINT stops it within 10 seconds: running jobs get a grace
period to finish, then are cancelled; every unit of work is a transaction, so a cancelled one is simply redone.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram.ext import ExtBot

from bot.app import Context, build_sources, deliver_once, http_client, open_channels
from bot.channels.telegram import TelegramChannel, send_digests
from bot.locks import advisory_lock
from bot.notices import send_notices
from bot.overdue import check_overdue
from bot.pipeline import queue_deliveries
from bot.telegram.handlers import BotDeps
from bot.telegram.render import esc
from bot.telegram.runner import TelegramRunner
from sources.base import Source

log = logging.getLogger(__name__)

DELIVER_SECONDS = 5
# The overdue check runs at start and then every quarter of an hour: a deadline that passed while wetwacht was
# stopped is alerted when it starts again, not a day later.
OVERDUE_SECONDS = 900
STOP_GRACE_SECONDS = 7.0
TELEGRAM_RETRY_SECONDS = 60  # how often a replica without the bot tries to start it (or take over)
DIGEST_CHECK_SECONDS = 300


class Service:
    """The long-running service. `extra_start`/`extra_stop` hook the Telegram application in."""

    def __init__(self, ctx: Context, *, deliver_seconds: float = DELIVER_SECONDS) -> None:
        self.ctx = ctx
        self.deliver_seconds = deliver_seconds
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.starters: list[Callable[[], Awaitable[None]]] = []
        self.stoppers: list[Callable[[], Awaitable[None]]] = []

    def _tracked(self, name: str, fn: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
        """A job that runs `fn` as a tracked task, so shutdown can wait for it."""

        async def job() -> None:
            if self.stopping.is_set():
                return
            task = asyncio.current_task()
            if task is not None:
                self._tasks.add(task)
            try:
                await fn()
            except asyncio.CancelledError:
                # Shutdown cancelled it after the grace period: its unfinished transaction was rolled back
                # and its work stays queued for the next start.
                log.info("job %s cancelled at shutdown; its work stays queued", name)
            except Exception:
                log.exception("job %s failed", name)
            finally:
                if task is not None:
                    self._tasks.discard(task)

        return job

    async def _poll(self, source: Source) -> None:
        await self.ctx.pipeline().poll_source(source)
        reader = self.ctx.history([source])  # after KOOP's poll: the history of what became linked
        if reader is not None and not self.stopping.is_set():
            await reader.run()
        if not self.stopping.is_set():
            await deliver_once(self.ctx)

    async def _overdue(self) -> None:
        with advisory_lock(self.ctx.engine, "overdue") as mine:  # one replica at a time makes them
            if mine:
                check_overdue(self.ctx.engine, self.ctx.clock(), queue=queue_deliveries)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stop)
        async with http_client() as client, open_channels(self.ctx.settings, self.ctx.engine) as channels:
            self.ctx.channels = channels
            sources = build_sources(self.ctx.settings, client, clock=self.ctx.clock)
            now = dt.datetime.now(dt.UTC)
            common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
            for source in sources:
                self.scheduler.add_job(self._tracked(f"poll:{source.name}", functools.partial(self._poll, source)),
                                       "interval", seconds=self.ctx.settings.poll_seconds, next_run_time=now,
                                       id=f"poll:{source.name}", name=f"poll:{source.name}", **common)
            self.scheduler.add_job(self._tracked("deliver", lambda: deliver_once(self.ctx)), "interval",
                                   seconds=self.deliver_seconds, id="deliver", name="deliver", **common)
            self.scheduler.add_job(self._tracked("overdue", self._overdue), "interval", seconds=OVERDUE_SECONDS,
                                   next_run_time=now, id="overdue", name="overdue", **common)
            if self.ctx.settings.telegram_token is None:
                log.warning("WETWACHT_TELEGRAM_TOKEN is not set: no Telegram bot and no Telegram alerts (they stay "
                            "queued); polling and webhooks carry on")
            channel = channels.get("telegram")
            if isinstance(channel, TelegramChannel):
                self._add_telegram(channel, common)
            for start in self.starters:
                await start()
            self.scheduler.start()
            log.info("wetwacht running: %d sources every %ds, database %s", len(sources),
                     self.ctx.settings.poll_seconds, self.ctx.settings.database_url_safe)
            # The public site says where it listens itself, once it does (bot.web.server).
            log.info("where to look: `wetwacht commitments` (each commitment's stage and deadline), "
                     "`wetwacht sources` (the sources' health and the installation history's progress), "
                     "`wetwacht events`")
            await self.stopping.wait()
            log.info("stopping")
            self.scheduler.shutdown(wait=False)
            await self._drain()
            released = self.ctx.outbox().release()
            if released:
                log.info("released %d claimed deliveries; they stay queued", released)
            for stop in reversed(self.stoppers):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(stop(), timeout=2.0)
        log.info("stopped")

    def _add_telegram(self, channel: TelegramChannel, common: dict[str, Any]) -> None:
        """The bot's conversation side, the digests and the maintainer notices."""
        sender = channel.sender
        bot = sender.bot
        assert isinstance(bot, ExtBot)
        deps = BotDeps(engine=self.ctx.engine, maintainers=self.ctx.settings.maintainers, queue=queue_deliveries,
                       letters=dict(self.ctx.catalog.letters), clock=self.ctx.clock)
        runner = TelegramRunner(bot, deps, self.ctx.engine)
        now = dt.datetime.now(dt.UTC)
        self.scheduler.add_job(self._tracked("telegram", runner.ensure_running), "interval",
                               seconds=TELEGRAM_RETRY_SECONDS, next_run_time=now, id="telegram", name="telegram",
                               **common)
        self.scheduler.add_job(self._tracked("digests", lambda: send_digests(self.ctx.engine, sender,
                                                                             self.ctx.clock())),
                               "interval", seconds=DIGEST_CHECK_SECONDS, next_run_time=now, id="digests",
                               name="digests", **common)

        async def notices() -> None:
            async def send(recipient: str, text: str) -> None:
                await sender.send(int(recipient), esc(text))

            await send_notices(self.ctx.engine, send, self.ctx.clock())

        self.scheduler.add_job(self._tracked("notices", notices), "interval", seconds=self.deliver_seconds,
                               next_run_time=now, id="notices", name="notices", **common)
        self.stoppers.append(runner.stop)

    async def _drain(self) -> None:
        running = [t for t in self._tasks if not t.done()]
        if not running:
            return
        _done, pending = await asyncio.wait(running, timeout=STOP_GRACE_SECONDS)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)
            log.info("cancelled %d running jobs at shutdown; their work stays queued", len(pending))

    def stop(self) -> None:
        self.stopping.set()
