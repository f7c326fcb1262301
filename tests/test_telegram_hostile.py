"""Telegram under hostile or broken input: the bot keeps answering everybody else.

One user flooding the bot (300 presses of an old button, or 300 texts) costs the others
nothing: the flood limit and a cap on each chat's waiting updates are applied when the
updates arrive, so Telegram's window of 100 updates from the oldest unfinished one moves on.
These run with Telegram's real send limits (about one message a second per chat).

A malformed update (one python-telegram-bot cannot read) is skipped and logged by its
number only, in polling and in webhook mode; before, polling asked for it again forever
and the webhook answered 500, which Telegram retries (it retries every answer that is
not 2xx: core.telegram.org/bots/api#setwebhook).
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import aiohttp

from bot.adapters.telegram import SendLimits
from bot.features import Hooks
from tests.fakes.telegram_api import FakeTelegram, button_rows
from tests.telegram_fixtures import Person, RunningBot, telegram_settings

SECRET = "Dorpsstraat-7-geheim"


def broken_message(person: Person) -> dict:
    """A message without its date: PTB's Update.de_json raises KeyError on it."""
    return {"message_id": 99, "chat": person.chat, "from": person.user, "text": SECRET}


# ---------------------------------------------------------------- malformed updates


async def test_a_malformed_update_is_skipped_and_polling_goes_on(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO)
    async with FakeTelegram() as tg:
        bot = await RunningBot(telegram_settings(tg, tmp_path / "db.sqlite3")).start()
        try:
            person = Person(tg)
            await person.command("start")
            bad = tg.send_malformed("message", broken_message(person))
            odd = tg.send_malformed("callback_query", {"id": "1", "from": person.user, "data": SECRET})
            answer = await person.says("hulp")
            assert answer, "the user after a malformed update got no answer"
            assert tg.is_confirmed(bad) and tg.is_confirmed(odd)
            assert str(bad["update_id"]) in caplog.text and str(odd["update_id"]) in caplog.text
            assert SECRET not in caplog.text
        finally:
            await bot.stop()


async def test_a_malformed_webhook_body_is_answered_200_and_logged_without_content(tmp_path: Path, caplog) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    url = f"http://127.0.0.1:{port}/hook"
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
    async with FakeTelegram() as tg:
        bot = await RunningBot(telegram_settings(tg, tmp_path / "db.sqlite3", telegram_webhook_url=url,
                                                 telegram_webhook_secret="s3cret", telegram_webhook_port=port)).start()
        try:
            person = Person(tg)
            bodies: list[bytes | dict | list] = [
                b"not json " + SECRET.encode(), [1, SECRET], {"update_id": 4711, "message": SECRET},
                {"update_id": 4712, "message": broken_message(person)},
                {"update_id": 4713, "callback_query": {"id": "1", "from": person.user, "data": SECRET}},
            ]
            async with aiohttp.ClientSession() as http:
                for body in bodies:
                    kwargs = {"data": body} if isinstance(body, bytes) else {"json": body}
                    async with http.post(url, headers=headers, **kwargs) as response:
                        assert response.status == 200, f"Telegram would send {body!r} again and again"
            (welcome,) = await person.command("start")
            assert welcome.text == bot.text("main.role.question")
            assert "4711" in caplog.text and "4712" in caplog.text
            assert SECRET not in caplog.text
        finally:
            await bot.stop()


# ---------------------------------------------------------------- one user flooding


def flood_text(bot: RunningBot) -> str:
    return bot.text("sys.flood")


class TurnOrder:
    """Whose turns the core ran, in order: being held up is counted in turns run first, not in seconds
    (a crowded machine makes any bound in seconds flaky, and no test here asserts a time)."""

    def __init__(self, bot: RunningBot) -> None:
        self.users: list[str] = []
        bot.core.add(Hooks(watch=lambda incoming, turn: self.users.append(incoming.key.user)))

    def before_last_turn_of(self, calm: Person, flooder: Person) -> int:
        """How many of the flooder's turns ran before the calm user's last turn."""
        calm_id, flooder_id = str(calm.user["id"]), str(flooder.user["id"])
        last = max(i for i, user in enumerate(self.users) if user == calm_id)
        return sum(user == flooder_id for user in self.users[:last])


