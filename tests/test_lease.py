"""Leases (bot/lease.py): with two bot processes on one PostgreSQL, one polls and runs the
background, the other waits and takes over when the first stops renewing.

Two stores on one real PostgreSQL database stand for the two processes; one FixedClock is their
time, and renewal rounds are run by hand, so expiry is a step of the clock, not a wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import SCHEMA
from bot.clock import FixedClock
from bot.lease import BACKGROUND, RENEW_S, TTL_S, Leases
from bot.store import Store
from tests.conftest import NOW
from tests.postgres import Cluster, read

NAMES = (BACKGROUND, "telegram")


@pytest.fixture
async def two(pg_cluster: Cluster) -> AsyncIterator[tuple[Leases, Leases, FixedClock, str]]:
    url = pg_cluster.new_database()
    clock = FixedClock(NOW)
    stores = [await Store.open(url, schema=SCHEMA, clock=clock) for _ in range(2)]
    leases = [Leases(store, holder) for store, holder in zip(stores, ("one", "two"), strict=True)]
    for lease in leases:
        for name in NAMES:
            lease.want(name)
    try:
        yield leases[0], leases[1], clock, url
    finally:
        for store in stores:
            await store.close()


async def test_the_first_process_holds_every_lease_and_the_other_waits(two: tuple[Leases, Leases, FixedClock, str]) -> None:
    one, other, clock, url = two
    assert await one.renew() == sorted(NAMES)
    assert await other.renew() == []
    assert (one.state(), other.state()) == ("held", "standby")
    for _ in range(5):  # renewed in time, held for as long as the holder lives
        clock.advance(seconds=RENEW_S)
        assert await one.renew() == sorted(NAMES)
        assert await other.renew() == []
    assert read(url, "SELECT name, holder FROM leases ORDER BY name") == [(BACKGROUND, "one"), ("telegram", "one")]


async def test_when_the_holder_stops_renewing_the_other_takes_over_after_the_lease_runs_out(
        two: tuple[Leases, Leases, FixedClock, str]) -> None:
    one, other, clock, _ = two
    await one.renew()
    clock.advance(seconds=TTL_S - 1)  # the holder died just after its renewal
    assert await other.renew() == []
    assert not one.holds(BACKGROUND)  # it would have stopped polling itself by now
    clock.advance(seconds=1)
    assert await other.renew() == sorted(NAMES)
    assert await one.renew() == []  # back from a long pause: it does not take it back
    assert (one.state(), other.state()) == ("standby", "held")


async def test_two_processes_asking_at_the_same_moment_do_not_split_the_leases(
        two: tuple[Leases, Leases, FixedClock, str]) -> None:
    one, other, _, _ = two
    got = await asyncio.gather(one.renew(), other.renew())
    assert sorted(got) == [[], sorted(NAMES)]


async def test_work_runs_only_while_the_lease_is_held_and_moves_with_it(
        two: tuple[Leases, Leases, FixedClock, str]) -> None:
    one, other, clock, _ = two
    running: dict[str, asyncio.Event] = {"one": asyncio.Event(), "two": asyncio.Event()}
    stopped: list[str] = []

    def work(who: str):  # type: ignore[no-untyped-def]
        async def poll() -> None:
            running[who].set()
            try:
                await asyncio.Event().wait()
            finally:
                running[who].clear()
                stopped.append(who)
        return poll

    await one.renew()
    await other.renew()
    tasks = [asyncio.create_task(lease.run_while_held("telegram", work(lease.holder))) for lease in (one, other)]
    try:
        await asyncio.wait_for(running["one"].wait(), 5)
        await asyncio.sleep(0.05)
        assert not running["two"].is_set()
        clock.advance(seconds=TTL_S)  # "one" hangs and renews nothing
        await other.renew()
        await asyncio.wait_for(running["two"].wait(), 5)
        await one.renew()  # "one" comes back: it sees it lost the lease and stops polling
        await asyncio.sleep(0.05)
        assert stopped == ["one"] and running["two"].is_set() and not running["one"].is_set()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_process_that_stops_cleanly_gives_its_leases_back_at_once(
        two: tuple[Leases, Leases, FixedClock, str]) -> None:
    one, other, _, url = two
    await one.start()
    assert await other.renew() == []
    await one.stop()
    assert read(url, "SELECT count(*) FROM leases") == [(0,)]
    assert await other.renew() == sorted(NAMES)


async def test_on_sqlite_every_lease_is_held_and_nothing_is_written(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "wegwijzer.sqlite3", schema=SCHEMA)
    try:
        leases = Leases(store)
        await leases.start(*NAMES)
        ran = []

        async def work() -> None:
            ran.append(1)

        await leases.run_while_held("telegram", work)
        assert ran == [1] and leases.holds(BACKGROUND) and leases.state() == "not clustered"
        await leases.stop()
    finally:
        await store.close()


async def test_a_holder_cut_off_from_postgresql_stops_its_work_in_time_and_resumes_it_when_it_is_back(
        pg_own_cluster: Cluster) -> None:
    """PostgreSQL killed: renewing fails without waiting, the work stops before the lease could run
    out for another process, and starts again (same process, same holder) once renewing works."""
    clock = FixedClock(NOW)
    store = await Store.open(pg_own_cluster.new_database(), schema=SCHEMA, clock=clock)
    leases = Leases(store, "one")
    for name in NAMES:
        leases.want(name)
    runs: list[str] = []

    async def poll() -> None:
        runs.append("started")
        try:
            await asyncio.Event().wait()
        finally:
            runs.append("stopped")

    try:
        assert await leases.renew() == sorted(NAMES)
        task = asyncio.create_task(leases.run_while_held("telegram", poll))
        await asyncio.sleep(0.05)
        await asyncio.to_thread(pg_own_cluster.kill)
        clock.advance(seconds=RENEW_S)
        assert await asyncio.wait_for(leases.renew(), 5) == sorted(NAMES)  # not renewed, still counted as ours
        clock.advance(seconds=TTL_S - 2 * RENEW_S)  # before anyone else could take it, it lets go
        assert await asyncio.wait_for(leases.renew(), 5) == []
        await asyncio.sleep(0.05)
        assert runs == ["started", "stopped"] and leases.state() == "standby"
        await asyncio.to_thread(pg_own_cluster.resume)
        assert await leases.renew() == sorted(NAMES)
        await asyncio.sleep(0.05)
        assert runs == ["started", "stopped", "started"] and leases.state() == "held"
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        await store.close()
