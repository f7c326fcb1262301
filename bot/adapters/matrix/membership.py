"""Rooms the bot is in: invites, what may be said where, and leaving after "forget me".

Why apart: joining, leaving and "is this still a private chat?" are about
the rooms, not about syncing or sending, and every reply passes through
them. The rules themselves (what counts as private, which keys go on
"forget me") are in rooms.py; this part applies them to the live rooms.

- Invites to direct chats are joined (and greeted with /start, see
  timeline.py); desk rooms named in WEGWIJZER_DESKS are joined, never
  greeted nor left, and their messages go to the core like any other; any
  other invite is declined; a room the user left is left.
- Private means two people, checked for every message and before every
  reply. In any other room the bot only invites to a private chat, when it
  is addressed and once when the room stops being private; no reply meant
  for one person is ever posted there.
- Forget me: once its goodbye is shown, the bot says what the homeserver and
  the user's own app still keep, drops that room's keys, leaves and forgets
  the room; a leave the homeserver did not take is tried again each sync
  and after a restart (PendingForgets).

Never log room ids (desk rooms aside, named as the settings name them),
user ids or text here.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import ClientError
from nio import AsyncClient, ErrorResponse, InviteMemberEvent, JoinError
from nio.events.room_events import Event as NioEvent

from bot.adapters.base import DeliveryFailed
from bot.adapters.matrix.config import PLATFORM, MatrixConfig
from bot.adapters.matrix.outlet import MatrixOutlet
from bot.adapters.matrix.retry import Refused, Retryable, RetryPolicy, classify
from bot.adapters.matrix.rooms import (
    PendingForgets,
    drop_room_keys,
    drop_user_keys,
    is_private,
    names_bot,
    shares_another_room,
)
from bot.desk.safety_desk import render_or_fallback
from bot.events import Command, ConversationKey, Edit, ForgetUser, Incoming, Send, Text

if TYPE_CHECKING:
    from bot.core import Core
    from bot.engine import Turn

log = logging.getLogger(__name__)


@dataclass
class RoomMemory:
    """What the adapter learns about a room in this process (not persisted)."""

    inviter: str | None = None
    #: told "talk to me in a private chat" since the room stopped being private
    told_private_only: bool = False


class Membership:
    """The bot's rooms: which to join, where it may answer, which to leave."""

    def __init__(
        self,
        client: AsyncClient,
        config: MatrixConfig,
        core: Core,
        retry: RetryPolicy,
        outlet: MatrixOutlet,
    ) -> None:
        self.client = client
        self.config = config
        self.core = core
        self.retry = retry
        self.outlet = outlet
        self._rooms: dict[str, RoomMemory] = {}
        self._forgets = PendingForgets(config.store)
        #: desk rooms whose settings were looked at (see _warn_about_desk_room)
        self._desks_seen: set[str] = set()

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    def read_files(self) -> None:
        """The rooms still to leave, read again after the store folder was handed over (bot/handover.py)."""
        self._forgets.load()

    # ------------------------------------------------------------ joining

    async def on_invite(self, room_id: str, state: Sequence[NioEvent]) -> None:
        me = self.client.user_id
        invite = next(
            (e for e in state if isinstance(e, InviteMemberEvent) and e.state_key == me and e.membership == "invite"),
            None,
        )
        if invite is None:
            return
        direct = bool(invite.content.get("is_direct"))
        if direct or room_id in self.config.desk_rooms:
            self._rooms[room_id] = RoomMemory(inviter=invite.sender)
            resp = await self.client.join(room_id)
            if isinstance(resp, JoinError):
                log.warning("could not join a room: %s", resp.status_code)
        else:
            await self.client.room_leave(room_id)

    def greeted(self, room_id: str) -> str | None:
        """Whom our join greets with /start: the inviter, else the one other member; nobody in a desk room."""
        if not self.config.greet_on_join or room_id in self.config.desk_rooms:
            return None
        memory = self._rooms.get(room_id)
        user = memory.inviter if memory else None
        if user is None:
            room = self.client.rooms.get(room_id)
            others = [u for u in (room.users if room else {}) if u != self.client.user_id]
            user = others[0] if len(others) == 1 else None
        return user

    def look_at_desk_rooms(self) -> None:
        """Each desk room's settings, once per start, as soon as the client knows the room."""
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

    # ------------------------------------------------------------ who may read along

    def for_the_core(self, room_id: str, user: str) -> bool:
        """Whether a message from `user` here goes to the core: a desk room's, or a private chat's.

        A private chat's message also resets the "talk to me in a private
        chat" note, so it is said again when the room stops being private.
        """
        if room_id not in self.config.desk_rooms and not self._private(room_id, user):
            return False
        self._rooms.setdefault(room_id, RoomMemory()).told_private_only = False
        return True

    def _private(self, room_id: str, user: str) -> bool:
        return is_private(self.client.rooms.get(room_id), self.user_id, user)

    async def private_only(self, room_id: str, incoming: Incoming) -> None:
        """In a room that is not a private chat: say where to talk, when addressed, nothing else.

        Answered when the bot is named or given a command, and once when the
        room stops being private (so the person who was talking here knows
        why the bot went quiet). What they typed never reaches the core.
        """
        memory = self._rooms.setdefault(room_id, RoomMemory())
        event = incoming.event
        addressed = isinstance(event, Command) or (
            isinstance(event, Text) and names_bot(event.text, self.client.rooms.get(room_id), self.user_id))
        if memory.told_private_only and not addressed:
            return
        memory.told_private_only = True
        lang = self.core.flows.locales.pick(incoming.lang_hint, self.core.settings.default_lang)
        try:
            await self.outlet.show(room_id, [Send(self._text(lang, "matrix.private_only"))])
        except DeliveryFailed as err:
            log.warning("matrix: invitation to a private chat not delivered (%s)", err)

    def _text(self, lang: str, key: str, **values: Any) -> str:
        return render_or_fallback(self.core.flows, lang, key, {"bot": self.user_id, **values})

    # ------------------------------------------------------------ replies

    async def deliver(self, key: ConversationKey, actions: Sequence[Send | Edit]) -> None:
        """Show a turn in the room, only in a private chat of this user (or a desk room).

        A reply for one person is dropped, not shown, when others have
        joined since. After a "forget me" the goodbye also says what stays
        elsewhere, then the room's keys are dropped and the room is left.
        """
        await self.outlet.wait_ready()  # before the first sync nio knows no room's members
        room = self.client.rooms.get(key.chat)
        if key.chat not in self.config.desk_rooms and room is not None and not self._private(key.chat, key.user):
            log.warning("matrix: %d message(s) not sent: the room is no longer a private chat", len(actions))
            return
        lang = self._forgets.lang_of(key.chat)
        if lang is None:
            await self.outlet.show(key.chat, actions)
            return
        encrypted = bool(room and room.encrypted)
        await self.outlet.show(key.chat, [*actions, Send(self._text(lang, "matrix.forgotten", encrypted=encrypted))])
        self._drop_keys(key)
        await self._leave_forgotten(key.chat, patient=True)

    # ------------------------------------------------------------ leaving

    def after_turn(self, incoming: Incoming, turn: Turn) -> None:
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

    async def leave_forgotten(self) -> None:
        """Rooms whose goodbye is shown but that are not left yet: one try each (every sync)."""
        for room_id in self._forgets.leaving():
            await self._leave_forgotten(room_id, patient=False)

    async def _leave_forgotten(self, room: str, *, patient: bool) -> None:
        """Leave and forget a room after "forget me"; an impatient try (each sync) asks once.

        A refusal for good (not in the room any more) counts as left.
        """
        for call in (self.client.room_leave, self.client.room_forget):
            attempt = functools.partial(self._room_call, call, room)
            try:
                await (self.retry.run("leave", attempt) if patient else attempt())
            except Refused:
                continue  # refused for good: already left, or already forgotten
            except (DeliveryFailed, Retryable, ClientError, TimeoutError) as err:
                log.warning("matrix: leaving a forgotten room failed (%s); trying again later", type(err).__name__)
                return
        self._rooms.pop(room, None)
        self._forgets.done(room)
        log.info("matrix: left a room after forget-me and dropped its keys")

    @staticmethod
    async def _room_call(call: Callable[[str], Awaitable[object]], room: str) -> None:
        resp = await call(room)
        if isinstance(resp, ErrorResponse):
            err = classify(resp)
            raise Refused(str(err)) if isinstance(err, DeliveryFailed) else err

    async def leave_if_alone(self, room_id: str) -> None:
        """A room everyone else left is left and forgotten (a desk room never)."""
        room = self.client.rooms.get(room_id)
        if room is None or room_id in self.config.desk_rooms:
            return
        if room.joined_count <= 1 and room.invited_count == 0:
            await self.client.room_leave(room_id)
            await self.client.room_forget(room_id)
            self._rooms.pop(room_id, None)
