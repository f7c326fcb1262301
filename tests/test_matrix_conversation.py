"""Parents talk to the bot over Matrix: a real Synapse, the real adapter, core and store.

Each test is a conversation seen from the parent's own matrix-nio client.
What the parent should see is taken from the console: the same lines typed
there, rendered the Matrix way (numbered choices, one event per turn). So the
tests say "Matrix shows exactly what the console shows". They run on the
fixture flow set (tests/fixtures), which stays put while moderators edit the
shipped content.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import signal
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nio import RoomGetEventResponse, RoomPreset
from pydantic import SecretStr

from bot.adapters.base import DeliveryFailed
from bot.adapters.matrix import MatrixAdapter, config_from_settings
from bot.adapters.matrix.crosssigning import CrossSigningState
from bot.adapters.matrix.render import TextMessage, parse_text, render, to_html
from bot.adapters.matrix.sync import SYNC_TOKEN_FILE
from bot.app import build_core
from bot.clock import SYSTEM
from bot.core import decode_outbound
from bot.events import ConversationKey, Document, Edit, Incoming, Send, Text
from bot.features import Hooks
from bot.settings import Settings
from tests.conftest import FIXTURE_FLOWS, FIXTURE_LOCALES, PYTHON, REPO, bot_env
from tests.synapse import (  # noqa: F401 - fixture
    FlakyLink,
    MatrixUser,
    Registered,
    Synapse,
    assert_cross_signed,
    own_synapse,
    synapse_server,
)

#: A parent works out the deadline for an objection (bezwaar): "a deadline",
#: "objection", the date of the decision, and "I'm done".
DECISION_DAY = (SYSTEM.today() - timedelta(days=10)).strftime("%d-%m-%Y")
BY_NUMBER = ["2", "2", DECISION_DAY, "2"]
FLOWS: dict[str, Any] = {"flows_dir": FIXTURE_FLOWS, "locales_dir": FIXTURE_LOCALES}


# ---------------------------------------------------------------- what the console shows


class _Transcript:
    """An outlet that keeps each turn's messages, rendered as Matrix would show them."""

    platform = "console"

    def __init__(self) -> None:
        self.turns: list[list[str]] = []

    async def deliver(self, key: ConversationKey, actions: Sequence[Send | Edit], reply_to: object | None) -> None:
        self.turns.append([m.content()["body"] for m in render(actions) if isinstance(m, TextMessage)])

    async def deliver_to_room(self, room: str, text: str, document: Document | None) -> str:
        return room


async def console_says(tmp_path: Path, lines: Sequence[str], **settings: Any) -> list[str]:
    """The bot's answer to the greeting and to each line, joined per turn."""
    core = await build_core(Settings(db=tmp_path / "console.sqlite3", **(FLOWS | settings)))
    transcript = _Transcript()
    core.register(transcript)
    key = ConversationKey("console", "parent", "parent")
    try:
        for line in ["/start", *lines]:
            before = len(transcript.turns)
            await core.handle(Incoming(key, parse_text(line)))
            assert len(transcript.turns) == before + 1, "every line gets one answer"
    finally:
        await core.store.close()
    return ["\n\n".join(turn) for turn in transcript.turns]


def choices_shown(message: str) -> dict[str, str]:
    """The numbered list a parent reads: number -> label."""
    return dict(re.findall(r"^(\d+)\. (.+)$", message, flags=re.MULTILINE))


# ---------------------------------------------------------------- the bot


def bot_settings(server: Synapse, account: Registered, where: Path, **extra: Any) -> Settings:
    """The bot's settings; `extra` may replace any of them (e.g. a token instead of the password)."""
    own: dict[str, Any] = {
        "db": where / "bot.sqlite3",
        "matrix_homeserver": server.url,
        "matrix_user": account.user_id,
        "matrix_password": SecretStr(account.password),
        "matrix_store": where / "matrix",
    }
    return Settings(**(own | FLOWS | extra))


@asynccontextmanager
async def running_bot(
    server: Synapse, account: Registered, where: Path, *, give_up_after: float = 30,
    clock: Callable[[], datetime] | None = None, **extra: Any
) -> AsyncIterator[MatrixAdapter]:
    """The bot as bot.app runs it: core + adapter, started in the same order (optionally on a test's clock)."""
    settings = bot_settings(server, account, where, **extra)
    core = await build_core(settings)
    if clock is not None:
        core.clock = clock
    config = dataclasses.replace(
        config_from_settings(settings), max_backoff=0.5, give_up_after=give_up_after, sync_timeout_ms=5000
    )
    adapter = MatrixAdapter(settings, core, config)
    await adapter.start()
    await core.start()
    try:
        await adapter.ready(timeout=30)
        yield adapter
    finally:
        await adapter.stop()
        await core.stop()
        await core.store.close()


