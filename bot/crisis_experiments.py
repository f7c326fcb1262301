"""Compare crisis-model variants by 5-fold cross-validation on the training files only.

Why a separate module: choosing a model (C, class weights, features, a separate
risk model, which data to add) must never look at the frozen held-out or
independent sets, and every variant must be measured the same way as the
shipped model is (``bot.crisis_train``: the same folds, the rules on every
message, the same windows of a long message, thresholds and rule floor set by
``choose``). This module does that for each variant and prints one table row
per variant: caught per class at the threshold the false-alarm limit allows,
and the false alarms. The variants are scored with scikit-learn (not the
pure-Python scorer) so that variants the bot cannot score yet can be compared
too; the shipped variant is then rebuilt and measured by ``python -m bot
crisis train`` through the bot's own scorer.

Run: ``python -m bot.crisis_experiments [NAME ...]`` (slow: five fits per variant).
Since the sixth round the three older independent sets (``probe.tsv``, ``probe2.tsv``, ``probe3.tsv``) are
training files, and a row is measured on two parts: the original training messages and the probe messages'
own folds (``PARTS``). What it must never do: read ``tests/data/crisis/heldout.tsv`` or ``probe4.tsv`` to
``probe8.tsv`` (``FROZEN``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.crisis import CrisisDetector, normalise
from bot.crisis_model import CHAR_NGRAMS, MIN_WORDS, NONE, TOKEN_PATTERN, WINDOW, WORD_NGRAMS, windows, word_grams, words_in
from bot.crisis_train import (
    CHAR_MIN_DF,
    FALSE_ALARM_LIMIT,
    FOLDS,
    RULE_FLOORS,
    SEED,
    THRESHOLD_POLICIES,
    WORD_MIN_DF,
    Example,
    Scored,
    ThresholdPolicy,
    caught,
    choose,
    class_weights,
    figures,
    long_stories,
    per_class_thresholds,
    read_corpus,
    rule_floors,
    shrunk_thresholds,
)

#: The training files (every variant is compared on their messages), and the candidate files
#: (tests/data/crisis/candidates/README.md); a variant names which it trains on.
ORIGINAL = ("tests/data/crisis/train.tsv", "tests/data/crisis/train_more.tsv", "tests/data/crisis_labelled.tsv")
MORE2 = "tests/data/crisis/candidates/train_more2.tsv"
MORE3 = "tests/data/crisis/candidates/train_more3.tsv"
MORE4 = "tests/data/crisis/candidates/train_more4.tsv"
MORE5 = "tests/data/crisis/candidates/train_more5.tsv"
MORE6 = "tests/data/crisis/candidates/train_more6.tsv"
MORE7 = "tests/data/crisis/candidates/train_more7.tsv"
MORE8 = "tests/data/crisis/candidates/train_more8.tsv"
#: The three older independent sets: measured in the first five rounds' decisions, training files since the sixth.
PROBES = ("tests/data/crisis/probe.tsv", "tests/data/crisis/probe2.tsv", "tests/data/crisis/probe3.tsv")
#: Never trained, tuned or measured on here (file names): the lead alone measures a round's candidate on them.
FROZEN = ("heldout.tsv", "probe4.tsv", "probe5.tsv", "probe6.tsv", "probe7.tsv", "probe8.tsv")


@dataclass(frozen=True)
class Variant:
    name: str
    files: tuple[str, ...] = ORIGINAL
    c: float = 30.0
    class_weight: str | None = "balanced"
    #: classes whose balanced weight is multiplied by a factor (``bot.crisis_train.class_weights``)
    class_boost: tuple[tuple[str, float], ...] = ()
    char_ngrams: tuple[int, int] = CHAR_NGRAMS
    #: "multi": risk = 1 - P(none) of the multinomial model; "binary": a second, binary
    #: crisis-vs-none regression gives the risk (the class still from the multinomial one)
    risk: str = "multi"
    #: NB-SVM: scale each feature by its log-count ratio (crisis vs none) before the regression
    nb: bool = False
    binary_c: float | None = None
    #: word tokens also marked by the clause they stand in: after a negation ("not_" + word) or in
    #: a clause about the past ("past_" + word)
    marks: bool = False
    #: the long-message window (normalised characters)
    window: int = WINDOW
    #: pairs of made-up long messages (``bot.crisis_train.long_stories``) added to each fold's fit
    stories: int = 0
    #: insert only these classes' messages; keep only this many characters around the insert (0: all)
    stories_only: tuple[str, ...] = ()
    stories_window: int = 0
    #: harmless versions of each story per crisis version
    stories_harmless: int = 1
    #: the sample weight of each made-up long message
    stories_weight: float = 1.0
    #: a sample weight for the messages of a file (those not in an earlier file of ``files``); others 1
    weights: tuple[tuple[str, float], ...] = ()
    #: files whose messages (those not in ``files``) each fold's model scores but never fits on, and no
    #: threshold is set on: the shipped model measured on the same parts, in the same folds, as a variant
    #: that trains on them
    scored_only: tuple[str, ...] = ()
    #: the rule floor: None, chosen by ``choose`` on the (inner) folds as the train command does; a number, fixed
    #: (seventh round: the floor ``choose`` picked with more data overruled rules the product relies on)
    rule_floor: float | None = None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _grid(prefix: str, files: tuple[str, ...]) -> list[Variant]:
    """The variants tried on one set of training files."""
    return [
        Variant(f"{prefix}c30", files),
        Variant(f"{prefix}c100", files, c=100.0),
        Variant(f"{prefix}c300", files, c=300.0),
        Variant(f"{prefix}c1000", files, c=1000.0),
        Variant(f"{prefix}c100-noweight", files, c=100.0, class_weight=None),
        Variant(f"{prefix}c30-binary", files, risk="binary"),
        Variant(f"{prefix}c100-binary", files, c=100.0, risk="binary"),
        Variant(f"{prefix}c30-nbsvm", files, nb=True),
        Variant(f"{prefix}c100-nbsvm", files, c=100.0, nb=True),
        Variant(f"{prefix}c30-chars1-4", files, char_ngrams=(1, 4)),
        Variant(f"{prefix}c30-chars2-6", files, char_ngrams=(2, 6)),
        Variant(f"{prefix}c30-chars3-5", files, char_ngrams=(3, 5)),
        Variant(f"{prefix}c30-marks", files, marks=True),
        Variant(f"{prefix}c100-marks", files, c=100.0, marks=True),
        Variant(f"{prefix}c30-window200", files, window=200),
        Variant(f"{prefix}c30-window500", files, window=500),
        Variant(f"{prefix}c100-window200", files, c=100.0, window=200),
        Variant(f"{prefix}c100-window500", files, c=100.0, window=500),
    ]


VARIANTS = [
    *_grid("", ORIGINAL),
    *_grid("more2-", (*ORIGINAL, MORE2)),
    *_grid("more23-", (*ORIGINAL, MORE2, MORE3)),
    *_grid("more3-", (*ORIGINAL, MORE3)),
    *_grid("more4-", (*ORIGINAL, MORE4)),
    *_grid("more234-", (*ORIGINAL, MORE2, MORE3, MORE4)),
    *_grid("more24-", (*ORIGINAL, MORE2, MORE4)),
    *_grid("more34-", (*ORIGINAL, MORE3, MORE4)),
    *_grid("more235-", (*ORIGINAL, MORE2, MORE3, MORE5)),
    *_grid("more2345-", (*ORIGINAL, MORE2, MORE3, MORE4, MORE5)),
    # fifth round: made-up long stories, train_more6, train_more4/5 at a lower weight (docs/CRISIS.md)
    *(Variant(f"more23-c100-stories{n}", (*ORIGINAL, MORE2, MORE3), c=100.0, stories=n) for n in (50, 200, 400, 800)),
    *(Variant(f"more23-c100-stories{n}-w{str(w).replace('.', '')}", (*ORIGINAL, MORE2, MORE3), c=100.0, stories=n,
              stories_weight=w) for n, w in ((100, 0.3), (400, 0.1), (400, 0.3))),
    *(Variant(f"more23-c100-stories{n}-h{h}", (*ORIGINAL, MORE2, MORE3), c=100.0, stories=n, stories_harmless=h)
      for n, h in ((100, 3), (200, 3))),
    Variant("more23-c100-stories200-window300", (*ORIGINAL, MORE2, MORE3), c=100.0, stories=200, stories_window=300),
    Variant("more23-c100-stories200-suicide-harm", (*ORIGINAL, MORE2, MORE3), c=100.0, stories=200,
            stories_only=("suicide", "harm_intent")),
    Variant("more236-c100", (*ORIGINAL, MORE2, MORE3, MORE6), c=100.0),
    *(Variant(f"more236-c100-stories{n}", (*ORIGINAL, MORE2, MORE3, MORE6), c=100.0, stories=n) for n in (200, 400)),
    *(Variant(f"more23{extra}-c100-w{str(w).replace('.', '')}", (*ORIGINAL, MORE2, MORE3, *files), c=100.0,
              weights=tuple((f, w) for f in files))
      for extra, files in (("4", (MORE4,)), ("5", (MORE5,)), ("45", (MORE4, MORE5))) for w in (0.1, 0.2, 0.3, 0.5)),
    # sixth round: the older independent sets join training; the shipped data scores them out of fold only
    Variant("more23-c100-scoreprobes", (*ORIGINAL, MORE2, MORE3), c=100.0, scored_only=PROBES),
    *(Variant(f"probes-more23-c{c:g}", (*ORIGINAL, MORE2, MORE3, *PROBES), c=c) for c in (30.0, 100.0, 300.0)),
    Variant("probes-more236-c100", (*ORIGINAL, MORE2, MORE3, *PROBES, MORE6), c=100.0),
    *(Variant(f"probes-more2345-c100-w{str(w).replace('.', '')}", (*ORIGINAL, MORE2, MORE3, *PROBES, MORE4, MORE5),
              c=100.0, weights=((MORE4, w), (MORE5, w))) for w in (0.3, 0.5)),
    # seventh round: the sixth round's candidate with the rule floor fixed at 0.5 (the shipped model's), and
    # train_more7 (written in the independent sets' style)
    *(Variant(f"probes-more23-c{c:g}-floor05", (*ORIGINAL, MORE2, MORE3, *PROBES), c=c, rule_floor=0.5)
      for c in (30.0, 100.0)),
    Variant("probes-more237-c100-floor05", (*ORIGINAL, MORE2, MORE3, *PROBES, MORE7), c=100.0, rule_floor=0.5),
    Variant("probes-more23-c100-floor05-boost15", (*ORIGINAL, MORE2, MORE3, *PROBES), c=100.0, rule_floor=0.5,
            class_boost=(("harm_intent", 1.5), ("suicide", 1.5))),
    # ninth round: B = the eighth round's candidate (A, above: probes-more23-c100-floor05) + train_more8, written
    # this session by a writer who saw only the situation list and the training files
    Variant("probes-more238-c100-floor05", (*ORIGINAL, MORE2, MORE3, *PROBES, MORE8), c=100.0, rule_floor=0.5),
]


NEGATIONS = frozenset((
    "niet", "geen", "nooit", "niks", "niets", "niemand", "not", "no", "never", "dont", "didnt", "doesnt",
    "isnt", "wasnt", "cant", "wont", "nobody", "nothing", "havent", "hasnt", "arent", "werent",
))
PAST = frozenset(("vroeger", "was", "waren", "had", "hadden", "toen", "geleden", "destijds", "used", "ago", "were",
                  "back", "then"))
_WORD = re.compile(TOKEN_PATTERN)


def marked_grams(text: str) -> list[str]:
    """The word analyser's 1- and 2-grams, plus each word after a negation or in a past-tense clause
    marked as such (negation and tense are what turn a crisis sentence into a harmless one)."""
    grams = word_grams(text)
    for clause in text.lower().split(" . "):
        words = _WORD.findall(clause)
        past = any(w in PAST for w in words)
        negated = False
        for w in words:
            if w in NEGATIONS:
                negated = True
                continue
            if negated:
                grams.append(f"not_{w}")
            if past:
                grams.append(f"past_{w}")
    return grams


def _vectoriser(v: Variant) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_union

    words = (TfidfVectorizer(analyzer=marked_grams, sublinear_tf=True, min_df=WORD_MIN_DF) if v.marks else
             TfidfVectorizer(analyzer="word", ngram_range=WORD_NGRAMS, sublinear_tf=True, min_df=WORD_MIN_DF,
                             token_pattern=TOKEN_PATTERN))
    return make_union(
        TfidfVectorizer(analyzer="char_wb", ngram_range=v.char_ngrams, sublinear_tf=True, min_df=CHAR_MIN_DF,
                        token_pattern=None),
        words,
    )


def _ratio(x: Any, crisis: Any) -> Any:
    """NB log-count ratio of each feature, crisis vs none (presence counts, add-one)."""
    import numpy as np

    present = (x > 0).astype(float)
    p = np.asarray(present[crisis].sum(axis=0)).ravel() + 1.0
    q = np.asarray(present[~crisis].sum(axis=0)).ravel() + 1.0
    return np.log((p / p.sum()) / (q / q.sum()))


def fit_predict(v: Variant, train_texts: Sequence[str], train_labels: Sequence[str],
                train_weights: Sequence[float] | None = None) -> Callable[[Sequence[str]], tuple[list[str], Any, Any]]:
    """Fit the variant; return a function giving, for texts, the labels and P(label) rows and the risk."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    made, made_labels = long_stories(train_texts, train_labels, v.stories, harmless_each=v.stories_harmless,
                                     only=v.stories_only, window=v.stories_window)
    union = _vectoriser(v)
    labels = np.array([*train_labels, *made_labels])
    weights = (None if train_weights is None and v.stories_weight == 1.0 else
               np.array([*(train_weights or [1.0] * len(train_texts)), *([v.stories_weight] * len(made))]))
    crisis = labels != NONE
    with threadpool_limits(limits=1):
        x = union.fit_transform([*train_texts, *made])
        scale = _ratio(x, crisis) if v.nb else None
        xs = x.multiply(scale).tocsr() if scale is not None else x
        weighting = class_weights(labels.tolist(), v.class_boost) if v.class_boost else v.class_weight
        multi = LogisticRegression(C=v.c, solver="lbfgs", max_iter=5000, tol=1e-4, class_weight=weighting)
        multi.fit(xs, labels, sample_weight=weights)
        binary = None
        if v.risk == "binary":
            binary = LogisticRegression(C=v.binary_c or v.c, solver="lbfgs", max_iter=5000, tol=1e-4,
                                        class_weight=v.class_weight)
            binary.fit(xs, crisis)
    classes = [str(c) for c in multi.classes_]
    none = classes.index(NONE)

    def predict(texts: Sequence[str]) -> tuple[list[str], Any, Any]:
        with threadpool_limits(limits=1):
            t = union.transform(list(texts))
            ts = t.multiply(scale).tocsr() if scale is not None else t
            probs = multi.predict_proba(ts)
            risk = binary.predict_proba(ts)[:, 1] if binary is not None else 1.0 - probs[:, none]
        return classes, probs, risk

    return predict


