"""Build ``flows/crisis/model.json`` from the labelled corpus: ``python -m bot crisis train``.

Why a separate module: training needs scikit-learn and numpy (the ``train``
extra), and the running bot must never import them. Only this module and the
tests do. The output is byte-for-byte the same on every run from the same
corpus: examples are sorted, the solver is deterministic (lbfgs on a sparse
matrix, one thread), folds use a fixed seed, features are sorted, weights are
rounded to integers (``SCALE``) and pruned to the ones that matter.

How thresholds are set (never on the frozen held-out file): 5-fold
cross-validation on the training corpus gives every message an out-of-fold
score from a model that did not see it, scored by the same pure-Python code
the bot runs (``bot.crisis_model``), after the same pruning and rounding. The
rules run on every message too. ``unsure`` is the highest threshold at which
the combined detector (rules, or the model at ``unsure`` or above) catches
``RECALL_TARGET`` of every risk class; ``sure`` is the lowest threshold at
which the model alone raises no more than ``SURE_FALSE_ALARMS`` of the
harmless messages.

What it must never do: read ``tests/data/crisis/heldout.tsv`` or anything
outside the training files it names.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.crisis import CrisisDetector, normalise
from bot.crisis_model import (
    CHAR_NGRAMS,
    FORMAT,
    MIN_WORDS,
    NONE,
    SCALE,
    TOKEN_PATTERN,
    WORD_NGRAMS,
    CrisisModel,
    words_in,
)

#: Training files, relative to the repository root, in this order (missing ones are skipped).
TRAIN_FILES = ("tests/data/crisis/train.tsv", "tests/data/crisis/train_more.tsv", "tests/data/crisis_labelled.tsv",
               "tests/data/crisis/candidates/train_more2.tsv", "tests/data/crisis/candidates/train_more3.tsv")
#: Never trained or tuned on: only reported on (by the tests).
HELDOUT_FILE = "tests/data/crisis/heldout.tsv"
#: Inverse regularisation strength: 100 beat 30 by nested CV with these training files (300 and 1000
#: were worse on plain CV; ``python -m bot.crisis_train --choose-c`` measures C_GRID again;
#: ``python -m bot.crisis_experiments`` compares it with other variants, docs/CRISIS.md has the tables).
C = 100.0
C_GRID = (30.0, 100.0, 300.0)
#: Pairs of made-up long messages (`long_stories`) added to each fit: 0, none (docs/CRISIS.md, fifth round).
LONG_STORIES = 0
#: A harmless message this long (normalised characters) is a story; one this short can be put in one.
STORY_MIN = 200
INSERT_MAX = 150
#: How the thresholds are set from the cross-validated verdicts (THRESHOLD_POLICIES): chosen by nested
#: cross-validation (``python -m bot.crisis_experiments --nested``, docs/CRISIS.md).
THRESHOLD_POLICY = "halfway"
#: The rule floor: None, chosen by `choose` among RULE_FLOORS on the cross-validated verdicts; a number, fixed.
#: Why fixed may be wanted: with more data `choose` picked 0.7 and a rule's match on a worker's "a parent
#: threatened me" was overruled (docs/CRISIS.md, sixth and seventh rounds).
RULE_FLOOR: float | None = None
#: Classes whose balanced weight is multiplied (`class_weights`): none. The seventh round measured suicide and
#: harm intent, the worst classes of every round, at 1.5 (docs/CRISIS.md).
CLASS_BOOST: tuple[tuple[str, float], ...] = ()
#: A character n-gram is in the vocabulary when at least this many messages have it; a word
#: (or two) always.
CHAR_MIN_DF = 2
WORD_MIN_DF = 1
#: A weight smaller than this (before SCALE) is stored as 0: the file stays small, and
#: cross-validation scores the pruned model, so its figures are the shipped model's.
PRUNE = 0.05
FOLDS = 5
SEED = 20261206
#: Share of each risk class the combined detector must catch (rules, or model >= unsure).
RECALL_TARGET = 0.97
#: Share of harmless messages the combined detector may flag: aimed at, and never more than.
FALSE_ALARM_BUDGET = 0.03
FALSE_ALARM_LIMIT = 0.05
#: Share of harmless messages the model alone may call "sure".
SURE_FALSE_ALARMS = 0.005
#: Figures the train command writes into the model card between these markers.
CARD = "docs/CRISIS.md"
CARD_BEGIN = "<!-- crisis-cv:begin -->"
CARD_END = "<!-- crisis-cv:end -->"


@dataclass(frozen=True, slots=True)
class Example:
    label: str
    lang: str
    text: str


def read_corpus(paths: Sequence[Path]) -> list[Example]:
    """Labelled messages from TSV files (header ``label<TAB>lang<TAB>text``), sorted, duplicates once."""
    seen: dict[str, Example] = {}
    for path in paths:
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                text = (row.get("text") or "").strip()
                label = (row.get("label") or "").strip()
                if text and label and text not in seen:
                    seen[text] = Example(label, (row.get("lang") or "").strip(), text)
    return sorted(seen.values(), key=lambda e: (e.label, e.text))


def corpus_digest(paths: Sequence[Path], root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


# ---------------------------------------------------------------- fitting


@dataclass(frozen=True, slots=True)
class Fitted:
    """The scikit-learn pipeline (TF-IDF characters + words, then the regression) and the texts it
    was fitted on (the training messages and any made by `long_stories`: the idf counts them all)."""

    pipeline: Any
    texts: tuple[str, ...]

    @property
    def documents(self) -> int:
        return len(self.texts)


def long_stories(normalised: Sequence[str], labels: Sequence[str], pairs: int, *, story_min: int = STORY_MIN,
                 insert_max: int = INSERT_MAX, harmless_each: int = 1, only: Sequence[str] = (), window: int = 0,
                 seed: int = SEED) -> tuple[list[str], list[str]]:
    """Made-up long messages with one short message in the middle, from these messages only.

    Why: what the model misses most is one worrying sentence inside a long complaint story; the
    corpus has few long crisis messages. Each pair takes a harmless long story and puts a short
    crisis message in its middle (labelled with that crisis), and the same story with a short
    harmless one (labelled `none`; `harmless_each` such): the story's words then count for neither
    side, the inserted sentence is all that differs. `only`: insert only these classes' messages;
    `window`: keep only that many characters around the insert (what the scorer's window reads).
    Built inside each fit from that fit's messages (a fold's, never across folds), with a fixed
    seed, so a build stays byte-for-byte the same.
    """
    import random

    rng = random.Random(seed)
    stories = [t for t, label in zip(normalised, labels, strict=True) if label == NONE and len(t) >= story_min]
    crises = [(t, label) for t, label in zip(normalised, labels, strict=True)
              if label != NONE and len(t) <= insert_max and words_in(t) >= MIN_WORDS and (not only or label in only)]
    harmless = [t for t, label in zip(normalised, labels, strict=True)
                if label == NONE and len(t) <= insert_max and words_in(t) >= MIN_WORDS]
    texts: list[str] = []
    out: list[str] = []
    if not (pairs and stories and crises and harmless):
        return texts, out
    rng.shuffle(stories)
    for k in range(pairs):
        story = stories[k % len(stories)]
        middle = story.find(" ", len(story) // 2)
        head, tail = (story, "") if middle < 0 else (story[:middle], story[middle + 1:])
        crisis, label = rng.choice(crises)
        for insert, name in ((crisis, label), *((rng.choice(harmless), NONE) for _ in range(harmless_each))):
            text = f"{head} . {insert} . {tail}".strip(" .")
            if window and len(text) > window:
                around = max(0, len(head) - (window - len(insert)) // 2)
                start = text.find(" ", around) + 1 if around else 0
                end = text.rfind(" ", start, start + window)
                text = text[start:end if end > start else start + window].strip(" .")
            texts.append(text)
            out.append(name)
    return texts, out


def class_weights(labels: Sequence[str], boost: Sequence[tuple[str, float]]) -> dict[str, float]:
    """scikit-learn's balanced weights (n / (k * n_class)), those of `boost`'s classes multiplied by its factor.

    Why: with balanced weights the worst classes (suicide, harm intent) count as much as any other; a larger
    weight moves the model's probability toward them where their wording and a neighbour's overlap."""
    counts = Counter(labels)
    factor = dict(boost)
    return {c: len(labels) / (len(counts) * n) * factor.get(c, 1.0) for c, n in counts.items()}


def fit(normalised: Sequence[str], labels: Sequence[str], c: float = C, stories: int = LONG_STORIES) -> Fitted:
    """Fit TF-IDF and one multinomial logistic regression over every label, `none` included
    (on the messages and, when `stories`, that many pairs of `long_stories` made from them)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union
    from threadpoolctl import threadpool_limits

    made, made_labels = long_stories(normalised, labels, stories)
    texts, all_labels = [*normalised, *made], [*labels, *made_labels]
    pipeline = make_pipeline(
        make_union(
            TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, sublinear_tf=True, min_df=CHAR_MIN_DF,
                            token_pattern=None),
            TfidfVectorizer(analyzer="word", ngram_range=WORD_NGRAMS, sublinear_tf=True, min_df=WORD_MIN_DF,
                            token_pattern=TOKEN_PATTERN),
        ),
        LogisticRegression(C=c, solver="lbfgs", max_iter=5000, tol=1e-4,
                           class_weight=class_weights(all_labels, CLASS_BOOST) if CLASS_BOOST else "balanced"),
    )
    with threadpool_limits(limits=1):
        pipeline.fit(texts, all_labels)
    return Fitted(pipeline, tuple(texts))


