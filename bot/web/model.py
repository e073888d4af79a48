"""What the public site says about a commitment, as pure functions of the read model: its status (kept, kept
late, overdue, open, no deadline), how late or early it was kept, the steps of its legislative path with
dates, the scoreboard counts, and the filters and search of the scoreboard. No I/O: the facts come in from
`bot.web.snapshot`, the pages and feeds render what comes out.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.dutch import date_nl, span_nl
from matchers.stages import DUTCH, TERMINAL_FAILURES, Stage, keeps
from storage.catalog_repo import CommitmentView, PromiseView


class Status(StrEnum):
    """A commitment's status on the scoreboard, from its latest promise (the one whose deadline counts)."""

    KEPT = "gehaald"  # the promised stage (or a later one) was reached, on time or without a deadline
    KEPT_LATE = "laat-gehaald"  # reached, but after the deadline
    OVERDUE = "te-laat"  # the deadline passed and the promised stage was not reached
    OPEN = "open"  # the deadline has not passed yet (or names only an earliest moment)
    NO_DEADLINE = "geen-termijn"  # not reached, and the promise names no date


STATUS_LABEL: dict[Status, str] = {
    Status.KEPT: "gehaald",
    Status.KEPT_LATE: "te laat gehaald",
    Status.OVERDUE: "te laat",
    Status.OPEN: "open",
    Status.NO_DEADLINE: "geen termijn",
}
# A symbol beside the word, so the status never rests on colour alone.
STATUS_MARK: dict[Status, str] = {
    Status.KEPT: "✔", Status.KEPT_LATE: "✔", Status.OVERDUE: "⚠", Status.OPEN: "○", Status.NO_DEADLINE: "–",
}

KIND_LABEL: dict[str, str] = {
    "wetsvoorstel": "wetsvoorstel", "grondwetsvoorstel": "grondwetsvoorstel", "rijkswet": "rijkswetsvoorstel",
    "amvb": "AMvB", "kamerbrief": "Kamerbrief", "visie": "visie", "evaluatie": "evaluatie", "monitor": "monitor",
    "other": "overig",
}



# ------------------------------------------------------------------------------------------ status


@dataclass(frozen=True, slots=True)
class Verdict:
    """A commitment's status with the numbers behind it. `days` is positive when late (kept late, or
    overdue for that many days), negative when kept early, None when there is no date to compare with."""

    status: Status
    promise: PromiseView | None
    kept_on: dt.date | None
    days: int | None

    @property
    def label(self) -> str:
        return STATUS_LABEL[self.status]

    @property
    def mark(self) -> str:
        return STATUS_MARK[self.status]

    def sentence(self, today: dt.date) -> str:
        """The status in one Dutch sentence: "4 maanden te laat gehaald", "5 dagen te laat"."""
        p = self.promise
        if self.status is Status.KEPT:
            if self.days is None:
                return "gehaald"
            if self.days == 0:
                return "gehaald, precies op de termijn"
            return f"op tijd gehaald, {span_nl(self.days)} voor de termijn"
        if self.status is Status.KEPT_LATE:
            return f"{span_nl(self.days or 0)} te laat gehaald"
        if self.status is Status.OVERDUE:
            return f"{span_nl(self.days or 0)} over de termijn"
        if self.status is Status.OPEN and p is not None and p.due is not None:
            if p.open_ended:
                return f"niet vóór {date_nl(p.due)}"
            left = (p.due - today).days
            return "de termijn verloopt vandaag" if left == 0 else f"nog {span_nl(left)}"
        return "geen datum beloofd"


def restates(as_written: str | None, due: dt.date | None) -> bool:
    """Whether the timing as written already names its due date ("per 1 januari 2028")."""
    return bool(as_written and due and date_nl(due).casefold() in as_written.casefold())


def kept_on(stage_dates: Mapping[Stage, dt.date], promised: Stage) -> dt.date | None:
    """The first day a stage that keeps a promise of `promised` was reached (None: not reached)."""
    days = [day for stage, day in stage_dates.items() if keeps(stage, promised)]
    return min(days, default=None)


