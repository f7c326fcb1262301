"""/healthz, /readyz and /metrics (bot/health.py, bot/metrics.py) as an operator's tools see them.

A real aiohttp server on 127.0.0.1 in front of the real core and a SQLite file; conversations
go through the real core (tests/desk_harness.py's World, the console, python-telegram-bot
against the fake Bot API, a real Synapse). The metrics are read back with prometheus_client's
own parser, as Prometheus would read them.
"""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.adapters.base import DeliveryFailed
from bot.adapters.console import ConsoleOutlet
from bot.app import build_core
from bot.core import Core
from bot.events import Command, ConversationKey
from bot.health import HealthServer
from bot.settings import Settings
from bot.testing import CaptureOutlet
from tests.desk_harness import World
from tests.fakes.telegram_api import FakeTelegram
from tests.postgres import Cluster, Database
from tests.synapse import Synapse, synapse_server  # noqa: F401 - fixture
from tests.telegram_fixtures import Person, RunningBot, telegram, telegram_settings  # noqa: F401 - fixture
from tests.test_checkin import start_visit
from tests.test_desk import report

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

#: What may label a metric: nothing that names a person, a chat or what was said.
ALLOWED_LABELS = {"platform", "outcome", "tier", "le"}


def server_of(core: Core) -> HealthServer:
    return next(s for s in core.services if isinstance(s, HealthServer))