async def bodies(user: MatrixUser, room: str, count: int) -> list[str]:
    return [seen.body for seen in await user.wait_for(room, count)]


async def no_more_than(user: MatrixUser, room: str, count: int, settle: float = 1.0) -> None:
    """Nothing arrives beyond `count` messages (a duplicate would show up here)."""
    await asyncio.sleep(settle)
    extra = [s.body for s in user.from_others(room)[count:]]
    assert extra == [], f"unexpected extra messages: {extra}"


# ---------------------------------------------------------------- conversations


@pytest.mark.asyncio
async def test_a_parent_answers_by_number(synapse: Synapse, tmp_path: Path) -> None:
    expected = await console_says(tmp_path, BY_NUMBER)
    bot, parent = synapse.register("bot"), synapse.register("parent")
    async with (
        running_bot(synapse, bot, tmp_path / "bot") as adapter,
        MatrixUser(synapse, parent, tmp_path / "parent") as user,
    ):
        assert adapter.cross_signing is CrossSigningState.CREATED
        room = await user.open_direct_chat(bot.user_id)
        [greeting] = await bodies(user, room, 1)
        assert greeting == expected[0]
        assert choices_shown(greeting), "the first question shows numbered choices"
        for number, line in enumerate(BY_NUMBER, start=1):
            reply = await user.reply_to(room, line)
            assert reply.body == expected[number]
            assert reply.html == to_html(reply.body), "formatted_body is the escaped plain body"
        await no_more_than(user, room, len(expected))


@pytest.mark.asyncio
@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_a_parent_answers_with_the_words_of_the_labels(synapse: Synapse, tmp_path: Path, encrypted: bool) -> None:
    bot, parent = synapse.register("bot"), synapse.register("parent")
    async with (
        running_bot(synapse, bot, tmp_path / "bot"),
        MatrixUser(synapse, parent, tmp_path / "parent") as user,
    ):
        room = await user.open_direct_chat(bot.user_id, encrypted=encrypted)
        [shown] = await bodies(user, room, 1)
        typed: list[str] = []
        for line in BY_NUMBER:
            # Where the parent reads a numbered list, they type the label instead.
            label = choices_shown(shown).get(line) if line.isdigit() else None
            typed.append(label.lower() if label else line)
            shown = (await user.reply_to(room, typed[-1])).body
        expected = await console_says(tmp_path, BY_NUMBER)
        assert [s.body for s in user.from_others(room)] == expected
        assert all(s.encrypted == encrypted for s in user.from_others(room))
        assert typed != BY_NUMBER, "labels were typed, not numbers"

        # The parent leaves: the bot does not stay alone in the room.
        await user.client.room_leave(room)
        await _eventually(lambda: room not in _joined_rooms(synapse, bot))


@pytest.mark.asyncio
async def test_the_bot_declines_group_rooms_and_ignores_what_came_before_it(synapse: Synapse, tmp_path: Path) -> None:
    bot, parent = synapse.register("bot"), synapse.register("parent")
    async with (
        running_bot(synapse, bot, tmp_path / "bot"),
        MatrixUser(synapse, parent, tmp_path / "parent") as user,
    ):
        group = await user.client.room_create(name="ouders", invite=[bot.user_id])
        # Typed before the bot was even invited: history, not a question to answer.
        direct = (await user.client.room_create(preset=RoomPreset.trusted_private_chat)).room_id
        await user.say(direct, "/help")
        invite = {"membership": "invite", "is_direct": True}
        await user.client.room_put_state(direct, "m.room.member", invite, state_key=bot.user_id)
        await user.wait_for(direct, 1)  # the greeting
        await _eventually(lambda: _membership(synapse, parent, group.room_id, bot.user_id) == "leave")
        await no_more_than(user, direct, 1)
        assert user.from_others(group.room_id) == []


