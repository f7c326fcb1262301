"""A number that costs money is never shown as if it were free.

Het Juridisch Loket's advice is free at an office or by e-mail, but its 0900 number costs per
minute (its directory card, `phone_note`). A try-out read "Het Juridisch Loket (free legal advice)
today: ... or 0900-8020": every text that shows the number also shows what calling costs, in the
card's own sourced words, and none calls it free next to the number.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.flows.flowset import FlowSet
from bot.flows.loader import load_flowset

ROOT = Path(__file__).resolve().parent.parent
PHONE = re.compile(r"d\.juridisch_loket\.phone\b")


@pytest.fixture(scope="module")
def shipped() -> FlowSet:
    return load_flowset(ROOT / "flows", ROOT / "locales", root=ROOT)


def _texts_showing_the_number() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted((ROOT / "locales").glob("*/*.yaml")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if PHONE.search(line):
                found.append((str(path.relative_to(ROOT)), number, line))
    return found


def test_the_number_is_shown_somewhere() -> None:
    assert len(_texts_showing_the_number()) >= 6


@pytest.mark.parametrize(("where", "number", "line"), _texts_showing_the_number())
def test_every_text_with_the_number_says_what_calling_costs(where: str, number: int, line: str) -> None:
    assert "d.juridisch_loket.phone_note" in line, f"{where}:{number} shows the 0900 number without its cost"
    assert not re.search(r"\b(gratis|free)\b", line, re.IGNORECASE), f"{where}:{number} calls it free"


@pytest.mark.parametrize(("lang", "cost"), [("nl", "€ 0,25 per minuut"), ("en", "€0.25 per minute")])
@pytest.mark.parametrize("key", ["deadline.soon", "deadline.today", "deadline.passed"])
def test_a_deadline_warning_shows_the_number_with_its_cost(shipped: FlowSet, lang: str, cost: str, key: str) -> None:
    said = shipped.render(lang, key, {})
    assert "0900-8020" in said and cost in said
    assert "free legal advice" not in said


@pytest.mark.parametrize(("lang", "cost"), [("nl", "€ 0,25 per minuut"), ("en", "€0.25 per minute")])
@pytest.mark.parametrize("role", ["parent", "relative", "anyone"])
def test_the_people_to_talk_to_show_the_number_with_its_cost(shipped: FlowSet, lang: str, cost: str,
                                                            role: str) -> None:
    said = shipped.render(lang, f"desk.user.people.{role}", {})
    assert "0900-8020" in said and cost in said
