"""Serving the site with uvicorn on the running event loop: alone (`wetwacht web`) or beside the poller
(`wetwacht run`), on `WETWACHT_WEB_HOST:WETWACHT_WEB_PORT`.

The socket is bound here, before uvicorn starts, so that a port that is taken is an `OSError` we handle
(uvicorn itself would `sys.exit`): `run` says so in one line and carries on without the site, `web` exits 1.
uvicorn's own signal handling is switched off: the owner of the loop (the service, or `serve_forever`)
decides when to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator
from typing import TextIO

import uvicorn
from sqlalchemy.engine import Engine
from starlette.applications import Starlette

from bot.config import Settings
from bot.web.app import SiteConfig, create_app
from matchers.catalog import Catalog

log = logging.getLogger(__name__)
STOP_SECONDS = 1.5


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The loop's owner handles SIGINT/SIGTERM (uvicorn would replace the service's handlers).
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on `host:port`; `OSError` when the address is taken or cannot be had."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart may rebind at once
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(2048)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class WebServer:
    """The site served on the running loop, started and stopped by its owner."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.server: _Server | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return _url(self.host, self.port)

    async def start(self) -> None:
        """Bind and serve in the background; `OSError` when the address cannot be bound."""
        sock = bind(self.host, self.port)
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="off", server_header=False,
                                timeout_graceful_shutdown=1, timeout_keep_alive=5)
        self.server = _Server(config)
        self.task = asyncio.create_task(self.server.serve(sockets=[sock]), name="web")
        log.info("public site on %s", self.url)

    async def stop(self) -> None:
        if self.server is None or self.task is None:
            return
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), timeout=STOP_SECONDS)
        except TimeoutError:
            self.server.force_exit = True
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        site = getattr(self.app.state, "site", None)
        if site is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(site.cache.settle(), timeout=STOP_SECONDS)
            site.close()

    async def wait(self) -> None:
        if self.task is not None:
            await self.task


def site_app(settings: Settings, engine: Engine, catalog: Catalog) -> Starlette:
    return create_app(engine, catalog, config=SiteConfig(poll_seconds=settings.poll_seconds))


def for_service(settings: Settings, engine: Engine, catalog: Catalog) -> WebServer | None:
    """The site for `wetwacht run`, or None when `WETWACHT_WEB_PORT` is 0."""
    if settings.web_port == 0:
        log.info("WETWACHT_WEB_PORT is 0: no public site")
        return None
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    return WebServer(site_app(settings, engine, catalog), settings.web_host, settings.web_port)


async def start_beside_service(server: WebServer) -> None:
    """Start the site for `run`: a taken port costs the site, never an alert."""
    try:
        await server.start()
    except OSError as exc:
        log.warning("public site off: cannot listen on %s (%s); polling and delivery carry on",
                    _url(server.host, server.port).removeprefix("http://"), exc.strerror or exc)


def serve_forever(settings: Settings, engine: Engine, catalog: Catalog, err: TextIO) -> int:
    """`wetwacht web`: serve the site alone until SIGINT/SIGTERM. Exit 1 when the address cannot be bound."""
    if settings.web_port == 0:
        err.write("WETWACHT_WEB_PORT is 0, which turns the public site off; set a port to serve it\n")
        return 2
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    server = WebServer(site_app(settings, engine, catalog), settings.web_host, settings.web_port)

    async def go() -> int:
        try:
            await server.start()
        except OSError as exc:
            err.write(f"cannot serve the public site on {_url(settings.web_host, settings.web_port)}: "
                      f"{exc.strerror or exc}\n")
            return 1
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stopping.set)
        waiter = asyncio.create_task(stopping.wait())
        assert server.task is not None
        await asyncio.wait({waiter, server.task}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        await server.stop()
        return 0

    return asyncio.run(go())
