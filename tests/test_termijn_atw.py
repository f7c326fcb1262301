"""A statutory last day on a weekend or holiday, as a parent reads it (the Algemene termijnenwet).

Why: a parent told "your last day is Saturday 5 December" for a bezwaar or an appeal is told a wrong
rule. By art. 1 Atw a period set in a law that ends on a Saturday, Sunday or public holiday runs on to
the next working day; the bot shows the calendar day, then the day the law moves it to. A body's own
rules (a GI's complaint regulation) are not a law: their last day stays as it is.

Every date here is computed, never written down: the product clock is put a few days before a last
day chosen to fall on the day a case is about (the next Saturday, Sunday, Tweede Paasdag, Kerst ...
after the tests' day), and the parent types the start date that leads there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.app import build_core, load_flows
from bot.clock import NL, FixedClock
from bot.core import Core
from bot.dates import ATW_HOLIDAYS, add_period, atw_holidays, format_date
from bot.events import Command
from bot.settings import Settings
from bot.testing import CaptureOutlet, ChatClient
from tests.conftest import TODAY

WEEKDAYS = {"nl": ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"],
            "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]}
#: what the bot says after the day, as in locales/<lang>/dates.yaml (deadline.why)
WHY = {"weekend": ".", "new_year": ", Nieuwjaarsdag.", "good_friday": ", Goede Vrijdag.",
       "easter_monday": ", Tweede Paasdag.", "kings_day": ", Koningsdag.", "liberation_day": ", Bevrijdingsdag (5 mei).",
       "ascension_day": ", Hemelvaartsdag.", "whit_monday": ", Tweede Pinksterdag.", "christmas_day": ", Eerste Kerstdag.",
       "boxing_day": ", Tweede Kerstdag."}


def equated_days() -> frozenset[date]:
    return load_flows(Settings(_env_file=None)).atw_equated  # type: ignore[call-arg]


EQUATED = equated_days()


def working_day_after(day: date) -> date:
    """The next day that is no Saturday, Sunday, holiday of art. 3 Atw or equated day: what the law says."""
    day += timedelta(days=1)
    while day.weekday() >= 5 or day in atw_holidays(day.year) or day in EQUATED:
        day += timedelta(days=1)
    return day


def next_day(kind: str, start_by: Callable[[date], date | None]) -> tuple[date, date]:
    """The first day after the tests' day that is `kind` ("saturday", "sunday" or a holiday's name on a
    weekday, so the holiday is the reason), with the start date the period runs from to end there."""
    day = TODAY + timedelta(days=1)
    for _ in range(366 * 30):
        name = atw_holidays(day.year).get(day)
        fits = (kind == "saturday" and day.weekday() == 5 and name is None) or (
            kind == "sunday" and day.weekday() == 6 and name is None) or (name == kind and day.weekday() < 5)
        start = start_by(day) if fits else None
        if start is not None:
            return day, start
        day += timedelta(days=1)
    raise AssertionError(f"no {kind} found")


def weeks_before(n: int) -> Callable[[date], date | None]:
    return lambda day: day - timedelta(weeks=n)


def months_before(n: int) -> Callable[[date], date | None]:
    """The day `n` months before, when adding them back gives the same day (31 May - 3 months does not)."""
    def start(day: date) -> date | None:
        found = add_period(day, months=-n)
        return found if add_period(found, months=n) == day else None
    return start


@dataclass
class Parent:
    core: Core
    outlet: CaptureOutlet
    client: ChatClient
    count: int = 0

    async def work_out(self, lang: str, presses: list[str], start: date, today: date) -> str:
        """A new parent on `today`: the presses, the typed start date, "Ja": everything the bot then says."""
        assert isinstance(self.core.clock, FixedClock)
        self.core.clock.set(datetime.combine(today, time(10, 0), tzinfo=NL))
        self.count += 1
        user = f"parent{self.count}"
        command, *buttons = presses
        name, _, args = command.removeprefix("/").partition(" ")
        await self.client.send(user, Command(name, args), lang_hint=lang)
        for press in buttons:
            await self.client.press(user, press)
        said = await self.client.say(user, format_date(start, lang))
        assert any(WEEKDAYS[lang][start.weekday()] in line for line in said), said
        return "\n".join(await self.client.press(user, "Ja" if lang == "nl" else "Yes"))


@pytest.fixture
async def parent(tmp_path: Path) -> AsyncIterator[Parent]:
    core = await build_core(Settings(_env_file=None, db=tmp_path / "t.sqlite3", watch_flows=False))  # type: ignore[call-arg]
    core.clock = FixedClock(datetime.combine(TODAY, time(10, 0), tzinfo=NL))
    outlet = CaptureOutlet(platform="console")
    core.register(outlet)
    try:
        yield Parent(core, outlet, ChatClient(core, outlet))
    finally:
        await core.stop()
        await core.store.close()


def moved_nl(calendar: date, kind: str, today: date) -> list[str]:
    """What the summary says about a last day on a day off, asked on `today`."""
    legal = working_day_after(calendar)
    why = WHY["weekend" if kind in ("saturday", "sunday") else kind]
    # the day that counts first (a parent reads the bullet), then the calendar day and why it moved
    return [f"Laatste dag: {WEEKDAYS['nl'][legal.weekday()]} {format_date(legal, 'nl')}",
            f"Zonder de Algemene termijnenwet zou het {WEEKDAYS['nl'][calendar.weekday()]} {format_date(calendar, 'nl')} "
            f"zijn{why} Die wet schuift de laatste dag dan door naar de eerstvolgende werkdag. "
            f"Stuur het liefst vóór {format_date(calendar, 'nl')}.",
            "Bron: https://wetten.overheid.nl/jci1.3:c:BWBR0002448&artikel=1, nog niet opnieuw gecontroleerd",
            f"Nog {(legal - today).days} dagen"]


TERMIJN_BEZWAAR = ["/start termijn", "Bezwaar bij de gemeente"]
KINDS = ["saturday", "sunday", "easter_monday", "christmas_day", "liberation_day", "ascension_day", "kings_day"]


async def test_the_termijn_flow_moves_a_bezwaar_past_a_weekend_or_holiday(parent: Parent) -> None:
    """6 weeks (art. 6:7 Awb), ending on each kind of day off in turn; the parent asks three days before."""
    for kind in KINDS:
        calendar, start = next_day(kind, weeks_before(6))
        text = await parent.work_out("nl", TERMIJN_BEZWAAR, start, calendar - timedelta(days=3))
        for line in moved_nl(calendar, kind, calendar - timedelta(days=3)):
            assert line in text, f"{kind}: {line!r} not in\n{text}"
        assert "De regels van de instantie zelf beslissen" not in text, "the law decides here"


async def test_the_termijn_flow_moves_an_appeal_and_a_request_to_the_judge(parent: Parent) -> None:
    """3 months for hoger beroep (art. 806 Rv), 2 weeks for a written instruction (art. 1:264 BW)."""
    cases = [(["/start termijn", "Hoger beroep"], months_before(3), "new_year"),
             (["/start termijn", "Hoger beroep"], months_before(3), "saturday"),
             (["/start termijn", "Schriftelijke aanwijzing"], weeks_before(2), "good_friday"),
             (["/start termijn", "Schriftelijke aanwijzing"], weeks_before(2), "whit_monday")]
    for presses, start_by, kind in cases:
        calendar, start = next_day(kind, start_by)
        text = await parent.work_out("nl", presses, start, calendar - timedelta(days=3))
        for line in moved_nl(calendar, kind, calendar - timedelta(days=3)):
            assert line in text, f"{presses[-1]}, {kind}: {line!r} not in\n{text}"


async def test_the_complaint_routes_give_the_moved_day_in_what_follows(parent: Parent) -> None:
    """The bezwaar and appeal routes of the complaint flow: the summary, then the day that counts."""
    calendar, start = next_day("sunday", weeks_before(6))
    text = await parent.work_out("nl", ["/start klacht", "Een besluit dat ik fout vind", "Wijkteam of gemeente",
                                        "Verder naar stap 3"], start, calendar - timedelta(days=3))
    legal = working_day_after(calendar)
    for line in moved_nl(calendar, "sunday", calendar - timedelta(days=3)):
        assert line in text, f"{line!r} not in\n{text}"
    assert f"uiterlijk op {format_date(legal, 'nl')} bij de gemeente" in text
    decide = working_day_after(legal + timedelta(weeks=6) - timedelta(days=1))
    assert f"uiterlijk op {format_date(decide, 'nl')} beslissen" in text, "six weeks for the municipality from there"

    calendar, start = next_day("christmas_day", months_before(3))
    text = await parent.work_out("nl", ["/start klacht", "Een uitspraak van de rechter", "Verder naar stap 2"],
                                 start, calendar - timedelta(days=3))
    for line in moved_nl(calendar, "christmas_day", calendar - timedelta(days=3)):
        assert line in text, f"{line!r} not in\n{text}"
    assert f"uiterlijk op {format_date(working_day_after(calendar), 'nl')} bij het gerechtshof" in text


async def test_a_day_passed_in_the_weekend_is_not_yet_too_late(parent: Parent) -> None:
    """On the Sunday after a Saturday last day, the appeal still counts until Monday: no "voorbij"."""
    calendar, start = next_day("saturday", weeks_before(2))
    text = await parent.work_out("nl", ["/start klacht", "Een schriftelijke aanwijzing"], start,
                                 calendar + timedelta(days=1))
    legal = working_day_after(calendar)
    assert "Nog 1 dag: morgen is de laatste dag." in text
    assert f"Je verzoek moet uiterlijk op {format_date(legal, 'nl')} bij de kinderrechter zijn" in text
    assert "voorbij" not in text


async def test_in_english_too(parent: Parent) -> None:
    calendar, start = next_day("easter_monday", weeks_before(6))
    legal = working_day_after(calendar)
    text = await parent.work_out("en", ["/start termijn", "Objection (bezwaar)"], start, calendar - timedelta(days=3))
    assert f"Last day: {WEEKDAYS['en'][legal.weekday()]} {format_date(legal, 'en')}" in text
    assert (f"Without the Algemene termijnenwet it would be Monday {format_date(calendar, 'en')}, "
            f"Easter Monday. That law moves the last day on to the next working day. "
            f"Better send it before {format_date(calendar, 'en')}.") in text
    assert "Source: https://wetten.overheid.nl/jci1.3:c:BWBR0002448&artikel=1, not yet re-checked" in text


async def test_a_complaint_under_a_bodys_own_rules_keeps_its_last_day(parent: Parent) -> None:
    """A GI's year for a complaint is its own regulation, not a law (and art. 4 Atw excludes a year)."""
    calendar, start = next_day("saturday", months_before(12))
    text = await parent.work_out("nl", ["/start klacht", "Hoe ik behandeld ben", "Jeugdbescherming (GI)",
                                        "Laat de gratis hulp zien", "Nee, nog niet"], start, calendar - timedelta(days=3))
    assert f"Laatste dag: {format_date(calendar, 'nl')}" in text
    # said once, honestly: the GI's own regulation decides (second try-out: not "uiterlijk op" flatly again)
    assert "Wacht niet tot die laatste dag: de klachtenregeling van jouw GI beslist" in text
    assert "uiterlijk op" not in text
    assert "schuift" not in text and "Algemene termijnenwet" not in text
    lines = text.splitlines()
    after = lines[lines.index(f"- Laatste dag: {format_date(calendar, 'nl')}") + 1]
    assert after.startswith("- Nog "), "the days left come right after the last day, as before"


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_longest_summary_still_fits_one_message(lang: str) -> None:
    """The longest rule (bezwaar), moved by an equated day with its caution, long passed: under 1,000."""
    fs = load_flows(Settings(_env_file=None))  # type: ignore[call-arg]
    note = fs.directory_views[lang]["atw_gelijkgestelde_dagen"]["note"]
    longest = 0
    for equated in sorted(fs.atw_equated):
        start = equated - timedelta(weeks=6)
        for today in (equated + timedelta(days=30), add_period(equated, years=3)):
            term = fs.eval("deadline_term('gemeente_bezwaar', 'indienen', start)", {"start": start, "today": today})
            assert term["moved_because"] == "equated"
            text = fs.render(lang, "deadline.summary", {"term": term, "today": today})
            assert note in text and ("voorbij" in text or "passed" in text)
            longest = max(longest, len(text))
    assert longest <= 1000, longest


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_reason_a_day_moves_has_its_words(lang: str) -> None:
    """`moved_because` is a holiday's name, "weekend", "equated" or "working_days": each needs its text."""
    fs = load_flows(Settings(_env_file=None))  # type: ignore[call-arg]
    for reason in (*ATW_HOLIDAYS, "weekend", "equated", "working_days"):
        assert fs.locales.has(lang, f"deadline.why.{reason}"), reason


def test_my_data_names_the_day_that_counts_and_the_day_it_was_moved_from() -> None:
    """'Mijn gegevens' writes a stored deadline in words: the moved last day, and where it came from."""
    fs = load_flows(Settings(_env_file=None))  # type: ignore[call-arg]
    calendar, start = next_day("saturday", weeks_before(6))
    term = fs.eval("deadline_term('gemeente_bezwaar', 'indienen', start)", {"start": start, "today": start})
    text = fs.render("nl", "privacy.export.deadline_term", {"term": term})
    assert (f"laatste dag {format_date(working_day_after(calendar), 'nl')} (volgens de wet doorgeschoven van "
            f"{format_date(calendar, 'nl')})") in text
