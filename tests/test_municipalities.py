"""Municipality recognition: every name, every alias, and the typos people make."""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

import pytest

from bot.municipalities import (
    DEFAULT_DATA_DIR,
    MatchOutcome,
    MunicipalityIndex,
    default_index,
    load_for_flowset,
    match,
    normalise_name,
)


def _rows(name: str) -> list[dict[str, str]]:
    with (DEFAULT_DATA_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


NAMES = [r["name"] for r in _rows("gemeenten.tsv")]
ALIASES = [(r["alias"], r["current_name"], r["kind"]) for r in _rows("gemeenten-aliases.tsv")]


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def test_the_data_is_the_2026_list() -> None:
    assert len(NAMES) == 342 == len(set(NAMES))
    assert len(default_index().municipalities) == 342


@pytest.mark.parametrize("name", NAMES)
def test_every_municipality_matches_itself_in_any_case(name: str) -> None:
    for typed in {name, name.lower(), name.upper(), name.title(), _plain(name)}:
        found = match(typed)
        assert found.outcome is MatchOutcome.EXACT, typed
        assert found.municipality is not None and found.municipality.name == name


@pytest.mark.parametrize(("alias", "current", "kind"), ALIASES)
def test_every_alias_resolves_to_the_current_name(alias: str, current: str, kind: str) -> None:
    found = match(alias)
    assert found.outcome in (MatchOutcome.ALIAS, MatchOutcome.EXACT), alias
    assert found.municipality is not None and found.municipality.name == current
    if found.outcome is MatchOutcome.ALIAS:
        assert found.alias_kind == kind


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("amsterdm", "Amsterdam"),
        ("den bosh", "'s-Hertogenbosch"),
        ("rotterdm", "Rotterdam"),
        ("nijmegn", "Nijmegen"),
        ("groningn", "Groningen"),
    ],
)
def test_typos_get_did_you_mean_suggestions(typed: str, expected: str) -> None:
    found = match(typed)
    assert found.outcome is MatchOutcome.SUGGESTIONS
    assert found.candidates[0].name == expected
    assert len(found.candidates) <= 3


def test_hague_and_bosch_without_apostrophe_or_hyphen() -> None:
    for typed in ("sgravenhage", "s gravenhage", "'s Gravenhage", "S-GRAVENHAGE"):
        found = match(typed)
        assert found.outcome is MatchOutcome.EXACT
        assert found.municipality is not None and found.municipality.name == "'s-Gravenhage"
    den_haag = match("Den Haag")
    assert den_haag.outcome is MatchOutcome.ALIAS and den_haag.alias_kind == "spelling"
    assert den_haag.municipality is not None and den_haag.municipality.name == "'s-Gravenhage"
    found = match("s-hertogenbosch")
    assert found.municipality is not None and found.municipality.name == "'s-Hertogenbosch"


def test_hengelo_is_the_one_in_overijssel() -> None:
    found = match("hengelo")
    assert found.outcome is MatchOutcome.EXACT
    assert found.municipality is not None and found.municipality.province == "Overijssel"
    gelderland = match("Hengelo (Gld.)")
    assert gelderland.municipality is not None
    assert gelderland.municipality.name == "Bronckhorst"


def test_bare_bergen_is_ambiguous() -> None:
    found = match("bergen")
    assert found.outcome is MatchOutcome.AMBIGUOUS
    assert {c.name for c in found.candidates} == {"Bergen (NH.)", "Bergen (L.)"}
    assert match("Bergen NH").municipality is not None
    assert match("bergen op zoom").outcome is MatchOutcome.EXACT


def test_weesp_is_a_former_municipality_of_amsterdam() -> None:
    found = match("weesp")
    assert found.outcome is MatchOutcome.ALIAS
    assert found.alias_kind == "former-municipality"
    assert found.municipality is not None and found.municipality.name == "Amsterdam"
    assert not found.needs_village


def test_voorne_aan_zee_and_its_former_parts() -> None:
    assert match("voorne aan zee").outcome is MatchOutcome.EXACT
    for former in ("Brielle", "hellevoetsluis", "Westvoorne"):
        found = match(former)
        assert found.municipality is not None and found.municipality.name == "Voorne aan Zee"


