"""The store: conversations, the outbox and bookkeeping, in SQLite or PostgreSQL.

Why it looks like this:
- A turn is ONE transaction: read the conversation, run the engine, write the
  new state, mark the update handled, store the adapter's cursor and queue
  the outgoing messages in the outbox. A crash at any point either loses the
  whole turn (the platform redelivers the update) or keeps all of it (the
  outbox is re-sent on start). Nothing is handled twice, nothing is lost.
- `Store` is the same for every database: what a turn, forget-me or an ack
  does is written here once, as functions over a connection. A backend
  (bot/store_sqlite.py) owns the connection, its thread, its transactions and
  its migrations, and runs those functions next to the connection, so a turn
  costs one thread hop instead of one per statement; on SQLite a turn and an
  ack cost none when the write lock is free at once (`_write_quick`).
- Schema changes are numbered migrations applied at start; each feature keeps
  its own next to its SQL (bot/schema.py), the backend only runs them, in
  number order, each number in one transaction.
- Message text is stored only inside saved answers (the state) and the
  outbox until delivered; both go through `codec`, which encrypts at rest
  when a key is configured.
- Ids (conversation keys, users, update ids) are stored as pseudonyms and the
  addresses replies go to are sealed, through the SQL functions `pseudonym`,
  `seal` and `unseal` of the connection (bot/pseudonyms.py).
- A database server that goes away (PostgreSQL stopped or restarting) is waited
  for: a call that finds it unreachable runs again once it answers, so a turn
  is late, never lost or answered with an error, and nobody above the store
  needs to know. One warning when it goes, one when it is back. Only what must
  notice at once (readiness, the leases) asks with `wait=False`.

Never log a state, a payload or anything a user typed from here.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from bot.clock import SYSTEM, Now, iso_week
from bot.pseudonyms import Pseudonyms
from bot.schema import Schema
from bot.store_tables import SEP as SEP
from bot.store_tables import TABLES as TABLES
from bot.store_tables import Codec as Codec
from bot.store_tables import PlainCodec as PlainCodec
from bot.store_tables import add_column as add_column
from bot.store_tables import outbox_id, queue_outbox_as
from bot.store_tables import queue_outbox as queue_outbox
from bot.store_tables import who_of as who_of
from bot.store_thread import NOT_NOW, Backend, NotNow, StoreUnavailable

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Seconds between two looks at a database that cannot be reached.
PROBE_EVERY_S = 0.5

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
    #: outbox rows whose ids are read after COMMIT (PostgreSQL: in the same round trip as the COMMIT)
    unread: list[Any] = field(default_factory=list)


def _week(now: float) -> str:
    """Statistics are counted per week (bot.clock.iso_week), never per person."""
    return iso_week(datetime.fromtimestamp(now, UTC))


class Store:
    """The database of the bot, whichever backend holds it; every call runs next to its connection."""

    def __init__(self, backend: Backend, codec: Codec, schema: Schema, ids: Pseudonyms,
                 clock: Now = SYSTEM, path: str = "") -> None:
        self.backend = backend
        #: stamps rows (updated_at, at, created_at); the core shares its clock with the store
        self.clock: Now = clock
        #: the SQLite file (empty for another backend)
        self.path = path
        self.codec = codec
        #: every feature's tables (bot/schema.py): migrations, forget-me, pseudonyms, rotation
        self.schema = schema
        #: the SQL functions pseudonym/seal/unseal and the database's id key (bot.pseudonyms)
        self.ids = ids
        #: fn(db, who) run first when a user is forgotten, in the same transaction
        #: (e.g. the desk keeps a delivered report but cuts its link to the user)
        self.forget_hooks: list[Callable[[Any, str], None]] = []
        #: time.monotonic() when the database was found unreachable; None while it answers
        self.unreachable_since: float | None = None
        #: the one look-until-it-answers every waiting call shares (see reachable)
        self._probe: asyncio.Task[None] | None = None
        #: a turn or an ack on the caller's thread when no wait is needed (bot.store_thread.WritesNow)
        self._write_now: Callable[..., Any] | None = getattr(backend, "transaction_now", None)
        self._statement_now: Callable[[str, Sequence[Any]], Any] | None = getattr(backend, "statement_now", None)

    @classmethod
    async def open(cls, path: str | Path, codec: Codec | None = None, *, schema: Schema,
                   synchronous: str = "NORMAL", busy_timeout_s: float = 30.0, cache_kb: int = 256,
                   clock: Now = SYSTEM) -> Store:
        """Open (and migrate) the database to `schema` (the product's is bot.app.SCHEMA)."""
        codec = codec or PlainCodec()
        ids = Pseudonyms(codec, schema.pseudonymous, schema.sealed)
        if str(path).startswith(("postgresql://", "postgres://")):
            from bot.store_postgres import PostgresBackend  # its driver only when it is used

            backend: Backend = await PostgresBackend.open(str(path), ids, schema)
            return cls(backend, codec, schema, ids, clock)
        from bot.store_sqlite import SqliteBackend

        backend = await SqliteBackend.open(str(path), ids, schema, synchronous=synchronous,
                                                        busy_timeout_s=busy_timeout_s, cache_kb=cache_kb)
        return cls(backend, codec, schema, ids, clock, str(path))

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
        await self.backend.close()

    @property
    def closed(self) -> bool:
        return self.backend.closed

    @property
    def wal_pending(self) -> bool:
        """Deleted rows may still be in SQLite's write-ahead log (see truncate_wal)."""
        return self.backend.wal_pending

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn(connection, *args) on the connection's thread; while the database cannot be reached,
        wait for it and run fn again."""
        while True:
            try:
                return await self._call_once(fn, *args)
            except StoreUnavailable:
                await self.reachable()

    async def _call_once(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn(connection, *args) on the connection's thread; StoreUnavailable when the database cannot be reached."""
        try:
            result = await self.backend.call(fn, *args)
        except StoreUnavailable as exc:
            self._went_away(exc)
            raise
        if self.unreachable_since is not None:
            self._came_back()
        return result

    def _went_away(self, exc: StoreUnavailable) -> None:
        if self.unreachable_since is None:
            self.unreachable_since = time.monotonic()
            log.warning("store: database unreachable (%s); turns and background work wait until it answers",
                        exc.__cause__.__class__.__name__ if exc.__cause__ else type(exc).__name__)

    def _came_back(self) -> None:
        if self.unreachable_since is not None:
            log.warning("store: database reachable again after %.0f s; what waited goes on",
                        time.monotonic() - self.unreachable_since)
            self.unreachable_since = None

    async def reachable(self) -> None:
        """Until the database answers again; every waiting call shares one look every PROBE_EVERY_S."""
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._look_until_reachable(), name="store-probe")
        await asyncio.shield(self._probe)

    async def _look_until_reachable(self) -> None:
        while True:
            await asyncio.sleep(PROBE_EVERY_S)
            try:
                await self._call_once(_answer)
                return
            except StoreUnavailable:
                continue

    async def _write(self, fn: Callable[..., T], *args: Any, wait: bool = True) -> T:
        """Run fn inside one write transaction; retry while another process holds the lock (and while
        the database cannot be reached, unless not `wait`)."""
        call = self._call if wait else self._call_once
        delay = 0.05
        while True:
            try:
                return await call(self.backend.transaction, fn, *args)
            except Exception as exc:
                if not self.backend.busy(exc):
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _write_quick(self, fn: Callable[..., T], *args: Any) -> T:
        """A short write on the caller's thread when the backend can do it without waiting
        (bot.store_thread.WritesNow), else on the store's thread as `_write`: the same transaction."""
        if self._write_now is not None:
            result: T | NotNow = self._write_now(fn, *args)
            if result is not NOT_NOW:
                return result  # type: ignore[return-value]
        return await self._write(fn, *args)

    # ------------------------------------------------------------ turns
    async def turn(
        self,
        key: str,
        update_id: str | None,
        cursor: tuple[str, str] | None,
        compute: Callable[[str | None], TurnResult],
    ) -> TurnOutcome | None:
        """Run one conversation turn atomically; None when update_id was handled before."""
        outcome = await self._write_quick(self._turn, key, update_id, cursor, compute)
        if outcome is not None and outcome.unread:
            outcome.outbox_ids, outcome.unread = [outbox_id(row) for row in outcome.unread], []
        return outcome

    def _turn(self, db: sqlite3.Connection, key: str, update_id: str | None,
              cursor: tuple[str, str] | None,
              compute: Callable[[str | None], TurnResult]) -> TurnOutcome | None:
        now = int(self.clock().timestamp())
        self.backend.serialise(db, key)
        pseudonym = self.ids.pseudonym  # made once per turn here, not by the SQL function per statement
        conversation = pseudonym(key)
        claim = None if update_id is None else db.execute(
            "INSERT INTO handled(update_id, at) VALUES (?, ?) ON CONFLICT(update_id) DO NOTHING",
            (pseudonym(update_id), now))
        # asked before the claim's outcome is looked at: PostgreSQL gets lock, claim and read in one round trip
        found = db.execute("SELECT state FROM conversations WHERE key = ?", (conversation,))
        if claim is not None and claim.rowcount == 0:
            return None  # handled before
        row = found.fetchone()
        result = compute(self.codec.decode(row[0]) if row else None)
        who = who_of(key)
        if result.forget_who:
            self._forget(db, who)
        elif result.state is None:
            if row:
                db.execute("DELETE FROM conversations WHERE key = ?", (conversation,))
        else:
            state = self.codec.encode(result.state)
            if row and not getattr(db, "queues", False):
                # SQLite: the row read above is still there (the write lock is held since BEGIN), so an
                # UPDATE, without an insert attempt and its conflict first
                db.execute("UPDATE conversations SET state = ?, updated_at = ? WHERE key = ?",
                           (state, now, conversation))
            else:  # a new conversation; on PostgreSQL also a row another process deleted meanwhile (retention)
                db.execute(
                    "INSERT INTO conversations(key, who, state, updated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                    (conversation, pseudonym(who), state, now),
                )
        if cursor is not None:
            db.execute("INSERT INTO cursors(name, value) VALUES (?, ?) "
                       "ON CONFLICT(name) DO UPDATE SET value = excluded.value", cursor)
        payloads = result.outbox + (result.writes(db) if result.writes else [])
        rows = []
        if payloads:
            named = (conversation, pseudonym(who), self.ids.seal(key))
            rows = [queue_outbox_as(db, self.codec, named, payload, now) for payload in payloads]
        if result.stats:
            week = _week(now)
            db.executemany(
                "INSERT INTO stats(week, event, n) VALUES (?, ?, 1) "
                "ON CONFLICT(week, event) DO UPDATE SET n = stats.n + 1",
                [(week, event) for event in result.stats],
            )
        if getattr(db, "queues", False):  # PostgreSQL: the ids come back with the COMMIT (SQLite cannot commit
            return TurnOutcome([], result.value, rows)  # with a RETURNING unread)
        return TurnOutcome([outbox_id(row) for row in rows], result.value)

    # ------------------------------------------------------------ outbox
    async def ack(self, ids: Sequence[int]) -> None:
        """Delivered: drop these outbox rows, in one statement (on SQLite without a hop when it can)."""
        if not ids:
            return
        sql = f"DELETE FROM outbox WHERE id IN ({', '.join('?' * len(ids))})"  # noqa: S608 - placeholders only
        params = tuple(ids)
        if self._statement_now is not None and self._statement_now(sql, params) is not NOT_NOW:
            return

        def write(db: sqlite3.Connection) -> None:
            db.execute(sql, params)

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
            "SELECT unseal(addr) FROM outbox WHERE id IN (SELECT MIN(id) FROM outbox GROUP BY key)")})

    async def requeue(self, ids: Sequence[int], payload: str) -> None:
        """Replace what these outbox rows still have to send by `payload` (the unsent rest)."""
        first, *others = ids

        def write(db: sqlite3.Connection) -> None:
            db.execute("UPDATE outbox SET payload = ? WHERE id = ?", (self.codec.encode(payload), first))
            db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in others])

        await self._write(write)

    async def still_queued(self, outbox_id: int, key: str) -> str | None:
        """The payload of outbox row `outbox_id` if still queued for `key`. By id and conversation: SQLite gives
        a new row the highest id left plus one, so a reply delivered meanwhile may have left its id to another."""
        row = await self._call(lambda db: db.execute("SELECT payload FROM outbox WHERE id = ? AND key = pseudonym(?)",
                                                     (outbox_id, key)).fetchone())
        return self.codec.decode(row[0]) if row else None

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
        """Empty SQLite's write-ahead log, so no old page (a forgotten user's) stays in it; False when a
        reader kept it for `wait_s` (`wal_pending`). Other backends have nothing to do."""
        return await self.backend.truncate_wal(wait_s)

    async def prune_handled(self, older_than_s: int) -> int:
        cutoff = int(self.clock().timestamp()) - older_than_s
        return await self._write(lambda db: db.execute(
            "DELETE FROM handled WHERE at < ?", (cutoff,)).rowcount)

    async def execute(self, fn: Callable[..., T], *args: Any, write: bool = True, wait: bool = True) -> T:
        """Run fn(connection, *args) on the store thread (in a transaction when write). While the database
        cannot be reached it waits for it (`wait`), or raises StoreUnavailable at once."""
        if write:
            return await self._write(fn, *args, wait=wait)
        return await (self._call if wait else self._call_once)(fn, *args)


def _answer(db: sqlite3.Connection) -> None:
    db.execute("SELECT 1").fetchone()
