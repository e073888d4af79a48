"""Local stand-ins for the outside world (Tweede Kamer SyncFeed and KOOP SRU, webhook receivers, the Telegram
Bot API), each a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalServer(ThreadingHTTPServer):
    """A threading HTTP server for the fakes: daemon threads, a deep listen backlog (a burst of concurrent
    requests must not overflow it), and silence when a client drops its connection (a process killed or
    stopped mid keep-alive does that; it is not an error of the fake)."""

    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class Served:
    """A `LocalServer` on a free port of 127.0.0.1, serving in a daemon thread: what every fake starts and stops
    the same way. `poll_interval` is how soon `stop` is noticed."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], name: str, *, server: type[LocalServer] = LocalServer,
                 poll_interval: float = 0.5) -> None:
        self.server = server(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": poll_interval},
                                       name=name, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
