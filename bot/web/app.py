"""The public site as a Starlette application: pages, feeds, calendars and the JSON API, read-only.

Every route answers GET (and HEAD) only. Database reads and rendering run in worker threads (at most
`threads` at once), never on the event loop, which the poller shares in `wetwacht run`. An answer is
rendered once per URL and database version, however many requests wait for it, and reused while the
database is unchanged (at most `cache_seconds`): a rush of visitors costs one render per page, not one per
visitor. After a change (a poll, a maintainer's action) the previous answer is given until the new one is
rendered, which the first request after the change starts.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import re
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import anyio.to_thread
from anyio import CapacityLimiter
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.web import api, feeds, pages
from bot.web.http import (
    SECURITY_HEADERS,
    BadRequest,
    LoopShare,
    Render,
    Rendered,
    ResponseCache,
    SecurityHeaders,
    query_params,
    respond,
)
from bot.web.model import Filters, Status, fold
from bot.web.snapshot import (
    Item,
    Snapshot,
    events_since,
    load_snapshot,
    recent_events,
    source_states,
    timeline,
)
from matchers.catalog import Catalog
from matchers.catalog_files import SEEDS_DIR
from matchers.deadlines import dutch_date
from storage.catalog_repo import history

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]
HTML = "text/html; charset=utf-8"
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MINISTRY_RE = re.compile(r"^[A-Za-z]{1,12}$")
HOST_RE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$")
OPEN_HEADERS = {"Access-Control-Allow-Origin": "*"}  # public, read-only data without credentials
BOARD_PARAMS = ("brief", "ministerie", "soort", "status", "q")
# The 500 answer is made outside the middleware (Starlette's outermost layer): it carries them itself.
SECURITY = {k.decode("ascii"): v.decode("ascii") for k, v in SECURITY_HEADERS}


class NotFound(Exception):
    """No such commitment, letter or ministry: a 404 that says what was asked and what is near it."""

    def __init__(self, message: str, api_message: str, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message  # for people, in Dutch
        self.api_message = api_message  # for programs, in the CLI's English
        self.suggestions = suggestions


def _version() -> str:
    try:
        return package_version("wetwacht")
    except PackageNotFoundError:
        return "0"


def readonly_engine(engine: Engine) -> Engine:
    """An engine on the same database that cannot write: SQLite opened with `mode=ro`, PostgreSQL sessions
    `READ ONLY`. The site never writes; this makes a mistake fail instead of change data."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return engine
        path = urllib.parse.quote(str(Path(database).resolve()))
        return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true",
                             connect_args={"check_same_thread": False, "timeout": 30})
    return create_engine(url.render_as_string(hide_password=False), pool_pre_ping=True, pool_size=4,
                         max_overflow=4, execution_options={"postgresql_readonly": True})


@dataclass(frozen=True)
class SiteConfig:
    """`cache_seconds`: how long a rendered answer is kept at most (0: nothing is kept, every request reads
    the database). Within it an answer is reused while the database is unchanged (see `Probe`); after a
    change the last answer is given while the new one renders. `threads`: renders at once; one, since in
    `wetwacht run` every render thread competes with the poller for the interpreter. `per_turn`: requests
    let in per turn of the event loop (`http.LoopShare`). bench/bench_web.py chose both: a poll under a
    flood of page requests is 1.5-1.8x slower with two threads, about 4x without the loop share, 1.1-1.2x
    as set here."""

    poll_seconds: int = 300
    cache_seconds: float = 300.0
    threads: int = 1
    per_turn: int = 2  # requests let in per turn of the event loop (http.LoopShare)


