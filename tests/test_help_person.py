"""What the help, the way out and the Telegram menu offer for "a person": the config decides.

A try-out found "Praat met een mens" in the help where no desk (WEGWIJZER_DESKS) was set up, so
nobody could answer. Where a desk is set up they offer a person; otherwise the free help from people
that does exist (a vertrouwenspersoon of Jeugdstem ...), which is what "mens" then shows.
"""

from __future__ import annotations

import pytest

from bot.engine import TurnContext, handle
from bot.engine.system import WAY_OUT_AFTER
from bot.events import Command, Send, Text
from bot.state import State
from tests.desk_harness import MONDAY_10, build_flows


def _turn(events: list[Command | Text], desk: bool) -> list[Send]:
    fs = build_flows()
    ctx = TurnContext(today=MONDAY_10.date(), now=MONDAY_10, desk_available=desk)
    state: State | None = None
    sent: list[Send] = []
    for event in events:
        turn = handle(fs, state, event, ctx)
        state = turn.state
        sent = [a for a in turn.actions if isinstance(a, Send)]
    return sent


@pytest.mark.parametrize(("lang", "person", "free"), [
    ("nl", "mens: met een mens praten", "mens: gratis hulp van mensen, zoals een vertrouwenspersoon"),
    ("en", "person: talk to a person", "person: free help from people, such as a confidential adviser"),
])
def test_the_help_offers_a_person_only_where_a_desk_is_set_up(lang: str, person: str, free: str) -> None:
    start = [Command("start"), Text("english")] if lang == "en" else [Command("start")]
    with_desk = _turn([*start, Text("hulp")], desk=True)[0].text
    without = _turn([*start, Text("hulp")], desk=False)[0].text
    assert person in with_desk and free not in with_desk
    assert free in without and person not in without


def test_the_way_out_offers_free_help_from_people_where_nobody_can_talk() -> None:
    """After three answers the bot could not read: the way out's third button."""
    typed = [Command("start", "inspreken"), *[Text("xq")] * WAY_OUT_AFTER]
    labels = {desk: [b.label for s in _turn(typed, desk) for b in s.choices] for desk in (True, False)}
    assert "Met een mens praten" in labels[True] and "Gratis hulp van mensen" not in labels[True]
    assert "Gratis hulp van mensen" in labels[False] and "Met een mens praten" not in labels[False]


@pytest.mark.parametrize(("lang", "asked", "reads_along", "nobody"), [
    ("nl", "weten mijn ouders dit?", "Alleen als jij zelf vraagt om met een mens te praten",
     "Er leest hier geen medewerker mee."),
    ("en", "do my parents know?", "Only if you yourself ask to talk to a person", "No staff member reads along here."),
])
def test_the_privacy_answer_promises_a_reading_person_only_where_a_desk_is_set_up(
        lang: str, asked: str, reads_along: str, nobody: str) -> None:
    """Try-out 31: "weten mijn ouders dit?" said a staff member reads along when you ask for a person,
    and then "mens" said that is not possible here (no desk)."""
    start = [Command("start"), Text("english")] if lang == "en" else [Command("start")]
    with_desk = " ".join(s.text for s in _turn([*start, Text(asked)], desk=True))
    without = " ".join(s.text for s in _turn([*start, Text(asked)], desk=False))
    assert reads_along in with_desk and nobody not in with_desk
    assert nobody in without and reads_along not in without
