"""The webhook channel, with respx (no network): the Standard Webhooks request, how answers are judged, the
response size limit, the SSRF guard and the backoff."""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx
import pytest
import respx
from sqlalchemy.engine import Engine
from standardwebhooks.webhooks import Webhook

from bot.channels.base import Attempt, DeliveryError
from bot.channels.webhook import (
    UnresolvableHost,
    WebhookChannel,
    check_target,
    new_secret,
    parse_retry_after,
    refused_reason,
    sign,
    system_resolver,
)
from tests.channels import FakeClock, MaxRng, add_endpoint, database, event_payload

URL = "https://hooks.example.org/wetwacht"
PUBLIC = {"hooks.example.org": ["93.184.215.14", "2606:4700::6810:84e5"]}


def fake_resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> Sequence[str]:
        if host not in table:
            raise UnresolvableHost(f"host {host!r} does not resolve")
        return table[host]

    return resolve


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def secret() -> str:
    return new_secret()


@pytest.fixture
def engine(tmp_path: Path, clock: FakeClock, secret: str) -> Engine:
    engine = database(tmp_path, clock())
    add_endpoint(engine, "ep_0123456789abcdef", URL, secret, clock())
    return engine


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def make_channel(client: httpx.AsyncClient, engine: Engine, clock: FakeClock, *, allow_private: bool = False,
                 table: dict[str, list[str]] | None = None, **kwargs: object) -> WebhookChannel:
    return WebhookChannel(client, engine, allow_private=allow_private, resolver=fake_resolver(PUBLIC if table is None else table),
                          rng=random.Random(7), clock=clock, **kwargs)  # type: ignore[arg-type]


def attempt(n: int = 1, recipient: str = "ep_0123456789abcdef", event_id: str = "evt_abc123") -> Attempt:
    return Attempt(delivery_id=1, event_id=event_id, event=event_payload(event_id), channel="webhook",
                   recipient=recipient, attempt=n, first_tried_at=None)


# ------------------------------------------------------------------------------------------- the request


@respx.mock
async def test_request_is_a_signed_standard_webhook(client: httpx.AsyncClient, engine: Engine, clock: FakeClock,
                                                   secret: str) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(204))
    await make_channel(client, engine, clock).send(attempt())

    request = route.calls.last.request
    assert request.headers["webhook-id"] == "evt_abc123"
    assert request.headers["webhook-timestamp"] == str(int(clock().timestamp()))
    assert request.headers["content-type"] == "application/json"
    assert "wetwacht" in request.headers["user-agent"]
    assert request.headers["webhook-signature"].startswith("v1,")
    # The independent implementation accepts it and gives back the body.
    body = Webhook(secret).verify(request.content, dict(request.headers))
    assert body == {"type": "commitment.stage", "timestamp": clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "data": event_payload("evt_abc123")}
    assert "één" in request.content.decode("utf-8")  # UTF-8 JSON, signed as sent
    assert request.extensions["timeout"] == {"connect": 5.0, "read": 15.0, "write": 15.0, "pool": 15.0}


@respx.mock
async def test_a_retry_carries_the_same_webhook_id_and_a_new_timestamp(
        client: httpx.AsyncClient, engine: Engine, clock: FakeClock, secret: str) -> None:
    route = respx.post(URL).mock(side_effect=[httpx.Response(500), httpx.Response(200)])
    channel = make_channel(client, engine, clock)
    with pytest.raises(DeliveryError):
        await channel.send(attempt(1))
    clock.advance(30)
    await channel.send(attempt(2))
    first, second = (c.request for c in route.calls)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "evt_abc123"
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 30
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]
    for request in (first, second):
        Webhook(secret).verify(request.content, dict(request.headers))


def test_sign_matches_the_standard_webhooks_package() -> None:
    secret = new_secret()
    when = dt.datetime(2027, 3, 2, 10, 15, tzinfo=dt.UTC)
    body = json.dumps({"type": "commitment.stage", "data": {"id": "evt_1", "title": "Woo — één"}},
                      ensure_ascii=False)
    assert sign(secret, "evt_1", int(when.timestamp()), body) == Webhook(secret).sign("evt_1", when, body)


def test_new_secret_is_whsec_and_32_random_bytes() -> None:
    a, b = new_secret(), new_secret()
    assert a.startswith("whsec_") and a != b
    assert len(base64.b64decode(a.removeprefix("whsec_"))) == 32


