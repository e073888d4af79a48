"""The webhook channel: signed JSON events to the NGOs' endpoints, per the Standard Webhooks specification
(https://www.standardwebhooks.com, CONTRACT.md "Webhooks").

The request is built by hand, not with the `standardwebhooks` package: the tests use that package as the
independent verifier, so a mistake here cannot hide behind the same mistake on both ends.

One request per attempt:
- body `{"type": <event type>, "timestamp": <ISO UTC of this attempt>, "data": <the event JSON>}`;
- `webhook-id` = the event id (the same on every retry and replay: the receiver's idempotency key),
  `webhook-timestamp` = unix seconds of this attempt, `webhook-signature` = `v1,<base64 HMAC-SHA256>` over
  `{id}.{timestamp}.{body}` with the base64-decoded part of the endpoint's `whsec_` secret.

Answers: 2xx is success; 410 Gone is permanent (the delivery is dead); a redirect is never followed and is a
failure saying so; every other status, a timeout or a connection error is retried with exponential backoff
and full jitter (first retry within 30 s, up to 1 h apart) for 24 hours; 429 and 503 may ask for more time
with Retry-After. The secret never appears in a log line, an error message or a repr.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import email.utils
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol
from urllib.parse import urlsplit

import httpx
from sqlalchemy.engine import Engine

from bot.channels.base import Attempt, DeliveryError
from storage.db import session_scope
from storage.models import EndpointRow

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""`(host, port) -> IP addresses as strings`; raises `UnresolvableHost` when the name does not resolve."""
Clock = Callable[[], dt.datetime]


class Jitter(Protocol):
    """Where the backoff's randomness comes from (`random.Random` and `random.SystemRandom` are)."""

    def uniform(self, a: float, b: float, /) -> float: ...

USER_AGENT = "wetwacht-webhooks/0.1 (Dutch cabinet promise tracker; Standard Webhooks)"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret

CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 15.0
MAX_RESPONSE_BYTES = 64 * 1024

RETRY_BASE = 5.0  # seconds before the first retry at most: well within the 30 s CONTRACT.md promises
RETRY_CAP = 3600.0  # never more than an hour between tries
RETRY_FLOOR = 1.0  # full jitter can draw 0; a floor keeps a frozen clock from retrying in a tight loop
RETRY_AFTER_CAP = 6 * 3600.0  # an endpoint may ask for a pause, not park its deliveries for ever
GIVE_UP_AFTER = dt.timedelta(hours=24)


class UnresolvableHost(ValueError):
    """The target's host name does not resolve (now): retryable for a delivery, an error for `webhook add`."""


# ------------------------------------------------------------------------------------------- secrets


