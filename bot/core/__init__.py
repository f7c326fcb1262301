"""The core: the only async orchestrator between adapters, engine and store.

For each incoming update: take the conversation's lock, run one store
transaction in which the engine turns (state, event) into (state, actions),
the update is marked handled and the outgoing messages are queued in the
outbox; then hand the messages to the platform's outlet and drop them from
the outbox once the platform accepted them. Actions that are not messages
(a report for the desk, forget me, timers, a hand-off) go to the features
added with `Core.add` (bot/features.py: the desk, timers, privacy,
moderation), so the core stays small.

Never log message text, states or payloads; log kinds and counts only.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot import engine
from bot.adapters.base import AnswersPresses, DeliveryFailed, Outlet, clean_incoming
from bot.clock import NL, Now
from bot.events import (
    Action,
    Choice,
    ChoiceButton,
    ConversationKey,
    Document,
    Edit,
    ForgetUser,
    Incoming,
    LinkPreview,
    Send,
    Timer,
)
from bot.features import ActionHandler, ActionWriter, Answer, Feature, Service
from bot.flood import FloodLimiter, Verdict
from bot.flows.flowset import FlowSet
from bot.logs import failure
from bot.state import State, dumps, loads
from bot.store import Store, TurnResult, queue_outbox, who_of

if TYPE_CHECKING:  # for typing only: bot.settings checks desk hours with bot.desk, whose safety desk imports us
    from bot.settings import Settings

log = logging.getLogger(__name__)

#: Dates the user means ("gisteren", deadlines) are Dutch calendar dates.
ZONE = NL
#: Seconds between attempts to deliver what a platform refused earlier.
REDELIVER_EVERY = 5.0
#: refusals by different conversations in a row that end a redelivery round (the platform is away)
REDELIVER_GIVE_UP_AFTER = 3
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


# ---------------------------------------------------------------- outbox payloads


def encode_outbound(actions: Sequence[Send | Edit]) -> str:
    """Serialise messages for the outbox (and for the console's JSON mode)."""
    items = []
    for action in actions:
        item: dict[str, Any] = {"t": "edit" if isinstance(action, Edit) else "send", "text": action.text}
        if action.choices:
            item["choices"] = [[c.id, c.label] for c in action.choices]
        if action.token:
            item["token"] = action.token
        if isinstance(action, Send) and action.document:
            doc = action.document
            item["doc"] = [doc.filename, doc.title, doc.content, doc.mime, doc.caption]
        if action.preview is not None:
            item["preview"] = [action.preview.url, action.preview.above]
        items.append(item)
    return dumps(items)


def decode_outbound(payload: str) -> list[Send | Edit]:
    out: list[Send | Edit] = []
    for item in loads(payload):
        choices = tuple(ChoiceButton(cid, label) for cid, label in item.get("choices", []))
        preview = LinkPreview(*item["preview"]) if "preview" in item else None
        if item["t"] == "edit":
            out.append(Edit(item["text"], choices, item.get("token", ""), preview))
        else:
            doc = Document(*item["doc"]) if "doc" in item else None
            out.append(Send(item["text"], choices, item.get("token", ""), doc, preview))
    return out


def in_turn_order(actions: Sequence[Action], written: dict[int, list[Send]], *,
                  own: bool = True) -> list[Send | Edit]:
    """The turn's messages with what a writer said placed right after the action it wrote.

    A report's confirmation ("passed to the desk, reference WW-...") belongs where the
    report step was, before the flow's closing words and its next question ("Can I do
    anything else?"): appended at the end it would come after that question. `own=False`:
    the turn's own messages are not sent (a stale press answered on the button), the
    writers' still are.
    """
    out: list[Send | Edit] = []
    for index, action in enumerate(actions):
        if own and isinstance(action, Send | Edit):
            out.append(action)
        out.extend(written.get(index, ()))
    return out


class _ConversationLock:
    """`async with core.conversation_lock(key)`: a plain object rather than a generator-based
    context manager, because every update takes one (it cost about four times as much)."""

    __slots__ = ("core", "key", "lock")

    def __init__(self, core: Core, key: str) -> None:
        self.core = core
        self.key = key
        self.lock: asyncio.Lock | None = None

    async def __aenter__(self) -> None:
        locks = self.core._locks
        lock = locks.get(self.key)
        if lock is None:
            lock = locks[self.key] = asyncio.Lock()
        self.core._lock_users[self.key] += 1
        try:
            await lock.acquire()
        except BaseException:  # cancelled while waiting: not held, not a user any more
            self._leave()
            raise
        self.lock = lock

    async def __aexit__(self, *exc: object) -> None:
        assert self.lock is not None
        self.lock.release()
        self._leave()

    def _leave(self) -> None:
        users = self.core._lock_users
        users[self.key] -= 1
        if users[self.key] == 0:
            del users[self.key]
            del self.core._locks[self.key]


class Core:
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
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: defaultdict[str, int] = defaultdict(int)
        self._inflight: set[int] = set()
        #: conversations with replies a previous run left in the outbox (see _pay_owed)
        self._owed: set[str] = set()
        self._owed_loaded = False
        self._tasks: list[asyncio.Task[None]] = []
        #: action type -> a feature's writer, run inside the turn's own transaction
        self.writers: dict[type, ActionWriter] = {}
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
        if not self._owed_loaded:
            await self.load_owed()
        for service in self.services:
            await service.start()
        freeze_heap()
        await self.redeliver()
        self._tasks.append(asyncio.create_task(self._redeliver_loop()))
        for feature in self.features:
            for loop in feature.background():
                self._tasks.append(asyncio.create_task(loop()))

    async def stop(self) -> None:
        for service in reversed(self.services):
            await service.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

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
        )

    def conversation_lock(self, key: str) -> _ConversationLock:
        """Serialise one conversation; locks of idle conversations are dropped (no memory per user)."""
        return _ConversationLock(self, key)

    async def handle(self, incoming: Incoming) -> list[Action] | None:
        """Handle one update; None when it was handled before (a redelivery)."""
        incoming = clean_incoming(incoming)
        key = str(incoming.key)
        if (self.flood is not None and incoming.key.platform not in FLOOD_EXEMPT
                and not incoming.flood_checked and not isinstance(incoming.event, Timer)):
            verdict = self.flood.check(who_of(key))
            if verdict is not Verdict.PASS:
                return await self.claim_flooded(incoming, verdict is Verdict.NOTICE)
        async with self.conversation_lock(key):
            return await self._handle_locked(key, incoming)

    async def claim_flooded(self, incoming: Incoming, tell: bool) -> list[Action] | None:
        """Over the flood limit: claim the update without running it; say so once per window.

        Also called by an adapter that applies the limit itself when updates arrive
        (bot/adapters/lanes.py), for the one refused update that carries the notice.

        Claimed like a turn (marked handled, the adapter's cursor stored, the notice in
        the outbox, all in one transaction), so a redelivery is not run later either.
        The conversation is untouched and its lock is not taken: one user's flood never
        waits behind, or holds up, anybody's turn.
        """
        key = str(incoming.key)
        flows = self.flows
        told: list[Send] = []

        def claim(raw: str | None) -> TurnResult:
            told.clear()
            if tell:
                lang = State.from_json(raw).lang if raw else flows.locales.pick(incoming.lang_hint, self.settings.default_lang)
                if flows.locales.has(lang, "sys.flood") or flows.locales.has("nl", "sys.flood"):
                    told.append(Send(flows.render(lang, "sys.flood", {})))
            return TurnResult(state=raw, outbox=[encode_outbound(told)] if told else [],
                              stats=["flood"] if told else [])

        outcome = await self.store.turn(key, incoming.update_id, incoming.cursor, claim)
        if outcome is None:
            return None
        if told:
            log.info("flood limit reached on %s; the user was told once", incoming.key.platform)
            await self.deliver(incoming.key, told, incoming.reply_to, outcome.outbox_ids)
        return list(told)

    async def _handle_locked(self, key: str, incoming: Incoming) -> list[Action] | None:
        if key in self._owed:
            await self._pay_owed(key)
        for feature in self.features:
            answer = feature.intercept(incoming)
            if answer is not None:
                return await self._answer_aside(key, incoming, answer)
        flows = self.flows
        ctx = self.context(incoming.lang_hint)
        outlet = self.outlets.get(incoming.key.platform)
        presses = outlet if isinstance(incoming.event, Choice) and isinstance(outlet, AnswersPresses) else None
        quiet_stale = presses is not None and presses.quiet_stale(incoming)

        #: what the writers said, by the index of the action they wrote (a report's reference)
        written: dict[int, list[Send]] = {}

        #: a bug the engine raised this turn (the engine answers its own errors itself)
        bug: list[Exception] = []

        def compute(raw: str | None) -> TurnResult:
            state = State.from_json(raw) if raw else None
            bug.clear()  # the transaction may be retried
            try:
                turn = engine.handle(flows, state, incoming.event, ctx)
            except Exception as exc:
                bug.append(exc)
                turn = self._apology(flows, state, incoming.lang_hint)
            silent = quiet_stale and turn.stale  # answered on the button instead (AnswersPresses)
            outbound = [] if silent else [a for a in turn.actions if isinstance(a, Send | Edit)]
            todo = [(i, self.writers[type(a)], a) for i, a in enumerate(turn.actions) if type(a) in self.writers]

            def writes(db: Any) -> list[str]:
                written.clear()  # the transaction may be retried
                for index, writer, action in todo:
                    written[index] = list(writer(db, incoming, action, turn))
                # one payload in the order the user sees it, also when it is sent again after a crash
                ordered = in_turn_order(turn.actions, written, own=not silent)
                return [encode_outbound(ordered)] if ordered else []

            return TurnResult(
                state=turn.state.to_json() if turn.state else None,
                outbox=[encode_outbound(outbound)] if outbound and not todo else [],
                stats=turn.stats,
                forget_who=any(isinstance(a, ForgetUser) for a in turn.actions),
                value=turn,
                writes=writes if todo else None,
            )

        outcome = await self.store.turn(key, incoming.update_id, incoming.cursor, compute)
        if outcome is None:
            return None
        turn: engine.Turn = outcome.value
        silenced = quiet_stale and turn.stale  # answered on the button instead (AnswersPresses)
        if presses is not None:
            await presses.answer_press(incoming, turn.lang if silenced else None)
        if turn.error:
            log.error("flow failed (%s); the user was told and restarted", turn.error)
        if bug:
            where = f"{turn.state.flow}.{turn.state.step}" if turn.state else "a new conversation"
            log.error("bug: the engine raised at %s on a %s; the user got an apology and keeps their place: %s",
                      where, type(incoming.event).__name__, failure(bug[0]))
        for feature in self.features:
            feature.on_turn(incoming, turn)
        for action in turn.actions:
            if isinstance(action, Send | Edit | ForgetUser):
                continue
            handler = self.handlers.get(type(action))
            if handler is None:
                if type(action) not in self.writers:
                    log.warning("no handler for %s; action dropped", type(action).__name__)
                continue
            await handler(incoming, action)
        outbound = in_turn_order(turn.actions, written, own=not silenced)
        if outbound:
            await self.deliver(incoming.key, outbound, incoming.reply_to, outcome.outbox_ids)
        return turn.actions

    def _apology(self, flows: FlowSet, state: State | None, lang_hint: str | None) -> engine.Turn:
        """The core's answer to a bug in the engine: say sorry, keep the conversation where it was.

        Not the engine's apology and restart: a bug is not the flow's fault, and starting over
        would throw away the user's answers for nothing. The update is still claimed, so a
        platform does not hand the same failing update back forever.
        """
        lang = flows.locales.pick(state.lang if state else None, lang_hint, self.settings.default_lang)
        return engine.Turn(state, [Send(flows.render(lang, "sys.bug", {}))], lang=lang)

    async def _answer_aside(self, key: str, incoming: Incoming,
                            answer: Answer) -> list[Action] | None:
        """Answer outside the flows: claimed first like a turn (at most once), the conversation untouched."""
        if await self.store.turn(key, incoming.update_id, incoming.cursor,
                                 lambda raw: TurnResult(state=raw, outbox=[], stats=[])) is None:
            return None
        actions = await answer()
        ids = await self.store.execute(self._enqueue, incoming.key, actions)
        await self.deliver(incoming.key, actions, incoming.reply_to, ids)
        return list(actions)

    async def deliver(self, key: ConversationKey, actions: Sequence[Send | Edit],
                      reply_to: object | None, outbox_ids: Sequence[int]) -> bool:
        """Hand messages to the platform; keep them queued when it refuses."""
        outlet = self.outlets.get(key.platform)
        if outlet is None:
            log.error("no outlet for platform %s; %d message(s) stay queued", key.platform, len(actions))
            return False
        self._inflight.update(outbox_ids)
        try:
            await outlet.deliver(key, actions, reply_to)
            await self.store.ack(outbox_ids)
        except DeliveryFailed as exc:
            log.warning("platform %s refused delivery (%d of %d shown); will retry the rest",
                        key.platform, exc.delivered, len(actions))
            if outbox_ids and (exc.rest is not None or 0 < exc.delivered < len(actions)):
                # keep only what the user has not seen; Edit targets are gone by then
                rest = exc.rest if exc.rest is not None else [
                    a if isinstance(a, Send) else Send(a.text, a.choices, a.token) for a in actions[exc.delivered:]]
                await self.store.requeue(outbox_ids, encode_outbound(rest))
            return False
        finally:
            self._inflight.difference_update(outbox_ids)
        return True

    async def send(self, key: ConversationKey, actions: Sequence[Send]) -> None:
        """Send messages outside a turn (desk replies, timers), durably via the outbox."""
        async with self.conversation_lock(str(key)):
            ids = await self.store.execute(self._enqueue, key, actions)
            await self.deliver(key, actions, None, ids)

    def _enqueue(self, db: Any, key: ConversationKey, actions: Sequence[Send]) -> list[int]:
        return [queue_outbox(db, self.store.codec, str(key), encode_outbound(actions), int(self.clock().timestamp()))]

    async def load_owed(self) -> None:
        """Note which conversations a previous run left replies for: before any adapter
        starts, so even the first turn after a restart (a webhook's) waits for them."""
        self._owed = await self.store.outbox_keys()
        self._owed_loaded = True

    async def redeliver(self) -> None:
        """One round over the outbox, oldest first.

        A conversation whose reply is refused (the user blocked the bot, a chat that
        is gone) is skipped for the rest of the round, keeping its order, and the round
        goes on with the others; only several refusals in a row, the platform itself
        being away, end the round early.
        """
        refused: set[str] = set()
        in_a_row = 0
        for outbox_id, key, payload in await self.store.pending_outbox():
            if outbox_id in self._inflight or key in refused:
                continue
            conv = ConversationKey.parse(key)
            if conv.platform not in self.outlets:
                continue
            async with self.conversation_lock(key):
                if not await self.store.in_outbox(outbox_id):
                    continue  # delivered by its own turn meanwhile
                if await self.deliver(conv, decode_outbound(payload), None, [outbox_id]):
                    in_a_row = 0
                    continue
            refused.add(key)
            in_a_row += 1
            if in_a_row >= REDELIVER_GIVE_UP_AFTER:
                break
        if self._owed:
            self._owed &= await self.store.outbox_keys()

    async def _pay_owed(self, key: str) -> None:
        """Replies a previous run left unsent for this conversation go out before its next turn.

        After a crash the user may already have seen them (sent, not yet dropped from
        the outbox) and answered: their next turn must not come before the repeat, or
        an old question would show up after its answer. Runs under the conversation's lock.
        """
        self._owed.discard(key)
        conv = ConversationKey.parse(key)
        if conv.platform not in self.outlets:
            return
        for outbox_id, _, payload in await self.store.pending_outbox(key):
            if outbox_id in self._inflight:
                continue
            if not await self.deliver(conv, decode_outbound(payload), None, [outbox_id]):
                return

    async def _redeliver_loop(self) -> None:
        while True:
            await asyncio.sleep(REDELIVER_EVERY)
            try:
                await self.redeliver()
            except Exception:
                log.exception("redelivery round failed")
