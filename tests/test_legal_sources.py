"""Every legal statement a person reads rests on a directory entry with a source.

Why: a parent acts on what the bot says about the law: who may ask the judge,
how many weeks they have, which article to cite in a letter. A rule typed into
a flow text cannot be checked, dated or corrected in one place, and an earlier
version of the bot got art. 1:264 BW wrong in exactly that way (issue 13). So
the rule: an article number, a period ("6 weken") or an age limit ("12 jaar of
ouder") in a flow text or letter must also be stated by a directory entry in
the same language, and that entry has a source (the directory's own tests see
to that). Texts may repeat a rule for readability; they may not invent one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import pytest

from bot.app import load_flows
from bot.flows.flowset import FlowSet
from bot.settings import Settings

LANGS = ("nl", "en")

#: "artikel 1:264", "art. 285d", "article 7.3.8", "artikel 65 lid 5": the article and its paragraph
ARTICLE = re.compile(
    r"\b(?:artikel(?:en)?|articles?|art\.|paragraaf|section|§)\s*(\d+[a-z]?(?:[:.]\d+[a-z]?)*)(?:\s*(?:lid\s+(\d+)|\((\d+)\)))?",
    re.IGNORECASE)
_NUMBER_WORDS = "een|twee|drie|vier|vijf|zes|acht|tien|twaalf|one|two|three|four|five|six|eight|ten|twelve"
#: "6 weken", "twee weken", "3 months", "12 jaar": a period or an age, as a rule states it
PERIOD = re.compile(
    rf"\b(\d+|{_NUMBER_WORDS})\s+(weken|week|maanden|maand|dagen|werkdagen|jaar|weeks?|months?|days?|working days|years?)\b",
    re.IGNORECASE)
#: "aged 12", "12 or older": an age limit in English, where the noun is left out
AGE = re.compile(r"\baged (\d+)\b|\b(\d+) or older\b", re.IGNORECASE)
#: Counts that are not rules: the days left, worked out from the product's today
NOT_A_RULE = {("deadline.left", "1 day")}
#: Jinja expressions and statements: what they print comes from data, not from the text itself
_JINJA = re.compile(r"{{.*?}}|{%.*?%}", re.DOTALL)


@functools.cache
def shipped() -> FlowSet:
    return load_flows(Settings())


def _strings(node: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield where, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, f"{where}[{i}]")


def flow_texts(lang: str) -> Iterator[tuple[str, str]]:
    """Every text a flow or letter shows in `lang`, with its key, Jinja removed."""
    for key, text in sorted(shipped().locales.texts[lang].items()):
        if key.startswith("directory."):  # the fixed words of a card, no rules
            continue
        yield key, _JINJA.sub(" ", text.source)


def directory_text(lang: str) -> str:
    """Everything the directory states in `lang`: the cards and the deadline views."""
    fs = shipped()
    parts = [fs.cards[entry][lang] for entry in sorted(fs.cards)]
    for _where, text in _strings(fs.directory_views[lang], "d"):
        parts.append(text)
    return "\n".join(parts)


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.lower())


def articles(text: str) -> set[str]:
    return {m.group(1) + (f"({m.group(2) or m.group(3)})" if (m.group(2) or m.group(3)) else "")
            for m in ARTICLE.finditer(text)}


def periods(text: str) -> set[str]:
    return {_norm(m.group(0)) for m in PERIOD.finditer(text)} | {
        f"aged {m.group(1) or m.group(2)}" for m in AGE.finditer(text)}


@pytest.mark.parametrize("lang", LANGS)
def test_every_article_a_text_cites_is_stated_by_a_sourced_directory_entry(lang: str) -> None:
    stated = articles(directory_text(lang))
    cited = [(where, a) for where, text in flow_texts(lang) for a in sorted(articles(text))]
    print(f"\n{lang}: {len(cited)} citations in texts; the directory states {sorted(stated)}")
    missing = [(where, a) for where, a in cited if a not in stated and a.split("(")[0] not in stated]
    assert cited, "the measure found no citation at all: it is broken"
    assert not missing, "articles cited in texts but stated by no directory entry: " + ", ".join(
        f"{where}: {a}" for where, a in missing)


@pytest.mark.parametrize("lang", LANGS)
def test_every_period_or_age_in_a_text_is_stated_by_a_directory_entry(lang: str) -> None:
    stated = _norm(directory_text(lang))
    stated_ages = {p for p in periods(stated) if p.startswith("aged ")}
    found = [(where, p) for where, text in flow_texts(lang) for p in sorted(periods(text))
             if (where, p) not in NOT_A_RULE]
    print(f"\n{lang}: {len(found)} periods or ages typed into texts: {found}")
    missing = [(where, p) for where, p in found if p not in stated and p not in stated_ages]
    assert not missing, "a rule typed into a text and stated by no directory entry: " + ", ".join(
        f"{where}: {p!r}" for where, p in missing)


def test_the_measures_find_what_a_reader_finds() -> None:
    assert articles("zie artikel 1:264 Burgerlijk Wetboek en art. 285d Sr") == {"1:264", "285d"}
    assert articles("artikel 65 lid 5 van de Wet BIG; article 65(5)") == {"65(5)"}
    assert articles("artikel 7.3.8 Jeugdwet") == {"7.3.8"}
    assert articles("Jeugdwet, paragraaf 7.3; Youth Act section 7.3") == {"7.3"}
    assert periods("binnen 6 weken, of twee weken; kind van 12 jaar") == {"6 weken", "twee weken", "12 jaar"}
    assert periods("within 3 months") == {"3 months"}
    assert periods("A child aged 12 or older") == {"aged 12"}
    assert periods("a child of 16 or older") == {"aged 16"}
    assert not periods("een week of twee") - {"een week"}
