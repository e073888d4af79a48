"""The JSON API: the shapes of `wetwacht commitments/show/events --json` to the letter (compared with the
command line on the same database), clear 404 and 400 bodies, ETag and Last-Modified with 304 answers, and an
OpenAPI description that is valid and that the answers follow."""

from __future__ import annotations

import email.utils
import io
import json
from typing import Any

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate

from bot.cli import main
from tests.web.world import HOSTILE_SLUG, TODAY, World


def cli(world: World, monkeypatch: pytest.MonkeyPatch, *argv: str) -> Any:
    monkeypatch.setenv("WETWACHT_DATABASE_URL", world.url)
    out, err = io.StringIO(), io.StringIO()
    assert main(list(argv), today=lambda: TODAY, out=out, err=err) == 0, err.getvalue()
    return json.loads(out.getvalue())


async def test_commitments_are_the_cli_json(client: httpx.AsyncClient, world: World,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    response = await client.get("/api/commitments")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.json() == cli(world, monkeypatch, "commitments", "--json")


@pytest.mark.parametrize("slug", ["wet-politieke-partijen", "lobbyregister", HOSTILE_SLUG, "vereenvoudigingswet"])
async def test_one_commitment_is_the_cli_show_json(client: httpx.AsyncClient, world: World,
                                                   monkeypatch: pytest.MonkeyPatch, slug: str) -> None:
    response = await client.get(f"/api/commitments/{slug}")
    assert response.status_code == 200
    assert response.json() == cli(world, monkeypatch, "show", slug, "--json")


@pytest.mark.parametrize("since", [None, "2026-06-15", "2026-11-02T10:00:00Z", "2026-11-02T11:00:00+01:00",
                                   "2026-11-02T10:00:01", "2030-01-01"])
async def test_events_are_the_cli_events_json(client: httpx.AsyncClient, world: World,
                                              monkeypatch: pytest.MonkeyPatch, since: str | None) -> None:
    response = await client.get("/api/events", params={"since": since} if since else None)
    assert response.status_code == 200
    argv = ("events", "--json", *(("--since", since) if since else ()))
    assert response.json() == cli(world, monkeypatch, *argv)


async def test_an_unencoded_plus_in_since_means_an_offset(client: httpx.AsyncClient) -> None:
    plain = await client.get("/api/events?since=2026-11-02T11:00:00+01:00")  # '+' arrives as a space
    encoded = await client.get("/api/events", params={"since": "2026-11-02T11:00:00+01:00"})
    assert plain.status_code == 200 and plain.json() == encoded.json() and len(plain.json()) == 3


async def test_unknown_slug_is_a_404_with_suggestions(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/commitments/lobbyregistr")
    assert response.status_code == 404 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == "not_found" and body["status"] == 404
    assert body["message"] == "no commitment with slug 'lobbyregistr'" and body["suggestions"][0] == "lobbyregister"
    assert (await client.get("/api/nothing-here")).json()["error"] == "not_found"


@pytest.mark.parametrize("since", ["gisteren", "2026-13-01", "2026-11-20T25:00", "", "0001-01-01T00:00:00+01:00",
                                   "9999-12-31T23:59:59-23:59", "2026-11-20%00", "2026-11-20'; DROP TABLE event;--"])
async def test_bad_since_is_a_400_naming_it(client: httpx.AsyncClient, since: str) -> None:
    response = await client.get(f"/api/events?since={since}")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "bad_request" and body["status"] == 400
    assert body["parameter"] == "since" and body["message"].startswith("since: ")
    assert "Traceback" not in response.text


@pytest.mark.parametrize("path", ["/api/commitments", "/api/commitments/lobbyregister", "/api/events",
                                  "/api/events?since=2026-01-01", "/feed.atom", "/termijnen.ics", "/",
                                  "/toezegging/lobbyregister", "/api/openapi.json"])
async def test_conditional_requests_get_304(client: httpx.AsyncClient, path: str) -> None:
    first = await client.get(path)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('"') and email.utils.parsedate_to_datetime(modified)
    again = await client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert (await client.get(path, headers={"If-None-Match": f'W/{etag}, "other"'})).status_code == 304
    assert (await client.get(path, headers={"If-Modified-Since": modified})).status_code == 304
    assert (await client.get(path, headers={"If-None-Match": '"stale"'})).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110).
    assert (await client.get(path, headers={"If-None-Match": '"stale"', "If-Modified-Since": modified})).status_code \
        == 200
    assert (await client.get(path, headers={"If-Modified-Since": "Thu, 01 Jan 2015 00:00:00 GMT"})).status_code \
        == 200
    assert (await client.get(path, headers={"If-Modified-Since": "no date"})).status_code == 200


async def test_the_api_is_open_to_other_sites(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/commitments")
    assert response.headers["access-control-allow-origin"] == "*"


async def test_openapi_is_valid_and_the_answers_follow_it(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    validate(spec)
    assert set(spec["paths"]) == {"/api/commitments", "/api/commitments/{slug}", "/api/events"}

    def check(instance: Any, ref: str) -> None:
        schema = {"$ref": ref, "components": spec["components"]}
        jsonschema.validate(instance, schema, cls=jsonschema.Draft202012Validator)

    for item in (await client.get("/api/commitments")).json():
        check(item, "#/components/schemas/Commitment")
    for slug in ("wet-politieke-partijen", HOSTILE_SLUG):
        check((await client.get(f"/api/commitments/{slug}")).json(), "#/components/schemas/CommitmentDetail")
    for event in (await client.get("/api/events")).json():
        check(event, "#/components/schemas/Event")
    check((await client.get("/api/commitments/x")).json(), "#/components/schemas/Error")
    check((await client.get("/api/events?since=x")).json(), "#/components/schemas/Error")
    docs = await client.get("/api")
    assert docs.status_code == 200 and "/api/openapi.json" in docs.text and "since" in docs.text
