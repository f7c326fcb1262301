"""The directory: every file loads, every fact has a source, errors show file:line."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.dates import atw_day_off, atw_holidays, format_date
from bot.directory import (
    CARD_TEXT_KEYS,
    CARD_TEXT_PREFIX,
    SECONDARY_SOURCES_FILE,
    CardWords,
    Directory,
    DirectoryError,
    Entry,
    Period,
    SecondarySite,
    atw_excluded,
    directory_json_schema,
    entry_problems,
    last_day,
    legal_last_day,
    load_directory,
    load_secondary_sites,
    provenance_gaps,
    render_card,
    stale_entries,
)
from bot.flows.source import Where
from bot.texts import load_locales

ROOT = Path(__file__).resolve().parent.parent
DIRECTORY = ROOT / "flows" / "directory"
#: the day every fact was taken over from FACTS.md; none was checked live since
RESEARCHED = date(2026, 11, 29)
#: the newest day facts FACTS.md lacks were researched in stored copies of public pages
#: (family.yaml, the glossary); such an entry stays `unverified` until a person checks it live
RESEARCHED_LATER = date(2026, 12, 6)

REQUIRED_IDS = {
    "alarm_112",
    "politie_geen_spoed",
    "zelfmoordpreventie_113",
    "veilig_thuis",
    "kindertelefoon",
    "jeugdstem",
    "juridisch_loket",
    "rechtsbijstand_toevoeging",
    "gratis_advocaat_ouders",
    "nationale_ombudsman",
    "kinderombudsman",
    "gemeentelijke_ombudsman",
    "gi_klachtencommissie",
    "rvdk_klacht",
    "veilig_thuis_klacht",
    "jeugdhulpaanbieder_klacht",
    "gemeente_bezwaar",
    "gemeente_klacht",
    "hoger_beroep_gerechtshof",
    "kinderrechter_aanwijzing",
    "rechtbank_klacht",
    "procureur_generaal_hr",
    "skj_tuchtklacht",
    "big_tuchtcollege",
    "landelijk_meldpunt_zorg",
    "autoriteit_persoonsgegevens",
    "slachtofferhulp",
    "helpwanted",
    "meld_misdaad_anoniem",
    "acm_dsa",
    "google_delisting",
    "huisarts",
    "griffie",
    "inspreekrecht_spreektijd",
    "ela_vpt",
    "doxing_285d",
}


@pytest.fixture(scope="module")
def directory() -> Directory:
    return load_directory(DIRECTORY)


@pytest.fixture(scope="module")
def words() -> dict[str, CardWords]:
    """The card's fixed words, from locales/<lang>/directory.yaml as the bot loads them."""
    locales, problems = load_locales(ROOT / "locales", ROOT)
    assert problems == []
    keys = [CARD_TEXT_PREFIX + key for key in CARD_TEXT_KEYS]
    for lang in ("nl", "en"):
        assert all(locales.has(lang, key) for key in keys), lang
    return {lang: CardWords.from_texts({k: locales.render(lang, k, {}) for k in keys}) for lang in ("nl", "en")}


def _urls(entry: Entry) -> list[str]:
    urls = [entry.source, *entry.other_sources, *(d.source for d in entry.deadlines)]
    if entry.website:
        urls.append(entry.website)
    return urls


# ------------------------------------------------------------------ the data


def test_every_file_loads_and_contributes_entries(directory: Directory) -> None:
    files = sorted(DIRECTORY.glob("*.yaml"))
    assert len(files) >= 5
    assert {directory.files[i] for i in directory.entries} == set(files)


def test_the_entries_the_flows_need_exist(directory: Directory) -> None:
    assert set(directory.entries) >= REQUIRED_IDS


def test_every_url_is_https(directory: Directory) -> None:
    for entry_id, entry in directory.entries.items():
        for url in _urls(entry):
            assert url.startswith("https://"), (entry_id, url)


def test_every_entry_has_provenance_and_both_languages(directory: Directory) -> None:
    for entry_id, entry in directory.entries.items():
        # taken over from FACTS.md on RESEARCHED; researched since then (the glossary) only as unverified
        assert entry.researched == RESEARCHED or (
            entry.researched is not None and entry.researched > RESEARCHED and entry.confidence == "unverified"
        ), entry_id
        # `checked:` only where a person opened the live source; none has been, so far
        assert entry.checked is None or entry.checked > RESEARCHED, f"{entry_id}: `checked:` before the research"
        assert entry.source, entry_id
        assert entry.name.nl and entry.name.en, entry_id
        assert entry.purpose.nl and entry.purpose.en, entry_id
        assert entry_problems(entry) == [], entry_id


