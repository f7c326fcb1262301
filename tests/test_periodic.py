"""Background loops (bot/periodic.py) stop when the bot stops, also when they were woken at that moment."""

from __future__ import annotations

import asyncio

import pytest

from bot.periodic import every


@pytest.mark.parametrize("yields", range(5))
async def test_a_loop_woken_just_before_it_is_stopped_stops(yields: int) -> None:
    """Stopping the bot right after a turn woke the desk's delivery (a report, then end of input in the
    console) hung the stop: asyncio.wait_for of Python 3.11 returns the wake-up and swallows the
    cancellation when both arrive in the same moment, so the loop went on for ever."""
    wake = asyncio.Event()
    rounds = 0

    async def work() -> None:
        nonlocal rounds
        rounds += 1

    loop = asyncio.create_task(every(3600, work, "a test round", wake=wake))
    for _ in range(3):
        await asyncio.sleep(0)
    assert rounds == 1  # the first round ran; now it waits to be woken
    wake.set()
    for _ in range(yields):
        await asyncio.sleep(0)
    loop.cancel()
    done, _ = await asyncio.wait({loop}, timeout=5)
    assert done == {loop} and loop.cancelled(), "the loop did not stop"