def file_weights(v: Variant) -> dict[str, float]:
    """Each weighted file's messages (those no earlier file of the variant has, as ``read_corpus`` keeps
    them) and their weight."""
    from bot.settings import ROOT

    if not v.weights:
        return {}
    weights, out, seen = dict(v.weights), {}, set()
    for f in v.files:
        for e in read_corpus([ROOT / f]):
            if e.text not in seen and f in weights:
                out[e.text] = weights[f]
            seen.add(e.text)
    return out


def texts_of(files: Sequence[str]) -> set[str]:
    from bot.settings import ROOT

    return {e.text for e in read_corpus([ROOT / f for f in files])}


def scored_only_texts(v: Variant) -> set[str]:
    """The variant's messages that are scored out of fold but never fitted on nor set a threshold on."""
    return texts_of(v.scored_only) - texts_of(v.files) if v.scored_only else set()


def cross_validate(v: Variant, examples: Sequence[Example], rules: CrisisDetector,
                   rule_cache: dict[str, tuple[str | None, bool]]) -> list[Scored]:
    """Out-of-fold verdicts as ``bot.crisis_train.cross_validate`` makes them (same folds, windows, rules);
    ``examples`` are the variant's files and its ``scored_only`` ones, which no fold's fit sees."""
    from sklearn.model_selection import StratifiedKFold

    labels = [e.label for e in examples]
    normalised = [normalise(e.text) for e in examples]
    weight = file_weights(v)
    only = scored_only_texts(v)
    scored: list[Scored | None] = [None] * len(examples)
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for number, (all_train, test) in enumerate(folds.split(labels, labels), start=1):
        print(f"  {v.name} fold {number}/{FOLDS}", file=sys.stderr)
        train = [i for i in all_train if examples[i].text not in only]
        predict = fit_predict(v, [normalised[i] for i in train], [labels[i] for i in train],
                              [weight.get(examples[i].text, 1.0) for i in train] if weight else None)
        parts: list[tuple[int, str]] = []
        for i in test:
            if words_in(normalised[i]) >= MIN_WORDS:
                parts.extend((i, w) for w in windows(normalised[i], v.window))
        classes, probs, risk = predict([w for _i, w in parts]) if parts else ([], [], [])
        best: dict[int, tuple[float, int]] = {}
        for row, (i, _w) in enumerate(parts):
            if i not in best or risk[row] > best[i][0]:
                best[i] = (float(risk[row]), row)
        none = classes.index(NONE) if classes else 0
        for i in test:
            text = examples[i].text
            if text not in rule_cache:
                found = rules.detect(text)
                certain = found is not None and (rules.is_strong(found.rule_id) or words_in(normalised[i]) < MIN_WORDS)
                rule_cache[text] = (found.crisis_class if found else None, certain)
            rule, certain = rule_cache[text]
            if i in best:
                r, row = best[i]
                top = max((k for k in range(len(classes)) if k != none), key=lambda k: probs[row][k])
                name, rk = classes[top], r
            else:
                name, rk = NONE, 0.0
            scored[i] = Scored(examples[i], rule, name, rk, certain)
    return [s for s in scored if s is not None]


