"""The bot end to end: the real python-telegram-bot client, long polling a Bot API server on 127.0.0.1 that
speaks Telegram's protocol (and refuses bad HTML and over-long messages as Telegram does), the real catalog,
and alerts delivered through the outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.channels.telegram import ReviewChannel, TelegramChannel, TelegramSender, make_bot
from bot.delivery import Outbox
from bot.pipeline import add_delivery, queue_deliveries
from bot.telegram.handlers import BotDeps
from bot.telegram.runner import TelegramRunner
from matchers.catalog import load_catalog
from storage.catalog_repo import sync_catalog
from storage.db import make_engine, migrate, session_scope
from storage.models import ChatRow, CommitmentRow, DeliveryRow, EventRow
from tests.fakes.botapi import FakeBotApi, SentMessage

MAINTAINER = 42
JOURNALIST = 1001
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@dataclass
class World:
    api: FakeBotApi
    engine: Engine
    sender: TelegramSender

    async def say(self, user: int, text: str, *, chat: int | None = None) -> SentMessage:
        """Send `text` as `user` and return the bot's next reply in that chat."""
        chat_id = chat if chat is not None else user
        before = len(self.api.messages(chat_id))
        self.api.user_message(chat_id, user, text, chat_type="private" if chat_id > 0 else "group")
        await self.until(lambda api: len(api.messages(chat_id)) > before, f"a reply to {text!r}")
        return self.api.messages(chat_id)[before]

    async def until(self, predicate: Callable[[FakeBotApi], bool], what: str) -> None:
        assert await asyncio.to_thread(self.api.wait_for, predicate, 15.0), f"timed out waiting for {what}"

    async def deliver(self) -> None:
        channels = {"telegram": TelegramChannel(self.sender, self.engine, clock=lambda: NOW),
                    "review": ReviewChannel(self.sender, self.engine, clock=lambda: NOW)}
        await Outbox(self.engine, channels, clock=lambda: NOW).deliver_due()


@pytest.fixture
async def world(tmp_path: Any) -> AsyncIterator[World]:
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    migrate(engine)
    catalog = load_catalog()
    with session_scope(engine) as session:
        sync_catalog(session, catalog, NOW)
    api = FakeBotApi()
    api.start()
    bot = make_bot(api.token, api.base_url)
    await bot.initialize()
    sender = TelegramSender(bot, engine)
    deps = BotDeps(engine=engine, maintainers=frozenset({MAINTAINER}), queue=queue_deliveries,
                   letters=dict(catalog.letters), clock=lambda: NOW)
    runner = TelegramRunner(bot, deps, engine, long_poll=1)
    try:
        assert await runner.ensure_running()
        yield World(api, engine, sender)
    finally:
        await runner.stop()
        await bot.shutdown()
        api.stop()
        engine.dispose()


def _event(eid: str, slug: str, title: str, *, status: str = "published") -> EventRow:
    payload = {"id": eid, "type": "commitment.stage", "commitment": {"slug": slug, "title": title},
               "stage": "ingediend",
               "documents": [{"source": "ob", "id": "kst-37100-3", "kst": "kst-37100-3", "dossier": "37100",
                              "title": "Regels over <lobbyen> & transparantie (Wet lobbyregister)",
                              "type": "Memorie van toelichting", "date": "2026-11-20",
                              "url": "https://zoek.officielebekendmakingen.nl/kst-37100-3.html"}],
               "reason": "title names alias 'Wet lobbyregister'; Memorie van toelichting means the bill was sent "
                         "to the Kamer", "detected_at": "2026-11-23T09:00:00Z"}
    return EventRow(id=eid, type="commitment.stage", slug=slug, stage="ingediend", detected_at=NOW, status=status,
                    payload=payload)


def _publish(world: World, eid: str) -> None:
    """A published lobbyregister event, queued to its followers as the pipeline does."""
    with session_scope(world.engine) as session:
        event = _event(eid, "lobbyregister", "Wetsvoorstel lobbyregister")
        session.add(event)
        session.flush()
        commitment = session.get(CommitmentRow, "lobbyregister")
        assert commitment is not None
        queue_deliveries(session, event, commitment, NOW)


