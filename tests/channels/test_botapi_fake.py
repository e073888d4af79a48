"""The fake Telegram Bot API (tests/fakes/botapi.py), driven by the real python-telegram-bot client: a Bot for
single calls, and an Application polling it with a CommandHandler and a CallbackQueryHandler. Raw HTTP (httpx)
checks the wire format where python-telegram-bot would hide it: the exact descriptions, status codes, JSON
bodies and GET query strings. Nothing sleeps: waiting is `FakeBotApi.wait_for`, on the fake's condition."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Awaitable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ZERO_DATE, ParseMode
from telegram.error import BadRequest, EndPointNotFound, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fakes.botapi import FakeBotApi, HtmlError, bot_command_entities, parse_html

TOKEN = "123456:TEST-token"
NOT_MODIFIED = ("Message is not modified: specified new message content and reply markup are exactly the same as a "
                "current content and reply markup of the message")
Json = dict[str, Any]


class FakeClock:
    """Seconds, set by the test."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi().running() as api:
        yield api


def bot(api: FakeBotApi, token: str = TOKEN) -> Bot:
    return Bot(token=token, base_url=api.base_url)


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One client for the raw requests (making an httpx.Client costs tens of milliseconds)."""
    with httpx.Client(timeout=40.0) as client:
        yield client


class Wire:
    """Requests on the wire, without python-telegram-bot."""

    def __init__(self, client: httpx.Client, api: FakeBotApi) -> None:
        self.client = client
        self.api = api

    def __call__(self, method: str, *, data: dict[str, str] | None = None, json: Json | None = None,
                 params: dict[str, str] | None = None, files: dict[str, tuple[str, bytes, str]] | None = None,
                 get: bool = False, token: str = TOKEN) -> tuple[int, Json]:
        """(HTTP status, decoded answer)."""
        url = f"{self.api.base_url}{token}/{method}"
        if get:
            response = self.client.get(url, params=params)
        else:
            response = self.client.post(url, params=params, data=data, json=json, files=files)
        answer: Json = response.json()
        return response.status_code, answer


@pytest.fixture
def wire(http: httpx.Client, fake: FakeBotApi) -> Wire:
    return Wire(http, fake)


E = TypeVar("E", bound=TelegramError)


async def refused(kind: type[E], call: Awaitable[object]) -> str:
    """The message python-telegram-bot gives for the error of type `kind` the call ends in."""
    with pytest.raises(kind) as caught:
        await call
    return caught.value.message


def markup(*datas: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d.title(), callback_data=d) for d in datas]])


# -- the HTML parser (https://core.telegram.org/bots/api#html-style), and the messages Telegram refuses with


@pytest.mark.parametrize(("html", "plain", "entities"), [
    ("<b>vet</b> en <i>schuin</i>", "vet en schuin",
     [{"type": "bold", "offset": 0, "length": 3}, {"type": "italic", "offset": 7, "length": 6}]),
    ("<strong>a</strong><em>b</em><u>c</u><ins>d</ins><s>e</s><strike>f</strike><del>g</del>", "abcdefg",
     [{"type": "bold", "offset": 0, "length": 1}, {"type": "italic", "offset": 1, "length": 1},
      {"type": "underline", "offset": 2, "length": 1}, {"type": "underline", "offset": 3, "length": 1},
      {"type": "strikethrough", "offset": 4, "length": 1}, {"type": "strikethrough", "offset": 5, "length": 1},
      {"type": "strikethrough", "offset": 6, "length": 1}]),
    ("&lt;&gt;&amp;&quot;&#65;&#x42;", '<>&"AB', []),
    ("AT&T &nbsp; &bogus; & einde", "AT&T &nbsp; &bogus; & einde", []),  # unknown references stay text
    ("&amp &lt", "& <", []),  # the semicolon is optional
    ('<a href="https://example.org/?a=1&amp;b=2">link</a>', "link",
     [{"type": "text_link", "offset": 0, "length": 4, "url": "https://example.org/?a=1&b=2"}]),
    ('<a href="tg://user?id=42">Piet</a>', "Piet",
     [{"type": "text_mention", "offset": 0, "length": 4, "user": {"id": 42, "is_bot": False, "first_name": ""}}]),
    ('<a href="javascript:alert(1)">x</a>', "x", []),  # a link Telegram refuses is dropped, its text kept
    ('<pre><code class="language-python">print()</code></pre>', "print()",
     [{"type": "pre", "offset": 0, "length": 7, "language": "python"}]),
    ("<code>x</code>", "x", [{"type": "code", "offset": 0, "length": 1}]),
    ('<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>', "st",
     [{"type": "spoiler", "offset": 0, "length": 1}, {"type": "spoiler", "offset": 1, "length": 1}]),
    ("<blockquote>q</blockquote><blockquote expandable>r</blockquote>", "qr",
     [{"type": "blockquote", "offset": 0, "length": 1},
      {"type": "expandable_blockquote", "offset": 1, "length": 1}]),
    ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍",
     [{"type": "custom_emoji", "offset": 0, "length": 2, "custom_emoji_id": "5368324170671202286"}]),
    ("😀<b>é</b>", "😀é", [{"type": "bold", "offset": 2, "length": 1}]),  # offsets in UTF-16 code units
    ("<B >x</B >", "x", [{"type": "bold", "offset": 0, "length": 1}]),
    ("<b></b>x", "x", []),  # empty entities vanish
    ("<b>a<i>b</></b>", "ab",  # an end tag without a name closes the innermost
     [{"type": "bold", "offset": 0, "length": 2}, {"type": "italic", "offset": 1, "length": 1}]),
    ("<b><i>x</i></b>", "x",  # on the same text the outer entity comes first
     [{"type": "bold", "offset": 0, "length": 1}, {"type": "italic", "offset": 0, "length": 1}]),
    ("&#0; &#1114112; &#x; &#X41; &#00065", "&#0; &#1114112; &#x; A A", []),  # only real code points decode
    ("a > b", "a > b", []),  # a '>' on its own is text
    ('<code class="language-python">x</code>', "x", [{"type": "code", "offset": 0, "length": 1}]),  # no language
    ("<pre><code>x</code></pre>", "x", [{"type": "pre", "offset": 0, "length": 1}]),  # one block, not two
    ('<code class="language-sh"><pre>x</pre></code>y', "xy",
     [{"type": "pre", "offset": 0, "length": 1, "language": "sh"}]),
    ('<pre>a<code class="language-sh">x</code></pre>', "ax",  # not the same text: both stay
     [{"type": "pre", "offset": 0, "length": 2}, {"type": "code", "offset": 1, "length": 1}]),
    ("<a>example.org</a> <a href='HTTPS://x.nl'>y</a>", "example.org y",
     [{"type": "text_link", "offset": 0, "length": 11, "url": "http://example.org"},
      {"type": "text_link", "offset": 12, "length": 1, "url": "HTTPS://x.nl"}]),
    ('<a title="a > b" href=x.nl>k</a>', "k", [{"type": "text_link", "offset": 0, "length": 1,
                                                 "url": "http://x.nl"}]),
    ('<blockquote expandable="">q</blockquote>', "q", [{"type": "expandable_blockquote", "offset": 0, "length": 1}]),
])
def test_html_is_parsed_as_telegram_does(html: str, plain: str, entities: list[Json]) -> None:
    assert parse_html(html) == (plain, entities)


@pytest.mark.parametrize(("html", "message"), [
    ("0123456789A<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 11'),
    ("é<foo>", 'Unsupported start tag "foo" at byte offset 2'),  # bytes, not characters
    ("a < b", 'Unsupported start tag "" at byte offset 2'),  # a bare '<'
    ("a<b", "Unclosed start tag at byte offset 1"),
    ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
    ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
    ("x</b>", "Unexpected end tag at byte offset 1"),
    ("<b>x</b", "Unclosed end tag at byte offset 4"),
    ("<span>s</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ("<a href=foo/bar>x</a>", "Unexpected end of name token at byte offset 8"),
    ('<a href="x', "Unclosed start tag at byte offset 0"),
    ("<a href=", 'Unclosed start tag "a" at byte offset 0'),
    ('<a ="x">', 'Empty attribute name in the tag "a" at byte offset 0'),
    ("<tg-emoji>x</tg-emoji>", "Invalid custom emoji identifier specified"),
    ("&#xD83D;", "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched "
                 "surrogate code units"),
    ("<b>x</b y>", "Unclosed end tag at byte offset 4"),
    ("<b/>", 'Unsupported start tag "b/" at byte offset 0'),
    ("<i>é</i></i>", "Unexpected end tag at byte offset 9"),
    ('<tg-emoji emoji-id="99999999999999999999">x</tg-emoji>', "Invalid custom emoji identifier specified"),
    ('<span class="spoiler">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
])
def test_html_errors_carry_telegrams_messages(html: str, message: str) -> None:
    with pytest.raises(HtmlError) as caught:
        parse_html(html)
    assert str(caught.value) == message


def test_strict_entities_refuses_what_telegram_would_keep_as_text() -> None:
    assert parse_html("AT&T")[0] == "AT&T"
    with pytest.raises(HtmlError, match=r'Unsupported HTML entity "&T" at byte offset 2 \(the fake'):
        parse_html("AT&T", strict_entities=True)
    assert parse_html("AT&amp;T", strict_entities=True)[0] == "AT&T"


def test_bot_commands_are_found_as_telegram_marks_them() -> None:
    assert bot_command_entities("/start") == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert bot_command_entities("/volg@wetwacht_test_bot x") == [
        {"type": "bot_command", "offset": 0, "length": 23}]
    assert bot_command_entities("a/b en /lijst") == [{"type": "bot_command", "offset": 7, "length": 6}]
    assert bot_command_entities("geen / commando") == []


# -- the real client against the fake


async def test_get_me_describes_the_bot_from_its_token(fake: FakeBotApi) -> None:
    async with bot(fake) as b:  # initialize() calls getMe
        me = await b.get_me()
    assert (me.id, me.is_bot, me.username, me.can_join_groups) == (123456, True, "wetwacht_test_bot", True)
    assert [name for name, _ in fake.calls()] == ["getMe", "getMe"]


async def test_a_wrong_token_is_unauthorized_and_a_bad_method_not_found(fake: FakeBotApi, wire: Wire) -> None:
    with pytest.raises(InvalidToken, match="was rejected by the server"):
        async with bot(fake, token="654321:WRONG-token"):
            pass
    assert wire("getMe", token="654321:WRONG-token") == (401, {"ok": False, "error_code": 401,
                                                              "description": "Unauthorized"})
    assert wire("getMe", token="no-colon")[0] == 404
    assert fake.calls() == []  # neither reached the bot
    async with bot(fake) as b:
        with pytest.raises(EndPointNotFound):
            await b.do_api_request("sendFax", api_kwargs={"chat_id": 42})
    assert wire("sendPhoto", data={"chat_id": "42"}) == (404, {"ok": False, "error_code": 404,
                                                               "description": "Not Found"})


async def test_a_command_reaches_the_handler_and_a_button_press_the_callback_handler(fake: FakeBotApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("<b>Welkom</b>", parse_mode=ParseMode.HTML,
                                                  reply_markup=markup("ja", "nee"))

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Genoteerd")
        await query.edit_message_text(f"Gekozen: {query.data}")

    app = Application.builder().token(TOKEN).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            fake.user_message(42, 42, "/start", username="piet")
            fake.user_message(-1001, 7, "/start@wetwacht_test_bot", chat_type="group")
            fake.user_message(42, 42, "/start@other_bot")  # addressed to another bot: no answer
            assert await asyncio.to_thread(fake.wait_for, lambda f: len(f.messages()) == 2, 10)

            sent = fake.messages(42)
            # Message ids count per chat, the user's two messages included (both came before the reply).
            assert [(m.message_id, m.text, m.plain, m.parse_mode) for m in sent] == [(3, "<b>Welkom</b>", "Welkom",
                                                                                      "HTML")]
            assert sent[0].reply_markup == {"inline_keyboard": [[{"text": "Ja", "callback_data": "ja"},
                                                                 {"text": "Nee", "callback_data": "nee"}]]}
            assert sent[0].entities == ({"type": "bold", "offset": 0, "length": 6},)
            assert [m.chat_id for m in fake.messages(-1001)] == [-1001]

            fake.press_button(42, 42, sent[0].message_id, "nee")
            assert await asyncio.to_thread(fake.wait_for, lambda f: len(f.messages(42)) == 2, 10)
        finally:
            await app.updater.stop()
            await app.stop()

    assert [(a["text"], a["show_alert"]) for a in fake.callback_answers] == [("Genoteerd", False)]
    # Updates are handled in order, so "/start@other_bot" was handled (and ignored) before the press.
    assert [m.method for m in fake.messages(42)] == ["sendMessage", "editMessageText"]
    edit = fake.messages(42)[1]
    assert (edit.method, edit.message_id, edit.text, edit.reply_markup) == ("editMessageText", 3, "Gekozen: nee", None)
    current = fake.current(42, 3)
    assert current is not None and current.plain == "Gekozen: nee"
    assert fake.pending_updates() == 0  # the updater confirmed everything on stop


async def test_bad_html_is_refused_with_telegrams_description(fake: FakeBotApi, wire: Wire) -> None:
    async with bot(fake) as b:
        message = await refused(BadRequest, b.send_message(42, "Kijk: <foo>tekst</foo>", parse_mode=ParseMode.HTML))
    # python-telegram-bot drops "Bad Request: " and capitalizes (which lowers the rest).
    assert message == 'Can\'t parse entities: unsupported start tag "foo" at byte offset 6'
    assert wire("sendMessage", data={"chat_id": "42", "text": "Kijk: <foo>", "parse_mode": "HTML"}) == (
        400, {"ok": False, "error_code": 400,
              "description": 'Bad Request: can\'t parse entities: Unsupported start tag "foo" at byte offset 6'})
    assert wire("sendMessage", data={"chat_id": "42", "text": "x", "parse_mode": "BBCode"})[1]["description"] == (
        "Bad Request: unsupported parse_mode")
    assert fake.messages() == []


async def test_the_length_limit_counts_utf16_units_after_parsing(fake: FakeBotApi, wire: Wire) -> None:
    async with bot(fake) as b:
        await b.send_message(42, "<b>" + "x" * 4096 + "</b>", parse_mode=ParseMode.HTML)  # the tags don't count
        await b.send_message(42, "😀" * 2048)  # 4096 UTF-16 code units
        for text in ("x" * 4097, "😀" * 2048 + "x", "&amp;" * 4097):
            message = await refused(BadRequest, b.send_message(42, text, parse_mode=ParseMode.HTML))
            assert message == "Message is too long"
        blank = b.send_message(42, "  <b> </b>\n", parse_mode=ParseMode.HTML)
        assert await refused(BadRequest, blank) == "Message text is empty"
    assert [len(m.plain) for m in fake.messages(42)] == [4096, 2048]
    assert wire("sendMessage", data={"chat_id": "42", "text": "x" * 4097})[1]["description"] == (
        "Bad Request: message is too long")
    assert wire("sendMessage", data={"chat_id": "42"})[1]["description"] == "Bad Request: message text is empty"


async def test_a_blocked_chat_is_forbidden_and_an_unknown_one_not_found(fake: FakeBotApi, wire: Wire) -> None:
    fake.block(42)
    fake.block(-555)
    fake.forget_chat(43)
    async with bot(fake) as b:
        assert await refused(Forbidden, b.send_message(42, "Hallo")) == "Forbidden: bot was blocked by the user"
        kicked = await refused(Forbidden, b.send_message(-555, "Hallo"))
        assert kicked == "Forbidden: bot was kicked from the group chat"
        assert await refused(BadRequest, b.send_message(43, "Hallo")) == "Chat not found"
        assert await refused(BadRequest, b.send_message("@geen_kanaal", "Hallo")) == "Chat not found"
        assert await refused(Forbidden, b.send_chat_action(42, "typing")) == "Forbidden: bot was blocked by the user"
        fake.user_message(42, 42, "hoi")  # writing to the bot again unblocks it
        await b.send_message(42, "Welkom terug")
    assert wire("sendMessage", data={"chat_id": "-555", "text": "x"}) == (
        403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was kicked from the group chat"})
    assert wire("sendMessage", data={"text": "x"})[1]["description"] == "Bad Request: chat_id is empty"
    assert [m.text for m in fake.messages()] == ["Welkom terug"]


async def test_fail_next_answers_429_with_retry_after_once(fake: FakeBotApi, wire: Wire,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # python-telegram-bot's retry_after as a timedelta, unwarned
    fake.fail_next("sendMessage", retry_after=3)
    fake.fail_next("sendmessage", status=500)  # names are case-insensitive; failures queue up
    async with bot(fake) as b:
        with pytest.raises(RetryAfter) as caught:
            await b.send_message(42, "een")
        assert caught.value.retry_after == dt.timedelta(seconds=3)
        assert wire("sendMessage", data={"chat_id": "42", "text": "twee"}) == (
            500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
        await b.send_message(42, "drie")
    assert [m.text for m in fake.messages(42)] == ["drie"]
    assert [p["text"] for _, p in fake.calls("sendMessage")] == ["een", "twee", "drie"]
    assert fake.rate_limited == 0  # injected failures are not the limiter's


async def test_the_rate_limiter_answers_429_exactly_when_a_window_is_full(http: httpx.Client,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    clock = FakeClock(1000.0)
    with FakeBotApi(clock=clock, global_per_second=3, per_chat_per_second=1, group_per_minute=2).running() as api:
        async with bot(api) as b:

            async def retry_after(chat_id: int) -> int | None:
                try:
                    await b.send_message(chat_id, "x")
                except RetryAfter as error:
                    assert isinstance(error.retry_after, dt.timedelta)
                    return int(error.retry_after.total_seconds())
                return None

            assert await retry_after(1) is None
            assert await retry_after(1) == 1  # per chat: one a second
            clock.now = 1000.5
            assert await retry_after(1) == 1  # ceil(0.5)
            clock.now = 1001.0
            assert await retry_after(1) is None  # the first send left the window
            assert await retry_after(2) is None
            assert await retry_after(3) is None  # three in this second overall
            assert await retry_after(4) == 1  # the fourth is one too many
            clock.now = 1010.0
            assert await retry_after(-7) is None
            clock.now = 1020.0
            assert await retry_after(-7) is None
            clock.now = 1030.0
            assert await retry_after(-7) == 40  # a group: two a minute; the first leaves at 1070
            clock.now = 1069.9
            assert await retry_after(-7) == 1
            clock.now = 1070.0
            assert await retry_after(-7) is None
            # Edits count too; other methods don't.
            sent = await b.send_message(5, "origineel")
            with pytest.raises(RetryAfter):
                await b.edit_message_text("bewerkt", chat_id=5, message_id=sent.message_id)
            await b.send_chat_action(5, "typing")
        assert api.rate_limited == 6
        assert [m.at for m in api.messages(-7)] == [1010.0, 1020.0, 1070.0]
        assert Wire(http, api)("sendMessage", data={"chat_id": "5", "text": "x"}) == (
            429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                  "parameters": {"retry_after": 1}})


async def test_a_limit_below_one_a_second_spaces_the_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    clock = FakeClock(0.0)
    with FakeBotApi(clock=clock, per_chat_per_second=0.5).running() as api:
        async with bot(api) as b:
            await b.send_message(1, "een")
            clock.now = 1.2
            with pytest.raises(RetryAfter) as caught:
                await b.send_message(1, "te vroeg")
            assert caught.value.retry_after == dt.timedelta(seconds=1)  # ceil(2.0 - 1.2)
            clock.now = 2.0
            await b.send_message(1, "twee")
    assert [m.at for m in api.messages(1)] == [0.0, 2.0]


async def test_strict_entities_catches_unescaped_ampersands() -> None:
    with FakeBotApi(strict_entities=True).running() as api:
        async with bot(api) as b:
            message = await refused(BadRequest, b.send_message(42, "AT&T", parse_mode=ParseMode.HTML))
            assert message.startswith('Can\'t parse entities: unsupported html entity "&t" at byte offset 2')
            await b.send_message(42, "AT&amp;T", parse_mode=ParseMode.HTML)
    assert [m.plain for m in api.messages()] == ["AT&T"]


async def test_stop_ends_a_waiting_long_poll_promptly() -> None:
    api = FakeBotApi().start()
    b = bot(api)
    await b.initialize()
    try:
        poll = asyncio.create_task(b.get_updates(timeout=30))
        assert await asyncio.to_thread(api.wait_for, lambda f: f.waiting_polls() == 1, 10)
        started = time.monotonic()
        await asyncio.to_thread(api.stop)
        assert time.monotonic() - started < 2.0
        assert await asyncio.wait_for(poll, 5) == ()  # the waiting poll was answered, with nothing
    finally:
        await b.shutdown()


async def test_edits_behave_as_on_telegram(fake: FakeBotApi) -> None:
    async with bot(fake) as b:
        sent = await b.send_message(42, "Stand: 1", reply_markup=markup("meer"))
        mid = sent.message_id
        same = b.edit_message_text("Stand: 1", chat_id=42, message_id=mid, reply_markup=markup("meer"))
        assert await refused(BadRequest, same) == NOT_MODIFIED
        edited = await b.edit_message_text("Stand: 1", chat_id=42, message_id=mid)  # no markup: the keyboard goes
        assert isinstance(edited, Message) and edited.reply_markup is None and edited.edit_date is not None
        missing = b.edit_message_text("x", chat_id=42, message_id=99)
        assert await refused(BadRequest, missing) == "Message to edit not found"
        too_long = b.edit_message_text("x" * 4097, chat_id=42, message_id=mid)
        assert await refused(BadRequest, too_long) == "Message_too_long"  # edits get the server's code
        await b.edit_message_reply_markup(chat_id=42, message_id=mid, reply_markup=markup("minder"))
        again = b.edit_message_reply_markup(chat_id=42, message_id=mid, reply_markup=markup("minder"))
        assert await refused(BadRequest, again) == NOT_MODIFIED
        fake.user_message(42, 42, "van de gebruiker")
        theirs = b.edit_message_text("x", chat_id=42, message_id=mid + 1)
        assert await refused(BadRequest, theirs) == "Message can't be edited"
        current = fake.current(42, mid)
        assert current is not None and current.reply_markup == markup("minder").to_dict()
        await b.edit_message_reply_markup(chat_id=42, message_id=mid, reply_markup=InlineKeyboardMarkup([]))
    current = fake.current(42, mid)
    assert current is not None and current.reply_markup is None  # an empty keyboard removes it
    assert [m.method for m in fake.messages(42)] == ["sendMessage", "editMessageText"]


async def test_inline_keyboards_are_checked(fake: FakeBotApi, wire: Wire) -> None:
    async with bot(fake) as b:
        assert await refused(BadRequest, b.send_message(42, "x", reply_markup=markup("d" * 65))) == (
            "Button_data_invalid")
        sent = await b.send_message(42, "x", reply_markup=markup("d" * 64))
    assert wire("sendMessage", data={"chat_id": "42", "text": "x", "reply_markup": "{"})[1]["description"] == (
        "Bad Request: can't parse reply keyboard markup JSON object")
    text_only = '{"inline_keyboard": [[{"text": "a"}]]}'
    assert wire("sendMessage", data={"chat_id": "42", "text": "x", "reply_markup": text_only})[1]["description"] == (
        "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    with pytest.raises(ValueError, match="no button with data"):
        fake.press_button(42, 42, sent.message_id, "anders")  # Telegram never delivers data no button carries
    assert fake.press_button(42, 42, sent.message_id, "anders", check_data=False) > 0


async def test_callback_answers_need_an_open_query(fake: FakeBotApi) -> None:
    async with bot(fake) as b:
        sent = await b.send_message(42, "Kies", reply_markup=markup("a"))
        update_id = fake.press_button(42, 42, sent.message_id, "a")
        updates = await b.get_updates()
        assert [u.update_id for u in updates] == [update_id]
        query = updates[0].callback_query
        assert query is not None and query.data == "a" and query.message is not None
        assert query.message.message_id == sent.message_id and query.from_user.id == 42
        assert await query.answer("ok", show_alert=True)
        assert await refused(BadRequest, query.answer("nog eens")) == (
            "Query is too old and response timeout expired or query id is invalid")
        fake.press_button(42, 42, sent.message_id, "a")
        (again,) = await b.get_updates(offset=update_id + 1)
        assert again.callback_query is not None
        assert await refused(BadRequest, again.callback_query.answer("x" * 201)) == "Message_too_long"
        fake.press_button(42, 42, 777, "weg")  # a message the fake doesn't know: Telegram's stub for it
        (stub,) = await b.get_updates(offset=update_id + 2)
        assert stub.callback_query is not None and stub.callback_query.message is not None
        assert (stub.callback_query.message.message_id, stub.callback_query.message.date) == (777, ZERO_DATE)
    assert fake.callback_answers == [{"callback_query_id": query.id, "text": "ok", "show_alert": True, "url": "",
                                      "cache_time": 0}]


async def test_commands_are_kept_per_scope_and_language(fake: FakeBotApi) -> None:
    async with bot(fake) as b:
        await b.set_my_commands([BotCommand("start", "Begin"), BotCommand("/volg", " Volg een toezegging ")])
        await b.set_my_commands([BotCommand("help", "Hulp")], scope=BotCommandScopeChat(42), language_code="nl")
        await b.set_my_commands([BotCommand("lijst", "Lijst")], scope=BotCommandScopeAllPrivateChats())
        assert [c.command for c in await b.get_my_commands()] == ["start", "volg"]
        assert [c.command for c in await b.get_my_commands(scope=BotCommandScopeChat(42))] == []  # no fallback
        assert await b.delete_my_commands(scope=BotCommandScopeAllPrivateChats())
        for command, description, message in [("Start", "iets", "Bot_command_invalid"),
                                              ("met-streep", "iets", "Bot_command_invalid"),
                                              ("x" * 33, "iets", "Command length must not exceed 32"),
                                              ("leeg", " ", "Bot_command_description_invalid")]:
            attempt = b.set_my_commands([BotCommand(command, description)])
            assert await refused(BadRequest, attempt) == message
        assert await b.set_my_description("Houdt het kabinet aan zijn beloften.")
        assert await b.set_my_short_description("Wetwacht", language_code="nl")
        assert await b.send_chat_action(42, "typing")
        assert await refused(BadRequest, b.send_chat_action(42, "dancing")) == "Wrong parameter action in request"
        assert await b.log_out() and await b.close()
    assert fake.commands == {
        ("default", ""): [{"command": "start", "description": "Begin"},
                          {"command": "volg", "description": "Volg een toezegging"}],
        ("chat:42", "nl"): [{"command": "help", "description": "Hulp"}],
    }
    assert fake.descriptions == {"description": {"": "Houdt het kabinet aan zijn beloften."},
                                 "short_description": {"nl": "Wetwacht"}}


def test_get_updates_confirms_limits_and_filters(fake: FakeBotApi, wire: Wire) -> None:
    first = fake.user_message(42, 42, "een")
    fake.user_message(42, 42, "twee")
    fake.user_message(42, 42, "drie")
    status, answer = wire("getUpdates", params={"limit": "2"}, get=True)  # a GET query string
    assert status == 200 and [u["message"]["text"] for u in answer["result"]] == ["een", "twee"]
    assert answer["result"][0]["update_id"] == first
    assert answer["result"][0]["message"]["chat"] == {"id": 42, "first_name": "Test", "type": "private"}
    # A JSON body; the offset confirms everything before it.
    answer = wire("getUpdates", json={"offset": first + 1, "timeout": 0})[1]
    assert [u["message"]["text"] for u in answer["result"]] == ["twee", "drie"]
    assert wire("getWebhookInfo")[1]["result"] == {"url": "", "has_custom_certificate": False,
                                                   "pending_update_count": 2}
    answer = wire("getUpdates", data={"offset": "-1"})[1]  # only the last one is kept
    assert [u["message"]["text"] for u in answer["result"]] == ["drie"]
    # allowed_updates is remembered and applies to updates created afterwards.
    wire("getUpdates", data={"offset": str(first + 3), "allowed_updates": '["callback_query"]'})
    assert fake.user_message(42, 42, "genegeerd") == 0
    assert fake.pending_updates() == 0
    wire("deleteWebhook", data={"drop_pending_updates": "true"})
    wire("getUpdates", data={"allowed_updates": "[]"})  # an empty list is the default set again
    assert fake.user_message(42, 42, "weer") > 0
    assert fake.calls("getupdates")[1] == ("getUpdates", {"offset": first + 1, "timeout": 0})


def test_a_second_long_poll_ends_the_first_with_a_conflict(fake: FakeBotApi, wire: Wire) -> None:
    first: list[tuple[int, Json]] = []
    second: list[tuple[int, Json]] = []
    polls = [threading.Thread(target=lambda into=into: into.append(wire("getUpdates", data={"timeout": "30"})))
             for into in (first, second)]
    polls[0].start()
    assert fake.wait_for(lambda f: f.waiting_polls() == 1, 10)
    polls[1].start()
    polls[0].join(10)  # ended by the second poll
    assert first == [(409, {"ok": False, "error_code": 409, "description": (
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running")})]
    assert fake.wait_for(lambda f: f.waiting_polls() == 1, 10) and second == []
    update_id = fake.user_message(42, 42, "wakker")
    polls[1].join(10)
    assert second[0][0] == 200 and [u["update_id"] for u in second[0][1]["result"]] == [update_id]


def test_multipart_bodies_are_read(fake: FakeBotApi, wire: Wire) -> None:
    status, answer = wire("sendMessage", data={"chat_id": "42", "text": "met bijlage"},
                          files={"thumbnail": ("a.txt", b"abc", "text/plain")})
    assert status == 200 and answer["result"]["text"] == "met bijlage"
    assert fake.calls("sendMessage")[0][1] == {"chat_id": 42, "text": "met bijlage",
                                               "thumbnail": "<file a.txt 3 bytes>"}


def test_records_are_copies(fake: FakeBotApi, wire: Wire) -> None:
    keyboard = '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}'
    wire("sendMessage", data={"chat_id": "42", "text": "x", "reply_markup": keyboard})
    fake.calls()[0][1]["text"] = "veranderd"
    assert fake.calls()[0][1]["text"] == "x"
    sent = fake.messages()[0]
    assert sent.reply_markup is not None
    sent.reply_markup["inline_keyboard"].clear()
    assert fake.messages()[0].reply_markup == {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