def summary(v: Variant, scored: Sequence[Scored], classes: Sequence[str], base: set[str]) -> dict[str, Any]:
    floors = rule_floors(v.rule_floor)
    thresholds, floor = choose(scored, classes, floors)
    result = figures(scored, thresholds, classes, floor)
    unsure = result["classes"]["unsure"]
    per = per_class_thresholds(scored, classes, floor, thresholds)
    per_unsure = figures(scored, per, classes, floor)["classes"]["unsure"]
    # the same messages for every variant (the original training files), thresholds set on them alone:
    # a variant with more (easy) harmless messages must not win by a lower false-alarm share
    on_base = [s for s in scored if s.example.text in base]
    base_thresholds, base_floor = choose(on_base, classes, floors)
    base_per = per_class_thresholds(on_base, classes, base_floor, base_thresholds)
    base_result = figures(on_base, base_thresholds, classes, base_floor)["classes"]["unsure"]
    base_per_result = figures(on_base, base_per, classes, base_floor)["classes"]["unsure"]
    risk = [c for c in classes if c != NONE]
    return {
        "name": v.name, "messages": len(scored), "floor": floor,
        "unsure": next(iter(thresholds.values()))["unsure"],
        "recall": {c: unsure[c]["recall"] for c in risk}, "false_alarms": unsure[NONE]["false_alarms"],
        "worst": min(unsure[c]["recall"] for c in risk),
        "base_recall": {c: base_result[c]["recall"] for c in risk},
        "base_false_alarms": base_result[NONE]["false_alarms"],
        "base_worst": min(base_result[c]["recall"] for c in risk),
        "base_per_class_recall": {c: base_per_result[c]["recall"] for c in risk},
        "base_per_class_false_alarms": base_per_result[NONE]["false_alarms"],
        "base_per_class_worst": min(base_per_result[c]["recall"] for c in risk),
        "right_class": {c: unsure[c]["recall_class"] for c in risk},
        "per_class": {c: per[c]["unsure"] for c in risk},
        "per_class_recall": {c: per_unsure[c]["recall"] for c in risk},
        "per_class_false_alarms": per_unsure[NONE]["false_alarms"],
        "per_class_worst": min(per_unsure[c]["recall"] for c in risk),
    }


