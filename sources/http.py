"""Polite HTTP for the sources: one `fetch` that both sources use, and the User-Agent they send.

Upstream etiquette (see the reference notes): neither the Tweede Kamer nor KOOP publishes a rate limit, both
answer 429 and 503 under load (KOOP's 503 comes with an HTML body), and the Tweede Kamer may throttle per IP.
So every request identifies wetwacht, transient failures are retried with exponential backoff and jitter,
a `Retry-After` is honoured (capped, so a misconfigured server cannot park a poll for a day), and anything
that will not get better by waiting (404, 400, 401, ...) fails at once.

Timeouts are the client's (`httpx.AsyncClient(timeout=...)`, opened once per process); `fetch` only decides
what a timeout means. The `sleep` is injected so that tests never wait for real.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from importlib import metadata

import httpx

from sources.base import FetchError

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

README_URL = "https://github.com/wetwacht/wetwacht#readme"


def _version() -> str:
    try:
        return metadata.version("wetwacht")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0"


USER_AGENT = f"wetwacht/{_version()} (+{README_URL})"


def retry_after_seconds(value: str | None, *, now: dt.datetime) -> float | None:
    """Seconds to wait according to a `Retry-After` header: delay-seconds (``120``) or an HTTP-date
    (``Wed, 21 Oct 2026 07:28:00 GMT``) relative to `now`. None when absent or unreadable; never negative."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN is unreadable
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def _server_now(response: httpx.Response) -> dt.datetime:
    # An HTTP-date Retry-After is measured against the server's own clock (its Date header) when it sends
    # one, so a skewed local clock neither shortens nor stretches the wait.
    date = response.headers.get("Date")
    if date:
        try:
            parsed = email.utils.parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError):
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC)


def backoff_delay(attempt: int, *, base_delay: float, max_delay: float, rng: random.Random) -> float:
    """The wait before retry number `attempt + 1`: exponential (`base_delay * 2**attempt`, capped at
    `max_delay`) with "equal jitter" (between half and all of it), so that many clients that failed
    together do not come back together, while each still waits at least half the backoff."""
    ceiling = min(max_delay, base_delay * (2.0**attempt))
    return ceiling / 2.0 + rng.uniform(0.0, ceiling / 2.0)


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    sleep: Sleep,
    retries: int = 4,
    base_delay: float = 2.0,
    max_delay: float = 120.0,
    rng: random.Random | None = None,
) -> httpx.Response:
    """GET `url` and return the 2xx response, retrying what may pass.

    Retried, at most `retries` times: timeouts, connection errors (refused, reset, closed mid-body), HTTP 429
    and 5xx. A `Retry-After` (seconds or HTTP-date) on a 429 or 5xx replaces the backoff, capped at
    `max_delay`. Any other status fails at once. Raises `FetchError` with the URL and the last status.
    """
    jitter = rng if rng is not None else random.Random()  # noqa: S311 - jitter, not cryptography
    shown = str(httpx.URL(url, params=dict(params))) if params else url
    status: int | None = None
    reason = "no attempt made"
    for attempt in range(retries + 1):
        delay: float | None = None
        try:
            response = await client.get(url, params=dict(params) if params else None)
        except httpx.TimeoutException as exc:
            status, reason = None, f"timed out ({type(exc).__name__})"
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            status, reason = None, f"connection failed ({type(exc).__name__}: {exc})"
        except httpx.HTTPError as exc:
            # An unsupported scheme, a bad proxy setting, ...: waiting will not fix the configuration.
            raise FetchError(f"GET {shown} failed: {type(exc).__name__}: {exc}", url=shown) from exc
        else:
            status = response.status_code
            if 200 <= status < 300:
                return response
            if status != 429 and status < 500:
                raise FetchError(f"GET {shown}: HTTP {status}", url=shown, status=status)
            reason = f"HTTP {status}"
            after = retry_after_seconds(response.headers.get("Retry-After"), now=_server_now(response))
            if after is not None:
                delay = min(max_delay, after)
        if attempt == retries:
            break
        if delay is None:
            delay = backoff_delay(attempt, base_delay=base_delay, max_delay=max_delay, rng=jitter)
        log.warning("GET %s: %s; retry %d of %d in %.1f s", shown, reason, attempt + 1, retries, delay)
        await sleep(delay)
    raise FetchError(f"GET {shown} failed after {retries + 1} attempts: {reason}", url=shown, status=status)
