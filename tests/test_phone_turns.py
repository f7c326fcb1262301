"""A turn a person reads on a phone: a short answer first, the rest behind "Meer uitleg".

Why: speaking at the council (inspreken) answered the municipality with eight messages in a
row, and the e-mail with five more; the complaint chain after the deadline sent nine to eleven,
the safety steps for a threatened professional eleven to thirteen. On a phone that is a wall
nobody reads to the end. A turn sends at most three messages (two cards and the question under
them). A letter's copy to paste, cut into as few messages as fit, is not counted: it is one
text, meant to be copied; nor is the document itself.

Every scenario transcript (tests/scenarios/, and the desk scenarios with a desk) is walked;
what is not short yet is named in `NOT_YET`, with the most it may send and why.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import build_core, load_flows
from bot.events import Edit, Send
from bot.markup import plain
from bot.scenarios import load_scenario, run_files, scenario_files
from bot.settings import ROOT, Settings
from bot.testing import CaptureOutlet, ChatClient, FixedClock

MOST_PER_TURN = 3

SCENARIOS = ROOT / "tests" / "scenarios"
DESK_SCENARIOS = ROOT / "tests" / "fixtures" / "scenarios_desk"

#: Scenario files (a pattern) whose turns may still send more than three messages: the most
#: they may send, and why. Make this list shorter, never longer; an entry no longer needed fails.
NOT_YET: dict[str, tuple[int, str]] = {
    "complaint_file_gemeente_en": (4, "which law applies is not clear: both laws' cards, then the question"),
    "menu_help_lines_*": (7, "the help lines for danger: five numbers at once, by design (112, 113, Veilig Thuis ...)"),
}

#: (what the person does, as the scenarios write it: "!" presses a button), per language
COUNCIL = {
    "nl": ["/start inspreken", "Utrecht", "!Meer uitleg", "!Meer uitleg", "!Meer uitleg", "wachtlijsten in de jeugdzorg",
           "!Nee, nog niet", "!Voor mezelf", "Gezinnen wachten maanden op hulp nadat de rechter een maatregel oplegt.",
           "Spreek met de aanbieders af dat hulp binnen een vaste tijd begint.", "!Klopt, maak de e-mail", "!Liever niet",
           "!Ja, laat zien"],
    "en": ["/start inspreken", "Utrecht", "!More explanation", "!More explanation", "!More explanation",
           "waiting lists in youth care", "!No, not yet", "!For myself",
           "Families wait for months for help after the judge orders a measure.",
           "Agree with the providers that help starts within a fixed time.", "!That is right, make the e-mail",
           "!I would rather not", "!Yes, show them"],
}


def counted(messages: list[Send | Edit]) -> int:
    """Messages a person scrolls through, without a letter's copy (after the document, up to the question)."""
    count, in_copy = 0, False
    for message in messages:
        if isinstance(message, Send) and message.document is not None:
            count, in_copy = count + 1, True
        elif in_copy and not message.choices:
            continue
        else:
            count, in_copy = count + 1, False
    return count


@pytest.mark.parametrize("lang", ["nl", "en"])
async def test_speaking_at_the_council_comes_in_short_turns(tmp_path: Path, lang: str) -> None:
    core = await build_core(Settings(_env_file=None, db=tmp_path / "t.sqlite3", watch_flows=False))  # type: ignore[call-arg]
    core.clock = FixedClock(datetime(2026, 12, 9, 10, 0, tzinfo=UTC))
    outlet = CaptureOutlet(platform="console")
    core.register(outlet)
    client = ChatClient(core, outlet)
    try:
        await client.say("ann", "/language en" if lang == "en" else "/language nl")
        outlet.take()
        turns = []
        for step in COUNCIL[lang]:
            await (client.press("ann", step[1:]) if step.startswith("!") else client.say("ann", step))
            messages, _posts = outlet.take()
            turns.append((step, counted(messages)))
        assert all(n >= 1 for _, n in turns), turns
        assert max(n for _, n in turns) <= MOST_PER_TURN, turns
        assert any(m.document is not None for m in outlet.sent["ann"] if isinstance(m, Send)), "the e-mail came"
    finally:
        await core.stop()
        await core.store.close()


#: A sentence ends at . ! ? or a line break; a short one ("Klopt dat?", "Bel 112.") may come twice.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
SHORTEST_REPEAT = 30


