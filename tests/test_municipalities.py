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
    """Exactly, or, where a village elsewhere has the same name (14 of them), first among those asked."""
    elsewhere = {r["gemeente"] for r in _rows("woonplaatsen.tsv") if r["woonplaats"] == name} - {name}
    for typed in {name, name.lower(), name.upper(), name.title(), _plain(name)}:
        found = match(typed)
        if elsewhere:
            assert found.outcome is MatchOutcome.AMBIGUOUS, typed
            assert found.candidates[0].name == name
            assert {c.name for c in found.candidates[1:]} == elsewhere
        else:
            assert found.outcome is MatchOutcome.EXACT, typed
            assert found.municipality is not None and found.municipality.name == name


@pytest.mark.parametrize(("alias", "current", "kind"), ALIASES)
def test_every_alias_resolves_to_the_current_name(alias: str, current: str, kind: str) -> None:
    found = match(alias)
    if found.outcome is MatchOutcome.AMBIGUOUS:  # "Haren", "Vianen": also a village elsewhere, asked first
        assert found.place is not None and found.candidates[0].name == current, alias
        return
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


def test_hengelo_is_asked_about_because_there_is_one_in_each_province() -> None:
    """A municipality's name that is also a village elsewhere: the wrong one is the wrong council."""
    found = match("hengelo")
    assert found.outcome is MatchOutcome.AMBIGUOUS and found.place == "Hengelo"
    assert [(c.name, c.province) for c in found.candidates] == [("Hengelo", "Overijssel"), ("Bronckhorst", "Gelderland")]
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
    # villages called Alphen in two municipalities, and the municipality whose name starts with it
    prefix = match("alphen")
    assert prefix.outcome is MatchOutcome.AMBIGUOUS
    assert {c.name for c in prefix.candidates} == {"Alphen aan den Rijn", "Alphen-Chaam", "West Maas en Waal"}


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
    assert matcher.match("bergen").candidates == ("Bergen (Limburg)", "Bergen (Noord-Holland)")
    assert matcher.match("amsterdm").candidates[0] == "Amsterdam"
    haaren = matcher.match("Haaren")
    assert haaren.kind == "ambiguous"
    assert haaren.name is None
    assert haaren.candidates == ("Oisterwijk", "Boxtel", "Vught", "Tilburg")
    assert matcher.match("friesland").kind == "none"


PLACES = _rows("woonplaatsen.tsv")
PLACE_ALIASES = [
    r for r in csv.DictReader([line for line in (DEFAULT_DATA_DIR / "plaatsen-aliases.tsv").read_text(
        encoding="utf-8").splitlines() if not line.startswith("#")], delimiter="\t")]


def test_the_places_are_the_cbs_2026_list_verbatim() -> None:
    """flows/directory/woonplaatsen.tsv is shared/domain's file: 2,544 rows, every municipality in it."""
    assert len(PLACES) == 2544
    assert len({r["woonplaats"] for r in PLACES}) == 2448
    assert {r["gemeente"] for r in PLACES} == set(NAMES)
    # grouped as matching compares them: "Kapel Avezaath" (Tiel) and "Kapel-Avezaath" (Buren) ask which
    assert len(default_index().places) == len({normalise_name(r["woonplaats"]) for r in PLACES}) + len(PLACE_ALIASES)
    kapel = match("kapel avezaath")
    assert kapel.outcome is MatchOutcome.AMBIGUOUS and {c.name for c in kapel.candidates} == {"Tiel", "Buren"}


def test_every_place_in_one_municipality_leads_to_it() -> None:
    """Every BAG place name, typed as it is, finds its municipality or (where it is one) itself."""
    homes: dict[str, set[str]] = {}
    for r in PLACES:  # as matching compares names: "Kapel Avezaath" and "Kapel-Avezaath" read the same
        homes.setdefault(normalise_name(r["woonplaats"]), set()).add(r["gemeente"])
    wrong = []
    for place, where in homes.items():
        found = match(place)
        got = {found.municipality.name} if found.municipality else {c.name for c in found.candidates}
        if found.split is not None:  # a former municipality that was split: the flow asks for the village
            continue
        if found.outcome is MatchOutcome.ALIAS and len(where) == 1:  # "Weesp": a former municipality
            ok = got == where
        elif found.alias_kind == "former-municipality":  # "Haren": Groningen since 2019, and a village in Oss
            ok = found.outcome is MatchOutcome.AMBIGUOUS and where <= got
        elif len(where) == 1:
            ok = found.outcome in (MatchOutcome.EXACT, MatchOutcome.PLACE) and got == where
        else:
            ok = found.outcome is MatchOutcome.AMBIGUOUS and where <= got
        if not ok:
            wrong.append((place, found.outcome.value, sorted(got), sorted(where)))
    assert not wrong, wrong[:20]


