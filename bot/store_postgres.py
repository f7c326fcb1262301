"""The store's PostgreSQL backend, chosen by `WEGWIJZER_DB=postgresql://...`.

Why it looks like this:
- Same shape as the SQLite backend: one connection on the store's own thread
  (bot/store_thread.py), and a turn is one function run there inside one
  transaction, so the features' writers stay plain synchronous functions
  (psycopg 3's synchronous connection; its async one could not run them).
- Several processes may share the database. Two turns of one conversation are
  serialised by a transaction-scoped advisory lock on the conversation's
  pseudonym (`serialise`), taken first in the turn's transaction: the second
  waits, then reads the state the first wrote. Other conversations never wait.
- Migrations run under a session advisory lock: two processes starting at once
  apply each number once (the second finds the version already recorded).
  The version is a one-row table, `schema_version`, as PRAGMA user_version is
  SQLite's; each number runs in one transaction with its record.
- The SQL is the features' own, translated (bot/store_postgres_sql.py); keys,
  plain ids and pseudonym keys never reach the server. Statements are queued and
  sent together when an outcome is read, at COMMIT and at the end of a call:
  a turn is three round trips to the server, not one per statement.
- The server may go away (stopped, restarting, cut off). A call on a lost
  connection, or a connection that cannot be made, raises `StoreUnavailable`
  (its transaction did not commit); the next call connects again. The store
  (bot/store.py) waits and runs the call again, and says so in the log once.

Never log a row, a parameter or the connection URL (it may hold a password).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bot import store_thread
from bot.pseudonyms import Pseudonyms
from bot.schema import Schema
from bot.store_postgres_sql import STUBS, Dialect, PgConnection, Rows
from bot.store_thread import StoreClosed, StoreThread, StoreUnavailable, in_transaction

T = TypeVar("T")
log = logging.getLogger(__name__)

#: advisory lock keys (two-int form): (namespace, key)
MIGRATIONS = (0x57570001, 0)
CONVERSATION = 0x57570002
#: Connection options the URL may override. A server that does not answer at all (a host cut off
#: rather than stopped) is given up on within seconds instead of the operating system's minutes,
#: also in the middle of a query (TCP keepalives), so the store's thread is not held meanwhile.
CONNECT_DEFAULTS = {"connect_timeout": "5", "keepalives": "1", "keepalives_idle": "10",
                    "keepalives_interval": "5", "keepalives_count": "3"}


class PostgresBackend:
    """One psycopg connection, used only on its own thread."""

    def __init__(self, url: str, ids: Pseudonyms, dialect: Dialect) -> None:
        self.url = url
        self.ids = ids
        self.dialect = dialect
        self.closed = False
        #: nothing like SQLite's write-ahead log to empty (see Store.truncate_wal)
        self.wal_pending = False
        #: several processes may run on this database: they share the work by leases (bot/lease.py)
        self.shared = True
        self._thread = StoreThread("wegwijzer-store-pg")
        self._db: PgConnection | None = None

    @classmethod
    async def open(cls, url: str, ids: Pseudonyms, schema: Schema) -> PostgresBackend:
        binary = [*schema.sealed, *((c.table, c.column) for c in schema.encrypted)]
        backend = cls(url, ids, Dialect(binary))
        try:
            await backend._thread.call(backend._connect)
            await backend.call(migrate, schema, ids)
        except BaseException:
            await backend.close()
            raise
        return backend

    def _connect(self) -> None:
        options = {name: value for name, value in CONNECT_DEFAULTS.items() if name not in conninfo_to_dict(self.url)}
        try:
            # client-side binding: values are sent as literals, so a parameter whose type only SQLite
            # could guess (`? IS NULL`, a None compared) reads the same as there
            conn: psycopg.Connection[Any] = psycopg.connect(make_conninfo(self.url, **options), autocommit=True,
                                                            cursor_factory=psycopg.ClientCursor)
        except psycopg.OperationalError as exc:  # its message names the host, never the password; not passed on
            raise StoreUnavailable(f"could not connect to PostgreSQL ({type(exc).__name__})") from exc
        self._db = PgConnection(conn, self.dialect, self.ids)

    def call(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Run fn(connection, *args) on the connection's thread; a connection lost before is made again.

        StoreUnavailable when the server cannot be reached (the store says so in the log, once)."""
        if self._db is None:
            raise StoreClosed("the store is closed")

        def bound() -> T:
            db = self._db
            if db is None:
                raise StoreClosed("the store is closed")
            if db.conn.closed:  # lost in an earlier call
                self._connect()
                db = self._db
                assert db is not None
            try:
                try:
                    result = fn(db, *args)
                finally:  # what nobody read the outcome of was queued (bot/store_postgres_sql.py); it ran before
                    db.flush()  # any later error, so it is sent, and its own error comes first
            except psycopg.OperationalError as exc:
                if not db.conn.closed:
                    raise  # the server answered: an error of this call, not an outage
                raise StoreUnavailable(f"the connection to PostgreSQL was lost ({type(exc).__name__})") from exc
            return None if isinstance(result, Rows) else result  # type: ignore[return-value]  # as SQLite's cursors

        return self._thread.call(bound)

    @staticmethod
    def transaction(db: PgConnection, fn: Callable[..., T], *args: Any) -> T:
        return in_transaction(db, "BEGIN", fn, *args)

    @staticmethod
    def serialise(db: PgConnection, key: str) -> None:
        """Inside a turn: wait for any other process's turn of this conversation (released at COMMIT)."""
        db.execute(f"SELECT pg_advisory_xact_lock({CONVERSATION}, hashtext(pseudonym(?)))", (key,))

    @staticmethod
    def busy(exc: BaseException) -> bool:
        """Two transactions got in each other's way: the facade runs the turn again."""
        return isinstance(exc, errors.SerializationFailure | errors.DeadlockDetected)

    async def truncate_wal(self, wait_s: float = 0.0) -> bool:
        return True  # PostgreSQL recycles its WAL itself; deleted rows go at VACUUM

    async def close(self) -> None:
        self.closed = True
        db, self._db = self._db, None
        if db is not None:
            await self._thread.call(db.conn.close)
        self._thread.stop()


def migrate(db: PgConnection, schema: Schema, ids: Pseudonyms) -> None:
    """The version is the row of `schema_version`; a session advisory lock lets one process at a time in."""
    db.execute(f"SELECT pg_advisory_lock{MIGRATIONS}")
    try:
        in_transaction(db, "BEGIN", _prepare)
        store_thread.migrate(db, schema, ids, version=_version, begin="BEGIN", record=_record)
    finally:
        db.execute(f"SELECT pg_advisory_unlock{MIGRATIONS}")


def _prepare(db: PgConnection) -> None:
    db.flush()  # the BEGIN queued before it
    db.conn.execute(STUBS)
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    # who polls, syncs and runs the background loops (bot/lease.py); only a cluster needs it
    db.execute("CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, "
               "expires_at INTEGER NOT NULL)")
    if db.execute("SELECT 1 FROM schema_version").fetchone() is None:
        db.execute("INSERT INTO schema_version(version) VALUES (0)")


def _version(db: PgConnection) -> int:
    [(number,)] = db.execute("SELECT version FROM schema_version").fetchall()
    return int(number)


def _record(db: PgConnection, number: int) -> None:
    db.execute("UPDATE schema_version SET version = ?", (number,))
