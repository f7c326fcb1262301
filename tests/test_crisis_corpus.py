"""The crisis corpus is what every recognition figure is measured on: its held-out part must
stay frozen (tests/data/crisis/README.md), or a figure on it means nothing."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import REPO

CORPUS = REPO / "tests" / "data" / "crisis"
LABELS = {"suicide", "harm_intent", "child_danger", "domestic_violence", "professional_threatened", "threatened",
          "none"}


def read(path: Path) -> list[tuple[str, str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "label\tlang\ttext", path
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        parts = line.split("\t")
        assert len(parts) == 3, f"{path.name}:{number}: three fields expected"
        label, lang, text = parts
        assert label in LABELS and lang in {"nl", "en"} and text.strip(), f"{path.name}:{number}"
        rows.append((label, lang, text))
    return rows


def key(text: str) -> str:
    return " ".join(text.casefold().split())


def held_out(text: str) -> bool:
    return int(hashlib.sha256(key(text).encode()).hexdigest()[:8], 16) % 5 == 0


def test_the_held_out_part_is_exactly_the_hashed_fifth_and_shares_nothing_with_training():
    train, heldout = read(CORPUS / "train.tsv"), read(CORPUS / "heldout.tsv")
    assert all(held_out(text) for _, _, text in heldout)
    assert not any(held_out(text) for _, _, text in train)
    older = {key(text) for _, _, text in read(REPO / "tests" / "data" / "crisis_labelled.tsv")}
    texts = [key(text) for _, _, text in train + heldout]
    assert len(texts) == len(set(texts)), "a message is in the corpus twice"
    assert not older & set(texts), "a message of the older rule set is in the new corpus"


def test_the_corpus_is_large_enough_and_covers_every_class_in_both_languages():
    rows = read(CORPUS / "train.tsv") + read(CORPUS / "heldout.tsv")
    assert len(rows) >= 3000 - 5  # 3,000 written, a few duplicates removed
    by_class = Counter((label, lang) for label, lang, _ in rows)
    for label in LABELS:
        for lang in ("nl", "en"):
            assert by_class[(label, lang)] >= 40, (label, lang)
    held = Counter(label for label, _, _ in read(CORPUS / "heldout.tsv"))
    for label in LABELS:
        assert held[label] >= 30, label  # enough held-out messages per class for a figure to mean something


#: Files written after the split (training only, or candidates for it), and how many messages each has at least.
ADDED = {"train_more.tsv": 900, "candidates/train_more2.tsv": 840, "candidates/train_more3.tsv": 400,
         "candidates/train_more4.tsv": 800, "candidates/train_more5.tsv": 595,
         "candidates/train_more6.tsv": 450, "candidates/train_more7.tsv": 480, "candidates/train_more8.tsv": 860}


@pytest.mark.parametrize("name", sorted(ADDED))
def test_the_added_training_messages_are_well_formed_and_none_is_a_test_message(name: str):
    """Files written after the split (train_more.tsv and candidates/train_more2.tsv: indirect suicide and harm
    wording, hard negatives; candidates/train_more3.tsv: everyday annoyances and property damage as hard
    negatives, more indirect wording) are for training only, so none of their messages may read the same as a
    held-out or independent one, nor as a message of another training file."""
    from bot.crisis import normalise

    more = read(CORPUS / name)
    assert len(more) >= ADDED[name]
    frozen_sets = ("heldout", "probe", "probe2", "probe3", "probe4", "probe5", "probe6", "probe7", "probe8")
    tested = [row for frozen in frozen_sets for row in read(CORPUS / f"{frozen}.tsv")]
    for same in (key, normalise):
        assert not {same(text) for _, _, text in more} & {same(text) for _, _, text in tested}
    others = [CORPUS / "train.tsv", REPO / "tests" / "data" / "crisis_labelled.tsv",
              *(CORPUS / other for other in ADDED if other != name)]
    trained = [row for path in others for row in read(path)]
    texts = [key(text) for _, _, text in more]
    assert len(texts) == len(set(texts)) and not set(texts) & {key(text) for _, _, text in trained}