@pytest.mark.asyncio
async def test_a_desk_room_is_joined_posted_to_and_its_replies_reach_the_core(synapse: Synapse, tmp_path: Path) -> None:
    bot, member = synapse.register("bot"), synapse.register("deskmember")
    async with MatrixUser(synapse, member, tmp_path / "member") as user:
        # A staffed group room, not a direct chat; the bot is told it is a desk.
        created = await user.client.room_create(name="meldpunt", invite=[bot.user_id])
        desk = created.room_id
        async with running_bot(synapse, bot, tmp_path / "bot", desks=f"matrix:{desk}") as adapter:
            seen: list[Incoming] = []
            # the safety desk claims a desk room's messages before any flow: look first
            adapter.core.add(Hooks(answer=lambda incoming: seen.append(incoming)), first=True)
            await _eventually(lambda: _membership(synapse, member, desk, bot.user_id) == "join")
            letter = Document("melding.txt", "Melding WW-1", "Wat er gebeurde.")
            card = await adapter.deliver_to_room(desk, "Nieuwe melding WW-1", letter)
            card_seen, file_seen = await user.wait_for(desk, 2)
            assert card_seen.body == "Nieuwe melding WW-1"
            assert file_seen.filename == "melding.txt" and file_seen.file_text == "Wat er gebeurde."
            # A member answers the card with Element's "reply".
            await user.client.room_send(
                desk,
                "m.room.message",
                {
                    "msgtype": "m.text",
                    "body": "> <@bot> Nieuwe melding WW-1\n\nik bel ze",
                    "m.relates_to": {"m.in_reply_to": {"event_id": card}},
                },
            )
            await _eventually(lambda: bool(seen))
            [incoming] = seen[:1]
            assert incoming.key == ConversationKey("matrix", desk, member.user_id)
            assert incoming.event == Text("ik bel ze")
            assert incoming.extra == {"reply_to": card}
            assert desk in _joined_rooms(synapse, bot), "a desk room is never left"


@pytest.mark.asyncio
async def test_an_encrypted_chat_with_a_cross_signed_bot(synapse: Synapse, tmp_path: Path) -> None:
    expected = await console_says(tmp_path, BY_NUMBER)
    bot, parent = synapse.register("bot"), synapse.register("parent")
    async with (
        running_bot(synapse, bot, tmp_path / "bot") as adapter,
        MatrixUser(synapse, parent, tmp_path / "parent") as user,
    ):
        # What the parent's client checks before it shows the bot's messages.
        keys = synapse.request(
            "POST",
            "/_matrix/client/v3/keys/query",
            {"device_keys": {bot.user_id: []}},
            token=parent.access_token,
        )
        assert_cross_signed(keys, bot.user_id, adapter.device_id)

        room = await user.open_direct_chat(bot.user_id, encrypted=True)
        [greeting] = await bodies(user, room, 1)
        assert greeting == expected[0]
        for number, line in enumerate(BY_NUMBER, start=1):
            assert (await user.reply_to(room, line)).body == expected[number]
        seen = user.from_others(room)
        assert seen and all(s.encrypted for s in seen), "every bot message was end-to-end encrypted"
        # The homeserver holds ciphertext only.
        stored = _room_events(synapse, parent, room)
        assert stored["m.room.message"] == 0
        assert stored["m.room.encrypted"] == len(expected) + len(BY_NUMBER)


@pytest.mark.asyncio
async def test_a_restart_mid_conversation_keeps_the_device_the_place_and_answers_once(synapse: Synapse, tmp_path: Path) -> None:
    expected = await console_says(tmp_path, BY_NUMBER)
    bot, parent = synapse.register("bot"), synapse.register("parent")
    where = tmp_path / "bot"
    async with MatrixUser(synapse, parent, tmp_path / "parent") as user:
        async with running_bot(synapse, bot, where) as adapter:
            room = await user.open_direct_chat(bot.user_id, encrypted=True)
            await bodies(user, room, 1)
            old_token = (where / "matrix" / SYNC_TOKEN_FILE).read_text()
            for number, line in enumerate(BY_NUMBER[:2], start=1):
                assert (await user.reply_to(room, line)).body == expected[number]
            device = adapter.device_id

        # While the bot is away the parent answers the next question.
        await user.say(room, BY_NUMBER[2])
        # Worst case for "at most once": the bot died after handling updates
        # but before it wrote its sync token, so it syncs from an older one.
        (where / "matrix" / SYNC_TOKEN_FILE).write_text(old_token)

        async with running_bot(synapse, bot, where) as adapter:
            assert adapter.device_id == device, "a restart must not make a new device"
            assert adapter.cross_signing is CrossSigningState.ALREADY_DONE
            await user.wait_for(room, 4)
            for number, line in enumerate(BY_NUMBER[3:], start=4):
                assert (await user.reply_to(room, line)).body == expected[number]
            await no_more_than(user, room, len(expected))
        assert [s.body for s in user.from_others(room)] == expected
    devices = synapse.request("GET", "/_matrix/client/v3/devices", token=bot.access_token)
    # The registration device plus the bot's one login, never one per start.
    assert len(devices["devices"]) == 2


