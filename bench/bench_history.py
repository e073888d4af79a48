"""The installation history for the whole catalog against the local fake upstream: how many requests it makes
and how long it takes.

The fake holds a realistic record before the installation: the Kamerstukken of every dossier the catalog links
(20 to 120 each, both chambers, a Staatsblad for some), three years of other bills' opening documents (about 250
bills a year, three opening documents each, as the Tweede Kamer receives them), and the opening documents and a
few later Kamerstukken of 40 commitments that the catalog knows no dossier of, in their record's wording. The
reader runs against the real SRU source with the default page size; the page pause is counted rather than slept,
so the figure shows the work and the politeness apart.

    python -m bench.bench_history
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import resource
import tempfile
import time
from pathlib import Path

import httpx
from sqlmodel import select

from bot.history import HistoryReader
from bot.pipeline import Pipeline
from matchers.catalog import BILL_KINDS, load_catalog
from sources.sru import SruSource
from storage.catalog_repo import history_progress as progress
from storage.catalog_repo import stages_reached, sync_catalog
from storage.db import make_engine, migrate, session_scope
from storage.models import LinkRow, NoticeRow
from tests.fakes.upstream import FakeUpstream

INSTALL = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
PAGE_PAUSE = 1.0  # the default WETWACHT_PAGE_PAUSE_SECONDS
_LAWS = ["Gemeentewet", "Provinciewet", "Wet milieubeheer", "Zorgverzekeringswet", "Wet op het primair onderwijs",
         "Omgevingswet", "Vreemdelingenwet 2000", "Wet op de loonbelasting 1964", "Algemene wet bestuursrecht",
         "Wet publieke gezondheid", "Spoorwegwet", "Wet luchtvaart", "Mijnbouwwet", "Waterwet", "Jeugdwet",
         "Wet langdurige zorg", "Participatiewet", "Wet op de huurtoeslag", "Telecommunicatiewet", "Politiewet 2012"]
_AIMS = ["de implementatie van richtlijn (EU) 2024/1226", "het verbeteren van de uitvoerbaarheid",
         "het vereenvoudigen van procedures", "de invoering van een digitaal loket", "het versterken van het toezicht",
         "het regelen van de gegevensuitwisseling", "de aanpassing van termijnen", "het herstel van omissies",
         "de modernisering van de bekostiging", "het beperken van de regeldruk"]
_OPENING = ("Koninklijke boodschap", "Voorstel van wet", "Memorie van toelichting")
_LATER = ("Verslag", "Nota naar aanleiding van het verslag", "Nota van wijziging", "Amendement", "Motie", "Brief")


def build_record(up: FakeUpstream, rng: random.Random) -> dict[str, int]:
    catalog = load_catalog()
    counts = {"linked dossiers": 0, "their records": 0, "other bills": 0, "unlinked commitments given a dossier": 0}
    for c in catalog:
        for dossier in c.dossiers:
            counts["linked dossiers"] += 1
            title = c.record[0].title if c.record and c.record[0].title else c.title
            day = dt.date(2025, 1, 6) + dt.timedelta(days=rng.randrange(300))
            for n in range(1, rng.randint(20, 120)):
                soort = _OPENING[n - 1] if n <= 3 else rng.choice(_LATER)
                up.add_kamerstuk(dossier, str(n), dossiertitel=title, soort=soort, modified=day, date=day)
                day += dt.timedelta(days=rng.randrange(4))
                counts["their records"] += 1
            if rng.random() < 0.3:
                up.add_staatsblad(day.year, rng.randrange(1, 500), title=f"Wet van {day.isoformat()}, {title}",
                                  behandeld=(dossier,), modified=day, available=day)
    number = 36000
    for year in (2024, 2025, 2026):
        for _ in range(250):
            number += 1
            title = f"Wijziging van de {rng.choice(_LAWS)} in verband met {rng.choice(_AIMS)}"
            day = dt.date(year, 1, 2) + dt.timedelta(days=rng.randrange(320))
            for n, soort in enumerate(_OPENING, start=1):
                up.add_kamerstuk(str(number), str(n), dossiertitel=title, soort=soort, modified=day, date=day)
            counts["other bills"] += 1
    unlinked = [c for c in catalog if c.kind in BILL_KINDS and not c.dossiers and c.record and c.record[0].title]
    for c in unlinked[:40]:
        number += 1
        wording = c.record[0]
        title = f"{wording.title} ({wording.citeertitel})" if wording.citeertitel else str(wording.title)
        day = dt.date(2026, 1, 5) + dt.timedelta(days=rng.randrange(300))
        for n, soort in enumerate(_OPENING + _LATER[:2], start=1):
            up.add_kamerstuk(str(number), str(n), dossiertitel=title, soort=soort, modified=day, date=day)
        counts["unlinked commitments given a dossier"] += 1
    return counts


async def run() -> None:
    rng = random.Random(11)
    catalog = load_catalog()
    with tempfile.TemporaryDirectory() as tmp, FakeUpstream(page_size=250) as up:
        counts = build_record(up, rng)
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate(engine)
        clock = {"now": INSTALL}
        with session_scope(engine) as session:
            sync_catalog(session, catalog, INSTALL)
        paused: list[float] = []

        async def sleep(seconds: float) -> None:
            paused.append(seconds)

        async with httpx.AsyncClient(timeout=60) as client:
            ob = SruSource(client, up.sru_url, sleep=sleep, clock=lambda: clock["now"], page_pause=PAGE_PAUSE)
            pipe = Pipeline(engine, catalog, start="now", clock=lambda: clock["now"], maintainers=[1])
            await pipe.poll([ob])
            up.reset_counts()
            paused.clear()
            reader = HistoryReader(engine, pipe, ob, clock=lambda: clock["now"], maintainers=[1])
            started = time.perf_counter()
            result = await reader.run()
            seconds = time.perf_counter() - started
        with session_scope(engine) as session:
            state = progress(session)
            reached = stages_reached(session)
            learned = len(list(session.exec(select(LinkRow).where(LinkRow.origin == "learned"))))
            asked = sum(n.text.count("/link ") for n in session.exec(
                select(NoticeRow).where(NoticeRow.kind == "history.doubtful")))
        engine.dispose()
    print("   record before the installation: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    print(f"   history: {result.tasks} tasks, {result.requests} requests ({up.count('sru')} seen by the fake), "
          f"{result.records} records, {result.documents} documents kept, {len(reached)} commitments with a stage")
    print(f"   {state.line() if state else '-'}")
    print(f"   the search learned {learned} dossiers of bills the catalog knew none of, and asked the maintainers "
          f"about {asked} possible ones")
    print(f"   work {seconds:.1f} s; page pauses {sum(paused):.0f} s at {PAGE_PAUSE:.0f} s a request; "
          f"at the default pause the whole history takes {seconds + sum(paused):.0f} s; max RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
