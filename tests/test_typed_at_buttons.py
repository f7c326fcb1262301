"""Words typed at buttons (try-out 34): a button's own words choose it, and who is typing is read from them.

The conversations themselves are scenarios (tests/scenarios/typed_question_at_buttons_*.yaml,
button_words_typed_*.yaml, young_role_own_words_*.yaml); these pin the readers underneath.
"""

from __future__ import annotations

import functools
import itertools
import re
from pathlib import Path

import pytest

from bot.app import load_flows
from bot.engine.words import _PUNCTUATION, _TOO_COMMON, _part_of_label, normalise, read_button
from bot.flows.source import load_yaml
from bot.flows.steps import ChooseStep
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



def _by_regex(text: str, labels: list[tuple[str, str]]) -> str | None:
    """bot/engine/words.py's `_part_of_label` as written before its substring prefilters (issue 17, seventh
    pass): regexes alone, the reference the faster one must equal."""
    if text in _TOO_COMMON:
        return None
    starts = [cid for cid, shown in labels if shown.startswith(text)]
    if len(starts) == 1:
        return starts[0]
    words = [cid for cid, shown in labels if re.search(rf"\b{re.escape(text)}\b", shown)]
    if not words:
        own = [w for w in _PUNCTUATION.sub("", text).split() if w not in _TOO_COMMON]
        if len(own) < 2:
            return None
        pattern = re.compile(r"\b" + r"\b.*\b".join(re.escape(w) for w in own) + r"\b")
        hits = [cid for cid, shown in labels if pattern.search(_PUNCTUATION.sub("", shown))]
        return hits[0] if len(hits) == 1 else None
    if len(words) != 1:
        return None
    own = [w for w in text.split() if w not in _TOO_COMMON]
    if own and any(cid != words[0] and all(re.search(rf"\b{re.escape(w)}\b", shown) for w in own)
                   for cid, shown in labels):
        return None
    return words[0]


def test_the_label_searches_read_every_shipped_button_as_their_regexes_do() -> None:
    """Why: the searches now skip a label that lacks a typed word before building a regex of the whole
    text (~400 µs per free text); every shipped question's buttons, typed whole, in part, in pieces and
    as the scenarios' typed lines that start with one of their words, must choose as the regexes alone chose."""
    fs = load_flows(Settings())
    typed_lines = {normalise(str(turn["user"])) for path in Path("tests/scenarios").glob("*.yaml")
                   for turn in (load_yaml(path)[0].get("turns") or [])
                   if isinstance(turn, dict) and "user" in turn}
    compared = chosen = 0
    for lang in fs.locales.languages:
        for flow in fs.flows.values():
            for step in flow.steps.values():
                if not isinstance(step, ChooseStep):
                    continue
                labels = [(o.id, normalise(fs.render(lang, o.label, {}))) for o in step.options]
                said = [shown.split() for _cid, shown in labels]
                tries = {" ".join(words[i:j]) for words in said for i in range(4) for j in range(i + 1, i + 4)}
                tries |= {f"{a} {b}" for words in said for a, b in zip(words, words[2:])}  # a small word left out
                tries |= {f"{b} {a}" for words in said for a, b in itertools.pairwise(words)}  # in the wrong order
                named = {w for words in said for w in words} - _TOO_COMMON
                for text in tries | {line for line in typed_lines if named & set(line.split()[:6])}:
                    expected = _by_regex(text, labels)
                    assert _part_of_label(text, labels) == expected, (flow.id, step.id, text)
                    compared += 1
                    chosen += expected is not None
    assert compared > 10_000 and chosen > 500
