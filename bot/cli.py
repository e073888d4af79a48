"""The `wetwacht` command line (CONTRACT.md "Command line"). `python -m bot` is the same.

Exit codes: 0 success; 1 the work failed (`show`: no such slug); 2 bad configuration or usage.
`--json` prints one JSON document on stdout and nothing else there; messages go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from bot.cliargs import iso_datetime, register_webhook

# Every command imports what it needs when it runs: `wetwacht --help` and the read-only commands must not pay for
# the matcher, the sources, Telegram and the web server (see `python -m bench cli`).
if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.app import Context
    from bot.config import Settings
    from bot.delivery import DeliverStats
    from bot.pipeline import PollResult
    from matchers.catalog import Catalog
    from storage.catalog_repo import CommitmentView

log = logging.getLogger("wetwacht")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
Today = Callable[[], dt.date]


class UsageError(Exception):
    """Bad usage or configuration: exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 itself; keep the message on one line
        self.print_usage(sys.stderr)
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="wetwacht", description="Holds the Dutch cabinet to its own promises.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("run", help="poll on schedule, run the Telegram bot and deliver alerts until SIGINT/SIGTERM")
    sub.add_parser("poll", help="one poll of every source, match, queue and deliver; exit 1 if a source failed")
    sub.add_parser("deliver", help="send every delivery that is due now")

    p = sub.add_parser("commitments", help="the catalog: slug, title, kind, stage reached, due date, overdue")
    p.add_argument("--json", action="store_true", help="one JSON array on stdout")

    p = sub.add_parser("show", help="one commitment: its promises and its evidence timeline")
    p.add_argument("slug")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")

    p = sub.add_parser("events", help="detected events, oldest first")
    p.add_argument("--json", action="store_true")
    p.add_argument("--since", type=iso_datetime,
                   help="only events detected at or after this ISO date/time")

    register_webhook(sub)

    sub.add_parser("web", help="serve the public site, feeds, calendars and JSON API (read-only) until SIGINT/SIGTERM")

    p = sub.add_parser("sources", help="each source: cursor, last success, consecutive failures, last error")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("catalog", help="catalog maintenance")
    csub = p.add_subparsers(dest="catalog_command", required=True, parser_class=_Parser)
    check = csub.add_parser("check", help="validate every catalog file against the seed letters")
    check.add_argument("--json", action="store_true", help="counts per letter and per kind as JSON")
    return parser


# ------------------------------------------------------------------------------------------- commands


def _load_catalog() -> Catalog:
    from matchers.catalog import load_catalog

    return load_catalog()


class App:
    """What a command needs: settings, the database (migrated, catalog synced) and the clock. The catalog files
    are read only when they changed since the last sync, or when a command needs the catalog itself."""

    def __init__(self, settings: Settings, today: Today, out: TextIO, err: TextIO,
                 catalog: Catalog | None = None) -> None:
        from storage.catalog_repo import sync_if_changed
        from storage.db import make_engine, migrate, session_scope, utcnow

        self.settings = settings
        self.today = today
        self.out = out
        self.err = err
        self.engine: Engine = make_engine(settings.database_url)
        migrate(self.engine)
        self._catalog = catalog
        with session_scope(self.engine) as session:
            loaded = sync_if_changed(session, lambda: self._catalog or _load_catalog(), utcnow())
        self._catalog = self._catalog or loaded

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = _load_catalog()
        return self._catalog

    def print_json(self, value: object) -> None:
        json.dump(value, self.out, ensure_ascii=False, indent=2)
        self.out.write("\n")


def cmd_commitments(app: App, args: argparse.Namespace) -> int:
    from storage.catalog_repo import commitment_views
    from storage.db import session_scope

    with session_scope(app.engine) as session:
        views = commitment_views(session, app.today())
    if args.json:
        app.print_json([v.summary() for v in views])
        return EXIT_OK
    width = max((len(v.slug) for v in views), default=4)
    for v in views:
        stage = v.stage.value if v.stage else "-"
        due = v.due.isoformat() if v.due else "-"
        flag = "TE LAAT" if v.overdue else ""
        app.out.write(f"{v.slug:<{width}}  {v.kind:<17} {stage:<13} {due:<10}  {flag:<7}  {v.title}\n")
    overdue = sum(v.overdue for v in views)
    app.err.write(f"{len(views)} commitments, {overdue} overdue\n")
    return EXIT_OK


