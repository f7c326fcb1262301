"""Recognise "wat is een OTS?" at any step, so the bot can explain the word and go on.

Why: a parent reading "Over een OTS beslist de rechter" may not know the word,
and asking should not cost them their place in the flow. The explanations are
directory entries (flows/directory/glossary.yaml, kind `term`, with a source);
this module only finds which entry a question asks about. It is strict on
purpose: only a question about one known word counts ("wat is gezag?", "what
does OTS mean", "OTS?"), so an answer that merely mentions a word ("ik heb
gezag") is never taken for a question.

A question about a word it does not know ("wat is een perspectiefbesluit?") is told
so (`unknown`), with where to ask, rather than "kies een knop": only when it clearly
asks what a short word means, never "wat is er gebeurd?" or "what is going on".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from bot.folding import folded

__all__ = ["GlossaryIndex"]

_QUESTION = re.compile(
    r"^(?:"
    r"wat (?:is|zijn|betekent|betekend|bedoel je met|wordt bedoeld met|is dat,?)(?: een| de| het)?"
    r"|wat is (?:een|de|het)"
    r"|what(?:'s|s| is| are| does)(?: an| a| the)?"
    r"|what do you mean by(?: an| a| the)?"
    r"|uitleg(?: over| van)?(?: een| de| het)?"
    r"|explain(?: an| a| the)?"
    r")\s+(?P<term>.+?)(?:\s+(?:mean|betekenen|inhoudt|in))?\s*[?!.]*$"
)
_BARE = re.compile(r"^(?P<term>[a-z][a-z ]{1,40}?)\s*\?+$")
#: "we have an OTS and i dont understand what it means", "ik snap niet wat een ots is": a person who
#: says plainly they do not know a word, named there or just before ("it", "dat")
_NOT_UNDERSTOOD = re.compile(
    r"\b(?:dont|don't|do not|didnt|didn't|did not) (?:understand|know|get) what "
    r"(?:it|that|this|that word|the word|(?:an? |the )?(?P<term>[a-z][a-z ]{1,30}?)) (?:means|is|stands for)\b"
    r"|\b(?:snap|begrijp|weet|snapte|begreep|wist) (?:ik )?(?:niet|nie) wat "
    r"(?:het|dat|dit|dat woord|het woord|(?:een |de |het )?(?P<term2>[a-z][a-z ]{1,30}?)) (?:is|betekent|inhoudt)\b"
)
#: what an unknown term may look like: a word or three, letters only
_WORDS = re.compile(r"^[a-z][a-z']*(?: [a-z][a-z']*){0,2}$")
#: words that make "wat is ...?" a question about the situation or the bot, not about a word
_NOT_A_WORD = frozenset((
    "er", "dat", "dit", "die", "deze", "het", "hier", "daar", "jouw", "je", "jij", "mijn", "m'n", "zijn",
    "haar", "ons", "onze", "jullie", "hun", "uw", "u", "nu", "nou", "dan", "eigenlijk", "volgende", "beste",
    "slimste", "handigste", "verschil", "probleem", "bedoeling", "plan", "reden", "naam", "uitkomst",
    "antwoord", "vraag", "your", "my", "his", "her", "our", "their", "this", "that", "it", "there", "here",
    "going", "happening", "next", "best", "difference", "wrong", "name", "answer", "question", "problem",
    "point", "matter", "up",
))


def _plain(text: str) -> str:
    text = folded(text.strip())
    text = re.sub(r"[-_/]", " ", text)
    return re.sub(r"\s+", " ", text)


class GlossaryIndex:
    """The typed words of the directory's entries, for finding the one a question is about."""

    def __init__(self, typed: Mapping[str, Iterable[str]]) -> None:
        self._by_word: dict[str, str] = {}
        for entry_id, words in typed.items():
            for word in words:
                self._by_word.setdefault(_plain(word), entry_id)

    def __len__(self) -> int:
        return len(self._by_word)

    def asked(self, text: str) -> str | None:
        """The entry id a question asks to explain, or None when the text is not such a question."""
        plain = _plain(text)
        if len(plain) > 80:
            return None
        found = _QUESTION.match(plain) or _BARE.match(plain)
        if found is None:
            return self._not_understood(plain)
        term = found.group("term").strip(" ?!.'\"")
        return self._by_word.get(term)

    def _not_understood(self, plain: str) -> str | None:
        """"I don't understand what OTS means": the word named, or the one known word the text names."""
        said = _NOT_UNDERSTOOD.search(plain)
        if said is None:
            return None
        term = said.group("term") or said.group("term2")
        if term:
            return self._by_word.get(term.strip())
        words = re.findall(r"[a-z]+", plain)
        named = {self._by_word[p] for n in (1, 2, 3) for i in range(len(words) - n + 1)
                 if (p := " ".join(words[i:i + n])) in self._by_word}
        return named.pop() if len(named) == 1 else None

    def unknown(self, text: str) -> bool:
        """Does the text ask what a word means that no entry explains? ("wat is een X?", not "X?")"""
        plain = _plain(text)
        found = _QUESTION.match(plain) if len(plain) <= 80 else None
        if found is None:
            return False
        term = found.group("term").strip(" ?!.'\"")
        return (term not in self._by_word and _WORDS.match(term) is not None
                and _NOT_A_WORD.isdisjoint(term.split()))
