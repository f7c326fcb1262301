"""Every municipality gets its own council tips, or is told they are not known here, with its website.

A man on Vlieland was given Zeewolde's tips ("the best moment is usually the committee meeting",
source zeewolde.nl) as if they were his island's (try-out 2026-12-07); a small council may have
no committees at all. The tips a person sees come from their own town's source; where that is
not in flows/directory/council.yaml, the text says so and points to the town's own website.
Checked for every municipality, in both languages.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.flows.flowset import FlowSet
from bot.flows.loader import load_flowset

ROOT = Path(__file__).resolve().parent.parent
DIRECTORY = ROOT / "flows" / "directory"
URL = re.compile(r"https://[^\s,)]+")
COMMITTEE_ADVICE = re.compile(r"commissievergadering|in een commissie|committee meeting|in a committee", re.IGNORECASE)


def _names() -> list[str]:
    with (DIRECTORY / "gemeenten.tsv").open(encoding="utf-8", newline="") as handle:
        return [row["name"] for row in csv.DictReader(handle, delimiter="\t")]


NAMES = _names()


@pytest.fixture(scope="module")
def shipped() -> FlowSet:
    return load_flowset(ROOT / "flows", ROOT / "locales", root=ROOT)


def _host(url: str) -> str:
    return urlsplit(url.rstrip(".")).netloc.lower().removeprefix("www.")


def test_every_municipality_is_checked() -> None:
    assert len(NAMES) > 300 and "Vlieland" in NAMES and "Zeewolde" in NAMES


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_town_sees_only_its_own_tips_or_that_they_are_not_known(shipped: FlowSet, lang: str) -> None:
    own_tips = shipped.directory_views[lang]["inspreekrecht_tips"]
    website_of = shipped.functions()["municipality_website"]
    wrong = []
    for name in NAMES:
        website = website_of(name)
        said = shipped.render(lang, "inspreken.tips", {"gemeente": name, "website": website})
        hosts = {_host(url) for url in URL.findall(said)}
        if name == own_tips["gemeente"]:
            ok = said.startswith(own_tips["name"]) and hosts == {_host(own_tips["source"])}
        else:
            ok = (name in said and own_tips["gemeente"] not in said and not COMMITTEE_ADVICE.search(said)
                  and hosts <= ({_host(website)} if website else set())
                  and (not website or website in said))
        if not ok:
            wrong.append(f"{name}: {said}")
    assert not wrong, "\n".join(wrong[:5])


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_town_without_its_own_tips_is_pointed_to_its_website(shipped: FlowSet, lang: str) -> None:
    said = shipped.render(lang, "inspreken.tips", {"gemeente": "Vlieland", "website": "https://www.vlieland.nl"})
    assert "Vlieland" in said and "https://www.vlieland.nl" in said
    assert "zeewolde" not in said.lower()


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_naming_a_council_meeting_gives_no_committee_advice(shipped: FlowSet, lang: str) -> None:
    said = shipped.render(lang, "inspreken.meeting.council_meeting", {"gemeente": "Vlieland"})
    assert not COMMITTEE_ADVICE.search(said) and "griffie" in said