#: Entries still cited from a site that is not a primary source (flows/directory/secondary-sources.tsv),
#: and why: no page of the body, the law or the government stating the fact was found in stored copies
#: of public pages (2026-12-07). Each is `unverified` or `conflicting` and tells the user where to check,
#: except the police's own news items: the body itself says it, only dated.
KNOWN_SECONDARY = {
    "politie_geen_spoed": "the police's own news item (2021); no current police page stored",
    "zelfmoordpreventie_113": "news (ANP, October 2025): 113 free; 113's own stored page is older and says not",
    "acm_dsa": "ACM's own press release, reposted; no acm.nl page stored",
    "doxing_285d": "the bill's text; article 285d Sr itself not stored",
    "klachtrecht_jeugd": "a copy of a complaints body's rules; the Jeugdwet's complaints paragraph not stored",
    "mediation_scheiding": "an information site; no Juridisch Loket or government page on mediation stored",
    "omgang_nakoming": "law firms only; no rechtspraak.nl page on enforcing contact stored",
    "atw_gelijkgestelde_dagen": "the decree equating 2026-2028 days with holidays (art. 3 lid 3 Atw) not stored; "
                                "a funeral site's legal Q&A and a public code repository list the same days",
}
#: the police: a body's own (dated) news item, so the fact is not in doubt
BODY_OWN_NEWS = {"politie_geen_spoed"}


@pytest.fixture(scope="module")
def secondary() -> list[SecondarySite]:
    sites, problems = load_secondary_sites(DIRECTORY / SECONDARY_SOURCES_FILE, ROOT)
    assert problems == []
    return sites


def test_every_fact_still_cited_from_a_secondary_site_is_a_known_gap_that_says_where_to_check(
    directory: Directory, secondary: list[SecondarySite]
) -> None:
    """A new news item or law firm's page as a source fails here: find the primary page, or add it above."""
    gaps = [gap for gap in provenance_gaps(directory.entries, secondary) if gap.kind == "secondary-source"]
    assert {gap.entry_id for gap in gaps} == set(KNOWN_SECONDARY)
    for entry_id in set(KNOWN_SECONDARY) - BODY_OWN_NEWS:
        entry = directory[entry_id]
        assert entry.confidence in ("unverified", "conflicting"), entry_id
        assert entry.confidence_note is not None, entry_id


def test_the_weak_sources_named_in_the_brief_are_gone_or_known(
    directory: Directory, secondary: list[SecondarySite]
) -> None:
    """The weak pages found when this check was made: each site is listed, and only known gaps still cite one."""
    named = ["hetwetshuys.nl", "versteegh-advocaten.nl", "douffetheuts.nl", "nrc.nl", "upday.com", "publicnow.com",
             "zakboekenpolitie.com", "scheidingsinformatie.nl", "kwdeklimop.nl", "gpinfo.nl", "desarcast.nl",
             "rechtspraakbestuursrecht.nl", "support.henselhosting.nl", "politie.nl/nieuws/", "hupkesadvocaten.nl"]
    assert set(named) <= {site.site for site in secondary}
    for entry_id, entry in directory.entries.items():
        for url in [entry.source, *(d.source for d in entry.deadlines)]:
            if any(site.covers(url) for site in secondary):
                assert entry_id in KNOWN_SECONDARY, (entry_id, url)


@pytest.mark.parametrize(("entry_id", "primary"), [
    ("alarm_112", "https://www.meldkamernoordnederland.nl/"),  # the 112 room's own page, not a police news item
    ("beschikking", "https://www.cbs.nl/"),  # a government page, not a law firm
    ("verzoekschrift", "https://www.cbs.nl/"),
])
def test_the_weak_sources_the_try_out_found_now_cite_a_primary_page(
        directory: Directory, secondary: list[SecondarySite], entry_id: str, primary: str) -> None:
    entry = directory[entry_id]
    assert entry.source.startswith(primary)
    assert not any(site.covers(entry.source) for site in secondary)
    assert entry.checked is None  # found in stored pages: nobody checked it live


def test_a_listed_site_covers_its_hosts_and_only_its_part_of_a_site() -> None:
    where = Where("secondary-sources.tsv", 1, 1)
    news = SecondarySite("nrc.nl", "a news site", where)
    assert news.covers("https://www.nrc.nl/nieuws/2017/04/12/x")
    assert news.covers("https://nrc.nl/x")
    assert news.covers("https://m.nrc.nl/x")
    assert not news.covers("https://notnrc.nl/x")
    assert not news.covers("https://nrc.nl.example.org/x")
    police_news = SecondarySite("politie.nl/nieuws/", "a dated police news item", where)
    assert police_news.covers("https://www.politie.nl/nieuws/2018/maart/18/x.html")
    assert not police_news.covers("https://politie.nl/themas/slachtofferhulp")


