"""The statistical half of the crisis check: a linear model scored in pure Python.

Why: the rules in ``flows/crisis.yaml`` are precise and explainable but only
catch wording somebody wrote a rule for. A linear model over TF-IDF weighted
character n-grams (inside words) and word n-grams of the same normalised text
(``bot.crisis.normalise``) catches the wording nobody foresaw. It is trained
offline with scikit-learn (``python -m bot crisis train``, see
``bot.crisis_train``) and exported as plain numbers in
``flows/crisis/model.json``; scoring here repeats what scikit-learn's
``TfidfVectorizer`` and multinomial ``LogisticRegression`` compute, with
dictionary look-ups, so the running bot never imports scikit-learn or numpy.
``tests/test_crisis_model.py`` holds the two to the same probabilities.

What it must never do: import numpy/scikit-learn, log or keep a text, or
decide what to say (it returns a class and a score; the detector combines it
with the rules and the engine picks the texts).
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import ContentError

__all__ = [
    "FORMAT",
    "MODEL_PATH",
    "CrisisModel",
    "CrisisModelError",
    "ModelVerdict",
    "char_grams",
    "word_char_grams",
    "word_grams",
]

#: The artefact's format name; a change in how features are made is a new version.
FORMAT = "wegwijzer-crisis-model/2"
#: Where the artefact lives, relative to the flows directory.
MODEL_PATH = Path("crisis") / "model.json"
#: The class that means "no crisis".
NONE = "none"
#: Character n-gram lengths (scikit-learn's ``char_wb`` analyser) and word n-gram lengths.
CHAR_NGRAMS = (2, 5)
WORD_NGRAMS = (1, 2)
#: scikit-learn's default ``token_pattern``: words of two or more word characters.
TOKEN_PATTERN = r"(?u)\b\w\w+\b"
#: Weights are stored as integers: the float times this scale, rounded (so the file is byte-stable).
SCALE = 1000
#: A long message is also scored in windows of this many normalised characters (half
#: overlapping), and the most worrying window counts: one sentence of danger in the middle
#: of a 1,500-character complaint story must not be averaged away by the rest.
WINDOW = 300
#: Only this much of a (normalised) message is read; the rest costs time and adds nothing.
MAX_CHARS = 4000
#: Shorter messages are left to the rules: a one- to three-word answer (a date, a name, a
#: place, "gisteren avond") carries too little for the model, which read them as crises.
MIN_WORDS = 4

#: How many words' n-grams the model keeps at hand (about 10 MB; emptied when full). 10,000 holds
#: every word of the labelled corpus (9,489) and hits as often as 20,000 did, at about 10 MB instead
#: of 17; 5,000 missed four times as often (docs/CRISIS.md, "Cost").
WORD_CACHE = 10_000

_TOKEN = re.compile(TOKEN_PATTERN)
_WHITE_SPACES = re.compile(r"\s\s+")


class CrisisModelError(ContentError, ValueError):
    """The artefact cannot be used; the message says what is wrong and how to fix it."""


def char_grams(text: str) -> list[str]:
    """scikit-learn's ``char_wb`` analyser (lower case, each word padded with a space)."""
    grams: list[str] = []
    for word in _WHITE_SPACES.sub(" ", text.lower()).split():
        grams.extend(word_char_grams(word))
    return grams


def word_char_grams(word: str) -> list[str]:
    """One word's ``char_wb`` n-grams, step for step as scikit-learn makes them.

    Kept literally the same, including the early stop for a word shorter than the longest
    n-gram, because a single n-gram more or less changes the vector's norm.
    """
    low, high = CHAR_NGRAMS
    padded = f" {word} "
    size = len(padded)
    grams: list[str] = []
    for n in range(low, high + 1):
        if n >= size:  # the whole padded word, once, and no longer n-grams
            grams.append(padded)
            break
        grams.extend([padded[i:i + n] for i in range(size - n + 1)])
    return grams


def word_grams(text: str) -> list[str]:
    """scikit-learn's ``word`` analyser: lower case, ``TOKEN_PATTERN`` tokens, then 1- and 2-grams."""
    tokens = _TOKEN.findall(text.lower())
    grams = list(tokens)
    grams.extend([f"{a} {b}" for a, b in itertools.pairwise(tokens)])
    return grams


