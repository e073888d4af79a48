"""`wetwacht poll` end to end with the two new sources: a fake eerstekamer.nl and internetconsultatie.nl on
127.0.0.1 in the markup of the reconstructed fixtures, beside the fake SyncFeed and SRU endpoint. A linked bill's
Senate vote and a linked commitment's consultation each make their event; the Eerste Kamer's receipt of a bill
(KOOP stuk A) stands for a Tweede Kamer vote that was missed; motions make nothing; what both sites hold at
installation is backlog; the faults (503, changed markup, truncated page) fail the source, keep its cursor and lose
nothing, and the maintainers are told after N failures."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.cli import main
from storage.db import make_engine, session_scope
from storage.models import NoticeRow
from tests.fakes.sites import FakeEersteKamer, FakeInternetconsultatie
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.e2e

WPP_TITLE = ("Regels betreffende de financiering van politieke partijen en transparantieregels met betrekking tot "
             "hun interne organisatie en financiën, evenals regels met betrekking tot het toezicht en het verbieden "
             "van politieke partijen (Wet op de politieke partijen)")
# The votes and consultations of the test happen yesterday: a document whose own date lies weeks before the
# installation is the past shown again (bot.novelty), and a vote list shows a vote the same day or the next.
TODAY = dt.date.today()
DAY = TODAY - dt.timedelta(days=1)


def wetwacht(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def as_json(*argv: str) -> Any:
    code, out, err = wetwacht(*argv, "--json")
    assert code == 0, err
    return json.loads(out)


def source(name: str) -> dict[str, Any]:
    return next(s for s in as_json("sources") if s["name"] == name)


def events_of(stage: str | None = None, slug: str | None = None) -> list[dict[str, Any]]:
    return [e for e in as_json("events") if (stage is None or e["stage"] == stage)
            and (slug is None or e["commitment"]["slug"] == slug)]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeUpstream, FakeEersteKamer,
                                                                             FakeInternetconsultatie, str]]:
    with FakeUpstream(page_size=25) as up:
        ek, ic = up.ek, up.ic
        db = f"sqlite:///{tmp_path / 'e2e.db'}"
        monkeypatch.setenv("WETWACHT_DATABASE_URL", db)
        monkeypatch.setenv("WETWACHT_TK_FEED_URL", up.feed_url)
        monkeypatch.setenv("WETWACHT_SRU_URL", up.sru_url)
        monkeypatch.setenv("WETWACHT_EK_URL", ek.base_url)
        monkeypatch.setenv("WETWACHT_CONSULTATIE_URL", ic.base_url)
        monkeypatch.setenv("WETWACHT_START", "now")
        monkeypatch.setenv("WETWACHT_PAGE_PAUSE_SECONDS", "0")
        monkeypatch.setenv("WETWACHT_MAINTAINERS", "77")
        monkeypatch.setenv("WETWACHT_SOURCE_ALERT_AFTER", "2")
        yield up, ek, ic, db


def notices(db: str, subject: str) -> list[str]:
    engine = make_engine(db)
    try:
        with session_scope(engine) as session:
            return [n.kind for n in session.exec(select(NoticeRow).where(NoticeRow.subject == subject)
                                                 .order_by(col(NoticeRow.id)))]
    finally:
        engine.dispose()


def test_senate_votes_and_consultations_end_to_end(
        world: tuple[FakeUpstream, FakeEersteKamer, FakeInternetconsultatie, str]) -> None:
    up, ek, ic, _db = world
    up.now = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    up.add_dossier("36742", WPP_TITLE)
    # Installation: the votes and consultations already listed are backlog, including one on a linked dossier.
    ek.add_vote(dt.date(2026, 9, 29), "Grondwetsvoorstel verkiezing Eerste Kamer", "35.532")
    ic.add("wetbevorderenintegriteit", "Wet bevorderen integriteit en functioneren decentraal bestuur tweede tranche",
           intro="Regels over integriteit in het decentraal bestuur.", start=dt.date(2026, 9, 1))

    code, _out, err = wetwacht("poll")
    assert code == 0, err
    assert "ek: ok" in err and "ic: ok" in err
    assert as_json("events") == []
    sources = {s["name"]: s for s in as_json("sources")}
    assert set(sources) == {"tk", "ob", "ek", "ic"}
    assert json.loads(sources["ek"]["cursor"])["latest"] == "2026-09-29"
    assert json.loads(sources["ic"]["cursor"])["seen"] == ["isde", "wetbevorderenintegriteit"]
    assert all(s["consecutive_failures"] == 0 and s["last_success"] for s in sources.values())

    # News. KOOP publishes the Eerste Kamer's stuk A of 36742 (the Tweede Kamer's vote was never seen); the Senate
    # votes: the bill adopted, a motion in its dossier, another linked bill rejected, a Rijkswet-numbered Grondwet
    # proposal whose item is unclear (its bill page confirms it), an unlinked hamerstuk; a draft bill goes out for
    # consultation, and an AMvB.
    up.now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    up.add_kamerstuk("36742", "A", dossiertitel=WPP_TITLE, soort="Voorstel van wet",
                     documenttitel="Gewijzigd voorstel van wet", chamber="EK", modified=dt.date.today())
    ek.add_vote(DAY, "Wet op de politieke partijen", "36.742")
    ek.add_vote(DAY, "Motie-Koekkoek (Volt) c.s. over de Wet op de politieke partijen", "36.742, M", motion=True,
                outcome="Verworpen")
    ek.add_vote(DAY, "Correctief bindend referendum", "36.468", outcome="Verworpen",
                method="Hoofdelijke stemming, verworpen")
    ek.add_vote(DAY, "Terugzendrecht Eerste Kamer", "36.374 (R2187)", outcome=None, method="Algemene stemmen")
    ek.add_bill("36.374 (R2187)", "Terugzendrecht Eerste Kamer", vote_day=DAY)
    ek.add_vote(DAY, "Wet vereenvoudiging partnerbegrip toeslagen", "36.932", method="Hamerstuk")
    ic.add("wetlobbyregister", "Wet lobbyregister", start=DAY,
           intro="Met dit wetsvoorstel wordt een verplicht lobbyregister ingesteld voor wie lobbyt bij de rijksoverheid.")
    ic.add("besluitvuurwerk", "Besluit vuurwerk 2027", type="AMvB", organisatie="Ministerie van Infrastructuur en Waterstaat")

    code, _out, err = wetwacht("poll")
    assert code == 0, err
    by = {(e["commitment"]["slug"], e["stage"]): e for e in as_json("events")}
    assert set(by) == {("wet-politieke-partijen", "aangenomen_tk"), ("wet-politieke-partijen", "aangenomen_ek"),
                       ("correctief-referendum", "verworpen_ek"), ("terugzendrecht-eerste-kamer", "aangenomen_ek"),
                       ("lobbyregister", "consultatie")}
    assert all(e["type"] == "commitment.stage" for e in by.values())

    arrival = by[("wet-politieke-partijen", "aangenomen_tk")]
    assert [(d["source"], d["id"], d["type"]) for d in arrival["documents"]] == [("ob", "kst-36742-A", "Voorstel van wet")]
    assert "the Tweede Kamer adopted the bill" in arrival["reason"] and "Gewijzigd voorstel van wet" in arrival["reason"]

    senate = by[("wet-politieke-partijen", "aangenomen_ek")]
    [vote] = senate["documents"]
    assert (vote["source"], vote["id"], vote["dossier"], vote["date"], vote["type"]) == (
        "ek", f"{DAY.isoformat()}/36742", "36742", DAY.isoformat(), "Stemming Eerste Kamer")
    assert vote["url"] == f"{ek.base_url}/verslagdeel/{DAY.strftime('%Y%m%d')}/wet_op_de"
    assert senate["reason"] == ("dossier 36742 is linked to wet-politieke-partijen; the Eerste Kamer adopted the bill "
                                f"on {DAY.isoformat()} (Stemming bij zitten en opstaan, aangenomen)")
    assert "rejected the bill" in by[("correctief-referendum", "verworpen_ek")]["reason"]
    terugzend = by[("terugzendrecht-eerste-kamer", "aangenomen_ek")]
    assert terugzend["documents"][0]["dossier"] == "36374" and "confirmed on its bill page" in terugzend["reason"]

    consultation = by[("lobbyregister", "consultatie")]
    [page] = consultation["documents"]
    assert (page["source"], page["id"], page["url"], page["date"]) == (
        "ic", "wetlobbyregister", f"{ic.base_url}/wetlobbyregister/b1", DAY.isoformat())
    assert "internetconsultatie of the draft bill (type Wet)" in consultation["reason"]
    assert ek.count("/wetsvoorstel/") == 1  # only the unclear item's bill page was read

    # A quiet poll reads one page of each site and makes nothing.
    ek.reset_counts()
    ic.reset_counts()
    code, _out, err = wetwacht("poll")
    assert code == 0, err
    assert len(as_json("events")) == 5
    assert ek.count() == 1 and ic.count() == 1

    # A consultation for a commitment already past that stage is a document event at the stage it reached.
    ic.add("wetpolitiekepartijen", "Wet op de politieke partijen", start=TODAY,
           intro="Aanpassing van de Wet op de politieke partijen.")
    code, _out, err = wetwacht("poll")
    assert code == 0, err
    [late] = [e for e in events_of(slug="wet-politieke-partijen") if e["type"] == "commitment.document"]
    assert late["stage"] == "aangenomen_ek" and late["documents"][0]["source"] == "ic"

    # Politeness: wetwacht identifies itself and never asks for /zoeken.
    for site in (ek, ic):
        assert all(r.agent.startswith("wetwacht/") for r in site.requests)
        assert not any(r.path.startswith("/zoeken") for r in site.requests)


def test_faults_fail_the_source_keep_its_cursor_and_lose_nothing(
        world: tuple[FakeUpstream, FakeEersteKamer, FakeInternetconsultatie, str]) -> None:
    _up, ek, ic, db = world
    code, _out, err = wetwacht("poll")
    assert code == 0, err
    before = {name: source(name)["cursor"] for name in ("ek", "ic")}

    # A vote and a consultation come while both sites are broken: a truncated vote list, a changed consultation
    # list (its root element renamed).
    ek.add_vote(DAY, "Grondwetsvoorstel verkiezing Eerste Kamer", "35.532")
    ic.add("wetlobbyregister", "Wet lobbyregister", start=DAY)
    ek.fail_next(1, "truncate")
    ic.fail_next(1, "markup")
    code, _out, err = wetwacht("poll")
    assert code == 1
    assert "tk: ok" in err and "ob: ok" in err
    assert "ek: FAILED: ParseError" in err and "truncated" in err
    assert "ic: FAILED: ParseError" in err and "<openConsultaties>" in err
    assert {name: source(name)["cursor"] for name in ("ek", "ic")} == before
    assert source("ek")["consecutive_failures"] == 1 and notices(db, "ek") == []

    # The second failure in a row (a 503 that lasts through the retries; Retry-After: 0, so no test waits) tells
    # the maintainers; the consultation source recovers and catches up.
    ek.fail_next(5, "503")
    code, _out, err = wetwacht("poll")
    assert code == 1 and "ek: FAILED: FetchError" in err and "HTTP 503" in err and "ic: ok" in err
    assert source("ek")["consecutive_failures"] == 2
    assert notices(db, "ek") == ["source.failing"]
    assert [e["stage"] for e in events_of(slug="lobbyregister")] == ["consultatie"]

    # A changed vote list (the list's class renamed) is a ParseError naming the element, never zero votes.
    ek.fail_next(1, "markup")
    code, _out, err = wetwacht("poll")
    assert code == 1 and "ul.stemlijst" in err

    # A passing 503 is retried within the poll; the vote that came during the outage makes its event.
    ek.fail_next(1, "503")
    code, _out, err = wetwacht("poll")
    assert code == 0, err
    [vote] = events_of(slug="verkiezing-eerste-kamer")
    assert vote["stage"] == "aangenomen_ek" and vote["documents"][0]["id"] == f"{DAY.isoformat()}/35532"
    assert source("ek")["consecutive_failures"] == 0
    assert notices(db, "ek") == ["source.failing", "source.recovered"]

    # A changed bill page, needed to confirm an unclear item, fails the source too.
    ek.add_vote(TODAY, "Terugzendrecht Eerste Kamer", "36.374 (R2187)", outcome=None, method="Zonder stemmen")
    ek.add_bill("36.374 (R2187)", "Terugzendrecht Eerste Kamer", vote_day=TODAY)
    ek.fail_next(1, "markup", on="/wetsvoorstel/")
    code, _out, err = wetwacht("poll")
    assert code == 1 and "div#voortgangModule" in err
    code, _out, err = wetwacht("poll")
    assert code == 0, err
    assert [e["stage"] for e in events_of(slug="terugzendrecht-eerste-kamer")] == ["aangenomen_ek"]
