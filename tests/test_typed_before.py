"""What someone typed at a question with buttons, before the bot knew where it led, is offered
at the first question that asks what happened, so nobody has to type their story twice."""

from __future__ import annotations

import pytest

from bot.engine import MAX_INPUT
from bot.engine.steps import TYPED_BEFORE, USE_TYPED_BEFORE
from tests.test_engine import MENU, STALE, WHAT, Chat, at_menu, chat

__all__ = ["chat"]  # the fixture, used by name below

STORY = ("De jeugdbeschermer kwam drie keer niet op de afspraak en belde niet af. "
         "Mijn dochter zat elke keer voor niets te wachten.")
OFFER = "Je schreef eerder:"


def typed_at_the_menu(chat: Chat, text: str) -> None:
    at_menu(chat)
    chat.say(text)
    chat.press("report", token="menu")


def test_the_story_typed_at_the_menu_is_offered_and_taken_with_the_button(chat: Chat) -> None:
    typed_at_the_menu(chat, STORY)
    question = chat.texts[-1]
    assert question.startswith(WHAT) and OFFER in question and STORY[:40] in question
    assert chat.buttons == ["Ja, gebruik dat"]
    chat.press(USE_TYPED_BEFORE)
    assert chat.texts[-1] == "Mag ik dit doorsturen naar het meldpunt?"
    assert chat.state is not None
    assert chat.state.vars["what"] == STORY
    assert TYPED_BEFORE not in chat.state.vars  # kept only until it was used


def test_typing_the_buttons_number_takes_it_too(chat: Chat) -> None:
    """On Matrix and the console the button is a numbered list: "1" is the button."""
    typed_at_the_menu(chat, STORY)
    chat.say("1")
    assert chat.state is not None and chat.state.vars["what"] == STORY


def test_a_new_answer_replaces_it_and_it_is_not_kept(chat: Chat) -> None:
    typed_at_the_menu(chat, STORY)
    chat.say("Iets anders gebeurd, op 3 maart.")
    assert chat.state is not None
    assert chat.state.vars["what"] == "Iets anders gebeurd, op 3 maart."
    assert TYPED_BEFORE not in chat.state.vars


def test_a_short_request_is_no_story_and_is_not_kept(chat: Chat) -> None:
    typed_at_the_menu(chat, "ik wil klagen over de voogd")
    assert OFFER not in chat.texts[-1]
    assert chat.state is not None and TYPED_BEFORE not in chat.state.vars


def test_a_text_longer_than_the_question_takes_is_offered_and_its_first_part_kept(chat: Chat) -> None:
    """A phone shows no character count: the story is not refused nor lost (try-out 2026-12-07).
    The first part, up to a sentence's end, is the answer; the rest comes back to the person."""
    long_story = (STORY + " ") * 12  # the question takes at most 1,000 characters
    assert 1000 < len(long_story) < MAX_INPUT
    typed_at_the_menu(chat, long_story)
    assert OFFER in chat.texts[-1]
    said = chat.press(USE_TYPED_BEFORE)
    assert chat.state is not None
    kept = chat.state.vars["what"]
    assert 500 < len(kept) <= 1000 and long_story.startswith(kept) and kept.endswith("wachten.")
    assert said[0].startswith("Je bericht was te lang om in één keer te gebruiken.") and "wachten." in said[0]
    rest = " ".join(said[1:-1])
    assert "Dit deel heb ik niet gebruikt" in rest
    assert all(len(message) <= 1000 for message in said)
    # nothing lost: every word of the story is in what was kept or what came back
    assert len((kept + rest).split()) >= len(long_story.split())
    assert said[-1] == "Mag ik dit doorsturen naar het meldpunt?"


def test_the_button_outside_its_question_is_stale(chat: Chat) -> None:
    at_menu(chat)
    chat.say(STORY)
    chat.press(USE_TYPED_BEFORE, token="menu")
    assert STALE in chat.texts[0]
    assert chat.texts[-1].startswith(MENU)


@pytest.mark.parametrize("typed", ["ja", "Ja graag", "ja, gebruik mijn eerste bericht", "Ja gebruik dat"])
def test_a_typed_yes_takes_it(chat: Chat, typed: str) -> None:
    """A new user typed "ja" and "ja, gebruik mijn eerste bericht"; the letter then read the latter."""
    typed_at_the_menu(chat, STORY)
    chat.say(typed)
    assert chat.state is not None and chat.state.vars["what"] == STORY


def test_a_short_answer_that_starts_with_yes_is_an_answer(chat: Chat) -> None:
    typed_at_the_menu(chat, STORY)
    chat.say("ja, de voogd belde niet terug")
    assert chat.state is not None and chat.state.vars["what"] == "ja, de voogd belde niet terug"
