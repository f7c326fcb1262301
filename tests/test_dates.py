"""Dates as parents type them (bot.dates), and the arithmetic behind deadlines."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.dates import (
    ATW_HOLIDAYS,
    add_period,
    atw_day_off,
    atw_holidays,
    date_in_text,
    date_said_in,
    easter_sunday,
    format_date,
    listed_dates,
    named_weekday,
    names_week,
    parse_date,
    past_date_in_text,
    read_dates,
    read_month,
    with_the_date,
    yearless_date_in_text,
)

TODAY = date(2026, 11, 29)  # a Sunday


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        # Dutch, written out
        ("1 oktober 2026", date(2026, 10, 1)),
        ("1 Oktober 2026", date(2026, 10, 1)),
        ("1e oktober 2026", date(2026, 10, 1)),
        ("1 okt 2026", date(2026, 10, 1)),
        ("1 okt. 2026", date(2026, 10, 1)),
        ("  17   maart   2025 ", date(2025, 3, 17)),
        ("31 mei", date(2026, 5, 31)),
        ("donderdag 1 oktober 2026", date(2026, 10, 1)),
        ("1 oktober 2026.", date(2026, 10, 1)),
        # numbers
        ("01-10-2026", date(2026, 10, 1)),
        ("1-10-2026", date(2026, 10, 1)),
        ("1/10/2026", date(2026, 10, 1)),
        ("1.10.2026", date(2026, 10, 1)),
        ("1/10", date(2026, 10, 1)),
        ("1-10", date(2026, 10, 1)),
        ("2026-10-01", date(2026, 10, 1)),
        # relative
        ("gisteren", date(2026, 11, 28)),
        ("Gisteren", date(2026, 11, 28)),
        ("vandaag", TODAY),
        ("eergisteren", date(2026, 11, 27)),
        ("morgen", date(2026, 11, 30)),
        ("3 dagen geleden", date(2026, 11, 26)),
        ("2 weken geleden", date(2026, 11, 15)),
        # English
        ("yesterday", date(2026, 11, 28)),
        ("today", TODAY),
        ("tomorrow", date(2026, 11, 30)),
        ("October 1, 2026", date(2026, 10, 1)),
        ("october 1st, 2026", date(2026, 10, 1)),
        ("Oct 1 2026", date(2026, 10, 1)),
        ("1 October 2026", date(2026, 10, 1)),
        ("1st October 2026", date(2026, 10, 1)),
        ("Thursday, 1 October 2026", date(2026, 10, 1)),
        ("3 days ago", date(2026, 11, 26)),
        ("1 week ago", date(2026, 11, 22)),
        ("March 3", date(2026, 3, 3)),
        # a weekday, for what happened (TODAY is a Sunday; weeks start on Monday)
        ("dinsdag", date(2026, 11, 24)),
        ("Dinsdag.", date(2026, 11, 24)),
        ("zondag", TODAY),
        ("afgelopen zondag", date(2026, 11, 22)),
        ("vorige week dinsdag", date(2026, 11, 17)),
        ("dinsdag vorige week", date(2026, 11, 17)),
        ("op vrijdag", date(2026, 11, 27)),
        ("last tuesday", date(2026, 11, 24)),
        ("last sunday", date(2026, 11, 22)),
        ("tuesday last week", date(2026, 11, 17)),
    ],
)
def test_a_date_as_people_type_it(typed, meant):
    assert parse_date(typed, TODAY) == meant


@pytest.mark.parametrize(
    "typed",
    [
        "31-02-2026",  # there is no 31 February
        "29-02-2026",  # 2026 is not a leap year
        "31 april 2026",
        "32-01-2026",
        "0-10-2026",
        "1-13-2026",
        "13/13",
        "1 brumaire 2026",
        "volgende week",  # a week, not a date: read_dates gives its seven days
        "vorige week",
        "afgelopen blauwdag",
        "",
        "   ",
        "gister en vandaag",
        "12345",
        "1-10-2026-1",
        "1 oktober 2026 " + "x" * 50,
    ],
)
def test_what_is_not_a_date_is_none(typed):
    assert parse_date(typed, TODAY) is None


def test_29_february_exists_in_a_leap_year():
    assert parse_date("29-02-2028", TODAY) == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("1-10-26", date(2026, 10, 1)),
        ("1.10.26", date(2026, 10, 1)),
        ("01/10/26", date(2026, 10, 1)),
        ("5-3-00", date(2000, 3, 5)),
        ("1-1-27", date(2027, 1, 1)),  # next year: a hearing date
        ("12-3-85", date(1985, 3, 12)),  # a parent's date of birth, not 2085
        ("1-1-99", date(1999, 1, 1)),
    ],
)
def test_a_two_digit_year_is_the_nearest_sensible_century(typed, meant):
    assert parse_date(typed, TODAY) == meant


def test_a_date_without_a_year_is_in_the_current_year():
    assert parse_date("1/10", date(2030, 1, 5)) == date(2030, 10, 1)
    assert parse_date("5 januari", date(2030, 1, 5)) == date(2030, 1, 5)


@pytest.mark.parametrize(
    ("start", "period", "last_day"),
    [
        (date(2026, 1, 31), {"months": 1}, date(2026, 2, 28)),  # clamped to February's last day
        (date(2028, 1, 31), {"months": 1}, date(2028, 2, 29)),  # leap year
        (date(2026, 8, 31), {"months": 3}, date(2026, 11, 30)),
        (date(2026, 10, 31), {"months": 4}, date(2027, 2, 28)),  # across the year
        (date(2026, 12, 15), {"months": 1}, date(2027, 1, 15)),
        (date(2026, 3, 31), {"months": -1}, date(2026, 2, 28)),
        (date(2028, 2, 29), {"years": 1}, date(2029, 2, 28)),
        (date(2026, 10, 1), {"weeks": 6}, date(2026, 11, 12)),
        (date(2026, 12, 25), {"days": 14}, date(2027, 1, 8)),
        (date(2026, 1, 31), {"months": 1, "days": 1}, date(2026, 3, 1)),  # months first, then days
        (date(2026, 5, 5), {}, date(2026, 5, 5)),
    ],
)
def test_add_period_clamps_to_the_end_of_the_month(start, period, last_day):
    assert add_period(start, **period) == last_day


@pytest.mark.parametrize(
    ("value", "lang", "written"),
    [
        (date(2026, 10, 1), "nl", "1 oktober 2026"),
        (date(2026, 10, 1), "en", "1 October 2026"),
        ("2026-03-17", "nl", "17 maart 2026"),
        ("2026-03-17", "fr", "17 maart 2026"),  # an unknown language falls back to Dutch
        ("not a date", "nl", "not a date"),
    ],
)
def test_format_date_writes_the_month_in_the_users_language(value, lang, written):
    assert format_date(value, lang) == written


@given(day=st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 12, 31)), lang=st.sampled_from(["nl", "en"]))
def test_every_date_the_bot_writes_can_be_read_back(day, lang):
    assert parse_date(format_date(day, lang), TODAY) == day
    assert parse_date(f"{day.day:02d}-{day.month:02d}-{day.year}", TODAY) == day
    assert parse_date(day.isoformat(), TODAY) == day


@given(day=st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)),
       months=st.integers(min_value=0, max_value=240))
def test_add_months_never_overflows_and_never_goes_past_the_months_end(day, months):
    result = add_period(day, months=months)
    total = day.year * 12 + day.month - 1 + months
    assert (result.year, result.month) == (total // 12, total % 12 + 1)
    assert result.day == day.day or (result.day < day.day and (result + (date(2000, 1, 2) - date(2000, 1, 1))).day == 1)


# ---------------------------------------------------------------- what a number may mean


@pytest.mark.parametrize(
    ("typed", "lang", "readings"),
    [
        # English writers use both orders: both readings, day-month first
        ("09/10/2026", "en", [date(2026, 10, 9), date(2026, 9, 10)]),
        ("1/10", "en", [date(2026, 10, 1), date(2026, 1, 10)]),
        # Dutch writes day-month: one reading, echoed in words so a US-style writer sees it
        ("09/10/2026", "nl", [date(2026, 10, 9)]),
        # only one reading is a date: that one, in both languages
        ("13/10/2026", "en", [date(2026, 10, 13)]),
        ("10/13/2026", "en", [date(2026, 10, 13)]),
        ("10/13/2026", "nl", [date(2026, 10, 13)]),
        # the same day either way is not ambiguous
        ("5/5/2026", "en", [date(2026, 5, 5)]),
        # words and ISO are never ambiguous
        ("9 October 2026", "en", [date(2026, 10, 9)]),
        ("2026-10-09", "en", [date(2026, 10, 9)]),
        ("yesterday", "en", [date(2026, 11, 28)]),
        # not a date
        ("31/31/2026", "en", []),
        ("hello", "en", []),
    ],
)
def test_a_number_is_ambiguous_only_where_the_language_leaves_it_open(typed, lang, readings):
    assert read_dates(typed, TODAY, lang) == readings


@pytest.mark.parametrize("typed", ["vorige week", "Afgelopen week", "in de vorige week", "verleden week.",
                                   "last week", "Last week?", "the previous week"])
def test_last_week_without_a_day_is_the_seven_days_of_the_week_before(typed):
    """Monday to Sunday of the week before today's, whatever day of the week today is."""
    assert read_dates(typed, TODAY) == [date(2026, 11, 16) + timedelta(days=n) for n in range(7)]  # TODAY: a Sunday
    for today in (TODAY + timedelta(days=n) for n in range(1, 8)):
        week = read_dates(typed, today)
        this_monday = today - timedelta(days=today.weekday())
        assert week == [this_monday - timedelta(days=7 - n) for n in range(7)]
        assert week[0].weekday() == 0


