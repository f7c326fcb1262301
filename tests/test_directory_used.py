"""Every fact in the directory reaches a person: some flow shows it.

Why: a fact that was researched, sourced and dated but is shown by no flow helps
nobody, and it goes stale unnoticed (issue 16 found `meld_misdaad_anoniem` and
`centrum_seksueel_geweld` in exactly that state). An entry counts as shown when a
flow's `show:` step lists it, when a text a flow shows uses one of its facts
(`{{ d.<entry>.phone }}`), or when a flow computes a deadline from it. Glossary
terms (`kind: term`) are shown by the bot itself at any step ("wat is ...?", and
where a text first uses the word: bot/glossary.py), so they count as shown. This
is a test rather than a `check` warning for now; the rule belongs in the checker.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from bot.directory import load_directory
from bot.texts import load_locales

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"
#: a fact used in a text: {{ d.veilig_thuis.phone }}
TEXT_USE = re.compile(r"\bd\.([a-z][a-z0-9_]*)\b")
#: a deadline computed in a flow: deadline_term('gemeente_bezwaar', ...), deadline('avg_verzoek', ...)
DEADLINE_USE = re.compile(r"\bdeadline(?:_term)?\(\s*'([a-z][a-z0-9_]*)'")


def _shown_by_steps(node: Any) -> set[str]:
    """Entry ids in every `show:` list of a flow file."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "show" and isinstance(value, list):
                found |= {str(item) for item in value}
            else:
                found |= _shown_by_steps(value)
    elif isinstance(node, list):
        for value in node:
            found |= _shown_by_steps(value)
    return found


def used_entries() -> dict[str, set[str]]:
    """Each way a flow reaches the directory, with the ids it reaches."""
    yaml = YAML(typ="safe")
    steps: set[str] = set()
    deadlines: set[str] = set()
    for path in sorted(FLOWS.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        steps |= _shown_by_steps(yaml.load(text))
        deadlines |= set(DEADLINE_USE.findall(text))
    locales, problems = load_locales(ROOT / "locales", ROOT)
    assert problems == []
    texts = {match for lang_texts in locales.texts.values() for text in lang_texts.values()
             for match in TEXT_USE.findall(text.source)}
    return {"show": steps, "deadline": deadlines, "text": texts}


def test_every_directory_entry_is_shown_by_some_flow() -> None:
    directory = load_directory(FLOWS / "directory")
    entries = set(directory.entries)
    used = used_entries()
    terms = {entry_id for entry_id, entry in directory.entries.items() if entry.kind == "term"}
    reached = set().union(*used.values()) | terms
    print(f"\n{len(entries)} entries: {len(used['show'] & entries)} on cards, "
          f"{len(used['text'] & entries)} in texts, {len(used['deadline'] & entries)} in deadlines, "
          f"{len(terms)} glossary terms")
    assert sorted(entries - reached) == [], "directory entries no flow shows: put each where it belongs"


def test_every_shown_id_exists() -> None:
    """The other direction: a `show:` of an id the directory lacks is a typo (check reports it too)."""
    entries = set(load_directory(FLOWS / "directory").entries)
    assert sorted(used_entries()["show"] - entries) == []


def test_the_measure_sees_all_three_ways() -> None:
    used = used_entries()
    assert "centrum_seksueel_geweld" in used["show"]
    assert "alarm_112" in used["text"]
    assert "gemeente_bezwaar" in used["deadline"]
