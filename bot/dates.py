"""Dates as people type them, in Dutch or English, and date arithmetic.

The one place that parses and formats dates ("if two places parse dates, one
of them is wrong"). Pure: `today` is always passed in, so the engine stays
deterministic and tests need no clock.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Sequence
from datetime import date, timedelta

MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        ("januari", "january", "jan"),
        ("februari", "february", "feb"),
        ("maart", "march", "mrt", "mar", "maa"),
        ("april", "apr"),
        ("mei", "may"),
        ("juni", "june", "jun"),
        ("juli", "july", "jul"),
        ("augustus", "august", "aug"),
        ("september", "sept", "sep"),
        ("oktober", "october", "okt", "oct"),
        ("november", "nov"),
        ("december", "dec"),
    ],
    start=1,
):
    for _name in _names:
        MONTHS[_name] = _number

MONTH_NAMES = {
    "nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli",
           "augustus", "september", "oktober", "november", "december"],
    "en": ["January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December"],
}

RELATIVE = {
    "vandaag": 0, "today": 0, "gisteren": -1, "yesterday": -1,
    "eergisteren": -2, "morgen": 1, "tomorrow": 1, "overmorgen": 2,
}
#: Monday is 0, as date.weekday() counts.
WEEKDAY_NUMBERS = {name: number for number, names in enumerate((
    ("maandag", "monday"), ("dinsdag", "tuesday"), ("woensdag", "wednesday"), ("donderdag", "thursday"),
    ("vrijdag", "friday"), ("zaterdag", "saturday"), ("zondag", "sunday"))) for name in names}
#: "dinsdag", "afgelopen dinsdag", "last tuesday", "vorige week dinsdag", "tuesday last week"
_PAST_WEEKDAY = re.compile(r"^(?:(afgelopen|last|previous|vorige week|op)\s+)?([a-z]+)(?:\s+(vorige week|last week))?$")
#: "vorige week", "last week" without a day: a week, not a date (`read_dates` gives its seven days)
_LAST_WEEK = re.compile(r"^(?:in |the |in de |de )?(?:vorige|afgelopen|verleden|last|previous) week$")
_AGO = re.compile(r"^(\d{1,3}) (dag|dagen|day|days|week|weken|weeks) (geleden|ago)$")
_NUMERIC = re.compile(r"^(\d{1,2})[-/.](\d{1,2})(?:[-/.](\d{2}|\d{4}))?$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DAY_MONTH = re.compile(r"^(\d{1,2})(?:e|st|nd|rd|th)? ([a-z]+)\.?(?: (\d{4}))?$")
_MONTH_DAY = re.compile(r"^([a-z]+)\.? (\d{1,2})(?:st|nd|rd|th)?,?(?: (\d{4}))?$")
_WEEKDAYS = re.compile(
    r"^(maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday),? "
)


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.strip().lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", text).rstrip(".")


def _normalise(text: str) -> str:
    """Plain text without a leading weekday: "dinsdag 3 november" is 3 November."""
    return _WEEKDAYS.sub("", _plain(text))


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _two_digit_year(yy: int, today: date) -> int:
    """"26" is 2026 and "27" next year, but "85" (a date of birth) is 1985, not 2085."""
    year = today.year // 100 * 100 + yy
    if year > today.year + 19:
        return year - 100
    return year + 100 if year <= today.year - 81 else year


def read_dates(text: str, today: date, lang: str = "nl") -> list[date]:
    """Every date a parent may have meant: none, one, two for an ambiguous number, or a week's seven.

    "vorige week" / "last week" names a week, not a day: its seven days come back, Monday first
    (weeks start on Monday), and the bot shows them and asks which day; asking the same question
    again would not help someone who does not know the date by heart.

    The rule for "9/10/2026" (see docs/FLOWS.md, "Dates"): a numeric date is
    ambiguous when both readings (day-month and month-day) are valid dates and
    differ, and the language does not settle it. English writers use both orders,
    so in English both readings come back, day-month first, and the bot asks which
    one is meant. Dutch writes day-month, so in Dutch only that reading comes back;
    the bot echoes every date in words, so someone who typed US style sees the
    wrong month and corrects it. A number only one reading makes valid
    ("10/13/2026") is read that way in both languages.
    """
    value = _normalise(text)
    if _LAST_WEEK.match(value.rstrip("?!")):
        monday = today - timedelta(days=today.weekday() + 7)
        return [monday + timedelta(days=n) for n in range(7)]
    m = _NUMERIC.match(value)
    if m is None or len(value) > 40:
        found = parse_date(text, today)
        return [found] if found else []
    year = int(m.group(3)) if m.group(3) else today.year
    if m.group(3) and len(m.group(3)) == 2:
        year = _two_digit_year(year, today)
    first, second = int(m.group(1)), int(m.group(2))
    day_month = _make(year, second, first)
    month_day = _make(year, first, second)
    if day_month and month_day and day_month != month_day:
        return [day_month, month_day] if lang == "en" else [day_month]
    found = day_month or month_day
    return [found] if found else []


def _past_weekday(weekday: int, before: str | None, after: str | None, today: date) -> date:
    """A weekday named for a past event: the dates people give about what happened.

    "dinsdag": the last Tuesday, today included; "afgelopen dinsdag" / "last tuesday": the last
    one before today; "vorige week dinsdag" / "tuesday last week": the Tuesday of the week
    before this one (weeks start on Monday). The bot echoes the date in words, so a person who
    meant another Tuesday sees it and corrects it.
    """
    if "week" in (before or "") or after:
        return today - timedelta(days=today.weekday() + 7 - weekday)
    back = (today.weekday() - weekday) % 7
    if back == 0 and before in ("afgelopen", "last", "previous"):
        back = 7
    return today - timedelta(days=back)


def parse_date(text: str, today: date) -> date | None:
    """Read a date the way a parent writes it; None when it is not a date.

    Numbers are read day-month (the Dutch order); `read_dates` knows when
    that is ambiguous.

    Accepts "1 oktober 2026", "1 okt", "October 1, 2026", "01-10-2026",
    "1/10", "1.10.26", "2026-10-01", "gisteren", "3 dagen geleden", "dinsdag",
    "vorige week dinsdag", "last tuesday".
    A date without a year is taken in the current year; a two-digit year
    is at most 19 years ahead of today ("85" is 1985).
    """
    value = _normalise(text)
    if len(value) > 40:
        return None
    if value in RELATIVE:
        return today + timedelta(days=RELATIVE[value])
    if (m := _PAST_WEEKDAY.match(_plain(text))) and m.group(2) in WEEKDAY_NUMBERS:
        return _past_weekday(WEEKDAY_NUMBERS[m.group(2)], m.group(1), m.group(3), today)
    if m := _AGO.match(value):
        amount = int(m.group(1))
        days = amount * 7 if m.group(2).startswith("we") else amount
        return today - timedelta(days=days)
    if m := _ISO.match(value):
        return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _NUMERIC.match(value):
        year = int(m.group(3)) if m.group(3) else today.year
        if m.group(3) and len(m.group(3)) == 2:
            year = _two_digit_year(year, today)
        return _make(year, int(m.group(2)), int(m.group(1)))
    if m := _DAY_MONTH.match(value):
        month = MONTHS.get(m.group(2))
        year = int(m.group(3)) if m.group(3) else today.year
        return _make(year, month, int(m.group(1))) if month else None
    if m := _MONTH_DAY.match(value):
        month = MONTHS.get(m.group(1))
        year = int(m.group(3)) if m.group(3) else today.year
        return _make(year, month, int(m.group(2))) if month else None
    return None


def add_period(start: date, days: int = 0, weeks: int = 0, months: int = 0, years: int = 0) -> date:
    """`start` plus a period; months and years clamp to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    total = start.month - 1 + months + 12 * years
    year, month = start.year + total // 12, total % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day) + timedelta(days=days + 7 * weeks)


def format_date(value: date | str, lang: str, months: Sequence[str] | None = None) -> str:
    """"1 oktober 2026" in Dutch, "1 October 2026" in English.

    `months` are the language's month names from its texts (`sys.month_names`, see
    `Locales.month_names`): a language is data, so a new one writes its own months. Without
    them (a caller that has no texts at hand) the built-in Dutch or English names are used.
    """
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return str(value)
    names = months or MONTH_NAMES.get(lang, MONTH_NAMES["nl"])
    return f"{value.day} {names[value.month - 1]} {value.year}"


def format_day(value: date | str, lang: str, weekdays: Sequence[str], months: Sequence[str] | None = None) -> str:
    """"ma 30 november": a day of a week, to pick from; the question above it says which week.

    `weekdays` are the language's seven short names, Monday first (`sys.date.weekdays`); without
    seven of them the day is shown without its name.
    """
    value = date.fromisoformat(value) if isinstance(value, str) else value
    names = months or MONTH_NAMES.get(lang, MONTH_NAMES["nl"])
    day = f"{value.day} {names[value.month - 1]}"
    return f"{weekdays[value.weekday()]} {day}" if len(weekdays) == 7 else day