# ---------------------------------------------------------------- a date without a year, any day of the year

#: days to run on: early January, 29 February, the last day of the year, and an ordinary one
SOME_TODAYS = [date(2027, 1, 5), date(2028, 2, 29), date(2026, 12, 31), date(2026, 12, 7), TODAY]


def _occurrences(day: int, month: int, around: date) -> list[date]:
    """Every valid day/month in the nine years either side of `around`, oldest first."""
    years = range(around.year - 9, around.year + 10)
    return [date(year, month, day) for year in years if day <= calendar.monthrange(year, month)[1]]


@pytest.mark.parametrize("today", SOME_TODAYS)
@pytest.mark.parametrize("typed", ["28-12", "12 dec", "3-11", "25-12", "1 januari", "29-02", "op 3 november",
                                   "drie november", "1st of December", "on 3 November", "March 3"])
def test_a_date_without_a_year_asked_about_the_past_is_the_most_recent_one(typed, today):
    """On 5 January "28-12" is last December's; "29-02" goes back to the last leap year."""
    (read,) = read_dates(typed, today, "nl", when="past")
    earlier = [d for d in _occurrences(read.day, read.month, today) if d <= today]
    assert read == earlier[-1]


@pytest.mark.parametrize("today", SOME_TODAYS)
@pytest.mark.parametrize("typed", ["28-12", "12 dec", "3-11", "4 januari", "5 jan", "29-02", "drie november"])
def test_a_date_without_a_year_asked_about_the_future_is_the_next_one(typed, today):
    (read,) = read_dates(typed, today, "nl", when="future")
    later = [d for d in _occurrences(read.day, read.month, today) if d >= today]
    assert read == later[0]


