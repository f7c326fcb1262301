"""Which Matrix rooms are private, and what the bot's device forgets with a person.

Why its own module: both decide what the bot may say where and what it can
still read, and both are about rooms rather than syncing or sending.

- Private. A room counts as a private chat only while its members (joined
  and invited, nio's member lists from the last sync) are exactly the bot
  and one person. `is_direct` on an invite is set by the inviter and proves
  nothing, and anyone may invite a third person later, so the adapter asks
  again for every message and before every reply. Elsewhere the bot only
  says where to talk (an invitation to a private chat), never anything
  personal: a "my data" export asked for in a room with three people is
  never answered there.
- Forgetting. On "forget me" the bot leaves and forgets the room and drops
  that room's Megolm sessions from its crypto store, in memory and in nio's
  SQLite file (secure_delete is on there), so the bot cannot decrypt that
  history again, also not from a backup of its store taken afterwards. When
  the person shares no other room with the bot, their device keys and Olm
  sessions go too. matrix-nio 0.26 has no API to delete these, so this
  works on its store's tables and in-memory stores; the Synapse test checks
  the rows are gone. What stays elsewhere (the homeserver's copy of the
  encrypted events, the person's own app) the user is told in so many words.

Never log room ids, user ids or text here.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any

from nio import AsyncClient, MatrixRoom

from bot.private_files import write_private

log = logging.getLogger(__name__)

FORGET_FILE = "forget_rooms.json"


def is_private(room: MatrixRoom | None, me: str, user: str) -> bool:
    """Only the bot and `user` are in the room, joined or invited: nobody else reads along."""
    return room is not None and user != me and set(room.users) == {me, user}


def names_bot(text: str, room: MatrixRoom | None, me: str) -> bool:
    """`text` names the bot (its id, the local part of its id, or its name in the room)."""
    lowered = text.lower()
    names = {me.lower(), me.split(":", 1)[0].lstrip("@").lower()}
    if room is not None:
        names.add(str(room.user_name(me) or "").lower())
    return any(name and name in lowered for name in names)


def drop_room_keys(client: AsyncClient, room_id: str) -> None:
    """Forget every Megolm session of the room: what was said there cannot be decrypted by us again."""
    olm = client.olm
    if olm is not None:
        olm.inbound_group_store._entries.pop(room_id, None)  # no nio API for this
        olm.outbound_group_sessions.pop(room_id, None)
    database = _database(client)
    if database is None:
        return
    with database.atomic():
        database.execute_sql(
            "DELETE FROM forwardedchains WHERE session_id IN "
            "(SELECT session_id FROM megolminboundsessions WHERE room_id = ?)", (room_id,))
        database.execute_sql("DELETE FROM megolminboundsessions WHERE room_id = ?", (room_id,))
        database.execute_sql("DELETE FROM outgoingkeyrequests WHERE room_id = ?", (room_id,))
        database.execute_sql("DELETE FROM encryptedrooms WHERE room_id = ?", (room_id,))


def drop_user_keys(client: AsyncClient, user_id: str) -> None:
    """Forget a person's devices: their identity keys and the Olm channels to them.

    Only when they share no other room with the bot (the caller checks): a
    desk member or a second chat still needs them. A new chat later makes
    nio ask the homeserver for their keys again.
    """
    curve_keys: set[str] = set()
    olm = client.olm
    if olm is not None:
        devices = olm.device_store._entries.pop(user_id, {})  # no nio API for this
        curve_keys.update(device.curve25519 for device in devices.values())
    database = _database(client)
    if database is not None:
        curve_keys.update(row[0] for row in database.execute_sql(
            "SELECT key FROM keys WHERE key_type = 'curve25519' AND device_id IN "
            "(SELECT id FROM devicekeys WHERE user_id = ?)", (user_id,)))
        with database.atomic():
            database.execute_sql(
                "DELETE FROM keys WHERE device_id IN (SELECT id FROM devicekeys WHERE user_id = ?)", (user_id,))
            database.execute_sql(
                "DELETE FROM devicetruststate WHERE device_id IN (SELECT id FROM devicekeys WHERE user_id = ?)",
                (user_id,))
            database.execute_sql("DELETE FROM devicekeys WHERE user_id = ?", (user_id,))
            for key in curve_keys:
                database.execute_sql("DELETE FROM olmsessions WHERE sender_key = ?", (key,))
    if olm is not None:
        for key in curve_keys:
            olm.session_store._entries.pop(key, None)


def shares_another_room(client: AsyncClient, user_id: str, room_id: str) -> bool:
    return any(user_id in room.users for other, room in client.rooms.items() if other != room_id)


def _database(client: AsyncClient) -> Any:
    store = client.store
    return getattr(store, "database", None) if store is not None else None


class PendingForgets:
    """Rooms to leave after a "forget me": first the goodbye, then leaving, each surviving a restart.

    "Forget me" is stored with the turn, but the room is left only after the
    reply that confirms it is on screen, which may be after a retry or a
    restart; and a homeserver that is away when the bot leaves is asked again
    at the next sync. Hence a small file (0600) next to the crypto store:
    `goodbye` maps a room to the language of its goodbye, `leaving` lists the
    rooms whose goodbye is shown (their keys are gone already).
    """

    def __init__(self, store: Path) -> None:
        self.path = store / FORGET_FILE
        self._goodbye: dict[str, str] = {}
        self._leaving: set[str] = set()
        self.load()

    def load(self) -> None:
        """Read the file again (another process's, handed over with the device: bot/handover.py)."""
        self._goodbye, self._leaving = {}, set()
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            loaded = json.loads(self.path.read_text())
            self._goodbye = {str(room): str(lang) for room, lang in loaded["goodbye"].items()}
            self._leaving = {str(room) for room in loaded["leaving"]}

    def add(self, room: str, lang: str) -> None:
        self._goodbye[room] = lang
        self._save()

    def lang_of(self, room: str) -> str | None:
        """The language of the goodbye this room still has to see, or None."""
        return self._goodbye.get(room)

    def shown(self, room: str) -> None:
        self._goodbye.pop(room, None)
        self._leaving.add(room)
        self._save()

    def leaving(self) -> list[str]:
        return sorted(self._leaving)

    def done(self, room: str) -> None:
        self._goodbye.pop(room, None)
        self._leaving.discard(room)
        self._save()

    def _save(self) -> None:
        try:
            write_private(self.path, json.dumps({"goodbye": self._goodbye, "leaving": sorted(self._leaving)}))
        except OSError as err:
            log.warning("matrix: rooms to leave not written (%s); a restart may keep one", type(err).__name__)
