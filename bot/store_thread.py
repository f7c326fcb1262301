"""What a store's backend is (`Backend`) and the thread its connection lives on.

A turn is one function run next to the connection, inside one transaction
(bot/store.py); the connection (sqlite3's, psycopg's) is used only on this
thread, and the event loop only awaits a future. Must never run a call of
one store on another store's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from enum import Enum
from queue import SimpleQueue
from typing import Any, Protocol, TypeVar

from bot.errors import StorageError
from bot.pseudonyms import Pseudonyms
from bot.schema import Migration, Schema

T = TypeVar("T")
log = logging.getLogger(__name__)


class StoreClosed(StorageError, RuntimeError):
    """The store was closed before a call could run on its thread."""


class StoreUnavailable(StorageError):
    """The database server cannot be reached (PostgreSQL stopped, restarting or cut off), so the call's
    transaction did not commit (unless the cut took only the answer to its COMMIT: README, "PostgreSQL").
    Not a fault of the call: the store waits and runs it again (bot/store.py)."""


class StoreThread:
    """The one thread a connection lives on: calls wait in a queue and run in order.

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

    def __init__(self, name: str = "wegwijzer-store") -> None:
        self._calls: SimpleQueue[tuple[asyncio.Future[Any], Callable[[], Any]] | None] = SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
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


class NotNow(Enum):
    """What `WritesNow.transaction_now` gives back when it cannot run without waiting."""

    NOT_NOW = "not now"


NOT_NOW = NotNow.NOT_NOW


class WritesNow(Protocol):
    """A backend that can run a short write transaction on the caller's thread (SQLite).

    Why: a turn is short, and most of the time nobody else holds the database. Running it where
    the event loop is, when that needs no wait, saves the hop to the store's thread and back (a
    future, a queue, a wake-up of the loop through its self-pipe and a hand-over of the GIL, each
    way): on the benchmark that was a large part of what the core path cost beyond the engine.
    Whenever it would have to wait (another connection or process holds the write lock), it
    gives back NOT_NOW without having changed anything, and the store hops as before.
    """

    def transaction_now(self, fn: Callable[..., T], *args: Any) -> T | NotNow:
        """fn(db, *args) in one write transaction, here and now; NOT_NOW when that would mean waiting."""
        ...

    def statement_now(self, sql: str, params: Sequence[Any]) -> NotNow | None:
        """One write statement, its own transaction, here and now; NOT_NOW when that would mean waiting."""
        ...


def in_transaction(db: Any, begin: str, fn: Callable[..., T], *args: Any) -> T:
    """fn(db, *args) between `begin` and COMMIT; ROLLBACK when it raises."""
    db.execute(begin)
    try:
        result = fn(db, *args)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return result




class Backend(Protocol):
    """What the store needs of a database (bot/store_sqlite.py): a connection on its own thread."""

    #: closed: no call runs any more
    closed: bool
    #: the last truncate_wal could not empty the write-ahead log
    wal_pending: bool
    #: several processes may use this database at once (PostgreSQL), so they hold leases (bot/lease.py)
    shared: bool

    def call(self, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
        """Run fn(connection, *args) next to the connection, outside a transaction."""
        ...

    def transaction(self, db: Any, fn: Callable[..., T], *args: Any) -> T:
        """Inside `call`: fn(db, *args) in one write transaction."""
        ...

    def serialise(self, db: Any, key: str) -> None:
        """Inside a turn: wait until no other process runs a turn of this conversation."""
        ...

    def busy(self, exc: BaseException) -> bool:
        """exc means another process holds the lock: try the transaction again later."""
        ...

    async def truncate_wal(self, wait_s: float = 0.0) -> bool: ...

    async def close(self) -> None: ...


def migrate(db: Any, schema: Schema, ids: Pseudonyms, *, version: Callable[[Any], int], begin: str,
            record: Callable[[Any, int], None]) -> None:
    """Apply the numbers above the `version` recorded, each in one transaction with its `record`; then
    pseudonymise the ids of a database written without keys (or upgraded just now), in one go.

    The version is read again inside each transaction: another process that started at the same
    moment may have applied the number while this one waited for the lock."""
    start = version(db)
    for number, parts in schema.steps:
        if number > start:
            in_transaction(db, begin, _apply, number, parts, version, record)
    converted = in_transaction(db, begin, ids.protect)
    if converted:
        log.info("encryption keys are set: %d stored ids, titles and timer names were protected", converted)


#: The log line of each upgrade step (a scenario run leaves it out: its database is new every time).
UPGRADED = "database upgraded to version %d: %s"


def _apply(db: Any, number: int, parts: Sequence[Migration], version: Callable[[Any], int],
           record: Callable[[Any, int], None]) -> None:
    if version(db) >= number:
        return
    for part in parts:
        part.apply(db)
    record(db, number)
    log.info(UPGRADED, number, "; ".join(p.description for p in parts))