def row(s: dict[str, Any]) -> str:
    """One Markdown table row: on the original training messages (the same for every variant), caught
    per class and false alarms with one threshold, and the worst class with per-class thresholds."""
    cells = " | ".join(f"{s['base_recall'][c]:.1%}" for c in sorted(s["base_recall"]))
    return (f"| {s['name']} | {s['messages']} | {cells} | {s['base_false_alarms']:.1%} | **{s['base_worst']:.1%}** "
            f"| {s['base_per_class_worst']:.1%} ({s['base_per_class_false_alarms']:.1%}) "
            f"| {s['worst']:.1%} | {s['per_class_worst']:.1%} |")


# ---------------------------------------------------------------- nested cross-validation


def fold_numbers(scored: Sequence[Scored]) -> list[int]:
    """Each message's fold as ``cross_validate`` made them (the same labels in the same order, the same seed)."""
    from sklearn.model_selection import StratifiedKFold

    labels = [s.example.label for s in scored]
    out = [0] * len(labels)
    for number, (_train, test) in enumerate(StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
                                            .split(labels, labels)):
        for i in test:
            out[i] = number
    return out


def nested(scored: Sequence[Scored], classes: Sequence[str], base: set[str], set_on: str = "all",
           policies: Sequence[ThresholdPolicy] = tuple(THRESHOLD_POLICIES.values()), *,
           measure: set[str] | None = None, part: str = "original", tune: set[str] | None = None,
           exclude: set[str] | None = None, floors: Sequence[float] = RULE_FLOORS) -> dict[str, dict[str, Any]]:
    """Thresholds that hold on unseen folds: for each fold, the rule floor and thresholds are set on the
    other four folds' out-of-fold verdicts (all the variant's messages, or with ``set_on="base"`` only
    the original training messages, or those of ``tune``) and measured on this fold's messages of
    ``measure`` (the original training messages unless given); the verdicts of the five folds are pooled.
    ``exclude``: messages no threshold is set on (a ``scored_only`` file's); ``floors``: the rule floors tried
    (a fixed floor: one). Plain cross-validation sets and measures on the same verdicts, so a threshold that fits
    their noise looks better there than on new messages.
    """
    folds = fold_numbers(scored)
    measure = base if measure is None else measure
    tune = base if tune is None and set_on == "base" else tune
    exclude = exclude or set()
    risk = [c for c in classes if c != NONE]
    verdicts: dict[str, list[tuple[str, bool]]] = {p.name: [] for p in policies}
    chosen: dict[str, list[tuple[float, dict[str, float]]]] = {p.name: [] for p in policies}
    for number in range(FOLDS):
        inner = [s for s, f in zip(scored, folds, strict=True)
                 if f != number and s.example.text not in exclude and (tune is None or s.example.text in tune)]
        outer = [s for s, f in zip(scored, folds, strict=True) if f == number and s.example.text in measure]
        with contextlib.redirect_stderr(io.StringIO()):
            common, floor = choose(inner, classes, floors)
        per = per_class_thresholds(inner, classes, floor, common)
        for policy in policies:
            limits = common if policy.common else shrunk_thresholds(inner, classes, floor, common, per, policy)
            verdicts[policy.name].extend((s.example.label, caught(s, limits, "unsure", floor)) for s in outer)
            chosen[policy.name].append((floor, {c: limits[c]["unsure"] for c in risk}))
    out: dict[str, dict[str, Any]] = {}
    for policy in policies:
        pooled = verdicts[policy.name]
        recall = {c: sum(hit for label, hit in pooled if label == c) / max(1, sum(label == c for label, _ in pooled))
                  for c in risk}
        harmless = [hit for label, hit in pooled if label == NONE]
        out[policy.name] = {
            "policy": policy.name, "set_on": set_on, "part": part, "messages": len(pooled),
            "recall": recall, "false_alarms": sum(harmless) / max(1, len(harmless)),
            "worst": min(recall.values()),
            "floors": [floor for floor, _ in chosen[policy.name]],
            "unsure": {c: [limits[c] for _, limits in chosen[policy.name]] for c in risk},
        }
    return out


