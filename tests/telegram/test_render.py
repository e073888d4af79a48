"""The bot's texts: escaped outside text, never over Telegram's limit, the promise against reality in words."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from bot.telegram import render
from matchers.stages import Stage
from storage.catalog_repo import CommitmentView, PromiseView

TODAY = dt.date(2026, 11, 23)


def _promise(due: dt.date | None, stage: Stage = Stage.INGEDIEND, written: str | None = "Q2 2026",
             open_ended: bool = False) -> PromiseView:
    return PromiseView(letter="000_415c6a15cb3a979c.txt", line=221, quote="Wetsvoorstel lobbyregister",
                       as_written=written, due=due, open_ended=open_ended, stage=stage, kept=False, overdue=False)


def _view(promise: PromiseView, stage: Stage | None = None) -> CommitmentView:
    return CommitmentView(slug="lobbyregister", title="Wetsvoorstel lobbyregister", kind="wetsvoorstel",
                          ministry="BZK", stage=stage, due=promise.due, overdue=False, dossiers=("37100",),
                          promises=(promise,), letters=(promise.letter,))


def _event(**over: object) -> dict[str, object]:
    event: dict[str, object] = {
        "id": "evt_abc", "type": "commitment.stage",
        "commitment": {"slug": "lobbyregister", "title": "Wetsvoorstel lobbyregister"}, "stage": "ingediend",
        "documents": [{"source": "ob", "id": "kst-37100-3", "kst": "kst-37100-3", "type": "Memorie van toelichting",
                       "title": "Regels over lobbyen", "dossier": "37100", "date": "2026-11-20",
                       "url": "https://zoek.officielebekendmakingen.nl/kst-37100-3.html"}],
        "reason": "dossier 37100 is linked to lobbyregister", "detected_at": "2026-11-23T09:00:00Z",
    }
    event.update(over)
    return event


def _visible(message: str) -> str:
    """The text Telegram shows: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", message))


@pytest.mark.parametrize(
    ("days", "words"),
    [(1, "1 dag"), (3, "3 dagen"), (44, "44 dagen"), (120, "4 maanden"), (365, "1 jaar"), (430, "1 jaar en 2 maanden")],
)
def test_spans_in_words(days: int, words: str) -> None:
    assert render.span_nl(days) == words


def test_promise_against_reality() -> None:
    late = _promise(dt.date(2026, 6, 30))
    assert render.promise_vs_reality(late, None, dt.date(2026, 10, 30)) == \
        "beloofd: Q2 2026 (uiterlijk 30 juni 2026) — 4 maanden te laat"
    assert render.promise_vs_reality(late, None, dt.date(2026, 5, 30)).endswith("— nog 31 dagen")  # type: ignore[union-attr]
    kept_late = render.promise_vs_reality(late, Stage.AANGENOMEN_TK, TODAY, kept_on=dt.date(2026, 8, 1))
    assert kept_late == "beloofd: Q2 2026 (uiterlijk 30 juni 2026) — 32 dagen te laat gehaald"
    assert render.promise_vs_reality(late, Stage.INGEDIEND, TODAY, kept_on=dt.date(2026, 6, 1)) == \
        "beloofd: Q2 2026 (uiterlijk 30 juni 2026) — op tijd, 29 dagen voor de termijn"
    open_ended = _promise(dt.date(2027, 4, 1), written="Q2 2027 en later", open_ended=True)
    assert render.promise_vs_reality(open_ended, None, TODAY) == \
        "beloofd: Q2 2027 en later (zonder einddatum) — nog niet ingediend bij de Tweede Kamer"


def test_alert_has_stage_documents_reason_and_promise() -> None:
    view = _view(_promise(dt.date(2026, 6, 30)), Stage.INGEDIEND)
    [message] = render.alert(_event(), view, TODAY)
    shown = _visible(message)
    assert "Wetsvoorstel lobbyregister" in shown
    assert "Nieuwe fase: ingediend bij de Tweede Kamer" in shown
    assert '<a href="https://zoek.officielebekendmakingen.nl/kst-37100-3.html">Memorie van toelichting</a>' in message
    assert "dossier 37100 is linked to lobbyregister" in shown
    assert "Beloofd: Q2 2026 (uiterlijk 30 juni 2026) — 5 maanden te laat gehaald" in shown
    assert "/status lobbyregister" in shown


def test_outside_text_is_escaped() -> None:
    hostile = '<b>x</b> & <a href="javascript:alert(1)">klik</a>'
    event = _event(commitment={"slug": "lobbyregister", "title": hostile}, reason=hostile,
                   documents=[{"type": "<script>", "title": hostile, "url": 'https://x.nl/"><b>', "id": "a&b"}])
    [message] = render.alert(event, None, TODAY)
    assert "<script>" not in message and "javascript:alert(1)\">" not in message
    assert _visible(message).count(hostile) == 3  # shown literally: title, document title, reason
    tags = re.findall(r"</?([a-z]+)", message)
    assert set(tags) <= {"b", "i", "a", "code"}


def test_huge_events_stay_under_the_limit() -> None:
    documents = [{"type": "Amendement " + "x" * 500, "title": "é" * 3000, "id": f"kst-37100-{n}",
                  "url": f"https://zoek.officielebekendmakingen.nl/kst-37100-{n}.html", "date": "2026-11-20"}
                 for n in range(40)]
    event = _event(documents=documents, reason="r" * 10_000,
                   commitment={"slug": "lobbyregister", "title": "🇳🇱" * 2000})
    messages = render.alert(event, None, TODAY)
    assert messages and all(render.utf16_len(m) <= render.LIMIT for m in messages)
    assert "… en nog 28 stukken" in _visible("".join(messages))
    status = render.pack(render.status_blocks(_view(_promise(dt.date(2026, 6, 30))), [event] * 30, {}, TODAY))
    assert len(status) > 1 and all(render.utf16_len(m) <= render.LIMIT for m in status)


def test_overdue_alert_quotes_the_promise() -> None:
    event = _event(type="commitment.overdue", documents=[], reason="beloofd …",
                   promise={"letter": "000_415c6a15cb3a979c.txt", "line": 221, "quote": "Wetsvoorstel lobbyregister",
                            "as_written": "Q2 2026", "due": "2026-06-30", "stage": "ingediend"})
    [message] = render.alert(event, _view(_promise(dt.date(2026, 6, 30))), dt.date(2026, 7, 1))
    shown = _visible(message)
    assert "Termijn verstreken" in shown and "“Wetsvoorstel lobbyregister”" in shown
    assert "000_415c6a15cb3a979c.txt, regel 221 — termijn: Q2 2026" in shown
    assert "Beloofd: Q2 2026 (uiterlijk 30 juni 2026) — 1 dag te laat" in shown


def test_list_page_and_digest() -> None:
    views = [_view(_promise(dt.date(2026, 6, 30)))] * 20
    text, page, pages = render.list_page(views, 5, "BZK")
    assert (page, pages) == (2, 3) and "pagina 3/3" in text
    messages = render.digest([_event()] * 3, "daily", {"lobbyregister": views[0]}, TODAY)
    assert len(messages) == 1 and "Dagoverzicht" in messages[0] and "3 meldingen" in messages[0]
