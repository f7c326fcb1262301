"""The inbox: webhook updates stored on arrival, then handled chat by chat, in order, by any worker.

Why: with several webhook workers behind one URL (a load balancer in front, one PostgreSQL
behind), any worker may receive any update, and Telegram does not promise in its documentation
that it never posts two updates of one chat at once (it keeps up to `max_connections`, default
40, requests open; grammY's documentation says it waits for the answer to one update of a chat
before it posts that chat's next, but nothing of ours rests on that alone), and it posts an
update again when it got no answer within 60 s (tdlib/telegram-bot-api#211), possibly while
the first post is still being handled. So:

- A POST is first stored here, in one statement: one row per update (`update_id`
  unique, so a second post of it is a no-op; an update already handled is not stored again),
  the conversation's pseudonym, its address sealed and the update itself encrypted with the
  store's codec like every other personal field. Once stored it cannot be lost: the worker
  may die, another one handles it.
- A chat's rows are handled by one worker at a time (`drain`), under a session advisory lock
  on the conversation (PostgreSQL; on SQLite there is one process): the smallest update
  number first, each as an ordinary turn of the core, whose transaction holds the handled
  mark. A row is deleted after its turn; a worker killed in between leaves a row whose turn
  is found handled next time and only deleted then. Two updates of one chat that are both
  stored before that chat's next turn starts are therefore handled in Telegram's order,
  whichever workers received them. What no receiver can do is order an update it has not
  received yet: an earlier update stored only after a later one of the same chat was already
  being handled (both posted at the same instant to two workers) is handled after it, once.
- The same lock is held (through `SessionLocks`, the cross-process half of the core's
  conversation locks) by every delivery to that conversation: a turn's replies, the
  redelivery of the outbox, timers and desk replies. So replies of one chat never overtake
  each other across workers, and the outbox row of a turn that another worker is still
  delivering is never sent a second time by a redelivery round. A killed worker's session
  ends, so its locks go with it (PostgreSQL notices the closed connection; a vanished host
  within about 25 s, by the TCP keepalive `keep_alive` sets).
- The POST is answered 200 once its update was handled (by this worker or another), or after
  `HANDLED_WAIT_S` when it is merely stored: Telegram then keeps its own pace per chat and
  the 200 never waits on a slow turn long enough to make Telegram post it again.
- A sweeper on every worker (`sweep_forever`) drains chats whose rows have waited longer
  than `STALE_S`: those a killed worker left, those whose turn failed (tried again, at most
  `attempts` times, then skipped loudly as the poller does).

Simpler design considered: no inbox, 200 after the turn, the turn's advisory lock as today.
It handles each update once, but two posts of one chat racing for the lock are handled in
whichever order they win it, and after a worker died its chat's next turn on another worker
could be delivered before the dead worker's owed replies. The inbox plus the session lock
close both.

Never log a payload, an address or an update's content: numbers and counts only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from bot.logs import failure
from bot.schema import EncryptedColumn, Tables, run_script
from bot.store_tables import Codec, who_of

if TYPE_CHECKING:
    from bot.store import Store

log = logging.getLogger(__name__)

JSON = dict[str, Any]

#: Advisory lock namespace of a conversation's drain and deliveries (two-int form; see bot/store_postgres.py).
DRAIN = 0x57570003
#: Seconds a stored row waits before any worker's sweeper takes it (its receiver normally does first).
STALE_S = 2
#: Seconds between two sweeps.
SWEEP_S = 1.0
#: Seconds a POST waits for its update to be handled before it is answered 200 anyway (stored is safe).
HANDLED_WAIT_S = 30.0
#: Failed turns of one update before it is skipped (as the poller's handle_attempts).
ATTEMPTS = 5

TABLES = Tables(
    "inbox",
    user_columns=[("inbox", "who")],
    pseudonymous=[("inbox", "update_id"), ("inbox", "key"), ("inbox", "who")],
    sealed=[("inbox", "addr")],
    encrypted=[EncryptedColumn("inbox", "payload", "id"), EncryptedColumn("inbox", "addr", "id")],
)


@TABLES.migration(6, "the webhook inbox: updates stored on arrival until a worker handled them")
def _m6_inbox(db: sqlite3.Connection) -> None:
    run_script(db,
        """
        CREATE TABLE inbox (
            id INTEGER PRIMARY KEY,
            update_id TEXT NOT NULL UNIQUE,
            key TEXT NOT NULL,
            who TEXT NOT NULL,
            addr BLOB NOT NULL,
            payload BLOB NOT NULL,
            arrived_at INTEGER NOT NULL
        );
        CREATE INDEX inbox_key ON inbox(key);
        CREATE INDEX inbox_who ON inbox(who);
        CREATE INDEX inbox_arrived ON inbox(arrived_at)
        """
    )


# ---------------------------------------------------------------- the rows (run on the store's thread)


#: stored unless handled or stored already, in one statement (atomic without a transaction around it)
_PUT = ("INSERT OR IGNORE INTO inbox(update_id, key, who, addr, payload, arrived_at) "
        "SELECT pseudonym(?), pseudonym(?), pseudonym(?), seal(?), ?, ? "
        "WHERE NOT EXISTS (SELECT 1 FROM handled WHERE update_id = pseudonym(?))")


def put(db: sqlite3.Connection, codec: Codec, update_id: str, key: str, number: int, update: JSON,
        now: int) -> bool:
    """Store an update unless it was handled before; False: handled, nothing to do (only when it stored
    nothing is `handled` asked which of the two it was)."""
    return bool(_put(db, codec, update_id, key, number, update, now).rowcount) or _unhandled(db, update_id)


def _put(db: sqlite3.Connection, codec: Codec, update_id: str, key: str, number: int, update: JSON,
         now: int) -> sqlite3.Cursor:
    payload = codec.encode(json.dumps({"n": number, "i": update_id, "u": update}, separators=(",", ":")))
    return db.execute(_PUT, (update_id, key, who_of(key), key, payload, now, update_id))


def _unhandled(db: sqlite3.Connection, update_id: str) -> bool:
    return db.execute("SELECT 1 FROM handled WHERE update_id = pseudonym(?)", (update_id,)).fetchone() is None


def pending(db: sqlite3.Connection, codec: Codec, key: str) -> list[tuple[int, str, JSON]]:
    """A chat's stored updates as (number, update id, update) in the platform's order: the number (Telegram's
    update_id, which grows with every update) is inside the encrypted payload, as the update id is."""
    return _in_order(codec, db.execute("SELECT payload FROM inbox WHERE key = pseudonym(?)", (key,)))


def _in_order(codec: Codec, rows: Iterable[tuple[Any, ...]]) -> list[tuple[int, str, JSON]]:
    items = [json.loads(codec.decode(payload)) for (payload,) in rows]
    return sorted(((int(item["n"]), str(item["i"]), item["u"]) for item in items), key=lambda row: row[0])


def remove(db: sqlite3.Connection, update_id: str) -> None:
    db.execute("DELETE FROM inbox WHERE update_id = pseudonym(?)", (update_id,))


def remove_and_read(db: sqlite3.Connection, codec: Codec, update_id: str, key: str,
                    lazy: bool) -> list[tuple[int, str, JSON]]:
    """A handled update's row goes, and the chat's rows that are left are read: on PostgreSQL one round trip.

    `lazy` (PostgreSQL): the delete's commit does not wait for the disk. Lost in a crash of the server,
    the row is found again and its turn found handled (the turn's own commit, before it, is durable)."""
    if lazy:
        db.execute("SELECT set_config('synchronous_commit', 'off', true)")
    remove(db, update_id)
    return pending(db, codec, key)


def stored(db: sqlite3.Connection, update_id: str) -> bool:
    return db.execute("SELECT 1 FROM inbox WHERE update_id = pseudonym(?)", (update_id,)).fetchone() is not None


def has_rows(db: sqlite3.Connection, key: str) -> bool:
    return db.execute("SELECT 1 FROM inbox WHERE key = pseudonym(?) LIMIT 1", (key,)).fetchone() is not None


def waiting(db: sqlite3.Connection, cutoff: int) -> set[str]:
    """Conversations with a row that arrived at or before `cutoff` (one address opened per conversation)."""
    return {k for (k,) in db.execute(
        "SELECT unseal(addr) FROM inbox WHERE id IN "
        "(SELECT MIN(id) FROM inbox WHERE arrived_at <= ? GROUP BY key)", (cutoff,))}


def expire(db: sqlite3.Connection, older_than: int) -> int:
    """Retention: rows nobody could handle in the whole period (normally the inbox is empty within seconds)."""
    return int(db.execute("DELETE FROM inbox WHERE arrived_at < ?", (older_than,)).rowcount)


def keep_alive(db: sqlite3.Connection) -> None:
    """PostgreSQL only: a worker whose host vanishes (no connection closed) would hold its chats' locks
    until the server notices, by default after about two hours of TCP keepalive; this makes it ~25 s."""
    for setting, value in (("tcp_keepalives_idle", 10), ("tcp_keepalives_interval", 5), ("tcp_keepalives_count", 3)):
        db.execute(f"SET {setting} = {value}")


def try_lock(db: sqlite3.Connection, key: str) -> bool:
    """PostgreSQL only: this session takes the conversation's drain lock, if no other session holds it.
    Re-entrant within the session; every take needs its `unlock`. The session's takes are counted on
    its connection (`held`, gone with it when it is lost, as the locks are): only the first asks the server."""
    held = _held(db)
    if held.get(key):
        held[key] += 1
        return True
    [(taken,)] = db.execute(f"SELECT pg_try_advisory_lock({DRAIN}, hashtext(pseudonym(?)))", (key,)).fetchall()
    if taken:
        held[key] = 1
    return bool(taken)


def unlock(db: sqlite3.Connection, key: str) -> None:
    held = _held(db)
    count = held.pop(key, 0) - 1
    if count > 0:
        held[key] = count
        return
    # queued: sent with the next statement of this call, or at its end (bot/store_postgres_sql.py)
    db.execute(f"SELECT pg_advisory_unlock({DRAIN}, hashtext(pseudonym(?)))", (key,))


def _held(db: sqlite3.Connection) -> dict[str, int]:
    held: dict[str, int] = db.held  # type: ignore[attr-defined]  # PgConnection's
    return held


def lock_and_read(db: sqlite3.Connection, codec: Codec, key: str) -> list[tuple[int, str, JSON]] | None:
    """PostgreSQL only: the drain lock and, when taken, the chat's stored updates; None: another session holds it.

    The rows are asked in the same round trip as the lock, after it (the server runs them in order);
    when the lock was not taken they are dropped unread."""
    held = _held(db)
    if held.get(key):
        held[key] += 1
        return pending(db, codec, key)
    taken = db.execute(f"SELECT pg_try_advisory_lock({DRAIN}, hashtext(pseudonym(?)))", (key,))
    rows = db.execute("SELECT payload FROM inbox WHERE key = pseudonym(?)", (key,))
    [(ok,)] = taken.fetchall()
    if not ok:
        return None
    held[key] = 1
    return _in_order(codec, rows)


def put_and_lock(db: sqlite3.Connection, codec: Codec, update_id: str, key: str, number: int, update: JSON,
                 now: int) -> tuple[bool, list[tuple[int, str, JSON]] | None]:
    """PostgreSQL only: `put`, then `lock_and_read`, in one round trip: (stored or waiting, the chat's rows or
    None when another session holds its lock). Handled before: the lock, when taken, is still held."""
    added = _put(db, codec, update_id, key, number, update, now)
    rows = lock_and_read(db, codec, key)
    return bool(added.rowcount) or _unhandled(db, update_id), rows


def unlock_and_look(db: sqlite3.Connection, key: str) -> bool:
    """PostgreSQL only: let go of the drain lock, then whether the chat has stored rows (one round trip)."""
    unlock(db, key)
    return has_rows(db, key)


# ---------------------------------------------------------------- locks across processes


class SessionLocks:
    """The cross-process half of the core's conversation locks (bot/core/locks.py) on a shared database.

    Taken after the process's own lock, and by a drain around its turns: PostgreSQL counts a
    session's takes, so the drain's turns take it again at once, and the process's own lock keeps
    its tasks apart. It waits by asking again, never blocking the store's one connection, which
    every turn of the process shares.
    """

    #: Seconds between two asks while another process holds the lock (doubling up to the second value).
    FIRST_WAIT_S, LONGEST_WAIT_S = 0.005, 0.1

    def __init__(self, store: Store) -> None:
        self.store = store

    async def acquire(self, key: str) -> None:
        wait = self.FIRST_WAIT_S
        while True:
            try:
                if await self.store.execute(try_lock, key, write=False):
                    return
            except asyncio.CancelledError:
                # the ask may still run on the store's thread and take the lock: give it back
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.store.execute(unlock, key, write=False))
                raise
            await asyncio.sleep(wait)
            wait = min(wait * 2, self.LONGEST_WAIT_S)

    async def release(self, key: str) -> None:
        await asyncio.shield(self.store.execute(unlock, key, write=False))


