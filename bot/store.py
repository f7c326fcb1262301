"""The store: one SQLite file (WAL) holding conversations, the outbox and bookkeeping.

Why it looks like this:
- A turn is ONE transaction: read the conversation, run the engine, write the
  new state, mark the update handled, store the adapter's cursor and queue
  the outgoing messages in the outbox. A crash at any point either loses the
  whole turn (the platform redelivers the update) or keeps all of it (the
  outbox is re-sent on start). Nothing is handled twice, nothing is lost.
- The transaction runs as one function on the store's own thread, so a
  turn costs one thread hop instead of one per statement. The engine is pure
  and fast, so running it there holds the write lock only for microseconds.
- WAL checkpoints run off the turn path (see `Checkpointer`): SQLite's own
  checkpoint would stall the one COMMIT that crosses the threshold for
  several milliseconds before its reply could go out.
- Schema changes are numbered migrations applied at start (PRAGMA user_version);
  each feature keeps its own next to its SQL (bot/schema.py), the store only
  runs them, in number order, each number in one transaction.
- Message text is stored only inside saved answers (the state) and the
  outbox until delivered; both go through `codec`, which encrypts at rest
  when a key is configured.
- Ids (conversation keys, users, update ids) are stored as pseudonyms and the
  addresses replies go to are sealed, through the SQL functions `pseudonym`,
  `seal` and `unseal` of this connection (bot/pseudonyms.py).

Never log a state, a payload or anything a user typed from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from queue import SimpleQueue
from typing import Any, Protocol, TypeVar

from bot.clock import SYSTEM, Now, iso_week
from bot.errors import StorageError
from bot.private_files import private_database
from bot.pseudonyms import Pseudonyms
from bot.schema import EncryptedColumn, Schema, Tables, run_script

T = TypeVar("T")
log = logging.getLogger(__name__)

SEP = "\x1f"


class Codec(Protocol):
    """Turns stored text into bytes and back (encryption at rest plugs in here)."""

    def encode(self, text: str) -> bytes: ...

    def decode(self, blob: bytes) -> str: ...


class PlainCodec:
    def encode(self, text: str) -> bytes:
        return text.encode()

    def decode(self, blob: bytes) -> str:
        return blob.decode() if isinstance(blob, bytes) else str(blob)


#: The store's own tables: conversations, handled updates, cursors, the outbox and weekly counts.
TABLES = Tables(
    "store",
    user_columns=[("conversations", "who"), ("outbox", "who")],
    pseudonymous=[("conversations", "key"), ("conversations", "who"), ("outbox", "key"), ("outbox", "who"),
                  ("handled", "update_id")],
    sealed=[("outbox", "addr")],
    encrypted=[EncryptedColumn("conversations", "state", "key"), EncryptedColumn("outbox", "payload", "id"),
               EncryptedColumn("outbox", "addr", "id")],
)


@TABLES.migration(1, "conversations, handled updates, cursors, the outbox and weekly counts")
def _m1(db: sqlite3.Connection) -> None:
    run_script(db,
        """
        CREATE TABLE conversations (
            key TEXT PRIMARY KEY,
            who TEXT NOT NULL,
            state BLOB NOT NULL,
            updated_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX conversations_who ON conversations(who);
        CREATE INDEX conversations_updated ON conversations(updated_at);
        CREATE TABLE handled (
            update_id TEXT PRIMARY KEY,
            at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE cursors (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            who TEXT NOT NULL,
            payload BLOB NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX outbox_who ON outbox(who);
        CREATE TABLE stats (
            week TEXT NOT NULL,
            event TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (week, event)
        ) WITHOUT ROWID;
        """
    )


@TABLES.migration(5, "a queued message keeps its address sealed; ids become pseudonyms (bot/pseudonyms.py)")
def _m5_outbox_address(db: sqlite3.Connection) -> None:
    """Existing rows get their address sealed; the ids are pseudonymised by `Pseudonyms.protect`,
    which the store runs right after the migrations (with encryption keys set)."""
    add_column(db, "outbox", "addr", "BLOB")
    db.execute("UPDATE outbox SET addr = seal(key)")


def add_column(db: sqlite3.Connection, table: str, column: str, kind: str) -> None:
    """ALTER TABLE ... ADD COLUMN unless a half-finished upgrade already added it."""
    if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


@dataclass(slots=True)
class TurnResult:
    """What a turn function returns to the store."""

    state: str | None
    outbox: list[str]
    stats: list[str]
    forget_who: bool = False
    value: Any = None
    #: more writes in the same transaction (e.g. a report for the desk, a timer);
    #: returns outbox payloads for the same conversation, queued after `outbox`
    writes: Callable[[sqlite3.Connection], list[str]] | None = None


@dataclass(slots=True)
class TurnOutcome:
    outbox_ids: list[int]
    value: Any


def queue_outbox(db: sqlite3.Connection, codec: Codec, key: str, payload: str, now: int) -> int:
    """A message for a conversation in the outbox; its address sealed, looked up by pseudonym."""
    cur = db.execute("INSERT INTO outbox(key, who, addr, payload, created_at) "
                     "VALUES (pseudonym(?), pseudonym(?), seal(?), ?, ?)",
                     (key, who_of(key), key, codec.encode(payload), now))
    return int(cur.lastrowid or 0)


def who_of(key: str) -> str:
    platform, _chat, user = key.split(SEP)
    return f"{platform}{SEP}{user}"


def _week(now: float) -> str:
    """Statistics are counted per week (bot.clock.iso_week), never per person."""
    return iso_week(datetime.fromtimestamp(now, UTC))


class Checkpointer(threading.Thread):
    """Copies the WAL back into the database file on its own thread and connection.

    SQLite's automatic checkpoint runs inside whichever COMMIT takes the WAL past
    1,000 pages: that turn copies them all and waits for two fsyncs before its reply
    can go out (5-15 ms on the benchmark machine, about once every 100 turns). Here
    the copying happens every `every_s` in PASSIVE mode, which never blocks the
    writer, so the turns only pay for it in CPU on another core.

    A passive checkpoint finishing while turns keep committing does not let SQLite
    start the WAL over (that needs a COMMIT to find it fully copied), so once the
    WAL holds `RESET_PAGES` the writer copies the last few frames itself before its
    next transaction (`wants_reset`), and the WAL starts over. The writer's own
    automatic checkpoint stays on as a safety net at `SAFETY_NET_PAGES`.
    Durability is unchanged: a turn is in the WAL before its reply is sent.
    """

    #: the writer checkpoints on its own (SQLite's behaviour) only past this (~40 MB)
    SAFETY_NET_PAGES = 10_000
    #: from this WAL size on, the writer finishes a checkpoint so the WAL starts over (~16 MB)
    RESET_PAGES = 4_000

    def __init__(self, path: str, synchronous: str, every_s: float = 0.02) -> None:
        super().__init__(name="wegwijzer-checkpoint", daemon=True)
        self.path = path
        self.synchronous = synchronous
        self.every_s = every_s
        self.stopping = threading.Event()
        #: pages in the WAL at the last checkpoint (read by the writer thread)
        self.frames = 0

    def run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=0.0, check_same_thread=False)
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
        except sqlite3.Error as exc:
            log.warning("checkpointer: cannot use the database (%s); SQLite checkpoints in the writer",
                        type(exc).__name__)
            return
        try:
            while not self.stopping.wait(self.every_s):
                try:
                    self.frames = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
                except sqlite3.Error as exc:  # e.g. busy with another checkpoint: next time
                    log.debug("checkpointer: %s", type(exc).__name__)
        finally:
            conn.close()

    def wants_reset(self) -> bool:
        if self.frames >= self.RESET_PAGES:
            self.frames = 0  # once per report of a big WAL
            return True
        return False

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10.0)


class StoreClosed(StorageError, RuntimeError):
    """The store was closed before a call could run on its thread."""


class StoreThread:
    """The one thread the connection lives on: calls wait in a queue and run in order.

    Why not aiosqlite, which is this same design: a turn is one function run next
    to the connection (see the module's docstring), and aiosqlite's public API
    runs one statement per call; running a function on its thread needed its
    private `_conn` and `_execute`, and its `_thread` to make that thread a daemon.
    Per statement, a turn would cost about eight thread hops instead of one, and
    another turn's statements could land inside its transaction. The standard
    library's one-worker ThreadPoolExecutor does the job with a public API but
    took twice as long per hop (about 80 instead of 40 µs on the benchmark machine,
    two hops per update), so this is aiosqlite's loop, a few lines long.

    The thread is a daemon: a store that a crash left open (its frames kept alive
    by a traceback) must not keep the process from exiting. Every write is awaited
    inside its own transaction, so dying mid-way loses nothing acknowledged.
    """

    def __init__(self) -> None:
        self._calls: SimpleQueue[tuple[asyncio.Future[Any], Callable[[], Any]] | None] = SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="wegwijzer-store", daemon=True)
        self._thread.start()

    def call(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Queue fn; the future (of the running loop) gets its result or exception."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._calls.put((future, fn))
        return future

    def stop(self) -> None:
        """The thread ends after the calls already queued."""
        self._calls.put(None)

    def _run(self) -> None:
        while (item := self._calls.get()) is not None:
            future, fn = item
            try:
                outcome: tuple[Callable[..., None], Any] = (_resolve, fn())
            except BaseException as exc:  # handed to the awaiting coroutine
                outcome = (_reject, exc)
            with contextlib.suppress(RuntimeError):  # its event loop is closed: nobody waits any more
                future.get_loop().call_soon_threadsafe(outcome[0], future, outcome[1])


def _resolve(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # not cancelled meanwhile
        future.set_result(result)


def _reject(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


class Store:
    """Async facade over one SQLite connection, used only on its own thread (StoreThread)."""

    def __init__(self, path: str, codec: Codec, schema: Schema, clock: Now = SYSTEM) -> None:
        #: stamps rows (updated_at, at, created_at); the core shares its clock with the store
        self.clock: Now = clock
        self.path = path
        self.codec = codec
        #: every feature's tables (bot/schema.py): migrations, forget-me, pseudonyms, rotation
        self.schema = schema
        #: the SQL functions pseudonym/seal/unseal and the database's id key (bot.pseudonyms)
        self.ids = Pseudonyms(codec, schema.pseudonymous, schema.sealed)
        self.checkpointer: Checkpointer | None = None
        #: fn(db, who) run first when a user is forgotten, in the same transaction
        #: (e.g. the desk keeps a delivered report but cuts its link to the user)
        self.forget_hooks: list[Callable[[sqlite3.Connection, str], None]] = []
        #: the last truncate_wal could not empty the WAL: deleted rows may still be in it
        self.wal_pending = False
        self.closed = False
        self.busy_timeout_ms = 30_000
        self._thread = StoreThread()
        #: used only on `_thread` (sqlite3 checks that)
        self._db: sqlite3.Connection | None = None

    # ------------------------------------------------------------ lifecycle
    @classmethod
    async def open(cls, path: str | Path, codec: Codec | None = None, *, schema: Schema,
                   synchronous: str = "NORMAL", busy_timeout_s: float = 30.0, cache_kb: int = 256,
                   clock: Now = SYSTEM) -> Store:
        """Open (and migrate) the database to `schema` (the product's is bot.app.SCHEMA).

        `cache_kb` bounds SQLite's private page cache. A turn touches a handful of pages
        (its conversation row, the handled mark, its outbox rows), and the operating
        system caches the file anyway, so SQLite's default 2 MB mostly held parked
        conversations twice: at 1,000 users it was about half the memory per parked
        conversation, and turns were no faster with it (bench/README.md).
        """
        path = str(path)
        if path != ":memory:":
            private_database(Path(path))
        store = cls(path, codec or PlainCodec(), schema, clock)
        try:
            store._db = await store._thread.call(
                partial(sqlite3.connect, path, timeout=busy_timeout_s, isolation_level=None))
            await store._call(store._setup, synchronous, busy_timeout_s, cache_kb)
        except BaseException:
            await store.close()  # a failed migration must not leave the connection's thread running
            raise
        if path != ":memory:":
            await store._call(lambda conn: conn.execute(
                f"PRAGMA wal_autocheckpoint={Checkpointer.SAFETY_NET_PAGES}").fetchall())
            store.checkpointer = Checkpointer(path, synchronous)
            store.checkpointer.start()
        return store

    def _setup(self, db: sqlite3.Connection, synchronous: str, busy_timeout_s: float, cache_kb: int) -> None:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA cache_size=-{int(cache_kb)}")  # negative: KiB, not pages
        db.execute(f"PRAGMA synchronous={synchronous}")
        self.busy_timeout_ms = int(busy_timeout_s * 1000)
        db.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA secure_delete=ON")  # forgotten data is overwritten, not left in free pages
        self.ids.install(db)
        version = db.execute("PRAGMA user_version").fetchone()[0]
        for number, parts in self.schema.steps:
            if number <= version:
                continue
            db.execute("BEGIN IMMEDIATE")
            try:
                for part in parts:
                    part.apply(db)
                db.execute(f"PRAGMA user_version={number}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            log.info("database upgraded to version %d: %s", number, "; ".join(p.description for p in parts))
        # keys set on a database written without them (or upgraded just now): its ids are
        # pseudonymised now, in one go
        converted = self._in_transaction(db, lambda conn: self.ids.protect(conn))
        if converted:
            log.info("encryption keys are set: %d stored ids, titles and timer names were protected", converted)

    async def close(self) -> None:
        checkpointer, self.checkpointer = self.checkpointer, None
        if checkpointer is not None:
            await asyncio.get_running_loop().run_in_executor(None, checkpointer.stop)
        if self.path != ":memory:" and not self.closed and self._db is not None:
            # Copy the whole WAL into the database file and empty it before closing. SQLite does
            # this itself only when it closes the last connection and nothing delays that; when
            # it did not, the file kept the page versions from before a forget-me (seen under
            # load: a deleted user's bytes in the main file, the current pages still in the WAL).
            try:
                await self._call(self._truncate_wal_now)
            except (sqlite3.Error, StoreClosed):  # closed or busy: SQLite's own close still tries
                log.debug("store: no final checkpoint")
        self.closed = True
        db, self._db = self._db, None
        if db is not None:
            await self._thread.call(db.close)  # after every call already waiting: those still run
        self._thread.stop()

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn(sqlite3_connection, *args) on the connection's thread.

        A cursor must never leave that thread. CPython's sqlite3 shares one prepared
        statement per SQL text between cursors, and a cursor freed elsewhere resets
        its statement there: when the event loop dropped the cursor of one ack while
        the worker ran the same DELETE for the next ack, SQLite failed that one with
        "bad parameter or other API misuse". So a cursor that `fn` hands back (e.g. a
        lambda around `db.execute`) is closed here, on the worker, and None returned.
        """
        conn = self._db
        if conn is None:
            raise StoreClosed("the store is closed")

        def bound() -> T:
            try:
                result = fn(conn, *args)
            except sqlite3.OperationalError as exc:
                self.ids.reraise(exc)
                raise
            if isinstance(result, sqlite3.Cursor):
                result.close()
                return None  # type: ignore[return-value]
            return result

        return await self._thread.call(bound)

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn inside BEGIN IMMEDIATE ... COMMIT; retry while another process holds the lock."""
        delay = 0.05
        while True:
            try:
                return await self._call(self._transaction, fn, *args)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _transaction(self, db: sqlite3.Connection, fn: Callable[..., T], *args: Any) -> T:
        checkpointer = self.checkpointer
        if checkpointer is not None and checkpointer.wants_reset():
            # copy the last frames here, where no COMMIT can come in between, so this
            # transaction finds the WAL fully copied and starts it over
            db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        return self._in_transaction(db, fn, *args)

    @staticmethod
    def _in_transaction(db: sqlite3.Connection, fn: Callable[..., T], *args: Any) -> T:
        db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(db, *args)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return result

    # ------------------------------------------------------------ turns
    async def turn(
        self,
        key: str,
        update_id: str | None,
        cursor: tuple[str, str] | None,
        compute: Callable[[str | None], TurnResult],
    ) -> TurnOutcome | None:
        """Run one conversation turn atomically; None when update_id was handled before."""
        return await self._write(self._turn, key, update_id, cursor, compute)

    def _turn(self, db: sqlite3.Connection, key: str, update_id: str | None,
              cursor: tuple[str, str] | None,
              compute: Callable[[str | None], TurnResult]) -> TurnOutcome | None:
        now = int(self.clock().timestamp())
        if update_id is not None:
            try:
                db.execute("INSERT INTO handled(update_id, at) VALUES (pseudonym(?), ?)", (update_id, now))
            except sqlite3.IntegrityError:
                return None
        row = db.execute("SELECT state FROM conversations WHERE key = pseudonym(?)", (key,)).fetchone()
        result = compute(self.codec.decode(row[0]) if row else None)
        who = who_of(key)
        if result.forget_who:
            self._forget(db, who)
        elif result.state is None:
            if row:
                db.execute("DELETE FROM conversations WHERE key = pseudonym(?)", (key,))
        else:
            db.execute(
                "INSERT INTO conversations(key, who, state, updated_at) VALUES (pseudonym(?), pseudonym(?), ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                (key, who, self.codec.encode(result.state), now),
            )
        if cursor is not None:
            db.execute("INSERT INTO cursors(name, value) VALUES (?, ?) "
                       "ON CONFLICT(name) DO UPDATE SET value = excluded.value", cursor)
        ids = []
        for payload in result.outbox + (result.writes(db) if result.writes else []):
            ids.append(queue_outbox(db, self.codec, key, payload, now))
        if result.stats:
            week = _week(now)
            db.executemany(
                "INSERT INTO stats(week, event, n) VALUES (?, ?, 1) "
                "ON CONFLICT(week, event) DO UPDATE SET n = n + 1",
                [(week, event) for event in result.stats],
            )
        return TurnOutcome(ids, result.value)

    # ------------------------------------------------------------ outbox
    async def ack(self, ids: Sequence[int]) -> None:
        """Delivered: drop these outbox rows."""
        if ids:
            def write(db: sqlite3.Connection) -> None:
                db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])

            await self._write(write)

    async def pending_outbox(self, key: str | None = None) -> list[tuple[int, str, str]]:
        """Queued replies, oldest first: all of them, or one conversation's."""
        def read(db: sqlite3.Connection) -> list[tuple[int, str, str]]:
            if key is None:
                rows = db.execute("SELECT id, unseal(addr), payload FROM outbox ORDER BY id").fetchall()
            else:  # by `who` first: that column is indexed
                rows = db.execute("SELECT id, unseal(addr), payload FROM outbox "
                                  "WHERE who = pseudonym(?) AND key = pseudonym(?) ORDER BY id",
                                  (who_of(key), key)).fetchall()
            return [(i, k, self.codec.decode(p)) for i, k, p in rows]

        return await self._call(read)

    async def outbox_keys(self) -> set[str]:
        """Conversations with queued replies (one sealed address opened per conversation, no payload)."""
        return await self._call(lambda db: {k for (k,) in db.execute(
            "SELECT unseal(MIN(addr)) FROM outbox GROUP BY key")})

    async def requeue(self, ids: Sequence[int], payload: str) -> None:
        """Replace what these outbox rows still have to send by `payload` (the unsent rest)."""
        first, *others = ids

        def write(db: sqlite3.Connection) -> None:
            db.execute("UPDATE outbox SET payload = ? WHERE id = ?", (self.codec.encode(payload), first))
            db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in others])

        await self._write(write)

    async def in_outbox(self, outbox_id: int) -> bool:
        return await self._call(lambda db: db.execute(
            "SELECT 1 FROM outbox WHERE id = ?", (outbox_id,)).fetchone() is not None)

    # ------------------------------------------------------------ simple reads/writes
    async def state(self, key: str) -> str | None:
        def read(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT state FROM conversations WHERE key = pseudonym(?)", (key,)).fetchone()
            return self.codec.decode(row[0]) if row else None

        return await self._call(read)

    async def cursor(self, name: str) -> str | None:
        def read(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
            return row[0] if row else None

        return await self._call(read)

    async def set_cursor(self, name: str, value: str) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO cursors(name, value) VALUES (?, ?) "
                       "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (name, value))

        await self._write(write)

    async def stats(self) -> list[tuple[str, str, int]]:
        return await self._call(lambda db: db.execute(
            "SELECT week, event, n FROM stats ORDER BY week, event").fetchall())

    async def forget(self, key: str) -> None:
        """Delete every row about the user of `key` (all their chats on that platform)."""
        await self._write(self._forget, who_of(key))

    def _forget(self, db: sqlite3.Connection, who: str) -> None:
        for hook in self.forget_hooks:
            hook(db, who)
        for table, column in self.schema.user_columns:  # each feature's (bot/schema.py)
            db.execute(f"DELETE FROM {table} WHERE {column} = pseudonym(?)", (who,))  # noqa: S608 - fixed names

    async def truncate_wal(self, wait_s: float = 0.0) -> bool:
        """Copy the WAL into the database and empty it, so no old page (a forgotten user's) stays in it.

        A reader holding an old snapshot (a backup reading the file) makes this impossible
        until it is done. SQLite would then wait the whole busy timeout inside the store's
        thread, holding up every turn, and give up quietly; so each try here does not wait
        at all, and tries are repeated with backoff (turns go on in between) for up to
        `wait_s`. False: the WAL may still hold old pages (`wal_pending`).
        """
        if self.path == ":memory:":
            return True
        deadline = time.monotonic() + wait_s
        delay = 0.02
        while True:
            if self.closed:  # closing checkpoints the WAL away unless a reader still holds it
                return False
            try:
                done = await self._call(self._truncate_wal_now)
            except StoreClosed:  # closed in between
                if self.closed:
                    return False
                raise
            if done:
                self.wal_pending = False
                return True
            if time.monotonic() >= deadline:
                self.wal_pending = True
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _truncate_wal_now(self, db: sqlite3.Connection) -> bool:
        db.execute("PRAGMA busy_timeout=0")
        try:
            [(busy, _frames, _copied)] = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            return not busy
        except sqlite3.OperationalError:  # locked by another process this instant: the next try
            return False
        finally:
            db.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")

    async def prune_handled(self, older_than_s: int) -> int:
        cutoff = int(self.clock().timestamp()) - older_than_s
        return await self._write(lambda db: db.execute(
            "DELETE FROM handled WHERE at < ?", (cutoff,)).rowcount)

    async def execute(self, fn: Callable[..., T], *args: Any, write: bool = True) -> T:
        """Run fn(connection, *args) on the store thread (in a transaction when write)."""
        if write:
            return await self._write(fn, *args)
        return await self._call(fn, *args)