class Probe:
    """A value that changes whenever the database may have changed: SQLite's `PRAGMA data_version` on a
    connection of its own (it changes when any other connection commits), PostgreSQL's current snapshot
    (it changes when a writing transaction starts or ends). Read before the data it stands for, so data read
    after a change is at worst filed under the older value and read again at the next request. None when
    the database cannot tell: then answers are kept `FALLBACK_SECONDS` at most."""

    FALLBACK_SECONDS = 5.0

    def __init__(self, engine: Engine, readonly: Engine) -> None:
        self.readonly = readonly
        self.backend = engine.url.get_backend_name()
        self._lock = threading.Lock()
        self._sqlite: sqlite3.Connection | None = None
        self.inline = False  # cheap enough to ask on the event loop
        database = engine.url.database
        if self.backend == "sqlite" and database and database != ":memory:" and not database.startswith("file:"):
            path = urllib.parse.quote(str(Path(database).resolve()))
            try:
                self._sqlite = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=1)
                self.inline = True
            except sqlite3.Error as exc:
                log.warning("web: cannot watch %s for changes (%s)", Path(database).name, exc)

    def __call__(self) -> str | None:
        try:
            with self._lock:
                if self._sqlite is not None:
                    return f"sqlite:{self._sqlite.execute('PRAGMA data_version').fetchone()[0]}"
                if self.backend == "postgresql":
                    with self.readonly.connect() as connection:
                        # pg_current_snapshot() from PostgreSQL 13 on; the txid_ form before.
                        major = (connection.dialect.server_version_info or (13,))[0]
                        function = "pg_current_snapshot" if isinstance(major, int) and major >= 13 \
                            else "txid_current_snapshot"
                        return f"pg:{connection.exec_driver_sql(f'SELECT {function}()::text').scalar()}"
        except Exception as exc:  # the site still answers, only without reuse
            log.warning("web: cannot tell whether the database changed (%s); answers are kept %.0fs at most",
                        type(exc).__name__, self.FALLBACK_SECONDS)
        return None

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()


class Site:
    """The site's state: the read-only engine, the catalog files, the clock, the caches."""

    def __init__(self, engine: Engine, catalog: Catalog, *, clock: Clock | None = None,
                 config: SiteConfig | None = None) -> None:
        self.config = config or SiteConfig()
        self.engine = readonly_engine(engine)
        self._own_engine = self.engine is not engine
        self.catalog = catalog
        self.clock: Clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.cache = ResponseCache(self.config.cache_seconds)
        self.limiter = CapacityLimiter(self.config.threads)
        self.probe = Probe(engine, self.engine)
        self._probe_limiter = CapacityLimiter(4)
        self._snapshot: tuple[str, Snapshot] | None = None
        self._snapshot_lock = threading.Lock()
        self._local = threading.local()  # the version the request being rendered in this thread stands for
        self._static: dict[str, Rendered] = {}
        self._static_lock = threading.Lock()
        self.seed_letters = {f for f in catalog.letters if (SEEDS_DIR / f).is_file()}
        self.spec = api.openapi(_version())

    def close(self) -> None:
        self.probe.close()
        if self._own_engine:
            self.engine.dispose()

    # ------------------------------------------------------------------ reading

    def session(self) -> Session:
        return Session(self.engine)

    async def version(self) -> str:
        """What the answers of this moment stand for: the Dutch day (statuses change at midnight) and the
        database's change marker; "" when nothing may be reused (`cache_seconds` 0)."""
        if self.config.cache_seconds <= 0:
            return ""
        if self.probe.inline:
            marker = self.probe()
        else:
            marker = await anyio.to_thread.run_sync(self.probe, limiter=self._probe_limiter)
        if marker is None:
            marker = f"t{int(time.monotonic() // Probe.FALLBACK_SECONDS)}"
        return f"{dutch_date(self.clock()).isoformat()}|{marker}"

    def snapshot(self) -> Snapshot:
        """The catalog-wide read, shared by every page of one database version (called from worker threads,
        inside `answer`)."""
        version = getattr(self._local, "version", "")
        with self._snapshot_lock:
            if version and self._snapshot is not None and self._snapshot[0] == version:
                return self._snapshot[1]
            now = self.clock()
            with self.session() as session:
                snap = load_snapshot(session, self.catalog, dutch_date(now), now)
            if version:
                self._snapshot = (version, snap)
            return snap

    def item(self, snapshot: Snapshot, slug: str) -> Item:
        item = snapshot.by_slug.get(slug) if SLUG_RE.match(slug) and len(slug) <= 120 else None
        if item is None:
            close = difflib.get_close_matches(slug[:120], list(snapshot.by_slug), n=3, cutoff=0.5)
            raise NotFound(f"Er is geen toezegging met het kenmerk {slug[:120]!r}.",
                           f"no commitment with slug {slug[:120]!r}", tuple(close))
        return item

    async def offload(self, render: Render) -> tuple[bytes, str]:
        return await anyio.to_thread.run_sync(render, limiter=self.limiter)

    async def answer(self, request: Request, key: str, render: Render, *, headers: Mapping[str, str] | None = None,
                     max_age: int = 60) -> Response:
        """The answer for `key` in the database's current version: reused, or rendered in a worker thread."""
        version = await self.version()

        def in_version() -> tuple[bytes, str]:
            self._local.version = version
            try:
                return render()
            finally:
                self._local.version = ""

        rendered = await self.cache.get(f"{version}|{key}", in_version, self.offload, stable=key)
        return respond(request, rendered, headers, max_age)

    def static(self, key: str, make: Callable[[], tuple[bytes, str]]) -> Rendered:
        with self._static_lock:
            found = self._static.get(key)
            if found is None:
                body, media_type = make()
                found = self.cache.store(f"static:{key}", body, media_type, keep=False)
                self._static[key] = found
            return found