def export(fitted: Fitted) -> dict[str, Any]:
    """The artefact's model part: labels, biases and, per vectoriser, each term's document
    frequency (every term counts in the norm) with its weights when one of them is at least PRUNE."""
    import numpy as np

    union, regression = fitted.pipeline[0], fitted.pipeline[-1]
    coef = regression.coef_  # (labels, features): the union's columns, characters first
    sections: dict[str, dict[str, list[int]]] = {}
    offset = 0
    for (_name, vectoriser), section in zip(union.transformer_list, ("chars", "words"), strict=True):
        counts = vectoriser.transform(list(fitted.texts))
        df = np.bincount(counts.indices, minlength=len(vectoriser.vocabulary_))
        idf = np.log((fitted.documents + 1) / (df + 1)) + 1
        assert np.allclose(idf, vectoriser.idf_, rtol=0, atol=1e-12), "document frequencies do not give the idf"
        terms: dict[str, list[int]] = {}
        for index, term in enumerate(vectoriser.get_feature_names_out()):
            column = coef[:, offset + index]
            row = [round(float(w) * SCALE) if abs(w) >= PRUNE else 0 for w in column]
            terms[str(term)] = [int(df[index]), *row] if any(row) else [int(df[index])]
        offset += len(vectoriser.vocabulary_)
        sections[section] = dict(sorted(terms.items()))
    return {
        "labels": [str(label) for label in regression.classes_],
        "documents": fitted.documents,
        "bias": [round(float(b) * SCALE) for b in regression.intercept_],
        **sections,
    }


