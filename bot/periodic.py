"""Background work that repeats for the life of the bot (timers, retention, desk delivery ...).

One loop shape for all of them: a failing round is logged and the next round
comes anyway, because one bad row must never stop check-in alerts or the
retention purge for everyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def every(seconds: float, work: Callable[[], Awaitable[object]], what: str, *,
                wake: asyncio.Event | None = None) -> None:
    """Run `work` now and then every `seconds` (sooner when `wake` is set), until cancelled."""
    while True:
        try:
            await work()
        except Exception:
            log.exception("%s failed; trying again in %.0f s", what, seconds)
        if wake is None:
            await asyncio.sleep(seconds)
        else:
            wake.clear()
            # asyncio.timeout, not wait_for: Python 3.11's wait_for returns a wake-up that arrives
            # together with a cancellation and swallows the cancellation, so stopping the bot right
            # after a turn woke this loop (a report, then the end of the console's input) hung
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await wake.wait()