def new_secret() -> str:
    """A new signing secret: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _secret_key(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        # Never echo the secret, not even a bad one.
        raise ValueError("the endpoint's secret is not a valid whsec_ base64 secret") from None
    if not key:
        raise ValueError("the endpoint's secret is empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` value: `v1,` + base64(HMAC-SHA256(key, f"{msg_id}.{timestamp}.{body}"))."""
    digest = hmac.new(_secret_key(secret), f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


# ------------------------------------------------------------------------------------------- SSRF guard


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, through the system resolver (asyncio's getaddrinfo)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableHost(f"host {host!r} does not resolve: {exc}") from None
    return sorted({str(info[4][0]) for info in infos})


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, 6to4, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refused_reason(address: str) -> str | None:
    """Why a webhook may not be sent to `address` (an IP address as text), or None when it is public."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id ("fe80::1%eth0")
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            reason = refused_reason(str(inner))
            if reason is not None:
                return f"an IPv6 address embedding {inner}, {reason}"
    checks: tuple[tuple[bool, str], ...] = (
        (ip.is_unspecified, "the unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_reserved, "a reserved address"),
        (ip.is_private, "a private address"),
        # Catches what the flags above miss (100.64.0.0/10 carrier-grade NAT, benchmark ranges, ...).
        (not ip.is_global, "an address that is not publicly routable"),
    )
    for hit, reason in checks:
        if hit:
            return reason
    return None


def _split_target(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a webhook URL; `ValueError` with a clear message when it is not one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{url!r} is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"webhook URLs must be http:// or https://, not {scheme + '://' if scheme else url!r}")
    host = parts.hostname
    if not host:
        raise ValueError(f"{url!r} has no host name")
    return scheme, host, port or (443 if scheme == "https" else 80)


async def check_target(url: str, resolver: Resolver, allow_private: bool) -> None:
    """Refuse a webhook target that is not http(s), has no host, does not resolve, or resolves to any
    loopback, private, link-local, multicast, reserved, unspecified or otherwise non-public address (also
    when wrapped in an IPv4-mapped, 6to4 or NAT64 IPv6 address) unless `allow_private`. Raises `ValueError`
    (`UnresolvableHost` for a name that does not resolve) with a message fit for the operator."""
    _scheme, host, port = _split_target(url)
    try:
        addresses: Sequence[str] = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = await resolver(host, port)
        if not addresses:
            raise UnresolvableHost(f"host {host!r} does not resolve to any address") from None
    if allow_private:
        return
    for address in addresses:
        reason = refused_reason(address)
        if reason is not None:
            shown = host if host == address else f"{host} (resolves to {address})"
            raise ValueError(f"refusing webhook target {shown}: {reason}; private targets need "
                             "WETWACHT_ALLOW_PRIVATE_WEBHOOKS=true")


# ------------------------------------------------------------------------------------------- the channel


def webhook_client() -> httpx.AsyncClient:
    """A client fit for webhooks, if the process wants one of its own. The channel sets timeouts and
    `follow_redirects=False` on every request, so the process's shared client works as well."""
    return httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(TOTAL_TIMEOUT, connect=CONNECT_TIMEOUT),
        follow_redirects=False,
        trust_env=False,  # a proxy would resolve the host itself, behind the SSRF guard's back
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
    )


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds asked for by a Retry-After header (delta-seconds or an HTTP date), capped; None if absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    seconds: float
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = (_utc(when) - _utc(now)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def _snippet(data: bytes, limit: int = 200) -> str:
    text = data.decode("utf-8", errors="replace").strip().replace("\n", " ").replace("\r", " ")
    return text if len(text) <= limit else text[:limit] + "…"


class WebhookChannel:
    """Delivers events to webhook endpoints (`EndpointRow`, by the delivery's recipient id)."""

    name = "webhook"

    def __init__(self, client: httpx.AsyncClient, engine: Engine, *, allow_private: bool,
                 resolver: Resolver = system_resolver, rng: Jitter | None = None,
                 clock: Clock | None = None, connect_timeout: float = CONNECT_TIMEOUT,
                 total_timeout: float = TOTAL_TIMEOUT, max_response_bytes: int = MAX_RESPONSE_BYTES) -> None:
        self.client = client
        self.engine = engine
        self.allow_private = allow_private
        self.resolver = resolver
        self.rng: Jitter = rng or random.SystemRandom()
        self.clock: Clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.connect_timeout = connect_timeout
        self.total_timeout = total_timeout
        self.timeout = httpx.Timeout(total_timeout, connect=connect_timeout)
        self.max_response_bytes = max_response_bytes

    def __repr__(self) -> str:
        return f"WebhookChannel(allow_private={self.allow_private!r})"

    # -- backoff

    def retry_delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter: uniform in [0, min(1 h, 5 s * 2**(attempt-1))], at least 1 s.
        The first retry comes within 5 s, the fifth within 80 s, from the eleventh on within an hour."""
        exponent = min(max(attempt, 1) - 1, 32)
        ceiling = min(RETRY_CAP, RETRY_BASE * 2.0 ** exponent)
        return max(RETRY_FLOOR, self.rng.uniform(0.0, ceiling))

    def gives_up(self, attempt: int, first_tried_at: dt.datetime, now: dt.datetime) -> bool:
        """Dead only once 24 hours have passed since the first attempt, however many tries that took."""
        return _utc(now) - _utc(first_tried_at) >= GIVE_UP_AFTER

    # -- sending

    def _endpoint(self, endpoint_id: str) -> tuple[str, str, bool] | None:
        with session_scope(self.engine) as session:
            ep = session.get(EndpointRow, endpoint_id)
            return None if ep is None else (ep.url, ep.secret, ep.active)

    def request_parts(self, event_id: str, event: dict[str, object], secret: str,
                      now: dt.datetime) -> tuple[str, dict[str, str]]:
        """The body and the headers of one attempt made at `now`."""
        timestamp = int(_utc(now).timestamp())
        body = json.dumps(
            {"type": event.get("type"),
             "timestamp": dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "data": event},
            ensure_ascii=False, separators=(",", ":"),
        )
        headers = {
            "webhook-id": event_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, event_id, timestamp, body),
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        return body, headers

    async def send(self, attempt: Attempt) -> None:
        """One POST to the endpoint; returns on 2xx, raises `DeliveryError` otherwise."""
        found = self._endpoint(attempt.recipient)
        if found is None:
            raise DeliveryError(f"webhook endpoint {attempt.recipient} does not exist", permanent=True)
        url, secret, active = found
        if not active:
            raise DeliveryError(f"webhook endpoint {attempt.recipient} was removed", permanent=True)

        # The guard runs before every attempt: the endpoint's DNS may have changed since it was added.
        # DNS-rebinding gap: httpx resolves the name again when it connects, so a name whose answer flips
        # between this check and the connect (TTL 0) can still reach a private address. Closing it means
        # connecting to the checked address (URL host = that IP, `Host` header and the `sni_hostname` request
        # extension = the name); not done yet. Redirects are never followed, so a public host cannot bounce
        # the request inward.
        try:
            await check_target(url, self.resolver, self.allow_private)
        except UnresolvableHost as exc:
            raise DeliveryError(str(exc)) from None  # DNS may come back: retry
        except ValueError as exc:
            raise DeliveryError(str(exc), permanent=True) from None

        now = self.clock()
        try:
            body, headers = self.request_parts(attempt.event_id, dict(attempt.event), secret, now)
        except ValueError as exc:  # a corrupt secret: no retry will mend it
            raise DeliveryError(f"webhook endpoint {attempt.recipient}: {exc}", permanent=True) from None
        host = urlsplit(url).hostname or "?"
        try:
            async with asyncio.timeout(self.total_timeout):
                status, response_headers, head = await self._post(url, body, headers)
        except httpx.ConnectTimeout:
            raise DeliveryError(f"could not connect to {host} within {self.connect_timeout:g} s") from None
        except (TimeoutError, httpx.TimeoutException):
            raise DeliveryError(f"no answer from {host} within {self.total_timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"could not reach {host}: {type(exc).__name__}: {exc}") from None
        log.debug("webhook %s event %s attempt %d: HTTP %d", attempt.recipient, attempt.event_id, attempt.attempt,
                  status)
        self._judge(status, response_headers, head, host, now)

    async def _post(self, url: str, body: str, headers: dict[str, str]) -> tuple[int, httpx.Headers, bytes]:
        """POST and read at most `max_response_bytes` of the answer (streamed, the rest is never read)."""
        async with self.client.stream("POST", url, content=body.encode("utf-8"), headers=headers,
                                      timeout=self.timeout, follow_redirects=False) as response:
            received = bytearray()
            async for chunk in response.aiter_raw():
                received += chunk
                if len(received) >= self.max_response_bytes:
                    break
            return response.status_code, response.headers, bytes(received[: self.max_response_bytes])

    def _judge(self, status: int, headers: httpx.Headers, head: bytes, host: str, now: dt.datetime) -> None:
        if 200 <= status < 300:
            return
        detail = _snippet(head)
        suffix = f": {detail}" if detail else ""
        if 300 <= status < 400:
            location = headers.get("location", "")
            raise DeliveryError(f"HTTP {status} from {host}: redirect{' to ' + location if location else ''} not "
                                "followed; a webhook URL must accept the POST itself")
        if status == 410:
            raise DeliveryError(f"HTTP 410 Gone from {host}: the endpoint says it no longer exists{suffix}",
                                permanent=True)
        retry_after = parse_retry_after(headers.get("retry-after"), now) if status in (429, 503) else None
        raise DeliveryError(f"HTTP {status} from {host}{suffix}", retry_after=retry_after)