def artefact(classes: Sequence[str], fitted: dict[str, Any], thresholds: dict[str, dict[str, float]],
              extra: dict[str, Any], c: float = C) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "labels": fitted["labels"],
        "classes": [c for c in fitted["labels"] if c != NONE],
        "char_ngrams": list(CHAR_NGRAMS),
        "word_ngrams": list(WORD_NGRAMS),
        "token_pattern": TOKEN_PATTERN,
        "min_df": {"chars": CHAR_MIN_DF, "words": WORD_MIN_DF},
        "documents": fitted["documents"],
        "scale": SCALE,
        "C": c,
        "prune": PRUNE,
        "thresholds": thresholds,
        **extra,
        "bias": fitted["bias"],
        "chars": fitted["chars"],
        "words": fitted["words"],
    }


def dumps(artefact: dict[str, Any]) -> str:
    """Stable text: fixed key order, one term per line (readable diffs), no floats in weights."""
    head = {k: v for k, v in artefact.items() if k not in ("chars", "words")}
    lines = ["{"]
    for key, value in head.items():
        lines.append(f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False, sort_keys=True)},")
    for section in ("chars", "words"):
        lines.append(f'"{section}": {{')
        items = list(artefact[section].items())
        for i, (term, row) in enumerate(items):
            comma = "," if i < len(items) - 1 else ""
            lines.append(f"{json.dumps(term, ensure_ascii=False)}: {json.dumps(row, separators=(',', ':'))}{comma}")
        lines.append("}," if section == "chars" else "}")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- cross-validation


@dataclass(frozen=True, slots=True)
class Scored:
    """One message's out-of-fold verdicts: the rules' class (or None) and the model's class and risk."""

    example: Example
    rule: str | None
    model_class: str
    risk: float
    #: the rule was a strong one, or the message too short for the model: the rule always counts
    rule_certain: bool = False


def rule_counts(s: Scored, floor: float) -> bool:
    """Does the bot act on this message's rule match, given the model's `rule_floor`?"""
    return s.rule is not None and (s.rule_certain or s.risk >= floor)


