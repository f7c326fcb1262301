"""Desk hours: when people staff the safety desk, from one line of settings.

    WEGWIJZER_DESK_HOURS="mon-fri 09:00-17:00; sat 10:00-13:00"

Days in English or Dutch (mon..sun, ma..zo), ranges (mon-fri) and lists
(mon,wed); times HH:MM-HH:MM in Dutch time, 24:00 allowed as an end; a range
past midnight (22:00-02:00) belongs to the day it starts. "always" (or
"24/7") means always staffed. Pure: no clock of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DUTCH = {"ma": "mon", "di": "tue", "wo": "wed", "do": "thu", "vr": "fri", "za": "sat", "zo": "sun"}
_ALWAYS = {"always", "24/7", "altijd"}
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


class DeskHoursInvalid(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Opening:
    days: tuple[int, ...]  # 0 = Monday
    start: int  # minutes after midnight
    end: int  # may exceed 1440 for a span past midnight


@dataclass(frozen=True, slots=True)
class DeskHours:
    openings: tuple[Opening, ...]
    always: bool = False

    @classmethod
    def parse(cls, text: str) -> DeskHours:
        cleaned = text.strip().lower()
        if cleaned in _ALWAYS:
            return cls((), always=True)
        openings = []
        for part in filter(None, (p.strip() for p in cleaned.split(";"))):
            days_text, _, span = part.partition(" ")
            openings.append(Opening(_days(days_text), *_span(span.strip(), part)))
        return cls(tuple(openings))

    def is_open(self, moment: datetime) -> bool:
        """`moment` in Dutch time (aware or naive local)."""
        if self.always:
            return True
        minute = moment.hour * 60 + moment.minute
        today = moment.weekday()
        yesterday = (today - 1) % 7
        for opening in self.openings:
            if today in opening.days and opening.start <= minute < opening.end:
                return True
            if yesterday in opening.days and opening.end > 1440 and minute < opening.end - 1440:
                return True
        return False

    def describe(self, day_names: dict[str, str], always: str) -> str:
        """Readable hours, e.g. "ma-vr 09:00-17:00; za 10:00-13:00" with the given day names."""
        if self.always:
            return always
        parts = []
        for opening in self.openings:
            parts.append(f"{_days_text(opening.days, day_names)} {_clock(opening.start)}-{_clock(opening.end)}")
        return "; ".join(parts)

    def next_opening(self, moment: datetime) -> datetime | None:
        """The next moment the desk opens (within a week), or None when it never does."""
        if self.always or not self.openings:
            return None
        start_of_day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        for offset in range(8):
            day = start_of_day + timedelta(days=offset)
            starts = sorted(o.start for o in self.openings if day.weekday() in o.days)
            for start in starts:
                candidate = day + timedelta(minutes=start)
                if candidate > moment:
                    return candidate
        return None


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
