"""Recognise a crisis in any free text a user sends, at any step.

Why: someone who writes "ik wil niet meer leven" in the middle of a complaint
letter must get 113 first, not the next question. The check runs on every
message, so it is precompiled regular expressions over normalised text, and
its rules are data (``flows/crisis.yaml``) that moderators can extend without
touching code.

How a message is read, in order:

1. ``normalise``: lowercase, diacritics stripped, curly quotes unified,
   apostrophes inside words dropped ("z'n" -> "zn"), hyphens inside words
   dropped, letters repeated 3+ times cut to 2 ("dooood" -> "dood"), clause
   punctuation (. , ; ! ? newline) turned into " . ", everything else
   (including ":", so "hij zei: ..." stays one clause) into spaces. Patterns
   are written against this form.
2. ``blank`` exclusions remove spans (idioms such as "lach me dood", quoted
   text for some classes) so they cannot trigger anything.
3. The text is split into clauses; a clause matching a ``veto`` exclusion of
   a class (a news report, a group described in general, an allegation being
   denied) is ignored for that class, except by ``strong`` rules.
4. Classes are tried in priority order; the first rule that matches wins.

``assess`` adds the statistical model (``bot.crisis_model``, the artefact
``flows/crisis/model.json``) for wording no rule foresaw: a rule match is
sure; otherwise the model's risk at or above its class's ``sure`` threshold is
sure, at or above ``unsure`` it is unsure (the engine then asks a direct
check question), and below that nothing happens.

What it must never do: log or store the text, call out to anything, or decide
what to say (it returns a reply key; texts live in the locales).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.errors import ContentError
from bot.flows.source import load_yaml
from bot.not_knowing import WORD_LISTS
from bot.regexcache import REGEXES

#: What follows a crisis answer: go on where the user was, go on only when they say so, or the
#: professionals' safety flow.
Then = Literal["continue", "pause", "safety"]

if TYPE_CHECKING:
    from bot.crisis_model import CrisisModel

__all__ = [
    "CrisisDetector",
    "CrisisMatch",
    "CrisisRules",
    "CrisisRulesError",
    "normalise",
]

_ID = r"^[a-z][a-z0-9_]*$"
_KEY = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$"
_FRAGMENT = re.compile(r"\{\{\s*([a-z][a-z0-9_]*)\s*\}\}")
#: `{{words.dont_know}}`: a shared list of whole answers (bot/not_knowing.py WORD_LISTS)
_WORDS = re.compile(r"\{\{\s*words\.([a-z][a-z0-9_]*)\s*\}\}")


# ---------------------------------------------------------------- normalising

_QUOTES = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2033": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "`": "'",
        "\u00b4": "'",
    }
)
_INNER_APOSTROPHE = re.compile(r"(?<=[a-z0-9])'(?=[a-z])")
_S_APOSTROPHE = re.compile(r"(^|\s)'s\b")
_INNER_HYPHEN = re.compile(r"(?<=[a-z])-(?=[a-z])")
_CLAUSE_PUNCT = re.compile(r"[.,;!?\n\r]+")
_OTHER = re.compile(r"[^a-z0-9\". ]+")
_REPEATS = re.compile(r"([a-z])\1\1+")  # as \1{2,}, which the regex engine runs slower
_CLAUSE_SEP = " . "


def normalise(text: str) -> str:
    """The form every crisis pattern is written against (see module doc)."""
    if not text.isascii():  # ASCII has nothing to decompose and no combining marks
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
        text = text.translate(_QUOTES)
    text = text.casefold()
    if "`" in text:
        text = text.replace("`", "'")
    if "'" in text:  # each step below changes nothing in a text without its mark
        text = _S_APOSTROPHE.sub(r"\1s", text)
        text = _INNER_APOSTROPHE.sub("", text)
        text = text.replace("'", '"')
    if "-" in text:
        text = _INNER_HYPHEN.sub("", text)
    text = _CLAUSE_PUNCT.sub(_CLAUSE_SEP, text)
    text = _OTHER.sub(" ", text)
    text = _REPEATS.sub(r"\1\1", text)
    return " ".join(text.split())  # runs of white space as one space, none at either end


# ---------------------------------------------------------------------- models


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Exclusion(_Strict):
    """Text that must not count: removed (blank) or voiding its clause (veto)."""

    id: Annotated[str, Field(pattern=_ID)]
    kind: Literal["blank", "veto"]
    pattern: str
    classes: list[str] | None = None
    note: str | None = None


class Answer(_Strict):
    """A whole message that answers the question asked ("ik weet het niet meer" at "when was
    the letter dated?"), which only the model, never a rule, may take for a crisis there."""

    id: Annotated[str, Field(pattern=_ID)]
    pattern: str
    note: str | None = None
    #: also where no question is open (a menu, a first message): the whole message is an everyday
    #: one the model must not flag anywhere ("ik ben de vader" read as a threatened worker)
    anywhere: bool = False


class Rule(_Strict):
    """One way a class shows up: a pattern, or several that must all occur."""

    id: Annotated[str, Field(pattern=_ID)]
    pattern: str | None = None
    all: list[str] | None = None
    strong: bool = False
    #: a text key: a match asks this check question (yes/no) instead of giving the class's answer,
    #: for words that are a worry, not yet a danger ("ik wil niet meer thuis wonen": a careful
    #: counsellor asks whether the young person is safe at home); "yes" gives the class's answer
    check: Annotated[str, Field(pattern=_KEY)] | None = None
    #: with `check`: the question is the least a match gets. Another rule's match, or the model alone
    #: sure of a crisis, is answered as without this rule ("ik kan niet meer" asks whatever model
    #: ships, but "ik kan niet meer. ik heb een touw klaarliggen" is never held back to a question)
    gives_way: bool = False
    note: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Rule:
        if (self.pattern is None) == (self.all is None):
            raise ValueError(f"rule {self.id!r}: give exactly one of 'pattern' or 'all'")
        if self.gives_way and self.check is None:
            raise ValueError(f"rule {self.id!r}: 'gives_way' needs 'check' (a sure match gives way to nothing)")
        return self


class CrisisClass(_Strict):
    """What to recognise and what follows: a reply key and where to go next."""

    reply: Annotated[str, Field(pattern=_KEY)]
    #: the direct check question when the model is unsure (names the help line; yes/no buttons)
    check: Annotated[str, Field(pattern=_KEY)] | None = None
    #: continue: back where the user was at once; pause: first ask whether to go on now (a person
    #: who may be in danger is not handed the next form question in the same breath); safety: the
    #: professionals' safety flow
    then: Then
    #: said after the reply when the message was kept as a story answer: the draft now holds words
    #: (despair, a threat) that may hurt the writer if sent as they are
    kept_note: Annotated[str, Field(pattern=_KEY)] | None = None
    #: In the safety flow this is an answer, not a new crisis (the flow already
    #: gives this help). Always so for ``then: safety``.
    quiet_in_safety_flow: bool = False
    rules: list[Rule]
    note: str | None = None


class PauseTexts(_Strict):
    """After a `then: pause` reply: go on now, or not now (and what the bot says then)."""

    question: Annotated[str, Field(pattern=_KEY)]
    go: Annotated[str, Field(pattern=_KEY)]
    later: Annotated[str, Field(pattern=_KEY)]
    #: said after "not now": nothing is lost, where to come back, the help line again
    said_later: Annotated[str, Field(pattern=_KEY)]
    #: said when the person comes back after "not now", before the question again
    back: Annotated[str, Field(pattern=_KEY)]


class CrisisRules(_Strict):
    """The whole of ``flows/crisis.yaml``."""

    priority: list[str]
    #: the statistical model beside the rules, relative to the flows directory (None: rules only)
    model: str | None = None
    #: said after "no" to a check question, before going on where the user was
    check_no: Annotated[str, Field(pattern=_KEY)] | None = None
    #: the texts of the question after a `then: pause` reply (see PauseTexts)
    pause: PauseTexts | None = None
    #: said inside the safety flow when a quiet class is typed where no story is asked (112 first)
    in_safety_flow: Annotated[str, Field(pattern=_KEY)] | None = None
    fragments: dict[str, str] = Field(default_factory=dict)
    exclusions: list[Exclusion] = Field(default_factory=list)
    #: see `Answer` and CrisisDetector.only_an_answer
    answers: list[Answer] = Field(default_factory=list)
    classes: dict[str, CrisisClass]

    @model_validator(mode="after")
    def _consistent(self) -> CrisisRules:
        if sorted(self.priority) != sorted(self.classes):
            raise ValueError(
                f"priority must name every class exactly once; classes are {sorted(self.classes)}, priority is {self.priority}"
            )
        for exclusion in self.exclusions:
            for name in exclusion.classes or []:
                if name not in self.classes:
                    raise ValueError(f"exclusion {exclusion.id!r} names unknown class {name!r}")
        ids = ([e.id for e in self.exclusions] + [a.id for a in self.answers]
               + [r.id for c in self.classes.values() for r in c.rules])
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"rule/exclusion ids used more than once: {duplicates}")
        paused = sorted(name for name, spec in self.classes.items() if spec.then == "pause")
        if paused and self.pause is None:
            raise ValueError(f"classes {paused} have `then: pause`: the file needs `pause` (its question's texts)")
        if self.model is not None:
            unchecked = sorted(name for name, spec in self.classes.items() if spec.check is None)
            if unchecked or self.check_no is None:
                raise ValueError("with a `model`, every class needs `check` (its check question) and the file "
                                 f"needs `check_no`; missing: {unchecked or ['check_no']}")
        return self


