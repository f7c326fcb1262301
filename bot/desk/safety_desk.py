"""The safety desk: reports and requests for a person reach people, and talks are relayed.

What happens, in order:
1. A flow's `report` step (Forward) or a request for a person (HandOff) is
   written in the turn's own transaction (the desk's `writers`): a case with a
   reference (WW-2026-0001), the user's reference message in the outbox and
   a card for every desk room in desk_outbox. Nothing is lost to a crash.
2. A loop posts desk_outbox through the platform outlet's `deliver_to_room`
   and retries (with backoff) until the platform accepts it, also after a
   restart. Posts to one room keep their order.
3. In a desk room, members type /queue, /claim, /r, /end (see commands.py).
   Claiming a report tells the reporter; claiming a request starts a talk:
   from then on the user's texts go to that room (with a pseudonym, never
   the account) and `/r` (or a reply to one of the talk's messages) goes to
   the user (signed with the desk's name, never the member's). Either side
   ends it; the user's flow then shows the question they were at.
4. While a request is open or a talk runs, the user's texts go to the desk,
   not the engine; the crisis check still runs on each of them.

The desk is a Feature (bot/features.py): the desk rooms' messages and the
relayed users' messages are routed here by its `intercept`; adapters pass a desk room's messages to the core
like any other, with `Incoming.extra["reply_to"]` naming the message a
member replied to, if the platform says so.

This class only wires the parts together, each in its own module with its own
reason to be apart: intake.py (reports and requests, in the turn's
transaction), relay.py (the user's side of a talk), room.py (the desk
members' side), delivery.py (posting in the rooms), texts.py (what the desk
says) and shared.py (what they share).

Never log a text, a pseudonym, a conversation key or a room id.
"""

from __future__ import annotations

import logging
import sqlite3
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

from bot import engine
from bot.desk import cases
from bot.desk.cases import TALK
from bot.desk.delivery import RoomDelivery
from bot.desk.intake import Intake
from bot.desk.relay import UserSide
from bot.desk.room import REPLY_TO, DeskRoom
from bot.desk.shared import DeskShared
from bot.desk.texts import render_or_fallback
from bot.events import ForgetUser, Forward, HandOff, Incoming
from bot.features import ActionHandler, ActionWriter, Answer, Feature, Loop
from bot.schema import Tables
from bot.store import who_of

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

__all__ = ["REPLY_TO", "SafetyDesk", "desk_of", "render_or_fallback", "setup"]


class SafetyDesk(Feature):
    tables: ClassVar[Tables] = cases.TABLES

    def __init__(self, core: Core) -> None:
        self.core = core
        self.shared = DeskShared(core)
        self.rooms = self.shared.rooms
        self.intake = Intake(self.shared)
        self.user_side = UserSide(self.shared)
        self.room = DeskRoom(self.shared)
        self.delivery = RoomDelivery(self.shared)

    @property
    def talks(self) -> dict[str, int]:
        """Conversation key -> its open request or running talk (privacy.py reloads it after a restore)."""
        return self.shared.talks

    @talks.setter
    def talks(self, value: dict[str, int]) -> None:
        self.shared.talks = value

    # ------------------------------------------------------------ wiring
    @classmethod
    async def attach(cls, core: Core) -> SafetyDesk:
        """The desk of this core (bot.app.FEATURES): its rooms, the talks that were running."""
        desk = cls(core)
        desk.talks = dict(await core.store.execute(cases.open_talks, write=False))
        core.add(desk)
        _DESKS[core] = desk
        core.desk_available = bool(desk.rooms)  # flows may promise an alert only if one can be sent
        if not desk.rooms:
            log.warning("no WEGWIJZER_DESKS: reports and requests for a person cannot reach anyone")
        return desk

    def writers(self) -> Mapping[type, ActionWriter]:
        return {Forward: self.intake.write_report, HandOff: self.intake.write_request}

    def handlers(self) -> Mapping[type, ActionHandler]:
        return {Forward: self.intake.after_report, HandOff: self.intake.after_request}

    def background(self) -> Sequence[Loop]:
        return [self.delivery.loop]

    def intercept(self, incoming: Incoming) -> Answer | None:
        """A desk room's message goes to the room's side; a relayed user's update to the user's side."""
        if (incoming.key.platform, incoming.key.chat) in self.shared.room_set:
            return lambda: self.room.on_message(incoming)
        return self.user_side.route(incoming)

    def wake(self) -> None:
        self.shared.wake()

    async def deliver_pending(self) -> int:
        """Post what is due in the desk rooms now (tests; the loop does it by itself)."""
        return await self.delivery.deliver_pending()

    # ------------------------------------------------------------ forget me
    def forget(self, db: sqlite3.Connection, who: str) -> None:
        """Before the user's rows go: tell the desk a request or talk is over; keep delivered reports."""
        now = self.shared.now()
        for case in cases.cases_of(db, who):
            if case.kind == TALK and case.status in cases.OPEN_TALK:
                self.shared.talk_over(db, case, now)
        # A report every desk received stays with the organisation, without a link to the user.
        db.execute("UPDATE cases SET who = NULL, key = NULL, addr = NULL, body = NULL, alias = NULL "
                   "WHERE who = pseudonym(?) AND kind = ? AND delivered_at IS NOT NULL", (who, cases.REPORT))

    def on_turn(self, incoming: Incoming, turn: engine.Turn) -> None:
        if any(isinstance(a, ForgetUser) for a in turn.actions):
            who = who_of(str(incoming.key))
            for key in [k for k in self.talks if who_of(k) == who]:
                self.talks.pop(key, None)
            self.wake()

    async def settle(self) -> None:
        """Wait for follow-up work (a resumed flow after a talk); for tests and shutdown."""
        await self.shared.settle()


_DESKS: weakref.WeakKeyDictionary[Core, SafetyDesk] = weakref.WeakKeyDictionary()


def desk_of(core: Core) -> SafetyDesk | None:
    """The desk attached to a core (for the CLI, tests and other modules)."""
    return _DESKS.get(core)


async def setup(core: Core) -> SafetyDesk:
    """Attach a safety desk to a core (what bot.app does for every feature)."""
    return await SafetyDesk.attach(core)