#: The lead's rule for shipping a new model (fixed before it is measured on the frozen sets), applied here to
#: nested cross-validation against the shipped model: the worst class rises, no class falls by more than
#: this, and false alarms stay within FALSE_ALARM_LIMIT and at most SHIP_MORE_ALARMS above the shipped model's.
SHIP_MAX_FALL = 0.03
SHIP_MORE_ALARMS = 0.01
#: The shipped model as the experiments name it (variant and threshold policy): the third round's, scoring
#: the older independent sets out of fold (never fitted on) so that it is measured on the same parts as a
#: sixth-round variant that trains on them.
SHIPPED = ("more23-c100-scoreprobes", "halfway")


def ship_rule(candidate: dict[str, Any], shipped: dict[str, Any]) -> str:
    """Would the lead's rule ship this over the shipped model, were nested CV the frozen sets? "yes" or why not."""
    why = []
    if candidate["worst"] <= shipped["worst"]:
        why.append("worst class not higher")
    fell = [c for c in shipped["recall"] if candidate["recall"][c] < shipped["recall"][c] - SHIP_MAX_FALL - 1e-9]
    if fell:
        why.append(", ".join(f"{c} {candidate['recall'][c] - shipped['recall'][c]:+.1%}" for c in fell))
    if candidate["false_alarms"] > min(FALSE_ALARM_LIMIT, shipped["false_alarms"] + SHIP_MORE_ALARMS) + 1e-9:
        why.append(f"false alarms {candidate['false_alarms']:.1%}")
    return "; ".join(why) or "yes"


