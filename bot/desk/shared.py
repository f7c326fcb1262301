"""What every part of the safety desk shares: the core, the rooms, the texts, the running talks.

Apart so that the parts (intake.py, relay.py, room.py, delivery.py) each hold
one concern and none imports another part's class to reach the common state.
`talks` is the one thing decided without I/O (the core's intercept): which
conversations are waiting for or in a talk.

Never log a room id, a conversation key or a text.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.core import ZONE
from bot.desk import cases
from bot.desk.cases import Case, desk_id
from bot.desk.hours import DeskHours
from bot.desk.texts import DeskTexts

if TYPE_CHECKING:
    from bot.core import Core


class DeskShared:
    """The desk's common state and the few writes several parts make alike."""

    def __init__(self, core: Core) -> None:
        self.core = core
        settings = core.settings
        self.rooms: list[tuple[str, str]] = settings.desk_rooms()
        self.room_set = set(self.rooms)
        self.hours = DeskHours.parse(settings.desk_hours, settings.desk_holidays)
        self.texts = DeskTexts(core, settings.desk_lang, self.hours)
        #: conversation key -> id of its open request or running talk (the intercept must decide without I/O)
        self.talks: dict[str, int] = {}
        self.woken = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def codec(self) -> Any:
        return self.core.store.codec

    def now(self) -> int:
        return int(self.core.clock().timestamp())

    def year(self, epoch: int) -> int:
        return datetime.fromtimestamp(epoch, ZONE).year

    def wake(self) -> None:
        """Post what waits in the desk rooms now, not at the next tick."""
        self.woken.set()

    def post_in_every_room(self, db: sqlite3.Connection, case_id: int | None, what: str, text: str,
                           document: list[str] | None, now: int) -> None:
        for platform, room in self.rooms:
            cases.queue_post(db, self.codec, desk_id(platform, room), case_id, what, text, document, now)

    def mark_urgent(self, db: sqlite3.Connection, case: Case, now: int) -> None:
        """A request or talk became urgent: the room holding it (or every room) is told."""
        db.execute("UPDATE cases SET urgent = 1 WHERE id = ?", (case.id,))
        notice = self.texts.room("desk.room.now_urgent", ref=case.ref, who=case.alias or "")
        if case.status == "active" and case.claimed_in:
            cases.queue_post(db, self.codec, case.claimed_in, None, "notice", notice, None, now)
        else:
            self.post_in_every_room(db, None, "notice", notice, None, now)

    def talk_over(self, db: sqlite3.Connection, case: Case, now: int) -> str:
        """The user ended or withdrew a talk: tell the room holding it, or every room a request
        waits in; the status it ends with (the notice is tied to no case: it may be deleted next)."""
        if case.status == "active" and case.claimed_in:
            notice = self.texts.room("desk.room.user_ended", who=case.alias or "", ref=case.ref)
            cases.queue_post(db, self.codec, case.claimed_in, None, "notice", notice, None, now)
            return "ended"
        self.post_in_every_room(db, None, "notice", self.texts.room("desk.room.withdrawn", ref=case.ref), None, now)
        return "withdrawn"

    def spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait for follow-up work (a resumed flow after a talk); for tests and shutdown."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