def test_every_uncertain_fact_tells_the_user_why_in_both_languages(
    directory: Directory,
) -> None:
    uncertain = 0
    for entry_id, entry in directory.entries.items():
        if entry.confidence != "verified":
            uncertain += 1
            assert entry.confidence_note is not None, entry_id
            assert entry.confidence_note.nl.strip() and entry.confidence_note.en.strip()
        for deadline in entry.deadlines:
            if deadline.confidence != "verified":
                assert deadline.confidence_note is not None, (entry_id, deadline.id)
    assert uncertain >= 4  # Jeugdstem, Juridisch Loket, LMZ, Kindertelefoon at least


def test_known_help_lines(directory: Directory) -> None:
    assert directory["veilig_thuis"].phone == "0800-2000"
    assert directory["veilig_thuis"].cost == "free"
    assert directory["alarm_112"].phone == "112"
    line_113 = directory["zelfmoordpreventie_113"]
    assert (line_113.phone, line_113.phone_alt, line_113.cost) == (
        "113",
        "0800-0113",
        "free",
    )
    assert directory["kindertelefoon"].phone == "0800-0432"
    assert directory["kindertelefoon"].phone_alt == "116 111"
    # its hours now come from its own page (2024), not a 2019 news item
    kindertelefoon = directory["kindertelefoon"]
    assert kindertelefoon.confidence == "verified" and kindertelefoon.source.startswith("https://www.kindertelefoon.nl/")
    assert directory["nationale_ombudsman"].phone == "0800-33 55 555"
    assert directory["politie_geen_spoed"].phone == "0900-8844"
    assert directory["slachtofferhulp"].phone == "0900-0101"
    assert directory["helpwanted"].phone == "020-261 52 75"
    assert directory["meld_misdaad_anoniem"].phone == "0800-7000"


def test_uncertain_numbers_are_marked_as_the_facts_require(
    directory: Directory,
) -> None:
    loket = directory["juridisch_loket"]
    assert loket.phone == "0900-8020"  # the free 0800 number is not confirmed
    assert loket.cost in ("paid", "mixed") and loket.confidence != "verified"
    assert loket.lead_with == "website"
    jeugdstem = directory["jeugdstem"]
    assert jeugdstem.lead_with == "website" and jeugdstem.confidence == "conflicting"
    lmz = directory["landelijk_meldpunt_zorg"]
    assert lmz.phone is None and lmz.confidence == "conflicting"
    assert lmz.website is not None


@pytest.mark.parametrize(
    ("entry_id", "deadline_id", "period"),
    [
        ("hoger_beroep_gerechtshof", "indienen", Period(months=3)),
        ("gemeente_bezwaar", "indienen", Period(weeks=6)),
        ("kinderrechter_aanwijzing", "indienen", Period(weeks=2)),
        ("rvdk_klacht", "indienen", Period(years=1)),
        ("rechtbank_klacht", "indienen", Period(years=1)),
        ("nationale_ombudsman", "indienen", Period(years=1)),
        ("kinderombudsman", "indienen", Period(years=1)),
        ("skj_tuchtklacht", "verjaring", Period(years=3)),
        ("big_tuchtcollege", "verjaring", Period(years=10)),
    ],
)
def test_deadlines_match_the_facts(directory: Directory, entry_id: str, deadline_id: str, period: Period) -> None:
    assert directory[entry_id].deadline(deadline_id).period == period


def test_facts_carry_values_for_the_flows(directory: Directory) -> None:
    speaking = directory["inspreekrecht_spreektijd"].value
    assert speaking == {"typical_minutes": 5, "min_minutes": 3, "max_minutes": 10}
    doxing = directory["doxing_285d"].value
    assert doxing is not None and doxing["in_force"] == date(2024, 1, 1)
    vpt = directory["ela_vpt"].value
    assert vpt is not None and vpt["code"] == "VPT"


def test_positions_point_at_the_written_value(directory: Directory) -> None:
    pos = directory.where("veilig_thuis", "phone")
    line = Path(pos.file).read_text(encoding="utf-8").splitlines()[pos.line - 1]
    assert "0800-2000" in line
    assert line[pos.col - 1 :].startswith('"0800-2000"')
    deadline = directory.where("hoger_beroep_gerechtshof", "deadlines", 0, "period")
    assert "months: 3" in Path(deadline.file).read_text().splitlines()[deadline.line - 1]
    assert str(pos).startswith(str(pos.file))


