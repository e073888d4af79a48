"""A real webhook receiver on 127.0.0.1 for end-to-end tests and the benchmark.

A stdlib `ThreadingHTTPServer` on a free port, in a thread. Every POST is verified with the `standardwebhooks`
package (the independent implementation of the specification) against the secret registered for its path,
and recorded as (path, webhook-id, verified, body). It can be told to fail the next N requests: with a 500,
by hanging (holding the answer until released or the server stops), with a 429 and Retry-After, with a
302 redirect, or with a 410 Gone.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Literal

from standardwebhooks.webhooks import Webhook

from tests.fakes import Served

FailMode = Literal["500", "hang", "429", "302", "410"]
_STATUS: dict[str, int] = {"500": 500, "429": 429, "302": 302, "410": 410, "hang": 0}  # 0: holds the answer


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    path: str
    webhook_id: str | None
    verified: bool
    body: bytes
    headers: dict[str, str]
    answered: int  # the status the receiver answered (0: it hung)
    error: str | None = None


@dataclass
class _Failures:
    mode: FailMode = "500"
    remaining: int = 0
    retry_after: str = "120"
    location: str = "https://example.org/elsewhere"


@dataclass
class Receiver:
    """Start with `start()` (or use `running()`); `url(path)` is where an endpoint should point."""

    secrets: dict[str, str] = field(default_factory=dict)  # path -> whsec_ secret
    records: list[Received] = field(default_factory=list)
    hang_seconds: float = 30.0  # a hanging answer waits at most this long (or until release/stop)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._failures = _Failures()
        self._release = threading.Event()
        self._served: Served | None = None

    # -- set-up

    def add(self, path: str, secret: str) -> str:
        """Accept webhooks on `path`, verified with `secret`; returns its URL."""
        with self._lock:
            self.secrets[path] = secret
        return self.url(path)

    def fail_next(self, n: int, mode: FailMode = "500", *, retry_after: str = "120",
                  location: str = "https://example.org/elsewhere") -> None:
        """Fail the next `n` requests (any path) in the given way."""
        with self._lock:
            self._failures = _Failures(mode=mode, remaining=n, retry_after=retry_after, location=location)

    def release(self) -> None:
        """Let hanging requests go."""
        self._release.set()

    @property
    def port(self) -> int:
        assert self._served is not None, "the receiver is not started"
        return self._served.port

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def verified_ids(self) -> list[str | None]:
        with self._lock:
            return [r.webhook_id for r in self.records if r.verified]

    # -- life cycle

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # The handler writes headers and body separately; without TCP_NODELAY the body waits for
                # the client's delayed ACK (tens of milliseconds a request on loopback).
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: object) -> None:  # quiet
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver._handle(self, body)

        self._served = Served(Handler, "webhook-receiver", poll_interval=0.05)
        return self

    def stop(self) -> None:
        self._release.set()
        if self._served is not None:
            self._served.stop()

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    # -- requests

    def _take_failure(self) -> _Failures | None:
        with self._lock:
            if self._failures.remaining <= 0:
                return None
            self._failures.remaining -= 1
            return _Failures(self._failures.mode, 1, self._failures.retry_after, self._failures.location)

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        path = handler.path
        with self._lock:
            secret = self.secrets.get(path)
        verified, error = False, None
        if secret is None:
            error = f"no secret for path {path}"
        else:
            try:
                Webhook(secret).verify(body, headers)
                verified = True
            except Exception as exc:  # the verifier's own exception types, and bad headers
                error = f"{type(exc).__name__}: {exc}"
        failure = self._take_failure()
        status = 200 if failure is None else _STATUS[failure.mode]
        with self._lock:
            self.records.append(Received(path=path, webhook_id=headers.get("webhook-id"), verified=verified,
                                         body=body, headers=headers, answered=status, error=error))
        if failure is not None and failure.mode == "hang":
            self._release.wait(self.hang_seconds)
            status = 200
        extra: dict[str, str] = {}
        if failure is not None and failure.mode == "429":
            extra["Retry-After"] = failure.retry_after
        if failure is not None and failure.mode == "302":
            extra["Location"] = failure.location
        answer = b'{"ok":true}' if status == 200 else b'{"error":"told to fail"}'
        try:
            handler.send_response(status)
            for name, value in extra.items():
                handler.send_header(name, value)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(answer)))
            handler.end_headers()
            handler.wfile.write(answer)
        except OSError:  # the client gave up (a hang past its timeout)
            pass