@pytest.mark.asyncio
async def test_logged_out_elsewhere_the_bot_comes_back_as_the_same_device(synapse: Synapse, tmp_path: Path) -> None:
    expected = await console_says(tmp_path, BY_NUMBER)
    bot, parent = synapse.register("bot"), synapse.register("parent")
    async with (
        running_bot(synapse, bot, tmp_path / "bot") as adapter,
        MatrixUser(synapse, parent, tmp_path / "parent") as user,
    ):
        # Unencrypted on purpose: matrix-nio as the *parent's* client keeps a
        # device it once saw deleted marked deleted, so it would never again
        # encrypt for the returning device (Element does). The bot's side of
        # that, the same keys published again and signed, is checked below.
        room = await user.open_direct_chat(bot.user_id)
        await user.wait_for(room, 1)
        device = adapter.device_id
        # Someone presses "sign out" on the bot's session in Element.
        synapse.request("POST", "/_matrix/client/v3/logout", {}, token=adapter.client.access_token)

        def published() -> bool:
            keys = synapse.request(
                "POST", "/_matrix/client/v3/keys/query", {"device_keys": {bot.user_id: []}}, token=parent.access_token
            )
            return device in keys["device_keys"].get(bot.user_id, {})

        await _eventually(lambda: not published())
        await _eventually(published, timeout=30)
        for number, line in enumerate(BY_NUMBER, start=1):
            assert (await user.reply_to(room, line, timeout=30)).body == expected[number]
        assert adapter.device_id == device
        assert adapter.client.olm is not None
        identity = adapter.client.olm.account.identity_keys["ed25519"]
        keys = synapse.request(
            "POST", "/_matrix/client/v3/keys/query", {"device_keys": {bot.user_id: []}}, token=parent.access_token
        )
        assert_cross_signed(keys, bot.user_id, device)
        assert keys["device_keys"][bot.user_id][device]["keys"][f"ed25519:{device}"] == identity, "same identity"


@pytest.mark.asyncio
async def test_the_homeserver_restarts_during_a_conversation(synapse: Synapse, tmp_path: Path) -> None:
    expected = await console_says(tmp_path, BY_NUMBER)
    bot, parent = synapse.register("bot"), synapse.register("parent")
    async with (
        running_bot(synapse, bot, tmp_path / "bot") as adapter,
        MatrixUser(synapse, parent, tmp_path / "parent") as user,
    ):
        room = await user.open_direct_chat(bot.user_id, encrypted=True)
        await bodies(user, room, 1)
        assert (await user.reply_to(room, BY_NUMBER[0])).body == expected[1]

        failures = adapter.sync_failures
        await asyncio.to_thread(synapse.stop)
        await _eventually(lambda: adapter.sync_failures > failures)
        await asyncio.to_thread(synapse.start)

        for number, line in enumerate(BY_NUMBER[1:], start=2):
            assert (await user.reply_to(room, line, timeout=30)).body == expected[number]
        await no_more_than(user, room, len(expected))


@pytest.mark.asyncio
async def test_a_message_the_homeserver_could_not_take_is_delivered_when_it_is_back(synapse: Synapse, tmp_path: Path) -> None:
    bot, parent = synapse.register("bot"), synapse.register("parent")
    async with (
        running_bot(synapse, bot, tmp_path / "bot", give_up_after=1) as adapter,
        MatrixUser(synapse, parent, tmp_path / "parent") as user,
    ):
        room = await user.open_direct_chat(bot.user_id)
        await user.wait_for(room, 1)
        await asyncio.to_thread(synapse.stop)
        try:
            # E.g. a check-in timer fires while the homeserver is away: the
            # adapter gives up (DeliveryFailed), the core keeps it queued.
            key = ConversationKey("matrix", room, parent.user_id)
            await adapter.core.send(key, [Send("Hoe gaat het nu?")])
            assert await adapter.core.store.pending_outbox(), "kept in the outbox"
        finally:
            await asyncio.to_thread(synapse.start)
        [_, later] = await user.wait_for(room, 2, timeout=30)
        assert later.body == "Hoe gaat het nu?"
        await no_more_than(user, room, 2)


