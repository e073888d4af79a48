"""`wetwacht poll` end to end: the real command against a SyncFeed and an SRU endpoint served on 127.0.0.1 in
the real formats, with real paging and skiptokens. Checks the cursors, the backlog rule, one event for a
Kamerstuk published by both sources, a second poll that does nothing, a fault and the catch-up after it,
re-emissions and deletions."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.e2e

WPP_TITLE = ("Regels betreffende de financiering van politieke partijen en transparantieregels met betrekking tot "
             "hun interne organisatie en financiën, evenals regels met betrekking tot het toezicht en het verbieden "
             "van politieke partijen (Wet op de politieke partijen)")


def wetwacht(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def as_json(*argv: str) -> Any:
    code, out, err = wetwacht(*argv, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def upstream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeUpstream]:
    with FakeUpstream(page_size=25) as up:
        monkeypatch.setenv("WETWACHT_DATABASE_URL", f"sqlite:///{tmp_path / 'e2e.db'}")
        monkeypatch.setenv("WETWACHT_TK_FEED_URL", up.feed_url)
        monkeypatch.setenv("WETWACHT_SRU_URL", up.sru_url)
        monkeypatch.setenv("WETWACHT_EK_URL", up.ek_url)
        monkeypatch.setenv("WETWACHT_CONSULTATIE_URL", up.consultatie_url)
        monkeypatch.setenv("WETWACHT_START", "now")
        monkeypatch.setenv("WETWACHT_PAGE_PAUSE_SECONDS", "0")
        yield up


def test_poll_end_to_end(upstream: FakeUpstream) -> None:
    up = upstream
    today = dt.date.today()
    up.now = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)  # the feed's clock: history is a month old
    # History that exists before wetwacht is installed: more than a page of it, in several categories.
    dossier = up.add_dossier("36742", WPP_TITLE)
    zaak = up.add_zaak("2025Z09154", dossier=dossier, titel=WPP_TITLE)
    for n in range(40):
        up.add_document(f"2025D2{n:04d}", soort="Brief regering", titel=f"Oude brief {n}", volgnummer=-1)
    up.add_document("2025D21083", soort="Voorstel van wet", titel=WPP_TITLE, volgnummer=2, dossier=dossier,
                    zaak=zaak, externe_identifier="kst-36742-2")
    up.add_kamerstuk("36742", "2", dossiertitel=WPP_TITLE, soort="Voorstel van wet", modified=today)

    # 1. Installation: everything already there is backlog; the cursors land at the head. What KOOP held is
    #    the commitment's history: its stage is known from the first day, with no event.
    code, _out, err = wetwacht("poll")
    assert code == 0, err
    assert as_json("events") == []
    wpp = next(c for c in as_json("commitments") if c["slug"] == "wet-politieke-partijen")
    assert wpp["stage"] == "ingediend"
    assert [h["id"] for h in as_json("show", "wet-politieke-partijen")["history"]] == ["kst-36742-2"]
    sources = {s["name"]: s for s in as_json("sources")}
    assert set(sources) == {"tk", "ob", "ek", "ic"}
    history = sources["ob"]["history"]  # the installation history, read from KOOP: all of it done
    assert history["dossiers"] == history["dossiers_done"] >= 12 and history["search"] == "done"
    assert history["pending"] == 0 and history["failed"] == 0 and history["requests"] >= 13
    code, text, _err = wetwacht("sources")
    assert code == 0 and f"history: {history['dossiers']} of {history['dossiers']} linked dossiers read" in text
    cursor = json.loads(sources["tk"]["cursor"])
    assert cursor["Document"] == up.head("Document") and cursor["Kamerstukdossier"] == up.head("Kamerstukdossier")
    assert all(s["last_success"] and s["consecutive_failures"] == 0 for s in sources.values())

    # 2. A memorie van toelichting appears in both sources: one event, both documents; the bill was already
    #    submitted, so it is a document of the commitment, not its submission again.
    up.now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    doc = up.add_document("2026D40001", soort="Memorie van toelichting", titel=WPP_TITLE, volgnummer=3,
                          dossier=dossier, zaak=zaak, externe_identifier="kst-36742-3")
    up.add_kamerstuk("36742", "3", dossiertitel=WPP_TITLE, soort="Memorie van toelichting", modified=today)
    code, _out, err = wetwacht("poll")
    assert code == 0, err
    [event] = as_json("events")
    assert event["type"] == "commitment.document" and event["stage"] == "ingediend"
    assert event["commitment"]["slug"] == "wet-politieke-partijen"
    assert {(d["source"], d["kst"]) for d in event["documents"]} == {("tk", "kst-36742-3"), ("ob", "kst-36742-3")}
    assert event["id"].startswith("evt_") and event["detected_at"].endswith("Z")

    # 3. Nothing new: a quiet poll makes nothing and costs few requests.
    up.reset_counts()
    code, _out, err = wetwacht("poll")
    assert code == 0, err
    assert [e["id"] for e in as_json("events")] == [event["id"]]
    assert up.count("feed") <= 5 * 2 and up.count("sru") <= 2

    # 4. A fault: the feed answers truncated XML. The poll fails (exit 1), the SRU source still runs, the
    #    feed's cursor stays where it was and nothing is lost: the next healthy poll catches up.
    before = json.loads(next(s for s in as_json("sources") if s["name"] == "tk")["cursor"])
    up.add_document("2026D40100", soort="Verslag", titel=WPP_TITLE, volgnummer=7, dossier=dossier, zaak=zaak,
                    externe_identifier="kst-36742-7")
    up.fail_next(1, "truncate", on="feed")
    code, _out, err = wetwacht("poll")
    assert code == 1
    assert "tk: FAILED" in err and "ParseError" in err and "ob: ok" in err
    tk = next(s for s in as_json("sources") if s["name"] == "tk")
    assert tk["consecutive_failures"] == 1 and "ParseError" in tk["last_error"]
    assert json.loads(tk["cursor"])["Document"] == before["Document"]
    code, _out, err = wetwacht("poll")
    assert code == 0, err
    events = as_json("events")
    assert [e["type"] for e in events] == ["commitment.document", "commitment.document"]
    assert events[1]["documents"][0]["kst"] == "kst-36742-7" and events[1]["stage"] == "ingediend"
    assert next(s for s in as_json("sources") if s["name"] == "tk")["consecutive_failures"] == 0

    # 5. A bulk data correction re-emits every entity unchanged: no new event.
    assert up.reemit_all() > 40
    code, _out, err = wetwacht("poll")
    assert code == 0, err
    assert len(as_json("events")) == 2, [(e["type"], [(d["source"], d["id"], d["type"]) for d in e["documents"]]) for e in as_json("events")]

    # 6. The Tweede Kamer withdraws its copy of the memorie: the event stands (the KOOP copy is still published),
    #    and the withdrawal makes no new event.
    up.delete(doc)
    code, _out, err = wetwacht("poll")
    assert code == 0, err
    shown = as_json("show", "wet-politieke-partijen")
    statuses = {e["id"]: e["status"] for e in shown["timeline"]}
    assert statuses[event["id"]] == "published"  # the KOOP copy of the memorie still stands
    assert len(as_json("events")) == 2
