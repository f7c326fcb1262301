"""Build train_more7.tsv from more7/<label>.txt (one message a line, "nl " or "en " first).

Why a script: the label files are easy to read and edit per class, while the TSV the crisis model trains on
must be one deterministic shuffle (fixed seed), so re-running it gives the same file byte for byte."""

from __future__ import annotations

import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABELS = ("suicide", "harm_intent", "child_danger", "domestic_violence", "professional_threatened", "threatened",
          "none")
SEED = 7


def rows() -> list[tuple[str, str, str]]:
    """Every message with its label and language; a line break inside a message is written as ' / '."""
    found = []
    for label in LABELS:
        for line in (HERE / "more7" / f"{label}.txt").read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            lang, text = line.split(" ", 1)
            assert lang in {"nl", "en"}, line
            text = " / ".join(part.strip() for part in text.replace("\t", " ").splitlines())
            found.append((label, lang, text.strip()))
    keys = [" ".join(text.casefold().split()) for _, _, text in found]
    assert len(keys) == len(set(keys)), "a message is written twice"
    return found


def main() -> None:
    found = sorted(rows())
    random.Random(SEED).shuffle(found)
    lines = ["label\tlang\ttext", *("\t".join(row) for row in found)]
    (HERE / "train_more7.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