async def get(server: HealthServer, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{server.port}{path}") as answer:
        return answer.status, await answer.text()


async def ready(server: HealthServer) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{server.port}/readyz") as answer:
        return answer.status, await answer.json()


async def scrape(server: HealthServer) -> tuple[str, Samples]:
    """The exposition as text, and every sample by (name, labels)."""
    status, text = await get(server, "/metrics")
    assert status == 200
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    return text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def health_world(tmp_path: Path, **settings: Any) -> tuple[World, HealthServer]:
    """The desk harness's world (real core, store, desk, timers) with the health server in front."""
    world = await World(tmp_path, **settings).start()
    server = HealthServer.attach(world.c, "127.0.0.1", 0)
    await server.start()
    return world, server


class OfflineOutlet(CaptureOutlet):
    """A platform that is down: every reply stays in the outbox."""

    async def deliver(self, key: ConversationKey, actions: Any, reply_to: object | None) -> None:
        raise DeliveryFailed("the platform is down")


# ---------------------------------------------------------------- liveness and readiness


async def test_the_server_is_off_unless_a_port_is_set(tmp_path: Path) -> None:
    core = await build_core(Settings(_env_file=None, db=tmp_path / "db.sqlite3"))  # type: ignore[call-arg]
    try:
        assert not [s for s in core.services if isinstance(s, HealthServer)]
    finally:
        await core.store.close()


async def test_the_console_bot_is_live_and_ready_until_its_database_goes(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, db=tmp_path / "db.sqlite3", health_port=0)  # type: ignore[call-arg]
    core = await build_core(settings)
    core.register(ConsoleOutlet(io.StringIO(), as_json=True))
    await core.start()
    try:
        server = server_of(core)
        assert server.host == "127.0.0.1" and server.port > 0
        assert await get(server, "/healthz") == (200, "ok\n")
        assert await ready(server) == (200, {"ready": True, "failing": [], "database": "ok",
                                             "platforms": {"console": "n/a"}, "lease": "not clustered"})
        await core.store.close()
        status, state = await ready(server)
        assert status == 503
        assert state["failing"] == ["database"]
        assert state["database"] == "unreachable (StoreClosed)"
        assert await get(server, "/healthz") == (200, "ok\n")  # alive: restarting would not bring the database back
        _, samples = await scrape(server)
        assert value(samples, "wegwijzer_database_up") == 0
    finally:
        await core.stop()


async def test_while_postgresql_is_away_it_is_live_not_ready_and_turns_and_timers_wait_for_it(
        pg_own_cluster: Cluster, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """PostgreSQL killed as a crash would: readiness says so at once, a turn and a check-in's timer
    wait instead of failing, and both are done, once, when it is back; the log says it twice."""
    cluster = pg_own_cluster
    world, server = await health_world(tmp_path, db=cluster.new_database())
    caplog.set_level(logging.INFO)
    try:
        greeting = await world.command("u1", "start")
        await start_visit(world, "pro")
        world.clock.advance(minutes=61)  # the check-in is due
        await asyncio.to_thread(cluster.kill)

        status, state = await ready(server)
        assert status == 503 and state["failing"] == ["database"], state
        assert state["database"] == "unreachable (StoreUnavailable)"
        assert await get(server, "/healthz") == (200, "ok\n")  # alive: restarting would not bring it back
        _, samples = await scrape(server)
        assert value(samples, "wegwijzer_database_up") == 0
        turn = asyncio.create_task(world.command("u2", "start"))
        timer = asyncio.create_task(world.fire_timers())
        await asyncio.sleep(2)
        assert not turn.done() and not timer.done()  # waiting, not failed
        assert world.outlet.texts("u2") == []

        await asyncio.to_thread(cluster.resume)
        assert await asyncio.wait_for(turn, timeout=30) == greeting
        assert await asyncio.wait_for(timer, timeout=30) == 1
        assert [t for t in world.outlet.texts("pro") if "Ben je veilig?" in t]
        assert (await ready(server))[0] == 200
        assert await world.fire_timers() == 0  # fired once
    finally:
        await world.close()
    said = [r for r in caplog.records if r.name == "bot.store"]
    assert [(r.levelname, r.getMessage().split(" after ")[0].split(";")[0]) for r in said] == [
        ("WARNING", "store: database unreachable (OperationalError)"),
        ("WARNING", "store: database reachable again")], said


# ---------------------------------------------------------------- metrics


async def test_turns_latency_and_crisis_answers_are_counted_through_the_real_core(tmp_path: Path) -> None:
    world, server = await health_world(tmp_path)
    try:
        _, before = await scrape(server)
        assert value(before, "wegwijzer_turns_total", platform="test", outcome="ok") == 0
        await start_visit(world, "pro")
        said = await world.say("ouder", "Ze hebben mijn kind meegenomen en ik wil dood")
        assert "113" in "\n".join(said)  # the help line: a crisis answer
        _, samples = await scrape(server)
        turns = world.client.updates
        assert value(samples, "wegwijzer_turns_total", platform="test", outcome="ok") == turns
        assert value(samples, "wegwijzer_turn_seconds_count", platform="test") == turns
        assert value(samples, "wegwijzer_turn_seconds_bucket", platform="test", le="+Inf") == turns
        assert value(samples, "wegwijzer_crisis_answers_total", tier="answer") == 1
        assert value(samples, "wegwijzer_crisis_answers_total", tier="check") == 0
        assert value(samples, "wegwijzer_database_up") == 1
    finally:
        await world.close()


async def test_the_queues_are_read_from_the_database(database: Database, tmp_path: Path) -> None:
    """On SQLite and on PostgreSQL: the counts are the database's, read at the scrape."""
    world, server = await health_world(tmp_path, db=database.location)
    try:
        assert await ready(server) == (200, {"ready": True, "failing": [], "database": "ok",
                                             "platforms": {"test": "n/a"},
                                             "lease": "not clustered" if database.kind == "sqlite" else "standby"})
        _, samples = await scrape(server)
        for gauge in ("wegwijzer_outbox_messages", "wegwijzer_timers_due", "wegwijzer_desk_posts_pending",
                      "wegwijzer_inbox_updates"):
            assert (gauge, ()) in samples and samples[(gauge, ())] == 0
        await start_visit(world, "pro")  # asks at 11:00 whether all went well
        _, samples = await scrape(server)
        assert value(samples, "wegwijzer_timers_due") == 0
        world.clock.advance(minutes=61)
        _, samples = await scrape(server)
        assert value(samples, "wegwijzer_timers_due") == 1  # due, not yet fired
        world.outlet.refuse_rooms = True  # the desk room's platform is down
        await report(world, "u1")
        _, samples = await scrape(server)
        assert value(samples, "wegwijzer_desk_posts_pending") >= 1
        world.c.register(OfflineOutlet())  # now the users' platform is down too
        await world.command("u2", "start")
        _, samples = await scrape(server)
        assert value(samples, "wegwijzer_outbox_messages") == 1
    finally:
        await world.close()


async def test_no_name_text_or_id_reaches_the_metrics(tmp_path: Path) -> None:
    """A conversation full of distinctive personal details; none of them is in /metrics."""
    world, server = await health_world(tmp_path)
    user, chat = "Jozefien-Quirijnsz-4711", "chat-Barendrecht-0815"
    personal = [user, chat, "Zonnebloemhof 93", "Oosterbroek", "06-98765432", "Wilhelmina Zwaantjes"]
    try:
        await world.send(user, Command("start"), chat=chat)
        await start_visit(world, user, address="Zonnebloemhof 93, Oosterbroek", contact="Wilhelmina Zwaantjes, 06-98765432")
        await report(world, user, what="Wilhelmina Zwaantjes uit Oosterbroek schold me uit")
        await world.say(user, "Wilhelmina Zwaantjes: ik wil dood")
        text, samples = await scrape(server)
        assert value(samples, "wegwijzer_turns_total", platform="test", outcome="ok") > 5
        for detail in personal:
            for part in detail.lower().replace(",", " ").split():
                if len(part) > 3:
                    assert part not in text.lower(), f"{part!r} is in /metrics"
        labels = {label for (_, pairs) in samples for label, _ in pairs}
        assert labels <= ALLOWED_LABELS
        platforms = {v for (_, pairs) in samples for label, v in pairs if label == "platform"}
        assert platforms == {"test"}
    finally:
        await world.close()


# ---------------------------------------------------------------- the platforms


async def test_telegram_is_ready_while_polling_and_its_429s_are_counted(telegram: FakeTelegram, tmp_path: Path) -> None:  # noqa: F811
    tg = telegram
    bot = await RunningBot(telegram_settings(tg, tmp_path / "db.sqlite3", health_port=0)).start()
    try:
        server = server_of(bot.core)
        status, state = await ready(server)
        assert (status, state["platforms"]) == (200, {"telegram": "ok"})
        tg.throttle("sendMessage", retry_after=1)
        await Person(tg).command("start")
        _, samples = await scrape(server)
        assert value(samples, "wegwijzer_platform_429_total", platform="telegram") == 1
        assert value(samples, "wegwijzer_turns_total", platform="telegram", outcome="ok") == 1
        await bot.adapter.stop()
        status, state = await ready(server)
        assert status == 503
        assert state["failing"] == ["platform telegram"] and state["platforms"] == {"telegram": "not connected"}
    finally:
        await bot.stop()


async def test_matrix_is_ready_once_logged_in_and_syncing(synapse: Synapse, tmp_path: Path) -> None:
    from tests.test_matrix_conversation import running_bot as running_matrix_bot

    account = synapse.register("bot")
    async with running_matrix_bot(synapse, account, tmp_path / "bot", health_port=0) as adapter:
        server = server_of(adapter.core)
        status, state = await ready(server)
        assert (status, state["platforms"]) == (200, {"matrix": "ok"})
        _, samples = await scrape(server)
        assert value(samples, "wegwijzer_platform_429_total", platform="matrix") == 0
        await adapter.stop()
        status, state = await ready(server)
        assert (status, state["platforms"]) == (503, {"matrix": "not running"})
