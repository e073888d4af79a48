"""Parsing SyncFeed pages: entries, relations, deletions, ns1 prefixes, timestamps and broken XML."""

from __future__ import annotations

import datetime as dt

import pytest

from sources.base import ParseError
from sources.syncfeed import parse_feed, parse_tk_date, parse_tk_timestamp, skiptoken_of
from tests.sources.helpers import data, split_feeds

URL = "https://gegevensmagazijn.tweedekamer.nl/SyncFeed/2.0/Feed?skiptoken=24817299&category=Document"


def test_document_page_entities_relations_and_tokens() -> None:
    page = parse_feed(data("tk_syncfeed.xml"), url=URL, category="Document")
    assert [e.token for e in page.entries] == ["24817300", "24817301", "24817302"]
    assert page.last_token == "24817302"
    assert page.next_token == "24817302"
    assert page.resume is False
    first = page.entries[0].entity
    assert first.category == "Document"
    assert first.guid == "00006f66-36a7-4e42-9c15-2025d0021083"
    assert first.updated == dt.datetime(2025, 5, 13, 17, 7, 9, 556677, tzinfo=dt.UTC)
    assert first.deleted is False
    assert first.refs == {
        "huidigeDocumentVersie": ("00007a77-36a7-4e42-9c15-2025d0021083",),
        "zaak": ("00001a11-36a7-4e42-9c15-2025a0009154",),
        "kamerstukdossier": ("00002b22-36a7-4e42-9c15-000000036742",),
    }
    assert first.fields["documentNummer"] == "2025D21083"
    assert first.fields["soort"] == "Advies Afdeling advisering Raad van State en Nader rapport"
    assert first.fields["volgnummer"] == "4"
    assert first.fields["datum"] == "2025-05-12T00:00:00+02:00"
    assert "citeertitel" not in first.fields  # xsi:nil="true" is absent, not ""


def test_delete_marker_is_a_deleted_entity_without_fields() -> None:
    page = parse_feed(data("tk_syncfeed.xml"), url=URL, category="Document")
    marker = page.entries[2].entity
    assert marker.guid == "00006f66-36a7-4e42-9c15-00000000dead"
    assert marker.deleted is True
    assert marker.fields == {}
    assert marker.refs == {}
    assert page.entries[2].token == "24817302"


def test_caught_up_page_has_resume_and_no_entries() -> None:
    page = parse_feed(data("tk_syncfeed_caughtup.xml"), url=URL, category="Document")
    assert page.entries == ()
    assert page.resume is True
    assert page.last_token is None


def test_kamerstukdossier_and_zaak_pages() -> None:
    dossiers, zaken = split_feeds("tk_syncfeed_zaak_dossier.xml")
    page = parse_feed(dossiers, url=URL, category="Kamerstukdossier")
    real, ours = (e.entity for e in page.entries)
    assert real.fields == {"nummer": "30218"}
    assert ours.fields["nummer"] == "36742"
    assert ours.fields["kamer"] == "Tweede Kamer"
    assert "toevoeging" not in ours.fields
    zaak = parse_feed(zaken, url=URL, category="Zaak").entries[0].entity
    assert zaak.fields["nummer"] == "2025Z09154"
    assert zaak.refs["kamerstukdossier"] == ("00002b22-36a7-4e42-9c15-000000036742",)
    assert len(zaak.refs["activiteit"]) == 3  # repeatable relations keep every GUID, in order


def test_ns1_prefixed_entities_parse_by_namespace() -> None:
    page = parse_feed(data("tk_syncfeed_ns1_toezegging.xml"), url=URL, category="Toezegging")
    toezegging, removed = (e.entity for e in page.entries)
    assert toezegging.category == "Toezegging"
    assert toezegging.deleted is False
    assert toezegging.fields["nummer"] == "TZ202603-130"
    assert toezegging.fields["tekst"].startswith("De minister stuurt")
    assert toezegging.refs == {"activiteit": ("00008b88-36a7-4e42-9c15-2026a0311001",)}
    assert "toegezegdAanFractie" not in toezegging.fields
    assert removed.deleted is True  # ns1:verwijderd="true"
    assert removed.fields == {}