def cross_validate(examples: Sequence[Example], classes: Sequence[str], rules: CrisisDetector,
                   c: float = C) -> list[Scored]:
    from sklearn.model_selection import StratifiedKFold

    labels = [e.label for e in examples]
    scored: list[Scored | None] = [None] * len(examples)
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for number, (train, test) in enumerate(folds.split(labels, labels), start=1):
        print(f"  fold {number}/{FOLDS}: training on {len(train)}, scoring {len(test)}", file=sys.stderr)
        texts = [normalise(examples[i].text) for i in train]
        fitted = export(fit(texts, [labels[i] for i in train], c))
        placeholder = {name: {"sure": 1.0, "unsure": 1.0} for name in classes if name != NONE}
        model = CrisisModel.from_data(artefact(classes, fitted, placeholder, {}, c))
        for i in test:
            text = examples[i].text
            found = rules.detect(text)
            normalised = normalise(text)
            name, risk = model.score(normalised)
            certain = found is not None and (rules.is_strong(found.rule_id) or words_in(normalised) < MIN_WORDS)
            scored[i] = Scored(examples[i], found.crisis_class if found else None, name, risk, certain)
    return [s for s in scored if s is not None]


def caught(s: Scored, thresholds: dict[str, dict[str, float]], tier: str = "unsure", floor: float = 0.0) -> bool:
    """Does the combined detector flag this message at ``tier`` or above (any class)?"""
    if rule_counts(s, floor):
        return True
    limit = thresholds.get(s.model_class)
    return limit is not None and s.risk >= limit[tier]


def flagged_class(s: Scored, thresholds: dict[str, dict[str, float]], tier: str = "unsure",
                  floor: float = 0.0) -> str:
    if rule_counts(s, floor):
        assert s.rule is not None
        return s.rule
    return s.model_class if caught(s, thresholds, tier, floor) else NONE


#: Candidate `rule_floor`s: below this risk the model overrules a (not strong) rule match.
RULE_FLOORS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def rule_floors(fixed: float | None) -> tuple[float, ...]:
    """The floors `choose` tries: RULE_FLOORS, or only a fixed one."""
    return RULE_FLOORS if fixed is None else (fixed,)


def choose(scored: Sequence[Scored], classes: Sequence[str],
           floors: Sequence[float] = RULE_FLOORS) -> tuple[dict[str, dict[str, float]], float]:
    """Thresholds and the rule floor: of the floors tried, the one whose thresholds give the best
    worst-class recall (then the best mean) on cross-validation, within the false-alarm limit."""
    best: tuple[tuple[float, float], dict[str, dict[str, float]], float] | None = None
    for floor in floors:
        thresholds = choose_thresholds(scored, classes, floor)
        key = worst_and_mean(scored, thresholds, classes, floor)
        print(f"  rule floor {floor}: unsure {next(iter(thresholds.values()))['unsure']}, "
              f"worst-class recall {key[0]:.3f}, mean {key[1]:.3f}", file=sys.stderr)
        if best is None or key > best[0]:
            best = (key, thresholds, floor)
    assert best is not None
    return best[1], best[2]


def choose_thresholds(scored: Sequence[Scored], classes: Sequence[str],
                      floor: float = 0.0) -> dict[str, dict[str, float]]:
    """One `unsure` and one `sure` threshold, the same for every class (see the module doc)."""
    risk_classes = [c for c in classes if c != NONE]
    harmless = [s for s in scored if s.example.label == NONE]
    candidates = sorted({round(s.risk, 3) for s in scored} | {0.0, 1.0}, reverse=True)

    def recall_ok(t: float) -> bool:
        limits = {c: {"unsure": t, "sure": t} for c in risk_classes}
        for name in risk_classes:
            group = [s for s in scored if s.example.label == name]
            if group and sum(caught(s, limits, "unsure", floor) for s in group) / len(group) < RECALL_TARGET:
                return False
        return True

    def lowest_within(share: float) -> float:
        limits = {c: {"unsure": 0.0, "sure": 0.0} for c in risk_classes}
        for t in sorted(candidates):
            for limit in limits.values():
                limit["unsure"] = t
            if sum(caught(s, limits, "unsure", floor) for s in harmless) <= share * len(harmless):
                return t
        return 1.0

    # recall first: the highest threshold that reaches the recall target, but if the
    # false-alarm budget allows a lower one, take it (more recall for alarms we accept)
    by_recall = next((t for t in candidates if recall_ok(t)), 0.0)
    by_budget = lowest_within(FALSE_ALARM_BUDGET)
    unsure = by_budget if by_budget <= by_recall else max(by_recall, lowest_within(FALSE_ALARM_LIMIT))
    allowed = SURE_FALSE_ALARMS * len(harmless)
    sure = 1.0
    for t in sorted(candidates):
        if t < unsure:
            continue
        alarms = sum(1 for s in harmless if not rule_counts(s, floor) and s.risk >= t)
        if alarms <= allowed:
            sure = t
            break
    return {c: {"sure": sure, "unsure": unsure} for c in risk_classes}


