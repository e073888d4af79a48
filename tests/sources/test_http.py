"""sources.http.fetch: retries, backoff with jitter, Retry-After, and what fails at once."""

from __future__ import annotations

import datetime as dt
import random

import httpx
import pytest
import respx

from sources.base import FetchError
from sources.http import USER_AGENT, backoff_delay, fetch, retry_after_seconds
from tests.sources.helpers import Sleeps

URL = "https://repository.overheid.nl/sru"
HTML_503 = b"<html><head><title>503 Service Unavailable</title></head><body>Service Unavailable</body></html>"


def test_user_agent_names_wetwacht_and_its_readme() -> None:
    assert USER_AGENT.startswith("wetwacht/")
    assert "https://github.com/wetwacht/wetwacht#readme" in USER_AGENT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("Mon, 04 May 2026 08:00:30 GMT", 30.0),
        ("Mon, 04 May 2026 07:59:00 GMT", 0.0),  # in the past: go now
        ("soon", None),
    ],
    ids=["absent", "empty", "seconds", "padded", "fraction", "negative", "http-date", "past-date", "garbage"],
)
def test_retry_after_forms(value: str | None, expected: float | None) -> None:
    now = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)
    assert retry_after_seconds(value, now=now) == expected


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(k, base_delay=2.0, max_delay=20.0, rng=rng) for k in range(6)]
    ceilings = [2.0, 4.0, 8.0, 16.0, 20.0, 20.0]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == len(delays)  # jittered, not a fixed ladder


@respx.mock
async def test_429_honours_retry_after_seconds() -> None:
    route = respx.get(URL).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "7"}, text="Too Many Requests"),
        httpx.Response(200, text="<ok/>"),
    ])
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        response = await fetch(client, URL, params={"query": "x"}, sleep=sleeps)
    assert response.text == "<ok/>"
    assert route.call_count == 2
    assert sleeps.calls == [7.0]


@respx.mock
async def test_429_with_http_date_is_measured_against_the_servers_date() -> None:
    respx.get(URL).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "Mon, 04 May 2026 08:01:00 GMT",
                                     "Date": "Mon, 04 May 2026 08:00:15 GMT"}),
        httpx.Response(200, text="<ok/>"),
    ])
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        await fetch(client, URL, sleep=sleeps)
    assert sleeps.calls == [45.0]


@respx.mock
async def test_retry_after_is_capped_by_max_delay() -> None:
    respx.get(URL).mock(side_effect=[httpx.Response(429, headers={"Retry-After": "86400"}),
                                     httpx.Response(200, text="<ok/>")])
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        await fetch(client, URL, sleep=sleeps, max_delay=120.0)
    assert sleeps.calls == [120.0]


@respx.mock
async def test_503_with_html_body_is_retried_with_backoff() -> None:
    route = respx.get(URL).mock(side_effect=[
        httpx.Response(503, content=HTML_503, headers={"Content-Type": "text/html"}),
        httpx.Response(503, content=HTML_503, headers={"Content-Type": "text/html"}),
        httpx.Response(200, text="<ok/>"),
    ])
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        response = await fetch(client, URL, sleep=sleeps, base_delay=2.0, rng=random.Random(3))
    assert response.status_code == 200
    assert route.call_count == 3
    assert len(sleeps.calls) == 2
    assert 1.0 <= sleeps.calls[0] <= 2.0
    assert 2.0 <= sleeps.calls[1] <= 4.0


@respx.mock
async def test_persistent_5xx_raises_fetch_error_after_the_retries() -> None:
    route = respx.get(URL).mock(return_value=httpx.Response(503, content=HTML_503))
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        with pytest.raises(FetchError) as caught:
            await fetch(client, URL, params={"query": "a b"}, sleep=sleeps, retries=3)
    assert route.call_count == 4
    assert len(sleeps.calls) == 3
    assert caught.value.status == 503
    assert caught.value.url == "https://repository.overheid.nl/sru?query=a+b"
    assert "after 4 attempts" in str(caught.value)
    assert "HTTP 503" in str(caught.value)


@respx.mock
async def test_a_hanging_response_times_out_and_is_retried() -> None:
    route = respx.get(URL).mock(side_effect=[httpx.ReadTimeout("read timed out"), httpx.Response(200, text="<ok/>")])
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        response = await fetch(client, URL, sleep=sleeps)
    assert response.text == "<ok/>"
    assert route.call_count == 2
    assert len(sleeps.calls) == 1


@respx.mock
async def test_timeouts_every_time_raise_fetch_error_without_status() -> None:
    respx.get(URL).mock(side_effect=httpx.ReadTimeout("read timed out"))
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        with pytest.raises(FetchError) as caught:
            await fetch(client, URL, sleep=sleeps, retries=2)
    assert caught.value.status is None
    assert "timed out (ReadTimeout)" in str(caught.value)
    assert len(sleeps.calls) == 2


@respx.mock
async def test_connection_errors_are_retried() -> None:
    respx.get(URL).mock(side_effect=[httpx.ConnectError("refused"), httpx.RemoteProtocolError("closed mid-body"),
                                     httpx.Response(200, text="<ok/>")])
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        response = await fetch(client, URL, sleep=sleeps)
    assert response.status_code == 200
    assert len(sleeps.calls) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410], ids=str)
@respx.mock
async def test_other_4xx_fail_at_once(status: int) -> None:
    route = respx.get(URL).mock(return_value=httpx.Response(status))
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        with pytest.raises(FetchError) as caught:
            await fetch(client, URL, sleep=sleeps)
    assert route.call_count == 1
    assert sleeps.calls == []
    assert caught.value.status == status


@respx.mock
async def test_a_configuration_error_is_not_retried() -> None:
    respx.get(URL).mock(side_effect=httpx.UnsupportedProtocol("no such scheme"))
    sleeps = Sleeps()
    async with httpx.AsyncClient() as client:
        with pytest.raises(FetchError):
            await fetch(client, URL, sleep=sleeps)
    assert sleeps.calls == []
