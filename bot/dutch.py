"""Dates and spans of time in the Dutch a reporter writes, shared by the Telegram messages and the site."""

from __future__ import annotations

import datetime as dt

MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")


def date_nl(day: dt.date | str | None) -> str:
    """"30 juni 2027"; an ISO date string is read first (one that is not a date is shown as it is)."""
    if day is None:
        return "onbekend"
    if isinstance(day, str):
        try:
            parsed = dt.date.fromisoformat(day[:10])
        except ValueError:
            return day
    else:
        parsed = day
    return f"{parsed.day} {MONTHS[parsed.month - 1]} {parsed.year}"


def span_nl(days: int) -> str:
    """A number of days the way a reporter says it: "3 dagen", "4 maanden", "1 jaar en 2 maanden"."""
    days = abs(days)
    if days < 45:
        return "1 dag" if days == 1 else f"{days} dagen"
    months = max(1, round(days / 30.44))
    if months < 12:
        return "1 maand" if months == 1 else f"{months} maanden"
    years, rest = divmod(months, 12)
    text = f"{years} jaar"
    if rest:
        text += f" en {rest} maand" + ("en" if rest != 1 else "")
    return text
