"""Fixtures for the Telegram tests: the fake Bot API and the real bot wired to it.

The bot is the product's own object graph (`bot.app.build_core`: settings,
flows, SQLite store, core) plus the real TelegramAdapter on the real
python-telegram-bot, talking HTTP to `FakeTelegram` on 127.0.0.1. Tests play
users through `Person` and assert on what their screen shows.

Import the fixtures into a test module: `from tests.telegram_fixtures import *`
is avoided on purpose; name them: `from tests.telegram_fixtures import telegram`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from bot.adapters.telegram import RetryPolicy, SendLimits, TelegramAdapter
from bot.app import build_core
from bot.core import Core
from bot.markup import plain
from bot.settings import Settings
from tests.fakes.telegram_api import TOKEN, FakeTelegram, Sent, button_rows

JSON = dict[str, Any]

#: Retries fast enough for tests, still several attempts with backoff.
FAST_RETRY = RetryPolicy(attempts=4, initial_delay=0.05, max_delay=0.5)
#: Telegram's limits, but a private chat's bucket drains at once: a test clicks through a
#: conversation faster than any person, and ~1 message/s per chat would add seconds to
#: every test. tests/test_telegram_adapter.py tests the real pace.
FAST_CHAT_LIMIT = SendLimits(chat_interval=0.001)


def telegram_settings(tg: FakeTelegram, db: Path, **overrides: Any) -> Settings:
    """Settings as the environment would give them, without reading any .env file."""
    values: dict[str, Any] = {"db": db, "telegram_token": TOKEN, "telegram_api_url": tg.base_url}
    return Settings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]


class RunningBot:
    """The bot as `python -m bot` assembles it, startable and stoppable on one database."""

    def __init__(self, settings: Settings, **adapter_options: Any) -> None:
        self.settings = settings
        self.adapter_options: dict[str, Any] = {
            "poll_timeout": 2.0, "retry": FAST_RETRY, "request_timeout": 2.0, "send_limits": FAST_CHAT_LIMIT,
        }
        self.adapter_options |= adapter_options
        self._core: Core | None = None
        self._adapter: TelegramAdapter | None = None

    @property
    def core(self) -> Core:
        assert self._core is not None, "the bot is not running"
        return self._core

    @property
    def adapter(self) -> TelegramAdapter:
        assert self._adapter is not None, "the bot is not running"
        return self._adapter

    async def start(self) -> RunningBot:
        self._core = await build_core(self.settings)
        self._adapter = TelegramAdapter(self.settings, self._core, **self.adapter_options)
        await self._adapter.start()
        await self._core.start()
        return self

    async def stop(self) -> None:
        if self._adapter is not None:
            await self._adapter.stop()
        if self._core is not None:
            await self._core.stop()
            await self._core.store.close()
        self._core = self._adapter = None

    def text(self, key: str, lang: str = "nl", **variables: Any) -> str:
        """A text as the flows render it, as the user reads it: a heading without its `**`, "• " items."""
        return plain(self.core.flows.render(lang, key, variables))

    def labels(self, flow: str, step: str, lang: str = "nl") -> list[str]:
        """The buttons of a question, read from the flows so moderators may add options."""
        return [self.text(option.label, lang) for option in self._options(flow, step)]

    def label(self, flow: str, step: str, option_id: str, lang: str = "nl") -> str:
        return next(self.text(o.label, lang) for o in self._options(flow, step) if o.id == option_id)

    def number(self, flow: str, step: str, option_id: str) -> int:
        """What a console user types for this option."""
        return 1 + [o.id for o in self._options(flow, step)].index(option_id)

    def _options(self, flow: str, step: str) -> list[Any]:
        found = self.core.flows.step(flow, step)
        assert found is not None and found.kind == "choose", f"{flow}.{step} is not a question with options"
        return list(found.options)


class Person:
    """One Telegram user in a private chat with the bot, as a test plays them.

    Every action waits until the bot has handled the update (Telegram saw it
    confirmed) and returns what appeared on the screen meanwhile.
    """

    def __init__(self, tg: FakeTelegram, first_name: str = "Ouder", lang: str | None = "nl") -> None:
        self.tg = tg
        self.user = tg.new_user(first_name, language_code=lang)
        self.chat = tg.private_chat(self.user)
        self.last_update: JSON | None = None

    async def says(self, text: str) -> list[Sent]:
        return await self._do(lambda: self.tg.send_text(self.user, text))

    async def command(self, name: str, payload: str = "") -> list[Sent]:
        return await self._do(lambda: self.tg.send_command(self.user, name, payload))

    async def sends(self, kind: str) -> list[Sent]:
        return await self._do(lambda: self.tg.send_media(self.user, kind))

    async def presses(self, label: str, message: int | JSON | None = None) -> list[Sent]:
        """Press the button with this label on `message` (default: the newest message showing it)."""
        if message is None:
            message = next(
                m["message_id"]
                for m in reversed(self.tg.bot_messages(self.chat))
                if any(b[0] == label for row in button_rows(m) for b in row)
            )
        target = message
        return await self._do(lambda: self.tg.press(self.user, target, label=label))

    async def _do(self, inject: Any) -> list[Sent]:
        before = len(self.tg.transcript(self.chat))
        self.last_update = inject()
        await self.tg.wait_confirmed(self.last_update, timeout=10)
        return self.tg.transcript(self.chat)[before:]

    @property
    def screen(self) -> list[JSON]:
        return self.tg.screen(self.chat)

    @property
    def transcript(self) -> list[Sent]:
        return self.tg.transcript(self.chat)


@pytest_asyncio.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as tg:
        yield tg


@pytest_asyncio.fixture
async def running_bot(telegram: FakeTelegram, tmp_path: Path) -> AsyncIterator[RunningBot]:
    bot = RunningBot(telegram_settings(telegram, tmp_path / "wegwijzer.sqlite3"))
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


class QuickUser:
    """A Telegram user who types and presses without waiting for the bot (for load and fault tests)."""

    def __init__(self, tg: FakeTelegram, name: str) -> None:
        self.tg = tg
        self.user = tg.new_user(name, language_code="nl")
        self.chat = tg.private_chat(self.user)
        self.updates: list[dict[str, Any]] = []

    @property
    def transcript(self) -> list[Sent]:
        return self.tg.transcript(self.chat)

    @property
    def texts(self) -> list[str]:
        return [sent.text for sent in self.transcript]

    def command(self, name: str) -> None:
        self.updates.append(self.tg.send_command(self.user, name))

    def says(self, text: str) -> None:
        self.updates.append(self.tg.send_text(self.user, text))

    def presses(self, label: str) -> None:
        message = next(m for m in reversed(self.tg.bot_messages(self.chat))
                       if any(b[0] == label for row in button_rows(m) for b in row))
        self.updates.append(self.tg.press(self.user, message["message_id"], label=label))


def bot_process_env(tg: FakeTelegram, db: Path) -> dict[str, str]:
    """The environment for `python -m bot` serving Telegram against the fake server (nothing inherited)."""
    import os

    from bot.settings import ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith("WEGWIJZER_")}
    env |= {
        "WEGWIJZER_TELEGRAM_TOKEN": TOKEN,
        "WEGWIJZER_TELEGRAM_API_URL": tg.base_url,
        "WEGWIJZER_DB": str(db),
        "PYTHONPATH": str(ROOT),
    }
    return env
