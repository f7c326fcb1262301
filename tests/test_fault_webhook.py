"""Fault: Telegram webhook workers on one PostgreSQL, behind one URL; one is killed with SIGKILL under load.

Two `python -m bot` processes run exactly as deployed (subprocesses, settings from the
environment, each serving the webhook on a port of its own), behind a small round-robin front
on 127.0.0.1 that fails over like a load balancer: a worker that refuses or drops the
connection gets the request passed to the other one. The fake Bot API posts to the front with
several connections at once, one chat at a time (as Telegram is observed to do). Twenty people
each send ten messages without waiting; one worker is killed in the middle. What they see:

- every message answered: every update confirmed, every person's answers complete;
- each chat's answers in the order its messages were sent, the same as a person who
  went through the same messages alone got;
- repeats within the README's bound: a turn the killed worker was delivering may be shown once
  more (the part already shown, right after itself), at most one such turn per chat and never
  more chats than requests that were open at once.

Two plain tests beside it: an update that reaches both workers is answered once, and two
updates of one chat posted to the two workers at the same moment are answered in order.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.telegram_api import FakeTelegram
from tests.postgres import Cluster, free_port, read
from tests.telegram_fixtures import Person, QuickUser, bot_process_env
from tests.test_fault_sigkill import collapse

SECRET = "webhook-workers-secret"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
#: the webhook requests the fake keeps open at once (Telegram's max_connections, 40 by default)
CONNECTIONS = 16
USERS = 20
QUESTIONS = ["wat is een OTS?", "wat is Veilig Thuis?", "wat is de Kindertelefoon?", "wat is Jeugdstem?",
             "wat is het Juridisch Loket?", "wat is Slachtofferhulp?", "wat is de Kinderombudsman?",
             "wat is een GI?", "wat is een voogd?"]
KILL_AFTER = 70  # confirmed updates of the load before the kill


class Front:
    """A round-robin load balancer: each POST to the next worker; on a refused or dropped connection, the next."""

    def __init__(self, ports: list[int]) -> None:
        self.targets = [f"http://127.0.0.1:{port}/telegram/hook" for port in ports]
        self._next = itertools.cycle(range(len(ports)))
        self.failovers = 0

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-telegram")}
        headers["Content-Type"] = "application/json"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            for _ in self.targets:
                target = self.targets[next(self._next)]
                try:
                    async with http.post(target, data=body, headers=headers) as response:
                        return web.Response(status=response.status)
                except aiohttp.ClientConnectionError:
                    self.failovers += 1
        return web.Response(status=502)


@asynccontextmanager
async def front(ports: list[int]) -> AsyncIterator[tuple[str, Front]]:
    balancer = Front(ports)
    app = web.Application()
    app.router.add_post("/telegram/hook", balancer.forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/telegram/hook", balancer
    finally:
        await runner.cleanup()


class Workers:
    """Webhook worker processes on one database; stderr of each in a file (a full pipe would stall it)."""

    def __init__(self, tg: FakeTelegram, url: str, hook: str, tmp_path: Path) -> None:
        self.tg, self.url, self.hook, self.tmp_path = tg, url, hook, tmp_path
        self.processes: list[asyncio.subprocess.Process] = []
        self.ports: list[int] = []

    async def launch(self, port: int) -> asyncio.subprocess.Process:
        n = len(self.processes)
        env = bot_process_env(self.tg, self.tmp_path / "unused.sqlite3") | {
            "WEGWIJZER_DB": self.url, "WEGWIJZER_FLOOD_PER_MINUTE": "0",
            "WEGWIJZER_TELEGRAM_WEBHOOK_URL": self.hook, "WEGWIJZER_TELEGRAM_WEBHOOK_SECRET": SECRET,
            "WEGWIJZER_TELEGRAM_WEBHOOK_PORT": str(port)}
        folder = self.tmp_path / f"w{n}"
        folder.mkdir()
        registered = self.tg.calls["setWebhook"]
        with (folder / "stderr").open("wb") as err:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=folder, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=err)
        self.processes.append(process)
        self.ports.append(port)
        # a worker registers the webhook once it serves it
        await self.tg.wait_until(lambda: self.tg.calls["setWebhook"] > registered or process.returncode is not None,
                                 timeout=60)
        assert process.returncode is None, self.log(n)
        return process

    def log(self, n: int) -> str:
        return (self.tmp_path / f"w{n}" / "stderr").read_text()[-3000:]

    async def stop(self) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            await asyncio.wait_for(process.wait(), timeout=60)


@asynccontextmanager
async def cluster_of_two(pg_cluster: Cluster, tmp_path: Path) -> AsyncIterator[tuple[FakeTelegram, Workers, Front]]:
    ports = [free_port(), free_port()]
    async with FakeTelegram(webhook_connections=CONNECTIONS) as tg, front(ports) as (hook, balancer):
        workers = Workers(tg, pg_cluster.new_database(), hook, tmp_path)
        try:
            for port in ports:
                await workers.launch(port)
            yield tg, workers, balancer
        finally:
            await workers.stop()
        for n, process in enumerate(workers.processes):
            if process.returncode != -signal.SIGKILL:
                assert process.returncode == 0, workers.log(n)
                assert "Traceback" not in workers.log(n), workers.log(n)


async def post(port: int, update: dict[str, Any]) -> int:
    async with aiohttp.ClientSession() as http, \
            http.post(f"http://127.0.0.1:{port}/telegram/hook", json=update, headers=HEADERS) as response:
        return response.status


def answers_of(person: Person | QuickUser) -> list[str]:
    return [sent.text for sent in person.transcript]


async def test_sigkill_of_a_webhook_worker_under_load_loses_nothing_and_repeats_within_the_bound(
        pg_cluster: Cluster, tmp_path: Path) -> None:
    async with cluster_of_two(pg_cluster, tmp_path) as (tg, workers, balancer):
        alone = Person(tg, "Alleen")  # the same messages, one at a time, nothing killed
        await alone.command("start")
        for question in QUESTIONS:
            await alone.says(question)
        expected = answers_of(alone)
        assert len(expected) == 1 + 2 * len(QUESTIONS), expected  # each: the card, then the menu again

        people = [QuickUser(tg, f"Ouder {i}") for i in range(USERS)]
        for person in people:  # everybody types everything at once, without waiting for an answer
            person.command("start")
            for question in QUESTIONS:
                person.says(question)
        load = [update for person in people for update in person.updates]
        began = time.monotonic()
        await tg.wait_until(lambda: sum(tg.is_confirmed(u) for u in load) >= KILL_AFTER, timeout=120)
        print(f"killed after {time.monotonic() - began:.1f} s")
        workers.processes[0].kill()  # SIGKILL under load: no goodbye, requests in flight
        await workers.processes[0].wait()

        await tg.wait_until(lambda: all(tg.is_confirmed(u) for u in load), timeout=180)
        print(f"all confirmed after {time.monotonic() - began:.1f} s")
        await tg.wait_until(lambda: all(len(collapse(answers_of(p))[0]) >= len(expected) for p in people),
                            timeout=60)
        await asyncio.sleep(6)  # a redelivery round (every 5 s) would show any repeat still to come

        repeats = 0
        for person in people:
            seen, runs = collapse(answers_of(person))
            assert seen == expected, (person.user["first_name"], answers_of(person))
            assert runs <= 1, (person.user["first_name"], runs)
            repeats += runs
        assert repeats <= CONNECTIONS, repeats
        print(f"{repeats} repeated turn(s) after the kill; {balancer.failovers} request(s) failed over")
        assert tg.pending_updates == []


async def test_one_update_posted_to_both_workers_at_once_and_again_later_is_answered_once(
        pg_cluster: Cluster, tmp_path: Path) -> None:
    async with cluster_of_two(pg_cluster, tmp_path) as (tg, workers, _):
        person = Person(tg, "Dubbel")
        await person.command("start")
        before = answers_of(person)
        update = withheld(tg, person, QUESTIONS[0])
        statuses = await asyncio.gather(*(post(port, update) for port in workers.ports))  # one post timed out
        assert statuses == [200, 200]
        await tg.wait_until(lambda: len(person.transcript) >= len(before) + 2, timeout=10)
        assert await post(workers.ports[0], update) == 200  # and Telegram sends it once more, later
        await asyncio.sleep(3)  # a sweep (every second) would have handled a stored copy by now
        assert answers_of(person)[len(before):] == [expected_card(tg, person), before[0]]


async def test_two_updates_of_one_chat_at_two_workers_at_once_are_answered_in_order(
        pg_cluster: Cluster, tmp_path: Path) -> None:
    """The later update reaches a worker first; the chat is busy elsewhere (the test holds its lock, as a worker
    in the middle of a turn of that chat would) until both are stored: they are answered in Telegram's order."""
    import psycopg

    from bot.events import ConversationKey
    from bot.inbox import DRAIN

    async with cluster_of_two(pg_cluster, tmp_path) as (tg, workers, _):
        alone = Person(tg, "Alleen")
        await alone.command("start")
        for question in QUESTIONS[:2]:
            await alone.says(question)
        expected = answers_of(alone)[1:]

        person = Person(tg, "Snel")
        await person.command("start")
        before = len(person.transcript)
        first, second = withheld(tg, person, QUESTIONS[0]), withheld(tg, person, QUESTIONS[1])
        key = str(ConversationKey("telegram", str(person.chat["id"]), str(person.user["id"])))
        with psycopg.connect(workers.url, autocommit=True) as busy:  # no keys: the pseudonym is the key itself
            busy.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (DRAIN, key))
            posts = asyncio.gather(post(workers.ports[1], second), post(workers.ports[0], first))
            while read(workers.url, "SELECT count(*) FROM inbox") != [(2,)]:
                await asyncio.sleep(0.05)
            busy.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (DRAIN, key))
        assert list(await posts) == [200, 200]
        await tg.wait_until(lambda: len(person.transcript) >= before + 4, timeout=10)
        assert answers_of(person)[before:] == expected


def withheld(tg: FakeTelegram, person: Person, text: str) -> dict[str, Any]:
    """An update as Telegram would post it, which the test posts itself instead of the fake."""
    update = tg.send_text(person.user, text)
    tg.withhold(update)
    return update


def expected_card(tg: FakeTelegram, person: Person) -> str:
    """The glossary card for QUESTIONS[0], as any person is shown it."""
    return next(sent.text for sent in person.transcript if sent.text.startswith("OTS"))
