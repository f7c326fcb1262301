"""A relayed talk from the user's side: while a request waits or a talk runs, the user's
updates go to the desk, not the engine.

Apart because it is the one place that decides, without I/O and under the
conversation's lock, what a user's update means during a talk: a text is
relayed (with the crisis check still run on it), "stop" ends the talk, forget-me
and "my data" still reach the engine, and anything else gets a short note.

Never log what the user typed, their pseudonym or their conversation key.
"""

from __future__ import annotations

import sqlite3

from bot.desk import cases, shown
from bot.desk.cases import Case
from bot.desk.shared import DeskShared
from bot.engine import words
from bot.events import Choice, Command, Incoming, Send, Text, Unsupported
from bot.features import Answer

#: Typed by a user in a talk (or while waiting): end it.
END_WORDS = frozenset({"stop", "stoppen", "einde", "end", "klaar met praten"})
END_COMMANDS = frozenset({"stop", "end", "einde"})
#: What still reaches the engine during a talk (forget me also ends the talk first).
TO_THE_ENGINE = frozenset({"forget", "mydata"})


class UserSide:
    """Routes a relayed user's updates and answers them."""

    def __init__(self, shared: DeskShared) -> None:
        self.shared = shared
        self.texts = shared.texts

    # ------------------------------------------------------------ routing (no I/O)
    def route(self, incoming: Incoming) -> Answer | None:
        """How to answer this update during a talk, or None to let the engine have it."""
        if str(incoming.key) not in self.shared.talks:
            return None
        event = incoming.event
        if isinstance(event, Command):
            return self._command(incoming, event)
        if isinstance(event, Text):
            return self._text(incoming, event)
        if isinstance(event, Choice) and not event.step_token.startswith("_"):
            return lambda: self.busy(incoming)  # (a system question's button, forget me or language, still works)
        if isinstance(event, Unsupported):
            return lambda: self.only_text(incoming)
        return None  # a Timer: a check-in still asks during a talk

    def _command(self, incoming: Incoming, event: Command) -> Answer | None:
        name = event.name.lower().lstrip("/")
        if name in END_COMMANDS:
            return lambda: self.ends(incoming)
        return self._engine_or(incoming, words.COMMANDS.get(name), lambda: self.busy(incoming))

    def _text(self, incoming: Incoming, event: Text) -> Answer | None:
        word = words.normalise(event.text)
        if word in END_WORDS:
            return lambda: self.ends(incoming)
        return self._engine_or(incoming, words.keyword_of(word), lambda: self.relay(incoming))

    def _engine_or(self, incoming: Incoming, meaning: str | None, answer: Answer) -> Answer | None:
        """None (the engine answers) for forget-me and "my data", else `answer`."""
        if meaning not in TO_THE_ENGINE:
            return answer
        if meaning == "forget":
            self.release(str(incoming.key))
        return None

    def release(self, key: str) -> None:
        """The user asked to be forgotten mid-talk: end the talk now; the engine asks to confirm."""
        case_id = self.shared.talks.pop(key, None)
        if case_id is not None:
            self.shared.spawn(self.end(case_id))

    # ------------------------------------------------------------ answers
    async def relay(self, incoming: Incoming) -> list[Send]:
        assert isinstance(incoming.event, Text)
        detector = self.shared.core.flows.crisis
        found = detector.detect(incoming.event.text) if detector is not None else None  # all of it, as typed
        text, cut = shown.capped(shown.one_line(incoming.event.text), shown.TO_DESK_LIMIT)
        key = str(incoming.key)
        shared = self.shared

        def write(db: sqlite3.Connection) -> Case | None:
            case = cases.talk_of(db, key)
            if case is None:
                return None
            now = shared.now()
            cases.log_relay(db, shared.codec, case, "user", text, now)
            if found is not None and not case.urgent:
                shared.mark_urgent(db, case, now)
            if case.status == "active" and case.claimed_in:
                template = "desk.room.from_user_crisis" if found is not None else "desk.room.from_user"
                line = self.texts.room(template, who=case.alias or "", ref=case.ref, text=text)
                cases.queue_post(db, shared.codec, case.claimed_in, case.id, "relay", line, None, now)
            return case

        case = await shared.core.store.execute(write)
        if case is None:  # ended by the desk a moment ago
            shared.talks.pop(key, None)
            return []
        shared.wake()
        told = [Send(self.texts.render(case.lang, "desk.user.relay_cut", limit=shown.TO_DESK_LIMIT))] if cut else []
        if found is None:
            return told
        return [Send(self.texts.render(case.lang, found.reply)), *told]

    async def ends(self, incoming: Incoming) -> list[Send]:
        case_id = self.shared.talks.pop(str(incoming.key), None)
        if case_id is None:
            return []
        case = await self.end(case_id)
        if case is None:
            return []
        # the engine shows the question the user was at, once this answer is out
        self.shared.spawn(self.shared.core.handle(Incoming(incoming.key, Command("verder"), lang_hint=case.lang)))
        key = "desk.user.withdrawn" if case.status == "open" else "desk.user.ended"
        return [Send(self.texts.render(case.lang, key))]

    async def end(self, case_id: int) -> Case | None:
        """End a talk (or withdraw a request) the user no longer wants; the case as it was."""
        shared = self.shared

        def write(db: sqlite3.Connection) -> Case | None:
            case = cases.case_by_id(db, case_id)
            if case is None or case.status not in cases.OPEN_TALK:
                return None
            now = shared.now()
            cases.set_status(db, case.id, shared.talk_over(db, case, now), now)
            return case

        case = await shared.core.store.execute(write)
        shared.wake()
        return case

    async def busy(self, incoming: Incoming) -> list[Send]:
        return [Send(self.texts.render(self.texts.user_lang(incoming, None), "desk.user.busy"))]

    async def only_text(self, incoming: Incoming) -> list[Send]:
        return [Send(self.texts.render(self.texts.user_lang(incoming, None), "desk.user.only_text"))]
