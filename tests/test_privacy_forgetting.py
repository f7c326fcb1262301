"""What a try-out found kept after it was promised gone or no longer needed (try-out 33), read in the
SQLite file itself and in "mijn gegevens": the child's date of birth after the letter, the sentence that
tripped the crisis check after "nee" (health data), and the council texts after the e-mail."""

from __future__ import annotations

from tests.desk_harness import World
from tests.test_privacy import USER, every_value, exported, named_the_child_in_a_gi_letter

TRIPPED = "soms denk ik dat het voor iedereen beter is als ik er niet meer ben, maar ok, hoe vraag ik mijn dossier op"


def stored(world: World, needle: str) -> list[str]:
    """The tables whose rows hold `needle` anywhere."""
    return [table for table, value in every_value(world.settings.db) if needle in str(value)]


async def test_the_child_s_birth_date_is_wiped_with_the_name_once_the_letter_is_made(tmp_path):
    """"Ik bewaar de naam tot de brief klaar is en wis hem dan": every letter field went but `child_born`."""
    world = await World(tmp_path).start()
    try:
        await named_the_child_in_a_gi_letter(world)
        await world.say(USER, "12 mei 2016")
        await world.press(USER, "Ja, die klopt")
        assert stored(world, "2016-05-12")  # kept while the letter is being written
        for label in ("Weet ik niet", "Niet één medewerker"):
            await world.press(USER, label)
        await world.say(USER, "niets")
        letter = await world.say(USER, "niets")
        assert any("Hier is je conceptbrief" in text for text in letter)
        assert any("12 mei 2016" in text for text in letter)
        assert not stored(world, "2016-05-12") and not stored(world, "12 mei 2016")
        await world.command(USER, "mijngegevens")
        assert "2016" not in exported(world, USER).content
    finally:
        await world.close()


async def at_the_file_card(world: World) -> None:
    await world.start_over(USER)
    for label in ("Jongere (onder de 18)", "Lezen wat over mij staat"):
        await world.press(USER, label)


async def test_after_nee_at_the_check_question_the_sentence_that_tripped_it_is_not_kept(tmp_path):
    """After "nee" the sentence about suicide stayed in the row as `_typed_before` / `_held`."""
    world = await World(tmp_path).start()
    try:
        await at_the_file_card(world)
        said = await world.say(USER, TRIPPED)
        assert any("Denk je aan zelfdoding?" in text for text in said)
        assert stored(world, "er niet meer ben")  # held while the check question is open
        said = await world.say(USER, "nee wtf")
        assert any("Goed, dank je dat je het zegt" in text for text in said)
        assert not stored(world, "er niet meer ben")
        assert not stored(world, '"_held"') and not stored(world, '"_typed_before"')
        await world.command(USER, "mijngegevens")
        assert "er niet meer ben" not in exported(world, USER).content
    finally:
        await world.close()


async def test_after_a_doubt_and_go_on_the_sentence_is_not_kept_either(tmp_path):
    """"weet ik niet" is a yes: the crisis answer; after "Verder waar ik was" the text is read, not kept."""
    world = await World(tmp_path).start()
    try:
        await at_the_file_card(world)
        await world.say(USER, TRIPPED)
        said = await world.say(USER, "weet ik niet")
        assert any("0800-0113" in text for text in said)
        await world.press(USER, "Verder waar ik was")
        assert not stored(world, "er niet meer ben")
        assert not stored(world, '"_held"') and not stored(world, '"_typed_before"')
    finally:
        await world.close()


async def test_the_council_texts_are_wiped_once_the_e_mail_is_done(tmp_path):
    """The topic, the key message and the request to the council stayed in the stored conversation after the
    e-mail was made; they are kept while "terug" can still change them, then wiped."""
    world = await World(tmp_path).start()
    try:
        await world.start_over(USER)
        for label in ("Ouder of verzorger", "Inspreken bij de gemeenteraad"):
            await world.press(USER, label)
        for text in ("Ommen", "Verder naar mijn onderwerp", "wachtlijsten jeugdzorg", "Nee, nog niet", "Voor mezelf",
                     "kinderen wachten maanden op jeugdzorg in onze gemeente", "maak de wachttijden korter", "1", "2"):
            await world.say(USER, text)
        assert stored(world, "maak de wachttijden korter")  # still there: "terug" reaches the list to change
        said = await world.press(USER, "Nee, ik ben klaar")
        assert any("Succes met inspreken" in text for text in said)
        for typed in ("wachtlijsten jeugdzorg", "kinderen wachten maanden", "maak de wachttijden korter"):
            assert not stored(world, typed), typed
        await world.command(USER, "mijngegevens")
        assert "wachttijden" not in exported(world, USER).content
    finally:
        await world.close()


FIRST = ("ik ben jeugdbeschermer. een ouder van een client heeft gisteren een bericht over mij op facebook gezet "
         "en vandaag mijn auto bekrast met een dreiging erin")


async def test_the_first_message_set_aside_is_kept_for_the_summary_only_and_shown(tmp_path):
    """Review35: after "Nee, ik kies zelf" and a new story, the whole first message stayed in the row as
    `also_told` after the safety part ended, and "mijn gegevens" counted it as a note while it said typed text is
    not kept. It is kept for the summary's "Ook gebeurd", shown as typed text, and wiped when the part ends."""
    world = await World(tmp_path).start()
    try:
        await world.say(USER, FIRST)
        for label in ("Het gevaar is voorbij", "Nee, ik kies zelf", "Mijn spullen beschadigd"):
            await world.press(USER, label)
        await world.say(USER, "vandaag")
        for label in ("Ja", "Bij mijn huis", "Ja, maak een samenvatting", "Nog niet", "Een deel"):
            await world.press(USER, label)
        await world.say(USER, "Mijn auto stond voor de deur en er was een bedreiging in gekrast")
        await world.say(USER, "nee")
        assert stored(world, "gisteren een bericht over mij")  # kept: the summary quotes it
        await world.command(USER, "mijngegevens")
        export = exported(world, USER).content
        assert "Je eerste bericht, over wat er ook gebeurde" in export and "gisteren een bericht over mij" in export
        said = await world.say(USER, "ja")
        assert any("Hier is je samenvatting" in text for text in said)
        said = await world.say(USER, "nee")  # not sent to the desk
        assert any("Zal ik ze nu wissen?" in text for text in said)
        assert stored(world, "gisteren een bericht over mij")  # the part has not ended yet
        said = await world.say(USER, "nee")  # her answers kept: the first message goes all the same
        assert any("Zorg goed voor jezelf" in text for text in said)
        assert not stored(world, "gisteren een bericht over mij")
        assert not stored(world, '"_also_told"') and not stored(world, '"also_told"')
    finally:
        await world.close()
