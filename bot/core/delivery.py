"""Getting queued replies to the platforms: once, in order, also after a crash or a refusal.

Why apart from the turn: a turn only queues its replies in the outbox, inside its own
transaction; everything after that (handing them to the outlet, dropping them once the
platform accepted them, keeping what it refused, sending again what a previous run left)
is the same for a turn's replies, a desk reply and a timer's message. Every attempt takes
the conversation's lock, so a repeat never overtakes or interleaves with a newer turn.

Never log message text; log platforms and counts only.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence

from bot.adapters.base import DeliveryFailed, Outlet
from bot.core.locks import ConversationLocks
from bot.core.outbox import decode_outbound, encode_outbound
from bot.events import ConversationKey, Edit, Send
from bot.store import Store, queue_outbox

log = logging.getLogger(__name__)

#: refusals by different conversations in a row that end a redelivery round (the platform is away)
REDELIVER_GIVE_UP_AFTER = 3


class Delivery:
    """The outbox's way out: deliver, queue and deliver, and redeliver what is still owed."""

    def __init__(self, store: Store, outlets: dict[str, Outlet], locks: ConversationLocks) -> None:
        self.store = store
        #: the core's outlets by platform (the same dict: adapters register with the core)
        self.outlets = outlets
        self.locks = locks
        #: outbox rows being handed to a platform right now (a redelivery round skips them)
        self._inflight: set[int] = set()
        #: conversations with replies a previous run left in the outbox (see pay_owed)
        self.owed: set[str] = set()
        self.owed_loaded = False
        #: other processes deliver too (webhook workers): any conversation may be owed what one of them
        #: left when it died, so pay_owed asks the outbox before every turn (under the shared lock)
        self.owed_anywhere = False

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

    async def queue(self, key: ConversationKey, actions: Sequence[Send]) -> list[int]:
        """Put messages in the outbox first, so they survive a crash before the platform has them."""
        return await self.store.execute(self._enqueue, key, actions)

    def _enqueue(self, db: sqlite3.Connection, key: ConversationKey, actions: Sequence[Send]) -> list[int]:
        now = int(self.store.clock().timestamp())
        return [queue_outbox(db, self.store.codec, str(key), encode_outbound(actions), now)]

    async def send(self, key: ConversationKey, actions: Sequence[Send]) -> None:
        """Send messages outside a turn (desk replies, timers), durably via the outbox."""
        async with self.locks(str(key)):
            await self.deliver(key, actions, None, await self.queue(key, actions))

    async def load_owed(self) -> None:
        """Note which conversations a previous run left replies for: before any adapter
        starts, so even the first turn after a restart (a webhook's) waits for them."""
        self.owed = await self.store.outbox_keys()
        self.owed_loaded = True

    async def redeliver(self) -> None:
        """One round over the outbox, oldest first.

        A conversation whose reply is refused (the user blocked the bot, a chat that
        is gone) is skipped for the rest of the round, keeping its order, and the round
        goes on with the others; only several refusals in a row, the platform itself
        being away, end the round early.
        """
        refused: set[str] = set()
        in_a_row = 0
        for outbox_id, key, _ in await self.store.pending_outbox():
            if outbox_id in self._inflight or key in refused:
                continue
            conv = ConversationKey.parse(key)
            if conv.platform not in self.outlets:
                continue
            async with self.locks(key):
                # read again under the lock: delivered by its own turn meanwhile, the row is gone, and
                # its id may already be another conversation's (SQLite reuses the highest id)
                payload = await self.store.still_queued(outbox_id, key)
                if payload is None:
                    continue
                if await self.deliver(conv, decode_outbound(payload), None, [outbox_id]):
                    in_a_row = 0
                    continue
            refused.add(key)
            in_a_row += 1
            if in_a_row >= REDELIVER_GIVE_UP_AFTER:
                break
        if self.owed:
            self.owed &= await self.store.outbox_keys()

    async def pay_owed(self, key: str) -> None:
        """Replies a previous run left unsent for this conversation go out before its next turn.

        After a crash the user may already have seen them (sent, not yet dropped from
        the outbox) and answered: their next turn must not come before the repeat, or
        an old question would show up after its answer. Runs under the conversation's lock.
        """
        if key not in self.owed and not self.owed_anywhere:
            return
        self.owed.discard(key)
        conv = ConversationKey.parse(key)
        if conv.platform not in self.outlets:
            return
        for outbox_id, _, payload in await self.store.pending_outbox(key):
            if outbox_id in self._inflight:
                continue
            if not await self.deliver(conv, decode_outbound(payload), None, [outbox_id]):
                return

    async def keep_redelivering(self, every: float) -> None:
        """What a platform refused is tried again every `every` seconds, for as long as the core runs."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.redeliver()
            except Exception:
                log.exception("redelivery round failed")
