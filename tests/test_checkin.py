"""The home-visit check-in (flows/checkin.yaml) with timers in the database (bot/timers.py).

Conversations through the real core and store; the clock is moved by hand and
timers are fired the way the bot's loop fires them (timers.fire_due).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.engine import TurnContext, handle
from bot.events import Choice, Command, Edit, Send
from bot.flows.loader import load_flowset
from bot.scenarios import run_files, scenario_files
from bot.settings import Settings
from bot.state import State
from bot.timers import parse_moment
from tests.conftest import FIXTURE_FLOWS, FIXTURE_LOCALES, TODAY
from tests.desk_harness import MONDAY_10, World, build_flows

ASK_OK = "Je huisbezoek zou nu voorbij zijn. Ben je veilig? Typ ja, of tik op \"Hulp!\" als je hulp nodig hebt."
DURING = "Tik op \"Klaar, alles goed\" als je bezoek voorbij is. Voel je je niet veilig? Tik op \"Hulp!\" of typ hulp."
HELP_ALERTED = ("Ik heb het veiligheidsloket gewaarschuwd. Het kenmerk is WW-2026-0001.\n"
                "Is er direct gevaar? Bel nu 112.\n"
                "Je krijgt bericht zodra iemand je melding oppakt.")
HELP_NOBODY = ("Er is hier geen veiligheidsloket ingesteld. Ik heb niemand gewaarschuwd.\n"
               "Is er direct gevaar? Bel nu 112.\n"
               "Heb je hulp nodig, maar is er geen direct gevaar? Bel dan zelf je leidinggevende of een collega. "
               "De politie zonder spoed: 0900-8844.")
MISSED_ALERTED = ("Je gaf geen antwoord, dus ik heb het veiligheidsloket gewaarschuwd. Het kenmerk is WW-2026-0001.\n"
                  "Is alles goed? Laat het veiligheidsloket dat dan even weten.\n"
                  "Is er direct gevaar? Bel 112.")
MISSED_NOBODY = ("Je gaf geen antwoord. Er is hier geen veiligheidsloket ingesteld, dus ik heb niemand gewaarschuwd.\n"
                 "Is er direct gevaar? Bel 112.\n"
                 "Heb je hulp nodig? Bel dan zelf je leidinggevende of een collega.")
#: check-in scenarios that need a desk (tests/scenarios runs without one)
DESK_SCENARIOS = Path(__file__).parent / "fixtures" / "scenarios_desk"
#: what the bot may only say once the desk really has the alert
CLAIM = "ik heb het veiligheidsloket gewaarschuwd"
#: the check-in's promise, made only where a desk is set up
PROMISE = "dan waarschuw ik het veiligheidsloket van je organisatie"
NO_DESK_INTRO = ("Let op: er is hier geen veiligheidsloket ingesteld. Ik kan dus niemand waarschuwen als je niet antwoordt "
                 "of om hulp vraagt.\n"
                 "Spreek daarom een check-in af met een collega. Die belt jou als je je niet op tijd meldt.\n"
                 "Is er direct gevaar? Bel 112.\n"
                 "Wil je toch een herinnering? Dan vraag ik na je bezoek of alles goed is. Maar ik waarschuw niemand.")
NO_DESK_INTRO_EN = ("Please note: no safety desk is set up here. So I cannot alert anyone if you do not answer "
                    "or ask for help.\n"
                    "Agree a check-in with a colleague instead. They call you if you have not checked in on time.\n"
                    "In danger right now? Call 112.\n"
                    "Do you still want a reminder? Then I will ask after your visit whether you are all right. "
                    "But I will not alert anyone.")
HOW_LONG_BARE = "Je bezoek begint nu. Hoe lang duurt het ongeveer?"


@pytest.fixture
async def world(tmp_path):
    w = await World(tmp_path).start()
    yield w
    await w.close()


@pytest.fixture
async def no_desk(tmp_path):
    """An installation where nobody set up a desk (no WEGWIJZER_DESKS)."""
    w = await World(tmp_path, desks="").start()
    yield w
    await w.close()


def cases_in_db(world: World) -> int:
    [(count,)] = world.rows("SELECT COUNT(*) FROM cases")
    return int(count)


def timers_in_db(world: World) -> list[tuple[str, str]]:
    """(name, due time in Dutch time HH:MM) of every pending timer, read from the database."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    found = world.rows("SELECT name, due_at FROM timers ORDER BY due_at")
    return [(name, datetime.fromtimestamp(due, ZoneInfo("Europe/Amsterdam")).strftime("%H:%M")) for name, due in found]


