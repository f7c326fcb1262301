"""'Wat is een OTS?' finds the explained word (bot/glossary.py), and only a question does."""

from __future__ import annotations

import functools

import pytest

from bot.directory import load_directory
from bot.glossary import GlossaryIndex
from tests.test_directory import DIRECTORY


@functools.cache
def index() -> GlossaryIndex:
    directory = load_directory(DIRECTORY)
    return GlossaryIndex({entry_id: entry.typed for entry_id, entry in directory.entries.items()})


@pytest.mark.parametrize(("question", "entry"), [
    ("wat is een OTS?", "ots"), ("Wat is gezag", "gezag"), ("wat betekent uithuisplaatsing?", "uithuisplaatsing"),
    ("wat is een gezinsvoogd", "jeugdbeschermer"), ("What is a supervision order?", "ots"),
    ("what does OTS mean?", "ots"), ("OTS?", "ots"), ("wat is de griffie?", "griffie_uitleg"),
    ("wat is een zitting", "zitting"), ("what is parental authority", "gezag"), ("Wat is een GI?", "gi"),
    # the bodies people meet in the bot's answers: their own card
    ("wat is Veilig Thuis?", "veilig_thuis"), ("what is het juridisch loket?", "juridisch_loket"),
    ("wat is jeugdstem?", "jeugdstem"), ("wat is de kindertelefoon", "kindertelefoon"),
    ("what is victim support?", "slachtofferhulp"), ("wat is de kinderombudsman?", "kinderombudsman"),
])
def test_a_question_about_a_word_finds_its_entry(question: str, entry: str) -> None:
    assert index().asked(question) == entry


@pytest.mark.parametrize("text", [
    "ik heb gezag", "OTS", "de OTS is verlengd en ik ben het er niet mee eens", "wat is jouw naam?",
    "wat is er gebeurd met mijn kind", "what is going on", "", "?" * 500, "wat is " + "x" * 5_000,
])
def test_anything_else_is_not_taken_for_a_question(text: str) -> None:
    assert index().asked(text) is None


def test_every_term_can_be_asked_about_in_both_languages() -> None:
    directory = load_directory(DIRECTORY)
    terms = {i: e for i, e in directory.entries.items() if e.kind == "term"}
    assert len(terms) >= 9
    for entry_id, entry in terms.items():
        assert entry.typed, entry_id
        assert index().asked(f"wat is {entry.typed[0]}?") == entry_id