@pytest.mark.asyncio
@pytest.mark.parametrize("restart", [False, True], ids=["later", "after-a-restart"])
async def test_a_turn_cut_off_halfway_is_finished_later_and_each_message_is_shown_once(
    synapse: Synapse, tmp_path: Path, restart: bool
) -> None:
    bot, parent = synapse.register("bot"), synapse.register("parent")
    letter = Document("brief.txt", "Uw brief", "Geachte heer,\n\nIk maak bezwaar.")
    turn = [Send("Dank u wel."), Send("Hier is uw brief:", document=letter), Send("Wilt u nog iets weten?")]
    where = tmp_path / "bot"
    async with FlakyLink(synapse.port) as link, MatrixUser(synapse, parent, tmp_path / "parent") as user:
        async with running_bot(synapse, bot, where, give_up_after=1, matrix_homeserver=link.url) as adapter:
            room = await user.open_direct_chat(bot.user_id)
            await user.wait_for(room, 1)
            # The turn's first event arrives. The homeserver stores the second
            # (the file) but its answer is lost, and the network stays down for
            # longer than the adapter keeps trying: the core keeps what is left.
            link.lose_answer(rb"PUT [^ ]*/send/m\.room\.message/", nth=2)
            await adapter.core.send(ConversationKey("matrix", room, parent.user_id), turn)
            assert link.lost.is_set()
            [(_, _, rest)] = await adapter.core.store.pending_outbox()
            assert decode_outbound(rest) == turn[1:], "the first message is done; the letter is not confirmed"
            link.heal()
            if not restart:
                await adapter.core.redeliver()
                assert not await adapter.core.store.pending_outbox()
        if restart:
            # The bot went down before it could retry: the next run sends the rest.
            async with running_bot(synapse, bot, where, matrix_homeserver=link.url) as adapter:
                await user.wait_for(room, 4, timeout=30)
                await no_more_than(user, room, 4)
                assert not await adapter.core.store.pending_outbox()
        _, text, file, question = await user.wait_for(room, 4)
        assert text.body == "Dank u wel.\n\nHier is uw brief:"
        assert file.filename == "brief.txt" and file.file_text == letter.content
        assert question.body == "Wilt u nog iets weten?"
        await no_more_than(user, room, 4)


@pytest.mark.asyncio
async def test_a_desk_post_whose_letter_failed_is_posted_again_and_each_part_is_shown_once(
    synapse: Synapse, tmp_path: Path
) -> None:
    bot, member = synapse.register("bot"), synapse.register("deskmember")
    letter = Document("melding.txt", "Melding WW-2", "Wat er gebeurde.")
    async with FlakyLink(synapse.port) as link, MatrixUser(synapse, member, tmp_path / "member") as user:
        desk = (await user.client.room_create(name="meldpunt", invite=[bot.user_id])).room_id
        async with running_bot(
            synapse, bot, tmp_path / "bot", give_up_after=1, matrix_homeserver=link.url, desks=f"matrix:{desk}"
        ) as adapter:
            await _eventually(lambda: _membership(synapse, member, desk, bot.user_id) == "join")
            # The card arrives. The homeserver stores the letter but its answer
            # is lost, and the network stays down longer than the adapter tries.
            link.lose_answer(rb"PUT [^ ]*/send/m\.room\.message/", nth=2)
            with pytest.raises(DeliveryFailed):
                await adapter.deliver_to_room(desk, "Nieuwe melding WW-2", letter)
            assert link.lost.is_set()
            link.heal()
            # The desk's delivery loop posts the same post again later.
            card = await adapter.deliver_to_room(desk, "Nieuwe melding WW-2", letter)
            card_seen, file_seen = await user.wait_for(desk, 2, timeout=30)
            assert card_seen.body == "Nieuwe melding WW-2"
            assert file_seen.filename == "melding.txt" and file_seen.file_text == letter.content
            await no_more_than(user, desk, 2)
            # The id the desk keeps is the card's, so a reply to the card still finds its case.
            shown = await user.client.room_get_event(desk, card)
            assert isinstance(shown, RoomGetEventResponse), shown
            assert shown.event.source["content"]["body"] == "Nieuwe melding WW-2"


