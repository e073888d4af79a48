"""The Telegram channels against the Bot API mocked with respx: the real python-telegram-bot client encodes
the requests; the answers are Telegram's, errors included."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from sqlmodel import select

from bot.channels.base import Attempt, DeliveryError
from bot.channels.telegram import (
    ChatSpacing,
    ReviewChannel,
    TelegramChannel,
    TelegramSender,
    digest_slot,
    make_bot,
    send_digests,
)
from bot.delivery import Outbox
from storage.catalog_repo import sync_catalog
from storage.db import make_engine, migrate, session_scope
from storage.models import ChatRow, DeliveryRow, EventRow, SubscriptionRow
from tests.test_pipeline import T0, _catalog

TOKEN = "123456:AAH-secret-test-token"
API = f"https://api.telegram.org/bot{TOKEN}"


def _message(chat_id: int, text: str = "ok", message_id: int = 1) -> dict[str, Any]:
    return {"message_id": message_id, "date": 1_700_000_000, "chat": {"id": chat_id, "type": "private"},
            "text": text}


def _error(code: int, description: str, **parameters: Any) -> httpx.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return httpx.Response(code, json=body)


def _form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


class NoSleep:
    def __init__(self) -> None:
        self.slept: list[float] = []
        self.now = 100.0

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def engine(db_url: str) -> Iterator[Any]:
    eng = make_engine(db_url)
    migrate(eng)
    with session_scope(eng) as session:
        sync_catalog(session, _catalog(), T0)
        session.add(ChatRow(chat_id=1001, created_at=T0))
        session.add(SubscriptionRow(chat_id=1001, target="slug:lobbyregister", created_at=T0))
        session.add(EventRow(id="evt_one", type="commitment.stage", slug="lobbyregister", stage="ingediend",
                             detected_at=T0, payload=_payload("evt_one")))
    yield eng
    eng.dispose()


def _payload(eid: str, title: str = "Regels over <lobbyen> & meer") -> dict[str, Any]:
    return {"id": eid, "type": "commitment.stage",
            "commitment": {"slug": "lobbyregister", "title": "Wetsvoorstel lobbyregister"}, "stage": "ingediend",
            "documents": [{"source": "ob", "id": "kst-37100-3", "kst": "kst-37100-3", "title": title,
                           "type": "Memorie van toelichting", "dossier": "37100", "date": "2026-11-20",
                           "url": "https://zoek.officielebekendmakingen.nl/kst-37100-3.html"}],
            "reason": "dossier 37100 is linked to lobbyregister", "detected_at": "2026-11-23T09:00:00Z"}


def _attempt(recipient: str = "1001", channel: str = "telegram", eid: str = "evt_one") -> Attempt:
    return Attempt(delivery_id=1, event_id=eid, event=_payload(eid), channel=channel, recipient=recipient,
                   attempt=1, first_tried_at=T0)


def _channel(engine: Any, sleep: NoSleep | None = None) -> TelegramChannel:
    sleep = sleep or NoSleep()
    sender = TelegramSender(make_bot(TOKEN, "https://api.telegram.org/bot"), engine,
                            spacing=ChatSpacing(monotonic=sleep.clock, sleep=sleep))
    return TelegramChannel(sender, engine, clock=lambda: T0)


@respx.mock
async def test_alert_is_one_html_message_with_escaped_text(engine: Any) -> None:
    route = respx.post(f"{API}/sendMessage").mock(return_value=httpx.Response(200, json={
        "ok": True, "result": _message(1001)}))
    await _channel(engine).send(_attempt())
    [call] = route.calls
    form = _form(call.request)
    assert form["chat_id"] == "1001" and form["parse_mode"] == "HTML"
    assert "Regels over &lt;lobbyen&gt; &amp; meer" in form["text"]
    assert "ingediend bij de Tweede Kamer" in form["text"]


@pytest.mark.parametrize(
    ("answer", "permanent", "pause", "retry_after"),
    [
        (_error(429, "Too Many Requests: retry after 7", retry_after=7), False, False, 7.0),
        (_error(403, "Forbidden: bot was blocked by the user"), True, True, None),
        (_error(400, "Bad Request: chat not found"), True, True, None),
        (_error(400, "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 3"), True,
         False, None),
        (_error(502, "Bad Gateway"), False, False, None),
    ],
)
@respx.mock
async def test_telegram_errors_mean_what_they_say(engine: Any, answer: httpx.Response, permanent: bool,
                                                 pause: bool, retry_after: float | None) -> None:
    respx.post(f"{API}/sendMessage").mock(return_value=answer)
    with pytest.raises(DeliveryError) as err:
        await _channel(engine).send(_attempt())
    assert err.value.permanent is permanent and err.value.pause_recipient is pause
    assert err.value.retry_after == retry_after
    assert TOKEN not in str(err.value)


@respx.mock
async def test_network_failure_is_retried_and_never_shows_the_token(engine: Any) -> None:
    respx.post(f"{API}/sendMessage").mock(side_effect=httpx.ConnectError(f"cannot reach {API}/sendMessage"))
    with pytest.raises(DeliveryError) as err:
        await _channel(engine).send(_attempt())
    assert not err.value.permanent
    assert TOKEN not in str(err.value) and TOKEN not in repr(err.value)


@respx.mock
async def test_blocked_chat_is_paused_through_the_outbox(engine: Any) -> None:
    respx.post(f"{API}/sendMessage").mock(return_value=_error(403, "Forbidden: bot was blocked by the user"))
    with session_scope(engine) as session:
        session.add(DeliveryRow(event_id="evt_one", channel="telegram", recipient="1001", next_attempt_at=T0,
                                created_at=T0))
    stats = await Outbox(engine, {"telegram": _channel(engine)}, clock=lambda: T0).deliver_due()
    assert stats.dead == 1
    with session_scope(engine) as session:
        chat = session.get(ChatRow, 1001)
        assert chat is not None and chat.paused and "blocked" in (chat.paused_reason or "")


@respx.mock
async def test_group_upgraded_to_supergroup_moves_and_is_served(engine: Any) -> None:
    with session_scope(engine) as session:
        session.add(ChatRow(chat_id=-500, kind="group", created_at=T0))
        session.add(SubscriptionRow(chat_id=-500, target="all", created_at=T0))

    def answer(request: httpx.Request) -> httpx.Response:
        if _form(request)["chat_id"] == "-500":
            return _error(400, "Bad Request: group chat was upgraded to a supergroup chat",
                          migrate_to_chat_id=-100500)
        return httpx.Response(200, json={"ok": True, "result": _message(-100500)})

    route = respx.post(f"{API}/sendMessage").mock(side_effect=answer)
    await _channel(engine).send(_attempt("-500"))
    assert [_form(c.request)["chat_id"] for c in route.calls] == ["-500", "-100500"]
    with session_scope(engine) as session:
        subs = {(s.chat_id, s.target) for s in session.exec(select(SubscriptionRow))}
        assert (-100500, "all") in subs and (-500, "all") not in subs


async def test_messages_to_one_chat_are_a_second_apart() -> None:
    sleep = NoSleep()
    spacing = ChatSpacing(1.0, monotonic=sleep.clock, sleep=sleep)
    await spacing.wait(1)
    await spacing.wait(2)
    await spacing.wait(1)
    assert sleep.slept == [pytest.approx(1.0)]
    sleep.now += 5
    await spacing.wait(1)
    assert len(sleep.slept) == 1


@respx.mock
async def test_review_goes_to_maintainers_with_buttons_only_while_pending(engine: Any) -> None:
    route = respx.post(f"{API}/sendMessage").mock(return_value=httpx.Response(200, json={
        "ok": True, "result": _message(42)}))
    with session_scope(engine) as session:
        session.add(EventRow(id="evt_doubt", type="commitment.stage", slug="lobbyregister", stage="ingediend",
                             detected_at=T0, status="pending", payload=_payload("evt_doubt")))
    channel = _channel(engine)
    review = ReviewChannel(channel.sender, engine, clock=lambda: T0)
    await review.send(_attempt("42", "review", "evt_doubt"))
    [call] = route.calls
    form = _form(call.request)
    markup = json.loads(form["reply_markup"])
    data = [b["callback_data"] for row in markup["inline_keyboard"] for b in row]
    assert data == ["rv:c:evt_doubt", "rv:r:evt_doubt"]
    assert "Twijfelachtige koppeling" in form["text"] and "/confirm evt_doubt" in form["text"]
    with session_scope(engine) as session:
        event = session.get(EventRow, "evt_doubt")
        assert event is not None
        event.status = "published"
        session.add(event)
    await review.send(_attempt("42", "review", "evt_doubt"))
    assert len(route.calls) == 1  # settled meanwhile: nothing more to ask


def test_digest_moments_are_seven_in_amsterdam() -> None:
    monday_noon = dt.datetime(2026, 11, 23, 11, 0, tzinfo=dt.UTC)  # 12:00 in Amsterdam (CET)
    assert digest_slot("daily", monday_noon) == dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)
    early = dt.datetime(2026, 11, 25, 5, 0, tzinfo=dt.UTC)  # Wednesday 06:00 local: before the slot
    assert digest_slot("daily", early) == dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)
    assert digest_slot("weekly", early) == dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)
    summer = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)
    assert digest_slot("daily", summer) == dt.datetime(2026, 7, 1, 5, 0, tzinfo=dt.UTC)  # CEST


@respx.mock
async def test_digest_collects_alerts_into_one_message_once_per_period(engine: Any) -> None:
    route = respx.post(f"{API}/sendMessage").mock(return_value=httpx.Response(200, json={
        "ok": True, "result": _message(2002)}))
    with session_scope(engine) as session:
        session.add(ChatRow(chat_id=2002, created_at=T0, digest="daily", last_digest_at=T0 - dt.timedelta(days=1)))
        session.add(EventRow(id="evt_two", type="commitment.document", slug="lobbyregister", stage="ingediend",
                             detected_at=T0, payload=_payload("evt_two")))
        session.flush()
        for eid in ("evt_one", "evt_two"):
            session.add(DeliveryRow(event_id=eid, channel="telegram", recipient="2002", status="digest",
                                    next_attempt_at=T0, created_at=T0))
    sender = _channel(engine).sender
    assert await send_digests(engine, sender, T0) == 1
    [call] = route.calls
    assert "Dagoverzicht" in _form(call.request)["text"] and "2 meldingen" in _form(call.request)["text"]
    with session_scope(engine) as session:
        assert {d.status for d in session.exec(select(DeliveryRow))} == {"sent"}
    assert await send_digests(engine, sender, T0 + dt.timedelta(hours=2)) == 0
    assert len(route.calls) == 1
