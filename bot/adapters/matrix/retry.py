"""The one retry policy of the Matrix adapter: rate limits, outages and a deadline.

Why apart: sending, uploading, leaving a room and reconnecting all meet the
same homeserver answers, and they must meet them the same way. nio's own
retry loops are switched off (see the client's config in adapter.py), so
this is the only place that decides: a 429 waits the server's
retry_after_ms, a connection error backs off exponentially with jitter, an
answer no retry will change is given up at once, and after `give_up_after`
seconds (or when the adapter stops) the caller gets DeliveryFailed, so the
core keeps the message in its outbox.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import ClientError
from nio import ErrorResponse

from bot.adapters.base import DeliveryFailed
from bot.errors import PlatformError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Answers that mean this request will never be accepted, however often we ask.
_REFUSED_FOR_GOOD = ("M_FORBIDDEN", "M_UNKNOWN_TOKEN", "M_NOT_FOUND", "M_TOO_LARGE")


class Refused(PlatformError):
    """The homeserver refused for good (no retry will change it)."""


class Retryable(PlatformError):
    """Worth asking again: after `wait` seconds when the server said so, else after a backoff."""

    def __init__(self, wait: float | None, reason: str) -> None:
        super().__init__(reason)
        self.wait = wait
        self.reason = reason


def backoff(attempt: int, ceiling: float) -> float:
    """Exponential with jitter: 0.25 s, 0.5 s, 1 s ... up to `ceiling`."""
    base: float = min(ceiling, 0.25 * (2**attempt))
    return base * (0.75 + random.random() / 2)  # jitter, not crypto


def classify(resp: ErrorResponse) -> Exception:
    """An error answer: retry (429, 5xx-ish) or give up (refused for good)."""
    if resp.status_code == "M_LIMIT_EXCEEDED" or resp.retry_after_ms:
        return Retryable((resp.retry_after_ms or 1000) / 1000, "rate limited")
    if resp.status_code in _REFUSED_FOR_GOOD:
        return DeliveryFailed(f"the homeserver refused: {resp.status_code}")
    return Retryable(None, str(resp.status_code))


class RetryPolicy:
    """Runs one request until it succeeds, waiting as the server asks, within a deadline."""

    def __init__(self, give_up_after: float, max_backoff: float, stopping: Callable[[], bool]) -> None:
        self.give_up_after = give_up_after
        self.max_backoff = max_backoff
        self._stopping = stopping
        #: 429s waited out (for logs and tests)
        self.throttled = 0

    async def run(self, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run `attempt` until it succeeds; DeliveryFailed once the deadline would pass."""
        deadline = time.monotonic() + self.give_up_after
        failures = 0
        while True:
            try:
                return await attempt()
            except Retryable as err:
                self.throttled += err.reason == "rate limited"
                wait = err.wait if err.wait is not None else backoff(failures, self.max_backoff)
                reason = err.reason
            except (ClientError, TimeoutError) as err:
                wait = backoff(failures, self.max_backoff)
                reason = type(err).__name__
            failures += 1
            if self._stopping() or time.monotonic() + wait > deadline:
                raise DeliveryFailed(f"matrix {what} failed {failures}x, last: {reason}")
            log.info("matrix %s: %s, retrying in %.2fs", what, reason, wait)
            await asyncio.sleep(wait)