class CrisisRulesError(ContentError, ValueError):
    """The rules cannot be used; the message says which rule and why."""


# -------------------------------------------------------------------- detector


@dataclass(frozen=True, slots=True)
class CrisisMatch:
    """Which class was recognised, by which rule (or ``model``), how sure, and what the bot does."""

    crisis_class: str
    rule_id: str
    reply: str
    then: Then
    quiet_in_safety_flow: bool = False
    #: False: the model thinks it likely but not certain; the engine asks before it acts
    sure: bool = True
    #: the model's risk (1 - P(none)) when the model decided, else None
    risk: float | None = None
    #: text key of the class's check question (asked when not sure)
    check: str | None = None
    #: text key said when the message was kept as a story answer (CrisisClass.kept_note)
    kept_note: str | None = None


@dataclass(slots=True)
class _Pattern:
    """A compiled pattern with its prefilter: the regex runs only when the words it needs are there."""

    regex: re.Pattern[str]
    #: sets of literals; a match contains one literal of every set (see _prefilter)
    needs: tuple[frozenset[str], ...]
    #: the same sets as bit masks over the detector's literals (set by CrisisDetector)
    masks: tuple[int, ...] = ()

    @classmethod
    def compile(cls, expanded: str) -> _Pattern:
        """Parse once: the parse tree gives both the prefilter and the compiled regex.

        Raises re.error for an invalid pattern. Both are remembered between starts
        (bot/regexcache.py): compiling the rules was a third of the start-up.
        """
        from re import _parser  # type: ignore[attr-defined]

        remembered = REGEXES.get(expanded)
        if remembered is not None:
            return cls(remembered[0], remembered[1])
        tree = _parser.parse(expanded)
        needs = _prefilter(tree)
        return cls(REGEXES.compile(expanded, tree, needs), needs)


