"""Telegram end to end: the real bot and python-telegram-bot against the fake Bot API.

Each test plays people on Telegram and checks what their screens show.
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
import logging
import socket
import time
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bot import core as core_module
from bot.adapters.base import DeliveryFailed
from bot.adapters.console import run_console
from bot.adapters.telegram import OFFSET_CURSOR, MessageRef, PartlyDelivered, SendLimiter, SendLimits, split_text
from bot.app import build_core
from bot.core import ZONE
from bot.dates import add_period, format_date
from bot.directory import legal_last_day
from bot.events import ChoiceButton, ConversationKey, Document, Edit, Incoming, Send, Text
from bot.features import Hooks
from tests.fakes.telegram_api import FakeTelegram, Sent, button_rows
from tests.telegram_fixtures import Person, QuickUser, RunningBot, running_bot, telegram, telegram_settings

__all__ = ["running_bot", "telegram"]  # fixtures used by name below

pytestmark = pytest.mark.asyncio


def shown(sent: list[Sent]) -> list[tuple[str, list[str]]]:
    return [(s.text, s.labels) for s in sent]


def key_of(person: Person) -> ConversationKey:
    return ConversationKey("telegram", str(person.chat["id"]), str(person.user["id"]))


# ---------------------------------------------------------------- a whole conversation


async def test_a_parent_calculates_a_deadline_with_buttons_and_free_text(
    running_bot: RunningBot, telegram: FakeTelegram
) -> None:
    bot, tg = running_bot, telegram
    parent = Person(tg)

    (welcome,) = await parent.command("start")
    assert welcome.method == "sendMessage"
    assert shown([welcome]) == [(bot.text("main.role.question"), bot.labels("main", "role"))]
    assert welcome.data == [f"role:{choice}" for choice in ("parent", "professional", "other", "young", "helplines")]

    # Each button press replaces the question it answered: one message, no old keyboards.
    (menu,) = await parent.presses(bot.label("main", "role", "parent"))
    assert (menu.method, menu.message_id) == ("editMessageText", welcome.message_id)
    assert shown([menu]) == [(bot.text("main.parent.question"), bot.labels("main", "parent_menu"))]
    (which,) = await parent.presses(bot.label("main", "parent_menu", "deadline"))
    assert shown([which]) == [(bot.text("termijn.which"), bot.labels("termijn", "which"))]
    (ask,) = await parent.presses(bot.label("termijn", "which", "appeal"))
    assert (ask.method, ask.message_id, ask.text, ask.labels) == (
        "editMessageText", welcome.message_id, bot.text("termijn.ask_date"), [],
    )

    yesterday = bot.core.clock().astimezone(ZONE).date() - timedelta(days=1)  # the product's clock
    (echo,) = await parent.says("gisteren")  # every date is shown back in words first
    assert echo.labels == ["Ja", "Nee"] and echo.text.startswith("Ik lees: ")  # "Ik lees: <weekday> <date>. ..."
    assert echo.text.endswith(f" {format_date(yesterday, 'nl')}. Klopt dat?")
    rule, where = await parent.presses(bot.text("sys.yes"))
    assert {m.method for m in (rule, where)} == {"sendMessage"}
    assert rule.text.startswith("Zo reken ik de termijn:")
    assert f"Begindatum: {format_date(yesterday, 'nl')}" in rule.text
    # the day that counts: three months on, moved past a weekend or holiday by the Algemene termijnenwet
    last = legal_last_day(yesterday, add_period(yesterday, months=3), True, bot.core.flows.atw_equated)
    weekday = bot.text("sys.date.weekday_names").split(",")[last.day.weekday()].strip() + " " if last.moved else ""
    assert f"Laatste dag: {weekday}{format_date(last.day, 'nl')}" in rule.text  # said once
    assert shown([where]) == [(bot.text("termijn.where"), bot.labels("termijn", "where"))]
    # on request the sourced cards of the body, a message each (three messages a turn at most)
    appeal, lawyer, anything_else = await parent.presses(bot.label("termijn", "where", "show"))
    assert appeal.text.startswith("Hoger beroep bij het gerechtshof\n") and "\nBron: " in appeal.text
    assert lawyer.text.startswith("Het Juridisch Loket\n") and "\nBron: " in lawyer.text
    assert shown([anything_else]) == [(bot.text("main.anything_else"), bot.labels("main", "anything_else"))]

    (bye,) = await parent.presses(bot.label("main", "anything_else", "done"))
    assert bye.text == bot.text("main.bye")

    # What the parent's screen shows at the end, in order.
    assert [(m["from"]["is_bot"], m.get("text"), [b[0] for row in button_rows(m) for b in row]) for m in parent.screen] == [
        (False, "/start", []),
        (True, bot.text("termijn.ask_date"), []),
        (False, "gisteren", []),
        (True, echo.text, ["Ja", "Nee"]),
        (True, rule.text, []),
        (True, where.text, bot.labels("termijn", "where")),  # answered by a press; the cards come under it
        (True, appeal.text, []),
        (True, lawyer.text, []),
        (True, bot.text("main.anything_else"), bot.labels("main", "anything_else")),
        (True, bot.text("main.bye"), []),
    ]
    assert tg.unanswered_callbacks == []
    assert await bot.core.store.state(str(key_of(parent))) is None  # ended: nothing kept


async def test_telegram_shows_what_the_console_shows(
    running_bot: RunningBot, telegram: FakeTelegram, tmp_path: Path
) -> None:
    """The same flows on both: typed numbers on the console, buttons on Telegram."""
    bot, tg = running_bot, telegram
    path = [("main", "role", "parent"), ("main", "parent_menu", "deadline"), ("termijn", "which", "bezwaar")]
    parent = Person(tg)
    seen = await parent.command("start")
    for flow, step, option in path:
        seen += await parent.presses(bot.label(flow, step, option))
    seen += await parent.says("gisteren")
    seen += await parent.presses(bot.text("sys.yes"))  # "Ik lees: ... Klopt dat?"

    typed = ["/start", *(str(bot.number(*choice)) for choice in path), "gisteren", "1"]
    console_core = await build_core(telegram_settings(tg, tmp_path / "console.sqlite3"))
    out = io.StringIO()
    try:
        await run_console(console_core, as_json=True, stdin=io.StringIO("\n".join(typed) + "\n"), stdout=out)
    finally:
        await console_core.store.close()
    console = [json.loads(line) for line in out.getvalue().splitlines()]
    expected = [(m["text"], [c["label"] for c in m["choices"]]) for m in console if m["type"] == "message"]
    assert shown(seen) == expected


async def test_a_deep_link_starts_the_named_flow(running_bot: RunningBot, telegram: FakeTelegram) -> None:
    parent = Person(telegram)
    (first,) = await parent.command("start", "termijn")  # t.me/<bot>?start=termijn
    assert first.text == running_bot.text("termijn.which")


async def test_command_menus_in_dutch_and_english(running_bot: RunningBot, telegram: FakeTelegram) -> None:
    scope = '{"type": "all_private_chats"}'
    dutch = telegram.commands[(scope, "nl")]
    english = telegram.commands[(scope, "en")]
    assert [c["command"] for c in dutch] == [
        "start",
        "hulp",
        "terug",
        "opnieuw",
        "taal",
        "mens",
        "mijngegevens",
        "stop",
    ]
    assert [c["command"] for c in english] == [
        "start",
        "help",
        "back",
        "restart",
        "language",
        "person",
        "mydata",
        "stop",
    ]
    assert dutch[1]["description"] == running_bot.text("telegram.commands.help", "nl")
    assert english[1]["description"] == running_bot.text("telegram.commands.help", "en")
    assert telegram.commands[(scope, "")] == dutch  # users whose app speaks neither
    # no desk set up (WEGWIJZER_DESKS): nobody would answer "talk to a person", so the free help is offered
    assert (dutch[5]["description"], english[5]["description"]) == ("Gratis hulp van mensen", "Free help from people")

    # Every menu command does something: /hulp answers with the help text.
    parent = Person(telegram)
    answer = await parent.command("hulp")
    assert answer[0].text == running_bot.text("sys.help")


# ---------------------------------------------------------------- what users do wrong


async def test_a_stale_button_is_answered_politely_and_changes_nothing(
    running_bot: RunningBot, telegram: FakeTelegram
) -> None:
    bot, tg = running_bot, telegram
    parent = Person(tg)
    (welcome,) = await parent.command("start")
    as_seen_before = copy.deepcopy(tg.message(parent.chat, welcome.message_id))
    await parent.presses(bot.label("main", "role", "parent"))

    # A client that has not shown the edit yet: the old role buttons are still there. The press
    # is answered on the button itself; the chat, with the current question at its end, stays as it is.
    stale = await parent.presses(bot.label("main", "role", "professional"), message=as_seen_before)
    assert stale == []
    assert tg.callback_answers[parent.last_update["callback_query"]["id"]]["text"] == bot.text("telegram.stale_button")
    assert tg.unanswered_callbacks == []

    # The conversation is still where it was: the parent's menu.
    (which,) = await parent.presses(bot.label("main", "parent_menu", "deadline"))
    assert which.text == bot.text("termijn.which")


@pytest.mark.parametrize("kind", ["photo", "sticker", "voice", "location", "document"])
async def test_unreadable_messages_get_a_polite_answer_and_leave_the_state_alone(
    running_bot: RunningBot, telegram: FakeTelegram, kind: str
) -> None:
    bot, tg = running_bot, telegram
    parent = Person(tg)
    (welcome,) = await parent.command("start")
    state_before = await bot.core.store.state(str(key_of(parent)))

    answer = await parent.sends(kind)
    assert answer[0].text == bot.text("sys.unsupported")
    assert await bot.core.store.state(str(key_of(parent))) == state_before

    (menu,) = await parent.presses(bot.label("main", "role", "parent"), message=welcome.message_id)
    assert menu.text == bot.text("main.parent.question")


async def test_an_edited_message_is_not_handled_again(running_bot: RunningBot, telegram: FakeTelegram) -> None:
    bot, tg = running_bot, telegram
    parent = Person(tg)
    await parent.command("start", "termijn")
    await parent.presses(bot.label("termijn", "which", "appeal"))
    answer = await parent.says("gisteren")
    typed = parent.last_update
    assert typed is not None

    edited = tg.edit_text(parent.user, typed["message"]["message_id"], "1 januari 2020")
    # Updates are handled in order: once this one is handled, the edit would have been too.
    help_text = await parent.command("hulp")
    assert help_text[0].text == bot.text("sys.help")
    assert parent.transcript[-len(answer) - len(help_text) :] == answer + help_text
    assert tg.deliveries[edited["update_id"]] == 0  # the bot never even asked for edits


async def test_in_a_group_the_bot_only_invites_to_a_private_chat(
    running_bot: RunningBot, telegram: FakeTelegram
) -> None:
    bot, tg = running_bot, telegram
    group = tg.new_group("Ouders in Utrecht")
    parent = Person(tg)
    english = tg.new_user("Sam", language_code="en")

    async def in_group(update: dict[str, object]) -> list[Sent]:
        before = len(tg.transcript(group))
        await tg.wait_confirmed(update)
        return tg.transcript(group)[before:]

    assert await in_group(tg.send_text(parent.user, "Heeft iemand ervaring met een gezinsvoogd?", chat=group)) == []
    assert await in_group(tg.send_command(parent.user, "start", chat=group)) != []
    assert (
        await in_group(
            tg.send_text(
                parent.user,
                "/help@some_other_bot",
                chat=group,
                entities=[{"type": "bot_command", "offset": 0, "length": 20}],
            )
        )
        == []
    )

    mention = tg.mention(parent.user, group, "mijn zoon is uit huis geplaatst, wat nu?")
    (invite,) = await in_group(mention)
    assert invite.text == bot.text("telegram.group_invite")
    assert invite.buttons == ((("Privégesprek openen", ""),),)
    shown_invite = tg.message(group, invite.message_id)
    assert shown_invite["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://t.me/wegwijzer_test_bot"
    assert shown_invite["reply_to_message"]["message_id"] == mention["message"]["message_id"]

    (in_english,) = await in_group(tg.send_command(english, "start", addressed=True, chat=group))
    assert in_english.text == bot.text("telegram.group_invite", "en")
    (on_reply,) = await in_group(tg.send_text(english, "thanks", chat=group, reply_to=invite.message_id))
    assert on_reply.text == bot.text("telegram.group_invite", "en")

    # Nothing personal anywhere: no private message, no conversation, not even for the group.
    assert parent.transcript == []
    for chat in (group["id"], parent.user["id"]):
        key = ConversationKey("telegram", str(chat), str(parent.user["id"]))
        assert await bot.core.store.state(str(key)) is None


# ---------------------------------------------------------------- when Telegram misbehaves


@pytest.mark.parametrize("rate_limiter", [True, False], ids=["AIORateLimiter", "own-retry"])
async def test_a_429_is_waited_out_and_the_message_arrives_once(
    telegram: FakeTelegram, tmp_path: Path, rate_limiter: bool
) -> None:
    tg = telegram
    bot = await RunningBot(telegram_settings(tg, tmp_path / "db.sqlite3", telegram_rate_limit=rate_limiter)).start()
    try:
        parent = Person(tg)
        tg.throttle("sendMessage", retry_after=1)
        started = time.monotonic()
        (welcome,) = await parent.command("start")
        assert time.monotonic() - started >= 1.0
        assert welcome.text == bot.text("main.role.question")
        assert [s for s in tg.log if s[0] == "sendMessage"] == [("sendMessage", 429), ("sendMessage", 200)]
        assert len(parent.screen) == 2  # the /start and one welcome
    finally:
        await bot.stop()


async def test_a_429_in_one_private_chat_holds_up_only_that_chat(telegram: FakeTelegram, tmp_path: Path) -> None:
    """Chats are handled side by side and, with the rate limiter on, a 429 pauses its own chat only."""
    tg = telegram
    bot = await RunningBot(telegram_settings(tg, tmp_path / "db.sqlite3", telegram_rate_limit=True)).start()
    try:
        waiting, other = Person(tg), Person(tg, "Ander")
        tg.throttle("sendMessage", retry_after=3)
        first = tg.send_command(waiting.user, "start")
        await tg.wait_until(lambda: ("sendMessage", 429) in tg.log, timeout=10)
        tg.send_command(other.user, "start")
        # answered while the first chat waits out its 429 (its update is confirmed only after
        # the first one's: the offset never passes an update in hand)
        await tg.wait_until(lambda: len(other.transcript) == 1, timeout=10)
        assert other.transcript[0].text == bot.text("main.role.question")
        assert waiting.transcript == []
        await tg.wait_confirmed(first, timeout=10)
        await tg.wait_until(lambda: len(waiting.transcript) == 1, timeout=10)
        assert waiting.transcript[0].text == bot.text("main.role.question")
    finally:
        await bot.stop()


async def test_server_errors_and_timeouts_are_retried(telegram: FakeTelegram, tmp_path: Path) -> None:
    tg = telegram
    bot = await RunningBot(telegram_settings(tg, tmp_path / "db.sqlite3"), request_timeout=0.5).start()
    try:
        parent = Person(tg)
        tg.fail("sendMessage", times=2, status=502)
        (welcome,) = await parent.command("start")
        assert welcome.text == bot.text("main.role.question")
        tg.hang("editMessageText", seconds=3)  # longer than the client waits
        tg.fail("answerCallbackQuery", status=500)
        (menu,) = await parent.presses(bot.label("main", "role", "parent"))
        assert menu.text == bot.text("main.parent.question")
        assert [m.get("text") for m in tg.bot_messages(parent.chat)] == [bot.text("main.parent.question")]
        assert tg.unanswered_callbacks == []
    finally:
        await bot.stop()


async def test_a_message_telegram_keeps_refusing_is_kept_and_sent_later(
    telegram: FakeTelegram, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg = telegram
    monkeypatch.setattr(core_module, "REDELIVER_EVERY", 0.2)
    bot = await RunningBot(telegram_settings(tg, tmp_path / "db.sqlite3")).start()
    try:
        parent = Person(tg)
        tg.fail("sendMessage", times=1000, status=500)
        assert await parent.command("start") == []  # handled, but Telegram took nothing
        tg.heal()
        await tg.wait_until(lambda: len(parent.transcript) >= 1, timeout=10)
        await asyncio.sleep(0.5)  # a few more redelivery rounds: still exactly one
        assert shown(parent.transcript) == [
            (
                bot.text("main.role.question"),
                bot.labels("main", "role"),
            )
        ]
    finally:
        await bot.stop()


async def test_the_buttons_after_a_crisis_reply_work(running_bot: RunningBot, telegram: FakeTelegram) -> None:
    """"Verder waar ik was" under a crisis reply goes on; its id has a colon ("go:suicide"), and Telegram's
    callback data split at the last one made every crisis button a stale press that showed nothing."""
    bot, tg = running_bot, telegram
    parent = Person(tg)
    await parent.command("start")
    sent = await parent.says("ik voel me zo leeg, soms denk ik dat het beter is als ik er niet meer ben")
    assert any(s.labels[:2] == [bot.text("crisis.pause.go"), bot.text("crisis.pause.later")] for s in sent)
    (again,) = await parent.presses(bot.text("crisis.pause.go"))
    assert shown([again]) == [(bot.text("main.role.question"), bot.labels("main", "role"))]
    assert tg.unanswered_callbacks == []


# ---------------------------------------------------------------- restarts and offsets


async def test_a_restart_in_the_middle_of_a_conversation(telegram: FakeTelegram, tmp_path: Path) -> None:
    tg = telegram
    settings = telegram_settings(tg, tmp_path / "db.sqlite3")
    first = await RunningBot(settings).start()
    parent = Person(tg)
    await parent.command("start")
    await parent.presses(first.label("main", "role", "parent"))
    handled = parent.last_update
    assert handled is not None
    deadline = first.label("main", "parent_menu", "deadline")
    await first.stop()

    # While the bot is down the parent presses on, and Telegram offers an old update
    # again (as if the bot had crashed before confirming it).
    before = len(parent.transcript)
    menu_id = tg.bot_messages(parent.chat)[-1]["message_id"]
    pressed = tg.press(parent.user, menu_id, label=deadline)
    tg.resend(handled)
    # (while an update is in hand the first bot's getUpdates may have seen it again: only
    # deliveries to the second bot count)
    delivered_before = tg.deliveries[handled["update_id"]]

    second = await RunningBot(settings).start()
    try:
        await tg.wait_confirmed(pressed, timeout=10)
        (which,) = parent.transcript[before:]
        assert (which.method, which.text) == ("editMessageText", second.text("termijn.which"))
        assert await second.core.store.cursor(OFFSET_CURSOR) == str(pressed["update_id"] + 1)
        assert tg.deliveries[handled["update_id"]] == delivered_before  # the stored offset skipped it
        assert tg.unanswered_callbacks == []
    finally:
        await second.stop()


# ---------------------------------------------------------------- webhook mode


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_mode_checks_the_secret(telegram: FakeTelegram, tmp_path: Path) -> None:
    tg = telegram
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    settings = telegram_settings(
        tg,
        tmp_path / "db.sqlite3",
        telegram_webhook_url=url,
        telegram_webhook_secret="s3cret_token-1",
        telegram_webhook_port=port,
    )
    bot = await RunningBot(settings).start()
    try:
        assert tg.webhook["url"] == url and tg.webhook["secret_token"] == "s3cret_token-1"
        parent = Person(tg)
        (welcome,) = await parent.command("start")  # pushed by "Telegram" with the secret
        assert welcome.text == bot.text("main.role.question")
        assert tg.calls["getUpdates"] == 0

        forged = {
            "update_id": 777,
            "message": {
                "message_id": 50,
                "date": 0,
                "chat": parent.chat,
                "from": parent.user,
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}):
                async with http.post(url, json=forged, headers=headers) as response:
                    assert response.status == 403
            assert len(parent.transcript) == 1

            async with http.post(url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret_token-1"}) as r:
                assert r.status == 200
            assert [s.text for s in parent.transcript] == [welcome.text, welcome.text]

        # Telegram sends a handled update again (it never saw our 200): nothing happens twice.
        tg.resend(parent.last_update or {})
        await tg.wait_until(lambda: not tg.pending_updates)
        assert len(parent.transcript) == 2
    finally:
        await bot.stop()


# ---------------------------------------------------------------- the Outlet, message by message


async def test_texts_are_escaped_split_at_paragraphs_and_keep_their_keyboard_last(
    running_bot: RunningBot, telegram: FakeTelegram
) -> None:
    adapter, tg = running_bot.adapter, telegram
    parent = Person(tg)
    await parent.command("start")
    before = len(parent.transcript)

    await adapter.deliver(key_of(parent), [Send("Jouw tekst: <b>vet</b> & 'zo' </i>")], None)
    (escaped,) = parent.transcript[before:]
    assert escaped.text == "Jouw tekst: <b>vet</b> & 'zo' </i>"

    paragraphs = [f"Alinea {i}: " + "woord " * 300 for i in range(8)]  # ~1800 characters each
    long_text = "\n\n".join(p.strip() for p in paragraphs)
    choices = (ChoiceButton("yes", "Ja"), ChoiceButton("no", "Nee"))
    await adapter.deliver(key_of(parent), [Send(long_text, choices, token="confirm")], None)
    parts = parent.transcript[before + 1 :]
    assert len(parts) == 4
    assert all(len(p.text) <= 4096 for p in parts)
    assert "\n\n".join(p.text for p in parts) == long_text
    assert [p.labels for p in parts] == [[], [], [], ["Ja", "Nee"]]
    assert parts[-1].data == ["confirm:yes", "confirm:no"]


async def test_edits_fall_back_to_new_messages(running_bot: RunningBot, telegram: FakeTelegram) -> None:
    adapter, tg = running_bot.adapter, telegram
    parent = Person(tg)
    (welcome,) = await parent.command("start")
    key = key_of(parent)

    await adapter.deliver(key, [Edit("Vraag twee")], MessageRef(parent.chat["id"], welcome.message_id))
    await adapter.deliver(key, [Edit("Vraag twee")], MessageRef(parent.chat["id"], welcome.message_id))
    await adapter.deliver(key, [Edit("Vraag drie")], None)  # after a restart: nothing to edit
    # the message to edit is gone (deleted in the chat): the question comes as a new message, with its buttons
    buttons = (ChoiceButton("yes", "Ja"), ChoiceButton("no", "Nee"))
    await adapter.deliver(key, [Edit("Vraag vier", buttons, "vier")], MessageRef(parent.chat["id"], 999_999))
    assert [(s.method, s.text) for s in parent.transcript[1:]] == [
        ("editMessageText", "Vraag twee"),  # the second identical edit was "not modified": fine
        ("sendMessage", "Vraag drie"),
        ("sendMessage", "Vraag vier"),
    ]
    last = parent.transcript[-1]
    assert (last.labels, last.data) == (["Ja", "Nee"], ["vier:yes", "vier:no"])


async def test_documents_are_sent_as_files_or_else_as_text(running_bot: RunningBot, telegram: FakeTelegram) -> None:
    adapter, tg = running_bot.adapter, telegram
    parent = Person(tg)
    await parent.command("start")
    letter = Document("klachtbrief.txt", "Je klachtbrief", "Geachte heer, mevrouw,\n\nIk dien een klacht in.")

    await adapter.deliver(key_of(parent), [Send("Hier is je brief.", document=letter)], None)
    intro, file = parent.transcript[1:]
    assert intro.text == "Hier is je brief."
    assert file.method == "sendDocument" and file.text == "Je klachtbrief" and file.document is not None
    assert (file.document.filename, file.document.content) == ("klachtbrief.txt", letter.content.encode())

    tg.fail("sendDocument", status=400, description="Bad Request: file is too big")
    await adapter.deliver(key_of(parent), [Send("", document=letter)], None)
    (fallback,) = parent.transcript[3:]
    assert (fallback.method, fallback.text) == ("sendMessage", f"{letter.title}\n\n{letter.content}")


async def test_a_blocked_bot_reports_delivery_failed(running_bot: RunningBot, telegram: FakeTelegram) -> None:
    parent = Person(telegram)
    await parent.command("start")
    telegram.block(parent.user)
    with pytest.raises(DeliveryFailed):
        await running_bot.adapter.deliver(key_of(parent), [Send("Hallo")], None)


# ---------------------------------------------------------------- Telegram's send limits


def too_close(times: list[float], burst: float, per_second: float, slack: float = 0.25) -> list[tuple[int, int]]:
    """Pairs (i, j) of requests with more between them than a leaky bucket lets through.

    A bucket of `burst` draining `per_second` lets at most burst + per_second * t
    requests through in any t seconds; `slack` seconds allow for requests that
    left the bot in order but arrived at uneven speed. Only a lower bound on time:
    nothing here asserts that sending is fast.
    """
    at = sorted(times)
    return [(i, j) for i in range(len(at)) for j in range(i + 1, len(at))
            if j - i + 1 > burst + per_second * (at[j] - at[i] + slack)]


def arrivals(tg: FakeTelegram, since: int, chat_id: int | None = None) -> list[float]:
    return [r.at for r in tg.requests[since:]
            if r.method == "sendMessage" and (chat_id is None or r.chat_id == chat_id)]


async def test_a_private_chat_gets_a_short_burst_then_about_one_message_a_second(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    tg = telegram
    bot = await RunningBot(telegram_settings(tg, tmp_path / "db.sqlite3"), send_limits=None).start()
    try:
        limiter = bot.adapter.bot.rate_limiter
        assert isinstance(limiter, SendLimiter) and limiter.limits == SendLimits()  # what production runs
        assert (limiter.limits.chat_burst, limiter.limits.chat_interval) == (3, 1.0)
        parent = Person(tg)
        await parent.command("start")
        mark, before = len(tg.requests), len(parent.transcript)

        news = [Send(f"Bericht {n}") for n in range(6)]  # e.g. a desk's answers arriving at once
        await bot.core.send(key_of(parent), news)

        assert [s.text for s in parent.transcript[before:]] == [m.text for m in news]  # all, in order
        times = arrivals(tg, mark, parent.chat["id"])
        assert len(times) == len(news)
        assert too_close(times, burst=3, per_second=1.0) == []
    finally:
        await bot.stop()


async def test_a_burst_to_one_group_keeps_to_twenty_a_minute(telegram: FakeTelegram, tmp_path: Path) -> None:
    """The real limiter with the minute shortened to 3 seconds, so the test takes two."""
    tg = telegram
    group = tg.new_group("Meldpunt")
    bot = await RunningBot(telegram_settings(tg, tmp_path / "db.sqlite3"),
                           send_limits=SendLimits(group_period=3.0)).start()
    try:
        mark = len(tg.requests)
        posted = await asyncio.gather(*(bot.adapter.deliver_to_room(str(group["id"]), f"Melding {n}", None)
                                        for n in range(28)))
        assert len(set(posted)) == 28
        times = arrivals(tg, mark, group["id"])
        assert len(times) == 28
        assert too_close(times, burst=20, per_second=20 / 3.0) == []
    finally:
        await bot.stop()


async def test_the_whole_bot_keeps_to_thirty_messages_a_second(telegram: FakeTelegram, tmp_path: Path) -> None:
    tg = telegram
    bot = await RunningBot(telegram_settings(tg, tmp_path / "db.sqlite3")).start()
    try:
        people = [QuickUser(tg, f"Ouder {n}") for n in range(75)]
        for person in people:
            person.command("start")
        await tg.wait_until(lambda: all(tg.is_confirmed(u) for p in people for u in p.updates), timeout=60)
        await tg.wait_until(lambda: all(p.transcript for p in people), timeout=30)
        mark = len(tg.requests)

        await asyncio.gather(*(bot.adapter.deliver(ConversationKey("telegram", str(p.chat["id"]), str(p.user["id"])),
                                                   [Send("De website is weer bereikbaar.")], None) for p in people))

        times = arrivals(tg, mark)
        assert len(times) == 75
        assert too_close(times, burst=30, per_second=30.0) == []
    finally:
        await bot.stop()


# ---------------------------------------------------------------- a delivery that stops halfway


LONG_TEXT = "\n\n".join(f"Alinea {i}: " + "woord " * 300 for i in range(8)).replace(" \n", "\n").strip()


async def test_a_long_text_refused_halfway_leaves_exactly_the_unseen_part_for_later(
    running_bot: RunningBot, telegram: FakeTelegram
) -> None:
    adapter, tg = running_bot.adapter, telegram
    parent = Person(tg)
    await parent.command("start")
    before = len(parent.transcript)
    chunks = split_text(LONG_TEXT)
    assert len(chunks) == 4
    choices = (ChoiceButton("yes", "Ja"), ChoiceButton("no", "Nee"))
    reply = [Send(LONG_TEXT, choices, token="confirm"), Send("Wil je nog iets weten?")]

    tg.fail("sendMessage", status=500, times=1000, after=2)  # chunks 1 and 2 go out, then Telegram refuses
    with pytest.raises(PartlyDelivered) as refused:
        await adapter.deliver(key_of(parent), reply, None)
    tg.heal()
    assert [s.text for s in parent.transcript[before:]] == chunks[:2]
    assert refused.value.delivered == 0  # no whole action yet ...
    assert refused.value.rest == [Send("\n\n".join(chunks[2:]), choices, "confirm"), reply[1]]  # ... but half of one

    await adapter.deliver(key_of(parent), refused.value.rest, None)  # what the outbox sends later
    shown_now = parent.transcript[before:]
    assert [s.text for s in shown_now] == [*chunks, "Wil je nog iets weten?"]
    assert [s.labels for s in shown_now] == [[], [], [], ["Ja", "Nee"], []]


async def test_an_upload_refused_after_its_intro_does_not_repeat_the_intro(
    running_bot: RunningBot, telegram: FakeTelegram
) -> None:
    adapter, tg = running_bot.adapter, telegram
    parent = Person(tg)
    await parent.command("start")
    before = len(parent.transcript)
    letter = Document("klachtbrief.txt", "Je klachtbrief", "Geachte heer, mevrouw,\n\nIk dien een klacht in.")

    tg.fail("sendDocument", status=502, times=1000)
    with pytest.raises(PartlyDelivered) as refused:
        await adapter.deliver(key_of(parent), [Send("Hier is je brief.", document=letter)], None)
    tg.heal()
    assert refused.value.rest == [Send("", document=letter)]
    await adapter.deliver(key_of(parent), refused.value.rest, None)
    assert [(s.method, s.text) for s in parent.transcript[before:]] == [
        ("sendMessage", "Hier is je brief."),
        ("sendDocument", "Je klachtbrief"),
    ]


async def test_after_a_refusal_halfway_a_long_text_the_screen_holds_each_part_once(
    telegram: FakeTelegram, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg = telegram
    monkeypatch.setattr(core_module, "REDELIVER_EVERY", 0.2)
    bot = await RunningBot(telegram_settings(tg, tmp_path / "db.sqlite3")).start()
    try:
        parent = Person(tg)
        await parent.command("start")
        before = len(parent.transcript)
        tg.fail("sendMessage", status=500, times=1000, after=2)
        await bot.core.send(key_of(parent), [Send(LONG_TEXT), Send("Wil je nog iets weten?")])
        tg.heal()
        want = [*split_text(LONG_TEXT), "Wil je nog iets weten?"]
        await tg.wait_until(lambda: len(parent.transcript) - before >= len(want), timeout=10)
        await asyncio.sleep(0.6)  # a few more redelivery rounds: still exactly once
        assert [s.text for s in parent.transcript[before:]] == want
        assert await bot.core.store.pending_outbox() == []
    finally:
        await bot.stop()


# ---------------------------------------------------------------- an update that always fails


async def test_an_update_that_keeps_failing_is_skipped_logged_without_its_text_and_the_next_ones_run(
    telegram: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tg = telegram
    bot = await RunningBot(telegram_settings(tg, tmp_path / "db.sqlite3")).start()
    try:
        secret = "Ik woon op Dorpsstraat 7"

        def breaks_on_the_secret(incoming: Incoming) -> None:
            if isinstance(incoming.event, Text) and incoming.event.text == secret:
                raise ValueError(f"cannot handle {incoming.event.text!r}")  # a bug that quotes the user
            return None

        bot.core.add(Hooks(answer=breaks_on_the_secret))
        parent, other = Person(tg), Person(tg, "Ander")
        await parent.command("start")
        before = len(parent.transcript)
        caplog.set_level(logging.INFO)

        poison = tg.send_text(parent.user, secret)
        parent_next = tg.send_command(parent.user, "hulp")
        other_next = tg.send_command(other.user, "start")
        await tg.wait_confirmed(other_next, timeout=30)

        assert tg.is_confirmed(poison) and tg.is_confirmed(parent_next)
        # the other user's chat did not wait for the parent's retries (chats run side by side) ...
        sent_to = [(int(r.chat_id or 0), r.at) for r in tg.requests if r.method == "sendMessage"]
        other_welcomed = min(at for chat, at in sent_to if chat == other.user["id"])
        parent_helped = max(at for chat, at in sent_to if chat == parent.user["id"])
        assert other_welcomed < parent_helped
        # ... and the given-up update is not fetched again
        fetched = tg.deliveries[poison["update_id"]]
        latest = tg.send_command(other.user, "hulp")
        await tg.wait_confirmed(latest, timeout=30)
        assert tg.deliveries[poison["update_id"]] == fetched
        # the parent hears their message was not processed, then the updates behind it were handled
        assert [s.text for s in parent.transcript[before:before + 2]] == [
            bot.text("telegram.update_skipped"), bot.text("sys.help")]
        assert other.transcript[0].text == bot.text("main.role.question")
        assert bot.adapter.skipped == 1
        skipped = [r for r in caplog.records if "skipped" in r.getMessage()]
        assert len(skipped) == 1 and skipped[0].levelno == logging.ERROR
        assert str(poison["update_id"]) in skipped[0].getMessage()
        assert "ValueError" in caplog.text  # the cause is there for whoever fixes the bug ...
        assert "Dorpsstraat" not in caplog.text  # ... what the user typed is not
        assert await bot.core.store.cursor(OFFSET_CURSOR) == str(latest["update_id"] + 1)
    finally:
        await bot.stop()


# ---------------------------------------------------------------- what a phone shows


async def test_no_message_brings_a_link_preview_card(running_bot: RunningBot, telegram: FakeTelegram) -> None:
    """A "Bron: https://..." line under a deadline must not turn into a large card of a home page."""
    parent = Person(telegram)
    await parent.command("start")
    await parent.presses(running_bot.label("main", "role", "parent"))
    await parent.presses(running_bot.label("main", "parent_menu", "deadline"))
    await parent.presses(running_bot.label("termijn", "which", "appeal"))
    await parent.says("gisteren")
    await parent.presses(running_bot.text("sys.yes"))  # "Ik lees: ... Klopt dat?"
    with_links = [s for s in parent.transcript if "https://" in s.text]
    assert with_links, "the deadline's cards name their sources"
    texts = [s for s in parent.transcript if s.method in ("sendMessage", "editMessageText")]
    assert texts and all(s.link_preview == {"is_disabled": True} for s in texts), [
        (s.method, s.link_preview) for s in texts]


async def test_a_slow_turn_shows_typing_and_a_quick_one_does_not(telegram: FakeTelegram, tmp_path: Path) -> None:
    tg = telegram
    bot = await RunningBot(telegram_settings(tg, tmp_path / "db.sqlite3")).start()
    try:
        parent = Person(tg)
        tg.hang("sendMessage", 1.0)  # a slow network: the turn's reply takes a second to leave
        (welcome,) = await parent.command("start")
        assert welcome.text == bot.text("main.role.question")
        assert (parent.chat["id"], "typing") in tg.chat_actions
    finally:
        await bot.stop()
    tg.chat_actions.clear()
    patient = await RunningBot(telegram_settings(tg, tmp_path / "db2.sqlite3"), typing_after=60.0).start()
    try:
        other = Person(tg)
        await other.command("start")
        assert tg.chat_actions == []  # nothing to wait for, so no "typing…"
    finally:
        await patient.stop()
