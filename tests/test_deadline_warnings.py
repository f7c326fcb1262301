"""A deadline that has passed, or is close, is said once and fits what is at stake.

Why: a parent whose complaint deadline had passed read three "Let op" blocks in a row, one of
them "Neem vandaag nog contact op met een advocaat" for a complaint that costs nothing and needs
no lawyer (try-out 25, item 16). A deadline in a law (`atw: true`: bezwaar, hoger beroep) keeps
its warning to get legal help today; a body's own complaint rules get one plain warning.
"""

from __future__ import annotations

import functools

import pytest

from bot.engine import TurnContext
from bot.flows.flowset import FlowSet
from bot.flows.loader import load_flowset
from tests.conftest import NOW, REPO, TODAY
from tests.test_engine import Chat

NOTE = {"nl": "Let op", "en": "Note"}
LAWYER = {"nl": "advocaat", "en": "lawyer"}


@functools.cache
def shipped() -> FlowSet:
    return load_flowset(REPO / "flows", REPO / "locales")


def press(chat: Chat, label: str) -> list[str]:
    """Press the button whose label contains `label`, as a person would."""
    assert chat.question is not None
    [choice] = [c.id for c in chat.question.choices if label in c.label]
    return chat.press(choice)


def gi_complaint_about(lang: str, when: str) -> list[str]:
    """A parent's complaint about how a GI treated them, about something that happened `when`."""
    chat = Chat(shipped(), TurnContext(today=TODAY, now=NOW, default_lang=lang))
    chat.command("start", "klacht")
    for label in {"nl": ("Hoe ik behandeld ben", "(GI)", "Laat de gratis hulp zien", "Nee, nog niet"),
                  "en": ("How I was treated", "(GI)", "Show the free help", "No, not yet")}[lang]:
        press(chat, label)
    chat.say(when)
    return press(chat, {"nl": "Ja", "en": "Yes"}[lang])


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_passed_complaint_deadline_gives_one_warning_and_no_lawyer_today(lang: str) -> None:
    said = "\n".join(gi_complaint_about(lang, {"nl": "1 januari 2025", "en": "1 January 2025"}[lang]))
    assert said.count(NOTE[lang]) == 1, said
    assert LAWYER[lang] not in said
    assert {"nl": "Wat nog kan:", "en": "What you can still do:"}[lang] in said  # what can still be done stays


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_close_complaint_deadline_says_send_it_soon_with_free_help_not_a_lawyer(lang: str) -> None:
    ten_days_left = {"nl": "9 december 2025", "en": "9 December 2025"}[lang]  # one year after: 9 December 2026
    said = "\n".join(gi_complaint_about(lang, ten_days_left))
    assert {"nl": "Stuur je klacht zo snel mogelijk", "en": "Send your complaint as soon as you can"}[lang] in said
    assert LAWYER[lang] not in said


def test_a_passed_legal_deadline_still_says_get_legal_help_today() -> None:
    chat = Chat(shipped(), TurnContext(today=TODAY, now=NOW, default_lang="nl"))
    chat.command("start", "termijn")
    press(chat, "Bezwaar")
    chat.say("1 september 2026")
    said = "\n".join(press(chat, "Ja"))
    assert "Vraag vandaag nog een advocaat of Het Juridisch Loket om hulp" in said
