"""Which route a person means when they type instead of tapping.

Why: "ik wil klagen over de gezinsvoogd" at the main menu used to get "I do not
understand which option you mean", although the bot has exactly that route. A
parent under stress types; the menu should meet them there. The words belong
to moderators, not to code: each route's words and synonyms are a list in
`locales/<lang>/intents.yaml` (`intents.words.<route>`), one phrase a line (the locale loader
hands it over as one text, a phrase a line; the older one text with ";" between phrases reads the same).

How it decides, in order of trust:
- a word or phrase of a route in the text, whole or (a single word) inside a compound
  word ("voogd" in "gezinsvoogd", "klacht" in "tuchtklacht");
- the same with a typing error (rapidfuzz edit distance, for words of 6 letters
  or more: short words have too many neighbours: "raad" and "rood");
- each typed word counts once, for the longest phrase it is part of: in "ik ben
  gezinsvoogd" the word says who is typing, not whom they complain about;
- longer phrases weigh more than single words, so "hoe lang heb ik" points at the
  deadline route even though "bezwaar" points at the complaint route: both are
  offered, best first; on equal scores the route listed first in the locale goes first;
- a role phrase (`intents.roles.<role>`: "ik ben oma", "ik ben 15", "ik werk bij")
  says who is typing. The role's own route, if there is one, counts as found, and
  the routes the main menu offers that role (flows/main.yaml, the option that sets
  `role` and the menu it opens) go before the others: a 15-year-old who wants to
  complain gets their own route first, the parents' complaint second;
- "#" in a phrase stands for any number typed in digits ("over # minuten");
- the `none` list holds what the bot is not for ("het weer", "huiswerk"): when
  it weighs most, or as much as the best route, nothing is offered.
It never guesses silently: the engine offers the best one or two as buttons, and
says so plainly when nothing fits. No language model: the result is a pure
function of the text and the word lists, so a moderator can predict and test it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot.folding import folded

__all__ = ["NONE", "Guess", "IntentMatcher", "RoleRoutes", "words_of"]

#: The route name of phrases that mean "not something this bot does": never offered
NONE = "none"
#: Words shorter than this only count when typed exactly (typos of short words are other words:
#: "dying" is one letter from "lying")
FUZZY_MIN = 6
#: A typed word this many edits from a route's word (and with its first letter) counts as that word;
#: one edit up to 8 letters ("klachd"), two from 9 ("gezinsvogd"). "utrecht" is 3 from "tuchtrecht".
FUZZY_EDITS_SHORT, FUZZY_EDITS_LONG, FUZZY_LONG = 1, 2, 9
#: A route's word of at least this many letters also counts inside a longer word (Dutch compounds)
INSIDE_MIN = 5
#: The second and later phrases of one route add this share of their weight to its best one
MORE_SHARE = 0.5
#: What a role phrase ("ik ben oma") weighs for the role's own route
ROLE_WEIGHT = 1.0
#: A second route is offered only when it scores at least this share of the best one
SECOND_SHARE = 0.4
#: At most this many routes are offered
MAX_GUESSES = 2
#: Only the start of a long message is read: the route is named early, and the cost stays flat
MAX_TOKENS = 80

#: A longer "word" is no word anyone types (a pasted link, a key held down), and is not read
MAX_WORD = 40

_TOKEN = re.compile(r"[a-z0-9]+")
#: In a moderator's phrase, "#" stands for any number: "over # minuten", "# weken geleden"
NUMBER, _NUMBER_WORD = "#", "0"


def words_of(text: str) -> list[str]:
    """Lowercase words without diacritics: "Gezinsvoogd!" -> ["gezinsvoogd"]."""
    return _TOKEN.findall(folded(text))


def split_phrases(text: str) -> list[str]:
    """A moderator's list as one text: phrases separated by ";" or line breaks."""
    return [p for p in re.split(r"[;\n]", text) if p.strip()]


@dataclass(frozen=True, slots=True)
class Guess:
    """A route the text may mean, with how strongly and which of its words were found."""

    route: str
    score: float
    found: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RoleRoutes:
    """Where the menu takes a role: its door (the step its option opens) and every route it offers it."""

    door: str
    offered: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Phrase:
    route: str  # a route, or a role when `role` is set
    words: tuple[str, ...]
    text: str
    role: bool = False

    @property
    def weight(self) -> float:
        """A phrase of n words weighs 1 + (n-1)/2: "hoe lang heb ik" says more than "klacht"."""
        return 1.0 + 0.5 * (len(self.words) - 1)