def base_url(request: Request) -> str:
    """The site's absolute URL as the visitor reached it (for feed ids and links); a Host header that is not
    a host name is refused."""
    host = request.headers.get("host", "")
    if not HOST_RE.match(host):
        raise BadRequest("de Host-kop van het verzoek is geen geldige hostnaam", "the Host header is not a host name")
    # From the scope, not `request.url`: building that decodes the raw query string, which may not be UTF-8.
    scheme = str(request.scope.get("scheme", "http"))
    scheme = scheme if scheme in ("http", "https") else "http"
    return f"{scheme}://{host}"


def _filters(params: Mapping[str, str], snapshot: Snapshot) -> Filters:
    """The scoreboard's filters from the query string; a value the catalog does not have is a 400."""
    letter = params.get("brief") or None
    if letter is not None and letter not in snapshot.letters:
        raise BadRequest(f"onbekende brief {letter!r}; kies uit {', '.join(snapshot.letters)}",
                         f"brief: unknown letter {letter!r}", "brief")
    ministry = params.get("ministerie") or None
    if ministry is not None and ministry not in snapshot.ministries:
        raise BadRequest(f"onbekend ministerie {ministry!r}; kies uit {', '.join(snapshot.ministries)}",
                         f"ministerie: unknown ministry {ministry!r}", "ministerie")
    kind = params.get("soort") or None
    if kind is not None and kind not in snapshot.kinds:
        raise BadRequest(f"onbekende soort {kind!r}; kies uit {', '.join(snapshot.kinds)}",
                         f"soort: unknown kind {kind!r}", "soort")
    status_value = params.get("status") or None
    status = None
    if status_value is not None:
        try:
            status = Status(status_value)
        except ValueError:
            raise BadRequest(f"onbekende status {status_value!r}; kies uit {', '.join(s.value for s in Status)}",
                             f"status: unknown status {status_value!r}", "status") from None
    query = " ".join((params.get("q") or "").split()) or None
    if query is not None and not fold(query).strip():
        query = None
    return Filters(letter=letter, ministry=ministry, kind=kind, status=status, query=query)


def _html(text: str) -> tuple[bytes, str]:
    return text.encode("utf-8"), HTML