def test_json_schema_is_exported() -> None:
    schema = directory_json_schema()
    assert "entries" in schema["properties"]


# ------------------------------------------------------------------ deadlines


@pytest.mark.parametrize(
    ("start", "period", "expected"),
    [
        (date(2026, 1, 31), Period(months=1), date(2026, 2, 28)),
        (date(2024, 1, 31), Period(months=1), date(2024, 2, 29)),
        (date(2026, 11, 30), Period(months=3), date(2027, 2, 28)),
        (date(2026, 10, 1), Period(weeks=6), date(2026, 11, 12)),
        (date(2026, 12, 28), Period(weeks=2), date(2027, 1, 11)),
        (date(2024, 2, 29), Period(years=1), date(2025, 2, 28)),
        (date(2026, 3, 15), Period(years=10), date(2036, 3, 15)),
        (date(2026, 3, 15), Period(days=10), date(2026, 3, 25)),
    ],
)
def test_last_day(start: date, period: Period, expected: date) -> None:
    assert last_day(start, period) == expected


def test_last_day_needs_exactly_one_unit() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        last_day(date(2026, 1, 1), Period(weeks=1, days=2))
    with pytest.raises(ValueError, match="exactly one"):
        last_day(date(2026, 1, 1), Period())


# ------------------------------------------------- the Algemene termijnenwet (weekends and holidays)

#: 2026-05-15, the Friday after Hemelvaartsdag: a day the Crown equated with a holiday (art. 3 lid 3)
EQUATED = frozenset({date(2026, 5, 15)})


@pytest.mark.parametrize(
    ("start", "period", "last", "because"),
    [
        # 6 weeks for a bezwaar from Saturday 24 October 2026: Saturday 5 December -> Monday 7 December
        (date(2026, 10, 24), Period(weeks=6), date(2026, 12, 7), "weekend"),
        # ... from Sunday 1 November: Sunday 13 December -> Monday 14 December
        (date(2026, 11, 1), Period(weeks=6), date(2026, 12, 14), "weekend"),
        # 3 months for an appeal from 1 October 2026: Nieuwjaarsdag, a Friday -> Monday 4 January 2027
        (date(2026, 10, 1), Period(months=3), date(2027, 1, 4), "new_year"),
        # Goede Vrijdag 3 April 2026, then the weekend and Tweede Paasdag -> Tuesday 7 April
        (date(2026, 3, 20), Period(weeks=2), date(2026, 4, 7), "good_friday"),
        # Tweede Paasdag 6 April 2026 -> Tuesday 7 April
        (date(2026, 3, 23), Period(weeks=2), date(2026, 4, 7), "easter_monday"),
        # Koningsdag, Monday 27 April 2026 -> Tuesday 28 April
        (date(2026, 4, 13), Period(weeks=2), date(2026, 4, 28), "kings_day"),
        # 5 May, a Tuesday in 2026 (a holiday for the Atw every year) -> Wednesday 6 May
        (date(2026, 4, 21), Period(weeks=2), date(2026, 5, 6), "liberation_day"),
        # Hemelvaartsdag 14 May 2026, and the equated Friday after it -> Monday 18 May
        (date(2026, 4, 30), Period(weeks=2), date(2026, 5, 18), "ascension_day"),
        (date(2026, 5, 1), Period(weeks=2), date(2026, 5, 18), "equated"),
        # Tweede Pinksterdag 25 May 2026 -> Tuesday 26 May
        (date(2026, 5, 11), Period(weeks=2), date(2026, 5, 26), "whit_monday"),
        # Eerste Kerstdag, a Friday in 2026: Christmas, the weekend -> Monday 28 December
        (date(2026, 12, 11), Period(weeks=2), date(2026, 12, 28), "christmas_day"),
        (date(2026, 11, 25), Period(months=1), date(2026, 12, 28), "christmas_day"),
        # a working day stays
        (date(2026, 10, 1), Period(weeks=6), date(2026, 11, 12), None),
    ],
)
def test_the_atw_moves_a_last_day_off_a_weekend_or_holiday(start: date, period: Period, last: date,
                                                           because: str | None) -> None:
    found = legal_last_day(start, last_day(start, period), atw=True, equated=EQUATED)
    assert (found.day, found.because) == (last, because)
    assert found.calendar == last_day(start, period)
    assert found.moved == (because is not None)
    assert atw_day_off(found.day, EQUATED) is None


