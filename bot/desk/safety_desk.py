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

Never log a text, a pseudonym, a conversation key or a room id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sqlite3
import weakref
from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from bot import engine
from bot.core import ZONE, encode_outbound
from bot.desk import cases, shown
from bot.desk.cases import REPORT, TALK, Case, Post, desk_id, desk_parts
from bot.desk.commands import DeskCommand, read_desk_message
from bot.desk.hours import DAYS, DeskHours
from bot.engine import words
from bot.events import (
    Choice,
    Command,
    ConversationKey,
    Document,
    Edit,
    ForgetUser,
    Forward,
    HandOff,
    Incoming,
    Send,
    Text,
    Timer,
    Unsupported,
)
from bot.features import ActionHandler, ActionWriter, Answer, Feature, Loop
from bot.periodic import every
from bot.schema import Tables
from bot.store import who_of

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

#: Extra key an adapter sets on a desk room's message: the platform id of the message it replies to.
REPLY_TO = "reply_to"
#: Typed by a user in a talk (or while waiting): end it.
END_WORDS = frozenset({"stop", "stoppen", "einde", "end", "klaar met praten"})
END_COMMANDS = frozenset({"stop", "end", "einde"})
#: Seconds between delivery rounds when nothing wakes the loop.
DELIVERY_TICK = 2.0
#: Longest wait between two attempts to post in a desk room.
MAX_BACKOFF = 300