def create_app(engine: Engine, catalog: Catalog, *, clock: Clock | None = None,
               config: SiteConfig | None = None) -> Starlette:
    """The site on `engine`'s database. `clock` is injected for tests (it decides "today" and "overdue")."""
    site = Site(engine, catalog, clock=clock, config=config)

    # -------------------------------------------------------------- pages

    async def board(request: Request) -> Response:
        params = query_params(request, BOARD_PARAMS)

        def render() -> tuple[bytes, str]:
            snap = site.snapshot()
            return _html(pages.scoreboard(snap, _filters(params, snap)))

        return await site.answer(request, "board?" + urllib.parse.urlencode(sorted(params.items())), render)

    async def commitment_page(request: Request) -> Response:
        query_params(request, ())
        slug = request.path_params["slug"]

        def render() -> tuple[bytes, str]:
            snap = site.snapshot()
            item = site.item(snap, slug)
            with site.session() as session:
                events = timeline(session, item.slug)
                past = history(session, item.slug)
            return _html(pages.commitment(snap, item, events, past, site.seed_letters))

        return await site.answer(request, f"commitment:{slug}", render)

    async def overdue_page(request: Request) -> Response:
        query_params(request, ())
        return await site.answer(request, "overdue", lambda: _html(pages.overdue(site.snapshot())))

    async def deadlines_page(request: Request) -> Response:
        query_params(request, ())
        return await site.answer(request, "deadlines", lambda: _html(pages.deadlines(site.snapshot())))

    async def status_page(request: Request) -> Response:
        query_params(request, ())

        def render() -> tuple[bytes, str]:
            with site.session() as session:
                rows = source_states(session)
            return _html(pages.status(rows, site.clock(), site.config.poll_seconds))

        minute = int(site.clock().timestamp() // 60)  # "4 minuten geleden" changes by the minute
        return await site.answer(request, f"status:{minute}", render, max_age=30)

    async def letter_page(request: Request) -> Response:
        query_params(request, ())
        lid = request.path_params["letter"]
        file = next((f for f in site.seed_letters if f.split("_", 1)[0] == lid), None)
        if file is None or not re.fullmatch(r"[0-9]{3}", lid):
            raise NotFound(f"Er is geen brief {lid[:40]!r}.", f"no letter {lid[:40]!r}")

        def make() -> tuple[bytes, str]:
            snap = site.snapshot()
            info = snap.letters.get(lid)
            assert info is not None and file is not None
            return _html(pages.letter(info, (SEEDS_DIR / file).read_text(encoding="utf-8")))

        rendered = await anyio.to_thread.run_sync(lambda: site.static(f"letter:{lid}", make), limiter=site.limiter)
        return respond(request, rendered, None, 3600)

    async def api_docs(request: Request) -> Response:
        query_params(request, ())
        rendered = site.static("api-docs", lambda: _html(pages.api_docs(site.spec)))
        return respond(request, rendered, None, 3600)

    async def stylesheet(request: Request) -> Response:
        def make() -> tuple[bytes, str]:
            return resources.files("bot.web").joinpath("static/site.css").read_bytes(), "text/css; charset=utf-8"

        return respond(request, site.static("css", make), None, 86400)

    # -------------------------------------------------------------- feeds and calendars

    async def feed_all(request: Request) -> Response:
        query_params(request, ())
        base = base_url(request)

        def render() -> tuple[bytes, str]:
            with site.session() as session:
                events = recent_events(session)
            return feeds.atom(events, base=base, self_path="/feed.atom", page_path="/",
                              title="wetwacht: alle gebeurtenissen",
                              subtitle="Elke stap van elke toezegging van het kabinet, zodra wetwacht hem ziet."), \
                feeds.ATOM

        return await site.answer(request, f"feed:{base}", render, headers=OPEN_HEADERS)

    async def feed_commitment(request: Request) -> Response:
        query_params(request, ())
        base = base_url(request)
        slug = request.path_params["slug"]

        def render() -> tuple[bytes, str]:
            item = site.item(site.snapshot(), slug)
            with site.session() as session:
                events = recent_events(session, slug=item.slug)
            q = urllib.parse.quote(item.slug)
            return feeds.atom(events, base=base, self_path=f"/toezegging/{q}.atom", page_path=f"/toezegging/{q}",
                              title=f"wetwacht: {item.view.title}",
                              subtitle=f"Wat er gebeurt met {item.view.title}."), feeds.ATOM

        return await site.answer(request, f"feed:{base}:{slug}", render, headers=OPEN_HEADERS)

    async def feed_ministry(request: Request) -> Response:
        query_params(request, ())
        base = base_url(request)
        ministry = request.path_params["ministry"]

        def render() -> tuple[bytes, str]:
            snap = site.snapshot()
            if not MINISTRY_RE.match(ministry) or ministry not in snap.ministries:
                raise NotFound(f"Er is geen ministerie {ministry[:40]!r} in de catalogus.",
                               f"no ministry {ministry[:40]!r} in the catalog")
            with site.session() as session:
                events = recent_events(session, ministry=ministry)
            q = urllib.parse.quote(ministry)
            return feeds.atom(events, base=base, self_path=f"/ministerie/{q}.atom",
                              page_path=f"/?ministerie={q}", title=f"wetwacht: {ministry}",
                              subtitle=f"Wat er gebeurt met de toezeggingen van {ministry}."), feeds.ATOM

        return await site.answer(request, f"feed:{base}:ministry:{ministry}", render, headers=OPEN_HEADERS)

    async def ics_all(request: Request) -> Response:
        query_params(request, ())
        base = base_url(request)

        def render() -> tuple[bytes, str]:
            snap = site.snapshot()
            return feeds.calendar(snap.items, snap, base=base, name="wetwacht: termijnen van het kabinet",
                                  every_promise=False), feeds.ICS

        return await site.answer(request, f"ics:{base}", render, headers=OPEN_HEADERS, max_age=3600)

    async def ics_commitment(request: Request) -> Response:
        query_params(request, ())
        base = base_url(request)
        slug = request.path_params["slug"]

        def render() -> tuple[bytes, str]:
            snap = site.snapshot()
            item = site.item(snap, slug)
            return feeds.calendar([item], snap, base=base, name=f"wetwacht: {item.view.title}",
                                  every_promise=True), feeds.ICS

        return await site.answer(request, f"ics:{base}:{slug}", render, headers=OPEN_HEADERS, max_age=3600)

    # -------------------------------------------------------------- JSON API

    async def api_commitments(request: Request) -> Response:
        query_params(request, ())
        return await site.answer(request, "api:commitments",
                                 lambda: (api.dumps(api.commitments_json(site.snapshot().items)), api.JSON),
                                 headers=OPEN_HEADERS)

    async def api_commitment(request: Request) -> Response:
        query_params(request, ())
        slug = request.path_params["slug"]

        def render() -> tuple[bytes, str]:
            item = site.item(site.snapshot(), slug)
            with site.session() as session:
                events = timeline(session, item.slug)
                past = history(session, item.slug)
            return api.dumps(api.commitment_json(item, events, past)), api.JSON

        return await site.answer(request, f"api:commitment:{slug}", render, headers=OPEN_HEADERS)

    async def api_events(request: Request) -> Response:
        params = query_params(request, ("since",))
        since = api.parse_since(params.get("since"))

        def render() -> tuple[bytes, str]:
            with site.session() as session:
                return api.dumps(events_since(session, since)), api.JSON

        key = f"api:events:{since.isoformat() if since else ''}"
        return await site.answer(request, key, render, headers=OPEN_HEADERS)

    async def api_spec(request: Request) -> Response:
        query_params(request, ())
        rendered = site.static("openapi", lambda: (api.dumps(site.spec), api.JSON))
        return respond(request, rendered, OPEN_HEADERS, 3600)

    # -------------------------------------------------------------- errors

    def wants_json(request: Request) -> bool:
        path = str(request.scope.get("path", ""))
        return path.startswith("/api/")

    async def on_not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotFound)
        if wants_json(request):
            body = api.error_json(404, "not_found", exc.api_message, suggestions=list(exc.suggestions))
            return Response(api.dumps(body), 404, media_type=api.JSON, headers=OPEN_HEADERS)
        return Response(pages.error(404, "Niet gevonden", exc.message, exc.suggestions), 404, media_type=HTML)

    async def on_bad_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadRequest)
        if wants_json(request):
            extra: dict[str, Any] = {"parameter": exc.parameter} if exc.parameter else {}
            body = api.error_json(400, "bad_request", exc.api_message, **extra)
            return Response(api.dumps(body), 400, media_type=api.JSON, headers=OPEN_HEADERS)
        return Response(pages.error(400, "Ongeldig verzoek", f"Dit adres klopt niet: {exc.message}."), 400,
                        media_type=HTML)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = exc.status_code
        headers = dict(exc.headers or {})
        if code == 405:
            headers["Allow"] = "GET, HEAD"
        titles = {404: ("Niet gevonden", "Deze pagina bestaat niet."),
                  405: ("Methode niet toegestaan", "Deze site is alleen te lezen: alleen GET en HEAD.")}
        title, message = titles.get(code, ("Fout", "Dit verzoek kan niet worden beantwoord."))
        if wants_json(request):
            english = {404: "no such path", 405: "read-only: only GET and HEAD"}.get(code, "error")
            body = api.error_json(code, "not_found" if code == 404 else "error", english)
            return Response(api.dumps(body), code, media_type=api.JSON, headers={**headers, **OPEN_HEADERS})
        return Response(pages.error(code, title, message), code, media_type=HTML, headers=headers)

    async def on_error(request: Request, exc: Exception) -> Response:
        log.error("web: %s %s failed: %s", request.method, str(request.scope.get("path", ""))[:200],
                  type(exc).__name__, exc_info=exc)
        if wants_json(request):
            body = api.error_json(500, "internal", "internal error; it has been logged")
            return Response(api.dumps(body), 500, media_type=api.JSON, headers=SECURITY)
        return Response("<!doctype html><html lang=\"nl\"><title>Fout</title><h1>Er ging iets mis</h1>"
                        "<p>De fout is vastgelegd. Probeer het later opnieuw.</p></html>", 500, media_type=HTML,
                        headers=SECURITY)

    routes = [
        Route("/", board, methods=["GET"]),
        Route("/toezegging/{slug}.atom", feed_commitment, methods=["GET"]),
        Route("/toezegging/{slug}.ics", ics_commitment, methods=["GET"]),
        Route("/toezegging/{slug}", commitment_page, methods=["GET"]),
        Route("/te-laat", overdue_page, methods=["GET"]),
        Route("/termijnen", deadlines_page, methods=["GET"]),
        Route("/termijnen.ics", ics_all, methods=["GET"]),
        Route("/status", status_page, methods=["GET"]),
        Route("/feed.atom", feed_all, methods=["GET"]),
        Route("/ministerie/{ministry}.atom", feed_ministry, methods=["GET"]),
        Route("/brief/{letter}", letter_page, methods=["GET"]),
        Route("/static/site.css", stylesheet, methods=["GET"]),
        Route("/api", api_docs, methods=["GET"]),
        Route("/api/openapi.json", api_spec, methods=["GET"]),
        Route("/api/commitments", api_commitments, methods=["GET"]),
        Route("/api/commitments/{slug}", api_commitment, methods=["GET"]),
        Route("/api/events", api_events, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders), Middleware(LoopShare, per_turn=site.config.per_turn)],
        exception_handlers={NotFound: on_not_found, BadRequest: on_bad_request, HTTPException: on_http,
                            Exception: on_error},
    )
    app.state.site = site
    return app
