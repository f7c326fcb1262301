"""The three answers to a crisis (sure, unsure, nothing) and the kept answer, through the engine.

The fixture flow set gets a small real model artefact written here (a few hand-set
weights): "twijfel" makes the model unsure about `despair`, "dreiging" unsure about
`threat`, "wanhoop" sure about `despair`, "intimidatie" sure about `threat` (in messages of four words or more: shorter
ones are the rules' alone). What the shipped model thinks of real
messages is measured in test_crisis_model.py; here only the engine's handling counts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.crisis_model import CHAR_NGRAMS, FORMAT, TOKEN_PATTERN, WORD_NGRAMS
from bot.engine import MAX_INPUT, TurnContext
from bot.events import HandOff
from tests.conftest import load_fixture_flows
from tests.test_engine import MENU, STALE, WELCOME, WHAT, Chat, at_menu, copy_fixtures, replace_in

DESPAIR = "Bel de testlijn 0800-1234. Je staat er niet alleen voor."
THREAT = "Ben je bedreigd? Bel 112 bij direct gevaar."
CHECK_DESPAIR = "Denk je aan zelfdoding? Bel de testlijn 0800-1234."
CHECK_THREAT = "Word je bedreigd? Bel 112 bij direct gevaar."
CHECK_NO = "Goed. We gaan verder waar we waren."
CONSENT = "Mag ik dit doorsturen naar het meldpunt?"


def tiny_model() -> dict[str, object]:
    """Per word: [document frequency, weight per label (despair, none, threat)], times `scale`.

    With one document every idf is 1; a message holding one of these words (and no other
    term of the vocabulary) has that word's weights as its logits, plus the bias.
    """
    return {
        "format": FORMAT,
        "labels": ["despair", "none", "threat"],
        "classes": ["despair", "threat"],
        "char_ngrams": list(CHAR_NGRAMS),
        "word_ngrams": list(WORD_NGRAMS),
        "token_pattern": TOKEN_PATTERN,
        "documents": 1,
        "scale": 1,
        "thresholds": {"despair": {"sure": 0.95, "unsure": 0.5}, "threat": {"sure": 0.95, "unsure": 0.5}},
        "bias": [0, 5, 0],
        "chars": {},
        "words": {"twijfel": [1, 6, 0, 0], "dreiging": [1, 0, 0, 6], "wanhoop": [1, 10, 0, 0],
                  "intimidatie": [1, 0, 0, 10]},
    }


@pytest.fixture
def chat(tmp_path: Path, ctx: TurnContext) -> Chat:
    flows, locales = copy_fixtures(tmp_path)
    (flows / "crisis").mkdir()
    (flows / "crisis" / "model.json").write_text(json.dumps(tiny_model()), encoding="utf-8")
    replace_in(flows / "crisis.yaml", "priority:", "model: crisis/model.json\ncheck_no: crisis.check_no\npriority:")
    for name in ("despair", "threat"):
        reply = f"    reply: crisis.{name}\n"
        replace_in(flows / "crisis.yaml", reply, f"{reply}    check: crisis.check.{name}\n")
    for lang in ("nl", "en"):
        replace_in(locales / lang / "safety.yaml", "crisis:\n", "crisis:\n"
                   f"  check_no: {CHECK_NO}\n"
                   "  held:\n    words: |-\n      dat bedoel ik niet\n      dat bedoelde ik niet\n      helemaal niet\n"
                   "    filler: maar en ik het dat bedoel bedoelde\n"
                   "  check:\n"
                   "    despair: Denk je aan zelfdoding? Bel de testlijn {{ d.fixture_line.phone }}.\n"
                   f"    threat: {CHECK_THREAT}\n")
    return Chat(load_fixture_flows(flows, locales), ctx)


def at_what(chat: Chat) -> None:
    """At "Wat is er gebeurd?": a free-text question that takes a story (up to 1,000 characters)."""
    at_menu(chat)
    assert chat.press("report") == [WHAT]


# ------------------------------------------------------------------- sure


def test_sure_in_a_free_text_answer_gives_the_lines_keeps_the_answer_and_goes_on(chat: Chat) -> None:
    at_what(chat)
    assert chat.say("Ze hebben mijn kind meegenomen en ik wil dood") == [DESPAIR, CONSENT]
    assert chat.state is not None
    assert chat.state.vars["what"] == "Ze hebben mijn kind meegenomen en ik wil dood"
    assert chat.state.vars["_crisis"] is True
    assert chat.stats == ["crisis:despair"]


def test_the_model_alone_can_be_sure(chat: Chat) -> None:
    at_what(chat)
    assert chat.say("ik voel alleen nog wanhoop") == [DESPAIR, CONSENT]
    assert chat.stats == ["crisis:despair"]


def test_a_kept_answer_can_still_be_taken_back(chat: Chat) -> None:
    at_what(chat)
    chat.say("ik wil dood, het rapport klopt niet")
    assert chat.say("terug") == [WHAT]


def test_a_safety_crisis_in_a_kept_answer_returns_to_the_next_question(chat: Chat) -> None:
    at_what(chat)
    assert chat.say("ik ben bedreigd door een vader na het gesprek") == [THREAT, "Ben je nu veilig?"]
    assert chat.state is not None and chat.state.vars["what"].startswith("ik ben bedreigd")
    assert chat.say("ja") == ["Dank je. We gaan verder waar we waren.", CONSENT]


# ------------------------------------------------------------------- unsure


def test_unsure_asks_directly_naming_the_line_with_yes_and_no(chat: Chat) -> None:
    at_menu(chat)
    assert chat.say("ik twijfel over alles") == [CHECK_DESPAIR]
    assert chat.buttons == ["Ja", "Nee"]
    assert chat.stats == ["crisis_check:despair"]


def test_yes_to_the_check_gives_the_crisis_answer_and_the_question_again(chat: Chat) -> None:
    at_menu(chat)
    chat.say("ik twijfel over alles")
    assert chat.press("yes:despair") == [DESPAIR, MENU]
    assert chat.stats == ["crisis:despair"]
    assert chat.state is not None and chat.state.vars["_crisis"] is True
    chat.say("mens")
    assert chat.of(HandOff) == [HandOff(urgent=True)]


def test_no_to_the_check_is_acknowledged_and_goes_back_where_they_were(chat: Chat) -> None:
    at_menu(chat)
    chat.say("ik twijfel over alles")
    # the text is then read as the menu's answer (try-out 31): this menu knows no such words, so it asks again
    said = chat.press("no:despair")
    assert said[0] == CHECK_NO and said[-1] == MENU
    assert chat.stats == []
    assert chat.state is not None and "_crisis" not in chat.state.vars


@pytest.mark.parametrize(("typed", "expected"), [("ja", [DESPAIR, MENU]), ("nee", [CHECK_NO, MENU])])
def test_typing_yes_or_no_answers_the_check_question_just_asked(chat: Chat, typed: str, expected: list[str]) -> None:
    at_menu(chat)
    assert chat.say("ik twijfel over alles") == [CHECK_DESPAIR]
    said = chat.say(typed)  # after "nee" the text is read as the menu's answer: not known here, so asked again
    assert [said[0], said[-1]] == expected


def test_after_a_kept_answer_the_check_comes_first_and_the_flow_goes_on(chat: Chat) -> None:
    at_what(chat)
    assert chat.say("ik twijfel over alles") == [CHECK_DESPAIR, CONSENT]
    assert chat.state is not None and chat.state.vars["what"] == "ik twijfel over alles"
    chat.say("ja")  # answers the flow's question (the last one shown), not the check
    assert chat.where != ("main", "consent") and chat.state is not None and chat.state.vars["consent"] is True
    assert chat.press("yes:despair", token="_crisis")[0] == DESPAIR  # the check's buttons still work


def test_answering_the_flow_instead_closes_the_check(chat: Chat) -> None:
    at_what(chat)
    chat.say("ik twijfel over alles")
    chat.press("no", token="consent")
    assert chat.state is not None and "_crisis_check" not in chat.state.vars


def test_unsure_about_a_threat_then_yes_goes_into_the_safety_flow(chat: Chat) -> None:
    at_menu(chat)
    assert chat.say("er is veel dreiging hier") == [CHECK_THREAT]
    assert chat.press("yes:threat") == [THREAT, "Ben je nu veilig?"]
    assert chat.where == ("safety", "safe_now")


def test_unsure_as_the_first_message_starts_the_conversation_behind_the_check(chat: Chat) -> None:
    assert chat.say("twijfel over echt alles") == [CHECK_DESPAIR]
    # after "Nee" the held text is read where it was typed (try-out 33: "ik ben 19 …, wil mn dossier" was lost);
    # it names no option of this menu: a kind "what do you need?" and the menu again, no "kies een knop" (try-out 34)
    assert chat.press("no:despair") == [CHECK_NO, "Wat heb je nodig?", MENU]


def test_an_old_check_button_still_gives_help(chat: Chat) -> None:
    at_menu(chat)
    chat.say("ik twijfel over alles")
    chat.press("lines", token="menu")  # the menu's button: the flow goes on, the check is closed
    assert chat.press("yes:despair", token="_crisis")[0] == DESPAIR


# ------------------------------------------------------------------- nothing and long messages


def test_the_model_leaves_messages_under_four_words_to_the_rules(chat: Chat) -> None:
    at_menu(chat)
    chat.say("twijfel")
    assert chat.stats == []


def test_harmless_text_gets_no_crisis_answer(chat: Chat) -> None:
    at_what(chat)
    assert chat.say("Het rapport klopt niet en niemand belt terug") == [CONSENT]
    assert chat.stats == []


def test_a_crisis_at_the_start_of_a_too_long_message_is_answered(chat: Chat) -> None:
    at_what(chat)
    long = "ik wil dood. " + "het rapport klopt niet. " * (MAX_INPUT // 20)
    assert len(long) > MAX_INPUT
    replies = chat.say(long)
    assert replies[0] == DESPAIR
    assert "te lang" in replies[1] and replies[2] == WHAT
    assert chat.state is not None and "what" not in chat.state.vars


def test_a_too_long_harmless_message_only_says_so(chat: Chat) -> None:
    at_what(chat)
    replies = chat.say("het rapport klopt niet. " * (MAX_INPUT // 20))
    assert "te lang" in replies[0] and replies[1:] == [WHAT]


def test_welcome_is_still_shown_after_a_first_message_crisis(chat: Chat) -> None:
    assert chat.say("ik wil dood") == [DESPAIR, WELCOME, MENU]


# ------------------------------------------------------------------- a held answer (try-out 2026-12-07)
# A short free-text answer (a name, a request for the council) is no story to keep; when the check
# stops it, it is held, and "No" or "no, that is not what I meant" gives it to its question.

NAME, AGE = "Hoe heet je?", "Hoe oud ben je?"


def at_name(chat: Chat) -> None:
    at_menu(chat)
    assert chat.press("letter")[-1] == NAME


@pytest.mark.parametrize("typed", ["nee", "nee, dat bedoel ik niet", "Nee!! dat bedoelde ik helemaal niet"])
def test_no_to_the_check_at_a_short_question_takes_what_was_typed(chat: Chat, typed: str) -> None:
    at_name(chat)
    assert chat.say("Anna de Twijfel van Dijk") == [CHECK_DESPAIR]
    assert chat.say(typed) == [CHECK_NO, AGE]
    assert chat.state is not None and chat.state.vars["name"] == "Anna de Twijfel van Dijk"


def test_a_denial_with_a_danger_in_it_is_no_denial(chat: Chat) -> None:
    at_name(chat)
    chat.say("Anna de Twijfel van Dijk")
    assert chat.say("nee, ik wil dood")[0] == DESPAIR
    assert chat.state is not None and "name" not in chat.state.vars


def test_a_message_at_an_open_check_is_read_by_the_crisis_check_once(chat: Chat, monkeypatch) -> None:
    """The open check, the denial reader and the crisis hook each asked about "nee, ik wil dood": rules and
    model ran twice on one message (the known list, s30). The answer is the same; the check runs once."""
    at_name(chat)
    chat.say("Anna de Twijfel van Dijk")
    detector = chat.fs.crisis
    assert detector is not None
    read: list[str] = []
    assess = detector.assess
    monkeypatch.setattr(detector, "assess", lambda text, **kw: read.append(text) or assess(text, **kw))
    assert chat.say("nee, ik wil dood")[0] == DESPAIR
    assert read == ["nee, ik wil dood"]


def test_a_no_with_more_after_it_at_the_check_never_takes_what_was_typed(chat: Chat) -> None:
    """"nee, maar hij had een mes": a doubt, not "that is not what I meant" (review 2026-12-07)."""
    at_name(chat)
    assert chat.say("Anna de Twijfel van Dijk") == [CHECK_DESPAIR]
    assert chat.say("nee, maar hij had een mes") == [CHECK_NO, NAME]
    assert chat.state is not None and "name" not in chat.state.vars and "_held" not in chat.state.vars


def test_the_way_on_beside_the_safety_route_answers_the_question_it_was_typed_at(chat: Chat) -> None:
    at_name(chat)
    assert chat.say("Piet Intimidatie van Dijk") == [THREAT, "Ben je nu veilig?"]
    assert chat.where == ("safety", "safe_now")
    assert chat.press("held:threat", token="_crisis") == [CHECK_NO, AGE]
    assert chat.state is not None and chat.state.vars["name"] == "Piet Intimidatie van Dijk"
    assert chat.state.stack == [] and chat.where == ("main", "age")


def test_a_rules_match_is_not_held_for_its_question(chat: Chat) -> None:
    """A rule reads a real threat ("my boyfriend hits my son" became the council's public text after a
    pause; review 2026-12-07): a rule's sure match is meant, not held (a rule's check question holds, as a guess)."""
    at_name(chat)
    assert chat.say("Piet Bedreigd") == [THREAT, "Ben je nu veilig?"]
    assert chat.press("held:threat", token="_crisis")[0] == STALE
    assert chat.state is not None and "name" not in chat.state.vars and "_held" not in chat.state.vars


def test_no_at_the_safety_routes_own_yes_no_question_is_its_answer_not_the_way_on(chat: Chat) -> None:
    at_name(chat)
    chat.say("Piet Intimidatie van Dijk")
    chat.say("nee, dat bedoel ik niet")
    assert chat.where != ("main", "age")
    assert chat.state is not None and "name" not in chat.state.vars
    assert chat.press("held:threat", token="_crisis")[0] == STALE  # moved on: the way on is gone
