"""Fault: another process locks the database for a while; the bot waits, recovers and answers.

A separate `sqlite3` process opens the bot's database and holds `BEGIN EXCLUSIVE` for
about two seconds while users keep writing. Nothing may fail, nothing may be answered
before the lock is gone (the answer is only sent once its turn is durable), the event
loop must stay responsive meanwhile (the waiting happens on the store's thread), and
afterwards every message is answered exactly once with the conversation where it
should be. Both ways of waiting are covered: SQLite's own busy timeout (the default,
30 s) and the store's retry with backoff when SQLite gives up first (a short timeout).

Ordering, not time, is asserted: the test decides when the lock is released.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.app import SCHEMA
from bot.core import Core
from bot.events import Choice, Command, ConversationKey, Incoming, Text
from bot.settings import Settings
from bot.state import State
from bot.store import Store
from bot.testing import CaptureOutlet
from tests.conftest import load_fixture_flows

WELCOME = "Welkom bij de testbot."
MENU = "Waarmee kan ik helpen?"
NAME = "Hoe heet je?"
AGE = "Hoe oud ben je?"

LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("INSERT INTO cursors(name, value) VALUES ('locker', 'was here') "
             "ON CONFLICT(name) DO UPDATE SET value = excluded.value")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
print("released", flush=True)
"""




def key(user: str) -> ConversationKey:
    return ConversationKey("telegram", user, user)


@pytest.mark.parametrize("busy_timeout_s", [30.0, 0.2], ids=["sqlite-waits", "store-retries"])
async def test_a_database_locked_by_another_process_delays_answers_and_loses_none(tmp_path: Path, busy_timeout_s: float):
    db = tmp_path / "wegwijzer.sqlite3"
    store = await Store.open(db, busy_timeout_s=busy_timeout_s, schema=SCHEMA)
    refusals = 0
    call = store._call

    async def counting_call(fn, *args):  # type: ignore[no-untyped-def]
        nonlocal refusals
        try:
            return await call(fn, *args)
        except sqlite3.OperationalError:
            refusals += 1
            raise

    store._call = counting_call  # type: ignore[method-assign]
    core = Core(Settings(_env_file=None, db=db), store, load_fixture_flows())  # type: ignore[call-arg]
    outlet = CaptureOutlet(platform="telegram")
    core.register(outlet)
    try:
        await core.handle(Incoming(key("anna"), Command("start"), "tg:1"))
        assert outlet.texts("anna") == [WELCOME, MENU]

        locker = await asyncio.create_subprocess_exec(
            sys.executable, "-c", LOCKER, str(db),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert locker.stdin is not None and locker.stdout is not None
        assert await asyncio.wait_for(locker.stdout.readline(), 30) == b"locked\n"

        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        turns = [
            asyncio.create_task(core.handle(Incoming(key("anna"), Choice("letter", "menu"), "tg:2"))),
            asyncio.create_task(core.handle(Incoming(key("bram"), Command("start"), "tg:3"))),
            asyncio.create_task(core.handle(Incoming(key("bram"), Choice("letter", "menu"), "tg:4"))),
        ]
        await asyncio.sleep(2.0)  # the other process holds the lock this long

        assert not any(t.done() for t in turns), "a turn finished while another process held the database"
        assert outlet.total == 2, "something was answered before its turn could be stored"
        assert ticks > 10, "the event loop was blocked while the database was locked"

        locker.stdin.write(b"go\n")
        await locker.stdin.drain()
        assert await asyncio.wait_for(locker.stdout.readline(), 30) == b"released\n"
        assert await asyncio.wait_for(locker.wait(), 30) == 0
        results = await asyncio.wait_for(asyncio.gather(*turns), 60)
        ticking.cancel()

        assert all(r is not None for r in results)
        # with a short busy timeout SQLite gives up and the store retries; with the default it just waits
        assert (refusals > 0) == (busy_timeout_s < 2.0)
        assert outlet.texts("anna") == [WELCOME, MENU, NAME]
        assert outlet.texts("bram") == [WELCOME, MENU, NAME]
        for user in ("anna", "bram"):
            raw = await store.state(str(key(user)))
            assert raw is not None and State.from_json(raw).step == "name"
        assert await store.cursor("locker") == "was here"  # the other process's write survived too
        assert await store.pending_outbox() == []

        # a redelivered update is still recognised after the wait
        assert await core.handle(Incoming(key("anna"), Choice("letter", "menu"), "tg:2")) is None
        assert await core.handle(Incoming(key("anna"), Text("Anna"), "tg:5")) is not None
        assert outlet.texts("anna")[-1] == AGE
    finally:
        await store.close()
