"""The novelty rules (bot/novelty.py), each case of its table on payloads in the upstream formats: SyncFeed
entries as the feed writes them (default namespace with `tk:` attributes, the `ns1:` prefix with a +01:00
offset, a `tk:bijgewerkt` without an offset in local time) and gzd records in an SRU response; plus the
entity endpoint's body."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot import novelty
from sources.base import Entity, ParseError
from sources.sru import parse_response
from sources.syncfeed import parse_entity_response, parse_feed

INSTALL = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
FEED = "https://gegevensmagazijn.tweedekamer.nl/SyncFeed/2.0/Feed"
TK = "http://www.tweedekamer.nl/xsd/tkData/v1-0"
DATA = Path(__file__).resolve().parent / "data" / "sources"  # copies of ../shared/reference/sources


def _entry(category: str, *, updated: str, bijgewerkt: str | None, body: str, ns1: bool = False) -> Entity:
    name = category[:1].lower() + category[1:]
    guid = "00006f66-36a7-4e42-9c15-2026d0049001"
    if ns1:
        stamp = f' ns1:bijgewerkt="{bijgewerkt}"' if bijgewerkt else ""
        payload = (f'<ns1:{name} xmlns:ns1="{TK}" id="{guid}"{stamp} ns1:verwijderd="false">'
                   + body.replace("<", "<ns1:").replace("<ns1:/", "</ns1:") + f"</ns1:{name}>")
    else:
        stamp = f' tk:bijgewerkt="{bijgewerkt}"' if bijgewerkt else ""
        payload = (f'<{name} xmlns:tk="{TK}" xmlns="{TK}" id="{guid}"{stamp} tk:verwijderd="false">{body}'
                   f"</{name}>")
    xml = (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
           f"<title>Gegevensmagazijn SyncFeed (category: {category})</title><entry><title>{guid}</title>"
           f"<id>https://gegevensmagazijn.tweedekamer.nl/SyncFeed/2.0/Entiteiten/{guid}</id>"
           f"<updated>{updated}</updated><category term=\"{name.lower()}\" />"
           f'<link rel="next" href="{FEED}?skiptoken=24900001&amp;category={category}" />'
           f'<content type="application/xml">{payload}</content></entry></feed>')
    [entry] = parse_feed(xml.encode(), url=FEED, category=category).entries
    return entry.entity


DOCUMENT_2025 = "<soort>Brief regering</soort><documentNummer>2025D41234</documentNummer><datum>2025-10-01T00:00:00+02:00</datum>"
DOCUMENT_NOW = "<soort>Nota van wijziging</soort><documentNummer>2026D49001</documentNummer><datum>2026-11-22T00:00:00+01:00</datum>"


def test_a_late_tweede_kamer_publication_is_news() -> None:
    """Changed in the source system yesterday (before the installation), in the feed today."""
    entity = _entry("Document", updated="2026-11-23T11:02:09.5566778Z", bijgewerkt="2026-11-22T16:40:00Z",
                    body=DOCUMENT_NOW)
    verdict = novelty.tk_entity(entity, horizon=INSTALL)
    assert verdict.news and verdict.rule is novelty.Rule.TK_NEW


def test_a_2025_document_shown_again_is_history_in_every_timestamp_style() -> None:
    for bijgewerkt, ns1 in [("2025-10-01T08:12:44Z", False), ("2025-10-01T09:12:44+01:00", True),
                            ("2025-10-01T10:12:44.6270000", False)]:
        entity = _entry("Document", updated="2026-11-24T02:00:00.0000000Z", bijgewerkt=bijgewerkt,
                        body=DOCUMENT_2025, ns1=ns1)
        assert entity.changed is not None and entity.changed.year == 2025
        verdict = novelty.tk_entity(entity, horizon=INSTALL)
        assert not verdict.news and verdict.rule is novelty.Rule.TK_SHOWN_AGAIN, bijgewerkt


def test_an_old_change_with_a_recent_own_date_is_news() -> None:
    """Only both together say old: a document dated yesterday is not old data, whatever its change time."""
    entity = _entry("Document", updated="2026-11-24T02:00:00.0000000Z", bijgewerkt="2025-10-01T08:12:44Z",
                    body=DOCUMENT_NOW)
    assert novelty.tk_entity(entity, horizon=INSTALL).news


def test_an_old_own_date_with_a_recent_change_is_news() -> None:
    entity = _entry("Document", updated="2026-11-24T02:00:00.0000000Z", bijgewerkt="2026-11-23T22:00:00Z",
                    body=DOCUMENT_2025)
    assert novelty.tk_entity(entity, horizon=INSTALL).news


def test_a_zaak_is_judged_on_gestart_op_and_a_besluit_on_its_change_alone() -> None:
    zaak_2025 = _entry("Zaak", updated="2026-11-24T02:00:00.0000000Z", bijgewerkt="2025-05-12T08:00:00Z",
                       body="<nummer>2025Z09154</nummer><soort>Wetgeving</soort><gestartOp>2025-05-12T00:00:00+02:00"
                            "</gestartOp>")
    assert novelty.own_date(zaak_2025) == dt.date(2025, 5, 12)
    assert not novelty.tk_entity(zaak_2025, horizon=INSTALL).news
    old_vote = _entry("Besluit", updated="2026-11-24T02:00:00.0000000Z", bijgewerkt="2025-07-03T14:00:00Z",
                      body="<besluitSoort>Stemmen - aangenomen</besluitSoort><status>Besluit</status>")
    new_vote = _entry("Besluit", updated="2026-11-24T14:10:00.0000000Z", bijgewerkt="2026-11-24T14:05:00Z",
                      body="<besluitSoort>Stemmen - aangenomen</besluitSoort><status>Besluit</status>")
    assert not novelty.tk_entity(old_vote, horizon=INSTALL).news
    assert novelty.tk_entity(new_vote, horizon=INSTALL).news


def test_without_a_change_time_or_before_any_horizon_it_is_news() -> None:
    entity = _entry("Document", updated="2026-11-24T02:00:00.0000000Z", bijgewerkt=None, body=DOCUMENT_2025)
    assert entity.changed is None and novelty.tk_entity(entity, horizon=INSTALL).news
    assert novelty.tk_entity(entity, horizon=None).news


SRU = """<?xml version="1.0" encoding="UTF-8"?>
<sru:searchRetrieveResponse xmlns:sru="http://docs.oasis-open.org/ns/search-ws/sruResponse"
    xmlns:gzd="http://standaarden.overheid.nl/sru" xmlns:dcterms="http://purl.org/dc/terms/"
    xmlns:overheidwetgeving="http://standaarden.overheid.nl/wetgeving/">
  <sru:version>2.0</sru:version><sru:numberOfRecords>1</sru:numberOfRecords>
  <sru:records><sru:record><sru:recordSchema>http://standaarden.overheid.nl/sru/</sru:recordSchema>
  <sru:recordPacking>xml</sru:recordPacking><sru:recordData><gzd:gzd><gzd:originalData><overheidwetgeving:meta>
    <overheidwetgeving:owmskern>
      <dcterms:identifier>kst-36742-4</dcterms:identifier>
      <dcterms:title>Regels betreffende ... (Wet op de politieke partijen); Advies Afdeling advisering Raad van State en
        Nader rapport</dcterms:title>
      <dcterms:type>Kamerstuk</dcterms:type>
      <dcterms:creator>Tweede Kamer der Staten-Generaal</dcterms:creator>
      <dcterms:modified>2026-11-24</dcterms:modified>
    </overheidwetgeving:owmskern>
    <overheidwetgeving:owmsmantel>{available}<dcterms:date>{date}</dcterms:date></overheidwetgeving:owmsmantel>
    <overheidwetgeving:tpmeta><overheidwetgeving:dossiernummer>36742</overheidwetgeving:dossiernummer>
      <overheidwetgeving:ondernummer>4</overheidwetgeving:ondernummer>
      <overheidwetgeving:publicatienaam>Kamerstuk</overheidwetgeving:publicatienaam></overheidwetgeving:tpmeta>
  </overheidwetgeving:meta></gzd:originalData></gzd:gzd></sru:recordData></sru:record></sru:records>