def test_without_the_atw_the_last_day_is_the_calendar_day() -> None:
    saturday = last_day(date(2026, 10, 24), Period(weeks=6))
    assert saturday.weekday() == 5
    found = legal_last_day(date(2026, 10, 24), saturday, atw=False, equated=EQUATED)
    assert (found.day, found.moved, found.because) == (saturday, False, None)


def test_a_short_period_gets_two_working_days() -> None:
    """Art. 2 Atw: a period of at least three days holds at least two working days."""
    # 3 days from Thursday 24 December 2026: Christmas, Saturday, Sunday; art. 1 gives Monday 28,
    # art. 2 one more working day: Tuesday 29 December
    found = legal_last_day(date(2026, 12, 24), date(2026, 12, 27), atw=True)
    assert (found.day, found.because) == (date(2026, 12, 29), "weekend")
    # 3 days from Friday 1 May 2026: Saturday, Sunday, Monday 4 May; art. 2 moves on past 5 May
    found = legal_last_day(date(2026, 5, 1), date(2026, 5, 4), atw=True)
    assert (found.day, found.because) == (date(2026, 5, 6), "working_days")
    # two days are no period of three: art. 2 does not apply, art. 1 does
    found = legal_last_day(date(2026, 12, 3), date(2026, 12, 5), atw=True)
    assert found.day == date(2026, 12, 7)


@pytest.mark.parametrize(
    ("period", "excluded"),
    [
        (Period(days=90), False), (Period(days=91), True), (Period(weeks=12), False), (Period(weeks=13), True),
        (Period(months=3), False), (Period(months=4), True), (Period(years=1), True), (Period(weeks=2), False),
    ],
)
def test_art_4_atw_excludes_long_periods(period: Period, excluded: bool) -> None:
    """Not for periods "in meer dan 90 dagen, in meer dan twaalf weken, in meer dan drie maanden, of in
    een of meer jaren" (art. 4 onderdeel a Atw)."""
    assert atw_excluded(period) == excluded


def test_only_the_periods_set_in_a_law_move(directory: Directory) -> None:
    """Bezwaar (Awb), the municipality's decision (Awb), hoger beroep (Rv) and the judge on a written
    instruction (BW) are periods in a law; a body's own complaint rules and periods of a year are not."""
    moving = {(entry_id, item.id) for entry_id, entry in directory.entries.items() for item in entry.deadlines
              if item.atw}
    assert moving == {("gemeente_bezwaar", "indienen"), ("gemeente_bezwaar", "beslistermijn"),
                      ("hoger_beroep_gerechtshof", "indienen"), ("kinderrechter_aanwijzing", "indienen")}
    for entry_id, deadline_id in moving:
        assert not atw_excluded(directory[entry_id].deadline(deadline_id).period), entry_id
    rule = directory["algemene_termijnenwet"]
    assert rule.source.startswith("https://wetten.overheid.nl/jci1.3:c:BWBR0002448")
    assert rule.checked is None and rule.confidence == "unverified", "read in a copy, not on the live page"


def test_the_equated_days_are_bridge_days_next_to_a_holiday(directory: Directory) -> None:
    """The days the Crown equated (art. 3 lid 3 Atw) are taken from secondary pages: each must at least be
    a weekday between a holiday and a weekend, as such decrees choose them."""
    entry = directory["atw_gelijkgestelde_dagen"]
    assert entry.confidence == "unverified" and entry.checked is None
    days = (entry.value or {})["dagen"]
    assert isinstance(days, list) and date(2026, 5, 15) in days
    for day in days:
        before, after = day - timedelta(days=1), day + timedelta(days=1)
        holidays = atw_holidays(before.year) | atw_holidays(after.year)
        assert day.weekday() < 5 and day not in atw_holidays(day.year), day
        assert (before in holidays and after.weekday() == 5) or (after in holidays and before.weekday() == 6), day


def test_atw_on_a_period_art_4_excludes_is_reported(tmp_path: Path) -> None:
    text = GOOD_ENTRY + (
        "    deadlines:\n"
        "      - id: indienen\n"
        "        period: {years: 1}\n"
        "        counted_from: {nl: x, en: x}\n"
        "        source: https://example.org/wet\n"
        "        atw: true\n"
    )
    (problem,) = _problems(tmp_path, {"a.yaml": text})
    assert ":15:14:" in problem and "art. 4 onderdeel a Atw" in problem and "remove atw: true" in problem


# ------------------------------------------------------------------ staleness


