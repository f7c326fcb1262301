"""What "I don't know" is, in one place: dates, expressions, the engine and the crisis rules read it.

Why a module of its own: bot.expressions imports bot.dates, so the lists could not live in
expressions and be read by dates; dates kept copies of its own, and they drifted ("weet ik niet,
vorige week" at a worker's "when did it happen?" got the 113 screen, "no idea, last week" the
suicide check; review 2026-12-07). Plain data and one pattern helper; imports nothing of the bot.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

#: "I don't know", the one list: a letter keeps its [placeholder] for it, and at a question with an
#: "Ik weet het niet" button it means that button (engine/words.py; try-out 2026-12-07).
DONT_KNOW = frozenset({
    "ik weet het niet", "weet ik niet", "ik weet niet", "weet niet", "geen idee", "ik weet het niet precies",
    "weet ik niet precies", "geen flauw idee", "i dont know", "i don't know", "dont know", "don't know",
    "i do not know", "idk", "dunno", "no idea", "not sure", "im not sure", "i'm not sure",
})
#: "Not that I know": a no to "were there witnesses?" (`no_one`), and an everyday answer the crisis
#: model may not take for despair (flows/crisis.yaml `answers:`).
NOT_THAT_I_KNOW = frozenset({
    "niet dat ik weet", "voor zover ik weet niet", "not that i know", "not that i know of", "not as far as i know",
})
#: The lists a crisis `answers:` pattern names as `{{words.dont_know}}` (bot/crisis.py): one source
#: for what "I don't know" is, so the crisis check and the engine cannot drift apart.
WORD_LISTS: Mapping[str, frozenset[str]] = {"dont_know": DONT_KNOW, "not_that_i_know": NOT_THAT_I_KNOW}


def one_of(phrases: Iterable[str]) -> str:
    """A regular expression for any of these phrases, the longest first ("weet ik niet precies" before
    "weet ik niet"), for a pattern that reads what comes after them."""
    return "(?:" + "|".join(map(re.escape, sorted(phrases, key=len, reverse=True))) + ")"
