"""A desk room's side: what desk members type (/queue, /claim, /r, /end, a reply) and its answers.

Apart because it speaks to two sides at once: it answers in the room and queues
the user's message in the same transaction (so a claimed report's "we have it"
or a member's answer survives a crash), then delivers to the user. Plain talk
between colleagues never reaches a user (commands.py reads what is a command).

Never log a text, a member's id, a pseudonym or a room id.
"""

from __future__ import annotations

import logging
import sqlite3

from bot.core import encode_outbound
from bot.desk import cases, shown
from bot.desk.cases import REPORT, TALK, Case, desk_id
from bot.desk.commands import DeskCommand, read_desk_message
from bot.desk.shared import DeskShared
from bot.events import Command, ConversationKey, Incoming, Send, Text
from bot.store import who_of

log = logging.getLogger(__name__)

#: Extra key an adapter sets on a desk room's message: the platform id of the message it replies to.
REPLY_TO = "reply_to"

#: Messages for users, queued in a transaction, delivered after it: (to whom, messages, outbox ids).
ToUser = list[tuple[ConversationKey, list[Send], list[int]]]


class DeskRoom:
    """Answers desk members' commands and carries their answers to the user of a talk."""

    def __init__(self, shared: DeskShared) -> None:
        self.shared = shared
        self.texts = shared.texts

    async def on_message(self, incoming: Incoming) -> list[Send]:
        command = read_desk_message(incoming.event)
        desk = desk_id(incoming.key.platform, incoming.key.chat)
        member = who_of(str(incoming.key))
        if command is None:
            replied = incoming.extra.get(REPLY_TO)
            if replied and isinstance(incoming.event, Text):
                return await self.reply_to_message(desk, replied, incoming.event.text)
            return []  # colleagues talking among themselves: never relayed
        log.info("desk command %s", command.action)
        if command.action == "queue":
            return await self.show_queue()
        if command.action == "help":
            return [Send(self.texts.room("desk.room.help"))]
        if command.action == "claim":
            return await self.claim(desk, member, command)
        if command.action == "reply":
            return await self.reply(desk, member, command)
        if command.action == "end":
            return await self.end(desk, member, command)
        return []

    async def show_queue(self) -> list[Send]:
        waiting = await self.shared.core.store.execute(cases.waiting, write=False)
        if not waiting:
            return [Send(self.texts.room("desk.room.queue_empty"))]
        items = "\n".join(self.texts.room("desk.room.queue_item", urgency=self.texts.urgency(c.urgent), ref=c.ref,
                                          title=c.title or c.kind, when=self.texts.when(c.created_at))
                          for c in waiting)
        return [Send(self.texts.room("desk.room.queue", items=items))]

    async def claim(self, desk: str, member: str, command: DeskCommand) -> list[Send]:
        if command.ref is None:
            return [Send(self.texts.room("desk.room.need_ref"))]
        ref = command.ref
        to_user: ToUser = []

        def write(db: sqlite3.Connection) -> list[Send]:
            case = cases.case_by_ref(db, ref)
            if case is None:
                return [Send(self.texts.room("desk.room.unknown", ref=ref))]
            if case.status in ("claimed", "active"):
                return [Send(self.texts.room("desk.room.already", ref=ref))]
            if case.status != "open":
                return [Send(self.texts.room("desk.room.closed_case", ref=ref))]
            now = self.shared.now()
            status = "active" if case.kind == TALK else "claimed"
            cases.set_status(db, case.id, status, now, claimed_at=now, claimed_by=member, claimed_in=desk)
            notice = self.texts.room("desk.room.claimed_elsewhere", ref=ref)
            for platform, room in self.shared.rooms:
                if desk_id(platform, room) != desk:
                    cases.queue_post(db, self.shared.codec, desk_id(platform, room), None, "notice", notice, None,
                                     now)
            if case.kind == REPORT:
                return self._claimed_report(db, case, to_user, now)
            return self._claimed_talk(db, case, to_user, now)

        replies = await self.shared.core.store.execute(write)
        await self._deliver(to_user)
        self.shared.wake()
        return replies

    def _claimed_report(self, db: sqlite3.Connection, case: Case, to_user: ToUser, now: int) -> list[Send]:
        if case.key is None:
            return [Send(self.texts.room("desk.room.claimed_report_forgotten", ref=case.ref))]
        message = [Send(self.texts.render(case.lang, "desk.user.report_claimed", ref=case.ref))]
        to_user.append(self._queue_user(db, case.key, message, now))
        return [Send(self.texts.room("desk.room.claimed_report", ref=case.ref))]

    def _claimed_talk(self, db: sqlite3.Connection, case: Case, to_user: ToUser, now: int) -> list[Send]:
        assert case.key is not None
        message = [Send(self.texts.render(case.lang, "desk.user.joined"))]
        to_user.append(self._queue_user(db, case.key, message, now))
        replies = [Send(self.texts.room("desk.room.claimed_talk", ref=case.ref, who=case.alias or ""))]
        earlier = [text for side, text, _ in cases.transcript(db, self.shared.codec, case.id) if side == "user"]
        if earlier:
            replies.append(Send(self.texts.room("desk.room.earlier", who=case.alias or "", text="\n".join(earlier))))
        return replies

    async def _talk_ref(self, desk: str, member: str, command: DeskCommand) -> str | None:
        """The talk a desk command is about: its reference, or the one talk this member holds."""
        if command.ref is not None:
            return command.ref
        held = await self.shared.core.store.execute(cases.active_talks_held_by, member, desk, write=False)
        return held[0].ref if len(held) == 1 else None

    async def reply(self, desk: str, member: str, command: DeskCommand) -> list[Send]:
        ref = await self._talk_ref(desk, member, command)
        if ref is None:
            return [Send(self.texts.room("desk.room.which_talk"))]
        if not command.rest:
            return [Send(self.texts.room("desk.room.empty_reply", ref=ref))]
        return await self._say_to_user(desk, ref, command.rest)

    async def reply_to_message(self, desk: str, replied: str, text: str) -> list[Send]:
        case = await self.shared.core.store.execute(cases.case_of_message, desk, replied, write=False)
        if case is None or case.kind != TALK or case.status != "active":
            return []
        return await self._say_to_user(desk, case.ref, text)

    async def _say_to_user(self, desk: str, ref: str, said: str) -> list[Send]:
        to_user: ToUser = []
        text, cut = shown.capped(shown.plain(said).strip(), shown.TO_USER_LIMIT)

        def write(db: sqlite3.Connection) -> list[Send]:
            case = cases.case_by_ref(db, ref)
            if case is None:
                return [Send(self.texts.room("desk.room.unknown", ref=ref))]
            if case.kind != TALK or case.status != "active" or case.claimed_in != desk or case.key is None:
                return [Send(self.texts.room("desk.room.not_active", ref=ref))]
            now = self.shared.now()
            cases.log_relay(db, self.shared.codec, case, "desk", text, now)
            message = [Send(self.texts.render(case.lang, "desk.user.from_desk", text=text))]
            to_user.append(self._queue_user(db, case.key, message, now))
            if not cut:
                return []
            return [Send(self.texts.room("desk.room.reply_cut", ref=ref, limit=shown.TO_USER_LIMIT))]

        replies = await self.shared.core.store.execute(write)
        await self._deliver(to_user)
        return replies

    async def end(self, desk: str, member: str, command: DeskCommand) -> list[Send]:
        """A member ends a talk: the user is told, and their flow shows the question they were at."""
        ref = await self._talk_ref(desk, member, command)
        if ref is None:
            return [Send(self.texts.room("desk.room.need_ref"))]
        to_user: ToUser = []
        ended: list[tuple[str, str]] = []  # (conversation key, language) of the user told

        def write(db: sqlite3.Connection) -> list[Send]:
            case = cases.case_by_ref(db, ref)
            if case is None:
                return [Send(self.texts.room("desk.room.unknown", ref=ref))]
            if case.kind != TALK or case.status != "active" or case.claimed_in != desk:
                return [Send(self.texts.room("desk.room.not_active", ref=ref))]
            now = self.shared.now()
            cases.set_status(db, case.id, "ended", now)
            if case.key is not None:
                message = [Send(self.texts.render(case.lang, "desk.user.ended_by_desk"))]
                to_user.append(self._queue_user(db, case.key, message, now))
                ended.append((case.key, case.lang))
            return [Send(self.texts.room("desk.room.ended", ref=ref))]

        replies = await self.shared.core.store.execute(write)
        for key, _ in ended:
            self.shared.talks.pop(key, None)
        await self._deliver(to_user)
        for key, lang in ended:
            await self.shared.core.handle(Incoming(ConversationKey.parse(key), Command("verder"), lang_hint=lang))
        return replies

    def _queue_user(self, db: sqlite3.Connection, key: str, messages: list[Send],
                    now: int) -> tuple[ConversationKey, list[Send], list[int]]:
        outbox_id = cases.queue_for_user(db, self.shared.codec, key, encode_outbound(messages), now)
        return ConversationKey.parse(key), messages, [outbox_id]

    async def _deliver(self, batches: ToUser) -> None:
        for conv, messages, ids in batches:
            await self.shared.core.deliver(conv, messages, None, ids)
