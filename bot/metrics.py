"""What /metrics tells an operator: turns, their latency, the queues and 429s; never who or what.

Why it looks like this:
- A private `CollectorRegistry` per core, not prometheus_client's global one: every core
  (tests build many in one process, the benchmark too) counts its own turns, and a second
  core never finds the names taken.
- Turns are counted through the core's own feature moments, so the core has no metrics
  code: `intercept` (which answers nothing here) marks when a turn's work begins and
  `on_turn` (after the commit) counts it, so the latency is the bot's own work on a turn
  (engine, writers, the store's commit), not the platform's time to show the replies.
- The queues (outbox, timers due, desk posts pending) are read from the store when scraped,
  not kept turn by turn: they are right after a restart, and they count what the database
  holds, also what another process put there.
- 429s are read from the platform adapters (`throttled`): they count them where they see them.

Must never: put a user id, chat id, conversation key, name or text into a label or a value.
The labels are fixed, short lists: platform (telegram, matrix, console), outcome, tier.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.events import Incoming
from bot.features import NO_TABLES, Answer, Feature
from bot.schema import Tables
from bot.store_thread import StoreUnavailable

if TYPE_CHECKING:
    from bot.core import Core
    from bot.engine import Turn

log = logging.getLogger(__name__)

#: Seconds; a turn is usually a few milliseconds (bench/README.md), a slow disk makes it more.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Turns begun and not yet counted, remembered at most (an update handled before ends
#: without a turn, so its mark is never taken back; they are dropped all at once here).
OPEN_TURNS_KEPT = 4096
#: The engine's statistics that are crisis answers, and their tier (bot/engine/crisis.py):
#: the help lines given at once, or the direct question first when the bot was not sure.
CRISIS_TIERS: Mapping[str, str] = {"crisis": "answer", "crisis_check": "check"}


@runtime_checkable
class CountsThrottling(Protocol):
    """A platform adapter that counts the 429s its platform answered (bot/adapters)."""

    platform: str

    @property
    def throttled(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Queues:
    """What waits in the database: replies not yet delivered, timers due, posts for a desk, webhook updates."""

    outbox: int
    timers_due: int
    desk_pending: int
    inbox: int


def read_queues(db: sqlite3.Connection, now: int) -> Queues:
    """Counts only (the tables are the store's, bot/timers.py's, bot/desk/cases.py's and bot/inbox.py's)."""
    row = db.execute(
        "SELECT (SELECT COUNT(*) FROM outbox), (SELECT COUNT(*) FROM timers WHERE due_at <= ?), "
        "(SELECT COUNT(*) FROM desk_outbox), (SELECT COUNT(*) FROM inbox)", (now,)).fetchone()
    return Queues(*(int(n) for n in row))


def outcome_of(turn: Turn) -> str:
    """ok; stale (a button of an earlier question); flow_error (the flow failed, the user restarted)."""
    if turn.error:
        return "flow_error"
    return "stale" if turn.stale else "ok"


class TurnMetrics(Feature):
    """The bot's metrics for one core: counted in its turns, read from its store and adapters."""

    tables: ClassVar[Tables] = NO_TABLES

    def __init__(self, core: Core) -> None:
        self.core = core
        self.registry = CollectorRegistry()
        self.turns = Counter("wegwijzer_turns", "Turns handled, by platform and outcome (ok, stale, flow_error)",
                             ["platform", "outcome"], registry=self.registry)
        self.latency = Histogram("wegwijzer_turn_seconds",
                                 "The bot's own work on a turn (engine, writers, commit), by platform",
                                 ["platform"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.crisis = Counter("wegwijzer_crisis_answers",
                              "Crisis answers by tier: answer (help lines at once) or check (asked directly first)",
                              ["tier"], registry=self.registry)
        #: the last reading of the queues; None when the database did not answer it
        self.queues: Queues | None = None
        self.registry.register(_StoreReadings(self))
        self.registry.register(_PlatformThrottling(core))
        self._begun: dict[int, float] = {}

    @classmethod
    def add_to(cls, core: Core) -> TurnMetrics:
        metrics = cls(core)
        core.add(metrics)
        return metrics

    def intercept(self, incoming: Incoming) -> Answer | None:
        """Answers nothing: the turn's work begins now (no feature before this one took the update)."""
        if len(self._begun) >= OPEN_TURNS_KEPT:
            self._begun.clear()
        self._begun[id(incoming)] = time.monotonic()
        return None

    def on_turn(self, incoming: Incoming, turn: Turn) -> None:
        platform = incoming.key.platform
        self.turns.labels(platform, outcome_of(turn)).inc()
        begun = self._begun.pop(id(incoming), None)
        if begun is not None:
            self.latency.labels(platform).observe(time.monotonic() - begun)
        for stat in turn.stats:
            tier = CRISIS_TIERS.get(stat.partition(":")[0])
            if tier is not None:
                self.crisis.labels(tier).inc()

    async def read_store(self, timeout: float) -> None:
        """Read the queues now (before a scrape); a database that does not answer leaves them out."""
        now = int(self.core.clock().timestamp())
        try:
            self.queues = await asyncio.wait_for(
                self.core.store.execute(read_queues, now, write=False, wait=False), timeout)
        except StoreUnavailable:  # the store said so in the log already, once
            self.queues = None
        except Exception as exc:  # any failure of either backend: the scrape says the database is down
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            self.queues = None

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)


class _StoreReadings(Collector):
    """The queues as gauges, from the last reading; only `wegwijzer_database_up 0` without one."""

    def __init__(self, metrics: TurnMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        queues = self.metrics.queues
        yield GaugeMetricFamily("wegwijzer_database_up", "1 when the database answered this scrape's reading",
                                value=int(queues is not None))
        if queues is None:
            return
        yield GaugeMetricFamily("wegwijzer_outbox_messages", "Replies queued and not yet delivered",
                                value=queues.outbox)
        yield GaugeMetricFamily("wegwijzer_timers_due", "Timers (check-ins) due and not yet fired",
                                value=queues.timers_due)
        yield GaugeMetricFamily("wegwijzer_desk_posts_pending", "Reports and notices not yet posted in a desk room",
                                value=queues.desk_pending)
        yield GaugeMetricFamily("wegwijzer_inbox_updates", "Webhook updates stored and not yet handled",
                                value=queues.inbox)


class _PlatformThrottling(Collector):
    """429s by platform, as the adapters counted them (a platform that counts none is left out)."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def collect(self) -> Iterable[Metric]:
        counts: dict[str, int] = {}
        for part in {id(p): p for p in [*self.core.services, *self.core.outlets.values()]}.values():
            if isinstance(part, CountsThrottling):
                counts[part.platform] = counts.get(part.platform, 0) + part.throttled
        family = CounterMetricFamily("wegwijzer_platform_429", "Rate-limit answers (429) from a platform",
                                     labels=["platform"])
        for platform, count in sorted(counts.items()):
            family.add_metric([platform], count)
        yield family
