"""A turn as the store runs it: one function inside one transaction, on the store's thread.

Why one function: reading the state, running the engine and the features' writers, writing
the new state, marking the update handled and queueing the replies commit together or not at
all. A crash before the commit loses nothing (the update was not marked handled, so the
platform hands it back); a crash after it loses nothing (the replies are in the outbox and go
out at start). The store may call the function again when it retries the transaction, so each
call starts afresh. Nothing here awaits or reads the clock: the core awaits the store, the
store runs these, and the time comes in with the turn's context.

Never log here: what the user typed is in the event and the state.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence

from bot import engine
from bot.core.outbox import encode_outbound, in_turn_order
from bot.events import Edit, ForgetUser, Incoming, Send
from bot.features import ActionWriter
from bot.flows.flowset import FlowSet
from bot.state import State
from bot.store import TurnResult


class TurnTransaction:
    """One update through the engine, with what the features write in the same transaction.

    After the commit the core reads back what it needs to finish the turn: the engine's
    `Turn` (the outcome's value), a `bug` the engine raised, and `outbound(turn)`, the
    messages in the order the user sees them.
    """

    def __init__(self, flows: FlowSet, incoming: Incoming, ctx: engine.TurnContext,
                 writers: Mapping[type, ActionWriter], *, quiet_stale: bool) -> None:
        self.flows = flows
        self.incoming = incoming
        self.ctx = ctx
        self.writers = writers
        #: the platform answers a stale press on the button itself (AnswersPresses)
        self.quiet_stale = quiet_stale
        #: what the writers said, by the index of the action they wrote (a report's reference)
        self.written: dict[int, list[Send]] = {}
        #: a bug the engine raised this turn (the engine answers its own errors itself)
        self.bug: Exception | None = None

    def __call__(self, raw: str | None) -> TurnResult:
        turn = self._run_engine(raw)
        outbound = [] if self.silenced(turn) else [a for a in turn.actions if isinstance(a, Send | Edit)]
        todo = [(i, self.writers[type(a)], a) for i, a in enumerate(turn.actions) if type(a) in self.writers]
        return TurnResult(
            state=turn.state.to_json() if turn.state else None,
            # with writers the payload is built by `writes`, in the order the user sees it
            outbox=[encode_outbound(outbound)] if outbound and not todo else [],
            stats=turn.stats,
            forget_who=any(isinstance(a, ForgetUser) for a in turn.actions),
            value=turn,
            writes=self._writes(turn, todo) if todo else None,
        )

    def _run_engine(self, raw: str | None) -> engine.Turn:
        """The engine's turn; a bug in it gets the core's apology instead of failing the update
        (which the platform would hand back, failing again, forever).

        The engine gets a state of its own, read from `raw`, and changes it in place (no copy);
        the apology reads `raw` again, so it keeps the conversation exactly where it was."""
        self.bug = None  # the transaction may be retried
        try:
            return engine.handle(self.flows, State.from_json(raw) if raw else None, self.incoming.event, self.ctx,
                                 owned=True)
        except Exception as exc:
            self.bug = exc
            return apology(self.flows, State.from_json(raw) if raw else None, self.incoming.lang_hint,
                           self.ctx.default_lang)

    def _writes(self, turn: engine.Turn,
                todo: Sequence[tuple[int, ActionWriter, object]]) -> Callable[[sqlite3.Connection], list[str]]:
        """The features' writers in the turn's transaction, so a report or a timer is never lost
        between the turn and its handler; their messages join the turn's in one payload."""

        def writes(db: sqlite3.Connection) -> list[str]:
            self.written.clear()  # the transaction may be retried
            for index, writer, action in todo:
                self.written[index] = list(writer(db, self.incoming, action, turn))
            # one payload in the order the user sees it, also when it is sent again after a crash
            ordered = self.outbound(turn)
            return [encode_outbound(ordered)] if ordered else []

        return writes

    def silenced(self, turn: engine.Turn) -> bool:
        """A stale press the platform answers on the button itself: the turn's own messages stay
        unsent (the writers' still go)."""
        return self.quiet_stale and turn.stale

    def outbound(self, turn: engine.Turn) -> list[Send | Edit]:
        """What the user gets from this turn, in the order they see it."""
        return in_turn_order(turn.actions, self.written, own=not self.silenced(turn))


def apology(flows: FlowSet, state: State | None, lang_hint: str | None, default_lang: str) -> engine.Turn:
    """The core's answer to a bug in the engine: say sorry, keep the conversation where it was.

    Not the engine's apology and restart: a bug is not the flow's fault, and starting over
    would throw away the user's answers for nothing. The update is still claimed, so a
    platform does not hand the same failing update back forever.
    """
    lang = flows.locales.pick(state.lang if state else None, lang_hint, default_lang)
    return engine.Turn(state, [Send(flows.render(lang, "sys.bug", {}))], lang=lang)


class FloodClaim:
    """An update over the flood limit, claimed like a turn without running it.

    Marked handled with the adapter's cursor and, when `tell`, the notice queued, in one
    transaction, so a redelivery of it is not run later either. The state is written back
    as it was. After the commit `told` holds the notice (empty when nothing is said).
    """

    def __init__(self, flows: FlowSet, incoming: Incoming, *, tell: bool, default_lang: str) -> None:
        self.flows = flows
        self.incoming = incoming
        self.tell = tell
        self.default_lang = default_lang
        self.told: list[Send] = []

    def __call__(self, raw: str | None) -> TurnResult:
        self.told = self._notice(raw) if self.tell else []  # the transaction may be retried
        return TurnResult(state=raw, outbox=[encode_outbound(self.told)] if self.told else [],
                          stats=["flood"] if self.told else [])

    def _notice(self, raw: str | None) -> list[Send]:
        """The notice in the user's language; nothing if no language has the text."""
        flows = self.flows
        lang = State.from_json(raw).lang if raw else flows.locales.pick(self.incoming.lang_hint, self.default_lang)
        if flows.locales.has(lang, "sys.flood") or flows.locales.has("nl", "sys.flood"):
            return [Send(flows.render(lang, "sys.flood", {}))]
        return []


def claim_only(raw: str | None) -> TurnResult:
    """An update answered outside the flows: marked handled (at most once), the conversation as it was."""
    return TurnResult(state=raw, outbox=[], stats=[])