def test_stale_entries(directory: Directory) -> None:
    assert stale_entries(directory.entries, 365, RESEARCHED_LATER) == []
    later = RESEARCHED_LATER + timedelta(days=400)
    stale = stale_entries(directory.entries, 365, later)
    assert {s.entry_id for s in stale} == set(directory.entries)
    assert all(s.age_days == (later - directory[s.entry_id].as_of).days for s in stale)
    oldest = max(s.age_days for s in stale)
    assert stale_entries(directory.entries, oldest, later) == []


# ---------------------------------------------------------------------- cards


def test_card_in_dutch(directory: Directory, words: dict[str, CardWords]) -> None:
    card = render_card(directory["veilig_thuis"], "nl", words["nl"])
    lines = card.splitlines()
    assert lines[0] == "Veilig Thuis"
    assert "Telefoon: 0800-2000" in lines
    assert "Kosten: gratis." in lines
    assert lines[-1] == "Bron: https://www.veiligthuisutrecht.nl/over-ons/wat-doet-veilig-thuis/, nog niet opnieuw gecontroleerd"
    assert "Let op:" not in card


def test_only_a_live_check_makes_a_card_say_checked_on_a_date(directory: Directory,
                                                              words: dict[str, CardWords]) -> None:
    checked = directory["veilig_thuis"].model_copy(update={"checked": date(2026, 12, 3)})
    assert render_card(checked, "nl", words["nl"]).splitlines()[-1] == (
        "Bron: https://www.veiligthuisutrecht.nl/over-ons/wat-doet-veilig-thuis/ (gecontroleerd op 3 december 2026)")
    assert render_card(checked, "en", words["en"]).splitlines()[-1] == (
        "Source: https://www.veiligthuisutrecht.nl/over-ons/wat-doet-veilig-thuis/ (checked on 3 December 2026)")


def test_an_entry_must_say_when_its_facts_were_checked_or_researched(directory: Directory) -> None:
    undated = directory["veilig_thuis"].model_copy(update={"researched": None})
    [(path, message, fix)] = entry_problems(undated)
    assert path == ("source",)
    assert "checked:" in message and "researched:" in message
    assert "researched: YYYY-MM-DD" in fix


def test_card_in_english_shows_both_numbers(directory: Directory, words: dict[str, CardWords]) -> None:
    card = render_card(directory["zelfmoordpreventie_113"], "en", words["en"])
    assert "Phone: 113 or 0800-0113" in card
    assert card.splitlines()[-1] == (
        "Source: https://www.upday.com/nl/binnenland/nummer-113-nu-gratis-betere-hulp-bij-zelfdodingsgedachten/pj8neqt,"
        " not yet re-checked")


def test_card_of_uncertain_entry_leads_with_website_and_warns(directory: Directory, words: dict[str, CardWords]) -> None:
    card = render_card(directory["jeugdstem"], "nl", words["nl"])
    lines = card.splitlines()
    website = lines.index("Website: https://jeugdstem.nl")
    phone = next(i for i, line in enumerate(lines) if line.startswith("Telefoon:"))
    assert website < phone
    assert any(line.startswith("Let op: ") for line in lines)
    assert lines[-1].startswith("Bron: ")


@pytest.mark.parametrize(("lang", "old_number", "free"), [
    ("nl", "Oud nummer van AKJ (van vóór 2023).", "Kosten: gratis."),
    ("en", "AKJ's old number (from before 2023).", "Cost: free."),
])
def test_the_jeugdstem_card_keeps_no_old_akj_contact_and_says_the_number_is_old(
        directory: Directory, words: dict[str, CardWords], lang: str, old_number: str, free: str) -> None:
    """Try-out finding: the card showed AKJ's e-mail and called Jeugdstem's free help "partly free".
    No stored page of Jeugdstem gives its own number, e-mail or address; AKJ's e-mail is out, the
    number (only on regelhulp.nl, under the old name) is said to be old, and nothing is checked live."""
    entry = directory["jeugdstem"]
    card = render_card(entry, lang, words[lang])
    assert "akj.nl" not in card and entry.email is None and entry.postal_address is None
    assert old_number in card and free in card
    assert entry.checked is None and entry.confidence == "conflicting"
    assert card.splitlines()[-1].endswith(("nog niet opnieuw gecontroleerd", "not yet re-checked"))