async def start_visit(world: World, user: str = "pro", *, address: str | None = "Zonnebloemstraat 17, Utrecht",
                      contact: str | None = None, minutes: str = "m60") -> list[str]:
    said = await world.start_over(user, "huisbezoek")
    assert said[0].startswith("Ik houd een oogje in het zeil tijdens je huisbezoek.")
    await world.press(user, minutes)
    if address:
        await world.press(user, "yes")
        await world.say(user, address)
    else:
        await world.press(user, "no")
    if contact:
        await world.press(user, "yes")
        return await world.say(user, contact)
    return await world.press(user, "no")


async def start_reminder(world: World, user: str = "pro", minutes: str = "m60") -> list[str]:
    """Without a desk: hear that nobody can be alerted, go on as a plain reminder."""
    assert await world.start_over(user, "huisbezoek") == [NO_DESK_INTRO]
    assert await world.press(user, "reminder") == [HOW_LONG_BARE]
    return await world.press(user, minutes)


async def test_a_visit_sets_a_timer_in_the_database_and_says_when_it_will_ask(world):
    said = await start_visit(world)
    assert said == ["Afgesproken. Om 11:00 vraag ik of alles goed is.\nIs er nu direct gevaar? Bel 112.", DURING]
    assert timers_in_db(world) == [("checkin", "11:00")]


async def test_at_the_time_the_bot_asks_and_a_yes_ends_the_check_in_without_an_alert(world):
    await start_visit(world)
    world.clock.advance(minutes=59)
    assert await world.fire_timers() == 0
    world.clock.advance(minutes=1)
    assert await world.fire_timers() == 1
    assert world.outlet.texts("pro")[-1] == ASK_OK
    assert timers_in_db(world) == [("grace", "11:10")]
    assert await world.say("pro", "ja") == ["Fijn dat alles goed is.", DURING]
    assert timers_in_db(world) == []
    assert await world.press("pro", "yes") == ["Fijn dat alles goed ging. De check-in is gestopt."]
    world.clock.advance(hours=2)
    assert await world.fire_timers() == 0
    await world.post_desk()
    assert world.outlet.posts == []


async def test_a_missed_check_in_alerts_the_desk_after_a_restart_of_the_bot(world):
    await start_visit(world, contact="Sanne, 06-11112222")
    await world.restart()  # the bot goes down during the visit ...
    world.clock.advance(minutes=61)
    assert await world.fire_timers() == 1  # ... and asks once it is back
    assert world.outlet.texts("pro")[-1] == ASK_OK
    await world.restart()  # and again, before the grace period is over
    world.clock.advance(minutes=10)
    assert await world.fire_timers() == 1
    told, asked_again = world.outlet.texts("pro")[-2:]
    assert told == MISSED_ALERTED  # said by the desk, once the alert was stored for it: first
    assert asked_again == ASK_OK  # the question stays, last: they can still answer it
    assert await world.post_desk() == 1
    [alert] = world.outlet.room_texts()
    assert alert.startswith("🔴 SPOED Melding WW-2026-0001: Huisbezoek: geen antwoord op de check-in")
    for shared in ("Begin bezoek: 10:00", "Verwacht klaar: 11:00", "Adres: Zonnebloemstraat 17, Utrecht",
                   "Naam of nummer: Sanne, 06-11112222"):
        assert shared in alert
    # the desk claims it; the professional hears so
    await world.desk_says("m1", "/claim WW-2026-0001")
    assert world.outlet.texts("pro")[-1] == "Team Wegwijzer heeft je melding WW-2026-0001 opgepakt."


async def test_what_the_professional_did_not_share_is_not_in_the_alert(world):
    await start_visit(world, address=None)
    world.clock.advance(minutes=60)
    await world.fire_timers()
    world.clock.advance(minutes=10)
    await world.fire_timers()
    await world.post_desk()
    [alert] = world.outlet.room_texts()
    assert "Adres: -" in alert and "Naam of nummer: -" in alert