def nested_row(name: str, n: dict[str, Any], shipped: dict[str, Any] | None = None) -> str:
    """One Markdown row: nested-CV caught per class, false alarms, worst class, how far each class's
    `unsure` moved between the five folds (the widest spread, and whose), and the ship rule."""
    cells = " | ".join(f"{n['recall'][c]:.1%}" for c in sorted(n["recall"]))
    spread = max(n["unsure"], key=lambda c: max(n["unsure"][c]) - min(n["unsure"][c]))
    low, high = min(n["unsure"][spread]), max(n["unsure"][spread])
    rule = f" {ship_rule(n, shipped)} |" if shipped is not None else ""
    return (f"| {name} | {n.get('part', 'original')} | {n['policy']} | {n['set_on']} | {cells} "
            f"| {n['false_alarms']:.1%} | **{n['worst']:.1%}** | {spread} {low:.3f}-{high:.3f} |{rule}")


#: The parts a row is measured on: the original training messages (every round's rows), and since the sixth
#: round the three older independent sets (out of fold: how well the model reads an independent writer's
#: wording when it has seen other such messages, or none, for the shipped data).
PARTS = ("original", "probes")


def shipped_results(verdicts: Sequence[Scored], classes: Sequence[str], base: set[str]) -> dict[str, dict[str, Any]]:
    """The shipped model's nested-CV figures per part (its threshold policy, set on its own training messages)."""
    exclude = scored_only_texts(next(v for v in VARIANTS if v.name == SHIPPED[0]))
    policy = [THRESHOLD_POLICIES[SHIPPED[1]]]
    return {part: nested(verdicts, classes, base, "all", policy, measure=measure, part=part,
                         exclude=exclude)[SHIPPED[1]]
            for part, measure in zip(PARTS, (base, texts_of(PROBES)), strict=True)}


