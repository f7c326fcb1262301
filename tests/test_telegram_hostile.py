"""Telegram under hostile or broken input: the bot keeps answering everybody else.

A malformed update (one python-telegram-bot cannot read) is skipped and logged by its
number only, in polling and in webhook mode; before, polling asked for it again forever
and the webhook answered 500, which Telegram retries (it retries every answer that is
not 2xx: core.telegram.org/bots/api#setwebhook).
"""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp

from tests.fakes.telegram_api import FakeTelegram
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
