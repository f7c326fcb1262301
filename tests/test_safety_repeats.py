"""The safety flow's "Meer" screens say a thing once (try-out 25, item 16).

After "Meer: aangifte doen" the long prompt ("Wil je meer lezen ... Ik stel nog vijf korte
vragen") came again in full, domicilie and the VPT code were explained in the cards and again
in the step's text, and a card shown before was answered with "Kijk hierboven voor het nummer
en de website" where it has neither.
"""

from __future__ import annotations

import functools

import pytest

from bot.engine import TurnContext
from bot.engine.steps import SHOWN_CARDS
from bot.flows.flowset import FlowSet
from bot.flows.loader import load_flowset
from tests.conftest import NOW, REPO, TODAY
from tests.test_engine import Chat


@functools.cache
def shipped() -> FlowSet:
    return load_flowset(REPO / "flows", REPO / "locales")


def at_the_steps(lang: str) -> Chat:
    """A professional threatened in person yesterday, at work: at "read more about a step?"."""
    chat = Chat(shipped(), TurnContext(today=TODAY, now=NOW, default_lang=lang))
    chat.command("start", "veilig")
    for choice in ("after", "in_person"):
        chat.press(choice)
    chat.say("28-11-2026")
    chat.press("yes")
    chat.press("work")
    return chat


@pytest.mark.parametrize(("lang", "short", "long"), [
    ("nl", "Wil je nog iets lezen, of de samenvatting maken?", "Ik stel nog vijf korte vragen"),
    ("en", "Anything else to read, or shall I make the summary?", "I will ask five more short questions"),
])
def test_after_a_more_screen_the_question_is_short_and_the_cards_are_not_explained_again(lang, short, long):
    chat = at_the_steps(lang)
    assert long in chat.texts[-1]  # the first time: the whole offer
    said = chat.press("aangifte")
    cards, question = said[:-1], said[-1]
    assert any("domicilie" in card for card in cards) and any("VPT" in card for card in cards)
    assert question.count("domicilie") == 1 and "Veilige Publieke Taak" not in question  # said by the card above
    assert short in question and long not in question


@pytest.mark.parametrize(("lang", "seen", "step", "wanted", "unwanted"), [
    ("nl", ["aangifte_domicilie", "ela_vpt"], "aangifte", "De uitleg staat hierboven.", "nummer"),
    ("nl", ["politie_geen_spoed", "meld_misdaad_anoniem"], "melding",
     "Kijk hierboven voor het nummer en de website.", "De uitleg staat"),
    ("en", ["aangifte_domicilie", "ela_vpt"], "aangifte", "The explanation is above.", "number"),
])
def test_a_card_shown_before_points_above_for_a_number_only_when_it_has_one(lang, seen, step, wanted, unwanted):
    chat = at_the_steps(lang)
    assert chat.state is not None
    chat.state.vars[SHOWN_CARDS] = list(seen)  # this journey showed these cards already
    [again, *_] = chat.press(step)
    assert again.startswith(("Eerder in dit gesprek zag je al", "Shown earlier in our conversation")), again
    assert wanted in again and unwanted not in again