def test_a_card_whose_source_is_the_law_does_not_say_it_is_not_from_the_law(
        directory: Directory, words: dict[str, CardWords]) -> None:
    """Try-out finding: "Dit komt uit een uitleg van de wet, niet uit de wet zelf" above
    "Bron: wetten.overheid.nl/..." read as if the bot contradicted its own source."""
    for entry_id, entry in directory.entries.items():
        if not entry.source.startswith("https://wetten.overheid.nl/"):
            continue
        for lang, odd in (("nl", "niet uit de wet zelf"), ("en", "not the law itself")):
            assert odd not in render_card(entry, lang, words[lang]), entry_id


def test_every_entry_renders_in_both_languages(directory: Directory, words: dict[str, CardWords]) -> None:
    for entry in directory.entries.values():
        for lang in ("nl", "en"):
            card = render_card(entry, lang, words[lang])
            assert entry.source in card.splitlines()[-1]


def test_card_words_come_from_the_given_texts(directory: Directory, words: dict[str, CardWords]) -> None:
    from dataclasses import replace

    changed = replace(words["nl"], phone="Tel.")
    assert "Tel.: 0800-2000" in render_card(directory["veilig_thuis"], "nl", changed)
    texts = {key: key.upper() for key in CARD_TEXT_KEYS}
    made = CardWords.from_texts(texts)
    assert made.cost_values == {"free": "COST_VALUE.FREE", "paid": "COST_VALUE.PAID", "mixed": "COST_VALUE.MIXED"}
    card = render_card(directory["kinderombudsman"], "en", made)
    assert card.splitlines()[-1].endswith(", NOT_RECHECKED")
    checked = directory["kinderombudsman"].model_copy(update={"checked": date(2026, 11, 29)})
    assert render_card(checked, "en", made).splitlines()[-1].endswith("(CHECKED_ON 29 November 2026)")
    del texts["caution"]
    with pytest.raises(KeyError, match=r"directory\.card\.caution"):
        CardWords.from_texts(texts)


def test_every_deadline_shows_texts_its_own_source_and_whether_it_was_checked() -> None:
    """A computed deadline must say where its rule comes from: `d.<entry>.deadlines.<rule>.source_line`."""
    from bot.app import load_flows
    from bot.settings import Settings

    fs = load_flows(Settings())
    entries = load_directory(ROOT / "flows" / "directory").entries
    rules = [(entry_id, item) for entry_id, entry in entries.items() for item in entry.deadlines]
    assert len(rules) >= 10
    for entry_id, item in rules:
        assert item.source.startswith("https://"), (entry_id, item.id)
        checked = entries[entry_id].checked
        nl = (f"Bron: {item.source}, nog niet opnieuw gecontroleerd" if checked is None
              else f"Bron: {item.source} (gecontroleerd op {format_date(checked, 'nl')})")
        en = (f"Source: {item.source}, not yet re-checked" if checked is None
              else f"Source: {item.source} (checked on {format_date(checked, 'en')})")
        for lang, line in (("nl", nl), ("en", en)):
            view = fs.directory_views[lang][entry_id]["deadlines"][item.id]
            assert (view["source"], view["source_line"]) == (item.source, line), (entry_id, item.id, lang)


def test_no_card_word_is_left_in_python() -> None:
    source = (ROOT / "bot" / "directory.py").read_text(encoding="utf-8")
    for word in ("Telefoon", "Bron", "gecontroleerd", "Let op", "gratis", "Kosten", "november"):
        assert word not in source, word


# ------------------------------------------------------------------ texts show the directory's facts


def _typed_in(text: str, literals: set[str]) -> list[str]:
    """The directory numbers and websites a text types itself (outside its `{{ }}`/`{% %}` parts)."""
    plain = re.sub(r"{{.*?}}|{%.*?%}|{#.*?#}", "", text, flags=re.S)
    host = re.compile(r"^https://(www\.)?")
    found = []
    for literal in literals:
        shown = host.sub("", literal).rstrip("/")
        if re.search(rf"(?<![\w.-]){re.escape(shown)}(?![\w-]|\.\w)", plain):
            found.append(literal)
    return sorted(found)


def test_no_text_types_a_phone_number_or_website_of_the_directory(directory: Directory) -> None:
    """A moderator edits a number once in flows/directory; a text that typed it in would keep the old one."""
    locales, problems = load_locales(ROOT / "locales", ROOT)
    assert problems == []
    literals = {str(v) for e in directory.entries.values() for v in (e.phone, e.phone_alt, e.website) if v}
    typed = {f"{lang}:{key}": found for lang, texts in locales.texts.items() for key, text in texts.items()
             if (found := _typed_in(text.source, literals))}
    assert typed == {}


