"""What a person typed at "Waren er getuigen?" in the incident summary she takes to police and employer.

A review (2026-12-07) found "I don't know", "Nee, niemand", "nobody saw it", "geen idee", "later"
and "niet dat ik weet" all read as "Getuigen: Ja". No one is a no; not knowing keeps a
[placeholder]; anything else is a yes with her words as a note.
"""

from __future__ import annotations

import pytest

from bot.events import Send
from tests.test_safety_repeats import at_the_steps

LINE = {"nl": "Getuigen: ", "en": "Witnesses: "}
SAYS = {
    "nl": {"yes": "Ja", "no": "Nee", "unknown": "Weet ik niet [namen en hoe ze te bereiken zijn, als je ze weet]"},
    "en": {"yes": "Yes", "no": "No", "unknown": "Not known [names and how to reach them, if you know them]"},
}


def witnesses_line(lang: str, typed: str) -> str:
    chat = at_the_steps(lang)
    chat.press("make")
    chat.press("none")
    chat.press("none")
    chat.say("later")
    chat.say(typed)
    chat.say("nee")
    [document] = [a.document for a in chat.actions if isinstance(a, Send) and a.document]
    [line] = [line for line in document.content.splitlines() if line.startswith(LINE[lang])]
    return line.removeprefix(LINE[lang])


@pytest.mark.parametrize(("lang", "typed", "meant"), [
    ("nl", "Nee, niemand", "no"), ("nl", "niemand zag het", "no"), ("nl", "niet dat ik weet", "no"), ("nl", "nee", "no"),
    ("nl", "geen idee", "unknown"), ("nl", "later", "unknown"), ("nl", "weet ik niet", "unknown"),
    ("nl", "ik weet het niet", "unknown"),
    ("en", "nobody saw it", "no"), ("en", "No, nobody", "no"), ("en", "not that I know of", "no"), ("en", "no", "no"),
    ("en", "I don't know", "unknown"), ("en", "no idea", "unknown"), ("en", "later", "unknown"),
])
def test_no_one_is_a_no_and_not_knowing_keeps_a_placeholder(lang, typed, meant):
    assert witnesses_line(lang, typed) == SAYS[lang][meant]


@pytest.mark.parametrize(("lang", "typed", "shown"), [
    ("nl", "ja", "Ja [namen en hoe ze te bereiken zijn]"),
    ("nl", "mijn collega zag het", "Ja (mijn collega zag het) [namen en hoe ze te bereiken zijn]"),
    ("nl", "niemand behalve mijn collega", "Ja (niemand behalve mijn collega) [namen en hoe ze te bereiken zijn]"),
    ("en", "my colleague saw it too", "Yes (my colleague saw it too) [names and how to reach them]"),
])
def test_who_saw_it_is_a_yes_with_her_words(lang, typed, shown):
    assert witnesses_line(lang, typed) == shown
