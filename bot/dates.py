"""Dates as people type them, in Dutch or English, and date arithmetic.

The one place that parses and formats dates ("if two places parse dates, one
of them is wrong"). Pure: `today` is always passed in, so the engine stays
deterministic and tests need no clock.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Collection, Sequence
from datetime import date, timedelta

from dateutil.easter import easter as dateutil_easter
from rapidfuzz.distance import OSA

from bot.clauses import BETWEEN, alternatives, gap
from bot.folding import folded
from bot.not_knowing import DONT_KNOW, one_of

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

#: Full month names, for reading a typing error ("spetember", "novmber", "febuari")
_FULL_MONTHS = tuple(name for name in MONTHS if len(name) >= 5)


def month_number(word: str) -> int | None:
    """The month a typed word names: its name or short form, or a full name with one typing error
    (a letter too many, too few, wrong, or two swapped: "spetember"), when only one month fits.
    The date is read back in words, so a wrong guess is seen and corrected."""
    found = MONTHS.get(word)
    if found is not None or len(word) < 5 or not word.isalpha():
        return found
    near = {MONTHS[name] for name in _FULL_MONTHS if OSA.distance(word, name, score_cutoff=1) <= 1}
    return near.pop() if len(near) == 1 else None


MONTH_NAMES = {
    "nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli",
           "augustus", "september", "oktober", "november", "december"],
    "en": ["January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December"],
}

RELATIVE = {
    "vandaag": 0, "today": 0, "gisteren": -1, "yesterday": -1,
    "eergisteren": -2, "morgen": 1, "tomorrow": 1, "overmorgen": 2,
    # a part of a day is still that day ("yesterday evening" was refused in a try-out)
    "gisteravond": -1, "gistermiddag": -1, "gisterochtend": -1, "gistermorgen": -1, "gisternacht": -1,
    "vanochtend": 0, "vanmorgen": 0, "vanmiddag": 0, "vanavond": 0, "last night": -1,
    "this morning": 0, "this afternoon": 0, "this evening": 0, "tonight": 0,
}
#: Monday is 0, as date.weekday() counts.
WEEKDAY_NAMES = (
    ("maandag", "monday"), ("dinsdag", "tuesday"), ("woensdag", "wednesday"), ("donderdag", "thursday"),
    ("vrijdag", "friday"), ("zaterdag", "saturday"), ("zondag", "sunday"))
WEEKDAY_NUMBERS = {name: number for number, names in enumerate(WEEKDAY_NAMES) for name in names}
#: How people name a coming weekday, before its name in their language ("volgende week donderdag", "next thursday")
_COMING = (("volgende week", "komende", "aanstaande"), ("next week", "next"))
#: Short day names, read only next to "vorige week" / "last week" ("vorige week di"): alone, "do" or
#: "zo" is more often a word than a day.
SHORT_WEEKDAYS = {name: number for number, names in enumerate((
    ("ma", "mon"), ("di", "tue", "tues"), ("wo", "wed"), ("do", "thu", "thur", "thurs"),
    ("vr", "fri"), ("za", "sat"), ("zo", "sun"))) for name in names}
_NL_UNITS = ["een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen"]
_EN_UNITS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
#: Days of a month written as words, 1 to 31 ("drie november", "twenty-one March"); accents are
#: already gone ("tweeëntwintig" reads as "tweeentwintig").
NUMBER_WORDS: dict[str, int] = {
    **{word: n for n, word in enumerate(_NL_UNITS, start=1)},
    **{word: n for n, word in enumerate(["tien", "elf", "twaalf", "dertien", "veertien", "vijftien",
                                          "zestien", "zeventien", "achttien", "negentien", "twintig"], start=10)},
    **{f"{word}entwintig": 20 + n for n, word in enumerate(_NL_UNITS, start=1)},
    "dertig": 30, "eenendertig": 31,
    **{word: n for n, word in enumerate(_EN_UNITS, start=1)},
    **{word: n for n, word in enumerate(["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
                                          "sixteen", "seventeen", "eighteen", "nineteen", "twenty"], start=10)},
    **{f"twenty{sep}{word}": 20 + n for n, word in enumerate(_EN_UNITS, start=1) for sep in ("-", " ")},
    "thirty": 30, "thirty-one": 31, "thirty one": 31,
}
_NUMBER_WORD = re.compile(r"^(" + "|".join(sorted(map(re.escape, NUMBER_WORDS), key=len, reverse=True)) + r")(?= )")
#: "op 3 november", "on the 3rd of November", "ergens vorige week": words before a date that do not change it
_LEADING = re.compile(r"^(?:(?:op|on|the|i think|ik denk|ik geloof|it was|het was|ergens|sometime|some time) )+")
#: "ik weet het niet zeker, ergens vorige week", "not sure, last week sometime": not knowing the day
#: exactly, then as much as the person knows; the date read back in words (a week's days to pick
#: from) is the kind answer (a try-out got the 113 screen for it). Built from the one DONT_KNOW list:
#: "weet ik niet, vorige week" got the 113 screen, "no idea, last week" the suicide check while
#: "weet niet precies, vorige week ergens" was read (review 2026-12-07).
_KNOW_NOT = one_of(DONT_KNOW | {"niet zeker", "weet het niet", "not certain", "i am not sure", "i do not know"})
_UNSURE = re.compile(r"^(?:(?:ik )?weet (?:het |ik )?niet|" + _KNOW_NOT + ")"
                     r"(?: (?:zeker|precies|meer precies|exact|exactly|for sure))?"
                     r"(?: (?:meer|anymore|maar|but))?" + gap(BETWEEN + ":.-"))  # and a dash; not "?" or "!"
#: "last tuesday i think", "3 november denk ik", "last week sometime": a hedge after the date does not change it either
_HEDGE = re.compile(gap(",") + r"(?:i think|i guess|i believe|probably|or so|denk ik|geloof ik|volgens mij|ofzo|of zo"
                    r"|sometime|some time|ergens)$")
#: "gisteren 's avonds", "yesterday evening", "3 november in de ochtend": a part of the day after a
#: date does not change it
_PART_OF_DAY = re.compile(r"(?<!^last)(?<!^this) (?:in de |in the |at |'s |s )?"
                          r"(?:avond|ochtend|middag|nacht|avonds|ochtends|middags|nachts|evening|morning|afternoon|night)$")
#: "dinsdag", "afgelopen dinsdag", "last tuesday", "vorige week dinsdag", "vorige week di", "last week tuesday",
#: "tuesday last week"
_PAST_WEEKDAY = re.compile(r"^(?:((?:vorige|afgelopen|last|previous) week|afgelopen|last|previous)\s+)?([a-z]+)"
                           r"(?:\s+(vorige week|last week|previous week))?$")
#: "vorige week", "last week" without a day: a week, not a date (`read_dates` gives its seven days)
_LAST_WEEK = re.compile(r"^(?:in |the |in de |de )?(?:vorige|afgelopen|verleden|last|previous) week$")
#: "deze week", "this week": the days of this week up to today (from today, where a day to come is asked)
_THIS_WEEK = re.compile(r"^(?:in |in de )?(?:deze|this) week$")
#: "volgende week", "komende week", "next week", "the coming week" without a day: a week to come, its seven days
#: to pick from (never silently its Monday)
_NEXT_WEEK = re.compile(r"^(?:in |the |in de |de )?(?:volgende|komende|aanstaande|next|coming) week$")
_AGO = re.compile(r"^(\d{1,3}|a|an) (dag|dagen|day|days|week|weken|weeks|maand|maanden|month|months) (geleden|ago)$")
#: "over drie weken", "over 3 dagen", "in three weeks", "in a month": a day ahead, counted from today
#: (try-out 35: a hearing "over drie weken" was not read at the hearing question)
_AHEAD = re.compile(r"^(?:over|in) (\d{1,3}|[a-z]+(?:[- ][a-z]+)?) "
                    r"(dag|dagen|day|days|week|weken|weeks|maand|maanden|month|months)"
                    r"(?: from now| from today| vanaf nu| vanaf vandaag| time)?$")
_NUMERIC = re.compile(r"^(\d{1,2})[-/.](\d{1,2})(?:[-/.](\d{2}|\d{4}))?$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DAY_MONTH = re.compile(r"^(\d{1,2})(?:e|ste|de|st|nd|rd|th)?(?: of)? ([a-z]+)\.?,?(?: (\d{4}))?$")
_MONTH_DAY = re.compile(r"^([a-z]+)\.? (?:the )?(\d{1,2})(?:st|nd|rd|th)?,?(?: (\d{4}))?$")
_WEEKDAYS = re.compile(
    r"^(maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday),? "
)
#: "vorige maand", "last month", "deze maand", "volgende maand", "next month", "november", "november 2026":
#: a month without its day
_MONTH_ONLY = re.compile(r"^(?:(vorige|afgelopen|verleden|last|previous|deze|this|volgende|komende|next) (?:maand|month)"
                         r"|([a-z]+)(?: (\d{4}))?)$")
#: which side of today a question's date lies on: "past", "future", or None (either)
When = str | None


#: "weet ik niet welke dag", "i dont know which day": not knowing the day itself (after a week was read,
#: or at the date question); the model read "weet ik niet welke dag" as despair (a fourth try-out)
_DAY_UNKNOWN = re.compile(
    r"(?:(?:ik )?(?:weet|wist) (?:ik |het )?(?:echt |even |nu |ook )?niet(?: meer)?(?: precies| zeker| goed)?"
    r"|(?:i )?(?:really )?(?:dont|do not|don t|didnt|cant|cannot) (?:know|remember|recall)(?: exactly| for sure)?"
    r"|" + _KNOW_NOT + ")"
    r"(?: (?:welke|wat voor|op welke|which|what|on which|on what) (?:dag|datum|day|date))?(?: (?:het was|it was))?"
    r"(?: (?:sorry|helaas|precies|exactly))?")


def day_unknown(text: str) -> bool:
    """Does the whole message say the person does not know the day ("geen idee welke dag")?"""
    plain = re.sub(r"[,.;:!?']", " ", _unmarked(text.strip()))
    return bool(_DAY_UNKNOWN.fullmatch(re.sub(r"\s+", " ", plain).strip()))


def _unmarked(text: str) -> str:
    """Lower case, without accents, one space between words: "3 Décembre" reads as "3 decembre"."""
    return re.sub(r"\s+", " ", folded(text))


def _plain(text: str) -> str:
    text = _UNSURE.sub("", _unmarked(text.strip()).rstrip(".!?").strip())
    text = _PART_OF_DAY.sub("", _HEDGE.sub("", _LEADING.sub("", text)))
    return _NUMBER_WORD.sub(lambda m: str(NUMBER_WORDS[m.group(1)]), text)


def _normalise(text: str) -> str:
    """Plain text without a leading weekday: "dinsdag 3 november" is 3 November."""
    return _WEEKDAYS.sub("", _plain(text))


def named_weekday(text: str) -> int | None:
    """The weekday typed in front of a date ("woensdag 3 november"), Monday 0; None without one.

    The date decides, but a weekday that does not match it means the person may have meant
    another day: the bot asks which (see `Answers.answer_date`).
    """
    m = _WEEKDAYS.match(_plain(text))
    return WEEKDAY_NUMBERS[m.group(1)] if m else None


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _on_side(value: date, today: date, when: When) -> bool:
    return not ((when == "past" and value > today) or (when == "future" and value < today))


def _yearless(month: int, day: int, today: date, when: When) -> date | None:
    """A day and month without a year: this year, or, where the question asks for a past (future)
    date and this year's lies after (before) today, the most recent (next) one. On 5 January
    "28-12" about what happened is last 28 December; "29-02" goes back to the last leap year.
    The bot echoes the date with its year, so the person sees which year it took.
    """
    if when is None:
        return _make(today.year, month, day)
    step = -1 if when == "past" else 1
    for offset in range(9):  # a 29 February comes round within eight years
        found = _make(today.year + step * offset, month, day)
        if found and _on_side(found, today, when):
            return found
    return None


def _two_digit_year(yy: int, today: date) -> int:
    """"26" is 2026 and "27" next year, but "85" (a date of birth) is 1985, not 2085."""
    year = today.year // 100 * 100 + yy
    if year > today.year + 19:
        return year - 100
    return year + 100 if year <= today.year - 81 else year


def _numeric(day: int, month: int, year_typed: str | None, today: date, when: When) -> date | None:
    if year_typed is None:
        return _yearless(month, day, today, when)
    year = _two_digit_year(int(year_typed), today) if len(year_typed) == 2 else int(year_typed)
    return _make(year, month, day)


def _week(value: str, today: date, when: When = None) -> list[date] | None:
    """The days of "vorige week" or "volgende week" (Monday to Sunday), or of "deze week" (Monday up to
    today; where a day to come is asked, today up to Sunday)."""
    if _LAST_WEEK.match(value) or _NEXT_WEEK.match(value):
        monday = today - timedelta(days=today.weekday()) + timedelta(days=-7 if _LAST_WEEK.match(value) else 7)
        return [monday + timedelta(days=n) for n in range(7)]
    if _THIS_WEEK.match(value) and when == "future":
        return [today + timedelta(days=n) for n in range(7 - today.weekday())]
    if _THIS_WEEK.match(value):
        return [today - timedelta(days=n) for n in range(today.weekday(), -1, -1)]
    return None


def names_week(text: str) -> bool:
    """Whether the text names a week ("vorige week", "deze week", "volgende week") rather than a day."""
    value = _plain(text)
    return bool(_LAST_WEEK.match(value) or _THIS_WEEK.match(value) or _NEXT_WEEK.match(value))


def read_dates(text: str, today: date, lang: str = "nl", when: When = None) -> list[date]:
    """Every date a parent may have meant: none, one, two for an ambiguous number, or a week's days.

    "vorige week" / "last week" names a week, not a day: its seven days come back, Monday first
    (weeks start on Monday), and the bot shows them and asks which day; asking the same question
    again would not help someone who does not know the date by heart. "deze week" / "this week"
    gives the days of this week up to today.

    `when` is the side of today the question asks for ("past", "future"): a date typed without
    a year is then read on that side (see `_yearless`); a date with a year is read as typed.

    The rule for "9/10/2026" (see docs/FLOWS.md, "Dates"): a numeric date is
    ambiguous when both readings (day-month and month-day) are valid dates and
    differ, and the language does not settle it. English writers use both orders,
    so in English both readings come back, day-month first, and the bot asks which
    one is meant. Dutch writes day-month, so in Dutch only that reading comes back;
    the bot echoes every date in words, so someone who typed US style sees the
    wrong month and corrects it. A number only one reading makes valid
    ("10/13/2026") is read that way in both languages.
    """
    plain = _plain(text)
    if len(plain) > 40:
        return []
    if (m := _PAST_WEEKDAY.match(plain)) and _weekday_of(m) is not None:
        found = parse_date(text, today, when)
        return [found] if found else []
    if (week := _week(plain, today, when)) is not None:
        return week
    m = _NUMERIC.match(_normalise(text))
    if m is None:
        found = parse_date(text, today, when)
        return [found] if found else []
    first, second = int(m.group(1)), int(m.group(2))
    day_month = _numeric(first, second, m.group(3), today, when)
    month_day = _numeric(second, first, m.group(3), today, when)
    if day_month and month_day and day_month != month_day:
        return [day_month, month_day] if lang == "en" else [day_month]
    found = day_month or month_day
    return [found] if found else []


def _amount(word: str) -> int | None:
    """"3", "drie", "a", "een": how many days, weeks or months ahead; None for a word that is no number."""
    if word.isdigit():
        return int(word)
    return 1 if word in ("a", "an") else NUMBER_WORDS.get(word)


#: Between days typed as a list: "vrijdag en zaterdag", "friday, saturday", "vrijdag of zaterdag"
def _counted(value: str, today: date) -> date | None:
    """A day counted from today: back ("3 dagen geleden", "a week ago") or ahead ("over drie weken",
    "in 3 weeks"); months count as months (31 January plus one month is the last of February)."""
    if m := _AGO.match(value):
        amount, sign = (1 if m.group(1) in ("a", "an") else int(m.group(1))), -1
    elif (m := _AHEAD.match(value)) and (ahead := _amount(m.group(1))) is not None:
        amount, sign = ahead, 1
    else:
        return None
    if m.group(2).startswith(("maand", "month")):
        return add_period(today, months=sign * amount)
    return today + timedelta(days=sign * (amount * 7 if m.group(2).startswith("we") else amount))


def listed_dates(text: str, today: date, lang: str = "nl", when: When = None) -> list[date]:
    """Two or more days typed as a list ("vrijdag en zaterdag", "friday or saturday"): each one read,
    in the order typed; [] unless every part is one date and at least two differ.

    Why: "vrijdag en zaterdag" at the safety route's day question became Friday alone, and
    Saturday was lost without a word (try-out 35). The bot shows the days and asks which one.
    """
    parts = _month_shared(alternatives(_unmarked(text.strip()).rstrip(".!?")))
    if not 2 <= len(parts) <= 7:
        return []
    found: list[date] = []
    for part in parts:
        read = read_dates(part, today, lang, when)
        if len(read) != 1:
            return []
        if read[0] not in found:
            found.append(read[0])
    return found if len(found) >= 2 else []


#: A day of a month without its month, in a list that names the month once ("3" in "3 en 4 december")
_BARE_DAY = re.compile(r"^(\d{1,2})(?:e|ste|de|st|nd|rd|th)?$")


def _month_shared(parts: list[str]) -> list[str]:
    """The parts of a list of days with the month said once given to each day: "3 en 4 december" is
    "3 december" and "4 december", "december 3 and 4" is "december 3" and "december 4"; the year too.

    Why: "3 en 4 december" was not read at all ("3" alone is no date), and the person was asked again.
    """
    if not parts:  # a blank message has no parts (a random conversation found it)
        return parts
    last, first = _DAY_MONTH.match(_plain(parts[-1])), _MONTH_DAY.match(_plain(parts[0]))
    if last is not None and month_number(last.group(2)):
        year = f" {last.group(3)}" if last.group(3) else ""
        return [f"{m.group(1)} {last.group(2)}{year}" if (m := _BARE_DAY.match(part.strip())) else part for part in parts]
    if first is not None and month_number(first.group(1)):
        return [f"{first.group(1)} {m.group(1)}" if (m := _BARE_DAY.match(part.strip())) else part for part in parts]
    return parts


def _weekday_of(m: re.Match[str]) -> int | None:
    """The day a `_PAST_WEEKDAY` match names; a short name ("di") only next to "vorige week"."""
    if m.group(2) in WEEKDAY_NUMBERS:
        return WEEKDAY_NUMBERS[m.group(2)]
    qualified = m.group(1) or m.group(3)
    return SHORT_WEEKDAYS.get(m.group(2)) if qualified else None


def _past_weekday(weekday: int, before: str | None, after: str | None, today: date) -> date:
    """A weekday named for a past event: the dates people give about what happened.

    "dinsdag": the last Tuesday, today included; "afgelopen dinsdag" / "last tuesday": the last
    one before today; "vorige week dinsdag" / "last week tuesday" / "tuesday last week": the
    Tuesday of the week before this one (weeks start on Monday). The bot echoes the date in
    words, so a person who meant another Tuesday sees it and corrects it.
    """
    if "week" in (before or "") or after:
        return today - timedelta(days=today.weekday() + 7 - weekday)
    back = (today.weekday() - weekday) % 7
    if back == 0 and before in ("afgelopen", "last", "previous"):
        back = 7
    return today - timedelta(days=back)


def parse_date(text: str, today: date, when: When = None) -> date | None:
    """Read a date the way a parent writes it; None when it is not a date.

    Numbers are read day-month (the Dutch order); `read_dates` knows when
    that is ambiguous.

    Accepts "1 oktober 2026", "1 okt", "op 3 november", "drie november", "October 1, 2026",
    "1st of December", "01-10-2026", "1/10", "1.10.26", "2026-10-01", "gisteren",
    "3 dagen geleden", "een week geleden", "a week ago", "dinsdag", "vorige week di",
    "last week tuesday", "last tuesday", "over drie weken", "in 3 weeks", "over een maand".
    A date without a year is taken in the current year, or on the side of today `when` asks
    for (see `_yearless`); a two-digit year is at most 19 years ahead of today ("85" is 1985).
    """
    plain = _plain(text)
    value = _WEEKDAYS.sub("", plain)
    if len(value) > 40:
        return None
    if value in RELATIVE:
        return today + timedelta(days=RELATIVE[value])
    if (coming := _coming_weekday(plain, today, when)) is not None:
        return coming
    if (m := _PAST_WEEKDAY.match(plain)) and (weekday := _weekday_of(m)) is not None:
        return _past_weekday(weekday, m.group(1), m.group(3), today)
    if (counted := _counted(value, today)) is not None:
        return counted
    if m := _ISO.match(value):
        return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _NUMERIC.match(value):
        return _numeric(int(m.group(1)), int(m.group(2)), m.group(3), today, when)
    if m := _DAY_MONTH.match(value):
        day_text, month_text, year_text = m.groups()
    elif m := _MONTH_DAY.match(value):
        month_text, day_text, year_text = m.groups()
    else:
        return None
    month = month_number(month_text)
    if not month:
        return None
    if year_text is None:
        return _yearless(month, int(day_text), today, when)
    return _make(int(year_text), month, int(day_text))


#: The ways a date is written inside a longer text ("commissie Zorg, 14 januari om 19:30"),
#: each tried on its own so one cannot hide another ("zorg 14" is no date, "14 januari" is).
_DATES_IN_TEXT = (
    re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b"),
    re.compile(r"(?<![\d:])\d{1,2}[-/.]\d{1,2}(?:[-/.](?:\d{4}|\d{2}))?(?![\d:])"),
    re.compile(r"\b\d{1,2}(?:e|ste|de|st|nd|rd|th)?(?: of)? [a-z]+\.?(?:,? \d{4})?"),
    re.compile(r"\b[a-z]+\.? (?:the )?\d{1,2}(?:st|nd|rd|th)?\b(?:,? \d{4})?"),
    re.compile(r"\b(?:overmorgen|morgen|vandaag|tomorrow|today)\b"),
)
#: A day and month without a year more than this long ago this year means next year's.
_YEARLESS_PAST_DAYS = 60
#: A meeting named by its weekday ("donderdag", "volgende week dinsdag", "next thursday"), when the
#: text has no date: the next such day, today included; "volgende week" / "next week": the one of next week
_WEEKDAY_IN_TEXT = re.compile(
    r"\b(?:(volgende week|next week|komende|aanstaande|next|this coming|this)\s+)?"
    r"(maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag|monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"(?:\s+(volgende week|next week))?\b")
#: Words that make a weekday a past one ("vorige week maandag", "afgelopen maandag", "last monday",
#: "maandag vorige week"): never read as a meeting to come (review 2026-12-07: next Monday was read)
_PAST_BEFORE_WEEKDAY = re.compile(r"\b(?:vorige week|vorige|afgelopen|last week|last|past|previous)\s+$")
_PAST_AFTER_WEEKDAY = re.compile(r"^\s+(?:vorige week|last week|van vorige week|of last week)\b")
#: "komende donderdag" / "next thursday" typed on a Thursday is next week's, not today
_NEXT_ONE = frozenset({"komende", "aanstaande", "next", "this coming"})


def date_in_text(text: str, today: date) -> date | None:
    """The first date written in a text about something to come (a meeting); None without one.

    A day without a year is this year's, unless that was more than two months ago: on
    7 December, "3 december" is last week (the bot says it is past), "14 januari" next
    January. A year typed is read as typed, so "3 december 2025" is past. The bot reads
    the date back in words, so a person who meant another one sees it. A weekday alone
    ("donderdag") is the next one, today included ("volgende week donderdag": next week's; "komende
    donderdag" typed on a Thursday: next week's too). A weekday with a past word ("vorige week
    maandag") gives no date: a meeting is to come.
    """
    plain = _unmarked(text)
    found: list[tuple[int, date]] = []
    for pattern in _DATES_IN_TEXT:
        for m in pattern.finditer(plain):
            this_year = parse_date(m.group(), today)
            if this_year is None:
                continue
            ahead = parse_date(m.group(), today, "future") or this_year
            late = (today - this_year).days > _YEARLESS_PAST_DAYS
            found.append((m.start(), ahead if late and ahead != this_year else this_year))
            break
    if found:
        return min(found)[1]
    named = next((m for m in _WEEKDAY_IN_TEXT.finditer(plain) if not _a_past_weekday(plain, m)), None)
    if named is None:
        return None
    return _weekday_ahead(named, today)  # "donderdag": no date typed, the weekday is one


def _weekday_ahead(named: re.Match[str], today: date) -> date:
    """The day a `_WEEKDAY_IN_TEXT` match names, today or after: "donderdag" the next one, today included;
    "volgende week donderdag" / "thursday next week" the one of next week (weeks start on Monday);
    "komende donderdag" / "next thursday" typed on a Thursday next week's."""
    weekday = WEEKDAY_NUMBERS[named.group(2)]
    if "week" in (named.group(1) or "") or named.group(3):
        return today + timedelta(days=weekday - today.weekday() + 7)
    days_on = (weekday - today.weekday()) % 7
    return today + timedelta(days=days_on or (7 if named.group(1) in _NEXT_ONE else 0))


def _coming_weekday(plain: str, today: date, when: When) -> date | None:
    """A weekday typed as a day to come, alone: "volgende week woensdag", "woensdag volgende week", "komende
    woensdag", "next wednesday"; a weekday without such a word ("woensdag") only where the question asks
    for a day to come (about the past it is the last one, `_past_weekday`). None for anything else.

    Why: "volgende week woensdag" at "Op welke datum is de zitting?" was not read (the known list, s31).
    Said at a question about the past, it is read too, and the bot says the day has not come yet.
    """
    named = _WEEKDAY_IN_TEXT.fullmatch(plain)
    if named is None or (not (named.group(1) or named.group(3)) and when != "future"):
        return None
    if named.group(1) == "this" and when == "past":  # "this tuesday", about what happened: this week's
        return None
    return _weekday_ahead(named, today)


def _a_past_weekday(plain: str, named: re.Match[str]) -> bool:
    """Does a past word stand before or after this weekday ("vorige week maandag", "monday last week")?"""
    return not named.group(1) and not named.group(3) and (
        _PAST_BEFORE_WEEKDAY.search(plain[:named.start()]) is not None
        or _PAST_AFTER_WEEKDAY.match(plain[named.end():]) is not None)


def only_a_weekday(text: str) -> bool:
    """Is the text a weekday and nothing else ("dinsdag", "volgende week dinsdag")? Then a letter
    names the date it stands for, not the words (try-out 2026-12-07: "volgende week dinsdag
    (dinsdag 15 december 2026)")."""
    return _WEEKDAY_IN_TEXT.fullmatch(_unmarked(text).strip(" .,!?")) is not None


def no_such_day(text: str, today: date) -> tuple[int, int, int] | None:
    """A date that does not exist ("31-09-2026", "30 februari"): (day, month, the month's days), else None.

    Why: "Ik kan die datum niet lezen" made a person think the bot could not read numbers; the
    month was read, only the day is not in it. The year typed counts, else this year's.
    """
    value = _WEEKDAYS.sub("", _plain(text))
    if m := _NUMERIC.match(value):
        day, month, year_text = int(m.group(1)), int(m.group(2)), m.group(3)
    elif m := _DAY_MONTH.match(value):
        day, month, year_text = int(m.group(1)), month_number(m.group(2)) or 0, m.group(3)
    else:
        return None
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    year = (_two_digit_year(int(year_text), today) if len(year_text) == 2 else int(year_text)) if year_text else today.year
    days = calendar.monthrange(year, month)[1]  # (29 February without a year is read: it is some year's)
    return (day, month, days) if day > days else None


def yearless_date_in_text(text: str, today: date) -> tuple[str, date] | None:
    """The first day and month written without a year inside a longer text ("op 3 okt was
    ik ..."), as it was typed and read as the last such day up to today; None without one.

    A letter that quotes the text must not leave the year to the reader: the bot reads the
    date back with its year and the letter quotes it so. Typed with a year, it is left alone
    (its past and future readings are the same day).
    """
    plain = _unmarked(text)
    for pattern in _DATES_IN_TEXT[1:3]:
        for m in pattern.finditer(plain):
            past, ahead = parse_date(m.group(), today, "past"), parse_date(m.group(), today, "future")
            if past is None or past == ahead:
                continue
            typed = _as_typed(m.group(), text)
            if typed is not None:
                return typed, past
    return None


def _as_typed(fragment: str, text: str) -> str | None:
    """A fragment of the unmarked text as the person typed it (their capitals and spaces)."""
    words = r"\s+".join(re.escape(word) for word in fragment.rstrip(".").split())
    typed = re.search(words, text, re.IGNORECASE)
    return typed.group() if typed is not None else None


#: "gisteravond", "yesterday evening", "vanochtend" inside a longer text: a day said without a date
_DAY_WORDS_IN_TEXT = re.compile(
    r"\b(?:eergisteren|gisteravond|gistermiddag|gisterochtend|gistermorgen|gisternacht|gisteren|vanochtend|"
    r"vanmorgen|vanmiddag|vanavond|vandaag|yesterday|today|last night|this morning|this afternoon|this evening|"
    r"tonight)\b(?: (?:evening|morning|afternoon|night))?")


def past_date_in_text(text: str, today: date) -> tuple[str, date] | None:
    """The first day up to today a longer text names ("facebook gisteravond ..."), as typed and
    as read; None without one. A worker's first message often says when it happened: the bot
    reads that day back instead of asking again (a try-out asked her twice)."""
    plain = _unmarked(text)
    found: list[tuple[int, str, date]] = []
    for pattern in (_DAY_WORDS_IN_TEXT, *_DATES_IN_TEXT[:3]):
        for m in pattern.finditer(plain):
            day = parse_date(m.group(), today, "past")
            typed = _as_typed(m.group(), text) if day is not None and day <= today else None
            if day is not None and typed is not None:
                found.append((m.start(), typed, day))
                break
    return min(found)[1:] if found else None


#: A date said first in a sentence is found within this many words ("vorige week dinsdag in de middag")
_DATE_FIRST_WORDS = 4


def date_said_in(text: str, today: date, lang: str = "nl", when: When = None) -> str | None:
    """The date a sentence typed at a date question says, as typed: said first ("afgelopen dinsdag heb
    ik weer gebeld en niks"), else a day up to today inside it (not where the future is asked); None
    without one. The bot reads it back in words, so a person who meant another day sees it.

    Why: "afgelopen dinsdag" alone was read, with more words after it "Ik kan die datum niet lezen"
    (try-out 33).
    """
    words = text.split()
    for count in range(min(len(words) - 1, _DATE_FIRST_WORDS), 0, -1):
        first = " ".join(words[:count]).rstrip(",.;:!?")
        if read_dates(first, today, lang, when):
            return first
    told = past_date_in_text(text, today) if when != "future" and len(words) > 1 else None
    return told[0] if told is not None else _date_inside(words, today, lang, when)


#: How many words of a sentence are searched for a date inside it
_SENTENCE_WORDS = 40


def _date_inside(words: list[str], today: date, lang: str, when: When) -> str | None:
    """The first date inside a sentence, as typed, its longest reading first: "over drie weken" in "de
    zitting is over drie weken denk ik", "next week wednesday" in "i think its next week wednesday". A
    day said as a word ("vandaag", "morgen") only when nothing else is: "ik typ vandaag, de zitting is op
    14 januari" means January. The bot reads it back, so a wrong guess is seen.

    Why: a hearing "over drie weken denk ik" got "Ik kan die datum niet lezen" (the known list, s31).
    """
    words = words[:_SENTENCE_WORDS]
    if read_dates(" ".join(words), today, lang, when):
        return None  # a date alone is read whole, not as a sentence
    said_as_word = None
    for start in range(1, len(words)):
        for count in range(min(len(words) - start, _DATE_FIRST_WORDS), 0, -1):
            part = " ".join(words[start:start + count]).strip(",.;:!?()\"'")
            if not part or not read_dates(part, today, lang, when):
                continue
            if _unmarked(part) not in RELATIVE:
                return part
            said_as_word = said_as_word or part
            break
    return said_as_word


def read_month(text: str, today: date, when: When = None) -> date | None:
    """The first day of a month named without its day ("vorige maand", "november"); else None.

    Not a date: the bot says it needs the day, and which month it read.
    """
    plain = _plain(text)
    m = _MONTH_ONLY.match(plain)
    if m is None:
        return _month_in_sentence(plain, today, when)
    if m.group(1):
        first = today.replace(day=1)
        if m.group(1) in ("volgende", "komende", "next"):
            return add_period(first, months=1)
        return first if m.group(1) in ("deze", "this") else add_period(first, months=-1)
    month = month_number(m.group(2) or "")
    if month is None:
        return None
    if m.group(3):
        return _make(int(m.group(3)), month, 1)
    year = today.year
    if when == "past" and month > today.month:
        year -= 1
    elif when == "future" and month < today.month:
        year += 1
    return date(year, month, 1)


#: Words that put a month named in a sentence in time: "sinds maart", "since March"
_MONTH_MARKERS = frozenset({"sinds", "vanaf", "begin", "eind", "half", "midden", "in", "since", "from", "early", "late"})
#: Only a month's full name counts in a sentence ("jan" is a name, "maand" one letter from "maart")
_SENTENCE_MONTHS = frozenset(name.lower() for names in MONTH_NAMES.values() for name in names)


def _month_in_sentence(plain: str, today: date, when: When = None) -> date | None:
    """A month named in a short sentence, "sinds maart 2025 en het gaat door": its full name after
    "sinds" (and the like) or before a year; not "may" without a year ("i may have"), nor a typo."""
    words = re.findall(r"[a-z]+|\d+", plain)
    for i, word in enumerate(words[:12]):
        year = words[i + 1] if i + 1 < len(words) and re.fullmatch(r"\d{4}", words[i + 1]) else None
        if word in _SENTENCE_MONTHS and (year or (word != "may" and i > 0 and words[i - 1] in _MONTH_MARKERS)):
            return read_month(f"{word} {year}" if year else word, today, when)
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


def format_month(value: date, lang: str, months: Sequence[str] | None = None) -> str:
    """"november 2026": a month someone named without its day."""
    names = months or MONTH_NAMES.get(lang, MONTH_NAMES["nl"])
    return f"{names[value.month - 1]} {value.year}"


def format_day(value: date | str, lang: str, weekdays: Sequence[str], months: Sequence[str] | None = None) -> str:
    """"ma 30 november": a day of a week, to pick from; the question above it says which week.

    `weekdays` are the language's seven short names, Monday first (`sys.date.weekdays`); without
    seven of them the day is shown without its name.
    """
    value = date.fromisoformat(value) if isinstance(value, str) else value
    names = months or MONTH_NAMES.get(lang, MONTH_NAMES["nl"])
    day = f"{value.day} {names[value.month - 1]}"
    return f"{weekdays[value.weekday()]} {day}" if len(weekdays) == 7 else day


# ------------------------------------------------------------- public holidays (Algemene termijnenwet)

#: The names (text keys `deadline.why.<name>`) of the days art. 3 Algemene termijnenwet counts as
#: "algemeen erkende feestdagen": lid 1 lists them, lid 2 adds Goede Vrijdag. Every year, 5 May included
#: (unlike many collective agreements, which give it off once in five years).
ATW_HOLIDAYS = ("new_year", "good_friday", "easter_monday", "kings_day", "liberation_day", "ascension_day",
                "whit_monday", "christmas_day", "boxing_day")


def easter_sunday(year: int) -> date:
    """Western Easter Sunday of `year`: the day Goede Vrijdag, Tweede Paasdag, Hemelvaart and Tweede
    Pinksterdag are counted from. dateutil's computus, a well-kept one, rather than one of our own."""
    found = dateutil_easter(year)
    return date(found.year, found.month, found.day)


def atw_holidays(year: int) -> dict[date, str]:
    """The statutory holidays of art. 3 lid 1 and 2 Algemene termijnenwet in `year`, with their names.

    Why not the `holidays` library's Dutch calendar (the desk's): it follows the days people get off,
    which is not the Atw's list (Goede Vrijdag and 5 May every year count here). The days the Crown
    adds by decree (art. 3 lid 3) are facts with a source: they live in flows/directory/ and are passed
    to `bot.directory.legal_last_day`. Koningsdag is 27 April ("de dag waarop de verjaardag van de Koning wordt
    gevierd", from 2014); when that is a Sunday it is kept on Saturday the 26th, a weekend day
    either way, so the shift changes no period here.
    """
    easter = easter_sunday(year)
    kings_day = date(year, 4, 27) if year >= 2014 else date(year, 4, 30)
    return {
        date(year, 1, 1): "new_year",
        easter - timedelta(days=2): "good_friday",
        easter + timedelta(days=1): "easter_monday",
        kings_day: "kings_day",
        date(year, 5, 5): "liberation_day",
        easter + timedelta(days=39): "ascension_day",
        easter + timedelta(days=50): "whit_monday",
        date(year, 12, 25): "christmas_day",
        date(year, 12, 26): "boxing_day",
    }


def atw_day_off(day: date, equated: Collection[date] = ()) -> str | None:
    """Why `day` is no working day for the Atw: a holiday's name (`ATW_HOLIDAYS`), "equated" for a
    day the Crown equated with one (art. 3 lid 3), "weekend"; None for a working day. A holiday on a
    Saturday is named: the person sees the weekday beside it anyway."""
    if day in equated:
        return "equated"
    holiday = atw_holidays(day.year).get(day)
    if holiday is not None:
        return holiday
    return "weekend" if day.weekday() >= 5 else None


def with_the_date(words: str, day: date, said: str, weekday_only: bool = False) -> str:
    """A meeting as typed, with the date it names written in: `said` ("donderdag 17 december 2026") in place of
    "volgende week donderdag" / "next thursday", or after the words when they do not hold the day's number.

    Why: "commissie zorg, volgende week donderdag" in an e-mail to the griffie is wrong once the e-mail is sent a
    few days later (try-out 34); a weekday alone ("donderdag") is the date itself.
    """
    names = WEEKDAY_NAMES[day.weekday()]
    if weekday_only or words.lower().strip() in names:
        return said
    dated = words
    for name, befores in zip(names, _COMING, strict=True):
        for before in befores:
            dated = dated.replace(f"{before} {name}", said).replace(f"{before.capitalize()} {name}", said)
    if dated != words:
        return dated
    return words if str(day.day) in words else f"{words} ({said})"
