"""The core: the only async orchestrator between adapters, engine and store.

For each incoming update: take the conversation's lock, run one store
transaction in which the engine turns (state, event) into (state, actions),
the update is marked handled and the outgoing messages are queued in the
outbox; then hand the messages to the platform's outlet and drop them from
the outbox once the platform accepted them. Actions that are not messages
(a report for the desk, forget me, timers, a hand-off) go to the features
added with `Core.add` (bot/features.py: the desk, timers, privacy,
moderation), so the core stays small.

The package: `Core` here keeps the order of a turn's steps; `transaction`
is the turn as the store runs it (and the claims of a flooded or intercepted
update), `delivery` gets queued replies out (again after a refusal or a
restart), `outbox` is the payload format and `locks` the per-conversation
locks. Only `Core` and `Delivery` await; the transaction is synchronous.

Never log message text, states or payloads; log kinds and counts only.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot import engine
from bot.adapters.base import AnswersPresses, Outlet, clean_incoming
from bot.clock import NL, Now
from bot.core.delivery import Delivery
from bot.core.locks import ConversationLocks
from bot.core.outbox import decode_outbound, encode_outbound
from bot.core.transaction import FloodClaim, TurnTransaction, claim_only
from bot.events import Action, Choice, ConversationKey, Edit, ForgetUser, Incoming, Send, Timer
from bot.features import ActionHandler, ActionWriter, Answer, Feature, Service
from bot.flood import FloodLimiter, Verdict
from bot.flows.flowset import FlowSet
from bot.lease import BACKGROUND, Leases, platforms
from bot.logs import failure
from bot.store import Store, who_of

if TYPE_CHECKING:  # for typing only: bot.settings checks desk hours with bot.desk, whose safety desk imports us
    from bot.settings import Settings

#: the outbox payloads stay importable from here, where the desk and the tests read them
__all__ = ["Core", "decode_outbound", "encode_outbound"]

log = logging.getLogger(__name__)

#: Dates the user means ("gisteren", deadlines) are Dutch calendar dates.
ZONE = NL
#: Seconds between attempts to deliver what a platform refused earlier.
REDELIVER_EVERY = 5.0
#: Platforms without a flood limit: the console is one person at their own terminal
#: (and moderators' scripted checks feed it many lines a second).
FLOOD_EXEMPT = frozenset({"console"})

#: Seconds after a flow reload before the heap is frozen again (see freeze_heap).
REFREEZE_AFTER = 60.0


def freeze_heap() -> None:
    """Keep what start-up built (flows, directory, libraries) out of the GC's full passes.

    Those objects live as long as the process. With python-telegram-bot loaded, a full
    (generation 2) pass over them took ~28 ms, a few times per 10,000 updates: the
    benchmark's maximum latency. After gc.freeze() full passes only look at objects
    made since (~0.5 ms). Garbage is collected first, so nothing dead is kept.
    """
    gc.collect()
    gc.freeze()


class Core:
    """Adapters hand it updates; it runs each as one turn and sees its replies delivered.

    The parts of a turn live beside it: the transaction the store runs
    (bot/core/transaction.py), the outbox's payloads (outbox.py), delivery and
    redelivery (delivery.py) and the per-conversation locks (locks.py). What stays here
    is the order of the steps, which is what keeps the guarantees (see _handle_locked).
    """

    def __init__(self, settings: Settings, store: Store, flows: FlowSet,
                 clock: Now | None = None) -> None:
        self.settings = settings
        self.store = store
        self.flows = flows
        self.clock = clock or store.clock
        self.outlets: dict[str, Outlet] = {}
        #: what takes part in turns, in the order it was added (see add)
        self.features: list[Feature] = []
        #: what runs beside the core between start and stop: the platforms' adapters
        self.services: list[Service] = []
        #: action type -> what a feature does once the turn is committed
        self.handlers: dict[type, ActionHandler] = {}
        #: action type -> a feature's writer, run inside the turn's own transaction
        self.writers: dict[type, ActionWriter] = {}
        #: one lock per conversation, for its turns and for anything sent to it from aside
        self.locks = ConversationLocks()
        self.delivery = Delivery(store, self.outlets, self.locks)
        #: which process polls, syncs and runs the background loops when several share a database
        self.leases = Leases(store)
        self._tasks: list[asyncio.Task[None]] = []
        #: per-user flood limit (settings.flood_per_minute; 0 turns it off)
        self.flood: FloodLimiter | None = (
            FloodLimiter(settings.flood_per_minute) if settings.flood_per_minute > 0 else None)
        #: a safety desk will take reports (set by the desk extension when a room is configured);
        #: flows see it as `desk_available`, so they promise an alert only when one can be sent
        self.desk_available = False

    # ------------------------------------------------------------ wiring
    def register(self, outlet: Outlet) -> None:
        self.outlets[outlet.platform] = outlet

    def add(self, feature: Feature, *, first: bool = False) -> None:
        """Let a feature take part in turns (once; `first`: it sees every update before the others).

        Its writers run on the store thread inside the turn's transaction, so a report
        or a timer is never lost between the turn and its handler; they must be quick
        and pure apart from `db` (they may run again when the transaction is retried).
        One feature per action type: a second one for the same type is a mistake.
        """
        if feature in self.features:
            return
        writers, handlers = feature.writers(), feature.handlers()
        taken = (set(writers) & set(self.writers)) | (set(handlers) & set(self.handlers))
        if taken:
            raise ValueError(f"{type(feature).__name__}: another feature already carries out "
                             f"{', '.join(sorted(t.__name__ for t in taken))}")
        self.writers.update(writers)
        self.handlers.update(handlers)
        if first:
            self.features.insert(0, feature)
        else:
            self.features.append(feature)
        self.store.forget_hooks.append(feature.forget)

    def swap_flows(self, flows: FlowSet) -> None:
        """Atomically replace the running flow set (a reload); turns in progress keep theirs."""
        self.flows = flows
        if gc.get_freeze_count():
            # the old set may be frozen: let the collector see it again, freeze the new one
            # once the turns still using the old one are long done
            gc.unfreeze()
            with contextlib.suppress(RuntimeError):  # no running loop: nothing to freeze later
                asyncio.get_running_loop().call_later(REFREEZE_AFTER, freeze_heap)

    async def start(self) -> None:
        """Start the services, deliver what a previous run queued but could not send, keep retrying.

        Which conversations are owed replies is read before any service starts, so even
        the first turn after a restart (a webhook's) waits for them.
        """
        # in a cluster, one process holds all of these (bot/lease.py)
        await self.leases.start(BACKGROUND, *platforms(self.services))
        if not self.delivery.owed_loaded:
            await self.delivery.load_owed()
        for service in self.services:
            await service.start()
        freeze_heap()
        caught_up = self.leases.holds(BACKGROUND)
        if caught_up:
            await self.delivery.redeliver()

        async def redeliver() -> None:
            nonlocal caught_up
            if not caught_up:  # a cluster's standby took over: first what the process before left
                await self.delivery.load_owed()
                await self.delivery.redeliver()
            caught_up = False
            await self.delivery.keep_redelivering(REDELIVER_EVERY)

        self._tasks.append(asyncio.create_task(self.leases.run_while_held(BACKGROUND, redeliver)))
        for feature in self.features:
            for loop in feature.background():
                self._tasks.append(asyncio.create_task(self.leases.run_while_held(BACKGROUND, loop)))

    async def stop(self) -> None:
        for service in reversed(self.services):
            await service.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.leases.stop()

    @property
    def clock(self) -> Now:
        """The product's one clock (bot/clock.py), shared with the store so rows are stamped
        with the same "now" that retention, timers and desk hours read."""
        return self.store.clock

    @clock.setter
    def clock(self, clock: Now) -> None:
        self.store.clock = clock

    # ------------------------------------------------------------ turns
    def context(self, lang_hint: str | None) -> engine.TurnContext:
        now = self.clock().astimezone(ZONE)
        return engine.TurnContext(
            today=now.date(),
            now=now,
            default_lang=self.settings.default_lang,
            lang_hint=lang_hint,
            desk_available=self.desk_available,
            desk_lang=self.settings.desk_lang,
            retention_days=self.settings.retention_days,
        )

    async def handle(self, incoming: Incoming) -> list[Action] | None:
        """Handle one update; None when it was handled before (a redelivery)."""
        incoming = clean_incoming(incoming)
        verdict = self._flood_verdict(incoming)
        if verdict is not Verdict.PASS:
            return await self.claim_flooded(incoming, verdict is Verdict.NOTICE)
        key = str(incoming.key)
        async with self.locks(key):
            return await self._handle_locked(key, incoming)

    def _flood_verdict(self, incoming: Incoming) -> Verdict:
        """Checked before the lock, so one user's flood never waits behind, or holds up, anybody's
        turn. Not for the console (one person at their own terminal), an update the adapter
        already checked when it arrived (bot/adapters/lanes.py) or a timer (the bot's own)."""
        if (self.flood is None or incoming.key.platform in FLOOD_EXEMPT
                or incoming.flood_checked or isinstance(incoming.event, Timer)):
            return Verdict.PASS
        return self.flood.check(who_of(str(incoming.key)))

    async def claim_flooded(self, incoming: Incoming, tell: bool) -> list[Action] | None:
        """Over the flood limit: claim the update without running it; say so once per window.

        Also called by an adapter that applies the limit itself when updates arrive
        (bot/adapters/lanes.py), for the one refused update that carries the notice.
        The conversation is untouched and its lock is not taken (see FloodClaim).
        """
        claim = FloodClaim(self.flows, incoming, tell=tell, default_lang=self.settings.default_lang)
        outcome = await self.store.turn(str(incoming.key), incoming.update_id, incoming.cursor, claim)
        if outcome is None:
            return None
        if claim.told:
            log.info("flood limit reached on %s; the user was told once", incoming.key.platform)
            await self.delivery.deliver(incoming.key, claim.told, incoming.reply_to, outcome.outbox_ids)
        return list(claim.told)

    async def _handle_locked(self, key: str, incoming: Incoming) -> list[Action] | None:
        """One turn, under the conversation's lock, as steps in the order that keeps its promises.

        Owed replies first (order); an intercepting feature answers aside; else one transaction
        commits state, handled mark and outbox before anything is sent (exactly once, nothing
        lost); then the press is answered, failures logged, the features' handlers run, and
        the replies are delivered.
        """
        await self.delivery.pay_owed(key)
        answer = self._intercepted(incoming)
        if answer is not None:
            return await self._answer_aside(key, incoming, answer)
        presses = self._presses(incoming)
        work = TurnTransaction(self.flows, incoming, self.context(incoming.lang_hint), self.writers,
                               quiet_stale=presses is not None and presses.quiet_stale(incoming))
        outcome = await self.store.turn(key, incoming.update_id, incoming.cursor, work)
        if outcome is None:
            return None  # handled before: a redelivery
        turn: engine.Turn = outcome.value
        if presses is not None:
            await presses.answer_press(incoming, turn.lang if work.silenced(turn) else None)
        self._log_failures(incoming, turn, work.bug)
        await self._carry_out(incoming, turn)
        outbound = work.outbound(turn)
        if outbound:
            await self.delivery.deliver(incoming.key, outbound, incoming.reply_to, outcome.outbox_ids)
        return turn.actions

    def _intercepted(self, incoming: Incoming) -> Answer | None:
        """The first feature that answers this update outside the flows (a moderator's /reload, a
        talk with the desk), in the order they were added; None: the flows answer it."""
        for feature in self.features:
            answer = feature.intercept(incoming)
            if answer is not None:
                return answer
        return None

    def _presses(self, incoming: Incoming) -> AnswersPresses | None:
        """The outlet, when this is a button press and the platform wants each press answered
        (Telegram's spinner stops only then)."""
        outlet = self.outlets.get(incoming.key.platform)
        return outlet if isinstance(incoming.event, Choice) and isinstance(outlet, AnswersPresses) else None

    def _log_failures(self, incoming: Incoming, turn: engine.Turn, bug: Exception | None) -> None:
        """Say in the log what went wrong, never what the user typed: the flow's failure kind,
        and for a bug in the engine where it happened and the exception's type and code path."""
        if turn.error:
            log.error("flow failed (%s); the user was told and restarted", turn.error)
        if bug is not None:
            where = f"{turn.state.flow}.{turn.state.step}" if turn.state else "a new conversation"
            log.error("bug: the engine raised at %s on a %s; the user got an apology and keeps their place: %s",
                      where, type(incoming.event).__name__, failure(bug))

    async def _carry_out(self, incoming: Incoming, turn: engine.Turn) -> None:
        """After the commit: tell the features a turn happened, then hand them the actions that are
        not messages (a report goes to the desk now); what only had a writer was done in the turn."""
        for feature in self.features:
            feature.on_turn(incoming, turn)
        for action in turn.actions:
            if isinstance(action, Send | Edit | ForgetUser):
                continue
            handler = self.handlers.get(type(action))
            if handler is not None:
                await handler(incoming, action)
            elif type(action) not in self.writers:
                log.warning("no handler for %s; action dropped", type(action).__name__)

    async def _answer_aside(self, key: str, incoming: Incoming,
                            answer: Answer) -> list[Action] | None:
        """Answer outside the flows: claimed first like a turn (at most once), the conversation untouched."""
        if await self.store.turn(key, incoming.update_id, incoming.cursor, claim_only) is None:
            return None
        actions = await answer()
        ids = await self.delivery.queue(incoming.key, actions)
        await self.delivery.deliver(incoming.key, actions, incoming.reply_to, ids)
        return list(actions)

    # ------------------------------------------------------------ delivery (bot/core/delivery.py)
    async def deliver(self, key: ConversationKey, actions: Sequence[Send | Edit],
                      reply_to: object | None, outbox_ids: Sequence[int]) -> bool:
        """Hand queued messages to the platform; keep them queued when it refuses."""
        return await self.delivery.deliver(key, actions, reply_to, outbox_ids)

    async def send(self, key: ConversationKey, actions: Sequence[Send]) -> None:
        """Send messages outside a turn (desk replies, timers), durably via the outbox."""
        await self.delivery.send(key, actions)

    async def load_owed(self) -> None:
        """Note which conversations are owed replies, before any adapter starts."""
        await self.delivery.load_owed()

    async def redeliver(self) -> None:
        """One round over the outbox now (the core also does this every few seconds)."""
        await self.delivery.redeliver()
