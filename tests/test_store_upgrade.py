"""Databases people already have keep working: a version-4 file upgrades, and every schema stays the one on disk.

The version-4 database (tests/data/store/wegwijzer-v4.sql) was written by the bot
itself at commit 39f8b66, before migration 5: a delivered report, a report waiting
for the desk, a talk with the desk, a check-in timer and a reply still queued.
The schema (tests/data/store/schema-v5.sql) is what a new database got at commit
ff0dfb4. Moving migrations into the features that own the tables must change
neither the numbers nor a column: both are compared with what SQLite holds.
schema-v6.sql and schema-v7.sql hold only what migrations 6 (the webhook inbox,
bot/inbox.py) and 7 (the hand-over's table, bot/handover.py) added: a new database
must have version 5's statements unchanged plus exactly those.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.app import open_store
from bot.events import Send
from bot.settings import Settings
from tests.desk_harness import World

DATA = Path(__file__).resolve().parent / "data" / "store"
V4 = DATA / "wegwijzer-v4.sql"
SCHEMA_V5 = DATA / "schema-v5.sql"
SCHEMA_V6 = DATA / "schema-v6.sql"
SCHEMA_V7 = DATA / "schema-v7.sql"
USER = "user-4711"
ADDRESS = "Zonnebloemstraat 17, Utrecht"


def restore(dump: Path, db_file: Path) -> None:
    with sqlite3.connect(db_file) as db:
        db.executescript(dump.read_text())


def schema_of(db_file: Path) -> tuple[int, list[str]]:
    """user_version and every CREATE statement, whitespace folded (indentation in code is not schema)."""
    with sqlite3.connect(db_file) as db:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        rows = db.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name != 'secrets' "
                          "ORDER BY type, name").fetchall()
    return version, [" ".join(sql.split()) for (sql,) in rows]


def expected_schema() -> tuple[int, list[str]]:
    """Version 5's schema and what migrations 6 and 7 added, in sqlite_master's order (by type, then name)."""
    statements: list[str] = []
    for dump in (SCHEMA_V5, SCHEMA_V6, SCHEMA_V7):
        version, added = dumped(dump)
        statements += added
    return version, sorted(statements, key=lambda sql: re.findall(r"^CREATE (\w+) (\w+)", sql)[0])


def dumped(dump: Path) -> tuple[int, list[str]]:
    text = dump.read_text()
    version = int(re.search(r"PRAGMA user_version=(\d+);", text).group(1))  # type: ignore[union-attr]
    body = "\n".join(line for line in text.splitlines() if not line.startswith(("--", "PRAGMA")))
    return version, [" ".join(sql.split()) for sql in body.split(";") if sql.strip()]


async def test_a_new_database_gets_exactly_the_schema_and_version_of_before(tmp_path):
    settings = Settings(_env_file=None, db=tmp_path / "new.sqlite3")  # type: ignore[call-arg]
    store = await open_store(settings)
    await store.close()
    assert schema_of(settings.db) == expected_schema()  # version 5's statements all kept, unchanged


@pytest.mark.parametrize("keys", [False, True], ids=["without keys", "with encryption keys"])
async def test_a_version_4_database_written_by_the_bot_upgrades_and_everything_in_it_still_works(tmp_path, keys):
    world = World(tmp_path, **({"encryption_keys": Fernet.generate_key().decode()} if keys else {}))
    restore(V4, world.settings.db)
    await world.start()
    world.client.updates = 1000  # the old run handled test:1..test:19
    try:
        # the reply the platform had not accepted goes out to the right chat
        await world.c.start()
        await world.c.stop()
        assert world.outlet.texts(USER)[-1] == "Nog niet bezorgd"
        # the talk still reaches the user, and the user's text reaches the desk
        await world.desk_says("m1", "/r WW-2026-0003 Bent u er nog?")
        assert world.outlet.texts(USER)[-1].endswith("Bent u er nog?")
        # "my data" still shows the check-in's saved address and the reports
        await world.command(USER, "mijngegevens")
        export = next(a for a in reversed(world.outlet.sent[USER]) if isinstance(a, Send) and a.document)
        assert export.document is not None
        assert ADDRESS in export.document.content and "WW-2026-0001" in export.document.content
        # the check-in timer fires and asks the professional; its saved address is still readable
        shown = len(world.outlet.texts(USER))
        world.clock.advance(minutes=61)
        assert await world.fire_timers() == 1
        assert len(world.outlet.texts(USER)) > shown
        # the waiting report and the queue are still the desk's
        queue = await world.desk_says("m1", "/queue")
        assert "WW-2026-0002" in queue[0]
    finally:
        await world.close()
    assert schema_of(world.settings.db) == expected_schema()
    if keys:  # the ids written in the clear before are pseudonyms now
        with sqlite3.connect(world.settings.db) as db:
            assert db.execute("SELECT COUNT(*) FROM conversations WHERE who LIKE '%user-4711%'").fetchone() == (0,)
            assert db.execute("SELECT COUNT(*) FROM cases WHERE key LIKE '%user-4711%'").fetchone() == (0,)
