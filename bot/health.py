"""/healthz, /readyz and /metrics: a small aiohttp server beside the core, for whoever runs the bot.

Why three answers: the thing that runs the bot (systemd, a container's HEALTHCHECK, an
orchestrator, a load balancer in front of webhook workers) must tell apart "the process
hangs: restart it" from "it runs but cannot serve now: send it nothing, and wait".
- `/healthz` (liveness): answered by the event loop alone; nothing else is asked, so a
  database or platform outage never gets a healthy process killed.
- `/readyz` (readiness): the database answers a trivial query within `DATABASE_TIMEOUT_S`
  and every platform in use is connected (each adapter says why not, `Connection`). 200 when
  all is well, 503 naming each failing part. `lease` says whether this process holds the
  leases (bot/lease.py): "held", "standby" (another process polls; this one waits to take
  over, and is as ready as it should be) or "not clustered" (SQLite).
- `/metrics`: Prometheus' text format (bot/metrics.py).

Off unless `WEGWIJZER_HEALTH_PORT` is set; it binds 127.0.0.1 unless `WEGWIJZER_HEALTH_HOST`
says otherwise, because nothing here is for the public. Must never answer with a user id, a
text, a token or an exception's message: parts, states and error types only.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.lease import NOT_CLUSTERED
from bot.metrics import TurnMetrics

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

#: How long the database may take to answer readiness's query (or a scrape's reading).
DATABASE_TIMEOUT_S = 2.0
OK = "ok"
#: A platform that needs no connection (the console, a test's outlet).
NOT_APPLICABLE = "n/a"


@runtime_checkable
class Connection(Protocol):
    """A platform adapter that can say whether it is connected."""

    platform: str

    def readiness(self) -> str | None:
        """None when updates can come in and replies go out; else what is missing, in a few words."""
        ...


@dataclass(slots=True)
class Readiness:
    """Each part's state: "ok", "n/a" or what is wrong with it."""

    database: str
    platforms: dict[str, str] = field(default_factory=dict)
    lease: str = NOT_CLUSTERED

    @property
    def failing(self) -> list[str]:
        parts = [] if self.database == OK else ["database"]
        return parts + [f"platform {name}" for name, state in self.platforms.items() if state not in (OK, NOT_APPLICABLE)]

    def as_json(self) -> dict[str, object]:
        return {"ready": not self.failing, "failing": self.failing, "database": self.database,
                "platforms": self.platforms, "lease": self.lease}


async def database_state(core: Core, timeout: float = DATABASE_TIMEOUT_S) -> str:
    """"ok" when the store answers a trivial query in time; else why not (the error's type only)."""
    try:
        await asyncio.wait_for(core.store.execute(_one, write=False, wait=False), timeout)
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except Exception as exc:  # whatever either backend raises, the database is not there for turns
        return f"unreachable ({type(exc).__name__})"
    return OK


def _one(db: sqlite3.Connection) -> None:
    db.execute("SELECT 1").fetchone()


def platform_states(core: Core) -> dict[str, str]:
    """Every platform the core runs (its services and outlets): connected, not, or needing no connection."""
    states: dict[str, str] = {}
    for part in [*core.services, *core.outlets.values()]:
        platform = getattr(part, "platform", None)
        if not isinstance(platform, str):
            continue  # not a platform (this server, the flow watcher)
        if isinstance(part, Connection):
            states[platform] = part.readiness() or OK
        else:
            states.setdefault(platform, NOT_APPLICABLE)
    return dict(sorted(states.items()))


async def readiness(core: Core) -> Readiness:
    return Readiness(await database_state(core), platform_states(core), core.leases.state())


class HealthServer:
    """The Service (bot/features.py) serving the three answers for one core."""

    def __init__(self, core: Core, metrics: TurnMetrics, host: str, port: int) -> None:
        self.core = core
        self.metrics = metrics
        self.host = host
        #: the port asked for; once started, the one bound (0 asks for any free port)
        self.port = port
        self._runner: web.AppRunner | None = None

    @classmethod
    def attach(cls, core: Core, host: str, port: int) -> HealthServer:
        """Count the core's turns and serve the answers between the core's start and stop."""
        server = cls(core, TurnMetrics.add_to(core), host, port)
        core.services.append(server)
        return server

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.scrape)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        self._runner = runner
        self.port = runner.addresses[0][1]
        log.info("health: /healthz, /readyz and /metrics on %s port %d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(self, request: web.Request) -> web.Response:
        state = await readiness(self.core)
        return web.json_response(state.as_json(), status=503 if state.failing else 200)

    async def scrape(self, request: web.Request) -> web.Response:
        await self.metrics.read_store(DATABASE_TIMEOUT_S)
        return web.Response(body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})
