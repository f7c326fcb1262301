"""A text's context: its answers, Jinja's and the bot's globals, the answers first (bot/texts.py `_new_context`).

Why: a render builds its context from a plain copy of the globals kept on the template (issue 17,
seventh pass) instead of Jinja reading them through a ChainMap each time; what a template sees must
not change, on the first render or any later one.
"""

from __future__ import annotations

from bot.texts import ENV, render_bounded


def test_a_text_sees_its_answers_and_the_globals_on_every_render() -> None:
    template = ENV.from_string("{{ name }}: {% for i in range(3) %}{{ i }}{% endfor %} {{ 'a' ~ name }}{{ cycler }}")
    first = render_bounded(template, {"name": "Sam"})
    assert first.startswith("Sam: 012 aSam<class 'jinja2.utils.Cycler'>")
    assert render_bounded(template, {"name": "Noor"}).startswith("Noor: 012 aNoor")
    assert render_bounded(template, {"name": "Sam"}) == first


def test_an_answer_named_like_a_global_wins_and_is_not_kept() -> None:
    template = ENV.from_string("{{ range }}")
    assert render_bounded(template, {"range": "mijn eigen"}) == "mijn eigen"
    assert render_bounded(template, {}).startswith("<function")
