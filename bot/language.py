"""Telling English from Dutch in what a person typed: a first message, and an answer meant for a Dutch text.

Why apart from bot/engine/words.py: the engine guesses the language of a first message with it, and
flows ask it too (`english(text)` in an expression: an answer typed in English for the e-mail to a
Dutch griffie), so expressions must reach it without importing the engine. Pure: no state, no I/O.
"""

from __future__ import annotations

import re

from bot.folding import folded

#: Common words that tell English from Dutch in a first message (none is common in both:
#: "is", "in", "hi" and names are left out). Used only when the platform gives no language.
#: The words of the field count too: "a parent threatened me" is four words, none of them a
#: function word of the first list (a new user's first message got Dutch buttons).
_ENGLISH = frozenset({
    "i", "the", "my", "you", "what", "how", "to", "and", "with", "of", "want", "need", "please", "can",
    "do", "have", "child", "son", "daughter", "me", "this", "that", "it", "for", "about", "im", "dont",
    "am", "are", "were", "would", "could", "should", "help", "hello",
    "a", "an", "has", "he", "she", "they", "our", "your", "his", "her", "them", "not", "from", "by",
    "will", "got", "did", "just", "who", "where", "when", "why", "there", "their", "been", "said",
    "parent", "parents", "guardian", "worker", "threatened", "threatening", "complaint", "court", "judge",
    "kids", "children", "mother", "father", "mum", "mom", "dad", "youth", "care", "family", "police",
    "foster", "speak", "english",
})
#: A whole first message that is an English greeting ("hello", "hi there"): English, although it is one
#: word (try-out 2026-12-07: "hello" was answered in Dutch). "hoi", "hallo", "hey" and a lone "hi" are
#: Dutch too and stay out: Dutch teenagers type "hi" (try-out 31 got English for it).
_GREETINGS = frozenset({"hello", "hi there", "hello there", "hiya", "good morning", "good afternoon",
                        "good evening", "hello hello", "hey there", "hello again", "hi again"})
_DUTCH = frozenset({
    "ik", "de", "het", "een", "mijn", "wat", "hoe", "en", "met", "van", "wil", "hulp", "hallo", "graag",
    "kan", "heb", "kind", "zoon", "dochter", "mij", "dit", "dat", "voor", "over", "niet", "je", "jij",
    "wij", "ze", "zijn", "ben",
    "die", "er", "naar", "ook", "nog", "maar", "bij", "om", "te", "al", "wordt", "word", "heeft", "hebben",
    "moet", "hij", "zij", "haar", "hem", "ons", "onze", "jullie", "geen", "nee", "ja", "bedreigd", "ouder",
    "ouders", "voogd", "jeugdzorg", "klacht", "rechter", "gemeente", "kinderen", "zegt", "gezegd",
})
_WORD = re.compile(r"[a-z']+")


def looks_english(text: str) -> bool:
    """A first message clearly in English: at least two English words and (almost) no Dutch ones.

    Deliberately cautious: a wrong guess greets a Dutch parent in English, so a mixed or short
    message ("hallo", "help", "hi") stays in the default language, unless it is an English greeting
    ("hello", "hi there"). The welcome says how to switch.
    """
    words = [w.replace("'", "") for w in _WORD.findall(folded(text))[:60]]
    if " ".join(words) in _GREETINGS:
        return True
    english = sum(w in _ENGLISH for w in words)
    dutch = sum(w in _DUTCH for w in words)
    return english >= 2 and english >= 3 * dutch
