"""The command line's argument types and the `webhook` sub-parsers: what `wetwacht --help` needs, and nothing
heavier (the commands import their machinery when they run, so that starting is fast)."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any


def iso_datetime(value: str) -> dt.datetime:
    """An argparse type: an ISO date or date-time, UTC when it names no zone."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO date or date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def register_webhook(subparsers: Any) -> argparse.ArgumentParser:
    """Add `webhook add|list|remove|replay` to the CLI's sub-parsers (an `argparse._SubParsersAction`)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "webhook", help="webhook endpoints: add, list, remove, replay")
    wsub = parser.add_subparsers(dest="webhook_command", required=True, metavar="{add,list,remove,replay}",
                                 parser_class=type(parser))
    p = wsub.add_parser("add", help="register an endpoint; prints its id and its secret (shown only once)")
    p.add_argument("url", help="http(s) URL that receives the signed POSTs")
    p.add_argument("--commitment", dest="commitments", action="append", default=[], metavar="SLUG",
                   help="only events of this commitment (repeatable); none: every commitment")
    p = wsub.add_parser("list", help="endpoints with their health; never the secret")
    p.add_argument("--json", action="store_true", help="one JSON array on stdout")
    p = wsub.add_parser("remove", help="deactivate an endpoint and skip its pending deliveries")
    p.add_argument("id", metavar="ID")
    p = wsub.add_parser("replay", help="send that endpoint's events since the date again")
    p.add_argument("id", metavar="ID")
    p.add_argument("--since", type=iso_datetime, required=True, metavar="ISO",
                   help="events detected at or after this ISO date/time")
    return parser
