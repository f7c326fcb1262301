"""The store: numbered migrations, one transaction per turn, at-most-once updates, a durable outbox.

Each test that takes `database` runs twice: on a SQLite file and on a real PostgreSQL
(tests/postgres.py). The database is read back with plain sqlite3 or psycopg (and
reopened) wherever the question is "what is stored", so these tests check the
database, not the store's own idea of it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

import bot.store as store_module
from bot.adapters.base import DeliveryFailed
from bot.app import SCHEMA
from bot.core import Core, encode_outbound
from bot.events import ConversationKey, Document, Edit, Incoming, Send, Text
from bot.flows.flowset import FlowSet
from bot.schema import Schema, Tables, run_script
from bot.settings import Settings
from bot.store import Store, TurnResult

KEY = ConversationKey("console", "anna", "anna")


def read(db: Path, sql: str, *args: object) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def tables(db: Path) -> set[str]:
    return {name for (name,) in read(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}


# ---------------------------------------------------------------- migrations


async def test_opening_a_new_database_applies_every_migration_and_records_the_version(database):
    store = await Store.open(database.location, schema=SCHEMA)
    await store.close()
    assert database.version() == SCHEMA.version == 7
    assert {"conversations", "handled", "cursors", "outbox", "stats"} <= database.tables()
    if database.kind == "sqlite":
        assert database.read("PRAGMA journal_mode") == [("wal",)]


async def test_reopening_runs_no_migration_twice(database):
    store = await Store.open(database.location, schema=SCHEMA)
    await store.close()
    store = await Store.open(database.location, schema=SCHEMA)  # the first migration has no IF NOT EXISTS: a rerun would fail
    await store.close()
    assert database.version() == SCHEMA.version


def only_the_first(tables: Tables) -> Tables:
    """The store's tables as they were at version 1."""
    return Tables(tables.owner, [m for m in tables.migrations if m.number == 1])