def windows(normalised: str, size: int = WINDOW) -> list[str]:
    """The text itself and, when it is long, half-overlapping windows cut at spaces."""
    text = normalised[:MAX_CHARS]
    if len(text) <= size:
        return [text]
    parts = [text]
    step = size // 2
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        # cut at word boundaries so no window starts or ends with half a word
        if start > 0:
            space = text.find(" ", start)
            start = space + 1 if 0 <= space < end else start
        if end < len(text):
            space = text.rfind(" ", start, end)
            end = space if space > start else end
        parts.append(text[start:end])
        if end >= len(text):
            break
        start += step
    return parts


def words_in(normalised: str) -> int:
    """How many words a normalised text has (clause marks are no words)."""
    return sum(1 for word in normalised.split() if word != ".")


@dataclass(frozen=True, slots=True)
class ModelVerdict:
    """The most likely crisis class, the risk that it is a crisis at all, and the tier it falls in."""

    crisis_class: str
    risk: float
    tier: str  # "sure", "unsure" or "none"


@dataclass(frozen=True, slots=True)
class Thresholds:
    sure: float
    unsure: float


#: One vocabulary entry: the term's idf squared (its part of the norm when seen once), then its
#: weight per label times the idf (all 0 when the term only counts in the norm). One tuple per
#: term, so a text's sums are one ``zip`` over its terms' entries: most terms occur once in a text.
_Entry = tuple[float, ...]


def _vocabulary(section: Any, name: str, documents: int, width: int) -> dict[str, _Entry]:
    """`{term: [df, w...]}` from the file into `{term: (idf², idf·w...)}`."""
    if not isinstance(section, dict):
        raise CrisisModelError(f"`{name}` must map terms to [document frequency, weights...]")
    idf_of: dict[int, float] = {}
    out: dict[str, _Entry] = {}
    sizes = (1, width + 1)
    unweighted = (0.0,) * width
    for term, row in section.items():
        # one cheap test per term (start-up time): a list of the right length holding only ints
        if type(row) is not list or len(row) not in sizes or set(map(type, row)) != {int} or not 1 <= row[0] <= documents:
            raise CrisisModelError(f"{name} term {term!r}: expected [document frequency] or "
                                   f"[document frequency, {width} whole-number weights]")
        idf = idf_of.get(row[0])
        if idf is None:
            # scikit-learn's smooth idf: as if one more document held every term
            idf = idf_of[row[0]] = math.log((documents + 1) / (row[0] + 1)) + 1.0
        out[term] = (idf * idf, *(map(idf.__mul__, row[1:]) if len(row) > 1 else unweighted))
    return out


def _labels(data: dict[str, Any], expected_classes: Iterable[str] | None) -> tuple[list[str], list[str]]:
    """The labels (the crisis classes and `none`) and the classes, checked against the rules' classes."""
    labels = data.get("labels")
    if (not isinstance(labels, list) or NONE not in labels or len(labels) < 2
            or not all(isinstance(c, str) for c in labels) or len(set(labels)) != len(labels)):
        raise CrisisModelError(f"`labels` must list the crisis classes and {NONE!r}, each once")
    classes = [name for name in labels if name != NONE]
    if data.get("classes") != classes:
        raise CrisisModelError(f"`classes` must be the labels without {NONE!r}: {classes}")
    if expected_classes is not None and sorted(set(expected_classes)) != sorted(classes):
        raise CrisisModelError(
            f"the model knows classes {sorted(classes)} but flows/crisis.yaml has {sorted(set(expected_classes))}")
    return labels, classes


def _numbers(data: dict[str, Any], width: int) -> tuple[int, list[int], int]:
    """The weights' scale, the bias per label and how many messages the model was trained on."""
    scale, bias, documents = data.get("scale"), data.get("bias"), data.get("documents")
    if not isinstance(scale, int) or scale <= 0:
        raise CrisisModelError("`scale` must be a positive whole number")
    if not isinstance(documents, int) or documents <= 0:
        raise CrisisModelError("`documents` must be how many messages the model was trained on")
    if not isinstance(bias, list) or len(bias) != width or not all(type(b) is int for b in bias):
        raise CrisisModelError(f"`bias` must be {width} whole numbers, one per label")
    return scale, bias, documents


