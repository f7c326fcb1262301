"""Desk hours: when people staff the safety desk, from one line of settings.

    WEGWIJZER_DESK_HOURS="mon-fri 09:00-17:00; sat 10:00-13:00"

Days in English or Dutch (mon..sun, ma..zo), ranges (mon-fri) and lists
(mon,wed); times HH:MM-HH:MM in Dutch time, 24:00 allowed as an end; a range
past midnight (22:00-02:00) belongs to the day it starts. "always" (or
"24/7") means always staffed, holidays too. Pure: no clock of its own.

Closed days come from a second line, WEGWIJZER_DESK_HOLIDAYS: "nl" (the
Dutch public holidays as the `holidays` library lists them), "none", or ISO
dates, alone or after "nl" ("nl,2026-12-24"). Nobody staffs the desk on
those days, so a span that starts on one does not open at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from bot.errors import ConfigurationError

if TYPE_CHECKING:
    import holidays

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DUTCH = {"ma": "mon", "di": "tue", "wo": "wed", "do": "thu", "vr": "fri", "za": "sat", "zo": "sun"}
_ALWAYS = {"always", "24/7", "altijd"}
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: WEGWIJZER_DESK_HOLIDAYS words: the Dutch public holidays, and no closed days at all.
NATIONAL, NO_HOLIDAYS = "nl", "none"
#: Longest run of closed days next_opening looks past (a long list of extra dates, say).
_MAX_LOOKAHEAD_DAYS = 366


class DeskHoursInvalid(ConfigurationError, ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Opening:
    days: tuple[int, ...]  # 0 = Monday
    start: int  # minutes after midnight
    end: int  # may exceed 1440 for a span past midnight


@dataclass(frozen=True, slots=True)
class ClosedDays:
    """Days nobody staffs the desk, whatever the weekly hours say.

    Without this the bot told people the desk was open on Christmas Day.
    """

    national: bool = True  # the Dutch public holidays, as the `holidays` library lists them
    extra: frozenset[date] = frozenset()

    @classmethod
    def parse(cls, text: str) -> ClosedDays:
        items = [item.strip().lower() for item in text.split(",") if item.strip()]
        if items == [NO_HOLIDAYS]:
            return cls(national=False)
        if not items or NO_HOLIDAYS in items:
            raise DeskHoursInvalid("write nl, none, or dates as YYYY-MM-DD, e.g. 'nl,2026-12-24' ('none' stands alone)")
        return cls(national=NATIONAL in items, extra=frozenset(_date(item) for item in items if item != NATIONAL))

    def __contains__(self, day: object) -> bool:
        """Whether the desk is closed on `day` (a date in Dutch time)."""
        return isinstance(day, date) and (day in self.extra or (self.national and day in _dutch_holidays()))


@dataclass(frozen=True, slots=True)
class DeskHours:
    openings: tuple[Opening, ...]
    always: bool = False
    closed: ClosedDays = ClosedDays()

    @classmethod
    def parse(cls, text: str, closed_days: str = NATIONAL) -> DeskHours:
        """`closed_days` as WEGWIJZER_DESK_HOLIDAYS; the Dutch public holidays unless told otherwise."""
        cleaned = text.strip().lower()
        closed = ClosedDays.parse(closed_days)
        if cleaned in _ALWAYS:
            return cls((), always=True, closed=closed)
        openings = []
        for part in filter(None, (p.strip() for p in cleaned.split(";"))):
            days_text, _, span = part.partition(" ")
            openings.append(Opening(_days(days_text), *_span(span.strip(), part)))
        return cls(tuple(openings), closed=closed)

    def is_open(self, moment: datetime) -> bool:
        """`moment` in Dutch time (aware or naive local)."""
        if self.always:  # a desk staffed day and night has its own roster for holidays
            return True
        minute = moment.hour * 60 + moment.minute
        today = moment.weekday()
        yesterday = (today - 1) % 7
        for opening in self.openings:
            if today in opening.days and opening.start <= minute < opening.end and moment.date() not in self.closed:
                return True
            if (yesterday in opening.days and opening.end > 1440 and minute < opening.end - 1440
                    and moment.date() - timedelta(days=1) not in self.closed):  # a span belongs to the day it starts
                return True
        return False

    def describe(self, day_names: dict[str, str], always: str, not_on_holidays: str = "") -> str:
        """Readable hours, e.g. "ma-vr 09:00-17:00; za 10:00-13:00" with the given day names.

        `not_on_holidays` ("niet op feestdagen") is added when the Dutch
        holidays close the desk: otherwise a user told "closed" on Christmas
        morning reads hours that say it is open.
        """
        if self.always:
            return always
        parts = []
        for opening in self.openings:
            parts.append(f"{_days_text(opening.days, day_names)} {_clock(opening.start)}-{_clock(opening.end)}")
        note = f", {not_on_holidays}" if not_on_holidays and self.closed.national and parts else ""
        return "; ".join(parts) + note

    def next_opening(self, moment: datetime) -> datetime | None:
        """The next moment the desk opens (within a week of open days), or None when it never does."""
        if self.always or not self.openings:
            return None
        start_of_day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        offset, last = 0, 7
        while offset <= min(last, _MAX_LOOKAHEAD_DAYS):
            day = start_of_day + timedelta(days=offset)
            offset += 1
            if day.date() in self.closed:
                last += 1  # a closed day does not count towards the week
                continue
            starts = sorted(o.start for o in self.openings if day.weekday() in o.days)
            for start in starts:
                candidate = day + timedelta(minutes=start)
                if candidate > moment:
                    return candidate
        return None


@cache
def _dutch_holidays() -> holidays.HolidayBase:
    """One calendar per process; it fills in each year the first time a date of that year is asked.

    Imported here, not at the top: the library takes ~60 ms to import, which start-up
    need not pay before anyone asks for a person.
    """
    import holidays

    return holidays.country_holidays("NL")


def _date(item: str) -> date:
    try:
        if _ISO_DATE.match(item):
            return date.fromisoformat(item)
    except ValueError:
        pass
    raise DeskHoursInvalid(f"{item!r} is not nl, none or a date written YYYY-MM-DD (e.g. 2026-12-24)")


def _day(word: str) -> int:
    key = _DUTCH.get(word[:2], word[:3])
    if key not in DAYS:
        raise DeskHoursInvalid(f"unknown day {word!r}: use mon..sun or ma..zo")
    return DAYS.index(key)


def _days(text: str) -> tuple[int, ...]:
    found: list[int] = []
    for item in filter(None, text.split(",")):
        first, dash, last = item.partition("-")
        if dash:
            a, b = _day(first), _day(last)
            found.extend((a + i) % 7 for i in range((b - a) % 7 + 1))
        else:
            found.append(_day(first))
    if not found:
        raise DeskHoursInvalid("each part of desk hours starts with days, e.g. 'mon-fri 09:00-17:00'")
    return tuple(sorted(set(found)))


def _span(text: str, part: str) -> tuple[int, int]:
    match = _SPAN.match(text)
    if not match:
        raise DeskHoursInvalid(f"write the time as HH:MM-HH:MM in {part!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or end > 1440:
        raise DeskHoursInvalid(f"not a time of day in {part!r}")
    if end <= start:
        end += 1440  # past midnight
    return start, end


def _clock(minutes: int) -> str:
    minutes = minutes if minutes <= 1440 else minutes - 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _days_text(days: tuple[int, ...], names: dict[str, str]) -> str:
    label = [names.get(DAYS[d], DAYS[d]) for d in days]
    contiguous = list(days) == list(range(days[0], days[0] + len(days)))
    if len(days) > 2 and contiguous:
        return f"{label[0]}-{label[-1]}"
    return ",".join(label)