# ---------------------------------------------------------------- the inbox of one worker


class Inbox:
    """Store each update on arrival, then have it handled in its chat's order by whichever worker drains it.

    `handle(update)` runs one stored update as a turn (raising when it failed); `give_up(update)` is
    told once an update failed `attempts` times and is skipped.
    """

    def __init__(self, store: Store, handle: Callable[[JSON], Awaitable[None]],
                 give_up: Callable[[JSON], Awaitable[None]], *, attempts: int = ATTEMPTS,
                 handled_wait: float = HANDLED_WAIT_S) -> None:
        self.store = store
        self.handle = handle
        self.give_up = give_up
        self.attempts = attempts
        self.handled_wait = handled_wait
        #: conversations this process drains right now (one task each)
        self._draining: set[str] = set()
        #: failed turns per update id (this process's count; another worker counts its own)
        self._failures: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def shared(self) -> bool:
        return self.store.backend.shared

    async def receive(self, update_id: str, key: str, number: int, update: JSON) -> None:
        """Store the update, then drain its chat or wait (at most `handled_wait`) for the worker that does.

        Raises when it could not be stored (the caller must not answer 2xx), or when the drain failed
        (answered 5xx, Telegram posts it again and finds it stored or handled).
        """
        now = int(self.store.clock().timestamp())
        store, codec = self.store, self.store.codec
        if self.shared and key not in self._draining:  # stored, locked and read in one round trip
            self._draining.add(key)
            try:
                new, rows = await store.execute(put_and_lock, codec, update_id, key, number, update, now, write=False)
                if not new:
                    if rows is not None:
                        await asyncio.shield(store.execute(unlock, key, write=False))
                    return  # handled before: a post Telegram sent again
                if rows is not None and await self._drain(key, rows):
                    return  # drained here: the update was handled (or failed, and waits for a sweep)
            finally:
                self._draining.discard(key)
        else:
            if not await store.execute(put, codec, update_id, key, number, update, now, write=False):
                return  # handled before: a post Telegram sent again
            if await self.drain(key):
                return  # this process drained the chat: the update was handled (or failed, and waits for a sweep)
        deadline = asyncio.get_running_loop().time() + self.handled_wait
        wait = 0.01
        while asyncio.get_running_loop().time() < deadline:
            if not await store.execute(stored, update_id, write=False):
                return
            await asyncio.sleep(wait)
            wait = min(wait * 2, 0.2)

    async def drain(self, key: str) -> bool:
        """Handle the chat's stored updates in order; False when another task or worker is doing it.

        After letting go of the lock it looks once more: an update stored while it held the lock,
        whose receiver found the lock taken, is then seen here (or by the next holder).
        """
        if key in self._draining:
            return False
        self._draining.add(key)
        try:
            return await self._drain(key, None)
        finally:
            self._draining.discard(key)

    async def _drain(self, key: str, rows: list[tuple[int, str, JSON]] | None) -> bool:
        """`drain` with the chat marked as drained here; `rows`: read already, under the lock just taken."""
        store, codec = self.store, self.store.codec
        while True:
            if rows is None:
                if not self.shared:
                    rows = await store.execute(pending, codec, key, write=False)
                elif (rows := await store.execute(lock_and_read, codec, key, write=False)) is None:
                    return False
            more = False
            try:
                done = await self._handle_all(key, rows)
            finally:
                if self.shared:  # let go, then look: one round trip
                    more = await asyncio.shield(store.execute(unlock_and_look, key, write=False))
            if not done or not (more if self.shared else await store.execute(has_rows, key, write=False)):
                return True
            rows = None

    async def _handle_all(self, key: str, rows: list[tuple[int, str, JSON]]) -> bool:
        """Every stored update of the chat, smallest number first; False when one failed (left for a sweep)."""
        while rows:
            number, update_id, update = rows[0]
            durable = False
            try:
                await self.handle(update)
            except Exception as exc:
                self._failures[update_id] += 1
                tries = self._failures[update_id]
                log.warning("inbox: handling update %s failed (attempt %d of %d): %s",
                            number, tries, self.attempts, failure(exc))
                if tries < self.attempts:
                    return False
                log.error("inbox: update %s skipped after %d failed attempts; the bot goes on with the next",
                          number, tries)
                with contextlib.suppress(Exception):
                    await self.give_up(update)
                durable = True  # no turn holds its handled mark: a lost delete would try it again
            self._failures.pop(update_id, None)
            rows = await self.store.execute(remove_and_read, self.store.codec, update_id, key,
                                            self.shared and not durable, write=False)
        return True

    async def sweep_forever(self, every: float = SWEEP_S) -> None:
        """Drain the chats whose updates waited longer than STALE_S: left by a killed worker, or failed."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.sweep()
            except Exception as exc:
                log.warning("inbox: sweep failed (%s)", type(exc).__name__)

    async def sweep(self) -> int:
        """One round; how many chats it started draining."""
        cutoff = int(self.store.clock().timestamp()) - STALE_S
        keys = await self.store.execute(waiting, cutoff, write=False)
        started = 0
        for key in keys - self._draining:
            task = asyncio.create_task(self._drain_logged(key), name="inbox-drain")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        return started

    async def _drain_logged(self, key: str) -> None:
        """A sweep's drain: what goes wrong is logged by its kind (the next sweep tries again)."""
        try:
            await self.drain(key)
        except Exception as exc:
            log.warning("inbox: a sweep's drain failed: %s", failure(exc))

    async def close(self, timeout: float = 10.0) -> None:
        """Let the drains in hand finish (up to `timeout`), then stop them; what is left stays stored."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