@pytest.mark.asyncio
async def test_a_429_is_waited_out_and_the_message_arrives_once(synapse: Synapse, tmp_path: Path) -> None:
    expected = await console_says(tmp_path, BY_NUMBER)
    bot, parent = synapse.register("bot"), synapse.register("parent")
    # This bot may send one message per second with no burst: the greeting
    # uses it up, so the answer to a quick reply is refused with a 429 first.
    synapse.set_message_ratelimit(bot.user_id, per_second=1, burst=1)
    async with (
        running_bot(synapse, bot, tmp_path / "bot") as adapter,
        MatrixUser(synapse, parent, tmp_path / "parent") as user,
    ):
        room = await user.open_direct_chat(bot.user_id)
        await bodies(user, room, 1)
        for number, line in enumerate(BY_NUMBER[:2], start=1):
            assert (await user.reply_to(room, line)).body == expected[number]
        assert adapter.throttled >= 1, "the homeserver did answer 429"
        await no_more_than(user, room, 3)


@pytest.mark.asyncio
async def test_a_letter_arrives_as_an_encrypted_file_and_typed_values_stay_text(synapse: Synapse, tmp_path: Path) -> None:
    # A letter written from typed answers: a typed tag is neither markup in the chat nor noise in the letter.
    name = 'Jan <b>de Vries</b> & "zoon"'
    in_letter = 'Jan de Vries & "zoon"'
    lines = ["1", name, "40", "Utrecht", DECISION_DAY]
    expected = await console_says(tmp_path, lines)
    bot, parent = synapse.register("bot"), synapse.register("parent")
    async with (
        running_bot(synapse, bot, tmp_path / "bot"),
        MatrixUser(synapse, parent, tmp_path / "parent") as user,
    ):
        room = await user.open_direct_chat(bot.user_id, encrypted=True)
        await user.wait_for(room, 1)
        for line in lines:
            await user.say(room, line)
        seen = await user.wait_for(room, len(expected) + 2)  # + the file, + the question after it
        *_, intro, letter, question = seen
        assert expected[-1] == f"{intro.body}\n\n{question.body}"
        assert letter.msgtype == "m.file" and letter.encrypted
        assert letter.filename == "brief.txt"
        assert letter.file_text is not None and in_letter in letter.file_text
        assert letter.body.endswith(in_letter), "the caption is the document's title"
        for message in seen:
            assert "<b>" not in (message.html or ""), "nothing typed becomes markup"
        await no_more_than(user, room, len(expected) + 2)


@pytest.mark.asyncio
async def test_a_letter_the_homeserver_will_not_store_arrives_as_text(tmp_path: Path) -> None:
    name = "Jan de Vries"
    lines = ["1", name, "40", "Utrecht", DECISION_DAY]
    expected = await console_says(tmp_path, lines)
    # A homeserver that takes no file larger than 64 bytes (the letter is).
    with own_synapse(tmp_path / "homeserver", max_upload_size="64") as server:
        bot, parent = server.register("bot"), server.register("parent")
        async with (
            running_bot(server, bot, tmp_path / "bot"),
            MatrixUser(server, parent, tmp_path / "parent") as user,
        ):
            room = await user.open_direct_chat(bot.user_id)
            await user.wait_for(room, 1)
            for line in lines:
                await user.say(room, line)
            seen = await user.wait_for(room, len(expected) + 2)  # + the letter, + the question after it
            *_, intro, letter, question = seen
            assert expected[-1] == f"{intro.body}\n\n{question.body}"
            assert letter.msgtype == "m.text", "the letter is shown in the chat instead"
            assert name in letter.body and len(letter.body.encode()) > 64
            await no_more_than(user, room, len(expected) + 2)


