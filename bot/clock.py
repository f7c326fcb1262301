"""The product's one clock: every reading of the wall-clock time goes through here.

Why one clock: a deadline, a retention cut-off, a check-in alert, a desk's
opening hours, a fact's age and a statistics week all depend on "now". When
each module read the time its own way, tests that set a date for one part
(the core) still got the real date from another (the store's row stamps) and
broke as soon as the calendar moved on. With one clock, a test or a moderator
sets the date once (``--today`` on the command line, a fixed clock in tests)
and the whole product agrees on it.

Rules:

- Only this module calls ``datetime.now``/``time.time``/``date.today``
  (``tests/test_clock.py`` greps ``bot/`` for any other call).
- The clock returns an aware UTC ``datetime``. What day it is for a person is
  the Dutch calendar day (``today``): deadlines, desk hours and fact ages are
  Dutch dates, whatever zone the host runs in.
- Durations and timeouts (how long to wait for a server) use
  ``time.monotonic``, which is not a reading of the date and cannot jump.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["NL", "SYSTEM", "Clock", "FixedClock", "Now", "iso_week", "parse_today"]

#: What a part of the product holds to read the time: any callable returning an aware
#: UTC datetime (a Clock, a FixedClock, or a test's own lambda).
Now = Callable[[], datetime]

#: The product's calendar: Dutch law counts days in Dutch time.
NL = ZoneInfo("Europe/Amsterdam")


class Clock:
    """The wall clock, optionally moved by a whole offset (``--today``).

    Callable, so ``core.clock()`` reads as "now". The offset keeps time
    running: a moderator who chats with ``--today 2027-03-01`` sees minutes
    pass as they do, on that day.
    """

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def timestamp(self) -> int:
        """Whole seconds since the epoch: how the store stamps rows."""
        return int(self().timestamp())

    def today(self) -> date:
        """The Dutch calendar day it is now."""
        return self().astimezone(NL).date()

    @classmethod
    def on(cls, day: date) -> Clock:
        """A running clock that shows ``day`` today (same time of day as the real clock)."""
        real = datetime.now(UTC)
        return cls(timedelta(days=(day - real.astimezone(NL).date()).days))


class FixedClock(Clock):
    """A clock that stands still until moved: tests, scenarios and the benchmark."""

    def __init__(self, moment: datetime) -> None:
        super().__init__()
        if moment.tzinfo is None:
            raise ValueError("a FixedClock needs an aware datetime (a time without a zone is ambiguous)")
        self.moment = moment.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        """Move the clock on (``advance(days=31)``, ``advance(minutes=5)``)."""
        self.moment += timedelta(**delta)

    def set(self, moment: datetime) -> None:
        self.moment = moment.astimezone(UTC)


#: The clock the product runs on unless told otherwise.
SYSTEM = Clock()


def iso_week(moment: datetime) -> str:
    """The ISO week of the Dutch calendar ("2026-W48"): statistics are counted per week.

    Dutch, so a Monday 00:30 in Amsterdam (still Sunday in UTC) counts in the new week."""
    year, week, _ = moment.astimezone(NL).isocalendar()
    return f"{year}-W{week:02d}"


def parse_today(text: str) -> date:
    """``--today YYYY-MM-DD``: a clear error for argparse instead of a traceback."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--today takes a date as YYYY-MM-DD, not {text!r}") from None