def _report_nested(name: str, scored: Sequence[Scored], classes: Sequence[str], base: set[str],
                   out: Path | None, shipped: dict[str, dict[str, Any]] | None) -> None:
    variant = next((v for v in VARIANTS if v.name == name), None)
    exclude = scored_only_texts(variant) if variant is not None else set()
    floors = rule_floors(variant.rule_floor if variant is not None else None)
    probes = texts_of(PROBES)
    texts = {s.example.text for s in scored}
    settings: list[tuple[str, set[str] | None]] = [("all", None)]
    if texts - base - exclude:
        settings.append(("base", base))
    if variant is not None and set(PROBES) <= set(variant.files) and texts - base - probes:
        settings.append(("base+probes", base | probes))
    parts = [("original", base), *((("probes", probes),) if texts & probes else ())]
    for set_on, tune in settings:
        for part, measure in parts:
            for result in nested(scored, classes, base, set_on, measure=measure, part=part, tune=tune,
                                 exclude=exclude, floors=floors).values():
                print(nested_row(name, result, shipped.get(part) if shipped else None), flush=True)
                if out is not None:
                    with out.open("a", encoding="utf-8") as handle:
                        handle.write(json.dumps({"name": name, "nested": result}, sort_keys=True) + "\n")


def flagged_out_of_fold(scored: Sequence[Scored], classes: Sequence[str], texts: set[str],
                        policy: ThresholdPolicy, floors: Sequence[float] = RULE_FLOORS) -> dict[str, int]:
    """How many of ``texts`` (a candidate file's harmless messages the variant trains on) each fold's
    thresholds, set on the other four folds as ``nested`` sets them, flag: the product's own false-alarm
    symptom measured on training messages, out of fold (so still optimistic: their neighbours were fitted).
    """
    folds = fold_numbers(scored)
    out = {"messages": 0, "unsure": 0, "sure": 0}
    for number in range(FOLDS):
        inner = [s for s, f in zip(scored, folds, strict=True) if f != number]
        with contextlib.redirect_stderr(io.StringIO()):
            common, floor = choose(inner, classes, floors)
        per = per_class_thresholds(inner, classes, floor, common)
        limits = common if policy.common else shrunk_thresholds(inner, classes, floor, common, per, policy)
        for s in (s for s, f in zip(scored, folds, strict=True) if f == number and s.example.text in texts):
            out["messages"] += 1
            out["unsure"] += caught(s, limits, "unsure", floor)
            out["sure"] += caught(s, limits, "sure", floor)
    return out


