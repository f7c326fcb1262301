"""The safety desk at core level: reports reach the desk, requests become relayed talks.

A capture outlet plays the platform for both the user and the desk room
(tests/desk_harness.py); the Telegram and Matrix tests drive the same desk
through the real adapters.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from bot.desk.commands import read_desk_message, split_ref
from bot.desk.hours import DeskHours, DeskHoursInvalid
from bot.events import Command, Text
from tests.conftest import FIXTURE_FLOWS, FIXTURE_LOCALES, PYTHON, bot_env
from tests.desk_harness import MONDAY_10, CaptureOutlet, Clock, World

REF = re.compile(r"WW-\d{4}-\d{4}")


@pytest.fixture
async def world(tmp_path):
    w = await World(tmp_path).start()
    yield w
    await w.close()


async def report(world: World, user: str = "u1", what: str = "Iemand bekraste mijn auto op de parkeerplaats",
                 urgent: bool = True) -> str:
    """Walk the test report flow to the end; return the reference the user was given."""
    await world.start_over(user, "meldtest")
    await world.say(user, what)
    await world.press(user, "bad" if urgent else "okay")
    await world.say(user, "06-12345678")
    answer = await world.press(user, "send")
    refs = [REF.search(t) for t in answer]
    found = [m.group(0) for m in refs if m]
    assert found, answer
    return found[0]


def rows(world: World, sql: str, *args: object) -> list[tuple]:
    return world.rows(sql, *args)


# ---------------------------------------------------------------- reports


async def test_a_report_is_stored_first_and_the_reporter_gets_its_reference_at_once(world):
    ref = await report(world)
    assert ref == "WW-2026-0001"
    said = world.outlet.texts("u1")
    # the reference comes at once, where the report was sent: before the flow goes on, and
    # nothing comes after the flow's closing question
    assert ref in said[-3] and "opgeslagen" in said[-3]
    assert said[-2:] == ["Verstuurd.", "Wil je nog iets melden?"]
    assert world.outlet.posts == []  # nothing posted yet: it waits in the store
    assert rows(world, "SELECT ref, kind, status, urgent FROM cases") == [(ref, "report", "open", 1)]
    assert len(rows(world, "SELECT id FROM desk_outbox")) == 1


async def test_the_desk_gets_a_clear_card_without_the_reporters_account(world):
    ref = await report(world, user="tg-777001")
    assert await world.post_desk() == 1
    [post] = world.outlet.posts
    assert post.room == "desk"
    assert post.text.splitlines()[0] == f"🔴 SPOED Melding {ref}: Testmelding van een incident"
    assert "Ontvangen: 30-11-2026 10:00" in post.text
    assert "Wat er gebeurde: Iemand bekraste mijn auto op de parkeerplaats" in post.text
    assert "Telefoon: 06-12345678" in post.text
    assert f"/claim {ref}" in post.text
    assert "777001" not in post.text
    assert post.document is not None and post.document.filename == "samenvatting.txt"
    # once every desk has it, our copy of the content is dropped
    assert rows(world, "SELECT body IS NULL, delivered_at IS NOT NULL FROM cases") == [(1, 1)]


async def test_claiming_a_report_tells_the_reporter(world):
    ref = await report(world)
    await world.post_desk()
    assert await world.desk_says("member-1", f"/claim {ref}") == [
        f"{ref} is opgepakt. De melder krijgt daarvan bericht."]
    assert world.outlet.texts("u1")[-1] == f"Team Wegwijzer heeft je melding {ref} opgepakt."
    assert await world.desk_says("member-2", f"/claim {ref.lower()}") == [f"{ref} is al opgepakt."]


async def test_a_platform_that_refuses_keeps_the_card_until_it_accepts_even_after_a_restart(tmp_path):
    world = World(tmp_path)
    world.outlet.refuse_rooms = True
    await world.start()
    try:
        ref = await report(world)
        assert await world.post_desk() == 0
        assert await world.post_desk() == 0  # backing off: not even tried again yet
        await world.restart(outlet=CaptureOutlet())
        world.clock.advance(minutes=1)
        assert await world.post_desk() == 1
        assert ref in world.outlet.posts[0].text
    finally:
        await world.close()


async def test_cards_go_to_every_desk_and_a_claim_is_announced_to_the_others(tmp_path):
    world = await World(tmp_path, desks="test:desk,test:desk-2").start()
    try:
        ref = await report(world)
        assert await world.post_desk() == 2
        await world.desk_says("m1", f"!claim {ref}")
        await world.post_desk()
        assert world.outlet.room_texts("desk-2")[-1] == f"{ref} is opgepakt door een collega."
    finally:
        await world.close()


async def test_no_desk_configured_says_so_and_gives_the_help_lines(tmp_path):
    world = await World(tmp_path, desks="").start()
    try:
        await world.command("u1", "start", "meldtest")
        await world.say("u1", "Iets ergs")
        await world.press("u1", "okay")
        await world.say("u1", "06-1")
        said = await world.press("u1", "send")
        # the test flow's report is an `incident`: its own text, what to do yourself, and 112,
        # where the report was sent: before the flow goes on with its next question
        assert said[-3].startswith("Er is hier geen veiligheidsloket ingesteld.") and "112" in said[-3]
        assert said[-2:] == ["Verstuurd.", "Wil je nog iets melden?"]
        assert rows(world, "SELECT COUNT(*) FROM cases") == [(0,)]
    finally:
        await world.close()


# ---------------------------------------------------------------- the shipped safety flow

CONSENT = "Wil je deze samenvatting naar het veiligheidsloket van je organisatie sturen?"


async def at_safety_consent(world: World, user: str = "pro") -> list[str]:
    """A professional whose home address was put online (yesterday) makes a summary; up to 'send it?'."""
    await world.command(user, "start", "veilig")
    await world.press(user, "after")
    await world.press(user, "address")
    await world.say(user, "gisteren")
    await world.press(user, "yes")  # "Ik lees: ... Klopt dat?"
    await world.press(user, "online")  # the first steps, then one question: more about a step, or a summary
    await world.press(user, "make")
    await world.press(user, "none")
    await world.press(user, "some")
    await world.say(user, "later")  # what happened, in her own words: filled in herself later
    assert await world.say(user, "nee") == ["Weet je leidinggevende het al?"]  # witnesses: typed
    return await world.say(user, "ja")


async def test_a_safety_report_is_confirmed_by_the_desk_with_its_reference_and_a_readable_card(world):
    assert (await at_safety_consent(world))[-1].startswith(CONSENT)
    await world.press("pro", "send")
    said = await world.press("pro", "chat")
    assert not any("doorgestuurd" in t for t in said)  # the flow no longer claims it; the desk does
    # the confirmation first, then the flow's closing words
    assert said[0].startswith("Je samenvatting is veilig opgeslagen en gaat naar het veiligheidsloket "
                              "(Team Wegwijzer). Het kenmerk is WW-2026-0001.")
    assert said[-1].startswith("Zorg goed voor jezelf.")
    assert await world.post_desk() == 1
    [card] = world.outlet.room_texts()
    assert card.splitlines()[0] == "🔴 SPOED Melding WW-2026-0001: Incident van een professional"
    for line in ("Soort incident: Huisadres online gezet (mogelijk doxing)", "Datum: 29 november 2026",
                 "Plaats: Online of aan de telefoon", "Politie: Nog geen contact met de politie",
                 "Bewijs bewaard: Een deel", "Getuigen: Nee", "Leidinggevende ingelicht: Ja",
                 "Contact: Via deze chat"):
        assert line in card.splitlines()
    assert "address_published" not in card and "2026-11-29" not in card


async def test_a_second_incident_she_named_first_is_in_the_report_and_its_summary(world):
    """Known list (s30): the post she named first, set aside for the scratched car, was offered after it but
    left out of the report; the desk now sees both, and that the second was not described on its own."""
    await world.say("pro", "een vader uit een van mijn zaken zette mijn naam in een groep op facebook en kraste "
                           "een bedreiging in mijn auto, ik werk bij de Raad")
    for choice in ("after", "no", "property"):  # "Nee, ik kies zelf" at the post, then the car
        await world.press("pro", choice)
    await world.say("pro", "afgelopen vrijdag")
    await world.press("pro", "yes")
    await world.say("pro", "voor mijn huis")
    for choice in ("make", "none", "some", "typed_before"):
        await world.press("pro", choice)
    await world.say("pro", "nee")
    assert (await world.say("pro", "ja"))[-1].startswith(CONSENT)
    await world.press("pro", "send")
    await world.press("pro", "chat")
    assert await world.post_desk() == 1
    [card] = world.outlet.room_texts()
    assert ("Soort incident: Schade aan spullen, met een bedreiging; ook genoemd, niet beschreven: "
            "Bericht online met mijn naam") in card.splitlines()
    [document] = [post.document for post in world.outlet.posts if post.document is not None]
    assert "Ook gebeurd: Bericht online met mijn naam" in document.content
    assert "Platform: Facebook (gelezen in je eerste bericht" in document.content


async def card_contact(world: World) -> str:
    await world.post_desk()
    [card] = world.outlet.room_texts()
    [contact] = [line for line in card.splitlines() if line.startswith(("Contact: ", "Contact:"))]
    return contact


async def test_the_desk_gets_a_number_it_can_call_and_anything_else_is_asked_again(world):
    await at_safety_consent(world)
    await world.press("pro", "send")
    asked = await world.press("pro", "phone")
    assert asked[-1].startswith("Op welk telefoonnummer mag het veiligheidsloket je bellen?")
    assert [b.label for b in world.question("pro").choices] == ["Liever niet bellen"]
    for typed in ("hallo daar", "0612", "bel me maar om 10 uur"):
        said = await world.say("pro", typed)
        assert len(said) == 1 and said[0].startswith("Dat lees ik niet als een telefoonnummer."), typed
        assert 'Typ dan "niet bellen"' in said[0]
    assert await world.post_desk() == 0  # nothing was sent while the number was not read
    said = await world.say("pro", "+31 6-1234 5678")
    assert REF.search(said[0])
    assert await card_contact(world) == "Contact: Bellen op: 06 12345678"


async def test_a_number_typed_at_once_at_chat_or_phone_is_taken_and_read_like_a_typed_number(world):
    """A new user typed their number at "Hoe mag het veiligheidsloket contact met je opnemen? [chat] [phone]"
    without pressing "Ik geef een telefoonnummer" first, and was told to choose a button."""
    await at_safety_consent(world)
    await world.press("pro", "send")
    for typed in ("0612", "weet ik niet"):  # no number: still the question with its buttons
        said = await world.say("pro", typed)
        assert said[0] == "Ik begrijp niet welke keuze je bedoelt. Kies een knop of typ het nummer.", typed
        assert said[-1].startswith("Hoe mag het veiligheidsloket contact met je opnemen?")
    said = await world.say("pro", "+31 6-1234 5678")
    assert REF.search(said[0])
    assert await card_contact(world) == "Contact: Bellen op: 06 12345678"


async def at_english_contact(world: World) -> None:
    """An English reporter at "How may the safety desk contact you?"."""
    await world.say("pro", "english")
    await world.command("pro", "start", "veilig")
    for choice in ("after", "message"):
        await world.press("pro", choice)
    await world.say("pro", "28-11-2026")
    for choice in ("yes", "work", "make", "none", "all"):
        await world.press("pro", choice)
    await world.say("pro", "later")  # what happened: filled in later
    await world.say("pro", "yes")  # witnesses: typed
    for choice in ("no", "send"):
        await world.press("pro", choice)
    assert world.question("pro").text.startswith("How may the safety desk contact you?")


async def test_an_english_reporter_s_number_typed_at_once_is_taken_too(world):
    await at_english_contact(world)
    said = await world.say("pro", "06 1234 5678")
    assert REF.search(said[0]) and "safety desk" in said[0]
    assert await card_contact(world) == "Contact: Bellen op: 06 12345678"


@pytest.mark.parametrize("how", ["button", "typed", "number", "label"])
async def test_a_reporter_who_does_not_want_to_be_called_is_not_asked_for_a_number_again(world, how):
    await at_safety_consent(world)
    await world.press("pro", "send")
    await world.press("pro", "phone")
    typed = {"typed": "bel me niet", "number": "1", "label": "Liever niet bellen"}  # the button's number and label too
    said = await (world.press("pro", "no_phone") if how == "button" else world.say("pro", typed[how]))
    assert said[0] == "Goed. Het veiligheidsloket belt je niet. Het neemt contact met je op via deze chat."
    assert REF.search(said[1])
    assert await card_contact(world) == "Contact: Via deze chat. Niet bellen: de melder wil niet gebeld worden."


async def test_an_english_reporter_who_does_not_want_to_be_called_is_told_so_in_english(world):
    await at_english_contact(world)
    await world.press("pro", "phone")
    assert [b.label for b in world.question("pro").choices] == ["Rather not be called"]
    [again] = await world.say("pro", "06 1234")
    assert again.startswith("I cannot read that as a phone number.")
    said = await world.say("pro", "don't call me")
    assert said[0] == "All right. The safety desk will not call you. It will contact you through this chat."
    assert await card_contact(world) == "Contact: Via deze chat. Niet bellen: de melder wil niet gebeld worden."


async def test_without_a_desk_the_person_is_told_first_and_not_asked_to_send_to_nobody(tmp_path):
    world = await World(tmp_path, desks="").start()
    try:
        said = await at_safety_consent(world)
        assert not any(t.startswith(CONSENT) for t in said)  # no consent to send to nobody
        assert not any("doorgestuurd" in t or "WW-" in t for t in said)
        [told] = [t for t in said if t.startswith("Er is hier geen veiligheidsloket ingesteld.")]
        assert "Bewaar de samenvatting" in told and "leidinggevende" in told and "aangifte" in told
        assert said[-1].startswith("Ik heb je antwoorden nog bewaard")  # then: keep or wipe the answers
        assert said.index(told) < len(said) - 1
        assert rows(world, "SELECT COUNT(*) FROM cases") == [(0,)]
    finally:
        await world.close()


async def test_talking_to_the_safety_desk_before_sending_then_the_question_returns(world):
    await at_safety_consent(world)
    said = await world.press("pro", "talk")
    # the desk's answer to the request comes before the question shown again, which is last
    assert said[-2].startswith("Je vraag staat klaar bij Team Wegwijzer (kenmerk WW-2026-0001).")
    assert said[-1].startswith(CONSENT)
    await world.desk_says("m1", "/claim WW-2026-0001")
    assert await world.say("pro", "Moet ik dit wel sturen?") == []  # relayed, not an answer to the flow
    await world.post_desk()
    assert world.outlet.room_texts()[-1].endswith("(WW-2026-0001): Moet ik dit wel sturen?")
    await world.desk_says("m1", "/end WW-2026-0001")
    assert world.outlet.texts("pro")[-1].startswith(CONSENT)  # back at the question they were at
    await world.press("pro", "send")
    said = await world.press("pro", "chat")
    assert "Het kenmerk is WW-2026-0002." in said[0]


# ---------------------------------------------------------------- talks


async def test_a_request_for_a_person_is_relayed_both_ways_and_the_flow_resumes(world):
    await world.command("u1", "start", "meldtest")
    assert await world.say("u1", "mens") == [
        "Ik vraag of iemand van ons met je kan praten. Je krijgt bericht.",
        "Je vraag staat klaar bij Team Wegwijzer (kenmerk WW-2026-0001). Je kunt alvast typen waar het over "
        "gaat: wie je vraag oppakt, leest het.\nTyp stop om je vraag in te trekken."]
    # waiting: what the user types is kept for the desk, not answered by the flow
    assert await world.say("u1", "Ik heb een vraag over mijn dossier") == []
    await world.post_desk()
    [card] = world.outlet.room_texts()
    assert card.startswith("🟡 Gebruiker #") and "(WW-2026-0001)" in card
    pseudonym = card.split(" wil ")[0].removeprefix("🟡 ")

    claimed = await world.desk_says("m1", "/claim WW-2026-0001")
    assert claimed[0].startswith(f"WW-2026-0001 is opgepakt. Je praat nu met {pseudonym}.")
    assert claimed[1] == f"{pseudonym} schreef al:\nIk heb een vraag over mijn dossier"
    assert world.outlet.texts("u1")[-1] == "Team Wegwijzer is er nu voor je. Typ je bericht. Typ stop als je klaar bent."

    # user -> desk
    assert await world.say("u1", "Hallo?") == []
    await world.post_desk()
    relayed = world.outlet.posts[-1]
    assert relayed.text == f"{pseudonym} (WW-2026-0001): Hallo?"
    # desk -> user, by command and by replying to a relayed message
    assert await world.desk_says("m1", "/r WW-2026-0001 Hoi, ik ben Sanne.") == []
    assert world.outlet.texts("u1")[-1] == "Team Wegwijzer: Hoi, ik ben Sanne."
    assert await world.desk_says("m2", "Waar woon je ongeveer?", reply_to=relayed.message_id) == []
    assert world.outlet.texts("u1")[-1] == "Team Wegwijzer: Waar woon je ongeveer?"
    assert await world.desk_says("m1", "/r Gaat het?") == []  # m1 holds one talk: no reference needed
    assert world.outlet.texts("u1")[-1] == "Team Wegwijzer: Gaat het?"
    # colleagues talking in the room are never relayed
    before = len(world.outlet.texts("u1"))
    assert await world.desk_says("m2", "Ik pak hierna de volgende") == []
    assert len(world.outlet.texts("u1")) == before
    assert "Sanne" not in " ".join(world.outlet.texts("u1")[:-3]) and "m1" not in " ".join(world.outlet.texts("u1"))

    # the user ends it: the desk is told, the flow shows the question the user was at
    assert await world.say("u1", "stop") == [
        "Het gesprek is beëindigd. We gaan verder waar je was.", "Wat is er gebeurd?"]
    await world.post_desk()
    assert world.outlet.room_texts()[-1] == f"{pseudonym} heeft het gesprek WW-2026-0001 beëindigd."
    assert await world.say("u1", "Iemand schreeuwde") == ["Hoe ernstig is het?"]  # the flow again


async def test_the_desk_ends_a_talk_and_the_users_flow_resumes(world):
    await world.command("u1", "start", "meldtest")
    await world.say("u1", "mens")
    await world.desk_says("m1", "/claim WW-2026-0001")
    assert await world.desk_says("m1", "/end") == ["Het gesprek WW-2026-0001 is beëindigd."]
    assert world.outlet.texts("u1")[-2:] == [
        "Team Wegwijzer heeft het gesprek beëindigd. We gaan verder waar je was.", "Wat is er gebeurd?"]
    assert await world.desk_says("m1", "/r WW-2026-0001 nog iets") == [
        "WW-2026-0001 is geen lopend gesprek in deze groep."]


async def test_withdrawing_a_request_before_anyone_claimed_it(world):
    await world.command("u1", "start", "meldtest")
    await world.say("u1", "mens")
    assert await world.command("u1", "stop") == [
        "Je vraag is ingetrokken. We gaan verder waar je was.", "Wat is er gebeurd?"]
    await world.post_desk()
    assert world.outlet.room_texts()[-1] == "WW-2026-0001 is ingetrokken; er hoeft niets meer te gebeuren."
    assert await world.desk_says("m1", "/queue") == ["Er staat niets open."]
    assert await world.desk_says("m1", "/claim WW-2026-0001") == ["WW-2026-0001 is al afgesloten."]


async def test_the_queue_shows_urgent_requests_first_then_the_oldest(world):
    await world.say("calm-1", "mens")
    world.clock.advance(minutes=5)
    await world.say("calm-2", "mens")
    world.clock.advance(minutes=5)
    await world.say("crisis", "ik wil niet meer leven")  # the first message: the crisis check flags it
    said = await world.say("crisis", "mens")
    assert any("kenmerk WW-2026-0003" in t for t in said)
    [queue] = await world.desk_says("m1", "/queue")
    lines = queue.splitlines()
    assert lines[0] == "Open, spoed eerst:"
    assert [REF.search(line).group(0) for line in lines[1:]] == ["WW-2026-0003", "WW-2026-0001", "WW-2026-0002"]
    assert lines[1].startswith("🔴 SPOED WW-2026-0003 · Gebruiker #") and lines[1].endswith("30-11-2026 10:10")


async def test_a_crisis_text_during_a_talk_still_gets_the_help_lines_and_flags_the_talk(world):
    await world.say("u1", "mens")
    await world.desk_says("m1", "/claim WW-2026-0001")
    said = await world.say("u1", "ik wil niet meer leven")
    assert len(said) == 1 and "113" in said[0]
    await world.post_desk()
    texts = world.outlet.room_texts()
    assert any(t.startswith("🔴 WW-2026-0001 is nu SPOED") for t in texts)
    assert texts[-1].startswith("⚠ Gebruiker #") and "ik wil niet meer leven" in texts[-1]
    assert rows(world, "SELECT urgent FROM cases") == [(1,)]


async def test_outside_desk_hours_the_user_gets_the_hours_and_the_help_lines(tmp_path):
    saturday_night = Clock(MONDAY_10.replace(day=28, hour=23))
    world = await World(tmp_path, clock=saturday_night, desk_hours="mon-fri 09:00-17:00").start()
    try:
        said = await world.say("u1", "mens")
        assert said[1].startswith(
            "Er is nu niemand van Team Wegwijzer bereikbaar. We zijn er ma-vr 09:00-17:00, niet op feestdagen.")
        for number in ("112", "113", "0800-0113", "0800-2000"):
            assert number in said[1]
        assert said[2] == world.flows.render("nl", "main.role.question", {})  # and the user can go on
        assert rows(world, "SELECT COUNT(*) FROM cases") == [(0,)]
    finally:
        await world.close()


async def test_outside_desk_hours_a_professional_is_offered_victim_support_and_their_manager(tmp_path):
    saturday_night = Clock(MONDAY_10.replace(day=28, hour=23))
    world = await World(tmp_path, clock=saturday_night, desk_hours="mon-fri 09:00-17:00").start()
    try:
        await world.command("u1", "start")
        await world.press("u1", "professional")
        said = await world.say("u1", "mens")
        assert said[1].startswith("Er is nu niemand van Team Wegwijzer bereikbaar.")
        assert "Je eigen leidinggevende." in said[1]
        assert "Slachtofferhulp Nederland helpt gratis: 0900-0101 of https://slachtofferhulp.nl." in said[1]
        assert "Jeugdstem" not in said[1] and "112" in said[1]
    finally:
        await world.close()


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("role", ["parent", "relative", "young", "foster", "professional", "other", ""])
def test_the_people_who_exist_fit_in_one_message_for_every_role(world, lang, role):
    texts = world.desk.shared.texts
    for why, values in (("desk.user.unavailable", {}), ("desk.user.closed", {"hours": texts.hours_text(lang)})):
        message = texts.nobody(lang, why, role, **values)
        assert len(message) <= 1000, (why, len(message))
        assert "[desk." not in message and "{{" not in message and "{%" not in message


async def test_while_talking_buttons_and_photos_get_a_short_note_and_forget_me_still_works(world):
    await world.command("u1", "start", "meldtest")
    await world.say("u1", "mens")
    await world.desk_says("m1", "/claim WW-2026-0001")
    assert await world.command("u1", "help") == [
        "Je bent nu in gesprek met Team Wegwijzer, of je wacht daarop. Typ je bericht. "
        "Typ stop om terug te gaan naar waar je was."]
    said = await world.command("u1", "vergeet")
    assert said[0].startswith("Wil je stoppen?")
    await world.post_desk()
    assert world.outlet.room_texts()[-1].endswith("heeft het gesprek WW-2026-0001 beëindigd.")
    assert await world.press("u1", "yes") == [
        "Klaar. Ik heb alles gewist wat ik van je had bewaard. De berichten in deze chat wis ik niet. "
        "Die kun je zelf verwijderen. Ook een brief of bestand dat ik je stuurde, blijft bij jou. "
        "Meldingen die al bij een organisatie zijn, blijven daar. Typ iets als je opnieuw wilt beginnen."]


async def test_the_desk_help_and_unknown_references(world):
    [help_text] = await world.desk_says("m1", "/help")
    assert "/claim" in help_text and "/queue" in help_text
    assert await world.desk_says("m1", "/claim WW-2026-0099") == ["Ik ken geen melding of vraag met kenmerk WW-2026-0099."]
    assert await world.desk_says("m1", "/claim") == [
        "Met welk kenmerk? Bijvoorbeeld: /claim WW-2026-0001. Typ /queue voor wat open staat."]
    assert await world.desk_says("m1", "/r hallo") == ["In welk gesprek? Zet het kenmerk ervoor: /r WW-2026-0001 je tekst"]
    assert await world.desk_says("m1", "/weather") == []  # another bot's command


async def test_a_restart_keeps_a_running_talk(tmp_path):
    world = await World(tmp_path).start()
    try:
        await world.say("u1", "mens")
        await world.desk_says("m1", "/claim WW-2026-0001")
        await world.restart()
        assert await world.say("u1", "Ben je er nog?") == []
        await world.post_desk()
        assert world.outlet.room_texts()[-1].endswith("(WW-2026-0001): Ben je er nog?")
    finally:
        await world.close()


# ---------------------------------------------------------------- pure parts


def test_desk_messages_are_commands_or_nothing():
    assert read_desk_message(Text("/claim ww-2026-7")).ref == "WW-2026-0007"
    assert read_desk_message(Text("!r WW-2026-0012 hallo daar")).rest == "hallo daar"
    assert read_desk_message(Command("claim", "WW-2026-0001")).action == "claim"
    assert read_desk_message(Text("/queue@wegwijzer_bot")).action == "queue"
    assert read_desk_message(Text("even overleggen met jullie")) is None
    assert read_desk_message(Text("/unknown")) is None
    assert split_ref("geen kenmerk") == (None, "geen kenmerk")


def test_desk_hours():
    hours = DeskHours.parse("ma-vr 09:00-17:00; sat 22:00-02:00")
    assert hours.is_open(MONDAY_10)
    assert not hours.is_open(MONDAY_10.replace(hour=17))
    assert hours.is_open(MONDAY_10.replace(day=28, hour=23))  # Saturday night
    assert hours.is_open(MONDAY_10.replace(day=29, hour=1))  # ... past midnight
    assert not hours.is_open(MONDAY_10.replace(day=29, hour=3))
    assert hours.describe({"mon": "ma", "fri": "vr", "sat": "za"}, "altijd") == "ma-vr 09:00-17:00; za 22:00-02:00"
    assert DeskHours.parse("always").is_open(MONDAY_10)
    with pytest.raises(DeskHoursInvalid):
        DeskHours.parse("weekdays 9-5")


# ---------------------------------------------------------------- the desk reads its own language


async def report_incident(world: World, user: str, language: str) -> list[str]:
    """A professional (speaking `language`) reports a threatening message via the safety flow, contact via chat."""
    await world.say(user, language)  # "english" / "nederlands": the user's language
    await world.command(user, "start", "veilig")
    for choice in ("after", "message"):
        await world.press(user, choice)
    await world.say(user, "28-11-2026")
    for choice in ("yes", "work", "make", "none", "all"):
        await world.press(user, choice)
    await world.say(user, "later")  # what happened: filled in later
    await world.say(user, "yes")  # witnesses: typed
    for choice in ("no", "send"):
        await world.press(user, choice)
    said = await world.press(user, "chat")
    await world.post_desk()
    return said


async def test_an_english_speaker_s_report_reaches_a_dutch_desk_in_dutch(world):
    said = await report_incident(world, "u1", "english")
    assert any("reference" in t.lower() for t in said)  # the user is answered in English
    [card] = world.outlet.room_texts()
    assert card.startswith("🟡 Melding WW-2026-0001: Incident van een professional\n")
    for line in ("Soort incident: Bedreigend bericht", "Datum: 28 november 2026", "Plaats: Op het werk",
                 "Getuigen: Ja", "Leidinggevende ingelicht: Nee", "Contact: Via deze chat"):
        assert line in card
    for english in ("Type of incident", "Through this chat", "November", "Witnesses"):
        assert english not in card


async def test_a_dutch_speaker_s_report_reaches_an_english_desk_in_english(tmp_path):
    world = await World(tmp_path, desk_lang="en").start()
    try:
        said = await report_incident(world, "u1", "nederlands")
        assert any("kenmerk" in t.lower() for t in said)  # the user is answered in Dutch
        [card] = world.outlet.room_texts()
        assert "WW-2026-0001: Incident involving a professional\n" in card
        for line in ("Type of incident: Threatening message", "Date: 28 November 2026", "Witnesses: Yes",
                     "Manager informed: No", "Contact: Through this chat"):
            assert line in card
        for dutch in ("Soort incident", "Via deze chat", "november", "Getuigen"):
            assert dutch not in card
    finally:
        await world.close()


# ---------------------------------------------------------------- public holidays close the desk


CHRISTMAS_10 = MONDAY_10.replace(month=12, day=25)  # Friday 25 December 2026, Dutch time
WEEKDAYS = "mon-fri 09:00-17:00"


def test_on_christmas_day_the_desk_is_closed_unless_holidays_are_switched_off():
    assert not DeskHours.parse(WEEKDAYS).is_open(CHRISTMAS_10)  # the default: Dutch public holidays
    assert DeskHours.parse(WEEKDAYS, "none").is_open(CHRISTMAS_10)
    assert DeskHours.parse(WEEKDAYS).is_open(CHRISTMAS_10.replace(day=24))  # Christmas Eve is a working day ...
    assert not DeskHours.parse(WEEKDAYS, "nl,2026-12-24").is_open(CHRISTMAS_10.replace(day=24))  # ... unless listed
    assert not DeskHours.parse(WEEKDAYS, "2026-12-24").is_open(CHRISTMAS_10.replace(day=24))
    assert DeskHours.parse(WEEKDAYS, "2026-12-24").is_open(CHRISTMAS_10)  # dates alone: not the national days
    assert DeskHours.parse("always").is_open(CHRISTMAS_10)  # a desk staffed day and night has a holiday roster


def test_kings_day_closes_the_desk_all_day_and_a_night_span_belongs_to_the_day_it_starts():
    kings_day = MONDAY_10.replace(year=2027, month=4, day=27)  # a Tuesday
    hours = DeskHours.parse("mon-fri 09:00-17:00; mon 22:00-02:00; tue 22:00-02:00")
    assert not hours.is_open(kings_day)
    assert not hours.is_open(kings_day.replace(hour=23))
    assert hours.is_open(kings_day.replace(hour=1))  # Monday night's span, past midnight
    assert not hours.is_open(kings_day.replace(day=28, hour=1))  # King's Day night's span never opened
    assert hours.is_open(kings_day.replace(day=28))


def test_the_next_opening_after_christmas_eve_skips_the_holidays_and_the_weekend():
    christmas_eve_evening = MONDAY_10.replace(month=12, day=24, hour=20)  # Thursday
    assert DeskHours.parse(WEEKDAYS).next_opening(christmas_eve_evening) == MONDAY_10.replace(month=12, day=28, hour=9)
    assert DeskHours.parse(WEEKDAYS, "none").next_opening(christmas_eve_evening) == CHRISTMAS_10.replace(hour=9)
    long_break = ",".join(f"2026-12-{day}" for day in range(28, 32))  # closed until the new year, and 1 January
    assert DeskHours.parse(WEEKDAYS, f"nl,{long_break}").next_opening(christmas_eve_evening) == (
        MONDAY_10.replace(year=2027, month=1, day=4, hour=9))


def test_the_hours_a_user_is_given_say_not_on_public_holidays():
    names = {"mon": "ma", "fri": "vr"}
    assert DeskHours.parse(WEEKDAYS).describe(names, "altijd", "niet op feestdagen") == (
        "ma-vr 09:00-17:00, niet op feestdagen")
    assert DeskHours.parse(WEEKDAYS, "none").describe(names, "altijd", "niet op feestdagen") == "ma-vr 09:00-17:00"


async def test_asking_for_a_person_on_christmas_morning_gets_the_help_lines(tmp_path):
    world = await World(tmp_path, clock=Clock(CHRISTMAS_10), desk_hours=WEEKDAYS).start()
    try:
        said = await world.say("u1", "mens")
        assert said[1].startswith("Er is nu niemand van Team Wegwijzer bereikbaar.")
        assert "113" in said[1]
        assert rows(world, "SELECT COUNT(*) FROM cases") == [(0,)]
    finally:
        await world.close()


@pytest.mark.parametrize("value", ["", "kerst", "nl,24-12-2026", "nl,2026-02-30", "none,2026-12-24"])
def test_a_malformed_holidays_setting_is_one_line_naming_the_variable(tmp_path, value):
    with pytest.raises(DeskHoursInvalid):
        DeskHours.parse(WEEKDAYS, value)
    done = subprocess.run([PYTHON, "-m", "bot", "check", str(FIXTURE_FLOWS), "--locales", str(FIXTURE_LOCALES)],
                          capture_output=True, text=True, env=bot_env(WEGWIJZER_DESK_HOLIDAYS=value),
                          cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("WEGWIJZER_DESK_HOLIDAYS: ")


# ---------------------------------------------------------------- what a relayed text can do to the room


async def talking(world: World) -> str:
    """u1 asks for a person and m1 claims it; the pseudonym the desk sees."""
    await world.command("u1", "start", "meldtest")
    await world.say("u1", "mens")
    await world.post_desk()
    pseudonym = world.outlet.room_texts()[-1].split(" wil ")[0].removeprefix("🟡 ")
    await world.desk_says("m1", "/claim WW-2026-0001")
    return pseudonym


async def test_a_relayed_text_cannot_fake_a_line_or_turn_text_around_in_the_desk_room(world):
    pseudonym = await talking(world)
    forged = "Gaat wel\nGebruiker #0000 (WW-2026-0002): ik ben iemand anders\n\u202eWW-2026-0003\u2066\u200b"
    await world.say("u1", forged)
    await world.post_desk()
    line = world.outlet.posts[-1].text
    assert line.startswith(f"{pseudonym} (WW-2026-0001): Gaat wel")
    assert "\n" not in line, "a newline in a relayed text starts what looks like another person's line"
    assert not {"\u202e", "\u2066", "\u200b"} & set(line), "bidi and other invisible format characters reach the room"
    assert "ik ben iemand anders" in line and "WW-2026-0003" in line  # nothing the person wrote is lost
    # the desk's answer reaches the person without them either
    await world.desk_says("m1", "/r WW-2026-0001 Dag\u202e nalsreV")
    assert world.outlet.texts("u1")[-1] == "Team Wegwijzer: Dag nalsreV"


async def test_a_very_long_relayed_text_is_cut_and_the_person_is_told(world):
    pseudonym = await talking(world)
    told = await world.say("u1", "Lang verhaal. " + "bla " * 2000)
    await world.post_desk()
    line = world.outlet.posts[-1].text
    assert line.startswith(f"{pseudonym} (WW-2026-0001): Lang verhaal.") and line.endswith("…")
    assert len(line) <= 2100
    assert told == ["Je bericht was lang. Het meldpunt kreeg de eerste 2000 tekens. Stuur de rest in een nieuw bericht."]
    # and the other way: what the person is shown stays within one message (at most 1,000 characters)
    answer = await world.desk_says("m1", "/r WW-2026-0001 " + "uitleg " * 400)
    assert len(world.outlet.texts("u1")[-1]) <= 1000
    assert answer == ["Je antwoord was lang. WW-2026-0001 kreeg de eerste 900 tekens. Stuur de rest apart."]
