"""The sync loop and its cursor: each update handled at most once, none lost.

Why apart: the order of things in one sync is what keeps that promise, and
it is easier to see on its own. The sync token is written only after every
event of that sync went through `handle` (which commits it with update_id
"mx:<event id>", so the core drops a replay after a crash in between). The
first sync ever is skipped: the bot never answers history. A gap in a long
outage (a "limited" timeline) is read back through /messages. Between
syncs the device's keys are kept up to date (device.py), and once the first
sync arrived deliveries may go. A slow turn shows the bot typing.

A sync that fails is tried again with backoff; a token the homeserver no
longer accepts ends the loop with SessionEnded, so the adapter logs in again.
One update the core cannot handle must not stop every conversation, so its
error is logged (its type only) and the loop goes on.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientError
from nio import AsyncClient, MessageDirection, RoomMessagesResponse, SyncError, SyncResponse
from nio.events.room_events import Event as NioEvent

from bot.adapters.base import TYPING_AFTER_S, typing_while_slow
from bot.adapters.matrix.config import MatrixConfig
from bot.adapters.matrix.device import Device
from bot.adapters.matrix.membership import Membership
from bot.adapters.matrix.retry import Retryable, backoff
from bot.adapters.matrix.timeline import read_timeline
from bot.errors import PlatformError
from bot.events import Incoming
from bot.private_files import write_private

log = logging.getLogger(__name__)

SYNC_TOKEN_FILE = "sync_token"

Handler = Callable[[Incoming], Awaitable[object]]

#: Sync filter: no presence, a generous timeline so a short outage leaves no gap.
SYNC_FILTER: dict[str, Any] = {
    "presence": {"types": []},
    "account_data": {"types": []},
    "room": {
        "timeline": {"limit": 50},
        "ephemeral": {"types": []},
        "state": {"lazy_load_members": False},
    },
}


class SessionEnded(PlatformError):
    """The homeserver no longer accepts our access token (revoked, logged out)."""


class SyncLoop:
    """Long-polls /sync, hands each new event to the core, then moves the cursor."""

    def __init__(
        self,
        client: AsyncClient,
        config: MatrixConfig,
        device: Device,
        rooms: Membership,
        ready: asyncio.Event,
        stopping: Callable[[], bool],
        checkpoint: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.client = client
        self.config = config
        self.device = device
        self.rooms = rooms
        #: set once the first sync arrived: nio knows the rooms, deliveries may go
        self.ready = ready
        self._stopping = stopping
        #: seconds a turn may take before the room shows the bot typing (tests set it)
        self.typing_after = TYPING_AFTER_S
        #: syncs that failed (for logs and tests)
        self.sync_failures = 0
        #: time.monotonic() of the last sync the homeserver answered (None: none yet); /readyz reads it
        self.synced_at: float | None = None
        self._token: str | None = None
        #: before each /sync request: the device handed over to the next lease holder (bot/handover.py)
        self._checkpoint = checkpoint

    def load_cursor(self) -> None:
        """The token of the last sync whose events were all handled (None: never synced)."""
        token_file = self.config.store / SYNC_TOKEN_FILE
        self._token = token_file.read_text().strip() if token_file.exists() else None

    async def run(self, handle: Handler) -> None:
        """Sync until stopped; try again with backoff when the homeserver goes away."""
        first = True
        attempt = 0
        while not self._stopping():
            try:
                await self._sync_once(handle, first=first)
                first = False
                attempt = 0
            except asyncio.CancelledError:
                raise
            except (ClientError, TimeoutError, Retryable) as err:
                if self._stopping():
                    break
                wait = err.wait if isinstance(err, Retryable) and err.wait else None
                wait = wait or backoff(attempt, self.config.max_backoff)
                attempt += 1
                self.sync_failures += 1
                log.warning("matrix sync failed (%s); retry %d in %.1fs", type(err).__name__, attempt, wait)
                await asyncio.sleep(wait)

    async def _sync_once(self, handle: Handler, *, first: bool) -> None:
        if self._checkpoint is not None:
            # Before the request that tells the homeserver the last sync's to-device messages
            # arrived: their keys and its token must be saved where the next holder finds them.
            await self._checkpoint()
        resp = await self.client.sync(
            timeout=0 if first else self.config.sync_timeout_ms,
            sync_filter=SYNC_FILTER,
            since=self._token,
            # After a restart nio knows no room: ask for all state once.
            full_state=True if first else None,
        )
        if isinstance(resp, SyncError):
            if resp.status_code in ("M_UNKNOWN_TOKEN", "M_FORBIDDEN"):
                raise SessionEnded(str(resp.status_code))
            raise Retryable((resp.retry_after_ms or 0) / 1000 or None, str(resp.status_code))
        self.synced_at = time.monotonic()
        await self.device.keep_keys()
        # nio knows the rooms now: deliveries may go (some come from
        # the handling below, so waiting for its end would deadlock).
        self.ready.set()
        await self._handle_sync(resp, handle, history=self._token is None)
        self._save_cursor(resp.next_batch)

    def _save_cursor(self, token: str) -> None:
        if token and token != self._token:
            write_private(self.config.store / SYNC_TOKEN_FILE, token)
            self._token = token

    async def _handle_sync(self, resp: SyncResponse, handle: Handler, *, history: bool) -> None:
        for room_id, invite in resp.rooms.invite.items():
            await self.rooms.on_invite(room_id, invite.invite_state)
        for room_id, joined in resp.rooms.join.items():
            if history:
                continue  # the very first sync: never answer what came before us
            events = list(joined.timeline.events)
            if joined.timeline.limited and self._token:
                events = await self._backfill(room_id, joined.timeline.prev_batch) + events
            for incoming in read_timeline(room_id, events, str(self.client.user_id), self.rooms.greeted):
                await self._handle_one(room_id, incoming, handle)
            await self.rooms.leave_if_alone(room_id)
        await self.rooms.leave_forgotten()
        self.rooms.look_at_desk_rooms()

    async def _handle_one(self, room_id: str, incoming: Incoming, handle: Handler) -> None:
        """One update to the core (typing while it is slow), or, where others read along, a pointer elsewhere."""
        if not self.rooms.for_the_core(room_id, incoming.key.user):
            await self.rooms.private_only(room_id, incoming)
            return
        try:
            async with typing_while_slow(self.typing_after, functools.partial(self._typing, room_id, True),
                                         functools.partial(self._typing, room_id, False)):
                await handle(incoming)
        except (ClientError, TimeoutError, asyncio.CancelledError):
            raise  # the homeserver went away: this sync is handled again
        except Exception as err:
            # One update the core cannot handle must not stop every
            # conversation; the type only (a message could quote a user).
            log.error("matrix update %s failed: %s", incoming.update_id, type(err).__name__)

    async def _typing(self, room_id: str, typing: bool) -> None:
        """The typing notice of a slow turn: for 30 s at most, ended when the turn is done."""
        await self.client.room_typing(room_id, typing_state=typing, timeout=30_000)

    async def _backfill(self, room_id: str, prev_batch: str | None) -> list[NioEvent]:
        """The events between our last handled sync and a limited timeline's start."""
        found: list[NioEvent] = []
        start = prev_batch
        while start:
            resp = await self.client.room_messages(
                room_id,
                start=start,
                end=self._token,
                direction=MessageDirection.back,
                limit=100,
            )
            if not isinstance(resp, RoomMessagesResponse) or not resp.chunk:
                break
            found.extend(resp.chunk)
            if not resp.end or resp.end == start:
                break
            start = resp.end
        found.reverse()
        return found
