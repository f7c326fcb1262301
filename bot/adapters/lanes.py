"""Updates from one chat in order, updates from different chats side by side.

Why: a turn is finished only when the platform took its replies, and the send
limits (about one message a second per private chat, waits after a 429) can
make that seconds. Handling one update at a time would make every user wait
for the slowest chat. One chat's updates stay strictly in order, because a
conversation is a sequence.

Telegram forgets an update only when a later getUpdates asks for a higher
offset, so the offset we confirm, and store with each turn, must never pass an
update still in hand: it is the lowest update id in flight (`safe_offset`,
`cursor_for`). A turn that stores a lower cursor than a turn before it only
means a few handled updates are fetched again after a restart; the core's
handled-updates table ignores them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, Protocol, TypeVar


class HasUpdateId(Protocol):
    @property
    def update_id(self) -> int: ...


U = TypeVar("U", bound=HasUpdateId)

log = logging.getLogger(__name__)


class Lanes(Generic[U]):
    """One FIFO lane per chat; each lane runs `handle` on its updates one by one."""

    def __init__(self, handle: Callable[[U], Awaitable[bool]], lane_of: Callable[[U], Hashable]) -> None:
        #: handles one update; False means "stop here" (the bot is stopping)
        self._handle = handle
        self._lane_of = lane_of
        self._in_flight: set[int] = set()
        self._queues: dict[Hashable, deque[U]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: the highest update id ever taken in (Telegram sends them in ascending order)
        self.highest = -1
        #: set whenever an update is done, so a poller waiting for room can look again
        self.progress = asyncio.Event()
        self.stopping = False

    @property
    def busy(self) -> bool:
        return bool(self._in_flight)

    def safe_offset(self, fallback: int | None) -> int | None:
        """The getUpdates offset that confirms only updates that are done."""
        if self._in_flight:
            return min(self._in_flight)
        if self.highest >= 0:
            return self.highest + 1
        return fallback

    def cursor_for(self, update_id: int) -> int:
        """The offset to store with this update's turn: past it, never past another in hand.

        Every id below the lowest other one in hand is done (or is this one, done
        when its turn commits), so that lowest one is safe even when it lies far ahead.
        """
        return min((i for i in self._in_flight if i != update_id), default=update_id + 1)

    def skip(self, update_id: int) -> None:
        """Count an update as seen and done without handling it (it could not be read)."""
        self.highest = max(self.highest, update_id)
        self.progress.set()

    def add(self, updates: Sequence[U]) -> int:
        """Queue the updates not seen before, each behind its chat's earlier ones; how many were new."""
        new = 0
        for update in updates:
            if update.update_id <= self.highest:
                continue  # still in hand: Telegram returns it until the offset passes it
            self.highest = update.update_id
            self._in_flight.add(update.update_id)
            key = self._lane_of(update)
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = deque()
                task = asyncio.create_task(self._run(key, queue), name="telegram-lane")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            queue.append(update)
            new += 1
        return new

    async def _run(self, key: Hashable, queue: deque[U]) -> None:
        try:
            while queue and not self.stopping:
                update = queue[0]
                try:
                    if not await self._handle(update):
                        return
                except Exception as exc:  # `handle` gave up in a way it did not plan for (disk full ...)
                    # An update left "in hand" would hold the offset, and every update after
                    # it, for good; its chat's next ones would wait forever. Only the type
                    # is logged: the message may quote what the user typed.
                    log.error("update %s dropped after an unexpected %s", update.update_id, type(exc).__name__)
                queue.popleft()
                self._in_flight.discard(update.update_id)
                self.progress.set()
        finally:
            # no await since the loop saw an empty queue: no update can have joined it
            if self._queues.get(key) is queue:
                del self._queues[key]

    async def wait_for_progress(self, timeout: float) -> None:
        """Until some update is done (or `timeout`): Telegram keeps returning the ones in hand."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.progress.wait(), timeout)
        self.progress.clear()

    async def close(self, timeout: float) -> None:
        """Let every lane finish the update it holds, take no next one."""
        self.stopping = True
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in late:  # stuck past the timeout: the update stays with Telegram
                task.cancel()
            if late:
                await asyncio.wait(late)
