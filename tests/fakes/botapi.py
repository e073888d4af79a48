"""A fake Telegram Bot API server on 127.0.0.1, for wetwacht's tests and benchmarks.

It speaks the real protocol closely enough that the real python-telegram-bot client can't tell it apart for
the methods wetwacht uses: `POST/GET {base_url}{token}/{method}` with form-encoded, multipart or JSON
parameters (python-telegram-bot sends strings raw and every other value JSON-serialised), and answers
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}``
with the HTTP status equal to ``error_code``. Descriptions are worded as Telegram words them (HTML errors
point into the text in UTF-8 bytes): "Bad Request: can't parse entities: Unsupported start tag \\"foo\\"
at byte offset 12", "Bad Request: message is too long", "Forbidden: bot was blocked by the user",
"Too Many Requests: retry after 5" with ``parameters.retry_after``, 401 "Unauthorized" for a wrong token,
404 "Not Found" for a malformed token or an unknown method.

Start and stop
--------------
    with FakeBotApi().running() as tg:        # a stdlib ThreadingHTTPServer on a free port, in a thread
        tg.base_url                           # "http://127.0.0.1:PORT/bot" -> WETWACHT_TELEGRAM_API_URL
        tg.token                              # "123456:TEST-token"
(or `start()` / `stop()`). `stop()` wakes every waiting long poll (it answers an empty list) and returns
promptly.

Driving it (from the test thread, while the server runs)
--------------------------------------------------------
    tg.user_message(42, 42, "/start")          # a `message` update; "/cmd[@bot]" gets its bot_command entity
    tg.press_button(42, 42, message_id, "x")   # a `callback_query` update carrying the pressed message
    tg.block(42)                               # later sends to 42 -> 403 "Forbidden: bot was blocked by the user"
    tg.unblock(42), tg.forget_chat(43)         # forget_chat: 400 "Bad Request: chat not found"
    tg.fail_next("sendMessage", status=429, retry_after=3, count=1)
    tg.wait_for(lambda t: len(t.messages(42)) == 2, timeout=10)   # Condition.wait_for, no sleeping
Records (copies, read under the lock): `messages(chat_id)` (SentMessage: `text` as the bot sent it, `plain`
and `entities` as Telegram made of it), `calls(method)` (every call, parameters decoded), `commands`,
`callback_answers`, `descriptions`, `rate_limited`, `current(chat_id, message_id)`, `pending_updates()`,
`waiting_polls()`.

Methods: getMe, getUpdates (offset confirms, negative offset keeps the last N, limit 1-100, timeout 0-50,
allowed_updates remembered as Telegram does and applied when an update is created; a second long poll ends
the first with 409 "Conflict: terminated by other getUpdates request; ..."), deleteWebhook, getWebhookInfo,
setMyCommands, getMyCommands, deleteMyCommands, sendMessage, editMessageText, editMessageReplyMarkup,
answerCallbackQuery, sendChatAction, close, logOut, setMyDescription, setMyShortDescription. Method names
are case-insensitive, as in the Bot API. Anything else is 404 "Not Found".

Edits as on Telegram: editMessageText without reply_markup removes the inline keyboard (so does an empty
keyboard), the same content again is "Bad Request: message is not modified: ...", and a text over the limit
is "Bad Request: MESSAGE_TOO_LONG" (the server's code; sendMessage gets the sentence "message is too long").

Chats: every positive id is a private chat whose user has started the bot, every negative id a group
(a supergroup from -1000000000000 down); `forget_chat` makes one unknown ("Bad Request: chat not found").
Message ids increase per chat, shared by the user's and the bot's messages, as in a private chat.

Rate limits (only when configured; only successful sendMessage/editMessageText count; measured with the
injectable clock in sliding windows): more than `global_per_second` in any second, more than
`per_chat_per_second` to one chat, or more than `group_per_minute` to one group (negative id) in any minute
-> 429 "Too Many Requests: retry after N", N = seconds until the window frees (ceil, at least 1). A
fractional limit r allows max(1, floor(r)) sends per max(1, floor(r))/r of the window (0.5 per second: one
send every two seconds).

Telegram keeps an '&' that starts no character reference it knows ("AT&T", "&nbsp;") as plain text, and so
does the fake; `FakeBotApi(strict_entities=True)` refuses such a text instead (with a message of its own), to
catch text that was not escaped.

Not modelled (Telegram does these; the fake does not): automatic url/mention/hashtag entities in sent
texts, the server's pause of ~3 s before answering a repeated empty getUpdates with a small timeout,
update expiry after 24 hours, Markdown/MarkdownV2 parsing (those texts are taken literally), link checking
of ``<a href>`` beyond its scheme, the removal of entities nested against the documented rules (bold inside
code, one link inside another), ``<tg-time>`` (refused here as an unsupported tag).

HTML (`parse_html`) follows https://core.telegram.org/bots/api#html-style: the listed tags only, nested
properly; the named references &lt; &gt; &amp; &quot; and every numeric one; entities in UTF-16 offsets; the
4096-unit limit applies to the text after parsing.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import math
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes import LocalServer

JSONDict = dict[str, Any]

MAX_TEXT_UTF16 = 4096  # a message's text after entity parsing, in UTF-16 code units
MAX_TEXT_BYTES = 1 << 15  # the official server refuses longer raw `text` before parsing it
MAX_CALLBACK_DATA = 64  # bytes
MAX_CALLBACK_ANSWER = 200  # characters
MAX_COMMANDS = 100
LONG_POLL_MAX_TIMEOUT = 50  # seconds, the official server's clamp

# Update types a bot gets when it never said otherwise (or sent an empty allowed_updates list).
ALL_UPDATE_TYPES = frozenset({
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages", "message_reaction",
    "message_reaction_count", "inline_query", "chosen_inline_result", "callback_query", "shipping_query",
    "pre_checkout_query", "purchased_paid_media", "poll", "poll_answer", "my_chat_member", "chat_member",
    "chat_join_request", "chat_boost", "removed_chat_boost",
})
DEFAULT_UPDATE_TYPES = ALL_UPDATE_TYPES - {"chat_member", "message_reaction", "message_reaction_count"}

CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice", "upload_document",
    "choose_sticker", "find_location", "record_video_note", "upload_video_note",
})

CONFLICT_OTHER_POLL = ("Conflict: terminated by other getUpdates request; make sure that only one bot instance "
                       "is running")
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message")
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"

# What an injected failure (`fail_next`) says, by status, unless told otherwise.
FAILURE_DESCRIPTIONS: dict[int, str] = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: CONFLICT_OTHER_POLL,
    500: "Internal Server Error",
    502: "Bad Gateway",
}

# How parameters arrive typed (the wire carries strings); used to record calls with their values decoded.
_JSON_PARAMS = frozenset({"reply_markup", "allowed_updates", "commands", "scope", "entities",
                          "link_preview_options", "reply_parameters"})
_INT_PARAMS = frozenset({"message_id", "offset", "limit", "timeout", "cache_time", "message_thread_id",
                         "reply_to_message_id", "user_id"})
_BOOL_PARAMS = frozenset({"disable_notification", "protect_content", "show_alert", "drop_pending_updates",
                          "disable_web_page_preview", "allow_sending_without_reply", "for_channels"})

_WELL_FORMED_TOKEN = re.compile(r"^[0-9]+:[A-Za-z0-9_-]+$")
_VALID_COMMAND = re.compile(r"^[a-z0-9_]+$")
_LEADING_INT = re.compile(r"^\s*([+-]?[0-9]+)")


@dataclass(frozen=True)
class SentMessage:
    """One text the bot sent or edited, as the fake accepted it.

    `text` is what the bot sent (HTML source when `parse_mode` is HTML); `plain` and `entities` are what
    Telegram made of it (the text the user sees, and its formatting in UTF-16 offsets)."""

    message_id: int
    chat_id: int
    text: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    at: float  # the fake's clock
    method: str  # "sendMessage" | "editMessageText"
    plain: str = ""
    entities: tuple[JSONDict, ...] = ()


class ApiError(Exception):
    """An error answer: the HTTP status is the `error_code`, as Telegram does it."""

    def __init__(self, code: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad_request(message: str) -> ApiError:
    """A 400 worded as the official server words it: "Bad Request: " and the message with its first letter
    lowered, unless the message is an upper-case server code such as BUTTON_DATA_INVALID."""
    if len(message) >= 2 and (message[1] == "_" or message[1].isupper()):
        return ApiError(400, f"Bad Request: {message}")
    return ApiError(400, f"Bad Request: {message[:1].lower()}{message[1:]}")


# --------------------------------------------------------------------------------------------------------
# Telegram HTML (parse_mode=HTML, https://core.telegram.org/bots/api#html-style): which text a message shows
# and which entities it carries.


class HtmlError(Exception):
    """Why Telegram refuses an HTML text; the Bot API reports it as "Bad Request: can't parse entities: <why>"."""


# The tags Telegram supports, by lower-case name, and the entity each becomes. A span only counts with
# class="tg-spoiler"; a, code, pre, blockquote and tg-emoji read attributes (see `_HtmlParser.finish`).
_ENTITY_OF_TAG: dict[str, str] = {
    "b": "bold", "strong": "bold",
    "i": "italic", "em": "italic",
    "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler",
    "a": "text_link",
    "code": "code", "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
# The only named references Telegram knows; every numeric one works too.
_NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_REFERENCE = re.compile(r"&(?:#[xX](?P<hex>[0-9A-Fa-f]+)|#(?P<dec>[0-9]+)|(?P<name>[A-Za-z]+));?")
_STRICT_SNIPPET = re.compile(r"&#?[0-9A-Za-z]{0,10};?")
_MARKUP = re.compile(r"[<&]")  # '>' on its own is ordinary text
_WHITE = " \t\n\r\v\f"
_WHITE_RUN = re.compile(f"[{_WHITE}]*")
_TAG_NAME = re.compile(f"[^{_WHITE}>]*")
_ATTRIBUTE_NAME = re.compile(f"[^{_WHITE}=>/\"']*")
_UNQUOTED_VALUE = re.compile(r"[A-Za-z0-9.-]*")  # an unquoted attribute value may hold only these
_LINK_SCHEMES = frozenset({"http", "https", "tg", "ton", "tonsite"})
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_USER_LINK = re.compile(r"tg://user\?id=([0-9]{1,18})")
_EMOJI_ID = re.compile(r"-?[0-9]{1,19}")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (offsets, lengths, the 4096 limit): UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _character_reference(text: str, at: int) -> tuple[str, int] | None:
    """The character the reference starting at `text[at]` ('&') stands for, and the index after it; None when
    it is no reference Telegram knows (the '&' then is an ordinary character). The ';' may be left out."""
    found = _REFERENCE.match(text, at)
    if found is None:
        return None
    if found["name"] is not None:
        char = _NAMED_REFERENCES.get(found["name"])
        return None if char is None else (char, found.end())
    digits = (found["hex"] or found["dec"]).lstrip("0")
    if not digits or len(digits) > 8:  # zero, or far beyond the last code point
        return None
    code = int(digits, 16 if found["hex"] is not None else 10)
    return (chr(code), found.end()) if code <= 0x10FFFF else None


def _unescape_attribute(value: str) -> str:
    """A quoted attribute value with its references decoded; an unknown '&' stays as it is."""
    parts: list[str] = []
    done = 0
    while (amp := value.find("&", done)) >= 0:
        parts.append(value[done:amp])
        reference = _character_reference(value, amp)
        if reference is None:
            parts.append("&")
            done = amp + 1
        else:
            parts.append(reference[0])
            done = reference[1]
    parts.append(value[done:])
    return "".join(parts)


def _link_target(url: str) -> str | None:
    """Where a text link leads, or None when Telegram drops the link (its text stays): a scheme it does not
    allow, or no scheme and nothing that looks like a host name (which gets http:// in front)."""
    url = url.strip()
    scheme = _URL_SCHEME.match(url)
    if scheme is not None:
        return url if scheme.group(1).lower() in _LINK_SCHEMES else None
    host = url.partition("/")[0]
    return f"http://{url}" if "." in host else None


@dataclass
class _OpenTag:
    name: str
    attributes: dict[str, str]
    offset: int  # UTF-16 units of shown text before the tag
    first_piece: int  # index in the parser's `pieces` where the tag's content begins
    order: int  # how many tags opened before it: outer entities sort before inner ones on the same text


class _HtmlParser:
    """One pass over an HTML text. Text between markup is copied as is; '&' starts a character reference;
    '<' a start or end tag. Open tags form a stack; closing one adds its entity (unless it covers nothing)."""

    def __init__(self, source: str, strict_entities: bool) -> None:
        self.source = source
        self.strict_entities = strict_entities
        self.pieces: list[str] = []  # the shown text, piece by piece
        self.units = 0  # utf16_len of the shown text so far
        self.stack: list[_OpenTag] = []
        self.opened = 0
        self.finished: list[tuple[int, JSONDict]] = []  # (order of the tag, entity)
        self.surrogate = False  # a reference named half of a surrogate pair

    def byte_offset(self, index: int) -> int:
        """Telegram's error messages point into the text in UTF-8 bytes."""
        return len(self.source[:index].encode("utf-8", "surrogatepass"))

    def show(self, text: str) -> None:
        self.pieces.append(text)
        self.units += utf16_len(text)

    def parse(self) -> tuple[str, list[JSONDict]]:
        source = self.source
        index = 0
        while index < len(source):
            markup = _MARKUP.search(source, index)
            if markup is None:
                self.show(source[index:])
                break
            if markup.start() > index:
                self.show(source[index:markup.start()])
            index = markup.start()
            if source[index] == "&":
                index = self.reference(index)
            elif source.startswith("</", index):
                index = self.end_tag(index)
            else:
                index = self.start_tag(index)
        if self.stack:
            raise HtmlError(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"')
        if self.surrogate:
            raise HtmlError("Text contains invalid Unicode characters after decoding HTML entities, check for "
                            "unmatched surrogate code units")
        self.finished.sort(key=lambda item: (item[1]["offset"], -item[1]["length"], item[0]))
        for _, entity in self.finished:
            entity.pop("_language", None)
        return "".join(self.pieces), [entity for _, entity in self.finished]

    def reference(self, index: int) -> int:
        reference = _character_reference(self.source, index)
        if reference is not None:
            char, after = reference
            self.surrogate = self.surrogate or 0xD800 <= ord(char) <= 0xDFFF
            self.show(char)
            return after
        if self.strict_entities:
            snippet = _STRICT_SNIPPET.match(self.source, index)
            shown = snippet.group() if snippet else "&"
            raise HtmlError(f'Unsupported HTML entity "{shown}" at byte offset {self.byte_offset(index)} (the '
                            "fake's strict mode; Telegram keeps it as text)")
        self.show("&")
        return index + 1

    def start_tag(self, index: int) -> int:
        """Reads the start tag at `index` ('<'); returns the index after its '>'."""
        name_match = _TAG_NAME.match(self.source, index + 1)
        assert name_match is not None  # the pattern matches the empty string
        if name_match.end() == len(self.source):
            raise HtmlError(f"Unclosed start tag at byte offset {self.byte_offset(index)}")
        name = name_match.group().lower()
        if name not in _ENTITY_OF_TAG:
            raise HtmlError(f'Unsupported start tag "{name}" at byte offset {self.byte_offset(index)}')
        attributes, after = self.attributes(name_match.end(), name, index)
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise HtmlError(f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_offset(index)}')
        self.stack.append(_OpenTag(name, attributes, self.units, len(self.pieces), self.opened))
        self.opened += 1
        return after

    def attributes(self, index: int, name: str, tag_index: int) -> tuple[dict[str, str], int]:
        """The attributes from `index` to the tag's '>' (`name="v"`, `name='v'`, `name=v` or a bare `name`),
        and the index after the '>'."""
        source = self.source
        end = len(source)
        unclosed = f'Unclosed start tag "{name}" at byte offset {{}}'
        found: dict[str, str] = {}
        while True:
            index = self.skip_white(index)
            if index == end:
                raise HtmlError(unclosed.format(self.byte_offset(tag_index)))
            if source[index] == ">":
                return found, index + 1
            key_match = _ATTRIBUTE_NAME.match(source, index)
            assert key_match is not None
            key = key_match.group()
            if not key:
                raise HtmlError(f'Empty attribute name in the tag "{name}" at byte offset '
                                f"{self.byte_offset(tag_index)}")
            index = self.skip_white(key_match.end())
            if index == end:
                raise HtmlError(unclosed.format(self.byte_offset(tag_index)))
            if source[index] != "=":
                found[key] = ""
                continue
            index = self.skip_white(index + 1)
            if index == end:
                raise HtmlError(unclosed.format(self.byte_offset(tag_index)))
            quote = source[index]
            if quote in "\"'":
                closing = source.find(quote, index + 1)
                if closing < 0:
                    raise HtmlError(f"Unclosed start tag at byte offset {self.byte_offset(tag_index)}")
                found[key] = _unescape_attribute(source[index + 1:closing])
                index = closing + 1
            else:
                value = _UNQUOTED_VALUE.match(source, index)
                assert value is not None
                if value.end() < end and source[value.end()] not in _WHITE and source[value.end()] != ">":
                    raise HtmlError(f"Unexpected end of name token at byte offset {self.byte_offset(index)}")
                found[key] = value.group()
                index = value.end()

    def skip_white(self, index: int) -> int:
        white = _WHITE_RUN.match(self.source, index)
        assert white is not None
        return white.end()

    def end_tag(self, index: int) -> int:
        """Reads the end tag at `index` ("</"), which closes the innermost open tag ("</>" names none);
        returns the index after its '>'."""
        if not self.stack:
            raise HtmlError(f"Unexpected end tag at byte offset {self.byte_offset(index)}")
        name_match = _TAG_NAME.match(self.source, index + 2)
        assert name_match is not None
        after = self.skip_white(name_match.end())
        if after == len(self.source) or self.source[after] != ">":
            raise HtmlError(f"Unclosed end tag at byte offset {self.byte_offset(index)}")
        name = name_match.group().lower()
        innermost = self.stack.pop()
        if name and name != innermost.name:
            raise HtmlError(f'Unmatched end tag at byte offset {self.byte_offset(index)}, expected '
                            f'"</{innermost.name}>", found "</{name}>"')
        self.finish(innermost)
        return after + 1

    def finish(self, tag: _OpenTag) -> None:
        """The entity of a tag that just closed, if it covers any text and Telegram keeps it."""
        length = self.units - tag.offset
        if length == 0:
            return
        entity: JSONDict = {"type": _ENTITY_OF_TAG[tag.name], "offset": tag.offset, "length": length}
        if tag.name == "a":
            href = tag.attributes.get("href", "")
            target = href or "".join(self.pieces[tag.first_piece:])  # <a>example.org</a> links to itself
            user = _USER_LINK.fullmatch(target)
            if user is not None and int(user.group(1)) > 0:
                entity.update(type="text_mention", user={"id": int(user.group(1)), "is_bot": False,
                                                          "first_name": ""})
            else:
                url = _link_target(target)
                if url is None:
                    return
                entity["url"] = url
        elif tag.name == "tg-emoji":
            emoji_id = tag.attributes.get("emoji-id", "")
            number = int(emoji_id) if _EMOJI_ID.fullmatch(emoji_id) else 0
            if number == 0 or not -(1 << 63) <= number < 1 << 63:  # a non-zero signed 64-bit number
                raise HtmlError("Invalid custom emoji identifier specified")
            entity["custom_emoji_id"] = str(int(emoji_id))
        elif tag.name == "blockquote" and "expandable" in tag.attributes:
            entity["type"] = "expandable_blockquote"
        elif tag.name in {"pre", "code"}:
            self.code_block(tag, entity)
            return
        self.finished.append((tag.order, entity))

    def code_block(self, tag: _OpenTag, entity: JSONDict) -> None:
        """A pre and a code around the same text (either inside the other) are one pre block, whose language
        is the code's class "language-..."; a code on its own never has a language."""
        language = ""
        css_class = tag.attributes.get("class", "")
        if tag.name == "code" and css_class.startswith("language-"):
            language = css_class[len("language-"):]
        if self.finished:
            order, previous = self.finished[-1]
            if ((previous["offset"], previous["length"]) == (entity["offset"], entity["length"])
                    and {previous["type"], entity["type"]} == {"pre", "code"}):
                language = language or previous.pop("_language", "")
                entity = {"type": "pre", "offset": entity["offset"], "length": entity["length"]}
                if language:
                    entity["language"] = language
                self.finished[-1] = (min(order, tag.order), entity)
                return
        if language:
            entity["_language"] = language  # kept in case a pre around the same text closes next
        self.finished.append((tag.order, entity))


def parse_html(text: str, *, strict_entities: bool = False) -> tuple[str, list[JSONDict]]:
    """The text Telegram shows for `text` sent with parse_mode=HTML, and its entities (Bot API MessageEntity
    dicts, offsets and lengths in UTF-16 units); HtmlError with Telegram's message when it refuses the text.

    Telegram keeps an '&' that starts no character reference it knows ("AT&T", "&nbsp;") as text. With
    `strict_entities` the fake refuses it instead, to catch text that was not escaped; that message is the
    fake's own."""
    return _HtmlParser(text, strict_entities).parse()


def _trim(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Telegram drops white space at both ends of a message; the entities keep covering the same characters
    (cut to what remains, gone when nothing does)."""
    start = len(text) - len(text.lstrip())
    kept_text = text[start:].rstrip()
    if len(kept_text) == len(text):
        return text, entities
    shift = utf16_len(text[:start])
    size = utf16_len(kept_text)
    kept: list[JSONDict] = []
    for entity in entities:
        begin = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, size)
        if begin < end:
            kept.append({**entity, "offset": begin, "length": end - begin})
    return kept_text, kept


def bot_command_entities(text: str) -> list[JSONDict]:
    """The bot_command entities Telegram finds in a user's text: "/cmd" of 1-64 [A-Za-z0-9_], optionally
    "@botname" of 3-32 of them, not glued to a word or to '/', '<', '>' on either side."""
    found: list[JSONDict] = []
    for match in re.finditer(r"/([A-Za-z0-9_]{1,64})(@[A-Za-z0-9_]{3,32})?", text):
        start, end = match.span()
        before = text[start - 1] if start > 0 else ""
        after = text[end] if end < len(text) else ""
        if before and (before.isalnum() or before in "_/<>"):
            continue
        if after and (after.isalnum() or after in "_/<>@"):
            continue
        found.append({"type": "bot_command", "offset": utf16_len(text[:start]),
                      "length": utf16_len(text[start:end])})
    return found


# --------------------------------------------------------------------------------------------------------
# Parameters: the wire carries strings; the official server reads each one as the type the method expects.


def _arg(params: dict[str, str], name: str) -> str:
    return params.get(name, "")


def _int_arg(params: dict[str, str], name: str, default: int, low: int | None = None,
             high: int | None = None) -> int:
    """As the official server: an empty value is the default, anything else its leading integer (0 when
    there is none), clamped."""
    raw = _arg(params, name)
    if raw == "":
        value = default
    else:
        match = _LEADING_INT.match(raw)
        value = int(match.group(1)) if match else 0
    if low is not None:
        value = max(value, low)
    if high is not None:
        value = min(value, high)
    return value


def _bool_arg(params: dict[str, str], name: str) -> bool:
    return _arg(params, name).strip().lower() in {"true", "yes", "1"}


def _decoded(params: dict[str, str]) -> dict[str, Any]:
    """The parameters with their values as the bot meant them (numbers, booleans, JSON objects), for the
    call log."""
    result: dict[str, Any] = {}
    for name, raw in params.items():
        value: Any = raw
        if name in _JSON_PARAMS:
            try:
                value = json.loads(raw)
            except ValueError:
                value = raw
        elif name in _INT_PARAMS or name == "chat_id":
            if re.fullmatch(r"-?[0-9]+", raw.strip()):
                value = int(raw)
        elif name in _BOOL_PARAMS:
            value = raw.strip().lower() in {"true", "yes", "1"}
        result[name] = value
    return result


def _wire_value(value: Any) -> str:
    """A JSON body's value as the official server sees it: strings as they are, the rest JSON text."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _parse_body(content_type: str, body: bytes) -> dict[str, str]:
    kind = content_type.split(";")[0].strip().lower()
    if not body:
        return {}
    if kind == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError:
            raise bad_request("Can't parse JSON object") from None
        if not isinstance(decoded, dict):
            raise bad_request("Can't parse JSON object")
        return {str(k): _wire_value(v) for k, v in decoded.items() if v is not None}
    if kind == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if kind == "multipart/form-data":
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
        params: dict[str, str] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            if part.get_filename() is not None:
                params[name] = f"<file {part.get_filename()} {len(data)} bytes>"
            else:
                params[name] = data.decode("utf-8", "replace")
        return params
    return {}


# --------------------------------------------------------------------------------------------------------
# State


@dataclass
class _Message:
    """A message as it stands in its chat (the bot's or a user's)."""

    message_id: int
    chat_id: int
    from_bot: bool
    sender: JSONDict
    date: int
    text: str
    plain: str
    entities: list[JSONDict]
    parse_mode: str | None = None
    reply_markup: JSONDict | None = None
    edit_date: int | None = None


@dataclass
class _Failure:
    status: int
    description: str
    parameters: JSONDict | None
    remaining: int


@dataclass
class _Window:
    """A sliding window: at most `capacity` events in any `span` seconds."""

    capacity: int
    span: float
    stamps: deque[float] = field(default_factory=deque)

    def wait(self, now: float) -> float:
        """Seconds until one more event fits (0: it fits now)."""
        while self.stamps and self.stamps[0] <= now - self.span:
            self.stamps.popleft()
        if len(self.stamps) < self.capacity:
            return 0.0
        return self.stamps[0] + self.span - now


def _window(rate: float, span: float) -> _Window:
    if rate <= 0:
        raise ValueError("a rate limit must be positive")
    capacity = max(1, math.floor(rate))
    return _Window(capacity, span * capacity / rate)


class _Server(LocalServer):
    pass


_METHODS = ("getMe", "getUpdates", "deleteWebhook", "getWebhookInfo", "setMyCommands", "getMyCommands",
            "deleteMyCommands", "sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery",
            "sendChatAction", "close", "logOut", "setMyDescription", "setMyShortDescription")
_CANONICAL = {name.lower(): name for name in _METHODS}


class FakeBotApi:
    """The fake server; see the module docstring. Everything public may be called from any thread."""

    def __init__(self, token: str = "123456:TEST-token",  # noqa: S107 (a fake token)
                 *, bot_username: str = "wetwacht_test_bot",
                 clock: Callable[[], float] = time.monotonic, global_per_second: float | None = None,
                 per_chat_per_second: float | None = None, group_per_minute: float | None = None,
                 bot_name: str = "Wetwacht test", strict_entities: bool = False) -> None:
        if not _WELL_FORMED_TOKEN.match(token):
            raise ValueError("a bot token looks like 123456:ABC-def")
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.clock = clock
        self.strict_entities = strict_entities
        self._per_chat_per_second = per_chat_per_second
        self._group_per_minute = group_per_minute

        # One condition guards all state; its RLock lets `wait_for` predicates call the public readers.
        self._cond = threading.Condition(threading.RLock())
        self._updates: list[JSONDict] = []
        self._next_update_id = 1
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._chats: dict[int, JSONDict] = {}
        self._users: dict[int, JSONDict] = {}
        self._forgotten: set[int] = set()
        self._chat_messages: dict[int, dict[int, _Message]] = {}
        self._last_message_id: dict[int, int] = {}
        self._blocked: set[int] = set()
        self._failures: dict[str, deque[_Failure]] = {}
        self._sent: list[SentMessage] = []
        self._calls: list[tuple[str, dict[str, Any]]] = []
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._callback_answers: list[JSONDict] = []
        self._open_queries: dict[str, tuple[int, int]] = {}  # callback query id -> (chat id, message id)
        self._query_ids = itertools.count(4_417_000_000_000_000_001)
        self._descriptions: dict[str, str] = {}
        self._short_descriptions: dict[str, str] = {}
        self._rate_limited = 0
        self._global_window = _window(global_per_second, 1.0) if global_per_second else None
        self._chat_windows: dict[int, _Window] = {}
        self._group_windows: dict[int, _Window] = {}
        self._poll_generation = 0
        self._waiting_polls = 0
        self._inflight = 0  # requests being answered
        self._stopping = False

        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    # -- life cycle

    def start(self) -> FakeBotApi:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body are written separately; without TCP_NODELAY the body waits for the
                # client's delayed ACK.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with api._connections_lock:
                    api._connections.add(self.connection)

            def finish(self) -> None:
                with api._connections_lock:
                    api._connections.discard(self.connection)
                with suppress(OSError):
                    super().finish()

            def log_message(self, format: str, *args: object) -> None:  # quiet
                return

            def do_GET(self) -> None:
                api._serve(self, b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                api._serve(self, self.rfile.read(length))

        with self._cond:
            self._stopping = False
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-bot-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ends every waiting long poll (each answers an empty list), closes the server and its connections."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            # Woken long polls answer before their connections are closed under them.
            self._cond.wait_for(lambda: self._inflight == 0, timeout=2.0)
        if self._server is not None:
            self._server.shutdown()
            with self._connections_lock:
                connections = list(self._connections)
            for connection in connections:
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    @contextmanager
    def running(self) -> Iterator[FakeBotApi]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the fake Bot API is not started"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What python-telegram-bot takes as `base_url` (it appends the token and "/<method>")."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- the world: users write, press buttons, block the bot

    def user_message(self, chat_id: int, user_id: int, text: str, *, chat_type: str = "private",
                     first_name: str = "Test", username: str | None = None) -> int:
        """A user writes `text` in the chat; returns the update's id (0 when the bot's allowed_updates
        exclude messages, so Telegram would not have queued it). Writing to the bot unblocks it."""
        if chat_type not in {"private", "group", "supergroup"}:
            raise ValueError(f"unsupported chat type {chat_type!r}")
        with self._cond:
            user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
            if username is not None:
                user["username"] = username
            self._users[user_id] = user
            self._forgotten.discard(chat_id)
            if chat_type == "private":
                self._blocked.discard(chat_id)
                chat: JSONDict = {"id": chat_id, "first_name": first_name, "type": "private"}
                if username is not None:
                    chat["username"] = username
            else:
                chat = {"id": chat_id, "title": self._chat(chat_id).get("title", "Test group"), "type": chat_type}
            self._chats[chat_id] = chat
            entities = bot_command_entities(text)
            message = _Message(message_id=self._new_message_id(chat_id), chat_id=chat_id, from_bot=False,
                               sender=dict(user), date=int(time.time()), text=text, plain=text, entities=entities)
            self._store(message)
            return self._add_update("message", self._message_json(message))

    def press_button(self, chat_id: int, user_id: int, message_id: int, data: str, *,
                     check_data: bool = True) -> int:
        """A user presses the inline button with callback data `data` under the bot's message; returns the
        update's id (0 when allowed_updates exclude callback queries). The query carries the message as it
        stands (an inaccessible-message stub when the fake does not know it, as Telegram sends for those).
        With `check_data`, data that no button of the message carries is refused (ValueError): Telegram
        never delivers it."""
        with self._cond:
            message = self._chat_messages.get(chat_id, {}).get(message_id)
            if message is not None and check_data and data not in _callback_datas(message.reply_markup):
                raise ValueError(f"message {message_id} in chat {chat_id} has no button with data {data!r}")
            user = self._users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "Test"}
            query_id = str(next(self._query_ids))
            self._open_queries[query_id] = (chat_id, message_id)
            pressed: JSONDict
            if message is not None:
                pressed = self._message_json(message)
            else:
                pressed = {"chat": self._chat(chat_id), "message_id": message_id, "date": 0}
            query = {"id": query_id, "from": dict(user), "message": pressed,
                     "chat_instance": str((chat_id * 2_654_435_761) % (1 << 62) - (1 << 61)), "data": data}
            return self._add_update("callback_query", query)

    def block(self, chat_id: int) -> None:
        """The user blocks the bot (or, for a group, removes it): later sends there answer 403."""
        with self._cond:
            self._blocked.add(chat_id)
            self._cond.notify_all()

    def unblock(self, chat_id: int) -> None:
        with self._cond:
            self._blocked.discard(chat_id)
            self._cond.notify_all()

    def forget_chat(self, chat_id: int) -> None:
        """Telegram no longer knows the chat: sends there answer 400 "Bad Request: chat not found"."""
        with self._cond:
            self._forgotten.add(chat_id)
            self._cond.notify_all()

    def fail_next(self, method: str, *, status: int = 429, retry_after: int = 3, count: int = 1,
                  description: str | None = None) -> None:
        """The next `count` calls of `method` fail with `status` (429: "Too Many Requests: retry after N"
        with parameters.retry_after; other statuses with Telegram's usual wording for them)."""
        canonical = _CANONICAL.get(method.lower(), method)
        parameters: JSONDict | None = None
        if status == 429:
            text = description or f"Too Many Requests: retry after {retry_after}"
            parameters = {"retry_after": retry_after}
        else:
            text = description or FAILURE_DESCRIPTIONS.get(status) or HTTPStatus(status).phrase
        with self._cond:
            self._failures.setdefault(canonical, deque()).append(_Failure(status, text, parameters, count))

    # -- records (copies, read under the lock)

    def messages(self, chat_id: int | None = None) -> list[SentMessage]:
        """Every text the bot sent or edited (in order), in one chat or in all."""
        with self._cond:
            return [replace(m, reply_markup=_copy(m.reply_markup), entities=tuple(_copy_list(list(m.entities))))
                    for m in self._sent if chat_id is None or m.chat_id == chat_id]

    def calls(self, method: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Every authorised call of a known or unknown method, with its parameters decoded (numbers,
        booleans and JSON values as the bot meant them)."""
        with self._cond:
            wanted = None if method is None else _CANONICAL.get(method.lower(), method)
            return [(name, dict(params)) for name, params in self._calls if wanted is None or name == wanted]

    @property
    def commands(self) -> dict[tuple[str, str], list[dict[str, str]]]:
        """The command lists setMyCommands set, by (scope, language_code). The scope is "default",
        "all_private_chats", "all_group_chats", "all_chat_administrators", "chat:<id>",
        "chat_administrators:<id>" or "chat_member:<chat id>:<user id>"; language_code "" is for everyone."""
        with self._cond:
            return {key: [dict(c) for c in value] for key, value in self._commands.items()}

    @property
    def callback_answers(self) -> list[JSONDict]:
        """What answerCallbackQuery was told: callback_query_id, text, show_alert, url, cache_time."""
        with self._cond:
            return [dict(a) for a in self._callback_answers]

    @property
    def rate_limited(self) -> int:
        """How many 429s the rate limiter answered (injected failures not counted)."""
        with self._cond:
            return self._rate_limited

    @property
    def descriptions(self) -> dict[str, dict[str, str]]:
        """What setMyDescription and setMyShortDescription set, by language code."""
        with self._cond:
            return {"description": dict(self._descriptions), "short_description": dict(self._short_descriptions)}

    def current(self, chat_id: int, message_id: int) -> SentMessage | None:
        """A message of the bot as it stands now (after edits of its text or keyboard)."""
        with self._cond:
            message = self._chat_messages.get(chat_id, {}).get(message_id)
            if message is None or not message.from_bot:
                return None
            return SentMessage(message.message_id, chat_id, message.text, message.parse_mode,
                               _copy(message.reply_markup), self.clock(),
                               "editMessageText" if message.edit_date else "sendMessage",
                               message.plain, tuple(message.entities))

    def pending_updates(self) -> int:
        with self._cond:
            return len(self._updates)

    def waiting_polls(self) -> int:
        """How many getUpdates long polls are waiting right now."""
        with self._cond:
            return self._waiting_polls

    def wait_for(self, predicate: Callable[[FakeBotApi], bool], timeout: float = 10.0) -> bool:
        """Waits (on the state's condition, woken by every change) until `predicate(self)` holds."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    # -- HTTP

    def _serve(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self._cond:
            self._inflight += 1
        try:
            status, answer = self._answer(handler, body)
            payload = json.dumps(answer, ensure_ascii=False).encode("utf-8")
            try:
                handler.send_response(status)
                handler.send_header("Content-Type", "application/json")
                handler.send_header("Content-Length", str(len(payload)))
                handler.end_headers()
                handler.wfile.write(payload)
            except OSError:  # the client went away (a cancelled long poll, or stop())
                handler.close_connection = True
        finally:
            with self._cond:
                self._inflight -= 1
                self._cond.notify_all()

    def _answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, JSONDict]:
        try:
            result = self._dispatch(handler, body)
        except ApiError as error:
            answer: JSONDict = {"ok": False, "error_code": error.code, "description": error.description}
            if error.parameters:
                answer["parameters"] = error.parameters
            return error.code, answer
        return 200, {"ok": True, "result": result}

    def _dispatch(self, handler: BaseHTTPRequestHandler, body: bytes) -> Any:
        url = urlsplit(handler.path)
        match = re.fullmatch(r"/bot([^/]*)/([^/]*)", url.path)
        if match is None or not _WELL_FORMED_TOKEN.match(match.group(1)):
            raise ApiError(404, "Not Found")
        if match.group(1) != self.token:
            raise ApiError(401, "Unauthorized")
        method = _CANONICAL.get(match.group(2).lower(), match.group(2))
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        if handler.command == "POST":
            params.update(_parse_body(handler.headers.get("Content-Type", ""), body))
        with self._cond:
            self._calls.append((method, _decoded(params)))
            self._cond.notify_all()
        if method not in _METHODS:
            raise ApiError(404, "Not Found")
        with self._cond:
            try:
                self._take_failure(method)
                if method == "getUpdates":
                    return self._get_updates(params)
                handler_method: Callable[[dict[str, str]], Any] = getattr(self, f"_m_{method}")
                return handler_method(params)
            finally:
                self._cond.notify_all()

    def _take_failure(self, method: str) -> None:
        queue = self._failures.get(method)
        if not queue:
            return
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.popleft()
        raise ApiError(failure.status, failure.description, dict(failure.parameters or {}) or None)

    # -- updates

    def _add_update(self, kind: str, payload: JSONDict) -> int:
        if kind not in self._allowed_updates:
            return 0
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, kind: payload})
        self._cond.notify_all()
        return update_id

    def _get_updates(self, params: dict[str, str]) -> list[JSONDict]:
        offset = _int_arg(params, "offset", 0)
        limit = _int_arg(params, "limit", 100, 1, 100)
        timeout = _int_arg(params, "timeout", 0, 0, LONG_POLL_MAX_TIMEOUT)
        self._set_allowed_updates(_arg(params, "allowed_updates"))

        if offset < 0:
            del self._updates[:max(len(self._updates) + offset, 0)]
        elif 0 < offset <= self._next_update_id + 10:
            # An offset far past the queue's end is refused by Telegram's queue, which then answers from its
            # head without forgetting anything; otherwise the offset confirms every update before it.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if self._updates or timeout == 0 or self._stopping:
            return [dict(u) for u in self._updates[:limit]]

        # Long poll: one at a time, as Telegram; a newer one ends the waiting one with a 409.
        self._poll_generation += 1
        mine = self._poll_generation
        self._cond.notify_all()
        deadline = time.monotonic() + timeout
        self._waiting_polls += 1
        self._cond.notify_all()
        try:
            while True:
                if self._stopping:
                    return []
                if self._poll_generation != mine:
                    raise ApiError(409, CONFLICT_OTHER_POLL)
                if self._updates:
                    return [dict(u) for u in self._updates[:limit]]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(remaining)
        finally:
            self._waiting_polls -= 1

    def _set_allowed_updates(self, raw: str) -> None:
        """As the official server: a JSON array of type names; an empty or unusable list means the default
        set; anything that is not an array leaves the previous setting."""
        if raw == "":
            return
        try:
            value = json.loads(raw)
        except ValueError:
            return
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return
        chosen = frozenset(v.lower() for v in value) & ALL_UPDATE_TYPES
        self._allowed_updates = chosen or DEFAULT_UPDATE_TYPES

    # -- chats and messages

    def _chat(self, chat_id: int) -> JSONDict:
        known = self._chats.get(chat_id)
        if known is not None:
            return dict(known)
        if chat_id > 0:
            user = self._users.get(chat_id, {})
            chat: JSONDict = {"id": chat_id, "first_name": user.get("first_name", "Test"), "type": "private"}
            if "username" in user:
                chat["username"] = user["username"]
            return chat
        kind = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
        return {"id": chat_id, "title": "Test group", "type": kind}

    def _resolve_chat(self, params: dict[str, str]) -> int:
        raw = _arg(params, "chat_id").strip()
        if raw == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if raw.startswith("@") or not re.fullmatch(r"-?[0-9]+", raw):
            raise ApiError(400, "Bad Request: chat not found")  # the fake knows no public usernames
        chat_id = int(raw)
        if chat_id == 0 or chat_id in self._forgotten:
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _check_not_blocked(self, chat_id: int) -> None:
        if chat_id not in self._blocked:
            return
        if chat_id > 0:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        kind = self._chat(chat_id)["type"]
        raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        return message_id

    def _store(self, message: _Message) -> None:
        self._chat_messages.setdefault(message.chat_id, {})[message.message_id] = message

    def _bot_user(self) -> JSONDict:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.bot_name, "username": self.bot_username}

    def _message_json(self, message: _Message) -> JSONDict:
        result: JSONDict = {"message_id": message.message_id, "from": dict(message.sender),
                            "chat": self._chat(message.chat_id), "date": message.date}
        if message.edit_date is not None:
            result["edit_date"] = message.edit_date
        result["text"] = message.plain
        if message.entities:
            result["entities"] = [dict(e) for e in message.entities]
        if message.reply_markup is not None and "inline_keyboard" in message.reply_markup:
            result["reply_markup"] = _copy(message.reply_markup)
        return result

    # -- validation shared by sendMessage and editMessageText

    def _input_text(self, params: dict[str, str]) -> tuple[str, str, list[JSONDict], str | None]:
        """(text as sent, text as shown, entities, parse mode) — or the official server's 400."""
        text = _arg(params, "text")
        if text == "":
            raise bad_request("Message text is empty")
        if len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
            raise bad_request("Text is too long")
        parse_mode = _arg(params, "parse_mode")
        mode = parse_mode.lower()
        entities: list[JSONDict] = []
        if mode in {"", "none"}:
            plain = text
            given = _arg(params, "entities")
            if given:
                try:
                    decoded = json.loads(given)
                except ValueError:
                    raise bad_request("Can't parse entities JSON object") from None
                if isinstance(decoded, list):
                    entities = [dict(e) for e in decoded if isinstance(e, dict)]
        elif mode == "html":
            try:
                plain, entities = parse_html(text, strict_entities=self.strict_entities)
            except HtmlError as error:
                raise bad_request(f"Can't parse entities: {error}") from None
        elif mode in {"markdown", "markdownv2"}:
            plain = text  # not modelled: taken literally
        else:
            raise bad_request("Unsupported parse_mode")
        plain, entities = _trim(plain, entities)
        if plain == "":
            raise bad_request("Message text is empty")
        return text, plain, entities, parse_mode or None

    def _reply_markup(self, params: dict[str, str]) -> JSONDict | None:
        raw = _arg(params, "reply_markup")
        if raw == "":
            return None
        try:
            markup = json.loads(raw)
        except ValueError:
            raise bad_request("Can't parse reply keyboard markup JSON object") from None
        if not isinstance(markup, dict):
            raise bad_request("Object expected as reply markup")
        keyboard = markup.get("inline_keyboard")
        if keyboard is not None:
            if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
                raise bad_request("Field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array of Arrays")
            for row in keyboard:
                for button in row:
                    _check_inline_button(button)
        # As the official server: a markup with no buttons and no instruction is no markup (so an empty
        # keyboard is the usual way to remove one).
        rows = [row for name in ("inline_keyboard", "keyboard") for row in markup.get(name) or [] if row]
        if not rows and not any(markup.get(flag) is True for flag in ("remove_keyboard", "hide_keyboard",
                                                                          "force_reply", "force_reply_keyboard")):
            return None
        return markup

    def _rate_limit(self, chat_id: int) -> None:
        """429 when a configured window is full; the send is counted by `_count_send` once it succeeds."""
        now = self.clock()
        waits = [w.wait(now) for w in self._windows(chat_id)]
        longest = max(waits, default=0.0)
        if longest > 0:
            self._rate_limited += 1
            retry = max(1, math.ceil(longest))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})

    def _windows(self, chat_id: int) -> list[_Window]:
        windows: list[_Window] = []
        if self._global_window is not None:
            windows.append(self._global_window)
        if self._per_chat_per_second:
            windows.append(self._chat_windows.setdefault(chat_id, _window(self._per_chat_per_second, 1.0)))
        if self._group_per_minute and chat_id < 0:
            windows.append(self._group_windows.setdefault(chat_id, _window(self._group_per_minute, 60.0)))
        return windows

    def _count_send(self, chat_id: int, now: float) -> None:
        for window in self._windows(chat_id):
            window.stamps.append(now)

    # -- methods (called with the lock held)

    def _m_getMe(self, params: dict[str, str]) -> JSONDict:
        return {**self._bot_user(), "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}

    def _m_deleteWebhook(self, params: dict[str, str]) -> bool:
        if _bool_arg(params, "drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_getWebhookInfo(self, params: dict[str, str]) -> JSONDict:
        info: JSONDict = {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._updates)}
        if self._allowed_updates != DEFAULT_UPDATE_TYPES:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    def _scope_key(self, params: dict[str, str]) -> str:
        raw = _arg(params, "scope")
        if raw == "":
            return "default"
        try:
            scope = json.loads(raw)
        except ValueError:
            raise bad_request("Can't parse BotCommandScope JSON object") from None
        if not isinstance(scope, dict):
            raise bad_request("Can't parse BotCommandScope: BotCommandScope must be an Object")
        kind = scope.get("type")
        if not isinstance(kind, str):
            raise bad_request('Can\'t parse BotCommandScope: Can\'t find field "type"')
        if kind in {"default", "all_private_chats", "all_group_chats", "all_chat_administrators"}:
            return kind
        if kind not in {"chat", "chat_administrators", "chat_member"}:
            raise bad_request("Can't parse BotCommandScope: Unsupported type specified")
        chat = scope.get("chat_id")
        if chat is None or str(chat) == "":
            raise bad_request("Can't parse BotCommandScope: Empty chat_id specified")
        chat_id = self._resolve_chat({"chat_id": str(chat)})
        if kind != "chat_member":
            return f"{kind}:{chat_id}"
        user_id = scope.get("user_id")
        if not isinstance(user_id, int) or user_id <= 0:
            raise bad_request("Can't parse BotCommandScope: Invalid user_id specified")
        return f"chat_member:{chat_id}:{user_id}"

    def _m_setMyCommands(self, params: dict[str, str]) -> bool:
        raw = _arg(params, "commands")
        commands: list[Any] = []
        if raw:
            try:
                decoded = json.loads(raw)
            except ValueError:
                raise bad_request("Can't parse commands JSON object") from None
            if not isinstance(decoded, list):
                raise bad_request("Expected an Array of BotCommand")
            commands = decoded
        cleaned: list[dict[str, str]] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("Can't parse BotCommand: expected an Object")
            for name in ("command", "description"):
                if not isinstance(item.get(name), str):
                    raise bad_request(f'Can\'t parse BotCommand: Can\'t find field "{name}"')
            command = item["command"].strip().removeprefix("/")
            description = item["description"].strip()
            if command == "":
                raise bad_request("Command must be non-empty")
            if len(command) > 32:
                raise bad_request("Command length must not exceed 32")
            if len(description) > 256:
                raise bad_request("Command description length must not exceed 256")
            cleaned.append({"command": command, "description": description})
        key = (self._scope_key(params), _arg(params, "language_code"))
        if len(cleaned) > MAX_COMMANDS:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        for command_item in cleaned:
            if not _VALID_COMMAND.match(command_item["command"]):
                raise bad_request("BOT_COMMAND_INVALID")
            if command_item["description"] == "":
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        if cleaned:
            self._commands[key] = cleaned
        else:
            self._commands.pop(key, None)
        return True

    def _m_getMyCommands(self, params: dict[str, str]) -> list[dict[str, str]]:
        key = (self._scope_key(params), _arg(params, "language_code"))
        return [dict(c) for c in self._commands.get(key, [])]

    def _m_deleteMyCommands(self, params: dict[str, str]) -> bool:
        self._commands.pop((self._scope_key(params), _arg(params, "language_code")), None)
        return True

    def _m_sendMessage(self, params: dict[str, str]) -> JSONDict:
        text, plain, entities, parse_mode = self._input_text(params)
        markup = self._reply_markup(params)
        chat_id = self._resolve_chat(params)
        self._check_not_blocked(chat_id)
        if utf16_len(plain) > MAX_TEXT_UTF16:
            raise bad_request("Message is too long")
        self._rate_limit(chat_id)
        now = self.clock()
        self._count_send(chat_id, now)
        message = _Message(message_id=self._new_message_id(chat_id), chat_id=chat_id, from_bot=True,
                           sender=self._bot_user(), date=int(time.time()), text=text, plain=plain,
                           entities=entities, parse_mode=parse_mode, reply_markup=markup)
        self._store(message)
        self._sent.append(SentMessage(message.message_id, chat_id, text, parse_mode, _copy(markup), now,
                                      "sendMessage", plain, tuple(_copy_list(entities))))
        return self._message_json(message)

    def _message_to_edit(self, params: dict[str, str]) -> _Message:
        chat_raw = _arg(params, "chat_id")
        message_id = _int_arg(params, "message_id", 0, 0)
        if chat_raw == "" and message_id == 0:
            if _arg(params, "inline_message_id") == "":
                raise bad_request("Message identifier is not specified")
            raise bad_request("MESSAGE_ID_INVALID")  # the fake sends no inline messages
        chat_id = self._resolve_chat(params)
        message = self._chat_messages.get(chat_id, {}).get(message_id)
        if message is None:
            raise bad_request("Message to edit not found")
        if not message.from_bot:
            raise bad_request("Message can't be edited")
        return message

    def _m_editMessageText(self, params: dict[str, str]) -> JSONDict:
        text, plain, entities, parse_mode = self._input_text(params)
        markup = self._reply_markup(params)
        message = self._message_to_edit(params)
        self._check_not_blocked(message.chat_id)
        if plain == message.plain and entities == message.entities and markup == message.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        if utf16_len(plain) > MAX_TEXT_UTF16:
            raise bad_request("MESSAGE_TOO_LONG")  # edits get the server's code, not sendMessage's sentence
        self._rate_limit(message.chat_id)
        now = self.clock()
        self._count_send(message.chat_id, now)
        message.text, message.plain, message.entities = text, plain, entities
        message.parse_mode, message.reply_markup = parse_mode, markup  # no reply_markup: the keyboard goes
        message.edit_date = int(time.time())
        self._sent.append(SentMessage(message.message_id, message.chat_id, text, parse_mode, _copy(markup), now,
                                      "editMessageText", plain, tuple(_copy_list(entities))))
        return self._message_json(message)

    def _m_editMessageReplyMarkup(self, params: dict[str, str]) -> JSONDict:
        markup = self._reply_markup(params)
        message = self._message_to_edit(params)
        self._check_not_blocked(message.chat_id)
        if markup == message.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        message.reply_markup = markup
        message.edit_date = int(time.time())
        return self._message_json(message)

    def _m_answerCallbackQuery(self, params: dict[str, str]) -> bool:
        match = _LEADING_INT.match(_arg(params, "callback_query_id"))
        query_id = str(int(match.group(1))) if match else "0"
        if query_id not in self._open_queries:
            raise ApiError(400, QUERY_TOO_OLD)
        text = _arg(params, "text")
        if len(text) > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        del self._open_queries[query_id]
        self._callback_answers.append({
            "callback_query_id": query_id, "text": text, "show_alert": _bool_arg(params, "show_alert"),
            "url": _arg(params, "url"), "cache_time": _int_arg(params, "cache_time", 0, 0, 24 * 30 * 60 * 60)})
        return True

    def _m_sendChatAction(self, params: dict[str, str]) -> bool:
        if _arg(params, "action").lower() not in CHAT_ACTIONS:
            raise bad_request("Wrong parameter action in request")
        chat_id = self._resolve_chat(params)
        self._check_not_blocked(chat_id)
        return True

    def _m_close(self, params: dict[str, str]) -> bool:
        return True

    def _m_logOut(self, params: dict[str, str]) -> bool:
        return True

    def _m_setMyDescription(self, params: dict[str, str]) -> bool:
        self._descriptions[_arg(params, "language_code")] = _arg(params, "description")
        return True

    def _m_setMyShortDescription(self, params: dict[str, str]) -> bool:
        self._short_descriptions[_arg(params, "language_code")] = _arg(params, "short_description")
        return True


def _check_inline_button(button: Any) -> None:
    """The official server's reading of one InlineKeyboardButton; callback data length is Telegram's own
    check (BUTTON_DATA_INVALID)."""
    prefix = "Can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise bad_request(prefix + "InlineKeyboardButton must be an Object")
    if not isinstance(button.get("text"), str):
        raise bad_request(prefix + 'Can\'t find field "text"')
    if button.get("url"):
        return
    data = button.get("callback_data")
    if isinstance(data, str) and data:
        if len(data.encode("utf-8")) > MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
        return
    others = ("callback_game", "pay", "switch_inline_query", "switch_inline_query_chosen_chat",
              "switch_inline_query_current_chat", "login_url", "web_app", "copy_text")
    if not any(name in button for name in others):
        raise bad_request(prefix + "Text buttons are unallowed in the inline keyboard")


def _callback_datas(markup: JSONDict | None) -> set[str]:
    if not markup:
        return set()
    rows = markup.get("inline_keyboard") or []
    return {button["callback_data"] for row in rows for button in row
            if isinstance(button, dict) and isinstance(button.get("callback_data"), str)}


def _copy(value: JSONDict | None) -> JSONDict | None:
    return None if value is None else json.loads(json.dumps(value))


def _copy_list(values: list[JSONDict]) -> list[JSONDict]:
    return [dict(v) for v in values]