async def test_a_new_migration_runs_once_on_an_old_database_and_keeps_its_rows(database):
    store = await Store.open(database.location, schema=Schema([only_the_first(store_module.TABLES)]))
    await store.set_cursor("telegram", "41")
    await store.close()
    assert database.version() == 1

    runs = []
    notes = Tables("notes")

    @notes.migration(2, "notes")
    def add_notes(db: sqlite3.Connection) -> None:
        runs.append(1)
        run_script(db, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")

    for _ in range(2):
        store = await Store.open(database.location, schema=Schema([only_the_first(store_module.TABLES), notes]))
        await store.close()
    assert runs == [1]
    assert database.version() == 2
    assert "notes" in database.tables()
    assert database.read("SELECT name, value FROM cursors") == [("telegram", "41")]


async def test_a_failing_migration_changes_nothing_and_keeps_the_old_version(database):
    first = only_the_first(store_module.TABLES)
    store = await Store.open(database.location, schema=Schema([first]))
    await store.close()
    broken = Tables("broken")

    @broken.migration(2, "half done")
    def half_done(db: sqlite3.Connection) -> None:
        run_script(db, "CREATE TABLE half_done (id INTEGER)")
        raise RuntimeError("migration bug")

    with pytest.raises(RuntimeError, match="migration bug"):
        await Store.open(database.location, schema=Schema([first, broken]))
    assert database.version() == 1
    assert "half_done" not in database.tables()


async def test_parts_of_one_number_from_two_features_run_in_one_transaction(database):
    """Number 3 made the desk's tables and the timers' at once: a failing part undoes the other."""
    first = only_the_first(store_module.TABLES)
    desk, timers = Tables("desk"), Tables("timers")

    @desk.migration(2, "cases")
    def cases(db: sqlite3.Connection) -> None:
        run_script(db, "CREATE TABLE cases (id INTEGER PRIMARY KEY)")

    @timers.migration(2, "timers")
    def broken_timers(db: sqlite3.Connection) -> None:
        raise RuntimeError("timers bug")

    with pytest.raises(RuntimeError, match="timers bug"):
        await Store.open(database.location, schema=Schema([first, desk, timers]))
    assert database.version() == 1
    assert "cases" not in database.tables()


def test_a_schema_with_a_gap_in_its_numbers_is_refused():
    """A feature left out of the schema must not let the store skip its migration."""
    later = Tables("later")
    later.migration(3, "something")(lambda db: None)
    with pytest.raises(ValueError, match="without a gap"):
        Schema([only_the_first(store_module.TABLES), later])


def test_every_feature_the_bot_runs_brings_its_tables_into_the_schema():
    from bot.app import FEATURES

    assert {kind.tables.owner for kind in FEATURES} <= {t.owner for t in SCHEMA.tables}
    assert [n for n, _ in SCHEMA.steps] == [1, 2, 3, 4, 5, 6, 7]
    assert {p.owner for _, parts in SCHEMA.steps for p in parts} == {"store", "audit", "timers", "desk", "inbox",
                                                                    "handover"}


# ---------------------------------------------------------------- turns


def result(state: str | None, *texts: str, stats: Sequence[str] = ()) -> TurnResult:
    outbox = [encode_outbound([Send(t) for t in texts])] if texts else []
    return TurnResult(state=state, outbox=outbox, stats=list(stats))


async def test_a_turn_with_the_same_update_id_twice_is_handled_once(database):
    store = await Store.open(database.location, schema=SCHEMA)
    seen: list[str | None] = []

    def compute(raw: str | None) -> TurnResult:
        seen.append(raw)
        return result(f"state after {len(seen)} turn(s)", "hello", stats=["start:main"])

    first = await store.turn(str(KEY), "tg:1001", ("telegram", "1002"), compute)
    again = await store.turn(str(KEY), "tg:1001", ("telegram", "1002"), compute)
    await store.close()
    assert first is not None and len(first.outbox_ids) == 1
    assert again is None
    assert seen == [None]
    assert database.read("SELECT state FROM conversations") == [(b"state after 1 turn(s)",)]
    assert database.read("SELECT count(*) FROM outbox") == [(1,)]
    assert database.read("SELECT update_id FROM handled") == [("tg:1001",)]
    assert database.read("SELECT value FROM cursors WHERE name = 'telegram'") == [("1002",)]
    assert [(event, n) for _, event, n in database.read("SELECT week, event, n FROM stats")] == [("start:main", 1)]


async def test_a_turn_that_fails_leaves_no_trace_so_the_update_can_be_handled_again(database):
    store = await Store.open(database.location, schema=SCHEMA)
    await store.turn(str(KEY), "tg:1", None, lambda raw: result("at the menu"))

    def crash(raw: str | None) -> TurnResult:
        raise RuntimeError("the process died here")

    with pytest.raises(RuntimeError):
        await store.turn(str(KEY), "tg:2", ("telegram", "3"), crash)
    assert database.read("SELECT update_id FROM handled ORDER BY update_id") == [("tg:1",)]
    assert database.read("SELECT count(*) FROM cursors") == [(0,)]
    again = await store.turn(str(KEY), "tg:2", ("telegram", "3"), lambda raw: result(f"{raw} -> next", "next question"))
    await store.close()
    assert again is not None
    assert database.read("SELECT state FROM conversations") == [(b"at the menu -> next",)]


async def test_a_turn_without_an_update_id_is_always_handled(database):
    store = await Store.open(database.location, schema=SCHEMA)
    for _ in range(2):
        assert await store.turn(str(KEY), None, None, lambda raw: result("x")) is not None
    await store.close()
    assert database.read("SELECT count(*) FROM handled") == [(0,)]


async def test_an_ended_conversation_is_deleted_and_forget_deletes_every_row_of_the_user(database):
    store = await Store.open(database.location, schema=SCHEMA)
    other = ConversationKey("console", "bob", "bob")
    await store.turn(str(KEY), None, None, lambda raw: result("anna's answers", "queued for anna"))
    await store.turn(str(other), None, None, lambda raw: result("bob's answers", "queued for bob"))
    await store.turn(str(KEY), None, None, lambda raw: result(None, "bye"))
    assert await store.state(str(KEY)) is None
    await store.forget(str(KEY))
    await store.close()
    assert database.read("SELECT key FROM conversations") == [(str(other),)]
    assert [json.loads(p)[0]["text"] for (p,) in database.read("SELECT payload FROM outbox")] == ["queued for bob"]


# ---------------------------------------------------------------- outbox and redelivery


class FlakyOutlet:
    """A platform that refuses the first `refusals` deliveries, then accepts (not the thing under test)."""

    platform = "console"

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.delivered: list[tuple[ConversationKey, list[Send | Edit]]] = []

    async def deliver(self, key: ConversationKey, actions: Sequence[Send | Edit], reply_to: object | None) -> None:
        if self.refusals > 0:
            self.refusals -= 1
            raise DeliveryFailed("platform down")
        self.delivered.append((key, list(actions)))

    async def deliver_to_room(self, room: str, text: str, document: Document | None) -> str:
        return room


async def make_core(db: Path | str, flowset: FlowSet, outlet: FlakyOutlet) -> Core:
    core = Core(Settings(db=db), await Store.open(db, schema=SCHEMA), flowset)
    core.register(outlet)
    return core


async def test_undelivered_messages_survive_a_restart_and_start_redelivers_them(database, flowset):
    down = FlakyOutlet(refusals=1)
    core = await make_core(database.location, flowset, down)
    await core.handle(Incoming(KEY, Text("/start"), update_id="console:1"))
    assert down.delivered == []
    await core.store.close()  # the process ends with the platform still down
    [(payload,)] = database.read("SELECT payload FROM outbox")
    assert [m["text"] for m in json.loads(payload)] == ["Welkom bij de testbot.", "Waarmee kan ik helpen?"]

    up = FlakyOutlet(refusals=0)
    core = await make_core(database.location, flowset, up)
    await core.start()
    await core.stop()
    await core.store.close()
    [(key, messages)] = up.delivered
    assert key == KEY
    assert [m.text for m in messages] == ["Welkom bij de testbot.", "Waarmee kan ik helpen?"]
    assert messages[1].token == "menu"
    assert [c.id for c in messages[1].choices][:2] == ["letter", "deadline"]
    assert database.read("SELECT count(*) FROM outbox") == [(0,)]


async def test_a_redelivered_update_is_not_handled_again_by_the_core(database, flowset):
    outlet = FlakyOutlet(refusals=0)
    core = await make_core(database.location, flowset, outlet)
    await core.handle(Incoming(KEY, Text("/start"), update_id="tg:7"))
    first = await core.handle(Incoming(KEY, Text("1"), update_id="tg:8"))
    again = await core.handle(Incoming(KEY, Text("1"), update_id="tg:8"))  # the platform sent it twice
    state = json.loads(await core.store.state(str(KEY)))
    await core.store.close()
    assert first is not None and again is None
    assert [[m.text for m in messages] for _, messages in outlet.delivered] == [
        ["Welkom bij de testbot.", "Waarmee kan ik helpen?"], ["Hoe heet je?"]]
    assert state["s"] == "name"


async def test_delivered_messages_leave_the_outbox(database, flowset):
    outlet = FlakyOutlet(refusals=0)
    core = await make_core(database.location, flowset, outlet)
    await core.handle(Incoming(KEY, Text("/start")))
    await core.store.close()
    assert database.read("SELECT count(*) FROM outbox") == [(0,)]
    assert len(outlet.delivered) == 1


async def test_thousands_of_concurrent_acks_all_land(db_path):
    """A flood acks many outbox rows at once; each ack must delete its row, none may fail.

    Before the store closed cursors on its own thread, the event loop freed the cursor
    of one ack while the worker ran the same DELETE for the next, and SQLite refused
    about one ack in 200 with "bad parameter or other API misuse" (CI saw it in the
    flood test)."""
    store = await Store.open(db_path, schema=SCHEMA)
    try:
        def fill(db: sqlite3.Connection) -> None:
            db.executemany("INSERT INTO outbox(key, who, payload, created_at) VALUES (?, ?, ?, 1)",
                           [("t\x1fa\x1fa", "t\x1fa", "x")] * 8000)

        await store.execute(fill)
        failures: list[BaseException] = []
        for start in range(1, 8001, 2000):
            results = await asyncio.gather(*(store.ack([i]) for i in range(start, start + 2000)),
                                           return_exceptions=True)
            failures += [r for r in results if isinstance(r, BaseException)]
        assert failures == []
        assert await store.pending_outbox() == []
    finally:
        await store.close()


async def test_a_cursor_handed_back_by_a_store_function_is_closed_on_the_store_thread(db_path):
    store = await Store.open(db_path, schema=SCHEMA)
    try:
        assert await store.execute(lambda db: db.execute("SELECT 1"), write=False) is None
        assert await store.execute(lambda db: db.execute("SELECT 1").fetchall(), write=False) == [(1,)]
    finally:
        await store.close()


async def test_a_turn_and_its_ack_do_not_wait_behind_a_slow_call_on_the_store_thread(db_path):
    """A turn runs where the event loop is when the write lock is free (no hop), so a long read
    on the store's thread (an export, a redelivery round) holds up nobody's answer; what it
    wrote is there for every later call, on either connection, and after reopening."""
    store = await Store.open(db_path, schema=SCHEMA)
    release = threading.Event()
    try:
        slow = asyncio.ensure_future(store.execute(lambda db: release.wait(30), write=False))
        await asyncio.sleep(0.05)  # the store's thread is inside the slow call now
        outcome = await asyncio.wait_for(
            store.turn(str(KEY), "tg:1", ("console", "7"), lambda raw: result("at the menu", "welcome")), 10)
        assert outcome is not None and not slow.done()
        await asyncio.wait_for(store.ack(outcome.outbox_ids), 10)
        assert not slow.done()
        release.set()
        assert await slow is True
        assert await store.state(str(KEY)) == "at the menu"
        assert await store.pending_outbox() == []
    finally:
        release.set()
        await store.close()
    assert read(db_path, "SELECT update_id FROM handled") == [("tg:1",)]
    assert read(db_path, "SELECT value FROM cursors") == [("7",)]


async def test_a_turn_from_another_thread_than_the_one_that_opened_the_store_is_stored_all_the_same(db_path):
    """The quick path is for the thread that opened the store; another thread's turn hops as before."""
    store = await Store.open(db_path, schema=SCHEMA)
    try:
        assert await store.turn(str(KEY), "tg:1", None, lambda raw: result("at the menu", "welcome")) is not None
        loop = asyncio.get_running_loop()
        other = await loop.run_in_executor(None, lambda: asyncio.run(_turn_on_a_loop_of_its_own(store)))
        assert other is not None
        assert await store.state(str(KEY)) == "typed on another thread"
    finally:
        await store.close()
    assert read(db_path, "SELECT update_id FROM handled ORDER BY update_id") == [("tg:1",), ("tg:2",)]


async def _turn_on_a_loop_of_its_own(store: Store) -> object:
    return await store.turn(str(KEY), "tg:2", None, lambda raw: result("typed on another thread", "hi"))


def test_a_store_left_open_by_a_crash_does_not_keep_the_process_alive(tmp_path):
    """A traceback can keep a store referenced to the very end; the process must still exit."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import asyncio
        from bot.app import SCHEMA
        from bot.store import Store
        LEAKED = []

        async def main():
            LEAKED.append(await Store.open({str(tmp_path / 'leak.sqlite3')!r}, schema=SCHEMA))

        asyncio.run(main())
        print("done")
    """)
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert (result.returncode, result.stdout.strip()) == (0, "done")


