"""What the two scraped sources share (`sources.ek`, `sources.consultatie`): polite paced requests that stay on
the configured site and never touch a path robots.txt disallows, HTML that must be whole, and Dutch dates.

Neither eerstekamer.nl nor internetconsultatie.nl has a documented API (reference note ek_consultatie.md §2e,
§3c), so both are read as pages, the way a person reads them, and with the manners that asks for:

- every request identifies wetwacht (the process's client carries `sources.http.USER_AGENT`);
- one page every 1 to 2 seconds: before every request but the first of a run the source waits between
  `page_pause` and twice that (the `WETWACHT_PAGE_PAUSE_SECONDS` setting, 1 s by default);
- never ``/zoeken``: eerstekamer.nl's robots.txt disallows search (§2e); `Pacer.get` refuses any such URL;
- every link followed is re-rooted on the configured base URL, so a page can never send the source elsewhere.

A page that has changed is a `ParseError` naming the URL and the element that is missing, never an empty
result; a page cut off in transfer (no closing ``</html>``) is one too, since a parser would happily read the
half it got.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import re
import urllib.parse
from collections.abc import Callable

import httpx
from bs4 import BeautifulSoup

from sources.base import ParseError, SourceError
from sources.http import Sleep, fetch

DUTCH_MONTHS: dict[str, int] = {
    "januari": 1, "februari": 2, "maart": 3, "april": 4, "mei": 5, "juni": 6, "juli": 7, "augustus": 8,
    "september": 9, "oktober": 10, "november": 11, "december": 12,
}
_DUTCH_DATE = re.compile(r"\b(\d{1,2})\s+(" + "|".join(DUTCH_MONTHS) + r")\s+(\d{4})\b", re.IGNORECASE)
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})-(\d{1,2})-(\d{4})\s*$")
# Paths robots.txt disallows on eerstekamer.nl (search); internetconsultatie.nl's search lives there too.
DISALLOWED = ("/zoeken",)
Clock = Callable[[], dt.datetime]


def dutch_date(text: str | None) -> dt.date | None:
    """The first date written the Dutch way in `text` ("29 september 2026", "6 oktober 2026 (vervolg)");
    None when there is none."""
    if not text:
        return None
    m = _DUTCH_DATE.search(text)
    if m is None:
        return None
    try:
        return dt.date(int(m.group(3)), DUTCH_MONTHS[m.group(2).lower()], int(m.group(1)))
    except ValueError:
        return None


def numeric_date(text: str | None) -> dt.date | None:
    """A ``dd-mm-yyyy`` date (internetconsultatie.nl writes ``17-07-2026``); None otherwise."""
    if not text:
        return None
    m = _NUMERIC_DATE.match(text)
    if m is None:
        return None
    try:
        return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None


def squash(text: str | None) -> str:
    """`text` with its runs of whitespace (and non-breaking spaces) as single spaces, stripped."""
    return " ".join((text or "").replace("\xa0", " ").split())


def on_site(base: str, href: str) -> str | None:
    """The URL of `href` (relative or absolute) on the configured site `base`: its path and query re-rooted on
    `base`, so a link can never lead the source to another host. None for a fragment-only link, a
    non-web scheme, or a path robots.txt disallows."""
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    parts = urllib.parse.urlsplit(href)
    if parts.scheme and parts.scheme not in ("http", "https"):
        return None
    path = parts.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    if disallowed(path):
        return None
    root = base.rstrip("/")
    return f"{root}{path}" + (f"?{parts.query}" if parts.query else "")


def disallowed(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") or path.startswith(p + "?") for p in DISALLOWED)


def html(content: bytes, *, url: str) -> BeautifulSoup:
    """Parse a page. An empty body, or one without its closing ``</html>`` (or ``</main>``: a trimmed page),
    is a `ParseError`: a page cut off in transfer parses without complaint and would lose what was cut."""
    if not content or content.isspace():
        raise ParseError("empty response body where an HTML page was expected", url=url, position="byte 0")
    tail = content[-4096:].lower()
    if b"</html>" not in tail and b"</main>" not in tail:
        raise ParseError("the page ends before its closing </html>: truncated", url=url,
                         position=f"byte {len(content)}")
    return BeautifulSoup(content, "lxml")


class Pacer:
    """One source run's requests: paced (`page_pause` to twice that between two requests), counted, and
    refused when they would go where robots.txt says not to."""

    def __init__(self, client: httpx.AsyncClient, *, sleep: Sleep = asyncio.sleep, page_pause: float = 1.0,
                 rng: random.Random | None = None) -> None:
        self.client = client
        self.sleep = sleep
        self.page_pause = page_pause
        self.rng = rng if rng is not None else random.Random()  # noqa: S311 - pacing jitter, not cryptography
        self.made = 0

    async def get(self, url: str) -> httpx.Response:
        path = urllib.parse.urlsplit(url).path or "/"
        if disallowed(path):
            raise SourceError(f"refusing to fetch {url}: robots.txt disallows {path}", url=url)
        if self.made:
            # Politeness: one page every 1-2 s (with the default pause), never two requests back to back.
            await self.sleep(self.page_pause * (1.0 + self.rng.random()))
        self.made += 1
        return await fetch(self.client, url, sleep=self.sleep)
