"""The store on a real PostgreSQL: several processes on one database, and the privacy guarantees.

tests/test_store.py runs the store's own suite on both backends; this file has what
several processes on one database must show (two processes migrating at once, on both
backends; two turns of one conversation from two processes, a timer seen by two bots) and the guarantees of
tests/test_privacy.py (forget-me, retention, encryption at rest) on PostgreSQL,
read back with plain psycopg.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from bot.app import SCHEMA
from bot.events import ConversationKey
from bot.store import Store, TurnResult
from tests.conftest import REPO
from tests.desk_harness import World
from tests.postgres import Cluster, Database, read
from tests.test_privacy import ADDRESS, RELAYED, REPORT_TITLE, REPORTED, TALK_TITLE, USER, a_user_with_everything, exported

KEY = str(ConversationKey("telegram", "anna", "anna"))


def every_value(url: str) -> list[tuple[str, object]]:
    """(table, value) for every column of every row of every table of the database."""
    names = [t for (t,) in read(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")]
    return [(table, value) for table in names for row in read(url, f'SELECT * FROM "{table}"') for value in row]


def readable(url: str, needles: list[str]) -> list[tuple[str, str]]:
    found = set()
    for table, value in every_value(url):
        shown = bytes(value).decode("utf-8", "replace") if isinstance(value, bytes | memoryview) else str(value)
        found |= {(table, needle) for needle in needles if needle in shown}
    return sorted(found)


# ---------------------------------------------------------------- several processes


MIGRATING = """
import asyncio, sys, time
from bot.app import SCHEMA
from bot.schema import Schema, Tables, run_script
from bot.store import Store

slow = Tables("slow")

@slow.migration(SCHEMA.version + 1, "a slow migration that must run once")
def _slow(db):
    run_script(db, "CREATE TABLE runs (at INTEGER NOT NULL)")  # no IF NOT EXISTS: a second run fails
    db.execute("INSERT INTO runs(at) VALUES (1)")
    time.sleep(0.5)  # the other process arrives meanwhile

async def main():
    sys.stdin.readline()  # both processes start, then open the store together
    store = await Store.open(sys.argv[1], schema=Schema([*SCHEMA.tables, slow]))
    await store.close()
    print("opened", flush=True)