async def test_sqlite_keeps_a_small_page_cache_of_its_own_unless_configured(db_path):
    store = await Store.open(db_path, schema=SCHEMA)
    try:
        assert await store.execute(lambda db: db.execute("PRAGMA cache_size").fetchone()[0], write=False) == -256
    finally:
        await store.close()
    settings = Settings(_env_file=None, db=db_path, db_cache_kb=1024)  # type: ignore[call-arg]
    from bot.app import open_store

    store = await open_store(settings)
    try:
        assert await store.execute(lambda db: db.execute("PRAGMA cache_size").fetchone()[0], write=False) == -1024
    finally:
        await store.close()


class BlockedBy(FlakyOutlet):
    """A platform where some users blocked the bot: their messages are refused for good."""

    def __init__(self, blocked: set[str]) -> None:
        super().__init__(refusals=0)
        self.blocked = blocked

    async def deliver(self, key: ConversationKey, actions: Sequence[Send | Edit], reply_to: object | None) -> None:
        if key.user in self.blocked:
            raise DeliveryFailed("Forbidden: bot was blocked by the user")
        await super().deliver(key, actions, reply_to)


async def test_a_user_who_blocked_the_bot_does_not_hold_up_anybody_elses_redelivery(database, flowset):
    anna, bram = ConversationKey("console", "anna", "anna"), ConversationKey("console", "bram", "bram")
    down = FlakyOutlet(refusals=2)
    core = await make_core(database.location, flowset, down)
    await core.handle(Incoming(anna, Text("/start"), update_id="console:1"))  # anna's row first
    await core.handle(Incoming(bram, Text("/start"), update_id="console:2"))
    await core.store.close()

    up = BlockedBy({"anna"})
    core = await make_core(database.location, flowset, up)
    await core.start()
    try:
        assert [key for key, _ in up.delivered] == [bram]  # bram got his reply although anna's came first
        assert [key for _, key, _ in await core.store.pending_outbox()] == [str(anna)]  # kept for later
        assert await core.store.outbox_keys() == {str(anna)}
        assert await core.store.pending_outbox(str(bram)) == []
        assert [key for _, key, _ in await core.store.pending_outbox(str(anna))] == [str(anna)]
    finally:
        await core.stop()
        await core.store.close()


