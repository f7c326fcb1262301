"""How typed text at the menu does on the questions the word lists are tuned on, per route.

Why a test that prints: moderators tune locales/*/intents.yaml on these two files, never on
the frozen sets of tests/test_intents_measured.py. `typed_tuning.tsv` (300, another writer)
knows only the first routes; `typed_tuning_v2.tsv` (551, chat register: typos, no diacritics,
Dutch and English mixed) covers every route of the main menu, also divorce, placement, young
person, relative, foster parent and `none` (no button). Run with `-s` to see where to work:
per route top-1 (the first button is the route) and offered (one of the buttons is; for
`none`: no button at all). The floors only catch a list that got much worse.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_intents_measured import measure

DATA = Path(__file__).parent / "data" / "typed"
#: file -> (top-1, offered) floors over all its questions, a little under what they score now
FLOORS = {"typed_tuning.tsv": (0.80, 0.93), "typed_tuning_v2.tsv": (0.92, 0.97)}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_tuning_questions_per_route(name: str) -> None:
    total, top1, offered = measure(DATA / name, what="tuned on")
    assert sum(top1.values()) / total.total() >= FLOORS[name][0]
    assert sum(offered.values()) / total.total() >= FLOORS[name][1]
