"""Leases: with several bot processes on one PostgreSQL, exactly one polls Telegram, syncs Matrix
and runs the background loops (timers, desk delivery, retention, redelivery); another takes over
when it dies.

Why a lease row and not a lock held by a connection: a lease expires by time, so a process that
hangs, loses its network or is killed lets go as surely as one that stops, and the row says who
holds what. Each name is a row (name, holder, expires_at) in the table `leases`
(bot/store_postgres.py makes it). Taking and renewing is one statement: the row is written only
where it has expired or this process already holds it. Every name is asked for in one
transaction, always in the same order, so two processes starting together do not end up with
half each: the second waits on the first's row lock and then finds every name taken.

- Renewed every `RENEW_S`; a lease runs `TTL_S` after its last renewal, and a standby looks every
  `STANDBY_S`: it takes over at most TTL_S + STANDBY_S after the holder's last renewal. The holder counts itself
  as holding only until `TTL_S - RENEW_S` after its last successful renewal, so when the
  database cannot be reached it stops polling before another process can take over.
- Expiry is read from the product clock (bot/clock.py): the processes' clocks must agree to
  within a few seconds (NTP), as for any lease.
- A process that stops cleanly gives its leases back, so the other takes over at its next round.
- On SQLite (one file, one process) every lease is always held and nothing is written:
  the bot behaves as before.

Never log a holder's id with anything about a user (it names a host and a process only).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from bot.store_thread import StoreUnavailable

if TYPE_CHECKING:
    from bot.store import Store

log = logging.getLogger(__name__)

#: Seconds between two renewals.
RENEW_S = 5.0
#: Seconds between two tries while another process holds a lease (a standby's look costs one UPDATE).
STANDBY_S = 1.0
#: Seconds a lease runs after its last renewal; another process takes over after that.
TTL_S = 15
#: The lease of the background loops (timers, desk delivery, retention, redelivery).
BACKGROUND = "background"
#: How long work stopped for a lost lease may take to finish what it has in hand.
STOP_WAIT_S = 10.0
#: What readiness says on SQLite.
NOT_CLUSTERED = "not clustered"


def take(db: sqlite3.Connection, names: Iterable[str], holder: str, now: int, until: int) -> list[str]:
    """Inside a transaction: take or renew each name where it expired or is ours; the names now ours."""
    held = []
    for name in names:
        if db.execute("INSERT INTO leases(name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE "
                      "SET holder = excluded.holder, expires_at = excluded.expires_at "
                      "WHERE leases.expires_at <= ? OR leases.holder = ?",
                      (name, holder, until, now, holder)).rowcount:
            held.append(name)
    return held


def give_back(db: sqlite3.Connection, holder: str) -> None:
    db.execute("DELETE FROM leases WHERE holder = ?", (holder,))


def platforms(services: Iterable[object]) -> list[str]:
    """The platforms of the services (adapters) about to start: each polls or syncs under its own lease."""
    return [p for p in (getattr(s, "platform", None) for s in services) if isinstance(p, str)]


class Leases:
    """The leases of one process: which it holds, and work that runs only while it holds one."""

    def __init__(self, store: Store, holder: str | None = None) -> None:
        self.store = store
        #: one id per process: the host, the process and a random part (a restarted process is another)
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        #: the names this process runs work for (asked for every round)
        self.names: list[str] = []
        #: name -> until when (product clock, epoch seconds) this process counts itself the holder
        self._until: dict[str, float] = {}
        #: the names held at the end of the last round (what the work running now was started for)
        self._held: set[str] = set()
        self._changed = asyncio.Event()
        self._renewing: asyncio.Task[None] | None = None

    @property
    def clustered(self) -> bool:
        return self.store.backend.shared

    def holds(self, name: str) -> bool:
        return not self.clustered or self.store.clock().timestamp() < self._until.get(name, 0.0)

    def state(self) -> str:
        """For readiness: "held" (every name), "standby" (none) or "not clustered"."""
        if not self.clustered:
            return NOT_CLUSTERED
        held = [n for n in self.names if self.holds(n)]
        if not held:
            return "standby"
        return "held" if len(held) == len(self.names) else f"held: {', '.join(held)}"

    def want(self, name: str) -> None:
        if name not in self.names:
            self.names.append(name)
            self.names.sort()  # every process asks in the same order (see the module's docstring)

    async def renew(self) -> list[str]:
        """One round: take or renew every name wanted; return the names held now."""
        if not self.clustered or not self.names:
            return list(self.names)
        before = self._held
        moment = self.store.clock().timestamp()
        now = int(moment)
        try:
            taken = await self.store.execute(take, list(self.names), self.holder, now, now + TTL_S, wait=False)
        except StoreUnavailable:  # the database is away (the store says so, once): what we hold runs out
            pass
        except Exception as exc:  # what we hold runs out (see the docstring)
            log.warning("lease: could not renew (%s)", type(exc).__name__)
        else:
            for name in self.names:
                self._until[name] = moment + TTL_S - RENEW_S if name in taken else 0.0
        after = self._held = {n for n in self.names if self.holds(n)}
        for name in sorted(after - before):
            log.info("lease: this process now holds %r", name)
        # with the database away the store has warned already: that is why
        lost_level = logging.INFO if self.store.unreachable_since is not None else logging.WARNING
        for name in sorted(before - after):
            log.log(lost_level, "lease: this process lost %r", name)
        if after != before:
            self._changed.set()
            self._changed = asyncio.Event()
        return sorted(after)

    async def start(self, *names: str) -> None:
        """Ask for `names` now and keep renewing (a cluster only)."""
        for name in names:
            self.want(name)
        if self.clustered and self._renewing is None:
            await self.renew()
            self._renewing = asyncio.create_task(self._keep_renewing(), name="leases")

    async def _keep_renewing(self) -> None:
        """Every RENEW_S while holding everything; every STANDBY_S while waiting, so a lease that
        ran out is taken within a second (renew never raises: a failed round is logged)."""
        while True:
            await asyncio.sleep(RENEW_S if self._held == set(self.names) else STANDBY_S)
            await self.renew()

    async def stop(self) -> None:
        """Stop renewing and give every lease back, so another process takes over at once."""
        if self._renewing is None:
            return
        self._renewing.cancel()
        await asyncio.gather(self._renewing, return_exceptions=True)
        self._renewing = None
        self._until.clear()
        self._held = set()
        with contextlib.suppress(Exception):  # the database is away: the leases run out instead
            await self.store.execute(give_back, self.holder, wait=False)

    async def run_while_held(self, name: str, work: Callable[[], Awaitable[None]],
                             stop: Callable[[], None] | None = None) -> None:
        """Run `work` while this process holds `name`: started when it takes the lease, stopped when it
        loses it (`stop` asks it to finish what it has in hand; without `stop` it is cancelled), started
        again when the lease comes back. Returns when `work` ends by itself. Not clustered: just `work`."""
        if not self.clustered:
            await work()
            return
        if name not in self.names:  # not asked for at start: ask now rather than at the next round
            self.want(name)
            await self.renew()
        while True:
            await self._until_state(lambda: self.holds(name))
            task = asyncio.ensure_future(work())
            try:
                await self._until_state(lambda: not self.holds(name), task)
            except asyncio.CancelledError:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise
            if task.done():
                task.result()  # raises what ended it
                return
            log.info("lease %r lost: its work stops until the lease comes back", name)  # renew() warned
            if stop is not None:
                stop()
                await asyncio.wait({task}, timeout=STOP_WAIT_S)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _until_state(self, reached: Callable[[], bool], task: asyncio.Future[None] | None = None) -> None:
        while not reached() and not (task is not None and task.done()):
            waits: set[asyncio.Future[object]] = {asyncio.ensure_future(self._changed.wait())}
            if task is not None:
                waits.add(task)  # type: ignore[arg-type]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waits:
                    if waiter is not task:
                        waiter.cancel()