def _misses(path: Path, scored: Sequence[Scored], classes: Sequence[str]) -> None:
    """What cross-validation got wrong at the chosen thresholds, worst first: where to write data."""
    thresholds, floor = choose(scored, classes)
    wrong = [s for s in scored if (s.example.label == NONE) == caught(s, thresholds, "unsure", floor)]
    wrong.sort(key=lambda s: (s.example.label, s.risk))
    path.write_text("".join(f"{s.example.label}\t{s.risk:.3f}\t{s.model_class}\t{s.rule}\t{s.example.text}\n"
                            for s in wrong), encoding="utf-8")


def _load(path: Path) -> list[Scored]:
    """Out-of-fold verdicts kept by ``--save``, in the variant's message order (so its folds can be made again)."""
    return [Scored(Example(label, lang, text), rule, name, risk, certain)
            for label, lang, text, rule, name, risk, certain in json.loads(path.read_text(encoding="utf-8"))]


def main(argv: Sequence[str] | None = None) -> None:
    from bot.settings import ROOT

    parser = argparse.ArgumentParser(description="cross-validate crisis-model variants on the training files")
    parser.add_argument("names", nargs="*", help="variants to run (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="append each variant's figures (JSON lines)")
    parser.add_argument("--save", type=Path, default=None,
                        help="keep each variant's out-of-fold verdicts here (JSON), to compare policies without refitting")
    parser.add_argument("--load", type=Path, default=None,
                        help="compare kept verdicts (from --save) instead of fitting")
    parser.add_argument("--nested", action="store_true",
                        help="measure the threshold policies by nested cross-validation instead of plain")
    parser.add_argument("--flagged", type=Path, default=None,
                        help="with --load: how many of this file's `none` messages each kept variant that trains on "
                             "it flags out of fold (thresholds of the shipped policy set on the other folds)")
    parser.add_argument("--misses", type=Path, default=None,
                        help="write each variant's missed crisis messages and false alarms (training files only)")
    args = parser.parse_args(argv)
    rules = CrisisDetector.from_yaml_file(ROOT / "flows" / "crisis.yaml")
    classes = [NONE, *sorted(rules.classes)]
    base = {e.text for e in read_corpus([ROOT / f for f in ORIGINAL])}
    cache: dict[str, tuple[str | None, bool]] = {}
    shipped = None
    kept_shipped = (args.load or args.save or Path("-")) / f"{SHIPPED[0]}.json"
    if args.nested and kept_shipped.exists():
        shipped = shipped_results(_load(kept_shipped), classes, base)
    if args.load is not None:
        for path in sorted(args.load.glob("*.json")):
            if args.names and path.stem not in args.names:
                continue
            kept = _load(path)
            variant = next((v for v in VARIANTS if v.name == path.stem), Variant(path.stem))
            if args.flagged is not None:
                harmless = {e.text for e in read_corpus([args.flagged]) if e.label == NONE}
                if any(s.example.text in harmless for s in kept):
                    print(path.stem, flagged_out_of_fold(kept, classes, harmless, THRESHOLD_POLICIES[SHIPPED[1]],
                                                         rule_floors(variant.rule_floor)))
                continue
            if args.nested:
                _report_nested(path.stem, kept, classes, base, args.out, shipped)
                continue
            s = summary(variant, kept, classes, base)
            print(row(s), flush=True)
            if args.out is not None:
                with args.out.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(s, sort_keys=True) + "\n")
        return
    by_name = {v.name: v for v in VARIANTS}
    for v in [by_name[name] for name in args.names] if args.names else VARIANTS:
        assert not any(Path(f).name in FROZEN for f in (*v.files, *v.scored_only)), "never use the frozen sets"
        examples = read_corpus([ROOT / f for f in (*v.files, *v.scored_only)])
        scored = cross_validate(v, examples, rules, cache)
        if args.save is not None:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"{v.name}.json").write_text(json.dumps(
                [[s.example.label, s.example.lang, s.example.text, s.rule, s.model_class, s.risk, s.rule_certain]
                 for s in scored]), encoding="utf-8")
        if args.nested:
            if v.name == SHIPPED[0]:
                shipped = shipped_results(scored, classes, base)
            _report_nested(v.name, scored, classes, base, args.out, shipped)
            continue
        s = summary(v, scored, classes, base)
        if args.misses is not None:
            _misses(args.misses.with_suffix(f".{v.name}.tsv"), scored, classes)
        print(row(s), flush=True)
        if args.out is not None:
            with args.out.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(s, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