async def test_replies_left_by_a_crash_go_out_before_that_conversations_next_turn(database, flowset):
    down = FlakyOutlet(refusals=1)
    core = await make_core(database.location, flowset, down)
    await core.handle(Incoming(KEY, Text("/start"), update_id="console:1"))
    await core.store.close()  # gone before the platform took the welcome

    up = FlakyOutlet(refusals=0)
    core = await make_core(database.location, flowset, up)
    await core.load_owed()  # as bot.app does before any platform starts
    try:
        await core.handle(Incoming(KEY, Text("/help"), update_id="console:2"))  # before core.start's round
        texts = [m.text for _, messages in up.delivered for m in messages]
        assert texts[:2] == ["Welkom bij de testbot.", "Waarmee kan ik helpen?"]  # the old replies first
        assert len(texts) > 2
    finally:
        await core.store.close()


class Scripted(FlakyOutlet):
    """A platform whose answer depends on the chat: refused, held in flight until the test lets go,
    or something the test does while a message is being handed over (not the thing under test)."""

    def __init__(self) -> None:
        super().__init__(refusals=0)
        self.refuse: set[str] = set()
        self.hold: dict[str, asyncio.Event] = {}
        self.holding = asyncio.Event()
        self.meanwhile: dict[str, object] = {}

    async def deliver(self, key: ConversationKey, actions: Sequence[Send | Edit], reply_to: object | None) -> None:
        if key.user in self.refuse:
            raise DeliveryFailed("platform down for this chat")
        if key.user in self.hold:
            self.holding.set()
            await self.hold.pop(key.user).wait()
        if key.user in self.meanwhile:
            await self.meanwhile.pop(key.user)()  # type: ignore[operator]
        await super().deliver(key, actions, reply_to)


