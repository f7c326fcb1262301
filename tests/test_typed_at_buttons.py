"""Words typed at buttons (try-out 34): a button's own words choose it, and who is typing is read from them.

The conversations themselves are scenarios (tests/scenarios/typed_question_at_buttons_*.yaml,
button_words_typed_*.yaml, young_role_own_words_*.yaml); these pin the readers underneath.
"""

from __future__ import annotations

import functools

import pytest

from bot.app import load_flows
from bot.engine.words import read_button
from bot.intents import IntentMatcher
from bot.settings import Settings

#: The buttons the father saw at "Wat wil je vragen?" (the AVG request)
REQUEST = {"copy": "Inzien en een kopie krijgen", "fix": "Feiten laten verbeteren",
           "statement": "Eigen verklaring toevoegen", "all": "Alle drie"}


@pytest.mark.parametrize(("typed", "meant"), [
    ("feiten verbeteren", "fix"),  # the label without its small word "laten"
    ("Feiten verbeteren.", "fix"),
    ("verklaring toevoegen", "statement"),
    ("eigen toevoegen", "statement"),
    ("inzien kopie", "copy"),
    ("kopie", "copy"),  # one word: as before
    # not a choice: words in another order, a word no label has, or a sentence that shares a word
    ("verbeteren feiten", None),
    ("ik wil de feiten laten verbeteren", None),
    ("feiten verbeteren en mijn kant erbij", None),
    ("de feiten", None),
])
def test_a_buttons_own_words_without_its_small_ones_choose_it(typed: str, meant: str | None) -> None:
    assert read_button(typed, [(cid, cid) for cid in REQUEST], REQUEST.__getitem__) == meant


def test_words_in_two_labels_choose_neither() -> None:
    labels = {"gi": "Klacht over de GI", "raad": "Klacht over de Raad", "both": "Allebei: de GI en de Raad"}
    assert read_button("klacht gi", [(cid, cid) for cid in labels], labels.__getitem__) == "gi"
    assert read_button("gi raad", [(cid, cid) for cid in labels], labels.__getitem__) == "both"
    assert read_button("klacht over", [(cid, cid) for cid in labels], labels.__getitem__) is None


@functools.cache
def shipped() -> IntentMatcher:
    return load_flows(Settings()).intents()


@pytest.mark.parametrize(("typed", "role"), [
    ("thuis is echt kk, mn stiefvader schreeuwt de hele tijd", ["young"]),
    ("mijn stiefmoeder doet gemeen", ["young"]),
    ("my stepdad keeps yelling", ["young"]),
    ("mijn ex en de stiefvader van mijn zoon", []),  # a parent names the child's stepfather: no young person
    ("thuis is het onrustig sinds de scheiding", []),
])
def test_a_young_person_names_a_stepparent_or_home_in_her_own_words(typed: str, role: list[str]) -> None:
    assert shipped().roles_said(typed) == role


def test_a_young_persons_door_comes_first() -> None:
    """The safety route stays in the matcher's guesses (the engine leaves it out for a young person:
    bot/engine/typed.py `not_their_safety_route`), but the young person's own door comes first."""
    guesses = [g.route for g in shipped().match("thuis is echt kk, mn stiefvader schreeuwt de hele tijd")]
    assert guesses[0] == "young"
