"""The site's pure parts, table-tested: a promise's status and how late or early it was kept, the legislative
path's steps, the scoreboard counts, search folding; and the response cache (one render per URL however many
wait, its lifetime, Last-Modified that never claims a body older than it is)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from bot.dutch import span_nl
from bot.web.http import Render, ResponseCache
from bot.web.model import Status, Verdict, count, fold, judge, path, verdict
from matchers.stages import Stage
from storage.catalog_repo import CommitmentView, PromiseView

TODAY = dt.date(2026, 12, 4)


def promise(stage: Stage, due: dt.date | None, *, kept: bool = False, overdue: bool = False,
            open_ended: bool = False, written: str | None = "Q2 2026") -> PromiseView:
    return PromiseView("000_x.txt", 10, "quote", written if due else None, due, open_ended, stage, kept, overdue)


def view(p: PromiseView, stage: Stage | None, overdue: bool) -> CommitmentView:
    return CommitmentView("s", "T", "wetsvoorstel", "BZK", stage, p.due, overdue, (), (p,), ("000_x.txt",))


@pytest.mark.parametrize(("p", "dates", "status", "days", "sentence"), [
    (promise(Stage.INGEDIEND, dt.date(2026, 6, 30), kept=True), {Stage.INGEDIEND: dt.date(2026, 8, 1)},
     Status.KEPT_LATE, 32, "32 dagen te laat gehaald"),
    (promise(Stage.INGEDIEND, dt.date(2026, 6, 30), kept=True), {Stage.AANGENOMEN_TK: dt.date(2026, 5, 1)},
     Status.KEPT, -60, "op tijd gehaald, 2 maanden voor de termijn"),
    (promise(Stage.INGEDIEND, dt.date(2026, 6, 30), kept=True), {Stage.INGEDIEND: dt.date(2026, 6, 30)},
     Status.KEPT, 0, "gehaald, precies op de termijn"),
    (promise(Stage.INGEDIEND, None, kept=True), {Stage.INGEDIEND: dt.date(2026, 6, 30)}, Status.KEPT, None,
     "gehaald"),
    (promise(Stage.INGEDIEND, dt.date(2026, 6, 30), kept=True, open_ended=True),
     {Stage.INGEDIEND: dt.date(2027, 1, 1)}, Status.KEPT, None, "gehaald"),
    (promise(Stage.INGEDIEND, dt.date(2026, 6, 30), overdue=True), {}, Status.OVERDUE, 157,
     "5 maanden over de termijn"),
    (promise(Stage.INGEDIEND, dt.date(2027, 6, 30)), {}, Status.OPEN, None, "nog 7 maanden"),
    (promise(Stage.INGEDIEND, dt.date(2026, 12, 4)), {}, Status.OPEN, None, "de termijn verloopt vandaag"),
    (promise(Stage.INGEDIEND, dt.date(2027, 6, 30), open_ended=True), {}, Status.OPEN, None,
     "niet vóór 30 juni 2027"),
    (promise(Stage.INGEDIEND, None), {Stage.ADVIES_RVS: dt.date(2026, 1, 1)}, Status.NO_DEADLINE, None,
     "geen datum beloofd"),
], ids=["kept-late", "kept-early-by-a-later-stage", "kept-on-the-day", "kept-no-date", "kept-open-ended",
        "overdue", "open", "due-today", "open-ended", "no-deadline"])
def test_judge(p: PromiseView, dates: dict[Stage, dt.date], status: Status, days: int | None, sentence: str) -> None:
    v = judge(p, dates, TODAY)
    assert (v.status, v.days, v.sentence(TODAY)) == (status, days, sentence)


def test_verdict_follows_the_read_models_overdue_flag() -> None:
    p = promise(Stage.INGEDIEND, dt.date(2026, 6, 30))
    assert verdict(view(p, None, overdue=True), p, {}, TODAY).status is Status.OVERDUE
    assert verdict(view(p, None, overdue=False), None, {}, TODAY) == Verdict(Status.NO_DEADLINE, None, None, None)


def steps(reached: Stage | None, dates: dict[Stage, dt.date], promised: Stage | None) -> list[tuple[str, str, bool]]:
    return [(s.key, s.state, s.current) for s in path(reached, dates, promised)]


D = dt.date(2026, 1, 1)


@pytest.mark.parametrize(("reached", "dates", "promised", "expected"), [
    (None, {}, Stage.INGEDIEND, [("consultatie", "todo", False), ("advies_rvs", "todo", False),
                                 ("ingediend", "todo", False), ("tk", "todo", False), ("ek", "todo", False),
                                 ("gepubliceerd", "todo", False), ("in_werking", "todo", False)]),
    (Stage.AANGENOMEN_TK, {Stage.ADVIES_RVS: D, Stage.AANGENOMEN_TK: D}, Stage.GEPUBLICEERD,
     [("consultatie", "passed", False), ("advies_rvs", "reached", False), ("ingediend", "passed", False),
      ("tk", "reached", True), ("ek", "todo", False), ("gepubliceerd", "todo", False),
      ("in_werking", "todo", False)]),
    (Stage.VERWORPEN_EK, {Stage.INGEDIEND: D, Stage.VERWORPEN_EK: D}, Stage.GEPUBLICEERD,
     [("consultatie", "passed", False), ("advies_rvs", "passed", False), ("ingediend", "reached", False),
      ("tk", "passed", False), ("ek", "failed", True), ("gepubliceerd", "todo", False),
      ("in_werking", "todo", False)]),
    (Stage.INGETROKKEN, {Stage.INGEDIEND: D, Stage.INGETROKKEN: D}, Stage.INGEDIEND,
     [("consultatie", "passed", False), ("advies_rvs", "passed", False), ("ingediend", "reached", False),
      ("tk", "failed", True), ("ek", "todo", False), ("gepubliceerd", "todo", False),
      ("in_werking", "todo", False)]),
    (Stage.INGEDIEND, {}, Stage.INGEDIEND,  # reached without a dated document
     [("consultatie", "passed", False), ("advies_rvs", "passed", False), ("ingediend", "reached", True),
      ("tk", "todo", False), ("ek", "todo", False), ("gepubliceerd", "todo", False),
      ("in_werking", "todo", False)]),
    (None, {}, Stage.BRIEF, [("brief", "todo", False)]),
    (Stage.BRIEF, {Stage.BRIEF: D}, Stage.BRIEF, [("brief", "reached", True)]),
], ids=["nothing", "tk-vote", "rejected-by-ek", "withdrawn", "undated", "letter-to-come", "letter-sent"])
def test_path(reached: Stage | None, dates: dict[Stage, dt.date], promised: Stage | None,
              expected: list[tuple[str, str, bool]]) -> None:
    assert steps(reached, dates, promised) == expected


def test_path_marks_the_promised_step_and_the_vote() -> None:
    result = path(Stage.AANGENOMEN_TK, {Stage.AANGENOMEN_TK: D}, Stage.IN_WERKING)
    assert [s.key for s in result if s.promised] == ["in_werking"]
    assert next(s for s in result if s.key == "tk").outcome == "aangenomen"


def test_counts_partition_the_catalog() -> None:
    c = count([(Status.KEPT, Stage.INGEDIEND), (Status.KEPT_LATE, Stage.BRIEF), (Status.OVERDUE, None),
               (Status.OVERDUE, Stage.ADVIES_RVS), (Status.OPEN, Stage.ADVIES_RVS), (Status.NO_DEADLINE, None),
               (Status.OPEN, None)])
    assert c.sentence() == "7 toezeggingen: 2 gehaald, 2 te laat, 1 onderweg, 2 nog niets"
    assert count([(Status.OPEN, None)]).sentence() == "1 toezegging: 0 gehaald, 0 te laat, 0 onderweg, 1 nog niets"


@pytest.mark.parametrize(("days", "text"), [(1, "1 dag"), (44, "44 dagen"), (45, "1 maand"), (200, "7 maanden"),
                                            (365, "1 jaar"), (430, "1 jaar en 2 maanden"), (-17, "17 dagen")])
def test_span_nl(days: int, text: str) -> None:
    assert span_nl(days) == text


def test_fold_ignores_case_and_accents() -> None:
    assert fold("Financiële Verhoudingswet") == "financiele verhoudingswet"


# ------------------------------------------------------------------------------------------ cache


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


async def inline(render: Render) -> tuple[bytes, str]:
    await asyncio.sleep(0)  # let the other requests arrive while this one renders
    return render()


def renderer(bodies: list[bytes]) -> tuple[Callable[[], tuple[bytes, str]], list[int]]:
    calls = [0]

    def render() -> tuple[bytes, str]:
        calls[0] += 1
        return bodies[min(calls[0], len(bodies)) - 1], "text/plain"

    return render, calls


async def test_concurrent_requests_for_one_url_render_once() -> None:
    cache = ResponseCache(5)
    render, calls = renderer([b"page"])
    results = await asyncio.gather(*(cache.get("/", render, inline) for _ in range(50)))
    assert calls[0] == 1 and {r.body for r in results} == {b"page"}


async def test_a_failed_render_reaches_every_waiter_and_is_not_kept() -> None:
    cache = ResponseCache(5)

    def broken() -> tuple[bytes, str]:
        raise LookupError("no")

    results = await asyncio.gather(*(cache.get("/", broken, inline) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results)
    render, calls = renderer([b"ok"])
    assert (await cache.get("/", render, inline)).body == b"ok" and calls[0] == 1


async def test_bodies_are_kept_for_their_lifetime_and_validators_outlive_them() -> None:
    wall, mono = Clock(), Clock()
    cache = ResponseCache(5, clock=wall, monotonic=mono)
    render, calls = renderer([b"v1", b"v1", b"v2"])
    first = await cache.get("/", render, inline)
    wall.now += 3
    mono.now += 3
    assert (await cache.get("/", render, inline)) is first and calls[0] == 1
    wall.now += 10
    mono.now += 10
    same = await cache.get("/", render, inline)  # rendered again, unchanged: its date stays
    assert calls[0] == 2 and same.etag == first.etag and same.last_modified == first.last_modified
    wall.now += 10
    mono.now += 10
    changed = await cache.get("/", render, inline)
    assert changed.etag != first.etag and changed.last_modified == int(wall.now)


async def test_a_change_within_the_same_second_gets_a_later_date() -> None:
    wall = Clock()
    cache = ResponseCache(0, clock=wall)
    render, _calls = renderer([b"v1", b"v2", b"v3"])
    dates = [(await cache.get("/", render, inline)).last_modified for _ in range(3)]
    assert dates == [int(wall.now), int(wall.now) + 1, int(wall.now) + 2]


async def test_without_a_lifetime_every_request_renders() -> None:
    cache = ResponseCache(0)
    render, calls = renderer([b"x"])
    await asyncio.gather(*(cache.get("/", render, inline) for _ in range(4)))
    assert calls[0] == 4


async def test_after_a_change_the_last_answer_is_given_while_the_new_one_renders() -> None:
    cache = ResponseCache(300)
    old, calls_old = renderer([b"v1"])
    first = await cache.get("v1|/", old, inline, stable="/")
    new, calls_new = renderer([b"v2"])
    answers = await asyncio.gather(*(cache.get("v2|/", new, inline, stable="/") for _ in range(20)))
    assert {a.body for a in answers} == {b"v1"} and answers[0] is first  # nobody waited
    await cache.settle()
    assert calls_new[0] == 1 and (await cache.get("v2|/", new, inline, stable="/")).body == b"v2"
    assert calls_old[0] == 1


async def test_a_failing_background_render_keeps_the_last_answer() -> None:
    cache = ResponseCache(300)
    good, _calls = renderer([b"v1"])
    await cache.get("v1|/", good, inline, stable="/")

    def broken() -> tuple[bytes, str]:
        raise LookupError("no")

    assert (await cache.get("v2|/", broken, inline, stable="/")).body == b"v1"
    await cache.settle()
    assert (await cache.get("v2|/", broken, inline, stable="/")).body == b"v1"
    await cache.settle()


async def test_the_loop_share_lets_a_few_requests_in_per_turn_in_order() -> None:
    from bot.web.http import LoopShare

    started: list[int] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        started.append(scope["n"])

    share = LoopShare(inner, per_turn=2)
    tasks = [asyncio.create_task(share({"type": "http", "n": i}, None, None)) for i in range(10)]  # type: ignore[arg-type]
    await asyncio.sleep(0)  # one turn of the loop: every request arrived, two went in
    assert started == [0, 1]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert 2 < len(started) < 10  # the next ones, a few per turn
    await asyncio.gather(*tasks)
    assert started == list(range(10))
