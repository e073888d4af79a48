"""Benchmark of the sources: parsing speed of both formats, and what a poll costs when nothing changed.

    python -m bench.bench_sources

- SyncFeed: one 250-entry Document page (the live page size) in the real format, parsed repeatedly.
- SRU: one 100-record searchRetrieve page (wetwacht's `maximumRecords`) of gzd records, parsed repeatedly.
- Idle poll: both sources against `tests.fakes.upstream` over real HTTP on 127.0.0.1, after a first run, when
  nothing changed: requests and wall time, without the politeness pause between pages (`page_pause` adds
  (requests - 1) x page_pause seconds per source on top: 4 s for the SyncFeed at the default 1 s).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time

import httpx

from sources.http import USER_AGENT
from sources.sru import SruSource, parse_response
from sources.syncfeed import SyncFeedSource, parse_feed
from tests.fakes.upstream import FakeUpstream

TITLE = ("Regels betreffende de financiering van politieke partijen en transparantieregels met betrekking tot hun "
         "interne organisatie en financiën, evenals regels met betrekking tot het toezicht en het verbieden van "
         "politieke partijen (Wet op de politieke partijen)")
PARSE_SECONDS = 2.5


async def _no_pause(seconds: float) -> None:
    return None


def _rate(work: int, parse: object, body: bytes) -> tuple[float, int]:
    runs = 0
    started = time.perf_counter()
    while time.perf_counter() - started < PARSE_SECONDS:
        parse(body)  # type: ignore[operator]
        runs += 1
    return work * runs / (time.perf_counter() - started), runs


def seed(up: FakeUpstream, documents: int) -> None:
    dossier = up.add_dossier("36742", TITLE)
    zaak = up.add_zaak("2025Z09154", dossier=dossier, titel=TITLE)
    for i in range(documents):
        up.add_document(f"2025D{20000 + i}", soort="Brief regering", titel=TITLE, onderwerp=f"Voortgangsbrief {i}",
                        datum=dt.date(2025, 5, 12), volgnummer=i + 1, dossier=dossier, zaak=zaak,
                        externe_identifier=f"kst-36742-{i + 1}")
    up.add_besluit(zaak, besluit_soort="Stemmen - aangenomen", besluit_tekst="Aangenomen.",
                   stemmings_soort="Met handopsteken")
    for i in range(documents):
        up.add_kamerstuk("36742", str(i + 1), dossiertitel=TITLE, soort="Brief", modified=dt.date(2026, 5, 1 + i % 4))


def bench_parsing() -> None:
    up = FakeUpstream(page_size=250)
    seed(up, 250)
    feed = up.feed_page_xml("Document", None)
    entries = len(parse_feed(feed, url="bench", category="Document").entries)
    rate, runs = _rate(entries, lambda b: parse_feed(b, url="bench", category="Document"), feed)
    print(f"   SyncFeed: {rate:,.0f} entries/s parsed ({entries}-entry page of {len(feed) / 1024:.0f} KiB, "
          f"{runs} runs)")
    query = "c.product-area==officielepublicaties AND dt.modified>=2026-05-01 sortBy dt.modified/sort.ascending"
    sru = up.sru_response_xml(query, 1, 100)
    records = len(parse_response(sru, url="bench").records)
    rate, runs = _rate(records, lambda b: parse_response(b, url="bench"), sru)
    print(f"   SRU: {rate:,.0f} records/s parsed ({records}-record page of {len(sru) / 1024:.0f} KiB, {runs} runs)")


async def bench_idle_poll() -> None:
    with FakeUpstream(page_size=250) as up:
        seed(up, 600)
        async with httpx.AsyncClient(headers={"User-Agent": USER_AGENT}, timeout=10.0) as client:
            clock = lambda: dt.datetime(2026, 5, 4, 12, tzinfo=dt.UTC)  # noqa: E731
            tk = SyncFeedSource(client, up.feed_url, sleep=_no_pause, page_pause=0.0)
            ob = SruSource(client, up.sru_url, sleep=_no_pause, clock=clock, page_pause=0.0)
            cursors: dict[str, str | None] = {"tk": None, "ob": None}
            first: dict[str, int] = {}
            for source in (tk, ob):
                before = up.request_count
                async for page in source.pages(None):
                    cursors[source.name] = page.cursor
                first[source.name] = up.request_count - before
            print(f"   first run (start=now): SyncFeed {first['tk']} requests to find the heads of "
                  f"{len(tk.categories)} categories; SRU {first['ob']} to remember its overlap window")
            for source in (tk, ob):
                timings: list[float] = []
                requests = 0
                for _ in range(20):
                    before = up.request_count
                    started = time.perf_counter()
                    documents = 0
                    async for page in source.pages(cursors[source.name]):
                        documents += len(page.entities) + len(page.documents)
                    timings.append((time.perf_counter() - started) * 1000)
                    requests = up.request_count - before
                    assert documents == 0, "an idle poll yielded something"
                label = "SyncFeed" if source.name == "tk" else "SRU"
                print(f"   idle poll {label}: {requests} requests, {statistics.median(timings):.1f} ms median "
                      f"(+{max(0, requests - 1)} s of pacing at page_pause=1)")


def main() -> None:
    bench_parsing()
    asyncio.run(bench_idle_poll())


if __name__ == "__main__":
    main()
