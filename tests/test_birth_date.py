"""A child's date of birth in the complaint letter is checked against the product's today.

Why: in the try-out a date still to come, or a "child" of 40, went into the letter as typed.
The dates here are computed from the product clock (bot/clock.py), so the test holds on any
day: a birthday a year ahead, thirty years back, exactly eighteen years back (the child is
18 today: asked about) and a day less (17: taken as typed).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.app import load_flows
from bot.clock import SYSTEM
from bot.dates import add_period, format_date
from bot.expressions import BASE_FUNCTIONS
from bot.flows.flowset import FlowSet
from bot.scenarios import run_files
from bot.settings import ROOT, Settings

#: the words of each language on the way to the question, and what the bot says about the date
WORDS = {
    "nl": {"treated": "Hoe ik behandeld ben", "help": "Laat de gratis hulp zien",
           "answered": "Ja, niet tevreden met antwoord", "yes": "Ja", "letter": "Ja, maak een conceptbrief",
           "what": "De gezinsvoogd kwam drie afspraken niet na en belde niet terug.",
           "wish": "Dat u onderzoekt of de rechten van mijn dochter zijn geschonden.",
           "ombudsman": "De Kinderombudsman", "ask": "Wat is de geboortedatum van je kind?",
           "future": "Die dag moet nog komen, dus dat kan geen geboortedatum zijn.",
           "adult": "Dan is je kind nu {age} jaar. Klopt die datum?", "again": "Nee, opnieuw typen",
           "right": "Ja, die klopt",
           "authority": "Ja, ik heb gezag", "read": "Ik lees: {date}."},
    "en": {"treated": "How I was treated", "help": "Show the free help",
           "answered": "Yes, unhappy with the answer", "yes": "Yes", "letter": "Yes, make a draft letter",
           "what": "The family guardian missed three appointments and never called back.",
           "wish": "That you look into whether my daughter's rights were respected.",
           "ombudsman": "The Kinderombudsman", "ask": "What is your child's date of birth?",
           "future": "That day has not come yet, so it cannot be a date of birth.",
           "adult": "Then your child is {age} now. Is that date right?", "again": "No, type it again",
           "right": "Yes, that is right",
           "authority": "Yes, I have authority", "read": "I read: {date}."},
}


@functools.cache
def shipped() -> FlowSet:
    return load_flows(Settings())


def to_the_birth_date(lang: str, today: date) -> list[dict[str, object]]:
    w = WORDS[lang]
    answered = format_date(add_period(today, weeks=-1), lang)  # a recent answer: still in time
    return [{"user": "/start klacht"}, {"press": w["treated"]}, {"press": "(GI)"}, {"press": w["help"]},
            {"press": w["answered"]}, {"user": answered}, {"press": w["yes"]}, {"press": w["letter"]},
            {"user": w["what"]}, {"user": w["wish"]}, {"press": w["ombudsman"]},
            {"user": "Jeugdbescherming Regio Amsterdam"}, {"user": "JB-2026-4471"},
            {"user": "Noor de Wit", "expect": [w["ask"]]}]


async def run(tmp_path: Path, lang: str, today: date, turns: list[dict[str, object]]) -> None:
    path = tmp_path / f"born_{lang}.yaml"
    with path.open("w", encoding="utf-8") as out:
        YAML().dump({"name": f"birth date ({lang})", "lang": lang, "today": today.isoformat(),
                     "turns": to_the_birth_date(lang, today) + turns}, out)
    report = await run_files([path], shipped(), root=ROOT)
    assert not report.broken, "\n".join(report.broken)
    [result] = report.results
    assert result.ok, "\n".join(result.failures)


@pytest.mark.parametrize("lang", ["nl", "en"])
async def test_a_birth_date_still_to_come_is_refused_and_asked_again(tmp_path: Path, lang: str) -> None:
    today, w = SYSTEM.today(), WORDS[lang]
    born = add_period(today, years=1)
    await run(tmp_path, lang, today, [
        {"user": format_date(born, lang),
         "expect": [w["read"].format(date=format_date(born, lang)), w["future"], w["ask"]]}])


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("years", [30, 18])
async def test_a_child_of_18_or_older_is_said_back_with_the_age_and_asked_about(
        tmp_path: Path, lang: str, years: int) -> None:
    today, w = SYSTEM.today(), WORDS[lang]
    born = add_period(today, years=-years)
    await run(tmp_path, lang, today, [
        {"user": format_date(born, lang), "expect": [w["read"].format(date=format_date(born, lang)),
                                                     w["adult"].format(age=years)],
         "choices": [w["again"]]},
        {"press": w["again"], "expect": [w["ask"]]}])


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("born", [
    lambda today: add_period(today, years=-18, days=1),  # 18 tomorrow: still a child
    lambda today: add_period(today, years=-10),
    lambda today: today,  # born today
])
async def test_a_child_s_birth_date_is_read_back_and_taken(tmp_path: Path, lang: str, born: Callable[[date], date]) -> None:
    """Read back like every date the bot reads (letters: '3-4-15' went into the letter unread)."""
    today, w = SYSTEM.today(), WORDS[lang]
    typed = format_date(born(today), lang)
    await run(tmp_path, lang, today, [
        {"user": typed, "expect": [w["read"].format(date=typed)], "choices": [w["right"], w["again"]]},
        {"press": w["right"], "choices": [w["authority"]]}])


@pytest.mark.parametrize(("typed", "wanted"), [
    ("12-5-2016 en 3-9-2019", ["2016-05-12", "2019-09-03"]),
    ("3 september 2019, 12 mei 2016", ["2019-09-03", "2016-05-12"]),  # the order typed: the order of the names
    ("12-5-2016", None),  # one date for two children: asked again, never written for both
    ("12-5-2016 en ergens in de lente", None),
    ("later", None),
])
def test_two_children_have_a_date_each_or_none(typed: str, wanted: list[str] | None) -> None:
    """Why: "Yassin en Nour, geboren op 12 mei 2016" stated a false fact for two children (try-out 33)."""
    today = SYSTEM.today()
    assert BASE_FUNCTIONS["past_dates_in"](typed, today.isoformat(), "nl") == wanted


def test_a_date_still_to_come_for_one_child_makes_the_answer_unread() -> None:
    today = SYSTEM.today()
    later = add_period(today, years=1)
    typed = f"12-5-2016 en {later.day}-{later.month}-{later.year}"
    assert BASE_FUNCTIONS["past_dates_in"](typed, today.isoformat(), "nl") is None