def test_same_entity_with_default_namespace_or_ns1_prefix_is_identical() -> None:
    template = """<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>g1</title>
      <updated>2026-03-12T09:41:07.2100000Z</updated>
      <link rel="next" href="https://x/Feed?skiptoken=5&amp;category=Toezegging"/>
      <content type="application/xml">{payload}</content></entry></feed>"""
    plain = ('<toezegging xmlns:tk="http://www.tweedekamer.nl/xsd/tkData/v1-0" '
             'xmlns="http://www.tweedekamer.nl/xsd/tkData/v1-0" id="g1" tk:verwijderd="false">'
             '<activiteit ref="a1"/><nummer>TZ1</nummer></toezegging>')
    prefixed = ('<ns1:toezegging xmlns:ns1="http://www.tweedekamer.nl/xsd/tkData/v1-0" id="g1" '
                'ns1:verwijderd="false"><ns1:activiteit ref="a1"/><ns1:nummer>TZ1</ns1:nummer></ns1:toezegging>')
    a = parse_feed(template.format(payload=plain).encode(), url=URL, category="Toezegging").entries[0].entity
    b = parse_feed(template.format(payload=prefixed).encode(), url=URL, category="Toezegging").entries[0].entity
    assert a == b


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-05-13T17:07:09.5566778Z", dt.datetime(2025, 5, 13, 17, 7, 9, 556677, tzinfo=dt.UTC)),
        ("2025-09-25T14:01:58Z", dt.datetime(2025, 9, 25, 14, 1, 58, tzinfo=dt.UTC)),
        ("2026-03-12T10:40:58+01:00", dt.datetime(2026, 3, 12, 9, 40, 58, tzinfo=dt.UTC)),
        ("2026-03-12T10:40:58+0100", dt.datetime(2026, 3, 12, 9, 40, 58, tzinfo=dt.UTC)),
        # No offset: the source system's local time (CEST in August).
        ("2008-08-26T12:13:04.6270000", dt.datetime(2008, 8, 26, 10, 13, 4, 627000, tzinfo=dt.UTC)),
    ],
    ids=["utc-7-decimals", "utc-seconds", "offset", "offset-no-colon", "naive-local"],
)
def test_timestamp_forms(value: str, expected: dt.datetime) -> None:
    assert parse_tk_timestamp(value) == expected


def test_document_date_is_the_date_as_written() -> None:
    assert parse_tk_date("2025-05-12T00:00:00+02:00") == dt.date(2025, 5, 12)
    assert parse_tk_date(None) is None
    assert parse_tk_date("gisteren") is None


def test_entry_without_updated_falls_back_to_bijgewerkt() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><entry>
      <title>1f031e16-cb3b-45b5-b3c9-a8abd27c913a</title>
      <link rel="next" href="https://x/Feed?skiptoken=24600001&amp;category=Kamerstukdossier"/>
      <content type="application/xml">
        <kamerstukdossier xmlns:tk="http://www.tweedekamer.nl/xsd/tkData/v1-0"
          xmlns="http://www.tweedekamer.nl/xsd/tkData/v1-0" id="1f031e16-cb3b-45b5-b3c9-a8abd27c913a"
          tk:bijgewerkt="2008-08-26T12:13:04.6270000" tk:verwijderd="false"><nummer>30218</nummer></kamerstukdossier>
      </content></entry></feed>"""
    entity = parse_feed(body, url=URL, category="Kamerstukdossier").entries[0].entity
    assert entity.updated == dt.datetime(2008, 8, 26, 10, 13, 4, 627000, tzinfo=dt.UTC)


def test_truncated_page_is_a_parse_error_with_url_and_position() -> None:
    body = data("tk_syncfeed.xml")
    with pytest.raises(ParseError) as caught:
        parse_feed(body[: len(body) // 2], url=URL, category="Document")
    assert caught.value.url == URL
    assert caught.value.position is not None
    assert caught.value.position.startswith("line ")
    assert ", column " in caught.value.position


@pytest.mark.parametrize(
    "body",
    [b"", b"<html><body>Onderhoud</body></html>", b"<feed xmlns='http://www.w3.org/2005/Atom'><entry>"],
    ids=["empty", "html", "unclosed"],
)
def test_not_a_feed_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(body, url=URL, category="Document")
    assert caught.value.position is not None


def test_entry_without_content_is_a_parse_error() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>g</title>
      <updated>2026-01-01T00:00:00Z</updated></entry></feed>"""
    with pytest.raises(ParseError, match="no embedded entity"):
        parse_feed(body, url=URL, category="Document")


def test_external_entities_are_not_expanded() -> None:
    body = b"""<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY x SYSTEM "file:///etc/passwd">]>
      <feed xmlns="http://www.w3.org/2005/Atom"><entry><title>g</title><updated>2026-01-01T00:00:00Z</updated>
      <content type="application/xml"><document xmlns="http://www.tweedekamer.nl/xsd/tkData/v1-0" id="g">
      <titel>&x;</titel></document></content></entry></feed>"""
    entity = parse_feed(body, url=URL, category="Document").entries[0].entity
    assert "root:" not in entity.fields.get("titel", "")


def test_skiptoken_of_link() -> None:
    assert skiptoken_of("https://g/SyncFeed/2.0/Feed?skiptoken=20127222&category=Document") == "20127222"
    assert skiptoken_of("https://g/SyncFeed/2.0/Feed?category=Document") is None
