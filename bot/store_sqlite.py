"""The store's SQLite backend: one file in WAL mode, one connection on its own thread.

Why it looks like this:
- The transaction of a turn runs as one function next to a connection, so a turn
  costs at most one thread hop instead of one per statement. A turn and an ack run
  on the event loop's own thread, on a second connection, when the write lock is
  free at that instant (`transaction_now`: no hop at all); when it is not, on the
  connection's own thread (`StoreThread`), which waits for the lock so the event loop
  never does. The engine is pure and fast, so either holds the write lock only for
  microseconds.
- WAL checkpoints run off the turn path (`Checkpointer`): SQLite's own
  checkpoint would stall the one COMMIT that crosses the threshold for several
  milliseconds before its reply could go out.
- The schema version is `PRAGMA user_version`; each number runs in one
  `BEGIN IMMEDIATE` transaction, so two processes opening one file apply it once.

What a turn does is the facade's (bot/store.py); this module only knows SQLite.
Never log a row, a payload or anything a user typed from here.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from bot import store_thread
from bot.private_files import private_database
from bot.pseudonyms import Pseudonyms
from bot.schema import Schema
from bot.store_thread import NOT_NOW, NotNow, StoreClosed, StoreThread, in_transaction

T = TypeVar("T")
log = logging.getLogger(__name__)


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


#: The private page cache of the event loop's connection (`transaction_now`), in KiB. A turn
#: touches a handful of pages, and the operating system caches the file: with the store thread's
#: 256 KiB a second full cache only added memory (about 0.2 KB per parked conversation at 1,000
#: users on the benchmark), and 64 KiB measured the same CPU per update (bench/README.md).
HERE_CACHE_KB = 64

class SqliteBackend:
    """One SQLite connection, used only on its own thread (StoreThread)."""

    def __init__(self, path: str, ids: Pseudonyms) -> None:
        self.path = path
        self.ids = ids
        self.checkpointer: Checkpointer | None = None
        #: the last truncate_wal could not empty the WAL: deleted rows may still be in it
        self.wal_pending = False
        #: one file, one process: no other process shares the work (bot/lease.py)
        self.shared = False
        self.closed = False
        self.busy_timeout_ms = 30_000
        self._thread = StoreThread()
        #: used only on `_thread` (sqlite3 checks that)
        self._db: sqlite3.Connection | None = None
        #: the event loop's own connection for `transaction_now` (None: every call hops), used only on
        #: the thread that opened the store (`_here_thread`); it never waits for a lock
        self._here: sqlite3.Connection | None = None
        self._here_thread = 0

    @classmethod
    async def open(cls, path: str, ids: Pseudonyms, schema: Schema, *, synchronous: str = "NORMAL",
                   busy_timeout_s: float = 30.0, cache_kb: int = 256) -> SqliteBackend:
        """Open (and migrate) the file. `cache_kb` bounds SQLite's private page cache: a turn touches a
        handful of pages and the operating system caches the file anyway (bench/README.md)."""
        if path != ":memory:":
            private_database(Path(path))
        backend = cls(path, ids)
        try:
            backend._db = await backend._thread.call(
                lambda: sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None))
            await backend.call(backend._setup, synchronous, busy_timeout_s, cache_kb)
            await backend.call(migrate, schema, ids)
        except BaseException:
            await backend.close()  # a failed migration must not leave the connection's thread running
            raise
        if path != ":memory:":
            await backend.call(lambda db: db.execute(
                f"PRAGMA wal_autocheckpoint={Checkpointer.SAFETY_NET_PAGES}").fetchall())
            backend.checkpointer = Checkpointer(path, synchronous)
            backend.checkpointer.start()
            if synchronous.upper() != "FULL":  # FULL waits for the disk at every COMMIT: not on the loop
                backend._open_here(synchronous, min(cache_kb, HERE_CACHE_KB))
        return backend

    def _setup(self, db: sqlite3.Connection, synchronous: str, busy_timeout_s: float, cache_kb: int) -> None:
        _wal_mode(db, busy_timeout_s)
        self.busy_timeout_ms = int(busy_timeout_s * 1000)
        self._configure(db, synchronous, self.busy_timeout_ms, cache_kb)

    def _configure(self, db: sqlite3.Connection, synchronous: str, busy_timeout_ms: int, cache_kb: int) -> None:
        """What each of the store's connections sets: the same durability, checks and SQL functions."""
        db.execute(f"PRAGMA cache_size=-{int(cache_kb)}")  # negative: KiB, not pages
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA secure_delete=ON")  # forgotten data is overwritten, not left in free pages
        self.ids.install(db)

    def _open_here(self, synchronous: str, cache_kb: int) -> None:
        """The event loop's connection (see transaction_now): opened once the file is migrated and in WAL
        mode; busy timeout 0, so it never waits, and the same checkpoint threshold as the other."""
        db = sqlite3.connect(self.path, timeout=0.0, isolation_level=None, check_same_thread=False)
        try:
            self._configure(db, synchronous, 0, cache_kb)
            db.execute(f"PRAGMA wal_autocheckpoint={Checkpointer.SAFETY_NET_PAGES}").fetchall()
        except BaseException:
            db.close()
            raise
        self._here, self._here_thread = db, threading.get_ident()

    def transaction_now(self, fn: Callable[..., T], *args: Any) -> T | NotNow:
        """fn(db, *args) in one write transaction on the caller's thread, if that needs no wait (bot.store_thread.WritesNow).

        NOT_NOW, with nothing written, when another connection or process holds the write
        lock, when the WAL is due to start over (the store's thread does that, see
        `transaction`), or when called from another thread than the one that opened the store.
        Whatever else fn raises is raised, after a ROLLBACK, as on the store's thread.
        """
        db = self._usable_here()
        if db is None:
            return NOT_NOW
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if self.busy(exc):
                return NOT_NOW
            raise
        try:
            result = fn(db, *args)
            db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):
                if self.busy(exc):  # fn may run again: a turn's transaction starts afresh each time
                    return NOT_NOW
                self.ids.reraise(exc)
            raise
        if isinstance(result, sqlite3.Cursor):  # as `call` does: no cursor outlives its call
            result.close()
            return None  # type: ignore[return-value]
        return result

    def statement_now(self, sql: str, params: Sequence[Any]) -> NotNow | None:
        """One write statement on the caller's thread, in SQLite's own transaction for it (atomic and as
        durable as a COMMIT, without the two statements around it); NOT_NOW as transaction_now."""
        db = self._usable_here()
        if db is None:
            return NOT_NOW
        try:
            db.execute(sql, params).close()
        except sqlite3.OperationalError as exc:
            if self.busy(exc):  # SQLite undid the statement
                return NOT_NOW
            self.ids.reraise(exc)
            raise
        return None

    def _usable_here(self) -> sqlite3.Connection | None:
        """The event loop's connection, unless this is another thread or the WAL is due to start over
        (the store's thread copies the last frames first, see `transaction`)."""
        db = self._here
        if db is None or threading.get_ident() != self._here_thread:
            return None
        checkpointer = self.checkpointer
        if checkpointer is not None and checkpointer.frames >= Checkpointer.RESET_PAGES:
            return None
        return db

    def call(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
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

        return self._thread.call(bound)

    def transaction(self, db: sqlite3.Connection, fn: Callable[..., T], *args: Any) -> T:
        checkpointer = self.checkpointer
        if checkpointer is not None and checkpointer.wants_reset():
            # copy the last frames here, where no COMMIT can come in between, so this
            # transaction finds the WAL fully copied and starts it over
            db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        return in_transaction(db, "BEGIN IMMEDIATE", fn, *args)

    @staticmethod
    def serialise(db: sqlite3.Connection, key: str) -> None:
        """Nothing to do: BEGIN IMMEDIATE already lets one writer in at a time."""

    @staticmethod
    def busy(exc: BaseException) -> bool:
        """Another process holds the write lock: the facade tries again later."""
        return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))

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
                done = await self.call(self._truncate_wal_now)
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

    async def close(self) -> None:
        here, self._here = self._here, None
        if here is not None:  # idle between calls: closing it first leaves the store's thread the last one
            here.close()
        checkpointer, self.checkpointer = self.checkpointer, None
        if checkpointer is not None:
            await asyncio.get_running_loop().run_in_executor(None, checkpointer.stop)
        if self.path != ":memory:" and not self.closed and self._db is not None:
            # Copy the whole WAL into the database file and empty it before closing. SQLite does
            # this itself only when it closes the last connection and nothing delays that; when
            # it did not, the file kept the page versions from before a forget-me (seen under
            # load: a deleted user's bytes in the main file, the current pages still in the WAL).
            try:
                await self.call(self._truncate_wal_now)
            except (sqlite3.Error, StoreClosed):  # closed or busy: SQLite's own close still tries
                log.debug("store: no final checkpoint")
        self.closed = True
        db, self._db = self._db, None
        if db is not None:
            await self._thread.call(db.close)  # after every call already waiting: those still run
        self._thread.stop()


def migrate(db: sqlite3.Connection, schema: Schema, ids: Pseudonyms) -> None:
    """The version is `PRAGMA user_version`; BEGIN IMMEDIATE lets one process at a time migrate."""
    store_thread.migrate(db, schema, ids, version=_version, begin="BEGIN IMMEDIATE", record=_record)


def _version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _record(db: sqlite3.Connection, number: int) -> None:
    db.execute(f"PRAGMA user_version={number}")


def _wal_mode(db: sqlite3.Connection, wait_s: float) -> None:
    """Switch the file to WAL, waiting while another process holds it.

    Why a loop of our own: when two processes open a new file at the same moment, switching the
    journal mode can fail with "database is locked" at once, without SQLite's busy handler waiting
    (seen in CI: two bots starting together, one gone with that error).
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL").fetchall()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)

