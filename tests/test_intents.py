"""Typed text at the menu finds the route a person means (bot/intents.py), from moderators' word lists."""

from __future__ import annotations

import functools

import pytest

from bot.app import load_flows
from bot.intents import IntentMatcher, words_of
from bot.settings import Settings


@functools.cache
def shipped() -> IntentMatcher:
    """The running bot's matcher: every language's word lists (FlowSet.intents)."""
    return load_flows(Settings()).intents()


def routes(text: str) -> list[str]:
    return [g.route for g in shipped().match(text)]


def test_every_route_has_words_and_leads_to_a_step_of_the_main_menu() -> None:
    fs = load_flows(Settings())
    assert shipped().routes == sorted(shipped().routes)
    assert set(shipped().routes) <= set(fs.flows["main"].steps)
    assert {"complaint", "deadline", "inspreken", "helplines", "safety"} <= set(shipped().routes)


@pytest.mark.parametrize(("typed", "expected"), [
    ("ik wil klagen over de gezinsvoogd", ["complaint"]),  # "voogd" inside a compound word
    ("klacht", ["complaint"]),
    ("klachd", ["complaint"]),  # a typing error
    ("I want to complain about the caseworker", ["complaint"]),
    ("ik wil inspreken bij de gemeenteraad", ["inspreken"]),
    ("ik word bedreigd door een ouder", ["safety"]),
])
def test_a_typed_request_finds_its_route(typed: str, expected: list[str]) -> None:
    assert routes(typed)[:1] == expected


def test_a_question_that_fits_two_routes_offers_both_best_first() -> None:
    assert routes("hoe lang heb ik om bezwaar te maken") == ["deadline", "complaint"]


@pytest.mark.parametrize("typed", ["hallo", "ik ben boos", "", "🙂", "x" * 10_000, "<b>menu</b>"])
def test_nothing_is_guessed_where_nothing_fits(typed: str) -> None:
    assert routes(typed) == []


def test_short_words_need_to_be_typed_exactly() -> None:
    """"gi" and "ots" are routes' words; a typo of a short word is another word ("rood", "raad")."""
    matcher = IntentMatcher({"a": ["raad"], "b": ["voogd"]})
    assert [g.route for g in matcher.match("de rood")] == []
    assert [g.route for g in matcher.match("de raad")] == ["a"]
    assert [g.route for g in matcher.match("de gezinsvoogd")] == ["b"]


def test_words_are_read_without_case_or_diacritics() -> None:
    assert words_of("Geïntimideerd, GEZINSVOOGD!") == ["geintimideerd", "gezinsvoogd"]