@given(today=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
       meant=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
       when=st.sampled_from(["past", "future"]))
def test_a_date_without_a_year_always_lands_on_the_side_asked(today, meant, when):
    (read,) = read_dates(f"{meant.day}-{meant.month}", today, "nl", when=when)
    assert (read.day, read.month) == (meant.day, meant.month)
    assert read <= today if when == "past" else read >= today


@pytest.mark.parametrize("today", SOME_TODAYS)
def test_a_date_with_a_year_is_read_as_typed_whatever_the_question_asks(today):
    """Only such a date can lie on the wrong side; the bot then says which date it read."""
    later = add_period(today, years=1)
    assert read_dates(later.strftime("%d-%m-%Y"), today, "nl", when="past") == [later]


@pytest.mark.parametrize("today", SOME_TODAYS)
def test_today_typed_without_a_year_is_today_both_ways(today):
    for when in ("past", "future", None):
        assert read_dates(f"{today.day}-{today.month}", today, "nl", when=when) == [today]


# ---------------------------------------------------------------- more ways people write a date


@pytest.mark.parametrize("today", SOME_TODAYS)
def test_words_people_use_for_a_date(today):
    monday = today - timedelta(days=today.weekday())
    assert parse_date("een week geleden", today) == today - timedelta(weeks=1)
    assert parse_date("a week ago", today) == today - timedelta(weeks=1)
    assert parse_date("twee weken geleden", today) == today - timedelta(weeks=2)
    assert parse_date("een maand geleden", today) == add_period(today, months=-1)
    assert parse_date("vorige week di", today) == monday - timedelta(days=6)
    assert parse_date("vorige week dinsdag", today) == monday - timedelta(days=6)
    assert parse_date("last week tuesday", today) == monday - timedelta(days=6)
    assert parse_date("last week tue", today) == monday - timedelta(days=6)
    assert parse_date("afgelopen week vr", today) == monday - timedelta(days=3)


@pytest.mark.parametrize(
    ("typed", "day", "month"),
    [("op 3 november", 3, 11), ("drie november", 3, 11), ("op drie november", 3, 11), ("Eén mei", 1, 5),
     ("tweeëntwintig maart", 22, 3), ("eenendertig december", 31, 12), ("dertig april", 30, 4),
     ("on 3 November", 3, 11), ("1st of December", 1, 12), ("the 3rd of March", 3, 3),
     ("on the 21st of June", 21, 6), ("twenty-one June", 21, 6), ("November the 3rd", 3, 11),
     ("dinsdag 3 november", 3, 11)],
)
def test_a_day_and_month_in_words(typed, day, month):
    read = parse_date(typed, TODAY)
    assert read is not None and (read.day, read.month) == (day, month)