def _cut(risk: float) -> float:
    """A threshold at three decimals that still lets this risk through (rounded down)."""
    return math.floor(risk * 1000) / 1000


def per_class_thresholds(scored: Sequence[Scored], classes: Sequence[str], floor: float,
                         start: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Each class its own `unsure`: the highest worst-class recall on cross-validation within the
    false-alarm limit.

    Why: one threshold for all classes spends the false-alarm budget where the harmless look-alikes
    are (a child who does not want to visit a parent reads as child danger), not where the misses
    are (indirect suicide wording). For a target recall, every class starts at 1.0 (only the rules);
    while a class is below the target, the threshold step that brings it most of its own messages per
    false alarm is taken (a message counts for the class the model names for it, as the bot reads it:
    a suicide message named harm intent needs harm intent's threshold). The highest target reached
    within the limit wins (bisection). `sure` stays as `start` has it (never below the new `unsure`).
    """
    risk_classes = [c for c in classes if c != NONE]
    harmless = sum(1 for s in scored if s.example.label == NONE)
    limit = math.floor(FALSE_ALARM_LIMIT * harmless)
    sizes = {c: sum(1 for s in scored if s.example.label == c) for c in risk_classes}
    base = {c: sum(1 for s in scored if s.example.label == c and rule_counts(s, floor)) for c in risk_classes}
    alarms_base = sum(1 for s in scored if s.example.label == NONE and rule_counts(s, floor))
    # what the model alone can still add, per class it names, most worrying first
    queues = {c: sorted((s for s in scored if not rule_counts(s, floor) and s.model_class == c),
                        key=lambda s: -s.risk) for c in risk_classes}

    def reach(target: float) -> dict[str, int] | None:
        """How many of each queue to take so that every class reaches `target`; None if over the limit."""
        taken = dict.fromkeys(risk_classes, 0)
        hits, alarms = dict(base), alarms_base
        while True:
            short = [c for c in risk_classes if sizes[c] and hits[c] < target * sizes[c]]
            if not short:
                return taken
            need = min(short, key=lambda c: hits[c] / sizes[c])
            best: tuple[float, str, int] | None = None
            for c in risk_classes:
                queue, i, added, cost = queues[c], taken[c], 0, 0
                while i < len(queue) and added == 0:  # up to the next message of `need`, whole ties
                    cut = _cut(queue[i].risk)
                    while i < len(queue) and _cut(queue[i].risk) >= cut:
                        added += queue[i].example.label == need
                        cost += queue[i].example.label == NONE
                        i += 1
                if added and alarms + cost <= limit and (best is None or added / (cost + 0.5) > best[0]):
                    best = (added / (cost + 0.5), c, i)
            if best is None:
                return None
            _gain, c, end = best
            for s in queues[c][taken[c]:end]:
                if s.example.label == NONE:
                    alarms += 1
                elif s.example.label in hits:
                    hits[s.example.label] += 1
            taken[c] = end

    low, high, found = 0.0, 1.0, reach(0.0)
    assert found is not None
    for _ in range(12):
        middle = (low + high) / 2
        result = reach(middle)
        if result is None:
            high = middle
        else:
            low, found = middle, result
    out: dict[str, dict[str, float]] = {}
    for c in risk_classes:
        i = found[c]
        unsure = _cut(queues[c][i - 1].risk) if i else 1.0
        out[c] = {"unsure": unsure, "sure": max(unsure, start[c]["sure"])}
    return out




@dataclass(frozen=True, slots=True)
class ThresholdPolicy:
    """How far each class's `unsure` moves from the one common threshold toward its own.

    Why: a threshold per class spends the false-alarm budget where the misses are, but with a
    few hundred messages a class's own threshold also fits the folds' noise (the second round's
    threatened, docs/CRISIS.md). Shrinking it toward the common one trades some of the first
    for less of the second. The class's weight: `shrink` for every class, or n / (n + `prior`)
    for a class of n messages, or all (1) or nothing (0) by `min_messages`. Then one offset,
    the same for every class, puts the false alarms back at the limit.
    """

    name: str
    shrink: float = 0.0
    prior: int = 0
    min_messages: int = 0

    def weight(self, messages: int) -> float:
        if self.prior:
            return messages / (messages + self.prior)
        if self.min_messages:
            return 1.0 if messages >= self.min_messages else 0.0
        return self.shrink

    @property
    def common(self) -> bool:
        """One threshold for every class (the common one as `choose` sets it, no offset)."""
        return not (self.shrink or self.prior or self.min_messages)


#: The policies measured by nested cross-validation (docs/CRISIS.md, third round).
THRESHOLD_POLICIES = {p.name: p for p in (
    ThresholdPolicy("one"),
    ThresholdPolicy("per-class", shrink=1.0),
    ThresholdPolicy("halfway", shrink=0.5),
    ThresholdPolicy("by-count-300", prior=300),
    ThresholdPolicy("per-class-from-400", min_messages=400),
)}


def set_thresholds(scored: Sequence[Scored], classes: Sequence[str], policy: ThresholdPolicy,
                   floors: Sequence[float] = RULE_FLOORS) -> tuple[dict[str, dict[str, float]], float]:
    """Thresholds and rule floor by `policy` on these (out-of-fold) verdicts (the floor one of `floors`)."""
    common, floor = choose(scored, classes, floors)
    if policy.common:
        return common, floor
    per = per_class_thresholds(scored, classes, floor, common)
    return shrunk_thresholds(scored, classes, floor, common, per, policy), floor


def shrunk_thresholds(scored: Sequence[Scored], classes: Sequence[str], floor: float,
                      common: dict[str, dict[str, float]], per: dict[str, dict[str, float]],
                      policy: ThresholdPolicy) -> dict[str, dict[str, float]]:
    """Each class's `unsure` moved from the common one toward its own by the policy's weight, then
    all shifted by the lowest offset (in steps of 0.001) that keeps false alarms within the limit."""
    sizes = Counter(s.example.label for s in scored)
    weights = {c: policy.weight(sizes[c]) for c in per}
    if all(w == 1.0 for w in weights.values()):
        return per
    harmless = [s for s in scored if s.example.label == NONE]
    limit = FALSE_ALARM_LIMIT * len(harmless)

    def shifted(offset: int) -> dict[str, dict[str, float]]:
        out = {}
        for c, w in weights.items():
            u0 = common[c]["unsure"]
            unsure = min(1.0, max(0.0, round(u0 + w * (per[c]["unsure"] - u0) + offset / 1000, 3)))
            out[c] = {"unsure": unsure, "sure": max(unsure, common[c]["sure"])}
        return out

    def within(offset: int) -> bool:
        limits = shifted(offset)
        return sum(caught(s, limits, "unsure", floor) for s in harmless) <= limit

    low, high = -1000, 1000  # false alarms only fall as the offset rises; 1000 lifts every class to 1.0
    while low < high:
        middle = (low + high) // 2
        if within(middle):
            high = middle
        else:
            low = middle + 1
    return shifted(low)


def worst_and_mean(scored: Sequence[Scored], thresholds: dict[str, dict[str, float]], classes: Sequence[str],
                   floor: float) -> tuple[float, float]:
    """Worst-class and mean recall (sure or unsure, any class) on cross-validation: how variants are ranked."""
    recalls = []
    for name in classes:
        if name == NONE:
            continue
        group = [s for s in scored if s.example.label == name]
        recalls.append(sum(caught(s, thresholds, "unsure", floor) for s in group) / max(len(group), 1))
    return round(min(recalls), 4), round(sum(recalls) / len(recalls), 4)


def figures(scored: Sequence[Scored], thresholds: dict[str, dict[str, float]],
            classes: Sequence[str], floor: float = 0.0) -> dict[str, Any]:
    """Per class: recall (any class flagged, and the right class) and precision; false alarms on none."""
    out: dict[str, Any] = {"messages": len(scored), "classes": {}}
    for tier in ("unsure", "sure"):
        per: dict[str, Any] = {}
        for name in classes:
            if name == NONE:
                continue
            group = [s for s in scored if s.example.label == name]
            predicted = [s for s in scored if flagged_class(s, thresholds, tier, floor) == name]
            right = sum(1 for s in predicted if s.example.label == name)
            per[name] = {
                "n": len(group),
                "recall": _ratio(sum(caught(s, thresholds, tier, floor) for s in group), len(group)),
                "recall_class": _ratio(sum(flagged_class(s, thresholds, tier, floor) == name for s in group), len(group)),
                "precision": _ratio(right, len(predicted)),
            }
        harmless = [s for s in scored if s.example.label == NONE]
        per[NONE] = {"n": len(harmless),
                     "false_alarms": _ratio(sum(caught(s, thresholds, tier, floor) for s in harmless), len(harmless))}
        out["classes"][tier] = per
    model_only = [Scored(s.example, None, s.model_class, s.risk) for s in scored]
    out["model_only"] = {
        name: _ratio(sum(caught(s, thresholds) for s in model_only if s.example.label == name),
                     sum(1 for s in model_only if s.example.label == name))
        for name in classes
    }
    rules_only = {c: {"sure": 2.0, "unsure": 2.0} for c in classes if c != NONE}
    out["rules_only"] = {
        name: _ratio(sum(caught(s, rules_only, "unsure", floor) for s in scored if s.example.label == name),
                     sum(1 for s in scored if s.example.label == name))
        for name in classes
    }
    return out


def evaluate(detector: CrisisDetector, examples: Sequence[Example]) -> dict[str, Any]:
    """The shipped detector (rules + model, as the bot runs it) on labelled messages, in `figures`' shape."""
    scored = []
    for example in examples:
        normalised = normalise(example.text)
        rule = detector.rule_acted_on(example.text)
        verdict = detector.model.assess(normalised) if detector.model is not None else None
        scored.append((example, rule.crisis_class if rule else None, verdict))
    classes = [NONE, *sorted(detector.classes)]
    out: dict[str, Any] = {"messages": len(scored), "classes": {}}

    def flagged(rule: str | None, verdict: Any, tier: str) -> str:
        if rule is not None:
            return rule
        if verdict is None or verdict.tier == "none" or (tier == "sure" and verdict.tier != "sure"):
            return NONE
        return str(verdict.crisis_class)

    for tier in ("unsure", "sure"):
        per: dict[str, Any] = {}
        for name in classes[1:]:
            group = [(r, v) for e, r, v in scored if e.label == name]
            predicted = [e for e, r, v in scored if flagged(r, v, tier) == name]
            per[name] = {
                "n": len(group),
                "recall": _ratio(sum(flagged(r, v, tier) != NONE for r, v in group), len(group)),
                "recall_class": _ratio(sum(flagged(r, v, tier) == name for r, v in group), len(group)),
                "precision": _ratio(sum(e.label == name for e in predicted), len(predicted)),
            }
        harmless = [(r, v) for e, r, v in scored if e.label == NONE]
        per[NONE] = {"n": len(harmless),
                     "false_alarms": _ratio(sum(flagged(r, v, tier) != NONE for r, v in harmless), len(harmless))}
        out["classes"][tier] = per
    out["model_only"] = {
        name: _ratio(sum(flagged(None, v, "unsure") != NONE for e, _r, v in scored if e.label == name),
                     sum(1 for e in examples if e.label == name))
        for name in classes
    }
    out["rules_only"] = {
        name: _ratio(sum(r is not None for e, r, _v in scored if e.label == name),
                     sum(1 for e in examples if e.label == name))
        for name in classes
    }
    return out


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 1.0


def table(result: dict[str, Any], title: str) -> str:
    """Figures as a Markdown table (printed by the train command and kept in the model card)."""
    lines = [f"{title} ({result['messages']} messages)", "",
             "| class | n | caught (sure or unsure) | right class | precision | caught (sure only) | model only | rules only |",
             "|---|---|---|---|---|---|---|---|"]
    unsure, sure = result["classes"]["unsure"], result["classes"]["sure"]
    for name, row in unsure.items():
        if name == NONE:
            continue
        lines.append(f"| {name} | {row['n']} | {row['recall']:.1%} | {row['recall_class']:.1%} | "
                     f"{row['precision']:.1%} | {sure[name]['recall']:.1%} | {result['model_only'][name]:.1%} | "
                     f"{result['rules_only'][name]:.1%} |")
    lines.append(f"| none: false alarms | {unsure[NONE]['n']} | {unsure[NONE]['false_alarms']:.1%} | | | "
                 f"{sure[NONE]['false_alarms']:.1%} | {result['model_only'][NONE]:.1%} | {result['rules_only'][NONE]:.1%} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- the command


def _corpus(root: Path, flows_dir: Path) -> tuple[list[Path], list[Example], CrisisDetector, list[str]]:
    """The training files, their messages, the rules and the labels (`none` first)."""
    paths = [root / f for f in TRAIN_FILES if (root / f).exists()]
    if not paths:
        raise SystemExit(f"no training data: expected one of {', '.join(TRAIN_FILES)}")
    examples = read_corpus(paths)
    rules = CrisisDetector.from_yaml_file(flows_dir / "crisis.yaml")
    classes = [NONE, *sorted(rules.classes)]
    unknown = sorted({e.label for e in examples} - set(classes))
    if unknown:
        raise SystemExit(f"unknown labels in the corpus: {unknown} (expected {classes})")
    counts = Counter(e.label for e in examples)
    print(f"training on {len(examples)} messages from {', '.join(p.relative_to(root).as_posix() for p in paths)}: "
          + ", ".join(f"{c} {counts[c]}" for c in classes), file=sys.stderr)
    return paths, examples, rules, classes


def train(root: Path, flows_dir: Path, out: Path | None = None, *, card: bool = True) -> tuple[str, dict[str, Any]]:
    """Cross-validate, set thresholds, fit on everything, and return the artefact's text."""
    paths, examples, rules, classes = _corpus(root, flows_dir)
    scored = cross_validate(examples, classes, rules)
    thresholds, rule_floor = set_thresholds(scored, classes, THRESHOLD_POLICIES[THRESHOLD_POLICY],
                                            rule_floors(RULE_FLOOR))
    cv = figures(scored, thresholds, classes, rule_floor)
    print("  final fit on all training messages", file=sys.stderr)
    texts = [normalise(e.text) for e in examples]
    fitted = export(fit(texts, [e.label for e in examples]))
    extra = {
        "rule_floor": rule_floor,
        "trained_on": corpus_digest(paths, root),
        "messages": dict(sorted(Counter(e.label for e in examples).items())),
        "cv": cv,
    }
    text = dumps(artefact(classes, fitted, thresholds, extra))
    CrisisModel.from_data(json.loads(text), rules.classes)  # what the bot will load must load
    report = table(cv, f"{FOLDS}-fold cross-validation on the training corpus")
    print(report)
    terms = len(fitted["chars"]) + len(fitted["words"])
    weighted = sum(len(row) > 1 for section in ("chars", "words") for row in fitted[section].values())
    summary = f"{terms} terms ({weighted} with weights), {len(text.encode()) / 1e6:.2f} MB"
    print(f"\nthresholds: {describe(thresholds)}, rule floor {rule_floor}; {summary}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}")
    if card and (root / CARD).exists():
        _update_card(root / CARD, report, thresholds, rule_floor, summary)
    return text, cv


def choose_c(root: Path, flows_dir: Path) -> float:
    """Cross-validate every C of C_GRID (training files only) and name the best, as `choose` ranks them."""
    _paths, examples, rules, classes = _corpus(root, flows_dir)
    best: tuple[tuple[float, float], float] | None = None
    for c in C_GRID:
        scored = cross_validate(examples, classes, rules, c)
        thresholds, floor = choose(scored, classes)
        result = figures(scored, thresholds, classes, floor)
        recalls = [row["recall"] for name, row in result["classes"]["unsure"].items() if name != NONE]
        key = (min(recalls), sum(recalls) / len(recalls))
        print(table(result, f"C = {c}: {FOLDS}-fold cross-validation, rule floor {floor}"), "\n")
        if best is None or key > best[0]:
            best = (key, c)
    assert best is not None
    print(f"best C: {best[1]} (worst-class recall {best[0][0]:.1%}, mean {best[0][1]:.1%})")
    return best[1]


def describe(thresholds: dict[str, dict[str, float]]) -> str:
    """The thresholds in one line: one pair when every class has the same, else each class's."""
    pairs = {(t["unsure"], t["sure"]) for t in thresholds.values()}
    if len(pairs) == 1:
        unsure, sure = pairs.pop()
        return f"unsure {unsure}, sure {sure}"
    return "unsure/sure " + ", ".join(f"{c} {t['unsure']}/{t['sure']}" for c, t in sorted(thresholds.items()))


def _update_card(path: Path, report: str, thresholds: dict[str, dict[str, float]], floor: float,
                 summary: str) -> None:
    card = path.read_text(encoding="utf-8")
    if CARD_BEGIN not in card or CARD_END not in card:
        return
    block = (f"{CARD_BEGIN}\n{report}\n\nThresholds ({THRESHOLD_POLICY}): {describe(thresholds)}, "
             f"rule floor {floor}. C = {C}; {summary}.\n{CARD_END}")
    pattern = re.compile(re.escape(CARD_BEGIN) + ".*?" + re.escape(CARD_END), re.DOTALL)
    path.write_text(pattern.sub(lambda _m: block, card), encoding="utf-8")


if __name__ == "__main__":  # python -m bot.crisis_train --choose-c: measure C_GRID (slow: a CV per C)
    from bot.settings import ROOT

    parser = argparse.ArgumentParser(description="cross-validate each C of C_GRID on the training files")
    parser.add_argument("--choose-c", action="store_true", required=True)
    parser.parse_args()
    choose_c(ROOT, ROOT / "flows")