@pytest.mark.parametrize(("typed", "municipality"), [
    ("Sneek", "Súdwest-Fryslân"), ("drachten", "Smallingerland"), ("Joure", "De Fryske Marren"),
    ("Zaandam", "Zaanstad"), ("Scheveningen", "'s-Gravenhage"), ("Son", "Son en Breugel"),
    ("Harns", "Harlingen"), ("Bergum", "Tytsjerksteradiel"), ("Grouw", "Leeuwarden"), ("Esch", "Boxtel"),
])
def test_towns_districts_and_other_names_lead_to_their_municipality(typed: str, municipality: str) -> None:
    found = match(typed)
    assert found.outcome is MatchOutcome.PLACE, found
    assert found.municipality is not None and found.municipality.name == municipality
    assert found.place is not None


def test_every_place_alias_points_at_a_real_place_and_has_a_source() -> None:
    names = {r["woonplaats"] for r in PLACES}
    assert PLACE_ALIASES
    for r in PLACE_ALIASES:
        assert r["place"] in names, r
        assert r["alias"] not in names, f"{r['alias']} is a BAG name already"
        assert r["kind"] in ("dutch-form", "frisian-form", "district"), r
        assert r["source"].startswith("https://"), r


def test_a_place_in_a_sentence_is_offered_but_short_words_are_not() -> None:
    assert [c.name for c in match("ik woon in Drachten").candidates] == ["Smallingerland"]
    assert match("ik woon in de buurt van nes").outcome is MatchOutcome.NONE


def test_the_engine_adapter_labels_buttons_with_the_province_and_knows_the_website() -> None:
    matcher = load_for_flowset()
    found = matcher.match("Wirdum")
    assert found.kind == "ambiguous" and found.typed == "Wirdum"
    assert found.labels == ("Eemsdelta (Groningen)", "Leeuwarden (Fryslân)")
    assert matcher.label("Bergen (NH.)") == "Bergen (Noord-Holland)"  # CBS's mark, said in full
    assert matcher.label("Nuenen, Gerwen en Nederwetten") == "Nuenen, Gerwen en Nederwetten"  # would not fit
    # "Alphen" offers three: each with its province, the long one as the Dutch shorten it (try-out 25)
    assert matcher.match("Alphen").labels == (
        "Alphen-Chaam (Noord-Brabant)", "West Maas en Waal (Gelderland)", "Alphen a/d Rijn (Zuid-Holland)")
    haaren = matcher.match("Haaren")
    assert haaren.split_note is not None and "Esch" in haaren.split_note["nl"]
    sneek = matcher.match("sneek")
    assert (sneek.kind, sneek.name, sneek.typed, sneek.note_key) == (
        "alias", "Súdwest-Fryslân", "Sneek", "sys.municipality_place")
    assert matcher.website("Súdwest-Fryslân") == "https://www.sudwestfryslan.nl"
    assert matcher.website("Nergenshuizen") is None
    websites = _rows("gemeenten-websites.tsv")
    assert len(websites) == 342 and all(r["website"].startswith("https://") for r in websites)


@pytest.mark.parametrize("typed", ["the Hague", "The Hague", "den haag", "Den Haag", "s gravenhage", "'s-Gravenhage",
                                   "sgravenhage", "gemeente den haag"])
def test_the_hague_by_every_name_people_type_is_s_gravenhage(typed: str) -> None:
    found = load_for_flowset().match(typed)
    assert (found.kind in ("exact", "alias"), found.name) == (True, "'s-Gravenhage")


def test_bergen_is_shown_with_its_province_in_full_and_read_back_from_that_name() -> None:
    """CBS's "Bergen (L.)" / "Bergen (NH.)" puzzled people: what is saved and shown says the province."""
    matcher = load_for_flowset()
    bergen = matcher.match("bergen")
    assert bergen.kind == "ambiguous"
    assert bergen.candidates == bergen.labels == ("Bergen (Limburg)", "Bergen (Noord-Holland)")
    assert matcher.match("Bergen NH").name == "Bergen (Noord-Holland)"
    assert matcher.match("Egmond aan Zee").name == "Bergen (Noord-Holland)"  # a village in it
    for shown, cbs in (("Bergen (Limburg)", "Bergen (L.)"), ("Bergen (Noord-Holland)", "Bergen (NH.)")):
        assert matcher.match(shown).name == shown  # a saved answer typed again
        assert matcher.index.get(shown) == matcher.index.get(cbs)
        assert matcher.website(shown) == matcher.website(cbs) is not None
    assert matcher.index.get("Utrecht").shown == "Utrecht"  # a name without CBS's mark stays
