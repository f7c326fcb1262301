"""The home-visit check-in (flows/checkin.yaml) with timers in the database (bot/timers.py).

Conversations through the real core and store; the clock is moved by hand and
timers are fired the way the bot's loop fires them (timers.fire_due).
"""

from __future__ import annotations

import sqlite3

import pytest

from bot.timers import parse_moment
from tests.desk_harness import MONDAY_10, World

ASK_OK = "Je huisbezoek zou nu voorbij zijn. Ben je veilig? Typ ja, of tik op \"Hulp!\" als je hulp nodig hebt."
DURING = "Tik op \"Klaar, alles goed\" als je bezoek voorbij is. Voel je je niet veilig? Tik op \"Hulp!\" of typ hulp."
HELP_ALERTED = ("Ik heb het meldpunt gewaarschuwd. Het kenmerk is WW-2026-0001.\n"
                "Is er direct gevaar? Bel nu 112.\n"
                "Je krijgt bericht zodra iemand je melding oppakt.")
HELP_NOBODY = ("Er is hier geen meldpunt ingesteld. Ik heb niemand gewaarschuwd.\n"
               "Is er direct gevaar? Bel nu 112.\n"
               "Heb je hulp nodig, maar is er geen direct gevaar? Bel dan zelf je leidinggevende of een collega. "
               "De politie zonder spoed: 0900-8844.")
MISSED_ALERTED = ("Je gaf geen antwoord, dus ik heb het meldpunt gewaarschuwd. Het kenmerk is WW-2026-0001.\n"
                  "Is alles goed? Laat het je meldpunt dan even weten.\n"
                  "Is er direct gevaar? Bel 112.")
MISSED_NOBODY = ("Je gaf geen antwoord. Er is hier geen meldpunt ingesteld, dus ik heb niemand gewaarschuwd.\n"
                 "Is er direct gevaar? Bel 112.\n"
                 "Heb je hulp nodig? Bel dan zelf je leidinggevende of een collega.")
#: what the bot may only say once the desk really has the alert
CLAIM = "ik heb het meldpunt gewaarschuwd"


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
    with sqlite3.connect(world.settings.db) as db:
        return int(db.execute("SELECT COUNT(*) FROM cases").fetchone()[0])


def timers_in_db(world: World) -> list[tuple[str, str]]:
    """(name, due time in Dutch time HH:MM) of every pending timer, read from the database file."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    with sqlite3.connect(world.settings.db) as db:
        found = db.execute("SELECT name, due_at FROM timers ORDER BY due_at").fetchall()
    return [(name, datetime.fromtimestamp(due, ZoneInfo("Europe/Amsterdam")).strftime("%H:%M")) for name, due in found]


async def start_visit(world: World, user: str = "pro", *, address: str | None = "Zonnebloemstraat 17, Utrecht",
                      contact: str | None = None, minutes: str = "m60") -> list[str]:
    said = await world.command(user, "start", "huisbezoek")
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
    asked_again, told = world.outlet.texts("pro")[-2:]
    assert asked_again == ASK_OK  # the question stays: they can still answer it
    assert told == MISSED_ALERTED  # said by the desk, once the alert was stored for it
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
    assert said == [DURING, HELP_ALERTED]  # back at the visit's question, then what the desk did
    assert timers_in_db(world) == []  # no second alert after the grace period
    await world.post_desk()
    assert world.outlet.room_texts()[0].startswith("🔴 SPOED Melding WW-2026-0001: Huisbezoek: professional vraagt om hulp")


async def test_help_during_the_visit_alerts_before_the_time(world):
    await start_visit(world)
    world.clock.advance(minutes=20)
    said = await world.say("pro", "hulp")
    assert said == ["De check-in is gestopt.", HELP_ALERTED]
    assert timers_in_db(world) == []
    await world.post_desk()
    assert "Verwacht klaar: 11:00" in world.outlet.room_texts()[0]


# ---------------------------------------------------------------- no desk set up: never "I alerted"


async def test_without_a_desk_help_during_the_visit_says_nobody_was_alerted_and_to_call_112(no_desk):
    await start_visit(no_desk)
    no_desk.clock.advance(minutes=20)
    assert await no_desk.say("pro", "hulp") == ["De check-in is gestopt.", HELP_NOBODY]
    assert timers_in_db(no_desk) == [] and cases_in_db(no_desk) == 0
    assert not any(CLAIM in t.lower() for t in no_desk.outlet.texts("pro"))


async def test_without_a_desk_a_help_reply_to_the_check_in_says_nobody_was_alerted(no_desk):
    await start_visit(no_desk)
    no_desk.clock.advance(minutes=60)
    await no_desk.fire_timers()
    assert await no_desk.say("pro", "hulp") == [DURING, HELP_NOBODY]
    assert timers_in_db(no_desk) == [] and cases_in_db(no_desk) == 0


async def test_without_a_desk_a_missed_check_in_says_nobody_was_alerted(no_desk):
    await start_visit(no_desk, contact="Sanne, 06-11112222")
    no_desk.clock.advance(minutes=60)
    await no_desk.fire_timers()
    await no_desk.restart()
    no_desk.clock.advance(minutes=10)
    assert await no_desk.fire_timers() == 1
    asked_again, told = no_desk.outlet.texts("pro")[-2:]
    assert (asked_again, told) == (ASK_OK, MISSED_NOBODY)
    assert cases_in_db(no_desk) == 0
    assert not any(CLAIM in t.lower() for t in no_desk.outlet.texts("pro"))
    assert await no_desk.say("pro", "ja") == ["Fijn dat alles goed is.", DURING]  # the question still works


async def test_the_check_in_asks_even_when_the_professional_went_elsewhere(world):
    await start_visit(world)
    await world.say("pro", "menu")  # back to the main menu during the visit
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
    with sqlite3.connect(world.settings.db) as db:
        token = db.execute("SELECT token FROM timers").fetchone()[0]
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
    await world.command("pro", "start")
    await world.press("pro", "professional")
    said = await world.press("pro", "checkin")
    assert said[0].startswith("Ik houd een oogje in het zeil tijdens je huisbezoek.")
    await world.press("pro", "m30")
    await world.press("pro", "no")
    await world.press("pro", "no")
    assert await world.press("pro", "yes") == [
        "Fijn dat alles goed ging. De check-in is gestopt.", world.flows.render("nl", "main.anything_else", {})]