@pytest.mark.asyncio
async def test_a_bot_given_only_an_access_token_keeps_its_device_and_is_cross_signed(
    synapse: Synapse, tmp_path: Path
) -> None:
    expected = await console_says(tmp_path, BY_NUMBER)
    bot, parent = synapse.register("bot"), synapse.register("parent")
    # The operator logs in once elsewhere and configures the token, no password.
    login = synapse.login(bot)
    token_only: dict[str, Any] = {
        "matrix_password": None,
        "matrix_access_token": SecretStr(login.access_token),
        "matrix_device_id": login.device_id,
    }
    where = tmp_path / "bot"
    async with MatrixUser(synapse, parent, tmp_path / "parent") as user:
        async with running_bot(synapse, bot, where, **token_only) as adapter:
            assert adapter.device_id == login.device_id
            # README: cross-signing is set up on the first start; the password
            # is needed only where the homeserver asks (Synapse does not for a
            # first identity, MSC3967).
            assert adapter.cross_signing is CrossSigningState.CREATED
            room = await user.open_direct_chat(bot.user_id, encrypted=True)
            assert await bodies(user, room, 1) == expected[:1]
            for number, line in enumerate(BY_NUMBER[:2], start=1):
                assert (await user.reply_to(room, line)).body == expected[number]

        async with running_bot(synapse, bot, where, **token_only) as adapter:
            assert adapter.device_id == login.device_id, "a restart must not make a new device"
            assert adapter.cross_signing is CrossSigningState.ALREADY_DONE
            for number, line in enumerate(BY_NUMBER[2:], start=3):
                assert (await user.reply_to(room, line)).body == expected[number]
            keys = synapse.request(
                "POST", "/_matrix/client/v3/keys/query", {"device_keys": {bot.user_id: []}}, token=parent.access_token
            )
            assert_cross_signed(keys, bot.user_id, adapter.device_id)
            await no_more_than(user, room, len(expected))
        assert [s.body for s in user.from_others(room)] == expected
    devices = synapse.request("GET", "/_matrix/client/v3/devices", token=bot.access_token)
    # The registration device plus the one the token belongs to, never one per start.
    assert len(devices["devices"]) == 2


@pytest.mark.asyncio
async def test_python_m_bot_serves_matrix(synapse: Synapse, tmp_path: Path) -> None:
    """The real entry point with Matrix credentials in the environment, stopped by SIGTERM."""
    expected = await console_says(tmp_path, BY_NUMBER[:1])
    bot, parent = synapse.register("bot"), synapse.register("parent")
    env = bot_env(
        WEGWIJZER_DB=str(tmp_path / "bot.sqlite3"),
        WEGWIJZER_MATRIX_HOMESERVER=synapse.url,
        WEGWIJZER_MATRIX_USER=bot.user_id,
        WEGWIJZER_MATRIX_PASSWORD=bot.password,
        WEGWIJZER_FLOWS_DIR=str(FIXTURE_FLOWS),
        WEGWIJZER_LOCALES_DIR=str(FIXTURE_LOCALES),
    )
    log = (tmp_path / "bot.log").open("wb")
    process = await asyncio.create_subprocess_exec(PYTHON, "-m", "bot", env=env, cwd=tmp_path, stdout=log, stderr=log)
    try:
        async with MatrixUser(synapse, parent, tmp_path / "parent") as user:
            room = await user.open_direct_chat(bot.user_id, encrypted=True)
            assert (await user.wait_for(room, 1, timeout=60))[0].body == expected[0]
            assert (await user.reply_to(room, BY_NUMBER[0])).body == expected[1]
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log.close()
    output = (tmp_path / "bot.log").read_text()
    assert BY_NUMBER[0] not in output.split("\n")  # nothing the parent typed is logged
    # The default store is next to the database; the device is saved there.
    store = tmp_path / "matrix-store"
    assert (store / "session.json").exists()
    assert {oct(p.stat().st_mode & 0o777) for p in store.iterdir()} == {"0o600"}


# ---------------------------------------------------------------- helpers


