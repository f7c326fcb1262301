"""A world for desk, check-in and privacy tests: the real core, store and flows, a clock you move.

`World` builds exactly what bot.app builds (settings -> store -> core -> the
desk, timers and privacy extensions) on a temporary database, with a capture
outlet for the platform "test" standing in for Telegram/Matrix: users are
ConversationKey("test", <id>, <id>), the desk room is "test:desk" unless a
test configures others. Background loops are not started: a test fires
timers and posts desk messages when it wants (`fire_timers`, `post_desk`),
so every step is deterministic. `restart()` closes everything and builds a
new core on the same database file, like a restart of the bot.

The flow set is the shipped one plus `tests/desk_flows/` (a short report
flow with consent, so desk tests do not depend on the content's wording).
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot import privacy, timers
from bot.app import open_store
from bot.core import Core
from bot.desk import SafetyDesk, desk_of
from bot.desk import setup as desk_setup
from bot.events import Command, Edit, Send, Text, Timer
from bot.flows.flowset import FlowSet
from bot.flows.loader import load_flowset
from bot.settings import ROOT, Settings
from bot.testing import CaptureOutlet, ChatClient, FixedClock
from tests.postgres import Database, world_database

ZONE = ZoneInfo("Europe/Amsterdam")
#: A Monday morning, inside the default desk hours.
MONDAY_10 = datetime(2026, 11, 30, 10, 0, tzinfo=ZONE)
HERE = Path(__file__).resolve().parent


_FLOWS: list[FlowSet] = []


def build_flows() -> FlowSet:
    """The shipped flows and texts plus the test report flow, loaded like the bot loads them (once)."""
    if not _FLOWS:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            flows, locales = tmp / "flows", tmp / "locales"
            shutil.copytree(ROOT / "flows", flows)
            shutil.copytree(ROOT / "locales", locales)
            for file in (HERE / "desk_flows").glob("*.yaml"):
                shutil.copy(file, flows / file.name)
            for lang in ("nl", "en"):
                shutil.copy(HERE / "desk_flows" / "locales" / f"{lang}.yaml", locales / lang / "desk_test.yaml")
            _FLOWS.append(load_flowset(flows, locales, root=tmp))
    return _FLOWS[0]


def Clock(start: datetime = MONDAY_10) -> FixedClock:
    """A clock standing still on a Monday morning inside desk hours, until the test moves it."""
    return FixedClock(start)


class World:
    def __init__(self, tmp: Path, clock: FixedClock | None = None, **settings: Any) -> None:
        self.tmp = tmp
        self.clock = clock or Clock()
        values: dict[str, Any] = {"desks": "test:desk", "desk_hours": "always",
                                  "flood_per_minute": 0}  # scripted people type faster than real ones
        values.update(settings)
        #: SQLite, or PostgreSQL when WEGWIJZER_TEST_BACKEND says so (tests/postgres.py)
        self.database = Database.at(values["db"]) if "db" in values else world_database(tmp)
        values["db"] = self.database.location
        self.settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        self.flows = build_flows()
        self.outlet = CaptureOutlet()
        self.core: Core | None = None
        self._client: ChatClient | None = None  # one for the whole world: update ids stay unique across restarts

    async def start(self) -> World:
        store = await open_store(self.settings)
        core = Core(self.settings, store, self.flows, clock=self.clock)
        timers.setup(core)
        await desk_setup(core)
        privacy.setup(core)
        core.register(self.outlet)
        self.core = core
        if self._client is None:
            self._client = ChatClient(core, self.outlet)
        self._client.core, self._client.outlet = core, self.outlet
        return self

    async def restart(self, outlet: CaptureOutlet | None = None) -> None:
        await self.close()
        if outlet is not None:
            self.outlet = outlet
        await self.start()

    async def close(self) -> None:
        if self.core is not None:
            await self.desk.settle()
            await self.core.stop()
            await self.core.store.close()
            self.core = None

    def rows(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        """Rows read straight from the database, past the store (`?` placeholders on both backends)."""
        return self.database.read(sql, *args)

    @property
    def c(self) -> Core:
        assert self.core is not None
        return self.core

    @property
    def client(self) -> ChatClient:
        assert self._client is not None
        return self._client

    @property
    def desk(self) -> SafetyDesk:
        found = desk_of(self.c)
        assert found is not None
        return found

    # ------------------------------------------------------------ people
    async def send(self, user: str, event: Any, *, chat: str | None = None, **extra: str) -> list[str]:
        """One update from a user (or, with chat=<room>, from a desk member); the texts it got back."""
        before = len(self.outlet.texts(chat or user))
        await self.client.send(user, event, chat=chat, **extra)
        await self.desk.settle()  # what the desk relays in answer belongs to this turn
        return self.outlet.texts(chat or user)[before:]

    async def say(self, user: str, text: str) -> list[str]:
        return await self.send(user, Text(text))

    async def press(self, user: str, choice: str) -> list[str]:
        """Press a button of the last question shown to the user."""
        before = len(self.outlet.texts(user))
        await self.client.press(user, choice)
        await self.desk.settle()
        return self.outlet.texts(user)[before:]

    async def command(self, user: str, name: str, args: str = "") -> list[str]:
        return await self.send(user, Command(name, args))

    async def start_over(self, user: str, args: str = "") -> list[str]:
        """`/start` (a deep link in `args`), confirming "Opnieuw beginnen" when the bot asks first
        because answers were typed: a person who starts over on purpose."""
        said = await self.command(user, "start", args)
        asked = {self.flows.render(lang, "sys.restart.confirm", {}) for lang in ("nl", "en")}
        if said and said[-1] in asked:
            said = await self.press(user, "restart")
        return said

    async def desk_says(self, member: str, text: str, room: str = "desk", **extra: str) -> list[str]:
        """A desk member writes in a desk room; what the bot answered in that room."""
        return await self.send(member, Text(text), chat=room, **extra)

    # ------------------------------------------------------------ time and background work
    async def fire_timers(self) -> int:
        fired = await timers.fire_due(self.c)
        await self.desk.settle()
        return fired

    async def post_desk(self) -> int:
        return await self.desk.deliver_pending()

    async def timer(self, user: str, name: str) -> list[str]:
        return await self.send(user, Timer(name))

    def question(self, user: str) -> Send | Edit:
        return self.client.question(user)