</sru:searchRetrieveResponse>
"""


def _record(available: str | None, date: str = "2025-05-12") -> novelty.Verdict:
    field = f"<dcterms:available>{available}</dcterms:available>" if available else ""
    [record] = parse_response(SRU.format(available=field, date=date).encode(), url="https://repository.overheid.nl/sru"
                              ).records
    return novelty.koop_record(record.document, horizon=INSTALL)


@pytest.mark.parametrize("available", ["2025-05-13", "2026-01-20", "2026-11-22"])
def test_koop_records_published_before_the_installation_day_are_reindexes(available: str) -> None:
    verdict = _record(available)
    assert not verdict.news and verdict.rule is novelty.Rule.KOOP_REINDEXED


@pytest.mark.parametrize("available", ["2026-11-23", "2026-11-24"])
def test_koop_records_published_from_the_installation_day_on_are_news_whatever_their_date(available: str) -> None:
    verdict = _record(available, date="2025-05-12")
    assert verdict.news and verdict.rule is novelty.Rule.KOOP_NEW


def test_a_koop_record_without_available_is_judged_on_its_date() -> None:
    assert not _record(None, date="2025-05-12").news
    assert _record(None, date="2026-11-20").news


def test_the_rules_of_the_reference_fixture_records() -> None:
    """The reference response (ob_sru_response.xml) parses with its publication days, and each record is
    judged by them: against an installation before they were published they are news, after it history."""
    records = parse_response((DATA / "ob_sru_response.xml").read_bytes(), url="https://repository.overheid.nl/sru"
                             ).records
    assert records and all(r.document.extra.get("available") for r in records)
    latest = max(dt.date.fromisoformat(r.document.extra["available"]) for r in records)
    earliest = min(dt.date.fromisoformat(r.document.extra["available"]) for r in records)
    before = dt.datetime.combine(earliest, dt.time(), tzinfo=dt.UTC)
    after = dt.datetime.combine(latest + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    assert all(novelty.koop_record(r.document, horizon=before).news for r in records)
    assert not any(novelty.koop_record(r.document, horizon=after).news for r in records)


def test_the_entity_endpoint_body_parses_bare_or_wrapped() -> None:
    guid = "00001a11-36a7-4e42-9c15-2025a0009154"
    bare = (f'<?xml version="1.0" encoding="utf-8"?>\n<zaak xmlns:tk="{TK}" xmlns="{TK}" id="{guid}" '
            f'tk:bijgewerkt="2025-05-12T10:00:00Z" tk:verwijderd="false"><kamerstukdossier '
            f'ref="00002b22-36a7-4e42-9c15-000000036742" /><nummer>2025Z09154</nummer><soort>Wetgeving</soort>'
            f"<gestartOp>2025-05-12T00:00:00+02:00</gestartOp></zaak>").encode()
    entity = parse_entity_response(bare, url=f"https://gegevensmagazijn.tweedekamer.nl/SyncFeed/2.0/Entiteiten/{guid}")
    assert (entity.category, entity.guid, entity.fields["nummer"]) == ("Zaak", guid, "2025Z09154")
    assert entity.refs["kamerstukdossier"] == ("00002b22-36a7-4e42-9c15-000000036742",)
    assert entity.updated == entity.changed == dt.datetime(2025, 5, 12, 10, tzinfo=dt.UTC)
    wrapped = (f'<entry xmlns="http://www.w3.org/2005/Atom"><title>{guid}</title><updated>2025-05-12T10:00:01.0000000Z'
               f'</updated><content type="application/xml">{bare.decode().split(chr(10), 1)[1]}</content></entry>')
    again = parse_entity_response(wrapped.encode(), url="x")
    assert (again.category, again.guid, again.fields) == (entity.category, entity.guid, entity.fields)
    with pytest.raises(ParseError, match="line"):
        parse_entity_response(bare[: len(bare) // 2], url="x")
    with pytest.raises(ParseError, match="Tweede Kamer entity"):
        parse_entity_response(b"<html><body>Service Unavailable</body></html>", url="x")


def test_an_eerste_kamer_vote_or_a_consultation_never_seen_is_news_whatever_its_date() -> None:
    from sources.base import Document

    late = Document(source="ic", id="wetlobbyregister", kind="Wet", title="Wet lobbyregister",
                    entity="Consultatie", date=dt.date(2026, 9, 1))
    verdict = novelty.record(late, horizon=INSTALL)
    assert verdict.news and verdict.rule is novelty.Rule.SITE_NEW
