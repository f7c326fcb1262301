"""The Matrix adapter: the thin composition bot.app starts, a Service for the app and an Outlet for the core.

A thin translator like every adapter: it knows no flow and keeps no
conversation state. What it does own is everything Matrix-specific that makes
a bot trustworthy over time, each in its own part of this package:

- One device for life (device.py): the access token, device id, nio's crypto
  store (olm/megolm sessions, SQLite) and the cross-signing keys
  (crosssigning.py) live in one store directory (0700, files 0600); a
  restart restores them instead of logging in again, because a new device
  means new keys that every user's client must learn (and, without
  cross-signing, distrust). With several processes on one PostgreSQL, that
  folder follows the Matrix lease: the holder keeps a snapshot of it in the
  database (encrypted) before every sync, after deliveries and at a clean
  stop, and the process that takes over restores it before it logs in, so it
  is the same device (bot/handover.py says what a SIGKILL can cost).
- Each update at most once, none lost (sync.py, timeline.py): the sync
  token is written only after every event of that sync went through
  `handle`; the first sync ever and everything before the bot's own join in
  a room are skipped; a gap in a long outage is read back through /messages.
- Rooms (membership.py, rooms.py): invites to direct chats are joined and
  greeted, desk rooms named in WEGWIJZER_DESKS are joined and never left,
  any other invite is declined. Private means two people, checked again for
  every message and before every reply; in any other room the bot only
  invites to a private chat. Forget me: once its goodbye is shown, the bot
  says what the homeserver and the user's own app still keep, drops that
  room's keys, leaves and forgets the room.
- Messages out (outlet.py, render.py, journal.py): a send keeps its
  transaction id until the homeserver confirms it, also across the outbox's
  later retry and a restart, so the homeserver stores it once however often
  we ask; cut off halfway, the core is told how many actions were shown.
  Messages are sent with ignore_unverified_devices=True (see the README).
- Rate limits and outages (retry.py): the adapter, not nio, retries (nio's
  own retry loops are switched off so there is one policy); after
  `give_up_after` seconds delivery raises DeliveryFailed so the core keeps
  the message in its outbox.

It never logs message text, user ids or room ids at info level.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiohttp import ClientError
from nio import AsyncClient, AsyncClientConfig
from nio.store import SqliteStore

from bot.adapters.matrix.config import PLATFORM, MatrixConfig, MatrixLoginError, config_from_settings
from bot.adapters.matrix.crosssigning import CrossSigningState
from bot.adapters.matrix.device import Device
from bot.adapters.matrix.journal import SendJournal
from bot.adapters.matrix.membership import Membership
from bot.adapters.matrix.outlet import MatrixOutlet
from bot.adapters.matrix.retry import Retryable, RetryPolicy, backoff
from bot.adapters.matrix.sync import Handler, SessionEnded, SyncLoop
from bot.events import ConversationKey, Document, Edit, Send
from bot.features import Hooks
from bot.handover import FolderHandover
from bot.private_files import private_folder
from bot.store_thread import StoreUnavailable

if TYPE_CHECKING:
    from bot.core import Core
    from bot.settings import Settings

log = logging.getLogger(__name__)

#: Seconds a sync may be overdue (after its long poll) before /readyz says Matrix is not syncing:
#: handling a sync's events and a short reconnect fit in it, a homeserver that is gone does not.
SYNC_LATE_S = 60.0


class MatrixAdapter:
    """One Matrix device: a service for bot.app and an Outlet for the core.

    `start()` returns at once and connects in the background (a homeserver
    that is down at boot must not hold up Telegram); `ready()` waits for the
    first sync. Wrong credentials are logged as an error and end the task.
    """

    platform = PLATFORM

    def __init__(self, settings: Settings, core: Core, config: MatrixConfig | None = None) -> None:
        self.config = config or config_from_settings(settings)
        self.core = core
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        store = self.config.store
        private_folder(store, ours=True)
        self.client = AsyncClient(
            self.config.homeserver,
            self.config.user,
            device_id=self.config.device_id or "",
            store_path=str(store),
            config=AsyncClientConfig(
                store=SqliteStore,
                encryption_enabled=True,
                store_sync_tokens=False,
                # The adapter owns every retry (one policy, bounded in time).
                max_limit_exceeded=0,
                max_timeouts=0,
                request_timeout=30,
            ),
        )
        ready = asyncio.Event()
        self.retry = RetryPolicy(self.config.give_up_after, self.config.max_backoff, lambda: self._stopping)
        self.device = Device(self.config, self.client)
        self.device.after_upload = self._save_quietly
        self.journal = SendJournal(store, lambda: self.core.clock())
        self.outlet = MatrixOutlet(self.client, self.retry, self.journal, ready)
        self.rooms = Membership(self.client, self.config, core, self.retry, self.outlet)
        self.sync = SyncLoop(self.client, self.config, self.device, self.rooms, ready, lambda: self._stopping,
                             checkpoint=self._checkpoint)
        #: the adapter's part in turns: leave a private room after "forget me"
        self._watch = Hooks(watch=self.rooms.after_turn)

    @functools.cached_property
    def handover(self) -> FolderHandover:
        """The store folder in the shared database, for the next holder of the Matrix lease (a cluster only)."""
        return FolderHandover(self.core.store, self.config.store, f"{PLATFORM}/{self.config.user}",
                              self.core.leases, PLATFORM)

    # ------------------------------------------------------------ what logs and tests read

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    @property
    def device_id(self) -> str:
        return str(self.client.device_id)

    @property
    def cross_signing(self) -> CrossSigningState | None:
        return self.device.cross_signing

    @property
    def throttled(self) -> int:
        """429s waited out."""
        return self.retry.throttled

    def readiness(self) -> str | None:
        """None while logged in and syncing: a sync answered within its long poll and SYNC_LATE_S (bot/health.py)."""
        if self._task is None or self._task.done():
            return "not running"
        if not self.client.logged_in:
            return "not logged in"
        if self.sync.synced_at is None:
            return "no sync yet"
        since = time.monotonic() - self.sync.synced_at
        return f"no sync for {since:.0f} s" if since > self.config.sync_timeout_ms / 1000 + SYNC_LATE_S else None

    @property
    def sync_failures(self) -> int:
        return self.sync.sync_failures

    @property
    def typing_after(self) -> float:
        """Seconds a turn may take before the room shows the bot typing (tests set it)."""
        return self.sync.typing_after

    @typing_after.setter
    def typing_after(self, seconds: float) -> None:
        self.sync.typing_after = seconds

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Register with the core and connect in the background."""
        self.core.register(self)
        self.core.add(self._watch)  # once, also when started again
        self._stopping = False
        # synced by one process of a cluster at a time (bot/lease.py)
        self._task = asyncio.create_task(self.core.leases.run_while_held(PLATFORM, self._serve), name="matrix")

    async def ready(self, timeout: float | None = None) -> None:
        """Wait until the first sync response arrived (or the task died)."""
        waiter = asyncio.ensure_future(self.sync.ready.wait())
        assert self._task is not None, "start() first"
        done, _ = await asyncio.wait({waiter, self._task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if self._task in done:
            self._task.result()  # raises what ended it
            raise MatrixLoginError("the matrix task ended")
        if not done:
            raise TimeoutError("matrix did not connect in time")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self._save_quietly()  # a clean stop hands the newest device over
        self.handover.close()
        await self.client.close()

    async def _serve(self) -> None:
        """Connect (retrying while the homeserver is away), then sync; log in again if logged out."""
        attempt = 0
        taken_over = False
        while not self._stopping:
            try:
                if not taken_over:
                    await self._take_over()
                    taken_over = True
                await self.connect()
                attempt = 0
                await self.run(self.core.handle)
            except MatrixLoginError as err:
                log.error("matrix login failed, matrix is off: %s", err)
                raise
            except SessionEnded as err:
                # Logged out elsewhere: connect() logs in again as the same
                # device when it has the password, and refuses otherwise.
                log.warning("matrix session ended (%s); logging in again", err)
            except (ClientError, TimeoutError, Retryable) as err:
                wait = (err.wait if isinstance(err, Retryable) else None) or backoff(attempt, self.config.max_backoff)
                attempt += 1
                log.warning("matrix homeserver unreachable (%s); retry in %.1fs", type(err).__name__, wait)
                await asyncio.sleep(wait)

    async def _take_over(self) -> None:
        """The device as the previous holder of the lease left it (bot/handover.py), before it is opened.

        A database that cannot be read is waited for: logging in meanwhile would make a new device.
        """
        try:
            if await self.handover.restore(self._close_crypto_store):
                self.journal.load()
                self.rooms.read_files()
        except Exception as err:  # the database's errors, whichever backend
            raise Retryable(None, f"device hand-over: {type(err).__name__}") from err

    def _close_crypto_store(self) -> None:
        """Let go of nio's crypto store before its file is replaced; the next login opens the new one."""
        if self.client.store is not None:
            self.client.store.database.close()
        self.client.store = None
        self.client.olm = None

    async def _checkpoint(self) -> None:
        """Before each /sync request: the device saved for the next holder, or no request (it is retried)."""
        try:
            await self.handover.save()
        except Exception as err:  # the database's errors, whichever backend
            raise Retryable(None, f"device hand-over: {type(err).__name__}") from err

    async def _save_quietly(self) -> None:
        """After a delivery or a key upload, and at stop: saved now if possible, else before the next /sync.

        Never waits for a database that is away: a delivery or a stop must not hang on it.
        """
        if not self.core.leases.holds(PLATFORM):
            return
        try:
            await self.handover.save(wait=False)
        except StoreUnavailable:
            pass  # the store warned once that the database is away; saved before the next /sync
        except Exception as err:  # the database's errors, whichever backend
            log.warning("matrix device not saved for a take-over (%s); tried again before the next sync",
                        type(err).__name__)

    async def connect(self) -> None:
        """Log in (or restore), publish device keys, cross-sign this device; then read the sync cursor."""
        await self.device.connect()
        self.sync.load_cursor()

    async def run(self, handle: Handler) -> None:
        """Sync until `stop()`; reconnect with backoff when the homeserver goes away."""
        await self.sync.run(handle)

    # ------------------------------------------------------------ the core's outlet

    async def deliver(
        self,
        key: ConversationKey,
        actions: Sequence[Send | Edit],
        reply_to: object | None,
    ) -> None:
        """Show a turn in the room (Edits become new messages: Matrix edits read poorly).

        Only in a private chat of this user (or a desk room); after a "forget
        me" the goodbye says what stays elsewhere and the room is left
        (membership.py).
        """
        await self.rooms.deliver(key, actions)
        await self._save_quietly()  # sending may have used an Olm session

    async def deliver_to_room(self, room: str, text: str, document: Document | None) -> str:
        """Post to a desk room; the card's event id identifies the post (replies name it).

        The desk posts a post that failed again, with the same text and
        document: like a user's turn, a card already shown is not shown again
        and its id is still the one returned.
        """
        event_id = await self.outlet.show(room, [Send(text, document=document)])
        await self._save_quietly()
        return event_id