#: Sentences that two texts shown together both say (a card and a route's text, or two cards; each
#: is also shown alone elsewhere, so each keeps it), found when this check came (2026-12-07): the
#: sentence and where it comes twice. Make this list shorter, never longer.
SKJ_PAGE = "https://tuchtrecht.skjeugd.nl/tuchtrecht/klachten/een-klacht-indienen/"
KNOWN_TWICE: dict[str, str] = {
    **dict.fromkeys(["Klaag eerst bij de organisatie zelf.", "Complain to the organisation itself first."],
                    "the Nationale ombudsman's and the Kinderombudsman's cards, side by side"),
    **dict.fromkeys(["Dan kun je een gratis advocaat krijgen.", "Then you can get a free lawyer.",
                     "Dan betaalt de overheid vaak mee aan een advocaat.", "Then the government often pays towards a lawyer.",
                     "There you may say what you think.", "Then you can appeal to the court of appeal (gerechtshof).",
                     "Then you can complain to the Procurator General at the Supreme Court.",
                     "Let op: Nog niet door een mens nagekeken in de wet.",
                     "Please note: No person has checked this in the law yet."],
                    "the placement route's text and a court or lawyer card under it"),
    **dict.fromkeys(["Open: Dag en nacht, elke dag (24/7).", "Open: Day and night, every day (24/7).",
                     "De tijden staan op de website."], "two help lines' cards with the same hours"),
    **dict.fromkeys([f"Bron: {SKJ_PAGE}, nog niet opnieuw gecontroleerd", f"Source: {SKJ_PAGE}, not yet re-checked"],
                    "two SKJ cards (a complaint about a worker, for a relative) from one page"),
}


def repeated(messages: list[Send | Edit], typed: list[str]) -> list[str]:
    """Sentences said twice in one turn, a letter's copy (a text of its own) and the person's own words left out.

    Why: try-out 34 read the Raad's address note twice in one message ("naar de vestiging die je
    zaak heeft", once from the flow, once from the directory's note) and "Bewaar een kopie" with
    Jeugdstem in the letter's tips and again in the goodbye under them; each message was short
    enough, so only the turn shows it. What the person typed may come back (a story quoted back)."""
    seen: set[str] = set()
    twice: list[str] = []
    in_copy = False
    for message in messages:
        if isinstance(message, Send) and message.document is not None:
            in_copy = True
        elif in_copy and not message.choices:
            continue
        else:
            in_copy = False
        for sentence in SENTENCE_END.split(plain(message.text)):
            sentence = sentence.strip()
            if (len(sentence) >= SHORTEST_REPEAT and sentence in seen
                    and not any(sentence in text for text in typed)):
                twice.append(sentence)
            seen.add(sentence)
    return twice


def typed_in(path: str) -> list[str]:
    scenario, _positions = load_scenario(ROOT / path)
    return [turn.user for turn in scenario.turns if turn.user]


def most_allowed(stem: str) -> int:
    return max([MOST_PER_TURN, *(most for pattern, (most, _why) in NOT_YET.items() if fnmatch.fnmatch(stem, pattern))])


async def walked(folder: Path, settings: Settings) -> list[tuple[str, int, int, list[str]]]:
    """(scenario, turn, messages counted, sentences said twice) for every turn of every scenario in `folder`."""
    report = await run_files(scenario_files([folder]), load_flows(Settings()), settings, root=ROOT)
    assert not report.broken, report.broken
    return [(Path(result.path).stem, turn, counted(messages), repeated(messages, typed_in(result.path)))
            for result in report.results for turn, messages in enumerate(result.sent, start=1)]


async def test_every_scenario_turn_fits_on_a_phone(tmp_path: Path) -> None:
    turns = await walked(SCENARIOS, Settings(_env_file=None))  # type: ignore[call-arg]
    turns += await walked(DESK_SCENARIOS, Settings(  # type: ignore[call-arg]
        _env_file=None, db=tmp_path / "desk.sqlite3", desks="console:desk", desk_hours="always", flood_per_minute=0))
    assert len({stem for stem, _, _, _ in turns}) > 100, "every scenario is walked"

    too_long = [(stem, turn, n) for stem, turn, n, _ in turns if n > most_allowed(stem)]
    assert too_long == [], "a turn sends more messages than a phone shows: put the rest behind a button"
    twice = [(stem, turn, said) for stem, turn, _, said in turns if set(said) - set(KNOWN_TWICE)]
    assert twice == [], "a turn says the same sentence twice: say it once"
    assert set(KNOWN_TWICE) - {s for _, _, _, said in turns for s in said} == set(), (
        "these come once now: take them off KNOWN_TWICE")
    still_needed = {pattern for pattern in NOT_YET
                    for stem, _, n, _ in turns if n > MOST_PER_TURN and fnmatch.fnmatch(stem, pattern)}
    assert set(NOT_YET) - still_needed == set(), "these are short now: take them off NOT_YET"
