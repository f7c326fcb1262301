"""The statistical half of the crisis check: a linear model scored in pure Python.

Why: the rules in ``flows/crisis.yaml`` are precise and explainable but only
catch wording somebody wrote a rule for. A linear model over word 1-2-grams
and character 2-5-grams of the same normalised text (``bot.crisis.normalise``)
catches the wording nobody foresaw. It is trained offline with scikit-learn
(``python -m bot crisis train``, see ``bot.crisis_train``) and exported as
plain weights in ``flows/crisis/model.json``; scoring here is dictionary
look-ups and a softmax, so the running bot never imports scikit-learn or numpy
and a message costs tens of microseconds.

What it must never do: import numpy/scikit-learn, log or keep a text, or
decide what to say (it returns a class and a score; the detector combines it
with the rules and the engine picks the texts).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Mapping
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
    "features",
]

#: The artefact's format name; a change in how features are made is a new version.
FORMAT = "wegwijzer-crisis-model/1"
#: Where the artefact lives, relative to the flows directory.
MODEL_PATH = Path("crisis") / "model.json"
#: The class that means "no crisis".
NONE = "none"
#: Character n-gram lengths and word n-gram lengths (the artefact states them too).
CHAR_NGRAMS = (3, 5)
WORD_NGRAMS = (1, 2)  # features() writes out exactly these two
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


class CrisisModelError(ContentError, ValueError):
    """The artefact cannot be used; the message says what is wrong and how to fix it."""


def features(normalised: str) -> set[str]:
    """Every feature of a normalised text: word n-grams (marked ``_``) and character n-grams.

    Training (bot.crisis_train) and scoring both call this, so they cannot drift apart.
    ``_`` never occurs in normalised text, so a word feature cannot be mistaken for a
    character one. A feature counts once (binary); the scorer divides by the square root
    of how many features the text has, which is the L2 norm of that binary vector.
    """
    words = normalised.split()
    found = {"_" + w for w in words}
    found.update(f"_{a} {b}" for a, b in itertools.pairwise(words))
    padded = f" {normalised} "
    size = len(padded)
    for n in range(CHAR_NGRAMS[0], CHAR_NGRAMS[1] + 1):
        found.update({padded[i:i + n] for i in range(size - n + 1)})
    return found


def windows(normalised: str) -> list[str]:
    """The text itself and, when it is long, half-overlapping windows cut at spaces."""
    text = normalised[:MAX_CHARS]
    if len(text) <= WINDOW:
        return [text]
    parts = [text]
    step = WINDOW // 2
    start = 0
    while start < len(text):
        end = min(len(text), start + WINDOW)
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


class CrisisModel:
    """Two linear models over the same features, scored with dictionary look-ups.

    ``risk``: is this a crisis at all (logistic, one weight per feature): it runs on
    every message, so it is one pass of look-ups. ``kind``: which crisis (softmax over
    the crisis classes): it runs only when the risk reaches a threshold.
    """

    def __init__(self, classes: tuple[str, ...], scale: int, risk_bias: float, class_bias: tuple[float, ...],
                 risk: Mapping[str, int], kind: Mapping[str, tuple[int, ...]],
                 thresholds: Mapping[str, Thresholds], meta: Mapping[str, Any]) -> None:
        self.classes = classes
        self._scale = scale
        self._risk_bias = risk_bias
        self._class_bias = class_bias
        self._risk = dict(risk)
        self._kind = dict(kind)
        self.thresholds = dict(thresholds)
        self.meta = dict(meta)
        #: below this risk no class reaches even its `unsure` threshold: the class model is skipped
        self._floor = min((t.unsure for t in self.thresholds.values()), default=1.0)
        #: a (not strong) rule match in a message of MIN_WORDS words or more whose risk is below this
        #: is not acted on: set by cross-validation, it drops most of the rules' false alarms (a denied
        #: allegation, a resolved past, quoted words) and few of their true finds (docs/CRISIS.md)
        self.rule_floor = 0.0

    # ------------------------------------------------------------ loading
    @classmethod
    def from_data(cls, data: Any, expected_classes: Iterable[str] | None = None) -> CrisisModel:
        """Build from the parsed JSON; raise CrisisModelError naming what is wrong."""
        if not isinstance(data, dict):
            raise CrisisModelError("the model file is not a JSON object")
        if data.get("format") != FORMAT:
            raise CrisisModelError(f"unknown format {data.get('format')!r}, expected {FORMAT!r}")
        classes = data.get("classes")
        if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
            raise CrisisModelError("`classes` must be a list of crisis class names")
        if expected_classes is not None and sorted(set(expected_classes)) != sorted(classes):
            raise CrisisModelError(
                f"the model knows classes {sorted(classes)} but flows/crisis.yaml has {sorted(set(expected_classes))}")
        width = len(classes)
        scale, risk_bias, class_bias = data.get("scale"), data.get("risk_bias"), data.get("class_bias")
        weights, thresholds = data.get("weights"), data.get("thresholds")
        if data.get("char_ngrams") != list(CHAR_NGRAMS) or data.get("word_ngrams") != list(WORD_NGRAMS):
            raise CrisisModelError(f"built for other n-grams than this code makes ({CHAR_NGRAMS}, {WORD_NGRAMS})")
        if not isinstance(scale, int) or scale <= 0:
            raise CrisisModelError("`scale` must be a positive whole number")
        if not isinstance(risk_bias, int):
            raise CrisisModelError("`risk_bias` must be a whole number")
        if not isinstance(class_bias, list) or len(class_bias) != width or not all(isinstance(b, int) for b in class_bias):
            raise CrisisModelError(f"`class_bias` must be {width} whole numbers, one per class")
        if not isinstance(weights, dict) or not weights:
            raise CrisisModelError("`weights` must map features to weights")
        # weights stay whole numbers (sums are divided by `scale` once): loading is fast
        if not all(isinstance(row, list) and len(row) == width + 1 for row in weights.values()) or not all(
                type(w) is int for row in weights.values() for w in row):
            bad = next(f for f, row in weights.items()
                       if not isinstance(row, list) or len(row) != width + 1 or not all(type(w) is int for w in row))
            raise CrisisModelError(f"feature {bad!r}: expected {width + 1} whole numbers (risk, then one per class)")
        risk = {feature: row[0] for feature, row in weights.items() if row[0]}
        kind = {feature: tuple(row[1:]) for feature, row in weights.items() if any(row[1:])}
        if not isinstance(thresholds, dict):
            raise CrisisModelError("`thresholds` must map each crisis class to {sure, unsure}")
        limits: dict[str, Thresholds] = {}
        for name in classes:
            spec = thresholds.get(name)
            if not isinstance(spec, dict) or not all(isinstance(spec.get(k), int | float) for k in ("sure", "unsure")):
                raise CrisisModelError(f"`thresholds.{name}` must have numbers `sure` and `unsure`")
            if not 0 <= spec["unsure"] <= spec["sure"] <= 1:
                raise CrisisModelError(f"`thresholds.{name}`: need 0 <= unsure <= sure <= 1")
            limits[name] = Thresholds(float(spec["sure"]), float(spec["unsure"]))
        rule_floor = data.get("rule_floor", 0.0)
        if not isinstance(rule_floor, int | float) or not 0 <= rule_floor <= 1:
            raise CrisisModelError("`rule_floor` must be a number from 0 to 1")
        meta = {k: v for k, v in data.items() if k != "weights"}
        model = cls(tuple(classes), scale, risk_bias / scale, tuple(b / scale for b in class_bias), risk, kind, limits,
                    meta)
        model.rule_floor = float(rule_floor)
        return model

    @classmethod
    def from_file(cls, path: Path, expected_classes: Iterable[str] | None = None) -> CrisisModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CrisisModelError(f"cannot read the model: {exc}") from exc
        return cls.from_data(data, expected_classes)

    # ------------------------------------------------------------ scoring
    @staticmethod
    def features(normalised: str) -> set[str]:
        """The features `assess` would make of the (first window of the) text, to pass back in."""
        return features(windows(normalised)[0])

    def risk(self, normalised: str, found: set[str] | None = None) -> tuple[float, set[str]]:
        """P(crisis) for one piece of normalised text, and its features (for `kind`)."""
        if found is None:
            found = features(normalised)
        if not found:
            return 1.0 / (1.0 + math.exp(-self._risk_bias)), found
        total = sum(filter(None, map(self._risk.get, found)))
        logit = self._risk_bias + total / (self._scale * math.sqrt(len(found)))
        if logit < -30:
            return 0.0, found
        return 1.0 / (1.0 + math.exp(-logit)), found

    def kind(self, found: set[str]) -> list[float]:
        """P(class | crisis) for a text's features (softmax over the crisis classes)."""
        rows = [row for row in map(self._kind.get, found) if row is not None]
        scale = 1.0 / (self._scale * math.sqrt(len(found))) if found else 0.0
        if rows:
            logits = [b + scale * sum(column) for b, column in zip(self._class_bias, zip(*rows, strict=True), strict=True)]
        else:
            logits = list(self._class_bias)
        top = max(logits)
        exps = [math.exp(x - top) for x in logits]
        total = sum(exps)
        return [e / total for e in exps]

    def score(self, normalised: str, first: set[str] | None = None, *,
              always_classify: bool = False) -> tuple[str, float]:
        """The most likely crisis class and the risk, from the most worrying window of a long text.

        The class is only worked out when the risk could reach a threshold (or when asked).
        `first`: the features of the first window (the whole text), if made already.
        """
        if sum(1 for word in normalised.split() if word != ".") < MIN_WORDS:  # clause marks are no words
            return NONE, 0.0
        best_risk, best_found = -1.0, set()
        for number, part in enumerate(windows(normalised)):
            risk, found = self.risk(part, first if number == 0 else None)
            if risk > best_risk:
                best_risk, best_found = risk, found
        if best_risk < self._floor and not always_classify:
            return NONE, best_risk
        probs = self.kind(best_found)
        return self.classes[max(range(len(probs)), key=probs.__getitem__)], best_risk

    def doubts_rule(self, normalised: str, first: set[str] | None = None) -> bool:
        """Is the message long enough to judge and its risk below `rule_floor`?"""
        if not self.rule_floor or sum(1 for word in normalised.split() if word != ".") < MIN_WORDS:
            return False
        return self.score(normalised, first)[1] < self.rule_floor

    def assess(self, normalised: str, first: set[str] | None = None) -> ModelVerdict:
        """Which tier this text falls in for its most likely class (`first`: see `score`)."""
        if not normalised:
            return ModelVerdict(NONE, 0.0, "none")
        name, risk = self.score(normalised, first)
        limit = self.thresholds.get(name)
        if limit is None:
            return ModelVerdict(name, risk, "none")
        tier = "sure" if risk >= limit.sure else "unsure" if risk >= limit.unsure else "none"
        return ModelVerdict(name, risk, tier)