@pytest.mark.parametrize("typed", ["di", "do", "zo", "vorige week xx", "dertig februari", "twaalf", "a week"])
def test_what_looks_like_a_date_but_is_none(typed):
    """A short day name alone ("zo", "do") is more often a word than a day."""
    assert read_dates(typed, TODAY) == []


@pytest.mark.parametrize("today", SOME_TODAYS)
@pytest.mark.parametrize("typed", ["deze week", "Deze week", "this week", "in deze week"])
def test_this_week_is_its_days_up_to_today(typed, today):
    days = read_dates(typed, today)
    assert days[0].weekday() == 0 and days[-1] == today
    assert days == [days[0] + timedelta(days=n) for n in range(len(days))]
    assert names_week(typed)


@pytest.mark.parametrize("today", SOME_TODAYS)
def test_a_month_without_its_day_is_a_month_not_a_date(today):
    this_month = today.replace(day=1)
    for typed in ("vorige maand", "last month", "afgelopen maand"):
        assert read_dates(typed, today) == []
        assert read_month(typed, today) == add_period(this_month, months=-1)
    assert read_month("deze maand", today) == this_month
    assert read_month("december", today, "past") == date(today.year - (today.month < 12), 12, 1)
    assert read_month("januari", today, "future") == date(today.year + (today.month > 1), 1, 1)
    assert read_month("3 november", today) is None


@pytest.mark.parametrize("today", SOME_TODAYS)
def test_a_month_in_a_sentence_is_read_after_since_or_before_its_year(today):
    """Try-out 2026-12-07: "sinds maart 2025 en het gaat door" was "Ik kan die datum niet lezen"."""
    assert read_month("sinds maart 2025 en het gaat door", today) == date(2025, 3, 1)
    assert read_month("since march and it goes on", today, "past") == read_month("march", today, "past")
    assert read_month("it started may 2025, still going", today) == date(2025, 5, 1)
    # not "may" as a verb, not a typo of "maand", not "jan" as a name
    for typed in ("i may have to wait", "sinds vorige maand ongeveer", "jan zei het"):
        assert read_month(typed, today) is None


def test_the_weekday_typed_in_front_of_a_date():
    assert named_weekday("woensdag 3 november") == 2
    assert named_weekday("Wednesday, 3 November") == 2
    assert named_weekday("3 november") is None
    assert named_weekday("vorige week woensdag") is None


# ------------------------------------------------------------- holidays of the Algemene termijnenwet


@pytest.mark.parametrize(("year", "sunday"), [
    (2000, date(2000, 4, 23)), (2019, date(2019, 4, 21)), (2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)),
    (2026, date(2026, 4, 5)), (2027, date(2027, 3, 28)), (2028, date(2028, 4, 16)), (2038, date(2038, 4, 25)),
])
def test_easter_sunday_in_years_whose_easter_is_known(year: int, sunday: date) -> None:
    assert easter_sunday(year) == sunday
    assert sunday.weekday() == 6


@pytest.mark.parametrize(("year", "days"), [
    (2025, {date(2025, 1, 1): "new_year", date(2025, 4, 18): "good_friday", date(2025, 4, 21): "easter_monday",
            date(2025, 4, 27): "kings_day", date(2025, 5, 5): "liberation_day", date(2025, 5, 29): "ascension_day",
            date(2025, 6, 9): "whit_monday", date(2025, 12, 25): "christmas_day", date(2025, 12, 26): "boxing_day"}),
    (2026, {date(2026, 1, 1): "new_year", date(2026, 4, 3): "good_friday", date(2026, 4, 6): "easter_monday",
            date(2026, 4, 27): "kings_day", date(2026, 5, 5): "liberation_day", date(2026, 5, 14): "ascension_day",
            date(2026, 5, 25): "whit_monday", date(2026, 12, 25): "christmas_day", date(2026, 12, 26): "boxing_day"}),
    (2027, {date(2027, 1, 1): "new_year", date(2027, 3, 26): "good_friday", date(2027, 3, 29): "easter_monday",
            date(2027, 4, 27): "kings_day", date(2027, 5, 5): "liberation_day", date(2027, 5, 6): "ascension_day",
            date(2027, 5, 17): "whit_monday", date(2027, 12, 25): "christmas_day", date(2027, 12, 26): "boxing_day"}),
])
def test_the_holidays_of_art_3_atw_in_a_year(year: int, days: dict[date, str]) -> None:
    """Art. 3 lid 1 and 2 Atw: 5 May and Goede Vrijdag every year, Easter and Whit Sunday only as Sundays."""
    assert atw_holidays(year) == days
    assert set(atw_holidays(year).values()) == set(ATW_HOLIDAYS)


