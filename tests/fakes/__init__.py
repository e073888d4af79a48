"""Local stand-ins for the outside world (Tweede Kamer SyncFeed and KOOP SRU, webhook receivers, the Telegram
Bot API), each a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer


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
