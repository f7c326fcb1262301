"""Private means two people, and "forget me" means the bot cannot read the chat again.

A real Synapse, the real adapter, core and store, the shipped flows; seen
from the people's own matrix-nio clients, and from the rows left in the bot's
crypto store. The inviter sets `is_direct`, so a "direct chat" is only taken
at its word while just the bot and one person are in it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bot.adapters.matrix import MatrixAdapter
from bot.settings import ROOT
from tests.synapse import MatrixUser, Synapse, synapse_server  # noqa: F401 - fixture
from tests.test_matrix_conversation import _eventually, _joined_rooms, _membership, no_more_than, running_bot

pytestmark = pytest.mark.asyncio
SHIPPED = {"flows_dir": ROOT / "flows", "locales_dir": ROOT / "locales"}


def invitation(adapter: MatrixAdapter) -> str:
    return adapter.core.flows.render("nl", "matrix.private_only", {"bot": adapter.user_id})


def crypto_rows(store: Path, sql: str, *args: str) -> int:
    """A count from the bot's own crypto store (nio's SQLite file), as a backup of it would show."""
    [database] = store.glob("*.db")
    with sqlite3.connect(database) as db:
        return int(db.execute(sql, args).fetchone()[0])


async def test_a_direct_chat_a_third_person_joins_gets_no_private_answer(synapse: Synapse, tmp_path: Path) -> None:
    bot, parent, other = synapse.register("bot"), synapse.register("parent"), synapse.register("other")
    async with (
        running_bot(synapse, bot, tmp_path / "bot", **SHIPPED) as adapter,
        MatrixUser(synapse, parent, tmp_path / "parent") as user,
        MatrixUser(synapse, other, tmp_path / "other") as stranger,
    ):
        room = await user.open_direct_chat(bot.user_id)
        await user.wait_for(room, 1)  # the greeting
        await user.reply_to(room, "/start klacht")
        # The parent brings someone into the "direct" chat.
        await user.client.room_invite(room, other.user_id)
        await _eventually(lambda: _membership(synapse, parent, room, other.user_id) == "invite")
        await stranger.client.join(room)
        await _eventually(lambda: len(adapter.client.rooms[room].users) == 3)

        shown = len(user.from_others(room))
        answer = await user.reply_to(room, "mijn gegevens")
        assert answer.body == invitation(adapter)
        assert bot.user_id in answer.body
        await no_more_than(user, room, shown + 1)  # no export, no file
        assert all(seen.msgtype != "m.file" for seen in user.from_others(room))
        assert all(seen.msgtype != "m.file" for seen in stranger.from_others(room))
        # Talk between the two people is not answered at all; naming the bot gets the invitation again.
        await user.say(room, "hoi, zullen we samen kijken?")
        await no_more_than(user, room, shown + 1)
        assert (await user.reply_to(room, f"{bot.localpart} help")).body == invitation(adapter)

        # The other person leaves: a private chat again, answered as one.
        await stranger.client.room_leave(room)
        await _eventually(lambda: len(adapter.client.rooms[room].users) == 2)
        again = await user.reply_to(room, "/help")
        assert again.body != invitation(adapter) and again.body


async def test_a_group_invite_marked_direct_gets_only_the_invitation(synapse: Synapse, tmp_path: Path) -> None:
    """Whoever invites decides `is_direct`: three people in the room at the join are not a private chat."""
    from nio import RoomCreateResponse

    bot, parent, other = synapse.register("bot"), synapse.register("parent"), synapse.register("other")
    async with (
        running_bot(synapse, bot, tmp_path / "bot", **SHIPPED) as adapter,
        MatrixUser(synapse, parent, tmp_path / "parent") as user,
    ):
        created = await user.client.room_create(is_direct=True, invite=[bot.user_id, other.user_id])
        assert isinstance(created, RoomCreateResponse), created
        room = created.room_id
        [said] = await user.wait_for(room, 1)
        assert said.body == invitation(adapter)
        answer = await user.reply_to(room, "!mijngegevens")
        assert answer.body == invitation(adapter)
        await no_more_than(user, room, 2)


async def test_forget_me_leaves_the_room_drops_its_keys_and_says_what_remains(synapse: Synapse, tmp_path: Path) -> None:
    bot, parent = synapse.register("bot"), synapse.register("parent")
    store = tmp_path / "bot" / "matrix"
    async with (
        running_bot(synapse, bot, tmp_path / "bot", **SHIPPED),
        MatrixUser(synapse, parent, tmp_path / "parent") as user,
    ):
        room = await user.open_direct_chat(bot.user_id, encrypted=True)
        await user.wait_for(room, 1)
        await user.reply_to(room, "/start klacht")
        sessions = "SELECT COUNT(*) FROM megolminboundsessions WHERE room_id = ?"
        assert crypto_rows(store, sessions, room) > 0, "the bot can read the chat"
        assert crypto_rows(store, "SELECT COUNT(*) FROM devicekeys WHERE user_id = ?", parent.user_id) > 0

        question = await user.reply_to(room, "stop")
        assert "Wil je stoppen?" in question.body
        goodbye = await user.reply_to(room, "1")  # yes, delete everything
        assert goodbye.encrypted
        assert goodbye.body.startswith("Klaar. Ik heb alles gewist")
        assert "Ik verlaat dit gesprek nu" in goodbye.body
        assert "de Matrix-server bewaart de berichten van dit gesprek (versleuteld)" in goodbye.body
        assert "jouw eigen app bewaart zijn kopie" in goodbye.body

        await _eventually(lambda: room not in _joined_rooms(synapse, bot))
        assert _membership(synapse, parent, room, bot.user_id) == "leave"
        assert crypto_rows(store, sessions, room) == 0, "nothing left to decrypt the history with"
        assert crypto_rows(store, "SELECT COUNT(*) FROM devicekeys WHERE user_id = ?", parent.user_id) == 0
        # left and forgotten: nothing pending (forgetting is a second request after leaving)
        await _eventually(lambda: json.loads((store / "forget_rooms.json").read_text()) == {"goodbye": {}, "leaving": []})


async def test_a_public_unencrypted_desk_room_is_warned_about_at_start(
        synapse: Synapse, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from nio import RoomCreateResponse, RoomPreset, RoomVisibility

    bot, member = synapse.register("bot"), synapse.register("deskmember")
    async with MatrixUser(synapse, member, tmp_path / "member") as user:
        public = await user.client.room_create(name="meldpunt", visibility=RoomVisibility.public,
                                               preset=RoomPreset.public_chat, invite=[bot.user_id])
        closed = await user.client.room_create(name="meldpunt-e2e", preset=RoomPreset.private_chat,
                                               invite=[bot.user_id], initial_state=[{
                                                   "type": "m.room.encryption", "state_key": "",
                                                   "content": {"algorithm": "m.megolm.v1.aes-sha2"}}])
        assert isinstance(public, RoomCreateResponse) and isinstance(closed, RoomCreateResponse)
        desks = f"matrix:{public.room_id},matrix:{closed.room_id}"
        caplog.set_level("WARNING", logger="bot.adapters.matrix.membership")
        async with running_bot(synapse, bot, tmp_path / "bot", desks=desks) as adapter:
            # both rooms joined and known to the bot's client: both were looked at
            await _eventually(lambda: {public.room_id, closed.room_id} <= set(adapter.client.rooms))
            await no_more_than(user, public.room_id, 0, settle=0.5)
        warned = [r.getMessage() for r in caplog.records if "matrix desk room" in r.getMessage()]
        assert sorted(w.split(" is ")[1].split(":")[0] for w in warned) == ["not end-to-end encrypted", "public"]
        assert all(public.room_id in w for w in warned), "the encrypted invite-only room is fine"


async def test_a_room_the_bot_could_not_leave_after_forget_me_is_left_at_the_next_start(
        synapse: Synapse, tmp_path: Path) -> None:
    """The goodbye was shown and the keys dropped, then the homeserver went away (or the bot stopped)."""
    bot, parent = synapse.register("bot"), synapse.register("parent")
    store = tmp_path / "bot" / "matrix"
    async with MatrixUser(synapse, parent, tmp_path / "parent") as user:
        async with running_bot(synapse, bot, tmp_path / "bot", **SHIPPED):
            room = await user.open_direct_chat(bot.user_id)
            await user.wait_for(room, 1)
        assert room in _joined_rooms(synapse, bot)
        (store / "forget_rooms.json").write_text(json.dumps({"goodbye": {}, "leaving": [room]}))
        async with running_bot(synapse, bot, tmp_path / "bot", **SHIPPED):
            await _eventually(lambda: room not in _joined_rooms(synapse, bot))
            await _eventually(lambda: json.loads((store / "forget_rooms.json").read_text())["leaving"] == [])
        await no_more_than(user, room, 1)  # no second greeting, nothing else
