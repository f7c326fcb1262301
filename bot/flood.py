"""Per-user flood limit: a user may send `per_minute` messages a minute, in bursts up to that.

A leaky bucket in its GCRA form (the same bucket aiolimiter's AsyncLimiter keeps), one
float per user: the moment their bucket will be empty again. A message is let through
when the bucket has room; otherwise it is refused, and the first refusal in a window
asks the core to tell the user politely. Refused messages are never queued: waiting
for capacity (what AsyncLimiter.acquire does) would hold the adapter's update loop and
so delay everybody else, and a queue of 200 messages would be answered for minutes.
Telegram's polling checks each update as it arrives (bot/adapters/lanes.py), so refused
updates never wait in line; the core checks what other platforms hand it.

Why not one AsyncLimiter per user: it costs about 600 bytes per recently active user
(measured with tracemalloc), this about 100, and the benchmark counts every byte per
conversation. Users idle for a whole window have an empty bucket and are forgotten, so
memory follows the users active in the last minute, not all users ever seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum


class Verdict(Enum):
    PASS = "pass"
    #: over the limit, and the user has not been told in this window: tell them
    NOTICE = "notice"
    #: over the limit, already told: drop quietly
    DROP = "drop"


class FloodLimiter:
    def __init__(self, per_minute: int, *, window_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self.interval = window_s / per_minute if per_minute > 0 else 0.0
        self.clock = clock
        #: user -> the moment their bucket is empty again (only while it is not)
        self._busy_until: dict[int, float] = {}
        #: user -> until when the last notice covers them (flooding users only)
        self._told_until: dict[int, float] = {}
        self._next_sweep = 0.0

    def check(self, who: str) -> Verdict:
        """Count one message from `who` and say what to do with it."""
        if self.per_minute <= 0:
            return Verdict.PASS
        now = self.clock()
        if now >= self._next_sweep:
            self._sweep(now)
        user = hash(who)
        busy_until = self._busy_until.get(user, now)
        if busy_until < now:
            busy_until = now
        if busy_until + self.interval - now <= self.window_s + 1e-9:
            self._busy_until[user] = busy_until + self.interval
            return Verdict.PASS
        return self._refusal(user, now)

    def refuse(self, who: str) -> Verdict:
        """Refuse one message from `who` for a reason of the adapter's (their chat has too many
        waiting): not counted in the bucket, told like an over-the-limit message, once a window."""
        if self.per_minute <= 0:
            return Verdict.DROP
        return self._refusal(hash(who), self.clock())

    def _refusal(self, user: int, now: float) -> Verdict:
        if self._told_until.get(user, 0.0) > now:
            return Verdict.DROP
        self._told_until[user] = now + self.window_s
        return Verdict.NOTICE

    def __len__(self) -> int:
        """Users currently remembered (recently active ones)."""
        return len(self._busy_until)

    def _sweep(self, now: float) -> None:
        """Forget users whose bucket ran empty: a fresh bucket is the same thing."""
        self._busy_until = {u: t for u, t in self._busy_until.items() if t > now}
        self._told_until = {u: t for u, t in self._told_until.items() if t > now}
        self._next_sweep = now + self.window_s