@given(st.integers(min_value=2014, max_value=2200))
def test_the_easter_days_keep_their_distance_and_weekday_in_any_year(year: int) -> None:
    by_name = {name: day for day, name in atw_holidays(year).items()}
    easter = easter_sunday(year)
    assert date(year, 3, 22) <= easter <= date(year, 4, 25)
    assert by_name["good_friday"].weekday() == 4 and by_name["easter_monday"].weekday() == 0
    assert by_name["ascension_day"].weekday() == 3 and by_name["whit_monday"].weekday() == 0
    assert by_name["ascension_day"] - by_name["easter_monday"] == timedelta(days=38)


def test_why_a_day_is_no_working_day() -> None:
    assert atw_day_off(date(2026, 12, 5)) == "weekend"  # a Saturday
    assert atw_day_off(date(2026, 12, 6)) == "weekend"
    assert atw_day_off(date(2026, 12, 7)) is None
    assert atw_day_off(date(2026, 12, 26)) == "boxing_day", "a holiday on a Saturday is named"
    assert atw_day_off(date(2026, 5, 15)) is None, "a day the Crown equated counts only when given"
    assert atw_day_off(date(2026, 5, 15), equated={date(2026, 5, 15)}) == "equated"


@pytest.mark.parametrize(("text", "expected"), [
    ("raadsvergadering 8 dec", "2026-12-08"),          # tomorrow
    ("commissie 3 december 2025", "2025-12-03"),       # a year typed is read as typed: past
    ("commissie 3 december", "2026-12-03"),            # last week, not next year
    ("commissie Zorg, 14 januari om 19:30", "2027-01-14"),  # January is next year's
    ("raad 17-12 om 19:30", "2026-12-17"),
    ("Committee on Society, January 12", "2027-01-12"),
    ("de commissie van morgen", "2026-12-08"),
    ("commissie Sociaal Domein", None),
])
def test_the_date_written_in_a_meetings_name_is_found(text, expected):
    found = date_in_text(text, date(2026, 12, 7))
    assert (found.isoformat() if found else None) == expected


@pytest.mark.parametrize(("typed", "days_back"), [
    ("yesterday evening", 1), ("gisteravond", 1), ("gisteren 's avonds", 1), ("last night", 1),
    ("this morning", 0), ("vanochtend", 0), ("tuesday evening", None),
])
def test_a_part_of_the_day_after_a_date_is_that_day(typed, days_back):
    """A try-out's "yesterday evening" was refused at "when did it happen?"."""
    read = read_dates(typed, TODAY, "en", "past")
    assert len(read) == 1
    if days_back is not None:
        assert read[0] == TODAY - timedelta(days=days_back)
    else:
        assert read[0].weekday() == 1 and read[0] < TODAY


@pytest.mark.parametrize(("text", "typed", "day"), [
    ("er staat dat ik op 3 okt dronken was", "3 okt", date(2026, 10, 3)),
    ("It says I was drunk on 3 OCT.", "3 OCT", date(2026, 10, 3)),
    ("op 28-12 was ik thuis", "28-12", date(2025, 12, 28)),
])
def test_a_day_without_its_year_inside_a_text_is_found_as_typed(text, typed, day):
    """A letter quotes the text: the bot asks about the year of "3 okt" first (the Raad letter)."""
    assert yearless_date_in_text(text, TODAY) == (typed, day)


@pytest.mark.parametrize("text", ["op 3 oktober 2025 was ik thuis", "hij belde 12 keer", "geen datum hier"])
def test_a_text_with_no_yearless_day_gives_none(text):
    assert yearless_date_in_text(text, TODAY) is None


@pytest.mark.parametrize(("text", "typed", "days_back"), [
    ("someone posted my photo on facebook yesterday evening saying where I work", "yesterday evening", 1),
    ("iemand heeft gisteravond mijn foto op Facebook gezet", "gisteravond", 1),
    ("Vandaag belde een vader om me te bedreigen", "Vandaag", 0),
])
def test_the_day_a_first_message_names_is_found_as_typed(text, typed, days_back):
    """A worker's first message said when it happened; the safety flow reads it back, not asks again."""
    assert past_date_in_text(text, TODAY) == (typed, TODAY - timedelta(days=days_back))


@pytest.mark.parametrize("text", ["he hit me at work", "morgen komt hij terug", "ik word bedreigd"])
def test_a_first_message_without_a_past_day_gives_none(text):
    assert past_date_in_text(text, TODAY) is None

# ---------------------------------------------------------------- a new user's try-out (2026-12-07)
from bot.dates import date_in_text as _date_in_text  # noqa: E402
from bot.dates import month_number, no_such_day  # noqa: E402


