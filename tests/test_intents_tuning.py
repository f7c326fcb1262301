"""How typed text at the menu does on the questions the word lists are tuned on, per route.

Why a test that prints: moderators tune locales/*/intents.yaml on these two files, never on
the frozen sets of tests/test_intents_measured.py. `typed_tuning.tsv` (300, another writer)
knows only the first routes; `typed_tuning_v2.tsv` (522, chat register: typos, no diacritics,
Dutch and English mixed) covers every route of the main menu, also divorce, placement, young
person, relative, foster parent and `none` (no button). Run with `-s` to see where to work:
per route top-1 (the first button is the route) and offered (one of the buttons is; for
`none`: no button at all). The floors only catch a list that got much worse.
"""

from __future__ import annotations

import csv
import functools
from collections import Counter
from pathlib import Path

import pytest

from bot.app import load_flows
from bot.intents import NONE, IntentMatcher
from bot.settings import Settings

DATA = Path(__file__).parent / "data" / "typed"
#: file -> (top-1, offered) floors over all its questions, a little under what they score now
FLOORS = {"typed_tuning.tsv": (0.80, 0.93), "typed_tuning_v2.tsv": (0.90, 0.95)}


@functools.cache
def matcher() -> IntentMatcher:
    """The running bot's matcher: every language's word lists (FlowSet.intents)."""
    return load_flows(Settings()).intents()


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_tuning_questions_per_route(name: str) -> None:
    rows = list(csv.DictReader((DATA / name).open(encoding="utf-8"), delimiter="\t"))
    assert {r["lang"] for r in rows} == {"nl", "en"}
    total, top1, offered = Counter[str](), Counter[str](), Counter[str]()
    for row in rows:
        routes = [g.route for g in matcher().match(row["text"])]
        expected = row["route"]
        total[expected] += 1
        top1[expected] += routes[:1] == [expected] or (expected == NONE and not routes)
        offered[expected] += expected in routes or (expected == NONE and not routes)
    print(f"\n{name} ({len(rows)}, tuned on): route, top-1, offered (one of the buttons)")
    for route in sorted(total):
        print(f"  {route:10s} {top1[route] / total[route]:5.0%} {offered[route] / total[route]:5.0%}  n={total[route]}")
    overall = (sum(top1.values()) / len(rows), sum(offered.values()) / len(rows))
    print(f"  {'all':10s} {overall[0]:5.0%} {overall[1]:5.0%}")
    assert overall[0] >= FLOORS[name][0] and overall[1] >= FLOORS[name][1]