async def test_journalist_maintainer_and_stranger(world: World) -> None:
    api = world.api
    # The command menu is registered: the public one, and the longer one in the maintainer's chat.
    public = [c["command"] for c in api.commands[("default", "")]]
    assert {"start", "help", "lijst", "status", "volg", "ontvolg", "mijn"} <= set(public)
    assert "add" in [c["command"] for c in api.commands[(f"chat:{MAINTAINER}", "")]]

    start = await world.say(JOURNALIST, "/start")
    assert "wetwacht" in start.plain and "/volg" in start.plain and start.parse_mode == "HTML"

    reply = await world.say(JOURNALIST, "/volg lobbyregister")
    assert "U volgt nu lobbyregister" in reply.plain
    typo = await world.say(JOURNALIST, "/volg lobbyregistr")
    assert "Bedoelt u: lobbyregister" in typo.plain
    hostile = await world.say(JOURNALIST, "/status <b>&amp;</i>")
    assert "Onbekende toezegging “<b>&amp;</i>”" in hostile.plain  # shown literally, never parsed as HTML
    listing = await world.say(JOURNALIST, "/lijst BZK")
    assert "Toezeggingen — BZK" in listing.plain and listing.reply_markup is not None
    status = await world.say(JOURNALIST, "/status lobbyregister")
    assert "Wetsvoorstel lobbyregister" in status.plain and "Belofte" in status.plain

    # A journalist is not a maintainer: refused, politely, and nothing changes.
    refused = await world.say(JOURNALIST, "/add Wetsvoorstel open overheid | Wet open overheid")
    assert "alleen voor beheerders" in refused.plain and "niets veranderd" in refused.plain
    with session_scope(world.engine) as session:
        assert session.exec(select(CommitmentRow).where(CommitmentRow.origin == "maintainer")).all() == []

    added = await world.say(MAINTAINER, "/add Wetsvoorstel open overheid | Wet open overheid, Woo-herziening | Q2 2027")
    assert "Toegevoegd: open-overheid" in added.plain and "30 juni 2027" in added.plain
    bad = await world.say(MAINTAINER, "/deadline open-overheid ooit")
    assert "begrijp ik niet" in bad.plain and "niets veranderd" in bad.plain
    past = await world.say(MAINTAINER, "/deadline open-overheid Q3 2026")  # a newer promise, already broken
    assert "uiterlijk 30 september 2026" in past.plain and "al voorbij" in past.plain and "te laat" in past.plain
    later = await world.say(MAINTAINER, "/deadline open-overheid eind 2027")
    assert "uiterlijk 31 december 2027" in later.plain and "al voorbij" not in later.plain
    with session_scope(world.engine) as session:
        row = session.get(CommitmentRow, "open-overheid")
        assert row is not None and row.created_by == MAINTAINER
    follow = await world.say(JOURNALIST, "/volg open-overheid")
    assert "U volgt nu open-overheid" in follow.plain

    # An alert: one message per event per chat, with the documents and the promise against reality.
    _publish(world, "evt_lobby")
    before = len(api.messages(JOURNALIST))
    await world.deliver()
    [alert] = api.messages(JOURNALIST)[before:]
    assert "Wetsvoorstel lobbyregister" in alert.plain and "ingediend bij de Tweede Kamer" in alert.plain
    assert "Regels over <lobbyen> & transparantie" in alert.plain
    assert any(e.get("url") == "https://zoek.officielebekendmakingen.nl/kst-37100-3.html" for e in alert.entities)
    assert "Beloofd: Q2 2027 en later (zonder einddatum) — gehaald" in alert.plain
    await world.deliver()
    assert len(api.messages(JOURNALIST)) == before + 1  # sent once


async def test_doubtful_match_is_confirmed_by_a_button(world: World) -> None:
    api = world.api
    await world.say(JOURNALIST, "/volg lobbyregister")
    with session_scope(world.engine) as session:
        session.add(_event("evt_doubt", "lobbyregister", "Wetsvoorstel lobbyregister", status="pending"))
        session.flush()
        add_delivery(session, "evt_doubt", "review", str(MAINTAINER), "pending", NOW)
    await world.deliver()
    [review] = [m for m in api.messages(MAINTAINER) if "Twijfelachtige koppeling" in m.plain]
    assert not [m for m in api.messages(JOURNALIST) if "Regels over" in m.plain]  # subscribers wait

    # Someone else presses the button (in a group they share): refused, nothing changes.
    api.press_button(MAINTAINER, JOURNALIST, review.message_id, "rv:c:evt_doubt")
    await world.until(lambda a: len(a.callback_answers) >= 1, "the refusal")
    assert "Alleen beheerders" in str(api.callback_answers[-1].get("text"))
    with session_scope(world.engine) as session:
        assert session.get(EventRow, "evt_doubt").status == "pending"  # type: ignore[union-attr]

    api.press_button(MAINTAINER, MAINTAINER, review.message_id, "rv:c:evt_doubt")
    await world.until(lambda a: any("Bevestigd" in m.plain for m in a.messages(MAINTAINER)), "the confirmation")
    with session_scope(world.engine) as session:
        assert session.get(EventRow, "evt_doubt").status == "published"  # type: ignore[union-attr]
    await world.deliver()
    assert [m for m in api.messages(JOURNALIST) if "Regels over <lobbyen>" in m.plain]


async def test_chat_that_blocked_the_bot_is_paused(world: World) -> None:
    await world.say(JOURNALIST, "/volg alles")
    world.api.block(JOURNALIST)
    _publish(world, "evt_blocked")
    await world.deliver()
    with session_scope(world.engine) as session:
        chat = session.get(ChatRow, JOURNALIST)
        assert chat is not None and chat.paused
        [row] = session.exec(select(DeliveryRow).where(DeliveryRow.event_id == "evt_blocked")).all()
        assert row.status == "dead" and "blocked" in (row.last_error or "")
    # Unblocked, the person writes again: reachable again.
    world.api.unblock(JOURNALIST)
    await world.say(JOURNALIST, "/mijn")
    with session_scope(world.engine) as session:
        assert not session.get(ChatRow, JOURNALIST).paused  # type: ignore[union-attr]