def _promise_json(view: CommitmentView) -> list[dict[str, object]]:
    return [
        {"letter": p.letter, "line": p.line, "quote": p.quote, "as_written": p.as_written,
         "due": p.due.isoformat() if p.due else None, "open_ended": p.open_ended, "stage": p.stage.value,
         "kept": p.kept, "overdue": p.overdue}
        for p in view.promises
    ]


def cmd_show(app: App, args: argparse.Namespace) -> int:
    from sqlmodel import col, select

    from matchers.stages import DUTCH, Stage
    from storage.catalog_repo import commitment_views, history
    from storage.db import session_scope
    from storage.models import EventRow

    with session_scope(app.engine) as session:
        views = commitment_views(session, app.today(), slugs=[args.slug])
        if not views:
            known = [v.slug for v in commitment_views(session, app.today())]
            app.err.write(f"no commitment with slug {args.slug!r}{_suggest(args.slug, known)}\n")
            return EXIT_FAILED
        events = session.exec(
            select(EventRow).where(EventRow.slug == args.slug, col(EventRow.status).in_(("published", "retracted")))
            .order_by(col(EventRow.detected_at), col(EventRow.id))
        ).all()
        past = history(session, args.slug)
    view = views[0]
    timeline = [e.payload | {"status": e.status} for e in events]
    if args.json:
        app.print_json(view.summary() | {"promises": _promise_json(view), "timeline": timeline,
                                         "history": [h.as_json() for h in past]})
        return EXIT_OK
    out = app.out
    out.write(f"{view.title}\n  slug: {view.slug}   soort: {view.kind}   ministerie: {view.ministry}\n")
    out.write(f"  stadium: {DUTCH[view.stage] if view.stage else 'nog niets gezien'}\n")
    if view.dossiers:
        out.write(f"  dossiers: {', '.join(view.dossiers)}\n")
    late = "  (TE LAAT)" if view.overdue else ""
    out.write(f"  deadline: {view.due.isoformat() if view.due else 'geen datum'}{late}\n")
    out.write("\nBeloften:\n")
    for p in view.promises:
        when = p.as_written or "geen termijn"
        state = "gehouden" if p.kept else ("te laat" if p.overdue else "open")
        out.write(f"  - {p.letter} r.{p.line}: {when} → {DUTCH[p.stage]} [{state}]\n    “{p.quote}”\n")
    out.write("\nGeschiedenis (wat het record al liet zien voordat wetwacht het volgde):\n")
    if not past:
        out.write("  (niets gevonden)\n")
    for h in past:
        when = h.date.isoformat() if h.date else "zonder datum"
        stage_text = f"  → {DUTCH[h.stage]}" if h.stage else ""
        out.write(f"  {when}  {h.id}  {h.kind}{stage_text}\n      {h.title}  {h.url or ''}\n")
    out.write("\nTijdlijn:\n")
    if not timeline:
        out.write("  (nog geen gebeurtenissen)\n")
    for e in timeline:
        stage = e.get("stage")
        out.write(f"  {e.get('detected_at')}  {e.get('type')}  {DUTCH.get(Stage(stage), stage) if stage else ''}\n")
        for d in e.get("documents", []):
            out.write(f"      {d.get('id')}  {d.get('type')}: {d.get('title')}  {d.get('url') or ''}\n")
    return EXIT_OK


def _suggest(slug: str, known: Sequence[str]) -> str:
    from difflib import get_close_matches

    close = get_close_matches(slug, known, n=3, cutoff=0.5)
    return f"; did you mean {', '.join(close)}?" if close else ""


