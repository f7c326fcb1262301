"""The Matrix adapter: nio sync responses -> Incoming; Send/Edit -> room messages.

A thin translator like every adapter: it knows no flow and keeps no
conversation state. What it does own is everything Matrix-specific that makes
a bot trustworthy over time:

- One device for life. The access token, device id, nio's crypto store
  (olm/megolm sessions, SQLite) and the cross-signing keys live in one store
  directory (0700, files 0600); a restart restores them instead of logging in
  again, because a new device means new keys that every user's client must
  learn (and, without cross-signing, distrust).
- Each update at most once, none lost. The sync token is written only after
  every event of that sync went through `handle` (which commits it with
  update_id "mx:<event id>", so the core drops a replay after a crash in
  between). The first sync ever and everything before the bot's own join in
  a room are skipped: the bot never answers history. A gap in a long outage
  (a "limited" timeline) is read back through /messages.
- Rooms: invites to direct chats are joined (and greeted with /start);
  desk rooms named in WEGWIJZER_DESKS are joined, never greeted nor left,
  and their messages go to the core like any other (a reply names the
  message it answers in extra["reply_to"], for the desk's relay); any other
  invite is declined; a room the user left is left.
- Private means two people. `is_direct` is the inviter's word, so a room
  counts as a private chat only while its members are exactly the bot and
  one person, checked again for every message and before every reply
  (rooms.py). In any other room the bot only invites to a private chat and
  no reply meant for one person is ever posted there.
- Forget me: once its goodbye is shown, the bot says what the homeserver
  and the user's own app still keep, leaves and forgets the room and drops
  that room's keys from its crypto store (rooms.py).
- Encryption: nio's olm/megolm with a persistent store; messages are sent
  with ignore_unverified_devices=True (see the README: the bot talks to
  anonymous members of the public, so there is nobody to verify; it still
  shares keys only with the devices the homeserver lists for the room's
  members). Its own device is cross-signed (crosssigning.py).
- Rate limits and outages: the adapter, not nio, retries (nio's own retry
  loops are switched off so there is one policy): a 429 waits the server's
  retry_after_ms, a connection error backs off exponentially, and after
  `give_up_after` seconds delivery raises DeliveryFailed so the core keeps
  the message in its outbox, told how many of the turn's actions were
  already shown (only the rest comes back). A send keeps its transaction id
  until the homeserver confirms it, also across the outbox's later retry and
  a restart (journal.py), so the homeserver stores it once however often we
  ask. Posts to desk rooms go the same way, so a card whose file failed
  is not posted again when the desk retries it.

It never logs message text, user ids or room ids at info level.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import ClientError
from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    InviteMemberEvent,
    JoinError,
    LocalProtocolError,
    LoginResponse,
    MegolmEvent,
    MessageDirection,
    RoomMemberEvent,
    RoomMessageEmote,
    RoomMessageMedia,
    RoomMessagesResponse,
    RoomMessageText,
    RoomSendResponse,
    SendRetryError,
    StickerEvent,
    SyncError,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)
from nio.events.room_events import Event as NioEvent
from nio.events.room_events import RoomEncryptedMedia, RoomMessageUnknown
from nio.store import SqliteStore

from bot.adapters.base import TYPING_AFTER_S, DeliveryFailed, typing_while_slow
from bot.adapters.matrix.crosssigning import (
    CrossSigningError,
    CrossSigningState,
    ensure_cross_signed,
    query_own_keys,
)
from bot.adapters.matrix.journal import SendJournal, intro_key, part_key, write_private
from bot.adapters.matrix.render import (
    FileMessage,
    Outgoing,
    document_fallback,
    file_content,
    parse_text,
    render_parts,
)
from bot.adapters.matrix.rooms import (
    PendingForgets,
    drop_room_keys,
    drop_user_keys,
    is_private,
    names_bot,
    shares_another_room,
)
from bot.desk.safety_desk import render_or_fallback
from bot.errors import PlatformError
from bot.events import (
    Command,
    ConversationKey,
    Document,
    Edit,
    Event,
    ForgetUser,
    Incoming,
    Send,
    Text,
    Unsupported,
)
from bot.features import Hooks
from bot.letters import file_bytes
from bot.private_files import private_folder

if TYPE_CHECKING:
    from bot.core import Core
    from bot.engine import Turn
    from bot.settings import Settings

log = logging.getLogger(__name__)

PLATFORM = "matrix"
SESSION_FILE = "session.json"
SYNC_TOKEN_FILE = "sync_token"

Handler = Callable[[Incoming], Awaitable[object]]
T = TypeVar("T")

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


class MatrixLoginError(PlatformError):
    """The configured credentials do not give us a session."""


class _SessionEnded(PlatformError):
    """The homeserver no longer accepts our access token (revoked, logged out)."""


#: Answers that no retry will change: the credentials themselves are wrong.
_REFUSED = ("M_FORBIDDEN", "M_USER_DEACTIVATED", "M_UNKNOWN_TOKEN", "M_INVALID_USERNAME")


@dataclass(frozen=True)
class MatrixConfig:
    """What the adapter needs; built from the WEGWIJZER_MATRIX_* settings."""

    homeserver: str
    user: str
    store: Path
    password: str | None = None
    access_token: str | None = None
    device_id: str | None = None
    device_name: str = "Wegwijzer"
    #: rooms the bot posts reports to: joined when invited, never answered
    desk_rooms: frozenset[str] = frozenset()
    #: long-poll time of one /sync
    sync_timeout_ms: int = 30_000
    #: how long one delivery may keep retrying before DeliveryFailed
    give_up_after: float = 120.0
    #: longest wait between reconnect attempts
    max_backoff: float = 15.0
    #: greet with /start when joining a direct chat
    greet_on_join: bool = True


def config_from_settings(settings: Settings) -> MatrixConfig:
    """The WEGWIJZER_MATRIX_* settings; the store defaults to a folder next to the DB."""
    if not (settings.matrix_homeserver and settings.matrix_user):
        raise MatrixLoginError("set WEGWIJZER_MATRIX_HOMESERVER and WEGWIJZER_MATRIX_USER")
    password = settings.matrix_password
    token = settings.matrix_access_token
    return MatrixConfig(
        homeserver=settings.matrix_homeserver.rstrip("/"),
        user=settings.matrix_user,
        store=settings.matrix_store or settings.db.parent / "matrix-store",
        password=password.get_secret_value() if password else None,
        access_token=token.get_secret_value() if token else None,
        device_id=settings.matrix_device_id,
        desk_rooms=frozenset(room for _, room in settings.desk_rooms(PLATFORM)),
    )


@dataclass
class _RoomMemory:
    """What the adapter learns about a room in this process (not persisted)."""

    inviter: str | None = None
    #: told "talk to me in a private chat" since the room stopped being private
    told_private_only: bool = False


# ------------------------------------------------------------------ small files


def _backoff(attempt: int, ceiling: float) -> float:
    """Exponential with jitter: 0.25 s, 0.5 s, 1 s ... up to `ceiling`."""
    base: float = min(ceiling, 0.25 * (2**attempt))
    return base * (0.75 + random.random() / 2)  # jitter, not crypto


class _Refused(PlatformError):
    """The homeserver refused for good (no retry will change it)."""


class _Retryable(PlatformError):
    def __init__(self, wait: float | None, reason: str) -> None:
        super().__init__(reason)
        self.wait = wait
        self.reason = reason


# ------------------------------------------------------------------ the adapter


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
        #: seconds a turn may take before the room shows the bot typing (tests set it)
        self.typing_after = TYPING_AFTER_S
        self.cross_signing: CrossSigningState | None = None
        self._rooms: dict[str, _RoomMemory] = {}
        self._ready = asyncio.Event()
        self._stopping = False
        self._sync_token: str | None = None
        self._task: asyncio.Task[None] | None = None
        #: counters for logs and tests: 429s waited out, syncs that failed
        self.throttled = 0
        self.sync_failures = 0
        store = self.config.store
        private_folder(store, ours=True)
        self._journal = SendJournal(store, lambda: self.core.clock())
        #: the adapter's part in turns: leave a private room after "forget me"
        self._watch = Hooks(watch=self._after_turn)
        #: desk rooms whose settings were looked at (see _warn_about_desk_room)
        self._desks_seen: set[str] = set()
        self._forgets = PendingForgets(store)
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

    # ------------------------------------------------------------ lifecycle

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    @property
    def device_id(self) -> str:
        return str(self.client.device_id)

    async def start(self) -> None:
        """Register with the core and connect in the background."""
        self.core.register(self)
        self.core.add(self._watch)  # once, also when started again
        self._stopping = False
        self._task = asyncio.create_task(self._serve(), name="matrix")

    async def ready(self, timeout: float | None = None) -> None:
        """Wait until the first sync response arrived (or the task died)."""
        waiter = asyncio.ensure_future(self._ready.wait())
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
        await self.client.close()

    async def _serve(self) -> None:
        """Connect (retrying while the homeserver is away), then sync; log in again if logged out."""
        attempt = 0
        while not self._stopping:
            try:
                await self.connect()
                attempt = 0
                await self.run(self.core.handle)
            except MatrixLoginError as err:
                log.error("matrix login failed, matrix is off: %s", err)
                raise
            except _SessionEnded as err:
                # Logged out elsewhere: connect() logs in again as the same
                # device when it has the password, and refuses otherwise.
                log.warning("matrix session ended (%s); logging in again", err)
            except (ClientError, TimeoutError, _Retryable) as err:
                wait = (err.wait if isinstance(err, _Retryable) else None) or _backoff(attempt, self.config.max_backoff)
                attempt += 1
                log.warning("matrix homeserver unreachable (%s); retry in %.1fs", type(err).__name__, wait)
                await asyncio.sleep(wait)

    async def connect(self) -> None:
        """Log in (or restore), publish device keys, cross-sign this device."""
        await self._login()
        for path in self.config.store.glob("*.db*"):  # nio's crypto store: ours alone
            path.chmod(0o600)
        assert self.client.olm is not None
        if not self.client.should_upload_keys and not await self._device_published():
            # The server forgot this device (logged out, so its keys were
            # deleted) while we still hold them: publish the same identity
            # again rather than become a new device users must learn.
            self.client.olm.account.shared = False
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        try:
            self.cross_signing = await ensure_cross_signed(self.client, self.config.store, self.config.password)
        except (CrossSigningError, ClientError, TimeoutError) as err:
            # Encryption still works; only clients that hide unverified
            # devices will not show the bot until the next start.
            log.warning("cross-signing not set up: %s", err)
        token_file = self.config.store / SYNC_TOKEN_FILE
        self._sync_token = token_file.read_text().strip() if token_file.exists() else None
        log.info(
            "matrix device ready (cross-signing: %s)",
            self.cross_signing.value if self.cross_signing else "unknown",
        )

    async def _device_published(self) -> bool:
        keys = await query_own_keys(self.client)
        return self.device_id in keys.get("device_keys", {}).get(self.user_id, {})

    async def _login(self) -> None:
        session_file = self.config.store / SESSION_FILE
        saved = json.loads(session_file.read_text()) if session_file.exists() else None
        if saved and saved.get("homeserver") == self.config.homeserver:
            self.client.restore_login(saved["user_id"], saved["device_id"], saved["access_token"])
            who = await self.client.whoami()
            if isinstance(who, WhoamiResponse):
                return
            if who.status_code != "M_UNKNOWN_TOKEN":
                raise _Retryable(None, f"whoami: {who.status_code}")
            # The token was revoked: log in again *as the same device*, so
            # its keys and its cross-signature stay valid.
            self.client.access_token = ""
            self.client.device_id = saved["device_id"]
        if self.config.access_token:
            self.client.access_token = self.config.access_token
            who = await self.client.whoami()
            if not isinstance(who, WhoamiResponse):
                if who.status_code in _REFUSED:
                    raise MatrixLoginError(f"the access token was refused: {who.status_code}")
                raise _Retryable(None, f"whoami: {who.status_code}")
            device_id = who.device_id or self.config.device_id
            if not device_id:
                raise MatrixLoginError("set WEGWIJZER_MATRIX_DEVICE_ID for this access token")
            self.client.restore_login(who.user_id, device_id, self.config.access_token)
        elif self.config.password:
            resp = await self.client.login(self.config.password, self.config.device_name)
            if not isinstance(resp, LoginResponse):
                if resp.status_code in _REFUSED:
                    raise MatrixLoginError(f"login failed: {resp.status_code}")
                raise _Retryable((resp.retry_after_ms or 0) / 1000 or None, f"login: {resp.status_code}")
        else:
            raise MatrixLoginError("set WEGWIJZER_MATRIX_PASSWORD or WEGWIJZER_MATRIX_ACCESS_TOKEN")
        write_private(
            session_file,
            json.dumps(
                {
                    "homeserver": self.config.homeserver,
                    "user_id": self.client.user_id,
                    "device_id": self.client.device_id,
                    "access_token": self.client.access_token,
                }
            ),
        )

    # ------------------------------------------------------------ receiving

    async def run(self, handle: Handler) -> None:
        """Sync until `close()`; reconnect with backoff when the homeserver goes away."""
        first = True
        attempt = 0
        while not self._stopping:
            try:
                resp = await self.client.sync(
                    timeout=0 if first else self.config.sync_timeout_ms,
                    sync_filter=SYNC_FILTER,
                    since=self._sync_token,
                    # After a restart nio knows no room: ask for all state once.
                    full_state=True if first else None,
                )
                if isinstance(resp, SyncError):
                    if resp.status_code in ("M_UNKNOWN_TOKEN", "M_FORBIDDEN"):
                        raise _SessionEnded(str(resp.status_code))
                    raise _Retryable((resp.retry_after_ms or 0) / 1000 or None, str(resp.status_code))
                await self._keep_keys()
                # nio knows the rooms now: deliveries may go (some come from
                # the handling below, so waiting for its end would deadlock).
                self._ready.set()
                await self._handle_sync(resp, handle, history=self._sync_token is None)
                self._save_sync_token(resp.next_batch)
                first = False
                attempt = 0
            except asyncio.CancelledError:
                raise
            except (ClientError, TimeoutError, _Retryable) as err:
                if self._stopping:
                    break
                wait = err.wait if isinstance(err, _Retryable) and err.wait else None
                wait = wait or _backoff(attempt, self.config.max_backoff)
                attempt += 1
                self.sync_failures += 1
                log.warning(
                    "matrix sync failed (%s); retry %d in %.1fs",
                    type(err).__name__,
                    attempt,
                    wait,
                )
                await asyncio.sleep(wait)

    def _save_sync_token(self, token: str) -> None:
        if token and token != self._sync_token:
            write_private(self.config.store / SYNC_TOKEN_FILE, token)
            self._sync_token = token

    async def _keep_keys(self) -> None:
        """What nio's sync_forever does between syncs to keep encryption working."""
        client = self.client
        await client.send_to_device_messages()
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())

    async def _handle_sync(self, resp: SyncResponse, handle: Handler, *, history: bool) -> None:
        for room_id, invite in resp.rooms.invite.items():
            await self._on_invite(room_id, invite.invite_state)
        for room_id, joined in resp.rooms.join.items():
            events = list(joined.timeline.events)
            if history:
                continue  # the very first sync: never answer what came before us
            if joined.timeline.limited and self._sync_token:
                events = await self._backfill(room_id, joined.timeline.prev_batch) + events
            for incoming in self._translate(room_id, events):
                if room_id not in self.config.desk_rooms and not self._private(room_id, incoming.key.user):
                    await self._private_only(room_id, incoming)
                    continue
                self._rooms.setdefault(room_id, _RoomMemory()).told_private_only = False
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
            await self._leave_if_alone(room_id)
        for room_id in self._forgets.leaving():
            await self._leave_forgotten(room_id, patient=False)
        for room_id in self.config.desk_rooms - self._desks_seen:
            if room_id in self.client.rooms:
                self._desks_seen.add(room_id)
                self._warn_about_desk_room(room_id)

    def _warn_about_desk_room(self, room_id: str) -> None:
        """Reports and relayed talks are for the desk's staff alone: say so when the room does not keep them in.

        Once per start, in the log, naming the room as WEGWIJZER_DESKS does; never its content.
        """
        room = self.client.rooms[room_id]
        if not room.encrypted:
            log.warning("matrix desk room %s is not end-to-end encrypted: the homeserver can read the reports; "
                        "turn encryption on in the room's settings (docs/SAFETY-DESK.md)", room_id)
        if room.join_rule == "public":
            log.warning("matrix desk room %s is public: anyone on the homeserver can join and read the reports; "
                        "make it invite-only (docs/SAFETY-DESK.md)", room_id)

    async def _backfill(self, room_id: str, prev_batch: str | None) -> list[NioEvent]:
        """The events between our last handled sync and a limited timeline's start."""
        found: list[NioEvent] = []
        start = prev_batch
        while start:
            resp = await self.client.room_messages(
                room_id,
                start=start,
                end=self._sync_token,
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

    def _translate(self, room_id: str, events: Sequence[NioEvent]) -> Iterable[Incoming]:
        """Timeline events -> Incoming, skipping everything before our own join."""
        me = self.client.user_id
        joined_at = None
        for index, event in enumerate(events):
            if (
                isinstance(event, RoomMemberEvent)
                and event.state_key == me
                and event.membership == "join"
                and event.prev_membership != "join"
            ):
                joined_at = index
        if joined_at is not None:
            join = events[joined_at]
            events = events[joined_at + 1 :]
            greeted = self._greeting(room_id, join)
            if greeted is not None:
                yield greeted
        for event in events:
            if getattr(event, "sender", me) == me:
                continue
            meaning = self._meaning(event)
            if meaning is None:
                continue
            replied = event.source.get("content", {}).get("m.relates_to", {}).get("m.in_reply_to", {})
            yield Incoming(
                key=ConversationKey(PLATFORM, room_id, event.sender),
                event=meaning,
                update_id=f"mx:{event.event_id}",
                reply_to=event.event_id,
                # The desk relays a member's reply to the message it answers.
                extra={"reply_to": str(replied["event_id"])} if "event_id" in replied else {},
            )

    def _greeting(self, room_id: str, join: NioEvent) -> Incoming | None:
        if not self.config.greet_on_join or room_id in self.config.desk_rooms:
            return None
        memory = self._rooms.get(room_id)
        user = memory.inviter if memory else None
        if user is None:
            room = self.client.rooms.get(room_id)
            others = [u for u in (room.users if room else {}) if u != self.client.user_id]
            user = others[0] if len(others) == 1 else None
        if user is None:
            return None
        return Incoming(
            key=ConversationKey(PLATFORM, room_id, user),
            event=Command("start"),
            update_id=f"mx:{join.event_id}",
        )

    @staticmethod
    def _meaning(event: NioEvent) -> Event | None:
        """What a timeline event means to the engine (None: not for the engine)."""
        if isinstance(event, RoomMessageText | RoomMessageEmote):
            relates = event.source.get("content", {}).get("m.relates_to", {})
            if relates.get("rel_type") == "m.replace":
                return None  # an edit of an earlier message: answered already
            return parse_text(event.body, is_reply="m.in_reply_to" in relates)
        if isinstance(event, RoomMessageMedia | RoomEncryptedMedia):
            return Unsupported(event.source.get("content", {}).get("msgtype", "m.file")[2:])
        if isinstance(event, StickerEvent):
            return Unsupported("sticker")
        if isinstance(event, RoomMessageUnknown):
            return Unsupported(event.msgtype.removeprefix("m."))
        if isinstance(event, MegolmEvent):
            # Could not decrypt (keys never arrived): say we could not read it.
            return Unsupported("encrypted")
        return None

    async def _on_invite(self, room_id: str, state: Sequence[NioEvent]) -> None:
        me = self.client.user_id
        invite = next(
            (e for e in state if isinstance(e, InviteMemberEvent) and e.state_key == me and e.membership == "invite"),
            None,
        )
        if invite is None:
            return
        direct = bool(invite.content.get("is_direct"))
        if direct or room_id in self.config.desk_rooms:
            self._rooms[room_id] = _RoomMemory(inviter=invite.sender)
            resp = await self.client.join(room_id)
            if isinstance(resp, JoinError):
                log.warning("could not join a room: %s", resp.status_code)
        else:
            await self.client.room_leave(room_id)

    def _private(self, room_id: str, user: str) -> bool:
        return is_private(self.client.rooms.get(room_id), self.user_id, user)

    def _text(self, lang: str, key: str, **values: Any) -> str:
        return render_or_fallback(self.core.flows, lang, key, {"bot": self.user_id, **values})

    async def _typing(self, room_id: str, typing: bool) -> None:
        """The typing notice of a slow turn: for 30 s at most, ended when the turn is done."""
        await self.client.room_typing(room_id, typing_state=typing, timeout=30_000)

    async def _private_only(self, room_id: str, incoming: Incoming) -> None:
        """In a room that is not a private chat: say where to talk, when addressed, nothing else.

        Answered when the bot is named or given a command, and once when the
        room stops being private (so the person who was talking here knows
        why the bot went quiet). What they typed never reaches the core.
        """
        memory = self._rooms.setdefault(room_id, _RoomMemory())
        event = incoming.event
        addressed = isinstance(event, Command) or (
            isinstance(event, Text) and names_bot(event.text, self.client.rooms.get(room_id), self.user_id))
        if memory.told_private_only and not addressed:
            return
        memory.told_private_only = True
        lang = self.core.flows.locales.pick(incoming.lang_hint, self.core.settings.default_lang)
        try:
            await self._show(room_id, [Send(self._text(lang, "matrix.private_only"))])
        except DeliveryFailed as err:
            log.warning("matrix: invitation to a private chat not delivered (%s)", err)

    def _after_turn(self, incoming: Incoming, turn: Turn) -> None:
        """A "forget me" in a private chat: leave that room once the goodbye is shown (deliver)."""
        key = incoming.key
        if (key.platform == PLATFORM and key.chat not in self.config.desk_rooms
                and any(isinstance(action, ForgetUser) for action in turn.actions)):
            self._forgets.add(key.chat, turn.lang or self.core.settings.default_lang)

    def _drop_keys(self, key: ConversationKey) -> None:
        """What would let the bot read the room again goes first: the room's sessions, maybe the user's keys."""
        drop_room_keys(self.client, key.chat)
        if not shares_another_room(self.client, key.user, key.chat):
            drop_user_keys(self.client, key.user)
        self._forgets.shown(key.chat)

    async def _leave_forgotten(self, room: str, *, patient: bool) -> None:
        """Leave and forget a room after "forget me"; an impatient try (each sync) asks once.

        A refusal for good (not in the room any more) counts as left.
        """
        for call in (self.client.room_leave, self.client.room_forget):
            attempt = functools.partial(self._room_call, call, room)
            try:
                await (self._retrying("leave", attempt) if patient else attempt())
            except _Refused:
                continue  # refused for good: already left, or already forgotten
            except (DeliveryFailed, _Retryable, ClientError, TimeoutError) as err:
                log.warning("matrix: leaving a forgotten room failed (%s); trying again later", type(err).__name__)
                return
        self._rooms.pop(room, None)
        self._forgets.done(room)
        log.info("matrix: left a room after forget-me and dropped its keys")

    async def _room_call(self, call: Callable[[str], Awaitable[object]], room: str) -> None:
        resp = await call(room)
        if isinstance(resp, ErrorResponse):
            err = self._classify(resp)
            raise _Refused(str(err)) if isinstance(err, DeliveryFailed) else err

    async def _leave_if_alone(self, room_id: str) -> None:
        room = self.client.rooms.get(room_id)
        if room is None or room_id in self.config.desk_rooms:
            return
        if room.joined_count <= 1 and room.invited_count == 0:
            await self.client.room_leave(room_id)
            await self.client.room_forget(room_id)
            self._rooms.pop(room_id, None)

    # ------------------------------------------------------------ sending

    async def deliver(
        self,
        key: ConversationKey,
        actions: Sequence[Send | Edit],
        reply_to: object | None,
    ) -> None:
        """Show a turn in the room (Edits become new messages: Matrix edits read poorly).

        Only in a private chat of this user (or a desk room): a reply for one
        person is dropped, not shown, when others have joined since. After a
        "forget me" the goodbye also says what stays elsewhere, then the room is left.
        """
        await self._wait_ready()  # before the first sync nio knows no room's members
        room = self.client.rooms.get(key.chat)
        if key.chat not in self.config.desk_rooms and room is not None and not self._private(key.chat, key.user):
            log.warning("matrix: %d message(s) not sent: the room is no longer a private chat", len(actions))
            return
        lang = self._forgets.lang_of(key.chat)
        if lang is None:
            await self._show(key.chat, actions)
            return
        encrypted = bool(room and room.encrypted)
        await self._show(key.chat, [*actions, Send(self._text(lang, "matrix.forgotten", encrypted=encrypted))])
        self._drop_keys(key)
        await self._leave_forgotten(key.chat, patient=True)

    async def deliver_to_room(self, room: str, text: str, document: Document | None) -> str:
        """Post to a desk room; the card's event id identifies the post (replies name it).

        The desk posts a post that failed again, with the same text and
        document: like a user's turn, a card already shown is not shown again
        and its id is still the one returned.
        """
        return await self._show(room, [Send(text, document=document)])

    async def _show(self, room: str, actions: Sequence[Send | Edit]) -> str:
        """Post actions as events; the id of the first one (possibly shown by an earlier attempt).

        Cut off halfway, it tells the caller how many actions were fully
        shown (DeliveryFailed.delivered), so the core's outbox re-sends only
        the rest. A document whose introduction was shown but whose file was
        not counts as not shown; the journal keeps its introduction from
        appearing twice when that action comes again.
        """
        first = intro_key(room, actions[0]) if actions else ""
        earlier = self._journal.intro_shown(first) if actions else None
        if earlier is not None:
            head = actions[0]
            document = head.document if isinstance(head, Send) else None
            actions = [Send("", token=head.token, document=document), *actions[1:]]
        shown, last, last_id, first_id = 0, None, "", earlier
        occurrences: Counter[Outgoing] = Counter()
        try:
            for part in render_parts(actions):
                event_id = await self._post(room, part.message, part_key(room, part.message, occurrences[part.message]))
                first_id = event_id if first_id is None else first_id
                occurrences[part.message] += 1
                shown, last, last_id = part.completes, part, event_id
        except DeliveryFailed as exc:
            exc.delivered = shown
            if earlier is not None and shown:
                self._journal.confirmed(first)
            if last is not None and last.intro_of == shown:
                self._journal.mark_intro_shown(intro_key(room, actions[shown]), last_id)
            raise
        if earlier is not None:
            self._journal.confirmed(first)
        return first_id or ""

    async def _post(self, room_id: str, message: Outgoing, key: str) -> str:
        """Send one event; its transaction id is kept until the homeserver confirms it."""
        await self._wait_ready()
        if isinstance(message, FileMessage):
            try:
                content = await self._upload(room_id, message.document)
            except DeliveryFailed:
                content = document_fallback(message.document).content()
        else:
            content = message.content()
        tx_id = self._journal.transaction_id(key)
        event_id = await self._retrying("send", lambda: self._room_send(room_id, content, tx_id))
        self._journal.confirmed(key)
        return event_id

    async def _wait_ready(self) -> None:
        """Deliveries wait for the first sync: before it nio knows no room."""
        if self._ready.is_set():
            return
        try:
            await asyncio.wait_for(self._ready.wait(), self.config.give_up_after)
        except TimeoutError as err:
            raise DeliveryFailed("matrix is not connected") from err

    async def _room_send(self, room_id: str, content: dict[str, Any], tx_id: str) -> str:
        try:
            resp = await self.client.room_send(
                room_id,
                "m.room.message",
                content,
                tx_id=tx_id,
                ignore_unverified_devices=True,
            )
        except (LocalProtocolError, SendRetryError) as err:
            if room_id not in self.client.rooms:
                # Just joined (nio learns the room from the next sync), or not
                # a member at all: wait a little, give up at the deadline.
                raise _Retryable(0.5, "room not known yet") from err
            raise DeliveryFailed(f"cannot send to this room: {type(err).__name__}") from err
        if isinstance(resp, RoomSendResponse):
            return str(resp.event_id)
        raise self._classify(resp)

    async def _upload(self, room_id: str, document: Document) -> dict[str, Any]:
        data = file_bytes(document)
        room = self.client.rooms.get(room_id)
        encrypt = bool(room and room.encrypted)

        async def attempt() -> dict[str, Any]:
            resp, keys = await self.client.upload(
                io.BytesIO(data),
                content_type="application/octet-stream" if encrypt else document.mime,
                filename=document.filename,
                encrypt=encrypt,
                filesize=len(data),
            )
            if not isinstance(resp, UploadResponse):
                raise self._classify(resp)
            content = file_content(document, len(data))
            if encrypt and keys is not None:
                content["file"] = {**keys, "url": resp.content_uri}
            else:
                content["url"] = resp.content_uri
            return content

        return await self._retrying("upload", attempt)

    @staticmethod
    def _classify(resp: ErrorResponse) -> Exception:
        """An error answer: retry (429, 5xx-ish) or give up (refused for good)."""
        if resp.status_code == "M_LIMIT_EXCEEDED" or resp.retry_after_ms:
            return _Retryable((resp.retry_after_ms or 1000) / 1000, "rate limited")
        if resp.status_code in (
            "M_FORBIDDEN",
            "M_UNKNOWN_TOKEN",
            "M_NOT_FOUND",
            "M_TOO_LARGE",
        ):
            return DeliveryFailed(f"the homeserver refused: {resp.status_code}")
        return _Retryable(None, str(resp.status_code))

    async def _retrying(self, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run `attempt` until it succeeds, waiting as the server asks, within a deadline."""
        deadline = time.monotonic() + self.config.give_up_after
        failures = 0
        while True:
            try:
                return await attempt()
            except _Retryable as err:
                self.throttled += err.reason == "rate limited"
                wait = err.wait if err.wait is not None else _backoff(failures, self.config.max_backoff)
                reason = err.reason
            except (ClientError, TimeoutError) as err:
                wait = _backoff(failures, self.config.max_backoff)
                reason = type(err).__name__
            failures += 1
            if self._stopping or time.monotonic() + wait > deadline:
                raise DeliveryFailed(f"matrix {what} failed {failures}x, last: {reason}")
            log.info("matrix %s: %s, retrying in %.2fs", what, reason, wait)
            await asyncio.sleep(wait)