@pytest.mark.parametrize("answer", ["hulp", "Help!", "HULP"])
async def test_a_quick_help_reply_alerts_the_desk_at_once(world, answer):
    await start_visit(world)
    world.clock.advance(minutes=60)
    await world.fire_timers()
    said = await world.say("pro", answer)
    assert said == [HELP_ALERTED, DURING]  # what the desk did first, then back at the visit's question
    assert timers_in_db(world) == []  # no second alert after the grace period
    await world.post_desk()
    assert world.outlet.room_texts()[0].startswith("🔴 SPOED Melding WW-2026-0001: Huisbezoek: professional vraagt om hulp")


async def test_help_during_the_visit_alerts_before_the_time(world):
    await start_visit(world)
    world.clock.advance(minutes=20)
    said = await world.say("pro", "hulp")
    assert said == [HELP_ALERTED, "De check-in is gestopt."]  # the alert's confirmation first
    assert timers_in_db(world) == []
    await world.post_desk()
    assert "Verwacht klaar: 11:00" in world.outlet.room_texts()[0]


# ---------------------------------------------------------------- no desk set up: never "I alerted"


async def test_without_a_desk_help_during_the_visit_says_nobody_was_alerted_and_to_call_112(no_desk):
    await start_reminder(no_desk)
    no_desk.clock.advance(minutes=20)
    assert await no_desk.say("pro", "hulp") == [HELP_NOBODY, "De check-in is gestopt."]
    assert timers_in_db(no_desk) == [] and cases_in_db(no_desk) == 0
    assert not any(CLAIM in t.lower() for t in no_desk.outlet.texts("pro"))


async def test_without_a_desk_a_help_reply_to_the_check_in_says_nobody_was_alerted(no_desk):
    await start_reminder(no_desk)
    no_desk.clock.advance(minutes=60)
    await no_desk.fire_timers()
    assert await no_desk.say("pro", "hulp") == [HELP_NOBODY, DURING]
    assert timers_in_db(no_desk) == [] and cases_in_db(no_desk) == 0


async def test_without_a_desk_a_missed_check_in_says_nobody_was_alerted(no_desk):
    await start_reminder(no_desk)
    no_desk.clock.advance(minutes=60)
    await no_desk.fire_timers()
    await no_desk.restart()
    no_desk.clock.advance(minutes=10)
    assert await no_desk.fire_timers() == 1
    told, asked_again = no_desk.outlet.texts("pro")[-2:]
    assert (told, asked_again) == (MISSED_NOBODY, ASK_OK)
    assert cases_in_db(no_desk) == 0
    assert not any(CLAIM in t.lower() for t in no_desk.outlet.texts("pro"))
    assert await no_desk.say("pro", "ja") == ["Fijn dat alles goed is.", DURING]  # the question still works


async def test_the_check_in_asks_even_when_the_professional_went_elsewhere(world):
    await start_visit(world)
    await world.say("pro", "menu")  # back to the main menu during the visit
    await world.press("pro", "restart")  # the address was typed: "Opnieuw beginnen?" asked first
    menu = world.outlet.texts("pro")[-1]
    world.clock.advance(minutes=60)
    await world.fire_timers()
    assert world.outlet.texts("pro")[-1] == ASK_OK
    assert await world.say("pro", "ja") == ["Fijn dat alles goed is.", menu]  # back where they were


async def test_more_time_moves_the_check_in(world):
    await start_visit(world)
    world.clock.advance(minutes=60)
    await world.fire_timers()
    assert await world.press("pro", "longer") == ["Goed. Om 11:30 vraag ik het opnieuw.", DURING]
    assert timers_in_db(world) == [("checkin", "11:30")]
    world.clock.advance(minutes=15)
    assert await world.fire_timers() == 0  # the old grace period was cancelled


async def test_a_timer_is_fired_once_even_if_the_bot_stops_before_deleting_it(world):
    await start_visit(world)
    world.clock.advance(minutes=60)
    [(token,)] = world.rows("SELECT token FROM timers")
    from bot.events import ConversationKey, Incoming, Timer

    # the loop handled it, then the bot stopped before the row was deleted
    await world.c.handle(Incoming(ConversationKey("test", "pro", "pro"), Timer("checkin"), update_id=f"timer:{token}"))
    asked = world.outlet.texts("pro").count(ASK_OK)
    await world.fire_timers()
    assert world.outlet.texts("pro").count(ASK_OK) == asked == 1


def test_moments_from_flows():
    assert parse_moment("2026-11-30T11:00+01:00") == int(MONDAY_10.timestamp()) + 3600
    assert parse_moment("2026-11-30T11:00") == int(MONDAY_10.timestamp()) + 3600  # Dutch time
    assert parse_moment("straks") is None