@pytest.mark.parametrize(
    ("former", "main_part", "other_part"),
    [
        ("Haaren", "Oisterwijk", "Boxtel"),
        ("Winsum", "Het Hogeland", "Westerkwartier"),
        ("Littenseradiel", "Súdwest-Fryslân", "Waadhoeke"),
    ],
)
def test_split_municipalities_ask_for_the_village(former: str, main_part: str, other_part: str) -> None:
    found = match(former)
    assert found.outcome is MatchOutcome.ALIAS and found.needs_village
    assert found.municipality is not None and found.municipality.name == main_part
    assert found.split is not None and other_part in found.split.into
    assert found.split.note["nl"] and found.split.note["en"]


def test_haaren_villages_are_known() -> None:
    split = match("haaren").split
    assert split is not None
    assert dict(split.villages) == {
        "Haaren": "Oisterwijk",
        "Esch": "Boxtel",
        "Helvoirt": "Vught",
        "Biezenmortel": "Tilburg",
    }


def test_friesland_is_a_province_not_a_municipality() -> None:
    found = match("friesland")
    assert found.outcome is MatchOutcome.NONE
    assert found.province == "Fryslân"
    assert match("Noord-Brabant").province == "Noord-Brabant"
    assert match("Utrecht").outcome is MatchOutcome.EXACT  # city wins over province


def test_nonsense_and_empty_input() -> None:
    assert match("").outcome is MatchOutcome.NONE
    assert match("   ").outcome is MatchOutcome.NONE
    assert match("xyzzy").outcome is MatchOutcome.NONE
    assert match("hallo").outcome is MatchOutcome.NONE


def test_prefixes_and_sentences() -> None:
    found = match("gemeente Utrecht")
    assert found.outcome is MatchOutcome.EXACT
    sentence = match("ik woon in Ede")
    assert sentence.outcome is MatchOutcome.SUGGESTIONS  # a guess, never a match
    assert sentence.candidates[0].name == "Ede"
    prefix = match("alphen")
    assert {c.name for c in prefix.candidates} == {
        "Alphen aan den Rijn",
        "Alphen-Chaam",
    }


def test_normalise_name() -> None:
    assert normalise_name("'s-Gravenhage") == "sgravenhage"
    assert normalise_name("Súdwest-Fryslân") == "sudwestfryslan"
    assert normalise_name("Gemeente Den Haag") == "denhaag"


def test_index_rejects_an_alias_to_an_unknown_municipality(tmp_path: Path) -> None:
    (tmp_path / "gemeenten.tsv").write_text("code\tname\tprovince\nGM0001\tA-stad\tUtrecht\n", encoding="utf-8")
    (tmp_path / "gemeenten-aliases.tsv").write_text(
        "alias\tcurrent_name\tkind\nOudstad\tB-stad\tformer-municipality\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="unknown municipality"):
        MunicipalityIndex.from_dir(tmp_path)


def test_the_engine_adapter_gives_names_and_never_guesses_a_split() -> None:
    matcher = load_for_flowset(DEFAULT_DATA_DIR)
    den_haag = matcher.match("den haag")
    # `typed` is the alias as listed, so "Weesp hoort nu bij ..." is spelt right
    assert (den_haag.kind, den_haag.name, den_haag.typed) == ("alias", "'s-Gravenhage", "Den Haag")
    weesp = matcher.match("weesp")
    assert (weesp.name, weesp.typed, weesp.note_key) == ("Amsterdam", "Weesp", "sys.municipality_merged")
    assert matcher.match("bergen").candidates == ("Bergen (L.)", "Bergen (NH.)")
    assert matcher.match("amsterdm").candidates[0] == "Amsterdam"
    haaren = matcher.match("Haaren")
    assert haaren.kind == "ambiguous"
    assert haaren.name is None
    assert haaren.candidates == ("Oisterwijk", "Boxtel", "Vught", "Tilburg")
    assert matcher.match("friesland").kind == "none"