#: How many words' three-letter pieces the literal index keeps at hand (about 0.4 KB each; emptied when full).
_WORD_CACHE = 10_000


def _threes(text: str) -> set[str]:
    return {text[i:i + 3] for i in range(len(text) - 2)}


class _LiteralIndex:
    """The prefilter literals filed by three of their characters, and which of those a text has.

    Why: `_Reading.present` tries a literal only when its three characters occur in the text,
    so each literal is filed under its three characters that ordinary messages (_ORDINARY) have
    least, then that the fewest literals share: the fewest literals are tried for nothing. Any
    three characters of a literal will do (a text holding the literal holds all of them), so
    what is found is the same whichever are chosen. A literal that is its three is there
    without a search.

    A text's threes are read from its words, each with a space either side (kept per word: chat
    repeats its words); that misses only threes with a space in the middle ("k o"), so a literal
    is filed under a three without one, and the few literals that have none are always tried.
    """

    __slots__ = ("_by_three", "_spanning", "_words")

    def __init__(self, bits: Mapping[str, int]) -> None:
        ordinary = Counter(_threes(_ORDINARY))
        shared = Counter(three for literal in bits for three in _threes(literal))
        filed: dict[str, tuple[int, list[tuple[str, int]]]] = {}
        spanning: list[tuple[str, int]] = []
        for literal, bit in bits.items():
            inside = sorted(t for t in _threes(literal) if t[1] != " ")
            if not inside:
                spanning.append((literal, bit))
                continue
            three = min(inside, key=lambda t: (ordinary[t], shared[t]))
            whole, longer = filed.get(three, (0, []))
            if literal == three:
                whole |= bit
            else:
                longer.append((literal, bit))
            filed[three] = (whole, longer)
        self._by_three = {three: (whole, tuple(longer)) for three, (whole, longer) in filed.items()}
        self._spanning = tuple(spanning)
        self._words: dict[str, frozenset[str]] = {}

    def present(self, text: str) -> int:
        """The literals in `text`, as a bit mask: exactly, but for a three-letter literal at the
        text's very start or end with a space on the outside (" op" in "op de ..."), which may be
        counted as there; that only lets a regex run that decides for itself."""
        found = 0
        by_three = self._by_three
        for three in self._threes_of(text):
            whole, longer = by_three[three]
            found |= whole
            for literal, bit in longer:
                if literal in text:
                    found |= bit
        for literal, bit in self._spanning:
            if literal in text:
                found |= bit
        return found

    def _threes_of(self, text: str) -> frozenset[str]:
        """The literals' threes in `text` without a space in the middle, and perhaps a few more
        (" k " for "k" first in the text: more does no harm, each literal is still looked for).
        Such a three lies inside one word with its spaces, whatever the spaces around it."""
        words = text.split(" ")
        found = list(map(self._words.get, words))
        if None in found:
            return frozenset().union(*map(self._word, words))
        return frozenset().union(*cast("list[frozenset[str]]", found))

    def _word(self, word: str) -> frozenset[str]:
        """The threes of the word with a space either side under which literals are filed (most
        words have none or a few: a few hundred bytes per word kept)."""
        threes = self._words.get(word)
        if threes is None:
            if len(self._words) >= _WORD_CACHE:
                self._words.clear()
            threes = self._words[word] = frozenset(self._by_three.keys() & _threes(f" {word} "))
        return threes