def cmd_events(app: App, args: argparse.Namespace) -> int:
    from sqlmodel import col, select

    from storage.db import session_scope
    from storage.models import EventRow

    with session_scope(app.engine) as session:
        query = select(EventRow).where(col(EventRow.status).in_(("published", "retracted")))
        if args.since:
            query = query.where(col(EventRow.detected_at) >= args.since)
        events = session.exec(query.order_by(col(EventRow.detected_at), col(EventRow.id))).all()
    if args.json:
        app.print_json([e.payload for e in events])
        return EXIT_OK
    for e in events:
        app.out.write(f"{e.detected_at.isoformat()}  {e.id}  {e.type:<20} {e.slug:<40} {e.stage or ''}\n")
    return EXIT_OK


def cmd_sources(app: App, args: argparse.Namespace) -> int:
    from sqlmodel import col, select

    from storage.catalog_repo import history_progress
    from storage.db import session_scope
    from storage.models import SourceStateRow

    with session_scope(app.engine) as session:
        rows = session.exec(select(SourceStateRow).order_by(col(SourceStateRow.name))).all()
        past = history_progress(session)
    items: list[dict[str, object]] = [
        {"name": r.name, "cursor": r.cursor,
         "last_success": r.last_success_at.isoformat() if r.last_success_at else None,
         "last_attempt": r.last_attempt_at.isoformat() if r.last_attempt_at else None,
         "consecutive_failures": r.consecutive_failures, "last_error": r.last_error}
        for r in rows
    ]
    for item in items:  # the installation history is read from KOOP: its progress shows with that source
        if item["name"] == "ob":
            item["history"] = past.as_json() if past else None
    if args.json:
        app.print_json(items)
        return EXIT_OK
    if not items:
        app.out.write("no source has been polled yet\n")
    for i in items:
        app.out.write(f"{i['name']:<4} last success {i['last_success'] or 'never'}, "
                      f"{i['consecutive_failures']} consecutive failures"
                      f"{', last error: ' + str(i['last_error']) if i['last_error'] else ''}\n"
                      f"     cursor {i['cursor'] or '-'}\n")
        if i["name"] == "ob" and past is not None:
            app.out.write(f"     {past.line()}\n")
    return EXIT_OK


def catalog_counts(catalog: Catalog) -> dict[str, Any]:
    """Commitments and promises per letter, commitments per kind."""
    per_letter: dict[str, dict[str, int]] = {}
    for c in catalog:
        letters_here = {p.letter for p in c.promises}
        for letter in letters_here:
            entry = per_letter.setdefault(letter, {"commitments": 0, "promises": 0, "defined_here": 0})
            entry["commitments"] += 1
        for p in c.promises:
            per_letter[p.letter]["promises"] += 1
        origin_letter = next((p.letter for p in c.promises if c.origin.startswith(p.letter.removesuffix(".txt"))), None)
        if origin_letter:
            per_letter[origin_letter]["defined_here"] += 1
    per_kind: dict[str, int] = {}
    for c in catalog:
        per_kind[c.kind.value] = per_kind.get(c.kind.value, 0) + 1
    return {"commitments": len(catalog), "promises": sum(len(c.promises) for c in catalog),
            "per_letter": dict(sorted(per_letter.items())), "per_kind": dict(sorted(per_kind.items()))}


