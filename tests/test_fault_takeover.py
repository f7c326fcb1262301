"""Fault: two `python -m bot` processes on one PostgreSQL; the one that polls is killed during a check-in.

Both run exactly as deployed (subprocesses, settings from the environment, Telegram against the
fake Bot API on 127.0.0.1, the desk in a Telegram group). The first to start holds the leases
(bot/lease.py): it polls and runs the timers; the second waits ("standby" on /readyz). A
professional starts a home-visit check-in; the holder is killed with SIGKILL while nothing is in
flight; a parent writes while no process polls. Then the second process takes over: the parent
is answered, the check-in asks "are you safe?", and with no answer the alert reaches the desk
room, once. The visit's time is brought forward in the database (the timers' due time is the one
readable column), as a clock cannot be moved in another process.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import load_flows
from bot.clock import SYSTEM
from bot.settings import Settings
from tests.fakes.telegram_api import FakeTelegram
from tests.postgres import Cluster, free_port, read
from tests.telegram_fixtures import Person, QuickUser, bot_process_env, telegram

__all__ = ["telegram"]  # the fixture, used by name below

ADDRESS = "Kerkstraat 9, Houten"


async def lease_of(port: int) -> str | None:
    """What /readyz says about the leases, or None while the process does not answer yet."""
    try:
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/readyz") as response:
            body: dict[str, Any] = await response.json()
            return str(body["lease"])
    except aiohttp.ClientError:
        return None


async def wait_lease(port: int, state: str, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (seen := await lease_of(port)) != state:
        assert asyncio.get_running_loop().time() < deadline, f"lease {seen!r}, not {state!r}"
        await asyncio.sleep(0.2)


async def start_check_in(pro: Person, text: Callable[[str], str], address: str) -> None:
    """A professional starts a one-hour home-visit check-in on Telegram, giving the address."""
    await pro.command("start", "huisbezoek")
    await pro.presses(text("checkin.m60"))
    await pro.presses(text("checkin.address_yes"))
    await pro.says(address)
    said = await pro.presses(text("checkin.contact_no"))
    assert said[0].text.startswith("Afgesproken. Om "), [s.text for s in said]
    await asyncio.sleep(0.5)  # the last step's second message ("tap when done")


def bring_forward(url: str, sql: str) -> None:
    """Make the timers the query picks due now (the product's clock; due_at is epoch seconds)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql, (SYSTEM.timestamp() - 1,))  # type: ignore[call-overload]


async def test_sigkill_of_the_polling_process_hands_the_bot_and_the_check_in_to_the_other(
        telegram: FakeTelegram, pg_cluster: Cluster, tmp_path: Path) -> None:
    tg = telegram
    url = pg_cluster.new_database()
    group = tg.new_group("Meldpunt")
    ports = [free_port(), free_port()]
    processes: list[asyncio.subprocess.Process] = []
    flows = load_flows(Settings(_env_file=None))  # type: ignore[call-arg]

    def text(key: str) -> str:
        return flows.render("nl", key, {})

    async def launch(n: int) -> asyncio.subprocess.Process:
        env = bot_process_env(tg, tmp_path / "unused.sqlite3") | {
            "WEGWIJZER_DB": url, "WEGWIJZER_DESKS": f"telegram:{group['id']}", "WEGWIJZER_DESK_HOURS": "always",
            "WEGWIJZER_FLOOD_PER_MINUTE": "0", "WEGWIJZER_HEALTH_PORT": str(ports[n])}
        folder = tmp_path / f"p{n}"
        folder.mkdir()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=folder, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        processes.append(process)
        return process

    first = await launch(0)
    try:
        await wait_lease(ports[0], "held")
        await launch(1)
        await wait_lease(ports[1], "standby")

        pro = Person(tg, "Jeugdbeschermer")
        await start_check_in(pro, text, ADDRESS)
        assert read(url, "SELECT count(*) FROM timers") == [(1,)]
        before = list(pro.transcript)

        first.kill()  # SIGKILL: no lease given back, no goodbye
        await first.wait()
        killed = time.monotonic()
        parent = QuickUser(tg, "Ouder")
        parent.command("start")  # waits at Telegram while nobody polls
        await tg.wait_confirmed(parent.updates[-1], timeout=60)
        print(f"the second process answered {time.monotonic() - killed:.1f} s after the kill")
        assert await lease_of(ports[1]) == "held"
        greeting = list(parent.texts)
        assert greeting

        bring_forward(url, "UPDATE timers SET due_at = %s")  # the visit should be over now
        await tg.wait_until(lambda: any("Ben je veilig?" in s.text for s in pro.transcript), timeout=30)
        bring_forward(url, "UPDATE timers SET due_at = %s")  # the grace period passed without an answer
        await tg.wait_until(lambda: any("geen antwoord op de check-in" in s.text for s in tg.transcript(group)),
                            timeout=30)
        await tg.wait_until(lambda: any("Je gaf geen antwoord" in s.text for s in pro.transcript), timeout=30)
        await asyncio.sleep(3)  # time for anything said twice to show

        alerts = [s.text for s in tg.transcript(group) if "geen antwoord op de check-in" in s.text]
        assert len(alerts) == 1 and f"Adres: {ADDRESS}" in alerts[0], alerts
        after = [s.text for s in pro.transcript][len(before):]
        asked = next(t for t in after if "Ben je veilig?" in t)
        # asked once, told once; the question stays, last, as on one process (tests/test_checkin.py)
        assert after == [asked, next(t for t in after if t.startswith("Je gaf geen antwoord")), asked], after
        assert parent.texts == greeting  # answered once
        assert all(tg.is_confirmed(u) for u in parent.updates) and tg.pending_updates == []
        assert read(url, "SELECT count(*) FROM timers") == [(0,)]
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        errors = [(await asyncio.wait_for(p.communicate(), timeout=60))[1] for p in processes]
    err = errors[1]
    assert processes[1].returncode == 0, err.decode()[-3000:]
    assert b"Traceback" not in err, err.decode()[-3000:]