def _joined(masks: Iterable[int]) -> int:
    """Bit masks joined: a text with none of these literals has none of any of them."""
    joined = 0
    for mask in masks:
        joined |= mask
    return joined


def _possible(masks: tuple[int, ...], present: int) -> bool:
    """False only when a literal set has none of its literals in the text (`present`, a bit mask)."""
    for mask in masks:  # noqa: SIM110 - a plain loop: all() with a generator costs twice as much here
        if not mask & present:
            return False
    return True


@dataclass(slots=True)
class _CompiledRule:
    id: str
    patterns: tuple[_Pattern, ...]
    strong: bool
    #: the rule's own check question (Rule.check): a match is then not sure
    check: str | None = None
    #: Rule.gives_way
    gives_way: bool = False
    #: every pattern's masks: all must hit before any regex runs (set by CrisisDetector)
    masks: tuple[int, ...] = ()


class _Reading:
    """One message being read: which prefilter literals each text variant holds, and regex results.

    A fragment such as {{work}} is part of many rules: it is searched once per text, not
    once per rule. The variants are the normalised text, and that text with blanks
    removed or vetoed clauses left out (usually all the same string).
    """

    __slots__ = ("_index", "_present", "_searched")

    def __init__(self, index: _LiteralIndex) -> None:
        self._index = index
        self._present: dict[str, int] = {}
        self._searched: dict[tuple[int, str], bool] = {}

    def present(self, text: str) -> int:
        """The literals in `text`, as a bit mask."""
        found = self._present.get(text)
        if found is None:
            found = self._present[text] = self._index.present(text)
        return found

    def search(self, pattern: _Pattern, text: str) -> bool:
        if not _possible(pattern.masks, self.present(text)):
            return False
        key = (id(pattern.regex), text)
        hit = self._searched.get(key)
        if hit is None:
            hit = self._searched[key] = pattern.regex.search(text) is not None
        return hit

    def sub(self, pattern: _Pattern, text: str) -> str:
        return pattern.regex.sub(" ", text) if _possible(pattern.masks, self.present(text)) else text


@dataclass(frozen=True, slots=True)
class _CompiledClass:
    name: str
    reply: str
    check: str | None
    then: Then
    quiet_in_safety_flow: bool
    kept_note: str | None
    blanks: tuple[_Pattern, ...]
    vetoes: tuple[_Pattern, ...]
    rules: tuple[_CompiledRule, ...]


# --------------------------------------------------------------- prefilters
#
# Why: searching ~150 patterns over a message cost about 1.2 ms, most of it in
# patterns that cannot match because a word they need is not there. Each
# pattern gets a set of literal strings, read from its parse tree, of which any
# match must contain at least one; `in` on a short text is ~50 ns, so a pattern
# whose words are all absent is skipped without running the regex engine. The
# set is only ever a necessary condition: a pattern without a usable one always runs.

_MIN_LITERAL = 3  # shorter required strings are too common to save anything
#: Ordinary messages (normalised): a required string found in here is in most messages, so
#: a set holding one is a weak filter; sets without any are tried first and preferred.
_ORDINARY = normalise(
    "Ik heb al weken geen antwoord van de voogd op mijn vragen over de omgang met de kinderen. "
    "Ik heb een klacht over de jeugdbeschermer van mijn zoon en dochter: ze doet niet wat "
    "ze zegt, komt afspraken niet na en maakt een rapport met fouten. Wat kan ik doen, wanneer moet ik "
    "bezwaar maken, hoe lang duurt het, en wie kan me helpen? Mijn ex en ik hebben ruzie over het gezag "
    "en de rechter beslist volgende maand. The caseworker does not answer my emails about my children, "
    "my son and my daughter. I want to make a complaint about the guardian and the report, what can I do "
    "and how long will it take? We have a meeting at the office next week; they said it would be fine."
)