async def calm_asks_during(tg: FakeTelegram, calm: Person, flood: list[dict]) -> list[str]:
    """The calm user says "hulp" right behind the flood; the answer, once Telegram saw everything handled."""
    before = len(calm.transcript)
    asked = tg.send_text(calm.user, "hulp")
    await tg.wait_confirmed(asked, timeout=30)
    for update in flood:  # and nothing of the flood is left with Telegram
        await tg.wait_confirmed(update, timeout=30)
    return [sent.text for sent in calm.transcript[before:]]


async def test_300_old_button_presses_from_one_user_do_not_hold_up_another(tmp_path: Path) -> None:
    """The flood is answered on arrival: presses over the limit never wait in line, and the old-button
    presses that are handled get a short answer on the button itself (answerCallbackQuery), not a chat message."""
    async with FakeTelegram() as tg:
        bot = await RunningBot(telegram_settings(tg, tmp_path / "db.sqlite3"), send_limits=SendLimits()).start()
        try:
            order = TurnOrder(bot)
            flooder, calm = Person(tg, "Spammer"), Person(tg, "Ouder")
            await calm.command("start")
            await flooder.command("start")
            menu = tg.bot_messages(flooder.chat)[-1]
            label = button_rows(menu)[0][0][0]
            await flooder.presses(label, menu["message_id"])  # the question moves on: these buttons are old now
            seen = len(flooder.transcript)
            presses = [tg.press(flooder.user, menu, label=label) for _ in range(300)]

            answer = await calm_asks_during(tg, calm, presses)

            assert answer and flood_text(bot) not in answer, "the calm user got no (or the wrong) answer"
            ahead = order.before_last_turn_of(calm, flooder)
            assert ahead <= 2 + bot.settings.flood_per_minute, f"the calm user waited behind {ahead} turns of the flood"
            flood_screen = [sent.text for sent in flooder.transcript[seen:]]
            assert flood_screen == [flood_text(bot)], "the flood got more than the one notice in the chat"
            toasts = [answer.get("text") for answer in tg.callback_answers.values()]
            assert bot.text("telegram.stale_button") in toasts, "an old button's press was not answered on the button"
        finally:
            await bot.stop()


async def test_300_texts_from_one_user_do_not_hold_up_another(tmp_path: Path) -> None:
    async with FakeTelegram() as tg:
        bot = await RunningBot(telegram_settings(tg, tmp_path / "db.sqlite3"), send_limits=SendLimits()).start()
        try:
            order = TurnOrder(bot)
            flooder, calm = Person(tg, "Spammer"), Person(tg, "Ouder")
            await calm.command("start")
            await flooder.command("start")
            seen = len(flooder.transcript)
            texts = [tg.send_text(flooder.user, f"hallo {n}") for n in range(300)]

            answer = await calm_asks_during(tg, calm, texts)

            assert answer and flood_text(bot) not in answer
            ahead = order.before_last_turn_of(calm, flooder)
            assert ahead <= 1 + bot.settings.flood_per_minute, f"the calm user waited behind {ahead} turns of the flood"
            flood_screen = [sent.text for sent in flooder.transcript[seen:]]
            assert flood_screen.count(flood_text(bot)) == 1, "told more than once (or never)"
            turns = Counter(order.users)
            limit = bot.settings.flood_per_minute
            assert turns[str(flooder.user["id"])] <= 1 + limit, "more of the flood was run than the limit allows"
            assert turns[str(calm.user["id"])] == 2
        finally:
            await bot.stop()