def judge(promise: PromiseView | None, stage_dates: Mapping[Stage, dt.date], today: dt.date) -> Verdict:
    """The status of one promise, from the read model's own judgement of it (`kept`, `overdue`) and the
    first day a stage keeping it was seen."""
    if promise is None:
        return Verdict(Status.NO_DEADLINE, None, None, None)
    if promise.kept:
        on = kept_on(stage_dates, promise.stage)
        if promise.due is None or on is None:
            return Verdict(Status.KEPT, promise, on, None)
        if promise.open_ended:  # "Q2 2027 en later": an earliest moment, never late
            return Verdict(Status.KEPT, promise, on, None)
        late = (on - promise.due).days
        return Verdict(Status.KEPT_LATE if late > 0 else Status.KEPT, promise, on, late)
    if promise.overdue and promise.due is not None:
        return Verdict(Status.OVERDUE, promise, None, (today - promise.due).days)
    if promise.due is None:
        return Verdict(Status.NO_DEADLINE, promise, None, None)
    return Verdict(Status.OPEN, promise, None, None)


def verdict(view: CommitmentView, latest: PromiseView | None, stage_dates: Mapping[Stage, dt.date],
            today: dt.date) -> Verdict:
    """The status of a commitment: its latest promise's (the read model's overdue flag is the same
    judgement of the same promise)."""
    result = judge(latest, stage_dates, today)
    if view.overdue and result.status is not Status.OVERDUE and latest is not None and latest.due is not None:
        return Verdict(Status.OVERDUE, latest, None, (today - latest.due).days)
    return result


@dataclass(frozen=True, slots=True)
class Counts:
    """The scoreboard's headline: how many commitments, and how many kept, overdue, underway or untouched."""

    total: int
    kept: int
    overdue: int
    underway: int
    nothing: int

    def sentence(self) -> str:
        noun = "toezegging" if self.total == 1 else "toezeggingen"
        return (f"{self.total} {noun}: {self.kept} gehaald, {self.overdue} te laat, {self.underway} onderweg, "
                f"{self.nothing} nog niets")


def count(items: Iterable[tuple[Status, Stage | None]]) -> Counts:
    """Counts of (status, stage reached) pairs. Kept includes kept late; underway is neither kept nor overdue
    but with some stage reached; nothing is neither kept nor overdue with no stage seen at all."""
    total = kept = overdue = underway = nothing = 0
    for status, stage in items:
        total += 1
        if status in (Status.KEPT, Status.KEPT_LATE):
            kept += 1
        elif status is Status.OVERDUE:
            overdue += 1
        elif stage is not None:
            underway += 1
        else:
            nothing += 1
    return Counts(total, kept, overdue, underway, nothing)