def _required(items: Any) -> list[frozenset[str]]:
    """Sets of strings; every match of this parsed sequence contains one string of each set."""
    from re import _constants as c  # type: ignore[attr-defined]

    needed: list[frozenset[str]] = []
    run: list[str] = []

    def close_run() -> None:
        if run:
            needed.append(frozenset({"".join(run)}))
            run.clear()

    for op, av in getattr(items, "data", items):  # a SubPattern's list: its __getitem__ is slow
        if op is c.LITERAL:
            run.append(chr(av))
            continue
        close_run()
        if op is c.SUBPATTERN:
            needed.extend(_required(av[-1]))
        elif op is c.ATOMIC_GROUP:
            needed.extend(_required(av))
        elif op is c.ASSERT:  # a positive look-ahead or -behind: its text is in the message too
            needed.extend(_required(av[1]))
        elif op is c.BRANCH:
            best = [_best(_required(alt)) for alt in av[1]]
            if all(b is not None for b in best):
                needed.append(frozenset().union(*(b for b in best if b is not None)))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and av[0] >= 1:
            needed.extend(_required(av[2]))
    close_run()
    return [n for n in needed if n and min(map(len, n)) >= _MIN_LITERAL]


def _telling(needed: frozenset[str]) -> tuple[int, int, int]:
    """How well a set filters: none of it in ordinary text, its shortest string long, few strings."""
    return (not any(s in _ORDINARY for s in needed), min(map(len, needed)), -len(needed))


def _best(needed: list[frozenset[str]]) -> frozenset[str] | None:
    """The most telling set (see `_telling`)."""
    return max(needed, key=_telling) if needed else None


def _prefilter(tree: Any) -> tuple[frozenset[str], ...]:
    """The literal sets for a parsed pattern (see above), most telling first; () when it must always run."""
    if tree.state.flags & re.IGNORECASE:  # (?i) inside the pattern: literals are not literal
        return ()
    try:
        needed = _required(tree)
    except Exception:  # an unusual construct: no prefilter, the regex still decides
        return ()
    unique = sorted(set(needed), key=lambda n: (_telling(n), sorted(n)), reverse=True)
    return tuple(unique[:4])


