"""How choices are laid out as an inline keyboard on Telegram."""

from __future__ import annotations

from bot.adapters.telegram import keyboard
from bot.events import ChoiceButton


def rows(markup) -> list[list[tuple[str, str]]]:
    return [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]


def test_yes_and_no_sit_side_by_side():
    markup = keyboard((ChoiceButton("yes", "Ja"), ChoiceButton("no", "Nee")), "confirm")
    assert rows(markup) == [[("Ja", "confirm:yes"), ("Nee", "confirm:no")]]


def test_longer_answers_get_a_row_each():
    choices = (ChoiceButton("parent", "Ouder / verzorger"), ChoiceButton("other", "Iemand anders"))
    assert rows(keyboard(choices, "role")) == [[("Ouder / verzorger", "role:parent")],
                                               [("Iemand anders", "role:other")]]


def test_many_short_answers_are_not_squeezed_into_one_row():
    choices = tuple(ChoiceButton(str(i), str(i)) for i in range(4))
    assert len(rows(keyboard(choices, "n"))) == 4


def test_no_choices_no_keyboard():
    assert keyboard((), "x") is None
