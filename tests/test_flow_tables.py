"""Word tables a flow reads by name (`tables:` in a flow file), and what a person's stored conversation keeps.

Why: the safety flow wrote its platform table out in three expressions (and a shorter copy in a branch), and
stored its list of who-did-it phrases in every worker's conversation state (the known list, s30). A table is
the flow's, written once; a person's state holds only what was read from her words ("Facebook", "een ouder").
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bot.expressions import BASE_FUNCTIONS
from bot.scenarios import load_scenario, run_scenario
from bot.settings import Settings
from tests.test_scenarios_runner import shipped

SAFETY_TABLES = ("platforms", "online_words", "who_phrases")

#: The safety route up to its summary, from a first message that names the platform and who did it
ROUTE = """\
name: state row after the safety route
lang: nl
today: 2026-12-07
turns:
  - user: een ouder zette gisteren mijn naam in een facebookgroep en bedreigt mij
  - press: Het gevaar is voorbij
  - press: Ja
  - press: Ja
  - press: Online of aan de telefoon
  - press: Ja, maak een samenvatting
  - press: Nog niet
  - press: Ja
  - press: Ja, gebruik dat
  - user: nee
  - user: ja
    document: ["Wie het deed (als je dat weet): een ouder", "Platform: Facebook (gelezen in je eerste bericht"]
"""


async def test_the_safety_route_stores_what_it_read_and_no_word_table(tmp_path: Path) -> None:
    path = tmp_path / "route.yaml"
    path.write_text(ROUTE, encoding="utf-8")
    scenario, pos = load_scenario(path)
    db = tmp_path / "db.sqlite3"
    result = await run_scenario(scenario, pos, shipped(), Settings(), db)
    assert result.ok, result.report()
    with sqlite3.connect(db) as conn:
        [(raw,)] = conn.execute("SELECT state FROM conversations").fetchall()
    row = bytes(raw).decode()
    state = json.loads(row)
    assert (state["f"], state["s"]) == ("safety", "forget_offer")  # the answers are still kept here
    assert state["x"]["told_platform"] == "Facebook" and state["x"]["told_who"] == "een ouder"
    for name in SAFETY_TABLES:
        assert f'"{name}"' not in row, f"the table {name} is in the person's stored state"
    assert "de stiefmoeder" not in row and "Telegram" not in row  # nor any table's words


def test_the_safety_flow_keeps_its_tables_once_by_name() -> None:
    flow = shipped().flows["safety"]
    assert set(SAFETY_TABLES) <= set(flow.tables)
    assert shipped().tables["platforms"]["fb"] == "Facebook"


@pytest.mark.parametrize(("typed", "platform"), [
    ("ze zetten mijn naam in een facebookgroep", "Facebook"),
    ("in een fb-groep van ouders", "Facebook"),
    ("in een whatsappgroep", "WhatsApp"),
    ("op haar instagramaccount", "Instagram"),
    ("op insta", "Instagram"),
    ("via een instantie", None),  # "insta" is too short to head a compound: "instantie" is no platform
    ("in de groepsapp", None),
    ("op facebook en in een whatsappgroep", None),  # two platforms: not guessed
])
def test_a_platform_at_the_head_of_a_compound_is_read(typed: str, platform: str | None) -> None:
    table = shipped().tables["platforms"]
    assert BASE_FUNCTIONS["said_in"](typed, table) == platform
    assert BASE_FUNCTIONS["any_word_in"](typed, table) is (platform is not None or " en " in typed)
