"""Reports and requests for a person, written in the turn's own transaction (the desk's writers).

Apart because this is the part that must never lose anything: a report's case,
its reference for the user and a card for every desk room are written in the
same transaction as the turn, so a crash loses neither; and because it alone
decides what a user is told when nobody can come (no desk, or the desk closed).

Never log a report's content or the user's conversation key.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot import engine
from bot.core import ZONE
from bot.desk import cases, shown
from bot.desk.cases import REPORT, TALK
from bot.desk.shared import DeskShared
from bot.desk.texts import role_of
from bot.events import Command, Edit, Forward, HandOff, Incoming, Send

log = logging.getLogger(__name__)
#: Logged when a report has nowhere to go (a scenario run, which has no desk, counts these instead).
NO_DESK = "a report could not be passed on: no desk is configured"


class Intake:
    """Writes reports (Forward) and requests for a person (HandOff) as cases with their cards."""

    def __init__(self, shared: DeskShared) -> None:
        self.shared = shared
        self.texts = shared.texts

    def write_report(self, db: sqlite3.Connection, incoming: Incoming, action: Forward,
                     turn: engine.Turn) -> Sequence[Send]:
        lang = self.texts.user_lang(incoming, turn)
        if not self.shared.rooms:
            log.error(NO_DESK)
            return [Send(self.texts.report_text(lang, action.report.kind, "no_desk"))]
        report = action.report
        now = self.shared.now()
        ref = cases.next_ref(db, self.shared.year(now))
        urgent = report.urgency == "high"
        body = {"kind": report.kind, "title": report.title, "fields": [list(f) for f in report.fields],
                "urgency": report.urgency}
        case = cases.insert_case(db, ref=ref, kind=REPORT, key=str(incoming.key), lang=lang, urgent=urgent,
                                 title=report.title, alias=None,
                                 body=self.shared.codec.encode(json.dumps(body, ensure_ascii=False)), now=now)
        details = "\n".join(f"{label}: {shown.one_line(value)}" for label, value in report.fields)
        card = self.texts.room("desk.room.report_card", urgency=self.texts.urgency(urgent, report.urgency),
                               ref=ref, title=report.title, when=self.texts.when(now), details=details)
        document = None
        if report.document is not None:
            doc = report.document
            document = [doc.filename, doc.title, doc.content, doc.mime, doc.caption]
        self.shared.post_in_every_room(db, case.id, "card", card, document, now)
        return [Send(self.texts.report_text(lang, report.kind, "report_ref", ref=ref))]

    def write_request(self, db: sqlite3.Connection, incoming: Incoming, action: HandOff,
                      turn: engine.Turn) -> Sequence[Send]:
        lang = self.texts.user_lang(incoming, turn)
        if not self.shared.rooms:
            nobody = self.texts.nobody(lang, "desk.user.unavailable", role_of(turn))
            return [Send(nobody), *self.question_again(turn, incoming)]
        now = self.shared.now()
        if not self.shared.hours.is_open(datetime.fromtimestamp(now, ZONE)):
            nobody = self.texts.nobody(lang, "desk.user.closed", role_of(turn), hours=self.texts.hours_text(lang))
            return [Send(nobody), *self.question_again(turn, incoming)]
        key = str(incoming.key)
        existing = cases.talk_of(db, key)
        if existing is not None:
            if action.urgent and not existing.urgent:
                self.shared.mark_urgent(db, existing, now)
            return [Send(self.texts.render(lang, "desk.user.talk_waiting_again", ref=existing.ref))]
        ref = cases.next_ref(db, self.shared.year(now))
        alias = self.texts.pseudonym(turn)
        title = self.texts.room("desk.room.talk_title", who=alias)
        case = cases.insert_case(db, ref=ref, kind=TALK, key=key, lang=lang, urgent=action.urgent,
                                 title=title, alias=alias, body=None, now=now)
        card = self.texts.room("desk.room.talk_card", urgency=self.texts.urgency(action.urgent), who=alias,
                               ref=ref, when=self.texts.when(now))
        self.shared.post_in_every_room(db, case.id, "card", card, None, now)
        return [Send(self.texts.render(lang, "desk.user.talk_waiting", ref=ref))]

    def question_again(self, turn: engine.Turn, incoming: Incoming) -> list[Send]:
        """Nobody can talk now: show the question the user was at, so they can go on.

        Not when the turn itself just asked it (a flow's `handoff` step goes on
        to its next question): the user would see it twice.
        """
        if turn.state is None or any(isinstance(a, Send | Edit) and a.token == turn.state.step
                                     for a in turn.actions):
            return []
        core = self.shared.core
        again = engine.handle(core.flows, turn.state, Command("verder"), core.context(incoming.lang_hint))
        return [Send(a.text, a.choices, a.token) for a in again.actions if isinstance(a, Send | Edit)]

    async def after_report(self, incoming: Incoming, action: Any) -> None:
        self.shared.wake()

    async def after_request(self, incoming: Incoming, action: Any) -> None:
        key = str(incoming.key)
        talk = await self.shared.core.store.execute(cases.talk_of, key, write=False)
        if talk is not None:
            self.shared.talks[key] = talk.id
        self.shared.wake()
