"""Turn the timings of the letters ("Q3 2026", "eind dit jaar", "voor het zomerreces") into due dates.

Pure and table-tested. Every accepted form is listed in `commitments/README.md`; anything else raises
`DeadlineError` quoting the text: a wrong deadline is a false overdue alert, so this never guesses.

A due date is the last day on which the promise is still kept on time. Vague seasons take their last day
(spring ends 20 June), so a promise is never called late while the letter's words still allow it.
"Q2 2027 en later" is open-ended: it names the earliest moment, and such a promise can never be overdue.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def dutch_date(moment: dt.datetime) -> dt.date:
    """The calendar date in the Netherlands at `moment`: a deadline "uiterlijk 30 juni" ends at midnight there."""
    return moment.astimezone(AMSTERDAM).date()


MONTHS = {
    "januari": 1, "februari": 2, "maart": 3, "april": 4, "mei": 5, "juni": 6, "juli": 7,
    "augustus": 8, "september": 9, "oktober": 10, "november": 11, "december": 12,
}  # fmt: skip

# Zomerreces of the Tweede Kamer: (first day, last day), as the Kamer publishes its recess dates. A year
# missing here makes "voor het zomerreces" unparsable for that year rather than guessed: add the year.
SUMMER_RECESS: dict[int, tuple[dt.date, dt.date]] = {
    2023: (dt.date(2023, 7, 7), dt.date(2023, 9, 4)),
    2024: (dt.date(2024, 7, 5), dt.date(2024, 9, 2)),
    2025: (dt.date(2025, 7, 4), dt.date(2025, 9, 1)),
    2026: (dt.date(2026, 7, 3), dt.date(2026, 8, 31)),
    2027: (dt.date(2027, 7, 2), dt.date(2027, 8, 30)),
}

# Last day of each season as the letters use it (astronomical seasons).
SEASON_END = {"voorjaar": (6, 20), "zomer": (9, 22), "najaar": (12, 20), "winter": (3, 20)}
ORDINAL_QUARTER = {"eerste": 1, "tweede": 2, "derde": 3, "vierde": 4}
UNDATED = {
    "zo snel mogelijk": "zo snel mogelijk: no date promised",
    "jaarlijks": "jaarlijks: a recurring promise without a first date",
    "deze kabinetsperiode": "deze kabinetsperiode: the cabinet's term, no date promised",
}


class DeadlineError(ValueError):
    """A timing the parser does not understand; the message quotes it."""


@dataclass(frozen=True, slots=True)
class Deadline:
    """A parsed timing. `due` is None for undated promises ("zo snel mogelijk")."""

    as_written: str
    due: dt.date | None
    open_ended: bool = False
    explanation: str = ""

    def overdue(self, today: dt.date) -> bool:
        """Whether the deadline has passed on `today` (never for undated or open-ended promises)."""
        return self.due is not None and not self.open_ended and today > self.due


def _end_of_month(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _end_of_quarter(year: int, quarter: int) -> dt.date:
    return _end_of_month(year, quarter * 3)


def _recess(year: int, text: str) -> tuple[dt.date, dt.date]:
    try:
        return SUMMER_RECESS[year]
    except KeyError:
        raise DeadlineError(
            f"{text!r}: the zomerreces of {year} is not in the recess calendar (matchers/deadlines.py)"
        ) from None


_YEAR = r"(?P<year>(?:19|20)\d\d)"
_PREFIX = re.compile(
    r"^(?:uiterlijk|vóór|voor|in|rond|per|in de loop van)\s+"
    r"(?=(?:q[1-4]|\d|eind|begin|medio|het|voorjaar|zomer|najaar|[a-z]+ \d{4}))"
)


def parse_deadline(text: str, letter_date: dt.date) -> Deadline:
    """Parse `text` (a timing as written in a letter dated `letter_date`)."""
    raw = text
    s = " ".join(text.strip().lower().replace("\u00a0", " ").split())
    s = s.rstrip(".")
    if not s:
        raise DeadlineError("empty timing")
    if s in UNDATED:
        return Deadline(raw, None, explanation=UNDATED[s])

    open_ended = False
    if s.endswith(" en later"):
        open_ended = True
        s = s.removesuffix(" en later")
    elif s.startswith("vanaf "):
        open_ended = True
        s = s.removeprefix("vanaf ")

    due, why = _parse_date(s, raw, letter_date)
    if open_ended:
        why = f"{why}; open-ended: not before then, never overdue"
    return Deadline(raw, due, open_ended=open_ended, explanation=why)


def _parse_date(s: str, raw: str, letter: dt.date) -> tuple[dt.date, str]:
    # Timings that resolve against the letter's own date.
    relative = _parse_relative(s, raw, letter)
    if relative is not None:
        return relative
    s = _PREFIX.sub("", s)

    if m := re.fullmatch(rf"q(?P<q>[1-4]) {_YEAR}", s):
        q, y = int(m["q"]), int(m["year"])
        return _end_of_quarter(y, q), f"end of Q{q} {y}"
    if m := re.fullmatch(rf"(?:het )?(?P<o>eerste|tweede|derde|vierde) kwartaal(?: van)? {_YEAR}", s):
        q, y = ORDINAL_QUARTER[m["o"]], int(m["year"])
        return _end_of_quarter(y, q), f"end of Q{q} {y}"
    if m := re.fullmatch(rf"(?:het )?(?P<o>eerste|tweede) helft(?: van)? {_YEAR}", s):
        y = int(m["year"])
        return (dt.date(y, 6, 30), f"end of first half of {y}") if m["o"] == "eerste" else (
            dt.date(y, 12, 31), f"end of {y}")
    if m := re.fullmatch(rf"(?:eind|einde|het einde van|uiterlijk eind) {_YEAR}", s):
        y = int(m["year"])
        return dt.date(y, 12, 31), f"end of {y}"
    if m := re.fullmatch(rf"(?:begin|aan het begin van) {_YEAR}", s):
        y = int(m["year"])
        return dt.date(y, 3, 31), f"begin {y}: counted as the first quarter, due 31 March {y}"
    if m := re.fullmatch(rf"medio {_YEAR}", s):
        y = int(m["year"])
        return dt.date(y, 6, 30), f"medio {y}: the middle of the year, 30 June {y}"
    if m := re.fullmatch(rf"(?:het )?(?P<season>voorjaar|zomer|najaar) (?:van )?{_YEAR}", s):
        y = int(m["year"])
        mo, d = SEASON_END[m["season"]]
        return dt.date(y, mo, d), f"{m['season']} {y} ends {d} {_month_name(mo)}"
    if m := re.fullmatch(_YEAR, s):
        y = int(m["year"])
        return dt.date(y, 12, 31), f"in {y}: by 31 December {y}"
    month_names = "|".join(MONTHS)
    if m := re.fullmatch(rf"(?P<day>\d{{1,2}}) (?P<month>{month_names}) {_YEAR}", s):
        try:
            day = dt.date(int(m["year"]), MONTHS[m["month"]], int(m["day"]))
        except ValueError as exc:
            raise DeadlineError(f"{raw!r}: {exc}") from None
        return day, f"on {day.isoformat()}"
    if m := re.fullmatch(rf"(?:eind |einde )?(?P<month>{month_names}) {_YEAR}", s):
        last = _end_of_month(int(m["year"]), MONTHS[m["month"]])
        return last, f"by the end of {m['month']} {m['year']}"
    raise DeadlineError(f"cannot parse timing {raw!r}; see commitments/README.md for the accepted forms")


def _parse_relative(s: str, raw: str, letter: dt.date) -> tuple[dt.date, str] | None:
    y = letter.year
    if s in {"eind dit jaar", "voor het einde van dit jaar", "dit jaar", "einde van dit jaar",
             "voor het eind van dit jaar", "later dit jaar", "in de loop van dit jaar"}:
        return dt.date(y, 12, 31), f"{s!r} in a letter of {letter.isoformat()}: 31 December {y}"
    if m := re.fullmatch(r"(?:in )?(?:het )?(?P<o>eerste|tweede|derde|vierde) kwartaal(?: van)? (?:dit|dit jaar)", s):
        q = ORDINAL_QUARTER[m["o"]]
        return _end_of_quarter(y, q), f"{s!r} in a letter of {letter.isoformat()}: end of Q{q} {y}"
    if m := re.fullmatch(r"q(?P<q>[1-4]) (?:van )?dit jaar", s):
        q = int(m["q"])
        return _end_of_quarter(y, q), f"{s!r} in a letter of {letter.isoformat()}: end of Q{q} {y}"
    if s in {"voor het zomerreces", "voor de zomer", "voor de zomer van dit jaar", "voor het zomerreces van dit jaar"}:
        start, _ = _recess(y, raw)
        if letter >= start:  # written during or after this year's recess: the next one
            start, _ = _recess(y + 1, raw)
        due = start - dt.timedelta(days=1)
        return due, f"{s!r} in a letter of {letter.isoformat()}: zomerreces starts {start.isoformat()}"
    if s in {"na de zomer", "na het zomerreces"}:
        start, end = _recess(y, raw)
        year = y if letter < end else y + 1
        _, end = _recess(year, raw)
        return dt.date(year, 12, 31), (
            f"{s!r} in a letter of {letter.isoformat()}: after the zomerreces ending {end.isoformat()}, "
            f"counted as due by 31 December {year}"
        )
    if m := re.fullmatch(r"(?:in de loop van (?:het )?|dit |het )(?P<season>voorjaar|najaar|zomer)", s):
        mo, d = SEASON_END[m["season"]]
        due = dt.date(y, mo, d)
        if letter > due:  # "dit voorjaar" written after spring: the letter means next year's
            due = dt.date(y + 1, mo, d)
        return due, f"{s!r} in a letter of {letter.isoformat()}: the {m['season']} ends {due.isoformat()}"
    return None


def _month_name(month: int) -> str:
    return next(name for name, number in MONTHS.items() if number == month)