@pytest.mark.parametrize(("typed", "month"), [
    ("spetember", 9), ("novmber", 11), ("febuari", 2), ("decmber", 12), ("oktobr", 10), ("september", 9), ("mei", 5),
])
def test_a_month_with_one_typing_error_is_read(typed: str, month: int) -> None:
    assert month_number(typed) == month


@pytest.mark.parametrize("typed", ["jni", "maanden", "dagen", "jaren", "minuten", "mensen"])
def test_a_word_that_is_no_month_stays_none(typed: str) -> None:
    assert month_number(typed) is None


def test_a_typed_month_with_a_typing_error_gives_the_date() -> None:
    assert read_dates("2 spetember 2026", TODAY, "nl", "past") == [date(2026, 9, 2)]


@pytest.mark.parametrize(("typed", "found"), [
    ("31-09-2026", (31, 9, 30)), ("31 september 2026", (31, 9, 30)), ("30 februari", (30, 2, 28)),
    ("29-02-2027", (29, 2, 28)), ("32-01-2026", None), ("30-09-2026", None), ("3 november", None), ("hallo", None),
])
def test_a_date_that_does_not_exist_is_told_apart(typed: str, found: tuple[int, int, int] | None) -> None:
    assert no_such_day(typed, TODAY) == found


@pytest.mark.parametrize(("typed", "found"), [
    ("last tuesday i think", date(2026, 11, 24)), ("3 november denk ik", date(2026, 11, 3)),
    ("ik denk 3 november", date(2026, 11, 3)),
])
def test_a_hedge_around_a_date_does_not_change_it(typed: str, found: date) -> None:
    assert read_dates(typed, TODAY, "en", "past") == [found]


@pytest.mark.parametrize(("typed", "days_ahead"), [
    ("donderdag", 4), ("commissie Zorg, donderdag 19:30", 4), ("thursday", 4), ("zondag", 0),
    ("volgende week donderdag", 4), ("next week thursday", 4),  # on a Sunday: the week from tomorrow
])
def test_a_meeting_named_by_its_weekday_is_the_next_one(typed: str, days_ahead: int) -> None:
    assert _date_in_text(typed, TODAY) == TODAY + timedelta(days=days_ahead)


def test_a_date_in_the_meeting_wins_over_its_weekday() -> None:
    assert _date_in_text("commissie, donderdag 10 december", TODAY) == date(2026, 12, 10)


def test_next_weeks_weekday_is_in_the_week_after_this_one() -> None:
    monday = date(2026, 11, 30)
    assert _date_in_text("donderdag", monday) == date(2026, 12, 3)
    assert _date_in_text("volgende week donderdag", monday) == date(2026, 12, 10)


# ---------------------------------------------------------------- review of 2026-12-07
EVERY_WEEKDAY_AS_TODAY = [TODAY + timedelta(days=n) for n in range(7)]


@pytest.mark.parametrize("today", EVERY_WEEKDAY_AS_TODAY, ids=lambda d: d.strftime("%A"))
@pytest.mark.parametrize("typed", ["next thursday", "komende donderdag", "aanstaande donderdag", "this coming thursday"])
def test_next_thursday_is_the_coming_one_and_never_today(today: date, typed: str) -> None:
    """On a Thursday "komende donderdag" gave today; a person means next week's."""
    found = _date_in_text(f"commissie Zorg {typed} 19:30", today)
    assert found is not None and found.weekday() == 3
    assert today < found <= today + timedelta(weeks=1)


@pytest.mark.parametrize("today", EVERY_WEEKDAY_AS_TODAY, ids=lambda d: d.strftime("%A"))
def test_a_weekday_alone_is_the_next_one_today_included(today: date) -> None:
    found = _date_in_text("donderdag", today)
    assert found is not None and found.weekday() == 3
    assert today <= found < today + timedelta(weeks=1)


@pytest.mark.parametrize("today", EVERY_WEEKDAY_AS_TODAY, ids=lambda d: d.strftime("%A"))
@pytest.mark.parametrize("typed", ["vorige week maandag", "afgelopen maandag", "maandag vorige week", "last monday",
                                   "monday last week", "commissie van vorige week maandag"])
def test_a_past_weekday_in_a_meeting_text_gives_no_date(today: date, typed: str) -> None:
    """"vorige week maandag" in a meeting text gave next Monday."""
    assert _date_in_text(typed, today) is None


@pytest.mark.parametrize("today", EVERY_WEEKDAY_AS_TODAY, ids=lambda d: d.strftime("%A"))
def test_a_past_weekday_does_not_hide_the_meeting_s_own_weekday(today: date) -> None:
    found = _date_in_text("vorige week maandag ging het niet door, nu komende donderdag", today)
    assert found is not None and found.weekday() == 3 and today < found <= today + timedelta(weeks=1)


