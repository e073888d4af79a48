"""Safety: hostile query strings, paths and Host headers get a 400 (or 404), never a traceback; every answer
carries the security headers; no secret appears on any page or header; outside text stays text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from bot.web.app import SiteConfig, create_app
from storage.db import make_engine
from tests.web.conftest import BASE
from tests.web.world import DB_PASSWORD_IN_ERROR, HOSTILE_SLUG, NOW, WEBHOOK_SECRET, World

HOSTILE_QUERIES = [
    "/?q=%FF%FE",  # not UTF-8
    "/?q=%00",  # NUL
    "/?q=a%0D%0ASet-Cookie:%20x=1",  # header injection attempt
    "/?q=%E2%80%A8",  # a line separator
    "/?q=" + "a" * 201,  # too long a value
    "/?q=" + "a" * 3000,  # too long a query string
    "/?" + "&".join(f"x{i}=1" for i in range(30)),  # too many parameters
    "/?status=te-laat&status=open",  # twice
    "/?status=%3Cscript%3E",  # not a status
    "/?brief=..%2F..%2Fetc%2Fpasswd",  # not a letter
    "/?ministerie=%3Cscript%3Ealert(1)%3C/script%3E",
    "/?soort=drop%20table",
    "/toezegging/lobbyregister?utm=%FF",  # an ignored parameter is held to the same rules
    "/te-laat?%00=1",
    "/api/commitments?x=%C0%AF",  # overlong UTF-8
    "/api/events?since=2026-01-01&since=2026-02-01",
    "/api/events?since=%0A2026-01-01",
]


@pytest.mark.parametrize("path", HOSTILE_QUERIES)
async def test_hostile_query_strings_get_400_never_a_traceback(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 400, response.text[:300]
    assert "Traceback" not in response.text and "Error" not in response.text.replace("bad_request", "")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in response.headers
    assert "<script" not in response.text and "set-cookie" not in response.headers
    if path.startswith("/api/"):
        assert response.json()["error"] == "bad_request"
    else:
        assert response.headers["content-type"].startswith("text/html") and "Ongeldig verzoek" in response.text


@pytest.mark.parametrize("path", ["/?utm_source=nieuwsbrief", "/?q=", "/?status=", "/?q=%C3%A9%C3%A9n",
                                  "/toezegging/lobbyregister?fbclid=abc"])
async def test_harmless_extras_still_work(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 200


@pytest.mark.parametrize("path", ["/toezegging/%00", "/toezegging/..%2F..%2Fetc%2Fpasswd", "/toezegging/" + "a" * 500,
                                  "/toezegging/%3Cscript%3E", "/api/commitments/%FF", "/ministerie/%3Cb%3E.atom",
                                  "/brief/%00", "/static/..%2F..%2Fapp.py"])
async def test_hostile_paths_are_plain_404s(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "Traceback" not in response.text and "<script" not in response.text


async def asgi_get(app: Starlette, path: str, query: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """One request straight to the ASGI app, with bytes no HTTP client would send as they are."""
    scope: dict[str, Any] = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
                             "root_path": "", "headers": headers, "client": ("127.0.0.1", 5000),
                             "server": ("127.0.0.1", 8080)}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@pytest.fixture
async def app(world: World) -> AsyncIterator[Starlette]:
    engine = make_engine(world.url)
    application = create_app(engine, world.catalog, clock=lambda: NOW, config=SiteConfig(cache_seconds=0))
    yield application
    application.state.site.close()
    engine.dispose()


@pytest.mark.parametrize(("path", "query", "host"), [
    ("/", b"q=\xff\xfe", b"wetwacht.test"),  # raw bytes, not percent-encoded
    ("/", b"q=caf\xc3\xa9", b"wetwacht.test"),  # raw UTF-8 is still not ASCII
    ("/feed.atom", b"", b"evil.example/<script>"),  # a Host header that is no host name
    ("/feed.atom", b"", b"a b"),
    ("/termijnen.ics", b"", b""),
])
async def test_raw_bytes_and_bad_host_headers_get_400(app: Starlette, path: str, query: bytes, host: bytes) -> None:
    status, body = await asgi_get(app, path, query, [(b"host", host)])
    assert status == 400 and b"Traceback" not in body and b"<script" not in body


async def test_feeds_use_the_host_they_were_asked_on_without_mixing_them(app: Starlette) -> None:
    _s, one = await asgi_get(app, "/feed.atom", b"", [(b"host", b"one.example")])
    _s, two = await asgi_get(app, "/feed.atom", b"", [(b"host", b"two.example:8443")])
    assert b"http://one.example/feed.atom" in one and b"two.example" not in one
    assert b"http://two.example:8443/feed.atom" in two and b"one.example" not in two


async def test_an_error_inside_a_page_is_a_plain_500_with_the_headers(world: World) -> None:
    engine = make_engine(world.url)
    application = create_app(engine, world.catalog, clock=lambda: NOW, config=SiteConfig(cache_seconds=0))

    def broken() -> Any:
        raise RuntimeError("database password hunter2 in a message")

    application.state.site.snapshot = broken
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
        page = await c.get("/")
        api = await c.get("/api/commitments")
    assert page.status_code == 500 and "Er ging iets mis" in page.text and "hunter2" not in page.text
    assert page.headers["x-content-type-options"] == "nosniff" and "content-security-policy" in page.headers
    assert api.status_code == 500 and api.json()["error"] == "internal" and "hunter2" not in api.text
    application.state.site.close()
    engine.dispose()


CRAWL = ["/", "/?status=te-laat", "/toezegging/wet-politieke-partijen", f"/toezegging/{HOSTILE_SLUG}", "/te-laat",
         "/termijnen", "/status", "/brief/000", "/api", "/api/openapi.json", "/api/commitments",
         f"/api/commitments/{HOSTILE_SLUG}", "/api/events", "/feed.atom", f"/toezegging/{HOSTILE_SLUG}.atom",
         "/ministerie/BZK.atom", "/termijnen.ics", f"/toezegging/{HOSTILE_SLUG}.ics", "/bestaat-niet",
         "/api/commitments/bestaat-niet", "/static/site.css"]


async def test_no_secret_on_any_page_or_header(client: httpx.AsyncClient) -> None:
    for path in CRAWL:
        response = await client.get(path)
        everything = response.text + "".join(f"{k}: {v}\n" for k, v in response.headers.items())
        for secret in (WEBHOOK_SECRET, "whsec_", DB_PASSWORD_IN_ERROR, "ngo.example"):
            assert secret not in everything, (path, secret)
        assert "set-cookie" not in response.headers, path


async def test_answers_are_reused_until_the_database_changes(world: World) -> None:
    """With the cache on (as served), an unchanged database renders a page once; a write by another
    connection starts a new render at the next request (which still gets the last answer) and every answer
    after that render shows the write."""
    from sqlmodel import select

    from storage.db import session_scope
    from storage.models import SourceStateRow

    engine = make_engine(world.url)
    application = create_app(engine, world.catalog, clock=lambda: NOW, config=SiteConfig(cache_seconds=300))
    site = application.state.site
    loads = [0]
    real = site.snapshot

    def counted() -> Any:
        loads[0] += 1
        return real()

    site.snapshot = counted
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url=BASE) as c:
        first = await c.get("/status")
        again = await c.get("/status")
        assert first.headers["etag"] == again.headers["etag"]
        board = [await c.get("/") for _ in range(5)]
        assert len({r.headers["etag"] for r in board}) == 1 and loads[0] == 1
        with session_scope(engine) as session:
            state = session.exec(select(SourceStateRow).where(SourceStateRow.name == "ob")).one()
            state.consecutive_failures = 0
            state.last_success_at = NOW
            session.add(state)
        assert (await c.get("/")).headers["etag"] == board[0].headers["etag"]  # the last answer, while ...
        await site.cache.settle()  # ... the new version renders
        assert loads[0] == 2  # the write made a new version: the snapshot was read again
        status = await c.get("/status")
        await site.cache.settle()
        status = await c.get("/status")
        assert status.headers["etag"] != first.headers["etag"] and 'data-source="ob" data-state="ok"' in status.text
    application.state.site.close()
    engine.dispose()
