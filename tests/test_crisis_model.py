"""The crisis model: rebuilt byte for byte, scored without scikit-learn, measured on the frozen held-out set.

The held-out file (tests/data/crisis/heldout.tsv) was split off by a hash of each message
before anything was tuned, and nothing is tuned on it: thresholds come from 5-fold
cross-validation on the training files (bot.crisis_train). Its figures, and the
cross-validated ones stored in the model, are printed at the end of the test run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.crisis import CrisisDetector, normalise
from bot.crisis_model import MODEL_PATH, SCALE, CrisisModel, char_grams, windows, word_grams
from bot.crisis_train import (
    HELDOUT_FILE,
    TRAIN_FILES,
    artefact,
    evaluate,
    export,
    fit,
    long_stories,
    read_corpus,
    table,
    train,
)
from bot.flows.loader import FlowSetInvalid, load_flowset
from tests.conftest import PYTHON, REPO, TODAY, bot_env

FLOWS = REPO / "flows"
MODEL = FLOWS / MODEL_PATH
HELDOUT = REPO / HELDOUT_FILE
RISK_CLASSES = ("child_danger", "domestic_violence", "harm_intent", "professional_threatened", "suicide", "threatened")
#: The issue's limit for false alarms on the held-out part (its 95 % recall bar is not met: docs/CRISIS.md).
FALSE_ALARM_BAR = 0.05
#: What the committed model reached on held-out (rounded down), as a floor against regressions.
HELD_OUT_FLOOR = {"child_danger": 0.86, "domestic_violence": 0.97, "harm_intent": 0.73,
                  "professional_threatened": 0.76, "suicide": 0.7, "threatened": 0.81}
HELD_OUT_FALSE_ALARMS = FALSE_ALARM_BAR


@pytest.fixture(scope="module")
def detector() -> CrisisDetector:
    fs = load_flowset(FLOWS, REPO / "locales", root=REPO, today=TODAY)
    assert fs.crisis is not None and fs.crisis.model is not None
    found: CrisisDetector = fs.crisis
    return found


# ---------------------------------------------------------------- the artefact


#: How many stored weights may sit one unit (1/SCALE) apart between two builds on different CPUs.
ROUNDING_EDGE_WEIGHTS = 20


def rounding_differences(built: dict[str, Any], shipped: dict[str, Any]) -> list[str]:
    """The weights in which two builds differ by one unit, or an AssertionError for any other difference.

    The fit is the same on every machine, but BLAS and NumPy pick their SIMD kernels by CPU, so sums are
    added in another order and a weight that lies right at a rounding edge (x.5 / SCALE) can be
    stored one unit higher or lower (seen once: `on monday` 266 on the machine that built it, 265 on an AMD
    EPYC). Everything else (terms, document counts, thresholds, rule floor, figures) must be identical.
    """
    # explicit raises, not `assert`: pytest would diff 82,306 terms to explain a failed comparison (minutes under CI)
    if built.keys() != shipped.keys():
        raise AssertionError("the model's fields differ")
    for key in built.keys() - {"chars", "words"}:
        if built[key] != shipped[key]:
            raise AssertionError(f"`{key}` differs: retrain and commit")
    edges = []
    for section in ("chars", "words"):
        if built[section].keys() != shipped[section].keys():
            raise AssertionError(f"the {section} n-grams differ: retrain and commit")
        for term, row in built[section].items():
            other = shipped[section][term]
            if row == other:
                continue
            if len(row) != len(other) or row[0] != other[0] or any(abs(a - b) > 1 for a, b in zip(row[1:], other[1:])):
                raise AssertionError(f"{section} `{term}`: {row} against {other}: retrain and commit")
            edges.append(f"{section} `{term}`")
    return edges


def test_a_weight_one_unit_apart_is_a_rounding_edge_and_anything_more_is_not() -> None:
    shipped = json.loads(MODEL.read_text(encoding="utf-8"))
    assert rounding_differences(shipped, shipped) == []
    term, row = next(iter(shipped["words"].items()))
    edged = {**shipped, "words": {**shipped["words"], term: [*row[:-1], row[-1] + 1]}}
    assert rounding_differences(edged, shipped) == [f"words `{term}`"]
    for changed in ({**shipped, "words": {**shipped["words"], term: [*row[:-1], row[-1] + 2]}},
                    {**shipped, "rule_floor": 0.7},
                    {**shipped, "words": {k: v for k, v in shipped["words"].items() if k != term}}):
        with pytest.raises(AssertionError):
            rounding_differences(changed, shipped)


@pytest.mark.timeout(1800)
def test_train_rebuilds_the_shipped_model_byte_for_byte(tmp_path: Path, crisis_report: list[str]) -> None:
    """Byte for byte on the CPU it was built on; elsewhere at most a few weights one unit apart (`rounding_differences`)."""
    out = tmp_path / "model.json"
    text, _cv = train(REPO, FLOWS, out, card=False)
    assert len(text.encode()) <= 5_000_000
    if out.read_bytes() == MODEL.read_bytes():
        return
    edges = rounding_differences(json.loads(out.read_text(encoding="utf-8")), json.loads(MODEL.read_text(encoding="utf-8")))
    crisis_report.append(f"rebuilt model: not byte for byte on this CPU, {len(edges)} weight(s) one unit apart at a "
                         f"rounding edge: {', '.join(edges[:5])}")
    assert len(edges) <= ROUNDING_EDGE_WEIGHTS, (
        f"{len(edges)} weights differ by one unit: more than a CPU's rounding explains; retrain and commit")


def test_the_model_was_trained_on_the_files_in_the_repo() -> None:
    data = json.loads(MODEL.read_text(encoding="utf-8"))
    assert sorted(data["trained_on"]) == sorted(f for f in TRAIN_FILES if (REPO / f).exists())
    assert HELDOUT_FILE not in data["trained_on"]
    assert MODEL.stat().st_size <= 5_000_000


def test_training_and_held_out_messages_do_not_overlap(crisis_report: list[str]) -> None:
    assert HELDOUT.exists(), f"{HELDOUT_FILE} is missing"
    training = read_corpus([REPO / f for f in TRAIN_FILES if (REPO / f).exists()])
    held = read_corpus([HELDOUT])
    assert not {e.text for e in training} & {e.text for e in held}
    # the same words with other emoji or punctuation look the same to the detector: say how many
    alike = {normalise(e.text) for e in training} & {normalise(e.text) for e in held}
    crisis_report.append(f"held-out messages that read the same as a training message once normalised: {len(alike)}")


def test_the_running_bot_scores_without_scikit_learn_or_numpy() -> None:
    script = (
        "import sys\n"
        "from bot.app import load_flows\n"
        "from bot.settings import Settings\n"
        "fs = load_flows(Settings())\n"
        "assert fs.crisis.model is not None\n"
        "fs.crisis.assess('ik wil niet meer leven')\n"
        "fs.crisis.assess('de voogd reageert niet op mijn mails')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'numpy', 'scipy')))\n"
    )
    done = subprocess.run([PYTHON, "-c", script], cwd=REPO, env=bot_env(), capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_long_texts_are_read_in_windows() -> None:
    long = normalise("de voogd belt niet terug. " * 60 + "ik neem vannacht al mijn pillen")
    parts = windows(long)
    assert parts[0] == long[:4000] and len(parts) > 2
    assert any("pillen" in part for part in parts[1:])
    assert all(len(part) <= 300 for part in parts[1:])


def test_made_up_long_messages_come_from_the_given_messages_only() -> None:
    """The fifth round's long stories (not trained on today: docs/CRISIS.md) are built inside a fit
    from that fit's messages (a fold's, never another's), the same every time: a harmless story with
    one of the given short messages in its middle, labelled as that message."""
    story = ("we hebben gisteren weer een gesprek gehad met de voogd over de omgang en het ging eigenlijk best "
             "goed . ze luisterde en we hebben afspraken gemaakt over de vakantie en de verjaardag van mijn "
             "dochter . ik hoop dat het zo blijft")
    texts = [story, "ik wil er niet meer zijn vannacht", "ik heb de pillen al klaargelegd",
             "waar moet ik dit formulier heen sturen"]
    labels = ["none", "suicide", "suicide", "none"]
    made, made_labels = long_stories(texts, labels, 3)
    assert (made, made_labels) == long_stories(texts, labels, 3)
    assert made_labels == ["suicide", "none"] * 3
    head, tail = story[: story.find(" ", len(story) // 2)], story[story.find(" ", len(story) // 2) + 1:]
    for text, label in zip(made, made_labels, strict=True):
        middle = text.removeprefix(f"{head} . ").removesuffix(f" . {tail}")
        assert middle in texts and labels[texts.index(middle)] == label
    assert long_stories(texts, ["none", "suicide", "suicide", "suicide"], 3) == ([], [])  # no short harmless one


#: Texts the scorer must get right beyond the corpus: empty, one letter, short words, digits,
#: repeated n-grams (sublinear tf), words outside the vocabulary, non-ASCII left by a caller.
ODD_TEXTS = ("", "a", "ik", "a b c d", "ja ja ja ja ja ja ja", "112 112 bel 112", "qqqq zzzz xxxx",
             "pilllen pillen pillen . nu", "Ik  WIL\tdood", "é ü ß ﬁ", "x" * 500)


@pytest.fixture(scope="module")
def fitted_model() -> tuple[Any, CrisisModel, list[str]]:
    """The sklearn pipeline fitted on the training corpus, the pure-Python model made from its
    export, and a few hundred texts to compare them on (training messages, cut and reordered
    ones the model never saw whole, and odd ones)."""
    examples = read_corpus([REPO / f for f in TRAIN_FILES if (REPO / f).exists()])
    texts = [normalise(e.text) for e in examples]
    fitted = fit(texts, [e.label for e in examples])
    part = export(fitted)
    thresholds = {c: {"sure": 1.0, "unsure": 1.0} for c in part["labels"] if c != "none"}
    model = CrisisModel.from_data(artefact(part["labels"], part, thresholds, {}))
    # sklearn scores with the weights as exported (pruned, rounded): the comparison is of the scoring
    import numpy as np
    regression = fitted.pipeline[-1]
    columns = [row for section in ("chars", "words") for row in part[section].values()]
    regression.coef_ = np.array([row[1:] if len(row) > 1 else [0] * len(part["labels"]) for row in columns],
                                dtype=float).T / SCALE
    regression.intercept_ = np.array(part["bias"], dtype=float) / SCALE
    sample = texts[::12]
    sample += [" ".join(reversed(t.split()))[: len(t) // 2] for t in texts[5::40]]
    sample += [normalise(t) for t in ODD_TEXTS] + list(ODD_TEXTS)
    return fitted.pipeline, model, sample


def test_pure_python_probabilities_are_scikit_learns(fitted_model: tuple[Any, CrisisModel, list[str]]) -> None:
    pipeline, model, sample = fitted_model
    assert len(sample) >= 300
    expected = pipeline.predict_proba(sample)
    assert [str(c) for c in pipeline[-1].classes_] == list(model.labels)
    worst = max(abs(p - q) for text, row in zip(sample, expected, strict=True)
                for p, q in zip(model.probabilities(text), row, strict=True))
    assert worst < 1e-9


def test_the_n_grams_are_scikit_learns(fitted_model: tuple[Any, CrisisModel, list[str]]) -> None:
    pipeline, _model, sample = fitted_model
    chars, words = (vectoriser.build_analyzer() for _name, vectoriser in pipeline[0].transformer_list)
    for text in sample:
        # the slices that span two words (two spaces in a row) are in no vocabulary: see char_grams
        assert Counter(g for g in char_grams(text) if "  " not in g) == Counter(chars(text)), text
        assert Counter(word_grams(text)) == Counter(words(text)), text


def test_the_check_cost_is_measured(detector: CrisisDetector, crisis_report: list[str]) -> None:
    """Printed, not asserted (a machine's speed is no test): rules and model, per training message."""
    examples = read_corpus([REPO / f for f in TRAIN_FILES if (REPO / f).exists()])
    costs = []
    for example in examples[::4]:
        start = time.perf_counter()
        detector.assess(example.text)
        costs.append(time.perf_counter() - start)
    costs.sort()
    crisis_report.append(f"crisis check cost per message (rules + model, {len(costs)} training messages): "
                         f"median {costs[len(costs) // 2] * 1e6:.0f} us, p99 {costs[int(len(costs) * 0.99)] * 1e6:.0f} us; "
                         f"model file {MODEL.stat().st_size / 1e6:.2f} MB")


# ---------------------------------------------------------------- check and reload


def _copy(tmp_path: Path) -> tuple[Path, Path]:
    flows, locales = tmp_path / "flows", tmp_path / "locales"
    shutil.copytree(FLOWS, flows)
    shutil.copytree(REPO / "locales", locales)
    return flows, locales


def test_check_names_a_missing_model(tmp_path: Path) -> None:
    flows, locales = _copy(tmp_path)
    (flows / MODEL_PATH).unlink()
    with pytest.raises(FlowSetInvalid) as caught:
        load_flowset(flows, locales, root=tmp_path, today=TODAY)
    [problem] = [p for p in caught.value.problems if p.kind == "crisis-model"]
    assert "does not exist" in problem.message and "crisis train" in problem.fix
    assert problem.where.file == "flows/crisis.yaml"


@pytest.mark.parametrize(("change", "says"), [
    (lambda d: d.update(labels=["none", "suicide"], classes=["suicide"]), "flows/crisis.yaml has"),
    (lambda d: d.update(format="other/1"), "unknown format"),
    (lambda d: d["thresholds"]["suicide"].update(unsure=2), "thresholds.suicide"),
    (lambda d: d["words"].update({"x": [1, 2]}), "words term 'x'"),
])
def test_check_names_a_model_of_the_wrong_shape(tmp_path: Path, change, says: str) -> None:
    flows, locales = _copy(tmp_path)
    data = json.loads((flows / MODEL_PATH).read_text(encoding="utf-8"))
    change(data)
    (flows / MODEL_PATH).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(FlowSetInvalid) as caught:
        load_flowset(flows, locales, root=tmp_path, today=TODAY)
    assert any(p.kind == "crisis-model" and says in p.message for p in caught.value.problems)


def test_a_new_model_changes_the_flow_set_version(tmp_path: Path) -> None:
    flows, locales = _copy(tmp_path)
    before = load_flowset(flows, locales, root=tmp_path, today=TODAY).version
    data = json.loads((flows / MODEL_PATH).read_text(encoding="utf-8"))
    data["bias"][0] -= 1
    (flows / MODEL_PATH).write_text(json.dumps(data), encoding="utf-8")
    assert load_flowset(flows, locales, root=tmp_path, today=TODAY).version != before


def test_a_model_from_plain_data_scores() -> None:
    model = CrisisModel.from_file(MODEL)
    verdict = model.assess(normalise("ik neem vannacht al mijn pillen in, niemand gaat me missen"))
    assert verdict.crisis_class == "suicide" and verdict.tier in ("sure", "unsure")
    assert model.assess("").tier == "none"


# ---------------------------------------------------------------- the figures


def test_cross_validated_figures_are_in_the_model(crisis_report: list[str]) -> None:
    data = json.loads(MODEL.read_text(encoding="utf-8"))
    crisis_report.extend(["", table(data["cv"], "5-fold cross-validation on the training corpus (from the model)")])
    unsure = data["cv"]["classes"]["unsure"]
    assert set(unsure) == {*RISK_CLASSES, "none"}


def _held_out(detector: CrisisDetector, crisis_report: list[str]) -> dict[str, Any]:
    assert HELDOUT.exists(), f"{HELDOUT_FILE} is missing: the figures cannot be measured"
    result = evaluate(detector, read_corpus([HELDOUT]))
    crisis_report.extend(["", table(result, f"held-out {HELDOUT_FILE}, never trained or tuned on"),
                          "(caught: sure or unsure, any class; right class: the class's own help line first)"])
    return result


def test_held_out_figures_do_not_fall_below_the_shipped_model(detector: CrisisDetector,
                                                            crisis_report: list[str]) -> None:
    """A regression guard: what the committed model reached on held-out when it was committed."""
    unsure = _held_out(detector, crisis_report)["classes"]["unsure"]
    low = {name: unsure[name]["recall"] for name, floor in HELD_OUT_FLOOR.items() if unsure[name]["recall"] < floor}
    assert not low, f"held-out recall fell below the shipped model's: {low}"
    assert unsure["none"]["false_alarms"] <= HELD_OUT_FALSE_ALARMS


#: The independent sets (tests/data/crisis/README.md), each by a writer who never saw the corpus or the model: the
#: closest to "sets never seen". `probe.tsv` by a fourth writer; `probe2.tsv` to `probe8.tsv` (2026-12-07) by
#: writers who saw nothing of the project but a brief with the label definitions, each outside the repository until
#: a round was decided (docs/CRISIS.md). Their figures are reported, not reached: the floors are what the shipped
#: model reached (rounded down), so a change that does worse on wording nobody tuned on fails. False alarms on the
#: second set are above the 5 % bar (5.7 %). The first three were used to choose the sixth round's candidate (nested
#: cross-validation trains on them): their figures are no longer test results, and their floors only guard the shipped
#: model, which was trained without them, until a model trained on them ships.
INDEPENDENT: dict[str, tuple[str, dict[str, float], float]] = {
    "probe": ("older independent set tests/data/crisis/probe.tsv, used to choose in the sixth round: not a test set",
              {"child_danger": 0.93, "domestic_violence": 0.84, "harm_intent": 0.81,
               "professional_threatened": 0.94, "suicide": 0.78, "threatened": 0.97}, FALSE_ALARM_BAR),
    "probe2": ("older independent set tests/data/crisis/probe2.tsv, used to choose in the sixth round: not a "
               "test set; the 5 % false-alarm bar is not met here",
               {"child_danger": 0.89, "domestic_violence": 0.91, "harm_intent": 0.69,
                "professional_threatened": 0.9, "suicide": 0.88, "threatened": 0.93}, 0.058),
    "probe3": ("older independent set tests/data/crisis/probe3.tsv, used to choose in the sixth round: not a test set",
               {"child_danger": 0.96, "domestic_violence": 0.97, "harm_intent": 0.85,
                "professional_threatened": 0.95, "suicide": 0.89, "threatened": 0.78}, FALSE_ALARM_BAR),
    "probe4": ("fourth independent set tests/data/crisis/probe4.tsv, never trained or tuned on",
               {"child_danger": 0.96, "domestic_violence": 0.95, "harm_intent": 0.88,
                "professional_threatened": 0.86, "suicide": 0.87, "threatened": 0.92}, FALSE_ALARM_BAR),
    "probe5": ("fifth independent set tests/data/crisis/probe5.tsv, never trained or tuned on",
               {"child_danger": 0.96, "domestic_violence": 0.95, "harm_intent": 0.85,
                "professional_threatened": 0.93, "suicide": 0.91, "threatened": 0.92}, FALSE_ALARM_BAR),
    "probe6": ("sixth independent set tests/data/crisis/probe6.tsv, never trained or tuned on",
               {"child_danger": 0.96, "domestic_violence": 0.85, "harm_intent": 0.75,
                "professional_threatened": 0.93, "suicide": 0.81, "threatened": 0.87}, FALSE_ALARM_BAR),
    "probe7": ("seventh independent set tests/data/crisis/probe7.tsv, never trained or tuned on",
               {"child_danger": 0.92, "domestic_violence": 0.79, "harm_intent": 0.79,
                "professional_threatened": 0.87, "suicide": 0.75, "threatened": 0.85}, FALSE_ALARM_BAR),
    "probe8": ("eighth independent set tests/data/crisis/probe8.tsv, never trained or tuned on",
               {"child_danger": 0.9, "domestic_violence": 0.85, "harm_intent": 0.77,
                "professional_threatened": 0.81, "suicide": 0.83, "threatened": 0.9}, FALSE_ALARM_BAR),
}


@pytest.mark.parametrize("name", list(INDEPENDENT))
def test_each_independent_set_is_measured_and_does_not_fall_below_the_shipped_model(
        detector: CrisisDetector, crisis_report: list[str], name: str) -> None:
    title, floors, false_alarms = INDEPENDENT[name]
    result = evaluate(detector, read_corpus([REPO / "tests" / "data" / "crisis" / f"{name}.tsv"]))
    crisis_report.extend(["", table(result, title)])
    unsure = result["classes"]["unsure"]
    low = {label: unsure[label]["recall"] for label, floor in floors.items() if unsure[label]["recall"] < floor}
    assert not low, f"recall on {name}.tsv fell below the shipped model's: {low}"
    assert unsure["none"]["false_alarms"] <= false_alarms