def _expand(pattern: str, fragments: Mapping[str, str], where: str) -> str:
    def replace(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in fragments:
            raise CrisisRulesError(f"{where}: unknown fragment {{{{{name}}}}}")
        return f"(?:{fragments[name]})"

    return _FRAGMENT.sub(replace, _WORDS.sub(lambda m: _word_list(m.group(1), where), pattern))


def _word_list(name: str, where: str) -> str:
    """`{{words.dont_know}}`: a list the engine reads too (bot/not_knowing.py WORD_LISTS), as an
    alternation of its entries in normalised form ("i'm not sure" -> "im not sure"), longest first."""
    words = WORD_LISTS.get(name)
    if words is None:
        raise CrisisRulesError(f"{where}: unknown word list {{{{words.{name}}}}}; the lists are {sorted(WORD_LISTS)}")
    forms = {normalise(word).strip(" .") for word in words} - {""}
    escaped = (re.escape(form).replace("\\ ", " ") for form in sorted(forms, key=lambda f: (-len(f), f)))
    return "(?:" + "|".join(escaped) + ")"


def _compile(pattern: str, fragments: Mapping[str, str], where: str, done: dict[str, _Pattern]) -> _Pattern:
    """The pattern with its fragments filled in, compiled once per distinct text (`done`)."""
    expanded = _expand(pattern, fragments, where)
    found = done.get(expanded)
    if found is None:
        try:
            found = done[expanded] = _Pattern.compile(expanded)
        except re.error as exc:
            raise CrisisRulesError(f"{where}: invalid regular expression: {exc}") from exc
    return found


def _compile_answer(answer: Answer, fragments: Mapping[str, str]) -> re.Pattern[str]:
    """An `answers:` pattern, matched against the whole message (no prefilter: they are few)."""
    where = f"answer {answer.id!r}"
    try:
        return re.compile(_expand(answer.pattern, fragments, where))
    except re.error as exc:
        raise CrisisRulesError(f"{where}: invalid regular expression: {exc}") from exc


class CrisisDetector:
    """Precompiled crisis rules; ``detect`` is pure and cheap per message."""

    def __init__(self, classes: Sequence[_CompiledClass], model: CrisisModel | None = None,
                 model_path: Path | None = None, check_no: str | None = None,
                 answers: Sequence[re.Pattern[str]] = (), pause: PauseTexts | None = None,
                 in_safety_flow: str | None = None, everyday: Sequence[re.Pattern[str]] = ()) -> None:
        self._classes = tuple(classes)
        self._answers = tuple(answers)
        self._everyday = tuple(everyday)
        self._by_name = {c.name: c for c in self._classes}
        #: rules for unmistakable first-person statements: the model never overrules them
        self._strong = frozenset(r.id for c in self._classes for r in c.rules if r.strong)
        #: check rules whose question gives way to any other rule's match and the model's sure answer
        self._gives_way = frozenset(r.id for c in self._classes for r in c.rules if r.gives_way)
        self._rule_by_id = {r.id: r for c in self._classes for r in c.rules}
        # every prefilter literal gets a bit; a message's literals become one int (see _Reading)
        patterns = [p for c in self._classes for p in (*c.blanks, *c.vetoes, *(q for r in c.rules for q in r.patterns))]
        bits = {lit: 1 << i for i, lit in enumerate(sorted({lit for p in patterns for n in p.needs for lit in n}))}
        self._index = _LiteralIndex(bits)
        self._dotted = any("." in literal for literal in bits)
        for pattern in patterns:
            pattern.masks = tuple(sum(bits[lit] for lit in options) for options in pattern.needs)
        for spec in self._classes:
            for rule in spec.rules:
                rule.masks = tuple(dict.fromkeys(m for p in rule.patterns for m in p.masks))
        # each distinct run of blanks from the start gets a number: a class's text after its first
        # i blanks is remembered under that number (see _blanked)
        runs: dict[tuple[int, ...], int] = {}
        steps: list[tuple[tuple[_Pattern, int], ...]] = []
        for spec in self._classes:
            keys = [runs.setdefault(tuple(map(id, spec.blanks[:i + 1])), len(runs)) for i in range(len(spec.blanks))]
            steps.append(tuple(zip(spec.blanks, keys, strict=True)))
        self._blank_steps = tuple(steps)
        #: per class, the literals of which every rule needs one (None: a rule without literals), so a
        #: class none of whose rules can match is passed over with one test
        self._needed = tuple(None if not all(r.masks for r in spec.rules) else _joined(r.masks[0] for r in spec.rules)
                             for spec in self._classes)
        self.model = model
        #: the file the model came from (its contents count in the flow-set version)
        self.model_path = model_path
        #: text key said after "no" to a check question
        self.check_no = check_no
        #: the texts of the question after a `then: pause` reply
        self.pause = pause
        #: text key said for a quiet class typed in the safety flow where no story is asked
        self.in_safety_flow = in_safety_flow

    def with_model(self, model: CrisisModel | None, path: Path | None = None) -> CrisisDetector:
        """The same rules with a statistical model beside them (see ``assess``)."""
        return CrisisDetector(self._classes, model, path, self.check_no, self._answers, self.pause,
                              self.in_safety_flow, self._everyday)

    def confirmed(self, name: str) -> CrisisMatch | None:
        """The sure match for a class the user confirmed ("yes" to its check question)."""
        spec = self._by_name.get(name)
        if spec is None:
            return None
        return CrisisMatch(spec.name, "confirmed", spec.reply, spec.then, spec.quiet_in_safety_flow,
                           check=spec.check, kept_note=spec.kept_note)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> CrisisDetector:
        """Build from the parsed YAML mapping; raise CrisisRulesError if unusable."""
        try:
            rules = CrisisRules.model_validate(data)
        except ValidationError as exc:
            lines = [f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()]
            raise CrisisRulesError("invalid crisis rules:\n" + "\n".join(lines)) from exc
        return cls._build(rules)

    @classmethod
    def from_yaml_file(cls, path: Path) -> CrisisDetector:
        """Convenience for tests and tools: read and build in one step."""
        data, _ = load_yaml(path)
        if not isinstance(data, Mapping):
            raise CrisisRulesError(f"{path}: expected a mapping at the top level")
        return cls.from_data(data)

    @classmethod
    def _build(cls, rules: CrisisRules) -> CrisisDetector:
        fragments = {name: _expand(value, rules.fragments, f"fragment {name!r}") for name, value in rules.fragments.items()}
        # one compiled object per exclusion, shared by the classes it applies to, so
        # `detect` works each one out once per message; exclusions for every class come
        # first, so all classes share that part of the blanking
        exclusions = sorted(rules.exclusions, key=lambda e: e.classes is not None)
        done: dict[str, _Pattern] = {}
        patterns = {e.id: _compile(e.pattern, fragments, f"exclusion {e.id!r}", done) for e in exclusions}
        compiled: list[_CompiledClass] = []
        for name in rules.priority:
            spec = rules.classes[name]
            blanks: list[_Pattern] = []
            vetoes: list[_Pattern] = []
            for exclusion in exclusions:
                if exclusion.classes is not None and name not in exclusion.classes:
                    continue
                (blanks if exclusion.kind == "blank" else vetoes).append(patterns[exclusion.id])
            compiled_rules = []
            for rule in spec.rules:
                sources = [rule.pattern] if rule.pattern is not None else rule.all or []
                compiled_rules.append(
                    _CompiledRule(
                        rule.id,
                        tuple(_compile(p, fragments, f"{name} rule {rule.id!r}", done) for p in sources),
                        rule.strong,
                        rule.check,
                        rule.gives_way,
                    )
                )
            compiled.append(
                _CompiledClass(
                    name,
                    spec.reply,
                    spec.check,
                    spec.then,
                    spec.then == "safety" or spec.quiet_in_safety_flow,
                    spec.kept_note,
                    tuple(blanks),
                    tuple(vetoes),
                    tuple(compiled_rules),
                )
            )
        answers = [_compile_answer(a, fragments) for a in rules.answers]
        everyday = [pattern for a, pattern in zip(rules.answers, answers, strict=True) if a.anywhere]
        REGEXES.save()
        return cls(compiled, check_no=rules.check_no, answers=answers, pause=rules.pause,
                   in_safety_flow=rules.in_safety_flow, everyday=everyday)

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names in priority order."""
        return tuple(c.name for c in self._classes)

    @property
    def quiet_in_safety_flow(self) -> frozenset[str]:
        """Classes that are an answer, not a new crisis, inside the safety flow."""
        return frozenset(c.name for c in self._classes if c.quiet_in_safety_flow)

    def assess(self, text: str, *, everyday: bool = True) -> CrisisMatch | None:
        """Rules first (sure), then the model: sure or unsure above its thresholds, else None.

        `everyday=False`: the `anywhere` answers do not hold the model back (right after a crisis
        answer, "not yet, will do tomorrow" may be a plan).
        """
        normalised = normalise(text)
        if not normalised:
            return None
        if self.model is None:
            return self._rules(normalised)
        found = self._acted_on(normalised)
        if found is not None and found.rule_id not in self._gives_way:
            return found
        if everyday and self._everyday and any(p.fullmatch(normalised.strip(" .")) for p in self._everyday):
            return found  # an `answers:` entry marked `anywhere`: the model may not flag it (a rule still may)
        verdict = self.model.assess(normalised)
        spec = self._by_name.get(verdict.crisis_class)
        if verdict.tier == "none" or spec is None or (found is not None and verdict.tier != "sure"):
            return found  # a rule's check question stays the least such a match gets (Rule.gives_way)
        return CrisisMatch(spec.name, "model", spec.reply, spec.then, spec.quiet_in_safety_flow,
                           sure=verdict.tier == "sure", risk=verdict.risk, check=spec.check,
                           kept_note=spec.kept_note)

    def only_an_answer(self, text: str) -> bool:
        """Is the whole message one of `answers:` ("ik weet het niet meer", "I can't find it")?

        Why: the model learnt "ik weet het niet meer" and "ik kan niet meer" as despair, and
        alone they may be; typed at a question about a date or a name they are the answer
        "I don't remember". The engine asks this only there, and only when no rule matched
        (engine/crisis.py); a rule's match is never set aside by it.
        """
        if not self._answers:
            return False
        normalised = normalise(text).strip(" .")
        return any(pattern.fullmatch(normalised) for pattern in self._answers)

    def nothing_but(self, text: str, rule_id: str) -> bool:
        """Is the message nothing but what this rule matched ("Ik kan niet meer.", "i can't do this anymore")?

        Why: a rule's check question holds the text it stopped, so that after "Nee" it is read as what it
        was meant for (engine/crisis.py); the rule's clause alone is meant for no question, and read as an
        answer it became a council request or "Ik begrijp niet welke keuze je bedoelt". Only the rule's own
        words count: "ik ben op, ik kan gewoon niet meer" says more, and is held.
        """
        rule = self._rule_by_id.get(rule_id)
        if rule is None:
            return False
        left = normalise(text)
        for pattern in rule.patterns:
            left = pattern.regex.sub(" ", left)
        return not any(c.isalnum() for c in left)

    def is_strong(self, rule_id: str) -> bool:
        return rule_id in self._strong

    def rule_acted_on(self, text: str) -> CrisisMatch | None:
        """The rules' match as the bot acts on it: unless the model doubts it (see `rule_floor`)."""
        normalised = normalise(text)
        if not normalised:
            return None
        return self._acted_on(normalised)

    def _acted_on(self, normalised: str) -> CrisisMatch | None:
        """The first rule match the model does not overrule: the first found, else a question that gave way."""
        for found in self._matches(normalised):
            if found is not None and (self.model is None or found.rule_id in self._strong
                                      or not self.model.doubts_rule(normalised)):
                return found
        return None

    def detect(self, text: str) -> CrisisMatch | None:
        """The highest-priority crisis the rules find in ``text``, or None."""
        normalised = normalise(text)
        if not normalised:
            return None
        return self._rules(normalised)

    def _rules(self, normalised: str) -> CrisisMatch | None:
        found, question = self._matches(normalised)
        return found or question

    def _matches(self, normalised: str) -> tuple[CrisisMatch | None, CrisisMatch | None]:
        """The first class, in priority order, with a rule that matches what is left of the text
        once its blanks are removed (and, for rules that are not strong, its vetoed clauses); and
        the first match of a rule that gives way (Rule.gives_way), passed over to look for another."""
        question: CrisisMatch | None = None
        reading = _Reading(self._index)
        # exclusions shared by several classes are applied once per message (see _blanked)
        blanked_after: dict[int, str] = {}
        vetoed: dict[tuple[int, str], bool] = {}
        for spec, steps, needed in zip(self._classes, self._blank_steps, self._needed, strict=True):
            blanked = _blanked(reading, normalised, steps, blanked_after)
            present = reading.present(blanked)
            # leaving clauses out only removes literals, unless a literal spans " . ": then every
            # rule stays a candidate until its own text is known
            candidates: Sequence[_CompiledRule]
            if self._dotted:
                candidates = spec.rules
            elif needed is not None and not needed & present:
                continue
            else:
                candidates = [r for r in spec.rules if _possible(r.masks, present)]
            if not candidates:
                continue
            kept, kept_present = blanked, present
            if not all(rule.strong for rule in candidates):  # vetoes count for rules that are not strong
                kept, kept_present = self._kept(spec, reading, blanked, present, vetoed)
            for rule in candidates:
                text, mask = (blanked, present) if rule.strong else (kept, kept_present)
                if _possible(rule.masks, mask) and all(reading.search(p, text) for p in rule.patterns):
                    found = CrisisMatch(spec.name, rule.id, spec.reply, spec.then, spec.quiet_in_safety_flow,
                                        sure=rule.check is None, check=rule.check or spec.check,
                                        kept_note=spec.kept_note)
                    if not rule.gives_way:
                        return found, question
                    question = question or found
        return None, question

    def _kept(self, spec: _CompiledClass, reading: _Reading, blanked: str, present: int,
              vetoed: dict[tuple[int, str], bool]) -> tuple[str, int]:
        """The text without the clauses one of the class's vetoes voids, and its literals."""
        # a veto whose words are nowhere in the message cannot void any clause
        vetoes = [v for v in spec.vetoes if _possible(v.masks, present)]
        if not vetoes:
            return blanked, present
        kept = _CLAUSE_SEP.join(clause for clause in blanked.split(_CLAUSE_SEP)
                                if not _any_veto(vetoes, clause, vetoed))
        return kept, reading.present(kept) if self._dotted else present


def _blanked(reading: _Reading, normalised: str, steps: tuple[tuple[_Pattern, int], ...],
             done: dict[int, str]) -> str:
    """The text with a class's blanks removed. Classes share most blanks, so each step's result is
    kept under the number of the run of blanks applied so far (worked out once, in CrisisDetector.__init__)."""
    blanked = normalised
    for blank, key in steps:
        found = done.get(key)
        if found is None:
            found = done[key] = reading.sub(blank, blanked)
        blanked = found
    return blanked


def _any_veto(vetoes: Sequence[_Pattern], clause: str, done: dict[tuple[int, str], bool]) -> bool:
    """Does one of the vetoes void this clause? Their prefilters passed on the whole text; each
    (veto, clause) is searched once per message (`done`), as classes share vetoes."""
    for veto in vetoes:
        key = (id(veto), clause)
        hit = done.get(key)
        if hit is None:
            hit = done[key] = veto.regex.search(clause) is not None
        if hit:
            return True
    return False
