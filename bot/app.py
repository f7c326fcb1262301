"""Assemble the running bot: settings -> flows -> store -> core -> adapters.

Kept apart from the CLI so tests and the benchmark build exactly the same
object graph the product runs.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.clock import SYSTEM, Now
from bot.core import Core
from bot.crypto import codec_from_settings
from bot.desk import SafetyDesk
from bot.features import FeatureKind
from bot.flows.flowset import FlowSet
from bot.flows.loader import load_flows
from bot.handover import TABLES as HANDOVER_TABLES
from bot.inbox import TABLES as INBOX_TABLES
from bot.moderation import Moderation, start_reload_triggers
from bot.privacy import Privacy
from bot.schema import Schema
from bot.settings import Settings
from bot.store import TABLES as STORE_TABLES
from bot.store import Store
from bot.timers import Timers

log = logging.getLogger(__name__)


#: Every feature the bot runs, in the order they see an update (moderators' commands first).
FEATURES: tuple[FeatureKind, ...] = (Moderation, Timers, SafetyDesk, Privacy)
#: The database every store of the bot opens: the store's own tables and each feature's.
SCHEMA = Schema([STORE_TABLES, INBOX_TABLES, HANDOVER_TABLES, *(kind.tables for kind in FEATURES)])


async def open_store(settings: Settings, clock: Now = SYSTEM) -> Store:
    """The store with the codec for data at rest (bot.crypto: encrypted with WEGWIJZER_ENCRYPTION_KEYS)."""
    return await Store.open(settings.db, codec_from_settings(settings), schema=SCHEMA,
                            synchronous=settings.db_synchronous, cache_kb=settings.db_cache_kb, clock=clock)


async def build_core(settings: Settings, flows: FlowSet | None = None, clock: Now = SYSTEM) -> Core:
    """The core with its store, both on one clock (``--today`` and tests move it)."""
    flows = flows or load_flows(settings, clock)
    store = await open_store(settings, clock)
    core = Core(settings, store, flows, clock)
    for kind in FEATURES:
        await kind.attach(core)
    if settings.health_port is not None:
        from bot.health import HealthServer  # aiohttp's server and prometheus_client only when asked for

        HealthServer.attach(core, settings.health_host, settings.health_port)
    return core


async def run_platforms(settings: Settings, clock: Now = SYSTEM) -> None:
    """Run every configured platform until SIGINT/SIGTERM."""
    core = await build_core(settings, clock=clock)
    # The adapters are imported only for the platforms in use: python-telegram-bot and nio are large.
    if settings.telegram_enabled:
        from bot.adapters.telegram import TelegramAdapter

        core.services.append(TelegramAdapter(settings, core))
    if settings.matrix_enabled:
        from bot.adapters.matrix import MatrixAdapter

        core.services.append(MatrixAdapter(settings, core))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await core.start()  # what a previous run owes first, then the platforms (Core.start)
    try:
        async with live_reload(core):
            log.info("running: %s", ", ".join(type(s).__name__ for s in core.services))
            await stop.wait()
    finally:
        await core.stop()
        await core.store.close()


@asynccontextmanager
async def live_reload(core: Core) -> AsyncIterator[None]:
    """The flow watcher (unless WEGWIJZER_WATCH_FLOWS is off) and SIGHUP, for every way the bot runs.

    Without it SIGHUP's default action ends the process ("Hangup").
    """
    triggers = await start_reload_triggers(core)
    try:
        yield
    finally:
        await triggers.stop()
