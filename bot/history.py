"""History at installation (CONTRACT.md "History at installation"): where each commitment already stands.

wetwacht is installed in the middle of things: bills submitted years ago, laws already in the Staatsblad.
Following the record "forward only" needs to know where forward starts. So, once KOOP's first poll is over
(which fixes the installation day), and again whenever a dossier becomes linked to a commitment (from the
catalog, learned from a confident match, or by `/link`), wetwacht reads the record of the past as history:

- **dossier** tasks, one per linked dossier: the KOOP SRU by dossier number, which gives both chambers'
  Kamerstukken (an Eerste Kamer stuk keeps the dossier number, with a letter), and the Staatsblad and
  Staatscourant publications that treat the dossier (`w.behandeldDossier`), published before the
  installation day (`sources.sru.dossier_query`). Documents wetwacht already stored in that dossier are
  matched again too: a dossier linked today may have had documents since the installation.
- one **search** task: for every bill, Rijkswet or Grondwet proposal of the catalog with no known dossier,
  the opening documents of bills (Voorstel van wet, Koninklijke boodschap, Memorie van toelichting) published
  from a year before the earliest promise of such a commitment up to the installation day
  (`sources.sru.opening_query`). The matcher ties them to commitments as it ties live documents: a confident
  match learns the dossier (which then gets its own dossier task), a doubtful one goes to the maintainers in
  one notice, with the `/link` command that would settle it.

Everything read is history (`bot.novelty`): stored, matched, and its confident matches are evidence that sets
the commitment's stage silently, with no event and no delivery. `wetwacht show` lists it with the documents'
dates, and the overdue flags follow from it. What the record publishes from the installation day on is the
polls' to report.

What the Tweede Kamer's own record adds: the SyncFeed serves entities one by one by id
(`SyncFeed/2.0/Entiteiten/<id>`), and cannot list a dossier's zaken or a zaak's Besluiten; so a vote from
before the installation is known from the record that follows it (the bill as passed, sent to the Eerste
Kamer as its Kamerstuk A; the law in the Staatsblad), and the entities a new document or vote refers to are
fetched by the pipeline when they are needed (`Pipeline._fetch_missing`).

Paced like the polls (the SRU source's `page_pause` between requests; 429 and 503 are retried by the same
`fetch`), resumable (each task remembers the SRU startRecord of its next page, committed with the page's
documents), and reported: a log line per task and `wetwacht sources`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.locks import advisory_lock
from bot.pipeline import Pipeline, document_from_row
from matchers.catalog import BILL_KINDS
from matchers.engine import Match
from sources.base import Document, SourceError
from sources.sru import SruSource, dossier_query, opening_query, wanted
from storage.catalog_repo import DOSSIER_TASK as DOSSIER
from storage.catalog_repo import SEARCH_TASK as SEARCH
from storage.catalog_repo import history_progress as progress
from storage.catalog_repo import stages_reached
from storage.db import session_scope
from storage.models import CommitmentRow, DocumentRow, HistoryTaskRow, LinkRow, NoticeRow, PromiseRow, SourceStateRow

log = logging.getLogger(__name__)

SEARCH_VALUE = "opening-documents"
# The search for unlinked bills starts this long before the earliest promise of one: a bill may have been
# submitted a little before the letter that promised it.
SEARCH_LEAD = dt.timedelta(days=365)
# A task that failed this many runs in a row is given up (shown in `wetwacht sources` with its last error).
MAX_ATTEMPTS = 10
MAX_TASKS_PER_RUN = 2000  # a safety stop, far above a catalog's dossiers
DOUBTFUL_SHOWN = 15  # doubtful matches listed in one notice to the maintainers
PROGRESS_EVERY = 20.0  # seconds between two progress lines in the log
Clock = Callable[[], dt.datetime]


@dataclass
class HistoryRun:
    """What one run of the history reader did, for the log and the tests."""

    tasks: int = 0
    requests: int = 0
    records: int = 0
    documents: int = 0
    stages: int = 0  # commitments whose stage the history set or moved
    failed: int = 0
    seconds: float = 0.0
    waiting: bool = False  # KOOP's first poll is not over: nothing to read yet
    errors: list[str] = field(default_factory=list)


class HistoryReader:
    """Reads the history tasks against KOOP (`sru`); `pipeline` stores and matches what they find."""

    def __init__(self, engine: Engine, pipeline: Pipeline, sru: SruSource, *, clock: Clock | None = None,
                 maintainers: Iterable[int] = ()) -> None:
        self.engine = engine
        self.pipeline = pipeline
        self.sru = sru
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.maintainers = tuple(sorted(maintainers))

    # ------------------------------------------------------------------------------------------ planning

    def horizon(self, session: Session) -> dt.datetime | None:
        """The installation's horizon once KOOP's first poll is over (history is what lies before it)."""
        state = session.get(SourceStateRow, self.sru.name)
        if state is None or not state.first_poll_done:
            return None
        return self.pipeline.horizon(state.installed_at or state.last_success_at)

    def plan(self, session: Session) -> int:
        """Make the tasks the catalog and the links call for; return how many are pending. A dossier linked
        to another commitment after its task finished is read again; so is the search, when a bill without a
        dossier was added after it finished."""
        now = self.clock()
        tasks = {(t.kind, t.value): t for t in session.exec(select(HistoryTaskRow))}
        links = self._links(session)
        for dossier, rows in links.items():
            task = tasks.get((DOSSIER, dossier))
            latest = max(rows, key=lambda r: r.changed_at)
            reason = ", ".join(sorted({f"{r.slug} ({r.origin})" for r in rows}))
            if task is None:
                session.add(HistoryTaskRow(kind=DOSSIER, value=dossier, reason=f"linked to {reason}",
                                           created_at=now))
            elif task.status != "pending" and task.finished_at is not None and latest.changed_at > task.finished_at:
                self._reopen(session, task, f"linked again: {reason}")
        unlinked = self._unlinked_bills(session, links)
        task = tasks.get((SEARCH, SEARCH_VALUE))
        if unlinked:
            newest = max(created for _slug, created, _first in unlinked)
            if task is None:
                session.add(HistoryTaskRow(kind=SEARCH, value=SEARCH_VALUE, created_at=now,
                                           reason=f"{len(unlinked)} bills without a known dossier"))
            elif task.status != "pending" and task.finished_at is not None and newest > task.finished_at:
                self._reopen(session, task, f"{len(unlinked)} bills without a known dossier")
        session.flush()
        return len(list(session.exec(select(HistoryTaskRow.id).where(HistoryTaskRow.status == "pending"))))

    @staticmethod
    def _reopen(session: Session, task: HistoryTaskRow, reason: str) -> None:
        task.status, task.next_record, task.attempts, task.last_error = "pending", 1, 0, None
        task.reason, task.finished_at = reason, None
        session.add(task)

    @staticmethod
    def _unlinked_bills(session: Session, links: dict[str, list[LinkRow]]) -> list[tuple[str, dt.datetime, dt.date]]:
        """(slug, created, earliest promise letter) of the bill commitments with no active dossier."""
        linked = {r.slug for rows in links.values() for r in rows}
        kinds = {k.value for k in BILL_KINDS}
        first: dict[str, dt.date] = {}
        for p in session.exec(select(PromiseRow)):
            first[p.slug] = min(first.get(p.slug, p.letter_date), p.letter_date)
        return [(c.slug, c.created_at, first.get(c.slug, c.created_at.date()))
                for c in session.exec(select(CommitmentRow)) if c.kind in kinds and c.slug not in linked]

    # ------------------------------------------------------------------------------------------- running

    async def run(self) -> HistoryRun:
        """Read every pending task (one replica at a time); what fails stays pending for the next run."""
        with advisory_lock(self.engine, "history") as mine:
            if not mine:
                return HistoryRun()
            return await self._run()

    async def _run(self) -> HistoryRun:
        run = HistoryRun()
        started = time.monotonic()
        with session_scope(self.engine) as session:
            horizon = self.horizon(session)
            if horizon is None:
                run.waiting = True
                return run
            pending = self.plan(session)
            before = stages_reached(session)
            counts = self._counts(session)
        if not pending:
            return run
        log.info("history: reading what the record held before %s: %s (one request every %.0f s; this takes "
                 "a few minutes at installation, and `wetwacht sources` shows how far it is)", horizon.date(), counts,
                 self.sru.page_pause)
        said = time.monotonic()
        for _ in range(MAX_TASKS_PER_RUN):
            if time.monotonic() - said >= PROGRESS_EVERY:
                said = time.monotonic()
                with session_scope(self.engine) as session:
                    now_state = progress(session)
                if now_state is not None:
                    log.info("%s", now_state.line())
            with session_scope(self.engine) as session:
                self.plan(session)  # a confident match may have learned a dossier: read it too
                task = session.exec(select(HistoryTaskRow).where(HistoryTaskRow.status == "pending")
                                    .order_by(col(HistoryTaskRow.kind), col(HistoryTaskRow.id))).first()
                if task is None:
                    break
                task_id = task.id
            assert task_id is not None
            ok = await self._task(task_id, horizon, run, pause=run.requests > 0)
            if not ok:
                break  # upstream trouble: the rest waits for the next run
        with session_scope(self.engine) as session:
            after = stages_reached(session)
            state = progress(session)
        run.stages = sum(1 for slug, stage in after.items() if before.get(slug) != stage)
        run.seconds = time.monotonic() - started
        log.info("history: %d tasks, %d requests, %d records, %d documents kept, %d commitments got their stage "
                 "from it, %.1f s%s", run.tasks, run.requests, run.records, run.documents, run.stages, run.seconds,
                 f"; {state.line()}" if state else "")
        if state is not None and state.pending == 0 and run.tasks:
            log.info("history done: %d of %d commitments have a stage from the record; see `wetwacht commitments`, "
                     "`wetwacht show SLUG` (its history, with dates) and `wetwacht sources`", len(after),
                     self._commitments())
        return run

    def _commitments(self) -> int:
        with session_scope(self.engine) as session:
            return len(list(session.exec(select(CommitmentRow.slug))))

    @staticmethod
    def _counts(session: Session) -> str:
        tasks = list(session.exec(select(HistoryTaskRow).where(HistoryTaskRow.status == "pending")))
        dossiers = sum(1 for t in tasks if t.kind == DOSSIER)
        search = next((t for t in tasks if t.kind == SEARCH), None)
        text = f"{dossiers} linked dossiers"
        if search is not None:
            text += f" and a search for {search.reason}"
        return text

    def _query(self, task: HistoryTaskRow, horizon: dt.datetime, session: Session) -> str:
        until = horizon.date()
        if task.kind == DOSSIER:
            return dossier_query(task.value, until)
        firsts = [first for _slug, _created, first in self._unlinked_bills(session, self._links(session))]
        since = (min(firsts) if firsts else until) - SEARCH_LEAD
        return opening_query(since, until)

    @staticmethod
    def _links(session: Session) -> dict[str, list[LinkRow]]:
        links: dict[str, list[LinkRow]] = {}
        for link in session.exec(select(LinkRow).where(LinkRow.kind == "dossier", col(LinkRow.active))):
            links.setdefault(link.value, []).append(link)
        return links

    async def _task(self, task_id: int, horizon: dt.datetime, run: HistoryRun, *, pause: bool) -> bool:
        """Read one task page by page; False when it failed (it stays pending, or is given up)."""
        with session_scope(self.engine) as session:
            task = session.get(HistoryTaskRow, task_id)
            assert task is not None
            query = self._query(task, horizon, session)
            start, kind, value = task.next_record, task.kind, task.value
            if kind == SEARCH:
                start = 1  # its decision needs every page: it starts over rather than resume
            if start == 1 and kind == DOSSIER:
                self._rematch_stored(session, value)
        found: list[tuple[Document, Match]] = []
        while True:
            try:
                response = await self.sru.search(query, start, pause=pause)
            except SourceError as exc:
                return self._failed(task_id, run, f"{type(exc).__name__}: {exc}")
            pause = True
            run.requests += 1
            done = self.sru.done(response, start)
            documents = [r.document for r in response.records if wanted(r.document)]
            with session_scope(self.engine) as session:
                kept, matches = self.pipeline.ingest_history(session, documents, search=kind == SEARCH)
                task = session.get(HistoryTaskRow, task_id)
                assert task is not None
                task.requests += 1
                task.records += response.count
                task.documents += kept
                start += response.count
                task.next_record = start
                if done:
                    task.status, task.finished_at, task.last_error, task.attempts = "done", self.clock(), None, 0
                session.add(task)
            run.records += response.count
            run.documents += kept
            if kind == SEARCH:
                found.extend(matches)
            if done:
                break
        run.tasks += 1
        log.debug("history: %s %s read (%d records so far in this run)", kind, value, run.records)
        if kind == SEARCH:
            self._decide(found)
        return True

    def _decide(self, found: list[tuple[Document, Match]]) -> None:
        """What the search found for bills without a dossier. A commitment confidently matched by the opening
        documents of exactly one dossier learns it (its dossier task then reads it as history); one matched
        by several, and every doubtful match, go to the maintainers: a wrong link would mean false alerts for
        as long as the dossier lives."""
        with session_scope(self.engine) as session:
            linked = {link.slug for link in session.exec(
                select(LinkRow).where(LinkRow.kind == "dossier", col(LinkRow.active)))}
        confident: dict[str, dict[str, tuple[Document, Match]]] = {}
        doubtful: list[tuple[Document, Match]] = []
        for doc, m in found:
            if m.slug in linked or not doc.dossier:
                continue
            if m.confident and m.learn_dossier:
                confident.setdefault(m.slug, {}).setdefault(m.learn_dossier, (doc, m))
            else:
                doubtful.append((doc, m))
        learned: set[str] = set()
        with session_scope(self.engine) as session:
            for slug, dossiers in sorted(confident.items()):
                if len(dossiers) == 1:
                    [(doc, m)] = dossiers.values()
                    self.pipeline.learn(session, doc, m, "history search of the opening documents of bills")
                    learned.add(slug)
                else:
                    doubtful.extend(dossiers.values())
        doubtful = [(d, m) for d, m in doubtful if m.slug not in learned]
        log.info("history: the search for bills without a dossier learned %d dossiers; %d possible ones go to "
                 "the maintainers", len(learned), len({(m.slug, d.dossier) for d, m in doubtful}))
        if doubtful:
            self._tell_maintainers(doubtful)

    def _rematch_stored(self, session: Session, dossier: str) -> None:
        """Documents of the dossier wetwacht already stored (read since the installation, before the link)."""
        rows = list(session.exec(select(DocumentRow).where(DocumentRow.dossier == dossier,
                                                          col(DocumentRow.deleted).is_(False))))
        if rows:
            self.pipeline.ingest_history(session, [document_from_row(r) for r in rows])

    def _failed(self, task_id: int, run: HistoryRun, error: str) -> bool:
        with session_scope(self.engine) as session:
            task = session.get(HistoryTaskRow, task_id)
            assert task is not None
            task.attempts += 1
            task.last_error = error
            if task.attempts >= MAX_ATTEMPTS:
                task.status, task.finished_at = "failed", self.clock()
                run.failed += 1
                log.error("history: %s %s given up after %d attempts: %s", task.kind, task.value, task.attempts,
                          error)
            else:
                log.warning("history: %s %s failed (attempt %d of %d; it resumes at record %d next time): %s",
                            task.kind, task.value, task.attempts, MAX_ATTEMPTS, task.next_record, error)
            session.add(task)
        run.errors.append(error)
        return False

    def _tell_maintainers(self, doubtful: list[tuple[Document, Match]]) -> None:
        """One notice listing the doubtful matches of the search, each with the command that settles it."""
        seen: set[tuple[str, str | None]] = set()
        lines = []
        for doc, m in doubtful:
            key = (m.slug, doc.dossier)
            if key in seen or not doc.dossier:
                continue
            seen.add(key)
            lines.append(f"- {m.slug}: dossier {doc.dossier} ({doc.id}, {doc.kind}: {doc.title[:120]}); "
                         f"{m.reason[:200]}. Klopt het: /link {m.slug} {doc.dossier}")
        if not lines:
            return
        shown = lines[:DOUBTFUL_SHOWN]
        more = f"\n(en nog {len(lines) - len(shown)})" if len(lines) > len(shown) else ""
        text = ("Geschiedenis: mogelijke dossiers voor wetsvoorstellen zonder bekend dossier (niet gekoppeld, "
                "er gaat geen melding uit):\n" + "\n".join(shown) + more)
        log.info("notice history.doubtful: %d possible dossiers for bills without one", len(lines))
        now = self.clock()
        with session_scope(self.engine) as session:
            for user_id in self.maintainers:
                session.add(NoticeRow(kind="history.doubtful", subject="history", text=text, recipient=str(user_id),
                                      created_at=now))

