"""Which route a person means when they type instead of tapping.

Why: "ik wil klagen over de gezinsvoogd" at the main menu used to get "I do not
understand which option you mean", although the bot has exactly that route. A
parent under stress types; the menu should meet them there. The words belong
to moderators, not to code: each route's words and synonyms are a text in
`locales/<lang>/intents.yaml` (`intents.words.<route>`), separated by ";".

How it decides, in order of trust:
- a word or phrase of a route in the text, whole or inside a compound word
  ("voogd" in "gezinsvoogd", "klacht" in "tuchtklacht");
- the same with a typing error (rapidfuzz edit distance, for words of 6 letters
  or more: short words have too many neighbours: "raad" and "rood");
- longer phrases weigh more than single words, so "hoe lang heb ik" points at the
  deadline route even though "klacht" points at the complaint route: both are
  offered, best first.
It never guesses silently: the engine offers the best one or two as buttons, and
says so plainly when nothing fits. No language model: the result is a pure
function of the text and the word lists, so a moderator can predict and test it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

__all__ = ["Guess", "IntentMatcher", "words_of"]

#: Words shorter than this only count when typed exactly (typos of short words are other words:
#: "dying" is one letter from "lying")
FUZZY_MIN = 6
#: A typed word this many edits from a route's word (and with its first letter) counts as that word;
#: one edit up to 8 letters ("klachd"), two from 9 ("gezinsvogd"). "utrecht" is 3 from "tuchtrecht".
FUZZY_EDITS_SHORT, FUZZY_EDITS_LONG, FUZZY_LONG = 1, 2, 9
#: A route's word of at least this many letters also counts inside a longer word (Dutch compounds)
INSIDE_MIN = 5
#: A second route is offered only when it scores at least this share of the best one
SECOND_SHARE = 0.4
#: At most this many routes are offered
MAX_GUESSES = 2
#: Only the start of a long message is read: the route is named early, and the cost stays flat
MAX_TOKENS = 80

_TOKEN = re.compile(r"[a-z0-9]+")


def words_of(text: str) -> list[str]:
    """Lowercase words without diacritics: "Gezinsvoogd!" -> ["gezinsvoogd"]."""
    text = text.lower()
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _TOKEN.findall(text)


@dataclass(frozen=True, slots=True)
class Guess:
    """A route the text may mean, with how strongly and which of its words were found."""

    route: str
    score: float
    found: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Phrase:
    route: str
    words: tuple[str, ...]
    text: str


class IntentMatcher:
    """Routes and their phrases for one language, prepared once per flow set."""

    def __init__(self, phrases: Mapping[str, Iterable[str]]) -> None:
        self._phrases: list[_Phrase] = []
        seen: set[tuple[str, tuple[str, ...]]] = set()
        for route, items in phrases.items():
            for item in items:
                words = tuple(words_of(item))
                if words and (route, words) not in seen:  # "bezwaar" in nl and en counts once
                    seen.add((route, words))
                    self._phrases.append(_Phrase(route, words, " ".join(words)))
        self._vocabulary = sorted({w for p in self._phrases for w in p.words})
        self._long_words = [w for w in self._vocabulary if len(w) >= INSIDE_MIN]

    @classmethod
    def from_texts(cls, *texts: Mapping[str, str]) -> IntentMatcher:
        """From moderators' texts: one per route, phrases separated by ";" or line breaks.

        Several mappings (one per language) are merged: people mix languages ("ik wil een
        complaint doen"), and a Dutch word typed in an English chat still names the route.
        """
        merged: dict[str, list[str]] = {}
        for mapping in texts:
            for route, text in mapping.items():
                merged.setdefault(route, []).extend(re.split(r"[;\n]", text))
        return cls(merged)

    @property
    def routes(self) -> list[str]:
        return sorted({p.route for p in self._phrases})

    def _canonical(self, token: str) -> set[str]:
        """The route words a typed word stands for: itself, a word inside it, or a word it misspells."""
        found = {token} if token in self._vocabulary else set()
        found.update(w for w in self._long_words if len(w) >= INSIDE_MIN and w != token and w in token)
        if not found and len(token) >= FUZZY_MIN:
            edits = FUZZY_EDITS_LONG if len(token) >= FUZZY_LONG else FUZZY_EDITS_SHORT
            same_start = [w for w in self._long_words if w[0] == token[0]]
            hit = process.extractOne(token, same_start, scorer=Levenshtein.distance, score_cutoff=edits)
            if hit is not None:
                found.add(hit[0])
        return found

    def match(self, text: str) -> list[Guess]:
        """The one or two routes the text most likely means, best first; [] when none fits."""
        tokens = words_of(text)[:MAX_TOKENS]
        if not tokens:
            return []
        seen = [self._canonical(t) for t in tokens]
        present = set().union(*seen)
        scores: dict[str, float] = {}
        found: dict[str, list[str]] = {}
        for phrase in self._phrases:
            # a phrase counts when its words come in order, each standing for the next typed word
            hit = phrase.words[0] in present if len(phrase.words) == 1 else _in_order(phrase.words, seen)
            if hit:
                # a phrase of n words weighs 1 + (n-1)/2; the second and later hits of a route add half
                weight = 1.0 + 0.5 * (len(phrase.words) - 1)
                best = scores.get(phrase.route, 0.0)
                scores[phrase.route] = max(best, weight) + 0.5 * min(best, weight)
                found.setdefault(phrase.route, []).append(phrase.text)
        if not scores:
            return []
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        top = ranked[0][1]
        return [Guess(route, score, tuple(found[route])) for route, score in ranked[:MAX_GUESSES]
                if score >= SECOND_SHARE * top]


def _in_order(words: tuple[str, ...], seen: list[set[str]]) -> bool:
    """Do the phrase's words stand for consecutive typed words ("hoe lang heb ik")?"""
    size = len(words)
    return any(all(words[i] in seen[start + i] for i in range(size)) for start in range(len(seen) - size + 1))