class SafetyDesk(Feature):
    tables: ClassVar[Tables] = cases.TABLES

    def __init__(self, core: Core) -> None:
        self.core = core
        settings = core.settings
        self.rooms: list[tuple[str, str]] = settings.desk_rooms()
        self.room_set = set(self.rooms)
        self.hours = DeskHours.parse(settings.desk_hours, settings.desk_holidays)
        self.lang = settings.desk_lang
        #: conversation key -> id of its open request or running talk (the intercept must decide without I/O)
        self.talks: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._no_outlet: set[str] = set()

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
        return {Forward: self.write_report, HandOff: self.write_request}

    def handlers(self) -> Mapping[type, ActionHandler]:
        return {Forward: self._after_write, HandOff: self._after_request}

    def background(self) -> Sequence[Loop]:
        return [self.delivery_loop]

    # ------------------------------------------------------------ texts
    @property
    def codec(self) -> Any:
        return self.core.store.codec

    def now(self) -> int:
        return int(self.core.clock().timestamp())

    def render(self, lang: str, key: str, **values: Any) -> str:
        """A desk text; never raises, so a missing text cannot lose a report (it is logged)."""
        flows = self.core.flows
        if lang not in flows.locales.languages:
            lang = self.core.settings.default_lang
        return render_or_fallback(flows, lang, key, {"desk": _text(flows, lang, "desk.name", {}, "Wegwijzer"),
                                                     **values})

    def report_text(self, lang: str, kind: str, name: str, **values: Any) -> str:
        """What a reporter is told about their report: the kind's own text if there is one.

        The desk alone knows whether a report was stored for a desk, so the
        flow does not confirm it; a kind (`incident`) can say it in its own
        words and, without a desk, say what the person can do themselves.
        """
        specific = f"desk.user.by_kind.{kind}.{name}"
        key = specific if self.core.flows.locales.has(lang, specific) else f"desk.user.{name}"
        return self.render(lang, key, **values)

    def room_text(self, key: str, **values: Any) -> str:
        return self.render(self.lang, key, **values)

    def when(self, epoch: int) -> str:
        return datetime.fromtimestamp(epoch, ZONE).strftime("%d-%m-%Y %H:%M")

    def year(self, epoch: int) -> int:
        return datetime.fromtimestamp(epoch, ZONE).year

    def urgency(self, urgent: bool, level: str = "normal") -> str:
        return self.room_text(f"desk.room.urgency.{'high' if urgent else level}")

    def hours_text(self, lang: str) -> str:
        names = {day: self.render(lang, f"desk.hours.day.{day}") for day in DAYS}
        return self.hours.describe(names, self.render(lang, "desk.hours.always"),
                                   self.render(lang, "desk.hours.not_on_holidays"))

    def user_lang(self, incoming: Incoming, turn: engine.Turn | None) -> str:
        if turn is not None and turn.lang:  # also when the report ended the conversation
            return turn.lang
        return self.core.flows.locales.pick(incoming.lang_hint, self.core.settings.default_lang)

    def pseudonym(self, turn: engine.Turn) -> str:
        role = str(turn.state.vars.get("role", "")) if turn.state else ""
        if role not in ("parent", "professional"):
            role = "other"
        return f"{self.room_text(f'desk.room.role.{role}')} #{secrets.token_hex(2).upper()}"

    # ------------------------------------------------------------ in the turn's transaction
    def write_report(self, db: sqlite3.Connection, incoming: Incoming, action: Forward,
                     turn: engine.Turn) -> Sequence[Send]:
        lang = self.user_lang(incoming, turn)
        if not self.rooms:
            log.error("a report could not be passed on: no desk is configured")
            return [Send(self.report_text(lang, action.report.kind, "no_desk"))]
        report = action.report
        now = self.now()
        ref = cases.next_ref(db, self.year(now))
        urgent = report.urgency == "high"
        body = {"kind": report.kind, "title": report.title, "fields": [list(f) for f in report.fields],
                "urgency": report.urgency}
        case = cases.insert_case(db, ref=ref, kind=REPORT, key=str(incoming.key), lang=lang, urgent=urgent,
                                 title=report.title, alias=None,
                                 body=self.codec.encode(json.dumps(body, ensure_ascii=False)), now=now)
        details = "\n".join(f"{label}: {shown.one_line(value)}" for label, value in report.fields)
        card = self.room_text("desk.room.report_card", urgency=self.urgency(urgent, report.urgency), ref=ref,
                              title=report.title, when=self.when(now), details=details)
        document = None
        if report.document is not None:
            doc = report.document
            document = [doc.filename, doc.title, doc.content, doc.mime, doc.caption]
        for platform, room in self.rooms:
            cases.queue_post(db, self.codec, desk_id(platform, room), case.id, "card", card, document, now)
        return [Send(self.report_text(lang, report.kind, "report_ref", ref=ref))]

    def write_request(self, db: sqlite3.Connection, incoming: Incoming, action: HandOff,
                      turn: engine.Turn) -> Sequence[Send]:
        lang = self.user_lang(incoming, turn)
        if not self.rooms:
            return [Send(self.render(lang, "desk.user.unavailable")), *self.question_again(turn, incoming)]
        now = self.now()
        if not self.hours.is_open(datetime.fromtimestamp(now, ZONE)):
            return [Send(self.render(lang, "desk.user.closed", hours=self.hours_text(lang))),
                    *self.question_again(turn, incoming)]
        key = str(incoming.key)
        existing = cases.talk_of(db, key)
        if existing is not None:
            if action.urgent and not existing.urgent:
                self._mark_urgent(db, existing, now)
            return [Send(self.render(lang, "desk.user.talk_waiting_again", ref=existing.ref))]
        ref = cases.next_ref(db, self.year(now))
        alias = self.pseudonym(turn)
        title = self.room_text("desk.room.talk_title", who=alias)
        case = cases.insert_case(db, ref=ref, kind=TALK, key=key, lang=lang, urgent=action.urgent,
                                 title=title, alias=alias, body=None, now=now)
        card = self.room_text("desk.room.talk_card", urgency=self.urgency(action.urgent), who=alias,
                              ref=ref, when=self.when(now))
        for platform, room in self.rooms:
            cases.queue_post(db, self.codec, desk_id(platform, room), case.id, "card", card, None, now)
        return [Send(self.render(lang, "desk.user.talk_waiting", ref=ref))]

    def question_again(self, turn: engine.Turn, incoming: Incoming) -> list[Send]:
        """Nobody can talk now: show the question the user was at, so they can go on.

        Not when the turn itself just asked it (a flow's `handoff` step goes on
        to its next question): the user would see it twice.
        """
        if turn.state is None or any(isinstance(a, Send | Edit) and a.token == turn.state.step
                                     for a in turn.actions):
            return []
        again = engine.handle(self.core.flows, turn.state, Command("verder"), self.core.context(incoming.lang_hint))
        return [Send(a.text, a.choices, a.token) for a in again.actions if isinstance(a, Send | Edit)]

    def _mark_urgent(self, db: sqlite3.Connection, case: Case, now: int) -> None:
        db.execute("UPDATE cases SET urgent = 1 WHERE id = ?", (case.id,))
        notice = self.room_text("desk.room.now_urgent", ref=case.ref, who=case.alias or "")
        targets = [case.claimed_in] if case.status == "active" and case.claimed_in else \
            [desk_id(p, r) for p, r in self.rooms]
        for desk in targets:
            cases.queue_post(db, self.codec, desk, None, "notice", notice, None, now)

    async def _after_write(self, incoming: Incoming, action: Any) -> None:
        self.wake()

    async def _after_request(self, incoming: Incoming, action: Any) -> None:
        key = str(incoming.key)
        talk = await self.core.store.execute(cases.talk_of, key, write=False)
        if talk is not None:
            self.talks[key] = talk.id
        self.wake()

    # ------------------------------------------------------------ routing (the core's intercept)
    def intercept(self, incoming: Incoming) -> Answer | None:
        conv = incoming.key
        if (conv.platform, conv.chat) in self.room_set:
            return lambda: self.on_desk_message(incoming)
        key = str(conv)
        if key not in self.talks:
            return None
        event = incoming.event
        if isinstance(event, Timer):
            return None  # a check-in still asks during a talk
        if isinstance(event, Command):
            name = event.name.lower().lstrip("/")
            if name in END_COMMANDS:
                return lambda: self.user_ends(incoming)
            if words.COMMANDS.get(name) in ("forget", "mydata"):
                if words.COMMANDS.get(name) == "forget":
                    self.release(key)
                return None
            return lambda: self.user_busy(incoming)
        if isinstance(event, Text):
            word = words.normalise(event.text)
            if word in END_WORDS:
                return lambda: self.user_ends(incoming)
            meaning = words.KEYWORDS.get(word)
            if meaning == "mydata":
                return None
            if meaning == "forget":
                self.release(key)
                return None
            return lambda: self.relay_from_user(incoming)
        if isinstance(event, Choice):
            if event.step_token.startswith("_"):
                return None  # a system question (forget me, language) still works
            return lambda: self.user_busy(incoming)
        if isinstance(event, Unsupported):
            return lambda: self.user_only_text(incoming)
        return None

    def release(self, key: str) -> None:
        """The user asked to be forgotten mid-talk: end the talk now; the engine asks to confirm."""
        case_id = self.talks.pop(key, None)
        if case_id is not None:
            self._spawn(self._end_by_user(case_id))

    # ------------------------------------------------------------ the user's side
    async def relay_from_user(self, incoming: Incoming) -> list[Send]:
        assert isinstance(incoming.event, Text)
        detector = self.core.flows.crisis
        found = detector.detect(incoming.event.text) if detector is not None else None  # all of it, as typed
        text, cut = shown.capped(shown.one_line(incoming.event.text), shown.TO_DESK_LIMIT)
        key = str(incoming.key)

        def write(db: sqlite3.Connection) -> Case | None:
            case = cases.talk_of(db, key)
            if case is None:
                return None
            now = self.now()
            cases.log_relay(db, self.codec, case, "user", text, now)
            if found is not None and not case.urgent:
                self._mark_urgent(db, case, now)
            if case.status == "active" and case.claimed_in:
                template = "desk.room.from_user_crisis" if found is not None else "desk.room.from_user"
                line = self.room_text(template, who=case.alias or "", ref=case.ref, text=text)
                cases.queue_post(db, self.codec, case.claimed_in, case.id, "relay", line, None, now)
            return case

        case = await self.core.store.execute(write)
        if case is None:  # ended by the desk a moment ago
            self.talks.pop(key, None)
            return []
        self.wake()
        told = [Send(self.render(case.lang, "desk.user.relay_cut", limit=shown.TO_DESK_LIMIT))] if cut else []
        if found is None:
            return told
        return [Send(self.render(case.lang, found.reply)), *told]

    async def user_ends(self, incoming: Incoming) -> list[Send]:
        key = str(incoming.key)
        case_id = self.talks.pop(key, None)
        if case_id is None:
            return []
        case = await self._end_by_user(case_id)
        if case is None:
            return []
        # the engine shows the question the user was at, once this answer is out
        self._spawn(self.core.handle(Incoming(incoming.key, Command("verder"), lang_hint=case.lang)))
        return [Send(self.render(case.lang, "desk.user.withdrawn" if case.status == "open" else "desk.user.ended"))]

    async def _end_by_user(self, case_id: int) -> Case | None:
        def write(db: sqlite3.Connection) -> Case | None:
            case = cases.case_by_id(db, case_id)
            if case is None or case.status not in cases.OPEN_TALK:
                return None
            now = self.now()
            if case.status == "active" and case.claimed_in:
                notice = self.room_text("desk.room.user_ended", who=case.alias or "", ref=case.ref)
                cases.queue_post(db, self.codec, case.claimed_in, None, "notice", notice, None, now)
                cases.set_status(db, case.id, "ended", now)
            else:
                notice = self.room_text("desk.room.withdrawn", ref=case.ref)
                for platform, room in self.rooms:
                    cases.queue_post(db, self.codec, desk_id(platform, room), None, "notice", notice, None, now)
                cases.set_status(db, case.id, "withdrawn", now)
            return case

        case = await self.core.store.execute(write)
        self.wake()
        return case

    async def user_busy(self, incoming: Incoming) -> list[Send]:
        return [Send(self.render(self._lang_of_talk(incoming), "desk.user.busy"))]

    async def user_only_text(self, incoming: Incoming) -> list[Send]:
        return [Send(self.render(self._lang_of_talk(incoming), "desk.user.only_text"))]

    def _lang_of_talk(self, incoming: Incoming) -> str:
        return self.user_lang(incoming, None)

    # ------------------------------------------------------------ the desk's side
    async def on_desk_message(self, incoming: Incoming) -> list[Send]:
        command = read_desk_message(incoming.event)
        desk = desk_id(incoming.key.platform, incoming.key.chat)
        member = who_of(str(incoming.key))
        if command is None:
            replied = incoming.extra.get(REPLY_TO)
            if replied and isinstance(incoming.event, Text):
                return await self.reply_to_message(desk, member, replied, incoming.event.text)
            return []  # colleagues talking among themselves: never relayed
        log.info("desk command %s", command.action)
        if command.action == "queue":
            return await self.show_queue()
        if command.action == "help":
            return [Send(self.room_text("desk.room.help"))]
        if command.action == "claim":
            return await self.claim(desk, member, command)
        if command.action == "reply":
            return await self.reply(desk, member, command)
        if command.action == "end":
            return await self.end_by_desk(desk, member, command)
        return []

    async def show_queue(self) -> list[Send]:
        waiting = await self.core.store.execute(cases.waiting, write=False)
        if not waiting:
            return [Send(self.room_text("desk.room.queue_empty"))]
        items = "\n".join(self.room_text("desk.room.queue_item", urgency=self.urgency(c.urgent), ref=c.ref,
                                         title=c.title or c.kind, when=self.when(c.created_at))
                          for c in waiting)
        return [Send(self.room_text("desk.room.queue", items=items))]

    async def claim(self, desk: str, member: str, command: DeskCommand) -> list[Send]:
        if command.ref is None:
            return [Send(self.room_text("desk.room.need_ref"))]
        ref = command.ref
        to_user: list[tuple[ConversationKey, list[Send], list[int]]] = []

        def write(db: sqlite3.Connection) -> list[Send]:
            case = cases.case_by_ref(db, ref)
            if case is None:
                return [Send(self.room_text("desk.room.unknown", ref=ref))]
            if case.status in ("claimed", "active"):
                return [Send(self.room_text("desk.room.already", ref=ref))]
            if case.status != "open":
                return [Send(self.room_text("desk.room.closed_case", ref=ref))]
            now = self.now()
            status = "active" if case.kind == TALK else "claimed"
            cases.set_status(db, case.id, status, now, claimed_at=now, claimed_by=member, claimed_in=desk)
            notice = self.room_text("desk.room.claimed_elsewhere", ref=ref)
            for platform, room in self.rooms:
                if desk_id(platform, room) != desk:
                    cases.queue_post(db, self.codec, desk_id(platform, room), None, "notice", notice, None, now)
            if case.kind == REPORT:
                if case.key is None:
                    return [Send(self.room_text("desk.room.claimed_report_forgotten", ref=ref))]
                message = [Send(self.render(case.lang, "desk.user.report_claimed", ref=ref))]
                to_user.append(self._queue_user(db, case.key, message, now))
                return [Send(self.room_text("desk.room.claimed_report", ref=ref))]
            assert case.key is not None
            message = [Send(self.render(case.lang, "desk.user.joined"))]
            to_user.append(self._queue_user(db, case.key, message, now))
            replies = [Send(self.room_text("desk.room.claimed_talk", ref=ref, who=case.alias or ""))]
            earlier = [text for side, text, _ in cases.transcript(db, self.codec, case.id) if side == "user"]
            if earlier:
                replies.append(Send(self.room_text("desk.room.earlier", who=case.alias or "",
                                                   text="\n".join(earlier))))
            return replies

        replies = await self.core.store.execute(write)
        await self._deliver_to_users(to_user)
        self.wake()
        return replies

    async def _talk_ref(self, desk: str, member: str, command: DeskCommand) -> str | None:
        """The talk a desk command is about: its reference, or the one talk this member holds."""
        if command.ref is not None:
            return command.ref
        held = await self.core.store.execute(cases.active_talks_held_by, member, desk, write=False)
        return held[0].ref if len(held) == 1 else None

    async def reply(self, desk: str, member: str, command: DeskCommand) -> list[Send]:
        ref = await self._talk_ref(desk, member, command)
        if ref is None:
            return [Send(self.room_text("desk.room.which_talk"))]
        if not command.rest:
            return [Send(self.room_text("desk.room.empty_reply", ref=ref))]
        return await self._say_to_user(desk, ref, command.rest)

    async def reply_to_message(self, desk: str, member: str, replied: str, text: str) -> list[Send]:
        case = await self.core.store.execute(cases.case_of_message, desk, replied, write=False)
        if case is None or case.kind != TALK or case.status != "active":
            return []
        return await self._say_to_user(desk, case.ref, text)

    async def _say_to_user(self, desk: str, ref: str, said: str) -> list[Send]:
        to_user: list[tuple[ConversationKey, list[Send], list[int]]] = []
        text, cut = shown.capped(shown.plain(said).strip(), shown.TO_USER_LIMIT)

        def write(db: sqlite3.Connection) -> list[Send]:
            case = cases.case_by_ref(db, ref)
            if case is None:
                return [Send(self.room_text("desk.room.unknown", ref=ref))]
            if case.kind != TALK or case.status != "active" or case.claimed_in != desk or case.key is None:
                return [Send(self.room_text("desk.room.not_active", ref=ref))]
            now = self.now()
            cases.log_relay(db, self.codec, case, "desk", text, now)
            message = [Send(self.render(case.lang, "desk.user.from_desk", text=text))]
            to_user.append(self._queue_user(db, case.key, message, now))
            return [Send(self.room_text("desk.room.reply_cut", ref=ref, limit=shown.TO_USER_LIMIT))] if cut else []

        replies = await self.core.store.execute(write)
        await self._deliver_to_users(to_user)
        return replies

    async def end_by_desk(self, desk: str, member: str, command: DeskCommand) -> list[Send]:
        ref = await self._talk_ref(desk, member, command)
        if ref is None:
            return [Send(self.room_text("desk.room.need_ref"))]
        to_user: list[tuple[ConversationKey, list[Send], list[int]]] = []
        ended: list[Case] = []

        def write(db: sqlite3.Connection) -> list[Send]:
            case = cases.case_by_ref(db, ref)
            if case is None:
                return [Send(self.room_text("desk.room.unknown", ref=ref))]
            if case.kind != TALK or case.status != "active" or case.claimed_in != desk:
                return [Send(self.room_text("desk.room.not_active", ref=ref))]
            now = self.now()
            cases.set_status(db, case.id, "ended", now)
            if case.key is not None:
                message = [Send(self.render(case.lang, "desk.user.ended_by_desk"))]
                to_user.append(self._queue_user(db, case.key, message, now))
                ended.append(case)
            return [Send(self.room_text("desk.room.ended", ref=ref))]

        replies = await self.core.store.execute(write)
        for case in ended:
            assert case.key is not None
            self.talks.pop(case.key, None)
        await self._deliver_to_users(to_user)
        for case in ended:
            assert case.key is not None
            await self.core.handle(Incoming(ConversationKey.parse(case.key), Command("verder"), lang_hint=case.lang))
        return replies

    def _queue_user(self, db: sqlite3.Connection, key: str, messages: list[Send],
                    now: int) -> tuple[ConversationKey, list[Send], list[int]]:
        outbox_id = cases.queue_for_user(db, self.codec, key, encode_outbound(messages), now)
        return ConversationKey.parse(key), messages, [outbox_id]

    async def _deliver_to_users(self, batches: list[tuple[ConversationKey, list[Send], list[int]]]) -> None:
        for conv, messages, ids in batches:
            await self.core.deliver(conv, messages, None, ids)

    # ------------------------------------------------------------ posting in desk rooms
    def wake(self) -> None:
        self._wake.set()

    async def deliver_pending(self) -> int:
        """Post what is due in desk_outbox; return how many posts the platforms took."""
        now = self.now()
        posts: list[Post] = await self.core.store.execute(cases.due_posts, self.codec, now, write=False)
        blocked: set[str] = set()
        done = 0
        for post in posts:
            if post.desk in blocked:
                continue  # keep one room's posts in order
            platform, room = desk_parts(post.desk)
            outlet = self.core.outlets.get(platform)
            if outlet is None:
                if platform not in self._no_outlet:
                    log.warning("desk on %s, but that platform is not running; posts wait", platform)
                    self._no_outlet.add(platform)
                blocked.add(post.desk)
                continue
            document = Document(*post.document) if post.document else None
            try:
                message_id = await outlet.deliver_to_room(room, post.text, document)
            except Exception as exc:  # DeliveryFailed, or anything a platform library raises
                delay = min(MAX_BACKOFF, 5 * 2 ** min(post.attempts, 10))
                log.warning("desk post (%s) on %s not accepted (%s); retry in %d s",
                            post.what, platform, type(exc).__name__, delay)
                await self.core.store.execute(cases.retry_later, post.id, delay, self.now())
                blocked.add(post.desk)
                continue
            await self.core.store.execute(cases.posted, post, str(message_id or ""), self.now())
            done += 1
        if done:
            log.info("posted %d desk message(s)", done)
        return done

    async def delivery_loop(self) -> None:
        await every(DELIVERY_TICK, self.deliver_pending, "desk delivery round", wake=self._wake)

    # ------------------------------------------------------------ forget me
    def forget(self, db: sqlite3.Connection, who: str) -> None:
        """Before the user's rows go: tell the desk a request or talk is over; keep delivered reports."""
        now = self.now()
        for case in cases.cases_of(db, who):
            if case.kind == TALK and case.status in cases.OPEN_TALK:
                if case.status == "active" and case.claimed_in:
                    targets = [case.claimed_in]
                    notice = self.room_text("desk.room.user_ended", who=case.alias or "", ref=case.ref)
                else:
                    targets = [desk_id(p, r) for p, r in self.rooms]
                    notice = self.room_text("desk.room.withdrawn", ref=case.ref)
                for desk in targets:  # not tied to the case: it is deleted next
                    cases.queue_post(db, self.codec, desk, None, "notice", notice, None, now)
        # A report every desk received stays with the organisation, without a link to the user.
        db.execute("UPDATE cases SET who = NULL, key = NULL, addr = NULL, body = NULL, alias = NULL "
                   "WHERE who = pseudonym(?) AND kind = ? AND delivered_at IS NOT NULL", (who, REPORT))

    def on_turn(self, incoming: Incoming, turn: engine.Turn) -> None:
        if any(isinstance(a, ForgetUser) for a in turn.actions):
            who = who_of(str(incoming.key))
            for key in [k for k in self.talks if who_of(k) == who]:
                self.talks.pop(key, None)
            self.wake()

    # ------------------------------------------------------------ tasks
    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait for follow-up work (a resumed flow after a talk); for tests and shutdown."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _text(flows: Any, lang: str, key: str, values: dict[str, Any], fallback: str) -> str:
    try:
        return str(flows.render(lang, key, values))
    except Exception:
        return fallback


def render_or_fallback(flows: Any, lang: str, key: str, values: dict[str, Any]) -> str:
    """Render a text; if the flow set lacks it (a trial flow set, a bad reload), say the facts plainly."""
    try:
        return str(flows.render(lang, key, values))
    except Exception as exc:
        if key not in _MISSING:
            _MISSING.add(key)
            log.error("text %s cannot be shown (%s): add locales/*/desk.yaml and privacy.yaml to the flow set",
                      key, type(exc).__name__)
        facts = " · ".join(str(v) for k, v in values.items() if k != "desk" and v not in (None, ""))
        return f"[{key}] {facts}".strip()


_MISSING: set[str] = set()
_DESKS: weakref.WeakKeyDictionary[Core, SafetyDesk] = weakref.WeakKeyDictionary()


def desk_of(core: Core) -> SafetyDesk | None:
    """The desk attached to a core (for the CLI, tests and other modules)."""
    return _DESKS.get(core)


async def setup(core: Core) -> SafetyDesk:
    """Attach a safety desk to a core (what bot.app does for every feature)."""
    return await SafetyDesk.attach(core)


