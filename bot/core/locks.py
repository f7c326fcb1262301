"""One lock per conversation, so its updates run one at a time and in order.

Why a registry that forgets: a lock is needed only while someone holds or waits for
it; keeping one per user ever seen would grow with every user. Shared by the turns
and by delivery outside turns (desk replies, timers, redelivery), so a reply sent
from aside never lands in the middle of a turn of the same conversation.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Protocol


class SharedLocks(Protocol):
    """The same lock across processes (webhook workers on one PostgreSQL: bot/inbox.py's SessionLocks)."""

    async def acquire(self, key: str) -> None: ...

    async def release(self, key: str) -> None: ...


class ConversationLocks:
    """`async with locks(key)`: serialise one conversation; idle conversations hold no lock."""

    __slots__ = ("_locks", "_users", "shared")

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: defaultdict[str, int] = defaultdict(int)
        #: taken after the process's own lock when other processes deliver to the same chats (None: one process)
        self.shared: SharedLocks | None = None

    def __call__(self, key: str) -> _ConversationLock:
        return _ConversationLock(self, key)


class _ConversationLock:
    """A plain object rather than a generator-based context manager, because every update
    takes one (that cost about four times as much)."""

    __slots__ = ("key", "lock", "locks")

    def __init__(self, locks: ConversationLocks, key: str) -> None:
        self.locks = locks
        self.key = key
        self.lock: asyncio.Lock | None = None

    async def __aenter__(self) -> None:
        locks = self.locks._locks
        lock = locks.get(self.key)
        if lock is None:
            lock = locks[self.key] = asyncio.Lock()
        self.locks._users[self.key] += 1
        try:
            await lock.acquire()
        except BaseException:  # cancelled while waiting: not held, not a user any more
            self._leave()
            raise
        shared = self.locks.shared
        if shared is not None:
            try:
                await shared.acquire(self.key)
            except BaseException:
                lock.release()
                self._leave()
                raise
        self.lock = lock

    async def __aexit__(self, *exc: object) -> None:
        assert self.lock is not None
        shared = self.locks.shared
        try:
            if shared is not None:
                await shared.release(self.key)
        finally:
            self.lock.release()
            self._leave()

    def _leave(self) -> None:
        users = self.locks._users
        users[self.key] -= 1
        if users[self.key] == 0:
            del users[self.key]
            del self.locks._locks[self.key]
