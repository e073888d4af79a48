"""Runs the bot's conversation side (the python-telegram-bot `Application` reading updates by long polling)
inside the service, beside the scheduler.

Only one replica may read updates (Telegram answers a second reader with 409 Conflict), so the runner holds
a cluster-wide lock while it polls; the others keep trying, and take over when the holder stops. When the
Bot API is unreachable at start, the runner tries again on the next round instead of giving up.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.engine import Engine
from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ExtBot

from bot.locks import HeldLock
from bot.telegram.handlers import BotDeps, register, set_commands

log = logging.getLogger(__name__)

LONG_POLL_SECONDS = 10


class TelegramRunner:
    def __init__(self, bot: ExtBot[Any], deps: BotDeps, engine: Engine, *,
                 long_poll: int = LONG_POLL_SECONDS) -> None:
        self.bot = bot
        self.deps = deps
        self.lock = HeldLock(engine, "telegram-updates")
        self.long_poll = long_poll
        self.application: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._refused = False

    @property
    def running(self) -> bool:
        return self.application is not None

    async def ensure_running(self) -> bool:
        """Start reading updates if this replica may and is not already; True when it is running."""
        if self.application is not None or self._refused:
            return self.application is not None
        if not self.lock.try_take():
            log.debug("another replica reads Telegram updates")
            return False
        application = Application.builder().bot(self.bot).build()
        register(application, self.deps)
        try:
            await application.initialize()
            await set_commands(self.bot, self.deps.maintainers)
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(
                timeout=self.long_poll, allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY],
                drop_pending_updates=False,
            )
        except InvalidToken:
            # The library's own message for this names the token: never let it reach a log.
            log.error("Telegram refused WETWACHT_TELEGRAM_TOKEN: the bot does not answer commands; alerts stay queued")
            self._refused = True
            await self._teardown(application)
            return False
        except (TelegramError, OSError) as exc:
            log.warning("Telegram bot not started (%s); trying again on the next round", type(exc).__name__)
            await self._teardown(application)
            return False
        self.application = application
        me = self.bot.bot
        log.info("Telegram bot @%s reads commands", me.username)
        return True

    async def _teardown(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        try:
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
        except Exception as exc:  # best effort: we are giving up on this start anyway
            log.info("Telegram teardown: %s", type(exc).__name__)
        self.lock.release()

    async def stop(self) -> None:
        application, self.application = self.application, None
        if application is None:
            return
        try:
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
        finally:
            self.lock.release()