def test_a_bad_secret_is_refused_without_showing_it() -> None:
    with pytest.raises(ValueError, match="not a valid whsec_") as info:
        sign("whsec_not*base64!", "evt_1", 1, "{}")
    assert "not*base64" not in str(info.value)


# ------------------------------------------------------------------------------------------- answers


@pytest.mark.parametrize(("status", "headers", "permanent", "retry_after", "says"), [
    pytest.param(500, {}, False, None, "HTTP 500", id="500-retryable"),
    pytest.param(502, {}, False, None, "HTTP 502", id="502-retryable"),
    pytest.param(400, {}, False, None, "HTTP 400", id="400-retryable"),
    pytest.param(404, {}, False, None, "HTTP 404", id="404-retryable"),
    pytest.param(429, {"Retry-After": "120"}, False, 120.0, "HTTP 429", id="429-retry-after-seconds"),
    pytest.param(429, {}, False, None, "HTTP 429", id="429-without-retry-after"),
    pytest.param(503, {"Retry-After": "7"}, False, 7.0, "HTTP 503", id="503-retry-after"),
    pytest.param(500, {"Retry-After": "120"}, False, None, "HTTP 500", id="retry-after-only-on-429-503"),
    pytest.param(429, {"Retry-After": "999999999"}, False, 6 * 3600.0, "HTTP 429", id="retry-after-capped"),
    pytest.param(410, {}, True, None, "410 Gone", id="410-gone-permanent"),
    pytest.param(302, {"Location": "https://elsewhere.example.org/"}, False, None, "not followed",
                 id="302-not-followed"),
    pytest.param(307, {}, False, None, "redirect", id="307-not-followed"),
])
@respx.mock
async def test_non_2xx_answers(client: httpx.AsyncClient, engine: Engine, clock: FakeClock, secret: str,
                               status: int, headers: dict[str, str], permanent: bool, retry_after: float | None,
                               says: str) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(status, headers=headers, text="nope"))
    elsewhere = respx.route(host="elsewhere.example.org").mock(return_value=httpx.Response(200))
    with pytest.raises(DeliveryError) as info:
        await make_channel(client, engine, clock).send(attempt())
    assert says in str(info.value)
    assert info.value.permanent is permanent
    assert info.value.retry_after == retry_after
    assert route.call_count == 1 and not elsewhere.called  # a redirect is never followed
    assert secret not in str(info.value)


@respx.mock
async def test_redirects_stay_unfollowed_on_a_client_that_follows_them(engine: Engine, clock: FakeClock) -> None:
    """The process's shared client follows redirects (for the sources); the channel turns that off per request."""
    respx.post(URL).mock(return_value=httpx.Response(301, headers={"Location": "http://169.254.169.254/"}))
    inward = respx.route(host="169.254.169.254").mock(return_value=httpx.Response(200))
    async with httpx.AsyncClient(follow_redirects=True, timeout=60) as shared:
        with pytest.raises(DeliveryError, match="not followed"):
            await make_channel(shared, engine, clock).send(attempt())
    assert not inward.called


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299], ids=lambda s: f"{s}-success")
@respx.mock
async def test_2xx_is_success(client: httpx.AsyncClient, engine: Engine, clock: FakeClock, status: int) -> None:
    respx.post(URL).mock(return_value=httpx.Response(status))
    await make_channel(client, engine, clock).send(attempt())


