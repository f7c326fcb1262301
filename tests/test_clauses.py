"""The one splitter of typed messages into clauses (bot/clauses.py), which three readers share."""

from __future__ import annotations

import re

import pytest

from bot.clauses import BETWEEN, ENDS, JOINS, MARKS, alternatives, clauses, first_clause, gap, items


@pytest.mark.parametrize(("typed", "parts"), [
    ("weet niet precies, vorige week ergens, hij had een mes", ["weet niet precies", "vorige week ergens", "hij had een mes"]),
    ("vorige week ergens, en hij had een mes", ["vorige week ergens", "hij had een mes"]),
    ("gisteren en hij staat nu voor mijn deur", ["gisteren", "hij staat nu voor mijn deur"]),
    ("not sure; last week sometime but he had a knife", ["not sure", "last week sometime", "he had a knife"]),
    ("vandaag ,  maar hij is weg", ["vandaag", "hij is weg"]),
    ("gisteren", ["gisteren"]),
    ("brandweer belde", ["brandweer belde"]),  # "en" inside a word joins nothing
])
def test_a_message_splits_at_a_mark_between_clauses_or_a_joining_word(typed: str, parts: list[str]) -> None:
    assert clauses(typed) == parts


@pytest.mark.parametrize(("typed", "first"), [
    ("not yet, its sunday", "not yet"),
    ("nee. het is zondag", "nee"),
    ("ja: graag", "ja"),
    ("klopt! dank je", "klopt"),
    ("not yet.", None),  # nothing follows the mark
    ("not yet", None),
    ("3, of 4", "3"),  # a number said first is the caller's to refuse
])
def test_the_first_clause_is_the_words_before_the_first_mark_when_more_follows(typed: str, first: str | None) -> None:
    assert first_clause(typed) == first


def test_one_table_nl_and_en() -> None:
    assert set(MARKS) == set(BETWEEN) | set(ENDS) == set(",;:.!?")
    assert {"en", "maar", "and", "but"} <= set(JOINS)


def test_a_gap_is_spaces_and_the_marks_named_at_least_once() -> None:
    assert re.fullmatch(gap(",-"), " , - ")
    assert re.fullmatch(gap(","), ", ")
    assert not re.fullmatch(gap(","), "")
    assert not re.fullmatch(gap(","), " ; ")


@pytest.mark.parametrize(("typed", "parts"), [
    ("12-5-2016 en 3-9-2019", ["12-5-2016", "3-9-2019"]),
    ("3/9/19, 1/2/20", ["3/9/19", "1/2/20"]),
    ("12-5-2016 & 3-9-2019", ["12-5-2016", "3-9-2019"]),
    ("12-5-2016&3-9-2019", ["12-5-2016", "3-9-2019"]),
    ("3/9/19 + 1/2/20; 4/4/21", ["3/9/19", "1/2/20", "4/4/21"]),
    ("12 mei 2016 EN 3 september 2019", ["12 mei 2016", "3 september 2019"]),
    (" 12-5-2016 ", ["12-5-2016"]),
])
def test_the_items_of_a_list_are_its_clauses_split_at_and_and_plus_too(typed: str, parts: list[str]) -> None:
    """Two dates of birth in one answer were split by a pattern of their own beside this table (known list s30)."""
    assert items(typed) == parts


def test_a_list_mark_does_not_divide_clauses() -> None:
    assert clauses("ik & hij, gisteren") == ["ik & hij", "gisteren"]



@pytest.mark.parametrize(("typed", "parts"), [
    ("vrijdag en zaterdag", ["vrijdag", "zaterdag"]),
    ("vrijdag of zaterdag", ["vrijdag", "zaterdag"]),
    ("friday OR saturday", ["friday", "saturday"]),
    ("maandag, dinsdag & woensdag", ["maandag", "dinsdag", "woensdag"]),
    ("offerte", ["offerte"]),  # "of" inside a word divides nothing
])
def test_alternatives_are_items_split_at_or_too(typed: str, parts: list[str]) -> None:
    """The days of "vrijdag en zaterdag" were split by a pattern of their own in bot/dates.py beside this table."""
    assert alternatives(typed) == parts