async def _eventually(check: Any, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition never became true"
        await asyncio.sleep(0.05)


def _joined_rooms(server: Synapse, account: Registered) -> list[str]:
    rooms: list[str] = server.request("GET", "/_matrix/client/v3/joined_rooms", token=account.access_token)["joined_rooms"]
    return rooms


def _membership(server: Synapse, viewer: Registered, room: str, user: str) -> str | None:
    from urllib.parse import quote

    try:
        event = server.request(
            "GET",
            f"/_matrix/client/v3/rooms/{quote(room)}/state/m.room.member/{quote(user)}",
            token=viewer.access_token,
        )
    except AssertionError:
        return None
    membership: str = event["membership"]
    return membership


def _room_events(server: Synapse, account: Registered, room: str) -> dict[str, int]:
    """How many events of each type the homeserver stores in the room."""
    from urllib.parse import quote

    chunk = server.request(
        "GET",
        f"/_matrix/client/v3/rooms/{quote(room)}/messages?dir=b&limit=1000",
        token=account.access_token,
    )["chunk"]
    counts: dict[str, int] = {"m.room.message": 0, "m.room.encrypted": 0}
    for event in chunk:
        counts[event["type"]] = counts.get(event["type"], 0) + 1
    return counts


@pytest.mark.asyncio
async def test_a_digit_int_cannot_read_gets_an_answer_and_the_chat_goes_on(synapse: Synapse, tmp_path: Path) -> None:
    """"፩" (Ethiopic one) passes str.isdigit() but not int(): it used to raise outside the engine and
    the message was dropped without a word."""
    lines = ["\u1369", *BY_NUMBER]
    expected = await console_says(tmp_path, lines)
    assert expected[1] != expected[0] and "nummer" in expected[1]
    bot, parent = synapse.register("bot"), synapse.register("parent")
    async with (
        running_bot(synapse, bot, tmp_path / "bot"),
        MatrixUser(synapse, parent, tmp_path / "parent") as user,
    ):
        room = await user.open_direct_chat(bot.user_id)
        await bodies(user, room, 1)
        for number, line in enumerate(lines, start=1):
            reply = await user.reply_to(room, line)
            assert reply.body == expected[number]


@pytest.mark.asyncio
async def test_a_slow_turn_shows_the_bot_typing_until_it_answers(synapse: Synapse, tmp_path: Path) -> None:
    bot, parent = synapse.register("bot"), synapse.register("parent")
    async with (
        running_bot(synapse, bot, tmp_path / "bot") as adapter,
        MatrixUser(synapse, parent, tmp_path / "parent") as user,
    ):
        room = await user.open_direct_chat(bot.user_id)
        await bodies(user, room, 1)
        adapter.typing_after = 0.0  # every turn counts as slow here
        await user.reply_to(room, "1")
        for _ in range(50):  # the homeserver tells of typing in a later sync
            if any(bot.user_id in users for users in user.typing.get(room, [])) and user.typing[room][-1] == []:
                break
            await asyncio.sleep(0.2)
        notices = user.typing.get(room, [])
        assert any(bot.user_id in users for users in notices), notices
        assert notices[-1] == [], "the notice ends when the answer is there"


@pytest.mark.asyncio
async def test_headings_and_lists_arrive_as_html_and_what_was_typed_stays_text(synapse: Synapse, tmp_path: Path) -> None:
    """The shipped council flow on Matrix: typed HTML comes back as text inside a message with a bold
    heading and a real list; the plain body reads the same without HTML; the e-mail's file says what to do.
    (Real HTML tags pasted in are taken out of an answer before it is kept, bot/markup.py `cleaned`; what only
    looks like HTML stays the person's words and must arrive as text.)"""
    typed = 'Gezinnen wachten <maanden> & "lang" <3 op <hulp>.'
    shipped = {"flows_dir": REPO / "flows", "locales_dir": REPO / "locales"}
    bot, parent = synapse.register("bot"), synapse.register("parent")
    async with (
        running_bot(synapse, bot, tmp_path / "bot", **shipped),
        MatrixUser(synapse, parent, tmp_path / "parent") as user,
    ):
        room = await user.open_direct_chat(bot.user_id)
        await user.wait_for(room, 1)
        for line in ["/start inspreken", "Utrecht", "2", "wachtlijsten in de jeugdzorg", "1",
                     "commissie Sociaal Domein, 14 januari", "1", typed]:
            await user.reply_to(room, line)
        message = await user.reply_to(room, "Spreek af dat hulp binnen een vaste tijd begint.")
        assert f'"{typed}"\n' in message.body, "the plain body shows what was typed, as typed"
        assert message.body.startswith("Dit komt in je e-mail:\n") and "**" not in message.body
        assert "\n• Staan er namen in van kinderen, ouders of medewerkers? Haal ze weg.\n" in message.body
        html = message.html or ""
        assert html.startswith("<strong>Dit komt in je e-mail:</strong><br>")
        assert "<ul><li>Staan er namen in van kinderen, ouders of medewerkers? Haal ze weg.</li>" in html
        assert "&lt;maanden&gt; &amp; &quot;lang&quot; &lt;3 op &lt;hulp&gt;" in html
        assert "<maanden>" not in html and "<hulp>" not in html

        await user.reply_to(room, "1")  # "Klopt, maak de e-mail": the read-back is right
        before = len(user.from_others(room))
        await user.say(room, "1")  # my name may be on the agenda: the draft e-mail follows
        _intro, letter, *_rest = (await user.wait_for(room, before + 2, timeout=60))[before:]
        assert (letter.msgtype, letter.filename) == ("m.file", "aanmelding-inspreken.docx")
        assert letter.body.startswith("Je concept-tekst voor het formulier van de gemeenteraad. Vul de [haken] in")
