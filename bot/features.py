"""The core's extension points: a `Feature` takes part in turns, a `Service` runs beside the core.

Why typed protocols: the safety desk, moderation, privacy and timers each hook
into several moments of a turn; with lists of functions on the core, nothing
said which moments exist or what each receives. A feature is one object with
one method per moment, and mypy checks each:

- `writers()`: for an action type, a function run *inside* the turn's own
  transaction (a report, a timer, "my data"), so it is never lost between the
  turn and its handler. It gets the sqlite3 connection and returns messages for
  the same user, which go out right after the action that asked for them.
- `handlers()`: for an action type, what to do once the turn is committed
  (post a report to the desk now).
- `intercept(incoming)`: before the engine; return how to answer the update
  outside the flows (a moderator's /reload, a user talking to the desk), or
  None. Must decide without I/O.
- `on_turn(incoming, turn)`: after every committed turn (start work, count).
- `background()`: loops that run while the core runs (timers, desk delivery,
  retention).
- `forget(db, who)`: first thing in forget-me's transaction (the desk cuts a
  delivered report's link to the user instead of deleting it).
- `tables`: the feature's tables and numbered migrations (bot/schema.py); the
  product's schema is every feature's together (bot.app.SCHEMA), so a store can
  be opened and migrated before any feature is attached.

A class names `Feature` as its base and overrides only the moments it uses;
the defaults do nothing. The core calls features in the order they were added.

Must never: import the core at run time (the core imports this module), or do
I/O in `intercept` (it runs under the conversation's lock, before the turn).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self

from bot.events import Incoming, Send
from bot.schema import Tables

if TYPE_CHECKING:
    from bot.core import Core
    from bot.engine import Turn

#: How to answer an update outside the flows (see Feature.intercept).
Answer = Callable[[], Awaitable[list[Send]]]
#: (sqlite3 connection, incoming, action, turn) -> messages for the user; see Feature.writers
ActionWriter = Callable[[sqlite3.Connection, Incoming, Any, "Turn"], Sequence[Send]]
#: (incoming, action) -> done; see Feature.handlers
ActionHandler = Callable[[Incoming, Any], Awaitable[None]]
#: A loop that runs until the core stops it (cancelled).
Loop = Callable[[], Coroutine[Any, Any, None]]

#: Tables of a feature that stores nothing of its own.
NO_TABLES = Tables("none")


class Feature(Protocol):
    """Something that takes part in turns (see the module's docstring for each moment)."""

    #: the feature's tables and migrations (NO_TABLES if it keeps none)
    tables: ClassVar[Tables]

    def writers(self) -> Mapping[type, ActionWriter]:
        return {}

    def handlers(self) -> Mapping[type, ActionHandler]:
        return {}

    def intercept(self, incoming: Incoming) -> Answer | None:
        return None

    def on_turn(self, incoming: Incoming, turn: Turn) -> None:
        return None

    def background(self) -> Sequence[Loop]:
        return ()

    def forget(self, db: sqlite3.Connection, who: str) -> None:
        return None


class CoreFeature(Feature):
    """A feature that needs nothing but its core to start (timers, privacy)."""

    def __init__(self, core: Core) -> None:
        self.core = core

    @classmethod
    def add_to(cls, core: Core) -> Self:
        feature = cls(core)
        core.add(feature)
        return feature

    @classmethod
    async def attach(cls, core: Core) -> Self:
        return cls.add_to(core)


class FeatureKind(Protocol):
    """A feature's class as bot.app lists it: its tables exist before any core, `attach` makes
    the feature of one core (reading what it needs from the store) and adds it there."""

    @property
    def tables(self) -> Tables: ...

    async def attach(self, core: Core) -> Feature: ...


class Service(Protocol):
    """Something that runs beside the core between start and stop (a platform adapter, the flow watcher)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(eq=False)
class Hooks(Feature):
    """A feature made of plain functions: for an adapter that only watches turns (Matrix marks
    a room read) and for tests that count turns or see every update first."""

    tables: ClassVar[Tables] = NO_TABLES
    watch: Callable[[Incoming, Turn], None] | None = None
    answer: Callable[[Incoming], Answer | None] | None = field(default=None)

    def intercept(self, incoming: Incoming) -> Answer | None:
        return self.answer(incoming) if self.answer is not None else None

    def on_turn(self, incoming: Incoming, turn: Turn) -> None:
        if self.watch is not None:
            self.watch(incoming, turn)
