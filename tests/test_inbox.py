"""The webhook inbox on both databases: what it keeps, how it is protected, and when it is gone.

A stored update is what someone typed: encrypted like every personal field, its ids as
pseudonyms, deleted once handled, by forget-me and by retention; and handled in Telegram's
order, once, also when it waited for a sweep (a killed worker's).
"""

from __future__ import annotations

import asyncio
from typing import Any

from cryptography.fernet import Fernet

from bot import inbox
from bot.app import SCHEMA
from bot.crypto import FernetCodec
from bot.privacy import purge
from bot.store import Store, TurnResult
from tests.postgres import Cluster, Database
from tests.postgres import read as database_rows

KEY = "telegram\x1f4711\x1f4711"
TYPED = "mijn dochter heet Anna"
DAY = 86_400


def update(number: int, text: str = TYPED) -> dict[str, Any]:
    return {"update_id": number, "message": {"message_id": number, "date": 0, "text": text,
                                               "chat": {"id": 4711, "type": "private"},
                                               "from": {"id": 4711, "is_bot": False, "first_name": "Ouder"}}}


async def test_a_stored_update_is_encrypted_pseudonymous_and_gone_after_forget_me_and_retention(
        database: Database) -> None:
    store = await Store.open(database.location, FernetCodec([Fernet.generate_key()]), schema=SCHEMA)
    try:
        now = int(store.clock().timestamp())
        for number in (12, 11):
            assert await store.execute(inbox.put, store.codec, f"tg:{number}", KEY, number, update(number), now)
        raw = database.read("SELECT update_id, key, who, addr, payload FROM inbox")
        assert len(raw) == 2
        assert not any(needle in bytes(v if isinstance(v, bytes | memoryview) else str(v).encode())
                       for row in raw for v in row for needle in (b"4711", TYPED.encode(), b"tg:1"))
        # read back in Telegram's order, whatever order they arrived in
        rows = await store.execute(inbox.pending, store.codec, KEY, write=False)
        assert [(n, i) for n, i, _ in rows] == [(11, "tg:11"), (12, "tg:12")] and rows[0][2] == update(11)
        assert await store.execute(inbox.waiting, now, write=False) == {KEY}

        await store.forget(KEY)
        assert database.read("SELECT count(*) FROM inbox") == [(0,)]

        await store.execute(inbox.put, store.codec, "tg:13", KEY, 13, update(13), now - 31 * DAY)
        await store.execute(purge, now, 30, 7)
        assert database.read("SELECT count(*) FROM inbox") == [(0,)]
    finally:
        await store.close()


async def test_an_update_already_handled_is_not_stored_again(database: Database) -> None:
    store = await Store.open(database.location, schema=SCHEMA)
    try:
        now = int(store.clock().timestamp())
        await store.execute(lambda db: db.execute("INSERT INTO handled(update_id, at) VALUES (pseudonym(?), ?)",
                                                  ("tg:20", now)))
        assert not await store.execute(inbox.put, store.codec, "tg:20", KEY, 20, update(20), now)
        assert await store.execute(inbox.put, store.codec, "tg:21", KEY, 21, update(21), now)
        assert await store.execute(inbox.put, store.codec, "tg:21", KEY, 21, update(21), now)  # a second post
        assert database.read("SELECT count(*) FROM inbox") == [(1,)]
    finally:
        await store.close()


async def test_what_a_killed_worker_left_is_handled_by_a_sweep_in_order_and_a_failing_update_is_skipped(
        database: Database) -> None:
    store = await Store.open(database.location, schema=SCHEMA)
    handled: list[int] = []
    skipped: list[int] = []

    async def handle(body: dict[str, Any]) -> None:
        if body["message"]["text"] == "kapot":
            raise RuntimeError("always fails")
        handled.append(body["update_id"])

    async def give_up(body: dict[str, Any]) -> None:
        skipped.append(body["update_id"])

    box = inbox.Inbox(store, handle, give_up, attempts=2)
    try:
        long_ago = int(store.clock().timestamp()) - inbox.STALE_S - 1
        for number, text in ((32, TYPED), (30, TYPED), (31, "kapot")):  # left behind, in any order
            await store.execute(inbox.put, store.codec, f"tg:{number}", KEY, number, update(number, text), long_ago)
        for _ in range(2):
            assert await box.sweep() == 1
            await asyncio.gather(*box._tasks)
        assert handled == [30, 32] and skipped == [31]  # 32 waited for 31 until it was given up
        assert database.read("SELECT count(*) FROM inbox") == [(0,)]
    finally:
        await box.close()
        await store.close()


async def test_a_webhook_update_on_postgresql_takes_five_round_trips_and_leaves_no_row_lock_or_lazy_commit(
        pg_cluster: Cluster) -> None:
    """Stored, locked and read in one round trip; the turn's shared lock is the drain's, taken again without
    asking the server; the row's delete and the next read in one; let go and looked again in one."""
    url = pg_cluster.new_database()
    store = await Store.open(url, schema=SCHEMA)
    locks = inbox.SessionLocks(store)
    seen: list[str] = []

    async def handle(body: dict[str, Any]) -> None:
        await locks.acquire(KEY)  # as the core's conversation lock does on a webhook worker
        try:
            await store.turn(KEY, f"tg:{body['update_id']}", None,
                             lambda raw: TurnResult(f"{raw} {body['message']['text']}", [], []))
            seen.append(body["message"]["text"])
        finally:
            await locks.release(KEY)

    async def give_up(body: dict[str, Any]) -> None:
        raise AssertionError("nothing fails here")

    box = inbox.Inbox(store, handle, give_up)
    try:
        trips = store.backend._db.round_trips  # type: ignore[attr-defined]
        await box.receive("tg:30", KEY, 30, update(30, "eerste"))
        # put + lock + read; the turn (2); delete + read; unlock + look
        assert store.backend._db.round_trips - trips == 5  # type: ignore[attr-defined]
        await box.receive("tg:30", KEY, 30, update(30, "eerste"))  # posted again: handled, nothing stored
        assert seen == ["eerste"] and await store.state(KEY) == "None eerste"
        assert database_rows(url, "SELECT count(*) FROM inbox") == [(0,)]
        # the lock went back to the server (another session can take it) ...
        assert database_rows(url, f"SELECT pg_try_advisory_lock({inbox.DRAIN}, hashtext('{KEY}'))") == [(True,)]
        # ... and the delete's commit that did not wait for the disk changed nothing after it
        assert await store.execute(lambda db: db.execute("SHOW synchronous_commit").fetchone()[0],
                                   write=False) == "on"
    finally:
        await box.close()
        await store.close()