asyncio.run(main())
"""


def test_two_processes_starting_together_run_each_migration_once(database: Database) -> None:
    """On both backends: SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory lock."""
    processes = [subprocess.Popen([sys.executable, "-c", MIGRATING, str(database.location)], cwd=REPO, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    results = [process.communicate(timeout=120) for process in processes]
    assert [(p.returncode, out) for p, (out, _err) in zip(processes, results, strict=True)] == [(0, "opened\n")] * 2, \
        [err for _out, err in results]
    assert database.read("SELECT count(*) FROM runs") == [(1,)]
    assert database.version() == SCHEMA.version + 1
    assert database.read("SELECT count(*) FROM conversations") == [(0,)]


async def test_two_turns_of_one_conversation_from_two_processes_run_one_after_the_other(pg_cluster: Cluster) -> None:
    """Process A reads the state and is still thinking when process B's turn of the same chat comes in:
    B waits, and reads what A wrote (no turn is lost). Another chat on a third process does not wait."""
    url = pg_cluster.new_database()
    a, b, c = [await Store.open(url, schema=SCHEMA) for _ in range(3)]
    try:
        thinking, go_on = threading.Event(), threading.Event()
        seen_by_b: list[str | None] = []

        def slow_a(raw: str | None) -> TurnResult:
            thinking.set()
            assert go_on.wait(30)
            return TurnResult(state="one", outbox=[], stats=[])

        def b_turn(raw: str | None) -> TurnResult:
            seen_by_b.append(raw)
            return TurnResult(state=f"{raw} two", outbox=[], stats=[])

        first = asyncio.create_task(a.turn(KEY, "tg:1", None, slow_a))
        assert await asyncio.to_thread(thinking.wait, 30)
        second = asyncio.create_task(b.turn(KEY, "tg:2", None, b_turn))
        other = str(ConversationKey("telegram", "bram", "bram"))
        assert await asyncio.wait_for(c.turn(other, "tg:3", None, lambda raw: TurnResult("x", [], [])), 30)
        await asyncio.sleep(0.5)
        assert seen_by_b == [] and not second.done(), "B ran its turn while A's turn of that chat was open"
        go_on.set()
        assert await first is not None and await asyncio.wait_for(second, 30) is not None
        assert seen_by_b == ["one"]
        assert await c.state(KEY) == "one two"
        # the same update delivered to both processes is handled once
        again = await asyncio.gather(a.turn(KEY, "tg:9", None, b_turn), b.turn(KEY, "tg:9", None, b_turn))
        assert sorted(r is None for r in again) == [False, True]
    finally:
        for store in (a, b, c):
            await store.close()


async def test_a_due_check_in_seen_by_two_bots_on_one_database_is_asked_once(pg_cluster: Cluster, tmp_path: Any) -> None:
    url = pg_cluster.new_database()
    one = await World(tmp_path / "one", db=url).start()
    two = await World(tmp_path / "two", clock=one.clock, db=url).start()
    try:
        await one.start_over(USER, "huisbezoek")
        await one.press(USER, "m60")
        await one.press(USER, "yes")
        await one.say(USER, ADDRESS)
        await one.press(USER, "no")
        one.clock.advance(minutes=61)
        before = len(one.outlet.texts(USER)) + len(two.outlet.texts(USER))
        fired = await asyncio.gather(one.fire_timers(), two.fire_timers())
        asked = one.outlet.texts(USER)[before:] + two.outlet.texts(USER)
        assert sum(fired) >= 1 and len([t for t in asked if "veilig" in t.lower()]) == 1, asked
        assert read(url, "SELECT count(*) FROM timers") == [(1,)]  # the grace timer after the question
    finally:
        await one.close()
        await two.close()


# ---------------------------------------------------------------- privacy, as on SQLite


async def test_forget_me_on_postgresql_leaves_no_row_of_the_user(pg_cluster: Cluster, tmp_path: Any) -> None:
    url = pg_cluster.new_database()
    world = await World(tmp_path, db=url).start()
    try:
        await a_user_with_everything(world)
        assert readable(url, [USER])  # before: all over the place
        await world.say(USER, "vergeet mij")
        said = await world.press(USER, "yes")
        assert "Meldingen die al bij een organisatie zijn, blijven daar." in said[0]
        typed = [USER, ADDRESS, RELAYED, "Een tweede voorval", "06-99990000", "Dag, ik lees mee", REPORTED]
        assert readable(url, typed) == []
        assert read(url, "SELECT ref, who, key, body FROM cases") == [("WW-2026-0001", None, None, None)]
        assert read(url, "SELECT count(*) FROM timers") == [(0,)]
    finally:
        await world.close()


async def test_with_keys_postgresql_holds_no_id_and_nothing_typed_and_the_bot_still_reads_it(
        pg_cluster: Cluster, tmp_path: Any) -> None:
    url = pg_cluster.new_database()
    world = await World(tmp_path, db=url, encryption_keys=Fernet.generate_key().decode()).start()
    try:
        await a_user_with_everything(world)
        update_ids = [f"test:{n}" for n in range(1, world.client.updates + 1)]
        needles = [USER, ADDRESS, RELAYED, REPORTED, "Dag, ik lees mee", "Een tweede voorval", "06-99990000",
                   REPORT_TITLE, TALK_TITLE, *update_ids]
        assert readable(url, needles) == []
        await world.command(USER, "mijngegevens")
        text = exported(world, USER).content
        assert f"        {ADDRESS}\n" in text and f"WW-2026-0001 · {REPORT_TITLE}" in text
        queue = await world.desk_says("m1", "/queue")
        assert REPORT_TITLE in queue[0]
        world.clock.advance(minutes=61)
        assert await world.fire_timers() == 1
    finally:
        await world.close()


async def test_keys_set_later_convert_the_rows_already_in_postgresql(pg_cluster: Cluster, tmp_path: Any) -> None:
    url = pg_cluster.new_database()
    world = await World(tmp_path, db=url).start()
    try:
        await a_user_with_everything(world)
    finally:
        await world.close()
    assert readable(url, [USER, REPORT_TITLE])
    from pydantic import SecretStr

    from bot.crypto import rotate_store

    world.settings = world.settings.model_copy(update={"encryption_keys": SecretStr(Fernet.generate_key().decode())})
    await world.start()
    try:
        await rotate_store(world.c.store, world.c.store.codec)
        assert readable(url, [USER, REPORT_TITLE, TALK_TITLE, ADDRESS, "test:1"]) == []
        await world.command(USER, "mijngegevens")
        assert f"        {ADDRESS}\n" in exported(world, USER).content
    finally:
        await world.close()


async def test_the_purge_and_the_statistics_on_postgresql(pg_cluster: Cluster, tmp_path: Any) -> None:
    from bot.privacy import purge_core

    url = pg_cluster.new_database()
    world = await World(tmp_path, db=url).start()
    try:
        await world.say("old", "hallo")
        world.clock.advance(days=22)
        await world.say("recent", "hallo")
        world.clock.advance(days=8, hours=1)
        done = await purge_core(world.c)
        assert done.conversations == 1
        assert [k.split("\x1f")[1] for (k,) in read(url, "SELECT key FROM conversations")] == ["recent"]
        assert await world.c.store.stats() == read(url, "SELECT week, event, n FROM stats ORDER BY week, event")
        assert await world.c.store.stats()
    finally:
        await world.close()


def test_the_cluster_helper_finds_debians_programs() -> None:
    """On CI's Debian, initdb is not on PATH but under /usr/lib/postgresql/<version>/bin."""
    code = textwrap.dedent("""
        import os
        from tests.postgres import pg_bin
        print((pg_bin() / "pg_ctl").exists())
    """)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO, env=env)
    assert (out.returncode, out.stdout.strip()) == (0, "True"), out.stderr