def _thresholds(section: Any, classes: Sequence[str]) -> dict[str, Thresholds]:
    """Each crisis class's `sure` and `unsure` risk, with 0 <= unsure <= sure <= 1."""
    if not isinstance(section, dict):
        raise CrisisModelError("`thresholds` must map each crisis class to {sure, unsure}")
    limits: dict[str, Thresholds] = {}
    for name in classes:
        spec = section.get(name)
        if not isinstance(spec, dict) or not all(isinstance(spec.get(k), int | float) for k in ("sure", "unsure")):
            raise CrisisModelError(f"`thresholds.{name}` must have numbers `sure` and `unsure`")
        if not 0 <= spec["unsure"] <= spec["sure"] <= 1:
            raise CrisisModelError(f"`thresholds.{name}`: need 0 <= unsure <= sure <= 1")
        limits[name] = Thresholds(float(spec["sure"]), float(spec["unsure"]))
    return limits


#: A word's character n-grams in the vocabulary, and their entries summed column by column.
_Word = tuple[tuple[str, ...], tuple[float, ...]]


def _column_sums(rows: Iterable[Sequence[float]]) -> list[float]:
    """Entries added column by column (C loops: ``zip`` and ``sum``)."""
    return list(map(sum, zip(*rows, strict=True)))


