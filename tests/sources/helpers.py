"""Shared helpers of the source tests: the payload files, a recording fake `sleep`, and respx side effects
that serve a `FakeUpstream`'s rendered bodies (real format, real skiptoken semantics) without a socket."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.fakes.upstream import FakeUpstream

DATA = Path(__file__).resolve().parent.parent / "data" / "sources"
FEED_URL = "https://gegevensmagazijn.tweedekamer.nl/SyncFeed/2.0/Feed"
SRU_URL = "https://repository.overheid.nl/sru"
Responder = Callable[[httpx.Request], httpx.Response]


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


def split_feeds(name: str) -> list[bytes]:
    """The <feed> pages of a `<fixtures>` wrapper file, each a standalone document."""
    text = data(name).decode("utf-8")
    return [m.group(0).encode("utf-8") for m in re.finditer(r"<feed xmlns=.*?</feed>", text, re.S)]


@dataclass
class Sleeps:
    """A fake `sleep` that records what it was asked to wait and returns at once."""

    calls: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def feed_from(upstream: FakeUpstream) -> Responder:
    """A respx side effect answering SyncFeed requests from `upstream`'s log, counting nothing itself."""

    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        body = upstream.feed_page_xml(params["category"], params.get("skiptoken"))
        return httpx.Response(200, content=body, headers={"Content-Type": "application/atom+xml"})

    return answer


def sru_from(upstream: FakeUpstream) -> Responder:
    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        body = upstream.sru_response_xml(params["query"], int(params["startRecord"]), int(params["maximumRecords"]))
        return httpx.Response(200, content=body, headers={"Content-Type": "application/xml"})

    return answer
