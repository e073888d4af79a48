"""HTTP plumbing of the public site: strict query strings, the response cache with `ETag`/`Last-Modified` and
`304` answers, and the security headers on every response.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import email.utils
import hashlib
import logging
import math
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)
MAX_QUERY_BYTES = 2048
MAX_FIELDS = 20
MAX_VALUE_CHARS = 200

# No script at all: the site works without JavaScript. Styles come from our own stylesheet only.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode("ascii")),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)


class BadRequest(Exception):
    """A query string or parameter the site refuses: a 400 answer that names the parameter, in Dutch for
    people (`message`) and in the command line's English for programs (`api_message`)."""

    def __init__(self, message: str, api_message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.api_message = api_message
        self.parameter = parameter


def query_params(request: Request, allowed: Sequence[str]) -> dict[str, str]:
    """The query string's parameters of `allowed`, strictly: valid percent-encoded UTF-8, no control
    characters, at most one value each, bounded sizes. Other parameters (a tracker's `utm_source`) are
    ignored, since a shared link must keep working, but they are held to the same rules."""
    raw: bytes = request.scope.get("query_string", b"")
    if not raw:
        return {}
    if len(raw) > MAX_QUERY_BYTES:
        raise BadRequest(f"de zoekopdracht in de adresregel is te lang (meer dan {MAX_QUERY_BYTES} tekens)",
                         f"the query string is longer than {MAX_QUERY_BYTES} bytes")
    try:
        text = raw.decode("ascii")
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict",
                                       max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise BadRequest("de adresregel bevat tekens die geen geldige UTF-8 zijn",
                         "the query string is not percent-encoded UTF-8") from None
    except ValueError:
        raise BadRequest(f"de adresregel heeft te veel parameters (hoogstens {MAX_FIELDS})",
                         f"the query string has more than {MAX_FIELDS} parameters") from None
    out: dict[str, str] = {}
    for key, value in pairs:
        if any(_control(ch) for ch in key):
            raise BadRequest("de adresregel bevat stuurtekens", "control characters in a parameter name")
        if any(_control(ch) for ch in value):
            raise BadRequest(f"de waarde van {key!r} bevat stuurtekens", f"{key}: control characters", key)
        if len(value) > MAX_VALUE_CHARS:
            raise BadRequest(f"de waarde van {key!r} is te lang (hoogstens {MAX_VALUE_CHARS} tekens)",
                             f"{key}: longer than {MAX_VALUE_CHARS} characters", key)
        if key in allowed:
            if key in out:
                raise BadRequest(f"de parameter {key!r} staat meer dan eens in de adresregel",
                                 f"{key}: given more than once", key)
            out[key] = value
    return out


def _control(ch: str) -> bool:
    code = ord(ch)
    return code < 32 or 0x7F <= code < 0xA0 or 0xD800 <= code < 0xE000 or code in (0x2028, 0x2029, 0xFEFF)


# ------------------------------------------------------------------------------------------ cache


@dataclass(frozen=True, slots=True)
class Rendered:
    """A response body with its validators."""

    body: bytes
    media_type: str
    etag: str
    last_modified: float  # seconds since the epoch, whole
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()


Render = Callable[[], tuple[bytes, str]]
Offload = Callable[[Render], Awaitable[tuple[bytes, str]]]


class ResponseCache:
    """Rendered responses by key, kept `ttl` seconds (0: not kept), one render at a time per key (concurrent
    requests for it wait for that render), at most `size` keys.

    A key names a resource in one version of the data; `stable` names the resource across versions. When
    the data has changed and the new version of a resource is not rendered yet, the last version rendered
    (if it is younger than `ttl`) is answered at once while the new one renders in the background: a visitor
    never waits for a render that someone before them already started, and the poller, which shares the
    process, never competes with a queue of renders.

    `Last-Modified` is the moment this process first served the body it serves now: never earlier than the
    real change, so an `If-Modified-Since` never gets a `304` for a body it has not seen. Validators outlive
    the bodies (a second, larger map), so an unchanged page keeps its date when it is rendered again."""

    def __init__(self, ttl: float, *, size: int = 512, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self.monotonic = monotonic
        self._bodies: collections.OrderedDict[str, tuple[float, Rendered]] = collections.OrderedDict()
        self._latest: collections.OrderedDict[str, tuple[float, Rendered]] = collections.OrderedDict()
        self._validators: collections.OrderedDict[str, tuple[str, float]] = collections.OrderedDict()
        self._inflight: dict[str, asyncio.Future[Rendered]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._lock = threading.Lock()

    async def get(self, key: str, render: Render, offload: Offload, *, stable: str | None = None) -> Rendered:
        """The answer for `key`: kept, being rendered, the last version of `stable` while `key` renders in
        the background, or rendered now."""
        if self.ttl <= 0:
            return await self._render(key, render, offload, stable)
        hit = self._fresh(key)
        if hit is not None:
            return hit
        pending = self._inflight.get(key)
        previous = self._previous(stable) if stable else None
        if previous is not None:
            if pending is None:
                # Registered now, not when the task first runs: the requests right behind must find it.
                self._inflight[key] = asyncio.get_running_loop().create_future()
                task = asyncio.create_task(self._refresh(key, render, offload, stable))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
            return previous
        if pending is not None:
            return await asyncio.shield(pending)
        return await self._render(key, render, offload, stable)

    async def settle(self) -> None:
        """Wait for the background renders (for tests and an orderly stop)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def _refresh(self, key: str, render: Render, offload: Offload, stable: str | None) -> None:
        try:
            await self._render(key, render, offload, stable)
        except Exception:  # the last version stays the answer; the next request tries again
            log.debug("background render of %s failed", key, exc_info=True)

    async def _render(self, key: str, render: Render, offload: Offload, stable: str | None) -> Rendered:
        future = self._inflight.get(key)
        if future is None or future.done():
            future = asyncio.get_running_loop().create_future()
            if self.ttl > 0:
                self._inflight[key] = future
        try:
            body, media_type = await offload(render)
            rendered = self.store(key, body, media_type, stable=stable)
            future.set_result(rendered)
            return rendered
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiting requests get it; nobody else needs a warning
            raise
        finally:
            if self._inflight.get(key) is future:
                del self._inflight[key]

    def _previous(self, stable: str) -> Rendered | None:
        with self._lock:
            entry = self._latest.get(stable)
            if entry is None or self.monotonic() - entry[0] > self.ttl:
                return None
            return entry[1]

    def _fresh(self, key: str) -> Rendered | None:
        with self._lock:
            entry = self._bodies.get(key)
            if entry is None:
                return None
            stored, rendered = entry
            if self.monotonic() - stored > self.ttl:
                del self._bodies[key]
                return None
            self._bodies.move_to_end(key)
            return rendered

    def store(self, key: str, body: bytes, media_type: str, *, keep: bool = True,
              stable: str | None = None) -> Rendered:
        """`body` with its validators; kept for `ttl` seconds when `keep`."""
        etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        now = math.floor(self.clock())
        vkey = stable or key
        with self._lock:
            known = self._validators.get(vkey)
            if known is not None and known[0] == etag:
                modified = known[1]
            else:
                # Never the same second as the body it replaces: If-Modified-Since has whole seconds.
                modified = max(now, known[1] + 1) if known is not None else now
            self._validators[vkey] = (etag, modified)
            self._validators.move_to_end(vkey)
            while len(self._validators) > self.size * 8:
                self._validators.popitem(last=False)
            rendered = Rendered(body, media_type, etag, modified)
            if self.ttl > 0 and keep:
                stored = self.monotonic()
                self._bodies[key] = (stored, rendered)
                self._bodies.move_to_end(key)
                while len(self._bodies) > self.size:
                    self._bodies.popitem(last=False)
                self._latest[vkey] = (stored, rendered)
                self._latest.move_to_end(vkey)
                while len(self._latest) > self.size:
                    self._latest.popitem(last=False)
        return rendered


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    weak = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == weak for tag in header.split(","))


def not_modified(request: Request, rendered: Rendered) -> bool:
    """Whether the request's validators match (RFC 9110: If-None-Match wins over If-Modified-Since)."""
    inm = request.headers.get("if-none-match")
    if inm is not None:
        return _etag_matches(inm, rendered.etag)
    ims = request.headers.get("if-modified-since")
    if ims is not None:
        try:
            since = email.utils.parsedate_to_datetime(ims)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        return rendered.last_modified <= since.timestamp()
    return False


def respond(request: Request, rendered: Rendered, extra: Mapping[str, str] | None = None,
            cache_seconds: int = 60) -> Response:
    """The response for `rendered`, or a `304` when the client already has it."""
    headers = {
        "ETag": rendered.etag,
        "Last-Modified": email.utils.formatdate(rendered.last_modified, usegmt=True),
        "Cache-Control": f"public, max-age={cache_seconds}",
        **dict(rendered.headers), **(extra or {}),
    }
    if rendered.status == 200 and not_modified(request, rendered):
        headers.pop("Content-Type", None)
        return Response(status_code=304, headers=headers)
    return Response(rendered.body, status_code=rendered.status, media_type=rendered.media_type, headers=headers)


# ------------------------------------------------------------------------------------------ headers


class SecurityHeaders:
    """Pure ASGI middleware: the security headers on every response, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers[name.decode("ascii")] = value.decode("ascii")
            await send(message)

        await self.app(scope, receive, with_headers)


class LoopShare:
    """Pure ASGI middleware: at most `per_turn` requests start in one turn of the event loop; the others
    wait for the next turn. In `wetwacht run` the poller shares the loop: a turn in which a crowd of
    visitors is answered is a turn the poll waits for at each of its steps, so the crowd is let in a few at
    a time, and the poll's share of the loop stays what it was. (Requests waiting for a render hold nothing.)"""

    def __init__(self, app: ASGIApp, per_turn: int = 2) -> None:
        self.app = app
        self.per_turn = per_turn
        self._tokens = per_turn
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._scheduled = False

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._turn)

    def _turn(self) -> None:
        # Runs once per turn of the loop while there is demand: a new allowance, and the next in line.
        self._scheduled = False
        self._tokens = self.per_turn
        while self._tokens and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self._tokens -= 1
        if self._waiters or self._tokens < self.per_turn:
            self._schedule()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self._tokens > 0 and not self._waiters:
                self._tokens -= 1
            else:
                waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                self._schedule()
                await waiter
            self._schedule()
        await self.app(scope, receive, send)
