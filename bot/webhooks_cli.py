"""`wetwacht webhook add|list|remove|replay` (CONTRACT.md "Command line", "Webhooks").

Each command is a function `(engine, its arguments, out, err, now) -> exit code`; `register`
(`bot.cliargs.register_webhook`) adds the `webhook` command to the CLI's sub-parsers and `dispatch` runs the
parsed one. Exit codes as the CLI's: 0 done,
1 the work failed (no such endpoint), 2 bad usage (a bad URL, an unknown commitment slug).

The secret is printed once, by `add`; nothing else prints or logs it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import secrets
from collections.abc import Iterable, Sequence
from difflib import get_close_matches
from typing import Any, TextIO

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.channels.webhook import Resolver, UnresolvableHost, check_target, new_secret, system_resolver
from bot.config import Settings
from storage.db import session_scope
from storage.models import CommitmentRow, DeliveryRow, EndpointRow, EventRow

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
CHANNEL = "webhook"


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if moment else None


def _suggest(value: str, known: Iterable[str]) -> str:
    close = get_close_matches(value, sorted(known), n=3, cutoff=0.5)
    return f"; did you mean {', '.join(close)}?" if close else ""


# ------------------------------------------------------------------------------------------- add


def webhook_add(engine: Engine, url: str, commitments: Sequence[str], known_slugs: Iterable[str],
                allow_private: bool, resolver: Resolver, out: TextIO, err: TextIO, now: dt.datetime) -> int:
    """Register an endpoint for `url`, for the events of `commitments` (none: every commitment). Prints its
    id and its secret, the only time the secret is shown."""
    url = url.strip()
    try:
        asyncio.run(check_target(url, resolver, allow_private))
    except UnresolvableHost as exc:
        err.write(f"webhook add: {exc}; check the URL (the host must resolve now)\n")
        return EXIT_USAGE
    except ValueError as exc:
        err.write(f"webhook add: {exc}\n")
        return EXIT_USAGE

    with session_scope(engine) as session:
        known = set(known_slugs) | set(session.exec(select(CommitmentRow.slug)).all())
        wanted = list(dict.fromkeys(s.strip() for s in commitments if s.strip()))
        unknown = [s for s in wanted if s not in known]
        if unknown:
            for slug in unknown:
                err.write(f"webhook add: unknown commitment slug {slug!r}{_suggest(slug, known)}\n")
            err.write("webhook add: `wetwacht commitments` lists every slug\n")
            return EXIT_USAGE
        endpoint = EndpointRow(id=f"ep_{secrets.token_hex(8)}", url=url, secret=new_secret(), commitments=wanted,
                               created_at=now, active=True)
        session.add(endpoint)
        same_url = session.exec(select(EndpointRow.id).where(EndpointRow.url == url,
                                                             col(EndpointRow.active))).all()
    out.write(f"id: {endpoint.id}\nsecret: {endpoint.secret}\n")
    scope = ", ".join(wanted) if wanted else "every commitment"
    err.write(f"webhook {endpoint.id} posts to {url} for {scope}; keep the secret, it is not shown again. It "
              f"receives events detected from now on; older ones: wetwacht webhook replay {endpoint.id} "
              "--since DATE\n")
    others = [i for i in same_url if i != endpoint.id]
    if others:
        err.write(f"note: {', '.join(others)} already post(s) to this URL\n")
    return EXIT_OK


# ------------------------------------------------------------------------------------------- list


def endpoint_health(engine: Engine) -> list[dict[str, Any]]:
    """Every endpoint with its health and its outbox counts; never the secret."""
    with session_scope(engine) as session:
        endpoints = session.exec(select(EndpointRow).order_by(col(EndpointRow.created_at), col(EndpointRow.id))).all()
        counts: dict[tuple[str, str], int] = {}
        rows = session.exec(
            select(DeliveryRow.recipient, DeliveryRow.status, func.count())
            .where(DeliveryRow.channel == CHANNEL, col(DeliveryRow.status).in_(("pending", "dead")))
            .group_by(col(DeliveryRow.recipient), col(DeliveryRow.status))
        ).all()
        for recipient, status, n in rows:
            counts[(recipient, status)] = int(n)
    return [
        {"id": ep.id, "url": ep.url, "commitments": list(ep.commitments), "active": ep.active,
         "created": _iso(ep.created_at), "last_success": _iso(ep.last_success_at),
         "last_failure": _iso(ep.last_failure_at), "consecutive_failures": ep.consecutive_failures,
         "last_error": ep.last_error, "pending": counts.get((ep.id, "pending"), 0),
         "dead": counts.get((ep.id, "dead"), 0)}
        for ep in endpoints
    ]


def webhook_list(engine: Engine, as_json: bool, out: TextIO, err: TextIO, now: dt.datetime) -> int:
    """Each endpoint: id, URL, filter, active, created, last success, consecutive failures, last error, dead
    and pending deliveries."""
    items = endpoint_health(engine)
    if as_json:
        json.dump(items, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return EXIT_OK
    if not items:
        out.write("no webhook endpoints; add one with: wetwacht webhook add URL [--commitment SLUG]...\n")
        return EXIT_OK
    for i in items:
        state = "active" if i["active"] else "removed"
        out.write(f"{i['id']}  {state}  {i['url']}\n")
        out.write(f"    commitments: {', '.join(i['commitments']) if i['commitments'] else 'all'}\n")
        out.write(f"    created {i['created']}, last success {i['last_success'] or 'never'}, "
                  f"{i['consecutive_failures']} consecutive failures\n")
        out.write(f"    deliveries: {i['pending']} pending, {i['dead']} dead\n")
        if i["last_error"]:
            out.write(f"    last error ({i['last_failure']}): {i['last_error']}\n")
    unhealthy = sum(1 for i in items if i["active"] and (i["dead"] or i["consecutive_failures"]))
    err.write(f"{len(items)} endpoints, {sum(i['active'] for i in items)} active, {unhealthy} failing or with "
              "dead deliveries\n")
    return EXIT_OK


# ------------------------------------------------------------------------------------------- remove


def _unknown(engine: Engine, command: str, endpoint_id: str, err: TextIO) -> int:
    with session_scope(engine) as session:
        known = session.exec(select(EndpointRow.id)).all()
    err.write(f"webhook {command}: no webhook endpoint with id {endpoint_id!r}{_suggest(endpoint_id, known)}\n")
    return EXIT_FAILED


def webhook_remove(engine: Engine, endpoint_id: str, out: TextIO, err: TextIO, now: dt.datetime) -> int:
    """Deactivate the endpoint and skip its pending deliveries; its history stays."""
    found = was_active = False
    pending: Sequence[DeliveryRow] = []
    with session_scope(engine) as session:
        ep = session.get(EndpointRow, endpoint_id)
        if ep is not None:
            found, was_active = True, ep.active
            ep.active = False
            session.add(ep)
            pending = session.exec(select(DeliveryRow).where(
                DeliveryRow.channel == CHANNEL, DeliveryRow.recipient == endpoint_id,
                DeliveryRow.status == "pending")).all()
            for row in pending:
                row.status = "skipped"
                row.last_error = f"endpoint removed at {_iso(now)}"
                session.add(row)
    if not found:
        return _unknown(engine, "remove", endpoint_id, err)
    if not was_active:
        out.write(f"{endpoint_id} was already removed; {len(pending)} pending deliveries skipped\n")
    else:
        out.write(f"removed {endpoint_id}; {len(pending)} pending deliveries skipped, its history is kept\n")
    return EXIT_OK


# ------------------------------------------------------------------------------------------- replay


def webhook_replay(engine: Engine, endpoint_id: str, since: dt.datetime, out: TextIO, err: TextIO,
                   now: dt.datetime) -> int:
    """Queue again every published event detected since `since` that the endpoint's filter wants: a new
    outbox row where there was none, a reset one (pending, due now, attempts 0) where there was. The
    webhook-id is the event id, so a receiver that has one already can drop the repeat."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    with session_scope(engine) as session:
        ep = session.get(EndpointRow, endpoint_id)
        found, active = ep is not None, ep is not None and ep.active
        created = reset = 0
        if ep is not None and ep.active:
            query = select(EventRow).where(EventRow.status == "published", col(EventRow.detected_at) >= since)
            if ep.commitments:
                query = query.where(col(EventRow.slug).in_(list(ep.commitments)))
            events = session.exec(query.order_by(col(EventRow.detected_at), col(EventRow.id))).all()
            for event in events:
                row = session.exec(select(DeliveryRow).where(
                    DeliveryRow.event_id == event.id, DeliveryRow.channel == CHANNEL,
                    DeliveryRow.recipient == endpoint_id)).first()
                if row is None:
                    session.add(DeliveryRow(event_id=event.id, channel=CHANNEL, recipient=endpoint_id,
                                            status="pending", next_attempt_at=now, created_at=now))
                    created += 1
                    continue
                row.status = "pending"
                row.attempts = 0
                row.next_attempt_at = now
                # The outbox counts the 24 hours of retries from `created_at`: a replay starts them afresh.
                row.created_at = now
                row.claimed_until = None
                row.claimed_by = None
                row.last_error = None
                row.sent_at = None
                session.add(row)
                reset += 1
    if not found:
        return _unknown(engine, "replay", endpoint_id, err)
    if not active:
        err.write(f"webhook replay: {endpoint_id} was removed; add the URL again to receive events\n")
        return EXIT_FAILED
    out.write(f"replay: {created + reset} events queued for {endpoint_id} ({created} new, {reset} again) since "
              f"{_iso(since)}; `wetwacht deliver` (or `run`) sends them\n")
    return EXIT_OK


# ------------------------------------------------------------------------------------------- dispatch


def dispatch(args: argparse.Namespace, engine: Engine, catalog_slugs: Iterable[str], settings: Settings,
             out: TextIO, err: TextIO, now: dt.datetime, resolver: Resolver = system_resolver) -> int:
    """Run the parsed `webhook` sub-command."""
    command = args.webhook_command
    if command == "add":
        return webhook_add(engine, args.url, args.commitments, catalog_slugs, settings.allow_private_webhooks,
                           resolver, out, err, now)
    if command == "list":
        return webhook_list(engine, bool(getattr(args, "json", False)), out, err, now)
    if command == "remove":
        return webhook_remove(engine, args.id, out, err, now)
    if command == "replay":
        return webhook_replay(engine, args.id, args.since, out, err, now)
    raise ValueError(f"unknown webhook command {command!r}; allowed: add, list, remove, replay")