def test_the_help_text_shows_the_emergency_number_from_the_directory(directory: Directory) -> None:
    number = directory.entries["alarm_112"].phone
    locales, _ = load_locales(ROOT / "locales", ROOT)
    for lang, line in (("nl", "Ben je in gevaar? Bel 999."), ("en", "In danger? Call 999.")):
        shown = locales.render(lang, "sys.help", {"d": {"alarm_112": {"phone": "999"}}})
        assert shown.splitlines()[-1] == line
        assert locales.render(lang, "sys.help", {"d": {"alarm_112": {"phone": number}}}).endswith(f" {number}.")


# ------------------------------------------------------------ moderator errors

GOOD_ENTRY = """\
entries:
  voorbeeld:
    kind: helpline
    name: {nl: Voorbeeld, en: Example}
    purpose: {nl: Voor een test., en: For a test.}
    phone: "0800-0000"
    source: https://example.org/page
    checked: 2026-11-29
    confidence: verified
"""


def _problems(tmp_path: Path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(DirectoryError) as info:
        load_directory(tmp_path)
    return [str(p) for p in info.value.problems]


def test_a_good_file_loads(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD_ENTRY, encoding="utf-8")
    assert load_directory(tmp_path)["voorbeeld"].phone == "0800-0000"


def test_unknown_field_is_reported_with_position_and_allowed_fields(
    tmp_path: Path,
) -> None:
    text = GOOD_ENTRY.replace('    phone: "0800-0000"', '    phonee: "0800-0000"')
    (problem,) = _problems(tmp_path, {"a.yaml": text})
    assert f"{tmp_path / 'a.yaml'}:6:5:" in problem
    assert "phonee" in problem and "allowed here:" in problem and "phone_alt" in problem


def test_missing_source_and_http_url_are_reported(tmp_path: Path) -> None:
    text = GOOD_ENTRY.replace("    source: https://example.org/page\n", "").replace(
        "confidence: verified", "confidence: verified\n    website: http://example.org"
    )
    problems = _problems(tmp_path, {"a.yaml": text})
    assert any("source" in p and "Field required" in p and "add 'source:'" in p for p in problems)
    assert any(":9:14:" in p and "https" in p for p in problems)


def test_unquoted_number_gets_a_hint(tmp_path: Path) -> None:
    text = GOOD_ENTRY.replace('phone: "0800-0000"', "phone: 112")
    (problem,) = _problems(tmp_path, {"a.yaml": text})
    assert ":6:12:" in problem and "in quotes" in problem


def test_uncertain_entry_without_note_is_reported_at_confidence(tmp_path: Path) -> None:
    text = GOOD_ENTRY.replace("confidence: verified", "confidence: old")
    (problem,) = _problems(tmp_path, {"a.yaml": text})
    assert ":9:17:" in problem and "confidence_note" in problem


def test_duplicate_id_across_files_is_reported(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {"a.yaml": GOOD_ENTRY, "b.yaml": GOOD_ENTRY})
    assert len(problems) == 1
    assert f"{tmp_path / 'b.yaml'}:2:3:" in problems[0]
    assert str(tmp_path / "a.yaml") in problems[0]


def test_yaml_syntax_error_is_reported_with_line(tmp_path: Path) -> None:
    text = GOOD_ENTRY.replace("    kind: helpline", "    kind: helpline: oops")
    (problem,) = _problems(tmp_path, {"a.yaml": text})
    assert "YAML syntax error" in problem and f"{tmp_path / 'a.yaml'}:3:" in problem


def test_bad_deadline_is_reported_inside_the_list(tmp_path: Path) -> None:
    text = GOOD_ENTRY + (
        "    deadlines:\n"
        "      - id: indienen\n"
        "        period: {weeks: 6, days: 2}\n"
        "        counted_from: {nl: x, en: x}\n"
        "        source: https://example.org\n"
    )
    (problem,) = _problems(tmp_path, {"a.yaml": text})
    assert ":12:" in problem and "exactly one of" in problem


def test_fields_shared_with_an_anchor_load_and_keep_positions(tmp_path: Path) -> None:
    text = GOOD_ENTRY.replace("  voorbeeld:\n", "  voorbeeld: &shared\n") + (
        "  tweede:\n"
        "    <<: *shared\n"
        '    phone: "0800-1111"\n'
    )
    (tmp_path / "a.yaml").write_text(text, encoding="utf-8")
    loaded = load_directory(tmp_path)
    assert loaded["tweede"].phone == "0800-1111" and loaded["tweede"].kind == "helpline"
    assert (loaded.where("tweede", "phone").line, loaded.where("tweede", "phone").col) == (12, 12)
    assert loaded.where("tweede", "kind").line == 10  # merged in: the entry itself
