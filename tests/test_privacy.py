"""What the bot keeps about a person: forget me, my data, retention, encryption at rest.

The forget-me test reads the SQLite file itself: every row of every table, and
the raw bytes of the database and its WAL, must not hold the user's id or
anything they typed.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot import privacy
from bot.app import SCHEMA
from bot.crypto import FernetCodec, MissingKey, UnkeyedCodec, WrongKey, rotate_store
from bot.events import Choice, Command, ConversationKey, Document, Edit, Incoming, Send, Text
from bot.flows.loader import load_flowset
from bot.store import Store
from tests.desk_harness import World

REPO = Path(__file__).resolve().parent.parent
USER = "user-4711"
ADDRESS = "Zonnebloemstraat 17, Utrecht"
RELAYED = "Mijn buurman weet waar ik woon"
REPORTED = "Iemand bekraste mijn auto op de parkeerplaats"
REPORT_TITLE = "Testmelding van een incident"
TALK_TITLE = "wil praten"


def every_value(db_path: Path) -> list[tuple[str, object]]:
    """(table, value) for every column of every row of every table in the file."""
    with sqlite3.connect(db_path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [(table, value) for table in tables
                for row in db.execute(f'SELECT * FROM "{table}"') for value in row]


def raw_bytes(db_path: Path) -> bytes:
    data = db_path.read_bytes()
    wal = Path(f"{db_path}-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def exported(world: World, user: str) -> Document:
    """The newest "my data" document the user received (the flow's question may follow it)."""
    documents = [sent.document for sent in world.outlet.sent[user] if isinstance(sent, Send) and sent.document]
    assert documents, f"{user} received no document"
    return documents[-1]


async def a_user_with_everything(world: World) -> None:
    """A report the desk has, a check-in with an address, a relayed talk and a pending report."""
    await world.start_over(USER, "meldtest")
    await world.say(USER, REPORTED)
    await world.press(USER, "okay")
    await world.say(USER, "06-99990000")
    await world.press(USER, "send")
    await world.post_desk()  # this report reached the desk: it stays with the organisation
    await world.start_over(USER, "huisbezoek")
    await world.press(USER, "m60")
    await world.press(USER, "yes")
    await world.say(USER, ADDRESS)
    await world.press(USER, "no")
    world.outlet.refuse_rooms = True  # from here on the desk's platform is down
    await world.start_over(USER, "meldtest")
    await world.say(USER, "Een tweede voorval bij de school")
    await world.press(USER, "okay")
    await world.say(USER, "06-99990000")
    await world.press(USER, "send")
    await world.post_desk()  # WW-2026-0002 waits for the desk
    await world.say(USER, "mens")
    await world.desk_says("m1", "/claim WW-2026-0003")
    await world.say(USER, RELAYED)
    await world.desk_says("m1", "/r WW-2026-0003 Dag, ik lees mee.")


async def test_forget_me_leaves_no_row_and_no_byte_of_the_user_in_the_database_file(tmp_path):
    world = await World(tmp_path).start()
    try:
        await a_user_with_everything(world)
        db_file = world.settings.db
        assert any(USER in str(v) for _, v in every_value(db_file))  # before: all over the place
        said = await world.say(USER, "vergeet mij")
        assert said[0].startswith("Wil je stoppen?")
        said = await world.press(USER, "yes")
        assert "Meldingen die al bij een organisatie zijn, blijven daar." in said[0]
        await world.close()  # the forgotten-message left the outbox; the WAL is checkpointed

        typed = [USER, ADDRESS, RELAYED, "Een tweede voorval", "06-99990000", "Dag, ik lees mee", REPORTED]
        for table, value in every_value(db_file):
            for text in typed:
                assert text not in str(value), f"{text!r} is still in table {table}"
        data = raw_bytes(db_file)
        for text in typed:
            assert text.encode() not in data, f"{text!r} is still in the database file"
        # the report the desk already had is still known by its reference, without the user
        with sqlite3.connect(db_file) as db:
            assert db.execute("SELECT ref, who, key, body FROM cases").fetchall() == [
                ("WW-2026-0001", None, None, None)]
            assert db.execute("SELECT COUNT(*) FROM timers").fetchone() == (0,)
    finally:
        await world.close()


async def test_after_forget_me_the_desk_hears_the_talk_ended_and_a_claim_of_the_old_report_still_works(tmp_path):
    world = await World(tmp_path).start()
    try:
        await a_user_with_everything(world)
        await world.say(USER, "vergeet mij")
        await world.press(USER, "yes")
        world.outlet.refuse_rooms = False
        world.clock.advance(minutes=5)
        await world.post_desk()
        texts = world.outlet.room_texts()
        assert texts[-1].endswith("heeft het gesprek WW-2026-0003 beëindigd.")
        assert not any("WW-2026-0002" in t for t in texts)  # the undelivered report was deleted
        assert await world.desk_says("m1", "/claim WW-2026-0001") == [
            "WW-2026-0001 is opgepakt. De melder heeft gevraagd alles te wissen en krijgt geen bericht."]
    finally:
        await world.close()


async def test_my_data_lists_everything_stored_in_readable_form(tmp_path):
    world = await World(tmp_path).start()
    try:
        await a_user_with_everything(world)
        said = await world.command(USER, "mijngegevens")
        # the answer to the command, then the question the user was at, asked again
        assert "Hier is alles wat ik nu over je bewaar. Typ stop als je wilt dat ik het wis." in said
        document = exported(world, USER)
        assert document is not None and document.filename == "mijn-gegevens.txt"
        text = document.content
        assert "Je gesprek (laatst actief op " in text
        assert f"      • Typ het adres (straat, huisnummer en plaats).\n        {ADDRESS}\n" in text
        assert "WW-2026-0001 · Testmelding van een incident · nog niet opgepakt" in text
        assert "WW-2026-0003 · Gebruiker #" in text and "in gesprek" in text
        assert f"Jij: {RELAYED}" in text and "Team Wegwijzer: Dag, ik lees mee." in text
        assert "WW-2026-0002" in text and "Nog niet bij het veiligheidsloket" in text and "Een tweede voorval" in text
        assert "meldpunt" not in text.replace("Op welk nummer kan het meldpunt", "")  # one word for the desk
        assert re.search(r"checkin om 30-11-2026 11:00", text)
        assert f"Een gesprek dat {world.settings.retention_days} dagen niet gebruikt is, wis ik vanzelf." in text
        assert "Meldingen die al bij het veiligheidsloket zijn, horen bij de organisatie" in text  # they made reports
        assert USER not in text  # nothing they could not recognise: no internal ids
    finally:
        await world.close()


async def test_my_data_for_someone_unknown_says_nothing_is_kept(tmp_path):
    world = await World(tmp_path).start()
    try:
        await world.command("stranger", "mijngegevens")
        document = exported(world, "stranger")
        assert document is not None and "Ik bewaar op dit moment niets over je." in document.content
    finally:
        await world.close()


_EN_UPDATES = itertools.count()


async def in_english(world: World, event: Any) -> list[Send | Edit]:
    """One update from a user whose app is set to English; what they were shown."""
    before = len(world.outlet.sent.get(USER, []))
    await world.c.handle(Incoming(ConversationKey("test", USER, USER), event,
                                  update_id=f"en:{next(_EN_UPDATES)}", lang_hint="en"))
    return world.outlet.sent[USER][before:]


@pytest.mark.parametrize("wipe", [Command("vergeet"), Text("stop")], ids=["/vergeet", "stop"])
async def test_my_data_right_after_a_wipe_follows_the_app_language(tmp_path, wipe):
    world = await World(tmp_path).start()
    try:
        await in_english(world, Command("start"))
        [question] = await in_english(world, wipe)
        assert question.text.startswith("Do you want to stop?")
        [done] = await in_english(world, Choice("yes", question.token))
        assert done.text.startswith("Done. I deleted everything")
        intro, help_text = await in_english(world, Text("my data"))  # the answer first, then the welcome
        assert help_text.text.startswith("I am Wegwijzer.")
        assert intro.text == "Here is everything I keep about you right now. Type stop if you want me to delete it."
        assert intro.document is not None and intro.document.filename == "my-data.txt"
        assert intro.document.title == "My data at Wegwijzer"
        assert intro.document.content.startswith("My data at Wegwijzer, made on ")
        assert "Ik " not in intro.document.content and "je " not in intro.document.content
    finally:
        await world.close()


# ---------------------------------------------------------------- retention


async def test_the_purge_removes_old_conversations_and_old_talks(tmp_path):
    world = await World(tmp_path).start()
    try:
        await world.say("old", "hallo")
        await world.say("talker", "mens")
        await world.desk_says("m1", "/claim WW-2026-0001")
        await world.say("talker", RELAYED)
        await world.desk_says("m1", "/end WW-2026-0001")
        from bot.privacy import purge_core

        # The store stamps rows with the product's clock, so time passes as the clock moves.
        world.clock.advance(days=6, hours=23)
        done = await purge_core(world.c)
        assert (done.talks, done.relay_messages, done.conversations) == (0, 0, 0)  # not yet 7 days
        world.clock.advance(hours=2)  # the talk ended 7 days and 1 hour ago
        done = await purge_core(world.c)
        assert (done.talks, done.relay_messages, done.conversations) == (1, 1, 0)
        world.clock.advance(days=15)
        await world.say("recent", "hallo")
        world.clock.advance(days=8)  # "old" and "talker" quiet for 30 days and 1 hour, "recent" for 8 days
        done = await purge_core(world.c)
        assert done.conversations == 2
        with sqlite3.connect(world.settings.db) as db:
            assert [k.split("\x1f")[1] for (k,) in db.execute("SELECT key FROM conversations")] == ["recent"]
    finally:
        await world.close()


def test_python_m_bot_purge(tmp_path):
    db_file = tmp_path / "bot.sqlite3"
    with sqlite3.connect(db_file) as db:  # an old conversation written long ago
        db.execute("PRAGMA journal_mode=WAL")
    import asyncio

    async def seed() -> None:
        store = await Store.open(db_file, schema=SCHEMA)
        await store.execute(lambda d: d.execute(
            "INSERT INTO conversations(key, who, state, updated_at) VALUES ('t\x1fa\x1fa', 't\x1fa', '{}', 1)"))
        await store.close()

    asyncio.run(seed())
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "WEGWIJZER_DB": str(db_file)}
    out = subprocess.run([sys.executable, "-m", "bot", "purge"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "conversations 1" in out.stdout
    with sqlite3.connect(db_file) as db:
        assert db.execute("SELECT COUNT(*) FROM conversations").fetchone() == (0,)


# ---------------------------------------------------------------- encryption at rest


async def test_with_a_key_nothing_typed_is_readable_in_the_file(tmp_path):
    key = Fernet.generate_key().decode()
    world = await World(tmp_path, encryption_keys=key).start()
    try:
        await a_user_with_everything(world)
        await world.c.store.truncate_wal()
        data = raw_bytes(world.settings.db)
        for text in (ADDRESS, RELAYED, REPORTED, "Een tweede voorval", "06-99990000", "Dag, ik lees mee",
                     USER, REPORT_TITLE):
            assert text.encode() not in data, text
        # and the bot still reads it all
        await world.command(USER, "mijngegevens")
        assert ADDRESS in exported(world, USER).content
    finally:
        await world.close()


async def test_key_rotation_new_key_first_rotate_then_drop_the_old(tmp_path):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    world = await World(tmp_path, encryption_keys=old).start()
    try:
        await a_user_with_everything(world)
    finally:
        await world.close()
    # 1. the new key first, the old one after it
    world.settings = world.settings.model_copy(update={"encryption_keys": _secret(f"{new},{old}")})
    await world.start()
    changed = await rotate_store(world.c.store, world.c.store.codec)
    assert changed > 5
    assert await rotate_store(world.c.store, world.c.store.codec) == 0  # nothing left to do
    await world.close()
    # 2. without the old key everything still opens
    world.settings = world.settings.model_copy(update={"encryption_keys": _secret(new)})
    await world.start()
    try:
        await world.command(USER, "mijngegevens")
        assert ADDRESS in exported(world, USER).content
    finally:
        await world.close()


def _secret(value: str):
    from pydantic import SecretStr

    return SecretStr(value)


async def test_python_m_bot_rotate_keys_and_new_key(tmp_path):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    world = await World(tmp_path, encryption_keys=old).start()
    try:
        await world.say(USER, "hallo")
    finally:
        await world.close()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "WEGWIJZER_DB": str(world.settings.db),
           "WEGWIJZER_ENCRYPTION_KEYS": f"{new},{old}"}
    out = subprocess.run([sys.executable, "-m", "bot", "rotate-keys"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("re-encrypted 2 value(s)")  # the conversation and the database's id key
    made = subprocess.run([sys.executable, "-m", "bot", "new-key"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    Fernet(made.stdout.strip())  # a valid key


def test_codecs_refuse_to_misread():
    key = Fernet.generate_key()
    sealed = FernetCodec([key]).encode('{"f": "main"}')
    assert sealed.startswith(b"gAAAAA")
    with pytest.raises(MissingKey):
        UnkeyedCodec().decode(sealed)
    with pytest.raises(WrongKey):
        FernetCodec([Fernet.generate_key()]).decode(sealed)
    assert FernetCodec([key]).decode(b'{"plain": "before encryption was on"}') == '{"plain": "before encryption was on"}'


async def test_a_database_with_encrypted_data_and_no_key_fails_loudly(tmp_path):
    world = await World(tmp_path, encryption_keys=Fernet.generate_key().decode()).start()
    try:
        await world.say(USER, "hallo")
    finally:
        await world.close()
    world.settings = world.settings.model_copy(update={"encryption_keys": None})
    await world.start()
    try:
        with pytest.raises(MissingKey):
            await world.say(USER, "hallo")
    finally:
        await world.close()


# ---------------------------------------------------------------- a reader holds the file


def a_backup_reading(db_file: Path) -> sqlite3.Connection:
    """Another program (a backup) in the middle of reading the file: an old snapshot is held open."""
    reader = sqlite3.connect(db_file, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM conversations").fetchall()
    return reader


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("app_lang", "told"), [
    (None, "Je gegevens zijn gewist uit de database."),
    ("en", "Your data has been deleted from the database."),
])
async def test_a_backup_reading_the_file_during_forget_me_is_waited_for_then_the_user_is_told_honestly(
        tmp_path, monkeypatch, caplog, app_lang, told):
    monkeypatch.setattr(privacy, "WAL_WAIT_S", 0.5)  # the bounded wait (seconds) before the user is told
    world = await World(tmp_path).start()
    wal = Path(f"{world.settings.db}-wal")
    try:
        if app_lang == "en":
            await in_english(world, Command("start"))
        await world.start_over(USER, "huisbezoek")
        await world.press(USER, "m60")
        await world.press(USER, "yes")
        await world.say(USER, ADDRESS)
        reader = a_backup_reading(world.settings.db)
        await world.say(USER, "stop" if app_lang else "vergeet mij")
        with caplog.at_level(logging.DEBUG):
            await world.press(USER, "yes")
            await asyncio.gather(*privacy.WAL_TASKS)
        said = world.outlet.texts(USER)
        assert told in said[-1]
        assert "write-ahead" in said[-1]
        assert len(said[-1]) <= 1000
        warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert any("write-ahead log" in m for m in warned), warned
        assert not any(USER in m or ADDRESS in m for m in (r.getMessage() for r in caplog.records))
        assert wal.stat().st_size > 0  # the old pages are still there while the backup reads

        reader.execute("COMMIT")  # the backup is done
        reader.close()
        await privacy.purge_core(world.c)  # the next periodic run truncates it
        assert wal.stat().st_size == 0
        assert ADDRESS.encode() not in raw_bytes(world.settings.db)
    finally:
        await world.close()


async def test_without_a_reader_forget_me_truncates_the_wal_at_once_and_says_nothing_more(tmp_path):
    world = await World(tmp_path).start()
    try:
        await world.start_over(USER, "huisbezoek")
        await world.press(USER, "m60")
        await world.press(USER, "yes")
        await world.say(USER, ADDRESS)
        await world.say(USER, "vergeet mij")
        said = await world.press(USER, "yes")
        await asyncio.gather(*privacy.WAL_TASKS)
        assert world.outlet.texts(USER)[-1] == said[-1]  # only the confirmation
        assert ADDRESS.encode() not in raw_bytes(world.settings.db)
    finally:
        await world.close()


# ---------------------------------------------------------------- who and when, with keys set

def plain_leftovers(db_file: Path, needles: Sequence[str]) -> list[tuple[str, str]]:
    """(table, needle) for every needle readable in any value of any row of any table."""
    found = []
    for table, value in every_value(db_file):
        shown = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        found += [(table, needle) for needle in needles if needle in shown]
    return sorted(set(found))


async def test_with_keys_no_table_shows_who_talked_to_the_bot_what_about_or_which_timer_is_set(tmp_path):
    world = await World(tmp_path, encryption_keys=Fernet.generate_key().decode()).start()
    try:
        await a_user_with_everything(world)  # a check-in with an address, reports, a talk with the desk
        update_ids = [f"test:{n}" for n in range(1, world.client.updates + 1)]
        desk_message_ids = [post.message_id for post in world.outlet.posts]
        with sqlite3.connect(world.settings.db) as db:
            assert db.execute("SELECT COUNT(*) FROM timers").fetchone() == (1,)
            assert db.execute("SELECT COUNT(*) FROM handled").fetchone()[0] >= len(update_ids)
        needles = [USER, ADDRESS, RELAYED, REPORTED, "Dag, ik lees mee", "Een tweede voorval", "06-99990000",
                   REPORT_TITLE, TALK_TITLE, *update_ids]
        assert plain_leftovers(world.settings.db, needles) == []
        with sqlite3.connect(world.settings.db) as db:
            [(name,)] = db.execute("SELECT name FROM timers").fetchall()
            assert "checkin" not in name and "grace" not in name
            stored_message_ids = [m for (m,) in db.execute("SELECT message_id FROM desk_messages")]
            assert stored_message_ids and not set(stored_message_ids) & set(desk_message_ids)

        # and everything still works on those rows: my data, the desk, the check-in, the timer
        await world.command(USER, "mijngegevens")
        text = exported(world, USER).content
        assert f"      • Typ het adres (straat, huisnummer en plaats).\n        {ADDRESS}\n" in text
        assert f"WW-2026-0001 · {REPORT_TITLE}" in text and f"Jij: {RELAYED}" in text
        assert re.search(r"checkin om 30-11-2026 11:00", text)
        queue = await world.desk_says("m1", "/queue")
        assert REPORT_TITLE in queue[0]
        await world.desk_says("m1", "/r WW-2026-0003 Nog een vraag?")
        assert world.outlet.texts(USER)[-1].endswith("Nog een vraag?")
        shown = len(world.outlet.texts(USER))
        world.clock.advance(minutes=61)
        assert await world.fire_timers() == 1  # the check-in found its conversation and asked
        assert len(world.outlet.texts(USER)) > shown
    finally:
        await world.close()


async def test_with_keys_forget_me_still_deletes_everything_and_keeps_the_delivered_report(tmp_path):
    world = await World(tmp_path, encryption_keys=Fernet.generate_key().decode()).start()
    try:
        await a_user_with_everything(world)
        await world.say(USER, "vergeet mij")
        said = await world.press(USER, "yes")
        assert "Meldingen die al bij een organisatie zijn, blijven daar." in said[0]
        await asyncio.gather(*privacy.WAL_TASKS)
        with sqlite3.connect(world.settings.db) as db:
            for table in ("conversations", "outbox", "timers", "relay_messages"):
                assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,), table
            assert db.execute("SELECT ref, who, key, addr, body FROM cases").fetchall() == [
                ("WW-2026-0001", None, None, None, None)]
        await world.command(USER, "mijngegevens")
        assert "Ik bewaar op dit moment niets over je." in exported(world, USER).content
    finally:
        await world.close()


def as_written_by_schema_4(db_file: Path) -> None:
    """Turn the file into what the bot wrote before migration 5: no sealed columns, plain titles."""
    with sqlite3.connect(db_file) as db:
        db.execute("UPDATE cases SET title = json_extract(CAST(title AS TEXT), '$')")
        for table, column in (("outbox", "addr"), ("timers", "addr"), ("timers", "label"), ("cases", "addr")):
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        db.execute("DROP TABLE inbox")  # migration 6's
        db.execute("PRAGMA user_version = 4")


@pytest.mark.parametrize("before", ["an older version of the bot", "this version without keys"])
async def test_rows_written_without_protection_are_converted_when_keys_are_set(tmp_path, before):
    world = await World(tmp_path).start()
    try:
        await a_user_with_everything(world)
    finally:
        await world.close()
    if before == "an older version of the bot":
        as_written_by_schema_4(world.settings.db)
    assert plain_leftovers(world.settings.db, [USER, REPORT_TITLE])  # plain before

    world.settings = world.settings.model_copy(
        update={"encryption_keys": _secret(Fernet.generate_key().decode())})
    await world.start()
    try:
        # ids are pseudonymised at start; what was typed before gets encrypted by rotate-keys (KEY-ROTATION.md)
        await rotate_store(world.c.store, world.c.store.codec)
        assert plain_leftovers(world.settings.db, [USER, REPORT_TITLE, TALK_TITLE, ADDRESS, "test:1"]) == []
        said = await world.desk_says("m1", "/r WW-2026-0003 Bent u er nog?")  # the talk still reaches the user
        assert said == [] or "WW-2026-0003" in said[0]
        assert world.outlet.texts(USER)[-1].endswith("Bent u er nog?")
        await world.command(USER, "mijngegevens")
        text = exported(world, USER).content
        assert f"        {ADDRESS}\n" in text and f"WW-2026-0001 · {REPORT_TITLE}" in text
        world.clock.advance(minutes=61)
        assert await world.fire_timers() == 1  # the check-in timer found its conversation
    finally:
        await world.close()


async def a_bezwaar_deadline_worked_out(world: World) -> None:
    """A parent at the menu works out the deadline for a bezwaar against a decision of 12 October."""
    for choice in ("parent", "deadline", "bezwaar"):
        await world.press(USER, choice)
    await world.say(USER, "12-10-2026")
    await world.press(USER, "yes")


async def test_my_data_says_in_the_persons_words_what_each_stored_name_means(tmp_path):
    """'role: parent' alone meant nothing to a new user, and internal names ('case_typed', 'route: gi',
    'stage: new', 'complaint_letter.child_born_ask') even less: the export gives each question and the
    person's answer in words, what the bot worked out in words, and counts the bot's own notes."""
    world = await World(tmp_path).start()
    try:
        await world.start_over(USER)
        await a_bezwaar_deadline_worked_out(world)
        await world.command(USER, "mijngegevens")
        text = exported(world, USER).content
        assert "    • Wie ben jij?\n      Ouder of verzorger\n" in text
        assert "    • Welke termijn wil je uitrekenen?\n      Bezwaar bij de gemeente\n" in text
        assert "    • Op welke datum is het besluit bekendgemaakt?\n      12 oktober 2026\n" in text
        # the last day the flow kept beside the deadline is in the deadline's own line: said once, not twice
        assert "    • Uitgerekend voor jou:\n      23 november 2026\n" not in text
        assert text.count("23 november 2026") == 1
        # the deadline the flow worked out: in words, not as the JSON a new user took for an error
        assert ('      termijn van "Bezwaar maken tegen een besluit van de gemeente": 6 weken na de dag dat '
                "het besluit is bekendgemaakt") in text
        assert "begindatum 12 oktober 2026, laatste dag 23 november 2026; toen ik het uitrekende, was de laatste " \
               "dag al voorbij\n" in text
        assert "Waar je bent: Termijn uitrekenen, bij de vraag: " in text
        for internal in ("{", '"entry"', "role", "parent", "kind:", "start_date", "last_day", "termijn.", "Taal: nl"):
            assert internal not in text, internal
    finally:
        await world.close()


async def test_my_data_names_only_the_button_the_person_pressed(tmp_path):
    """Jeugdbescherming chosen at "which organisation": 'org: gi' was shown as "Een schriftelijke
    aanwijzing", another button that sets org gi too. Only a button that set every value it sets,
    at a question the person was asked, is named."""
    world = await World(tmp_path).start()
    try:
        await world.start_over(USER, "klacht")
        await world.press(USER, "treated")
        await world.press(USER, "gi")
        await world.command(USER, "mijngegevens")
        text = exported(world, USER).content
        assert "    • Waar gaat het over?\n      Hoe ik behandeld ben\n" in text
        assert "    • Over welke organisatie gaat het?\n      Jeugdbescherming (GI)\n" in text
        for wrong in ("schriftelijke aanwijzing", "org:", "route:", "stage", " gi\n", "treated"):
            assert wrong not in text, wrong
    finally:
        await world.close()


async def test_my_data_in_english_says_the_questions_and_answers_in_english(tmp_path):
    world = await World(tmp_path).start()
    try:
        await in_english(world, Command("start"))
        await a_bezwaar_deadline_worked_out(world)
        [intro, *_] = await in_english(world, Command("mijngegevens"))
        assert intro.document is not None
        text = intro.document.content
        assert "What you told me and what I worked out for you:" in text
        assert "    • Which deadline do you want to work out?\n      Objection (bezwaar)\n" in text
        assert "\n      12 October 2026\n" in text and "Language: English" in text
        assert "Not at the safety desk" not in text and "meldpunt" not in text
    finally:
        await world.close()


def test_my_data_says_any_other_computed_value_in_words_in_both_languages():
    """A list or record a flow computed, beside what it stored as typed: its parts in words."""
    flows = load_flowset(REPO / "flows", REPO / "locales")
    dutch = privacy.Exporter(flows, UnkeyedCodec(), "nl", 30)
    english = privacy.Exporter(flows, UnkeyedCodec(), "en", 30)
    record = {"start": "2026-10-12", "answered": True, "rooms": ["a", "b"], "note": None}
    assert dutch.shown(record) == "begindatum: 12 oktober 2026; answered: Ja; rooms: a, b; note: (leeg)"
    assert english.shown(record) == "start date: 12 October 2026; answered: Yes; rooms: a, b; note: (empty)"
    assert dutch.shown(["2026-12-01", 3]) == "1 december 2026, 3"
    assert dutch.shown([]) == "(leeg)"
    term = {"entry": "gemeente_bezwaar", "rule": "indienen", "start": "2026-10-12", "last_day": "2026-11-23",
            "days_left": 1}
    assert english.shown(term).startswith(
        'deadline of "Objecting (bezwaar) to a decision of the municipality": 6 weeks after ')
    assert english.shown(term).endswith("start date 12 October 2026, last day 23 November 2026; when I worked it "
                                        "out, the last day was the next day")


async def named_the_child_in_a_gi_letter(world: World) -> None:
    """A parent's GI complaint letter up to the child's name: "zoon daan (8)" in the story, then "Emma Jansen".
    A child's name in the story is fine in this private letter, but the name promise holds for it too."""
    await world.start_over(USER)
    for label in ("Ouder of verzorger", "Klacht of niet mee eens", "Hoe ik behandeld ben", "Jeugdbescherming (GI)",
                  "Laat de gratis hulp zien", "Nee, nog niet"):
        await world.press(USER, label)
    await world.say(USER, "3 maart 2026")
    await world.press(USER, "Ja")
    await world.press(USER, "Ja, maak een conceptbrief")
    await world.say(USER, "De jeugdbeschermer van mijn zoon daan (8) komt steeds niet op de afspraken.")
    await world.say(USER, "Een gesprek met de teamleider.")
    await world.say(USER, "later")
    await world.say(USER, "later")
    await world.say(USER, "Emma Jansen")


async def made_the_letter(world: World) -> None:
    """The rest of that letter's questions, until the letter is made."""
    await world.say(USER, "later")
    for label in ("Weet ik niet", "Niet één medewerker"):
        await world.press(USER, label)
    await world.say(USER, "niets")
    letter = await world.say(USER, "niets")
    assert any("Hier is je conceptbrief" in text for text in letter)


async def test_the_child_s_name_is_gone_from_my_data_once_the_letter_is_made(tmp_path):
    """The letter's name question promises "Ik bewaar de naam tot de brief klaar is en wis hem dan"; a new
    user found the name still in "mijn gegevens" after the letter (the complaint was reached from the menu,
    so the conversation went on after it)."""
    world = await World(tmp_path).start()
    try:
        await named_the_child_in_a_gi_letter(world)
        await world.command(USER, "mijngegevens")
        assert "Emma Jansen" in exported(world, USER).content  # kept while the letter is being written
        assert "zoon daan (8)" in exported(world, USER).content
        await made_the_letter(world)
        await world.press(USER, "Terug naar het begin")
        await world.command(USER, "mijngegevens")
        assert "Emma" not in exported(world, USER).content
        assert "zoon daan" not in exported(world, USER).content
    finally:
        await world.close()


async def test_the_child_s_name_is_gone_from_the_stored_row_and_back_cannot_bring_it_again(tmp_path):
    """The wipe after the letter emptied the answers but not the copies "terug" keeps (the name was in
    the stored row nine times), so "terug" brought the name back and the row still held it."""
    world = await World(tmp_path).start()
    try:
        await named_the_child_in_a_gi_letter(world)
        assert any("Emma Jansen" in str(v) for _, v in every_value(world.settings.db))  # kept while writing
        await made_the_letter(world)
        for table, value in every_value(world.settings.db):
            assert "Emma" not in str(value) and "zoon daan" not in str(value), table
        seen: list[str] = []
        for _ in range(12):
            seen += await world.say(USER, "terug")
        await world.command(USER, "mijngegevens")
        seen.append(exported(world, USER).content)
        assert seen and not any("Emma" in text or "zoon daan" in text for text in seen)
        for table, value in every_value(world.settings.db):
            assert "Emma" not in str(value) and "zoon daan" not in str(value), table
    finally:
        await world.close()


async def test_my_data_of_a_parent_says_nothing_about_the_safety_desk(tmp_path):
    """A parent in the second try-out read a line about the "veiligheidsloket" in "mijn gegevens":
    that desk is for professionals' reports, so its line is there only for them."""
    world = await World(tmp_path).start()
    try:
        await world.start_over(USER)
        await world.press(USER, "Ouder of verzorger")
        await world.command(USER, "mijngegevens")
        text = exported(world, USER).content
        assert "Ouder of verzorger" in text and "wis ik vanzelf" in text
        assert "veiligheidsloket" not in text
    finally:
        await world.close()


async def at_the_council_request(world: World) -> None:
    await world.command(USER, "start", "inspreken")
    for text in ("Vlieland", "2", "2", "jeugdhulp op het eiland", "2", "1",
                 "Ouders op het eiland wachten maanden op jeugdhulp"):
        await world.say(USER, text)


HELD_LINE = "Wat je typte toen de crisischeck je bericht tegenhield"


async def held_then_moved_on(tmp_path, typed: str, reply: str, move_on: str, *, gone: str, gone_from_rows: str):
    """A council request the crisis check held: in "mijn gegevens" and in the row while held; after
    `move_on`, `gone` is out of the export and `gone_from_rows` out of every stored row."""
    world = await World(tmp_path).start()
    try:
        await at_the_council_request(world)
        said = await world.say(USER, typed)
        assert any(reply in text for text in said)
        await shown_while_held(world, typed)
        await gone_after(world, move_on, gone=gone, gone_from_rows=gone_from_rows)
    finally:
        await world.close()


async def shown_while_held(world: World, typed: str) -> None:
    """The held text is in "mijn gegevens" and in the stored row."""
    await world.command(USER, "mijngegevens")
    text = exported(world, USER).content
    assert HELD_LINE in text and typed in text
    assert any('"_held"' in str(value) for _table, value in every_value(world.settings.db))


async def gone_after(world: World, move_on: str, *, gone: str, gone_from_rows: str) -> None:
    """After `move_on`, `gone` is out of the export and `gone_from_rows` out of every stored row."""
    await world.press(USER, move_on)
    await world.command(USER, "mijngegevens")
    assert gone not in exported(world, USER).content
    for table, value in every_value(world.settings.db):
        assert gone_from_rows not in str(value), table


@pytest.mark.parametrize("typed", [
    "alles is zwaar en ik kan niet meer",  # plain despair: the crisis answer or the check question, by the model
    "Zorg dat er een jeugdwerker op het eiland komt. Ik kan echt niet meer",  # a rule's check question, any model
])
async def test_a_held_answer_is_in_my_data_and_gone_after_not_now(tmp_path, typed):
    """A text the crisis check held stayed in the row after "Nu even niet" until retention, while
    "mijn gegevens" left it out and promised "what you typed and is not below, I do not keep"
    (review 2026-12-07): it is shown while held, and gone once the person chose something else.

    The first reply names 113 and its number, as the answer or as the check question (either is the product's
    answer to plain despair, docs/CRISIS.md ninth round); after the question "Ja" gives the answer. What a
    rule's question stopped is held as what the model guessed (the ninth round's engine)."""
    world = await World(tmp_path).start()
    try:
        await at_the_council_request(world)
        said = await world.say(USER, typed)
        assert "113" in said[0] and "0800-0113" in said[0], said
        if any("Praat erover met 113" in text for text in said):  # the check question: "Ja" gives the answer
            said = await world.press(USER, "Ja")
            assert any("Bel dan nu 113 of gratis 0800-0113" in text for text in said), said
        assert any("Wil je nu verder waar we waren" in text for text in said), said
        await shown_while_held(world, typed)
        await gone_after(world, "Nu even niet", gone=typed, gone_from_rows=typed)
    finally:
        await world.close()


async def test_a_text_a_rules_question_held_is_wiped_by_forget_me(tmp_path):
    """"vergeet mij" while a rule's check question holds the text: nothing of it stays in any row."""
    typed = "Zorg dat er een jeugdwerker op het eiland komt. Ik kan echt niet meer"
    world = await World(tmp_path).start()
    try:
        await at_the_council_request(world)
        said = await world.say(USER, typed)
        assert any("Denk je aan zelfdoding?" in text for text in said), said
        assert any('"_held"' in str(value) for _table, value in every_value(world.settings.db))
        said = await world.say(USER, "vergeet mij")
        assert said[0].startswith("Wil je stoppen?"), said
        await world.press(USER, "yes")
        await world.close()
        for table, value in every_value(world.settings.db):
            assert "jeugdwerker op het eiland" not in str(value), table
        assert b"jeugdwerker op het eiland" not in raw_bytes(world.settings.db)
    finally:
        await world.close()


async def test_a_held_answer_is_dropped_when_a_button_moves_on(tmp_path):
    """Held for the council, then "Het gevaar is voorbij" in the safety route: the text is not kept as
    held (it is still there once, as what happened that the safety route offers back: its own line)."""
    await held_then_moved_on(tmp_path, "put a youth worker and a police officer on the island", "Nee, ga verder",
                             "Het gevaar is voorbij", gone=HELD_LINE, gone_from_rows='"_held"')


async def test_a_held_answer_used_for_the_council_is_no_story_kept_for_the_safety_route(tmp_path):
    """After "Nee, ga verder" the council text lingered as what happened, and "mijn gegevens" promised to
    offer it as the answer to that question (review 2026-12-07)."""
    world = await World(tmp_path).start()
    try:
        await at_the_council_request(world)
        await world.say(USER, "put a youth worker and a police officer on the island")
        said = await world.say(USER, "nee, dat bedoel ik niet")
        assert any('Ik vraag de raad: "put a youth worker and a police officer on the island"' in text for text in said)
        await world.command(USER, "mijngegevens")
        text = exported(world, USER).content
        assert "Wat je eerder typte" not in text
        assert "Wat je typte toen de crisischeck je bericht tegenhield" not in text
    finally:
        await world.close()


async def test_what_do_you_know_about_me_says_what_is_stored_in_one_message_and_the_button_sends_the_whole_file(tmp_path):
    """"Wat weten jullie van mij?" is the person's own data, said in the chat: a part when it is more than
    a phone message holds, with 'Alles zien', which sends the file 'mijn gegevens' sends."""
    world = await World(tmp_path).start()
    try:
        await a_user_with_everything(world)
        await world.desk_says("m1", "/end WW-2026-0003")  # the talk is over: what they type is for the bot again
        await world.start_over(USER)
        before = len(world.outlet.sent[USER])
        said = await world.say(USER, "wat weten jullie van mij?")
        sent = [s for s in world.outlet.sent[USER][before:] if isinstance(s, Send)]
        assert all(len(text) <= 1000 for text in said)
        [data] = [s for s in sent if s.text.startswith("Dit bewaar ik nu over je:")]
        assert "Je gesprek (laatst actief op " in data.text and "Dit is een deel. Kies 'Alles zien'" in data.text
        assert "Typ 'vergeet mij' of 'stop' om alles meteen te wissen." in data.text
        assert "Ik ben Wegwijzer, een computerprogramma" not in "\n".join(said)  # not the general privacy text
        assert said[-1].startswith("Wie ben jij?") or "Wie ben jij?" in said[-1]  # then the question again
        assert data.document is None and [b.label for b in data.choices] == ["Alles zien"]
        await world.send(USER, Choice(data.choices[0].id, data.token))
        text = exported(world, USER).content
        assert f"Jij: {RELAYED}" in text and "WW-2026-0002" in text and ADDRESS in text
    finally:
        await world.close()