@pytest.mark.parametrize("typed", ["ik weet het niet zeker, ergens vorige week", "not sure, last week sometime",
                                   "ergens vorige week", "sometime last week", "im not sure, last week"])
def test_not_sure_and_a_vague_week_is_that_week(typed: str) -> None:
    """A worker's "ik weet het niet zeker, ergens vorige week" at "when did it happen?" got the 113
    screen (a fourth try-out): not knowing the day exactly, then the week, reads as the week's days."""
    monday = TODAY - timedelta(days=TODAY.weekday() + 7)
    assert read_dates(typed, TODAY, "nl", "past") == [monday + timedelta(days=n) for n in range(7)]
    assert names_week(typed)


def test_not_sure_and_a_day_is_that_day() -> None:
    assert read_dates("ik weet het niet precies, gisteren denk ik", TODAY) == [TODAY - timedelta(days=1)]
    assert read_dates("not sure", TODAY) == [] and read_dates("ergens", TODAY) == []


@pytest.mark.parametrize(("typed", "unknown"), [
    ("weet ik niet welke dag", True), ("i dont know which day", True), ("I don't know which day it was", True),
    ("geen idee", True), ("not sure which day", True), ("vorige week", False),
    ("weet ik niet welke dag, ik wil dood", False),
])
def test_not_knowing_the_day_is_read_as_such_and_nothing_more(typed: str, unknown: bool) -> None:
    from bot.dates import day_unknown

    assert day_unknown(typed) is unknown


@pytest.mark.parametrize(("typed", "said"), [
    ("afgelopen dinsdag heb ik weer gebeld en niks", "afgelopen dinsdag"),
    ("last tuesday I phoned them again, no answer", "last tuesday"),
    ("gisteren belde ik weer", "gisteren"),
    ("ik heb op 3 november gebeld en niks gehoord", "3 november"),
    ("3 keer gebeld", None),
    ("ik weet het niet meer", None),
    ("afgelopen dinsdag", None),  # a date alone is read whole, not as a sentence
])
def test_a_date_said_in_a_sentence_is_found_as_typed(typed: str, said: str | None) -> None:
    """Try-out 33: "afgelopen dinsdag" was read, "afgelopen dinsdag heb ik weer gebeld en niks" not."""
    assert date_said_in(typed, TODAY, when="past") == said


@pytest.mark.parametrize(("typed", "meant"), [
    ("over drie weken", date(2026, 12, 20)),
    ("over 3 weken", date(2026, 12, 20)),
    ("in three weeks", date(2026, 12, 20)),
    ("in 3 weeks", date(2026, 12, 20)),
    ("over een week", date(2026, 12, 6)),
    ("in a week", date(2026, 12, 6)),
    ("over 10 dagen", date(2026, 12, 9)),
    ("over een maand", date(2026, 12, 29)),
    ("in two months", date(2027, 1, 29)),
    ("in de week", None),
])
def test_a_day_ahead_is_counted_from_today(typed: str, meant: date | None) -> None:
    """Try-out 35: a hearing "over drie weken" was not read where the route asks for a future date."""
    assert parse_date(typed, TODAY, "future") == meant


def test_a_day_ahead_is_read_on_the_future_side_only_where_the_past_is_asked() -> None:
    """Read as typed, so a past question can say which date it read and that it lies ahead."""
    assert read_dates("over drie weken", TODAY, "nl", "past") == [date(2026, 12, 20)]


@pytest.mark.parametrize(("typed", "month"), [
    ("volgende maand", date(2026, 12, 1)), ("next month", date(2026, 12, 1)), ("komende maand", date(2026, 12, 1)),
])
def test_next_month_is_a_month_without_its_day(typed: str, month: date) -> None:
    assert read_month(typed, TODAY, "future") == month
    assert read_dates(typed, TODAY, "nl", "future") == []


@pytest.mark.parametrize(("typed", "days"), [
    ("vrijdag en zaterdag", [date(2026, 11, 27), date(2026, 11, 28)]),
    ("friday and saturday", [date(2026, 11, 27), date(2026, 11, 28)]),
    ("vrijdag, zaterdag en zondag", [date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 29)]),
    ("3 november of 4 november", [date(2026, 11, 3), date(2026, 11, 4)]),
    ("vrijdag en vrijdag", []),  # one day twice is one day
    ("vrijdag", []),
    ("vrijdag en toen nog iets", []),
    ("1st of December", []),
])
def test_days_typed_as_a_list_are_each_read(typed: str, days: list[date]) -> None:
    """Try-out 35: "vrijdag en zaterdag" became one day and the other was lost without a word."""
    assert listed_dates(typed, TODAY, "nl", "past") == days