async def test_a_redelivery_round_never_sends_a_reply_twice_when_its_outbox_id_is_reused(database, flowset):
    """A round reads the queued replies first and sends them one by one. Meanwhile a reply it read
    may be delivered by its own turn and dropped, and SQLite hands its id to the next reply queued
    (an id is the highest one left plus one). The round must then not send the old reply again
    (bram saw his welcome twice) nor drop the new one unsent (carla would never get hers)."""
    anna, bram, carla = (ConversationKey("console", name, name) for name in ("anna", "bram", "carla"))
    outlet = Scripted()
    core = await make_core(database.location, flowset, outlet)
    try:
        outlet.refuse.add("anna")
        await core.handle(Incoming(anna, Text("/start"), update_id="console:1"))  # stays queued
        outlet.refuse.discard("anna")
        outlet.hold["bram"] = release_bram = asyncio.Event()
        bram_turn = asyncio.create_task(core.handle(Incoming(bram, Text("/start"), update_id="console:2")))
        await outlet.holding.wait()  # bram's welcome is committed and being handed over

        async def bram_done_then_carla_refused() -> None:
            release_bram.set()
            await bram_turn  # delivered and dropped from the outbox
            outlet.refuse.add("carla")
            await core.handle(Incoming(carla, Text("/start"), update_id="console:3"))  # queued, maybe under bram's old id

        outlet.meanwhile["anna"] = bram_done_then_carla_refused
        await core.delivery.redeliver()  # read anna's and bram's replies, then sends anna's
        assert [key.user for key, _ in outlet.delivered] == ["bram", "anna"]  # bram's turn let go during anna's: once
        assert [key for _, key, _ in await core.store.pending_outbox()] == [str(carla)]  # carla's kept

        outlet.refuse.discard("carla")
        await core.delivery.redeliver()
        assert [key.user for key, _ in outlet.delivered] == ["bram", "anna", "carla"]
        assert outlet.delivered[2][1][0].text == "Welkom bij de testbot."
        assert await core.store.pending_outbox() == []
    finally:
        await core.store.close()
