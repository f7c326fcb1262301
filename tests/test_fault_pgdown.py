"""Fault: PostgreSQL is killed for 10 s under a running bot; nobody is told anything wrong, and it catches up.

One `python -m bot` process exactly as deployed (settings from the environment, Telegram polling
against the fake Bot API on 127.0.0.1, the desk in a Telegram group, the health server on), on a
PostgreSQL cluster of this test's own, which it stops as a crash would (`pg_ctl stop -m immediate`:
every connection cut, no goodbye) and starts again on the same port and data 10 s later.

Before the outage three parents are somewhere in a conversation and two professionals have a
home-visit check-in running: one whose "are you safe?" falls due during the outage, one who did not
answer it and whose alert to the desk falls due during the outage. During the outage the parents
write (one answers the question on screen, one presses a button and types the next answer straight
after, one starts). What each person sees is compared with what a person saw while nothing was
wrong: during the outage nothing at all (no apology, no "send it again"); afterwards every message
answered once, in order, to the right step; the check-in's question and both alerts arrive late
and once. Meanwhile /readyz says the database is unreachable and /healthz stays ok; the log says
once that the database went away and once that it is back, and never what anybody typed.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import load_flows
from bot.clock import SYSTEM
from bot.markup import plain
from bot.settings import Settings
from tests.fakes.telegram_api import FakeTelegram
from tests.postgres import Cluster, free_port, read
from tests.telegram_fixtures import Person, QuickUser, bot_process_env, telegram
from tests.test_fault_takeover import start_check_in, wait_lease
from tests.test_fault_telegram import reference
from tests.test_fault_telegram import script as parents_way

__all__ = ["telegram"]  # the fixture, used by name below

#: How long PostgreSQL is away.
OUTAGE_S = 10.0
ADDRESSES = ("Kerkstraat 9, Houten", "Dorpsweg 4, Baarn")
#: What the parents type for the date (as in tests/test_fault_telegram.script), never to be seen in the log.
TYPED = "gisteren"


def due_in(url: str, seconds: float) -> None:
    """Make every timer fall due `seconds` from now (the product's clock; due_at is epoch seconds)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE timers SET due_at = %s", (int(SYSTEM.timestamp() + seconds),))  # type: ignore[call-overload]


async def health(port: int, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}{path}") as answer:
        return answer.status, (await answer.json() if path == "/readyz" else await answer.text())


async def test_postgresql_killed_for_ten_seconds_nobody_is_told_anything_wrong_and_all_is_answered_after(
        telegram: FakeTelegram, pg_own_cluster: Cluster, tmp_path: Path) -> None:
    tg = telegram
    url = pg_own_cluster.new_database()
    group = tg.new_group("Meldpunt")
    port = free_port()
    flows = load_flows(Settings(_env_file=None))  # type: ignore[call-arg]
    log_file = tmp_path / "bot.log"

    def text(key: str) -> str:
        return plain(flows.render("nl", key, {}))

    env = bot_process_env(tg, tmp_path / "unused.sqlite3") | {
        "WEGWIJZER_DB": url, "WEGWIJZER_DESKS": f"telegram:{group['id']}", "WEGWIJZER_DESK_HOURS": "always",
        "WEGWIJZER_FLOOD_PER_MINUTE": "0", "WEGWIJZER_HEALTH_PORT": str(port)}
    with log_file.open("wb") as log_out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=log_out)
    try:
        await wait_lease(port, "held")

        # ---- what each step shows while nothing is wrong
        script = parents_way(text)[:5]  # up to typing the date (TYPED)
        expected = await reference(tg, script, settle=0.3)

        async def walk(user: QuickUser, steps: int) -> None:
            for step, adds in zip(script[:steps], expected, strict=False):
                before = len(user.texts)
                step(user)
                await tg.wait_until(lambda u=user, n=before + len(adds): len(u.texts) >= n, timeout=30)
            await asyncio.sleep(0.3)

        # ---- people in mid-conversation
        answering, quick, new = QuickUser(tg, "Ouder A"), QuickUser(tg, "Ouder B"), QuickUser(tg, "Ouder C")
        await walk(answering, 4)  # the date question on screen
        await walk(quick, 3)  # the deadline menu on screen

        def asked(pro: Person) -> bool:
            return any("Ben je veilig?" in s.text for s in pro.transcript)

        silent = Person(tg, "Jeugdbeschermer")  # asked before the outage, does not answer
        await start_check_in(silent, text, ADDRESSES[0])
        due_in(url, -1)
        await tg.wait_until(lambda: asked(silent), timeout=30)
        visiting = Person(tg, "Gezinsvoogd")  # "are you safe?" falls due during the outage
        await start_check_in(visiting, text, ADDRESSES[1])
        assert read(url, "SELECT count(*) FROM timers") == [(2,)]
        before = {p: len(p.transcript) for p in (answering, quick, new, silent, visiting)}

        # ---- PostgreSQL away for OUTAGE_S
        due_in(url, 3)  # the alert and the question fall due while PostgreSQL is away
        await asyncio.to_thread(pg_own_cluster.kill)
        killed = time.monotonic()
        answering.says(TYPED)
        quick.presses(text("termijn.appeal"))
        quick.says(TYPED)  # straight after: answered only after the press, to the step the press led to
        new.command("start")

        async def readiness_says_unreachable() -> dict[str, Any]:
            while True:
                status, body = await health(port, "/readyz")
                if status == 503:
                    return dict(body)
                await asyncio.sleep(0.2)

        body = await asyncio.wait_for(readiness_says_unreachable(), timeout=OUTAGE_S / 2)
        assert body["failing"] == ["database"] and body["database"].startswith("unreachable"), body
        assert await health(port, "/healthz") == (200, "ok\n")
        await asyncio.sleep(OUTAGE_S - (time.monotonic() - killed))
        during = {p: [s.text for s in p.transcript[before[p]:]] for p in before}
        assert all(not said for said in during.values()), during  # nothing said while it was away
        await asyncio.to_thread(pg_own_cluster.resume)
        back = time.monotonic()

        # ---- caught up: every message answered once, in order; the check-in late and once
        everything = answering.updates + quick.updates + new.updates
        await tg.wait_until(lambda: all(tg.is_confirmed(u) for u in everything), timeout=60)
        print(f"every update answered {time.monotonic() - back:.1f} s after PostgreSQL was back")
        await tg.wait_until(lambda: asked(visiting), timeout=30)
        due_in(url, -1)  # nobody answered "are you safe?": the grace period is over
        alerts = lambda: [s.text for s in tg.transcript(group) if "geen antwoord op de check-in" in s.text]  # noqa: E731
        await tg.wait_until(lambda: len(alerts()) >= 2, timeout=30)
        await tg.wait_until(lambda: all(any(s.text.startswith("Je gaf geen antwoord") for s in p.transcript)
                                        for p in (silent, visiting)), timeout=30)
        await asyncio.sleep(3)  # time for anything said twice to show

        flat = [t for adds in expected for t in adds]
        assert answering.texts == flat, answering.texts
        assert quick.texts == flat, quick.texts
        assert new.texts == expected[0], new.texts
        for address in ADDRESSES:  # each professional's alert reached the desk once
            assert len([a for a in alerts() if f"Adres: {address}" in a]) == 1, alerts()
        for pro in (silent, visiting):
            after = [s.text for s in pro.transcript[before[pro]:]]
            question = next(t for t in pro.transcript if "Ben je veilig?" in t.text).text
            told = [t for t in after if t.startswith("Je gaf geen antwoord")]
            assert len(told) == 1, after
            # asked once (before the outage for one of them), told once; the question stays, last
            assert after == ([] if pro is silent else [question]) + [told[0], question], after
        assert tg.pending_updates == [] and tg.unanswered_callbacks == []
        assert read(url, "SELECT count(*) FROM outbox") == [(0,)]
        assert read(url, "SELECT count(*) FROM timers") == [(0,)]
        status, body = await health(port, "/readyz")
        assert status == 200 and body["lease"] == "held", body
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=60)
    log = log_file.read_text()
    assert process.returncode == 0, log[-3000:]
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
    # once when it went away, once when it came back; no flood of failed rounds in between
    assert len(re.findall(r"WARNING .*database unreachable", log)) == 1, log[-3000:]
    assert len(re.findall(r"WARNING .*database reachable again", log)) == 1, log[-3000:]
    warnings = [line for line in log.splitlines() if " WARNING " in line]
    assert len(warnings) <= 4, "\n".join(warnings)
    for typed in (TYPED, *ADDRESSES):
        assert typed not in log


