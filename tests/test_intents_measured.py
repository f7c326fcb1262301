"""How often typed text at the menu finds the route a person meant, on questions the word lists never saw.

Two frozen sets, each written by someone who never saw the word lists. The second
(`typed_questions_v2.tsv`, 310 questions, written 2026-12-06 by another writer) knows every route
of today, including divorce, placement, young person, relative and foster parent; it was frozen
(SHA-256 pinned below) and measured once before any tuning for it began (77 % top-1, 86 % offered). The word lists were then
tuned on `typed_tuning.tsv` and `typed_tuning_v2.tsv` only, by someone who never opened either
frozen set, and measured once at the end: 91 % top-1, 95 % offered (the first set: 85 %, 92 %).
The issue's bar is 90 % offered on questions the lists were not tuned on; both sets assert it.

Why: the word lists in locales/*/intents.yaml are tuned by people, and a figure
on the questions they were tuned with says nothing. `tests/data/typed/typed_questions.tsv`
(260 questions, nl and en, one writer who never saw the bot's word lists) was written
after the lists and frozen before anyone looked at the results: its SHA-256 is
pinned below, so it cannot be tuned on quietly. The lists are tuned on a separate
set by another writer (`typed_tuning.tsv`, 300 questions); results are reported here.

Measured per route: top-1 (the first button is the route), offered (the route is
one of the one or two buttons; for `none`: no button at all). Printed with `-s`.
The floors sit just under the figures measured when the set was frozen, so the
test fails when the word lists get worse on it.
"""

from __future__ import annotations

import csv
import functools
import hashlib
from collections import Counter
from pathlib import Path

from bot.app import load_flows
from bot.intents import IntentMatcher
from bot.settings import Settings

DATA = Path(__file__).parent / "data" / "typed" / "typed_questions.tsv"
DATA_V2 = DATA.with_name("typed_questions_v2.tsv")
FROZEN_V2_SHA256 = "bfbb2eff560526ec467d23e90cbac5079748c7dc98c5e8b470736c59b205483c"
FROZEN_SHA256 = "b026765640b321d236edf305e0a7f4750bc0c152d9816c88c10423b546ba0ac8"
#: offered-rate floors per route, a little under the figures measured on the frozen set
#: (first, untuned lists: 70 % top-1, 78 % offered; after tuning on typed_tuning.tsv: 78 %, 87 %;
#: with the routes added since (divorce, placement, young person, relative, foster parent), which
#: this set's labels do not know, so an offer of one of them counts as a miss: 76 %, 86 %)
OFFERED_FLOOR = {"complaint": 0.78, "deadline": 0.78, "inspreken": 0.82, "helplines": 0.80, "safety": 0.78,
                 "visit": 0.85, "checkin": 0.75, "none": 0.90}
TOP1_FLOOR_ALL = 0.83
#: the second set, overall: a little under the figures measured once after tuning (91 %, 95 %)
V2_TOP1_FLOOR, V2_OFFERED_FLOOR = 0.89, 0.93
#: the bar both frozen sets must clear: the right route among the one or two buttons
OFFERED_BAR = 0.90
#: Routes split off an older route after the sets were frozen, read as that route here. "Een advocaat"
#: (`lawyer`, try-out 37: "advocaat" led to the emergency numbers) took over the help lines' lawyer words;
#: the sets' writers labelled a lawyer question `helplines`, the only route that had lawyer help then.
SPLIT_OFF = {"lawyer": "helplines"}


@functools.cache
def matcher() -> IntentMatcher:
    """The running bot's matcher: every language's word lists (FlowSet.intents)."""
    return load_flows(Settings()).intents()


def test_the_test_sets_are_the_frozen_ones() -> None:
    for path, sha in ((DATA, FROZEN_SHA256), (DATA_V2, FROZEN_V2_SHA256)):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha, (
            f"{path.name} changed: it is a frozen test set; tune on another file")


def measure(path: Path, what: str = "frozen") -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Per route: questions, first button right, route offered (for `none`: no button at all)."""
    rows = list(csv.DictReader(path.open(encoding="utf-8"), delimiter="\t"))
    assert len(rows) >= 200 and {r["lang"] for r in rows} == {"nl", "en"}
    total, top1, offered = Counter[str](), Counter[str](), Counter[str]()
    for row in rows:
        routes = [SPLIT_OFF.get(g.route, g.route) for g in matcher().match(row["text"])]
        expected = row["route"]
        total[expected] += 1
        if expected == "none":
            top1[expected] += not routes
            offered[expected] += not routes
        else:
            top1[expected] += bool(routes) and routes[0] == expected
            offered[expected] += expected in routes
    print(f"\ntyped questions ({path.name}, {len(rows)}, {what}): route, top-1, offered (one of the buttons)")
    for route in sorted(total):
        print(f"  {route:10s} {top1[route] / total[route]:5.0%} {offered[route] / total[route]:5.0%}  n={total[route]}")
    print(f"  {'all':10s} {sum(top1.values()) / len(rows):5.0%} {sum(offered.values()) / len(rows):5.0%}")
    return total, top1, offered


def test_typed_questions_find_their_route_on_the_second_frozen_set() -> None:
    total, top1, offered = measure(DATA_V2)
    assert sum(top1.values()) / total.total() >= V2_TOP1_FLOOR
    assert sum(offered.values()) / total.total() >= max(V2_OFFERED_FLOOR, OFFERED_BAR)


def test_typed_questions_find_their_route_on_the_frozen_set() -> None:
    total, top1, offered = measure(DATA)
    assert sum(top1.values()) / total.total() >= TOP1_FLOOR_ALL
    assert sum(offered.values()) / total.total() >= OFFERED_BAR
    low = {r: round(offered[r] / total[r], 2) for r in total if offered[r] / total[r] < OFFERED_FLOOR[r]}
    assert not low, f"routes offered less often than before: {low}"