THURSDAY = date(2026, 12, 17)
SAID = "donderdag 17 december 2026"


@pytest.mark.parametrize(("typed", "weekday_only", "written"), [
    ("commissie zorg, volgende week donderdag", False, f"commissie zorg, {SAID}"),
    ("Volgende week donderdag, commissie zorg", False, f"{SAID}, commissie zorg"),
    ("care committee, next thursday", False, f"care committee, {SAID}"),
    ("donderdag", False, SAID),
    ("Thursday ", False, SAID),
    ("raadsvergadering op de 17e", True, SAID),
    ("commissie zorg 17 december", False, "commissie zorg 17 december"),  # the day's number is in it already
    ("commissie zorg", False, f"commissie zorg ({SAID})"),
])
def test_a_meeting_in_the_email_gets_its_date_written_in(typed: str, weekday_only: bool, written: str) -> None:
    """Try-out 34: "volgende week donderdag" in an e-mail to the griffie is wrong once it is sent later."""
    assert with_the_date(typed, THURSDAY, SAID, weekday_only) == written


# ------------------------------------------------------------- the known list, s31: dates in words

@pytest.mark.parametrize(("typed", "when", "meant"), [
    ("volgende week woensdag", "future", date(2026, 12, 2)),  # TODAY is a Sunday: next week starts tomorrow
    ("next week wednesday", "future", date(2026, 12, 2)),
    ("woensdag volgende week", "future", date(2026, 12, 2)),
    ("wednesday next week", None, date(2026, 12, 2)),
    ("komende dinsdag", "future", date(2026, 12, 1)),
    ("next tuesday", "past", date(2026, 12, 1)),  # read, so the bot can say it has not come yet
    ("dinsdag", "future", date(2026, 12, 1)),  # a weekday alone, where a day to come is asked: the next one
    ("dinsdag", "past", date(2026, 11, 24)),  # about what happened: the last one
    ("zondag", "future", TODAY),  # today included
])
def test_a_weekday_to_come_is_read(typed: str, when: str | None, meant: date) -> None:
    assert read_dates(typed, TODAY, "nl", when) == [meant]


@pytest.mark.parametrize("typed", ["volgende week", "next week", "komende week", "the coming week"])
def test_next_week_alone_gives_its_seven_days_never_its_monday(typed: str) -> None:
    days = read_dates(typed, TODAY, "nl", "future")
    assert days == [date(2026, 11, 30) + timedelta(days=n) for n in range(7)]
    assert names_week(typed)


def test_this_week_where_a_day_to_come_is_asked_is_today_up_to_sunday() -> None:
    monday = TODAY - timedelta(days=TODAY.weekday())
    assert read_dates("deze week", monday, "nl", "future") == [monday + timedelta(days=n) for n in range(7)]
    assert read_dates("deze week", monday, "nl", "past") == [monday]


@pytest.mark.parametrize(("typed", "meant"), [
    ("3 en 4 december", [date(2026, 12, 3), date(2026, 12, 4)]),
    ("3 and 4 December", [date(2026, 12, 3), date(2026, 12, 4)]),
    ("3, 4 en 5 december 2025", [date(2025, 12, 3), date(2025, 12, 4), date(2025, 12, 5)]),
    ("december 3 and 4", [date(2026, 12, 3), date(2026, 12, 4)]),
    ("3e of 4e december", [date(2026, 12, 3), date(2026, 12, 4)]),
    ("3 en 4", []),  # no month named: no dates
    ("3 december en 4", []),  # the month is said after the days, not before them
    ("", []),  # a blank message (random conversations in test_properties found an IndexError here)
    ("   ", []),
    ("en", []),
])
def test_days_of_one_month_said_once_are_each_read(typed: str, meant: list[date]) -> None:
    assert listed_dates(typed, TODAY, "nl") == meant


@pytest.mark.parametrize(("typed", "when", "said"), [
    ("de zitting is over drie weken denk ik", "future", "over drie weken"),
    ("i think the hearing is next week wednesday", "future", "next week wednesday"),
    ("ik typ dit vandaag, de zitting is op 14 januari", "future", "op 14 januari"),  # a day said as a word comes last
    ("de zitting is morgen geloof ik", "future", "morgen geloof ik"),
    ("it was last tuesday i think, no answer", "past", "it was last tuesday"),
    ("ik heb 3 kinderen", "future", None),
])
def test_a_date_inside_a_sentence_is_found_as_typed(typed: str, when: str, said: str | None) -> None:
    assert date_said_in(typed, TODAY, "nl", when) == said