def test_wegwijzer_db_takes_a_postgresql_url_and_its_password_is_a_secret(pg_cluster: Cluster) -> None:
    from bot.settings import Settings

    settings = Settings(_env_file=None, db="postgresql://bot:s3cret-pw@db.example:5432/wegwijzer")  # type: ignore[call-arg]
    assert settings.db == "postgresql://bot:s3cret-pw@db.example:5432/wegwijzer"
    assert "s3cret-pw" in settings.secrets()
    assert Settings(_env_file=None, db="data/x.sqlite3").db == Path("data/x.sqlite3")  # type: ignore[call-arg]

    url = pg_cluster.new_database()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "WEGWIJZER_DB": url}
    out = subprocess.run([sys.executable, "-m", "bot", "purge"], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "conversations 0" in out.stdout
    assert read(url, "SELECT version FROM schema_version") == [(SCHEMA.version,)]


def _round_trips(store: Store) -> int:
    return int(store.backend._db.round_trips)  # type: ignore[attr-defined]  # PostgresBackend's connection


async def test_a_turn_is_two_round_trips_and_its_ack_one_and_both_are_there_after_a_restart(
        pg_cluster: Cluster) -> None:
    url = pg_cluster.new_database()
    store = await Store.open(url, schema=SCHEMA)
    try:
        before = _round_trips(store)
        outcome = await store.turn(KEY, "tg:1", ("telegram", "1"),
                                   lambda raw: TurnResult("state-1", ["reply"], ["main.start"]))
        assert outcome is not None and len(outcome.outbox_ids) == 1
        # lock + handled mark + read; state, cursor, outbox row, count and COMMIT
        assert _round_trips(store) - before == 2
        before = _round_trips(store)
        await store.ack(outcome.outbox_ids)
        assert _round_trips(store) - before == 1
        assert await store.turn(KEY, "tg:1", None, lambda raw: TurnResult("again", [], [])) is None
    finally:
        await store.close()
    store = await Store.open(url, schema=SCHEMA)
    try:
        assert await store.state(KEY) == "state-1"
        assert await store.cursor("telegram") == "1"
        assert await store.pending_outbox() == []
        assert [(event, n) for _, event, n in await store.stats()] == [("main.start", 1)]
    finally:
        await store.close()


async def test_a_statement_that_fails_in_a_batch_undoes_its_turn_and_the_next_turn_goes_on(
        pg_cluster: Cluster) -> None:
    store = await Store.open(pg_cluster.new_database(), schema=SCHEMA)
    try:
        def broken(db: Any) -> list[str]:
            db.execute("INSERT INTO no_such_table(x) VALUES (?)", (1,))  # queued, nobody reads it
            return []

        try:
            await store.turn(KEY, "tg:2", None, lambda raw: TurnResult("lost", ["lost"], [], writes=broken))
        except Exception as exc:
            assert type(exc).__name__ == "UndefinedTable"
        else:
            raise AssertionError("the failing statement was not reported")
        # nothing of that turn was kept: the same update runs again, on the state before it
        outcome = await store.turn(KEY, "tg:2", None, lambda raw: TurnResult(f"after {raw}", [], []))
        assert outcome is not None
        assert await store.state(KEY) == "after None"
        assert await store.pending_outbox() == []
    finally:
        await store.close()