async def test_professionals_reach_the_check_in_from_their_menu_and_return_to_it(world):
    await world.start_over("pro")
    await world.press("pro", "professional")
    said = await world.press("pro", "checkin")
    assert said[0].startswith("Ik houd een oogje in het zeil tijdens je huisbezoek.")
    await world.press("pro", "m30")
    await world.press("pro", "no")
    await world.press("pro", "no")
    assert await world.press("pro", "yes") == [
        "Fijn dat alles goed ging. De check-in is gestopt.", world.flows.render("nl", "main.anything_else", {})]


# ---------------------------------------------------------------- no desk set up: honest before it starts


async def test_with_a_desk_the_check_in_promises_the_alert_and_asks_what_to_share(world):
    said = await world.start_over("pro", "huisbezoek")
    assert PROMISE in said[0] and said[0].endswith(HOW_LONG_BARE)
    await world.press("pro", "m60")
    assert world.outlet.texts("pro")[-1].startswith("Wil je het adres van het bezoek doorgeven?")


async def test_without_a_desk_the_check_in_says_first_that_nobody_can_be_alerted(no_desk):
    assert await no_desk.start_over("pro", "huisbezoek") == [NO_DESK_INTRO]
    assert [c.label for c in no_desk.question("pro").choices] == ["Ja, alleen een herinnering", "Nee, stoppen"]
    assert timers_in_db(no_desk) == []  # nothing runs before they choose


async def test_without_a_desk_stopping_starts_no_check_in(no_desk):
    await no_desk.start_over("pro", "huisbezoek")
    assert await no_desk.press("pro", "cancel") == ["Goed, er loopt geen check-in."]
    assert timers_in_db(no_desk) == [] and cases_in_db(no_desk) == 0


async def test_without_a_desk_the_reminder_asks_no_address_and_promises_nothing(no_desk):
    said = await start_reminder(no_desk)
    assert said == ["Afgesproken. Om 11:00 vraag ik of alles goed is. Dit is alleen een herinnering: "
                    "ik waarschuw niemand.\nIs er nu direct gevaar? Bel 112.", DURING]
    assert timers_in_db(no_desk) == [("checkin", "11:00")]
    no_desk.clock.advance(minutes=60)
    assert await no_desk.fire_timers() == 1
    assert no_desk.outlet.texts("pro")[-1] == ASK_OK
    assert await no_desk.say("pro", "ja") == ["Fijn dat alles goed is.", DURING]
    shown = "\n".join(no_desk.outlet.texts("pro"))
    assert PROMISE not in shown and "adres" not in shown.lower() and CLAIM not in shown.lower()


async def test_without_a_desk_the_check_in_is_honest_in_english_too(no_desk):
    await no_desk.say("pro", "english")
    assert await no_desk.start_over("pro", "huisbezoek") == [NO_DESK_INTRO_EN]
    assert [c.label for c in no_desk.question("pro").choices] == ["Yes, just a reminder", "No, stop"]
    assert await no_desk.press("pro", "reminder") == ["Your visit starts now. About how long will it take?"]
    said = await no_desk.press("pro", "m30")
    assert said[0] == ("Agreed. At 10:30 I will ask whether you are safe. This is only a reminder: "
                       "I will not alert anyone.\nIn danger right now? Call 112.")
    assert "safety desk" not in "\n".join(said)


# ---------------------------------------------------------------- the fact comes from the core, not the flow


def test_the_engine_takes_desk_available_from_the_turn_context_only():
    """Pure engine, no settings: the same flows, told a desk exists or not."""
    fs = build_flows()
    asked = {}
    for available in (True, False):
        ctx = TurnContext(today=MONDAY_10.date(), now=MONDAY_10, desk_available=available)
        turn = handle(fs, None, Command("start", "huisbezoek"), ctx)
        asked[available] = [a.text for a in turn.actions if isinstance(a, Send)]
    assert PROMISE in asked[True][0]
    assert asked[False] == [NO_DESK_INTRO]


def test_a_flow_cannot_fake_a_desk():
    fs = build_flows()
    ctx = TurnContext(today=MONDAY_10.date(), now=MONDAY_10, desk_available=False)
    state = State(flow="checkin", step="no_desk", lang="nl", version=fs.version, vars={"desk_available": True})
    turn = handle(fs, state, Choice("reminder", "no_desk"), ctx)
    assert [a.text for a in turn.actions if isinstance(a, Send | Edit)] == [HOW_LONG_BARE]


