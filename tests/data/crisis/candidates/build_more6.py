"""Build `train_more6.tsv` from the parts in `more6/`: `python tests/data/crisis/candidates/build_more6.py`.

Why parts and not whole messages: the detector misses danger said in one sentence inside a long complaint
story, and a model shown such stories learns the story as easily as the sentence. So every dangerous sentence
(`more6/<label>.tsv`, column `danger`) has a harmless twin (`safe`) that is about the same thing, and both are
put into the same story (`frames.txt`, at `{X}`), with the same greeting, closing words, extra complaints
(`fillers.tsv`) and chat style: the two messages differ only in that sentence. `none.tsv` adds harmless
sentences that read like danger (a past that is over, a quoted question, an idiom) without a twin.
A sentence goes into a story that fits it (its tag: a child in care, an ex, a daughter, a worker's own story)
and that has been used least so far, so every story carries about as many dangers as twins.
Everything random comes from the fixed seed (and, for noise, from the text itself), so a rerun writes the
same file byte for byte.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTS = HERE / "more6"
OUT = HERE / "train_more6.tsv"
SEED = 6
LABELS = ("suicide", "harm_intent", "child_danger", "domestic_violence", "professional_threatened", "threatened")

#: Chat-register misspellings, used on some words of some messages (the same in a danger and its twin).
TYPOS = {
    "nl": {"niet": "nie", "gewoon": "gwn", "echt": "egt", "maar": "mar", "eigenlijk": "eigelijk", "dat": "da",
           "kinderen": "kids", "alleen": "allen", "even": "ff", "zeggen": "zegge", "helemaal": "heelmaal",
           "misschien": "mischien", "mijn": "mn"},
    "en": {"you": "u", "because": "cuz", "don't": "dont", "i'm": "im", "really": "rly", "can't": "cant",
           "it's": "its", "about": "abt", "people": "ppl", "though": "tho", "i've": "ive", "doesn't": "doesnt",
           "what": "wat", "know": "kno"},
}


@dataclass
class Story:
    lang: str
    accepts: set[str]
    text: str
    used: int = 0


def rows(name: str) -> list[dict[str, str]]:
    lines = (PARTS / name).read_text(encoding="utf-8").splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, line.split("\t"), strict=True)) for line in lines[1:] if line.strip()]


def stories() -> list[Story]:
    lines = [line for line in (PARTS / "frames.txt").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    found = []
    for head, text in zip(lines[::2], lines[1::2], strict=True):
        _, lang, accepts = head.split()
        assert text.count("{X}") == 1, text
        found.append(Story(lang, set(accepts.split(",")), text))
    return found


def typos(text: str, lang: str, rate: float) -> str:
    """Misspell some words; seeded by the text, so a part reads the same in both twins."""
    rng = random.Random(f"{SEED}:{rate}:{text}")
    return " ".join(TYPOS[lang][word] if word in TYPOS[lang] and rng.random() < rate else word
                    for word in text.split(" "))


def main() -> None:
    rng = random.Random(SEED)
    frames = stories()
    fillers = rows("fillers.tsv")
    wrappers = rows("wrappers.tsv")
    items: list[tuple[str, str, str, str, str]] = []  # label, lang, tag, sentence, harmless twin ("": none)
    for label in LABELS:
        items += [(label, row["lang"], row["tag"], row["danger"], row["safe"]) for row in rows(f"{label}.tsv")]
    items += [("none", row["lang"], row["tag"], row["text"], "") for row in rows("none.tsv")]

    def fitting(lang: str, tag: str) -> list[Story]:
        return [story for story in frames if story.lang == lang and tag in story.accepts]

    # Sentences that fit few stories first, so they are not left with a story already used often.
    items.sort(key=lambda item: len(fitting(item[1], item[2])))
    out: list[tuple[str, str, str]] = []
    for label, lang, tag, sentence, twin in items:
        fit = fitting(lang, tag)
        assert fit, (tag, sentence)
        story = rng.choice([s for s in fit if s.used == min(s.used for s in fit)])
        story.used += 1
        before, after = story.text.split("{X}")
        own = [f["text"] for f in fillers if f["lang"] == lang]
        extra = [] if "worker" in story.accepts else rng.sample(own, rng.choice((0, 0, 1, 1, 2, 3, 4, 6)))
        split = rng.randint(0, len(extra))  # extra complaints before and after the sentence
        opener = rng.choice([w["text"] for w in wrappers if w["lang"] == lang and w["kind"] == "opener"] + [""] * 4)
        closer = rng.choice([w["text"] for w in wrappers if w["lang"] == lang and w["kind"] == "closer"] + [""] * 5)
        style = rng.choice(("plain", "plain", "runon", "slashes"))
        rate = rng.choice((0.0, 0.0, 0.1, 0.25))
        slashes = [rng.random() < 0.5 for _ in range(8)]

        def message(middle: str) -> str:
            parts = [typos(part.strip(), lang, rate) for part in (opener, before, *extra[:split], middle,
                                                                    *extra[split:], after, closer)
                     if part.strip()]
            text = parts[0]
            for part, slash in zip(parts[1:], slashes, strict=False):
                if style == "slashes" and slash and not part.startswith("/") and not text.endswith("/"):
                    text = text.rstrip(".,") + " / " + part
                else:
                    text += " " + part
            if style == "runon":  # dictated: no full stops, one long breath
                text = re.sub(r"\.(\s)", r"\1", text)
            return re.sub(r"\s+", " ", text).strip()

        out.append((label, lang, message(sentence)))
        if twin:
            out.append(("none", lang, message(twin)))
    rng.shuffle(out)
    texts = [text for _, _, text in out]
    assert len(texts) == len(set(texts)), "two messages read the same"
    OUT.write_text("label\tlang\ttext\n" + "".join(f"{a}\t{b}\t{c}\n" for a, b, c in out), encoding="utf-8")
    lengths = Counter("<300" if len(t) < 300 else "300-1500" if len(t) <= 1500 else ">1500" for t in texts)
    print(len(out), Counter(label for label, _, _ in out), Counter(lang for _, lang, _ in out), lengths)
    print("story uses", sorted(story.used for story in frames))


if __name__ == "__main__":
    main()