def run_catalog_check(out: TextIO, *, as_json: bool) -> int:
    from matchers.catalog import load_catalog

    catalog = load_catalog()
    counts = catalog_counts(catalog)
    if as_json:
        json.dump(counts, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return EXIT_OK
    out.write(f"catalog OK: {counts['commitments']} commitments, {counts['promises']} promises, "
              f"every quote found in its seed letter, every timing parsed\n")
    for letter, n in counts["per_letter"].items():
        out.write(f"  {letter}: {n['commitments']} commitments ({n['defined_here']} defined there), "
                  f"{n['promises']} promises\n")
    out.write("  per kind: " + ", ".join(f"{k} {v}" for k, v in counts["per_kind"].items()) + "\n")
    return EXIT_OK


def _context(app: App) -> Context:
    from bot.app import Context

    return Context(settings=app.settings, engine=app.engine, catalog=app.catalog)


def cmd_poll(app: App, args: argparse.Namespace) -> int:
    from bot.app import build_sources, http_client, open_channels, poll_once

    async def go() -> list[PollResult]:
        async with http_client() as client, open_channels(app.settings, app.engine) as channels:
            ctx = _context(app)
            ctx.channels = channels
            return await poll_once(ctx, build_sources(app.settings, client))

    results = asyncio.run(go())
    for r in results:
        state = "ok" if r.ok else f"FAILED: {r.error}"
        app.err.write(f"{r.source}: {state}; {r.pages} pages, {r.requests} requests, {r.items} items, "
                      f"{r.documents} new or changed documents, {r.events} events, {r.duration_ms} ms\n")
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


def cmd_deliver(app: App, args: argparse.Namespace) -> int:
    from bot.app import deliver_once, open_channels

    async def go() -> DeliverStats:
        async with open_channels(app.settings, app.engine) as channels:
            ctx = _context(app)
            ctx.channels = channels
            return await deliver_once(ctx)

    stats = asyncio.run(go())
    app.err.write(f"sent {stats.sent}, failed {stats.failed} (will retry), dead {stats.dead}\n")
    return EXIT_OK


def cmd_run(app: App, args: argparse.Namespace) -> int:
    from bot.service import Service

    async def go() -> None:
        from bot.web.server import for_service, start_beside_service

        service = Service(_context(app))
        site = for_service(app.settings, app.engine, app.catalog)  # WETWACHT_WEB_PORT=0: none
        if site is not None:  # on the service's loop; a taken port costs the site, not the polling
            service.starters.append(lambda: start_beside_service(site))
            service.stoppers.append(site.stop)
        await service.run()

    asyncio.run(go())
    return EXIT_OK


def cmd_web(app: App, args: argparse.Namespace) -> int:
    from bot.web.server import serve_forever

    return serve_forever(app.settings, app.engine, app.catalog, app.err)


def cmd_webhook(app: App, args: argparse.Namespace) -> int:
    from bot import webhooks_cli
    from storage.db import utcnow

    return webhooks_cli.dispatch(args, app.engine, list(app.catalog.commitments), app.settings, app.out, app.err,
                                 utcnow())


COMMANDS: dict[str, Callable[[App, argparse.Namespace], int]] = {
    "webhook": cmd_webhook,
    "run": cmd_run,
    "poll": cmd_poll,
    "deliver": cmd_deliver,
    "commitments": cmd_commitments,
    "show": cmd_show,
    "events": cmd_events,
    "sources": cmd_sources,
    "web": cmd_web,
}


def main(argv: Sequence[str] | None = None, *, today: Today | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    """Run one command; returns its exit code. `today` is the injected clock for the overdue flag."""
    out = out or sys.stdout
    err = err or sys.stderr
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=err)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs full URLs; the Telegram token is in them
    # It logs every RetryAfter with a traceback; the outbox logs one line per failed delivery instead.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    # APScheduler logs two lines per job run at INFO and a warning whenever a run is skipped because the last
    # one (a long delivery batch, say) is still going; the jobs log what they did themselves.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    try:
        args = build_parser().parse_args(argv)
        if args.command == "catalog":
            return run_catalog_check(out, as_json=args.json)
        from bot import redact
        from bot.config import load_settings
        from matchers.deadlines import dutch_date

        settings = load_settings()
        if settings.telegram_token is not None:
            redact.install([settings.telegram_token.get_secret_value()])
        app = App(settings, today or (lambda: dutch_date(dt.datetime.now(dt.UTC))), out, err)
        return COMMANDS[args.command](app, args)
    except UsageError as exc:
        err.write(f"{exc}\n")
        return EXIT_USAGE
    except Exception as exc:  # configuration and catalog errors are the user's to fix: one line, exit 2
        from bot.config import ConfigError
        from matchers.catalog import CatalogError

        if isinstance(exc, ConfigError):
            err.write(f"{exc}\n")
            return EXIT_USAGE
        if isinstance(exc, CatalogError):
            err.write(f"catalog error: {exc}\n")
            return EXIT_USAGE
        raise


def entrypoint() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