async def test_postgresql_away_at_start_stops_the_start_in_one_line_without_the_password(
        telegram: FakeTelegram, pg_own_cluster: Cluster, tmp_path: Path) -> None:
    """At start there is nothing to wait for yet: the service manager starts it again (Restart=on-failure)."""
    url = pg_own_cluster.new_database().replace("wegwijzer@", "wegwijzer:geheim-w8woord@")
    await asyncio.to_thread(pg_own_cluster.kill)
    env = bot_process_env(telegram, tmp_path / "unused.sqlite3") | {"WEGWIJZER_DB": url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    output = out.decode()
    assert process.returncode == 1, output
    assert output.splitlines()[-1] == "could not start: could not connect to PostgreSQL (OperationalError)"
    assert "Traceback" not in output and "geheim-w8woord" not in output


async def test_stopped_while_postgresql_is_away_the_bot_ends_at_once_and_the_next_start_answers_what_waited(
        telegram: FakeTelegram, pg_own_cluster: Cluster, tmp_path: Path) -> None:
    """A turn waiting for the database has nothing to finish: SIGTERM ends the process without waiting
    for it, and Telegram keeps the update (its offset was never stored past it) for the next start."""
    tg = telegram
    url = pg_own_cluster.new_database()
    port = free_port()
    env = bot_process_env(tg, tmp_path / "unused.sqlite3") | {"WEGWIJZER_DB": url, "WEGWIJZER_HEALTH_PORT": str(port)}

    async def launch() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=tmp_path, env=env,
                                                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)

    parent = QuickUser(tg, "Ouder")
    process = await launch()
    try:
        await wait_lease(port, "held")
        parent.command("start")
        await tg.wait_confirmed(parent.updates[-1], timeout=30)
        greeting = list(parent.texts)
        await asyncio.to_thread(pg_own_cluster.kill)
        parent.command("start")
        await asyncio.sleep(1)  # in hand, waiting for the database
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)  # it waited a minute for the turn before
        assert process.returncode == 0 and b"Traceback" not in err, err.decode()[-3000:]
        assert parent.texts == greeting and not tg.is_confirmed(parent.updates[-1])

        await asyncio.to_thread(pg_own_cluster.resume)
        process = await launch()
        await tg.wait_confirmed(parent.updates[-1], timeout=60)
        await tg.wait_until(lambda: len(parent.texts) >= 2 * len(greeting), timeout=30)
        await asyncio.sleep(1)  # anything said twice would show by now
        assert parent.texts == greeting * 2
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), timeout=60)
