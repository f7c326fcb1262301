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

That same rule lets one chat hold up all others: getUpdates returns at most 100
updates from the offset, so updates waiting in one lane keep every newer update
out of reach until they are done. Hence the admission on arrival (`admit`): an
update refused there (one user over the flood limit, or too many of a chat's
updates waiting) never enters a lane, so the offset moves past it at once; a
refusal may also drop what that chat still had waiting (`flush`; never the
update in hand). The first refusal in a while is kept as a notice (`notify`), so
the person is told. Refused updates are dropped on purpose, never half-handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar


class HasUpdateId(Protocol):
    @property
    def update_id(self) -> int: ...


U = TypeVar("U", bound=HasUpdateId)

log = logging.getLogger(__name__)

#: Updates of one chat that may wait behind the one being handled. A person rarely sends more
#: while the bot answers; every waiting update holds Telegram's offset (see the module doc).
WAITING_PER_CHAT = 5


@dataclass(frozen=True, slots=True)
class Admission:
    """What becomes of an update on arrival."""

    take: bool = True
    #: refused, and this update becomes the notice that tells the person (it keeps its place in line)
    tell: bool = False
    #: refused, and its chat's updates waiting behind the one in hand are dropped too (the person floods)
    flush: bool = False


TAKE = Admission()


class Lanes(Generic[U]):
    """One FIFO lane per chat; each lane runs `handle` on its updates one by one."""

    def __init__(self, handle: Callable[[U], Awaitable[bool]], lane_of: Callable[[U], Hashable],
                 admit: Callable[[U, int], Admission] | None = None,
                 notify: Callable[[U], Awaitable[None]] | None = None) -> None:
        #: handles one update; False means "stop here" (the bot is stopping)
        self._handle = handle
        self._lane_of = lane_of
        #: (update, how many of its chat's updates wait behind the one in hand) -> take it or not
        self._admit = admit
        #: tells the person of a refused update (it keeps its place in its chat's lane)
        self._notify = notify
        self._in_flight: set[int] = set()
        #: per chat: (update, is a notice), the first one in hand
        self._queues: dict[Hashable, deque[tuple[U, bool]]] = {}
        #: updates refused on arrival or dropped from a lane by a refusal
        self.refused = 0
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
        """Take in the updates not seen before, each behind its chat's earlier ones; how many were new.

        New ones refused on arrival count as new too: Telegram returns them until the offset passes them.
        """
        new = 0
        for update in updates:
            if update.update_id <= self.highest:
                continue  # still in hand: Telegram returns it until the offset passes it
            self.highest = update.update_id
            new += 1
            key = self._lane_of(update)
            queue = self._queues.get(key)
            verdict = self._admit(update, len(queue) - 1 if queue else 0) if self._admit else TAKE
            notice = verdict.tell and self._notify is not None
            if not verdict.take:
                self.refused += 1
                if queue and verdict.flush:
                    self._drop_waiting(queue)
                if not notice:
                    self.progress.set()
                    continue
            self._in_flight.add(update.update_id)
            if queue is None:
                queue = self._queues[key] = deque()
                task = asyncio.create_task(self._run(key, queue), name="telegram-lane")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            queue.append((update, notice))
        return new

    def _drop_waiting(self, queue: deque[tuple[U, bool]]) -> None:
        """Drop a chat's updates waiting behind the one in hand; notices stay (no await: the lane sees it whole)."""
        head, *waiting = queue
        queue.clear()
        queue.append(head)
        for update, notice in waiting:
            if notice:
                queue.append((update, notice))
            else:
                self._in_flight.discard(update.update_id)
                self.refused += 1
        self.progress.set()

    async def _run(self, key: Hashable, queue: deque[tuple[U, bool]]) -> None:
        try:
            while queue and not self.stopping:
                update, notice = queue[0]
                try:
                    if notice and self._notify is not None:
                        await self._notify(update)
                    elif not await self._handle(update):
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
        with contextlib.suppress(TimeoutError):  # asyncio.timeout: see bot/periodic.py on wait_for
            async with asyncio.timeout(timeout):
                await self.progress.wait()
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