def test_the_checker_knows_desk_available(tmp_path):
    """A moderator's condition and text using `desk_available` load without an unknown-variable error."""
    shutil.copytree(FIXTURE_FLOWS, tmp_path / "flows")
    shutil.copytree(FIXTURE_LOCALES, tmp_path / "locales")
    main = tmp_path / "flows" / "main.yaml"
    text = main.read_text(encoding="utf-8")
    main.write_text(text.replace("start: welcome", "start: desk_gate", 1)
                    + "  desk_gate:\n    branch:\n      - if: \"desk_available\"\n        next: welcome\n"
                      "      - else: true\n        next: welcome\n", encoding="utf-8")
    flows = load_flowset(tmp_path / "flows", tmp_path / "locales", root=tmp_path, today=TODAY)
    assert flows.flows["main"].start == "desk_gate"


async def test_an_english_professional_hears_the_desk_in_english_and_the_desk_reads_dutch(world):
    await world.say("pro", "english")
    said = await world.start_over("pro", "huisbezoek")
    assert said[0].startswith("I will keep an eye out during your home visit.")
    for choice in ("m60", "no", "no"):
        await world.press("pro", choice)
    world.clock.advance(minutes=20)
    said = await world.say("pro", "help")  # the check-in ends in this turn: the desk still answers in English
    assert said == ["I have alerted the safety desk. The reference is WW-2026-0001.\n"
                    "In danger right now? Call 112 now.\nYou will hear from me as soon as someone picks up your report.",
                    "The check-in has stopped."]
    await world.post_desk()
    [alert] = world.outlet.room_texts()
    assert alert.startswith("🔴 SPOED Melding WW-2026-0001: Huisbezoek: professional vraagt om hulp")
    assert "Begin bezoek: 10:00" in alert and "Verwacht klaar: 11:00" in alert and "Adres: -" in alert
    assert "Visit started" not in alert and "Home visit" not in alert


async def test_the_check_in_scenarios_with_a_desk_pass(tmp_path):
    """tests/fixtures/scenarios_desk: `python -m bot test` runs without a desk, so these run here, with one."""
    settings = Settings(_env_file=None, db=tmp_path / "scenarios.sqlite3",  # type: ignore[call-arg]
                        desks="console:desk", desk_hours="always", flood_per_minute=0)
    files = scenario_files([DESK_SCENARIOS])
    report = await run_files(files, build_flows(), settings)
    assert report.ok, "\n".join(report.broken + [r.report() for r in report.results if not r.ok])
    assert len(report.results) == 5


async def test_a_typed_duration_it_cannot_read_is_answered_with_the_bounds_it_takes(world):
    """'45 min' is not a number: the answer names the range (it once said 'tussen  en ')."""
    said = await world.start_over("pro", "huisbezoek")
    assert said[0].startswith("Ik houd een oogje in het zeil")
    assert await world.press("pro", "other") == ["Hoeveel minuten duurt het bezoek ongeveer? Typ een getal, bijvoorbeeld 45."]
    for typed in ("45 min", "1000"):
        assert await world.say("pro", typed) == [
            "Typ het aantal minuten als getal tussen 5 en 600, bijvoorbeeld 45."], typed
    said = await world.say("pro", "45")
    assert not any("tussen" in line for line in said)


def test_the_check_in_names_the_desk_as_the_rest_of_the_bot_does_in_both_languages():
    """The check-in's texts said "meldpunt" where the safety route says "veiligheidsloket" (English: "the desk"
    where it says "the safety desk"): one word for the same people."""
    repo = Path(__file__).resolve().parent.parent
    texts = load_flowset(repo / "flows", repo / "locales").locales.texts
    keys = [key for key in texts["nl"] if key.startswith(("checkin.", "desk.user.by_kind.checkin_"))]
    assert len(keys) > 10
    for key in keys:
        assert "meldpunt" not in texts["nl"][key].source.lower(), key
        english = texts["en"][key].source.lower().replace("safety desk", "")
        assert " desk" not in english.replace("desk_available", ""), key
    assert "veiligheidsloket" in texts["nl"]["desk.user.by_kind.checkin_missed.report_ref"].source