# ------------------------------------------------------------------------------------------ path


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the legislative path. `state`: `reached` (with the date of its first evidence),
    `passed` (a later step was reached without a document of this one), `failed` (rejected or withdrawn
    here), `todo`."""

    key: str
    label: str
    state: str
    day: dt.date | None
    promised: bool
    current: bool
    outcome: str | None = None  # "aangenomen", "verworpen"


# The steps a bill goes through, each with the stages that show it.
BILL_PATH: tuple[tuple[str, str, tuple[Stage, ...]], ...] = (
    ("consultatie", "Internetconsultatie", (Stage.CONSULTATIE,)),
    ("advies_rvs", "Advies Raad van State", (Stage.ADVIES_RVS,)),
    ("ingediend", "Ingediend bij de Tweede Kamer", (Stage.INGEDIEND,)),
    ("tk", "Tweede Kamer", (Stage.AANGENOMEN_TK, Stage.VERWORPEN_TK)),
    ("ek", "Eerste Kamer", (Stage.AANGENOMEN_EK, Stage.VERWORPEN_EK)),
    ("gepubliceerd", "Staatsblad", (Stage.GEPUBLICEERD,)),
    ("in_werking", "In werking", (Stage.IN_WERKING,)),
)
LETTER_PATH: tuple[tuple[str, str, tuple[Stage, ...]], ...] = (
    ("brief", "Brief naar de Kamer", (Stage.BRIEF,)),
)


def path(reached: Stage | None, stage_dates: Mapping[Stage, dt.date], promised: Stage | None) -> list[Step]:
    """The steps from consultation to entry into force (or the one step of a promised letter), each with
    the first date it was seen. Steps before the furthest one seen were passed without a document here; a
    rejection fails its vote's step; a withdrawal fails the step after the furthest one."""
    letter = promised is Stage.BRIEF or reached is Stage.BRIEF
    steps_def = LETTER_PATH if letter else BILL_PATH
    seen: dict[Stage, dt.date | None] = {s: d for s, d in stage_dates.items() if s is not Stage.INGETROKKEN}
    if reached is not None and reached is not Stage.INGETROKKEN and reached not in seen:
        seen[reached] = None  # reached, but no date known for it
    hits = [next((s for s in stages if s in seen), None) for _key, _label, stages in steps_def]
    furthest = max((i for i, hit in enumerate(hits) if hit is not None), default=-1)
    steps: list[Step] = []
    for i, ((key, label, stages), hit) in enumerate(zip(steps_def, hits, strict=True)):
        outcome = None
        if hit in (Stage.AANGENOMEN_TK, Stage.AANGENOMEN_EK):
            outcome = "aangenomen"
        elif hit in (Stage.VERWORPEN_TK, Stage.VERWORPEN_EK):
            outcome = "verworpen"
        if hit is not None:
            state, day = ("failed" if hit in TERMINAL_FAILURES else "reached"), seen[hit]
        elif i < furthest:
            state, day = "passed", None
        else:
            state, day = "todo", None
        steps.append(Step(key, label, state, day, promised in stages if promised else False, i == furthest,
                          outcome))
    if reached is Stage.INGETROKKEN:
        nxt = furthest + 1
        if nxt < len(steps):
            s = steps[nxt]
            steps[nxt] = Step(s.key, s.label, "failed", stage_dates.get(Stage.INGETROKKEN), s.promised, True,
                              "ingetrokken")
            if furthest >= 0:
                f = steps[furthest]
                steps[furthest] = Step(f.key, f.label, f.state, f.day, f.promised, False, f.outcome)
    return steps


def stage_label(stage: Stage | None) -> str:
    return DUTCH[stage] if stage is not None else "nog niets gezien"


# ------------------------------------------------------------------------------------------ filters


def fold(text: str) -> str:
    """Text for search: case and accents folded ("Financiële" finds "financiele")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True, slots=True)
class Filters:
    """The scoreboard's filters, as they stand in the query string (so a link is shareable)."""

    letter: str | None = None  # short letter id: "003", or "telegram" for maintainers' promises
    ministry: str | None = None
    kind: str | None = None
    status: Status | None = None
    query: str | None = None

    @property
    def active(self) -> bool:
        return any((self.letter, self.ministry, self.kind, self.status, self.query))

    def params(self) -> list[tuple[str, str]]:
        """The query string pairs, in a fixed order."""
        pairs = [("brief", self.letter), ("ministerie", self.ministry), ("soort", self.kind),
                 ("status", self.status.value if self.status else None), ("q", self.query)]
        return [(k, v) for k, v in pairs if v]


def matches(f: Filters, *, letters: Sequence[str], ministry: str, kind: str, status: Status,
            haystack: str) -> bool:
    """Whether one commitment passes the filters; `haystack` is its folded searchable text."""
    if f.letter and f.letter not in letters:
        return False
    if f.ministry and f.ministry != ministry:
        return False
    if f.kind and f.kind != kind:
        return False
    if f.status and f.status is not status:
        return False
    if f.query:
        return all(word in haystack for word in fold(f.query).split())
    return True