def test_retry_after_as_http_date() -> None:
    now = dt.datetime(2027, 3, 2, 10, 15, tzinfo=dt.UTC)
    assert parse_retry_after("Tue, 02 Mar 2027 10:17:00 GMT", now) == 120.0
    assert parse_retry_after("Tue, 02 Mar 2027 10:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


@pytest.mark.parametrize("exc", [httpx.ConnectTimeout("connect"), httpx.ReadTimeout("read"),
                                 httpx.PoolTimeout("pool"), httpx.ConnectError("refused"),
                                 httpx.RemoteProtocolError("reset")],
                         ids=["connect-timeout", "read-timeout", "pool-timeout", "connect-error", "protocol-error"])
@respx.mock
async def test_timeouts_and_transport_errors_are_retryable(client: httpx.AsyncClient, engine: Engine,
                                                           clock: FakeClock, exc: Exception) -> None:
    respx.post(URL).mock(side_effect=exc)
    with pytest.raises(DeliveryError) as info:
        await make_channel(client, engine, clock).send(attempt())
    assert not info.value.permanent
    assert "hooks.example.org" in str(info.value)


@respx.mock
async def test_total_timeout_covers_a_slow_dribbling_answer(client: httpx.AsyncClient, engine: Engine,
                                                            clock: FakeClock) -> None:
    import asyncio

    async def never_answers(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()  # never set: the channel's total timeout must end the wait
        raise AssertionError("unreachable")

    respx.post(URL).mock(side_effect=never_answers)
    with pytest.raises(DeliveryError, match=r"no answer from hooks.example.org within 0.05 s") as info:
        await make_channel(client, engine, clock, total_timeout=0.05).send(attempt())
    assert not info.value.permanent


class Dribble:
    """A response body of `chunks` × 16 KiB that counts how much of it was read."""

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.read += 1
            yield b"x" * 16384


@pytest.mark.parametrize("status", [200, 500], ids=["2xx-big-body", "5xx-big-body"])
@respx.mock
async def test_reads_at_most_64_kib_of_the_answer(client: httpx.AsyncClient, engine: Engine, clock: FakeClock,
                                                 status: int) -> None:
    body = Dribble(chunks=640)  # 10 MiB
    respx.post(URL).mock(return_value=httpx.Response(status, content=body))
    channel = make_channel(client, engine, clock)
    if status == 200:
        await channel.send(attempt())
    else:
        with pytest.raises(DeliveryError) as info:
            await channel.send(attempt())
        assert len(str(info.value)) < 300  # a short excerpt, not the body
    assert body.read <= 4 + 1  # 64 KiB = four chunks; the stream is closed after that


# ------------------------------------------------------------------------------------------- endpoint state


@respx.mock
async def test_unknown_or_removed_endpoint_is_permanent(client: httpx.AsyncClient, engine: Engine,
                                                        clock: FakeClock, secret: str) -> None:
    channel = make_channel(client, engine, clock)
    with pytest.raises(DeliveryError, match="does not exist") as info:
        await channel.send(attempt(recipient="ep_ffffffffffffffff"))
    assert info.value.permanent
    add_endpoint(engine, "ep_removed00000000", URL, secret, clock(), active=False)
    with pytest.raises(DeliveryError, match="was removed") as info:
        await channel.send(attempt(recipient="ep_removed00000000"))
    assert info.value.permanent


@respx.mock
async def test_corrupt_secret_is_permanent_and_not_shown(client: httpx.AsyncClient, engine: Engine,
                                                         clock: FakeClock) -> None:
    add_endpoint(engine, "ep_badsecret000000", URL, "whsec_%%%corrupt%%%", clock())
    with pytest.raises(DeliveryError) as info:
        await make_channel(client, engine, clock).send(attempt(recipient="ep_badsecret000000"))
    assert info.value.permanent and "corrupt" not in str(info.value)


# ------------------------------------------------------------------------------------------- SSRF guard

REFUSED = [
    pytest.param("http://127.0.0.1:8080/hook", {}, "loopback", id="ipv4-loopback"),
    pytest.param("http://[::1]/hook", {}, "loopback", id="ipv6-loopback"),
    pytest.param("http://10.1.2.3/hook", {}, "private", id="10-private"),
    pytest.param("http://172.16.0.1/hook", {}, "private", id="172.16-private"),
    pytest.param("http://172.31.255.254/hook", {}, "private", id="172.31-private"),
    pytest.param("https://192.168.1.10/hook", {}, "private", id="192.168-private"),
    pytest.param("http://169.254.169.254/latest/meta-data", {}, "link-local", id="169.254-metadata"),
    pytest.param("http://[fe80::1]/hook", {}, "link-local", id="ipv6-link-local"),
    pytest.param("http://[fc00::1]/hook", {}, "private", id="fc00-unique-local"),
    pytest.param("http://[fd12:3456::1]/hook", {}, "private", id="fd-unique-local"),
    pytest.param("http://[::ffff:10.0.0.1]/hook", {}, "10.0.0.1", id="ipv4-mapped-private"),
    pytest.param("http://[::ffff:127.0.0.1]/hook", {}, "127.0.0.1", id="ipv4-mapped-loopback"),
    pytest.param("http://[2002:a00:1::]/hook", {}, "10.0.0.1", id="6to4-private"),
    pytest.param("http://[64:ff9b::a00:1]/hook", {}, "10.0.0.1", id="nat64-private"),
    pytest.param("http://0.0.0.0/hook", {}, "unspecified", id="ipv4-unspecified"),
    pytest.param("http://[::]/hook", {}, "unspecified", id="ipv6-unspecified"),
    pytest.param("http://224.0.0.1/hook", {}, "multicast", id="multicast"),
    pytest.param("http://240.0.0.1/hook", {}, "reserved", id="reserved"),
    pytest.param("http://100.64.0.1/hook", {}, "not publicly routable", id="cgnat"),
    pytest.param("https://internal.example.org/hook", {"internal.example.org": ["10.0.0.5"]}, "10.0.0.5",
                 id="name-resolving-private"),
    pytest.param("https://sneaky.example.org/hook", {"sneaky.example.org": ["93.184.215.14", "127.0.0.1"]},
                 "127.0.0.1", id="any-address-private"),
    pytest.param("https://sneaky6.example.org/hook", {"sneaky6.example.org": ["93.184.215.14", "::ffff:192.168.0.1"]},
                 "192.168.0.1", id="any-address-mapped-private"),
]


@pytest.mark.parametrize(("url", "table", "says"), REFUSED)
async def test_ssrf_guard_refuses(url: str, table: dict[str, list[str]], says: str) -> None:
    with pytest.raises(ValueError, match="refusing webhook target") as info:
        await check_target(url, fake_resolver(table), allow_private=False)
    assert says in str(info.value)
    assert "WETWACHT_ALLOW_PRIVATE_WEBHOOKS" in str(info.value)


@pytest.mark.parametrize(("url", "table", "says"), REFUSED)
async def test_allow_private_lets_them_through(url: str, table: dict[str, list[str]], says: str) -> None:
    await check_target(url, fake_resolver(table), allow_private=True)


@pytest.mark.parametrize("url", [
    pytest.param("https://93.184.215.14/hook", id="public-ipv4-literal"),
    pytest.param("https://[2606:4700::6810:84e5]/hook", id="public-ipv6-literal"),
    pytest.param("https://hooks.example.org/wetwacht", id="public-name"),
    pytest.param("http://hooks.example.org:8443/wetwacht?x=1", id="public-name-port-query"),
])
async def test_ssrf_guard_allows_public(url: str) -> None:
    await check_target(url, fake_resolver(PUBLIC), allow_private=False)


@pytest.mark.parametrize(("url", "says"), [
    pytest.param("ftp://hooks.example.org/x", "http:// or https://", id="ftp"),
    pytest.param("file:///etc/passwd", "http:// or https://", id="file"),
    pytest.param("gopher://hooks.example.org/", "http:// or https://", id="gopher"),
    pytest.param("hooks.example.org/x", "http:// or https://", id="no-scheme"),
    pytest.param("http:///nohost", "no host", id="no-host"),
    pytest.param("http://hooks.example.org:99999/", "not a valid URL", id="bad-port"),
])
@pytest.mark.parametrize("allow_private", [False, True], ids=["strict", "allow-private"])
async def test_only_http_urls_with_a_host(url: str, says: str, allow_private: bool) -> None:
    with pytest.raises(ValueError, match=says):
        await check_target(url, fake_resolver(PUBLIC), allow_private=allow_private)


async def test_unresolvable_host_is_its_own_error() -> None:
    with pytest.raises(UnresolvableHost, match="does not resolve"):
        await check_target("https://nowhere.example.org/", fake_resolver({}), allow_private=False)
    with pytest.raises(UnresolvableHost):
        await check_target("https://empty.example.org/", fake_resolver({"empty.example.org": []}),
                           allow_private=True)


@pytest.mark.parametrize("url", [
    pytest.param("http://localhost/hook", id="localhost"),
    pytest.param("http://2130706433/hook", id="decimal-ipv4"),
    pytest.param("http://127.1/hook", id="short-ipv4"),
    pytest.param("http://0x7f000001/hook", id="hex-ipv4"),
])
async def test_system_resolver_sees_through_odd_spellings(url: str) -> None:
    """The real resolver (no network needed for these): numeric spellings still land on loopback."""
    with pytest.raises(ValueError, match="loopback"):
        await check_target(url, system_resolver, allow_private=False)


def test_refused_reason_public_is_none() -> None:
    assert refused_reason("93.184.215.14") is None
    assert refused_reason("2606:4700::6810:84e5") is None
    assert refused_reason("fe80::1%eth0") == "a link-local address"
    assert refused_reason("not-an-ip") is not None


@respx.mock
async def test_channel_refuses_private_target_without_a_request(client: httpx.AsyncClient, engine: Engine,
                                                                clock: FakeClock, secret: str) -> None:
    add_endpoint(engine, "ep_private00000000", "http://internal.example.org/hook", secret, clock())
    channel = make_channel(client, engine, clock, table={"internal.example.org": ["10.0.0.5"]})
    with pytest.raises(DeliveryError, match="private address") as info:
        await channel.send(attempt(recipient="ep_private00000000"))
    assert info.value.permanent
    assert not respx.calls  # nothing was sent


@respx.mock
async def test_channel_retries_when_dns_fails(client: httpx.AsyncClient, engine: Engine, clock: FakeClock) -> None:
    channel = make_channel(client, engine, clock, table={})
    with pytest.raises(DeliveryError, match="does not resolve") as info:
        await channel.send(attempt())
    assert not info.value.permanent


@respx.mock
async def test_allow_private_channel_sends_to_private_target(client: httpx.AsyncClient, engine: Engine,
                                                             clock: FakeClock, secret: str) -> None:
    add_endpoint(engine, "ep_private00000000", "http://10.0.0.5:8080/hook", secret, clock())
    route = respx.post("http://10.0.0.5:8080/hook").mock(return_value=httpx.Response(200))
    await make_channel(client, engine, clock, allow_private=True).send(attempt(recipient="ep_private00000000"))
    assert route.called


# ------------------------------------------------------------------------------------------- backoff


def test_first_retry_within_30_seconds(engine: Engine, clock: FakeClock) -> None:
    channel = WebhookChannel(httpx.AsyncClient(), engine, allow_private=False, rng=MaxRng(), clock=clock)
    assert channel.retry_delay(1) <= 30
    seeded = WebhookChannel(httpx.AsyncClient(), engine, allow_private=False, rng=random.Random(1), clock=clock)
    assert all(1.0 <= seeded.retry_delay(1) <= 30 for _ in range(1000))


@pytest.mark.parametrize(("n", "ceiling"), [(1, 5), (2, 10), (3, 20), (5, 80), (10, 2560), (11, 3600), (12, 3600),
                                            (50, 3600), (10_000, 3600)],
                         ids=lambda v: str(v))
def test_backoff_is_exponential_with_full_jitter_and_capped(engine: Engine, clock: FakeClock, n: int,
                                                            ceiling: float) -> None:
    top = WebhookChannel(httpx.AsyncClient(), engine, allow_private=False, rng=MaxRng(), clock=clock)
    assert top.retry_delay(n) == ceiling
    jittered = WebhookChannel(httpx.AsyncClient(), engine, allow_private=False, rng=random.Random(n), clock=clock)
    draws = [jittered.retry_delay(n) for _ in range(200)]
    assert all(1.0 <= d <= ceiling for d in draws)
    if ceiling > 10:
        assert min(draws) < ceiling / 2 < max(draws)  # spread over the range, not bunched at the top


@pytest.mark.parametrize(("elapsed", "attempt_no", "dead"), [
    (dt.timedelta(seconds=0), 1, False),
    (dt.timedelta(hours=1), 500, False),
    (dt.timedelta(hours=23, minutes=59, seconds=59), 30, False),
    (dt.timedelta(hours=24), 30, True),
    (dt.timedelta(days=3), 2, True),
], ids=["first", "many-tries-one-hour", "just-before-24h", "at-24h", "days-later"])
def test_gives_up_only_after_24_hours(engine: Engine, clock: FakeClock, elapsed: dt.timedelta, attempt_no: int,
                                      dead: bool) -> None:
    channel = WebhookChannel(httpx.AsyncClient(), engine, allow_private=False, clock=clock)
    first = dt.datetime(2027, 3, 2, 10, 15, tzinfo=dt.UTC)
    assert channel.gives_up(attempt_no, first, first + elapsed) is dead


def test_the_retry_schedule_keeps_trying_for_a_day(engine: Engine, clock: FakeClock) -> None:
    """Even drawing the slowest delays, a failing endpoint is tried many times before it is given up."""
    channel = WebhookChannel(httpx.AsyncClient(), engine, allow_private=False, rng=MaxRng(), clock=clock)
    first = clock()
    now, n = first, 1
    while not channel.gives_up(n, first, now):
        now += dt.timedelta(seconds=channel.retry_delay(n))
        n += 1
    assert n >= 30
    assert dt.timedelta(hours=24) <= now - first <= dt.timedelta(hours=25)


def test_repr_shows_no_secret(engine: Engine, clock: FakeClock) -> None:
    channel = WebhookChannel(httpx.AsyncClient(), engine, allow_private=False, clock=clock)
    assert "whsec_" not in repr(channel)