class IntentMatcher:
    """Routes and their phrases for one language, prepared once per flow set."""

    def __init__(self, phrases: Mapping[str, Iterable[str]], roles: Mapping[str, Iterable[str]] | None = None,
                 fits: Mapping[str, RoleRoutes] | None = None) -> None:
        """`roles`: phrases saying who is typing, per role; `fits`: what the menu offers each role."""
        self._phrases: list[_Phrase] = []
        seen: set[tuple[str, bool, tuple[str, ...]]] = set()
        for is_role, table in ((False, phrases), (True, roles or {})):
            for route, items in table.items():
                for item in items:
                    words = tuple(words_of(item.replace(NUMBER, f" {_NUMBER_WORD} ")))
                    if words and (route, is_role, words) not in seen:  # "bezwaar" in nl and en counts once
                        seen.add((route, is_role, words))
                        self._phrases.append(_Phrase(route, words, " ".join(words), is_role))
        # longest first: a typed word belongs to the longest phrase it is part of ("checklist", not "check")
        self._phrases.sort(key=lambda p: (-len(p.words), -len(p.text)))
        self._by_first: dict[str, list[int]] = {}
        for index, phrase in enumerate(self._phrases):
            self._by_first.setdefault(phrase.words[0], []).append(index)
        self._fits = dict(fits or {})
        self._route_names = frozenset(p.route for p in self._phrases if not p.role and p.route != NONE)
        #: on equal scores the route listed first wins: moderators list the specific ones before the broad ones
        self._order = {route: i for i, route in enumerate(dict.fromkeys(phrases))}
        self._vocabulary = frozenset(w for p in self._phrases for w in p.words)
        self._long_words = sorted(w for w in self._vocabulary if len(w) >= INSIDE_MIN)

    @classmethod
    def from_texts(cls, *texts: Mapping[str, str], roles: Iterable[Mapping[str, str]] = (),
                   fits: Mapping[str, RoleRoutes] | None = None) -> IntentMatcher:
        """From moderators' texts: one per route (and per role), phrases separated by ";" or line breaks.

        Several mappings (one per language) are merged: people mix languages ("ik wil een
        complaint doen"), and a Dutch word typed in an English chat still names the route.
        """
        return cls(_merged(texts), _merged(roles), fits)

    @property
    def routes(self) -> list[str]:
        return sorted(self._route_names)

    def _canonical(self, token: str) -> tuple[set[str], set[str]]:
        """The route words a typed word stands for: itself or a word it misspells; and the words inside it.

        Only a phrase of one word counts inside a compound ("voogd" in "gezinsvoogd"): "mijn
        dochter" is not in "mijn kleindochter".
        """
        whole = {token} if token in self._vocabulary else set()
        if token.isdigit():
            whole.add(_NUMBER_WORD)
        if not whole and len(token) >= FUZZY_MIN:
            edits = FUZZY_EDITS_LONG if len(token) >= FUZZY_LONG else FUZZY_EDITS_SHORT
            same_start = [w for w in self._long_words if w[0] == token[0]]
            hit = process.extractOne(token, same_start, scorer=Levenshtein.distance, score_cutoff=edits)
            if hit is not None:  # "gezinsvoogt", although "gezin" is inside it
                whole.add(hit[0])
        return whole, whole | {w for w in self._long_words if w != token and w in token}

    def _found(self, seen: list[tuple[set[str], set[str]]]) -> list[_Phrase]:
        """The phrases in the text, longest first, each typed word used by one phrase only."""
        return [phrase for phrase, _start in self._spans(seen)]

    def _spans(self, seen: list[tuple[set[str], set[str]]]) -> list[tuple[_Phrase, int]]:
        """The phrases in the text with where each starts, longest first, each typed word used once."""
        hits: list[tuple[int, int]] = []  # (phrase, where it starts), looked up by the phrase's first word
        for start, (_whole, inside) in enumerate(seen):
            for word in inside:
                for index in self._by_first.get(word, ()):
                    words = self._phrases[index].words
                    if len(words) == 1 or (start + len(words) <= len(seen) and all(
                            w in seen[start + i][0] for i, w in enumerate(words))):  # a phrase's words are whole
                        hits.append((index, start))
        taken = [False] * len(seen)
        counted: dict[int, int] = {}
        for index, start in sorted(hits):
            span = range(start, start + len(self._phrases[index].words))
            if index not in counted and not any(taken[i] for i in span):  # a phrase counts once
                counted[index] = start
                for i in span:
                    taken[i] = True
        return [(self._phrases[index], counted[index]) for index in sorted(counted)]

    def left_over(self, text: str) -> list[str]:
        """The typed words no phrase took: what a message says besides the phrases it was recognised by
        ("nee, dat bedoel ik niet, maar hij had een mes" leaves "maar hij had een mes")."""
        tokens = [t for t in words_of(text)[:MAX_TOKENS] if len(t) <= MAX_WORD]
        seen = [self._canonical(t) for t in tokens]
        taken = [False] * len(seen)
        for phrase, start in self._spans(seen):
            for i in range(start, start + len(phrase.words)):
                taken[i] = True
        return [t for t, used in zip(tokens, taken, strict=True) if not used]

    def first_places(self, text: str) -> tuple[list[str], list[tuple[str, int]]]:
        """The typed words, and where each phrase is first typed word for word: (its route, the index of
        its first word), in the order they stand. Each phrase on its own, overlapping or not; no typing
        errors, no word inside a compound, and the whole text (no MAX_TOKENS).

        Why: a reader that weighs the words around a phrase needs where it stands, and exactly what was
        typed (bot/engine/danger.py: "niet" right before "in gevaar" denies it, "help" counts only as the
        first word, and "staat nu voor mijn deur" holds "voor mijn deur" too).
        """
        words = words_of(text)
        first: dict[int, int] = {}
        for start, word in enumerate(words):
            keys = (word, _NUMBER_WORD) if word.isdigit() else (word,)
            for index in (i for key in keys for i in self._by_first.get(key, ())):
                wanted = self._phrases[index].words
                typed = words[start:start + len(wanted)]
                if index not in first and len(typed) == len(wanted) and all(
                        t == w or (w == _NUMBER_WORD and t.isdigit()) for t, w in zip(typed, wanted, strict=True)):
                    first[index] = start
        return words, [(self._phrases[i].route, start) for i, start in sorted(first.items(), key=lambda item: item[1])]

    def roles_said(self, text: str) -> list[str]:
        """The roles the text says who is typing ("ik ben oma": `relative`), in the order they are said.

        Why: "ik ben oma en ik wil klagen over de gezinsvoogd" took the parents' complaint route as a
        parent (its menu option sets `role: parent`), and the route called her grandchild "je kind".
        """
        tokens = [t for t in words_of(text)[:MAX_TOKENS] if len(t) <= MAX_WORD]
        spans = sorted(self._spans([self._canonical(t) for t in tokens]), key=lambda span: span[1])
        return list(dict.fromkeys(phrase.route for phrase, _start in spans if phrase.role))

    def match(self, text: str) -> list[Guess]:
        """The one or two routes the text most likely means, best first; [] when none fits."""
        tokens = [t for t in words_of(text)[:MAX_TOKENS] if len(t) <= MAX_WORD]
        weights: dict[str, list[float]] = {}
        found: dict[str, list[str]] = {}
        roles: dict[str, str] = {}
        for phrase in self._found([self._canonical(t) for t in tokens]):
            if phrase.role:
                roles.setdefault(phrase.route, phrase.text)  # a role counts once, however often it is said
            else:
                weights.setdefault(phrase.route, []).append(phrase.weight)
                found.setdefault(phrase.route, []).append(phrase.text)
        topics = bool(weights.keys() - {NONE})
        for role, said in roles.items():
            door = self._fits[role].door if role in self._fits else role
            # "ik ben 15": the young person's own route; "ik ben jeugdbeschermer" and nothing more: their menu
            if door in self._route_names or (not topics and role in self._fits):
                weights.setdefault(door, []).append(ROLE_WEIGHT)
                found.setdefault(door, []).append(said)
        # best first; on a tie "none" (the bot is not for this), then the route the moderators list first
        ranked = sorted(((_score(ws), route) for route, ws in weights.items()),
                        key=lambda item: (-item[0], item[1] != NONE, self._order.get(item[1], len(self._order))))
        if not ranked or ranked[0][1] == NONE:
            return []
        # the route of who they say they are stays, however much else they tell: "im a foster mom and the
        # family guardian keeps deciding without us" is a foster parent's complaint (try-out 2026-12-07)
        doors = {self._fits[role].door if role in self._fits else role for role in roles}
        likely = [(route, score) for score, route in ranked
                  if route != NONE and (score >= SECOND_SHARE * ranked[0][0] or route in doors)]
        # who they say they are goes before how strongly: a young person's own route before the parents'
        # complaint, a guardian's home-visit checklist before a complaint about a guardian
        offered = frozenset().union(*(self._fits[role].offered for role in roles if role in self._fits))
        likely.sort(key=lambda item: item[0] not in offered)
        return [Guess(route, score, tuple(found[route])) for route, score in likely[:MAX_GUESSES]]


def _score(weights: list[float]) -> float:
    """The best phrase, plus a share of the others: two words for one route say more than one."""
    ordered = sorted(weights, reverse=True)
    return ordered[0] + MORE_SHARE * sum(ordered[1:])


def _merged(texts: Iterable[Mapping[str, str]]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for mapping in texts:
        for key, text in mapping.items():
            merged.setdefault(key, []).extend(split_phrases(text))
    return merged
