"""Deadline parsing: the letters' Dutch to due dates, and refusals that quote the text."""

from __future__ import annotations

import datetime as dt

import pytest

from matchers.deadlines import DeadlineError, parse_deadline

D = dt.date
LETTER_2026 = D(2026, 4, 14)  # a spring letter
LETTER_AUTUMN = D(2025, 9, 16)  # Prinsjesdag


@pytest.mark.parametrize(
    ("text", "letter", "due", "open_ended"),
    [
        ("Q3 2026", LETTER_2026, D(2026, 9, 30), False),
        ("Q1 2027", LETTER_2026, D(2027, 3, 31), False),
        ("q4 2026", LETTER_2026, D(2026, 12, 31), False),
        ("Q2 2027 en later", LETTER_2026, D(2027, 6, 30), True),
        ("eind 2026", LETTER_2026, D(2026, 12, 31), False),
        ("uiterlijk eind 2025", LETTER_2026, D(2025, 12, 31), False),
        ("eind dit jaar", LETTER_2026, D(2026, 12, 31), False),
        ("voor het einde van dit jaar", LETTER_AUTUMN, D(2025, 12, 31), False),
        ("dit jaar", LETTER_2026, D(2026, 12, 31), False),
        ("het vierde kwartaal van dit jaar", LETTER_2026, D(2026, 12, 31), False),
        ("voor het zomerreces", LETTER_2026, D(2026, 7, 2), False),
        ("voor de zomer", LETTER_2026, D(2026, 7, 2), False),
        ("voor de zomer", LETTER_AUTUMN, D(2026, 7, 2), False),
        ("na de zomer", LETTER_2026, D(2026, 12, 31), False),
        ("in de loop van het voorjaar", LETTER_2026, D(2026, 6, 20), False),
        ("in de loop van het voorjaar", LETTER_AUTUMN, D(2026, 6, 20), False),
        ("dit najaar", LETTER_AUTUMN, D(2025, 12, 20), False),
        ("begin 2026", LETTER_AUTUMN, D(2026, 3, 31), False),
        ("medio 2026", LETTER_AUTUMN, D(2026, 6, 30), False),
        ("voorjaar 2025", LETTER_AUTUMN, D(2025, 6, 20), False),
        ("uiterlijk voorjaar 2025", LETTER_AUTUMN, D(2025, 6, 20), False),
        ("najaar 2026", LETTER_AUTUMN, D(2026, 12, 20), False),
        ("in 2027", LETTER_2026, D(2027, 12, 31), False),
        ("2028", LETTER_2026, D(2028, 12, 31), False),
        ("per 1 januari 2028", LETTER_2026, D(2028, 1, 1), False),
        ("1 juli 2026", LETTER_2026, D(2026, 7, 1), False),
        ("januari 2027", LETTER_2026, D(2027, 1, 31), False),
        ("eind februari 2028", LETTER_2026, D(2028, 2, 29), False),
        ("het derde kwartaal van 2026", LETTER_2026, D(2026, 9, 30), False),
        ("eerste helft 2027", LETTER_2026, D(2027, 6, 30), False),
        ("  Q3   2026. ", LETTER_2026, D(2026, 9, 30), False),
    ],
    ids=lambda v: str(v),
)
def test_parses(text: str, letter: dt.date, due: dt.date, open_ended: bool) -> None:
    deadline = parse_deadline(text, letter)
    assert deadline.due == due
    assert deadline.open_ended is open_ended
    assert deadline.as_written == text
    assert deadline.explanation


@pytest.mark.parametrize("text", ["zo snel mogelijk", "jaarlijks", "deze kabinetsperiode"])
def test_undated_forms_have_no_due_date(text: str) -> None:
    deadline = parse_deadline(text, LETTER_2026)
    assert deadline.due is None
    assert not deadline.overdue(D(2099, 1, 1))


@pytest.mark.parametrize(
    "text",
    ["binnenkort", "Q5 2026", "eind volgend jaar", "31 februari 2026", "te zijner tijd", "", "Q3",
     "voor de kerst"],
    ids=lambda v: repr(v),
)
def test_refuses_what_it_cannot_parse_and_quotes_it(text: str) -> None:
    with pytest.raises(DeadlineError) as info:
        parse_deadline(text, LETTER_2026)
    if text:
        assert repr(text) in str(info.value) or text in str(info.value)


def test_recess_year_missing_from_calendar_is_refused_not_guessed() -> None:
    with pytest.raises(DeadlineError, match="zomerreces of 2031"):
        parse_deadline("voor het zomerreces", D(2031, 1, 10))


@pytest.mark.parametrize(
    ("text", "today", "overdue"),
    [
        ("Q2 2026", D(2026, 6, 30), False),
        ("Q2 2026", D(2026, 7, 1), True),
        ("Q2 2027 en later", D(2030, 1, 1), False),
    ],
    ids=["on-the-day", "day-after", "open-ended-never"],
)
def test_overdue(text: str, today: dt.date, overdue: bool) -> None:
    assert parse_deadline(text, LETTER_2026).overdue(today) is overdue
