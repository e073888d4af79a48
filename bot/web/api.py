"""The JSON API: `/api/commitments` and `/api/commitments/SLUG` in the shapes of `wetwacht commitments --json`
and `wetwacht show --json`, `/api/events?since=` in the shape of `wetwacht events --json` (CONTRACT.md), and its
OpenAPI description.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

from bot.cli import _promise_json
from bot.web.http import BadRequest
from bot.web.snapshot import Item
from storage.catalog_repo import HistoryItem
from storage.models import EventRow

JSON = "application/json"
_OFFSET_SPACE = re.compile(r"^(\d{4}-\d\d-\d\d[T ][\d:.,]+) (\d\d(?::?\d\d)?)$")


def dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def commitments_json(items: Sequence[Item]) -> list[dict[str, object]]:
    """`wetwacht commitments --json`."""
    return [i.view.summary() for i in items]


def commitment_json(item: Item, events: Sequence[EventRow], past: Sequence[HistoryItem]) -> dict[str, object]:
    """`wetwacht show SLUG --json`."""
    timeline = [e.payload | {"status": e.status} for e in events]
    return item.view.summary() | {"promises": _promise_json(item.view), "timeline": timeline,
                                  "history": [h.as_json() for h in past]}


def parse_since(value: str | None) -> dt.datetime | None:
    """`since` as `wetwacht events --since` reads it: an ISO date or date-time, UTC when it names no zone."""
    if value is None:
        return None
    # An unencoded "+01:00" in a query string arrives as " 01:00": take it for what was meant.
    value = _OFFSET_SPACE.sub(r"\1+\2", value)
    try:
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise BadRequest(f"since: {value!r} is geen ISO-datum of -tijdstip",
                         f"since: {value!r} is not an ISO date or date-time (e.g. 2026-11-20 or 2026-11-20T10:15:00Z)",
                         "since") from None


def error_json(status: int, code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": code, "status": status, "message": message, **extra}


# ------------------------------------------------------------------------------------------ OpenAPI

_DOCUMENT = {
    "type": "object",
    "required": ["source", "id", "title", "type"],
    "properties": {
        "source": {"type": "string", "description": "tk (Tweede Kamer) or ob (officielebekendmakingen.nl), ..."},
        "id": {"type": "string"}, "kst": {"type": ["string", "null"]}, "title": {"type": "string"},
        "type": {"type": "string"}, "dossier": {"type": ["string", "null"]}, "url": {"type": ["string", "null"]},
        "date": {"type": ["string", "null"], "format": "date"},
    },
}
_EVENT = {
    "type": "object",
    "required": ["id", "type", "commitment", "stage", "documents", "reason", "detected_at"],
    "properties": {
        "id": {"type": "string", "pattern": "^evt_", "description": "stable: the same event always has the same id"},
        "type": {"type": "string", "enum": ["commitment.stage", "commitment.document", "commitment.overdue"]},
        "commitment": {"type": "object", "required": ["slug", "title"],
                       "properties": {"slug": {"type": "string"}, "title": {"type": "string"}}},
        "stage": {"type": ["string", "null"], "description": "for commitment.overdue: the promised stage"},
        "documents": {"type": "array", "items": {"$ref": "#/components/schemas/Document"}},
        "reason": {"type": "string"},
        "detected_at": {"type": "string", "format": "date-time"},
        "promise": {"type": "object", "description": "commitment.overdue only: the promise that was not kept"},
    },
}
_COMMITMENT = {
    "type": "object",
    "required": ["slug", "title", "kind", "ministry", "stage", "due", "overdue", "dossiers"],
    "properties": {
        "slug": {"type": "string"}, "title": {"type": "string"}, "kind": {"type": "string"},
        "ministry": {"type": "string"},
        "stage": {"type": ["string", "null"], "description": "furthest stage reached, or null"},
        "due": {"type": ["string", "null"], "format": "date",
                "description": "deadline of the latest promise, or null"},
        "overdue": {"type": "boolean"},
        "dossiers": {"type": "array", "items": {"type": "string"}},
    },
}
_PROMISE = {
    "type": "object",
    "required": ["letter", "line", "quote", "as_written", "due", "stage"],
    "properties": {
        "letter": {"type": "string", "description": "seed file name of the letter"},
        "line": {"type": ["integer", "null"]}, "quote": {"type": "string"},
        "as_written": {"type": ["string", "null"]}, "due": {"type": ["string", "null"], "format": "date"},
        "open_ended": {"type": "boolean"}, "stage": {"type": "string"}, "kept": {"type": "boolean"},
        "overdue": {"type": "boolean"},
    },
}
_DETAIL = {
    "allOf": [
        {"$ref": "#/components/schemas/Commitment"},
        {"type": "object", "required": ["promises", "timeline", "history"], "properties": {
            "promises": {"type": "array", "items": {"$ref": "#/components/schemas/Promise"}},
            "timeline": {"type": "array", "items": {"allOf": [
                {"$ref": "#/components/schemas/Event"},
                {"type": "object", "required": ["status"],
                 "properties": {"status": {"type": "string", "enum": ["published", "retracted"]}}}]}},
            "history": {"type": "array", "description": "what the record held before wetwacht followed it",
                        "items": {"$ref": "#/components/schemas/HistoryItem"}},
        }},
    ],
}
_HISTORY = {
    "type": "object",
    "required": ["date", "stage", "source", "id", "type", "title", "url", "dossier"],
    "properties": {
        "date": {"type": ["string", "null"], "format": "date"}, "stage": {"type": ["string", "null"]},
        "source": {"type": "string"}, "id": {"type": "string"}, "type": {"type": "string"},
        "title": {"type": "string"}, "url": {"type": ["string", "null"]}, "dossier": {"type": ["string", "null"]},
    },
}
_ERROR = {
    "type": "object",
    "required": ["error", "status", "message"],
    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}, "message": {"type": "string"},
                   "parameter": {"type": "string"}, "suggestions": {"type": "array", "items": {"type": "string"}}},
}


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}},
            "headers": {"ETag": {"$ref": "#/components/headers/ETag"},
                        "Last-Modified": {"$ref": "#/components/headers/Last-Modified"}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}}


_CONDITIONAL = [
    {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "an ETag of an earlier answer: 304 when nothing changed"},
    {"name": "If-Modified-Since", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "the Last-Modified of an earlier answer: 304 when nothing changed since"},
]
_NOT_MODIFIED = {"description": "Not Modified: the answer you have is still current"}


def openapi(version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the API."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wetwacht API",
            "version": version,
            "description": ("De toezeggingen van het kabinet, hun stand en de gebeurtenissen die wetwacht zag, als "
                            "JSON; alleen lezen, zonder sleutel. De vormen zijn die van de opdrachtregel "
                            "(wetwacht commitments/show/events --json)."),
            "license": {"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
        },
        "paths": {
            "/api/commitments": {"get": {
                "operationId": "listCommitments",
                "summary": "Alle toezeggingen: kenmerk, titel, soort, ministerie, bereikte fase, termijn, te laat.",
                "parameters": _CONDITIONAL,
                "responses": {
                    "200": _json_response("de toezeggingen, in catalogusvolgorde",
                                          {"type": "array", "items": {"$ref": "#/components/schemas/Commitment"}}),
                    "304": _NOT_MODIFIED,
                },
            }},
            "/api/commitments/{slug}": {"get": {
                "operationId": "getCommitment",
                "summary": "Eén toezegging met haar beloften (brief, regel, citaat, termijn) en haar tijdlijn.",
                "parameters": [
                    {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"},
                     "description": "het kenmerk van de toezegging, bijvoorbeeld lobbyregister"},
                    *_CONDITIONAL,
                ],
                "responses": {
                    "200": _json_response("de toezegging", {"$ref": "#/components/schemas/CommitmentDetail"}),
                    "304": _NOT_MODIFIED,
                    "404": _error("geen toezegging met dit kenmerk (met suggesties)"),
                },
            }},
            "/api/events": {"get": {
                "operationId": "listEvents",
                "summary": "De gebeurtenissen, oudste eerst; met since alleen die vanaf dat moment.",
                "parameters": [
                    {"name": "since", "in": "query", "required": False, "schema": {"type": "string"},
                     "description": "ISO-datum of -tijdstip (UTC als er geen zone bij staat), bijvoorbeeld "
                                    "2026-11-20 of 2026-11-20T10:15:00Z"},
                    *_CONDITIONAL,
                ],
                "responses": {
                    "200": _json_response("de gebeurtenissen",
                                          {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}),
                    "304": _NOT_MODIFIED,
                    "400": _error("since is geen ISO-datum of -tijdstip"),
                },
            }},
        },
        "components": {
            "schemas": {"Commitment": _COMMITMENT, "CommitmentDetail": _DETAIL, "Promise": _PROMISE,
                        "Event": _EVENT, "Document": _DOCUMENT, "HistoryItem": _HISTORY,
                        "Error": _ERROR},
            "headers": {
                "ETag": {"description": "validator of this answer", "schema": {"type": "string"}},
                "Last-Modified": {"description": "when this answer was last changed", "schema": {"type": "string"}},
            },
        },
    }