class CrisisModel:
    """TF-IDF (characters, words) and a multinomial logistic regression over every label.

    The risk is 1 - P(none); the class is the most likely crisis label. One pass of
    look-ups gives both.
    """

    def __init__(self, labels: tuple[str, ...], scale: int, bias: tuple[float, ...],
                 chars: Mapping[str, _Entry], words: Mapping[str, _Entry],
                 thresholds: Mapping[str, Thresholds], meta: Mapping[str, Any], rule_floor: float = 0.0) -> None:
        self.labels = labels
        self.classes = tuple(name for name in labels if name != NONE)
        self._none = labels.index(NONE)
        self._scale = scale
        self._bias = bias
        self._chars = dict(chars)
        self._words = dict(words)
        self.thresholds = dict(thresholds)
        self.meta = dict(meta)
        #: a (not strong) rule match in a message of MIN_WORDS words or more whose risk is below this
        #: is not acted on: set by cross-validation, it drops most of the rules' false alarms (a denied
        #: allegation, a resolved past, quoted words) and few of their true finds (docs/CRISIS.md)
        self.rule_floor = rule_floor
        #: the last text scored and its result: the detector asks about the same message twice
        self._last: tuple[str, tuple[str, float]] | None = None
        self._word_cache: dict[str, _Word] = {}
        self._zeros = (0.0,) * (len(labels) + 1)

    # ------------------------------------------------------------ loading
    @classmethod
    def from_data(cls, data: Any, expected_classes: Iterable[str] | None = None) -> CrisisModel:
        """Build from the parsed JSON; raise CrisisModelError naming what is wrong."""
        if not isinstance(data, dict):
            raise CrisisModelError("the model file is not a JSON object")
        if data.get("format") != FORMAT:
            raise CrisisModelError(f"unknown format {data.get('format')!r}, expected {FORMAT!r}")
        labels, classes = _labels(data, expected_classes)
        if (data.get("char_ngrams") != list(CHAR_NGRAMS) or data.get("word_ngrams") != list(WORD_NGRAMS)
                or data.get("token_pattern") != TOKEN_PATTERN):
            raise CrisisModelError(f"built for other features than this code makes ({CHAR_NGRAMS}, {WORD_NGRAMS})")
        scale, bias, documents = _numbers(data, len(labels))
        chars = _vocabulary(data.get("chars"), "chars", documents, len(labels))
        words = _vocabulary(data.get("words"), "words", documents, len(labels))
        rule_floor = data.get("rule_floor", 0.0)
        if not isinstance(rule_floor, int | float) or not 0 <= rule_floor <= 1:
            raise CrisisModelError("`rule_floor` must be a number from 0 to 1")
        meta = {k: v for k, v in data.items() if k not in ("chars", "words")}
        return cls(tuple(labels), scale, tuple(b / scale for b in bias), chars, words,
                   _thresholds(data.get("thresholds"), classes), meta, float(rule_floor))

    @classmethod
    def from_file(cls, path: Path, expected_classes: Iterable[str] | None = None) -> CrisisModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CrisisModelError(f"cannot read the model: {exc}") from exc
        return cls.from_data(data, expected_classes)

    # ------------------------------------------------------------ scoring
    def _add(self, logits: list[float], vocabulary: Mapping[str, _Entry], terms: Sequence[str],
             linear: list[float]) -> None:
        """One vectoriser's part: sublinear tf times idf, L2-normalised, times the weights.

        `terms`: the text's n-grams that are in the vocabulary (the others count nowhere), and
        `linear`: their entries summed as they come, a term seen n times n times. A term seen more
        than once is then corrected to scikit-learn's sublinear tf = 1 + ln(n): they are few, and
        grouped by n, so the sums stay one ``zip`` in C per group.
        """
        if not terms:
            return
        counts = Counter(terms)
        if len(counts) < len(terms):
            by_count: dict[int, list[str]] = {}
            for term, count in counts.items():  # in the text's order: sums come out the same every run
                if count > 1:
                    by_count.setdefault(count, []).append(term)
            for count, group in by_count.items():
                tf = math.log(count) + 1.0
                column = _column_sums(map(vocabulary.__getitem__, group))
                linear[0] += (tf * tf - count) * column[0]
                extra = tf - count
                for label in range(1, len(linear)):
                    linear[label] += extra * column[label]
        factor = 1.0 / (math.sqrt(linear[0]) * self._scale)
        for label in range(len(logits)):
            logits[label] += factor * linear[label + 1]

    def _word(self, word: str) -> _Word:
        """A word's character n-grams that are in the vocabulary and their entries' sum (cached:
        words come back often, so most of a text's sums are a few additions of cached words)."""
        cached = self._word_cache.get(word)
        if cached is not None:
            return cached
        chars = self._chars
        # one copy of each n-gram for all the words kept (an n-gram is in many words)
        terms = tuple(map(sys.intern, filter(chars.__contains__, word_char_grams(word))))
        found = (terms, tuple(_column_sums(map(chars.__getitem__, terms))) if terms else self._zeros)
        if len(self._word_cache) >= WORD_CACHE:
            self._word_cache.clear()
        self._word_cache[word] = found
        return found

    def probabilities(self, text: str) -> list[float]:
        """P(label) for one piece of text, in `labels` order: what scikit-learn's predict_proba gives."""
        logits = list(self._bias)
        # str.split() already treats any run of white space as one, as char_grams' collapsing does
        found = list(map(self._word, text.lower().split()))
        if found:
            terms = list(itertools.chain.from_iterable(f[0] for f in found))
            self._add(logits, self._chars, terms, _column_sums(f[1] for f in found))
        words = self._words
        grams = [gram for gram in word_grams(text) if gram in words]
        if grams:
            self._add(logits, words, grams, _column_sums(map(words.__getitem__, grams)))
        top = max(logits)
        exps = [math.exp(x - top) for x in logits]
        total = sum(exps)
        return [e / total for e in exps]

    def score(self, normalised: str) -> tuple[str, float]:
        """The most likely crisis class and the risk (1 - P(none)), from the most worrying window."""
        last = self._last
        if last is not None and last[0] == normalised:
            return last[1]
        result = (NONE, 0.0)
        if words_in(normalised) >= MIN_WORDS:
            best_risk, best = -1.0, [0.0]
            for part in windows(normalised):
                probs = self.probabilities(part)
                risk = 1.0 - probs[self._none]
                if risk > best_risk:
                    best_risk, best = risk, probs
            top = max((i for i in range(len(best)) if i != self._none), key=best.__getitem__)
            result = (self.labels[top], best_risk)
        self._last = (normalised, result)
        return result

    def doubts_rule(self, normalised: str) -> bool:
        """Is the message long enough to judge and its risk below `rule_floor`?"""
        if not self.rule_floor or words_in(normalised) < MIN_WORDS:
            return False
        return self.score(normalised)[1] < self.rule_floor

    def assess(self, normalised: str) -> ModelVerdict:
        """Which tier this text falls in for its most likely class."""
        if not normalised:
            return ModelVerdict(NONE, 0.0, "none")
        name, risk = self.score(normalised)
        limit = self.thresholds.get(name)
        if limit is None:
            return ModelVerdict(name, risk, "none")
        tier = "sure" if risk >= limit.sure else "unsure" if risk >= limit.unsure else "none"
        return ModelVerdict(name, risk, tier)
